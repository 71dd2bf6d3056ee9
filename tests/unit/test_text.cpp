// Eras, check digits, normalisers and 外字 tables: every boundary and every
// example in domain.md, valid and invalid.
#define BOOST_TEST_MODULE renkei_text
#include <boost/test/unit_test.hpp>

#include "test_support.h"
#include "renkei/support/check_digits.h"
#include "renkei/support/era.h"
#include "renkei/support/gaiji.h"
#include "renkei/support/normalize.h"

using namespace renkei;
using namespace renkei::text;

namespace {
std::string iso(std::string_view s, EraFormat f, const EraOptions& o = {}) { return eraToIso(s, f, o).value_or("invalid"); }
std::string era(std::string_view s, EraFormat f, const EraOptions& o = {}) { return isoToEra(s, f, o).value_or("invalid"); }
}  // namespace

BOOST_AUTO_TEST_CASE(era_boundaries_kanji) {
  const auto K = EraFormat::Kanji;
  BOOST_TEST(iso("昭和64年1月7日", K) == "1989-01-07");
  BOOST_TEST(iso("昭和64年1月8日", K) == "invalid");
  BOOST_TEST(iso("平成元年1月8日", K) == "1989-01-08");
  BOOST_TEST(iso("平成元年1月7日", K) == "invalid");
  BOOST_TEST(iso("平成31年4月30日", K) == "2019-04-30");
  BOOST_TEST(iso("平成31年5月1日", K) == "invalid");
  BOOST_TEST(iso("令和元年5月1日", K) == "2019-05-01");
  BOOST_TEST(iso("令和元年4月30日", K) == "invalid");
  BOOST_TEST(iso("令和6年3月31日", K) == "2024-03-31");
  BOOST_TEST(iso("令和０６年０３月３１日", K) == "2024-03-31");  // full-width digits
  BOOST_TEST(iso("大正元年7月30日", K) == "1912-07-30");
  BOOST_TEST(iso("明治45年7月30日", K) == "invalid");  // that day is 大正元年
  BOOST_TEST(iso("明治45年7月29日", K) == "1912-07-29");
  BOOST_TEST(iso("昭和元年12月25日", K) == "1926-12-25");
  BOOST_TEST(iso("昭和元年12月24日", K) == "invalid");
  BOOST_TEST(iso("大正15年12月24日", K) == "1926-12-24");
  BOOST_TEST(iso("大正15年12月25日", K) == "invalid");
  BOOST_TEST(iso("令和6年2月30日", K) == "invalid");
  BOOST_TEST(iso("令和6年2月29日", K) == "2024-02-29");
  BOOST_TEST(iso("令和0年5月1日", K) == "invalid");
  BOOST_TEST(iso("令和6年3月31日 ", K) == "invalid");
}

BOOST_AUTO_TEST_CASE(era_numeric_formats) {
  const auto G = EraFormat::Gyymmdd;
  BOOST_TEST(iso("3550301", G) == "1980-03-01");
  BOOST_TEST(iso("4191230", G) == "2007-12-30");
  BOOST_TEST(iso("5060331", G) == "2024-03-31");
  BOOST_TEST(iso("3640107", G) == "1989-01-07");
  BOOST_TEST(iso("3640108", G) == "invalid");
  BOOST_TEST(iso("4010108", G) == "1989-01-08");
  BOOST_TEST(iso("4310430", G) == "2019-04-30");
  BOOST_TEST(iso("4310501", G) == "invalid");
  BOOST_TEST(iso("5010501", G) == "2019-05-01");
  BOOST_TEST(iso("9550301", G) == "invalid");  // no era 9
  BOOST_TEST(iso("355030", G) == "invalid");
  BOOST_TEST(iso("35503O1", G) == "invalid");
  BOOST_TEST(iso("05060331", EraFormat::Ggyymmdd) == "2024-03-31");
  BOOST_TEST(iso("R06.03.31", EraFormat::JisX0301) == "2024-03-31");
  BOOST_TEST(iso("H31.05.01", EraFormat::JisX0301) == "invalid");
  BOOST_TEST(iso("S64.01.07", EraFormat::JisX0301) == "1989-01-07");
}

BOOST_AUTO_TEST_CASE(meiji_and_lunisolar_dates) {
  const auto G = EraFormat::Gyymmdd;
  BOOST_TEST(iso("1060101", G) == "1873-01-01");
  BOOST_TEST(iso("1051231", G) == "invalid");  // lunisolar: not converted arithmetically
  EraOptions lunisolar;
  lunisolar.allowLunisolar = true;
  BOOST_TEST(iso("1010125", G, lunisolar) == "1868-01-25");
  BOOST_TEST(iso("1010124", G, lunisolar) == "invalid");
  EraOptions october = lunisolar;
  october.meijiStartMonth = 10;
  october.meijiStartDay = 23;
  BOOST_TEST(iso("1010125", G, october) == "invalid");
  BOOST_TEST(iso("1011023", G, october) == "1868-10-23");
}

BOOST_AUTO_TEST_CASE(iso_to_era) {
  BOOST_TEST(era("2019-05-01", EraFormat::Kanji) == "令和元年5月1日");
  BOOST_TEST(era("2019-04-30", EraFormat::Kanji) == "平成31年4月30日");
  BOOST_TEST(era("1989-01-07", EraFormat::Gyymmdd) == "3640107");
  BOOST_TEST(era("1989-01-08", EraFormat::Gyymmdd) == "4010108");
  BOOST_TEST(era("2024-03-31", EraFormat::JisX0301) == "R06.03.31");
  BOOST_TEST(era("2024-03-31", EraFormat::Ggyymmdd) == "05060331");
  BOOST_TEST(era("1926-12-25", EraFormat::Kanji) == "昭和元年12月25日");
  BOOST_TEST(era("2024-02-30", EraFormat::Kanji) == "invalid");
  BOOST_TEST(era("1872-12-31", EraFormat::Kanji) == "invalid");
  // Every day from 1873 to 2030 converts to each format and back.
  std::size_t days = 0;
  for (int y = 1873; y <= 2030; ++y)
    for (int m = 1; m <= 12; ++m)
      for (int d = 1; d <= 31; ++d) {
        if (!isRealDate(y, m, d)) continue;
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
        for (auto f : {EraFormat::Gyymmdd, EraFormat::Ggyymmdd, EraFormat::JisX0301, EraFormat::Kanji}) {
          auto e = isoToEra(buf, f);
          BOOST_REQUIRE_MESSAGE(e, buf);
          BOOST_REQUIRE_EQUAL(eraToIso(*e, f).value_or("?"), buf);
        }
        ++days;
      }
  BOOST_TEST(days > 57000u);
}

BOOST_AUTO_TEST_CASE(gregorian_patterns) {
  BOOST_TEST(gregorianToIso("20240331", "yyyymmdd").value_or("") == "2024-03-31");
  BOOST_TEST(gregorianToIso("2024/03/31", "yyyy/mm/dd").value_or("") == "2024-03-31");
  BOOST_TEST(gregorianToIso("2024-02-30", "yyyy-mm-dd").has_value() == false);
  BOOST_TEST(gregorianToIso("2024/3/31", "yyyy/mm/dd").has_value() == false);
  BOOST_TEST(gregorianToIso("20240331", "ddmmyyyy").has_value() == false);
}

BOOST_AUTO_TEST_CASE(check_digits_from_domain_md) {
  for (const char* ok : {"123456789018", "621498320257", "983205673214", "454972364860", "507957100721"})
    BOOST_TEST(isValidMyNumber(ok), ok);
  for (const char* bad : {"123456789010", "983205673210", "12345678901", "12345678901a", ""})
    BOOST_TEST(!isValidMyNumber(bad), bad);
  BOOST_TEST(isValidMyNumber("000000000000"));  // a valid checksum is not existence

  for (const char* ok : {"7123456789012", "5835678256246", "4011001098993"}) BOOST_TEST(isValidCorporateNumber(ok), ok);
  for (const char* bad : {"2835678256246", "1234567890123", "123456789012"}) BOOST_TEST(!isValidCorporateNumber(bad), bad);

  for (const char* ok : {"131016", "011002", "130001", "473821"}) BOOST_TEST(isValidLgCode(ok), ok);
  for (const char* bad : {"131015", "999999", "13101"}) BOOST_TEST(!isValidLgCode(bad), bad);

  BOOST_TEST(isValidResidenceCardNumber("AB12345678CD"));
  for (const char* bad : {"ab12345678CD", "AB1234567XCD", "AB12345678C", "1B12345678CD"})
    BOOST_TEST(!isValidResidenceCardNumber(bad), bad);

  // 住民票コード: the generator's codes use the assumed formula; unconfirmed.
  BOOST_TEST(!isValidJuminhyoCode("1234567890"));
  BOOST_TEST(isValidJuminhyoCode("00000000000"));
}

BOOST_AUTO_TEST_CASE(width_and_kana) {
  BOOST_TEST(toFullwidth("AB 12!") == "ＡＢ　１２！");
  BOOST_TEST(toFullwidth("ｶﾞｯｺｳ ｿｳｽｹ") == "ガッコウ　ソウスケ");
  BOOST_TEST(toHalfwidth("ＡＢ　１２！カナ") == "AB 12!カナ");
  BOOST_TEST(kanaFullwidth("ｶﾞｷﾞｸﾞｹﾞｺﾞｻﾞｼﾞｽﾞｾﾞｿﾞﾀﾞﾁﾞﾂﾞﾃﾞﾄﾞﾊﾞﾋﾞﾌﾞﾍﾞﾎﾞ") == "ガギグゲゴザジズゼゾダヂヅデドバビブベボ");
  BOOST_TEST(kanaFullwidth("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟｳﾞ") == "パピプペポヴ");
  BOOST_TEST(kanaFullwidth("ｯﾞ") == "ッ゛");  // ッ takes no voicing: the mark stays a mark
  BOOST_TEST(kanaFullwidth("ｶﾟ") == "カ゜");
  BOOST_TEST(kanaFullwidth("ABC｡｢ｰ｣") == "ABC。「ー」");
  BOOST_TEST(hiraganaToKatakana("やまだ たろう ゝゞ") == "ヤマダ タロウ ヽヾ");
  BOOST_TEST(toUpper("abcａｂｃ") == "ABCＡＢＣ");
  BOOST_TEST(toLower("ABCＡＢＣ") == "abcａｂｃ");
}

BOOST_AUTO_TEST_CASE(the_seven_characters) {
  const std::string jis = "〜‖−¢£¬—";
  const std::string cp932 = "～∥－￠￡￢―";
  BOOST_TEST(normalizeJisVariants(jis, JisConvention::Cp932) == cp932);
  BOOST_TEST(normalizeJisVariants(cp932, JisConvention::Jis) == "〜‖−¢£¬―");
  BOOST_TEST(normalizeJisVariants("山田", JisConvention::Jis) == "山田");
}

BOOST_AUTO_TEST_CASE(gaiji_tables) {
  test::TempDir tmp;
  test::writeFile(tmp / "g.tsv",
                  "# source\treplacement\tfallback\n"
                  "U+E000\t\xf0\xa0\xae\xb7\t吉\tつちよし\n"  // 𠮷 (U+20BB7)
                  "F041\t髙\t高\n"
                  "U+0041\tA\n"
                  "zz\tx\n"
                  "U+E000\tdup\n");
  Diagnostics diags;
  auto table = GaijiTable::load(tmp / "g.tsv", *findCodec("windows-31j"), diags);
  BOOST_REQUIRE(table);
  BOOST_TEST(table->size() == 2u);
  const std::string problems = diags.format();
  BOOST_TEST(problems.find("g.tsv:4: 'U+0041' is not a private-use character") != std::string::npos, problems);
  BOOST_TEST(problems.find("g.tsv:5: 'zz' is neither") != std::string::npos, problems);
  BOOST_TEST(problems.find("g.tsv:6: 'U+E000' is mapped twice") != std::string::npos, problems);

  std::string text = "田\ue000中\ue001\ue002";  // E001 is F041 in CP932
  GaijiStats stats;
  applyGaiji(text, table.get(), UnmappedGaiji::Geta, stats);
  BOOST_TEST(text == "田\xf0\xa0\xae\xb7中髙〓");
  BOOST_TEST(stats.mapped == 2u);
  BOOST_TEST(stats.unmapped == 1u);
  std::string kept = "\ue002";
  GaijiStats keptStats;
  applyGaiji(kept, nullptr, UnmappedGaiji::Keep, keptStats);
  BOOST_TEST(kept == "\ue002");
  BOOST_TEST(keptStats.unmapped == 1u);
}
