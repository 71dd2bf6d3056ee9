// Outcomes: what a plugin returns to the host instead of throwing on the data path.
#pragma once

#include <string>
#include <utility>

namespace renkei {

/// Result of one plugin operation on data. The host owns what follows:
/// `Ok` commits, `Retry` schedules the same work again later (backoff is the
/// host's), `Error` gives up on the item and records the message.
/// The message must never contain personal values (names, numbers, addresses).
class Outcome {
 public:
  enum class Status { Ok, Retry, Error };

  static Outcome ok() { return Outcome(Status::Ok, {}); }
  static Outcome retry(std::string message) { return Outcome(Status::Retry, std::move(message)); }
  static Outcome error(std::string message) { return Outcome(Status::Error, std::move(message)); }

  Status status() const { return status_; }
  bool isOk() const { return status_ == Status::Ok; }
  const std::string& message() const { return message_; }

 private:
  Outcome(Status status, std::string message) : status_(status), message_(std::move(message)) {}

  Status status_;
  std::string message_;
};

}  // namespace renkei
