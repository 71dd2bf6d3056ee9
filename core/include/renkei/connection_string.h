// ODBC connection strings: where a password could hide in one. Secrets come
// from files or the environment; a config that spells one out is refused by
// `renkei check` and at start, however the key is written.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace renkei {

/// Returns the key (as written) of the first attribute of the ODBC
/// connection string `cs` that carries a password — PWD, PASSWORD or any key
/// ending in PWD or PASSWORD (SSLPassword …), in any case, with spaces
/// around it, with the value braced ({…}, "}}" inside) or not — or "" when
/// there is none. Thread-safe, never throws except std::bad_alloc.
inline std::string passwordKeyIn(std::string_view cs) {
  std::size_t i = 0;
  while (i < cs.size()) {
    const std::size_t eq = cs.find('=', i);
    const std::size_t semi = cs.find(';', i);
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) {
      if (semi == std::string_view::npos) break;
      i = semi + 1;  // an attribute without '=': skipped
      continue;
    }
    std::string_view key = cs.substr(i, eq - i);
    std::string normal;
    for (char c : key)
      if (!std::isspace(static_cast<unsigned char>(c)) && c != '_' && c != '-')
        normal.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    auto endsWith = [&](std::string_view tail) {
      return normal.size() >= tail.size() && normal.compare(normal.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (endsWith("PWD") || endsWith("PASSWORD") || normal == "PASS") {
      while (!key.empty() && std::isspace(static_cast<unsigned char>(key.front()))) key.remove_prefix(1);
      while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.remove_suffix(1);
      return std::string(key);
    }
    // The value: braced (a ';' inside does not end it, "}}" is a brace) or
    // up to the next ';'.
    std::size_t v = eq + 1;
    while (v < cs.size() && std::isspace(static_cast<unsigned char>(cs[v]))) ++v;
    if (v < cs.size() && cs[v] == '{') {
      ++v;
      while (v < cs.size()) {
        if (cs[v] == '}') {
          if (v + 1 < cs.size() && cs[v + 1] == '}') {
            v += 2;
            continue;
          }
          ++v;
          break;
        }
        ++v;
      }
    }
    const std::size_t next = cs.find(';', v);
    if (next == std::string_view::npos) break;
    i = next + 1;
  }
  return {};
}

}  // namespace renkei
