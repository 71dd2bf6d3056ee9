// renkei — the interface for window systems (窓口システム).
//
// Served by `renkei serve` over TLS (1.2 or newer) with client certificates:
// a client presents a certificate issued by the CA the host is configured to
// trust; the certificate's common name is the caller's name in the access log
// and in subscriptions. One port carries every service through Thrift's
// multiplexed protocol: the service name below ("RecordService", …) is the
// name a client gives its TMultiplexedProtocol. Transport: buffered,
// protocol: binary.
//
// Times are milliseconds since 1970-01-01T00:00:00Z (UTC). Text is UTF-8.
// This file is a contract with vendors: fields are only ever added (with new
// ids, optional or with defaults), never renumbered or removed.

namespace cpp renkei.api
namespace py renkei_api
namespace java jp.renkei.api

/// Why a call failed. Codes are stable; messages are for people and never
/// hold personal values.
enum ErrorCode {
  BAD_REQUEST = 1,   // an argument is missing or malformed
  NOT_FOUND = 2,     // no such resident, household, visit, procedure or subscription
  FORBIDDEN = 3,     // this client may not make this call (subscription not granted to it)
  CONFLICT = 4,      // the call does not fit the current state (e.g. a closed visit)
  UNAVAILABLE = 5,   // the store or a module cannot answer now; try again later
  INTERNAL = 6,      // a fault in renkei: reported in its log
}

exception ApiError {
  1: ErrorCode code,
  2: string message,
}

// ---------------------------------------------------------------------------
// RecordService: mapped records for a named subscription, pulled in batches.

/// One batch of mapped records. `records` are rows of values in `fields`
/// order (the mapping's target fields). A batch comes back, with the same
/// token and content, until it is acknowledged.
struct RecordBatch {
  1: string token,          // give it back to ack()
  2: string route,          // the route that mapped the records
  3: string sourceItem,     // the file or query they came from
  4: list<string> fields,
  5: list<list<string>> records,
  6: i32 delivery,          // 1 the first time this batch is handed out, 2 after one time-out, …
}

struct AckResult {
  1: i32 acknowledged,
  /// Tokens not acknowledged: unknown, already acknowledged, or handed to
  /// another client after this one's time-out.
  2: list<string> refused,
}

service RecordService {
  /// Up to `maxBatches` batches for `subscription`, oldest first, or none when
  /// nothing is waiting. A batch handed out and not acknowledged within the
  /// subscription's ack time-out is handed out again (to any client allowed
  /// on the subscription), so a client that crashes loses nothing; batches
  /// of one route come in order, and a later batch waits while an earlier one
  /// is out unacknowledged.
  list<RecordBatch> pull(1: string subscription, 2: i32 maxBatches) throws (1: ApiError error),

  /// Acknowledges batches: they will not be handed out again.
  AckResult ack(1: string subscription, 2: list<string> tokens) throws (1: ApiError error),
}

// ---------------------------------------------------------------------------
// ResidentService: look-ups in the CRM's resident cache (kept from the mapped
// resident records). Every call is written to the access log with the
// caller, the call and the key (masked).

struct Resident {
  1: string residentCode,       // 住民票コード
  2: string householdNo,        // 世帯番号
  3: map<string, string> fields, // every field of the mapped record (crm.resident), by name
  4: i64 updatedAt,             // when the cache last took a record for this resident
  /// Where the resident stands in the register, from the move events (異動):
  /// 住民 (registered here), 転出 (moved out), 国外転出 (emigrated), 死亡
  /// (died), 消除 (removed ex officio, or missing from a full extract). A
  /// window system must not treat a resident whose `current` is false as
  /// living here (no certificate, no procedure as a resident): see
  /// docs/window-systems.md.
  5: string status,
  6: string statusDate,         // the event's 異動日 (ISO date), "" when none is known
  7: string statusEvent,        // the event that set the status (転入, 転出, 死亡 …), "" when none
  8: bool current,              // status is 住民
}

struct Household {
  1: string householdNo,
  /// The householder (続柄 世帯主) first, then by resident code.
  2: list<Resident> members,
}

service ResidentService {
  Resident getResident(1: string residentCode) throws (1: ApiError error),
  /// Current members only, unless includeFormer (then members who moved
  /// out, died or were removed too, with their status).
  Household getHousehold(1: string householdNo, 2: bool includeFormer = false) throws (1: ApiError error),
}

// ---------------------------------------------------------------------------
// CrmService: the visit (来庁単位) and its procedures.

enum Progress {
  RECEIVED = 1,     // 受付
  IN_PROGRESS = 2,  // 対応中
  DONE = 3,         // 完了
  RETURNED = 4,     // 差戻し
  WITHDRAWN = 5,    // 取下げ
}

/// The progress names as staff say them (for display and logs).
const map<Progress, string> PROGRESS_NAMES = {
  Progress.RECEIVED: "受付",
  Progress.IN_PROGRESS: "対応中",
  Progress.DONE: "完了",
  Progress.RETURNED: "差戻し",
  Progress.WITHDRAWN: "取下げ",
}

struct Procedure {
  1: i64 id,
  2: string code,          // the procedure (e.g. 転入届, or the municipality's procedure code)
  3: string counter,       // the counter (窓口) handling it
  4: Progress progress,
  5: i64 receivedAt,       // added to the visit (受付)
  6: i64 startedAt,        // first set 対応中; 0 when never
  7: i64 finishedAt,       // set 完了, 差戻し or 取下げ; 0 while open
}

/// One change of a visit, as kept in the store.
struct VisitEvent {
  1: i64 at,
  2: string what,          // opened, resident-linked, procedure-added, progress, closed
  3: string detail,        // procedure id and progress, ticket … (no personal values)
  4: string staff,         // who did it, as the window system said
  5: string client,        // which window system (its certificate name)
}

struct Visit {
  1: i64 id,
  2: string ticket,        // the ticket number, when the visit came from the ticket machine
  3: i64 openedAt,
  4: i64 closedAt,         // 0 while open
  5: string residentCode,  // "" until linked
  6: list<Procedure> procedures,
  7: list<VisitEvent> history,
}

struct CountRow {
  1: string period,        // "2026-11-20" (per day) or "2026-11-20T09" (per hour), in the report's time zone
  2: i32 visits,           // visits opened in the period
  3: i32 procedures,       // procedures received in the period
}

/// Waiting = received → started (対応中); handling = started → 完了 or 差戻し.
/// A procedure counts for waiting once started and for handling once
/// finished (取下げ is not handling). p90 is the nearest-rank 90th percentile.
struct TimeRow {
  1: string key,           // procedure code or counter
  2: i32 procedures,
  3: i32 waited,           // procedures with a waiting time
  4: double waitAvgSeconds,
  5: double waitP90Seconds,
  6: i32 handled,          // procedures with a handling time
  7: double handleAvgSeconds,
  8: double handleP90Seconds,
}

struct Report {
  1: string fromDate,      // first day, inclusive (YYYY-MM-DD, report time zone)
  2: string toDate,        // last day, inclusive
  3: list<CountRow> perDay,
  4: list<CountRow> perHour,
  5: list<TimeRow> perProcedure,
  6: list<TimeRow> perCounter,
}

service CrmService {
  /// Opens a visit from a ticket number, or from staff at the counter (one of
  /// the two must be given). `at` is the event time when the module allows
  /// clients to give times (client-times="true", e.g. for a ticket machine's
  /// own clock); 0 means now.
  Visit openVisit(1: string ticket, 2: string staff, 3: i64 at = 0) throws (1: ApiError error),
  Visit getVisit(1: i64 visitId) throws (1: ApiError error),
  /// Links the visit to a resident of the cache.
  Visit linkResident(1: i64 visitId, 2: string residentCode, 3: string staff, 4: i64 at = 0) throws (1: ApiError error),
  Visit addProcedure(1: i64 visitId, 2: string procedureCode, 3: string counter, 4: string staff, 5: i64 at = 0)
      throws (1: ApiError error),
  /// Moves a procedure on. From 受付: 対応中, 完了, 差戻し, 取下げ; from 対応中:
  /// 完了, 差戻し, 取下げ; from 差戻し: 受付 (resubmitted). 完了 and 取下げ are final.
  Visit setProgress(1: i64 visitId, 2: i64 procedureId, 3: Progress progress, 4: string staff, 5: i64 at = 0)
      throws (1: ApiError error),
  /// Closes the visit; its procedures keep their progress.
  Visit closeVisit(1: i64 visitId, 2: string staff, 3: i64 at = 0) throws (1: ApiError error),
  /// Counts and times over whole days [fromDate, toDate] (YYYY-MM-DD).
  Report report(1: string fromDate, 2: string toDate) throws (1: ApiError error),
}
