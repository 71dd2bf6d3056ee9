// `renkei bridge keygen --out DIR --zone ZONE`: one side's keys, made by the
// bridge plugin itself (a verb that needs no config: it runs on a fresh,
// unconfigured instance). One side of a bridge holds a signing key (every
// bundle it sends is signed; the other side holds the public half) and,
// unless it is the internet zone, a sealing key (bundles with personal
// fields are sealed to its public half; the internet zone opens nothing),
// and a CURVE pair for the ZeroMQ transport.
#include <sys/stat.h>

#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "bridge_connector.h"
#include "renkei/files.h"
#include "renkei/support/seal.h"

namespace renkei::connectors::bridge {
namespace fs = std::filesystem;

OperatorResult bridgeKeygen(const std::map<std::string, std::string>& options) {
  OperatorResult r;
  const auto get = [&](const char* k) {
    auto it = options.find(k);
    return it == options.end() ? std::string() : it->second;
  };
  const std::string out = get("--out"), zone = get("--zone");
  if (out.empty() || (zone != "lgwan" && zone != "internet" && zone != "mynumber")) {
    r.status = 2;
    r.error = "--out DIR (where the keys are written) and --zone lgwan|internet|mynumber (this side's zone) are required";
    return r;
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  // Never over a key in use: a folder per key generation (rotation keeps
  // the old folder until the old key's bundles and tokens are gone).
  const auto signing = seal::SigningKey::generate();
  const fs::path dir(out);
  std::vector<std::tuple<fs::path, std::string, mode_t>> files = {
      {dir / "bridge-signing.key", signing.pem(), mode_t{0600}},
      {dir / "bridge-signing.pub", signing.publicPem(), mode_t{0644}}};
  std::optional<seal::PrivateKey> sealing;
  if (zone != "internet") {
    sealing = seal::PrivateKey::generate();
    files.push_back({dir / "bridge-sealing.key", sealing->pem(), mode_t{0600}});
    files.push_back({dir / "bridge-sealing.pub", sealing->publicKey().pem(), mode_t{0644}});
  }
  // The ZeroMQ transport's CURVE pair (an X25519 pair of its own, in Z85 as
  // ZeroMQ reads it), for a direct channel where the zone model allows one.
  const auto curve = seal::PrivateKey::generate();
  const std::string curvePublic = seal::z85Encode(curve.publicKey().raw());
  files.push_back({dir / "bridge-curve.key", seal::z85Encode(curve.raw()) + "\n", mode_t{0600}});
  files.push_back({dir / "bridge-curve.pub", curvePublic + "\n", mode_t{0644}});
  for (const auto& [file, text, mode] : files) {
    if (const std::string error = writeNewFile(file, text, mode); !error.empty()) {
      r.status = 1;
      r.error = error;
      return r;
    }
  }
  std::ostringstream o;
  o << "signing key id " << signing.id() << "\n"
    << "  private key: " << std::get<0>(files[0]).string() << " (mode 600; this side's signing-key)\n"
    << "  public key:  " << std::get<0>(files[1]).string() << " (the other side's sender-key)\n";
  o << "CURVE key (ZeroMQ transport) " << curvePublic.substr(0, 8) << "…\n"
    << "  secret key:  " << (dir / "bridge-curve.key").string() << " (mode 600; this side's curve-key)\n"
    << "  public key:  " << (dir / "bridge-curve.pub").string()
    << " (the other side's curve-server-key or curve-clients)\n";
  if (sealing)
    o << "sealing key id " << sealing->publicKey().id() << "\n"
      << "  private key: " << std::get<0>(files[2]).string() << " (mode 600; this side's opening-keys)\n"
      << "  public key:  " << std::get<0>(files[3]).string() << " (the other side's receiver-key)\n";
  r.output = o.str();
  return r;
}

}  // namespace renkei::connectors::bridge
