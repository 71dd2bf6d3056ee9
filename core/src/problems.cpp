#include "problems.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "backup.h"
#include "local_time.h"
#include "pipeline/metrics.h"
#include "renkei/local_time.h"
#include "renkei/support/certificate.h"
#include "renkei/support/seal.h"
#include "renkei/support/worker.h"
#include "renkei/text.h"
#include "state_store.h"

namespace renkei::problems {

namespace {

std::string count(std::int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

/// A worker whose passes failed this many times in a row has stopped working.
constexpr int kFailuresInARow = 3;

}  // namespace

const std::vector<std::string>& recordFields() {
  static const std::vector<std::string> fields{"department", "template", "state",  "kind", "subject",
                                               "detail",     "opened",   "at",     "instance", "host"};
  return fields;
}

std::vector<std::pair<std::string, std::filesystem::path>> watchedFolders(const HostConfig& config,
                                                                          const store::StoreConfig& storeConfig,
                                                                          const std::filesystem::path& spool) {
  std::vector<std::pair<std::string, std::filesystem::path>> folders;
  if (storeConfig.driver == "sqlite" && !storeConfig.path.empty() && storeConfig.path != ":memory:")
    folders.emplace_back("store", storeConfig.path.parent_path().empty() ? "." : storeConfig.path.parent_path());
  if (config.backup) folders.emplace_back("backup", config.backup->folder);
  folders.emplace_back("spool", spool);
  return folders;
}

std::vector<FailedFile> failedFiles(
    const std::vector<store::FileEntry>& recent, const std::string& route, const std::string& sinceIso,
    const std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>>& acks) {
  std::vector<FailedFile> out;
  for (const store::FileEntry& f : recent) {
    if (f.state != store::FileState::Failed || f.finishedAt < sinceIso) continue;
    FailedFile ff{f, {}};
    for (const store::FileEntry& later : recent)
      if (later.name == f.name && later.state == store::FileState::Done && later.firstSeen >= f.finishedAt &&
          later.sha256 != f.sha256)
        ff.resolvedBy = "a corrected file of the same name was taken in at " + localTimeFromIso(later.firstSeen);
    if (ff.resolvedBy.empty())
      if (auto a = acks.find({route, f.sha256}); a != acks.end())
        ff.resolvedBy = "acknowledged by " + printable(a->second.first) + " at " + localTimeFromIso(a->second.second);
    out.push_back(std::move(ff));
  }
  return out;
}

std::vector<Problem> hostProblems(store::Store& s, const HostConfig& config, const store::StoreConfig& storeConfig,
                                  const std::filesystem::path& spool, const std::vector<CertificateFile>& certificates,
                                  bool backupFailing, std::int64_t now) {
  const NotifyConfig& n = config.notify;
  std::vector<Problem> out;
  // Delivery: dead letters, and a batch that waits too long.
  for (const store::QueueStatus& q : s.queueStatus()) {
    const std::string subject = q.route + " -> " + q.target;
    if (q.deadBatches > 0)
      out.push_back({"dead-letters", subject,
                     count(q.deadBatches, "batch", "batches") + " (" + count(q.deadRecords, "record", "records") +
                         ") in the dead letters: renkei deadletters list, then resubmit after the fix"});
    if (q.oldestPendingMs > 0 && now - q.oldestPendingMs > n.outboxAge.count())
      out.push_back({"outbox-age", subject,
                     "a batch has waited since " + localTimeText(q.oldestPendingMs) + " (" +
                         count(q.pendingBatches, "batch", "batches") + " pending" +
                         (q.lastError.empty() ? std::string() : "; last error: " + printable(q.lastError, 200)) + ")"});
  }
  // Intake: files to error/ not seen to, items refused whole.
  const std::string since = store::isoUtc(now - n.lookBack.count());
  const auto acks = s.acknowledgedFiles();
  for (const RouteConfig& r : config.routes) {
    if (!r.records.empty()) continue;
    std::int64_t open = 0;
    for (const FailedFile& f : failedFiles(s.recentFiles(r.id, 1000), r.id, since, acks))
      if (f.resolvedBy.empty()) ++open;
    if (open)
      out.push_back({"error-files", r.id,
                     count(open, "file", "files") + " moved to error/ and not seen to: renkei status lists them "
                     "(a corrected file of the same name, or renkei status --ack, clears it)"});
  }
  std::map<std::string, std::int64_t> refused;
  for (const store::Refusal& r : s.refusals(now - n.lookBack.count(), 1000))
    if (!r.acknowledgedMs) ++refused[r.source];
  for (const auto& [source, k] : refused)
    out.push_back({"refused", source,
                   count(k, "item", "items") + " refused whole (kept in error/ or rejected/): renkei status lists "
                   "them; renkei status --ack after seeing to them"});
  for (const store::HeldSummary& h : s.heldSummary()) {
    if (h.held <= 0 || h.emitter == kEmitter) continue;  // the watch's own records: never a mail about its mail
    out.push_back({"held-records", h.emitter + " " + h.recordType,
                   count(h.held, "record", "records") + " held (" +
                       (h.route.empty() ? std::string("no route takes them") : "route " + h.route) +
                       "): renkei held list; after the fix renkei held resubmit"});
  }
  // Backups.
  if (config.backup) {
    const auto made = backup::list(config.backup->folder);
    if (backupFailing)
      out.push_back({"backup-failed", config.backup->folder.string(),
                     "the last scheduled backup failed (the host's log says why; tried again every 15 minutes)", true});
    if (made.empty() || now - made.front().createdMs > config.backup->maxAge.count())
      out.push_back({"backup-age", config.backup->folder.string(),
                     made.empty() ? std::string("no verified backup")
                                  : "the last verified backup is from " + localTimeText(made.front().createdMs) +
                                        ", older than max-age",
                     true});
  }
  // Disks renkei writes to.
  for (const auto& [use, folder] : watchedFolders(config, storeConfig, spool)) {
    std::error_code ec;
    const auto space = std::filesystem::space(folder, ec);
    if (ec || space.capacity == 0) continue;
    const double free = 100.0 * static_cast<double>(space.available) / static_cast<double>(space.capacity);
    if (free < n.diskFreePercent)
      out.push_back({"disk-free", use,
                     "the disk of " + folder.string() + " has " + std::to_string(static_cast<int>(free)) +
                         "% free (below " + std::to_string(n.diskFreePercent) + "%)",
                     true});
  }
  // Certificates.
  for (const CertificateFile& c : certificates) {
    const auto left = certificateSecondsLeft(c.file);
    if (!left) {
      out.push_back({"certificate", c.use, "the certificate " + c.file.string() + " cannot be read", true});
    } else if (*left < 86400.0 * n.certificateDays) {
      out.push_back({"certificate", c.use,
                     *left <= 0 ? "the certificate " + c.file.string() + " has run out"
                                : "the certificate " + c.file.string() + " runs out in " +
                                      std::to_string(static_cast<std::int64_t>(*left / 86400)) + " days (at " +
                                      localTimeText(now + static_cast<std::int64_t>(*left * 1000)) + ")",
                     true});
    }
  }
  // A plugin's background work that keeps failing: stopped working.
  for (const Worker::Health& h : Worker::health())
    if (h.failures >= kFailuresInARow)
      out.push_back({"stopped", h.name,
                     "failed " + std::to_string(h.failures) + " times in a row" +
                         (h.lastOkMs ? " since " + localTimeText(h.lastOkMs) : std::string(" since it started")) +
                         ": " + printable(h.lastError, 300),
                     true});
  return out;
}

struct Watch::Row {
  std::string kind, subject, host, detail;
  std::int64_t opened = 0, sent = 0;
};

Watch::Watch(const store::StoreConfig& store, const HostConfig& config, std::string host, Emit emit,
             Poco::Logger& log, pipeline::MetricsRegistry& metrics)
    : state_(openStateStore(store, kEmitter, 2)),
      config_(config),
      host_(std::move(host)),
      emit_(std::move(emit)),
      log_(log),
      metrics_(metrics),
      names_(std::make_shared<const FieldNames>(recordFields())) {
  state_->migrate({
      // 1: each open problem: when it opened and when it was last told.
      "CREATE TABLE {problems} (problem_key TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, "
      "host TEXT NOT NULL, detail TEXT NOT NULL, opened_ms BIGINT NOT NULL, sent_ms BIGINT NOT NULL)",
  });
}

Watch::~Watch() = default;

bool Watch::tell(const Problem& p, const std::string& state, const std::string& key, std::int64_t openedMs,
                 std::int64_t now, const std::function<void(StateSession&)>& change) {
  if (!emit_) {
    state_->write(change);
    return true;
  }
  Record r(names_);
  const std::vector<std::string> values{config_.notify.recipient,
                                        state == "resolved" ? "renkei-resolved" : "renkei-problem",
                                        state,
                                        p.kind,
                                        p.subject,
                                        p.detail,
                                        localTimeText(openedMs),
                                        localTimeText(now),
                                        config_.instance,
                                        host_};
  for (std::size_t i = 0; i < values.size(); ++i) r.set(i, values[i]);
  Emission e;
  // The same key for the same telling: hosts sharing a store that see the
  // problem in the same pass tell it once.
  const std::int64_t slot = state == "open" ? now / config_.notify.check.count() : openedMs;
  e.key = state + ":" + key + ":" + std::to_string(state == "still" ? now / config_.notify.interval.count() : slot);
  if (e.key.size() > 200) e.key = state + ":" + seal::sha256Hex(e.key);
  e.sets.push_back({kRecordType, {std::move(r)}});
  e.state = change;
  const Outcome o = emit_(e);
  if (!o.isOk()) {
    log_.warning("problem %s %s: the %s notice waits (tried again in the next pass): %s", p.kind, printable(p.subject),
                 state, o.message());
    return false;
  }
  metrics_.counter("renkei_problem_notices_total", "Problem notices emitted (renkei.problem records)", {{"state", state}})
      .add(1);
  return true;
}

void Watch::pass(const std::vector<Problem>& found, std::int64_t now) {
  std::map<std::string, Row> rows;
  state_->read([&](StateSession& s) {
    s.query("SELECT problem_key, kind, subject, host, detail, opened_ms, sent_ms FROM " + state_->table("problems"), {},
            [&](StateRows& r) {
              rows[r.text(0)] = Row{r.text(1), r.text(2), r.text(3), r.text(4), r.integer(5), r.integer(6)};
            });
  });
  const std::string table = state_->table("problems");
  std::set<std::string> present;
  std::set<std::pair<std::string, std::string>> shown;
  for (const Problem& p : found) {
    const std::string host = p.local ? host_ : std::string();
    const std::string key = p.kind + "|" + p.subject + (host.empty() ? "" : "@" + host);
    if (!present.insert(key).second) continue;  // reported twice (two instances of a plugin): once
    shown.emplace(p.kind, p.subject);
    const auto it = rows.find(key);
    if (it == rows.end()) {
      if (tell(p, "open", key, now, now, [&](StateSession& s) {
            s.run("INSERT INTO " + table +
                      " (problem_key, kind, subject, host, detail, opened_ms, sent_ms) VALUES (?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT (problem_key) DO NOTHING",
                  {key, p.kind, p.subject, host, p.detail, now, now});
          }))
        log_.error("problem %s %s: %s", p.kind, printable(p.subject), printable(p.detail, 500));
    } else if (now - it->second.sent >= config_.notify.interval.count()) {
      const std::int64_t sent = it->second.sent;
      if (tell(p, "still", key, it->second.opened, now, [&](StateSession& s) {
            s.run("UPDATE " + table + " SET sent_ms = ?, detail = ? WHERE problem_key = ? AND sent_ms = ?",
                  {now, p.detail, key, sent});
          }))
        log_.error("problem %s %s (open since %s): %s", p.kind, printable(p.subject), localTimeText(it->second.opened),
                   printable(p.detail, 500));
    }
  }
  for (const auto& [key, row] : rows) {
    if (present.count(key) || (!row.host.empty() && row.host != host_)) continue;
    const Problem p{row.kind, row.subject, row.detail, !row.host.empty()};
    if (tell(p, "resolved", key, row.opened, now, [&, k = key](StateSession& s) {
          s.run("DELETE FROM " + table + " WHERE problem_key = ?", {k});
        }))
      log_.notice("problem %s %s resolved (open since %s)", row.kind, printable(row.subject), localTimeText(row.opened));
  }
  for (const auto& labels : shown_)
    if (!shown.count(labels))
      metrics_.gauge("renkei_problem", "1 while a problem is open (renkei.problem; the failure mail)",
                     {{"kind", labels.first}, {"subject", labels.second}})
          .set(0);
  for (const auto& labels : shown)
    metrics_.gauge("renkei_problem", "1 while a problem is open (renkei.problem; the failure mail)",
                   {{"kind", labels.first}, {"subject", labels.second}})
        .set(1);
  for (const auto& labels : shown)
    if (std::find(shown_.begin(), shown_.end(), labels) == shown_.end()) shown_.push_back(labels);
  metrics_.gauge("renkei_problems_open", "Problems open now (this host's view)").set(static_cast<double>(shown.size()));
}

}  // namespace problems
