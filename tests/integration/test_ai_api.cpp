// The AI guard's two front doors through the real binary: the staff's AI
// ナビ (NaviService, Thrift over TLS with a client certificate, on an LGWAN
// instance) and the concierge's question box (HTTPS, an internet instance),
// both answered by an ai connector. The language model is the only fake:
// tests/tools/fake_llm.py, a local HTTPS server speaking the
// chat-completions protocol that records every request and answers from
// the passages it is given (no model can run on these machines).
//
// Asserted: an answer cites the right page and heading; a question outside
// the knowledge is handed off (per topic) without a request to the model;
// personal data in a question never reaches the model, the log or the
// store, and the city's own phone number comes back in the answer; records
// routed to the connector become knowledge, and a route that would give
// it a personal field is refused by `renkei check` (and a batch without
// classes or with a personal identifier at run time, while the city's own
// address and phone pass); questions are logged masked, erased after
// log-retention while their counts stay (`renkei ai stats`, /metrics).
#define BOOST_TEST_MODULE renkei_ai_api
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TMultiplexedProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>

#include <regex>
#include <sstream>

#include "api/NaviService.h"
#include "plugin_harness.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;
namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }
std::map<std::string, std::string> pluginEnv() { return {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}}; }

struct Http {
  int status = 0;
  std::string body;
  Poco::JSON::Object::Ptr json() const { return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>(); }
};

/// The stand-in model, an LGWAN instance serving the AI ナビ and an internet
/// instance whose concierge asks its own ai connector.
struct Zones {
  test::TempDir dir;
  test::Child model, internet, lgwan;
  int modelPort = test::freePort(), conciergePort = 0, apiPort = 0, adminPort = 0, netAdminPort = 0;
  Poco::Net::Context::Ptr tls;

  std::string aiKeys(const std::string& mode, const std::string& extra) const {
    const std::string d = dir.path().string();
    return R"(    <endpoint>https://localhost:)" + std::to_string(modelPort) + "/" + mode + R"(/v1</endpoint>
    <model>city-model</model>
    <api-key>env:RENKEI_TEST_AI_KEY</api-key>
    <ca>)" + d + R"(/tls/ca.crt</ca>
    <no-training>true</no-training>
    <attestation>試験用の契約 第1条（入力を学習に用いない）</attestation>
    <risk-level>medium</risk-level>
    <knowledge>)" + d + R"(/knowledge</knowledge>
    <reindex-interval>1s</reindex-interval>
    <timeout>4s</timeout>
    <handoff-topics>ごみ=ごみのことは環境課（12番窓口）へ;税=税のことは税務課（20番窓口）へ</handoff-topics>
)" + extra;
  }

  explicit Zones(const std::string& lgwanAi = "", const std::string& internetAi = "") {
    auto certs = test::run({source("scripts/make-certs").string(), (dir / "tls").string(), "window-demo"});
    BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
    auto keys = test::run({source("scripts/make-keys").string(), (dir / "keys").string()},
                          {{"RENKEI_BIN", test::renkeiBinary()}});
    BOOST_REQUIRE_MESSAGE(keys.exitCode == 0, keys.err);
    fs::copy(source("config/ai/knowledge"), dir / "knowledge", fs::copy_options::recursive);
    fs::create_directories(dir / "guide/in");
    model = test::spawn({"/usr/bin/python3", source("tests/tools/fake_llm.py").string(), "--port",
                         std::to_string(modelPort), "--cert", (dir / "tls/server.crt").string(), "--key",
                         (dir / "tls/server.key").string(), "--record", (dir / "requests.jsonl").string()},
                        dir / "fake");
    BOOST_REQUIRE(test::waitFor([&] { return test::textOf(model.out).find("listening") != std::string::npos; }, 20));
    const std::string s = source("config").string(), m = source("mappings").string(), t = (dir / "tls").string(),
                      k = (dir / "keys").string();
    test::writeFile(dir / "lgwan/config.xml", R"(<renkei xmlns="urn:renkei:config:1" instance="city" zone="lgwan" time-zone="Asia/Tokyo">
  <pipeline poll-interval="200ms"/>
  <store driver="sqlite" path="renkei.db"/>
  <admin address="127.0.0.1" port="0"/>
  <api address="127.0.0.1" port="0" certificate=")" + t + R"(/server.crt" key=")" + t +
                                                  R"(/server.key" client-ca=")" + t + R"(/ca.crt" clients="window-demo"/>
  <connector id="navi" plugin="ai">
)" + aiKeys("normal", "    <staff-api>true</staff-api>\n" + lgwanAi) + R"(  </connector>
</renkei>
)");
    test::writeFile(dir / "internet/config.xml", R"(<renkei xmlns="urn:renkei:config:1" instance="net" zone="internet" time-zone="Asia/Tokyo">
  <pipeline poll-interval="200ms"/>
  <store driver="sqlite" path="renkei.db"/>
  <admin address="127.0.0.1" port="0"/>
  <calendar file=")" + s + R"(/calendar/demo-city.xml"/>
  <connector id="guide-in" plugin="file"><directory>)" + (dir / "guide").string() + R"(</directory></connector>
  <connector id="resident-ai" plugin="ai">
)" + aiKeys("normal", internetAi) + R"(  </connector>
  <module id="concierge" plugin="concierge">
    <knowledge>)" + s + R"(/concierge/knowledge.xml</knowledge>
    <token-key>)" + k + R"(/internet/token.pub</token-key>
    <towns>)" + s + R"(/concierge/towns.txt</towns>
    <port>0</port>
    <certificate>)" + t + R"(/server.crt</certificate>
    <key>)" + t + R"(/server.key</key>
    <assistant>resident-ai</assistant>
    <ask-rate>20</ask-rate>
  </module>
  <route id="guide-to-ai" from="guide-in" to="resident-ai" mapping=")" + m + R"(/procedure-guide-to-ai.xml"/>
</renkei>
)");
    auto env = pluginEnv();
    env["RENKEI_TEST_AI_KEY"] = "test-key-not-a-secret";
    lgwan = test::spawn({test::renkeiBinary(), "serve", "--config", (dir / "lgwan/config.xml").string()},
                        dir / "lgwan/serve", env);
    internet = test::spawn({test::renkeiBinary(), "serve", "--config", (dir / "internet/config.xml").string()},
                           dir / "internet/serve", env);
    const std::regex concierge("serving the API on https://127\\.0\\.0\\.1:([0-9]+)/"),
        api("on 127\\.0\\.0\\.1:([0-9]+) \\(TLS"), admin("admin: http://127\\.0\\.0\\.1:([0-9]+)/metrics");
    const bool up = test::waitFor(
        [&] {
          std::smatch x;
          const std::string in = test::textOf(internet.err) + test::textOf(internet.out);
          const std::string lg = test::textOf(lgwan.err) + test::textOf(lgwan.out);
          if (!conciergePort && std::regex_search(in, x, concierge)) conciergePort = std::stoi(x[1]);
          if (!apiPort && std::regex_search(lg, x, api)) apiPort = std::stoi(x[1]);
          if (!adminPort && std::regex_search(lg, x, admin)) adminPort = std::stoi(x[1]);
          if (!netAdminPort && std::regex_search(in, x, admin)) netAdminPort = std::stoi(x[1]);
          return conciergePort && apiPort && adminPort && netAdminPort;
        },
        30);
    BOOST_REQUIRE_MESSAGE(up, test::textOf(internet.err) + test::textOf(lgwan.err));
    tls = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", (dir / "tls/ca.crt").string(),
                                 Poco::Net::Context::VERIFY_RELAXED);
  }
  ~Zones() {
    for (test::Child* c : {&internet, &lgwan, &model})
      if (c->pid > 0) {
        ::kill(c->pid, SIGTERM);
        c->wait();
      }
  }

  /// The requests the stand-in model received.
  std::string requests() const { return test::textOf(dir / "requests.jsonl"); }
  std::size_t requestCount() const { return test::countLines(requests()); }

  Http post(const std::string& path, const std::string& body) {
    Poco::Net::HTTPSClientSession session("127.0.0.1", static_cast<Poco::UInt16>(conciergePort), tls);
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("localhost");
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Http h;
    h.status = static_cast<int>(response.getStatus());
    h.body.assign(std::istreambuf_iterator<char>(in), {});
    return h;
  }
  Http askConcierge(const std::string& question, const std::string& topic = "") {
    return post("/api/v1/ask", "{\"question\":" + jsonString(question) + ",\"topic\":" + jsonString(topic) + "}");
  }
  static std::string jsonString(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }

  test::ProcessResult ai(const std::string& config, std::vector<std::string> args) {
    args.insert(args.begin(), {test::renkeiBinary(), "ai"});
    args.insert(args.begin() + 3, {"--config", (dir / config / "config.xml").string()});
    auto env = pluginEnv();
    env["RENKEI_TEST_AI_KEY"] = "test-key-not-a-secret";
    return test::run(args, env);
  }
};

/// A staff member's client: the window-demo certificate, NaviService.
struct Navi {
  std::shared_ptr<tt::TSSLSocketFactory> factory = std::make_shared<tt::TSSLSocketFactory>();
  std::shared_ptr<tt::TTransport> transport;
  std::unique_ptr<api::NaviServiceClient> client;
  Navi(const fs::path& tls, int port) {
    factory->authenticate(true);
    factory->loadTrustedCertificates((tls / "ca.crt").c_str());
    factory->loadCertificate((tls / "window-demo.crt").c_str());
    factory->loadPrivateKey((tls / "window-demo.key").c_str());
    transport = std::make_shared<tt::TBufferedTransport>(factory->createSocket("localhost", port));
    auto protocol = std::make_shared<tp::TBinaryProtocol>(transport);
    client = std::make_unique<api::NaviServiceClient>(std::make_shared<tp::TMultiplexedProtocol>(protocol, "NaviService"));
    transport->open();
  }
  ~Navi() {
    try {
      transport->close();
    } catch (...) {
    }
  }
  api::NaviAnswer ask(const std::string& text, const std::string& topic = "") {
    api::NaviQuestion q;
    q.text = text;
    if (!topic.empty()) q.__set_topic(topic);
    api::NaviAnswer a;
    client->ask(a, q);
    return a;
  }
};

bool cites(const api::NaviAnswer& a, const std::string& file, const std::string& heading) {
  for (const auto& s : a.sources)
    if (s.file == file && s.heading.find(heading) != std::string::npos) return true;
  return false;
}

/// Every byte the instance keeps in its folder (the store, its WAL, the
/// index), to look for a value that must not be there.
std::string storedBytes(const fs::path& folder) {
  std::string all;
  for (const auto& e : fs::recursive_directory_iterator(folder))
    if (e.is_regular_file()) all += test::readFile(e.path());
  return all;
}

}  // namespace

BOOST_AUTO_TEST_CASE(staff_ask_on_the_api_and_get_cited_answers_handoffs_and_masked_questions) {
  Zones z;
  Navi navi(z.dir / "tls", z.apiPort);

  std::vector<std::string> topics;
  navi.client->topics(topics);
  BOOST_TEST((topics == std::vector<std::string>{"ごみ", "税"}));

  // In the knowledge: answered by the model from the right page, cited.
  const api::NaviAnswer a = navi.ask("粗大ごみはどうやって出せばいいですか", "ごみ");
  BOOST_TEST(a.outcome == api::NaviOutcome::ANSWER);
  BOOST_TEST(cites(a, "gomi.md", "粗大ごみ"), "sources: " << a.sources.size());
  BOOST_TEST(a.text.find("資料によると") != std::string::npos);
  BOOST_TEST(z.requestCount() == 1u);
  BOOST_TEST(z.requests().find("Bearer test-key-not-a-secret") != std::string::npos);

  // Outside it: the topic's handoff, and the model is not asked.
  const api::NaviAnswer out = navi.ask("月旅行の予約はどこでできますか", "ごみ");
  BOOST_TEST(out.outcome == api::NaviOutcome::HANDOFF);
  BOOST_TEST(out.text == "ごみのことは環境課（12番窓口）へ");
  BOOST_TEST(out.sources.empty());
  BOOST_TEST(z.requestCount() == 1u);

  // Personal data in the question: masked before it leaves, counted.
  const api::NaviAnswer masked = navi.ask("090-1234-5678の者ですが粗大ごみの出し方は");
  BOOST_TEST(masked.masked.count("phone") == 1u);
  BOOST_TEST(z.requests().find("090-1234-5678") == std::string::npos);
  BOOST_TEST(z.requests().find("〔電話番号1〕") != std::string::npos);

  // Refused as a request, naming the field.
  for (const std::string& bad : {std::string(""), std::string("ご\x01み"), std::string(3000, 'a')}) {
    try {
      navi.ask(bad);
      BOOST_FAIL("a bad question was taken");
    } catch (const api::ApiError& e) {
      BOOST_TEST(e.code == api::ErrorCode::BAD_REQUEST);
      BOOST_TEST(e.message.rfind("text:", 0) == 0u, e.message);
    }
  }

  // Logged masked, counted per topic; the value is nowhere in the store.
  const auto log = z.ai("lgwan", {"log"});
  BOOST_TEST_REQUIRE(log.exitCode == 0, log.err);
  BOOST_TEST(log.out.find("〔電話番号1〕") != std::string::npos, log.out);
  BOOST_TEST(log.out.find("090-1234-5678") == std::string::npos);
  BOOST_TEST(log.out.find("gomi.md") != std::string::npos);
  BOOST_TEST(std::regex_search(log.out, std::regex("\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} \\+09:00\tstaff")), log.out);
  BOOST_TEST(storedBytes(z.dir / "lgwan").find("090-1234-5678") == std::string::npos);
  const auto stats = z.ai("lgwan", {"stats"});
  BOOST_TEST_REQUIRE(stats.exitCode == 0, stats.err);
  BOOST_TEST(stats.out.find("staff\tごみ\t2\t1\t1\t0\t0\t50.0 %") != std::string::npos, stats.out);
  BOOST_TEST(stats.out.find("all\tall\t3\t2\t1\t0\t0\t33.3 %") != std::string::npos, stats.out);
  // Handed over in open formats (at contract end, or to the city's own
  // analysis): JSON Lines and CSV, as masked as the text.
  const auto jsonl = z.ai("lgwan", {"log", "--format", "jsonl"});
  BOOST_TEST_REQUIRE(jsonl.exitCode == 0, jsonl.err);
  BOOST_TEST(test::countLines(jsonl.out) == 3u, jsonl.out);
  std::istringstream entries(jsonl.out);
  for (std::string line; std::getline(entries, line);) {
    auto o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    BOOST_TEST(o->getValue<std::string>("channel") == "staff");
    BOOST_TEST(o->getValue<std::string>("at").find("+09:00") != std::string::npos);
    BOOST_TEST(o->getValue<std::string>("question").find("090-1234-5678") == std::string::npos);
  }
  BOOST_TEST(jsonl.out.find("〔電話番号1〕") != std::string::npos);
  const auto csv = z.ai("lgwan", {"stats", "--format", "csv"});
  BOOST_TEST_REQUIRE(csv.exitCode == 0, csv.err);
  BOOST_TEST(csv.out.find("channel,topic,questions,answered,handed_off,model_failed,refused,handoff_rate_percent\n") == 0u,
             csv.out);
  BOOST_TEST(csv.out.find("\nstaff,ごみ,2,1,1,0,0,50.0\n") != std::string::npos, csv.out);
  BOOST_TEST(z.ai("lgwan", {"stats", "--format", "xml"}).exitCode == 2);
  BOOST_TEST(z.ai("lgwan", {"stats", "--from", "2026-02-30"}).exitCode == 2);  // not a day of the calendar
  BOOST_TEST(z.ai("lgwan", {"log", "--limit", "1e3"}).exitCode == 2);
  const auto metrics = test::httpGet(z.adminPort, "/metrics");
  BOOST_TEST(metrics.body.find("renkei_ai_questions_total{channel=\"staff\",outcome=\"handoff\",plugin=\"navi\",topic=\"ごみ\"} 1") !=
             std::string::npos);
  BOOST_TEST(metrics.body.find("renkei_ai_answer_seconds_count{plugin=\"navi\"} 2") != std::string::npos);
  BOOST_TEST(metrics.body.find("090-1234-5678") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_concierge_question_box_answers_with_sources_and_hands_off) {
  Zones z;
  const Http a = z.askConcierge("粗大ごみの申込みはどうすればいいですか");
  BOOST_TEST_REQUIRE(a.status == 200, a.body);
  auto j = a.json();
  BOOST_TEST(j->getValue<std::string>("kind") == "answer");
  const auto sources = j->getArray("sources");
  BOOST_TEST_REQUIRE(sources->size() >= 1u);
  BOOST_TEST(sources->getObject(0)->getValue<std::string>("file") == "gomi.md", a.body);

  const Http h = z.askConcierge("おすすめの温泉を教えてください", "税");
  BOOST_TEST_REQUIRE(h.status == 200, h.body);
  BOOST_TEST(h.json()->getValue<std::string>("kind") == "handoff");
  BOOST_TEST(h.json()->getValue<std::string>("text") == "税のことは税務課（20番窓口）へ");
  BOOST_TEST(h.json()->getArray("sources")->size() == 0u);
  BOOST_TEST(z.requestCount() == 1u);  // the handoff asked no model

  // Asked for a stream: the text in pieces as the model writes, then the
  // whole answer; the pieces make the answer's text.
  const Http streamed = z.post("/api/v1/ask", "{\"question\":\"粗大ごみの申込みはどうすればいいですか\",\"stream\":true}");
  BOOST_TEST_REQUIRE(streamed.status == 200, streamed.body);
  std::string pieces, final;
  int events = 0;
  std::istringstream lines(streamed.body);
  for (std::string line, event; std::getline(lines, line);) {
    if (line.rfind("event: ", 0) == 0) event = line.substr(7);
    if (line.rfind("data: ", 0) != 0) continue;
    auto o = Poco::JSON::Parser().parse(line.substr(6)).extract<Poco::JSON::Object::Ptr>();
    if (event == "answer") final = o->getValue<std::string>("text");
    else pieces += o->getValue<std::string>("text"), ++events;
    event.clear();
  }
  BOOST_TEST(events >= 2, streamed.body);
  BOOST_TEST(!final.empty());
  BOOST_TEST(pieces == final);
  BOOST_TEST(z.requests().find("\"stream\": true") != std::string::npos);

  // Bad requests named by field; a flood is stopped by ask-rate.
  const Http bad = z.post("/api/v1/ask", "{\"question\":\"\"}");
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.body.find("question") != std::string::npos);
  int limited = 0;
  for (int i = 0; i < 40 && !limited; ++i) limited = z.askConcierge("温泉").status == 429 ? 1 : 0;
  BOOST_TEST(limited == 1);
  BOOST_TEST(test::httpGet(z.netAdminPort, "/metrics").body.find("renkei_concierge_asks_refused_total{plugin=\"concierge\"} 1") !=
             std::string::npos);

  const auto stats = z.ai("internet", {"stats"});
  BOOST_TEST(stats.out.find("resident\t税\t1\t0\t1") != std::string::npos, stats.out);
}

BOOST_AUTO_TEST_CASE(records_routed_in_become_knowledge_and_the_city_s_own_number_comes_back) {
  Zones z;
  // A procedure guide export: its pages join the knowledge.
  test::writeFile(z.dir / "guide/in/guide.csv.tmp", test::readFile(source("config/samples/knowledge/procedure-guide.csv")));
  fs::rename(z.dir / "guide/in/guide.csv.tmp", z.dir / "guide/in/guide.csv");
  Http a;
  BOOST_TEST(test::waitFor(
      [&] {
        a = z.askConcierge("犬の登録はいつまでにすればいいですか");
        return a.status == 200 && a.body.find("records:ai.knowledge/pet-touroku") != std::string::npos;
      },
      20), a.body);
  BOOST_TEST(a.body.find("犬の登録") != std::string::npos);

  // A knowledge page with the counter's phone number: masked on the way to
  // the model, put back in what the resident reads.
  test::writeFile(z.dir / "knowledge/soudan.md",
                  "# 市民相談\n\n## 法律相談の予約\n\n法律相談の予約は市民相談室 03-1234-5678 へお電話ください。毎月第2水曜日に行います。\n");
  Http b;
  BOOST_TEST(test::waitFor(
      [&] {
        b = z.askConcierge("法律相談の予約はどうすればいいですか");
        return b.status == 200 && b.body.find("soudan.md") != std::string::npos;
      },
      20), b.body);
  BOOST_TEST(b.json()->getValue<std::string>("text").find("03-1234-5678") != std::string::npos, b.body);
  BOOST_TEST(z.requests().find("03-1234-5678") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(questions_are_erased_after_log_retention_and_their_counts_stay) {
  Zones z("    <log-retention>2s</log-retention>\n");
  Navi navi(z.dir / "tls", z.apiPort);
  navi.ask("粗大ごみの出し方を教えてください");
  BOOST_TEST(z.ai("lgwan", {"log"}).out.find("粗大ごみ") != std::string::npos);
  BOOST_TEST(test::waitFor([&] { return z.ai("lgwan", {"log"}).out.find("(no questions kept)") != std::string::npos; }, 15));
  BOOST_TEST(z.ai("lgwan", {"stats"}).out.find("all\tall\t1\t1\t0") != std::string::npos);
  BOOST_TEST(test::textOf(z.lgwan.err).find("older than log-retention erased") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(check_refuses_what_would_give_the_model_personal_data_or_no_attestation) {
  test::TempDir dir;
  fs::create_directories(dir / "knowledge");
  fs::create_directories(dir / "in");
  const std::string m = source("mappings").string();
  const auto check = [&](const std::string& zone, const std::string& body) {
    test::writeFile(dir / "config.xml", R"(<renkei xmlns="urn:renkei:config:1" instance="t" zone=")" + zone + R"(">
  <store driver="sqlite" path="renkei.db"/>
  <connector id="in" plugin="file"><directory>)" + (dir / "in").string() + R"(</directory></connector>
)" + body + "</renkei>\n");
    return test::run({test::renkeiBinary(), "check", "--config", (dir / "config.xml").string()}, pluginEnv());
  };
  const auto ai = [&](const std::string& extra) {
    return R"(  <connector id="navi" plugin="ai">
    <endpoint>https://ai.example/v1</endpoint><model>m</model>
    <knowledge>)" + (dir / "knowledge").string() + "</knowledge>\n" + extra + "  </connector>\n";
  };
  const std::string attested = "<no-training>true</no-training><attestation>契約 第1条</attestation><risk-level>low</risk-level>";
  // Fine: the procedure guide, class none, into the ai connector.
  auto ok = check("lgwan", ai(attested) + R"(  <route id="r" from="in" to="navi" mapping=")" + m + "/procedure-guide-to-ai.xml\"/>\n");
  BOOST_TEST(ok.exitCode == 0, ok.out + ok.err);
  // Resident records (names, addresses) into it: refused with the route's line.
  auto personal = check("lgwan", ai(attested) + R"(  <route id="r" from="in" to="navi" mapping=")" + m + "/resident-to-crm.xml\"/>\n");
  BOOST_TEST(personal.exitCode != 0);
  BOOST_TEST((personal.out + personal.err).find("route 'r'") != std::string::npos, personal.out + personal.err);
  BOOST_TEST((personal.out + personal.err).find("config.xml:") != std::string::npos);
  // Records with no mapping (classes unknown): refused.
  auto raw = check("lgwan", ai(attested) + "  <route id=\"r\" from=\"in\" to=\"navi\"/>\n");
  BOOST_TEST(raw.exitCode != 0);
  BOOST_TEST((raw.out + raw.err).find("needs a mapping") != std::string::npos, raw.out + raw.err);
  // Without the attestation, and in the mynumber zone.
  auto unattested = check("lgwan", ai("<no-training>true</no-training><risk-level>low</risk-level>"));
  BOOST_TEST((unattested.out + unattested.err).find("attestation") != std::string::npos);
  auto mynumber = check("mynumber", ai(attested));
  BOOST_TEST(mynumber.exitCode != 0);
  BOOST_TEST((mynumber.out + mynumber.err).find("mynumber zone") != std::string::npos, mynumber.out + mynumber.err);
}

// The sink's own guard, as a batch reaches it: what `renkei check` proves
// of a route, checked again on every batch (the plugin in the harness).
BOOST_AUTO_TEST_CASE(a_batch_with_a_personal_class_or_value_is_refused_at_run_time_naming_the_field) {
  test::PluginHarness h("ai");
  fs::create_directories(h.dir() / "knowledge");
  h.set("endpoint", "https://localhost:1/v1").set("model", "m").set("no-training", "true")
      .set("attestation", "契約 第1条").set("risk-level", "low").set("knowledge", "knowledge");
  h.configure();
  Sink* sink = h.connector().sink();
  BOOST_TEST_REQUIRE(sink != nullptr);
  BOOST_TEST(sink->zone() == "internet");
  auto names = std::make_shared<const FieldNames>(FieldNames{"key", "title", "説明"});
  const auto batch = [&](std::vector<std::string> pii, const std::string& text, const std::string& key = "inkan") {
    Batch b;
    b.id = "b1";
    b.route = "guide-to-ai";
    b.recordType = "ai.knowledge";
    b.fieldNames = names;
    if (!pii.empty()) b.fieldPii = std::make_shared<const std::vector<std::string>>(std::move(pii));
    Record r(names);
    r.set(0, key);
    r.set(1, "印鑑登録");
    r.set(2, text);
    b.records.push_back(r);
    b.recordCount = 1;
    return b;
  };
  const Outcome none = sink->deliver(batch({}, "登録は市民課で。"));
  BOOST_TEST((none.status() == Outcome::Status::Error));
  BOOST_TEST(none.message().find("classes are") != std::string::npos, none.message());
  const Outcome personal = sink->deliver(batch({"none", "none", "personal"}, "登録は市民課で。"));
  BOOST_TEST((personal.status() == Outcome::Status::Error));
  BOOST_TEST(personal.message().find("field '説明' is of class personal") != std::string::npos, personal.message());
  const Outcome value = sink->deliver(batch({"none", "none", "none"}, "照会番号 1234 5678 9018 で確認"));
  BOOST_TEST((value.status() == Outcome::Status::Error));
  BOOST_TEST(value.message().find("field '説明'") != std::string::npos, value.message());
  BOOST_TEST(value.message().find("mynumber") != std::string::npos, value.message());
  BOOST_TEST(value.message().find("9018") == std::string::npos);
  const Outcome card = sink->deliver(batch({"none", "none", "none"}, "在留カード AB12345678CD の方"));
  BOOST_TEST((card.status() == Outcome::Status::Error));
  BOOST_TEST(card.message().find("residence-card") != std::string::npos, card.message());
  // Measured the other way: the city's own counter, address and hours
  // are what a procedure guide is for, and pass.
  const Outcome city = sink->deliver(batch({"none", "none", "none"},
                                           "市民課 1番窓口（〒100-0001 見本市中央一丁目1番1号 本庁舎1階、電話 03-1234-5678、"
                                           "平日 8時30分から17時15分、2026年4月1日から）"));
  BOOST_TEST((city.status() == Outcome::Status::Ok), city.message());
  // The key too: it is shown as the answer's source.
  const Outcome key = sink->deliver(batch({"none", "none", "none"}, "登録は市民課で。", "123456789018"));
  BOOST_TEST((key.status() == Outcome::Status::Error));
  BOOST_TEST(key.message().find("field 'key'") != std::string::npos, key.message());
  const Outcome good = sink->deliver(batch({"none", "none", "none"}, "登録は市民課で。"));
  BOOST_TEST((good.status() == Outcome::Status::Ok), good.message());
}
