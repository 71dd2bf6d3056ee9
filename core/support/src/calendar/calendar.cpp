// The municipal calendar (renkei/calendar.h).
#include "renkei/support/calendar.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace renkei::calendar {
namespace {

constexpr Date kLawStart{1948, 7, 20};       // 国民の祝日に関する法律, in force
constexpr Date kSubstituteStart{1973, 4, 12}; // 振替休日
constexpr Date kCitizensStart{1985, 12, 27};  // 国民の休日

/// The n-th Monday of a month (n from 1).
Date nthMonday(int year, int month, int n) {
  const int w = weekday(Date{year, month, 1});
  return Date{year, month, 1 + (8 - w) % 7 + 7 * (n - 1)};
}

/// 春分日 and 秋分日 by the approximation published with the 理科年表 method
/// (1900–2150); the Cabinet Office's list fixes published years.
int equinoxDay(int year, bool spring) {
  double base;
  int leapBase;
  if (year <= 1979) {
    base = spring ? 20.8357 : 23.2588;
    leapBase = 1983;
  } else if (year <= 2099) {
    base = spring ? 20.8431 : 23.2488;
    leapBase = 1980;
  } else {
    base = spring ? 21.8510 : 24.2488;
    leapBase = 1980;
  }
  // (year - leapBase) / 4 truncates toward zero, as the published formula
  // does (checked against the list for 1955–2027).
  return static_cast<int>(std::floor(base + 0.242194 * (year - 1980) - (year - leapBase) / 4));
}

bool isHolidayIn(const std::vector<Holiday>& list, const Date& d) {
  for (const Holiday& h : list)
    if (h.date == d) return true;
  return false;
}

}  // namespace

std::int64_t toDays(const Date& d) {
  // H. Hinnant's days_from_civil.
  const int y = d.year - (d.month <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * static_cast<unsigned>(d.month + (d.month > 2 ? -3 : 9)) + 2) / 5 +
                       static_cast<unsigned>(d.day) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Date fromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
  return Date{static_cast<int>(y + (mm <= 2)), static_cast<int>(mm), static_cast<int>(dd)};
}

Date addDays(const Date& d, std::int64_t n) { return fromDays(toDays(d) + n); }

int weekday(const Date& d) {
  // 1970-01-01 was a Thursday.
  return static_cast<int>(((toDays(d) % 7) + 7 + 4) % 7);
}

bool validDate(int year, int month, int day) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

std::optional<Date> parseIso(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  int v[3] = {0, 0, 0};
  const std::size_t starts[] = {0, 5, 8}, lens[] = {4, 2, 2};
  for (int i = 0; i < 3; ++i)
    for (std::size_t k = 0; k < lens[i]; ++k) {
      const char c = t[starts[i] + k];
      if (c < '0' || c > '9') return std::nullopt;
      v[i] = v[i] * 10 + (c - '0');
    }
  if (!validDate(v[0], v[1], v[2])) return std::nullopt;
  return Date{v[0], v[1], v[2]};
}

std::string iso(const Date& d) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", d.year, d.month, d.day);
  return text;
}

const char* kindName(Kind k) {
  switch (k) {
    case Kind::Open: return "open";
    case Kind::Saturday: return "saturday";
    case Kind::Sunday: return "sunday";
    case Kind::Holiday: return "holiday";
    case Kind::Substitute: return "substitute-holiday";
    case Kind::Citizens: return "citizens-holiday";
    case Kind::YearEnd: return "year-end";
    case Kind::LocalClosed: return "local-closed";
    case Kind::ServiceDay: return "service-day";
  }
  return "open";
}

std::optional<Rule> parseRule(std::string_view name) {
  if (name == "days") return Rule::Days;
  if (name == "open-days") return Rule::OpenDays;
  if (name == "days-exact") return Rule::DaysExact;
  return std::nullopt;
}

std::vector<Holiday> holidaysByRule(int y) {
  std::vector<Holiday> h;
  if (y < kLawStart.year) return h;
  auto add = [&](int m, int d, const char* name) { h.push_back({Date{y, m, d}, name, Kind::Holiday}); };
  auto addDate = [&](const Date& d, const char* name) { h.push_back({d, name, Kind::Holiday}); };
  add(1, 1, "元日");
  if (y <= 1999) add(1, 15, "成人の日");
  else addDate(nthMonday(y, 1, 2), "成人の日");
  if (y >= 1967) add(2, 11, "建国記念の日");
  if (y >= 2020) add(2, 23, "天皇誕生日");
  add(3, equinoxDay(y, true), "春分の日");
  if (y <= 1988) add(4, 29, "天皇誕生日");
  else if (y <= 2006) add(4, 29, "みどりの日");
  else add(4, 29, "昭和の日");
  add(5, 3, "憲法記念日");
  if (y >= 2007) add(5, 4, "みどりの日");
  add(5, 5, "こどもの日");
  if (y == 2020) add(7, 23, "海の日");
  else if (y == 2021) add(7, 22, "海の日");
  else if (y >= 2003) addDate(nthMonday(y, 7, 3), "海の日");
  else if (y >= 1996) add(7, 20, "海の日");
  if (y == 2020) add(8, 10, "山の日");
  else if (y == 2021) add(8, 8, "山の日");
  else if (y >= 2016) add(8, 11, "山の日");
  if (y >= 2003) addDate(nthMonday(y, 9, 3), "敬老の日");
  else if (y >= 1966) add(9, 15, "敬老の日");
  add(9, equinoxDay(y, false), "秋分の日");
  if (y == 2020) add(7, 24, "スポーツの日");
  else if (y == 2021) add(7, 23, "スポーツの日");
  else if (y >= 2022) addDate(nthMonday(y, 10, 2), "スポーツの日");
  else if (y == 2019) addDate(nthMonday(y, 10, 2), "体育の日（スポーツの日）");
  else if (y >= 2000) addDate(nthMonday(y, 10, 2), "体育の日");
  else if (y >= 1966) add(10, 10, "体育の日");
  add(11, 3, "文化の日");
  add(11, 23, "勤労感謝の日");
  if (y >= 1989 && y <= 2018) add(12, 23, "天皇誕生日");
  // One-off holidays by their own laws, named as the published list names
  // them (2019: 天皇の即位の日 and 即位礼正殿の儀, "休日（祝日扱い）" there).
  if (y == 1959) add(4, 10, "結婚の儀");
  if (y == 1989) add(2, 24, "大喪の礼");
  if (y == 1990) add(11, 12, "即位礼正殿の儀");
  if (y == 1993) add(6, 9, "結婚の儀");
  if (y == 2019) {
    add(5, 1, "休日（祝日扱い）");
    add(10, 22, "休日（祝日扱い）");
  }
  if (y == kLawStart.year)
    h.erase(std::remove_if(h.begin(), h.end(), [](const Holiday& x) { return x.date < kLawStart; }), h.end());
  std::sort(h.begin(), h.end(), [](const Holiday& a, const Holiday& b) { return a.date < b.date; });
  const std::vector<Holiday> proper = h;  // the 国民の祝日 themselves
  // 振替休日: a 祝日 on a Sunday makes the next day a holiday (until 2006);
  // from 2007 the nearest following day that is not a 祝日.
  for (const Holiday& x : proper) {
    if (weekday(x.date) != 0 || x.date < kSubstituteStart) continue;
    Date next = addDays(x.date, 1);
    if (y >= 2007)
      while (isHolidayIn(proper, next)) next = addDays(next, 1);
    else if (isHolidayIn(proper, next))
      continue;
    if (next.year == y && !isHolidayIn(h, next)) h.push_back({next, "振替休日", Kind::Substitute});
  }
  // 国民の休日: a day between two 祝日 that is not itself a 祝日 (until 2006
  // also neither a Sunday nor a 振替休日).
  for (std::size_t i = 0; i + 1 < proper.size(); ++i) {
    const Date between = addDays(proper[i].date, 1);
    if (addDays(between, 1) != proper[i + 1].date || between < kCitizensStart) continue;
    if (isHolidayIn(h, between)) continue;
    if (y < 2007 && weekday(between) == 0) continue;
    h.push_back({between, "国民の休日", Kind::Citizens});
  }
  std::sort(h.begin(), h.end(), [](const Holiday& a, const Holiday& b) { return a.date < b.date; });
  return h;
}

std::vector<std::string> parseCabinetOfficeCsv(std::string_view text, std::map<Date, std::string>& out) {
  std::vector<std::string> problems;
  std::size_t at = 0;
  int line = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") at = 3;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(at, end - at);
    at = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) continue;
    if (line == 1 && (l[0] < '0' || l[0] > '9')) continue;  // the header
    const std::size_t comma = l.find(',');
    const std::string_view date = l.substr(0, comma);
    int v[3] = {0, 0, 0}, part = 0, digits = 0;
    bool ok = comma != std::string_view::npos && comma + 1 < l.size();
    for (char c : date) {
      if (c == '/') {
        ok = ok && digits > 0 && ++part < 3;
        digits = 0;
        if (!ok) break;
      } else if (c >= '0' && c <= '9' && digits < 4) {
        v[part] = v[part] * 10 + (c - '0');
        ++digits;
      } else {
        ok = false;
        break;
      }
    }
    ok = ok && part == 2 && digits > 0 && validDate(v[0], v[1], v[2]);
    if (!ok) {
      problems.push_back("line " + std::to_string(line) + ": not 'YYYY/M/D,名称' with a real date");
      if (problems.size() >= 20) break;
      continue;
    }
    out[Date{v[0], v[1], v[2]}] = std::string(l.substr(comma + 1));
  }
  if (out.empty() && problems.empty()) problems.push_back("no holidays in the list");
  return problems;
}

Calendar::Calendar() = default;

void Calendar::usePublished(const std::map<Date, std::string>& list) {
  published_.clear();
  for (const auto& [date, name] : list) published_[date.year].push_back({date, name, Kind::Holiday});
  for (auto& [year, days] : published_) {
    // The list says 「休日」 for both: a 「休日」 after a chain of holidays that
    // starts on a Sunday is 振替休日; one between two 祝日, 国民の休日.
    for (Holiday& h : days) {
      if (h.name != "休日") continue;
      Date back = addDays(h.date, -1);
      bool substitute = false;
      while (isHolidayIn(days, back)) {
        if (weekday(back) == 0) substitute = true;
        back = addDays(back, -1);
      }
      h.kind = substitute ? Kind::Substitute : Kind::Citizens;
      h.name = substitute ? "振替休日" : "国民の休日";
    }
  }
}

std::optional<std::pair<int, int>> Calendar::publishedYears() const {
  if (published_.empty()) return std::nullopt;
  return std::make_pair(published_.begin()->first, published_.rbegin()->first);
}

void Calendar::setYearEnd(int fromMonth, int fromDay, int toMonth, int toDay) {
  yearEndFrom_ = fromMonth * 100 + fromDay;
  yearEndTo_ = toMonth * 100 + toDay;
}

void Calendar::addClosed(const Date& date, std::string name) {
  if (date.year == 0) closedEveryYear_[date.month * 100 + date.day] = std::move(name);
  else closedOnce_[date] = std::move(name);
}

void Calendar::addServiceDay(const Date& date, std::string name) { serviceDays_[date] = std::move(name); }

std::vector<Holiday> Calendar::holidaysOf(int year) const {
  auto it = published_.find(year);
  return it != published_.end() ? it->second : holidaysByRule(year);
}

Day Calendar::day(const Date& date) const {
  if (auto s = serviceDays_.find(date); s != serviceDays_.end()) return {Kind::ServiceDay, s->second, true};
  for (const Holiday& h : holidaysOf(date.year))
    if (h.date == date) return {h.kind, h.name, false};
  const int md = date.month * 100 + date.day;
  const bool yearEnd = yearEndFrom_ || yearEndTo_
                           ? (yearEndFrom_ > yearEndTo_ ? md >= yearEndFrom_ || md <= yearEndTo_
                                                        : md >= yearEndFrom_ && md <= yearEndTo_)
                           : false;
  if (yearEnd) return {Kind::YearEnd, "年末年始", false};
  if (auto c = closedOnce_.find(date); c != closedOnce_.end()) return {Kind::LocalClosed, c->second, false};
  if (auto c = closedEveryYear_.find(md); c != closedEveryYear_.end()) return {Kind::LocalClosed, c->second, false};
  const int w = weekday(date);
  if (w == 0) return {Kind::Sunday, "", false};
  if (w == 6) return {Kind::Saturday, "", false};
  return {Kind::Open, "", true};
}

Date Calendar::nextOpenDay(const Date& date) const {
  Date d = date;
  // A calendar with a year of closed days is a mistake in it; the search
  // is bounded either way.
  for (int i = 0; i < 366 && !isOpen(d); ++i) d = addDays(d, 1);
  return d;
}

Date Calendar::deadline(const Date& start, int days, Rule rule) const {
  switch (rule) {
    case Rule::DaysExact: return addDays(start, days);
    case Rule::Days: return nextOpenDay(addDays(start, days));
    case Rule::OpenDays: {
      Date d = start;
      for (int counted = 0, guard = 0; counted < days && guard < 100000; ++guard) {
        d = addDays(d, 1);
        if (isOpen(d)) ++counted;
      }
      return days <= 0 ? nextOpenDay(start) : d;
    }
  }
  return start;
}

int Calendar::openDaysBetween(const Date& from, const Date& to) const {
  if (to < from) return -openDaysBetween(to, from);
  int n = 0;
  for (Date d = addDays(from, 1); d <= to; d = addDays(d, 1))
    if (isOpen(d)) ++n;
  return n;
}

}  // namespace renkei::calendar
