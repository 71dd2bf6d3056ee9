// The host: builds plugin instances and runs routes.
#include "host.h"

#include <signal.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "formats/reader.h"
#include "mapped_file.h"
#include "text_lines.h"

namespace renkei {
namespace {

// File names become part of batch ids (and so of output file names): keep
// them portable and free of path separators.
std::string safeStem(const std::string& name) {
  std::string stem = name;
  const std::size_t dot = stem.rfind('.');
  if (dot != std::string::npos && dot > 0) stem.resize(dot);
  for (char& c : stem) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) && u < 0x80) && c != '-' && c != '_' && c != '.') c = '_';
  }
  if (stem.size() > 64) stem.resize(64);
  return stem;
}

std::string batchId(const std::string& route, const std::string& itemName, const std::string& sha,
                    std::size_t sequence) {
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06zu", sequence);
  return route + "-" + safeStem(itemName) + "-" + sha.substr(0, 12) + "-" + seq;
}

}  // namespace

Host::Host(const HostConfig& config, PluginRegistry& registry, Poco::Logger& logger, store::Store* store)
    : config_(config), registry_(registry), logger_(logger), store_(store) {
  // Fault injection for the crash tests (docs/testing.md): the process kills
  // itself with SIGKILL at the named point, exactly as an operator's kill -9.
  if (const char* f = std::getenv("RENKEI_FAULT")) faultPoint_ = f;
}

Host::~Host() { shutdown(); }

void Host::fault(const char* point) const {
  if (!faultPoint_.empty() && faultPoint_ == point) {
    logger_.warning("fault injection: SIGKILL at '%s'", std::string(point));
    ::raise(SIGKILL);
  }
}

void Host::start() {
  std::vector<std::string> failures;
  auto makeContext = [&](const InstanceConfig& inst) -> HostContext& {
    HostContext& ctx = contexts_[inst.id];
    ctx.instance = config_.instance;
    ctx.zone = config_.zone;
    ctx.id = inst.id;
    ctx.configDir = config_.directory;
    ctx.logger = &Poco::Logger::get("renkei." + inst.id);
    return ctx;
  };
  const std::string file = config_.file.string();
  auto build = [&](const InstanceConfig& inst, auto create, auto& instances) {
    try {
      auto instance = (registry_.*create)(inst.plugin);
      instance->configure(inst.settings, makeContext(inst));
      instances[inst.id] = std::move(instance);
    } catch (const std::exception& e) {
      failures.push_back(file + ":" + std::to_string(inst.line) + ": " + inst.element + " '" + inst.id + "' (" +
                         inst.plugin + "): " + e.what());
    }
  };
  for (const InstanceConfig& inst : config_.connectors) build(inst, &PluginRegistry::createConnector, connectors_);
  for (const InstanceConfig& inst : config_.modules) build(inst, &PluginRegistry::createModule, modules_);
  if (!failures.empty()) {
    std::string message;
    for (const auto& f : failures) message += f + "\n";
    shutdown();
    throw HostStartError(message);
  }
  for (auto& [id, module] : modules_) module->start();
  started_ = true;

  stats_.reserve(config_.routes.size());
  for (const RouteConfig& rc : config_.routes) {
    RouteStats routeStats;
    routeStats.id = rc.id;
    routeStats.from = rc.from;
    routeStats.to = rc.to;
    stats_.push_back(std::move(routeStats));
    Route route;
    route.config = &rc;
    route.stats = &stats_.back();
    route.names = std::make_shared<const FieldNames>(rc.mapping ? rc.mapping->targetNames() : FieldNames{"line"});
    route.source = connectors_.at(rc.from)->source();
    for (const std::string& to : rc.to) {
      Target t{to};
      if (auto it = connectors_.find(to); it != connectors_.end()) t.sink = it->second->sink();
      if (auto it = modules_.find(to); it != modules_.end()) t.module = it->second.get();
      route.targets.push_back(t);
    }
    for (Intake& item : route.source->recover()) {
      logger_.notice("route %s: resuming '%s' left in processing/ by an earlier run", rc.id, item.name);
      route.pending.push_back(std::move(item));
    }
    routes_.push_back(std::move(route));
  }
}

void Host::shutdown() {
  if (started_)
    for (auto& [id, module] : modules_) module->stop();
  started_ = false;
  routes_.clear();
  modules_.clear();
  connectors_.clear();
}

void Host::runPass(const std::atomic<bool>& stop) {
  for (Route& route : routes_) {
    // Items from earlier runs or earlier failed deliveries come first; an item
    // that fails again waits for the next pass.
    std::deque<Intake> retry;
    while (!route.pending.empty() && !stop) {
      Intake item = std::move(route.pending.front());
      route.pending.pop_front();
      if (item.recovered) ++route.stats->filesRecovered;
      if (!process(route, item)) retry.push_back(std::move(item));
    }
    while (!stop) {
      std::optional<Intake> item;
      try {
        item = route.source->claim();
      } catch (const std::exception& e) {
        route.stats->problems.push_back(std::string("claim: ") + e.what());
        logger_.error("route %s: %s", route.config->id, std::string(e.what()));
        break;
      }
      if (!item) break;
      ++route.stats->filesClaimed;
      fault("after-claim");
      if (!process(route, *item)) retry.push_back(std::move(*item));
    }
    for (auto& item : retry) route.pending.push_back(std::move(item));
    route.stats->filesPending = route.pending.size();
  }
}

bool Host::failItem(Route& route, const Intake& item, const std::string& reason) {
  const std::string& routeId = route.config->id;
  Outcome o = route.source->finish(item, Disposition::Failed, reason);
  if (!o.isOk()) {
    route.stats->problems.push_back("'" + item.name + "': " + o.message());
    logger_.error("route %s: cannot quarantine '%s': %s", routeId, item.name, o.message());
    return false;
  }
  ++route.stats->filesFailed;
  route.stats->problems.push_back("'" + item.name + "' moved to error/: " + reason);
  logger_.warning("route %s: '%s' moved to error/: %s", routeId, item.name, reason);
  return true;
}

bool Host::flushBatch(Route& route, const Intake& item, const std::string& sha, std::size_t& sequence, Batch& batch,
                      std::uint64_t& delivered) {
  if (batch.records.empty()) return true;
  batch.id = batchId(route.config->id, item.name, sha, sequence++);
  batch.route = route.config->id;
  batch.sourceItem = item.name;
  if (!deliverBatch(route, item, batch)) return false;
  delivered += batch.records.size();
  batch.records.clear();
  if (sequence == 1) fault("after-first-batch");
  return true;
}

bool Host::alreadyProcessed(Route& route, const Intake& item, const std::string& sha, bool& stop) {
  stop = false;
  if (!store_) return false;
  try {
    auto earlier = store_->registerFile(route.config->id, sha, item.name, item.size);
    if (!earlier || earlier->state != store::FileState::Done) return false;  // new, or resumed after a crash
    Outcome o = route.source->finish(item, Disposition::Done, {});
    if (!o.isOk()) {
      route.stats->problems.push_back("'" + item.name + "': " + o.message());
      stop = true;
      return false;
    }
    ++route.stats->filesDuplicate;
    if (item.recovered && earlier->name == item.name)
      logger_.notice("route %s: '%s' was delivered before the restart; moved to done/", route.config->id, item.name);
    else
      logger_.notice("route %s: '%s' has the same content as '%s' (taken in %s): not processed again",
                     route.config->id, item.name, earlier->name, earlier->firstSeen);
    return true;
  } catch (const std::exception& e) {
    route.stats->problems.push_back(std::string("store: ") + e.what());
    logger_.error("route %s: store: %s; '%s' stays in processing/", route.config->id, std::string(e.what()), item.name);
    stop = true;
    return false;
  }
}

bool Host::completeItem(Route& route, const Intake& item, std::uint64_t delivered, const std::string& sha) {
  if (store_) {
    // Marked done in the store before the file moves: after a crash between
    // the two, the resumed file is recognised and not delivered again.
    try {
      store_->finishFile(route.config->id, sha, store::FileState::Done, {});
    } catch (const std::exception& e) {
      route.stats->problems.push_back(std::string("store: ") + e.what());
      logger_.error("route %s: store: %s; '%s' stays in processing/", route.config->id, std::string(e.what()), item.name);
      return false;
    }
  }
  fault("after-deliver");
  Outcome done = route.source->finish(item, Disposition::Done, {});
  if (!done.isOk()) {
    route.stats->problems.push_back("'" + item.name + "': " + done.message());
    logger_.error("route %s: cannot move '%s' to done/: %s", route.config->id, item.name, done.message());
    return false;
  }
  ++route.stats->filesDone;
  route.stats->records += delivered;
  return true;
}

bool Host::deliverBatch(Route& route, const Intake& item, Batch& batch) {
  for (const Target& t : route.targets) {
    Outcome o = t.sink ? t.sink->deliver(batch) : t.module->accept(batch);
    if (!o.isOk()) {
      route.stats->problems.push_back("'" + item.name + "' to " + t.id + ": " + o.message());
      logger_.error("route %s: delivery of '%s' to %s failed (%s); the file stays in processing/ for a retry",
                    route.config->id, item.name, t.id, o.message());
      return false;
    }
  }
  ++route.stats->batches;
  return true;
}

bool Host::processMapped(Route& route, const Intake& item) {
  const mapping::Mapping& m = *route.config->mapping;
  const std::string& routeId = route.config->id;
  std::shared_ptr<MappedFile> file;
  std::string sha;
  try {
    // Pass 1: the file as a whole (trailer counts, truncation, malformed XML)
    // before anything from it is delivered. Both passes read one mapping.
    file = std::make_shared<MappedFile>(item.path);
    sha = sha256Hex(file->view());
    auto check = formats::RecordReader::fromMemory(*m.layout, file->view());
    check->setFieldMask(std::vector<std::uint8_t>(m.layout->fields.size(), 0));  // structure only
    formats::RawRecord raw;
    while (check->next(raw)) {
    }
    if (check->error()) return failItem(route, item, check->error()->format());
  } catch (const std::exception& e) {
    return failItem(route, item, e.what());
  }
  bool storeDown = false;
  if (alreadyProcessed(route, item, sha, storeDown)) return true;
  if (storeDown) return false;

  // Pass 2: map and deliver in batches; rejects are collected for the source.
  auto reader = formats::RecordReader::fromMapping(*m.layout, file);
  reader->setFieldMask(m.sourceFieldsRead());
  mapping::MapRun run(m);
  formats::RawRecord raw;
  std::uint64_t delivered = 0;
  std::size_t sequence = 0;
  Batch batch;
  auto flush = [&]() { return flushBatch(route, item, sha, sequence, batch, delivered); };
  while (reader->next(raw)) {
    if (run.step(raw) != mapping::Verdict::Accepted) continue;
    const auto& values = run.record().values;
    Record r(route.names);
    for (std::size_t i = 0; i < values.size(); ++i) r.set(i, std::string(values[i]));
    batch.records.push_back(std::move(r));
    if (batch.records.size() >= config_.batchRecords && !flush()) return false;
  }
  if (!flush()) return false;
  if (!run.rejects().empty()) {
    Outcome o = route.source->writeRejects(item, run.rejects());
    if (o.status() == Outcome::Status::Retry) {
      route.stats->problems.push_back("'" + item.name + "' rejects: " + o.message());
      return false;
    }
    if (!o.isOk()) logger_.warning("route %s: rejects of '%s' not kept: %s", routeId, item.name, o.message());
  }
  if (!completeItem(route, item, delivered, sha)) return false;
  route.stats->rejected += run.rejected;
  route.stats->skipped += run.skipped;
  route.stats->warnings += run.warnings;
  logger_.information("route %s: '%s' done: %s delivered, %s rejected, %s skipped", routeId, item.name,
                      std::to_string(delivered), std::to_string(run.rejected), std::to_string(run.skipped));
  return true;
}

bool Host::process(Route& route, const Intake& item) {
  if (route.config->mapping) return processMapped(route, item);
  const std::string& routeId = route.config->id;
  std::unique_ptr<MappedFile> file;
  try {
    file = std::make_unique<MappedFile>(item.path);
  } catch (const std::exception& e) {
    return failItem(route, item, e.what());
  }
  const std::string_view data = file->view();
  // The whole file is checked before anything is delivered, so an unreadable
  // file never leaves half of itself downstream.
  if (auto problem = checkUtf8Text(data))
    return failItem(route, item, "line " + std::to_string(problem->line) + ", byte offset " + std::to_string(problem->offset) +
                    ": " + problem->reason);
  const std::string sha = sha256Hex(data);
  bool storeDown = false;
  if (alreadyProcessed(route, item, sha, storeDown)) return true;
  if (storeDown) return false;

  std::size_t sequence = 0;
  std::uint64_t delivered = 0;
  Batch batch;
  auto flush = [&]() { return flushBatch(route, item, sha, sequence, batch, delivered); };

  bool ok = true;
  forEachLine(data, [&](std::string_view line) {
    if (!ok) return;
    Record r(route.names);
    r.set(0, std::string(line));
    batch.records.push_back(std::move(r));
    if (batch.records.size() >= config_.batchRecords) ok = flush();
  });
  ok = ok && flush();
  if (!ok) return false;
  if (!completeItem(route, item, delivered, sha)) return false;
  logger_.information("route %s: '%s' done: %s records in %s batches", routeId, item.name,
                      std::to_string(delivered), std::to_string(sequence));
  return true;
}

}  // namespace renkei
