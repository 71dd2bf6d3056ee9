// The identifier scan measured both ways: the disguises of a 個人番号 and a
// 住民票コード it must find, and the project's own numbers, codes, dates and
// notices it must let through (a year and more of 到達番号 among them); the
// value patterns a mapping declares, and the notice path on every day of
// 2026 and 2027.
#define BOOST_TEST_MODULE renkei_identifier_scan
#include <boost/test/unit_test.hpp>

#include <openssl/rand.h>

#include <cstdio>
#include <random>

#include "renkei/support/diagnostics.h"
#include "formats/reader.h"
#include "mapping/identifier_scan.h"
#include "mapping/mapping.h"
#include "renkei/support/calendar.h"
#include "renkei/support/seal.h"
#include "test_support.h"
#include "renkei/support/check_digits.h"
#include "renkei/support/codec.h"

using namespace renkei;
using mapping::looksLikeIdentifier;
namespace fs = std::filesystem;

namespace {

fs::path root() { return fs::path(test::env("RENKEI_SOURCE_DIR")); }

std::string utf8(char32_t cp) {
  std::string s;
  text::appendUtf8(s, cp);
  return s;
}

/// A valid 個人番号: eleven digits from `rng`, then the check digit.
std::string myNumber(std::mt19937_64& rng) {
  for (;;) {
    std::string body;
    for (int i = 0; i < 11; ++i) body += static_cast<char>('0' + rng() % 10);
    for (char c = '0'; c <= '9'; ++c)
      if (text::isValidMyNumber(body + c)) return body + c;
  }
}

std::string digitsOf(std::mt19937_64& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
  return s;
}

/// `digits` with each digit written in another script (zero at `zero`);
/// with full-width digits, '-' becomes the full-width hyphen-minus.
std::string inScript(const std::string& digits, char32_t zero) {
  std::string out;
  for (char c : digits)
    out += c == '-' ? (zero == 0xFF10 ? std::string("－") : std::string("-")) : utf8(zero + (c - '0'));
  return out;
}

/// `digits` in groups of `sizes`, joined by `sep`.
std::string grouped(const std::string& digits, const std::vector<int>& sizes, const std::string& sep) {
  std::string out;
  std::size_t at = 0;
  for (std::size_t g = 0; g < sizes.size(); ++g) {
    if (g) out += sep;
    out += digits.substr(at, static_cast<std::size_t>(sizes[g]));
    at += static_cast<std::size_t>(sizes[g]);
  }
  return out;
}

/// Every disguise of one number the scan must see through.
std::vector<std::pair<std::string, std::string>> disguises(const std::string& n) {
  const bool twelve = n.size() == 12;
  const std::vector<int> g4 = twelve ? std::vector<int>{4, 4, 4} : std::vector<int>{3, 4, 4};
  const std::vector<int> g3 = twelve ? std::vector<int>{3, 3, 3, 3} : std::vector<int>{2, 3, 3, 3};
  static const char* kKanji[] = {"〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
  std::string kanji;
  for (char c : n) kanji += kKanji[c - '0'];
  std::string zws, shy;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (i) zws += "\u200B", shy += "\u00AD";
    zws += n[i];
    shy += n[i];
  }
  const std::string digest = seal::sha256Hex("a digest beside it");
  return {
      {"plain", n},
      {"in a sentence", "番号は" + n + "です"},
      {"ASCII hyphens", grouped(n, g4, "-")},
      {"full-width digits", inScript(n, 0xFF10)},
      {"full-width digits and hyphens", inScript(grouped(n, g4, "-"), 0xFF10)},
      {"U+2212 minus", grouped(n, g4, "\u2212")},
      {"U+2010 hyphen", grouped(n, g4, "\u2010")},
      {"en dash", grouped(n, g4, "\u2013")},
      {"em dash", grouped(n, g4, "\u2014")},
      {"katakana prolonged sound mark", grouped(n, g4, "ー")},
      {"spaced separators", grouped(n, g4, " - ")},
      {"doubled separators", grouped(n, g4, "--")},
      {"ideographic spaces", grouped(n, g4, "\u3000")},
      {"dots", grouped(n, g4, ".")},
      {"slashes", grouped(n, g4, "/")},
      {"underscores", grouped(n, g4, "_")},
      {"thousands commas", grouped(n, g3, ",")},
      {"full-width thousands commas", grouped(n, g3, "，")},
      {"tabs", grouped(n, g4, "\t")},
      {"zero-width spaces", zws},
      {"soft hyphens", shy},
      {"kanji numerals", kanji},
      {"kanji numerals with hyphens", grouped(kanji, {3 * g4[0], 3 * g4[1], 3 * g4[2]}, "-")},
      {"mathematical bold digits", inScript(n, 0x1D7CE)},
      {"mathematical monospace digits", inScript(n, 0x1D7F6)},
      {"Arabic-Indic digits", inScript(n, 0x0660)},
      {"extended Arabic-Indic digits", inScript(n, 0x06F0)},
      {"Devanagari digits", inScript(n, 0x0966)},
      {"circled digits", [&] {
         std::string s;
         for (char c : n) s += c == '0' ? utf8(0x24EA) : utf8(0x2460 + (c - '1'));
         return s;
       }()},
      {"after 64 hex digits", digest + n},
      {"before 64 hex digits", n + digest},
      {"after 32 hex digits", digest.substr(0, 32) + n},
      {"after a digest and a space", digest + " " + n},
      {"between letters", "ab" + n + "cd"},
      {"after No.", "No." + n},
      {"in brackets", "[" + n + "]"},
      {"in JSON", "{\"x\":\"" + n + "\"}"},
      // (a 住民票コード has one digit too few for a UUID's last group)
      {"as a UUID's last group", "3c71d069-81a2-4dbf-a11d-" + (twelve ? n : "x" + n)},
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_disguise_of_a_my_number_and_a_resident_code_is_found) {
  std::mt19937_64 rng(20261206);
  std::size_t tried = 0, missed = 0;
  std::map<std::string, int> missedBy;
  for (int i = 0; i < 200; ++i) {
    for (const std::string& n : {myNumber(rng), digitsOf(rng, 11)}) {
      for (const auto& [name, text] : disguises(n)) {
        ++tried;
        if (!looksLikeIdentifier(text)) {
          ++missed;
          ++missedBy[name + (n.size() == 12 ? " (個人番号)" : " (住民票コード)")];
        }
      }
    }
  }
  for (const auto& [name, count] : missedBy) BOOST_TEST_MESSAGE("missed: " + name + " x" + std::to_string(count));
  BOOST_TEST_MESSAGE("identifier scan, disguises: " + std::to_string(tried) + " tried, " + std::to_string(missed) +
                     " missed (false negatives)");
  BOOST_TEST(missed == 0u);
}

BOOST_AUTO_TEST_CASE(an_identifier_is_a_standalone_run_not_any_twelve_inside_a_longer_one) {
  BOOST_TEST(looksLikeIdentifier("123456789018"));
  BOOST_TEST(!looksLikeIdentifier("123456789010"));     // check digit wrong
  BOOST_TEST(looksLikeIdentifier("12345678901"));       // 住民票コード-shaped
  BOOST_TEST(!looksLikeIdentifier("1123456789018"));    // 13 digits: no 12 inside counts
  BOOST_TEST(!looksLikeIdentifier("1234567890185"));
  BOOST_TEST(!looksLikeIdentifier("R20261207-000123"));  // a 到達番号: 14 digits in one run
  BOOST_TEST(!looksLikeIdentifier("1234-5678-9018-2026"));
  BOOST_TEST(!looksLikeIdentifier("1234567890"));        // 10 digits: a phone number
  // a code's digits glued to its letters do not hide the number after it
  BOOST_TEST(looksLikeIdentifier("D003 123456789018"));
  BOOST_TEST(looksLikeIdentifier("整理番号A12-123456789018"));
  BOOST_TEST(!looksLikeIdentifier("D003 1234"));
  // a list is not a number: a comma joins only three digits after it
  BOOST_TEST(!looksLikeIdentifier("131016,011002"));
  BOOST_TEST(!looksLikeIdentifier("131016, 011002"));
  BOOST_TEST(looksLikeIdentifier("123,456,789,018"));
  // more than three separators in a row end a run
  BOOST_TEST(!looksLikeIdentifier("123456    789018"));
  BOOST_TEST(looksLikeIdentifier("123456 - 789018"));
  // a 12-digit identifier stays one in a list of them
  BOOST_TEST(looksLikeIdentifier("R20261207-000123, 123456789018"));
  // positional kanji numbers are not digit runs
  BOOST_TEST(!looksLikeIdentifier("二千二十六年十二月七日"));
  BOOST_TEST(!looksLikeIdentifier("令和8年12月7日 10時30分"));
}

BOOST_AUTO_TEST_CASE(digests_are_stepped_over_and_digits_glued_to_them_are_not) {
  int flagged = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string h = seal::sha256Hex("household-" + std::to_string(i));
    if (looksLikeIdentifier(h) || looksLikeIdentifier(h.substr(0, 32)) || looksLikeIdentifier(h.substr(0, 40)))
      ++flagged;
  }
  BOOST_TEST(flagged == 0);
  const std::string digest = seal::sha256Hex("x");
  BOOST_TEST(looksLikeIdentifier(digest + " 12345678901"));
  BOOST_TEST(looksLikeIdentifier("番号 123456789018 / " + digest));
  BOOST_TEST(looksLikeIdentifier(digest + "12345678901"));
  BOOST_TEST(looksLikeIdentifier("12345678901" + digest));
  BOOST_TEST(looksLikeIdentifier("ab12345678901cd"));  // a short hex token is not a digest
  // Many digests with digits glued to them, side by side (hostile input):
  // each split is read once, not scanned again inside (nested sub-scans
  // once made this exponential). 4,000 tokens, one of them an identifier.
  std::string many;
  for (int i = 0; i < 4000; ++i) many += seal::sha256Hex("g" + std::to_string(i)).substr(0, 32) + "1234567 z ";
  BOOST_TEST(!looksLikeIdentifier(many));
  BOOST_TEST(looksLikeIdentifier(many + digest + "123456789018"));
}

BOOST_AUTO_TEST_CASE(the_projects_own_numbers_codes_and_dates_pass) {
  std::size_t tried = 0;
  std::vector<std::string> stopped;
  std::map<std::string, std::size_t> stoppedBy;
  auto probe = [&](const std::string& kind, const std::string& v) {
    ++tried;
    if (!looksLikeIdentifier(v)) return;
    ++stoppedBy[kind];
    if (stopped.size() < 20) stopped.push_back(kind + ": " + v);
  };
  // 到達番号 for every day of 2025–2028, the first 3,000 of each day and
  // numbers past a million (seven digits).
  for (std::int64_t days = calendar::toDays({2025, 1, 1}); days <= calendar::toDays({2028, 12, 31}); ++days) {
    const std::string day = calendar::iso(calendar::fromDays(days));
    const std::string compact = day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2);
    char seq[16];
    for (int n = 1; n <= 3000; ++n) {
      std::snprintf(seq, sizeof seq, "%06d", n);
      probe("到達番号", "R" + compact + "-" + seq);
    }
    for (int n : {999999, 1000000, 1234567}) {
      std::snprintf(seq, sizeof seq, "%06d", n);
      probe("到達番号", "R" + compact + "-" + seq);
    }
    probe("date", day);
    probe("date", compact);
    probe("date", day.substr(0, 4) + "/" + day.substr(5, 2) + "/" + day.substr(8, 2));
    probe("timestamp", day + "T09:30:00+09:00");
    probe("timestamp", day + " 09:30:00");
    probe("epoch ms", std::to_string(static_cast<long long>(days) * 86'400'000LL + 34'200'000LL));
    probe("epoch s", std::to_string(static_cast<long long>(days) * 86'400LL));
  }
  // 問合せ番号: XXXX-XXXX-XXXX from an alphabet of digits and letters.
  static const char kAlphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    std::string q;
    for (int k = 0; k < 12; ++k) {
      if (k == 4 || k == 8) q += '-';
      q += kAlphabet[rng() % 31];
    }
    probe("問合せ番号", q);
  }
  // ids the bridge and the token make: digests and UUID-shaped texts
  for (int i = 0; i < 20000; ++i) {
    const std::string h = seal::sha256Hex("bundle-" + std::to_string(i));
    probe("bundle id", h.substr(0, 32));
    probe("uuid", h.substr(0, 8) + "-" + h.substr(8, 4) + "-4" + h.substr(13, 3) + "-a" + h.substr(17, 3) + "-" +
                      h.substr(20, 12));
  }
  // 地方公共団体コード, postal codes, city phone numbers, ticket numbers
  for (int i = 0; i < 100000; ++i) {
    probe("lg-code", digitsOf(rng, 6));
    probe("lg-codes", digitsOf(rng, 6) + "," + digitsOf(rng, 6));
    probe("postal code", digitsOf(rng, 3) + "-" + digitsOf(rng, 4));
    probe("phone", "0" + digitsOf(rng, 1) + "-" + digitsOf(rng, 4) + "-" + digitsOf(rng, 4));
    probe("phone", "0" + digitsOf(rng, 3) + "-" + digitsOf(rng, 2) + "-" + digitsOf(rng, 4));
    probe("ticket", "A-" + digitsOf(rng, 3));
    probe("corporate number", digitsOf(rng, 13));
  }
  // every line of the shipped code tables and guidance files
  for (const fs::path& dir : {root() / "mappings/codes", root() / "config/concierge", root() / "config/review"})
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string body = test::readFile(entry.path());
      std::size_t at = 0;
      while (at < body.size()) {
        std::size_t nl = body.find('\n', at);
        if (nl == std::string::npos) nl = body.size();
        probe(entry.path().filename().string(), body.substr(at, nl - at));
        at = nl + 1;
      }
    }
  for (const auto& s : stopped) BOOST_TEST_MESSAGE("stopped: " + s);
  std::size_t total = 0;
  for (const auto& [kind, n] : stoppedBy) total += n;
  BOOST_TEST_MESSAGE("identifier scan, the project's own formats: " + std::to_string(tried) + " values, " +
                     std::to_string(total) + " stopped (false positives)");
  // A UUID whose last group is twelve digits with a valid check digit (about
  // 1 in 3,000) cannot be told from a 個人番号 written there: it is stopped.
  BOOST_TEST(stoppedBy["uuid"] <= 20u);
  stoppedBy.erase("uuid");
  BOOST_TEST(stoppedBy.empty());
}

BOOST_AUTO_TEST_CASE(value_patterns_match_whole_values_and_are_proved_or_not) {
  std::string error;
  auto arrival = mapping::ValuePattern::compile("R[0-9]{8}-[0-9]{6,9}", error);
  BOOST_REQUIRE_MESSAGE(arrival, error);
  BOOST_TEST(arrival->matches("R20261207-000123"));
  BOOST_TEST(!arrival->matches("R20261207-000123x"));
  BOOST_TEST(!arrival->matches("R2026120-000123"));
  BOOST_TEST(!arrival->matches("123456789018"));
  BOOST_TEST(!arrival->canHoldIdentifier().has_value());
  for (const char* holds : {"[0-9]{12}", "[0-9]{4}-[0-9]{4}-[0-9]{4}", "[A-Z0-9]{20}", "\\d+", "[0-9]{11}",
                            "R[0-9 ]{8,14}", "[0-9]{6},[0-9]{6}", "[0-9]{6}[ー][0-9]{6}"}) {
    auto p = mapping::ValuePattern::compile(holds, error);
    BOOST_REQUIRE_MESSAGE(p, holds << ": " << error);
    BOOST_TEST(p->canHoldIdentifier().has_value(), holds);
  }
  for (const char* cannot : {"[0-9]{4}-[0-9]{2}-[0-9]{2}", "[A-Z]{2}[0-9]{3}", "[0-9]{3}-[0-9]{4}", "[a-z-]+",
                             "R[0-9]{8}-[0-9]{6}", "[0-9]{13,20}"}) {
    auto p = mapping::ValuePattern::compile(cannot, error);
    BOOST_REQUIRE_MESSAGE(p, cannot << ": " << error);
    BOOST_TEST(!p->canHoldIdentifier().has_value(), cannot << ": " << p->canHoldIdentifier().value_or(""));
  }
  for (const char* bad : {"(a|b)", "a.b", "[^0-9]", "[0-9", "{3}", "[0-9]{5,2}", "[0-9]{100000}", ""}) {
    BOOST_TEST(!mapping::ValuePattern::compile(bad, error), bad);
    BOOST_TEST(error.find("pattern") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_pattern_that_can_hold_an_identifier_keeps_the_scan_and_check_says_so) {
  test::TempDir tmp;
  test::writeFile(tmp / "layout.xml", R"(<layout xmlns="urn:renkei:layout:1" id="l" record="r">
  <jsonl/><field name="a" pii="none"/><field name="b" pii="none"/>
</layout>)");
  test::writeFile(tmp / "mapping.xml", R"(<mapping xmlns="urn:renkei:mapping:1" id="m" version="1">
  <source layout="layout.xml"/>
  <target record="t" zone="internet"/>
  <field to="a" from="a" pattern="[0-9]{4}-[0-9]{4}-[0-9]{4}"/>
  <field to="b" from="b" pattern="R[0-9]{8}-[0-9]{6}" required="true"/>
</mapping>)");
  Diagnostics diags;
  auto m = mapping::loadMapping(tmp / "mapping.xml", {}, diags);
  BOOST_REQUIRE_MESSAGE(m, diags.format());
  BOOST_TEST(diags.formatWarnings().find("mapping.xml:4: warning: field 'a': pattern=") != std::string::npos,
             diags.formatWarnings());
  BOOST_TEST(diags.formatWarnings().find("field 'b'") == std::string::npos);
  BOOST_TEST(!m->fields[0].patternExempt);
  BOOST_TEST(m->fields[1].patternExempt);
  // a value outside its pattern is refused whatever the scan would say
  test::writeFile(tmp / "in.jsonl",
                  "{\"a\":\"1234-5678-9018\",\"b\":\"R20261207-000123\"}\n{\"a\":\"1\",\"b\":\"X1\"}\n");
  auto reader = formats::RecordReader::open(*m->layout, tmp / "in.jsonl");
  mapping::Mapper mapper(*m);
  formats::RawRecord raw;
  mapping::MappedRecord out;
  BOOST_REQUIRE(reader->next(raw));
  mapper.map(raw, out);
  BOOST_TEST(joinList(out.reasons, "; ") == "pii-scan:a");
  BOOST_REQUIRE(reader->next(raw));
  mapper.map(raw, out);
  BOOST_TEST(joinList(out.reasons, "; ") == "pattern:b");
  BOOST_TEST(out.warnings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(the_notice_path_passes_on_every_day_of_2026_and_2027) {
  // The review module's notice as it makes it, through the shipped mapping
  // to the internet zone, then the bridge's scan of every value: the first
  // 200 numbers of each day and every number whose digits hold a valid
  // 個人番号 check digit among the first 2,000.
  Diagnostics diags;
  auto m = mapping::loadMapping(root() / "mappings/review-notice-to-internet.xml", {}, diags);
  BOOST_REQUIRE_MESSAGE(m, diags.format());
  BOOST_TEST(diags.warnings().empty(), diags.formatWarnings());
  test::TempDir tmp;
  std::string input;
  std::size_t notices = 0;
  for (std::int64_t days = calendar::toDays({2026, 1, 1}); days <= calendar::toDays({2027, 12, 31}); ++days) {
    const std::string day = calendar::iso(calendar::fromDays(days));
    const std::string compact = day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2);
    for (int n = 1; n <= 2000; ++n) {
      char seq[16];
      std::snprintf(seq, sizeof seq, "%06d", n);
      const std::string digits = compact + seq;
      const bool hard = text::isValidMyNumber(digits.substr(0, 12)) || text::isValidMyNumber(digits.substr(1, 12)) ||
                        text::isValidMyNumber(digits.substr(2, 12));
      if (n > 200 && !hard) continue;
      input += "{\"arrival_no\":\"R" + compact + "-" + seq + "\",\"procedure\":\"tennyu\",\"template\":\"accepted\","
               "\"deadline\":\"" + day + "\",\"at\":\"" + day + "\"}\n";
      ++notices;
    }
  }
  test::writeFile(tmp / "notices.jsonl", input);
  auto reader = formats::RecordReader::open(*m->layout, tmp / "notices.jsonl");
  mapping::Mapper mapper(*m);
  formats::RawRecord raw;
  mapping::MappedRecord out;
  std::size_t accepted = 0, bridgeStopped = 0;
  while (reader->next(raw)) {
    mapper.map(raw, out);
    if (out.verdict != mapping::Verdict::Accepted) {
      BOOST_TEST(false, "record " << raw.number << ": " << joinList(out.reasons, "; "));
      continue;
    }
    ++accepted;
    for (const auto& v : out.values)
      if (looksLikeIdentifier(v)) ++bridgeStopped;
  }
  BOOST_TEST_MESSAGE("notice path, 2026-01-01..2027-12-31: " + std::to_string(notices) + " notices, " +
                     std::to_string(accepted) + " accepted, " + std::to_string(bridgeStopped) +
                     " values the bridge would stop");
  BOOST_TEST(accepted == notices);
  BOOST_TEST(bridgeStopped == 0u);
}
