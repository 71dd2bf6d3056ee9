// The plugins' state in the host's store: the SDK's StateStore over the same
// SqlDatabase drivers as the pipeline (SQLite or PostgreSQL).
#pragma once

#include <functional>
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

/// Runs `work` with a StateSession over `db`, inside the caller's open
/// transaction (a unit commit: the emitter's state with its records).
void withStateSession(store::SqlDatabase& db, const std::function<void(StateSession&)>& work);

}  // namespace renkei
