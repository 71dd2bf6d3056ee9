// A gate in front of the ZeroMQ receiver: libzmq accepts every TCP
// connection and checks the sender's CURVE key only after the handshake, and
// bounds neither how many connections there are nor from where (1,100
// connections with no key at all took every descriptor the host had, and
// intake, the API and the admin listener stopped with it). The gate owns the
// public listening socket, admits at most `total` connections and
// `perAddress` from one address, closes a connection that has not sent its
// ZMTP greeting within `handshake`, and relays the admitted ones, byte for
// byte and with bounded buffers, to the ZeroMQ socket listening on loopback.
// CURVE is end to end through it: the gate sees only ciphertext.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace Poco {
class Logger;
}

namespace renkei::connectors::channel {

struct GateLimits {
  std::size_t total = 64;       ///< connections at once
  std::size_t perAddress = 4;   ///< connections at once from one address
  std::chrono::milliseconds handshake{5'000};  ///< to send the ZMTP greeting (64 bytes)
};

struct GateStats {
  std::uint64_t admitted = 0, refusedAddress = 0, refusedTotal = 0, cutHandshake = 0;
};

class Gate {
 public:
  /// Listens on `host`:`port` (0: one the system chooses) and relays to
  /// 127.0.0.1:`innerPort`. Throws std::runtime_error (address in use …).
  Gate(const std::string& host, int port, int innerPort, const GateLimits& limits, std::string name,
       Poco::Logger& log);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  int port() const { return port_; }
  GateStats stats() const;

 private:
  void run();
  int listener_ = -1, wake_[2] = {-1, -1}, port_ = 0, innerPort_ = 0;
  GateLimits limits_;
  std::string name_;
  Poco::Logger& log_;
  std::atomic<bool> stopping_{false};
  mutable std::atomic<std::uint64_t> admitted_{0}, refusedAddress_{0}, refusedTotal_{0}, cutHandshake_{0};
  std::thread thread_;
};

}  // namespace renkei::connectors::channel
