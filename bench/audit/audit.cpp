// The audit trail's own speed: entries appended per second from N threads
// (each waiting for its entry to be committed, as an API call does), and
// `verify` over the whole trail. On the embedded store (SQLite, full sync)
// unless --postgres CONNECTION is given.
//
//   renkei-bench-audit --store DIR [--entries N] [--threads T] [--verify-only]
//
// Prints one JSON line per phase. Not a test: run it by hand
// (bench/README.md).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audit_trail.h"
#include "store/sql_db.h"
#include "store/store.h"

using namespace renkei;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string dir, postgres;
  std::int64_t entries = 100000;
  int threads = 8;
  bool verifyOnly = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--store" && i + 1 < argc) dir = argv[++i];
    else if (a == "--postgres" && i + 1 < argc) postgres = argv[++i];
    else if (a == "--entries" && i + 1 < argc) entries = std::stoll(argv[++i]);
    else if (a == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else if (a == "--verify-only") verifyOnly = true;
    else {
      std::fprintf(stderr, "usage: renkei-bench-audit --store DIR [--postgres CONN] [--entries N] [--threads T] [--verify-only]\n");
      return 2;
    }
  }
  if (dir.empty()) return 2;
  store::StoreConfig config;
  if (!postgres.empty()) {
    config.driver = "postgresql";
    config.connection = postgres;
  } else {
    config.path = std::filesystem::path(dir) / "audit-bench.db";
  }
  const std::string key(64, 'k');
  const std::filesystem::path anchors = std::filesystem::path(dir) / "anchors.txt";
  auto offset = [](std::int64_t) -> std::int64_t { return 540; };
  if (!verifyOnly) {
    audit::Trail trail(config, key, anchors, offset);
    std::atomic<std::int64_t> next{0};
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::int64_t n; (n = next++) < entries;) {
          AuditEntry a;
          a.who = "window-" + std::to_string(t);
          a.address = "10.0.0." + std::to_string(t);
          a.action = "ResidentService.getResident";
          a.recordType = "resident";
          a.keyName = "resident_code";
          a.key = std::to_string(10000000000LL + n);
          a.fields = {"name", "kana", "birth_date", "address"};
          a.result = "found=1";
          trail.append(audit::fromAudit(a, 1'796'778'000'000 + n * 10));
        }
      });
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("{\"phase\":\"append\",\"entries\":%lld,\"threads\":%d,\"seconds\":%.3f,\"per_s\":%.0f}\n",
                static_cast<long long>(entries), threads, s, entries / s);
    std::fflush(stdout);
  }
  auto db = audit::openTrailDatabase(config, false);
  const auto start = Clock::now();
  const audit::Finding f = audit::verify(*db, key, anchors);
  const double s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"phase\":\"verify\",\"entries\":%lld,\"ok\":%s,\"seconds\":%.3f,\"per_s\":%.0f}\n",
              static_cast<long long>(f.entries), f.ok ? "true" : "false", s, f.entries / s);
  return f.ok ? 0 : 1;
}
