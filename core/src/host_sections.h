// The host's own config sections declared as key tables, like a plugin's
// keys: one place for each attribute's type, default and meaning, read by
// the config loader and held to docs/configuration.md by a test.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <libxml/tree.h>

#include "renkei/support/diagnostics.h"
#include "renkei/plugin.h"
#include "renkei/settings.h"

namespace renkei {

/// <pipeline>, <admin>, <api> and <store>, attribute by attribute.
const std::vector<renkei_config_key>& pipelineKeys();
/// <backup folder="…" at="02:00" days="every|open" keep="7" max-age="26h"/>
const std::vector<renkei_config_key>& backupKeys();
/// <notify check="1m" interval="1h" recipient="operators" outbox-age="1h"
///         look-back="7d" disk-free="10" certificate-days="30"/>
const std::vector<renkei_config_key>& notifyKeys();
const std::vector<renkei_config_key>& adminKeys();
const std::vector<renkei_config_key>& apiKeys();
const std::vector<renkei_config_key>& storeKeys();

/// True when `diags` holds a problem at `line` naming the attribute (the
/// schema's or the type's): a range check then adds nothing more.
bool reportedAt(const Diagnostics& diags, int line, const char* attribute);

/// The section's settings: each attribute of `node` parsed by its declared
/// type (a bad value reported as "<section>: <key>: why" at the element's
/// line, unless the schema already reported that attribute there), every
/// other key at its default. `node` may be null (the section is absent: all
/// defaults). Paths resolve against `directory`.
Settings readSection(xmlNodePtr node, const char* section, const std::vector<renkei_config_key>& keys,
                     const std::filesystem::path& directory, const std::string& file, Diagnostics& diags);

}  // namespace renkei
