// The engine seam (frontyard.md §1): records + idempotency key from any
// plugin instance → mapped batches for every route that takes their record
// type → one store transaction with the emitter's state. Thread-safe; one
// store connection, one emission committed at a time.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "pipeline/shared.h"
#include "renkei/connector.h"
#include "store/store.h"

namespace renkei::pipeline {

class Seam {
 public:
  /// Opens the seam's store connection. Throws store::StoreError.
  Seam(Shared& shared, const store::StoreConfig& config);
  ~Seam();
  /// Emissions are refused (Retry) until open() (the routes exist) and after
  /// close() (shutdown).
  void open() { open_ = true; }
  void close();
  /// HostServices::emit of instance `emitter` (see connector.h).
  Outcome emit(const std::string& emitter, const Emission& emission);
  /// Takes held records an operator asked for again (renkei held resubmit)
  /// through the current routes: the route that rejected one, or every
  /// route of its emitter and type when none took it. Each group commits
  /// in one unit (new batches; the records resolved or held again with
  /// their new reasons). Returns the records taken; never throws.
  std::size_t resubmitHeld();

 private:
  Shared& shared_;
  std::mutex mutex_;
  std::unique_ptr<store::Store> store_;  ///< guarded by mutex_
  std::atomic<bool> open_{false};
};

}  // namespace renkei::pipeline
