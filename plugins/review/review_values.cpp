// The review module's value checks and the stored JSON forms of an
// application's lists (review_internal.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "renkei/support/codec.h"
#include "renkei/text.h"
#include "review_internal.h"

namespace fs = std::filesystem;

namespace renkei::plugins::review::detail {
namespace {

std::string json(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::condense(v, out);
  return out.str();
}

Poco::Dynamic::Var parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text.empty() ? std::string("null") : text);
}

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

}  // namespace

std::string fieldsJson(const Fields& fields) {
  Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
  for (const auto& [k, v] : fields) {
    Poco::JSON::Array::Ptr pair = new Poco::JSON::Array;
    pair->add(k);
    pair->add(v);
    a->add(pair);
  }
  return json(a);
}

Fields fieldsFrom(const std::string& text) {
  Fields out;
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

std::string valueOf(const Fields& fields, const std::string& name) {
  for (const auto& [k, v] : fields)
    if (k == name) return v;
  return {};
}

// A form's items are short; a client sending more is refused whole, before
// anything is stored.
void checkValues(const Fields& fields) {
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

std::string randomHex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1)
    throw ReviewError{ReviewError::Unavailable, "no random source"};
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) out += hex[b >> 4], out += hex[b & 15];
  return out;
}

bool memberPresent(const Fields& fields, int n) {
  const std::string prefix = "member." + std::to_string(n) + ".";
  return std::any_of(fields.begin(), fields.end(),
                     [&](const auto& f) { return f.first.rfind(prefix, 0) == 0 && !f.second.empty(); });
}

std::string originKey(const std::string& origin, const std::string& id) { return origin + '\x1f' + id; }

const char* const kColumns =
    "id, arrival_no, inquiry_no, procedure_id, source, municipality, external_id, received_ms, state, version, "
    "assigned, fields, attachments, findings, resident_code, due, paused_days, correction_deadline, "
    "correction_comment, hold_reason, started_ms, decided_ms, written_ms, reflected_ms, certificate_serial";

}  // namespace renkei::plugins::review::detail
