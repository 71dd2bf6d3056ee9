// What the ai connector keeps of the questions it was asked, in the host's
// store: each question and answer masked (as the model saw them, the
// city's own values masked too), for as long as `log-retention` says, and
// counts per day, channel, topic and outcome kept without any text — the
// city's KPI (questions per topic, the handoff rate, answers with sources).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "renkei/state.h"

namespace renkei::connectors::ai {

struct LoggedAsk {
  std::int64_t atMs = 0;
  std::string day;      ///< YYYY-MM-DD in the instance's zone
  std::string channel;  ///< staff, resident
  std::string topic;    ///< a configured topic, "other" or ""
  std::string caller;   ///< a certificate's name, "concierge"
  std::string outcome;  ///< answer, handoff, model-failed, refused
  std::string question, answer;  ///< masked; empty when texts are not kept
  std::string sources;  ///< "file / heading" lines
  std::string masked;   ///< "phone=1 name=2"
  bool modelCalled = false;
  std::int64_t millis = 0;  ///< the time the answer took
};

struct AskCount {
  std::string channel, topic;
  std::int64_t questions = 0, answered = 0, handedOff = 0, modelFailed = 0, refused = 0;
};

class AskLog {
 public:
  explicit AskLog(StateStore& state) : state_(state) {}
  /// Creates or brings the tables up to date. Throws StateError.
  void migrate();
  /// Keeps one question (its texts only when `keepTexts`) and counts it, in
  /// one transaction; returns its id.
  std::int64_t record(const LoggedAsk& ask, bool keepTexts);
  /// Erases the questions asked before `beforeMs` (their counts stay);
  /// returns how many.
  std::int64_t purge(std::int64_t beforeMs);
  /// The counts of the days from `fromDay` to `toDay` (YYYY-MM-DD, both
  /// included), by channel and topic.
  std::vector<AskCount> counts(const std::string& fromDay, const std::string& toDay);
  /// The kept questions, newest first (for the tests and an export).
  std::vector<LoggedAsk> recent(std::size_t limit);

 private:
  StateStore& state_;
};

}  // namespace renkei::connectors::ai
