// The channel every log line passes through: one line per message, bounded.
#include "log_channel.h"

#include <Poco/Message.h>

#include "renkei/text.h"

namespace renkei {

void EscapingChannel::log(const Poco::Message& msg) {
  Poco::Message safe(msg);
  safe.setText(printable(msg.getText(), kMaxLogText));
  next_->log(safe);
}

}  // namespace renkei
