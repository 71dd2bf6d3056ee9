// Shared by the fuzz targets: a layout per format, written once to a
// temporary file and loaded through the normal loader.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "renkei/support/layout.h"
#include "formats/reader.h"

namespace renkei::fuzz {

inline std::shared_ptr<const formats::Layout> layoutFrom(const std::string& formatElement, const std::string& fields) {
  char dir[] = "/tmp/renkei-fuzz-XXXXXX";
  if (!::mkdtemp(dir)) std::abort();
  const std::filesystem::path file = std::filesystem::path(dir) / "layout.xml";
  std::ofstream(file) << "<layout xmlns=\"urn:renkei:layout:1\" id=\"fuzz\" record=\"fuzz\">" << formatElement << fields
                      << "</layout>";
  Diagnostics diags;
  auto layout = formats::loadLayout(file, diags);
  std::filesystem::remove_all(dir);
  if (!layout) {
    std::fprintf(stderr, "fuzz layout does not load:\n%s", diags.format().c_str());
    std::abort();
  }
  return layout;
}

// Reads every record, touching every value, and checks the invariants that
// must hold whatever the input: values are valid UTF-8, errors have text.
inline void readAll(const formats::Layout& layout, const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto reader = formats::RecordReader::fromMemory(layout, input);
  formats::RawRecord record;
  std::size_t checksum = 0;
  while (reader->next(record)) {
    for (const auto& e : record.errors)
      if (e.empty()) std::abort();
    for (std::size_t i = 0; i < record.size(); ++i) {
      const std::string_view v = record.value(i);
      const auto* p = reinterpret_cast<const unsigned char*>(v.data());
      std::size_t k = 0;
      while (k < v.size()) {
        std::uint32_t cp;
        const std::size_t len = text::decodeUtf8(p + k, v.size() - k, cp);
        if (!len) std::abort();  // a reader produced invalid UTF-8
        k += len;
      }
      checksum += v.size();
    }
  }
  if (reader->error() && reader->error()->reason.empty()) std::abort();
  (void)checksum;
}

}  // namespace renkei::fuzz
