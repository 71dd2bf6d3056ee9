#include "host_services.h"

#include "state_store.h"

namespace renkei {

StateStore& InstanceServices::state() {
  std::lock_guard lock(mutex_);
  if (!state_) state_ = openStateStore(config_, instanceId_);
  return *state_;
}

}  // namespace renkei
