// Fuzz target: the CSV reader (header row, quotes, trailer) on any bytes.
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto layout = renkei::fuzz::layoutFrom(
      "<csv encoding=\"windows-31j\" header=\"false\" max-field-bytes=\"64\" max-record-bytes=\"512\"/>",
      "<field name=\"a\" pii=\"none\"/><field name=\"b\" pii=\"personal\"/><field name=\"c\" pii=\"none\"/>"
      "<trailer count-field=\"n\"><field name=\"t\" pii=\"none\"/><field name=\"n\" pii=\"none\"/></trailer>");
  renkei::fuzz::readAll(*layout, data, size);
  return 0;
}
