// The audit trail's key file (audit_key.h): apart from the trail so that
// reading a config (and its fuzzer) checks it without the store.
#include "audit_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace fs = std::filesystem;

namespace renkei::audit {

std::string readKey(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot read the audit key '" + file.string() + "': " + std::strerror(errno));
  struct stat st {};
  std::string key;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= 4096) {
    key.resize(static_cast<std::size_t>(st.st_size));
    const ssize_t n = ::read(fd, key.data(), key.size());
    key.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  ::close(fd);
  if (!S_ISREG(st.st_mode) || st.st_size > 4096)
    throw std::runtime_error("the audit key '" + file.string() + "' is not a file of at most 4 KiB");
  if (st.st_mode & 077)
    throw std::runtime_error("the audit key '" + file.string() +
                             "' is readable by others than its owner (chmod 600 it): whoever can read it can rewrite "
                             "the trail");
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.size() < 32)
    throw std::runtime_error("the audit key '" + file.string() + "' has " + std::to_string(key.size()) +
                             " bytes; at least 32 (e.g. openssl rand -hex 32)");
  return key;
}

}  // namespace renkei::audit
