// A ZeroMQ channel for connectors (the toolkit, librenkei_zmq_channel).
//
// REQ/REP (ZmqSender, ZmqReceiver): a direct channel where the zone model
// allows one (the bridge's). Each message is acknowledged only after the
// receiver's handler committed it; until then a sender's batch stays in its
// outbox and is sent again (the host's retries), so a receiver that is down
// gets every message when it returns.
//
// PUB/SUB (ZmqPublisher, ZmqSubscriber): live events for displays and
// dashboards (a ticket called, a visit opened). A notification, not a
// delivery: what an event says is already committed in the store, a
// subscriber that was away reads the state through the API, and every event
// carries the publisher's sequence number so a subscriber sees a gap.
//
// Both listening ends are CURVE servers that accept only client keys on
// their allow-list (a ZAP handler) and sit behind a Gate (bounded
// connections, a handshake deadline).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>
#include <cstdint>

#include "zmq_gate.h"

namespace renkei::connectors::channel {

/// A CURVE key file: 40 characters of Z85 (a newline after it is allowed).
/// Throws std::runtime_error naming the file.
std::string readCurveKey(const std::string& file);

/// The CURVE public key (Z85) of a secret key (Z85).
std::string curvePublicOf(const std::string& secretZ85);

class ZmqPublisher;
/// A module's live-event publisher from its keys (events-endpoint,
/// events-key, events-clients: crm, concierge, review): the secret key
/// file and the subscribers' public key files, relative ones under
/// `configDir`. Throws std::runtime_error naming the file that failed.
std::unique_ptr<ZmqPublisher> eventsPublisher(const std::string& endpoint, const std::string& keyFile,
                                              const std::vector<std::string>& clientFiles,
                                              const std::string& configDir, Poco::Logger* log, const std::string& name);

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

/// One event as a subscriber gets it.
struct ZmqEvent {
  std::string topic;    ///< e.g. "ticket.called" (subscriptions match by prefix)
  std::uint64_t sequence = 0;  ///< the publisher's, from 1 since it started
  std::string payload;  ///< JSON, by convention; never personal values for the internet zone
};

class ZmqPublisher {
 public:
  /// Listens on `endpoint` (tcp://host:port through a Gate, or ipc://, inproc://)
  /// with the CURVE `secret`; only subscribers whose public keys are in
  /// `clients` get anything. A subscriber that falls `highWater` events
  /// behind misses the newer ones (it sees the gap in the sequence).
  ZmqPublisher(std::string endpoint, std::string secret, std::set<std::string> clients, GateLimits gate = {},
               Poco::Logger* log = nullptr, std::string name = "events", int highWater = 10'000);
  ~ZmqPublisher();
  void start();
  void stop();
  /// Queues one event; never blocks on subscribers. Thread-safe. Returns
  /// its sequence number (0 when not started).
  std::uint64_t publish(const std::string& topic, const std::string& payload);
  std::string endpoint() const;
  GateStats gateStats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ZmqSubscriber {
 public:
  using Handler = std::function<void(const ZmqEvent& event)>;
  /// Connects to a publisher (its public key `serverPublic`) with this
  /// side's CURVE `secret`, takes events whose topic starts with one of
  /// `topics` ("" for all), at most `maxBytes` each (a larger one drops the
  /// connection, which is made again), and calls `handle` on its own thread.
  ZmqSubscriber(std::string endpoint, std::string serverPublic, std::string secret, std::vector<std::string> topics,
                std::size_t maxBytes, Handler handle);
  ~ZmqSubscriber();
  void start();
  void stop();
  /// Events whose sequence number skipped ahead (missed while away or
  /// slow), counted over the subscriber's life.
  std::uint64_t missed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace renkei::connectors::channel
