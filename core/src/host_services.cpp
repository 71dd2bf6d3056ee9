#include "host_services.h"

#include "audit_trail.h"

#include <ctime>

#include "mapped_file.h"
#include "renkei/text.h"
#include <Poco/Logger.h>

#include "renkei/support/diagnostics.h"
#include "renkei/support/layout.h"
#include "formats/reader.h"
#include "mapping/transforms.h"
#include "state_store.h"

namespace renkei {

std::string maskKey(const std::string& key) {
  // Whole UTF-8 characters: one '*' for each but the last three, which stay;
  // a key of three characters or fewer is all stars.
  std::size_t chars = 0;
  for (char c : key)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars;
  if (chars <= 3) return std::string(chars, '*');
  std::size_t keep = key.size(), kept = 0;
  while (keep > 0 && kept < 3) {
    --keep;
    if ((static_cast<unsigned char>(key[keep]) & 0xC0) != 0x80) ++kept;
  }
  return std::string(chars - 3, '*') + printable(key.substr(keep));
}

void writeAudit(const AuditEntry& e, bool warning) {
  static Poco::Logger& log = Poco::Logger::get("renkei.access");
  std::string line = "client=" + printable(e.who);
  if (!e.address.empty()) line += " address=" + printable(e.address);
  line += " call=" + printable(e.action);
  if (!e.recordType.empty()) line += " record=" + printable(e.recordType);
  if (!e.keyName.empty()) line += " key=" + printable(e.keyName) + ":" + maskKey(e.key);
  if (!e.fields.empty()) {
    line += " fields=";
    for (std::size_t i = 0; i < e.fields.size(); ++i) line += (i ? "," : "") + printable(e.fields[i]);
  }
  if (!e.result.empty()) line += " " + printable(e.result);
  if (warning) log.warning(line);
  else log.information(line);
  // With <audit>: kept in the sealed trail before the call answers (throws
  // when it cannot be: no access without its record).
  if (audit::Trail* trail = audit::installed()) trail->append(audit::fromAudit(e, store::nowMs()));
}

Outcome InstanceServices::emit(const Emission& emission) {
  if (!emit_) return Outcome::error("emit: not available while validating (renkei check)");
  return emit_(instanceId_, emission);
}

std::int64_t InstanceServices::nowMs() { return store::nowMs(); }

// The process's zone is the config's time-zone (useTimeZone, before any
// thread starts), so localtime_r answers for the instance.
std::int64_t InstanceServices::utcOffsetMinutes(std::int64_t ms) const {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm.tm_gmtoff / 60;
}

bool InstanceServices::recordRefusal(const std::string& item, const std::string& reason) {
  if (validating_) return false;
  std::lock_guard lock(mutex_);
  try {
    if (!refusals_) refusals_ = store::openStore(config_);
    refusals_->recordRefusal(instanceId_, item, reason);
    return true;
  } catch (const std::exception& e) {
    Poco::Logger::get("renkei.host")
        .error("%s: a refused item could not be recorded in the store (%s); it stays where %s put it",
               instanceId_, std::string(e.what()), instanceId_);
    return false;
  }
}

StateStore& InstanceServices::state() {
  if (validating_) throw StateError("the store is not opened while validating (renkei check)");
  std::lock_guard lock(mutex_);
  if (!state_) state_ = openStateStore(config_, instanceId_);
  return *state_;
}

std::optional<std::string> InstanceServices::readRecords(const std::filesystem::path& layoutFile,
                                                         const std::filesystem::path& file,
                                                         const std::vector<std::string>& fields,
                                                         const std::function<void(const Record&)>& each,
                                                         ReadTotals& totals, std::string* sha256) {
  Diagnostics diags;
  auto layout = formats::loadLayout(layoutFile, diags);
  if (!layout) return "layout " + layoutFile.string() + ": " + diags.format();
  std::unique_ptr<formats::RecordReader> reader;
  try {
    // A private copy: the plugin's file may change under it without the
    // read crashing or mixing two versions.
    std::string sha;
    reader = formats::RecordReader::fromMapping(*layout, MappedFile::snapshot(file, spool_, sha));
    if (sha256) *sha256 = sha;
  } catch (const std::exception& e) {
    return file.string() + ": " + e.what();
  }
  auto names = std::make_shared<FieldNames>();
  for (const auto& f : layout->fields) names->push_back(f.name);
  std::vector<bool> wanted(names->size(), fields.empty());
  if (!fields.empty()) {
    std::vector<std::uint8_t> mask(names->size(), 0);
    for (std::size_t i = 0; i < names->size(); ++i)
      for (const auto& f : fields)
        if ((*names)[i] == f) mask[i] = 1, wanted[i] = true;
    reader->setFieldMask(std::move(mask));
  }
  std::shared_ptr<const FieldNames> shared = names;
  formats::RawRecord raw;
  Record record(shared);
  bool first = true;
  while (reader->next(raw)) {
    if (first) totals.header = reader->header(), first = false;
    ++totals.records;
    if (!raw.errors.empty()) {
      ++totals.rejected;
      continue;
    }
    for (std::size_t i = 0; i < raw.size() && i < shared->size(); ++i)
      if (wanted[i]) record.set(i, std::string(raw.value(i)));
    each(record);
  }
  if (first) totals.header = reader->header();  // a header and no data
  if (reader->error()) return file.string() + ": " + reader->error()->format();
  return std::nullopt;
}

bool InstanceServices::looksLikeIdentifier(std::string_view value) const {
  return mapping::looksLikeIdentifier(value);
}

}  // namespace renkei
