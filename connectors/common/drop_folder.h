// A drop folder (the toolkit): how every connector that takes files in
// handles them, written once — the file connector (and the resident
// connector through it), the bridge's receiving half, and the scanners'
// folder of the OCR connector to come.
//
//   <directory>/in/          files arrive (the vendor writes elsewhere and renames, or a trigger file says done)
//   <directory>/processing/  claimed: moved here by rename, so two hosts never take one file
//   <directory>/done/        taken in (kept for reprocessing and audits, as long as configured)
//   <directory>/<failed>/    refused whole ("error" or "rejected"), each with <name><reason-suffix> beside it
//
// Every sub-folder is opened without following links and every entry is
// moved through the folder's descriptor, so a folder swapped for a link
// cannot send a file anywhere else. Nothing is replaced: a name taken in
// the target becomes name.1, name.2 …
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "renkei/connector.h"

namespace Poco {
class Logger;
}

namespace renkei::connectors {

struct DropFolderOptions {
  std::filesystem::path directory;
  /// What the files are, for messages ("file", "bundle", "scan").
  std::string noun = "file";
  /// The folder refused items go to, and the suffix of the reason file
  /// written beside each.
  std::string failed = "error";
  std::string reasonSuffix = ".error.txt";
  /// Names taken from in/ (shell globs) and names never taken.
  std::vector<std::string> patterns{"*"};
  std::vector<std::string> ignore{".*", "*.tmp", "*.part", "*~"};
  /// A file must be this old (by its modification time) to be claimed.
  std::chrono::milliseconds minAge{0};
  /// Unchanged in size and time for this long before it is claimed.
  std::chrono::milliseconds settle{0};
  /// The vendor's completeness signal (".end"): "X.csv" waits for
  /// "X.csv.end" or "X.end", which is removed when X.csv is claimed.
  std::string trigger;
  /// Not claimed while a process holds it open for writing (a read lease).
  bool checkWriters = false;
  /// A larger file is refused unread (0: no limit).
  std::uint64_t maxFileSize = 0;
  /// The reason given for a symbolic link, a FIFO or a device found in in/.
  std::string linkRefusal = "is a symbolic link: not read (only regular files are taken in)";
  std::string notRegularRefusal = "is not a regular file: not read";
  bool createDirectories = true;
  bool fsync = true;
  /// false: a file taken in is deleted instead of kept in done/.
  bool keepDone = true;
  /// done/ and <failed>/ retention (0: until removed by hand). done/ counts
  /// from when a file was moved there (its change time: its modification
  /// time is the vendor's); <failed>/ from when it was written there.
  std::chrono::milliseconds keepDoneFor{0};
  std::chrono::milliseconds keepFailedFor{0};
  /// The config keys those two are set by, for the log lines of a purge.
  std::string keepDoneKey = "keep-done-for", keepFailedKey = "keep-failed-for";
  /// The time a reason file states ("<failed>: <time>"), when set: the
  /// host's clock in the municipality's zone, with its offset.
  std::function<std::string()> stamp;
  /// Called for every item refused by the folder itself (a link, too
  /// large, changed after it was read), after it is in <failed>/ with its
  /// reason: the connector records it where operators see it.
  std::function<void(const std::string& name, const std::string& reason)> refused;
};

class DropFolder {
 public:
  DropFolder() = default;
  DropFolder(DropFolderOptions options, Poco::Logger* logger, std::string id);

  /// Configuration-time checks of the directory (exists and is not a
  /// folder; missing with createDirectories=false). Throws ConfigError.
  void check() const;

  /// Items an earlier process claimed and did not finish, by name.
  std::vector<Intake> recover();
  /// The names in in/ that would be taken, in name order (vendors number
  /// their exports: name order is the order they meant).
  std::vector<std::string> candidates();
  /// Claims `name` from in/ if it is complete (settle, min-age, trigger,
  /// no writer); nothing when it is not (left for the next pass) or was
  /// refused (already in <failed>/ with its reason).
  std::optional<Intake> claim(const std::string& name);
  /// The first candidate that can be claimed.
  std::optional<Intake> claimNext();

  /// Done: moved to done/ (or deleted with keepDone=false). A file that
  /// changed after it was claimed is moved to <failed>/ instead, with the
  /// reason, and reported through `refused`.
  Outcome done(const Intake& item);
  /// Refused whole: to <failed>/ with a reason file `reasonText` beside it
  /// (written first, so a crash never leaves the item there without it).
  /// Returns the name it was kept under ("" when it could not be moved).
  std::string fail(const Intake& item, const std::string& reasonText);
  /// Bytes refused before they were a file (from a socket): written to
  /// <failed>/ under `name` (or a free name like it) with its reason file.
  /// Returns the name used. (A caller bounding <failed>/ by failedBytes()
  /// keeps only the reason with reasonOnly().)
  std::string keep(const std::string& name, const std::string& bytes, const std::string& reasonText);
  /// Writes only a reason file for `name` into <failed>/; returns the
  /// (free) name it describes.
  std::string reasonOnly(const std::string& name, const std::string& reasonText);
  /// The reason text every drop folder writes: "<noun>: <name>",
  /// "connector: <id>", "<failed>: <time>" (`at`, or the options' stamp),
  /// "reason: …", then `extra` lines; names and reasons escaped, one line
  /// each.
  std::string reasonText(const std::string& name, const std::string& reason, const std::string& at = {},
                         const std::string& extra = {}) const;

  /// Puts a kept file (done/ or <failed>/, as "name" or "name.N", with
  /// this SHA-256) back into in/ to be taken in again.
  Outcome requeue(const std::string& name, const std::string& sha256);

  /// Removes what retention allows (at most every ten minutes unless
  /// `now`); returns the bytes <failed>/ still holds.
  std::uintmax_t purge(bool now = false);
  /// The bytes <failed>/ holds.
  std::uintmax_t failedBytes();
  /// Removes temporaries (<name>.<pid>-<n>.tmp in tmp/) of writers killed
  /// mid-write that no running process owns and that are a minute old.
  std::size_t sweepTemporaries();

  /// A sub-folder as a real folder (created when allowed; a link refused).
  /// Throws std::runtime_error naming it.
  void ensureFolder(const std::string& sub) const;

  const DropFolderOptions& options() const { return options_; }
  /// "7d", "36h", "90m", "45s": a retention as the config writes it.
  static std::string durationText(std::chrono::milliseconds d);
  void setKeepDoneFor(std::chrono::milliseconds d) { options_.keepDoneFor = d; }
  const std::filesystem::path& directory() const { return options_.directory; }

 private:
  /// A sub-folder held open (O_DIRECTORY | O_NOFOLLOW).
  class Folder {
   public:
    Folder() = default;
    explicit Folder(int fd) : fd_(fd) {}
    ~Folder();
    Folder(Folder&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Folder& operator=(Folder&& other) noexcept;
    Folder(const Folder&) = delete;
    Folder& operator=(const Folder&) = delete;
    int fd() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    /// /proc/self/fd/N/name: a path through the descriptor.
    std::filesystem::path entry(const std::string& name) const;

   private:
    int fd_ = -1;
  };
  Folder openFolder(const std::string& name, bool create) const;
  bool wanted(const std::string& name) const;
  bool heldOpenForWriting(int folder, const std::string& name);
  /// Writes the reason file for a free name in `dir` (name, or name.N, or
  /// a shortened name when too long) and returns that name; `error` says
  /// why the reason could not be written (the name is still free).
  std::string placeReason(int dir, const std::string& name, const std::string& text, std::string& error);
  std::string failItem(const std::filesystem::path& from, const std::string& name, const std::string& text);

  struct Seen {
    ino_t ino = 0;
    off_t size = 0;
    std::int64_t mtimeNs = 0;
  };
  DropFolderOptions options_;
  Poco::Logger* logger_ = nullptr;
  std::string id_;
  enum class Leases { Unknown, Available, Unavailable } leases_ = Leases::Unknown;
  std::set<std::string> heldNoted_;
  Folder processing_;  ///< held while items handed out name their files through it
  std::mutex mutex_;   ///< claimed_ and the purge time (done() runs on other threads)
  std::map<std::string, Seen> claimed_;
  std::chrono::steady_clock::time_point nextPurge_{};
};

}  // namespace renkei::connectors
