// UTF-8 validation for plain text intake.
#include "text_lines.h"

#include "renkei/support/codec.h"

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
    std::uint32_t cp;
    const std::size_t len = text::decodeUtf8(p + i, n - i, cp);
    if (!len) return fail(i, "invalid UTF-8 sequence (is the file in another encoding, e.g. windows-31j?)");
    i += len;
  }
  return std::nullopt;
}

}  // namespace renkei
