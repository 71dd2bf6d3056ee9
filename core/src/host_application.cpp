// `renkei serve`: subsystems, signal handling, the polling loop and the summary.
#include "host_application.h"
#include "systemd_notify.h"
#include "host_services.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include "instance_check.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <thread>

#include <Poco/Logger.h>

#include "local_time.h"
#include "log_channel.h"

namespace fs = std::filesystem;

namespace renkei {
namespace {

fs::path executableDirectory() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path() : exe.parent_path();
}

}  // namespace

std::vector<fs::path> pluginDirectories(const std::optional<fs::path>& cli, const std::optional<fs::path>& fromConfig) {
  if (cli) return {fs::absolute(*cli)};
  if (fromConfig) return {*fromConfig};
  if (const char* env = std::getenv("RENKEI_PLUGIN_DIR"); env && *env) {
    // A search path like $PATH: folders separated by ':'.
    std::vector<fs::path> dirs;
    std::string_view rest(env);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const std::string_view one = rest.substr(0, colon);
      if (!one.empty()) dirs.push_back(fs::absolute(fs::path(one)));
      rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon + 1);
    }
    return dirs;
  }
  const fs::path bin = executableDirectory();
  return {bin / "plugins", (bin / ".." / "lib" / "renkei" / "plugins").lexically_normal()};
}

/// serve: a SQLite store an older renkei made open to other users is made
/// private before the checks (which refuse it) run; said in the log.
void tightenStore(const HostConfig& config) {
  if (!config.store || config.store->driver != "sqlite" || config.store->path.empty() ||
      config.store->path == ":memory:")
    return;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const fs::path p = config.store->path.string() + suffix;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 077) || st.st_uid != ::geteuid())
      continue;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    if (::chmod(p.c_str(), st.st_mode & 0700) == 0)
      Poco::Logger::get("renkei.host")
          .notice("store: '%s' was open to other users (mode %s): made readable by renkei alone", p.string(),
                  std::string(mode));
  }
}

bool loadAndCheck(const fs::path& file, const std::optional<fs::path>& pluginDir, PluginRegistry& registry,
                  std::optional<HostConfig>& config, Diagnostics& diags, bool serving) {
  config = loadConfig(file, diags);
  if (!config) return false;
  if (serving) tightenStore(*config);
  registry.scan(pluginDirectories(pluginDir, config->pluginDirectory));
  checkConfig(*config, registry, diags);
  // Each plugin's own checks, in validation mode (nothing started).
  if (diags.empty()) validateInstances(*config, registry, diags);
  return diags.empty();
}

std::string ConfigSubsystem::prepareReload() {
  Diagnostics diags;
  std::optional<HostConfig> next = loadConfig(options_.config, diags);
  if (next) {
    checkConfig(*next, registry_, diags);
    if (diags.empty()) validateInstances(*next, registry_, diags);
  }
  if (!next || !diags.empty()) return diags.format();
  if (next->pluginDirectory != config_->pluginDirectory)
    Poco::Logger::get("renkei.host")
        .warning("reload: plugin-directory changed; plugin libraries are loaded at start only (restart to use it)");
  next_ = std::move(next);
  return {};
}

void ConfigSubsystem::adopt() {
  if (!next_) return;
  tightenStore(*next_);
  config_ = std::move(next_);
  next_.reset();
  setLogLevel(options_.logLevel.value_or(config_->logLevel));
}

void setLogLevel(const std::string& level) {
  Poco::Logger::root().setLevel(level);
  Poco::Logger::setLevel("renkei", Poco::Logger::parseLevel(level));
}

void ConfigSubsystem::initialize(Poco::Util::Application&) {
  Diagnostics diags;
  if (!loadAndCheck(options_.config, options_.pluginDir, registry_, config_, diags, true)) {
    std::string text = diags.format();
    for (const auto& r : registry_.refused()) text += r.path.string() + ": refused: " + r.reason + "\n";
    throw ConfigFailure(text);
  }
  setLogLevel(options_.logLevel.value_or(config_->logLevel));
  for (const auto& w : diags.warnings()) Poco::Logger::get("renkei").warning(w.format());
  for (const auto& r : registry_.refused())
    Poco::Logger::get("renkei").warning("plugin library refused: %s: %s", r.path.string(), r.reason);
}

std::string defaultHostId() {
  if (const char* env = std::getenv("RENKEI_HOST_ID"); env && *env) return env;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || !name[0]) return "renkei";
  return name;
}

void StoreSubsystem::initialize(Poco::Util::Application& app) {
  auto& cfg = app.getSubsystem<ConfigSubsystem>();
  const std::string hostId = options_.hostId.value_or(defaultHostId());
  host_ = std::make_unique<Host>(cfg.config(), cfg.registry(), Poco::Logger::get("renkei.host"), hostId,
                                 options_.once);
  host_->startStore();  // StoreError: exit 1
}

void StoreSubsystem::uninitialize() {
  if (host_) host_->shutdown();
  host_.reset();
}

void HostPartSubsystem::initialize(Poco::Util::Application& app) {
  host_ = &app.getSubsystem<StoreSubsystem>().host();
  if (part_.listener && options_.once) {
    // Said only of a listener the config has: one it lacks was never going to start.
    const HostConfig& config = host_->config();
    const bool api = part_.part == Host::Part::Api;
    if (api ? config.api.has_value() : config.admin.has_value())
      Poco::Logger::get("renkei.host")
          .notice("serve --once: %s not started (a running service may hold its port)",
                  std::string(api ? "the API" : "the admin listener"));
    return;
  }
  try {
    (host_->*part_.start)();  // HostStartError: exit 2
  } catch (...) {
    host_->stopPart(part_.part);  // what this part started before it failed
    throw;
  }
}

void HostPartSubsystem::uninitialize() {
  if (host_) host_->stopPart(part_.part);
  host_ = nullptr;
}

namespace {
/// A reload is an operator action: into the audit trail (and the log).
void auditReload(const std::string& result) {
  AuditEntry e;
  e.who = "operator (SIGHUP or renkei reload)";
  e.address = "local";
  e.action = "config reload";
  e.result = result;
  try {
    writeAudit(e);
  } catch (const std::exception& ex) {
    Poco::Logger::get("renkei.host").error("reload: the audit trail did not take it: %s", std::string(ex.what()));
  }
}

// SIGINT and SIGTERM: blocked in every thread and taken by the host's signal
// thread with sigwait().
sigset_t stopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reload: taken by the same thread
  return signals;
}
}  // namespace

HostApplication::HostApplication(ServeOptions options) : options_(std::move(options)) {
  // Blocked before any subsystem starts a thread (every thread inherits the
  // mask): a signal during a slow start-up (a store connection) waits for the
  // signal thread and is an orderly stop, not a kill.
  const sigset_t signals = stopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Initialised in this order, uninitialised in reverse.
  addSubsystem(new ConfigSubsystem(options_));
  store_ = new StoreSubsystem(options_);
  addSubsystem(store_);
  for (const Host::PartInfo& info : Host::parts()) {
    auto* part = new HostPartSubsystem(info, options_);
    addSubsystem(part);
    parts_.push_back(part);
  }
}

void HostApplication::stopEverything() {
  for (auto it = parts_.rbegin(); it != parts_.rend(); ++it) (*it)->uninitialize();
  store_->uninitialize();
}

void HostApplication::initialize(Poco::Util::Application& self) {
  // POCO's application set-up installs a console channel of its own, plain:
  // every logger gets the host's back — each line with its local time and
  // offset, escaped and bounded (file and certificate names are outside
  // input: no message can start a line of its own or grow without bound).
  useTimestampedConsole();
  try {
    ServerApplication::initialize(self);
  } catch (const ConfigFailure& e) {
    startFailureCode_ = 2;
    startFailure_ = std::string(e.what()) + "renkei serve: configuration problems; nothing was started\n";
  } catch (const HostStartError& e) {
    startFailureCode_ = 2;
    startFailure_ = std::string(e.what()) + "renkei serve: start-up failed (above); nothing was processed\n";
  } catch (const Poco::Exception& e) {
    startFailureCode_ = 1;
    startFailure_ = "renkei serve: start-up failed: " + e.displayText() + "\n";
  } catch (const std::exception& e) {
    startFailureCode_ = 1;
    startFailure_ = std::string("renkei serve: start-up failed: ") + e.what() + "\n";
  }
  // POCO uninitialises only an application whose every subsystem started:
  // the parts that did are stopped here, the last first.
  if (startFailureCode_ != 0) stopEverything();
}

int HostApplication::main(const std::vector<std::string>&) {
  if (startFailureCode_ != 0) {
    std::cerr << startFailure_;
    return startFailureCode_;
  }
  auto& cfg = getSubsystem<ConfigSubsystem>();
  Host& host = getSubsystem<StoreSubsystem>().host();
  Poco::Logger& log = Poco::Logger::get("renkei.host");

  // SIGINT/SIGTERM (blocked since construction) are taken by a thread of
  // their own: the pipeline finishes the item in hand and the process exits 0.
  const sigset_t signals = stopSignals();
  std::atomic<bool> stop{false};
  std::atomic<bool> exiting{false};
  // A stop requested during start-up is honoured before any work begins.
  sigset_t pending;
  sigemptyset(&pending);
  if (sigpending(&pending) == 0 && (sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1)) {
    int sig = 0;
    sigwait(&signals, &sig);
    log.notice("signal %d received during start-up: stopping before any work", sig);
    stop = true;
  }
  std::mutex mutex;
  std::condition_variable wake;
  // SIGHUP: the config is read and checked again while the host goes on;
  // with problems it stays as it is (the problems in the log), else the
  // host finishes the item in hand and starts again with it.
  std::atomic<bool> reload{false}, terminate{false};
  std::thread signalThread([&] {
    for (;;) {
      int sig = 0;
      sigwait(&signals, &sig);
      if (exiting) return;
      if (sig == SIGHUP && !options_.once) {
        log.notice("reload: SIGHUP received; reading %s again", options_.config.string());
        const std::string problems = cfg.prepareReload();
        if (!problems.empty()) {
          log.error("reload: the config has problems; the running config stays as it is:\n%s", problems);
          auditReload("refused: the config has problems (the log names them)");
          continue;
        }
        reload = true;
        systemd::notify("RELOADING=1");
      } else {
        log.notice("signal %d received: finishing the item in hand, then stopping", sig);
        reload = false;
        terminate = true;
      }
      stop = true;
      std::lock_guard<std::mutex> lock(mutex);
      wake.notify_all();
      if (!reload) return;
    }
  });

  const HostConfig* config = &cfg.config();
  Host* current = &host;
  // systemd (Type=notify): ready once serving; with WatchdogSec= a
  // WATCHDOG=1 every third of it while every intake and delivery worker
  // comes round its loop. One that stops (a call that never returns) stops
  // the pings, and systemd kills and restarts renkei (WatchdogSignal=SIGKILL:
  // no core dump of personal data); the store holds what was taken in.
  std::atomic<Host*> watched{options_.once ? nullptr : current};
  std::mutex watchMutex;
  std::condition_variable watchWake;
  bool watchEnd = false;
  std::thread watchdog;
  if (const auto interval = systemd::watchdogInterval(); interval && !options_.once) {
    const auto limitMs = std::max<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(*interval).count(),
                                                3 * std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        config->pollInterval).count());
    log.information("systemd watchdog: every %s ms while the workers come round within %s ms",
                    std::to_string(interval->count() / 3000), std::to_string(limitMs));
    watchdog = std::thread([&, every = *interval / 3, limitMs] {
      std::string said;
      std::unique_lock lock(watchMutex);
      while (!watchWake.wait_for(lock, every, [&] { return watchEnd; })) {
        Host* h = watched.load();
        const std::string stall = h ? h->stalled(limitMs) : std::string();  // none: restarting for a reload
        if (stall.empty()) {
          systemd::notify("WATCHDOG=1");
          if (!said.empty()) log.notice("systemd watchdog: every worker comes round again; telling systemd so");
        } else if (stall != said) {
          log.error("systemd watchdog: %s: not telling systemd all is well (with WatchdogSec= it restarts renkei; "
                    "what was taken in is in the store)",
                    stall);
        }
        said = stall;
      }
    });
  }
  systemd::notify("READY=1\nSTATUS=serving");
  for (;;) {
    log.information("instance %s (zone %s): %z routes, store: %s, times in %s, serving%s", config->instance,
                    config->zone, config->routes.size(), current->storeDescription(), timeZoneDescription(),
                    std::string(!options_.once                        ? ""
                                : config->api || config->admin ? " once (its listeners are not started)"
                                                               : " once"));
    current->run(stop, options_.once, mutex, wake);
    if (!reload.exchange(false)) break;
    log.notice("reload: the item in hand is finished; starting again with the new config");
    watched = nullptr;
    if (!restartParts()) {
      systemd::notify("STOPPING=1");
      {
        std::lock_guard lock(watchMutex);
        watchEnd = true;
      }
      watchWake.notify_all();
      if (watchdog.joinable()) watchdog.join();
      exiting = true;
      pthread_kill(signalThread.native_handle(), SIGTERM);
      signalThread.join();
      std::cerr << startFailure_;
      return startFailureCode_;
    }
    config = &cfg.config();
    current = &getSubsystem<StoreSubsystem>().host();
    watched = current;
    systemd::notify("READY=1\nSTATUS=serving the config read again");
    log.notice("reload: serving with the new config (connectors, modules, routes, mappings, listeners and the store "
               "as it now says; the plugin libraries are those loaded at start)");
    auditReload("serving the config read again");
    stop = terminate.load();  // a stop asked for during the restart stands
  }

  systemd::notify("STOPPING=1");
  {
    std::lock_guard lock(watchMutex);
    watchEnd = true;
  }
  watchWake.notify_all();
  if (watchdog.joinable()) watchdog.join();
  exiting = true;
  pthread_kill(signalThread.native_handle(), SIGTERM);
  signalThread.join();

  Host& last = *current;
  const std::uint64_t unfinished = printSummary(last, *config, std::cout);
  if (const std::string fatal = last.fatal(); !fatal.empty()) {
    std::cerr << "renkei serve: stopped: " << fatal << "\n";
    return 1;
  }
  // --once with the store not answering at the end: work is left undone.
  if (options_.once && last.storeUnavailable()) return 1;
  // A stop request is an orderly end: what is left resumes next time.
  return unfinished == 0 || stop ? EXIT_OK : 1;
}

bool HostApplication::restartParts() {
  stopEverything();
  getSubsystem<ConfigSubsystem>().adopt();
  try {
    store_->initialize(*this);
    for (HostPartSubsystem* part : parts_) part->initialize(*this);
    return true;
  } catch (const HostStartError& e) {
    startFailureCode_ = 2;
    startFailure_ = std::string(e.what()) + "renkei serve: start-up after the reload failed (above); stopped\n";
  } catch (const std::exception& e) {
    startFailureCode_ = 1;
    startFailure_ = std::string("renkei serve: start-up after the reload failed: ") + e.what() + "\n";
  }
  stopEverything();
  return false;
}

std::uint64_t printSummary(const Host& host, const HostConfig& config, std::ostream& out) {
  std::uint64_t files = 0, done = 0, duplicate = 0, failed = 0, pending = 0, records = 0, dead = 0, rejecting = 0;
  std::uint64_t resolvedDead = 0;
  out << "renkei serve: instance " << config.instance << " (zone " << config.zone << "), "
      << config.routes.size() << (config.routes.size() == 1 ? " route" : " routes") << "\n";
  for (const RouteStats& s : host.stats()) {
    std::string to;
    for (std::size_t i = 0; i < s.to.size(); ++i) to += (i ? ", " : "") + s.to[i];
    out << "  route " << s.id << ": " << s.from << " -> " << to << "\n"
        << "    files: " << s.filesClaimed << " claimed, " << s.filesRecovered << " resumed, " << s.filesDone
        << " done, " << s.filesDuplicate << " duplicate, " << s.filesFailed << " to error/, " << s.filesPending
        << " pending retry";
    if (s.filesBusy) out << ", " << s.filesBusy << " left to other hosts";
    out << "\n"
        << "    intake: " << s.recordsStored << " records stored in " << s.batchesStored << " batches, "
        << s.rejected << " rejected (in rejects/), " << s.skipped << " skipped, "
        << mapping::describeWarnings(s.warnings, s.warningsOf);
    if (s.warnings) out << " (by record: rejects/<file>.warnings.jsonl)";
    if (s.pauses) out << ", " << s.pauses << " pauses for a deep outbox";
    out << "\n"
        << "    records: " << s.records << " delivered in " << s.batches << " batches"
        // Counted per target: with three targets a stored record is delivered
        // (up to) three times, so this can be a multiple of "stored" above.
        << (s.to.size() > 1 ? " (per target: a record to " + std::to_string(s.to.size()) + " targets counts " +
                                  std::to_string(s.to.size()) + " times)"
                            : std::string())
        << ", " << s.retries << " retries, " << s.deadLetters << " dead letters\n";
    for (const RouteStats::Problem& p : s.problems) {
      // A dead letter an operator resubmitted while the host ran, and that
      // was delivered since, is no longer a current problem.
      if (!p.batchId.empty() && host.deliveredNow(p.batchId, p.target)) {
        out << "    resolved: " << p.text << " (at " << localTime(p.atMs) << "; resubmitted and delivered since)\n";
        ++resolvedDead;
        continue;
      }
      out << "    problem: " << p.text << " (at " << localTime(p.atMs) << ")\n";
    }
    files += s.filesClaimed + s.filesRecovered;
    // As the route lines count them: a duplicate was not taken in again.
    done += s.filesDone;
    duplicate += s.filesDuplicate;
    failed += s.filesFailed;
    pending += s.filesPending;
    records += s.records;
    dead += s.deadLetters;
    rejecting += s.filesTooManyRejects;
  }
  out << "renkei: " << files << " files, " << done << " done, ";
  if (duplicate) out << duplicate << " duplicate, ";
  out << failed << " to error/, " << pending << " pending; " << records << " records delivered (counted per target)";
  dead -= std::min(dead, resolvedDead);
  if (dead) out << "; " << dead << " batches to the dead letters";
  if (resolvedDead) out << "; " << resolvedDead << " dead letters resubmitted and delivered since";
  if (rejecting) out << "; " << rejecting << (rejecting == 1 ? " file" : " files") << " with too many rejected records";
  out << "\n";
  return failed + pending + dead + rejecting;
}

}  // namespace renkei
