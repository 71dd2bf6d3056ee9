// Diagnostics and "did you mean" suggestions.
#include "renkei/support/diagnostics.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

namespace renkei {

std::string Diagnostic::format() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  if (!out.empty()) out += ": ";
  return out + message;
}

void Diagnostics::add(std::string file, int line, std::string message, int column) {
  items_.push_back({std::move(file), line, column, std::move(message)});
}

std::string Diagnostics::format() const {
  std::string out;
  for (const auto& d : items_) out += d.format() + "\n";
  return out;
}

void Diagnostics::warn(std::string file, int line, std::string message) {
  warnings_.push_back({std::move(file), line, 0, "warning: " + std::move(message)});
}

std::string Diagnostics::formatWarnings() const {
  std::string out;
  for (const auto& d : warnings_) out += d.format() + "\n";
  return out;
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
  warnings_.insert(warnings_.end(), other.warnings_.begin(), other.warnings_.end());
}

std::size_t editDistance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t bestDistance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t dist = editDistance(word, c);
    if (dist < bestDistance) {
      bestDistance = dist;
      best = c;
    }
  }
  return best;
}

std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
  const std::string best = closestMatch(word, candidates);
  return best.empty() ? std::string() : "; did you mean '" + best + "'?";
}

bool forEachTableLine(const std::string& file, const std::function<void(int, const std::string&)>& fn) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.empty() || line[0] == '#') continue;
    fn(n, line);
  }
  return true;
}

std::string joinList(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out;
}

std::optional<std::string> unreadableFile(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return errno == ENOENT ? std::string("does not exist") : std::string("cannot be read: ") + std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return std::string("is a folder, not a file");
  if (!S_ISREG(st.st_mode)) return std::string("is not a regular file");
  if (::access(file.c_str(), R_OK) != 0) return std::string("cannot be read: ") + std::strerror(errno);
  return std::nullopt;
}

std::optional<std::string> notPrivate(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !(st.st_mode & 077)) return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return std::string("is open to other users (mode ") + mode + "): it must be readable by renkei alone; chmod " +
         (S_ISDIR(st.st_mode) ? "700" : "600") + " '" + file.string() + "'";
}

}  // namespace renkei
