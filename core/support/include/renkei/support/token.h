// The sealed visit token (frontyard.md §3): made in the internet zone with
// the LGWAN side's public key, opened in LGWAN only. Text for QR codes'
// alphanumeric mode:
//   RK1:<key id>:<expiry, minutes since 1970 UTC>:<length>:<Base45 of the sealed, deflated payload>
// The header (version, key id, expiry) is readable without opening and is
// authenticated with the payload. Link renkei::seal. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "renkei/support/seal.h"

namespace renkei::token {

constexpr int kVersion = 1;

/// Why a token is refused: each has its own code for window systems.
enum class Refusal {
  Malformed,     ///< not a token's shape (truncated, characters outside the QR set)
  WrongPrefix,   ///< not a renkei token ("RK")
  WrongVersion,  ///< a format this build does not know
  UnknownKey,    ///< made for a key id none of the configured keys has
  Expired,       ///< past its expiry
  Tampered,      ///< the sealed payload or the header was changed
};
/// "malformed", "wrong-prefix", "wrong-version", "unknown-key", "expired", "tampered".
const char* refusalName(Refusal r);

struct Header {
  int version = 0;
  std::string keyId;          ///< 8 uppercase hex digits (seal::PublicKey::id)
  std::int64_t expiresAt = 0; ///< seconds since 1970 UTC (minute precision)
};

struct Result {
  std::optional<Refusal> refusal;  ///< set when refused
  std::string why;                 ///< for people; never payload content
  Header header;                   ///< filled when the header could be read
  std::string payload;             ///< open(): the opened payload
  bool ok() const { return !refusal; }
};

/// The most payload a token carries (opening refuses more): 64 KiB.
constexpr std::size_t kMaxPayload = 64 * 1024;

/// Seals `payload` for `key`, valid until `expiresAt` (seconds since 1970,
/// rounded up to the minute). Throws std::invalid_argument for a payload
/// over kMaxPayload (it could never be opened).
std::string make(const seal::PublicKey& key, std::string_view payload, std::int64_t expiresAt);

/// Reads the header only (no key needed): for IT staff looking at a token.
/// Leading and trailing white space (a scanner's) is ignored.
Result inspect(std::string_view text);

/// Opens with whichever of `keys` has the token's key id (several after a
/// rotation), refusing an expired one at `now` (seconds since 1970).
Result open(std::string_view text, const std::vector<seal::PrivateKey>& keys, std::int64_t now);

}  // namespace renkei::token
