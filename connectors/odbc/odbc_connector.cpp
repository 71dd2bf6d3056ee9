// The odbc plugin library: its declaration only. The connector class is in
// the connector toolkit (connectors/common, librenkei_connectors), so the
// domain connectors (resident …) reuse it as their transport.
#include "odbc_transport.h"
#include "renkei/sdk.h"

RENKEI_PLUGIN(Connector, renkei::connectors::odbc::OdbcConnector, "odbc", "0.1.0", "experimental",
              "Any ODBC data source: polling source with a watermark, upsert sink, parameterised lookup",
              RENKEI_ROLE_SOURCE | RENKEI_ROLE_SINK | RENKEI_ROLE_LOOKUP, renkei::connectors::odbc::kKeys, renkei::connectors::odbc::kKeyCount)
