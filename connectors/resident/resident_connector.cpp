// The resident connector (住民記録): resident exports from the core system by
// file drop or from an ODBC view (the shared file and ODBC transports in
// connectors/common), with the domain on top: it keeps the register of
// residents and households in the host's store and, for every export the
// host takes in, derives
//   resident.event      move events (異動: 転入, 転居, 転出, 出生, 死亡 …), one
//                       record each, identifiers only
//   resident.household  the households the export touched, with their
//                       householder and members
// and hands them to the host with the register update (Source::prepare): the
// export's own records, the events, the households and the register commit
// in one store transaction or not at all. Routes take the derived records
// with from="<this id>" records="resident.event" (or "resident.household").
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <sstream>
#include <vector>


#include "file_transport.h"
#include "person_match.h"
#include "register_kit.h"
#include "odbc_transport.h"
#include "renkei/files.h"
#include "renkei/json.h"
#include "renkei/sdk.h"
#include "renkei/support/seal.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors::resident {
namespace {

const renkei_config_key kOwnKeys[] = {
    {"transport", "enum(file|odbc)", "file", 0,
     "How exports arrive: 'file' (a drop folder: directory, pattern … as for the file connector) or 'odbc' "
     "(a polled view: connection, query, spool … as for the odbc connector)."},
    {"layout", "path", nullptr, 1,
     "Layout of the export (e.g. mappings/layouts/jumin-csv.xml; for odbc a jsonl layout of the view's "
     "columns). Must name the fields 住民票コード, 世帯番号, 続柄, 異動事由, 異動日 and 届出日; 宛名番号 (kept, so other core systems' rows link to the residents), 削除フラグ, and 氏名, 生年月日, 性別, 本籍 and 筆頭者 "
     "(kept as matching digests only, so the family registry finds a resident its 附票 does not name) when it has them."},
    {"full-pattern", "list", "*FULL*;*full*;*ZENKEN*", 0,
     "Export names that are full extracts (globs separated by ';'); any other export is a differential. "
     "Residents missing from a full extract are removed from the register (event 消除)."},
    {"events-directory", "path", nullptr, 0,
     "No longer used (kept so older configs start): move events and households go to routes through the "
     "engine seam, taken with records=\"resident.event\" and records=\"resident.household\"; a warning is "
     "logged when it is set."},
    {"reason-codes", "path", nullptr, 0,
     "Code table of 異動事由 (code TAB name, e.g. mappings/codes/move-reason.tsv); the event's name comes from "
     "it. Without it the codes of the synthetic standard export are used (01 転入, 02 出生, 03 職権記載, 04 転居, "
     "05 世帯変更, 06 転出, 07 死亡, 08 職権消除, 09 国外転出, 10 帰化)."},
    {"max-full-removal", "int", "5", 0,
     "Percent of the register's current residents a full extract may remove (消除; up to 10 residents are "
     "always allowed). A full extract that would remove more (a truncated export) is held in <directory>/held/ with the counts, unread by the routes; an "
     "operator who has checked it releases it with `renkei resident release --file NAME` (recorded with who, by name "
     "and content) to take it in anyway (file transport). A file dropped anywhere is never a release."},
    {"removal-reasons", "list", "06,07,08,09", 0,
     "異動事由 codes after which the resident is no longer in the register (転出, 死亡, 職権消除, 国外転出)."},
    {"householder-code", "string", "02", 0, "続柄 code of the householder (世帯主)."},
    {"fsync", "bool", "true", 0, "Flush held/ reason files and folder entries to disk."},
};

/// The declared keys: the resident connector's own, then those of both
/// transports (their settings are passed through).
const std::vector<renkei_config_key>& allKeys() {
  static const std::vector<renkei_config_key> keys = kit::withTransportKeys(kOwnKeys, std::size(kOwnKeys));
  return keys;
}

// Built when the library loads (before the host reads the info).

/// One resident as the register keeps it (kit::Snapshot values, in this order).
enum Column : std::size_t {
  kHousehold,     ///< 世帯番号
  kRelationship,  ///< 続柄
  kReason,        ///< 異動事由 of the last move
  kMoved,         ///< 異動日 of the last move (as exported)
  kAtena,         ///< 宛名番号, when the layout has it ("" otherwise): the other core systems' key
  kIdentity,      ///< digest of 氏名, 生年月日, 性別 (person_match.h; "" without them)
  kDisplay,       ///< digest of 本籍, 筆頭者: the 戸籍の表示 ("" without them)
};

/// The export's bytes differ from those the host read (it was written to
/// after it was claimed): the export goes to error/.
struct ExportChanged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Event {
  std::string code, name, resident, household, previousHousehold, moved, notified, identity;
};

}  // namespace

class ResidentConnector final : public kit::ExportConnector {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    logger_ = context.logger;
    id_ = context.id;
    services_ = context.services;
    if (!services_) throw ConfigError("the resident connector needs the host's store (no services offered)");
    transport_ = settings.getString("transport");
    layout_ = settings.getPath("layout");
    fullPatterns_ = settings.getList("full-pattern");
    if (settings.has("events-directory") && !context.validating)
      logger_->warning("key 'events-directory' is no longer used: move events and households reach routes "
                       "through the engine seam (route from=\"%s\" records=\"resident.event\" or "
                       "records=\"resident.household\"); nothing is written to that folder",
                       context.id);
    householderCode_ = settings.getString("householder-code");
    guard_.maxPercent = static_cast<int>(settings.getInt("max-full-removal"));
    if (guard_.maxPercent < 0 || guard_.maxPercent > 100) throw ConfigError("max-full-removal: a percent from 0 to 100");
    fsync_ = settings.getBool("fsync");
    // Codes hold no spaces: "06 07 08 09" (the form before the list type) still works.
    for (const auto& item : settings.getList("removal-reasons")) {
      std::istringstream words(item);
      for (std::string code; words >> code;) removal_.insert(code);
    }
    reasons_ = {{"01", "転入"}, {"02", "出生"}, {"03", "職権記載"}, {"04", "転居"}, {"05", "世帯変更"},
                {"06", "転出"}, {"07", "死亡"}, {"08", "職権消除"}, {"09", "国外転出"}, {"10", "帰化"}};
    if (settings.has("reason-codes")) {
      reasons_.clear();
      loadReasons(settings.getPath("reason-codes"));
    }
    std::error_code ec;
    if (!fs::is_regular_file(layout_, ec)) throw ConfigError("layout: '" + layout_.string() + "' does not exist");

    configureTransport(settings, context, transport_);
    if (context.validating) return;  // renkei check: no store
    openState();
    if (AdminRegistry* admin = services_->admin(); admin && held_) held_->addPages(*admin, id_, [this] { return services_->nowMs(); });
    // The residents, for the host's other plugins to link their rows to:
    // by 住民票コード or 宛名番号; identifiers only.
    services_->registers().offer(
        "resident", std::make_shared<kit::OfferedRegister>(*register_, *state_, "resident_code",
                                                           std::vector<std::string>{"atena_no", "identity"},
                                                           std::vector<std::string>{"household_no", "atena_no",
                                                                                    "koseki_display"}));
  }

  /// The register, the exports applied and the releases in the host's store.
  void openState() {
    if (state_) return;
    state_ = &services_->state();
    // The tables as the first versions made them (the kit's Register and
    // ExportLedger take them as they are).
    state_->migrate({
        "CREATE TABLE {register} (resident_code TEXT PRIMARY KEY, household_no TEXT NOT NULL, "
        "relationship TEXT NOT NULL, reason TEXT NOT NULL, moved TEXT NOT NULL, current_flag BIGINT NOT NULL);"
        "CREATE INDEX {register_household} ON {register} (household_no);"
        "CREATE TABLE {exports} (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
        "applied_ms BIGINT NOT NULL, events BIGINT NOT NULL, households BIGINT NOT NULL);",
        // Exports an operator released from held/: remembered until applied,
        // so a restart in between does not hold them again.
        "CREATE TABLE {releases} (name TEXT PRIMARY KEY);",
        // Releases by `renkei resident release`: the held file's name and
        // content, who and when (the release/ folder that anyone who could
        // write in/ could also write is gone; {releases} stays unused).
        "CREATE TABLE {released} (name TEXT NOT NULL, sha256 TEXT NOT NULL, released_by TEXT NOT NULL, "
        "at_ms BIGINT NOT NULL, PRIMARY KEY (name, sha256));",
        // 宛名番号 beside the 住民票コード, so the welfare and other core
        // systems' rows (keyed by it) are checked against the residents.
        "ALTER TABLE {register} ADD COLUMN atena_no TEXT NOT NULL DEFAULT '';"
        "CREATE INDEX {register_atena} ON {register} (atena_no);",
        // The person's matching digests (4 情報 less the address, and the
        // 戸籍の表示), so the family registry finds a resident its 附票 does
        // not name; filled as exports bring each resident again.
        "ALTER TABLE {register} ADD COLUMN identity TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE {register} ADD COLUMN koseki_display TEXT NOT NULL DEFAULT '';"
        "CREATE INDEX {register_identity} ON {register} (identity);",
    });
    register_ = std::make_unique<kit::Register>(
        *state_, kit::RegisterSpec{"register", "resident_code",
                                   {"household_no", "relationship", "reason", "moved", "atena_no", "identity",
                                    "koseki_display"},
                                   {"household_no", "atena_no", "identity"}});
    exports_ = std::make_unique<kit::ExportLedger>(*state_, "exports", std::vector<std::string>{"events", "households"});
    if (!directory_.empty())
      held_ = std::make_unique<kit::HeldExports>(directory_, *state_, "released", "renkei resident", fsync_);
  }

  /// renkei resident held | release --file NAME: the exports held for
  /// removing too much, and the operator's release of one of them.
  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    if (request.action != "held" && request.action != "release") return std::nullopt;
    if (directory_.empty()) {
      OperatorResult r;
      r.status = 2;
      r.error = "connector '" + id_ + "' takes exports over ODBC: a held export is refused into the spool's error/";
      return r;
    }
    openState();
    return held_->operate(request, services_->nowMs());
  }

  // Listing and claiming are the transport's: the domain pass runs once per export, in prepare().
  Outcome prepare(const Intake& item, const std::string& sha256, ItemUnit& unit) override {
    try {
      if (derive(item, held_ ? held_->releasedBy(item.name, sha256) : std::nullopt, sha256, unit)) return Outcome::ok();
    } catch (const StateError& e) {
      return Outcome::retry(std::string("store: ") + e.what());
    } catch (const ExportChanged& e) {
      return Outcome::error(e.what());
    }
    holdExport(item, holdReason_, held_.get(), *logger_);
    unit.withdrawn = true;
    return Outcome::ok();
  }

  std::optional<fs::path> layout() const override { return layout_; }

 private:
  void loadReasons(const fs::path& file) {
    std::ifstream in(file);
    if (!in) throw ConfigError("reason-codes: cannot read '" + file.string() + "'");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      const std::size_t tab = line.find('\t');
      if (tab == std::string::npos)
        throw ConfigError("reason-codes: " + file.string() + ":" + std::to_string(n) + ": expected code TAB name");
      reasons_[line.substr(0, tab)] = line.substr(tab + 1);
    }
  }

  std::string reasonName(const std::string& code) const {
    if (auto it = reasons_.find(code); it != reasons_.end() && !it->second.empty()) return it->second;
    return code.empty() ? "記載" : "異動(" + code + ")";
  }

  bool isFull(const std::string& name) const {
    for (const auto& p : fullPatterns_)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    return false;
  }

  /// The domain pass over one export the host has read and checked
  /// (`hostSha`: the hash of the bytes it read). Fills `unit` with the move
  /// events, the households and the register update, which the host commits
  /// with the export's records. A layout without the resident fields is
  /// logged and leaves the unit empty; a store failure throws StateError
  /// (the export stays claimed and is taken again); an export whose bytes
  /// differ from the host's throws ExportChanged.
  /// Returns false when a full extract would remove more of the register
  /// than max-full-removal allows (and `released` is false): nothing of it
  /// is applied, the caller holds it.
  bool derive(const Intake& item, const std::optional<std::string>& released, const std::string& hostSha,
              ItemUnit& unit) {
    // The first export into an empty register is the baseline (no events);
    // for an ODBC view that is the first poll.
    ExportPass p(*register_, isFull(item.name));
    if (std::optional<std::string> error = readExport(item, p)) {
      logger_->warning("'%s': no events: %s", item.name, *error);
      return true;
    }
    if (p.sha != hostSha)
      throw ExportChanged("the export changed between the host's read and the register's: its content differs "
                          "(a file must not be written to after it is dropped)");
    // Applied before (the same content under another name, or a crash after
    // the register was updated): nothing again. Known only after the read,
    // which then was for nothing; that is the rare case, and the common one
    // reads the export once instead of twice.
    if (exports_->applied(p.sha)) return true;
    if (p.full() && !p.baseline() && !removalsAllowed(item, p, released)) return false;
    if (p.full()) addRemovals(p);
    const std::size_t changed = p.changes().size(), events = p.events.size(), households = p.touched.size();
    addDerivedSets(item, p, unit.emission.sets);
    unit.emission.state = registerUpdate(item, p, released);
    logger_->information("'%s' (%s%s): %z residents changed, %z move events, %z households", item.name,
                         std::string(p.full() ? "full extract" : "differential"),
                         std::string(p.baseline() ? ", baseline" : ""), changed, events, households);
    return true;
  }

  /// The kit's pass over the register, with what residents add: the move
  /// events and the households touched.
  struct ExportPass : kit::Pass {
    using kit::Pass::Pass;
    std::string sha;                          // of exactly the bytes read (the host's copy)
    std::unordered_set<std::string> touched;  // households of the changed residents, before and after
    std::vector<Event> events;
    bool identities = false;  // the layout has 氏名, 生年月日 and 性別: events carry the person's digest
  };

  /// Reads the export through the host's parsers, comparing each row with
  /// the register: changed residents, their households, move events.
  /// Returns why it has no resident fields (then nothing is derived).
  std::optional<std::string> readExport(const Intake& item, ExportPass& p) {
    std::optional<std::string> error;
    ReadTotals totals;
    state_->read([&](StateSession& s) {
      try {
        error = services_->readRecords(layout_, item.path, kFields, [&](const Record& r) { compareRow(r, s, p); },
                                       totals, &p.sha);
      } catch (const StateError&) {
        throw;  // the store: the export stays claimed and is taken again
      } catch (const std::runtime_error& e) {
        error = e.what();  // a layout without the resident fields: the export goes on, without events
      }
    });
    return error;
  }

  /// One row of the export against what the register (or an earlier row)
  /// says of the same resident.
  void compareRow(const Record& r, StateSession& s, ExportPass& p) {
    static const std::string none;
    auto field = [&](std::size_t i) -> const std::string& {
      const std::size_t at = fieldIndex(r, i);
      return at < r.size() ? r.value(at) : none;
    };
    const std::string& code = field(0);
    if (code.empty() || field(6) == "1") return;  // no code, or flagged deleted (削除フラグ)
    p.identities = index_[8] < r.size() && index_[9] < r.size() && index_[10] < r.size();
    kit::Snapshot e{{field(1), field(2), field(3), field(4), field(7), kit::identityKey(field(8), field(9), field(10)),
                     kit::displayKey(field(11), field(12))},
                    false};
    e.current = !removal_.count(e.values[kReason]);
    const std::optional<kit::Snapshot> previous = p.previous(s, code);
    const kit::Snapshot* prev = previous ? &*previous : nullptr;
    const bool moved = !prev || prev->values[kReason] != e.values[kReason] || prev->values[kMoved] != e.values[kMoved];
    const bool householdChanged = prev && prev->values[kHousehold] != e.values[kHousehold];
    if (!moved && !householdChanged && prev->values[kRelationship] == e.values[kRelationship] &&
        prev->current == e.current && prev->values[kAtena] == e.values[kAtena] &&
        prev->values[kIdentity] == e.values[kIdentity] && prev->values[kDisplay] == e.values[kDisplay])
      return;
    if (!p.baseline() && (moved || householdChanged)) {
      Event ev;
      ev.code = moved ? e.values[kReason] : std::string();
      ev.name = moved ? reasonName(e.values[kReason]) : "世帯変更";  // same move, another household
      ev.resident = code;
      ev.household = e.values[kHousehold];
      ev.previousHousehold = prev ? prev->values[kHousehold] : std::string();
      ev.moved = e.values[kMoved];
      ev.notified = field(5);
      ev.identity = e.values[kIdentity];
      p.events.push_back(std::move(ev));
    }
    if (prev) p.touched.insert(prev->values[kHousehold]);
    p.touched.insert(e.values[kHousehold]);
    p.change(code, std::move(e));
  }

  /// A truncated full extract looks like residents leaving: refused above
  /// the share an operator set, with the counts (holdReason_), unless an
  /// operator released it.
  bool removalsAllowed(const Intake& item, const ExportPass& p, const std::optional<std::string>& released) {
    const kit::Pass::Missing m = p.missing();
    const bool tooMany = guard_.tooMany(m);
    if (tooMany && !released) {
      holdReason_ = "full extract '" + printable(item.name) + "' would remove " + std::to_string(m.removed) + " of " +
                    std::to_string(m.current) + " current residents (" +
                    std::to_string(m.current ? m.removed * 100 / m.current : 0) + "%), more than max-full-removal (" +
                    std::to_string(guard_.maxPercent) + "%): held, nothing of it was taken in. Check that the "
                    "export is complete (a cut-off file looks like residents leaving); to take it in anyway, "
                    "renkei resident release --config <config> --file '" + printable(item.name) + "'";
      return false;
    }
    if (tooMany)
      logger_->warning("'%s': released by %s (renkei resident release): removes %z of %z current residents",
                       printable(item.name), printable(*released), m.removed, m.current);
    return true;
  }

  /// Residents missing from a full extract are no longer in the register.
  void addRemovals(ExportPass& p) {
    p.endMissing([&](const std::string& code, const kit::Snapshot& e) {
      Event ev;
      ev.name = "消除";
      ev.resident = code;
      ev.household = e.values[kHousehold];
      ev.previousHousehold = e.values[kHousehold];
      ev.identity = e.values[kIdentity];
      p.events.push_back(std::move(ev));
      p.touched.insert(e.values[kHousehold]);
    });
  }

  /// The move events and the households touched (with their current
  /// members after this export: the register's, unless this export changes
  /// them, and this export's) as record sets for the routes.
  void addDerivedSets(const Intake& item, const ExportPass& p, std::vector<RecordSet>& sets) {
    static const auto plainNames = std::make_shared<const FieldNames>(
        FieldNames{"event_id", "event", "event_code", "resident_code", "household_no", "previous_household_no",
                   "move_date", "notified_date", "export", "export_kind"});
    // With the person's matching digest when the layout has what it is made of.
    static const auto identityNames = std::make_shared<const FieldNames>(
        FieldNames{"event_id", "event", "event_code", "resident_code", "household_no", "previous_household_no",
                   "move_date", "notified_date", "export", "export_kind", "identity"});
    const auto& eventNames = p.identities ? identityNames : plainNames;
    RecordSet eventSet{"resident.event", {}};
    eventSet.records.reserve(p.events.size());
    std::size_t n = 0;
    for (const Event& ev : p.events) {
      Record r(eventNames);
      const std::string* values[] = {&ev.name, &ev.code, &ev.resident, &ev.household, &ev.previousHousehold,
                                     &ev.moved, &ev.notified};
      r.set(0, p.sha.substr(0, 12) + "-" + std::to_string(++n));
      for (std::size_t i = 0; i < 7; ++i) r.set(i + 1, *values[i]);
      r.set(8, item.name);
      r.set(9, p.full() ? "full" : "differential");
      if (p.identities) r.set(10, ev.identity);
      eventSet.records.push_back(std::move(r));
    }
    if (!eventSet.records.empty()) sets.push_back(std::move(eventSet));
    RecordSet householdSet = households(item, p);
    if (!householdSet.records.empty()) sets.push_back(std::move(householdSet));
  }

  RecordSet households(const Intake& item, const ExportPass& p) {
    struct Member {
      const std::string* household;
      std::string code;
      const kit::Snapshot* entry;
    };
    const auto& after = p.changes();
    std::vector<std::pair<std::string, kit::Snapshot>> kept;  // register members this export leaves alone
    if (!p.baseline()) {
      state_->read([&](StateSession& s) {
        for (const std::string& h : p.touched)
          register_->byColumn(s, "household_no", h, [&](const std::string& code, kit::Snapshot e) {
            if (!after.count(code)) kept.emplace_back(code, std::move(e));
          });
      });
    }
    std::vector<Member> members;
    members.reserve(after.size() + kept.size());
    for (const auto& [code, e] : after) members.push_back({&e.values[kHousehold], code, &e});
    for (const auto& [code, e] : kept) members.push_back({&e.values[kHousehold], code, &e});
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) {
      return *a.household != *b.household ? *a.household < *b.household : a.code < b.code;
    });
    std::vector<std::string> households(p.touched.begin(), p.touched.end());
    std::sort(households.begin(), households.end());
    static const auto names = std::make_shared<const FieldNames>(
        FieldNames{"household_no", "householder_code", "member_codes", "members", "export"});
    RecordSet set{"resident.household", {}};
    set.records.reserve(households.size());
    auto m = members.begin();
    for (const std::string& household : households) {
      while (m != members.end() && *m->household < household) ++m;
      std::string householder, codes;
      std::size_t count = 0;
      for (; m != members.end() && *m->household == household; ++m) {
        if (!m->entry->current) continue;
        if (m->entry->values[kRelationship] == householderCode_ && householder.empty()) householder = m->code;
        if (count++) codes += ' ';
        codes += m->code;
      }
      Record r(names);
      r.set(0, household);
      r.set(1, std::move(householder));
      r.set(2, std::move(codes));
      r.set(3, std::to_string(count));
      r.set(4, item.name);
      set.records.push_back(std::move(r));
    }
    return set;
  }

  /// The register and the export's hash, for the host's transaction with
  /// the export's records and the derived sets. The changed residents move
  /// into it as they are (no copy: a full extract is a million of them),
  /// written in key order.
  std::function<void(StateSession&)> registerUpdate(const Intake& item, ExportPass& p,
                                                   const std::optional<std::string>& releasedBy) {
    const bool released = releasedBy.has_value();
    const std::int64_t now = services_->nowMs();
    const std::int64_t events = static_cast<std::int64_t>(p.events.size());
    const std::int64_t households = static_cast<std::int64_t>(p.touched.size());
    auto changed = p.takeChanges();
    auto rows = std::make_shared<std::vector<const std::pair<const std::string, kit::Snapshot>*>>(kit::sortedRows(*changed));
    return [this, changed, rows, released, name = item.name, sha = p.sha, full = p.full(), now, events,
            households](StateSession& s) {
      register_->write(s, *rows);
      if (released && held_) held_->applied(s, name, sha);
      exports_->record(s, sha, name, full ? "full" : "differential", now, {events, households});
    };
  }

  /// Index of kFields[i] in the records' names (found once per layout).
  std::size_t fieldIndex(const Record& r, std::size_t i) {
    if (indexNames_ != r.names().get()) {
      indexNames_ = r.names().get();
      for (std::size_t k = 0; k < kFields.size(); ++k) {
        index_[k] = r.size();
        for (std::size_t j = 0; j < r.size(); ++j)
          if (r.name(j) == kFields[k]) index_[k] = j;
        if (index_[k] == r.size() && k < 6)  // 削除フラグ, 宛名番号 and the person's 4 情報 may be missing
          throw std::runtime_error("the layout '" + layout_.string() + "' has no field " + kFields[k]);
      }
    }
    return index_[i];
  }

  Poco::Logger* logger_ = nullptr;
  std::string id_;
  HostServices* services_ = nullptr;
  StateStore* state_ = nullptr;
  std::string transport_;
  fs::path layout_;
  std::vector<std::string> fullPatterns_;
  std::string householderCode_;
  kit::RemovalGuard guard_;  ///< max-full-removal; up to 10 removals are never held, whatever the share
  std::string holdReason_;
  bool fsync_ = true;
  std::set<std::string> removal_;
  std::map<std::string, std::string> reasons_;
  std::unique_ptr<kit::Register> register_;
  std::unique_ptr<kit::ExportLedger> exports_;
  // The fields the domain pass reads, in this order.
  inline static const std::vector<std::string> kFields{"住民票コード", "世帯番号", "続柄", "異動事由", "異動日",
                                                       "届出日", "削除フラグ", "宛名番号", "氏名", "生年月日",
                                                       "性別", "本籍", "筆頭者"};
  const FieldNames* indexNames_ = nullptr;
  std::size_t index_[13] = {};
};

}  // namespace renkei::connectors::resident

namespace {
// The operators' commands: `renkei resident <action> …`.
const renkei_operator_verb kVerbs[] = {
    {"held", "--connector", 1, "--config F [--connector C]",
     "full exports held for removing too much of the register, with what each would remove"},
    {"release", "--connector --file --by", 1, "--config F [--connector C] --file NAME [--by NAME]",
     "take a held export in after checking it (recorded with who; taken in as it is)"},
};
}  // namespace

RENKEI_PLUGIN_VERBS(kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::resident::ResidentConnector, "resident", "0.1.0", "experimental",
              "住民記録 exports by file drop or ODBC view: the resident register, households (世帯) and move events (異動)",
              RENKEI_ROLE_SOURCE | RENKEI_ROLE_EMITTER, renkei::connectors::resident::allKeys().data(), renkei::connectors::resident::allKeys().size())
