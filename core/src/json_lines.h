// Reading back the JSON Lines the host keeps in the store: flat objects of
// string values, keys in field order (what JsonLinesWriter writes).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "renkei/record.h"

namespace renkei {

/// The store keeps a batch's records as JSON Lines of arrays of string
/// values (["v1","v2",…]), one per record, with the field names once (a JSON
/// array of strings). These turn that back into what targets receive.

/// Parses a JSON array of strings (the field names).
std::optional<std::vector<std::string>> parseNameArray(std::string_view json);

/// Appends the records as JSON objects with `names` as keys, one per line,
/// values copied as they are (no unescaping). Returns an error naming the
/// line on malformed input (which the host never writes).
std::optional<std::string> expandJsonArrays(std::string_view arrays, const FieldNames& names, std::string& out);

/// Parses the records into Records over `names` (values by position).
std::optional<std::string> parseJsonArrays(std::string_view arrays, const std::shared_ptr<const FieldNames>& names,
                                           std::vector<Record>& out);

}  // namespace renkei
