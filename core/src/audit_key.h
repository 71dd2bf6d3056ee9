// The audit trail's key: a secret file only its owner reads.
#pragma once

#include <filesystem>
#include <string>

namespace renkei::audit {

/// Reads the key of <audit key-file="…">: at least 32 bytes (trailing line
/// ends dropped), the file readable by its owner only. Throws
/// std::runtime_error naming the file.
std::string readKey(const std::filesystem::path& file);

}  // namespace renkei::audit
