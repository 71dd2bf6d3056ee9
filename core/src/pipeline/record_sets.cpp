// Record sets → batches for the routes that take them.
#include "pipeline/record_sets.h"

#include <map>

#include "renkei/support/diagnostics.h"
#include "formats/reader.h"
#include "mapping/mapping.h"
#include "pipeline/batch_format.h"
#include "renkei/json.h"
#include "renkei/text.h"

namespace renkei::pipeline {
namespace {

constexpr std::size_t kMaxKeyBytes = 200;

/// Puts a record's values where the mapping's layout expects them, by field
/// name (found once per FieldNames); a layout field the record lacks is "".
class ByName {
 public:
  explicit ByName(const formats::Layout& layout) : layout_(layout) {}
  void fill(const Record& record, std::uint64_t number, formats::RawRecord& raw) {
    if (record.names().get() != names_) {
      names_ = record.names().get();
      index_.assign(layout_.fields.size(), -1);
      for (std::size_t i = 0; i < layout_.fields.size(); ++i)
        for (std::size_t j = 0; j < record.size(); ++j)
          if (record.name(j) == layout_.fields[i].name) index_[i] = static_cast<int>(j);
    }
    raw.reset(layout_.fields.size());
    raw.number = number;
    for (std::size_t i = 0; i < index_.size(); ++i)
      if (index_[i] >= 0) raw.setValue(i, record.value(static_cast<std::size_t>(index_[i])));
  }

 private:
  const formats::Layout& layout_;
  const FieldNames* names_ = nullptr;
  std::vector<int> index_;
};

/// A record kept for an operator: its names and values as JSON arrays,
/// the values sealed to the receiving zone where the route seals at rest.
store::HeldRecord heldRecord(const Route* route, const std::string& recordType, const Record& record,
                             std::int64_t number, std::string reasons) {
  store::HeldRecord h;
  h.route = route ? route->config->id : std::string();
  h.recordType = recordType;
  h.number = number;
  h.reasons = std::move(reasons);
  h.fields = record.names() ? fieldsJson(*record.names()) : "[]";
  std::string values = "[";
  for (std::size_t i = 0; i < record.size(); ++i) {
    if (i) values += ',';
    appendJsonString(values, record.value(i));
  }
  values += ']';
  h.record = route && route->sealTo ? sealAtRest(*route->sealTo, "held:" + h.route, values) : std::move(values);
  return h;
}

}  // namespace

std::string checkEmission(const Emission& emission) {
  if (emission.key.empty()) return "the emission has no key";
  if (emission.key.size() > kMaxKeyBytes)
    return "the emission's key is " + std::to_string(emission.key.size()) + " bytes; at most " +
           std::to_string(kMaxKeyBytes);
  for (const RecordSet& set : emission.sets) {
    if (set.recordType.empty()) return "a record set has no record type";
    for (char c : set.recordType)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        return "record type '" + printable(set.recordType) + "': use a-z, 0-9, '.', '_' and '-'";
    std::size_t number = 0;
    for (const Record& r : set.records) {
      ++number;
      if (!r.names()) return "record type '" + set.recordType + "': a record without field names";
      std::size_t bytes = 0;
      for (std::size_t i = 0; i < r.size(); ++i) {
        bytes += r.value(i).size();
        // Values are text: a NUL is refused as in every file format (fields
        // named, never the value).
        if (r.value(i).find('\0') != std::string::npos)
          return "record type '" + set.recordType + "', record " + std::to_string(number) + ": field '" +
                 printable(r.name(i)) + "' holds a NUL character";
      }
      if (bytes > kMaxRecordBytes)
        return "record type '" + set.recordType + "', record " + std::to_string(number) + " is " +
               std::to_string(bytes) + " bytes; a record may be at most " + std::to_string(kMaxRecordBytes >> 20) +
               " MiB";
    }
  }
  return {};
}

std::vector<store::RoutedBatches> batchesForSets(std::vector<Route>& routes, const std::string& emitter,
                                                 const std::string& itemName, const std::string& sha,
                                                 const std::vector<RecordSet>& sets, std::size_t batchRecords,
                                                 SetCounts& counts, Poco::Logger& logger) {
  std::vector<store::RoutedBatches> out;
  for (const RecordSet& set : sets)
    appendBatchesForSet(routes, emitter, itemName, sha, set, batchRecords, counts, logger, out);
  return out;
}

void appendBatchesForSet(std::vector<Route>& routes, const std::string& emitter, const std::string& itemName,
                         const std::string& sha, const RecordSet& set, std::size_t batchRecords, SetCounts& counts,
                         Poco::Logger& logger, std::vector<store::RoutedBatches>& out,
                         std::int64_t generation, const std::string& onlyRoute) {
  {
    bool taken = false;
    for (Route& route : routes) {
      if (route.source || route.emitter != emitter || route.recordType != set.recordType) continue;
      if (!onlyRoute.empty() && route.config->id != onlyRoute) continue;
      taken = true;
      const std::string& routeId = route.config->id;
      store::RoutedBatches group;
      group.targets = route.targetIds;
      std::string buffer;
      store::BatchRow batch;
      std::size_t sequence = 0;
      // One record type may reach a route from several sets of a unit: the
      // sequence goes on across them (ids stay unique and deterministic).
      for (const auto& g : out)
        if (!g.batches.empty() && g.batches.front().route == routeId) sequence += g.batches.size();
      std::string names;  // the batch's fields (a set without a mapping keeps its own names)
      auto close = [&] {
        if (batch.records == 0) return;
        batch.id = batchId(routeId, itemName, sha, sequence, generation);
        batch.route = routeId;
        batch.fileSha = sha;
        batch.sourceItem = itemName;
        batch.sequence = static_cast<std::int64_t>(sequence++);
        batch.fields = route.names ? route.fieldsJson : names;
        batch.payload = route.sealTo ? sealAtRest(*route.sealTo, batch.id, buffer) : std::move(buffer);
        batch.recordType = route.batchRecordType.empty() ? set.recordType : route.batchRecordType;
        batch.zone = route.zone;
        buffer.clear();
        group.batches.push_back(std::move(batch));
        batch = store::BatchRow();
      };
      auto add = [&](std::int64_t number) {
        if (batch.records == 0) batch.firstRecord = number;
        batch.lastRecord = number;
        ++batch.records;
        ++counts.accepted;
        if (static_cast<std::size_t>(batch.records) >= batchRecords || buffer.size() >= kMaxBatchBytes) close();
      };
      const mapping::Mapping* m = route.config->mapping.get();
      std::int64_t number = 0;
      if (m) {
        mapping::MapRun run(*m);
        ByName byName(*m->layout);
        formats::RawRecord raw;
        const formats::JsonLinesWriter writer = formats::JsonLinesWriter::arrays(m->targetNames().size());
        formats::ByteArena arena;
        std::map<std::string, std::uint64_t> reasons;
        for (const Record& record : set.records) {
          byName.fill(record, static_cast<std::uint64_t>(++number), raw);
          const mapping::Verdict verdict = run.step(raw);
          // The rejects lines MapRun gathers are not kept for emitted
          // records (counted and logged by reason instead): dropped at once,
          // so a set of rejected records does not grow memory.
          run.rejects().clear();
          if (verdict != mapping::Verdict::Accepted) {
            if (run.record().verdict == mapping::Verdict::Rejected) {
              ++counts.rejected;
              for (const std::string& reason : run.record().reasons) ++reasons[reason];
              counts.held.push_back(heldRecord(&route, set.recordType, record, number,
                                               joinList(run.record().reasons, "; ")));
            }
            continue;
          }
          arena.clear();
          writer.append(arena, run.record().values);
          buffer.append(arena.data(), arena.size());
          add(number);
        }
        for (const auto& [reason, n] : reasons)
          logger.warning("route %s: %s record(s) of '%s' from %s rejected by the mapping: %s", routeId,
                         std::to_string(n), set.recordType, emitter, reason);
      } else {
        const FieldNames* current = nullptr;
        for (const Record& record : set.records) {
          if (record.names().get() != current) {
            // Names change within a set: a new batch carries the new names.
            close();
            current = record.names().get();
            names = fieldsJson(*current);
          }
          buffer += '[';
          for (std::size_t i = 0; i < record.size(); ++i) {
            if (i) buffer += ',';
            appendJsonString(buffer, record.value(i));
          }
          buffer += "]\n";
          add(++number);
        }
      }
      close();
      if (!group.batches.empty()) out.push_back(std::move(group));
    }
    if (!taken) {
      counts.unrouted += set.records.size();
      if (counts.holdUnrouted) {
        std::int64_t number = 0;
        const std::string why = "unrouted: no route takes record type '" + set.recordType + "' from " + emitter;
        for (const Record& record : set.records) counts.held.push_back(heldRecord(nullptr, set.recordType, record, ++number, why));
        logger.warning("%s record(s) of type '%s' from %s: no route takes them; held (renkei status, renkei held)",
                       std::to_string(set.records.size()), set.recordType, emitter);
      }
    }
  }
}

}  // namespace renkei::pipeline
