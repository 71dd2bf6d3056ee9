// The bridge's bundle format (frontyard.md §2; issue 14's bad-input list as
// far as the format goes): a bundle reads back whole, or is refused whole
// with a reason that names what failed and never a value.
#define BOOST_TEST_MODULE renkei_bridge_bundle
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include "bridge_bundle.h"
#include "mapping/transforms.h"

using namespace renkei;
using namespace renkei::connectors::bridge;

namespace {

struct Zones {
  seal::SigningKey internetSigner = seal::SigningKey::generate(), lgwanSigner = seal::SigningKey::generate();
  seal::PrivateKey lgwanKey = seal::PrivateKey::generate();

  static Manifest manifest(const std::string& from, const std::string& to, const std::string& type,
                           std::vector<Field> fields) {
    Manifest m;
    m.bundleId = "b-000001";
    m.sender = from == "internet" ? "concierge" : "city-lgwan";
    m.fromZone = from;
    m.toZone = to;
    m.sequence = 1;
    m.recordType = type;
    m.fields = std::move(fields);
    m.created = "2026-12-01T00:00:00Z";
    return m;
  }
  /// An online application going into LGWAN: personal, so sealed.
  std::string application(const Rows& rows) const {
    return writeBundle(manifest("internet", "lgwan", "application", {{"id", "none"}, {"name", "personal"}}), rows,
                       internetSigner, &lgwanKey.publicKey());
  }
  /// A waiting-status notice going out to the internet zone: PII-free.
  std::string notice(const Rows& rows) const {
    return writeBundle(manifest("lgwan", "internet", "notice", {{"number", "none"}, {"status", "none"}}), rows,
                       lgwanSigner, nullptr);
  }
  Policy intoLgwan() const {
    Policy p;
    p.zone = "lgwan";
    p.recordTypes = {"application"};
    p.sender = seal::VerifyKey::fromPem(internetSigner.publicPem());
    p.keys = {&lgwanKey};
    return p;
  }
  Policy intoInternet() const {
    Policy p;
    p.zone = "internet";
    p.recordTypes = {"notice"};
    p.sender = seal::VerifyKey::fromPem(lgwanSigner.publicPem());
    return p;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(bundles_read_back_whole_both_ways) {
  Zones z;
  const Rows applications = {{"A-1", "佐藤　大輔"}, {"A-2", "鈴木　花子"}};
  const std::string sealed = z.application(applications);
  BOOST_TEST(sealed.find("佐藤") == std::string::npos);  // a transfer server sees no personal data
  const Verified in = readBundle(sealed, z.intoLgwan());
  BOOST_TEST_REQUIRE(in.ok(), *in.refusal);
  BOOST_TEST(in.manifest.sealed);
  BOOST_TEST(in.manifest.records == 2);
  BOOST_TEST((in.rows == applications));

  const Rows notices = {{"20261201-0001", "受付"}};
  const Verified out = readBundle(z.notice(notices), z.intoInternet());
  BOOST_TEST_REQUIRE(out.ok(), *out.refusal);
  BOOST_TEST(!out.manifest.sealed);
  BOOST_TEST((out.rows == notices));
  BOOST_TEST(readBundle(z.notice({}), z.intoInternet()).ok());  // empty bundles are bundles
}

BOOST_AUTO_TEST_CASE(one_byte_changed_anywhere_refuses_the_whole_bundle) {
  Zones z;
  for (const std::string& bundle : {z.application({{"A-1", "佐藤　大輔"}}), z.notice({{"1", "受付"}})}) {
    const Policy policy = bundle.find("\"to\":\"lgwan\"") != std::string::npos ? z.intoLgwan() : z.intoInternet();
    BOOST_TEST_REQUIRE(readBundle(bundle, policy).ok());
    int refused = 0;
    for (std::size_t i = 0; i < bundle.size(); ++i) {
      std::string changed = bundle;
      changed[i] = changed[i] == 'A' ? 'B' : (changed[i] == '\n' ? ' ' : 'A');
      const Verified v = readBundle(changed, policy);
      if (!v.ok()) ++refused;
      else BOOST_ERROR("byte " << i << " changed and still read");
    }
    BOOST_TEST(refused == static_cast<int>(bundle.size()));
  }
}

BOOST_AUTO_TEST_CASE(what_each_refusal_says) {
  Zones z;
  auto reason = [](const Verified& v) { return v.refusal.value_or("read"); };
  const std::string good = z.application({{"A-1", "佐藤　大輔"}});
  // Signed by another key.
  Policy other = z.intoLgwan();
  other.sender = seal::VerifyKey::fromPem(seal::SigningKey::generate().publicPem());
  BOOST_TEST(reason(readBundle(good, other)).find("signature does not verify") != std::string::npos);
  // A record type not allowed in this direction.
  Policy types = z.intoLgwan();
  types.recordTypes = {"something-else"};
  BOOST_TEST(reason(readBundle(good, types)) == "record type 'application' is not allowed in this direction");
  // Sealed to another LGWAN key.
  const seal::PrivateKey wrong = seal::PrivateKey::generate();
  Policy key = z.intoLgwan();
  key.keys = {&wrong};
  BOOST_TEST(reason(readBundle(good, key)).find("does not open") != std::string::npos);
  // Personal fields bound for the internet zone: refused even when signed.
  const std::string personalOut =
      writeBundle(Zones::manifest("lgwan", "internet", "notice", {{"number", "none"}, {"name", "personal"}}),
                  {{"1", "佐藤"}}, z.lgwanSigner, &z.lgwanKey.publicKey());
  BOOST_TEST(reason(readBundle(personalOut, z.intoInternet())) ==
             "field 'name' is of class personal: the internet zone holds class none only");
  // For another zone.
  BOOST_TEST(reason(readBundle(z.notice({{"1", "x"}}), [&] {
               Policy p = z.intoInternet();
               p.zone = "lgwan";
               p.recordTypes = {"notice"};
               return p;
             }())) == "the bundle is for the internet zone, this is lgwan");
  // Too large, too many records, too large a field: refused whole.
  Policy small = z.intoInternet();
  small.limits.maxBytes = 100;
  BOOST_TEST(reason(readBundle(z.notice({{"1", std::string(200, 'x')}}), small)).find("more than the limit 100") !=
             std::string::npos);
  Policy few = z.intoInternet();
  few.limits.maxRecords = 2;
  BOOST_TEST(reason(readBundle(z.notice({{"1", "a"}, {"2", "b"}, {"3", "c"}}), few)) ==
             "the manifest says 3 records, more than the limit 2");
  Policy narrow = z.intoInternet();
  narrow.limits.maxFieldBytes = 8;
  BOOST_TEST(reason(readBundle(z.notice({{"1", std::string(9, 'x')}}), narrow)) ==
             "record 1, field 'status': 9 bytes, more than the limit 8");
  // A NUL inside a value (escaped in JSON, so the bytes are clean): refused.
  BOOST_TEST(reason(readBundle(z.notice({{"1", std::string("a\0b", 3)}}), z.intoInternet())) ==
             "record 1, field 'status' holds a control character (NUL, line end …)");
  // Invalid UTF-8 and raw control characters, with the byte offset.
  std::string broken = z.notice({{"1", "x"}});
  broken.insert(broken.find("\n") + 3, "\xff");
  BOOST_TEST(reason(readBundle(broken, z.intoInternet())).find("invalid UTF-8 or a control character at byte ") == 0u);
  // Cut short.
  BOOST_TEST(reason(readBundle(good.substr(0, good.size() / 2), z.intoLgwan())) != "read");
  // No refusal quotes a value.
  for (const std::string& r : {reason(readBundle(good, other)), reason(readBundle(personalOut, z.intoInternet()))})
    BOOST_TEST(r.find("佐藤") == std::string::npos);
}

// A sanitiser that rewrites line ends to CRLF or adds a BOM: the bundle is
// read in its canonical form (no BOM, LF), so it still verifies; a bare CR
// (no LF after it) is a change and refused.
BOOST_AUTO_TEST_CASE(crlf_and_a_bom_from_a_sanitiser_still_verify) {
  Zones z;
  const std::string bundle = z.application({{"A-1", "佐藤　大輔"}, {"A-2", "鈴木　花子"}});
  std::string crlf;
  for (char c : bundle) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  BOOST_TEST(readBundle(crlf, z.intoLgwan()).ok());
  BOOST_TEST(readBundle("\xEF\xBB\xBF" + crlf, z.intoLgwan()).ok());
  std::string bareCr = bundle;
  bareCr[bareCr.find('\n')] = '\r';
  BOOST_TEST(!readBundle(bareCr, z.intoLgwan()).ok());
}

BOOST_AUTO_TEST_CASE(a_bundle_of_a_million_records_is_refused_by_its_manifest) {
  Zones z;
  Rows many(1'000'000, std::vector<std::string>{"1", "x"});
  const std::string bundle = z.notice(many);
  Policy p = z.intoInternet();
  p.limits.maxBytes = bundle.size() + 1;  // not the size limit: the record limit refuses it
  BOOST_TEST(readBundle(bundle, p).refusal.value_or("read") ==
             "the manifest says 1000000 records, more than the limit 100000");
}

// Into the internet zone, a manifest that says `none` is not taken on trust:
// every value is scanned with the host's identifier scan (the one mappings
// into that zone use), and a 12-digit number with a valid 個人番号 check digit
// in free text refuses the bundle.
BOOST_AUTO_TEST_CASE(an_identifier_in_free_text_bound_for_the_internet_is_refused) {
  Zones z;
  Policy p = z.intoInternet();
  p.identifierScan = [](std::string_view v) { return renkei::mapping::looksLikeIdentifier(v); };
  // 123456789018: the check digit of 12345678901 is 8 (総務省令第八十五号 第五条).
  const std::string leaked = z.notice({{"1", "お問い合わせ番号 1234 5678 9018 の件"}});
  const Verified v = readBundle(leaked, p);
  BOOST_TEST(v.refusal.value_or("read") ==
             "record 1, field 'status' holds what looks like a 住民票コード or 個人番号; nothing of the kind may "
             "reach the internet zone");
  BOOST_TEST(v.refusal->find("9018") == std::string::npos);  // the value is never quoted
  BOOST_TEST(readBundle(z.notice({{"1", "受付番号 20261201-0001"}}), p).ok());
  // Without the scan (a receiver that has not been given it), the same bundle reads: the scan is what refuses.
  BOOST_TEST(readBundle(leaked, z.intoInternet()).ok());
}

// A signed bundle with a sequence of -1 once wedged its direction for good
// (-1 was also "no row yet", and the store error was retried for ever): a
// sequence outside 1 … 10^15 is refused before anything is stored.
BOOST_AUTO_TEST_CASE(a_sequence_outside_its_bound_is_refused_before_anything_is_stored) {
  Zones z;
  for (const std::int64_t bad : {std::int64_t{-1}, std::int64_t{0}, std::int64_t{-2},
                                 kMaxSequence + 1}) {
    Manifest m = Zones::manifest("lgwan", "internet", "notice", {{"number", "none"}, {"status", "none"}});
    m.sequence = bad;
    const Verified v = readBundle(writeBundle(m, {{"1", "x"}}, z.lgwanSigner, nullptr), z.intoInternet());
    BOOST_TEST(v.refusal.value_or("read") ==
                   "sequence " + std::to_string(bad) + " is not between 1 and 1000000000000000",
               bad);
  }
  Manifest m = Zones::manifest("lgwan", "internet", "notice", {{"number", "none"}, {"status", "none"}});
  m.sequence = kMaxSequence;
  BOOST_TEST(!readBundle(writeBundle(m, {{"1", "x"}}, z.lgwanSigner, nullptr), z.intoInternet()).refusal);
}


// A compromised peer's signed bundle may say anything its format allows:
// 1.7 million fields once cost the receiver 2.4 GB. The manifest's size and
// field count, each record's value count, and every name in it are bounded
// before anything is parsed or allocated for them.
BOOST_AUTO_TEST_CASE(a_hostile_manifest_or_record_is_refused_before_it_costs_memory) {
  Zones z;
  auto peakKiB = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
  };
  Policy p = z.intoInternet();
  // A record of 1.7 million values for a manifest of two fields: a good
  // bundle with its record replaced, its digest and signature made again
  // (what the peer's own key can do).
  Manifest m = Zones::manifest("lgwan", "internet", "notice", {{"number", "none"}, {"status", "none"}});
  const std::string good = writeBundle(m, {{"1", "x"}}, z.lgwanSigner, nullptr);
  std::string manifestLine = good.substr(0, good.find('\n'));
  std::string row = "[";
  for (int i = 0; i < 1'700'000; ++i) row += i ? ",\"\"" : "\"\"";
  row += "]\n";
  const std::string oldSha = seal::sha256Hex("[\"1\",\"x\"]\n");
  BOOST_TEST_REQUIRE(manifestLine.find(oldSha) != std::string::npos);
  manifestLine.replace(manifestLine.find(oldSha), oldSha.size(), seal::sha256Hex(row));
  std::string bundle = manifestLine + "\n" + row;
  bundle += "signature:" + seal::base64Encode(z.lgwanSigner.sign(bundle)) + "\n";
  row.clear();
  row.shrink_to_fit();
  const long before = peakKiB();
  BOOST_TEST(readBundle(bundle, p).refusal.value_or("read") == "record 1 has 1700000 values for 2 fields");
  BOOST_TEST(peakKiB() - before < 50 * 1024);  // the peak grew by less than 50 MiB
  // 1.7 million fields in the manifest: over its size bound.
  std::vector<Field> many(1'700'000, Field{"f", "none"});
  m.fields = many;
  many.clear();
  std::string huge = writeBundle(m, {}, z.lgwanSigner, nullptr);
  m.fields.clear();
  m.fields.shrink_to_fit();
  p.limits.maxBytes = huge.size() + 1;
  BOOST_TEST(readBundle(huge, p).refusal.value_or("read").rfind("the manifest has ", 0) == 0u);
  huge.clear();
  huge.shrink_to_fit();
  // 2,000 short fields fit in 256 KiB: the field count refuses them.
  m.fields.assign(2000, Field{"f", "none"});
  BOOST_TEST(readBundle(writeBundle(m, {}, z.lgwanSigner, nullptr), p).refusal.value_or("read") ==
             "the manifest names 2000 fields, more than the limit 1000");
  // Names bound for log lines and metric labels.
  m = Zones::manifest("lgwan", "internet", "notice", {{"number", "none"}, {"status", "none"}});
  m.fromZone = "lgwan\nrenkei_up 0";
  BOOST_TEST(readBundle(writeBundle(m, {{"1", "x"}}, z.lgwanSigner, nullptr), p).refusal.value_or("read") ==
             "its zones are not two of lgwan, internet and mynumber");
  m.fromZone = "lgwan";
  m.sender = std::string(101, 'a');
  BOOST_TEST(readBundle(writeBundle(m, {{"1", "x"}}, z.lgwanSigner, nullptr), p).refusal.value_or("read").find(
                 "its sender is not a plain name") == 0u);
  m.sender = "city-lgwan";
  m.fields[1].name = "status\r\nx";
  BOOST_TEST(readBundle(writeBundle(m, {{"1", "x"}}, z.lgwanSigner, nullptr), p).refusal.value_or("read") ==
             "a field name is not a plain name");
}
