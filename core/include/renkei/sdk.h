// The plugin SDK in one include: what a connector or module source file needs.
#pragma once

#include <Poco/ClassLibrary.h>

#include "renkei/admin.h"
#include "renkei/api.h"
#include "renkei/connector.h"
#include "renkei/files.h"
#include "renkei/outcome.h"
#include "renkei/plugin.h"
#include "renkei/record.h"
#include "renkei/settings.h"
#include "renkei/state.h"

namespace renkei::detail {
template <typename Base>
struct PluginKind;
template <>
struct PluginKind<Connector> {
  static constexpr const char* value = "connector";
};
template <>
struct PluginKind<Module> {
  static constexpr const char* value = "module";
};
}  // namespace renkei::detail

/// A plugin library's whole declaration, its class named once: the info the
/// host reads first (ABI version, key, kind from the base, version, status,
/// description, roles, keys) and the POCO manifest exporting the class. In
/// the library's one entry file, outside any namespace, with the class
/// fully qualified:
///
///   RENKEI_PLUGIN(Connector, renkei::connectors::file::FileConnector, "file", "0.1.0", "stable",
///                 "Drop folders: …", RENKEI_ROLE_SOURCE | RENKEI_ROLE_SINK, kKeys, kKeyCount)
///
/// `Base` is Connector or Module; a module's roles are 0 or RENKEI_ROLE_EMITTER.
#define RENKEI_PLUGIN(Base, Class, key, version, status, description, roles, keys, keyCount)              \
  namespace {                                                                                            \
  const renkei_plugin_info renkeiPluginInfo = {RENKEI_SDK_ABI_VERSION,                                   \
                                               key,                                                      \
                                               renkei::detail::PluginKind<renkei::Base>::value,          \
                                               version,                                                  \
                                               status,                                                   \
                                               description,                                              \
                                               roles,                                                    \
                                               #Class,                                                   \
                                               keys,                                                     \
                                               keyCount};                                                \
  }                                                                                                      \
  RENKEI_PLUGIN_INFO(renkeiPluginInfo)                                                                   \
  POCO_BEGIN_MANIFEST(renkei::Base)                                                                      \
  POCO_EXPORT_CLASS(Class)                                                                               \
  POCO_END_MANIFEST
