// The host's directories of what plugins offer one another: registers
// (renkei/registers.h) and assistants (renkei/assistant.h). One of each per
// config, shared by its instances.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "renkei/assistant.h"
#include "renkei/registers.h"

namespace renkei {

/// Names → what an instance offers under them; a name offered twice is refused.
template <class Offered>
class NamedOffers {
 public:
  void offer(const std::string& name, std::shared_ptr<Offered> offered, const char* what) {
    if (name.empty() || !offered) throw std::invalid_argument(std::string("offer: a name and a ") + what);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!offers_.emplace(name, std::move(offered)).second)
      throw std::invalid_argument("another instance offers the " + std::string(what) + " '" + name +
                                  "' already: one instance per name in a config");
  }
  std::shared_ptr<Offered> find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = offers_.find(name);
    return it == offers_.end() ? nullptr : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Offered>> offers_;
};

class HostRegisterDirectory final : public RegisterDirectory {
 public:
  void offer(const std::string& entity, std::shared_ptr<RegisterLookup> lookup) override {
    offers_.offer(entity, std::move(lookup), "register");
  }
  std::shared_ptr<RegisterLookup> find(const std::string& entity) const override { return offers_.find(entity); }

 private:
  NamedOffers<RegisterLookup> offers_;
};

class HostAssistantDirectory final : public AssistantDirectory {
 public:
  void offer(const std::string& id, std::shared_ptr<Assistant> assistant) override {
    offers_.offer(id, std::move(assistant), "assistant");
  }
  std::shared_ptr<Assistant> find(const std::string& id) const override { return offers_.find(id); }

 private:
  NamedOffers<Assistant> offers_;
};

}  // namespace renkei
