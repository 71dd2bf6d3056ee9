// The ai connector: the guard between a generative AI platform the city
// contracts and the city's data (AI ナビ for staff, AI コンシェルジュ for
// residents). It keeps the city's knowledge in a full-text index, follows
// its folder, and answers a question the guarded way (answerer.h): the PII
// guard on the question, the knowledge searched, a handoff when nothing
// covers it, the model asked with the passages only, its answer scanned.
// The config must say that the provider does not train on what is sent and
// where that is written, and the use case's risk level: `renkei check`
// refuses an ai connector without them.
#include <memory>
#include <mutex>
#include <sstream>

#include "answerer.h"
#include "chat_client.h"
#include "knowledge_index.h"
#include "renkei/sdk.h"
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
    {"min-coverage", "int", "50", 0,
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
};

const renkei_operator_verb kVerbs[] = {
    {"ask", "--connector --question --topic", 1, "--config F [--connector ID] --question TEXT [--topic T]",
     "one question the guarded way: the answer, its sources or the handoff, what was masked"},
};

}  // namespace

class AiConnector final : public Connector {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    id_ = context.id;
    log_ = context.logger;
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
  }

  void start() override {
    open();
    log_->notice("ai %s: model %s, risk level %s, no training (%s); knowledge %s", id_, chat_.model, riskLevel_,
                 attestation_, knowledge_.string());
    Worker::Options every;
    every.interval = reindex_;
    every.passFirst = false;
    worker_.start("ai " + id_ + ": following the knowledge folder", every, [this] { reindex(); }, *log_);
  }
  void stop() override { worker_.stop(); }

  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
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

 private:
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
  void reindex() {
    const auto r = index_db_->refresh(knowledge_);
    if (r.changed || r.removed)
      log_->information("ai %s: knowledge changed: %z pages indexed again, %z removed", id_, r.changed, r.removed);
  }

  std::string id_, attestation_, riskLevel_;
  Poco::Logger* log_ = nullptr;
  ChatOptions chat_;
  AnswerOptions answer_;
  std::filesystem::path knowledge_, index_;
  std::chrono::milliseconds reindex_{300'000};
  std::mutex mutex_;
  std::unique_ptr<KnowledgeIndex> index_db_;
  std::unique_ptr<ChatClient> client_;
  std::unique_ptr<Answerer> answerer_;
  Worker worker_;
};

}  // namespace renkei::connectors::ai

RENKEI_PLUGIN_VERBS(renkei::connectors::ai::kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::ai::AiConnector, "ai", "0.1.0", "experimental",
              "The AI guard: a generative AI asked only with the city's knowledge, personal data masked or refused",
              0, renkei::connectors::ai::kKeys, sizeof(renkei::connectors::ai::kKeys) / sizeof(renkei::connectors::ai::kKeys[0]))
