// The audit trail: one append-only record of every access to personal data
// and every operator action, in a table of its own (never pruned with
// messages): on PostgreSQL in the store's database, on SQLite in a file of
// its own beside the store's (renkei.db → renkei-audit.db), so its steady
// appends never reset the page caches of the store's readers (look-ups), each entry sealed with HMAC-SHA256 over its content and the
// previous entry's seal, so a changed, inserted, reordered or deleted entry
// is found by `renkei audit verify`; the last seal of each day is also
// written to an anchor file outside the store, so a trail rewritten whole
// (by someone holding the key) no longer matches its anchors.
//
// Appends are batched: callers on many threads hand their entries to one
// writer, which commits them in one transaction and answers each caller
// only then (durable before the call that caused it answers).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <thread>

#include "audit_key.h"
#include "renkei/connector.h"
#include "store/sql_db.h"
#include "store/store.h"

namespace renkei::audit {

/// One entry as stored. Keys are masked (the last three characters) before
/// they get here; fields are names, never values.
struct Entry {
  std::int64_t seq = 0;   ///< 1, 2, 3 … in the order committed
  std::int64_t atMs = 0;  ///< when (UTC ms)
  std::string who, address, action, recordType, keyName, key, fields, result, why;
  std::string prev;  ///< the previous entry's seal ("" for the first)
  std::string seal;  ///< HMAC-SHA256(key, prev ‖ content), hex
};

/// The trail's SQLite file beside the store's: renkei.db → renkei-audit.db.
std::filesystem::path trailFile(const std::filesystem::path& storeFile);
/// Opens the trail's database for a store config (its table made when
/// missing); with `create` false a missing SQLite file is StoreMissing.
std::unique_ptr<store::SqlDatabase> openTrailDatabase(store::StoreConfig config, bool create);

/// An entry from the SDK's AuditEntry (the key masked, fields joined).
Entry fromAudit(const AuditEntry& e, std::int64_t atMs, const std::string& why = {});

/// The seal of `e` after `prev` (its seq is not sealed: what is checked
/// for order is the chain of seals).
std::string sealOf(const std::string& key, const std::string& prev, const Entry& e);

class Trail {
 public:
  /// `offsetMinutes` gives the municipality's UTC offset at a time (for the
  /// day an anchor closes). Opens its own connection to the store.
  Trail(const store::StoreConfig& config, std::string key, std::filesystem::path anchorFile,
        std::function<std::int64_t(std::int64_t)> offsetMinutes);
  ~Trail();
  Trail(const Trail&) = delete;
  Trail& operator=(const Trail&) = delete;

  /// Appends `e` (its seq, prev and seal are set here) and returns once it
  /// is committed with the others waiting meanwhile. Throws
  /// std::runtime_error when the store cannot take it.
  void append(Entry e);
  /// Writes an anchor line for the newest entry now (`renkei audit anchor`,
  /// the host's stop); nothing when there is no entry or it is anchored.
  void anchorNow();
  /// Entries committed by this process.
  std::uint64_t appended() const;

 private:
  struct Waiting {
    Entry entry;
    std::promise<void> done;
  };
  void run();
  void commit(std::deque<Waiting>& batch);
  void anchor(std::int64_t seq, std::int64_t atMs, const std::string& seal);

  store::StoreConfig config_;
  std::string key_;
  std::filesystem::path anchorFile_;
  std::function<std::int64_t(std::int64_t)> offset_;
  std::unique_ptr<store::SqlDatabase> db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Waiting> queue_;
  bool stopping_ = false;
  std::mutex anchorMutex_;
  std::int64_t anchoredSeq_ = 0;  ///< guarded by anchorMutex_
  std::atomic<std::uint64_t> appended_{0};
  std::thread thread_;
};

/// The result of verify().
struct Finding {
  bool ok = true;
  std::int64_t entries = 0;  ///< entries read
  std::int64_t anchors = 0;  ///< anchor lines checked
  std::int64_t seq = 0;      ///< the first entry found wrong (0: none)
  std::string what;          ///< what is wrong with it, in words
};

/// Checks every entry's seal and its place in the chain, then every anchor
/// line of `anchorFile` (when it exists) against the entries.
Finding verify(store::SqlDatabase& db, const std::string& key, const std::filesystem::path& anchorFile);

/// Writes the entries of fiscal year `year` (1 April `year` to 31 March
/// `year`+1, local time) as CSV (UTF-8, a header row, CRLF line ends).
/// Returns how many.
std::int64_t exportCsv(store::SqlDatabase& db, int year, const std::function<std::int64_t(std::int64_t)>& offsetMinutes,
                       std::ostream& out);

/// The process's trail, when the config has <audit> (set by the host and
/// by operator commands); writeAudit() appends to it.
void install(Trail* trail);
Trail* installed();

}  // namespace renkei::audit
