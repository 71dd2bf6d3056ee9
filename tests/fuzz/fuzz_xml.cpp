// Fuzz target: the XML reader (renkei's decoder feeding libxml2's reader, no
// DTDs, no entities) on any bytes.
#include <libxml/parser.h>

#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto layout = renkei::fuzz::layoutFrom(
      "<xml encoding=\"windows-31j\" record-element=\"r\" max-depth=\"8\" max-field-bytes=\"256\"/>",
      "<field name=\"a\" pii=\"none\"/><field name=\"b\" path=\"@b\" pii=\"personal\"/><field name=\"c\" pii=\"none\"/>");
  renkei::fuzz::readAll(*layout, data, size);
  return 0;
}
