// Writing files so that a crash never leaves half of one: what every plugin
// that hands files to others (the file sink, the odbc spool, the resident
// connector's derived files) needs, written once.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

namespace renkei {

/// Flushes a file, or a folder's entries, to disk. Best effort: called after
/// the data is written, a failure here leaves nothing half-done to report.
inline void syncPath(const std::filesystem::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

/// Writes `content` to `target` through a temporary file in `tmpDir` (same
/// file system) and a rename: readers of `target`'s folder see the whole
/// file or none of it, and writing the same name again replaces it (so a
/// write repeated after a crash lands once). The temporary name is this
/// process's own, so two processes writing one target never share a file.
/// With `sync` the data is on disk before the rename and the folder entry
/// after it. Returns "" or what failed (path and reason; never content).
inline std::string writeFileAtomically(const std::filesystem::path& tmpDir, const std::filesystem::path& target,
                                       std::string_view content, bool sync) {
  static const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  const std::filesystem::path tmp = tmpDir / (target.filename().string() + "." + tag + ".tmp");
  // Created, never opened through a link someone planted under the name;
  // the rename then replaces a link at `target` instead of following it.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  FILE* f = fd < 0 ? nullptr : ::fdopen(fd, "wb");
  if (!f) {
    const int openErrno = errno;
    if (fd >= 0) ::close(fd);
    return "cannot write '" + tmp.string() + "': " + std::strerror(openErrno);
  }
  bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = ok && std::fflush(f) == 0;
  if (ok && sync) ok = ::fsync(fileno(f)) == 0;
  const int writeErrno = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return "cannot write '" + tmp.string() + "': " + std::strerror(writeErrno);
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    const int renameErrno = errno;
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return "cannot rename '" + tmp.string() + "' to '" + target.string() + "': " + std::strerror(renameErrno);
  }
  if (sync) syncPath(target.parent_path(), true);
  return {};
}

}  // namespace renkei
