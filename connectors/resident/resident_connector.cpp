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
     "columns). Must name the fields 住民票コード, 世帯番号, 続柄, 異動事由, 異動日 and 届出日."},
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
/// transports (their settings are passed through). A key required by a
/// transport is optional here; configure() checks it for the chosen one.
const std::vector<renkei_config_key>& allKeys() {
  static const std::vector<renkei_config_key> keys = [] {
    std::vector<renkei_config_key> out(std::begin(kOwnKeys), std::end(kOwnKeys));
    auto add = [&](const renkei_config_key* keys, std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) {
        const bool seen = std::any_of(out.begin(), out.end(),
                                      [&](const renkei_config_key& k) { return std::string(k.key) == keys[i].key; });
        if (seen) continue;
        renkei_config_key k = keys[i];
        k.required = 0;
        out.push_back(k);
      }
    };
    add(file::kKeys, file::kKeyCount);
    add(odbc::kKeys, odbc::kKeyCount);
    return out;
  }();
  return keys;
}

// Built when the library loads (before the host reads the info).

/// One resident as the register keeps it.
struct Entry {
  std::string household;
  std::string relationship;
  std::string reason;   ///< 異動事由 of the last move
  std::string moved;    ///< 異動日 of the last move (as exported)
  bool current = true;  ///< false once removed (転出, 死亡 … or missing from a full extract)
};

/// The export's bytes differ from those the host read (it was written to
/// after it was claimed): the export goes to error/.
struct ExportChanged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Event {
  std::string code, name, resident, household, previousHousehold, moved, notified;
};

}  // namespace

class ResidentConnector final : public Connector, public Source {
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
    maxFullRemoval_ = settings.getInt("max-full-removal");
    if (maxFullRemoval_ < 0 || maxFullRemoval_ > 100) throw ConfigError("max-full-removal: a percent from 0 to 100");
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

    if (transport_ == "file") {
      if (!settings.has("directory")) throw ConfigError("transport 'file' needs the key 'directory' (the drop folder)");
      directory_ = settings.getPath("directory");
      auto t = std::make_unique<file::FileConnector>();
      t->configure(settings, context);
      inner_ = std::move(t);
    } else {
      for (const char* key : {"connection", "query", "spool"})
        if (!settings.has(key)) throw ConfigError(std::string("transport 'odbc' needs the key '") + key + "'");
      auto t = std::make_unique<odbc::OdbcConnector>();
      t->configure(settings, context);
      inner_ = std::move(t);
    }
    if (!inner_->source()) throw ConfigError("the transport '" + transport_ + "' is not set up as a source");
    if (context.validating) return;  // renkei check: no store
    openState();
    if (AdminRegistry* admin = services_->admin(); admin && !directory_.empty()) addPages(*admin);
  }

  /// The console's view of held/: the exports held and why (view), and the
  /// release of one (POST ?file=NAME, operate) — the same as `renkei
  /// resident held|release`, made as the signed-in operator.
  void addPages(AdminRegistry& admin) {
    admin.addHandler("held", "full exports held for removing too many residents: file and why (release: POST)", "view",
                     [this](const AdminRequest&) {
                       AdminResponse r;
                       std::string list;
                       for (const auto& [name, why] : heldExports(1000))  // within the page's deadline
                         list += (list.empty() ? "" : ",") + std::string("{\"file\":") + jsonQuoted(name) +
                                 ",\"reason\":" + jsonQuoted(why) + "}";
                       r.body = "{\"connector\":" + jsonQuoted(id_) + ",\"held\":[" + list + "]}\n";
                       return r;
                     });
    admin.addHandler("release", "take a held export in as it is, removals included (POST ?file=NAME)", "operate",
                     [this](const AdminRequest& request) {
                       AdminResponse r;
                       if (request.method != "POST") {
                         r.status = 405;
                         r.body = "{\"error\":\"POST\"}\n";
                         return r;
                       }
                       OperatorRequest op;
                       op.action = "release";
                       op.by = request.who.empty() ? std::string("console") : request.who + " (console)";
                       if (auto it = request.query.find("file"); it != request.query.end()) op.options["--file"] = it->second;
                       const OperatorResult result = *operate(op);
                       r.status = result.status == 0 ? 200 : result.status == 2 ? 400 : 409;
                       r.body = "{\"ok\":" + std::string(result.status == 0 ? "true" : "false") + ",\"message\":" +
                                jsonQuoted(result.status == 0 ? result.logged : result.error) + "}\n";
                       return r;
                     });
  }

  /// held/'s exports (by name) with the first line of each reason file.
  std::vector<std::pair<std::string, std::string>> heldExports(std::size_t limit = SIZE_MAX) const {
    const fs::path held = directory_ / "held";
    std::vector<std::pair<std::string, std::string>> out;
    std::error_code ec;
    for (fs::directory_iterator it(held, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string n = it->path().filename().string();
      if (it->is_regular_file(ec) && !it->is_symlink(ec) && n.size() > 0 &&
          (n.size() < 9 || n.compare(n.size() - 9, 9, ".held.txt") != 0))
        out.emplace_back(n, "");
      if (out.size() >= limit) break;
    }
    std::sort(out.begin(), out.end());
    for (auto& [name, why] : out) {
      std::ifstream in(held / (name + ".held.txt"));
      std::getline(in, why);
    }
    return out;
  }

  /// The register, the exports applied and the releases in the host's store.
  void openState() {
    if (state_) return;
    state_ = &services_->state();
    register_ = state_->table("register");
    exports_ = state_->table("exports");
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
    });
    released_ = state_->table("released");
  }

  /// renkei resident held | release --file NAME: the exports held for
  /// removing too much, and the operator's release of one of them.
  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    if (request.action != "held" && request.action != "release") return std::nullopt;
    OperatorResult r;
    if (directory_.empty()) {
      r.status = 2;
      r.error = "connector '" + id_ + "' takes exports over ODBC: a held export is refused into the spool's error/";
      return r;
    }
    const fs::path held = directory_ / "held";
    if (request.action == "held") {
      const auto list = heldExports();
      for (const auto& [name, why] : list) r.output += printable(name) + "  " + printable(why) + "\n";
      r.output += std::to_string(list.size()) + (list.size() == 1 ? " export is" : " exports are") + " held in " +
                  printable(held.string()) + "\n";
      return r;
    }
    const auto file = request.options.find("--file");
    const std::string name = file == request.options.end() ? std::string() : file->second;
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      r.status = 2;
      r.error = "--file NAME is required: an export held in " + printable(held.string()) + " ('renkei resident held')";
      return r;
    }
    struct stat st {};
    const fs::path path = held / name;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      r.status = 1;
      r.error = "no export '" + printable(name) + "' is held in " + printable(held.string()) + " ('renkei resident held')";
      return r;
    }
    std::string sha;
    if (const auto bad = sha256OfFile(path, sha)) {
      r.status = 1;
      r.error = *bad;
      return r;
    }
    // Recorded first, by name and content: what the host then claims from
    // in/ under this name is taken without the check only if it is these bytes.
    openState();
    const std::int64_t now = services_->nowMs();
    state_->write([&](StateSession& s) {
      s.run("INSERT INTO " + released_ + " (name, sha256, released_by, at_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name, sha256) DO NOTHING",
            {name, sha, request.by, now});
    });
    const fs::path in = directory_ / "in" / name;
    if (::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, in.c_str(), RENAME_NOREPLACE) != 0) {
      r.status = 1;
      r.error = "cannot move '" + printable(name) + "' back into in/: " + std::strerror(errno);
      return r;
    }
    // held/<name>.held.txt stays: the record of why it was held.
    r.output = "released: '" + printable(name) + "' (sha256 " + sha.substr(0, 12) + ") is back in " +
               printable((directory_ / "in").string()) +
               "; the running host takes it in as it is, removals included (logged with who released it).\n";
    r.logged = "released held export '" + printable(name) + "' (sha256 " + sha.substr(0, 12) + ")";
    return r;
  }

  Source* source() override { return this; }

  // Listing only: the domain pass runs once per export, in prepare().
  std::vector<Intake> recover() override { return inner_->source()->recover(); }

  std::optional<Intake> claim() override { return inner_->source()->claim(); }

  Outcome prepare(const Intake& item, const std::string& sha256, ItemUnit& unit) override {
    try {
      if (derive(item, releasedBy(item.name, sha256), sha256, unit)) return Outcome::ok();
    } catch (const StateError& e) {
      return Outcome::retry(std::string("store: ") + e.what());
    } catch (const ExportChanged& e) {
      return Outcome::error(e.what());
    }
    hold(item);
    unit.withdrawn = true;
    return Outcome::ok();
  }

  std::optional<fs::path> layout() const override { return layout_; }

  Outcome finish(const Intake& item, Disposition disposition, const std::string& reason) override {
    return inner_->source()->finish(item, disposition, reason);
  }
  Outcome writeRejects(const Intake& item, const std::string& jsonl) override {
    return inner_->source()->writeRejects(item, jsonl);
  }
  // The summary points to rejects/<file>.warnings.jsonl: the transport writes it.
  Outcome writeWarnings(const Intake& item, const std::string& jsonl) override {
    return inner_->source()->writeWarnings(item, jsonl);
  }
  bool keepsItems() const override { return inner_->source()->keepsItems(); }
  std::string itemsHold(const std::string& sensitive) override { return inner_->source()->itemsHold(sensitive); }
  Outcome requeue(const std::string& name, const std::string& sha256) override {
    return inner_->source()->requeue(name, sha256);
  }

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
    ExportPass p;
    p.full = isFull(item.name);
    // The first export into an empty register is the baseline: it raises no
    // events (with nothing known before it, every resident would "move in").
    // For an ODBC view that is the first poll.
    p.baseline = registerEmpty();
    // The register before this export: all of it for a full extract (to
    // find who is missing); a differential looks up the residents it names.
    if (p.full && !p.baseline)
      state_->read([&](StateSession& s) { s.query(kColumns + register_, {}, [&](StateRows& r) { p.before[r.text(0)] = entryOf(r); }); });
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
    if (appliedBefore(p.sha)) return true;
    if (p.full && !p.baseline && !removalsAllowed(item, p, released)) return false;
    if (p.full) addRemovals(p);
    const std::size_t changed = p.after.size(), events = p.events.size(), households = p.touched.size();
    addDerivedSets(item, p, unit.emission.sets);
    unit.emission.state = registerUpdate(item, p, released);
    logger_->information("'%s' (%s%s): %z residents changed, %z move events, %z households", item.name,
                         std::string(p.full ? "full extract" : "differential"),
                         std::string(p.baseline ? ", baseline" : ""), changed, events, households);
    return true;
  }

  /// What one export does to the register, gathered while it is read.
  struct ExportPass {
    bool full = false, baseline = false;
    std::string sha;                                // of exactly the bytes read (the host's copy)
    std::unordered_map<std::string, Entry> before;  // full extract: the register before it
    std::unordered_set<std::string> seen;           // full extract: residents it lists
    std::unordered_map<std::string, Entry> after;   // residents it changes (the last row of one wins)
    std::unordered_set<std::string> touched;        // their households, before and after
    std::vector<Event> events;
  };

  inline static const std::string kColumns =
      "SELECT resident_code, household_no, relationship, reason, moved, current_flag FROM ";
  static Entry entryOf(StateRows& r) { return Entry{r.text(1), r.text(2), r.text(3), r.text(4), r.integer(5) != 0}; }

  bool registerEmpty() {
    bool empty = true;
    state_->read([&](StateSession& s) {
      s.query("SELECT COUNT(*) FROM (SELECT 1 FROM " + register_ + " LIMIT 1) AS any_row", {},
              [&](StateRows& r) { empty = r.integer(0) == 0; });
    });
    return empty;
  }

  bool appliedBefore(const std::string& sha) {
    bool applied = false;
    state_->read([&](StateSession& s) {
      s.query("SELECT 1 FROM " + exports_ + " WHERE sha256 = ?", {sha}, [&](StateRows&) { applied = true; });
    });
    return applied;
  }

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
    Entry e{field(1), field(2), field(3), field(4), false};
    e.current = !removal_.count(e.reason);
    std::optional<Entry> previous;
    if (auto a = p.after.find(code); a != p.after.end()) {
      previous = a->second;
    } else if (p.full) {
      if (auto b = p.before.find(code); b != p.before.end()) previous = b->second;
      p.seen.insert(code);
    } else if (!p.baseline) {
      s.query(kColumns + register_ + " WHERE resident_code = ?", {code},
              [&](StateRows& row) { previous = entryOf(row); });
    }
    const Entry* prev = previous ? &*previous : nullptr;
    const bool moved = !prev || prev->reason != e.reason || prev->moved != e.moved;
    const bool householdChanged = prev && prev->household != e.household;
    if (!moved && !householdChanged && prev->relationship == e.relationship && prev->current == e.current) return;
    if (!p.baseline && (moved || householdChanged)) {
      Event ev;
      ev.code = moved ? e.reason : std::string();
      ev.name = moved ? reasonName(e.reason) : "世帯変更";  // same move, another household
      ev.resident = code;
      ev.household = e.household;
      ev.previousHousehold = prev ? prev->household : std::string();
      ev.moved = e.moved;
      ev.notified = field(5);
      p.events.push_back(std::move(ev));
    }
    if (prev) p.touched.insert(prev->household);
    p.touched.insert(e.household);
    p.after[code] = std::move(e);
  }

  /// A truncated full extract looks like residents leaving: refused above
  /// the share an operator set, with the counts (holdReason_), unless an
  /// operator released it.
  bool removalsAllowed(const Intake& item, const ExportPass& p, const std::optional<std::string>& released) {
    std::size_t current = 0, removed = 0;
    for (const auto& [code, e] : p.before) {
      if (!e.current) continue;
      ++current;
      if (!p.seen.count(code)) ++removed;
    }
    // A few removals are never held (a small register's ordinary day).
    const bool tooMany =
        removed > kAlwaysRemovable && removed * 100 > static_cast<std::size_t>(maxFullRemoval_) * current;
    if (tooMany && !released) {
      holdReason_ = "full extract '" + printable(item.name) + "' would remove " + std::to_string(removed) + " of " +
                    std::to_string(current) + " current residents (" +
                    std::to_string(current ? removed * 100 / current : 0) + "%), more than max-full-removal (" +
                    std::to_string(maxFullRemoval_) + "%): held, nothing of it was taken in. Check that the "
                    "export is complete (a cut-off file looks like residents leaving); to take it in anyway, "
                    "renkei resident release --config <config> --file '" + printable(item.name) + "'";
      return false;
    }
    if (tooMany)
      logger_->warning("'%s': released by %s (renkei resident release): removes %z of %z current residents",
                       printable(item.name), printable(*released), removed, current);
    return true;
  }

  /// Residents missing from a full extract are no longer in the register.
  void addRemovals(ExportPass& p) {
    for (const auto& [code, e] : p.before) {
      if (p.seen.count(code) || !e.current) continue;
      Event ev;
      ev.name = "消除";
      ev.resident = code;
      ev.household = e.household;
      ev.previousHousehold = e.household;
      p.events.push_back(std::move(ev));
      Entry gone = e;
      gone.current = false;
      p.after[code] = gone;
      p.touched.insert(e.household);
    }
  }

  /// The move events and the households touched (with their current
  /// members after this export: the register's, unless this export changes
  /// them, and this export's) as record sets for the routes.
  void addDerivedSets(const Intake& item, const ExportPass& p, std::vector<RecordSet>& sets) {
    static const auto eventNames = std::make_shared<const FieldNames>(
        FieldNames{"event_id", "event", "event_code", "resident_code", "household_no", "previous_household_no",
                   "move_date", "notified_date", "export", "export_kind"});
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
      r.set(9, p.full ? "full" : "differential");
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
      const Entry* entry;
    };
    std::vector<std::pair<std::string, Entry>> kept;  // register members this export leaves alone
    if (!p.baseline) {
      state_->read([&](StateSession& s) {
        for (const std::string& h : p.touched)
          s.query(kColumns + register_ + " WHERE household_no = ?", {h}, [&](StateRows& r) {
            if (!p.after.count(r.text(0))) kept.emplace_back(r.text(0), entryOf(r));
          });
      });
    }
    std::vector<Member> members;
    members.reserve(p.after.size() + kept.size());
    for (const auto& [code, e] : p.after) members.push_back({&e.household, code, &e});
    for (const auto& [code, e] : kept) members.push_back({&e.household, code, &e});
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
        if (m->entry->relationship == householderCode_ && householder.empty()) householder = m->code;
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
  /// written in key order: the register's B-tree then grows at its end
  /// instead of rewriting pages all over.
  std::function<void(StateSession&)> registerUpdate(const Intake& item, ExportPass& p,
                                                   const std::optional<std::string>& releasedBy) {
    const bool released = releasedBy.has_value();
    const std::int64_t now = services_->nowMs();
    const std::int64_t events = static_cast<std::int64_t>(p.events.size());
    const std::int64_t households = static_cast<std::int64_t>(p.touched.size());
    auto changed = std::make_shared<std::unordered_map<std::string, Entry>>(std::move(p.after));
    auto rows = std::make_shared<std::vector<const std::pair<const std::string, Entry>*>>();
    rows->reserve(changed->size());
    for (const auto& row : *changed) rows->push_back(&row);
    std::sort(rows->begin(), rows->end(), [](auto* a, auto* b) { return a->first < b->first; });
    return [this, changed, rows, released, name = item.name, sha = p.sha, full = p.full, now, events,
            households](StateSession& s) {
      const std::string upsert = "INSERT INTO " + register_ +
                                 " (resident_code, household_no, relationship, reason, moved, current_flag) VALUES "
                                 "(?, ?, ?, ?, ?, ?) ON CONFLICT (resident_code) DO UPDATE SET "
                                 "household_no = excluded.household_no, relationship = excluded.relationship, "
                                 "reason = excluded.reason, moved = excluded.moved, current_flag = excluded.current_flag";
      for (const auto* row : *rows) {
        const auto& [code, e] = *row;
        s.run(upsert, {code, e.household, e.relationship, e.reason, e.moved, std::int64_t{e.current}});
      }
      if (released) s.run("DELETE FROM " + released_ + " WHERE name = ? AND sha256 = ?", {name, sha});
      s.run("INSERT INTO " + exports_ +
                " (sha256, name, kind, applied_ms, events, households) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (sha256) DO NOTHING",
            {sha, name, std::string(full ? "full" : "differential"), now, events, households});
    };
  }

  /// Moves a claimed export from processing/ into held/ with the reason
  /// beside it (file transport; with odbc the export is refused through the
  /// host: error/ of the spool).
  void hold(const Intake& item) {
    if (directory_.empty()) {
      logger_->error("%s", holdReason_);
      inner_->source()->finish(item, Disposition::Failed, holdReason_);
      return;
    }
    const fs::path held = directory_ / "held";
    std::error_code ec;
    fs::create_directories(held, ec);
    const fs::path to = held / item.name;
    if (::renameat2(AT_FDCWD, item.path.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
      // Cannot hold it (a name already held): refused instead, never taken.
      logger_->error("%s (cannot move it to held/: %s; moved to error/)", holdReason_, std::strerror(errno));
      inner_->source()->finish(item, Disposition::Failed, holdReason_);
      return;
    }
    const std::string error =
        writeFileAtomically(held, held / (item.name + ".held.txt"), "reason: " + holdReason_ + "\n", fsync_);
    if (!error.empty()) logger_->error("held/%s: reason file not written: %s", printable(item.name), error);
    logger_->warning("%s", holdReason_);
  }

  /// Who released this export (its name and content) with `renkei resident
  /// release`, or nothing: only such an export skips the removal check.
  std::optional<std::string> releasedBy(const std::string& name, const std::string& sha) {
    std::optional<std::string> who;
    state_->read([&](StateSession& s) {
      s.query("SELECT released_by FROM " + released_ + " WHERE name = ? AND sha256 = ?", {name, sha},
              [&](StateRows& row) { who = row.text(0); });
    });
    return who;
  }

  static std::optional<std::string> sha256OfFile(const fs::path& path, std::string& hex) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "cannot read '" + printable(path.string()) + "'";
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    hex = seal::sha256Hex(bytes);
    return std::nullopt;
  }

  /// Index of kFields[i] in the records' names (found once per layout).
  std::size_t fieldIndex(const Record& r, std::size_t i) {
    if (indexNames_ != r.names().get()) {
      indexNames_ = r.names().get();
      for (std::size_t k = 0; k < kFields.size(); ++k) {
        index_[k] = r.size();
        for (std::size_t j = 0; j < r.size(); ++j)
          if (r.name(j) == kFields[k]) index_[k] = j;
        if (index_[k] == r.size() && k != 6)  // 削除フラグ may be missing
          throw std::runtime_error("the layout '" + layout_.string() + "' has no field " + kFields[k]);
      }
    }
    return index_[i];
  }

  Poco::Logger* logger_ = nullptr;
  std::string id_;
  HostServices* services_ = nullptr;
  StateStore* state_ = nullptr;
  std::unique_ptr<Connector> inner_;
  std::string transport_;
  fs::path layout_;
  std::vector<std::string> fullPatterns_;
  std::string householderCode_;
  fs::path directory_;  ///< the drop folder (file transport), for held/ and release/
  std::int64_t maxFullRemoval_ = 5;
  static constexpr std::size_t kAlwaysRemovable = 10;  ///< removals never held, whatever the share
  std::string holdReason_;
  std::string released_;  ///< releases by renkei resident release, not yet applied
  bool fsync_ = true;
  std::set<std::string> removal_;
  std::map<std::string, std::string> reasons_;
  std::string register_, exports_;
  // The fields the domain pass reads, in this order.
  inline static const std::vector<std::string> kFields{"住民票コード", "世帯番号", "続柄", "異動事由",
                                                       "異動日", "届出日", "削除フラグ"};
  const FieldNames* indexNames_ = nullptr;
  std::size_t index_[7] = {};
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
