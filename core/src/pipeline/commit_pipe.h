// Commits file intake's groups of batches on a thread of its own (with its
// own store connection), so mapping the next records overlaps the write and
// fsync of the previous ones. At most one group waits: memory stays bounded
// at two groups.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/shared.h"
#include "store/store.h"

namespace renkei::pipeline {

class CommitPipe {
 public:
  CommitPipe(Shared& shared, store::Store& writer) : shared_(shared), writer_(writer) {}
  ~CommitPipe() { stop(); }
  void start();
  void stop();
  /// Hands a group over; blocks while another waits. `staged`: no outbox
  /// rows yet (the group's unit commits them). False when an earlier commit
  /// failed (the message is in `error`).
  bool submit(Route& route, std::vector<store::BatchRow> group, bool staged, std::string& error);
  /// Waits until every group handed over is committed; false on failure.
  bool drain(std::string& error);
  /// Time spent in appendBatches so far (for the debug timing line).
  std::chrono::steady_clock::duration writeTime() const { return writeTime_; }

 private:
  void loop();
  Shared& shared_;
  store::Store& writer_;
  std::mutex mutex_;
  std::condition_variable changed_;
  Route* route_ = nullptr;
  std::vector<store::BatchRow> pending_;
  bool staged_ = false;
  bool busy_ = false;
  bool quit_ = false;
  std::string error_;
  std::thread thread_;
  std::chrono::steady_clock::duration writeTime_{};
};

}  // namespace renkei::pipeline
