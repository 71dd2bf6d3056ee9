// The file transport (the file connector): a drop folder as a source (in/ → processing/ → done/ | error/,
// drop_folder.h) and as a sink (tmp/ → out/).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <mutex>
#include <string>
#include <vector>

#include "drop_folder.h"
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
  /// Writes `content` to dir/name through tmp/ and a rename, flushed first.
  Outcome writeAtomically(const std::string& sub, const std::string& name, std::string_view content);

  std::unique_ptr<DropFolder> drop_;  ///< in/ → processing/ → done/ | error/ (the toolkit's drop folder)
  bool fsync_ = true;
  bool keepDone_ = true;
  /// How long done/ keeps a file (0: until removed by hand); keep-done-for,
  /// or 7 days for files holding a class the zone does not hold.
  std::chrono::milliseconds keepDoneFor_{0};
  bool keepDoneForSet_ = false;
  std::string zone_;
  HostServices* services_ = nullptr;
  std::shared_ptr<const formats::Layout> csv_;  ///< format=csv: the layout written
  bool quoteFormulas_ = false;                  ///< formula-cells=quote
  bool validating_ = false;
  Poco::Logger* logger_ = nullptr;
  std::string id_;
};

}  // namespace renkei::connectors::file
