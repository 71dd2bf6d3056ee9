// Sealing (X25519 + HKDF-SHA256 + AES-256-GCM), Base45 (RFC 9285) and the
// sealed visit token's text: round trips, the RFC's vectors, and every way a
// token is refused, each with its own code.
#define BOOST_TEST_MODULE renkei_seal
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <zlib.h>

#include <random>

#include "renkei/support/seal.h"
#include "renkei/support/token.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(base45_follows_rfc_9285) {
  BOOST_TEST(seal::base45Encode("AB") == "BB8");
  BOOST_TEST(seal::base45Encode("Hello!!") == "%69 VD92EX0");
  BOOST_TEST(seal::base45Encode("base-45") == "UJCLQE7W581");
  BOOST_TEST(*seal::base45Decode("QED8WEX0") == "ietf!");
  BOOST_TEST(!seal::base45Decode("GGW"));   // 65536: above two bytes
  BOOST_TEST(!seal::base45Decode("A"));     // a length of 1 mod 3
  BOOST_TEST(!seal::base45Decode("bb8"));   // lower case is not in the set
  std::mt19937 rng(45);
  for (std::size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    const std::string text = seal::base45Encode(bytes);
    BOOST_TEST(text.size() == n / 2 * 3 + (n % 2) * 2);
    BOOST_TEST(*seal::base45Decode(text) == bytes);
  }
}

BOOST_AUTO_TEST_CASE(sealed_bytes_open_only_with_the_key_and_unchanged) {
  const auto key = seal::PrivateKey::generate();
  const auto other = seal::PrivateKey::generate();
  const std::string plain = "{\"members\":[{\"name\":\"山田　花子\"}]}";
  const std::string sealed = seal::sealTo(key.publicKey(), plain, "aad");
  BOOST_TEST(sealed.size() == plain.size() + seal::kSealOverhead);
  BOOST_TEST(sealed.find("山田") == std::string::npos);
  BOOST_TEST(*seal::open(key, sealed, "aad") == plain);
  BOOST_TEST(seal::sealTo(key.publicKey(), plain, "aad") != sealed);  // a new ephemeral key each time
  BOOST_TEST(!seal::open(other, sealed, "aad"));
  BOOST_TEST(!seal::open(key, sealed, "aaD"));
  BOOST_TEST(!seal::open(key, sealed.substr(0, sealed.size() - 1), "aad"));
  BOOST_TEST(!seal::open(key, "", "aad"));
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string changed = sealed;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    BOOST_TEST(!seal::open(key, changed, "aad"), "byte " << i << " changed and still opened");
  }
}

BOOST_AUTO_TEST_CASE(keys_round_trip_through_pem_and_files_are_guarded) {
  test::TempDir dir;
  const auto key = seal::PrivateKey::generate();
  BOOST_TEST(key.publicKey().id().size() == 8u);
  BOOST_TEST(seal::PrivateKey::fromPem(key.pem()).raw() == key.raw());
  BOOST_TEST(seal::PublicKey::fromPem(key.publicKey().pem()).id() == key.publicKey().id());
  test::writeFile(dir / "k.key", key.pem());
  ::chmod((dir / "k.key").c_str(), 0644);
  BOOST_CHECK_EXCEPTION(seal::PrivateKey::fromFile((dir / "k.key").string()), seal::KeyError, [](const auto& e) {
    return std::string(e.what()).find("may be read by others (mode 644); chmod 600 it") != std::string::npos;
  });
  ::chmod((dir / "k.key").c_str(), 0600);
  BOOST_TEST(seal::PrivateKey::fromFile((dir / "k.key").string()).publicKey().id() == key.publicKey().id());
  fs::create_symlink(dir / "k.key", dir / "link.key");
  BOOST_CHECK_THROW(seal::PrivateKey::fromFile((dir / "link.key").string()), seal::KeyError);
  test::writeFile(dir / "pub.pem", key.pem());  // a private key where a public one belongs
  BOOST_CHECK_THROW(seal::PublicKey::fromFile((dir / "pub.pem").string()), seal::KeyError);
  BOOST_CHECK_THROW(seal::PublicKey::fromFile((dir / "missing.pem").string()), seal::KeyError);
}

namespace {

bool qrAlphanumeric(const std::string& text) {
  return text.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:") == std::string::npos;
}

std::string refusal(const token::Result& r) { return r.refusal ? token::refusalName(*r.refusal) : "ok"; }

}  // namespace

BOOST_AUTO_TEST_CASE(a_token_opens_once_made_and_is_refused_with_its_own_code) {
  const auto key = seal::PrivateKey::generate();
  const std::int64_t now = 1'800'000'000, expiry = now + 7 * 86400;
  const std::string payload = "{\"event\":\"転入\",\"members\":[{\"name\":\"佐藤　大輔\"}]}";
  const std::string text = token::make(key.publicKey(), payload, expiry);
  BOOST_TEST(qrAlphanumeric(text), text);
  BOOST_TEST(text.rfind("RK1:" + key.publicKey().id() + ":", 0) == 0u, text);

  const auto header = token::inspect(text);
  BOOST_TEST(header.ok());
  BOOST_TEST(header.header.version == 1);
  BOOST_TEST(header.header.keyId == key.publicKey().id());
  BOOST_TEST(header.header.expiresAt == (expiry + 59) / 60 * 60);
  BOOST_TEST(header.payload.empty());  // inspecting never opens

  const auto opened = token::open(text, {key}, now);
  BOOST_TEST_REQUIRE(opened.ok(), opened.why);
  BOOST_TEST(opened.payload == payload);
  BOOST_TEST(token::open("  " + text + "\r\n", {key}, now).ok());  // a scanner's white space

  // The body starts after the header's fourth ':' (Base45 has ':' in its
  // alphabet, so the last ':' may be inside the body, even in its last
  // characters: the change below then fell past the end and the token
  // opened, once in a few hundred runs).
  std::size_t body = 0;
  for (int colons = 0; colons < 4; ++colons) body = text.find(':', body) + 1;
  BOOST_TEST_REQUIRE(body + 5 < text.size());
  std::string changed = text;
  changed[body + 5] = changed[body + 5] == 'A' ? 'B' : 'A';
  BOOST_TEST(refusal(token::open(changed, {key}, now)) == "tampered");
  std::string laterExpiry = text;  // the header is authenticated with the payload
  const std::size_t e = laterExpiry.find(':', 4) + 1;
  laterExpiry[e] = laterExpiry[e] == '9' ? '8' : static_cast<char>(laterExpiry[e] + 1);
  BOOST_TEST(refusal(token::open(laterExpiry, {key}, now)) == "tampered");
  BOOST_TEST(refusal(token::open(text.substr(0, text.size() - 10), {key}, now)) == "malformed");
  BOOST_TEST(refusal(token::open(text.substr(0, 12), {key}, now)) == "malformed");
  BOOST_TEST(refusal(token::open("XX" + text.substr(2), {key}, now)) == "wrong-prefix");
  BOOST_TEST(refusal(token::open("RK2" + text.substr(3), {key}, now)) == "wrong-version");
  BOOST_TEST(refusal(token::open(text, {key}, expiry + 60)) == "expired");
  BOOST_TEST(refusal(token::open(text, {seal::PrivateKey::generate()}, now)) == "unknown-key");
  BOOST_TEST(refusal(token::open(text, {}, now)) == "unknown-key");  // the internet side holds no private key
  BOOST_TEST(token::open(changed, {key}, now).why.find("佐藤") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(tokens_from_before_a_key_rotation_still_open) {
  const auto before = seal::PrivateKey::generate(), after = seal::PrivateKey::generate();
  const std::int64_t now = 1'800'000'000;
  const std::string old = token::make(before.publicKey(), "old", now + 3600);
  const std::string fresh = token::make(after.publicKey(), "new", now + 3600);
  BOOST_TEST(token::open(old, {after, before}, now).payload == "old");
  BOOST_TEST(token::open(fresh, {after, before}, now).payload == "new");
  BOOST_TEST(refusal(token::open(old, {after}, now)) == "unknown-key");
}

BOOST_AUTO_TEST_CASE(base45_never_ends_in_a_space_so_trimming_a_token_is_safe) {
  // Scanners and forms trim trailing spaces; a token survives that because
  // Base45's last character is never one (checked over every last pair and
  // byte, not assumed).
  for (unsigned n = 0; n < 65536; ++n) {
    const std::string pair{static_cast<char>(n >> 8), static_cast<char>(n & 255)};
    BOOST_TEST_REQUIRE(seal::base45Encode(pair).back() != ' ');
  }
  for (unsigned n = 0; n < 256; ++n) BOOST_TEST_REQUIRE(seal::base45Encode(std::string(1, static_cast<char>(n))).back() != ' ');
}

// Anyone holding the public key can seal: a sealed deflate bomb, or sealed
// content that is no deflate stream, is refused after opening, bounded.
BOOST_AUTO_TEST_CASE(a_sealed_deflate_bomb_is_refused_bounded) {
  const auto key = seal::PrivateKey::generate();
  const std::int64_t now = 1'800'000'000, expiry = now + 600;
  auto forge = [&](const std::string& content) {
    const std::string aad = "RK1:" + key.publicKey().id() + ":" + std::to_string((expiry + 59) / 60);
    const std::string sealed = seal::base45Encode(seal::sealTo(key.publicKey(), content, aad));
    return aad + ":" + std::to_string(sealed.size()) + ":" + sealed;
  };
  std::string zeros(1 << 20, '\0'), bomb(compressBound(static_cast<uLong>(zeros.size())), '\0');
  z_stream z{};
  BOOST_REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(zeros.data());
  z.avail_in = static_cast<uInt>(zeros.size());
  z.next_out = reinterpret_cast<Bytef*>(bomb.data());
  z.avail_out = static_cast<uInt>(bomb.size());
  BOOST_REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  bomb.resize(z.total_out);
  deflateEnd(&z);
  BOOST_TEST(bomb.size() < 2000u);  // fits a QR code, inflates to 1 MiB
  const auto r = token::open(forge(bomb), {key}, now);
  BOOST_TEST(refusal(r) == "malformed");
  BOOST_TEST(r.why.find("over 64 KiB") != std::string::npos, r.why);
  BOOST_TEST(refusal(token::open(forge("not deflated at all"), {key}, now)) == "malformed");
}

// The bridge signs its bundles with Ed25519: a signature verifies with the
// sender's public key only, over exactly the bytes signed.
BOOST_AUTO_TEST_CASE(ed25519_signatures_verify_only_unchanged_and_with_the_senders_key) {
  test::TempDir dir;
  const auto sender = seal::SigningKey::generate(), other = seal::SigningKey::generate();
  const std::string message = "{\"bundle\":\"b-1\"}\nrecord 1\nrecord 2\n";
  const std::string signature = sender.sign(message);
  BOOST_TEST(signature.size() == 64u);
  BOOST_TEST(seal::verify(sender.publicPem(), message, signature));
  BOOST_TEST(!seal::verify(other.publicPem(), message, signature));
  BOOST_TEST(!seal::verify(sender.publicPem(), message + " ", signature));
  for (std::size_t i = 0; i < signature.size(); ++i) {
    std::string changed = signature;
    changed[i] = static_cast<char>(changed[i] ^ 0x80);
    BOOST_TEST(!seal::verify(sender.publicPem(), message, changed), "signature byte " << i);
  }
  BOOST_TEST(!seal::verify(sender.publicPem(), message, signature.substr(1)));
  BOOST_TEST(seal::SigningKey::fromPem(sender.pem()).id() == sender.id());
  const auto parsed = seal::VerifyKey::fromPem(sender.publicPem());  // parsed once, used for many
  BOOST_TEST(parsed.id() == sender.id());
  BOOST_TEST(parsed.verify(message, signature));
  BOOST_TEST(!parsed.verify(message, other.sign(message)));
  test::writeFile(dir / "s.pub", sender.publicPem());
  BOOST_TEST(seal::VerifyKey::fromFile((dir / "s.pub").string()).verify(message, signature));
  test::writeFile(dir / "s.key", sender.pem());
  ::chmod((dir / "s.key").c_str(), 0600);
  BOOST_TEST(seal::SigningKey::fromFile((dir / "s.key").string()).sign(message) == signature);  // deterministic
  // An X25519 key is no signing key, and the other way round.
  BOOST_CHECK_THROW(seal::SigningKey::fromPem(seal::PrivateKey::generate().pem()), seal::KeyError);
  BOOST_CHECK_THROW(seal::PrivateKey::fromPem(sender.pem()), seal::KeyError);
  BOOST_CHECK_THROW(seal::verify(seal::PrivateKey::generate().publicKey().pem(), message, signature), seal::KeyError);
}

// A payload the opening side would refuse is refused when the token is made.
BOOST_AUTO_TEST_CASE(a_payload_over_the_limit_is_refused_when_made) {
  const auto key = seal::PrivateKey::generate();
  BOOST_CHECK_THROW(token::make(key.publicKey(), std::string(token::kMaxPayload + 1, 'x'), 1'900'000'000),
                    std::invalid_argument);
  BOOST_TEST(token::open(token::make(key.publicKey(), std::string(token::kMaxPayload, 'x'), 1'900'000'000), {key},
                         1'800'000'000)
                 .payload.size() == token::kMaxPayload);
}
