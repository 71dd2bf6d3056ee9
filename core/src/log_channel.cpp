// The channel every log line passes through: one line per message, bounded.
#include "log_channel.h"

#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>

#include <iostream>

#include "renkei/text.h"

namespace renkei {

namespace {
thread_local std::uint64_t accessLines = 0;
}  // namespace

std::uint64_t accessLinesOnThisThread() { return accessLines; }

void EscapingChannel::log(const Poco::Message& msg) {
  if (msg.getSource() == "renkei.access") ++accessLines;
  Poco::Message safe(msg);
  safe.setText(printable(msg.getText(), kMaxLogText));
  next_->log(safe);
}

void useTimestampedConsole() {
  Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel(std::cerr));
  Poco::AutoPtr<Poco::PatternFormatter> pattern(new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i%z %p %s: %t"));
  // Local time with its offset (the configured time-zone once the config is
  // read): "2026-12-07 10:30:00.123+09:00 Information renkei.host: …".
  pattern->setProperty("times", "local");
  Poco::AutoPtr<Poco::FormattingChannel> formatted(new Poco::FormattingChannel(pattern, console));
  // Every message escaped and bounded before it is formatted (file and
  // certificate names are outside input).
  Poco::AutoPtr<EscapingChannel> channel(new EscapingChannel(formatted));
  Poco::Logger::setChannel("", channel);
}

}  // namespace renkei
