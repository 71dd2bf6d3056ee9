// Matching a person across core systems that share no key: the 4 情報 less
// the address (氏名, 生年月日, 性別) and the 戸籍の表示 (本籍, 筆頭者), as
// digests every connector computes the same way. The resident connector
// keeps them beside each resident; the family-registry connector looks a
// person up by them when the 附票 gives no 住民票コード, and the CRM takes a
// 戸籍 event and the resident feed's notice of it as one fact by them.
//
// A digest is a matching key, not a protection: it is kept where the values
// are (the plugin's state) and never leaves the LGWAN zone (class
// identifier). Text is compared after dropping spaces (U+0020, U+3000) and
// variation selectors (IVS, U+FE00–FE0F, U+E0100–E01EF: the resident side
// has none), full-width ASCII folded; nothing else is folded — 髙 and 高
// differ, and a person whose records differ so is not found (reported by
// the caller, never guessed).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace renkei::kit {

/// A date as written by a core system → "YYYY-MM-DD": ISO, YYYYMMDD,
/// YYYY/MM/DD, 和暦 as 7 digits (gyymmdd), 8 digits starting with 0
/// (ggyymmdd), JIS X 0301 (R06.03.31) or kanji (令和6年3月31日, full-width
/// digits too). Nothing when it is none of them or not a real date.
std::optional<std::string> isoDate(std::string_view text);

/// The text as compared (spaces and variation selectors dropped, full-width
/// ASCII folded).
std::string matchText(std::string_view text);

/// Digest of 氏名 + 生年月日 + 性別 (32 hex); "" when any is missing or the
/// date is unreadable.
std::string identityKey(std::string_view name, std::string_view birth, std::string_view sex);

/// Digest of 本籍 + 筆頭者 (32 hex); "" when either is missing.
std::string displayKey(std::string_view honseki, std::string_view hittousha);

}  // namespace renkei::kit
