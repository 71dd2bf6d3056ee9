// A read-only memory mapping of a whole input file, and its SHA-256.
#include "mapped_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <openssl/evp.h>

namespace renkei {
namespace {
std::string hex(const unsigned char* digest, unsigned int length);

// The SIGBUS guard for files mapped in place: the ranges of live mappings,
// read by the handler without locks.
constexpr int kGuardSlots = 64;
struct GuardSlot {
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::uintptr_t> end{0};
};
GuardSlot guardSlots[kGuardSlots];
struct sigaction previousBus {};

void writeAll(const char* text) {
  std::size_t n = std::strlen(text);
  while (n > 0) {
    const ssize_t w = ::write(2, text, n);
    if (w <= 0) return;
    text += w;
    n -= static_cast<std::size_t>(w);
  }
}

void onBus(int sig, siginfo_t* info, void* context) {
  const auto at = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (auto& slot : guardSlots) {
    const std::uintptr_t b = slot.begin.load(std::memory_order_acquire);
    const std::uintptr_t e = slot.end.load(std::memory_order_acquire);
    if (b != 0 && at >= b && at < e) {
      // Only async-signal-safe calls here: the message, then _exit.
      char offset[32];
      std::uintptr_t v = at - b;
      int n = 0;
      char digits[24];
      do digits[n++] = static_cast<char>('0' + v % 10); while ((v /= 10) && n < 24);
      for (int k = 0; k < n; ++k) offset[k] = digits[n - 1 - k];
      offset[n] = 0;
      writeAll("renkei: the input file was truncated by another process while it was read (no data at byte offset ");
      writeAll(offset);
      writeAll("); stopped, nothing more is read from it\n");
      ::_exit(1);
    }
  }
  // Not one of ours: what would have happened without the guard.
  if (previousBus.sa_flags & SA_SIGINFO) {
    if (previousBus.sa_sigaction) return previousBus.sa_sigaction(sig, info, context);
  } else if (previousBus.sa_handler != SIG_DFL && previousBus.sa_handler != SIG_IGN && previousBus.sa_handler) {
    return previousBus.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

bool guard(const char* data, std::size_t size) {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_sigaction = onBus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return ::sigaction(SIGBUS, &sa, &previousBus) == 0;
  }();
  if (!installed) return false;
  for (auto& slot : guardSlots) {
    std::uintptr_t expected = 0;
    if (slot.begin.load() == 0 &&
        slot.end.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(data) + size)) {
      slot.begin.store(reinterpret_cast<std::uintptr_t>(data), std::memory_order_release);
      return true;
    }
  }
  return false;  // more live mappings than slots: unguarded (a crash, as before)
}

void unguard(const char* data) {
  for (auto& slot : guardSlots)
    if (slot.begin.load() == reinterpret_cast<std::uintptr_t>(data)) {
      slot.begin.store(0, std::memory_order_release);
      slot.end.store(0, std::memory_order_release);
      return;
    }
}

bool sameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// An unnamed file in `dir`; where the file system has no O_TMPFILE, a named
// one removed at once.
int unnamedFile(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  std::string name = (dir / "renkei-spool-XXXXXX").string();
  fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(name.c_str());
  return fd;
}

}  // namespace

std::shared_ptr<MappedFile> MappedFile::snapshot(const std::filesystem::path& path,
                                                 const std::filesystem::path& spoolDir, std::string& sha256) {
  Fd in;
  in.fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in.fd < 0) {
    if (errno == ELOOP) throw std::runtime_error("is a symbolic link: not read (only regular files are taken in)");
    throw std::runtime_error(std::string("cannot open: ") + std::strerror(errno));
  }
  struct stat before {};
  if (::fstat(in.fd, &before) != 0) throw std::runtime_error(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(before.st_mode)) throw std::runtime_error("is not a regular file: not read");
  Fd out;
  out.fd = unnamedFile(spoolDir);
  if (out.fd < 0)
    throw SpoolError("cannot make a copy in the spool folder '" + spoolDir.string() + "': " +
                             std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  constexpr std::size_t kChunk = 1 << 20;
  std::unique_ptr<char[]> buffer(new char[kChunk]);
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(in.fd, buffer.get(), kChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("cannot read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.get(), static_cast<std::size_t>(n));
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out.fd, buffer.get() + done, static_cast<std::size_t>(n - done));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw SpoolError("cannot copy into the spool folder '" + spoolDir.string() +
                                 "': " + std::strerror(errno));
      }
      done += w;
    }
    total += static_cast<std::uint64_t>(n);
    // Read at most what was there at the start (and one chunk more to see
    // growth): a file that keeps growing is refused, not copied for ever.
    if (total > static_cast<std::uint64_t>(before.st_size) + kChunk) break;
  }
  struct stat after {};
  if (::fstat(in.fd, &after) != 0) throw std::runtime_error(std::string("cannot stat: ") + std::strerror(errno));
  if (!sameFile(before, after) || total != static_cast<std::uint64_t>(before.st_size))
    throw FileChanged("changed while it was read (" + std::to_string(before.st_size) + " bytes when opened, " +
                      std::to_string(total) + " bytes read, " + std::to_string(after.st_size) +
                      " bytes now): still being written or rewritten; nothing of it was taken in");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &length);
  sha256 = hex(digest, length);

  std::shared_ptr<MappedFile> file(new MappedFile());
  file->size_ = static_cast<std::size_t>(total);
  if (file->size_ > 0) {
    void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, out.fd, 0);
    if (p == MAP_FAILED)
      throw SpoolError("cannot map the copy in '" + spoolDir.string() + "': " + std::strerror(errno));
    ::madvise(p, file->size_, MADV_SEQUENTIAL);
    file->data_ = static_cast<const char*>(p);
  }
  return file;
}

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
    guarded_ = guard(data_, size_);
  }
  ::close(fd);
}

void MappedFile::release(std::size_t offset) {
  static const std::size_t kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t end = std::min(offset, size_) / kPage * kPage;
  if (!data_ || end <= released_) return;
  ::madvise(const_cast<char*>(data_) + released_, end - released_, MADV_DONTNEED);
  released_ = end;
}

void MappedFile::rewind() {
  if (data_ && size_) ::madvise(const_cast<char*>(data_), size_, MADV_DONTNEED);
  released_ = 0;
}

MappedFile::~MappedFile() {
  if (guarded_) unguard(data_);
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

}  // namespace renkei
