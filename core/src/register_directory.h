// The host's directory of registers plugins offer one another
// (renkei/registers.h): one per config, shared by its instances.
#pragma once

#include <map>
#include <mutex>

#include "renkei/registers.h"

namespace renkei {

class HostRegisterDirectory final : public RegisterDirectory {
 public:
  void offer(const std::string& entity, std::shared_ptr<RegisterLookup> lookup) override {
    if (entity.empty() || !lookup) throw std::invalid_argument("offer: an entity name and a look-up");
    std::lock_guard<std::mutex> lock(mutex_);
    if (!lookups_.emplace(entity, std::move(lookup)).second)
      throw std::invalid_argument("another instance offers the register '" + entity +
                                  "' already: one instance per entity in a config");
  }
  std::shared_ptr<RegisterLookup> find(const std::string& entity) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = lookups_.find(entity);
    return it == lookups_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RegisterLookup>> lookups_;
};

}  // namespace renkei
