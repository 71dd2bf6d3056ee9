// What the host offers each plugin instance (the SDK's HostServices): its
// state in the store, opened on first use, and the API registry.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "register_directory.h"
#include "renkei/connector.h"
#include "renkei/state.h"
#include "store/store.h"

namespace renkei {

/// One audit line in the `renkei.access` log, the one format for the API
/// server and the modules: `client=… address=… call=… [record=…]
/// [key=name:****123] [fields=a,b] result`. `warning`: a refused call.
void writeAudit(const AuditEntry& entry, bool warning = false);
/// A key as the audit trail shows it: its last three characters, the rest masked.
std::string maskKey(const std::string& key);

class InstanceServices final : public HostServices {
 public:
  using Emit = std::function<Outcome(const std::string& emitter, const Emission&)>;
  /// `emit` null: emit() refuses (renkei check's validation mode, where
  /// state() throws as well).
  InstanceServices(store::StoreConfig config, std::string instanceId, ApiRegistry* api,
                   std::filesystem::path spool, Emit emit, std::unique_ptr<MetricsScope> metrics,
                   bool validating = false)
      : config_(std::move(config)),
        instanceId_(std::move(instanceId)),
        api_(api),
        spool_(std::move(spool)),
        emit_(std::move(emit)),
        metrics_(std::move(metrics)),
        validating_(validating) {}
  /// An operator command (renkei <plugin> <action>): the instance was
  /// configured in validation mode; its state in the store opens now.
  void openForOperator() { validating_ = false; }

  StateStore& state() override;
  ApiRegistry* api() override { return api_; }
  AdminRegistry* admin() override { return admin_ ? admin_.get() : &discarded_; }
  /// The host's pages for this instance (AdminPages::forInstance); without
  /// it, pages are taken and not served.
  void setAdmin(std::unique_ptr<AdminRegistry> admin) { admin_ = std::move(admin); }
  const calendar::Calendar* calendar() const override { return calendar_.get(); }
  /// The config's calendar (HostConfig::calendar), shared by the instances.
  void setCalendar(std::shared_ptr<const calendar::Calendar> calendar) { calendar_ = std::move(calendar); }
  RegisterDirectory& registers() override { return *registers_; }
  /// The config's directory, shared by its instances (each has its own until set).
  void setRegisters(std::shared_ptr<RegisterDirectory> registers) { registers_ = std::move(registers); }
  AssistantDirectory& assistants() override { return *assistants_; }
  /// The config's assistants, shared like its registers.
  void setAssistants(std::shared_ptr<AssistantDirectory> assistants) { assistants_ = std::move(assistants); }
  Outcome emit(const Emission& emission) override;
  MetricsScope& metrics() override { return *metrics_; }
  void audit(const AuditEntry& entry) override { writeAudit(entry); }
  std::int64_t nowMs() override;
  std::int64_t utcOffsetMinutes(std::int64_t ms) const override;
  bool recordRefusal(const std::string& item, const std::string& reason) override;
  bool looksLikeIdentifier(std::string_view value) const override;
  std::optional<std::string> readRecords(const std::filesystem::path& layout, const std::filesystem::path& file,
                                         const std::vector<std::string>& fields,
                                         const std::function<void(const Record&)>& each,
                                         ReadTotals& totals, std::string* sha256) override;

 private:
  std::shared_ptr<RegisterDirectory> registers_ = std::make_shared<HostRegisterDirectory>();
  std::shared_ptr<AssistantDirectory> assistants_ = std::make_shared<HostAssistantDirectory>();
  store::StoreConfig config_;
  std::string instanceId_;
  ApiRegistry* api_;
  std::filesystem::path spool_;  ///< readRecords copies files here first
  Emit emit_;
  std::unique_ptr<MetricsScope> metrics_;
  bool validating_ = false;
  std::mutex mutex_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<store::Store> refusals_;  ///< opened on the first refusal
  std::unique_ptr<AdminRegistry> admin_;
  std::shared_ptr<const calendar::Calendar> calendar_;
  /// Pages of an instance with no listener to serve them (renkei check).
  struct Discarded final : AdminRegistry {
    void addHandler(const std::string&, const std::string&, const std::string&, AdminHandler) override {}
  } discarded_;
};

}  // namespace renkei
