// CSV (RFC 4180, plus quoted line ends): fields split on raw bytes, which is
// safe because the delimiter, quote and line ends never occur inside a
// multi-byte character of the layout's encoding (checked when it loads).
#include <algorithm>
#include <bit>
#include <cstring>

#include <set>
#include "renkei/text.h"
#include "formats/reader_impl.h"

namespace renkei::formats {
namespace {

/// "'a', 'b' and 'c'" (at most ten, then "and N more").
std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  const std::size_t shown = std::min<std::size_t>(names.size(), 10);
  for (std::size_t i = 0; i < shown; ++i)
    out += (i == 0 ? "" : i + 1 == shown && names.size() <= 10 ? " and " : ", ") + ("'" + names[i] + "'");
  if (names.size() > 10) out += " and " + std::to_string(names.size() - 10) + " more";
  return out;
}

// Finds `c` in [p, end), eight bytes at a time (fields are short, so this
// beats a memchr call per field).
inline const char* findByte(const char* p, const char* end, char c) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  const std::uint64_t pattern = kOnes * static_cast<unsigned char>(c);
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t x = w ^ pattern;
    // The lowest flagged byte is exact; flags above it may be borrows.
    if (const std::uint64_t match = (x - kOnes) & ~x & kHigh) return p + (std::countr_zero(match) >> 3);
    p += 8;
  }
  for (; p < end; ++p)
    if (*p == c) return p;
  return nullptr;
}

// Line feeds in [p, end): a record's lines are counted once it is split
// (its own end and any inside quoted fields), not while its fields are
// searched.
inline std::uint64_t countNewlines(const char* p, const char* end) {
  std::uint64_t lines = 0;
  while (p < end && (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))))) {
    ++lines;
    ++p;
  }
  return lines;
}

class CsvReader final : public BufferReader {
 public:
  CsvReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m)
      : BufferReader(layout, data, std::move(m)) {
    pos_ = skipBom(data_, *layout_.codec);
    nulStandsAlone_ = layout_.codec->byteStandsAlone(0);
  }

 protected:
  bool nextRaw(RawItem& item) override {
    if (!headerDone_) {
      headerDone_ = true;
      if (layout_.header != HeaderRow::Absent && !readHeaderRow()) return false;
    }
    return parse(item);
  }

  void assign(const RawItem& item, const std::vector<LayoutField>& fields, RawRecord& record) override {
    if (!item.error.empty()) record.errors.push_back(item.error);
    if (item.slices.size() != fields.size()) {
      record.errors.push_back("expected " + std::to_string(fields.size()) + " fields, found " +
                              std::to_string(item.slices.size()));
      return;
    }
    // Locals for what each value would otherwise reload: decoding stores
    // bytes, which may alias members.
    const std::size_t count = fields.size(), maxFieldBytes = layout_.maxFieldBytes;
    const std::string_view* slices = item.slices.data();
    const std::uint8_t* doubled = item.doubledQuotes.data();
    const std::uint8_t* mask = mask_.empty() || &fields != &layout_.fields ? nullptr : mask_.data();
    const char* base = data_.data();
    for (std::size_t i = 0; i < count; ++i) {
      if (mask && !mask[i]) continue;
      const std::string_view raw = slices[i];
      if (raw.size() > maxFieldBytes) {
        record.errors.push_back("field '" + fields[i].name + "' is " + std::to_string(raw.size()) +
                                " bytes, more than max-field-bytes (" + std::to_string(maxFieldBytes) + ")");
        continue;
      }
      decodeField(raw, static_cast<std::size_t>(raw.data() - base), fields[i], record, i);
      if (doubled[i]) collapseQuotes(record, i);
    }
  }

 private:
  bool nulStandsAlone_ = false;  ///< a raw 0x00 is U+0000 and nothing else in the encoding
  // "" → " in place; the value is the last one in the arena, so it can shrink.
  void collapseQuotes(RawRecord& record, std::size_t i) const {
    auto& [start, len] = record.spans[i];
    char* s = record.arena.data() + start;
    const char q = layout_.quote;
    std::size_t w = 0;
    for (std::size_t r = 0; r < len; ++r, ++w) {
      s[w] = s[r];
      if (s[r] == q && r + 1 < len && s[r + 1] == q) ++r;
    }
    if (start + len == record.arena.size()) record.arena.shrinkTo(start + w);
    len = w;
  }

  // Splits the next record into field slices. Returns false at the end of the
  // data or on an unterminated quote (a file error: nothing after it can be
  // trusted to be where it seems).
  bool parse(RawItem& item) {
    const char* d = data_.data();
    const std::size_t n = data_.size();
    // The position is kept in a local while the record is split: stores into
    // the item's byte vectors may alias members, so a member would be
    // reloaded after each one.
    std::size_t pos = pos_;
    // Blank lines between records carry nothing; a vendor's trailing blank
    // line is common.
    while (pos < n && (d[pos] == '\n' || (d[pos] == '\r' && pos + 1 < n && d[pos + 1] == '\n'))) {
      pos += d[pos] == '\r' ? 2 : 1;
      ++line_;
    }
    pos_ = pos;
    if (pos >= n || (pos + 1 == n && d[pos] == '\x1a')) return false;  // 0x1A: DOS end-of-file mark
    item.offset = pos;
    item.line = line_;
    item.slices.clear();
    item.doubledQuotes.clear();
    item.error.clear();
    const char delim = layout_.delimiter;
    const char quote = layout_.quote;
    const std::size_t maxRecordBytes = layout_.maxRecordBytes;
    const std::size_t recordStart = pos;
    releaseBefore(pos);
    auto atEnd = [&](std::size_t p) {
      return p >= n || d[p] == delim || d[p] == '\n' || (d[p] == '\r' && p + 1 < n && d[p + 1] == '\n');
    };
    for (;;) {
      const std::size_t fieldStart = pos;
      if (pos < n && d[pos] == quote) {
        const std::size_t open = pos;
        std::size_t p = pos + 1;
        bool doubled = false;
        for (;;) {
          const char* q = findByte(d + p, d + n, quote);
          if (!q) {
            fail(open, line_ + countNewlines(d + recordStart, d + open), "unterminated quoted field (record " +
                                  std::to_string(records_ + 1) + ", field " + std::to_string(item.slices.size() + 1) +
                                  ") runs to the end of the file");
            pos_ = pos;
            return false;
          }
          const std::size_t at = static_cast<std::size_t>(q - d);
          if (at + 1 < n && d[at + 1] == quote) {
            doubled = true;
            p = at + 2;
            continue;
          }
          item.slices.push_back(std::string_view(d + open + 1, at - open - 1));
          item.doubledQuotes.push_back(doubled);
          pos = at + 1;
          break;
        }
        if (!atEnd(pos)) {
          if (item.error.empty())
            item.error = "text after the closing quote of field " + std::to_string(item.slices.size());
          while (!atEnd(pos)) ++pos;
        }
      } else {
        std::size_t p = pos;
        while (p < n && d[p] != delim && d[p] != '\n' && d[p] != '\r') ++p;
        // A CR not followed by LF is data, not a line end.
        while (p < n && d[p] == '\r' && !(p + 1 < n && d[p + 1] == '\n')) {
          ++p;
          while (p < n && d[p] != delim && d[p] != '\n' && d[p] != '\r') ++p;
        }
        const std::string_view value(d + fieldStart, p - fieldStart);
        if (item.error.empty() && value.find(quote) != std::string_view::npos)
          item.error = "a quote inside unquoted field " + std::to_string(item.slices.size() + 1);
        item.slices.push_back(value);
        item.doubledQuotes.push_back(false);
        pos = p;
      }
      if (pos - recordStart > maxRecordBytes && item.error.empty())
        item.error = "record is longer than max-record-bytes (" + std::to_string(maxRecordBytes) + ")";
      if (pos >= n) break;
      if (d[pos] == delim) {
        ++pos;
        continue;
      }
      // A line end closes the record.
      if (d[pos] == '\r') {
        pos += 2;  // the CR here is always followed by LF (see above)
      } else {
        if (layout_.newline == Newline::Crlf && item.error.empty())
          item.error = "line ends with LF alone; the layout says CRLF";
        ++pos;
      }
      break;
    }
    pos_ = pos;
    line_ += countNewlines(d + recordStart, d + pos);
    if (layout_.newline == Newline::Lf && item.error.empty() && pos >= 2 && d[pos - 1] == '\n' && d[pos - 2] == '\r')
      item.error = "line ends with CRLF; the layout says LF";
    item.nulFree = nulStandsAlone_ && !std::memchr(d + recordStart, 0, pos - recordStart);
    ++records_;
    return true;
  }

  /// When the header row does not fit: does the file look encoded other
  /// than the layout says? A UTF-8 BOM, or non-ASCII text that is valid
  /// UTF-8 under a Japanese legacy encoding (CP932's kanji lead bytes are
  /// never UTF-8 lead bytes), or bytes that are not UTF-8 under utf-8.
  std::string encodingHint() const {
    const std::string_view head = data_.substr(0, std::min<std::size_t>(data_.size(), 4096));
    const std::string name = layout_.codec ? layout_.codec->name() : std::string("utf-8");
    const bool bom = head.size() >= 3 && head.substr(0, 3) == "\xEF\xBB\xBF";
    bool nonAscii = false;
    for (char c : head) nonAscii = nonAscii || static_cast<unsigned char>(c) >= 0x80;
    std::size_t bad = firstInvalidUtf8(head);
    if (bad != std::string_view::npos && bad + 4 >= head.size() && head.size() == 4096) bad = std::string_view::npos;  // cut
    if (name != "utf-8" && (bom || (nonAscii && bad == std::string_view::npos)))
      return std::string(" The file looks like UTF-8 (") + (bom ? "it starts with a UTF-8 BOM" : "its text is valid UTF-8") +
             "), but the layout reads " + name + ": ask the sender for " + name + ", or set encoding=\"utf-8\" in the layout.";
    if (name == "utf-8" && nonAscii && bad != std::string_view::npos)
      return " The file is not UTF-8 (byte offset " + std::to_string(bad) +
             "), but the layout reads utf-8: a Japanese vendor file is usually windows-31j (CP932); set encoding in the layout.";
    return {};
  }

  // The column header row must name the layout's fields, in order.
  bool readHeaderRow() {
    RawItem item;
    if (!parse(item)) {
      if (!error_) fail(0, 1, "the file is empty: no header row");
      return false;
    }
    records_ = 0;
    if (layout_.header == HeaderRow::Skip) return true;
    const auto& fields = layout_.fields;
    RawRecord scratch;
    scratch.reset(std::max(fields.size(), item.slices.size()));
    if (item.slices.size() != fields.size()) {
      // Header names are the vendor's column names, not a record's values:
      // the layout's fields the row lacks are named (from the layout).
      std::vector<std::string> missing;
      if (const std::string hint = encodingHint(); !hint.empty()) {
        fail(item.offset, item.line,
             "header row has " + std::to_string(item.slices.size()) + " columns, the layout has " +
                 std::to_string(fields.size()) + " fields." + hint);
        return false;
      }
      std::set<std::string> present;
      for (std::size_t i = 0; i < item.slices.size() && i < 1000; ++i) {
        RawRecord one;
        one.reset(1);
        decodeField(item.slices[i], static_cast<std::size_t>(item.slices[i].data() - data_.data()), fields[0], one, 0);
        present.insert(std::string(one.value(0)));
      }
      for (const auto& f : fields)
        if (!present.count(f.name)) missing.push_back(f.name);
      fail(item.offset, item.line,
           "header row has " + std::to_string(item.slices.size()) + " columns, the layout has " +
               std::to_string(fields.size()) + " fields" +
               (missing.empty() || missing.size() == fields.size()
                    ? std::string()
                    : "; the row lacks the layout's " + joinNames(missing)));
      return false;
    }
    for (std::size_t i = 0; i < fields.size(); ++i) {
      decodeField(item.slices[i], static_cast<std::size_t>(item.slices[i].data() - data_.data()), fields[i], scratch, i);
      if (item.doubledQuotes[i]) collapseQuotes(scratch, i);
      const std::string_view name = scratch.value(i);
      if (name != fields[i].name) {
        // Never quoted: a file without a header row has a record here, and
        // its first field may be a 住民票コード or a name (any size).
        std::size_t chars = 0;
        for (char c : name) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        if (const std::string hint = encodingHint(); !hint.empty()) {
          fail(item.offset, item.line,
               "header row column " + std::to_string(i + 1) + " is not the layout's field '" + fields[i].name + "'." + hint);
          return false;
        }
        fail(item.offset, item.line,
             "header row column " + std::to_string(i + 1) + " is not the layout's field " + std::to_string(i + 1) +
                 " '" + fields[i].name + "' (it holds " + std::to_string(chars) +
                 " characters; its text is not shown, as it may be a record's value). Is the file without a "
                 "header row? Then use header=\"false\"; to ignore the names, header=\"skip\"");
        return false;
      }
    }
    return true;
  }

  bool headerDone_ = false;
  std::uint64_t records_ = 0;
};

}  // namespace

std::unique_ptr<RecordReader> makeCsvReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m) {
  return std::make_unique<CsvReader>(layout, data, std::move(m));
}

}  // namespace renkei::formats
