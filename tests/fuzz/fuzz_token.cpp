// Fuzz target: the sealed visit token's parser, Base45 and the seal. Mode 0
// opens the input as scanned text; mode 1 makes a token of the input, changes
// one character where the input says, and opens it: never a crash, an
// unchanged token opens to the same payload, a changed one never does.
#include <cstdint>
#include <string>

#include "renkei/support/token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace renkei;
  if (size < 3) return 0;
  static const seal::PrivateKey key = seal::PrivateKey::generate();
  static const std::vector<seal::PrivateKey> keys{key};
  const std::int64_t now = 1'800'000'000;
  const std::string in(reinterpret_cast<const char*>(data + 3), size - 3);
  if (data[0] % 2 == 0) {
    (void)token::inspect(in);
    (void)token::open(in, keys, now);
    if (auto bytes = seal::base45Decode(in); bytes && seal::base45Encode(*bytes) != in) __builtin_trap();
    return 0;
  }
  const std::string text = token::make(key.publicKey(), in, now + 600);
  const auto plain = token::open(text, keys, now);
  if (!plain.ok() || plain.payload != in) __builtin_trap();
  std::string changed = text;
  const std::size_t at = (static_cast<std::size_t>(data[1]) << 8 | data[2]) % changed.size();
  changed[at] = changed[at] == '0' ? '1' : '0';
  const auto opened = token::open(changed, keys, now);
  if (opened.ok() && changed != text) __builtin_trap();
  return 0;
}
