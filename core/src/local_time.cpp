// Times for people, in the configured time zone.
#include "local_time.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>

namespace renkei {

namespace {

std::string& zoneName() {
  static std::string name = "UTC";
  return name;
}

bool safeZoneName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != std::string::npos) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' && c != '+') return false;
  return true;
}

std::string offsetText(long seconds) {
  const char sign = seconds < 0 ? '-' : '+';
  if (seconds < 0) seconds = -seconds;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", sign, seconds / 3600 % 100, seconds / 60 % 60);
  return buf;
}

}  // namespace

std::optional<std::string> useTimeZone(const std::string& name) {
  if (!safeZoneName(name))
    return "time-zone '" + name + "' is not a zone name (write an IANA name such as Asia/Tokyo, or UTC)";
  std::string tz;
  if (name == "UTC") {
    tz = "UTC0";
  } else {
    const char* dir = std::getenv("TZDIR");
    const std::filesystem::path file = std::filesystem::path(dir && *dir ? dir : "/usr/share/zoneinfo") / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) tz = ":" + name;
    else if (name == "Asia/Tokyo") tz = "JST-9";  // exact since 1951; works without tzdata
    else
      return "time-zone '" + name + "': no such zone in the time zone database (" + file.parent_path().string() +
             "; install the tzdata package, or check the spelling, e.g. Asia/Tokyo)";
  }
  ::setenv("TZ", tz.c_str(), 1);
  ::tzset();
  zoneName() = name;
  return std::nullopt;
}

std::string timeZoneDescription() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  return zoneName() + " (UTC" + offsetText(tm.tm_gmtoff) + ")";
}

std::string localTime(std::int64_t ms) {
  if (ms <= 0) return {};
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf) + " " + offsetText(tm.tm_gmtoff);
}

std::string localTimeFromIso(const std::string& iso) {
  std::tm tm{};
  if (iso.size() != 20 || iso.back() != 'Z' ||
      std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6)
    return iso;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return localTime(static_cast<std::int64_t>(timegm(&tm)) * 1000);
}

}  // namespace renkei
