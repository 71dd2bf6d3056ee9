// Mapping files (urn:renkei:mapping:1): compiled once — names to indices,
// transforms to objects, code tables to sorted arrays — then evaluated per
// record with the contract in design.md ("How a record is evaluated").
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "renkei/support/diagnostics.h"
#include "renkei/support/layout.h"
#include "formats/reader.h"
#include "mapping/transforms.h"

namespace renkei::mapping {

enum class OnFail { Reject, Warn, Null };

/// True when zone `zone` may hold data of class `pii` (design.md §4).
bool zoneAllows(std::string_view zone, formats::Pii pii);

class CodeTable {
 public:
  void add(std::string from, std::string to) { entries_.emplace_back(std::move(from), std::move(to)); }
  void seal();  ///< sorts; call once all codes are in
  const std::string* find(std::string_view from) const;
  std::optional<std::string> defaultValue;
  std::string id;
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

struct CompiledField {
  std::vector<int> reads;  ///< source fields the pipeline reads besides `from` (concat)
  std::string to;
  int line = 0;
  int from = -1;        ///< source field index; -1 for a literal value
  std::string literal;  ///< value="…"
  std::vector<std::unique_ptr<Transform>> steps;
  std::vector<std::string> stepNames;  ///< as written, for reasons
  const CodeTable* codes = nullptr;
  bool required = false;
  std::optional<std::string> defaultValue;
  formats::Pii pii = formats::Pii::None;  ///< class of the output value
  bool scanContent = false;               ///< internet zone: scan the value for identifiers
  /// pattern="…": the value must match it (else a field failure "pattern");
  /// a matching value skips the scan when the pattern cannot hold an identifier.
  std::unique_ptr<ValuePattern> pattern;
  bool patternExempt = false;
  bool zoneAllowed = false;  ///< zoneAllows(the mapping's zone, pii), worked out once compiled (refused till then)
  /// A source field delivered as it is (no steps, codes, pattern, default or
  /// scan, allowed in the zone): the evaluation's short path.
  bool plain = false;
};

struct CompiledCheck {
  int field = -1;
  std::string fieldName;
  std::string rule;  ///< as written, for reasons
  std::unique_ptr<CheckRule> check;
  OnFail onFail = OnFail::Reject;
  bool evaluateEmpty = false;  ///< the 'required' rule looks at empty values
};

struct CompiledSkip {
  int field = -1;
  std::string equals;
};

struct Mapping {
  std::filesystem::path file;
  std::string id;
  std::string version;
  std::shared_ptr<const formats::Layout> layout;
  std::string targetRecord;
  std::string zone;
  std::vector<CompiledSkip> skips;
  std::vector<CompiledCheck> checks;
  std::vector<CompiledField> fields;
  std::vector<std::unique_ptr<CodeTable>> codeTables;

  std::vector<std::string> targetNames() const;
  /// Source fields the mapping reads (fields, checks, skips, concat), plus
  /// the non-personal ones rejects files carry: the reader's field mask.
  std::vector<std::uint8_t> sourceFieldsRead() const;
};

/// Loads and compiles a mapping (and its layout). Every problem goes to
/// `diags` with file:line; returns null if any.
/// With `layout`, the mapping reads its source through that layout instead
/// of the one its <source> names (a route's layout="…": the same mapping for
/// a vendor's CSV and fixed-width exports); the field names must exist there.
std::shared_ptr<const Mapping> loadMapping(const std::filesystem::path& file, const KeyRing& keys, Diagnostics& diags,
                                           const std::filesystem::path* layout = nullptr);

enum class Verdict { Accepted, Rejected, Skipped };

/// What a warning is about. A record with warnings is delivered; the
/// summary counts each kind and the warnings file names record, field and
/// kind (never a value).
enum class WarningKind {
  Gaiji,        ///< an unmapped 外字 in a source field, delivered as configured (kept or 〓)
  Substituted,  ///< invalid bytes in a source field replaced by 〓 (invalid-bytes="substitute")
  Transform,    ///< an optional field's transform or code table failed: the field is empty or its default
  Check,        ///< a check with on-fail="warn" did not pass
};
constexpr std::size_t kWarningKinds = 4;
/// "unmapped-gaiji", "substituted", "transform", "check".
const char* warningKindName(WarningKind kind);

/// One warning of one record: views into the layout's and the mapping's
/// names, valid while they live.
struct RecordWarning {
  WarningKind kind;
  std::string_view field;  ///< source field (gaiji, substituted, check) or target field (transform)
  std::string_view rule;   ///< the transform step, "codes", or the check's rule; "" otherwise
};

/// "12 warnings (3 unmapped 外字, 9 warn checks)" from a total and the
/// counts by WarningKind (kWarningKinds of them): for summaries.
std::string describeWarnings(std::uint64_t total, const std::uint64_t* byKind);

/// The reader's warnings of a record (unmapped 外字, substituted bytes).
void appendReaderWarnings(const formats::Layout& layout, const formats::RawRecord& record,
                          std::vector<RecordWarning>& out);

/// Appends one warnings-file line: {"record":N,"offset":B,"warnings":
/// [{"kind":…,"field":…,"rule":…}]} — names only.
void appendWarningLine(std::string& out, const formats::RawRecord& record, const std::vector<RecordWarning>& warnings);

/// The result of mapping one record. Reused between records.
struct MappedRecord {
  Verdict verdict = Verdict::Accepted;
  std::vector<std::string> reasons;  ///< rejected: every reason, "<rule>:<field>"
  std::vector<RecordWarning> warnings;
  /// Output values in target order; views into `buffers` or into the source
  /// record, valid until the next map() or until the source record changes.
  std::vector<std::string_view> values;
  std::vector<std::string> buffers;
};

/// Appends one rejects-file line: {"record":N,"offset":B,"reasons":[…],
/// "fields":{…}} where fields are the record's source fields of class none
/// (never anything personal). Shared by `renkei map` and the routes.
void appendRejectLine(std::string& out, const formats::Layout& layout, const formats::RawRecord& record,
                      const std::vector<std::string>& reasons);

/// Evaluates a compiled mapping. Holds scratch space, so use one per thread.
class Mapper {
 public:
  explicit Mapper(const Mapping& mapping);
  void map(const formats::RawRecord& in, MappedRecord& out);
  const Mapping& mapping() const { return mapping_; }

 private:
  const Mapping& mapping_;
  std::vector<std::string_view> source_;
  std::string a_, b_;
};

/// One pass of a mapping over a reader's records, as `renkei map` and the
/// routes run it: maps each record, counts verdicts and warnings, and keeps
/// the rejects lines; the caller handles accepted records.
class MapRun {
 public:
  explicit MapRun(const Mapping& mapping) : mapping_(mapping), mapper_(mapping) {}
  /// Maps `raw`; returns its verdict (accepted records are in record()).
  Verdict step(const formats::RawRecord& raw);
  const MappedRecord& record() const { return mapped_; }
  /// Rejects lines gathered so far (clear it after writing it out).
  std::string& rejects() { return rejects_; }
  /// Warnings-file lines gathered so far (clear it after writing it out);
  /// at most kMaxWarningLines per run, the rest only counted.
  std::string& warningLines() { return warningLines_; }
  static constexpr std::uint64_t kMaxWarningLines = 100000;

  std::uint64_t read = 0, accepted = 0, rejected = 0, skipped = 0, warnings = 0, unmappedGaiji = 0;
  std::uint64_t warningsOf[kWarningKinds] = {};  ///< by WarningKind
  std::uint64_t recordsWithWarnings = 0;         ///< lines the warnings file got (or would have, past the cap)
  /// "3 warnings (2 unmapped 外字, 1 failed optional transform)" for summaries.
  std::string describeWarnings() const;

 private:
  const Mapping& mapping_;
  Mapper mapper_;
  MappedRecord mapped_;
  std::string rejects_;
  std::string warningLines_;
};

}  // namespace renkei::mapping
