// The store over SQL: one implementation for SQLite and PostgreSQL; the
// dialects differ in column types, locking and where the schema version lives.
#include <algorithm>
#include <map>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <type_traits>

#include "store/sql_db.h"
#include "store/store.h"

namespace renkei::store {
namespace {

// Migrations in order; migration N brings the schema to version N. Written
// for SQLite and adapted for PostgreSQL by postgresSql(). Never edit a
// released one: add the next.
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

    // 2: leases on files being taken in; mapped batches; one outbox row per
    // batch and target (pending → delivered | dead); the operators' log.
    "ALTER TABLE intake_files ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE intake_files ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE batches ("
    "  id TEXT PRIMARY KEY,"
    "  route TEXT NOT NULL,"
    "  file_sha TEXT NOT NULL,"
    "  source_item TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  first_record INTEGER NOT NULL,"
    "  last_record INTEGER NOT NULL,"
    "  records INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  fields TEXT NOT NULL,"
    "  payload TEXT NOT NULL);"
    "CREATE INDEX batches_file ON batches (route, file_sha);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  batch_id TEXT NOT NULL REFERENCES batches (id),"
    "  route TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  records INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  delivered_ms INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_ms INTEGER NOT NULL,"
    "  lease_owner TEXT NOT NULL DEFAULT '',"
    "  lease_until INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (batch_id, target));"
    "CREATE INDEX outbox_due ON outbox (state, next_attempt_ms);"
    "CREATE INDEX outbox_route ON outbox (route, state);"
    "CREATE INDEX outbox_queue ON outbox (route, target, state, id);"
    "CREATE TABLE operator_log ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at_ms INTEGER NOT NULL,"
    "  who TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  detail TEXT NOT NULL);",

    // 3: the engine seam. A batch knows its record type and the zone it was
    // mapped for; emissions remembers the idempotency keys of units handed
    // in through HostServices::emit (a key seen before is ignored).
    "ALTER TABLE batches ADD COLUMN record_type TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE batches ADD COLUMN zone TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE emissions ("
    "  emitter TEXT NOT NULL,"
    "  emission_key TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  records INTEGER NOT NULL,"
    "  PRIMARY KEY (emitter, emission_key));",

    // 4: operators' fixes. `renkei reprocess` asks for a file to be taken in
    // again (reprocess 1: the source should put it back, 2: waiting for it);
    // each intake of the same content is a generation of its own, so its
    // batches get ids of their own. An outbox row's last error keeps its
    // own time (updated_ms moves on a resubmit).
    "ALTER TABLE intake_files ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE intake_files ADD COLUMN reprocess INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE outbox ADD COLUMN last_error_ms INTEGER NOT NULL DEFAULT 0;"
    "UPDATE outbox SET last_error_ms = updated_ms WHERE last_error <> '';"
    // Asked every intake pass; almost always empty: a partial index keeps
    // that a look-up, not a scan of the route's whole register.
    "CREATE INDEX intake_files_reprocess ON intake_files (route) WHERE reprocess = 1;",

    // 5: held records. An emitted record a route's mapping rejected, or of
    // a type no route takes, is kept with why (held), until an operator has
    // it taken again (resubmit) and a route takes it (resolved).
    "CREATE TABLE held_records ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  emitter TEXT NOT NULL,"
    "  emission_key TEXT NOT NULL,"
    "  route TEXT NOT NULL,"
    "  record_type TEXT NOT NULL,"
    "  number INTEGER NOT NULL,"
    "  reasons TEXT NOT NULL,"
    "  fields TEXT NOT NULL,"
    "  record TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('held', 'resubmit', 'resolved')),"
    "  created_ms INTEGER NOT NULL,"
    "  changed_ms INTEGER NOT NULL,"
    "  changed_by TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX held_records_state ON held_records (state, emitter, route);",

    // 6: a failed file an operator has seen to (renkei status --ack): no
    // longer a problem for monitoring; who and when are kept.
    "CREATE TABLE acknowledged_files ("
    "  route TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  who TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (route, sha256));",

    // 7: items a plugin refused whole before the host saw them (a file
    // over max-file-size, a bundle that does not verify): a problem for
    // `renkei status` until an operator acknowledges it.
    "CREATE TABLE refused_items ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  source TEXT NOT NULL,"
    "  item TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  at_ms INTEGER NOT NULL,"
    "  acknowledged_by TEXT NOT NULL DEFAULT '',"
    "  acknowledged_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX refused_items_open ON refused_items (acknowledged_ms, at_ms);",

    // 8: the operators who sign in to the console (operators.h): a scrypt
    // hash, groups (their permissions are the config's), lock-out after
    // failures, the TOTP secret, the last sign-in. None made by default.
    "CREATE TABLE operators ("
    "  id TEXT PRIMARY KEY,"
    "  password_hash TEXT NOT NULL,"
    "  groups_list TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  must_change INTEGER NOT NULL DEFAULT 1,"
    "  failures INTEGER NOT NULL DEFAULT 0,"
    "  locked_until_ms INTEGER NOT NULL DEFAULT 0,"
    "  totp_secret TEXT NOT NULL DEFAULT '',"
    "  totp_last_step INTEGER NOT NULL DEFAULT 0,"
    "  last_login_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_login_address TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL);",
};

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

std::string postgresSql(const std::string& sqlite) {
  std::string s = replaceAll(sqlite, "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY");
  return replaceAll(s, "INTEGER", "BIGINT");
}

constexpr std::size_t kMaxErrorBytes = 2000;

std::string boundedError(const std::string& error) {
  if (error.size() <= kMaxErrorBytes) return error;
  std::size_t cut = kMaxErrorBytes;
  while (cut > 0 && (static_cast<unsigned char>(error[cut]) & 0xC0) == 0x80) --cut;
  return error.substr(0, cut) + " … (" + std::to_string(error.size()) + " bytes, cut to " +
         std::to_string(kMaxErrorBytes) + ")";
}

/// "<column> IN (?, ?, …)" for n parameters, or nothing when n is 0.
std::string inList(const std::string& column, std::size_t n) {
  if (n == 0) return {};
  std::string sql = column + " IN (";
  for (std::size_t i = 0; i < n; ++i) sql += i ? ", ?" : "?";
  return sql + ")";
}

FileState parseFileState(const std::string& s) {
  if (s == "done") return FileState::Done;
  if (s == "failed") return FileState::Failed;
  return FileState::Processing;
}

OutboxState parseOutboxState(const std::string& s) {
  if (s == "delivered") return OutboxState::Delivered;
  if (s == "dead") return OutboxState::Dead;
  return OutboxState::Pending;
}

/// Runs `work` in a write transaction; rolls back on any exception.
template <typename F>
auto transaction(SqlDatabase& db, F&& work) {
  db.begin();
  try {
    if constexpr (std::is_void_v<decltype(work())>) {
      work();
      db.commit();
    } else {
      auto result = work();
      db.commit();
      return result;
    }
  } catch (...) {
    db.rollback();
    throw;
  }
}

const char* const kFileColumns =
    "route, sha256, name, size, state, first_seen, COALESCE(finished_at, ''), COALESCE(note, ''), lease_owner, "
    "lease_until, generation, reprocess";

const char* const kOutboxColumns =
    "o.batch_id, o.route, o.target, b.source_item, o.state, o.attempts, o.records, b.first_record, b.last_record, "
    "o.created_ms, o.updated_ms, o.delivered_ms, o.next_attempt_ms, o.lease_owner, o.last_error";

void runMigration(SqlDatabase& db, int current);

class SqlStore final : public Store {
 public:
  SqlStore(std::unique_ptr<SqlDatabase> db, std::int64_t horizonMs) : db_(std::move(db)), horizon_(horizonMs) {
    migrate();
  }

  int schemaVersion() override { return db_->schemaVersion(); }
  std::string describe() const override { return db_->describe(); }
  void verify() override { db_->verify(); }

  Claim registerFile(const std::string& route, const std::string& sha256, const std::string& name,
                     std::uint64_t size, const std::string& owner, std::int64_t leaseMs,
                     FileEntry* earlier) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      auto insert = db_->prepare(
          "INSERT INTO intake_files (route, sha256, name, size, state, first_seen, lease_owner, lease_until) "
          "VALUES (?, ?, ?, ?, 'processing', ?, ?, ?) ON CONFLICT DO NOTHING");
      insert->bind(1, route).bind(2, sha256).bind(3, name).bind(4, static_cast<std::int64_t>(size));
      insert->bind(5, isoUtc(now)).bind(6, owner).bind(7, now + leaseMs);
      if (insert->run() == 1) return Claim::New;
      auto select = db_->prepare(std::string("SELECT ") + kFileColumns +
                                 " FROM intake_files WHERE route = ? AND sha256 = ?" + forUpdate());
      select->bind(1, route).bind(2, sha256);
      if (!select->next()) throw StoreError(describe() + ": a registered file vanished");
      FileEntry entry = readFile(*select);
      if (earlier) *earlier = entry;
      if (entry.reprocess != 0 && entry.state != FileState::Processing) {
        // An operator asked for it (renkei reprocess): a new generation.
        auto again = db_->prepare(
            "UPDATE intake_files SET state = 'processing', lease_owner = ?, lease_until = ?, reprocess = 0, "
            "generation = generation + 1, finished_at = NULL, note = '' WHERE route = ? AND sha256 = ?");
        again->bind(1, owner).bind(2, now + leaseMs).bind(3, route).bind(4, sha256);
        again->run();
        if (earlier) earlier->generation = entry.generation + 1;
        return Claim::Again;
      }
      if (entry.state == FileState::Done) return Claim::Done;
      if (entry.state == FileState::Processing && entry.leaseOwner != owner && !entry.leaseOwner.empty() &&
          entry.leaseUntil >= now && (horizon_ <= 0 || entry.leaseUntil <= now + horizon_))
        return Claim::Busy;
      // Unfinished (its host died or stopped) or failed before (perhaps a
      // layout was fixed since): taken in again; stored batches are kept.
      auto lease = db_->prepare(
          "UPDATE intake_files SET state = 'processing', lease_owner = ?, lease_until = ? "
          "WHERE route = ? AND sha256 = ?");
      lease->bind(1, owner).bind(2, now + leaseMs).bind(3, route).bind(4, sha256);
      lease->run();
      return Claim::Resume;
    });
  }

  void appendBatches(const std::vector<BatchRow>& batches, const std::vector<std::string>& targets,
                     const std::string& owner, std::int64_t leaseMs) override {
    if (batches.empty()) return;
    transaction(*db_, [&] {
      insertBatches(batches, targets, nowMs());
      const std::int64_t now = nowMs();
      auto lease = db_->prepare(
          "UPDATE intake_files SET lease_until = ? WHERE route = ? AND sha256 = ? AND lease_owner = ?");
      lease->bind(1, now + leaseMs).bind(2, batches.front().route).bind(3, batches.front().fileSha).bind(4, owner);
      lease->run();
    });
  }

  void finishFile(const std::string& route, const std::string& sha256, FileState state,
                  const std::string& note) override {
    transaction(*db_, [&] { setFileState(route, sha256, state, note); });
  }

  bool commitUnit(const UnitCommit& unit) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      if (!unit.key.empty()) {
        std::int64_t records = 0;
        for (const auto& g : unit.groups)
          for (const BatchRow& b : g.batches) records += b.records;
        auto seen = db_->prepare(
            "INSERT INTO emissions (emitter, emission_key, at_ms, records) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
        seen->bind(1, unit.emitter).bind(2, unit.key).bind(3, now).bind(4, records);
        if (seen->run() != 1) return false;  // emitted before: acknowledged, nothing again
      }
      for (const auto& g : unit.groups) insertBatches(g.batches, g.targets, now);
      if (unit.file) {
        // The file's batches were stored without outbox rows (staged): they
        // become deliverable now, in order, with everything else of the unit.
        for (const std::string& target : unit.file->targets) {
          auto o = db_->prepare(
              "INSERT INTO outbox (batch_id, route, target, state, records, created_ms, updated_ms, next_attempt_ms) "
              "SELECT id, route, ?, 'pending', records, ?, ?, ? FROM batches WHERE route = ? AND file_sha = ? "
              "ORDER BY seq ON CONFLICT DO NOTHING");
          o->bind(1, target).bind(2, now).bind(3, now).bind(4, now).bind(5, unit.file->route).bind(6, unit.file->sha256);
          o->run();
        }
        setFileState(unit.file->route, unit.file->sha256, FileState::Done, {});
      }
      insertHeld(unit.emitter, unit.key, unit.held, now);
      for (const auto& again : unit.heldAgain) {
        // A record no route took, rejected now by a route that appeared:
        // held for that route from here on (a later resubmit runs it alone).
        auto u = db_->prepare(
            "UPDATE held_records SET state = 'held', reasons = ?, changed_ms = ?, "
            "route = CASE WHEN ? = '' THEN route ELSE ? END WHERE id = ? AND state = 'resubmit'");
        u->bind(1, again.reasons).bind(2, now).bind(3, again.route).bind(4, again.route).bind(5, again.id);
        u->run();
      }
      for (std::int64_t id : unit.heldResolved) {
        auto u = db_->prepare(
            "UPDATE held_records SET state = 'resolved', changed_ms = ? WHERE id = ? AND state = 'resubmit'");
        u->bind(1, now).bind(2, id);
        u->run();
      }
      if (unit.extra) unit.extra(*db_);
      return true;
    });
  }

  std::int64_t acknowledgeFile(const std::string& route, const std::string& sha256, const std::string& who,
                               const std::string& detail) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      auto s = db_->prepare(
          "INSERT INTO acknowledged_files (route, sha256, who, at_ms) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
      s->bind(1, route).bind(2, sha256).bind(3, who).bind(4, now);
      const std::int64_t n = s->run();
      if (n) log(who, "acknowledged", detail, now);
      return n;
    });
  }

  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> acknowledgedFiles() override {
    auto s = db_->prepare("SELECT route, sha256, who, at_ms FROM acknowledged_files");
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> out;
    while (s->next()) out[{s->text(0), s->text(1)}] = {s->text(2), isoUtc(s->integer(3))};
    return out;
  }

  void recordRefusal(const std::string& source, const std::string& item, const std::string& reason) override {
    transaction(*db_, [&] {
      auto s = db_->prepare("INSERT INTO refused_items (source, item, reason, at_ms) VALUES (?, ?, ?, ?)");
      s->bind(1, source).bind(2, boundedError(item)).bind(3, boundedError(reason)).bind(4, nowMs());
      s->run();
      return 0;
    });
  }

  std::vector<Refusal> refusals(std::int64_t sinceMs, std::size_t limit) override {
    auto s = db_->prepare(
        "SELECT id, source, item, reason, at_ms, acknowledged_by, acknowledged_ms FROM refused_items "
        "WHERE at_ms >= ? OR acknowledged_ms = 0 ORDER BY id DESC LIMIT ?");
    s->bind(1, sinceMs).bind(2, static_cast<std::int64_t>(limit));
    std::vector<Refusal> out;
    while (s->next()) {
      Refusal r;
      r.id = s->integer(0);
      r.source = s->text(1);
      r.item = s->text(2);
      r.reason = s->text(3);
      r.atMs = s->integer(4);
      r.acknowledgedBy = s->text(5);
      r.acknowledgedMs = s->integer(6);
      out.push_back(std::move(r));
    }
    return out;
  }

  std::int64_t acknowledgeRefusal(std::int64_t id, const std::string& who, const std::string& detail) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      auto s = db_->prepare(
          "UPDATE refused_items SET acknowledged_by = ?, acknowledged_ms = ? WHERE id = ? AND acknowledged_ms = 0");
      s->bind(1, who).bind(2, now).bind(3, id);
      const std::int64_t n = s->run();
      if (n) log(who, "acknowledged", detail, now);
      return n;
    });
  }

  std::map<std::string, std::int64_t> openRefusals() override {
    auto s = db_->prepare("SELECT source, COUNT(*) FROM refused_items WHERE acknowledged_ms = 0 GROUP BY source");
    std::map<std::string, std::int64_t> out;
    while (s->next()) out[s->text(0)] = s->integer(1);
    return out;
  }

  std::vector<HeldSummary> heldSummary() override {
    auto s = db_->prepare(
        "SELECT emitter, route, record_type, state, COUNT(*), MIN(created_ms), MAX(id) FROM held_records "
        "WHERE state <> 'resolved' GROUP BY emitter, route, record_type, state ORDER BY emitter, route, record_type");
    std::vector<HeldSummary> out;
    std::vector<std::int64_t> latest;
    while (s->next()) {
      if (out.empty() || out.back().emitter != s->text(0) || out.back().route != s->text(1) ||
          out.back().recordType != s->text(2)) {
        out.emplace_back();
        out.back().emitter = s->text(0);
        out.back().route = s->text(1);
        out.back().recordType = s->text(2);
        latest.push_back(0);
      }
      HeldSummary& h = out.back();
      (s->text(3) == "held" ? h.held : h.resubmit) += s->integer(4);
      const std::int64_t oldest = s->integer(5);
      h.oldestMs = h.oldestMs == 0 ? oldest : std::min(h.oldestMs, oldest);
      latest.back() = std::max(latest.back(), s->integer(6));
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
      auto r = db_->prepare("SELECT reasons FROM held_records WHERE id = ?");
      r->bind(1, latest[i]);
      if (r->next()) out[i].lastReasons = r->text(0);
    }
    return out;
  }

  std::vector<HeldRecord> listHeld(const std::string& emitter, const std::string& route, std::size_t limit) override {
    auto s = db_->prepare(std::string("SELECT ") + kHeldColumns +
                          " FROM held_records WHERE state <> 'resolved' AND (? = '' OR emitter = ?) "
                          "AND (? = '' OR route = ?) ORDER BY id LIMIT ?");
    s->bind(1, emitter).bind(2, emitter).bind(3, route).bind(4, route).bind(5, static_cast<std::int64_t>(limit));
    std::vector<HeldRecord> out;
    while (s->next()) out.push_back(readHeld(*s));
    return out;
  }

  std::optional<HeldRecord> heldRecord(std::int64_t id) override {
    auto s = db_->prepare(std::string("SELECT ") + kHeldColumns + " FROM held_records WHERE id = ?");
    s->bind(1, id);
    if (!s->next()) return std::nullopt;
    return readHeld(*s);
  }

  std::int64_t requestHeldResubmit(std::int64_t id, const std::string& emitter, const std::string& route,
                                   const std::string& who) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      auto s = db_->prepare(
          "UPDATE held_records SET state = 'resubmit', changed_ms = ?, changed_by = ? WHERE state = 'held' "
          "AND (? = 0 OR id = ?) AND (? = '' OR emitter = ?) AND (? = '' OR route = ?)");
      s->bind(1, now).bind(2, who).bind(3, id).bind(4, id).bind(5, emitter).bind(6, emitter).bind(7, route).bind(8, route);
      const std::int64_t changed = s->run();
      log(who, "held resubmit",
          (id ? "record " + std::to_string(id) : std::string("held records")) +
              (emitter.empty() ? "" : " of " + emitter) + (route.empty() ? "" : " on route " + route) + ": " +
              std::to_string(changed) + " records",
          now);
      return changed;
    });
  }

  std::vector<HeldRecord> resubmitRequests(std::size_t limit) override {
    auto s = db_->prepare(std::string("SELECT ") + kHeldColumns +
                          " FROM held_records WHERE state = 'resubmit' ORDER BY emitter, route, record_type, id LIMIT ?");
    s->bind(1, static_cast<std::int64_t>(limit));
    std::vector<HeldRecord> out;
    while (s->next()) out.push_back(readHeld(*s));
    return out;
  }

  bool emitted(const std::string& emitter, const std::string& key) override {
    auto s = db_->prepare("SELECT 1 FROM emissions WHERE emitter = ? AND emission_key = ?");
    s->bind(1, emitter).bind(2, key);
    return s->next();
  }

  std::vector<FileEntry> recentFiles(const std::string& route, std::size_t limit) override {
    auto select = db_->prepare(std::string("SELECT ") + kFileColumns +
                               " FROM intake_files WHERE (? = '' OR route = ?) "
                               "ORDER BY first_seen DESC, name DESC LIMIT ?");
    select->bind(1, route).bind(2, route).bind(3, static_cast<std::int64_t>(limit));
    std::vector<FileEntry> out;
    while (select->next()) out.push_back(readFile(*select));
    return out;
  }

  std::optional<FileEntry> findFile(const std::string& route, const std::string& sha256) override {
    auto select =
        db_->prepare(std::string("SELECT ") + kFileColumns + " FROM intake_files WHERE route = ? AND sha256 = ?");
    select->bind(1, route).bind(2, sha256);
    if (!select->next()) return std::nullopt;
    return readFile(*select);
  }

  void renewFileLease(const std::string& route, const std::string& sha256, const std::string& owner,
                      std::int64_t leaseMs) override {
    transaction(*db_, [&] {
      auto lease = db_->prepare(
          "UPDATE intake_files SET lease_until = ? WHERE route = ? AND sha256 = ? AND lease_owner = ?");
      lease->bind(1, nowMs() + leaseMs).bind(2, route).bind(3, sha256).bind(4, owner);
      lease->run();
    });
  }

  void releaseLeases(const std::string& owner) override {
    transaction(*db_, [&] {
      auto files = db_->prepare("UPDATE intake_files SET lease_until = 0 WHERE lease_owner = ?");
      files->bind(1, owner);
      files->run();
      auto rows = db_->prepare("UPDATE outbox SET lease_owner = '', lease_until = 0 WHERE lease_owner = ?");
      rows->bind(1, owner);
      rows->run();
    });
  }

  std::vector<Delivery> claimDeliveries(const std::string& owner, std::int64_t leaseMs, std::size_t limit,
                                        const std::vector<std::string>& routes, const std::vector<std::string>& targets,
                                        bool countHandOut) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      // Each target receives a route's batches in order: a row is handed out
      // only when every older pending row of its route and target is handed
      // out too (none waits for a retry or sits leased elsewhere). Claims are
      // serialised (SQLite by its write lock, PostgreSQL by an advisory lock
      // for the transaction) so two hosts never split one queue.
      if (db_->dialect() == Dialect::Postgres) db_->exec("SELECT pg_advisory_xact_lock(7367284502)");
      // The first blocked row (waiting for a retry, or leased) of each
      // queue, found in one pass; a row is eligible only before it. (A
      // correlated NOT EXISTS per row cost O(n²) in the pending rows: with
      // thousands of one-record emissions pending, claims held the write
      // lock long enough to stall every commit behind them.)
      std::string sql =
          "WITH blocked AS (SELECT route, target, MIN(id) AS first_blocked FROM outbox "
          "WHERE state = 'pending' AND ((next_attempt_ms > ? AND next_attempt_ms <= ?) "
          "OR (lease_until >= ? AND lease_until <= ?))";
      sql += inList(" AND route", routes.size());
      sql += inList(" AND target", targets.size());
      sql +=
          " GROUP BY route, target) "
          "SELECT o.id, o.batch_id, o.route, o.target, b.source_item, o.records, o.attempts "
          "FROM outbox o JOIN batches b ON b.id = o.batch_id "
          "LEFT JOIN blocked k ON k.route = o.route AND k.target = o.target "
          "WHERE o.state = 'pending' AND (o.next_attempt_ms <= ? OR o.next_attempt_ms > ?) "
          "AND (o.lease_until < ? OR o.lease_until > ?)";
      sql += inList(" AND o.route", routes.size());
      sql += inList(" AND o.target", targets.size());
      sql += " AND (k.first_blocked IS NULL OR o.id < k.first_blocked)";
      sql += " ORDER BY o.id LIMIT ?";
      if (db_->dialect() == Dialect::Postgres) sql += " FOR UPDATE OF o SKIP LOCKED";
      auto select = db_->prepare(sql);
      int p = 1;
      // Times beyond the horizon were set before a backward clock step.
      const std::int64_t horizon = horizon_ > 0 ? now + horizon_ : std::numeric_limits<std::int64_t>::max();
      select->bind(p++, now);
      select->bind(p++, horizon);
      select->bind(p++, now);
      select->bind(p++, horizon);
      for (const auto& r : routes) select->bind(p++, r);
      for (const auto& t : targets) select->bind(p++, t);
      select->bind(p++, now);
      select->bind(p++, horizon);
      select->bind(p++, now);
      select->bind(p++, horizon);
      for (const auto& r : routes) select->bind(p++, r);
      for (const auto& t : targets) select->bind(p++, t);
      select->bind(p++, static_cast<std::int64_t>(limit));
      std::vector<Delivery> out;
      std::vector<std::int64_t> ids;
      while (select->next()) {
        ids.push_back(select->integer(0));
        Delivery d;
        d.batchId = select->text(1);
        d.route = select->text(2);
        d.target = select->text(3);
        d.sourceItem = select->text(4);
        d.records = select->integer(5);
        d.attempts = static_cast<int>(select->integer(6));
        out.push_back(std::move(d));
      }
      for (std::int64_t id : ids) {
        auto lease = db_->prepare(countHandOut ? "UPDATE outbox SET lease_owner = ?, lease_until = ?, "
                                                 "attempts = attempts + 1, updated_ms = ? WHERE id = ?"
                                               : "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE id = ?");
        lease->bind(1, owner).bind(2, now + leaseMs);
        if (countHandOut) lease->bind(3, now).bind(4, id);
        else lease->bind(3, id);
        lease->run();
      }
      return out;
    });
  }

  void markDelivered(const std::vector<std::pair<std::string, std::string>>& rows, const std::string& owner) override {
    if (rows.empty()) return;
    transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      for (const auto& [batchId, target] : rows) {
        auto s = db_->prepare(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_ms = ?, updated_ms = ?, "
            "lease_owner = '', lease_until = 0 WHERE batch_id = ? AND target = ? AND lease_owner = ?");
        s->bind(1, now).bind(2, now).bind(3, batchId).bind(4, target).bind(5, owner);
        s->run();
      }
    });
  }

  void releaseLeases(const std::vector<std::pair<std::string, std::string>>& rows, const std::string& owner) override {
    if (rows.empty()) return;
    transaction(*db_, [&] {
      for (const auto& [batchId, target] : rows) {
        auto s = db_->prepare(
            "UPDATE outbox SET lease_owner = '', lease_until = 0 WHERE batch_id = ? AND target = ? AND lease_owner = ?");
        s->bind(1, batchId).bind(2, target).bind(3, owner);
        s->run();
      }
    });
  }

  void markFailed(const std::string& batchId, const std::string& target, const std::string& owner,
                  std::int64_t nextAttemptAt, bool dead, const std::string& error) override {
    transaction(*db_, [&] {
      auto s = db_->prepare(
          "UPDATE outbox SET state = ?, attempts = attempts + 1, next_attempt_ms = ?, updated_ms = ?, "
          "last_error = ?, last_error_ms = ?, lease_owner = '', lease_until = 0 "
          "WHERE batch_id = ? AND target = ? AND lease_owner = ?");
      const std::int64_t now = nowMs();
      // A target's error text is the target's (a peer's reply can be any
      // size): kept to kMaxErrorBytes, cut at a UTF-8 boundary and marked.
      s->bind(1, dead ? "dead" : "pending").bind(2, nextAttemptAt).bind(3, now).bind(4, boundedError(error)).bind(5, now);
      s->bind(6, batchId).bind(7, target).bind(8, owner);
      s->run();
    });
  }

  std::int64_t outboxDepth(const std::string& route) override {
    auto s = db_->prepare("SELECT COALESCE(SUM(records), 0) FROM outbox WHERE route = ? AND state = 'pending'");
    s->bind(1, route);
    return s->next() ? s->integer(0) : 0;
  }

  std::optional<std::int64_t> nextDue(const std::vector<std::string>& routes,
                                      const std::vector<std::string>& targets) override {
    std::string sql =
        "SELECT COUNT(*), MIN(CASE WHEN lease_until > next_attempt_ms THEN lease_until ELSE next_attempt_ms END) "
        "FROM outbox WHERE state = 'pending'";
    sql += inList(" AND route", routes.size());
    sql += inList(" AND target", targets.size());
    auto s = db_->prepare(sql);
    int p = 1;
    for (const auto& r : routes) s->bind(p++, r);
    for (const auto& t : targets) s->bind(p++, t);
    if (!s->next() || s->integer(0) == 0) return std::nullopt;
    return s->integer(1);
  }

  std::vector<OutboxEntry> listOutbox(OutboxState state, const std::string& route, std::size_t limit) override {
    auto s = db_->prepare(std::string("SELECT ") + kOutboxColumns +
                          " FROM outbox o JOIN batches b ON b.id = o.batch_id "
                          "WHERE o.state = ? AND (? = '' OR o.route = ?) ORDER BY o.id LIMIT ?");
    s->bind(1, outboxStateName(state)).bind(2, route).bind(3, route).bind(4, static_cast<std::int64_t>(limit));
    std::vector<OutboxEntry> out;
    while (s->next()) out.push_back(readOutbox(*s));
    return out;
  }

  std::vector<OutboxEntry> batchOutbox(const std::string& batchId) override {
    auto s = db_->prepare(std::string("SELECT ") + kOutboxColumns +
                          " FROM outbox o JOIN batches b ON b.id = o.batch_id WHERE o.batch_id = ? ORDER BY o.id");
    s->bind(1, batchId);
    std::vector<OutboxEntry> out;
    while (s->next()) out.push_back(readOutbox(*s));
    return out;
  }

  std::optional<std::pair<std::string, std::string>> payload(const std::string& batchId) override {
    auto s = db_->prepare("SELECT fields, payload FROM batches WHERE id = ?");
    s->bind(1, batchId);
    if (!s->next()) return std::nullopt;
    std::string fields = s->text(0);
    return std::make_pair(std::move(fields), s->text(1));
  }

  std::optional<BatchRow> batch(const std::string& batchId) override {
    auto s = db_->prepare(
        "SELECT id, route, file_sha, source_item, seq, first_record, last_record, records, created_ms, fields, "
        "payload, record_type, zone FROM batches WHERE id = ?");
    s->bind(1, batchId);
    if (!s->next()) return std::nullopt;
    BatchRow b;
    b.id = s->text(0);
    b.route = s->text(1);
    b.fileSha = s->text(2);
    b.sourceItem = s->text(3);
    b.sequence = s->integer(4);
    b.firstRecord = s->integer(5);
    b.lastRecord = s->integer(6);
    b.records = s->integer(7);
    b.createdAt = isoUtc(s->integer(8));
    b.fields = s->text(9);
    b.payload = s->text(10);
    b.recordType = s->text(11);
    b.zone = s->text(12);
    return b;
  }

  std::int64_t resubmit(const std::string& batchId, const std::string& route, const std::string& who) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      auto s = db_->prepare(
          "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = ?, updated_ms = ? "
          "WHERE state = 'dead' AND (? = '' OR batch_id = ?) AND (? = '' OR route = ?)");
      s->bind(1, now).bind(2, now).bind(3, batchId).bind(4, batchId).bind(5, route).bind(6, route);
      const std::int64_t changed = s->run();
      log(who, "deadletters resubmit",
          (batchId.empty() ? std::string("all dead letters") : "batch " + batchId) +
              (route.empty() ? "" : " of route " + route) + ": " + std::to_string(changed) + " rows",
          now);
      return changed;
    });
  }

  std::optional<FileEntry> requestReprocess(const std::string& route, const std::string& name,
                                            const std::string& who) override {
    return transaction(*db_, [&]() -> std::optional<FileEntry> {
      auto select = db_->prepare(std::string("SELECT ") + kFileColumns +
                                 " FROM intake_files WHERE route = ? AND name = ? "
                                 "ORDER BY first_seen DESC, sha256 DESC LIMIT 1" + forUpdate());
      select->bind(1, route).bind(2, name);
      if (!select->next()) return std::nullopt;
      FileEntry entry = readFile(*select);
      if (entry.state == FileState::Processing) return entry;  // the caller says it is busy
      auto update = db_->prepare("UPDATE intake_files SET reprocess = 1 WHERE route = ? AND sha256 = ?");
      update->bind(1, route).bind(2, entry.sha256);
      update->run();
      const std::int64_t now = nowMs();
      log(who, "reprocess",
          "route " + route + ": '" + name + "' (sha256 " + entry.sha256.substr(0, 12) + ", generation " +
              std::to_string(entry.generation + 1) + ")",
          now);
      entry.reprocess = 1;
      return entry;
    });
  }

  std::vector<FileEntry> reprocessRequests(const std::string& route) override {
    auto select = db_->prepare(std::string("SELECT ") + kFileColumns +
                               " FROM intake_files WHERE route = ? AND reprocess = 1 ORDER BY first_seen LIMIT 100");
    select->bind(1, route);
    std::vector<FileEntry> out;
    while (select->next()) out.push_back(readFile(*select));
    return out;
  }

  void reprocessAsked(const std::string& route, const std::string& sha256) override {
    auto s = db_->prepare("UPDATE intake_files SET reprocess = 2 WHERE route = ? AND sha256 = ? AND reprocess = 1");
    s->bind(1, route).bind(2, sha256);
    s->run();
  }

  std::int64_t replay(const std::string& route, std::int64_t sinceMs, const std::string& who) override {
    return transaction(*db_, [&] {
      const std::int64_t now = nowMs();
      auto s = db_->prepare(
          "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_ms = ?, updated_ms = ? "
          "WHERE state = 'delivered' AND route = ? AND created_ms >= ?");
      s->bind(1, now).bind(2, now).bind(3, route).bind(4, sinceMs);
      const std::int64_t changed = s->run();
      log(who, "replay",
          "route " + route + " since " + isoUtc(sinceMs) + ": " + std::to_string(changed) + " rows", now);
      return changed;
    });
  }

  std::vector<QueueStatus> queueStatus() override {
    const std::int64_t now = nowMs();
    auto s = db_->prepare(
        "SELECT route, target, state, COUNT(*), COALESCE(SUM(records), 0), MIN(created_ms), "
        "COALESCE(SUM(CASE WHEN lease_until >= ? THEN 1 ELSE 0 END), 0) "
        "FROM outbox GROUP BY route, target, state ORDER BY route, target");
    s->bind(1, now);
    std::vector<QueueStatus> out;
    while (s->next()) {
      const std::string route = s->text(0), target = s->text(1);
      if (out.empty() || out.back().route != route || out.back().target != target) {
        out.push_back({});
        out.back().route = route;
        out.back().target = target;
      }
      QueueStatus& q = out.back();
      const OutboxState state = parseOutboxState(s->text(2));
      const std::int64_t rows = s->integer(3), records = s->integer(4);
      if (state == OutboxState::Pending) {
        q.pendingBatches = rows;
        q.pendingRecords = records;
        q.oldestPendingMs = s->integer(5);
        q.leased = s->integer(6);
      } else if (state == OutboxState::Dead) {
        q.deadBatches = rows;
        q.deadRecords = records;
      } else {
        q.deliveredBatches = rows;
        q.deliveredRecords = records;
      }
    }
    for (QueueStatus& q : out) {
      auto e = db_->prepare(
          "SELECT last_error, last_error_ms FROM outbox WHERE route = ? AND target = ? AND last_error <> '' "
          "AND state <> 'delivered' ORDER BY last_error_ms DESC LIMIT 1");
      e->bind(1, q.route).bind(2, q.target);
      if (e->next()) {
        q.lastError = e->text(0);
        q.lastErrorAt = isoUtc(e->integer(1));
      }
    }
    return out;
  }

  void maintain() override { db_->maintain(); }

  std::int64_t pruneDelivered(std::int64_t beforeMs, std::size_t limit) override {
    return transaction(*db_, [&] {
      auto select = db_->prepare(
          "SELECT b.id FROM batches b WHERE b.created_ms < ? AND NOT EXISTS "
          "(SELECT 1 FROM outbox o WHERE o.batch_id = b.id AND o.state <> 'delivered') "
          "AND EXISTS (SELECT 1 FROM outbox o WHERE o.batch_id = b.id) "  // staged batches wait for their unit
          "ORDER BY b.created_ms LIMIT ?");
      select->bind(1, beforeMs).bind(2, static_cast<std::int64_t>(limit));
      std::vector<std::string> ids;
      while (select->next()) ids.push_back(select->text(0));
      for (const std::string& id : ids) {
        auto rows = db_->prepare("DELETE FROM outbox WHERE batch_id = ?");
        rows->bind(1, id);
        rows->run();
        auto batch = db_->prepare("DELETE FROM batches WHERE id = ?");
        batch->bind(1, id);
        batch->run();
      }
      return static_cast<std::int64_t>(ids.size());
    });
  }

  std::vector<OperatorAction> operatorLog(std::size_t limit) override {
    auto s = db_->prepare("SELECT at_ms, who, action, detail FROM operator_log ORDER BY id DESC LIMIT ?");
    s->bind(1, static_cast<std::int64_t>(limit));
    std::vector<OperatorAction> out;
    while (s->next()) {
      OperatorAction a;
      a.atMs = s->integer(0);
      a.at = isoUtc(a.atMs);
      a.who = s->text(1);
      a.action = s->text(2);
      a.detail = s->text(3);
      out.push_back(std::move(a));
    }
    return out;
  }

  std::vector<OperatorAction> operatorLogAfter(std::int64_t id) override {
    std::vector<OperatorAction> out;
    auto s = db_->prepare("SELECT id, at_ms, who, action, detail FROM operator_log WHERE id > ? ORDER BY id LIMIT 10000");
    s->bind(1, id);
    while (s->next()) {
      OperatorAction a;
      a.id = s->integer(0);
      a.atMs = s->integer(1);
      a.who = s->text(2);
      a.action = s->text(3);
      a.detail = s->text(4);
      out.push_back(std::move(a));
    }
    return out;
  }

  std::int64_t lastOperatorLogId() override {
    auto s = db_->prepare("SELECT COALESCE(MAX(id), 0) FROM operator_log");
    return s->next() ? s->integer(0) : 0;
  }

  void logOperatorAction(const std::string& who, const std::string& action, const std::string& detail) override {
    log(who, action, detail, nowMs());
  }

 private:
  const char* forUpdate() const { return db_->dialect() == Dialect::Postgres ? " FOR UPDATE" : ""; }

  /// Inside a transaction: batches and one outbox row per target for each
  /// batch not stored before (a batch stored by an earlier run keeps the
  /// rows it has; with no targets the batch is staged: see commitUnit).
  void insertBatches(const std::vector<BatchRow>& batches, const std::vector<std::string>& targets, std::int64_t now) {
    for (const BatchRow& b : batches) {
      auto s = db_->prepare(
          "INSERT INTO batches (id, route, file_sha, source_item, seq, first_record, last_record, records, "
          "created_ms, fields, payload, record_type, zone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT DO NOTHING");
      s->bind(1, b.id).bind(2, b.route).bind(3, b.fileSha).bind(4, b.sourceItem).bind(5, b.sequence);
      s->bind(6, b.firstRecord).bind(7, b.lastRecord).bind(8, b.records).bind(9, now).bind(10, b.fields);
      s->bindLarge(11, b.payload);
      s->bind(12, b.recordType).bind(13, b.zone);
      if (s->run() != 1) continue;  // stored by an earlier run: its outbox rows are there too
      for (const std::string& target : targets) {
        auto o = db_->prepare(
            "INSERT INTO outbox (batch_id, route, target, state, records, created_ms, updated_ms, "
            "next_attempt_ms) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?) ON CONFLICT DO NOTHING");
        o->bind(1, b.id).bind(2, b.route).bind(3, target).bind(4, b.records).bind(5, now).bind(6, now).bind(7, now);
        o->run();
      }
    }
  }

  void setFileState(const std::string& route, const std::string& sha256, FileState state, const std::string& note) {
    auto update = db_->prepare(
        "UPDATE intake_files SET state = ?, finished_at = ?, note = ?, lease_owner = '', lease_until = 0 "
        "WHERE route = ? AND sha256 = ?");
    update->bind(1, fileStateName(state)).bind(2, isoUtc(nowMs())).bind(3, note).bind(4, route).bind(5, sha256);
    update->run();
  }

  static constexpr const char* kHeldColumns =
      "id, emitter, emission_key, route, record_type, number, reasons, fields, record, state, created_ms, changed_ms, "
      "changed_by";

  static HeldRecord readHeld(SqlStatement& s) {
    HeldRecord h;
    h.id = s.integer(0);
    h.emitter = s.text(1);
    h.key = s.text(2);
    h.route = s.text(3);
    h.recordType = s.text(4);
    h.number = s.integer(5);
    h.reasons = s.text(6);
    h.fields = s.text(7);
    h.record = s.text(8);
    h.state = s.text(9);
    h.createdAt = isoUtc(s.integer(10));
    h.changedAt = isoUtc(s.integer(11));
    h.changedBy = s.text(12);
    return h;
  }

  void insertHeld(const std::string& emitter, const std::string& key, const std::vector<HeldRecord>& held,
                  std::int64_t now) {
    for (const HeldRecord& h : held) {
      auto s = db_->prepare(
          "INSERT INTO held_records (emitter, emission_key, route, record_type, number, reasons, fields, record, "
          "state, created_ms, changed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'held', ?, ?)");
      s->bind(1, h.emitter.empty() ? emitter : h.emitter).bind(2, h.key.empty() ? key : h.key).bind(3, h.route);
      s->bind(4, h.recordType).bind(5, h.number).bind(6, h.reasons).bind(7, h.fields);
      s->bindLarge(8, h.record);
      s->bind(9, now).bind(10, now);
      s->run();
    }
  }

  void log(const std::string& who, const std::string& action, const std::string& detail, std::int64_t now) {
    auto s = db_->prepare("INSERT INTO operator_log (at_ms, who, action, detail) VALUES (?, ?, ?, ?)");
    s->bind(1, now).bind(2, who).bind(3, action).bind(4, detail);
    s->run();
  }

  static FileEntry readFile(SqlStatement& s) {
    FileEntry e;
    e.route = s.text(0);
    e.sha256 = s.text(1);
    e.name = s.text(2);
    e.size = static_cast<std::uint64_t>(s.integer(3));
    e.state = parseFileState(s.text(4));
    e.firstSeen = s.text(5);
    e.finishedAt = s.text(6);
    e.note = s.text(7);
    e.leaseOwner = s.text(8);
    e.leaseUntil = s.integer(9);
    e.generation = s.integer(10);
    e.reprocess = static_cast<int>(s.integer(11));
    return e;
  }

  static OutboxEntry readOutbox(SqlStatement& s) {
    OutboxEntry e;
    e.batchId = s.text(0);
    e.route = s.text(1);
    e.target = s.text(2);
    e.sourceItem = s.text(3);
    e.state = parseOutboxState(s.text(4));
    e.attempts = static_cast<int>(s.integer(5));
    e.records = s.integer(6);
    e.firstRecord = s.integer(7);
    e.lastRecord = s.integer(8);
    e.createdAt = isoUtc(s.integer(9));
    e.updatedAt = isoUtc(s.integer(10));
    e.deliveredAt = isoUtc(s.integer(11));
    e.nextAttemptAt = s.integer(12);
    e.leaseOwner = s.text(13);
    e.lastError = s.text(14);
    return e;
  }

  // Each migration runs in its own transaction together with the version
  // bump, so a crash leaves the schema at a known version. Two hosts
  // starting together: the second waits for the first's lock, then finds
  // the work done.
  void migrate() {
    const int known = static_cast<int>(sizeof kMigrations / sizeof kMigrations[0]);
    for (;;) {
      const int current = db_->schemaVersion();
      if (current > known)
        throw StoreError(describe() + ": the store has schema version " + std::to_string(current) +
                         ", newer than this renkei knows (" + std::to_string(known) + "); use a newer renkei");
      if (current == known) return;
      transaction(*db_, [&] {
        db_->lockSchema();
        if (db_->schemaVersion() != current) return;  // another process migrated meanwhile
        runMigration(*db_, current);
      });
    }
  }

  std::unique_ptr<SqlDatabase> db_;
  std::int64_t horizon_ = 0;  ///< see StoreConfig::horizonMs
};

}  // namespace

int knownSchemaVersion() { return static_cast<int>(sizeof kMigrations / sizeof kMigrations[0]); }

namespace {

// What each migration brings, for `renkei migrate` (one line each, in order).
const char* const kMigrationSummaries[] = {
    "the intake register (intake_files)",
    "leases on files being taken in; batches; the outbox (pending, delivered, dead); the operators' log",
    "the engine seam: a batch's record type and zone; emissions (idempotency keys)",
    "renkei reprocess: generations of a file; an outbox row's last error time",
    "held records (held_records)",
    "failed files an operator acknowledged (acknowledged_files)",
    "items refused whole (refused_items)",
    "the console's operators (operators)",
};
static_assert(sizeof kMigrationSummaries / sizeof kMigrationSummaries[0] == sizeof kMigrations / sizeof kMigrations[0],
              "a summary for every migration");

/// Runs migration `current` + 1 in its own transaction with the version bump.
void runMigration(SqlDatabase& db, int current) {
  const std::string sql = kMigrations[current];
  db.exec(db.dialect() == Dialect::Postgres ? postgresSql(sql) : sql);
  // Payloads are large and written once: PostgreSQL's default pglz
  // compression of TOASTed values cost more time than the I/O it saved.
  if (db.dialect() == Dialect::Postgres && current + 1 == 2)
    db.exec("ALTER TABLE batches ALTER COLUMN payload SET STORAGE EXTERNAL");
  db.setSchemaVersion(current + 1);
}

}  // namespace

std::vector<MigrationStep> migrationSteps(int from, const std::string& driver) {
  std::vector<MigrationStep> out;
  for (int v = std::max(from, 0); v < knownSchemaVersion(); ++v)
    out.push_back({v + 1, kMigrationSummaries[v], driver == "postgresql" ? postgresSql(kMigrations[v]) : kMigrations[v]});
  return out;
}

void migrateDatabaseTo(const StoreConfig& config, int version) {
  auto db = openDatabase(config);
  while (db->schemaVersion() < version && db->schemaVersion() < knownSchemaVersion()) {
    const int current = db->schemaVersion();
    transaction(*db, [&] {
      db->lockSchema();
      if (db->schemaVersion() == current) runMigration(*db, current);
    });
  }
}

std::unique_ptr<SqlDatabase> openDatabase(const StoreConfig& config) {
  if (config.driver == "sqlite")
    return openSqlite(config.path.string(), config.fullSync, config.autoCheckpoint, config.create);
  if (config.driver == "postgresql") {
    std::string password;
    if (config.passwordFile) {
      std::ifstream in(*config.passwordFile, std::ios::binary);
      if (!in) throw StoreError("postgresql store: cannot read password-file '" + config.passwordFile->string() + "'");
      std::getline(in, password);
      while (!password.empty() && (password.back() == '\r' || password.back() == ' ')) password.pop_back();
    } else if (const char* p = std::getenv("RENKEI_STORE_PASSWORD")) {
      password = p;
    }
    return openOdbcPostgres(config.connection, password);
  }
  throw StoreError("store driver '" + config.driver + "' is not known; use sqlite or postgresql");
}

std::unique_ptr<Store> openStore(const StoreConfig& config) {
  return std::make_unique<SqlStore>(openDatabase(config), config.horizonMs);
}

}  // namespace renkei::store
