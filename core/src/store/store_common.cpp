// What both stores share: the clock, time formats and state names.
#include <chrono>
#include <cstdio>
#include <ctime>

#include "store/store.h"

namespace renkei::store {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string isoUtc(std::int64_t ms) {
  if (ms <= 0) return {};
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::int64_t> parseSince(const std::string& text, std::int64_t now) {
  if (text.empty()) return std::nullopt;
  // A duration back from now: digits and one unit.
  if (text.size() >= 2 && text.find_first_not_of("0123456789") == text.size() - 1) {
    const std::int64_t n = std::stoll(text.substr(0, text.size() - 1));
    switch (text.back()) {
      case 's': return now - n * 1000;
      case 'm': return now - n * 60'000;
      case 'h': return now - n * 3'600'000;
      case 'd': return now - n * 86'400'000;
      default: return std::nullopt;
    }
  }
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  char separator = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%c", &y, &mo, &d, &separator, &h, &mi, &s, &tail);
  if (n >= 4 && separator != 'T' && separator != ' ') return std::nullopt;
  if (n == 8 && (tail != 'Z' || text.size() != 20)) return std::nullopt;
  if (n != 3 && n != 7 && n != 8) return std::nullopt;
  if (n == 3 && text.size() != 10) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  if (n == 8) return static_cast<std::int64_t>(timegm(&tm)) * 1000;
  // A date or a time without 'Z' is the municipality's: local time (the
  // process's zone is the configured one, see local_time.h).
  tm.tm_isdst = -1;
  const std::time_t local = std::mktime(&tm);
  if (local == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(local) * 1000;
}

const char* fileStateName(FileState s) {
  switch (s) {
    case FileState::Processing: return "processing";
    case FileState::Done: return "done";
    case FileState::Failed: return "failed";
  }
  return "processing";
}

const char* outboxStateName(OutboxState s) {
  switch (s) {
    case OutboxState::Pending: return "pending";
    case OutboxState::Delivered: return "delivered";
    case OutboxState::Dead: return "dead";
  }
  return "pending";
}

}  // namespace renkei::store
