// The family-registry connector through the real binary, on the demo's
// synthetic residents and the 戸籍 that tests/tools/gen_koseki.py makes of
// them: persons linked to residents (by the 附票's 住民票コード, else by
// 4 情報 + 戸籍の表示, counted), every name beside its 統一文字番号 with the
// Unicode-only ones marked lossy and variant kanji kept apart; the events of
// a differential (出生, 死亡, 婚姻) with what the resident register is
// expected to do, followed until the resident feed shows it; and bad
// exports — refused whole with the record named, or held.
#define BOOST_TEST_MODULE renkei_koseki_connector
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
const std::string kFull = "config/samples/jumin/JUMIN_20261101_FULL.csv";
const std::string kDiff = "config/samples/jumin/JUMIN_20261102_DIFF.csv";

test::ProcessResult runRenkei(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
}

struct City {
  test::TempDir dir;
  City() {
    for (const char* d : {"jumin/in", "koseki/in"}) fs::create_directories(dir / d);
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"koseki-test\" zone=\"lgwan\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <connector id=\"jumin\" plugin=\"resident\"><directory>jumin</directory><pattern>*.csv</pattern>"
                    "<layout>" + source("mappings/layouts/jumin-csv.xml").string() + "</layout></connector>\n"
                    "  <connector id=\"koseki\" plugin=\"koseki\"><directory>koseki</directory><pattern>*.csv</pattern>"
                    "<layout>" + source("mappings/layouts/koseki-csv.xml").string() + "</layout></connector>\n"
                    "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                    "  <connector id=\"derived\" plugin=\"file\"><directory>derived</directory></connector>\n"
                    "  <route id=\"jumin\" from=\"jumin\" to=\"out\" mapping=\"" +
                        source("mappings/resident-to-crm.xml").string() + "\"/>\n"
                    "  <route id=\"koseki\" from=\"koseki\" to=\"out\"/>\n"
                    "  <route id=\"events\" from=\"koseki\" records=\"koseki.event\" to=\"derived\"/>\n"
                    "  <route id=\"persons\" from=\"koseki\" records=\"koseki.person\" to=\"derived\"/>\n"
                    "</renkei>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  test::ProcessResult once() { return runRenkei({"serve", "--config", config(), "--once"}); }
  /// gen_koseki.py's export into koseki/in/ as `name` (every 戸籍 here).
  void koseki(const std::string& name, const std::vector<std::string>& args = {}) {
    std::vector<std::string> cmd{"/usr/bin/python3", source("tests/tools/gen_koseki.py").string(), "--share", "1",
                                 "--resident", source(kFull).string(), "--out", (dir / "koseki/in" / name).string()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = test::run(cmd);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  }
  void residents(const std::string& rel) {
    fs::copy_file(source(rel), dir / "jumin/in" / fs::path(rel).filename());
  }
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

/// The value of "name" in a flat JSON line.
std::string value(const std::string& line, const std::string& name) {
  const std::string key = "\"" + name + "\":\"";
  const std::size_t at = line.find(key);
  if (at == std::string::npos) return {};
  return line.substr(at + key.size(), line.find('"', at + key.size()) - at - key.size());
}

std::string first(const std::vector<std::string>& lines, const std::string& part) {
  for (const auto& l : lines)
    if (l.find(part) != std::string::npos) return l;
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(persons_linked_lossy_kept_and_a_differentials_events_followed_until_the_residents_show_them) {
  City c;
  c.residents(kFull);
  c.koseki("KOSEKI_20261101_FULL.csv");
  auto first_ = c.once();
  BOOST_TEST_REQUIRE(first_.exitCode == 0, first_.err);
  BOOST_TEST(first_.err.find("(full extract, baseline)") != std::string::npos, first_.err);
  auto persons = c.take("persons");
  BOOST_TEST(c.take("events").empty());  // the baseline raises nothing
  BOOST_TEST_REQUIRE(persons.size() > 300u);
  // Linked: most by the 附票's 住民票コード; those without one by 4 情報 +
  // 戸籍の表示 (marked so); a person living elsewhere is not a resident here.
  BOOST_TEST(count(persons, "\"link\":\"fuhyo\"") > 250u);
  const std::size_t byIdentity = count(persons, "\"link\":\"identity\"");
  BOOST_TEST(byIdentity >= 3u);
  BOOST_TEST(first_.err.find(std::to_string(byIdentity) + " by 4 情報 + 戸籍の表示") != std::string::npos, first_.err);
  BOOST_TEST(count(persons, "\"link\":\"elsewhere\"") >= 1u);
  for (const auto& p : persons)
    if (value(p, "link") == "identity") BOOST_TEST(value(p, "resident_code").size() == 11u, p);
  // Lossy: a 名 that came without its 統一文字番号 says so, and is counted.
  const std::size_t lossy = count(persons, "\"lossy\":\"given\"");
  BOOST_TEST(lossy >= 3u);
  BOOST_TEST(first_.err.find("came as Unicode only (lossy") != std::string::npos, first_.err);
  for (const auto& p : persons)
    if (value(p, "lossy") == "given") BOOST_TEST(value(p, "given_chars").empty(), p);
  // Variant kanji: the same text with other numbers stays apart (not folded).
  std::map<std::string, std::set<std::string>> charsOf;
  for (const auto& p : persons) charsOf[value(p, "surname")].insert(value(p, "surname_chars"));
  std::size_t variants = 0;
  for (const auto& [text, chars] : charsOf)
    if (chars.size() > 1) ++variants;
  BOOST_TEST(variants >= 1u);
  auto links = runRenkei({"koseki", "links", "--config", c.config()});
  BOOST_TEST(links.out.find("by 4 情報 + 戸籍の表示 (check these): " + std::to_string(byIdentity)) != std::string::npos,
             links.out);

  // The 戸籍 side of the next day comes before the resident feed: a birth
  // (the child no resident yet: its household is its parents') and a death.
  c.koseki("KOSEKI_20261102_DIFF.csv", {"--diff", source(kDiff).string()});
  auto second = c.once();
  BOOST_TEST_REQUIRE(second.exitCode == 0, second.err);
  auto events = c.take("events");
  BOOST_TEST_REQUIRE(events.size() == 2u, second.err);
  const std::string birth = first(events, "\"event\":\"出生\""), death = first(events, "\"event\":\"死亡\"");
  BOOST_TEST(value(birth, "expect") == "resident");
  BOOST_TEST(value(birth, "event_date") == "2026-10-28");
  BOOST_TEST(value(birth, "household_no") == "0001524193");  // the parents'
  BOOST_TEST(value(birth, "identity").size() == 32u);
  BOOST_TEST(birth.find("[[\\\"出生日\\\",\\\"令和8年10月28日\\\"],[\\\"出生地\\\"") != std::string::npos, birth);
  BOOST_TEST(value(death, "expect") == "removal");
  BOOST_TEST(value(death, "resident_code") == "00010768162");
  BOOST_TEST(value(death, "link") == "fuhyo");
  BOOST_TEST(value(death, "received_date") == "2026-11-01");
  auto expected = runRenkei({"koseki", "expected", "--config", c.config()});
  BOOST_TEST(expected.out.find("2 戸籍 events not yet shown by the resident register (2 overdue after 14 days)") !=
                 std::string::npos,
             expected.out);
  BOOST_TEST(expected.exitCode == 1);
  // The same export again under another name changes nothing.
  c.koseki("KOSEKI_20261102_DIFF-again.csv", {"--diff", source(kDiff).string()});
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  BOOST_TEST(c.take("events").empty());

  // The resident feed shows both (the 住民票 of the child, the death's removal).
  c.residents(kDiff);
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);  // a start looks at the expectations again
  expected = runRenkei({"koseki", "expected", "--config", c.config()});
  BOOST_TEST(expected.out.find("0 戸籍 events not yet shown by the resident register (0 overdue after 14 days), 2 shown") !=
                 std::string::npos,
             expected.out);
  BOOST_TEST(expected.exitCode == 0);
  // The child's 附票 came without a 住民票コード; now that it is a resident,
  // the next export that names the child links it by 4 情報 + 戸籍の表示.
}

BOOST_AUTO_TEST_CASE(a_marriage_is_expected_as_a_correction_of_the_koseki_display_and_met_by_the_notice) {
  City c;
  c.residents(kFull);
  c.koseki("KOSEKI_20261101_FULL.csv");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  c.take("persons");
  // A resident of a 戸籍 here marries.
  const std::string who = "00012732074";
  c.koseki("KOSEKI_20261202_DIFF.csv", {"--marry", who});
  auto r = c.once();
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto events = c.take("events");
  BOOST_TEST_REQUIRE(events.size() == 1u, r.err);
  BOOST_TEST(value(events[0], "event") == "婚姻");
  BOOST_TEST(value(events[0], "expect") == "correction");
  BOOST_TEST(value(events[0], "resident_code") == who);
  BOOST_TEST(events[0].find("新本籍") != std::string::npos);
  BOOST_TEST(runRenkei({"koseki", "expected", "--config", c.config()}).out.find("1 戸籍 events not yet shown") !=
             std::string::npos);
  // The resident feed's 9条2項 notice: the same resident with the new 本籍
  // and 筆頭者 (世帯 and address unchanged, no move).
  const std::string full = test::readFile(source(kFull));
  const std::string code = "\"" + who + "\"";
  const std::size_t at = full.find(code);
  BOOST_TEST_REQUIRE(at != std::string::npos);
  std::string row = full.substr(at, full.find("\r\n", at) - at);
  std::vector<std::string> cells;
  for (std::size_t i = 0; i <= row.size();) {
    const std::size_t comma = row.find("\",\"", i);
    cells.push_back(row.substr(i, comma == std::string::npos ? std::string::npos : comma + 1 - i));
    i = comma == std::string::npos ? row.size() + 1 : comma + 2;
  }
  BOOST_TEST_REQUIRE(cells.size() == 35u);
  cells[14] = "\"" + test::cp932("愛知県名古屋市中区三の丸三丁目１番") + "\"";  // 本籍
  cells[15] = cells[3];                                                     // 筆頭者: the person
  std::string notice = full.substr(0, full.find("\r\n") + 2);
  for (std::size_t i = 0; i < cells.size(); ++i) notice += (i ? "," : "") + cells[i];
  test::writeFile(c.dir / "jumin/in/JUMIN_20261202_DIFF.csv", notice + "\r\n");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  auto expected = runRenkei({"koseki", "expected", "--config", c.config()});
  BOOST_TEST(expected.out.find("0 戸籍 events not yet shown by the resident register (0 overdue after 14 days), 1 shown") !=
                 std::string::npos,
             expected.out);
}

BOOST_AUTO_TEST_CASE(bad_exports_refused_whole_naming_the_record_or_held_until_released) {
  City c;
  c.residents(kFull);
  c.koseki("KOSEKI_20261101_FULL.csv");
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  c.take("persons");
  const std::string head = "\"1\",\"999999\",\"20261202\"\r\n";
  auto line = [](const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < 29; ++i) out += std::string(i ? "," : "") + "\"" + (i < v.size() ? v[i] : "") + "\"";
    return out + "\r\n";
  };
  auto refusedWith = [&](const std::string& name, const std::string& body, std::size_t records, const std::string& why) {
    test::writeFile(c.dir / "koseki/in" / name, head + body + "\"9\",\"" + std::to_string(records) + "\"\r\n");
    c.once();
    BOOST_TEST(fs::exists(c.dir / "koseki/error" / name), name);
    const std::string reason = test::readFile(c.dir / "koseki/error" / (name + ".error.txt"));
    BOOST_TEST(reason.find(why) != std::string::npos, reason);
    BOOST_TEST(c.take("events").empty());
    BOOST_TEST(c.take("persons").empty());
  };
  // A kind nobody declared: the record is named; nothing of the file applied.
  refusedWith("KOSEKI_A_DIFF.csv",
              line({"者", "K1", "01", "", "", "", "", "", "見本", "", "一", "", "", "", "令和元年5月1日", "1"}) +
                  line({"謎", "K1"}),
              2, "data record 2: 種別 '謎' is none of the kinds");
  // A 身分事項 for a person neither the export nor the register has.
  refusedWith("KOSEKI_B_DIFF.csv",
              line({"身分事項", "K999999999", "07", "1", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
                    "死亡", "令和8年12月1日"}),
              1, "no 戸籍 record, here or in the register");
  // A trailer that disagrees (the layout's check): refused whole.
  test::writeFile(c.dir / "koseki/in/KOSEKI_C_DIFF.csv",
                  head + line({"身分事項", "K1", "01", "1", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
                               "", "出生"}) + "\"9\",\"5\"\r\n");
  c.once();
  BOOST_TEST(fs::exists(c.dir / "koseki/error/KOSEKI_C_DIFF.csv"));
  BOOST_TEST(c.take("events").empty());

  // The same 身分事項 twice, and a 文字番号 that does not agree with its
  // text: one event, the repeat counted; the name marked lossy.
  const std::string persons = test::readFile(c.dir / "koseki/done" / test::listFiles(c.dir / "koseki/done").front());
  const std::string tag = "\"者\",\"";
  const std::size_t p = persons.find(tag) + tag.size();
  const std::size_t comma = persons.find("\",\"", p);
  const std::string kid = persons.substr(p, comma - p);
  const std::string seq = persons.substr(comma + 3, 2);
  const std::string death = line({"身分事項", kid, seq, "9", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
                                  "", "死亡", "令和8年12月1日", "令和8年12月2日", "令和8年12月2日",
                                  "【死亡日】令和8年12月1日【死亡地】架空市"});
  const std::string person = line({"者", kid, "30", "", "", "", "", "", "見本", "100010 100020", "花子", "100030",
                                   "ミホンハナコ", "declared", "令和8年12月1日", "2"});
  test::writeFile(c.dir / "koseki/in/KOSEKI_D_DIFF.csv", head + death + death + person + "\"9\",\"3\"\r\n");
  auto r = c.once();
  BOOST_TEST(r.err.find("1 records repeat an earlier one") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("0 names or 本籍 came as Unicode only (lossy: their 統一文字番号 is missing), 1 with a 文字番号 "
                        "sequence that does not agree") != std::string::npos,
             r.err);
  auto events = c.take("events");
  BOOST_TEST(count(events, "\"event\":\"死亡\"") == 1u);
  const std::string added = first(c.take("persons"), "\"given\":\"花子\"");
  BOOST_TEST(value(added, "lossy") == "given", added);  // 花子 with one number; 見本 has two
  BOOST_TEST(value(added, "kana_source") == "declared");

  // A full extract that leaves out most persons (cut off): held, nothing of
  // it applied, until an operator releases it.
  c.koseki("KOSEKI_20261203_FULL.csv", {"--only", "20"});
  r = c.once();
  BOOST_TEST(r.err.find("current persons") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("more than max-full-removal (10%): held") != std::string::npos, r.err);
  BOOST_TEST(c.take("persons").empty());
  auto held = runRenkei({"koseki", "held", "--config", c.config()});
  BOOST_TEST(held.out.find("KOSEKI_20261203_FULL.csv") != std::string::npos, held.out);
  auto release = runRenkei({"koseki", "release", "--config", c.config(), "--file", "KOSEKI_20261203_FULL.csv",
                            "--by", "戸籍係"});
  BOOST_TEST_REQUIRE(release.exitCode == 0, release.err);
  BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  auto after = c.take("persons");
  BOOST_TEST(count(after, "\"current\":\"false\"") > 200u);  // their 戸籍 closed (除籍簿)

  // A differential made before that full extract (its header's 作成年月日):
  // what it says is older than the register — held, not applied.
  c.koseki("KOSEKI_20261130_DIFF.csv", {"--diff", source(kDiff).string(), "--date", "20261130"});
  r = c.once();
  BOOST_TEST(r.err.find("differential 'KOSEKI_20261130_DIFF.csv' was made on 2026-11-30, before the full extract "
                        "applied last (made 2026-12-01)") != std::string::npos,
             r.err);
  BOOST_TEST(c.take("events").empty());
  BOOST_TEST(fs::exists(c.dir / "koseki/held/KOSEKI_20261130_DIFF.csv"));
}

// SIGKILL at random moments while a full 戸籍 export of 20,000 residents'
// 戸籍 and the 戸籍 side of a differential (a death for every 40th) are
// taken in: every person and event once, the registers and what was sent in
// step — the same as a run never killed.
BOOST_AUTO_TEST_CASE(sigkill_at_random_moments_every_event_once) {
  test::TempDir data;
  const fs::path jumin = data / "JUMIN_FULL.csv", deaths = data / "JUMIN_DEATHS.csv";
  auto gen = test::run({"/usr/bin/python3", source("tests/tools/gen_residents.py").string(), "--rows", "20000", "--seed",
                        "13", "--csv", jumin.string()});
  BOOST_TEST_REQUIRE(gen.exitCode == 0, gen.err);
  {
    const std::string text = test::readFile(jumin);
    std::string out = text.substr(0, text.find("\r\n") + 2);
    std::size_t n = 0;
    for (std::size_t at = out.size(); at < text.size();) {
      const std::size_t end = text.find("\r\n", at);
      std::string row = text.substr(at, end - at);
      at = end + 2;
      if (n++ % 40) continue;
      // 異動事由 (the 19th cell) 07 死亡 on 令和8年12月1日.
      std::size_t cell = 0, pos = 0;
      for (; cell < 18 && pos != std::string::npos; ++cell) pos = row.find("\",\"", pos + 1);
      if (pos == std::string::npos) continue;
      const std::size_t reasonAt = pos + 3, dateAt = row.find("\",\"", reasonAt) + 3;
      row.replace(dateAt, row.find('"', dateAt) - dateAt, "5081201");
      row.replace(reasonAt, row.find('"', reasonAt) - reasonAt, "07");
      out += row + "\r\n";
    }
    test::writeFile(deaths, out);
  }
  std::vector<fs::path> exports;
  auto koseki = [&](const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> cmd{"/usr/bin/python3", source("tests/tools/gen_koseki.py").string(), "--share", "1",
                                 "--resident", jumin.string(), "--out", (data / name).string()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = test::run(cmd);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    exports.push_back(data / name);
  };
  koseki("KOSEKI_1_FULL.csv", {});
  koseki("KOSEKI_2_DIFF.csv", {"--diff", deaths.string(), "--date", "20261202"});

  auto prepare = [&](City& c) {
    fs::copy_file(jumin, c.dir / "jumin/in/JUMIN_FULL.csv");
    BOOST_TEST_REQUIRE(c.once().exitCode == 0);  // the residents first
    for (const fs::path& e : exports) fs::copy_file(e, c.dir / "koseki/in" / e.filename());
  };
  auto derived = [](City& c) {
    auto lines = c.take("persons");
    for (auto& l : c.take("events")) lines.push_back(l);
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  City reference;
  prepare(reference);
  BOOST_TEST_REQUIRE(reference.once().exitCode == 0);
  const auto expected = derived(reference);
  BOOST_TEST(count(expected, "\"event\":\"死亡\"") > 100u);

  City c;
  prepare(c);
  std::mt19937 random(20261207);
  int kills = 0;
  for (int run = 0; kills < 20 && run < 200; ++run) {
    auto child = test::spawn({test::renkeiBinary(), "serve", "--config", c.config(), "--once"},
                             c.dir.path() / ("run" + std::to_string(run)),
                             {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(5, std::max(15, 150 - 6 * kills))(random)));
    test::ProcessResult r;
    if (child.finished(r)) {
      if (test::listFiles(c.dir / "koseki/in").empty() && test::listFiles(c.dir / "koseki/processing").empty()) break;
      continue;
    }
    ::kill(child.pid, SIGKILL);
    if (child.wait().signal == SIGKILL) ++kills;
  }
  BOOST_TEST_MESSAGE("killed " << kills << " times");
  BOOST_TEST(kills >= 20, "only " << kills << " kills landed before the work was done");
  for (int i = 0; i < 3; ++i) BOOST_TEST_REQUIRE(c.once().exitCode == 0);
  const auto got = derived(c);
  BOOST_TEST(got.size() == expected.size());
  BOOST_TEST((got == expected), "the persons and events differ from a run never killed");
  BOOST_TEST(test::listFiles(c.dir / "koseki/done") == test::listFiles(reference.dir / "koseki/done"),
             boost::test_tools::per_element());
}
