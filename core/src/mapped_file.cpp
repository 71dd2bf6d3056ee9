// A read-only memory mapping of a whole input file, and its SHA-256.
#include "mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <openssl/evp.h>

namespace renkei {
namespace {
std::string hex(const unsigned char* digest, unsigned int length);
}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + path.string() + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot stat '" + path.string() + "': " + std::strerror(err));
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw std::runtime_error("cannot map '" + path.string() + "': " + std::strerror(err));
    }
    ::madvise(p, size_, MADV_SEQUENTIAL);
    data_ = static_cast<const char*>(p);
  }
  ::close(fd);
}

void MappedFile::release(std::size_t offset) {
  static const std::size_t kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t end = std::min(offset, size_) / kPage * kPage;
  if (!data_ || end <= released_) return;
  if (digest_ && end > digested_) {
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(digest_), data_ + digested_, end - digested_);
    digested_ = end;
  }
  ::madvise(const_cast<char*>(data_) + released_, end - released_, MADV_DONTNEED);
  released_ = end;
}

void MappedFile::rewind() {
  if (data_ && size_) ::madvise(const_cast<char*>(data_), size_, MADV_DONTNEED);
  released_ = 0;
}

void MappedFile::startDigest() {
  if (!digest_) digest_ = EVP_MD_CTX_new();
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(digest_), EVP_sha256(), nullptr);
  digested_ = released_;
  if (released_ > 0) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(digest_), data_, released_);
}

std::string MappedFile::finishDigest() {
  if (!digest_) startDigest();
  auto* ctx = static_cast<EVP_MD_CTX*>(digest_);
  if (size_ > digested_) EVP_DigestUpdate(ctx, data_ + digested_, size_ - digested_);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  digest_ = nullptr;
  digested_ = 0;
  return hex(digest, length);
}

MappedFile::~MappedFile() {
  if (digest_) EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(digest_));
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

namespace {
std::string hex(const unsigned char* digest, unsigned int length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xF]);
  }
  return out;
}
}  // namespace

std::string sha256Hex(MappedFile& file) {
  constexpr std::size_t kChunk = 8 << 20;
  const std::string_view data = file.view();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (std::size_t at = 0; at < data.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - at);
    EVP_DigestUpdate(ctx, data.data() + at, n);
    file.release(at + n);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  file.rewind();
  return hex(digest, length);
}

}  // namespace renkei
