// StateStore over SqlDatabase. Writes go through one connection, serialised
// by a mutex. Reads run side by side: on SQLite each thread keeps a read
// connection of its own (the file mapped; WAL lets readers pass a writer; a
// pool made 200 API threads queue: p99 ~340 ms against ~120 ms at 200
// clients in bench/lookups), on PostgreSQL they take one of at most 8 pooled
// connections (each is a server process). Prepared statements are kept per
// connection, keyed by their text.
#include "state_store.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

#include "store/sql_db.h"

namespace renkei {
namespace {

using store::SqlDatabase;
using store::SqlStatement;

std::string sanitise(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out += (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
  }
  return out;
}

struct Connection {
  std::unique_ptr<SqlDatabase> db;
  SqlDatabase* borrowed = nullptr;  ///< another's connection (a unit commit's transaction), used instead of db
  SqlDatabase& database() { return borrowed ? *borrowed : *db; }
  std::map<std::string, std::unique_ptr<SqlStatement>, std::less<>> statements;

  SqlStatement& prepare(const std::string& sql) {
    auto it = statements.find(sql);
    if (it == statements.end()) {
      if (statements.size() > 256) statements.clear();  // a plugin building SQL per call: do not grow without end
      it = statements.emplace(sql, database().prepare(sql)).first;
    } else {
      it->second->reset();
    }
    return *it->second;
  }
};

class Rows final : public StateRows {
 public:
  explicit Rows(SqlStatement& s) : s_(s) {}
  bool next() override { return s_.next(); }
  std::string text(int column) override { return s_.text(column); }
  std::int64_t integer(int column) override { return s_.integer(column); }

 private:
  SqlStatement& s_;
};

class Session final : public StateSession {
 public:
  explicit Session(Connection& c) : c_(c) {}

 private:
  template <typename F>
  auto guarded(F&& f) {
    try {
      return f();
    } catch (const store::StoreError& e) {
      throw StateError(e.what());
    }
  }

 public:

  std::int64_t run(const std::string& sql, const std::vector<StateValue>& params) override {
    return guarded([&] { return bound(sql, params).run(); });
  }
  void query(const std::string& sql, const std::vector<StateValue>& params,
             const std::function<void(StateRows&)>& row) override {
    guarded([&] {
      SqlStatement& s = bound(sql, params);
      Rows rows(s);
      while (s.next()) row(rows);
      return 0;
    });
  }
  std::int64_t insertReturningId(const std::string& sql, const std::vector<StateValue>& params) override {
    return guarded([&]() -> std::int64_t {
      if (c_.database().dialect() == store::Dialect::Postgres) {
        SqlStatement& s = bound(sql + " RETURNING id", params);
        if (!s.next()) throw StateError("an insert returned no id");
        return s.integer(0);
      }
      bound(sql, params).run();
      SqlStatement& last = c_.prepare("SELECT last_insert_rowid()");
      last.next();
      return last.integer(0);
    });
  }

 private:
  SqlStatement& bound(const std::string& sql, const std::vector<StateValue>& params) {
    SqlStatement& s = c_.prepare(sql);
    int i = 1;
    for (const StateValue& v : params) {
      if (const auto* n = std::get_if<std::int64_t>(&v))
        s.bind(i++, *n);
      else
        s.bind(i++, std::get<std::string>(v));
    }
    return s;
  }

  Connection& c_;
};

class SqlStateStore final : public StateStore {
 public:
  SqlStateStore(const store::StoreConfig& config, const std::string& instanceId, std::size_t readers)
      : config_(config), prefix_("st_" + sanitise(instanceId) + "_"), maxReaders_(readers ? readers : 1) {
    // A reader connection of its own is pointless for a database in memory
    // (it would be another, empty database): reads then share the writer.
    shareWriter_ = config_.driver == "sqlite" && config_.path == ":memory:";
    perThread_ = config_.driver == "sqlite" && !shareWriter_;
    // A PostgreSQL connection is a server process: a few serve many threads
    // (the server's max_connections is shared by every host and instance).
    if (config_.driver == "postgresql") maxReaders_ = std::min<std::size_t>(maxReaders_, 8);
    writer_.db = open();
    // Plugins write tables keyed by codes in no useful order (a register, a
    // cache): a larger page cache keeps their B-trees' inner pages in memory.
    if (writer_.db->dialect() == store::Dialect::Sqlite) writer_.db->exec("PRAGMA cache_size=-65536");
  }

  std::string dialect() const override {
    return writer_.db->dialect() == store::Dialect::Postgres ? "postgresql" : "sqlite";
  }
  std::string table(std::string_view name) const override { return prefix_ + sanitise(name); }

  void migrate(const std::vector<std::string>& steps) override {
    std::lock_guard lock(writeMutex_);
    SqlDatabase& db = *writer_.db;
    try {
      for (;;) {
        db.begin();
        try {
          db.lockSchema();  // hosts starting together: one migrates, the others wait and find it done
          db.exec(
              "CREATE TABLE IF NOT EXISTS renkei_state_versions (component TEXT PRIMARY KEY, version BIGINT NOT NULL)");
          auto v = db.prepare("SELECT version FROM renkei_state_versions WHERE component = ?");
          v->bind(1, prefix_);
          const std::size_t current = v->next() ? static_cast<std::size_t>(v->integer(0)) : 0;
          if (current > steps.size())
            throw StateError("the store holds state of a newer version (" + std::to_string(current) + " steps; this " +
                             "plugin knows " + std::to_string(steps.size()) + ") for tables " + prefix_ + "*");
          if (current == steps.size()) {
            db.commit();
            return;
          }
          db.exec(expand(steps[current]));
          auto set = db.prepare(
              "INSERT INTO renkei_state_versions (component, version) VALUES (?, ?) "
              "ON CONFLICT (component) DO UPDATE SET version = excluded.version");
          set->bind(1, prefix_).bind(2, static_cast<std::int64_t>(current + 1));
          set->run();
          db.commit();
        } catch (...) {
          db.rollback();
          throw;
        }
      }
    } catch (const store::StoreError& e) {
      throw StateError(std::string("migrating ") + prefix_ + "*: " + e.what());
    }
  }

  void write(const std::function<void(StateSession&)>& work) override {
    std::lock_guard lock(writeMutex_);
    try {
      writer_.db->begin();
    } catch (const store::StoreError& e) {
      throw StateError(e.what());
    }
    try {
      Session session(writer_);
      work(session);
      writer_.db->commit();
    } catch (const store::StoreError& e) {
      writer_.db->rollback();
      throw StateError(e.what());
    } catch (...) {
      writer_.db->rollback();
      throw;
    }
  }

  void read(const std::function<void(StateSession&)>& work) override {
    if (shareWriter_) {
      std::lock_guard lock(writeMutex_);
      Session session(writer_);
      work(session);
      return;
    }
    if (perThread_) {
      // SQLite: each thread keeps a read connection of its own for this
      // store (no pool to queue on; connections are cheap and end with the
      // thread).
      thread_local std::map<std::uint64_t, std::unique_ptr<Connection>> mine;
      auto& c = mine[serial_];
      if (!c) c = openReader();
      Session session(*c);
      work(session);
      return;
    }
    std::unique_ptr<Connection> c = takeReader();
    try {
      Session session(*c);
      work(session);
    } catch (...) {
      giveBack(std::move(c));
      throw;
    }
    giveBack(std::move(c));
  }

 private:
  std::unique_ptr<SqlDatabase> open() {
    try {
      return store::openDatabase(config_);
    } catch (const store::StoreError& e) {
      throw StateError(e.what());
    }
  }

  std::string expand(const std::string& sql) const {
    std::string out;
    for (std::size_t i = 0; i < sql.size();) {
      if (sql[i] == '{') {
        const std::size_t close = sql.find('}', i);
        if (close != std::string::npos) {
          out += table(std::string_view(sql).substr(i + 1, close - i - 1));
          i = close + 1;
          continue;
        }
      }
      out += sql[i++];
    }
    return out;
  }

  std::unique_ptr<Connection> openReader() {
    auto c = std::make_unique<Connection>();
    c->db = open();
    // SQLite readers map the file instead of copying each page (the store's
    // pages are 64 KiB, sized for the pipeline's writes): a look-up then
    // touches a few cache lines, not a few pages.
    // With the file mapped, a reader needs little page cache of its own (a
    // thread per API connection has one).
    if (c->db->dialect() == store::Dialect::Sqlite) c->db->exec("PRAGMA mmap_size=17179869184; PRAGMA cache_size=-1024");
    return c;
  }

  std::unique_ptr<Connection> takeReader() {
    std::unique_lock lock(poolMutex_);
    for (;;) {
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
      if (opened_ < maxReaders_) {
        ++opened_;
        lock.unlock();
        std::unique_ptr<Connection> c;
        try {
          c = openReader();
        } catch (...) {
          std::lock_guard again(poolMutex_);
          --opened_;
          throw;
        }
        return c;
      }
      freed_.wait(lock);
    }
  }

  void giveBack(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(poolMutex_);
      idle_.push_back(std::move(c));
    }
    freed_.notify_one();
  }

  store::StoreConfig config_;
  std::string prefix_;
  std::size_t maxReaders_;
  bool shareWriter_ = false;
  bool perThread_ = false;  ///< SQLite: a read connection per thread instead of the pool
  const std::uint64_t serial_ = nextSerial();
  static std::uint64_t nextSerial() {
    static std::atomic<std::uint64_t> n{0};
    return ++n;
  }
  std::mutex writeMutex_;
  Connection writer_;
  std::mutex poolMutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t opened_ = 0;
};

}  // namespace

std::unique_ptr<StateStore> openStateStore(const store::StoreConfig& config, const std::string& instanceId,
                                           std::size_t readers) {
  return std::make_unique<SqlStateStore>(config, instanceId, readers);
}

void withStateSession(store::SqlDatabase& db, const std::function<void(StateSession&)>& work) {
  Connection c;
  c.borrowed = &db;
  Session session(c);
  work(session);
}

}  // namespace renkei
