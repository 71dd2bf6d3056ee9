// The congestion profile and forecast (混雑予想カレンダー): from the visits of
// past days, arrivals per weekday and hour, how much busier the days the
// municipal calendar marks are — a month's last open days (月末), the first
// open day after a holiday or a long closure (休日明け), March and April (the
// moving season) — and, for a month ahead, each open day's expected
// arrivals, its busiest hour and a level a resident can read.
//
// Pure functions over counts (no store): the crm module reads the counts,
// the tests give them directly.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "renkei/support/calendar.h"

namespace renkei::plugins::crm::congestion {

/// What the calendar says of an open day, as bits.
enum Kind : unsigned {
  kMonthEnd = 1,     ///< one of the month's last two open days
  kPostHoliday = 2,  ///< the first open day after a closed day that is not a plain Saturday or Sunday
  kSeason = 4,       ///< in March or April
};
/// "月末", "休日明け", "3〜4月" joined with "・"; "" for an ordinary day.
std::string kindNames(unsigned kinds);
unsigned kindsOf(const calendar::Calendar& cal, const calendar::Date& day);

/// One observed day: arrivals per hour (local), and the waits (issue → call)
/// of those who were called, summed per hour.
struct DayCounts {
  std::array<std::int64_t, 24> arrivals{};
  std::array<std::int64_t, 24> waitSumSeconds{};
  std::array<std::int64_t, 24> waited{};
  std::int64_t total() const;
};

struct Factor {
  unsigned kind = 0;
  double factor = 1.0;  ///< mean of the days' arrivals over their weekday's ordinary mean
  int days = 0;         ///< observed days of this kind
  bool measured = false;  ///< false: no day of the kind in the history, the assumed factor is used
};

struct DayForecast {
  calendar::Date date;
  bool open = false;
  unsigned kinds = 0;
  double expected = 0;    ///< arrivals
  double ratio = 0;       ///< over the mean ordinary open day
  int busiestHour = -1;   ///< the hour with the most arrivals on its weekday, -1 without data
  std::string level;      ///< 空いている, 普通, やや混雑, 混雑, 閉庁; "" without data
};

struct Result {
  /// Weekday (0 Sunday) × hour: mean arrivals per observed day, mean wait (s).
  std::array<std::array<double, 24>, 7> arrivals{}, waitSeconds{};
  std::array<int, 7> days{};  ///< observed days per weekday
  double ordinaryMean = 0;    ///< arrivals on an ordinary open day
  std::vector<Factor> factors;  ///< month end, after a holiday, the season
  std::vector<DayForecast> month;
};

/// Factors used where the history holds no day of the kind (documented in
/// the crm README): 月末 1.3, 休日明け 1.4, 3〜4月 1.6.
double assumedFactor(unsigned kind);

/// Days without any arrival are taken as not observed (renkei was not
/// running, or the machine was not linked yet) and left out.
Result forecast(const std::map<calendar::Date, DayCounts>& history, const calendar::Calendar& cal, int year, int month);

/// The level of a day `ratio` times the ordinary mean.
const char* levelOf(double ratio);

}  // namespace renkei::plugins::crm::congestion
