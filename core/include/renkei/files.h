// Writing files so that a crash never leaves half of one: what every plugin
// that hands files to others (the file sink, the odbc spool, the resident
// connector's derived files) needs, written once.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

namespace renkei {

/// Writes a file that must not exist yet (a key: never over one in use),
/// never through a link, with exactly `mode` whatever the umask, and
/// fsyncs it. Returns "" when done, else why not (naming the file).
inline std::string writeNewFile(const std::filesystem::path& file, const std::string& text, mode_t mode) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return "cannot create '" + file.string() + "': " + std::strerror(errno);
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  return ok ? std::string() : "cannot write '" + file.string() + "': " + std::strerror(error);
}

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

/// Which time says how old a file in a folder is.
enum class AgeBy {
  Modified,  ///< when it was written (files this plugin wrote there)
  Changed,   ///< when it was last renamed into the folder (a vendor's file keeps its own modification time)
};

/// What removeOlderThan did.
struct Removal {
  std::size_t removed = 0, failed = 0;
  std::uintmax_t keptBytes = 0;  ///< bytes of the regular files left
  int lastError = 0;             ///< errno of the last failure
};

/// Removes the regular files and symbolic links (never followed) of the
/// open folder `dir` that are older than `age` by the wall clock: time(),
/// what an operator's clock says and a test may step. Sub-folders are left.
/// Retention for what a plugin keeps (done/, approved/, rejected/ …),
/// written once.
inline Removal removeOlderThan(int dir, std::chrono::milliseconds age, AgeBy by) {
  Removal r;
  const int copy = ::dup(dir);
  if (copy < 0) return r;
  DIR* d = ::fdopendir(copy);
  if (!d) {
    ::close(copy);
    return r;
  }
  const std::int64_t cutoff = static_cast<std::int64_t>(std::time(nullptr)) * 1000 - age.count();
  while (const dirent* e = ::readdir(d)) {
    struct stat st {};
    if (::fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) continue;
    const timespec& t = by == AgeBy::Modified ? st.st_mtim : st.st_ctim;
    const std::int64_t atMs = static_cast<std::int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1'000'000;
    if (atMs >= cutoff) {
      if (S_ISREG(st.st_mode)) r.keptBytes += static_cast<std::uintmax_t>(st.st_size);
      continue;
    }
    if (::unlinkat(dir, e->d_name, 0) == 0) {
      ++r.removed;
    } else {
      ++r.failed;
      r.lastError = errno;
    }
  }
  ::closedir(d);
  return r;
}

/// A plugin's own sub-folder opened without following a link (O_NOFOLLOW),
/// for removeOlderThan; -1 when it is missing or not a real folder.
inline int openOwnFolder(const std::filesystem::path& folder) {
  return ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace renkei
