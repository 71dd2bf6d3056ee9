// Operators' credentials (core/src/operators.h): scrypt password hashes,
// the RFC 6238 test vectors, base32 (RFC 4648), one-time passwords, ids.
#define BOOST_TEST_MODULE renkei_operators
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <set>

#include "operators.h"

using namespace renkei::operators;

BOOST_AUTO_TEST_CASE(passwords_are_hashed_with_scrypt_and_checked) {
  const std::string stored = hashPassword("correct horse battery staple");
  BOOST_TEST(stored.rfind("scrypt$32768$8$1$", 0) == 0u, stored);
  BOOST_TEST(checkPassword("correct horse battery staple", stored));
  BOOST_TEST(!checkPassword("correct horse battery stapl", stored));
  BOOST_TEST(!checkPassword("", stored));
  // Salted: the same password never hashes the same twice.
  BOOST_TEST(hashPassword("correct horse battery staple") != stored);
  // A stored hash that is not renkei's, or asks for a cost it never writes.
  BOOST_TEST(!checkPassword("x", "plain"));
  BOOST_TEST(!checkPassword("x", "scrypt$1073741824$8$1$c2FsdA==$" + std::string(44, 'A')));
  BOOST_TEST(!checkPassword("x", "scrypt$32768$8$1$!!!$???"));
  // The stated cost: about a tenth of a second here, never nothing.
  const auto t0 = std::chrono::steady_clock::now();
  checkPassword("correct horse battery staple", stored);
  const auto took = std::chrono::steady_clock::now() - t0;
  const double ms = std::chrono::duration<double>(took).count() * 1000;
  BOOST_TEST_MESSAGE("one scrypt (N=2^15 r=8 p=1): " << ms << " ms");
  BOOST_TEST((took > std::chrono::milliseconds(10)));
  // An unknown id costs the same work.
  const auto t1 = std::chrono::steady_clock::now();
  BOOST_TEST(!checkNoPassword("anything"));
  BOOST_TEST((std::chrono::steady_clock::now() - t1 > std::chrono::milliseconds(10)));
}

BOOST_AUTO_TEST_CASE(totp_codes_are_rfc_6238s) {
  // RFC 6238 appendix B, SHA-1, 8 digits, secret "12345678901234567890".
  const std::string secret = "12345678901234567890";
  const std::pair<std::int64_t, const char*> vectors[] = {{59, "94287082"},         {1111111109, "07081804"},
                                                          {1111111111, "14050471"}, {1234567890, "89005924"},
                                                          {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const auto& [time, code] : vectors) BOOST_TEST(totpCode(secret, time / 30, 8) == code, time);
  // Six digits, the step before and after accepted, nothing else.
  const std::int64_t step = 1111111109 / 30;
  BOOST_TEST(totpCode(secret, step) == "081804");
  BOOST_TEST(totpMatch(secret, "081804", step).value_or(0) == step);
  BOOST_TEST(totpMatch(secret, "081804", step + 1).value_or(0) == step);
  BOOST_TEST(!totpMatch(secret, "081804", step + 2).has_value());
  BOOST_TEST(!totpMatch(secret, "81804", step).has_value());
  BOOST_TEST(!totpMatch(secret, "08180a", step).has_value());
  BOOST_TEST(totpUri("city", "kakaricho", secret) ==
             "otpauth://totp/renkei%20city:kakaricho?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=renkei&algorithm=SHA1"
             "&digits=6&period=30");
}

BOOST_AUTO_TEST_CASE(base32_is_rfc_4648s) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},           {"f", "MY"},          {"fo", "MZXQ"},
                                                         {"foo", "MZXW6"},   {"foob", "MZXW6YQ"},  {"fooba", "MZXW6YTB"},
                                                         {"foobar", "MZXW6YTBOI"}};
  for (const auto& [plain, encoded] : vectors) {
    BOOST_TEST(base32(plain) == encoded);
    BOOST_TEST(fromBase32(encoded).value_or("?") == plain);
  }
  BOOST_TEST(!fromBase32("MZ!W").has_value());
}

BOOST_AUTO_TEST_CASE(one_time_passwords_and_ids) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string p = oneTimePassword();
    BOOST_TEST(p.size() == 20u);
    BOOST_TEST(p.find_first_of("0O1lIio") == std::string::npos, p);  // no look-alikes
    seen.insert(p);
  }
  BOOST_TEST(seen.size() == 200u);
  BOOST_TEST(randomSecret(20).size() == 20u);
  BOOST_TEST(validId("kakaricho.tanaka"));
  BOOST_TEST(!validId("Tanaka"));
  BOOST_TEST(!validId(""));
  BOOST_TEST(!validId("a b"));
  BOOST_TEST(!validId(std::string(65, 'a')));
  BOOST_TEST(needsSecondFactor({"view", "audit"}));
  BOOST_TEST(!needsSecondFactor({"view", "operate", "review"}));
}
