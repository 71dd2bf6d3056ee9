// Character normalisers.
#include "renkei/support/normalize.h"

#include <cstdint>

#include "renkei/support/codec.h"

namespace renkei::text {
namespace {

// Full-width katakana for U+FF61..U+FF9F (index = cp - 0xFF61).
constexpr char16_t kHalfKana[] =
    u"。「」、・ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン゛゜";

template <typename Fn>
std::string mapCodePoints(std::string_view s, Fn&& fn) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    std::uint32_t cp;
    std::size_t len = decodeUtf8(p + i, s.size() - i, cp);
    if (!len) {  // not UTF-8: keep the byte as it is
      out.push_back(s[i++]);
      continue;
    }
    std::uint32_t next = 0;
    std::size_t nextLen = i + len < s.size() ? decodeUtf8(p + i + len, s.size() - i - len, next) : 0;
    bool consumedNext = false;
    appendUtf8(out, fn(cp, nextLen ? next : 0, consumedNext));
    i += len + (consumedNext ? nextLen : 0);
  }
  return out;
}

bool isHalfKana(std::uint32_t cp) { return cp >= 0xFF61 && cp <= 0xFF9F; }

// One half-width katakana (and the voiced mark after it, if it combines).
std::uint32_t fullKana(std::uint32_t cp, std::uint32_t next, bool& consumedNext) {
  std::uint32_t base = kHalfKana[cp - 0xFF61];
  if (next == 0xFF9E) {  // ﾞ dakuten
    if (base == 0x30A6) { consumedNext = true; return 0x30F4; }  // ｳﾞ → ヴ
    if (base == 0x30EF) { consumedNext = true; return 0x30F7; }  // ﾜﾞ → ヷ
    if (base == 0x30F2) { consumedNext = true; return 0x30FA; }  // ｦﾞ → ヺ
    // カ..チ and ツ..ト take the next code point (ッ breaks the parity);
    // ハ..ホ come in threes (ハ バ パ).
    if ((base >= 0x30AB && base <= 0x30C1 && (base - 0x30AB) % 2 == 0) ||
        (base >= 0x30C4 && base <= 0x30C8 && (base - 0x30C4) % 2 == 0) ||
        (base >= 0x30CF && base <= 0x30DB && (base - 0x30CF) % 3 == 0)) {
      consumedNext = true;
      return base + 1;
    }
  }
  if (next == 0xFF9F && base >= 0x30CF && base <= 0x30DB && (base - 0x30CF) % 3 == 0) {  // ﾟ handakuten
    consumedNext = true;
    return base + 2;
  }
  return base;
}

}  // namespace

std::string toFullwidth(std::string_view s) {
  return mapCodePoints(s, [](std::uint32_t cp, std::uint32_t next, bool& consumed) -> std::uint32_t {
    if (cp >= 0x21 && cp <= 0x7E) return cp + 0xFEE0;
    if (cp == 0x20) return 0x3000;
    if (isHalfKana(cp)) return fullKana(cp, next, consumed);
    return cp;
  });
}

std::string toHalfwidth(std::string_view s) {
  return mapCodePoints(s, [](std::uint32_t cp, std::uint32_t, bool&) -> std::uint32_t {
    if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFEE0;
    if (cp == 0x3000) return 0x20;
    return cp;
  });
}

std::string kanaFullwidth(std::string_view s) {
  return mapCodePoints(s, [](std::uint32_t cp, std::uint32_t next, bool& consumed) -> std::uint32_t {
    return isHalfKana(cp) ? fullKana(cp, next, consumed) : cp;
  });
}

std::string hiraganaToKatakana(std::string_view s) {
  return mapCodePoints(s, [](std::uint32_t cp, std::uint32_t, bool&) -> std::uint32_t {
    if (cp >= 0x3041 && cp <= 0x3096) return cp + 0x60;
    if (cp == 0x309D || cp == 0x309E) return cp + 0x60;
    return cp;
  });
}

std::string toUpper(std::string_view s) {
  return mapCodePoints(s, [](std::uint32_t cp, std::uint32_t, bool&) -> std::uint32_t {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 0xFF41 && cp <= 0xFF5A)) return cp - 0x20;
    return cp;
  });
}

std::string toLower(std::string_view s) {
  return mapCodePoints(s, [](std::uint32_t cp, std::uint32_t, bool&) -> std::uint32_t {
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xFF21 && cp <= 0xFF3A)) return cp + 0x20;
    return cp;
  });
}

std::string normalizeJisVariants(std::string_view s, JisConvention to) {
  static constexpr std::uint32_t kPairs[][2] = {
      // {JIS form, CP932 form}
      {0x301C, 0xFF5E}, {0x2016, 0x2225}, {0x2212, 0xFF0D}, {0x00A2, 0xFFE0},
      {0x00A3, 0xFFE1}, {0x00AC, 0xFFE2}, {0x2014, 0x2015},
  };
  return mapCodePoints(s, [to](std::uint32_t cp, std::uint32_t, bool&) -> std::uint32_t {
    for (const auto& pair : kPairs) {
      if (to == JisConvention::Cp932 && cp == pair[0]) return pair[1];
      // Both conventions decode 0x815C to U+2015; JIS-side text keeps it.
      if (to == JisConvention::Jis && cp == pair[1] && pair[1] != 0x2015) return pair[0];
    }
    return cp;
  });
}

}  // namespace renkei::text
