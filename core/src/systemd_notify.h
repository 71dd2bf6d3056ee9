// systemd's notification protocol (sd_notify(3)), spoken directly: one
// datagram to $NOTIFY_SOCKET per state ("READY=1", "WATCHDOG=1", …). Not
// under systemd (no NOTIFY_SOCKET) every call is a no-op, so the same
// binary runs by hand, from the demo and in the tests. No libsystemd: the
// protocol is a socket and a line of text.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace renkei::systemd {

/// Sends `state` (lines of KEY=VALUE) to the service manager. False when
/// there is none, or it could not be told (said nowhere: the caller logs).
bool notify(const std::string& state);

/// The watchdog interval systemd expects a WATCHDOG=1 within (WatchdogSec=,
/// as $WATCHDOG_USEC for this process); none when no watchdog is set.
std::optional<std::chrono::microseconds> watchdogInterval();

}  // namespace renkei::systemd
