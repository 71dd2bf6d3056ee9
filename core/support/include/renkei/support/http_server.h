// An HTTP(S) listener with the bounds an outside caller cannot get around:
// what the host's admin listener and a module's own front end (the
// concierge) stand on. POCO's HTTPServer gives a connection a thread and a
// time-out per read, so a client that sends nothing, or one byte now and
// then, keeps its thread for as long as it likes, and a few hundred of them
// stop the service. Here:
//   - each request must arrive whole and be answered within
//     `request-deadline` from the connection (or from the previous answer on
//     a kept-alive connection): idle and slow-dripping clients are cut then,
//     whatever their pace (the TLS handshake counts);
//   - one address is served at most `per-address` connections at once, and
//     may open at most `per-address-rate` connections a second (a short
//     burst allowed): more are closed at once;
//   - TLS 1.2 or later with ECDHE and AEAD suites only.
// Part of the support libraries (renkei::http): plugins link it, the SDK's
// headers are the whole boundary.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/ServerSocket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace Poco {
class Logger;
}

namespace renkei::http {

struct Limits {
  int threads = 16;                                 ///< requests answered at once
  int queued = 64;                                  ///< connections waiting for a thread; more are closed
  std::chrono::milliseconds requestDeadline{10'000};  ///< a request from its first byte (or the connection) to its answer
  std::chrono::milliseconds keepAlive{5'000};       ///< how long a kept-alive connection may wait for its next request
  int keepAliveRequests = 100;                      ///< requests on one connection; 0: one, then closed
  std::size_t perAddress = 32;                      ///< connections served at once from one address
  double perAddressRate = 50;                       ///< new connections a second from one address (burst: twice that)
  /// Clear POCO's pooled HTTP buffers when a connection ends: they held the
  /// raw requests (what a resident typed) and are reused, not freed.
  bool clearBuffers = false;
};

/// Counts since start, for metrics and tests.
struct Stats {
  std::uint64_t cutDeadline = 0;    ///< connections closed at request-deadline
  std::uint64_t refusedAddress = 0; ///< closed at once: the address had per-address connections, or opened too fast
  std::uint64_t refusedQueue = 0;   ///< closed at once: every thread busy and the queue full
};

/// A server context for TLS 1.2 or later with ECDHE and AEAD suites only
/// (no static RSA key exchange, no CBC); throws Poco::Exception.
Poco::Net::Context::Ptr serverContext(const std::string& keyFile, const std::string& certificateFile);

class Server {
 public:
  /// Serves `factory`'s handlers on `socket` (a SecureServerSocket for
  /// HTTPS) within `limits`. `name` names it in log lines ("concierge c1").
  Server(const Poco::Net::ServerSocket& socket, Poco::Net::HTTPRequestHandlerFactory::Ptr factory, const Limits& limits,
         std::string name, Poco::Logger& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  void start();
  /// Stops accepting, cuts what is open, waits for the threads.
  void stop();
  Stats stats() const;

  class Guard;  ///< the connections being served, their deadlines and addresses

 private:
  std::shared_ptr<Guard> guard_;
  std::unique_ptr<class GuardedTcpServer> server_;
  GuardedTcpServer* serverPointer_ = nullptr;  ///< for the admission filter's queue check
};

}  // namespace renkei::http
