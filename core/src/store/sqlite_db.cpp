// SqlDatabase over SQLite: one file in WAL mode.
#include <fcntl.h>
#include <unistd.h>
#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <sys/stat.h>

#include <filesystem>

#include "store/sql_db.h"
#include "store/store.h"

namespace fs = std::filesystem;

namespace renkei::store {
namespace {

/// The store holds the register and applications in clear: readable by
/// renkei alone whatever the umask. A new folder is made 0700 and a new file
/// 0600 before SQLite opens it (SQLite gives its -wal and -shm files the
/// database file's mode). A store left looser is refused by `renkei check`
/// (which every start runs); one made looser by an older version is
/// tightened here when renkei owns it.
void privateStoreFile(const fs::path& p, std::error_code& ec) {
  if (p.has_parent_path() && !fs::exists(p.parent_path(), ec)) {
    fs::create_directories(p.parent_path(), ec);
    if (!ec) ::chmod(p.parent_path().c_str(), 0700);
  }
  // Never open and close an existing store file here: closing any
  // descriptor of it drops every POSIX lock this process's other SQLite
  // connections hold on it. A new file is made with O_EXCL; an existing
  // one is changed by path.
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);  // nobody holds locks on a file just made
    return;                    // else SQLite reports why it cannot open it
  }
  if (S_ISREG(st.st_mode) && (st.st_mode & 077) && st.st_uid == ::geteuid()) ::chmod(p.c_str(), st.st_mode & 0700);
}

class SqliteStatement final : public SqlStatement {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql, const std::string& where) : db_(db), where_(where) {
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
      throw StoreError(where_ + ": cannot prepare a statement: " + sqlite3_errmsg(db));
  }
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  SqlStatement& bind(int i, std::string_view v) override { return bindText(i, v, SQLITE_TRANSIENT); }
  SqlStatement& bindLarge(int i, std::string_view v) override { return bindText(i, v, SQLITE_STATIC); }
  SqlStatement& bind(int i, std::int64_t v) override {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // A value SQLite cannot hold (over its 1 GB limit) is an error with its
  // size, not a NULL that fails a constraint later.
  SqlStatement& bindText(int i, std::string_view v, sqlite3_destructor_type how) {
    const int rc = v.size() > 0x7fffffffu ? SQLITE_TOOBIG
                                           : sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), how);
    if (rc != SQLITE_OK)
      throw StoreError(where_ + ": cannot store a value of " + std::to_string(v.size()) + " bytes: " +
                       sqlite3_errstr(rc));
    return *this;
  }
  bool next() override {
    if (done_) return false;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    done_ = true;
    if (rc != SQLITE_DONE) throw StoreError(where_ + ": " + sqlite3_errmsg(db_));
    return false;
  }
  std::int64_t run() override {
    while (next()) {
    }
    return sqlite3_changes(db_);
  }
  std::string text(int col) override {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return t ? std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::int64_t integer(int col) override { return sqlite3_column_int64(stmt_, col); }
  void reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    done_ = false;
  }

 private:
  sqlite3* db_;
  const std::string& where_;
  sqlite3_stmt* stmt_ = nullptr;
  bool done_ = false;
};

class SqliteDatabase final : public SqlDatabase {
 public:
  SqliteDatabase(const std::string& path, bool fullSync, bool autoCheckpoint, bool create) : where_(path) {
    std::error_code ec;
    const fs::path p(path);
    if (!create && path != ":memory:" && !fs::exists(p, ec))
      throw StoreMissing("sqlite " + path + ": there is no store here (the file does not exist; renkei serve "
                         "creates it on its first start); check the config's <store path> and --config");
    if (create && path != ":memory:") privateStoreFile(p, ec);
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      // The OS's reason names what is wrong (no such folder, permission).
      if (const int os = db_ ? sqlite3_system_errno(db_) : 0; os != 0) message += " (" + std::string(std::strerror(os)) + ")";
      if (ec) message += "; its folder could not be created: " + ec.message();
      sqlite3_close(db_);
      db_ = nullptr;
      throw StoreError("sqlite " + where_ + ": cannot open the store: " + message);
    }
    // Several processes (serve, and the operators' commands) share the file:
    // a writer waits for another's transaction instead of failing.
    sqlite3_busy_timeout(db_, 30000);
    // Batches are large (a payload of hundreds of kilobytes): big pages
    // mean fewer overflow pages and system calls per batch. Takes effect
    // when the file is created.
    // Hosts opening a new file together: switching it to WAL can answer
    // "database is locked" at once, without the busy handler (SQLite does
    // so where waiting could deadlock). Tried again for up to 30 s.
    for (int attempt = 0;; ++attempt) {
      try {
        exec("PRAGMA page_size=65536");
        exec("PRAGMA cache_size=-8192");
        exec("PRAGMA journal_mode=WAL");
        break;
      } catch (const StoreError&) {
        const int code = sqlite3_errcode(db_);
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || attempt >= 300) {
          sqlite3_close(db_);
          db_ = nullptr;
          throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    exec(fullSync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    if (!autoCheckpoint) exec("PRAGMA wal_autocheckpoint=0");
    // What the path names now, to see it deleted or replaced later.
    struct stat st {};
    if (path != ":memory:" && ::stat(path.c_str(), &st) == 0) {
      device_ = st.st_dev;
      inode_ = st.st_ino;
      watch_ = true;
    }
  }
  ~SqliteDatabase() override { sqlite3_close(db_); }

  Dialect dialect() const override { return Dialect::Sqlite; }
  std::string describe() const override { return "sqlite " + where_; }
  std::unique_ptr<SqlStatement> prepare(const std::string& sql) override {
    return std::make_unique<SqliteStatement>(db_, sql, where_);
  }
  void exec(const std::string& sql) override {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      const std::string message = error ? error : "unknown error";
      sqlite3_free(error);
      throw StoreError(where_ + ": " + message);
    }
  }
  void begin() override {
    verify();
    exec("BEGIN IMMEDIATE");
  }
  void verify() override {
    if (!watch_) return;
    struct stat st {};
    const bool present = ::stat(where_.c_str(), &st) == 0;
    if (present && st.st_dev == device_ && st.st_ino == inode_) return;
    throw StoreGone(where_ + ": the store file was " + (present ? "replaced" : "removed") +
                    " while renkei ran (the path no longer names the open file); nothing more is taken in. "
                    "Put the store back from a backup (or start afresh), then start renkei again");
  }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }
  int schemaVersion() override {
    auto s = prepare("PRAGMA user_version");
    s->next();
    return static_cast<int>(s->integer(0));
  }
  void setSchemaVersion(int v) override { exec("PRAGMA user_version = " + std::to_string(v)); }
  void maintain() override { sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr); }

 private:
  std::string where_;
  sqlite3* db_ = nullptr;
  bool watch_ = false;
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace

std::unique_ptr<SqlDatabase> openSqlite(const std::string& path, bool fullSync, bool autoCheckpoint, bool create) {
  return std::make_unique<SqliteDatabase>(path, fullSync, autoCheckpoint, create);
}

}  // namespace renkei::store
