// The file connector: drop-folder lifecycle and the tmp/ + rename sink.
#include "file_connector.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "renkei/files.h"
#include "renkei/json.h"

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
     "write in place instead of renaming)."},
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

}  // namespace

void FileConnector::configure(const Settings& settings, const HostContext& context) {
  directory_ = settings.getPath("directory");
  patterns_ = splitGlobs(settings.getString("pattern"));
  ignore_ = splitGlobs(settings.getString("ignore"));
  minAge_ = settings.getDuration("min-age");
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
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return;
  if (!createDirectories_) throw std::runtime_error("folder '" + dir.string() + "' does not exist");
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create folder '" + dir.string() + "': " + ec.message());
}

bool FileConnector::wanted(const fs::directory_entry& entry) const {
  std::error_code ec;
  if (!entry.is_regular_file(ec)) return false;
  const std::string name = entry.path().filename().string();
  if (matchesAny(ignore_, name) || !matchesAny(patterns_, name)) return false;
  if (minAge_.count() > 0) {
    auto mtime = entry.last_write_time(ec);
    if (ec) return false;
    if (fs::file_time_type::clock::now() - mtime < minAge_) return false;
  }
  return true;
}

std::vector<Intake> FileConnector::recover() {
  std::vector<Intake> items;
  const fs::path processing = directory_ / "processing";
  std::error_code ec;
  if (!fs::is_directory(processing, ec)) return items;
  for (const auto& entry : fs::directory_iterator(processing, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    items.push_back({entry.path().filename().string(), entry.path(), entry.file_size(ec), true});
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
  if (ec) throw std::runtime_error("cannot list '" + in.string() + "': " + ec.message());
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });

  for (const auto& entry : candidates) {
    const fs::path target = processing / entry.path().filename();
    int err = 0;
    if (!renameNoReplace(entry.path(), target, err)) {
      if (err == ENOENT) continue;  // another host claimed it first
      if (err == EEXIST) {
        if (logger_) logger_->warning("%s: '%s' is already in processing/; left in in/", id_,
                                      entry.path().filename().string());
        continue;
      }
      throw std::runtime_error("cannot claim '" + entry.path().string() + "': " + std::strerror(err));
    }
    if (fsync_) syncPath(processing, true);
    Intake item{target.filename().string(), target, fs::file_size(target, ec), false};
    if (maxFileSize_ > 0 && item.size > maxFileSize_) {
      finish(item, Disposition::Failed,
             "file is " + std::to_string(item.size) + " bytes, larger than max-file-size (" +
                 std::to_string(maxFileSize_) + " bytes)");
      continue;
    }
    return item;
  }
  return std::nullopt;
}

Outcome FileConnector::finish(const Intake& item, Disposition disposition, const std::string& reason) {
  try {
    const fs::path dir = directory_ / (disposition == Disposition::Done ? "done" : "error");
    ensureDirectory(dir);
    std::string error;
    fs::path moved = moveInto(item.path, dir, error);
    if (moved.empty())
      return Outcome::retry("cannot move '" + item.name + "' to " + dir.filename().string() + "/: " + error);
    if (disposition == Disposition::Failed) {
      // The reason file is written after the move so that it always names the
      // file it sits beside (which may have a ".1" suffix).
      const fs::path reasonFile = dir / (moved.filename().string() + ".error.txt");
      std::ofstream out(reasonFile, std::ios::binary | std::ios::trunc);
      out << "file: " << item.name << "\n"
          << "connector: " << id_ << "\n"
          << "reason: " << reason << "\n";
      out.close();
      if (fsync_) syncPath(reasonFile, false);
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
