#include "review.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <fstream>
#include <set>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "renkei/support/seal.h"
#include "renkei/text.h"
#include "renkei/support/check_digits.h"
#include "renkei/support/codec.h"

namespace fs = std::filesystem;

namespace renkei::review {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;

/// Thrown inside a store transaction when the application changed since it
/// was read: the transaction rolls back and the caller is told. A
/// std::exception, as the host's seam expects of anything a state step
/// throws (it answers Retry; the caller's flag says why).
struct Changed : std::runtime_error {
  Changed() : std::runtime_error("the application changed meanwhile") {}
};

std::string json(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(v, out);
  return out.str();
}

Poco::Dynamic::Var parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text.empty() ? std::string("null") : text);
}

std::string fieldsJson(const std::vector<std::pair<std::string, std::string>>& fields) {
  Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
  for (const auto& [k, v] : fields) {
    Poco::JSON::Array::Ptr pair = new Poco::JSON::Array;
    pair->add(k);
    pair->add(v);
    a->add(pair);
  }
  return json(a);
}

std::vector<std::pair<std::string, std::string>> fieldsFrom(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  auto a = parse(text).extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto pair = a->getArray(static_cast<unsigned>(i));
    out.emplace_back(pair->getElement<std::string>(0), pair->getElement<std::string>(1));
  }
  return out;
}

std::string findingsJson(const std::vector<Finding>& findings) {
  Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
  for (const Finding& f : findings) {
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    o->set("rule", f.rule);
    o->set("field", f.field);
    o->set("ok", f.ok);
    o->set("message", f.message);
    a->add(o);
  }
  return json(a);
}

std::vector<Finding> findingsFrom(const std::string& text) {
  std::vector<Finding> out;
  auto a = parse(text).extract<Poco::JSON::Array::Ptr>();
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto o = a->getObject(static_cast<unsigned>(i));
    out.push_back({o->getValue<std::string>("rule"), o->getValue<std::string>("field"), o->getValue<bool>("ok"),
                   o->getValue<std::string>("message")});
  }
  return out;
}

std::string attachmentsJson(const std::vector<AttachmentIn>& list) {
  Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
  for (const auto& x : list) {
    Poco::JSON::Array::Ptr pair = new Poco::JSON::Array;
    pair->add(x.name);
    pair->add(x.sha256);
    a->add(pair);
  }
  return json(a);
}

std::vector<AttachmentIn> attachmentsFrom(const std::string& text) {
  std::vector<AttachmentIn> out;
  for (const auto& [n, s] : fieldsFrom(text)) out.push_back({n, s});
  return out;
}

/// 問合せ番号: 12 characters of an alphabet without look-alikes (0/O, 1/I/L),
/// What an applicant's value may not hold, named by code point (never the
/// value): a control character (line breaks, tabs, C1, DEL) or a private-use
/// character (U+E000–U+F8FF and the supplementary planes 15 and 16).
std::optional<std::string> badCharacter(const std::string& v) {
  for (std::size_t i = 0; i < v.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = text::decodeUtf8(reinterpret_cast<const unsigned char*>(v.data()) + i, v.size() - i, cp);
    if (n == 0) return std::string("bytes that are not UTF-8");
    i += n;
    char name[16];
    std::snprintf(name, sizeof name, "U+%04X", cp);
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
      return std::string("a control character (") + name + (cp == '\n' || cp == '\r' ? ", a line break" : "") + ")";
    if ((cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000)
      return std::string("a private-use character (") + name +
             "): an applicant's text may not hold one; only the conversion table maps into the core system's 外字";
  }
  return std::nullopt;
}

/// 60 bits from the system's random source, as XXXX-XXXX-XXXX.
std::string inquiryNumber() {
  static const char kAlphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";  // 31
  unsigned char bytes[12];
  std::string out;
  while (out.size() < 14) {
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw ReviewError{ReviewError::Unavailable, "no random source"};
    for (unsigned char b : bytes) {
      if (b >= 248) continue;  // 248 = 8 × 31: no bias
      if (out.size() == 4 || out.size() == 9) out += '-';
      out += kAlphabet[b % 31];
      if (out.size() == 14) break;
    }
  }
  return out;
}

const std::regex kPostalCode("[0-9]{3}-?[0-9]{4}");
const std::regex kPhone("[0-9][0-9-]{8,12}[0-9]");
constexpr std::size_t kMaxPatternBytes = 256;

/// Closes a descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

/// SHA-256 of <dir>/<package>/<name>, opened through descriptors that never
/// follow a link (the package folder or the file swapped for a link between
/// a check and a use reads nothing) and only when it is a regular file;
/// nullopt otherwise. The bytes hashed are the bytes read, whatever the
/// file does meanwhile.
std::optional<std::string> hashAttachment(const fs::path& dir, const std::string& package, const std::string& name) {
  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root.fd < 0) return std::nullopt;
  Fd folder(::openat(root.fd, package.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (folder.fd < 0) return std::nullopt;
  Fd file(::openat(folder.fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (file.fd < 0 || ::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  for (;;) {
    const ssize_t n = ::read(file.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      EVP_MD_CTX_free(ctx);
      return std::nullopt;
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(n));
  }
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, md, &n);
  EVP_MD_CTX_free(ctx);
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += hex[md[i] >> 4], out += hex[md[i] & 15];
  return out;
}

std::size_t utf8Length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

bool allKatakana(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  while (i < s.size()) {
    std::uint32_t cp = 0;
    const std::size_t n = text::decodeUtf8(p + i, s.size() - i, cp);
    if (n == 0) return false;
    const bool ok = (cp >= 0x30A1 && cp <= 0x30FA) || cp == 0x30FC || cp == 0x30FB || cp == 0x3000 || cp == 0x20;
    if (!ok) return false;
    i += n;
  }
  return true;
}

bool safeName(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.'; }) &&
         s != "." && s != "..";
}

bool isLowerHex64(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string matchKeyOf(const std::string& name, const std::string& birth,
                       const std::map<std::string, std::string>& variants) {
  return normaliseName(name, variants) + "|" + birth;
}

std::string valueOf(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& name) {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

/// What any application may hold: at most 2,000 items of at most 64 KiB of
/// UTF-8 each (a form's items are short; a client sending more is refused
/// whole, before anything is stored). Messages name the item, never its value.
void checkValues(const std::vector<std::pair<std::string, std::string>>& fields) {
  if (fields.size() > 2000)
    throw ReviewError{ReviewError::BadRequest, "an application has at most 2000 items; this one has " +
                                                   std::to_string(fields.size())};
  for (const auto& [k, v] : fields) {
    const std::string name = k.size() > 64 ? k.substr(0, 64) + "…" : k;
    if (k.empty() || k.size() > 128 || firstInvalidUtf8(k) != std::string::npos)
      throw ReviewError{ReviewError::BadRequest, "an item name is empty, longer than 128 bytes or not UTF-8"};
    if (v.size() > 65536)
      throw ReviewError{ReviewError::BadRequest, "item '" + name + "' is longer than 65536 bytes"};
    if (firstInvalidUtf8(v) != std::string::npos)
      throw ReviewError{ReviewError::BadRequest, "item '" + name + "' is not UTF-8"};
    if (v.find('\0') != std::string::npos)
      throw ReviewError{ReviewError::BadRequest, "item '" + name + "' holds a NUL character"};
  }
}

const char* kColumns =
    "id, arrival_no, inquiry_no, procedure_id, source, municipality, external_id, received_ms, state, version, "
    "assigned, fields, attachments, findings, resident_code, due, paused_days, correction_deadline, "
    "correction_comment, hold_reason, started_ms, decided_ms, written_ms, reflected_ms, certificate_serial";

}  // namespace

const char* stateLabel(const std::string& code) {
  static const std::map<std::string, const char*> labels = {
      {state::kReceived, "受付"},  {state::kReviewing, "審査中"}, {state::kCorrection, "補正依頼"},
      {state::kReturned, "差戻し"}, {state::kApproved, "承認"},    {state::kAwaiting, "反映待ち"},
      {state::kReflected, "反映済"}, {state::kRejected, "却下"},  {state::kWithdrawn, "取下げ"}};
  auto it = labels.find(code);
  return it == labels.end() ? "?" : it->second;
}

bool Application::hasErrors() const {
  return std::any_of(findings.begin(), findings.end(), [](const Finding& f) { return !f.ok; });
}

std::optional<Action> parseAction(const std::string& name) {
  static const std::map<std::string, Action> names = {
      {"start", Action::Start},       {"request-correction", Action::RequestCorrection},
      {"resubmit", Action::Resubmit}, {"return", Action::Return},
      {"approve", Action::Approve},   {"reject", Action::Reject},
      {"withdraw", Action::Withdraw}, {"assign", Action::Assign},
      {"write-back", Action::WriteBack}};
  auto it = names.find(name);
  if (it == names.end()) return std::nullopt;
  return it->second;
}

const char* actionName(Action a) {
  switch (a) {
    case Action::Start: return "start";
    case Action::RequestCorrection: return "request-correction";
    case Action::Resubmit: return "resubmit";
    case Action::Return: return "return";
    case Action::Approve: return "approve";
    case Action::Reject: return "reject";
    case Action::Withdraw: return "withdraw";
    case Action::Assign: return "assign";
    case Action::WriteBack: return "write-back";
  }
  return "?";
}

Review::Review(StateStore& state, std::shared_ptr<const Procedures> procedures, calendar::Calendar cal,
               ReviewOptions options, EmitFn emit)
    : state_(state),
      procedures_(std::move(procedures)),
      cal_(std::move(cal)),
      options_(std::move(options)),
      emit_(std::move(emit)),
      apps_(state_.table("applications")),
      history_(state_.table("history")),
      residents_(state_.table("residents")),
      counters_(state_.table("counters")),
      certificates_(state_.table("certificates")),
      noticeNames_(std::make_shared<FieldNames>(FieldNames{"arrival_no", "procedure", "template", "deadline", "at"})),
      mailNames_(std::make_shared<FieldNames>(
          FieldNames{"department", "template", "count", "arrival_nos", "day"})) {}

void Review::migrate() {
  const std::string id = state_.dialect() == "postgresql" ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                                                          : "INTEGER PRIMARY KEY";
  state_.migrate({
      // 1: applications with their history, the 4 情報 cache of the
      // register, and the daily counters of 到達番号.
      "CREATE TABLE {applications} (id " + id +
          ", arrival_no TEXT NOT NULL UNIQUE, inquiry_no TEXT NOT NULL, "
          "procedure_id TEXT NOT NULL, source TEXT NOT NULL, municipality TEXT NOT NULL, external_id TEXT NOT NULL UNIQUE, "
          "received_ms BIGINT NOT NULL, state TEXT NOT NULL, version BIGINT NOT NULL, assigned TEXT NOT NULL, "
          "fields TEXT NOT NULL, attachments TEXT NOT NULL, findings TEXT NOT NULL, resident_code TEXT NOT NULL, "
          "due TEXT NOT NULL, paused_days BIGINT NOT NULL, correction_deadline TEXT NOT NULL, "
          "correction_comment TEXT NOT NULL, correction_ms BIGINT NOT NULL DEFAULT 0, hold_reason TEXT NOT NULL, "
          "started_ms BIGINT NOT NULL, decided_ms BIGINT NOT NULL, written_ms BIGINT NOT NULL, "
          "reflected_ms BIGINT NOT NULL, match_key TEXT NOT NULL);"
          "CREATE INDEX {applications_state} ON {applications} (state);"
          "CREATE INDEX {applications_received} ON {applications} (received_ms);"
          "CREATE INDEX {applications_match} ON {applications} (match_key);"
          "CREATE TABLE {history} (id " + id +
          ", application_id BIGINT NOT NULL, at_ms BIGINT NOT NULL, from_state TEXT NOT NULL, "
          "to_state TEXT NOT NULL, action TEXT NOT NULL, who TEXT NOT NULL, why TEXT NOT NULL);"
          "CREATE INDEX {history_application} ON {history} (application_id);"
          "CREATE TABLE {residents} (resident_code TEXT PRIMARY KEY, match_key TEXT NOT NULL, name TEXT NOT NULL, "
          "birth TEXT NOT NULL, sex TEXT NOT NULL, address TEXT NOT NULL, status TEXT NOT NULL, event TEXT NOT NULL);"
          "CREATE INDEX {residents_match} ON {residents} (match_key);"
          "CREATE TABLE {counters} (day TEXT PRIMARY KEY, n BIGINT NOT NULL);",
      // 2: applicants identified by their JPKI signing certificate: the
      // resident system's serial → 住民票コード table, and the serial an
      // application carried.
      "CREATE TABLE {certificates} (serial TEXT PRIMARY KEY, resident_code TEXT NOT NULL);"
      "ALTER TABLE {applications} ADD COLUMN certificate_serial TEXT NOT NULL DEFAULT '';",
  });
}

calendar::Date Review::today(std::int64_t now) const {
  const std::int64_t local = now + options_.offsetMinutes * 60'000;
  return calendar::fromDays(local >= 0 ? local / kDayMs : (local - kDayMs + 1) / kDayMs);
}

std::string Review::localDay(std::int64_t ms) const { return calendar::iso(today(ms)); }

std::string Review::dueDate(const Procedure& p, std::int64_t receivedAt, int pausedDays) const {
  return calendar::iso(cal_.deadline(today(receivedAt), p.periodDays + pausedDays, calendar::Rule::OpenDays));
}

RecordSet Review::notice(const Application& a, const std::string& templ, const std::string& deadline,
                         std::int64_t now) const {
  RecordSet set;
  set.recordType = "review.notice";
  Record r(noticeNames_);
  r.set(0, a.arrivalNo);
  r.set(1, a.procedure);
  r.set(2, templ);
  r.set(3, deadline);
  r.set(4, localDay(now));
  set.records.push_back(std::move(r));
  return set;
}

void Review::commit(const Emission& e, const std::string& what) {
  const Outcome o = emit_(e);
  if (o.isOk()) return;
  if (o.status() == Outcome::Status::Retry)
    throw ReviewError{ReviewError::Unavailable, what + ": the store cannot take it now (" + o.message() + "); try again"};
  throw ReviewError{ReviewError::Unavailable, what + ": " + o.message()};
}

std::vector<Finding> Review::formalReview(const Procedure& p,
                                          const std::vector<std::pair<std::string, std::string>>& fields,
                                          const std::vector<AttachmentIn>& attachments,
                                          const std::map<std::string, std::string>& received,
                                          const std::string& certificateSerial, std::string& residentCode) {
  std::vector<Finding> out;
  FourItems said;
  // One field's rules; `scope` reads the other fields of the same
  // applicant or member (required-when).
  const auto check = [&](const FieldRule& r, const std::string& sent, const std::string& label,
                         const std::function<std::string(const std::string&)>& scope) {
    const std::string v = valueOf(fields, sent);
    const std::string what = label + " (" + sent + ")";
    bool required = r.required;
    if (!r.requiredWhenField.empty()) required = required || scope(r.requiredWhenField) == r.requiredWhenValue;
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
    if (r.format == "date") {
      if (!calendar::parseIso(v))
        out.push_back({"date", sent, false, what + " is not a real date (YYYY-MM-DD; e.g. no 2月30日)"});
    } else if (r.format == "digits" && !allDigits(v)) {
      out.push_back({"format", sent, false, what + " must be half-width digits"});
    } else if (r.format == "katakana" && !allKatakana(v)) {
      out.push_back({"format", sent, false, what + " must be full-width katakana"});
    } else if (r.format == "postal-code" && !std::regex_match(v, kPostalCode)) {
      out.push_back({"format", sent, false, what + " is not a postal code (NNN-NNNN)"});
    } else if (r.format == "phone" && !std::regex_match(v, kPhone)) {
      out.push_back({"format", sent, false, what + " is not a phone number (digits and hyphens)"});
    }
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
  };
  for (const FieldRule& r : p.fields) {
    const std::string v = valueOf(fields, r.name);
    if (r.match == "name") said.name = v;
    else if (r.match == "birth") said.birth = v;
    else if (r.match == "sex") said.sex = v;
    else if (r.match == "address") said.address = v;
    check(r, r.name, r.label, [&](const std::string& other) { return valueOf(fields, other); });
  }
  // Members: each one present (any of its fields sent) is checked whole.
  if (!p.memberFields.empty()) {
    int present = 0;
    for (int n = 1; n <= p.maxMembers; ++n) {
      const std::string prefix = "member." + std::to_string(n) + ".";
      const bool any = std::any_of(fields.begin(), fields.end(),
                                   [&](const auto& f) { return f.first.rfind(prefix, 0) == 0 && !f.second.empty(); });
      if (!any) continue;
      ++present;
      for (const FieldRule& r : p.memberFields)
        check(r, prefix + r.name, "世帯員" + std::to_string(n) + " " + r.label,
              [&](const std::string& other) { return valueOf(fields, prefix + other); });
    }
    if (present < p.minMembers)
      out.push_back({"members", "", false,
                     "the application lists " + std::to_string(present) + " members; the procedure needs at least " +
                         std::to_string(p.minMembers)});
  }
  // Attachments: required ones present, each one's bytes as the manifest says.
  for (const AttachmentRule& a : p.attachments) {
    auto it = std::find_if(attachments.begin(), attachments.end(), [&](const AttachmentIn& x) { return x.name == a.name; });
    if (it == attachments.end()) {
      if (a.required) out.push_back({"attachment", a.name, false, "attachment " + a.label + " (" + a.name + ") is required and missing"});
      continue;
    }
    std::string actual;
    if (auto r = received.find(a.name); r != received.end()) actual = r->second;
    out.push_back(actual.empty()
                      ? Finding{"attachment", a.name, false, "attachment " + a.label + " (" + a.name + ") is listed but was not received"}
                  : actual != it->sha256
                      ? Finding{"attachment", a.name, false,
                                "attachment " + a.label + " (" + a.name + "): its SHA-256 does not match the manifest"}
                      : Finding{"attachment", a.name, true, "attachment " + a.label + " (" + a.name + ") as listed"});
  }
  // The register: by the signing certificate's serial when the application
  // carries one (the resident system's mapping table), else by 氏名 and
  // 生年月日; then item by item.
  struct Candidate {
    std::string code, status;
    FourItems items;
  };
  const auto itemFindings = [&](const MatchResult& m) {
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
  };
  if (p.registerRequired && !certificateSerial.empty()) {
    std::optional<std::string> code;
    std::optional<Candidate> resident;
    state_.read([&](StateSession& s) {
      s.query("SELECT resident_code FROM " + certificates_ + " WHERE serial = ?", {certificateSerial},
              [&](StateRows& row) { code = row.text(0); });
      if (code)
        s.query("SELECT resident_code, name, birth, sex, address, status FROM " + residents_ + " WHERE resident_code = ?",
                {*code}, [&](StateRows& row) {
                  resident = Candidate{row.text(0), row.text(5), {row.text(1), row.text(2), row.text(3), row.text(4)}};
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
      itemFindings(match(said, resident->items, options_.variants));
    }
    return out;
  }
  if (p.registerRequired && !said.name.empty() && !said.birth.empty()) {
    std::vector<Candidate> found;
    state_.read([&](StateSession& s) {
      s.query("SELECT resident_code, name, birth, sex, address, status FROM " + residents_ +
                  " WHERE match_key = ? ORDER BY resident_code LIMIT 8",
              {matchKeyOf(said.name, said.birth, options_.variants)}, [&](StateRows& row) {
                found.push_back({row.text(0), row.text(5), {row.text(1), row.text(2), row.text(3), row.text(4)}});
              });
    });
    const Candidate* best = nullptr;
    std::optional<MatchResult> bestMatch;
    for (const Candidate& c : found) {
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
      itemFindings(*bestMatch);
    }
  }
  return out;
}

Application Review::load(StateSession& s, const std::string& where, const std::vector<StateValue>& params) {
  std::optional<Application> a;
  s.query(std::string("SELECT ") + kColumns + " FROM " + apps_ + " WHERE " + where, params, [&](StateRows& row) {
    Application x;
    x.id = row.integer(0);
    x.arrivalNo = row.text(1);
    x.inquiryNo = row.text(2);
    x.procedure = row.text(3);
    x.source = row.text(4);
    x.municipality = row.text(5);
    // "<origin>\x1f<id>" (ids kept per origin), or a bare id stored before.
    x.externalId = row.text(6);
    if (const std::size_t cut = x.externalId.rfind('\x1f'); cut != std::string::npos) x.externalId.erase(0, cut + 1);
    x.receivedAt = row.integer(7);
    x.state = row.text(8);
    x.version = row.integer(9);
    x.assigned = row.text(10);
    x.fields = fieldsFrom(row.text(11));
    x.attachments = attachmentsFrom(row.text(12));
    x.findings = findingsFrom(row.text(13));
    x.residentCode = row.text(14);
    x.due = row.text(15);
    x.pausedDays = static_cast<int>(row.integer(16));
    x.correctionDeadline = row.text(17);
    x.correctionComment = row.text(18);
    x.holdReason = row.text(19);
    x.startedAt = row.integer(20);
    x.decidedAt = row.integer(21);
    x.writtenAt = row.integer(22);
    x.reflectedAt = row.integer(23);
    x.certificateSerial = row.text(24);
    a = std::move(x);
  });
  if (!a) throw ReviewError{ReviewError::NotFound, "no application with that number"};
  s.query("SELECT at_ms, from_state, to_state, action, who, why FROM " + history_ +
              " WHERE application_id = ? ORDER BY id",
          {a->id}, [&](StateRows& row) {
            a->history.push_back({row.integer(0), row.text(1), row.text(2), row.text(3), row.text(4), row.text(5)});
          });
  return *a;
}

Application Review::get(const std::string& arrivalNo) {
  Application a;
  state_.read([&](StateSession& s) { a = load(s, "arrival_no = ?", {arrivalNo}); });
  return a;
}

namespace {
/// The stored key of an id: its origin, a unit separator, the id (neither
/// holds a control character).
std::string originKey(const std::string& origin, const std::string& id) { return origin + '\x1f' + id; }
}  // namespace

std::optional<Application> Review::findByExternalId(const std::string& origin, const std::string& externalId,
                                                    const std::string& source) {
  std::optional<Application> a;
  state_.read([&](StateSession& s) {
    try {
      a = load(s, "external_id = ?", {originKey(origin, externalId)});
    } catch (const ReviewError& e) {
      if (e.code != ReviewError::NotFound) throw;
    }
    if (a) return;
    try {
      // Stored before ids had origins: the same id from the same kind of source.
      a = load(s, "external_id = ? AND source = ?", {externalId, source});
    } catch (const ReviewError& e) {
      if (e.code != ReviewError::NotFound) throw;
    }
  });
  return a;
}

Application Review::intake(const IntakeInput& in, std::int64_t now) {
  if (in.externalId.empty() || in.externalId.size() > 128 ||
      !std::all_of(in.externalId.begin(), in.externalId.end(), [](unsigned char c) { return c > 0x20 && c < 0x7F; }))
    throw ReviewError{ReviewError::BadRequest, "the application id is missing, longer than 128 bytes or not printable ASCII"};
  const Procedure* p = procedures_->find(in.procedure);
  if (!p) throw ReviewError{ReviewError::BadRequest, "no procedure '" + in.procedure + "' is configured here"};
  if (in.origin.empty() || in.origin.size() > 200 ||
      std::any_of(in.origin.begin(), in.origin.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    throw ReviewError{ReviewError::BadRequest, "the application's origin (the route or the caller) is not known"};
  if (auto existing = findByExternalId(in.origin, in.externalId, in.source)) return *existing;  // taken before: once

  checkValues(in.fields);
  std::vector<std::pair<std::string, std::string>> kept;
  std::size_t unknown = 0;
  for (const auto& [k, v] : in.fields) {
    if (p->field(k)) kept.emplace_back(k, v);
    else ++unknown;
  }
  // Bounded like a package's manifest, whatever the source: each
  // attachment is hashed on disk and listed in every finding.
  if (in.attachments.size() > kMaxAttachments)
    throw ReviewError{ReviewError::BadRequest, "an application lists at most " + std::to_string(kMaxAttachments) +
                                                   " attachments; this one " + std::to_string(in.attachments.size())};
  std::vector<AttachmentIn> attachments;
  std::set<std::string> names;
  for (const auto& a : in.attachments) {
    if (!names.insert(a.name).second)
      throw ReviewError{ReviewError::BadRequest, "attachment '" + (safeName(a.name) ? a.name : std::string("?")) +
                                                     "' is listed twice"};
    if (!safeName(a.name) || !isLowerHex64(a.sha256))
      throw ReviewError{ReviewError::BadRequest,
                        "an attachment's name must be [A-Za-z0-9._-] (at most 64) and its SHA-256 64 lowercase hex digits"};
    attachments.push_back(a);
  }
  std::map<std::string, std::string> received = in.received;
  if (!options_.attachmentsDir.empty() && safeName(in.externalId))
    for (const auto& a : attachments)
      if (!received.count(a.name)) {
        // Neither the package's folder nor the file may be a link (it could
        // point anywhere on this machine): such an attachment is not received.
        if (auto sha = hashAttachment(options_.attachmentsDir, in.externalId, a.name)) received[a.name] = *sha;
      }
  std::string residentCode;
  std::vector<Finding> findings = formalReview(*p, kept, attachments, received, in.certificateSerial, residentCode);
  if (unknown)
    findings.push_back({"unknown", "", true, std::to_string(unknown) + " items not part of the procedure were not kept"});

  Application a;
  a.inquiryNo = inquiryNumber();
  a.procedure = p->id;
  a.source = in.source.empty() ? "window" : in.source;
  a.municipality = in.municipality.empty() ? options_.municipality : in.municipality;
  a.externalId = in.externalId;
  a.receivedAt = now;
  a.state = state::kReceived;
  a.version = 1;
  a.fields = kept;
  a.attachments = attachments;
  a.findings = findings;
  a.residentCode = residentCode;
  a.due = dueDate(*p, now, 0);
  const std::string day = localDay(now);
  std::string matchKey;
  {
    std::string name, birth;
    for (const FieldRule& r : p->fields) {
      if (r.match == "name") name = valueOf(kept, r.name);
      if (r.match == "birth") birth = valueOf(kept, r.name);
    }
    if (!name.empty() && !birth.empty()) matchKey = matchKeyOf(name, birth, options_.variants);
  }

  Emission e;
  e.key = "review-intake:" + seal::sha256Hex(originKey(in.origin, in.externalId)).substr(0, 32);
  const std::string compact = day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2);
  // The 到達番号 is drawn first, in a short transaction of its own: the
  // notice and the mail carry it, and an emission's records are fixed before
  // its commit. A crash between the two leaves a gap in the day's numbers,
  // never a number used twice.
  std::int64_t n = 0;
  state_.write([&](StateSession& s) {
    if (s.run("UPDATE " + counters_ + " SET n = n + 1 WHERE day = ?", {compact}) == 0)
      s.run("INSERT INTO " + counters_ + " (day, n) VALUES (?, 1)", {compact});
    s.query("SELECT n FROM " + counters_ + " WHERE day = ?", {compact}, [&](StateRows& row) {
      n = row.integer(0);
    });
  });
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06lld", static_cast<long long>(n));
  a.arrivalNo = "R" + compact + "-" + seq;
  e.state = [&](StateSession& s) {
    a.id = s.insertReturningId(
        "INSERT INTO " + apps_ +
            " (arrival_no, inquiry_no, procedure_id, source, municipality, external_id, received_ms, state, version, "
            "assigned, fields, attachments, findings, resident_code, due, paused_days, correction_deadline, "
            "correction_comment, hold_reason, started_ms, decided_ms, written_ms, reflected_ms, match_key, "
            "certificate_serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, '', ?, ?, ?, ?, ?, 0, '', '', '', 0, 0, 0, 0, ?, ?)",
        {a.arrivalNo, a.inquiryNo, a.procedure, a.source, a.municipality, originKey(in.origin, in.externalId), now, a.state,
         fieldsJson(kept), attachmentsJson(attachments), findingsJson(findings), residentCode, a.due, matchKey,
         in.certificateSerial});
    s.run("INSERT INTO " + history_ +
              " (application_id, at_ms, from_state, to_state, action, who, why) VALUES (?, ?, '', ?, 'intake', ?, ?)",
          {a.id, now, std::string(state::kReceived), in.staff.empty() ? a.source : in.staff,
           std::string("到達 (") + a.source + ")"});
  };
  e.sets.push_back(notice(a, "received", "", now));
  RecordSet mail;
  mail.recordType = "review.mail";
  Record m(mailNames_);
  m.set(0, p->department);
  m.set(1, "arrival");
  m.set(2, "1");
  m.set(3, a.arrivalNo);
  m.set(4, day);
  mail.records.push_back(std::move(m));
  e.sets.push_back(std::move(mail));
  commit(e, "intake");
  if (auto taken = findByExternalId(in.origin, in.externalId, in.source)) return *taken;
  throw ReviewError{ReviewError::Unavailable, "intake: the application was not stored; try again"};
}

std::vector<Summary> Review::list(const std::string& stateFilter, const std::string& procedure,
                                  const std::string& assigned, std::int64_t now, std::size_t limit) {
  std::vector<Summary> out;
  std::string where = "1 = 1";
  std::vector<StateValue> params;
  if (!stateFilter.empty()) where += " AND state = ?", params.push_back(stateFilter);
  if (!procedure.empty()) where += " AND procedure_id = ?", params.push_back(procedure);
  if (!assigned.empty()) where += " AND assigned = ?", params.push_back(assigned);
  params.push_back(static_cast<std::int64_t>(std::min<std::size_t>(limit, 5000)));
  const std::string today = localDay(now);
  state_.read([&](StateSession& s) {
    s.query("SELECT arrival_no, procedure_id, state, assigned, due, correction_deadline, received_ms FROM " + apps_ +
                " WHERE " + where + " ORDER BY received_ms, id LIMIT ?",
            params, [&](StateRows& row) {
              {
                Summary x{row.text(0), row.text(1), row.text(2), row.text(3), row.text(4), row.text(5), row.integer(6)};
                x.overdue = ((x.state == state::kReceived || x.state == state::kReviewing) && today > x.due) ||
                            (x.state == state::kCorrection && today > x.correctionDeadline);
                out.push_back(std::move(x));
              }
            });
  });
  return out;
}

Application Review::act(const std::string& arrivalNo, const ActionInput& in, std::int64_t now) {
  Application a = get(arrivalNo);
  if (in.expectedVersion >= 0 && in.expectedVersion != a.version)
    throw ReviewError{ReviewError::Conflict, "the application changed since it was read (version " +
                                                 std::to_string(a.version) + "); read it again"};
  const Procedure* p = procedures_->find(a.procedure);
  if (!p) throw ReviewError{ReviewError::Conflict, "procedure '" + a.procedure + "' is no longer configured"};
  const std::string from = a.state;
  const auto in_ = [&](std::initializer_list<const char*> states) {
    return std::any_of(states.begin(), states.end(), [&](const char* st) { return from == st; });
  };
  const auto refuse = [&](const std::string& why) {
    throw ReviewError{ReviewError::Conflict, std::string(actionName(in.action)) + " is not allowed in state " + from +
                                                 " (" + stateLabel(from) + ")" + (why.empty() ? "" : ": " + why)};
  };
  if (in.who.empty() || in.who.size() > 200) throw ReviewError{ReviewError::BadRequest, "who (1 to 200 bytes) is required"};
  if (in.why.size() > 2000) throw ReviewError{ReviewError::BadRequest, "why is longer than 2000 bytes"};

  std::string to = from, why = in.why;
  std::vector<std::string> sets;  // SQL SET parts
  std::vector<StateValue> values;
  Emission e;
  const std::string todayIso = localDay(now);
  bool reviewAgain = false;
  std::vector<std::pair<std::string, std::string>> newFields;
  switch (in.action) {
    case Action::Start:
      if (!in_({state::kReceived})) refuse("");
      to = state::kReviewing;
      sets.push_back("started_ms = ?"), values.push_back(now);
      if (a.assigned.empty()) sets.push_back("assigned = ?"), values.push_back(in.who);
      break;
    case Action::Assign:
      if (in_({state::kReflected, state::kRejected, state::kWithdrawn, state::kReturned})) refuse("it is closed");
      if (in.assignee.empty() || in.assignee.size() > 64)
        throw ReviewError{ReviewError::BadRequest, "assignee (1 to 64 bytes) is required"};
      sets.push_back("assigned = ?"), values.push_back(in.assignee);
      why = "→ " + in.assignee + (why.empty() ? "" : ": " + why);
      break;
    case Action::RequestCorrection: {
      if (!in_({state::kReviewing})) refuse("");
      if (in.why.empty()) throw ReviewError{ReviewError::BadRequest, "a 補正依頼 needs a comment (why)"};
      std::string deadline = in.deadline;
      if (deadline.empty()) {
        deadline = calendar::iso(cal_.deadline(dayOf(now), p->correctionDays, calendar::Rule::Days));
      } else {
        const auto d = calendar::parseIso(deadline);
        if (!d) throw ReviewError{ReviewError::BadRequest, "deadline is not a real date (YYYY-MM-DD)"};
        if (!(dayOf(now) < *d)) throw ReviewError{ReviewError::BadRequest, "deadline must be after today"};
        deadline = calendar::iso(cal_.nextOpenDay(*d));  // a closed day moves to the next open one
      }
      to = state::kCorrection;
      sets.push_back("correction_deadline = ?"), values.push_back(deadline);
      sets.push_back("correction_comment = ?"), values.push_back(in.why);
      sets.push_back("correction_ms = ?"), values.push_back(now);
      a.correctionDeadline = deadline;
      e.sets.push_back(notice(a, "correction", deadline, now));
      break;
    }
    case Action::Resubmit: {
      if (!in_({state::kCorrection})) refuse("");
      // The clock restarts: the open days it waited are added to the period.
      std::int64_t correctionMs = 0;
      state_.read([&](StateSession& s) {
        s.query("SELECT correction_ms FROM " + apps_ + " WHERE id = ?", {a.id}, [&](StateRows& row) {
          correctionMs = row.integer(0);
        });
      });
      const int waited = std::max(0, cal_.openDaysBetween(dayOf(correctionMs), dayOf(now)));
      const int paused = a.pausedDays + waited;
      checkValues(in.fields);
      newFields = a.fields;
      for (const auto& [k, v] : in.fields) {
        if (!p->field(k)) throw ReviewError{ReviewError::BadRequest, "field '" + k + "' is not part of the procedure"};
        auto it = std::find_if(newFields.begin(), newFields.end(), [&](const auto& f) { return f.first == k; });
        if (it == newFields.end()) newFields.emplace_back(k, v);
        else it->second = v;
      }
      reviewAgain = true;
      to = state::kReviewing;
      sets.push_back("paused_days = ?"), values.push_back(static_cast<std::int64_t>(paused));
      sets.push_back("due = ?"), values.push_back(dueDate(*p, a.receivedAt, paused));
      why = (why.empty() ? std::string("補正") : why) + " (" + std::to_string(waited) + " open days paused)";
      break;
    }
    case Action::Return:
      if (!in_({state::kReviewing, state::kCorrection})) refuse("");
      if (in.why.empty()) throw ReviewError{ReviewError::BadRequest, "a 差戻し needs a reason (why)"};
      to = state::kReturned;
      sets.push_back("decided_ms = ?"), values.push_back(now);
      e.sets.push_back(notice(a, "returned", "", now));
      break;
    case Action::Reject:
      if (!in_({state::kReviewing, state::kCorrection})) refuse("");
      if (in.why.empty()) throw ReviewError{ReviewError::BadRequest, "a 却下 needs a reason (why)"};
      to = state::kRejected;
      sets.push_back("decided_ms = ?"), values.push_back(now);
      e.sets.push_back(notice(a, "rejected", "", now));
      break;
    case Action::Withdraw:
      if (!in_({state::kReceived, state::kReviewing, state::kCorrection}))
        refuse("取下げ is possible only before a decision");
      to = state::kWithdrawn;
      sets.push_back("decided_ms = ?"), values.push_back(now);
      break;
    case Action::Approve:
    case Action::WriteBack: {
      if (in.action == Action::Approve && !in_({state::kReviewing})) refuse("");
      if (in.action == Action::WriteBack && !in_({state::kApproved})) refuse("only an approved application held for write-back");
      if (in.action == Action::Approve && a.hasErrors())
        refuse("the formal review has findings (request a 補正 or decide otherwise)");
      if (in.action == Action::Approve) sets.push_back("decided_ms = ?"), values.push_back(now);
      // The write-back record, every value made ready for the core system;
      // a character it cannot take holds the application, named.
      const WriteBack& w = p->writeBack;
      auto names = std::make_shared<FieldNames>(
          FieldNames{"application_id", "kind", "procedure", "resident_code", "approved_on", "member_no"});
      for (const FieldRule& r : p->fields)
        if (r.writeBack) names->push_back(r.name);
      for (const FieldRule& r : p->memberFields)
        if (r.writeBack) names->push_back("member_" + r.name);  // apart from the applicant's own
      // One row for the application, or one per member present (a
      // household's 転入: Japanese, foreign or mixed, each its own row).
      std::vector<int> members;
      for (int n = 1; n <= p->maxMembers; ++n) {
        const std::string prefix = "member." + std::to_string(n) + ".";
        if (std::any_of(a.fields.begin(), a.fields.end(),
                        [&](const auto& f) { return f.first.rfind(prefix, 0) == 0 && !f.second.empty(); }))
          members.push_back(n);
      }
      if (members.empty()) members.push_back(0);
      std::string hold;
      RecordSet wb;
      wb.recordType = p->recordType();
      for (int member : members) {
        Record rec(names);
        rec.set(0, a.arrivalNo);
        rec.set(1, w.kind);
        rec.set(2, a.procedure);
        rec.set(3, a.residentCode);
        rec.set(4, todayIso);
        rec.set(5, member ? std::to_string(member) : std::string());
        std::size_t i = 6;
        const auto put = [&](const std::string& sent, const std::string& label) {
          Converted c = convertForCoreSystem(valueOf(a.fields, sent), w.conversionTable.get(), *w.codec);
          if (c.unmappable && hold.empty())
            hold = label + " (" + sent + "): " + codePointName(*c.unmappable) + " is in neither the conversion table nor " +
                   w.encoding + "; add it to " +
                   (w.conversionTablePath.empty() ? std::string("a conversion table")
                                                  : w.conversionTablePath.filename().string()) +
                   " and write back again";
          rec.set(i++, std::move(c.text));
        };
        for (const FieldRule& r : p->fields)
          if (r.writeBack) put(r.name, r.label);
        const std::string prefix = "member." + std::to_string(member) + ".";
        for (const FieldRule& r : p->memberFields)
          if (r.writeBack) put(prefix + r.name, "世帯員" + std::to_string(member) + " " + r.label);
        wb.records.push_back(std::move(rec));
      }
      if (!hold.empty()) {
        to = state::kApproved;
        sets.push_back("hold_reason = ?"), values.push_back(hold);
        why = (why.empty() ? "" : why + "; ") + "write-back held: " + hold;
        break;
      }
      to = state::kAwaiting;
      sets.push_back("hold_reason = ''");
      sets.push_back("written_ms = ?"), values.push_back(now);
      e.sets.push_back(std::move(wb));
      e.key = "review-writeback:" + a.arrivalNo;  // written once, whatever happens
      break;
    }
  }
  std::vector<Finding> findings;
  std::string residentCode = a.residentCode;
  if (reviewAgain) {
    findings = formalReview(*p, newFields, a.attachments, {}, a.certificateSerial, residentCode);
    // Attachments were checked on arrival; keep those results.
    for (const Finding& f : a.findings)
      if (f.rule == "attachment") findings.push_back(f);
    sets.push_back("fields = ?"), values.push_back(fieldsJson(newFields));
    sets.push_back("findings = ?"), values.push_back(findingsJson(findings));
    sets.push_back("resident_code = ?"), values.push_back(residentCode);
  }
  if (e.key.empty()) {
    unsigned char nonce[12];
    RAND_bytes(nonce, sizeof nonce);
    static const char hex[] = "0123456789abcdef";
    std::string n;
    for (unsigned char b : nonce) n += hex[b >> 4], n += hex[b & 15];
    e.key = "review-act:" + a.arrivalNo + ":" + std::to_string(a.version + 1) + ":" + n;
  }
  bool changed = false, ran = false;
  e.state = [&](StateSession& s) {
    ran = true;
    std::string sql = "UPDATE " + apps_ + " SET state = ?, version = version + 1";
    std::vector<StateValue> params{to};
    for (const auto& part : sets) sql += ", " + part;
    params.insert(params.end(), values.begin(), values.end());
    sql += " WHERE id = ? AND version = ?";
    params.push_back(a.id);
    params.push_back(a.version);
    if (s.run(sql, params) != 1) {
      changed = true;
      throw Changed{};
    }
    s.run("INSERT INTO " + history_ +
              " (application_id, at_ms, from_state, to_state, action, who, why) VALUES (?, ?, ?, ?, ?, ?, ?)",
          {a.id, now, from, to, std::string(actionName(in.action)), in.who, why});
  };
  try {
    commit(e, actionName(in.action));
  } catch (const ReviewError&) {
    if (changed)
      throw ReviewError{ReviewError::Conflict, "the application changed at the same time; read it again"};
    throw;
  }
  // The write-back's key is the application's: a second approval racing the
  // first is acknowledged by the store without running, so this one did
  // nothing and must say so (eight staff approving at once once all heard "ok").
  if (!ran) {
    const Application now_ = get(arrivalNo);
    throw ReviewError{ReviewError::Conflict, std::string(actionName(in.action)) +
                                                 ": already done for this application (its write-back is written once); "
                                                 "it is now " + now_.state + " (" + stateLabel(now_.state) + ")"};
  }
  return get(arrivalNo);
}

std::size_t Review::takeResidents(const std::vector<Record>& records, std::int64_t now) {
  // The 4 情報 cache, one transaction for the batch.
  struct Row {
    std::string code, key, name, birth, sex, address, status, event;
  };
  std::vector<Row> rows;
  rows.reserve(records.size());
  for (const Record& r : records) {
    const auto get = [&](const std::string& f) {
      const std::string* v = r.find(f);
      return v ? *v : std::string();
    };
    Row x{get(options_.residentKey), "", get(options_.nameField), get(options_.birthField), get(options_.sexField),
          get(options_.addressField), get(options_.statusField), get(options_.eventField)};
    if (x.code.empty()) continue;
    if (x.status.empty()) x.status = options_.currentStatus;
    x.key = matchKeyOf(x.name, x.birth, options_.variants);
    rows.push_back(std::move(x));
  }
  state_.write([&](StateSession& s) {
    for (const Row& x : rows) {
      if (s.run("UPDATE " + residents_ +
                    " SET match_key = ?, name = ?, birth = ?, sex = ?, address = ?, status = ?, event = ? "
                    "WHERE resident_code = ?",
                {x.key, x.name, x.birth, x.sex, x.address, x.status, x.event, x.code}) == 0)
        s.run("INSERT INTO " + residents_ +
                  " (resident_code, match_key, name, birth, sex, address, status, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              {x.code, x.key, x.name, x.birth, x.sex, x.address, x.status, x.event});
    }
  });
  // Reconciliation: a written-back application whose 異動 now shows in the
  // register (same 氏名 and 生年月日, the procedure's reflect-event) is 反映済.
  std::vector<std::pair<std::string, std::string>> reflected;  // arrival no, resident code
  {
    std::lock_guard lock(awaitingMutex_);
    // What waits is read again when it changed: by its count and latest
    // write-back (an approval on another host sharing the store included).
    std::pair<std::int64_t, std::int64_t> stamp{0, 0};
    state_.read([&](StateSession& s) {
      s.query("SELECT count(*), coalesce(max(written_ms), 0) FROM " + apps_ + " WHERE state = ?",
              {std::string(state::kAwaiting)}, [&](StateRows& row) { stamp = {row.integer(0), row.integer(1)}; });
    });
    if (stamp != awaitingStamp_) {
      awaitingStamp_ = stamp;
      awaiting_.clear();
      state_.read([&](StateSession& s) {
        s.query("SELECT match_key, arrival_no, procedure_id FROM " + apps_ + " WHERE state = ? AND match_key <> ''",
                {std::string(state::kAwaiting)}, [&](StateRows& row) {
                  {
                    const Procedure* p = procedures_->find(row.text(2));
                    if (!p || p->writeBack.reflectEvent.empty()) return;
                    awaiting_.emplace(row.text(0), Waiting{row.text(1), row.text(2), p->writeBack.reflectEvent});
                  }
                });
      });
    }
    if (awaiting_.empty()) return 0;
    for (const Row& x : rows) {
      auto [b, e] = awaiting_.equal_range(x.key);
      for (auto it = b; it != e; ++it)
        if (it->second.event == x.event) reflected.emplace_back(it->second.arrivalNo, x.code);
    }
  }
  std::vector<std::string> numbers;
  for (const auto& [arrivalNo, code] : reflected) numbers.push_back(arrivalNo);
  return numbers.empty() ? 0 : reflect(numbers, "reconciled with the resident export", now);
}

std::size_t Review::reflect(const std::vector<std::string>& arrivalNos, const std::string& how, std::int64_t now) {
  // All of them in one commit (a resident batch can reflect thousands):
  // what is still 反映待ち is read, then moved with its 完了 notice. When
  // another path moved one meanwhile, the commit is refused whole and the
  // rest is read again, so no notice goes out twice.
  std::vector<std::string> wanted(arrivalNos);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  for (int attempt = 0; attempt < 5; ++attempt) {
    struct Row {
      std::int64_t id;
      std::string arrivalNo, procedure;
    };
    std::vector<Row> rows;
    state_.read([&](StateSession& s) {
      for (std::size_t i = 0; i < wanted.size(); i += 500) {
        const std::size_t n = std::min<std::size_t>(500, wanted.size() - i);
        std::string sql = "SELECT id, arrival_no, procedure_id FROM " + apps_ + " WHERE state = ? AND arrival_no IN (";
        std::vector<StateValue> params{std::string(state::kAwaiting)};
        for (std::size_t j = 0; j < n; ++j) {
          sql += j ? ", ?" : "?";
          params.push_back(wanted[i + j]);
        }
        s.query(sql + ")", params, [&](StateRows& row) { rows.push_back({row.integer(0), row.text(1), row.text(2)}); });
      }
    });
    if (rows.empty()) return 0;
    std::string list;
    for (const Row& r : rows) list += r.arrivalNo + "\n";
    Emission e;
    e.key = "review-reflected:" + seal::sha256Hex(list);
    RecordSet notices;
    notices.recordType = "review.notice";
    for (const Row& r : rows) {
      Application a;
      a.arrivalNo = r.arrivalNo;
      a.procedure = r.procedure;
      RecordSet one = notice(a, "completed", "", now);
      notices.records.push_back(std::move(one.records.front()));
    }
    e.sets.push_back(std::move(notices));
    bool changed = false;
    e.state = [&](StateSession& s) {
      for (const Row& r : rows) {
        if (s.run("UPDATE " + apps_ + " SET state = ?, version = version + 1, reflected_ms = ? WHERE id = ? AND state = ?",
                  {std::string(state::kReflected), now, r.id, std::string(state::kAwaiting)}) != 1) {
          changed = true;
          throw Changed{};
        }
        s.run("INSERT INTO " + history_ +
                  " (application_id, at_ms, from_state, to_state, action, who, why) VALUES (?, ?, ?, ?, 'reflected', "
                  "'core-system', ?)",
              {r.id, now, std::string(state::kAwaiting), std::string(state::kReflected), how});
      }
    };
    try {
      commit(e, "reflect");
      return rows.size();
    } catch (const ReviewError&) {
      if (!changed) throw;
    }
  }
  throw ReviewError{ReviewError::Unavailable, "reflect: the applications kept changing; tried five times"};
}

std::size_t Review::takeCertificates(const std::vector<Record>& records) {
  std::size_t taken = 0;
  state_.write([&](StateSession& s) {
    for (const Record& r : records) {
      const std::string* serial = r.find(options_.serialField);
      const std::string* code = r.find(options_.residentKey);
      if (!serial || !code || serial->empty() || code->empty() || serial->size() > 128) continue;
      if (s.run("UPDATE " + certificates_ + " SET resident_code = ? WHERE serial = ?", {*code, *serial}) == 0)
        s.run("INSERT INTO " + certificates_ + " (serial, resident_code) VALUES (?, ?)", {*serial, *code});
      ++taken;
    }
  });
  return taken;
}

std::size_t Review::acknowledge(const std::vector<Record>& records, std::int64_t now) {
  std::vector<std::string> numbers;
  for (const Record& r : records) {
    const std::string* id = r.find("application_id");
    if (!id) id = r.find("arrival_no");
    if (!id || id->empty()) continue;
    const std::string* result = r.find("result");
    if (result && !result->empty() && *result != "ok" && *result != "OK" && *result != "0") continue;
    numbers.push_back(*id);
  }
  return numbers.empty() ? 0 : reflect(numbers, "acknowledged by the core system", now);
}

std::vector<Review::Overdue> Review::overdue(std::int64_t now) {
  std::vector<Overdue> out;
  const calendar::Date today = dayOf(now);
  const std::string todayIso = calendar::iso(today);
  state_.read([&](StateSession& s) {
    s.query("SELECT arrival_no, procedure_id, state, due, correction_deadline, written_ms FROM " + apps_ +
                " WHERE state IN (?, ?, ?, ?) ORDER BY received_ms, id",
            {std::string(state::kReceived), std::string(state::kReviewing), std::string(state::kCorrection),
             std::string(state::kAwaiting)},
            [&](StateRows& row) {
              {
                const std::string st = row.text(2);
                const Procedure* p = procedures_->find(row.text(1));
                const std::string dept = p ? p->department : "";
                if ((st == state::kReceived || st == state::kReviewing) && todayIso > row.text(3))
                  out.push_back({row.text(0), row.text(1), dept, "processing", row.text(3)});
                else if (st == state::kCorrection && todayIso > row.text(4))
                  out.push_back({row.text(0), row.text(1), dept, "correction", row.text(4)});
                else if (st == state::kAwaiting && p &&
                         cal_.openDaysBetween(dayOf(row.integer(5)), today) > p->writeBack.reflectDays)
                  out.push_back({row.text(0), row.text(1), dept, "reflection", localDay(row.integer(5))});
              }
            });
  });
  return out;
}

std::size_t Review::remind(std::int64_t now) {
  const calendar::Date today = dayOf(now);
  if (!cal_.isOpen(today)) return 0;  // reminders on open mornings only
  std::map<std::string, std::vector<std::string>> byDept;
  for (const Overdue& o : overdue(now)) byDept[o.department].push_back(o.arrivalNo);
  std::size_t n = 0;
  for (const auto& [dept, numbers] : byDept) {
    Emission e;
    e.key = "review-overdue:" + calendar::iso(today) + ":" + dept;  // once per department and day
    RecordSet mail;
    mail.recordType = "review.mail";
    Record m(mailNames_);
    // One number a line, at most 50 (a mail of 32 on one line once met
    // "500 Line too long"); the rest is counted, and the list is on screen.
    constexpr std::size_t kListed = 50;
    std::string list;
    for (std::size_t k = 0; k < numbers.size() && k < kListed; ++k) list += (k ? "\n              " : "") + numbers[k];
    if (numbers.size() > kListed)
      list += "\n              … and " + std::to_string(numbers.size() - kListed) + " more (the overdue list on screen)";
    m.set(0, dept);
    m.set(1, "overdue");
    m.set(2, std::to_string(numbers.size()));
    m.set(3, list);
    m.set(4, calendar::iso(today));
    mail.records.push_back(std::move(m));
    e.sets.push_back(std::move(mail));
    commit(e, "reminder");
    ++n;
  }
  return n;
}

std::vector<ReportRow> Review::report(const std::string& by, const std::string& from, const std::string& to) {
  static const std::set<std::string> kinds = {"day", "month", "hour", "form", "department", "municipality"};
  if (!kinds.count(by))
    throw ReviewError{ReviewError::BadRequest, "by must be day, month, hour, form, department or municipality"};
  const auto f = calendar::parseIso(from), t = calendar::parseIso(to);
  if (!f || !t || *t < *f) throw ReviewError{ReviewError::BadRequest, "from and to must be dates (YYYY-MM-DD), from ≤ to"};
  if (calendar::toDays(*t) - calendar::toDays(*f) > 3700)
    throw ReviewError{ReviewError::BadRequest, "a report covers at most ten years"};
  const std::int64_t offset = options_.offsetMinutes * 60'000;
  const std::int64_t begin = calendar::toDays(*f) * kDayMs - offset, end = (calendar::toDays(*t) + 1) * kDayMs - offset;
  struct Acc {
    std::int64_t count = 0, started = 0;
    double minutes = 0;
  };
  std::map<std::string, Acc> acc;
  state_.read([&](StateSession& s) {
    s.query("SELECT received_ms, started_ms, procedure_id, municipality FROM " + apps_ +
                " WHERE received_ms >= ? AND received_ms < ?",
            {begin, end}, [&](StateRows& row) {
              {
                const std::int64_t at = row.integer(0), started = row.integer(1);
                const Procedure* p = procedures_->find(row.text(2));
                std::string key;
                if (by == "day") key = localDay(at);
                else if (by == "month") key = localDay(at).substr(0, 7);
                else if (by == "hour") {
                  const std::int64_t local = at + offset;
                  char h[4];
                  std::snprintf(h, sizeof h, "%02d", static_cast<int>(((local % kDayMs) + kDayMs) % kDayMs / 3'600'000));
                  key = h;
                } else if (by == "form") key = p ? p->form : row.text(2);
                else if (by == "department") key = p ? p->department : "";
                else key = row.text(3);
                Acc& x = acc[key];
                ++x.count;
                if (started > 0) ++x.started, x.minutes += static_cast<double>(started - at) / 60'000.0;
              }
            });
  });
  std::vector<ReportRow> out;
  for (const auto& [k, x] : acc) out.push_back({k, x.count, x.started ? x.minutes / static_cast<double>(x.started) : 0.0});
  return out;
}

std::string Review::reportCsv(const std::string& by, const std::vector<ReportRow>& rows) {
  std::string out = csvCell(by) + ",count,average_reception_minutes\r\n";
  for (const ReportRow& r : rows) {
    const std::string key = csvCell(r.key);  // quoted, and a formula never runs
    char avg[32];
    std::snprintf(avg, sizeof avg, "%.1f", r.averageReceptionMinutes);
    out += key + "," + std::to_string(r.count) + "," + avg + "\r\n";
  }
  return out;
}

}  // namespace renkei::review
