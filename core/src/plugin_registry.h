// The plugin registry: finds plugin libraries, checks their ABI before their
// POCO manifest, and creates connector and module instances.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/ClassLoader.h>
#include <Poco/SharedLibrary.h>

#include "renkei/connector.h"
#include "renkei/plugin.h"

namespace renkei {

/// A plugin library could not be used. The message names the file.
class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConfigKeySpec {
  std::string key;
  std::string type;
  bool hasDefault = false;
  std::string defaultValue;
  bool required = false;
  std::string description;
  std::string deprecated;  ///< non-empty: the key is deprecated; what replaces it
};

/// What a plugin library declares, copied out of its renkei_plugin_info.
struct PluginDescriptor {
  std::filesystem::path path;
  std::string key;
  std::string kind;  ///< "connector" or "module"
  std::string version;
  std::string status;
  std::string description;
  std::uint32_t roles = 0;
  std::string className;
  std::vector<ConfigKeySpec> keys;
  /// Its operator commands (RENKEI_PLUGIN_VERBS), if it offers any.
  struct Verb {
    std::string action;
    std::vector<std::string> options;
    bool needsConfig = true;
    std::string usage, help;
  };
  std::vector<Verb> verbs;
  const Verb* findVerb(const std::string& action) const {
    for (const Verb& v : verbs)
      if (v.action == action) return &v;
    return nullptr;
  }

  const ConfigKeySpec* findKey(const std::string& name) const;
  std::vector<std::string> keyNames() const;
  /// "source, sink" for connectors; "" for modules.
  std::string roleNames() const;
};

/// A library in a plugin directory that was refused, with the reason.
struct RefusedLibrary {
  std::filesystem::path path;
  std::string reason;
};

/// Plugin libraries are files named renkei_<key>.so in the plugin directories.
///
/// Thread-safety: scan() and create*() are called from the host's start-up
/// thread only. Instances created here must be destroyed before the registry,
/// which unloads the libraries.
class PluginRegistry {
 public:
  PluginRegistry() = default;
  /// The ClassLoaders unload every library they loaded; the host has
  /// destroyed the instances by then.
  ~PluginRegistry() = default;
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  /// Reads the info of every library in `directories` (in order; the first
  /// library with a given key wins, a later one is refused naming both).
  void scan(const std::vector<std::filesystem::path>& directories);

  /// Reads and checks one library's info without touching its manifest.
  /// Throws PluginLoadError naming the file and, on an ABI mismatch, both versions.
  static PluginDescriptor readInfo(const std::filesystem::path& library);

  const std::vector<PluginDescriptor>& plugins() const { return plugins_; }
  const std::vector<RefusedLibrary>& refused() const { return refused_; }
  const PluginDescriptor* find(const std::string& key) const;
  std::vector<std::string> keys() const;
  const std::vector<std::filesystem::path>& directories() const { return directories_; }

  /// Loads the plugin's manifest (first use) and creates an instance.
  /// Throws PluginLoadError: no manifest, class missing, constructor failed.
  std::unique_ptr<Connector> createConnector(const std::string& key);
  std::unique_ptr<Module> createModule(const std::string& key);

 private:
  template <typename Base>
  std::unique_ptr<Base> create(Poco::ClassLoader<Base>& loader, const std::string& key, const char* kind);

  std::vector<std::filesystem::path> directories_;
  std::vector<PluginDescriptor> plugins_;
  std::vector<RefusedLibrary> refused_;
  Poco::ClassLoader<Connector> connectorLoader_;
  Poco::ClassLoader<Module> moduleLoader_;
};

}  // namespace renkei
