// The embedded store: one SQLite file in WAL mode, versioned migrations.
#include <sqlite3.h>

#include <ctime>

#include "store/store.h"

namespace fs = std::filesystem;

namespace renkei::store {
namespace {

// Migrations in order; migration N brings the schema to version N. Never
// edit a released one: add the next.
const char* const kMigrations[] = {
    // 1: the intake register.
    "CREATE TABLE intake_files ("
    "  route TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('processing', 'done', 'failed')),"
    "  first_seen TEXT NOT NULL,"
    "  finished_at TEXT,"
    "  note TEXT,"
    "  PRIMARY KEY (route, sha256));"
    "CREATE INDEX intake_files_seen ON intake_files (first_seen);",
};

std::string nowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

FileState parseState(const std::string& s) {
  if (s == "done") return FileState::Done;
  if (s == "failed") return FileState::Failed;
  return FileState::Processing;
}

class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const std::string& where) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw StoreError(where + ": cannot prepare a statement: " + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  /// SQLITE_ROW or SQLITE_DONE; throws on anything else.
  int step(const std::string& where) {
    const int rc = sqlite3_step(stmt_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw StoreError(where + ": " + sqlite3_errmsg(db_));
    return rc;
  }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const StoreConfig& config) : where_(config.path.string()) {
    std::error_code ec;
    if (config.path.has_parent_path()) fs::create_directories(config.path.parent_path(), ec);
    if (sqlite3_open_v2(where_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw StoreError(where_ + ": cannot open the store: " + message);
    }
    sqlite3_busy_timeout(db_, 10000);
    exec("PRAGMA journal_mode=WAL");
    exec(config.fullSync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    migrate();
  }

  ~SqliteStore() override { sqlite3_close(db_); }

  int schemaVersion() override {
    Statement s(db_, "PRAGMA user_version", where_);
    s.step(where_);
    return static_cast<int>(s.integer(0));
  }

  std::optional<FileEntry> registerFile(const std::string& route, const std::string& sha256, const std::string& name,
                                        std::uint64_t size) override {
    // INSERT OR IGNORE then read: one statement decides, so two processes
    // sharing the file cannot both register the same content as new.
    Statement insert(db_,
                     "INSERT OR IGNORE INTO intake_files (route, sha256, name, size, state, first_seen) "
                     "VALUES (?, ?, ?, ?, 'processing', ?)",
                     where_);
    insert.bind(1, route).bind(2, sha256).bind(3, name).bind(4, static_cast<std::int64_t>(size)).bind(5, nowUtc());
    insert.step(where_);
    if (sqlite3_changes(db_) == 1) return std::nullopt;
    Statement select(db_,
                     "SELECT route, sha256, name, size, state, first_seen, COALESCE(finished_at, ''), "
                     "COALESCE(note, '') FROM intake_files WHERE route = ? AND sha256 = ?",
                     where_);
    select.bind(1, route).bind(2, sha256);
    if (select.step(where_) != SQLITE_ROW) throw StoreError(where_ + ": a registered file vanished");
    return readEntry(select);
  }

  void finishFile(const std::string& route, const std::string& sha256, FileState state,
                  const std::string& note) override {
    Statement update(db_, "UPDATE intake_files SET state = ?, finished_at = ?, note = ? WHERE route = ? AND sha256 = ?",
                     where_);
    update.bind(1, std::string(fileStateName(state))).bind(2, nowUtc()).bind(3, note).bind(4, route).bind(5, sha256);
    update.step(where_);
  }

  std::vector<FileEntry> recentFiles(const std::string& route, std::size_t limit) override {
    Statement select(db_,
                     "SELECT route, sha256, name, size, state, first_seen, COALESCE(finished_at, ''), "
                     "COALESCE(note, '') FROM intake_files WHERE (? = '' OR route = ?) "
                     "ORDER BY first_seen DESC, rowid DESC LIMIT ?",
                     where_);
    select.bind(1, route).bind(2, route).bind(3, static_cast<std::int64_t>(limit));
    std::vector<FileEntry> out;
    while (select.step(where_) == SQLITE_ROW) out.push_back(readEntry(select));
    return out;
  }

 private:
  static FileEntry readEntry(const Statement& s) {
    FileEntry e;
    e.route = s.text(0);
    e.sha256 = s.text(1);
    e.name = s.text(2);
    e.size = static_cast<std::uint64_t>(s.integer(3));
    e.state = parseState(s.text(4));
    e.firstSeen = s.text(5);
    e.finishedAt = s.text(6);
    e.note = s.text(7);
    return e;
  }

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw StoreError(where_ + ": " + message);
    }
  }

  // Each migration runs in its own transaction together with the version
  // bump, so a crash leaves the schema at a known version.
  void migrate() {
    const int known = static_cast<int>(sizeof kMigrations / sizeof kMigrations[0]);
    const int current = schemaVersion();
    if (current > known)
      throw StoreError(where_ + ": the store has schema version " + std::to_string(current) +
                       ", newer than this renkei knows (" + std::to_string(known) + "); use a newer renkei");
    for (int v = current; v < known; ++v) {
      exec("BEGIN IMMEDIATE");
      try {
        exec(kMigrations[v]);
        exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
        exec("COMMIT");
      } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
    }
  }

  std::string where_;
  sqlite3* db_ = nullptr;
};

}  // namespace

const char* fileStateName(FileState s) {
  switch (s) {
    case FileState::Processing: return "processing";
    case FileState::Done: return "done";
    case FileState::Failed: return "failed";
  }
  return "processing";
}

std::unique_ptr<Store> openStore(const StoreConfig& config) {
  if (config.driver == "sqlite") return std::make_unique<SqliteStore>(config);
  throw StoreError("store driver '" + config.driver + "' is not available in this version; use sqlite");
}

}  // namespace renkei::store
