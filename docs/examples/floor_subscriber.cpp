// A display's subscriber to renkei's live events (the crm module's floor
// events, the concierge's ticket.near, the review module's
// application.state): ZeroMQ SUB over CURVE, in C++ with libzmq's own C API
// (Debian: libzmq3-dev), as a display vendor would write it. Prints each
// event as one line: topic, sequence, the JSON payload as sent; says so
// when the sequence skips (events missed while away or slow — read the
// state through the API then).
//
//   floor_subscriber --endpoint tcp://renkei-host:7420 --server-key crm-events.pub
//                    --key display.key --public display.pub [--topic ticket.] [--count N] [--timeout S]
//
// Keys: Z85 text files (40 characters), as `renkei bridge keygen` writes
// them (bridge-curve.key, bridge-curve.pub); the display's public key goes
// into the module's events-clients.
//
// Build: c++ -std=c++17 -O2 floor_subscriber.cpp -lzmq -o floor_subscriber
#include <zmq.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string key(const std::string& path) {
  std::ifstream in(path);
  std::string k;
  if (!(in >> k) || k.size() != 40) {
    std::fprintf(stderr, "%s: not a CURVE key (40 characters of Z85)\n", path.c_str());
    std::exit(2);
  }
  return k;
}

/// One frame; false when the socket gave none.
bool frame(void* socket, std::string& out) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  if (zmq_msg_recv(&msg, socket, 0) < 0) {
    zmq_msg_close(&msg);
    return false;
  }
  out.assign(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
  zmq_msg_close(&msg);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint, serverKey, secretKey, publicKey;
  std::vector<std::string> topics;
  long count = 0;
  double timeout = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i], value = argv[i + 1];
    if (opt == "--endpoint") endpoint = value;
    else if (opt == "--server-key") serverKey = key(value);
    else if (opt == "--key") secretKey = key(value);
    else if (opt == "--public") publicKey = key(value);
    else if (opt == "--topic") topics.push_back(value);
    else if (opt == "--count") count = std::strtol(value.c_str(), nullptr, 10);
    else if (opt == "--timeout") timeout = std::strtod(value.c_str(), nullptr);
    else {
      std::fprintf(stderr, "unknown option %s\n", opt.c_str());
      return 2;
    }
  }
  if (endpoint.empty() || serverKey.empty() || secretKey.empty() || publicKey.empty()) {
    std::fprintf(stderr, "usage: %s --endpoint E --server-key F --key F --public F [--topic T]... [--count N] "
                         "[--timeout S]\n", argv[0]);
    return 2;
  }
  void* context = zmq_ctx_new();
  void* sub = zmq_socket(context, ZMQ_SUB);
  zmq_setsockopt(sub, ZMQ_CURVE_SECRETKEY, secretKey.data(), 40);
  zmq_setsockopt(sub, ZMQ_CURVE_PUBLICKEY, publicKey.data(), 40);
  zmq_setsockopt(sub, ZMQ_CURVE_SERVERKEY, serverKey.data(), 40);
  const std::int64_t maxSize = 65536;  // a larger message drops the connection
  zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &maxSize, sizeof maxSize);
  if (topics.empty()) topics.emplace_back();
  for (const std::string& t : topics) zmq_setsockopt(sub, ZMQ_SUBSCRIBE, t.data(), t.size());
  if (zmq_connect(sub, endpoint.c_str()) != 0) {
    std::fprintf(stderr, "%s: %s\n", endpoint.c_str(), zmq_strerror(zmq_errno()));
    return 2;
  }
  std::printf("subscribed\n");
  std::fflush(stdout);
  unsigned long long last = 0;
  long seen = 0;
  int status = 0;
  while (count == 0 || seen < count) {
    zmq_pollitem_t item{sub, 0, ZMQ_POLLIN, 0};
    const long wait = timeout > 0 ? static_cast<long>(timeout * 1000) : -1;
    if (zmq_poll(&item, 1, wait) <= 0) {
      std::fprintf(stderr, "no event for %.0f s\n", timeout);
      status = 1;
      break;
    }
    std::string topic, sequence, payload;
    if (!frame(sub, topic) || !frame(sub, sequence) || !frame(sub, payload)) continue;
    const unsigned long long n = std::strtoull(sequence.c_str(), nullptr, 10);
    if (last && n != last + 1) std::printf("missed %llu events (read the state through the API)\n", n - last - 1);
    last = n;
    std::printf("%s %llu %s\n", topic.c_str(), n, payload.c_str());
    std::fflush(stdout);
    ++seen;
  }
  zmq_close(sub);
  zmq_ctx_term(context);
  return status;
}
