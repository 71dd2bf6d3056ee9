// The engine seam through the real binary (issue 12): a connector that emits
// on a thread of its own (tests/fixtures/plugins/emitter.cpp) killed with
// SIGKILL 20 times lands every unit once with its state; emitted records are
// mapped by name and routed by record type; a store made before the seam is
// migrated and keeps working; the admin listener serves /metrics and /health.
#define BOOST_TEST_MODULE renkei_seam
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sqlite3.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

std::map<std::string, std::string> pluginEnv() {
  return {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR") + ":" + test::env("RENKEI_TEST_PLUGIN_DIR")}};
}

test::ProcessResult runRenkei(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, pluginEnv());
}

std::vector<std::string> serveArgs(const fs::path& dir) {
  return {test::renkeiBinary(), "serve", "--config", (dir / "config.xml").string()};
}

/// Every line the file sink wrote under `out`.
std::vector<std::string> deliveredLines(const fs::path& out) {
  std::vector<std::string> lines;
  for (const std::string& f : test::listFiles(out)) {
    std::istringstream in(test::readFile(out / f));
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) lines.push_back(l);
  }
  return lines;
}

/// Rows of a one-column query on the SQLite store.
std::vector<std::string> sqlite(const fs::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return out;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr) == SQLITE_OK)
    while (sqlite3_step(s) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(s, 0);
      out.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
    }
  sqlite3_finalize(s);
  sqlite3_close(h);
  return out;
}

// The shared helpers (test_support): GET and the admin listener's port.
using Http = test::HttpReply;
Http get(int port, const std::string& path) { return test::httpGet(port, path); }
using test::adminPort;

bool waitFor(const std::function<bool()>& ready, int seconds);

/// Waits (up to `seconds`) until `ready` holds.
bool waitFor(const std::function<bool()>& ready, int seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ready();
}

void writeEmitterConfig(const fs::path& dir, int units, int records, const std::string& extra = {}) {
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"seam\" zone=\"lgwan\">\n"
                  "  <pipeline poll-interval=\"200ms\" batch-records=\"7\"/>\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n" +
                      extra +
                      "  <connector id=\"gen\" plugin=\"fixture-emitter\"><directory>gen</directory>"
                      "<units>" + std::to_string(units) + "</units><records>" + std::to_string(records) +
                      "</records></connector>\n"
                      "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                      "  <route id=\"items\" from=\"gen\" records=\"test.item\" to=\"out\"/>\n"
                      "</renkei>\n");
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_emitter_lands_every_unit_once_through_twenty_sigkills) {
  test::TempDir dir;
  const int units = 1500, records = 10;
  writeEmitterConfig(dir.path(), units, records);
  std::mt19937 random(20261130);
  int kills = 0;
  for (int run = 0; kills < 20 && run < 100; ++run) {
    auto child = test::spawn(serveArgs(dir.path()), dir / ("run" + std::to_string(run)), pluginEnv());
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(40, 250)(random)));
    test::ProcessResult r;
    if (child.finished(r)) BOOST_FAIL("serve ended on its own: " << r.err);
    ::kill(child.pid, SIGKILL);
    if (child.wait().signal == SIGKILL) ++kills;
    if (fs::exists(dir / "gen/done")) break;
  }
  BOOST_TEST_MESSAGE("killed " << kills << " times; emitter at unit " << test::readFile(dir / "gen/next"));
  BOOST_TEST(kills >= 20, "only " << kills << " kills landed before the emitter finished");

  auto child = test::spawn(serveArgs(dir.path()), dir / "last", pluginEnv());
  const std::size_t expected = static_cast<std::size_t>(units * records);
  const bool complete = waitFor(
      [&] { return fs::exists(dir / "gen/done") && deliveredLines(dir / "out/out").size() >= expected; }, 60);
  ::kill(child.pid, SIGTERM);
  auto last = child.wait();
  BOOST_TEST(last.exitCode == 0, last.err);
  BOOST_TEST_REQUIRE(complete, "not everything arrived: " << deliveredLines(dir / "out/out").size() << " of "
                                                          << expected);
  const auto lines = deliveredLines(dir / "out/out");
  const std::set<std::string> unique(lines.begin(), lines.end());
  BOOST_TEST(lines.size() == expected);  // nothing twice
  BOOST_TEST(unique.size() == expected);
  BOOST_TEST(lines.front().find("{\"unit\":\"unit-") == 0, lines.front());
  // Each unit's state row committed with its records, once.
  BOOST_TEST(sqlite(dir / "renkei.db", "SELECT COUNT(*) FROM st_gen_units") == std::vector<std::string>{"1500"});
  BOOST_TEST(sqlite(dir / "renkei.db", "SELECT COUNT(*) FROM emissions WHERE emitter = 'gen'") ==
             std::vector<std::string>{"1500"});
  // The batches know what they hold.
  BOOST_TEST(sqlite(dir / "renkei.db", "SELECT DISTINCT record_type || '/' || zone FROM batches") ==
             std::vector<std::string>{"test.item/lgwan"});
  // The second emission of every unit was acknowledged without effect.
  BOOST_TEST(last.err.find("dead letter") == std::string::npos, last.err);
}

BOOST_AUTO_TEST_CASE(emitted_records_are_mapped_by_name_and_routed_by_record_type) {
  test::TempDir dir;
  test::writeFile(dir / "items.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<layout xmlns="urn:renkei:layout:1" id="items" record="test.item">
  <jsonl/>
  <field name="value" pii="none"/>
  <field name="unit" pii="none"/>
  <field name="absent" pii="none"/>
</layout>
)");
  test::writeFile(dir / "map.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<mapping xmlns="urn:renkei:mapping:1" id="items" version="1">
  <source layout="items.xml"/>
  <target record="test.mapped" zone="lgwan"/>
  <field to="item" from="value" required="true"/>
  <field to="of" from="unit"/>
  <field to="missing" from="absent"/>
</mapping>
)");
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"seam\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"gen\" plugin=\"fixture-emitter\"><directory>gen</directory>"
                  "<units>3</units><records>2</records></connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"items\" from=\"gen\" records=\"test.item\" to=\"out\" mapping=\"map.xml\"/>\n"
                  "</renkei>\n");
  auto check = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST_REQUIRE(check.exitCode == 0, check.out << check.err);
  auto child = test::spawn(serveArgs(dir.path()), dir / "serve", pluginEnv());
  const bool complete = waitFor([&] { return deliveredLines(dir / "out/out").size() >= 6; }, 30);
  ::kill(child.pid, SIGTERM);
  child.wait();
  BOOST_TEST_REQUIRE(complete);
  const auto lines = deliveredLines(dir / "out/out");
  BOOST_TEST(lines.size() == 6u);
  BOOST_TEST(lines.front() == "{\"item\":\"unit-0/0\",\"of\":\"unit-0\",\"missing\":\"\"}");
  BOOST_TEST(sqlite(dir / "renkei.db", "SELECT DISTINCT record_type FROM batches") ==
             std::vector<std::string>{"test.mapped"});

  // A route may not take records from an instance that emits none, nor a
  // source's items by a record type: check says so with the line.
  test::writeFile(dir / "bad.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"seam\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"gen\" plugin=\"fixture-emitter\"><directory>gen</directory></connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"a\" from=\"out\" records=\"test.item\" to=\"out\"/>\n"
                  "  <route id=\"b\" from=\"gen\" to=\"out\"/>\n"
                  "</renkei>\n");
  auto bad = runRenkei({"check", "--config", (dir / "bad.xml").string()});
  BOOST_TEST(bad.exitCode == 2);
  BOOST_TEST(bad.err.find("bad.xml:6: route 'a': connector 'out' (file) emits no records") != std::string::npos,
             bad.err);
  BOOST_TEST(bad.err.find("bad.xml:7: route 'b': connector 'gen' (fixture-emitter) cannot be a source; its roles: "
                          "emitter (take what it emits with records=\"type\")") != std::string::npos,
             bad.err);
}

// A store made by the main branch before the seam (schema 2, one dead
// letter: tests/cases/store/v2/README.md): migrated on first use, its dead
// letter resubmitted and delivered by today's binary.
BOOST_AUTO_TEST_CASE(a_store_made_before_the_seam_is_migrated_and_keeps_working) {
  test::TempDir dir;
  fs::copy_file(source("tests/cases/store/v2/config.xml"), dir / "config.xml");
  {
    sqlite3* db = nullptr;
    BOOST_TEST_REQUIRE(sqlite3_open((dir / "renkei.db").c_str(), &db) == SQLITE_OK);
    const std::string dump = test::readFile(source("tests/cases/store/v2/renkei.sql"));
    char* error = nullptr;
    const int rc = sqlite3_exec(db, dump.c_str(), nullptr, nullptr, &error);
    BOOST_TEST_REQUIRE(rc == SQLITE_OK, (error ? error : ""));
    sqlite3_close(db);
  }
  BOOST_TEST_REQUIRE(sqlite(dir / "renkei.db", "PRAGMA user_version") == std::vector<std::string>{"2"});
  fs::remove(dir / "out/out");
  fs::create_directories(dir / "out/tmp");
  fs::create_directories(dir / "out/out");
  fs::create_directories(dir / "drop/in");
  auto status = runRenkei({"status", "--config", (dir / "config.xml").string()});
  BOOST_TEST(status.exitCode == 3, status.out << status.err);  // a dead letter (issue 13: status exit codes)
  BOOST_TEST(status.out.find("1 dead") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("problem: route lines to out: 1 dead letters") != std::string::npos, status.out);
  // Migrated to the current schema by the first command; the dead letter's
  // error keeps the time it happened (2026-11-30T20:03:07Z, shown in Tokyo time).
  BOOST_TEST(sqlite(dir / "renkei.db", "PRAGMA user_version") == std::vector<std::string>{"8"});
  BOOST_TEST(status.out.find("last error 2026-12-01 05:03:07 +09:00: folder") != std::string::npos, status.out);
  auto resubmit = runRenkei({"deadletters", "resubmit", "--config", (dir / "config.xml").string(), "--all", "--by",
                             "test"});
  BOOST_TEST_REQUIRE(resubmit.exitCode == 0, resubmit.out << resubmit.err);
  auto serve = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(serve.exitCode == 0, serve.out << serve.err);
  BOOST_TEST(deliveredLines(dir / "out/out") ==
                 (std::vector<std::string>{"{\"line\":\"a\"}", "{\"line\":\"b\"}", "{\"line\":\"c\"}"}),
             boost::test_tools::per_element());
  // The same file again is still known as taken in (its register survived).
  test::writeFile(dir / "drop/in/again.txt", "a\nb\nc\n");
  auto again = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(again.err.find("has the same content as 'lines.txt'") != std::string::npos, again.err);
}

// A part that fails to start (the admin listener's port is taken) after
// the pipeline started an emitter: every part that started is stopped, the
// last first, and serve exits 2 naming the config line — it does not hang
// with the emitter's thread running.
BOOST_AUTO_TEST_CASE(a_part_that_fails_to_start_stops_the_parts_started_before_it) {
  test::TempDir dir;
  const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  BOOST_REQUIRE(::listen(taken, 1) == 0);
  socklen_t length = sizeof at;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&at), &length);
  const int port = ntohs(at.sin_port);
  writeEmitterConfig(dir.path(), 1000, 10,
                     "  <admin address=\"127.0.0.1\" port=\"" + std::to_string(port) + "\"/>\n");
  const auto began = std::chrono::steady_clock::now();
  auto r = test::run({"/usr/bin/timeout", "-s", "KILL", "60", test::renkeiBinary(), "serve", "--config",
                      (dir / "config.xml").string()},
                     pluginEnv());
  ::close(taken);
  BOOST_TEST(r.exitCode == 2, r.err);
  BOOST_TEST(r.err.find("config.xml:5: admin:") != std::string::npos, r.err);
  BOOST_TEST((std::chrono::steady_clock::now() - began < std::chrono::seconds(20)));
}

BOOST_AUTO_TEST_CASE(the_admin_listener_serves_metrics_and_health) {
  test::TempDir dir;
  writeEmitterConfig(dir.path(), 5, 4, "  <admin address=\"127.0.0.1\" port=\"0\"/>\n");
  auto child = test::spawn(serveArgs(dir.path()), dir / "serve", pluginEnv());
  const int port = adminPort(child, "http");
  BOOST_TEST_REQUIRE(port != 0, test::readFile(child.err));
  waitFor([&] { return deliveredLines(dir / "out/out").size() >= 20; }, 30);
  const Http health = get(port, "/health");
  BOOST_TEST(health.status == 200);
  BOOST_TEST(health.body == "{\"status\":\"ok\"}\n");
  Http metrics;
  waitFor(
      [&] {
        metrics = get(port, "/metrics");
        return metrics.body.find("renkei_records_delivered_total{route=\"items\",target=\"out\"} 20") !=
               std::string::npos;
      },
      20);
  BOOST_TEST(metrics.status == 200);
  for (const char* line : {"# TYPE renkei_records_delivered_total counter",
                           "renkei_records_taken_in_total{route=\"items\"} 20",
                           "renkei_emissions_total{route=\"items\"} 5",
                           "renkei_emissions_seen_total{route=\"items\"} 5",
                           "renkei_outbox_pending_records{route=\"items\",target=\"out\"} 0",
                           "renkei_fixture_emitted_total{plugin=\"gen\"} 5",
                           "renkei_store_up 1",
                           "# TYPE renkei_store_commit_seconds histogram"})
    BOOST_TEST(metrics.body.find(line) != std::string::npos, line << " not in\n" << metrics.body);
  BOOST_TEST(get(port, "/nothing").status == 404);
  // The pages the plugin added: served within their permission, a
  // handler's failure answered without its text.
  const Http units = get(port, "/plugins/gen/units");
  BOOST_TEST(units.status == 200);
  BOOST_TEST(units.body == "{\"units\":5}\n", units.body);
  const Http reset = get(port, "/plugins/gen/reset");
  BOOST_TEST(reset.status == 403);
  BOOST_TEST(reset.body.find("needs the 'operate' permission") != std::string::npos, reset.body);
  const Http broken = get(port, "/plugins/gen/broken");
  BOOST_TEST(broken.status == 500);
  BOOST_TEST(broken.body.find("123-4567") == std::string::npos, broken.body);
  const Http index = get(port, "/plugins");
  BOOST_TEST(index.body.find("\"path\":\"/plugins/gen/reset\",\"help\":\"start the units again\","
                             "\"permission\":\"operate\"") != std::string::npos,
             index.body);
  ::kill(child.pid, SIGTERM);
  BOOST_TEST(child.wait().exitCode == 0);
  BOOST_TEST(test::readFile(child.err).find("call=admin gen/reset") != std::string::npos);
}

// The audit trail with the real host: pages served and refused, a config
// reload and an operator's acknowledgement each leave a sealed entry before
// they answer; `renkei audit verify` finds the trail intact, then names the
// entry edited in the store; the fiscal year's export lists them.
BOOST_AUTO_TEST_CASE(the_audit_trail_keeps_every_access_and_action_and_verify_finds_a_change) {
  test::TempDir dir;
  fs::create_directories(dir / "secrets");
  fs::create_directories(dir / "anchors");
  test::writeFile(dir / "secrets/audit.key", std::string(64, 'a') + "\n");
  ::chmod((dir / "secrets/audit.key").c_str(), 0600);
  writeEmitterConfig(dir.path(), 5, 4,
                     "  <admin address=\"127.0.0.1\" port=\"0\"/>\n"
                     "  <audit key-file=\"secrets/audit.key\" anchor-file=\"anchors/audit.txt\"/>\n");
  BOOST_TEST_REQUIRE(runRenkei({"check", "--config", (dir / "config.xml").string()}).exitCode == 0);
  auto child = test::spawn(serveArgs(dir.path()), dir / "serve", pluginEnv());
  const int port = adminPort(child, "http");
  BOOST_TEST_REQUIRE(port != 0, test::readFile(child.err));
  BOOST_TEST(get(port, "/plugins/gen/units").status == 200);
  BOOST_TEST(get(port, "/plugins/gen/reset").status == 403);
  auto reload = runRenkei({"reload", "--config", (dir / "config.xml").string()});
  BOOST_TEST(reload.exitCode == 0, reload.err);
  BOOST_TEST(test::waitFor([&] { return test::readFile(child.err).find("reload: serving with the new config") !=
                                        std::string::npos; }, 20));
  ::kill(child.pid, SIGTERM);
  BOOST_TEST(child.wait().exitCode == 0);
  // An operator's command, after the host: into the same trail.
  auto replay = runRenkei({"replay", "--config", (dir / "config.xml").string(), "--route", "items", "--since", "1h",
                           "--by", "係長"});
  BOOST_TEST(replay.exitCode == 0, replay.err);

  auto verify = runRenkei({"audit", "verify", "--config", (dir / "config.xml").string()});
  BOOST_TEST(verify.exitCode == 0, verify.out << verify.err);
  BOOST_TEST(verify.out.find("audit trail: intact: 4 entries") != std::string::npos, verify.out);
  // The newest seal at each stop of the store: the reload's and the last.
  BOOST_TEST(verify.out.find("2 anchors") != std::string::npos, verify.out);
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat((dir / "anchors/audit.txt").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);

  // Exported for the fiscal year this runs in (April to March).
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  const int fiscal = local.tm_year + 1900 - (local.tm_mon < 3 ? 1 : 0);
  auto csv = runRenkei({"audit", "export", "--config", (dir / "config.xml").string(), "--fiscal-year",
                        std::to_string(fiscal), "--out", (dir / "fy.csv").string()});
  BOOST_TEST(csv.exitCode == 0, csv.err);
  const std::string rows = test::readFile(dir / "fy.csv");
  for (const char* action : {"\"admin gen/units\"", "\"admin gen/reset\"", "\"config reload\""})
    BOOST_TEST(rows.find(action) != std::string::npos, action << " in " << rows);
  BOOST_TEST(rows.find("\"refused: needs operate\"") != std::string::npos, rows);
  BOOST_TEST(rows.find("\"係長\",\"command line\",\"replay\"") != std::string::npos, rows);
  BOOST_TEST(runRenkei({"audit", "export", "--config", (dir / "config.xml").string(), "--fiscal-year",
                        std::to_string(fiscal), "--out", (dir / "fy.csv").string()})
                 .exitCode != 0);  // never over a file

  // Someone with the store's file (not the key) edits who looked.
  sqlite3* db = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open((dir / "renkei-audit.db").c_str(), &db) == SQLITE_OK);
  BOOST_TEST(sqlite3_exec(db, "UPDATE audit_trail SET who = 'nobody' WHERE seq = 2", nullptr, nullptr, nullptr) ==
             SQLITE_OK);
  sqlite3_close(db);
  auto after = runRenkei({"audit", "verify", "--config", (dir / "config.xml").string()});
  BOOST_TEST(after.exitCode == 1, after.out << after.err);
  BOOST_TEST(after.out.find("NOT intact: entry 2 was changed") != std::string::npos, after.out);

  // A key others can read is refused before anything runs.
  ::chmod((dir / "secrets/audit.key").c_str(), 0644);
  auto check = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(check.exitCode == 2);
  BOOST_TEST((check.out + check.err).find("config.xml:6: audit: key-file:") != std::string::npos, check.out << check.err);
}

// Issue 12, item 6: a route taking a slow item (a large export, OCR later)
// does not hold up another route's intake; with one intake worker it would.
BOOST_AUTO_TEST_CASE(a_slow_route_does_not_stall_the_others) {
  for (const int threads : {2, 1}) {
    BOOST_TEST_CONTEXT("intake-threads " << threads) {
      test::TempDir dir;
      test::writeFile(dir / "config.xml",
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<renkei xmlns=\"urn:renkei:config:1\" instance=\"seam\" zone=\"lgwan\">\n"
                      "  <pipeline intake-threads=\"" + std::to_string(threads) + "\"/>\n"
                      "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                      "  <connector id=\"a\" plugin=\"file\"><directory>a</directory><settle>0s</settle></connector>\n"
                      "  <connector id=\"b\" plugin=\"file\"><directory>b</directory><settle>0s</settle></connector>\n"
                      "  <connector id=\"out-a\" plugin=\"file\"><directory>out-a</directory></connector>\n"
                      "  <connector id=\"out-b\" plugin=\"file\"><directory>out-b</directory></connector>\n"
                      "  <route id=\"slow\" from=\"a\" to=\"out-a\"/>\n"
                      "  <route id=\"quick\" from=\"b\" to=\"out-b\"/>\n"
                      "</renkei>\n");
      test::writeFile(dir / "a/in/slow-export.txt", "large\n");
      test::writeFile(dir / "b/in/quick.txt", "small\n");
      auto env = pluginEnv();
      env["RENKEI_FAULT"] = "slow-take";
      const auto started = std::chrono::steady_clock::now();
      auto child = test::spawn({test::renkeiBinary(), "serve", "--config", (dir / "config.xml").string(), "--once"},
                               dir / "serve", env);
      BOOST_TEST_REQUIRE(waitFor([&] { return !deliveredLines(dir / "out-b/out").empty(); }, 30));
      const double quick = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const bool slowDone = !deliveredLines(dir / "out-a/out").empty();
      auto r = child.wait();
      BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
      BOOST_TEST(deliveredLines(dir / "out-a/out") == std::vector<std::string>{"{\"line\":\"large\"}"});
      if (threads == 2) {
        // The quick route went on while the slow one was taken in (an
        // ordering, not a time: a loaded machine starts slowly).
        BOOST_TEST(!slowDone, "the quick route waited for the slow one (" << quick << " s)");
      } else {
        BOOST_TEST(quick >= 3.0, quick << " s");  // one worker: behind the slow route
      }
    }
  }
}

// The admin listener with a certificate speaks HTTPS (TLS 1.2+) and nothing
// else; made at test time by scripts/make-certs.
BOOST_AUTO_TEST_CASE(the_admin_listener_speaks_https_with_a_certificate) {
  test::TempDir dir;
  Poco::Net::initializeSSL();
  auto certs = test::run({source("scripts/make-certs").string(), (dir / "tls").string(), "window-a"});
  BOOST_TEST_REQUIRE(certs.exitCode == 0, certs.err);
  writeEmitterConfig(dir.path(), 1, 1,
                     "  <admin address=\"127.0.0.1\" port=\"0\" certificate=\"tls/server.crt\" key=\"tls/server.key\"/>\n");
  auto child = test::spawn(serveArgs(dir.path()), dir / "serve", pluginEnv());
  const int port = adminPort(child, "https");
  BOOST_TEST_REQUIRE(port != 0, test::readFile(child.err));
  Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", "",
                                                           (dir / "tls/ca.crt").string(),
                                                           Poco::Net::Context::VERIFY_STRICT);
  Poco::Net::HTTPSClientSession session("localhost", static_cast<Poco::UInt16>(port), context);
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/health", Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  BOOST_TEST(static_cast<int>(response.getStatus()) == 200);
  BOOST_TEST(std::string(std::istreambuf_iterator<char>(in), {}) == "{\"status\":\"ok\"}\n");
  // Plain HTTP on the same port gets no answer.
  bool plainAnswered = true;
  try {
    plainAnswered = get(port, "/health").status == 200;
  } catch (const std::exception&) {
    plainAnswered = false;
  }
  BOOST_TEST(!plainAnswered);
  ::kill(child.pid, SIGTERM);
  BOOST_TEST(child.wait().exitCode == 0);
}

// Emitted records a route's mapping rejects, and records no route takes, are
// held in the store with their reasons: `renkei status` shows them (exit 6),
// /metrics counts them from the store (after a restart too), and after a fix
// `renkei held resubmit` has the running host take them again.
BOOST_AUTO_TEST_CASE(rejected_and_unrouted_emitted_records_are_held_shown_and_taken_again) {
  test::TempDir dir;
  test::writeFile(dir / "items.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<layout xmlns="urn:renkei:layout:1" id="items" record="test.item">
  <jsonl/>
  <field name="value" pii="none"/>
  <field name="n" pii="none"/>
</layout>
)");
  auto writeMapping = [&](const std::string& pattern) {
    test::writeFile(dir / "map.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<mapping xmlns="urn:renkei:mapping:1" id="items" version="1">
  <source layout="items.xml"/>
  <target record="test.mapped" zone="lgwan"/>
  <field to="item" from="value" required="true" pattern=")" + pattern + R"("/>
</mapping>
)");
  };
  writeMapping("unit-[0-9]+/[0-4]");  // rejects n = 5 … 9
  auto config = [&](const std::string& extra) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<renkei xmlns=\"urn:renkei:config:1\" instance=\"seam\" zone=\"lgwan\">\n"
           "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
           "  <admin address=\"127.0.0.1\" port=\"0\"/>\n"
           "  <pipeline poll-interval=\"200ms\"/>\n"
           "  <connector id=\"gen\" plugin=\"fixture-emitter\"><directory>gen</directory>"
           "<units>3</units><records>10</records></connector>\n"
           "  <connector id=\"other\" plugin=\"fixture-emitter\"><directory>other</directory>"
           "<units>1</units><records>4</records><record-type>test.other</record-type></connector>\n"
           "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
           "  <route id=\"items\" from=\"gen\" records=\"test.item\" to=\"out\" mapping=\"map.xml\"/>\n" +
           extra + "</renkei>\n";
  };
  test::writeFile(dir / "config.xml", config(""));
  auto check = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST_REQUIRE(check.exitCode == 0, check.out << check.err);

  auto child = test::spawn(serveArgs(dir.path()), dir / "serve", pluginEnv());
  const int port = adminPort(child, "http");
  BOOST_TEST_REQUIRE(port > 0);
  const bool taken = waitFor(
      [&] {
        return deliveredLines(dir / "out/out").size() >= 15 && fs::exists(dir / "other/done") &&
               sqlite(dir / "renkei.db", "SELECT COUNT(*) FROM held_records") == std::vector<std::string>{"19"};
      },
      30);
  const Http metrics = get(port, "/metrics");
  ::kill(child.pid, SIGTERM);
  child.wait();
  BOOST_TEST_REQUIRE(taken, test::readFile(child.err));
  BOOST_TEST(deliveredLines(dir / "out/out").size() == 15u);
  BOOST_TEST(metrics.body.find("renkei_held_records{emitter=\"gen\",record_type=\"test.item\",route=\"items\"} 15") !=
                 std::string::npos,
             metrics.body);
  BOOST_TEST(metrics.body.find("renkei_held_records{emitter=\"other\",record_type=\"test.other\",route=\"(none)\"} 4") !=
                 std::string::npos,
             metrics.body);

  // Status: the problem and its exit code, from the store (no host running).
  auto status = runRenkei({"status", "--config", (dir / "config.xml").string()});
  BOOST_TEST(status.exitCode == 6, status.out << status.err);
  BOOST_TEST(status.out.find("gen test.item: 15 held (route items)") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("last reason: pattern:item") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("other test.other: 4 held (no route takes them)") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("problem: gen test.item: 15 records held (route items)") != std::string::npos, status.out);
  auto list = runRenkei({"held", "list", "--config", (dir / "config.xml").string(), "--route", "items"});
  BOOST_TEST(list.exitCode == 0, list.err);
  BOOST_TEST(list.out.find("15 held records") != std::string::npos, list.out);
  BOOST_TEST(list.out.find("record 6 of unit 'unit-0'") != std::string::npos, list.out);
  // The values stay out of the listing; show --records prints them.
  BOOST_TEST(list.out.find("unit-0/5") == std::string::npos, list.out);

  // Fixed: the mapping takes every n, and a route takes test.other.
  writeMapping("unit-[0-9]+/[0-9]");
  test::writeFile(dir / "config.xml",
                  config("  <route id=\"others\" from=\"other\" records=\"test.other\" to=\"out\"/>\n"));
  auto resubmit = runRenkei({"held", "resubmit", "--config", (dir / "config.xml").string(), "--all", "--by", "tester"});
  BOOST_TEST(resubmit.exitCode == 0, resubmit.err);
  BOOST_TEST(resubmit.out.find("resubmit: 19 held records") != std::string::npos, resubmit.out);
  auto again = test::spawn(serveArgs(dir.path()), dir / "serve2", pluginEnv());
  const bool all = waitFor([&] { return deliveredLines(dir / "out/out").size() >= 34; }, 30);
  ::kill(again.pid, SIGTERM);
  again.wait();
  BOOST_TEST_REQUIRE(all, test::readFile(again.err));
  BOOST_TEST(deliveredLines(dir / "out/out").size() == 34u);  // nothing twice
  auto after = runRenkei({"status", "--config", (dir / "config.xml").string()});
  BOOST_TEST(after.exitCode == 0, after.out);
  BOOST_TEST(after.out.find("held records (renkei held list") == std::string::npos, after.out);
  BOOST_TEST(after.out.find("tester  held resubmit") != std::string::npos, after.out);
}
