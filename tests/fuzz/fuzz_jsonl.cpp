// Fuzz target: the JSON Lines reader on any bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto layout = renkei::fuzz::layoutFrom(
      "<jsonl max-field-bytes=\"128\"/>",
      "<field name=\"a\" pii=\"none\"/><field name=\"b\" pii=\"personal\"/><field name=\"c\" pii=\"none\"/>");
  renkei::fuzz::readAll(*layout, data, size);
  return 0;
}
