// The file connector: drop folders as a source (in/ → processing/ → done/ | error/)
// and as a sink (tmp/ → out/).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "renkei/sdk.h"

namespace renkei::connectors::file {

/// The keys this connector declares (in file_plugin.cpp), for connectors
/// that use it as their transport.
extern const renkei_config_key kKeys[];
extern const std::size_t kKeyCount;

class FileConnector : public Connector, public Source, public Sink {
 public:
  void configure(const Settings& settings, const HostContext& context) override;

  Source* source() override { return this; }
  Sink* sink() override { return this; }

  // Source
  std::vector<Intake> recover() override;
  std::optional<Intake> claim() override;
  Outcome finish(const Intake& item, Disposition disposition, const std::string& reason) override;
  Outcome writeRejects(const Intake& item, const std::string& jsonl) override;

  // Sink
  Outcome deliver(const Batch& batch) override;
  bool needsRecords() const override { return false; }

 private:
  bool wanted(const std::filesystem::directory_entry& entry) const;
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
  std::mutex claimedMutex_;
  std::map<std::string, Seen> claimed_;
  std::uint64_t maxFileSize_ = 0;
  bool createDirectories_ = true;
  bool fsync_ = true;
  Poco::Logger* logger_ = nullptr;
  std::string id_;
};

}  // namespace renkei::connectors::file
