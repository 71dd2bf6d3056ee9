// The problem watch: what is wrong now (dead letters, files to error/,
// held records and exports, a bridge gap, backups, disks, certificates, a
// plugin whose passes keep failing), told to the operators once when it
// opens, again at most once per interval while it stays, and once when it
// clears — as `renkei.problem` records the host emits (a route takes them
// to the mail connector), in the log and on /metrics.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Poco/Logger.h>

#include "config.h"
#include "renkei/connector.h"
#include "store/store.h"

namespace renkei {

namespace pipeline {
class MetricsRegistry;
}

namespace problems {

/// The emitter id of the host itself: routes take its records with
/// from="renkei" records="renkei.problem".
inline constexpr const char* kEmitter = "renkei";
inline constexpr const char* kRecordType = "renkei.problem";
/// The fields of a renkei.problem record, in order (docs/operations.md).
const std::vector<std::string>& recordFields();

/// The folders renkei writes to whose disks are watched (`store` for a
/// SQLite store, `backup` with <backup>, `spool`), by use.
std::vector<std::pair<std::string, std::filesystem::path>> watchedFolders(const HostConfig& config,
                                                                          const store::StoreConfig& storeConfig,
                                                                          const std::filesystem::path& spool);

/// A file that went to error/ and how it stands now.
struct FailedFile {
  store::FileEntry file;
  std::string resolvedBy;  ///< empty: open; else "a corrected file … at …" or "acknowledged by … at …"
};

/// The files of `route` that went to error/ since `sinceIso` (UTC ISO), each
/// open, or seen to: a corrected file of the same name taken in since, or an
/// operator's acknowledgement (`acks`: Store::acknowledgedFiles()).
std::vector<FailedFile> failedFiles(
    const std::vector<store::FileEntry>& recent, const std::string& route, const std::string& sinceIso,
    const std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>>& acks);

/// What the store and this host show wrong: dead letters, a batch waiting
/// longer than outbox-age, files to error/ and items refused in look-back
/// and not seen to, held records, backups (`backupFailing`: the last
/// scheduled one failed), disks below disk-free, certificates (the host's
/// and `certificates`) within certificate-days, workers failing in a row.
std::vector<Problem> hostProblems(store::Store& s, const HostConfig& config, const store::StoreConfig& storeConfig,
                                  const std::filesystem::path& spool, const std::vector<CertificateFile>& certificates,
                                  bool backupFailing, std::int64_t nowMs);

class Watch {
 public:
  using Emit = std::function<Outcome(const Emission&)>;
  /// `emit`: empty when no route takes renkei.problem (then the log and
  /// /metrics only). Throws StateError when the store cannot be opened.
  Watch(const store::StoreConfig& store, const HostConfig& config, std::string host, Emit emit, Poco::Logger& log,
        pipeline::MetricsRegistry& metrics);
  ~Watch();

  /// One look: `found` is everything wrong now (hostProblems and the
  /// instances' problems()). Opens, reminds and resolves against the
  /// problems table in the store; what cannot be emitted now (the store
  /// busy, the outbox full) is tried again on the next pass.
  void pass(const std::vector<Problem>& found, std::int64_t nowMs);

 private:
  struct Row;
  bool tell(const Problem& p, const std::string& state, const std::string& key, std::int64_t openedMs,
            std::int64_t nowMs, const std::function<void(StateSession&)>& change);

  std::unique_ptr<StateStore> state_;
  const HostConfig& config_;
  std::string host_;
  Emit emit_;
  Poco::Logger& log_;
  pipeline::MetricsRegistry& metrics_;
  std::shared_ptr<const FieldNames> names_;
  std::vector<std::pair<std::string, std::string>> shown_;  ///< kind, subject labels set on /metrics
};

}  // namespace problems
}  // namespace renkei
