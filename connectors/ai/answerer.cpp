#include "answerer.h"

#include "renkei/support/pii_guard.h"

namespace renkei::connectors::ai {

Answer Answerer::ask(const std::string& question, const std::string& topic, const std::vector<std::string>& names) {
  Answer a;
  const auto handoffText = [&] {
    auto it = options_.handoffByTopic.find(topic);
    return it != options_.handoffByTopic.end() ? it->second : options_.handoff;
  };
  pii::Masker masker;
  const auto found = pii::scan(question, names);
  const auto counts = [&] {
    std::map<std::string, int> out;
    for (const auto& [kind, n] : masker.counts()) out[pii::kindName(kind)] = n;
    return out;
  };
  if (!found.empty() && options_.refusePersonal) {
    std::string kinds;
    for (const auto& f : found)
      if (kinds.find(pii::kindLabel(f.kind)) == std::string::npos) kinds += (kinds.empty() ? "" : "、") + std::string(pii::kindLabel(f.kind));
    a.refused = true;
    a.text = "個人を特定できる情報（" + kinds + "）を含む質問にはお答えできません。その部分を除いてお尋ねください。";
    for (const auto& f : found) ++a.masked[pii::kindName(f.kind)];
    return a;
  }
  const std::string asked = masker.mask(question, names);
  const auto hits = index_.search(asked, options_.passages);
  if (hits.empty() || hits.front().coverage < options_.minCoverage) {
    // Nothing in the city's knowledge answers it: a person does, not a guess.
    a.handoff = true;
    a.text = handoffText();
    a.masked = counts();
    return a;
  }
  std::string context = options_.instructions.empty()
                            ? "あなたは市役所の案内係です。次の資料だけを使って、日本語で簡潔に答えてください。"
                              "資料に答えがないときは「窓口でおたずねください」と答えてください。"
                            : options_.instructions;
  for (const auto& h : hits) {
    if (h.coverage < options_.minCoverage / 2) continue;  // far off: not given to the model
    context += "\n\n【" + h.passage.source + " / " + h.passage.heading + "】\n" + masker.mask(h.passage.text, names);
    a.sources.push_back({h.passage.source, h.passage.heading});
  }
  a.modelCalled = true;
  const ChatResult r = client_.complete({{"system", context}, {"user", asked}});
  if (!r.ok) {
    a.error = r.error;
    a.handoff = true;
    a.text = handoffText();
    a.masked = counts();
    return a;
  }
  a.text = masker.mask(r.text, names);  // the answer is scanned too
  a.masked = counts();
  return a;
}

}  // namespace renkei::connectors::ai
