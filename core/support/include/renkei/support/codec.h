// Codecs for the encodings vendor files come in, by exact name: utf-8,
// windows-31j (CP932), shift_jis (JIS-style), euc-jp, shift_jisx0213.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace renkei::text {

/// U+3013 GETA MARK (〓), the substitute for bytes that decode to nothing and
/// for characters an encoding cannot hold.
inline constexpr std::string_view kGeta = "\xE3\x80\x93";

/// What happened while decoding or encoding one piece of text.
struct CodecStats {
  std::uint64_t invalid = 0;                  ///< substituted sequences
  std::size_t firstInvalidOffset = SIZE_MAX;  ///< byte offset of the first one
  std::uint64_t privateUse = 0;               ///< private-use characters produced (外字 candidates)
  char firstInvalidHex[8] = {};               ///< its bytes as hex, never a decoded value

  /// The first invalid sequence's bytes as hex ("8f5c").
  std::string firstInvalidBytes() const { return firstInvalidHex; }
  void noteInvalid(std::size_t offset, const unsigned char* p, std::size_t n);
};

/// A table-driven codec. Instances are immutable after construction and
/// shared; all methods are thread-safe.
class Codec {
 public:
  virtual ~Codec() = default;
  const std::string& name() const { return name_; }

  /// Room decodeInto needs for `n` input bytes (the worst case: a JIS X 0213
  /// pair is 8 bytes of UTF-8 for 2 bytes in; 〓 is 3 for 1).
  static constexpr std::size_t decodeBound(std::size_t n) { return n * 4 + 16; }

  /// Writes the UTF-8 text of `in` at `out` (room: decodeBound(in.size()))
  /// and returns the end. An invalid or incomplete sequence becomes 〓 and is
  /// counted in `stats` at `baseOffset` + its position; decoding always goes on.
  virtual char* decodeInto(std::string_view in, char* out, CodecStats& stats, std::size_t baseOffset = 0) const = 0;

  /// decodeInto, appending to a string.
  void decode(std::string_view in, std::string& out, CodecStats& stats, std::size_t baseOffset = 0) const {
    const std::size_t start = out.size();
    out.resize(start + decodeBound(in.size()));
    char* end = decodeInto(in, out.data() + start, stats, baseOffset);
    out.resize(static_cast<std::size_t>(end - out.data()));
  }

  /// Bytes of the character that starts at `p` (1 to 4), or 0 when the bytes
  /// there are not a complete valid character. `avail` bytes are readable.
  virtual std::size_t charLength(const unsigned char* p, std::size_t avail) const = 0;

  /// Sets marks[i] = 1 for every i in [0, n] where a character starts (and
  /// at n), 0 elsewhere, reading `p` once; invalid bytes count as characters
  /// of their own length guess (decoding reports them). For fixed-width
  /// records, whose field boundaries must not split a character.
  virtual void markCharStarts(const unsigned char* p, std::size_t n, std::uint8_t* marks) const = 0;

  /// Appends `utf8` encoded in this encoding. A character the encoding cannot
  /// hold becomes 〓 if the encoding has it (else '?') and is counted; the
  /// offset is the byte offset in `utf8`.
  virtual void encode(std::string_view utf8, std::string& out, CodecStats& stats) const = 0;

  /// True when byte `b` always stands for the ASCII character `b` and never
  /// occurs inside a multi-byte character, so a delimiter can be found on the
  /// raw bytes. (Shift_JIS trail bytes reach down to 0x40: '|' or '\\' are
  /// not safe there; ',', '"', TAB, CR, LF are safe everywhere.)
  virtual bool byteStandsAlone(unsigned char b) const = 0;

 protected:
  explicit Codec(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

/// The codec of that exact name, or nullptr.
const Codec* findCodec(std::string_view name);

/// The codec name for `name` or an alias people use, any case: cp932,
/// ms932, windows_31j → windows-31j; sjis, shift-jis, Shift_JIS → shift_jis;
/// utf8 → utf-8; eucjp, euc_jp → euc-jp. Unknown names come back as given.
std::string canonicalCodecName(std::string_view name);

/// The supported names, for messages.
std::vector<std::string> codecNames();

/// Decodes one UTF-8 sequence at `p` (avail bytes); returns its length and
/// sets `cp`, or 0 when invalid (overlong, surrogate, > U+10FFFF, truncated).
std::size_t decodeUtf8(const unsigned char* p, std::size_t avail, std::uint32_t& cp);

/// The code point at s[i] and its length; a byte that does not begin valid
/// UTF-8 counts as one character, U+FFFD (for readers of text that may be
/// anything: the mapping's transforms, the identifier scan).
inline std::size_t decodeUtf8At(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const std::size_t len = decodeUtf8(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i, cp);
  if (!len) {
    cp = 0xFFFD;
    return 1;
  }
  return len;
}

/// Appends code point `cp` as UTF-8.
void appendUtf8(std::string& out, std::uint32_t cp);

}  // namespace renkei::text
