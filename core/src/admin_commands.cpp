// `renkei admin user …`: operators in the store's table, every change in the
// operators' log and so in the audit trail. Passwords are never taken on the
// command line (a shell's history keeps them): renkei makes a one-time one
// and prints it once.
#include "admin_commands.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "audit_trail.h"
#include "config.h"
#include "local_time.h"
#include "operator_commands.h"
#include "operators.h"
#include "renkei/files.h"
#include "renkei/local_time.h"
#include "renkei/support/qr.h"
#include "store/sql_db.h"
#include "store/store.h"

namespace renkei {
namespace {

constexpr int kOk = 0, kRuntime = 1, kUsage = 2;

std::string value(const std::map<std::string, std::string>& values, const std::string& key) {
  return optionValue(values, key);
}

std::set<std::string> permissionsOf(const AdminConfig& admin, const std::vector<std::string>& groups) {
  std::set<std::string> out;
  for (const std::string& g : groups)
    if (auto it = admin.groups.find(g); it != admin.groups.end()) out.insert(it->second.begin(), it->second.end());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

int runAdminCommand(const std::string& verb, const std::map<std::string, std::string>& values) {
  const std::string name = "renkei admin user " + verb;
  auto config = operatorConfig(values, name, "the instance whose operators these are");
  if (!config) return kUsage;
  const std::string configFile = value(values, "--config");
  if (!config->admin || config->admin->groups.empty()) {
    std::cerr << config->file.string() << ":" << (config->admin ? config->admin->line : config->rootLine) << ": "
              << name << ": the config's <admin> has no <group name=\"…\" permissions=\"…\"/>: operators are members "
              << "of groups, which say what they may do\n";
    return kUsage;
  }
  const AdminConfig& admin = *config->admin;
  const std::string id = value(values, "--user");
  if (verb != "list" && !operators::validId(id)) {
    std::cerr << name << ": --user ID is required: 1 to 64 of a-z 0-9 . _ -\n";
    return kUsage;
  }
  try {
    // The store is made by `serve` (or here, for the very first operator of
    // a new instance: operators come before the first start).
    auto s = store::openStore(config->effectiveStore());
    auto db = store::openDatabase(config->effectiveStore());
    operators::Directory directory(*db);
    const std::int64_t logged = s->lastOperatorLogId();
    const std::int64_t now = store::nowMs();
    int rc = kOk;
    if (verb == "list") {
      for (const operators::Operator& op : directory.list()) {
        const auto permissions = permissionsOf(admin, op.groups);
        std::cout << op.id << "  groups " << joined(op.groups) << (op.disabled ? "  DISABLED" : "")
                  << (op.lockedUntilMs > now ? "  locked until " + localTimeText(op.lockedUntilMs) : "")
                  << (op.mustChangePassword ? "  one-time password not yet changed" : "")
                  << (operators::needsSecondFactor(permissions) && op.totpSecret.empty() ? "  TOTP NOT ENROLLED" : "")
                  << "  last sign-in "
                  << (op.lastLoginMs ? localTimeText(op.lastLoginMs) + " from " + op.lastLoginAddress : "never") << "\n";
      }
      return kOk;
    }
    std::optional<operators::Operator> found = directory.find(id);
    if (verb == "add") {
      std::vector<std::string> groups;
      std::istringstream in(value(values, "--groups"));
      for (std::string g; std::getline(in, g, ',');)
        if (!g.empty()) groups.push_back(g);
      if (groups.empty()) {
        std::cerr << name << ": --groups G[,G…] is required (the config's groups: ";
        for (const auto& [g, _] : admin.groups) std::cerr << g << " ";
        std::cerr << ")\n";
        return kUsage;
      }
      for (const std::string& g : groups)
        if (!admin.groups.count(g)) {
          std::cerr << name << ": no group '" << g << "' in the config's <admin>\n";
          return kUsage;
        }
      if (found) {
        std::cerr << name << ": operator '" << id << "' exists (passwd gives a new one-time password)\n";
        return kRuntime;
      }
      operators::Operator op;
      op.id = id;
      op.groups = groups;
      op.createdMs = now;
      const std::string password = operators::oneTimePassword();
      op.passwordHash = operators::hashPassword(password);
      directory.add(op);
      s->logOperatorAction(operatorName(values), "admin user add", "operator " + id + " in groups " + joined(groups));
      std::cout << "operator " << id << " added, groups " << joined(groups) << "\n"
                << "one-time password (shown once; changed at the first sign-in): " << password << "\n";
      if (operators::needsSecondFactor(permissionsOf(admin, groups)))
        std::cout << "these groups permit administer or audit: enrol a second factor with "
                     "'renkei admin user totp --config "
                  << configFile << " --user " << id << "' before the first sign-in\n";
    } else if (!found) {
      std::cerr << name << ": no operator '" << id << "' ('renkei admin user list')\n";
      return kRuntime;
    } else if (verb == "passwd") {
      const std::string password = operators::oneTimePassword();
      found->passwordHash = operators::hashPassword(password);
      found->mustChangePassword = true;
      found->failures = 0;
      found->lockedUntilMs = 0;
      directory.save(*found);
      s->logOperatorAction(operatorName(values), "admin user passwd", "operator " + id + ": a new one-time password");
      std::cout << "one-time password for " << id << " (shown once; changed at the next sign-in): " << password << "\n";
    } else if (verb == "disable" || verb == "enable") {
      found->disabled = verb == "disable";
      if (!found->disabled) found->failures = 0, found->lockedUntilMs = 0;
      directory.save(*found);
      s->logOperatorAction(operatorName(values), "admin user " + verb, "operator " + id);
      std::cout << "operator " << id << (found->disabled ? ": sign-in refused from now on\n" : ": may sign in again\n");
    } else if (verb == "totp") {
      const std::string secret = operators::randomSecret(20);  // 160 bits, as RFC 4226 recommends
      found->totpSecret = secret;
      found->totpLastStep = 0;
      directory.save(*found);
      s->logOperatorAction(operatorName(values), "admin user totp", "operator " + id + ": a new TOTP secret");
      const std::string uri = operators::totpUri(config->instance, id, secret);
      const std::string png = value(values, "--png");
      if (!png.empty()) {
        if (const std::string error = writeNewFile(png, qr::png(uri, 6), 0600); !error.empty()) {
          std::cerr << name << ": " << error << "\n";
          rc = kRuntime;
        } else {
          std::cout << "QR code for the authenticator app: " << png << " (delete it once scanned)\n";
        }
      } else {
        std::cout << "scan into an authenticator app (or type the secret):\n  " << uri << "\n";
      }
    }
    auditOperatorActions(*config, *s, logged);
    return rc;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kRuntime;
  }
}

}  // namespace renkei
