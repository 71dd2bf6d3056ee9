// Mapping transforms and check rules (design.md "Transform definitions").
#include "mapping/transforms.h"

#include <cctype>

#include <filesystem>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <cstdlib>
#include <ctime>
#include <regex>

#include "renkei/support/diagnostics.h"
#include "renkei/support/check_digits.h"
#include "renkei/support/codec.h"
#include "renkei/support/era.h"
#include "renkei/support/normalize.h"

namespace renkei::mapping {
namespace {

// "name(args)" → name, args; "name" → name, nullopt.
std::pair<std::string, std::optional<std::string>> splitCall(const std::string& step) {
  const auto open = step.find('(');
  if (open == std::string::npos || step.back() != ')') return {step, std::nullopt};
  return {step.substr(0, open), step.substr(open + 1, step.size() - open - 2)};
}

std::string trimAscii(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

bool parseCount(const std::string& text, std::size_t& n) {
  const std::string t = trimAscii(text);
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  return !t.empty() && ec == std::errc() && ptr == t.data() + t.size() && n <= 4096;
}

// Code points of UTF-8 text, as byte offsets of each character start.
std::vector<std::size_t> charStarts(std::string_view s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  return starts;
}

bool isSpace(std::uint32_t cp) { return cp == 0x20 || cp == 0x09 || cp == 0x3000; }

// Decodes the code point at s[i]; invalid bytes count as one character.
std::size_t next(std::string_view s, std::size_t i, std::uint32_t& cp) { return text::decodeUtf8At(s, i, cp); }

class FnTransform : public Transform {
 public:
  explicit FnTransform(std::string (*fn)(std::string_view)) : fn_(fn) {}
  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    out = fn_(in);
    return true;
  }

 private:
  std::string (*fn_)(std::string_view);
};

std::string trimSpaces(std::string_view s) {
  std::size_t start = 0, end = s.size();
  while (start < end) {
    std::uint32_t cp;
    const std::size_t len = next(s, start, cp);
    if (!isSpace(cp)) break;
    start += len;
  }
  while (end > start) {
    std::size_t k = end - 1;
    while (k > start && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
    std::uint32_t cp;
    next(s, k, cp);
    if (!isSpace(cp)) break;
    end = k;
  }
  return std::string(s.substr(start, end - start));
}

std::string collapseSpaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool inRun = false;
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp;
    const std::size_t len = next(s, i, cp);
    if (isSpace(cp)) {
      if (!inRun) out.push_back(' ');
      inRun = true;
    } else {
      out.append(s, i, len);
      inRun = false;
    }
    i += len;
  }
  return out;
}

class EraDate : public Transform {
 public:
  explicit EraDate(text::EraFormat f) : format_(f) {}
  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    return text::eraToIsoInto(in, format_, {}, out);
  }

 private:
  text::EraFormat format_;
};

class ToEra : public Transform {
 public:
  explicit ToEra(text::EraFormat f) : format_(f) {}
  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    auto era = text::isoToEra(in, format_);
    if (!era) return false;
    out = *era;
    return true;
  }

 private:
  text::EraFormat format_;
};

class GregorianDate : public Transform {
 public:
  explicit GregorianDate(std::string pattern) : pattern_(std::move(pattern)) {}
  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    auto iso = text::gregorianToIso(in, pattern_);
    if (!iso) return false;
    out = *iso;
    return true;
  }

 private:
  std::string pattern_;
};

class CountTransform : public Transform {
 public:
  enum class Kind { ZeroPad, Left, Right, Mask };
  CountTransform(Kind kind, std::size_t n) : kind_(kind), n_(n) {}

  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    if (kind_ == Kind::Mask) {
      // Every character but the last N becomes '*' (the length is kept);
      // never more than half of the value is kept, so a short value is
      // masked whole instead of passing unchanged.
      std::size_t chars = 0;
      for (char c : in) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      const std::size_t kept = std::min(n_, chars / 2);
      const std::size_t masked = chars - kept;
      std::size_t at = 0;
      for (std::size_t seen = 0; at < in.size(); ++at) {
        if ((static_cast<unsigned char>(in[at]) & 0xC0) != 0x80 && seen++ == masked) break;
      }
      out.assign(masked, '*');
      out.append(in.substr(at));
      return true;
    }
    const auto starts = charStarts(in);
    const std::size_t chars = starts.size();
    switch (kind_) {
      case Kind::ZeroPad:
        out.assign(chars < n_ ? n_ - chars : 0, '0');
        out.append(in);
        return true;
      case Kind::Left:
        out.assign(in.substr(0, chars <= n_ ? in.size() : starts[n_]));
        return true;
      case Kind::Right:
        out.assign(in.substr(chars <= n_ ? 0 : starts[chars - n_]));
        return true;
      case Kind::Mask:
        break;  // handled above
    }
    return false;
  }
  // A mask that keeps more than a few characters leaves the value
  // identifying (mask(1000) keeps it whole): it does not lower the class.
  bool lowersPii() const override { return kind_ == Kind::Mask && n_ <= kMaskMaxKept; }

 private:
  Kind kind_;
  std::size_t n_;
};

class Pseudonym : public Transform {
 public:
  explicit Pseudonym(std::string key) : key_(std::move(key)) {}
  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(in.data()),
              in.size(), md, &len))
      return false;
    static constexpr char kHex[] = "0123456789abcdef";
    out.clear();
    for (unsigned int i = 0; i < len; ++i) {
      out.push_back(kHex[md[i] >> 4]);
      out.push_back(kHex[md[i] & 0xF]);
    }
    return true;
  }
  bool lowersPii() const override { return true; }
  bool hidesInput() const override { return true; }

 private:
  std::string key_;
};

// concat(a, 'literal', b …): the value followed by each argument, a source
// field or a quoted literal.
class Concat : public Transform {
 public:
  struct Part {
    int field = -1;
    std::string literal;
  };
  explicit Concat(std::vector<Part> parts) : parts_(std::move(parts)) {}
  bool apply(std::string_view in, std::string& out, const TransformContext& context) const override {
    out.assign(in);
    for (const Part& p : parts_) {
      if (p.field >= 0 && context.sourceValues) out.append((*context.sourceValues)[static_cast<std::size_t>(p.field)]);
      else out.append(p.literal);
    }
    return true;
  }
  std::vector<int> readsFields() const override {
    std::vector<int> out;
    for (const Part& p : parts_)
      if (p.field >= 0) out.push_back(p.field);
    return out;
  }

 private:
  std::vector<Part> parts_;
};

// split-name(surname|given): a name written "surname<space>given" (U+3000
// or U+0020) split at the first run of spaces. No space: not splittable.
class SplitName : public Transform {
 public:
  explicit SplitName(bool given) : given_(given) {}
  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    std::size_t i = 0, spaceStart = std::string_view::npos, spaceEnd = 0;
    while (i < in.size()) {
      std::uint32_t cp;
      const std::size_t len = next(in, i, cp);
      if (isSpace(cp)) {
        if (spaceStart == std::string_view::npos) spaceStart = i;
        spaceEnd = i + len;
      } else if (spaceStart != std::string_view::npos) {
        break;
      }
      i += len;
    }
    if (spaceStart == std::string_view::npos || spaceStart == 0 || spaceEnd >= in.size()) return false;
    out.assign(given_ ? in.substr(spaceEnd) : in.substr(0, spaceStart));
    return true;
  }

 private:
  bool given_;
};

// age-band(N[, YYYY-MM-DD]): an ISO birth date → the band of N years the
// age falls in on the reference date (default: today), e.g. "30-39". A band
// is not personal: the transform lowers the class to none.
class AgeBand : public Transform {
 public:
  AgeBand(std::size_t width, int refYear, int refMonth, int refDay)
      : width_(width), y_(refYear), m_(refMonth), d_(refDay) {}
  bool apply(std::string_view in, std::string& out, const TransformContext&) const override {
    auto iso = text::gregorianToIso(in, "yyyy-mm-dd");
    if (!iso) return false;
    const int by = std::stoi(iso->substr(0, 4)), bm = std::stoi(iso->substr(5, 2)), bd = std::stoi(iso->substr(8, 2));
    int age = y_ - by - ((m_ < bm || (m_ == bm && d_ < bd)) ? 1 : 0);
    if (age < 0) return false;
    const std::size_t lo = static_cast<std::size_t>(age) / width_ * width_;
    out = width_ == 1 ? std::to_string(lo) : std::to_string(lo) + "-" + std::to_string(lo + width_ - 1);
    return true;
  }
  bool lowersPii() const override { return true; }

 private:
  std::size_t width_;
  int y_, m_, d_;
};

// Splits "a, 'b, c', d" at top-level commas, keeping quoted parts whole.
std::vector<std::string> splitArgs(const std::string& args) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  for (char c : args) {
    if (quote) {
      cur.push_back(c);
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
      cur.push_back(c);
    } else if (c == ',') {
      out.push_back(trimAscii(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(trimAscii(cur));
  return out;
}

const char* const kTransformNames[] = {
    "trim", "collapse-spaces", "upper", "lower", "to-fullwidth", "to-halfwidth", "kana-fullwidth",
    "hiragana-to-katakana", "era-date", "to-era", "date", "zero-pad", "left", "right", "mask", "pseudonym",
    "concat", "split-name", "age-band"};

}  // namespace

std::optional<std::string> readKeyFile(const std::string& file, std::string& key) {
  // A folder, a FIFO or a device named as a key file is refused, not read
  // (reading a folder threw out of `renkei check`; the config fuzzer found it).
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return "cannot read '" + file + "': no such file";
  if (!std::filesystem::is_regular_file(file, ec)) return "'" + file + "' is not a regular file";
  if (std::filesystem::file_size(file, ec) > 4096 || ec) return "'" + file + "' is larger than a key (4 KiB at most)";
  std::ifstream in(file, std::ios::binary);
  if (!in) return "cannot read '" + file + "'";
  key.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return "cannot read '" + file + "'";
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.size() < 16)
    return "'" + file + "' holds " + std::to_string(key.size()) +
           " bytes; a key needs at least 16 (e.g. head -c 32 /dev/urandom | base64)";
  return std::nullopt;
}

std::vector<std::string> transformNames() { return {std::begin(kTransformNames), std::end(kTransformNames)}; }

std::vector<std::string> splitPipeline(const std::string& pipeline) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  char quote = 0;
  for (char c : pipeline) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      out.push_back(trimAscii(cur));
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  out.push_back(trimAscii(cur));
  return out;
}

std::unique_ptr<Transform> compileTransform(const std::string& step, const CompileEnv& env, std::string& error) {
  // Named variables, not a structured binding: the lambdas below capture
  // them (clang 14, which builds the fuzz targets, cannot capture bindings).
  const auto call = splitCall(step);
  const auto& name = call.first;
  const auto& args = call.second;
  static const std::map<std::string, std::string (*)(std::string_view)> kSimple = {
      {"trim", &trimSpaces},
      {"collapse-spaces", &collapseSpaces},
      {"upper", &text::toUpper},
      {"lower", &text::toLower},
      {"to-fullwidth", &text::toFullwidth},
      {"to-halfwidth", &text::toHalfwidth},
      {"kana-fullwidth", &text::kanaFullwidth},
      {"hiragana-to-katakana", &text::hiraganaToKatakana},
  };
  if (auto it = kSimple.find(name); it != kSimple.end()) {
    if (args) {
      error = "transform '" + name + "' takes no arguments";
      return nullptr;
    }
    return std::make_unique<FnTransform>(it->second);
  }
  auto needArg = [&](const char* what) -> bool {
    if (args && !trimAscii(*args).empty()) return true;
    error = "transform '" + name + "' needs an argument: " + what;
    return false;
  };
  if (name == "era-date" || name == "to-era") {
    if (!needArg("the era format (gyymmdd, ggyymmdd, jis-x0301, kanji)")) return nullptr;
    auto f = text::parseEraFormat(trimAscii(*args));
    if (!f) {
      const std::vector<std::string> valid{"gyymmdd", "ggyymmdd", "jis-x0301", "kanji"};
      error = name + "(" + *args + "): unknown era format '" + trimAscii(*args) + "'" + didYouMean(trimAscii(*args), valid) +
              " valid: " + joinList(valid);
      return nullptr;
    }
    if (name == "era-date") return std::make_unique<EraDate>(*f);
    return std::make_unique<ToEra>(*f);
  }
  if (name == "date") {
    if (!needArg("the pattern (yyyymmdd, yyyy/mm/dd, yyyy-mm-dd)")) return nullptr;
    const std::string p = trimAscii(*args);
    if (p != "yyyymmdd" && p != "yyyy/mm/dd" && p != "yyyy-mm-dd") {
      error = "date(" + p + "): unknown pattern; valid: yyyymmdd, yyyy/mm/dd, yyyy-mm-dd";
      return nullptr;
    }
    return std::make_unique<GregorianDate>(p);
  }
  static const std::map<std::string, CountTransform::Kind> kCounts = {
      {"zero-pad", CountTransform::Kind::ZeroPad},
      {"left", CountTransform::Kind::Left},
      {"right", CountTransform::Kind::Right},
      {"mask", CountTransform::Kind::Mask},
  };
  if (auto it = kCounts.find(name); it != kCounts.end()) {
    if (!needArg("a number of characters")) return nullptr;
    std::size_t n = 0;
    if (!parseCount(*args, n)) {
      error = name + "(" + *args + "): '" + *args + "' is not a number of characters (0 to 4096)";
      return nullptr;
    }
    return std::make_unique<CountTransform>(it->second, n);
  }
  if (name == "pseudonym") {
    if (!needArg("a key id")) return nullptr;
    const std::string id = trimAscii(*args);
    if (!env.keys || !env.keys->count(id)) {
      error = "pseudonym(" + id + "): no key '" + id +
              "' (declare <key id=\"" + id + "\" file=\"…\"/> in the config, or give --key " + id + "=FILE)";
      return nullptr;
    }
    return std::make_unique<Pseudonym>(env.keys->at(id));
  }
  if (name == "concat") {
    if (!needArg("source fields and quoted literals")) return nullptr;
    std::vector<Concat::Part> parts;
    for (const std::string& a : splitArgs(*args)) {
      Concat::Part part;
      if (a.size() >= 2 && (a.front() == '\'' || a.front() == '"') && a.back() == a.front()) {
        part.literal = a.substr(1, a.size() - 2);
      } else {
        part.field = env.layout ? env.layout->fieldIndex(a) : -1;
        if (part.field < 0) {
          std::vector<std::string> names;
          if (env.layout)
            for (const auto& f : env.layout->fields) names.push_back(f.name);
          error = "concat: '" + a + "' is not a source field" + didYouMean(a, names) +
                  " (quote literals: concat(' ', 方書))";
          return nullptr;
        }
      }
      parts.push_back(std::move(part));
    }
    return std::make_unique<Concat>(std::move(parts));
  }
  if (name == "split-name") {
    const std::string part = args ? trimAscii(*args) : "";
    if (part != "surname" && part != "given") {
      error = "split-name needs the part to keep: split-name(surname) or split-name(given)";
      return nullptr;
    }
    return std::make_unique<SplitName>(part == "given");
  }
  if (name == "age-band") {
    if (!needArg("the band width in years, and optionally the reference date: age-band(10, 2025-04-01)")) return nullptr;
    const auto parts = splitArgs(*args);
    std::size_t width = 0;
    if (!parseCount(parts[0], width) || width == 0 || width > 100) {
      error = "age-band(" + *args + "): '" + parts[0] + "' is not a band width in years (1 to 100)";
      return nullptr;
    }
    int y, m, d;
    if (parts.size() > 1) {
      auto iso = text::gregorianToIso(parts[1], "yyyy-mm-dd");
      if (!iso || parts.size() > 2) {
        error = "age-band(" + *args + "): the reference date must be YYYY-MM-DD";
        return nullptr;
      }
      y = std::stoi(iso->substr(0, 4));
      m = std::stoi(iso->substr(5, 2));
      d = std::stoi(iso->substr(8, 2));
    } else if (const char* today = std::getenv("RENKEI_TODAY"); today && text::gregorianToIso(today, "yyyy-mm-dd")) {
      // RENKEI_TODAY=YYYY-MM-DD re-runs a mapping as of another day (and
      // keeps golden tests stable); see docs/mappings.md.
      y = std::stoi(std::string(today, 4));
      m = std::stoi(std::string(today + 5, 2));
      d = std::stoi(std::string(today + 8, 2));
    } else {
      const std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      y = local.tm_year + 1900;
      m = local.tm_mon + 1;
      d = local.tm_mday;
    }
    return std::make_unique<AgeBand>(width, y, m, d);
  }
  if (name == "postal-address") {
    error = "transform 'postal-address' needs an address dictionary, which this version does not have";
    return nullptr;
  }
  error = "unknown transform '" + name + "'" + didYouMean(name, transformNames()) +
          " valid: " + joinList(transformNames());
  return nullptr;
}

namespace {

class FnCheck : public CheckRule {
 public:
  FnCheck(bool (*fn)(std::string_view), bool warnOnly) : fn_(fn), warnOnly_(warnOnly) {}
  bool passes(std::string_view v) const override { return fn_(v); }
  bool warnOnly() const override { return warnOnly_; }

 private:
  bool (*fn_)(std::string_view);
  bool warnOnly_;
};

class DigitsCheck : public CheckRule {
 public:
  explicit DigitsCheck(std::size_t n) : n_(n) {}
  bool passes(std::string_view v) const override {
    if (v.empty() || (n_ && v.size() != n_)) return false;
    for (char c : v)
      if (c < '0' || c > '9') return false;
    return true;
  }

 private:
  std::size_t n_;
};

class RegexCheck : public CheckRule {
 public:
  explicit RegexCheck(std::regex re) : re_(std::move(re)) {}
  bool passes(std::string_view v) const override { return std::regex_match(v.begin(), v.end(), re_); }

 private:
  std::regex re_;
};

bool nonEmpty(std::string_view v) { return !v.empty(); }

bool isDate(std::string_view v) {
  for (const char* p : {"yyyy-mm-dd", "yyyymmdd", "yyyy/mm/dd"})
    if (text::gregorianToIso(v, p)) return true;
  return false;
}

const char* const kCheckNames[] = {"mynumber",      "corporate-number", "lg-code", "juminhyo-code",
                                   "residence-card-number", "required", "digits", "date", "regex"};

}  // namespace

std::vector<std::string> checkNames() { return {std::begin(kCheckNames), std::end(kCheckNames)}; }

std::unique_ptr<CheckRule> compileCheck(const std::string& rule, std::string& error) {
  const auto [name, args] = splitCall(rule);
  static const std::map<std::string, std::pair<bool (*)(std::string_view), bool>> kSimple = {
      {"mynumber", {&text::isValidMyNumber, false}},
      {"corporate-number", {&text::isValidCorporateNumber, false}},
      {"lg-code", {&text::isValidLgCode, false}},
      {"juminhyo-code", {&text::isValidJuminhyoCode, true}},
      {"residence-card-number", {&text::isValidResidenceCardNumber, false}},
      {"required", {&nonEmpty, false}},
      {"date", {&isDate, false}},
  };
  if (auto it = kSimple.find(name); it != kSimple.end()) {
    if (args) {
      error = "check '" + name + "' takes no arguments";
      return nullptr;
    }
    return std::make_unique<FnCheck>(it->second.first, it->second.second);
  }
  if (name == "digits") {
    std::size_t n = 0;
    if (args && !parseCount(*args, n)) {
      error = "digits(" + *args + "): '" + *args + "' is not a number of digits";
      return nullptr;
    }
    return std::make_unique<DigitsCheck>(n);
  }
  if (name == "regex") {
    if (!args || args->empty()) {
      error = "regex needs a pattern: regex(^[0-9]{3}-[0-9]{4}$)";
      return nullptr;
    }
    try {
      return std::make_unique<RegexCheck>(std::regex(*args, std::regex::ECMAScript | std::regex::optimize));
    } catch (const std::regex_error& e) {
      error = "regex(" + *args + "): not a valid pattern: " + e.what();
      return nullptr;
    }
  }
  error = "unknown check rule '" + name + "'" + didYouMean(name, checkNames()) + " valid: " + joinList(checkNames());
  return nullptr;
}

}  // namespace renkei::mapping
