// renkei backup [now|list|verify] and renkei restore: see backup.h.
#include "backup_commands.h"

#include <Poco/Logger.h>

#include <iostream>

#include "backup.h"
#include "operator_commands.h"
#include "renkei/local_time.h"
#include "store/store.h"

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

}  // namespace

int runBackupCommand(const std::string& command, const std::string& action,
                     const std::map<std::string, std::string>& values) {
  const std::string name = "renkei " + command + (command == "backup" && action != "now" ? " " + action : "");
  try {
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
      const std::int64_t logged = s->lastOperatorLogId();
      s->logOperatorAction(operatorName(values), "restore",
                           "from " + m.file.filename().string() + " (taken " + localTimeText(m.createdMs) + ")");
      auditOperatorActions(*config, *s, logged);
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
  } catch (const store::StoreMissing& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << name << ": " << e.what() << "\n";
    return kFailed;
  }
}

}  // namespace renkei
