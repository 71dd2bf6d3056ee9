// The sealed visit token's text form: header, length, Base45 of the seal.
#include "renkei/support/token.h"
#include <cstring>
#include <cstdlib>
#include <openssl/crypto.h>

#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace renkei::token {
namespace {

constexpr std::string_view kPrefix = "RK";
constexpr std::size_t kMaxText = 4296;  // the most a QR code holds in alphanumeric mode

// The payload is deflated (raw, level 9) before sealing: Japanese JSON
// halves or better, which lowers the QR version a household needs.
// zlib's memory, cleared before it is freed: its window holds the payload
// (a resident's names and address) in clear.
voidpf clearingAlloc(voidpf, uInt items, uInt size) {
  const std::size_t bytes = static_cast<std::size_t>(items) * size;
  auto* block = static_cast<unsigned char*>(std::malloc(bytes + 16));
  if (!block) return Z_NULL;
  std::memcpy(block, &bytes, sizeof bytes);
  return block + 16;
}
void clearingFree(voidpf, voidpf address) {
  if (!address) return;
  auto* block = static_cast<unsigned char*>(address) - 16;
  std::size_t bytes = 0;
  std::memcpy(&bytes, block, sizeof bytes);
  OPENSSL_cleanse(address, bytes);
  std::free(block);
}

std::string deflateRaw(std::string_view in) {
  z_stream z{};
  z.zalloc = clearingAlloc;
  z.zfree = clearingFree;
  if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("zlib");
  std::string out(deflateBound(&z, static_cast<uLong>(in.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib");
  return out;
}

/// Inflates at most kMaxPayload bytes: anyone with the public key can seal,
/// so a sealed deflate bomb is bounded here. nullopt when it is no deflate
/// stream or inflates past the bound.
std::optional<std::string> inflateRaw(std::string_view in) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return std::nullopt;
  std::string out(kMaxPayload + 1, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const std::size_t n = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || n > kMaxPayload) return std::nullopt;
  out.resize(n);
  return out;
}

Result refuse(Refusal r, std::string why, Header header = {}) {
  Result out;
  out.refusal = r;
  out.why = std::move(why);
  out.header = std::move(header);
  return out;
}

bool digits(std::string_view s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The header "RK1:<id>:<expiry>" exactly as made: the AAD.
std::string headerText(const Header& h) {
  return std::string(kPrefix) + std::to_string(h.version) + ":" + h.keyId + ":" + std::to_string(h.expiresAt / 60);
}

/// Splits the token; on success `sealed` holds the Base45 text.
Result parse(std::string_view text, std::string& sealed) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n' || text.back() == '\t' || text.back() == ' '))
    text.remove_suffix(1);
  if (text.size() > kMaxText) return refuse(Refusal::Malformed, "longer than a QR code holds");
  if (text.substr(0, kPrefix.size()) != kPrefix) return refuse(Refusal::WrongPrefix, "not a renkei token");
  std::string_view parts[4];
  std::size_t at = kPrefix.size();
  for (auto& part : parts) {
    const std::size_t colon = text.find(':', at);
    if (colon == std::string_view::npos) return refuse(Refusal::Malformed, "the header is cut short");
    part = text.substr(at, colon - at);
    at = colon + 1;
  }
  // Every header number is bounded before it is read: a version of at most
  // 3 digits, an expiry in minutes since 1970 of at most 10 (an 18-digit one
  // overflowed when turned into seconds), a length of at most 5.
  if (!digits(parts[0]) || parts[0].size() > 3) return refuse(Refusal::Malformed, "no version in the header");
  Header h;
  h.version = static_cast<int>(std::stoll(std::string(parts[0])));
  if (h.version != kVersion)
    return refuse(Refusal::WrongVersion, "format version " + std::to_string(h.version) + "; this build reads " +
                                             std::to_string(kVersion));
  if (parts[1].size() != 8 || !std::all_of(parts[1].begin(), parts[1].end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
      }))
    return refuse(Refusal::Malformed, "the key id is not 8 hex digits");
  h.keyId = std::string(parts[1]);
  if (!digits(parts[2]) || !digits(parts[3])) return refuse(Refusal::Malformed, "the header's numbers are not digits");
  if (parts[2].size() > 10 || parts[3].size() > 5)
    return refuse(Refusal::Malformed, "the header's numbers are longer than a token's can be");
  h.expiresAt = std::stoll(std::string(parts[2])) * 60;
  const std::size_t length = static_cast<std::size_t>(std::stoull(std::string(parts[3])));
  // Base45 never ends in a space (a last triple's third character is at
  // most 32, a last pair's second at most 5), so trimming the text above
  // cannot cut it; the length tells a truncated token from a tampered one.
  sealed = std::string(text.substr(at));
  if (sealed.size() != length)
    return refuse(Refusal::Malformed, "the sealed part has " + std::to_string(sealed.size()) +
                                          " characters, the header says " + std::to_string(length) + " (truncated?)",
                  h);
  Result ok;
  ok.header = h;
  return ok;
}

}  // namespace

const char* refusalName(Refusal r) {
  switch (r) {
    case Refusal::Malformed: return "malformed";
    case Refusal::WrongPrefix: return "wrong-prefix";
    case Refusal::WrongVersion: return "wrong-version";
    case Refusal::UnknownKey: return "unknown-key";
    case Refusal::Expired: return "expired";
    case Refusal::Tampered: return "tampered";
  }
  return "malformed";
}

std::string make(const seal::PublicKey& key, std::string_view payload, std::int64_t expiresAt) {
  if (payload.size() > kMaxPayload)
    throw std::invalid_argument("the payload has " + std::to_string(payload.size()) + " bytes; a token carries at most " +
                                std::to_string(kMaxPayload));
  Header h;
  h.version = kVersion;
  h.keyId = key.id();
  h.expiresAt = (expiresAt + 59) / 60 * 60;
  const std::string aad = headerText(h);
  const std::string sealed = seal::base45Encode(seal::sealTo(key, deflateRaw(payload), aad));
  return aad + ":" + std::to_string(sealed.size()) + ":" + sealed;
}

Result inspect(std::string_view text) {
  std::string sealed;
  return parse(text, sealed);
}

Result open(std::string_view text, const std::vector<seal::PrivateKey>& keys, std::int64_t now) {
  std::string sealed;
  Result r = parse(text, sealed);
  if (!r.ok()) return r;
  const seal::PrivateKey* key = nullptr;
  for (const auto& k : keys)
    if (k.publicKey().id() == r.header.keyId) key = &k;
  if (!key) return refuse(Refusal::UnknownKey, "made for key " + r.header.keyId + ", which is not configured", r.header);
  if (now >= r.header.expiresAt) return refuse(Refusal::Expired, "expired", r.header);
  const auto bytes = seal::base45Decode(sealed);
  if (!bytes) return refuse(Refusal::Tampered, "the sealed part is not Base45", r.header);
  auto plain = seal::open(*key, *bytes, headerText(r.header));
  if (!plain) return refuse(Refusal::Tampered, "the seal does not verify (changed, or made for another key)", r.header);
  auto inflated = inflateRaw(*plain);
  if (!inflated)
    return refuse(Refusal::Malformed, "the sealed content is not a token's (not deflated, or over 64 KiB)", r.header);
  r.payload = std::move(*inflated);
  return r;
}

}  // namespace renkei::token
