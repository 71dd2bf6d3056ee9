// The CRM's state and operations: the resident cache and the visits, kept in
// the host's store through the SDK's StateStore. The Thrift handlers in
// crm_module.cpp are thin layers over this class.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/crm_types.h"
#include "renkei/record.h"
#include "renkei/support/calendar.h"
#include "renkei/state.h"

namespace renkei::plugins::crm {

/// The status of a resident registered here (住民).
inline constexpr const char* kCurrent = "住民";

/// A register event as the related-procedure judgement sees it: the
/// knowledge file's event, its date, and each member by birth date and the
/// facts that are true for them (kokuho_member …). No name, no key.
struct JudgedEvent {
  std::string eventId;  ///< tenshutsu, shibou, shussei
  std::string date;     ///< YYYY-MM-DD
  struct Member {
    std::string birth;  ///< YYYY-MM-DD, "" when not cached
    std::set<std::string> flags;
  };
  std::vector<Member> members;
};
struct Judged {
  std::string procedure, name, deadline, because, rule;
};
using RelatedJudge = std::function<std::vector<Judged>(const JudgedEvent&)>;

struct CrmOptions {
  std::string residentKey = "resident_code";
  std::string householdKey = "household_no";
  std::string relationshipField = "relationship";
  std::string householderValue = "世帯主";
  std::string nameField = "name";        ///< 氏名, for finding a token's members in the register
  std::string birthField = "birth_date";  ///< 生年月日 (ISO), likewise
  std::int64_t reportOffsetMinutes = 9 * 60;  ///< the reports' local time: the host's time-zone, read at configure
  std::int64_t keepDraftsMs = 3LL * 24 * 3600 * 1000;  ///< a draft is purged this long after it came
  std::int64_t ticketHoldMs = 10LL * 60 * 1000;  ///< an event waits this long for its ticket's issue, then is reported
};

/// One normalised ticket event (ticket.event), as the floor applies it.
struct TicketEvent {
  std::string site, date, line, ticket, event, counter, staff, seq, toLine;
  std::int64_t at = 0;     ///< the machine's time, ms UTC
  std::string ticketKey;   ///< site|business date|line|ticket
};

/// What a batch of ticket events did.
struct TicketTotals {
  std::size_t applied = 0, duplicates = 0, held = 0, released = 0, invalid = 0;
  /// Events held past the hold time, reported now (event key, event).
  std::vector<std::pair<std::string, std::string>> expired;
  /// The events applied (a held one when its issue came), in order: what
  /// the live events say.
  std::vector<TicketEvent> events;
};

/// A line's queue now: the tickets issued and not called yet, the number
/// last called, and the wait a ticket issued now may expect (the median
/// issue → call of the line's last ten calls that day; 0 when none yet).
struct LineStatus {
  std::string site, date, line;
  std::int64_t waiting = 0;
  std::string current;
  std::int64_t expectedWaitSeconds = 0;
  /// The median time between two calls of the line's last ten calls: how
  /// fast the line moves (0 before the second call).
  std::int64_t callIntervalSeconds = 0;
  /// The numbers waiting, first in line first (at most kMaxWaitingListed).
  std::vector<std::string> waitingTickets;
};

/// A line's status lists at most this many waiting numbers (the count is
/// always whole).
constexpr std::size_t kMaxWaitingListed = 300;

/// A flat JSON object of string values, in the order given (a ticket event
/// kept for later, a live event's payload).
std::string jsonObject(std::initializer_list<std::pair<const char*, std::string>> fields);

/// 受付, 対応中 … for a progress.
const char* progressName(api::Progress::type p);

/// Thrown for a request that cannot be served; turned into api::ApiError.
struct CrmError {
  api::ErrorCode::type code;
  std::string message;
};

/// Who made a change, kept with each visit event.
struct Actor {
  std::string staff;
  std::string client;
};

class Crm {
 public:
  Crm(StateStore& state, CrmOptions options);

  /// Creates or upgrades the tables.
  void migrate();

  /// Takes mapped resident records into the cache (one transaction);
  /// returns how many had no resident key (skipped).
  std::size_t upsertResidents(const std::vector<Record>& records, const std::string& batchId, std::int64_t now);

  /// Applies move events (record type resident.event: resident_code,
  /// event, move_date, household_no) to the residents' status, in one
  /// transaction; an event older than the status a resident has is ignored
  /// (a replayed batch never turns the clock back). Returns the events
  /// without a resident code (skipped).
  std::size_t applyEvents(const std::vector<Record>& records, const std::string& batchId, std::int64_t now);
  /// Takes the welfare facts (record types welfare.<program>: program,
  /// resident_code, and the facts as "true"/"false" or values): per
  /// resident and program the names of the facts that are true. Returns
  /// the records without a resident code (skipped).
  std::size_t upsertFacts(const std::vector<Record>& records, std::int64_t now);
  /// Judges the related procedures of register events (resident.event,
  /// mapped: event, event_id, resident_code, household_no, move_date as
  /// YYYY-MM-DD; or koseki.event: event_date, and a birth's household
  /// without a resident code yet) whose event `eventIds` names (転出 →
  /// tenshutsu …): the person's facts, or at a birth the household's, and
  /// keeps what `judge` lists. An event judged before is not judged again,
  /// nor the same change of the same person from the other feed (event,
  /// date and 住民票コード or `identity`: a 戸籍 event and its 9条2項
  /// notice are one fact). Returns how many
  /// procedures were listed; `undated` counts the events of those kinds
  /// whose move_date is no YYYY-MM-DD (not judged: a route without the
  /// events mapping?).
  std::size_t judgeEvents(const std::vector<Record>& records, const std::map<std::string, std::string>& eventIds,
                          const RelatedJudge& judge, std::int64_t now, std::size_t& undated);
  /// The names of the facts that are true for a resident, over all programs.
  std::set<std::string> facts(const std::string& residentCode);
  /// The related procedures of a household's events, newest event first.
  std::vector<api::RelatedProcedure> related(const std::string& householdNo);
  std::optional<api::Resident> resident(const std::string& code);
  /// Current members only, unless `includeFormer`; members empty: no such household.
  api::Household household(const std::string& householdNo, bool includeFormer = false);
  /// The current households of the residents with this name (spaces
  /// ignored) and birth date: how an opened token's members are found in the
  /// register. At most 8 households.
  std::vector<api::Household> householdsOf(const std::vector<std::pair<std::string, std::string>>& nameBirth);
  /// "name without spaces|birth date": the index the look-up above uses.
  static std::string matchKey(const std::string& name, const std::string& birth);

  api::Visit openVisit(const std::string& ticket, const Actor& by, std::int64_t at);
  api::Visit visit(std::int64_t id);
  api::Visit linkResident(std::int64_t visitId, const std::string& residentCode, const Actor& by, std::int64_t at);
  api::Visit addProcedure(std::int64_t visitId, const std::string& code, const std::string& counter, const Actor& by,
                          std::int64_t at);
  api::Visit setProgress(std::int64_t visitId, std::int64_t procedureId, api::Progress::type progress,
                         const Actor& by, std::int64_t at);
  api::Visit closeVisit(std::int64_t visitId, const Actor& by, std::int64_t at);

  /// Takes drafts (a form read at the window: draft_id, procedure, source,
  /// review_fields, and what was read) in one transaction; a draft id kept
  /// already is left as it is (one draft however often routed). Drafts
  /// older than keepDraftsMs go. Returns the records without a draft_id or
  /// procedure (skipped).
  std::size_t takeDrafts(const std::vector<Record>& records, std::int64_t now);
  /// Drafts not attached yet, newest first, at most 100 ("" every procedure).
  std::vector<api::Draft> drafts(const std::string& procedure, std::int64_t now);
  api::Visit attachDraft(std::int64_t visitId, const std::string& draftId, const std::string& counter, const Actor& by,
                         std::int64_t at);

  /// The ticket machine's normalised events (ticket.event: site,
  /// business_date, line, ticket, event, counter, staff, at, seq, to_line),
  /// in one transaction: each taken once; a ticket's visit opened at its
  /// issue, its procedure (the line) moved on by the floor; an event before
  /// its ticket's issue held until the issue comes.
  TicketTotals applyTicketEvents(const std::vector<Record>& records, std::int64_t now);
  /// Events held longer than ticket-hold for their ticket's issue, marked
  /// reported now (event key, event): each is reported once.
  std::vector<std::pair<std::string, std::string>> expireHeld(std::int64_t now);
  /// The queue of `line` at `site` on business date `date`.
  LineStatus lineStatus(const std::string& site, const std::string& date, const std::string& line);
  /// Every line with a ticket issued (or transferred to it) since `sinceMs`.
  std::vector<LineStatus> floorStatus(std::int64_t sinceMs);

  /// Whole days [from, to] (YYYY-MM-DD in the report's time zone).
  api::Report report(const std::string& from, const std::string& to);
  /// The congestion profile over [from, to] and the forecast for `month`
  /// (YYYY-MM) on `cal`.
  api::Congestion congestion(const std::string& from, const std::string& to, const std::string& month,
                             const calendar::Calendar& cal);

 private:
  api::Visit load(StateSession& s, std::int64_t id);
  void requireOpen(StateSession& s, std::int64_t id);
  void event(StateSession& s, std::int64_t visitId, std::int64_t at, const std::string& what,
             const std::string& detail, const Actor& by);
  api::Resident residentFrom(StateRows& row);
  std::set<std::string> factsIn(StateSession& s, const std::string& residentCode);

  StateStore& state_;
  CrmOptions options_;
  void purgeDrafts(StateSession& s, std::int64_t now);
  bool ticketKnown(StateSession& s, const std::string& ticketKey);
  std::vector<std::pair<std::string, std::string>> expireHeld(StateSession& s, std::int64_t now);
  std::size_t releaseHeld(StateSession& s, const std::string& ticketKey, std::vector<TicketEvent>& applied);
  void applyTicketEvent(StateSession& s, const TicketEvent& e);
  /// A procedure added to a visit (受付), with its history line; its id.
  std::int64_t insertProcedure(StateSession& s, std::int64_t visitId, const std::string& code,
                               const std::string& counter, const Actor& by, std::int64_t at);

  std::string residents_, visits_, procedures_, events_, facts_, related_, drafts_, tickets_, ticketEvents_;
};

/// Parses a flat JSON object of string values (as the cache stores records)
/// into `out`; false when malformed.
bool parseFlatObject(std::string_view json, std::map<std::string, std::string>& out);

/// "2026-11-20" → days since 1970-01-01, or nullopt when not a real date.
std::optional<std::int64_t> parseDay(const std::string& text);
/// p-th percentile (0 < p ≤ 100) by nearest rank of unsorted values; 0 when empty.
double nearestRank(std::vector<double> values, double p);

}  // namespace renkei::plugins::crm
