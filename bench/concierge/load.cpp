// renkei-bench-concierge: load on the concierge's HTTPS JSON API, or on a
// bare HTTPS server in this process (the floor: the same TLS, HTTP and
// threads, a fixed answer, no sessions or judgement).
//
//   renkei-bench-concierge --port P --ca CA [--clients N] [--seconds S]
//   renkei-bench-concierge --floor --cert C --key K --ca CA [--clients N] [--seconds S]
//   renkei-bench-concierge --port P --ca CA --open N     (opens N sessions, prints nothing else)
//
// Each client thread keeps one TLS connection and repeats a resident's
// path: open a 転入 session, answer three questions, make the token. It
// prints p50/p99 of the answer calls and of the token calls, and paths/s.
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const char* kHousehold =
    R"({"move_date":"%s","address":"架空県見本市中央一丁目1番1号","members":[)"
    R"({"name":"試験 一郎","kana":"シケン イチロウ","birth":"1985-06-15","sex":"1","relationship":"世帯主"},)"
    R"({"name":"試験 さくら","kana":"シケン サクラ","birth":"2019-04-01","sex":"2","relationship":"子"}]})";

class Fixed final : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    std::string ignored(std::istreambuf_iterator<char>(request.stream()), {});
    static const std::string body =
        R"({"session":"0123456789abcdef0123456789abcdef","progress":33,"done":false,"question":{"id":"q","text":"t","choices":[]}})";
    response.setContentType("application/json");
    response.setContentLength(static_cast<std::streamsize>(body.size()));
    response.send() << body;
  }
};
class FixedFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override { return new Fixed; }
};

std::string sessionOf(const std::string& body) {
  const std::size_t at = body.find("\"session\":\"");
  return at == std::string::npos ? std::string() : body.substr(at + 11, 32);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  bool floor = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--floor") floor = true;
    else if (i + 1 < argc) opt[a] = argv[++i];
  }
  const int clients = opt.count("--clients") ? std::stoi(opt["--clients"]) : 1;
  const int seconds = opt.count("--seconds") ? std::stoi(opt["--seconds"]) : 10;
  Poco::Net::initializeSSL();
  int port = opt.count("--port") ? std::stoi(opt["--port"]) : 0;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  if (floor) {
    Poco::Net::Context::Ptr sctx = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, opt["--key"], opt["--cert"],
                                                          "", Poco::Net::Context::VERIFY_NONE);
    Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0), 64, sctx);
    port = socket.address().port();
    auto params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(16);
    params->setMaxQueued(256);
    server = std::make_unique<Poco::Net::HTTPServer>(new FixedFactory, socket, params);
    server->start();
  }
  Poco::Net::Context::Ptr ctx =
      new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "", opt["--ca"], Poco::Net::Context::VERIFY_RELAXED);
  char move[16];
  {
    const std::time_t t = std::time(nullptr) + 20 * 86400;
    std::tm tm{};
    localtime_r(&t, &tm);
    std::strftime(move, sizeof move, "%Y-%m-%d", &tm);
  }
  char household[1024];
  std::snprintf(household, sizeof household, kHousehold, move);

  auto call = [&](Poco::Net::HTTPSClientSession& s, const std::string& path, const std::string& body) {
    Poco::Net::HTTPRequest request("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setHost("localhost");
    request.setKeepAlive(true);
    request.setContentType("application/json");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    s.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = s.receiveResponse(response);
    std::string out(std::istreambuf_iterator<char>(in), {});
    if (response.getStatus() != 200) throw std::runtime_error(path + ": " + std::to_string(response.getStatus()) + " " + out);
    return out;
  };

  if (opt.count("--open")) {
    Poco::Net::HTTPSClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port), ctx);
    s.setKeepAlive(true);
    for (int i = 0, n = std::stoi(opt["--open"]); i < n; ++i) call(s, "/api/v1/sessions", R"({"event":"tennyu"})");
    return 0;
  }

  std::mutex mutex;
  std::vector<double> answers, tokens;
  std::atomic<long> paths{0}, failures{0};
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      std::vector<double> a, t;
      try {
        Poco::Net::HTTPSClientSession s("127.0.0.1", static_cast<Poco::UInt16>(port), ctx);
        s.setKeepAlive(true);
        s.setTimeout(Poco::Timespan(30, 0));
        while (Clock::now() < until) {
          const std::string id = sessionOf(call(s, "/api/v1/sessions", R"({"event":"tennyu"})"));
          for (int choice : {1, 1, 2}) {
            const auto t0 = Clock::now();
            call(s, floor ? "/answer" : "/api/v1/sessions/" + id + "/answer", "{\"choice\":" + std::to_string(choice) + "}");
            a.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          }
          const auto t0 = Clock::now();
          call(s, floor ? "/token" : "/api/v1/sessions/" + id + "/token", household);
          t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
          ++paths;
        }
      } catch (const std::exception& e) {
        if (failures++ == 0) std::cerr << "a client stopped: " << e.what() << "\n";
      }
      std::lock_guard<std::mutex> lock(mutex);
      answers.insert(answers.end(), a.begin(), a.end());
      tokens.insert(tokens.end(), t.begin(), t.end());
    });
  for (auto& t : threads) t.join();
  if (server) server->stopAll(true);
  std::printf("{\"clients\":%d,\"paths_per_s\":%.1f,\"answer_p50_ms\":%.2f,\"answer_p99_ms\":%.2f,"
              "\"token_p50_ms\":%.2f,\"token_p99_ms\":%.2f,\"failed_clients\":%ld}\n",
              clients, static_cast<double>(paths) / seconds, percentile(answers, 0.5), percentile(answers, 0.99),
              percentile(tokens, 0.5), percentile(tokens, 0.99), failures.load());
  return failures ? 1 : 0;
}
