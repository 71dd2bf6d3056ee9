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

using namespace renkei;

namespace {

/// Every digit of any script (and kanji numerals 〇〜九) as ASCII, the rest dropped.
std::string digitsIn(const std::string& s) {
  static const std::vector<std::pair<std::string, char>> kanji = {
      {"〇", '0'}, {"零", '0'}, {"一", '1'}, {"二", '2'}, {"三", '3'}, {"四", '4'},
      {"五", '5'}, {"六", '6'}, {"七", '7'}, {"八", '8'}, {"九", '9'}};
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= '0' && c <= '9') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (s.compare(i, 3, "\xEF\xBC") == 0 || (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBC)) {
      const unsigned char d = static_cast<unsigned char>(s[i + 2]);
      if (d >= 0x90 && d <= 0x99) {  // U+FF10..FF19
        out.push_back(static_cast<char>('0' + (d - 0x90)));
        i += 3;
        continue;
      }
    }
    bool matched = false;
    for (const auto& [k, v] : kanji)
      if (s.compare(i, k.size(), k) == 0) {
        out.push_back(v);
        i += k.size();
        matched = true;
        break;
      }
    if (matched) continue;
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  }
  return out;
}

std::string fullWidth(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    if (c >= '0' && c <= '9') {
      out += "\xEF\xBC";
      out.push_back(static_cast<char>(0x90 + (c - '0')));
    } else if (c == '-') {
      out += "－";
    } else {
      out.push_back(c);
    }
  }
  return out;
}
std::string kanjiDigits(const std::string& ascii) {
  static const char* k[] = {"〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
  std::string out;
  for (char c : ascii) out += (c >= '0' && c <= '9') ? k[c - '0'] : std::string(1, c);
  return out;
}
/// "123456789012" → "1234 5678 9012" (sep " "), "1234-5678-9012", "1234\n5678\n9012" …
std::string grouped(const std::string& d, const std::vector<int>& sizes, const std::string& sep) {
  std::string out;
  std::size_t at = 0;
  for (std::size_t g = 0; g < sizes.size(); ++g) {
    if (g) out += sep;
    out += d.substr(at, static_cast<std::size_t>(sizes[g]));
    at += static_cast<std::size_t>(sizes[g]);
  }
  return out;
}

struct Seeded {
  std::string kind;    ///< the pattern, for the figures
  std::string prompt;  ///< what is sent
  std::string value;   ///< what must not come out (digits for numbers: compared as digits)
  bool digits = true;
  std::vector<std::string> names;  ///< personal fields of the record the context came from
};

std::vector<Seeded> seededPrompts() {
  std::mt19937 rng(20261207);
  const auto randomDigits = [&](int n, bool leadingZero) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + std::uniform_int_distribution<int>(i == 0 && !leadingZero ? 1 : 0, 9)(rng)));
    return s;
  };
  const auto myNumber = [&] {
    for (;;) {
      std::string d = randomDigits(11, false);
      for (char c = '0'; c <= '9'; ++c)
        if (text::isValidMyNumber(d + c)) return d + c;
    }
  };
  std::vector<Seeded> out;
  const std::vector<std::string> forms = {"plain", "full-width", "spaces", "hyphens", "lines", "kanji", "mixed"};
  const auto write = [&](const std::string& d, const std::vector<int>& sizes, const std::string& form) {
    if (form == "full-width") return fullWidth(d);
    if (form == "spaces") return grouped(d, sizes, " ");
    if (form == "hyphens") return grouped(d, sizes, "-");
    if (form == "lines") return grouped(d, sizes, "\n");
    if (form == "kanji") return kanjiDigits(d);
    if (form == "mixed") return fullWidth(grouped(d, sizes, "-"));
    return d;
  };
  const std::vector<std::string> mynumberTemplates = {
      "私の個人番号は{v}です。児童手当の申請に必要な書類を教えてください。",
      "マイナンバー{v}で国民健康保険の加入はできますか",
      "個人番号：{v}\n転入の手続きを知りたいです",
      "{v}という番号で住民票の写しは取れますか？"};
  for (int i = 0; i < 35; ++i) {
    const std::string d = myNumber(), form = forms[static_cast<std::size_t>(i) % forms.size()];
    std::string p = mynumberTemplates[static_cast<std::size_t>(i) % mynumberTemplates.size()];
    p.replace(p.find("{v}"), 3, write(d, {4, 4, 4}, form));
    out.push_back({"mynumber", p, d});
  }
  for (int i = 0; i < 25; ++i) {
    const std::string d = randomDigits(11, false), form = forms[static_cast<std::size_t>(i) % forms.size()];
    out.push_back({"resident-code", "住民票コード " + write(d, {3, 4, 4}, form) + " の人の転出証明書について", d});
  }
  for (int i = 0; i < 20; ++i) {
    static const char* letters = "ABCDEFGHJKLMNPRSTUVWXYZ";
    std::string l1{letters[rng() % 23], letters[rng() % 23]}, l2{letters[rng() % 23], letters[rng() % 23]};
    const std::string d = randomDigits(8, true);
    const std::string card = i % 2 ? l1 + d + l2 : fullWidth(l1 + d + l2);
    out.push_back({"residence-card", "在留カードの番号は" + card + "です。更新はどこでできますか", d});
  }
  const std::vector<std::pair<std::string, std::vector<int>>> phones = {
      {"090", {3, 4, 4}}, {"080", {3, 4, 4}}, {"03", {2, 4, 4}}, {"0120", {4, 3, 3}}, {"06", {2, 4, 4}}};
  for (int i = 0; i < 30; ++i) {
    const auto& [prefix, sizes] = phones[static_cast<std::size_t>(i) % phones.size()];
    int rest = 0;
    for (int s : sizes) rest += s;
    const std::string d = prefix + randomDigits(rest - static_cast<int>(prefix.size()), true);
    std::string written = i % 6 == 5 ? "+81 " + grouped(d.substr(1), {sizes[0] - 1, sizes[1], sizes[2]}, " ")
                                     : write(d, sizes, forms[static_cast<std::size_t>(i) % 5]);
    const std::string value = i % 6 == 5 ? "81" + d.substr(1) : d;
    out.push_back({"phone", "折り返しの電話は " + written + " にお願いします。保育園の入園について", value});
  }
  for (int i = 0; i < 20; ++i) {
    const std::string local = "kojin" + randomDigits(4, true) + (i % 2 ? ".yamada" : "_t");
    const std::string mail = local + (i % 3 ? "@example.jp" : "@mail.example.ne.jp");
    const std::string written = i % 4 == 3 ? local + "＠example.jp" : mail;
    out.push_back({"email", "返信は" + written + "へ。粗大ごみの出し方を教えて", i % 4 == 3 ? local : mail, false});
  }
  const std::vector<std::string> towns = {"東京都世田谷区池尻", "見本市中央", "大阪府大阪市北区若葉", "見本市東町"};
  for (int i = 0; i < 30; ++i) {
    const std::string town = towns[static_cast<std::size_t>(i) % towns.size()];
    const int a = 1 + static_cast<int>(rng() % 9), b = 1 + static_cast<int>(rng() % 30), c = 1 + static_cast<int>(rng() % 20);
    std::string number;
    switch (i % 5) {
      case 0: number = kanjiDigits(std::to_string(a)) + "丁目" + std::to_string(b) + "番" + std::to_string(c) + "号"; break;
      case 1: number = std::to_string(a) + "-" + std::to_string(b) + "-" + std::to_string(c); break;
      case 2: number = fullWidth(std::to_string(a)) + "丁目" + fullWidth(std::to_string(b)) + "番地"; break;
      case 3: number = kanjiDigits(std::to_string(a)) + "丁目" + kanjiDigits(std::to_string(b)) + "番" + kanjiDigits(std::to_string(c)) + "号"; break;
      default: number = std::to_string(b) + "番地の" + std::to_string(c); break;
    }
    const std::string postal = randomDigits(3, false) + "-" + randomDigits(4, true);
    const bool withPostal = i % 2 == 0;
    const std::string p = std::string("住所は") + (withPostal ? "〒" + postal + " " : "") + town + number +
                          "です。ごみの収集日はいつですか";
    out.push_back({"address", p, town + number, false});
    if (withPostal) out.push_back({"postal-code", p, digitsIn(postal), true});
  }
  const std::vector<std::string> births = {"昭和50年1月2日生まれ", "生年月日は1980年12月3日です", "H2.4.5生",
                                           "平成元年7月8日に生まれました", "1975/01/02生", "誕生日 令和2年3月4日"};
  for (int i = 0; i < 15; ++i) {
    const std::string b = births[static_cast<std::size_t>(i) % births.size()];
    out.push_back({"birth-date", "子どもは" + b + "。予防接種の時期を知りたい", b, false});
  }
  const std::vector<std::string> names = {"見本 太郎", "架空　花子", "試験一郎"};
  for (int i = 0; i < 10; ++i) {
    const std::string n = names[static_cast<std::size_t>(i) % names.size()];
    std::string compact = n;
    for (const std::string sp : {" ", "　"})
      for (std::size_t at = compact.find(sp); at != std::string::npos; at = compact.find(sp)) compact.erase(at, sp.size());
    const std::string written = i % 2 ? compact : n;
    Seeded s{"name", written + "さんの転入届について、必要な書類は？", compact, false, {n}};
    out.push_back(s);
  }
  return out;
}

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
