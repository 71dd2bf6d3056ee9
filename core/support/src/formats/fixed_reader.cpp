// Fixed-width records: byte offsets and lengths in the file's encoding.
#include <algorithm>

#include "formats/reader_impl.h"

namespace renkei::formats {
namespace {

// UTF-8 of U+3000 (ideographic space), the full-width padding.
constexpr std::string_view kIdeographicSpace = "\xE3\x80\x80";

class FixedReader final : public BufferReader {
 public:
  FixedReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m)
      : BufferReader(layout, data, std::move(m)) {
    pos_ = skipBom(data_, *layout_.codec);
    switch (layout_.newline) {
      case Newline::Crlf: newline_ = "\r\n"; break;
      case Newline::Lf: newline_ = "\n"; break;
      default: newline_ = ""; break;
    }
    boundary_.resize(layout_.recordBytes + 1);
    // The full-width space in this encoding's bytes, for stripping padding
    // before decoding (padding is most of a typical fixed-width record).
    text::CodecStats stats;
    layout_.codec->encode(kIdeographicSpace, widePad_, stats);
    if (stats.invalid) widePad_.clear();
  }

 protected:
  bool nextRaw(RawItem& item) override {
    const std::size_t n = data_.size();
    if (pos_ >= n || (pos_ + 1 == n && data_[pos_] == '\x1a')) return false;  // 0x1A: DOS end-of-file mark
    const std::size_t need = layout_.recordBytes;
    item.offset = pos_;
    item.line = line_;
    item.error.clear();
    item.slices.clear();
    if (n - pos_ < need) {
      fail(pos_, line_,
           "truncated record " + std::to_string(line_) + ": " + std::to_string(n - pos_) + " bytes left, record-bytes is " +
               std::to_string(need));
      return false;
    }
    if (!newline_.empty() && data_.substr(pos_ + need, newline_.size()) != newline_) {
      // Either the file is cut off, or records are not record-bytes long: in
      // both cases no later record boundary can be trusted.
      const std::size_t at = pos_ + need;
      std::string found = at >= n ? std::string("the end of the file") : "byte 0x" + hex(data_[at]);
      fail(at, line_,
           "record " + std::to_string(line_) + " is not " + std::to_string(need) + " bytes: expected " +
               (newline_ == "\r\n" ? "CRLF" : "LF") + " at byte offset " + std::to_string(at) + ", found " + found);
      return false;
    }
    item.slices.push_back(data_.substr(pos_, need));
    pos_ += need + newline_.size();
    ++line_;
    releaseBefore(item.offset);
    return true;
  }

  void assign(const RawItem& item, const std::vector<LayoutField>& fields, RawRecord& record) override {
    const std::string_view rec = item.slices[0];
    markBoundaries(rec);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const LayoutField& f = fields[i];
      if (!wanted(fields, i)) continue;
      if (!boundary_[f.offset] || !boundary_[f.offset + f.bytes]) {
        const std::size_t at = boundary_[f.offset] ? f.offset + f.bytes : f.offset;
        record.errors.push_back("field '" + f.name + "' (offset " + std::to_string(f.offset) + ", " +
                                std::to_string(f.bytes) + " bytes) splits a double-byte character at byte offset " +
                                std::to_string(item.offset + at));
        continue;
      }
      decodeField(trimPadding(rec, f), item.offset + f.offset, f, record, i);
      stripPadding(record, i, f.pad);
    }
  }

 private:
  static std::string hex(char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(c);
    return {kHex[u >> 4], kHex[u & 0xF]};
  }

  // Marks which byte positions of the record start a character. An invalid
  // byte counts as one character (it is reported when the field is decoded).
  void markBoundaries(std::string_view rec) {
    layout_.codec->markCharStarts(reinterpret_cast<const unsigned char*>(rec.data()), rec.size(), boundary_.data());
  }

  // Trailing padding removed on the raw bytes, only at character
  // boundaries (a 0x81 0x40 pair may be a trail byte and an '@').
  std::string_view trimPadding(std::string_view rec, const LayoutField& f) const {
    std::size_t end = f.offset + f.bytes;
    const std::size_t w = widePad_.size();
    const bool wide = f.pad == Pad::FullwidthSpace && w >= 1 && w <= 3;
    const char* pad = widePad_.data();
    // Byte comparisons inline: padding is most of a record, and a memcmp
    // call per two-byte space cost more than the decoding.
    for (;;) {
      if (end > f.offset && rec[end - 1] == ' ' && boundary_[end - 1]) {
        --end;
      } else if (wide && end >= f.offset + w && boundary_[end - w] && rec[end - w] == pad[0] &&
                 (w < 2 || rec[end - w + 1] == pad[1]) && (w < 3 || rec[end - w + 2] == pad[2])) {
        end -= w;
      } else {
        break;
      }
    }
    return rec.substr(f.offset, end - f.offset);
  }

  // Padding left after decoding (an encoding without a full-width space, or
  // 外字 replaced by spaces) is trimmed on the UTF-8 value too.
  static void stripPadding(RawRecord& record, std::size_t i, Pad pad) {
    auto& [start, len] = record.spans[i];
    const std::size_t before = len;
    const char* s = record.arena.data() + start;
    for (;;) {
      if (len && s[len - 1] == ' ') {
        --len;
      } else if (pad == Pad::FullwidthSpace && len >= 3 && std::string_view(s + len - 3, 3) == kIdeographicSpace) {
        len -= 3;
      } else {
        break;
      }
    }
    if (start + before == record.arena.size()) record.arena.shrinkTo(start + len);
  }

  std::string_view newline_;
  std::string widePad_;
  std::vector<std::uint8_t> boundary_;
};

}  // namespace

std::unique_ptr<RecordReader> makeFixedReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m) {
  return std::make_unique<FixedReader>(layout, data, std::move(m));
}

}  // namespace renkei::formats
