// Plugin instances configured in validation mode, and the layouts sources
// and route mappings must agree on.
#include "instance_check.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "host_services.h"
#include "renkei/support/calendar_file.h"
#include "mapping/mapping.h"
#include "pipeline/metrics.h"

namespace fs = std::filesystem;

namespace renkei {
namespace {

bool sameFile(const fs::path& a, const fs::path& b) {
  std::error_code ec1, ec2;
  if (fs::equivalent(a, b, ec1)) return true;
  // Two copies of one layout are the same layout: compared only when both
  // are regular files of one size within the bound a layout may have.
  if (!fs::is_regular_file(a, ec1) || !fs::is_regular_file(b, ec2)) return false;
  const auto size = fs::file_size(a, ec1);
  if (ec1 || size != fs::file_size(b, ec2) || ec2 || size > (16u << 20)) return false;
  std::ifstream x(a, std::ios::binary), y(b, std::ios::binary);
  if (!x || !y) return false;
  return std::string(std::istreambuf_iterator<char>(x), {}) == std::string(std::istreambuf_iterator<char>(y), {});
}

struct SinkZone {
  std::string zone;        ///< the zone it delivers into; "?" when it could not be configured
  std::string sealingKey;  ///< PEM; empty: it does not seal
};

/// The internet zone keeps nothing personal, not even in its outbox: a
/// route there whose fields are not all of class none delivers only to
/// sinks that seal, to one key (its batches are stored sealed to it).
void checkSealed(const HostConfig& config, const RouteConfig& r, const std::map<std::string, SinkZone>& sinks,
                 const std::set<std::string>& keepers, Diagnostics& diags) {
  if (config.zone != "internet" || !r.mapping) return;
  std::string personal;
  for (const auto& f : r.mapping->fields)
    if (f.pii != formats::Pii::None && personal.empty()) personal = f.to + "' (" + formats::piiName(f.pii) + ")";
  if (personal.empty()) return;
  if (r.records.empty() && keepers.count(r.from))
    diags.add(config.file.string(), r.line,
              "route '" + r.id + "': field '" + personal + " is personal, and connector '" + r.from +
                  "' keeps what it took in (done/); the internet zone keeps nothing personal: set keep-done=false "
                  "on it");
  std::set<std::string> keys;
  for (const std::string& to : r.to) {
    auto it = sinks.find(to);
    if (it == sinks.end() || it->second.sealingKey.empty()) {
      diags.add(config.file.string(), r.line,
                "route '" + r.id + "': field '" + personal + " is personal, and target '" + to +
                    "' does not seal what it carries; the internet zone keeps nothing personal, not even in its "
                    "outbox (only a bridge into LGWAN with a receiver-key may take it: its batches are stored "
                    "sealed to that key)");
      return;
    }
    keys.insert(it->second.sealingKey);
  }
  if (keys.size() > 1)
    diags.add(config.file.string(), r.line,
              "route '" + r.id + "': its targets seal to different keys; a route's batches are stored sealed to "
                                 "one: make one route per target");
}

/// Data crosses zones only through a sink that delivers into another zone
/// (the bridge's sending half): a route's mapping targets the zone of every
/// target it delivers to, and a route into another zone has a mapping (so
/// each field's class is known and allowed there).
void checkZones(const HostConfig& config, const std::map<std::string, SinkZone>& sinkZones,
                const std::set<std::string>& keepers, Diagnostics& diags) {
  const std::string file = config.file.string();
  for (const RouteConfig& r : config.routes) {
    std::set<std::string> zones;
    bool unknown = false;
    for (const std::string& to : r.to) unknown = unknown || (sinkZones.count(to) && sinkZones.at(to).zone == "?");
    if (unknown) continue;
    for (const std::string& to : r.to) {
      auto it = sinkZones.find(to);
      const std::string zone = it == sinkZones.end() ? config.zone : it->second.zone;
      zones.insert(zone);
      if (!r.mapping && !r.mappingFile && zone != config.zone)
        diags.add(file, r.line,
                  "route '" + r.id + "': target '" + to + "' delivers into the " + zone +
                      " zone; a route into another zone needs a mapping with <target zone=\"" + zone +
                      "\"/>, so every field's PII class is known and allowed there");
    }
    if (!r.mapping) continue;
    if (zones.size() > 1) {
      diags.add(file, r.line,
                "route '" + r.id + "': its targets are in different zones (" + joinList({zones.begin(), zones.end()}) +
                    "); one mapping targets one zone: make one route per zone");
      continue;
    }
    const std::string zone = zones.empty() ? config.zone : *zones.begin();
    if (r.mapping->zone == zone) {
      checkSealed(config, r, sinkZones, keepers, diags);
      continue;
    }
    if (zone == config.zone)
      diags.add(file, r.line,
                "route '" + r.id + "': mapping '" + r.mapping->id + "' targets the " + r.mapping->zone +
                    " zone, but this instance runs in the " + config.zone + " zone");
    else
      diags.add(file, r.line,
                "route '" + r.id + "': mapping '" + r.mapping->id + "' targets the " + r.mapping->zone +
                    " zone, but its target delivers into the " + zone + " zone");
  }
}

}  // namespace

/// The record types an instance declares it emits, against the routes that
/// take them: none is a problem (its records would only be held), and a type
/// with one final path (a procedure's write-back) has exactly one route.
void checkEmitted(const HostConfig& config, const InstanceConfig& inst, const std::vector<EmittedType>& types,
                  Diagnostics& diags) {
  for (const EmittedType& t : types) {
    std::vector<const RouteConfig*> taking;
    for (const RouteConfig& r : config.routes)
      if (r.from == inst.id && r.records == t.recordType) taking.push_back(&r);
    if (taking.empty())
      diags.add(config.file.string(), inst.line,
                inst.element + " '" + inst.id + "' (" + inst.plugin + ") emits " + t.what + " (records=\"" +
                    t.recordType + "\"), but no route takes them" +
                    (t.routes == EmittedType::Routes::ExactlyOne
                         ? ": add exactly one route (最終反映経路は一系統): <route id=\"…\" from=\"" + inst.id +
                               "\" records=\"" + t.recordType + "\" to=\"…\"/>"
                         : ": add a route <route id=\"…\" from=\"" + inst.id + "\" records=\"" + t.recordType +
                               "\" to=\"…\"/> (records no route takes are held as problems)"));
    if (t.routes != EmittedType::Routes::ExactlyOne) continue;
    // One final path, whatever the mappings: a second route, or a second
    // target, is refused (the plugin says which types; the host names none).
    const std::string file = config.file.string(), what = t.what + " (records=\"" + t.recordType + "\")";
    for (std::size_t i = 1; i < taking.size(); ++i)
      diags.add(file, taking[i]->line,
                "route '" + taking[i]->id + "' and route '" + taking[0]->id + "' (line " +
                    std::to_string(taking[0]->line) + ") both take " + what +
                    ": it has one final path (最終反映経路は一系統); keep one route");
    if (taking.size() == 1 && taking[0]->to.size() > 1)
      diags.add(file, taking[0]->line,
                "route '" + taking[0]->id + "' sends " + what + " to " + std::to_string(taking[0]->to.size()) +
                    " targets: it has one final path (最終反映経路は一系統); keep one target");
  }
}

bool readsFrom(const HostConfig& config, const std::string& id) {
  return std::any_of(config.routes.begin(), config.routes.end(),
                     [&](const RouteConfig& r) { return r.from == id && r.records.empty(); });
}

std::string classNotHeld(const HostConfig& config, const std::string& id) {
  int worst = -1;
  for (const RouteConfig& r : config.routes) {
    if (r.from != id || !r.records.empty() || !r.mapping || !r.mapping->layout) continue;
    for (const auto& f : r.mapping->layout->fields)
      if (!mapping::zoneAllows(config.zone, f.pii)) worst = std::max(worst, static_cast<int>(f.pii));
  }
  return worst < 0 ? std::string() : formats::piiName(static_cast<formats::Pii>(worst));
}

void validateInstances(HostConfig& config, PluginRegistry& registry, Diagnostics& diags) {
  const std::string file = config.file.string();
  // The instance's calendar first: the plugins ask for it while they check.
  if (config.calendarFile && !config.calendar) {
    Diagnostics found;
    if (auto cal = loadCalendar(*config.calendarFile, found); cal && found.empty()) {
      config.calendar = std::make_shared<const calendar::Calendar>(std::move(*cal));
    } else {
      diags.add(file, config.calendarLine,
                "calendar: '" + config.calendarFile->string() + "' cannot be used (its problems follow)");
      diags.append(found);
    }
  }
  pipeline::MetricsRegistry metrics;  // thrown away: nothing is served while checking
  store::StoreConfig noStore;
  // One directory for the config: a second instance offering the same
  // register is refused here, as at serve.
  auto registers = std::make_shared<HostRegisterDirectory>();
  auto assistants = std::make_shared<HostAssistantDirectory>();
  auto contextFor = [&](const InstanceConfig& inst, std::unique_ptr<InstanceServices>& services) {
    HostContext ctx;
    ctx.instance = config.instance;
    ctx.zone = config.zone;
    ctx.id = inst.id;
    ctx.configDir = config.directory;
    ctx.logger = &Poco::Logger::get("renkei." + inst.id);
    ctx.validating = true;
    services = std::make_unique<InstanceServices>(noStore, inst.id, nullptr, fs::temp_directory_path(), nullptr,
                                                  metrics.scope(inst.id), true);
    services->setCalendar(config.calendar);
    services->setRegisters(registers);
    services->setAssistants(assistants);
    ctx.services = services.get();
    return ctx;
  };
  auto where = [&](const InstanceConfig& inst) {
    return inst.element + " '" + inst.id + "' (" + inst.plugin + "): ";
  };
  std::map<std::string, SinkZone> sinkZones;  // sinks delivering into another zone, or sealing
  std::set<std::string> keepers;              // sources that keep what they took in
  for (const InstanceConfig& inst : config.connectors) {
    if (!inst.descriptor) continue;
    std::unique_ptr<InstanceServices> services;
    std::unique_ptr<Connector> connector;
    try {
      connector = registry.createConnector(inst.plugin);
      connector->configure(inst.settings, contextFor(inst, services));
    } catch (const std::exception& e) {
      diags.add(file, inst.line, where(inst) + e.what());
      sinkZones[inst.id] = {"?", ""};  // unknown: its routes' zones are not checked
      continue;
    }
    if (Sink* sink = connector->sink(); sink && ((!sink->zone().empty() && sink->zone() != config.zone) ||
                                                  !sink->sealingKey().empty()))
      sinkZones[inst.id] = {sink->zone().empty() ? config.zone : sink->zone(), sink->sealingKey()};
    checkEmitted(config, inst, connector->emits(), diags);
    Source* source = connector->source();
    if (source && source->keepsItems()) keepers.insert(inst.id);
    const std::optional<fs::path> layout = source ? source->layout() : std::nullopt;
    for (RouteConfig& r : config.routes) {
      if (!layout) break;
      if (r.from != inst.id || !r.records.empty() || !r.mapping || !r.mapping->layout) continue;
      if (sameFile(r.mapping->layout->file, *layout)) continue;
      if (r.layoutFile) {
        diags.add(file, r.line,
                  "route '" + r.id + "': it reads through the layout '" + r.layoutFile->string() + "', but connector '" +
                      inst.id + "' (line " + std::to_string(inst.line) + ") takes its items in through the layout '" +
                      layout->string() + "'; both must read the same layout (drop the route's layout=\"…\": the "
                      "connector's is used)");
        continue;
      }
      // The connector chooses the format (its <layout>): the route's mapping
      // reads through the same layout, so a format swap is one change.
      Diagnostics compiled;
      const mapping::KeyRing keys = routeKeys(config);
      auto m = mapping::loadMapping(*r.mappingFile, keys, compiled, &*layout);
      if (!compiled.empty()) {
        diags.add(file, r.line,
                  "route '" + r.id + "': its mapping '" + r.mapping->id + "' reads the items of connector '" + inst.id +
                      "' (line " + std::to_string(inst.line) + ") through the connector's layout '" +
                      layout->string() + "' and does not fit it (problems below)");
        diags.append(compiled);
        continue;
      }
      r.mapping = m;
    }
    if (source && readsFrom(config, inst.id))
      if (std::string keeps = source->itemsHold(classNotHeld(config, inst.id)); !keeps.empty())
        config.keeping.push_back("connector '" + inst.id + "' " + keeps);
  }
  checkZones(config, sinkZones, keepers, diags);
  for (const InstanceConfig& inst : config.modules) {
    if (!inst.descriptor) continue;
    std::unique_ptr<InstanceServices> services;
    try {
      auto module = registry.createModule(inst.plugin);
      module->configure(inst.settings, contextFor(inst, services));
      checkEmitted(config, inst, module->emits(), diags);
    } catch (const std::exception& e) {
      diags.add(file, inst.line, where(inst) + e.what());
    }
  }
}

}  // namespace renkei
