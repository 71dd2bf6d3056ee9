// The mail connector: a sink that sends each record it is given as one mail
// through an SMTP server (staff notices: the review module's review.mail —
// new arrivals per department, each open morning's overdue items). The
// recipients come from a field of the record (the department) through a
// table in config; subject and body from a template file per template id
// with {field} placeholders. A server that does not answer is a Retry: the
// pipeline's backoff, then a dead letter like any delivery.
#include <cctype>

#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SecureSMTPClientSession.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/Timespan.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "renkei/sdk.h"
#include "renkei/text.h"

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
    {"timeout", "duration", "30s", 0, "Time allowed for connecting and for each SMTP reply."},
};

const renkei_plugin_info kInfo = {
    RENKEI_SDK_ABI_VERSION,
    "mail",
    "connector",
    "0.1.0",
    "experimental",
    "Mail through an SMTP server: each record one mail, recipients by a field, subject and body from templates",
    RENKEI_ROLE_SINK,
    "renkei::connectors::mail::MailConnector",
    kKeys,
    sizeof(kKeys) / sizeof(kKeys[0]),
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

/// The SMTP reply code behind an exception: POCO keeps it as the
/// exception's code, or (in some calls) only in the text ("…: 550 5.1.1 …").
int replyCode(const Poco::Exception& e) {
  if (e.code() >= 200 && e.code() < 600) return e.code();
  const std::string t = e.displayText();
  for (std::size_t i = 0; i + 3 <= t.size(); ++i)
    if ((i == 0 || t[i - 1] == ' ') && t[i] >= '2' && t[i] <= '5' && std::isdigit(static_cast<unsigned char>(t[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(t[i + 2])) && (i + 3 == t.size() || t[i + 3] == ' ' || t[i + 3] == '-'))
      return (t[i] - '0') * 100 + (t[i + 1] - '0') * 10 + (t[i + 2] - '0');
  return 0;
}

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
    id_ = context.id;
    const std::string server = settings.getString("server");
    const std::size_t colon = server.rfind(':');
    if (colon == std::string::npos || colon == 0) throw ConfigError("server: '" + server + "' is not host:port");
    host_ = server.substr(0, colon);
    try {
      const int port = std::stoi(server.substr(colon + 1));
      if (port < 1 || port > 65535) throw std::out_of_range("port");
      port_ = static_cast<Poco::UInt16>(port);
    } catch (const std::exception&) {
      throw ConfigError("server: '" + server + "' has no port 1–65535");
    }
    from_ = settings.getString("from");
    if (from_.find('@') == std::string::npos) throw ConfigError("from: '" + from_ + "' is not a mail address");
    for (const std::string& pair : settings.getList("recipients")) {
      const std::size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0 || pair.find('@', eq) == std::string::npos)
        throw ConfigError("recipients: '" + pair + "' is not value=address");
      recipients_.emplace(pair.substr(0, eq), pair.substr(eq + 1));
    }
    defaultRecipient_ = settings.getString("default-recipient");
    recipientField_ = settings.getString("recipient-field");
    templateField_ = settings.getString("template-field");
    starttls_ = settings.getBool("starttls");
    username_ = settings.getString("username");
    if (!username_.empty()) {
      if (!settings.has("password")) throw ConfigError("username is set: password (file:… or env:…) is needed too");
      password_ = settings.getSecret("password").value;
    }
    timeout_ = Poco::Timespan(static_cast<long>(settings.getDuration("timeout").count() / 1000),
                              static_cast<long>(settings.getDuration("timeout").count() % 1000) * 1000);
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
    std::size_t sent = 0;
    try {
      std::unique_ptr<Poco::Net::SMTPClientSession> session;
      if (starttls_) {
        auto s = std::make_unique<Poco::Net::SecureSMTPClientSession>(host_, port_);
        s->setTimeout(timeout_);
        s->login();
        s->startTLS();
        session = std::move(s);
      } else {
        session = std::make_unique<Poco::Net::SMTPClientSession>(host_, port_);
        session->setTimeout(timeout_);
      }
      if (!username_.empty()) session->login(Poco::Net::SMTPClientSession::AUTH_LOGIN, username_, password_);
      else if (!starttls_) session->login();
      for (const Mail& m : mails) {
        Poco::Net::MailMessage message;
        message.setSender(from_);
        for (const auto& to : m.to) message.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, to));
        message.setSubject(Poco::Net::MailMessage::encodeWord(m.subject, "UTF-8"));
        message.set("Message-ID", m.messageId);
        message.setContentType("text/plain; charset=UTF-8");
        message.setContent(wireBody(m.body), Poco::Net::MailMessage::ENCODING_8BIT);
        session->sendMessage(message);
        ++sent;
      }
      session->close();
    } catch (const Poco::Net::SMTPException& e) {
      // A permanent refusal (5xx: "550 mailbox unknown", "552 too large")
      // will be refused again: a dead letter now, with the reply. A 4xx or
      // no answer is tried again.
      const std::string why = "SMTP " + host_ + ":" + std::to_string(port_) + ": " + printable(e.displayText(), 500) +
                              (sent ? " (" + std::to_string(sent) + " of " + std::to_string(mails.size()) +
                                          " mails of the batch went out before)"
                                    : std::string());
      if (const int code = replyCode(e); code >= 500 && code < 600) return Outcome::error(why);
      return Outcome::retry(why);
    } catch (const Poco::Exception& e) {
      // Not answering, refusing, timing out: tried again with backoff.
      return Outcome::retry("SMTP " + host_ + ":" + std::to_string(port_) + ": " + printable(e.displayText(), 500));
    } catch (const std::exception& e) {
      return Outcome::retry("SMTP " + host_ + ":" + std::to_string(port_) + ": " + e.what());
    }
    logger_->information("%s: %z mails sent", id_, mails.size());
    return Outcome::ok();
  }

 private:
  Poco::Logger* logger_ = nullptr;
  std::string id_, host_, from_, defaultRecipient_, recipientField_, templateField_, username_, password_;
  Poco::UInt16 port_ = 25;
  std::multimap<std::string, std::string> recipients_;
  std::map<std::string, Template> templates_;
  bool starttls_ = false;
  Poco::Timespan timeout_{30, 0};
};

}  // namespace renkei::connectors::mail

RENKEI_PLUGIN_INFO(renkei::connectors::mail::kInfo)

POCO_BEGIN_MANIFEST(renkei::Connector)
POCO_EXPORT_CLASS(renkei::connectors::mail::MailConnector)
POCO_END_MANIFEST
