// Layouts (urn:renkei:layout:1): how records sit in a vendor file — CSV,
// fixed-width bytes, XML or JSON Lines — with each field's PII class.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "renkei/support/diagnostics.h"
#include "renkei/support/codec.h"
#include "renkei/support/gaiji.h"

namespace renkei::formats {

/// PII classes, ordered from least to most sensitive (design.md §4).
enum class Pii { None, Personal, Identifier, Special, MyNumber };
const char* piiName(Pii p);
std::optional<Pii> parsePii(std::string_view s);

enum class LayoutKind { Csv, Fixed, Xml, Jsonl };
enum class Newline { Crlf, Lf, Any, None };
enum class HeaderRow { Check, Absent, Skip };  ///< csv header="true" | "false" | "skip"
enum class Pad { Space, FullwidthSpace };

struct LayoutField {
  std::string name;
  Pii pii = Pii::Personal;
  std::size_t offset = 0;  ///< fixed: byte offset in the record
  std::size_t bytes = 0;   ///< fixed: byte length
  Pad pad = Pad::Space;
  std::string path;        ///< xml: child element (or @attribute) of the record element; jsonl: key
  int line = 0;            ///< where it is declared
};

/// A header or trailer record: its own fields, read with the same format.
struct ControlRecord {
  std::vector<LayoutField> fields;
  int countField = -1;   ///< trailer: index of the field holding the data record count
  int markerField = -1;  ///< index of the field that must equal markerValue
  std::string markerValue;
};

struct Layout {
  std::filesystem::path file;
  std::string id;
  std::string record;  ///< the record type this layout yields
  LayoutKind kind = LayoutKind::Csv;

  // Decoding.
  const text::Codec* codec = nullptr;
  bool rejectInvalidBytes = true;  ///< invalid-bytes="reject" (else substitute 〓 and flag)
  std::shared_ptr<const text::GaijiTable> gaiji;
  text::UnmappedGaiji unmappedGaiji = text::UnmappedGaiji::Keep;
  std::size_t maxFieldBytes = 65536;
  std::size_t maxRecordBytes = 1 << 20;

  // csv
  HeaderRow header = HeaderRow::Check;
  Newline newline = Newline::Any;
  char delimiter = ',';
  char quote = '"';
  // fixed
  std::size_t recordBytes = 0;
  // xml
  std::string recordElement;
  std::size_t maxDepth = 32;

  std::vector<LayoutField> fields;
  std::optional<ControlRecord> headerRecord;
  std::optional<ControlRecord> trailerRecord;

  /// Index of the named data field, or -1.
  int fieldIndex(std::string_view name) const;
};

/// Loads and checks a layout; every problem goes to `diags` with file:line.
/// Returns null if the layout cannot be used.
std::shared_ptr<const Layout> loadLayout(const std::filesystem::path& file, Diagnostics& diags);

}  // namespace renkei::formats
