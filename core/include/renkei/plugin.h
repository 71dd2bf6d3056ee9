// The plugin ABI: the C-level description every renkei plugin library exports.
#pragma once

#include <cstddef>
#include <cstdint>

/// Version of the plugin SDK ABI. The host refuses a library whose info reports
/// another number, before it reads the library's POCO manifest. Bump it whenever
/// a header in include/renkei changes a class layout, a virtual function or
/// this struct.
#define RENKEI_SDK_ABI_VERSION 19u

extern "C" {

/// Role bits a plugin may declare (a module declares at most EMITTER).
enum renkei_role : std::uint32_t {
  RENKEI_ROLE_SOURCE = 1u << 0,  ///< produces intake (files, rows) for routes
  RENKEI_ROLE_SINK = 1u << 1,    ///< receives mapped records from routes
  RENKEI_ROLE_LOOKUP = 1u << 2,  ///< answers keyed look-ups
  RENKEI_ROLE_EMITTER = 1u << 3, ///< hands record sets to the host (HostServices::emit, Source::prepare); routes take them with records="type"
};

/// One configuration key a plugin accepts, declared as data. The host checks
/// every instance's settings against this table before the plugin sees them.
/// `type` is one of: string, int, bool, duration, size, path, list, secret,
/// odbc-connection, enum(a|b|c) (docs/plugins.md, "Key types").
/// `default_value` is nullptr when the key has no default. `deprecated`,
/// when set, says what replaces the key: the host still takes it, and
/// `renkei check` warns at its line (file:line) with that text.
struct renkei_config_key {
  const char* key;
  const char* type;
  const char* default_value;
  int required;
  const char* description;
  const char* deprecated = nullptr;
};

/// What a plugin library says about itself. `abi_version` must stay the first
/// member: it is the only one the host reads before it has checked it.
struct renkei_plugin_info {
  std::uint32_t abi_version;   ///< RENKEI_SDK_ABI_VERSION at build time
  const char* key;             ///< stable key used in config (plugin="file")
  const char* kind;            ///< "connector" or "module"
  const char* version;         ///< the plugin's own version
  const char* status;          ///< "stable", "experimental" or "deprecated"
  const char* description;     ///< one line for `renkei plugins`
  std::uint32_t roles;         ///< renkei_role bits (connectors)
  const char* class_name;      ///< class exported in the POCO manifest
  const renkei_config_key* keys;
  std::size_t key_count;
};

/// Every plugin library exports this symbol. The pointer stays valid while the
/// library is loaded. It must not throw and must not allocate.
typedef const renkei_plugin_info* (*renkei_plugin_info_fn)();
}

/// One operator command a plugin offers on the command line:
/// `renkei <plugin key> <action> [options]`, answered by the plugin's
/// Connector::operate(). The host checks the action and options against
/// this before the plugin runs, and `renkei plugins` lists them.
struct renkei_operator_verb {
  const char* action;   ///< "pending"
  const char* options;  ///< the options it takes, space-separated ("--connector --bundle --by"); --config is implied when needs_config
  int needs_config;     ///< 1: on the config's instance of this plugin (--config F, --connector ID when several);
                        ///< 0: on a fresh instance never configured: no settings, no host services (`bridge keygen`)
  const char* usage;    ///< its arguments, for help ("--config F [--connector ID] --bundle NAME [--by WHO]")
  const char* help;     ///< what it does, one line
};
typedef const renkei_operator_verb* (*renkei_plugin_verbs_fn)(std::size_t* count);
#define RENKEI_PLUGIN_VERBS_SYMBOL "renkei_plugin_verbs"

/// Exports a plugin's operator commands (an array of renkei_operator_verb);
/// optional, once per library: RENKEI_PLUGIN_VERBS(kVerbs)
#define RENKEI_PLUGIN_VERBS(verb_array)                                                       \
  extern "C" __attribute__((visibility("default"))) const renkei_operator_verb*               \
  renkei_plugin_verbs(std::size_t* count) {                                                    \
    *count = sizeof(verb_array) / sizeof((verb_array)[0]);                                     \
    return verb_array;                                                                         \
  }

/// Name of the exported info function, for the host's symbol look-up.
#define RENKEI_PLUGIN_INFO_SYMBOL "renkei_plugin_info"

/// Defines the exported info function for a plugin. Use once per library:
///   RENKEI_PLUGIN_INFO(kInfo)
#define RENKEI_PLUGIN_INFO(info_object)                                        \
  extern "C" __attribute__((visibility("default"))) const renkei_plugin_info*  \
  renkei_plugin_info() {                                                       \
    return &(info_object);                                                     \
  }
