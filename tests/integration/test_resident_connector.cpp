// The resident connector through the real binary: golden cases of full and
// differential exports (tests/cases/resident/<case>/: exports taken in file
// name order, expected-events.jsonl and expected-households.jsonl the
// derived files of all of them in order), the sample CP932 exports through
// the events and households routes, and an export taken again.
#define BOOST_TEST_MODULE renkei_resident_connector
#include <boost/test/unit_test.hpp>

#include <algorithm>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

test::ProcessResult runRenkei(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
}

/// Takes what is in `kind` files in events/in/ away, concatenated by name.
std::string takeDerived(const fs::path& dir, const std::string& kind) {
  std::string out;
  for (const std::string& name : test::listFiles(dir / "events/in")) {
    if (name.size() < kind.size() || name.compare(name.size() - kind.size(), kind.size(), kind) != 0) continue;
    out += test::readFile(dir / "events/in" / name);
    fs::remove(dir / "events/in" / name);
  }
  return out;
}

void writeConfig(const fs::path& dir, const fs::path& layout) {
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"resident-test\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"jumin\" plugin=\"resident\">\n"
                  "    <directory>drop</directory><pattern>*.csv</pattern>\n"
                  "    <layout>" + layout.string() + "</layout>\n"
                  "    <events-directory>events</events-directory>\n"
                  "  </connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"jumin\" from=\"jumin\" to=\"out\"/>\n"
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
      BOOST_TEST(test::listFiles(dir / "events/in").empty());
    }
  }
  BOOST_TEST(cases >= 1);
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
                  "    <events-directory>events</events-directory>\n"
                  "    <reason-codes>" + m + "/codes/move-reason.tsv</reason-codes>\n"
                  "  </connector>\n"
                  "  <connector id=\"events-in\" plugin=\"file\"><directory>events</directory>"
                  "<pattern>*.events.jsonl</pattern></connector>\n"
                  "  <connector id=\"households-in\" plugin=\"file\"><directory>events</directory>"
                  "<pattern>*.households.jsonl</pattern></connector>\n"
                  "  <connector id=\"event-out\" plugin=\"file\"><directory>event-out</directory></connector>\n"
                  "  <connector id=\"household-out\" plugin=\"file\"><directory>household-out</directory></connector>\n"
                  "  <module id=\"crm\" plugin=\"crm\"/>\n"
                  "  <route id=\"jumin\" from=\"jumin\" to=\"crm\" mapping=\"" + m + "/resident-to-crm.xml\"/>\n"
                  "  <route id=\"events\" from=\"events-in\" to=\"event-out\" mapping=\"" + m +
                      "/resident-events.xml\"/>\n"
                  "  <route id=\"households\" from=\"households-in\" to=\"household-out\" mapping=\"" + m +
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
  BOOST_TEST(test::listFiles(dir / "events/error").empty());
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
                  "    <events-directory>events</events-directory>\n"
                  "  </connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"r\" from=\"jumin\" to=\"out\"/>\n"
                  "</renkei>\n");
  auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(r.exitCode != 0);
  BOOST_TEST(r.err.find("config.xml:4") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("transport 'odbc' needs the key 'connection'") != std::string::npos, r.err);
}
