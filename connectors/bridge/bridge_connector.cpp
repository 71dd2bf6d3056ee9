// The bridge plugin: its keys, its info, configuration and the receiving
// half's thread. The halves' work is in bridge_send.cpp and
// bridge_receive.cpp.
#include <Poco/ClassLibrary.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <sstream>

#include "operator_page.h"
#include "bridge_connector.h"
#include "renkei/local_time.h"
#include "renkei/text.h"
#include "renkei/sdk.h"

namespace renkei::connectors::bridge {

const renkei_config_key kKeys[] = {
    {"send-folder", "path", nullptr, 0,
     "The sending half's drop folder: each batch routed here is written as one bundle to tmp/ and renamed "
     "into out/, where the municipality's transfer product takes it. Without it the connector sends nothing."},
    {"to-zone", "enum(lgwan|internet|mynumber)", nullptr, 0,
     "The zone the sending half delivers into (required with send-folder). A route to this connector needs a "
     "mapping with <target zone=\"…\"/> for it; into the internet zone every field must be of class none, and "
     "every value is scanned again for 個人番号 and 住民票コード."},
    {"send-types", "list", nullptr, 0,
     "Record types the sending half may send (required with send-folder): a batch of another type is a dead "
     "letter, never a bundle."},
    {"signing-key", "path", nullptr, 0,
     "This side's Ed25519 private key (PEM; made by `renkei bridge keygen`), which signs every bundle sent "
     "(required with send-folder). Readable by the service only."},
    {"receiver-key", "path", nullptr, 0,
     "The receiving side's X25519 public key (PEM): bundles with any field not of class none are sealed to it, "
     "so a transfer server in between sees nothing personal (required with send-folder unless to-zone is "
     "internet)."},
    {"receive-folder", "path", nullptr, 0,
     "The receiving half's drop folder: bundles are claimed from in/ into processing/, then moved to done/, or "
     "whole to rejected/ with a <name>.reason.txt. Without it the connector receives nothing."},
    {"receive-types", "list", nullptr, 0,
     "Record types the receiving half accepts (required with receive-folder); routes take them with "
     "<route from=\"this connector\" records=\"type\">."},
    {"sender-key", "path", nullptr, 0,
     "The sending side's Ed25519 public key (PEM): only bundles it signed are accepted (required with "
     "receive-folder)."},
    {"opening-keys", "list", nullptr, 0,
     "This side's X25519 private keys (PEM files, comma-separated) that open sealed bundles; list the old one "
     "beside the new during a key rotation. LGWAN and 個人番号利用事務系 only: the internet zone holds none."},
    {"approval", "bool", "false", 0,
     "Hold each outgoing bundle in <send-folder>/pending-approval/ until an operator approves it (`renkei bridge "
     "approve --bundle NAME --by WHO`, which moves it into out/) or rejects it (`renkei bridge reject`, into "
     "rejected/ with the reason); both are kept in the operators' log. With send-folder only."},
    {"keep-approved-for", "duration", "30d", 0,
     "How long an approved bundle is kept in <send-folder>/approved/ (with its note): a bundle the transfer product "
     "lost is written to out/ again, byte for byte as approved, when its batch is sent again (`renkei replay`) within "
     "this time. At least 1h; older copies and notes are removed with a log line."},
    {"send-endpoint", "string", nullptr, 0,
     "The ZeroMQ transport instead of send-folder, where the zone model allows a direct channel: the receiver's "
     "address (tcp://host:port). Each bundle is acknowledged after the receiver committed it; until then the batch "
     "stays in the outbox and is sent again. Needs curve-key and curve-server-key."},
    {"receive-endpoint", "string", nullptr, 0,
     "Also listen for bundles over ZeroMQ (e.g. tcp://0.0.0.0:5571), beside receive-folder (whose rejected/ keeps "
     "what is refused). Only clients whose CURVE key is in curve-clients get in. Needs curve-key."},
    {"keep-rejected-for", "duration", "30d", 0,
     "How long rejected/ keeps a refused bundle and its reason (at least 1h); older ones are removed with a log line."},
    {"max-rejected-bytes", "size", "1GiB", 0,
     "The most bundle bytes rejected/ keeps: a bundle refused over ZeroMQ beyond this is kept as its reason only "
     "(with its size and SHA-256)."},
    {"max-connections", "int", "64", 0,
     "Connections to receive-endpoint at once; more are closed at once (libzmq itself takes every connection and "
     "checks the CURVE key only after the handshake)."},
    {"connections-per-address", "int", "4", 0,
     "Connections to receive-endpoint at once from one address (a sender needs one)."},
    {"handshake-timeout", "duration", "5s", 0,
     "A connection to receive-endpoint that has not sent its greeting, or not finished the CURVE handshake, within "
     "this time is closed (1s-1m)."},
    {"curve-key", "path", nullptr, 0,
     "This side's CURVE secret key (Z85; bridge-curve.key from `renkei bridge keygen`), for the ZeroMQ transport."},
    {"curve-server-key", "path", nullptr, 0, "The receiver's CURVE public key (its bridge-curve.pub), for send-endpoint."},
    {"curve-clients", "list", nullptr, 0,
     "CURVE public key files of the senders allowed to connect to receive-endpoint; any other key gets nothing."},
    {"ack-timeout", "duration", "10s", 0,
     "How long the sending half waits for the receiver's acknowledgement over ZeroMQ before the batch is retried."},
    {"max-bundle-bytes", "size", "64MiB", 0, "A larger bundle is rejected whole, before it is read."},
    {"max-records", "int", "100000", 0, "A bundle with more records is rejected whole."},
    {"max-field-bytes", "size", "64KiB", 0, "A bundle with a longer value is rejected whole."},
    {"poll-interval", "duration", "2s", 0, "How often the receiving half looks into in/."},
    {"fsync", "bool", "true", 0, "Flush bundles and folder entries to disk before a move counts as done."},
};
const std::size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);

namespace {

template <typename Key>
Key readKey(const char* setting, const std::filesystem::path& file) {
  try {
    return Key::fromFile(file.string());
  } catch (const std::exception& e) {
    throw ConfigError(std::string(setting) + ": " + e.what());
  }
}

std::set<std::string> typeList(const Settings& settings, const char* key) {
  const auto& list = settings.getList(key);
  if (list.empty()) throw ConfigError(std::string(key) + ": name at least one record type");
  return {list.begin(), list.end()};
}

}  // namespace

BridgeConnector::~BridgeConnector() { stop(); }

void BridgeConnector::configure(const Settings& settings, const HostContext& context) {
  context_ = context;
  log_ = context.logger;
  fsync_ = settings.getBool("fsync");
  if (!context.services) throw ConfigError("the bridge needs the host's services");
  if (settings.has("send-folder") && settings.has("send-endpoint"))
    throw ConfigError("give send-folder or send-endpoint, not both: one transport per sending half");
  if (settings.has("send-folder") || settings.has("send-endpoint")) configureSend(settings);
  for (const char* key : {"to-zone", "send-types", "signing-key", "receiver-key", "curve-server-key"})
    if (!send_ && settings.has(key))
      throw ConfigError(std::string(key) + " belongs to the sending half, which needs send-folder or send-endpoint");
  if (settings.has("receive-folder")) configureReceive(settings);
  for (const char* key : {"receive-types", "sender-key", "opening-keys", "receive-endpoint", "curve-clients"})
    if (!receive_ && settings.has(key))
      throw ConfigError(std::string(key) + " belongs to the receiving half, which needs receive-folder");
  if (!send_ && !receive_) throw ConfigError("give send-folder, receive-folder or both: this bridge does nothing");
  if (context.validating) return;  // renkei check: no store, no folders
  context.services->state().migrate(bridgeMigrations());
  if (send_ && send_->approval)
    context.services->admin()->addHandler(
        "pending", "bundles waiting for an operator's approval: name, record type, count, sequence, zone, when made",
        "view", [this](const AdminRequest&) {
          AdminResponse r;
          Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
          // The page answers within the listener's deadline: the first 200
          // by name, and how many wait in all.
          std::size_t total = 0;
          for (const auto& [name, what] : pendingBundles(200, total)) {
            Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
            o->set("bundle", name);
            o->set("holds", what);
            list->add(o);
          }
          Poco::JSON::Object out;
          out.set("connector", context_.id);
          out.set("pending", list);
          out.set("total", static_cast<Poco::UInt64>(total));
          std::ostringstream text;
          out.stringify(text);
          r.body = text.str() + "\n";
          return r;
        });
  // The crossing at a glance: the last bundle each way, each sender's
  // sequence and the gaps seen (names, numbers and times; never records).
  context.services->admin()->addHandler(
      "status", "the last bundle sent and received, each sender's last sequence and the gaps seen", "view",
      [this](const AdminRequest&) {
        StateStore& store = context_.services->state();
        Poco::JSON::Object out;
        out.set("connector", context_.id);
        const auto when = [this](std::int64_t ms) {
          return ms ? localTimeAt(ms, context_.services->utcOffsetMinutes(ms)) : std::string();
        };
        store.read([&](StateSession& s) {
          if (send_) {
            Poco::JSON::Object sent;
            s.query("SELECT sequence, created_ms FROM " + store.table("sent") + " ORDER BY sequence DESC LIMIT 1", {},
                    [&](StateRows& r) {
                      sent.set("last_sequence", r.integer(0));
                      sent.set("at", when(r.integer(1)));
                    });
            sent.set("to_zone", send_->toZone);
            out.set("sent", sent);
          }
          if (receive_) {
            Poco::JSON::Array::Ptr senders = new Poco::JSON::Array;
            s.query("SELECT sender, last_sequence, gaps FROM " + store.table("senders") + " ORDER BY sender", {},
                    [&](StateRows& r) {
                      Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
                      o->set("sender", r.text(0));
                      o->set("last_sequence", r.integer(1));
                      o->set("gaps", r.integer(2));
                      senders->add(o);
                    });
            Poco::JSON::Object received;
            s.query("SELECT sequence, record_type, records, received_ms FROM " + store.table("received") +
                        " ORDER BY received_ms DESC LIMIT 1",
                    {}, [&](StateRows& r) {
                      received.set("last_sequence", r.integer(0));
                      received.set("record_type", r.text(1));
                      received.set("records", r.integer(2));
                      received.set("at", when(r.integer(3)));
                    });
            received.set("senders", senders);
            out.set("received", received);
          }
        });
        AdminResponse r;
        std::ostringstream text;
        out.stringify(text);
        r.body = text.str() + "\n";
        return r;
      });
  if (send_ && send_->approval) {
    // Approve or reject from the console (POST, operate): the same decision
    // as `renkei bridge approve|reject`, made as the signed-in operator.
    for (const char* action : {"approve", "reject"})
      context.services->admin()->addHandler(
          action,
          std::string(action) == "approve" ? "let a held bundle go (POST ?bundle=NAME)"
                                           : "stop a held bundle (POST ?bundle=NAME&reason=TEXT)",
          "operate", [this, action](const AdminRequest& request) {
            return operatorPage(request, action, {"bundle", "reason"},
                                [this](const OperatorRequest& op) { return operate(op); });
          });
  }
}

std::string BridgeConnector::curveKey(const Settings& settings, const char* key) {
  if (!settings.has(key)) throw ConfigError(std::string("the ZeroMQ transport needs ") + key);
  try {
    return readCurveKey(settings.getPath(key).string());
  } catch (const std::exception& e) {
    throw ConfigError(std::string(key) + ": " + e.what());
  }
}

void BridgeConnector::configureSend(const Settings& settings) {
  SendSide side;
  const char* transport = settings.has("send-folder") ? "send-folder" : "send-endpoint";
  if (settings.has("send-folder")) side.folder = settings.getPath("send-folder");
  for (const char* key : {"to-zone", "send-types", "signing-key"})
    if (!settings.has(key)) throw ConfigError(std::string(transport) + " needs " + key);
  side.approval = settings.getBool("approval");
  side.keepApprovedFor = settings.getDuration("keep-approved-for");
  if (side.keepApprovedFor < std::chrono::hours(1)) throw ConfigError("keep-approved-for: at least 1h");
  if (side.approval && !settings.has("send-folder"))
    throw ConfigError("approval: bundles are held for approval in send-folder's pending-approval/; it needs send-folder");
  if (settings.has("send-endpoint")) {
    const std::string secret = curveKey(settings, "curve-key");
    const std::string server = curveKey(settings, "curve-server-key");
    try {
      side.zmq = std::make_unique<ZmqSender>(settings.getString("send-endpoint"), server, secret,
                                             settings.getDuration("ack-timeout"));
    } catch (const std::exception& e) {
      throw ConfigError(std::string("send-endpoint: ") + e.what());
    }
  }
  side.toZone = settings.getString("to-zone");
  side.types = typeList(settings, "send-types");
  side.signer = readKey<seal::SigningKey>("signing-key", settings.getPath("signing-key"));
  if (settings.has("receiver-key"))
    side.receiver = readKey<seal::PublicKey>("receiver-key", settings.getPath("receiver-key"));
  else if (side.toZone != "internet")
    throw ConfigError(std::string(transport) + " into the " + side.toZone +
                      " zone needs receiver-key (bundles with personal fields are sealed to it)");
  if (side.toZone == "internet" && side.receiver)
    throw ConfigError("receiver-key: nothing is sealed into the internet zone (it takes class none only); "
                      "remove the key");
  send_ = std::move(side);
}

void BridgeConnector::configureReceive(const Settings& settings) {
  ReceiveSide side;
  side.folder = settings.getPath("receive-folder");
  for (const char* key : {"receive-types", "sender-key"})
    if (!settings.has(key)) throw ConfigError(std::string("receive-folder needs ") + key);
  side.policy.zone = context_.zone;
  side.policy.recordTypes = typeList(settings, "receive-types");
  side.policy.sender = readKey<seal::VerifyKey>("sender-key", settings.getPath("sender-key"));
  if (settings.has("opening-keys")) {
    if (context_.zone == "internet")
      throw ConfigError("opening-keys: the internet zone holds no private key (nothing personal may be opened "
                        "there); remove the key");
    for (const std::string& file : settings.getList("opening-keys")) {
      const std::filesystem::path path =
          std::filesystem::path(file).is_relative() ? context_.configDir / file : std::filesystem::path(file);
      side.keys.push_back(readKey<seal::PrivateKey>("opening-keys", path));
    }
  }
  side.policy.limits.maxBytes = settings.getSize("max-bundle-bytes");
  const std::int64_t records = settings.getInt("max-records");
  if (records < 1) throw ConfigError("max-records: at least 1");
  side.policy.limits.maxRecords = static_cast<std::size_t>(records);
  side.policy.limits.maxFieldBytes = settings.getSize("max-field-bytes");
  side.poll = settings.getDuration("poll-interval");
  side.keepRejectedFor = settings.getDuration("keep-rejected-for");
  if (side.keepRejectedFor < std::chrono::hours(1)) throw ConfigError("keep-rejected-for: at least 1h");
  side.maxRejectedBytes = settings.getSize("max-rejected-bytes");
  if (side.poll.count() < 10) throw ConfigError("poll-interval: at least 10ms");
  HostServices* host = context_.services;
  side.policy.identifierScan = [host](std::string_view v) { return host->looksLikeIdentifier(v); };
  if (settings.has("receive-endpoint")) {
    const std::string secret = curveKey(settings, "curve-key");
    if (!settings.has("curve-clients")) throw ConfigError("receive-endpoint needs curve-clients (who may connect)");
    std::set<std::string> clients;
    for (const std::string& file : settings.getList("curve-clients")) {
      const std::filesystem::path path =
          std::filesystem::path(file).is_relative() ? context_.configDir / file : std::filesystem::path(file);
      try {
        clients.insert(readCurveKey(path.string()));
      } catch (const std::exception& e) {
        throw ConfigError(std::string("curve-clients: ") + e.what());
      }
    }
    GateLimits gate;
    const std::int64_t total = settings.getInt("max-connections"), perAddress = settings.getInt("connections-per-address");
    if (total < 1 || total > 10'000 || perAddress < 1 || perAddress > total)
      throw ConfigError("max-connections (1-10000) and connections-per-address (1 to max-connections): out of range");
    gate.total = static_cast<std::size_t>(total);
    gate.perAddress = static_cast<std::size_t>(perAddress);
    gate.handshake = settings.getDuration("handshake-timeout");
    if (gate.handshake < std::chrono::seconds(1) || gate.handshake > std::chrono::minutes(1))
      throw ConfigError("handshake-timeout: between 1s and 1m");
    side.zmq = std::make_unique<ZmqReceiver>(settings.getString("receive-endpoint"), secret, std::move(clients),
                                             side.policy.limits.maxBytes,
                                             [this](const std::string& bytes) { return takeFromZmq(bytes); }, gate,
                                             log_, "bridge " + context_.id);
  }
  DropFolderOptions drop;
  drop.directory = side.folder;
  drop.noun = "bundle";
  drop.failed = "rejected";
  drop.reasonSuffix = ".reason.txt";
  drop.fsync = fsync_;
  drop.linkRefusal = "a symbolic link, not a bundle";
  drop.notRegularRefusal = "not a regular file";
  drop.keepFailedFor = side.keepRejectedFor;
  drop.keepFailedKey = "keep-rejected-for";
  drop.stamp = [this] {
    const std::int64_t now = context_.services->nowMs();
    return localTimeAt(now, context_.services->utcOffsetMinutes(now));
  };
  // A link or a FIFO in in/: refused by the folder, counted and reported as
  // any refused bundle is.
  drop.refused = [this](const std::string& name, const std::string& reason) {
    context_.services->metrics().counter("renkei_bridge_bundles_rejected_total", "Bundles refused whole (see rejected/)").add();
    log_->warning("bridge %s: '%s' rejected whole (rejected/): %s", context_.id, printable(name), reason);
    context_.services->recordRefusal(name, reason);
  };
  side.drop = std::make_unique<DropFolder>(std::move(drop), log_, context_.id);
  receive_ = std::move(side);
  for (const seal::PrivateKey& key : receive_->keys) receive_->policy.keys.push_back(&key);
}

void BridgeConnector::start() {
  if (!receive_ || receiver_.running()) return;
  if (receive_->zmq) {
    try {
      receive_->zmq->start();
    } catch (const std::exception& e) {
      throw std::runtime_error("bridge " + context_.id + ": receive-endpoint: " + e.what());
    }
    log_->information("bridge %s: listening for bundles on %s (ZeroMQ, CURVE)", context_.id, receive_->zmq->endpoint());
  }
  Worker::Options every;
  every.interval = receive_->poll;
  // A pass that fails (the store asked to retry: the bundle stays claimed
  // and is taken first next time) is logged and tried again.
  receiver_.start("bridge " + context_.id + ": receiving", every,
                  [this] {
                    std::lock_guard<std::mutex> pass(passMutex_);
                    receive_->drop->purge();
                    receivePass();
                  },
                  *log_);
}

void BridgeConnector::stop() {
  receiver_.stop();
  if (receive_ && receive_->zmq) receive_->zmq->stop();
}

void BridgeConnector::takeWaiting() {
  if (!receive_) return;
  std::lock_guard<std::mutex> pass(passMutex_);
  receive_->drop->purge();
  receivePass();
}

}  // namespace renkei::connectors::bridge

namespace {
// The operators' commands: `renkei bridge <action> …` (the host checks the
// options; BridgeConnector::operate answers).
const renkei_operator_verb kVerbs[] = {
    {"keygen", "--out --zone", 0, "--out DIR --zone lgwan|internet|mynumber",
     "this side's keys: a signing pair, a CURVE pair and (not for the internet zone) a sealing pair; prints the "
     "public halves' key ids only"},
    {"pending", "--connector", 1, "--config F [--connector ID]",
     "outgoing bundles held for an operator's approval (approval=true), with what each holds"},
    {"approve", "--connector --bundle --by", 1, "--config F [--connector ID] --bundle NAME [--by WHO]",
     "let a held bundle go: into out/ for the transfer product, a copy and a note kept in approved/"},
    {"reject", "--connector --bundle --reason --by", 1,
     "--config F [--connector ID] --bundle NAME --reason TEXT [--by WHO]",
     "stop a held bundle: into rejected/ with the reason"},
};
}  // namespace

RENKEI_PLUGIN_VERBS(kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::bridge::BridgeConnector, "bridge", "0.1.0", "experimental",
              "Crossing the zones (LGWAN <-> internet): signed, sealed bundles through a drop folder",
              RENKEI_ROLE_SINK | RENKEI_ROLE_EMITTER, renkei::connectors::bridge::kKeys, renkei::connectors::bridge::kKeyCount)
