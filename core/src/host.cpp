// The host: builds plugin instances and runs the durable pipeline.
//
// Intake (a few worker threads, core/src/pipeline/file_intake) claims items,
// registers them in the store by content hash, maps them and writes the
// accepted records to the store as batches with deterministic ids, together
// with one outbox row per target, in batched transactions; records that are
// not files arrive through the engine seam (pipeline/seam). Delivery (a
// thread of its own, pipeline/delivery) leases due outbox rows, hands each
// batch to its sink or module and marks it delivered, or schedules a retry
// with backoff, or makes it a dead letter. Everything a crash can interrupt
// is redone from what the store committed, and every target is idempotent on
// the batch id, so the effect is exactly once.
#include "host.h"

#include "backup.h"

#include <unistd.h>

#include "renkei/local_time.h"

#include <ctime>

#include "audit_trail.h"
#include "json_lines.h"
#include "local_time.h"
#include "renkei/json.h"
#include "renkei/local_time.h"
#include "renkei/support/chart.h"
#include "renkei/text.h"
#include "pipeline/batch_format.h"

#include <algorithm>
#include <thread>

#include "admin_server.h"
#include "api_server.h"
#include "host_services.h"
#include "pipeline/batch_format.h"
#include "instance_check.h"
#include "pipeline/delivery.h"
#include "pipeline/file_intake.h"
#include "pipeline/seam.h"
#include "problems.h"
#include "renkei/support/certificate.h"
#include "pipeline/shared.h"

namespace renkei {

using pipeline::Route;
using pipeline::Target;

Host::Host(const HostConfig& config, PluginRegistry& registry, Poco::Logger& logger, std::string hostId, bool once)
    : config_(config),
      registry_(registry),
      logger_(logger),
      hostId_(std::move(hostId)),
      once_(once),
      shared_(std::make_unique<pipeline::Shared>(config, logger, hostId_, metrics_)) {}

Host::~Host() { shutdown(); }

const std::vector<RouteStats>& Host::stats() const { return shared_->stats; }

std::string Host::fatal() const { return shared_->fatal(); }

bool Host::storeUnavailable() const { return shared_->intakeDown || shared_->deliveryDown; }

std::string Host::storeDescription() const { return controlStore_ ? controlStore_->describe() : "none"; }

bool Host::deliveredNow(const std::string& batchId, const std::string& target) const {
  if (!controlStore_) return false;
  try {
    for (const store::OutboxEntry& e : controlStore_->batchOutbox(batchId))
      if (e.target == target) return e.state == store::OutboxState::Delivered;
  } catch (const std::exception&) {
  }
  return false;
}

int Host::apiPort() const { return api_ ? api_->port() : 0; }

int Host::adminPort() const { return admin_ ? admin_->port() : 0; }

void Host::fail(const std::string& message) {
  // The part that failed stops what it started (its caller, below); the
  // parts before it are stopped by whoever started them, in reverse.
  throw HostStartError(message);
}

const std::vector<Host::PartInfo>& Host::parts() {
  static const std::vector<PartInfo> table = {
      {Part::Instances, "renkei.instances", &Host::startInstances, false},
      {Part::Pipeline, "renkei.pipeline", &Host::startPipeline, false},
      {Part::Api, "renkei.api", &Host::startApi, true},
      {Part::Admin, "renkei.admin", &Host::startAdmin, true},
  };
  return table;
}

void Host::startPart(Part p, const std::function<void()>& begin, std::function<void()> end) {
  begin();
  if (end) stops_[static_cast<std::size_t>(p)].push_back(std::move(end));
}

void Host::stopPart(Part p) {
  auto& stops = stops_[static_cast<std::size_t>(p)];
  while (!stops.empty()) {
    auto stop = std::move(stops.back());
    stops.pop_back();
    stop();
  }
}

void Host::start() {
  try {
    startStore();
    for (const PartInfo& part : parts()) (this->*part.start)();
  } catch (...) {
    shutdown();
    throw;
  }
}

void Host::startStore() {
  // A start-up as slow as a distant store's, for the test of a stop request
  // arriving meanwhile (docs/testing.md).
  if (shared_->faultIs("slow-start")) std::this_thread::sleep_for(std::chrono::seconds(1));
  openStore();
}

void Host::startInstances() {
  if (config_.api) {
    try {
      api_ = std::make_unique<ApiServer>(config_, storeConfig_, logger_);
      api_->setMetrics(&metrics_);
    } catch (const std::exception& e) {
      fail(config_.file.string() + ":" + std::to_string(config_.api->line) + ": " + e.what() + "\n");
    }
  }
  buildInstances();
  try {
    for (auto& [id, module] : modules_) {
      Module* m = module.get();
      startPart(Part::Instances, [m] { m->start(); }, stopQuietly("a module", m));
    }
  } catch (const std::exception& e) {
    fail(std::string("a module failed to start: ") + e.what() + "\n");
  }
}

void Host::startPipeline() {
  buildRoutes();
  startPart(Part::Pipeline, [this] { seam_->open(); }, [this] { seam_->close(); });
  try {
    // Connectors that listen or emit on their own start once the routes
    // their records take exist.
    for (auto& [id, connector] : connectors_) {
      Connector* c = connector.get();
      startPart(Part::Pipeline, [c] { c->start(); }, stopQuietly("a connector", c));
    }
  } catch (const std::exception& e) {
    fail(std::string("a connector failed to start: ") + e.what() + "\n");
  }
  registerMetrics();
}

void Host::startApi() {
  if (!api_) return;
  try {
    startPart(Part::Api, [this] { api_->start(); }, [this] { api_->stop(); });  // no call reaches a stopped module
  } catch (const std::exception& e) {
    fail(config_.file.string() + ":" + std::to_string(config_.api->line) + ": " + e.what() + "\n");
  }
}

void Host::openStore() {
  // The store first: without it nothing may be claimed.
  storeConfig_ = config_.effectiveStore();
  spool_ = config_.effectiveSpool();
  // The furthest ahead a retry, lease or ack time-out can be: a stored time
  // beyond it was set before the clock stepped back and counts as due.
  std::int64_t horizon = std::max(config_.retryMax.count(), config_.lease.count());
  for (const SubscriptionConfig& s : config_.subscriptions) horizon = std::max(horizon, s.ackTimeout.count());
  storeConfig_.horizonMs = horizon + 60'000;
  if (!config_.store) logger_.notice("no <store> in the config: using %s", storeConfig_.path.string());
  startedMs_ = store::nowMs();
  // A restore waits for no serving host: it takes this lock exclusively.
  try {
    servingLock_ = backup::holdServing(storeConfig_);
  } catch (const backup::BackupError& e) {
    throw std::runtime_error(e.what());
  }
  const bool sharedStore = storeConfig_.driver == "postgresql";
  // Intake's commits leave the WAL checkpoints to the delivery thread, so
  // the copy into the database runs beside intake, not in its way.
  store::StoreConfig intakeConfig = storeConfig_;
  intakeConfig.autoCheckpoint = false;
  controlStore_ = store::openStore(intakeConfig);
  seam_ = std::make_unique<pipeline::Seam>(*shared_, intakeConfig);
  // Delivery: each pushed target served by a worker of its own while there
  // are delivery-threads enough, else targets share workers round-robin; a
  // target that hangs (a relay that never answers) holds only its worker.
  std::vector<std::string> targets;
  for (const RouteConfig& r : config_.routes)
    for (const std::string& to : r.to)
      if (!config_.findSubscription(to) && std::find(targets.begin(), targets.end(), to) == targets.end())
        targets.push_back(to);
  const std::size_t deliveryWorkers = std::max<std::size_t>(1, std::min(config_.deliveryThreads, targets.size()));
  std::vector<std::vector<std::string>> shares(deliveryWorkers);
  for (std::size_t i = 0; i < targets.size(); ++i) shares[i % deliveryWorkers].push_back(targets[i]);
  for (std::size_t i = 0; i < deliveryWorkers; ++i)
    deliveries_.push_back(std::make_unique<pipeline::Delivery>(*shared_, storeConfig_, std::move(shares[i]), i == 0));
  std::size_t sources = 0;
  for (const RouteConfig& r : config_.routes) sources += r.records.empty() ? 1 : 0;
  const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(config_.intakeThreads, sources));
  for (std::size_t i = 0; i < workers; ++i)
    workers_.push_back(std::make_unique<pipeline::FileIntake>(*shared_, intakeConfig, spool_, sharedStore));
  controlStore_->releaseLeases(hostId_);
  if (config_.audit) {
    // Every access and operator action from here on goes into the trail;
    // a call whose entry cannot be stored does not answer.
    audit_ = std::make_unique<audit::Trail>(
        storeConfig_, audit::readKey(config_.audit->keyFile), config_.audit->anchorFile, [](std::int64_t ms) {
          const std::time_t t = static_cast<std::time_t>(ms / 1000);
          std::tm tm{};
          localtime_r(&t, &tm);
          return static_cast<std::int64_t>(tm.tm_gmtoff / 60);
        });
    audit::install(audit_.get());
    stops_[static_cast<std::size_t>(Part::Store)].push_back([this] {
      audit::install(nullptr);
      try {
        audit_->anchorNow();
      } catch (const std::exception& e) {
        logger_.error("audit: cannot anchor the trail at stop: %s", std::string(e.what()));
      }
    });
  }
  if (config_.backup && !once_) {
    Worker::Options every;
    every.interval = std::chrono::minutes(1);
    every.maxBackoff = std::chrono::minutes(10);
    backups_.start("backup", every, [this] { backupPass(); }, logger_);
    stops_[static_cast<std::size_t>(Part::Store)].push_back([this] { backups_.stop(); });
  }
  // Work this host leased goes back to the pool at shutdown (another host,
  // or this one restarted, need not wait for the leases to run out).
  stops_[static_cast<std::size_t>(Part::Store)].push_back([this] {
    try {
      controlStore_->releaseLeases(hostId_);
    } catch (const std::exception& e) {
      logger_.warning("store: cannot release leases: %s (they run out by themselves)", std::string(e.what()));
    }
  });
}

void Host::buildInstances() {
  std::vector<std::string> failures;
  auto makeContext = [&](const InstanceConfig& inst) -> HostContext& {
    HostContext& ctx = contexts_[inst.id];
    ctx.instance = config_.instance;
    ctx.zone = config_.zone;
    ctx.id = inst.id;
    ctx.configDir = config_.directory;
    ctx.logger = &Poco::Logger::get("renkei." + inst.id);
    ctx.once = once_;
    auto& services = services_[inst.id];
    pipeline::Seam* seam = seam_.get();
    services = std::make_unique<InstanceServices>(
        storeConfig_, inst.id, api_.get(), spool_,
        [seam](const std::string& emitter, const Emission& e) { return seam->emit(emitter, e); },
        metrics_.scope(inst.id));
    services->setAdmin(adminPages_.forInstance(inst.id));
    services->setCalendar(config_.calendar);
    services->setRegisters(registers_);
    services->setAssistants(assistants_);
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
  // What each source keeps of what it took in, and for how long: told what
  // its items hold that the zone does not (a 個人番号 export on LGWAN).
  for (auto& [id, connector] : connectors_)
    if (Source* source = connector->source(); source && readsFrom(config_, id))
      if (std::string keeps = source->itemsHold(classNotHeld(config_, id)); !keeps.empty())
        logger_.information("connector %s %s", id, keeps);
  if (failures.empty()) return;
  std::string message;
  for (const auto& f : failures) message += f + "\n";
  fail(message);
}

void Host::buildRoutes() {
  pipeline::Shared& s = *shared_;
  std::vector<std::string> failures;
  const std::string file = config_.file.string();
  s.stats.reserve(config_.routes.size());  // routes point into it: never resized after this
  s.routes.reserve(config_.routes.size());
  for (const RouteConfig& rc : config_.routes) {
    RouteStats routeStats;
    routeStats.id = rc.id;
    routeStats.from = rc.from;
    routeStats.to = rc.to;
    routeStats.recordType = rc.records;
    s.stats.push_back(std::move(routeStats));
    Route route;
    route.config = &rc;
    route.stats = &s.stats.back();
    route.zone = rc.mapping ? rc.mapping->zone : config_.zone;
    if (rc.mapping) {
      std::vector<std::string> classes;
      for (const auto& f : rc.mapping->fields) classes.emplace_back(formats::piiName(f.pii));
      route.fieldPii = std::make_shared<const std::vector<std::string>>(std::move(classes));
    }
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
      if (std::find(s.pushTargets.begin(), s.pushTargets.end(), to) == s.pushTargets.end()) s.pushTargets.push_back(to);
      Target t{to};
      if (auto it = connectors_.find(to); it != connectors_.end()) t.sink = it->second->sink();
      if (auto it = modules_.find(to); it != modules_.end()) t.module = it->second.get();
      if (!t.sink && !t.module) failures.push_back(where + "connector '" + to + "' is not set up as a sink (see its keys)");
      route.targets.push_back(t);
    }
    // The internet zone keeps personal fields only sealed to the sink that
    // carries them out (renkei check has made sure every target seals, to
    // one key).
    const bool personal = route.fieldPii && std::any_of(route.fieldPii->begin(), route.fieldPii->end(),
                                                         [](const std::string& c) { return c != "none"; });
    if (config_.zone == "internet" && personal && route.targets.empty()) {
      failures.push_back(where + "its fields are not all of class none: the internet zone keeps nothing personal");
    } else if (config_.zone == "internet" && personal) {
      const Target& first = route.targets.front();
      if (!first.sink || first.sink->sealingKey().empty()) {
        failures.push_back(where + "its fields are not all of class none, and '" + first.id +
                           "' does not seal what it carries: the internet zone keeps nothing personal");
      } else {
        try {
          route.sealTo = std::make_shared<const seal::PublicKey>(seal::PublicKey::fromPem(first.sink->sealingKey()));
        } catch (const std::exception& e) {
          failures.push_back(where + "the sealing key of '" + first.id + "': " + e.what());
        }
      }
    }
    s.routes.push_back(std::move(route));
    s.routeIds.push_back(rc.id);
  }
  for (Route& r : s.routes) s.routeById[r.config->id] = &r;
  if (failures.empty()) return;
  std::string message;
  for (const auto& f : failures) message += f + "\n";
  fail(message);
}

void Host::startAdmin() {
  if (!config_.admin) return;
  try {
    adminStore_ = store::openStore(storeConfig_);
    admin_ = std::make_unique<AdminServer>(*config_.admin, metrics_, adminPages_, [this]() -> std::string {
      if (const std::string f = fatal(); !f.empty()) return "the store is gone: " + f;
      if (storeUnavailable()) return "the store does not answer";
      return {};
    }, storeConfig_, consoleBackend());
    startPart(Part::Admin, [this] { admin_->start(); }, [this] { admin_->stop(); });
    const std::string scheme = config_.admin->certificate.empty() ? "http" : "https";
    logger_.notice("admin: %s://%s:%d/metrics and /health", scheme, config_.admin->address, admin_->port());
  } catch (const std::exception& e) {
    fail(config_.file.string() + ":" + std::to_string(config_.admin->line) + ": admin: " + e.what() + "\n");
  }
}

namespace {
std::string jsonString(const std::string& v) { return jsonQuoted(v); }
}  // namespace

AdminServer::Backend Host::consoleBackend() {
  AdminServer::Backend b;
  b.routes = [this] { return queuesJson(); };
  b.plugins = [this] {
    std::string out = "{\"plugins\":[";
    bool first = true;
    for (const PluginDescriptor& d : registry_.plugins()) {
      std::string instances;
      for (const auto* list : {&config_.connectors, &config_.modules})
        for (const InstanceConfig& i : *list)
          if (i.plugin == d.key) instances += (instances.empty() ? "" : ",") + jsonString(i.id);
      out += first ? "" : ",";
      first = false;
      out += "{\"key\":" + jsonString(d.key) + ",\"kind\":" + jsonString(d.kind) + ",\"version\":" +
             jsonString(d.version) + ",\"status\":" + jsonString(d.status) + ",\"description\":" +
             jsonString(d.description) + ",\"instances\":[" + instances + "]}";
    }
    return out + "]}";
  };
  b.routesCsv = [this] {
    // For a spreadsheet: UTF-8 with a BOM, CRLF, every cell quoted, a cell
    // a spreadsheet would run as a formula written as text.
    auto cell = [](const std::string& v) {
      std::string text = looksLikeFormula(v) ? "'" + v : v, out = "\"";
      for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      return out + "\"";
    };
    std::string out = "\xEF\xBB\xBFroute,target,pending_batches,pending_records,oldest_pending_seconds,dead_batches,"
                      "delivered_records,last_error\r\n";
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (!adminStore_) return out;
    const std::int64_t now = store::nowMs();
    for (const store::QueueStatus& q : adminStore_->queueStatus())
      out += cell(q.route) + "," + cell(q.target) + "," + std::to_string(q.pendingBatches) + "," +
             std::to_string(q.pendingRecords) + "," + std::to_string(q.oldestPendingMs ? (now - q.oldestPendingMs) / 1000 : 0) +
             "," + std::to_string(q.deadBatches) + "," + std::to_string(q.deliveredRecords) + "," +
             cell(q.lastError.substr(0, 500)) + "\r\n";
    return out;
  };
  b.routesSvg = [this] {
    // Delivered and waiting records per route and target (chart.h).
    std::vector<chart::Row> rows;
    {
      std::lock_guard<std::mutex> lock(adminMutex_);
      if (adminStore_)
        for (const store::QueueStatus& q : adminStore_->queueStatus())
          rows.push_back({q.route + " → " + q.target, {q.deliveredRecords, q.pendingRecords}});
    }
    return chart::bars("Records per route and target",
                       "Delivered and waiting records of each route and target (the numbers in the table)",
                       {"delivered", "waiting"}, rows);
  };
  b.calendar = [this](int year) -> std::optional<std::string> {
    if (!config_.calendar) return std::nullopt;
    std::string out = "{\"year\":" + std::to_string(year) + ",\"configured\":true,\"days\":[";
    bool first = true;
    const calendar::Date start{year, 1, 1};
    for (std::int64_t d = calendar::toDays(start); calendar::fromDays(d).year == year; ++d) {
      const calendar::Date date = calendar::fromDays(d);
      const calendar::Day day = config_.calendar->day(date);
      if (day.kind == calendar::Kind::Open || day.kind == calendar::Kind::Saturday || day.kind == calendar::Kind::Sunday)
        continue;
      out += first ? "" : ",";
      first = false;
      out += "{\"date\":" + jsonString(calendar::iso(date)) + ",\"kind\":" + jsonString(calendar::kindName(day.kind)) +
             ",\"name\":" + jsonString(day.name) + ",\"open\":" + (day.open ? "true" : "false") + "}";
    }
    return out + "]}";
  };
  b.deadLetters = [this] {
    std::string out = "{\"dead\":[";
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (adminStore_) {
      bool first = true;
      for (const store::OutboxEntry& e : adminStore_->listOutbox(store::OutboxState::Dead, "", 1000)) {
        out += first ? "" : ",";
        first = false;
        out += "{\"batch\":" + jsonString(e.batchId) + ",\"route\":" + jsonString(e.route) +
               ",\"target\":" + jsonString(e.target) + ",\"records\":" + std::to_string(e.records) +
               ",\"attempts\":" + std::to_string(e.attempts) + ",\"source\":" + jsonString(e.sourceItem) +
               ",\"last_error\":" + jsonString(e.lastError.substr(0, 500)) +
               ",\"updated\":" + jsonString(e.updatedAt) + "}";
      }
    }
    return out + "]}";
  };
  b.deadLetter = [this](const std::string& batch, int records) -> std::optional<std::string> {
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (!adminStore_) return std::nullopt;
    auto row = adminStore_->batch(batch);
    if (!row) return std::nullopt;
    std::string out = "{\"batch\":" + jsonString(row->id) + ",\"route\":" + jsonString(row->route) +
                      ",\"records\":" + std::to_string(row->records) + ",\"fields\":" +
                      (parseNameArray(row->fields) ? row->fields : std::string("[]")) + ",\"rows\":[";
    bool first = true;
    for (const store::OutboxEntry& e : adminStore_->batchOutbox(batch)) {
      out += first ? "" : ",";
      first = false;
      out += "{\"target\":" + jsonString(e.target) + ",\"state\":" + jsonString(store::outboxStateName(e.state)) +
             ",\"attempts\":" + std::to_string(e.attempts) + ",\"last_error\":" + jsonString(e.lastError.substr(0, 500)) +
             "}";
    }
    out += "]";
    if (records > 0) {
      if (pipeline::sealedAtRest(row->payload)) {
        out += ",\"sealed\":true";
      } else {
        std::size_t at = 0;
        for (int i = 0; i < records && at < row->payload.size(); ++i) {
          const std::size_t nl = row->payload.find('\n', at);
          at = nl == std::string::npos ? row->payload.size() : nl + 1;
        }
        std::string objects;
        auto names = parseNameArray(row->fields);
        if (names && !expandJsonArrays(std::string_view(row->payload).substr(0, at), *names, objects)) {
          std::string list;
          for (std::size_t p = 0; p < objects.size();) {
            const std::size_t nl = objects.find('\n', p);
            const std::string line = objects.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
            if (!line.empty()) list += (list.empty() ? "" : ",") + line;
            p = nl == std::string::npos ? objects.size() : nl + 1;
          }
          out += ",\"shown\":[" + list + "]";
        }
      }
    }
    return out + "}";
  };
  b.problems = [this] {
    // What the problem watch saw last, and the backups.
    std::string out = "{\"open\":[";
    {
      std::lock_guard<std::mutex> lock(problemsMutex_);
      for (std::size_t i = 0; i < lastProblems_.size(); ++i)
        out += std::string(i ? "," : "") + "{\"kind\":" + jsonString(lastProblems_[i].kind) + ",\"subject\":" +
               jsonString(lastProblems_[i].subject) + ",\"detail\":" + jsonString(lastProblems_[i].detail) + "}";
    }
    out += "],\"backup\":";
    if (config_.backup) {
      const auto made = backup::list(config_.backup->folder);
      const std::int64_t now = store::nowMs();
      out += "{\"folder\":" + jsonString(config_.backup->folder.string()) + ",\"generations\":" +
             std::to_string(made.size());
      if (!made.empty())
        out += ",\"last\":" + jsonString(localTimeText(made.front().createdMs)) + ",\"age_hours\":" +
               std::to_string((now - made.front().createdMs) / 3'600'000) + ",\"stale\":" +
               (now - made.front().createdMs > config_.backup->maxAge.count() ? "true" : "false");
      out += "}";
    } else {
      out += "null";
    }
    out += ",\"refused\":[";
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (!adminStore_) return out + "],\"held\":[]}";
    bool first = true;
    for (const store::Refusal& r : adminStore_->refusals(store::nowMs(), 500)) {
      if (r.acknowledgedMs) continue;
      out += first ? "" : ",";
      first = false;
      out += "{\"id\":" + std::to_string(r.id) + ",\"source\":" + jsonString(r.source) + ",\"item\":" +
             jsonString(r.item) + ",\"reason\":" + jsonString(r.reason.substr(0, 1000)) + ",\"at\":" +
             jsonString(localTimeText(r.atMs)) + "}";
    }
    out += "],\"held\":[";
    first = true;
    for (const store::HeldSummary& h : adminStore_->heldSummary()) {
      out += first ? "" : ",";
      first = false;
      out += "{\"emitter\":" + jsonString(h.emitter) + ",\"route\":" + jsonString(h.route) + ",\"record_type\":" +
             jsonString(h.recordType) + ",\"held\":" + std::to_string(h.held) + ",\"reasons\":" +
             jsonString(h.lastReasons.substr(0, 500)) + "}";
    }
    return out + "]}";
  };
  b.acknowledge = [this](std::int64_t id, const std::string& who) -> std::int64_t {
    std::lock_guard<std::mutex> lock(adminMutex_);
    return adminStore_ ? adminStore_->acknowledgeRefusal(id, who + " (console)", "acknowledged in the console") : 0;
  };
  b.replay = [this](const std::string& route, const std::string& since,
                    const std::string& who) -> std::variant<std::int64_t, std::string> {
    if (std::none_of(config_.routes.begin(), config_.routes.end(), [&](const RouteConfig& r) { return r.id == route; }))
      return std::string("no route of that name in this config");
    const auto from = store::parseSince(since, store::nowMs());
    if (!from) return std::string("since: a date (2026-11-22), a time, or 90m, 2h, 3d back");
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (!adminStore_) return std::string("the store is not open");
    return adminStore_->replay(route, *from, who + " (console)");
  };
  b.resubmit = [this](const std::string& batch, const std::string& who) -> std::int64_t {
    std::lock_guard<std::mutex> lock(adminMutex_);
    return adminStore_ ? adminStore_->resubmit(batch, "", who + " (console)") : 0;
  };
  b.files = [this] {
    // The file routes' last files: names and states, never content.
    std::string out = "{\"files\":[";
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (!adminStore_) return out + "]}";
    bool first = true;
    for (const RouteConfig& r : config_.routes) {
      if (!r.records.empty()) continue;  // a route of emitted records takes in no files
      for (const store::FileEntry& f : adminStore_->recentFiles(r.id, 50)) {
        out += first ? "" : ",";
        first = false;
        out += "{\"route\":" + jsonString(r.id) + ",\"name\":" + jsonString(f.name) + ",\"state\":" +
               jsonString(store::fileStateName(f.state)) + ",\"first_seen\":" + jsonString(localTimeFromIso(f.firstSeen)) +
               ",\"finished\":" + jsonString(f.finishedAt.empty() ? "" : localTimeFromIso(f.finishedAt)) +
               ",\"note\":" + jsonString(f.note.substr(0, 500)) + ",\"generation\":" + std::to_string(f.generation) +
               ",\"reprocess_asked\":" + (f.reprocess ? "true" : "false") + "}";
      }
    }
    return out + "]}";
  };
  b.reprocess = [this](const std::string& route, const std::string& file,
                       const std::string& who) -> std::pair<int, std::string> {
    const auto r = std::find_if(config_.routes.begin(), config_.routes.end(),
                                [&](const RouteConfig& c) { return c.id == route; });
    if (r == config_.routes.end()) return {404, "no route of that name in this config"};
    if (!r->records.empty())
      return {400, "this route takes records its source emits, not files; ask the source to send them again"};
    std::lock_guard<std::mutex> lock(adminMutex_);
    if (!adminStore_) return {503, "the store is not open"};
    const auto entry = adminStore_->requestReprocess(route, file, who + " (console)");
    if (!entry) return {404, "this route has taken in no file of that name"};
    if (entry->state == store::FileState::Processing)
      return {409, "the file is being taken in right now; ask again once it is done"};
    return {200, "taken in again under the config in force, as generation " + std::to_string(entry->generation + 1) +
                     "; its records go out in new batches"};
  };
  b.heldResubmit = [this](const std::string& emitter, const std::string& route, const std::string& who) -> std::int64_t {
    std::lock_guard<std::mutex> lock(adminMutex_);
    return adminStore_ ? adminStore_->requestHeldResubmit(0, emitter, route, who + " (console)") : 0;
  };
  return b;
}

std::string Host::queuesJson() {
  // The console's routes page: each route and target, what waits, since
  // when, the dead letters and the last error (field names, never values).
  const auto text = jsonString;
  std::string out = "{\"queues\":[";
  std::lock_guard<std::mutex> lock(adminMutex_);
  if (adminStore_) {
    const std::int64_t now = store::nowMs();
    bool first = true;
    for (const store::QueueStatus& q : adminStore_->queueStatus()) {
      out += first ? "" : ",";
      first = false;
      out += "{\"route\":" + text(q.route) + ",\"target\":" + text(q.target) +
             ",\"pending_batches\":" + std::to_string(q.pendingBatches) +
             ",\"pending_records\":" + std::to_string(q.pendingRecords) +
             ",\"oldest_pending_ms\":" + std::to_string(q.oldestPendingMs ? now - q.oldestPendingMs : 0) +
             ",\"dead_batches\":" + std::to_string(q.deadBatches) +
             ",\"delivered_records\":" + std::to_string(q.deliveredRecords) +
             ",\"last_error\":" + text(q.lastError.substr(0, 500)) + "}";
    }
  }
  return out + "]}";
}

std::vector<CertificateFile> Host::certificateFiles() {
  std::vector<CertificateFile> out;
  if (config_.api) out.push_back({"api", config_.api->certificate});
  if (config_.admin && !config_.admin->certificate.empty()) out.push_back({"admin", config_.admin->certificate});
  for (auto& [id, c] : connectors_)
    for (CertificateFile f : c->certificates()) out.push_back({id + ":" + f.use, std::move(f.file)});
  for (auto& [id, m] : modules_)
    for (CertificateFile f : m->certificates()) out.push_back({id + ":" + f.use, std::move(f.file)});
  return out;
}

void Host::problemPass() {
  if (!problemStore_) problemStore_ = store::openStore(storeConfig_);
  const std::int64_t now = store::nowMs();
  std::vector<Problem> found = problems::hostProblems(*problemStore_, config_, storeConfig_, spool_, certificateFiles(),
                                                      backupFailing_, now);
  const auto ask = [&](const std::string& id, auto& instance) {
    try {
      for (Problem p : instance->problems()) {
        p.subject = id + (p.subject.empty() ? "" : " " + p.subject);
        found.push_back(std::move(p));
      }
    } catch (const std::exception& e) {
      found.push_back({"stopped", id, std::string("cannot say how it is: ") + e.what(), true});
    }
  };
  for (auto& [id, c] : connectors_) ask(id, c);
  for (auto& [id, m] : modules_) ask(id, m);
  problemWatch_->pass(found, now);
  std::lock_guard<std::mutex> lock(problemsMutex_);
  lastProblems_ = std::move(found);
}

void Host::registerMetrics() {
  metrics_.addCollector([this] {
    // Room on the disks renkei writes to, and the certificates it serves
    // with: alerts before the disk is full or a certificate runs out
    // (docs/examples/prometheus-alerts.yml).
    for (const auto& [use, folder] : problems::watchedFolders(config_, storeConfig_, spool_)) {
      std::error_code ec;
      const auto space = std::filesystem::space(folder, ec);
      if (ec || space.capacity == 0) continue;
      metrics_.gauge("renkei_disk_free_bytes", "Bytes free for renkei on the disk of a folder it writes to",
                     {{"folder", use}})
          .set(static_cast<double>(space.available));
      metrics_.gauge("renkei_disk_free_ratio", "Share of the disk free for renkei (0-1)", {{"folder", use}})
          .set(static_cast<double>(space.available) / static_cast<double>(space.capacity));
    }
    for (const CertificateFile& c : certificateFiles())
      if (auto left = certificateSecondsLeft(c.file))
        metrics_.gauge("renkei_certificate_expiry_seconds", "Seconds until a certificate renkei serves with runs out",
                       {{"use", c.use}})
            .set(*left);
    for (const RouteStats& s : shared_->stats) {
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
      // A group whose records were all taken again reads 0, not its last count.
      for (const MetricLabels& l : heldLabels_)
        metrics_.gauge("renkei_held_records", "Emitted records held: rejected by a route's mapping, or no route "
                                              "takes them (renkei status; renkei held resubmit)", l)
            .set(0);
      for (const store::HeldSummary& h : adminStore_->heldSummary()) {
        const MetricLabels l{{"emitter", h.emitter}, {"route", h.route.empty() ? "(none)" : h.route},
                             {"record_type", h.recordType}};
        metrics_.gauge("renkei_held_records", "Emitted records held: rejected by a route's mapping, or no route "
                                              "takes them (renkei status; renkei held resubmit)", l)
            .set(static_cast<double>(h.held + h.resubmit));
        if (std::find(heldLabels_.begin(), heldLabels_.end(), l) == heldLabels_.end()) heldLabels_.push_back(l);
      }
      // Items refused whole before the host saw them, not yet acknowledged.
      for (const std::string& source : refusalSources_)
        metrics_.gauge("renkei_refused_items", "Items a connector refused whole, not yet acknowledged (renkei status)",
                       {{"connector", source}})
            .set(0);
      for (const auto& [source, n] : adminStore_->openRefusals()) {
        metrics_.gauge("renkei_refused_items", "Items a connector refused whole, not yet acknowledged (renkei status)",
                       {{"connector", source}})
            .set(static_cast<double>(n));
        if (std::find(refusalSources_.begin(), refusalSources_.end(), source) == refusalSources_.end())
          refusalSources_.push_back(source);
      }
      metrics_.gauge("renkei_store_up", "1 when the store answers").set(1);
    } catch (const std::exception&) {
      metrics_.gauge("renkei_store_up", "1 when the store answers").set(0);
    }
  });
}

void Host::shutdown() {
  // Every part, the last started first: the admin listener and the API (no
  // call reaches a module being stopped), the seam (emit() refuses from here
  // on), connectors, modules; then the store's leases.
  for (auto it = parts().rbegin(); it != parts().rend(); ++it) stopPart(it->part);
  stopPart(Part::Store);
  shared_->routes.clear();
  shared_->routeById.clear();
  shared_->pushTargets.clear();
  modules_.clear();
  connectors_.clear();
  admin_.reset();
  adminPages_.clear();  // the handlers' code is the plugins': gone with them
  {
    std::lock_guard<std::mutex> lock(adminMutex_);
    adminStore_.reset();
  }
  api_.reset();
  contexts_.clear();
  services_.clear();
  workers_.clear();
  deliveries_.clear();
  seam_.reset();
  audit_.reset();
  controlStore_.reset();
  if (servingLock_ >= 0) ::close(servingLock_);
  servingLock_ = -1;
}

std::string Host::stalled(std::int64_t limitMs) const {
  const std::int64_t now = pipeline::Heartbeat::now();
  const auto say = [&](const char* what, std::size_t i, const pipeline::Heartbeat& h) {
    const std::int64_t quiet = now - h.ms;
    return quiet > limitMs ? std::string(what) + " worker " + std::to_string(i + 1) + " has not come round for " +
                                 std::to_string(quiet / 1000) + " s"
                           : std::string();
  };
  for (std::size_t i = 0; i < workers_.size(); ++i)
    if (auto s = say("intake", i, workers_[i]->heartbeat); !s.empty()) return s;
  for (std::size_t i = 0; i < deliveries_.size(); ++i)
    if (auto s = say("delivery", i, deliveries_[i]->heartbeat); !s.empty()) return s;
  return {};
}

void Host::backupPass() {
  const backup::Schedule& b = *config_.backup;
  const std::int64_t now = store::nowMs();
  // Today's slot in the municipality's time (the process runs in its zone).
  const std::time_t t = static_cast<std::time_t>(now / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::tm slot = tm;
  slot.tm_hour = b.hour;
  slot.tm_min = b.minute;
  slot.tm_sec = 0;
  const std::int64_t slotMs = static_cast<std::int64_t>(std::mktime(&slot)) * 1000;
  std::vector<backup::Manifest> made = backup::list(b.folder);
  std::int64_t last = made.empty() ? 0 : made.front().createdMs;
  const calendar::Date today{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
  const bool dayWanted = !b.openDaysOnly || !config_.calendar || config_.calendar->isOpen(today);
  auto& failures = metrics_.counter("renkei_backup_failures_total", "Scheduled backups that failed (the ones before stay)");
  // After a failure (a full disk) the next try waits 15 minutes, not one.
  if (now >= slotMs && last < slotMs && dayWanted && now >= backupRetryMs_) {
    try {
      const backup::Manifest m = backup::write(storeConfig_, config_.instance, b.folder, b.keep, logger_);
      last = m.createdMs;
      metrics_.gauge("renkei_backup_last_bytes", "Size of the last verified backup").set(static_cast<double>(m.bytes));
      metrics_.gauge("renkei_backup_last_seconds", "Time the last backup took to write and verify").set(m.seconds);
      backupStaleSaid_ = false;
      backupFailing_ = false;
    } catch (const std::exception& e) {
      failures.add(1);
      backupFailing_ = true;
      backupRetryMs_ = now + 15 * 60'000;
      logger_.error("%s (tried again in 15 minutes)", std::string(e.what()));
    }
  }
  metrics_.gauge("renkei_backup_last_success_timestamp_seconds", "When the last verified backup was made (0: none)")
      .set(static_cast<double>(last / 1000));
  const double age = last ? static_cast<double>(now - last) / 1000 : -1;
  metrics_.gauge("renkei_backup_age_seconds", "Age of the last verified backup (-1: none)").set(age);
  const bool stale = !last ? now - startedMs_ > b.maxAge.count() : now - last > b.maxAge.count();
  metrics_.gauge("renkei_backup_stale", "1 when the last verified backup is older than max-age").set(stale ? 1 : 0);
  if (stale && !backupStaleSaid_) {
    backupStaleSaid_ = true;
    logger_.error("backup: %s in %s (max-age %s h): see why in this log and renkei backup list",
                  last ? "the last verified backup is from " + localTimeText(last) : std::string("no verified backup"),
                  b.folder.string(), std::to_string(b.maxAge.count() / 3'600'000));
  }
}

void Host::run(const std::atomic<bool>& stop, bool once, std::mutex& mutex, std::condition_variable& wake) {
  shared_->intakeFinished = false;
  if (!once) {
    // The problem watch: emits renkei.problem when a route takes them (the
    // failure mail), else the log and /metrics only.
    const bool routed = std::any_of(config_.routes.begin(), config_.routes.end(),
                                    [](const RouteConfig& r) { return r.from == problems::kEmitter; });
    try {
      problems::Watch::Emit emit;
      if (routed) emit = [seam = seam_.get()](const Emission& e) { return seam->emit(problems::kEmitter, e); };
      problemWatch_ = std::make_unique<problems::Watch>(storeConfig_, config_, hostId_, std::move(emit), logger_, metrics_);
      Worker::Options every;
      every.interval = config_.notify.check;
      every.maxBackoff = std::chrono::minutes(10);
      problemWorker_.start("problem watch", every, [this] { problemPass(); }, logger_);
    } catch (const std::exception& e) {
      logger_.error("problem watch: cannot start: %s (problems are not mailed; /metrics and renkei status still "
                    "show them)",
                    std::string(e.what()));
    }
  }
  for (auto& w : workers_) w->start();
  std::vector<std::thread> delivery;
  for (auto& d : deliveries_) delivery.emplace_back([&, worker = d.get()] { worker->loop(stop, once); });
  std::vector<std::thread> intake;
  for (auto& w : workers_) intake.emplace_back([&, worker = w.get()] { intakeLoop(*worker, stop, once, mutex, wake); });
  for (std::thread& t : intake) t.join();
  problemWorker_.stop();
  if (once && !stop) {
    for (auto& [id, connector] : connectors_) {
      try {
        connector->takeWaiting();
      } catch (const std::exception& e) {
        logger_.error("connector %s: taking in what waits failed: %s", id, std::string(e.what()));
      }
    }
  }
  for (auto& w : workers_) w->stop();
  {
    std::lock_guard<std::mutex> lock(shared_->wakeMutex);
    shared_->intakeFinished = true;
  }
  // The delivery thread sees a stop request within its short waits.
  shared_->notifyDelivery();
  std::uint64_t storeReads = 0;
  for (std::size_t i = 0; i < delivery.size(); ++i) {
    delivery[i].join();
    storeReads += deliveries_[i]->storeReads();
  }
  logger_.debug("delivery: %s batches read back from the store (not in memory)", std::to_string(storeReads));
  for (Route& route : shared_->routes) {
    if (!route.source) continue;
    // Items left in processing/ (stopped, or store or folder trouble).
    std::uint64_t left = 0;
    for (const Intake& item : route.source->recover())
      if (!route.leftToOthers.count(item.name)) ++left;
    route.stats->filesPending = left;
  }
}

void Host::intakeLoop(pipeline::FileIntake& worker, const std::atomic<bool>& stop, bool once, std::mutex& mutex,
                      std::condition_variable& wake) {
  for (;;) {
    worker.heartbeat.beat();
    if (worker.storeAnswers()) {
      // Every route with a source, each taken by one worker at a time: a
      // route another worker is in (a large export) is skipped, not waited for.
      for (Route& route : shared_->routes) {
        if (stop || shared_->gone) break;
        if (!route.source || !shared_->acquire(route)) continue;
        worker.pass(route, stop);
        shared_->release(route);
      }
      // Held records an operator asked for again (renkei held resubmit).
      if (&worker == workers_.front().get() && !stop && !shared_->gone) seam_->resubmitHeld();
    }
    if (once || stop || shared_->gone) return;
    std::unique_lock<std::mutex> lock(mutex);
    wake.wait_for(lock, config_.pollInterval, [&] { return stop.load(); });
    if (stop) return;
  }
}

}  // namespace renkei
