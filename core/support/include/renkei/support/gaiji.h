// 外字 (user-defined characters): per-source tables that turn private-use code
// points into standard characters, and the accounting of those left unmapped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

#include "renkei/support/diagnostics.h"
#include "renkei/support/codec.h"

namespace renkei::text {

/// What to deliver for a private-use character the table does not map.
enum class UnmappedGaiji {
  Keep,  ///< the private-use code point itself (the receiver has the same 外字 font)
  Geta,  ///< 〓 (U+3013)
};

struct GaijiStats {
  std::uint64_t mapped = 0;
  std::uint64_t unmapped = 0;
};

/// A gaiji table, config/gaiji/<name>.tsv. One line per character, tab-separated:
///   source  replacement  [fallback]  [comment]
/// `source` is a code point (`U+E000`) or the raw bytes in the source's
/// encoding in hex (`F040`); `replacement` is the standard character (MJ /
/// 行政事務標準文字, with an IVS where needed); `fallback` (縮退) is for targets
/// that cannot show the replacement. `#` starts a comment line.
class GaijiTable {
 public:
  struct Entry {
    std::string replacement;
    std::string fallback;
  };

  /// Loads a table; problems (file:line) go to `diags`. `sourceCodec`
  /// decodes byte-form keys.
  static std::shared_ptr<GaijiTable> load(const std::filesystem::path& file, const Codec& sourceCodec,
                                          Diagnostics& diags);

  const Entry* find(std::uint32_t cp) const {
    auto it = entries_.find(cp);
    return it == entries_.end() ? nullptr : &it->second;
  }
  std::size_t size() const { return entries_.size(); }

 private:
  std::unordered_map<std::uint32_t, Entry> entries_;
};

/// True for private-use code points (U+E000–U+F8FF, planes 15 and 16).
inline bool isPrivateUse(std::uint32_t cp) {
  return (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xF0000 && cp <= 0x10FFFD);
}

/// Replaces the private-use characters in `text` (UTF-8) using `table` (may be
/// null), delivering unmapped ones per `policy`, and counts both. Text without
/// private-use characters is left untouched at the cost of one scan.
void applyGaiji(std::string& text, const GaijiTable* table, UnmappedGaiji policy, GaijiStats& stats);

}  // namespace renkei::text
