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

// ResidentService and CrmService (the crm module's) are in
// plugins/crm/crm.thrift, which includes this file: a plugin's services live
// in its own folder.
