// Records: the ordered name/value rows that the host hands to sinks and modules.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace renkei {

/// The field names of a record type, in output order. Shared by every record of
/// a batch so that a record carries only its values.
using FieldNames = std::vector<std::string>;

/// One record: values in the order of its shared field names. Values are UTF-8.
/// A record is a plain value type; it is not thread-safe to mutate from two
/// threads, but const access from several threads is fine.
class Record {
 public:
  explicit Record(std::shared_ptr<const FieldNames> names)
      : names_(std::move(names)), values_(names_ ? names_->size() : 0) {}

  std::size_t size() const { return values_.size(); }
  const std::string& name(std::size_t i) const { return (*names_)[i]; }
  const std::string& value(std::size_t i) const { return values_[i]; }
  void set(std::size_t i, std::string value) { values_[i] = std::move(value); }

  /// Value of the named field, or nullptr when the record has no such field.
  const std::string* find(std::string_view name) const {
    for (std::size_t i = 0; i < values_.size(); ++i)
      if ((*names_)[i] == name) return &values_[i];
    return nullptr;
  }

  const std::shared_ptr<const FieldNames>& names() const { return names_; }

 private:
  std::shared_ptr<const FieldNames> names_;
  std::vector<std::string> values_;
};

/// A batch of records handed to a sink or module in one call.
/// `id` is deterministic for the same content (route, source item and batch
/// number), so a sink that names its output after it is idempotent: a batch
/// delivered again after a crash overwrites itself instead of appearing twice.
///
/// The host always fills `jsonLines` (the records as JSON Lines: one object
/// per record, keys in field order, as they are kept in the store) and fills
/// `records` for modules and for sinks whose needsRecords() is true.
struct Batch {
  std::string id;
  std::string route;
  std::string sourceItem;        ///< name of the file or query the records came from
  std::string recordType;        ///< the route mapping's target record (e.g. "resident.event"); else the emitted set's type, or "line"
  std::string zone;              ///< the zone the records were mapped for (lgwan, internet, mynumber)
  std::size_t recordCount = 0;   ///< records in the batch (also when `records` is left empty)
  /// The PII class of each field in field order (none, personal,
  /// identifier, special, mynumber), from the route's mapping; null when the
  /// route has no mapping (records passed on as emitted: classes unknown,
  /// treat them as personal).
  std::shared_ptr<const std::vector<std::string>> fieldPii;
  std::string_view jsonLines;    ///< valid for the duration of the call
  /// The field names (also when `records` is left empty).
  std::shared_ptr<const FieldNames> fieldNames;
  /// Set instead of jsonLines and records when the batch was stored sealed
  /// (the internet zone keeps personal fields only sealed, to the key of the
  /// sink that delivers them: Sink::sealingKey): "<SHA-256 hex of the clear
  /// JSON Lines of value arrays>:<Base64 of the sealed bytes>", sealed with
  /// the associated data "renkei-batch:<id>". Valid for the call.
  std::string_view sealedPayload;
  std::vector<Record> records;
};

}  // namespace renkei
