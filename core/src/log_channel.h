// The channel every log line passes through: one line per message, bounded.
#pragma once

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>

#include <cstdint>

namespace renkei {

/// Wraps the console (or any) channel: each message's text goes through
/// renkei::printable() before it is formatted, so a file name, a certificate
/// name or a reason that quotes outside input can neither start a new log
/// line nor make one larger than kMaxLogText bytes. Messages that the host
/// writes over several lines on purpose use several log calls.
/// Lines the access log (`renkei.access`) has written on this thread so
/// far: lets the API write its own line for a call only when the handler
/// (the host's or a plugin's) wrote none.
std::uint64_t accessLinesOnThisThread();

/// Every logger to stderr through an EscapingChannel, each line with its
/// local time and offset, priority and logger name.
void useTimestampedConsole();

class EscapingChannel : public Poco::Channel {
 public:
  static constexpr std::size_t kMaxLogText = 4096;
  explicit EscapingChannel(Poco::AutoPtr<Poco::Channel> next) : next_(std::move(next)) {}
  void open() override { next_->open(); }
  void close() override { next_->close(); }
  void log(const Poco::Message& msg) override;

 private:
  Poco::AutoPtr<Poco::Channel> next_;
};

}  // namespace renkei
