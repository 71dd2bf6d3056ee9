// Sealed visit tokens: seal (make) and open per second, and the token text's
// length for households of 1, 4 and 8 members with the QR version (level M,
// alphanumeric mode) it needs. Synthetic members; run by hand (bench/README.md).
#include <cstdio>
#include <string>
#include <vector>

#include "common/rate.h"
#include "renkei/support/token.h"

namespace {

// Alphanumeric capacity of QR versions 1-40 at error correction level M.
const int kCapacityM[40] = {20,   38,   61,   90,   122,  154,  178,  221,  262,  311,  366,  419,  483,  528,
                            600,  656,  734,  816,  909,  970,  1035, 1134, 1248, 1326, 1451, 1542, 1637, 1732,
                            1839, 1994, 2113, 2238, 2369, 2506, 2632, 2780, 2894, 3054, 3220, 3391};

int qrVersion(std::size_t length) {
  for (int v = 0; v < 40; ++v)
    if (length <= static_cast<std::size_t>(kCapacityM[v])) return v + 1;
  return 0;
}

// What a 転入 pre-application carries (frontyard.md §3): token id, issue and
// expiry, life event, procedures, planned move date, old and new address,
// and each member's 4 情報.
std::string household(int members) {
  static const char* names[] = {"佐藤　大輔", "佐藤　恵子", "佐藤　湊", "佐藤　陽菜",
                                "佐藤　一郎", "佐藤　和子", "佐藤　蓮", "佐藤　結衣"};
  std::string p = "{\"id\":\"8f2c1e9a-4b7d-4e21-9c3a-5d6e7f809a1b\",\"issued\":1796000000,\"event\":\"転入\","
                  "\"procedures\":[\"jumin-tennyu\",\"kokuho-kanyu\",\"jidou-teate\",\"gakkou\"],"
                  "\"move\":\"2026-12-01\",\"old\":\"大阪府大阪市北区若葉６丁目１６番９号\","
                  "\"new\":\"東京都世田谷区中央１丁目２番３号　メゾン中央２０１号\",\"members\":[";
  for (int i = 0; i < members; ++i)
    p += std::string(i ? "," : "") + "{\"name\":\"" + names[i] + "\",\"kana\":\"サトウ　ダイスケ\",\"birth\":\"19" +
         std::to_string(60 + i * 5) + "-05-17\",\"sex\":\"" + (i % 2 ? "2" : "1") + "\",\"rel\":\"" +
         (i ? "05" : "02") + "\"}";
  return p + "]}";
}


}  // namespace

int main() {
  using namespace renkei;
  const auto key = seal::PrivateKey::generate();
  const std::vector<seal::PrivateKey> keys{key};
  const std::int64_t now = 1'796'000'000;
  std::printf("members  payload-bytes  token-chars  qr-version(M)  seal/s  open/s\n");
  for (int members : {1, 4, 8}) {
    const std::string payload = household(members);
    const std::string text = token::make(key.publicKey(), payload, now + 7 * 86400);
    const double seals = bench::perSecond([&] { token::make(key.publicKey(), payload, now + 7 * 86400); });
    const double opens = bench::perSecond([&] {
      if (!token::open(text, keys, now).ok()) std::abort();
    });
    const int version = qrVersion(text.size());
    std::printf("%7d  %13zu  %11zu  %13s  %6.0f  %6.0f\n", members, payload.size(), text.size(),
                version ? std::to_string(version).c_str() : "none (>3391)", seals, opens);
  }
  return 0;
}
