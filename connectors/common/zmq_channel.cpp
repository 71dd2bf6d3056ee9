// ZeroMQ with CURVE: a REQ socket per sender (made anew after a timeout, as
// REQ's state machine requires), a REP socket and a ZAP handler on the
// receiver, both on the receiver's own thread; a PUB socket and a ZAP
// handler on the publisher's thread, fed through an inproc pair by
// publish(); a SUB socket on the subscriber's thread.
#include "zmq_channel.h"

#include <filesystem>
#include <zmq.hpp>

#include <atomic>
#include <mutex>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

namespace renkei::connectors::channel {
namespace {

std::string replyText(const ZmqReply& r) {
  switch (r.kind) {
    case ZmqReply::Kind::Delivered: return "delivered";
    case ZmqReply::Kind::Duplicate: return "duplicate";
    case ZmqReply::Kind::Rejected: return "rejected\n" + r.detail;
    case ZmqReply::Kind::Retry: return "retry\n" + r.detail;
    case ZmqReply::Kind::NoAnswer: break;
  }
  return "retry\nno answer";
}

ZmqReply parseReply(const std::string& text) {
  ZmqReply r;
  const std::size_t nl = text.find('\n');
  const std::string head = text.substr(0, nl);
  r.detail = nl == std::string::npos ? std::string() : text.substr(nl + 1);
  if (head == "delivered") r.kind = ZmqReply::Kind::Delivered;
  else if (head == "duplicate") r.kind = ZmqReply::Kind::Duplicate;
  else if (head == "rejected") r.kind = ZmqReply::Kind::Rejected;
  else if (head == "retry") r.kind = ZmqReply::Kind::Retry;
  else r = {ZmqReply::Kind::Retry, "an answer this sender does not read"};
  return r;
}

/// ZAP (RFC 27) on `zap`: version, request id, domain, address, identity,
/// mechanism, credentials (the client's 32-byte public key for CURVE);
/// answered 200 for a key in `clients`, 400 otherwise.
void answerZap(zmq::socket_t& zap, const std::set<std::string>& clients, const std::string& refusal) {
  std::vector<zmq::message_t> frames;
  for (;;) {
    zmq::message_t m;
    if (!zap.recv(m, zmq::recv_flags::dontwait)) return;
    const bool more = m.more();
    frames.push_back(std::move(m));
    if (!more) break;
  }
  if (frames.size() < 6) return;
  bool allowed = false;
  if (frames.size() >= 7 && frames[5].to_string() == "CURVE" && frames[6].size() == 32) {
    char z85[41] = {};
    zmq_z85_encode(z85, static_cast<const std::uint8_t*>(frames[6].data()), 32);
    allowed = clients.count(z85) > 0;
  }
  const std::string requestId = frames[1].to_string();
  zap.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(requestId), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string(allowed ? "200" : "400")), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string(allowed ? "OK" : refusal)), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string()), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string()), zmq::send_flags::none);
}

/// The ZAP handler of a context (bound before any CURVE server socket of
/// it: without one CURVE encrypts but lets any client in).
std::unique_ptr<zmq::socket_t> bindZap(zmq::context_t& context) {
  auto zap = std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep);
  zap->set(zmq::sockopt::linger, 0);
  zap->bind("inproc://zeromq.zap.01");
  return zap;
}

/// A CURVE server socket that answers to the ZAP handler and drops a
/// connection that has not finished its handshake in twice the gate's time.
void makeCurveServer(zmq::socket_t& socket, const std::string& secret, const std::string& domain,
                     const GateLimits& gate) {
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, secret);
  socket.set(zmq::sockopt::zap_domain, domain);
  socket.set(zmq::sockopt::handshake_ivl, static_cast<int>(2 * gate.handshake.count()));
}

/// Binds `socket` to `endpoint`; a tcp://host:port endpoint (with a logger
/// for the gate) is served by a Gate there, relaying to the socket bound on
/// loopback. Returns the endpoint actually bound.
std::string bindBehindGate(zmq::socket_t& socket, const std::string& endpoint, const GateLimits& limits,
                           Poco::Logger* log, const std::string& name, std::unique_ptr<Gate>& gate) {
  std::string host;
  int port = -1;
  if (endpoint.rfind("tcp://", 0) == 0 && log) {
    const std::string rest = endpoint.substr(6);
    const std::size_t colon = rest.rfind(':');
    if (colon != std::string::npos && colon > 0) {
      host = rest.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      try {
        port = std::stoi(rest.substr(colon + 1));
      } catch (const std::exception&) {
        port = -1;
      }
    }
    if (port < 0 || port > 65535) throw std::runtime_error("'" + endpoint + "' is not tcp://host:port");
  }
  const std::string zmqEndpoint = port >= 0 ? "tcp://127.0.0.1:0" : endpoint;
  try {
    socket.bind(zmqEndpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot listen on '" + zmqEndpoint + "': " + e.what());
  }
  std::string bound = socket.get(zmq::sockopt::last_endpoint);
  if (port >= 0) {
    const int inner = std::stoi(bound.substr(bound.rfind(':') + 1));
    gate = std::make_unique<Gate>(host, port, inner, limits, name, *log);
    bound = "tcp://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
            std::to_string(gate->port());
  }
  return bound;
}

}  // namespace

std::string readCurveKey(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the CURVE key file '" + file + "'");
  std::string text(std::istreambuf_iterator<char>(in), {});
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() != 40) throw std::runtime_error("'" + file + "' is not a CURVE key (40 characters of Z85)");
  std::uint8_t raw[32];
  if (!zmq_z85_decode(raw, text.c_str())) throw std::runtime_error("'" + file + "' is not a CURVE key (Z85)");
  return text;
}

std::string curvePublicOf(const std::string& secretZ85) {
  char pub[41] = {};
  if (zmq_curve_public(pub, secretZ85.c_str()) != 0) throw std::runtime_error("not a CURVE secret key");
  return pub;
}

std::unique_ptr<ZmqPublisher> eventsPublisher(const std::string& endpoint, const std::string& keyFile,
                                              const std::vector<std::string>& clientFiles,
                                              const std::string& configDir, Poco::Logger* log, const std::string& name) {
  const std::string secret = readCurveKey(keyFile);
  std::set<std::string> clients;
  for (const std::string& file : clientFiles) {
    const std::filesystem::path path = std::filesystem::path(file).is_relative()
                                           ? std::filesystem::path(configDir) / file
                                           : std::filesystem::path(file);
    clients.insert(readCurveKey(path.string()));
  }
  if (clients.empty()) throw std::runtime_error("no subscriber's key listed");
  return std::make_unique<ZmqPublisher>(endpoint, secret, std::move(clients), GateLimits{}, log, name);
}

/// The largest acknowledgement a sender reads.
constexpr std::size_t kMaxReplyBytes = 64 * 1024;

struct ZmqSender::Impl {
  std::string endpoint, serverPublic, secret, ownPublic;
  std::chrono::milliseconds timeout;
  zmq::context_t context{1};
  std::unique_ptr<zmq::socket_t> socket;

  void open() {
    socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::req);
    socket->set(zmq::sockopt::linger, 0);
    socket->set(zmq::sockopt::curve_serverkey, serverPublic);
    socket->set(zmq::sockopt::curve_publickey, ownPublic);
    socket->set(zmq::sockopt::curve_secretkey, secret);
    // A reply is a short acknowledgement: a peer that sends more (a
    // compromised receiver's 200 MiB) is cut off by libzmq, not buffered.
    socket->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(kMaxReplyBytes));
    socket->connect(endpoint);
  }
};

ZmqSender::ZmqSender(std::string endpoint, std::string serverPublic, std::string secret,
                     std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->serverPublic = std::move(serverPublic);
  impl_->secret = std::move(secret);
  impl_->ownPublic = curvePublicOf(impl_->secret);
  impl_->timeout = timeout;
}

ZmqSender::~ZmqSender() = default;

ZmqReply ZmqSender::send(const std::string& bundle) {
  if (!impl_->socket) impl_->open();
  zmq::socket_t& s = *impl_->socket;
  // A REQ socket queues the request until the peer is there; the wait for
  // the answer bounds the whole exchange.
  if (!s.send(zmq::buffer(bundle), zmq::send_flags::dontwait)) {
    impl_->socket.reset();
    return {ZmqReply::Kind::NoAnswer, "the receiver is not reachable"};
  }
  zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, impl_->timeout);
  zmq::message_t reply;
  if (!(item.revents & ZMQ_POLLIN) || !s.recv(reply, zmq::recv_flags::dontwait)) {
    impl_->socket.reset();  // REQ cannot send again before it has an answer
    return {ZmqReply::Kind::NoAnswer, "no acknowledgement within " + std::to_string(impl_->timeout.count()) +
                                          " ms (the receiver is down, or refuses this side's CURVE key)"};
  }
  return parseReply(reply.to_string());
}

struct ZmqReceiver::Impl {
  std::string endpoint, secret;
  std::set<std::string> clients;  // Z85 public keys
  std::size_t maxBytes = 0;
  Handler handle;
  zmq::context_t context{1};
  std::unique_ptr<zmq::socket_t> zap, rep;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::string bound;
  GateLimits gateLimits;
  Poco::Logger* log = nullptr;
  std::string name;
  std::unique_ptr<Gate> gate;

  void loop() {
    while (!stopping) {
      zmq::pollitem_t items[] = {{static_cast<void*>(*zap), 0, ZMQ_POLLIN, 0},
                                 {static_cast<void*>(*rep), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(200));
        if (items[0].revents & ZMQ_POLLIN) answerZap(*zap, clients, "not on this bridge's curve-clients");
        if (items[1].revents & ZMQ_POLLIN) {
          zmq::message_t request;
          if (!rep->recv(request, zmq::recv_flags::dontwait)) continue;
          // One frame per bundle; any further frames are drained and the
          // request refused.
          bool extra = false;
          while (request.more()) {
            zmq::message_t more;
            if (!rep->recv(more, zmq::recv_flags::dontwait)) break;
            extra = true;
            if (!more.more()) break;
          }
          ZmqReply reply = extra ? ZmqReply{ZmqReply::Kind::Rejected, "a bundle is one message"}
                                 : handle(request.to_string());
          rep->send(zmq::buffer(replyText(reply)), zmq::send_flags::none);
        }
      } catch (const zmq::error_t&) {
        if (stopping) return;
      }
    }
  }
};

ZmqReceiver::ZmqReceiver(std::string endpoint, std::string secret, std::set<std::string> clients,
                         std::size_t maxBytes, Handler handle, GateLimits gate, Poco::Logger* log, std::string name)
    : impl_(std::make_unique<Impl>()) {
  impl_->gateLimits = gate;
  impl_->log = log;
  impl_->name = std::move(name);
  impl_->endpoint = std::move(endpoint);
  impl_->secret = std::move(secret);
  impl_->clients = std::move(clients);
  impl_->maxBytes = maxBytes;
  impl_->handle = std::move(handle);
}

ZmqReceiver::~ZmqReceiver() { stop(); }

void ZmqReceiver::start() {
  Impl& i = *impl_;
  i.zap = bindZap(i.context);
  i.rep = std::make_unique<zmq::socket_t>(i.context, zmq::socket_type::rep);
  makeCurveServer(*i.rep, i.secret, "renkei-bridge", i.gateLimits);
  // A message over the limit drops the connection before it is held whole.
  i.rep->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(i.maxBytes + 1024));
  i.bound = bindBehindGate(*i.rep, i.endpoint, i.gateLimits, i.log, i.name, i.gate);
  i.stopping = false;
  i.thread = std::thread([&i] { i.loop(); });
}

void ZmqReceiver::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->gate.reset();  // no new connections while the socket goes
  impl_->stopping = true;
  impl_->thread.join();
  impl_->rep.reset();
  impl_->zap.reset();
}

std::string ZmqReceiver::endpoint() const { return impl_->bound; }

GateStats ZmqReceiver::gateStats() const { return impl_->gate ? impl_->gate->stats() : GateStats{}; }

// PUB/SUB ---------------------------------------------------------------

struct ZmqPublisher::Impl {
  std::string endpoint, secret, name;
  std::set<std::string> clients;
  GateLimits gateLimits;
  Poco::Logger* log = nullptr;
  int highWater = 10'000;
  zmq::context_t context{1};
  std::unique_ptr<zmq::socket_t> zap, pub, queueIn, queueOut;
  std::mutex queueMutex;  ///< queueIn is used by publish() callers one at a time
  std::uint64_t sequence = 0;  ///< guarded by queueMutex
  std::unique_ptr<Gate> gate;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::string bound;
  std::string queueName;

  void loop() {
    while (!stopping) {
      zmq::pollitem_t items[] = {{static_cast<void*>(*zap), 0, ZMQ_POLLIN, 0},
                                 {static_cast<void*>(*queueOut), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(200));
        if (items[0].revents & ZMQ_POLLIN) answerZap(*zap, clients, "not on this publisher's subscribers");
        if (items[1].revents & ZMQ_POLLIN) {
          // Forwarded as it came: topic, sequence, payload. PUB never
          // blocks: a subscriber beyond its high-water mark misses events.
          for (int n = 0; n < 1000; ++n) {
            std::vector<zmq::message_t> frames;
            for (;;) {
              zmq::message_t m;
              if (!queueOut->recv(m, zmq::recv_flags::dontwait)) break;
              const bool more = m.more();
              frames.push_back(std::move(m));
              if (!more) break;
            }
            if (frames.empty()) break;
            for (std::size_t f = 0; f < frames.size(); ++f)
              pub->send(frames[f], f + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::dontwait);
          }
        }
      } catch (const zmq::error_t&) {
        if (stopping) return;
      }
    }
  }
};

ZmqPublisher::ZmqPublisher(std::string endpoint, std::string secret, std::set<std::string> clients, GateLimits gate,
                           Poco::Logger* log, std::string name, int highWater)
    : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->secret = std::move(secret);
  impl_->clients = std::move(clients);
  impl_->gateLimits = gate;
  impl_->log = log;
  impl_->name = std::move(name);
  impl_->highWater = highWater;
}

ZmqPublisher::~ZmqPublisher() { stop(); }

void ZmqPublisher::start() {
  Impl& i = *impl_;
  i.zap = bindZap(i.context);
  i.pub = std::make_unique<zmq::socket_t>(i.context, zmq::socket_type::pub);
  makeCurveServer(*i.pub, i.secret, "renkei-events", i.gateLimits);
  i.pub->set(zmq::sockopt::sndhwm, i.highWater);
  // Subscribers send only their subscriptions: a few bytes each.
  i.pub->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(4096));
  i.bound = bindBehindGate(*i.pub, i.endpoint, i.gateLimits, i.log, i.name, i.gate);
  // publish() hands events to the publisher's thread through an inproc
  // pair: a ZeroMQ socket belongs to one thread at a time.
  static std::atomic<unsigned> serial{0};
  i.queueName = "inproc://renkei-publisher-" + std::to_string(++serial);
  i.queueOut = std::make_unique<zmq::socket_t>(i.context, zmq::socket_type::pair);
  i.queueOut->set(zmq::sockopt::linger, 0);
  i.queueOut->bind(i.queueName);
  i.queueIn = std::make_unique<zmq::socket_t>(i.context, zmq::socket_type::pair);
  i.queueIn->set(zmq::sockopt::linger, 0);
  i.queueIn->set(zmq::sockopt::sndhwm, i.highWater);
  i.queueIn->connect(i.queueName);
  i.stopping = false;
  i.thread = std::thread([&i] { i.loop(); });
}

std::uint64_t ZmqPublisher::publish(const std::string& topic, const std::string& payload) {
  Impl& i = *impl_;
  std::lock_guard<std::mutex> lock(i.queueMutex);
  if (!i.queueIn || i.stopping) return 0;
  const std::uint64_t sequence = ++i.sequence;
  const std::string seq = std::to_string(sequence);
  // Never waits: with the queue full (the publisher's thread far behind)
  // the event is dropped, which subscribers see as a gap.
  if (!i.queueIn->send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return sequence;
  i.queueIn->send(zmq::buffer(seq), zmq::send_flags::sndmore);
  i.queueIn->send(zmq::buffer(payload), zmq::send_flags::none);
  return sequence;
}

void ZmqPublisher::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->gate.reset();
  {
    std::lock_guard<std::mutex> lock(impl_->queueMutex);
    impl_->stopping = true;
  }
  impl_->thread.join();
  impl_->queueIn.reset();
  impl_->queueOut.reset();
  impl_->pub.reset();
  impl_->zap.reset();
}

std::string ZmqPublisher::endpoint() const { return impl_->bound; }

GateStats ZmqPublisher::gateStats() const { return impl_->gate ? impl_->gate->stats() : GateStats{}; }

struct ZmqSubscriber::Impl {
  std::string endpoint, serverPublic, secret;
  std::vector<std::string> topics;
  std::size_t maxBytes = 0;
  Handler handle;
  zmq::context_t context{1};
  std::unique_ptr<zmq::socket_t> sub;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> missed{0};
  std::uint64_t last = 0;

  void loop() {
    while (!stopping) {
      zmq::pollitem_t item{static_cast<void*>(*sub), 0, ZMQ_POLLIN, 0};
      try {
        zmq::poll(&item, 1, std::chrono::milliseconds(200));
        if (!(item.revents & ZMQ_POLLIN)) continue;
        std::vector<zmq::message_t> frames;
        for (;;) {
          zmq::message_t m;
          if (!sub->recv(m, zmq::recv_flags::dontwait)) break;
          const bool more = m.more();
          frames.push_back(std::move(m));
          if (!more) break;
        }
        // Topic, sequence, payload; anything else is not this publisher's.
        if (frames.size() != 3) continue;
        ZmqEvent event;
        event.topic = frames[0].to_string();
        const std::string seq = frames[1].to_string();
        if (seq.empty() || seq.size() > 19 || seq.find_first_not_of("0123456789") != std::string::npos) continue;
        event.sequence = std::stoull(seq);
        event.payload = frames[2].to_string();
        // A publisher restarted counts from 1 again: not a gap.
        if (last && event.sequence > last + 1) missed += event.sequence - last - 1;
        last = event.sequence;
        handle(event);
      } catch (const zmq::error_t&) {
        if (stopping) return;
      } catch (const std::exception&) {
        // The handler's failure is its own; the next event still comes.
      }
    }
  }
};

ZmqSubscriber::ZmqSubscriber(std::string endpoint, std::string serverPublic, std::string secret,
                             std::vector<std::string> topics, std::size_t maxBytes, Handler handle)
    : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->serverPublic = std::move(serverPublic);
  impl_->secret = std::move(secret);
  impl_->topics = std::move(topics);
  impl_->maxBytes = maxBytes;
  impl_->handle = std::move(handle);
}

ZmqSubscriber::~ZmqSubscriber() { stop(); }

void ZmqSubscriber::start() {
  Impl& i = *impl_;
  i.sub = std::make_unique<zmq::socket_t>(i.context, zmq::socket_type::sub);
  i.sub->set(zmq::sockopt::linger, 0);
  i.sub->set(zmq::sockopt::curve_serverkey, i.serverPublic);
  i.sub->set(zmq::sockopt::curve_publickey, curvePublicOf(i.secret));
  i.sub->set(zmq::sockopt::curve_secretkey, i.secret);
  // A frame over the limit drops the connection (made again by libzmq).
  i.sub->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(i.maxBytes));
  for (const std::string& topic : i.topics) i.sub->set(zmq::sockopt::subscribe, topic);
  if (i.topics.empty()) i.sub->set(zmq::sockopt::subscribe, "");
  try {
    i.sub->connect(i.endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot connect to '" + i.endpoint + "': " + e.what());
  }
  i.stopping = false;
  i.thread = std::thread([&i] { i.loop(); });
}

void ZmqSubscriber::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->stopping = true;
  impl_->thread.join();
  impl_->sub.reset();
}

std::uint64_t ZmqSubscriber::missed() const { return impl_->missed; }

}  // namespace renkei::connectors::channel
