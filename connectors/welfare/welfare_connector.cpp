// The welfare connector (福祉・税の窓口データ): one window data type of the
// welfare and tax core systems per instance — 国民健康保険, 児童手当, 介護保険,
// 後期高齢者医療, 印鑑登録, マイナンバーカード … — as the core system exports
// it (file drop or ODBC view, full or differential, header/data/trailer
// checked by the layout), with the program file saying which field keys a
// row to a person, when a row means the person has left the program, and
// which facts rules use. For every export the host takes in it derives
//   welfare.<program>  one record per person whose facts changed: the
//                      person's key, 住民票コード, whether in the program,
//                      and the facts (booleans, dates, short codes)
// and keeps only the facts in its register: never an amount or a 滞納
// detail (the export's own fields reach routes through their mappings and
// PII classes, as any source's). A row for a person the resident register
// does not know is held (reported, counted, taken when the person is
// known), never dropped; a full export that would end too many recipients
// is held in held/ until an operator releases it.
#include <Poco/Logger.h>

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "register_kit.h"
#include "renkei/support/seal.h"
#include "renkei/json.h"
#include "renkei/sdk.h"
#include "renkei/text.h"
#include "welfare_program.h"

namespace fs = std::filesystem;

namespace renkei::connectors::welfare {
namespace {

const renkei_config_key kOwnKeys[] = {
    {"transport", "enum(file|odbc)", "file", 0,
     "How exports arrive: 'file' (a drop folder: directory, pattern … as for the file connector) or 'odbc' "
     "(a polled view: connection, query, spool … as for the odbc connector)."},
    {"program", "path", nullptr, 1,
     "The program file (urn:renkei:welfare:1, e.g. mappings/welfare/kokuho.xml): the person key, when a row has "
     "left the program, the facts. Its id names the derived record type welfare.<id>."},
    {"layout", "path", nullptr, 1,
     "Layout of the export (e.g. mappings/layouts/welfare-kokuho-csv.xml); header and trailer records with the "
     "trailer's count are checked there: an export whose count disagrees is refused whole."},
    {"full-pattern", "list", "*FULL*;*full*;*ZENKEN*", 0,
     "Export names that are full extracts (globs separated by ';'); any other is a differential. A person "
     "missing from a full extract has left the program."},
    {"max-full-removal", "int", "20", 0,
     "Percent of the program's current recipients a full extract may end (up to 10 always allowed). A full "
     "extract that would end more (a cut-off file) is held in <directory>/held/ with the counts until an "
     "operator releases it: `renkei welfare release --file NAME`, or from the console."},
    {"unknown-persons", "enum(hold|take)", "hold", 0,
     "A row whose person the resident register (the config's resident connector) does not know: 'hold' keeps "
     "its facts aside, counted and listed (`renkei welfare unknown`), until an export finds the person "
     "known; 'take' takes it as it is (a program of non-residents, 住登外)."},
    {"known-from", "list", "resident", 0,
     "The registers a row's person is looked for in, in order (separated by ';'): 'resident' (the resident "
     "connector's), and e.g. 'jutogai' (住登外, a jlis connector's offer). A name no instance offers is said at start."},
    {"recheck-interval", "duration", "10m", 0,
     "How often rows held for unknown persons are looked up again between exports (on the intake's turn; the "
     "first turn of a run looks at once): those now known are taken, their facts sent. 0s: only when the "
     "program's next export comes."},
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

enum Column : std::size_t { kResidentCode, kFacts };

class WelfareConnector final : public kit::ExportConnector {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    logger_ = context.logger;
    id_ = context.id;
    services_ = context.services;
    if (!services_) throw ConfigError("the welfare connector needs the host's store (no services offered)");
    Diagnostics diags;
    auto program = loadProgram(settings.getPath("program"), diags);
    if (!program) throw ConfigError("program: " + diags.format());
    program_ = std::move(*program);
    layout_ = settings.getPath("layout");
    std::error_code ec;
    if (!fs::is_regular_file(layout_, ec)) throw ConfigError("layout: '" + layout_.string() + "' does not exist");
    fullPatterns_ = settings.getList("full-pattern");
    guard_.maxPercent = static_cast<int>(settings.getInt("max-full-removal"));
    if (guard_.maxPercent < 0 || guard_.maxPercent > 100) throw ConfigError("max-full-removal: a percent from 0 to 100");
    holdUnknown_ = settings.getString("unknown-persons") == "hold";
    knownFrom_ = settings.getList("known-from");
    recheckInterval_ = settings.getDuration("recheck-interval");
    fsync_ = settings.getBool("fsync");
    madeField_ = settings.getString("made-field");
    configureTransport(settings, context, settings.getString("transport"));
    if (context.validating) return;
    openState();
    if (AdminRegistry* admin = services_->admin()) {
      if (held_) held_->addPages(*admin, id_, [this] { return services_->nowMs(); });
      admin->addHandler("unknown", "rows held for a person the resident register does not know: how many, keys masked",
                        "view", [this](const AdminRequest&) {
                          AdminResponse r;
                          std::size_t n = 0;
                          std::string keys;
                          for (const auto& key : unknownKeys(200)) {
                            keys += (n++ ? "," : "") + jsonQuoted("…" + key.substr(key.size() > 3 ? key.size() - 3 : 0));
                          }
                          r.body = "{\"connector\":" + jsonQuoted(id_) + ",\"program\":" + jsonQuoted(program_.id) +
                                   ",\"unknown\":" + std::to_string(unknownCount()) + ",\"keys\":[" + keys + "]}\n";
                          return r;
                        });
    }
  }

  void start() override {
    residents_.clear();
    for (const std::string& name : knownFrom_) {
      if (auto lookup = services_->registers().find(name)) residents_.push_back(std::move(lookup));
      else
        logger_->warning("known-from: no instance of this config offers the register '%s'", name);
    }
    if (residents_.empty() && holdUnknown_)
      logger_->warning("no register to look persons up in (known-from): rows of %s are not checked", program_.id);
    unknownGauge().set(static_cast<double>(unknownCount()));
  }

  std::optional<fs::path> layout() const override { return layout_; }

  /// On the intake's turn (the thread that runs prepare(), so the two never
  /// overlap): now and then, the rows held for unknown persons looked up
  /// again.
  std::optional<Intake> claim() override {
    const auto now = std::chrono::steady_clock::now();
    if (holdUnknown_ && !residents_.empty() && recheckInterval_.count() > 0 &&
        (!rechecked_ || now - lastRecheck_ >= recheckInterval_)) {
      rechecked_ = true;
      lastRecheck_ = now;
      try {
        recheckUnknown();
      } catch (const std::exception& e) {
        logger_->warning("rows held for unknown persons not looked at again now: %s", std::string(e.what()));
      }
    }
    return ExportConnector::claim();
  }

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

  /// renkei welfare held | release --file NAME | unknown
  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    openState();
    if (request.action == "unknown") {
      OperatorResult r;
      const auto keys = unknownKeys(1000);
      for (const std::string& k : keys) r.output += printable(k) + "\n";
      r.output += std::to_string(unknownCount()) + " rows of " + program_.id + " (" + program_.name +
                  ") wait for a person the resident register does not know; each is taken once the person is "
                  "known (looked at again every recheck-interval and at each export)\n";
      return r;
    }
    if (request.action != "held" && request.action != "release") return std::nullopt;
    if (!held_) {
      OperatorResult r;
      r.status = 2;
      r.error = "connector '" + id_ + "' takes exports over ODBC: a held export is refused into the spool's error/";
      return r;
    }
    return held_->operate(request, services_->nowMs());
  }

 private:
  struct ExportChanged : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

  struct Waiting {  // a row held for an unknown person
    std::string facts;
    bool current = true;
  };

  /// A row read, waiting for its person to be checked (in chunks: one
  /// read of the resident register per chunk, not per row).
  struct Row {
    std::string key, facts;
    bool current = true;
  };

  struct ExportPass : kit::Pass {
    using kit::Pass::Pass;
    std::string sha, made;  // made: the header's 作成年月日 as YYYY-MM-DD ('' unknown)
    std::unordered_map<std::string, Waiting> unknown;  // this export's rows for unknown persons
    std::vector<Row> chunk;                            // rows read, persons not checked yet
    std::size_t rows = 0, noKey = 0, reused = 0, unreadable = 0;
    /// Whether this export names `key` (changed it, or holds it for an
    /// unknown person; an unchanged row's key is in the register already).
    bool names(const std::string& key) const { return changes().count(key) || unknown.count(key); }
  };
  static constexpr std::size_t kChunk = 4096;

  void openState() {
    if (state_) return;
    state_ = &services_->state();
    state_->migrate({
        kit::Register::createStep(kSpec) + kit::ExportLedger::createStep("exports", {"changed", "unknown"}) +
            kit::HeldExports::createStep("releases") +
            "CREATE TABLE {unknown} (person_key TEXT PRIMARY KEY, facts TEXT NOT NULL, current_flag BIGINT NOT NULL, "
            "export TEXT NOT NULL, at_ms BIGINT NOT NULL);",
        // The date each export says it was made (its header), so a
        // differential older than the last full extract is held.
        kit::ExportLedger::madeStep("exports"),
    });
    register_ = std::make_unique<kit::Register>(*state_, kSpec);
    exports_ =
        std::make_unique<kit::ExportLedger>(*state_, "exports", std::vector<std::string>{"changed", "unknown"}, true);
    unknown_ = state_->table("unknown");
    if (!directory_.empty())
      held_ = std::make_unique<kit::HeldExports>(directory_, *state_, "releases", "renkei welfare", fsync_);
  }

  bool isFull(const std::string& name) const {
    for (const auto& p : fullPatterns_)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    return false;
  }

  bool derive(const Intake& item, const std::optional<std::string>& released, const std::string& hostSha,
              ItemUnit& unit) {
    ExportPass p(*register_, isFull(item.name));
    if (auto error = readExport(item, p)) {
      logger_->error("'%s': no facts derived: %s", item.name, *error);
      return true;
    }
    if (p.sha != hostSha)
      throw ExportChanged("the export changed between the host's read and the register's: its content differs "
                          "(a file must not be written to after it is dropped)");
    if (exports_->applied(p.sha)) return true;
    if (!p.full() && !released)
      if (auto why = kit::staleDifferential(item.name, p.made, exports_->lastFullMade(), "renkei welfare")) {
        holdReason_ = *why;
        return false;
      }
    if (p.full() && !p.baseline()) {
      const kit::Pass::Missing m = p.missing();
      if (guard_.tooMany(m) && !released) {
        holdReason_ = "full extract '" + printable(item.name) + "' would end " + std::to_string(m.removed) + " of " +
                      std::to_string(m.current) + " current " + program_.recipients + " of " + program_.id + " (" +
                      std::to_string(m.current ? m.removed * 100 / m.current : 0) + "%), more than max-full-removal (" +
                      std::to_string(guard_.maxPercent) + "%): held, nothing of it was taken in. Check that the "
                      "export is complete; to take it in anyway, renkei welfare release --config <config> --file '" +
                      printable(item.name) + "'";
        return false;
      }
      if (guard_.tooMany(m))
        logger_->warning("'%s': released by %s (renkei welfare release): ends %z of %z current %s",
                         printable(item.name), printable(*released), m.removed, m.current, program_.recipients);
      p.endMissing([](const std::string&, const kit::Snapshot&) {});
    }
    // Rows held before for unknown persons: taken now that the person is
    // known (unless this export says something newer of them).
    std::vector<std::string> resolved;
    state_->read([&](StateSession& s) {
      const auto earlier = earlierUnknown(s);
      std::vector<std::string> keys;
      for (const auto& [key, waiting] : earlier)
        if (!p.names(key)) keys.push_back(key);
      const auto known = residentCodes(keys);
      for (const auto& [key, waiting] : earlier) {
        if (p.names(key)) {
          resolved.push_back(key);  // this export's row supersedes it
          continue;
        }
        if (auto code = known.find(key); code != known.end()) {
          resolved.push_back(key);
          p.previous(s, key);
          p.change(key, kit::Snapshot{{code->second, waiting.facts}, waiting.current});
        } else if (p.full()) {
          resolved.push_back(key);  // a full extract no longer lists it: nothing waits
        }
      }
    });
    if (p.reused) reusedCounter().add(static_cast<double>(p.reused));
    if (p.unreadable) unreadableCounter().add(static_cast<double>(p.unreadable));
    const std::size_t changed = p.changes().size(), waiting = p.unknown.size();
    // In key order, once: the records (the same export, the same records)
    // and the register's writes (its B-tree grows at its end).
    auto rows = std::make_shared<Rows>(kit::sortedRows(p.changes()));
    addDerivedSet(item, *rows, unit.emission.sets);
    unit.emission.state = update(item, p, rows, released, resolved);
    logger_->information("'%s' (%s%s): %z rows, %z persons changed, %z held for a person not in the resident "
                         "register, %z without a key",
                         item.name, std::string(p.full() ? "full extract" : "differential"),
                         std::string(p.baseline() ? ", baseline" : ""), p.rows, changed, waiting, p.noKey);
    if (p.noKey)
      logger_->warning("'%s': %z rows without %s derive no facts (the export's route and its mapping see them)",
                       item.name, p.noKey, program_.keyField);
    if (p.reused)
      logger_->warning("'%s': %z rows link their %s to another resident than before (a key reused?): the newest "
                       "link is kept",
                       item.name, p.reused, program_.keyField);
    return true;
  }

  /// The 住民票コード of each person the resident register knows, by key
  /// (every key, with "" or the key itself, without a resident register).
  std::unordered_map<std::string, std::string> residentCodes(const std::vector<std::string>& keys) {
    std::unordered_map<std::string, std::string> out;
    if (residents_.empty()) {
      for (const std::string& k : keys) out[k] = program_.residentKey == "resident_code" ? k : std::string();
      return out;
    }
    // Each register in turn, for the keys the ones before did not know.
    std::vector<std::string> left = keys;
    for (const auto& lookup : residents_) {
      if (left.empty()) break;
      for (auto& [value, entry] : lookup->findMany(program_.residentKey, left)) {
        const auto code = entry.fields.find("resident_code");
        out[value] = code == entry.fields.end() ? entry.key : code->second;
      }
      left.erase(std::remove_if(left.begin(), left.end(), [&](const std::string& k) { return out.count(k) > 0; }),
                 left.end());
    }
    return out;
  }

  std::optional<std::string> readExport(const Intake& item, ExportPass& p) {
    const std::vector<std::string> fields = program_.fields();
    std::optional<std::string> error;
    ReadTotals totals;
    state_->read([&](StateSession& s) {
      try {
        error = services_->readRecords(
            layout_, item.path, fields, [&](const Record& r) { readRow(r, s, p, fields); }, totals, &p.sha);
        if (!error) checkPersons(s, p);
        p.made = kit::madeDate(totals, madeField_);
      } catch (const StateError&) {
        throw;
      } catch (const std::runtime_error& e) {
        error = e.what();
      }
    });
    return error;
  }

  void readRow(const Record& r, StateSession& s, ExportPass& p, const std::vector<std::string>& fields) {
    if (indexNames_ != r.names().get()) {
      indexNames_ = r.names().get();
      index_.assign(fields.size(), r.size());
      for (std::size_t k = 0; k < fields.size(); ++k)
        for (std::size_t j = 0; j < r.size(); ++j)
          if (r.name(j) == fields[k]) index_[k] = j;
      if (index_[0] == r.size())
        throw std::runtime_error("the layout '" + layout_.string() + "' has no field " + program_.keyField);
    }
    ++p.rows;
    std::vector<const std::string*> row(fields.size(), nullptr);
    for (std::size_t k = 0; k < fields.size(); ++k)
      if (index_[k] < r.size()) row[k] = &r.value(index_[k]);
    const std::string& key = *row[0];
    if (key.empty()) {
      ++p.noKey;
      return;
    }
    Row read;
    read.key = key;
    read.facts = kit::textArray(program_.compute(row, read.current, p.unreadable));
    p.chunk.push_back(std::move(read));
    if (p.chunk.size() >= kChunk) checkPersons(s, p);
  }

  /// The rows read so far against the register and the residents, in row
  /// order (the last row of a key wins).
  void checkPersons(StateSession& s, ExportPass& p) {
    std::vector<std::string> keys;
    keys.reserve(p.chunk.size());
    for (const Row& r : p.chunk) keys.push_back(r.key);
    const auto known = residentCodes(keys);
    for (Row& r : p.chunk) {
      const std::optional<kit::Snapshot> prev = p.previous(s, r.key);  // marks it seen in a full extract
      const auto found = known.find(r.key);
      if (found == known.end() && holdUnknown_) {
        p.unknown[r.key] = Waiting{std::move(r.facts), r.current};
        continue;
      }
      const std::string code = found == known.end() ? std::string() : found->second;
      p.unknown.erase(r.key);
      if (prev && prev->values[kFacts] == r.facts && prev->current == r.current && prev->values[kResidentCode] == code)
        continue;
      if (prev && !prev->values[kResidentCode].empty() && !code.empty() && prev->values[kResidentCode] != code) ++p.reused;
      p.change(r.key, kit::Snapshot{{code, std::move(r.facts)}, r.current});
    }
    p.chunk.clear();
  }

  std::unordered_map<std::string, Waiting> earlierUnknown(StateSession& s) {
    std::unordered_map<std::string, Waiting> out;
    s.query("SELECT person_key, facts, current_flag FROM " + unknown_, {},
            [&](StateRows& r) { out[r.text(0)] = Waiting{r.text(1), r.integer(2) != 0}; });
    return out;
  }

  std::vector<std::string> unknownKeys(std::size_t limit) {
    std::vector<std::string> out;
    state_->read([&](StateSession& s) {
      s.query("SELECT person_key FROM " + unknown_ + " ORDER BY person_key LIMIT " + std::to_string(limit), {},
              [&](StateRows& r) { out.push_back(r.text(0)); });
    });
    return out;
  }

  std::int64_t unknownCount() {
    std::int64_t n = 0;
    state_->read([&](StateSession& s) {
      s.query("SELECT COUNT(*) FROM " + unknown_, {}, [&](StateRows& r) { n = r.integer(0); });
    });
    return n;
  }

  /// The held rows whose persons are known now: taken through the engine
  /// seam (their facts and the register in one unit, keyed by what it
  /// resolves, so a retry lands once).
  void recheckUnknown() {
    std::unordered_map<std::string, Waiting> waiting;
    state_->read([&](StateSession& s) { waiting = earlierUnknown(s); });
    if (waiting.empty()) return;
    std::vector<std::string> keys;
    for (const auto& [key, w] : waiting) keys.push_back(key);
    const auto known = residentCodes(keys);
    if (known.empty()) return;
    auto changes = std::make_shared<std::unordered_map<std::string, kit::Snapshot>>();
    std::vector<std::string> resolved;
    state_->read([&](StateSession& s) {
      for (const auto& [key, code] : known) {
        const Waiting& w = waiting.at(key);
        resolved.push_back(key);
        const auto prev = register_->find(s, key);
        if (prev && prev->values[kFacts] == w.facts && prev->current == w.current && prev->values[kResidentCode] == code)
          continue;
        (*changes)[key] = kit::Snapshot{{code, w.facts}, w.current};
      }
    });
    std::sort(resolved.begin(), resolved.end());
    std::string what;
    for (const std::string& k : resolved) what += k + "\n" + waiting.at(k).facts + "\n";
    auto rows = std::make_shared<Rows>(kit::sortedRows(*changes));
    Emission e;
    e.key = "recheck-" + seal::sha256Hex(what);
    addDerivedSet(Intake{"(held rows, now known)", {}, 0, false}, *rows, e.sets);
    e.state = [this, changes, rows, resolved](StateSession& s) {
      register_->write(s, *rows);
      for (const std::string& key : resolved) s.run("DELETE FROM " + unknown_ + " WHERE person_key = ?", {key});
      std::int64_t n = 0;
      s.query("SELECT COUNT(*) FROM " + unknown_, {}, [&](StateRows& r) { n = r.integer(0); });
      unknownGauge().set(static_cast<double>(n));
    };
    const Outcome o = services_->emit(e);
    if (o.isOk())
      logger_->information("%z rows held for persons then unknown are taken now (%z with facts changed)",
                           resolved.size(), rows->size());
    else
      logger_->warning("rows held for unknown persons, now known, wait for the next turn: %s", o.message());
  }

  /// welfare.<program>: the persons whose facts changed.
  using Rows = std::vector<const std::pair<const std::string, kit::Snapshot>*>;

  void addDerivedSet(const Intake& item, const Rows& rows, std::vector<RecordSet>& sets) {
    if (!names_) {
      FieldNames names{"program", "person_key", "resident_code", "current"};
      for (const Fact& f : program_.facts) names.push_back(f.name);
      names.push_back("export");
      names_ = std::make_shared<const FieldNames>(std::move(names));
    }
    RecordSet set{"welfare." + program_.id, {}};
    set.records.reserve(rows.size());
    for (const auto* row : rows) {
      const std::string& key = row->first;
      const kit::Snapshot& snap = row->second;
      std::vector<std::string> facts = kit::arrayValues(snap.values[kFacts], program_.facts.size());
      if (!snap.current)  // left the program: its current-facts say so
        for (std::size_t i = 0; i < facts.size(); ++i)
          if (program_.facts[i].kind == Fact::Kind::Current) facts[i] = "false";
      Record r(names_);
      r.set(0, program_.id);
      r.set(1, key);
      r.set(2, snap.values[kResidentCode]);
      r.set(3, snap.current ? "true" : "false");
      for (std::size_t i = 0; i < facts.size(); ++i) r.set(4 + i, facts[i]);
      r.set(4 + facts.size(), item.name);
      set.records.push_back(std::move(r));
    }
    if (!set.records.empty()) sets.push_back(std::move(set));
  }

  std::function<void(StateSession&)> update(const Intake& item, ExportPass& p, std::shared_ptr<Rows> rows,
                                            const std::optional<std::string>& released,
                                            std::vector<std::string> resolved) {
    const std::int64_t now = services_->nowMs();
    const std::int64_t changed = static_cast<std::int64_t>(p.changes().size());
    const std::int64_t unknown = static_cast<std::int64_t>(p.unknown.size());
    auto changes = p.takeChanges();  // the nodes `rows` points to move with it
    auto waiting = std::make_shared<std::unordered_map<std::string, Waiting>>(std::move(p.unknown));
    return [this, changes, rows, waiting, resolved = std::move(resolved), released = released.has_value(),
            name = item.name, sha = p.sha, full = p.full(), now, changed, unknown, made = p.made](StateSession& s) {
      register_->write(s, *rows);
      for (const std::string& key : resolved) s.run("DELETE FROM " + unknown_ + " WHERE person_key = ?", {key});
      for (const auto& [key, w] : *waiting)
        s.run("INSERT INTO " + unknown_ + " (person_key, facts, current_flag, export, at_ms) VALUES (?, ?, ?, ?, ?) "
              "ON CONFLICT (person_key) DO UPDATE SET facts = excluded.facts, current_flag = excluded.current_flag, "
              "export = excluded.export, at_ms = excluded.at_ms",
              {key, w.facts, std::int64_t{w.current}, name, now});
      if (released && held_) held_->applied(s, name, sha);
      exports_->record(s, sha, name, full ? "full" : "differential", now, {changed, unknown}, made);
      std::int64_t n = 0;
      s.query("SELECT COUNT(*) FROM " + unknown_, {}, [&](StateRows& r) { n = r.integer(0); });
      unknownGauge().set(static_cast<double>(n));
    };
  }


  Gauge& unknownGauge() {
    return services_->metrics().gauge("renkei_welfare_unknown_persons",
                                      "Rows held for a person the resident register does not know (renkei welfare "
                                      "unknown)",
                                      {{"program", program_.id}});
  }
  Counter& reusedCounter() {
    return services_->metrics().counter("renkei_welfare_key_reused_total",
                                         "Rows whose person key links to another resident than before",
                                         {{"program", program_.id}});
  }
  Counter& unreadableCounter() {
    return services_->metrics().counter("renkei_welfare_unreadable_facts_total",
                                        "Facts left empty: a date or code the row did not give properly",
                                        {{"program", program_.id}});
  }

  inline static const kit::RegisterSpec kSpec{"register", "person_key", {"resident_code", "facts"}, {"resident_code"}};

  Poco::Logger* logger_ = nullptr;
  std::string id_, madeField_;
  HostServices* services_ = nullptr;
  StateStore* state_ = nullptr;
  Program program_;
  fs::path layout_;
  std::vector<std::string> fullPatterns_;
  kit::RemovalGuard guard_{20, 10};
  bool holdUnknown_ = true, fsync_ = true;
  std::string holdReason_, unknown_;
  std::unique_ptr<kit::Register> register_;
  std::unique_ptr<kit::ExportLedger> exports_;
  std::vector<std::string> knownFrom_;
  std::chrono::milliseconds recheckInterval_{600000};
  std::chrono::steady_clock::time_point lastRecheck_{};
  bool rechecked_ = false;
  std::vector<std::shared_ptr<RegisterLookup>> residents_;
  std::shared_ptr<const FieldNames> names_;
  const FieldNames* indexNames_ = nullptr;
  std::vector<std::size_t> index_;
};

}  // namespace
}  // namespace renkei::connectors::welfare

namespace {
const renkei_operator_verb kVerbs[] = {
    {"held", "--connector", 1, "--config F [--connector C]",
     "full exports held for ending too many of a program's recipients, with what each would end"},
    {"release", "--connector --file --by", 1, "--config F [--connector C] --file NAME [--by NAME]",
     "take a held export in after checking it (recorded with who; taken in as it is)"},
    {"unknown", "--connector", 1, "--config F [--connector C]",
     "rows held for a person the resident register does not know"},
};
}  // namespace

RENKEI_PLUGIN_VERBS(kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::welfare::WelfareConnector, "welfare", "0.1.0", "experimental",
              "福祉・税の窓口データ (国保, 児童手当, 介護 …) by file drop or ODBC view: per person the facts rules use",
              RENKEI_ROLE_SOURCE | RENKEI_ROLE_EMITTER, renkei::connectors::welfare::allKeys().data(),
              renkei::connectors::welfare::allKeys().size())
