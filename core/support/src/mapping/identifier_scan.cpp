// The identifier scan and declared value patterns (see identifier_scan.h).
#include "mapping/identifier_scan.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include "mapping/identifier_scan_tables.h"
#include "renkei/support/check_digits.h"
#include "renkei/support/codec.h"

namespace renkei::mapping {

using namespace scan;

namespace {

constexpr std::array<std::size_t, 7> kDigestLengths = {32, 40, 48, 56, 64, 96, 128};
/// Separators in a row that still join two digit groups: "1234 - 5678" has three.
constexpr int kMaxJoiningSeparators = 3;
/// Bytes read on either side of a digest that digits are glued to.
constexpr std::size_t kGlueWindow = 256;



bool asciiAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool asciiHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool allDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The run state: digit groups joined by separators, read one code point at a time.
class Runs {
 public:
  bool hit() const { return hit_; }

  void digit(int d) {
    if (seps_ > 0 || comma_) {
      // a new group: after a comma it must prove to be three digits
      commaGroup_ = comma_;
      beforeComma_ = comma_ ? count_ : 0;
      group_ = 0;
      groupDigits_.clear();
      seps_ = 0;
      comma_ = false;
    }
    const char c = static_cast<char>('0' + d);
    if (digits_.size() < 13) digits_.push_back(c);
    if (groupDigits_.size() < 13) groupDigits_.push_back(c);
    ++count_;
    ++group_;
  }

  void separator() {
    if (count_ == 0) return;
    if (comma_) return end();  // "1, 234" is a list, not a number
    closeGroup();
    if (++seps_ > kMaxJoiningSeparators) end();
  }

  void comma() {
    if (count_ == 0) return;
    if (seps_ > 0 || comma_) return end();
    closeGroup();
    comma_ = true;
  }

  void end() {
    closeGroup();
    judge(digits_, count_);
    digits_.clear();
    groupDigits_.clear();
    count_ = group_ = beforeComma_ = 0;
    seps_ = 0;
    comma_ = commaGroup_ = false;
  }

 private:
  // A group that followed a comma but is not three digits long shows the
  // comma was a list's: what came before it is a run of its own.
  void closeGroup() {
    if (!commaGroup_) return;
    commaGroup_ = false;
    if (group_ == 3) return;
    judge(digits_.substr(0, std::min<std::size_t>(beforeComma_, 13)), beforeComma_);
    digits_ = groupDigits_;
    count_ = group_;
  }

  void judge(const std::string& digits, std::size_t count) {
    if (count == 0) return;
    const bool h = count == 11 || (count == 12 && text::isValidMyNumber(digits));
    hit_ = hit_ || h;
    if (++runs_ == 1) first_ = h;
    last_ = h;
  }

 public:
  std::size_t runs() const { return runs_; }
  bool inRun() const { return count_ > 0; }
  bool firstHit() const { return first_; }
  bool lastHit() const { return last_; }

 private:
  std::size_t runs_ = 0;
  bool first_ = false, last_ = false;

  std::string digits_, groupDigits_;
  std::size_t count_ = 0, group_ = 0, beforeComma_ = 0;
  int seps_ = 0;
  bool comma_ = false, commaGroup_ = false, hit_ = false;
};

/// Which runs of a text count: any, only the first, or only the last.
enum class Part { Any, First, Last };
/// `splitGlued`: digits glued to a letter (a code: D003, A-001) end at
/// their first separator, so the number after a code is read on its own.
bool scanText(std::string_view t, bool digests, Part part, bool splitGlued = false);

/// Byte spans of digests: read as one breaking character.
/// A UUID (8-4-4-4-12 hex digits with a letter among them) at `i`: its length, or 0.
std::size_t uuidAt(std::string_view t, std::size_t i) {
  static constexpr std::size_t kGroups[] = {8, 4, 4, 4, 12};
  if (i > 0 && (asciiAlnum(t[i - 1]) || t[i - 1] == '-')) return 0;
  std::size_t at = i;
  bool letter = false;
  for (std::size_t g = 0; g < 5; ++g) {
    if (g) {
      if (at >= t.size() || t[at] != '-') return 0;
      ++at;
    }
    for (std::size_t k = 0; k < kGroups[g]; ++k, ++at) {
      if (at >= t.size() || !asciiHex(t[at])) return 0;
      letter = letter || !(t[at] >= '0' && t[at] <= '9');
    }
  }
  if (at < t.size() && (asciiAlnum(t[at]) || t[at] == '-')) return 0;
  return letter ? at - i : 0;
}

std::vector<std::pair<std::size_t, std::size_t>> digestSpans(std::string_view t, bool& glued) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::size_t i = 0;
  while (i < t.size()) {
    if (!asciiAlnum(t[i])) {
      ++i;
      continue;
    }
    // A UUID is opaque too (its groups hold 11-digit runs by chance), but a
    // last group of twelve digits is read as what it may be.
    if (const std::size_t u = uuidAt(t, i)) {
      const std::string_view last = t.substr(i + u - 12, 12);
      if (allDigits(last) && text::isValidMyNumber(last)) glued = true;
      spans.push_back({i, i + u});
      i += u;
      continue;
    }
    std::size_t j = i;
    bool hex = true, letter = false;
    while (j < t.size() && asciiAlnum(t[j])) {
      hex = hex && asciiHex(t[j]);
      letter = letter || !(t[j] >= '0' && t[j] <= '9');
      ++j;
    }
    const std::size_t len = j - i;
    if (hex && letter && len >= kDigestLengths.front()) {
      if (std::find(kDigestLengths.begin(), kDigestLengths.end(), len) != kDigestLengths.end()) {
        spans.push_back({i, j});
      } else {
        // Digits glued to a digest: every way of reading the token as a
        // digest and digits is scanned; then the token is stepped over.
        bool split = false;
        for (std::size_t d : kDigestLengths) {
          if (d >= len) break;
          const std::string_view token = t.substr(i, len);
          if (allDigits(token.substr(d))) {
            split = true;
            // The run that begins where the digest ends (read in a window,
            // digests not looked for again: no nesting, linear work).
            if (scanText(t.substr(i + d, kGlueWindow), false, Part::First)) glued = true;
          }
          if (allDigits(token.substr(0, len - d))) {
            split = true;
            const std::size_t stop = i + len - d, start = stop > kGlueWindow ? stop - kGlueWindow : 0;
            if (scanText(t.substr(start, stop - start), false, Part::Last)) glued = true;
          }
        }
        if (split) spans.push_back({i, j});
      }
    }
    i = j;
  }
  return spans;
}

}  // namespace

int scanKind(char32_t cp, int* digit) {
  if (cp < 0x80) {
    if (cp >= '0' && cp <= '9') {
      if (digit) *digit = static_cast<int>(cp - '0');
      return kDigit;
    }
    switch (cp) {
      case ' ': case '\t': case '-': case '.': case '/': case '_': return kSeparator;
      case ',': return kComma;
      default: return kOther;
    }
  }
  const ScanRange* begin = kScanRanges;
  const ScanRange* end = kScanRanges + kScanRangeCount;
  const ScanRange* r = std::upper_bound(begin, end, cp, [](char32_t c, const ScanRange& x) { return c < x.first; });
  if (r == begin) return kOther;
  --r;
  if (cp > r->last) return kOther;
  if (r->kind == kDigit && digit) *digit = r->value + static_cast<int>(cp - r->first);
  return r->kind;
}

// Read twice: as written, and with a code's digits apart from what follows
// them ("D003 123456789018" is a code and a 個人番号, not 15 digits).
bool looksLikeIdentifier(std::string_view t) { return scanText(t, true, Part::Any) || scanText(t, true, Part::Any, true); }

namespace {

bool scanText(std::string_view t, bool digests, Part part, bool splitGlued) {
  bool glued = false;
  const auto spans = digests ? digestSpans(t, glued) : std::vector<std::pair<std::size_t, std::size_t>>();
  if (glued) return true;
  Runs runs;
  std::size_t span = 0;
  std::size_t i = 0;
  bool letterBefore = false, code = false;  // code: the run so far is digits glued to a letter
  while (i < t.size()) {
    if (span < spans.size() && spans[span].first == i) {
      runs.end();
      i = spans[span++].second;
      continue;
    }
    std::uint32_t cp;
    i += text::decodeUtf8At(t, i, cp);
    int d = 0;
    switch (scanKind(cp, &d)) {
      case kDigit:
        if (splitGlued && !runs.inRun()) code = letterBefore;
        runs.digit(d);
        break;
      case kSeparator:
        if (code) {
          runs.end();
          code = false;
        } else {
          runs.separator();
        }
        break;
      case kComma: runs.comma(); break;
      case kIgnorable: break;
      default: runs.end(); code = false; break;
    }
    letterBefore = cp < 0x80 && ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z'));
    if (part == Part::Any && runs.hit()) return true;
    if (part == Part::First && runs.runs() > 0) return runs.firstHit();
  }
  runs.end();
  return part == Part::Any ? runs.hit() : part == Part::First ? runs.firstHit() : runs.lastHit();
}

}  // namespace

// ---------------------------------------------------------------------------
// Value patterns

struct ValuePattern::Atom {
  std::vector<std::pair<char32_t, char32_t>> ranges;  // code point ranges
  std::size_t lo = 1, hi = 1;                          // repetitions; hi == npos: unbounded
  std::size_t from = 0, to = 0;                        // its characters in the pattern (for messages)
  bool contains(char32_t cp) const {
    for (const auto& [a, b] : ranges)
      if (cp >= a && cp <= b) return true;
    return false;
  }
};

ValuePattern::~ValuePattern() = default;

namespace {

constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kMaxRepeat = 1000;
constexpr std::size_t kMaxAtoms = 64;
constexpr std::size_t kMaxMatchedChars = 1024;

std::vector<char32_t> codePoints(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp;
    i += text::decodeUtf8At(s, i, cp);
    out.push_back(cp);
  }
  return out;
}

bool readNumber(const std::vector<char32_t>& p, std::size_t& i, std::size_t& n) {
  const std::size_t start = i;
  n = 0;
  while (i < p.size() && p[i] >= '0' && p[i] <= '9' && n <= kMaxRepeat) n = n * 10 + (p[i++] - '0');
  return i > start && n <= kMaxRepeat;
}

}  // namespace

std::unique_ptr<ValuePattern> ValuePattern::compile(const std::string& pattern, std::string& error) {
  std::unique_ptr<ValuePattern> out(new ValuePattern);
  std::vector<char32_t> p = codePoints(pattern);
  std::size_t i = 0;
  if (!p.empty() && p.front() == '^') ++i;
  std::size_t last = p.size();
  if (last > i && p.back() == '$' && !(last >= 2 && p[last - 2] == '\\')) --last;
  auto fail = [&](std::size_t at, const std::string& what) {
    error = "pattern, character " + std::to_string(at + 1) + ": " + what;
    return nullptr;
  };
  while (i < last) {
    Atom a;
    a.from = i;
    const char32_t c = p[i];
    if (c == '\\') {
      if (++i >= last) return fail(i - 1, "'\\' at the end");
      if (p[i] == 'd') a.ranges.push_back({'0', '9'});
      else a.ranges.push_back({p[i], p[i]});
      ++i;
    } else if (c == '[') {
      ++i;
      if (i < last && p[i] == '^') return fail(i, "negated classes [^…] are not supported: list the characters allowed");
      while (i < last && p[i] != ']') {
        char32_t from = p[i];
        if (from == '\\' && i + 1 < last) from = p[++i] == 'd' ? U'\x01' : p[i];
        ++i;
        if (from == U'\x01') {
          a.ranges.push_back({'0', '9'});
          continue;
        }
        if (i + 1 < last && p[i] == '-' && p[i + 1] != ']') {
          char32_t to = p[i + 1];
          if (to == '\\' && i + 2 < last) to = p[i + 2], ++i;
          if (to < from) return fail(i, "a range that runs backwards");
          a.ranges.push_back({from, to});
          i += 2;
        } else {
          a.ranges.push_back({from, from});
        }
      }
      if (i >= last) return fail(a.from, "'[' without ']'");
      if (a.ranges.empty()) return fail(a.from, "an empty class []");
      ++i;
    } else if (c == '.' || c == '(' || c == ')' || c == '|') {
      return fail(i, std::string("'") + static_cast<char>(c) +
                         "' is not supported: a value pattern is characters and classes with counts");
    } else if (c == '{' || c == '}' || c == '*' || c == '+' || c == '?') {
      return fail(i, "a count with nothing before it");
    } else {
      a.ranges.push_back({c, c});
      ++i;
    }
    if (i < last) {
      if (p[i] == '?') a.lo = 0, a.hi = 1, ++i;
      else if (p[i] == '*') a.lo = 0, a.hi = kUnbounded, ++i;
      else if (p[i] == '+') a.lo = 1, a.hi = kUnbounded, ++i;
      else if (p[i] == '{') {
        ++i;
        if (!readNumber(p, i, a.lo)) return fail(i, "a count {n} or {n,m} of at most 1000");
        a.hi = a.lo;
        if (i < last && p[i] == ',') {
          ++i;
          if (i < last && p[i] == '}') a.hi = kUnbounded;
          else if (!readNumber(p, i, a.hi) || a.hi < a.lo) return fail(i, "a count {n,m} with n <= m <= 1000");
        }
        if (i >= last || p[i] != '}') return fail(i, "'}' expected");
        ++i;
      }
    }
    a.to = i;
    out->atoms_.push_back(std::move(a));
    if (out->atoms_.size() > kMaxAtoms) return fail(i, "more than 64 parts");
  }
  if (out->atoms_.empty()) return fail(0, "an empty pattern");
  return out;
}

bool ValuePattern::matches(std::string_view value) const {
  const std::vector<char32_t> v = codePoints(value);
  if (v.size() > kMaxMatchedChars) return false;
  std::vector<char> reach(v.size() + 1, 0), next(v.size() + 1, 0);
  reach[0] = 1;
  for (const Atom& a : atoms_) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (std::size_t pos = 0; pos <= v.size(); ++pos) {
      if (!reach[pos]) continue;
      for (std::size_t k = 0;; ++k) {
        if (k >= a.lo) next[pos + k] = 1, any = true;
        if (k == a.hi || pos + k >= v.size() || !a.contains(v[pos + k])) break;
      }
    }
    if (!any) return false;
    reach.swap(next);
  }
  return reach[v.size()] != 0;
}

std::optional<std::string> ValuePattern::canHoldIdentifier() const {
  // What each part can be, read the way the scan reads characters.
  struct Part {
    bool digit = false, joins = false, other = false, vanish = false;
    std::size_t lo = 0, hi = 0;  // digits it contributes when wholly inside a run
  };
  std::vector<Part> parts;
  for (const Atom& a : atoms_) {
    Part part;
    for (const auto& [from, to] : a.ranges) {
      // A wide range is sampled at the table's edges and every ASCII point.
      if (to - from > 0x400) part.other = true;
      for (char32_t cp = from; cp <= to && cp - from <= 0x400; ++cp) {
        switch (scanKind(cp)) {
          case kDigit: part.digit = true; break;
          case kSeparator: case kComma: part.joins = true; break;
          case kIgnorable: part.vanish = true; break;
          default: part.other = true; break;
        }
      }
    }
    const bool onlyDigits = part.digit && !part.joins && !part.other && !part.vanish;
    part.hi = part.digit ? a.hi : 0;
    part.lo = onlyDigits ? a.lo : 0;
    parts.push_back(part);
  }
  // A run can begin at the pattern's start, after a part that can break or
  // join, or inside a part that can (then it takes only some of its digits).
  auto canSplit = [&](std::size_t k) { return parts[k].joins || parts[k].other; };
  auto sat = [](std::size_t a, std::size_t b) { return a > kUnbounded - b ? kUnbounded : a + b; };
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].digit) continue;
    const bool startsHere = i == 0 || canSplit(i - 1) || canSplit(i);
    if (!startsHere) continue;
    std::size_t lo = 0, hi = 0;
    for (std::size_t j = i; j < parts.size(); ++j) {
      // A part that can break the run but is not its end must join it.
      if (j > i && parts[j - 1].other && !parts[j - 1].joins && !parts[j - 1].digit) break;
      const bool partial = (j == i && canSplit(i));
      lo = sat(lo, partial ? 0 : parts[j].lo);
      hi = sat(hi, parts[j].hi);
      const bool endsHere = j + 1 == parts.size() || canSplit(j + 1) || canSplit(j);
      if (!endsHere) continue;
      const std::size_t endLo = canSplit(j) && j != i ? lo - std::min(lo, parts[j].lo) : lo;
      if (endLo <= 12 && hi >= 11) {
        const Atom& first = atoms_[i];
        const Atom& lastAtom = atoms_[j];
        return "characters " + std::to_string(first.from + 1) + "-" + std::to_string(lastAtom.to) +
               " of the pattern can make a run of " + std::to_string(endLo) + " to " +
               (hi == kUnbounded ? std::string("any number of") : std::to_string(hi)) +
               " digits, so a matching value can hold an 11- or 12-digit identifier";
      }
    }
  }
  return std::nullopt;
}

}  // namespace renkei::mapping
