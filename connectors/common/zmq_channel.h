// A ZeroMQ channel for connectors (the toolkit, librenkei_zmq_channel): a
// direct channel where the zone model allows one (the bridge's), or a
// device's feed later. CURVE-encrypted REQ/REP, the receiver accepting only
// client keys on its allow-list (a ZAP handler) and behind a Gate (bounded
// connections, a handshake deadline), each message acknowledged only after
// the receiver's handler committed it. Until then a sender's batch stays in
// its outbox and is sent again (the host's retries), so a receiver that is
// down gets every message when it returns.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "zmq_gate.h"

namespace renkei::connectors::channel {

/// A CURVE key file: 40 characters of Z85 (a newline after it is allowed).
/// Throws std::runtime_error naming the file.
std::string readCurveKey(const std::string& file);

/// The CURVE public key (Z85) of a secret key (Z85).
std::string curvePublicOf(const std::string& secretZ85);

/// The receiver's answer to one bundle, and what the sender makes of it.
struct ZmqReply {
  enum class Kind { Delivered, Duplicate, Rejected, Retry, NoAnswer } kind = Kind::NoAnswer;
  std::string detail;  ///< the rejection's reason, or why to retry
};

class ZmqSender {
 public:
  ZmqSender(std::string endpoint, std::string serverPublic, std::string secret, std::chrono::milliseconds timeout);
  ~ZmqSender();
  /// Sends one bundle and waits for its acknowledgement (at most the
  /// timeout: then NoAnswer, and the socket is made anew).
  ZmqReply send(const std::string& bundle);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ZmqReceiver {
 public:
  /// `handle` gets each bundle's bytes and returns the reply (called on the
  /// receiver's thread only).
  using Handler = std::function<ZmqReply(const std::string& bytes)>;
  /// A tcp:// endpoint is served through a Gate (bounded connections, a
  /// handshake deadline) relaying to the ZeroMQ socket on loopback.
  ZmqReceiver(std::string endpoint, std::string secret, std::set<std::string> clients, std::size_t maxBytes,
              Handler handle, GateLimits gate = {}, Poco::Logger* log = nullptr, std::string name = "bridge");
  ~ZmqReceiver();
  /// Binds and starts the thread; throws std::runtime_error (e.g. the
  /// endpoint in use).
  void start();
  void stop();
  /// The endpoint actually bound (tcp://…:0 becomes the chosen port).
  std::string endpoint() const;
  /// The gate's counts (zero without one).
  GateStats gateStats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace renkei::connectors::channel
