// The ticket machine (発券機) linked, not replaced: what the machine offers
// is read as it comes and handed to the host through the engine seam, every
// line once. This first input is the machine's own CSV log, tailed: only
// complete lines are taken (a line the machine is still writing waits), the
// position is kept in the host's store in the same commit as the lines, a
// log renamed away (rotation) is followed by its inode and a log truncated
// or replaced is read again from its start. The machine's columns become
// the record's fields by name; a route's mapping turns the vendor's fields
// and codes into the normalised ticket event. connectors/ticketing/README.md
// has every key.
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <chrono>
#include <filesystem>
#include <fnmatch.h>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "renkei/sdk.h"
#include "renkei/support/codec.h"
#include "renkei/support/diagnostics.h"
#include "renkei/support/http_server.h"
#include "renkei/support/seal.h"
#include "renkei/support/worker.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors::ticketing {
namespace {

const renkei_config_key kKeys[] = {
    {"site", "string", nullptr, 1,
     "The site the machine stands in (本庁舎, 北支所 …): stamped on every record as `site`, part of every event's key."},
    {"log-directory", "path", nullptr, 1,
     "The folder the machine writes its CSV log into. renkei only reads it: the machine keeps, rotates and removes "
     "its own files."},
    {"log-pattern", "list", "*.csv;*.log", 0, "The log files' names, shell globs separated by ';'."},
    {"columns", "list", "", 0,
     "The log's column names in order, separated by ';'. Empty: the first line of each log file is its header."},
    {"encoding", "string", "utf-8", 0, "The log's encoding (utf-8, cp932 / windows-31j, shift_jis, euc-jp)."},
    {"delimiter", "string", ",", 0, "The log's field separator: one character (a comma, or \\t for a tab)."},
    {"record", "string", "ticket.log", 0, "Record type of the lines handed to the host (routes take it with records=)."},
    {"poll", "duration", "1s", 0, "How often the log is looked at for new lines."},
    {"max-line", "size", "64KiB", 0,
     "A longer line is refused with its file:line (the machine's log is kept as it is) and the reading goes on."},
    {"batch-lines", "int", "500", 0, "At most this many lines in one commit."},
    {"listen", "string", "", 0,
     "host:port of a TCP listener for JSON lines (one event per line, a flat or nested object); each line answered "
     "`ok` once committed or `error <why>`. Empty: no listener. Bind the LGWAN address the machine reaches."},
    {"max-connections", "int", "16", 0, "Connections served at once on listen; more wait, then are closed."},
    {"idle-timeout", "duration", "60s", 0, "A connection that sends nothing for this long is closed."},
    {"tcp-record", "string", "ticket.json", 0, "Record type of the lines taken on listen."},
    {"webhook-listen", "string", "", 0,
     "host:port of the HTTPS webhook a vendor's service posts events to (JSON, signed with HMAC-SHA256). Empty: "
     "none."},
    {"webhook-certificate", "path", nullptr, 0, "The webhook's TLS certificate (PEM), with webhook-listen."},
    {"webhook-key", "path", nullptr, 0, "Its private key (PEM, mode 600)."},
    {"webhook-secret", "path", nullptr, 0,
     "A file holding the shared secret the vendor signs each body with (HMAC-SHA256); never in the config."},
    {"webhook-path", "string", "/ticketing/events", 0, "The path events are posted to."},
    {"webhook-signature-header", "string", "X-Signature", 0,
     "The header carrying the body's signature: lowercase hex, optionally after `sha256=`."},
    {"webhook-max-body", "size", "1MiB", 0, "A larger body is refused (413) before it is read."},
    {"webhook-record", "string", "ticket.webhook", 0, "Record type of the events taken on the webhook."},
};

/// A JSON value's leaves as fields: nested objects by dotted names
/// ("data.ticket.number"), arrays by index; false past 8 levels or 200
/// fields (a hostile line).
bool flatten(const Poco::Dynamic::Var& v, const std::string& name, std::vector<std::pair<std::string, std::string>>& out,
             int depth = 0) {
  if (depth > 8 || out.size() > 200) return false;
  if (v.type() == typeid(Poco::JSON::Object::Ptr)) {
    const auto o = v.extract<Poco::JSON::Object::Ptr>();
    for (const auto& [k, child] : *o)
      if (!flatten(child, name.empty() ? k : name + "." + k, out, depth + 1)) return false;
    return true;
  }
  if (v.type() == typeid(Poco::JSON::Array::Ptr)) {
    const auto a = v.extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < a->size(); ++i)
      if (!flatten(a->get(static_cast<unsigned>(i)), name + "." + std::to_string(i), out, depth + 1)) return false;
    return true;
  }
  if (name.empty()) return false;  // a line that is not an object
  out.emplace_back(name, v.isEmpty() ? std::string() : v.convert<std::string>());
  return true;
}

/// One CSV line split into fields ("" quoting, the delimiter inside quotes).
/// False when a quote is left open.
bool splitCsv(std::string_view line, char delimiter, std::vector<std::string>& out) {
  out.clear();
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"' && field.empty()) {
      quoted = true;
    } else if (c == delimiter) {
      out.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  if (quoted) return false;
  out.push_back(std::move(field));
  return true;
}

/// Where a log file was read to, kept per file (device and inode: a log
/// renamed away by rotation is the same file).
struct Tail {
  std::string name;
  std::int64_t offset = 0, line = 0;  ///< bytes taken, lines taken
  std::int64_t headLength = 0;        ///< bytes the head hash covers (up to 256)
  std::string head;                   ///< SHA-256 of those first bytes: a file replaced under the same inode differs
  std::string header;                 ///< the header line's names ('\t'-joined), when the file has one
};

class TicketingConnector final : public Connector {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    log_ = context.logger;
    id_ = context.id;
    services_ = context.services;
    once_ = context.once;
    site_ = settings.getString("site");
    if (site_.empty() || site_.size() > 64) throw ConfigError("site: 1 to 64 bytes");
    directory_ = settings.getPath("log-directory");
    patterns_ = settings.getList("log-pattern");
    if (patterns_.empty()) throw ConfigError("log-pattern: at least one");
    columns_ = settings.getList("columns");
    const std::string encoding = text::canonicalCodecName(settings.getString("encoding"));
    codec_ = text::findCodec(encoding);
    if (!codec_)
      throw ConfigError("encoding: '" + settings.getString("encoding") + "' is not one of " +
                        joinList(text::codecNames()));
    std::string delimiter = settings.getString("delimiter");
    if (delimiter == "\\t") delimiter = "\t";
    if (delimiter.size() != 1 || delimiter == "\"" || delimiter == "\n")
      throw ConfigError("delimiter: one character (\\t for a tab), not a quote");
    delimiter_ = delimiter[0];
    record_ = settings.getString("record");
    poll_ = std::chrono::duration_cast<std::chrono::milliseconds>(settings.getDuration("poll"));
    maxLine_ = settings.getSize("max-line");
    if (maxLine_ < 256 || maxLine_ > (16u << 20)) throw ConfigError("max-line: 256 bytes to 16MiB");
    batchLines_ = settings.getInt("batch-lines");
    if (batchLines_ < 1 || batchLines_ > 100000) throw ConfigError("batch-lines: 1 to 100000");
    listen_ = settings.getString("listen");
    tcpRecord_ = settings.getString("tcp-record");
    maxConnections_ = static_cast<int>(settings.getInt("max-connections"));
    if (maxConnections_ < 1 || maxConnections_ > 1024) throw ConfigError("max-connections: 1 to 1024");
    idle_ = std::chrono::duration_cast<std::chrono::milliseconds>(settings.getDuration("idle-timeout"));
    if (idle_.count() < 1000) throw ConfigError("idle-timeout: 1s at least");
    webhookListen_ = settings.getString("webhook-listen");
    webhookPath_ = settings.getString("webhook-path");
    webhookHeader_ = settings.getString("webhook-signature-header");
    webhookRecord_ = settings.getString("webhook-record");
    webhookMaxBody_ = settings.getSize("webhook-max-body");
    if (!webhookListen_.empty()) {
      for (const char* k : {"webhook-certificate", "webhook-key", "webhook-secret"})
        if (!settings.has(k)) throw ConfigError(std::string("webhook-listen needs ") + k);
      webhookCertificate_ = settings.getPath("webhook-certificate");
      webhookKey_ = settings.getPath("webhook-key");
      std::ifstream in(settings.getPath("webhook-secret"), std::ios::binary);
      std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
      if (!in.good() && !in.eof()) throw ConfigError("webhook-secret: cannot read the file");
      if (secret.size() < 16) throw ConfigError("webhook-secret: at least 16 bytes (a secret a vendor cannot guess)");
      webhookSecret_ = std::move(secret);
      if (webhookMaxBody_ < 1024 || webhookMaxBody_ > (64u << 20)) throw ConfigError("webhook-max-body: 1KiB to 64MiB");
    }
    if (!listen_.empty()) {
      try {
        Poco::Net::SocketAddress check(listen_);
        (void)check;
      } catch (const Poco::Exception& e) {
        throw ConfigError("listen: '" + listen_ + "' is not host:port (" + e.displayText() + ")");
      }
    }
    if (context.validating) return;  // renkei check: no store
    state_ = &services_->state();
    state_->migrate({
        // 1: how far each log file was read (by device and inode), in the
        // same commit as its lines.
        "CREATE TABLE {tails} (file_id TEXT PRIMARY KEY, name TEXT NOT NULL, byte_offset BIGINT NOT NULL, "
        "line_no BIGINT NOT NULL, head_length BIGINT NOT NULL, head TEXT NOT NULL, header TEXT NOT NULL, "
        "updated_ms BIGINT NOT NULL);",
    });
    tails_ = state_->table("tails");
  }

  std::vector<CertificateFile> certificates() const override {
    if (webhookCertificate_.empty()) return {};
    return {{"webhook", webhookCertificate_}};
  }

  std::vector<EmittedType> emits() const override {
    std::vector<EmittedType> out{{record_, EmittedType::Routes::AtLeastOne, "the ticket machine's log lines"}};
    if (!listen_.empty()) out.push_back({tcpRecord_, EmittedType::Routes::AtLeastOne, "the events taken on listen"});
    if (!webhookListen_.empty())
      out.push_back({webhookRecord_, EmittedType::Routes::AtLeastOne, "the events posted to the webhook"});
    return out;
  }

  void start() override {
    if (once_) return;  // serve --once: takeWaiting() reads on the host's thread; the service holds listen
    Worker::Options o;
    o.interval = poll_;
    worker_.start("ticketing " + id_ + ": reading the machine's log", o, [this] { pass(); }, *log_);
    if (!listen_.empty()) {
      auto* params = new Poco::Net::TCPServerParams;
      params->setMaxThreads(maxConnections_);
      params->setMaxQueued(maxConnections_);
      params->setThreadIdleTime(Poco::Timespan(10, 0));
      tcp_ = std::make_unique<Poco::Net::TCPServer>(
          new Factory(*this), Poco::Net::ServerSocket(Poco::Net::SocketAddress(listen_)), params);
      tcp_->start();
      log_->information("ticketing %s: JSON lines on %s", id_, tcp_->socket().address().toString());
    }
    if (!webhookListen_.empty()) {
      Poco::Net::SecureServerSocket socket(Poco::Net::SocketAddress(webhookListen_), 64,
                                           http::serverContext(webhookKey_.string(), webhookCertificate_.string()));
      const std::string bound = socket.address().toString();
      http::Limits limits;
      limits.threads = 8;
      webhook_ = std::make_unique<http::Server>(socket, new WebhookFactory(*this), limits, "ticketing " + id_, *log_);
      webhook_->start();
      log_->information("ticketing %s: webhook on https://%s%s", id_, bound, webhookPath_);
    }
  }
  void stop() override {
    if (webhook_) webhook_->stop();
    webhook_.reset();
    if (tcp_) tcp_->stop();
    tcp_.reset();
    worker_.stop();
  }

  /// One webhook request: the answer's status and body.
  std::pair<int, std::string> takeWebhook(Poco::Net::HTTPServerRequest& request) {
    if (request.getURI() != webhookPath_) return {404, "not found"};
    if (request.getMethod() != "POST") return {405, "POST events here"};
    if (request.hasContentLength() && request.getContentLength64() > static_cast<Poco::Int64>(webhookMaxBody_))
      return refusedWebhook(413, "a body over webhook-max-body");
    std::string body;
    char chunk[16384];
    std::istream& in = request.stream();
    while (in && body.size() <= webhookMaxBody_) {
      in.read(chunk, sizeof chunk);
      body.append(chunk, static_cast<std::size_t>(in.gcount()));
    }
    if (body.size() > webhookMaxBody_) return refusedWebhook(413, "a body over webhook-max-body");
    // The signature first: nothing of an unsigned body is read further.
    std::string given = request.get(webhookHeader_, "");
    if (given.rfind("sha256=", 0) == 0) given.erase(0, 7);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int macLength = 0;
    HMAC(EVP_sha256(), webhookSecret_.data(), static_cast<int>(webhookSecret_.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &macLength);
    static const char* hex = "0123456789abcdef";
    std::string expected;
    for (unsigned int i = 0; i < macLength; ++i) expected += hex[mac[i] >> 4], expected += hex[mac[i] & 15];
    for (char& c : given) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (given.size() != expected.size() || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0)
      return refusedWebhook(401, given.empty() ? "no signature" : "a wrong signature");
    if (firstInvalidUtf8(body) != std::string::npos) return refusedWebhook(400, "a body that is not UTF-8");
    // One event, or an array of them.
    std::vector<std::vector<std::pair<std::string, std::string>>> events;
    try {
      Poco::JSON::Parser parser;
      const Poco::Dynamic::Var v = parser.parse(body);
      std::vector<Poco::Dynamic::Var> items;
      if (v.type() == typeid(Poco::JSON::Array::Ptr)) {
        const auto a = v.extract<Poco::JSON::Array::Ptr>();
        if (a->size() > 1000) return refusedWebhook(400, "more than 1000 events in one body");
        for (std::size_t i = 0; i < a->size(); ++i) items.push_back(a->get(static_cast<unsigned>(i)));
      } else {
        items.push_back(v);
      }
      for (const auto& item : items) {
        events.emplace_back();
        if (!flatten(item, "", events.back())) return refusedWebhook(400, "an event that is not a JSON object");
        if (namedTwice(events.back())) return refusedWebhook(400, "an event with a field named twice");
      }
    } catch (const Poco::Exception&) {
      return refusedWebhook(400, "a body that is not JSON");
    }
    const std::string bodyKey = seal::sha256Hex(body).substr(0, 40);
    for (std::size_t i = 0; i < events.size(); ++i) {
      // The body is the delivery's identity: a webhook sent again lands once.
      const std::string why =
          emitFields(events[i], "webhook", webhookRecord_, "ticketing:" + id_ + ":webhook:" + bodyKey + ":" +
                                                               std::to_string(i));
      if (why == "retry") return {503, "the store cannot take it now; send it again"};
      if (!why.empty()) return refusedWebhook(400, why);
    }
    return {200, "ok"};
  }

  std::pair<int, std::string> refusedWebhook(int status, const std::string& why) {
    // Counted, never stored: what an unsigned caller sent is not kept.
    services_->metrics()
        .counter("renkei_ticketing_webhook_refused_total", "Webhook requests refused, by why",
                 {{"connector", id_}, {"status", std::to_string(status)}})
        .add();
    log_->warning("ticketing %s: webhook request refused (%d): %s", id_, status, why);
    return {status, why};
  }

  static bool namedTwice(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::string> names;
    for (const auto& [k, v] : fields) names.push_back(k);
    std::sort(names.begin(), names.end());
    return std::adjacent_find(names.begin(), names.end()) != names.end();
  }

  /// A record of `fields` (name order) emitted under `key`: "" done,
  /// "retry" when the store cannot take it now, else why it is refused.
  std::string emitFields(const std::vector<std::pair<std::string, std::string>>& fields, const char* source,
                         const std::string& recordType, const std::string& key) {
    if (namedTwice(fields)) return "a field named twice";
    FieldNames n{"site", "source"};
    for (const auto& [k, v] : fields) n.push_back(k);
    std::sort(n.begin() + 2, n.end());
    auto names = std::make_shared<const FieldNames>(n);
    Record r(names);
    r.set(0, site_);
    r.set(1, source);
    for (const auto& [k, v] : fields)
      r.set(static_cast<std::size_t>(std::lower_bound(names->begin() + 2, names->end(), k) - names->begin()), v);
    Emission e;
    e.key = key;
    RecordSet set;
    set.recordType = recordType;
    set.records.push_back(std::move(r));
    e.sets.push_back(std::move(set));
    const Outcome o = services_->emit(e);
    if (o.status() == Outcome::Status::Retry) return "retry";
    return o.isOk() ? "" : o.message();
  }

  /// One JSON line from `peer`: "ok" once committed, or "error <why>".
  std::string takeJson(const std::string& line, const std::string& peer, std::int64_t number) {
    std::vector<std::pair<std::string, std::string>> fields;
    std::string why;
    if (firstInvalidUtf8(line) != std::string::npos) {
      why = "not UTF-8";
    } else {
      try {
        Poco::JSON::Parser parser;
        if (!flatten(parser.parse(line), "", fields)) why = "not a JSON object of at most 200 fields, 8 levels deep";
      } catch (const Poco::Exception&) {
        why = "not JSON";
      }
    }
    // The line itself is the event's identity: the same line sent again
    // (a machine that did not hear the "ok") lands once.
    if (why.empty())
      why = emitFields(fields, "tcp", tcpRecord_, "ticketing:" + id_ + ":json:" + seal::sha256Hex(line).substr(0, 40));
    if (why == "retry") return "error the store cannot take it now; send it again";
    if (!why.empty()) {
      refuse("listen " + peer, number, why);
      return "error " + why;
    }
    return "ok";
  }
  void takeWaiting() override { pass(); }

 private:
  /// Every log file in the folder, oldest first, read to its last complete line.
  void pass() {
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    std::error_code ec;
    for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;  // a link may point anywhere: not followed
      if (std::none_of(patterns_.begin(), patterns_.end(),
                       [&](const std::string& p) { return ::fnmatch(p.c_str(), name.c_str(), 0) == 0; }))
        continue;
      files.emplace_back(it->last_write_time(ec), it->path());
    }
    if (ec) throw std::runtime_error("cannot list " + directory_.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& [when, path] : files) {
      if (worker_.stopRequested()) return;
      tail(path);
    }
  }

  /// Reads `path` from where it was left, commit by commit.
  void tail(const fs::path& path) {
    const std::string name = path.filename().string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;  // gone between the listing and now: the next pass sees what is there
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    const std::string fileId = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    Tail t = load(fileId);
    t.name = name;
    if (t.offset > 0) {
      // Truncated, or another file under a recycled inode: read from the start.
      const bool shorter = st.st_size < t.offset;
      if (shorter || sha(fd, t.headLength) != t.head) {
        log_->warning("ticketing %s: log '%s' was %s: read again from its start (events already taken are taken "
                      "once: their keys)",
                      id_, printable(name), shorter ? "truncated" : "replaced");
        t = Tail{};
        t.name = name;
      }
    }
    std::string chunk;
    while (t.offset < st.st_size) {
      if (worker_.stopRequested()) return;
      // Up to batch-lines complete lines from the offset.
      const std::size_t want = std::min<std::int64_t>(st.st_size - t.offset, static_cast<std::int64_t>(maxLine_) * 4 + 65536);
      chunk.resize(want);
      const ssize_t got = ::pread(fd, chunk.data(), want, t.offset);
      if (got <= 0) return;
      chunk.resize(static_cast<std::size_t>(got));
      if (!take(fd, t, chunk)) return;
      if (::fstat(fd, &st) != 0) return;  // the machine may have written more meanwhile
    }
  }

  /// The lines of `chunk` (read at t.offset) up to batch-lines, handed to
  /// the host with the new position in one commit. False: nothing complete
  /// to take now (a line being written), or the store cannot take it.
  bool take(int fd, Tail& t, const std::string& chunk) {
    std::vector<Record> records;
    std::size_t at = 0, lines = 0;
    std::int64_t beyond = 0;  // bytes past the chunk taken with a line too long to fit it
    std::int64_t lineNo = t.line;
    std::string header = t.header;
    auto names = namesFor(header);
    for (; lines < static_cast<std::size_t>(batchLines_);) {
      const std::size_t nl = chunk.find('\n', at);
      if (nl == std::string::npos) {
        if (chunk.size() - at > maxLine_) {
          // A line longer than max-line: refused once its end is written,
          // and passed over to there.
          const std::int64_t end = newlineAfter(fd, t.offset + static_cast<std::int64_t>(chunk.size()));
          if (end < 0) break;  // not ended yet
          ++lineNo;
          ++lines;
          refuse(t.name, lineNo, "a line longer than max-line (" + std::to_string(maxLine_) + " bytes)");
          beyond = end + 1 - (t.offset + static_cast<std::int64_t>(chunk.size()));
          at = chunk.size();
        }
        break;  // the machine is still writing this line
      }
      std::string_view raw(chunk.data() + at, nl - at);
      at = nl + 1;
      ++lineNo;
      ++lines;
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      if (raw.empty()) continue;
      if (raw.size() > maxLine_) {
        refuse(t.name, lineNo, "a line longer than max-line (" + std::to_string(maxLine_) + " bytes)");
        continue;
      }
      text::CodecStats stats;
      std::string line;
      codec_->decode(raw, line, stats);
      if (stats.invalid) {
        refuse(t.name, lineNo, "bytes " + stats.firstInvalidBytes() + " at byte " +
                                   std::to_string(stats.firstInvalidOffset + 1) + " are not " + codec_->name() +
                                   " (the line is kept in the machine's log)");
        continue;
      }
      std::vector<std::string> fields;
      if (!splitCsv(line, delimiter_, fields)) {
        refuse(t.name, lineNo, "a quote is left open");
        continue;
      }
      if (columns_.empty() && header.empty()) {  // the file's header line
        header = joinList(fields, "\t");
        names = namesFor(header);
        continue;
      }
      const std::size_t expected = names->size() - kOwn;
      if (fields.size() != expected) {
        refuse(t.name, lineNo, std::to_string(fields.size()) + " fields where the " +
                                   (columns_.empty() ? std::string("header") : std::string("columns key")) + " names " +
                                   std::to_string(expected));
        continue;
      }
      Record r(names);
      r.set(0, site_);
      r.set(1, "log");
      r.set(2, t.name);
      r.set(3, std::to_string(lineNo));
      for (std::size_t i = 0; i < fields.size(); ++i) r.set(kOwn + i, std::move(fields[i]));
      records.push_back(std::move(r));
    }
    if (at == 0) return false;
    const std::int64_t from = t.offset;
    Tail next = t;
    next.offset = t.offset + static_cast<std::int64_t>(at) + beyond;
    next.line = lineNo;
    next.header = header;
    next.headLength = std::min<std::int64_t>(next.offset, 256);
    next.head = sha(fd, next.headLength);
    Emission e;
    // The file, where this commit starts and what it holds: a crash before
    // the commit reads the same lines again under the same key.
    e.key = "ticketing:" + id_ + ":" + fileIdOf(fd) + ":" + std::to_string(from) + ":" +
            seal::sha256Hex(std::string_view(chunk.data(), at)).substr(0, 24);
    if (!records.empty()) {
      RecordSet set;
      set.recordType = record_;
      set.records = std::move(records);
      e.sets.push_back(std::move(set));
    }
    const std::string fileId = fileIdOf(fd);
    const std::int64_t now = services_->nowMs();
    e.state = [this, fileId, next, now](StateSession& s) {
      const std::vector<StateValue> values{next.name, next.offset, next.line, next.headLength, next.head, next.header,
                                           now, fileId};
      if (s.run("UPDATE " + tails_ +
                    " SET name = ?, byte_offset = ?, line_no = ?, head_length = ?, head = ?, header = ?, updated_ms = ? "
                    "WHERE file_id = ?",
                values) == 0)
        s.run("INSERT INTO " + tails_ +
                  " (name, byte_offset, line_no, head_length, head, header, updated_ms, file_id) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              values);
    };
    const Outcome o = services_->emit(e);
    if (o.status() == Outcome::Status::Retry) throw std::runtime_error("the store cannot take the lines now: " + o.message());
    if (!o.isOk()) throw std::runtime_error(o.message());
    t = next;
    return true;
  }

  /// A connection on listen: JSON lines in, one answer per line out;
  /// closed on a line past max-line or after idle-timeout of silence.
  class Connection final : public Poco::Net::TCPServerConnection {
   public:
    Connection(const Poco::Net::StreamSocket& s, TicketingConnector& owner)
        : Poco::Net::TCPServerConnection(s), owner_(owner) {}
    void run() override {
      Poco::Net::StreamSocket& s = socket();
      std::string peer;
      try {
        peer = s.peerAddress().toString();
        // A client that sends and never reads its answers would block the
        // answer (and this thread) once its buffer is full: bounded too.
        const Poco::Timespan idle(static_cast<Poco::Timespan::TimeDiff>(owner_.idle_.count()) * 1000);
        s.setReceiveTimeout(idle);
        s.setSendTimeout(idle);
        std::string buffer;
        char chunk[16384];
        std::int64_t number = 0, refused = 0;
        for (;;) {
          const int n = s.receiveBytes(chunk, sizeof chunk);
          if (n <= 0) return;
          buffer.append(chunk, static_cast<std::size_t>(n));
          for (std::size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            ++number;
            if (line.empty()) continue;
            std::string answer;
            if (line.size() > owner_.maxLine_) {
              answer = "error a line longer than max-line";
              owner_.refuse("listen " + peer, number, "a line longer than max-line");
            } else {
              answer = owner_.takeJson(line, peer, number);
            }
            // A client that sends nothing but garbage does not fill the
            // refusals: after 100 on one connection it is closed.
            const bool enough = answer.rfind("error", 0) == 0 && ++refused >= kMaxRefused;
            if (enough) answer += "; too many refused lines: the connection is closed";
            answer += "\n";
            s.sendBytes(answer.data(), static_cast<int>(answer.size()));
            if (enough) {
              owner_.refuse("listen " + peer, number, std::to_string(kMaxRefused) + " lines refused: closed");
              return;
            }
          }
          if (buffer.size() > owner_.maxLine_) {
            owner_.refuse("listen " + peer, number + 1, "a line longer than max-line: the connection is closed");
            const std::string out = "error a line longer than max-line\n";
            s.sendBytes(out.data(), static_cast<int>(out.size()));
            return;
          }
        }
      } catch (const Poco::TimeoutException&) {
        // idle-timeout: closed
      } catch (const Poco::Exception&) {
        // the peer went away
      }
    }

   private:
    static constexpr std::int64_t kMaxRefused = 100;
    TicketingConnector& owner_;
  };
  class Factory final : public Poco::Net::TCPServerConnectionFactory {
   public:
    explicit Factory(TicketingConnector& owner) : owner_(owner) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& s) override {
      return new Connection(s, owner_);
    }

   private:
    TicketingConnector& owner_;
  };

  class WebhookHandler final : public Poco::Net::HTTPRequestHandler {
   public:
    explicit WebhookHandler(TicketingConnector& owner) : owner_(owner) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
      const auto [status, text] = owner_.takeWebhook(request);
      response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
      response.setContentType("text/plain; charset=utf-8");
      response.setKeepAlive(false);
      response.send() << text << "\n";
    }

   private:
    TicketingConnector& owner_;
  };
  class WebhookFactory final : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit WebhookFactory(TicketingConnector& owner) : owner_(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
      return new WebhookHandler(owner_);
    }

   private:
    TicketingConnector& owner_;
  };

  static constexpr std::size_t kOwn = 4;  ///< site, source, file, line before the machine's columns

  std::shared_ptr<const FieldNames> namesFor(const std::string& header) {
    auto& slot = names_[header];
    if (!slot) {
      FieldNames n{"site", "source", "file", "line"};
      if (!columns_.empty()) {
        n.insert(n.end(), columns_.begin(), columns_.end());
      } else {
        std::size_t from = 0;
        while (!header.empty() && from <= header.size()) {
          const std::size_t tab = header.find('\t', from);
          n.push_back(header.substr(from, tab == std::string::npos ? std::string::npos : tab - from));
          if (tab == std::string::npos) break;
          from = tab + 1;
        }
      }
      slot = std::make_shared<const FieldNames>(std::move(n));
    }
    return slot;
  }

  void refuse(const std::string& file, std::int64_t line, const std::string& why) {
    const std::string where = file + ":" + std::to_string(line);
    log_->warning("ticketing %s: %s: %s", id_, printable(where), why);
    services_->recordRefusal(where, why);
  }

  Tail load(const std::string& fileId) {
    Tail t;
    state_->read([&](StateSession& s) {
      s.query("SELECT name, byte_offset, line_no, head_length, head, header FROM " + tails_ + " WHERE file_id = ?",
              {fileId}, [&](StateRows& row) {
                t.name = row.text(0);
                t.offset = row.integer(1);
                t.line = row.integer(2);
                t.headLength = row.integer(3);
                t.head = row.text(4);
                t.header = row.text(5);
              });
    });
    return t;
  }

  static std::string fileIdOf(int fd) {
    struct stat st {};
    ::fstat(fd, &st);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }

  /// The offset of the first newline at or after `from`, or -1 (none yet).
  static std::int64_t newlineAfter(int fd, std::int64_t from) {
    char buf[65536];
    for (;;) {
      const ssize_t got = ::pread(fd, buf, sizeof buf, from);
      if (got <= 0) return -1;
      if (const void* nl = std::memchr(buf, '\n', static_cast<std::size_t>(got)))
        return from + (static_cast<const char*>(nl) - buf);
      from += got;
    }
  }

  /// SHA-256 of the first `length` bytes of the file.
  static std::string sha(int fd, std::int64_t length) {
    std::string bytes(static_cast<std::size_t>(std::max<std::int64_t>(length, 0)), '\0');
    const ssize_t got = bytes.empty() ? 0 : ::pread(fd, bytes.data(), bytes.size(), 0);
    bytes.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return seal::sha256Hex(bytes);
  }

  Poco::Logger* log_ = nullptr;
  std::string id_, site_, record_, tails_;
  HostServices* services_ = nullptr;
  StateStore* state_ = nullptr;
  bool once_ = false;
  fs::path directory_;
  std::vector<std::string> patterns_, columns_;
  const text::Codec* codec_ = nullptr;
  char delimiter_ = ',';
  std::chrono::milliseconds poll_{1000};
  std::uint64_t maxLine_ = 65536;
  std::int64_t batchLines_ = 500;
  std::map<std::string, std::shared_ptr<const FieldNames>> names_;
  Worker worker_;
  std::string listen_, tcpRecord_;
  int maxConnections_ = 16;
  std::chrono::milliseconds idle_{60000};
  std::unique_ptr<Poco::Net::TCPServer> tcp_;
  std::string webhookListen_, webhookPath_, webhookHeader_, webhookRecord_, webhookSecret_;
  fs::path webhookCertificate_, webhookKey_;
  std::uint64_t webhookMaxBody_ = 1u << 20;
  std::unique_ptr<http::Server> webhook_;
};

}  // namespace
}  // namespace renkei::connectors::ticketing

RENKEI_PLUGIN(Connector, renkei::connectors::ticketing::TicketingConnector, "ticketing", "0.1.0", "experimental",
              "The ticket machine (発券機) linked: its CSV log tailed, every line once through the engine seam",
              RENKEI_ROLE_EMITTER, renkei::connectors::ticketing::kKeys,
              std::size(renkei::connectors::ticketing::kKeys))
