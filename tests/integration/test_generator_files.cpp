// The synthetic resident exports (CSV, fixed-width, XML from the generator)
// read back through the shipped layouts: same records from all three forms,
// and the counts of special characters the generator reports in --stats.
#define BOOST_TEST_MODULE renkei_generator_files
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Parser.h>

#include "formats/reader.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

constexpr int kRows = 3000;

struct Generated {
  test::TempDir dir;
  Poco::JSON::Object::Ptr stats;
  Generated() {
    const std::string gen = test::env("RENKEI_SOURCE_DIR") + "/tests/tools/gen_residents.py";
    auto r = test::run({"/usr/bin/python3", gen, "--rows", std::to_string(kRows), "--seed", "42", "--csv",
                        (dir / "jumin.csv").string(), "--fixed", (dir / "jumin.dat").string(), "--xml",
                        (dir / "jumin.xml").string(), "--stats", (dir / "stats.json").string()});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    Poco::JSON::Parser parser;
    stats = parser.parse(test::readFile(dir / "stats.json")).extract<Poco::JSON::Object::Ptr>();
  }
  int stat(const char* key) const { return stats->getValue<int>(key); }
};

struct ReadResult {
  std::vector<std::vector<std::string>> records;
  formats::ReaderTotals totals;
  std::string problems;
};

ReadResult readAll(const std::string& layoutName, const fs::path& input) {
  Diagnostics diags;
  auto layout = formats::loadLayout(fs::path(test::env("RENKEI_SOURCE_DIR")) / "mappings/layouts" / layoutName, diags);
  BOOST_REQUIRE_MESSAGE(layout, diags.format());
  auto reader = formats::RecordReader::open(*layout, input);
  ReadResult result;
  formats::RawRecord r;
  while (reader->next(r)) {
    if (!r.errors.empty()) result.problems += formats::describeRejected(r) + "\n";
    std::vector<std::string> values;
    for (std::size_t i = 0; i < r.size(); ++i) values.emplace_back(r.value(i));
    result.records.push_back(std::move(values));
  }
  if (reader->error()) result.problems += reader->error()->format();
  result.totals = reader->totals();
  return result;
}

std::size_t countWhere(const ReadResult& r, std::size_t field, const std::function<bool(const std::string&)>& pred) {
  std::size_t n = 0;
  for (const auto& rec : r.records)
    if (pred(rec[field])) ++n;
  return n;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(three_forms_same_records_and_the_generators_counts) {
  Generated g;
  const auto csv = readAll("jumin-csv.xml", g.dir / "jumin.csv");
  const auto fixed = readAll("jumin-fixed.xml", g.dir / "jumin.dat");
  const auto xml = readAll("jumin-xml.xml", g.dir / "jumin.xml");
  for (const auto* r : {&csv, &fixed, &xml}) {
    BOOST_TEST(r->problems.empty(), r->problems);
    BOOST_TEST(r->records.size() == static_cast<std::size_t>(g.stat("rows")));
  }
  BOOST_TEST(csv.records == fixed.records);
  BOOST_TEST(csv.records == xml.records);

  // Field positions in the shipped layouts.
  constexpr std::size_t kName = 3, kKatagaki = 13, kBiko = 31;
  BOOST_TEST(csv.totals.gaijiUnmapped == static_cast<std::uint64_t>(g.stat("gaiji_rows")));
  BOOST_TEST(countWhere(csv, kName, [](const std::string& s) { return contains(s, "髙"); }) ==
             static_cast<std::size_t>(g.stat("ibm_ext_rows")));
  BOOST_TEST(countWhere(csv, kKatagaki, [](const std::string& s) { return contains(s, "㈱") || contains(s, "①"); }) ==
             static_cast<std::size_t>(g.stat("nec13_rows")));
  // 0x8160 is U+FF5E in CP932 (U+301C would be the JIS reading).
  BOOST_TEST(countWhere(csv, kBiko, [](const std::string& s) { return contains(s, "～"); }) ==
             static_cast<std::size_t>(g.stat("wave_dash_rows")));
  BOOST_TEST(countWhere(csv, kBiko, [](const std::string& s) { return contains(s, "〜"); }) == 0u);
  BOOST_TEST(countWhere(csv, kBiko, [](const std::string& s) { return s == "要確認,\"本人申出\""; }) ==
             static_cast<std::size_t>(g.stat("quoted_comma_rows")));
  BOOST_TEST(countWhere(csv, kName, [](const std::string& s) { return s.empty(); }) ==
             static_cast<std::size_t>(g.stat("err_required_name")));
  // Every gaiji row carries one private-use character in 氏名.
  BOOST_TEST(countWhere(csv, kName, [](const std::string& s) { return contains(s, "\xEE") || contains(s, "\xEF\x80"); }) ==
             static_cast<std::size_t>(g.stat("gaiji_rows")));
}

BOOST_AUTO_TEST_CASE(the_copied_generator_is_the_shared_one) {
  const fs::path shared = fs::path(test::env("RENKEI_SOURCE_DIR")) / "../shared/tools/gen_residents.py";
  if (!fs::exists(shared)) {
    BOOST_TEST_MESSAGE("shared/tools/gen_residents.py is not beside this checkout; comparison not possible here");
    return;
  }
  std::string copy = test::readFile(fs::path(test::env("RENKEI_SOURCE_DIR")) / "tests/tools/gen_residents.py");
  // The copy has a three-line note after the first line.
  const auto firstLine = copy.find('\n') + 1;
  std::size_t noteEnd = firstLine;
  for (int i = 0; i < 3; ++i) noteEnd = copy.find('\n', noteEnd) + 1;
  copy.erase(firstLine, noteEnd - firstLine);
  BOOST_TEST(copy == test::readFile(shared), "tests/tools/gen_residents.py differs from shared/tools: copy it again");
}

// Issue 13, item 12: the demo's samples are exactly what make_demo_samples.py
// makes (which asserts the story holds: the same people keep their name,
// birth date and sex; 異動事由 agrees with 住民状態; one householder and one
// 郵便番号 per household), and the fixed-width full extract reads back through
// the jumin-fixed layout as the same records as the CSV.
BOOST_AUTO_TEST_CASE(the_demo_samples_tell_one_story_in_both_formats) {
  const fs::path shipped = fs::path(test::env("RENKEI_SOURCE_DIR")) / "config/samples/jumin";
  test::TempDir dir;
  fs::copy_file(shipped / "JUMIN_20261101_FULL.csv", dir / "JUMIN_20261101_FULL.csv");
  auto r = test::run({"/usr/bin/python3", test::env("RENKEI_SOURCE_DIR") + "/tests/tools/make_demo_samples.py",
                      dir.path().string()});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.out << r.err);
  for (const char* f : {"JUMIN_20261101_FULL.csv", "JUMIN_20261101_FULL.dat", "JUMIN_20261102_DIFF.csv"})
    BOOST_TEST(test::readFile(dir / f) == test::readFile(shipped / f), f << " is not what the script makes");

  const fs::path layouts = fs::path(test::env("RENKEI_SOURCE_DIR")) / "mappings/layouts";
  std::vector<std::string> forms;
  for (const auto& [layout, file] : {std::pair{"jumin-csv.xml", "JUMIN_20261101_FULL.csv"},
                                     std::pair{"jumin-fixed.xml", "JUMIN_20261101_FULL.dat"}}) {
    Diagnostics diags;
    auto l = formats::loadLayout(layouts / layout, diags);
    BOOST_REQUIRE_MESSAGE(l, diags.format());
    BOOST_TEST(diags.warnings().empty(), diags.formatWarnings());
    auto reader = formats::RecordReader::open(*l, shipped / file);
    formats::RawRecord raw;
    std::string out;
    while (reader->next(raw)) formats::appendRecordJson(out, *l, raw);
    BOOST_TEST(!reader->error());
    forms.push_back(out);
  }
  BOOST_TEST(test::countLines(forms[0]) == 400u);
  BOOST_TEST((forms[0] == forms[1]), "the CSV and the fixed-width extract differ");
}
