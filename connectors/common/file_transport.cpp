// The file connector: drop-folder lifecycle and the tmp/ + rename sink.
#include "file_transport.h"

#include <fcntl.h>
#include <signal.h>
#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <ctime>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>

#include <openssl/evp.h>

#include "renkei/files.h"
#include "renkei/json.h"
#include "renkei/text.h"
#include "renkei/support/codec.h"

namespace fs = std::filesystem;

namespace renkei::connectors::file {

// The keys this connector declares (the plugin library and the domain
// connectors built on it list them).
const renkei_config_key kKeys[] = {
    {"directory", "path", nullptr, 1,
     "Exchange folder. A source reads <directory>/in/ and keeps processing/, done/, error/ and "
     "rejects/; a sink writes <directory>/tmp/ and renames into <directory>/out/."},
    {"pattern", "list", "*", 0,
     "File names the source picks up from in/, as shell globs separated by ';' or ',' (e.g. *.csv;*.CSV)."},
    {"ignore", "list", ".*;*.tmp;*.part", 0,
     "File names the source never picks up (files a vendor is still writing), globs separated by ';' or ','."},
    {"min-age", "duration", "0s", 0,
     "A file modified more recently than this is left for the next poll (for vendors that "
     "write in place instead of renaming and pause longer than settle)."},
    {"settle", "duration", "1s", 0,
     "A file is claimed only when its size and modification time have stayed the same for this long "
     "(a file still being written in place is left in in/); 0s claims at once."},
    {"trigger", "string", "", 0,
     "The vendor's completeness signal, as a suffix (.end, .ok): 'JUMIN.csv' is claimed only once 'JUMIN.csv.end' or "
     "'JUMIN.end' is in in/; the trigger file is removed when its file is claimed, and files ending in it are never "
     "taken in. Empty: no trigger (a writer still holding the file open, or one changing it within settle, is "
     "waited for)."},
    {"max-file-size", "size", "4GiB", 0,
     "A larger file is not read: it is moved to error/ with the reason."},
    {"keep-done", "bool", "true", 0,
     "Keep each file taken in under done/ (for `renkei reprocess` and audits). false: delete it once its records "
     "are stored, the way the internet zone must (it keeps nothing personal; `renkei check` requires it there for "
     "routes with personal fields). Files that fail are always kept in error/ for the operator."},
    {"keep-done-for", "duration", nullptr, 0,
     "How long a file stays in done/, counted from when it was taken in; then it is removed, with a log line. Not "
     "set: until removed by hand, except 7d for files whose layout declares a class the zone does not hold "
     "(個人番号 in an LGWAN export): long enough to reprocess after a fix. `renkei check` says what each source keeps "
     "and for how long."},
    {"format", "enum(jsonl|csv)", "jsonl", 0,
     "Sink output format: jsonl (JSON Lines, UTF-8, one record per line) or csv (through output-layout: its "
     "columns in order, encoding, delimiter, newline and header row; for RPA and core-system intake)."},
    {"output-layout", "path", nullptr, 0,
     "format=csv: the CSV layout (urn:renkei:layout:1) the sink writes. Each column takes the record's field of "
     "the same name (empty when missing). A character the encoding cannot hold fails the batch (dead letter, "
     "field and code point named): never a substitute."},
    {"formula-cells", "enum(refuse|quote)", "refuse", 0,
     "format=csv: a value a spreadsheet or an RPA robot would run as a formula (CSV injection: it begins with "
     "=, +, -, @, a tab or a carriage return, or ＝ ＋ － ＠, and is not a plain number). refuse: the batch fails "
     "(dead letter naming the record and field; nothing written), so the core system never receives an altered "
     "value; quote: written as text with a leading apostrophe (for files people open in a spreadsheet)."},
    {"create-directories", "bool", "true", 0,
     "Create the exchange sub-folders when missing; when false a missing folder is a configuration error."},
    {"fsync", "bool", "true", 0,
     "Flush written files and folder entries to disk before a batch counts as delivered."},
};

const std::size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);

namespace {


bool matchesAny(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return fnmatch(g.c_str(), name.c_str(), FNM_PERIOD) == 0; });
}

// renameat2(2) that never replaces an existing target: two hosts on one
// folder, or a vendor re-sending a name already in done/, must not
// overwrite a file. The target folder is a descriptor opened without
// following links.
bool renameNoReplace(int fromDir, const std::string& from, int toDir, const std::string& to, int& error) {
  if (::renameat2(fromDir, from.c_str(), toDir, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  error = errno;
  return false;
}

// Moves `from` (relative to `fromDir`) into the folder `dir` as `name`, or
// when that is taken `name`.1, `name`.2 … so nothing already there is
// replaced. Returns the name it got, or "" with `error` set.
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

bool lstatOf(const fs::path& path, struct stat& st) { return ::lstat(path.c_str(), &st) == 0; }

std::int64_t mtimeNs(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

std::int64_t nowNs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000LL + now.tv_nsec;
}

// Writes `text` to `name` in the folder `dir` through a temporary file
// created without following links (O_EXCL | O_NOFOLLOW) and a rename, which
// replaces a planted link instead of writing through it. Returns "" or what
// failed.
std::vector<std::string> namesIn(int dir);

/// Removes the temporaries of `name` that a process killed while writing it
/// left behind (".<name>.<pid>.tmp" of a pid no longer running): a reason
/// file written again after a crash leaves no stray file beside it.
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

std::string writeReasonFile(int dir, const std::string& name, const std::string& text, bool sync) {
  const std::string tmp = "." + name + "." + std::to_string(::getpid()) + ".tmp";
  const int fd = ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write '" + printable(tmp) + "': " + std::strerror(errno);
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
  if (!err && ::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) err = errno;
  if (err) {
    ::unlinkat(dir, tmp.c_str(), 0);
    return "cannot write '" + printable(name) + "': " + std::strerror(err);
  }
  removeStaleTemporaries(dir, name);
  return {};
}

// The names in the folder `dir` (not "." and ".."), read through a
// duplicate of its descriptor.
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

// Lowercase hex SHA-256 of the regular file `name` in `dir` (not followed
// if it is a link), or "" when it cannot be read.
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

// "name" or "name.N" as moveInto() names a kept file.
bool keptAs(const std::string& candidate, const std::string& name) {
  if (candidate == name) return true;
  if (candidate.size() <= name.size() + 1 || candidate.compare(0, name.size(), name) != 0 ||
      candidate[name.size()] != '.')
    return false;
  return candidate.find_first_not_of("0123456789", name.size() + 1) == std::string::npos;
}

}  // namespace

void FileConnector::configure(const Settings& settings, const HostContext& context) {
  directory_ = settings.getPath("directory");
  patterns_ = settings.getList("pattern");
  ignore_ = settings.getList("ignore");
  minAge_ = settings.getDuration("min-age");
  settle_ = settings.getDuration("settle");
  trigger_ = settings.getString("trigger");
  if (!trigger_.empty() && (trigger_.front() != '.' || trigger_.size() > 16 || trigger_.find('/') != std::string::npos))
    throw ConfigError("trigger: a suffix such as .end or .ok (at most 16 bytes, starting with a dot)");
  maxFileSize_ = settings.getSize("max-file-size");
  createDirectories_ = settings.getBool("create-directories");
  fsync_ = settings.getBool("fsync");
  keepDone_ = settings.getBool("keep-done");
  if (settings.has("keep-done-for")) {
    keepDoneFor_ = settings.getDuration("keep-done-for");
    keepDoneForSet_ = true;
    if (keepDoneFor_.count() < 60'000) throw ConfigError("keep-done-for: at least 1m (or keep-done=false)");
    if (!keepDone_) throw ConfigError("keep-done-for is set, but keep-done=false keeps nothing");
  }
  zone_ = context.zone;
  services_ = context.services;
  logger_ = context.logger;
  id_ = context.id;
  validating_ = context.validating;
  if (patterns_.empty()) throw ConfigError("key 'pattern': no file pattern given; use '*' for every file");
  if (settings.getString("format") == "csv") {
    if (!settings.has("output-layout")) throw ConfigError("format=csv needs output-layout (the CSV layout to write)");
    Diagnostics diags;
    quoteFormulas_ = settings.getString("formula-cells") == "quote";
    csv_ = formats::loadLayout(settings.getPath("output-layout"), diags);
    if (!csv_ || !diags.empty()) throw ConfigError("output-layout: " + diags.format());
    if (csv_->kind != formats::LayoutKind::Csv)
      throw ConfigError("output-layout: '" + settings.getPath("output-layout").string() + "' is not a CSV layout");
  } else if (settings.has("output-layout")) {
    throw ConfigError("output-layout is for format=csv");
  }
  std::error_code ec;
  if (fs::exists(directory_, ec) && !fs::is_directory(directory_, ec))
    throw ConfigError("key 'directory': '" + directory_.string() + "' exists but is not a folder");
  if (!createDirectories_ && !fs::is_directory(directory_, ec))
    throw ConfigError("key 'directory': folder '" + directory_.string() +
                      "' does not exist (create-directories is false)");
}

void FileConnector::start() {
  if (validating_) return;
  // "<name>.<pid>-<random>.tmp" (renkei/files.h) of a process no longer
  // running, and not touched for a minute: a writer killed mid-write. Its
  // content is a batch's records; the batch is written again from the store.
  std::error_code ec;
  const fs::path tmp = directory_ / "tmp";
  if (!fs::is_directory(fs::symlink_status(tmp, ec))) return;
  std::size_t removed = 0;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".tmp") != 0) continue;
    const std::size_t dash = name.rfind('-'), dot = name.rfind('.', dash == std::string::npos ? 0 : dash);
    if (dash == std::string::npos || dot == std::string::npos || dot + 1 >= dash) continue;
    const std::string pid = name.substr(dot + 1, dash - dot - 1);
    if (pid.size() > 10 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t p = static_cast<pid_t>(std::stol(pid));
    if (p == ::getpid() || ::kill(p, 0) == 0 || errno != ESRCH) continue;
    if (!entry.is_regular_file(ec) || now - entry.last_write_time(ec) < std::chrono::minutes(1)) continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  if (removed)
    logger_->notice("connector %s: removed %s temporary file(s) a writer killed mid-write left in %s", id_,
                    std::to_string(removed), printable(tmp.string()));
}

void FileConnector::ensureDirectory(const fs::path& dir) const {
  // An exchange sub-folder replaced by a symbolic link would send claimed,
  // moved or written files anywhere the link points: refused.
  struct stat st {};
  if (lstatOf(dir, st)) {
    if (S_ISLNK(st.st_mode))
      throw std::runtime_error("folder '" + printable(dir.string()) +
                               "' is a symbolic link: refused (exchange sub-folders must be real folders)");
    if (S_ISDIR(st.st_mode)) return;
    throw std::runtime_error("'" + printable(dir.string()) + "' is not a folder");
  }
  std::error_code ec;
  if (!createDirectories_) throw std::runtime_error("folder '" + dir.string() + "' does not exist");
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create folder '" + dir.string() + "': " + ec.message());
}

bool FileConnector::wanted(const std::string& name) const {
  if (!trigger_.empty() && name.size() > trigger_.size() &&
      name.compare(name.size() - trigger_.size(), trigger_.size(), trigger_) == 0)
    return false;  // a trigger file says another file is complete; it is not data
  return !matchesAny(ignore_, name) && matchesAny(patterns_, name);
}

bool FileConnector::heldOpenForWriting(int folder, const std::string& name) {
  if (leases_ == Leases::Unavailable) return false;
  const int fd = ::openat(folder, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;  // gone, or not ours to read: the claim will say
  // A read lease cannot be taken while any process has the file open for
  // writing. Taken and given back at once (no owner is set for the fd, so
  // a writer opening it meanwhile sends this process no signal).
  bool held = false;
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    ::fcntl(fd, F_SETLEASE, F_UNLCK);
    if (leases_ == Leases::Unknown && logger_)
      logger_->information("%s: a file is claimed only when no process holds it open for writing (checked with a "
                           "read lease), and when unchanged for settle",
                           id_);
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

FileConnector::Folder::~Folder() {
  if (fd_ >= 0) ::close(fd_);
}

FileConnector::Folder& FileConnector::Folder::operator=(Folder&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileConnector::Folder FileConnector::openFolder(const char* name, bool create) const {
  // The configured folder itself may be a link an administrator set up; its
  // sub-folders are opened relative to it without following links, and
  // every operation on their entries goes through that descriptor: a folder
  // swapped for a link after this point cannot redirect anything.
  ensureDirectory(directory_ / name);  // creates it, refuses a link, with its path in the message
  const int root = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    throw std::runtime_error("cannot open folder '" + printable(directory_.string()) + "': " + std::strerror(errno));
  const int fd = ::openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  const int err = errno;
  ::close(root);
  if (fd < 0) {
    const fs::path path = directory_ / name;
    if (err == ELOOP || err == ENOTDIR)
      throw std::runtime_error("folder '" + printable(path.string()) +
                               "' is a symbolic link or not a folder: refused (exchange sub-folders must be real "
                               "folders)");
    if (err == ENOENT && !create) return Folder();
    throw std::runtime_error("cannot open folder '" + printable(path.string()) + "': " + std::strerror(err));
  }
  return Folder(fd);
}

std::filesystem::path FileConnector::Folder::entry(const std::string& name) const {
  // The descriptor's own path in /proc: resolves to the folder it holds,
  // whatever its name in the tree is now.
  return fs::path("/proc/self/fd") / std::to_string(fd_) / name;
}

std::vector<Intake> FileConnector::recover() {
  std::vector<Intake> items;
  std::error_code ec;
  if (!fs::exists(directory_ / "processing", ec) && !fs::is_symlink(directory_ / "processing", ec)) return items;
  processing_ = openFolder("processing", false);
  if (!processing_.valid()) return items;
  for (const std::string& name : namesIn(processing_.fd())) {
    // Not following links: a link planted here is handed to the host, whose
    // open refuses it and sends it to error/ with the reason.
    struct stat st {};
    if (::fstatat(processing_.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)) continue;
    items.push_back({name, processing_.entry(name), static_cast<std::uintmax_t>(st.st_size), true});
  }
  std::sort(items.begin(), items.end(), [](const Intake& a, const Intake& b) { return a.name < b.name; });
  return items;
}

namespace {
/// "7d", "36h", "90m", "45s": a retention as the config writes it.
std::string durationText(std::chrono::milliseconds d) {
  const std::int64_t s = d.count() / 1000;
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}
}  // namespace

std::string FileConnector::itemsHold(const std::string& sensitive) {
  if (!keepDone_) return "deletes each file taken in once its records are stored (keep-done=false)";
  const std::string why = sensitive.empty() ? std::string()
                                            : ": its files hold " + sensitive + " fields, which the " + zone_ +
                                                  " zone does not hold";
  if (!keepDoneForSet_ && !sensitive.empty()) keepDoneFor_ = std::chrono::hours(24 * 7);
  if (keepDoneFor_.count() == 0)
    return "keeps each file taken in under " + (directory_ / "done").string() +
           " until it is removed by hand (keep-done-for sets a retention)";
  return "keeps each file taken in under " + (directory_ / "done").string() + " for " + durationText(keepDoneFor_) +
         ", then removes it" + why + (keepDoneForSet_ ? std::string(" (keep-done-for)") : std::string(" (keep-done-for sets how long)"));
}

void FileConnector::purgeDone() {
  if (keepDoneFor_.count() == 0 || validating_) return;
  const auto nowSteady = std::chrono::steady_clock::now();
  if (nowSteady < nextPurge_) return;
  nextPurge_ = nowSteady + std::chrono::minutes(10);
  const Folder done = openFolder("done", false);
  if (done.fd() < 0) return;
  // Taken in = moved into done/: a rename sets the file's change time (its
  // modification time is the vendor's).
  const Removal r = removeOlderThan(done.fd(), keepDoneFor_, AgeBy::Changed);
  const std::size_t removed = r.removed, failed = r.failed;
  const int lastError = r.lastError;
  if (removed && fsync_) ::fsync(done.fd());
  if (removed && logger_)
    logger_->notice("connector %s: %s file(s) in done/ taken in more than %s ago removed (keep-done-for)", id_,
                    std::to_string(removed), durationText(keepDoneFor_));
  if (failed && logger_)
    logger_->error("connector %s: %s file(s) in done/ past keep-done-for could not be removed: %s", id_,
                   std::to_string(failed), std::string(std::strerror(lastError)));
}

std::optional<Intake> FileConnector::claim() {
  purgeDone();
  const Folder in = openFolder("in", true);
  processing_ = openFolder("processing", true);
  auto statIn = [&](const std::string& name, struct stat& st) {
    return ::fstatat(in.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  };

  // Oldest name first: vendors number their exports, so name order is the
  // order they meant (full extract before the day's differences).
  std::vector<std::string> candidates;
  for (std::string& name : namesIn(in.fd()))
    if (wanted(name)) candidates.push_back(std::move(name));
  std::sort(candidates.begin(), candidates.end());

  for (const std::string& name : candidates) {
    struct stat seen {};
    if (!statIn(name, seen)) continue;  // gone meanwhile
    if (S_ISDIR(seen.st_mode)) continue;
    const bool regular = S_ISREG(seen.st_mode);
    if (regular) {
      // Still being written? Left in in/ while its size or time changes
      // within settle, or while it is younger than min-age.
      const std::int64_t age = nowNs() - mtimeNs(seen);
      if (minAge_.count() > 0 && age < minAge_.count() * 1000000LL) continue;
      if (settle_.count() > 0 && age < settle_.count() * 1000000LL) {
        const std::int64_t wait = std::clamp<std::int64_t>(settle_.count() * 1000000LL - age, 0,
                                                           settle_.count() * 1000000LL);
        std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        struct stat again {};
        if (!statIn(name, again)) continue;
        if (again.st_ino != seen.st_ino || again.st_size != seen.st_size || mtimeNs(again) != mtimeNs(seen)) {
          if (logger_)
            logger_->information("%s: '%s' is still being written (it changed within settle); left in in/", id_,
                                 printable(name));
          continue;
        }
        seen = again;
      }
    }
    // The vendor's own completeness signal: the trigger file beside it.
    std::string trigger;
    if (regular && !trigger_.empty()) {
      struct stat t {};
      const std::size_t dot = name.rfind('.');
      for (const std::string& candidate :
           {name + trigger_, dot != std::string::npos && dot > 0 ? name.substr(0, dot) + trigger_ : std::string()})
        if (trigger.empty() && !candidate.empty() && statIn(candidate, t) && S_ISREG(t.st_mode)) trigger = candidate;
      if (trigger.empty()) continue;  // waits for its trigger file
    }
    // A writer that pauses longer than settle still holds the file open.
    if (regular && heldOpenForWriting(in.fd(), name)) {
      if (logger_ && heldNoted_.insert(name).second)
        logger_->information("%s: '%s' is still open for writing by another process; left in in/", id_,
                             printable(name));
      continue;
    }
    heldNoted_.erase(name);
    int err = 0;
    if (!renameNoReplace(in.fd(), name, processing_.fd(), name, err)) {
      if (err == ENOENT) continue;  // another host claimed it first
      if (err == EEXIST) {
        if (logger_) logger_->warning("%s: '%s' is already in processing/; left in in/", id_, printable(name));
        continue;
      }
      throw std::runtime_error("cannot claim '" + printable(name) + "' from in/: " + std::strerror(err));
    }
    if (!trigger.empty() && ::unlinkat(in.fd(), trigger.c_str(), 0) != 0 && errno != ENOENT && logger_)
      logger_->warning("%s: the trigger file '%s' could not be removed: %s", id_, printable(trigger),
                       std::string(std::strerror(errno)));
    if (fsync_) ::fsync(processing_.fd());
    struct stat claimed {};
    if (::fstatat(processing_.fd(), name.c_str(), &claimed, AT_SYMLINK_NOFOLLOW) != 0) continue;
    Intake item{name, processing_.entry(name), static_cast<std::uintmax_t>(claimed.st_size), false};
    if (!regular || !S_ISREG(claimed.st_mode)) {
      // A symbolic link (to the API's key, to /etc/passwd …), a FIFO or a
      // device: never opened; the entry itself goes to error/.
      refuse(item, S_ISLNK(claimed.st_mode) ? "is a symbolic link: not read (only regular files are taken in)"
                                            : "is not a regular file: not read");
      continue;
    }
    if (maxFileSize_ > 0 && item.size > maxFileSize_) {
      refuse(item, "file is " + std::to_string(item.size) + " bytes, larger than max-file-size (" +
                       std::to_string(maxFileSize_) + " bytes)");
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(claimedMutex_);
      // What was seen before the rename: a change between the look and
      // the claim counts as a change too.
      claimed_[item.name] = Seen{seen.st_ino, seen.st_size, mtimeNs(seen)};
    }
    return item;
  }
  return std::nullopt;
}

void FileConnector::refuse(const Intake& item, const std::string& reason) {
  // Never handed to the host: to error/ with its reason, and kept in the
  // store as refused so `renkei status` shows it (exit 4) until acknowledged.
  finish(item, Disposition::Failed, reason);
  if (services_ && !services_->recordRefusal(item.name, reason) && logger_)
    logger_->error("%s: '%s' went to error/ (%s); it is not in renkei status", id_, printable(item.name), reason);
}

Outcome FileConnector::finish(const Intake& item, Disposition disposition, const std::string& reason) {
  try {
    std::string why = reason;
    if (disposition == Disposition::Done) {
      // Changed after the host read it (a writer that paused longer than
      // settle and went on): what was read is taken in, but the file is not
      // filed as done, so the operator sees it and the vendor re-sends.
      std::optional<Seen> atClaim;
      {
        std::lock_guard<std::mutex> lock(claimedMutex_);
        if (auto it = claimed_.find(item.name); it != claimed_.end()) atClaim = it->second;
      }
      struct stat now {};
      if (atClaim && ::lstat(item.path.c_str(), &now) == 0 &&
          (now.st_ino != atClaim->ino || now.st_size != atClaim->size || mtimeNs(now) != atClaim->mtimeNs)) {
        disposition = Disposition::Failed;
        why = "changed after it was read (" + std::to_string(atClaim->size) + " bytes when claimed, " +
              std::to_string(now.st_size) +
              " bytes now): the content as claimed was taken in; the rest was not. Re-send the whole "
              "file under a temporary name and rename it when complete";
        if (logger_) logger_->warning("%s: '%s' %s", id_, printable(item.name), why);
        // The host counted it done: kept as refused too, so `renkei status`
        // (exit 4) and /metrics show it until an operator acknowledges it.
        if (services_) services_->recordRefusal(item.name, why);
      }
    }
    if (disposition == Disposition::Done && !keepDone_) {
      if (::unlink(item.path.c_str()) != 0 && errno != ENOENT)
        return Outcome::retry("cannot delete '" + printable(item.name) + "' (keep-done=false): " + std::strerror(errno));
      if (fsync_) syncPath(directory_ / "processing", true);
      std::lock_guard<std::mutex> lock(claimedMutex_);
      claimed_.erase(item.name);
      return Outcome::ok();
    }
    const char* dirName = disposition == Disposition::Done ? "done" : "error";
    const Folder dir = openFolder(dirName, true);
    // The item through its folder's descriptor (its path in /proc), or as
    // given by a host that built it itself.
    std::string error;
    const std::string moved =
        moveInto(AT_FDCWD, item.path.string(), item.path.filename().string(), dir.fd(), error);
    if (moved.empty())
      return Outcome::retry("cannot move '" + printable(item.name) + "' to " + dirName + "/: " + error);
    {
      std::lock_guard<std::mutex> lock(claimedMutex_);
      claimed_.erase(item.name);
    }
    if (disposition == Disposition::Failed) {
      // The reason file is written after the move so that it always names the
      // file it sits beside (which may have a ".1" suffix). Names and reasons
      // are escaped: one line each whatever the name holds.
      const std::string text = "file: " + printable(item.name) + "\n" + "connector: " + id_ + "\n" +
                               "reason: " + printable(why, 64 * 1024) + "\n";
      const std::string failed = writeReasonFile(dir.fd(), moved + ".error.txt", text, fsync_);
      if (!failed.empty() && logger_)
        logger_->error("%s: '%s' moved to error/, but its reason file was not written: %s", id_,
                       printable(item.name), failed);
    }
    if (fsync_) ::fsync(dir.fd());
    return Outcome::ok();
  } catch (const std::exception& e) {
    return Outcome::retry(e.what());
  }
}

Outcome FileConnector::requeue(const std::string& name, const std::string& sha256) {
  // A name from the store's register is a name this source once claimed in
  // in/; anything that could leave the folder is refused, not looked for.
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return Outcome::error("'" + printable(name) + "' is not a file name in a drop folder");
  try {
    const Folder in = openFolder("in", true);
    for (const char* kept : {"done", "error"}) {
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
        if (std::string(kept) == "error") ::unlinkat(dir.fd(), (candidate + ".error.txt").c_str(), 0);
        if (fsync_) {
          ::fsync(in.fd());
          ::fsync(dir.fd());
        }
        if (logger_)
          logger_->notice("%s: '%s' put back from %s/ into in/ to be taken in again", id_, printable(candidate),
                          std::string(kept));
        return Outcome::ok();
      }
    }
    return Outcome::error("no file named '" + printable(name) + "' (or '" + printable(name) +
                          ".N') with that content in done/ or error/ of " + directory_.string() +
                          "; drop the file into in/ again");
  } catch (const std::exception& e) {
    return Outcome::error(e.what());
  }
}

Outcome FileConnector::writeAtomically(const fs::path& dir, const std::string& name, std::string_view content) {
  try {
    const fs::path tmp = directory_ / "tmp";
    ensureDirectory(tmp);
    ensureDirectory(dir);
    // Two hosts writing the same batch (one whose lease ran out while it was
    // slow) write temp files of their own; the rename makes whichever
    // finishes last the copy in place, and both are whole. The same content
    // written again after a crash replaces its own earlier copy: exactly once.
    const std::string error = writeFileAtomically(tmp, dir / name, content, fsync_);
    return error.empty() ? Outcome::ok() : Outcome::retry(error);
  } catch (const std::exception& e) {
    return Outcome::retry(e.what());
  }
}

Outcome FileConnector::deliver(const Batch& batch) {
  // The host hands over the records as JSON Lines: written as they are.
  if (!csv_) return writeAtomically(directory_ / "out", batch.id + ".jsonl", batch.jsonLines);
  std::string out;
  if (const auto problem = writeCsv(*csv_, batch, out, quoteFormulas_)) return Outcome::error(*problem);
  return writeAtomically(directory_ / "out", batch.id + ".csv", out);
}

std::optional<std::string> writeCsv(const formats::Layout& layout, const Batch& batch, std::string& out,
                                    bool quoteFormulas) {
  const text::Codec& codec = *layout.codec;
  const char* newline = layout.newline == formats::Newline::Lf ? "\n" : "\r\n";
  const char delimiter = layout.delimiter, quote = layout.quote;
  const auto cell = [&](std::string_view value, std::size_t record, const std::string& field) -> std::optional<std::string> {
    const bool formula = looksLikeFormula(value);
    if (formula && !quoteFormulas)
      return "record " + std::to_string(record) + ", field " + field +
             ": the value begins like a formula (=, +, -, @, a tab or a line end): refused so that no spreadsheet or "
             "RPA robot runs it (formula-cells=refuse); nothing was written";
    std::string apostrophed;
    if (formula) value = apostrophed = "'" + std::string(value);
    text::CodecStats stats;
    std::string encoded;
    codec.encode(value, encoded, stats);
    if (stats.invalid) {
      // Name the character by its code point and the field, never the value.
      std::uint32_t cp = 0;
      const auto* p = reinterpret_cast<const unsigned char*>(value.data());
      std::size_t at = stats.firstInvalidOffset < value.size() ? stats.firstInvalidOffset : 0;
      text::decodeUtf8(p + at, value.size() - at, cp);
      char name[16];
      std::snprintf(name, sizeof name, "U+%04X", cp);
      return "record " + std::to_string(record) + ", field " + field + ": " + name + " cannot be written in " +
             codec.name() + " (map it in the sender's conversion table); nothing was written";
    }
    const bool needsQuote = formula || encoded.find(delimiter) != std::string::npos ||
                            encoded.find(quote) != std::string::npos || encoded.find_first_of("\r\n") != std::string::npos;
    if (needsQuote) {
      out += quote;
      for (char c : encoded) {
        if (c == quote) out += quote;
        out += c;
      }
      out += quote;
    } else {
      out += encoded;
    }
    return std::nullopt;
  };
  if (layout.header != formats::HeaderRow::Absent) {
    for (std::size_t i = 0; i < layout.fields.size(); ++i) {
      if (i) out += delimiter;
      if (auto problem = cell(layout.fields[i].name, 0, layout.fields[i].name)) return problem;
    }
    out += newline;
  }
  std::size_t n = 0;
  for (const Record& r : batch.records) {
    ++n;
    for (std::size_t i = 0; i < layout.fields.size(); ++i) {
      if (i) out += delimiter;
      const std::string* v = r.find(layout.fields[i].name);
      if (auto problem = cell(v ? std::string_view(*v) : std::string_view(), n, layout.fields[i].name)) return problem;
    }
    out += newline;
  }
  return std::nullopt;
}

Outcome FileConnector::writeRejects(const Intake& item, const std::string& jsonl) {
  return writeAtomically(directory_ / "rejects", item.name + ".rejects.jsonl", jsonl);
}

Outcome FileConnector::writeWarnings(const Intake& item, const std::string& jsonl) {
  return writeAtomically(directory_ / "rejects", item.name + ".warnings.jsonl", jsonl);
}

}  // namespace renkei::connectors::file
