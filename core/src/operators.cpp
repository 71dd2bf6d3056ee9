// Operators: scrypt password hashes, TOTP, the operators' table. See
// operators.h.
#include "operators.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace renkei::operators {
namespace {

std::string randomBytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("no random bytes from OpenSSL");
  return out;
}

std::string b64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> fromB64(const std::string& text) {
  if (text.empty() || text.size() % 4 || text.size() > 1024) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string scrypt(const std::string& password, const std::string& salt, const ScryptCost& cost, std::size_t length) {
  std::string out(length, '\0');
  // maxmem: what N, r need (128 * N * r) and a margin.
  if (EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                     salt.size(), cost.n, cost.r, cost.p, 128 * cost.n * cost.r + (1u << 20),
                     reinterpret_cast<unsigned char*>(out.data()), length) != 1)
    throw std::runtime_error("scrypt failed (OpenSSL)");
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  for (std::size_t next; (next = s.find(sep, at)) != std::string::npos; at = next + 1) parts.push_back(s.substr(at, next - at));
  parts.push_back(s.substr(at));
  return parts;
}

std::string joinGroups(const std::vector<std::string>& groups) {
  std::string out;
  for (const std::string& g : groups) out += (out.empty() ? "" : ",") + g;
  return out;
}

const char* const kColumns =
    "id, password_hash, groups_list, disabled, must_change, failures, locked_until_ms, totp_secret, totp_last_step, "
    "last_login_ms, last_login_address, created_ms";

Operator readOperator(store::SqlStatement& s) {
  Operator op;
  op.id = s.text(0);
  op.passwordHash = s.text(1);
  const std::string groups = s.text(2);
  if (!groups.empty()) op.groups = split(groups, ',');
  op.disabled = s.integer(3) != 0;
  op.mustChangePassword = s.integer(4) != 0;
  op.failures = static_cast<int>(s.integer(5));
  op.lockedUntilMs = s.integer(6);
  op.totpSecret = fromB64(s.text(7)).value_or(std::string());
  op.totpLastStep = s.integer(8);
  op.lastLoginMs = s.integer(9);
  op.lastLoginAddress = s.text(10);
  op.createdMs = s.integer(11);
  return op;
}

void bindOperator(store::SqlStatement& s, const Operator& op) {
  s.bind(1, op.id).bind(2, op.passwordHash).bind(3, joinGroups(op.groups));
  s.bind(4, static_cast<std::int64_t>(op.disabled)).bind(5, static_cast<std::int64_t>(op.mustChangePassword));
  s.bind(6, static_cast<std::int64_t>(op.failures)).bind(7, op.lockedUntilMs);
  s.bind(8, op.totpSecret.empty() ? std::string() : b64(op.totpSecret)).bind(9, op.totpLastStep);
  s.bind(10, op.lastLoginMs).bind(11, op.lastLoginAddress).bind(12, op.createdMs);
}

}  // namespace

std::string randomSecret(std::size_t n) { return randomBytes(n); }

bool needsSecondFactor(const std::set<std::string>& permissions) {
  return permissions.count("administer") || permissions.count("audit");
}

std::string hashPassword(const std::string& password, const ScryptCost& cost) {
  const std::string salt = randomBytes(16);
  return "scrypt$" + std::to_string(cost.n) + "$" + std::to_string(cost.r) + "$" + std::to_string(cost.p) + "$" +
         b64(salt) + "$" + b64(scrypt(password, salt, cost, 32));
}

bool checkPassword(const std::string& password, const std::string& stored) {
  const std::vector<std::string> p = split(stored, '$');
  if (p.size() != 6 || p[0] != "scrypt") return false;
  ScryptCost cost;
  try {
    cost.n = std::stoull(p[1]);
    cost.r = std::stoull(p[2]);
    cost.p = std::stoull(p[3]);
  } catch (const std::exception&) {
    return false;
  }
  // A stored cost beyond what renkei writes is not run (a planted hash
  // must not make a sign-in take a gigabyte).
  if (cost.n < 2 || cost.n > (1u << 20) || cost.r < 1 || cost.r > 16 || cost.p < 1 || cost.p > 4) return false;
  const auto salt = fromB64(p[4]), hash = fromB64(p[5]);
  if (!salt || !hash || hash->size() != 32) return false;
  const std::string got = scrypt(password, *salt, cost, hash->size());
  return CRYPTO_memcmp(got.data(), hash->data(), got.size()) == 0;
}

bool checkNoPassword(const std::string& password) {
  static const std::string salt(16, 's');
  scrypt(password, salt, ScryptCost{}, 32);
  return false;
}

std::string oneTimePassword() {
  static const char* alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const std::size_t n = std::char_traits<char>::length(alphabet);
  std::string out;
  while (out.size() < 20) {
    const unsigned char b = static_cast<unsigned char>(randomBytes(1)[0]);
    if (b < 256 - 256 % n) out += alphabet[b % n];  // no modulo bias
  }
  return out;
}

std::string base32(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

std::optional<std::string> fromBase32(const std::string& text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a';
    else if (c >= '2' && c <= '7') v = c - '2' + 26;
    else if (c == '=' || c == ' ') continue;
    else return std::nullopt;
    buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

std::string totpCode(const std::string& secret, std::int64_t step, int digits) {
  unsigned char counter[8];
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<unsigned char>(step & 0xff);
    step >>= 8;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), counter, sizeof counter, mac, &length);
  const int offset = mac[length - 1] & 0x0f;
  const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                               (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                               (static_cast<std::uint32_t>(mac[offset + 2]) << 8) | mac[offset + 3];
  std::uint32_t modulo = 1;
  for (int i = 0; i < digits; ++i) modulo *= 10;
  std::string code = std::to_string(binary % modulo);
  return std::string(static_cast<std::size_t>(digits) - code.size(), '0') + code;
}

std::optional<std::int64_t> totpMatch(const std::string& secret, const std::string& code, std::int64_t step) {
  if (code.size() != 6 || code.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  for (std::int64_t s : {step, step - 1, step + 1}) {
    const std::string expected = totpCode(secret, s);
    if (CRYPTO_memcmp(expected.data(), code.data(), 6) == 0) return s;
  }
  return std::nullopt;
}

std::string totpUri(const std::string& instance, const std::string& id, const std::string& secret) {
  // Ids and instance names are [a-z0-9._-]: nothing to escape.
  return "otpauth://totp/renkei%20" + instance + ":" + id + "?secret=" + base32(secret) +
         "&issuer=renkei&algorithm=SHA1&digits=6&period=30";
}

bool validId(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

std::optional<Operator> Directory::find(const std::string& id) {
  auto s = db_.prepare("SELECT " + std::string(kColumns) + " FROM operators WHERE id = ?");
  s->bind(1, id);
  if (!s->next()) return std::nullopt;
  return readOperator(*s);
}

std::vector<Operator> Directory::list() {
  std::vector<Operator> out;
  auto s = db_.prepare("SELECT " + std::string(kColumns) + " FROM operators ORDER BY id");
  while (s->next()) out.push_back(readOperator(*s));
  return out;
}

bool Directory::add(const Operator& op) {
  if (find(op.id)) return false;
  auto s = db_.prepare("INSERT INTO operators (" + std::string(kColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  bindOperator(*s, op);
  s->run();
  return true;
}

void Directory::save(const Operator& op) {
  auto s = db_.prepare(
      "UPDATE operators SET id = ?, password_hash = ?, groups_list = ?, disabled = ?, must_change = ?, failures = ?, "
      "locked_until_ms = ?, totp_secret = ?, totp_last_step = ?, last_login_ms = ?, last_login_address = ?, "
      "created_ms = ? WHERE id = ?");
  bindOperator(*s, op);
  s->bind(13, op.id);
  s->run();
}

std::size_t Directory::count() {
  auto s = db_.prepare("SELECT COUNT(*) FROM operators");
  return s->next() ? static_cast<std::size_t>(s->integer(0)) : 0;
}

}  // namespace renkei::operators
