// Table-driven codecs for Japanese vendor files, and UTF-8.
#include "renkei/support/codec.h"

#include <cctype>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "text/codec_tables.h"

namespace renkei::text {

void CodecStats::noteInvalid(std::size_t offset, const unsigned char* p, std::size_t n) {
  if (invalid++ == 0) {
    firstInvalidOffset = offset;
    static constexpr char kHex[] = "0123456789abcdef";
    std::size_t k = 0;
    for (std::size_t i = 0; i < n && i < 3; ++i) {
      firstInvalidHex[k++] = kHex[p[i] >> 4];
      firstInvalidHex[k++] = kHex[p[i] & 0xF];
    }
    firstInvalidHex[k] = '\0';
  }
}

std::size_t decodeUtf8(const unsigned char* p, std::size_t avail, std::uint32_t& cp) {
  const unsigned char c = p[0];
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
  else return 0;
  if (avail < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
    return 0;
  return len;
}

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

namespace {

class Utf8Codec final : public Codec {
 public:
  Utf8Codec() : Codec("utf-8") {}

  char* decodeInto(std::string_view in, char* o, CodecStats& stats, std::size_t base) const override {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t n = in.size();
    std::size_t i = 0, run = 0;
    while (i < n) {
      if (p[i] < 0x80) {
        ++i;
        continue;
      }
      std::uint32_t cp;
      const std::size_t len = decodeUtf8(p + i, n - i, cp);
      if (len) {
        if ((cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000) ++stats.privateUse;
        i += len;
        continue;
      }
      std::memcpy(o, in.data() + run, i - run);
      o += i - run;
      std::memcpy(o, kGeta.data(), kGeta.size());
      o += kGeta.size();
      stats.noteInvalid(base + i, p + i, 1);
      run = ++i;
    }
    std::memcpy(o, in.data() + run, n - run);
    return o + (n - run);
  }

  std::size_t charLength(const unsigned char* p, std::size_t avail) const override {
    std::uint32_t cp;
    return avail ? decodeUtf8(p, avail, cp) : 0;
  }

  void encode(std::string_view utf8, std::string& out, CodecStats& stats) const override { decode(utf8, out, stats, 0); }

  void markCharStarts(const unsigned char* p, std::size_t n, std::uint8_t* marks) const override {
    std::memset(marks, 0, n + 1);
    for (std::size_t i = 0; i < n;) {
      marks[i] = 1;
      std::uint32_t cp;
      const std::size_t len = p[i] < 0x80 ? 1 : decodeUtf8(p + i, n - i, cp);
      i += len ? len : 1;
    }
    marks[n] = 1;
  }

  bool byteStandsAlone(unsigned char b) const override { return b < 0x80; }
};

// One decoded character: up to 11 bytes of UTF-8 (JIS X 0213 has pairs).
struct Cell {
  std::uint8_t len = 0;  // 0: invalid
  std::uint8_t privateUse = 0;
  char bytes[10] = {};
};

// Shift_JIS family and EUC-JP, built once from the generated tables.
class TableCodec final : public Codec {
 public:
  explicit TableCodec(const CodecTable& table)
      : Codec(table.name), euc_(std::string_view(table.name) == "euc-jp"), table_(table) {
    doubles_.resize(65536);
    if (euc_) triples_.resize(65536);
    for (std::size_t i = 0; i < table.count; ++i) {
      const CodecTableEntry& e = table.entries[i];
      Cell cell;
      // The table holds C strings: byte 0x00 (U+0000) is the one empty entry.
      const std::string_view text = e.bytes == 0 ? std::string_view("\0", 1) : std::string_view(e.utf8);
      cell.len = static_cast<std::uint8_t>(text.size());
      text.copy(cell.bytes, sizeof cell.bytes);
      std::uint32_t cp = 0;
      decodeUtf8(reinterpret_cast<const unsigned char*>(text.data()), text.size(), cp);
      cell.privateUse = (cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000;
      if (e.bytes <= 0xFF) {
        singles_[e.bytes] = cell;
        passthrough_[e.bytes] = text.size() == 1 && static_cast<unsigned char>(text[0]) == e.bytes;
        if (e.bytes < 0x80 && !passthrough_[e.bytes]) asciiIdentity_ = false;
      } else if (e.bytes <= 0xFFFF) {
        doubles_[e.bytes] = cell;
        lead_[e.bytes >> 8] = true;
      } else {
        triples_[e.bytes & 0xFFFF] = cell;
        lead_[0x8F] = true;
      }
    }
  }

  // The hot path of every reader: output goes through a raw pointer into
  // room the caller reserved (decodeBound), never through std::string.
  char* decodeInto(std::string_view in, char* o, CodecStats& stats, std::size_t base) const override {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t n = in.size();
    std::size_t i = 0;
    while (i < n) {
      if (p[i] < 0x80 && asciiIdentity_) {
        // An ASCII run, eight bytes at a time.
        while (i + 8 <= n) {
          std::uint64_t w;
          std::memcpy(&w, p + i, 8);
          if (w & 0x8080808080808080ull) break;
          std::memcpy(o, p + i, 8);
          o += 8;
          i += 8;
        }
        // Fewer than eight left (most values: codes, dates, flags): all
        // ASCII to the end is seen in two overlapping loads and copied so.
        if (const std::size_t rest = n - i; rest >= 2 && rest < 8) {
          if (rest >= 4) {
            std::uint32_t lo, hi;
            std::memcpy(&lo, p + i, 4);
            std::memcpy(&hi, p + n - 4, 4);
            if (!((lo | hi) & 0x80808080u)) {
              std::memcpy(o, &lo, 4);
              std::memcpy(o + rest - 4, &hi, 4);
              return o + rest;
            }
          } else {
            std::uint16_t lo, hi;
            std::memcpy(&lo, p + i, 2);
            std::memcpy(&hi, p + n - 2, 2);
            if (!((lo | hi) & 0x8080u)) {
              std::memcpy(o, &lo, 2);
              std::memcpy(o + rest - 2, &hi, 2);
              return o + rest;
            }
          }
        }
        while (i < n && p[i] < 0x80) *o++ = static_cast<char>(p[i++]);
        continue;
      }
      if (passthrough_[p[i]]) {
        *o++ = static_cast<char>(p[i++]);
        continue;
      }
      const unsigned char c = p[i];
      const Cell* cell;
      std::size_t len = 1;
      if (!lead_[c]) {
        cell = &singles_[c];
      } else if (euc_ && c == 0x8F) {
        len = 3;
        cell = i + 2 < n ? &triples_[(p[i + 1] << 8) | p[i + 2]] : &kInvalid;
      } else {
        len = 2;
        cell = i + 1 < n ? &doubles_[(c << 8) | p[i + 1]] : &kInvalid;
      }
      if (cell->len) {
        std::memcpy(o, cell->bytes, sizeof cell->bytes);  // fixed size: one move, trimmed by len
        o += cell->len;
        stats.privateUse += cell->privateUse;
        i += len;
        continue;
      }
      // Skip the lead byte only: a trail byte that is ASCII is read again
      // as itself, so one bad byte never swallows a delimiter.
      std::memcpy(o, kGeta.data(), kGeta.size());
      o += kGeta.size();
      stats.noteInvalid(base + i, p + i, std::min(n - i, len));
      ++i;
    }
    return o;
  }

  std::size_t charLength(const unsigned char* p, std::size_t avail) const override {
    if (!avail) return 0;
    const unsigned char c = p[0];
    if (!lead_[c]) return singles_[c].len ? 1 : 0;
    if (euc_ && c == 0x8F) return avail >= 3 && triples_[(p[1] << 8) | p[2]].len ? 3 : 0;
    return avail >= 2 && doubles_[(c << 8) | p[1]].len ? 2 : 0;
  }

  void encode(std::string_view utf8, std::string& out, CodecStats& stats) const override {
    std::call_once(encoderOnce_, [this] { buildEncoder(); });
    const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
    const std::size_t n = utf8.size();
    std::size_t i = 0;
    while (i < n) {
      std::uint32_t cp;
      const std::size_t len = decodeUtf8(p + i, n - i, cp);
      if (!len) {
        substitute(out);
        stats.noteInvalid(i, p + i, 1);
        ++i;
        continue;
      }
      // JIS X 0213 encodes some base + combining pairs as one character.
      if (!pairs_.empty()) {
        std::uint32_t cp2;
        const std::size_t len2 = i + len < n ? decodeUtf8(p + i + len, n - i - len, cp2) : 0;
        if (len2) {
          auto it = pairs_.find(std::string(utf8.substr(i, len + len2)));
          if (it != pairs_.end()) {
            appendBytes(out, it->second);
            i += len + len2;
            continue;
          }
        }
      }
      auto it = encoder_.find(cp);
      if (it == encoder_.end()) {
        substitute(out);
        stats.noteInvalid(i, p + i, len);
      } else {
        appendBytes(out, it->second);
      }
      i += len;
    }
  }

  bool byteStandsAlone(unsigned char b) const override { return euc_ ? b < 0x80 : b < 0x40; }

  void markCharStarts(const unsigned char* p, std::size_t n, std::uint8_t* marks) const override {
    std::memset(marks, 0, n + 1);
    for (std::size_t i = 0; i < n;) {
      marks[i] = 1;
      const unsigned char c = p[i];
      if (!lead_[c]) {
        ++i;
        continue;
      }
      const std::size_t len = euc_ && c == 0x8F ? 3 : 2;
      i += (i + len <= n && charLength(p + i, n - i)) ? len : 1;
    }
    marks[n] = 1;
  }

 private:
  static void appendBytes(std::string& out, std::uint32_t bytes) {
    if (bytes > 0xFFFF) out.push_back(static_cast<char>(bytes >> 16));
    if (bytes > 0xFF) out.push_back(static_cast<char>((bytes >> 8) & 0xFF));
    out.push_back(static_cast<char>(bytes & 0xFF));
  }

  void substitute(std::string& out) const {
    auto it = encoder_.find(0x3013);
    if (it != encoder_.end()) appendBytes(out, it->second);
    else out.push_back('?');
  }

  // The first (lowest) byte sequence of a character wins, except that
  // secondary entries (CP932's NEC-selected IBM rows) only fill gaps: this is
  // what Windows writes (JIS X 0208 before NEC row 13 before IBM extensions).
  void buildEncoder() const {
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t i = 0; i < table_.count; ++i) {
        const CodecTableEntry& e = table_.entries[i];
        if (e.secondary != pass) continue;
        const std::string_view text = e.bytes == 0 ? std::string_view("\0", 1) : std::string_view(e.utf8);
        const auto* tp = reinterpret_cast<const unsigned char*>(text.data());
        std::uint32_t cp;
        const std::size_t len = decodeUtf8(tp, text.size(), cp);
        if (len == text.size()) encoder_.emplace(cp, e.bytes);
        else pairs_.emplace(std::string(text), e.bytes);
      }
    }
  }

  static constexpr Cell kInvalid{};
  bool euc_;
  bool asciiIdentity_ = true;
  const CodecTable& table_;
  std::array<Cell, 256> singles_{};
  std::array<bool, 256> lead_{};
  std::array<bool, 256> passthrough_{};
  std::vector<Cell> doubles_;
  std::vector<Cell> triples_;
  mutable std::once_flag encoderOnce_;
  mutable std::unordered_map<std::uint32_t, std::uint32_t> encoder_;
  mutable std::unordered_map<std::string, std::uint32_t> pairs_;
};

// Codecs are built on first use: each table codec holds about 1 MB of
// lookup cells, and a process usually needs one or two of them.
struct Registry {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<Codec>, std::less<>> built;

  const Codec* get(std::string_view name) {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = built.find(name); it != built.end()) return it->second.get();
    std::unique_ptr<Codec> codec;
    if (name == "utf-8") codec = std::make_unique<Utf8Codec>();
    for (std::size_t i = 0; !codec && i < kCodecTableCount; ++i)
      if (name == kCodecTables[i].name) codec = std::make_unique<TableCodec>(kCodecTables[i]);
    if (!codec) return nullptr;
    return built.emplace(std::string(name), std::move(codec)).first->second.get();
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

const Codec* findCodec(std::string_view name) { return registry().get(name); }

std::string canonicalCodecName(std::string_view name) {
  std::string key;
  for (char c : name) key += (c == '_') ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, const char*> kAliases[] = {
      {"windows-31j", "windows-31j"}, {"cp932", "windows-31j"}, {"ms932", "windows-31j"},
      {"ms-932", "windows-31j"},      {"x-sjis-cp932", "windows-31j"}, {"shift-jis", "shift_jis"},
      {"sjis", "shift_jis"},          {"x-sjis", "shift_jis"},   {"utf-8", "utf-8"},
      {"utf8", "utf-8"},              {"euc-jp", "euc-jp"},       {"eucjp", "euc-jp"},
      {"shift-jisx0213", "shift_jisx0213"}, {"sjisx0213", "shift_jisx0213"},
  };
  for (const auto& [alias, canonical] : kAliases)
    if (key == alias) return canonical;
  return std::string(name);
}

std::vector<std::string> codecNames() {
  std::vector<std::string> out{"utf-8"};
  for (std::size_t i = 0; i < kCodecTableCount; ++i) out.push_back(kCodecTables[i].name);
  return out;
}

}  // namespace renkei::text
