// The welfare connector through the real binary, beside the resident
// connector whose register it checks persons against: the 国保 export of
// tests/tools/gen_welfare.py (synthetic people of the resident sample) taken
// in as facts per person (welfare.kokuho, never an amount); rows for persons
// the resident register does not know held and taken once they are known;
// a trailer that disagrees refusing the export whole; a full export that
// would end 80 % of the recipients held until an operator releases it; the
// same row twice; a date the row does not give properly; SIGKILL before the
// unit commits.
#define BOOST_TEST_MODULE renkei_welfare_connector
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

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

struct City {
  test::TempDir dir;
  explicit City(const std::string& kokuhoExtra = "") {
    for (const char* d : {"jumin/in", "kokuho/in"}) fs::create_directories(dir / d);
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"welfare-test\" zone=\"lgwan\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <connector id=\"jumin\" plugin=\"resident\"><directory>jumin</directory><pattern>*.csv</pattern>"
                    "<layout>" + source("mappings/layouts/jumin-csv.xml").string() + "</layout></connector>\n"
                    "  <connector id=\"kokuho\" plugin=\"welfare\"><directory>kokuho</directory><pattern>*.csv</pattern>"
                    "<program>" + source("mappings/welfare/kokuho.xml").string() + "</program>"
                    "<layout>" + source("mappings/layouts/welfare-kokuho-csv.xml").string() + "</layout>" + kokuhoExtra +
                    "</connector>\n"
                    "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                    "  <connector id=\"facts\" plugin=\"file\"><directory>facts</directory></connector>\n"
                    "  <route id=\"jumin\" from=\"jumin\" to=\"out\" mapping=\"" +
                        source("mappings/resident-to-crm.xml").string() + "\"/>\n"
                    "  <route id=\"kokuho\" from=\"kokuho\" to=\"out\" mapping=\"" +
                        source("mappings/welfare-kokuho-to-window.xml").string() + "\"/>\n"
                    "  <route id=\"kokuho-facts\" from=\"kokuho\" records=\"welfare.kokuho\" to=\"facts\"/>\n"
                    "</renkei>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  test::ProcessResult once(const std::string& fault = {}) { return runRenkei({"serve", "--config", config(), "--once"}, fault); }
  /// gen_welfare.py's export into kokuho/in/ as `name`.
  void welfare(const std::string& name, const std::vector<std::string>& args = {}) {
    std::vector<std::string> cmd{"/usr/bin/python3", source("tests/tools/gen_welfare.py").string(), "--resident",
                                 source("config/samples/jumin/JUMIN_20261101_FULL.csv").string(), "--out",
                                 (dir / "kokuho/in" / name).string()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = test::run(cmd);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  }
  void residents() {
    fs::copy_file(source("config/samples/jumin/JUMIN_20261101_FULL.csv"), dir / "jumin/in/JUMIN_20261101_FULL.csv");
  }
  /// The facts delivered since the last call, one JSON line each.
  std::vector<std::string> takeFacts() {
    std::vector<std::string> lines;
    const fs::path out = dir / "facts/out";
    for (const std::string& name : test::listFiles(out)) {
      const std::string text = test::readFile(out / name);
      for (std::size_t at = 0; at < text.size();) {
        const std::size_t nl = text.find('\n', at);
        lines.push_back(text.substr(at, nl - at));
        at = nl == std::string::npos ? text.size() : nl + 1;
      }
      fs::remove(out / name);
    }
    return lines;
  }
};

std::size_t count(const std::vector<std::string>& lines, const std::string& part) {
  return static_cast<std::size_t>(
      std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; }));
}

}  // namespace

BOOST_AUTO_TEST_CASE(facts_per_person_and_persons_the_residents_do_not_know_held_until_they_are_known) {
  City c("<recheck-interval>0s</recheck-interval>");  // held rows wait for the next export
  // The 国保 export before the residents: nobody is known yet, every row waits.
  c.welfare("KOKUHO_20261201_FULL.csv");
  auto first = c.once();
  BOOST_TEST_REQUIRE(first.exitCode == 0, first.err);
  BOOST_TEST(first.err.find("125 rows, 0 persons changed, 125 held for a person not in the resident register") !=
                 std::string::npos,
             first.err);
  BOOST_TEST(c.takeFacts().empty());
  auto unknown = runRenkei({"welfare", "unknown", "--config", c.config()});
  BOOST_TEST(unknown.out.find("125 rows of kokuho (国民健康保険) wait for a person the resident register does not "
                              "know; each is taken once the person is known") != std::string::npos,
             unknown.out);
  // The residents arrive; the next 国保 export (a differential) takes every
  // row that waited, and its own.
  c.residents();
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  c.welfare("KOKUHO_20261202_DIFF.csv", {"--only", "1", "--ended", "1"});
  auto second = c.once();
  BOOST_TEST_REQUIRE(second.exitCode == 0, second.err);
  const auto facts = c.takeFacts();
  BOOST_TEST(facts.size() == 125u);
  BOOST_TEST(count(facts, "\"kokuho_member\":\"true\"") == 124u);
  BOOST_TEST(count(facts, "\"current\":\"false\",\"kokuho_member\":\"false\"") == 1u);  // the differential's row
  BOOST_TEST(count(facts, "\"kokuho_since\":\"20") == 125u);                           // dates as ISO
  BOOST_TEST(count(facts, "保険料") + count(facts, "50000") == 0u);                      // never an amount
  BOOST_TEST(runRenkei({"welfare", "unknown", "--config", c.config()}).out.find("0 rows of kokuho") != std::string::npos);
  // The same export again, under another name: nothing twice.
  c.welfare("KOKUHO_20261202_DIFF-again.csv", {"--only", "1", "--ended", "1"});
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  BOOST_TEST(c.takeFacts().empty());
}

// Held rows need no new export to be taken: the next run (and, running,
// every recheck-interval) looks them up again.
BOOST_AUTO_TEST_CASE(held_rows_are_taken_once_their_persons_are_known_without_a_new_export) {
  City c;
  c.welfare("KOKUHO_20261201_FULL.csv");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);  // nobody known yet: 125 held
  BOOST_TEST(c.takeFacts().empty());
  c.residents();
  auto r = c.once();  // the residents taken in; the held rows looked at again on the intake's turn
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto facts = c.takeFacts();
  if (facts.empty()) {  // the residents were committed after the welfare route's turn: the next run
    BOOST_TEST_REQUIRE(c.once().exitCode == 0);
    facts = c.takeFacts();
  }
  BOOST_TEST(facts.size() == 125u);
  BOOST_TEST(count(facts, "\"kokuho_member\":\"true\"") == 125u);
  BOOST_TEST(runRenkei({"welfare", "unknown", "--config", c.config()}).out.find("0 rows of kokuho") != std::string::npos);
  // Each once: another run sends nothing more.
  BOOST_TEST(c.once().exitCode == 0);
  BOOST_TEST(c.takeFacts().empty());
}

BOOST_AUTO_TEST_CASE(a_trailer_that_disagrees_refuses_the_export_whole) {
  City c;
  c.residents();
  c.welfare("KOKUHO_20261201_FULL.csv", {"--count", "999"});
  auto r = c.once();
  BOOST_TEST((r.exitCode != 0 || r.err.find("to error/") != std::string::npos), r.err);
  BOOST_TEST(test::listFiles(c.dir / "kokuho/error").size() >= 1u);
  BOOST_TEST(c.takeFacts().empty());  // nothing applied
  // The corrected export is then the baseline, whole.
  c.welfare("KOKUHO_20261201_FULL-fixed.csv");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  BOOST_TEST(c.takeFacts().size() == 125u);
}

BOOST_AUTO_TEST_CASE(a_full_export_ending_most_recipients_is_held_until_an_operator_releases_it) {
  City c;
  c.residents();
  c.welfare("KOKUHO_20261201_FULL.csv");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  BOOST_TEST(c.takeFacts().size() == 125u);
  // Cut off after 25 of 125: it would end 100 (80 %).
  c.welfare("KOKUHO_20261202_FULL.csv", {"--only", "25"});
  auto r = c.once();
  BOOST_TEST(r.err.find("would end 100 of 125 current 被保険者 of kokuho (80%), more than max-full-removal (20%): held") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(c.takeFacts().empty());
  BOOST_TEST(fs::exists(c.dir / "kokuho/held/KOKUHO_20261202_FULL.csv"));
  auto held = runRenkei({"welfare", "held", "--config", c.config()});
  BOOST_TEST(held.out.find("1 export is held") != std::string::npos, held.out);
  auto release = runRenkei({"welfare", "release", "--config", c.config(), "--file", "KOKUHO_20261202_FULL.csv",
                            "--by", "国保係"});
  BOOST_TEST_REQUIRE(release.exitCode == 0, release.err);
  auto again = c.once();
  BOOST_TEST(again.err.find("released by 国保係 (renkei welfare release): ends 100 of 125") != std::string::npos, again.err);
  const auto facts = c.takeFacts();
  BOOST_TEST(count(facts, "\"current\":\"false\"") == 100u);
}

// The guard's other side: a full export that ends fewer than
// max-full-removal (15 of 125, 12 % under 20 %) is taken in, not held.
BOOST_AUTO_TEST_CASE(a_full_export_ending_a_few_recipients_is_taken_in) {
  City c;
  c.residents();
  c.welfare("KOKUHO_20261201_FULL.csv");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  c.takeFacts();
  c.welfare("KOKUHO_20261202_FULL.csv", {"--only", "110"});
  auto r = c.once();
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  BOOST_TEST(r.err.find("would end") == std::string::npos, r.err);
  BOOST_TEST(!fs::exists(c.dir / "kokuho/held/KOKUHO_20261202_FULL.csv"));
  const auto facts = c.takeFacts();
  BOOST_TEST(facts.size() == 15u);
  BOOST_TEST(count(facts, "\"current\":\"false\",\"kokuho_member\":\"false\"") == 15u);
}

BOOST_AUTO_TEST_CASE(the_same_row_twice_and_an_unreadable_date) {
  City c;
  c.residents();
  c.welfare("KOKUHO_20261201_FULL.csv");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  c.takeFacts();
  // A differential naming one person twice (the second row wins) and
  // another with a date that is no date.
  const std::string ascii =
      "\"1\",\"999999\",\"20261203\"\r\n"
      "\"A010007938\",\"00010007938\",\"00001000\",\"01\",\"0\",\"20100101\",\"20261130\",\"1\",\"1\"\r\n"
      "\"A010007938\",\"00010007938\",\"00001000\",\"01\",\"1\",\"20100101\",\"\",\"\",\"1\"\r\n"
      "\"A010039614\",\"00010039614\",\"00001000\",\"02\",\"0\",\"2011-02-30\",\"\",\"\",\"1\"\r\n"
      "\"9\",\"3\"\r\n";
  test::writeFile(c.dir / "kokuho/in/KOKUHO_20261203_DIFF.csv", ascii);  // ASCII only: the same bytes in CP932
  auto r = c.once();
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  const auto facts = c.takeFacts();
  BOOST_TEST_REQUIRE(facts.size() == 2u);
  BOOST_TEST(count(facts, "\"person_key\":\"00010007938\",\"resident_code\":\"00010007938\",\"current\":\"true\","
                          "\"kokuho_member\":\"true\",\"kokuho_since\":\"2010-01-01\",\"kokuho_householder\":\"true\"") ==
             1u);
  BOOST_TEST(count(facts, "\"kokuho_since\":\"\"") == 1u);  // not a date: left empty, counted
}

BOOST_AUTO_TEST_CASE(killed_before_the_unit_commits_every_fact_lands_once) {
  City c;
  c.residents();
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  c.welfare("KOKUHO_20261201_FULL.csv");
  auto killed = c.once("before-unit-commit");
  BOOST_TEST_REQUIRE(killed.signal == SIGKILL, killed.out << killed.err);
  BOOST_TEST(c.takeFacts().empty());
  auto again = c.once();
  BOOST_TEST_REQUIRE(again.exitCode == 0, again.err);
  const auto facts = c.takeFacts();
  BOOST_TEST(facts.size() == 125u);
  std::set<std::string> unique(facts.begin(), facts.end());
  BOOST_TEST(unique.size() == 125u);
}

// Every shipped program file is one renkei check takes; a wrong one is
// named with file:line.
BOOST_AUTO_TEST_CASE(every_shipped_program_checks_and_a_wrong_one_is_named_with_its_line) {
  test::TempDir dir;
  std::string connectors;
  int n = 0;
  for (const auto& f : fs::directory_iterator(source("mappings/welfare"))) {
    if (f.path().extension() != ".xml") continue;
    const std::string id = "w" + std::to_string(++n);
    connectors += "  <connector id=\"" + id + "\" plugin=\"welfare\"><directory>" + id +
                  "</directory><program>" + f.path().string() + "</program><layout>" +
                  source("mappings/layouts/welfare-kokuho-csv.xml").string() + "</layout></connector>\n";
  }
  BOOST_TEST(n >= 13);
  auto config = [&](const std::string& body) {
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"programs\" zone=\"lgwan\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n" + body + "</renkei>\n");
    return runRenkei({"check", "--config", (dir / "config.xml").string()});
  };
  auto ok = config(connectors);
  BOOST_TEST(ok.exitCode == 0, ok.out << ok.err);
  test::writeFile(dir / "bad.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<program xmlns=\"urn:renkei:welfare:1\" id=\"bad\" name=\"x\">\n"
                  "  <key field=\"宛名番号\" resident-key=\"atena_no\"/>\n"
                  "  <ended field=\"状態\" in=\"2\" not-empty=\"true\"/>\n"
                  "  <fact name=\"a\" current=\"true\"/>\n"
                  "  <fact name=\"a\" field=\"x\" type=\"date\"/>\n"
                  "  <fact name=\"b\" field=\"金額\"/>\n"
                  "</program>\n");
  auto bad = config("  <connector id=\"w\" plugin=\"welfare\"><directory>w</directory><program>" +
                    (dir / "bad.xml").string() + "</program><layout>" +
                    source("mappings/layouts/welfare-kokuho-csv.xml").string() + "</layout></connector>\n");
  BOOST_TEST(bad.exitCode == 2, bad.out << bad.err);
  for (const char* expected : {"bad.xml:4: ended: give exactly one of", "bad.xml:6: fact 'a' is declared twice",
                                      "bad.xml:7: fact 'b': a field needs type=\"date\", type=\"code\" or in=\"codes\""})
    BOOST_TEST(bad.err.find(expected) != std::string::npos, expected << " in\n" << bad.err);
}

// SIGKILL at random moments while four 国保 exports (a full one and three
// differentials of 20,000 residents' people) are taken in: every fact lands
// once, the register and the facts in step — the same as a run never killed.
BOOST_AUTO_TEST_CASE(sigkill_at_random_moments_every_fact_once) {
  test::TempDir data;
  const fs::path jumin = data / "JUMIN_20261101_FULL.csv";
  auto gen = test::run({"/usr/bin/python3", source("tests/tools/gen_residents.py").string(), "--rows", "20000", "--seed",
                        "11", "--csv", jumin.string()});
  BOOST_TEST_REQUIRE(gen.exitCode == 0, gen.err);
  std::vector<fs::path> exports;
  auto welfare = [&](const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> cmd{"/usr/bin/python3", source("tests/tools/gen_welfare.py").string(), "--resident",
                                 jumin.string(), "--out", (data / name).string()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = test::run(cmd);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    exports.push_back(data / name);
  };
  welfare("KOKUHO_1_FULL.csv", {"--share", "0.6"});
  welfare("KOKUHO_2_DIFF.csv", {"--share", "0.6", "--only", "3000", "--ended", "0.5", "--seed", "8"});
  welfare("KOKUHO_3_DIFF.csv", {"--share", "0.3", "--seed", "9"});
  welfare("KOKUHO_4_DIFF.csv", {"--share", "0.6", "--only", "5000", "--ended", "0.2", "--seed", "10"});
  welfare("KOKUHO_5_FULL.csv", {"--share", "0.5", "--ended", "0.1", "--seed", "12"});

  auto prepare = [&](City& c) {
    fs::copy_file(jumin, c.dir / "jumin/in/JUMIN_20261101_FULL.csv");
    BOOST_TEST_REQUIRE(c.once().exitCode == 0);  // the residents first
    c.takeFacts();
    for (const fs::path& e : exports) fs::copy_file(e, c.dir / "kokuho/in" / e.filename());
  };
  auto sortedFacts = [](City& c) {
    auto lines = c.takeFacts();
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  City reference;
  prepare(reference);
  BOOST_TEST_REQUIRE(reference.once().exitCode == 0);
  const auto expected = sortedFacts(reference);
  BOOST_TEST(expected.size() > 12000u);

  City c;
  prepare(c);
  std::mt19937 random(20261207);
  int kills = 0;
  for (int run = 0; kills < 20 && run < 200; ++run) {
    auto child = test::spawn({test::renkeiBinary(), "serve", "--config", c.config(), "--once"},
                             c.dir.path() / ("run" + std::to_string(run)),
                             {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, std::max(15, 120 - 5 * kills))(random)));
    test::ProcessResult r;
    if (child.finished(r)) {
      if (test::listFiles(c.dir / "kokuho/in").empty() && test::listFiles(c.dir / "kokuho/processing").empty()) break;
      continue;
    }
    ::kill(child.pid, SIGKILL);
    if (child.wait().signal == SIGKILL) ++kills;
  }
  BOOST_TEST_MESSAGE("killed " << kills << " times");
  BOOST_TEST(kills >= 20, "only " << kills << " kills landed before the work was done");
  for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  const auto got = sortedFacts(c);
  BOOST_TEST(got.size() == expected.size());
  BOOST_TEST((got == expected), "the facts differ from a run never killed");
  // Each export where the run never killed put it (the last full one ends
  // too many recipients: held in both).
  for (const char* folder : {"kokuho/done", "kokuho/held", "kokuho/error"})
    BOOST_TEST(test::listFiles(c.dir / folder) == test::listFiles(reference.dir / folder), boost::test_tools::per_element());
  BOOST_TEST(test::listFiles(c.dir / "kokuho/done").size() + test::listFiles(c.dir / "kokuho/held").size() / 2 ==
             exports.size());
}

// Keyed by 宛名番号, found through the resident register's 宛名番号: and a
// 宛名番号 the core system gives to another person (reused) links the row
// to the new person, counted and said, never silently to the old one.
BOOST_AUTO_TEST_CASE(a_row_keyed_by_atena_no_and_a_key_reused_for_another_person) {
  test::TempDir dir;
  for (const char* d : {"jumin/in", "kokuho/in"}) fs::create_directories(dir / d);
  test::writeFile(dir / "kokuho.xml",
                  "<program xmlns=\"urn:renkei:welfare:1\" id=\"kokuho\" name=\"国民健康保険\">\n"
                  "  <key field=\"宛名番号\" resident-key=\"atena_no\"/>\n"
                  "  <ended field=\"資格喪失日\" not-empty=\"true\"/>\n"
                  "  <fact name=\"kokuho_member\" current=\"true\"/>\n"
                  "</program>\n");
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"atena\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"jumin\" plugin=\"resident\"><directory>jumin</directory><pattern>*.csv</pattern>"
                  "<layout>" + source("tests/fixtures/welfare/jumin-atena.xml").string() + "</layout></connector>\n"
                  "  <connector id=\"kokuho\" plugin=\"welfare\"><directory>kokuho</directory><pattern>*.csv</pattern>"
                  "<program>" + (dir / "kokuho.xml").string() + "</program><layout>" +
                  source("mappings/layouts/welfare-kokuho-csv.xml").string() + "</layout></connector>\n"
                  "  <connector id=\"facts\" plugin=\"file\"><directory>facts</directory></connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"jumin\" from=\"jumin\" to=\"out\" mapping=\"" + (dir / "jumin-map.xml").string() + "\"/>\n"
                  "  <route id=\"kokuho\" from=\"kokuho\" to=\"out\" mapping=\"" +
                      source("mappings/welfare-kokuho-to-window.xml").string() + "\"/>\n"
                  "  <route id=\"kokuho-facts\" from=\"kokuho\" records=\"welfare.kokuho\" to=\"facts\"/>\n"
                  "</renkei>\n");
  test::writeFile(dir / "jumin-map.xml",
                  "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"j\" version=\"1\">\n"
                  "  <source layout=\"" + source("tests/fixtures/welfare/jumin-atena.xml").string() + "\"/>\n"
                  "  <target record=\"resident\" zone=\"lgwan\"/>\n"
                  "  <field to=\"resident_code\" from=\"住民票コード\" required=\"true\"/>\n</mapping>\n");
  auto once = [&] { return runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}); };
  auto facts = [&] {
    std::string all;
    for (const std::string& f : test::listFiles(dir / "facts/out")) {
      all += test::readFile(dir / "facts/out" / f);
      fs::remove(dir / "facts/out" / f);
    }
    return all;
  };
  const std::string header = "\"住民票コード\",\"宛名番号\",\"世帯番号\",\"続柄\",\"異動事由\",\"異動日\",\"届出日\"\r\n";
  test::writeFile(dir / "jumin/in/J1_FULL.csv",
                  test::cp932(header + "\"00010000019\",\"A1\",\"H1\",\"02\",\"01\",\"4010101\",\"4010101\"\r\n"
                                 "\"00010000027\",\"A2\",\"H2\",\"02\",\"01\",\"4010101\",\"4010101\"\r\n"));
  {
    auto r = once();
    BOOST_TEST_REQUIRE(r.exitCode == 0, r.out << r.err);
  }
  const std::string row = "\"00001000\",\"01\",\"1\",\"20200401\",\"\",\"\",\"1\"\r\n";
  test::writeFile(dir / "kokuho/in/K1_DIFF.csv",
                  test::cp932("\"1\",\"999999\",\"20261201\"\r\n\"A1\",\"\"," + row + "\"9\",\"1\"\r\n"));
  BOOST_TEST_REQUIRE(once().exitCode == 0);
  const std::string first = facts();
  BOOST_TEST(first.find("\"person_key\":\"A1\",\"resident_code\":\"00010000019\"") != std::string::npos, first);
  // The core system gives A1 to the second resident (the first gets A9).
  test::writeFile(dir / "jumin/in/J2_DIFF.csv",
                  test::cp932(header + "\"00010000019\",\"A9\",\"H1\",\"02\",\"01\",\"4010101\",\"4010101\"\r\n"
                                 "\"00010000027\",\"A1\",\"H2\",\"02\",\"01\",\"4010101\",\"4010101\"\r\n"));
  BOOST_TEST_REQUIRE(once().exitCode == 0);
  test::writeFile(dir / "kokuho/in/K2_DIFF.csv",
                  test::cp932("\"1\",\"999999\",\"20261202\"\r\n\"A1\",\"\"," + row + "\"9\",\"1\"\r\n"));
  auto r = once();
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  BOOST_TEST(r.err.find("1 rows link their 宛名番号 to another resident than before (a key reused?)") != std::string::npos,
             r.err);
  const std::string second = facts();
  BOOST_TEST(second.find("\"person_key\":\"A1\",\"resident_code\":\"00010000027\"") != std::string::npos, second);
}

// Each shipped layout with its program takes in what gen_welfare.py makes:
// one welfare.<program> record per person, its facts computed (dates as
// ISO, the certified levels, the codes), no unreadable fact.
BOOST_AUTO_TEST_CASE(each_shipped_layout_and_program_take_in_a_generated_export) {
  test::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> programs{
      {"kokuho", "\"kokuho_since\":\"20"},
      {"jidou-teate", "\"jidou_teate_since\":\"20"},
      {"kaigo", "\"kaigo_certified\":\"true\",\"kaigo_certified_until\":\"2027-"},
      {"kouki", "\"kouki_prefecture\":\"39000"},
      {"inkan", "\"inkan_registered\":\"true\""},
      {"fukushi-iryo", "\"fukushi_iryo_kind\":\"hitorioya\",\"fukushi_iryo_until\":\"2027-03-31\""},
      {"mynumber-card", "\"card_certificate_valid_until\":\"20"}};
  std::string connectors;
  for (const auto& [program, expected] : programs) {
    fs::create_directories(dir / program / "in");
    auto gen = test::run({"/usr/bin/python3", source("tests/tools/gen_welfare.py").string(), "--program", program,
                          "--resident", source("config/samples/jumin/JUMIN_20261101_FULL.csv").string(), "--share",
                          "0.3", "--ended", "0.1", "--out", (dir / program / "in" / "EXPORT_FULL.csv").string()});
    BOOST_REQUIRE_MESSAGE(gen.exitCode == 0, gen.err);
    connectors += "  <connector id=\"" + program + "\" plugin=\"welfare\"><directory>" + program +
                  "</directory><pattern>*.csv</pattern><program>" +
                  source("mappings/welfare/" + program + ".xml").string() + "</program><layout>" +
                  source("mappings/layouts/welfare-" + program + "-csv.xml").string() +
                  "</layout><unknown-persons>take</unknown-persons></connector>\n"
                  "  <route id=\"" + program + "\" from=\"" + program + "\" to=\"out\"/>\n"
                  "  <route id=\"" + program + "-facts\" from=\"" + program + "\" records=\"welfare." + program +
                  "\" to=\"facts\"/>\n";
  }
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"programs\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory><format>jsonl</format></connector>\n"
                  "  <connector id=\"facts\" plugin=\"file\"><directory>facts</directory></connector>\n" +
                      connectors + "</renkei>\n");
  auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.out << r.err);
  for (const auto& [program, expected] : programs) {
    BOOST_TEST_CONTEXT(program) {
      std::string all;
      for (const std::string& f : test::listFiles(dir / "facts/out"))
        if (f.rfind(program + "-facts-", 0) == 0) all += test::readFile(dir / "facts/out" / f);
      const std::string text = test::readFile(dir / program / "done/EXPORT_FULL.csv");
      const std::size_t rows = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) - 2;  // header, trailer
      BOOST_TEST(test::countLines(all) == rows);
      BOOST_TEST(all.find(expected) != std::string::npos, all.substr(0, 400));
      BOOST_TEST(all.find("\"\",\"export\"") == std::string::npos, all.substr(0, 400));  // no fact left empty at the end
    }
  }
}
