// `renkei token keygen` makes the LGWAN side's key pair (the private half
// never leaves LGWAN; the public half goes to the internet instance);
// `renkei token inspect` reads a token's header without any key.
#include "token_commands.h"

#include "renkei/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <tuple>
#include <vector>

#include "local_time.h"
#include "renkei/support/qr.h"
#include "renkei/support/token.h"

namespace renkei {
namespace {

constexpr int kOk = 0, kRefused = 1, kUsage = 2;

std::string value(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

/// Writes `text` to a new file (never over an existing one) with `mode`.
int keygen(const std::map<std::string, std::string>& values) {
  const std::string out = value(values, "--out");
  if (out.empty()) {
    std::cerr << "renkei token keygen: --out DIR is required (where the key pair is written)\n";
    return kUsage;
  }
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  const auto key = seal::PrivateKey::generate();
  const std::string id = key.publicKey().id();
  const std::filesystem::path priv = std::filesystem::path(out) / ("token-" + id + ".key");
  const std::filesystem::path pub = std::filesystem::path(out) / ("token-" + id + ".pub");
  for (const auto& [file, text, mode] : {std::tuple{priv, key.pem(), mode_t{0600}},
                                        std::tuple{pub, key.publicKey().pem(), mode_t{0644}}}) {
    if (const std::string error = writeNewFile(file, text, mode); !error.empty()) {
      std::cerr << "renkei token keygen: " << error << "\n";
      return 1;
    }
  }
  std::cout << "key id " << id << "\n"
            << "  private key: " << priv.string() << " (mode 600; for the LGWAN instance only)\n"
            << "  public key:  " << pub.string() << " (for the internet instance, which seals with it)\n";
  return kOk;
}

/// "7d", "24h", "90m": seconds; nullopt otherwise.
std::optional<std::int64_t> duration(const std::string& text) {
  if (text.size() < 2 || text.size() > 8 || text.find_first_not_of("0123456789") != text.size() - 1) return std::nullopt;
  const std::int64_t n = std::stoll(text.substr(0, text.size() - 1));
  switch (text.back()) {
    case 'm': return n * 60;
    case 'h': return n * 3600;
    case 'd': return n * 86400;
    default: return std::nullopt;
  }
}

// For testing window systems with synthetic households: the concierge makes
// real tokens. The payload never reaches a log or the output.
int make(const std::map<std::string, std::string>& values) {
  const std::string keyFile = value(values, "--public-key"), payloadFile = value(values, "--payload");
  if (keyFile.empty() || payloadFile.empty()) {
    std::cerr << "renkei token make: --public-key PUB (the LGWAN side's public key) and --payload FILE are required\n";
    return kUsage;
  }
  const auto lifetime = duration(values.count("--expires") ? value(values, "--expires") : "7d");
  if (!lifetime) {
    std::cerr << "renkei token make: --expires takes a duration: 90m, 24h, 7d\n";
    return kUsage;
  }
  // At most one byte past the limit is read: make() refuses it by name.
  std::string payload(token::kMaxPayload + 1, '\0');
  {
    std::ifstream in(payloadFile, std::ios::binary);
    if (!in) {
      std::cerr << "renkei token make: cannot read '" << payloadFile << "'\n";
      return 1;
    }
    in.read(payload.data(), static_cast<std::streamsize>(payload.size()));
    payload.resize(static_cast<std::size_t>(in.gcount()));
  }
  try {
    const auto key = seal::PublicKey::fromFile(keyFile);
    const std::string text = token::make(key, payload, std::time(nullptr) + *lifetime);
    for (const char* option : {"--png", "--svg"}) {
      const std::string file = value(values, option);
      if (file.empty()) continue;
      const std::string image = std::string(option) == "--png" ? qr::png(text, 4) : qr::svg(text);
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << image;
      if (!out.flush()) {
        std::cerr << "renkei token make: cannot write '" << file << "'\n";
        return 1;
      }
    }
    std::cout << text << "\n";
    std::cerr << "renkei token make: " << text.size() << " characters, QR version " << qr::version(text)
              << " (level M), key id " << key.id() << "\n";
    return kOk;
  } catch (const std::exception& e) {
    std::cerr << "renkei token make: " << e.what() << "\n";
    return 1;
  }
}

int inspect(const std::map<std::string, std::string>& values) {
  std::string text = value(values, "--text");
  if (text.empty()) {
    std::cerr << "renkei token inspect: --text T is required (the scanned token; quote it: it may hold spaces)\n";
    return kUsage;
  }
  useTimeZone(kDefaultTimeZone);
  const token::Result r = token::inspect(text);
  if (!r.ok()) {
    std::cout << "refused: " << token::refusalName(*r.refusal) << ": " << r.why << "\n";
    return kRefused;
  }
  const std::int64_t now = std::time(nullptr);
  std::cout << "version " << r.header.version << ", key id " << r.header.keyId << ", expires "
            << localTime(r.header.expiresAt * 1000) << (r.header.expiresAt <= now ? " (expired)" : "")
            << "\n(the content is sealed; only the LGWAN instance holding key " << r.header.keyId
            << " opens it)\n";
  return kOk;
}

}  // namespace

int runTokenCommand(const std::string& action, const std::map<std::string, std::string>& values) {
  if (action == "keygen") return keygen(values);
  if (action == "make") return make(values);
  return inspect(values);
}

}  // namespace renkei
