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

}  // namespace

bool BridgeConnector::receivePass() {
  DropFolder& drop = *receive_->drop;
  auto stopping = [this] { return receiver_.stopRequested(); };
  try {
    // What an earlier process claimed and did not finish comes first.
    for (const Intake& item : drop.recover()) {
      if (stopping()) return true;
      if (!receiveOne(item)) return false;
    }
    for (const std::string& name : drop.candidates()) {
      if (stopping()) return true;
      if (auto item = drop.claim(name))
        if (!receiveOne(*item)) return false;
    }
  } catch (const std::exception& e) {
    log_->error("bridge %s: %s", context_.id, std::string(e.what()));
    return false;
  }
  return true;
}

bool BridgeConnector::receiveOne(const Intake& item) {
  const ReceiveSide& side = *receive_;
  const int fd = ::open(item.path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return true;  // another host took it
    reject(item, error == ELOOP ? "a symbolic link, not a bundle" : std::string("cannot be opened: ") + std::strerror(error), 0, "");
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
    reject(item, why, static_cast<std::uintmax_t>(st.st_size), sha);
    return true;
  }
  const ZmqReply r = take(bytes, sha);
  switch (r.kind) {
    case ZmqReply::Kind::Retry:
    case ZmqReply::Kind::NoAnswer:
      return false;
    case ZmqReply::Kind::Rejected:
      reject(item, r.detail, bytes.size(), sha);
      return true;
    case ZmqReply::Kind::Delivered:
    case ZmqReply::Kind::Duplicate:
      break;
  }
  if (const Outcome o = side.drop->done(item); !o.isOk())
    log_->error("bridge %s: '%s' is delivered but %s (it is taken again, as a duplicate, on the next pass)",
                context_.id, printable(item.name), o.message());
  return true;
}

std::vector<Problem> BridgeConnector::problems() {
  if (!receive_ || context_.validating) return {};
  std::vector<Problem> out;
  StateStore& store = context_.services->state();
  std::vector<std::pair<std::string, std::int64_t>> senders;
  store.read([&](StateSession& s) {
    s.query("SELECT sender, last_sequence FROM " + store.table("senders") + " ORDER BY sender", {},
            [&](StateRows& r) { senders.emplace_back(r.text(0), r.integer(1)); });
    for (const auto& [sender, last] : senders) {
      // Bundles of this sender received (keys are "bridge:<sender>:<bundle id>").
      const std::string prefix = "bridge:" + sender + ":";
      std::int64_t have = 0;
      s.query("SELECT COUNT(DISTINCT sequence) FROM " + store.table("received") +
                  " WHERE substr(bundle_key, 1, ?) = ? AND sequence <= ?",
              {static_cast<std::int64_t>(prefix.size()), prefix, last}, [&](StateRows& r) { have = r.integer(0); });
      if (have < last)
        out.push_back({"bridge-gap", sender,
                       std::to_string(last - have) + " of the bundles up to sequence " + std::to_string(last) +
                           " from " + sender + " never arrived: find them on the sending side (renkei replay of "
                           "its route sends them again)"});
    }
  });
  return out;
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
      // A first bundle numbered past 1 has a gap before it, as the metric
      // counts it.
      s.run("INSERT INTO " + store.table("senders") + " (sender, last_sequence, gaps) VALUES (?, ?, ?)",
            {m.sender, m.sequence, m.sequence > 1 ? m.sequence - 1 : std::int64_t{0}});
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
    // Kept whole for the operator, as a refused file would be; rejected/ is
    // bounded: beyond max-rejected-bytes a refused bundle is kept as its
    // reason (size and SHA-256) only.
    const std::string name = "zeromq-" + sha.substr(0, 16) + ".bundle";
    DropFolder& drop = *receive_->drop;
    const std::uintmax_t held = drop.failedBytes();
    const bool whole = held + bytes.size() <= receive_->maxRejectedBytes;
    const std::string used =
        whole ? drop.keep(name, bytes, reasonFor(name, r.detail, bytes.size(), sha))
              : drop.reasonOnly(name, reasonFor(name,
                                                r.detail + " (the bundle itself was not kept: rejected/ holds "
                                                           "max-rejected-bytes)",
                                                bytes.size(), sha));
    context_.services->metrics().counter("renkei_bridge_bundles_rejected_total", "Bundles refused whole (see rejected/)").add();
    log_->warning("bridge %s: a bundle over ZeroMQ rejected whole (rejected/%s.reason.txt): %s", context_.id, used,
                  r.detail);
    context_.services->recordRefusal(used, r.detail);
  }
  return r;
}

std::string BridgeConnector::reasonFor(const std::string& name, const std::string& reason, std::uintmax_t bytes,
                                       const std::string& sha) const {
  // The format of every reason file renkei writes: one escaped line per
  // item (a manifest's texts are the sender's), times local with the offset.
  return receive_->drop->reasonText(name, reason, {},
                                    "bytes: " + std::to_string(bytes) + "\n" + (sha.empty() ? "" : "sha256: " + sha + "\n"));
}

void BridgeConnector::reject(const Intake& item, const std::string& reason, std::uintmax_t bytes,
                             const std::string& sha) {
  const std::string used = receive_->drop->fail(item, reasonFor(item.name, reason, bytes, sha));
  context_.services->metrics().counter("renkei_bridge_bundles_rejected_total", "Bundles refused whole (see rejected/)").add();
  log_->warning("bridge %s: '%s' rejected whole (rejected/%s.reason.txt): %s", context_.id, printable(item.name),
                printable(used.empty() ? item.name : used), reason);
  context_.services->recordRefusal(used.empty() ? item.name : used, reason);  // a problem in renkei status until acknowledged
}

}  // namespace renkei::connectors::bridge
