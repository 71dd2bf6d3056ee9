// Signing in to the console (the admin listener): operators from the store
// (operators.h), their groups' permissions from the config, sessions held
// in memory (a restart signs everyone out), a CSRF token per session,
// lock-out after failures, the address allow-list, TOTP for administer and
// audit. Every sign-in, failed sign-in, sign-out and password change goes
// into the audit trail. One answer for every failure (wrong id, wrong
// password, wrong code, locked out): nothing tells which ids exist, and an
// unknown id costs the same scrypt as a known one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <set>
#include <vector>
#include <string>

#include "config.h"
#include "operators.h"
#include "store/sql_db.h"
#include "store/store.h"

namespace renkei::console {

struct Session {
  std::string id;    ///< the cookie's value (256 random bits, hex)
  std::string csrf;  ///< sent back in X-CSRF-Token on every change
  std::string user;
  std::set<std::string> permissions;
  std::string address;
  bool mustChangePassword = false;
  std::int64_t lastUsedMs = 0;
};

struct SignIn {
  enum class Result { Ok, Failed, NotAllowedHere, SecondFactorNotEnrolled } result = Result::Failed;
  std::optional<Session> session;
  std::int64_t previousLoginMs = 0;  ///< shown at sign-in (0: the first)
  std::string previousAddress;
};

class Console {
 public:
  Console(const AdminConfig& config, const store::StoreConfig& store);
  /// Whether operators sign in at all (the config has groups).
  bool enabled() const { return !config_.groups.empty(); }
  /// Whether `address` may sign in (the allow-list; empty: any).
  bool allowed(const std::string& address) const;
  SignIn signIn(const std::string& user, const std::string& password, const std::string& code,
                const std::string& address, std::int64_t nowMs);
  /// The session of a cookie, not idle past session-idle; `use` moves its
  /// time on (a page's own background refresh does not).
  std::optional<Session> session(const std::string& id, std::int64_t nowMs, bool use = true);
  void signOut(const std::string& id);
  /// Changes the password of the session's operator (the old one checked;
  /// the new one at least 12 characters, not the old). "" or why not.
  std::string changePassword(const std::string& sessionId, const std::string& oldPassword,
                             const std::string& newPassword);
  std::size_t sessions() const;

 private:
  std::set<std::string> permissionsOf(const operators::Operator& op) const;
  /// The sign-in's outcome after the password check (under mutex_): the
  /// operator's failures and lock-out, the code, the session made; the
  /// audit result to write; sessions found idle in `idle`.
  std::string decide(const std::string& user, const std::string& address, const std::string& code,
                     std::int64_t nowMs, bool passwordOk, SignIn& out, std::vector<Session>& idle);
  AdminConfig config_;
  std::unique_ptr<store::SqlDatabase> db_;
  mutable std::mutex mutex_;  ///< db_ and sessions_
  std::map<std::string, Session> sessions_;
  std::counting_semaphore<2> scrypts_{2};  ///< sign-ins hashing at once
};

/// The value of cookie `name` in a Cookie header ("" when absent).
std::string cookie(const std::string& header, const std::string& name);

}  // namespace renkei::console
