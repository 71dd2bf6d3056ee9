// Text that came from outside (file names, certificate names, reasons that
// quote them) made safe to write into one log line or one line of a reason
// file: what every part that reports on hostile input needs, written once.
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace renkei {

/// `text` as a whole number between `min` and `max` (ASCII digits with an
/// optional leading '-'), or nothing: empty, any other character, or out of
/// range. Never throws: for every number read from a file people edit (a
/// value past `int` once aborted `renkei check`).
inline std::optional<std::int64_t> parseWholeNumber(std::string_view text, std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

/// True when a spreadsheet or an RPA robot opening a CSV would read the
/// value as a formula (CSV injection, OWASP): it begins with '=', '+', '-',
/// '@', a tab or a carriage return (or their full-width forms ＝ ＋ － ＠),
/// unless it is a plain number ("-1", "+81", "-0.5").
inline bool looksLikeFormula(std::string_view v) {
  if (v.empty()) return false;
  const unsigned char c = static_cast<unsigned char>(v.front());
  bool lead = c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
  // ＝ U+FF1D, ＋ U+FF0B, － U+FF0D, ＠ U+FF20 (spreadsheets fold them)
  if (!lead && v.size() >= 3 && c == 0xEF && static_cast<unsigned char>(v[1]) == 0xBC) {
    const unsigned char t = static_cast<unsigned char>(v[2]);
    lead = t == 0x9D || t == 0x8B || t == 0x8D || t == 0xA0;
    if (lead) return true;
  }
  if (!lead) return false;
  if (c == '-' || c == '+') {
    std::size_t i = 1, digits = 0, dots = 0;
    for (; i < v.size(); ++i) {
      if (v[i] >= '0' && v[i] <= '9') ++digits;
      else if (v[i] == '.' && ++dots == 1) continue;
      else break;
    }
    if (i == v.size() && digits > 0) return false;
  }
  return true;
}

/// One CSV cell for a report people open in a spreadsheet: a value that
/// looks like a formula gets a leading apostrophe (shown as text, never run),
/// and the cell is quoted when it holds a comma, a quote or a line end.
inline std::string csvCell(std::string_view v) {
  std::string cell = looksLikeFormula(v) ? "'" + std::string(v) : std::string(v);
  if (cell.find_first_of(",\"\r\n\t") == std::string::npos && !looksLikeFormula(v)) return cell;
  std::string q = "\"";
  for (char c : cell) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

/// "a whole number from MIN to MAX" for messages beside parseWholeNumber.
inline std::string wholeNumberRange(std::int64_t min, std::int64_t max) {
  return "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
}

/// The byte offset of the first byte of `text` that does not begin a
/// complete, well-formed UTF-8 character (overlong forms and surrogates
/// refused), or npos when all of it is UTF-8.
inline std::size_t firstInvalidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (n == 0 || i + n > text.size()) return i;
    std::uint32_t cp = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (std::size_t k = 1; k < n; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += n;
  }
  return std::string_view::npos;
}

/// The code points of UTF-8 `text`; a byte that does not begin a complete
/// character becomes U+FFFD (and only that byte is passed over).
inline std::u32string utf8CodePoints(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = p[i];
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool whole = n != 0 && i + n <= text.size();
    for (std::size_t k = 1; whole && k < n; ++k) whole = (p[i + k] & 0xC0) == 0x80;
    if (!whole) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    char32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

/// Returns `text` as one printable line: control characters (C0, DEL, C1),
/// the Unicode line and paragraph separators and the bidirectional
/// overrides are written as escapes (`\n`, `\t`, `\x1b`, `\u202e`), bytes that
/// are not UTF-8 as `\xNN`, and a backslash as `\\`, so no input can start a
/// new line, rewrite the terminal or pass itself off as another entry.
/// Printable UTF-8 (Japanese included) is kept. When the result would pass
/// `maxBytes`, it is cut at a character boundary and ends with
/// "… (N bytes more)". Thread-safe; never throws except std::bad_alloc.
inline std::string printable(std::string_view text, std::size_t maxBytes = 4096) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() < maxBytes ? text.size() + 8 : maxBytes + 32);
  auto byteEscape = [&](unsigned char c) {
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  };
  auto codeEscape = [&](std::uint32_t cp) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(cp >> shift) & 0xF]);
  };
  std::size_t i = 0;
  while (i < text.size()) {
    if (out.size() >= maxBytes) {
      out += "\xE2\x80\xA6 (" + std::to_string(text.size() - i) + " bytes more)";
      return out;
    }
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\\': out += "\\\\"; break;
        default:
          if (c < 0x20 || c == 0x7F) byteEscape(c);
          else out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, then every
    // continuation byte checked; overlong forms and surrogates refused.
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, cp = c & 0x07;
    bool ok = n > 0 && i + n <= text.size();
    for (std::size_t k = 1; ok && k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok) ok = !(n == 3 && cp < 0x800) && !(n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
                 !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {
      byteEscape(c);
      ++i;
      continue;
    }
    const bool control = (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
                         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x061C ||
                         cp == 0x200E || cp == 0x200F;
    if (control) codeEscape(cp);
    else out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

/// `text` for HTML or XML text and attribute values: & < > " ' escaped.
inline std::string markupEscaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace renkei
