// `renkei check` (and every start) configures each plugin instance in a
// validation mode: no threads, no listening, no store writes, so a plugin's
// own config errors are reported with file:line before anything runs.
#pragma once

#include "config.h"
#include "renkei/support/diagnostics.h"
#include "plugin_registry.h"

namespace renkei {

/// Creates and configures every connector and module of `config` (which
/// passed checkConfig) with HostContext::validating set, then destroys
/// them; also checks that a route's mapping reads a source's items through
/// the layout the source says they are written in. Problems go to `diags`.
void validateInstances(HostConfig& config, PluginRegistry& registry, Diagnostics& diags);

/// The most sensitive PII class that a layout reading connector `id`'s items
/// declares and the instance's zone does not hold ("mynumber" for an LGWAN
/// export with 個人番号), or "" (what Source::itemsHold is told).
std::string classNotHeld(const HostConfig& config, const std::string& id);
/// Whether a route takes connector `id`'s items in (it is used as a source).
bool readsFrom(const HostConfig& config, const std::string& id);

}  // namespace renkei
