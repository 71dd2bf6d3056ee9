// One question answered the guarded way: the PII guard on the question
// (refused, or masked with stable placeholders), the city's knowledge
// searched, a question no passage covers enough handed to a person without
// calling the model, otherwise the model asked with the passages (masked
// too) and told to answer from them alone, and its answer scanned before
// it is returned, with the passages' files and headings as its sources.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "chat_client.h"
#include "knowledge_index.h"

namespace renkei::connectors::ai {

struct AnswerOptions {
  std::size_t passages = 3;   ///< passages given to the model
  double minCoverage = 0.4;   ///< below this share of the question's terms in the best passage: hand off
  bool refusePersonal = false;  ///< a question holding personal data: refused (else masked)
  std::string handoff;        ///< what to say when handing off (the counter, the phone number)
  std::map<std::string, std::string> handoffByTopic;  ///< the same per topic
  std::string instructions;   ///< the system prompt before the passages
};

struct AnswerSource {
  std::string file, heading;
};

struct Answer {
  std::string text;
  std::vector<AnswerSource> sources;
  bool handoff = false;       ///< the text is the handoff, not the model's
  bool refused = false;       ///< the question held personal data and refusing is configured
  bool modelCalled = false;
  std::string error;          ///< the model's failure, when it failed (then handed off)
  std::map<std::string, int> masked;  ///< values masked, by kind (question, passages and answer)
  std::string loggedQuestion;  ///< the question as sent (masked): what a log may keep
  std::string loggedAnswer;    ///< the answer with every value masked, the city's own too
};

class Answerer {
 public:
  Answerer(const KnowledgeIndex& index, ChatClient& client, AnswerOptions options)
      : index_(index), client_(client), options_(std::move(options)) {}
  /// `names`: values of personal fields of a record the question is about
  /// (a staff member's context), masked wherever they appear. With
  /// `onText`, the model is asked for a stream and the answer is handed on
  /// a sentence at a time, each scanned and masked before it goes (a
  /// sentence is held until 48 more bytes have come, so a value written
  /// across its end is seen whole); the answer's text is what was handed on.
  Answer ask(const std::string& question, const std::string& topic = "", const std::vector<std::string>& names = {},
             const std::function<void(std::string_view)>& onText = {});

 private:
  const KnowledgeIndex& index_;
  ChatClient& client_;
  AnswerOptions options_;
};

}  // namespace renkei::connectors::ai
