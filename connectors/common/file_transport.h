// The file transport (the file connector): drop folders as a source (in/ → processing/ → done/ | error/)
// and as a sink (tmp/ → out/).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <vector>

#include "renkei/support/layout.h"
#include "renkei/sdk.h"

namespace renkei::connectors::file {

/// The keys this connector declares (file_transport.cpp), for connectors
/// that use it as their transport.
extern const renkei_config_key kKeys[];
extern const std::size_t kKeyCount;

/// A batch as CSV through `layout` (format=csv): columns in the layout's
/// order, encoded in its encoding, quoted where needed, a header row unless
/// header="false". Returns why it cannot be written (a character the
/// encoding lacks, named by field and code point), nothing written then.
std::optional<std::string> writeCsv(const formats::Layout& layout, const Batch& batch, std::string& out,
                                    bool quoteFormulas = false);

class FileConnector : public Connector, public Source, public Sink {
 public:
  void configure(const Settings& settings, const HostContext& context) override;
  /// Removes what a writer killed mid-write left in tmp/ (its temporaries
  /// hold records: names, addresses).
  void start() override;

  Source* source() override { return this; }
  Sink* sink() override { return this; }

  // Source
  std::vector<Intake> recover() override;
  std::optional<Intake> claim() override;
  Outcome finish(const Intake& item, Disposition disposition, const std::string& reason) override;
  Outcome writeRejects(const Intake& item, const std::string& jsonl) override;
  Outcome writeWarnings(const Intake& item, const std::string& jsonl) override;
  Outcome requeue(const std::string& name, const std::string& sha256) override;
  bool keepsItems() const override { return keepDone_; }
  std::string itemsHold(const std::string& sensitive) override;

  // Sink
  Outcome deliver(const Batch& batch) override;
  bool needsRecords() const override { return csv_ != nullptr; }

 private:
  bool wanted(const std::string& name) const;
  /// True when a process holds in/`name` open for writing (a read lease
  /// cannot be taken); false when not, or when leases cannot be used here
  /// (said once: settle and min-age decide then).
  bool heldOpenForWriting(int folder, const std::string& name);
  enum class Leases { Unknown, Available, Unavailable };
  Leases leases_ = Leases::Unknown;
  std::string trigger_;              ///< trigger suffix (.end), or ""
  std::set<std::string> heldNoted_;  ///< files said to be open for writing (said once each)

  /// An exchange sub-folder held open (O_DIRECTORY | O_NOFOLLOW): entries are
  /// renamed and read through it, so the folder cannot be swapped for a link
  /// between a check and a use.
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
    /// A path to `name` in this folder that goes through the descriptor
    /// (/proc/self/fd/N/name): valid while this Folder is open.
    std::filesystem::path entry(const std::string& name) const;

   private:
    int fd_ = -1;
  };
  /// Opens <directory>/<name> without following a link (creating it when
  /// `create` and create-directories allow); without `create` a missing
  /// folder is an invalid Folder. Throws naming the folder otherwise.
  Folder openFolder(const char* name, bool create) const;
  void ensureDirectory(const std::filesystem::path& dir) const;
  /// Writes `content` to dir/name through tmp/ and a rename, flushed first.
  Outcome writeAtomically(const std::filesystem::path& dir, const std::string& name, std::string_view content);

  std::filesystem::path directory_;
  std::vector<std::string> patterns_;
  std::vector<std::string> ignore_;
  std::chrono::milliseconds minAge_{0};
  std::chrono::milliseconds settle_{1000};
  /// What each claimed file looked like when claimed, to see a change
  /// after it was read.
  struct Seen {
    ino_t ino = 0;
    off_t size = 0;
    std::int64_t mtimeNs = 0;
  };
  /// processing/, held from recover() or claim() until the next one: the
  /// items handed to the host name their files through it.
  Folder processing_;
  std::mutex claimedMutex_;
  std::map<std::string, Seen> claimed_;
  std::uint64_t maxFileSize_ = 0;
  bool createDirectories_ = true;
  bool fsync_ = true;
  bool keepDone_ = true;
  /// How long done/ keeps a file (0: until removed by hand); keep-done-for,
  /// or 7 days for files holding a class the zone does not hold.
  std::chrono::milliseconds keepDoneFor_{0};
  bool keepDoneForSet_ = false;
  std::string zone_;
  HostServices* services_ = nullptr;
  /// An item refused before it is handed over (a link, over max-file-size):
  /// to error/ with the reason, and recorded as refused in the store.
  void refuse(const Intake& item, const std::string& reason);
  std::chrono::steady_clock::time_point nextPurge_{};
  /// Removes files in done/ taken in longer ago than keepDoneFor_ (at most
  /// every ten minutes; from the intake thread).
  void purgeDone();
  std::shared_ptr<const formats::Layout> csv_;  ///< format=csv: the layout written
  bool quoteFormulas_ = false;                  ///< formula-cells=quote
  bool validating_ = false;
  Poco::Logger* logger_ = nullptr;
  std::string id_;
};

}  // namespace renkei::connectors::file
