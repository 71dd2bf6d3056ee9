// Calendar files and `renkei calendar` (calendar_file.h).
#include "renkei/support/calendar_file.h"

#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>

#include "schemas.h"
#include "renkei/support/codec.h"
#include "renkei/support/xml_document.h"

namespace fs = std::filesystem;

namespace renkei {
namespace {

constexpr const char* kNamespace = "urn:renkei:calendar:1";
constexpr std::uintmax_t kMaxListBytes = 1u << 20;

std::optional<std::pair<int, int>> monthDay(const std::string& text) {
  if (text.size() != 5 || text[2] != '-') return std::nullopt;
  const auto d = calendar::parseIso("2000-" + text);  // a leap year: 02-29 is a day
  if (!d) return std::nullopt;
  return std::make_pair(d->month, d->day);
}

const char* weekdayName(const calendar::Date& d) {
  static const char* const kNames[] = {"日", "月", "火", "水", "木", "金", "土"};
  return kNames[calendar::weekday(d)];
}

std::string value(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

}  // namespace

std::optional<calendar::Calendar> pluginCalendar(const Settings& settings, const std::string& key,
                                                 const HostServices& host, Diagnostics& diags) {
  if (settings.has(key)) return loadCalendar(settings.getPath(key), diags);
  if (const calendar::Calendar* c = host.calendar()) return *c;
  throw ConfigError("needs the municipal calendar: <calendar file=\"…\"/> in the config (every plugin counts on it)");
}

std::optional<calendar::Calendar> loadCalendar(const fs::path& file, Diagnostics& diags) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kCalendarSchema, kNamespace, "calendar", "calendar", diags);
  if (!doc) return std::nullopt;
  const std::string fileName = file.string();
  calendar::Calendar cal;
  for (xmlNodePtr c = xmlDocGetRootElement(doc.get())->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const std::string element = xml::name(c);
    const int line = xml::lineOf(c);
    if (element == "published") {
      fs::path list = xml::attr(c, "file");
      if (list.is_relative()) list = file.parent_path() / list;
      if (auto why = unreadableFile(list)) {
        diags.add(fileName, line, "<published>: '" + list.string() + "' " + *why);
        continue;
      }
      std::error_code ec;
      if (fs::file_size(list, ec) > kMaxListBytes) {
        diags.add(fileName, line, "<published>: '" + list.string() + "' is larger than a holiday list (1 MiB at most)");
        continue;
      }
      const std::string encoding = xml::hasAttr(c, "encoding") ? xml::attr(c, "encoding") : "windows-31j";
      const text::Codec* codec = text::findCodec(encoding);
      if (!codec) {
        diags.add(fileName, line, "<published>: unknown encoding '" + encoding + "'");
        continue;
      }
      std::ifstream in(list, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string utf8;
      text::CodecStats stats;
      codec->decode(bytes, utf8, stats);
      if (stats.invalid) {
        diags.add(list.string(), 0, "not " + encoding + " text (first invalid bytes " + stats.firstInvalidBytes() + ")");
        continue;
      }
      std::map<calendar::Date, std::string> days;
      for (const std::string& problem : calendar::parseCabinetOfficeCsv(utf8, days)) {
        // "line N: …" → file:N: …
        const std::size_t colon = problem.find(':');
        const int at = problem.rfind("line ", 0) == 0 ? std::atoi(problem.c_str() + 5) : 0;
        diags.add(list.string(), at, at ? problem.substr(colon + 2) : problem);
      }
      cal.usePublished(days);
    } else if (element == "year-end") {
      if (xml::attr(c, "none") == "true") {
        cal.setYearEnd(0, 0, 0, 0);
        continue;
      }
      const auto from = monthDay(xml::attr(c, "from")), to = monthDay(xml::attr(c, "to"));
      if (!from || !to) {
        diags.add(fileName, line, "<year-end>: from and to are month-day pairs like 12-29 and 01-03");
        continue;
      }
      cal.setYearEnd(from->first, from->second, to->first, to->second);
    } else if (element == "closed") {
      const std::string name = xml::attr(c, "name");
      if (xml::hasAttr(c, "date") == xml::hasAttr(c, "every")) {
        diags.add(fileName, line, "<closed name=\"" + name + "\">: give date=\"YYYY-MM-DD\" or every=\"MM-DD\"");
      } else if (xml::hasAttr(c, "date")) {
        if (auto d = calendar::parseIso(xml::attr(c, "date"))) cal.addClosed(*d, name);
        else diags.add(fileName, line, "<closed>: date '" + xml::attr(c, "date") + "' is not a day of the calendar");
      } else if (auto md = monthDay(xml::attr(c, "every"))) {
        cal.addClosed(calendar::Date{0, md->first, md->second}, name);
      } else {
        diags.add(fileName, line, "<closed>: every '" + xml::attr(c, "every") + "' is not a month-day like 06-23");
      }
    } else if (element == "service-day") {
      const std::string name = xml::attr(c, "name");
      if (xml::hasAttr(c, "date")) {
        if (auto d = calendar::parseIso(xml::attr(c, "date"))) cal.addServiceDay(*d, name);
        else diags.add(fileName, line, "<service-day>: date '" + xml::attr(c, "date") + "' is not a day of the calendar");
        continue;
      }
      const auto from = calendar::parseIso(xml::attr(c, "from")), to = calendar::parseIso(xml::attr(c, "to"));
      if (!from || !to || *to < *from || calendar::toDays(*to) - calendar::toDays(*from) > 366) {
        diags.add(fileName, line,
                  "<service-day name=\"" + name + "\">: give date=\"…\", or from=\"…\" to=\"…\" (at most a year apart) "
                  "with weekdays=\"sat,sun\"");
        continue;
      }
      static const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
      bool on[7] = {};
      std::string list = xml::attr(c, "weekdays");
      bool bad = list.empty();
      for (std::size_t at = 0; at <= list.size() && !list.empty();) {
        const std::size_t end = std::min(list.find(',', at), list.size());
        const std::string w = list.substr(at, end - at);
        bool found = false;
        for (int i = 0; i < 7; ++i)
          if (w == kDays[i]) on[i] = found = true;
        bad = bad || !found;
        at = end + 1;
      }
      if (bad) {
        diags.add(fileName, line, "<service-day>: weekdays is a list of sun, mon, tue, wed, thu, fri, sat");
        continue;
      }
      for (calendar::Date d = *from; d <= *to; d = calendar::addDays(d, 1))
        if (on[calendar::weekday(d)]) cal.addServiceDay(d, name);
    }
  }
  if (diags.size() != before) return std::nullopt;
  return cal;
}

int runCalendarCommand(const std::map<std::string, std::string>& values) {
  calendar::Calendar cal;
  std::string source = "the national holidays by rule (no calendar file)";
  if (const std::string file = value(values, "--calendar"); !file.empty()) {
    Diagnostics diags;
    auto loaded = loadCalendar(file, diags);
    if (!loaded) {
      std::cerr << diags.format() << "renkei calendar: " << file << ": " << diags.size()
                << (diags.size() == 1 ? " problem\n" : " problems\n");
      return 2;
    }
    cal = std::move(*loaded);
    source = file;
  }
  const auto published = cal.publishedYears();
  if (const std::string from = value(values, "--from"); !from.empty()) {
    const auto start = calendar::parseIso(from);
    const std::string daysText = value(values, "--days");
    const auto rule = calendar::parseRule(values.count("--rule") ? value(values, "--rule") : "days");
    int days = -1;
    if (!daysText.empty() && daysText.size() <= 5 && daysText.find_first_not_of("0123456789") == std::string::npos)
      days = std::stoi(daysText);
    if (!start || days < 0 || !rule) {
      std::cerr << "renkei calendar: --from YYYY-MM-DD (a real day), --days N (0 to 99999) and --rule days, "
                   "open-days or days-exact\n";
      return 2;
    }
    const calendar::Date end = cal.deadline(*start, days, *rule);
    const char* how = *rule == calendar::Rule::OpenDays ? "open days, counted from the next day"
                      : *rule == calendar::Rule::Days  ? "days, counted from the next day; a closed last day rolls on"
                                                       : "days, counted from the next day, not rolled";
    std::cout << iso(*start) << " + " << days << " (" << how << ") → " << iso(end) << " " << weekdayName(end) << "\n";
    if (*rule == calendar::Rule::Days) {
      const calendar::Date plain = calendar::addDays(*start, days);
      if (plain != end) {
        const calendar::Day d = cal.day(plain);
        std::cout << "  " << iso(plain) << " is closed (" << kindName(d.kind) << (d.name.empty() ? "" : " " + d.name)
                  << "): the period ends on the next open day\n";
      }
    }
    return 0;
  }
  int year = 0;
  const std::string yearText = value(values, "--year");
  if (yearText.empty()) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    year = tm.tm_year + 1900;
  } else if (yearText.size() == 4 && yearText.find_first_not_of("0123456789") == std::string::npos) {
    year = std::stoi(yearText);
  }
  if (year < 1949 || year > 2150) {
    std::cerr << "renkei calendar: --year is a year from 1949 to 2150\n";
    return 2;
  }
  const bool fromList = published && year >= published->first && year <= published->second;
  std::cout << "calendar " << year << " (" << source << "; national holidays "
            << (fromList ? "from the published list" : "by the rules of 祝日法 (not yet published)") << ")\n";
  int open = 0;
  for (calendar::Date d{year, 1, 1}; d.year == year; d = calendar::addDays(d, 1)) {
    const calendar::Day day = cal.day(d);
    open += day.open ? 1 : 0;
    std::cout << iso(d) << " " << weekdayName(d) << " " << (day.open ? "open" : "closed");
    if (day.kind != calendar::Kind::Open) std::cout << " " << calendar::kindName(day.kind);
    std::cout << (day.name.empty() ? "" : " " + day.name) << "\n";
  }
  std::cout << open << " open days\n";
  return 0;
}

}  // namespace renkei
