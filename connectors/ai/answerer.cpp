#include "answerer.h"

#include <set>

#include "renkei/support/pii_guard.h"

namespace renkei::connectors::ai {

Answer Answerer::ask(const std::string& question, const std::string& topic, const std::vector<std::string>& names,
                     const std::function<void(std::string_view)>& onText) {
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
    a.loggedQuestion = pii::Masker().mask(question, names);
    a.loggedAnswer = a.text;
    if (onText) onText(a.text);
    return a;
  }
  const std::string asked = masker.mask(question, names);
  a.loggedQuestion = asked;
  // The knowledge is searched for what was asked, not for the placeholders
  // (their words, 電話番号, would count against the passages).
  std::string searched = asked;
  for (std::size_t open; (open = searched.find("〔")) != std::string::npos;) {
    const std::size_t close = searched.find("〕", open);
    if (close == std::string::npos) break;
    searched.replace(open, close + 3 - open, " ");
  }
  const auto hits = index_.search(searched, options_.passages);
  const auto handOff = [&](std::string error) {
    a.error = std::move(error);
    a.handoff = true;
    a.text = a.loggedAnswer = handoffText();
    a.masked = counts();
    if (onText) onText(a.text);
    return a;
  };
  // Nothing in the city's knowledge answers it: a person does, not a guess.
  if (hits.empty() || hits.front().coverage < options_.minCoverage) return handOff("");
  std::string context = options_.instructions.empty()
                            ? "あなたは市役所の案内係です。次の資料だけを使って、日本語で簡潔に答えてください。"
                              "資料に答えがないときは「窓口でおたずねください」と答えてください。"
                            : options_.instructions;
  // Values in the city's own pages (a counter's phone number) are masked
  // on the way to the model like any other, and put back in its answer.
  std::set<std::string> published;
  for (const auto& h : hits) {
    if (h.coverage < options_.minCoverage / 2) continue;  // far off: not given to the model
    const std::string text = masker.mask(h.passage.text, names);
    for (const std::string& p : masker.placeholdersIn(text)) published.insert(p);
    context += "\n\n【" + h.passage.source + " / " + h.passage.heading + "】\n" + text;
    a.sources.push_back({h.passage.source, h.passage.heading});
  }
  a.modelCalled = true;
  std::string received;      // the model's answer as it came
  std::size_t released = 0;  // bytes of it handed on
  const auto release = [&](std::size_t end) {
    const std::string masked = masker.mask(std::string_view(received).substr(released, end - released), names);
    a.loggedAnswer += masked;
    const std::string shown = masker.restore(masked, published);
    a.text += shown;
    released = end;
    onText(shown);
  };
  std::function<void(std::string_view)> onDelta;
  if (onText)
    onDelta = [&](std::string_view piece) {
      const std::size_t before = received.size();
      received.append(piece);
      constexpr std::size_t kAfter = 48;  // bytes seen after a sentence's end before it goes
      if (received.size() < kAfter) return;
      const std::size_t pos = received.rfind("。", received.size() - kAfter);
      if (pos == std::string::npos || pos + 3 <= released) return;
      // Only when a new sentence end has come into reach: a long run with
      // none is not scanned again for every piece.
      if (before >= kAfter && received.rfind("。", before - kAfter) == pos) return;
      const std::size_t end = pos + 3;
      const std::string_view pending = std::string_view(received).substr(released);
      for (const auto& f : pii::scan(pending, names))
        if (released + f.begin < end && released + f.end > end) return;  // a value across the end: wait
      release(end);
    };
  const ChatResult r = client_.complete({{"system", context}, {"user", asked}}, onDelta);
  if (!r.ok) {
    if (released == 0) return handOff(r.error);
    // Part of the answer went out: the rest is the handoff, said so.
    a.error = r.error;
    a.handoff = true;
    const std::string rest = "\n" + handoffText();
    a.text += rest;
    a.loggedAnswer += rest;
    onText(rest);
    a.masked = counts();
    return a;
  }
  if (onText) {
    received = r.text;  // the whole answer, as the stream built it
    if (released < received.size()) release(received.size());
  } else {
    a.loggedAnswer = masker.mask(r.text, names);  // the answer is scanned too
    a.text = masker.restore(a.loggedAnswer, published);
  }
  a.masked = counts();
  return a;
}

}  // namespace renkei::connectors::ai
