// The bridge connector (frontyard.md §2): one per zone. Its sending half is
// a route target that writes each batch as one signed bundle (sealed to the
// receiver when it carries anything personal) into a drop folder; its
// receiving half claims bundles from a drop folder, verifies each whole and
// hands its records to the host through the engine seam, keyed by the
// bundle id, so a bundle delivered twice lands once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bridge_bundle.h"
#include "drop_folder.h"
#include "renkei/support/worker.h"
#include "zmq_channel.h"
#include "renkei/sdk.h"

namespace renkei::connectors::bridge {

// The toolkit's ZeroMQ channel (connectors/common/zmq_channel.h).
using channel::curvePublicOf;
using channel::GateLimits;
using channel::readCurveKey;
using channel::ZmqReceiver;
using channel::ZmqReply;
using channel::ZmqSender;

extern const renkei_config_key kKeys[];
extern const std::size_t kKeyCount;
/// `renkei bridge keygen` (bridge_keys.cpp): this side's keys.
OperatorResult bridgeKeygen(const std::map<std::string, std::string>& options);
/// "2026-12-01T01:18:47Z" for milliseconds since 1970.
std::string isoUtc(std::int64_t ms);

/// The bridge's tables in the host's store (StateStore::migrate steps).
const std::vector<std::string>& bridgeMigrations();

/// The sending half's settings.
struct SendSide {
  std::filesystem::path folder;  ///< tmp/ and out/ below it (the folder transport)
  std::unique_ptr<ZmqSender> zmq;  ///< the ZeroMQ transport, when send-endpoint is given
  bool approval = false;           ///< held in pending-approval/ until an operator approves
  std::chrono::milliseconds keepApprovedFor{30LL * 86'400'000};  ///< approved/ copies and notes
  std::string toZone;
  std::set<std::string> types;
  std::optional<seal::SigningKey> signer;
  std::optional<seal::PublicKey> receiver;  ///< seals bundles with personal fields
};

/// The receiving half's settings.
struct ReceiveSide {
  std::filesystem::path folder;  ///< in/, processing/, done/, rejected/ below it
  std::unique_ptr<DropFolder> drop;  ///< that folder (the toolkit's drop folder)
  std::vector<seal::PrivateKey> keys;
  Policy policy;  ///< keys point into `keys`
  std::chrono::milliseconds poll{2000};
  std::unique_ptr<ZmqReceiver> zmq;  ///< listening too, when receive-endpoint is given
  std::chrono::milliseconds keepRejectedFor{30LL * 86'400'000};  ///< rejected/ bundles and reasons
  std::uint64_t maxRejectedBytes = 1ull << 30;  ///< rejected/ bundle bytes; beyond, only the reason is kept
};

class BridgeConnector final : public Connector, public Sink {
 public:
  ~BridgeConnector() override;
  void configure(const Settings& settings, const HostContext& context) override;
  void start() override;
  void stop() override;
  void takeWaiting() override;
  std::optional<OperatorResult> operate(const OperatorRequest& request) override;
  Sink* sink() override { return send_ ? this : nullptr; }
  /// The receiving half: a sender whose sequence has a hole (a bundle that
  /// never came while later ones did) until the missing one arrives.
  std::vector<Problem> problems() override;

  // Sink: the sending half.
  Outcome deliver(const Batch& batch) override;
  std::string zone() const override { return send_ ? send_->toZone : std::string(); }
  std::string sealingKey() const override {
    return send_ && send_->receiver ? send_->receiver->pem() : std::string();
  }

  /// One pass of the receiving half over its folder: every bundle waiting
  /// is delivered, found already delivered, or rejected. Returns false when
  /// the store asked to retry later (the bundle stays claimed).
  bool receivePass();

 private:
  void configureSend(const Settings& settings);
  void configureReceive(const Settings& settings);
  /// Bundles waiting in pending-approval/, by name, with what each holds
  /// (record type, count, sequence, zone, when made: never values): the
  /// first `limit` by name (each summary reads up to 64 KiB); `total` gets
  /// how many wait in all.
  std::vector<std::pair<std::string, std::string>> pendingBundles(std::size_t limit, std::size_t& total) const;
  /// A CURVE key file named by `key` (ConfigError naming the key).
  static std::string curveKey(const Settings& settings, const char* key);
  /// Writes the bundle text to tmp/ and renames it into out/ (or
  /// pending-approval/); a bundle decided on before is not held again: an
  /// approved one is written to out/ again from its kept copy when out/ no
  /// longer has it (a replay after the transfer product lost it).
  Outcome place(const Manifest& manifest, const std::string& text, std::size_t records, bool sealed);
  /// Removes approved/ copies and notes older than keep-approved-for (at
  /// most every ten minutes).
  void purgeApproved();
  std::chrono::steady_clock::time_point nextApprovedPurge_{};
  std::mutex approvedMutex_;
  /// The manifest of a batch: fields with their classes, ids, sequence.
  Outcome manifestFor(const Batch& batch, const FieldNames& names, Manifest& manifest);
  /// The bundle's sequence number for `batchId`: the one given before, or
  /// the next. Kept in the store, so a batch delivered again gets its own.
  std::int64_t sequenceFor(const std::string& batchId);
  /// Handles one claimed bundle in processing/; false: retry later.
  bool receiveOne(const Intake& item);
  /// Verifies one bundle and hands its records to the host: Delivered,
  /// Duplicate (taken before), Rejected (the reason) or Retry.
  ZmqReply take(const std::string& bytes, const std::string& sha);
  /// A bundle that came over ZeroMQ and was refused: kept in rejected/.
  ZmqReply takeFromZmq(const std::string& bytes);
  /// To rejected/ with its reason, counted, and a problem in renkei status.
  void reject(const Intake& item, const std::string& reason, std::uintmax_t bytes, const std::string& sha);
  /// The reason file's text for a refused bundle (with its size and hash).
  std::string reasonFor(const std::string& name, const std::string& reason, std::uintmax_t bytes,
                        const std::string& sha) const;

  HostContext context_;
  Poco::Logger* log_ = nullptr;
  bool fsync_ = true;
  std::optional<SendSide> send_;
  std::optional<ReceiveSide> receive_;

  std::mutex passMutex_;  ///< one pass at a time (the thread's, or takeWaiting's)
  Worker receiver_;  ///< the receiving half's passes over its folder
};

}  // namespace renkei::connectors::bridge
