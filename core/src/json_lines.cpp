// Reading back the store's JSON Lines into Records.
#include "json_lines.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "renkei/json.h"
#include "renkei/support/codec.h"

#include <cstdint>

namespace renkei {
namespace {

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
          text::appendUtf8(out, cp);
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

std::optional<std::vector<std::string>> parseNameArray(std::string_view json) {
  Cursor c(json);
  std::vector<std::string> names;
  std::string name;
  if (!c.eat('[')) return std::nullopt;
  if (!c.eat(']')) {
    do {
      if (!c.string(name)) return std::nullopt;
      names.push_back(name);
    } while (c.eat(','));
    if (!c.eat(']')) return std::nullopt;
  }
  if (!c.atEnd()) return std::nullopt;
  return names;
}

namespace {

/// The first '"' in [p, end), eight bytes at a time.
inline const char* findQuote(const char* p, const char* end) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t x = w ^ (kOnes * '"');
    // The lowest flagged byte is exact; flags above it may be borrows.
    if (const std::uint64_t match = (x - kOnes) & ~x & kHigh) return p + (__builtin_ctzll(match) >> 3);
    p += 8;
  }
  for (; p < end; ++p)
    if (*p == '"') return p;
  return nullptr;
}

/// Calls `value(index, token)` for each string token of each line (token
/// with its quotes, escapes untouched) and `line()` after each line.
template <typename Value, typename Line>
std::optional<std::string> scanArrays(std::string_view text, std::size_t fields, Value value, Line line) {
  std::size_t number = 0;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    ++number;
    auto bad = [&] { return "line " + std::to_string(number) + ": not an array of " + std::to_string(fields) + " strings"; };
    if (text[i] != '[') return bad();
    ++i;
    std::size_t index = 0;
    if (i < n && text[i] == ']') {
      ++i;
    } else {
      for (;;) {
        if (i >= n || text[i] != '"') return bad();
        const std::size_t start = i++;
        // The closing quote is the first one not escaped: found a word at a
        // time (values are short: a memchr call each cost more than the
        // search); an odd run of backslashes before one escapes it.
        for (;;) {
          const char* q = findQuote(text.data() + i, text.data() + n);
          if (!q) return bad();
          i = static_cast<std::size_t>(q - text.data());
          std::size_t slashes = 0;
          while (i - slashes > start + 1 && text[i - slashes - 1] == '\\') ++slashes;
          ++i;
          if (slashes % 2 == 0) break;
        }
        if (index >= fields) return bad();
        value(index++, text.substr(start, i - start));
        if (i < n && text[i] == ',') {
          ++i;
          continue;
        }
        if (i < n && text[i] == ']') {
          ++i;
          break;
        }
        return bad();
      }
    }
    if (index != fields) return bad();
    if (i < n && text[i] == '\n') ++i;
    else if (i < n) return bad();
    line();
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> expandJsonArrays(std::string_view arrays, const FieldNames& names, std::string& out) {
  // The keys in one buffer with kCopy bytes to spare after the last, so a
  // key or value up to kCopy bytes is moved in fixed-size pieces, not by a
  // memcpy call per value (this runs for every value a sink receives).
  constexpr std::size_t kCopy = 32;
  std::string keyBytes;
  std::vector<std::pair<std::size_t, std::size_t>> keys;  // (offset, size)
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string key = i ? "," : "{";
    appendJsonString(key, names[i]);
    key.push_back(':');
    keys.emplace_back(keyBytes.size(), key.size());
    keyBytes += key;
  }
  const std::size_t keyTotal = keyBytes.size();
  keyBytes.append(kCopy, '\0');
  // Exact room: every record gets every key, one '}' and the values as
  // they are (an array line has '[' and the commas where keys go), plus
  // kCopy for the fixed-size moves.
  std::size_t lineCount = 0;
  for (const char* p = arrays.data(), *end = p + arrays.size();
       p < end && (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))); ++p)
    ++lineCount;
  if (!arrays.empty() && arrays.back() != '\n') ++lineCount;
  const std::size_t start = out.size();
  out.resize(start + arrays.size() + lineCount * (keyTotal + 3) + kCopy);
  char* o = out.data() + start;
  const char* const inEnd = arrays.data() + arrays.size();
  auto error = scanArrays(
      arrays, names.size(),
      [&](std::size_t index, std::string_view token) {
        const auto [at, size] = keys[index];
        if (size <= kCopy) std::memcpy(o, keyBytes.data() + at, kCopy);
        else std::memcpy(o, keyBytes.data() + at, size);
        o += size;
        // A token is followed at least by ']' and a line end; a short one
        // far enough from the end is moved in one fixed-size piece.
        if (token.size() <= 16 && inEnd - token.data() >= 16) std::memcpy(o, token.data(), 16);
        else std::memcpy(o, token.data(), token.size());
        o += token.size();
      },
      [&] {
        if (names.empty()) *o++ = '{';
        *o++ = '}';
        *o++ = '\n';
      });
  out.resize(error ? start : static_cast<std::size_t>(o - out.data()));
  return error;
}

std::optional<std::string> parseJsonArrays(std::string_view arrays, const std::shared_ptr<const FieldNames>& names,
                                           std::vector<Record>& out) {
  std::optional<Record> record;
  std::string value;
  bool ok = true;
  auto error = scanArrays(
      arrays, names->size(),
      [&](std::size_t index, std::string_view token) {
        if (!record) record.emplace(names);
        Cursor c(token);
        ok = c.string(value) && ok;
        record->set(index, value);
      },
      [&] {
        if (!record) record.emplace(names);
        out.push_back(std::move(*record));
        record.reset();
      });
  if (error) return error;
  if (!ok) return std::string("a value with a malformed escape");
  return std::nullopt;
}

}  // namespace renkei
