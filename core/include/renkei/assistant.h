// Assistants plugins offer one another (SDK ABI 19): the ai connector
// offers the city's guarded question answering (the PII guard, the
// knowledge, the handoff) under its instance id, and a module serving
// people finds it there — the concierge's question box for residents, the
// host's API for the staff's AI ナビ. Neither plugin reads the other's
// state; the host keeps the directory.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace renkei {

struct AssistantQuestion {
  std::string text;     ///< what was asked, as typed (the assistant guards it)
  std::string topic;    ///< the topic the asker chose ("gomi"), or "": picks the topic's handoff
  std::string channel;  ///< "staff" (AI ナビ) or "resident" (the concierge): counted apart
  std::string caller;   ///< who asks, for the log: a certificate name, a session (never a person's data)
  /// When set, the answer's text in pieces as it comes (each piece already
  /// scanned and masked); the returned answer holds the whole text either
  /// way. Called on the asking thread.
  std::function<void(std::string_view)> onText;
};

struct AssistantSource {
  std::string file;     ///< the knowledge page ("gomi.md") or record type
  std::string heading;  ///< its heading path ("ごみの出し方 > 粗大ごみ")
};

struct AssistantAnswer {
  enum class Kind {
    Answer,   ///< built from the city's knowledge by the model; `sources` says from where
    Handoff,  ///< no knowledge covers it (or the model failed): `text` names the counter or phone
    Refused,  ///< it held personal data and the assistant refuses such questions
  };
  Kind kind = Kind::Handoff;
  std::string text;
  std::vector<AssistantSource> sources;
  std::map<std::string, int> masked;  ///< values masked, by kind ("phone" → 1)
  std::string id;                     ///< the log entry's id, for a follow-up ("was this useful?")
};

class Assistant {
 public:
  virtual ~Assistant() = default;
  /// Answers one question. Runs on the caller's thread, several at once;
  /// bounded by the assistant's own time-out. Never throws for what the
  /// model or the knowledge did: that is a handoff. Throws StateError when
  /// the store cannot log it: nothing is answered unlogged (with `onText`,
  /// pieces may have gone before: end the stream with an error).
  virtual AssistantAnswer ask(const AssistantQuestion& question) = 0;
  /// The topics with their own handoff, for a front end's choice.
  virtual std::vector<std::string> topics() const = 0;
  /// The longest ask() takes (the model's time-out, retries included): a
  /// front end's own request deadline must be longer.
  virtual std::chrono::milliseconds timeout() const = 0;
};

class AssistantDirectory {
 public:
  virtual ~AssistantDirectory() = default;
  /// Offers `id` (the offering instance's id), from configure(). Throws
  /// std::invalid_argument when it is offered already.
  virtual void offer(const std::string& id, std::shared_ptr<Assistant> assistant) = 0;
  /// The assistant offered as `id`, or nullptr. Complete once every
  /// instance is configured (from start()).
  virtual std::shared_ptr<Assistant> find(const std::string& id) const = 0;
};

}  // namespace renkei
