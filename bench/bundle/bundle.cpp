// The bridge's bundle codec alone (no transport yet): bundles and records
// written and read per second, 1,000 records per bundle and 1, clear
// (PII-free, LGWAN → internet) and sealed (personal, internet → LGWAN).
// Synthetic records; run by hand (bench/README.md).
#include <cstdio>
#include <string>

#include "bridge_bundle.h"
#include "common/rate.h"

using namespace renkei;
using namespace renkei::connectors::bridge;

int main() {
  const auto signer = seal::SigningKey::generate();
  const auto key = seal::PrivateKey::generate();
  std::printf("kind    records/bundle  bytes/bundle  write bundles/s  read bundles/s  read records/s\n");
  for (const bool sealed : {false, true}) {
    for (const int size : {1000, 1}) {
      Manifest m;
      m.bundleId = "b-1";
      m.sender = "bench";
      m.fromZone = sealed ? "internet" : "lgwan";
      m.toZone = sealed ? "lgwan" : "internet";
      m.recordType = "r";
      m.fields = {{"number", "none"}, {"status", "none"}, {"name", sealed ? "personal" : "none"},
                  {"note", "none"}};
      Rows rows(static_cast<std::size_t>(size),
                {"20261201-0001", "受付", sealed ? "佐藤　大輔" : "-", "転入届の事前申請（書かない窓口）"});
      Policy p;
      p.zone = m.toZone;
      p.recordTypes = {"r"};
      p.sender = seal::VerifyKey::fromPem(signer.publicPem());
      p.keys = {&key};
      const std::string bundle = writeBundle(m, rows, signer, &key.publicKey());
      if (!readBundle(bundle, p).ok()) return 1;
      const double writes = bench::perSecond([&] { writeBundle(m, rows, signer, &key.publicKey()); });
      const double reads = bench::perSecond([&] {
        if (!readBundle(bundle, p).ok()) std::abort();
      });
      std::printf("%-6s  %14d  %12zu  %15.0f  %14.0f  %14.0f\n", sealed ? "sealed" : "clear", size, bundle.size(),
                  writes, reads, reads * size);
    }
  }
  return 0;
}
