// Generated codec tables (see core/tools/gen_codec_tables.py).
#pragma once

#include <cstddef>
#include <cstdint>

namespace renkei::text {

struct CodecTableEntry {
  std::uint32_t bytes;   ///< the byte sequence, big-endian packed (0x8140, 0x8fa2af)
  const char* utf8;      ///< the characters it decodes to
  std::uint8_t secondary;  ///< 1: a duplicate the encoder uses only as a last resort
};

struct CodecTable {
  const char* name;
  const CodecTableEntry* entries;
  std::size_t count;
};

extern const CodecTable kCodecTables[];
extern const std::size_t kCodecTableCount;

}  // namespace renkei::text
