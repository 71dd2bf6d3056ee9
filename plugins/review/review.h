// The review module's state and operations (電子審査 with 申請管理,
// frontyard.md §5): applications taken in, checked formally against the
// procedure's rules and the resident register, moved through their states
// with history, written back by one path, reconciled, reported. State lives
// in the host's store; what leaves (write-back records, notices to residents,
// staff mail) leaves through the engine seam in the same transaction as the
// state change that caused it, so a crash can neither lose nor repeat it.
// The Thrift handlers in review_module.cpp are thin layers over this class.
#pragma once

#include <cstdint>
#include <functional>
#include <atomic>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <stdexcept>
#include <set>
#include <string>
#include <vector>

#include "applicant_match.h"
#include "procedures.h"
#include "renkei/support/calendar.h"
#include "renkei/connector.h"
#include "renkei/outcome.h"
#include "renkei/record.h"
#include "renkei/state.h"

namespace renkei::plugins::review {

namespace detail {
struct Step;
}  // namespace detail

/// The most attachments one application may list (a package's manifest and a
/// window system's submit alike).
constexpr std::size_t kMaxAttachments = 100;

/// States (frontyard.md §5); stored and served by these codes.
namespace state {
inline constexpr const char* kReceived = "received";      ///< 受付 (到達)
inline constexpr const char* kReviewing = "reviewing";    ///< 審査中
inline constexpr const char* kCorrection = "correction";  ///< 補正依頼 (the clock pauses)
inline constexpr const char* kReturned = "returned";      ///< 差戻し
inline constexpr const char* kApproved = "approved";      ///< 承認, its write-back held (the reason says why)
inline constexpr const char* kAwaiting = "awaiting";      ///< 反映待ち (written back)
inline constexpr const char* kReflected = "reflected";    ///< 反映済
inline constexpr const char* kRejected = "rejected";      ///< 却下
inline constexpr const char* kWithdrawn = "withdrawn";    ///< 取下げ
}  // namespace state
/// 受付, 審査中 … for a state code.
const char* stateLabel(const std::string& code);

/// Why a request cannot be served (turned into the API's error codes).
struct ReviewError : std::runtime_error {
  enum Code { BadRequest, NotFound, Conflict, Unavailable } code;
  std::string message;
  ReviewError(Code c, std::string m) : std::runtime_error(m), code(c), message(std::move(m)) {}
};

/// One formal-review result: a rule on a field (or the register match).
struct Finding {
  std::string rule;     ///< required, format, pattern, check-digit, values, length, date, register, match.<item>, attachment
  std::string field;    ///< the field or attachment it is about ("" for the whole application)
  bool ok = false;
  std::string message;  ///< names fields and rules, never values
};

struct HistoryEntry {
  std::int64_t at = 0;
  std::string from, to, action, who, why;
};

struct AttachmentIn {
  std::string name;
  std::string sha256;  ///< as the manifest says
};

struct Application {
  std::int64_t id = 0;
  std::string arrivalNo;   ///< 到達番号: R-YYYYMMDD-NNNNNN
  std::string inquiryNo;   ///< 問合せ番号: 12 characters, hard to guess
  std::string procedure;
  std::string source;      ///< bridge, package, window
  std::string municipality;  ///< 申請元 (source municipality, for reports)
  std::string externalId;  ///< the sender's id (the intake's idempotency key)
  std::int64_t receivedAt = 0;  ///< 到達日時, ms UTC
  std::string state;
  std::int64_t version = 0;
  std::string assigned;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<AttachmentIn> attachments;
  std::vector<Finding> findings;
  std::string residentCode;  ///< the register's resident the applicant matched, if any
  std::string due;           ///< 標準処理期間 end (YYYY-MM-DD), paused days added
  int pausedDays = 0;
  std::string correctionDeadline, correctionComment;
  std::string holdReason;    ///< why an approved application's write-back waits
  std::int64_t startedAt = 0, decidedAt = 0, writtenAt = 0, reflectedAt = 0;
  std::string certificateSerial;  ///< the JPKI signing certificate's serial, when the application was signed
  std::vector<HistoryEntry> history;
  bool hasErrors() const;
};

struct IntakeInput {
  std::string externalId;  ///< required: the same id taken twice from one origin is one application
  /// Who the host says sent it, never a field of the record: "route:<id>"
  /// for a routed record, "window:<certificate name>" for a window system.
  /// Ids are kept per origin, so one sender cannot reach another's.
  std::string origin;
  std::string procedure;
  std::string source;      ///< bridge, package, window (window only from the API)
  std::string municipality;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<AttachmentIn> attachments;
  /// Attachments as received (name → SHA-256 of the bytes), to check
  /// against the manifest; a name the manifest lists but this lacks is missing.
  std::map<std::string, std::string> received;
  std::string staff;       ///< who entered it (window intake)
  /// The serial of the JPKI signing certificate an online application was
  /// signed with: the applicant is found through the resident system's
  /// mapping table (takeCertificates) instead of by 4 情報.
  std::string certificateSerial;
};

enum class Action { Start, RequestCorrection, Resubmit, Return, Approve, Reject, Withdraw, Assign, WriteBack, Amend };
std::optional<Action> parseAction(const std::string& name);
const char* actionName(Action a);

struct ActionInput {
  Action action = Action::Start;
  std::string who;
  std::string why;       ///< reason / 補正 comment
  std::string assignee;  ///< Assign
  std::string deadline;  ///< RequestCorrection: YYYY-MM-DD; empty: correction-days on the calendar
  std::int64_t expectedVersion = -1;  ///< ≥ 0: refused when the application changed since
  std::vector<std::pair<std::string, std::string>> fields;  ///< Resubmit: the corrected items
};

struct Summary {
  std::string arrivalNo, procedure, state, assigned, due, correctionDeadline;
  std::int64_t receivedAt = 0;
  bool overdue = false;
  std::string source;  ///< bridge, package, window, ocr, ic
};

struct ReportRow {
  std::string key;               ///< the day, month, hour, form, department or municipality
  std::int64_t count = 0;
  double averageReceptionMinutes = 0;  ///< 到達 → 審査開始, of those started
};

struct ReviewOptions {
  std::string municipality;  ///< this municipality (intake without a source municipality)
  std::int64_t offsetMinutes = 9 * 60;  ///< local time for days, hours, 到達番号: the host's time-zone, read at configure
  std::map<std::string, std::string> variants;  ///< 異体字 table for 4 情報 matching
  // The resident records routed to the module (the register's export).
  std::string residentKey = "resident_code", nameField = "name", birthField = "birth_date", sexField = "sex",
              addressField = "address", statusField = "status", eventField = "event";
  std::string currentStatus = "住民";
  std::string serialField = "serial";  ///< the certificate mapping's serial field (its resident field: residentKey)
  std::filesystem::path attachmentsDir;  ///< package attachments: <dir>/<external id>/<name>
  /// Emit review.corrected for each 訂正 (amend) of a draft read at the
  /// window: which items staff changed, by name — the OCR report's
  /// "fields staff corrected most".
  bool corrections = false;
  /// The characters the window's OCR model can produce (every non-ASCII
  /// code point of the `ocr-characters` file); empty: not checked. A
  /// scanned draft matched to a resident whose registered 氏名 or 住所 has
  /// another is marked ocr.lossy: the reading can never spell it.
  std::set<char32_t> ocrCharacters;
};

/// The host's seam (HostServices::emit), or a test's.
using EmitFn = std::function<Outcome(const Emission&)>;

/// An application's state changed (committed): for the live events. No
/// personal value: the 到達番号, the procedure, the states, the action.
struct StateChange {
  std::string arrivalNo, procedure, from, to, action;
  std::int64_t at = 0;
};
using StateChangeFn = std::function<void(const StateChange&)>;

class Review {
 public:
  Review(StateStore& state, std::shared_ptr<const Procedures> procedures, calendar::Calendar cal,
         ReviewOptions options, EmitFn emit);

  void migrate();
  /// Called after each committed change of state (set once, before use).
  void onStateChange(StateChangeFn fn) { onState_ = std::move(fn); }

  /// Takes an application in: 到達日時, 到達番号, 問合せ番号, formal review,
  /// the 受付 notice and the department's mail, all in one commit. The same
  /// external id again returns the application already taken (no second
  /// one, no second notice). Throws ReviewError; Retry from the seam becomes
  /// Unavailable.
  Application intake(const IntakeInput& in, std::int64_t now);

  Application get(const std::string& arrivalNo);
  /// The register's 4 情報 of a resident (the cache of routed resident
  /// records): name, birth_date, sex, address; empty when not held.
  std::map<std::string, std::string> registerItems(const std::string& residentCode);
  /// The application `origin` sent as `externalId` (an application stored
  /// before ids had origins counts when its source is `source`).
  std::optional<Application> findByExternalId(const std::string& origin, const std::string& externalId,
                                              const std::string& source);
  std::vector<Summary> list(const std::string& stateFilter, const std::string& procedure,
                            const std::string& assigned, std::int64_t now, std::size_t limit = 500);

  /// One action by staff (or the applicant: Resubmit, Withdraw).
  Application act(const std::string& arrivalNo, const ActionInput& in, std::int64_t now);

  /// Resident records (the register's export, routed here): the 4 情報
  /// cache and the reconciliation of written-back applications (反映済 when
  /// the 異動 appears). Returns how many applications became 反映済.
  std::size_t takeResidents(const std::vector<Record>& records, std::int64_t now);
  /// The resident system's certificate mapping (serial → 住民票コード),
  /// routed here. Returns the rows taken.
  std::size_t takeCertificates(const std::vector<Record>& records);
  /// The family registry's persons (koseki.person, routed here): per
  /// 住民票コード the values that came as Unicode only (`lossy`: surname,
  /// given), shown beside the 4 情報 match — the text cannot say which
  /// glyph the 戸籍 holds. Returns the rows taken.
  std::size_t takeLossy(const std::vector<Record>& records);
  /// Acknowledgements from the core system (records with application_id /
  /// arrival_no): 反映済. Returns how many.
  std::size_t acknowledge(const std::vector<Record>& records, std::int64_t now);

  /// Overdue: 標準処理期間 passed, 補正 deadline passed, 反映 waiting longer
  /// than reflect-days; counted on the calendar's open days.
  struct Overdue {
    std::string arrivalNo, procedure, department, what;  ///< what: processing, correction, reflection
    std::string since;
  };
  std::vector<Overdue> overdue(std::int64_t now);
  /// The morning reminder: one mail record per department with overdue
  /// items, once per open day (the key is the day). Returns departments mailed.
  std::size_t remind(std::int64_t now);

  /// by: day, month, hour, form, department, municipality. from/to: YYYY-MM-DD (local).
  std::vector<ReportRow> report(const std::string& by, const std::string& from, const std::string& to);
  static std::string reportCsv(const std::string& by, const std::vector<ReportRow>& rows);

  const Procedures& procedures() const { return *procedures_; }
  calendar::Date today(std::int64_t now) const;

 private:
  // Formal review (review_formal.cpp).
  std::vector<Finding> formalReview(const Procedure& p, const std::vector<std::pair<std::string, std::string>>& fields,
                                    const std::vector<AttachmentIn>& attachments,
                                    const std::map<std::string, std::string>& received,
                                    const std::string& certificateSerial, std::string& residentCode);
  /// A resident in the register cache, as the match reads it.
  struct RegisterEntry {
    std::string code, status;
    FourItems items;
  };
  void matchByCertificate(const FourItems& said, const std::string& serial, std::string& residentCode,
                          std::vector<Finding>& out);
  void matchByName(const FourItems& said, std::string& residentCode, std::vector<Finding>& out);

  // Intake (review_intake.cpp).
  std::map<std::string, std::string> receivedAttachments(const IntakeInput& in,
                                                         const std::vector<AttachmentIn>& attachments) const;
  std::string drawArrivalNumber(const std::string& day);
  Emission intakeEmission(Application& a, const IntakeInput& in, const Procedure& p, const std::string& matchKey,
                          std::int64_t now);

  // The state machine (review_actions.cpp); Step is in review_internal.h.
  void planAction(Application& a, const Procedure& p, const ActionInput& in, std::int64_t now, detail::Step& step);
  void planCorrection(Application& a, const Procedure& p, const ActionInput& in, std::int64_t now, detail::Step& step);
  void planResubmission(const Application& a, const Procedure& p, const ActionInput& in, std::int64_t now,
                        detail::Step& step);
  void planAmendment(const Application& a, const Procedure& p, const ActionInput& in, std::int64_t now,
                     detail::Step& step);
  void planWriteBack(const Application& a, const Procedure& p, std::int64_t now, detail::Step& step);
  RecordSet writeBackRecords(const Application& a, const Procedure& p, const std::string& today, std::string& hold) const;
  Application commitAction(const Application& a, const ActionInput& in, std::int64_t now, detail::Step& step);

  /// 反映待ち → 反映済 with the 完了 notice, once each, all in one commit.
  /// Returns how many changed.
  std::size_t reflect(const std::vector<std::string>& arrivalNos, const std::string& how, std::int64_t now);
  Application load(StateSession& s, const std::string& where, const std::vector<StateValue>& params);
  void commit(const Emission& e, const std::string& what);
  std::string dueDate(const Procedure& p, std::int64_t receivedAt, int pausedDays) const;
  std::string localDay(std::int64_t ms) const;
  calendar::Date dayOf(std::int64_t ms) const { return today(ms); }
  RecordSet notice(const Application& a, const std::string& templ, const std::string& deadline, std::int64_t now) const;

  StateStore& state_;
  std::shared_ptr<const Procedures> procedures_;
  calendar::Calendar cal_;
  ReviewOptions options_;
  EmitFn emit_;
  StateChangeFn onState_;
  void told(const StateChange& c) const {
    if (onState_) onState_(c);
  }
  std::string apps_, history_, residents_, counters_, certificates_, lossy_;
  std::shared_ptr<FieldNames> noticeNames_, mailNames_, correctedNames_;
  /// Written-back applications waiting for their 異動, by match key (for
  /// reconciling a resident export without a query per row); read again
  /// when their count or latest write-back time differs from the stamp.
  struct Waiting {
    std::string arrivalNo, procedure, event;
  };
  std::multimap<std::string, Waiting> awaiting_;
  std::pair<std::int64_t, std::int64_t> awaitingStamp_{-1, -1};
  std::mutex awaitingMutex_;
};

}  // namespace renkei::plugins::review
