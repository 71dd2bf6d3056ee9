// Fuzz target: the mapping compiler (transforms, codes, checks, zones) on any
// bytes, against a fixed layout beside it (people.xml).
#include "renkei/support/diagnostics.h"
#include "fuzz_loaders.h"
#include "mapping/mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = renkei::fuzz::writeInput("mapping.xml", data, size);
  renkei::Diagnostics diags;
  renkei::mapping::KeyRing keys;
  auto mapping = renkei::mapping::loadMapping(file, keys, diags);
  if (!mapping && diags.empty()) std::abort();
  return 0;
}
