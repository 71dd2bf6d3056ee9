// The operators' commands on the store. They read the config only for its
// <store>; they never print a record's values except `deadletters show
// --records`, which an operator runs in the zone where the data lives.
#include "operator_commands.h"

#include "backup.h"
#include "problems.h"

#include <sstream>

#include "audit_trail.h"
#include "renkei/files.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "config.h"
#include "renkei/support/diagnostics.h"
#include "json_lines.h"
#include "local_time.h"
#include "pipeline/batch_format.h"
#include "renkei/text.h"
#include "store/store.h"

namespace renkei {
namespace watch = problems;  // the problem watch (a local "problems" below is status's list)
namespace {

constexpr int kOk = 0, kRuntime = 1, kUsage = 2;

std::string value(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

/// Who runs the command, for the operators' log: --by, else the login name.
std::string operatorNameOf(const std::map<std::string, std::string>& values) {
  std::string who = value(values, "--by");
  if (!who.empty()) return who;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) return pw->pw_name;
  return "uid " + std::to_string(::getuid());
}

std::string age(std::int64_t sinceMs, std::int64_t now) {
  if (sinceMs <= 0) return "-";
  std::int64_t s = (now - sinceMs) / 1000;
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 172800) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

void printEntry(const store::OutboxEntry& e) {
  std::cout << e.batchId << "  route " << e.route << " -> " << e.target << "  " << e.records << " records (file '"
            << printable(e.sourceItem) << "', records " << e.firstRecord << "-" << e.lastRecord << ")  " << e.attempts
            << (e.attempts == 1 ? " attempt" : " attempts") << ", last " << localTimeFromIso(e.updatedAt) << "\n";
  if (!e.lastError.empty()) std::cout << "    last error: " << printable(e.lastError) << "\n";
}

// renkei status's exit codes for monitoring (docs/operations.md): the first
// that applies, in this order.
constexpr int kDeadLetters = 3, kFailedFiles = 4, kOldOutbox = 5, kHeldRecords = 6, kStaleBackup = 7;

int status(store::Store& s, const HostConfig& config, const std::map<std::string, std::string>& values) {
  const std::int64_t now = store::nowMs();
  const std::string failedText = values.count("--failed-since") ? value(values, "--failed-since") : "24h";
  const std::string ageText = values.count("--max-age") ? value(values, "--max-age") : "1h";
  const auto failedSince = store::parseSince(failedText, now);
  const auto oldestAllowed = store::parseSince(ageText, now);
  if (!failedSince || !oldestAllowed) {
    std::cerr << "renkei status: --failed-since and --max-age take a date (midnight in " << timeZoneDescription()
              << "), a time or a duration (24h, 90m, 3d)\n";
    return kUsage;
  }
  std::vector<std::pair<int, std::string>> problems;
  std::vector<std::string> resolved;
  const std::string ack = value(values, "--ack");
  const auto acks = s.acknowledgedFiles();
  int acknowledged = 0;
  std::cout << "renkei status: instance " << config.instance << ", " << s.describe() << " (schema "
            << s.schemaVersion() << "); times in " << timeZoneDescription() << "\n";
  const auto queues = s.queueStatus();
  for (const RouteConfig& r : config.routes) {
    std::cout << "route " << r.id << ": " << r.from << " ->";
    for (const auto& t : r.to) std::cout << " " << t;
    std::cout << "\n";
    // One read of the route's recent files serves both the files in hand and
    // the failures for monitoring.
    const std::vector<store::FileEntry> recent = s.recentFiles(r.id, 1000);
    for (const store::FileEntry& f : recent)
      if (f.state == store::FileState::Processing)
        std::cout << "  file '" << printable(f.name) << "' being taken in since " << localTimeFromIso(f.firstSeen)
                  << (f.leaseOwner.empty() ? std::string(" (no host holds it)") : " by host " + printable(f.leaseOwner)) << "\n";
    bool any = false;
    for (const auto& q : queues) {
      if (q.route != r.id) continue;
      any = true;
      std::cout << "  to " << q.target << ": " << q.pendingBatches << " batches pending (" << q.pendingRecords
                << " records, oldest " << age(q.oldestPendingMs, now) << ", " << q.leased << " in delivery), "
                << q.deadBatches << " dead letters (" << q.deadRecords << " records), " << q.deliveredBatches
                << " delivered (" << q.deliveredRecords << " records)\n";
      if (!q.lastError.empty())
        std::cout << "    last error " << localTimeFromIso(q.lastErrorAt) << ": " << printable(q.lastError) << "\n";
      if (q.deadBatches > 0)
        problems.emplace_back(kDeadLetters, "route " + r.id + " to " + q.target + ": " +
                                                std::to_string(q.deadBatches) + " dead letters");
      if (q.oldestPendingMs > 0 && q.oldestPendingMs < *oldestAllowed)
        problems.emplace_back(kOldOutbox, "route " + r.id + " to " + q.target + ": a batch has waited " +
                                              age(q.oldestPendingMs, now) + ", more than " + ageText);
    }
    for (const watch::FailedFile& ff : watch::failedFiles(recent, r.id, store::isoUtc(*failedSince), acks)) {
      const store::FileEntry& f = ff.file;
      const std::string what = "route " + r.id + ": '" + printable(f.name) + "' went to error/ at " +
                               localTimeFromIso(f.finishedAt);
      // Seen to: a corrected file of the same name taken in since, or an
      // operator's acknowledgement. Shown, not counted.
      if (!ff.resolvedBy.empty()) {
        resolved.push_back(what + "; " + ff.resolvedBy);
        continue;
      }
      if (!ack.empty() && (ack == "all" || ack == f.name)) {
        s.acknowledgeFile(r.id, f.sha256, operatorName(values), "route " + r.id + ": '" + printable(f.name) +
                                                                    "' (sha256 " + f.sha256.substr(0, 12) +
                                                                    ") that went to error/");
        resolved.push_back(what + "; acknowledged now by " + printable(operatorName(values)));
        ++acknowledged;
        continue;
      }
      problems.emplace_back(kFailedFiles, what);
    }
    if (!any) std::cout << "  nothing taken in yet\n";
  }
  // Emitted records a route's mapping rejected or no route takes.
  const auto held = s.heldSummary();
  if (!held.empty()) {
    std::cout << "held records (renkei held list; after a fix: renkei held resubmit):\n";
    for (const store::HeldSummary& h : held) {
      const std::string where = h.route.empty() ? "no route takes them" : "route " + h.route;
      std::cout << "  " << h.emitter << " " << h.recordType << ": " << h.held << " held"
                << (h.resubmit ? ", " + std::to_string(h.resubmit) + " being taken again" : std::string()) << " ("
                << where << "), oldest " << age(h.oldestMs, now) << "; last reason: " << printable(h.lastReasons)
                << "\n";
      if (h.held > 0)
        problems.emplace_back(kHeldRecords, h.emitter + " " + h.recordType + ": " + std::to_string(h.held) +
                                                " records held (" + where + ")");
    }
  }
  // Items a plugin refused whole before the host saw them (a file over
  // max-file-size, a bridge bundle that does not verify).
  const auto refused = s.refusals(*failedSince, 1000);
  if (!refused.empty()) {
    std::cout << "refused items (kept where their connector put them: error/, rejected/):\n";
    for (const store::Refusal& r : refused) {
      const std::string what = "connector " + r.source + ": '" + printable(r.item) + "' refused at " +
                               localTimeFromIso(store::isoUtc(r.atMs)) + ": " + printable(r.reason, 300);
      std::cout << "  " << what << "\n";
      if (r.acknowledgedMs) {
        resolved.push_back(what + "; acknowledged by " + printable(r.acknowledgedBy) + " at " +
                           localTimeFromIso(store::isoUtc(r.acknowledgedMs)));
        continue;
      }
      if (!ack.empty() && (ack == "all" || ack == r.item)) {
        s.acknowledgeRefusal(r.id, operatorName(values), "connector " + r.source + ": '" + printable(r.item) +
                                                              "' that it refused");
        resolved.push_back(what + "; acknowledged now by " + printable(operatorName(values)));
        ++acknowledged;
        continue;
      }
      problems.emplace_back(kFailedFiles, what);
    }
  }
  // The store's backups (<backup>): the newest verified generation and its age.
  if (config.backup) {
    const auto generations = backup::list(config.backup->folder);
    const std::int64_t maxAge = config.backup->maxAge.count();
    if (generations.empty()) {
      std::cout << "backup: no verified backup in " << config.backup->folder.string() << "\n";
      problems.emplace_back(kStaleBackup, "no verified backup in " + config.backup->folder.string() +
                                              " (renkei backup --config …; the host's log says why)");
    } else {
      const backup::Manifest& last = generations.front();
      std::cout << "backup: last verified " << localTimeFromIso(store::isoUtc(last.createdMs)) << " ("
                << age(last.createdMs, now) << " ago), " << generations.size() << " generations in "
                << config.backup->folder.string() << "\n";
      if (now - last.createdMs > maxAge)
        problems.emplace_back(kStaleBackup, "the last verified backup is older than max-age (" +
                                                std::to_string(maxAge / 3'600'000) + "h)");
    }
  }
  const auto files = s.recentFiles({}, 5);
  if (!files.empty()) {
    std::cout << "recent files:\n";
    for (const auto& f : files)
      std::cout << "  " << localTimeFromIso(f.firstSeen) << "  " << f.route << "  '" << printable(f.name) << "'  " << store::fileStateName(f.state)
                << (f.note.empty() ? std::string() : ": " + printable(f.note)) << "\n";
  }
  const auto actions = s.operatorLog(5);
  if (!actions.empty()) {
    std::cout << "recent operator actions:\n";
    for (const auto& a : actions) std::cout << "  " << localTimeFromIso(a.at) << "  " << printable(a.who) << "  " << a.action << ": " << printable(a.detail) << "\n";
  }
  for (const std::string& text : resolved) std::cout << "resolved: " << text << "\n";
  if (!ack.empty() && acknowledged == 0)
    std::cerr << "renkei status: --ack " << printable(ack)
              << ": no failed file or refused item of that name is a problem now (names from the problem: lines)\n";
  if (problems.empty()) return kOk;
  int code = kStaleBackup + 1;
  for (const auto& [c, text] : problems) {
    std::cout << "problem: " << text << "\n";
    code = std::min(code, c);
  }
  return code;
}

int deadletters(store::Store& s, const std::string& action, const std::map<std::string, std::string>& values,
                 const std::set<std::string>& flags) {
  const std::string route = value(values, "--route");
  const std::string batch = value(values, "--batch");
  if (action == "list") {
    const auto dead = s.listOutbox(store::OutboxState::Dead, route, 100000);
    for (const auto& e : dead) printEntry(e);
    std::cout << dead.size() << (dead.size() == 1 ? " dead letter" : " dead letters")
              << (route.empty() ? std::string() : " on route " + route) << "\n";
    return kOk;
  }
  if (action == "show") {
    if (batch.empty()) {
      std::cerr << "renkei deadletters show: --batch ID is required (ids from 'renkei deadletters list')\n";
      return kUsage;
    }
    auto b = s.batch(batch);
    if (!b) {
      std::cerr << "renkei deadletters show: no batch '" << batch << "' in the store\n";
      return kRuntime;
    }
    std::cout << "batch " << b->id << "\n  route " << b->route << ", file '" << printable(b->sourceItem) << "' (sha256 "
              << b->fileSha << "), records " << b->firstRecord << "-" << b->lastRecord << " (" << b->records
              << " accepted), stored " << localTimeFromIso(b->createdAt) << "\n";
    for (const auto& e : s.batchOutbox(batch)) {
      std::cout << "  to " << e.target << ": " << store::outboxStateName(e.state) << ", " << e.attempts
                << (e.attempts == 1 ? " attempt" : " attempts") << ", last change " << localTimeFromIso(e.updatedAt)
                << "\n";
      if (!e.lastError.empty()) std::cout << "    last error: " << printable(e.lastError) << "\n";
    }
    const std::string n = value(values, "--records");
    if (!n.empty()) {
      std::size_t want = 0;
      try {
        want = static_cast<std::size_t>(std::stoul(n));
      } catch (const std::exception&) {
        std::cerr << "renkei deadletters show: --records '" << n << "' is not a number\n";
        return kUsage;
      }
      if (pipeline::sealedAtRest(b->payload)) {
        std::cout << "(the records are stored sealed to the receiving zone's key: only that zone opens them)\n";
        return kOk;
      }
      std::size_t at = 0;
      for (std::size_t i = 0; i < want && at < b->payload.size(); ++i) {
        const std::size_t nl = b->payload.find('\n', at);
        at = nl == std::string::npos ? b->payload.size() : nl + 1;
      }
      auto names = parseNameArray(b->fields);
      // Records shown are personal data seen: who looked, at what.
      s.logOperatorAction(operatorName(values), "deadletters show",
                          "batch " + b->id + " (route " + b->route + "): " + std::to_string(want) +
                              " records shown, fields " + b->fields);
      std::string objects;
      if (!names || expandJsonArrays(std::string_view(b->payload).substr(0, at), *names, objects)) {
        std::cerr << "renkei deadletters show: the stored batch is unreadable\n";
        return kRuntime;
      }
      std::cout << objects;
    }
    return kOk;
  }
  // resubmit
  const bool all = flags.count("--all") > 0;
  if (batch.empty() && route.empty() && !all) {
    std::cerr << "renkei deadletters resubmit: say which: --batch ID, --route R, or --all\n";
    return kUsage;
  }
  const std::int64_t n = s.resubmit(batch, route, operatorName(values));
  std::cout << "resubmitted " << n << (n == 1 ? " dead letter" : " dead letters")
            << "; a running host delivers them now ('renkei serve --once' otherwise)\n";
  if (n == 0 && !batch.empty()) {
    std::cerr << "renkei deadletters resubmit: batch '" << batch << "' has no dead letter\n";
    return kRuntime;
  }
  return kOk;
}

/// The route named by --route, or null after saying which routes there are.
const RouteConfig* namedRoute(const HostConfig& config, const std::string& id, const char* command) {
  std::vector<std::string> ids;
  for (const auto& r : config.routes) {
    if (r.id == id) return &r;
    ids.push_back(r.id);
  }
  std::cerr << "renkei " << command << ": no route '" << id << "' in " << config.file.string() << didYouMean(id, ids)
            << "\n";
  return nullptr;
}

int replay(store::Store& s, const HostConfig& config, const std::map<std::string, std::string>& values) {
  const std::string route = value(values, "--route");
  const std::string since = value(values, "--since");
  if (route.empty() || since.empty()) {
    std::cerr << "renkei replay: --route R and --since T are required\n";
    return kUsage;
  }
  if (!namedRoute(config, route, "replay")) return kUsage;
  auto from = store::parseSince(since, store::nowMs());
  if (!from) {
    std::cerr << "renkei replay: --since '" << since
              << "' is not a date (2026-11-22: midnight in " << timeZoneDescription()
              << "), a local time (2026-11-22T09:00:00), a UTC time (2026-11-22T00:00:00Z) or a duration back (90m, "
                 "2h, 3d)\n";
    return kUsage;
  }
  const std::int64_t n = s.replay(route, *from, operatorName(values));
  std::cout << "replay: " << n << (n == 1 ? " delivery" : " deliveries") << " of route " << route << " since "
            << localTime(*from) << " queued again; sinks overwrite by batch id, so each lands once\n";
  return kOk;
}

// After a layout or mapping fix: the file's content is taken in again under
// the config then in force. The register is marked here; the running host
// (or the next `serve --once`) asks the route's source to put the kept file
// back and takes it in as a new generation.
int reprocess(store::Store& s, const HostConfig& config, const std::map<std::string, std::string>& values) {
  const std::string route = value(values, "--route");
  const std::string file = value(values, "--file");
  if (route.empty() || file.empty()) {
    std::cerr << "renkei reprocess: --route R and --file NAME are required (names from 'renkei status')\n";
    return kUsage;
  }
  const RouteConfig* found = namedRoute(config, route, "reprocess");
  if (!found) return kUsage;
  if (!found->records.empty()) {
    std::cerr << "renkei reprocess: route '" << route << "' takes records its source emits, not files; ask the "
              << "source to send them again\n";
    return kUsage;
  }
  const auto entry = s.requestReprocess(route, file, operatorName(values));
  if (!entry) {
    std::vector<std::string> names;
    for (const auto& f : s.recentFiles(route, 200)) names.push_back(f.name);
    std::cerr << "renkei reprocess: route " << route << " has taken in no file named '" << file << "'"
              << didYouMean(file, names) << "\n";
    return kRuntime;
  }
  if (entry->state == store::FileState::Processing) {
    std::cerr << "renkei reprocess: '" << file << "' is being taken in right now; run this again once it is done\n";
    return kRuntime;
  }
  std::cout << "reprocess: '" << printable(entry->name) << "' (taken in " << localTimeFromIso(entry->firstSeen) << ", "
            << store::fileStateName(entry->state) << ", sha256 " << entry->sha256.substr(0, 12)
            << ") will be taken in again under the current config, as generation " << entry->generation + 1 << ".\n"
            << "  The config is the one the running host last read: after a layout or mapping fix, have it read\n"
            << "  the config again first: 'renkei reload --config F' (or SIGHUP; systemctl reload).\n"
            << "  A running host does it now ('renkei serve --once' otherwise): the route's source puts the kept\n"
            << "  file back into its drop folder (or, if it kept none, drop the file there again).\n"
            << "  What the receivers see: the file's records again, in new batches (ids with '-g"
            << entry->generation + 1 << "-');\n"
            << "  what was delivered before stays delivered (a file target keeps both; a receiver that upserts by\n"
            << "  the record's key ends with the new values). Logged in the operators' log.\n";
  return kOk;
}

int heldRecords(store::Store& s, const std::string& action, const std::map<std::string, std::string>& values,
                const std::set<std::string>& flags) {
  const std::string emitter = value(values, "--emitter"), route = value(values, "--route");
  std::int64_t id = 0;
  if (const std::string text = value(values, "--id"); !text.empty()) {
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(text.c_str(), &end, 10);
    if (errno || !end || *end || n <= 0) {
      std::cerr << "renkei held " << action << ": --id '" << printable(text)
                << "' is not a record id (ids from 'renkei held list')\n";
      return kUsage;
    }
    id = n;
  }
  auto printHeld = [](const store::HeldRecord& h) {
    std::cout << h.id << "  " << h.emitter << " " << h.recordType << " record " << h.number << " of unit '"
              << printable(h.key) << "'  " << (h.route.empty() ? std::string("no route takes it") : "route " + h.route)
              << "  " << h.state << " since " << localTimeFromIso(h.changedAt) << "\n    reasons: "
              << printable(h.reasons) << "\n";
  };
  if (action == "list") {
    const auto rows = s.listHeld(emitter, route, 100000);
    for (const auto& h : rows) printHeld(h);
    std::cout << rows.size() << (rows.size() == 1 ? " held record" : " held records") << "\n";
    return kOk;
  }
  if (action == "show") {
    if (!id) {
      std::cerr << "renkei held show: --id N is required (ids from 'renkei held list')\n";
      return kUsage;
    }
    const auto h = s.heldRecord(id);
    if (!h) {
      std::cerr << "renkei held show: no held record " << id << "\n";
      return kRuntime;
    }
    printHeld(*h);
    std::cout << "    fields: " << h->fields << "\n";
    if (flags.count("--records")) {
      if (pipeline::sealedAtRest(h->record))
        std::cout << "    (its values are sealed to the receiving zone's key: only that zone opens them)\n";
      else
        std::cout << "    values: " << h->record << "\n";
    }
    return kOk;
  }
  // resubmit
  if (!id && emitter.empty() && route.empty() && !flags.count("--all")) {
    std::cerr << "renkei held resubmit: say which: --id N, --emitter E, --route R, or --all\n";
    return kUsage;
  }
  const std::int64_t n = s.requestHeldResubmit(id, emitter, route, operatorName(values));
  if (n == 0 && id) {
    std::cerr << "renkei held resubmit: record " << id << " is not held (ids from 'renkei held list')\n";
    return kRuntime;
  }
  std::cout << "resubmit: " << n << (n == 1 ? " held record" : " held records")
            << " will be taken again under the config the running host has now (after a mapping\n"
            << "  fix, 'renkei reload --config F' first, or run 'renkei serve --once' beside it). Each goes through the\n"
            << "  route that rejected it (or every route of its type when none took it); what is rejected again\n"
            << "  stays held with its new reasons. Logged in the operators' log.\n";
  return kOk;
}

}  // namespace

std::int64_t offsetAt(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm.tm_gmtoff / 60;
}

int auditCommand(const HostConfig& config, const std::string& action, const std::map<std::string, std::string>& values) {
  const std::string name = "renkei audit " + action;
  if (!config.audit) {
    std::cerr << config.file.string() << ":" << config.rootLine << ": " << name
              << ": the config has no <audit key-file=\"…\" anchor-file=\"…\"/>: accesses are only log lines\n";
    return kUsage;
  }
  const std::string key = audit::readKey(config.audit->keyFile);
  auto db = audit::openTrailDatabase(config.effectiveStore(), action == "anchor");
  if (action == "verify") {
    const audit::Finding f = audit::verify(*db, key, config.audit->anchorFile);
    if (!f.ok) {
      std::cout << "audit trail: NOT intact: " << f.what << "\n  (" << f.entries << " entries read, " << f.anchors
                << " anchors checked)\n";
      return kRuntime;
    }
    std::cout << "audit trail: intact: " << f.entries << (f.entries == 1 ? " entry" : " entries") << ", every seal and "
              << f.anchors << (f.anchors == 1 ? " anchor" : " anchors") << " (" << config.audit->anchorFile.string()
              << ") match\n";
    return kOk;
  }
  if (action == "anchor") {
    audit::Trail trail(config.effectiveStore(), key, config.audit->anchorFile, offsetAt);
    trail.anchorNow();
    std::cout << "audit trail: the newest entry's seal is in " << config.audit->anchorFile.string() << "\n";
    return kOk;
  }
  // export
  const std::string year = value(values, "--fiscal-year");
  int y = 0;
  try {
    y = std::stoi(year);
  } catch (const std::exception&) {
  }
  if (y < 2000 || y > 2200 || year.size() != 4) {
    std::cerr << name << ": --fiscal-year YYYY is required (2026: April 2026 to March 2027)\n";
    return kUsage;
  }
  const std::string out = value(values, "--out");
  std::int64_t n = 0;
  if (out.empty()) {
    n = audit::exportCsv(*db, y, offsetAt, std::cout);
  } else {
    std::ostringstream text;
    n = audit::exportCsv(*db, y, offsetAt, text);
    if (const std::string error = writeNewFile(out, text.str(), 0600); !error.empty()) {
      std::cerr << name << ": " << error << "\n";
      return kRuntime;
    }
  }
  std::cerr << name << ": " << n << (n == 1 ? " entry" : " entries") << " of fiscal year " << y << "\n";
  return kOk;
}

/// What an operator command put in the operators' log, into the audit
/// trail too (when the config has one): one trail for every action.
void auditOperatorActions(const HostConfig& config, store::Store& s, std::int64_t after) {
  if (!config.audit) return;
  const auto actions = s.operatorLogAfter(after);
  if (actions.empty()) return;
  audit::Trail trail(config.effectiveStore(), audit::readKey(config.audit->keyFile), config.audit->anchorFile, offsetAt);
  for (const store::OperatorAction& a : actions) {
    audit::Entry e;
    e.atMs = a.atMs;
    e.who = a.who;
    e.address = "command line";
    e.action = a.action;
    e.result = a.detail;
    trail.append(std::move(e));
  }
}

std::string optionValue(const std::map<std::string, std::string>& values, const std::string& key) {
  return value(values, key);
}

std::string operatorName(const std::map<std::string, std::string>& values) { return renkei::operatorNameOf(values); }

std::optional<HostConfig> operatorConfig(const std::map<std::string, std::string>& values, const std::string& name,
                                         const std::string& whose) {
  const std::string configFile = value(values, "--config");
  if (configFile.empty()) {
    std::cerr << name << ": --config is required (" << whose << ")\n";
    return std::nullopt;
  }
  Diagnostics diags;
  auto config = loadConfig(configFile, diags);
  if (!config || !diags.empty()) {
    std::cerr << diags.format() << name << ": configuration problems\n";
    return std::nullopt;
  }
  if (auto why = useTimeZone(config->timeZone)) {
    std::cerr << config->file.string() << ":" << config->rootLine << ": " << *why << "\n";
    return std::nullopt;
  }
  return config;
}

int runOperatorCommand(const std::string& command, const std::string& action,
                       const std::map<std::string, std::string>& values, const std::set<std::string>& flags) {
  const std::string name = "renkei " + command + (action.empty() ? "" : " " + action);
  auto config = operatorConfig(values, name, "the instance whose store to open");
  if (!config) return kUsage;
  try {
    // Operator commands read and change an existing store; they never
    // create one (a wrong --config or path would otherwise make an empty
    // store and report "nothing pending").
    store::StoreConfig storeConfig = config->effectiveStore();
    storeConfig.create = false;
    auto s = store::openStore(storeConfig);
    if (command == "audit") return auditCommand(*config, action, values);
    const std::int64_t logged = s->lastOperatorLogId();
    int rc = kOk;
    if (command == "status") rc = status(*s, *config, values);
    else if (command == "deadletters") rc = deadletters(*s, action, values, flags);
    else if (command == "held") rc = heldRecords(*s, action, values, flags);
    else if (command == "reprocess") rc = reprocess(*s, *config, values);
    else rc = replay(*s, *config, values);
    auditOperatorActions(*config, *s, logged);
    return rc;
  } catch (const store::StoreMissing& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kRuntime;
  }
}

}  // namespace renkei
