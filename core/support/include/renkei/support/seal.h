// Sealing to a zone that alone can open (frontyard.md §2, §3): X25519
// ephemeral key agreement, HKDF-SHA256, AES-256-GCM through OpenSSL 3; and
// Base45 (RFC 9285), the text QR codes' alphanumeric mode packs best.
// Link renkei::seal. Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace renkei::seal {

/// Thrown for a key that cannot be used (the message names the file or
/// what is wrong with it, never key material).
struct KeyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The receiving zone's public X25519 key: what a sealing side holds.
class PublicKey {
 public:
  /// From a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) text. Throws KeyError.
  static PublicKey fromPem(std::string_view pem);
  /// From a file holding one. Throws KeyError naming the file.
  static PublicKey fromFile(const std::string& file);
  /// 8 uppercase hex digits of the SHA-256 of the raw 32-byte key: the key
  /// id tokens and bundles carry, and the fingerprint people compare.
  const std::string& id() const { return id_; }
  const std::string& raw() const { return raw_; }  ///< 32 bytes
  std::string pem() const;

 private:
  friend class PrivateKey;
  std::string raw_, id_;
};

/// The receiving zone's private X25519 key: only the opening side holds it.
class PrivateKey {
 public:
  /// A new random key.
  static PrivateKey generate();
  /// From a PEM "PRIVATE KEY" (PKCS#8) text. Throws KeyError.
  static PrivateKey fromPem(std::string_view pem);
  /// From a file holding one; refuses a file others may read. Throws KeyError.
  static PrivateKey fromFile(const std::string& file);
  const PublicKey& publicKey() const { return public_; }
  std::string pem() const;  ///< PKCS#8; write it to a file only you can read
  const std::string& raw() const { return raw_; }

 private:
  std::string raw_;  ///< 32 bytes
  PublicKey public_;
};

/// Seals `plain` to `to`: 32 bytes of ephemeral public key, then the
/// AES-256-GCM ciphertext and its 16-byte tag. `aad` is authenticated, not
/// encrypted (a token's header): opening with other aad fails.
std::string sealTo(const PublicKey& to, std::string_view plain, std::string_view aad);

/// Opens what sealTo made for `key`'s public half; nullopt when it was made
/// for another key, was changed anywhere, or `aad` differs.
std::optional<std::string> open(const PrivateKey& key, std::string_view sealed, std::string_view aad);

/// An Ed25519 key pair for signing (the bridge's bundles): the sender holds
/// the private half, the receiver only the public one.
class SigningKey {
 public:
  static SigningKey generate();
  /// From a PEM "PRIVATE KEY" (PKCS#8) text, or a file (refused when
  /// others may read it, or a link). Throw KeyError.
  static SigningKey fromPem(std::string_view pem);
  static SigningKey fromFile(const std::string& file);
  std::string pem() const;
  /// The public half as PEM, and its fingerprint (8 uppercase hex digits of
  /// the SHA-256 of the raw 32-byte key) people compare.
  std::string publicPem() const;
  const std::string& id() const { return id_; }
  const std::string& publicRaw() const { return publicRaw_; }
  /// 64-byte Ed25519 signature of `message`.
  std::string sign(std::string_view message) const;

 private:
  std::string raw_, publicRaw_, id_;
};

/// A sender's Ed25519 public key, parsed once (verifying many bundles).
class VerifyKey {
 public:
  /// From a PEM "PUBLIC KEY" text or file. Throw KeyError.
  static VerifyKey fromPem(std::string_view pem);
  static VerifyKey fromFile(const std::string& file);
  const std::string& id() const { return id_; }
  /// Whether `signature` is this key's Ed25519 signature of `message`.
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  std::shared_ptr<void> key_;  ///< the parsed EVP_PKEY
  std::string id_;
};

/// Whether `signature` is `publicKeyPem`'s Ed25519 signature of `message`.
/// Throws KeyError for a key that is not an Ed25519 public key.
bool verify(std::string_view publicKeyPem, std::string_view message, std::string_view signature);

/// Lowercase hex SHA-256 of `bytes` (content hashes in ids and manifests).
std::string sha256Hex(std::string_view bytes);

/// Bytes overhead sealTo adds to the plaintext.
constexpr std::size_t kSealOverhead = 32 + 16;

/// Base64 (RFC 4648, with padding, no line breaks).
std::string base64Encode(std::string_view bytes);
/// nullopt unless `text` is canonical Base64: decoders ignore the low bits
/// of a last character before '=', so two texts would decode alike; in
/// signed or sealed text one changed character must not pass.
std::optional<std::string> base64Decode(std::string_view text);

/// ZeroMQ's Z85 (RFC 32/Z85): 5 characters per 4 bytes; `bytes.size()`
/// must be a multiple of 4 (CURVE keys: 32 bytes, 40 characters).
std::string z85Encode(std::string_view bytes);
/// nullopt when `text` is not Z85 (length not a multiple of 5, a character
/// outside the alphabet, a group above 2^32 - 1).
std::optional<std::string> z85Decode(std::string_view text);

/// RFC 9285: 3 characters per 2 bytes from the QR alphanumeric set.
std::string base45Encode(std::string_view bytes);
/// nullopt when `text` is not Base45 (a character outside the set, a
/// length that is 1 mod 3, a triple above 65535).
std::optional<std::string> base45Decode(std::string_view text);

}  // namespace renkei::seal
