// Formal review (形式審査): each item against the procedure's rules, the
// members of a household, the attachments against the manifest, and the
// applicant against the resident register (by the signing certificate's
// serial, or by 4 情報). Messages name items and rules, never values.
#include "review.h"

#include <algorithm>
#include <functional>
#include <regex>

#include "renkei/support/check_digits.h"
#include "renkei/text.h"
#include "review_internal.h"

namespace renkei::plugins::review {

using namespace detail;

namespace {

const std::regex kPostalCode("[0-9]{3}-?[0-9]{4}");
const std::regex kPhone("[0-9][0-9-]{8,12}[0-9]");
constexpr std::size_t kMaxPatternBytes = 256;

/// The named format's problem with `v`, if any (date, digits, katakana,
/// postal-code, phone).
std::optional<Finding> formatProblem(const FieldRule& r, const std::string& v, const std::string& sent,
                                     const std::string& what) {
  if (r.format == "date") {
    if (!calendar::parseIso(v)) return Finding{"date", sent, false, what + " is not a real date (YYYY-MM-DD; e.g. no 2月30日)"};
  } else if (r.format == "digits" && !allDigits(v)) {
    return Finding{"format", sent, false, what + " must be half-width digits"};
  } else if (r.format == "katakana" && !allKatakana(v)) {
    return Finding{"format", sent, false, what + " must be full-width katakana"};
  } else if (r.format == "postal-code" && !std::regex_match(v, kPostalCode)) {
    return Finding{"format", sent, false, what + " is not a postal code (NNN-NNNN)"};
  } else if (r.format == "phone" && !std::regex_match(v, kPhone)) {
    return Finding{"format", sent, false, what + " is not a phone number (digits and hyphens)"};
  }
  return std::nullopt;
}

/// One item's rules. `scope` is the prefix of the applicant's or member's
/// other items (required-when reads them): "" or "member.<n>.".
void checkField(const FieldRule& r, const Fields& fields, const std::string& sent, const std::string& label,
                const std::string& scope, std::vector<Finding>& out) {
  const std::string v = valueOf(fields, sent);
  const std::string what = label + " (" + sent + ")";
  bool required = r.required;
  if (!r.requiredWhenField.empty())
    required = required || valueOf(fields, scope + r.requiredWhenField) == r.requiredWhenValue;
  if (v.empty()) {
    if (required) out.push_back({"required", sent, false, what + " is required and missing"});
    return;  // the other rules apply to what is there
  }
  if (utf8Length(v) > r.maxLength) {
    out.push_back({"length", sent, false, what + " is longer than " + std::to_string(r.maxLength) + " characters"});
    return;
  }
  // What an applicant types holds no line break or control character (a
  // name holds none), and no private-use character: that area is the core
  // system's 外字, which only the conversion table maps into.
  if (const auto bad = badCharacter(v)) {
    out.push_back({"characters", sent, false, what + " holds " + *bad});
    return;
  }
  if (auto problem = formatProblem(r, v, sent, what)) out.push_back(std::move(*problem));
  // std::regex recurses per character: a long value against a config's
  // pattern could exhaust the stack. Longer values are not matched (staff
  // see why) — a pattern is for short codes.
  if (r.regex && v.size() > kMaxPatternBytes)
    out.push_back({"pattern", sent, false,
                   what + " is longer than " + std::to_string(kMaxPatternBytes) + " bytes, too long to check against its pattern"});
  else if (r.regex && !std::regex_match(v, *r.regex))
    out.push_back({"pattern", sent, false, what + " does not have the form the procedure asks for"});
  if (!r.checkDigit.empty()) {
    const bool ok = r.checkDigit == "mynumber"         ? text::isValidMyNumber(v)
                    : r.checkDigit == "juminhyo-code"  ? text::isValidJuminhyoCode(v)
                    : r.checkDigit == "residence-card" ? text::isValidResidenceCardNumber(v)
                                                       : text::isValidCorporateNumber(v);
    if (!ok) out.push_back({"check-digit", sent, false, what + ": the check digit is wrong (" + r.checkDigit + ")"});
  }
  if (!r.values.empty() && std::find(r.values.begin(), r.values.end(), v) == r.values.end())
    out.push_back({"values", sent, false, what + " is not one of the values the procedure lists"});
}

/// Members: each one present (any of its items sent) is checked whole.
void checkMembers(const Procedure& p, const Fields& fields, std::vector<Finding>& out) {
  if (p.memberFields.empty()) return;
  int present = 0;
  for (int n = 1; n <= p.maxMembers; ++n) {
    if (!memberPresent(fields, n)) continue;
    ++present;
    const std::string prefix = "member." + std::to_string(n) + ".";
    for (const FieldRule& r : p.memberFields)
      checkField(r, fields, prefix + r.name, "世帯員" + std::to_string(n) + " " + r.label, prefix, out);
  }
  if (present < p.minMembers)
    out.push_back({"members", "", false,
                   "the application lists " + std::to_string(present) + " members; the procedure needs at least " +
                       std::to_string(p.minMembers)});
}

/// Attachments: required ones present, each one's bytes as the manifest says.
void checkAttachments(const Procedure& p, const std::vector<AttachmentIn>& attachments,
                      const std::map<std::string, std::string>& received, std::vector<Finding>& out) {
  for (const AttachmentRule& a : p.attachments) {
    auto it = std::find_if(attachments.begin(), attachments.end(), [&](const AttachmentIn& x) { return x.name == a.name; });
    const std::string named = "attachment " + a.label + " (" + a.name + ")";
    if (it == attachments.end()) {
      if (a.required) out.push_back({"attachment", a.name, false, named + " is required and missing"});
      continue;
    }
    std::string actual;
    if (auto r = received.find(a.name); r != received.end()) actual = r->second;
    out.push_back(actual.empty()          ? Finding{"attachment", a.name, false, named + " is listed but was not received"}
                  : actual != it->sha256 ? Finding{"attachment", a.name, false,
                                                   named + ": its SHA-256 does not match the manifest"}
                                         : Finding{"attachment", a.name, true, named + " as listed"});
  }
}

/// The register match item by item (items the applicant left empty are not judged).
void itemFindings(const MatchResult& m, const FourItems& said, std::vector<Finding>& out) {
  for (const ItemResult& item : m.items) {
    if (item.item == "sex" && said.sex.empty()) continue;
    if (item.item == "address" && said.address.empty()) continue;
    if (item.item == "name" && said.name.empty()) continue;
    if (item.item == "birth" && said.birth.empty()) continue;
    const bool ok = item.verdict == Verdict::Same || item.verdict == Verdict::SameAfterNormalising;
    std::string msg = "4 情報 " + item.item + ": " + verdictName(item.verdict);
    if (!item.normalisation.empty()) msg += " (" + item.normalisation + ")";
    out.push_back({"match." + item.item, "", ok, msg});
  }
}

}  // namespace

std::vector<Finding> Review::formalReview(const Procedure& p, const Fields& fields,
                                          const std::vector<AttachmentIn>& attachments,
                                          const std::map<std::string, std::string>& received,
                                          const std::string& certificateSerial, std::string& residentCode) {
  std::vector<Finding> out;
  FourItems said;
  for (const FieldRule& r : p.fields) {
    const std::string v = valueOf(fields, r.name);
    if (r.match == "name") said.name = v;
    else if (r.match == "birth") said.birth = v;
    else if (r.match == "sex") said.sex = v;
    else if (r.match == "address") said.address = v;
    checkField(r, fields, r.name, r.label, "", out);
  }
  checkMembers(p, fields, out);
  checkAttachments(p, attachments, received, out);
  // The register: by the signing certificate's serial when the application
  // carries one (the resident system's mapping table), else by 氏名 and
  // 生年月日; then item by item.
  if (p.registerRequired && !certificateSerial.empty())
    matchByCertificate(said, certificateSerial, residentCode, out);
  else if (p.registerRequired && !said.name.empty() && !said.birth.empty())
    matchByName(said, residentCode, out);
  // A name the family registry holds only as Unicode: shown, not failed
  // (the applicant's text may well be right; the glyph on file is unknown).
  if (!residentCode.empty() && !said.name.empty()) {
    std::string fields;
    state_.read([&](StateSession& s) {
      s.query("SELECT fields FROM " + lossy_ + " WHERE resident_code = ?", {residentCode},
              [&](StateRows& row) { fields = row.text(0); });
    });
    if (!fields.empty())
      out.push_back({"lossy.name", "", true,
                     "the 戸籍 holds this person's " + fields +
                         " as Unicode only (lossy: no 統一文字番号): compare the name with the 戸籍's glyph"});
  }
  // A draft read from a scan (the ocr connector): the fields its reading
  // marked for review (names always, low confidence, failed checks), by
  // their names on the form — shown, for staff to check against the paper.
  if (const std::string marked = valueOf(fields, "ocr_review"); !marked.empty())
    out.push_back({"ocr.review", "ocr_review", true, "read from a scan: check these fields against the paper: " + marked});
  // … and where the register spells the person with a character the
  // scanner's model cannot produce at all (Debian's jpn has no 髙, 﨑, 紬,
  // 颯), the reading can never match: said, so staff keep the register's
  // spelling after checking the paper rather than "correct" it to the reading.
  if (!options_.ocrCharacters.empty() && !residentCode.empty() && !valueOf(fields, "ocr_document").empty()) {
    const auto registered = registerItems(residentCode);
    for (const char* item : {"name", "address"}) {
      auto it = registered.find(item);
      if (it == registered.end()) continue;
      std::size_t missing = 0;
      for (char32_t c : utf8CodePoints(it->second))
        if (c >= 0x80 && !options_.ocrCharacters.count(c)) ++missing;
      if (missing)
        out.push_back({"ocr.lossy", item, true,
                       std::string("the register's ") + (item == std::string("name") ? "氏名" : "住所") + " has " +
                           std::to_string(missing) + " character(s) the scanner's model cannot produce (lossy): the " +
                           "reading cannot match it — check the paper and keep the register's spelling"});
    }
  }
  return out;
}

void Review::matchByCertificate(const FourItems& said, const std::string& serial, std::string& residentCode,
                                std::vector<Finding>& out) {
  std::optional<std::string> code;
  std::optional<RegisterEntry> resident;
  state_.read([&](StateSession& s) {
    s.query("SELECT resident_code FROM " + certificates_ + " WHERE serial = ?", {serial},
            [&](StateRows& row) { code = row.text(0); });
    if (code)
      s.query("SELECT resident_code, name, birth, sex, address, status FROM " + residents_ + " WHERE resident_code = ?",
              {*code}, [&](StateRows& row) {
                resident = RegisterEntry{row.text(0), row.text(5), {row.text(1), row.text(2), row.text(3), row.text(4)}};
              });
  });
  if (!code) {
    out.push_back({"register", "", false,
                   "the signing certificate's serial is not in the mapping table (シリアル番号対応表) of the resident system"});
  } else if (!resident) {
    out.push_back({"register", "", false, "the resident the certificate's serial names is not in the register cache"});
  } else if (resident->status != options_.currentStatus) {
    out.push_back({"register", "", false,
                   "the resident the certificate's serial names is not registered here now (status " + resident->status +
                       "; moved out or removed)"});
  } else {
    residentCode = resident->code;
    out.push_back({"register", "", true, "the applicant identified by the signing certificate's serial"});
    itemFindings(match(said, resident->items, options_.variants), said, out);
  }
}

void Review::matchByName(const FourItems& said, std::string& residentCode, std::vector<Finding>& out) {
  std::vector<RegisterEntry> found;
  state_.read([&](StateSession& s) {
    s.query("SELECT resident_code, name, birth, sex, address, status FROM " + residents_ +
                " WHERE match_key = ? ORDER BY resident_code LIMIT 8",
            {matchKeyOf(said.name, said.birth, options_.variants)}, [&](StateRows& row) {
              found.push_back({row.text(0), row.text(5), {row.text(1), row.text(2), row.text(3), row.text(4)}});
            });
  });
  const RegisterEntry* best = nullptr;
  std::optional<MatchResult> bestMatch;
  for (const RegisterEntry& c : found) {
    if (c.status != options_.currentStatus) continue;
    MatchResult m = match(said, c.items, options_.variants);
    if (!best || (m.matched() && !bestMatch->matched())) best = &c, bestMatch = m;
  }
  if (found.empty()) {
    out.push_back({"register", "", false, "the applicant is not in the resident register (no resident with this 氏名 and 生年月日)"});
  } else if (!best) {
    out.push_back({"register", "", false,
                   "the resident with this 氏名 and 生年月日 is not registered here now (status " + found.front().status +
                       "; moved out or removed)"});
  } else {
    residentCode = best->code;
    itemFindings(*bestMatch, said, out);
  }
}

}  // namespace renkei::plugins::review
