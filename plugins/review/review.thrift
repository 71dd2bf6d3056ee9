// The review module's service for review front ends (電子審査 with 申請管理):
// applications taken in over the API, read, listed, moved through their
// states, reported. Served on the host's one TLS port beside RecordService
// (core/api/renkei.thrift, included for ApiError); the same transport,
// protocol and rules as there. plugins/review/README.md describes the
// states and every call.
//
// This file is a contract with vendors: fields are only ever added (with new
// ids, optional or with defaults), never renumbered or removed.

include "renkei.thrift"

namespace cpp renkei.api
namespace py renkei_review_api
namespace java jp.renkei.api.review

struct Finding {
  1: string rule,      // required, format, date, pattern, check-digit, values, length, register, match.<item>, attachment, unknown
  2: string field,     // the field or attachment it is about ("" for the whole application)
  3: bool ok,
  4: string message,   // names fields and rules, never values
}

struct HistoryEntry {
  1: i64 at,           // ms since 1970 (UTC)
  2: string fromState,
  3: string toState,
  4: string action,
  5: string who,
  6: string why,
}

struct Attachment {
  1: string name,
  2: string sha256,    // as the manifest says (lowercase hex)
}

/// States: received 受付, reviewing 審査中, correction 補正依頼, returned 差戻し,
/// approved 承認 (its write-back held: holdReason says why), awaiting 反映待ち,
/// reflected 反映済, rejected 却下, withdrawn 取下げ.
struct Application {
  1: string arrivalNo,          // 到達番号
  2: string inquiryNo,          // 問合せ番号
  3: string procedure,
  4: string source,             // bridge, package, window, ocr (a draft read from a scan), ic (from a card's chip)
  5: string municipality,       // 申請元
  6: i64 receivedAt,            // 到達日時, ms since 1970 (UTC)
  7: string state,
  8: string stateLabel,         // 受付, 審査中 …
  9: i64 version,               // pass it back to act() to refuse a change made meanwhile
  10: string assigned,
  11: map<string, string> fields,
  12: list<Attachment> attachments,
  13: list<Finding> findings,
  14: string residentCode,      // the register's resident the applicant matched ("" when none)
  15: string due,               // 標準処理期間 end (YYYY-MM-DD), paused days added
  16: i32 pausedDays,
  17: string correctionDeadline,
  18: string correctionComment,
  19: string holdReason,
  20: list<HistoryEntry> history,
  21: string certificateSerial, // the JPKI signing certificate's serial, when the applicant was identified by it
  // The matched resident's 4 情報 as the register holds them now (name, birth_date, sex, address), for staff
  // to see beside what the application says — a draft read from a card or a scan above all. Proposed,
  // never put in the application's place: a change is the staff's resubmit. Empty without a match.
  22: map<string, string> registered,
}

struct Summary {
  1: string arrivalNo,
  2: string procedure,
  3: string state,
  4: string assigned,
  5: string due,
  6: string correctionDeadline,
  7: i64 receivedAt,
  8: bool overdue,
  9: string source,             // bridge, package, window, ocr, ic
}

struct NewApplication {
  1: string applicationId,      // the window system's id: the same id twice is one application
  2: string procedure,
  3: map<string, string> fields,
  4: list<Attachment> attachments,
  5: string staff,              // who entered it
  6: string municipality,       // 申請元, when not this municipality
  7: string certificateSerial,  // signed with a JPKI certificate: the applicant is found by its serial
}

/// action: start, request-correction, resubmit, return, approve, reject,
/// withdraw, assign, write-back, amend (README: which state allows which).
struct ActionRequest {
  1: string action,
  2: string who,
  3: string why,                // reason / 補正 comment
  4: string assignee,           // assign
  5: string deadline,           // request-correction: YYYY-MM-DD, "" for the procedure's correction-days
  6: i64 expectedVersion = -1,  // ≥ 0: refused (CONFLICT) when the application changed since
  7: map<string, string> fields, // resubmit, amend: the corrected items
}

struct ReportRow {
  1: string key,
  2: i64 count,
  3: double averageReceptionMinutes,  // 到達 → 審査開始, of those started
}

struct Overdue {
  1: string arrivalNo,
  2: string procedure,
  3: string department,
  4: string what,               // processing, correction, reflection
  5: string since,
}

service ReviewService {
  Application submit(1: NewApplication application) throws (1: renkei.ApiError error),
  Application getApplication(1: string arrivalNo) throws (1: renkei.ApiError error),
  /// Filters are exact ("" for any); at most `limit` (≤ 5000), oldest first. No personal fields.
  list<Summary> listApplications(1: string state, 2: string procedure, 3: string assigned, 4: i32 limit)
      throws (1: renkei.ApiError error),
  Application act(1: string arrivalNo, 2: ActionRequest request) throws (1: renkei.ApiError error),
  list<Overdue> overdue() throws (1: renkei.ApiError error),
  /// by: day, month, hour, form, department, municipality; from/to YYYY-MM-DD (local).
  list<ReportRow> report(1: string by, 2: string fromDate, 3: string toDate) throws (1: renkei.ApiError error),
  /// The same as CSV (UTF-8, CRLF, a header row).
  string reportCsv(1: string by, 2: string fromDate, 3: string toDate) throws (1: renkei.ApiError error),
}
