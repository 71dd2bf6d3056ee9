// An SMTP client conversation with a deadline and bounds (RFC 5321): what
// the mail connector (and any later sender of operator mail) speaks to the
// municipality's relay. Written here rather than taken from POCO's
// SMTPClientSession because a relay that closes in the middle of a
// multi-line reply makes POCO's reply loop spin for ever on the closed socket
// (a core busy, memory growing, the delivery worker never back), and a relay
// may send replies of any length: here every reply must be complete within
// the time-out from its command, and is bounded in lines and bytes.
#pragma once

#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace renkei::connectors::smtp {

/// The most a server may send as one reply: a line (with CRLF), the lines
/// of a multi-line reply, all of them. RFC 5321 allows 512 octets a line;
/// the rest is room for relays that say more.
constexpr std::size_t kMaxReplyLineBytes = 2048;
constexpr std::size_t kMaxReplyLines = 100;
constexpr std::size_t kMaxReplyBytes = 32 * 1024;

struct Server {
  std::string host;
  std::uint16_t port = 25;
  bool starttls = false;         ///< upgrade with STARTTLS after EHLO (required when set)
  std::filesystem::path ca;      ///< certificate authorities for STARTTLS; empty: the system's
  std::string username;          ///< AUTH LOGIN when not empty
  std::string password;
  std::string helo = "renkei";   ///< the name sent with EHLO
  /// Connecting, and each reply from its command to its last line: a relay
  /// that answers slowly byte by byte is cut off at this time too.
  std::chrono::milliseconds timeout{30'000};
};

/// What went wrong, and what that means for sending again.
class Error : public std::runtime_error {
 public:
  enum class Kind {
    Transient,  ///< nothing of the message was accepted; try again later
    Permanent,  ///< a 5xx reply: the same message will be refused again
    Uncertain,  ///< the message was sent whole and the reply to it lost: it may have been accepted
  };
  Error(Kind kind, int code, const std::string& what) : std::runtime_error(what), kind_(kind), code_(code) {}
  Kind kind() const { return kind_; }
  int code() const { return code_; }  ///< the server's reply code, 0 when there was none

 private:
  Kind kind_;
  int code_;
};

/// One conversation: connects, reads the greeting, EHLO (HELO when refused),
/// STARTTLS and AUTH as configured. Throws Error. Not thread-safe; one per
/// delivery.
class Session {
 public:
  explicit Session(const Server& server);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Sends one message: `message` is its header and body with CRLF line
  /// ends (no line over 998 bytes); dots are stuffed here. Throws Error;
  /// Uncertain only when the whole message was sent and its reply did not
  /// come.
  void send(const std::string& from, const std::vector<std::string>& to, const std::string& message);
  /// QUIT, politely; errors ignored (the messages are already accepted).
  void quit();

  /// Whether an address may be put into a command as it is (no controls,
  /// spaces or angle brackets; one @).
  static bool plainAddress(const std::string& address);

 private:
  struct Reply {
    int code = 0;
    std::string text;  ///< the lines joined by " | ", cut to 500 bytes for messages
  };
  Reply command(const std::string& line, const char* what);
  Reply readReply(const char* what, bool afterData = false);
  void writeAll(const std::string& bytes, const char* what);
  [[noreturn]] void fail(const Reply& reply, const char* what);
  std::string where() const;

  Server server_;
  Poco::Net::StreamSocket socket_;
  std::string buffer_;  ///< bytes read and not yet taken
  std::vector<std::string> capabilities_;
};

}  // namespace renkei::connectors::smtp
