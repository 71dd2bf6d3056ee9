// Shared by the loader fuzz targets: the input written to a file of a
// fresh folder (the loaders read files, and resolve paths beside them).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace renkei::fuzz {

/// A folder for the run, with the shared people layout beside the input.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    char tmpl[] = "/tmp/renkei-fuzz-loader-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    const std::filesystem::path d(tmpl);
    std::ofstream(d / "people.xml")
        << "<layout xmlns=\"urn:renkei:layout:1\" id=\"people\" record=\"p\"><csv encoding=\"utf-8\"/>"
           "<field name=\"id\" pii=\"identifier\"/><field name=\"name\" pii=\"personal\"/>"
           "<field name=\"code\" pii=\"none\"/></layout>";
    return d;
  }();
  return dir;
}

inline std::filesystem::path writeInput(const char* name, const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path file = scratch() / name;
  std::ofstream(file, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                               static_cast<std::streamsize>(size));
  return file;
}

}  // namespace renkei::fuzz
