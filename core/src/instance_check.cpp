// Plugin instances configured in validation mode, and the layouts sources
// and route mappings must agree on.
#include "instance_check.h"

#include <Poco/Logger.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "host_services.h"
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

}  // namespace

void validateInstances(HostConfig& config, PluginRegistry& registry, Diagnostics& diags) {
  const std::string file = config.file.string();
  pipeline::MetricsRegistry metrics;  // thrown away: nothing is served while checking
  store::StoreConfig noStore;
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
    ctx.services = services.get();
    return ctx;
  };
  auto where = [&](const InstanceConfig& inst) {
    return inst.element + " '" + inst.id + "' (" + inst.plugin + "): ";
  };
  for (const InstanceConfig& inst : config.connectors) {
    if (!inst.descriptor) continue;
    std::unique_ptr<InstanceServices> services;
    std::unique_ptr<Connector> connector;
    try {
      connector = registry.createConnector(inst.plugin);
      connector->configure(inst.settings, contextFor(inst, services));
    } catch (const std::exception& e) {
      diags.add(file, inst.line, where(inst) + e.what());
      continue;
    }
    Source* source = connector->source();
    const std::optional<fs::path> layout = source ? source->layout() : std::nullopt;
    if (!layout) continue;
    for (RouteConfig& r : config.routes) {
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
  }
  for (const InstanceConfig& inst : config.modules) {
    if (!inst.descriptor) continue;
    std::unique_ptr<InstanceServices> services;
    try {
      auto module = registry.createModule(inst.plugin);
      module->configure(inst.settings, contextFor(inst, services));
    } catch (const std::exception& e) {
      diags.add(file, inst.line, where(inst) + e.what());
    }
  }
}

}  // namespace renkei
