// The review module (電子審査 with 申請管理): applications routed in (from the
// bridge, from dropped packages read through a layout) or submitted over
// ReviewService; resident records routed in for 4 情報 matching and
// reconciliation; acknowledgements from the core system. What it sends —
// the write-back (writeback.<procedure>), notices to residents
// (review.notice) and staff mail (review.mail) — goes out through the
// engine seam, so routes decide where, and exactly one route may take a
// procedure's write-back (renkei check).
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <memory>
#include <thread>

#include <Poco/Logger.h>

#include "api/ReviewService.h"
#include "renkei/support/calendar_file.h"
#include "renkei/support/chart.h"
#include "renkei/admin.h"
#include "renkei/sdk.h"
#include "renkei/support/worker.h"
#include "review.h"
#include "renkei/json.h"
#include "renkei/local_time.h"
#include "renkei/text.h"
#include "zmq_channel.h"

namespace renkei::plugins::review {
namespace rv = renkei::plugins::review;
namespace {

const renkei_config_key kKeys[] = {
    {"procedures", "path", nullptr, 1,
     "The procedures file (urn:renkei:procedures:1): fields with PII classes, formal rules, attachments, processing "
     "period and write-back of each procedure (plugins/review/README.md)."},
    {"calendar", "path", nullptr, 0,
     "The municipal calendar file: processing periods, 補正 deadlines and reminders count its open days.",
     "the config's <calendar file=\"…\"/> serves every plugin of the instance; remove this key"},
    {"variants", "path", nullptr, 0,
     "Old and new character forms for 4 情報 matching (old<TAB>new per line; config/review/kanji-variants.tsv)."},
    {"municipality", "string", "", 0, "This municipality's name or code: the 申請元 of applications that name none."},
    {"utc-offset", "string", nullptr, 0, "Local time (days, hours, 到達番号, deadlines) as an offset from UTC.",
     "days, hours and deadlines follow the config's time-zone (<renkei time-zone=\"…\">); remove this key"},
    {"application-record", "string", "application", 0, "Record type of routed applications."},
    {"resident-record", "string", "crm.resident", 0,
     "Record type of routed resident records (the register's export): the 4 情報 cache and reconciliation."},
    {"ack-record", "string", "writeback.ack", 0,
     "Record type of routed acknowledgements from the core system (application_id, result): 反映済."},
    {"certificate-record", "string", "certificate.map", 0,
     "Record type of the resident system's certificate mapping (serial-field → resident-key), routed here: an "
     "application signed with a JPKI certificate is matched by its serial instead of by 4 情報."},
    {"serial-field", "string", "serial", 0, "Field of the certificate mapping holding the certificate's serial."},
    {"certificate-field", "string", "certificate_serial", 0,
     "Field of an application record holding the serial of the certificate it was signed with, if any."},
    {"external-id-field", "string", "application_id", 0,
     "Field of an application record holding the sender's id (the same id twice is one application)."},
    {"procedure-field", "string", "procedure", 0, "Field of an application record naming the procedure."},
    {"municipality-field", "string", "municipality", 0, "Field naming the source municipality (申請元), if any."},
    {"attachments-field", "string", "attachments", 0,
     "Field listing the application's attachments as name:sha256 separated by ';' (the manifest)."},
    {"attachments-dir", "path", nullptr, 0,
     "Where package attachments are: <dir>/<application id>/<name>; each is hashed and compared with the manifest."},
    {"resident-key", "string", "resident_code", 0, "Field of resident records holding the 住民票コード."},
    {"name-field", "string", "name", 0, "Field of resident records holding 氏名."},
    {"birth-field", "string", "birth_date", 0, "Field holding 生年月日 (YYYY-MM-DD)."},
    {"sex-field", "string", "sex", 0, "Field holding 性別."},
    {"address-field", "string", "address", 0, "Field holding 住所."},
    {"status-field", "string", "resident_status", 0, "Field holding the resident's status in the register."},
    {"current-status", "string", "1", 0, "Value of status-field for a resident registered here now."},
    {"event-field", "string", "move_reason", 0,
     "Field holding the last 異動 (転入, 転居 …): an application whose procedure's reflect-event it names is 反映済."},
    {"reminder-time", "string", "08:30", 0, "Local time after which each open day's overdue mail is sent (HH:MM)."},
    {"ocr-characters", "path", nullptr, 0,
     "The characters the window's OCR model can produce: Tesseract's unicharset (`combine_tessdata -u "
     "/usr/share/tesseract-ocr/5/tessdata/jpn.traineddata jpn.` writes jpn.lstm-unicharset) or any UTF-8 file listing "
     "them. A scanned draft matched to a resident whose registered 氏名 or 住所 has another is marked ocr.lossy."},
    {"corrections", "bool", "false", 0,
     "Emit review.corrected for each 訂正 (amend) of a draft read at the window: the application id, procedure, "
     "source and the names of the items staff changed (no values). Route it to the ocr connector for its report."},
    {"events-endpoint", "string", nullptr, 0,
     "Where application state changes are published over ZeroMQ (PUB, CURVE), e.g. tcp://0.0.0.0:7421, for a "
     "dashboard or the CRM's display: application.state with the 到達番号, procedure, states and action; no "
     "personal value. docs/live-events.md has the format."},
    {"events-key", "path", nullptr, 0, "This publisher's CURVE secret key (Z85), with events-endpoint."},
    {"events-clients", "list", nullptr, 0,
     "CURVE public key files of the subscribers allowed; any other key gets nothing."},
};

int parseClock(const std::string& text) {
  if (text.size() == 5 && text[2] == ':' && std::isdigit(text[0]) && std::isdigit(text[1]) && std::isdigit(text[3]) &&
      std::isdigit(text[4])) {
    const int h = std::stoi(text.substr(0, 2)), m = std::stoi(text.substr(3, 2));
    if (h < 24 && m < 60) return h * 60 + m;
  }
  throw ConfigError("reminder-time: '" + text + "' is not a time like 08:30");
}

api::ApiError toApi(const rv::ReviewError& e) {
  api::ApiError out;
  out.code = e.code == rv::ReviewError::BadRequest ? api::ErrorCode::BAD_REQUEST
             : e.code == rv::ReviewError::NotFound ? api::ErrorCode::NOT_FOUND
             : e.code == rv::ReviewError::Conflict ? api::ErrorCode::CONFLICT
                                                   : api::ErrorCode::UNAVAILABLE;
  out.message = e.message;
  return out;
}

template <typename F>
void serve(Poco::Logger& log, const char* call, F&& f) {
  try {
    f();
  } catch (const rv::ReviewError& e) {
    throw toApi(e);
  } catch (const api::ApiError&) {
    throw;
  } catch (const StateError& e) {
    log.error("%s: store: %s", std::string(call), std::string(e.what()));
    throw toApi({rv::ReviewError::Unavailable, "the store cannot answer now"});
  } catch (const std::exception& e) {
    log.error("%s: %s", std::string(call), std::string(e.what()));
    api::ApiError out;
    out.code = api::ErrorCode::INTERNAL;
    out.message = "internal error (see the host's log)";
    throw out;
  }
}

api::Application toApi(const rv::Application& a) {
  api::Application out;
  out.arrivalNo = a.arrivalNo;
  out.inquiryNo = a.inquiryNo;
  out.procedure = a.procedure;
  out.source = a.source;
  out.municipality = a.municipality;
  out.receivedAt = a.receivedAt;
  out.state = a.state;
  out.stateLabel = rv::stateLabel(a.state);
  out.version = a.version;
  out.assigned = a.assigned;
  for (const auto& [k, v] : a.fields) out.fields[k] = v;
  for (const auto& x : a.attachments) {
    api::Attachment at;
    at.name = x.name;
    at.sha256 = x.sha256;
    out.attachments.push_back(std::move(at));
  }
  for (const auto& f : a.findings) {
    api::Finding x;
    x.rule = f.rule;
    x.field = f.field;
    x.ok = f.ok;
    x.message = f.message;
    out.findings.push_back(std::move(x));
  }
  out.residentCode = a.residentCode;
  out.due = a.due;
  out.pausedDays = a.pausedDays;
  out.correctionDeadline = a.correctionDeadline;
  out.correctionComment = a.correctionComment;
  out.holdReason = a.holdReason;
  out.certificateSerial = a.certificateSerial;
  for (const auto& h : a.history) {
    api::HistoryEntry x;
    x.at = h.at;
    x.fromState = h.from;
    x.toState = h.to;
    x.action = h.action;
    x.who = h.who;
    x.why = h.why;
    out.history.push_back(std::move(x));
  }
  return out;
}

std::vector<rv::AttachmentIn> parseManifest(const std::string& text) {
  std::vector<rv::AttachmentIn> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find(';', start), text.size());
    const std::string item = text.substr(start, end - start);
    if (!item.empty()) {
      if (out.size() == rv::kMaxAttachments)
        throw rv::ReviewError{rv::ReviewError::BadRequest, "the attachment list names more than " +
                                                               std::to_string(rv::kMaxAttachments) + " attachments"};
      const std::size_t colon = item.rfind(':');
      if (colon == std::string::npos)
        throw rv::ReviewError{rv::ReviewError::BadRequest, "the attachment list is not name:sha256;…"};
      out.push_back({item.substr(0, colon), item.substr(colon + 1)});
    }
    start = end + 1;
  }
  return out;
}

class ReviewHandler final : public api::ReviewServiceIf {
 public:
  ReviewHandler(rv::Review& review, Poco::Logger& log, HostServices& host, ApiCaller caller)
      : review_(review), log_(log), host_(host), caller_(std::move(caller)) {}

  void submit(api::Application& out, const api::NewApplication& in) override {
    serve(log_, "submit", [&] {
      rv::IntakeInput x;
      x.externalId = in.applicationId;
      // Ids are the caller's own: kept under its certificate's name.
      x.origin = "window:" + caller_.client;
      x.procedure = in.procedure;
      x.source = "window";
      x.municipality = in.municipality;
      for (const auto& [k, v] : in.fields) x.fields.emplace_back(k, v);
      for (const auto& a : in.attachments) x.attachments.push_back({a.name, a.sha256});
      x.staff = actor(in.staff);
      x.certificateSerial = in.certificateSerial;
      out = toApi(review_.intake(x, host_.nowMs()));
      audit("ReviewService.submit", out.arrivalNo, "state=" + out.state);
    });
  }
  void getApplication(api::Application& out, const std::string& arrivalNo) override {
    serve(log_, "getApplication", [&] {
      out = toApi(review_.get(arrivalNo));
      // The register's 4 情報 beside what the application says (proposed,
      // never put in its place).
      out.__set_registered(review_.registerItems(out.residentCode));
      std::vector<std::string> shown;
      for (const auto& [k, v] : out.fields) shown.push_back(k);
      for (const auto& [k, v] : out.registered) shown.push_back("register." + k);
      audit("ReviewService.getApplication", arrivalNo, "found=1", std::move(shown));
    });
  }
  void listApplications(std::vector<api::Summary>& out, const std::string& state, const std::string& procedure,
                        const std::string& assigned, const int32_t limit) override {
    serve(log_, "listApplications", [&] {
      for (const auto& s : review_.list(state, procedure, assigned, host_.nowMs(),
                                        limit <= 0 ? 500 : static_cast<std::size_t>(limit))) {
        api::Summary x;
        x.arrivalNo = s.arrivalNo;
        x.procedure = s.procedure;
        x.state = s.state;
        x.assigned = s.assigned;
        x.due = s.due;
        x.correctionDeadline = s.correctionDeadline;
        x.receivedAt = s.receivedAt;
        x.overdue = s.overdue;
        x.source = s.source;
        out.push_back(std::move(x));
      }
    });
  }
  void act(api::Application& out, const std::string& arrivalNo, const api::ActionRequest& r) override {
    serve(log_, "act", [&] {
      const auto action = rv::parseAction(r.action);
      if (!action)
        throw rv::ReviewError{rv::ReviewError::BadRequest,
                              "unknown action '" + r.action.substr(0, 40) +
                                  "' (start, request-correction, resubmit, return, approve, reject, withdraw, assign, "
                                  "write-back, amend)"};
      rv::ActionInput in;
      in.action = *action;
      // Until operators are users of their own, who acts is the client
      // certificate's name; a name the client sends is kept beside it,
      // marked as claimed (a client once recorded any name it liked).
      in.who = actor(r.who);
      in.why = r.why;
      in.assignee = r.assignee;
      in.deadline = r.deadline;
      in.expectedVersion = r.expectedVersion;
      for (const auto& [k, v] : r.fields) in.fields.emplace_back(k, v);
      try {
        out = toApi(review_.act(arrivalNo, in, host_.nowMs()));
      } catch (const rv::ReviewError& e) {
        audit("ReviewService.act", arrivalNo, std::string("action=") + rv::actionName(*action) + " refused", {},
              in.who);
        throw;
      }
      audit("ReviewService.act", arrivalNo, std::string("action=") + rv::actionName(*action) + " state=" + out.state,
            {}, in.who);
    });
  }
  void overdue(std::vector<api::Overdue>& out) override {
    serve(log_, "overdue", [&] {
      for (const auto& o : review_.overdue(host_.nowMs())) {
        api::Overdue x;
        x.arrivalNo = o.arrivalNo;
        x.procedure = o.procedure;
        x.department = o.department;
        x.what = o.what;
        x.since = o.since;
        out.push_back(std::move(x));
      }
    });
  }
  void report(std::vector<api::ReportRow>& out, const std::string& by, const std::string& from,
              const std::string& to) override {
    serve(log_, "report", [&] {
      for (const auto& r : review_.report(by, from, to)) {
        api::ReportRow x;
        x.key = r.key;
        x.count = r.count;
        x.averageReceptionMinutes = r.averageReceptionMinutes;
        out.push_back(std::move(x));
      }
    });
  }
  void reportCsv(std::string& out, const std::string& by, const std::string& from, const std::string& to) override {
    serve(log_, "reportCsv", [&] { out = rv::Review::reportCsv(by, review_.report(by, from, to)); });
  }

 private:
  /// The authenticated name, with what the client claims beside it.
  std::string actor(const std::string& claimed) const {
    if (claimed.empty() || claimed == caller_.client) return caller_.client;
    return caller_.client + " (claimed: " + printable(claimed.substr(0, 48)) + ")";
  }

  void audit(const std::string& action, const std::string& arrivalNo, const std::string& result,
             std::vector<std::string> fields = {}, const std::string& who = {}) {
    AuditEntry e;
    e.who = who.empty() ? caller_.client : who;
    e.address = caller_.address;
    e.action = action;
    e.recordType = "application";
    // 到達番号 is not personal: shown whole in the result, not masked as a key.
    e.result = "arrival_no=" + arrivalNo.substr(0, 32) + " " + result;
    e.fields = std::move(fields);
    host_.audit(e);
  }

  rv::Review& review_;
  Poco::Logger& log_;
  HostServices& host_;
  ApiCaller caller_;
};

}  // namespace

class ReviewModule final : public Module {
 public:
  std::vector<EmittedType> emits() const override { return emits_; }

  void configure(const Settings& settings, const HostContext& context) override {
    log_ = context.logger;
    host_ = context.services;
    Diagnostics diags;
    auto procedures = rv::loadProcedures(settings.getPath("procedures"), diags);
    auto cal = pluginCalendar(settings, "calendar", *context.services, diags);
    rv::ReviewOptions options;
    if (settings.has("variants")) {
      std::ifstream in(settings.getPath("variants"), std::ios::binary);
      if (!in) throw ConfigError("variants: cannot read " + settings.getPath("variants").string());
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      for (const std::string& problem : rv::loadVariants(text, options.variants))
        diags.add(settings.getPath("variants").string(), 0, problem);
    }
    if (!diags.empty() || !procedures || !cal) throw ConfigError("its files have problems:\n" + diags.format());
    emits_.clear();
    for (const auto& p : procedures->list) {
      if (!p.writeBack.codec) throw ConfigError("procedure '" + p.id + "': no codec for its write-back");
      // One final write-back path per procedure: zero routes is as wrong as two.
      emits_.push_back({p.recordType(), EmittedType::Routes::ExactlyOne,
                        "the write-back of procedure '" + p.id + "' (" + p.name + ")"});
    }
    emits_.push_back({"review.notice", EmittedType::Routes::AtLeastOne, "notices to residents"});
    emits_.push_back({"review.mail", EmittedType::Routes::AtLeastOne, "staff mail"});
    options.corrections = settings.getBool("corrections");
    if (settings.has("ocr-characters")) {
      std::ifstream in(settings.getPath("ocr-characters"), std::ios::binary);
      if (!in) throw ConfigError("ocr-characters: cannot read " + settings.getPath("ocr-characters").string());
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (const std::size_t bad = firstInvalidUtf8(text); bad != std::string::npos)
        throw ConfigError("ocr-characters: " + settings.getPath("ocr-characters").string() + ": not UTF-8 at byte " +
                          std::to_string(bad));
      for (char32_t c : utf8CodePoints(text))
        if (c >= 0x80) options.ocrCharacters.insert(c);
      if (options.ocrCharacters.empty())
        throw ConfigError("ocr-characters: " + settings.getPath("ocr-characters").string() + " lists no character");
    }
    if (options.corrections)
      emits_.push_back({"review.corrected", EmittedType::Routes::AtLeastOne, "the items staff corrected in drafts"});
    options.municipality = settings.getString("municipality");
    options.offsetMinutes = localOffsetMinutes(settings, "utc-offset", *context.services, context.services->nowMs());
    options.residentKey = settings.getString("resident-key");
    options.nameField = settings.getString("name-field");
    options.birthField = settings.getString("birth-field");
    options.sexField = settings.getString("sex-field");
    options.addressField = settings.getString("address-field");
    options.statusField = settings.getString("status-field");
    options.currentStatus = settings.getString("current-status");
    options.eventField = settings.getString("event-field");
    options.serialField = settings.getString("serial-field");
    certificateRecord_ = settings.getString("certificate-record");
    certificateField_ = settings.getString("certificate-field");
    if (settings.has("attachments-dir")) options.attachmentsDir = settings.getPath("attachments-dir");
    applicationRecord_ = settings.getString("application-record");
    residentRecord_ = settings.getString("resident-record");
    ackRecord_ = settings.getString("ack-record");
    externalIdField_ = settings.getString("external-id-field");
    procedureField_ = settings.getString("procedure-field");
    municipalityField_ = settings.getString("municipality-field");
    attachmentsField_ = settings.getString("attachments-field");
    reminderMinute_ = parseClock(settings.getString("reminder-time"));
    offsetMinutes_ = options.offsetMinutes;
    once_ = context.once;
    if (context.zone != "lgwan")
      throw ConfigError("the review module runs in the LGWAN zone (applications are personal); this instance is in the " +
                        context.zone + " zone");
    if (!context.services) throw ConfigError("the review module needs the host's store");
    if (context.validating) return;
    HostServices* host = context.services;
    review_ = std::make_unique<rv::Review>(context.services->state(), procedures, *cal, options,
                                           [host](const Emission& e) { return host->emit(e); });
    review_->migrate();
    if (settings.has("events-endpoint") && !context.once) {
      if (!settings.has("events-key") || !settings.has("events-clients"))
        throw ConfigError("events-endpoint needs events-key and events-clients (who may subscribe)");
      try {
        publisher_ = renkei::connectors::channel::eventsPublisher(
            settings.getString("events-endpoint"), settings.getPath("events-key").string(),
            settings.getList("events-clients"), context.configDir.string(), log_, "review " + context.id + " events");
      } catch (const std::exception& e) {
        throw ConfigError(std::string("events-key, events-clients: ") + e.what());
      }
      auto* publisher = publisher_.get();
      const std::int64_t offset = offsetMinutes_;
      review_->onStateChange([publisher, offset](const rv::StateChange& c) {
        std::string json = "{";
        for (const auto& [k, v] : {std::pair<const char*, std::string>{"arrival_no", c.arrivalNo},
                                   {"procedure", c.procedure}, {"from", c.from}, {"to", c.to},
                                   {"action", c.action}, {"at", localTimeAt(c.at, offset)}}) {
          if (json.size() > 1) json += ',';
          appendJsonString(json, k);
          json += ':';
          appendJsonString(json, v);
        }
        publisher->publish("application.state", json + "}");
      });
    }
    if (AdminRegistry* admin = context.services->admin()) {
      // The same report as ReviewService.report, as CSV for the console
      // (counts and averages per key; no application's values).
      rv::Review* review = review_.get();
      admin->addHandler("report",
                        "applications taken in per day, month, hour, form, department or municipality, with the "
                        "average time to reception (?by=day|month|hour|form|department|municipality"
                        "&from=YYYY-MM-DD&to=YYYY-MM-DD&format=csv|svg; CSV)",
                        "review", [review](const AdminRequest& request) {
                          AdminResponse r;
                          auto get = [&](const char* k, const char* fallback) {
                            auto it = request.query.find(k);
                            return it == request.query.end() ? std::string(fallback) : it->second;
                          };
                          const std::string format = get("format", "csv");
                          if (format != "csv" && format != "svg") {
                            r.status = 400;
                            r.contentType = "text/plain; charset=utf-8";
                            r.body = "format: csv or svg\n";
                            return r;
                          }
                          try {
                            const std::string by = get("by", "day");
                            const auto rows = review->report(by, get("from", ""), get("to", ""));
                            if (format == "svg") {
                              std::vector<chart::Row> bars;
                              for (const rv::ReportRow& row : rows)
                                if (bars.size() < 200) bars.push_back({row.key, {row.count}});
                              r.body = chart::bars("Applications taken in per " + by,
                                                   "Applications taken in per " + by + " between the dates asked",
                                                   {"applications"}, bars);
                              r.contentType = "image/svg+xml; charset=utf-8";
                              return r;
                            }
                            r.body = rv::Review::reportCsv(by, rows);
                            r.contentType = "text/csv; charset=utf-8";
                          } catch (const rv::ReviewError& e) {
                            r.status = 400;
                            r.contentType = "text/plain; charset=utf-8";
                            r.body = e.message + "\n";
                          }
                          return r;
                        });
    }
    if (ApiRegistry* api = context.services->api()) {
      rv::Review* review = review_.get();
      Poco::Logger* log = log_;
      api->addService("ReviewService", [review, log, host](const ApiCaller& caller) {
        return std::make_shared<api::ReviewServiceProcessor>(std::make_shared<ReviewHandler>(*review, *log, *host, caller));
      });
    }
  }

  void start() override {
    if (once_ || !review_) return;
    if (publisher_) {
      publisher_->start();
      log_->information("review: application state events on %s (CURVE)", publisher_->endpoint());
    }
    Worker::Options everyMinute;
    everyMinute.interval = std::chrono::seconds(60);
    everyMinute.maxBackoff = std::chrono::seconds(60);  // a failed pass: tried again in a minute
    reminders_.start("overdue reminders", everyMinute, [this] { remindPass(); }, *log_);
  }

  void stop() override {
    reminders_.stop();
    if (publisher_) publisher_->stop();
  }

  Outcome accept(const Batch& batch) override {
    try {
      const std::int64_t now = host_->nowMs();
      if (batch.recordType == residentRecord_) {
        const std::size_t n = review_->takeResidents(batch.records, now);
        if (n) log_->information("batch %s: %z applications reconciled (反映済)", batch.id, n);
        return Outcome::ok();
      }
      if (batch.recordType == "koseki.person") {
        const std::size_t n = review_->takeLossy(batch.records);
        log_->information("batch %s: %z family-registry persons taken (lossy names)", batch.id, n);
        return Outcome::ok();
      }
      if (batch.recordType == certificateRecord_) {
        const std::size_t n = review_->takeCertificates(batch.records);
        log_->information("batch %s: %z certificate serials taken", batch.id, n);
        return Outcome::ok();
      }
      if (batch.recordType == ackRecord_) {
        const std::size_t n = review_->acknowledge(batch.records, now);
        log_->information("batch %s: %z applications acknowledged (反映済)", batch.id, n);
        return Outcome::ok();
      }
      if (batch.recordType != applicationRecord_)
        return Outcome::error("the review module takes records of type " + applicationRecord_ + ", " +
                              residentRecord_ + ", " + certificateRecord_ + " or " + ackRecord_ + ", not " +
                              batch.recordType);
      std::string refused;
      std::size_t refusedCount = 0;
      for (std::size_t i = 0; i < batch.records.size(); ++i) {
        const Record& r = batch.records[i];
        rv::IntakeInput in;
        in.source = "bridge";
        // Who sent it is the route the host delivered it on; ids are kept
        // per route, so no routed record can reach a window system's.
        in.origin = "route:" + batch.route;
        const std::string* manifest = nullptr;
        for (std::size_t f = 0; f < r.size(); ++f) {
          const std::string& name = r.name(f);
          if (name == externalIdField_) in.externalId = r.value(f);
          else if (name == procedureField_) in.procedure = r.value(f);
          else if (name == municipalityField_) in.municipality = r.value(f);
          else if (name == certificateField_) in.certificateSerial = r.value(f);
          else if (name == attachmentsField_) manifest = &r.value(f);
          else if (name == "source") {
            // A mapping says its applications are packages
            // (<field to="source" value="package"/>), drafts read from a
            // scan at the window ("ocr") or from a マイナンバーカード's chip
            // by the window PC ("ic"); bridge when it does not. Never
            // "window": that is a window system's call alone.
            if (r.value(f) == "package" || r.value(f) == "ocr" || r.value(f) == "ic") in.source = r.value(f);
          } else in.fields.emplace_back(name, r.value(f));
        }
        try {
          // A manifest that cannot be read refuses the application (a dead
          // letter saying so), rather than taking it without its attachments.
          if (manifest) in.attachments = parseManifest(*manifest);
          review_->intake(in, now);
          host_->metrics().counter("renkei_review_applications_total", "Applications taken in, per source",
                                   {{"source", in.source}}).add();
        } catch (const rv::ReviewError& e) {
          if (e.code == rv::ReviewError::Unavailable) return Outcome::retry(e.message);
          ++refusedCount;
          if (refused.empty()) refused = "record " + std::to_string(i + 1) + ": " + e.message;
          host_->metrics().counter("renkei_review_refused_total", "Routed applications refused (kept as dead letters)").add();
        }
      }
      // The good ones are in (and taking them again is a no-op); the batch
      // with the refused ones stays as a dead letter to fix and replay.
      if (refusedCount)
        return Outcome::error(std::to_string(refusedCount) + " of " + std::to_string(batch.records.size()) +
                              " applications refused; first: " + refused);
      return Outcome::ok();
    } catch (const StateError& e) {
      return Outcome::retry(std::string("store: ") + e.what());
    } catch (const rv::ReviewError& e) {
      return e.code == rv::ReviewError::Unavailable ? Outcome::retry(e.message) : Outcome::error(e.message);
    }
  }

 private:
  /// Once an open morning is past reminder-time, the day's reminder mail
  /// (Review::remind sends each department's once a day).
  void remindPass() {
    const std::int64_t now = host_->nowMs();
    const std::int64_t local = now + offsetMinutes_ * 60'000;
    const int minute = static_cast<int>(((local % 86'400'000) + 86'400'000) % 86'400'000 / 60'000);
    if (minute < reminderMinute_) return;
    const std::size_t n = review_->remind(now);
    if (n) log_->information("overdue reminders: %z departments", n);
  }

  std::vector<EmittedType> emits_;
  Poco::Logger* log_ = nullptr;
  HostServices* host_ = nullptr;
  std::unique_ptr<rv::Review> review_;
  std::string applicationRecord_, residentRecord_, ackRecord_, certificateRecord_, certificateField_, externalIdField_, procedureField_, municipalityField_,
      attachmentsField_;
  int reminderMinute_ = 8 * 60 + 30;
  std::int64_t offsetMinutes_ = 9 * 60;
  bool once_ = false;
  Worker reminders_;
  std::unique_ptr<renkei::connectors::channel::ZmqPublisher> publisher_;
};

}  // namespace renkei::plugins::review

RENKEI_PLUGIN(Module, renkei::plugins::review::ReviewModule, "review", "0.1.0", "experimental",
              "Applications (電子審査 with 申請管理): intake, formal review, states, one write-back per procedure, notices; " "ReviewService",
              RENKEI_ROLE_EMITTER, renkei::plugins::review::kKeys, sizeof(renkei::plugins::review::kKeys) / sizeof(renkei::plugins::review::kKeys[0]))
