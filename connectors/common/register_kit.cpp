#include "register_kit.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "file_transport.h"
#include "person_match.h"
#include "operator_page.h"
#include "odbc_transport.h"
#include "renkei/files.h"
#include "renkei/json.h"
#include "renkei/support/seal.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::kit {

// ---- ExportConnector --------------------------------------------------------

void ExportConnector::configureTransport(const Settings& settings, const HostContext& context,
                                         const std::string& transport) {
  if (transport == "file") {
    if (!settings.has("directory")) throw ConfigError("transport 'file' needs the key 'directory' (the drop folder)");
    directory_ = settings.getPath("directory");
    auto t = std::make_unique<connectors::file::FileConnector>();
    t->configure(settings, context);
    inner_ = std::move(t);
  } else {
    for (const char* key : {"connection", "query", "spool"})
      if (!settings.has(key)) throw ConfigError(std::string("transport 'odbc' needs the key '") + key + "'");
    auto t = std::make_unique<connectors::odbc::OdbcConnector>();
    t->configure(settings, context);
    inner_ = std::move(t);
  }
  if (!inner_->source()) throw ConfigError("the transport '" + transport + "' is not set up as a source");
}

std::vector<Problem> ExportConnector::problems() {
  if (!held_) return {};
  const std::size_t n = held_->list(1000).size();
  if (n == 0) return {};
  return {{"held-exports", "",
           std::to_string(n) + (n == 1 ? " export waits" : " exports wait") + " in " + (directory_ / "held").string() +
               " (each would remove too much of the register): " + held_->command() +
               " held lists them; release one after checking it, or remove it"}};
}

void ExportConnector::holdExport(const Intake& item, const std::string& reason, HeldExports* held, Poco::Logger& log) {
  if (!held) {
    log.error("%s", reason);
    inner_->source()->finish(item, Disposition::Failed, reason);
    return;
  }
  if (const auto error = held->hold(item.path, item.name, reason)) {
    if (error->rfind("cannot move", 0) == 0) {
      // Cannot hold it (a name already held): refused instead, never taken.
      log.error("%s (%s; moved to error/)", reason, *error);
      inner_->source()->finish(item, Disposition::Failed, reason);
      return;
    }
    log.error("%s", *error);
  }
  log.warning("%s", reason);
}

std::string textArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + jsonQuoted(values[i]);
  return out + "]";
}

std::vector<std::string> arrayValues(const std::string& text, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 1; i < text.size() && out.size() < n;) {
    const std::size_t q = text.find('"', i);
    if (q == std::string::npos) break;
    std::string v;
    std::size_t j = q + 1;
    for (; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] == '\\' && j + 1 < text.size()) ++j;
      v += text[j];
    }
    out.push_back(std::move(v));
    i = j + 1;
  }
  out.resize(n);
  return out;
}

std::vector<renkei_config_key> withTransportKeys(const renkei_config_key* own, std::size_t n) {
  std::vector<renkei_config_key> out(own, own + n);
  auto add = [&](const renkei_config_key* keys, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      const bool seen = std::any_of(out.begin(), out.end(),
                                    [&](const renkei_config_key& k) { return std::string(k.key) == keys[i].key; });
      if (seen) continue;
      renkei_config_key k = keys[i];
      k.required = 0;
      out.push_back(k);
    }
  };
  add(connectors::file::kKeys, connectors::file::kKeyCount);
  add(connectors::odbc::kKeys, connectors::odbc::kKeyCount);
  return out;
}

// ---- Register ---------------------------------------------------------------

Register::Register(StateStore& state, RegisterSpec spec) : state_(state), spec_(std::move(spec)) {
  table_ = state_.table(spec_.table);
  std::string columns = spec_.key, marks = "?", updates;
  for (const std::string& c : spec_.columns) {
    columns += ", " + c;
    marks += ", ?";
    updates += c + " = excluded." + c + ", ";
  }
  select_ = "SELECT " + columns + ", current_flag FROM " + table_;
  upsert_ = "INSERT INTO " + table_ + " (" + columns + ", current_flag) VALUES (" + marks + ", ?) ON CONFLICT (" +
            spec_.key + ") DO UPDATE SET " + updates + "current_flag = excluded.current_flag";
}

std::string Register::createStep(const RegisterSpec& spec) {
  std::string sql = "CREATE TABLE {" + spec.table + "} (" + spec.key + " TEXT PRIMARY KEY";
  for (const std::string& c : spec.columns) sql += ", " + c + " TEXT NOT NULL";
  sql += ", current_flag BIGINT NOT NULL);";
  for (const std::string& c : spec.indexed)
    sql += "CREATE INDEX {" + spec.table + "_" + c + "} ON {" + spec.table + "} (" + c + ");";
  return sql;
}

std::size_t Register::column(const std::string& name) const {
  const auto it = std::find(spec_.columns.begin(), spec_.columns.end(), name);
  if (it == spec_.columns.end()) throw std::logic_error("register " + spec_.table + ": no column " + name);
  return static_cast<std::size_t>(it - spec_.columns.begin());
}

namespace {
Snapshot snapshotOf(StateRows& r, std::size_t columns) {
  Snapshot s;
  s.values.reserve(columns);
  for (std::size_t i = 0; i < columns; ++i) s.values.push_back(r.text(static_cast<int>(i + 1)));
  s.current = r.integer(static_cast<int>(columns + 1)) != 0;
  return s;
}
}  // namespace

bool Register::empty() {
  bool empty = true;
  state_.read([&](StateSession& s) {
    s.query("SELECT COUNT(*) FROM (SELECT 1 FROM " + table_ + " LIMIT 1) AS any_row", {},
            [&](StateRows& r) { empty = r.integer(0) == 0; });
  });
  return empty;
}

std::unordered_map<std::string, Snapshot> Register::all() {
  std::unordered_map<std::string, Snapshot> out;
  const std::size_t n = spec_.columns.size();
  state_.read([&](StateSession& s) { s.query(select_, {}, [&](StateRows& r) { out[r.text(0)] = snapshotOf(r, n); }); });
  return out;
}

std::optional<Snapshot> Register::find(StateSession& s, const std::string& key) {
  std::optional<Snapshot> out;
  const std::size_t n = spec_.columns.size();
  s.query(select_ + " WHERE " + spec_.key + " = ?", {key}, [&](StateRows& r) { out = snapshotOf(r, n); });
  return out;
}

void Register::findMany(StateSession& s, const std::vector<std::string>& keys,
                        const std::function<void(const std::string&, Snapshot)>& each) {
  whereIn(s, spec_.key, keys, each);
}

void Register::byColumnMany(StateSession& s, const std::string& column, const std::vector<std::string>& values,
                            const std::function<void(const std::string&, Snapshot)>& each) {
  whereIn(s, spec_.columns.at(this->column(column)), values, each);
}

void Register::whereIn(StateSession& s, const std::string& column, const std::vector<std::string>& keys,
                       const std::function<void(const std::string&, Snapshot)>& each) {
  const std::size_t n = spec_.columns.size();
  constexpr std::size_t kPerStatement = 500;
  std::vector<StateValue> params;
  for (std::size_t at = 0; at < keys.size(); at += kPerStatement) {
    const std::size_t count = std::min(kPerStatement, keys.size() - at);
    std::string marks;
    params.clear();
    for (std::size_t i = 0; i < count; ++i) {
      marks += i ? ", ?" : "?";
      params.emplace_back(keys[at + i]);
    }
    s.query(select_ + " WHERE " + column + " IN (" + marks + ")", params,
            [&](StateRows& r) { each(r.text(0), snapshotOf(r, n)); });
  }
}

void Register::byColumn(StateSession& s, const std::string& column, const std::string& value,
                        const std::function<void(const std::string&, Snapshot)>& each) {
  const std::size_t n = spec_.columns.size();
  s.query(select_ + " WHERE " + spec_.columns.at(this->column(column)) + " = ?", {value},
          [&](StateRows& r) { each(r.text(0), snapshotOf(r, n)); });
}

void Register::write(StateSession& s, const std::vector<const std::pair<const std::string, Snapshot>*>& rows) {
  std::vector<StateValue> params;
  for (const auto* row : rows) {
    params.clear();
    params.emplace_back(row->first);
    for (const std::string& v : row->second.values) params.emplace_back(v);
    params.emplace_back(std::int64_t{row->second.current});
    s.run(upsert_, params);
  }
}

std::vector<const std::pair<const std::string, Snapshot>*> sortedRows(
    const std::unordered_map<std::string, Snapshot>& changes) {
  std::vector<const std::pair<const std::string, Snapshot>*> rows;
  rows.reserve(changes.size());
  for (const auto& row : changes) rows.push_back(&row);
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
  return rows;
}

// ---- OfferedRegister --------------------------------------------------------

OfferedRegister::OfferedRegister(Register& reg, StateStore& state, std::string keyName, std::vector<std::string> byColumns,
                                 std::vector<std::string> shared)
    : reg_(reg), state_(state), keyName_(std::move(keyName)), byColumns_(std::move(byColumns)), shared_(std::move(shared)) {
  for (const std::string& c : byColumns_) reg_.column(c);  // throws for a column it has not
  for (const std::string& c : shared_) reg_.column(c);
}

std::vector<std::string> OfferedRegister::keys() const {
  std::vector<std::string> out{keyName_};
  out.insert(out.end(), byColumns_.begin(), byColumns_.end());
  return out;
}

RegisterEntry OfferedRegister::entry(const std::string& key, const Snapshot& s) const {
  RegisterEntry e;
  e.key = key;
  e.current = s.current;
  e.fields[keyName_] = key;
  for (const std::string& c : shared_) e.fields[c] = s.values[reg_.column(c)];
  return e;
}

std::optional<RegisterEntry> OfferedRegister::find(const std::string& keyName, const std::string& value) {
  auto found = findMany(keyName, {value});
  if (found.empty()) return std::nullopt;
  return std::move(found.begin()->second);
}

std::map<std::string, RegisterEntry> OfferedRegister::findMany(const std::string& keyName,
                                                                const std::vector<std::string>& values) {
  std::map<std::string, RegisterEntry> out;
  const bool byKey = keyName == keyName_;
  if (!byKey && std::find(byColumns_.begin(), byColumns_.end(), keyName) == byColumns_.end()) return out;
  state_.read([&](StateSession& s) {
    if (byKey) {
      std::vector<std::string> keys;
      keys.reserve(values.size());
      for (const std::string& v : values)
        if (!v.empty()) keys.push_back(v);
      reg_.findMany(s, keys, [&](const std::string& key, Snapshot snapshot) { out.emplace(key, entry(key, snapshot)); });
      return;
    }
    // A column need not be unique (a 宛名番号 reused): the current one
    // wins, else the last found.
    std::vector<std::string> wanted;
    for (const std::string& v : values)
      if (!v.empty()) wanted.push_back(v);
    const std::size_t at = reg_.column(keyName);
    reg_.byColumnMany(s, keyName, wanted, [&](const std::string& key, Snapshot snapshot) {
      auto it = out.find(snapshot.values[at]);
      if (it == out.end()) out.emplace(snapshot.values[at], entry(key, snapshot));
      else if (!it->second.current && snapshot.current) it->second = entry(key, snapshot);
    });
  });
  return out;
}

// ---- Pass -------------------------------------------------------------------

Pass::Pass(Register& reg, bool full) : reg_(reg), full_(full) {
  baseline_ = reg_.empty();
  // A full extract compares against all of the register (to find who is
  // missing); a differential looks up the keys it names.
  if (full_ && !baseline_) before_ = reg_.all();
}

std::optional<Snapshot> Pass::previous(StateSession& s, const std::string& key) {
  if (auto a = after_.find(key); a != after_.end()) return a->second;
  if (full_) {
    seen_.insert(key);
    if (auto b = before_.find(key); b != before_.end()) return b->second;
    return std::nullopt;
  }
  if (baseline_) return std::nullopt;
  return reg_.find(s, key);
}

Pass::Missing Pass::missing() const {
  Missing m;
  if (!full_) return m;
  for (const auto& [key, snapshot] : before_) {
    if (!snapshot.current) continue;
    ++m.current;
    if (!seen_.count(key)) ++m.removed;
  }
  return m;
}

void Pass::endMissing(const std::function<void(const std::string&, const Snapshot&)>& each) {
  if (!full_) return;
  for (const auto& [key, snapshot] : before_) {
    if (seen_.count(key) || !snapshot.current) continue;
    each(key, snapshot);
    Snapshot gone = snapshot;
    gone.current = false;
    after_[key] = std::move(gone);
  }
}

std::shared_ptr<std::unordered_map<std::string, Snapshot>> Pass::takeChanges() {
  return std::make_shared<std::unordered_map<std::string, Snapshot>>(std::move(after_));
}

// ---- ExportLedger -----------------------------------------------------------

ExportLedger::ExportLedger(StateStore& state, std::string table, std::vector<std::string> counts, bool made)
    : state_(state), made_(made) {
  table_ = state_.table(table);
  std::string columns = "sha256, name, kind, applied_ms", marks = "?, ?, ?, ?";
  for (const std::string& c : counts) {
    columns += ", " + c;
    marks += ", ?";
  }
  if (made_) {
    columns += ", made";
    marks += ", ?";
  }
  insert_ = "INSERT INTO " + table_ + " (" + columns + ") VALUES (" + marks + ") ON CONFLICT (sha256) DO NOTHING";
}

std::string ExportLedger::createStep(const std::string& table, const std::vector<std::string>& counts) {
  std::string sql = "CREATE TABLE {" + table +
                    "} (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, applied_ms BIGINT NOT NULL";
  for (const std::string& c : counts) sql += ", " + c + " BIGINT NOT NULL";
  return sql + ");";
}

std::string ExportLedger::madeStep(const std::string& table) {
  return "ALTER TABLE {" + table + "} ADD COLUMN made TEXT NOT NULL DEFAULT '';";
}

std::string ExportLedger::lastFullMade() {
  std::string made;
  if (!made_) return made;
  state_.read([&](StateSession& s) {
    s.query("SELECT coalesce(max(made), '') FROM " + table_ + " WHERE kind = 'full' AND made <> ''", {},
            [&](StateRows& r) { made = r.text(0); });
  });
  return made;
}

std::string madeDate(const ReadTotals& totals, const std::string& field) {
  for (const auto& [name, value] : totals.header)
    if (name == field) return isoDate(value).value_or("");
  return {};
}

std::optional<std::string> staleDifferential(const std::string& name, const std::string& made,
                                             const std::string& lastFull, const std::string& command) {
  if (made.empty() || lastFull.empty() || made >= lastFull) return std::nullopt;
  return "differential '" + printable(name) + "' was made on " + made + ", before the full extract applied last (made " +
         lastFull + "): what it says is older than the register, held, nothing of it was taken in. Check where it "
         "came from; to take it in anyway, " + command + " release --config <config> --file '" + printable(name) + "'";
}

bool ExportLedger::applied(const std::string& sha256) {
  bool applied = false;
  state_.read([&](StateSession& s) {
    s.query("SELECT 1 FROM " + table_ + " WHERE sha256 = ?", {sha256}, [&](StateRows&) { applied = true; });
  });
  return applied;
}

void ExportLedger::record(StateSession& s, const std::string& sha256, const std::string& name, const std::string& kind,
                          std::int64_t atMs, const std::vector<std::int64_t>& counts, const std::string& made) {
  std::vector<StateValue> params{sha256, name, kind, atMs};
  for (std::int64_t n : counts) params.emplace_back(n);
  if (made_) params.emplace_back(made);
  s.run(insert_, params);
}

// ---- HeldExports ------------------------------------------------------------

HeldExports::HeldExports(fs::path directory, StateStore& state, std::string releases, std::string command, bool fsync)
    : directory_(std::move(directory)), held_(directory_ / "held"), state_(state),
      releases_(state.table(releases)), command_(std::move(command)), fsync_(fsync) {}

std::string HeldExports::createStep(const std::string& table) {
  return "CREATE TABLE {" + table +
         "} (name TEXT NOT NULL, sha256 TEXT NOT NULL, released_by TEXT NOT NULL, at_ms BIGINT NOT NULL, "
         "PRIMARY KEY (name, sha256));";
}

std::optional<std::string> HeldExports::hold(const fs::path& claimed, const std::string& name,
                                             const std::string& reason) {
  std::error_code ec;
  fs::create_directories(held_, ec);
  const fs::path to = held_ / name;
  if (::renameat2(AT_FDCWD, claimed.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0)
    return std::string("cannot move it to held/: ") + std::strerror(errno);
  const std::string error = writeFileAtomically(held_, held_ / (name + ".held.txt"), "reason: " + reason + "\n", fsync_);
  if (!error.empty()) return "held/" + printable(name) + ": reason file not written: " + error;
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> HeldExports::list(std::size_t limit) const {
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  for (fs::directory_iterator it(held_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && !n.empty() &&
        (n.size() < 9 || n.compare(n.size() - 9, 9, ".held.txt") != 0))
      out.emplace_back(n, "");
    if (out.size() >= limit) break;
  }
  std::sort(out.begin(), out.end());
  for (auto& [name, why] : out) {
    std::ifstream in(held_ / (name + ".held.txt"));
    std::getline(in, why);
  }
  return out;
}

std::optional<std::string> HeldExports::releasedBy(const std::string& name, const std::string& sha256) {
  std::optional<std::string> who;
  state_.read([&](StateSession& s) {
    s.query("SELECT released_by FROM " + releases_ + " WHERE name = ? AND sha256 = ?", {name, sha256},
            [&](StateRows& row) { who = row.text(0); });
  });
  return who;
}

void HeldExports::applied(StateSession& s, const std::string& name, const std::string& sha256) {
  s.run("DELETE FROM " + releases_ + " WHERE name = ? AND sha256 = ?", {name, sha256});
}

namespace {
std::optional<std::string> sha256OfFile(const fs::path& path, std::string& hex) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "cannot read '" + printable(path.string()) + "'";
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  hex = seal::sha256Hex(bytes);
  return std::nullopt;
}
}  // namespace

std::optional<OperatorResult> HeldExports::operate(const OperatorRequest& request, std::int64_t nowMs) {
  if (request.action != "held" && request.action != "release") return std::nullopt;
  OperatorResult r;
  if (request.action == "held") {
    const auto held = list();
    for (const auto& [name, why] : held) r.output += printable(name) + "  " + printable(why) + "\n";
    r.output += std::to_string(held.size()) + (held.size() == 1 ? " export is" : " exports are") + " held in " +
                printable(held_.string()) + "\n";
    return r;
  }
  const auto file = request.options.find("--file");
  const std::string name = file == request.options.end() ? std::string() : file->second;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    r.status = 2;
    r.error = "--file NAME is required: an export held in " + printable(held_.string()) + " ('" + command_ + " held')";
    return r;
  }
  struct stat st {};
  const fs::path path = held_ / name;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    r.status = 1;
    r.error = "no export '" + printable(name) + "' is held in " + printable(held_.string()) + " ('" + command_ + " held')";
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
  state_.write([&](StateSession& s) {
    s.run("INSERT INTO " + releases_ + " (name, sha256, released_by, at_ms) VALUES (?, ?, ?, ?) "
          "ON CONFLICT (name, sha256) DO NOTHING",
          {name, sha, request.by, nowMs});
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

void HeldExports::addPages(AdminRegistry& admin, const std::string& instance,
                           const std::function<std::int64_t()>& now) {
  admin.addHandler("held", "full exports held for ending too many at once: file and why (release: POST)", "view",
                   [this, instance](const AdminRequest&) {
                     AdminResponse r;
                     std::string list;
                     for (const auto& [name, why] : this->list(1000))  // within the page's deadline
                       list += (list.empty() ? "" : ",") + std::string("{\"file\":") + jsonQuoted(name) +
                               ",\"reason\":" + jsonQuoted(why) + "}";
                     r.body = "{\"connector\":" + jsonQuoted(instance) + ",\"held\":[" + list + "]}\n";
                     return r;
                   });
  admin.addHandler("release", "take a held export in as it is, removals included (POST ?file=NAME)", "operate",
                   [this, now](const AdminRequest& request) {
                     return connectors::operatorPage(request, "release", {"file"},
                                         [&](const OperatorRequest& op) { return operate(op, now()); });
                   });
}

}  // namespace renkei::kit
