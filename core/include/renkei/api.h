// Serving calls of the window-system interface (core/api/renkei.thrift) from a
// plugin. The host owns the port, TLS and client certificates; a module adds
// the services it implements under their IDL names, and the host builds a
// processor for each TLS connection with the caller it has authenticated.
//
// A plugin that adds services keeps their IDL in its folder (including
// core/api/renkei.thrift for ApiError), generates it with
// renkei_thrift_library(<key> IDL <key>.thrift SERVICES …) and includes the
// generated headers ("api/CrmService.h" …); see plugins/crm/.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace apache::thrift {
class TProcessor;
}

namespace renkei {

/// Who is calling: fixed for a connection, checked by the host before any call.
struct ApiCaller {
  std::string client;   ///< the client certificate's common name
  std::string address;  ///< peer address and port, for the access log
};

/// Makes the processor serving one connection's calls to one service.
using ApiProcessorFactory = std::function<std::shared_ptr<apache::thrift::TProcessor>(const ApiCaller&)>;

class ApiRegistry {
 public:
  virtual ~ApiRegistry() = default;
  /// Adds `service` (its IDL name, e.g. "CrmService"). Call from configure()
  /// or Module::start(): the host copies the services when it opens the port
  /// (after every module has started), so one added later is not served.
  /// Throws std::runtime_error ("api: service '…' is already served") for a
  /// name added twice or "RecordService" (the host's own); thrown from
  /// configure(), it fails that instance with the config's line.
  virtual void addService(const std::string& service, ApiProcessorFactory factory) = 0;
};

}  // namespace renkei
