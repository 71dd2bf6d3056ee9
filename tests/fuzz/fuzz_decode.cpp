// Fuzz target: every codec decodes any bytes to valid UTF-8, and encodes its
// own output back without crashing.
#include "fuzz_common.h"
#include "renkei/support/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using namespace renkei::text;
  static const auto names = codecNames();
  const Codec& codec = *findCodec(names[data[0] % names.size()]);
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string out;
  CodecStats stats;
  codec.decode(in, out, stats);
  const auto* p = reinterpret_cast<const unsigned char*>(out.data());
  for (std::size_t k = 0; k < out.size();) {
    std::uint32_t cp;
    const std::size_t len = decodeUtf8(p + k, out.size() - k, cp);
    if (!len) __builtin_trap();
    k += len;
  }
  if (stats.invalid && stats.firstInvalidOffset >= in.size()) __builtin_trap();
  std::string back;
  CodecStats encodeStats;
  codec.encode(out, back, encodeStats);
  for (std::size_t k = 0; k < in.size();) {  // charLength never reads past the end
    const std::size_t len = codec.charLength(reinterpret_cast<const unsigned char*>(in.data()) + k, in.size() - k);
    k += len ? len : 1;
  }
  return 0;
}
