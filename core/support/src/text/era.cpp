// Japanese era dates.
#include "renkei/support/era.h"

#include <cstdio>
#include <cstring>

namespace renkei::text {
namespace {

struct Era {
  const char* kanji;
  char letter;
  int code;
  int startYear, startMonth, startDay;  // first day
  int offset;                            // Gregorian year = era year + offset
};

// 明治's first day is taken from EraOptions.
constexpr Era kEras[] = {
    {"明治", 'M', 1, 1868, 1, 25, 1867},
    {"大正", 'T', 2, 1912, 7, 30, 1911},
    {"昭和", 'S', 3, 1926, 12, 25, 1925},
    {"平成", 'H', 4, 1989, 1, 8, 1988},
    {"令和", 'R', 5, 2019, 5, 1, 2018},
};
constexpr int kEraCount = 5;

int dayKey(int y, int m, int d) { return y * 10000 + m * 100 + d; }

int startKey(int index, const EraOptions& o) {
  const Era& e = kEras[index];
  if (index == 0) return dayKey(e.startYear, o.meijiStartMonth, o.meijiStartDay);
  return dayKey(e.startYear, e.startMonth, e.startDay);
}

bool digits(std::string_view s, int& value) {
  if (s.empty()) return false;
  value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

// Era `index`, era year, month, day → ISO in `out`, if the date lies inside
// the era. Formatted by hand: this runs for every date of every record.
bool fromEraInto(int index, int eraYear, int month, int day, const EraOptions& o, std::string& out) {
  if (index < 0 || index >= kEraCount || eraYear < 1) return false;
  const int year = eraYear + kEras[index].offset;
  if (!isRealDate(year, month, day)) return false;
  const int key = dayKey(year, month, day);
  if (key < startKey(index, o)) return false;
  if (index + 1 < kEraCount && key >= startKey(index + 1, o)) return false;
  if (key < dayKey(1873, 1, 1) && !o.allowLunisolar) return false;
  // Two digits at a time from a table; written in place (a short string's
  // own room), not assigned from a buffer.
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  out.resize(10);
  char* b = out.data();
  std::memcpy(b, kPairs + 2 * (year / 100 % 100), 2);
  std::memcpy(b + 2, kPairs + 2 * (year % 100), 2);
  b[4] = '-';
  std::memcpy(b + 5, kPairs + 2 * month, 2);
  b[7] = '-';
  std::memcpy(b + 8, kPairs + 2 * day, 2);
  return true;
}

std::optional<std::string> fromEra(int index, int eraYear, int month, int day, const EraOptions& o) {
  std::string out;
  if (!fromEraInto(index, eraYear, month, day, o, out)) return std::nullopt;
  return out;
}

// Reads a number written in ASCII or full-width digits, or 元 (= 1).
bool kanjiNumber(std::string_view& s, int& value) {
  if (s.rfind("元", 0) == 0) {
    s.remove_prefix(std::string_view("元").size());
    value = 1;
    return true;
  }
  value = 0;
  int count = 0;
  for (;;) {
    if (!s.empty() && s[0] >= '0' && s[0] <= '9') {
      value = value * 10 + (s[0] - '0');
      s.remove_prefix(1);
    } else if (s.size() >= 3 && static_cast<unsigned char>(s[0]) == 0xEF && static_cast<unsigned char>(s[1]) == 0xBC &&
               static_cast<unsigned char>(s[2]) >= 0x90 && static_cast<unsigned char>(s[2]) <= 0x99) {
      value = value * 10 + (static_cast<unsigned char>(s[2]) - 0x90);  // ０..９
      s.remove_prefix(3);
    } else {
      break;
    }
    if (++count > 4) return false;
  }
  return count > 0;
}

bool consume(std::string_view& s, std::string_view token) {
  if (s.rfind(token, 0) != 0) return false;
  s.remove_prefix(token.size());
  return true;
}

}  // namespace

bool isRealDate(int year, int month, int day) {
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

std::optional<EraFormat> parseEraFormat(std::string_view name) {
  if (name == "gyymmdd") return EraFormat::Gyymmdd;
  if (name == "ggyymmdd") return EraFormat::Ggyymmdd;
  if (name == "jis-x0301") return EraFormat::JisX0301;
  if (name == "kanji") return EraFormat::Kanji;
  return std::nullopt;
}

bool eraToIsoInto(std::string_view t, EraFormat f, const EraOptions& o, std::string& out) {
  if (f == EraFormat::Gyymmdd) {  // the common case, without building a string
    int code = 0, y = 0, m = 0, d = 0;
    if (t.size() != 7 || !digits(t.substr(0, 1), code) || !digits(t.substr(1, 2), y) ||
        !digits(t.substr(3, 2), m) || !digits(t.substr(5, 2), d))
      return false;
    return fromEraInto(code - 1, y, m, d, o, out);
  }
  auto iso = eraToIso(t, f, o);
  if (!iso) return false;
  out = *iso;
  return true;
}

std::optional<std::string> eraToIso(std::string_view t, EraFormat f, const EraOptions& o) {
  int code = 0, y = 0, m = 0, d = 0;
  switch (f) {
    case EraFormat::Gyymmdd:
      if (t.size() != 7 || !digits(t.substr(0, 1), code) || !digits(t.substr(1, 2), y) ||
          !digits(t.substr(3, 2), m) || !digits(t.substr(5, 2), d))
        return std::nullopt;
      return fromEra(code - 1, y, m, d, o);
    case EraFormat::Ggyymmdd:
      if (t.size() != 8 || !digits(t.substr(0, 2), code) || !digits(t.substr(2, 2), y) ||
          !digits(t.substr(4, 2), m) || !digits(t.substr(6, 2), d))
        return std::nullopt;
      return fromEra(code - 1, y, m, d, o);
    case EraFormat::JisX0301: {
      if (t.size() != 9 || t[3] != '.' || t[6] != '.') return std::nullopt;
      int index = -1;
      for (int i = 0; i < kEraCount; ++i)
        if (t[0] == kEras[i].letter) index = i;
      if (index < 0 || !digits(t.substr(1, 2), y) || !digits(t.substr(4, 2), m) || !digits(t.substr(7, 2), d))
        return std::nullopt;
      return fromEra(index, y, m, d, o);
    }
    case EraFormat::Kanji: {
      for (int i = 0; i < kEraCount; ++i) {
        std::string_view rest = t;
        if (!consume(rest, kEras[i].kanji)) continue;
        if (!kanjiNumber(rest, y) || !consume(rest, "年") || !kanjiNumber(rest, m) || !consume(rest, "月") ||
            !kanjiNumber(rest, d) || !consume(rest, "日") || !rest.empty())
          return std::nullopt;
        return fromEra(i, y, m, d, o);
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::string> isoToEra(std::string_view iso, EraFormat f, const EraOptions& o) {
  int y = 0, m = 0, d = 0;
  if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-' || !digits(iso.substr(0, 4), y) ||
      !digits(iso.substr(5, 2), m) || !digits(iso.substr(8, 2), d) || !isRealDate(y, m, d))
    return std::nullopt;
  if (dayKey(y, m, d) < dayKey(1873, 1, 1) && !o.allowLunisolar) return std::nullopt;
  int index = -1;
  for (int i = kEraCount - 1; i >= 0; --i)
    if (dayKey(y, m, d) >= startKey(i, o)) {
      index = i;
      break;
    }
  if (index < 0) return std::nullopt;
  const Era& e = kEras[index];
  const int ey = y - e.offset;
  char buf[64];
  switch (f) {
    case EraFormat::Gyymmdd:
      if (ey > 99) return std::nullopt;
      std::snprintf(buf, sizeof buf, "%d%02d%02d%02d", e.code, ey, m, d);
      break;
    case EraFormat::Ggyymmdd:
      if (ey > 99) return std::nullopt;
      std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d", e.code, ey, m, d);
      break;
    case EraFormat::JisX0301:
      if (ey > 99) return std::nullopt;
      std::snprintf(buf, sizeof buf, "%c%02d.%02d.%02d", e.letter, ey, m, d);
      break;
    case EraFormat::Kanji:
      if (ey == 1) std::snprintf(buf, sizeof buf, "%s元年%d月%d日", e.kanji, m, d);
      else std::snprintf(buf, sizeof buf, "%s%d年%d月%d日", e.kanji, ey, m, d);
      break;
  }
  return std::string(buf);
}

std::optional<std::string> gregorianToIso(std::string_view t, std::string_view pattern) {
  int y = 0, m = 0, d = 0;
  if (pattern == "yyyymmdd") {
    if (t.size() != 8 || !digits(t.substr(0, 4), y) || !digits(t.substr(4, 2), m) || !digits(t.substr(6, 2), d))
      return std::nullopt;
  } else if (pattern == "yyyy/mm/dd" || pattern == "yyyy-mm-dd") {
    const char sep = pattern[4];
    if (t.size() != 10 || t[4] != sep || t[7] != sep || !digits(t.substr(0, 4), y) || !digits(t.substr(5, 2), m) ||
        !digits(t.substr(8, 2), d))
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (!isRealDate(y, m, d)) return std::nullopt;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return std::string(buf);
}

}  // namespace renkei::text
