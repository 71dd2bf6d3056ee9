// The sending half: one batch, one bundle, written to tmp/ and renamed into
// out/. The same batch delivered again (after a crash or a retry) becomes
// the same bundle id and sequence, so the receiver takes it once.
#include <ctime>
#include <fstream>
#include <iterator>

#include "bridge_connector.h"
#include "renkei/files.h"

namespace renkei::connectors::bridge {
namespace fs = std::filesystem;
std::string isoUtc(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

namespace {

std::string padded(std::int64_t n) {
  std::string s = std::to_string(n);
  return std::string(s.size() < 12 ? 12 - s.size() : 0, '0') + s;
}

}  // namespace

const std::vector<std::string>& bridgeMigrations() {
  static const std::vector<std::string> steps = {
      // The sending half: the sequence number given to each batch.
      "CREATE TABLE {sent} (batch_id TEXT PRIMARY KEY, sequence BIGINT NOT NULL, created_ms BIGINT NOT NULL)",
      // The receiving half: the highest sequence seen per sender (gaps are
      // reported against it) and each bundle taken (no content).
      "CREATE TABLE {senders} (sender TEXT PRIMARY KEY, last_sequence BIGINT NOT NULL, gaps BIGINT NOT NULL)",
      "CREATE TABLE {received} (bundle_key TEXT PRIMARY KEY, sequence BIGINT NOT NULL, record_type TEXT NOT NULL, "
      "records BIGINT NOT NULL, sha256 TEXT NOT NULL, received_ms BIGINT NOT NULL)",
  };
  return steps;
}

std::int64_t BridgeConnector::sequenceFor(const std::string& batchId) {
  StateStore& store = context_.services->state();
  std::int64_t sequence = 0;
  const std::int64_t now = context_.services->nowMs();
  store.write([&](StateSession& s) {
    sequence = 0;
    s.query("SELECT sequence FROM " + store.table("sent") + " WHERE batch_id = ?", {batchId},
            [&](StateRows& r) { sequence = r.integer(0); });
    if (sequence) return;
    s.query("SELECT COALESCE(MAX(sequence), 0) FROM " + store.table("sent"), {},
            [&](StateRows& r) { sequence = r.integer(0) + 1; });
    s.run("INSERT INTO " + store.table("sent") + " (batch_id, sequence, created_ms) VALUES (?, ?, ?)",
          {batchId, sequence, now});
  });
  return sequence;
}

Outcome BridgeConnector::manifestFor(const Batch& batch, const FieldNames& names, Manifest& manifest) {
  const SendSide& side = *send_;
  const bool classesKnown = batch.fieldPii && batch.fieldPii->size() == names.size();
  for (std::size_t i = 0; i < names.size(); ++i)
    manifest.fields.push_back({names[i], classesKnown ? (*batch.fieldPii)[i] : std::string("personal")});
  if (side.toZone == "internet") {
    // checked by `renkei check` on the route's mapping, and again here on
    // what is about to leave
    for (const Field& f : manifest.fields)
      if (f.pii != "none")
        return Outcome::error("field '" + f.name + "' is of class " + f.pii +
                              (classesKnown ? "" : " (the route has no mapping: classes unknown)") +
                              "; the internet zone takes class none only");
  }
  std::int64_t sequence = 0;
  try {
    sequence = sequenceFor(batch.id);
  } catch (const StateError& e) {
    return Outcome::retry(std::string("the store: ") + e.what());
  }
  manifest.bundleId = seal::sha256Hex(context_.instance + "\n" + batch.id).substr(0, 32);
  manifest.sender = context_.instance;
  manifest.fromZone = context_.zone;
  manifest.toZone = side.toZone;
  manifest.sequence = sequence;
  manifest.recordType = batch.recordType;
  manifest.created = isoUtc(context_.services->nowMs());
  return Outcome::ok();
}

Outcome BridgeConnector::deliver(const Batch& batch) {
  const SendSide& side = *send_;
  if (!side.types.count(batch.recordType))
    return Outcome::error("record type '" + batch.recordType + "' is not in this bridge's send-types");
  if (batch.zone != side.toZone)
    return Outcome::error("the batch was mapped for the " + batch.zone + " zone; this bridge delivers into the " +
                          side.toZone + " zone");
  Manifest manifest;
  std::string text;
  if (!batch.sealedPayload.empty()) {
    // Stored sealed to our receiver's key (the internet zone keeps nothing
    // personal): carried as it is; only the receiver opens it.
    if (!batch.fieldNames) return Outcome::error("a sealed batch without field names");
    if (Outcome o = manifestFor(batch, *batch.fieldNames, manifest); !o.isOk()) return o;
    manifest.records = static_cast<std::int64_t>(batch.recordCount);
    try {
      text = writeSealedBundle(manifest, batch.sealedPayload, "renkei-batch:" + batch.id, *side.signer);
    } catch (const std::exception& e) {
      return Outcome::error(std::string("cannot make the bundle: ") + e.what());
    }
    return place(manifest, text, batch.recordCount, true);
  }
  if (batch.records.empty()) return Outcome::ok();
  const FieldNames& names = *batch.records.front().names();
  Rows rows;
  rows.reserve(batch.records.size());
  for (std::size_t n = 0; n < batch.records.size(); ++n) {
    const Record& record = batch.records[n];
    if (record.size() != names.size())
      return Outcome::error("record " + std::to_string(n + 1) + " has another shape than the batch's first");
    std::vector<std::string> row;
    row.reserve(record.size());
    for (std::size_t i = 0; i < record.size(); ++i) {
      if (side.toZone == "internet" && context_.services->looksLikeIdentifier(record.value(i)))
        return Outcome::error("record " + std::to_string(n + 1) + ", field '" + names[i] +
                              "' holds what looks like a 住民票コード or 個人番号; nothing of the kind may leave for "
                              "the internet zone");
      row.push_back(record.value(i));
    }
    rows.push_back(std::move(row));
  }
  if (Outcome o = manifestFor(batch, names, manifest); !o.isOk()) return o;
  bool sealed = false;
  for (const Field& f : manifest.fields) sealed = sealed || f.pii != "none";
  try {
    text = writeBundle(manifest, rows, *side.signer, side.receiver ? &*side.receiver : nullptr);
  } catch (const std::exception& e) {
    return Outcome::error(std::string("cannot make the bundle: ") + e.what());
  }
  return place(manifest, text, rows.size(), sealed);
}

void BridgeConnector::purgeApproved() {
  std::lock_guard<std::mutex> lock(approvedMutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now < nextApprovedPurge_) return;
  nextApprovedPurge_ = now + std::chrono::minutes(10);
  const int dir = openOwnFolder(send_->folder / "approved");
  if (dir < 0) return;
  const std::size_t removed = removeOlderThan(dir, send_->keepApprovedFor, AgeBy::Modified).removed;
  ::close(dir);
  if (removed)
    log_->notice("bridge %s: %z approved bundle copies and notes older than keep-approved-for removed from approved/",
                 context_.id, removed);
}

Outcome BridgeConnector::place(const Manifest& manifest, const std::string& text, std::size_t records, bool sealed) {
  const SendSide& side = *send_;
  const MetricLabels labels{{"to", side.toZone}};
  if (side.zmq) {
    const ZmqReply reply = side.zmq->send(text);
    switch (reply.kind) {
      case ZmqReply::Kind::Rejected:
        return Outcome::error("the receiver rejected bundle " + manifest.bundleId + ": " + reply.detail);
      case ZmqReply::Kind::Retry:
      case ZmqReply::Kind::NoAnswer:
        return Outcome::retry("bundle " + manifest.bundleId + " over ZeroMQ: " + reply.detail);
      case ZmqReply::Kind::Delivered:
      case ZmqReply::Kind::Duplicate:
        break;
    }
    context_.services->metrics().counter("renkei_bridge_bundles_sent_total", "Bundles written for the other zone", labels).add();
    context_.services->metrics()
        .counter("renkei_bridge_records_sent_total", "Records sent in bundles", labels)
        .add(static_cast<double>(records));
    log_->information("bridge %s: bundle %s (sequence %s, %z records of type %s%s) acknowledged over ZeroMQ%s",
                      context_.id, manifest.bundleId, std::to_string(manifest.sequence), records, manifest.recordType,
                      std::string(sealed ? ", sealed" : ""),
                      std::string(reply.kind == ZmqReply::Kind::Duplicate ? " (the receiver had it already)" : ""));
    return Outcome::ok();
  }
  std::error_code ec;
  const char* into = side.approval ? "pending-approval" : "out";
  for (const char* sub : {"tmp", into}) {
    std::filesystem::create_directories(side.folder / sub, ec);
    if (ec) return Outcome::retry("cannot create '" + (side.folder / sub).string() + "': " + ec.message());
  }
  const std::string name = context_.instance + "." + padded(manifest.sequence) + ".bundle";
  std::string placeInto = into;
  if (side.approval) {
    purgeApproved();
    // Decided on already (a batch delivered again after a crash, or sent
    // again by `renkei replay`): the operator's decision stands.
    if (std::filesystem::exists(side.folder / "rejected" / name, ec)) {
      log_->information("bridge %s: bundle %s was rejected by an operator (rejected/%s): not written again",
                        context_.id, manifest.bundleId, name);
      return Outcome::ok();
    }
    const fs::path kept = side.folder / "approved" / name;
    if (std::filesystem::exists(kept, ec)) {
      std::ifstream in(kept, std::ios::binary);
      std::string approved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) return Outcome::retry("cannot read approved/" + name);
      if (approved.rfind("bundle: ", 0) == 0) {
        // A note from a version that kept no copy: the bundle as made now
        // waits for approval again.
        log_->warning("bridge %s: bundle %s was approved before, but no copy of it was kept: it waits for approval "
                      "again in pending-approval/",
                      context_.id, manifest.bundleId);
        placeInto = "pending-approval";
      } else if (std::filesystem::exists(side.folder / "out" / name, ec)) {
        return Outcome::ok();  // still waiting for the transfer product
      } else {
        // The transfer product took it and lost it (or it was taken and
        // this is a replay): the bytes the operator approved, again.
        if (std::string error = writeFileAtomically(side.folder / "tmp", side.folder / "out" / name, approved, fsync_);
            !error.empty())
          return Outcome::retry(error);
        log_->notice("bridge %s: bundle %s was approved before: written to out/ again as approved (%s)", context_.id,
                     manifest.bundleId, name);
        return Outcome::ok();
      }
    }
  }
  if (std::string error = writeFileAtomically(side.folder / "tmp", side.folder / placeInto / name, text, fsync_);
      !error.empty())
    return Outcome::retry(error);
  context_.services->metrics().counter("renkei_bridge_bundles_sent_total", "Bundles written for the other zone", labels).add();
  context_.services->metrics()
      .counter("renkei_bridge_records_sent_total", "Records sent in bundles", labels)
      .add(static_cast<double>(records));
  log_->information("bridge %s: bundle %s (sequence %s, %z records of type %s%s) is in %s/ as %s", context_.id,
                    manifest.bundleId, std::to_string(manifest.sequence), records, manifest.recordType,
                    std::string(sealed ? ", sealed" : ""), placeInto, name);
  return Outcome::ok();
}

}  // namespace renkei::connectors::bridge
