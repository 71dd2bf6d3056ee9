// The 中間DB connector through the real binary: 住登外 files of the city's
// database (header, data, trailer) taken in as what changed per 宛名番号
// (jlis.jutogai: identifiers, codes and the database's update time in the
// municipality's zone — no name, no address), offered to the welfare
// connector, which then knows a 住登外 person's row; a file sent twice; an
// entity changed, ended; a cut-off full extract held; and 住民 polled from
// a view over ODBC (SQLite's driver) page by page, one that disappears
// mid-way and comes back.
#define BOOST_TEST_MODULE renkei_jlis_connector
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>

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

/// A 住登外 file of `n` made-up people (宛名番号 B000000001 …), `ended` of
/// them flagged deleted; `count` overrides the trailer's.
std::string jutogai(int n, int ended = 0, const std::string& reason = "01", int count = -1) {
  std::string text = "\"1\",\"999999\",\"20261203091500\"\r\n";
  for (int i = 1; i <= n; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "B%09d", i);
    text += std::string("\"") + key + "\",\"見本　住登外" + std::to_string(i) + "\",\"ミホン　ジュウトウガイ\",\"19700101\",\"1\","
            "\"架空県別市1-" + std::to_string(i) + "\",\"" + reason + "\",\"20200401\",\"" + (i <= ended ? "1" : "0") +
            "\",\"2026-12-03 09:15:00\"\r\n";
  }
  return test::cp932(text + "\"9\",\"" + std::to_string(count < 0 ? n : count) + "\"\r\n");
}

struct City {
  test::TempDir dir;
  explicit City(const std::string& dbOffset = "+09:00") {
    for (const char* d : {"jutogai/in", "kokuho/in", "jumin/in"}) fs::create_directories(dir / d);
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"jlis-test\" zone=\"lgwan\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <connector id=\"jumin\" plugin=\"resident\"><directory>jumin</directory><pattern>*.csv</pattern>"
                    "<layout>" + source("mappings/layouts/jumin-csv.xml").string() + "</layout></connector>\n"
                    "  <connector id=\"jutogai\" plugin=\"jlis\"><directory>jutogai</directory><pattern>*.csv</pattern>"
                    "<entity>jutogai</entity><layout>" + source("mappings/layouts/jlis-jutogai-csv.xml").string() +
                    "</layout><resident-code-field></resident-code-field><keep>住登外事由;登録日</keep>"
                    "<ended-field>削除フラグ</ended-field><ended-codes>1</ended-codes><updated-field>更新日時</updated-field>"
                    "<db-utc-offset>" + dbOffset + "</db-utc-offset><offer>jutogai</offer></connector>\n"
                    "  <connector id=\"kokuho\" plugin=\"welfare\"><directory>kokuho</directory><pattern>*.csv</pattern>"
                    "<program>" + (dir / "kokuho.xml").string() + "</program><layout>" +
                    source("mappings/layouts/welfare-kokuho-csv.xml").string() + "</layout>"
                    "<known-from>resident;jutogai</known-from></connector>\n"
                    "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                    "  <connector id=\"derived\" plugin=\"file\"><directory>derived</directory></connector>\n"
                    "  <route id=\"jumin\" from=\"jumin\" to=\"out\" mapping=\"" +
                        source("mappings/resident-to-crm.xml").string() + "\"/>\n"
                    "  <route id=\"jutogai\" from=\"jutogai\" to=\"out\" mapping=\"" + (dir / "jutogai-map.xml").string() +
                        "\"/>\n"
                    "  <route id=\"jutogai-changes\" from=\"jutogai\" records=\"jlis.jutogai\" to=\"derived\"/>\n"
                    "  <route id=\"kokuho\" from=\"kokuho\" to=\"out\" mapping=\"" +
                        source("mappings/welfare-kokuho-to-window.xml").string() + "\"/>\n"
                    "  <route id=\"kokuho-facts\" from=\"kokuho\" records=\"welfare.kokuho\" to=\"derived\"/>\n"
                    "</renkei>\n");
    // 国保 keyed by 宛名番号 (a 住登外 person is insured here too).
    test::writeFile(dir / "kokuho.xml",
                    "<program xmlns=\"urn:renkei:welfare:1\" id=\"kokuho\" name=\"国民健康保険\">\n"
                    "  <key field=\"宛名番号\" resident-key=\"atena_no\"/>\n"
                    "  <ended field=\"資格喪失日\" not-empty=\"true\"/>\n"
                    "  <fact name=\"kokuho_member\" current=\"true\"/>\n"
                    "</program>\n");
    test::writeFile(dir / "jutogai-map.xml",
                    "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"jutogai\" version=\"1\">\n"
                    "  <source layout=\"" + source("mappings/layouts/jlis-jutogai-csv.xml").string() + "\"/>\n"
                    "  <target record=\"window.jutogai\" zone=\"lgwan\"/>\n"
                    "  <field to=\"atena_no\" from=\"宛名番号\" required=\"true\"/>\n"
                    "  <field to=\"reason\" from=\"住登外事由\"/>\n"
                    "</mapping>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  test::ProcessResult once() { return runRenkei({"serve", "--config", config(), "--once"}); }
  std::vector<std::string> take(const std::string& prefix) {
    std::vector<std::string> lines;
    const fs::path out = dir / "derived/out";
    for (const std::string& name : test::listFiles(out)) {
      if (name.rfind(prefix, 0) != 0) continue;
      const std::string text = test::readFile(out / name);
      for (std::size_t at = 0; at < text.size();) {
        const std::size_t nl = text.find('\n', at);
        lines.push_back(text.substr(at, nl - at));
        at = nl == std::string::npos ? text.size() : nl + 1;
      }
      fs::remove(out / name);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  }
};

std::size_t count(const std::vector<std::string>& lines, const std::string& part) {
  return static_cast<std::size_t>(
      std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; }));
}

}  // namespace

BOOST_AUTO_TEST_CASE(jutogai_changes_per_atena_no_without_names_and_known_to_the_welfare_connector) {
  City c("+00:00");  // the database keeps UTC: 09:15 there is 18:15 in Tokyo
  test::writeFile(c.dir / "jutogai/in/JUTOGAI_20261203_FULL.csv", jutogai(20));
  auto first = c.once();
  BOOST_TEST_REQUIRE(first.exitCode == 0, first.err);
  auto changes = c.take("jutogai-changes");
  BOOST_TEST_REQUIRE(changes.size() == 20u);
  BOOST_TEST(changes[0] ==
             "{\"entity\":\"jutogai\",\"atena_no\":\"B000000001\",\"resident_code\":\"\",\"current\":\"true\","
             "\"updated_at\":\"2026-12-03 18:15:00 +09:00\",\"住登外事由\":\"01\",\"登録日\":\"20200401\","
             "\"export\":\"JUTOGAI_20261203_FULL.csv\"}");
  BOOST_TEST(count(changes, "見本") + count(changes, "架空県") == 0u);  // never a name or an address
  // The same file again under another name: nothing changed, nothing sent.
  test::writeFile(c.dir / "jutogai/in/JUTOGAI_20261203_FULL-again.csv", jutogai(20));
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  BOOST_TEST(c.take("jutogai-changes").empty());
  // A differential: three flagged deleted (ended), one with another 事由.
  test::writeFile(c.dir / "jutogai/in/JUTOGAI_20261204_DIFF.csv", jutogai(3, 3));
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  changes = c.take("jutogai-changes");
  BOOST_TEST(changes.size() == 3u);
  BOOST_TEST(count(changes, "\"current\":\"false\"") == 3u);

  // The welfare connector looks persons up in the residents, then in 住登外:
  // B000000005 is known there, Z999999999 nowhere (held).
  test::writeFile(c.dir / "kokuho/in/KOKUHO_20261205_DIFF.csv",
                  test::cp932("\"1\",\"999999\",\"20261205\"\r\n"
                        "\"B000000005\",\"\",\"00009999\",\"01\",\"1\",\"20200401\",\"\",\"\",\"1\"\r\n"
                        "\"Z999999999\",\"\",\"00009998\",\"01\",\"1\",\"20200401\",\"\",\"\",\"1\"\r\n"
                        "\"9\",\"2\"\r\n"));
  auto kokuho = c.once();
  BOOST_TEST_REQUIRE(kokuho.exitCode == 0, kokuho.err);
  const auto facts = c.take("kokuho-facts");
  BOOST_TEST_REQUIRE(facts.size() == 1u);
  BOOST_TEST(facts[0].find("\"person_key\":\"B000000005\"") != std::string::npos, facts[0]);
  auto unknown = runRenkei({"welfare", "unknown", "--config", c.config()});
  BOOST_TEST(unknown.out.find("Z999999999") != std::string::npos, unknown.out);
  BOOST_TEST(unknown.out.find("1 rows of kokuho") != std::string::npos, unknown.out);
}

BOOST_AUTO_TEST_CASE(a_cut_off_full_extract_is_held_and_a_trailer_that_disagrees_refused) {
  City c;
  test::writeFile(c.dir / "jutogai/in/JUTOGAI_20261203_FULL.csv", jutogai(100));
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  c.take("jutogai-changes");
  // Cut off after 60 of 100: it would end 40 (40 %, above 10 %).
  test::writeFile(c.dir / "jutogai/in/JUTOGAI_20261204_FULL.csv", jutogai(60));
  auto r = c.once();
  BOOST_TEST(r.err.find("would end 40 of 100 current jutogai entities (40%), more than max-full-removal (10%): held") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(c.take("jutogai-changes").empty());
  BOOST_TEST(runRenkei({"jlis", "held", "--config", c.config()}).out.find("1 export is held") != std::string::npos);
  // A trailer that disagrees: refused whole, nothing derived.
  test::writeFile(c.dir / "jutogai/in/JUTOGAI_20261205_DIFF.csv", jutogai(5, 0, "02", 7));
  c.once();
  BOOST_TEST(test::listFiles(c.dir / "jutogai/error").size() >= 1u);
  BOOST_TEST(c.take("jutogai-changes").empty());
}

// 住民 polled from the 中間DB's view over ODBC (SQLite's driver): what
// changed per 宛名番号, two rows a page; a page read again (the watermark not
// moved before a crash) changes nothing twice.
BOOST_AUTO_TEST_CASE(jumin_polled_from_a_view_page_by_page) {
  test::TempDir dir;
  const std::string cs =
      "Driver=" + test::sqliteOdbcDriver() + ";Database=" + (dir / "chukan.sqlite3").string() + ";Timeout=20000;";
  {
    test::OdbcDb db(cs);
    db.exec("CREATE TABLE jumin (atena_no TEXT PRIMARY KEY, resident_code TEXT, household_no TEXT, status TEXT, "
            "updated_at TEXT NOT NULL)");
    db.exec("INSERT INTO jumin VALUES ('A1', '00010000019', 'H1', '1', '2026-12-01 09:00:00')");
    db.exec("INSERT INTO jumin VALUES ('A2', '00010000027', 'H1', '1', '2026-12-01 09:00:01')");
    db.exec("INSERT INTO jumin VALUES ('A3', '00010000035', 'H2', '1', '2026-12-01 09:00:02')");
  }
  test::writeFile(dir / "view.xml",
                  "<layout xmlns=\"urn:renkei:layout:1\" id=\"jumin-view\" record=\"jlis-jumin\">\n  <jsonl/>\n"
                  "  <field name=\"atena_no\" path=\"atena_no\" pii=\"identifier\"/>\n"
                  "  <field name=\"resident_code\" path=\"resident_code\" pii=\"identifier\"/>\n"
                  "  <field name=\"household_no\" path=\"household_no\" pii=\"identifier\"/>\n"
                  "  <field name=\"status\" path=\"status\" pii=\"none\"/>\n"
                  "  <field name=\"updated_at\" path=\"updated_at\" pii=\"none\"/>\n</layout>\n");
  test::writeFile(dir / "view-map.xml",
                  "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"v\" version=\"1\">\n"
                  "  <source layout=\"view.xml\"/>\n  <target record=\"window.jumin\" zone=\"lgwan\"/>\n"
                  "  <field to=\"atena_no\" from=\"atena_no\" required=\"true\"/>\n</mapping>\n");
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"jlis-odbc\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"chukan\" plugin=\"jlis\"><transport>odbc</transport><entity>jumin</entity>"
                  "<connection>" + cs + "</connection>"
                  "<query>SELECT atena_no, resident_code, household_no, status, updated_at FROM jumin WHERE updated_at &gt; ? "
                  "ORDER BY updated_at, atena_no</query><watermark-column>updated_at</watermark-column>"
                  "<interval>0s</interval><max-rows>2</max-rows><spool>spool</spool><layout>view.xml</layout>"
                  "<key-field>atena_no</key-field><resident-code-field>resident_code</resident-code-field>"
                  "<keep>household_no;status</keep><ended-field>status</ended-field><ended-codes>2;3</ended-codes>"
                  "<updated-field>updated_at</updated-field><offer>resident</offer></connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <connector id=\"derived\" plugin=\"file\"><directory>derived</directory></connector>\n"
                  "  <route id=\"view\" from=\"chukan\" to=\"out\" mapping=\"view-map.xml\"/>\n"
                  "  <route id=\"changes\" from=\"chukan\" records=\"jlis.jumin\" to=\"derived\"/>\n"
                  "</renkei>\n");
  auto serve = [&] { return runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}); };
  auto lines = [&] {
    std::string all;
    for (const std::string& f : test::listFiles(dir / "derived/out")) {
      all += test::readFile(dir / "derived/out" / f);
      fs::remove(dir / "derived/out" / f);
    }
    return all;
  };
  auto first = serve();
  BOOST_TEST_REQUIRE(first.exitCode == 0, first.err);
  BOOST_TEST(first.out.find("files: 2 claimed") != std::string::npos, first.out);  // two pages
  const std::string changes = lines();
  BOOST_TEST(test::countLines(changes) == 3u, changes);
  BOOST_TEST(changes.find("\"atena_no\":\"A3\",\"resident_code\":\"00010000035\",\"current\":\"true\","
                          "\"updated_at\":\"2026-12-01 09:00:02 +09:00\",\"household_no\":\"H2\",\"status\":\"1\"") !=
                 std::string::npos,
             changes);
  // A1 moves out (status 2); A2 is rewritten unchanged (a later time only).
  {
    test::OdbcDb db(cs);
    db.exec("UPDATE jumin SET status = '2', updated_at = '2026-12-02 10:00:00' WHERE atena_no = 'A1'");
    db.exec("UPDATE jumin SET updated_at = '2026-12-02 10:00:01' WHERE atena_no = 'A2'");
  }
  // The watermark put back (as a crash before the host finished a page would
  // leave it): the first page is read again and changes nothing twice.
  test::writeFile(dir / "spool/watermark", "2026-12-01 09:00:01");
  BOOST_TEST_REQUIRE(serve().exitCode == 0);
  const std::string second = lines();
  BOOST_TEST(test::countLines(second) == 1u, second);
  BOOST_TEST(second.find("\"atena_no\":\"A1\",\"resident_code\":\"00010000019\",\"current\":\"false\"") !=
                 std::string::npos,
             second);
  // The view disappears (the database's maintenance drops and rebuilds
  // it): the poll fails, said with the reason, nothing is lost; back, it
  // goes on from the watermark kept.
  {
    test::OdbcDb db(cs);
    db.exec("ALTER TABLE jumin RENAME TO jumin_rebuilding");
  }
  auto gone = serve();
  BOOST_TEST(gone.err.find("poll: ") != std::string::npos, gone.out << gone.err);
  BOOST_TEST(test::readFile(dir / "spool/watermark") == "2026-12-02 10:00:01");
  {
    test::OdbcDb db(cs);
    db.exec("ALTER TABLE jumin_rebuilding RENAME TO jumin");
    db.exec("INSERT INTO jumin VALUES ('A4', '00010000043', 'H3', '1', '2026-12-03 08:00:00')");
  }
  BOOST_TEST_REQUIRE(serve().exitCode == 0);
  const std::string third = lines();
  BOOST_TEST(test::countLines(third) == 1u, third);
  BOOST_TEST(third.find("\"atena_no\":\"A4\"") != std::string::npos, third);
}
