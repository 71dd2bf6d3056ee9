// The resident connector through the real binary: golden cases of full and
// differential exports (tests/cases/resident/<case>/: exports taken in file
// name order, expected-events.jsonl and expected-households.jsonl the
// derived records of all of them in order, as routes with records="…"
// deliver them unmapped), the sample CP932 exports through the events and
// households routes, and an export taken again.
#define BOOST_TEST_MODULE renkei_resident_connector
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <map>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

test::ProcessResult runRenkei(const std::vector<std::string>& args, const std::string& fault = {}) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  std::map<std::string, std::string> env{{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}};
  if (!fault.empty()) env["RENKEI_FAULT"] = fault;
  return test::run(full, env);
}

/// Takes what the events (".events.jsonl") or households
/// (".households.jsonl") route delivered away, concatenated by file name
/// (batch ids: route, export, hash, sequence).
std::string takeDerived(const fs::path& dir, const std::string& kind) {
  const fs::path out = dir / (kind == ".events.jsonl" ? "events" : "households") / "out";
  std::string all;
  for (const std::string& name : test::listFiles(out)) {
    all += test::readFile(out / name);
    fs::remove(out / name);
  }
  return all;
}

/// Sinks and routes for the connector's derived records (unmapped: as emitted).
const char* const kDerivedRoutes =
    "  <connector id=\"events-out\" plugin=\"file\"><directory>events</directory></connector>\n"
    "  <connector id=\"households-out\" plugin=\"file\"><directory>households</directory></connector>\n"
    "  <route id=\"events\" from=\"jumin\" records=\"resident.event\" to=\"events-out\"/>\n"
    "  <route id=\"households\" from=\"jumin\" records=\"resident.household\" to=\"households-out\"/>\n";

/// `mapping`: a mapping file for the route (else text lines pass through).
void writeConfig(const fs::path& dir, const fs::path& layout, const std::string& mapping = {}) {
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"resident-test\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"jumin\" plugin=\"resident\">\n"
                  "    <directory>drop</directory><pattern>*.csv</pattern>\n"
                  "    <layout>" + layout.string() + "</layout>\n"
                  "  </connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"jumin\" from=\"jumin\" to=\"out\"" +
                      (mapping.empty() ? std::string() : " mapping=\"" + mapping + "\"") + "/>\n" +
                      kDerivedRoutes +
                  "</renkei>\n");
}

}  // namespace

BOOST_AUTO_TEST_CASE(golden_cases_full_and_differential_exports) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(source("tests/cases/resident"))) {
    if (!entry.is_directory()) continue;
    ++cases;
    const fs::path c = entry.path();
    BOOST_TEST_CONTEXT("case " << c.filename().string()) {
      test::TempDir dir;
      writeConfig(dir.path(), c / "layout.xml");
      std::vector<fs::path> exports;
      for (const auto& f : fs::directory_iterator(c))
        if (f.path().extension() == ".csv") exports.push_back(f.path());
      std::sort(exports.begin(), exports.end());
      BOOST_REQUIRE(!exports.empty());
      std::string events, households;
      for (const fs::path& e : exports) {
        fs::create_directories(dir / "drop/in");
        fs::copy_file(e, dir / "drop/in" / e.filename());
        auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
        BOOST_TEST_REQUIRE(r.exitCode == 0, r.out << r.err);
        events += takeDerived(dir.path(), ".events.jsonl");
        households += takeDerived(dir.path(), ".households.jsonl");
      }
      BOOST_TEST(events == test::readFile(c / "expected-events.jsonl"));
      BOOST_TEST(households == test::readFile(c / "expected-households.jsonl"));

      // The same differential again under another name: the host takes it
      // as a new file, the connector knows its content and raises nothing.
      fs::copy_file(exports[1], dir / "drop/in" / ("again-" + exports[1].filename().string()));
      auto again = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
      BOOST_TEST(again.exitCode == 0, again.err);
      BOOST_TEST(test::listFiles(dir / "events/out").empty());
    }
  }
  BOOST_TEST(cases >= 1);
}

// Killed with SIGKILL after the export's records are stored (staged) and
// before its unit commits: nothing of it reaches a target, the register is
// unchanged, and the restart commits the export, its events, households
// and register together, once.
BOOST_AUTO_TEST_CASE(sigkill_before_the_unit_commits_leaves_nothing_half_done) {
  const fs::path c = source("tests/cases/resident/moves");
  test::TempDir dir;
  writeConfig(dir.path(), c / "layout.xml");
  fs::create_directories(dir / "drop/in");
  fs::copy_file(c / "1-R_20261101_FULL.csv", dir / "drop/in/1-R_20261101_FULL.csv");
  BOOST_TEST_REQUIRE(runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}).exitCode == 0);
  takeDerived(dir.path(), ".households.jsonl");
  const auto exportsBefore = test::listFiles(dir / "out/out");
  fs::copy_file(c / "2-R_20261102_DIFF.csv", dir / "drop/in/2-R_20261102_DIFF.csv");
  auto killed = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}, "before-unit-commit");
  BOOST_TEST_REQUIRE(killed.signal == SIGKILL, killed.out << killed.err);
  BOOST_TEST(test::listFiles(dir / "events/out").empty());       // no event delivered
  BOOST_TEST(test::listFiles(dir / "households/out").empty());
  BOOST_TEST(test::listFiles(dir / "out/out") == exportsBefore);  // nor the export's records
  BOOST_TEST(test::listFiles(dir / "drop/processing").size() == 1u);
  auto again = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(again.exitCode == 0, again.out << again.err);
  const std::string expected = test::readFile(c / "expected-events.jsonl");
  const std::string events = takeDerived(dir.path(), ".events.jsonl");
  BOOST_TEST(events == expected.substr(0, events.size()));
  BOOST_TEST(test::countLines(events) == 5u);
  BOOST_TEST(test::listFiles(dir / "out/out").size() == exportsBefore.size() + 1);
  // And the register holds the differential: the next full extract raises
  // just its own two events.
  fs::copy_file(c / "3-R_20261201_FULL.csv", dir / "drop/in/3-R_20261201_FULL.csv");
  BOOST_TEST_REQUIRE(runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}).exitCode == 0);
  BOOST_TEST(test::countLines(takeDerived(dir.path(), ".events.jsonl")) == 2u);
}

// Issue 12: 20 SIGKILLs at every point of the resident connector's unit
// (claim, staged batches, before and after the unit commits, delivery):
// the events and households delivered equal the golden ones, none twice.
BOOST_AUTO_TEST_CASE(twenty_sigkills_across_the_unit_lose_and_repeat_nothing) {
  const fs::path c = source("tests/cases/resident/moves");
  test::TempDir dir;
  writeConfig(dir.path(), c / "layout.xml");
  fs::create_directories(dir / "drop/in");
  std::vector<fs::path> exports;
  for (const auto& f : fs::directory_iterator(c))
    if (f.path().extension() == ".csv") exports.push_back(f.path());
  std::sort(exports.begin(), exports.end());
  const std::vector<std::string> points{"after-claim", "after-first-batch", "before-unit-commit", "after-unit-commit",
                                        "after-deliver", "after-intake"};
  int kills = 0;
  std::size_t point = 0;
  for (const fs::path& e : exports) {
    fs::copy_file(e, dir / "drop/in" / e.filename());
    // Each export: killed at every point in turn until a run gets through.
    for (int run = 0; run < 20; ++run) {
      auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"},
                         kills < 20 ? points[point++ % points.size()] : std::string());
      if (r.signal == SIGKILL) {
        ++kills;
        continue;
      }
      BOOST_TEST_REQUIRE(r.exitCode == 0, r.out << r.err);
      if (test::listFiles(dir / "drop/in").empty() && test::listFiles(dir / "drop/processing").empty()) break;
    }
  }
  for (int i = 0; kills < 20 && i < 40; ++i) {
    // More kills on a last, repeated export (the same content: a duplicate).
    fs::copy_file(exports.back(), dir / "drop/in" / ("again-" + std::to_string(i) + ".csv"));
    auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}, points[point++ % points.size()]);
    if (r.signal == SIGKILL) ++kills;
  }
  auto last = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(last.exitCode == 0, last.out << last.err);
  BOOST_TEST(kills >= 20);
  BOOST_TEST(takeDerived(dir.path(), ".events.jsonl") == test::readFile(c / "expected-events.jsonl"));
  BOOST_TEST(takeDerived(dir.path(), ".households.jsonl") == test::readFile(c / "expected-households.jsonl"));
}

// Issue 13, item 11: the connector chooses the format. With its layout
// switched to fixed-width, the same CSV-written mapping reads the exports
// through it (one change), and the records are those of the CSV export; a
// route that names another layout than the connector's is refused.
BOOST_AUTO_TEST_CASE(the_connectors_layout_is_the_routes_one_change_swaps_the_format) {
  auto delivered = [](const fs::path& dir) {
    std::string all;
    for (const auto& f : test::listFiles(dir / "out/out")) all += test::readFile(dir / "out/out" / f);
    return all;
  };
  auto run = [&](const char* layout, const char* sample) {
    auto dir = std::make_unique<test::TempDir>();
    writeConfig(dir->path(), source(std::string("mappings/layouts/") + layout),
                source("mappings/resident-to-crm.xml").string());
    std::string xml = test::readFile(*dir / "config.xml");
    xml.replace(xml.find("<pattern>*.csv</pattern>"), std::string("<pattern>*.csv</pattern>").size(),
                "<pattern>JUMIN_*</pattern>");
    test::writeFile(*dir / "config.xml", xml);
    auto check = runRenkei({"check", "--config", (*dir / "config.xml").string()});
    BOOST_TEST(check.exitCode == 0, check.out << check.err);
    fs::create_directories(*dir / "drop/in");
    fs::copy_file(source(std::string("config/samples/jumin/") + sample), *dir / "drop/in" / sample);
    auto r = runRenkei({"serve", "--config", (*dir / "config.xml").string(), "--once"});
    BOOST_TEST(r.exitCode == 0, r.out << r.err);
    const std::string out = delivered(dir->path());
    return std::make_pair(std::move(dir), out);
  };
  auto csv = run("jumin-csv.xml", "JUMIN_20261101_FULL.csv");
  auto fixed = run("jumin-fixed.xml", "JUMIN_20261101_FULL.dat");
  BOOST_TEST(test::countLines(csv.second) == 395u);
  BOOST_TEST((csv.second == fixed.second), "the fixed-width export mapped differently from the CSV one");

  test::TempDir dir;
  writeConfig(dir.path(), source("mappings/layouts/jumin-fixed.xml"), source("mappings/resident-to-crm.xml").string() +
                                                                          "\" layout=\"" +
                                                                          source("mappings/layouts/jumin-csv.xml").string());
  auto r = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(r.exitCode == 2, r.out << r.err);
  BOOST_TEST(r.err.find("config.xml:9: route 'jumin': it reads through the layout '") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("jumin-fixed.xml'; both must read the same layout") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(sample_exports_feed_the_crm_and_raise_events_for_other_routes) {
  test::TempDir dir;
  fs::create_directories(dir / "drop/in");
  fs::copy_file(source("config/samples/jumin/JUMIN_20261101_FULL.csv"), dir / "drop/in/JUMIN_20261101_FULL.csv");
  const std::string m = source("mappings").string();
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"resident-sample\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"jumin\" plugin=\"resident\">\n"
                  "    <directory>drop</directory><pattern>*.csv</pattern>\n"
                  "    <layout>" + m + "/layouts/jumin-csv.xml</layout>\n"
                  "    <reason-codes>" + m + "/codes/move-reason.tsv</reason-codes>\n"
                  "  </connector>\n"
                  "  <connector id=\"event-out\" plugin=\"file\"><directory>event-out</directory></connector>\n"
                  "  <connector id=\"household-out\" plugin=\"file\"><directory>household-out</directory></connector>\n"
                  "  <module id=\"crm\" plugin=\"crm\"/>\n"
                  "  <route id=\"jumin\" from=\"jumin\" to=\"crm\" mapping=\"" + m + "/resident-to-crm.xml\"/>\n"
                  "  <route id=\"events\" from=\"jumin\" records=\"resident.event\" to=\"event-out crm\" mapping=\"" + m +
                      "/resident-events.xml\"/>\n"
                  "  <route id=\"households\" from=\"jumin\" records=\"resident.household\" to=\"household-out\" mapping=\"" + m +
                      "/resident-households.xml\"/>\n"
                  "</renkei>\n");
  auto full = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(full.exitCode == 0, full.out << full.err);
  BOOST_TEST(full.err.find("(full extract, baseline): 400 residents changed, 0 move events, 167 households") !=
                 std::string::npos,
             full.err);
  BOOST_TEST(test::listFiles(dir / "event-out/out").empty());  // a baseline raises no events

  fs::copy_file(source("config/samples/jumin/JUMIN_20261102_DIFF.csv"), dir / "drop/in/JUMIN_20261102_DIFF.csv");
  auto diff = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(diff.exitCode == 0, diff.out << diff.err);
  BOOST_TEST(diff.err.find("(differential): 30 residents changed, 30 move events") != std::string::npos, diff.err);
  std::string events;
  for (const std::string& f : test::listFiles(dir / "event-out/out")) events += test::readFile(dir / "event-out/out" / f);
  BOOST_TEST(test::countLines(events) == 30u);
  // Mapped through resident-events.xml: named events, ISO dates, no names or addresses.
  BOOST_TEST(events.find("\"event\":\"転入\"") != std::string::npos);
  BOOST_TEST(events.find("\"move_date\":\"20") != std::string::npos);
  BOOST_TEST(events.find("氏名") == std::string::npos);
  BOOST_TEST(events.find("住所") == std::string::npos);
  BOOST_TEST(test::listFiles(dir / "household-out/out").size() >= 2u);
}

// A malformed export is the host's to quarantine: no events, no change to
// the register, the file in error/ with its reason; the next export goes on.
BOOST_AUTO_TEST_CASE(a_malformed_export_raises_nothing_and_is_quarantined) {
  const fs::path c = source("tests/cases/resident/moves");
  test::TempDir dir;
  // The route reads the export through the same layout as the connector.
  test::writeFile(dir / "map.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                   "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"codes\" version=\"1\">\n"
                                   "  <source layout=\"" + (c / "layout.xml").string() + "\"/>\n"
                                   "  <target record=\"resident\" zone=\"lgwan\"/>\n"
                                   "  <field to=\"resident_code\" from=\"住民票コード\"/>\n"
                                   "</mapping>\n");
  writeConfig(dir.path(), c / "layout.xml", (dir / "map.xml").string());
  fs::create_directories(dir / "drop/in");
  fs::copy_file(c / "1-R_20261101_FULL.csv", dir / "drop/in/1-R_20261101_FULL.csv");
  BOOST_TEST_REQUIRE(runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}).exitCode == 0);
  takeDerived(dir.path(), ".households.jsonl");
  // A quoted field that never ends: the whole file is unusable.
  test::writeFile(dir / "drop/in/2-R_BROKEN.csv",
                  "住民票コード,世帯番号,続柄,異動事由,異動日,届出日,削除フラグ\n10000000006,H1,05,02,\"5061101,5061102,0\n");
  fs::copy_file(c / "2-R_20261102_DIFF.csv", dir / "drop/in/3-R_20261102_DIFF.csv");
  auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(r.exitCode == 1, r.out << r.err);  // a file went to error/
  BOOST_TEST(fs::exists(dir / "drop/error/2-R_BROKEN.csv"));
  BOOST_TEST(fs::exists(dir / "drop/error/2-R_BROKEN.csv.error.txt"));
  // The host refuses it before the connector's domain pass: no register
  // change, no events (the connector never saw it).
  BOOST_TEST(r.err.find("'2-R_BROKEN.csv' (") == std::string::npos, r.err);
  // The differential after it raises exactly its own events.
  const std::string events = takeDerived(dir.path(), ".events.jsonl");
  BOOST_TEST(test::countLines(events) == 5u, events);
}

BOOST_AUTO_TEST_CASE(a_missing_transport_key_is_a_config_error_naming_it) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"bad\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"jumin\" plugin=\"resident\">\n"
                  "    <transport>odbc</transport>\n"
                  "    <layout>" + source("mappings/layouts/jumin-csv.xml").string() + "</layout>\n"
                  "  </connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"r\" from=\"jumin\" to=\"out\"/>\n"
                  "</renkei>\n");
  // Issue 12: renkei check configures the plugin (validation mode), so the
  // error is check's, with its line, not a surprise at serve.
  auto c = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(c.exitCode == 2, c.out << c.err);
  BOOST_TEST(c.err.find("config.xml:4: connector 'jumin' (resident): transport 'odbc' needs the key 'connection'") !=
                 std::string::npos,
             c.err);
  auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(r.exitCode != 0);
  BOOST_TEST(r.err.find("config.xml:4") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("transport 'odbc' needs the key 'connection'") != std::string::npos, r.err);
}

// The ODBC transport: a view of the core system polled by watermark (here
// through the SQLite ODBC driver), spooled as JSON Lines, read through a
// jsonl layout; the first poll is the baseline, a later change an event.
BOOST_AUTO_TEST_CASE(an_odbc_view_as_transport) {
  test::TempDir dir;
  const std::string cs =
      "Driver=" + test::sqliteOdbcDriver() + ";Database=" + (dir / "core.sqlite3").string() + ";Timeout=20000;";
  test::OdbcDb core(cs);  // the core system's database
  auto sql = [&](const std::string& statement) { core.exec(statement); };
  sql("CREATE TABLE jumin (code TEXT PRIMARY KEY, household TEXT, relation TEXT, reason TEXT, moved TEXT, "
      "notified TEXT, deleted TEXT, updated_at TEXT NOT NULL)");
  sql("INSERT INTO jumin VALUES ('10000000001', 'H000000001', '02', '01', '5010501', '5010502', '0', '2026-11-01T09')");
  sql("INSERT INTO jumin VALUES ('10000000002', 'H000000001', '03', '01', '5010501', '5010502', '0', '2026-11-01T09')");
  test::writeFile(dir / "view.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<layout xmlns="urn:renkei:layout:1" id="jumin-view" record="resident">
  <jsonl/>
  <field name="住民票コード" path="code" pii="identifier"/>
  <field name="世帯番号" path="household" pii="identifier"/>
  <field name="続柄" path="relation" pii="personal"/>
  <field name="異動事由" path="reason" pii="none"/>
  <field name="異動日" path="moved" pii="none"/>
  <field name="届出日" path="notified" pii="none"/>
  <field name="削除フラグ" path="deleted" pii="none"/>
  <field name="updated_at" path="updated_at" pii="none"/>
</layout>
)");
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"resident-odbc\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"jumin\" plugin=\"resident\">\n"
                  "    <transport>odbc</transport>\n"
                  "    <connection>" + cs + "</connection>\n"
                  "    <query>SELECT code, household, relation, reason, moved, notified, deleted, updated_at FROM jumin "
                  "WHERE updated_at &gt; ? ORDER BY updated_at, code</query>\n"
                  "    <watermark-column>updated_at</watermark-column>\n"
                  "    <interval>0s</interval>\n"
                  "    <spool>spool</spool>\n"
                  "    <layout>view.xml</layout>\n"
                  "  </connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"jumin\" from=\"jumin\" to=\"out\"/>\n" +
                      std::string(kDerivedRoutes) +
                  "</renkei>\n");
  auto first = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(first.exitCode == 0, first.out << first.err);
  BOOST_TEST(first.err.find("(differential, baseline): 2 residents changed, 0 move events, 1 households") !=
                 std::string::npos,
             first.err);
  BOOST_TEST(takeDerived(dir.path(), ".events.jsonl").empty());
  BOOST_TEST(takeDerived(dir.path(), ".households.jsonl").find("\"member_codes\":\"10000000001 10000000002\"") !=
             std::string::npos);
  // The spouse moves out (転出): one event, the household down to one.
  sql("UPDATE jumin SET reason = '06', moved = '5061201', notified = '5061202', updated_at = '2026-12-01T10' "
      "WHERE code = '10000000002'");
  auto second = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(second.exitCode == 0, second.out << second.err);
  const std::string events = takeDerived(dir.path(), ".events.jsonl");
  BOOST_TEST(test::countLines(events) == 1u, events);
  BOOST_TEST(events.find("\"event\":\"転出\",\"event_code\":\"06\",\"resident_code\":\"10000000002\"") !=
             std::string::npos,
             events);
  BOOST_TEST(takeDerived(dir.path(), ".households.jsonl").find("\"member_codes\":\"10000000001\",\"members\":\"1\"") !=
             std::string::npos);
}

// Issue 11, item 7: a full extract cut short would remove much of the
// register (385 消除 from an export cut at 500 of 1,000 rows, silently).
// Above max-full-removal (default 5 %) it is held with the counts, nothing
// of it taken in; an operator releases it with `renkei resident release`
// (recorded with who, by name and content), never by dropping a file.
BOOST_AUTO_TEST_CASE(a_truncated_full_extract_is_held_until_an_operator_releases_it) {
  test::TempDir dir;
  writeConfig(dir.path(), source("mappings/layouts/jumin-csv.xml"), source("mappings/resident-to-crm.xml").string());
  fs::create_directories(dir / "drop/in");
  const std::string full = test::readFile(source("config/samples/jumin/JUMIN_20261101_FULL.csv"));
  test::writeFile(dir / "drop/in/JUMIN_20261101_FULL.csv", full);
  BOOST_TEST_REQUIRE(runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}).exitCode == 0);
  takeDerived(dir.path(), ".households.jsonl");
  const std::size_t delivered = test::countLines([&] {
    std::string all;
    for (const auto& f : test::listFiles(dir / "out/out")) all += test::readFile(dir / "out/out" / f);
    return all;
  }());
  // The same export cut after its first 201 lines (header + 200 records).
  std::size_t cut = 0;
  for (int n = 0; n < 201; ++n) cut = full.find('\n', cut) + 1;
  test::writeFile(dir / "drop/in/JUMIN_20261102_FULL.csv", full.substr(0, cut));
  auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(r.exitCode == 0, r.err);
  BOOST_TEST(r.err.find("would remove 200 of 400 current residents (50%), more than max-full-removal (5%): held") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(test::listFiles(dir / "drop/held") ==
                 (std::vector<std::string>{"JUMIN_20261102_FULL.csv", "JUMIN_20261102_FULL.csv.held.txt"}),
             boost::test_tools::per_element());
  BOOST_TEST(test::listFiles(dir / "events/out").empty());  // no 消除 raised
  BOOST_TEST(test::listFiles(dir / "drop/done").size() == 1u);  // only the first export went through the route
  std::size_t after = 0;
  for (const auto& f : test::listFiles(dir / "out/out")) after += test::countLines(test::readFile(dir / "out/out" / f));
  BOOST_TEST(after == delivered);

  // A file dropped into a release/ folder is no release (anyone who can
  // write in/ could write there): nothing happens to it.
  fs::create_directories(dir / "drop/release");
  test::writeFile(dir / "drop/release/JUMIN_20261103_FULL.csv", full.substr(0, cut));
  auto bypass = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(bypass.err.find("JUMIN_20261103") == std::string::npos, bypass.err);
  BOOST_TEST(fs::exists(dir / "drop/release/JUMIN_20261103_FULL.csv"));
  // The operator lists what is held and releases it: recorded with who.
  auto held = runRenkei({"resident", "held", "--config", (dir / "config.xml").string()});
  BOOST_TEST(held.exitCode == 0, held.err);
  BOOST_TEST(held.out.find("JUMIN_20261102_FULL.csv  reason: full extract") != std::string::npos, held.out);
  BOOST_TEST(held.out.find("1 export is held") != std::string::npos, held.out);
  auto release = runRenkei({"resident", "release", "--config", (dir / "config.xml").string(), "--file",
                            "JUMIN_20261102_FULL.csv", "--by", "住民係"});
  BOOST_TEST_REQUIRE(release.exitCode == 0, release.out << release.err);
  BOOST_TEST(release.out.find("released: 'JUMIN_20261102_FULL.csv'") != std::string::npos, release.out);
  auto nothing = runRenkei({"resident", "release", "--config", (dir / "config.xml").string(), "--file", "x.csv"});
  BOOST_TEST(nothing.exitCode == 1);
  // Released by an operator: taken in, 200 消除 events (every one of the
  // sample's 400 residents is current; the cut keeps 200 of them).
  // Killed before its unit commits: the restart still knows it was released.
  auto killed = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}, "before-unit-commit");
  BOOST_TEST(killed.signal == SIGKILL);
  auto released = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(released.exitCode == 0, released.err);
  BOOST_TEST(released.err.find("released by 住民係 (renkei resident release): removes 200 of 400") != std::string::npos,
             released.err);
  auto status = runRenkei({"status", "--config", (dir / "config.xml").string()});
  BOOST_TEST(status.out.find("住民係  resident release: connector") != std::string::npos, status.out);
  // Not held again; the reason file stays as the record of why it was held.
  BOOST_TEST(test::listFiles(dir / "drop/held") == std::vector<std::string>{"JUMIN_20261102_FULL.csv.held.txt"},
             boost::test_tools::per_element());
  const std::string events = takeDerived(dir.path(), ".events.jsonl");
  std::size_t removals = 0;
  for (std::size_t at = 0; (at = events.find("\"event\":\"消除\"", at)) != std::string::npos; ++at) ++removals;
  BOOST_TEST(removals == 200u);
  BOOST_TEST(test::listFiles(dir / "drop/done").size() == 2u);
}

// reprocess worked for the file connector only ("this source keeps no
// finished items" with the file in done/); the resident connector hands it
// to its transport, and its warnings file (promised by the summary) is written.
BOOST_AUTO_TEST_CASE(a_resident_export_is_reprocessed_and_its_warnings_file_written) {
  test::TempDir dir;
  writeConfig(dir.path(), source("mappings/layouts/jumin-csv.xml"), source("mappings/resident-to-crm.xml").string());
  fs::create_directories(dir / "drop/in");
  fs::copy_file(source("config/samples/jumin/JUMIN_20261101_FULL.csv"), dir / "drop/in/JUMIN_20261101_FULL.csv");
  auto first = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(first.exitCode == 0, first.err);
  if (first.out.find("warning") != std::string::npos && first.out.find("0 warnings") == std::string::npos) {
    bool warnings = false;
    for (const auto& f : test::listFiles(dir / "drop/rejects")) warnings = warnings || f.find(".warnings.jsonl") != std::string::npos;
    BOOST_TEST(warnings, first.out);
  }
  auto reprocess = runRenkei({"reprocess", "--config", (dir / "config.xml").string(), "--route", "jumin", "--file",
                              "JUMIN_20261101_FULL.csv", "--by", "tester"});
  BOOST_TEST_REQUIRE(reprocess.exitCode == 0, reprocess.out << reprocess.err);
  BOOST_TEST(reprocess.out.find("renkei reload --config F") != std::string::npos, reprocess.out);
  auto again = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(again.exitCode == 0, again.err);
  BOOST_TEST(again.out.find("1 done") != std::string::npos, again.out);
  bool generation = false;
  for (const auto& f : test::listFiles(dir / "out/out")) generation = generation || f.find("-g1-") != std::string::npos;
  BOOST_TEST(generation);
}
