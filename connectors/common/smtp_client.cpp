// The SMTP conversation (smtp_client.h): every reply read against a
// deadline from its command, bounded in lines and bytes, so neither a relay
// that stops in mid-reply nor one that talks without end holds a delivery.
#include "smtp_client.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace renkei::connectors::smtp {
namespace {

using Clock = std::chrono::steady_clock;

std::string base64(const std::string& text) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << text;
  encoder.close();
  return out.str();
}

/// Bytes from a server shown in a message: printable ASCII kept, the rest
/// as '?', at most `limit` bytes.
std::string shown(const std::string& text, std::size_t limit = 500) {
  std::string out;
  for (char c : text) {
    if (out.size() >= limit) {
      out += "…";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

Poco::Timespan span(std::chrono::microseconds us) { return Poco::Timespan(std::max<std::int64_t>(us.count(), 1000)); }

}  // namespace

bool Session::plainAddress(const std::string& address) {
  if (address.empty() || address.size() > 254) return false;
  if (std::count(address.begin(), address.end(), '@') != 1 || address.front() == '@' || address.back() == '@')
    return false;
  return std::none_of(address.begin(), address.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '\\';
  });
}

std::string Session::where() const { return "SMTP " + server_.host + ":" + std::to_string(server_.port); }

Session::Session(const Server& server) : server_(server) {
  const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(server_.timeout);
  try {
    socket_.connect(Poco::Net::SocketAddress(server_.host, server_.port), span(timeout));
    socket_.setSendTimeout(span(timeout));
    socket_.setNoDelay(true);
  } catch (const Poco::Exception& e) {
    throw Error(Error::Kind::Transient, 0, where() + ": cannot connect: " + shown(e.displayText()));
  }
  Reply greeting = readReply("the greeting");
  if (greeting.code != 220) fail(greeting, "the greeting");
  Reply hello = command("EHLO " + server_.helo, "EHLO");
  if (hello.code == 250) {
    // Capabilities: each line after the first, its first word.
    std::istringstream lines(hello.text);
    std::string line;
    bool first = true;
    while (std::getline(lines, line, '|')) {
      if (!first) {
        std::string word;
        std::istringstream(line) >> word;
        std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::toupper(c); });
        capabilities_.push_back(word);
      }
      first = false;
    }
  } else if (!server_.starttls && (hello.code == 500 || hello.code == 502)) {
    // An old relay: HELO (no extensions, so no STARTTLS).
    Reply old = command("HELO " + server_.helo, "HELO");
    if (old.code != 250) fail(old, "HELO");
  } else {
    fail(hello, "EHLO");
  }
  if (server_.starttls) {
    if (std::find(capabilities_.begin(), capabilities_.end(), "STARTTLS") == capabilities_.end())
      throw Error(Error::Kind::Transient, 0, where() + ": the server does not offer STARTTLS (starttls is set)");
    Reply ready = command("STARTTLS", "STARTTLS");
    if (ready.code != 220) fail(ready, "STARTTLS");
    // Anything the server sent after its 220 would be read as if it came
    // through TLS (the STARTTLS injection of CVE-2011-0411): refused.
    if (!buffer_.empty())
      throw Error(Error::Kind::Transient, 0, where() + ": the server sent more after its STARTTLS reply");
    try {
      Poco::Net::Context::Ptr context = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, "", "", server_.ca.string(), Poco::Net::Context::VERIFY_RELAXED, 9,
          server_.ca.empty(), "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL");
      context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
      socket_.setReceiveTimeout(span(timeout));
      Poco::Net::SecureStreamSocket tls = Poco::Net::SecureStreamSocket::attach(socket_, server_.host, context);
      socket_ = tls;
    } catch (const Poco::Exception& e) {
      throw Error(Error::Kind::Transient, 0, where() + ": STARTTLS: " + shown(e.displayText()));
    }
    capabilities_.clear();
    Reply again = command("EHLO " + server_.helo, "EHLO after STARTTLS");
    if (again.code != 250) fail(again, "EHLO after STARTTLS");
  }
  if (!server_.username.empty()) {
    Reply auth = command("AUTH LOGIN", "AUTH");
    if (auth.code != 334) fail(auth, "AUTH");
    auth = command(base64(server_.username), "AUTH (user)");
    if (auth.code != 334) fail(auth, "AUTH (user)");
    auth = command(base64(server_.password), "AUTH (password)");
    if (auth.code != 235) fail(auth, "AUTH (password)");
  }
}

Session::~Session() {
  try {
    socket_.close();
  } catch (...) {
  }
}

void Session::fail(const Reply& reply, const char* what) {
  const Error::Kind kind = reply.code >= 500 && reply.code < 600 ? Error::Kind::Permanent : Error::Kind::Transient;
  throw Error(kind, reply.code, where() + ": " + what + ": " + reply.text);
}

void Session::writeAll(const std::string& bytes, const char* what) {
  try {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const int n = socket_.sendBytes(bytes.data() + sent, static_cast<int>(std::min<std::size_t>(bytes.size() - sent, 1 << 16)));
      if (n <= 0) throw Poco::Net::NetException("the connection was closed");
      sent += static_cast<std::size_t>(n);
    }
  } catch (const Poco::Exception& e) {
    throw Error(Error::Kind::Transient, 0, where() + ": " + what + ": cannot send: " + shown(e.displayText()));
  }
}

Session::Reply Session::command(const std::string& line, const char* what) {
  writeAll(line + "\r\n", what);
  return readReply(what);
}

Session::Reply Session::readReply(const char* what, bool afterData) {
  const Error::Kind lost = afterData ? Error::Kind::Uncertain : Error::Kind::Transient;
  const auto deadline = Clock::now() + server_.timeout;
  Reply reply;
  std::size_t lines = 0, total = 0;
  for (;;) {
    std::size_t eol = buffer_.find('\n');
    while (eol == std::string::npos) {
      if (buffer_.size() > kMaxReplyLineBytes || total + buffer_.size() > kMaxReplyBytes)
        throw Error(lost, 0, where() + ": " + what + ": the reply is longer than this client takes (a line " +
                                 std::to_string(kMaxReplyLineBytes) + " bytes, a reply " +
                                 std::to_string(kMaxReplyBytes) + ")");
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now());
      if (left.count() <= 0)
        throw Error(lost, 0, where() + ": " + what + ": no complete reply within the time-out");
      char chunk[4096];
      int n = 0;
      try {
        socket_.setReceiveTimeout(span(left));
        n = socket_.receiveBytes(chunk, sizeof chunk);
      } catch (const Poco::TimeoutException&) {
        throw Error(lost, 0, where() + ": " + what + ": no complete reply within the time-out");
      } catch (const Poco::Exception& e) {
        throw Error(lost, 0, where() + ": " + what + ": " + shown(e.displayText()));
      }
      if (n <= 0)
        throw Error(lost, 0,
                    where() + ": " + what + ": the server closed the connection" +
                        (lines ? " in the middle of its reply" : ""));
      buffer_.append(chunk, static_cast<std::size_t>(n));
      eol = buffer_.find('\n');
    }
    std::string line = buffer_.substr(0, eol);
    buffer_.erase(0, eol + 1);
    if (line.size() > kMaxReplyLineBytes)
      throw Error(lost, 0, where() + ": " + what + ": a reply line is longer than " +
                               std::to_string(kMaxReplyLineBytes) + " bytes");
    if (!line.empty() && line.back() == '\r') line.pop_back();
    total += line.size() + 2;
    if (++lines > kMaxReplyLines || total > kMaxReplyBytes)
      throw Error(lost, 0, where() + ": " + what + ": the reply is longer than this client takes");
    const bool digits = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                        std::isdigit(static_cast<unsigned char>(line[1])) &&
                        std::isdigit(static_cast<unsigned char>(line[2]));
    if (!digits || (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
      throw Error(lost, 0, where() + ": " + what + ": not an SMTP reply: '" + shown(line, 80) + "'");
    const int code = std::stoi(line.substr(0, 3));
    if (reply.code != 0 && code != reply.code)
      throw Error(lost, 0, where() + ": " + what + ": a reply whose lines disagree on its code");
    reply.code = code;
    if (reply.text.size() < 4096) {
      if (!reply.text.empty()) reply.text += " | ";
      reply.text += line.size() > 4 ? line.substr(4) : std::string();
    }
    if (line.size() == 3 || line[3] == ' ') break;
  }
  reply.text = std::to_string(reply.code) + " " + shown(reply.text, 4096);
  return reply;
}

void Session::send(const std::string& from, const std::vector<std::string>& to, const std::string& message) {
  if (!plainAddress(from)) throw Error(Error::Kind::Permanent, 0, where() + ": the sender is not a plain address");
  Reply r = command("MAIL FROM:<" + from + ">", "MAIL FROM");
  if (r.code != 250) fail(r, "MAIL FROM");
  for (const std::string& address : to) {
    if (!plainAddress(address)) {
      try {
        command("RSET", "RSET");
      } catch (const Error&) {
      }
      throw Error(Error::Kind::Permanent, 0, where() + ": a recipient is not a plain address");
    }
    r = command("RCPT TO:<" + address + ">", "RCPT TO");
    if (r.code != 250 && r.code != 251) {
      try {
        command("RSET", "RSET");
      } catch (const Error&) {
      }
      fail(r, "RCPT TO");
    }
  }
  r = command("DATA", "DATA");
  if (r.code != 354) fail(r, "DATA");
  // Dot-stuffing (RFC 5321 4.5.2) on the message as given: every line that
  // begins with '.' gets another; the receiver removes it.
  std::string wire;
  wire.reserve(message.size() + message.size() / 64 + 8);
  bool lineStart = true;
  for (char c : message) {
    if (lineStart && c == '.') wire += '.';
    wire += c;
    lineStart = c == '\n';
  }
  if (!lineStart) wire += "\r\n";
  wire += ".\r\n";
  writeAll(wire, "the message");
  // From here the message may have been taken: a lost reply is Uncertain.
  r = readReply("the end of the message", true);
  if (r.code != 250) fail(r, "the end of the message");
}

void Session::quit() {
  try {
    command("QUIT", "QUIT");
  } catch (const Error&) {
  }
}

}  // namespace renkei::connectors::smtp
