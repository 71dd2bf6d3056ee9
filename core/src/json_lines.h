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

/// Parses every line of `jsonl` into a Record over `names` (values matched
/// by key; a key not in `names` is ignored). Returns an error text naming the
/// line on malformed input (which the host never writes).
std::optional<std::string> parseJsonLines(std::string_view jsonl, const std::shared_ptr<const FieldNames>& names,
                                          std::vector<Record>& out);

}  // namespace renkei
