// Applicant matching by 4 情報 (issue 16, in part): each item's verdict and
// the normalisation that made it equal; a different item is never matched.
#define BOOST_TEST_MODULE renkei_applicant_match
#include <boost/test/unit_test.hpp>

#include "applicant_match.h"
#include "test_support.h"

using namespace renkei;

namespace {

std::map<std::string, std::string> shippedVariants() {
  std::map<std::string, std::string> v;
  const auto problems =
      plugins::review::loadVariants(test::readFile(std::filesystem::path(test::env("RENKEI_SOURCE_DIR")) / "config/review/kanji-variants.tsv"), v);
  BOOST_REQUIRE(problems.empty());
  return v;
}

std::string verdicts(const plugins::review::MatchResult& m) {
  std::string out;
  for (const auto& r : m.items)
    out += r.item + "=" + plugins::review::verdictName(r.verdict) + (r.normalisation.empty() ? "" : "(" + r.normalisation + ")") + " ";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(notations_people_use_match_item_by_item) {
  const auto v = shippedVariants();
  const plugins::review::FourItems record{"髙橋　悠真", "1991-07-02", "1", "架空県見本市中央一丁目1番1号"};
  const plugins::review::FourItems typed{"高橋 悠真", "1991-07-02", "男", "架空県見本市中央1-1-1"};
  const auto m = plugins::review::match(typed, record, v);
  BOOST_TEST(m.matched(), verdicts(m));
  BOOST_TEST(verdicts(m) ==
             "name=same-after-normalising(spaces, width, variants) birth=same sex=same address=same-after-normalising(address notation) ");
  BOOST_TEST(plugins::review::normaliseAddress("架空県見本市中央二十三丁目4番地5", v) == "架空県見本市中央23-4-5");
  BOOST_TEST(plugins::review::normaliseAddress("架空県見本市中央１－２－３", v) == "架空県見本市中央1-2-3");
  BOOST_TEST(plugins::review::normaliseName("ﾀｶﾊｼ　ﾕｳﾏ", v) == plugins::review::normaliseName("タカハシ ユウマ", v));
}

BOOST_AUTO_TEST_CASE(a_different_item_is_never_matched) {
  const auto v = shippedVariants();
  const plugins::review::FourItems record{"高橋　悠真", "1991-07-02", "1", "架空県見本市中央1-1-1"};
  for (const plugins::review::FourItems& other : {plugins::review::FourItems{"高橋　悠馬", "1991-07-02", "1", "架空県見本市中央1-1-1"},
                                         plugins::review::FourItems{"高橋　悠真", "1991-07-03", "1", "架空県見本市中央1-1-1"},
                                         plugins::review::FourItems{"高橋　悠真", "1991-07-02", "2", "架空県見本市中央1-1-1"},
                                         plugins::review::FourItems{"高橋　悠真", "1991-07-02", "1", "架空県見本市中央1-1-11"},
                                         plugins::review::FourItems{"", "1991-07-02", "1", "架空県見本市中央1-1-1"}}) {
    const auto m = plugins::review::match(other, record, v);
    BOOST_TEST(!m.matched(), verdicts(m));
  }
  const auto missing = plugins::review::match({"", "1991-07-02", "1", "x"}, record, v);
  BOOST_TEST(std::string(plugins::review::verdictName(missing.items[0].verdict)) == "missing");
}

BOOST_AUTO_TEST_CASE(a_variants_table_names_its_bad_lines) {
  std::map<std::string, std::string> v;
  const auto problems = plugins::review::loadVariants("# comment\n髙\t高\nbad line\n邉\t辺辺\n", v);
  BOOST_TEST(problems.size() == 2u);
  BOOST_TEST(problems[0] == "line 3: not 'old<TAB>new', one character each");
  BOOST_TEST(v.size() == 1u);
}
