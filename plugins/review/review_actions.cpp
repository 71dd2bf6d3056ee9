// The state machine: one action by staff (or the applicant) planned as a
// Step — the new state, the columns it sets, what leaves with it (notices,
// the write-back) — then committed in one transaction that refuses when the
// application changed meanwhile.
#include "review.h"

#include <algorithm>
#include <initializer_list>

#include "review_internal.h"

namespace renkei::plugins::review {

using namespace detail;

namespace {

bool inState(const std::string& from, std::initializer_list<const char*> states) {
  return std::any_of(states.begin(), states.end(), [&](const char* st) { return from == st; });
}

/// `given` put over `fields` item by item (each must be the procedure's);
/// the names of the items whose value changed, space-separated.
std::string putItems(const Procedure& p, const Fields& given, Fields& fields) {
  std::string changed;
  for (const auto& [k, v] : given) {
    if (!p.field(k)) throw ReviewError{ReviewError::BadRequest, "field '" + k + "' is not part of the procedure"};
    auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == k; });
    if (it != fields.end() && it->second == v) continue;  // as it was
    if (it == fields.end()) fields.emplace_back(k, v);
    else it->second = v;
    changed += (changed.empty() ? "" : " ") + k;
  }
  return changed;
}

[[noreturn]] void refuse(Action action, const std::string& from, const std::string& why) {
  throw ReviewError{ReviewError::Conflict, std::string(actionName(action)) + " is not allowed in state " + from + " (" +
                                               stateLabel(from) + ")" + (why.empty() ? "" : ": " + why)};
}

void requireReason(const ActionInput& in, const char* what) {
  if (in.why.empty()) throw ReviewError{ReviewError::BadRequest, std::string("a ") + what};
}

}  // namespace

Application Review::act(const std::string& arrivalNo, const ActionInput& in, std::int64_t now) {
  Application a = get(arrivalNo);
  if (in.expectedVersion >= 0 && in.expectedVersion != a.version)
    throw ReviewError{ReviewError::Conflict, "the application changed since it was read (version " +
                                                 std::to_string(a.version) + "); read it again"};
  const Procedure* p = procedures_->find(a.procedure);
  if (!p) throw ReviewError{ReviewError::Conflict, "procedure '" + a.procedure + "' is no longer configured"};
  if (in.who.empty() || in.who.size() > 200) throw ReviewError{ReviewError::BadRequest, "who (1 to 200 bytes) is required"};
  if (in.why.size() > 2000) throw ReviewError{ReviewError::BadRequest, "why is longer than 2000 bytes"};
  Step step;
  step.to = a.state;
  step.why = in.why;
  planAction(a, *p, in, now, step);
  if (step.reviewAgain) {
    std::string residentCode = a.residentCode;
    std::vector<Finding> findings = formalReview(*p, step.newFields, a.attachments, {}, a.certificateSerial, residentCode);
    // Attachments were checked on arrival; keep those results.
    for (const Finding& f : a.findings)
      if (f.rule == "attachment") findings.push_back(f);
    step.set("fields = ?", fieldsJson(step.newFields));
    step.set("findings = ?", findingsJson(findings));
    step.set("resident_code = ?", residentCode);
  }
  return commitAction(a, in, now, step);
}

void Review::planAction(Application& a, const Procedure& p, const ActionInput& in, std::int64_t now, Step& step) {
  const std::string& from = a.state;
  switch (in.action) {
    case Action::Start:
      if (!inState(from, {state::kReceived})) refuse(in.action, from, "");
      step.to = state::kReviewing;
      step.set("started_ms = ?", now);
      if (a.assigned.empty()) step.set("assigned = ?", in.who);
      break;
    case Action::Assign:
      if (inState(from, {state::kReflected, state::kRejected, state::kWithdrawn, state::kReturned}))
        refuse(in.action, from, "it is closed");
      if (in.assignee.empty() || in.assignee.size() > 64)
        throw ReviewError{ReviewError::BadRequest, "assignee (1 to 64 bytes) is required"};
      step.set("assigned = ?", in.assignee);
      step.why = "→ " + in.assignee + (step.why.empty() ? "" : ": " + step.why);
      break;
    case Action::RequestCorrection:
      if (!inState(from, {state::kReviewing})) refuse(in.action, from, "");
      requireReason(in, "補正依頼 needs a comment (why)");
      planCorrection(a, p, in, now, step);
      break;
    case Action::Resubmit:
      if (!inState(from, {state::kCorrection})) refuse(in.action, from, "");
      planResubmission(a, p, in, now, step);
      break;
    case Action::Return:
    case Action::Reject: {
      if (!inState(from, {state::kReviewing, state::kCorrection})) refuse(in.action, from, "");
      const bool ret = in.action == Action::Return;
      requireReason(in, ret ? "差戻し needs a reason (why)" : "却下 needs a reason (why)");
      step.to = ret ? state::kReturned : state::kRejected;
      step.set("decided_ms = ?", now);
      step.emission.sets.push_back(notice(a, ret ? "returned" : "rejected", "", now));
      break;
    }
    case Action::Withdraw:
      if (!inState(from, {state::kReceived, state::kReviewing, state::kCorrection}))
        refuse(in.action, from, "取下げ is possible only before a decision");
      step.to = state::kWithdrawn;
      step.set("decided_ms = ?", now);
      break;
    case Action::Approve:
      if (!inState(from, {state::kReviewing})) refuse(in.action, from, "");
      if (a.hasErrors()) refuse(in.action, from, "the formal review has findings (request a 補正 or decide otherwise)");
      step.set("decided_ms = ?", now);
      planWriteBack(a, p, now, step);
      break;
    case Action::WriteBack:
      if (!inState(from, {state::kApproved})) refuse(in.action, from, "only an approved application held for write-back");
      planWriteBack(a, p, now, step);
      break;
    case Action::Amend:
      if (!inState(from, {state::kReceived, state::kReviewing})) refuse(in.action, from, "");
      planAmendment(a, p, in, now, step);
      break;
  }
}

// 訂正: staff put right what a reading at the window got wrong. Only a draft
// read there (source ocr or ic) — what a resident sent is theirs, changed
// only through 補正 (request-correction, resubmit). The items changed are
// named in the history (never their values) and, when the module is asked
// to, leave as review.corrected for the reading's report.
void Review::planAmendment(const Application& a, const Procedure& p, const ActionInput& in, std::int64_t now,
                           Step& step) {
  if (a.source != "ocr" && a.source != "ic")
    refuse(in.action, a.state, "only a draft read at the window (source ocr or ic) is corrected by staff; "
                               "what a resident sent is changed through 補正 (request-correction)");
  if (in.fields.empty()) throw ReviewError{ReviewError::BadRequest, "amend: give the corrected items (fields)"};
  checkValues(in.fields);
  step.newFields = a.fields;
  const std::string changed = putItems(p, in.fields, step.newFields);  // items given as they were: no correction
  step.reviewAgain = true;
  step.why = "訂正: " + (changed.empty() ? std::string("nothing changed") : changed) +
             (in.why.empty() ? "" : " (" + in.why + ")");
  if (options_.corrections && !changed.empty()) {
    RecordSet set;
    set.recordType = "review.corrected";
    Record r(correctedNames_);
    r.set(0, a.externalId);
    r.set(1, a.arrivalNo);
    r.set(2, a.procedure);
    r.set(3, a.source);
    r.set(4, changed);
    r.set(5, localDay(now));
    set.records.push_back(std::move(r));
    step.emission.sets.push_back(std::move(set));
  }
}

void Review::planCorrection(Application& a, const Procedure& p, const ActionInput& in, std::int64_t now, Step& step) {
  std::string deadline = in.deadline;
  if (deadline.empty()) {
    deadline = calendar::iso(cal_.deadline(dayOf(now), p.correctionDays, calendar::Rule::Days));
  } else {
    const auto d = calendar::parseIso(deadline);
    if (!d) throw ReviewError{ReviewError::BadRequest, "deadline is not a real date (YYYY-MM-DD)"};
    if (!(dayOf(now) < *d)) throw ReviewError{ReviewError::BadRequest, "deadline must be after today"};
    deadline = calendar::iso(cal_.nextOpenDay(*d));  // a closed day moves to the next open one
  }
  step.to = state::kCorrection;
  step.set("correction_deadline = ?", deadline);
  step.set("correction_comment = ?", in.why);
  step.set("correction_ms = ?", now);
  a.correctionDeadline = deadline;
  step.emission.sets.push_back(notice(a, "correction", deadline, now));
}

void Review::planResubmission(const Application& a, const Procedure& p, const ActionInput& in, std::int64_t now,
                              Step& step) {
  // The clock restarts: the open days it waited are added to the period.
  std::int64_t correctionMs = 0;
  state_.read([&](StateSession& s) {
    s.query("SELECT correction_ms FROM " + apps_ + " WHERE id = ?", {a.id},
            [&](StateRows& row) { correctionMs = row.integer(0); });
  });
  const int waited = std::max(0, cal_.openDaysBetween(dayOf(correctionMs), dayOf(now)));
  const int paused = a.pausedDays + waited;
  checkValues(in.fields);
  step.newFields = a.fields;
  putItems(p, in.fields, step.newFields);
  step.reviewAgain = true;
  step.to = state::kReviewing;
  step.set("paused_days = ?", static_cast<std::int64_t>(paused));
  step.set("due = ?", dueDate(p, a.receivedAt, paused));
  step.why = (step.why.empty() ? std::string("補正") : step.why) + " (" + std::to_string(waited) + " open days paused)";
}

void Review::planWriteBack(const Application& a, const Procedure& p, std::int64_t now, Step& step) {
  std::string hold;
  RecordSet wb = writeBackRecords(a, p, localDay(now), hold);
  if (!hold.empty()) {
    step.to = state::kApproved;
    step.set("hold_reason = ?", hold);
    step.why = (step.why.empty() ? "" : step.why + "; ") + "write-back held: " + hold;
    return;
  }
  step.to = state::kAwaiting;
  step.sets.push_back("hold_reason = ''");
  step.set("written_ms = ?", now);
  step.emission.sets.push_back(std::move(wb));
  step.emission.key = "review-writeback:" + a.arrivalNo;  // written once, whatever happens
}

RecordSet Review::writeBackRecords(const Application& a, const Procedure& p, const std::string& today,
                                   std::string& hold) const {
  // Every value made ready for the core system; a character it cannot take
  // holds the application, named.
  const WriteBack& w = p.writeBack;
  auto names = std::make_shared<FieldNames>(
      FieldNames{"application_id", "kind", "procedure", "resident_code", "approved_on", "member_no"});
  for (const FieldRule& r : p.fields)
    if (r.writeBack) names->push_back(r.name);
  for (const FieldRule& r : p.memberFields)
    if (r.writeBack) names->push_back("member_" + r.name);  // apart from the applicant's own
  // One row for the application, or one per member present (a household's
  // 転入: Japanese, foreign or mixed, each its own row).
  std::vector<int> members;
  for (int n = 1; n <= p.maxMembers; ++n)
    if (memberPresent(a.fields, n)) members.push_back(n);
  if (members.empty()) members.push_back(0);
  RecordSet wb;
  wb.recordType = p.recordType();
  for (int member : members) {
    Record rec(names);
    rec.set(0, a.arrivalNo);
    rec.set(1, w.kind);
    rec.set(2, a.procedure);
    rec.set(3, a.residentCode);
    rec.set(4, today);
    rec.set(5, member ? std::to_string(member) : std::string());
    std::size_t i = 6;
    const auto put = [&](const std::string& sent, const std::string& label) {
      Converted c = convertForCoreSystem(valueOf(a.fields, sent), w.conversionTable.get(), *w.codec);
      if (c.unmappable && hold.empty())
        hold = label + " (" + sent + "): " + codePointName(*c.unmappable) + " is in neither the conversion table nor " +
               w.encoding + "; add it to " +
               (w.conversionTablePath.empty() ? std::string("a conversion table")
                                              : w.conversionTablePath.filename().string()) +
               " and write back again";
      rec.set(i++, std::move(c.text));
    };
    for (const FieldRule& r : p.fields)
      if (r.writeBack) put(r.name, r.label);
    const std::string prefix = "member." + std::to_string(member) + ".";
    for (const FieldRule& r : p.memberFields)
      if (r.writeBack) put(prefix + r.name, "世帯員" + std::to_string(member) + " " + r.label);
    wb.records.push_back(std::move(rec));
  }
  return wb;
}

Application Review::commitAction(const Application& a, const ActionInput& in, std::int64_t now, Step& step) {
  Emission& e = step.emission;
  if (e.key.empty())
    e.key = "review-act:" + a.arrivalNo + ":" + std::to_string(a.version + 1) + ":" + randomHex(12);
  bool changed = false, ran = false;
  e.state = [&](StateSession& s) {
    ran = true;
    std::string sql = "UPDATE " + apps_ + " SET state = ?, version = version + 1";
    for (const auto& part : step.sets) sql += ", " + part;
    sql += " WHERE id = ? AND version = ?";
    std::vector<StateValue> params;
    params.reserve(step.values.size() + 3);
    params.emplace_back(std::in_place_type<std::string>, step.to);
    params.insert(params.end(), step.values.begin(), step.values.end());
    params.emplace_back(std::in_place_type<std::int64_t>, a.id);
    params.emplace_back(std::in_place_type<std::int64_t>, a.version);
    if (s.run(sql, params) != 1) {
      changed = true;
      throw Changed{};
    }
    s.run("INSERT INTO " + history_ +
              " (application_id, at_ms, from_state, to_state, action, who, why) VALUES (?, ?, ?, ?, ?, ?, ?)",
          {a.id, now, a.state, step.to, std::string(actionName(in.action)), in.who, step.why});
  };
  try {
    commit(e, actionName(in.action));
  } catch (const ReviewError&) {
    if (changed) throw ReviewError{ReviewError::Conflict, "the application changed at the same time; read it again"};
    throw;
  }
  // The write-back's key is the application's: a second approval racing the
  // first is acknowledged by the store without running, so this one did
  // nothing and must say so (eight staff approving at once once all heard "ok").
  if (ran) told({a.arrivalNo, a.procedure, a.state, step.to, actionName(in.action), now});
  if (!ran) {
    const Application current = get(a.arrivalNo);
    throw ReviewError{ReviewError::Conflict, std::string(actionName(in.action)) +
                                                 ": already done for this application (its write-back is written once); "
                                                 "it is now " + current.state + " (" + stateLabel(current.state) + ")"};
  }
  return get(a.arrivalNo);
}

}  // namespace renkei::plugins::review
