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

#include "chat_client.h"
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
