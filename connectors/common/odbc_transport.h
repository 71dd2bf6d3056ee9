// The odbc connector: any ODBC data source as a polling source (rows newer
// than a watermark), an upsert sink and a parameterised lookup.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "odbc_statement.h"
#include "renkei/sdk.h"

namespace renkei::connectors::odbc {

/// The keys this connector declares (odbc_transport.cpp), for connectors
/// that use it as their transport.
extern const renkei_config_key kKeys[];
extern const std::size_t kKeyCount;

class OdbcConnector : public Connector, public Source, public Sink, public Lookup {
 public:
  void configure(const Settings& settings, const HostContext& context) override;

  // Roles follow the settings: a query makes a source, a table a sink, a
  // lookup-query a lookup.
  Source* source() override { return query_.empty() ? nullptr : this; }
  Sink* sink() override { return table_.empty() ? nullptr : this; }
  Lookup* lookup() override { return lookupQuery_.empty() ? nullptr : this; }

  // Source: each poll's rows become one JSON Lines file in the spool folder
  // (<spool>/processing/), read by the route's layout like any file; the
  // watermark moves only when the host has finished with that file.
  std::vector<Intake> recover() override;
  std::optional<Intake> claim() override;
  Outcome finish(const Intake& item, Disposition disposition, const std::string& reason) override;
  Outcome writeRejects(const Intake& item, const std::string& jsonl) override;

  // Sink: one transaction per batch, upsert on the key columns.
  Outcome deliver(const Batch& batch) override;

  // Lookup: the lookup-query with `key` as its one parameter.
  Outcome lookup(const std::string& keyName, const std::string& key, std::vector<Record>& out) override;

  /// The watermark the next poll starts after.
  std::string watermark() const;
  /// After a poll that found nothing: whether the view's watermark went
  /// below `kept` (watermark-check-query), and then hold or rescan.
  void checkWatermark(const std::string& kept);

 private:
  OdbcConnection& connection();
  void dropConnection() { connection_.reset(); }
  Outcome failure(const OdbcError& e, const char* what);
  void writeFileAtomically(const std::filesystem::path& path, const std::string& content);

  std::string id_;
  Poco::Logger* logger_ = nullptr;
  std::string connectionString_;
  std::string password_;  ///< from the `password` secret (never logged)
  std::filesystem::path passwordFile_;
  std::string passwordEnv_;
  std::unique_ptr<OdbcConnection> connection_;
  // source
  std::string query_;
  std::string watermarkColumn_;
  std::string initialWatermark_;
  std::chrono::milliseconds interval_{60000};
  std::int64_t maxRows_ = 50000;
  std::filesystem::path spool_;
  std::chrono::steady_clock::time_point lastPoll_{};
  bool polledOnce_ = false;
  std::string checkQuery_;
  bool rescanBackwards_ = false;
  bool holding_ = false;  ///< the watermark went backwards (hold): no poll until the watermark kept is reset
  std::string heldAt_;
  HostServices* services_ = nullptr;
  // sink
  std::string table_;
  std::vector<std::string> keyColumns_;
  bool deleteInsert_ = false;
  bool emptyAsNull_ = true;
  // lookup
  std::string lookupQuery_;
};

}  // namespace renkei::connectors::odbc
