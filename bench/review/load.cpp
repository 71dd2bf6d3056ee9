// The load generator of bench/review: review staff on TLS connections to
// ReviewService.
//
//   renkei-bench-review approve --port P --ca CA --cert CERT --key KEY --clients N
//     every application in 受付 is started and approved, shared among N
//     staff; prints {"applications", "seconds", "per_s", "errors"}.
//   renkei-bench-review start …  the same, started only (審査中), for the staff load.
//   renkei-bench-review staff --port P --ca CA --cert CERT --key KEY --clients N --seconds S
//     N staff, each in a closed loop: list 50 applications in 審査中, open
//     one (getApplication), assign it to themselves (act); prints p50/p99/max
//     per call and overall, calls/s, errors.
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <thrift/TOutput.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TMultiplexedProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>

#include "api/ReviewService.h"

namespace api = renkei::api;
namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;
using Clock = std::chrono::steady_clock;

namespace {

struct Conn {
  std::shared_ptr<tt::TTransport> transport;
  std::unique_ptr<api::ReviewServiceClient> review;
};

Conn connect(std::shared_ptr<tt::TSSLSocketFactory> factory, const std::string& host, int port) {
  Conn c;
  c.transport = std::make_shared<tt::TBufferedTransport>(factory->createSocket(host, port));
  auto protocol = std::make_shared<tp::TBinaryProtocol>(c.transport);
  c.review = std::make_unique<api::ReviewServiceClient>(std::make_shared<tp::TMultiplexedProtocol>(protocol, "ReviewService"));
  c.transport->open();
  return c;
}

/// N connections opened one after the other, each with a first call (the
/// TLS handshake happens there), before any clock starts: the host bounds
/// concurrent handshakes per address, as it should.
std::vector<Conn> connectAll(std::shared_ptr<tt::TSSLSocketFactory> factory, const std::string& host, int port, int n) {
  std::vector<Conn> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(connect(factory, host, port));
    std::vector<api::Summary> warm;
    out.back().review->listApplications(warm, "none", "", "", 1);
  }
  return out;
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  apache::thrift::GlobalOutput.setOutputFunction([](const char*) {});
  if (argc < 2) {
    std::cerr << "usage: renkei-bench-review approve|staff --port P --ca CA --cert CERT --key KEY [--clients N] [--seconds S]\n";
    return 2;
  }
  const std::string mode = argv[1];
  std::map<std::string, std::string> o{{"--clients", "1"}, {"--seconds", "10"}, {"--host", "localhost"}};
  for (int i = 2; i + 1 < argc; i += 2) o[argv[i]] = argv[i + 1];
  for (const char* k : {"--port", "--ca", "--cert", "--key"})
    if (!o.count(k)) {
      std::cerr << "renkei-bench-review: " << k << " is required\n";
      return 2;
    }
  const int clients = std::stoi(o["--clients"]);
  const int port = std::stoi(o["--port"]);
  auto factory = std::make_shared<tt::TSSLSocketFactory>();
  factory->authenticate(true);
  factory->loadTrustedCertificates(o["--ca"].c_str());
  factory->loadCertificate(o["--cert"].c_str());
  factory->loadPrivateKey(o["--key"].c_str());

  if (mode == "approve" || mode == "start") {
    // Page after page of what is in 受付 (5,000 at most per call), shared
    // among the staff, until none is left.
    std::atomic<int> errors{0};
    std::vector<Conn> conns = connectAll(factory, o["--host"], port, clients);
    std::size_t total = 0;
    const auto t0 = Clock::now();
    for (;;) {
      std::vector<api::Summary> page;
      conns[0].review->listApplications(page, "received", "", "", 5000);
      if (page.empty()) break;
      std::atomic<std::size_t> next{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < clients; ++t)
        threads.emplace_back([&, t] {
          Conn& c = conns[static_cast<std::size_t>(t)];
          api::ActionRequest r;
          r.who = "bench-" + std::to_string(t);
          for (std::size_t i = next++; i < page.size(); i = next++) {
            try {
              api::Application a;
              r.action = "start";
              c.review->act(a, page[i].arrivalNo, r);
              if (mode == "approve") {
                r.action = "approve";
                c.review->act(a, page[i].arrivalNo, r);
              }
            } catch (const std::exception&) {
              ++errors;
            }
          }
        });
      for (auto& t : threads) t.join();
      total += page.size();
      if (errors > 100) break;
    }
    const std::size_t applications = total;
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::cout << "{\"applications\": " << applications << ", \"seconds\": " << s << ", \"per_s\": " << applications / s
              << ", \"errors\": " << errors << "}\n";
    return 0;
  }
  if (mode != "staff") {
    std::cerr << "renkei-bench-review: mode is approve or staff\n";
    return 2;
  }
  const double seconds = std::stod(o["--seconds"]);
  std::mutex m;
  std::map<std::string, std::vector<double>> lat;
  std::string firstError;
  std::atomic<int> errors{0};
  std::atomic<long> calls{0};
  std::vector<Conn> conns = connectAll(factory, o["--host"], port, clients);
  const auto t0 = Clock::now();
  const auto until = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      std::map<std::string, std::vector<double>> mine;
      std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1u);
      Conn& c = conns[static_cast<std::size_t>(t)];
      const std::string who = "staff-" + std::to_string(t);
      while (Clock::now() < until) {
        try {
          auto a0 = Clock::now();
          std::vector<api::Summary> page;
          c.review->listApplications(page, "reviewing", "", "", 50);
          auto a1 = Clock::now();
          mine["list"].push_back(std::chrono::duration<double, std::milli>(a1 - a0).count());
          if (page.empty()) continue;
          const std::string no = page[rng() % page.size()].arrivalNo;
          api::Application app;
          c.review->getApplication(app, no);
          auto a2 = Clock::now();
          mine["get"].push_back(std::chrono::duration<double, std::milli>(a2 - a1).count());
          api::ActionRequest r;
          r.action = "assign";
          r.who = who;
          r.assignee = who;
          try {
            c.review->act(app, no, r);
          } catch (const api::ApiError&) {
            // another staff member changed it at the same moment: counted, not an error
          }
          auto a3 = Clock::now();
          mine["act"].push_back(std::chrono::duration<double, std::milli>(a3 - a2).count());
          calls += 3;
        } catch (const std::exception& e) {
          if (errors++ == 0) {
            std::lock_guard lock(m);
            firstError = e.what();
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
      std::lock_guard lock(m);
      for (auto& [k, v] : mine) lat[k].insert(lat[k].end(), v.begin(), v.end());
    });
  for (auto& t : threads) t.join();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<double> all;
  std::cout << "{\"clients\": " << clients << ", \"calls\": " << calls << ", \"calls_per_s\": " << calls / s;
  for (auto& [k, v] : lat) {
    all.insert(all.end(), v.begin(), v.end());
    std::cout << ", \"" << k << "_p50_ms\": " << pct(v, 50) << ", \"" << k << "_p99_ms\": " << pct(v, 99);
  }
  std::cout << ", \"p50_ms\": " << pct(all, 50) << ", \"p99_ms\": " << pct(all, 99) << ", \"max_ms\": " << pct(all, 100)
            << ", \"errors\": " << errors << ", \"first_error\": \"" << firstError << "\"}\n";
  return 0;
}
