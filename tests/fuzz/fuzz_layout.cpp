// Fuzz target: the layout loader (schema, field checks) on any bytes.
#include "renkei/support/diagnostics.h"
#include "renkei/support/layout.h"
#include "fuzz_loaders.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = renkei::fuzz::writeInput("layout.xml", data, size);
  renkei::Diagnostics diags;
  auto layout = renkei::formats::loadLayout(file, diags);
  if (!layout && diags.empty()) std::abort();  // a refusal always says why
  return 0;
}
