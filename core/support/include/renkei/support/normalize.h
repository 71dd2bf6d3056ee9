// Character normalisers mapping transforms use: width, kana, case, and the
// seven characters CP932 and JIS Shift_JIS decode differently.
#pragma once

#include <string>
#include <string_view>

namespace renkei::text {

/// U+0021–U+007E → U+FF01–U+FF5E, U+0020 → U+3000, half-width katakana →
/// full-width (voiced marks combined).
std::string toFullwidth(std::string_view s);
/// U+FF01–U+FF5E → U+0021–U+007E, U+3000 → U+0020; kana unchanged.
std::string toHalfwidth(std::string_view s);
/// Half-width katakana (U+FF61–U+FF9F) → full-width; ｶﾞ → ガ, ﾊﾟ → パ, ｳﾞ → ヴ.
std::string kanaFullwidth(std::string_view s);
/// U+3041–U+3096 → U+30A1–U+30F6, ゝ ゞ → ヽ ヾ.
std::string hiraganaToKatakana(std::string_view s);
/// ASCII and full-width Latin letters.
std::string toUpper(std::string_view s);
std::string toLower(std::string_view s);

/// Which decoding of the seven differing characters a target expects.
enum class JisConvention {
  Cp932,  ///< ～ U+FF5E, ∥ U+2225, － U+FF0D, ￠ U+FFE0, ￡ U+FFE1, ￢ U+FFE2, ― U+2015
  Jis,    ///< 〜 U+301C, ‖ U+2016, − U+2212, ¢ U+00A2, £ U+00A3, ¬ U+00AC, — U+2014 → ― U+2015
};

/// Rewrites the seven characters to one convention, so that text from a
/// JIS-style source can be written as CP932 and compared with CP932 text.
std::string normalizeJisVariants(std::string_view s, JisConvention to);

}  // namespace renkei::text
