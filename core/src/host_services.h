// What the host offers each plugin instance (the SDK's HostServices): its
// state in the store, opened on first use, and the API registry.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "renkei/connector.h"
#include "renkei/state.h"
#include "store/store.h"

namespace renkei {

class InstanceServices final : public HostServices {
 public:
  InstanceServices(store::StoreConfig config, std::string instanceId, ApiRegistry* api,
                   std::filesystem::path spool)
      : config_(std::move(config)), instanceId_(std::move(instanceId)), api_(api), spool_(std::move(spool)) {}

  StateStore& state() override;
  ApiRegistry* api() override { return api_; }
  std::optional<std::string> readRecords(const std::filesystem::path& layout, const std::filesystem::path& file,
                                         const std::vector<std::string>& fields,
                                         const std::function<void(const Record&)>& each,
                                         ReadTotals& totals, std::string* sha256) override;

 private:
  store::StoreConfig config_;
  std::string instanceId_;
  ApiRegistry* api_;
  std::filesystem::path spool_;  ///< readRecords copies files here first
  std::mutex mutex_;
  std::unique_ptr<StateStore> state_;
};

}  // namespace renkei
