// `renkei serve`: the host as a POCO ServerApplication made of subsystems
// (config → plugin registry → pipeline), initialised in that order and shut
// down in reverse.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <Poco/Util/ServerApplication.h>
#include <Poco/Util/Subsystem.h>

#include "config.h"
#include "host.h"
#include "plugin_registry.h"

namespace renkei {

/// A config problem found while starting: the text lists every problem, one
/// per line. `renkei serve` exits 2 on it.
class ConfigFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServeOptions {
  std::filesystem::path config;
  std::optional<std::filesystem::path> pluginDir;  ///< --plugin-dir
  std::optional<std::string> logLevel;             ///< --log-level
  std::optional<std::string> hostId;               ///< --host-id (else $RENKEI_HOST_ID, else the machine's name)
  bool once = false;
};

/// Plugin directories in precedence order: --plugin-dir, the config's
/// <plugins directory>, $RENKEI_PLUGIN_DIR (folders separated by ':'), then plugins/ next to the binary
/// and ../lib/renkei/plugins from it.
std::vector<std::filesystem::path> pluginDirectories(const std::optional<std::filesystem::path>& cli,
                                                     const std::optional<std::filesystem::path>& fromConfig);

/// Loads and checks a config and scans the plugins it needs. Shared by
/// `check` and `serve`. Returns false when there are problems (in `diags`).
bool loadAndCheck(const std::filesystem::path& file, const std::optional<std::filesystem::path>& pluginDir,
                  PluginRegistry& registry, std::optional<HostConfig>& config, Diagnostics& diags, bool serving = false);

/// Sets the level of every renkei logger ("information", "debug", …).
void setLogLevel(const std::string& level);

/// Loads the config, checks it against the plugins. Owns the HostConfig.
class ConfigSubsystem : public Poco::Util::Subsystem {
 public:
  explicit ConfigSubsystem(const ServeOptions& options) : options_(options) {}
  const char* name() const override { return "renkei.config"; }
  void initialize(Poco::Util::Application& app) override;
  void uninitialize() override {}

  const HostConfig& config() const { return *config_; }
  PluginRegistry& registry() { return registry_; }

  /// Reads and checks the config file again (with the plugins loaded at
  /// start): "" and the new config kept aside for adopt(), or the problems.
  std::string prepareReload();
  /// Makes the config prepareReload() read the current one; only while no
  /// host refers to the current one.
  void adopt();

 private:
  const ServeOptions& options_;
  PluginRegistry registry_;
  std::optional<HostConfig> config_, next_;
};

/// The store and the host that owns the pipeline's parts: created first,
/// destroyed last (after every part below has stopped).
class StoreSubsystem : public Poco::Util::Subsystem {
 public:
  explicit StoreSubsystem(const ServeOptions& options) : options_(options) {}
  const char* name() const override { return "renkei.store"; }
  void initialize(Poco::Util::Application& app) override;
  void uninitialize() override;

  Host& host() { return *host_; }

 private:
  const ServeOptions& options_;
  std::unique_ptr<Host> host_;
};

/// One part of the host (plugin instances, the pipeline, the API, the admin
/// listener …; Host::parts() lists them in order) as a POCO subsystem:
/// initialised in that order, after the store; uninitialised in reverse,
/// each stopping what its part started (the part's own stop list).
/// Adding a service is one row in Host::parts() and its Host::start…
/// function.
class HostPartSubsystem : public Poco::Util::Subsystem {
 public:
  HostPartSubsystem(const Host::PartInfo& part, const ServeOptions& options) : part_(part), options_(options) {}
  const char* name() const override { return part_.name; }
  void initialize(Poco::Util::Application& app) override;
  void uninitialize() override;

 private:
  const Host::PartInfo& part_;
  const ServeOptions& options_;
  Host* host_ = nullptr;
};

class HostApplication : public Poco::Util::ServerApplication {
 public:
  explicit HostApplication(ServeOptions options);

  /// Exit status of a run whose start-up failed (0 when it did not).
  int startFailureCode() const { return startFailureCode_; }

 protected:
  /// Initialises the subsystems; a failure is kept (not thrown) so that
  /// main() reports it with the right exit status: POCO would map any
  /// exception here to its own EXIT_CONFIG (78).
  void initialize(Poco::Util::Application& self) override;
  int main(const std::vector<std::string>& args) override;

 private:
  /// Stops every part and the store, adopts the checked config and starts
  /// them again (SIGHUP, renkei reload). False when the new start failed
  /// (logged; the process then exits 2).
  bool restartParts();
  /// Stops every part that started and the store, the last first (a
  /// start-up that failed half-way: POCO uninitialises nothing then).
  void stopEverything();

  ServeOptions options_;
  int startFailureCode_ = 0;
  std::string startFailure_;
  StoreSubsystem* store_ = nullptr;
  std::vector<HostPartSubsystem*> parts_;  ///< the host's parts, in start order
};

/// Prints the per-route summary of a host to `out`; returns the number of
/// files that failed or are still pending.
std::uint64_t printSummary(const Host& host, const HostConfig& config, std::ostream& out);

}  // namespace renkei
