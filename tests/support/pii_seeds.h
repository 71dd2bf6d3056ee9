// Synthetic personal values written as residents and staff write them, in
// prompts to a municipal AI: the seeded set the PII guard is measured on
// (test_pii_guard) and that the AI tests send through the guarded path
// (test_ai_client). Nothing here is a real person's.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "renkei/support/check_digits.h"

namespace renkei::test {

/// Every digit of any script (and kanji numerals 〇〜九) as ASCII, the rest dropped.
inline std::string digitsIn(const std::string& s) {
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

inline std::string fullWidth(const std::string& ascii) {
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
inline std::string kanjiDigits(const std::string& ascii) {
  static const char* k[] = {"〇", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
  std::string out;
  for (char c : ascii) out += (c >= '0' && c <= '9') ? k[c - '0'] : std::string(1, c);
  return out;
}
/// "123456789012" → "1234 5678 9012" (sep " "), "1234-5678-9012", "1234\n5678\n9012" …
inline std::string grouped(const std::string& d, const std::vector<int>& sizes, const std::string& sep) {
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

inline std::vector<Seeded> seededPrompts() {
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
    out.push_back({"mynumber", p, d, true, {}});
  }
  for (int i = 0; i < 25; ++i) {
    const std::string d = randomDigits(11, false), form = forms[static_cast<std::size_t>(i) % forms.size()];
    out.push_back({"resident-code", "住民票コード " + write(d, {3, 4, 4}, form) + " の人の転出証明書について", d, true, {}});
  }
  for (int i = 0; i < 20; ++i) {
    static const char* letters = "ABCDEFGHJKLMNPRSTUVWXYZ";
    std::string l1{letters[rng() % 23], letters[rng() % 23]}, l2{letters[rng() % 23], letters[rng() % 23]};
    const std::string d = randomDigits(8, true);
    const std::string card = i % 2 ? l1 + d + l2 : fullWidth(l1 + d + l2);
    out.push_back({"residence-card", "在留カードの番号は" + card + "です。更新はどこでできますか", d, true, {}});
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
    out.push_back({"phone", "折り返しの電話は " + written + " にお願いします。保育園の入園について", value, true, {}});
  }
  for (int i = 0; i < 20; ++i) {
    const std::string local = "kojin" + randomDigits(4, true) + (i % 2 ? ".yamada" : "_t");
    const std::string mail = local + (i % 3 ? "@example.jp" : "@mail.example.ne.jp");
    const std::string written = i % 4 == 3 ? local + "＠example.jp" : mail;
    out.push_back({"email", "返信は" + written + "へ。粗大ごみの出し方を教えて", i % 4 == 3 ? local : mail, false, {}});
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
    out.push_back({"address", p, town + number, false, {}});
    if (withPostal) out.push_back({"postal-code", p, digitsIn(postal), true, {}});
  }
  const std::vector<std::string> births = {"昭和50年1月2日生まれ", "生年月日は1980年12月3日です", "H2.4.5生",
                                           "平成元年7月8日に生まれました", "1975/01/02生", "誕生日 令和2年3月4日"};
  for (int i = 0; i < 15; ++i) {
    const std::string b = births[static_cast<std::size_t>(i) % births.size()];
    out.push_back({"birth-date", "子どもは" + b + "。予防接種の時期を知りたい", b, false, {}});
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

}  // namespace renkei::test
