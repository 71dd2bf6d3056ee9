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

namespace json_detail {
constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
/// Non-zero when one of the eight bytes of `w` needs an escape in JSON
/// (below 0x20, '"' or '\\'); exact as to whether any does. Three "has a
/// byte below" tests, (x - k) & ~x & kHigh, share their ~x & kHigh: x is w
/// with bits below the top one flipped, so its top bits are w's.
inline std::uint64_t specialBytes(std::uint64_t w) {
  const std::uint64_t q = w ^ (kOnes * '"'), b = w ^ (kOnes * '\\');
  return ((w - kOnes * 0x20) | (q - kOnes) | (b - kOnes)) & ~w & kHigh;
}
inline std::uint64_t load8(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
}  // namespace json_detail

/// Writes `text` (UTF-8) as a JSON string literal, quotes included, at `o`
/// (which must have room for jsonStringBound(text.size()) bytes); returns the
/// end. Control characters, '"' and '\\' are escaped; everything else,
/// Japanese included, is copied as is, a word at a time: most values are
/// short (codes, dates, names), so a value below eight bytes is looked at in
/// two overlapping words and its tail in one word ending where it ends.
/// Always inlined: record writers call it once per value.
[[gnu::always_inline]] inline char* writeJsonString(char* o, std::string_view text) {
  using namespace json_detail;
  static constexpr char kHex[] = "0123456789abcdef";
  *o++ = '"';
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  if (n < 8) {
    if (n >= 4) {
      std::uint32_t lo, hi;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      if (!specialBytes(lo | (std::uint64_t{hi} << 32))) {
        std::memcpy(o, &lo, 4);
        std::memcpy(o + n - 4, &hi, 4);
        *(o += n) = '"';
        return o + 1;
      }
    } else if (n >= 2) {
      std::uint16_t lo, hi;
      std::memcpy(&lo, p, 2);
      std::memcpy(&hi, p + n - 2, 2);
      // The four bytes not taken are spaces, which need no escape.
      if (!specialBytes(lo | (std::uint64_t{hi} << 16) | 0x2020202000000000ull)) {
        std::memcpy(o, &lo, 2);
        std::memcpy(o + n - 2, &hi, 2);
        *(o += n) = '"';
        return o + 1;
      }
    }
  } else {
    while (i + 8 <= n && !specialBytes(load8(p + i))) {
      std::memcpy(o, p + i, 8);
      o += 8;
      i += 8;
    }
    // A tail below eight bytes after clean words: one word ending at the
    // end, overlapping bytes already copied (they were copied unchanged).
    if (i < n && i + 8 > n) {
      const std::uint64_t w = load8(p + n - 8);
      if (!specialBytes(w)) {
        std::memcpy(o - (i - (n - 8)), &w, 8);
        *(o += n - i) = '"';
        return o + 1;
      }
    }
  }
  for (; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(p[i]);
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
