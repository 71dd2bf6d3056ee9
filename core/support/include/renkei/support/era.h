// Japanese era dates (和暦) to and from ISO 8601, with era boundaries enforced.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace renkei::text {

enum class EraFormat {
  Gyymmdd,   ///< 7 digits, 1-digit era code 1=明治 … 5=令和: 5060331
  Ggyymmdd,  ///< 8 digits, 2-digit era code 01 … 05: 05060331
  JisX0301,  ///< letter, year, month, day with dots: R06.03.31
  Kanji,     ///< 令和6年3月31日, 令和元年5月1日
};

std::optional<EraFormat> parseEraFormat(std::string_view name);

struct EraOptions {
  /// First day of 明治: sources differ (1868-01-25 or 1868-10-23).
  int meijiStartMonth = 1;
  int meijiStartDay = 25;
  /// Dates before 1873-01-01 (明治6年) are lunisolar in old 戸籍 and are
  /// refused unless this is set, in which case they convert arithmetically.
  bool allowLunisolar = false;
};

/// An era date in format `f` → "YYYY-MM-DD". nullopt unless it is a real date
/// inside that era (昭和64年1月8日 fails; so does 平成31年5月1日).
std::optional<std::string> eraToIso(std::string_view text, EraFormat f, const EraOptions& options = {});

/// eraToIso writing into `out` (reused by the caller; no allocation once it
/// has capacity). Returns false when `text` is not a real date of its era.
bool eraToIsoInto(std::string_view text, EraFormat f, const EraOptions& options, std::string& out);

/// "YYYY-MM-DD" → format `f`. nullopt for an invalid date or one before 明治.
std::optional<std::string> isoToEra(std::string_view iso, EraFormat f, const EraOptions& options = {});

/// A Gregorian date in `pattern` (yyyymmdd, yyyy/mm/dd, yyyy-mm-dd) →
/// "YYYY-MM-DD"; nullopt if the pattern is unknown or the date not real.
std::optional<std::string> gregorianToIso(std::string_view text, std::string_view pattern);

bool isRealDate(int year, int month, int day);

}  // namespace renkei::text
