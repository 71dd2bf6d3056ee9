// The chat-completions client against a stand-in for the model: no
// language model can run on these machines, so tests/tools/fake_llm.py is a
// local HTTPS server (a certificate made at test time) that speaks the
// OpenAI chat-completions protocol, records every request and answers from
// the passages it is given. The endpoint down, slow, dripping, answering
// garbage, a 10 MB body or 500: a clear error within the deadline, retried
// only where it can help; a stream's pieces arrive as they come.
#define BOOST_TEST_MODULE renkei_ai_client
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <chrono>
#include <thread>

#include <algorithm>
#include <memory>
#include <sstream>

#include "answerer.h"
#include "chat_client.h"
#include "knowledge_index.h"
#include "pii_seeds.h"
#include "test_support.h"

using namespace renkei;
using namespace renkei::connectors::ai;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

struct FakeModel {
  test::TempDir dir;
  test::Child child;
  int port = test::freePort();
  FakeModel() {
    auto certs = test::run({source("scripts/make-certs").string(), (dir / "tls").string()});
    BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
    child = test::spawn({"/usr/bin/python3", source("tests/tools/fake_llm.py").string(), "--port", std::to_string(port),
                         "--cert", (dir / "tls/server.crt").string(), "--key", (dir / "tls/server.key").string(),
                         "--record", (dir / "requests.jsonl").string()},
                        dir / "fake");
    BOOST_REQUIRE(test::waitFor([&] {
      std::error_code ec;
      return fs::exists(dir / "fake.out", ec) && test::readFile(dir / "fake.out").find("listening") != std::string::npos;
    }, 20));
  }
  ~FakeModel() {
    ::kill(child.pid, SIGTERM);
    child.wait();
  }
  ChatOptions options(const std::string& mode) const {
    ChatOptions o;
    o.endpoint = "https://localhost:" + std::to_string(port) + "/" + mode + "/v1";
    o.model = "city-model";
    o.apiKey = "test-key-not-a-secret";
    o.ca = dir / "tls/ca.crt";
    o.timeout = std::chrono::milliseconds(3000);
    o.retries = 2;
    return o;
  }
  std::string requests() const {
    std::error_code ec;
    return fs::exists(dir / "requests.jsonl", ec) ? test::readFile(dir / "requests.jsonl") : std::string();
  }
};

const std::vector<ChatMessage> kAsk = {
    {"system", "次の資料だけを使って答えてください。\n【gomi.md / 粗大ごみ】粗大ごみは前日までに申し込んでください。"},
    {"user", "粗大ごみの出し方は？"}};

}  // namespace

BOOST_AUTO_TEST_CASE(an_answer_and_a_stream_come_back_and_the_request_is_as_sent) {
  FakeModel model;
  ChatClient client(model.options("normal"));
  const ChatResult r = client.complete(kAsk);
  BOOST_TEST_REQUIRE(r.ok, r.error);
  BOOST_TEST(r.text.find("資料によると: 【gomi.md / 粗大ごみ】") == 0u, r.text);
  const std::string recorded = model.requests();
  BOOST_TEST(recorded.find("\"model\": \"city-model\"") != std::string::npos, recorded);
  BOOST_TEST(recorded.find("Bearer test-key-not-a-secret") != std::string::npos);
  BOOST_TEST(recorded.find("粗大ごみの出し方は？") != std::string::npos);
  std::vector<std::string> pieces;
  const ChatResult s = client.complete(kAsk, [&](std::string_view p) { pieces.emplace_back(p); });
  BOOST_TEST_REQUIRE(s.ok, s.error);
  BOOST_TEST(pieces.size() > 3u);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  BOOST_TEST(joined == s.text);
  BOOST_TEST(s.text == r.text);
  // A body that ends with the connection (no length, no chunks), as some
  // proxies send it: read whole when TLS ends cleanly (close_notify); one
  // whose end cannot be told from a cut is an error, never an answer.
  ChatClient closing(model.options("closing"));
  const ChatResult c = closing.complete(kAsk);
  BOOST_TEST_REQUIRE(c.ok, c.error);
  BOOST_TEST(c.text == r.text);
  std::string streamed;
  const ChatResult cs = closing.complete(kAsk, [&](std::string_view p) { streamed += p; });
  BOOST_TEST_REQUIRE(cs.ok, cs.error);
  BOOST_TEST(streamed == r.text);
  const ChatResult u = ChatClient(model.options("unframed")).complete(kAsk);
  BOOST_TEST(!u.ok);
  BOOST_TEST(u.error.find("ended before the endpoint's answer was complete") != std::string::npos, u.error);
}

BOOST_AUTO_TEST_CASE(an_endpoint_down_slow_dripping_or_wrong_is_a_clear_error_within_the_deadline) {
  FakeModel model;
  struct Case {
    const char* mode;
    const char* says;
    int attempts;  ///< tried again only where that can help
  };
  for (const Case& c : {Case{"slow", "did not answer within the time-out", 1},
                        Case{"drip", "did not finish its answer within the time-out", 1},
                        Case{"garbage", "not a chat completion", 1},
                        Case{"huge", "more than max-bytes", 1},
                        Case{"error", "HTTP 500", 3}}) {
    BOOST_TEST_CONTEXT(c.mode) {
      ChatOptions o = model.options(c.mode);
      o.timeout = std::chrono::milliseconds(std::string(c.mode) == "error" ? 3000 : 1500);
      o.retries = std::string(c.mode) == "error" ? 2 : 0;
      ChatClient client(o);
      const auto t0 = Clock::now();
      const ChatResult r = client.complete(kAsk);
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      BOOST_TEST(!r.ok);
      BOOST_TEST(r.error.find(c.says) != std::string::npos, r.error);
      BOOST_TEST(r.attempts == c.attempts);
      BOOST_TEST(seconds < 4.0, seconds);
      BOOST_TEST(r.error.find("粗大ごみ") == std::string::npos, "no value in the error: " << r.error);
    }
  }
  // Nothing listening: retried, then said so, within the deadline.
  ChatOptions down = model.options("normal");
  down.endpoint = "https://localhost:" + std::to_string(test::freePort()) + "/v1";
  down.timeout = std::chrono::milliseconds(2500);
  const auto t0 = Clock::now();
  const ChatResult r = ChatClient(down).complete(kAsk);
  BOOST_TEST(!r.ok);
  BOOST_TEST(r.error.find("cannot reach the endpoint") != std::string::npos, r.error);
  BOOST_TEST(r.attempts == 3);
  BOOST_TEST(std::chrono::duration<double>(Clock::now() - t0).count() < 3.5);
}

// --- the guarded path: guard, knowledge, model, answer ------------------------

namespace {

struct Knowledge {
  test::TempDir dir;
  std::unique_ptr<KnowledgeIndex> index;
  Knowledge() {
    const fs::path k = dir / "knowledge";
    fs::copy(source("config/ai/knowledge"), k, fs::copy_options::recursive);
    fs::copy_file(source("config/concierge/knowledge.xml"), k / "concierge-knowledge.xml");
    index = std::make_unique<KnowledgeIndex>(dir / "index.db");
    index->refresh(k);
  }
};

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

AnswerOptions answering() {
  AnswerOptions o;
  o.handoff = "この質問には AI ではお答えできません。市民課（1番窓口）におたずねください。";
  o.handoffByTopic["ごみ"] = "ごみのことは環境課（電話は市のホームページ）におたずねください。";
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_question_in_the_knowledge_is_answered_from_it_with_its_sources_one_outside_is_handed_off) {
  FakeModel model;
  Knowledge k;
  ChatClient client(model.options("normal"));
  Answerer answerer(*k.index, client, answering());
  const Answer a = answerer.ask("粗大ごみ処理券はいくらですか");
  BOOST_TEST_REQUIRE(!a.handoff, a.text << " " << a.error);
  BOOST_TEST(a.modelCalled);
  BOOST_TEST_REQUIRE(!a.sources.empty());
  BOOST_TEST(a.sources[0].file == "gomi.md");
  BOOST_TEST(a.sources[0].heading == "ごみの出し方 > 粗大ごみ");
  BOOST_TEST(a.text.find("【gomi.md / ごみの出し方 > 粗大ごみ】") != std::string::npos, a.text);
  const std::size_t asked = lines(model.requests());
  // Outside the knowledge: the handoff, and the model is not called at all.
  for (const auto& [question, topic] : std::vector<std::pair<std::string, std::string>>{
           {"明日の天気を教えてください", ""}, {"おすすめのラーメン屋はどこですか", ""}, {"株を買うべきですか", "ごみ"}}) {
    const Answer h = answerer.ask(question, topic);
    BOOST_TEST(h.handoff, question);
    BOOST_TEST(!h.modelCalled);
    BOOST_TEST(h.sources.empty());
    BOOST_TEST(h.text == (topic == "ごみ" ? answering().handoffByTopic["ごみ"] : answering().handoff));
  }
  BOOST_TEST(lines(model.requests()) == asked);
  // The model down: handed off with why, not an error page.
  ChatOptions down = model.options("normal");
  down.endpoint = "https://localhost:" + std::to_string(test::freePort()) + "/v1";
  down.timeout = std::chrono::milliseconds(1500);
  ChatClient nowhere(down);
  const Answer d = Answerer(*k.index, nowhere, answering()).ask("粗大ごみ処理券はいくらですか");
  BOOST_TEST(d.handoff);
  BOOST_TEST(d.error.find("cannot reach the endpoint") != std::string::npos, d.error);
}

BOOST_AUTO_TEST_CASE(the_model_receives_none_of_200_seeded_personal_values_and_answers_are_scanned_too) {
  FakeModel model;
  Knowledge k;
  ChatClient client(model.options("normal"));
  AnswerOptions o = answering();
  o.minCoverage = 0;  // every prompt goes to the model: what it receives is what is measured
  Answerer answerer(*k.index, client, o);
  const auto seeded = test::seededPrompts();
  for (const auto& s : seeded) answerer.ask(s.prompt, "", s.names);
  // Every request the model received, read back as it arrived.
  std::istringstream in(model.requests());
  std::vector<std::string> requests;
  for (std::string line; std::getline(in, line);) requests.push_back(line);
  BOOST_TEST_REQUIRE(requests.size() == seeded.size());
  std::size_t leaked = 0;
  for (std::size_t i = 0; i < seeded.size(); ++i) {
    const auto& s = seeded[i];
    // The user message (the question as masked) and the whole request.
    const std::string& r = requests[i];
    const auto at = r.find("\"role\": \"user\"");
    const std::string user = at == std::string::npos ? r : r.substr(at);
    const bool there = s.digits ? test::digitsIn(user).find(s.value) != std::string::npos : r.find(s.value) != std::string::npos;
    leaked += there;
    BOOST_TEST(!there, s.kind << ": " << s.prompt);
  }
  BOOST_TEST_MESSAGE("seeded prompts to the model: " << seeded.size() << ", values received: " << leaked);
  // Refusing instead of masking: the model is not called.
  AnswerOptions refuse = answering();
  refuse.refusePersonal = true;
  const std::size_t before = lines(model.requests());
  const Answer r = Answerer(*k.index, client, refuse).ask("私の個人番号は123456789018です。児童手当の申請は？");
  BOOST_TEST(r.refused);
  BOOST_TEST(!r.modelCalled);
  BOOST_TEST(r.text.find("個人番号") != std::string::npos, r.text);
  BOOST_TEST(r.text.find("123456789018") == std::string::npos);
  BOOST_TEST(lines(model.requests()) == before);
  // What the model says is scanned before it is returned.
  ChatClient leaking(model.options("leak"));
  const Answer l = Answerer(*k.index, leaking, answering()).ask("粗大ごみ処理券はいくらですか");
  BOOST_TEST(l.text.find("090-1111-2222") == std::string::npos, l.text);
  BOOST_TEST(l.text.find("〔電話番号1〕") != std::string::npos, l.text);
  // Streamed (seven characters an event, the number cut across events):
  // handed on a sentence at a time, each scanned before it goes.
  std::vector<std::string> pieces;
  const Answer s = Answerer(*k.index, leaking, answering()).ask("粗大ごみ処理券はいくらですか", "", {},
                                                                [&](std::string_view p) { pieces.emplace_back(p); });
  std::string joined;
  for (const std::string& p : pieces) joined += p;
  BOOST_TEST(pieces.size() >= 2u, "pieces: " << pieces.size());
  BOOST_TEST(joined == s.text);
  BOOST_TEST(joined.find("〔電話番号1〕") != std::string::npos, joined);
  for (const char* part : {"090", "1111", "2222"}) BOOST_TEST(joined.find(part) == std::string::npos, part);
  BOOST_TEST(s.loggedAnswer.find("1111") == std::string::npos);
  BOOST_TEST(lines(model.requests()) > 0u);
  BOOST_TEST(model.requests().find("\"stream\": true") != std::string::npos);
}

// --- the connector through the real binary ------------------------------------

BOOST_AUTO_TEST_CASE(check_refuses_an_ai_connector_without_its_attestation_and_ask_answers_or_hands_off) {
  FakeModel model;
  test::TempDir dir;
  fs::copy(source("config/ai/knowledge"), dir / "knowledge", fs::copy_options::recursive);
  const auto config = [&](const std::string& extra, const std::string& without) {
    std::string c = "<renkei xmlns=\"urn:renkei:config:1\" instance=\"city\" zone=\"lgwan\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <connector id=\"navi\" plugin=\"ai\">\n"
                    "    <endpoint>https://localhost:" + std::to_string(model.port) + "/normal/v1</endpoint>\n"
                    "    <model>city-model</model>\n"
                    "    <ca>" + (model.dir / "tls/ca.crt").string() + "</ca>\n"
                    "    <no-training>true</no-training>\n"
                    "    <attestation>契約書 第12条</attestation>\n"
                    "    <risk-level>medium</risk-level>\n"
                    "    <knowledge>knowledge</knowledge>\n" + extra +
                    "  </connector>\n</renkei>\n";
    if (!without.empty()) {
      const auto at = c.find("    <" + without + ">");
      c.erase(at, c.find('\n', at) - at + 1);
    }
    test::writeFile(dir / "config.xml", c);
    return (dir / "config.xml").string();
  };
  const std::map<std::string, std::string> env{{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}};
  const auto renkei = [&](std::vector<std::string> args) {
    args.insert(args.begin(), test::renkeiBinary());
    return test::run(args, env);
  };
  for (const char* key : {"no-training", "attestation", "risk-level"}) {
    auto r = renkei({"check", "--config", config("", key)});
    BOOST_TEST(r.exitCode == 2, key);
    BOOST_TEST((r.out + r.err).find("missing required key '" + std::string(key) + "'") != std::string::npos, r.out + r.err);
  }
  auto training = renkei({"check", "--config", config("", "")});
  BOOST_TEST(training.exitCode == 0, training.out + training.err);
  test::writeFile(dir / "config.xml", test::readFile(dir / "config.xml").replace(
                                          test::readFile(dir / "config.xml").find("<no-training>true"), 17,
                                          "<no-training>false"));
  training = renkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(training.exitCode == 2);
  BOOST_TEST((training.out + training.err).find("no-training: the provider must not train") != std::string::npos);

  const std::string good = config("", "");
  auto answered = renkei({"ai", "ask", "--config", good, "--question", "粗大ごみ処理券はいくらですか"});
  BOOST_TEST(answered.exitCode == 0, answered.err);
  BOOST_TEST(answered.out.find("answered (the model was asked)") != std::string::npos, answered.out);
  BOOST_TEST(answered.out.find("source: gomi.md / ごみの出し方 > 粗大ごみ") != std::string::npos, answered.out);
  const std::size_t asked = lines(model.requests());
  auto handed = renkei({"ai", "ask", "--config", good, "--question", "明日の天気は？ 電話は090-1234-5678"});
  BOOST_TEST(handed.out.find("handed off (the model was not asked)") != std::string::npos, handed.out);
  BOOST_TEST(handed.out.find("masked: phone 1") != std::string::npos, handed.out);
  BOOST_TEST(handed.out.find("090-1234-5678") == std::string::npos);
  BOOST_TEST(lines(model.requests()) == asked);
  BOOST_TEST(((fs::status(dir / "ai-index.db").permissions() & fs::perms::others_read) == fs::perms::none));
}
