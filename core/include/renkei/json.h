// JSON Lines output helpers shared by the host and plugins.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "renkei/record.h"

namespace renkei {

/// Bytes writeJsonString may write for `n` bytes of text: every byte could
/// become a six-byte \u00XX escape, plus the quotes.
inline constexpr std::size_t jsonStringBound(std::size_t n) { return n * 6 + 2; }

/// Writes `text` (UTF-8) as a JSON string literal, quotes included, at `o`
/// (which must have room for jsonStringBound(text.size()) bytes); returns the
/// end. Control characters, '"' and '\\' are escaped; everything else,
/// Japanese included, is copied as is, eight bytes at a time.
inline char* writeJsonString(char* o, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  *o++ = '"';
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  for (;;) {
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
      const std::uint64_t control = (w - kOnes * 0x20) & ~w & kHigh;  // some byte < 0x20
      const std::uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
      const std::uint64_t quote = (q - kOnes) & ~q & kHigh, backslash = (b - kOnes) & ~b & kHigh;
      if (control | quote | backslash) break;
      std::memcpy(o, p + i, 8);
      o += 8;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = static_cast<unsigned char>(p[i++]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *o++ = static_cast<char>(c);
      continue;
    }
    *o++ = '\\';
    switch (c) {
      case '"': *o++ = '"'; break;
      case '\\': *o++ = '\\'; break;
      case '\n': *o++ = 'n'; break;
      case '\r': *o++ = 'r'; break;
      case '\t': *o++ = 't'; break;
      case '\b': *o++ = 'b'; break;
      case '\f': *o++ = 'f'; break;
      default:
        *o++ = 'u';
        *o++ = '0';
        *o++ = '0';
        *o++ = kHex[c >> 4];
        *o++ = kHex[c & 0xF];
    }
  }
  *o++ = '"';
  return o;
}

/// Appends `text` (UTF-8) as a JSON string literal, quotes included.
inline void appendJsonString(std::string& out, std::string_view text) {
  const std::size_t start = out.size();
  out.resize(start + jsonStringBound(text.size()));
  char* end = writeJsonString(out.data() + start, text);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

/// `text` as a JSON string literal, quotes included.
inline std::string jsonQuoted(std::string_view text) {
  std::string out;
  appendJsonString(out, text);
  return out;
}

/// Appends one record as a JSON object with keys in record order, plus '\n'.
inline void appendJsonLine(std::string& out, const Record& record) {
  out.push_back('{');
  for (std::size_t i = 0; i < record.size(); ++i) {
    if (i) out.push_back(',');
    appendJsonString(out, record.name(i));
    out.push_back(':');
    appendJsonString(out, record.value(i));
  }
  out += "}\n";
}

}  // namespace renkei
