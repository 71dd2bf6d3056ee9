// Internal to the readers: the concrete format readers over a byte buffer.
#pragma once

#include <memory>
#include <string_view>

#include "formats/reader.h"
#include "mapped_file.h"

namespace renkei::formats {

/// A reader over a whole file in memory (mapped or given). Releases the pages
/// behind its read position every few megabytes so resident memory stays flat.
class BufferReader : public RecordReader {
 protected:
  BufferReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> mapping)
      : RecordReader(layout), data_(data), mapping_(std::move(mapping)) {}

  std::uint64_t endOffset() const override { return data_.size(); }

  /// Called with the offset of the oldest item still held (lookahead included).
  void releaseBefore(std::size_t offset) {
    if (mapping_ && offset >= releasedUpTo_ + kReleaseStep) {
      mapping_->release(offset);
      releasedUpTo_ = offset;
    }
  }

  std::string_view data_;
  std::size_t pos_ = 0;
  std::uint64_t line_ = 1;

 private:
  static constexpr std::size_t kReleaseStep = 8u << 20;
  std::shared_ptr<MappedFile> mapping_;
  std::size_t releasedUpTo_ = 0;
};

std::unique_ptr<RecordReader> makeCsvReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m);
std::unique_ptr<RecordReader> makeFixedReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m);
std::unique_ptr<RecordReader> makeXmlReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m);
std::unique_ptr<RecordReader> makeJsonlReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m);

inline std::unique_ptr<RecordReader> makeItemReader(const Layout& layout, std::string_view data,
                                                    std::shared_ptr<MappedFile> mapping) {
  switch (layout.kind) {
    case LayoutKind::Csv: return makeCsvReader(layout, data, std::move(mapping));
    case LayoutKind::Fixed: return makeFixedReader(layout, data, std::move(mapping));
    case LayoutKind::Xml: return makeXmlReader(layout, data, std::move(mapping));
    case LayoutKind::Jsonl: return makeJsonlReader(layout, data, std::move(mapping));
  }
  return nullptr;
}

/// Strips the UTF-8 byte order mark, if any; returns how many bytes it had.
inline std::size_t skipBom(std::string_view data, const text::Codec& codec) {
  return codec.name() == "utf-8" && data.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
}

}  // namespace renkei::formats
