// The ai connector: the guard between a generative AI platform the city
// contracts and the city's data (AI ナビ for staff, AI コンシェルジュ for
// residents). It keeps the city's knowledge in a full-text index, follows
// its folder, and answers a question the guarded way (answerer.h): the PII
// guard on the question, the knowledge searched, a handoff when nothing
// covers it, the model asked with the passages only, its answer scanned.
// The config must say that the provider does not train on what is sent and
// where that is written, and the use case's risk level: `renkei check`
// refuses an ai connector without them.
//
// It offers its answering to the other plugins (renkei/assistant.h: the
// concierge's question box for residents) and, with `staff-api`, serves
// the staff's AI ナビ on the host's API (ai.thrift: NaviService). Every
// question is logged masked for `log-retention` and counted per day,
// channel, topic and outcome (`renkei ai stats`). Records routed to it
// become knowledge: each is a page the model may be given, so a route
// into it must deliver class none only (its sink is in the internet
// zone's rules, checked by `renkei check` and again on every batch).
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <sstream>

#include "answerer.h"
#include "api/NaviService.h"
#include "ask_log.h"
#include "chat_client.h"
#include "knowledge_index.h"
#include "renkei/api.h"
#include "renkei/json.h"
#include "renkei/local_time.h"
#include "renkei/sdk.h"
#include "renkei/support/calendar.h"
#include "renkei/support/pii_guard.h"
#include "renkei/support/worker.h"
#include "renkei/text.h"

namespace renkei::connectors::ai {
namespace {

const renkei_config_key kKeys[] = {
    {"endpoint", "string", nullptr, 1,
     "The model's OpenAI-compatible API, https://…/v1 (POST …/chat/completions): the platform the city contracts."},
    {"model", "string", nullptr, 1, "The model's name at the endpoint."},
    {"api-key", "secret", nullptr, 0, "The endpoint's key (file:… or env:…, never in the config); sent as a bearer token."},
    {"ca", "path", nullptr, 0, "Certificate authorities (PEM) for the endpoint's certificate; not set: the system's."},
    {"no-training", "bool", nullptr, 1,
     "true: the provider has committed in writing not to train on, keep or read what is sent. Required; false is "
     "refused."},
    {"attestation", "string", nullptr, 1,
     "Where that commitment is written (the contract and its clause, the provider's document and date)."},
    {"risk-level", "enum(low|medium|high)", nullptr, 1,
     "The use case's risk level under the city's AI guidelines; logged at start and shown by renkei ai ask."},
    {"knowledge", "path", nullptr, 1,
     "Folder of the city's knowledge: FAQ, manuals and procedure pages as Markdown, HTML or text, and the concierge's "
     "knowledge files (.xml). Answers come from it alone."},
    {"index", "path", "ai-index.db", 0, "The full-text index of the knowledge (SQLite, 0600), made and kept by the connector."},
    {"reindex-interval", "duration", "5m", 0, "How often the knowledge folder is looked at for pages added, changed or removed."},
    {"personal-data", "enum(mask|refuse)", "mask", 0,
     "A question holding personal data (個人番号, 住民票コード, 在留カード, phone, mail, address, date of birth): masked "
     "with placeholders before anything is sent, or refused."},
    {"min-coverage", "int", "40", 0,
     "Percent of a question's terms the best passage must hold (1-100); below, the question is handed off and the "
     "model is not called."},
    {"passages", "int", "3", 0, "Passages given to the model with a question (1-10)."},
    {"handoff", "string", "この質問には AI ではお答えできません。窓口または電話でおたずねください。", 0,
     "What is said when the knowledge has no answer (name the counter or the phone number)."},
    {"handoff-topics", "list", "", 0, "topic=text pairs separated by ';': the handoff for a topic (ごみ=環境課 …)."},
    {"timeout", "duration", "30s", 0, "The whole exchange with the endpoint, retries included (1s-10m)."},
    {"retries", "int", "2", 0, "Tries again after no answer, 429 or 5xx (0-5)."},
    {"max-concurrent", "int", "4", 0, "Calls to the endpoint at once (1-64); more wait within the time-out."},
    {"max-answer-bytes", "size", "1MiB", 0, "The endpoint's answer at most this long; a longer one is refused."},
    {"staff-api", "bool", "false", 0,
     "true: staff ask on the host's API (NaviService, Thrift over TLS with client certificates: the AI ナビ); one "
     "ai connector per config."},
    {"log-retention", "duration", "30d", 0,
     "How long questions and answers are kept (masked) in the store; 0s keeps no text, only the counts."},
    {"record-key", "string", "key", 0,
     "Records routed here: the field that names each one's page (a record with the same key replaces it)."},
    {"record-heading", "string", "title", 0, "Records routed here: the field cited as the page's heading."},
};

const renkei_operator_verb kVerbs[] = {
    {"ask", "--connector --question --topic", 1, "--config F [--connector ID] --question TEXT [--topic T]",
     "one question the guarded way: the answer, its sources or the handoff, what was masked (not logged or counted)"},
    {"stats", "--connector --from --to --format", 1,
     "--config F [--connector ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format text|csv]",
     "questions per channel and topic, answered, handed off, refused, the handoff rate (default: the last 30 days)"},
    {"log", "--connector --limit --format", 1, "--config F [--connector ID] [--limit N] [--format text|jsonl]",
     "the questions kept (masked, within log-retention), newest first: time, channel, topic, outcome, question, "
     "answer, sources (jsonl: one JSON object a line, for handing over)"},
};

/// YYYY-MM-DD of `ms` in the zone `offsetMinutes` east of UTC.
std::string dayOf(std::int64_t ms, std::int64_t offsetMinutes) {
  const std::int64_t local = ms + offsetMinutes * 60'000;
  return calendar::iso(calendar::fromDays(local >= 0 ? local / 86'400'000 : (local - 86'399'999) / 86'400'000));
}

/// "30 days", "12 hours", "90 s": a duration as the log says it.
std::string durationText(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + " days";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + " hours";
  return std::to_string(ms / 1000) + " s";
}

/// What a caller may ask: UTF-8, no control characters but line ends and
/// tabs, at most `max` characters. Returns why not, naming the field.
std::string badText(const std::string& text, const char* name, std::size_t max) {
  if (firstInvalidUtf8(text) != std::string_view::npos) return std::string(name) + ": not UTF-8";
  std::size_t characters = 0;
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F)
      return std::string(name) + ": holds a control character";
    characters += (c & 0xC0) != 0x80 ? 1 : 0;
  }
  if (characters > max) return std::string(name) + ": at most " + std::to_string(max) + " characters";
  return {};
}

}  // namespace

/// The staff's AI ナビ on the host's API: one handler per connection.
class NaviHandler final : public api::NaviServiceIf {
 public:
  NaviHandler(std::shared_ptr<Assistant> assistant, HostServices& host, Poco::Logger& log, ApiCaller caller)
      : assistant_(std::move(assistant)), host_(host), log_(log), caller_(std::move(caller)) {}

  void ask(api::NaviAnswer& out, const api::NaviQuestion& q) override {
    if (q.text.find_first_not_of(" \t\r\n") == std::string::npos) fail(api::ErrorCode::BAD_REQUEST, "text: empty");
    if (std::string why = badText(q.text, "text", 2000); !why.empty()) fail(api::ErrorCode::BAD_REQUEST, why);
    if (std::string why = badText(q.topic, "topic", 100); !why.empty()) fail(api::ErrorCode::BAD_REQUEST, why);
    AssistantQuestion question;
    question.text = q.text;
    question.topic = q.topic;
    question.channel = "staff";
    question.caller = caller_.client;
    AssistantAnswer a;
    try {
      a = assistant_->ask(question);
    } catch (const StateError& e) {
      log_.error("NaviService.ask: store: %s", std::string(e.what()));
      fail(api::ErrorCode::UNAVAILABLE, "the store cannot log the question now; try again later");
    } catch (const std::exception& e) {
      log_.error("NaviService.ask: %s", std::string(e.what()));
      fail(api::ErrorCode::INTERNAL, "internal error (see the host's log)");
    }
    out.outcome = a.kind == AssistantAnswer::Kind::Answer    ? api::NaviOutcome::ANSWER
                  : a.kind == AssistantAnswer::Kind::Refused ? api::NaviOutcome::REFUSED
                                                             : api::NaviOutcome::HANDOFF;
    out.text = a.text;
    for (const AssistantSource& src : a.sources) {
      api::NaviSource ns;
      ns.file = src.file;
      ns.heading = src.heading;
      out.sources.push_back(ns);
    }
    for (const auto& [kind, n] : a.masked) out.masked[kind] = n;
    out.id = a.id;
    AuditEntry e;
    e.who = caller_.client;
    e.address = caller_.address;
    e.action = "NaviService.ask";
    e.recordType = "ai-question";
    e.result = api::to_string(out.outcome);
    host_.audit(e);
  }

  void topics(std::vector<std::string>& out) override { out = assistant_->topics(); }

 private:
  [[noreturn]] static void fail(api::ErrorCode::type code, const std::string& message) {
    api::ApiError e;
    e.code = code;
    e.message = message;
    throw e;
  }
  std::shared_ptr<Assistant> assistant_;
  HostServices& host_;
  Poco::Logger& log_;
  ApiCaller caller_;
};

class AiConnector final : public Connector, public Sink {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    id_ = context.id;
    log_ = context.logger;
    host_ = context.services;
    if (context.zone == "mynumber")
      throw ConfigError("an ai connector cannot run in the mynumber zone (個人番号利用事務系): nothing of it may reach "
                        "a generative AI platform");
    if (!settings.getBool("no-training"))
      throw ConfigError("no-training: the provider must not train on what is sent (true, with the attestation); "
                        "an endpoint that may is refused");
    attestation_ = settings.getString("attestation");
    if (attestation_.find_first_not_of(" \t") == std::string::npos)
      throw ConfigError("attestation: where the provider's commitment is written (not empty)");
    riskLevel_ = settings.getString("risk-level");
    ChatOptions o;
    o.endpoint = settings.getString("endpoint");
    if (o.endpoint.rfind("https://", 0) != 0) throw ConfigError("endpoint: an https:// URL");
    o.model = settings.getString("model");
    if (settings.has("api-key")) o.apiKey = settings.getSecret("api-key").value;
    if (settings.has("ca")) o.ca = settings.getPath("ca");
    o.timeout = settings.getDuration("timeout");
    if (o.timeout < std::chrono::seconds(1) || o.timeout > std::chrono::minutes(10))
      throw ConfigError("timeout: 1s to 10m");
    o.retries = static_cast<int>(settings.getInt("retries"));
    if (o.retries < 0 || o.retries > 5) throw ConfigError("retries: 0 to 5");
    o.maxConcurrent = static_cast<int>(settings.getInt("max-concurrent"));
    if (o.maxConcurrent < 1 || o.maxConcurrent > 64) throw ConfigError("max-concurrent: 1 to 64");
    o.maxBytes = settings.getSize("max-answer-bytes");
    chat_ = o;
    knowledge_ = settings.getPath("knowledge");
    std::error_code ec;
    if (!std::filesystem::is_directory(knowledge_, ec))
      throw ConfigError("knowledge: '" + knowledge_.string() + "' is not a folder");
    index_ = settings.getPath("index");
    reindex_ = settings.getDuration("reindex-interval");
    answer_.refusePersonal = settings.getString("personal-data") == "refuse";
    const std::int64_t coverage = settings.getInt("min-coverage");
    if (coverage < 1 || coverage > 100) throw ConfigError("min-coverage: a percent, 1 to 100");
    answer_.minCoverage = static_cast<double>(coverage) / 100.0;
    const std::int64_t passages = settings.getInt("passages");
    if (passages < 1 || passages > 10) throw ConfigError("passages: 1 to 10");
    answer_.passages = static_cast<std::size_t>(passages);
    answer_.handoff = settings.getString("handoff");
    for (const std::string& pair : settings.getList("handoff-topics")) {
      const auto eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) throw ConfigError("handoff-topics: topic=text pairs, got '" + pair + "'");
      answer_.handoffByTopic[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    retention_ = settings.getDuration("log-retention");
    recordKey_ = settings.getString("record-key");
    recordHeading_ = settings.getString("record-heading");
    // Offered to the other plugins of the config (the concierge's question box).
    auto self = std::make_shared<Offered>(*this, topics(), chat_.timeout + std::chrono::seconds(1));
    offered_ = self;
    context.services->assistants().offer(id_, self);
    staffApi_ = settings.getBool("staff-api");
    if (staffApi_) {
      if (ApiRegistry* api = context.services->api()) {
        HostServices* host = host_;
        Poco::Logger* log = log_;
        api->addService("NaviService", [self, host, log](const ApiCaller& caller) {
          return std::make_shared<api::NaviServiceProcessor>(std::make_shared<NaviHandler>(self, *host, *log, caller));
        });
      } else if (!context.validating) {
        log_->warning("ai %s: staff-api is true but the config has no <api>: the AI ナビ is not served", id_);
      }
    }
  }

  Sink* sink() override { return this; }
  /// What is routed here may be given to the model: the internet zone's
  /// rules (class none only; free text scanned for identifiers).
  std::string zone() const override { return "internet"; }

  Outcome deliver(const Batch& batch) override {
    // Again at run time what `renkei check` proved of the route: every
    // field of class none, and no value holding personal data.
    if (!batch.fieldPii || !batch.fieldNames)
      return Outcome::error("route '" + batch.route + "': records without a mapping (their fields' classes are "
                            "unknown); route them through a mapping with <target zone=\"internet\"/>");
    const FieldNames& names = *batch.fieldNames;
    for (std::size_t i = 0; i < batch.fieldPii->size() && i < names.size(); ++i)
      if ((*batch.fieldPii)[i] != "none")
        return Outcome::error("route '" + batch.route + "': field '" + names[i] + "' is of class " +
                              (*batch.fieldPii)[i] + ": only class none may reach a generative AI");
    std::vector<Passage> pages;
    for (std::size_t r = 0; r < batch.records.size(); ++r) {
      const Record& rec = batch.records[r];
      const std::string* key = rec.find(recordKey_);
      if (!key || key->empty())
        return Outcome::error("route '" + batch.route + "': record " + std::to_string(r + 1) + " has no '" +
                              recordKey_ + "' (record-key) to name its page");
      Passage p;
      p.source = std::string(KnowledgeIndex::kRecordPages) + batch.recordType + "/" + *key;
      const std::string* heading = rec.find(recordHeading_);
      p.heading = heading && !heading->empty() ? *heading : *key;
      for (std::size_t i = 0; i < rec.size(); ++i) {
        // A number that identifies a person never becomes knowledge (the
        // key neither: it is shown as the answer's source). A phone number,
        // an address or a postal code may be the city's own (a counter's):
        // kept, and masked on the way to the model like a page's.
        const std::string* kind = nullptr;
        static const std::string kIdentifier = "mynumber or resident-code", kCard = "residence-card";
        if (host_->looksLikeIdentifier(rec.value(i))) kind = &kIdentifier;
        for (const pii::Finding& f : pii::scan(rec.value(i)))
          if (f.kind == pii::Kind::MyNumber || f.kind == pii::Kind::ResidentCode) kind = &kIdentifier;
          else if (f.kind == pii::Kind::ResidenceCard) kind = &kCard;
        if (kind)
          return Outcome::error("route '" + batch.route + "': record " + std::to_string(r + 1) + ", field '" +
                                rec.name(i) + "' holds what looks like a personal identifier (" + *kind +
                                "): not given to a generative AI");
        if (rec.name(i) != recordHeading_ && rec.name(i) != recordKey_ && !rec.value(i).empty())
          p.text += rec.name(i) + ": " + rec.value(i) + "\n";
      }
      pages.push_back(std::move(p));
    }
    try {
      open();
      index_db_->put(pages);
    } catch (const std::exception& e) {
      return Outcome::retry(std::string("ai ") + id_ + ": the knowledge index: " + e.what());
    }
    return Outcome::ok();
  }

  void start() override {
    open();
    log();
    log_->notice("ai %s: model %s, risk level %s, no training (%s); knowledge %s; questions kept %s", id_, chat_.model,
                 riskLevel_, attestation_, knowledge_.string(),
                 retention_.count() ? durationText(retention_) + " (masked)" : std::string("not at all (counts only)"));
    Worker::Options every;
    every.interval = reindex_;
    every.passFirst = false;
    worker_.start("ai " + id_ + ": following the knowledge folder", every, [this] { pass(); }, *log_);
  }
  void stop() override { worker_.stop(); }
  ~AiConnector() override {
    if (offered_) offered_->detach();
    worker_.stop();
  }

  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    if (request.action == "stats") return stats(request);
    if (request.action == "log") return logged(request);
    if (request.action != "ask") return std::nullopt;
    OperatorResult r;
    const auto q = request.options.find("--question");
    if (q == request.options.end() || q->second.empty()) {
      r.status = 2;
      r.error = "--question is required";
      return r;
    }
    const auto t = request.options.find("--topic");
    try {
      open();
      const Answer a = answerer_->ask(q->second, t == request.options.end() ? "" : t->second);
      std::ostringstream out;
      out << "risk level " << riskLevel_ << "; " << (a.refused ? "refused" : a.handoff ? "handed off" : "answered")
          << (a.modelCalled ? " (the model was asked)" : " (the model was not asked)") << "\n";
      out << a.text << "\n";
      for (const auto& s : a.sources) out << "source: " << s.file << " / " << s.heading << "\n";
      for (const auto& [kind, n] : a.masked) out << "masked: " << kind << " " << n << "\n";
      if (!a.error.empty()) out << "the model: " << a.error << "\n";
      r.output = out.str();
    } catch (const std::exception& e) {
      r.status = 1;
      r.error = e.what();
    }
    return r;
  }

  /// One question from a plugin or the API: answered, logged, counted.
  AssistantAnswer ask(const AssistantQuestion& q) {
    open();
    const auto t0 = std::chrono::steady_clock::now();
    const Answer a = answerer_->ask(q.text, q.topic, {}, q.onText);
    AssistantAnswer out;
    out.kind = a.refused ? AssistantAnswer::Kind::Refused
               : a.handoff ? AssistantAnswer::Kind::Handoff
                           : AssistantAnswer::Kind::Answer;
    out.text = a.text;
    out.masked = a.masked;
    if (!a.handoff && !a.refused)
      for (const AnswerSource& s : a.sources) out.sources.push_back({s.file, s.heading});
    LoggedAsk logged;
    logged.atMs = host_->nowMs();
    logged.day = dayOf(logged.atMs, host_->utcOffsetMinutes(logged.atMs));
    logged.channel = q.channel == "staff" ? "staff" : "resident";
    // Only configured topics are counted by name: what a client sends is
    // not a label of its own.
    logged.topic = q.topic.empty() ? "" : answer_.handoffByTopic.count(q.topic) ? q.topic : "other";
    logged.caller = q.caller.substr(0, 100);
    logged.outcome = a.refused ? "refused" : !a.handoff ? "answer" : a.error.empty() ? "handoff" : "model-failed";
    logged.question = a.loggedQuestion;
    logged.answer = a.loggedAnswer;
    for (const auto& s : out.sources) logged.sources += s.file + " / " + s.heading + "\n";
    for (const auto& [kind, n] : a.masked) logged.masked += (logged.masked.empty() ? "" : " ") + kind + "=" + std::to_string(n);
    logged.modelCalled = a.modelCalled;
    logged.millis = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!a.error.empty()) log_->warning("ai %s: the model failed, the question was handed off: %s", id_, a.error);
    out.id = std::to_string(log().record(logged, retention_.count() > 0));
    host_->metrics()
        .counter("renkei_ai_questions_total", "Questions asked, by channel, topic and outcome",
                 {{"channel", logged.channel}, {"topic", logged.topic}, {"outcome", logged.outcome}})
        .add();
    if (a.modelCalled)
      host_->metrics()
          .histogram("renkei_ai_answer_seconds", "Time to answer a question the model was asked")
          .observe(static_cast<double>(logged.millis) / 1000.0);
    return out;
  }

  std::vector<std::string> topics() const {
    std::vector<std::string> out;
    for (const auto& [topic, _] : answer_.handoffByTopic) out.push_back(topic);
    return out;
  }

 private:
  /// What the directory and the API hold. They may outlive the connector
  /// (`renkei check` configures each instance and drops it before the next
  /// one asks): the topics and time-out are copied, and a question reaching
  /// a connector gone is refused like a store that does not answer. The
  /// connector waits, as it goes, for the questions in hand.
  class Offered final : public Assistant {
   public:
    Offered(AiConnector& c, std::vector<std::string> topics, std::chrono::milliseconds timeout)
        : c_(&c), topics_(std::move(topics)), timeout_(timeout) {}
    AssistantAnswer ask(const AssistantQuestion& q) override {
      std::shared_lock lock(mutex_);
      if (!c_) throw StateError("the ai connector has stopped");
      return c_->ask(q);
    }
    std::vector<std::string> topics() const override { return topics_; }
    std::chrono::milliseconds timeout() const override { return timeout_; }
    void detach() {
      std::unique_lock lock(mutex_);
      c_ = nullptr;
    }

   private:
    std::shared_mutex mutex_;
    AiConnector* c_;
    const std::vector<std::string> topics_;
    const std::chrono::milliseconds timeout_;
  };

  /// The log of questions in the store, once (not for `renkei ai ask`,
  /// which logs nothing and runs before a store need exist).
  AskLog& log() {
    std::lock_guard lock(mutex_);
    if (!askLog_) {
      auto l = std::make_unique<AskLog>(host_->state());
      l->migrate();
      askLog_ = std::move(l);
    }
    return *askLog_;
  }

  /// The index (brought up to date) and the answerer, once.
  void open() {
    std::lock_guard lock(mutex_);
    if (answerer_) return;
    index_db_ = std::make_unique<KnowledgeIndex>(index_);
    const auto r = index_db_->refresh(knowledge_);
    log_->information("ai %s: knowledge: %z pages, %z indexed again, %z removed (%z passages) in %s s", id_, r.files,
                      r.changed, r.removed, r.passages, std::to_string(r.seconds));
    client_ = std::make_unique<ChatClient>(chat_);
    answerer_ = std::make_unique<Answerer>(*index_db_, *client_, answer_);
  }
  /// Every reindex-interval: the folder followed, old questions erased.
  void pass() {
    const auto r = index_db_->refresh(knowledge_);
    if (r.changed || r.removed)
      log_->information("ai %s: knowledge changed: %z pages indexed again, %z removed", id_, r.changed, r.removed);
    const std::int64_t erased = log().purge(host_->nowMs() - retention_.count());
    if (erased) log_->information("ai %s: %s questions older than log-retention erased", id_, std::to_string(erased));
  }

  std::optional<OperatorResult> stats(const OperatorRequest& request) {
    OperatorResult r;
    const std::int64_t now = host_->nowMs(), offset = host_->utcOffsetMinutes(now);
    const auto opt = [&](const char* name, std::string fallback) {
      const auto it = request.options.find(name);
      return it == request.options.end() ? fallback : it->second;
    };
    const std::string from = opt("--from", dayOf(now - 29LL * 86'400'000, offset)), to = opt("--to", dayOf(now, offset));
    const std::string format = opt("--format", "text");
    if (!calendar::parseIso(from) || !calendar::parseIso(to) || (format != "text" && format != "csv")) {
      r.status = 2;
      r.error = "--from and --to are days (YYYY-MM-DD); --format is text or csv";
      return r;
    }
    const bool csv = format == "csv";
    try {
      const auto counts = log().counts(from, to);
      std::ostringstream out;
      if (csv)
        out << "channel,topic,questions,answered,handed_off,model_failed,refused,handoff_rate_percent\n";
      else
        out << "questions from " << from << " to " << to << " (ai " << id_ << ")\n"
            << "channel\ttopic\tquestions\tanswered (with sources)\thanded off\tof which the model failed\trefused\thandoff rate\n";
      AskCount total;
      for (const AskCount& c : counts) {
        const auto line = [&](const AskCount& x, const std::string& channel, const std::string& topic) {
          char rate[16];
          std::snprintf(rate, sizeof rate, csv ? "%.1f" : "%.1f %%",
                        x.questions ? 100.0 * static_cast<double>(x.handedOff) / static_cast<double>(x.questions) : 0.0);
          const char* sep = csv ? "," : "\t";
          const auto field = [&](const std::string& s) { return csv ? csvCell(s) : s; };
          out << field(channel) << sep << field(topic) << sep << x.questions << sep << x.answered << sep << x.handedOff
              << sep << x.modelFailed << sep << x.refused << sep << rate << "\n";
        };
        line(c, c.channel, c.topic.empty() ? "(none)" : c.topic);
        total.questions += c.questions;
        total.answered += c.answered;
        total.handedOff += c.handedOff;
        total.modelFailed += c.modelFailed;
        total.refused += c.refused;
        if (&c == &counts.back()) line(total, "all", "all");
      }
      if (counts.empty() && !csv) out << "(no questions)\n";
      r.output = out.str();
    } catch (const std::exception& e) {
      r.status = 1;
      r.error = e.what();
    }
    return r;
  }

  /// `renkei ai log`: what the city's rules ask to be kept of the inputs
  /// and outputs, as kept (masked).
  std::optional<OperatorResult> logged(const OperatorRequest& request) {
    OperatorResult r;
    std::int64_t limit = 50;
    if (const auto it = request.options.find("--limit"); it != request.options.end()) {
      const auto n = parseWholeNumber(it->second, 1, 100'000);
      if (!n) {
        r.status = 2;
        r.error = "--limit: " + wholeNumberRange(1, 100'000);
        return r;
      }
      limit = *n;
    }
    const auto f = request.options.find("--format");
    const bool jsonl = f != request.options.end() && f->second == "jsonl";
    if (f != request.options.end() && !jsonl && f->second != "text") {
      r.status = 2;
      r.error = "--format: text or jsonl";
      return r;
    }
    const auto oneLine = [](std::string s) {
      while (!s.empty() && s.back() == '\n') s.pop_back();
      for (std::size_t p = 0; (p = s.find('\n', p)) != std::string::npos;) s.replace(p, 1, " ⏎ ");
      return s;
    };
    try {
      std::ostringstream out;
      for (const LoggedAsk& a : log().recent(static_cast<std::size_t>(limit))) {
        if (jsonl) {
          std::string line = "{\"at\":";
          appendJsonString(line, localTimeAt(a.atMs, host_->utcOffsetMinutes(a.atMs)));
          line += ",\"at_ms\":" + std::to_string(a.atMs) + ",\"channel\":";
          appendJsonString(line, a.channel);
          line += ",\"topic\":";
          appendJsonString(line, a.topic);
          line += ",\"outcome\":";
          appendJsonString(line, a.outcome);
          line += ",\"caller\":";
          appendJsonString(line, a.caller);
          line += ",\"millis\":" + std::to_string(a.millis) + ",\"model_asked\":" + (a.modelCalled ? "true" : "false") +
                  ",\"question\":";
          appendJsonString(line, a.question);
          line += ",\"answer\":";
          appendJsonString(line, a.answer);
          line += ",\"sources\":[";
          std::istringstream sources(a.sources);
          bool first = true;
          for (std::string s; std::getline(sources, s);) {
            if (s.empty()) continue;
            line += first ? "" : ",";
            appendJsonString(line, s);
            first = false;
          }
          line += "],\"masked\":";
          appendJsonString(line, a.masked);
          out << line << "}\n";
          continue;
        }
        out << localTimeAt(a.atMs, host_->utcOffsetMinutes(a.atMs)) << "\t" << a.channel << "\t"
            << (a.topic.empty() ? "-" : a.topic) << "\t" << a.outcome << "\t" << a.caller << "\t" << a.millis
            << " ms\n  question: " << oneLine(a.question) << "\n  answer: " << oneLine(a.answer) << "\n";
        if (!a.sources.empty()) out << "  sources: " << oneLine(a.sources) << "\n";
        if (!a.masked.empty()) out << "  masked: " << a.masked << "\n";
      }
      r.output = out.str();
      if (r.output.empty() && !jsonl) r.output = "(no questions kept)\n";
    } catch (const std::exception& e) {
      r.status = 1;
      r.error = e.what();
    }
    return r;
  }

  std::string id_, attestation_, riskLevel_, recordKey_, recordHeading_;
  Poco::Logger* log_ = nullptr;
  HostServices* host_ = nullptr;
  ChatOptions chat_;
  AnswerOptions answer_;
  std::filesystem::path knowledge_, index_;
  std::chrono::milliseconds reindex_{300'000};
  std::chrono::milliseconds retention_{30LL * 86'400'000};
  bool staffApi_ = false;
  std::shared_ptr<Offered> offered_;
  std::mutex mutex_;
  std::unique_ptr<AskLog> askLog_;
  std::unique_ptr<KnowledgeIndex> index_db_;
  std::unique_ptr<ChatClient> client_;
  std::unique_ptr<Answerer> answerer_;
  Worker worker_;
};

}  // namespace renkei::connectors::ai

RENKEI_PLUGIN_VERBS(renkei::connectors::ai::kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::ai::AiConnector, "ai", "0.1.0", "experimental",
              "The AI guard: a generative AI asked only with the city's knowledge, personal data masked or refused",
              RENKEI_ROLE_SINK, renkei::connectors::ai::kKeys, sizeof(renkei::connectors::ai::kKeys) / sizeof(renkei::connectors::ai::kKeys[0]))
