// Codecs against independent implementations, over every single- and
// double-byte sequence (and every EUC-JP three-byte sequence): ICU and glibc
// iconv decode each sequence strictly, and renkei must agree — same text, or
// both refuse — except where the implementations themselves disagree, which
// is listed here with the reason.
#define BOOST_TEST_MODULE renkei_codecs
#include <boost/test/unit_test.hpp>

#include <iconv.h>
#include <unicode/ucnv.h>

#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "renkei/support/codec.h"

using namespace renkei::text;

namespace {

using Decoder = std::function<std::optional<std::string>(const std::string&)>;

// glibc iconv, strict: nullopt when any input cannot be converted.
std::optional<std::string> iconvConvert(const char* to, const char* from, const std::string& in) {
  iconv_t cd = iconv_open(to, from);
  BOOST_REQUIRE(cd != reinterpret_cast<iconv_t>(-1));
  std::string out(in.size() * 8 + 8, '\0');
  char* inp = const_cast<char*>(in.data());
  size_t inLeft = in.size();
  char* outp = out.data();
  size_t outLeft = out.size();
  const size_t r = iconv(cd, &inp, &inLeft, &outp, &outLeft);
  iconv_close(cd);
  if (r == static_cast<size_t>(-1) || inLeft) return std::nullopt;
  out.resize(out.size() - outLeft);
  return out;
}

Decoder iconvDecoder(const char* name) {
  return [name](const std::string& in) { return iconvConvert("UTF-8", name, in); };
}

Decoder icuDecoder(const char* name) {
  return [name](const std::string& in) -> std::optional<std::string> {
    UErrorCode status = U_ZERO_ERROR;
    UConverter* cnv = ucnv_open(name, &status);
    BOOST_REQUIRE(U_SUCCESS(status));
    ucnv_setToUCallBack(cnv, UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
    UChar buf[64];
    const int32_t n = ucnv_toUChars(cnv, buf, 64, in.data(), static_cast<int32_t>(in.size()), &status);
    ucnv_close(cnv);
    if (U_FAILURE(status)) return std::nullopt;
    std::string out;
    for (int32_t i = 0; i < n; ++i) {
      std::uint32_t cp = buf[i];
      if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < n) cp = 0x10000 + ((cp - 0xD800) << 10) + (buf[++i] - 0xDC00);
      appendUtf8(out, cp);
    }
    return out;
  };
}

std::optional<std::string> renkeiDecode(const Codec& codec, const std::string& in) {
  std::string out;
  CodecStats stats;
  codec.decode(in, out, stats);
  if (stats.invalid) return std::nullopt;
  return out;
}

std::string hex(const std::string& s) {
  std::ostringstream o;
  for (unsigned char c : s) o << std::hex << (c < 16 ? "0" : "") << static_cast<int>(c);
  return o.str();
}

std::string show(const std::optional<std::string>& s) { return s ? "U8:" + hex(*s) : "invalid"; }

// Every sequence to compare: all single bytes, all byte pairs with a high
// first byte, and (for EUC-JP) all 0x8F triples.
std::vector<std::string> sequences(bool triples) {
  std::vector<std::string> out;
  for (int a = 0; a < 256; ++a) out.push_back(std::string(1, static_cast<char>(a)));
  for (int a = 0x80; a < 256; ++a)
    for (int b = 0; b < 256; ++b) out.push_back({static_cast<char>(a), static_cast<char>(b)});
  if (triples)
    for (int b = 0xA1; b < 0xFF; ++b)
      for (int c = 0xA1; c < 0xFF; ++c) out.push_back({'\x8F', static_cast<char>(b), static_cast<char>(c)});
  return out;
}

struct Comparison {
  std::size_t compared = 0;
  std::size_t agreed = 0;
  std::map<std::string, std::size_t> allowed;  // reason -> count
  std::vector<std::string> failures;
};

// `allow(seq, mine, theirs)` returns a reason when a difference is expected.
Comparison compare(const Codec& codec, const Decoder& reference, bool triples,
                   const std::function<std::string(const std::string&, const std::optional<std::string>&,
                                                   const std::optional<std::string>&)>& allow) {
  Comparison c;
  for (const std::string& seq : sequences(triples)) {
    const auto mine = renkeiDecode(codec, seq);
    const auto theirs = reference(seq);
    ++c.compared;
    if (mine == theirs) {
      ++c.agreed;
      continue;
    }
    const std::string reason = allow(seq, mine, theirs);
    if (!reason.empty()) ++c.allowed[reason];
    else if (c.failures.size() < 20) c.failures.push_back(hex(seq) + ": renkei " + show(mine) + ", reference " + show(theirs));
    else if (c.failures.size() == 20) c.failures.push_back("…");
  }
  return c;
}

void report(const char* what, const Comparison& c) {
  std::ostringstream o;
  o << what << ": " << c.compared << " sequences, " << c.agreed << " identical";
  for (const auto& [reason, n] : c.allowed) o << "; " << n << " expected differences (" << reason << ")";
  BOOST_TEST_MESSAGE(o.str());
  BOOST_TEST(c.failures.empty(), what << " disagrees:\n" << [&] {
    std::string all;
    for (const auto& f : c.failures) all += "  " + f + "\n";
    return all;
  }());
  BOOST_TEST(c.agreed > c.compared / 2);
}

// ICU's IBM-943 tables permute three controls (0x1A → U+001C, 0x1C → U+007F,
// 0x7F → U+001A); Windows and every vendor file mean the bytes themselves.
std::optional<std::string> undoIbmControls(const std::optional<std::string>& s) {
  if (!s) return s;
  std::string out = *s;
  for (char& ch : out) {
    if (ch == '\x1C') ch = '\x1A';
    else if (ch == '\x7F') ch = '\x1C';
    else if (ch == '\x1A') ch = '\x7F';
  }
  return out;
}

bool isSingle(const std::string& seq, std::initializer_list<int> bytes) {
  if (seq.empty()) return false;
  for (int b : bytes)
    if (static_cast<unsigned char>(seq[0]) == b) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(windows_31j_against_icu) {
  const Codec& codec = *findCodec("windows-31j");
  auto c = compare(codec, icuDecoder("windows-31j"), false,
                   [](const std::string& seq, const auto& mine, const auto& theirs) -> std::string {
                     // ICU's IBM table maps 0x80, 0xA0, 0xFD-0xFF to C1/Latin-1/©™…;
                     // Windows leaves them undefined: renkei refuses them.
                     if (!mine && theirs && isSingle(seq, {0x80, 0xA0, 0xFD, 0xFE, 0xFF}))
                       return "0x80/0xA0/0xFD-0xFF refused";
                     if (mine == undoIbmControls(theirs)) return "ICU's IBM control-code permutation of 0x1A/0x1C/0x7F";
                     return {};
                   });
  report("windows-31j vs ICU", c);
}

BOOST_AUTO_TEST_CASE(windows_31j_against_iconv) {
  const Codec& codec = *findCodec("windows-31j");
  auto c = compare(codec, iconvDecoder("CP932"), false,
                   [](const std::string& seq, const auto& mine, const auto& theirs) -> std::string {
                     if (!mine && theirs && isSingle(seq, {0x80, 0xA0, 0xFD, 0xFE, 0xFF}))
                       return "0x80/0xA0/0xFD-0xFF refused";
                     return {};
                   });
  report("windows-31j vs iconv CP932", c);
}

BOOST_AUTO_TEST_CASE(shift_jis_against_iconv) {
  auto c = compare(*findCodec("shift_jis"), iconvDecoder("SHIFT_JIS"), false,
                   [](const std::string&, const auto&, const auto&) -> std::string { return {}; });
  report("shift_jis vs iconv SHIFT_JIS", c);
}

BOOST_AUTO_TEST_CASE(euc_jp_against_iconv) {
  auto c = compare(*findCodec("euc-jp"), iconvDecoder("EUC-JP"), true,
                   [](const std::string& seq, const auto& mine, const auto& theirs) -> std::string {
                     // glibc passes C1 control bytes through as U+0080–U+009F; no
                     // Japanese vendor file means them, so renkei refuses them.
                     const auto first = static_cast<unsigned char>(seq[0]);
                     if (!mine && theirs && first >= 0x80 && first <= 0xA0 && first != 0x8E && first != 0x8F)
                       return "C1 control bytes refused";
                     return {};
                   });
  report("euc-jp vs iconv EUC-JP", c);
}

BOOST_AUTO_TEST_CASE(shift_jisx0213_against_iconv) {
  auto c = compare(*findCodec("shift_jisx0213"), iconvDecoder("SHIFT_JISX0213"), false,
                   [](const std::string& seq, const auto& mine, const auto& theirs) -> std::string {
                     // Five characters with two accepted mappings: glibc takes the
                     // full-width forms and EM DASH; renkei follows the x0213.org
                     // table (REVERSE SOLIDUS, TILDE, white parentheses) and, for
                     // 0x815C, U+2015 like its CP932 and Shift_JIS codecs.
                     static const std::map<std::string, std::string> kVariants = {
                         {"\x81\x5C", "\u2015"}, {"\x81\x5F", "\\"}, {"\x81\xB0", "~"},
                         {"\x81\xD4", "\u2985"}, {"\x81\xD5", "\u2986"}};
                     auto it = kVariants.find(seq);
                     if (it != kVariants.end() && mine == it->second && theirs) return "x0213.org variants of 5 characters";
                     return {};
                   });
  report("shift_jisx0213 vs iconv SHIFT_JISX0213", c);
}

namespace {

std::optional<std::string> iconvEncode(const char* name, const std::string& utf8) {
  return iconvConvert(name, "UTF-8", utf8);
}

// Every character the codec decodes must encode back to bytes that decode to
// the same character; where the bytes differ, the sequence was a duplicate
// and the encoder chose the preferred one.
void roundTrip(const char* name, const char* iconvName) {
  const Codec& codec = *findCodec(name);
  std::size_t chars = 0, sameBytes = 0, preferred = 0, iconvAgrees = 0, iconvCompared = 0;
  std::vector<std::string> failures;
  for (const std::string& seq : sequences(std::string(name) == "euc-jp")) {
    const auto text = renkeiDecode(codec, seq);
    std::uint32_t cp;
    if (!text || text->empty() || decodeUtf8(reinterpret_cast<const unsigned char*>(text->data()), text->size(), cp) == 0)
      continue;
    if (seq.size() > 1 && codec.charLength(reinterpret_cast<const unsigned char*>(seq.data()), seq.size()) != seq.size())
      continue;  // two single-byte characters, covered by the single-byte rows
    ++chars;
    std::string back;
    CodecStats stats;
    codec.encode(*text, back, stats);
    if (stats.invalid) {
      if (failures.size() < 20) failures.push_back(hex(seq) + " does not encode back");
      continue;
    }
    if (back == seq) ++sameBytes;
    else if (renkeiDecode(codec, back) == text) ++preferred;
    else if (failures.size() < 20) failures.push_back(hex(seq) + " encodes to " + hex(back) + ", another character");
    if (auto ref = iconvEncode(iconvName, *text)) {
      ++iconvCompared;
      if (*ref == back) ++iconvAgrees;
    }
  }
  BOOST_TEST_MESSAGE(name << ": " << chars << " characters; " << sameBytes << " round-trip to the same bytes, "
                          << preferred << " duplicates encode to the preferred bytes; iconv " << iconvName
                          << " encodes " << iconvAgrees << " of " << iconvCompared << " identically");
  BOOST_TEST(failures.empty(), [&] {
    std::string all;
    for (const auto& f : failures) all += "  " + f + "\n";
    return all;
  }());
  BOOST_TEST(chars > 6000u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trips) {
  roundTrip("windows-31j", "CP932");
  roundTrip("shift_jis", "SHIFT_JIS");
  roundTrip("euc-jp", "EUC-JP");
  roundTrip("shift_jisx0213", "SHIFT_JISX0213");
}

BOOST_AUTO_TEST_CASE(cp932_encoder_writes_what_windows_writes) {
  const Codec& codec = *findCodec("windows-31j");
  auto enc = [&](const char* utf8) {
    std::string out;
    CodecStats stats;
    codec.encode(utf8, out, stats);
    return hex(out);
  };
  BOOST_TEST(enc("\u2252") == "81e0");  // ≒: JIS X 0208 before NEC row 13 (0x8790)
  BOOST_TEST(enc("\u2235") == "81e6");  // ∵: not 0x879a or 0xfa5b
  BOOST_TEST(enc("\uffe2") == "81ca");  // ￢: not 0xeef9 or 0xfa54
  BOOST_TEST(enc("\u2160") == "8754");  // Ⅰ: NEC row 13 before IBM 0xfa4a
  BOOST_TEST(enc("\u2170") == "fa40");  // ⅰ: IBM extension, never NEC-selected 0xeeef
  BOOST_TEST(enc("\u9ad9") == "fbfc");  // 髙: IBM extension, never 0xeee0
  BOOST_TEST(enc("\ue000") == "f040");  // first 外字
  BOOST_TEST(enc("\ue757") == "f9fc");  // last 外字
  BOOST_TEST(enc("\u301c") == "81ac");  // 〜 (JIS form) is not in CP932: 〓 (0x81ac), counted
  CodecStats stats;
  std::string out;
  codec.encode("a\u301cb", out, stats);
  BOOST_TEST(stats.invalid == 1u);
  BOOST_TEST(stats.firstInvalidOffset == 1u);
}

BOOST_AUTO_TEST_CASE(decoding_reports_offsets_and_resynchronises) {
  const Codec& codec = *findCodec("windows-31j");
  std::string out;
  CodecStats stats;
  // 0x81 followed by ',' (not a trail byte): the lead is bad, the comma survives.
  codec.decode("ab\x81,cd\xa0", out, stats, 100);
  BOOST_TEST(out == "ab\u3013,cd\u3013");
  BOOST_TEST(stats.invalid == 2u);
  BOOST_TEST(stats.firstInvalidOffset == 102u);
  BOOST_TEST(stats.firstInvalidBytes() == "812c");
  // A lead byte at the very end is incomplete.
  out.clear();
  CodecStats end;
  codec.decode("x\x95", out, end);
  BOOST_TEST(end.invalid == 1u);
  // 0x5C trail bytes (表 = 0x95 0x5C) are part of the character, not a backslash.
  out.clear();
  CodecStats ok;
  codec.decode("\x95\x5c\x94\x5c", out, ok);
  BOOST_TEST(out == "表能");
  BOOST_TEST(ok.invalid == 0u);
}

BOOST_AUTO_TEST_CASE(utf8_codec_validates) {
  const Codec& codec = *findCodec("utf-8");
  std::string out;
  CodecStats stats;
  codec.decode("ok\xc0\x80\xe4\xbd\x8f", out, stats);
  BOOST_TEST(out == "ok\u3013\u3013住");
  BOOST_TEST(stats.invalid == 2u);
  BOOST_TEST(!findCodec("Shift_JIS"));  // names are exact
  BOOST_TEST(!findCodec("cp932"));
}

// The table decoders take ASCII a word at a time, and a run of 2 to 7 bytes
// to the end of a value in two overlapping loads: every length up to 24,
// with a double-byte character and with an invalid byte at each place, and
// all ASCII, decodes as the characters one by one would.
BOOST_AUTO_TEST_CASE(ascii_runs_and_short_tails_decode_as_single_characters) {
  const std::string filler = "2026-03-31ABCabc0123456789";
  int mismatches = 0;
  for (const char* name : {"windows-31j", "euc-jp"}) {
    const Codec& codec = *findCodec(name);
    const std::string kan = std::string(name) == "euc-jp" ? "\xB4\xC1" : "\x8A\xBF";  // 漢
    for (std::size_t n = 0; n <= 24; ++n) {
      const std::string ascii = filler.substr(0, n);
      if (renkeiDecode(codec, ascii) != ascii) ++mismatches;
      for (std::size_t at = 0; at <= n; ++at) {
        const std::string in = ascii.substr(0, at) + kan + ascii.substr(at);
        if (renkeiDecode(codec, in) != ascii.substr(0, at) + "漢" + ascii.substr(at)) ++mismatches;
        // A lone 0xFF is invalid in both: one 〓, the ASCII around it kept.
        std::string out;
        CodecStats stats;
        codec.decode(ascii.substr(0, at) + "\xFF" + ascii.substr(at), out, stats);
        if (out != ascii.substr(0, at) + "〓" + ascii.substr(at) || stats.invalid != 1) ++mismatches;
      }
    }
  }
  BOOST_TEST(mismatches == 0);
}
