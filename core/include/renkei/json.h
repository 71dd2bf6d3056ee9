// JSON Lines output helpers shared by the host and plugins.
#pragma once

#include <string>
#include <string_view>

#include "renkei/record.h"

namespace renkei {

/// Appends `text` (UTF-8) as a JSON string literal, quotes included. Control
/// characters are escaped; everything else, Japanese included, is kept as is.
inline void appendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(text.data() + start, text.size() - start);
  out.push_back('"');
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
