// Fuzz target: the instance config loader (schema, pipeline, store, api,
// routes) on any bytes; then the checks against an empty plugin registry.
#include "config.h"
#include "fuzz_loaders.h"
#include "plugin_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto file = renkei::fuzz::writeInput("config.xml", data, size);
  renkei::Diagnostics diags;
  auto config = renkei::loadConfig(file, diags);
  if (!config) {
    if (diags.empty()) std::abort();
    return 0;
  }
  static renkei::PluginRegistry registry;  // no plugins: every instance is an unknown plugin
  renkei::checkConfig(*config, registry, diags);
  return 0;
}
