// The municipal calendar (issue 15, item 1): 祝日法 by rule against the
// Cabinet Office's published list for every year 1955–2026, the test
// vectors of frontyard.md §7, deadlines, the municipality's overlay, and
// calendar files with file:line for what is wrong.
#define BOOST_TEST_MODULE renkei_calendar
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>

#include "renkei/support/calendar_file.h"
#include "renkei/support/calendar.h"
#include "test_support.h"
#include "renkei/support/codec.h"

using namespace renkei;
using calendar::Date;
namespace fs = std::filesystem;

namespace {

Date d(const char* iso) { return *calendar::parseIso(iso); }

fs::path shipped(const char* rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

std::map<Date, std::string> publishedList() {
  std::ifstream in(shipped("config/calendar/syukujitsu.csv"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string utf8;
  text::CodecStats stats;
  text::findCodec("windows-31j")->decode(bytes, utf8, stats);
  BOOST_REQUIRE(stats.invalid == 0u);
  std::map<Date, std::string> list;
  BOOST_REQUIRE(calendar::parseCabinetOfficeCsv(utf8, list).empty());
  return list;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dates_are_civil_days) {
  BOOST_TEST(calendar::toDays(d("1970-01-01")) == 0);
  BOOST_TEST(calendar::iso(calendar::fromDays(calendar::toDays(d("2024-02-29")) + 1)) == "2024-03-01");
  BOOST_TEST(calendar::weekday(d("2026-12-01")) == 2);  // a Tuesday
  BOOST_TEST(calendar::weekday(d("1955-01-01")) == 6);  // a Saturday
  BOOST_TEST(!calendar::parseIso("2026-02-30"));
  BOOST_TEST(!calendar::parseIso("2025-02-29"));
  BOOST_TEST(calendar::parseIso("2024-02-29").has_value());
  BOOST_TEST(!calendar::parseIso("2026-1-05"));
}

BOOST_AUTO_TEST_CASE(the_vectors_of_frontyard_by_rule) {
  const calendar::Calendar cal;  // no list: the rules alone
  const std::vector<std::pair<const char*, calendar::Kind>> vectors = {
      {"2026-05-06", calendar::Kind::Substitute}, {"2026-09-22", calendar::Kind::Citizens},
      {"2027-03-22", calendar::Kind::Substitute}, {"2019-05-01", calendar::Kind::Holiday},
      {"2019-10-22", calendar::Kind::Holiday},    {"2021-07-22", calendar::Kind::Holiday},
      {"2021-07-23", calendar::Kind::Holiday},    {"2021-08-08", calendar::Kind::Holiday},
      {"2021-08-09", calendar::Kind::Substitute}, {"2019-04-30", calendar::Kind::Citizens},
      {"2019-05-02", calendar::Kind::Citizens},
  };
  for (const auto& [day, kind] : vectors) {
    BOOST_TEST_CONTEXT(day) {
      BOOST_TEST(calendar::kindName(cal.day(d(day)).kind) == calendar::kindName(kind));
      BOOST_TEST(!cal.isOpen(d(day)));
    }
  }
  BOOST_TEST(cal.day(d("2019-10-22")).name == "休日（祝日扱い）");  // 即位礼正殿の儀, as the list names it
  BOOST_TEST(cal.day(d("2021-07-23")).name == "スポーツの日");
  BOOST_TEST(cal.isOpen(d("2020-10-12")));  // no スポーツの日 in October 2020: it moved to 7/24
}

BOOST_AUTO_TEST_CASE(every_holiday_1955_to_2026_by_rule_equals_the_published_list) {
  const auto list = publishedList();
  std::size_t compared = 0, mismatches = 0;
  for (int year = 1955; year <= 2026; ++year) {
    std::map<Date, std::string> byRule;
    for (const auto& h : calendar::holidaysByRule(year))
      byRule[h.date] = h.kind == calendar::Kind::Holiday ? h.name : "休日";  // the list's word for both
    std::map<Date, std::string> published;
    for (const auto& [date, name] : list)
      if (date.year == year) published[date] = name;
    BOOST_TEST_CONTEXT(year) {
      for (const auto& [date, name] : published) {
        auto it = byRule.find(date);
        const bool same = it != byRule.end() && it->second == name;
        BOOST_TEST(same, calendar::iso(date) << ": list " << name << ", rule "
                                             << (it == byRule.end() ? std::string("(none)") : it->second));
        mismatches += same ? 0 : 1;
        ++compared;
      }
      for (const auto& [date, name] : byRule) {
        const bool listed = published.count(date) > 0;
        BOOST_TEST(listed, calendar::iso(date) << ": rule " << name << ", not in the list");
        mismatches += listed ? 0 : 1;
      }
    }
  }
  BOOST_TEST(compared > 1000u);
  BOOST_TEST(mismatches == 0u);
}

BOOST_AUTO_TEST_CASE(the_published_list_tells_its_two_kinds_of_kyujitsu_apart) {
  calendar::Calendar cal;
  cal.usePublished(publishedList());
  BOOST_TEST(cal.publishedYears()->first == 1955);
  BOOST_TEST(cal.day(d("2026-05-06")).name == "振替休日");
  BOOST_TEST(cal.day(d("2026-09-22")).name == "国民の休日");
  BOOST_TEST(cal.day(d("1973-04-30")).name == "振替休日");  // the first one
  BOOST_TEST(cal.day(d("1988-05-04")).name == "国民の休日");
}

BOOST_AUTO_TEST_CASE(deadlines_count_from_the_next_day_and_roll_past_closed_days) {
  Diagnostics diags;
  auto cal = loadCalendar(shipped("config/calendar/demo-city.xml"), diags);
  BOOST_REQUIRE_MESSAGE(cal, diags.format());
  using calendar::Rule;
  BOOST_TEST(calendar::iso(cal->deadline(d("2025-12-20"), 14, Rule::Days)) == "2026-01-05");  // 1/3 年末年始
  BOOST_TEST(calendar::iso(cal->deadline(d("2026-04-25"), 14, Rule::Days)) == "2026-05-11");  // GW
  BOOST_TEST(calendar::iso(cal->deadline(d("2026-09-06"), 14, Rule::Days)) == "2026-09-24");  // シルバーウィーク
  BOOST_TEST(calendar::iso(cal->deadline(d("2026-09-06"), 14, Rule::DaysExact)) == "2026-09-20");
  // 14 open days from Friday 2026-04-24: 4/27, 28, 30, 5/1, 7, 8, 11–15, 18–20
  BOOST_TEST(calendar::iso(cal->deadline(d("2026-04-24"), 14, Rule::OpenDays)) == "2026-05-20");
  BOOST_TEST(cal->openDaysBetween(d("2026-04-24"), d("2026-05-20")) == 14);
  BOOST_TEST(cal->openDaysBetween(d("2026-05-20"), d("2026-04-24")) == -14);
  BOOST_TEST(calendar::iso(cal->nextOpenDay(d("2026-12-29"))) == "2027-01-04");
  // 土曜開庁 in the peak: a Saturday that counts
  BOOST_TEST(cal->isOpen(d("2027-03-27")));
  BOOST_TEST(calendar::iso(cal->deadline(d("2027-03-25"), 2, Rule::Days)) == "2027-03-27");
}

BOOST_AUTO_TEST_CASE(the_overlay_closes_local_days_and_opens_service_days) {
  test::TempDir tmp;
  test::writeFile(tmp / "c.xml", R"(<calendar xmlns="urn:renkei:calendar:1" id="t">
  <year-end none="true"/>
  <closed every="06-23" name="慰霊の日"/>
  <closed date="2026-08-06" name="平和記念日"/>
  <service-day date="2026-05-06" name="臨時開庁"/>
</calendar>
)");
  Diagnostics diags;
  auto cal = loadCalendar(tmp / "c.xml", diags);
  BOOST_REQUIRE_MESSAGE(cal, diags.format());
  BOOST_TEST(cal->day(d("2026-06-23")).name == "慰霊の日");
  BOOST_TEST(!cal->isOpen(d("2027-06-23")));
  BOOST_TEST(!cal->isOpen(d("2026-08-06")));
  BOOST_TEST(cal->isOpen(d("2027-08-06")));
  BOOST_TEST(cal->isOpen(d("2026-05-06")));  // a 振替休日 opened
  BOOST_TEST(cal->isOpen(d("2026-12-29")));  // no 年末年始
  BOOST_TEST(!cal->isOpen(d("2027-01-01")));  // still 元日
}

BOOST_AUTO_TEST_CASE(calendar_files_name_what_is_wrong_at_its_line) {
  test::TempDir tmp;
  test::writeFile(tmp / "list.csv", "国民の祝日・休日月日,国民の祝日・休日名称\n2026/1/1,元日\n2026/2/30,ない日\n");
  test::writeFile(tmp / "c.xml", R"(<calendar xmlns="urn:renkei:calendar:1" id="t">
  <published file="list.csv" encoding="utf-8"/>
  <year-end from="12-32" to="01-03"/>
  <closed date="2026-02-30" name="x"/>
  <closed name="y"/>
  <service-day from="2026-03-01" to="2026-04-30" weekdays="sat,sunday" name="z"/>
  <service-day from="2026-03-01" to="2027-04-30" weekdays="sat" name="z"/>
</calendar>
)");
  Diagnostics diags;
  BOOST_TEST(!loadCalendar(tmp / "c.xml", diags));
  const std::string text = diags.format();
  for (const std::string expected :
       {"list.csv:3: not 'YYYY/M/D,名称' with a real date", "c.xml:3: <year-end>: from and to are month-day pairs",
        "c.xml:4: <closed>: date '2026-02-30' is not a day of the calendar",
        "c.xml:5: <closed name=\"y\">: give date=\"YYYY-MM-DD\" or every=\"MM-DD\"",
        "c.xml:6: <service-day>: weekdays is a list of sun, mon", "c.xml:7: <service-day name=\"z\">: give date"})
    BOOST_TEST(text.find(expected) != std::string::npos, "expected '" << expected << "' in:\n" << text);
  Diagnostics missing;
  test::writeFile(tmp / "m.xml", R"(<calendar xmlns="urn:renkei:calendar:1" id="t"><published file="none.csv"/></calendar>)");
  BOOST_TEST(!loadCalendar(tmp / "m.xml", missing));
  BOOST_TEST(missing.format().find("m.xml:1: <published>: '") != std::string::npos, missing.format());
  BOOST_TEST(missing.format().find("none.csv' does not exist") != std::string::npos, missing.format());
}

BOOST_AUTO_TEST_CASE(renkei_calendar_prints_a_year_and_a_deadline) {
  auto year = test::run({test::renkeiBinary(), "calendar", "--calendar",
                         shipped("config/calendar/demo-city.xml").string(), "--year", "2026"});
  BOOST_TEST(year.exitCode == 0, year.err);
  BOOST_TEST(year.out.find("2026-05-06 水 closed substitute-holiday 振替休日") != std::string::npos, year.out);
  BOOST_TEST(year.out.find("2026-09-22 火 closed citizens-holiday 国民の休日") != std::string::npos);
  BOOST_TEST(year.out.find("2026-12-29 火 closed year-end 年末年始") != std::string::npos);
  BOOST_TEST(year.out.find("2026-12-01 火 open\n") != std::string::npos);
  BOOST_TEST(test::countLines(year.out) == 365u + 2u);
  auto deadline = test::run({test::renkeiBinary(), "calendar", "--calendar",
                             shipped("config/calendar/demo-city.xml").string(), "--from", "2025-12-20", "--days", "14"});
  BOOST_TEST(deadline.exitCode == 0, deadline.err);
  BOOST_TEST(deadline.out.find("→ 2026-01-05 月") != std::string::npos, deadline.out);
  BOOST_TEST(deadline.out.find("2026-01-03 is closed (year-end 年末年始)") != std::string::npos, deadline.out);
  auto bad = test::run({test::renkeiBinary(), "calendar", "--from", "2026-02-30", "--days", "14"});
  BOOST_TEST(bad.exitCode == 2);
}
