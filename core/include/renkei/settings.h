// Settings: an instance's configuration, validated by the host against the
// plugin's declared keys and handed over already typed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace renkei {

/// The value of a `secret` key: read by the host from the file or the
/// environment variable the config names (`file:…` or `env:…`; a secret is
/// never written in the config itself). Never log it, never put it in a
/// message; `from` says where it came from ("file /etc/renkei/db.pw",
/// "environment variable CORE_DB_PASSWORD") for messages.
struct SecretValue {
  std::string value;
  std::string from;
};

/// Thrown by a plugin's configure() when settings that passed the type check
/// still do not make sense together. The host reports it with the instance id
/// and the config file; the message must name the key and the offending value.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Typed, validated settings of one plugin instance. Every declared key is
/// present: either the configured value or the declared default. Keys without
/// a default that were not configured are absent (has() is false).
///
/// Built by the host; read by the plugin in configure(). Not thread-safe for
/// writing; reading from several threads is fine.
class Settings {
 public:
  using Value = std::variant<std::string, std::int64_t, bool, std::chrono::milliseconds,
                             std::uint64_t, std::filesystem::path, std::vector<std::string>, SecretValue>;

  bool has(const std::string& key) const { return values_.count(key) != 0; }

  /// string and enum(...) keys.
  const std::string& getString(const std::string& key) const { return get<std::string>(key); }
  /// int keys.
  std::int64_t getInt(const std::string& key) const { return get<std::int64_t>(key); }
  /// bool keys (true/false, yes/no, on/off, 1/0 in the file).
  bool getBool(const std::string& key) const { return get<bool>(key); }
  /// duration keys (`250ms`, `5s`, `10m`, `1h`; a bare number is seconds).
  std::chrono::milliseconds getDuration(const std::string& key) const {
    return get<std::chrono::milliseconds>(key);
  }
  /// size keys in bytes (`512`, `64KiB`, `16MiB`, `2GiB`).
  std::uint64_t getSize(const std::string& key) const { return get<std::uint64_t>(key); }
  /// path keys, already resolved against the directory of the config file.
  const std::filesystem::path& getPath(const std::string& key) const {
    return get<std::filesystem::path>(key);
  }

  /// list keys: items separated by ',' or ';', trimmed, empty ones dropped
  /// (`*.csv; *.CSV`, `id, version`).
  const std::vector<std::string>& getList(const std::string& key) const {
    return get<std::vector<std::string>>(key);
  }
  /// secret keys: the secret itself (see SecretValue).
  const SecretValue& getSecret(const std::string& key) const { return get<SecretValue>(key); }

  /// Used by the host while building the settings.
  void set(const std::string& key, Value value) { values_[key] = std::move(value); }

 private:
  template <typename T>
  const T& get(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw std::out_of_range("setting '" + key + "' is not set");
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    throw std::logic_error("setting '" + key + "' read with the wrong type");
  }

  std::map<std::string, Value> values_;
};

}  // namespace renkei
