// The window-system interface (core/api/renkei.thrift) served over TLS with
// client certificates: one port, Thrift's multiplexed protocol, one thread
// per connection. The host serves RecordService itself (subscriptions are
// outbox targets that clients pull); modules add their services through the
// SDK's ApiRegistry.
#pragma once

#include "pipeline/metrics.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Logger.h>

#include "config.h"
#include "renkei/api.h"

namespace apache::thrift::server {
class TThreadedServer;
}

namespace renkei {

class ApiServer final : public ApiRegistry {
 public:
  /// Reads the certificates and the key now, so a bad file fails start-up
  /// (std::runtime_error naming the file and OpenSSL's reason).
  ApiServer(const HostConfig& config, const store::StoreConfig& storeConfig, Poco::Logger& logger);
  ~ApiServer() override;

  void addService(const std::string& service, ApiProcessorFactory factory) override;

  /// Opens the port and serves on a thread of its own. Throws when the port
  /// cannot be opened.
  void start();
  /// Closes the port and every connection; waits for calls in progress.
  void stop();
  /// The port listened on (the configured one, or the one the system chose for 0).
  int port() const { return port_; }
  /// Where each call's latency goes (renkei_api_call_seconds{call}); set
  /// before start().
  void setMetrics(pipeline::MetricsRegistry* metrics) { metrics_ = metrics; }

 private:
  class Factory;
  const HostConfig& config_;
  store::StoreConfig storeConfig_;
  Poco::Logger& logger_;
  std::shared_ptr<Factory> tls_;
  std::mutex servicesMutex_;
  std::map<std::string, ApiProcessorFactory> services_;
  std::shared_ptr<apache::thrift::server::TThreadedServer> server_;
  std::thread thread_;
  int port_ = 0;
  pipeline::MetricsRegistry* metrics_ = nullptr;
};

}  // namespace renkei
