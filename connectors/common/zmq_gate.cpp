// The gate in front of the ZeroMQ receiver (zmq_gate.h): one thread, one
// poll() over the listener and every relayed pair; each direction buffers at
// most 64 KiB and stops reading while its buffer is full.
#include "zmq_gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <stdexcept>
#include <vector>

namespace renkei::connectors::channel {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kBuffer = 64 * 1024;
constexpr std::size_t kGreeting = 64;  // ZMTP 3's greeting, the first thing a peer sends

void nonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Pair {
  int outside = -1, inside = -1;
  std::string address;
  std::string toInside, toOutside;
  std::size_t received = 0;
  Clock::time_point started;
  bool closing = false;
};

/// Moves what `from` has into `buffer` (at most kBuffer); false on EOF or error.
bool readInto(int from, std::string& buffer, std::size_t* counted) {
  char chunk[16 * 1024];
  while (buffer.size() < kBuffer) {
    const ssize_t n = ::recv(from, chunk, std::min(sizeof chunk, kBuffer - buffer.size()), 0);
    if (n > 0) {
      buffer.append(chunk, static_cast<std::size_t>(n));
      if (counted) *counted += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  return true;
}

/// Writes what it can of `buffer` to `to`; false on error.
bool writeFrom(int to, std::string& buffer) {
  while (!buffer.empty()) {
    const ssize_t n = ::send(to, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n > 0) {
      buffer.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
  return true;
}

}  // namespace

Gate::Gate(const std::string& host, int port, int innerPort, const GateLimits& limits, std::string name,
           Poco::Logger& log)
    : innerPort_(innerPort), limits_(limits), name_(std::move(name)), log_(log) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host == "*" ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0)
    throw std::runtime_error("cannot listen on '" + host + ":" + service + "': " + ::gai_strerror(rc));
  for (addrinfo* a = found; a && listener_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
      listener_ = fd;
      sockaddr_storage bound{};
      socklen_t len = sizeof bound;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    } else {
      ::close(fd);
    }
  }
  const int err = errno;
  ::freeaddrinfo(found);
  if (listener_ < 0) throw std::runtime_error("cannot listen on '" + host + ":" + service + "': " + std::strerror(err));
  nonBlocking(listener_);
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listener_);
    throw std::runtime_error(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
}

Gate::~Gate() {
  stopping_ = true;
  const char c = 0;
  [[maybe_unused]] const ssize_t n = ::write(wake_[1], &c, 1);
  if (thread_.joinable()) thread_.join();
  ::close(listener_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

GateStats Gate::stats() const {
  return {admitted_.load(), refusedAddress_.load(), refusedTotal_.load(), cutHandshake_.load()};
}

void Gate::run() {
  std::list<Pair> pairs;
  std::map<std::string, std::size_t> perAddress;
  std::map<std::string, std::uint64_t> noted;
  auto note = [&](const std::string& what, const std::string& address, std::uint64_t total) {
    if (noted[what]++ % 100 == 0)
      log_.warning("%s: address=%s connection closed: %s (%s of this kind since start)", name_, address, what,
                   std::to_string(total));
  };
  auto close = [&](std::list<Pair>::iterator it) {
    ::close(it->outside);
    if (it->inside >= 0) ::close(it->inside);
    if (auto a = perAddress.find(it->address); a != perAddress.end() && --a->second == 0) perAddress.erase(a);
    return pairs.erase(it);
  };
  while (!stopping_) {
    std::vector<pollfd> fds;
    fds.push_back({wake_[0], POLLIN, 0});
    fds.push_back({listener_, POLLIN, 0});
    for (Pair& p : pairs) {
      fds.push_back({p.outside, static_cast<short>((p.toInside.size() < kBuffer ? POLLIN : 0) |
                                                   (!p.toOutside.empty() ? POLLOUT : 0)),
                     0});
      fds.push_back({p.inside, static_cast<short>((p.toOutside.size() < kBuffer ? POLLIN : 0) |
                                                  (!p.toInside.empty() ? POLLOUT : 0)),
                     0});
    }
    ::poll(fds.data(), fds.size(), 200);
    if (stopping_) break;
    // Relay, then cut what ended or took too long to greet.
    std::size_t i = 2;
    const auto now = Clock::now();
    for (auto it = pairs.begin(); it != pairs.end(); i += 2) {
      Pair& p = *it;
      const short out = fds[i].revents, in = fds[i + 1].revents;
      bool ok = true;
      if (out & (POLLIN | POLLHUP | POLLERR)) ok = readInto(p.outside, p.toInside, &p.received) && ok;
      if (in & (POLLIN | POLLHUP | POLLERR)) ok = readInto(p.inside, p.toOutside, nullptr) && ok;
      if (!p.toInside.empty()) ok = writeFrom(p.inside, p.toInside) && ok;
      if (!p.toOutside.empty()) ok = writeFrom(p.outside, p.toOutside) && ok;
      if (ok && p.received < kGreeting && now - p.started > limits_.handshake) {
        ++cutHandshake_;
        note("no ZMTP greeting within the handshake time", p.address, cutHandshake_);
        ok = false;
      }
      if (!ok) {
        // What the other side still has to get goes first (best effort).
        if (!p.toOutside.empty()) writeFrom(p.outside, p.toOutside);
        it = close(it);
      } else {
        ++it;
      }
    }
    if (!(fds[1].revents & POLLIN)) continue;
    for (;;) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      const int fd = ::accept4(listener_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) break;  // EAGAIN: none left; EMFILE: the next poll tries again
      char host[INET6_ADDRSTRLEN] = "?";
      if (peer.ss_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, host, sizeof host);
      else if (peer.ss_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, host, sizeof host);
      const std::string address = host;
      if (pairs.size() >= limits_.total) {
        ::close(fd);
        ++refusedTotal_;
        note("the bridge holds its most connections (total)", address, refusedTotal_);
        continue;
      }
      if (perAddress[address] >= limits_.perAddress) {
        ::close(fd);
        ++refusedAddress_;
        note("this address holds its most connections", address, refusedAddress_);
        continue;
      }
      // The ZeroMQ socket on loopback: a connect that completes at once.
      const int inside = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(static_cast<std::uint16_t>(innerPort_));
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (inside < 0 || ::connect(inside, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        log_.error("%s: cannot reach the ZeroMQ socket on 127.0.0.1:%s: %s", name_, std::to_string(innerPort_),
                   std::string(std::strerror(errno)));
        if (inside >= 0) ::close(inside);
        ::close(fd);
        continue;
      }
      nonBlocking(inside);
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(inside, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Pair p;
      p.outside = fd;
      p.inside = inside;
      p.address = address;
      p.started = Clock::now();
      pairs.push_back(std::move(p));
      ++perAddress[address];
      ++admitted_;
    }
  }
  for (auto it = pairs.begin(); it != pairs.end();) it = close(it);
}

}  // namespace renkei::connectors::channel
