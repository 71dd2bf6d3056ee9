// The PII guard (see renkei/support/pii_guard.h).
#include "renkei/support/pii_guard.h"

#include <algorithm>
#include <cstdint>

#include "mapping/identifier_scan.h"
#include "renkei/support/check_digits.h"
#include "renkei/support/codec.h"

namespace renkei::pii {

namespace {

/// One code point of the text and where its bytes are.
struct Cp {
  char32_t c;
  std::size_t begin, end;
};

std::vector<Cp> decode(std::string_view text) {
  std::vector<Cp> out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint32_t cp = 0;
    const std::size_t n = text::decodeUtf8At(text, i, cp);
    out.push_back({static_cast<char32_t>(cp), i, i + n});
    i += n;
  }
  return out;
}

bool isKanjiNumeral(char32_t c) {
  switch (c) {
    case U'〇': case U'一': case U'二': case U'三': case U'四': case U'五': case U'六': case U'七': case U'八':
    case U'九': case U'十': case U'百': case U'千': case U'零':
      return true;
    default:
      return false;
  }
}
/// A digit of any script but kanji (dates and numbers as people type them); -1 else.
int digitOf(char32_t c) {
  if (isKanjiNumeral(c)) return -1;
  int d = -1;
  return mapping::scanKind(c, &d) == 1 ? d : -1;
}
/// A digit as the identifier scan reads it (kanji numerals too); -1 else.
int scanDigit(char32_t c) {
  int d = -1;
  return mapping::scanKind(c, &d) == 1 ? d : -1;
}
bool isSeparator(char32_t c) {
  if (c == U'\n' || c == U'\r' || c == U'(' || c == U')' || c == U'（' || c == U'）') return true;
  const int k = mapping::scanKind(c);
  return k == 2 || k == 4;  // a joining separator, or ignorable (zero-width …)
}
bool isLatinLetter(char32_t c) {
  return (c >= U'A' && c <= U'Z') || (c >= U'a' && c <= U'z') || (c >= U'Ａ' && c <= U'Ｚ') || (c >= U'ａ' && c <= U'ｚ');
}
bool isHan(char32_t c) { return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || c == U'々' || c >= 0x20000; }
bool isKatakana(char32_t c) { return (c >= 0x30A1 && c <= 0x30FA) || c == U'ー' || c == U'ヶ' || (c >= 0xFF66 && c <= 0xFF9D); }
bool isSpace(char32_t c) { return c == U' ' || c == U'\t' || c == U'　'; }

std::string digitsOf(const std::vector<Cp>& cps, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i)
    if (const int d = scanDigit(cps[i].c); d >= 0) out.push_back(static_cast<char>('0' + d));
  return out;
}

/// Whether the code points from `at` spell `word`.
bool spells(const std::vector<Cp>& cps, std::size_t at, std::u32string_view word) {
  if (at + word.size() > cps.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k)
    if (cps[at + k].c != word[k]) return false;
  return true;
}

struct Found {
  Kind kind;
  std::size_t from, to;  ///< code point indexes, [from, to)
};

// --- numbers: 個人番号, 住民票コード, 在留カード, phones, postal codes ----------

/// What a run of digits [from, to) with these groups is, if anything personal.
bool judgeRun(const std::vector<Cp>& cps, std::size_t from, std::size_t to, const std::vector<int>& groups,
              std::vector<Found>& out) {
  const std::size_t n = cps.size();
  const std::string d = digitsOf(cps, from, to);
  // Kanji numerals alone ("一人", "三月") are words, not numbers.
  bool anyAsciiLike = false;
  for (std::size_t k = from; k < to; ++k) anyAsciiLike = anyAsciiLike || digitOf(cps[k].c) >= 0;
  if (!anyAsciiLike && d.size() < 10) return false;
  const auto before = [&](std::size_t back) -> char32_t { return from >= back ? cps[from - back].c : 0; };
  const char32_t after = to < n ? cps[to].c : 0, after2 = to + 1 < n ? cps[to + 1].c : 0;
  if (d.size() == 8 && groups.size() == 1 && isLatinLetter(before(1)) && isLatinLetter(before(2)) &&
      isLatinLetter(after) && isLatinLetter(after2)) {
    out.push_back({Kind::ResidenceCard, from - 2, to + 2});
    return true;
  }
  const bool plus81 = (before(1) == U'+' || before(1) == U'＋') && d.rfind("81", 0) == 0;
  if (plus81 && d.size() >= 11 && d.size() <= 12) {
    out.push_back({Kind::Phone, from - 1, to});
  } else if (d.size() == 12 && text::isValidMyNumber(d)) {
    out.push_back({Kind::MyNumber, from, to});
  } else if ((d.size() == 10 || d.size() == 11) && d[0] == '0') {
    out.push_back({Kind::Phone, from, to});
  } else if (d.size() == 11) {
    out.push_back({Kind::ResidentCode, from, to});
  } else if (d.size() == 7 && ((groups.size() == 2 && groups[0] == 3 && groups[1] == 4) || before(1) == U'〒' ||
                               (isSpace(before(1)) && before(2) == U'〒'))) {
    out.push_back({Kind::PostalCode, from, to});
  } else {
    return false;
  }
  return true;
}

void numbers(const std::vector<Cp>& cps, std::vector<Found>& out) {
  std::size_t i = 0;
  const std::size_t n = cps.size();
  while (i < n) {
    if (scanDigit(cps[i].c) < 0) {
      ++i;
      continue;
    }
    // A run: digits joined by up to three separators in a row.
    const std::size_t from = i;
    std::size_t last = i;  // the last digit
    std::size_t second = 0;  // where the second group starts
    std::vector<int> groups{0};
    int seps = 0;
    while (i < n) {
      if (scanDigit(cps[i].c) >= 0) {
        if (seps > 0) {
          groups.push_back(0);
          if (groups.size() == 2) second = i;
        }
        ++groups.back();
        seps = 0;
        last = i;
        ++i;
      } else if (isSeparator(cps[i].c) && seps < 3) {
        ++seps;
        ++i;
      } else {
        break;
      }
    }
    const std::size_t to = last + 1;
    i = to;
    if (judgeRun(cps, from, to, groups, out)) continue;
    // Digits glued to letters are a code's (D003, A-001): the number after
    // them is read on its own, so "D003 123456789018" still shows its 12.
    if (from > 0 && isLatinLetter(cps[from - 1].c) && groups.size() > 1)
      judgeRun(cps, second, to, std::vector<int>(groups.begin() + 1, groups.end()), out);
  }
}

// --- e-mail addresses --------------------------------------------------------

bool emailLocal(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9') || c == U'.' || c == U'_' ||
         c == U'%' || c == U'+' || c == U'-';
}
bool emailDomain(char32_t c) {
  return (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9') || c == U'.' || c == U'-';
}

void emails(const std::vector<Cp>& cps, std::vector<Found>& out) {
  for (std::size_t at = 0; at < cps.size(); ++at) {
    if (cps[at].c != U'@' && cps[at].c != U'＠') continue;
    std::size_t from = at;
    while (from > 0 && emailLocal(cps[from - 1].c)) --from;
    std::size_t to = at + 1;
    while (to < cps.size() && emailDomain(cps[to].c)) ++to;
    while (to > at + 1 && cps[to - 1].c == U'.') --to;  // a sentence's full stop
    if (from == at || to <= at + 1) continue;
    std::size_t dot = to;
    for (std::size_t k = at + 1; k < to; ++k)
      if (cps[k].c == U'.') dot = k;
    if (dot == to || to - dot - 1 < 2) continue;
    out.push_back({Kind::Email, from, to});
  }
}

// --- dates of birth ----------------------------------------------------------

/// Digits from `at` (at most `max`), by value; how many code points.
std::size_t readDigits(const std::vector<Cp>& cps, std::size_t at, std::size_t max, int& value) {
  std::size_t k = 0;
  value = 0;
  while (at + k < cps.size() && k < max) {
    const int d = digitOf(cps[at + k].c);
    if (d < 0) break;
    value = value * 10 + d;
    ++k;
  }
  return k;
}
bool dateSeparator(char32_t c) { return c == U'/' || c == U'.' || c == U'-' || c == U'／' || c == U'．' || c == U'－'; }

/// A full date starting at `at`: its end, or 0.
std::size_t dateAt(const std::vector<Cp>& cps, std::size_t at) {
  std::size_t k = at;
  int v = 0;
  bool era = false;
  for (std::u32string_view name : {U"明治", U"大正", U"昭和", U"平成", U"令和"})
    if (spells(cps, k, name)) {
      k += 2;
      era = true;
      break;
    }
  if (!era && k < cps.size() && (cps[k].c == U'M' || cps[k].c == U'T' || cps[k].c == U'S' || cps[k].c == U'H' ||
                                 cps[k].c == U'R')) {
    ++k;
    era = true;
  }
  if (era) {
    while (k < cps.size() && isSpace(cps[k].c)) ++k;
    if (k < cps.size() && cps[k].c == U'元') {
      ++k;
    } else {
      const std::size_t y = readDigits(cps, k, 2, v);
      if (y == 0) return 0;
      k += y;
    }
  } else {
    if (readDigits(cps, k, 4, v) != 4 || v < 1900 || v > 2099) return 0;
    k += 4;
  }
  const auto part = [&](char32_t word) {
    if (k >= cps.size()) return false;
    if (cps[k].c != word && !dateSeparator(cps[k].c)) return false;
    ++k;
    return true;
  };
  if (!part(U'年')) return 0;
  const std::size_t m = readDigits(cps, k, 2, v);
  if (m == 0 || v < 1 || v > 12) return 0;
  k += m;
  if (!part(U'月')) return 0;
  const std::size_t d = readDigits(cps, k, 2, v);
  if (d == 0 || v < 1 || v > 31) return 0;
  k += d;
  if (k < cps.size() && cps[k].c == U'日') ++k;
  return k;
}

bool nearBirthWord(const std::vector<Cp>& cps, std::size_t from, std::size_t to) {
  const std::size_t lo = from > 12 ? from - 12 : 0, hi = std::min(cps.size(), to + 12);
  for (std::size_t k = lo; k < hi; ++k)
    for (std::u32string_view w : {U"生年月日", U"生まれ", U"誕生", U"出生", U"birth", U"Birth"})
      if (spells(cps, k, w)) return true;
  // 昭和50年1月2日生 / S50.1.2生
  std::size_t k = to;
  while (k < cps.size() && (isSpace(cps[k].c) || cps[k].c == U')' || cps[k].c == U'）')) ++k;
  return k < cps.size() && cps[k].c == U'生';
}

void birthDates(const std::vector<Cp>& cps, std::vector<Found>& out) {
  for (std::size_t at = 0; at < cps.size(); ++at) {
    if (at > 0 && (digitOf(cps[at - 1].c) >= 0 || isLatinLetter(cps[at - 1].c))) continue;  // inside a word
    const std::size_t end = dateAt(cps, at);
    if (end == 0) continue;
    if (nearBirthWord(cps, at, end)) out.push_back({Kind::BirthDate, at, end});
    at = end - 1;
  }
}

// --- addresses ---------------------------------------------------------------

bool numberChar(char32_t c) { return digitOf(c) >= 0 || isKanjiNumeral(c); }
bool addressDash(char32_t c) {
  return c == U'-' || c == U'－' || c == U'‐' || c == U'−' || c == U'ー' || c == U'の';
}

void addresses(const std::vector<Cp>& cps, std::vector<Found>& out) {
  const std::size_t n = cps.size();
  std::size_t at = 0;
  while (at < n) {
    if (!numberChar(cps[at].c) || (at > 0 && numberChar(cps[at - 1].c))) {
      ++at;
      continue;
    }
    // number groups joined by markers: 一丁目2番3号, 2番地の5, 1-2-3
    std::size_t k = at, lastEnd = at;
    int groups = 0;
    bool strong = false, dashes = false;
    for (;;) {
      std::size_t num = k;
      while (num < n && numberChar(cps[num].c)) ++num;
      if (num == k) break;
      std::size_t m = num;
      if (spells(cps, m, U"丁目") || spells(cps, m, U"番地")) {
        // A 丁目 alone names a town's part, not a house: 番地 and 号 do.
        strong = strong || cps[m].c == U'番';
        m += 2;
      } else if (m < n && (cps[m].c == U'号' || cps[m].c == U'番')) {
        strong = strong || cps[m].c == U'号';
        ++m;
      } else if (m < n && addressDash(cps[m].c) && m + 1 < n && numberChar(cps[m + 1].c)) {
        ++groups;
        dashes = true;
        lastEnd = num;
        k = m + 1;
        continue;
      } else {
        if (groups > 0 && dashes) {  // the last group of 1-2-3
          ++groups;
          lastEnd = num;
        }
        break;
      }
      ++groups;
      lastEnd = m;
      k = m;
      if (k < n && cps[k].c == U'の') ++k;  // 2番地の5
    }
    if (groups == 0) {
      ++at;
      continue;
    }
    // The place name before the numbers: 中央, 世田谷区中央, 東京都…
    std::size_t from = at;
    while (from > 0 && at - from < 24 && (isHan(cps[from - 1].c) || isKatakana(cps[from - 1].c)) &&
           cps[from - 1].c != U'第')
      --from;
    const bool place = at - from >= 2;
    const bool afterOrdinal = at > 0 && cps[at - 1].c == U'第';
    // A date (2026-12-08) or a phone number is not an address.
    const std::string d = digitsOf(cps, at, lastEnd);
    const bool dateLike = dashes && d.size() == 8 && (d.rfind("19", 0) == 0 || d.rfind("20", 0) == 0);
    const bool ok = !afterOrdinal && !dateLike &&
                    ((strong && (groups >= 2 || place)) || (groups >= 2 && place) || (dashes && groups >= 2 && place));
    if (ok) out.push_back({Kind::Address, place ? from : at, lastEnd});
    at = std::max(at + 1, lastEnd);
  }
}

// --- names -------------------------------------------------------------------

void names(std::string_view text, const std::vector<Cp>& cps, const std::vector<std::string>& values,
           std::vector<Found>& out) {
  const auto indexOf = [&](std::size_t byte) {
    return static_cast<std::size_t>(
        std::lower_bound(cps.begin(), cps.end(), byte, [](const Cp& c, std::size_t b) { return c.begin < b; }) -
        cps.begin());
  };
  for (const std::string& value : values) {
    std::vector<std::string> forms{value};
    std::string compact;
    for (std::size_t i = 0; i < value.size();) {
      if (value.compare(i, 1, " ") == 0) {
        ++i;
      } else if (value.compare(i, 3, "\xE3\x80\x80") == 0) {  // U+3000
        i += 3;
      } else {
        compact.push_back(value[i++]);
      }
    }
    if (compact != value) forms.push_back(compact);
    for (const std::string& f : forms) {
      if (f.size() < 2) continue;  // one byte names nothing
      for (std::size_t at = text.find(f); at != std::string_view::npos; at = text.find(f, at + f.size()))
        out.push_back({Kind::Name, indexOf(at), indexOf(at + f.size())});
    }
  }
}

std::vector<Found> findAll(std::string_view text, const std::vector<Cp>& cps, const std::vector<std::string>& nameValues) {
  std::vector<Found> all;
  names(text, cps, nameValues, all);
  emails(cps, all);
  birthDates(cps, all);
  addresses(cps, all);
  numbers(cps, all);
  // In order; an overlap keeps the one that starts first (the longer at a tie).
  std::stable_sort(all.begin(), all.end(), [](const Found& a, const Found& b) {
    return a.from != b.from ? a.from < b.from : a.to > b.to;
  });
  std::vector<Found> kept;
  for (const Found& f : all) {
    if (!kept.empty() && f.from < kept.back().to) {
      kept.back().to = std::max(kept.back().to, f.to);
      continue;
    }
    kept.push_back(f);
  }
  return kept;
}

}  // namespace

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::MyNumber: return "mynumber";
    case Kind::ResidentCode: return "resident-code";
    case Kind::ResidenceCard: return "residence-card";
    case Kind::Phone: return "phone";
    case Kind::Email: return "email";
    case Kind::PostalCode: return "postal-code";
    case Kind::Address: return "address";
    case Kind::BirthDate: return "birth-date";
    case Kind::Name: return "name";
  }
  return "?";
}

const char* kindLabel(Kind kind) {
  switch (kind) {
    case Kind::MyNumber: return "個人番号";
    case Kind::ResidentCode: return "住民票コード";
    case Kind::ResidenceCard: return "在留カード番号";
    case Kind::Phone: return "電話番号";
    case Kind::Email: return "メールアドレス";
    case Kind::PostalCode: return "郵便番号";
    case Kind::Address: return "住所";
    case Kind::BirthDate: return "生年月日";
    case Kind::Name: return "氏名";
  }
  return "?";
}

std::vector<Finding> scan(std::string_view text, const std::vector<std::string>& nameValues) {
  const std::vector<Cp> cps = decode(text);
  std::vector<Finding> out;
  for (const Found& f : findAll(text, cps, nameValues))
    out.push_back({f.kind, cps[f.from].begin, f.to > 0 ? cps[f.to - 1].end : 0});
  return out;
}

std::string Masker::mask(std::string_view text, const std::vector<std::string>& nameValues) {
  const std::vector<Cp> cps = decode(text);
  std::string out;
  std::size_t copied = 0;
  for (const Found& f : findAll(text, cps, nameValues)) {
    const std::size_t b = cps[f.from].begin, e = cps[f.to - 1].end;
    out.append(text.substr(copied, b - copied));
    // The same value, however written, is the same placeholder.
    std::string canonical = digitsOf(cps, f.from, f.to);
    if (f.kind == Kind::Email || f.kind == Kind::Name || f.kind == Kind::Address || canonical.empty())
      canonical = std::string(text.substr(b, e - b));
    const std::string key = std::string(kindName(f.kind)) + ":" + canonical;
    auto it = placeholders_.find(key);
    if (it == placeholders_.end()) {
      const int n = ++counts_[f.kind];
      it = placeholders_.emplace(key, std::string("〔") + kindLabel(f.kind) + std::to_string(n) + "〕").first;
      originals_.emplace(it->second, std::string(text.substr(b, e - b)));
    }
    out += it->second;
    copied = e;
  }
  out.append(text.substr(copied));
  return out;
}

std::string Masker::restore(std::string_view text, const std::set<std::string>& which) const {
  std::string out;
  std::size_t copied = 0;
  for (std::size_t open = text.find("〔"); open != std::string_view::npos; open = text.find("〔", open + 1)) {
    const std::size_t close = text.find("〕", open);
    if (close == std::string_view::npos) break;
    const std::string placeholder(text.substr(open, close + 3 - open));  // 〕 is three bytes
    const auto it = originals_.find(placeholder);
    if (it == originals_.end() || !which.count(placeholder)) continue;
    out.append(text.substr(copied, open - copied));
    out += it->second;
    copied = close + 3;
    open = close + 2;
  }
  out.append(text.substr(copied));
  return out;
}

std::set<std::string> Masker::placeholdersIn(std::string_view text) const {
  std::set<std::string> out;
  for (const auto& [placeholder, _] : originals_)
    if (text.find(placeholder) != std::string_view::npos) out.insert(placeholder);
  return out;
}

}  // namespace renkei::pii
