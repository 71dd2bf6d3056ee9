// Fuzz target: the bridge's bundle reader on any bytes (refused or read,
// never a crash, bounded), and a real bundle with one byte changed where the
// input says: never read.
#include <cstdint>
#include <string>

#include "bridge_bundle.h"

using namespace renkei;
using namespace renkei::connectors::bridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const seal::SigningKey signer = seal::SigningKey::generate();
  static const seal::PrivateKey key = seal::PrivateKey::generate();
  static const Policy policy = [] {
    Policy p;
    p.zone = "lgwan";
    p.recordTypes = {"application"};
    p.sender = seal::VerifyKey::fromPem(signer.publicPem());
    p.keys = {&key};
    p.limits.maxBytes = 1 << 20;
    return p;
  }();
  if (size < 3) return 0;
  const std::string in(reinterpret_cast<const char*>(data + 3), size - 3);
  if (data[0] % 2 == 0) {
    (void)readBundle(in, policy);
    return 0;
  }
  Manifest m;
  m.bundleId = "b";
  m.sender = "s";
  m.fromZone = "internet";
  m.toZone = "lgwan";
  m.recordType = "application";
  m.fields = {{"a", data[1] % 2 ? "personal" : "none"}};
  const std::string bundle = writeBundle(m, {{in}}, signer, &key.publicKey());
  const Verified ok = readBundle(bundle, policy);
  // What we wrote may be refused for its value (invalid UTF-8, a control
  // character, a size), never for its integrity.
  if (!ok.ok())
    for (const char* integrity : {"signature", "does not open", "SHA-256", "manifest is not"})
      if (ok.refusal->find(integrity) != std::string::npos) __builtin_trap();
  std::string changed = bundle;
  const std::size_t at = data[2] % changed.size();
  changed[at] = static_cast<char>(changed[at] ^ 0x01);
  if (readBundle(changed, policy).ok() && changed != bundle) {
    // Only a CR/LF pair or BOM change may canonicalise to the same bytes.
    if (changed.find('\r') == std::string::npos) __builtin_trap();
  }
  return 0;
}
