// How much a TCP peer has sent so far (kept apart: <linux/tcp.h> and the C
// library's <netinet/tcp.h> do not mix).
#include "tcp_progress.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace renkei {

std::uint64_t tcpBytesReceived(int fd) {
  struct tcp_info info {};
  socklen_t length = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return 0;
  if (length < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) return 0;
  return info.tcpi_bytes_received;
}

}  // namespace renkei
