// The window-system interface over TLS. See api_server.h.
//
// Who is calling is known only once the TLS handshake is done, which Thrift
// does lazily on the first read; so each connection gets a processor that,
// on its first call, reads the client certificate's name from the socket and
// builds the services for that caller.
#include "api_server.h"
#include "host_services.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <list>
#include <cctype>
#include <thread>
#include <chrono>
#include <memory>
#include <mutex>
#include <future>
#include <stdexcept>

#include <thrift/TOutput.h>
#include <thrift/processor/TMultiplexedProcessor.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/server/TThreadedServer.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLServerSocket.h>
#include <thrift/transport/TSSLSocket.h>

#include "api/RecordService.h"
#include "api_limits.h"
#include "log_channel.h"
#include "tcp_progress.h"
#include "json_lines.h"
#include "store/store.h"

namespace renkei {

using apache::thrift::TProcessor;
using apache::thrift::protocol::TProtocol;
namespace tt = apache::thrift::transport;

namespace {

/// A server-side TLS socket that remembers its peer's certificate name.
class PeerSocket final : public tt::TSSLSocket {
 public:
  PeerSocket(std::shared_ptr<tt::SSLContext> ctx, THRIFT_SOCKET socket, std::shared_ptr<THRIFT_SOCKET> interrupt)
      : TSSLSocket(std::move(ctx), socket, std::move(interrupt)) {}

  const std::string& client() const { return client_; }
  /// Why the peer's certificate was not accepted ("certificate revoked" …),
  /// or "" when the chain check passed or did not run.
  std::string verifyProblem() const {
    if (!ssl_) return {};
    const long result = SSL_get_verify_result(ssl_);
    return result == X509_V_OK ? std::string() : X509_verify_cert_error_string(result);
  }
  /// Runs the handshake now (Thrift would on the first read); false when it
  /// did not complete. Throws when the peer is refused.
  bool handshake() {
    initializeHandshake();
    return checkHandshake();
  }

 protected:
  void authorize() override {
    TSSLSocket::authorize();  // the chain was verified against client-ca; a missing certificate fails here
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (!cert) throw tt::TSSLException("no client certificate");
    std::unique_ptr<X509, void (*)(X509*)> owned(cert, X509_free);
    client_ = commonName(X509_get_subject_name(cert));
  }

  /// The subject's one common name, read exactly: a name with an embedded
  /// NUL ("window-demo\0.evil" read as "window-demo" before), with control
  /// characters, with more than one CN, or longer than 64 characters is
  /// refused rather than guessed at.
  static std::string commonName(X509_NAME* subject) {
    int found = -1, count = 0;
    for (int i = -1; (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0;) {
      found = i;
      ++count;
    }
    if (count == 0) throw tt::TSSLException("the client certificate has no common name");
    if (count > 1) throw tt::TSSLException("the client certificate has more than one common name");
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, found));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, data);
    if (length < 0) throw tt::TSSLException("the client certificate's common name is not readable text");
    std::string name(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    if (name.empty()) throw tt::TSSLException("the client certificate's common name is empty");
    if (name.size() > 64) throw tt::TSSLException("the client certificate's common name is longer than 64 bytes");
    for (unsigned char c : name)
      if (c < 0x20 || c == 0x7F)
        throw tt::TSSLException("the client certificate's common name holds a control character");
    return name;
  }

 private:
  std::string client_;
};

}  // namespace

namespace {

/// The certificate revocation list of <api crl>: read at start (a bad one
/// stops the start), read again when the file changes (looked at no more
/// than once a second, on a handshake); a changed file that does not load
/// or whose signature is not the client CA's keeps the previous list, with
/// an error in the log. Used from OpenSSL's verify callback.
class CrlGuard {
 public:
  CrlGuard(std::filesystem::path file, std::filesystem::path caFile) : file_(std::move(file)), caFile_(std::move(caFile)) {
    std::string error;
    auto crl = load(error);
    if (!crl) throw std::runtime_error("api: crl '" + file_.string() + "': " + error);
    crl_ = std::move(crl);
  }

  /// True when `cert` is on the current list.
  bool revoked(X509* cert) {
    std::shared_ptr<X509_CRL> crl = current();
    X509_REVOKED* entry = nullptr;
    return crl && X509_CRL_get0_by_cert(crl.get(), &entry, cert) == 1;
  }

  static CrlGuard* active;  ///< the API server's (one per process)

 private:
  std::shared_ptr<X509_CRL> current() {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - lastLook_ >= std::chrono::seconds(1)) {
      lastLook_ = now;
      std::error_code ec;
      const auto mtime = std::filesystem::last_write_time(file_, ec);
      if (!ec && mtime != mtime_) {
        std::string error;
        if (auto crl = load(error)) {
          crl_ = std::move(crl);
          Poco::Logger::get("renkei.api").notice("api: crl '%s' loaded again (%d revoked certificates)",
                                                 file_.string(), count(crl_.get()));
        } else {
          Poco::Logger::get("renkei.api").error("api: crl '%s' changed but is not usable (%s); the previous list stays",
                                                file_.string(), error);
        }
        mtime_ = mtime;  // reported once per change
      }
    }
    return crl_;
  }

  static int count(X509_CRL* crl) {
    STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl);
    return list ? sk_X509_REVOKED_num(list) : 0;
  }

  std::shared_ptr<X509_CRL> load(std::string& error) {
    std::error_code ec;
    mtime_ = std::filesystem::last_write_time(file_, ec);
    std::unique_ptr<BIO, void (*)(BIO*)> in(BIO_new_file(file_.c_str(), "rb"), BIO_free_all);
    if (!in) return error = "cannot read it", nullptr;
    X509_CRL* crl = PEM_read_bio_X509_CRL(in.get(), nullptr, nullptr, nullptr);
    if (!crl) {
      BIO_reset(in.get());
      crl = d2i_X509_CRL_bio(in.get(), nullptr);
    }
    if (!crl) return error = "not a certificate revocation list (PEM or DER)", nullptr;
    std::shared_ptr<X509_CRL> owned(crl, X509_CRL_free);
    // Only a list signed by the CA that issues the client certificates.
    std::unique_ptr<BIO, void (*)(BIO*)> cas(BIO_new_file(caFile_.c_str(), "rb"), BIO_free_all);
    bool signedByCa = false;
    while (cas && !signedByCa) {
      X509* ca = PEM_read_bio_X509(cas.get(), nullptr, nullptr, nullptr);
      if (!ca) break;
      if (X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) == 0)
        signedByCa = X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1;
      X509_free(ca);
    }
    ERR_clear_error();
    if (!signedByCa) return error = "not signed by a CA of client-ca", nullptr;
    return owned;
  }

  std::filesystem::path file_, caFile_;
  std::mutex mutex_;
  std::shared_ptr<X509_CRL> crl_;
  std::filesystem::file_time_type mtime_{};
  std::chrono::steady_clock::time_point lastLook_{};
};

CrlGuard* CrlGuard::active = nullptr;

/// OpenSSL's chain check first; then the client's own certificate against
/// the revocation list.
int verifyWithCrl(int preverified, X509_STORE_CTX* ctx) {
  if (!preverified) return 0;
  if (X509_STORE_CTX_get_error_depth(ctx) != 0 || !CrlGuard::active) return 1;
  if (CrlGuard::active->revoked(X509_STORE_CTX_get_current_cert(ctx))) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REVOKED);
    return 0;
  }
  return 1;
}

}  // namespace

class ApiServer::Factory final : public tt::TSSLSocketFactory {
 public:
  explicit Factory(const ApiConfig& api) : TSSLSocketFactory(tt::SSLTLS) {
    server(true);
    SSL_CTX* ctx = ctx_->get();
    // TLS 1.2 at least (the version-flexible method would allow older ones
    // at a lower security level).
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    ciphers("HIGH:!aNULL:!MD5:!RC4");
    auto load = [](const char* what, const std::filesystem::path& file, auto&& fn) {
      try {
        fn(file.c_str());
      } catch (const std::exception& e) {
        throw std::runtime_error(std::string("api: ") + what + " '" + file.string() + "': " + e.what());
      }
    };
    load("certificate", api.certificate, [&](const char* f) { loadCertificate(f); });
    load("key", api.key, [&](const char* f) { loadPrivateKey(f); });
    if (SSL_CTX_check_private_key(ctx) != 1)
      throw std::runtime_error("api: key '" + api.key.string() + "' does not belong to certificate '" +
                               api.certificate.string() + "'");
    load("client-ca", api.clientCa, [&](const char* f) { loadTrustedCertificates(f); });
    // Tell clients which CAs we accept (they pick their certificate by it).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(api.clientCa.c_str()))
      SSL_CTX_set_client_CA_list(ctx, names);
    authenticate(true);  // a client certificate is required
    if (!api.crl.empty()) {
      crl_ = std::make_unique<CrlGuard>(api.crl, api.clientCa);
      CrlGuard::active = crl_.get();
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verifyWithCrl);
    }
  }
  ~Factory() override {
    if (CrlGuard::active == crl_.get()) CrlGuard::active = nullptr;
  }

  std::shared_ptr<tt::TSSLSocket> createSocket(THRIFT_SOCKET socket) override {
    return createSocket(socket, nullptr);
  }
  std::shared_ptr<tt::TSSLSocket> createSocket(THRIFT_SOCKET socket,
                                              std::shared_ptr<THRIFT_SOCKET> interrupt) override {
    auto s = std::make_shared<PeerSocket>(ctx_, socket, std::move(interrupt));
    s->server(true);
    return s;
  }

 private:
  std::unique_ptr<CrlGuard> crl_;
};

namespace {

/// Looked up once: Logger::get takes a process-wide lock.
/// A call's line in the audit trail: the one format (host_services.h).
void callAudit(const ApiCaller& caller, const std::string& call, const std::string& result, bool refused = false) {
  AuditEntry e;
  e.who = caller.client;
  e.address = caller.address;
  e.action = call;
  e.result = result;
  writeAudit(e, refused);
}

Poco::Logger& accessLog() {
  static Poco::Logger& log = Poco::Logger::get("renkei.access");
  return log;
}

using api_limits::kMaxAckTokens;
using api_limits::kMaxContainerItems;
using api_limits::kMaxStringBytes;

/// Connections that have not finished their TLS handshake are the ones an
/// attacker without a certificate can hold: they get a pool of their own.
/// A handshake gets handshake-timeout in all (one byte every few seconds
/// resets no timer); when the pool, or one address's share of it, is full,
/// the oldest handshake there is cut to make room for the newest, so a
/// window system's handshake (milliseconds) gets through however many
/// connections are held open. Cutting is shutdown(2) on a socket that is
/// still registered (its owner leaves before closing it).
class HandshakeGuard {
 public:
  HandshakeGuard(std::size_t maxPending, std::size_t maxPerAddress, std::chrono::milliseconds timeout)
      : maxPending_(maxPending), maxPerAddress_(maxPerAddress), timeout_(timeout) {
    watchdog_ = std::thread([this] { watch(); });
  }
  ~HandshakeGuard() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    wake_.notify_all();
    watchdog_.join();
  }

  /// Leaves the pool when destroyed (before the socket is closed).
  class Entry {
   public:
    Entry(HandshakeGuard& guard, std::uint64_t id) : guard_(guard), id_(id) {}
    ~Entry() { guard_.leave(id_); }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

   private:
    HandshakeGuard& guard_;
    std::uint64_t id_;
  };

  std::unique_ptr<Entry> enter(int fd, const std::string& host) {
    std::lock_guard lock(mutex_);
    std::size_t sameHost = 0;
    for (const Pending& p : pending_) sameHost += p.host == host && !p.cut;
    if (sameHost >= maxPerAddress_)
      cutLeastProgress(&host, "more handshakes from this address than max-handshakes-per-address");
    else if (live() >= maxPending_)
      cutLeastProgress(nullptr, "more handshakes at once than max-handshakes");
    pending_.push_back({++nextId_, fd, host, std::chrono::steady_clock::now(), false});
    return std::make_unique<Entry>(*this, nextId_);
  }

 private:
  struct Pending {
    std::uint64_t id;
    int fd;
    std::string host;
    std::chrono::steady_clock::time_point started;
    bool cut;
  };

  std::size_t live() const {
    std::size_t n = 0;
    for (const Pending& p : pending_) n += !p.cut;
    return n;
  }

  // The one to cut: among the handshakes that have not even sent a
  // ClientHello's worth of bytes (a silent or a dribbling connection), the
  // one whose peer has sent the least, the oldest among equals; `host`
  // limits the choice. A handshake that is moving is never cut for room
  // (a window system's connection pool opening 50 connections at once is a
  // burst, not an attack): the pool then grows, bounded by max-connections
  // and each handshake by handshake-timeout.
  void cutLeastProgress(const std::string* host, const char* why) {
    constexpr std::uint64_t kMoving = 64;  // a TLS ClientHello is larger
    Pending* victim = nullptr;
    std::uint64_t least = 0;
    for (Pending& p : pending_) {
      if (p.cut || (host && p.host != *host)) continue;
      const std::uint64_t received = tcpBytesReceived(p.fd);
      if (received >= kMoving) continue;
      if (!victim || received < least) victim = &p, least = received;
    }
    if (victim) cut(*victim, why);
  }

  void cut(Pending& p, const char* why) {
    p.cut = true;
    ::shutdown(p.fd, SHUT_RDWR);
    ++cuts_;
    if (cuts_ == 1 || cuts_ % 1000 == 0)
      accessLog().warning("address=%s handshake cut: %s (%s cut since start)", p.host, std::string(why),
                          std::to_string(cuts_));
  }

  void leave(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    for (auto it = pending_.begin(); it != pending_.end(); ++it)
      if (it->id == id) {
        pending_.erase(it);
        return;
      }
  }

  void watch() {
    std::unique_lock lock(mutex_);
    while (!quit_) {
      wake_.wait_for(lock, std::chrono::milliseconds(250));
      const auto now = std::chrono::steady_clock::now();
      for (Pending& p : pending_)
        if (!p.cut && now - p.started > timeout_) cut(p, "handshake-timeout passed");
    }
  }

  const std::size_t maxPending_, maxPerAddress_;
  const std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<Pending> pending_;
  std::uint64_t nextId_ = 0, cuts_ = 0;
  bool quit_ = false;
  std::thread watchdog_;
};

/// Failed handshakes (a scanner, a wrong certificate, a slow client) are
/// logged with the address and reason, at most 20 lines a minute; the rest
/// are counted and the count is logged with the next line.
void logHandshakeFailure(const std::string& address, const std::string& reason) {
  static std::mutex mutex;
  static std::chrono::steady_clock::time_point window{};
  static int inWindow = 0;
  static std::uint64_t suppressed = 0, total = 0;
  std::lock_guard lock(mutex);
  ++total;
  const auto now = std::chrono::steady_clock::now();
  if (now - window > std::chrono::minutes(1)) {
    window = now;
    inWindow = 0;
  }
  if (++inWindow > 20) {
    ++suppressed;
    return;
  }
  std::string more;
  if (suppressed) more = " (" + std::to_string(suppressed) + " more not logged)";
  suppressed = 0;
  accessLog().warning("address=%s handshake failed: %s; %s failed since start%s", address, reason,
                      std::to_string(total), more);
}

/// Makes sure every call has an access-log line: when its reply is written
/// and the handler (the host's or a plugin's) wrote none for it — a call
/// refused before the handler logged, a handler that logs nothing — one is
/// written here. Calls that logged their own line cost nothing more.
class CallLog final : public apache::thrift::TProcessorEventHandler {
 public:
  CallLog(ApiCaller caller, pipeline::MetricsRegistry* metrics) : caller_(std::move(caller)), metrics_(metrics) {}
  void* getContext(const char*, void*) override {
    return new Context{std::chrono::steady_clock::now(), accessLinesOnThisThread()};
  }
  void freeContext(void* ctx, const char*) override { delete static_cast<Context*>(ctx); }
  void postWrite(void* ctx, const char* fn, uint32_t) override {
    const auto* c = static_cast<Context*>(ctx);
    const auto took = std::chrono::steady_clock::now() - c->started;
    if (metrics_) {
      // fn is "Service:method" (multiplexed) or "method".
      metrics_->histogram("renkei_api_call_seconds", "Window-system API calls and their latency", {{"call", fn}})
          .observe(std::chrono::duration<double>(took).count());
    }
    if (accessLinesOnThisThread() != c->linesBefore) return;  // the handler logged the call
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(took);
    callAudit(caller_, fn, "replied us=" + std::to_string(us.count()));
  }
  void handlerError(void*, const char* fn) override {
    callAudit(caller_, fn, "failed inside the handler", true);
  }

 private:
  struct Context {
    std::chrono::steady_clock::time_point started;
    std::uint64_t linesBefore;
  };
  ApiCaller caller_;
  pipeline::MetricsRegistry* metrics_ = nullptr;
};

api::ApiError apiError(api::ErrorCode::type code, std::string message) {
  api::ApiError e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

/// RecordService: subscriptions are outbox targets; a pull leases rows to the
/// caller for the ack time-out, an ack marks them delivered.
class RecordHandler final : public api::RecordServiceIf {
 public:
  RecordHandler(const HostConfig& config, store::Store& store, std::mutex& storeMutex, ApiCaller caller)
      : config_(config), store_(store), storeMutex_(storeMutex), caller_(std::move(caller)) {}

  void pull(std::vector<api::RecordBatch>& out, const std::string& subscription, int32_t maxBatches) override {
    const SubscriptionConfig& sub = allowed(subscription, "pull");
    if (maxBatches < 1 || maxBatches > 100)
      throw refused("RecordService.pull", api::ErrorCode::BAD_REQUEST, "maxBatches must be 1 to 100");
    std::vector<std::string> routes;
    for (const RouteConfig& r : config_.routes)
      if (std::find(r.to.begin(), r.to.end(), sub.id) != r.to.end()) routes.push_back(r.id);
    std::size_t records = 0;
    try {
      std::lock_guard lock(storeMutex_);
      const auto rows = routes.empty() ? std::vector<store::Delivery>{}
                                       : store_.claimDeliveries(caller_.client, sub.ackTimeout.count(),
                                                                static_cast<std::size_t>(maxBatches), routes, {sub.id},
                                                                /*countHandOut=*/true);
      for (const store::Delivery& d : rows) {
        auto stored = store_.payload(d.batchId);
        if (!stored) continue;  // pruned meanwhile: nothing to hand out
        api::RecordBatch b;
        b.token = d.batchId;
        b.route = d.route;
        b.sourceItem = d.sourceItem;
        b.delivery = d.attempts + 1;
        auto names = parseNameArray(stored->first);
        if (!names) throw apiError(api::ErrorCode::INTERNAL, "batch " + d.batchId + ": stored field names unreadable");
        b.fields = *names;
        auto shared = std::make_shared<const FieldNames>(*names);
        std::vector<Record> recs;
        if (auto err = parseJsonArrays(stored->second, shared, recs))
          throw apiError(api::ErrorCode::INTERNAL, "batch " + d.batchId + ": " + *err);
        b.records.reserve(recs.size());
        for (const Record& r : recs) {
          std::vector<std::string> row;
          row.reserve(r.size());
          for (std::size_t i = 0; i < r.size(); ++i) row.push_back(r.value(i));
          b.records.push_back(std::move(row));
        }
        records += b.records.size();
        out.push_back(std::move(b));
      }
    } catch (const store::StoreError& e) {
      throw apiError(api::ErrorCode::UNAVAILABLE, std::string("store: ") + e.what());
    }
    std::string tokens;  // batch ids: which records went out, without their content
    for (const auto& b : out) tokens += (tokens.empty() ? "" : ",") + b.token;
    callAudit(caller_, "RecordService.pull",
              "subscription=" + sub.id + " batches=" + std::to_string(out.size()) + " records=" +
                  std::to_string(records) + (tokens.empty() ? std::string() : " tokens=" + tokens));
  }

  void ack(api::AckResult& out, const std::string& subscription, const std::vector<std::string>& tokens) override {
    const SubscriptionConfig& sub = allowed(subscription, "ack");
    // Bounded work per call: the store lock is held while acknowledging.
    if (tokens.size() > kMaxAckTokens)
      throw refused("RecordService.ack", api::ErrorCode::BAD_REQUEST,
                    "at most " + std::to_string(kMaxAckTokens) + " tokens per ack (got " +
                        std::to_string(tokens.size()) + ")");
    out.acknowledged = 0;
    try {
      std::lock_guard lock(storeMutex_);
      for (const std::string& token : tokens) {
        // Acknowledged only while this client holds the row: after a
        // time-out another client may have it.
        bool mine = false;
        for (const store::OutboxEntry& e : store_.batchOutbox(token))
          if (e.target == sub.id && e.state == store::OutboxState::Pending && e.leaseOwner == caller_.client)
            mine = true;
        if (!mine) {
          out.refused.push_back(token);
          continue;
        }
        store_.markDelivered(token, sub.id, caller_.client);
        ++out.acknowledged;
      }
    } catch (const store::StoreError& e) {
      throw apiError(api::ErrorCode::UNAVAILABLE, std::string("store: ") + e.what());
    }
    callAudit(caller_, "RecordService.ack",
              "subscription=" + sub.id + " acknowledged=" + std::to_string(out.acknowledged) +
                  " refused=" + std::to_string(out.refused.size()));
  }

 private:
  /// A refused call, in the access log like every other call.
  api::ApiError refused(const char* call, api::ErrorCode::type code, const std::string& message) {
    callAudit(caller_, call, "refused: " + message, true);
    return apiError(code, message);
  }

  const SubscriptionConfig& allowed(const std::string& id, const char* call) {
    const SubscriptionConfig* sub = config_.findSubscription(id);
    if (!sub)
      throw refused((std::string("RecordService.") + call).c_str(), api::ErrorCode::NOT_FOUND,
                    "no subscription '" + id + "'");
    if (std::find(sub->clients.begin(), sub->clients.end(), caller_.client) == sub->clients.end()) {
      callAudit(caller_, std::string("RecordService.") + call, "subscription=" + id + " refused: not a client of it",
                true);
      throw apiError(api::ErrorCode::FORBIDDEN, "client '" + caller_.client + "' may not use subscription '" + id + "'");
    }
    return *sub;
  }

  const HostConfig& config_;
  store::Store& store_;
  std::mutex& storeMutex_;
  ApiCaller caller_;
};

/// One connection's processor: builds the caller's services on the first
/// call (the handshake is done by then).
/// The permission a service needs: its name without "Service", in lower
/// case (ResidentService → resident, RecordService → record).
std::string permissionOf(const std::string& service) {
  std::string p = service;
  if (p.size() > 7 && p.compare(p.size() - 7, 7, "Service") == 0) p.resize(p.size() - 7);
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p;
}

/// A service this client may not call: each call is read whole and answered
/// with an exception that names the permission (the connection stays), and
/// is audited as refused.
class Refusal final : public TProcessor {
 public:
  Refusal(std::string service, ApiCaller caller) : service_(std::move(service)), caller_(std::move(caller)) {}
  bool process(std::shared_ptr<TProtocol> in, std::shared_ptr<TProtocol> out, void*) override {
    std::string name;
    apache::thrift::protocol::TMessageType type;
    int32_t seqid = 0;
    in->readMessageBegin(name, type, seqid);
    in->skip(apache::thrift::protocol::T_STRUCT);
    in->readMessageEnd();
    in->getTransport()->readEnd();
    const std::string permission = permissionOf(service_);
    callAudit(caller_, service_ + "." + name.substr(0, 100), "refused: needs the " + permission + " permission", true);
    if (type == apache::thrift::protocol::T_ONEWAY) return true;
    apache::thrift::TApplicationException x(apache::thrift::TApplicationException::UNKNOWN_METHOD,
                                            "client '" + caller_.client + "' may not call " + service_ +
                                                " (needs the " + permission + " permission in <api><client>)");
    out->writeMessageBegin(name, apache::thrift::protocol::T_EXCEPTION, seqid);
    x.write(out.get());
    out->writeMessageEnd();
    out->getTransport()->writeEnd();
    out->getTransport()->flush();
    return true;
  }

 private:
  std::string service_;
  ApiCaller caller_;
};

class ConnectionProcessor final : public TProcessor {
 public:
  using Build = std::function<std::shared_ptr<TProcessor>(const ApiCaller&)>;
  ConnectionProcessor(std::shared_ptr<tt::TTransport> transport, Build build, const std::vector<std::string>& allowed,
                      HandshakeGuard& guard)
      : transport_(std::move(transport)), build_(std::move(build)), allowed_(allowed), guard_(guard) {}

  bool process(std::shared_ptr<TProtocol> in, std::shared_ptr<TProtocol> out, void* context) override {
    // Nothing a client sends may end more than its own connection.
    try {
      return processChecked(std::move(in), std::move(out), context);
    } catch (const std::bad_alloc&) {
      accessLog().error("client=%s address=%s connection closed: a call needed more memory than there is",
                        caller_.client, caller_.address);
    } catch (const apache::thrift::protocol::TProtocolException& e) {
      accessLog().warning("client=%s address=%s connection closed: malformed call: %s", caller_.client,
                          caller_.address, std::string(e.what()));
    } catch (const tt::TTransportException&) {
      // The client went away or was silent too long: an ordinary end.
    } catch (const std::exception& e) {
      accessLog().error("client=%s address=%s connection closed: %s", caller_.client, caller_.address,
                        std::string(e.what()));
    }
    return false;
  }

 private:
  bool processChecked(std::shared_ptr<TProtocol> in, std::shared_ptr<TProtocol> out, void* context) {
    if (!inner_) {
      auto* peer = dynamic_cast<PeerSocket*>(transport_.get());
      if (!peer) return false;
      caller_.address = peer->getPeerAddress() + ":" + std::to_string(peer->getPeerPort());
      // In the pool of unfinished handshakes until it is done (or cut).
      auto pending = guard_.enter(peer->getSocketFD(), peer->getPeerAddress());
      try {
        if (!peer->handshake()) {
          logHandshakeFailure(caller_.address, "the connection ended during the handshake");
          return false;
        }
      } catch (const tt::TTransportException& e) {
        const std::string why = peer->verifyProblem();
        logHandshakeFailure(caller_.address, std::string(e.what()) + (why.empty() ? "" : " (" + why + ")"));
        return false;
      }
      pending.reset();
      ApiCaller caller = caller_;
      caller.client = peer->client();
      caller_ = caller;
      if (caller.client.empty()) return false;
      if (!allowed_.empty() && std::find(allowed_.begin(), allowed_.end(), caller.client) == allowed_.end()) {
        // Issued by the CA, but not one of this host's window systems.
        accessLog().warning("client=%s address=%s refused: not among <api clients>", caller.client, caller.address);
        return false;
      }
      inner_ = build_(caller);
    }
    return inner_->process(std::move(in), std::move(out), context);
  }

  std::shared_ptr<tt::TTransport> transport_;
  Build build_;
  const std::vector<std::string>& allowed_;
  std::shared_ptr<TProcessor> inner_;
  ApiCaller caller_;  ///< address from the start, client once the handshake is done
  HandshakeGuard& guard_;
};

/// Buffers big enough for a whole answer: Thrift's default 512 bytes sent a
/// resident's record (about 1.5 KiB) as three or four TLS records, each its
/// own SSL_write and write(2). A call and its answer now go as one.
class WholeCallTransportFactory final : public tt::TTransportFactory {
 public:
  std::shared_ptr<tt::TTransport> getTransport(std::shared_ptr<tt::TTransport> trans) override {
    return std::make_shared<tt::TBufferedTransport>(std::move(trans), kReadBuffer, kWriteBuffer);
  }

 private:
  static constexpr std::uint32_t kReadBuffer = 4096, kWriteBuffer = 16384;
};

class Listening final : public apache::thrift::server::TServerEventHandler {
 public:
  explicit Listening(std::shared_ptr<std::promise<void>> p) : p_(std::move(p)) {}
  void preServe() override { p_->set_value(); }

 private:
  std::shared_ptr<std::promise<void>> p_;
};

class ConnectionFactory final : public apache::thrift::TProcessorFactory {
 public:
  ConnectionFactory(ConnectionProcessor::Build build, const ApiConfig& api)
      : build_(std::move(build)),
        allowed_(api.clients),
        guard_(static_cast<std::size_t>(api.maxHandshakes), static_cast<std::size_t>(api.maxHandshakesPerAddress),
               api.handshakeTimeout) {}
  std::shared_ptr<TProcessor> getProcessor(const apache::thrift::TConnectionInfo& info) override {
    return std::make_shared<ConnectionProcessor>(info.transport, build_, allowed_, guard_);
  }

 private:
  ConnectionProcessor::Build build_;
  const std::vector<std::string>& allowed_;
  HandshakeGuard guard_;
};

}  // namespace

ApiServer::ApiServer(const HostConfig& config, const store::StoreConfig& storeConfig, Poco::Logger& logger)
    : config_(config), storeConfig_(storeConfig), logger_(logger) {
  // A window system that hangs up while we write its answer must cost us a
  // connection (EPIPE), not the process (OpenSSL writes with write(2)).
  ::signal(SIGPIPE, SIG_IGN);
  // The access log is an audit trail: written whatever <log level> says.
  Poco::Logger& access = accessLog();
  if (access.getLevel() < Poco::Message::PRIO_INFORMATION) access.setLevel(Poco::Message::PRIO_INFORMATION);
  // Thrift's own messages (a client hanging up mid-handshake …) go to the
  // debug log, not to stderr.
  apache::thrift::GlobalOutput.setOutputFunction(
      [](const char* text) { Poco::Logger::get("renkei.api").debug("thrift: %s", std::string(text)); });
  tls_ = std::make_shared<Factory>(*config.api);
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::addService(const std::string& service, ApiProcessorFactory factory) {
  std::lock_guard lock(servicesMutex_);
  if (service == "RecordService" || !services_.emplace(service, std::move(factory)).second)
    throw std::runtime_error("api: service '" + service + "' is already served");
}

void ApiServer::start() {
  const ApiConfig& api = *config_.api;
  auto store = std::shared_ptr<store::Store>(store::openStore(storeConfig_));
  auto storeMutex = std::make_shared<std::mutex>();
  std::map<std::string, ApiProcessorFactory> services;
  {
    std::lock_guard lock(servicesMutex_);
    services = services_;
  }
  const HostConfig& config = config_;
  pipeline::MetricsRegistry* metrics = metrics_;
  auto build = [store, storeMutex, services, &config, metrics](const ApiCaller& caller) -> std::shared_ptr<TProcessor> {
    auto mux = std::make_shared<apache::thrift::TMultiplexedProcessor>();
    auto callLog = std::make_shared<CallLog>(caller, metrics);
    auto records = std::make_shared<api::RecordServiceProcessor>(
        std::make_shared<RecordHandler>(config, *store, *storeMutex, caller));
    records->setEventHandler(callLog);
    // With <api><client permissions>: only the services the client's
    // permissions name; the others answer a refusal.
    const auto& permissions = config.api->clientPermissions;
    const auto granted = permissions.find(caller.client);
    auto allowed = [&](const std::string& service) {
      return permissions.empty() ||
             (granted != permissions.end() && granted->second.count(permissionOf(service)) > 0);
    };
    if (allowed("RecordService")) mux->registerProcessor("RecordService", records);
    else mux->registerProcessor("RecordService", std::make_shared<Refusal>("RecordService", caller));
    for (const auto& [name, factory] : services) {
      if (!allowed(name)) {
        mux->registerProcessor(name, std::make_shared<Refusal>(name, caller));
        continue;
      }
      auto processor = factory(caller);
      processor->setEventHandler(callLog);
      mux->registerProcessor(name, processor);
    }
    return mux;
  };
  auto socket = std::make_shared<tt::TSSLServerSocket>(api.address, api.port, tls_);
  // A silent connection is closed after idle-timeout (a client reconnects);
  // one that never finishes its handshake holds a thread no longer either.
  if (api.idleTimeout.count() > 0) socket->setRecvTimeout(static_cast<int>(api.idleTimeout.count()));
  server_ = std::make_shared<apache::thrift::server::TThreadedServer>(
      std::make_shared<ConnectionFactory>(build, api), socket, std::make_shared<WholeCallTransportFactory>(),
      std::make_shared<apache::thrift::protocol::TBinaryProtocolFactory>(kMaxStringBytes, kMaxContainerItems, false,
                                                                           true));
  server_->setConcurrentClientLimit(api.maxConnections);  // one thread each; more wait to be accepted
  // serve() opens the port; its preServe event says it is listening.
  auto listening = std::make_shared<std::promise<void>>();
  server_->setServerEventHandler(std::make_shared<Listening>(listening));
  std::future<void> ready = listening->get_future();
  thread_ = std::thread([server = server_, listening, &logger = logger_] {
    try {
      server->serve();
    } catch (const std::exception& e) {
      try {
        listening->set_exception(std::current_exception());
      } catch (const std::future_error&) {
        logger.error("api: the server stopped: %s", std::string(e.what()));  // after it had started
      }
    }
  });
  try {
    ready.get();
  } catch (const std::exception& e) {
    thread_.join();
    server_.reset();
    throw std::runtime_error("api: cannot listen on " + api.address + ":" + std::to_string(api.port) + ": " +
                             e.what());
  }
  port_ = socket->getPort();
  std::string names = "RecordService";
  for (const auto& [name, f] : services) names += ", " + name;
  logger_.notice("api: serving %s on %s:%d (TLS, client certificates from %s)", names, api.address, port_,
                 api.clientCa.string());
}

void ApiServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace renkei
