// The 中間DB connector: the city's intermediate database (its 共通DB, which
// the window systems' specifications call the 中間DB) as a source, one
// entity per instance — 住民, 住登外, or whatever the city's item list
// (別紙4) offers — by file drop (CSV or fixed-width, header/data/trailer
// checked by the layout) or by polling a view over ODBC with a watermark
// (max-rows a page). On the register kit: per key (宛名番号) the fields the
// config keeps — identifiers and statuses, never a name or an address —
// so that for every export or poll it derives
//   jlis.<entity>  one record per entity that changed: its key, 住民票コード,
//                  whether current, the kept fields, when it was updated
//                  (stated in the municipality's zone from the database's)
// and offers its register to the host's other plugins (the welfare
// connector finds 住登外 persons there). It reads only what the city's
// database offers: never the 住基ネット CS or the 中間サーバー (README).
#include <fnmatch.h>

#include <Poco/Logger.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <ctime>

#include "register_kit.h"
#include "renkei/json.h"
#include "renkei/local_time.h"
#include "renkei/sdk.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors::jlis {
namespace {

const renkei_config_key kOwnKeys[] = {
    {"transport", "enum(file|odbc)", "file", 0,
     "How the 中間DB's data arrives: 'file' (files the city's database writes: directory, pattern … as for the "
     "file connector) or 'odbc' (a view polled with a watermark: connection, query, watermark-column, max-rows "
     "(a page), watermark-check-query … as for the odbc connector)."},
    {"entity", "string", nullptr, 1,
     "What the instance reads: 'jumin' (住民), 'jutogai' (住登外) or another of the city's item list "
     "([a-z][a-z0-9-]*). The derived record type is jlis.<entity>."},
    {"layout", "path", nullptr, 1,
     "Layout of the files, or for odbc a jsonl layout of the view's columns (mappings/layouts/jlis-jumin-csv.xml, "
     "jlis-jutogai-csv.xml)."},
    {"key-field", "string", "宛名番号", 0, "The field that keys an entity (its register's key)."},
    {"resident-code-field", "string", "住民票コード", 0,
     "The field holding the 住民票コード, shared with the host's other plugins ('' when the data has none)."},
    {"keep", "list", "", 0,
     "Fields kept in the register and sent in jlis.<entity> (separated by ';'): identifiers, codes and dates that "
     "say what changed — never a name or an address; a change of any of them is a change."},
    {"ended-field", "string", nullptr, 0, "A field that says the entity has ended (e.g. 住民状態)."},
    {"ended-codes", "list", "", 0, "Its codes that mean ended (e.g. 2;3: 転出者, 死亡者)."},
    {"updated-field", "string", nullptr, 0,
     "A field holding when the row was updated in the database (e.g. 更新日時), stated in jlis.<entity> in the "
     "municipality's zone with its offset."},
    {"db-utc-offset", "string", "+09:00", 0,
     "The database's own time zone as an offset from UTC: its times (updated-field, YYYY-MM-DD HH:MM:SS or "
     "YYYYMMDDHHMMSS) are read in it."},
    {"offer", "string", "", 0,
     "Offer the register to the host's other plugins under this name (e.g. 'jutogai', searched by atena_no and "
     "resident_code); '' offers nothing. One instance per name in a config."},
    {"full-pattern", "list", "*FULL*;*full*;*ZENKEN*", 0,
     "File names that are full extracts: an entity missing from one has ended. Polls and other files are "
     "differentials."},
    {"max-full-removal", "int", "10", 0,
     "Percent of the current entities a full extract may end (up to 10 always allowed); more is held in "
     "<directory>/held/ until an operator releases it (renkei jlis release --file NAME, or the console)."},
    {"made-field", "string", "作成年月日", 0,
     "The header record's field with the date the export was made (any of the date notations). A differential "
     "made before the last full extract applied is held (its news is older than the register) until an operator "
     "releases it; without the field (no header, an ODBC view) nothing is compared."},
    {"fsync", "bool", "true", 0, "Flush held/ reason files and folder entries to disk."},
};

const std::vector<renkei_config_key>& allKeys() {
  static const std::vector<renkei_config_key> keys = kit::withTransportKeys(kOwnKeys, std::size(kOwnKeys));
  return keys;
}

enum Column : std::size_t { kResidentCode, kValues, kUpdated };

/// "+09:00" → 540; nothing when it is not an offset.
std::optional<int> offsetMinutes(const std::string& text) {
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') return std::nullopt;
  for (std::size_t i : {1u, 2u, 4u, 5u})
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  const int h = std::stoi(text.substr(1, 2)), m = std::stoi(text.substr(4, 2));
  if (h > 14 || m > 59) return std::nullopt;
  return (text[0] == '-' ? -1 : 1) * (h * 60 + m);
}

class JlisConnector final : public kit::ExportConnector {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    logger_ = context.logger;
    id_ = context.id;
    services_ = context.services;
    if (!services_) throw ConfigError("the jlis connector needs the host's store (no services offered)");
    entity_ = settings.getString("entity");
    if (entity_.empty() || entity_.size() > 32 || !(entity_[0] >= 'a' && entity_[0] <= 'z') ||
        entity_.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
      throw ConfigError("entity: [a-z][a-z0-9-]*, at most 32 (jumin, jutogai …)");
    layout_ = settings.getPath("layout");
    std::error_code ec;
    if (!fs::is_regular_file(layout_, ec)) throw ConfigError("layout: '" + layout_.string() + "' does not exist");
    keyField_ = settings.getString("key-field");
    residentField_ = settings.getString("resident-code-field");
    keep_ = settings.getList("keep");
    if (settings.has("ended-field")) endedField_ = settings.getString("ended-field");
    for (const std::string& c : settings.getList("ended-codes")) endedCodes_.insert(c);
    if (endedField_.empty() != endedCodes_.empty())
      throw ConfigError("ended-field and ended-codes go together (which field, which of its codes mean ended)");
    if (settings.has("updated-field")) updatedField_ = settings.getString("updated-field");
    const auto offset = offsetMinutes(settings.getString("db-utc-offset"));
    if (!offset) throw ConfigError("db-utc-offset: an offset from UTC, ±HH:MM (+09:00)");
    dbOffset_ = *offset;
    offer_ = settings.getString("offer");
    fullPatterns_ = settings.getList("full-pattern");
    guard_.maxPercent = static_cast<int>(settings.getInt("max-full-removal"));
    if (guard_.maxPercent < 0 || guard_.maxPercent > 100) throw ConfigError("max-full-removal: a percent from 0 to 100");
    fsync_ = settings.getBool("fsync");
    madeField_ = settings.getString("made-field");
    configureTransport(settings, context, settings.getString("transport"));
    if (context.validating) return;
    openState();
    if (AdminRegistry* admin = services_->admin(); admin && held_)
      held_->addPages(*admin, id_, [this] { return services_->nowMs(); });
    if (!offer_.empty())
      services_->registers().offer(offer_, std::make_shared<kit::OfferedRegister>(
                                               *register_, *state_, "atena_no", std::vector<std::string>{"resident_code"},
                                               std::vector<std::string>{"resident_code"}));
  }

  std::optional<fs::path> layout() const override { return layout_; }

  Outcome prepare(const Intake& item, const std::string& sha256, ItemUnit& unit) override {
    try {
      if (derive(item, held_ ? held_->releasedBy(item.name, sha256) : std::nullopt, sha256, unit)) return Outcome::ok();
    } catch (const StateError& e) {
      return Outcome::retry(std::string("store: ") + e.what());
    } catch (const Changed& e) {
      return Outcome::error(e.what());
    }
    holdExport(item, holdReason_, held_.get(), *logger_);
    unit.withdrawn = true;
    return Outcome::ok();
  }

  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    if (request.action != "held" && request.action != "release") return std::nullopt;
    openState();
    if (!held_) {
      OperatorResult r;
      r.status = 2;
      r.error = "connector '" + id_ + "' polls a view over ODBC: nothing is held in a folder";
      return r;
    }
    return held_->operate(request, services_->nowMs());
  }

 private:
  struct Changed : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  void openState() {
    if (state_) return;
    state_ = &services_->state();
    state_->migrate({kit::Register::createStep(kSpec) + kit::ExportLedger::createStep("exports", {"changed"}) +
                         kit::HeldExports::createStep("releases"),
                     // The date each export says it was made (its header).
                     kit::ExportLedger::madeStep("exports")});
    register_ = std::make_unique<kit::Register>(*state_, kSpec);
    exports_ = std::make_unique<kit::ExportLedger>(*state_, "exports", std::vector<std::string>{"changed"}, true);
    if (!directory_.empty())
      held_ = std::make_unique<kit::HeldExports>(directory_, *state_, "releases", "renkei jlis", fsync_);
  }

  bool isFull(const std::string& name) const {
    if (directory_.empty()) return false;  // a poll: the rows changed since the watermark
    for (const auto& p : fullPatterns_)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    return false;
  }

  /// The fields a row is read for: the key, the 住民票コード, ended, updated, kept.
  std::vector<std::string> fields() const {
    std::vector<std::string> out{keyField_};
    for (const std::string* f : {&residentField_, &endedField_, &updatedField_})
      if (!f->empty() && std::find(out.begin(), out.end(), *f) == out.end()) out.push_back(*f);
    for (const std::string& f : keep_)
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    return out;
  }

  /// The database's time as the municipality's, with its offset: from
  /// "YYYY-MM-DD HH:MM:SS" (or T, or YYYYMMDDHHMMSS) in db-utc-offset.
  std::string localTime(const std::string& v) const {
    std::string d;
    for (char c : v)
      if (c >= '0' && c <= '9') d += c;
    if (d.size() < 14) return v.empty() ? v : std::string();
    std::tm tm{};
    tm.tm_year = std::stoi(d.substr(0, 4)) - 1900;
    tm.tm_mon = std::stoi(d.substr(4, 2)) - 1;
    tm.tm_mday = std::stoi(d.substr(6, 2));
    tm.tm_hour = std::stoi(d.substr(8, 2));
    tm.tm_min = std::stoi(d.substr(10, 2));
    tm.tm_sec = std::stoi(d.substr(12, 2));
    const std::int64_t ms = (static_cast<std::int64_t>(timegm(&tm)) - dbOffset_ * 60) * 1000;
    return localTimeAt(ms, services_->utcOffsetMinutes(ms));
  }

  struct ExportPass : kit::Pass {
    using kit::Pass::Pass;
    std::string sha;
    std::size_t rows = 0, noKey = 0;
  };

  bool derive(const Intake& item, const std::optional<std::string>& released, const std::string& hostSha,
              ItemUnit& unit) {
    ExportPass p(*register_, isFull(item.name));
    const std::vector<std::string> names = fields();
    std::optional<std::string> error;
    ReadTotals totals;
    state_->read([&](StateSession& s) {
      try {
        error = services_->readRecords(
            layout_, item.path, names, [&](const Record& r) { readRow(r, s, p, names); }, totals, &p.sha);
      } catch (const StateError&) {
        throw;
      } catch (const std::runtime_error& e) {
        error = e.what();
      }
    });
    if (error) {
      logger_->error("'%s': nothing derived: %s", item.name, *error);
      return true;
    }
    if (p.sha != hostSha)
      throw Changed("the file changed between the host's read and the register's: its content differs");
    if (exports_->applied(p.sha)) return true;
    const std::string made = kit::madeDate(totals, madeField_);
    if (!p.full() && !released)
      if (auto why = kit::staleDifferential(item.name, made, exports_->lastFullMade(), "renkei jlis")) {
        holdReason_ = *why;
        return false;
      }
    if (p.full() && !p.baseline()) {
      const kit::Pass::Missing m = p.missing();
      if (guard_.tooMany(m) && !released) {
        holdReason_ = "full extract '" + printable(item.name) + "' would end " + std::to_string(m.removed) + " of " +
                      std::to_string(m.current) + " current " + entity_ + " entities (" +
                      std::to_string(m.current ? m.removed * 100 / m.current : 0) + "%), more than max-full-removal (" +
                      std::to_string(guard_.maxPercent) + "%): held, nothing of it was taken in; to take it in "
                      "anyway, renkei jlis release --config <config> --file '" + printable(item.name) + "'";
        return false;
      }
      p.endMissing([](const std::string&, const kit::Snapshot&) {});
    }
    auto rows = std::make_shared<std::vector<const std::pair<const std::string, kit::Snapshot>*>>(
        kit::sortedRows(p.changes()));
    addSet(item, *rows, unit.emission.sets);
    const std::int64_t now = services_->nowMs(), changed = static_cast<std::int64_t>(rows->size());
    auto changes = p.takeChanges();
    unit.emission.state = [this, rows, changes, released = released.has_value(), name = item.name, sha = p.sha,
                           full = p.full(), now, changed, made](StateSession& s) {
      register_->write(s, *rows);
      if (released && held_) held_->applied(s, name, sha);
      exports_->record(s, sha, name, full ? "full" : "differential", now, {changed}, made);
    };
    logger_->information("'%s' (%s%s): %z rows, %z %s entities changed, %z without a key", item.name,
                         std::string(p.full() ? "full extract" : "differential"),
                         std::string(p.baseline() ? ", baseline" : ""), p.rows, static_cast<std::size_t>(changed),
                         entity_, p.noKey);
    if (p.noKey)
      logger_->warning("'%s': %z rows without %s derive nothing (the route and its mapping see them)", item.name,
                       p.noKey, keyField_);
    return true;
  }

  void readRow(const Record& r, StateSession& s, ExportPass& p, const std::vector<std::string>& names) {
    if (indexNames_ != r.names().get()) {
      indexNames_ = r.names().get();
      index_.assign(names.size(), r.size());
      for (std::size_t k = 0; k < names.size(); ++k)
        for (std::size_t j = 0; j < r.size(); ++j)
          if (r.name(j) == names[k]) index_[k] = j;
      for (std::size_t k = 0; k < names.size(); ++k)
        if (index_[k] == r.size())
          throw std::runtime_error("the layout '" + layout_.string() + "' has no field " + names[k]);
    }
    auto value = [&](const std::string& field) -> std::string {
      if (field.empty()) return {};
      const std::size_t k = static_cast<std::size_t>(std::find(names.begin(), names.end(), field) - names.begin());
      return r.value(index_[k]);
    };
    ++p.rows;
    const std::string key = value(keyField_);
    if (key.empty()) {
      ++p.noKey;
      return;
    }
    std::vector<std::string> kept;
    for (const std::string& f : keep_) kept.push_back(value(f));
    kit::Snapshot next{{value(residentField_), kit::textArray(kept), localTime(value(updatedField_))},
                       endedField_.empty() || !endedCodes_.count(value(endedField_))};
    const auto prev = p.previous(s, key);
    if (prev && prev->values[kResidentCode] == next.values[kResidentCode] && prev->values[kValues] == next.values[kValues] &&
        prev->current == next.current)
      return;  // the same again (a poll's page overlapping, a file sent twice)
    p.change(key, std::move(next));
  }

  void addSet(const Intake& item, const std::vector<const std::pair<const std::string, kit::Snapshot>*>& rows,
              std::vector<RecordSet>& sets) {
    if (!names_) {
      FieldNames names{"entity", "atena_no", "resident_code", "current", "updated_at"};
      for (const std::string& f : keep_) names.push_back(f);
      names.push_back("export");
      names_ = std::make_shared<const FieldNames>(std::move(names));
    }
    RecordSet set{"jlis." + entity_, {}};
    set.records.reserve(rows.size());
    for (const auto* row : rows) {
      const kit::Snapshot& snap = row->second;
      Record r(names_);
      r.set(0, entity_);
      r.set(1, row->first);
      r.set(2, snap.values[kResidentCode]);
      r.set(3, snap.current ? "true" : "false");
      r.set(4, snap.values[kUpdated]);
      const auto kept = kit::arrayValues(snap.values[kValues], keep_.size());
      for (std::size_t i = 0; i < kept.size(); ++i) r.set(5 + i, kept[i]);
      r.set(5 + kept.size(), item.name);
      set.records.push_back(std::move(r));
    }
    if (!set.records.empty()) sets.push_back(std::move(set));
  }


  inline static const kit::RegisterSpec kSpec{
      "register", "atena_no", {"resident_code", "kept", "updated_at"}, {"resident_code"}};

  Poco::Logger* logger_ = nullptr;
  std::string id_, entity_, keyField_, residentField_, endedField_, updatedField_, offer_, holdReason_, madeField_;
  std::vector<std::string> keep_, fullPatterns_;
  std::set<std::string> endedCodes_;
  int dbOffset_ = 9 * 60;
  HostServices* services_ = nullptr;
  StateStore* state_ = nullptr;
  fs::path layout_;
  kit::RemovalGuard guard_{10, 10};
  bool fsync_ = true;
  std::unique_ptr<kit::Register> register_;
  std::unique_ptr<kit::ExportLedger> exports_;
  std::shared_ptr<const FieldNames> names_;
  const FieldNames* indexNames_ = nullptr;
  std::vector<std::size_t> index_;
};

}  // namespace
}  // namespace renkei::connectors::jlis

namespace {
const renkei_operator_verb kVerbs[] = {
    {"held", "--connector", 1, "--config F [--connector C]", "full extracts held for ending too many, with the counts"},
    {"release", "--connector --file --by", 1, "--config F [--connector C] --file NAME [--by NAME]",
     "take a held extract in after checking it (recorded with who; taken in as it is)"},
};
}  // namespace

RENKEI_PLUGIN_VERBS(kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::jlis::JlisConnector, "jlis", "0.1.0", "experimental",
              "The city's 中間DB (共通DB) as a source: 住民, 住登外 … by file or ODBC view, what changed per 宛名番号",
              RENKEI_ROLE_SOURCE | RENKEI_ROLE_EMITTER, renkei::connectors::jlis::allKeys().data(),
              renkei::connectors::jlis::allKeys().size())
