// Reading back the store's JSON Lines into Records.
#include "json_lines.h"

#include <cstdint>

namespace renkei {
namespace {

void appendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  void skipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    skipSpace();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool atEnd() {
    skipSpace();
    return i_ >= s_.size();
  }
  bool hex4(std::uint32_t& v) {
    if (i_ + 4 > s_.size()) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }
  /// A JSON string into `out`; false when malformed.
  bool string(std::string& out) {
    out.clear();
    if (!eat('"')) return false;
    for (;;) {
      const std::size_t start = i_;
      while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\\') ++i_;
      out.append(s_.data() + start, i_ - start);
      if (i_ >= s_.size()) return false;
      if (s_[i_++] == '"') return true;
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            std::uint32_t low = 0;
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
            i_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: return false;
      }
    }
  }
  bool null() {
    skipSpace();
    if (s_.substr(i_, 4) == "null") {
      i_ += 4;
      return true;
    }
    return false;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<std::string> parseJsonLines(std::string_view jsonl, const std::shared_ptr<const FieldNames>& names,
                                          std::vector<Record>& out) {
  std::size_t lineNumber = 0;
  std::string key, value;
  while (!jsonl.empty()) {
    const std::size_t nl = jsonl.find('\n');
    const std::string_view line = jsonl.substr(0, nl);
    jsonl.remove_prefix(nl == std::string_view::npos ? jsonl.size() : nl + 1);
    ++lineNumber;
    Cursor c(line);
    if (c.atEnd()) continue;
    Record record(names);
    bool ok = c.eat('{');
    std::size_t expected = 0;  // keys usually come in field order
    if (ok && !c.eat('}')) {
      do {
        ok = c.string(key) && c.eat(':');
        if (!ok) break;
        if (c.null()) value.clear();
        else if (!(ok = c.string(value))) break;
        std::size_t index = names->size();
        if (expected < names->size() && (*names)[expected] == key) index = expected;
        else
          for (std::size_t i = 0; i < names->size(); ++i)
            if ((*names)[i] == key) index = i;
        if (index < names->size()) {
          record.set(index, value);
          expected = index + 1;
        }
      } while (c.eat(','));
      ok = ok && c.eat('}');
    }
    if (!ok || !c.atEnd()) return "line " + std::to_string(lineNumber) + ": not a flat JSON object of strings";
    out.push_back(std::move(record));
  }
  return std::nullopt;
}

}  // namespace renkei
