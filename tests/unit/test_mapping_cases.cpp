// Golden cases for mappings: tests/cases/mapping/<name>/ holds
//   mapping.xml            the mapping (or mapping.path: a shipped mapping, relative to the checkout)
//   input.*                the source file
//   key.txt                (optional) the key for pseudonym(k)
//   expected.jsonl         the accepted records, exactly as `renkei map` writes them
//   expected-rejects.txt   "record N: reason; reason" per rejected record, exactly
//   expected-summary.txt   lines "skipped: N", "warnings: N", "accepted: N", "rejected: N"
//   expected-warnings.jsonl the warnings file's lines (accepted records' warnings: record, field, kind)
//   expected-errors.txt    the mapping must not compile; each line must appear in the problems
// Folders starting with '_' hold shared layouts. RENKEI_TODAY is 2026-11-22
// for every case (age-band). A new case is new files only.
#define BOOST_TEST_MODULE renkei_mapping_cases
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <random>

#include "formats/reader.h"
#include "mapping/mapping.h"
#include "renkei/support/seal.h"
#include "golden.h"
#include "renkei/support/check_digits.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path root() { return fs::path(test::env("RENKEI_SOURCE_DIR")); }

struct Run {
  std::string accepted, rejects, warningLines;
  std::uint64_t read = 0, acceptedCount = 0, rejectedCount = 0, skipped = 0, warnings = 0;
};

Run runMapping(const mapping::Mapping& m, const fs::path& input) {
  Run run;
  auto reader = formats::RecordReader::open(*m.layout, input);
  reader->setFieldMask(m.sourceFieldsRead());  // as renkei map and the routes read
  const formats::JsonLinesWriter writer(m.targetNames());
  mapping::Mapper mapper(m);
  formats::RawRecord raw;
  mapping::MappedRecord mapped;
  formats::ByteArena buffer;
  while (reader->next(raw)) {
    ++run.read;
    mapper.map(raw, mapped);
    if (mapped.verdict == mapping::Verdict::Accepted && !mapped.warnings.empty()) {
      run.warnings += mapped.warnings.size();  // as MapRun counts them
      mapping::appendWarningLine(run.warningLines, raw, mapped.warnings);
    }
    if (mapped.verdict == mapping::Verdict::Skipped) {
      ++run.skipped;
    } else if (mapped.verdict == mapping::Verdict::Rejected) {
      ++run.rejectedCount;
      run.rejects += "record " + std::to_string(raw.number) + ": " + joinList(mapped.reasons, "; ") + "\n";
    } else {
      ++run.acceptedCount;
      writer.append(buffer, mapped.values);
    }
  }
  if (reader->error()) BOOST_ERROR("file error: " << reader->error()->format());
  run.accepted.assign(buffer.data(), buffer.size());
  return run;
}

void runCase(const fs::path& dir) {
  mapping::KeyRing keys;
  if (fs::exists(dir / "key.txt")) keys["k"] = keys["household"] = test::readFile(dir / "key.txt");
  fs::path mappingFile = dir / "mapping.xml";
  if (fs::exists(dir / "mapping.path")) mappingFile = root() / test::expectationLines(test::readFile(dir / "mapping.path")).at(0);
  Diagnostics diags;
  auto m = mapping::loadMapping(mappingFile, keys, diags);
  if (fs::exists(dir / "expected-errors.txt")) {
    BOOST_TEST(!m, "the mapping compiled, but problems were expected");
    test::expectEachLineIn(diags.format(), dir / "expected-errors.txt");
    return;
  }
  BOOST_REQUIRE_MESSAGE(m, "mapping problems:\n" << diags.format());
  const Run run = runMapping(*m, test::caseInput(dir));
  if (fs::exists(dir / "expected.jsonl")) BOOST_TEST(run.accepted == test::readFile(dir / "expected.jsonl"));
  BOOST_TEST(run.rejects == (fs::exists(dir / "expected-rejects.txt") ? test::readFile(dir / "expected-rejects.txt") : ""));
  if (fs::exists(dir / "expected-warnings.jsonl"))
    BOOST_TEST(run.warningLines == test::readFile(dir / "expected-warnings.jsonl"));
  if (fs::exists(dir / "expected-summary.txt")) {
    for (const auto& l : test::expectationLines(test::readFile(dir / "expected-summary.txt"))) {
      const auto colon = l.find(": ");
      const std::string key = l.substr(0, colon);
      const std::uint64_t want = std::stoull(l.substr(colon + 2));
      const std::uint64_t got = key == "skipped" ? run.skipped : key == "warnings" ? run.warnings
                              : key == "accepted" ? run.acceptedCount : key == "rejected" ? run.rejectedCount : ~0ull;
      BOOST_TEST(got == want, l << " (got " << got << ")");
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(golden_cases) {
  ::setenv("RENKEI_TODAY", "2026-11-22", 1);
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root() / "tests/cases/mapping"))
    if (e.is_directory() && e.path().filename().string()[0] != '_') dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  BOOST_TEST(dirs.size() >= 30u);
  for (const auto& dir : dirs) {
    BOOST_TEST_CONTEXT("case " << dir.filename().string()) { runCase(dir); }
  }
  BOOST_TEST_MESSAGE(dirs.size() << " mapping cases");
}

// Property: whatever the resident records hold, the internet-zone mapping
// never delivers a valid 個人番号, a name, an address or a birth date.
BOOST_AUTO_TEST_CASE(internet_mapping_never_delivers_personal_data) {
  ::setenv("RENKEI_TODAY", "2026-11-22", 1);
  test::TempDir tmp;
  std::mt19937 rng(20261122);
  auto digits = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + rng() % 10));
    return s;
  };
  auto validMyNumber = [&]() {
    for (;;) {
      std::string s = digits(12);
      if (text::isValidMyNumber(s)) return s;
    }
  };
  // Hostile values: identifiers and names placed in every field, including
  // the ones the mapping passes through.
  const std::vector<std::string> poison = {"山田　太郎", "東京都千代田区千代田１番", "1980-03-01", "3550301"};
  std::string csv;
  const char* header =
      "\"住民票コード\",\"個人番号\",\"世帯番号\",\"氏名\",\"氏名カナ\",\"氏名カナ半角\",\"旧氏\",\"生年月日\",\"性別\","
      "\"続柄\",\"世帯主氏名\",\"郵便番号\",\"住所\",\"方書\",\"本籍\",\"筆頭者\",\"住民となった日\",\"住定日\",\"異動事由\","
      "\"異動日\",\"届出日\",\"住民種別\",\"住民状態\",\"電話番号\",\"行政区コード\",\"選挙区コード\",\"学区コード\","
      "\"国保区分\",\"年金区分\",\"介護区分\",\"児童手当区分\",\"備考\",\"更新者ID\",\"更新日時\",\"削除フラグ\"\r\n";
  std::vector<std::string> names, mynumbers;
  for (int r = 0; r < 2000; ++r) {
    std::vector<std::string> f(35);
    for (auto& v : f) {
      switch (rng() % 6) {
        case 0: v = validMyNumber(); break;
        case 1: v = digits(11); break;
        case 2: v = poison[rng() % poison.size()]; break;
        case 3: v = digits(1 + rng() % 3); break;
        default: v = "";
      }
    }
    f[7] = std::to_string(3 + rng() % 3) + "0" + std::to_string(1 + rng() % 9) + "0" + std::to_string(1 + rng() % 9) + "1" +
           std::to_string(rng() % 9);  // a plausible GYYMMDD
    f[2] = digits(10);
    f[34] = "0";
    mynumbers.push_back(f[1]);
    for (std::size_t i = 0; i < f.size(); ++i) csv += (i ? ",\"" : "\"") + f[i] + "\"";
    csv += "\r\n";
  }
  // The layout is CP932; every character above is in CP932.
  std::string bytes;
  text::CodecStats stats;
  text::findCodec("windows-31j")->encode(std::string(header) + csv, bytes, stats);
  BOOST_REQUIRE(stats.invalid == 0u);
  test::writeFile(tmp / "in.csv", bytes);

  mapping::KeyRing keys{{"household", "a test key, not a secret, 32 bytes"}};
  Diagnostics diags;
  auto m = mapping::loadMapping(root() / "mappings/resident-to-concierge.xml", keys, diags);
  BOOST_REQUIRE_MESSAGE(m, diags.format());
  const Run run = runMapping(*m, tmp / "in.csv");
  BOOST_TEST(run.acceptedCount > 100u);
  for (const auto& line : test::expectationLines(run.accepted)) {
    // Everything after the household pseudonym (64 hex digits) is free of
    // identifier-shaped numbers, names, addresses and dates.
    const std::string rest = line.substr(line.find("\"age_band\""));
    BOOST_TEST(!mapping::looksLikeIdentifier(rest), line);
    for (const auto& p : poison) BOOST_TEST(line.find(p) == std::string::npos, line);
  }
  // No accepted record carries any of the My Numbers that were in the input.
  for (const auto& n : mynumbers)
    if (!n.empty() && n.size() == 12) BOOST_TEST(run.accepted.find(n) == std::string::npos);
}

