// How much a TCP peer has sent so far: lets the API tell a window system in
// the middle of its handshake from a connection that sends nothing.
#pragma once

#include <cstdint>

namespace renkei {

/// Bytes received on the connected TCP socket `fd` so far (the kernel's
/// count, TCP_INFO), or 0 when the kernel does not say.
std::uint64_t tcpBytesReceived(int fd);

}  // namespace renkei
