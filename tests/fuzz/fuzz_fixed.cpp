// Fuzz target: the fixed-width reader (boundaries, padding, trailer) on any bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto layout = renkei::fuzz::layoutFrom(
      "<fixed encoding=\"windows-31j\" record-bytes=\"12\" newline=\"crlf\"/>",
      "<field name=\"a\" offset=\"0\" bytes=\"3\" pii=\"none\"/>"
      "<field name=\"b\" offset=\"3\" bytes=\"7\" pad=\"fullwidth-space\" pii=\"personal\"/>"
      "<field name=\"c\" offset=\"10\" bytes=\"2\" pii=\"none\"/>"
      "<trailer count-field=\"n\" marker-field=\"t\" marker-value=\"9\">"
      "<field name=\"t\" offset=\"0\" bytes=\"1\" pii=\"none\"/><field name=\"n\" offset=\"1\" bytes=\"4\" pii=\"none\"/>"
      "</trailer>");
  renkei::fuzz::readAll(*layout, data, size);
  return 0;
}
