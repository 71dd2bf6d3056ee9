// The PII guard for text bound for a generative AI, measured both ways:
// 200 prompts seeded with synthetic personal values written as residents
// and staff write them (full-width digits, spaces and hyphens inside
// numbers, numbers split across lines, kanji numerals in addresses and
// numbers) must come out holding none of them; 200 questions a municipal
// AI is asked that hold nothing personal, and the project's own formats
// (到達番号, codes, dates, amounts), are counted for what is wrongly stopped.
// The figures per pattern are printed (--log_level=message).
#define BOOST_TEST_MODULE renkei_pii_guard
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "renkei/support/check_digits.h"
#include "renkei/support/pii_guard.h"
#include "pii_seeds.h"

using namespace renkei;
using test::digitsIn;
using test::Seeded;
using test::seededPrompts;

namespace {

/// Questions with nothing personal, and the project's own formats.
std::vector<std::string> cleanQuestions() {
  const std::vector<std::string> procedures = {"転入届", "転出届", "児童手当", "国民健康保険の加入", "印鑑登録",
                                               "マイナンバーカードの更新", "介護保険の認定", "住民票の写し", "戸籍謄本",
                                               "後期高齢者医療", "保育園の入園", "粗大ごみ"};
  const std::vector<std::string> forms = {
      "{p}に必要な持ち物を教えてください", "{p}はどの窓口でできますか", "{p}の手数料はいくらですか",
      "{p}は何日以内にしなければなりませんか", "{p}はオンラインでできますか", "{p}の受付時間は何時から何時までですか",
      "{p}の期限は14日以内ですか", "{p}の様式第1号はどこでもらえますか", "{p}について2番窓口で聞けますか",
      "{p}の申請は令和8年4月1日から受け付けますか", "{p}は2026年12月7日に受付していますか",
      "{p}の申請書（様式第3号）の書き方", "{p}で第1号被保険者はどうなりますか",
      "到達番号R20261207-000123の{p}の申請は今どうなっていますか", "{p}の手数料300円は現金だけですか",
      "{p}の窓口は1階の3番ですか", "土曜開庁日（3月28日）に{p}はできますか"};
  std::vector<std::string> out;
  for (std::size_t i = 0; out.size() < 180; ++i) {
    std::string q = forms[i % forms.size()];
    q.replace(q.find("{p}"), 3, procedures[(i / forms.size() + i) % procedures.size()]);
    out.push_back(q);
  }
  // The project's own formats, as a question or an answer carries them.
  for (const char* s : {"到達番号 R20261201-000001 の申請", "問合せ番号 Q7K2-9XJ4-MW3P", "地方公共団体コード 131016",
                        "受付は 2026-12-07 09:04:00 +09:00", "期限は2027/01/05（火）", "手数料 1,000円",
                        "電話でのお問い合わせは市民課まで", "マイナンバーカードをお持ちの方", "令和8年度の予算",
                        "第2号被保険者", "様式第12号", "1番窓口から5番窓口", "郵便番号の書き方", "平成31年4月30日まで",
                        "昭和61年4月1日以前に建築された住宅", "午前8時30分から午後5時15分", "2026年度の児童手当",
                        "1-2歳児クラス", "3歳から5歳", "0120で始まるフリーダイヤル"})
    out.push_back(s);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(seeded_prompts_hold_none_of_their_personal_values_once_masked) {
  const auto prompts = seededPrompts();
  BOOST_TEST_REQUIRE(prompts.size() >= 200u);
  std::map<std::string, std::pair<int, int>> byKind;  // found, seeded
  for (const Seeded& s : prompts) {
    pii::Masker masker;
    const std::string masked = masker.mask(s.prompt, s.names);
    const bool gone = s.digits ? digitsIn(masked).find(s.value) == std::string::npos
                               : masked.find(s.value) == std::string::npos;
    auto& [found, seeded] = byKind[s.kind];
    ++seeded;
    found += gone;
    BOOST_TEST(gone, s.kind << ": " << s.prompt << " → " << masked);
    BOOST_TEST(!pii::scan(s.prompt, s.names).empty());
  }
  for (const auto& [kind, counts] : byKind)
    BOOST_TEST_MESSAGE("recall " << kind << ": " << counts.first << " of " << counts.second);
}

BOOST_AUTO_TEST_CASE(questions_without_personal_data_are_counted_for_what_is_wrongly_stopped) {
  const auto questions = cleanQuestions();
  BOOST_TEST_REQUIRE(questions.size() >= 200u);
  std::map<std::string, int> wrong;
  int stopped = 0;
  for (const std::string& q : questions) {
    const auto found = pii::scan(q);
    if (!found.empty()) ++stopped;
    for (const auto& f : found) {
      ++wrong[pii::kindName(f.kind)];
      BOOST_TEST_MESSAGE("wrongly found " << pii::kindName(f.kind) << " in: " << q);
    }
  }
  BOOST_TEST_MESSAGE("false positives: " << stopped << " of " << questions.size() << " questions");
  for (const auto& [kind, n] : wrong) BOOST_TEST_MESSAGE("  " << kind << ": " << n);
  BOOST_TEST(stopped == 0, stopped << " of " << questions.size() << " PII-free questions stopped");
}

BOOST_AUTO_TEST_CASE(a_value_keeps_its_placeholder_however_it_is_written) {
  pii::Masker m;
  const std::string a = m.mask("電話は090-1234-5678です");
  const std::string b = m.mask("０９０ １２３４ ５６７８にかけてください。別の番号 03-1111-2222 も");
  BOOST_TEST(a == "電話は〔電話番号1〕です");
  BOOST_TEST(b == "〔電話番号1〕にかけてください。別の番号 〔電話番号2〕 も");
  BOOST_TEST(m.counts().at(pii::Kind::Phone) == 2);
  // A code's digits glued to its letters do not hide the number after it.
  BOOST_TEST(pii::Masker().mask("整理番号 D003 123456789018 の件") == "整理番号 D003 〔個人番号1〕 の件");
  // Findings are byte ranges of the text as given.
  const std::string t = "メール taro@example.jp まで";
  const auto f = pii::scan(t);
  BOOST_TEST_REQUIRE(f.size() == 1u);
  BOOST_TEST(t.substr(f[0].begin, f[0].end - f[0].begin) == "taro@example.jp");
}

// The project's own formats, as answers and contexts carry them: 到達番号
// for every day of 2025–2028, dates and times in every form the project
// writes, epoch times, 問合せ番号, 地方公共団体コード and lists of them, and
// every line of the shipped code tables, guidance, procedure and knowledge
// files. Counted per kind; none may be stopped.
BOOST_AUTO_TEST_CASE(the_projects_own_formats_and_shipped_files_are_not_taken_for_personal_data) {
  namespace fs = std::filesystem;
  std::size_t tried = 0;
  std::map<std::string, std::size_t> stoppedBy;
  std::vector<std::string> examples;
  const auto probe = [&](const std::string& what, const std::string& v) {
    ++tried;
    for (const auto& f : pii::scan(v)) {
      ++stoppedBy[std::string(pii::kindName(f.kind)) + " in " + what];
      if (examples.size() < 20) examples.push_back(what + ": " + v);
    }
  };
  std::mt19937 rng(11);
  for (int y = 2025; y <= 2028; ++y)
    for (int m = 1; m <= 12; ++m)
      for (int d = 1; d <= 28; ++d) {
        char day[16], compact[16], slash[16], kanji[32], seq[16];
        std::snprintf(day, sizeof day, "%04d-%02d-%02d", y, m, d);
        std::snprintf(compact, sizeof compact, "%04d%02d%02d", y, m, d);
        std::snprintf(slash, sizeof slash, "%04d/%02d/%02d", y, m, d);
        std::snprintf(kanji, sizeof kanji, "%d年%d月%d日", y, m, d);
        for (int n : {1, 123, 3000, 999999}) {
          std::snprintf(seq, sizeof seq, "%06d", n);
          probe("到達番号", std::string("R") + compact + "-" + seq);
        }
        probe("date", day);
        probe("date", compact);
        probe("date", slash);
        probe("date", std::string("期限は") + kanji + "です");
        probe("date", std::string("令和") + std::to_string(y - 2018) + "年" + std::to_string(m) + "月" + std::to_string(d) + "日から受付");
        probe("timestamp", std::string(day) + " 09:30:00 +09:00");
        probe("timestamp", std::string(day) + "T00:30:00Z");
        probe("epoch", std::to_string((y - 1970) * 31'556'952LL * 1000 + m * 1000));
      }
  static const char kAlphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
  for (int i = 0; i < 20000; ++i) {
    std::string q;
    for (int k = 0; k < 12; ++k) {
      if (k == 4 || k == 8) q += '-';
      q += kAlphabet[rng() % 31];
    }
    probe("問合せ番号", q);
    char lg[16];
    std::snprintf(lg, sizeof lg, "%06u", static_cast<unsigned>(rng() % 1000000));
    probe("地方公共団体コード", lg);
    probe("地方公共団体コード", std::string(lg) + "," + lg);
    probe("amount", std::to_string(rng() % 100000) + "円");
    probe("ticket", "A-" + std::to_string(rng() % 1000));
  }
  const fs::path root(getenv("RENKEI_SOURCE_DIR") ? getenv("RENKEI_SOURCE_DIR") : ".");
  for (const fs::path& dir : {root / "mappings/codes", root / "config/concierge", root / "config/review", root / "config/ai"})
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) probe(entry.path().filename().string(), line);
    }
  for (const auto& e : examples) BOOST_TEST_MESSAGE("stopped: " + e);
  std::size_t total = 0;
  for (const auto& [kind, n] : stoppedBy) {
    total += n;
    BOOST_TEST_MESSAGE("  " << kind << ": " << n);
  }
  BOOST_TEST_MESSAGE("PII guard, the project's own formats: " << tried << " values, " << total << " stopped");
  BOOST_TEST(total == 0u);
}
