#include "admin_pages.h"

#include <algorithm>
#include <stdexcept>

namespace renkei {
namespace {

bool validPath(const std::string& path) {
  if (path.empty() || path.size() > 100 || path.front() == '/' || path.back() == '/') return false;
  char previous = '/';
  for (char c : path) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!word && c != '/') return false;
    if (c == '/' && previous == '/') return false;
    previous = c;
  }
  return true;
}

class InstancePages final : public AdminRegistry {
 public:
  InstancePages(AdminPages& pages, std::string instance) : pages_(pages), instance_(std::move(instance)) {}
  void addHandler(const std::string& path, const std::string& help, const std::string& permission,
                  AdminHandler handler) override {
    if (!validPath(path))
      throw std::invalid_argument("admin page '" + path + "': a path is [a-z0-9-] words joined by '/', at most 100 bytes");
    if (!AdminPages::knownPermission(permission))
      throw std::invalid_argument("admin page '" + path + "': unknown permission '" + permission + "'");
    if (!handler) throw std::invalid_argument("admin page '" + path + "': no handler");
    pages_.add({instance_, path, help, permission, std::move(handler)});
  }

 private:
  AdminPages& pages_;
  std::string instance_;
};

}  // namespace

bool AdminPages::knownPermission(const std::string& permission) {
  static const char* const kKnown[] = {"view", "operate", "administer", "audit", "review", "crm", "concierge"};
  return std::find(std::begin(kKnown), std::end(kKnown), permission) != std::end(kKnown);
}

std::unique_ptr<AdminRegistry> AdminPages::forInstance(const std::string& instance) {
  return std::make_unique<InstancePages>(*this, instance);
}

void AdminPages::add(Page page) {
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(page.instance, page.path);
  if (pages_.count(key))
    throw std::invalid_argument("admin page '" + page.path + "' of '" + page.instance + "' is added twice");
  pages_.emplace(std::move(key), std::move(page));
}

std::optional<AdminPages::Page> AdminPages::find(const std::string& instance, const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = pages_.find({instance, path});
  if (it == pages_.end()) return std::nullopt;
  return it->second;
}

std::vector<AdminPages::Page> AdminPages::list() const {
  std::lock_guard lock(mutex_);
  std::vector<Page> out;
  for (const auto& [key, page] : pages_) out.push_back(page);
  return out;
}

}  // namespace renkei
