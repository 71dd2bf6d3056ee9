// Fuzz target: the identifier scan on any bytes, and a value pattern
// compiled from the first line and matched against the rest.
#include <cstdlib>
#include <string>

#include "mapping/identifier_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)renkei::mapping::looksLikeIdentifier(text);
  const std::size_t nl = text.find('\n');
  if (nl == std::string::npos) return 0;
  std::string error;
  auto pattern = renkei::mapping::ValuePattern::compile(text.substr(0, nl), error);
  if (!pattern && error.empty()) std::abort();
  if (pattern) {
    (void)pattern->matches(std::string_view(text).substr(nl + 1));
    (void)pattern->canHoldIdentifier();
  }
  return 0;
}
