// An in-process plugin harness: loads one plugin library (.so) as the host
// does (its info, its key table, its POCO manifest), configures one instance
// with a recording HostServices, and lets a test feed it (a module's
// accept(), a connector's roles) and read what it emitted, audited, refused
// and counted — no process, no port, no config file. The way MiNiFi's test
// controller runs one processor.
//
// What is real: the plugin library, the host's key checking and defaults,
// the instance's state in a real store (SQLite in a temporary folder, or the
// PostgreSQL of RENKEI_TEST_STORE=postgresql), the host's file readers
// (readRecords) and identifier scan. What is recorded instead of done:
// emissions (their state step still runs in the instance's store, once per
// key, as the seam does), audit lines, refusals, metrics. The clock is the
// test's (moveTo, advance). Tests that need the real host — SIGKILL, TLS,
// routes, the pipeline — keep spawning `renkei serve`.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "renkei/connector.h"
#include "test_support.h"

namespace renkei {
class PluginRegistry;
class InstanceServices;
}  // namespace renkei

namespace renkei::test {

/// HostServices that records what a plugin hands the host.
class RecordingHost final : public HostServices {
 public:
  RecordingHost(const std::filesystem::path& work, const std::string& instanceId);
  ~RecordingHost() override;

  StateStore& state() override;
  ApiRegistry* api() override { return nullptr; }
  /// Pages are kept; a test calls them with page(path).
  AdminRegistry* admin() override { return &pages_; }
  std::optional<std::string> readRecords(const std::filesystem::path& layout, const std::filesystem::path& file,
                                         const std::vector<std::string>& fields,
                                         const std::function<void(const Record&)>& each, ReadTotals& totals,
                                         std::string* sha256) override;
  /// The seam's contract: a key seen before is Ok without running; else the
  /// emission's state step runs in one transaction of the instance's store
  /// (a throw → Retry) and its sets are recorded. `refuseEmits` answers Retry
  /// without running (back-pressure).
  Outcome emit(const Emission& emission) override;
  MetricsScope& metrics() override;
  void audit(const AuditEntry& entry) override;
  bool recordRefusal(const std::string& item, const std::string& reason) override;
  std::int64_t nowMs() override { return now_.load(); }
  std::int64_t utcOffsetMinutes(std::int64_t) const override { return offsetMinutes_; }
  const calendar::Calendar* calendar() const override { return calendar_.get(); }
  bool looksLikeIdentifier(std::string_view value) const override;
  /// Its own directory: a test offers what another plugin would.
  RegisterDirectory& registers() override;
  AssistantDirectory& assistants() override;

  // What the test reads and moves.
  void moveTo(std::int64_t ms) { now_ = ms; }
  void advance(std::int64_t ms) { now_ += ms; }
  void setUtcOffsetMinutes(std::int64_t minutes) { offsetMinutes_ = minutes; }
  /// The instance's calendar, as the config's <calendar file="…"/> gives it.
  void setCalendar(std::shared_ptr<const calendar::Calendar> c) { calendar_ = std::move(c); }
  std::atomic<bool> refuseEmits{false};
  /// Every record emitted (after its emission committed) of `recordType`.
  std::vector<Record> emitted(const std::string& recordType) const;
  std::size_t emissions() const;
  std::vector<AuditEntry> audits() const;
  std::vector<std::pair<std::string, std::string>> refusals() const;
  /// The page the instance added at `path` (its help and permission in
  /// pageInfo); throws std::out_of_range when there is none.
  AdminResponse page(const std::string& path, const std::map<std::string, std::string>& query = {}) const;
  std::pair<std::string, std::string> pageInfo(const std::string& path) const;  ///< help, permission
  /// A counter's or gauge's value (0 when never touched); labels as given.
  double metric(const std::string& name, const MetricLabels& labels = {}) const;

 private:
  class Metrics;
  struct Pages final : AdminRegistry {
    struct Page {
      std::string help, permission;
      AdminHandler handler;
    };
    std::map<std::string, Page> pages;
    void addHandler(const std::string& path, const std::string& help, const std::string& permission,
                    AdminHandler handler) override {
      if (!pages.emplace(path, Page{help, permission, std::move(handler)}).second)
        throw std::invalid_argument("admin page '" + path + "' added twice");
    }
  } pages_;
  mutable std::mutex mutex_;
  std::unique_ptr<InstanceServices> inner_;  ///< the host's own state, readers and scan
  std::unique_ptr<Metrics> metrics_;
  std::atomic<std::int64_t> now_{1'798'761'600'000};  ///< 2027-01-01T00:00:00Z until moved
  std::int64_t offsetMinutes_ = 9 * 60;
  std::shared_ptr<const calendar::Calendar> calendar_;
  std::set<std::string> keys_;
  std::vector<RecordSet> sets_;
  std::size_t emissions_ = 0;
  std::vector<AuditEntry> audits_;
  std::vector<std::pair<std::string, std::string>> refusals_;
};

/// One plugin instance in this process.
class PluginHarness {
 public:
  /// Loads renkei_<key>.so from `directory` (default: RENKEI_PLUGIN_DIR).
  /// `zone`: the instance's zone.
  explicit PluginHarness(const std::string& key, const std::string& zone = "lgwan", const std::string& id = "under-test",
                         const std::filesystem::path& directory = {});
  ~PluginHarness();
  PluginHarness(const PluginHarness&) = delete;
  PluginHarness& operator=(const PluginHarness&) = delete;

  /// A setting as the config file would give it (text, checked against the
  /// plugin's key table by the host's own rules when configure() runs).
  PluginHarness& set(const std::string& key, const std::string& value);
  /// Checks the keys (unknown, missing, badly typed: std::runtime_error with
  /// the host's message), adds defaults, configures the instance. Paths are
  /// resolved against `dir()`.
  void configure(bool validating = false);
  void start();
  void stop();

  Connector& connector();
  Module& module();
  RecordingHost& host() { return *host_; }
  /// The instance's folder (the "config folder": relative paths resolve here).
  const std::filesystem::path& dir() const { return dir_.path(); }
  /// A batch of records of `recordType` with `fields`, for a module's accept().
  static Batch batch(const std::string& recordType, const std::vector<std::string>& fields,
                     const std::vector<std::vector<std::string>>& rows, const std::string& id = "batch-1");

 private:
  TempDir dir_;
  std::string key_, zone_, id_;
  std::unique_ptr<PluginRegistry> registry_;
  std::unique_ptr<RecordingHost> host_;
  std::vector<std::pair<std::string, std::string>> texts_;
  Settings settings_;
  HostContext context_;
  std::unique_ptr<Connector> connector_;
  std::unique_ptr<Module> module_;
  bool started_ = false;
};

}  // namespace renkei::test
