// The file connector: drop-folder lifecycle and the tmp/ + rename sink.
#include "file_connector.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>

#include "renkei/files.h"
#include "renkei/json.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors::file {

// The keys this connector declares (the plugin library and the domain
// connectors built on it list them).
const renkei_config_key kKeys[] = {
    {"directory", "path", nullptr, 1,
     "Exchange folder. A source reads <directory>/in/ and keeps processing/, done/, error/ and "
     "rejects/; a sink writes <directory>/tmp/ and renames into <directory>/out/."},
    {"pattern", "string", "*", 0,
     "File names the source picks up from in/, as shell globs separated by ';' (e.g. *.csv;*.CSV)."},
    {"ignore", "string", ".*;*.tmp;*.part", 0,
     "File names the source never picks up (files a vendor is still writing), globs separated by ';'."},
    {"min-age", "duration", "0s", 0,
     "A file modified more recently than this is left for the next poll (for vendors that "
     "write in place instead of renaming and pause longer than settle)."},
    {"settle", "duration", "1s", 0,
     "A file is claimed only when its size and modification time have stayed the same for this long "
     "(a file still being written in place is left in in/); 0s claims at once."},
    {"max-file-size", "size", "4GiB", 0,
     "A larger file is not read: it is moved to error/ with the reason."},
    {"format", "enum(jsonl)", "jsonl", 0, "Sink output format: JSON Lines, UTF-8, one record per line."},
    {"create-directories", "bool", "true", 0,
     "Create the exchange sub-folders when missing; when false a missing folder is a configuration error."},
    {"fsync", "bool", "true", 0,
     "Flush written files and folder entries to disk before a batch counts as delivered."},
};

const std::size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);

namespace {

std::vector<std::string> splitGlobs(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(start, end - start);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

bool matchesAny(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return fnmatch(g.c_str(), name.c_str(), FNM_PERIOD) == 0; });
}

// rename(2) that never replaces an existing target: two hosts on one folder,
// or a vendor re-sending a name already in done/, must not overwrite a file.
bool renameNoReplace(const fs::path& from, const fs::path& to, int& error) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  error = errno;
  return false;
}

// Moves `from` into folder `dir`, keeping its name or, when taken, adding
// ".1", ".2" … so nothing already there is replaced.
fs::path moveInto(const fs::path& from, const fs::path& dir, std::string& error) {
  const std::string name = from.filename().string();
  for (int n = 0; n < 10000; ++n) {
    fs::path to = dir / (n == 0 ? name : name + "." + std::to_string(n));
    int err = 0;
    if (renameNoReplace(from, to, err)) return to;
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

// Writes `text` to `dir`/`name` through a temporary file created without
// following links (O_EXCL | O_NOFOLLOW) and a rename, which replaces a
// planted link instead of writing through it. Returns "" or what failed.
std::string writeReasonFile(const fs::path& dir, const std::string& name, const std::string& text, bool sync) {
  const fs::path tmp = dir / ("." + name + "." + std::to_string(::getpid()) + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) return "cannot write '" + printable(tmp.string()) + "': " + std::strerror(errno);
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
  if (!err && ::rename(tmp.c_str(), (dir / name).c_str()) != 0) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    return "cannot write '" + printable((dir / name).string()) + "': " + std::strerror(err);
  }
  return {};
}

}  // namespace

void FileConnector::configure(const Settings& settings, const HostContext& context) {
  directory_ = settings.getPath("directory");
  patterns_ = splitGlobs(settings.getString("pattern"));
  ignore_ = splitGlobs(settings.getString("ignore"));
  minAge_ = settings.getDuration("min-age");
  settle_ = settings.getDuration("settle");
  maxFileSize_ = settings.getSize("max-file-size");
  createDirectories_ = settings.getBool("create-directories");
  fsync_ = settings.getBool("fsync");
  logger_ = context.logger;
  id_ = context.id;
  if (patterns_.empty()) throw ConfigError("key 'pattern': no file pattern given; use '*' for every file");
  std::error_code ec;
  if (fs::exists(directory_, ec) && !fs::is_directory(directory_, ec))
    throw ConfigError("key 'directory': '" + directory_.string() + "' exists but is not a folder");
  if (!createDirectories_ && !fs::is_directory(directory_, ec))
    throw ConfigError("key 'directory': folder '" + directory_.string() +
                      "' does not exist (create-directories is false)");
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

bool FileConnector::wanted(const fs::directory_entry& entry) const {
  const std::string name = entry.path().filename().string();
  return !matchesAny(ignore_, name) && matchesAny(patterns_, name);
}

std::vector<Intake> FileConnector::recover() {
  std::vector<Intake> items;
  const fs::path processing = directory_ / "processing";
  std::error_code ec;
  if (!fs::is_directory(processing, ec)) return items;
  ensureDirectory(processing);
  for (const auto& entry : fs::directory_iterator(processing, ec)) {
    // Not following links: a link planted here is handed to the host, whose
    // open refuses it and sends it to error/ with the reason.
    struct stat st {};
    if (!lstatOf(entry.path(), st) || S_ISDIR(st.st_mode)) continue;
    items.push_back({entry.path().filename().string(), entry.path(), static_cast<std::uintmax_t>(st.st_size), true});
  }
  std::sort(items.begin(), items.end(), [](const Intake& a, const Intake& b) { return a.name < b.name; });
  return items;
}

std::optional<Intake> FileConnector::claim() {
  const fs::path in = directory_ / "in";
  const fs::path processing = directory_ / "processing";
  ensureDirectory(in);
  ensureDirectory(processing);

  // Oldest name first: vendors number their exports, so name order is the
  // order they meant (full extract before the day's differences).
  std::vector<fs::directory_entry> candidates;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(in, ec))
    if (wanted(entry)) candidates.push_back(entry);
  if (ec) throw std::runtime_error("cannot list '" + printable(in.string()) + "': " + ec.message());
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });

  for (const auto& entry : candidates) {
    const std::string name = entry.path().filename().string();
    struct stat seen {};
    if (!lstatOf(entry.path(), seen)) continue;  // gone meanwhile
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
        if (!lstatOf(entry.path(), again)) continue;
        if (again.st_ino != seen.st_ino || again.st_size != seen.st_size || mtimeNs(again) != mtimeNs(seen)) {
          if (logger_)
            logger_->information("%s: '%s' is still being written (it changed within settle); left in in/", id_,
                                 printable(name));
          continue;
        }
        seen = again;
      }
    }
    const fs::path target = processing / entry.path().filename();
    int err = 0;
    if (!renameNoReplace(entry.path(), target, err)) {
      if (err == ENOENT) continue;  // another host claimed it first
      if (err == EEXIST) {
        if (logger_) logger_->warning("%s: '%s' is already in processing/; left in in/", id_, printable(name));
        continue;
      }
      throw std::runtime_error("cannot claim '" + printable(entry.path().string()) + "': " + std::strerror(err));
    }
    if (fsync_) syncPath(processing, true);
    struct stat claimed {};
    if (!lstatOf(target, claimed)) continue;
    Intake item{target.filename().string(), target, static_cast<std::uintmax_t>(claimed.st_size), false};
    if (!regular || !S_ISREG(claimed.st_mode)) {
      // A symbolic link (to the API's key, to /etc/passwd …), a FIFO or a
      // device: never opened; the entry itself goes to error/.
      finish(item, Disposition::Failed,
             S_ISLNK(claimed.st_mode) ? "is a symbolic link: not read (only regular files are taken in)"
                                      : "is not a regular file: not read");
      continue;
    }
    if (maxFileSize_ > 0 && item.size > maxFileSize_) {
      finish(item, Disposition::Failed,
             "file is " + std::to_string(item.size) + " bytes, larger than max-file-size (" +
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
      if (atClaim && lstatOf(item.path, now) &&
          (now.st_ino != atClaim->ino || now.st_size != atClaim->size || mtimeNs(now) != atClaim->mtimeNs)) {
        disposition = Disposition::Failed;
        why = "changed after it was read (" + std::to_string(atClaim->size) + " bytes when claimed, " +
              std::to_string(now.st_size) +
              " bytes now): the content as claimed was taken in; the rest was not. Re-send the whole "
              "file under a temporary name and rename it when complete";
        if (logger_) logger_->warning("%s: '%s' %s", id_, printable(item.name), why);
      }
    }
    const fs::path dir = directory_ / (disposition == Disposition::Done ? "done" : "error");
    ensureDirectory(dir);
    std::string error;
    fs::path moved = moveInto(item.path, dir, error);
    if (moved.empty())
      return Outcome::retry("cannot move '" + printable(item.name) + "' to " + dir.filename().string() + "/: " + error);
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
      const std::string failed = writeReasonFile(dir, moved.filename().string() + ".error.txt", text, fsync_);
      if (!failed.empty() && logger_)
        logger_->error("%s: '%s' moved to error/, but its reason file was not written: %s", id_,
                       printable(item.name), failed);
    }
    if (fsync_) syncPath(dir, true);
    return Outcome::ok();
  } catch (const std::exception& e) {
    return Outcome::retry(e.what());
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
  return writeAtomically(directory_ / "out", batch.id + ".jsonl", batch.jsonLines);
}

Outcome FileConnector::writeRejects(const Intake& item, const std::string& jsonl) {
  return writeAtomically(directory_ / "rejects", item.name + ".rejects.jsonl", jsonl);
}

}  // namespace renkei::connectors::file
