// File intake: copy, check, register, map, commit; one worker per thread.
#include "pipeline/file_intake.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "formats/reader.h"
#include "local_time.h"
#include "pipeline/batch_format.h"
#include "renkei/json.h"
#include "state_store.h"
#include "text_lines.h"

namespace renkei::pipeline {
namespace {

// Accepted records per store transaction: large enough that a commit's
// fsync is paid rarely, small enough that a stop or crash redoes little.
constexpr std::size_t kRecordsPerCommit = 50000;

/// Seconds since the inode last changed (a rename into processing/ sets it).
double secondsSinceChange(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 1e9;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec - st.st_ctim.tv_sec) +
         static_cast<double>(now.tv_nsec - st.st_ctim.tv_nsec) / 1e9;
}

/// Why a file of text lines cannot be taken in (invalid UTF-8, a line over
/// the record bound), or nullopt.
std::optional<std::string> checkLines(std::string_view all) {
  if (auto bad = checkUtf8Text(all))
    return "line " + std::to_string(bad->line) + ", byte offset " + std::to_string(bad->offset) + ": " + bad->reason;
  std::uint64_t line = 0, start = 0;
  while (start < all.size()) {
    ++line;
    const std::size_t end = std::min(all.find('\n', start), all.size());
    if (end - start > kMaxRecordBytes)
      return "line " + std::to_string(line) + ", byte offset " + std::to_string(start) + ": the line is " +
             std::to_string(end - start) + " bytes; a record may be at most " +
             std::to_string(kMaxRecordBytes >> 20) + " MiB (nothing of the file was taken in)";
    start = end + 1;
  }
  return std::nullopt;
}

/// Why a file cannot be read as a whole through `layout` (structure,
/// trailer counts, a record over the bound), or nullopt. Rewinds the file.
std::optional<std::string> checkRecords(const formats::Layout& layout, const std::shared_ptr<MappedFile>& file) {
  auto check = formats::RecordReader::fromMapping(layout, file);
  check->setFieldMask(std::vector<std::uint8_t>(layout.fields.size(), 0));  // structure only
  formats::RawRecord raw;
  // What one record may become is bounded here, before anything of the
  // file is stored: its stored form (JSON, UTF-8) grows with its bytes.
  std::uint64_t previousOffset = 0, previousNumber = 0, previousLine = 0;
  std::optional<std::string> error;
  auto tooLarge = [&](std::uint64_t end) {
    if (previousNumber == 0 || end - previousOffset <= kMaxRecordBytes) return false;
    error = "line " + std::to_string(previousLine) + ", byte offset " + std::to_string(previousOffset) + ": record " +
            std::to_string(previousNumber) + " is " + std::to_string(end - previousOffset) +
            " bytes; a record may be at most " + std::to_string(kMaxRecordBytes >> 20) +
            " MiB (nothing of the file was taken in)";
    return true;
  };
  while (check->next(raw)) {
    if (tooLarge(raw.offset)) break;
    previousOffset = raw.offset, previousNumber = raw.number, previousLine = raw.line;
  }
  if (!error && !check->error()) tooLarge(file->view().size());
  file->rewind();
  if (!error && check->error()) error = check->error()->format();
  return error;
}

}  // namespace

FileIntake::FileIntake(Shared& shared, const store::StoreConfig& intakeConfig, std::filesystem::path spool,
                       bool sharedStore)
    : shared_(shared),
      spool_(std::move(spool)),
      sharedStore_(sharedStore),
      intake_(store::openStore(intakeConfig)),
      writer_(store::openStore(intakeConfig)),
      pipe_(shared, *writer_) {}

FileIntake::~FileIntake() { stop(); }

void FileIntake::stop() {
  std::string ignored;
  pipe_.drain(ignored);
  pipe_.stop();
}

bool FileIntake::storeAnswers() { return shared_.storePresent(*intake_, shared_.intakeDown, "intake"); }

bool FileIntake::pass(Route& route, const std::atomic<bool>& stop) {
  bool any = false;
  const HostConfig& config = shared_.config;
  requeueAsked(route);
  // Items in processing/: left by an earlier run of this host (resumed at
  // once), or by a host that died (resumed when its lease has run out), or
  // being taken in by a live host (left alone).
  std::vector<Intake> recovered;
  try {
    recovered = route.source->recover();
  } catch (const std::exception& e) {
    shared_.problem(*route.stats, std::string("recover: ") + e.what());
  }
  for (const Intake& item : recovered) {
    if (stop || !storeAnswers()) return any;
    if (take(route, item, stop) == Taken::Done) {
      ++route.stats->filesRecovered;
      route.leftToOthers.erase(item.name);
    }
    any = true;
  }
  while (!stop && storeAnswers()) {
    // Back-pressure: no new item while the route's outbox is too deep.
    try {
      if (intake_->outboxDepth(route.config->id) > config.maxOutboxRecords) {
        if (!route.paused) {
          route.paused = true;
          ++route.stats->pauses;
          shared_.logger.notice("route %s: outbox holds more than %s records; intake waits", route.config->id,
                                std::to_string(config.maxOutboxRecords));
        }
        break;
      }
      if (route.paused) {
        route.paused = false;
        shared_.logger.notice("route %s: the outbox has drained; intake goes on", route.config->id);
      }
    } catch (const std::exception& e) {
      shared_.problem(*route.stats, std::string("store: ") + e.what());
      break;
    }
    std::optional<Intake> item;
    try {
      item = route.source->claim();
    } catch (const std::exception& e) {
      shared_.problem(*route.stats, std::string("claim: ") + e.what());
      shared_.logger.error("route %s: %s", route.config->id, std::string(e.what()));
      break;
    }
    if (!item) break;
    any = true;
    ++route.stats->filesClaimed;
    shared_.fault("after-claim");
    if (take(route, *item, stop) == Taken::Stopped) break;
  }
  return any;
}

void FileIntake::requeueAsked(Route& route) {
  std::vector<store::FileEntry> asked;
  try {
    asked = intake_->reprocessRequests(route.config->id);
  } catch (const std::exception& e) {
    return;  // the store's trouble shows in the claim that follows
  }
  for (const store::FileEntry& f : asked) {
    Outcome o = route.source->requeue(f.name, f.sha256);
    if (o.isOk())
      shared_.logger.notice("route %s: '%s' put back by its source to be taken in again (renkei reprocess)",
                            route.config->id, f.name);
    else
      shared_.logger.warning("route %s: reprocess of '%s': %s; it is taken in again when it arrives",
                             route.config->id, f.name, o.message());
    try {
      intake_->reprocessAsked(route.config->id, f.sha256);
    } catch (const std::exception&) {
      return;  // asked again next pass; the source refuses a second put-back harmlessly
    }
  }
}

FileIntake::Taken FileIntake::take(Route& route, const Intake& item, const std::atomic<bool>& stop) {
  const auto started = std::chrono::steady_clock::now();
  Taken taken = Taken::Done;
  std::optional<Checked> checked = readAndCheck(route, item, taken);
  if (!checked) return taken;
  if (std::optional<Taken> ended = registerContent(route, item, *checked)) return *ended;
  if (checked->error) return failItem(route, item, checked->sha, *checked->error) ? Taken::Done : Taken::Left;
  // docs/testing.md: an item taking long (a large export, OCR) for the test
  // that other routes go on meanwhile.
  if (shared_.faultIs("slow-take") && item.name.find("slow") != std::string::npos)
    std::this_thread::sleep_for(std::chrono::seconds(3));

  // What the source derives from the item (a register update, events)
  // commits with the item's records in one unit; the item's batches are
  // then staged (no outbox rows) until that commit.
  ItemUnit unit;
  switch (prepareUnit(route, item, checked->sha, unit)) {
    case Prepared::Go: break;
    case Prepared::Left: return Taken::Left;
    case Prepared::Failed: return Taken::Done;
    case Prepared::Withdrawn: return Taken::Done;
  }
  const bool staged = unit.emission.state || !unit.emission.sets.empty();
  std::uint64_t accepted = 0;
  std::optional<mapping::MapRun> run;
  if (!mapAndStore(route, item, *checked, staged, stop, accepted, run)) {
    if (stop)
      shared_.logger.notice("route %s: stopping; '%s' stays in processing/ and is resumed next time",
                            route.config->id, item.name);
    return Taken::Stopped;
  }
  shared_.metrics.histogram("renkei_intake_item_seconds", "Time to take one intake item in (copy to commit)",
                            {{"route", route.config->id}})
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return complete(route, item, *checked, unit, staged, accepted, run ? &*run : nullptr);
}

std::optional<FileIntake::Checked> FileIntake::readAndCheck(Route& route, const Intake& item, Taken& taken) {
  // The whole file is checked before anything of it is stored (trailer
  // counts, truncation, malformed XML, invalid UTF-8), so an unreadable file
  // never leaves half of itself downstream. The content hash is computed in
  // the same pass.
  Checked c;
  try {
    // A private copy, hashed while copied: the vendor's file may be
    // truncated or rewritten from here on without reaching what is read.
    // Not stopped half-way: a file claimed but not yet registered would be
    // left to "another host" for a lease's time after a restart on a shared
    // store. The copy and the check are linear (shapes that are not are
    // refused before parsing), so a stop waits for them.
    c.file = MappedFile::snapshot(item.path, spool_, c.sha);
    const mapping::Mapping* m = route.config->mapping.get();
    c.error = m ? checkRecords(*m->layout, c.file) : checkLines(c.file->view());
    return c;
  } catch (const SpoolError& e) {
    shared_.problem(*route.stats, std::string("spool: ") + e.what());
    shared_.logger.error("route %s: %s; '%s' stays in processing/", route.config->id, std::string(e.what()), item.name);
    taken = Taken::Stopped;
  } catch (const std::exception& e) {
    taken = failItem(route, item, {}, e.what()) ? Taken::Done : Taken::Left;
  }
  return std::nullopt;
}

std::optional<FileIntake::Taken> FileIntake::registerContent(Route& route, const Intake& item, Checked& checked) {
  const std::string& routeId = route.config->id;
  const std::string& sha = checked.sha;
  const HostConfig& config = shared_.config;
  store::FileEntry earlier;
  store::Claim claim;
  try {
    if (item.recovered && sharedStore_ && !intake_->findFile(routeId, sha) &&
        secondsSinceChange(item.path) * 1000 < static_cast<double>(config.lease.count())) {
      // Claimed by a host that has not registered it yet (or died doing so):
      // left until a lease's time has passed since the claim.
      route.leftToOthers.insert(item.name);
      return Taken::Left;
    }
    claim = intake_->registerFile(routeId, sha, item.name, item.size, shared_.hostId, config.lease.count(), &earlier);
  } catch (const std::exception& e) {
    shared_.problem(*route.stats, std::string("store: ") + e.what());
    shared_.logger.error("route %s: store: %s; '%s' stays in processing/", routeId, std::string(e.what()), item.name);
    return Taken::Stopped;
  }
  if (claim == store::Claim::Busy) {
    if (route.leftToOthers.insert(item.name).second) {
      ++route.stats->filesBusy;
      shared_.logger.information("route %s: '%s' is being taken in by host %s; left to it", routeId, item.name,
                                 earlier.leaseOwner);
    }
    return Taken::Left;
  }
  if (claim == store::Claim::Done) {
    Outcome o = route.source->finish(item, Disposition::Done, {});
    if (!o.isOk()) {
      shared_.problem(*route.stats, "'" + item.name + "': " + o.message());
      return Taken::Left;
    }
    ++route.stats->filesDuplicate;
    if (item.recovered && earlier.name == item.name)
      shared_.logger.notice("route %s: '%s' was taken in before the restart; moved to done/", routeId, item.name);
    else
      shared_.logger.notice("route %s: '%s' has the same content as '%s' (taken in %s): not processed again; to "
                            "take it in again under the current config: renkei reprocess --route %s --file '%s'",
                            routeId, item.name, earlier.name, localTimeFromIso(earlier.firstSeen), routeId,
                            earlier.name);
    return Taken::Done;
  }
  checked.generation = claim == store::Claim::New ? 0 : earlier.generation;
  if (claim == store::Claim::Resume)
    shared_.logger.notice("route %s: resuming '%s' (taken in part before); batches already stored are kept",
                          routeId, item.name);
  if (claim == store::Claim::Again)
    shared_.logger.notice("route %s: taking '%s' in again as an operator asked (renkei reprocess): generation %s, "
                          "under the current config; its batches get ids of their own",
                          routeId, item.name, std::to_string(checked.generation));
  return std::nullopt;
}

bool FileIntake::mapAndStore(Route& route, const Intake& item, Checked& checked, bool staged,
                             const std::atomic<bool>& stop, std::uint64_t& accepted,
                             std::optional<mapping::MapRun>& run) {
  // Map into batches of batch-records accepted records; commit every
  // kRecordsPerCommit records. Batch ids depend only on the file and the
  // record order, so a resumed file yields the same ids.
  const std::string& routeId = route.config->id;
  const std::size_t batchRecords = shared_.config.batchRecords;
  std::vector<store::BatchRow> group;
  store::BatchRow batch;
  std::size_t sequence = 0, inGroup = 0;
  formats::ByteArena buffer;
  auto closeBatch = [&]() -> bool {
    if (batch.records == 0) return true;
    batch.id = batchId(routeId, item.name, checked.sha, sequence, checked.generation);
    batch.route = routeId;
    batch.fileSha = checked.sha;
    batch.sourceItem = item.name;
    batch.sequence = static_cast<std::int64_t>(sequence++);
    batch.fields = route.fieldsJson;
    batch.recordType = route.batchRecordType;
    batch.zone = route.zone;
    if (route.sealTo)
      batch.payload = sealAtRest(*route.sealTo, batch.id, std::string_view(buffer.data(), buffer.size()));
    else
      batch.payload.assign(buffer.data(), buffer.size());
    buffer.clear();
    inGroup += static_cast<std::size_t>(batch.records);
    accepted += static_cast<std::uint64_t>(batch.records);
    group.push_back(std::move(batch));
    batch = store::BatchRow();
    if (inGroup < kRecordsPerCommit) return true;
    inGroup = 0;
    return commit(route, item, checked.sha, group, stop, false, staged);
  };
  bool ok = true;
  auto added = [&](std::int64_t number) {
    if (batch.records == 0) batch.firstRecord = number;
    batch.lastRecord = number;
    ++batch.records;
    if (static_cast<std::size_t>(batch.records) >= batchRecords || buffer.size() >= kMaxBatchBytes) ok = closeBatch();
    if (stop) ok = false;
  };
  if (const mapping::Mapping* m = route.config->mapping.get()) {
    auto reader = formats::RecordReader::fromMapping(*m->layout, checked.file);
    reader->setFieldMask(m->sourceFieldsRead());
    const formats::JsonLinesWriter writer = formats::JsonLinesWriter::arrays(m->targetNames().size());
    run.emplace(*m);
    formats::RawRecord raw;
    while (ok && reader->next(raw)) {
      if (run->step(raw) != mapping::Verdict::Accepted) continue;
      writer.append(buffer, run->record().values);
      added(static_cast<std::int64_t>(raw.number));
    }
  } else {
    std::int64_t number = 0;
    std::string line;
    forEachLine(checked.file->view(), [&](std::string_view text) {
      if (!ok) return;
      line = "[";
      appendJsonString(line, text);
      line += "]\n";
      buffer.append(line);
      added(++number);
    });
  }
  ok = ok && closeBatch() && commit(route, item, checked.sha, group, stop, true, staged);
  if (!ok) {
    std::string ignored;
    pipe_.drain(ignored);  // a commit in flight finishes (or its failure is consumed)
    // Stopped, or the store failed: what was committed stays; the rest of
    // the file is redone by the next start (same batch ids).
  }
  return ok;
}

FileIntake::Taken FileIntake::complete(Route& route, const Intake& item, const Checked& checked, ItemUnit& unit,
                                       bool staged, std::uint64_t accepted, mapping::MapRun* run) {
  const std::string& sha = checked.sha;
  const std::string& routeId = route.config->id;
  // The rejects, and beside them the warnings (record, field, kind; no
  // values), are kept named per intake (the name and the content hash's
  // first 12 digits): the same name dropped again with other content never
  // replaces the first one's lists, and the same content after a crash
  // writes the same. Retry leaves the item for the next pass.
  if (run) {
    Intake named = item;
    named.name = item.name + "." + sha.substr(0, 12);
    const struct {
      const char* what;
      const std::string& jsonl;
      Outcome (Source::*write)(const Intake&, const std::string&);
    } lists[] = {{"rejects", run->rejects(), &Source::writeRejects},
                 {"warnings", run->warningLines(), &Source::writeWarnings}};
    for (const auto& list : lists) {
      if (list.jsonl.empty()) continue;
      Outcome o = (route.source->*list.write)(named, list.jsonl);
      if (o.status() == Outcome::Status::Retry) {
        shared_.problem(*route.stats, "'" + item.name + "' " + list.what + ": " + o.message());
        return Taken::Left;
      }
      if (!o.isOk())
        shared_.logger.warning("route %s: %s of '%s' not kept: %s", routeId, std::string(list.what), item.name,
                               o.message());
    }
  }
  // Marked done in the store before the file moves: after a crash between
  // the two, the resumed file is recognised and not taken in again. A unit
  // (the source's derived sets and state) commits here with the file's
  // staged batches, all or nothing.
  try {
    if (staged) commitItemUnit(route, item, sha, checked.generation, unit);
    else intake_->finishFile(routeId, sha, store::FileState::Done, {});
  } catch (const std::exception& e) {
    shared_.problem(*route.stats, std::string("store: ") + e.what());
    shared_.logger.error("route %s: store: %s; '%s' stays in processing/", routeId, std::string(e.what()), item.name);
    return Taken::Left;
  }
  shared_.fault("after-intake");
  Outcome done = route.source->finish(item, Disposition::Done, {});
  if (!done.isOk()) {
    shared_.problem(*route.stats, "'" + item.name + "': " + done.message());
    shared_.logger.error("route %s: cannot move '%s' to done/: %s", routeId, item.name, done.message());
    return Taken::Left;
  }
  ++route.stats->filesDone;
  if (run) rejectsProblem(route, item, sha, accepted, *run);
  if (run) {
    route.stats->rejected += run->rejected;
    route.stats->skipped += run->skipped;
    route.stats->warnings += run->warnings;
    for (std::size_t k = 0; k < mapping::kWarningKinds; ++k) route.stats->warningsOf[k] += run->warningsOf[k];
    shared_.logger.information("route %s: '%s' taken in: %s accepted, %s rejected, %s skipped, %s", routeId,
                               item.name, std::to_string(accepted), std::to_string(run->rejected),
                               std::to_string(run->skipped), run->describeWarnings());
  } else {
    shared_.logger.information("route %s: '%s' taken in: %s records", routeId, item.name, std::to_string(accepted));
  }
  return Taken::Done;
}

void FileIntake::rejectsProblem(Route& route, const Intake& item, const std::string& sha, std::uint64_t accepted,
                                const mapping::MapRun& run) {
  // A file whose records (nearly) all were rejected is taken in, but it is
  // a problem, not a success: usually a wrong layout or mapping, or a vendor
  // change. The summary says it, serve --once exits 1, the metric counts it.
  const std::uint64_t judged = accepted + run.rejected;
  if (judged == 0 || run.rejected * 100 < static_cast<std::uint64_t>(route.config->problemRejects) * judged) return;
  ++route.stats->filesTooManyRejects;
  shared_.metrics
      .counter("renkei_items_too_many_rejects_total", "Items whose rejected share reached the route's problem-rejects",
               {{"route", route.config->id}})
      .add();
  const std::string what = run.rejected == judged ? "every record was rejected (" : "rejected records reached " +
                                                                                      std::to_string(route.config->problemRejects) + "% (";
  const std::string text = "'" + item.name + "': " + what + std::to_string(run.rejected) + " of " +
                           std::to_string(judged) + "); reasons in rejects/" + item.name + "." + sha.substr(0, 12) +
                           ".rejects.jsonl";
  shared_.problem(*route.stats, text);
  shared_.logger.warning("route %s: %s", route.config->id, text);
}

bool FileIntake::failItem(Route& route, const Intake& item, const std::string& sha, const std::string& reason) {
  const std::string& routeId = route.config->id;
  if (!sha.empty()) {
    try {
      intake_->finishFile(routeId, sha, store::FileState::Failed, reason);
    } catch (const std::exception& e) {
      shared_.problem(*route.stats, std::string("store: ") + e.what());
    }
  }
  Outcome o = route.source->finish(item, Disposition::Failed, reason);
  if (!o.isOk()) {
    shared_.problem(*route.stats, "'" + item.name + "': " + o.message());
    shared_.logger.error("route %s: cannot quarantine '%s': %s", routeId, item.name, o.message());
    return false;
  }
  ++route.stats->filesFailed;
  shared_.problem(*route.stats, "'" + item.name + "' moved to error/: " + reason);
  shared_.logger.warning("route %s: '%s' moved to error/: %s", routeId, item.name, reason);
  return true;
}


bool FileIntake::commit(Route& route, const Intake& item, const std::string& sha, std::vector<store::BatchRow>& group,
                  const std::atomic<bool>& stop, bool last, bool staged) {
  const std::string& routeId = route.config->id;
  const std::int64_t leaseMs = shared_.config.lease.count();
  try {
    std::string failure;
    if (!group.empty() && !pipe_.submit(route, std::move(group), staged, failure)) throw store::StoreError(failure);
    heartbeat.beat();
    group.clear();
    // The last group must be in the store before the file counts as taken in.
    if (last && !pipe_.drain(failure)) throw store::StoreError(failure);
    // Back-pressure inside a large file: wait (keeping the lease) while the
    // outbox is deeper than allowed. Only the records of one commit are in
    // memory meanwhile. After a file's last commit the next claim checks.
    bool logged = false;
    while (!last && !staged && !stop && intake_->outboxDepth(routeId) > shared_.config.maxOutboxRecords) {
      if (!logged) {
        ++route.stats->pauses;
        shared_.logger.notice("route %s: outbox holds more than %s records; intake of '%s' waits", routeId,
                       std::to_string(shared_.config.maxOutboxRecords), item.name);
        logged = true;
      }
      std::unique_lock<std::mutex> lock(shared_.wakeMutex);
      shared_.deliveryWake.wait_for(lock, std::chrono::milliseconds(200));
      lock.unlock();
      intake_->renewFileLease(routeId, sha, shared_.hostId, leaseMs);
      heartbeat.beat();
    }
    return true;
  } catch (const std::exception& e) {
    shared_.problem(*route.stats, std::string("store: ") + e.what());
    shared_.logger.error("route %s: store: %s; '%s' stays in processing/", routeId, std::string(e.what()), item.name);
    return false;
  }
}


FileIntake::Prepared FileIntake::prepareUnit(Route& route, const Intake& item, const std::string& sha, ItemUnit& unit) {
  const std::string& routeId = route.config->id;
  Outcome o = Outcome::ok();
  try {
    o = route.source->prepare(item, sha, unit);
  } catch (const std::exception& e) {
    o = Outcome::retry(std::string("the source threw: ") + e.what());
  }
  if (o.status() == Outcome::Status::Retry) {
    shared_.problem(*route.stats, "'" + item.name + "': " + o.message());
    shared_.logger.error("route %s: '%s' waits: %s", routeId, item.name, o.message());
    return Prepared::Left;
  }
  if (!o.isOk()) return failItem(route, item, sha, o.message()) ? Prepared::Failed : Prepared::Left;
  if (unit.withdrawn) {
    // The source moved it aside (a held extract): nothing of it is stored;
    // the register entry says why, and the same content taken in again (an
    // operator's release) resumes it.
    try {
      intake_->finishFile(routeId, sha, store::FileState::Failed, "taken back by its source (held)");
    } catch (const std::exception& e) {
      shared_.problem(*route.stats, std::string("store: ") + e.what());
    }
    ++route.stats->filesHeld;
    return Prepared::Withdrawn;
  }
  if (auto bad = pipeline::checkEmission(Emission{sha, unit.emission.sets, nullptr}); !bad.empty())
    return failItem(route, item, sha, "the source's derived records: " + bad) ? Prepared::Failed : Prepared::Left;
  return Prepared::Go;
}

void FileIntake::commitItemUnit(Route& route, const Intake& item, const std::string& sha, std::int64_t generation,
                                ItemUnit& unit) {
  pipeline::SetCounts counts;
  counts.holdUnrouted = false;  // derived sets are offered: a type no route takes is counted only
  store::UnitCommit commit;
  commit.emitter = route.config->from;
  // Each set's records are freed once mapped: only their stored form stays
  // in memory until the commit (a full extract derives 100,000s of them).
  for (RecordSet& set : unit.emission.sets) {
    appendBatchesForSet(shared_.routes, route.config->from, item.name, sha, set, shared_.config.batchRecords, counts,
                        shared_.logger, commit.groups, generation);
    std::vector<Record>().swap(set.records);
  }
  for (store::HeldRecord& h : counts.held) h.key = "file " + sha.substr(0, 12);
  commit.held = std::move(counts.held);
  commit.file = store::UnitCommit::File{route.config->id, sha, route.targetIds};
  if (unit.emission.state)
    commit.extra = [&](store::SqlDatabase& db) { withStateSession(db, unit.emission.state); };
  shared_.fault("before-unit-commit");
  const auto t0 = std::chrono::steady_clock::now();
  writer_->commitUnit(commit);
  shared_.metrics.histogram("renkei_store_commit_seconds", "Time of one intake commit to the store")
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  for (const auto& g : commit.groups) shared_.countStored(g);
  shared_.countSets(route.config->from, counts);
  shared_.notifyDelivery();
  shared_.fault("after-unit-commit");
}

}  // namespace renkei::pipeline
