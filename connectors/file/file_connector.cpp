// The file plugin library: its declaration only. The connector class is in
// the connector toolkit (connectors/common, librenkei_connectors), so the
// domain connectors (resident …) reuse it as their transport.
#include "file_transport.h"
#include "renkei/sdk.h"

RENKEI_PLUGIN(Connector, renkei::connectors::file::FileConnector, "file", "0.1.0", "stable",
              "Drop folders: source in/ -> processing/ -> done/ | error/; sink tmp/ -> out/",
              RENKEI_ROLE_SOURCE | RENKEI_ROLE_SINK, renkei::connectors::file::kKeys, renkei::connectors::file::kKeyCount)
