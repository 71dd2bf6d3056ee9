// The SMTP client the mail connector sends through (connectors/common/
// smtp_client): against relays that misbehave on purpose (scripted here on
// real loopback sockets) and against a real SMTP server (aiosmtpd, Debian's
// python3-aiosmtpd) with STARTTLS and certificates made at test time.
#define BOOST_TEST_MODULE smtp_client
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "smtp_client.h"
#include "test_support.h"

namespace fs = std::filesystem;
namespace test = renkei::test;
using renkei::connectors::smtp::Error;
using renkei::connectors::smtp::Server;
using renkei::connectors::smtp::Session;
using Clock = std::chrono::steady_clock;

namespace {

/// A relay that follows a script: one connection, handled by `script` on a
/// thread of its own; stopped (the socket closed) when it goes out of scope.
struct ScriptedRelay {
  Poco::Net::ServerSocket listener{Poco::Net::SocketAddress("127.0.0.1", 0)};
  std::atomic<bool> stop{false};
  std::thread thread;
  std::string received;  ///< what the client sent, for the checks (read after the thread ends)

  explicit ScriptedRelay(std::function<void(Poco::Net::StreamSocket&, ScriptedRelay&)> script) {
    thread = std::thread([this, script] {
      try {
        Poco::Net::StreamSocket s = listener.acceptConnection();
        s.setReceiveTimeout(Poco::Timespan(5, 0));
        script(s, *this);
      } catch (...) {
      }
    });
  }
  ~ScriptedRelay() {
    stop = true;
    listener.close();
    if (thread.joinable()) thread.join();
  }
  std::uint16_t port() const { return listener.address().port(); }

  static void say(Poco::Net::StreamSocket& s, const std::string& text) { s.sendBytes(text.data(), static_cast<int>(text.size())); }
  /// Reads until `end` has arrived (or the client closes); returns it all.
  std::string readUntil(Poco::Net::StreamSocket& s, const std::string& end) {
    std::string got;
    char buf[4096];
    while (got.find(end) == std::string::npos) {
      const int n = s.receiveBytes(buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    received += got;
    return got;
  }
  /// The usual start: greeting, EHLO, MAIL, RCPT answered well.
  void upToData(Poco::Net::StreamSocket& s) {
    say(s, "220 relay.test ESMTP\r\n");
    readUntil(s, "\r\n");
    say(s, "250-relay.test\r\n250 8BITMIME\r\n");
    readUntil(s, "\r\n");
    say(s, "250 ok\r\n");
    readUntil(s, "\r\n");
    say(s, "250 ok\r\n");
  }
};

Server serverOn(std::uint16_t port, int timeoutMs = 1500) {
  Server server;
  server.host = "127.0.0.1";
  server.port = port;
  server.timeout = std::chrono::milliseconds(timeoutMs);
  return server;
}

const std::string kMessage = "Subject: test\r\nTo: a@city.example\r\n\r\nline one\r\n.\r\n..two dots\r\nlast\r\n";

/// Runs `attempt`, which must throw connectors::smtp::Error; returns it with the time it took.
std::pair<Error, double> failure(const std::function<void()>& attempt) {
  const auto start = Clock::now();
  try {
    attempt();
  } catch (const Error& e) {
    return {e, std::chrono::duration<double>(Clock::now() - start).count()};
  }
  BOOST_FAIL("no error");
  return {Error(Error::Kind::Transient, 0, ""), 0};
}

}  // namespace

// POCO's SMTPClientSession spun for ever on this (a core busy, its reply
// text growing by a line feed per turn, SIGTERM not heard).
BOOST_AUTO_TEST_CASE(a_relay_that_closes_in_the_middle_of_its_greeting_is_an_error_at_once) {
  ScriptedRelay relay([](Poco::Net::StreamSocket& s, ScriptedRelay&) {
    ScriptedRelay::say(s, "220-relay.test first line of a longer greeting\r\n");
    s.close();
  });
  auto [e, seconds] = failure([&] { Session session(serverOn(relay.port())); });
  BOOST_TEST(seconds < 1.0);
  BOOST_TEST((e.kind() == Error::Kind::Transient));
  BOOST_TEST(std::string(e.what()).find("closed the connection in the middle of its reply") != std::string::npos,
             e.what());
}

BOOST_AUTO_TEST_CASE(a_relay_that_drips_its_reply_is_cut_off_at_the_time_out) {
  ScriptedRelay relay([](Poco::Net::StreamSocket& s, ScriptedRelay& r) {
    // One byte every 100 ms: each read succeeds, the reply never ends.
    for (int i = 0; i < 200 && !r.stop; ++i) {
      ScriptedRelay::say(s, i % 60 == 59 ? "\n" : (i % 60 < 3 ? "2" : "x"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto [e, seconds] = failure([&] { Session session(serverOn(relay.port(), 1000)); });
  BOOST_TEST(seconds >= 0.9);
  BOOST_TEST(seconds < 2.0);
  BOOST_TEST(std::string(e.what()).find("no complete reply within the time-out") != std::string::npos, e.what());
}

BOOST_AUTO_TEST_CASE(a_relay_that_answers_without_end_is_bounded) {
  // Endless continuation lines, and one endless line: both stop at the
  // bound, quickly, with what was read kept small.
  ScriptedRelay lines([](Poco::Net::StreamSocket& s, ScriptedRelay& r) {
    const std::string line = "220-" + std::string(60, 'a') + "\r\n";
    for (int i = 0; i < 100'000 && !r.stop; ++i) ScriptedRelay::say(s, line);
  });
  auto [e1, t1] = failure([&] { Session session(serverOn(lines.port())); });
  BOOST_TEST(t1 < 1.0);
  BOOST_TEST(std::string(e1.what()).find("longer than this client takes") != std::string::npos, e1.what());

  ScriptedRelay endless([](Poco::Net::StreamSocket& s, ScriptedRelay& r) {
    ScriptedRelay::say(s, "220 ");
    const std::string chunk(65536, 'b');
    for (int i = 0; i < 1000 && !r.stop; ++i) ScriptedRelay::say(s, chunk);  // 64 MiB, no line end
  });
  auto [e2, t2] = failure([&] { Session session(serverOn(endless.port())); });
  BOOST_TEST(t2 < 1.0);
  BOOST_TEST(std::string(e2.what()).find("longer than this client takes") != std::string::npos, e2.what());
}

BOOST_AUTO_TEST_CASE(replies_are_told_apart_permanent_transient_and_not_smtp) {
  for (const auto& [code, kind] : {std::pair<std::string, Error::Kind>{"550 5.1.1 no such mailbox", Error::Kind::Permanent},
                                   {"451 4.3.0 try later", Error::Kind::Transient}}) {
    ScriptedRelay relay([code = code](Poco::Net::StreamSocket& s, ScriptedRelay& r) {
      ScriptedRelay::say(s, "220 relay.test\r\n");
      r.readUntil(s, "\r\n");
      ScriptedRelay::say(s, "250 relay.test\r\n");
      r.readUntil(s, "\r\n");
      ScriptedRelay::say(s, "250 ok\r\n");
      r.readUntil(s, "\r\n");
      ScriptedRelay::say(s, code + "\r\n");
      r.readUntil(s, "\r\n");  // RSET
      ScriptedRelay::say(s, "250 ok\r\n");
    });
    auto [e, seconds] = failure([&] {
      Session session(serverOn(relay.port()));
      session.send("renkei@city.example", {"nobody@city.example"}, kMessage);
    });
    BOOST_TEST((e.kind() == kind), e.what());
    BOOST_TEST(e.code() == std::stoi(code.substr(0, 3)));
    BOOST_TEST(std::string(e.what()).find("RCPT TO") != std::string::npos, e.what());
  }
  ScriptedRelay http([](Poco::Net::StreamSocket& s, ScriptedRelay&) {
    ScriptedRelay::say(s, "HTTP/1.1 400 Bad Request\r\n\r\n");
  });
  auto [e, seconds] = failure([&] { Session session(serverOn(http.port())); });
  BOOST_TEST(std::string(e.what()).find("not an SMTP reply") != std::string::npos, e.what());
}

// The reply to the message itself lost: the relay may have accepted it, so
// the caller must not send it again by itself (the mail connector makes it a
// dead letter saying so).
BOOST_AUTO_TEST_CASE(a_reply_lost_after_the_whole_message_is_uncertain_and_before_it_transient) {
  ScriptedRelay after([](Poco::Net::StreamSocket& s, ScriptedRelay& r) {
    r.upToData(s);
    r.readUntil(s, "\r\n");  // DATA
    ScriptedRelay::say(s, "354 go on\r\n");
    r.readUntil(s, "\r\n.\r\n");
    s.close();  // taken, and the answer never sent
  });
  auto [e, seconds] = failure([&] {
    Session session(serverOn(after.port()));
    session.send("renkei@city.example", {"a@city.example"}, kMessage);
  });
  BOOST_TEST((e.kind() == Error::Kind::Uncertain), e.what());
  // Dots were stuffed on the wire: ".\r\n" in the body went as "..\r\n".
  BOOST_TEST(after.received.find("\r\nline one\r\n..\r\n...two dots\r\nlast\r\n.\r\n") != std::string::npos);

  ScriptedRelay before([](Poco::Net::StreamSocket& s, ScriptedRelay& r) {
    r.upToData(s);
    r.readUntil(s, "\r\n");  // DATA
    s.close();
  });
  auto [e2, t2] = failure([&] {
    Session session(serverOn(before.port()));
    session.send("renkei@city.example", {"a@city.example"}, kMessage);
  });
  BOOST_TEST((e2.kind() == Error::Kind::Transient), e2.what());
}

BOOST_AUTO_TEST_CASE(addresses_that_would_change_a_command_are_refused) {
  BOOST_TEST(Session::plainAddress("shimin@city.example.lg.jp"));
  for (const std::string bad : {"a@b>\r\nRCPT TO:<x@y", "a b@c", "a@b@c", "<a@b>", "", "@b", "a@", "a\n@b"})
    BOOST_TEST(!Session::plainAddress(bad), bad);
}

// A real relay: aiosmtpd with STARTTLS required, its certificate from a CA
// made now. The message arrives whole, dots unstuffed; a client that trusts
// only the system's authorities refuses the relay's certificate.
BOOST_AUTO_TEST_CASE(starttls_to_a_real_relay_with_the_citys_own_ca) {
  const fs::path dir = fs::temp_directory_path() / ("renkei-smtp-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);  // aiosmtpd makes the Maildir itself
  auto certs = test::run({test::env("RENKEI_SOURCE_DIR") + "/scripts/make-certs", (dir / "tls").string()});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  // A free port: bound and released (aiosmtpd takes it a moment later).
  std::uint16_t port = 0;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = probe.address().port();
  }
  test::Child smtpd = test::spawn({"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port),
                                   "--tlscert", (dir / "tls/server.crt").string(), "--tlskey",
                                   (dir / "tls/server.key").string(), "-c", "aiosmtpd.handlers.Mailbox",
                                   (dir / "maildir").string()},
                                  dir / "smtpd");
  BOOST_REQUIRE(test::waitFor(
      [&] {
        try {
          Poco::Net::StreamSocket probe(Poco::Net::SocketAddress("127.0.0.1", port));
          return true;
        } catch (...) {
          return false;
        }
      },
      20));
  Server server = serverOn(port, 10'000);
  server.host = "localhost";  // the name on the relay's certificate
  server.starttls = true;

  auto [untrusted, t] = failure([&] { Session session(server); });
  BOOST_TEST(std::string(untrusted.what()).find("STARTTLS") != std::string::npos, untrusted.what());

  server.ca = dir / "tls/ca.crt";
  {
    Session session(server);
    session.send("renkei@city.example", {"shimin@city.example"},
                 "From: renkei@city.example\r\nTo: shimin@city.example\r\nSubject: test\r\n\r\nline one\r\n.\r\n"
                 "..two dots\r\nlast\r\n");
    session.quit();
  }
  std::string mail;
  BOOST_TEST(test::waitFor(
      [&] {
        for (const auto& f : fs::recursive_directory_iterator(dir / "maildir"))
          if (f.is_regular_file() && f.path().parent_path().filename() == "new") mail = test::readFile(f.path());
        return !mail.empty();
      },
      10));
  BOOST_TEST(mail.find("\nline one\n.\n..two dots\nlast\n") != std::string::npos, mail);

  // Without STARTTLS configured the relay refuses to take mail (it requires TLS).
  Server plain = serverOn(port, 10'000);
  auto [refused, t2] = failure([&] {
    Session session(plain);
    session.send("renkei@city.example", {"shimin@city.example"}, kMessage);
  });
  BOOST_TEST((refused.kind() == Error::Kind::Permanent), refused.what());
  ::kill(smtpd.pid, SIGTERM);
  smtpd.wait();
  fs::remove_all(dir);
}

namespace {

/// A relay for the mail connector over several connections: it answers like
/// a relay, but each mail's fate is chosen by `fate(connection, mail)` (both
/// from 1): accept it, refuse its recipient with 451, or take the message
/// whole and close without answering. Records each Message-ID it was given.
struct FickleRelay {
  enum class Fate { Accept, Later, LoseReply };
  Poco::Net::ServerSocket listener{Poco::Net::SocketAddress("127.0.0.1", 0)};
  std::atomic<bool> stop{false};
  std::atomic<int> connections{0};
  std::mutex mutex;
  std::vector<std::string> given;  ///< Message-IDs of messages sent whole, in order
  std::thread thread;

  explicit FickleRelay(std::function<Fate(int, int)> fate) {
    listener.setReceiveTimeout(Poco::Timespan(0, 200'000));
    thread = std::thread([this, fate] {
      while (!stop) {
        Poco::Net::StreamSocket s;
        try {
          if (!listener.poll(Poco::Timespan(0, 100'000), Poco::Net::Socket::SELECT_READ)) continue;
          s = listener.acceptConnection();
        } catch (...) {
          continue;
        }
        const int connection = ++connections;
        int mail = 0;
        try {
          s.setReceiveTimeout(Poco::Timespan(5, 0));
          ScriptedRelay::say(s, "220 relay.test\r\n");
          std::string buffer;
          auto line = [&] {
            char buf[4096];
            while (buffer.find("\r\n") == std::string::npos) {
              const int n = s.receiveBytes(buf, sizeof buf);
              if (n <= 0) throw std::runtime_error("closed");
              buffer.append(buf, static_cast<std::size_t>(n));
            }
            std::string l = buffer.substr(0, buffer.find("\r\n"));
            buffer.erase(0, l.size() + 2);
            return l;
          };
          for (bool open = true; open;) {
            const std::string l = line();
            const std::string verb = l.substr(0, 4);
            if (verb == "EHLO") ScriptedRelay::say(s, "250-relay.test\r\n250 8BITMIME\r\n");
            else if (verb == "MAIL") {
              ++mail;
              ScriptedRelay::say(s, "250 ok\r\n");
            } else if (verb == "RCPT") {
              ScriptedRelay::say(s, fate(connection, mail) == Fate::Later ? "451 4.3.0 later\r\n" : "250 ok\r\n");
            } else if (verb == "DATA") {
              ScriptedRelay::say(s, "354 go on\r\n");
              std::string message;
              for (std::string m = line(); m != "."; m = line()) message += m + "\n";
              const std::size_t id = message.find("Message-ID: ");
              {
                std::lock_guard<std::mutex> lock(mutex);
                given.push_back(id == std::string::npos ? "?" : message.substr(id + 12, message.find('\n', id) - id - 12));
              }
              if (fate(connection, mail) == Fate::LoseReply) open = false;
              else ScriptedRelay::say(s, "250 2.0.0 queued\r\n");
            } else if (verb == "QUIT") {
              ScriptedRelay::say(s, "221 bye\r\n");
              open = false;
            } else {
              ScriptedRelay::say(s, "250 ok\r\n");  // RSET, NOOP
            }
          }
        } catch (...) {
        }
        s.close();
      }
    });
  }
  ~FickleRelay() {
    stop = true;
    thread.join();
  }
  std::vector<std::string> ids() {
    std::lock_guard<std::mutex> lock(mutex);
    return given;
  }
};

}  // namespace

// What the mail connector makes of it: a mail the relay accepted is not sent
// again when the batch is retried, and a mail whose acceptance was lost is
// not sent again by itself — a dead letter says so, and an operator's
// resubmit sends it (and only it).
BOOST_AUTO_TEST_CASE(the_mail_connector_sends_each_mail_once_and_never_resends_an_uncertain_one) {
  using Fate = FickleRelay::Fate;
  FickleRelay relay([](int connection, int mail) {
    if (connection == 1) return mail == 1 ? Fate::Accept : Fate::Later;  // mail 1 out, mail 2 "later"
    if (connection == 2) return mail == 1 ? Fate::Accept : Fate::LoseReply;  // mail 2 out, mail 3 lost reply
    return Fate::Accept;
  });
  test::TempDir dir;
  const std::string source = test::env("RENKEI_SOURCE_DIR");
  fs::create_directories(dir / "in/in");
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"mail-test\" zone=\"lgwan\">\n"
                  "  <pipeline poll-interval=\"200ms\" retry-initial=\"200ms\" retry-max=\"500ms\" max-attempts=\"5\"/>\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"in\" plugin=\"file\"><directory>in</directory><pattern>*.jsonl</pattern>"
                  "<settle>0s</settle></connector>\n"
                  "  <connector id=\"mail\" plugin=\"mail\"><server>127.0.0.1:" +
                      std::to_string(relay.listener.address().port()) +
                      "</server><from>renkei@city.example.lg.jp</from>"
                      "<recipients>市民課=shimin@city.example.lg.jp</recipients><templates>" +
                      source + "/config/review/mail</templates><timeout>3s</timeout></connector>\n"
                      "  <route id=\"notices\" from=\"in\" to=\"mail\" mapping=\"" +
                      source + "/tests/fixtures/mail/notice-to-mail.xml\"/>\n"
                      "</renkei>\n");
  std::string lines;
  for (int i = 1; i <= 3; ++i)
    lines += "{\"department\":\"市民課\",\"template\":\"arrival\",\"arrival_nos\":\"R20261207-00000" + std::to_string(i) +
             "\",\"day\":\"2026-12-07\"}\n";
  test::writeFile(dir / "in/in/notices.jsonl", lines);
  const std::map<std::string, std::string> env{{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}};
  const std::string config = (dir / "config.xml").string();
  auto served = test::run({test::renkeiBinary(), "serve", "--once", "--config", config}, env);
  BOOST_TEST_MESSAGE(served.err);
  // Mail 1 once (not again on the retry), mail 2 once, mail 3 once.
  auto ids = relay.ids();
  BOOST_TEST_REQUIRE(ids.size() == 3u, served.err);
  BOOST_TEST(ids[0].find(".1@renkei>") != std::string::npos, ids[0]);
  BOOST_TEST(ids[1].find(".2@renkei>") != std::string::npos, ids[1]);
  BOOST_TEST(ids[2].find(".3@renkei>") != std::string::npos, ids[2]);
  BOOST_TEST(relay.connections == 2);  // no third attempt: mail 3 may have gone out
  auto dead = test::run({test::renkeiBinary(), "deadletters", "list", "--config", config}, env);
  BOOST_TEST(dead.out.find("1 dead letter") != std::string::npos, dead.out);
  BOOST_TEST(dead.out.find("may have been accepted, so it is not sent again by itself") != std::string::npos, dead.out);
  BOOST_TEST(dead.out.find(".3@renkei>") != std::string::npos, dead.out);
  auto status = test::run({test::renkeiBinary(), "status", "--config", config}, env);
  BOOST_TEST(status.exitCode == 3, status.out);

  // The operator looked in the relay's log and found no mail 3: resubmit.
  auto resubmit = test::run({test::renkeiBinary(), "deadletters", "resubmit", "--all", "--by", "係長", "--config", config}, env);
  BOOST_TEST(resubmit.exitCode == 0, resubmit.out << resubmit.err);
  served = test::run({test::renkeiBinary(), "serve", "--once", "--config", config}, env);
  ids = relay.ids();
  BOOST_TEST_REQUIRE(ids.size() == 4u, served.err);
  BOOST_TEST(ids[3].find(".3@renkei>") != std::string::npos, ids[3]);  // only mail 3, the operator's decision
  status = test::run({test::renkeiBinary(), "status", "--config", config}, env);
  BOOST_TEST(status.exitCode == 0, status.out);
}
