// The odbc plugin library: its info and its POCO
// manifest. The connector class is in a static library of its own, so the
// domain connectors (resident …) reuse it as their transport.
#include "odbc_transport.h"

namespace renkei::connectors::odbc {


namespace {

const renkei_plugin_info kInfo = {
    RENKEI_SDK_ABI_VERSION,
    "odbc",
    "connector",
    "0.1.0",
    "experimental",
    "Any ODBC data source: polling source with a watermark, upsert sink, parameterised lookup",
    RENKEI_ROLE_SOURCE | RENKEI_ROLE_SINK | RENKEI_ROLE_LOOKUP,
    "renkei::connectors::odbc::OdbcConnector",
    kKeys,
    kKeyCount,
};

}  // namespace
}  // namespace renkei::connectors::odbc

RENKEI_PLUGIN_INFO(renkei::connectors::odbc::kInfo)

POCO_BEGIN_MANIFEST(renkei::Connector)
POCO_EXPORT_CLASS(renkei::connectors::odbc::OdbcConnector)
POCO_END_MANIFEST
