// The pages plugins add to the operator listener (renkei/admin.h): one table
// for the host, filled while instances are configured, read by the admin
// listener's threads afterwards.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "renkei/admin.h"

namespace renkei {

class AdminPages {
 public:
  struct Page {
    std::string instance, path, help, permission;
    AdminHandler handler;
  };
  /// The registry one instance sees: its pages under /plugins/<instance>/.
  std::unique_ptr<AdminRegistry> forInstance(const std::string& instance);
  /// The page at /plugins/<instance>/<path>, if any.
  std::optional<Page> find(const std::string& instance, const std::string& path) const;
  /// Every page, by instance and path (the /plugins index).
  std::vector<Page> list() const;
  /// Permissions a page may name.
  static bool knownPermission(const std::string& permission);
  /// What a request may be answered now: "view" pages only until operators
  /// sign in (the console).
  static bool servedWithoutSignIn(const std::string& permission) { return permission == "view"; }

  void add(Page page);
  /// Forgets every page (at shutdown, before the plugins' libraries go).
  void clear() {
    std::lock_guard lock(mutex_);
    pages_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Page> pages_;
};

}  // namespace renkei
