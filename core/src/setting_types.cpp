// Parsing of plugin setting values by declared key type.
#include "setting_types.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "renkei/support/diagnostics.h"
#include "renkei/connection_string.h"

namespace renkei {
namespace {

bool parseUnsigned(std::string_view digits, std::uint64_t& value) {
  if (digits.empty()) return false;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return ec == std::errc() && ptr == digits.data() + digits.size();
}

// Splits "250ms" into ("250", "ms").
std::pair<std::string_view, std::string_view> splitNumber(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  return {text.substr(0, i), text.substr(i)};
}

// A secret named by the config: "file:<path>" (a regular file of at most
// 4 KiB, not a link; its first line) or "env:<NAME>". Messages name the file
// or the variable, never the value.
std::optional<std::string> readSecret(const std::string& text, const std::filesystem::path& baseDir,
                                      Settings::Value& out) {
  SecretValue secret;
  if (text.rfind("env:", 0) == 0) {
    const std::string name = text.substr(4);
    const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
    if (!v || !*v) return "environment variable '" + name + "' is not set (the secret is read from it)";
    secret.value = v;
    secret.from = "environment variable " + name;
  } else if (text.rfind("file:", 0) == 0) {
    std::filesystem::path p(text.substr(5));
    if (p.empty()) return std::string("'file:' names no file");
    if (p.is_relative()) p = (baseDir / p).lexically_normal();
    const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return "cannot read the secret file '" + p.string() + "': " + std::strerror(errno);
    struct stat st {};
    std::string content;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 4096) {
      ::close(fd);
      return "the secret file '" + p.string() + "' must be a regular file of at most 4 KiB";
    }
    if (st.st_mode & 077) {
      ::close(fd);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return "the secret file '" + p.string() + "' is open to other users (mode " + mode +
             "): it must be readable by renkei alone; chmod 600 it";
    }
    content.resize(static_cast<std::size_t>(st.st_size));
    const ssize_t n = ::read(fd, content.data(), content.size());
    ::close(fd);
    if (n < 0) return "cannot read the secret file '" + p.string() + "'";
    content.resize(static_cast<std::size_t>(n));
    content = content.substr(0, content.find_first_of("\r\n"));
    if (content.empty()) return "the secret file '" + p.string() + "' is empty";
    secret.value = std::move(content);
    secret.from = "file " + p.string();
  } else {
    // Never quote `text`: it may be the secret itself.
    return std::string("a secret is never written in the config: write file:<path> or env:<VARIABLE>");
  }
  out = std::move(secret);
  return std::nullopt;
}

}  // namespace

std::vector<std::string> enumChoices(const std::string& type) {
  std::vector<std::string> out;
  if (type.rfind("enum(", 0) != 0 || type.back() != ')') return out;
  std::string body = type.substr(5, type.size() - 6);
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t end = body.find('|', start);
    if (end == std::string::npos) end = body.size();
    if (end > start) out.push_back(body.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool isValidKeyType(const std::string& type) {
  static const char* kTypes[] = {"string", "int",  "bool",           "duration", "size",
                                 "path",   "list", "odbc-connection", "secret"};
  for (const char* t : kTypes)
    if (type == t) return true;
  return !enumChoices(type).empty();
}

std::optional<std::string> parseSettingValue(const std::string& type, const std::string& text,
                                             const std::filesystem::path& baseDir, Settings::Value& out) {
  if (type == "string") {
    out = text;
    return std::nullopt;
  }
  if (type == "odbc-connection") {
    // Checked here, so `renkei check` refuses it for every plugin that
    // declares a connection string, not only when the plugin starts.
    if (const std::string key = passwordKeyIn(text); !key.empty())
      return "the connection string holds a password (attribute '" + key +
             "'); put it in a file (password-file) or the environment (password-env) instead";
    out = text;
    return std::nullopt;
  }
  if (type == "int") {
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
      return "'" + text + "' is not a whole number";
    out = v;
    return std::nullopt;
  }
  if (type == "bool") {
    if (text == "true" || text == "yes" || text == "on" || text == "1") out = true;
    else if (text == "false" || text == "no" || text == "off" || text == "0") out = false;
    else return "'" + text + "' is not a boolean; valid: true, false";
    return std::nullopt;
  }
  if (type == "duration") {
    auto [num, unit] = splitNumber(text);
    std::uint64_t n = 0;
    std::uint64_t factor = 0;
    if (unit == "ms") factor = 1;
    else if (unit == "s" || unit.empty()) factor = 1000;
    else if (unit == "m") factor = 60'000;
    else if (unit == "h") factor = 3'600'000;
    else if (unit == "d") factor = 86'400'000;
    if (!parseUnsigned(num, n) || factor == 0 || n > std::numeric_limits<std::int64_t>::max() / factor)
      return "'" + text + "' is not a duration; write e.g. 250ms, 5s, 10m, 1h, 30d";
    out = std::chrono::milliseconds(static_cast<std::int64_t>(n * factor));
    return std::nullopt;
  }
  if (type == "size") {
    auto [num, unit] = splitNumber(text);
    std::uint64_t n = 0;
    std::uint64_t factor = 0;
    if (unit.empty() || unit == "B") factor = 1;
    else if (unit == "KiB") factor = 1ull << 10;
    else if (unit == "MiB") factor = 1ull << 20;
    else if (unit == "GiB") factor = 1ull << 30;
    if (!parseUnsigned(num, n) || factor == 0 || n > std::numeric_limits<std::uint64_t>::max() / factor)
      return "'" + text + "' is not a size; write e.g. 4096, 64KiB, 16MiB, 2GiB";
    out = n * factor;
    return std::nullopt;
  }
  if (type == "list") {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = text.find_first_of(",;", start);
      if (end == std::string::npos) end = text.size();
      std::string part = text.substr(start, end - start);
      part.erase(0, part.find_first_not_of(" \t\r\n"));
      part.erase(part.find_last_not_of(" \t\r\n") + 1);
      if (!part.empty()) items.push_back(std::move(part));
      start = end + 1;
    }
    out = std::move(items);
    return std::nullopt;
  }
  if (type == "secret") return readSecret(text, baseDir, out);
  if (type == "path") {
    if (text.empty()) return std::string("an empty path");
    std::filesystem::path p(text);
    out = p.is_absolute() ? p.lexically_normal() : (baseDir / p).lexically_normal();
    return std::nullopt;
  }
  const auto choices = enumChoices(type);
  if (!choices.empty()) {
    for (const auto& c : choices)
      if (c == text) {
        out = text;
        return std::nullopt;
      }
    return "'" + text + "' is not one of: " + joinList(choices) + didYouMean(text, choices);
  }
  return "undeclared type '" + type + "'";
}

}  // namespace renkei
