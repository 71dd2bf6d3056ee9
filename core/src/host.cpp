// The host: builds plugin instances and runs the durable pipeline.
//
// Intake (the calling thread) claims items, registers them in the store by
// content hash, maps them and writes the accepted records to the store as
// batches with deterministic ids, together with one outbox row per target,
// in batched transactions. Delivery (a thread of its own) leases due outbox
// rows, hands each batch to its sink or module and marks it delivered, or
// schedules a retry with backoff, or makes it a dead letter. Everything a
// crash can interrupt is redone from what the store committed, and every
// target is idempotent on the batch id, so the effect is exactly once.
#include "host.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include "admin_server.h"
#include "api_server.h"
#include "formats/reader.h"
#include "host_services.h"
#include "json_lines.h"
#include "mapped_file.h"
#include "pipeline/batch_format.h"
#include "pipeline/record_sets.h"
#include "renkei/json.h"
#include "state_store.h"
#include "text_lines.h"

namespace renkei {
namespace {

// Accepted records per store transaction: large enough that a commit's
// fsync is paid rarely, small enough that a stop or crash redoes little.
constexpr std::size_t kRecordsPerCommit = 50000;
// Bounds on what a record and a batch may become in the store (SQLite
// refuses a value over 1 GB; PostgreSQL's limit is the same): a record of
// more source bytes refuses its file; a batch closes at this many bytes of
// stored form whatever batch-records says.
constexpr std::uint64_t kMaxRecordBytes = 16u << 20;
constexpr std::size_t kMaxBatchBytes = 64u << 20;
// Deliveries leased at once by the delivery thread.
constexpr std::size_t kDeliveriesPerClaim = 8;

/// Seconds since the inode last changed (a rename into processing/ sets it).
double secondsSinceChange(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 1e9;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec - st.st_ctim.tv_sec) +
         static_cast<double>(now.tv_nsec - st.st_ctim.tv_nsec) / 1e9;
}

}  // namespace

void Host::PayloadCache::put(const std::string& batchId, std::shared_ptr<const StoredBatch> batch, int uses) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Ids of batches already taken leave the front of the order as it moves
  // on, so the order stays as long as the entries it spans.
  while (!order_.empty() && !entries_.count(order_.front())) order_.pop_front();
  const std::size_t size = batch->payload.size();
  if (size > capacity_ || entries_.count(batchId)) return;
  while (bytes_ + size > capacity_ && !order_.empty()) {
    auto it = entries_.find(order_.front());
    if (it != entries_.end()) {
      bytes_ -= it->second.batch->payload.size();
      entries_.erase(it);
    }
    order_.pop_front();
  }
  bytes_ += size;
  entries_[batchId] = Entry{std::move(batch), uses};
  order_.push_back(batchId);
}

std::shared_ptr<const Host::StoredBatch> Host::PayloadCache::take(const std::string& batchId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(batchId);
  if (it == entries_.end()) return nullptr;
  auto batch = it->second.batch;
  if (--it->second.uses <= 0) {
    bytes_ -= batch->payload.size();
    entries_.erase(it);
    // Its id leaves order_ when it reaches the front (put()).
  }
  return batch;
}

std::shared_ptr<const Host::StoredBatch> Host::loadBatch(const std::string& batchId) {
  if (auto cached = cache_.take(batchId)) return cached;
  auto stored = deliveryStore_->batch(batchId);
  if (!stored) return nullptr;
  ++storeReads_;
  auto batch = std::make_shared<StoredBatch>();
  auto& names = storedNames_[stored->fields];
  if (!names) {
    auto parsed = parseNameArray(stored->fields);
    if (!parsed) return nullptr;
    names = std::make_shared<const FieldNames>(std::move(*parsed));
  }
  batch->names = names;
  batch->payload = std::move(stored->payload);
  batch->recordType = std::move(stored->recordType);
  batch->zone = std::move(stored->zone);
  return batch;
}

Host::Host(const HostConfig& config, PluginRegistry& registry, Poco::Logger& logger, std::string hostId)
    : config_(config), registry_(registry), logger_(logger), hostId_(std::move(hostId)) {
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

void Host::problem(RouteStats& stats, const std::string& text) {
  std::lock_guard<std::mutex> lock(problemsMutex_);
  if (stats.problems.size() < 100) stats.problems.push_back(text);
}

std::string Host::fatal() const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(problemsMutex_));
  return fatal_;
}

bool Host::storePresent(store::Store& store, std::atomic<bool>& down, const char* who) {
  if (gone_) return false;
  try {
    store.verify();
  } catch (const store::StoreGone& e) {
    std::lock_guard<std::mutex> lock(problemsMutex_);
    if (!gone_.exchange(true)) {
      fatal_ = e.what();
      logger_.critical("store: %s", fatal_);
    }
    return false;
  } catch (const std::exception& e) {
    if (!down.exchange(true)) {
      logger_.error("store: %s; %s waits until the store answers", std::string(e.what()), std::string(who));
      if (!routes_.empty()) problem(*routes_.front().stats, std::string("store: ") + e.what());
    }
    return false;
  }
  if (down.exchange(false)) logger_.notice("store: answering again; %s goes on", std::string(who));
  return true;
}

std::string Host::storeDescription() const { return intakeStore_ ? intakeStore_->describe() : "none"; }

void Host::start() {
  // A start-up as slow as a distant store's, for the test of a stop request
  // arriving meanwhile (docs/testing.md).
  if (faultPoint_ == "slow-start") std::this_thread::sleep_for(std::chrono::seconds(1));
  // The store first: without it nothing may be claimed.
  storeConfig_ = config_.effectiveStore();
  spool_ = config_.effectiveSpool();
  // The furthest ahead a retry, lease or ack time-out can be: a stored time
  // beyond it was set before the clock stepped back and counts as due.
  std::int64_t horizon = std::max(config_.retryMax.count(), config_.lease.count());
  for (const SubscriptionConfig& s : config_.subscriptions) horizon = std::max(horizon, s.ackTimeout.count());
  storeConfig_.horizonMs = horizon + 60'000;
  if (!config_.store) logger_.notice("no <store> in the config: using %s", storeConfig_.path.string());
  sharedStore_ = storeConfig_.driver == "postgresql";
  // Intake's commits leave the WAL checkpoints to the delivery thread, so
  // the copy into the database runs beside intake, not in its way.
  store::StoreConfig intakeConfig = storeConfig_;
  intakeConfig.autoCheckpoint = false;
  intakeStore_ = store::openStore(intakeConfig);
  writerStore_ = store::openStore(intakeConfig);
  emitStore_ = store::openStore(intakeConfig);
  deliveryStore_ = store::openStore(storeConfig_);
  intakeStore_->releaseLeases(hostId_);

  std::vector<std::string> failures;
  if (config_.api) {
    try {
      api_ = std::make_unique<ApiServer>(config_, storeConfig_, logger_);
      api_->setMetrics(&metrics_);
    } catch (const std::exception& e) {
      shutdown();
      throw HostStartError(config_.file.string() + ":" + std::to_string(config_.api->line) + ": " + e.what() + "\n");
    }
  }
  auto makeContext = [&](const InstanceConfig& inst) -> HostContext& {
    HostContext& ctx = contexts_[inst.id];
    ctx.instance = config_.instance;
    ctx.zone = config_.zone;
    ctx.id = inst.id;
    ctx.configDir = config_.directory;
    ctx.logger = &Poco::Logger::get("renkei." + inst.id);
    auto& services = services_[inst.id];
    services = std::make_unique<InstanceServices>(
        storeConfig_, inst.id, api_.get(), spool_,
        [this](const std::string& emitter, const Emission& e) { return emit(emitter, e); }, metrics_.scope(inst.id));
    ctx.services = services.get();
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
  try {
    for (auto& [id, module] : modules_) module->start();
  } catch (const std::exception& e) {
    started_ = true;
    shutdown();
    throw HostStartError(std::string("a module failed to start: ") + e.what() + "\n");
  }
  started_ = true;

  stats_.reserve(config_.routes.size());
  routes_.reserve(config_.routes.size());
  for (const RouteConfig& rc : config_.routes) {
    RouteStats routeStats;
    routeStats.id = rc.id;
    routeStats.from = rc.from;
    routeStats.to = rc.to;
    routeStats.recordType = rc.records;
    stats_.push_back(std::move(routeStats));
    Route route;
    route.config = &rc;
    route.stats = &stats_.back();
    route.zone = rc.mapping ? rc.mapping->zone : config_.zone;
    const std::string where = file + ":" + std::to_string(rc.line) + ": route '" + rc.id + "': ";
    if (rc.records.empty()) {
      route.names = std::make_shared<const FieldNames>(rc.mapping ? rc.mapping->targetNames() : FieldNames{"line"});
      route.fieldsJson = pipeline::fieldsJson(*route.names);
      route.batchRecordType = rc.mapping ? rc.mapping->targetRecord : "line";
      route.source = connectors_.count(rc.from) ? connectors_.at(rc.from)->source() : nullptr;
      // A connector whose settings do not enable a role it could play (an
      // odbc connector without a query is no source).
      if (!route.source)
        failures.push_back(where + "connector '" + rc.from + "' is not set up as a source (see its keys)");
    } else {
      // Records the instance emits: mapped when the route has a mapping,
      // else kept with the names they were emitted with.
      route.emitter = rc.from;
      route.recordType = rc.records;
      if (rc.mapping) {
        route.names = std::make_shared<const FieldNames>(rc.mapping->targetNames());
        route.fieldsJson = pipeline::fieldsJson(*route.names);
        route.batchRecordType = rc.mapping->targetRecord;
      }
    }
    for (const std::string& to : rc.to) {
      route.targetIds.push_back(to);
      if (config_.findSubscription(to)) continue;  // pulled through the API, not pushed
      if (std::find(pushTargets_.begin(), pushTargets_.end(), to) == pushTargets_.end()) pushTargets_.push_back(to);
      Target t{to};
      if (auto it = connectors_.find(to); it != connectors_.end()) t.sink = it->second->sink();
      if (auto it = modules_.find(to); it != modules_.end()) t.module = it->second.get();
      if (!t.sink && !t.module) failures.push_back(where + "connector '" + to + "' is not set up as a sink (see its keys)");
      route.targets.push_back(t);
    }
    routes_.push_back(std::move(route));
    routeIds_.push_back(rc.id);
  }
  for (Route& r : routes_) routeById_[r.config->id] = &r;
  routesReady_ = failures.empty();
  if (!failures.empty()) {
    std::string message;
    for (const auto& f : failures) message += f + "\n";
    shutdown();
    throw HostStartError(message);
  }
  try {
    // Connectors that listen or emit on their own start once the routes
    // their records take exist.
    for (auto& [id, connector] : connectors_) {
      connector->start();
      startedConnectors_.push_back(connector.get());
    }
  } catch (const std::exception& e) {
    shutdown();
    throw HostStartError(std::string("a connector failed to start: ") + e.what() + "\n");
  }
  if (api_) {
    try {
      api_->start();
    } catch (const std::exception& e) {
      shutdown();
      throw HostStartError(config_.file.string() + ":" + std::to_string(config_.api->line) + ": " + e.what() + "\n");
    }
  }
  registerMetrics();
  if (config_.admin) {
    try {
      adminStore_ = store::openStore(storeConfig_);
      admin_ = std::make_unique<AdminServer>(*config_.admin, metrics_, [this]() -> std::string {
        if (const std::string f = fatal(); !f.empty()) return "the store is gone: " + f;
        if (storeUnavailable()) return "the store does not answer";
        return {};
      });
      admin_->start();
      const std::string scheme = config_.admin->certificate.empty() ? "http" : "https";
      logger_.notice("admin: %s://%s:%d/metrics and /health", scheme, config_.admin->address, admin_->port());
    } catch (const std::exception& e) {
      shutdown();
      throw HostStartError(config_.file.string() + ":" + std::to_string(config_.admin->line) + ": admin: " + e.what() +
                           "\n");
    }
  }
}

int Host::apiPort() const { return api_ ? api_->port() : 0; }

int Host::adminPort() const { return admin_ ? admin_->port() : 0; }

void Host::registerMetrics() {
  metrics_.addCollector([this] {
    for (const RouteStats& s : stats_) {
      const MetricLabels route{{"route", s.id}};
      auto set = [&](const char* name, const char* help, std::uint64_t value) {
        metrics_.setCounter(name, help, route, static_cast<double>(value));
      };
      set("renkei_records_taken_in_total", "Records a route stored (accepted by its mapping)", s.recordsStored);
      if (!s.recordType.empty()) {
        set("renkei_emissions_total", "Units emitted into a route through the engine seam", s.emissions);
        set("renkei_emissions_seen_total", "Emitted units whose key was seen before (ignored)", s.emissionsSeen);
        continue;
      }
      set("renkei_records_rejected_total", "Records a route's mapping rejected", s.rejected);
      set("renkei_records_skipped_total", "Records a route's mapping skipped", s.skipped);
      set("renkei_items_done_total", "Intake items (files) taken in completely", s.filesDone);
      set("renkei_items_failed_total", "Intake items moved to error/", s.filesFailed);
      set("renkei_items_duplicate_total", "Intake items whose content was taken in before", s.filesDuplicate);
      set("renkei_items_held_total", "Intake items their source took back (held)", s.filesHeld);
      set("renkei_intake_pauses_total", "Times intake waited for a full outbox (back-pressure)", s.pauses);
    }
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (!adminStore_) return;
    try {
      const std::int64_t now = store::nowMs();
      for (const store::QueueStatus& q : adminStore_->queueStatus()) {
        const MetricLabels l{{"route", q.route}, {"target", q.target}};
        metrics_.gauge("renkei_outbox_pending_batches", "Batches waiting for delivery", l)
            .set(static_cast<double>(q.pendingBatches));
        metrics_.gauge("renkei_outbox_pending_records", "Records waiting for delivery (outbox depth)", l)
            .set(static_cast<double>(q.pendingRecords));
        metrics_.gauge("renkei_outbox_dead_batches", "Batches in the dead letters", l)
            .set(static_cast<double>(q.deadBatches));
        metrics_.gauge("renkei_outbox_oldest_pending_seconds", "Age of the oldest batch waiting for delivery", l)
            .set(q.oldestPendingMs ? static_cast<double>(now - q.oldestPendingMs) / 1000.0 : 0.0);
      }
      metrics_.gauge("renkei_store_up", "1 when the store answers").set(1);
    } catch (const std::exception&) {
      metrics_.gauge("renkei_store_up", "1 when the store answers").set(0);
    }
  });
}

void Host::shutdown() {
  if (admin_) admin_->stop();
  admin_.reset();
  {
    std::lock_guard<std::mutex> lock(adminMutex_);
    adminStore_.reset();
  }
  if (api_) api_->stop();  // no call reaches a module being stopped
  routesReady_ = false;    // emit() refuses from here on
  for (auto it = startedConnectors_.rbegin(); it != startedConnectors_.rend(); ++it) {
    try {
      (*it)->stop();
    } catch (const std::exception& e) {
      logger_.error("a connector failed to stop: %s", std::string(e.what()));
    }
  }
  startedConnectors_.clear();
  if (started_)
    for (auto& [id, module] : modules_) module->stop();
  started_ = false;
  // Work this host leased goes back to the pool at once (another host, or
  // this one restarted, need not wait for the leases to run out).
  if (intakeStore_) {
    try {
      intakeStore_->releaseLeases(hostId_);
    } catch (const std::exception& e) {
      logger_.warning("store: cannot release leases: %s (they run out by themselves)", std::string(e.what()));
    }
  }
  routesReady_ = false;
  routes_.clear();
  routeById_.clear();
  modules_.clear();
  connectors_.clear();
  api_.reset();
  contexts_.clear();
  services_.clear();
  pushTargets_.clear();
  deliveryStore_.reset();
  {
    std::lock_guard<std::mutex> lock(emitMutex_);
    emitStore_.reset();
  }
  writerStore_.reset();
  intakeStore_.reset();
}

void Host::CommitPipe::start() {
  quit_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Host::CommitPipe::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Host::CommitPipe::submit(Route& route, std::vector<store::BatchRow> group, bool staged, std::string& error) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !busy_ || !error_.empty(); });
  if (!error_.empty()) {
    error = error_;
    return false;
  }
  route_ = &route;
  pending_ = std::move(group);
  staged_ = staged;
  busy_ = true;
  changed_.notify_all();
  return true;
}

bool Host::CommitPipe::drain(std::string& error) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !busy_ || !error_.empty(); });
  if (error_.empty()) return true;
  error = error_;
  error_.clear();  // reported once; the next file starts clean
  busy_ = false;
  return false;
}

void Host::CommitPipe::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return quit_ || (busy_ && error_.empty()); });
    if (!busy_ || !error_.empty()) {
      if (quit_) return;
      continue;
    }
    std::vector<store::BatchRow> group = std::move(pending_);
    Route& route = *route_;
    const bool staged = staged_;
    lock.unlock();
    std::string failure;
    try {
      const auto t0 = std::chrono::steady_clock::now();
      // Staged batches get no outbox rows yet: they become deliverable with
      // the rest of their unit (Host::take, commitUnit).
      static const std::vector<std::string> none;
      host_.writerStore_->appendBatches(group, staged ? none : route.targetIds, host_.hostId_,
                                        host_.config_.lease.count());
      host_.storeWriteTime_ += std::chrono::steady_clock::now() - t0;
      host_.metrics_.histogram("renkei_store_commit_seconds", "Time of one intake commit to the store")
          .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      for (auto& b : group) {
        route.stats->recordsStored += static_cast<std::uint64_t>(b.records);
        host_.cache_.put(b.id,
                         std::make_shared<const StoredBatch>(
                             StoredBatch{route.names, std::move(b.payload), route.batchRecordType, route.zone}),
                         static_cast<int>(route.targetIds.size()));
      }
      route.stats->batchesStored += group.size();
      host_.deliveryWake_.notify_all();
      if (group.front().sequence == 0) host_.fault("after-first-batch");
    } catch (const std::exception& e) {
      failure = e.what();
    }
    lock.lock();
    if (!failure.empty()) error_ = failure;
    else busy_ = false;
    changed_.notify_all();
  }
}

void Host::run(const std::atomic<bool>& stop, bool once, std::mutex& mutex, std::condition_variable& wake) {
  intakeFinished_ = false;
  pipe_.start();
  std::thread delivery([&] { deliveryLoop(stop, once); });
  for (;;) {
    intakePass(stop);
    if (once || stop || gone_) break;
    std::unique_lock<std::mutex> lock(mutex);
    wake.wait_for(lock, config_.pollInterval, [&] { return stop.load(); });
    if (stop) break;
  }
  std::string ignored;
  pipe_.drain(ignored);
  pipe_.stop();
  {
    std::lock_guard<std::mutex> lock(wakeMutex_);
    intakeFinished_ = true;
  }
  // The delivery thread sees a stop request within its short waits.
  deliveryWake_.notify_all();
  delivery.join();
  logger_.debug("delivery: %s batches read back from the store (not in memory)", std::to_string(storeReads_));
  for (Route& route : routes_) {
    if (!route.source) continue;
    // Items left in processing/ (stopped, or store or folder trouble).
    std::uint64_t left = 0;
    for (const Intake& item : route.source->recover())
      if (!route.leftToOthers.count(item.name)) ++left;
    route.stats->filesPending = left;
  }
}

bool Host::intakePass(const std::atomic<bool>& stop) {
  bool any = false;
  if (!storePresent(*intakeStore_, intakeDown_, "intake")) return false;
  for (Route& route : routes_) {
    if (stop || gone_) break;
    if (!route.source) continue;  // an emitted route: its records arrive through emit()
    // Items in processing/: left by an earlier run of this host (resumed at
    // once), or by a host that died (resumed when its lease has run out), or
    // being taken in by a live host (left alone).
    std::vector<Intake> recovered;
    try {
      recovered = route.source->recover();
    } catch (const std::exception& e) {
      problem(*route.stats, std::string("recover: ") + e.what());
    }
    for (const Intake& item : recovered) {
      if (stop || !storePresent(*intakeStore_, intakeDown_, "intake")) break;
      const Taken t = take(route, item, stop);
      if (t == Taken::Done) {
        ++route.stats->filesRecovered;
        route.leftToOthers.erase(item.name);
      }
      any = true;
    }
    while (!stop && storePresent(*intakeStore_, intakeDown_, "intake")) {
      // Back-pressure: no new item while the route's outbox is too deep.
      try {
        if (intakeStore_->outboxDepth(route.config->id) > config_.maxOutboxRecords) {
          if (!route.paused) {
            route.paused = true;
            ++route.stats->pauses;
            logger_.notice("route %s: outbox holds more than %s records; intake waits", route.config->id,
                           std::to_string(config_.maxOutboxRecords));
          }
          break;
        }
        if (route.paused) {
          route.paused = false;
          logger_.notice("route %s: the outbox has drained; intake goes on", route.config->id);
        }
      } catch (const std::exception& e) {
        problem(*route.stats, std::string("store: ") + e.what());
        break;
      }
      std::optional<Intake> item;
      try {
        item = route.source->claim();
      } catch (const std::exception& e) {
        problem(*route.stats, std::string("claim: ") + e.what());
        logger_.error("route %s: %s", route.config->id, std::string(e.what()));
        break;
      }
      if (!item) break;
      any = true;
      ++route.stats->filesClaimed;
      fault("after-claim");
      if (take(route, *item, stop) == Taken::Stopped) break;
    }
  }
  return any;
}

bool Host::failItem(Route& route, const Intake& item, const std::string& sha, const std::string& reason) {
  const std::string& routeId = route.config->id;
  if (!sha.empty()) {
    try {
      intakeStore_->finishFile(routeId, sha, store::FileState::Failed, reason);
    } catch (const std::exception& e) {
      problem(*route.stats, std::string("store: ") + e.what());
    }
  }
  Outcome o = route.source->finish(item, Disposition::Failed, reason);
  if (!o.isOk()) {
    problem(*route.stats, "'" + item.name + "': " + o.message());
    logger_.error("route %s: cannot quarantine '%s': %s", routeId, item.name, o.message());
    return false;
  }
  ++route.stats->filesFailed;
  problem(*route.stats, "'" + item.name + "' moved to error/: " + reason);
  logger_.warning("route %s: '%s' moved to error/: %s", routeId, item.name, reason);
  return true;
}

bool Host::commit(Route& route, const Intake& item, const std::string& sha, std::vector<store::BatchRow>& group,
                  const std::atomic<bool>& stop, bool last, bool staged) {
  const std::string& routeId = route.config->id;
  const std::int64_t leaseMs = config_.lease.count();
  try {
    std::string failure;
    if (!group.empty() && !pipe_.submit(route, std::move(group), staged, failure)) throw store::StoreError(failure);
    group.clear();
    // The last group must be in the store before the file counts as taken in.
    if (last && !pipe_.drain(failure)) throw store::StoreError(failure);
    // Back-pressure inside a large file: wait (keeping the lease) while the
    // outbox is deeper than allowed. Only the records of one commit are in
    // memory meanwhile. After a file's last commit the next claim checks.
    bool logged = false;
    while (!last && !staged && !stop && intakeStore_->outboxDepth(routeId) > config_.maxOutboxRecords) {
      if (!logged) {
        ++route.stats->pauses;
        logger_.notice("route %s: outbox holds more than %s records; intake of '%s' waits", routeId,
                       std::to_string(config_.maxOutboxRecords), item.name);
        logged = true;
      }
      std::unique_lock<std::mutex> lock(wakeMutex_);
      deliveryWake_.wait_for(lock, std::chrono::milliseconds(200));
      lock.unlock();
      intakeStore_->renewFileLease(routeId, sha, hostId_, leaseMs);
    }
    return true;
  } catch (const std::exception& e) {
    problem(*route.stats, std::string("store: ") + e.what());
    logger_.error("route %s: store: %s; '%s' stays in processing/", routeId, std::string(e.what()), item.name);
    return false;
  }
}

Host::Taken Host::take(Route& route, const Intake& item, const std::atomic<bool>& stop) {
  const std::string& routeId = route.config->id;
  const mapping::Mapping* m = route.config->mapping.get();
  std::shared_ptr<MappedFile> file;
  std::string sha;
  const auto started = std::chrono::steady_clock::now();
  const auto writesBefore = storeWriteTime_;
  auto checked = started;
  // The whole file is checked before anything of it is stored (trailer
  // counts, truncation, malformed XML, invalid UTF-8), so an unreadable file
  // never leaves half of itself downstream. The content hash is computed in
  // the same pass.
  std::optional<std::string> fileError;
  try {
    // A private copy, hashed while copied: the vendor's file may be
    // truncated or rewritten from here on without reaching what is read.
    // Not stopped half-way: a file claimed but not yet registered would be
    // left to "another host" for a lease's time after a restart on a shared
    // store. The copy and the check are linear (shapes that are not are
    // refused before parsing), so a stop waits for them.
    file = MappedFile::snapshot(item.path, spool_, sha);
    if (m) {
      auto check = formats::RecordReader::fromMapping(*m->layout, file);
      check->setFieldMask(std::vector<std::uint8_t>(m->layout->fields.size(), 0));  // structure only
      formats::RawRecord raw;
      // What one record may become is bounded here, before anything of the
      // file is stored: its stored form (JSON, UTF-8) grows with its bytes.
      std::uint64_t previousOffset = 0, previousNumber = 0, previousLine = 0;
      auto tooLarge = [&](std::uint64_t end) {
        if (previousNumber == 0 || end - previousOffset <= kMaxRecordBytes) return false;
        fileError = "line " + std::to_string(previousLine) + ", byte offset " + std::to_string(previousOffset) +
                    ": record " + std::to_string(previousNumber) + " is " + std::to_string(end - previousOffset) +
                    " bytes; a record may be at most " + std::to_string(kMaxRecordBytes >> 20) +
                    " MiB (nothing of the file was taken in)";
        return true;
      };
      while (check->next(raw)) {
        if (tooLarge(raw.offset)) break;
        previousOffset = raw.offset, previousNumber = raw.number, previousLine = raw.line;
      }
      if (!fileError && !check->error()) tooLarge(file->view().size());
      file->rewind();
      if (!fileError && check->error()) fileError = check->error()->format();
    } else {
      if (auto bad = checkUtf8Text(file->view()))
        fileError = "line " + std::to_string(bad->line) + ", byte offset " + std::to_string(bad->offset) + ": " +
                    bad->reason;
      std::uint64_t line = 0, start = 0;
      const std::string_view all = file->view();
      while (!fileError && start < all.size()) {
        ++line;
        const std::size_t end = std::min(all.find('\n', start), all.size());
        if (end - start > kMaxRecordBytes)
          fileError = "line " + std::to_string(line) + ", byte offset " + std::to_string(start) + ": the line is " +
                      std::to_string(end - start) + " bytes; a record may be at most " +
                      std::to_string(kMaxRecordBytes >> 20) + " MiB (nothing of the file was taken in)";
        start = end + 1;
      }
    }
    checked = std::chrono::steady_clock::now();
  } catch (const SpoolError& e) {
    problem(*route.stats, std::string("spool: ") + e.what());
    logger_.error("route %s: %s; '%s' stays in processing/", routeId, std::string(e.what()), item.name);
    return Taken::Stopped;
  } catch (const std::exception& e) {
    return failItem(route, item, {}, e.what()) ? Taken::Done : Taken::Left;
  }

  // Register the content (with a lease).
  store::FileEntry earlier;
  store::Claim claim;
  try {
    if (item.recovered && sharedStore_ && !intakeStore_->findFile(routeId, sha) &&
        secondsSinceChange(item.path) * 1000 < static_cast<double>(config_.lease.count())) {
      // Claimed by a host that has not registered it yet (or died doing so):
      // left until a lease's time has passed since the claim.
      route.leftToOthers.insert(item.name);
      return Taken::Left;
    }
    claim = intakeStore_->registerFile(routeId, sha, item.name, item.size, hostId_, config_.lease.count(), &earlier);
  } catch (const std::exception& e) {
    problem(*route.stats, std::string("store: ") + e.what());
    logger_.error("route %s: store: %s; '%s' stays in processing/", routeId, std::string(e.what()), item.name);
    return Taken::Stopped;
  }
  if (claim == store::Claim::Busy) {
    if (route.leftToOthers.insert(item.name).second) {
      ++route.stats->filesBusy;
      logger_.information("route %s: '%s' is being taken in by host %s; left to it", routeId, item.name,
                          earlier.leaseOwner);
    }
    return Taken::Left;
  }
  if (claim == store::Claim::Done) {
    Outcome o = route.source->finish(item, Disposition::Done, {});
    if (!o.isOk()) {
      problem(*route.stats, "'" + item.name + "': " + o.message());
      return Taken::Left;
    }
    ++route.stats->filesDuplicate;
    if (item.recovered && earlier.name == item.name)
      logger_.notice("route %s: '%s' was taken in before the restart; moved to done/", routeId, item.name);
    else
      logger_.notice("route %s: '%s' has the same content as '%s' (taken in %s): not processed again", routeId,
                     item.name, earlier.name, earlier.firstSeen);
    return Taken::Done;
  }
  if (fileError) return failItem(route, item, sha, *fileError) ? Taken::Done : Taken::Left;
  if (claim == store::Claim::Resume)
    logger_.notice("route %s: resuming '%s' (taken in part before); batches already stored are kept", routeId,
                   item.name);

  // What the source derives from the item (a register update, events)
  // commits with the item's records in one unit; the item's batches are
  // then staged (no outbox rows) until that commit.
  ItemUnit unit;
  switch (prepareUnit(route, item, sha, unit)) {
    case Prepared::Go: break;
    case Prepared::Left: return Taken::Left;
    case Prepared::Failed: return Taken::Done;
    case Prepared::Withdrawn: return Taken::Done;
  }
  const bool staged = unit.emission.state || !unit.emission.sets.empty();

  // Map into batches of batch-records accepted records; commit every
  // kRecordsPerCommit records. Batch ids depend only on the file and the
  // record order, so a resumed file yields the same ids.
  std::vector<store::BatchRow> group;
  store::BatchRow batch;
  std::size_t sequence = 0, inGroup = 0;
  std::uint64_t accepted = 0;
  formats::ByteArena buffer;
  auto closeBatch = [&]() -> bool {
    if (batch.records == 0) return true;
    batch.id = pipeline::batchId(routeId, item.name, sha, sequence);
    batch.route = routeId;
    batch.fileSha = sha;
    batch.sourceItem = item.name;
    batch.sequence = static_cast<std::int64_t>(sequence++);
    batch.fields = route.fieldsJson;
    batch.recordType = route.batchRecordType;
    batch.zone = route.zone;
    batch.payload.assign(buffer.data(), buffer.size());
    buffer.clear();
    inGroup += static_cast<std::size_t>(batch.records);
    accepted += static_cast<std::uint64_t>(batch.records);
    group.push_back(std::move(batch));
    batch = store::BatchRow();
    if (inGroup < kRecordsPerCommit) return true;
    inGroup = 0;
    return commit(route, item, sha, group, stop, false, staged);
  };
  auto addRecord = [&](std::int64_t number) {
    if (batch.records == 0) batch.firstRecord = number;
    batch.lastRecord = number;
    ++batch.records;
  };

  mapping::MapRun* runStats = nullptr;
  std::optional<mapping::MapRun> run;
  bool ok = true;
  if (m) {
    auto reader = formats::RecordReader::fromMapping(*m->layout, file);
    reader->setFieldMask(m->sourceFieldsRead());
    const formats::JsonLinesWriter writer = formats::JsonLinesWriter::arrays(m->targetNames().size());
    run.emplace(*m);
    runStats = &*run;
    formats::RawRecord raw;
    while (ok && reader->next(raw)) {
      if (run->step(raw) != mapping::Verdict::Accepted) continue;
      writer.append(buffer, run->record().values);
      addRecord(static_cast<std::int64_t>(raw.number));
      if (static_cast<std::size_t>(batch.records) >= config_.batchRecords || buffer.size() >= kMaxBatchBytes)
        ok = closeBatch();
      if (stop) ok = false;
    }
  } else {
    std::int64_t number = 0;
    std::string line;
    forEachLine(file->view(), [&](std::string_view text) {
      if (!ok) return;
      line = "[";
      appendJsonString(line, text);
      line += "]\n";
      buffer.append(line);
      addRecord(++number);
      if (static_cast<std::size_t>(batch.records) >= config_.batchRecords || buffer.size() >= kMaxBatchBytes)
        ok = closeBatch();
      if (stop) ok = false;
    });
  }
  ok = ok && closeBatch() && commit(route, item, sha, group, stop, true, staged);
  if (logger_.debug()) {
    auto ms = [](auto a, auto b) { return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count()); };
    const auto now = std::chrono::steady_clock::now();
    logger_.debug("route %s: '%s': checked and hashed in %s ms, mapped and stored in %s ms (store writes %s ms)",
                  routeId, item.name, ms(started, checked), ms(checked, now),
                  std::to_string(
                      std::chrono::duration_cast<std::chrono::milliseconds>(storeWriteTime_ - writesBefore).count()));
  }
  if (!ok) {
    std::string ignored;
    pipe_.drain(ignored);  // a commit in flight finishes (or its failure is consumed)
    // Stopped, or the store failed: what was committed stays; the rest of
    // the file is redone by the next start (same batch ids).
    if (stop) logger_.notice("route %s: stopping; '%s' stays in processing/ and is resumed next time", routeId, item.name);
    return Taken::Stopped;
  }

  if (runStats && !runStats->rejects().empty()) {
    // Named per intake (the name and the content hash's first 12 digits):
    // the same name dropped again with other content never replaces the
    // first one's list, and the same content after a crash writes the same.
    Intake named = item;
    named.name = item.name + "." + sha.substr(0, 12);
    Outcome o = route.source->writeRejects(named, runStats->rejects());
    if (o.status() == Outcome::Status::Retry) {
      problem(*route.stats, "'" + item.name + "' rejects: " + o.message());
      return Taken::Left;
    }
    if (!o.isOk()) logger_.warning("route %s: rejects of '%s' not kept: %s", routeId, item.name, o.message());
  }
  // Marked done in the store before the file moves: after a crash between
  // the two, the resumed file is recognised and not taken in again. A unit
  // (the source's derived sets and state) commits here with the file's
  // staged batches, all or nothing.
  try {
    if (staged) {
      if (!commitItemUnit(route, item, sha, unit)) return Taken::Left;
    } else {
      intakeStore_->finishFile(routeId, sha, store::FileState::Done, {});
    }
  } catch (const std::exception& e) {
    problem(*route.stats, std::string("store: ") + e.what());
    logger_.error("route %s: store: %s; '%s' stays in processing/", routeId, std::string(e.what()), item.name);
    return Taken::Left;
  }
  fault("after-intake");
  Outcome done = route.source->finish(item, Disposition::Done, {});
  if (!done.isOk()) {
    problem(*route.stats, "'" + item.name + "': " + done.message());
    logger_.error("route %s: cannot move '%s' to done/: %s", routeId, item.name, done.message());
    return Taken::Left;
  }
  ++route.stats->filesDone;
  if (runStats) {
    route.stats->rejected += runStats->rejected;
    route.stats->skipped += runStats->skipped;
    route.stats->warnings += runStats->warnings;
    logger_.information("route %s: '%s' taken in: %s accepted, %s rejected, %s skipped", routeId, item.name,
                        std::to_string(accepted), std::to_string(runStats->rejected),
                        std::to_string(runStats->skipped));
  } else {
    logger_.information("route %s: '%s' taken in: %s records", routeId, item.name, std::to_string(accepted));
  }
  return Taken::Done;
}

Host::Prepared Host::prepareUnit(Route& route, const Intake& item, const std::string& sha, ItemUnit& unit) {
  const std::string& routeId = route.config->id;
  Outcome o = Outcome::ok();
  try {
    o = route.source->prepare(item, sha, unit);
  } catch (const std::exception& e) {
    o = Outcome::retry(std::string("the source threw: ") + e.what());
  }
  if (o.status() == Outcome::Status::Retry) {
    problem(*route.stats, "'" + item.name + "': " + o.message());
    logger_.error("route %s: '%s' waits: %s", routeId, item.name, o.message());
    return Prepared::Left;
  }
  if (!o.isOk()) return failItem(route, item, sha, o.message()) ? Prepared::Failed : Prepared::Left;
  if (unit.withdrawn) {
    // The source moved it aside (a held extract): nothing of it is stored;
    // the register entry says why, and the same content taken in again (an
    // operator's release) resumes it.
    try {
      intakeStore_->finishFile(routeId, sha, store::FileState::Failed, "taken back by its source (held)");
    } catch (const std::exception& e) {
      problem(*route.stats, std::string("store: ") + e.what());
    }
    ++route.stats->filesHeld;
    return Prepared::Withdrawn;
  }
  if (auto bad = pipeline::checkEmission(Emission{sha, unit.emission.sets, nullptr}); !bad.empty())
    return failItem(route, item, sha, "the source's derived records: " + bad) ? Prepared::Failed : Prepared::Left;
  return Prepared::Go;
}

bool Host::commitItemUnit(Route& route, const Intake& item, const std::string& sha, const ItemUnit& unit) {
  pipeline::SetCounts counts;
  store::UnitCommit commit;
  commit.emitter = route.config->from;
  commit.groups = pipeline::batchesForSets(routes_, route.config->from, item.name, sha, unit.emission.sets,
                                           config_.batchRecords, counts, logger_);
  commit.file = store::UnitCommit::File{route.config->id, sha, route.targetIds};
  if (unit.emission.state)
    commit.extra = [&](store::SqlDatabase& db) { withStateSession(db, unit.emission.state); };
  fault("before-unit-commit");
  const auto t0 = std::chrono::steady_clock::now();
  writerStore_->commitUnit(commit);
  metrics_.histogram("renkei_store_commit_seconds", "Time of one intake commit to the store")
      .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  for (const auto& g : commit.groups) countStored(g);
  countSets(route.config->from, counts);
  deliveryWake_.notify_all();
  fault("after-unit-commit");
  return true;
}

void Host::countStored(const store::RoutedBatches& group) {
  if (group.batches.empty()) return;
  auto it = routeById_.find(group.batches.front().route);
  if (it == routeById_.end()) return;
  for (const auto& b : group.batches) it->second->stats->recordsStored += static_cast<std::uint64_t>(b.records);
  it->second->stats->batchesStored += group.batches.size();
}

void Host::countSets(const std::string& emitter, const pipeline::SetCounts& counts) {
  const MetricLabels labels{{"instance", emitter}};
  if (counts.unrouted)
    metrics_.counter("renkei_emitted_unrouted_total", "Emitted records of a type no route takes", labels)
        .add(static_cast<double>(counts.unrouted));
  if (counts.rejected)
    metrics_.counter("renkei_emitted_rejected_total", "Emitted records a route's mapping rejected", labels)
        .add(static_cast<double>(counts.rejected));
}

Outcome Host::emit(const std::string& emitter, const Emission& emission) {
  if (!routesReady_) return Outcome::retry("the host is not running yet (emit once start() has returned)");
  if (gone_) return Outcome::error("the host is stopping: its store is gone");
  if (auto bad = pipeline::checkEmission(emission); !bad.empty()) return Outcome::error(bad);
  std::lock_guard<std::mutex> lock(emitMutex_);
  if (!emitStore_) return Outcome::retry("the host is stopping");
  try {
    if (emitStore_->emitted(emitter, emission.key)) {  // seen before: acknowledged, nothing again
      for (Route& route : routes_)
        if (route.emitter == emitter)
          for (const RecordSet& set : emission.sets)
            if (set.recordType == route.recordType) {
              ++route.stats->emissionsSeen;
              break;
            }
      return Outcome::ok();
    }
    // Back-pressure: a route taking these records whose outbox is full.
    for (Route& route : routes_) {
      if (route.emitter != emitter) continue;
      bool takes = false;
      for (const RecordSet& set : emission.sets) takes = takes || set.recordType == route.recordType;
      if (takes && emitStore_->outboxDepth(route.config->id) > config_.maxOutboxRecords) {
        if (!route.paused) {
          route.paused = true;
          ++route.stats->pauses;
          logger_.notice("route %s: outbox holds more than %s records; %s waits", route.config->id,
                         std::to_string(config_.maxOutboxRecords), emitter);
        }
        return Outcome::retry("route '" + route.config->id + "': the outbox is full; emit again later");
      }
      route.paused = false;
    }
    pipeline::SetCounts counts;
    store::UnitCommit commit;
    commit.emitter = emitter;
    commit.key = emission.key;
    commit.groups = pipeline::batchesForSets(routes_, emitter, emitter, pipeline::sha256Hex(emitter + "\n" + emission.key),
                                             emission.sets, config_.batchRecords, counts, logger_);
    if (emission.state) commit.extra = [&](store::SqlDatabase& db) { withStateSession(db, emission.state); };
    fault("before-emit-commit");
    const auto t0 = std::chrono::steady_clock::now();
    const bool fresh = emitStore_->commitUnit(commit);
    metrics_.histogram("renkei_store_commit_seconds", "Time of one intake commit to the store")
        .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (Route& route : routes_) {
      if (route.emitter != emitter) continue;
      bool takes = false;
      for (const RecordSet& set : emission.sets) takes = takes || set.recordType == route.recordType;
      if (takes) ++(fresh ? route.stats->emissions : route.stats->emissionsSeen);
    }
    if (fresh) {
      for (const auto& g : commit.groups) countStored(g);
      countSets(emitter, counts);
      deliveryWake_.notify_all();
    }
    return Outcome::ok();
  } catch (const store::StoreGone& e) {
    return Outcome::error(std::string("store: ") + e.what());
  } catch (const std::exception& e) {
    return Outcome::retry(std::string("store: ") + e.what());
  }
}

std::chrono::milliseconds Host::backoff(int attempt) {
  // Exponential with "equal jitter": half the step fixed, half random, so
  // hosts retrying the same far side spread out.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  double step = static_cast<double>(config_.retryInitial.count());
  for (int i = 1; i < attempt && step < static_cast<double>(config_.retryMax.count()); ++i) step *= 2;
  step = std::min(step, static_cast<double>(config_.retryMax.count()));
  std::uniform_real_distribution<double> jitter(0.0, step / 2);
  return std::chrono::milliseconds(static_cast<std::int64_t>(step / 2 + jitter(random)));
}

Host::Attempt Host::deliver(const store::Delivery& d) {
  auto it = routeById_.find(d.route);
  if (it == routeById_.end()) return Attempt::Retry;
  Route& route = *it->second;
  const Target* target = nullptr;
  for (const Target& t : route.targets)
    if (t.id == d.target) target = &t;
  Outcome o = Outcome::error("the route no longer delivers to '" + d.target + "'");
  if (target) {
    Batch batch;
    batch.id = d.batchId;
    batch.route = d.route;
    batch.sourceItem = d.sourceItem;
    batch.recordCount = static_cast<std::size_t>(d.records);
    auto stored = loadBatch(d.batchId);
    if (stored) {
      batch.recordType = stored->recordType;
      batch.zone = stored->zone;
    }
    const bool needsRecords = target->module || target->sink->needsRecords();
    std::optional<std::string> bad;
    std::string objects;
    if (!stored) {
      bad = "the batch is not in the store";
    } else {
      bad = expandJsonArrays(stored->payload, *stored->names, objects);
      batch.jsonLines = objects;
      if (!bad && needsRecords) {
        batch.records.reserve(batch.recordCount);
        bad = parseJsonArrays(stored->payload, stored->names, batch.records);
      }
    }
    if (bad) {
      o = Outcome::error("stored batch unusable: " + *bad);
    } else {
      try {
        o = target->sink ? target->sink->deliver(batch) : target->module->accept(batch);
      } catch (const std::exception& e) {
        o = Outcome::error(std::string("the plugin threw: ") + e.what());
      }
    }
  }
  const std::int64_t now = store::nowMs();
  const int attempt = d.attempts + 1;
  const MetricLabels labels{{"route", d.route}, {"target", d.target}};
  if (o.isOk()) {
    fault("after-deliver");
    route.stats->records += static_cast<std::uint64_t>(d.records);
    ++route.stats->batches;
    metrics_.counter("renkei_records_delivered_total", "Records delivered to a target", labels)
        .add(static_cast<double>(d.records));
    metrics_.counter("renkei_batches_delivered_total", "Batches delivered to a target", labels).add();
    return Attempt::Delivered;  // recorded by the caller, with the others of its claim
  }
  const bool dead = o.status() == Outcome::Status::Error || attempt >= config_.maxAttempts;
  const std::int64_t next = dead ? now : now + backoff(attempt).count();
  deliveryStore_->markFailed(d.batchId, d.target, hostId_, next, dead, o.message());
  metrics_.counter(dead ? "renkei_batches_dead_total" : "renkei_delivery_retries_total",
                   dead ? "Batches that became dead letters" : "Failed deliveries that will be retried", labels)
      .add();
  if (dead) {
    ++route.stats->deadLetters;
    problem(*route.stats, "batch " + d.batchId + " to " + d.target + " is a dead letter after " +
                              std::to_string(attempt) + (attempt == 1 ? " attempt: " : " attempts: ") + o.message());
    logger_.error("route %s: batch %s to %s is a dead letter after %d attempts: %s ('renkei deadletters' to "
                  "resubmit)",
                  d.route, d.batchId, d.target, attempt, o.message());
  } else {
    ++route.stats->retries;
    logger_.warning("route %s: delivery of batch %s to %s failed (attempt %d of %d): %s; retry in %s ms", d.route,
                    d.batchId, d.target, attempt, config_.maxAttempts, o.message(), std::to_string(next - now));
  }
  return dead ? Attempt::Dead : Attempt::Retry;
}

void Host::deliveryLoop(const std::atomic<bool>& stop, bool once) {
  const std::int64_t leaseMs = config_.lease.count();
  int sinceCheckpoint = 0;
  std::int64_t nextPrune = 0;
  auto checkpoint = [&] {
    try {
      deliveryStore_->maintain();
    } catch (const std::exception& e) {
      logger_.warning("store: housekeeping failed: %s", std::string(e.what()));
    }
  };
  while (!stop && !gone_) {
    if (!storePresent(*deliveryStore_, deliveryDown_, "delivery")) {
      if (gone_ || (once && intakeFinished_)) break;
      std::unique_lock<std::mutex> lock(wakeMutex_);
      deliveryWake_.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    std::vector<store::Delivery> work;
    try {
      if (!pushTargets_.empty())
        work = deliveryStore_->claimDeliveries(hostId_, leaseMs, kDeliveriesPerClaim, routeIds_, pushTargets_);
    } catch (const std::exception& e) {
      if (!routes_.empty()) problem(*routes_.front().stats, std::string("store: ") + e.what());
      logger_.error("delivery: store: %s", std::string(e.what()));
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    std::vector<std::pair<std::string, std::string>> delivered, untried;
    std::set<std::pair<std::string, std::string>> waiting;  // queues whose earlier batch waits for a retry
    for (const store::Delivery& d : work) {
      if (stop) break;  // leased rows go back to the pool at shutdown
      const auto queue = std::make_pair(d.route, d.target);
      if (waiting.count(queue)) {
        untried.emplace_back(d.batchId, d.target);  // keeps the target's order
        continue;
      }
      try {
        switch (deliver(d)) {
          case Attempt::Delivered: delivered.emplace_back(d.batchId, d.target); break;
          case Attempt::Retry: waiting.insert(queue); break;
          case Attempt::Dead: break;  // a dead letter does not hold the rest back
        }
      } catch (const std::exception& e) {
        logger_.error("delivery of batch %s: store: %s", d.batchId, std::string(e.what()));
        waiting.insert(queue);
      }
    }
    // One commit for the claim: a crash before it delivers these again,
    // which their targets absorb (idempotent on the batch id).
    try {
      deliveryStore_->markDelivered(delivered, hostId_);
      deliveryStore_->releaseLeases(untried, hostId_);
    } catch (const std::exception& e) {
      logger_.error("delivery: store: %s (the batches will be delivered again)", std::string(e.what()));
    }
    if (!work.empty()) {
      deliveryWake_.notify_all();  // intake may be waiting for the outbox to drain
      if (++sinceCheckpoint >= 8) {
        sinceCheckpoint = 0;
        checkpoint();
      }
      continue;
    }
    checkpoint();
    // Idle: delivered batches past their retention go (a few at a time).
    if (store::nowMs() >= nextPrune) {
      nextPrune = store::nowMs() + 60'000;
      try {
        const std::int64_t pruned =
            deliveryStore_->pruneDelivered(store::nowMs() - config_.retainDelivered.count(), 500);
        if (pruned > 0) {
          logger_.information("store: %s delivered batches older than the retention removed", std::to_string(pruned));
          nextPrune = 0;  // more may be waiting
        }
      } catch (const std::exception& e) {
        logger_.warning("store: pruning failed: %s", std::string(e.what()));
      }
    }
    // Nothing due. With --once: done when intake is finished and nothing is
    // pending; else sleep until the next retry is due or intake wakes us.
    std::chrono::milliseconds wait = std::chrono::milliseconds(500);
    if (intakeFinished_) {
      std::optional<std::int64_t> due;
      try {
        if (!pushTargets_.empty()) due = deliveryStore_->nextDue(routeIds_, pushTargets_);
      } catch (const std::exception& e) {
        logger_.error("delivery: store: %s", std::string(e.what()));
      }
      if (!due && once) break;
      if (due) wait = std::chrono::milliseconds(std::clamp<std::int64_t>(*due - store::nowMs(), 1, 500));
    }
    std::unique_lock<std::mutex> lock(wakeMutex_);
    deliveryWake_.wait_for(lock, wait);
  }
}

}  // namespace renkei
