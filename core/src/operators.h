// Operators: the people who run renkei through its console. Each has an id,
// a password (hashed with scrypt), groups (each group grants permissions,
// named in the config), and — when a group grants administer or audit — a
// TOTP second factor (RFC 6238). Failed sign-ins lock an operator out for a
// while. There is no default operator: the first is made with
// `renkei admin user add`, which prints a one-time password once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/sql_db.h"
#include "store/store.h"

namespace renkei::operators {

/// The scrypt cost renkei hashes passwords with: N = 2^15, r = 8, p = 1
/// (32 MiB and about 0.1 s on one core of this class of machine).
struct ScryptCost {
  std::uint64_t n = 1u << 15;
  std::uint64_t r = 8, p = 1;
};

/// "scrypt$32768$8$1$<salt b64>$<hash b64>" for `password`.
std::string hashPassword(const std::string& password, const ScryptCost& cost = {});
/// Whether `password` matches `stored` (constant time in the hash compare).
bool checkPassword(const std::string& password, const std::string& stored);
/// Runs one scrypt of the same cost and returns false: for an unknown id,
/// so that its answer takes as long as a known one's.
bool checkNoPassword(const std::string& password);

/// `n` random bytes (OpenSSL's generator): TOTP secrets, session ids.
std::string randomSecret(std::size_t n);
/// A random password of 20 characters from an alphabet without look-alikes.
std::string oneTimePassword();

/// RFC 4648 base32 without padding, and back (nothing when not base32).
std::string base32(const std::string& bytes);
std::optional<std::string> fromBase32(const std::string& text);
/// The RFC 6238 code (HMAC-SHA1, `digits` digits) of `secret` at `step`
/// (seconds since 1970 / 30).
std::string totpCode(const std::string& secret, std::int64_t step, int digits = 6);
/// The step whose code `code` is, among step-1 … step+1; none otherwise.
std::optional<std::int64_t> totpMatch(const std::string& secret, const std::string& code, std::int64_t step);
/// "otpauth://totp/renkei:<id>?secret=…&issuer=renkei" for an authenticator app.
std::string totpUri(const std::string& instance, const std::string& id, const std::string& secret);

/// The permissions renkei itself knows; plugins add their keys (review,
/// crm, concierge …) as further names.
inline const std::set<std::string> kBuiltinPermissions = {"view", "operate", "administer", "audit"};
/// Whether holding `permissions` needs a second factor (administer, audit).
bool needsSecondFactor(const std::set<std::string>& permissions);

struct Operator {
  std::string id;
  std::string passwordHash;
  std::vector<std::string> groups;
  bool disabled = false;
  bool mustChangePassword = true;  ///< a one-time password was given
  int failures = 0;
  std::int64_t lockedUntilMs = 0;
  std::string totpSecret;          ///< raw bytes; empty: not enrolled
  std::int64_t totpLastStep = 0;   ///< the last step used (a code is good once)
  std::int64_t lastLoginMs = 0;
  std::string lastLoginAddress;
  std::int64_t createdMs = 0;
};

/// The operators' table in the store (schema step 8).
class Directory {
 public:
  explicit Directory(store::SqlDatabase& db) : db_(db) {}
  std::optional<Operator> find(const std::string& id);
  std::vector<Operator> list();
  /// Adds a new operator; false when the id is taken.
  bool add(const Operator& op);
  void save(const Operator& op);
  std::size_t count();

 private:
  store::SqlDatabase& db_;
};

/// A valid operator id: 1 to 64 of a-z 0-9 . _ - (lower case).
bool validId(const std::string& id);

}  // namespace renkei::operators
