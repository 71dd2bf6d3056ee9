// An operator's command for a plugin's instances (plugin_commands.h).
#include "plugin_commands.h"
#include "operator_commands.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <Poco/Logger.h>

#include "config.h"
#include "renkei/support/diagnostics.h"
#include "host_application.h"
#include "host_services.h"
#include "local_time.h"
#include "pipeline/metrics.h"
#include "plugin_registry.h"
#include "renkei/text.h"
#include "store/store.h"

namespace fs = std::filesystem;

namespace renkei {
namespace {

constexpr int kUsage = 2;

std::string value(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

/// The plugin's declared verb for `action`, with the options checked; or
/// the usage problem (printed, exit 2).
const PluginDescriptor::Verb* findVerb(const PluginDescriptor& d, const std::string& action,
                                       const std::map<std::string, std::string>& values, std::string& problem) {
  std::vector<std::string> actions;
  for (const auto& v : d.verbs) actions.push_back(v.action);
  if (action.empty()) {
    problem = d.key + ": say what to do: " + joinList(actions, ", ");
    return nullptr;
  }
  const PluginDescriptor::Verb* verb = d.findVerb(action);
  if (!verb) {
    problem = d.key + ": unknown action '" + action + "'" + didYouMean(action, actions) + " actions: " +
              joinList(actions, ", ");
    return nullptr;
  }
  for (const auto& [option, _] : values)
    if (std::find(verb->options.begin(), verb->options.end(), option) == verb->options.end()) {
      problem = d.key + " " + action + ": unknown option '" + option + "'" + didYouMean(option, verb->options) +
                " (" + d.key + " " + action + " " + verb->usage + ")";
      return nullptr;
    }
  return verb;
}

/// A verb that needs no config: a fresh instance, never configured.
int runWithoutConfig(PluginRegistry& registry, const PluginDescriptor& d, const OperatorRequest& request,
                     const std::string& name) {
  std::optional<OperatorResult> result;
  try {
    auto connector = registry.createConnector(d.key);
    result = connector->operate(request);
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return 1;
  }
  if (!result) {
    std::cerr << name << ": the " << d.key << " plugin does not take '" << request.action << "'\n";
    return kUsage;
  }
  std::cout << result->output;
  if (!result->error.empty()) std::cerr << name << ": " << result->error << "\n";
  return result->status;
}

}  // namespace

int runPluginCommand(const std::string& plugin, const std::string& action,
                     const std::map<std::string, std::string>& values, const std::vector<std::string>& builtins) {
  const std::string name = "renkei " + plugin + (action.empty() ? "" : " " + action);
  // The plugin's verbs, from the default plugin directories (and the
  // config's, when one is named and has its own).
  PluginRegistry scanned;
  std::optional<std::filesystem::path> configDir;
  if (const std::string c = value(values, "--config"); !c.empty()) {
    Diagnostics ignored;
    if (auto cfg = loadConfig(c, ignored)) configDir = cfg->pluginDirectory;
  }
  scanned.scan(pluginDirectories(std::nullopt, configDir));
  const PluginDescriptor* d = scanned.find(plugin);
  if (!d || d->verbs.empty()) {
    std::vector<std::string> commands = builtins;
    for (const PluginDescriptor& p : scanned.plugins())
      if (!p.verbs.empty()) commands.push_back(p.key);
    std::cerr << "renkei: unknown command '" << plugin << "'" << didYouMean(plugin, commands) << "\n";
    return kUsage;
  }
  std::string problem;
  const PluginDescriptor::Verb* verb = findVerb(*d, action, values, problem);
  if (!verb) {
    std::cerr << "renkei: " << problem << "\n";
    return kUsage;
  }
  if (!verb->needsConfig) {
    OperatorRequest request;
    request.action = action;
    request.options = values;
    request.by = value(values, "--by");
    return runWithoutConfig(scanned, *d, request, name);
  }
  const std::string configFile = value(values, "--config");
  if (configFile.empty()) {
    std::cerr << name << ": --config is required (the instance whose " << plugin << " connector to ask)\n";
    return kUsage;
  }
  Diagnostics diags;
  std::optional<HostConfig> config;
  PluginRegistry registry;
  if (!loadAndCheck(configFile, std::nullopt, registry, config, diags)) {
    std::cerr << diags.format() << name << ": configuration problems (renkei check --config " << configFile << ")\n";
    return kUsage;
  }
  if (auto why = useTimeZone(config->timeZone)) {
    std::cerr << config->file.string() << ":" << config->rootLine << ": " << *why << "\n";
    return kUsage;
  }
  const std::string wanted = value(values, "--connector");
  std::vector<const InstanceConfig*> instances;
  std::vector<std::string> ids;
  for (const InstanceConfig& inst : config->connectors) {
    if (inst.plugin != plugin) continue;
    ids.push_back(inst.id);
    if (wanted.empty() || inst.id == wanted) instances.push_back(&inst);
  }
  if (instances.empty()) {
    std::cerr << name << ": " << configFile << " has "
              << (ids.empty() ? "no " + plugin + " connector"
                              : "no " + plugin + " connector '" + wanted + "'" + didYouMean(wanted, ids) +
                                    " (there are: " + joinList(ids) + ")")
              << "\n";
    return kUsage;
  }
  if (instances.size() > 1) {
    std::cerr << name << ": " << configFile << " has " << instances.size() << " " << plugin
              << " connectors; say which with --connector (" << joinList(ids) << ")\n";
    return kUsage;
  }
  const InstanceConfig& inst = *instances.front();
  OperatorRequest request;
  request.action = action;
  request.options = values;
  request.by = value(values, "--by");
  if (request.by.empty())
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) request.by = pw->pw_name;
  std::optional<OperatorResult> result;
  try {
    pipeline::MetricsRegistry metrics;
    // The instance is configured as `renkei check` does (nothing started);
    // then its state in the existing store is open to the action (a resident
    // release is recorded there, where only renkei writes).
    store::StoreConfig storeConfig = config->effectiveStore();
    storeConfig.create = false;
    InstanceServices services(storeConfig, inst.id, nullptr, fs::temp_directory_path(), nullptr,
                              metrics.scope(inst.id), true);
    HostContext ctx;
    ctx.instance = config->instance;
    ctx.zone = config->zone;
    ctx.id = inst.id;
    ctx.configDir = config->directory;
    ctx.logger = &Poco::Logger::get("renkei." + inst.id);
    ctx.services = &services;
    ctx.validating = true;
    auto connector = registry.createConnector(inst.plugin);
    connector->configure(inst.settings, ctx);
    services.openForOperator();
    result = connector->operate(request);
  } catch (const std::exception& e) {
    std::cerr << name << ": connector '" << inst.id << "': " << e.what() << "\n";
    return 1;
  }
  if (!result) {
    std::cerr << name << ": connector '" << inst.id << "' (" << plugin << ") does not take '" << action << "'\n";
    return kUsage;
  }
  std::cout << result->output;
  if (!result->error.empty()) std::cerr << name << ": " << result->error << "\n";
  if (!result->logged.empty()) {
    try {
      store::StoreConfig storeConfig = config->effectiveStore();
      storeConfig.create = false;
      auto s = store::openStore(storeConfig);
      const std::int64_t logged = s->lastOperatorLogId();
      s->logOperatorAction(request.by, plugin + " " + action, "connector " + inst.id + ": " + result->logged);
      auditOperatorActions(*config, *s, logged);
    } catch (const std::exception& e) {
      // Done, but not in the log: say so, the operator keeps a note.
      std::cerr << name << ": done, but the operators' log could not be written: " << e.what() << "\n";
      return 1;
    }
  }
  return result->status;
}

}  // namespace renkei
