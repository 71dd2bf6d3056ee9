// Record readers: stream a vendor file through its layout, one record at a
// time, with memory that does not grow with the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/layout.h"

namespace renkei::formats {

/// One data record as read: decoded UTF-8 values in layout field order.
/// Reused by the caller between calls (values keep their capacity).
struct RawRecord {
  std::uint64_t number = 0;  ///< data record number, from 1 (header and trailer not counted)
  std::uint64_t offset = 0;  ///< byte offset of the record in the file
  std::uint64_t line = 0;    ///< line where the record starts
  std::vector<std::string> values;
  /// Why the record cannot be used (wrong field count, invalid bytes with
  /// invalid-bytes="reject", a field splitting a character …). Empty: usable.
  std::vector<std::string> errors;
  std::uint64_t substituted = 0;    ///< invalid byte sequences replaced by 〓 (invalid-bytes="substitute")
  std::uint64_t gaijiMapped = 0;    ///< 外字 replaced through the gaiji table
  std::uint64_t gaijiUnmapped = 0;  ///< 外字 delivered as configured (kept or 〓)
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
};

class RecordReader {
 public:
  virtual ~RecordReader() = default;

  /// Opens `file` for `layout`; throws std::runtime_error when it cannot be
  /// opened at all (the message names the file). The layout must outlive the reader.
  static std::unique_ptr<RecordReader> open(const Layout& layout, const std::filesystem::path& file);
  /// Reads from memory instead (tests and fuzzing); `data` must outlive the reader.
  static std::unique_ptr<RecordReader> fromMemory(const Layout& layout, std::string_view data);

  /// The next data record. Returns false at the end of the file or on a file
  /// error (then error() is set, and no more records come).
  bool next(RawRecord& record);

  const std::optional<FileError>& error() const { return error_; }
  const ReaderTotals& totals() const { return totals_; }
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

  /// Decodes raw bytes of one field into `out` (codec, invalid bytes, gaiji).
  void decodeField(std::string_view raw, std::size_t fileOffset, const LayoutField& field, std::string& out,
                   RawRecord& record) const;

  const Layout& layout_;
  std::optional<FileError> error_;

 private:
  bool readControl(const ControlRecord& control, const char* what, RawRecord& scratch, const RawItem& item);

  ReaderTotals totals_;
  bool started_ = false;
  bool ended_ = false;
  bool havePending_ = false;
  RawItem pending_;  ///< one item of lookahead, to tell the trailer from data
  RawItem current_;
  RawRecord control_;
  std::uint64_t dataNumber_ = 0;
};

/// Appends `record` as one JSON object (layout field names as keys, in layout
/// order) and a newline: the output of `renkei read`.
void appendRecordJson(std::string& out, const Layout& layout, const RawRecord& record);

/// "record N (line L, byte offset B): reason; reason" for a rejected record.
std::string describeRejected(const RawRecord& record);

}  // namespace renkei::formats
