// The odbc connector: polling source with a watermark, upsert sink, lookup.
#include "odbc_transport.h"

#include "renkei/connection_string.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

#include "renkei/files.h"
#include "renkei/json.h"

namespace fs = std::filesystem;

namespace renkei::connectors::odbc {

// The keys this connector declares (the plugin library and the domain
// connectors built on it list them).
const renkei_config_key kKeys[] = {
    {"connection", "odbc-connection", nullptr, 1,
     "ODBC connection string without the password, e.g. 'DSN=jumin' or "
     "'Driver={PostgreSQL Unicode};Server=db;Database=jumin;Uid=renkei'."},
    {"password", "secret", nullptr, 0,
     "The password: file:<path> (its first line) or env:<VARIABLE>; read by the host, never written in the "
     "config, never logged."},
    {"password-file", "path", nullptr, 0, "A file holding the password (first line).",
     "give <password>file:…</password> instead (one secret key for every source of a password)"},
    {"password-env", "string", nullptr, 0, "An environment variable holding the password.",
     "give <password>env:…</password> instead (one secret key for every source of a password)"},
    {"query", "string", nullptr, 0,
     "Source: a SELECT with one '?' for the watermark, ordered by the watermark column, e.g. "
     "SELECT * FROM residents WHERE updated_at > ? ORDER BY updated_at, id. Makes the connector a source."},
    {"watermark-column", "string", nullptr, 0,
     "Source: the result column whose value in the last row of a poll becomes the next watermark "
     "(strictly increasing per change, or rows sharing a value across polls are taken once or twice)."},
    {"initial-watermark", "string", "", 0, "Source: the watermark before the first poll ('' takes everything)."},
    {"watermark-check-query", "string", nullptr, 0,
     "Source: a SELECT returning the view's highest watermark (e.g. SELECT MAX(updated_at) FROM residents), run "
     "when a poll finds no row: below the watermark kept, the view's watermark went backwards (a database restored "
     "from a backup, a clock set back) and its rows would never be polled again; on-watermark-backwards says what "
     "follows. Watermarks of digits only compare as numbers, others as text (ISO times compare right)."},
    {"on-watermark-backwards", "enum(hold|rescan)", "hold", 0,
     "Source: 'hold' stops taking rows and reports it (renkei status, the console, "
     "renkei_odbc_watermark_backwards_total) until an operator resets the watermark (removes <spool>/watermark); "
     "'rescan' goes back to initial-watermark and reads every row again — only where a second reading is harmless "
     "(a target that upserts by key, a connector with a register of what it took)."},
    {"interval", "duration", "60s", 0, "Source: time between polls."},
    {"max-rows", "int", "50000", 0, "Source: rows per poll at most (one intake file); the next poll goes on."},
    {"spool", "path", nullptr, 0,
     "Source: folder for polled rows waiting to be taken in (processing/, error/, rejects/) and the "
     "watermark file. Required for a source."},
    {"table", "string", nullptr, 0, "Sink: the table records are upserted into. Makes the connector a sink."},
    {"key", "list", nullptr, 0, "Sink: key columns of the upsert, separated by ',' (a unique key of the table)."},
    {"upsert", "enum(on-conflict|delete-insert)", "on-conflict", 0,
     "Sink: INSERT … ON CONFLICT (key) DO UPDATE (PostgreSQL, SQLite), or DELETE by key then INSERT "
     "(any SQL database), in one transaction per batch."},
    {"empty-as-null", "bool", "true", 0, "Sink: write empty values as NULL."},
    {"lookup-query", "string", nullptr, 0,
     "Lookup: a SELECT with one '?' for the key, e.g. SELECT * FROM residents WHERE code = ?. Makes "
     "the connector a lookup."},
};

const std::size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);
namespace {


std::string quoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string safeName(const std::string& text) {
  std::string out;
  for (char c : text) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_');
  return out.substr(0, 40);
}

}  // namespace

void OdbcConnector::configure(const Settings& settings, const HostContext& context) {
  id_ = context.id;
  logger_ = context.logger;
  connectionString_ = settings.getString("connection");
  // The host refuses a password in it (key type odbc-connection), in
  // `renkei check` too; checked again for hosts that skip the declaration.
  if (!passwordKeyIn(connectionString_).empty())
    throw ConfigError("connection holds a password; use password-file or password-env");
  if (settings.has("password") + settings.has("password-file") + settings.has("password-env") > 1)
    throw ConfigError("give the password one way: password (file:… or env:…), password-file or password-env");
  if (settings.has("password")) password_ = settings.getSecret("password").value;
  if (settings.has("password-file")) passwordFile_ = settings.getPath("password-file");
  if (settings.has("password-env")) passwordEnv_ = settings.getString("password-env");
  if (settings.has("query")) {
    query_ = settings.getString("query");
    if (!settings.has("watermark-column")) throw ConfigError("a source (query) needs watermark-column");
    if (!settings.has("spool")) throw ConfigError("a source (query) needs spool (a folder)");
    watermarkColumn_ = settings.getString("watermark-column");
    spool_ = settings.getPath("spool");
    initialWatermark_ = settings.getString("initial-watermark");
    interval_ = settings.getDuration("interval");
    maxRows_ = settings.getInt("max-rows");
    if (maxRows_ <= 0) throw ConfigError("max-rows must be at least 1");
    if (settings.has("watermark-check-query")) checkQuery_ = settings.getString("watermark-check-query");
    rescanBackwards_ = settings.getString("on-watermark-backwards") == "rescan";
    services_ = context.services;
    if (!context.validating)  // renkei check writes nothing
      for (const char* sub : {"processing", "tmp", "error", "rejects"}) fs::create_directories(spool_ / sub);
  }
  if (settings.has("table")) {
    table_ = settings.getString("table");
    if (!settings.has("key")) throw ConfigError("a sink (table) needs key (its unique key columns)");
    keyColumns_ = settings.getList("key");
    if (keyColumns_.empty()) throw ConfigError("key names no column");
    deleteInsert_ = settings.getString("upsert") == "delete-insert";
    emptyAsNull_ = settings.getBool("empty-as-null");
  }
  if (settings.has("lookup-query")) lookupQuery_ = settings.getString("lookup-query");
  if (query_.empty() && table_.empty() && lookupQuery_.empty())
    throw ConfigError("nothing to do: set query (source), table (sink) or lookup-query (lookup)");
}

OdbcConnection& OdbcConnector::connection() {
  if (!connection_) {
    std::string password = password_;
    if (!passwordFile_.empty()) {
      std::ifstream in(passwordFile_, std::ios::binary);
      if (!in) throw OdbcError("cannot read password-file '" + passwordFile_.string() + "'");
      std::getline(in, password);
      while (!password.empty() && (password.back() == '\r' || password.back() == ' ')) password.pop_back();
    } else if (!passwordEnv_.empty()) {
      if (const char* p = std::getenv(passwordEnv_.c_str())) password = p;
    }
    connection_ = std::make_unique<OdbcConnection>(connectionString_, std::move(password));
  }
  return *connection_;
}

Outcome OdbcConnector::failure(const OdbcError& e, const char* what) {
  // Connection trouble, time-outs and serialisation failures pass; anything
  // else (a constraint, a type, the SQL) will fail the same way again.
  const std::string& s = e.state();
  const bool passing =
      s.empty() || s.rfind("08", 0) == 0 || s.rfind("HYT", 0) == 0 || s.rfind("40", 0) == 0 || s == "57P01";
  if (passing) dropConnection();
  const std::string message = std::string(what) + ": " + e.what();
  return passing ? Outcome::retry(message) : Outcome::error(message);
}

std::string OdbcConnector::watermark() const {
  std::ifstream in(spool_ / "watermark", std::ios::binary);
  if (!in) return initialWatermark_;
  std::string w((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return w;
}

void OdbcConnector::writeFileAtomically(const fs::path& path, const std::string& content) {
  const std::string error = renkei::writeFileAtomically(spool_ / "tmp", path, content, /*sync=*/true);
  if (!error.empty()) throw std::runtime_error(error);
}

std::vector<Intake> OdbcConnector::recover() {
  std::vector<Intake> items;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(spool_ / "processing", ec)) {
    if (entry.path().extension() != ".jsonl") continue;
    items.push_back({entry.path().filename().string(), entry.path(), entry.file_size(ec), true});
  }
  std::sort(items.begin(), items.end(), [](const Intake& a, const Intake& b) { return a.name < b.name; });
  return items;
}

static bool watermarkBelow(const std::string& a, const std::string& b) {
  auto digits = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (digits(a) && digits(b)) {
    const std::size_t za = a.find_first_not_of('0'), zb = b.find_first_not_of('0');
    const std::string x = za == std::string::npos ? "" : a.substr(za), y = zb == std::string::npos ? "" : b.substr(zb);
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  }
  return a < b;
}

std::optional<Intake> OdbcConnector::claim() {
  // A poll waits for the interval, and for the previous poll's file: the
  // watermark moves only when the host has finished with it.
  if (!recover().empty()) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (polledOnce_ && now - lastPoll_ < interval_) return std::nullopt;
  lastPoll_ = now;
  polledOnce_ = true;
  // The watermark went backwards: an operator's turn, until the watermark
  // kept is reset (removed or rewritten).
  if (holding_ && watermark() == heldAt_) return std::nullopt;
  holding_ = false;

  const std::string from = watermark();
  std::string content;
  std::string last;
  std::int64_t rows = 0;
  try {
    OdbcStatement select(connection(), query_);
    select.execute({from});
    const std::vector<std::string> columns = select.columns();
    const auto wm = std::find(columns.begin(), columns.end(), watermarkColumn_);
    if (wm == columns.end())
      throw std::runtime_error("the query returns no column '" + watermarkColumn_ + "' (watermark-column)");
    const std::size_t wmIndex = static_cast<std::size_t>(wm - columns.begin());
    std::vector<std::optional<std::string>> values;
    while (rows < maxRows_ && select.fetch(values)) {
      content.push_back('{');
      for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i) content.push_back(',');
        appendJsonString(content, columns[i]);
        content.push_back(':');
        if (values[i]) appendJsonString(content, *values[i]);
        else content += "null";
      }
      content += "}\n";
      if (values[wmIndex]) last = *values[wmIndex];
      ++rows;
    }
  } catch (const OdbcError& e) {
    dropConnection();
    throw std::runtime_error(std::string("poll: ") + e.what());
  }
  if (rows == 0) {
    checkWatermark(from);
    return std::nullopt;
  }

  // The rows wait in the spool (with the watermark they lead to) until the
  // host has them in its store; a crash before that finds them again.
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  const std::string name = id_ + "-" + stamp + "-" + safeName(last) + ".jsonl";
  writeFileAtomically(spool_ / "processing" / (name + ".watermark"), last);
  writeFileAtomically(spool_ / "processing" / name, content);
  if (logger_) logger_->information("%s: polled %s rows after the watermark", id_, std::to_string(rows));
  return Intake{name, spool_ / "processing" / name, content.size(), false};
}

void OdbcConnector::checkWatermark(const std::string& kept) {
  if (checkQuery_.empty() || kept.empty() || kept == initialWatermark_) return;
  std::optional<std::string> highest;
  try {
    OdbcStatement check(connection(), checkQuery_);
    check.execute({});
    std::vector<std::optional<std::string>> values;
    if (check.fetch(values) && !values.empty()) highest = values[0];
  } catch (const OdbcError& e) {
    dropConnection();
    throw std::runtime_error(std::string("watermark-check-query: ") + e.what());
  }
  // An empty view (NULL) has gone back too: everything in it is gone.
  if (highest && !watermarkBelow(*highest, kept)) return;
  const std::string why = "the view's highest watermark is below the one kept (" + watermarkColumn_ +
                          "): a database restored from a backup or a clock set back; rows changed since would "
                          "never be polled";
  if (services_)
    services_->metrics()
        .counter("renkei_odbc_watermark_backwards_total", "Polls that found the view's watermark below the one kept")
        .add();
  if (rescanBackwards_) {
    if (logger_) logger_->warning("%s: %s: reading every row again from initial-watermark (on-watermark-backwards=rescan)", id_, why);
    writeFileAtomically(spool_ / "watermark", initialWatermark_);
    lastPoll_ = std::chrono::steady_clock::time_point{};  // the rescan at the next turn
    return;
  }
  holding_ = true;
  heldAt_ = kept;
  const std::string reason = why + "; polling stops until an operator removes " + (spool_ / "watermark").string() +
                             " (or sets on-watermark-backwards=rescan)";
  if (logger_) logger_->error("%s: %s", id_, reason);
  if (services_) services_->recordRefusal(id_ + ": watermark", reason);
}

Outcome OdbcConnector::finish(const Intake& item, Disposition disposition, const std::string& reason) {
  try {
    const fs::path sidecar = spool_ / "processing" / (item.name + ".watermark");
    std::string next;
    {
      std::ifstream in(sidecar, std::ios::binary);
      next.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (disposition == Disposition::Failed) {
      // Kept, with its reason, for the operator; the watermark still moves
      // so the same rows do not fail at every poll.
      fs::rename(item.path, spool_ / "error" / item.name);
      writeFileAtomically(spool_ / "error" / (item.name + ".error.txt"),
                          "file: " + item.name + "\nconnector: " + id_ + "\nreason: " + reason + "\n");
    } else {
      fs::remove(item.path);
    }
    if (!next.empty()) writeFileAtomically(spool_ / "watermark", next);
    fs::remove(sidecar);
    syncPath(spool_ / "processing", true);
    return Outcome::ok();
  } catch (const std::exception& e) {
    return Outcome::retry(e.what());
  }
}

Outcome OdbcConnector::writeRejects(const Intake& item, const std::string& jsonl) {
  try {
    writeFileAtomically(spool_ / "rejects" / (item.name + ".rejects.jsonl"), jsonl);
    return Outcome::ok();
  } catch (const std::exception& e) {
    return Outcome::retry(e.what());
  }
}

Outcome OdbcConnector::deliver(const Batch& batch) {
  if (batch.records.empty()) return Outcome::ok();
  const FieldNames& names = *batch.records.front().names();
  for (const std::string& k : keyColumns_)
    if (std::find(names.begin(), names.end(), k) == names.end())
      return Outcome::error("key column '" + k + "' is not a field of the records");
  std::string columns, marks, updates, where;
  for (std::size_t i = 0; i < names.size(); ++i) {
    columns += (i ? ", " : "") + quoteIdentifier(names[i]);
    marks += i ? ", ?" : "?";
    if (std::find(keyColumns_.begin(), keyColumns_.end(), names[i]) == keyColumns_.end())
      updates += (updates.empty() ? "" : ", ") + quoteIdentifier(names[i]) + " = excluded." + quoteIdentifier(names[i]);
  }
  std::string keys;
  for (std::size_t i = 0; i < keyColumns_.size(); ++i) {
    keys += (i ? ", " : "") + quoteIdentifier(keyColumns_[i]);
    where += (i ? " AND " : "") + quoteIdentifier(keyColumns_[i]) + " = ?";
  }
  std::string insert = "INSERT INTO " + table_ + " (" + columns + ") VALUES (" + marks + ")";
  if (!deleteInsert_)
    insert += " ON CONFLICT (" + keys + ") DO " + (updates.empty() ? "NOTHING" : "UPDATE SET " + updates);
  try {
    OdbcConnection& db = connection();
    db.setAutocommit(false);
    try {
      OdbcStatement ins(db, insert);
      std::unique_ptr<OdbcStatement> del;
      if (deleteInsert_) del = std::make_unique<OdbcStatement>(db, "DELETE FROM " + table_ + " WHERE " + where);
      std::vector<std::optional<std::string>> params;
      for (const Record& r : batch.records) {
        if (del) {
          params.clear();
          for (const auto& k : keyColumns_) params.push_back(*r.find(k));
          del->execute(params);
        }
        params.clear();
        for (std::size_t i = 0; i < r.size(); ++i) {
          if (emptyAsNull_ && r.value(i).empty()) params.push_back(std::nullopt);
          else params.push_back(r.value(i));
        }
        ins.execute(params);
      }
      db.commit();
      db.setAutocommit(true);
    } catch (...) {
      db.rollback();
      db.setAutocommit(true);
      throw;
    }
    return Outcome::ok();
  } catch (const OdbcError& e) {
    return failure(e, "upsert");
  }
}

Outcome OdbcConnector::lookup(const std::string& keyName, const std::string& key, std::vector<Record>& out) {
  (void)keyName;  // the lookup-query decides which column the key is matched against
  try {
    OdbcStatement select(connection(), lookupQuery_);
    select.execute({key});
    auto names = std::make_shared<const FieldNames>(select.columns());
    std::vector<std::optional<std::string>> values;
    while (select.fetch(values)) {
      Record r(names);
      for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i]) r.set(i, std::move(*values[i]));
      out.push_back(std::move(r));
    }
    return Outcome::ok();
  } catch (const OdbcError& e) {
    return failure(e, "lookup");
  }
}

}  // namespace renkei::connectors::odbc
