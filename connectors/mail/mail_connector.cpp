// The mail connector: a sink that sends each record it is given as one mail
// through an SMTP server (staff notices: the review module's review.mail —
// new arrivals per department, each open morning's overdue items). The
// recipients come from a field of the record (the department) through a
// table in config; subject and body from a template file per template id
// with {field} placeholders. A server that does not answer is a Retry: the
// pipeline's backoff, then a dead letter like any delivery; a 5xx refusal is
// a dead letter at once. Each mail that the relay accepted is recorded, so a
// retried batch sends only the rest, and a mail whose acceptance was lost
// (the connection dropped after the message went out whole) is never sent
// again by itself: a dead letter saying so.
#include <cctype>

#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "renkei/sdk.h"
#include "renkei/text.h"
#include "smtp_client.h"

namespace renkei::connectors::mail {
namespace fs = std::filesystem;
namespace {

const renkei_config_key kKeys[] = {
    {"server", "string", "127.0.0.1:25", 0, "The SMTP server, host:port (the municipality's LGWAN mail relay)."},
    {"from", "string", nullptr, 1, "The sender address (e.g. renkei@city.example.lg.jp)."},
    {"recipients", "list", "", 0,
     "Who gets each record's mail, by the value of recipient-field: value=address pairs separated by ';' "
     "(市民課=shimin@city.example.lg.jp; several addresses for one value are several pairs)."},
    {"default-recipient", "string", "", 0,
     "Address for a record whose recipient-field value is not listed; empty: such a record fails the batch (a "
     "dead letter naming the value), so no mail goes nowhere unnoticed."},
    {"recipient-field", "string", "department", 0, "Field of the record that chooses the recipients."},
    {"template-field", "string", "template", 0, "Field of the record naming its template."},
    {"templates", "path", nullptr, 1,
     "Folder of templates, <template>.txt in UTF-8: the first line 'Subject: …', a blank line, then the body. "
     "{field} is replaced by the record's field of that name ({{ for a brace)."},
    {"starttls", "bool", "false", 0, "Upgrade the connection with STARTTLS before sending (the server's certificate "
                                     "is checked against the system's trust store)."},
    {"username", "string", "", 0, "SMTP AUTH LOGIN user; empty: no authentication."},
    {"password", "secret", nullptr, 0, "SMTP AUTH password (file:… or env:…; never in the config itself)."},
    {"ca", "path", nullptr, 0,
     "Certificate authorities (PEM) the server's certificate is checked against with starttls; not set: the "
     "system's trust store."},
    {"timeout", "duration", "30s", 0,
     "Time allowed for connecting, and for each SMTP reply from its command to its last line (1s-10m): a server "
     "that stops or drips is cut off then, and the batch is tried again with the pipeline's backoff."},
};

struct Template {
  std::string subject, body;
};

/// "{name}" → the record's field; "{{" → "{". An unknown name stays as it is
/// written, so a typo shows in the mail instead of vanishing.
std::string fill(const std::string& text, const Record& r) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (text[i] == '{') {
      const std::size_t end = text.find('}', i);
      if (end != std::string::npos && end - i <= 65) {
        const std::string name = text.substr(i + 1, end - i - 1);
        if (const std::string* v = r.find(name)) {
          out += *v;
          i = end;
          continue;
        }
      }
    }
    out += text[i];
  }
  return out;
}

/// The longest line SMTP carries (RFC 5321: 1000 octets with CRLF); longer
/// ones are folded. Relays answer "500 Line too long" otherwise.
constexpr std::size_t kMaxLineBytes = 998;

}  // namespace

/// A mail body as it goes on the wire in 8bit: every line end (CR LF, a bare
/// LF, a bare CR) becomes CRLF, so "\n.\n" in a value cannot end the DATA
/// early (SMTP smuggling): POCO's mail stream doubles a dot that begins a
/// line only after CR LF (RFC 5321 4.5.2; the receiver removes it), and now
/// every line begins after one. A line over 998 bytes is folded at a UTF-8
/// character boundary.
std::string wireBody(const std::string& text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16 + 4);
  std::size_t lineStart = 0;  // in `out`
  auto newline = [&] {
    out += "\r\n";
    lineStart = out.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      newline();
      continue;
    }
    if (out.size() - lineStart >= kMaxLineBytes && (static_cast<unsigned char>(c) & 0xC0) != 0x80) newline();
    out += c;
  }
  if (out.size() != lineStart) out += "\r\n";
  return out;
}

class MailConnector final : public Connector, public Sink {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    logger_ = context.logger;
    services_ = context.services;
    id_ = context.id;
    const std::string server = settings.getString("server");
    const std::size_t colon = server.rfind(':');
    if (colon == std::string::npos || colon == 0) throw ConfigError("server: '" + server + "' is not host:port");
    server_.host = server.substr(0, colon);
    try {
      const int port = std::stoi(server.substr(colon + 1));
      if (port < 1 || port > 65535) throw std::out_of_range("port");
      server_.port = static_cast<std::uint16_t>(port);
    } catch (const std::exception&) {
      throw ConfigError("server: '" + server + "' has no port 1–65535");
    }
    from_ = settings.getString("from");
    if (!smtp::Session::plainAddress(from_)) throw ConfigError("from: '" + printable(from_) + "' is not a mail address");
    for (const std::string& pair : settings.getList("recipients")) {
      const std::size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0 || !smtp::Session::plainAddress(pair.substr(eq + 1)))
        throw ConfigError("recipients: '" + printable(pair) + "' is not value=address");
      recipients_.emplace(pair.substr(0, eq), pair.substr(eq + 1));
    }
    defaultRecipient_ = settings.getString("default-recipient");
    recipientField_ = settings.getString("recipient-field");
    templateField_ = settings.getString("template-field");
    if (!defaultRecipient_.empty() && !smtp::Session::plainAddress(defaultRecipient_))
      throw ConfigError("default-recipient: '" + printable(defaultRecipient_) + "' is not a mail address");
    server_.starttls = settings.getBool("starttls");
    if (settings.has("ca")) {
      server_.ca = settings.getPath("ca");
      std::error_code ec;
      if (!fs::is_regular_file(server_.ca, ec)) throw ConfigError("ca: '" + server_.ca.string() + "' is not a file");
      if (!server_.starttls) throw ConfigError("ca: set only with starttls=true (it is what the server's certificate is checked against)");
    }
    server_.username = settings.getString("username");
    if (!server_.username.empty()) {
      if (!settings.has("password")) throw ConfigError("username is set: password (file:… or env:…) is needed too");
      server_.password = settings.getSecret("password").value;
    }
    server_.timeout = settings.getDuration("timeout");
    if (server_.timeout.count() < 1000 || server_.timeout.count() > 600'000)
      throw ConfigError("timeout: between 1s and 10m");
    const fs::path dir = settings.getPath("templates");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw ConfigError("templates: '" + dir.string() + "' is not a folder");
    for (const auto& f : fs::directory_iterator(dir, ec)) {
      if (f.path().extension() != ".txt") continue;
      std::ifstream in(f.path(), std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.size() > 65536) throw ConfigError("templates: " + f.path().string() + " is larger than 64 KiB");
      if (firstInvalidUtf8(text) != std::string::npos)
        throw ConfigError("templates: " + f.path().string() + " is not UTF-8");
      if (text.rfind("Subject: ", 0) != 0)
        throw ConfigError("templates: " + f.path().string() + ":1: the first line must be 'Subject: …'");
      const std::size_t eol = text.find('\n');
      Template t;
      t.subject = text.substr(9, eol == std::string::npos ? std::string::npos : eol - 9);
      if (!t.subject.empty() && t.subject.back() == '\r') t.subject.pop_back();
      if (eol != std::string::npos) {
        std::size_t body = eol + 1;
        if (text.compare(body, 2, "\r\n") == 0) body += 2;
        else if (text.compare(body, 1, "\n") == 0) body += 1;
        t.body = text.substr(body);
      }
      templates_[f.path().stem().string()] = std::move(t);
    }
    if (templates_.empty()) throw ConfigError("templates: no <template>.txt in '" + dir.string() + "'");
  }

  void start() override {
    state_ = &services_->state();
    // Which mails of a batch went out: names of batches and their mails
    // (no address, no value), so a retried batch does not send them twice.
    state_->migrate({"CREATE TABLE {sent} (message_id TEXT PRIMARY KEY, batch TEXT NOT NULL, state TEXT NOT NULL, "
                     "at BIGINT NOT NULL)",
                     "CREATE INDEX {sent}_batch ON {sent} (batch)"});
    // Kept 90 days: longer than any retry or dead letter waits in practice.
    const std::int64_t before = services_->nowMs() - 90LL * 86'400'000;
    sentTable_ = state_->table("sent");
    state_->write([&](StateSession& s) { s.run("DELETE FROM " + sentTable_ + " WHERE at < ?", {before}); });
  }

  Sink* sink() override { return this; }

  Outcome deliver(const Batch& batch) override {
    // Build every mail first: a record that cannot be mailed fails the
    // batch before anything is sent.
    struct Mail {
      std::vector<std::string> to;
      std::string subject, body, messageId;
    };
    std::vector<Mail> mails;
    for (std::size_t i = 0; i < batch.records.size(); ++i) {
      const Record& r = batch.records[i];
      const std::string* templ = r.find(templateField_);
      auto t = templ ? templates_.find(*templ) : templates_.end();
      if (t == templates_.end())
        return Outcome::error("record " + std::to_string(i + 1) + ": no template '" +
                              (templ ? printable(*templ) : std::string("(no ") + templateField_ + " field)") + "'");
      Mail m;
      const std::string* who = r.find(recipientField_);
      if (who) {
        auto [b, e] = recipients_.equal_range(*who);
        for (auto it = b; it != e; ++it) m.to.push_back(it->second);
      }
      if (m.to.empty() && !defaultRecipient_.empty()) m.to.push_back(defaultRecipient_);
      if (m.to.empty())
        return Outcome::error("record " + std::to_string(i + 1) + ": no recipient for " + recipientField_ + " '" +
                              (who ? printable(*who) : std::string()) + "' (add it to recipients or set default-recipient)");
      // A value with a line break must not start a header of its own.
      m.subject = fill(t->second.subject, r);
      for (char& ch : m.subject)
        if (ch == '\r' || ch == '\n') ch = ' ';
      m.body = fill(t->second.body, r);
      // The same record sent again (a retried batch) keeps its Message-ID.
      m.messageId = "<" + batch.id + "." + std::to_string(i + 1) + "@renkei>";
      mails.push_back(std::move(m));
    }
    // Mails of this batch known to have gone out (a retry after a later
    // mail failed, or a resubmitted dead letter): not sent again.
    std::set<std::string> done;
    state_->read([&](StateSession& s) {
      s.query("SELECT message_id FROM " + sentTable_ + " WHERE batch = ? AND state = 'sent'", {batch.id},
              [&](StateRows& row) { done.insert(row.text(0)); });
    });
    auto mark = [&](const std::string& messageId, const char* state) {
      const std::int64_t now = services_->nowMs();
      state_->write([&](StateSession& s) {
        s.run("INSERT INTO " + sentTable_ + " (message_id, batch, state, at) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (message_id) DO UPDATE SET state = excluded.state, at = excluded.at",
              {messageId, batch.id, std::string(state), now});
      });
    };
    std::size_t sent = 0, skipped = 0;
    std::optional<smtp::Session> session;
    for (std::size_t i = 0; i < mails.size(); ++i) {
      const Mail& m = mails[i];
      if (done.count(m.messageId)) {
        ++skipped;
        continue;
      }
      const std::string before = sent ? " (" + std::to_string(sent) + " of " + std::to_string(mails.size()) +
                                            " mails of the batch went out before)"
                                      : std::string();
      try {
        if (!session) session.emplace(server_);
        Poco::Net::MailMessage message;
        message.setSender(from_);
        for (const auto& to : m.to)
          message.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, to));
        message.setSubject(Poco::Net::MailMessage::encodeWord(m.subject, "UTF-8"));
        message.set("Message-ID", m.messageId);
        message.setContentType("text/plain; charset=UTF-8");
        message.setContent(wireBody(m.body), Poco::Net::MailMessage::ENCODING_8BIT);
        std::ostringstream wire;
        message.write(wire);
        session->send(from_, m.to, wire.str());
      } catch (const smtp::Error& e) {
        switch (e.kind()) {
          case smtp::Error::Kind::Permanent:
            // "550 mailbox unknown", "552 too large": refused again if sent
            // again, so a dead letter now, with the reply.
            return Outcome::error(e.what() + before);
          case smtp::Error::Kind::Uncertain:
            // The whole mail went out and the relay's answer did not come
            // back: it may have been accepted. Never sent twice by itself;
            // an operator who finds it missing in the relay's log resubmits.
            mark(m.messageId, "uncertain");
            return Outcome::error(std::string(e.what()) + ": mail " + std::to_string(i + 1) + " of " +
                                  std::to_string(mails.size()) + " (Message-ID " + m.messageId +
                                  ") may have been accepted, so it is not sent again by itself; look for it in the "
                                  "relay's log, and resubmit the dead letter if it did not go out (mails known "
                                  "as sent are not sent again)" + before);
          case smtp::Error::Kind::Transient:
            return Outcome::retry(e.what() + before);
        }
      } catch (const std::exception& e) {
        return Outcome::retry("SMTP " + server_.host + ":" + std::to_string(server_.port) + ": " +
                              printable(e.what(), 500) + before);
      }
      mark(m.messageId, "sent");
      ++sent;
    }
    if (session) session->quit();
    if (skipped)
      logger_->information("%s: %z mails of batch %s had gone out before: not sent again", id_, skipped, batch.id);
    logger_->information("%s: %z mails sent", id_, sent);
    return Outcome::ok();
  }

 private:
  Poco::Logger* logger_ = nullptr;
  HostServices* services_ = nullptr;
  StateStore* state_ = nullptr;
  std::string sentTable_;  ///< mails the server accepted, by Message-ID
  std::string id_, from_, defaultRecipient_, recipientField_, templateField_;
  smtp::Server server_;
  std::multimap<std::string, std::string> recipients_;
  std::map<std::string, Template> templates_;
};

}  // namespace renkei::connectors::mail

RENKEI_PLUGIN(Connector, renkei::connectors::mail::MailConnector, "mail", "0.1.0", "experimental",
              "Mail through an SMTP server: each record one mail, recipients by a field, subject and body from templates",
              RENKEI_ROLE_SINK, renkei::connectors::mail::kKeys, sizeof(renkei::connectors::mail::kKeys) / sizeof(renkei::connectors::mail::kKeys[0]))
