// Parsing of plugin setting values by declared key type.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "renkei/settings.h"

namespace renkei {

/// True for the type names a plugin may declare: string, int, bool, duration,
/// size, path, list, secret, odbc-connection, enum(a|b|...).
bool isValidKeyType(const std::string& type);

/// The choices of an enum(a|b) type, empty for other types.
std::vector<std::string> enumChoices(const std::string& type);

/// Parses `text` as a value of `type`. Relative paths resolve against
/// `baseDir`. Returns an error message saying what would be valid, or nullopt
/// on success with `out` set.
std::optional<std::string> parseSettingValue(const std::string& type, const std::string& text,
                                             const std::filesystem::path& baseDir, Settings::Value& out);

}  // namespace renkei
