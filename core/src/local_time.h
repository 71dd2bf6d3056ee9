// Times for people: operator output in the municipality's time zone
// (default Asia/Tokyo); machine formats (JSON, metrics, the store) stay UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace renkei {

constexpr const char* kDefaultTimeZone = "Asia/Tokyo";

/// Makes `name` (an IANA zone such as "Asia/Tokyo", or "UTC") the process's
/// local time zone. Call before any thread starts (it sets TZ). Returns why
/// the zone cannot be used, or nothing. Without the tz database (tzdata),
/// Asia/Tokyo and UTC still work: neither has had daylight saving since 1951.
std::optional<std::string> useTimeZone(const std::string& name);

/// The zone in use, for stating it in output: "Asia/Tokyo (UTC+09:00)".
std::string timeZoneDescription();

/// "2026-12-01 07:30:12 +09:00" in the zone in use; "" for ms <= 0.
std::string localTime(std::int64_t ms);

/// An ISO UTC time as the store keeps it ("2026-11-30T22:30:12Z") in the
/// zone in use; any other text comes back unchanged.
std::string localTimeFromIso(const std::string& iso);

}  // namespace renkei
