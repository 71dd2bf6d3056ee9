// The plugins' state in the host's store: the SDK's StateStore over the same
// SqlDatabase drivers as the pipeline (SQLite or PostgreSQL).
#pragma once

#include <memory>
#include <string>

#include "renkei/state.h"
#include "store/store.h"

namespace renkei {

/// Opens the state of plugin instance `instanceId`: one write connection, and
/// for reads a connection per reading thread (SQLite) or a pool of up to
/// `readers` (at most 8) connections (PostgreSQL). Throws StateError.
std::unique_ptr<StateStore> openStateStore(const store::StoreConfig& config, const std::string& instanceId,
                                           std::size_t readers = 64);

}  // namespace renkei
