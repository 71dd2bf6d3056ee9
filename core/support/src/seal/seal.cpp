// X25519 + HKDF-SHA256 + AES-256-GCM sealing, and Base45 (RFC 9285).
#include "renkei/support/seal.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace renkei::seal {
namespace {

constexpr std::size_t kKeyBytes = 32, kTagBytes = 16, kNonceBytes = 12;
constexpr const char* kInfo = "renkei seal v1";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Ctx = std::unique_ptr<EVP_PKEY_CTX, CtxFree>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string rawOf(EVP_PKEY* key, bool isPrivate) {
  std::string out(kKeyBytes, '\0');
  std::size_t n = out.size();
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  const int ok = isPrivate ? EVP_PKEY_get_raw_private_key(key, p, &n) : EVP_PKEY_get_raw_public_key(key, p, &n);
  if (ok != 1 || n != kKeyBytes) throw KeyError("not an X25519 key");
  return out;
}

std::string hexId(const std::string& raw) {
  std::string id = sha256Hex(raw).substr(0, 8);
  for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return id;
}

std::string readKeyFile(const std::string& file, bool isPrivate) {
  struct stat st {};
  if (::lstat(file.c_str(), &st) != 0) throw KeyError("key file '" + file + "' does not exist");
  if (!S_ISREG(st.st_mode)) throw KeyError("key file '" + file + "' is not a regular file (links are not followed)");
  if (st.st_size > 16 * 1024) throw KeyError("key file '" + file + "' is larger than a key file can be");
  if (isPrivate && (st.st_mode & 077))
    throw KeyError("private key file '" + file + "' may be read by others (mode " +
                   std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                   std::to_string(st.st_mode & 7) + "); chmod 600 it");
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw KeyError("key file '" + file + "' cannot be read");
  return text.str();
}

Pkey publicPkey(const std::string& raw) {
  Pkey k(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes(raw), raw.size()));
  if (!k) throw KeyError("not an X25519 public key");
  return k;
}

Pkey privatePkey(const std::string& raw) {
  Pkey k(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, bytes(raw), raw.size()));
  if (!k) throw KeyError("not an X25519 private key");
  return k;
}

std::string pemOf(EVP_PKEY* key, bool isPrivate) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  const int ok = isPrivate ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                           : PEM_write_bio_PUBKEY(bio.get(), key);
  if (ok != 1) throw KeyError("cannot write the key as PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

/// X25519 agreement, then HKDF-SHA256 over it, salted with both public
/// keys: the AES key and the GCM nonce (each ephemeral key is used once,
/// so a derived nonce never repeats under one key). False when the peer key
/// is a low-order point (the agreement is all zeros).
bool deriveKeys(EVP_PKEY* mine, EVP_PKEY* peer, const std::string& ephemeralRaw, const std::string& recipientRaw,
                unsigned char (&out)[kKeyBytes + kNonceBytes]) {
  Ctx ctx(EVP_PKEY_CTX_new(mine, nullptr));
  unsigned char shared[kKeyBytes];
  std::size_t n = sizeof shared;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared, &n) != 1 || n != kKeyBytes)
    return false;
  unsigned char any = 0;
  for (unsigned char b : shared) any |= b;
  if (!any) return false;
  const std::string salt = ephemeralRaw + recipientRaw;
  Ctx kdf(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::size_t length = sizeof out;
  const bool ok = kdf && EVP_PKEY_derive_init(kdf.get()) == 1 &&
                  EVP_PKEY_CTX_set_hkdf_md(kdf.get(), EVP_sha256()) == 1 &&
                  EVP_PKEY_CTX_set1_hkdf_salt(kdf.get(), bytes(salt), static_cast<int>(salt.size())) == 1 &&
                  EVP_PKEY_CTX_set1_hkdf_key(kdf.get(), shared, sizeof shared) == 1 &&
                  EVP_PKEY_CTX_add1_hkdf_info(kdf.get(), reinterpret_cast<const unsigned char*>(kInfo),
                                              static_cast<int>(std::char_traits<char>::length(kInfo))) == 1 &&
                  EVP_PKEY_derive(kdf.get(), out, &length) == 1 && length == sizeof out;
  OPENSSL_cleanse(shared, sizeof shared);
  return ok;
}

/// The key in a PEM text of `type` (EVP_PKEY_X25519 or EVP_PKEY_ED25519).
Pkey readPem(std::string_view pem, bool isPrivate, int type, const char* what) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Pkey key(isPrivate ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                     : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_get_id(key.get()) != type)
    throw KeyError(std::string("not an ") + what + (isPrivate ? " private" : " public") + " key in PEM (\"-----BEGIN " +
                   (isPrivate ? "PRIVATE" : "PUBLIC") + " KEY-----\")");
  return key;
}

/// `fromPem` of a key file's text, with the file named in any error.
template <typename Key, typename FromPem>
Key fromKeyFile(const std::string& file, bool isPrivate, FromPem fromPem) {
  try {
    return fromPem(readKeyFile(file, isPrivate));
  } catch (const KeyError& e) {
    const std::string what = e.what();
    throw KeyError(what.find(file) == std::string::npos ? "key file '" + file + "': " + what : what);
  }
}

const char kBase45[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

int base45Value(char c) {
  for (int i = 0; i < 45; ++i)
    if (kBase45[i] == c) return i;
  return -1;
}

}  // namespace

PublicKey PublicKey::fromPem(std::string_view pem) {
  Pkey key = readPem(pem, false, EVP_PKEY_X25519, "X25519");
  PublicKey k;
  k.raw_ = rawOf(key.get(), false);
  k.id_ = hexId(k.raw_);
  return k;
}

PublicKey PublicKey::fromFile(const std::string& file) {
  return fromKeyFile<PublicKey>(file, false, [](const std::string& pem) { return fromPem(pem); });
}

std::string PublicKey::pem() const { return pemOf(publicPkey(raw_).get(), false); }

PrivateKey PrivateKey::generate() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!key) throw KeyError("cannot generate an X25519 key");
  PrivateKey k;
  k.raw_ = rawOf(key.get(), true);
  k.public_.raw_ = rawOf(key.get(), false);
  k.public_.id_ = hexId(k.public_.raw_);
  return k;
}

PrivateKey PrivateKey::fromPem(std::string_view pem) {
  Pkey key = readPem(pem, true, EVP_PKEY_X25519, "X25519");
  PrivateKey k;
  k.raw_ = rawOf(key.get(), true);
  k.public_.raw_ = rawOf(key.get(), false);
  k.public_.id_ = hexId(k.public_.raw_);
  return k;
}

PrivateKey PrivateKey::fromFile(const std::string& file) {
  return fromKeyFile<PrivateKey>(file, true, [](const std::string& pem) { return fromPem(pem); });
}

std::string PrivateKey::pem() const { return pemOf(privatePkey(raw_).get(), true); }

std::string sealTo(const PublicKey& to, std::string_view plain, std::string_view aad) {
  const PrivateKey ephemeral = PrivateKey::generate();
  Pkey mine = privatePkey(ephemeral.raw()), peer = publicPkey(to.raw());
  unsigned char derived[kKeyBytes + kNonceBytes];
  if (!deriveKeys(mine.get(), peer.get(), ephemeral.publicKey().raw(), to.raw(), derived))
    throw KeyError("the recipient's key is not usable for X25519 (a low-order point)");
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> c(EVP_CIPHER_CTX_new());
  std::string out = ephemeral.publicKey().raw();
  out.resize(kKeyBytes + plain.size() + kTagBytes);
  auto* p = reinterpret_cast<unsigned char*>(out.data()) + kKeyBytes;
  int n = 0, m = 0;
  const bool ok =
      c && EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, derived, derived + kKeyBytes) == 1 &&
      (aad.empty() || EVP_EncryptUpdate(c.get(), nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1) &&
      EVP_EncryptUpdate(c.get(), p, &n, bytes(plain), static_cast<int>(plain.size())) == 1 &&
      EVP_EncryptFinal_ex(c.get(), p + n, &m) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, p + plain.size()) == 1;
  OPENSSL_cleanse(derived, sizeof derived);
  if (!ok) throw KeyError("AES-256-GCM failed");
  return out;
}

std::optional<std::string> open(const PrivateKey& key, std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kSealOverhead) return std::nullopt;
  const std::string ephemeralRaw(sealed.substr(0, kKeyBytes));
  Pkey mine = privatePkey(key.raw());
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes(ephemeralRaw), kKeyBytes));
  unsigned char derived[kKeyBytes + kNonceBytes];
  if (!peer || !deriveKeys(mine.get(), peer.get(), ephemeralRaw, key.publicKey().raw(), derived)) return std::nullopt;
  const std::string_view body = sealed.substr(kKeyBytes, sealed.size() - kSealOverhead);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string out(body.size(), '\0');
  std::unique_ptr<EVP_CIPHER_CTX, CipherFree> c(EVP_CIPHER_CTX_new());
  int n = 0, m = 0;
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  const bool ok =
      c && EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, derived, derived + kKeyBytes) == 1 &&
      (aad.empty() || EVP_DecryptUpdate(c.get(), nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1) &&
      EVP_DecryptUpdate(c.get(), p, &n, bytes(body), static_cast<int>(body.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(c.get(), p + n, &m) == 1;
  OPENSSL_cleanse(derived, sizeof derived);
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

SigningKey SigningKey::generate() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) throw KeyError("cannot generate an Ed25519 key");
  SigningKey k;
  k.raw_ = rawOf(key.get(), true);
  k.publicRaw_ = rawOf(key.get(), false);
  k.id_ = hexId(k.publicRaw_);
  return k;
}

SigningKey SigningKey::fromPem(std::string_view pem) {
  Pkey key = readPem(pem, true, EVP_PKEY_ED25519, "Ed25519");
  SigningKey k;
  k.raw_ = rawOf(key.get(), true);
  k.publicRaw_ = rawOf(key.get(), false);
  k.id_ = hexId(k.publicRaw_);
  return k;
}

SigningKey SigningKey::fromFile(const std::string& file) {
  return fromKeyFile<SigningKey>(file, true, [](const std::string& pem) { return fromPem(pem); });
}

std::string SigningKey::pem() const {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(raw_), raw_.size()));
  if (!key) throw KeyError("not an Ed25519 private key");
  return pemOf(key.get(), true);
}

std::string SigningKey::publicPem() const {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(publicRaw_), publicRaw_.size()));
  if (!key) throw KeyError("not an Ed25519 public key");
  return pemOf(key.get(), false);
}

std::string SigningKey::sign(std::string_view message) const {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(raw_), raw_.size()));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::string signature(64, '\0');
  std::size_t n = signature.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &n, bytes(message),
                     message.size()) != 1 ||
      n != 64)
    throw KeyError("Ed25519 signing failed");
  return signature;
}

VerifyKey VerifyKey::fromPem(std::string_view pem) {
  Pkey key = readPem(pem, false, EVP_PKEY_ED25519, "Ed25519");
  VerifyKey k;
  k.id_ = hexId(rawOf(key.get(), false));
  k.key_ = std::shared_ptr<void>(key.release(), [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
  return k;
}

VerifyKey VerifyKey::fromFile(const std::string& file) {
  return fromKeyFile<VerifyKey>(file, false, [](const std::string& pem) { return fromPem(pem); });
}

bool VerifyKey::verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64 || !key_) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return ctx &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(key_.get())) == 1 &&
         EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(message), message.size()) == 1;
}

bool verify(std::string_view publicKeyPem, std::string_view message, std::string_view signature) {
  return VerifyKey::fromPem(publicKeyPem).verify(message, signature);
}

std::string sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

std::string base64Encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64Decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = in.size(); i > 0 && in[i - 1] == '=' && pad < 2; --i) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  if (base64Encode(out) != in) return std::nullopt;
  return out;
}

namespace {
constexpr std::string_view kZ85 =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
}  // namespace

std::string z85Encode(std::string_view in) {
  std::string out;
  if (in.size() % 4 != 0) return out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) v = v << 8 | static_cast<unsigned char>(in[i + k]);
    char group[5];
    for (int k = 4; k >= 0; --k) {
      group[k] = kZ85[v % 85];
      v /= 85;
    }
    out.append(group, 5);
  }
  return out;
}

std::optional<std::string> z85Decode(std::string_view text) {
  if (text.size() % 5 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 5) {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < 5; ++k) {
      const std::size_t d = kZ85.find(text[i + k]);
      if (d == std::string_view::npos) return std::nullopt;
      v = v * 85 + d;
    }
    if (v > 0xFFFFFFFFull) return std::nullopt;
    for (int k = 3; k >= 0; --k) out += static_cast<char>((v >> (8 * k)) & 0xFF);
  }
  return out;
}

std::string base45Encode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 2 * 3 + 2);
  std::size_t i = 0;
  for (; i + 1 < in.size(); i += 2) {
    unsigned n = static_cast<unsigned char>(in[i]) * 256u + static_cast<unsigned char>(in[i + 1]);
    out += kBase45[n % 45];
    out += kBase45[n / 45 % 45];
    out += kBase45[n / 2025];
  }
  if (i < in.size()) {
    const unsigned n = static_cast<unsigned char>(in[i]);
    out += kBase45[n % 45];
    out += kBase45[n / 45];
  }
  return out;
}

std::optional<std::string> base45Decode(std::string_view text) {
  if (text.size() % 3 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 3 * 2 + 1);
  for (std::size_t i = 0; i < text.size(); i += 3) {
    const std::size_t left = text.size() - i;
    int v[3] = {0, 0, 0};
    for (std::size_t k = 0; k < std::min<std::size_t>(3, left); ++k)
      if ((v[k] = base45Value(text[i + k])) < 0) return std::nullopt;
    if (left >= 3) {
      const unsigned n = static_cast<unsigned>(v[0] + v[1] * 45 + v[2] * 2025);
      if (n > 65535) return std::nullopt;
      out += static_cast<char>(n >> 8);
      out += static_cast<char>(n & 255);
    } else {
      const unsigned n = static_cast<unsigned>(v[0] + v[1] * 45);
      if (n > 255) return std::nullopt;
      out += static_cast<char>(n);
    }
  }
  return out;
}

}  // namespace renkei::seal
