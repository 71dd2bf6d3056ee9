// Record readers: stream a vendor file through its layout, one record at a
// time, with memory that does not grow with the file.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "renkei/support/layout.h"

namespace renkei {
class MappedFile;
}

namespace renkei::formats {

/// A growable byte buffer that, unlike std::string, does not zero what it
/// adds: records are decoded straight into it.
class ByteArena {
 public:
  std::size_t size() const { return size_; }
  const char* data() const { return buf_.get(); }
  char* data() { return buf_.get(); }
  void clear() { size_ = 0; }
  /// Room for `n` more bytes; returns where they go. Size is unchanged until commit().
  char* reserveMore(std::size_t n) {
    if (!buf_ || size_ + n > cap_) grow(size_ + n);
    return buf_.get() + size_;
  }
  void commit(const char* end) { size_ = static_cast<std::size_t>(end - buf_.get()); }
  void shrinkTo(std::size_t n) { size_ = n < size_ ? n : size_; }
  void append(std::string_view s) {
    if (s.empty()) return;
    char* o = reserveMore(s.size());
    std::memcpy(o, s.data(), s.size());
    size_ += s.size();
  }

 private:
  void grow(std::size_t need) {
    std::size_t cap = cap_ ? cap_ : 1024;
    while (cap < need) cap *= 2;
    std::unique_ptr<char[]> bigger(new char[cap]);
    if (size_) std::memcpy(bigger.get(), buf_.get(), size_);
    buf_ = std::move(bigger);
    cap_ = cap;
  }

  std::unique_ptr<char[]> buf_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

/// One data record as read: decoded UTF-8 values in layout field order, all
/// in one arena. Reused by the caller between calls, so reading allocates
/// nothing once the buffers have grown to the largest record.
struct RawRecord {
  std::uint64_t number = 0;  ///< data record number, from 1 (header and trailer not counted)
  std::uint64_t offset = 0;  ///< byte offset of the record in the file
  std::uint64_t line = 0;    ///< line where the record starts
  /// Why the record cannot be used (wrong field count, invalid bytes with
  /// invalid-bytes="reject", a field splitting a character …). Empty: usable.
  std::vector<std::string> errors;
  std::uint64_t substituted = 0;    ///< invalid byte sequences replaced by 〓 (invalid-bytes="substitute")
  std::uint64_t gaijiMapped = 0;    ///< 外字 replaced through the gaiji table
  std::uint64_t gaijiUnmapped = 0;  ///< 外字 delivered as configured (kept or 〓)
  /// Fields (layout indexes) holding an unmapped 外字, or invalid bytes
  /// replaced by 〓: what the warnings file names.
  std::vector<std::uint32_t> gaijiFields, substitutedFields;

  std::size_t size() const { return spans.size(); }
  /// Value of field `i`; valid until the record is read into again.
  std::string_view value(std::size_t i) const {
    return {arena.data() + spans[i].first, spans[i].second};
  }

  // Used by readers.
  void reset(std::size_t fields) {
    arena.clear();
    spans.assign(fields, {0, 0});
    errors.clear();
    substituted = gaijiMapped = gaijiUnmapped = 0;
    gaijiFields.clear();
    substitutedFields.clear();
  }
  void setValue(std::size_t i, std::string_view v) {
    spans[i] = {arena.size(), v.size()};
    arena.append(v);
  }

  ByteArena arena;
  std::vector<std::pair<std::size_t, std::size_t>> spans;  ///< (offset in arena, length) per field
};

/// A problem that makes the whole file unusable (its records must not be
/// delivered): unterminated quote, truncated fixed record, bad trailer count,
/// DOCTYPE in XML, a header row that does not match the layout.
struct FileError {
  std::uint64_t offset = 0;
  std::uint64_t line = 0;
  std::string reason;
  std::string format() const;  ///< "line L, byte offset B: reason"
};

struct ReaderTotals {
  std::uint64_t records = 0;      ///< data records returned
  std::uint64_t rejected = 0;     ///< of those, with errors
  std::uint64_t substituted = 0;
  std::uint64_t gaijiMapped = 0;
  std::uint64_t gaijiUnmapped = 0;
};

/// One record as its format split it, before fields are assigned: byte
/// slices of the file (CSV fields, a fixed-width record, a JSON line) or, for
/// XML, values already decoded. Internal to the readers.
struct RawItem {
  std::uint64_t offset = 0;
  std::uint64_t line = 0;
  std::vector<std::string_view> slices;
  std::vector<std::uint8_t> doubledQuotes;  ///< csv: slice i contains "" to collapse
  std::vector<std::string> decoded;         ///< xml: values by layout field index
  std::vector<std::uint8_t> present;        ///< xml: value i was in the record
  std::string error;                        ///< a record-level parse problem
  /// The reader saw every raw byte of the item and none is 0x00, in an
  /// encoding where 0x00 is U+0000 alone (Codec::byteStandsAlone(0)): no
  /// value can decode to U+0000, so the per-value NUL check is skipped.
  bool nulFree = false;
};

class RecordReader {
 public:
  virtual ~RecordReader() = default;

  /// Opens `file` for `layout`; throws std::runtime_error when it cannot be
  /// opened at all (the message names the file). The layout must outlive the reader.
  static std::unique_ptr<RecordReader> open(const Layout& layout, const std::filesystem::path& file);
  /// Reads a file already mapped (several passes over one mapping).
  static std::unique_ptr<RecordReader> fromMapping(const Layout& layout, std::shared_ptr<MappedFile> file);
  /// Reads from memory instead (tests and fuzzing); `data` must outlive the reader.
  static std::unique_ptr<RecordReader> fromMemory(const Layout& layout, std::string_view data);

  /// The next data record. Returns false at the end of the file or on a file
  /// error (then error() is set, and no more records come).
  bool next(RawRecord& record);

  /// Decode only the data fields marked 1 (the others read as ""): a mapping
  /// that drops wide fields need not decode them. Empty: all fields.
  void setFieldMask(std::vector<std::uint8_t> mask) { mask_ = std::move(mask); }

  const std::optional<FileError>& error() const { return error_; }
  const ReaderTotals& totals() const { return totals_; }
  /// The header record's fields by name (once the first next() has read
  /// it; empty without a header record).
  const std::vector<std::pair<std::string, std::string>>& header() const { return header_; }
  const Layout& layout() const { return layout_; }

 protected:
  explicit RecordReader(const Layout& layout) : layout_(layout) {}

  /// The next item of the file; false at the end or after fail().
  virtual bool nextRaw(RawItem& item) = 0;
  /// Fills `record.values` (already sized) from `item` for `fields`, adding
  /// record-level problems to `record.errors`.
  virtual void assign(const RawItem& item, const std::vector<LayoutField>& fields, RawRecord& record) = 0;
  /// Byte offset just past the data, for messages about the end of the file.
  virtual std::uint64_t endOffset() const = 0;

  void fail(std::uint64_t offset, std::uint64_t line, std::string reason);

  /// A hint for an invalid shift_jis field that windows-31j reads (or "").
  std::string cp932Hint(std::string_view raw) const;
  /// Decodes raw bytes of field `index` onto the end of the record's arena
  /// (codec, invalid bytes, gaiji) and sets its span. Inline: it runs once
  /// per value; what is rare (NUL, invalid bytes, 外字) is out of line.
  void decodeField(std::string_view raw, std::size_t fileOffset, const LayoutField& field, RawRecord& record,
                   std::size_t index) const {
    const std::size_t start = record.arena.size();
    char* out = record.arena.reserveMore(text::Codec::decodeBound(raw.size()));
    text::CodecStats stats;
    record.arena.commit(layout_.codec->decodeInto(raw, out, stats, fileOffset));
    record.spans[index] = {start, record.arena.size() - start};
    if (!nulFree_ || stats.invalid || stats.privateUse) checkDecoded(raw, field, record, index, stats);
  }
  /// decodeField's rules for a value just decoded: NUL, invalid bytes, 外字.
  void checkDecoded(std::string_view raw, const LayoutField& field, RawRecord& record, std::size_t index,
                    const text::CodecStats& stats) const;
  /// Applies the gaiji table to a value already in the record.
  void applyGaijiTo(RawRecord& record, std::size_t index) const;

  /// True when data field `i` is to be decoded (control records: always).
  bool wanted(const std::vector<LayoutField>& fields, std::size_t i) const {
    return mask_.empty() || &fields != &layout_.fields || mask_[i];
  }

  const Layout& layout_;
  std::optional<FileError> error_;
  std::vector<std::uint8_t> mask_;
  bool nulFree_ = false;  ///< the item being assigned is RawItem::nulFree

 private:
  bool readControl(const ControlRecord& control, const char* what, RawRecord& scratch, const RawItem& item);

  ReaderTotals totals_;
  bool started_ = false;
  bool ended_ = false;
  bool havePending_ = false;
  RawItem pending_;  ///< one item of lookahead, to tell the trailer from data
  RawItem current_;
  RawRecord control_;
  std::vector<std::pair<std::string, std::string>> header_;
  std::uint64_t dataNumber_ = 0;
};

/// Writes records as JSON Lines with the layout's field names as keys, in
/// layout order: the output of `renkei read`. Keys are rendered once.
class JsonLinesWriter {
 public:
  explicit JsonLinesWriter(const std::vector<std::string>& names);
  /// A writer of JSON arrays of the values instead (["v1","v2",…]), the
  /// compact form the store keeps: the names are kept once per batch.
  static JsonLinesWriter arrays(std::size_t fields);
  /// Appends one object and a newline.
  void append(ByteArena& out, const RawRecord& record) const;
  void append(ByteArena& out, const std::vector<std::string_view>& values) const;
  void append(std::string& out, const RawRecord& record) const;

 private:
  JsonLinesWriter() = default;
  void addKey(std::string_view key);
  /// Each key (`"name":` with the separator before it) in one buffer, with
  /// kKeyCopy bytes to spare after the last: a key up to kKeyCopy bytes is
  /// copied in one fixed-size move, not a memcpy call per value.
  static constexpr std::size_t kKeyCopy = 32;
  std::string keyBytes_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> keys_;  ///< (offset, size) in keyBytes_
  std::size_t keysTotal_ = 0;
  char open_ = '{', close_ = '}';
  mutable std::vector<std::string_view> views_;
};

/// Appends `record` as one JSON object (layout field names as keys) and a
/// newline; for occasional use (tests). Loops should keep a JsonLinesWriter.
void appendRecordJson(std::string& out, const Layout& layout, const RawRecord& record);

/// "record N (line L, byte offset B): reason; reason" for a rejected record.
std::string describeRejected(const RawRecord& record);

}  // namespace renkei::formats
