// renkei backup [now|list|verify], renkei restore (see backup.h) and
// renkei migrate [--dry-run]: the store's own upkeep.
#include "backup_commands.h"

#include <Poco/Logger.h>

#include <functional>
#include <iostream>

#include "backup.h"
#include "operator_commands.h"
#include "renkei/local_time.h"
#include "renkei/text.h"
#include "store/sql_db.h"
#include "store/store.h"
#include "version.h"

namespace renkei {
namespace {

constexpr int kOk = 0, kFailed = 1, kUsage = 2;

/// The host's log format (set up by the caller): local time with its offset.
Poco::Logger& commandLogger() {
  Poco::Logger& log = Poco::Logger::get("renkei.backup");
  log.setLevel(Poco::Message::PRIO_NOTICE);
  return log;
}

std::string age(std::int64_t ms) {
  const std::int64_t s = (store::nowMs() - ms) / 1000;
  if (s < 3600) return std::to_string(s / 60) + " min";
  if (s < 2 * 86400) return std::to_string(s / 3600) + " h";
  return std::to_string(s / 86400) + " days";
}

/// Runs one of these commands, its failures said under its name: a store
/// that is not there is a usage problem (exit 2), any other failure exit 1.
int guarded(const std::string& name, const std::function<int()>& work) {
  try {
    return work();
  } catch (const store::StoreMissing& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kFailed;
  }
}

/// One operator action on the store, in its operators' log and the audit trail.
void logAction(const HostConfig& config, store::Store& s, const std::map<std::string, std::string>& values,
               const std::string& action, const std::string& detail) {
  const std::int64_t logged = s.lastOperatorLogId();
  s.logOperatorAction(operatorName(values), action, detail);
  auditOperatorActions(config, s, logged);
}

/// The plugins' own tables and the step each has reached (they migrate
/// themselves when their plugin starts).
std::vector<std::pair<std::string, std::int64_t>> pluginTableVersions(store::SqlDatabase& db) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  try {
    auto st = db.prepare("SELECT component, version FROM renkei_state_versions ORDER BY component");
    while (st->next()) out.emplace_back(st->text(0), st->integer(1));
  } catch (const std::exception&) {
    // none yet: no plugin has kept state in this store
  }
  return out;
}

}  // namespace

int runMigrateCommand(const std::map<std::string, std::string>& values) {
  const std::string name = "renkei migrate";
  const bool dryRun = values.count("--dry-run") > 0;
  return guarded(name, [&]() -> int {
    auto config = operatorConfig(values, name, "the instance whose store it is");
    if (!config) return kUsage;
    store::StoreConfig storeConfig = config->effectiveStore();
    storeConfig.create = false;
    int current = 0;
    std::vector<std::pair<std::string, std::int64_t>> plugins;
    std::string where;
    {
      auto db = store::openDatabase(storeConfig);
      current = db->schemaVersion();
      plugins = pluginTableVersions(*db);
      where = db->describe();
    }
    const int known = store::knownSchemaVersion();
    std::cout << name << ": store " << where << ": schema " << current << "; renkei " << kRenkeiVersion
              << " knows schema " << known << "\n";
    if (current > known) {
      std::cerr << name << ": refused: the store has schema " << current << ", newer than this renkei knows (" << known
                << "): a newer renkei has used it. Run that version (or restore a backup made before the upgrade "
                   "with it: renkei backup list shows each one's schema)\n";
      return kFailed;
    }
    const auto steps = store::migrationSteps(current, storeConfig.driver);
    if (steps.empty()) std::cout << "  the store's schema is up to date: nothing to change\n";
    for (const store::MigrationStep& step : steps) {
      std::cout << "  step " << step.version << ": " << step.summary << "\n";
      if (!dryRun) continue;
      // Each statement on a line of its own, as it would run.
      std::string statement;
      for (char c : step.sql) {
        if (c == ' ' && !statement.empty() && statement.back() == ' ') continue;  // the source's indentation
        statement += c;
        if (c != ';') continue;
        const auto first = statement.find_first_not_of(" \n");
        if (first != std::string::npos) std::cout << "      " << statement.substr(first) << "\n";
        statement.clear();
      }
      if (statement.find_first_not_of(" \n") != std::string::npos)
        std::cout << "      " << statement.substr(statement.find_first_not_of(" \n")) << ";\n";
    }
    if (!plugins.empty()) {
      std::cout << "  plugins' own tables (each plugin brings its own up to date when the host starts it):\n";
      for (const auto& [component, version] : plugins) {
        // Components are the tables' prefix, st_<instance>_.
        std::string id = component;
        if (id.rfind("st_", 0) == 0 && id.size() > 4 && id.back() == '_') id = id.substr(3, id.size() - 4);
        std::cout << "    " << printable(id) << " (tables " << printable(component) << "*): step " << version << "\n";
      }
    }
    if (dryRun) {
      std::cout << "dry run: nothing was changed" << (steps.empty() ? "" : " (renkei migrate without --dry-run, or the "
                                                                          "next renkei serve, runs the steps above)")
                << "\n";
      return kOk;
    }
    if (steps.empty()) return kOk;
    // Each step in its own transaction with the version (a crash leaves a
    // known version); hosts serving meanwhile wait for the schema lock.
    auto s = store::openStore(storeConfig);
    logAction(*config, *s, values, "migrate",
              "schema " + std::to_string(current) + " to " + std::to_string(s->schemaVersion()));
    std::cout << "migrated: schema " << current << " to " << s->schemaVersion() << "\n";
    return kOk;
  });
}

int runBackupCommand(const std::string& command, const std::string& action,
                     const std::map<std::string, std::string>& values) {
  const std::string name = "renkei " + command + (command == "backup" && action != "now" ? " " + action : "");
  return guarded(name, [&]() -> int {
    if (command == "backup" && action == "verify") {
      const std::string file = optionValue(values, "--file");
      if (file.empty()) {
        std::cerr << name << ": --file is required (the backup to check)\n";
        return kUsage;
      }
      backup::verify(file);
      std::cout << file << ": verified (size, SHA-256, integrity, row counts)\n";
      return kOk;
    }
    auto config = operatorConfig(values, name, "the instance whose store it is");
    if (!config) return kUsage;
    store::StoreConfig storeConfig = config->effectiveStore();
    storeConfig.create = false;
    if (command == "restore") {
      const std::string from = optionValue(values, "--from");
      if (from.empty()) {
        std::cerr << name << ": --from is required (the backup file)\n";
        return kUsage;
      }
      const backup::Manifest m = backup::restore(storeConfig, from, commandLogger());
      // Who did it, in the restored store's operator log (and the audit trail).
      auto s = store::openStore(storeConfig);
      logAction(*config, *s, values, "restore",
                "from " + m.file.filename().string() + " (taken " + localTimeText(m.createdMs) + ")");
      std::cout << "restored " << m.file.string() << " (taken " << localTimeText(m.createdMs) << ", schema "
                << m.schema << ") into " << storeConfig.path.string() << "\n";
      return kOk;
    }
    std::filesystem::path folder = optionValue(values, "--to");
    if (folder.empty() && config->backup) folder = config->backup->folder;
    if (folder.empty()) {
      std::cerr << name << ": no <backup folder=\"…\"/> in " << config->file.string() << ": give --to DIR\n";
      return kUsage;
    }
    if (action == "list") {
      const auto all = backup::list(folder);
      std::cout << all.size() << " verified generations in " << folder.string() << "\n";
      for (const auto& m : all)
        std::cout << "  " << m.file.filename().string() << "  " << localTimeText(m.createdMs) << " (" << age(m.createdMs)
                  << " ago)  " << m.bytes << " bytes, schema " << m.schema << "\n";
      return kOk;
    }
    const backup::Manifest m =
        backup::write(storeConfig, config->instance, folder, config->backup ? config->backup->keep : 7, commandLogger());
    std::cout << m.file.string() << ": " << m.bytes << " bytes, " << m.counts.size() << " tables, verified in "
              << m.seconds << " s\n";
    return kOk;
  });
}

}  // namespace renkei
