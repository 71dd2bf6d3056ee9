// Applicant matching by 4 情報 (applicant_match.h).
#include "applicant_match.h"

#include "renkei/support/normalize.h"

namespace renkei::plugins::review {
namespace {

/// The UTF-8 characters of `s`.
std::vector<std::string> chars(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string withoutSpaces(std::string_view s) {
  std::string out;
  for (const std::string& c : chars(s))
    if (c != " " && c != "\u3000" && c != "\t") out += c;
  return out;
}

std::string replaceVariants(std::string_view s, const std::map<std::string, std::string>& variants) {
  std::string out;
  for (const std::string& c : chars(s)) {
    auto it = variants.find(c);
    out += it == variants.end() ? c : it->second;
  }
  return out;
}

/// 一〜九十九 written in kanji (一, 十二, 二十三) → digits.
std::string kanjiNumerals(std::string_view s) {
  static const std::map<std::string, int> kDigits = {{"一", 1}, {"二", 2}, {"三", 3}, {"四", 4}, {"五", 5},
                                                     {"六", 6}, {"七", 7}, {"八", 8}, {"九", 9}};
  const std::vector<std::string> cs = chars(s);
  std::string out;
  for (std::size_t i = 0; i < cs.size();) {
    int value = -1;
    std::size_t j = i;
    if (kDigits.count(cs[j]) || cs[j] == "十") {
      int tens = 0, ones = 0;
      if (kDigits.count(cs[j]) && j + 1 < cs.size() && cs[j + 1] == "十") tens = kDigits.at(cs[j]), j += 2;
      else if (cs[j] == "十") tens = 1, j += 1;
      if (j < cs.size() && kDigits.count(cs[j]) && (tens || j == i)) ones = kDigits.at(cs[j]), ++j;
      value = tens * 10 + ones;
    }
    if (value > 0) {
      out += std::to_string(value);
      i = j;
    } else {
      out += cs[i];
      ++i;
    }
  }
  return out;
}

std::string canonicalSex(const std::string& s) {
  // The export's code (1/2), the form's words, or the shipped code table's
  // (mappings/codes/sex.tsv: male/female).
  if (s == "1" || s == "男" || s == "男性" || s == "male") return "1";
  if (s == "2" || s == "女" || s == "女性" || s == "female") return "2";
  return s;
}

ItemResult compare(const std::string& item, const std::string& a, const std::string& b,
                   const std::vector<std::pair<const char*, std::string (*)(std::string_view, const void*)>>& steps,
                   const void* ctx) {
  ItemResult r;
  r.item = item;
  if (a.empty() || b.empty()) return r;
  if (a == b) {
    r.verdict = Verdict::Same;
    return r;
  }
  std::string x = a, y = b;
  for (const auto& [name, step] : steps) {
    x = step(x, ctx);
    y = step(y, ctx);
    r.normalisation += (r.normalisation.empty() ? "" : ", ") + std::string(name);
    if (x == y) {
      r.verdict = Verdict::SameAfterNormalising;
      return r;
    }
  }
  r.verdict = Verdict::Different;
  r.normalisation.clear();
  return r;
}

using Variants = std::map<std::string, std::string>;

}  // namespace

std::vector<std::string> loadVariants(std::string_view tsv, std::map<std::string, std::string>& out) {
  std::vector<std::string> problems;
  int line = 0;
  for (std::size_t at = 0; at < tsv.size();) {
    std::size_t end = tsv.find('\n', at);
    if (end == std::string_view::npos) end = tsv.size();
    std::string_view l = tsv.substr(at, end - at);
    at = end + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty() || l[0] == '#') continue;
    const std::size_t tab = l.find('\t');
    if (tab == std::string_view::npos || chars(l.substr(0, tab)).size() != 1 || chars(l.substr(tab + 1)).size() != 1) {
      problems.push_back("line " + std::to_string(line) + ": not 'old<TAB>new', one character each");
      continue;
    }
    out[std::string(l.substr(0, tab))] = std::string(l.substr(tab + 1));
  }
  return problems;
}

const char* verdictName(Verdict v) {
  switch (v) {
    case Verdict::Same: return "same";
    case Verdict::SameAfterNormalising: return "same-after-normalising";
    case Verdict::Different: return "different";
    case Verdict::Missing: return "missing";
  }
  return "missing";
}

bool MatchResult::matched() const {
  for (const ItemResult& r : items)
    if (r.verdict != Verdict::Same && r.verdict != Verdict::SameAfterNormalising) return false;
  return !items.empty();
}

std::string normaliseName(std::string_view name, const std::map<std::string, std::string>& variants) {
  return replaceVariants(text::toHalfwidth(text::kanaFullwidth(withoutSpaces(name))), variants);
}

std::string normaliseAddress(std::string_view address, const std::map<std::string, std::string>& variants) {
  std::string s = kanjiNumerals(replaceVariants(text::toHalfwidth(withoutSpaces(address)), variants));
  // 1丁目2番3号, 1丁目2番地3, 1-2-3 → 1-2-3
  for (const char* unit : {"丁目", "番地", "番", "号", "－", "ー", "‐", "−"}) {
    std::string out;
    const std::string u(unit);
    for (std::size_t i = 0; i < s.size();) {
      if (s.compare(i, u.size(), u) == 0) {
        out += '-';
        i += u.size();
      } else {
        out += s[i++];
      }
    }
    s = out;
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s;
}

MatchResult match(const FourItems& a, const FourItems& b, const std::map<std::string, std::string>& variants) {
  MatchResult m;
  using Step = std::string (*)(std::string_view, const void*);
  const Step spaces = [](std::string_view s, const void*) { return withoutSpaces(s); };
  const Step width = [](std::string_view s, const void*) { return text::toHalfwidth(text::kanaFullwidth(s)); };
  const Step variant = [](std::string_view s, const void* v) { return replaceVariants(s, *static_cast<const Variants*>(v)); };
  const Step notation = [](std::string_view s, const void* v) { return normaliseAddress(s, *static_cast<const Variants*>(v)); };
  m.items.push_back(compare("name", a.name, b.name, {{"spaces", spaces}, {"width", width}, {"variants", variant}}, &variants));
  m.items.push_back(compare("birth", a.birth, b.birth, {}, nullptr));
  m.items.push_back(compare("sex", canonicalSex(a.sex), canonicalSex(b.sex), {}, nullptr));
  m.items.push_back(compare("address", a.address, b.address, {{"address notation", notation}}, &variants));
  return m;
}

}  // namespace renkei::plugins::review
