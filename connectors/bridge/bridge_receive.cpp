// The receiving half: claims bundles from in/ into processing/, verifies
// each whole, hands its records to the host (one emission keyed by sender
// and bundle id: a bundle seen before is acknowledged and ignored) and
// moves it to done/; a refused bundle goes whole to rejected/ with a
// <name>.reason.txt beside it. A bundle claimed by a process that was
// killed is in processing/ and is taken first on the next pass.
#include <optional>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "renkei/local_time.h"

#include "bridge_connector.h"
#include "renkei/files.h"
#include "renkei/text.h"

namespace renkei::connectors::bridge {
namespace fs = std::filesystem;
namespace {

/// A bundle id or sender name that may be part of a key and a log line.
bool plainId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

/// Names a transfer product is still writing, or that are not bundles.
bool ignored(const std::string& name) {
  auto ends = [&](const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return name.empty() || name[0] == '.' || ends(".tmp") || ends(".part") || ends("~");
}

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Moves `from` to `dir`/`name`, or `name`.1, `name`.2 … when taken; returns
/// the name used, or "" when it could not be moved.
std::string moveUnique(const fs::path& from, const fs::path& dir, const std::string& name) {
  for (int n = 0; n < 1000; ++n) {
    const std::string candidate = n ? name + "." + std::to_string(n) : name;
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, (dir / candidate).c_str(), RENAME_NOREPLACE) == 0)
      return candidate;
    if (errno != EEXIST) return {};
  }
  return {};
}

}  // namespace

bool BridgeConnector::receivePass() {
  const fs::path& root = receive_->folder;
  std::error_code ec;
  for (const char* sub : {"in", "processing", "done", "rejected", "tmp"}) {
    fs::create_directories(root / sub, ec);
    if (ec) {
      log_->error("bridge %s: cannot create '%s': %s", context_.id, (root / sub).string(), ec.message());
      return false;
    }
  }
  auto stopping = [this] { return receiver_.stopRequested(); };
  // What an earlier process claimed and did not finish comes first.
  for (const std::string& name : entries(root / "processing")) {
    if (stopping()) return true;
    if (!receiveOne(name)) return false;
  }
  for (const std::string& name : entries(root / "in")) {
    if (stopping()) return true;
    if (ignored(name)) continue;
    if (::renameat2(AT_FDCWD, (root / "in" / name).c_str(), AT_FDCWD, (root / "processing" / name).c_str(),
                    RENAME_NOREPLACE) != 0) {
      if (errno == EEXIST) {
        // The same name is still being handled (a copy delivered again):
        // it waits in in/ for the next pass.
        continue;
      }
      if (errno != ENOENT)
        log_->warning("bridge %s: cannot claim '%s': %s", context_.id, printable(name), std::string(std::strerror(errno)));
      continue;
    }
    if (!receiveOne(name)) return false;
  }
  return true;
}

bool BridgeConnector::receiveOne(const std::string& name) {
  const ReceiveSide& side = *receive_;
  const fs::path path = side.folder / "processing" / name;
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return true;  // another host took it
    reject(name, error == ELOOP ? "a symbolic link, not a bundle" : std::string("cannot be opened: ") + std::strerror(error), 0, "");
    return true;
  }
  struct stat st {};
  std::string bytes;
  std::string why;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    why = "not a regular file";
  } else if (static_cast<std::uint64_t>(st.st_size) > side.policy.limits.maxBytes) {
    why = "the bundle has " + std::to_string(st.st_size) + " bytes, more than the limit " +
          std::to_string(side.policy.limits.maxBytes) + " (max-bundle-bytes)";
  } else {
    // Read at most one byte past the limit: a file that grows while read
    // is refused, never read without bound.
    bytes.resize(static_cast<std::size_t>(st.st_size) + 1);
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    if (got != static_cast<std::size_t>(st.st_size)) why = "the file changed while it was read";
  }
  ::close(fd);
  const std::string sha = why.empty() ? seal::sha256Hex(bytes) : std::string();
  if (!why.empty()) {
    reject(name, why, static_cast<std::uintmax_t>(st.st_size), sha);
    return true;
  }
  const ZmqReply r = take(bytes, sha);
  switch (r.kind) {
    case ZmqReply::Kind::Retry:
    case ZmqReply::Kind::NoAnswer:
      return false;
    case ZmqReply::Kind::Rejected:
      reject(name, r.detail, bytes.size(), sha);
      return true;
    case ZmqReply::Kind::Delivered:
    case ZmqReply::Kind::Duplicate:
      break;
  }
  if (moveUnique(side.folder / "processing" / name, side.folder / "done", name).empty() && errno != ENOENT)
    log_->error("bridge %s: '%s' is delivered but cannot be moved to done/: %s (it is taken again, as a "
                "duplicate, on the next pass)",
                context_.id, printable(name), std::string(std::strerror(errno)));
  return true;
}

ZmqReply BridgeConnector::take(const std::string& bytes, const std::string& sha) {
  const ReceiveSide& side = *receive_;
  Verified v = readBundle(bytes, side.policy);
  if (v.ok() && (!plainId(v.manifest.bundleId) || !plainId(v.manifest.sender)))
    v.refusal = "the bundle id or sender name is not 1 to 64 of A-Z a-z 0-9 . _ -";
  if (!v.ok()) return {ZmqReply::Kind::Rejected, *v.refusal};
  const Manifest& m = v.manifest;
  auto names = std::make_shared<FieldNames>();
  for (const Field& f : m.fields) names->push_back(f.name);
  std::shared_ptr<const FieldNames> shared = names;
  RecordSet set;
  set.recordType = m.recordType;
  set.records.reserve(v.rows.size());
  for (auto& row : v.rows) {
    Record r(shared);
    for (std::size_t i = 0; i < row.size(); ++i) r.set(i, std::move(row[i]));
    set.records.push_back(std::move(r));
  }
  Emission emission;
  emission.key = "bridge:" + m.sender + ":" + m.bundleId;
  emission.sets.push_back(std::move(set));
  bool fresh = false;
  std::int64_t missingFrom = 0, missingTo = 0;
  StateStore& store = context_.services->state();
  const std::int64_t now = context_.services->nowMs();
  const std::int64_t records = static_cast<std::int64_t>(v.rows.size());
  emission.state = [&](StateSession& s) {
    fresh = true;
    missingFrom = missingTo = 0;
    std::optional<std::int64_t> last;  // none: the sender's first bundle
    s.query("SELECT last_sequence FROM " + store.table("senders") + " WHERE sender = ?", {m.sender},
            [&](StateRows& r) { last = r.integer(0); });
    if (!last) {
      s.run("INSERT INTO " + store.table("senders") + " (sender, last_sequence, gaps) VALUES (?, ?, 0)",
            {m.sender, m.sequence});
      if (m.sequence > 1) missingFrom = 1, missingTo = m.sequence - 1;
    } else if (m.sequence > *last) {
      if (m.sequence > *last + 1) missingFrom = *last + 1, missingTo = m.sequence - 1;
      s.run("UPDATE " + store.table("senders") + " SET last_sequence = ?, gaps = gaps + ? WHERE sender = ?",
            {m.sequence, missingTo ? missingTo - missingFrom + 1 : 0, m.sender});
    }
    s.run("INSERT INTO " + store.table("received") +
              " (bundle_key, sequence, record_type, records, sha256, received_ms) VALUES (?, ?, ?, ?, ?, ?)",
          {emission.key, m.sequence, m.recordType, records, sha, now});
  };
  const Outcome o = context_.services->emit(emission);
  if (o.status() == Outcome::Status::Retry) {
    log_->warning("bridge %s: bundle %s waits: %s", context_.id, m.bundleId, o.message());
    return {ZmqReply::Kind::Retry, o.message()};
  }
  if (o.status() == Outcome::Status::Error) return {ZmqReply::Kind::Rejected, "the host refused its records: " + o.message()};
  MetricsScope& metrics = context_.services->metrics();
  const MetricLabels labels{{"from", m.fromZone}};
  if (!fresh) {
    metrics.counter("renkei_bridge_bundles_duplicate_total", "Bundles received again: acknowledged and ignored", labels).add();
    log_->information("bridge %s: bundle %s from %s was received before: ignored", context_.id, m.bundleId, m.sender);
    return {ZmqReply::Kind::Duplicate, ""};
  }
  metrics.counter("renkei_bridge_bundles_received_total", "Bundles verified and delivered", labels).add();
  metrics.counter("renkei_bridge_records_received_total", "Records received in bundles", labels)
      .add(static_cast<double>(records));
  log_->information("bridge %s: bundle %s from %s (sequence %s, %s records of type %s) delivered", context_.id,
                    m.bundleId, m.sender, std::to_string(m.sequence), std::to_string(records), m.recordType);
  if (missingTo) {
    metrics.counter("renkei_bridge_sequence_gaps_total", "Bundles missing in a sender's sequence when a later one came", labels)
        .add(static_cast<double>(missingTo - missingFrom + 1));
    log_->warning("bridge %s: from %s, bundles with sequence %s not received yet (the next came first: "
                  "delayed or lost in transfer?)",
                  context_.id, m.sender,
                  missingFrom == missingTo ? std::to_string(missingFrom)
                                           : std::to_string(missingFrom) + "–" + std::to_string(missingTo));
  }
  return {ZmqReply::Kind::Delivered, ""};
}

ZmqReply BridgeConnector::takeFromZmq(const std::string& bytes) {
  const std::string sha = seal::sha256Hex(bytes);
  ZmqReply r = bytes.size() > receive_->policy.limits.maxBytes
                   ? ZmqReply{ZmqReply::Kind::Rejected, "the bundle has " + std::to_string(bytes.size()) +
                                                            " bytes, more than the limit " +
                                                            std::to_string(receive_->policy.limits.maxBytes) +
                                                            " (max-bundle-bytes)"}
                   : take(bytes, sha);
  if (r.kind == ZmqReply::Kind::Rejected) {
    // Kept whole for the operator, as a refused file would be.
    const std::string name = "zeromq-" + sha.substr(0, 16) + ".bundle";
    // rejected/ is bounded: beyond max-rejected-bytes a refused bundle is
    // kept as its reason (size and SHA-256) only.
    const bool keep = tendRejected(false) + bytes.size() <= receive_->maxRejectedBytes;
    const std::string used =
        reasonFileFor(name, keep ? r.detail : r.detail + " (the bundle itself was not kept: rejected/ holds max-rejected-bytes)",
                      bytes.size(), sha);
    if (keep)
      if (std::string error = writeFileAtomically(receive_->folder / "tmp", receive_->folder / "rejected" / used, bytes, fsync_);
          !error.empty())
        log_->error("bridge %s: %s", context_.id, error);
    context_.services->metrics().counter("renkei_bridge_bundles_rejected_total", "Bundles refused whole (see rejected/)").add();
    log_->warning("bridge %s: a bundle over ZeroMQ rejected whole (rejected/%s.reason.txt): %s", context_.id, used,
                  r.detail);
    context_.services->recordRefusal(used, r.detail);
  }
  return r;
}

std::uintmax_t BridgeConnector::tendRejected(bool purge) {
  ReceiveSide& side = *receive_;
  const auto now = std::chrono::steady_clock::now();
  const bool due = purge && now >= side.nextPurge;
  if (due) side.nextPurge = now + std::chrono::minutes(10);
  const int dir = openOwnFolder(side.folder / "rejected");
  if (dir < 0) return 0;
  // Not due: only the bytes it holds are counted (an age no file has).
  const Removal r = removeOlderThan(dir, due ? side.keepRejectedFor : std::chrono::milliseconds::max() / 2,
                                    AgeBy::Modified);
  ::close(dir);
  const std::size_t removed = r.removed;
  const std::uintmax_t bytes = r.keptBytes;
  if (removed)
    log_->notice("bridge %s: %z bundles and reasons in rejected/ older than keep-rejected-for removed", context_.id,
                 removed);
  return bytes;
}

std::string BridgeConnector::reasonFileFor(const std::string& name, const std::string& reason, std::uintmax_t bytes,
                                           const std::string& sha) {
  const ReceiveSide& side = *receive_;
  std::error_code ec;
  for (const char* sub : {"rejected", "tmp"}) fs::create_directories(side.folder / sub, ec);
  // A name too long for a ".reason.txt" beside it is shortened.
  std::string kept = name;
  if (kept.size() > 200) kept = kept.substr(0, 160) + "-" + seal::sha256Hex(name).substr(0, 16);
  std::string used;
  for (int n = 0; n < 1000 && used.empty(); ++n) {
    const std::string candidate = n ? kept + "." + std::to_string(n) : kept;
    struct stat st {};
    if (::lstat((side.folder / "rejected" / candidate).c_str(), &st) == 0) continue;
    if (::lstat((side.folder / "rejected" / (candidate + ".reason.txt")).c_str(), &st) == 0) continue;
    used = candidate;
  }
  if (used.empty()) used = kept + "." + std::to_string(context_.services->nowMs());
  // The format of every reason file renkei writes: one escaped line per
  // item (a manifest's texts are the sender's), times local with the offset.
  std::string text = "bundle: " + printable(name) + "\nconnector: " + context_.id +
                     "\nrejected: " + localTimeText(context_.services->nowMs()) + "\nreason: " +
                     printable(reason, 64 * 1024) + "\nbytes: " + std::to_string(bytes) + "\n";
  if (!sha.empty()) text += "sha256: " + sha + "\n";
  if (std::string error = writeFileAtomically(side.folder / "tmp", side.folder / "rejected" / (used + ".reason.txt"), text, fsync_);
      !error.empty())
    log_->error("bridge %s: %s", context_.id, error);
  return used;
}

void BridgeConnector::reject(const std::string& name, const std::string& reason, std::uintmax_t bytes,
                             const std::string& sha) {
  const ReceiveSide& side = *receive_;
  const std::string used = reasonFileFor(name, reason, bytes, sha);
  if (moveUnique(side.folder / "processing" / name, side.folder / "rejected", used).empty())
    log_->error("bridge %s: cannot move '%s' to rejected/: %s", context_.id, printable(name),
                std::string(std::strerror(errno)));
  context_.services->metrics().counter("renkei_bridge_bundles_rejected_total", "Bundles refused whole (see rejected/)").add();
  log_->warning("bridge %s: '%s' rejected whole (rejected/%s.reason.txt): %s", context_.id, printable(name),
                printable(used), reason);
  context_.services->recordRefusal(used, reason);  // a problem in renkei status until acknowledged
}

}  // namespace renkei::connectors::bridge
