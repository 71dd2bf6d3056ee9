// The drop folder: claim by rename, done/ and <failed>/ with reasons,
// retention, reprocess. See drop_folder.h.
#include "drop_folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Logger.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "renkei/files.h"
#include "renkei/settings.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors {
namespace {

bool matchesAny(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return fnmatch(g.c_str(), name.c_str(), FNM_PERIOD) == 0; });
}

/// renameat2(2) that never replaces an existing target: two hosts on one
/// folder, or a vendor re-sending a name already in done/, must not
/// overwrite a file.
bool renameNoReplace(int fromDir, const std::string& from, int toDir, const std::string& to, int& error) {
  if (::renameat2(fromDir, from.c_str(), toDir, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  error = errno;
  return false;
}

/// Moves `from` (relative to `fromDir`) into the folder `dir` as `name`, or
/// when that is taken `name`.1, `name`.2 … Returns the name it got, or ""
/// with `error` set.
std::string moveInto(int fromDir, const std::string& from, const std::string& name, int dir, std::string& error) {
  for (int n = 0; n < 10000; ++n) {
    const std::string to = n == 0 ? name : name + "." + std::to_string(n);
    int err = 0;
    if (renameNoReplace(fromDir, from, dir, to, err)) return to;
    if (err != EEXIST) {
      error = std::strerror(err);
      return {};
    }
  }
  error = "too many files of the same name";
  return {};
}

std::int64_t mtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

std::int64_t nowNs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

/// The names in the folder `dir` (not "." and ".."), read through a
/// duplicate of its descriptor.
std::vector<std::string> namesIn(int dir) {
  std::vector<std::string> names;
  const int copy = ::dup(dir);
  DIR* d = copy >= 0 ? ::fdopendir(copy) : nullptr;
  if (!d) {
    if (copy >= 0) ::close(copy);
    throw std::runtime_error(std::string("cannot list a folder: ") + std::strerror(errno));
  }
  ::rewinddir(d);
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

/// Removes the temporaries of `name` that a process killed while writing it
/// left behind (".<name>.<pid>.tmp" of a pid no longer running).
void removeStaleTemporaries(int dir, const std::string& name) {
  const std::string prefix = "." + name + ".";
  for (const std::string& entry : namesIn(dir)) {
    if (entry.size() <= prefix.size() + 4 || entry.compare(0, prefix.size(), prefix) != 0 ||
        entry.compare(entry.size() - 4, 4, ".tmp") != 0)
      continue;
    const std::string pid = entry.substr(prefix.size(), entry.size() - prefix.size() - 4);
    if (pid.empty() || pid.size() > 10 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t p = static_cast<pid_t>(std::stol(pid));
    if (p == ::getpid() || ::kill(p, 0) == 0 || errno != ESRCH) continue;
    ::unlinkat(dir, entry.c_str(), 0);
  }
}

/// Writes `text` to `name` in the folder `dir` through a temporary file
/// created without following links (O_EXCL | O_NOFOLLOW) and a rename,
/// which replaces a planted link instead of writing through it. With
/// `exclusive` an existing `name` is not replaced (EEXIST). Returns 0 or
/// the errno that failed.
int writeInFolder(int dir, const std::string& name, const std::string& text, bool sync, bool exclusive) {
  const std::string tmp = "." + name + "." + std::to_string(::getpid()) + ".tmp";
  const int fd = ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  std::size_t done = 0;
  int err = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(w);
  }
  if (!err && sync && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && !err) err = errno;
  if (!err) {
    const int moved = exclusive ? ::renameat2(dir, tmp.c_str(), dir, name.c_str(), RENAME_NOREPLACE)
                                : ::renameat(dir, tmp.c_str(), dir, name.c_str());
    if (moved != 0) err = errno;
  }
  if (err) {
    ::unlinkat(dir, tmp.c_str(), 0);
    return err;
  }
  removeStaleTemporaries(dir, name);
  return 0;
}

/// Lowercase hex SHA-256 of the regular file `name` in `dir` (not followed
/// if it is a link), or "" when it cannot be read.
std::string sha256Of(int dir, const std::string& name) {
  const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  std::string out;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1) {
    std::vector<char> buffer(1 << 20);
    bool ok = true;
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ok = false;
      if (n <= 0) break;
      EVP_DigestUpdate(ctx, buffer.data(), static_cast<std::size_t>(n));
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (ok && EVP_DigestFinal_ex(ctx, digest, &length) == 1) {
      static const char* hex = "0123456789abcdef";
      for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
      }
    }
  }
  EVP_MD_CTX_free(ctx);
  ::close(fd);
  return out;
}

/// "name" or "name.N" as moveInto() names a kept file.
bool keptAs(const std::string& candidate, const std::string& name) {
  if (candidate == name) return true;
  if (candidate.size() <= name.size() + 1 || candidate.compare(0, name.size(), name) != 0 ||
      candidate[name.size()] != '.')
    return false;
  return candidate.find_first_not_of("0123456789", name.size() + 1) == std::string::npos;
}

/// A SHA-256 of `text` (hex), for shortening names.
std::string shortHash(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

}  // namespace

std::string DropFolder::durationText(std::chrono::milliseconds d) {
  const std::int64_t s = d.count() / 1000;
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

DropFolder::DropFolder(DropFolderOptions options, Poco::Logger* logger, std::string id)
    : options_(std::move(options)), logger_(logger), id_(std::move(id)) {}

DropFolder::Folder::~Folder() {
  if (fd_ >= 0) ::close(fd_);
}

DropFolder::Folder& DropFolder::Folder::operator=(Folder&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

fs::path DropFolder::Folder::entry(const std::string& name) const {
  // The descriptor's own path in /proc: resolves to the folder it holds,
  // whatever its name in the tree is now.
  return fs::path("/proc/self/fd") / std::to_string(fd_) / name;
}

void DropFolder::check() const {
  const fs::path& dir = options_.directory;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw ConfigError("key 'directory': '" + dir.string() + "' exists but is not a folder");
  if (!options_.createDirectories && !fs::is_directory(dir, ec))
    throw ConfigError("key 'directory': folder '" + dir.string() + "' does not exist (create-directories is false)");
}

void DropFolder::ensureFolder(const std::string& sub) const {
  // An exchange sub-folder replaced by a symbolic link would send claimed,
  // moved or written files anywhere the link points: refused.
  const fs::path dir = options_.directory / sub;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      throw std::runtime_error("folder '" + printable(dir.string()) +
                               "' is a symbolic link: refused (exchange sub-folders must be real folders)");
    if (S_ISDIR(st.st_mode)) return;
    throw std::runtime_error("'" + printable(dir.string()) + "' is not a folder");
  }
  if (!options_.createDirectories) throw std::runtime_error("folder '" + dir.string() + "' does not exist");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create folder '" + dir.string() + "': " + ec.message());
}

DropFolder::Folder DropFolder::openFolder(const std::string& name, bool create) const {
  // The configured folder itself may be a link an administrator set up; its
  // sub-folders are opened relative to it without following links, and
  // every operation on their entries goes through that descriptor: a folder
  // swapped for a link after this point cannot redirect anything.
  const fs::path path = options_.directory / name;
  if (create) {
    ensureFolder(name);  // creates it, refuses a link, with its path in the message
  } else {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return Folder();
  }
  const int root = ::open(options_.directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    if (errno == ENOENT && !create) return Folder();
    throw std::runtime_error("cannot open folder '" + printable(options_.directory.string()) +
                             "': " + std::strerror(errno));
  }
  const int fd = ::openat(root, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  const int err = errno;
  ::close(root);
  if (fd < 0) {
    if (err == ELOOP || err == ENOTDIR)
      throw std::runtime_error("folder '" + printable(path.string()) +
                               "' is a symbolic link or not a folder: refused (exchange sub-folders must be real "
                               "folders)");
    if (err == ENOENT && !create) return Folder();
    throw std::runtime_error("cannot open folder '" + printable(path.string()) + "': " + std::strerror(err));
  }
  return Folder(fd);
}

bool DropFolder::wanted(const std::string& name) const {
  const std::string& trigger = options_.trigger;
  if (!trigger.empty() && name.size() > trigger.size() &&
      name.compare(name.size() - trigger.size(), trigger.size(), trigger) == 0)
    return false;  // a trigger file says another file is complete; it is not data
  return !matchesAny(options_.ignore, name) && matchesAny(options_.patterns, name);
}

bool DropFolder::heldOpenForWriting(int folder, const std::string& name) {
  if (!options_.checkWriters || leases_ == Leases::Unavailable) return false;
  const int fd = ::openat(folder, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;  // gone, or not ours to read: the claim will say
  // A read lease cannot be taken while any process has the file open for
  // writing. Taken and given back at once (no owner is set for the fd, so
  // a writer opening it meanwhile sends this process no signal).
  bool held = false;
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    ::fcntl(fd, F_SETLEASE, F_UNLCK);
    if (leases_ == Leases::Unknown && logger_)
      logger_->information("%s: a %s is claimed only when no process holds it open for writing (checked with a "
                           "read lease), and when unchanged for settle",
                           id_, options_.noun);
    leases_ = Leases::Available;
  } else if (errno == EAGAIN) {
    held = true;
  } else {
    const int err = errno;
    leases_ = Leases::Unavailable;
    if (logger_)
      logger_->warning("%s: cannot tell whether a writer still holds a file open (a read lease: %s; it needs the "
                       "files' owner or CAP_LEASE, and a local file system): settle and min-age alone decide when a "
                       "file is complete; a vendor that pauses longer should write a trigger file or rename",
                       id_, std::string(std::strerror(err)));
  }
  ::close(fd);
  return held;
}

std::vector<Intake> DropFolder::recover() {
  std::vector<Intake> items;
  processing_ = openFolder("processing", false);
  if (!processing_.valid()) return items;
  for (const std::string& name : namesIn(processing_.fd())) {
    // Not following links: a link planted here is handed on, and whoever
    // opens it (O_NOFOLLOW) refuses it with the reason.
    struct stat st {};
    if (::fstatat(processing_.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)) continue;
    items.push_back({name, processing_.entry(name), static_cast<std::uintmax_t>(st.st_size), true});
  }
  std::sort(items.begin(), items.end(), [](const Intake& a, const Intake& b) { return a.name < b.name; });
  return items;
}

std::vector<std::string> DropFolder::candidates() {
  const Folder in = openFolder("in", true);
  std::vector<std::string> names;
  for (std::string& name : namesIn(in.fd()))
    if (wanted(name)) names.push_back(std::move(name));
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<Intake> DropFolder::claimNext() {
  for (const std::string& name : candidates())
    if (auto item = claim(name)) return item;
  return std::nullopt;
}

std::optional<Intake> DropFolder::claim(const std::string& name) {
  const Folder in = openFolder("in", true);
  processing_ = openFolder("processing", true);
  auto statIn = [&](const std::string& entry, struct stat& st) {
    return ::fstatat(in.fd(), entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  };
  struct stat seen {};
  if (!statIn(name, seen)) return std::nullopt;  // gone meanwhile
  if (S_ISDIR(seen.st_mode)) return std::nullopt;
  const bool regular = S_ISREG(seen.st_mode);
  if (regular) {
    // Still being written? Left in in/ while its size or time changes
    // within settle, or while it is younger than min-age.
    const std::int64_t age = nowNs() - mtimeNs(seen);
    const std::int64_t settle = options_.settle.count() * 1000000LL;
    if (options_.minAge.count() > 0 && age < options_.minAge.count() * 1000000LL) return std::nullopt;
    if (settle > 0 && age < settle) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::clamp<std::int64_t>(settle - age, 0, settle)));
      struct stat again {};
      if (!statIn(name, again)) return std::nullopt;
      if (again.st_ino != seen.st_ino || again.st_size != seen.st_size || mtimeNs(again) != mtimeNs(seen)) {
        if (logger_)
          logger_->information("%s: '%s' is still being written (it changed within settle); left in in/", id_,
                               printable(name));
        return std::nullopt;
      }
      seen = again;
    }
  }
  // The vendor's own completeness signal: the trigger file beside it.
  std::string trigger;
  if (regular && !options_.trigger.empty()) {
    struct stat t {};
    const std::size_t dot = name.rfind('.');
    for (const std::string& candidate : {name + options_.trigger, dot != std::string::npos && dot > 0
                                                                      ? name.substr(0, dot) + options_.trigger
                                                                      : std::string()})
      if (trigger.empty() && !candidate.empty() && statIn(candidate, t) && S_ISREG(t.st_mode)) trigger = candidate;
    if (trigger.empty()) return std::nullopt;  // waits for its trigger file
  }
  // A writer that pauses longer than settle still holds the file open.
  if (regular && heldOpenForWriting(in.fd(), name)) {
    if (logger_ && heldNoted_.insert(name).second)
      logger_->information("%s: '%s' is still open for writing by another process; left in in/", id_,
                           printable(name));
    return std::nullopt;
  }
  heldNoted_.erase(name);
  int err = 0;
  if (!renameNoReplace(in.fd(), name, processing_.fd(), name, err)) {
    if (err == ENOENT) return std::nullopt;  // another host claimed it first
    if (err == EEXIST) {
      // The same name is still being handled (a copy delivered again): it
      // waits in in/ for the next pass.
      if (logger_) logger_->warning("%s: '%s' is already in processing/; left in in/", id_, printable(name));
      return std::nullopt;
    }
    throw std::runtime_error("cannot claim '" + printable(name) + "' from in/: " + std::strerror(err));
  }
  if (!trigger.empty() && ::unlinkat(in.fd(), trigger.c_str(), 0) != 0 && errno != ENOENT && logger_)
    logger_->warning("%s: the trigger file '%s' could not be removed: %s", id_, printable(trigger),
                     std::string(std::strerror(errno)));
  if (options_.fsync) ::fsync(processing_.fd());
  struct stat claimed {};
  if (::fstatat(processing_.fd(), name.c_str(), &claimed, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
  Intake item{name, processing_.entry(name), static_cast<std::uintmax_t>(claimed.st_size), false};
  auto refuse = [&](const std::string& reason) {
    // Never handed on: to <failed>/ with its reason, and reported.
    if (fail(item, reasonText(name, reason)).empty()) return;
    if (options_.refused) options_.refused(name, reason);
  };
  if (!regular || !S_ISREG(claimed.st_mode)) {
    // A symbolic link (to the API's key, to /etc/passwd …), a FIFO or a
    // device: never opened; the entry itself goes to <failed>/.
    refuse(S_ISLNK(claimed.st_mode) ? options_.linkRefusal : options_.notRegularRefusal);
    return std::nullopt;
  }
  if (options_.maxFileSize > 0 && item.size > options_.maxFileSize) {
    refuse(options_.noun + " is " + std::to_string(item.size) + " bytes, larger than max-file-size (" +
           std::to_string(options_.maxFileSize) + " bytes)");
    return std::nullopt;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // What was seen before the rename: a change between the look and the
    // claim counts as a change too.
    claimed_[item.name] = Seen{seen.st_ino, seen.st_size, mtimeNs(seen)};
  }
  return item;
}

std::string DropFolder::reasonText(const std::string& name, const std::string& reason, const std::string& at,
                                   const std::string& extra) const {
  // One escaped line per item (a name or a reason may hold anything).
  std::string text = options_.noun + ": " + printable(name) + "\nconnector: " + id_ + "\n";
  const std::string when = !at.empty() ? at : options_.stamp ? options_.stamp() : std::string();
  if (!when.empty()) text += options_.failed + ": " + when + "\n";
  text += "reason: " + printable(reason, 64 * 1024) + "\n" + extra;
  return text;
}

std::string DropFolder::placeReason(int dir, const std::string& name, const std::string& text, std::string& error) {
  // A name too long for the reason suffix beside it is shortened.
  std::string kept = name;
  if (kept.size() > 200) kept = kept.substr(0, 160) + "-" + shortHash(name);
  std::string candidate = kept;
  for (int n = 1; n < 10000; ++n) {
    struct stat st {};
    if (::fstatat(dir, candidate.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) break;
    candidate = kept + "." + std::to_string(n);
  }
  // Written through a temporary and a rename: a link planted under the
  // reason's name is replaced, never written through.
  if (const int err = writeInFolder(dir, candidate + options_.reasonSuffix, text, options_.fsync, false))
    error = "cannot write '" + printable(candidate + options_.reasonSuffix) + "': " + std::strerror(err);
  return candidate;
}

std::string DropFolder::failItem(const fs::path& from, const std::string& name, const std::string& text) {
  try {
    const Folder dir = openFolder(options_.failed, true);
    for (int attempt = 0; attempt < 100; ++attempt) {
      // The reason first, under a free name; then the item to that name:
      // an item in <failed>/ has its reason beside it even after a crash.
      std::string error;
      const std::string used = placeReason(dir.fd(), name, text, error);
      int err = 0;
      if (renameNoReplace(AT_FDCWD, from.string(), dir.fd(), used, err)) {
        if (options_.fsync) ::fsync(dir.fd());
        if (!error.empty() && logger_)
          logger_->error("%s: '%s' moved to %s/, but its reason file was not written: %s", id_, printable(name),
                         options_.failed, error);
        std::lock_guard<std::mutex> lock(mutex_);
        claimed_.erase(name);
        return used;
      }
      if (err == EEXIST) continue;  // taken between the look and the move (another host): again
      if (err != ENOENT && logger_)
        logger_->error("%s: cannot move '%s' to %s/: %s", id_, printable(name), options_.failed,
                       std::string(std::strerror(err)));
      return {};
    }
  } catch (const std::exception& e) {
    if (logger_) logger_->error("%s: cannot move '%s' to %s/: %s", id_, printable(name), options_.failed, std::string(e.what()));
  }
  return {};
}

std::string DropFolder::fail(const Intake& item, const std::string& reasonText) {
  return failItem(item.path, item.name, reasonText);
}

std::string DropFolder::reasonOnly(const std::string& name, const std::string& reasonText) {
  try {
    const Folder dir = openFolder(options_.failed, true);
    std::string error;
    const std::string used = placeReason(dir.fd(), name, reasonText, error);
    if (!error.empty() && logger_) logger_->error("%s: %s", id_, error);
    return used;
  } catch (const std::exception& e) {
    if (logger_) logger_->error("%s: cannot write the reason for '%s': %s", id_, printable(name), std::string(e.what()));
    return name;
  }
}

std::string DropFolder::keep(const std::string& name, const std::string& bytes, const std::string& reasonText) {
  try {
    const Folder dir = openFolder(options_.failed, true);
    std::string error;
    const std::string used = placeReason(dir.fd(), name, reasonText, error);
    if (!error.empty() && logger_) logger_->error("%s: %s", id_, error);
    if (const int err = writeInFolder(dir.fd(), used, bytes, options_.fsync, true); err && logger_)
      logger_->error("%s: cannot keep '%s' in %s/: %s", id_, printable(used), options_.failed,
                     std::string(std::strerror(err)));
    return used;
  } catch (const std::exception& e) {
    if (logger_) logger_->error("%s: cannot keep '%s': %s", id_, printable(name), std::string(e.what()));
    return name;
  }
}

Outcome DropFolder::done(const Intake& item) {
  try {
    std::optional<Seen> atClaim;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = claimed_.find(item.name); it != claimed_.end()) atClaim = it->second;
    }
    // Changed after it was read (a writer that paused longer than settle
    // and went on): what was read is taken in, but the file is not filed as
    // done, so the operator sees it and the vendor re-sends.
    struct stat now {};
    if (atClaim && ::lstat(item.path.c_str(), &now) == 0 &&
        (now.st_ino != atClaim->ino || now.st_size != atClaim->size || mtimeNs(now) != atClaim->mtimeNs)) {
      const std::string why = "changed after it was read (" + std::to_string(atClaim->size) +
                              " bytes when claimed, " + std::to_string(now.st_size) +
                              " bytes now): the content as claimed was taken in; the rest was not. Re-send the "
                              "whole " + options_.noun + " under a temporary name and rename it when complete";
      if (logger_) logger_->warning("%s: '%s' %s", id_, printable(item.name), why);
      if (fail(item, reasonText(item.name, why)).empty())
        return Outcome::retry("cannot move '" + printable(item.name) + "' to " + options_.failed + "/");
      if (options_.refused) options_.refused(item.name, why);
      return Outcome::ok();
    }
    if (!options_.keepDone) {
      if (::unlink(item.path.c_str()) != 0 && errno != ENOENT)
        return Outcome::retry("cannot delete '" + printable(item.name) + "' (keep-done=false): " + std::strerror(errno));
      if (options_.fsync) syncPath(options_.directory / "processing", true);
    } else {
      const Folder dir = openFolder("done", true);
      std::string error;
      // The item through its folder's descriptor (its path in /proc), or
      // as given by a host that built it itself.
      if (moveInto(AT_FDCWD, item.path.string(), item.path.filename().string(), dir.fd(), error).empty())
        return Outcome::retry("cannot move '" + printable(item.name) + "' to done/: " + error);
      if (options_.fsync) ::fsync(dir.fd());
    }
    std::lock_guard<std::mutex> lock(mutex_);
    claimed_.erase(item.name);
    return Outcome::ok();
  } catch (const std::exception& e) {
    return Outcome::retry(e.what());
  }
}

Outcome DropFolder::requeue(const std::string& name, const std::string& sha256) {
  // A name from the store's register is a name this folder once claimed in
  // in/; anything that could leave the folder is refused, not looked for.
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return Outcome::error("'" + printable(name) + "' is not a file name in a drop folder");
  try {
    const Folder in = openFolder("in", true);
    for (const std::string& kept : {std::string("done"), options_.failed}) {
      const Folder dir = openFolder(kept, false);
      if (!dir.valid()) continue;
      for (const std::string& candidate : namesIn(dir.fd())) {
        if (!keptAs(candidate, name) || sha256Of(dir.fd(), candidate) != sha256) continue;
        int err = 0;
        if (!renameNoReplace(dir.fd(), candidate, in.fd(), name, err))
          return Outcome::error(err == EEXIST ? "in/ already holds a file named '" + printable(name) +
                                                    "'; it stays in " + kept + "/ as '" + printable(candidate) + "'"
                                              : "cannot move '" + printable(candidate) + "' from " + kept +
                                                    "/ to in/: " + std::strerror(err));
        if (kept == options_.failed) ::unlinkat(dir.fd(), (candidate + options_.reasonSuffix).c_str(), 0);
        if (options_.fsync) {
          ::fsync(in.fd());
          ::fsync(dir.fd());
        }
        if (logger_)
          logger_->notice("%s: '%s' put back from %s/ into in/ to be taken in again", id_, printable(candidate), kept);
        return Outcome::ok();
      }
    }
    return Outcome::error("no file named '" + printable(name) + "' (or '" + printable(name) +
                          ".N') with that content in done/ or " + options_.failed + "/ of " +
                          options_.directory.string() + "; drop the file into in/ again");
  } catch (const std::exception& e) {
    return Outcome::error(e.what());
  }
}

std::uintmax_t DropFolder::failedBytes() {
  const Folder dir = openFolder(options_.failed, false);
  if (!dir.valid()) return 0;
  // An age no file has: only counts.
  return removeOlderThan(dir.fd(), std::chrono::milliseconds::max() / 2, AgeBy::Modified).keptBytes;
}

std::uintmax_t DropFolder::purge(bool now) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto steady = std::chrono::steady_clock::now();
    if (!now && steady < nextPurge_) return 0;
    nextPurge_ = steady + std::chrono::minutes(10);
  }
  std::uintmax_t failedLeft = 0;
  auto sweep = [&](const std::string& sub, std::chrono::milliseconds age, AgeBy by, const std::string& key) {
    if (age.count() == 0) return;
    const Folder dir = openFolder(sub, false);
    if (!dir.valid()) return;
    const Removal r = removeOlderThan(dir.fd(), age, by);
    if (sub == options_.failed) failedLeft = r.keptBytes;
    if (r.removed && options_.fsync) ::fsync(dir.fd());
    if (r.removed && logger_) {
      if (sub == "done")
        logger_->notice("connector %s: %s %s(s) in done/ taken in more than %s ago removed (%s)", id_,
                        std::to_string(r.removed), options_.noun, durationText(age), key);
      else
        logger_->notice("connector %s: %s %ss and reasons in %s/ older than %s removed (%s)", id_,
                        std::to_string(r.removed), options_.noun, sub, key, durationText(age));
    }
    if (r.failed && logger_)
      logger_->error("%s: %s file(s) in %s/ past %s could not be removed: %s", id_, std::to_string(r.failed), sub,
                     key, std::string(std::strerror(r.lastError)));
  };
  try {
    // Taken in = moved into done/: a rename sets the file's change time.
    sweep("done", options_.keepDoneFor, AgeBy::Changed, options_.keepDoneKey);
    sweep(options_.failed, options_.keepFailedFor, AgeBy::Modified, options_.keepFailedKey);
  } catch (const std::exception& e) {
    if (logger_) logger_->error("%s: retention: %s", id_, std::string(e.what()));
  }
  return failedLeft;
}

std::size_t DropFolder::sweepTemporaries() {
  // "<name>.<pid>-<random>.tmp" (renkei/files.h) of a process no longer
  // running, and not touched for a minute: a writer killed mid-write.
  std::error_code ec;
  const fs::path tmp = options_.directory / "tmp";
  if (!fs::is_directory(fs::symlink_status(tmp, ec))) return 0;
  std::size_t removed = 0;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".tmp") != 0) continue;
    const std::size_t dash = name.rfind('-'), dot = name.rfind('.', dash == std::string::npos ? 0 : dash);
    if (dash == std::string::npos || dot == std::string::npos || dot + 1 >= dash) continue;
    const std::string pid = name.substr(dot + 1, dash - dot - 1);
    if (pid.empty() || pid.size() > 10 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t p = static_cast<pid_t>(std::stol(pid));
    if (p == ::getpid() || ::kill(p, 0) == 0 || errno != ESRCH) continue;
    if (!entry.is_regular_file(ec) || now - entry.last_write_time(ec) < std::chrono::minutes(1)) continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  if (removed && logger_)
    logger_->notice("connector %s: removed %s temporary file(s) a writer killed mid-write left in %s", id_,
                    std::to_string(removed), printable(tmp.string()));
  return removed;
}

}  // namespace renkei::connectors
