// Operator approval of outgoing bundles (approval=true): the sending half
// writes each bundle to pending-approval/; `renkei bridge approve` moves it
// into out/ (the transfer product takes it from there), keeps a copy and a
// note in approved/ (keep-approved-for: a replay writes the copy again);
// `renkei bridge reject` moves it to rejected/ with the reason.
// The host keeps who did what in its operators' log.
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>
#include <limits>

#include "renkei/local_time.h"
#include "bridge_connector.h"
#include "renkei/files.h"

namespace renkei::connectors::bridge {
namespace fs = std::filesystem;
namespace {

/// "concierge.move-event, 30 records, sequence 7, created …" from a
/// bundle's manifest line (read at most 64 KiB), or why not.
std::string summary(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string line(64 * 1024, '\0');
  in.read(line.data(), static_cast<std::streamsize>(line.size()));
  line.resize(static_cast<std::size_t>(in.gcount()));
  if (line.substr(0, 3) == "\xEF\xBB\xBF") line.erase(0, 3);
  line = line.substr(0, line.find('\n'));
  try {
    auto o = Poco::JSON::Parser().parse(line).extract<Poco::JSON::Object::Ptr>();
    return o->getValue<std::string>("record_type") + ", " + std::to_string(o->getValue<std::int64_t>("records")) +
           " records, sequence " + std::to_string(o->getValue<std::int64_t>("sequence")) + ", to the " +
           o->getValue<std::string>("to") + " zone, made " + o->getValue<std::string>("created");
  } catch (const std::exception&) {
    return "(no readable manifest)";
  }
}

bool plainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         std::none_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

OperatorResult refused(std::string why, int status = 1) {
  OperatorResult r;
  r.status = status;
  r.error = std::move(why);
  return r;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> BridgeConnector::pendingBundles(std::size_t limit,
                                                                                std::size_t& total) const {
  const fs::path pending = send_->folder / "pending-approval";
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(pending, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && plainName(it->path().filename().string()))
      names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  total = names.size();
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) out.emplace_back(names[i], summary(pending / names[i]));
  return out;
}

std::optional<OperatorResult> BridgeConnector::operate(const OperatorRequest& request) {
  const std::string& action = request.action;
  if (action == "keygen") return bridgeKeygen(request.options);  // needs no config (a fresh instance)
  if (action != "pending" && action != "approve" && action != "reject") return std::nullopt;
  if (!send_ || !send_->approval)
    return refused("connector '" + context_.id + "' holds nothing for approval (approval=true on its sending half "
                   "turns it on)",
                   2);
  const fs::path pending = send_->folder / "pending-approval";
  std::error_code ec;
  if (action == "pending") {
    std::size_t total = 0;
    const auto bundles = pendingBundles(std::numeric_limits<std::size_t>::max(), total);  // an operator asked for all
    OperatorResult r;
    for (const auto& [name, what] : bundles) r.output += name + "  " + what + "\n";
    r.output += std::to_string(bundles.size()) + (bundles.size() == 1 ? " bundle waits" : " bundles wait") +
                " for approval in " + pending.string() + "\n";
    return r;
  }
  const auto bundle = request.options.find("--bundle");
  if (bundle == request.options.end() || !plainName(bundle->second))
    return refused("--bundle NAME is required: a file name in " + pending.string() + " ('renkei bridge pending')", 2);
  const std::string& name = bundle->second;
  if (!fs::is_regular_file(fs::symlink_status(pending / name, ec)))
    return refused("no bundle '" + name + "' waits for approval in " + pending.string() + " ('renkei bridge pending')");
  const std::string what = summary(pending / name);
  const char* dir = action == "approve" ? "approved" : "rejected";
  fs::create_directories(send_->folder / dir, ec);
  fs::create_directories(send_->folder / "out", ec);
  fs::create_directories(send_->folder / "tmp", ec);
  std::string reason;
  if (action == "reject") {
    const auto given = request.options.find("--reason");
    if (given == request.options.end() || given->second.empty())
      return refused("--reason TEXT is required: why the bundle must not leave", 2);
    reason = given->second.substr(0, 500);
    std::replace_if(reason.begin(), reason.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, ' ');
  }
  // The note first: a bundle redelivered after this (a crash before the host
  // recorded it) finds the decision and is not held again.
  // Its time for people: the municipality's zone with the offset, as the reason files state it.
  const std::int64_t nowMs = static_cast<std::int64_t>(std::time(nullptr)) * 1000;
  const std::string note = "bundle: " + name + "\n" + (action == "approve" ? "approved" : "rejected") + ": " +
                           localTimeAt(nowMs, context_.services->utcOffsetMinutes(nowMs)) + "\nby: " + request.by + "\n" + (reason.empty() ? "" : "reason: " + reason + "\n") +
                           "what: " + what + "\n";
  const fs::path noteFile = send_->folder / dir / (action == "approve" ? name + ".note.txt" : name + ".reason.txt");
  if (action == "approve") {
    // The bundle as approved, kept (keep-approved-for): if the transfer
    // product loses it, `renkei replay` writes these bytes to out/ again.
    // Kept before the move, so a crash in between still finds the decision.
    std::ifstream in(pending / name, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return refused("cannot read '" + name + "' in " + pending.string());
    if (std::string error = writeFileAtomically(send_->folder / "tmp", send_->folder / dir / name, bytes, fsync_);
        !error.empty())
      return refused(error);
    purgeApproved();
  }
  if (std::string error = writeFileAtomically(send_->folder / "tmp", noteFile, note, fsync_); !error.empty())
    return refused(error);
  const fs::path target = action == "approve" ? send_->folder / "out" / name : send_->folder / "rejected" / name;
  fs::rename(pending / name, target, ec);
  if (ec) return refused("cannot move '" + name + "' to " + target.parent_path().string() + ": " + ec.message());
  if (fsync_) syncPath(target.parent_path(), true);
  OperatorResult r;
  r.output = std::string(action == "approve" ? "approved: " : "rejected: ") + name + " (" + what + ")\n  now in " +
             target.string() + (action == "approve" ? " for the transfer product" : "") + "\n";
  r.logged = std::string(action == "approve" ? "approved" : "rejected") + " bundle " + name + " (" + what + ")" +
             (reason.empty() ? "" : ": " + reason);
  return r;
}

}  // namespace renkei::connectors::bridge
