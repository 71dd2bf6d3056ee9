// The host's durable state. Today: the register of files taken in, so the
// same content is never processed twice. The durable pipeline (records,
// outboxes, dead letters, leases) grows here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace renkei::store {

/// The store cannot be opened or written. Messages name the file and what
/// failed, never a record's content.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct StoreConfig {
  std::string driver = "sqlite";
  std::filesystem::path path;  ///< sqlite: the database file (created with its folder)
  bool fullSync = true;        ///< sqlite: synchronous=FULL (a commit survives power loss), else NORMAL
};

enum class FileState { Processing, Done, Failed };
const char* fileStateName(FileState s);

struct FileEntry {
  std::string route;
  std::string sha256;
  std::string name;       ///< the name it arrived under the first time
  std::uint64_t size = 0;
  FileState state = FileState::Processing;
  std::string firstSeen;  ///< UTC, ISO 8601
  std::string finishedAt;
  std::string note;       ///< why it failed, if it did (no personal values)
};

/// Thread-safety: one Store per process, used from the pipeline thread; the
/// SQLite file may be read concurrently by `renkei status`-style readers.
class Store {
 public:
  virtual ~Store() = default;

  /// The schema version after the migrations this build knows were applied.
  virtual int schemaVersion() = 0;

  /// Registers a claimed file by route and content hash. Returns nullopt when
  /// it is new (now registered as Processing), or the earlier entry when the
  /// same content was already taken in on that route.
  virtual std::optional<FileEntry> registerFile(const std::string& route, const std::string& sha256,
                                                const std::string& name, std::uint64_t size) = 0;

  /// Records how a registered file ended; durable when it returns.
  virtual void finishFile(const std::string& route, const std::string& sha256, FileState state,
                          const std::string& note) = 0;

  /// The most recent files of a route (all routes when empty), newest first.
  virtual std::vector<FileEntry> recentFiles(const std::string& route, std::size_t limit) = 0;
};

/// Opens (creating if needed) the store and applies pending migrations.
/// Throws StoreError.
std::unique_ptr<Store> openStore(const StoreConfig& config);

}  // namespace renkei::store
