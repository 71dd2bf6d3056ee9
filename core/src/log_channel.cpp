// The channel every log line passes through: one line per message, bounded.
#include "log_channel.h"

#include <Poco/Message.h>

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

}  // namespace renkei
