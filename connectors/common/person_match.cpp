#include "person_match.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

#include <cstdint>
#include <vector>

#include "renkei/support/era.h"
#include "renkei/support/normalize.h"

namespace renkei::kit {
namespace {

/// Decodes one UTF-8 code point at `i` (advancing it); U+FFFD for a bad byte.
char32_t next(std::string_view s, std::size_t& i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = n == 1 ? c : c & (0x7F >> n);
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

std::string digest(std::string_view a, std::string_view b, std::string_view c) {
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  const char sep = '\x1f';
  sha.update(a.data(), a.size());
  sha.update(&sep, 1);
  sha.update(b.data(), b.size());
  sha.update(&sep, 1);
  sha.update(c.data(), c.size());
  return Poco::DigestEngine::digestToHex(sha.digest()).substr(0, 32);
}

}  // namespace

std::string matchText(std::string_view text) {
  const std::string folded = text::toHalfwidth(text);  // full-width ASCII → ASCII, U+3000 → U+0020
  std::string out;
  out.reserve(folded.size());
  for (std::size_t i = 0; i < folded.size();) {
    const std::size_t at = i;
    const char32_t cp = next(folded, i);
    if (cp == U' ' || cp == U'\t' || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF)) continue;
    out.append(folded, at, i - at);
  }
  return out;
}

std::optional<std::string> isoDate(std::string_view raw) {
  const std::string t = matchText(raw);
  if (t.empty()) return std::nullopt;
  bool digits = true;
  for (char c : t) digits = digits && c >= '0' && c <= '9';
  if (digits && t.size() == 8 && t[0] == '0') return text::eraToIso(t, text::EraFormat::Ggyymmdd);
  if (digits && t.size() == 8) return text::gregorianToIso(t, "yyyymmdd");
  if (digits && t.size() == 7) return text::eraToIso(t, text::EraFormat::Gyymmdd);
  if (t.size() == 10 && t[4] == '-') return text::gregorianToIso(t, "yyyy-mm-dd");
  if (t.size() == 10 && t[4] == '/') return text::gregorianToIso(t, "yyyy/mm/dd");
  if (t.size() == 9 && t[3] == '.' && t[6] == '.') return text::eraToIso(t, text::EraFormat::JisX0301);
  return text::eraToIso(t, text::EraFormat::Kanji);
}

std::string identityKey(std::string_view name, std::string_view birth, std::string_view sex) {
  const std::string n = matchText(name), s = matchText(sex);
  const auto b = isoDate(birth);
  if (n.empty() || s.empty() || !b) return {};
  return digest(n, *b, s);
}

std::string displayKey(std::string_view honseki, std::string_view hittousha) {
  const std::string h = matchText(honseki), p = matchText(hittousha);
  if (h.empty() || p.empty()) return {};
  return digest(h, p, "koseki");
}

}  // namespace renkei::kit
