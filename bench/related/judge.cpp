// The related-procedure judgement per register event, as the crm module
// runs it (guidance::judge on the shipped knowledge and rules, the demo
// calendar): households of 1 to 5 members with random ages and facts
// (kokuho_member, jidou_teate_recipient, kouki_member, kaigo_certified,
// inkan_registered …), events 転出, 死亡 and 出生 on dates across 2026-2027.
// Prints p50, p99 and max per judgement and judgements per second.
//
//   renkei-bench-related [--events 100000] [--source DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "renkei/support/calendar_file.h"
#include "renkei/support/guidance.h"

using namespace renkei;

int main(int argc, char** argv) {
  int events = 100000;
  std::string source = RENKEI_SOURCE_DIR;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) events = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--source") == 0) source = argv[i + 1];
  }
  Diagnostics diags;
  auto knowledge = guidance::loadKnowledge(source + "/config/concierge/knowledge.xml", diags);
  auto rules = knowledge ? guidance::loadRules(source + "/config/concierge/related-procedures.xml", *knowledge, diags)
                         : nullptr;
  auto cal = loadCalendar(source + "/config/calendar/demo-city.xml", diags);
  if (!knowledge || !rules || !cal) {
    std::fprintf(stderr, "%s", diags.format().c_str());
    return 1;
  }
  const std::vector<std::string> flags{"kokuho_member",   "jidou_teate_recipient", "kouki_member", "kaigo_certified",
                                       "kaigo_insured",   "inkan_registered",      "fukushi_iryo_recipient"};
  const std::vector<std::string> kinds{"tenshutsu", "shibou", "shussei"};
  const std::map<std::string, std::string> parameters{{"child-medical-age", "15"}};
  std::mt19937 random(7);
  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(events));
  std::size_t found = 0;
  for (int n = 0; n < events; ++n) {
    guidance::Household h;
    h.event = kinds[static_cast<std::size_t>(n) % kinds.size()];
    h.moveDate = calendar::Date{2026 + n % 2, 1 + n % 12, 1 + n % 28};
    h.facts["to-other-prefecture"] = "unknown";
    const int members = 1 + static_cast<int>(random() % 5);
    for (int m = 0; m < members; ++m) {
      guidance::MemberFacts f;
      f.age = static_cast<int>(random() % 90);
      for (const std::string& flag : flags)
        if (random() % 4 == 0) f.flags.insert(flag);
      h.members.push_back(std::move(f));
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto outcomes = guidance::judge(*knowledge, rules.get(), *cal, h, parameters);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    found += outcomes.size();
  }
  std::vector<double> sorted = micros;
  std::sort(sorted.begin(), sorted.end());
  double total = 0;
  for (double m : micros) total += m;
  auto at = [&](double p) { return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()))]; };
  std::printf("%d judgements (%zu procedures found): p50 %.1f us, p99 %.1f us, max %.1f us, %.0f judgements/s\n", events,
              found, at(0.50), at(0.99), sorted.back(), events / (total / 1e6));
  return 0;
}
