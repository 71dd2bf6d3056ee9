// File intake: one worker that takes a route's claimed items (files, spooled
// view rows) into the store. Each item is copied privately and hashed,
// checked as a whole, registered by content hash, mapped into batches with
// deterministic ids and committed through the worker's commit pipe; a unit
// its source adds (Source::prepare) commits with the item's last records.
// The host runs a few workers; a route is taken by one worker at a time, so
// a slow route (a large export) does not stall the others.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mapped_file.h"
#include "pipeline/commit_pipe.h"
#include "pipeline/shared.h"
#include "store/store.h"

namespace renkei::pipeline {

class FileIntake {
 public:
  /// Opens the worker's two store connections (`intakeConfig`: without
  /// automatic checkpoints). Throws store::StoreError.
  FileIntake(Shared& shared, const store::StoreConfig& intakeConfig, std::filesystem::path spool, bool sharedStore);
  ~FileIntake();
  FileIntake(const FileIntake&) = delete;
  FileIntake& operator=(const FileIntake&) = delete;

  void start() { pipe_.start(); }
  /// Waits for a commit in flight and stops the pipe.
  void stop();

  /// One pass over `route` (which the caller has acquired): items left in
  /// processing/, then new ones until none waits, the outbox is full, or
  /// `stop`. True when anything was claimed.
  bool pass(Route& route, const std::atomic<bool>& stop);
  /// False (logged once per change) while the store does not answer.
  bool storeAnswers();
  store::Store& store() { return *intake_; }
  /// Beaten each time round the intake loop and at each commit of a file.
  Heartbeat heartbeat;

 private:
  enum class Taken { Done, Left, Stopped };
  enum class Prepared { Go, Left, Failed, Withdrawn };
  struct Checked {
    std::shared_ptr<MappedFile> file;
    std::string sha;
    std::optional<std::string> error;  ///< why the file cannot be read as a whole
    std::int64_t generation = 0;       ///< the intake's generation (renkei reprocess), from the register
  };

  /// Takes one claimed item into the store to the end (or until `stop`).
  Taken take(Route& route, const Intake& item, const std::atomic<bool>& stop);
  /// Copies, hashes and checks the whole item; nullopt when it must wait
  /// (spool trouble: logged) or was failed already (`taken` says how).
  std::optional<Checked> readAndCheck(Route& route, const Intake& item, Taken& taken);
  /// Registers the content; nullopt to go on (New or Resume), else how the
  /// item ended (a duplicate, another host's, store trouble).
  std::optional<Taken> registerContent(Route& route, const Intake& item, Checked& checked);
  /// Asks the source to put back the files an operator wants taken in again.
  void requeueAsked(Route& route);
  /// Maps the checked item into batches and commits them (staged when its
  /// unit commits later). False when stopped or the store failed.
  bool mapAndStore(Route& route, const Intake& item, Checked& checked, bool staged, const std::atomic<bool>& stop,
                   std::uint64_t& accepted, std::optional<mapping::MapRun>& run);
  /// Rejects kept, done in the store (with the unit), the item finished.
  Taken complete(Route& route, const Intake& item, const Checked& checked, ItemUnit& unit, bool staged,
                 std::uint64_t accepted, mapping::MapRun* run);

  /// Writes the batches of `group` (and empties it); waits while the
  /// route's outbox is deeper than allowed. False when the store failed.
  bool commit(Route& route, const Intake& item, const std::string& sha, std::vector<store::BatchRow>& group,
              const std::atomic<bool>& stop, bool last, bool staged);
  bool failItem(Route& route, const Intake& item, const std::string& sha, const std::string& reason);
  /// A problem when the item's rejected share reaches the route's problem-rejects.
  void rejectsProblem(Route& route, const Intake& item, const std::string& sha, std::uint64_t accepted,
                      const mapping::MapRun& run);
  /// Asks the item's source for what commits with it (Source::prepare).
  Prepared prepareUnit(Route& route, const Intake& item, const std::string& sha, ItemUnit& unit);
  /// Commits the item's staged batches with the source's unit and marks the
  /// item done, in one transaction. Throws store::StoreError.
  void commitItemUnit(Route& route, const Intake& item, const std::string& sha, std::int64_t generation,
                      ItemUnit& unit);

  Shared& shared_;
  std::filesystem::path spool_;  ///< where intake copies files before reading them
  bool sharedStore_ = false;     ///< other hosts may work on the same store
  std::unique_ptr<store::Store> intake_;
  std::unique_ptr<store::Store> writer_;  ///< the commit pipe's connection
  CommitPipe pipe_;
};

}  // namespace renkei::pipeline
