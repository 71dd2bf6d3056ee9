// The load generator of bench/lookups: N window systems, each on its own TLS
// connection, calling ResidentService.getResident for random residents of
// the generator's export, for a fixed time. Closed loop by default (each
// client calls again as soon as it has its answer: the host's capacity), or
// paced (--rate calls/s per client; latency counted from the planned send
// time, so a slow answer delays the next and is not hidden).
//
//   renkei-bench-lookups --port P --ca CA --cert CERT --key KEY --clients N --seconds S --rows R [--rate C]
//
// Prints one JSON object: clients, calls, calls_per_s, p50_ms, p90_ms,
// p99_ms, max_ms, not_found, errors.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <thrift/TOutput.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TMultiplexedProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>

#include "api/ResidentService.h"

namespace api = renkei::api;
namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  apache::thrift::GlobalOutput.setOutputFunction([](const char*) {});
  std::map<std::string, std::string> o{{"--clients", "1"}, {"--seconds", "10"}, {"--rows", "1000000"},
                                       {"--rate", "0"}, {"--host", "localhost"}};
  for (int i = 1; i + 1 < argc; i += 2) o[argv[i]] = argv[i + 1];
  for (const char* k : {"--port", "--ca", "--cert", "--key"})
    if (!o.count(k)) {
      std::cerr << "renkei-bench-lookups: " << k << " is required\n";
      return 2;
    }
  const int clients = std::stoi(o["--clients"]);
  const double seconds = std::stod(o["--seconds"]);
  const long rows = std::stol(o["--rows"]);
  const double rate = std::stod(o["--rate"]);

  auto factory = std::make_shared<tt::TSSLSocketFactory>();
  factory->authenticate(true);
  factory->loadTrustedCertificates(o["--ca"].c_str());
  factory->loadCertificate(o["--cert"].c_str());
  factory->loadPrivateKey(o["--key"].c_str());

  struct Result {
    std::vector<double> latencies;  // ms
    long notFound = 0, errors = 0;
  };
  std::vector<Result> results(static_cast<std::size_t>(clients));
  std::atomic<int> connected{0};
  std::atomic<bool> go{false};
  Clock::time_point start, end;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      Result& r = results[static_cast<std::size_t>(c)];
      r.latencies.reserve(1 << 16);
      std::mt19937_64 random(static_cast<unsigned long>(c) * 7919 + 1);
      std::shared_ptr<tt::TTransport> transport;
      std::unique_ptr<api::ResidentServiceClient> client;
      try {
        transport = std::make_shared<tt::TBufferedTransport>(factory->createSocket(o["--host"], std::stoi(o["--port"])));
        client = std::make_unique<api::ResidentServiceClient>(std::make_shared<tp::TMultiplexedProtocol>(
            std::make_shared<tp::TBinaryProtocol>(transport), "ResidentService"));
        transport->open();
        api::Resident warm;  // the handshake and the first call before the clock starts
        try {
          client->getResident(warm, "00010000019");
        } catch (const api::ApiError&) {
        }
      } catch (const std::exception& e) {
        std::cerr << "client " << c << ": " << e.what() << "\n";
        ++r.errors;
        ++connected;
        return;
      }
      ++connected;
      while (!go) std::this_thread::yield();
      const auto interval = rate > 0 ? std::chrono::duration<double>(1.0 / rate) : std::chrono::duration<double>(0);
      // Paced clients start spread over one interval, not all at once.
      Clock::time_point planned =
          start + std::chrono::duration_cast<Clock::duration>(interval * (static_cast<double>(c) / clients));
      api::Resident out;
      while (true) {
        if (rate > 0) {
          std::this_thread::sleep_until(planned);
        } else {
          planned = Clock::now();
        }
        if (planned >= end) break;
        // The generator's 住民票コード of row i (tools/gen_residents.py).
        const long i = static_cast<long>(random() % static_cast<unsigned long>(rows));
        char code[16];
        std::snprintf(code, sizeof code, "%011ld", (i * 7919 + 10000019) % 100000000000L);
        try {
          client->getResident(out, code);
        } catch (const api::ApiError&) {
          ++r.notFound;  // a row the mapping rejected: not in the cache
        } catch (const std::exception&) {
          ++r.errors;
          break;
        }
        r.latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - planned).count());
        if (rate > 0) planned += std::chrono::duration_cast<Clock::duration>(interval);
      }
      try {
        transport->close();
      } catch (...) {
      }
    });
  }
  while (connected < clients) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  start = Clock::now();
  end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  go = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> all;
  long notFound = 0, errors = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    notFound += r.notFound;
    errors += r.errors;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    if (all.empty()) return 0.0;
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(all.size())));
    return all[std::clamp<std::size_t>(rank, 1, all.size()) - 1];
  };
  std::printf(
      "{\"clients\": %d, \"rate_per_client\": %g, \"calls\": %zu, \"calls_per_s\": %.0f, \"p50_ms\": %.3f, "
      "\"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"not_found\": %ld, \"errors\": %ld}\n",
      clients, rate, all.size(), static_cast<double>(all.size()) / elapsed, pct(50), pct(90), pct(99),
      all.empty() ? 0.0 : all.back(), notFound, errors);
  return errors ? 1 : 0;
}
