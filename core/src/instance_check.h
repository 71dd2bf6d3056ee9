// `renkei check` (and every start) configures each plugin instance in a
// validation mode: no threads, no listening, no store writes, so a plugin's
// own config errors are reported with file:line before anything runs.
#pragma once

#include "config.h"
#include "diagnostics.h"
#include "plugin_registry.h"

namespace renkei {

/// Creates and configures every connector and module of `config` (which
/// passed checkConfig) with HostContext::validating set, then destroys
/// them; also checks that a route's mapping reads a source's items through
/// the layout the source says they are written in. Problems go to `diags`.
void validateInstances(HostConfig& config, PluginRegistry& registry, Diagnostics& diags);

}  // namespace renkei
