// The municipal calendar (frontyard.md §7): national holidays by 祝日法
// 第3条 with their history (振替休日, 国民の休日, the moved Monday holidays,
// the one-off ceremonies), 春分/秋分 by the usual approximation for years
// not yet published, the Cabinet Office's published list for the years it
// covers, and the municipality's own overlay (年末年始, local closed days,
// service days such as 土日開庁). Everything that counts days — deadlines,
// reminders, standard processing periods — counts on it.
//
// Pure logic, no I/O: the host reads the files (calendar.xml, the CP932
// CSV) and hands their text in. Thread-safe for reading once built.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace renkei::calendar {

/// A civil (proleptic Gregorian) date.
struct Date {
  int year = 1970, month = 1, day = 1;
  friend bool operator==(const Date& a, const Date& b) {
    return a.year == b.year && a.month == b.month && a.day == b.day;
  }
  friend bool operator!=(const Date& a, const Date& b) { return !(a == b); }
  friend bool operator<(const Date& a, const Date& b) {
    return a.year != b.year ? a.year < b.year : a.month != b.month ? a.month < b.month : a.day < b.day;
  }
  friend bool operator<=(const Date& a, const Date& b) { return !(b < a); }
};

/// Days since 1970-01-01 (negative before).
std::int64_t toDays(const Date& d);
Date fromDays(std::int64_t days);
Date addDays(const Date& d, std::int64_t n);
/// 0 Sunday … 6 Saturday.
int weekday(const Date& d);
bool validDate(int year, int month, int day);
/// "2026-05-06"; nullopt for anything else (also 2月30日).
std::optional<Date> parseIso(std::string_view text);
std::string iso(const Date& d);

/// What kind of day a date is.
enum class Kind {
  Open,              ///< a weekday the offices are open
  Saturday,
  Sunday,
  Holiday,           ///< a 国民の祝日
  Substitute,        ///< 振替休日
  Citizens,          ///< 国民の休日 (between two 祝日)
  YearEnd,           ///< 年末年始 (the municipality's, by 条例)
  LocalClosed,       ///< a local closed day (慰霊の日 …)
  ServiceDay,        ///< open although a weekend or holiday (土日開庁)
};
/// "open", "saturday", "sunday", "holiday", "substitute-holiday",
/// "citizens-holiday", "year-end", "local-closed", "service-day".
const char* kindName(Kind k);

struct Day {
  Kind kind = Kind::Open;
  std::string name;  ///< 元日, 振替休日, 土曜開庁 …; "" for plain days
  bool open = true;  ///< the offices are open (what deadlines count)
};

/// How a deadline counts `days` from `start`.
enum class Rule {
  /// 民法 第140条–第142条: counted from the next day; when the last day is a
  /// closed day the period ends on the next open day (地方自治法 第4条の2).
  Days,
  /// `days` open days, counted from the next day (processing periods).
  OpenDays,
  /// counted from the next day, not rolled (a date fixed by law).
  DaysExact,
};
/// "days", "open-days", "days-exact"; nullopt for another name.
std::optional<Rule> parseRule(std::string_view name);

/// A 国民の祝日 (or 休日) of the national list.
struct Holiday {
  Date date;
  std::string name;
  Kind kind = Kind::Holiday;  ///< Holiday, Substitute or Citizens
};

/// The national holidays of `year` by the rules of 祝日法 as amended (from
/// 1949; the law took effect on 1948-07-20), sorted.
std::vector<Holiday> holidaysByRule(int year);

/// Parses the Cabinet Office's list (国民の祝日・休日月日,国民の祝日・休日名称;
/// already decoded to UTF-8; CRLF or LF; a header line): date → name. The
/// list calls 振替休日 and 国民の休日 both 「休日」. Returns the problems with
/// their line numbers (an empty vector: fine).
std::vector<std::string> parseCabinetOfficeCsv(std::string_view text, std::map<Date, std::string>& out);

class Calendar {
 public:
  Calendar();

  /// The published list: for every year it holds, its holidays replace the
  /// rules' (a 「休日」 is told apart as 振替休日 or 国民の休日 by its place).
  void usePublished(const std::map<Date, std::string>& list);
  /// Years the published list covers (first, last), if any.
  std::optional<std::pair<int, int>> publishedYears() const;

  /// 年末年始: from month/day to month/day, across the new year (default
  /// 12/29–1/3). Both 0: none.
  void setYearEnd(int fromMonth, int fromDay, int toMonth, int toDay);
  /// A local closed day, once (`date`) or every year (year 0).
  void addClosed(const Date& date, std::string name);
  /// A service day: open although a weekend, a holiday or 年末年始.
  void addServiceDay(const Date& date, std::string name);

  Day day(const Date& date) const;
  bool isOpen(const Date& date) const { return day(date).open; }
  /// `date` itself when open, else the next open day (at most 366 days on).
  Date nextOpenDay(const Date& date) const;
  /// The last day of a period of `days` from `start` under `rule`.
  Date deadline(const Date& start, int days, Rule rule) const;
  /// Open days in (from, to]; negative when `to` is before `from`.
  int openDaysBetween(const Date& from, const Date& to) const;

 private:
  std::vector<Holiday> holidaysOf(int year) const;
  std::map<int, std::vector<Holiday>> published_;
  int yearEndFrom_ = 1229, yearEndTo_ = 103;  // month * 100 + day
  std::map<Date, std::string> closedOnce_, serviceDays_;
  std::map<int, std::string> closedEveryYear_;  // month * 100 + day
};

}  // namespace renkei::calendar
