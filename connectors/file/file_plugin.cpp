// The file plugin library: its info and its POCO
// manifest. The connector class is in a static library of its own, so the
// domain connectors (resident …) reuse it as their transport.
#include "file_transport.h"

namespace renkei::connectors::file {


namespace {

const renkei_plugin_info kInfo = {
    RENKEI_SDK_ABI_VERSION,
    "file",
    "connector",
    "0.1.0",
    "stable",
    "Drop folders: source in/ -> processing/ -> done/ | error/; sink tmp/ -> out/",
    RENKEI_ROLE_SOURCE | RENKEI_ROLE_SINK,
    "renkei::connectors::file::FileConnector",
    kKeys,
    kKeyCount,
};

}  // namespace
}  // namespace renkei::connectors::file

RENKEI_PLUGIN_INFO(renkei::connectors::file::kInfo)

POCO_BEGIN_MANIFEST(renkei::Connector)
POCO_EXPORT_CLASS(renkei::connectors::file::FileConnector)
POCO_END_MANIFEST
