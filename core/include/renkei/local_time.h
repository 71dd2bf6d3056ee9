// Times shown to people: local time with its offset, in the zone the host
// runs in (the config's time-zone, which the host sets for the process).
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace renkei {

/// "2026-12-07 10:30:00 +09:00" for a time in ms since 1970 (minutes only
/// when `seconds` is false). Thread-safe (localtime_r).
inline std::string localTimeText(std::int64_t ms, bool seconds = true) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
  const long off = tm.tm_gmtoff / 60, abs = off < 0 ? -off : off;
  char zone[32];
  std::snprintf(zone, sizeof zone, " %c%02ld:%02ld", off < 0 ? '-' : '+', (abs / 60) % 100, abs % 60);
  return std::string(buf) + zone;
}

/// The same for a given offset from UTC in minutes: a plugin passes
/// HostServices::utcOffsetMinutes(ms), the municipality's zone as the
/// host's config says, whatever zone the process runs in.
inline std::string localTimeAt(std::int64_t ms, std::int64_t offsetMinutes, bool seconds = true) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000 + offsetMinutes * 60);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, seconds ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
  const long abs = static_cast<long>(offsetMinutes < 0 ? -offsetMinutes : offsetMinutes);
  char zone[32];
  std::snprintf(zone, sizeof zone, " %c%02ld:%02ld", offsetMinutes < 0 ? '-' : '+', (abs / 60) % 100, abs % 60);
  return std::string(buf) + zone;
}

}  // namespace renkei
