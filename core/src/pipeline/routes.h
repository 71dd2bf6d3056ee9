// Routes as the pipeline runs them: where records come from (a source's
// intake items, or one record type an instance emits), their targets, the
// form their batches are stored in, and their live counters.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "renkei/connector.h"
#include "renkei/support/seal.h"

namespace renkei {

/// Counters of one route since the host started. Intake fields are written
/// by the route's intake thread, delivery fields by the delivery thread;
/// read them after run() returns (the metrics page reads them while running:
/// each is one aligned word, read without tearing).
struct RouteStats {
  std::string id;
  std::string from;
  std::vector<std::string> to;
  std::string recordType;  ///< the record type an emitted route takes ("" for a route of intake items)
  // intake
  std::uint64_t filesClaimed = 0;
  std::uint64_t filesRecovered = 0;  ///< found in processing/ (an earlier run stopped) and taken in again
  std::uint64_t filesDone = 0;
  std::uint64_t filesFailed = 0;     ///< moved to error/
  std::uint64_t filesPending = 0;    ///< still claimed at the end (store or folder trouble, or stopped)
  std::uint64_t filesDuplicate = 0;  ///< same content as a file already taken in: not again
  std::uint64_t filesBusy = 0;       ///< in processing/ under another host's lease: left to it
  std::uint64_t filesHeld = 0;       ///< taken back by their source (a held extract)
  std::uint64_t filesTooManyRejects = 0;  ///< taken in, but rejects reached the route's problem-rejects share
  std::uint64_t recordsStored = 0;   ///< accepted records written to the store (once per record)
  std::uint64_t batchesStored = 0;
  std::uint64_t rejected = 0;        ///< records a mapping rejected (in rejects/)
  std::uint64_t skipped = 0;         ///< records a mapping skipped
  std::uint64_t warnings = 0;
  std::uint64_t warningsOf[mapping::kWarningKinds] = {};  ///< by mapping::WarningKind
  std::uint64_t pauses = 0;          ///< times intake waited for a deep outbox (back-pressure)
  std::uint64_t emissions = 0;       ///< units of emitted records taken (emitted routes)
  std::uint64_t emissionsSeen = 0;   ///< units whose key was seen before: ignored
  // delivery (per target: a batch to two targets counts twice)
  std::uint64_t records = 0;         ///< records delivered
  std::uint64_t batches = 0;         ///< batches delivered
  std::uint64_t retries = 0;         ///< failed attempts that will be retried
  std::uint64_t deadLetters = 0;     ///< batches that went to the dead letters in this run
  /// Something that went wrong in this run, with when (for people: an old
  /// problem keeps its own time) and, for a dead letter, which row (the
  /// summary checks whether it was resubmitted and delivered since).
  struct Problem {
    std::string text;  ///< one line, no personal values
    std::int64_t atMs = 0;
    std::string batchId, target;
  };
  std::vector<Problem> problems;
};

namespace pipeline {

struct Target {
  std::string id;
  Sink* sink = nullptr;
  Module* module = nullptr;
};

struct Route {
  const RouteConfig* config = nullptr;
  Source* source = nullptr;  ///< a route of intake items (files); nullptr for an emitted route
  std::string emitter;       ///< an emitted route: the instance …
  std::string recordType;    ///< … and the record type it takes
  std::vector<Target> targets;
  std::vector<std::string> targetIds;
  RouteStats* stats = nullptr;
  std::shared_ptr<const FieldNames> names;  ///< the mapping's target fields, or {"line"}; null: as emitted
  std::string fieldsJson;                   ///< the same as a JSON array (stored with each batch)
  std::shared_ptr<const std::vector<std::string>> fieldPii;  ///< the mapping's class per field; null without one
  /// The internet zone, fields not all of class none: batches are stored
  /// sealed to their sink's key (batch_format.h, sealAtRest).
  std::shared_ptr<const seal::PublicKey> sealTo;
  std::string batchRecordType;              ///< what its batches hold (mapping's target record, …)
  std::string zone;                         ///< the zone they are mapped for
  std::set<std::string> leftToOthers;       ///< recovered items another host holds (logged once)
  bool paused = false;                      ///< intake waits for the outbox (logged once per pause)
};

}  // namespace pipeline
}  // namespace renkei
