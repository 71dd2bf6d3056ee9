// The host's durable state: the register of files taken in, the mapped
// batches, one outbox row per batch and target, dead letters, leases and the
// operators' log. Two implementations behind this interface: embedded SQLite
// and PostgreSQL.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace renkei::store {

/// The store cannot be opened or written. Messages name the store and what
/// failed, never a record's content.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An operator command found no store where the config says it is (it
/// never creates one).
class StoreMissing : public StoreError {
 public:
  using StoreError::StoreError;
};

/// The store's file was removed or replaced while it was open: whatever is
/// written from here on would be lost at the next start. The host stops.
class StoreGone : public StoreError {
 public:
  using StoreError::StoreError;
};

struct StoreConfig {
  std::string driver = "sqlite";
  std::filesystem::path path;  ///< sqlite: the database file (created with its folder); ":memory:" for none
  bool fullSync = true;        ///< sqlite: synchronous=FULL (a commit survives power loss), else NORMAL
  std::string connection;      ///< postgresql: ODBC connection string, without the password
  bool autoCheckpoint = true;  ///< sqlite: false for a writer whose checkpoints another connection runs (maintain())
  bool create = true;          ///< sqlite: create the file and its folder when missing (serve); false: StoreMissing
  std::optional<std::filesystem::path> passwordFile;  ///< postgresql: the password (else $RENKEI_STORE_PASSWORD)
  /// How far ahead of now a retry time or a lease can legitimately be (the
  /// longest backoff, lease or ack time-out, with a margin). A time further
  /// ahead was set before the clock stepped back: it counts as due (or run
  /// out), so a backward step delays nothing by more than this. 0: off.
  std::int64_t horizonMs = 0;
};

/// The newest store schema this renkei knows (a store or a backup of a
/// higher one is refused).
int knownSchemaVersion();

/// One step of the store's schema (`renkei migrate`): the version it
/// brings the store to, what it brings, and its SQL as it runs on the
/// store's driver.
struct MigrationStep {
  int version = 0;
  std::string summary;
  std::string sql;
};
/// The steps from schema `from` to knownSchemaVersion(), for `driver`
/// ("sqlite" or "postgresql").
std::vector<MigrationStep> migrationSteps(int from, const std::string& driver);
/// Brings the database of `config` to schema `version` and no further: a
/// store as an earlier release left it (the migration tests).
void migrateDatabaseTo(const StoreConfig& config, int version);

/// Milliseconds since the Unix epoch (the store's clock for leases and retries).
std::int64_t nowMs();
/// "2026-11-22T23:31:24Z" for a time in ms.
std::string isoUtc(std::int64_t ms);
/// Parses a date "2026-11-22" (midnight, local time), a local time
/// "2026-11-22T10:00:00" (or with a space), a UTC time "2026-11-22T10:00:00Z"
/// or a duration back from now ("90m", "2h", "3d"); nullopt when it is none
/// of these. Local is the process's zone: the configured one (local_time.h).
std::optional<std::int64_t> parseSince(const std::string& text, std::int64_t now);

enum class FileState { Processing, Done, Failed };
const char* fileStateName(FileState s);

struct FileEntry {
  std::string route;
  std::string sha256;
  std::string name;       ///< the name it arrived under the first time
  std::uint64_t size = 0;
  FileState state = FileState::Processing;
  std::string firstSeen;  ///< UTC, ISO 8601
  std::string finishedAt;
  std::string note;       ///< why it failed, if it did (no personal values)
  std::string leaseOwner; ///< the host taking it in (state processing)
  std::int64_t leaseUntil = 0;
  std::int64_t generation = 0;  ///< how many times an operator had it taken in again (renkei reprocess)
  int reprocess = 0;            ///< 1: taking in again asked for; 2: the source was asked, waiting for it
};

/// What registerFile decided.
enum class Claim {
  New,     ///< registered now: this host takes it in
  Resume,  ///< registered earlier and not finished (lease free or ours), or failed before (a layout may have
           ///< been fixed): take it in again; stored batches are kept
  Done,    ///< the same content was taken in completely before
  Busy,    ///< another host holds a live lease on it
  Again,   ///< done or failed before, and an operator asked for it again (renkei reprocess): a new
           ///< generation (FileEntry::generation in `earlier`), with batches of its own
};

/// One batch of mapped records as the intake writes it. `id` is
/// deterministic: route, file, hash and sequence number, so taking in the
/// same file again yields the same ids (the idempotency key of its records is
/// file hash + record number, and a batch covers records first..last).
struct BatchRow {
  std::string id;
  std::string route;
  std::string fileSha;
  std::string sourceItem;
  std::int64_t sequence = 0;
  std::int64_t firstRecord = 0;  ///< data record numbers in the file, from 1
  std::int64_t lastRecord = 0;
  std::int64_t records = 0;      ///< accepted records in the batch
  std::string fields;            ///< the field names: a JSON array of strings
  std::string payload;           ///< the records: JSON Lines of arrays of string values, in `fields` order
  std::string recordType;        ///< what the records are (the mapping's target record, or the emitted set's type)
  std::string zone;              ///< the zone they were mapped for
  std::string createdAt;
};

class SqlDatabase;

/// Batches of one route with the targets they go to.
struct RoutedBatches {
  std::vector<BatchRow> batches;
  std::vector<std::string> targets;
};

/// An emitted record a route's mapping rejected, or of a record type no
/// route takes: kept in the store with why, counted, shown by `renkei
/// status`, until an operator has it taken again after a fix.
struct HeldRecord {
  std::int64_t id = 0;
  std::string emitter;     ///< the instance that emitted it (empty in a UnitCommit: the unit's)
  std::string key;         ///< the emission's idempotency key (empty in a UnitCommit: the unit's)
  std::string route;       ///< the route whose mapping rejected it; empty: no route takes its type
  std::string recordType;
  std::int64_t number = 0; ///< its place in the emitted set, from 1
  std::string reasons;     ///< "required:name; pii-scan:note" (field names, never values)
  std::string fields;      ///< the record's field names: a JSON array
  std::string record;      ///< its values: a JSON array (sealed to the receiving zone where the route seals)
  std::string state;       ///< held, resubmit (an operator asked), resolved (a route took it)
  std::string createdAt, changedAt, changedBy;
};

/// An item a plugin refused whole before the host saw it.
struct Refusal {
  std::int64_t id = 0;
  std::string source;  ///< the connector
  std::string item;    ///< its name (a file, a bundle)
  std::string reason;
  std::int64_t atMs = 0;
  std::string acknowledgedBy;
  std::int64_t acknowledgedMs = 0;  ///< 0: still a problem
};

/// Held records of one emitter, route and record type (not resolved).
struct HeldSummary {
  std::string emitter, route, recordType;
  std::int64_t held = 0, resubmit = 0;
  std::int64_t oldestMs = 0;
  std::string lastReasons;  ///< of the most recent one
};

/// One unit of work committed in one transaction (the engine seam): the
/// records of an emission or of a source's derived sets, a taken-in file
/// made deliverable, and the emitter's own state.
struct UnitCommit {
  std::string emitter;  ///< the plugin instance that emitted it
  std::string key;      ///< idempotency key; a key `emitter` used before makes the commit do nothing. Empty: none.
  std::vector<RoutedBatches> groups;
  /// A file whose batches were stored staged (appendBatches without
  /// targets): its outbox rows are written for `targets` and it is marked
  /// done, in the same transaction.
  struct File {
    std::string route, sha256;
    std::vector<std::string> targets;
  };
  std::optional<File> file;
  /// Runs last inside the transaction (the emitter's state changes).
  std::function<void(SqlDatabase&)> extra;
  /// Records of the unit a route's mapping rejected or no route takes: held.
  std::vector<HeldRecord> held;
  /// Held records taken again: those a route took now (resolved), and
  /// those rejected again with their new reasons (held again).
  std::vector<std::int64_t> heldResolved;
  struct HeldAgain {
    std::int64_t id = 0;
    std::string reasons;  ///< the reasons now (replacing the old ones)
    std::string route;    ///< the route that rejected it now; empty: as it was
  };
  std::vector<HeldAgain> heldAgain;
};

/// An outbox row handed out for delivery (the payload is fetched apart:
/// the host often still has it in memory).
struct Delivery {
  std::string batchId;
  std::string route;
  std::string target;
  std::string sourceItem;
  std::int64_t records = 0;
  int attempts = 0;  ///< attempts before this one
};

enum class OutboxState { Pending, Delivered, Dead };
const char* outboxStateName(OutboxState s);

struct OutboxEntry {
  std::string batchId;
  std::string route;
  std::string target;
  std::string sourceItem;
  OutboxState state = OutboxState::Pending;
  int attempts = 0;
  std::int64_t records = 0;
  std::int64_t firstRecord = 0, lastRecord = 0;
  std::string createdAt;
  std::string updatedAt;
  std::string deliveredAt;
  std::int64_t nextAttemptAt = 0;
  std::string leaseOwner;
  std::string lastError;  ///< no personal values (sinks' messages are held to that)
};

/// Queues of one route and target for `renkei status`.
struct QueueStatus {
  std::string route;
  std::string target;
  std::int64_t pendingBatches = 0, pendingRecords = 0;
  std::int64_t deadBatches = 0, deadRecords = 0;
  std::int64_t deliveredBatches = 0, deliveredRecords = 0;
  std::int64_t leased = 0;             ///< pending rows a host holds right now
  std::int64_t oldestPendingMs = 0;    ///< creation time of the oldest pending row (0: none)
  std::string lastError;               ///< of the most recently failed row
  std::string lastErrorAt;
};

struct OperatorAction {
  std::int64_t id = 0;     ///< its place in the operators' log
  std::int64_t atMs = 0;
  std::string at;
  std::string who;
  std::string action;
  std::string detail;
};

/// Thread-safety: a Store object is used by one thread at a time (the host
/// opens one per thread). Several processes may share one store: SQLite
/// serialises writers; PostgreSQL hands rows out with FOR UPDATE SKIP LOCKED.
class Store {
 public:
  virtual ~Store() = default;

  /// The schema version after the migrations this build knows were applied.
  virtual int schemaVersion() = 0;
  /// "sqlite /var/lib/renkei/renkei.db" or "postgresql" (no credentials).
  virtual std::string describe() const = 0;
  /// Throws StoreGone when the store this object opened is no longer the
  /// one its path names (SQLite: the file deleted or replaced). Cheap (a
  /// stat); also run before every write transaction.
  virtual void verify() {}

  // --- intake -----------------------------------------------------------

  /// Registers a claimed file by route and content hash with a lease for
  /// `owner`, or tells what is known about the same content (`earlier`).
  virtual Claim registerFile(const std::string& route, const std::string& sha256, const std::string& name,
                             std::uint64_t size, const std::string& owner, std::int64_t leaseMs,
                             FileEntry* earlier) = 0;

  /// Writes batches and their outbox rows (one per target) in one
  /// transaction and renews the file's lease. Batches already stored (same
  /// id) are left as they are. Durable when it returns.
  virtual void appendBatches(const std::vector<BatchRow>& batches, const std::vector<std::string>& targets,
                             const std::string& owner, std::int64_t leaseMs) = 0;

  /// Commits a unit in one transaction; false when its key was committed
  /// before (nothing is done then). Durable when it returns.
  virtual bool commitUnit(const UnitCommit& unit) = 0;
  /// True when `emitter` committed a unit with `key` before.
  virtual bool emitted(const std::string& emitter, const std::string& key) = 0;

  /// Records how a registered file ended and drops its lease; durable when it returns.
  virtual void finishFile(const std::string& route, const std::string& sha256, FileState state,
                          const std::string& note) = 0;

  /// The register entry of a file, if any.
  virtual std::optional<FileEntry> findFile(const std::string& route, const std::string& sha256) = 0;

  /// Keeps `owner`'s lease on a file it is still taking in.
  virtual void renewFileLease(const std::string& route, const std::string& sha256, const std::string& owner,
                              std::int64_t leaseMs) = 0;

  /// The most recent files of a route (all routes when empty), newest first.
  virtual std::vector<FileEntry> recentFiles(const std::string& route, std::size_t limit) = 0;

  /// Drops every lease `owner` holds (a host starting again after a crash
  /// takes its own work back at once instead of waiting for the leases).
  virtual void releaseLeases(const std::string& owner) = 0;

  // --- delivery ---------------------------------------------------------

  /// Leases up to `limit` pending outbox rows that are due (oldest first) to
  /// `owner` for `leaseMs`. A row is handed out only when every older pending
  /// row of the same route and target is handed out with it or before it
  /// (each target sees a route's batches in order; a dead letter does not
  /// hold the rest back). `routes` limits the rows to those routes (empty: all),
  /// `targets` to those targets (empty: all). With `countHandOut` each row's
  /// attempts go up now (pulled rows: the lease running out is the failure,
  /// and nothing else would count it).
  virtual std::vector<Delivery> claimDeliveries(const std::string& owner, std::int64_t leaseMs, std::size_t limit,
                                                const std::vector<std::string>& routes,
                                                const std::vector<std::string>& targets = {},
                                                bool countHandOut = false) = 0;
  /// The rows (batch id, target) were delivered: state delivered, lease
  /// dropped; one transaction for all of them.
  virtual void markDelivered(const std::vector<std::pair<std::string, std::string>>& rows,
                             const std::string& owner) = 0;
  void markDelivered(const std::string& batchId, const std::string& target, const std::string& owner) {
    markDelivered({{batchId, target}}, owner);
  }
  /// Gives leased rows back untried (a row before them in their queue failed).
  virtual void releaseLeases(const std::vector<std::pair<std::string, std::string>>& rows,
                             const std::string& owner) = 0;
  /// The attempt failed: attempts+1, due again at `nextAttemptAt`, or dead
  /// when `dead`. `error` is kept as the row's last error.
  virtual void markFailed(const std::string& batchId, const std::string& target, const std::string& owner,
                          std::int64_t nextAttemptAt, bool dead, const std::string& error) = 0;
  /// Records in pending rows of a route (the back-pressure gauge).
  virtual std::int64_t outboxDepth(const std::string& route) = 0;
  /// When the earliest pending row of `routes` may be tried (its next attempt
  /// or the end of its lease), or nullopt when none is pending; `targets`
  /// limits it to those targets (empty: all).
  virtual std::optional<std::int64_t> nextDue(const std::vector<std::string>& routes,
                                              const std::vector<std::string>& targets = {}) = 0;

  // --- operators --------------------------------------------------------

  /// Outbox rows in `state` (all routes when `route` is empty), oldest first.
  virtual std::vector<OutboxEntry> listOutbox(OutboxState state, const std::string& route, std::size_t limit) = 0;
  /// Every outbox row of a batch.
  virtual std::vector<OutboxEntry> batchOutbox(const std::string& batchId) = 0;
  /// The field names and records of a stored batch (BatchRow::fields,
  /// BatchRow::payload), or nullopt.
  virtual std::optional<std::pair<std::string, std::string>> payload(const std::string& batchId) = 0;
  /// A stored batch with its payload.
  virtual std::optional<BatchRow> batch(const std::string& batchId) = 0;
  /// Dead rows back to pending (attempts reset), matching the batch id (or
  /// every dead row of `route` when `batchId` is empty); logged as `who`.
  /// Returns the rows changed.
  virtual std::int64_t resubmit(const std::string& batchId, const std::string& route, const std::string& who) = 0;
  /// Delivered rows of `route` created at or after `sinceMs` back to pending;
  /// logged as `who`. Returns the rows changed.
  virtual std::int64_t replay(const std::string& route, std::int64_t sinceMs, const std::string& who) = 0;
  /// Asks for the latest file named `name` on `route` to be taken in again
  /// (its content, under the config then in force); logged for `who`.
  /// Returns the entry (state Processing: it is being taken in, nothing
  /// asked), or nullopt when no such file was taken in.
  virtual std::optional<FileEntry> requestReprocess(const std::string& route, const std::string& name,
                                                    const std::string& who) = 0;
  /// Files of `route` whose source should put them back for reprocessing.
  virtual std::vector<FileEntry> reprocessRequests(const std::string& route) = 0;
  /// The source was asked (or cannot be): the file is now awaited in the
  /// source's drop folder, whoever puts it there.
  virtual void reprocessAsked(const std::string& route, const std::string& sha256) = 0;
  virtual std::vector<QueueStatus> queueStatus() = 0;
  /// An operator has seen to the failed file (route, sha256): it is no
  /// longer a problem for `renkei status`; logged with `detail`. Returns 1,
  /// or 0 when it was acknowledged before.
  virtual std::int64_t acknowledgeFile(const std::string& route, const std::string& sha256, const std::string& who,
                                       const std::string& detail) = 0;
  /// (route, sha256) → (who, when as UTC ISO) of every acknowledged file.
  virtual std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> acknowledgedFiles() = 0;
  /// Keeps an item `source` refused whole (HostServices::recordRefusal);
  /// item and reason cut to a stated size.
  virtual void recordRefusal(const std::string& source, const std::string& item, const std::string& reason) = 0;
  /// Refusals not acknowledged, and those since `sinceMs`; newest first.
  virtual std::vector<Refusal> refusals(std::int64_t sinceMs, std::size_t limit) = 0;
  /// An operator has seen to refusal `id`; logged with `detail`. 1, or 0 when done before.
  virtual std::int64_t acknowledgeRefusal(std::int64_t id, const std::string& who, const std::string& detail) = 0;
  /// Refusals not acknowledged, per source.
  virtual std::map<std::string, std::int64_t> openRefusals() = 0;
  /// Held records not resolved, per emitter, route and record type.
  virtual std::vector<HeldSummary> heldSummary() = 0;
  /// Held records not resolved (of `emitter` and `route` when not empty), oldest first.
  virtual std::vector<HeldRecord> listHeld(const std::string& emitter, const std::string& route,
                                           std::size_t limit) = 0;
  virtual std::optional<HeldRecord> heldRecord(std::int64_t id) = 0;
  /// Held records back to the host (state resubmit): record `id`, or every
  /// held record of `emitter` / `route` (0 and empty: all); logged as `who`.
  /// A running host takes them again under its current config.
  virtual std::int64_t requestHeldResubmit(std::int64_t id, const std::string& emitter, const std::string& route,
                                           const std::string& who) = 0;
  /// Held records an operator asked to be taken again, by emitter, route, type and id.
  virtual std::vector<HeldRecord> resubmitRequests(std::size_t limit) = 0;
  virtual std::vector<OperatorAction> operatorLog(std::size_t limit) = 0;
  /// The operators' log after line `id` (at most 10,000), oldest first:
  /// what an operator command did, for the audit trail.
  virtual std::vector<OperatorAction> operatorLogAfter(std::int64_t id) = 0;
  virtual std::int64_t lastOperatorLogId() = 0;
  /// Adds a line to the operators' log (a plugin's operator command).
  virtual void logOperatorAction(const std::string& who, const std::string& action, const std::string& detail) = 0;

  /// Removes batches created before `beforeMs` whose every outbox row is
  /// delivered (at most `limit` batches, oldest first); returns how many.
  /// Dead letters and pending rows are never removed; the intake register
  /// (which keeps content from being taken in twice) is kept.
  virtual std::int64_t pruneDelivered(std::int64_t beforeMs, std::size_t limit) = 0;

  /// Housekeeping that need not hold up intake (SQLite: copying the WAL
  /// into the database). Called by the delivery thread when idle.
  virtual void maintain() = 0;
};

/// Opens (creating if needed) the store and applies pending migrations.
/// Throws StoreError.
std::unique_ptr<Store> openStore(const StoreConfig& config);

}  // namespace renkei::store
