// Golden cases for layouts and readers: tests/cases/formats/<name>/ holds
// layout.xml, an input.* file, and what must come out:
//   expected.jsonl              the accepted records, exactly as `renkei read` writes them
//   expected-errors.txt         lines that must each appear among the rejected-record
//                               and file-error messages; "substituted: N", "gaiji mapped: N"
//                               and "gaiji unmapped: N" check the totals. Without this
//                               file, no record may be rejected and the file must be clean.
//   expected-layout-errors.txt  the layout must fail to load with these messages
//   expected-layout-warnings.txt the layout loads with these warnings; without
//                               this file it must load without any
// A new case is new files only.
#define BOOST_TEST_MODULE renkei_format_cases
#include <boost/test/unit_test.hpp>


#include "formats/reader.h"
#include "golden.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> caseDirs() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(fs::path(test::env("RENKEI_SOURCE_DIR")) / "tests/cases/formats"))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

void runCase(const fs::path& dir) {
  Diagnostics diags;
  auto layout = formats::loadLayout(dir / "layout.xml", diags);
  if (fs::exists(dir / "expected-layout-errors.txt")) {
    BOOST_TEST(!layout, "the layout loaded, but problems were expected");
    test::expectEachLineIn(diags.format(), dir / "expected-layout-errors.txt");
    return;
  }
  BOOST_REQUIRE_MESSAGE(layout, "layout problems:\n" << diags.format());
  if (fs::exists(dir / "expected-layout-warnings.txt"))
    test::expectEachLineIn(diags.formatWarnings(), dir / "expected-layout-warnings.txt");
  else
    BOOST_TEST(diags.warnings().empty(), "unexpected layout warnings:\n" << diags.formatWarnings());
  const fs::path input = test::caseInput(dir);
  BOOST_REQUIRE_MESSAGE(!input.empty(), "no input.* file");
  const std::string data = test::readFile(input);
  auto reader = formats::RecordReader::fromMemory(*layout, data);
  formats::RawRecord record;
  std::string out, problems;
  while (reader->next(record)) {
    if (record.errors.empty()) formats::appendRecordJson(out, *layout, record);
    else problems += formats::describeRejected(record) + "\n";
  }
  if (reader->error()) problems += "file error: " + reader->error()->format() + "\n";
  if (fs::exists(dir / "expected.jsonl")) BOOST_TEST(out == test::readFile(dir / "expected.jsonl"));

  const auto& t = reader->totals();
  if (!fs::exists(dir / "expected-errors.txt")) {
    BOOST_TEST(problems.empty(), "unexpected problems:\n" << problems);
    return;
  }
  for (const auto& want : test::expectationLines(test::readFile(dir / "expected-errors.txt"))) {
    auto count = [&](const char* prefix, std::uint64_t actual) {
      if (want.rfind(prefix, 0) != 0) return false;
      BOOST_TEST(actual == std::stoull(want.substr(std::string(prefix).size())), want);
      return true;
    };
    if (count("substituted: ", t.substituted) || count("gaiji mapped: ", t.gaijiMapped) ||
        count("gaiji unmapped: ", t.gaijiUnmapped))
      continue;
    BOOST_TEST(problems.find(want) != std::string::npos, "expected '" << want << "' in:\n" << problems);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(golden_cases) {
  const auto dirs = caseDirs();
  BOOST_TEST(dirs.size() >= 30u);
  for (const auto& dir : dirs) {
    BOOST_TEST_CONTEXT("case " << dir.filename().string()) { runCase(dir); }
  }
  BOOST_TEST_MESSAGE(dirs.size() << " format cases");
}

// Memory must not depend on what the reader has already passed: the same
// reader object reads many records with the same buffers.
BOOST_AUTO_TEST_CASE(record_buffers_are_reused) {
  const fs::path dir = fs::path(test::env("RENKEI_SOURCE_DIR")) / "tests/cases/formats/csv-cp932-basic";
  Diagnostics diags;
  auto layout = formats::loadLayout(dir / "layout.xml", diags);
  BOOST_REQUIRE(layout);
  const std::string sample = test::readFile(dir / "input.csv");
  std::string data = sample.substr(0, sample.find('\n') + 1);  // the CP932 header row
  for (int i = 0; i < 1000; ++i) data += "\"" + std::to_string(i) + "\",\"a\",\"b\"\r\n";
  auto reader = formats::RecordReader::fromMemory(*layout, data);
  formats::RawRecord record;
  std::size_t n = 0;
  while (reader->next(record)) ++n;
  BOOST_TEST(n == 1000u);
  BOOST_TEST(reader->totals().records == 1000u);
}

BOOST_AUTO_TEST_CASE(shipped_layouts_and_gaiji_tables_load_clean) {
  const fs::path root(test::env("RENKEI_SOURCE_DIR"));
  std::size_t layouts = 0;
  for (const auto& e : fs::directory_iterator(root / "mappings/layouts")) {
    if (e.path().extension() != ".xml") continue;
    Diagnostics diags;
    BOOST_TEST(formats::loadLayout(e.path(), diags) != nullptr, e.path().filename().string() << ":\n" << diags.format());
    ++layouts;
  }
  BOOST_TEST(layouts >= 3u);
  for (const auto& e : fs::directory_iterator(root / "config/gaiji")) {
    Diagnostics diags;
    auto table = text::GaijiTable::load(e.path(), *text::findCodec("windows-31j"), diags);
    BOOST_TEST(diags.empty(), diags.format());
    BOOST_TEST((table && table->size() > 0u));
  }
}
