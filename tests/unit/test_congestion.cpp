// The congestion profile and forecast (混雑予想カレンダー) on the demo city's
// calendar, checked over whole years (2025–2028): which days the calendar
// marks (the month's last two open days, the first open day after a
// holiday or 年末年始, March–April), that factors hidden in a synthetic
// history come back out, and that each month's forecast follows the
// calendar day by day.
#define BOOST_TEST_MODULE renkei_congestion
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>

#include "crm_congestion.h"
#include "renkei/support/calendar_file.h"
#include "test_support.h"

using namespace renkei;
namespace cg = renkei::plugins::crm::congestion;
namespace fs = std::filesystem;

namespace {

calendar::Calendar demoCalendar() {
  Diagnostics diags;
  auto cal = loadCalendar(fs::path(test::env("RENKEI_SOURCE_DIR")) / "config/calendar/demo-city.xml", diags);
  BOOST_REQUIRE_MESSAGE(cal && diags.empty(), diags.format());
  return *cal;
}

calendar::Date d(int y, int m, int day) { return calendar::Date{y, m, day}; }

/// Visits of an ordinary weekday (Monday busiest), spread over 8:30–17:00
/// with a morning peak at 10:00 and a smaller one at 14:00.
constexpr double kWeekday[7] = {0, 130, 100, 95, 100, 115, 0};
constexpr int kHours[] = {8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr double kShare[] = {0.05, 0.15, 0.22, 0.14, 0.06, 0.1, 0.14, 0.09, 0.05};

}  // namespace

BOOST_AUTO_TEST_CASE(the_calendar_marks_month_ends_days_after_holidays_and_the_season_every_year) {
  const calendar::Calendar cal = demoCalendar();
  for (int year = 2025; year <= 2028; ++year) {
    for (int month = 1; month <= 12; ++month) {
      int monthEnds = 0, open = 0;
      for (calendar::Date day{year, month, 1}; day.month == month; day = calendar::addDays(day, 1)) {
        if (!cal.isOpen(day)) continue;
        ++open;
        const unsigned k = cg::kindsOf(cal, day);
        BOOST_TEST(bool(k & cg::kSeason) == (month == 3 || month == 4));
        if (k & cg::kMonthEnd) ++monthEnds;
        // 休日明け: the day before is closed, and the closure held a day
        // that is not a plain Saturday or Sunday.
        const calendar::Date before = calendar::addDays(day, -1);
        bool holiday = false;
        for (calendar::Date b = before; !cal.isOpen(b); b = calendar::addDays(b, -1)) {
          const auto kind = cal.day(b).kind;
          holiday = holiday || (kind != calendar::Kind::Saturday && kind != calendar::Kind::Sunday);
        }
        BOOST_TEST(bool(k & cg::kPostHoliday) == holiday, calendar::iso(day));
      }
      BOOST_TEST(monthEnds == std::min(open, 2), year << "-" << month);
    }
  }
  // The days a resident would name.
  BOOST_TEST(cg::kindsOf(cal, d(2027, 1, 4)) & cg::kPostHoliday);      // after 年末年始
  BOOST_TEST(cg::kindsOf(cal, d(2027, 1, 12)) & cg::kPostHoliday);     // after 成人の日 (Monday 1-11)
  BOOST_TEST(!(cg::kindsOf(cal, d(2027, 1, 18)) & cg::kPostHoliday));  // a Monday after a plain weekend
  BOOST_TEST(cg::kindsOf(cal, d(2027, 5, 6)) & cg::kPostHoliday);      // after Golden Week
  BOOST_TEST(cg::kindsOf(cal, d(2027, 3, 31)) == (cg::kMonthEnd | cg::kSeason));
  BOOST_TEST(cg::kindsOf(cal, d(2027, 4, 30)) == (cg::kMonthEnd | cg::kSeason | cg::kPostHoliday));  // 4-29 昭和の日
  BOOST_TEST(cg::kindNames(cg::kMonthEnd | cg::kSeason) == "月末・3〜4月");
}

BOOST_AUTO_TEST_CASE(factors_hidden_in_two_years_of_visits_come_back_out_and_make_the_forecast) {
  const calendar::Calendar cal = demoCalendar();
  const double hidden[] = {1.3, 1.6, 2.0};  // month end, after a holiday, March–April
  std::mt19937 rng(7);
  std::map<calendar::Date, cg::DayCounts> history;
  for (calendar::Date day = d(2025, 1, 1); day < d(2026, 12, 31); day = calendar::addDays(day, 1)) {
    if (!cal.isOpen(day)) continue;
    const unsigned k = cg::kindsOf(cal, day);
    double mean = kWeekday[calendar::weekday(day)];
    if (mean == 0) mean = 100;  // a service Saturday
    if (k & cg::kMonthEnd) mean *= hidden[0];
    if (k & cg::kPostHoliday) mean *= hidden[1];
    if (k & cg::kSeason) mean *= hidden[2];
    cg::DayCounts& c = history[day];
    for (std::size_t i = 0; i < std::size(kHours); ++i) {
      std::poisson_distribution<int> arrivals(mean * kShare[i]);
      c.arrivals[kHours[i]] = arrivals(rng);
      c.waited[kHours[i]] = c.arrivals[kHours[i]];
      c.waitSumSeconds[kHours[i]] = c.arrivals[kHours[i]] * 600;
    }
  }
  history[d(2024, 12, 2)];  // a day renkei did not see: left out
  const cg::Result r = cg::forecast(history, cal, 2027, 3);
  BOOST_TEST_REQUIRE(r.factors.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(r.factors[i].measured);
    BOOST_TEST(std::abs(r.factors[i].factor - hidden[i]) < 0.12 * hidden[i],
               cg::kindNames(r.factors[i].kind) << " " << r.factors[i].factor << " for " << hidden[i]);
  }
  BOOST_TEST(std::abs(r.arrivals[1][10] - 130 * 0.22 * 1.2) < 130 * 0.22 * 0.5);  // Mondays at 10:00, season included
  BOOST_TEST(r.waitSeconds[2][9] == 600.0);
  BOOST_TEST(r.days[0] == 0);  // no Sunday observed
  // March 2027, day by day: the calendar's closed days, the season on every
  // open day, its last two open days busiest, the busiest hour at 10:00.
  BOOST_TEST_REQUIRE(r.month.size() == 31u);
  for (const cg::DayForecast& f : r.month) {
    BOOST_TEST(f.open == cal.isOpen(f.date));
    if (!f.open) {
      BOOST_TEST(f.level == "閉庁");
      continue;
    }
    BOOST_TEST((f.kinds & cg::kSeason));
    BOOST_TEST(f.busiestHour == 10);
    BOOST_TEST((f.level == "やや混雑" || f.level == "混雑"), calendar::iso(f.date) << " " << f.level);
    if (f.kinds & cg::kMonthEnd) BOOST_TEST(f.level == "混雑");
  }
  // An ordinary month: Mondays busier than Wednesdays, 月末 busier still.
  const cg::Result june = cg::forecast(history, cal, 2027, 6);
  double monday = 0, wednesday = 0, monthEnd = 0;
  for (const cg::DayForecast& f : june.month) {
    if (!f.open) continue;
    if (f.kinds == 0 && calendar::weekday(f.date) == 1) monday = f.expected;
    if (f.kinds == 0 && calendar::weekday(f.date) == 3) wednesday = f.expected;
    if (f.kinds & cg::kMonthEnd) monthEnd = std::max(monthEnd, f.expected);
  }
  BOOST_TEST(monday > wednesday * 1.2);
  BOOST_TEST(monthEnd > wednesday * 1.2);
}

BOOST_AUTO_TEST_CASE(without_history_the_forecast_says_so_and_assumed_factors_are_marked) {
  const calendar::Calendar cal = demoCalendar();
  const cg::Result none = cg::forecast({}, cal, 2027, 2);
  BOOST_TEST(none.ordinaryMean == 0);
  for (const auto& f : none.factors) {
    BOOST_TEST(!f.measured);
    BOOST_TEST(f.factor == cg::assumedFactor(f.kind));
  }
  for (const auto& f : none.month) BOOST_TEST((f.level.empty() || f.level == "閉庁"));
  // Only ordinary days seen: the kinds fall back to the assumed factors.
  std::map<calendar::Date, cg::DayCounts> june;
  for (calendar::Date day = d(2026, 6, 8); day < d(2026, 6, 20); day = calendar::addDays(day, 1))
    if (cal.isOpen(day) && cg::kindsOf(cal, day) == 0) june[day].arrivals[10] = 50;
  const cg::Result some = cg::forecast(june, cal, 2027, 3);
  BOOST_TEST(some.ordinaryMean == 50.0);
  for (const auto& f : some.factors) BOOST_TEST(!f.measured);
  BOOST_TEST(!cg::forecast(june, cal, 2027, 13).month.size());  // no such month
}
