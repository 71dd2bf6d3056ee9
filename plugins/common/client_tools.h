// What renkei's small Thrift clients share (renkei-window-client,
// renkei-review-client): the TLS set-up that names the file it could not
// use, the port read safely, and times shown with the zone they are in.
// Header-only: the tools link nothing more for it.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>

#include "renkei/local_time.h"
#include "renkei/text.h"

namespace renkei::clients {

/// Why the file an option names cannot be used ("--ca 'x.crt': no such
/// file"), or nothing: said before OpenSSL is asked, whose errors name no path.
inline std::optional<std::string> unusableFile(const std::string& option, const std::string& path) {
  struct stat st {};
  if (path.empty()) return option + " is empty";
  if (::stat(path.c_str(), &st) != 0) return option + " '" + printable(path) + "': no such file";
  if (!S_ISREG(st.st_mode)) return option + " '" + printable(path) + "': not a regular file";
  if (::access(path.c_str(), R_OK) != 0) return option + " '" + printable(path) + "': cannot be read (permissions)";
  return std::nullopt;
}

/// A TLS client factory trusting `ca` and presenting `cert` + `key`; throws
/// std::runtime_error naming the option and the file that failed.
inline std::shared_ptr<apache::thrift::transport::TSSLSocketFactory> tlsFactory(const std::string& ca,
                                                                               const std::string& cert,
                                                                               const std::string& key) {
  for (const auto& [option, path] : std::map<std::string, std::string>{{"--ca", ca}, {"--cert", cert}, {"--key", key}})
    if (auto why = unusableFile(option, path)) throw std::runtime_error(*why);
  auto factory = std::make_shared<apache::thrift::transport::TSSLSocketFactory>();
  factory->authenticate(true);  // the server must prove itself with a certificate from --ca
  const auto load = [](const char* option, const std::string& path, auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(option) + " '" + printable(path) + "': not usable as " +
                               (std::string(option) == "--key" ? "a private key" : "a PEM certificate") + " (" +
                               e.what() + ")");
    }
  };
  load("--ca", ca, [&] { factory->loadTrustedCertificates(ca.c_str()); });
  load("--cert", cert, [&] { factory->loadCertificate(cert.c_str()); });
  load("--key", key, [&] { factory->loadPrivateKey(key.c_str()); });
  return factory;
}

/// The --port value, or nothing when it is not a port.
inline std::optional<int> port(const std::string& text) {
  const auto v = parseWholeNumber(text, 1, 65535);
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

/// Why a client cannot connect yet ("--ca is required"), or nothing: the
/// TLS options every client needs.
inline std::optional<std::string> missingTlsOption(const std::map<std::string, std::string>& options) {
  for (const char* required : {"--ca", "--cert", "--key"})
    if (!options.count(required)) return std::string(required) + " is required";
  return std::nullopt;
}

/// A client's connection to the host's TLS port: --host and --port, the
/// client certificate (--cert, --key) and the CA it trusts (--ca). Not yet
/// opened (transport->open()); each service is a TMultiplexedProtocol over
/// `protocol`. Throws std::runtime_error naming the option that is wrong.
struct Connection {
  std::shared_ptr<apache::thrift::transport::TBufferedTransport> transport;
  std::shared_ptr<apache::thrift::protocol::TBinaryProtocol> protocol;
};
inline Connection connection(const std::map<std::string, std::string>& options) {
  const auto get = [&](const char* k) {
    auto it = options.find(k);
    return it == options.end() ? std::string() : it->second;
  };
  const auto portNumber = port(get("--port"));
  if (!portNumber) throw std::runtime_error("--port '" + printable(get("--port")) + "' is not a port (1 to 65535)");
  auto factory = tlsFactory(get("--ca"), get("--cert"), get("--key"));
  Connection c;
  c.transport = std::make_shared<apache::thrift::transport::TBufferedTransport>(
      factory->createSocket(get("--host"), *portNumber));
  c.protocol = std::make_shared<apache::thrift::protocol::TBinaryProtocol>(c.transport);
  return c;
}

/// A time in ms as the machine's local time with its offset:
/// "2026-12-07 10:30 +09:00" (seconds too when `seconds`).
inline std::string localTime(std::int64_t ms, bool seconds = false) { return localTimeText(ms, seconds); }

/// "times in UTC+09:00 (the machine's zone; set TZ to change it)": said
/// once by a client before it prints times.
inline std::string zoneNote() {
  const std::string now = localTime(static_cast<std::int64_t>(std::time(nullptr)) * 1000);
  return "times in UTC" + now.substr(now.size() - 6) + " (the machine's zone; set TZ to change it)";
}

}  // namespace renkei::clients
