// UTF-8 validation for plain text intake.
#include "text_lines.h"

namespace renkei {

std::optional<TextProblem> checkUtf8Text(std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  std::size_t i = (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) ? 3 : 0;
  std::uint64_t line = 1;
  auto fail = [&](std::size_t at, const char* why) {
    return TextProblem{at, line, why};
  };
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c == 0) return fail(i, "NUL byte in text");
      if (c == '\n') ++line;
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return fail(i, "invalid UTF-8 lead byte (is the file in another encoding, e.g. windows-31j?)");
    if (i + len > n) return fail(i, "truncated UTF-8 sequence at end of file");
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return fail(i, "invalid UTF-8 continuation byte (is the file in another encoding, e.g. windows-31j?)");
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return fail(i, "overlong UTF-8 sequence");
    if (cp >= 0xD800 && cp <= 0xDFFF) return fail(i, "UTF-8 encoded surrogate");
    if (cp > 0x10FFFF) return fail(i, "code point above U+10FFFF");
    i += len;
  }
  return std::nullopt;
}

}  // namespace renkei
