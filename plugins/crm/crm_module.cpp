// The crm module (来庁単位の管理): a resident cache fed by routes, visits and
// their procedures, served to window systems as ResidentService and
// CrmService (core/api/renkei.thrift). State lives in the host's store.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <set>
#include <tuple>

#include <Poco/Logger.h>

#include "api/CrmService.h"
#include "api/ResidentService.h"
#include "api/TokenService.h"
#include "crm.h"
#include "crm_tokens.h"
#include "renkei/support/calendar_file.h"
#include "renkei/support/guidance.h"
#include "renkei/support/worker.h"
#include "renkei/admin.h"
#include "renkei/support/chart.h"
#include "renkei/text.h"
#include <cstdio>
#include "renkei/sdk.h"
#include "renkei/json.h"
#include "renkei/local_time.h"
#include "zmq_channel.h"

namespace renkei::plugins::crm {
namespace {

const renkei_config_key kKeys[] = {
    {"resident-key", "string", "resident_code", 0,
     "Field of the routed resident records that holds the 住民票コード (the cache's key)."},
    {"household-key", "string", "household_no", 0, "Field that holds the 世帯番号 (household look-ups)."},
    {"relationship-field", "string", "relationship", 0,
     "Field that holds the relationship to the householder (続柄); the householder is listed first."},
    {"householder-value", "string", "世帯主", 0, "Value of relationship-field that marks the householder."},
    {"client-times", "bool", "false", 0,
     "Accept event times from clients (the `at` argument of visit calls, e.g. a ticket machine's clock); "
     "when false a call giving one is refused and the host's clock is used."},
    {"report-utc-offset", "string", nullptr, 0,
     "Time zone of the reports' days and hours, as an offset from UTC (+09:00 is JST).",
     "the reports follow the config's time-zone (<renkei time-zone=\"…\">); remove this key"},
    {"knowledge", "path", nullptr, 0,
     "The concierge's knowledge file: with it (and calendar), an opened token also lists what the register adds "
     "(members the token leaves out, the procedures they call for)."},
    {"rules", "path", nullptr, 0, "The related-procedure rule file, for the judgement on register data."},
    {"calendar", "path", nullptr, 0, "The municipal calendar file, for the judgement's deadlines.",
     "the config's <calendar file=\"…\"/> serves every plugin of the instance; remove this key"},
    {"parameters", "list", "", 0, "The rules' parameters, name=value (as the concierge's)."},
    {"name-field", "string", "name", 0, "Field of the cached resident record holding 氏名 (finding a token's members)."},
    {"birth-field", "string", "birth_date", 0, "Field holding 生年月日 (ISO), likewise."},
    {"related-events", "list", "転出=tenshutsu;国外転出=tenshutsu;死亡=shibou;出生=shussei", 0,
     "Register events (resident.event's event, mapped, and koseki.event's: 出生, 死亡 …) whose related procedures are "
     "judged from the welfare facts (a 戸籍 event and the resident feed's notice of it count once), "
     "each as event=knowledge event id; with knowledge, rules and calendar. relatedProcedures lists what was found."},
    {"token-keys", "list", nullptr, 0,
     "Private key files (PEM, mode 600) for opening sealed visit tokens (docs/tokens.md), separated by ';': "
     "the current key and those before a rotation. With keys, TokenService is served; only in the LGWAN zone."},
    {"draft-record", "string", "crm.draft", 0,
     "Record type of drafts read at the window (a scanned 転出証明書, a card's chip: draft_id, procedure, source, "
     "review_fields and what was read; mappings/ocr/tenshutsu-to-crm.xml): kept for the window system to list "
     "(listDrafts) and attach to a visit (attachDraft)."},
    {"ticket-record", "string", "ticket.event", 0,
     "Record type of the ticket machine's normalised events (the ticketing connector through a mapping such as "
     "mappings/ticketing/log-to-events.xml): a ticket opens a visit, the floor moves its procedure (the line) on."},
    {"ticket-hold", "duration", "10m", 0,
     "An event whose ticket was not issued yet waits this long for the issue, then is reported (renkei status)."},
    {"events-endpoint", "string", nullptr, 0,
     "Where live floor events are published over ZeroMQ (PUB, CURVE), e.g. tcp://0.0.0.0:7420: a ticket issued, "
     "called, served …, and each line's queue (waiting, the number called, the wait to expect). No personal values: "
     "ticket numbers, lines, counters, counts. docs/live-events.md has the format."},
    {"events-key", "path", nullptr, 0,
     "This publisher's CURVE secret key (Z85; bridge-curve.key from `renkei bridge keygen`), with events-endpoint."},
    {"events-clients", "list", nullptr, 0,
     "CURVE public key files of the displays and front ends allowed to subscribe; any other key gets nothing."},
    {"status-record", "string", nullptr, 0,
     "Record type of each line's waiting status (e.g. floor.status: site, date, line, waiting, the number called "
     "last, the wait to expect, the call interval, the waiting numbers), emitted when a line changes — at most once "
     "per status-interval — for a route to the bridge and the concierge's waiting page. Not set: none emitted."},
    {"status-interval", "duration", "15s", 0,
     "At most one status emission per this interval (the rate the internet zone gets); an unchanged line is sent "
     "again every 20 intervals so the page can tell fresh from stale. 5s to 10m."},
    {"keep-drafts-for", "duration", "3d", 0,
     "How long a draft is kept after it came, attached or not (drafts hold personal data; the visit keeps the id)."},
};

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// One line of the audit trail, through the host (HostServices::audit): the
/// host masks the key and writes the one format every audited call has.
void audit(HostServices& host, const ApiCaller& caller, const std::string& action, const std::string& record,
           const std::string& keyName, const std::string& key, const std::string& result,
           std::vector<std::string> fields = {}) {
  AuditEntry e;
  e.who = caller.client;
  e.address = caller.address;
  e.action = action;
  e.recordType = record;
  e.keyName = keyName;
  e.key = key;
  e.fields = std::move(fields);
  e.result = result;
  host.audit(e);
}

api::ApiError toApi(const CrmError& e) {
  api::ApiError out;
  out.code = e.code;
  out.message = e.message;
  return out;
}

/// Runs a call, turning every failure into a declared ApiError.
template <typename F>
void serve(Poco::Logger& log, const char* call, F&& f) {
  try {
    f();
  } catch (const CrmError& e) {
    throw toApi(e);
  } catch (const api::ApiError&) {
    throw;
  } catch (const StateError& e) {
    log.error("%s: store: %s", std::string(call), std::string(e.what()));
    throw toApi({api::ErrorCode::UNAVAILABLE, "the store cannot answer now"});
  } catch (const std::exception& e) {
    log.error("%s: %s", std::string(call), std::string(e.what()));
    throw toApi({api::ErrorCode::INTERNAL, "internal error (see the host's log)"});
  }
}

void requireText(const std::string& value, const char* what, std::size_t max, bool required = true) {
  if (required && value.empty()) throw CrmError{api::ErrorCode::BAD_REQUEST, std::string(what) + " is required"};
  if (value.size() > max)
    throw CrmError{api::ErrorCode::BAD_REQUEST, std::string(what) + " is longer than " + std::to_string(max) + " bytes"};
}

/// 住民票コード and 世帯番号 are ASCII digits (and letters in some systems):
/// a window system sending full-width ones (０００１…) gets a clear
/// BAD_REQUEST instead of a look-up that finds nothing. The value is not
/// repeated (it may be personal).
void requireCode(const std::string& value, const char* what) {
  requireText(value, what, 32);
  for (unsigned char c : value)
    if (c < 0x21 || c > 0x7E)
      throw CrmError{api::ErrorCode::BAD_REQUEST,
                     std::string(what) + " must be ASCII (half-width digits and letters); full-width or other "
                                         "characters are not converted"};
}

class ResidentHandler final : public api::ResidentServiceIf {
 public:
  ResidentHandler(Crm& crm, Poco::Logger& log, HostServices& host, ApiCaller caller)
      : crm_(crm), log_(log), host_(host), caller_(std::move(caller)) {}

  void getResident(api::Resident& out, const std::string& code) override {
    serve(log_, "getResident", [&] {
      requireCode(code, "residentCode");
      auto r = crm_.resident(code);
      std::vector<std::string> shown;
      if (r)
        for (const auto& [name, value] : r->fields) shown.push_back(name);
      audit(host_, caller_, "ResidentService.getResident", "resident", "resident_code", code,
            r ? "found=1" : "found=0", std::move(shown));
      if (!r) throw CrmError{api::ErrorCode::NOT_FOUND, "no resident with that code"};
      out = std::move(*r);
    });
  }

  void getHousehold(api::Household& out, const std::string& householdNo, const bool includeFormer) override {
    serve(log_, "getHousehold", [&] {
      requireCode(householdNo, "householdNo");
      out = crm_.household(householdNo, includeFormer);
      audit(host_, caller_, "ResidentService.getHousehold", "resident", "household_no", householdNo,
            "members=" + std::to_string(out.members.size()) + (includeFormer ? " former=1" : ""));
      if (out.members.empty()) throw CrmError{api::ErrorCode::NOT_FOUND, "no household with that number"};
    });
  }

 private:
  Crm& crm_;
  Poco::Logger& log_;
  HostServices& host_;
  ApiCaller caller_;
};

/// TokenService: a scanned token opened once; every opening audited with the
/// token id (never its content), refusals with their code.
/// The related-procedure judgement on the register's data when a token is
/// opened (frontyard.md §4): the households the token's members live in, the
/// members the token leaves out, the procedures their facts add.
struct RegisterJudge {
  std::shared_ptr<const guidance::Knowledge> knowledge;
  std::shared_ptr<const guidance::Rules> rules;
  calendar::Calendar cal;
  std::map<std::string, std::string> parameters;
  std::string nameField, birthField, relationshipField;

  void addTo(api::OpenedToken& t, Crm& crm) const {
    const guidance::Event* event = knowledge->event(t.lifeEventId);
    if (!event)
      for (const guidance::Event& e : knowledge->events)
        if (e.name == t.lifeEvent) event = &e;
    const auto move = calendar::parseIso(t.plannedMoveDate);
    if (!event || !move) return;
    std::vector<std::pair<std::string, std::string>> keys;
    std::set<std::string> inToken;
    std::map<std::string, std::size_t> tokenMember;  // match key → its place in the household judged
    guidance::Household fromToken;
    fromToken.event = event->id;
    fromToken.moveDate = *move;
    for (const api::TokenMember& m : t.members) {
      keys.emplace_back(m.name, m.birthDate);
      inToken.insert(Crm::matchKey(m.name, m.birthDate));
      if (auto birth = calendar::parseIso(m.birthDate)) {
        tokenMember[Crm::matchKey(m.name, m.birthDate)] = fromToken.members.size();
        fromToken.members.push_back(guidance::memberFacts(*birth, *move));
      }
    }
    fromToken.chosenProcedures = t.procedures;
    guidance::Household fromRegister = fromToken;
    for (const api::Household& h : crm.householdsOf(keys))
      for (const api::Resident& r : h.members) {
        auto field = [&](const std::string& name) {
          auto it = r.fields.find(name);
          return it == r.fields.end() ? std::string() : it->second;
        };
        const std::string name = field(nameField), birth = field(birthField);
        // What the core systems' facts say of a member the token names
        // (kokuho_member …), for the rules that judge on them: on the
        // register's side only.
        if (auto it = tokenMember.find(Crm::matchKey(name, birth)); it != tokenMember.end()) {
          fromRegister.members[it->second].flags = crm.facts(r.residentCode);
          continue;
        }
        if (inToken.count(Crm::matchKey(name, birth))) continue;
        inToken.insert(Crm::matchKey(name, birth));
        api::TokenMember added;
        added.name = name;
        added.birthDate = birth;
        added.relationship = field(relationshipField);
        t.registerMembers.push_back(added);
        // Members the token leaves out count by their ages only: the token
        // says who moves, and their programs are theirs, not the mover's.
        if (auto b = calendar::parseIso(birth)) fromRegister.members.push_back(guidance::memberFacts(*b, *move));
      }
    std::set<std::string> before;
    for (const auto& o : guidance::judge(*knowledge, rules.get(), cal, fromToken, parameters)) before.insert(o.procedure->id);
    for (const auto& o : guidance::judge(*knowledge, rules.get(), cal, fromRegister, parameters))
      if (!before.count(o.procedure->id)) t.registerProcedures.push_back(o.procedure->id);
  }

  /// The related procedures of one register event: the rules' outcomes only
  /// (what the facts call for; the event's own 届 is done already).
  std::vector<Judged> related(const JudgedEvent& e) const {
    std::vector<Judged> out;
    const auto date = calendar::parseIso(e.date);
    if (!date || !rules) return out;
    guidance::Household h;
    h.event = e.eventId;
    h.moveDate = *date;
    // Where the person moves to is not in the register's event: a rule
    // that needs it (後期's 負担区分等証明書) lists its procedure to be checked.
    h.facts["to-other-prefecture"] = "unknown";
    for (const JudgedEvent::Member& m : e.members) {
      guidance::MemberFacts f;
      if (auto birth = calendar::parseIso(m.birth)) f = guidance::memberFacts(*birth, *date);
      f.flags = m.flags;
      h.members.push_back(std::move(f));
    }
    for (const guidance::Outcome& o : guidance::judge(*knowledge, rules.get(), cal, h, parameters))
      if (!o.where.empty())
        out.push_back({o.procedure->id, o.procedure->name, o.deadline ? calendar::iso(*o.deadline) : std::string(),
                       o.because, o.where});
    return out;
  }
};

class TokenHandler final : public api::TokenServiceIf {
 public:
  TokenHandler(TokenOpener* opener, const RegisterJudge* judge, Crm& crm, Poco::Logger& log, HostServices& host,
               ApiCaller caller)
      : opener_(opener), judge_(judge), crm_(crm), log_(log), host_(host), caller_(std::move(caller)) {}

  void open(api::OpenedToken& out, const std::string& text) override {
    try {
      requireText(text, "text", 4400);
      if (!opener_) {
        api::TokenRefused refused;
        refused.code = api::TokenRefusal::NO_KEY;
        refused.message = "this instance holds no key to open visit tokens (the crm module's token-keys, LGWAN only)";
        throw refused;
      }
      out = opener_->open(text, host_.nowMs(), caller_.client);
      if (judge_) judge_->addTo(out, crm_);
      audit(host_, caller_, "TokenService.open", "visit-token", "token_id", out.tokenId, "opened");
    } catch (const api::TokenRefused& e) {
      audit(host_, caller_, "TokenService.open", "visit-token", "token_id", "",
            std::string("refused: ") + api::to_string(e.code));
      throw;
    } catch (const CrmError& e) {
      throw toApi(e);
    } catch (const StateError& e) {
      log_.error("TokenService.open: store: %s", std::string(e.what()));
      throw toApi({api::ErrorCode::UNAVAILABLE, "the store cannot answer now"});
    } catch (const std::exception& e) {
      log_.error("TokenService.open: %s", std::string(e.what()));
      throw toApi({api::ErrorCode::INTERNAL, "internal error (see the host's log)"});
    }
  }

 private:
  TokenOpener* opener_;  ///< null: no token-keys
  const RegisterJudge* judge_;  ///< null: no guidance files
  Crm& crm_;
  Poco::Logger& log_;
  HostServices& host_;
  ApiCaller caller_;
};

class CrmHandler final : public api::CrmServiceIf {
 public:
  CrmHandler(Crm& crm, Poco::Logger& log, HostServices& host, bool clientTimes, ApiCaller caller,
             renkei::connectors::channel::ZmqPublisher* publisher, std::int64_t offsetMinutes)
      : crm_(crm), log_(log), host_(host), clientTimes_(clientTimes), caller_(std::move(caller)),
        publisher_(publisher), offsetMinutes_(offsetMinutes) {}

  void openVisit(api::Visit& out, const std::string& ticket, const std::string& staff, int64_t at) override {
    call("openVisit", 0, [&] {
      requireText(ticket, "ticket", 64, false);
      requireText(staff, "staff", 64, false);
      if (ticket.empty() && staff.empty())
        throw CrmError{api::ErrorCode::BAD_REQUEST, "a visit opens from a ticket number or from staff"};
      out = crm_.openVisit(ticket, actor(staff), when(at));
      if (publisher_)
        publisher_->publish("visit.opened", jsonObject({{"visit", std::to_string(out.id)}, {"ticket", out.ticket},
                                                        {"at", localTimeAt(out.openedAt, offsetMinutes_)}}));
      return out.id;
    });
  }
  void getVisit(api::Visit& out, int64_t visitId) override {
    call("getVisit", visitId, [&] {
      out = crm_.visit(visitId);
      return visitId;
    });
  }
  void linkResident(api::Visit& out, int64_t visitId, const std::string& residentCode, const std::string& staff,
                    int64_t at) override {
    call("linkResident", visitId, [&] {
      requireCode(residentCode, "residentCode");
      requireText(staff, "staff", 64, false);
      out = crm_.linkResident(visitId, residentCode, actor(staff), when(at));
      return visitId;
    }, residentCode);
  }
  void addProcedure(api::Visit& out, int64_t visitId, const std::string& code, const std::string& counter,
                    const std::string& staff, int64_t at) override {
    call("addProcedure", visitId, [&] {
      requireText(code, "procedureCode", 64);
      requireText(counter, "counter", 64);
      requireText(staff, "staff", 64, false);
      out = crm_.addProcedure(visitId, code, counter, actor(staff), when(at));
      publishProgress(out, -1);
      return visitId;
    });
  }
  void setProgress(api::Visit& out, int64_t visitId, int64_t procedureId, api::Progress::type progress,
                   const std::string& staff, int64_t at) override {
    call("setProgress", visitId, [&] {
      if (progress < api::Progress::RECEIVED || progress > api::Progress::WITHDRAWN)
        throw CrmError{api::ErrorCode::BAD_REQUEST, "unknown progress " + std::to_string(progress)};
      requireText(staff, "staff", 64, false);
      out = crm_.setProgress(visitId, procedureId, progress, actor(staff), when(at));
      publishProgress(out, procedureId);
      return visitId;
    });
  }
  void closeVisit(api::Visit& out, int64_t visitId, const std::string& staff, int64_t at) override {
    call("closeVisit", visitId, [&] {
      requireText(staff, "staff", 64, false);
      out = crm_.closeVisit(visitId, actor(staff), when(at));
      return visitId;
    });
  }
  void report(api::Report& out, const std::string& fromDate, const std::string& toDate) override {
    serve(log_, "report", [&] {
      out = crm_.report(fromDate, toDate);
      audit(host_, caller_, "CrmService.report", "", "", "", "from=" + fromDate + " to=" + toDate);
    });
  }
  void congestion(api::Congestion& out, const std::string& fromDate, const std::string& toDate,
                  const std::string& month) override {
    serve(log_, "congestion", [&] {
      const calendar::Calendar* cal = host_.calendar();
      if (!cal)
        throw CrmError{api::ErrorCode::UNAVAILABLE,
                       "the forecast needs the municipal calendar: give the instance one (<calendar file=\"…\"/>)"};
      out = crm_.congestion(fromDate, toDate, month, *cal);
      audit(host_, caller_, "CrmService.congestion", "", "", "",
            "from=" + fromDate + " to=" + toDate + " month=" + month);
    });
  }
  void relatedProcedures(std::vector<api::RelatedProcedure>& out, const std::string& householdNo) override {
    serve(log_, "relatedProcedures", [&] {
      if (householdNo.empty()) throw CrmError{api::ErrorCode::BAD_REQUEST, "householdNo is required"};
      out = crm_.related(householdNo);
      audit(host_, caller_, "CrmService.relatedProcedures", "household", "household_no", householdNo,
            "found=" + std::to_string(out.size()));
    });
  }

  void listDrafts(std::vector<api::Draft>& out, const std::string& procedure) override {
    serve(log_, "listDrafts", [&] {
      requireText(procedure, "procedure", 64, false);
      out = crm_.drafts(procedure, nowMs());
      audit(host_, caller_, "CrmService.listDrafts", "draft", "", "", "found=" + std::to_string(out.size()));
    });
  }
  void attachDraft(api::Visit& out, int64_t visitId, const std::string& draftId, const std::string& counter,
                   const std::string& staff, int64_t at) override {
    call("attachDraft", visitId, [&] {
      requireText(draftId, "draftId", 200);
      requireText(counter, "counter", 64);
      requireText(staff, "staff", 64, false);
      out = crm_.attachDraft(visitId, draftId, counter, actor(staff), when(at));
      return visitId;
    });
  }

 private:
  /// procedure.progress for the procedure set (the last one added when -1):
  /// the visit and procedure ids, the procedure's code, counter and progress.
  void publishProgress(const api::Visit& v, std::int64_t procedureId) {
    if (!publisher_ || v.procedures.empty()) return;
    const api::Procedure* p = &v.procedures.back();
    for (const api::Procedure& q : v.procedures)
      if (q.id == procedureId) p = &q;
    publisher_->publish("procedure.progress",
                        jsonObject({{"visit", std::to_string(v.id)}, {"procedure", std::to_string(p->id)},
                                    {"code", p->code}, {"counter", p->counter}, {"progress", progressName(p->progress)},
                                    {"at", localTimeAt(nowMs(), offsetMinutes_)}}));
  }
  Actor actor(const std::string& staff) const { return Actor{staff, caller_.client}; }
  std::int64_t when(std::int64_t at) const {
    if (at == 0) return nowMs();
    if (!clientTimes_)
      throw CrmError{api::ErrorCode::FORBIDDEN, "this host takes event times from its own clock (client-times is off)"};
    if (at < 0) throw CrmError{api::ErrorCode::BAD_REQUEST, "at must be a time in ms since 1970"};
    return at;
  }
  /// Visits hold a resident link: every call is in the access log, with the
  /// visit id and, for linkResident, the masked code.
  template <typename F>
  void call(const char* name, std::int64_t visitId, F&& f, const std::string& residentCode = {}) {
    std::int64_t id = visitId;
    bool ok = false;
    try {
      serve(log_, name, [&] {
        id = f();
        ok = true;
      });
    } catch (...) {
      log(name, id, residentCode, false);
      throw;
    }
    log(name, id, residentCode, ok);
  }
  void log(const char* name, std::int64_t visitId, const std::string& residentCode, bool ok) {
    audit(host_, caller_, std::string("CrmService.") + name, "visit", residentCode.empty() ? "" : "resident_code",
          residentCode, "visit=" + std::to_string(visitId) + " result=" + (ok ? "ok" : "error"));
  }

  Crm& crm_;
  Poco::Logger& log_;
  HostServices& host_;
  bool clientTimes_;
  ApiCaller caller_;
  renkei::connectors::channel::ZmqPublisher* publisher_;  ///< null: no live events
  std::int64_t offsetMinutes_;
};

}  // namespace

/// The congestion forecast as a console page (permission crm): the month's
/// days, the weekday × hour profile, or the factors, as CSV.
static AdminResponse congestionPage(Crm& crm, const calendar::Calendar* cal, const AdminRequest& request) {
  auto get = [&](const char* k, const char* fallback) {
    auto it = request.query.find(k);
    return it == request.query.end() ? std::string(fallback) : it->second;
  };
  AdminResponse r;
  r.contentType = "text/plain; charset=utf-8";
  const std::string by = get("by", "calendar");
  if (by != "calendar" && by != "profile" && by != "factors") {
    r.status = 400;
    r.body = "by=calendar|profile|factors\n";
    return r;
  }
  if (!cal) {
    r.status = 503;
    r.body = "the forecast needs the municipal calendar (<calendar file=\"…\"/> in the config)\n";
    return r;
  }
  api::Congestion c;
  try {
    c = crm.congestion(get("from", ""), get("to", ""), get("month", ""), *cal);
  } catch (const CrmError& e) {
    r.status = 400;
    r.body = e.message + " (?from=YYYY-MM-DD&to=YYYY-MM-DD&month=YYYY-MM&by=calendar|profile|factors)\n";
    return r;
  }
  char n[32];
  auto fixed = [&](double v, const char* f = "%.1f") {
    std::snprintf(n, sizeof n, f, v);
    return std::string(n);
  };
  r.contentType = "text/csv; charset=utf-8";
  if (by == "calendar") {
    r.body = "date,open,level,expected_visits,ratio,busiest_hour,kinds\r\n";
    for (const auto& d : c.days)
      r.body += d.date + "," + (d.open ? "1" : "0") + "," + csvCell(d.level) + "," + fixed(d.expected) + "," +
                fixed(d.ratio, "%.2f") + "," + (d.busiestHour >= 0 ? std::to_string(d.busiestHour) : "") + "," +
                csvCell(d.kinds) + "\r\n";
  } else if (by == "profile") {
    r.body = "weekday,hour,visits,wait_seconds\r\n";
    for (const auto& h : c.profile)
      r.body += std::to_string(h.weekday) + "," + std::to_string(h.hour) + "," + fixed(h.arrivals, "%.2f") + "," +
                fixed(h.waitSeconds, "%.0f") + "\r\n";
  } else {
    r.body = "kind,factor,days,measured\r\n";
    for (const auto& f : c.factors)
      r.body += csvCell(f.kind) + "," + fixed(f.factor, "%.2f") + "," + std::to_string(f.days) + "," +
                (f.measured ? "1" : "0") + "\r\n";
  }
  return r;
}

/// The crm module's report page (see configure()).
static AdminResponse reportPage(Crm& crm, const AdminRequest& request) {
  auto get = [&](const char* k, const char* fallback) {
    auto it = request.query.find(k);
    return it == request.query.end() ? std::string(fallback) : it->second;
  };
  AdminResponse r;
  // by= as every report page takes it (view= as it was first named)
  const std::string view = get("by", get("view", "day").c_str()), format = get("format", "csv");
  if ((view != "day" && view != "hour" && view != "procedure" && view != "counter") || (format != "csv" && format != "svg")) {
    r.status = 400;
    r.contentType = "text/plain; charset=utf-8";
    r.body = "by=day|hour|procedure|counter, format=csv|svg\n";
    return r;
  }
  api::Report report;
  try {
    report = crm.report(get("from", ""), get("to", ""));
  } catch (const CrmError& e) {
    r.status = 400;
    r.contentType = "text/plain; charset=utf-8";
    r.body = e.message + "\n";
    return r;
  }
  const auto& counts = view == "day" ? report.perDay : report.perHour;
  if (format == "svg" && (view == "procedure" || view == "counter")) {
    std::vector<chart::Row> rows;
    for (const api::TimeRow& t : view == "procedure" ? report.perProcedure : report.perCounter)
      if (rows.size() < 200) rows.push_back({t.key, {t.procedures, t.waited, t.handled}});
    r.contentType = "image/svg+xml; charset=utf-8";
    r.body = chart::bars("Procedures per " + view + ", " + report.fromDate + " to " + report.toDate,
                         "Procedures received, waits timed and handlings timed per " + view,
                         {"procedures", "waited", "handled"}, rows);
    return r;
  }
  if (format == "svg") {
    std::vector<chart::Row> rows;
    for (const api::CountRow& c : counts) rows.push_back({c.period, {c.visits, c.procedures}});
    r.contentType = "image/svg+xml; charset=utf-8";
    r.body = chart::bars("Visits and procedures per " + view + ", " + report.fromDate + " to " + report.toDate,
                         "Visits opened and procedures received in each " + view, {"visits", "procedures"}, rows);
    return r;
  }
  r.contentType = "text/csv; charset=utf-8";
  char number[32];
  auto fixed = [&](double v) {
    std::snprintf(number, sizeof number, "%.1f", v);
    return std::string(number);
  };
  if (view == "day" || view == "hour") {
    r.body = "period,visits,procedures\r\n";
    for (const api::CountRow& c : counts)
      r.body += csvCell(c.period) + "," + std::to_string(c.visits) + "," + std::to_string(c.procedures) + "\r\n";
  } else {
    r.body = csvCell(view) + ",procedures,waited,wait_avg_seconds,wait_p90_seconds,handled,handle_avg_seconds,"
             "handle_p90_seconds\r\n";
    for (const api::TimeRow& t : view == "procedure" ? report.perProcedure : report.perCounter)
      r.body += csvCell(t.key) + "," + std::to_string(t.procedures) + "," + std::to_string(t.waited) + "," +
                fixed(t.waitAvgSeconds) + "," + fixed(t.waitP90Seconds) + "," + std::to_string(t.handled) + "," +
                fixed(t.handleAvgSeconds) + "," + fixed(t.handleP90Seconds) + "\r\n";
  }
  return r;
}

class CrmModule final : public Module {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    log_ = context.logger;
    services_ = context.services;
    CrmOptions options;
    options.residentKey = settings.getString("resident-key");
    options.householdKey = settings.getString("household-key");
    options.relationshipField = settings.getString("relationship-field");
    options.householderValue = settings.getString("householder-value");
    options.reportOffsetMinutes =
        localOffsetMinutes(settings, "report-utc-offset", *context.services, context.services->nowMs());
    clientTimes_ = settings.getBool("client-times");
    draftRecord_ = settings.getString("draft-record");
    offsetMinutes_ = options.reportOffsetMinutes;
    if (settings.has("events-endpoint") && !context.validating && !context.once) {
      if (!settings.has("events-key") || !settings.has("events-clients"))
        throw ConfigError("events-endpoint needs events-key and events-clients (who may subscribe)");
      try {
        publisher_ = renkei::connectors::channel::eventsPublisher(
            settings.getString("events-endpoint"), settings.getPath("events-key").string(),
            settings.getList("events-clients"), context.configDir.string(), log_, "crm " + context.id + " events");
      } catch (const std::exception& e) {
        throw ConfigError(std::string("events-key, events-clients: ") + e.what());
      }
    }
    ticketRecord_ = settings.getString("ticket-record");
    if (settings.has("status-record")) statusRecord_ = settings.getString("status-record");
    statusIntervalMs_ = settings.getDuration("status-interval").count();
    if (statusIntervalMs_ < 5000 || statusIntervalMs_ > 600000) throw ConfigError("status-interval: 5s to 10m");
    options.ticketHoldMs = settings.getDuration("ticket-hold").count();
    ticketHoldMs_ = options.ticketHoldMs;
    once_ = context.once;
    if (options.ticketHoldMs < 1000) throw ConfigError("ticket-hold: 1s at least");
    options.keepDraftsMs = settings.getDuration("keep-drafts-for").count();
    if (options.keepDraftsMs <= 0) throw ConfigError("keep-drafts-for: a draft must be kept a while (1h at least)");
    options.nameField = settings.getString("name-field");
    options.birthField = settings.getString("birth-field");
    for (const std::string& pair : settings.getList("related-events")) {
      const std::size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size())
        throw ConfigError("related-events: '" + pair + "' is not event=knowledge-event-id");
      relatedEvents_[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    if (!settings.has("knowledge") && settings.has("calendar"))
      throw ConfigError("calendar without knowledge: the judgement on register data needs both");
    if (settings.has("knowledge")) {
      auto judge = std::make_unique<RegisterJudge>();
      Diagnostics diags;
      judge->knowledge = guidance::loadKnowledge(settings.getPath("knowledge"), diags);
      if (judge->knowledge && settings.has("rules"))
        judge->rules = guidance::loadRules(settings.getPath("rules"), *judge->knowledge, diags);
      auto cal = pluginCalendar(settings, "calendar", *context.services, diags);
      if (!diags.empty()) throw ConfigError("its guidance files have problems:\n" + diags.format());
      judge->cal = *cal;
      for (const std::string& p : settings.getList("parameters")) {
        const std::size_t eq = p.find('=');
        if (eq == std::string::npos || eq == 0) throw ConfigError("parameters: '" + p + "' is not name=value");
        judge->parameters[p.substr(0, eq)] = p.substr(eq + 1);
      }
      if (judge->rules)
        for (const std::string& missing : guidance::missingParameters(*judge->rules, judge->parameters))
          throw ConfigError("parameters: the rules need '" + missing + "' (name=value)");
      judge->nameField = options.nameField;
      judge->birthField = options.birthField;
      judge->relationshipField = options.relationshipField;
      judge_ = std::move(judge);
    }
    std::vector<seal::PrivateKey> tokenKeys;
    if (settings.has("token-keys")) {
      if (context.zone != "lgwan")
        throw ConfigError("token-keys: tokens are opened in the LGWAN zone only; this instance is in the " +
                          context.zone + " zone (the internet side holds the public key)");
      for (const std::string& file : settings.getList("token-keys")) {
        const std::filesystem::path path =
            std::filesystem::path(file).is_relative() ? context.configDir / file : std::filesystem::path(file);
        try {
          tokenKeys.push_back(seal::PrivateKey::fromFile(path.string()));
        } catch (const seal::KeyError& e) {
          throw ConfigError(std::string("token-keys: ") + e.what());
        }
      }
    }
    if (!context.services) throw ConfigError("the crm module needs the host's store (no services offered)");
    if (context.validating) return;  // renkei check: no store
    crm_ = std::make_unique<Crm>(context.services->state(), options);
    crm_->migrate();
    if (AdminRegistry* admin = context.services->admin()) {
      // CrmService.report as a console page (permission crm): one view as
      // CSV, or visits and procedures per day or hour as a chart.
      Crm* crm = crm_.get();
      admin->addHandler(
          "report",
          "visits and procedures per day or hour, waiting and handling times per procedure or counter "
          "(?by=day|hour|procedure|counter&from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|svg; CSV)",
          "crm", [crm](const AdminRequest& request) { return reportPage(*crm, request); });
      const calendar::Calendar* cal = context.services->calendar();
      admin->addHandler(
          "congestion",
          "混雑予想カレンダー: the month's forecast from the visits of a period, on the municipal calendar "
          "(?from=YYYY-MM-DD&to=YYYY-MM-DD&month=YYYY-MM&by=calendar|profile|factors; CSV)",
          "crm", [crm, cal](const AdminRequest& request) { return congestionPage(*crm, cal, request); });
    }
    if (ApiRegistry* api = context.services->api()) {
      Crm* crm = crm_.get();
      Poco::Logger* log = log_;
      const bool clientTimes = clientTimes_;
      HostServices* host = context.services;
      api->addService("ResidentService", [crm, log, host](const ApiCaller& caller) {
        return std::make_shared<api::ResidentServiceProcessor>(
            std::make_shared<ResidentHandler>(*crm, *log, *host, caller));
      });
      auto* publisher = publisher_.get();
      const std::int64_t offset = offsetMinutes_;
      api->addService("CrmService", [crm, log, host, clientTimes, publisher, offset](const ApiCaller& caller) {
        return std::make_shared<api::CrmServiceProcessor>(
            std::make_shared<CrmHandler>(*crm, *log, *host, clientTimes, caller, publisher, offset));
      });
      // Always offered: an instance without keys refuses with NO_KEY, so a
      // window system pointed at the wrong instance is told so.
      if (!tokenKeys.empty()) tokens_ = std::make_unique<TokenOpener>(context.services->state(), std::move(tokenKeys));
      TokenOpener* tokens = tokens_.get();
      const RegisterJudge* judge = judge_.get();
      api->addService("TokenService", [tokens, judge, crm, log, host](const ApiCaller& caller) {
        return std::make_shared<api::TokenServiceProcessor>(
            std::make_shared<TokenHandler>(tokens, judge, *crm, *log, *host, caller));
      });
    }
  }

  void start() override {
    if (!once_) {
      // Held events are reported when their time is up, not only when the
      // next batch of the floor comes.
      Worker::Options o;
      o.interval = std::chrono::milliseconds(std::clamp<std::int64_t>(ticketHoldMs_ / 4, 1000, 60000));
      holdWatch_.start("crm: held ticket events", o, [this] { reportExpired(crm_->expireHeld(nowMs())); }, *log_);
    }
    if (!once_ && !statusRecord_.empty()) {
      Worker::Options o;
      o.interval = std::chrono::milliseconds(statusIntervalMs_);
      statusWatch_.start("crm: floor status", o, [this] { emitStatus(); }, *log_);
    }
    if (!publisher_) return;
    publisher_->start();
    log_->information("crm: live floor events on %s (CURVE; the subscribers' keys listed in events-clients)",
                      publisher_->endpoint());
  }
  void stop() override {
    holdWatch_.stop();
    statusWatch_.stop();
    if (publisher_) publisher_->stop();
  }

  /// Records of a delivered batch the module could not use: logged and
  /// listed by renkei status until acknowledged (the batch stays in the
  /// store, so a replay after the fix sends them again).
  void refuseInBatch(const Batch& batch, std::size_t count, const std::string& why) {
    log_->warning("batch %s: %z %s", batch.id, count, why);
    if (services_) services_->recordRefusal("batch " + batch.id, std::to_string(count) + " " + why);
  }

  void reportExpired(const std::vector<std::pair<std::string, std::string>>& expired) {
    for (const auto& [key, event] : expired) {
      const std::string why = "the '" + event + "' event waited longer than ticket-hold for its ticket's issue";
      log_->warning("%s: %s", printable(key), why);
      if (services_) services_->recordRefusal("ticket " + key, why);
    }
  }

  std::vector<EmittedType> emits() const override {
    if (statusRecord_.empty()) return {};
    return {{statusRecord_, EmittedType::Routes::AtLeastOne, "each line's waiting status (status-record)"}};
  }

  Outcome accept(const Batch& batch) override {
    try {
      // Move events drive each cached resident's status; any other record
      // type is the resident's record itself.
      if (batch.recordType == "resident.event") {
        const std::size_t skipped = crm_->applyEvents(batch.records, batch.id, nowMs());
        if (skipped) log_->warning("batch %s: %z move events without a resident code or event were skipped", batch.id, skipped);
        if (judge_ && judge_->rules) {
          const RegisterJudge* judge = judge_.get();
          std::size_t undated = 0;
          const std::size_t listed = crm_->judgeEvents(
              batch.records, relatedEvents_, [judge](const JudgedEvent& e) { return judge->related(e); }, nowMs(), undated);
          if (listed) log_->information("batch %s: %z related procedures listed from the core systems' facts", batch.id, listed);
          if (undated)
            log_->warning("batch %s: %z register events without a move_date as YYYY-MM-DD were not judged for related "
                          "procedures (route resident.event through mappings/resident-events.xml)",
                          batch.id, undated);
        }
        return Outcome::ok();
      }
      // 戸籍 events (the koseki connector): judged like the register's; the
      // resident's status stays the resident feed's.
      if (batch.recordType == "koseki.event") {
        if (judge_ && judge_->rules) {
          const RegisterJudge* judge = judge_.get();
          std::size_t undated = 0;
          const std::size_t listed = crm_->judgeEvents(
              batch.records, relatedEvents_, [judge](const JudgedEvent& e) { return judge->related(e); }, nowMs(), undated);
          if (listed) log_->information("batch %s: %z related procedures listed from 戸籍 events", batch.id, listed);
          if (undated)
            log_->warning("batch %s: %z 戸籍 events without an event_date as YYYY-MM-DD were not judged", batch.id, undated);
        }
        return Outcome::ok();
      }
      if (batch.recordType == ticketRecord_) {
        const TicketTotals t = crm_->applyTicketEvents(batch.records, nowMs());
        if (t.invalid)
          refuseInBatch(batch, t.invalid,
                        "ticket events without site, business_date, line, ticket, a known event or a machine time were "
                        "not taken (route them through a ticket mapping; the batch is kept: replay it after the fix)");
        if (t.held) log_->information("batch %s: %z ticket events wait for their ticket's issue", batch.id, t.held);
        publishFloor(t.events);
        reportExpired(t.expired);
        return Outcome::ok();
      }
      if (batch.recordType == draftRecord_) {
        const std::size_t skipped = crm_->takeDrafts(batch.records, nowMs());
        if (skipped)
          refuseInBatch(batch, skipped, "drafts without a draft_id or procedure were not kept (the batch is kept: "
                                        "replay it after the fix)");
        return Outcome::ok();
      }
      if (batch.recordType.rfind("welfare.", 0) == 0) {
        const std::size_t skipped = crm_->upsertFacts(batch.records, nowMs());
        if (skipped) log_->warning("batch %s: %z facts without a resident code were skipped", batch.id, skipped);
        return Outcome::ok();
      }
      const std::size_t skipped = crm_->upsertResidents(batch.records, batch.id, nowMs());
      if (skipped)
        log_->warning("batch %s: %z records without a resident key were not cached", batch.id, skipped);
      return Outcome::ok();
    } catch (const StateError& e) {
      return Outcome::retry(std::string("store: ") + e.what());
    }
  }

 private:
  Poco::Logger* log_ = nullptr;
  bool clientTimes_ = false;
  std::string draftRecord_ = "crm.draft";
  std::string ticketRecord_ = "ticket.event";
  std::int64_t offsetMinutes_ = 9 * 60;
  std::int64_t ticketHoldMs_ = 600000;
  bool once_ = false;
  Worker holdWatch_;
  Worker statusWatch_;
  std::string statusRecord_;
  std::int64_t statusIntervalMs_ = 15000;
  /// The status watch's own: each line's last emitted status and when.
  std::map<std::string, std::pair<std::string, std::int64_t>> lastStatus_;
  std::shared_ptr<FieldNames> statusNames_ = std::make_shared<FieldNames>(FieldNames{
      "site", "date", "line", "waiting", "current", "expected_wait_s", "call_interval_s", "waiting_tickets", "updated"});

  /// Each line that changed since the last emission (or was quiet 20
  /// intervals) as one record of statusRecord_, all in one emission: the
  /// internet zone's page gets the floor at a bounded rate. A failed emit
  /// (the store busy) is tried again at the next interval.
  void emitStatus() {
    const std::int64_t now = nowMs();
    const std::string today = localTimeAt(now, offsetMinutes_).substr(0, 10);
    RecordSet set;
    set.recordType = statusRecord_;
    std::vector<std::pair<std::string, std::string>> sent;
    const std::vector<LineStatus> lines = crm_->floorStatus(now - 36 * 3'600'000LL);
    // Lines gone from the window (older days) are forgotten: the memory is
    // bounded by the lines of a day and a half.
    std::set<std::string> current;
    for (const LineStatus& st : lines) current.insert(st.site + "|" + st.date + "|" + st.line);
    for (auto it = lastStatus_.begin(); it != lastStatus_.end();)
      it = current.count(it->first) ? std::next(it) : lastStatus_.erase(it);
    for (const LineStatus& st : lines) {
      std::string tickets;
      for (const std::string& t : st.waitingTickets) tickets += (tickets.empty() ? "" : ";") + t;  // ";": a scan never joins numbers across it
      const std::string key = st.site + "|" + st.date + "|" + st.line;
      const std::string shape = std::to_string(st.waiting) + "|" + st.current + "|" +
                                std::to_string(st.expectedWaitSeconds) + "|" + std::to_string(st.callIntervalSeconds) +
                                "|" + tickets;
      const auto last = lastStatus_.find(key);
      if (last != lastStatus_.end() && last->second.first == shape &&
          (st.date != today || now - last->second.second < 20 * statusIntervalMs_))
        continue;
      Record r(statusNames_);
      r.set(0, st.site);
      r.set(1, st.date);
      r.set(2, st.line);
      r.set(3, std::to_string(st.waiting));
      r.set(4, st.current);
      r.set(5, std::to_string(st.expectedWaitSeconds));
      r.set(6, std::to_string(st.callIntervalSeconds));
      r.set(7, tickets);
      r.set(8, localTimeAt(now, offsetMinutes_));
      set.records.push_back(std::move(r));
      sent.emplace_back(key, shape);
    }
    if (set.records.empty()) return;
    Emission emission;
    emission.key = "floor-status|" + std::to_string(now);
    emission.sets.push_back(std::move(set));
    const Outcome o = services_->emit(emission);
    if (!o.isOk()) {
      log_->warning("crm: the floor's status was not emitted (tried again in %s s): %s",
                    std::to_string(statusIntervalMs_ / 1000), o.message());
      return;
    }
    for (auto& [key, shape] : sent) lastStatus_[key] = {std::move(shape), now};
  }
  std::unique_ptr<renkei::connectors::channel::ZmqPublisher> publisher_;

  /// After the commit: each event applied, then each line it touched with
  /// its queue now. Never blocks: a subscriber gone or slow misses events
  /// (it sees the gap in the sequence) and reads the state through the API.
  void publishFloor(const std::vector<TicketEvent>& events) {
    if (!publisher_ || events.empty()) return;
    std::set<std::tuple<std::string, std::string, std::string>> lines;
    for (const TicketEvent& e : events) {
      publisher_->publish("ticket." + e.event,
                          jsonObject({{"site", e.site}, {"date", e.date}, {"line", e.line}, {"ticket", e.ticket},
                                      {"event", e.event}, {"counter", e.counter}, {"to_line", e.toLine},
                                      {"at", localTimeAt(e.at, offsetMinutes_)}}));
      lines.emplace(e.site, e.date, e.line);
      if (!e.toLine.empty()) lines.emplace(e.site, e.date, e.toLine);
    }
    for (const auto& [site, date, line] : lines) {
      const LineStatus st = crm_->lineStatus(site, date, line);
      std::string json = jsonObject({{"site", st.site}, {"date", st.date}, {"line", st.line}, {"current", st.current}});
      json.pop_back();  // the counts as numbers
      json += ",\"waiting\":" + std::to_string(st.waiting) +
              ",\"expected_wait_s\":" + std::to_string(st.expectedWaitSeconds) + "}";
      publisher_->publish("line.status", json);
    }
  }
  HostServices* services_ = nullptr;
  std::map<std::string, std::string> relatedEvents_;
  std::unique_ptr<Crm> crm_;
  std::unique_ptr<TokenOpener> tokens_;
  std::unique_ptr<RegisterJudge> judge_;  ///< with guidance files: what the register adds to an opened token
};

}  // namespace renkei::plugins::crm

RENKEI_PLUGIN(Module, renkei::plugins::crm::CrmModule, "crm", "0.1.0", "experimental",
              "Visits (来庁単位): resident cache, procedures and progress, reports, sealed visit tokens opened; " "ResidentService, CrmService, TokenService",
              RENKEI_ROLE_EMITTER, renkei::plugins::crm::kKeys, sizeof(renkei::plugins::crm::kKeys) / sizeof(renkei::plugins::crm::kKeys[0]))
