// The engine seam's mapping step: record sets an instance emits (or derives
// from an intake item) become batches for every route that takes their
// record type, through the route's mapping.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Poco/Logger.h>

#include "pipeline/routes.h"
#include "renkei/connector.h"
#include "store/store.h"

namespace renkei::pipeline {

struct SetCounts {
  std::uint64_t accepted = 0;  ///< records in batches (per route taking them)
  std::uint64_t rejected = 0;  ///< records a route's mapping rejected (held, logged by reason)
  std::uint64_t unrouted = 0;  ///< records of a type no route takes
  /// What to keep: rejected records always; records no route takes when
  /// `holdUnrouted` (an emission's; a file source's derived sets are offered,
  /// and a type no route takes is only counted).
  bool holdUnrouted = true;
  std::vector<store::HeldRecord> held;
};

/// Batches of `sets` from `emitter` for each route in `routes` that takes
/// them (`route.emitter`, `route.recordType`); ids from `itemName`, `sha`
/// and the route, so the same unit yields the same ids. Batches close at
/// `batchRecords` records. Mapping rejects are held (counts.held: the
/// record with its reasons, for the unit's commit) and logged by reason
/// (field names only).
std::vector<store::RoutedBatches> batchesForSets(std::vector<Route>& routes, const std::string& emitter,
                                                 const std::string& itemName, const std::string& sha,
                                                 const std::vector<RecordSet>& sets, std::size_t batchRecords,
                                                 SetCounts& counts, Poco::Logger& logger);
/// The same for one set, appended to `out` (sequence numbers go on after
/// the batches `out` already holds for a route), so a caller can free each
/// set's records once it is mapped.
void appendBatchesForSet(std::vector<Route>& routes, const std::string& emitter, const std::string& itemName,
                         const std::string& sha, const RecordSet& set, std::size_t batchRecords, SetCounts& counts,
                         Poco::Logger& logger, std::vector<store::RoutedBatches>& out,
                         std::int64_t generation = 0, const std::string& onlyRoute = {});

/// Why an emission cannot be taken at all (empty key, a key over 200 bytes,
/// a record type with other characters than [a-z0-9._-], a record with
/// another number of values than names), or "".
std::string checkEmission(const Emission& emission);

}  // namespace renkei::pipeline
