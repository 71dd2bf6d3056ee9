// Signing in to the console. See console_auth.h.
#include "console_auth.h"

#include <arpa/inet.h>

#include <cstring>

#include "host_services.h"

namespace renkei::console {
namespace {

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

/// Whether `address` is inside the CIDR `block`.
bool inBlock(const std::string& address, const std::string& block) {
  const std::size_t slash = block.find('/');
  const std::string net = block.substr(0, slash);
  const int bits = std::stoi(block.substr(slash + 1));
  unsigned char a[16] = {}, n[16] = {};
  int length = 0;
  if (inet_pton(AF_INET, address.c_str(), a) == 1 && inet_pton(AF_INET, net.c_str(), n) == 1) {
    length = 4;
  } else if (inet_pton(AF_INET6, address.c_str(), a) == 1 && inet_pton(AF_INET6, net.c_str(), n) == 1) {
    length = 16;
  } else {
    return false;
  }
  for (int i = 0; i < length; ++i) {
    const int left = bits - i * 8;
    if (left <= 0) break;
    const unsigned char mask = left >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - left));
    if ((a[i] & mask) != (n[i] & mask)) return false;
  }
  return true;
}

void audit(const std::string& who, const std::string& address, const std::string& action, const std::string& result) {
  AuditEntry e;
  e.who = who.substr(0, 64);
  e.address = address;
  e.action = action;
  e.result = result;
  writeAudit(e, result.rfind("refused", 0) == 0);
}

}  // namespace

std::string cookie(const std::string& header, const std::string& name) {
  std::size_t at = 0;
  while (at < header.size()) {
    while (at < header.size() && (header[at] == ' ' || header[at] == ';')) ++at;
    const std::size_t end = std::min(header.find(';', at), header.size());
    const std::string pair = header.substr(at, end - at);
    const std::size_t eq = pair.find('=');
    if (eq != std::string::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    at = end + 1;
  }
  return {};
}

Console::Console(const AdminConfig& config, const store::StoreConfig& store) : config_(config) {
  if (enabled()) db_ = store::openDatabase(store);
}

bool Console::allowed(const std::string& address) const {
  if (config_.allow.empty()) return true;
  std::string plain = address;
  if (plain.rfind("::ffff:", 0) == 0 && plain.find('.') != std::string::npos) plain = plain.substr(7);  // IPv4 in IPv6
  for (const std::string& block : config_.allow)
    if (inBlock(plain, block)) return true;
  return false;
}

std::set<std::string> Console::permissionsOf(const operators::Operator& op) const {
  std::set<std::string> out;
  for (const std::string& g : op.groups)
    if (auto it = config_.groups.find(g); it != config_.groups.end()) out.insert(it->second.begin(), it->second.end());
  return out;
}

SignIn Console::signIn(const std::string& user, const std::string& password, const std::string& code,
                       const std::string& address, std::int64_t nowMs) {
  SignIn out;
  if (!enabled()) return out;
  if (!allowed(address)) {
    out.result = SignIn::Result::NotAllowedHere;
    audit(user, address, "console sign-in", "refused: address not on the allow-list");
    return out;
  }
  std::optional<operators::Operator> op;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (operators::validId(user)) op = operators::Directory(*db_).find(user);
  }
  // The same work for an unknown id as for a known one: no timing tells.
  // Outside the lock: a sign-in's scrypt never holds up others' sessions;
  // at most two at once, so a flood of sign-ins costs 2 × 32 MiB, not one
  // per listener thread.
  scrypts_.acquire();
  bool passwordOk = false;
  try {
    passwordOk = op ? operators::checkPassword(password, op->passwordHash) : operators::checkNoPassword(password);
  } catch (...) {
    scrypts_.release();
    throw;
  }
  scrypts_.release();
  // Decided under the lock; written to the audit trail after it (a commit
  // must not hold up every session look-up).
  std::string result;
  std::vector<Session> idle;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    result = decide(user, address, code, nowMs, passwordOk, out, idle);
  }
  for (const Session& i : idle) audit(i.user, i.address, "console session", "ended: idle");
  if (out.result != SignIn::Result::Ok) {
    audit(user, address, "console sign-in", result);
    return out;
  }
  try {
    audit(user, address, "console sign-in", "ok");
  } catch (...) {
    // Not in the trail: no session either.
    std::lock_guard<std::mutex> lock(mutex_);
    sessions_.erase(out.session->id);
    throw;
  }
  return out;
}

std::string Console::decide(const std::string& user, const std::string& address, const std::string& code,
                            std::int64_t nowMs, bool passwordOk, SignIn& out, std::vector<Session>& idle) {
  operators::Directory directory(*db_);
  std::optional<operators::Operator> op = operators::validId(user) ? directory.find(user) : std::nullopt;
  if (!op) return "refused: failed";
  const auto fail = [&](const std::string& why) {
    ++op->failures;
    if (op->failures >= config_.maxFailures) {
      op->lockedUntilMs = nowMs + config_.lockout.count();
      op->failures = 0;
    }
    directory.save(*op);
    return "refused: " + why;
  };
  if (op->disabled) return fail("disabled");
  // Not counted again: the lock-out does not grow by trying.
  if (op->lockedUntilMs > nowMs) return "refused: locked out";
  if (!passwordOk) return fail("wrong password");
  const std::set<std::string> permissions = permissionsOf(*op);
  if (operators::needsSecondFactor(permissions)) {
    if (op->totpSecret.empty()) {
      out.result = SignIn::Result::SecondFactorNotEnrolled;
      return "refused: no second factor enrolled";
    }
    const auto step = operators::totpMatch(op->totpSecret, code, nowMs / 1000 / 30);
    // A code is good once: not again, nor an older one.
    if (!step || *step <= op->totpLastStep) return fail("wrong or used code");
    op->totpLastStep = *step;
  }
  out.previousLoginMs = op->lastLoginMs;
  out.previousAddress = op->lastLoginAddress;
  op->failures = 0;
  op->lastLoginMs = nowMs;
  op->lastLoginAddress = address;
  directory.save(*op);
  // Sessions left to idle are dropped here (none is kept past its time,
  // each said in the trail), and one operator holds at most 8: the oldest
  // goes.
  std::size_t mine = 0;
  std::string oldest;
  std::int64_t oldestMs = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (nowMs - it->second.lastUsedMs > config_.sessionIdle.count()) {
      idle.push_back(it->second);
      it = sessions_.erase(it);
      continue;
    }
    if (it->second.user == op->id) {
      ++mine;
      if (oldest.empty() || it->second.lastUsedMs < oldestMs) oldest = it->first, oldestMs = it->second.lastUsedMs;
    }
    ++it;
  }
  if (mine >= 8) sessions_.erase(oldest);
  Session s;
  s.id = hex(operators::randomSecret(32));
  s.csrf = hex(operators::randomSecret(32));
  s.user = op->id;
  s.permissions = permissions;
  s.address = address;
  s.mustChangePassword = op->mustChangePassword;
  s.lastUsedMs = nowMs;
  sessions_[s.id] = s;
  out.session = s;
  out.result = SignIn::Result::Ok;
  return "ok";
}

std::optional<Session> Console::session(const std::string& id, std::int64_t nowMs, bool use) {
  std::optional<Session> ended;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return std::nullopt;
    if (nowMs - it->second.lastUsedMs <= config_.sessionIdle.count()) {
      if (use) it->second.lastUsedMs = nowMs;
      return it->second;
    }
    ended = it->second;
    sessions_.erase(it);
  }
  audit(ended->user, ended->address, "console session", "ended: idle");
  return std::nullopt;
}

void Console::signOut(const std::string& id) {
  std::optional<Session> ended;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    ended = it->second;
    sessions_.erase(it);
  }
  audit(ended->user, ended->address, "console sign-out", "ok");
}

std::string Console::changePassword(const std::string& sessionId, const std::string& oldPassword,
                                    const std::string& newPassword) {
  Session session;
  std::optional<operators::Operator> op;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sessions_.find(sessionId);
    if (it == sessions_.end()) return "not signed in";
    session = it->second;
    op = operators::Directory(*db_).find(session.user);
  }
  // The two scrypts outside the lock, like a sign-in's.
  scrypts_.acquire();
  bool oldOk = false;
  std::string hash;
  try {
    oldOk = op && operators::checkPassword(oldPassword, op->passwordHash);
    if (oldOk && newPassword.size() >= 12 && newPassword.size() <= 256 && newPassword != oldPassword)
      hash = operators::hashPassword(newPassword);
  } catch (...) {
    scrypts_.release();
    throw;
  }
  scrypts_.release();
  if (!oldOk) {
    audit(session.user, session.address, "console password change", "refused: the old password is wrong");
    return "the old password is wrong";
  }
  if (hash.empty()) return "a new password of 12 to 256 characters, not the old one";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    operators::Directory directory(*db_);
    op = directory.find(session.user);
    if (!op) return "not signed in";
    op->passwordHash = hash;
    op->mustChangePassword = false;
    directory.save(*op);
    if (auto it = sessions_.find(sessionId); it != sessions_.end()) it->second.mustChangePassword = false;
  }
  audit(session.user, session.address, "console password change", "ok");
  return {};
}

std::size_t Console::sessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return sessions_.size();
}

}  // namespace renkei::console
