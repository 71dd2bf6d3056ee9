// Backups of the host's store, and restoring one: the store holds every
// record taken in and not yet delivered, the modules' state (visits,
// applications) and the audit trail, so a city backs it up nightly and
// keeps generations (seven by default).
//
// SQLite: the online backup API copies a consistent snapshot while the host
// runs; PostgreSQL: pg_dump's custom format from an exported snapshot. Each
// backup is verified after it is written — opened, integrity-checked, every
// table's row count compared with the live store's at the snapshot — and
// described by a manifest beside it (<file>.json: instance, time, schema,
// size, SHA-256, counts). Only a verified backup counts as a generation.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace Poco {
class Logger;
}

namespace renkei::backup {

struct Manifest {
  std::string instance;
  std::string driver;  ///< sqlite, postgresql
  std::int64_t createdMs = 0;
  int schema = 0;            ///< the host's store schema version
  std::uint64_t bytes = 0;
  std::string sha256;
  std::map<std::string, std::int64_t> counts;  ///< rows per table at the snapshot
  double seconds = 0;        ///< how long writing and verifying took
  std::filesystem::path file;  ///< the backup (the manifest is file + ".json")
  /// SQLite: the audit trail's own file beside the store (renkei-audit.db),
  /// backed up with it as file + ".audit" when it exists.
  std::uint64_t auditBytes = 0;
  std::string auditSha256;
  std::map<std::string, std::int64_t> auditCounts;
};

/// A problem with a backup or a restore, said for an operator.
class BackupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Writes a backup of `store` into `folder` (a real folder, not a link;
/// created 0700 when missing), verifies it, and then removes the oldest
/// verified generations beyond `keep` (and leftovers of failed runs). On any
/// failure the partial file is removed and the generations before stay.
Manifest write(const store::StoreConfig& store, const std::string& instance, const std::filesystem::path& folder,
               int keep, Poco::Logger& log);

/// The verified backups in `folder`, newest first (their manifests).
std::vector<Manifest> list(const std::filesystem::path& folder);

/// Checks a backup against its manifest: size, SHA-256, and (SQLite) that it
/// opens, passes PRAGMA integrity_check and holds the counts it says.
void verify(const std::filesystem::path& file);

/// Restores `file` into the store of a stopped instance: refused while a
/// host serves the store, when the backup fails verification, or when its
/// schema is newer than this renkei's. SQLite: the store before is kept
/// beside it (<store>.before-restore-<time>). Returns what was restored.
Manifest restore(const store::StoreConfig& store, const std::filesystem::path& file, Poco::Logger& log);

/// Held by a serving host (shared) so a restore (exclusive) can tell:
/// `<sqlite file>.serving`. Returns the open descriptor (kept for the
/// process's life), or -1 for stores without a file. Throws BackupError
/// when a restore holds the store.
int holdServing(const store::StoreConfig& store);

/// The host's schedule (<backup …/> in the config).
struct Schedule {
  std::filesystem::path folder;
  int hour = 2, minute = 0;  ///< at="02:00", the municipality's time
  bool openDaysOnly = false; ///< days="open": only on the municipal calendar's open days
  int keep = 7;
  std::chrono::milliseconds maxAge{26LL * 3600 * 1000};  ///< max-age: older than this, the last good backup alerts
  int line = 0;
};

}  // namespace renkei::backup
