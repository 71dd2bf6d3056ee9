// The plugin registry: ABI check before manifest, then POCO ClassLoader.
#include "plugin_registry.h"

#include <sstream>

#include <algorithm>

#include "setting_types.h"

namespace fs = std::filesystem;

namespace renkei {
namespace {

std::string str(const char* s) { return s ? std::string(s) : std::string(); }

}  // namespace

const ConfigKeySpec* PluginDescriptor::findKey(const std::string& name) const {
  for (const auto& k : keys)
    if (k.key == name) return &k;
  return nullptr;
}

std::vector<std::string> PluginDescriptor::keyNames() const {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(k.key);
  return out;
}

std::string PluginDescriptor::roleNames() const {
  std::vector<std::string> out;
  if (roles & RENKEI_ROLE_SOURCE) out.push_back("source");
  if (roles & RENKEI_ROLE_SINK) out.push_back("sink");
  if (roles & RENKEI_ROLE_LOOKUP) out.push_back("lookup");
  if (roles & RENKEI_ROLE_EMITTER) out.push_back("emitter");
  std::string joined;
  for (std::size_t i = 0; i < out.size(); ++i) joined += (i ? ", " : "") + out[i];
  return joined;
}

PluginDescriptor PluginRegistry::readInfo(const fs::path& library) {
  const std::string file = library.string();
  Poco::SharedLibrary lib;
  try {
    lib.load(file);
  } catch (const Poco::Exception& e) {
    throw PluginLoadError(file + ": cannot load library: " + e.message());
  }
  if (!lib.hasSymbol(RENKEI_PLUGIN_INFO_SYMBOL)) {
    lib.unload();
    throw PluginLoadError(file + ": not a renkei plugin: no '" RENKEI_PLUGIN_INFO_SYMBOL "' function");
  }
  auto infoFn = reinterpret_cast<renkei_plugin_info_fn>(lib.getSymbol(RENKEI_PLUGIN_INFO_SYMBOL));
  const renkei_plugin_info* info = infoFn();
  if (!info) throw PluginLoadError(file + ": " RENKEI_PLUGIN_INFO_SYMBOL "() returned nothing");
  // Only abi_version may be read before it is checked: the rest of the struct
  // may have another layout in another ABI.
  if (info->abi_version != RENKEI_SDK_ABI_VERSION)
    throw PluginLoadError(file + ": plugin SDK ABI version mismatch: expected " +
                          std::to_string(RENKEI_SDK_ABI_VERSION) + ", found " +
                          std::to_string(info->abi_version) + "; rebuild the plugin against this renkei");

  PluginDescriptor d;
  d.path = library;
  d.key = str(info->key);
  d.kind = str(info->kind);
  d.version = str(info->version);
  d.status = str(info->status);
  d.description = str(info->description);
  d.roles = info->roles;
  d.className = str(info->class_name);
  if (d.key.empty()) throw PluginLoadError(file + ": plugin info has no key");
  if (d.kind != "connector" && d.kind != "module")
    throw PluginLoadError(file + ": plugin '" + d.key + "' has kind '" + d.kind +
                          "'; valid: connector, module");
  if (d.className.empty()) throw PluginLoadError(file + ": plugin '" + d.key + "' names no class");
  for (std::size_t i = 0; i < info->key_count; ++i) {
    const renkei_config_key& k = info->keys[i];
    ConfigKeySpec spec;
    spec.key = str(k.key);
    spec.type = str(k.type);
    spec.hasDefault = k.default_value != nullptr;
    spec.defaultValue = str(k.default_value);
    spec.required = k.required != 0;
    spec.description = str(k.description);
    spec.deprecated = str(k.deprecated);
    if (spec.key.empty() || !isValidKeyType(spec.type))
      throw PluginLoadError(file + ": plugin '" + d.key + "' declares key '" + spec.key +
                            "' with invalid type '" + spec.type + "'");
    d.keys.push_back(std::move(spec));
  }
  if (lib.hasSymbol(RENKEI_PLUGIN_VERBS_SYMBOL)) {
    std::size_t count = 0;
    auto verbsFn = reinterpret_cast<renkei_plugin_verbs_fn>(lib.getSymbol(RENKEI_PLUGIN_VERBS_SYMBOL));
    const renkei_operator_verb* verbs = verbsFn(&count);
    if (count > 64)
      throw PluginLoadError(file + ": plugin '" + d.key + "' declares " + std::to_string(count) +
                            " operator commands; at most 64");
    for (std::size_t i = 0; verbs && i < count; ++i) {
      PluginDescriptor::Verb v;
      v.action = str(verbs[i].action);
      std::istringstream words(str(verbs[i].options));
      for (std::string w; words >> w;) v.options.push_back(w);
      v.needsConfig = verbs[i].needs_config != 0;
      if (v.needsConfig) v.options.insert(v.options.begin(), "--config");
      v.usage = str(verbs[i].usage);
      v.help = str(verbs[i].help);
      if (v.action.empty() || v.action.rfind("--", 0) == 0)
        throw PluginLoadError(file + ": plugin '" + d.key + "' declares an operator command without an action");
      d.verbs.push_back(std::move(v));
    }
  }
  lib.unload();
  return d;
}

void PluginRegistry::scan(const std::vector<fs::path>& directories) {
  directories_ = directories;
  for (const auto& dir : directories) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    std::vector<fs::path> libs;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("renkei_", 0) == 0 && entry.path().extension() == ".so") libs.push_back(entry.path());
    }
    std::sort(libs.begin(), libs.end());
    for (const auto& lib : libs) {
      try {
        PluginDescriptor d = readInfo(lib);
        if (const PluginDescriptor* other = find(d.key)) {
          refused_.push_back({lib, "plugin key '" + d.key + "' is already provided by " + other->path.string()});
          continue;
        }
        plugins_.push_back(std::move(d));
      } catch (const PluginLoadError& e) {
        refused_.push_back({lib, e.what()});
      }
    }
  }
  std::sort(plugins_.begin(), plugins_.end(),
            [](const PluginDescriptor& a, const PluginDescriptor& b) { return a.key < b.key; });
}

const PluginDescriptor* PluginRegistry::find(const std::string& key) const {
  for (const auto& p : plugins_)
    if (p.key == key) return &p;
  return nullptr;
}

std::vector<std::string> PluginRegistry::keys() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_) out.push_back(p.key);
  return out;
}

template <typename Base>
std::unique_ptr<Base> PluginRegistry::create(Poco::ClassLoader<Base>& loader, const std::string& key,
                                             const char* kind) {
  const PluginDescriptor* d = find(key);
  if (!d) throw PluginLoadError("no plugin '" + key + "' in " + (directories_.empty() ? std::string("(no plugin directory)") : directories_.front().string()));
  const std::string file = d->path.string();
  if (d->kind != kind)
    throw PluginLoadError(file + ": plugin '" + key + "' is a " + d->kind + ", not a " + kind);
  try {
    if (!loader.isLibraryLoaded(file)) loader.loadLibrary(file);
  } catch (const Poco::Exception& e) {
    // POCO says "No manifest in <path>" or "Manifest class mismatch in <path>".
    throw PluginLoadError(file + ": cannot load the POCO manifest of plugin '" + key + "': " + e.message() +
                          (e.message().find("mismatch") != std::string::npos
                               ? std::string(" (the manifest is not for renkei::") +
                                     (d->kind == "connector" ? "Connector" : "Module") + ")"
                               : std::string()));
  }
  if (!loader.findClass(d->className))
    throw PluginLoadError(file + ": the manifest of plugin '" + key + "' does not export class '" +
                          d->className + "'");
  try {
    return std::unique_ptr<Base>(loader.create(d->className));
  } catch (const Poco::Exception& e) {
    throw PluginLoadError(file + ": plugin '" + key + "': constructor of '" + d->className +
                          "' failed: " + e.displayText());
  } catch (const std::exception& e) {
    throw PluginLoadError(file + ": plugin '" + key + "': constructor of '" + d->className +
                          "' failed: " + e.what());
  } catch (...) {
    throw PluginLoadError(file + ": plugin '" + key + "': constructor of '" + d->className +
                          "' failed with an unknown exception");
  }
}

std::unique_ptr<Connector> PluginRegistry::createConnector(const std::string& key) {
  return create(connectorLoader_, key, "connector");
}

std::unique_ptr<Module> PluginRegistry::createModule(const std::string& key) {
  return create(moduleLoader_, key, "module");
}

}  // namespace renkei
