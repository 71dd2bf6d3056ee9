// The bounded HTTP(S) listener (renkei/http_server.h): POCO's TCPServer and
// HTTPServerConnection, with a guard that admits connections per address,
// and a watchdog that cuts a connection whose request is not answered within
// its deadline (the socket is shut down under the guard's lock, so a number
// reused by a newer socket is never touched).
#include "renkei/support/http_server.h"

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPBufferAllocator.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerConnection.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

#include <algorithm>
#include <iterator>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace renkei::http {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

Poco::Net::Context::Ptr serverContext(const std::string& keyFile, const std::string& certificateFile) {
  // ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 (TLS 1.2), and
  // TLS 1.3's own suites (all AEAD): no static RSA, no CBC, no SHA-1 MACs.
  Poco::Net::Context::Ptr context =
      new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, keyFile, certificateFile, "",
                             Poco::Net::Context::VERIFY_NONE, 9, false, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL");
  context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  context->preferServerCiphers();
  return context;
}

class Server::Guard {
 public:
  struct Entry {
    std::string address;
    poco_socket_t fd;
    Clock::time_point deadline;
    bool cut = false;
  };

  Guard(const Limits& limits, std::string name, Poco::Logger& log) : limits_(limits), name_(std::move(name)), log_(log) {
    watchdog_ = std::thread([this] { watch(); });
  }
  ~Guard() { halt(); }

  void halt() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
  }

  /// At accept, before the connection is queued: false closes it at once.
  bool admit(const Poco::Net::StreamSocket& socket, int queuedNow) {
    std::string address;
    try {
      address = socket.peerAddress().host().toString();
    } catch (...) {
      return false;  // gone already
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (queuedNow >= limits_.queued) {
      ++stats_.refusedQueue;
      note("every thread busy and the queue full", address);
      return false;
    }
    Address& a = addresses_[address];
    const auto now = Clock::now();
    // Token bucket: per-address-rate a second, a burst of twice that.
    const double burst = std::max(1.0, 2 * limits_.perAddressRate);
    if (a.last == Clock::time_point{}) a.tokens = burst;
    a.tokens = std::min(burst, a.tokens + std::chrono::duration<double>(now - a.last).count() * limits_.perAddressRate);
    a.last = now;
    if (a.open + a.pending >= limits_.perAddress || a.tokens < 1) {
      ++stats_.refusedAddress;
      note(a.tokens < 1 ? "opened connections faster than per-address-rate" : "had per-address connections open",
           address);
      return false;
    }
    a.tokens -= 1;
    ++a.pending;
    // The deadline counts from here: time waiting for a thread is part of it.
    acceptedAt_[socket.impl()->sockfd()] = now;
    prune(now);
    return true;
  }

  /// A thread took the connection: its request deadline starts.
  std::shared_ptr<Entry> enter(const Poco::Net::StreamSocket& socket) {
    auto e = std::make_shared<Entry>();
    try {
      e->address = socket.peerAddress().host().toString();
    } catch (...) {
    }
    e->fd = socket.impl()->sockfd();
    std::lock_guard<std::mutex> lock(mutex_);
    auto accepted = acceptedAt_.find(e->fd);
    e->deadline = (accepted != acceptedAt_.end() ? accepted->second : Clock::now()) + limits_.requestDeadline;
    if (accepted != acceptedAt_.end()) acceptedAt_.erase(accepted);
    Address& a = addresses_[e->address];
    if (a.pending) --a.pending;
    ++a.open;
    entries_.push_back(e);
    if (Clock::now() >= e->deadline) {
      // Its time ran out in the queue (a flood): closed before it is read.
      ::shutdown(e->fd, SHUT_RDWR);
      e->cut = true;
      ++stats_.cutDeadline;
      note("no whole request answered within request-deadline", e->address);
    }
    return e;
  }

  /// The connection ends (before its socket is closed).
  void leave(const std::shared_ptr<Entry>& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.erase(std::remove(entries_.begin(), entries_.end(), e), entries_.end());
    if (auto it = addresses_.find(e->address); it != addresses_.end() && it->second.open) --it->second.open;
    idle_.notify_all();
  }

  /// A request was answered: the next one (kept alive) has a deadline of its own.
  void answered(Entry& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    e.deadline = Clock::now() + limits_.requestDeadline;
  }

  /// Cuts every connection and waits (at most 5 s) for their threads to let go.
  void cutAll() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (auto& e : entries_)
      if (!e->cut) {
        ::shutdown(e->fd, SHUT_RDWR);
        e->cut = true;
      }
    idle_.wait_for(lock, std::chrono::seconds(5), [&] { return entries_.empty(); });
  }

  Stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  struct Address {
    std::size_t open = 0, pending = 0;
    double tokens = 0;
    Clock::time_point last{};
  };

  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      const auto now = Clock::now();
      for (auto& e : entries_) {
        if (e->cut || now < e->deadline) continue;
        // The thread blocked in a read or write on it returns at once.
        ::shutdown(e->fd, SHUT_RDWR);
        e->cut = true;
        ++stats_.cutDeadline;
        note("no whole request answered within request-deadline", e->address);
      }
    }
  }

  /// One log line for the first of each kind, then one per 100 (a flood
  /// must not fill the log).
  void note(const char* why, const std::string& address) {
    std::uint64_t& n = noted_[why];
    if (n++ % 100 == 0)
      log_.warning("%s: address=%s connection closed: %s (%s of this kind since start)", name_, address,
                   std::string(why), std::to_string(n));
  }

  void prune(Clock::time_point now) {
    if (acceptedAt_.size() > 1'000)  // a connection refused after admission leaves its time
      for (auto it = acceptedAt_.begin(); it != acceptedAt_.end();)
        it = now - it->second > std::chrono::minutes(1) ? acceptedAt_.erase(it) : std::next(it);
    if (addresses_.size() < 10'000) return;
    for (auto it = addresses_.begin(); it != addresses_.end();)
      if (it->second.open == 0 && it->second.pending == 0 && now - it->second.last > std::chrono::minutes(1))
        it = addresses_.erase(it);
      else
        ++it;
  }

  const Limits limits_;
  const std::string name_;
  Poco::Logger& log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<Entry>> entries_;
  std::map<std::string, Address> addresses_;
  std::map<poco_socket_t, Clock::time_point> acceptedAt_;
  std::map<std::string, std::uint64_t> noted_;
  Stats stats_;
  std::thread watchdog_;
};

namespace {

thread_local Server::Guard::Entry* current = nullptr;

/// After the handler answered, the connection's next request gets a
/// deadline of its own.
class Answered final : public Poco::Net::HTTPRequestHandler {
 public:
  Answered(Poco::Net::HTTPRequestHandler* inner, Server::Guard& guard, Server::Guard::Entry* entry)
      : inner_(inner), guard_(guard), entry_(entry) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
    inner_->handleRequest(request, response);
    if (entry_) guard_.answered(*entry_);
  }

 private:
  std::unique_ptr<Poco::Net::HTTPRequestHandler> inner_;
  Server::Guard& guard_;
  Server::Guard::Entry* entry_;
};

class Handlers final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Handlers(Poco::Net::HTTPRequestHandlerFactory::Ptr inner, std::shared_ptr<Server::Guard> guard)
      : inner_(std::move(inner)), guard_(std::move(guard)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest& request) override {
    Poco::Net::HTTPRequestHandler* h = inner_->createRequestHandler(request);
    return h ? new Answered(h, *guard_, current) : nullptr;
  }

 private:
  Poco::Net::HTTPRequestHandlerFactory::Ptr inner_;
  std::shared_ptr<Server::Guard> guard_;
};

/// POCO keeps its HTTP buffers in a pool, most recently returned first: the
/// ones this connection used are taken, cleared and given back.
void clearPooledBuffers() {
  constexpr int kBuffers = 32;
  char* taken[kBuffers];
  for (char*& b : taken) b = Poco::Net::HTTPBufferAllocator::allocate(Poco::Net::HTTPBufferAllocator::BUFFER_SIZE);
  for (char* b : taken) {
    OPENSSL_cleanse(b, Poco::Net::HTTPBufferAllocator::BUFFER_SIZE);
    Poco::Net::HTTPBufferAllocator::deallocate(b, Poco::Net::HTTPBufferAllocator::BUFFER_SIZE);
  }
}

class Connection final : public Poco::Net::HTTPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
             Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, std::shared_ptr<Server::Guard> guard,
             bool clearBuffers)
      : HTTPServerConnection(socket, std::move(params), std::move(handlers)),
        guard_(std::move(guard)),
        clearBuffers_(clearBuffers) {}
  void run() override {
    auto entry = guard_->enter(socket());
    current = entry.get();
    try {
      HTTPServerConnection::run();  // its session, and the session's buffer, end here
    } catch (...) {
    }
    current = nullptr;
    if (clearBuffers_) clearPooledBuffers();
    guard_->leave(entry);
  }

 private:
  std::shared_ptr<Server::Guard> guard_;
  bool clearBuffers_;
};

class ConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  ConnectionFactory(Poco::Net::HTTPServerParams::Ptr params, Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                    std::shared_ptr<Server::Guard> guard, bool clearBuffers)
      : params_(std::move(params)), handlers_(std::move(handlers)), guard_(std::move(guard)), clearBuffers_(clearBuffers) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new Connection(socket, params_, handlers_, guard_, clearBuffers_);
  }

 private:
  Poco::Net::HTTPServerParams::Ptr params_;
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers_;
  std::shared_ptr<Server::Guard> guard_;
  bool clearBuffers_;
};

}  // namespace

class GuardedTcpServer final : public Poco::Net::TCPServer {
 public:
  using TCPServer::TCPServer;
};

namespace {
class Admission final : public Poco::Net::TCPServerConnectionFilter {
 public:
  Admission(std::shared_ptr<Server::Guard> guard, GuardedTcpServer*& server) : guard_(std::move(guard)), server_(server) {}
  bool accept(const Poco::Net::StreamSocket& socket) override {
    return guard_->admit(socket, server_ ? server_->queuedConnections() : 0);
  }

 private:
  std::shared_ptr<Server::Guard> guard_;
  GuardedTcpServer*& server_;
};
}  // namespace

Server::Server(const Poco::Net::ServerSocket& socket, Poco::Net::HTTPRequestHandlerFactory::Ptr factory,
               const Limits& limits, std::string name, Poco::Logger& log)
    : guard_(std::make_shared<Guard>(limits, std::move(name), log)) {
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(limits.threads);
  params->setMaxQueued(limits.queued + 1);  // the guard refuses first, and counts it
  params->setTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(limits.requestDeadline).count()));
  params->setKeepAlive(limits.keepAliveRequests > 0);
  params->setMaxKeepAliveRequests(std::max(1, limits.keepAliveRequests));
  params->setKeepAliveTimeout(
      Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(limits.keepAlive).count()));
  Poco::Net::HTTPRequestHandlerFactory::Ptr handlers = new Handlers(std::move(factory), guard_);
  server_ = std::make_unique<GuardedTcpServer>(new ConnectionFactory(params, handlers, guard_, limits.clearBuffers),
                                               socket, params);
  serverPointer_ = server_.get();
  server_->setConnectionFilter(new Admission(guard_, serverPointer_));
}

Server::~Server() { stop(); }

void Server::start() { server_->start(); }

void Server::stop() {
  if (!server_) return;
  server_->stop();
  guard_->cutAll();
  guard_->halt();
  server_.reset();
  serverPointer_ = nullptr;
}

Stats Server::stats() const { return guard_->stats(); }

}  // namespace renkei::http
