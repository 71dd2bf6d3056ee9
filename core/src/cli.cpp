// The renkei command line: serve, check, plugins, version.
#include "cli.h"

#include <sys/stat.h>
#include "store/sql_db.h"
#include "store/store.h"

#include <algorithm>
#include <cerrno>
#include <vector>
#include <fstream>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>

#include "formats/reader.h"
#include "mapping/mapping.h"
#include "host_application.h"
#include "log_channel.h"
#include "renkei/text.h"
#include "operator_commands.h"
#include "admin_commands.h"
#include "backup_commands.h"
#include "renkei/support/calendar_file.h"
#include "renkei/support/guidance.h"
#include "plugin_commands.h"
#include "token_commands.h"
#include "renkei/json.h"
#include "renkei/plugin.h"
#include "version.h"

namespace fs = std::filesystem;

namespace renkei {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

const char* const kUsage =
    "usage: renkei <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve --config F [--once]   run the host; --once drains what is waiting and exits\n"
    "  check --config F            check a config, its plugins and routes; lists every problem\n"
    "  map --mapping M --in F [--out O] [--rejects R] [--warnings W] [--key ID=FILE]...\n"
    "                              dry-run a mapping on a file: records out, rejects with reasons,\n"
    "                              warnings by record, field and kind\n"
    "  read --layout L --in F [--out O] [--warnings W]\n"
    "                              read a vendor file with a layout; raw records as JSON Lines\n"
    "  status --config F [--failed-since T] [--max-age D] [--ack NAME|all [--by NAME]]\n"
    "                              queues per route and target: pending, dead letters, ages, last errors;\n"
    "                              exit 3 dead letters, 4 files to error/ since T (24h), 5 a batch waiting over D (1h),\n"
    "                              6 held records (rejected by a mapping on the engine seam, or no route takes them),\n"
    "                              7 the last verified backup older than <backup max-age> (or none)\n"
    "  deadletters list --config F [--route R]\n"
    "  deadletters show --config F --batch ID [--records N]\n"
    "  deadletters resubmit --config F (--batch ID | --route R | --all) [--by NAME]\n"
    "                              dead letters: list them, show one, send them again after a fix\n"
    "  held list --config F [--emitter E] [--route R]\n"
    "  held show --config F --id N [--records]\n"
    "  held resubmit --config F (--id N | --emitter E | --route R | --all) [--by NAME]\n"
    "                              emitted records a mapping rejected or no route takes: list them, show\n"
    "                              one, have the running host take them again after a fix\n"
    "  reload --config F           the running host (serve --config F) reads its config again: checked\n"
    "                              first; with problems it runs on unchanged, else it finishes the item in\n"
    "                              hand and starts again with it (the same as sending it SIGHUP)\n"
    "  replay --config F --route R --since T [--by NAME]\n"
    "                              deliver again what the store holds for a route since T\n"
    "                              (2026-11-22 = local midnight, 2026-11-22T00:00:00Z, or 90m, 2h, 3d back)\n"
    "  reprocess --config F --route R --file NAME [--by NAME]\n"
    "                              take a file in again under the current config (after a layout or\n"
    "                              mapping fix); its records go out again as new batches\n"
    "  admin user add --config F --user ID --groups G[,G…] [--by NAME]\n"
    "                              an operator of the console; prints a one-time password once (changed at\n"
    "                              the first sign-in). No operator exists until this is run\n"
    "  admin user passwd|disable|enable --config F --user ID [--by NAME]\n"
    "                              a new one-time password; sign-in refused or allowed again\n"
    "  admin user totp --config F --user ID [--png F] [--by NAME]\n"
    "                              a new TOTP secret (RFC 6238) to enrol in an authenticator app (QR code);\n"
    "                              required for groups with administer or audit\n"
    "  admin user list --config F  operators, groups, state, last sign-in\n"
    "  audit verify --config F     check every entry of the audit trail and its anchors; names the first\n"
    "                              entry changed, inserted, reordered or deleted (exit 1)\n"
    "  audit export --config F --fiscal-year Y [--out F]\n"
    "                              the trail of fiscal year Y (April to March) as CSV, for a PIA\n"
    "  audit anchor --config F     write the newest entry's seal to the anchor file now\n"
    "  backup --config F [--to DIR]\n"
    "                              back the store up now (the config's <backup folder>, or DIR), verify it,\n"
    "                              keep the newest generations; exit 1 when it failed (the ones before stay)\n"
    "  backup list --config F [--to DIR]   the verified generations, newest first, with their age\n"
    "  backup verify --file F      check a backup against its manifest (size, SHA-256, integrity, counts)\n"
    "  restore --config F --from F [--by NAME]\n"
    "                              put a backup back into a stopped instance's store (refused while it\n"
    "                              serves, for a backup that fails verification or of a newer schema)\n"
    "  migrate --config F [--dry-run] [--by NAME]\n"
    "                              the store's schema steps this renkei would run (with --dry-run their SQL,\n"
    "                              nothing changed), or runs them; a store of a newer renkei is refused\n"
    "  token keygen --out DIR      a key pair for sealed visit tokens; prints the key id only\n"
    "  token make --public-key PUB --payload FILE [--expires 7d] [--png F] [--svg F]\n"
    "                              a token of a JSON file (synthetic data: for testing window systems)\n"
    "  token inspect --text T      a token's header (version, key id, expiry) without opening it\n"
      "  check --knowledge F [--rules F] [--calendar F]\n"
    "                              the concierge's knowledge, rule and calendar files, with file:line\n"
    "  calendar [--calendar F] [--year Y]\n"
    "                              a year with each day's kind (holidays, 年末年始, local days, 土日開庁)\n"
    "  calendar [--calendar F] --from DATE --days N [--rule days|open-days|days-exact]\n"
    "                              a deadline counted on the calendar\n"
    "  <plugin> <action> ...       a plugin's own commands (bridge keygen|pending|approve|reject,\n"
    "                              resident held|release …): `renkei plugins` lists each with its options\n"
    "  plugins                     list the plugins found, with their config keys\n"
    "  version                     print the version\n"
    "\n"
    "options:\n"
    "  --config F        instance config file (XML, urn:renkei:config:1)\n"
    "  --plugin-dir D    plugin directory (default: the config's <plugins>, $RENKEI_PLUGIN_DIR,\n"
    "                    or plugins/ next to the binary)\n"
    "  --log-level L     fatal, critical, error, warning, notice, information, debug, trace\n"
    "  --host-id H       this host's name among hosts sharing a store (default $RENKEI_HOST_ID or\n"
    "                    the machine's name); stable across restarts\n"
    "\n"
    "exit status: 0 done, 1 runtime failure, 2 usage or config error\n";

// Buffered output to a file or stdout.
class OutputFile {
 public:
  ~OutputFile() {
    if (file_ && file_ != stdout) std::fclose(file_);
  }
  bool open(const fs::path& path) {
    file_ = std::fopen(path.c_str(), "wb");
    return file_ != nullptr;
  }
  bool write(std::string_view data) {
    return data.empty() || std::fwrite(data.data(), 1, data.size(), file_) == data.size();
  }
  bool close() {
    const bool ok = std::fflush(file_) == 0;
    if (file_ != stdout) {
      const bool closed = std::fclose(file_) == 0;
      file_ = nullptr;
      return ok && closed;
    }
    return ok;
  }

 private:
  FILE* file_ = stdout;
};

struct Args {
  std::string command;
  std::map<std::string, std::string> values;
  std::vector<std::string> keys;  ///< every --key ID=FILE
  std::string action;             ///< deadletters: list, show or resubmit
  bool once = false;
  std::set<std::string> flags;    ///< options without a value (--all)
  std::vector<std::string> errors;
  bool plugin = false;            ///< not the host's command: a plugin's (its key)
  std::vector<std::string> builtins;  ///< the host's commands, for "did you mean"
};

Args parseArgs(int argc, char** argv) {
  Args a;
  static const std::map<std::string, std::vector<std::string>> kOptions = {
      {"serve", {"--config", "--plugin-dir", "--log-level", "--host-id"}},
      {"status", {"--config", "--failed-since", "--max-age", "--ack", "--by"}},
      {"reload", {"--config"}},
      {"deadletters", {"--config", "--route", "--batch", "--records", "--by"}},
      {"held", {"--config", "--emitter", "--route", "--id", "--by"}},
      {"replay", {"--config", "--route", "--since", "--by"}},
      {"reprocess", {"--config", "--route", "--file", "--by"}},
      {"audit", {"--config", "--fiscal-year", "--out"}},
      {"admin", {"--config", "--user", "--groups", "--by", "--png"}},
      {"token", {"--out", "--text", "--public-key", "--payload", "--expires", "--png", "--svg"}},
      {"calendar", {"--calendar", "--year", "--from", "--days", "--rule"}},
      {"check", {"--config", "--plugin-dir", "--knowledge", "--rules", "--calendar"}},
      {"plugins", {"--plugin-dir"}},
      {"read", {"--layout", "--in", "--out", "--warnings"}},
      {"map", {"--mapping", "--in", "--out", "--rejects", "--warnings", "--key"}},
      {"version", {}},
      {"backup", {"--config", "--to", "--file"}},
      {"restore", {"--config", "--from", "--by"}},
      {"migrate", {"--config", "--by"}},
  };
  if (argc < 2) {
    a.errors.push_back("no command given");
    return a;
  }
  a.command = argv[1];
  auto known = kOptions.find(a.command);
  // Not the host's: a plugin's own command (`renkei bridge pending …`),
  // checked against the plugin's declared verbs when it runs.
  a.plugin = known == kOptions.end();
  if (a.plugin) {
    for (const auto& [c, _] : kOptions) a.builtins.push_back(c);
    if (a.command.empty() || a.command.rfind("-", 0) == 0) {
      a.errors.push_back("unknown command '" + a.command + "'" + didYouMean(a.command, a.builtins));
      return a;
    }
  }
  int first = 2;
  static const std::map<std::string, std::vector<std::string>> kActions = {
      {"deadletters", {"list", "show", "resubmit"}}, {"held", {"list", "show", "resubmit"}},
      {"token", {"keygen", "make", "inspect"}}, {"audit", {"verify", "export", "anchor"}},
      {"backup", {"now", "list", "verify"}}};
  if (a.command == "admin") {
    // renkei admin user <verb> …
    static const std::vector<std::string> kVerbs = {"add", "passwd", "disable", "enable", "list", "totp"};
    if (argc < 4 || std::string(argv[2]) != "user" ||
        std::find(kVerbs.begin(), kVerbs.end(), std::string(argv[3])) == kVerbs.end()) {
      a.errors.push_back("admin: say what to do: admin user " + joinList(kVerbs, "|"));
      return a;
    }
    a.action = argv[3];
    first = 4;
  } else if (a.command == "backup" && (argc < 3 || std::string(argv[2]).rfind("--", 0) == 0)) {
    a.action = "now";  // renkei backup --config F: one now
  } else if (a.plugin && argc >= 3 && std::string(argv[2]).rfind("--", 0) != 0) {
    a.action = argv[2];
    first = 3;
  } else if (auto actions = kActions.find(a.command); actions != kActions.end()) {
    const std::vector<std::string>& valid = actions->second;
    if (argc < 3 || std::string(argv[2]).rfind("--", 0) == 0) {
      a.errors.push_back(a.command + ": say what to do: " + joinList(valid, ", "));
      return a;
    }
    a.action = argv[2];
    if (std::find(valid.begin(), valid.end(), a.action) == valid.end()) {
      a.errors.push_back(a.command + ": unknown action '" + a.action + "'" + didYouMean(a.action, valid) +
                         " actions: " + joinList(valid, ", "));
      return a;
    }
    first = 3;
  }
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool hasValue = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      hasValue = true;
    }
    if (a.command == "migrate" && arg == "--dry-run") {
      a.values["--dry-run"] = "yes";
      continue;
    }
    if (a.command == "serve" && arg == "--once") {
      a.once = true;
      continue;
    }
    if ((a.command == "deadletters" || a.command == "held") && arg == "--all") {
      a.flags.insert(arg);
      continue;
    }
    if (a.command == "held" && arg == "--records") {
      a.flags.insert(arg);
      continue;
    }
    static const std::vector<std::string> kNone;
    const auto& allowed = a.plugin ? kNone : known->second;
    if (!a.plugin && std::find(allowed.begin(), allowed.end(), arg) == allowed.end()) {
      std::vector<std::string> valid = allowed;
      if (a.command == "serve") valid.push_back("--once");
      if (a.command == "deadletters" || a.command == "held") valid.push_back("--all");
      if (a.command == "held") valid.push_back("--records");
      a.errors.push_back(a.command + ": unknown option '" + arg + "'" + didYouMean(arg, valid));
      continue;
    }
    if (!hasValue) {
      if (i + 1 >= argc) {
        a.errors.push_back(a.command + ": option '" + arg + "' needs a value");
        continue;
      }
      value = argv[++i];
    }
    if (arg == "--by" || arg == "--reason") {
      // Who acts, and why: written into the operators' log, the store and
      // note files line by line, so one line of UTF-8 text, bounded.
      const std::size_t limit = arg == "--by" ? 100 : 500;
      const bool control = std::any_of(value.begin(), value.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      });
      if (value.empty() || value.size() > limit || control || firstInvalidUtf8(value) != std::string::npos) {
        a.errors.push_back(a.command + ": " + arg + ": one line of UTF-8 text of 1 to " + std::to_string(limit) +
                           " bytes, without line breaks or control characters");
        continue;
      }
    }
    if (arg == "--key") a.keys.push_back(value);
    else a.values[arg] = value;
  }
  return a;
}

std::optional<fs::path> optionalPath(const Args& a, const std::string& key) {
  auto it = a.values.find(key);
  if (it == a.values.end()) return std::nullopt;
  return fs::path(it->second);
}

void setUpLogging() {
  useTimestampedConsole();
  Poco::Logger::root().setLevel("information");
}

// The running `renkei serve` processes of a config (found in /proc by their
// command line, the config compared by its real path), each sent SIGHUP.
int commandReload(const Args& a) {
  const auto config = optionalPath(a, "--config");
  if (!config) {
    std::cerr << "renkei reload: --config is required\n";
    return kExitUsage;
  }
  std::error_code ec;
  const fs::path wanted = fs::weakly_canonical(fs::absolute(*config), ec);
  int sent = 0;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || std::stoll(pid) == ::getpid()) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
    if (args.size() < 2 || fs::path(args[0]).filename() != "renkei" || args[1] != "serve") continue;
    if (std::find(args.begin(), args.end(), "--once") != args.end()) continue;
    fs::path given;
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "--config" && i + 1 < args.size()) given = args[i + 1];
      else if (args[i].rfind("--config=", 0) == 0) given = args[i].substr(9);
    }
    if (given.empty()) continue;
    std::error_code e2;
    const fs::path cwd = fs::read_symlink(entry.path() / "cwd", e2);
    const fs::path theirs = fs::weakly_canonical(given.is_absolute() ? given : cwd / given, e2);
    if (theirs != wanted) continue;
    if (::kill(static_cast<pid_t>(std::stoll(pid)), SIGHUP) == 0) {
      std::cout << "renkei reload: process " << pid << " (serve --config " << printable(given.string())
                << ") asked to read its config again; its log says what it found\n";
      ++sent;
    } else {
      std::cerr << "renkei reload: process " << pid << ": " << std::strerror(errno) << "\n";
    }
  }
  if (sent == 0) {
    std::cerr << "renkei reload: no running 'renkei serve --config " << printable(config->string())
              << "' found (as this user)\n";
    return kExitRuntime;
  }
  return kExitOk;
}

int commandVersion() {
  std::cout << "renkei " << kRenkeiVersion << " (plugin SDK ABI " << RENKEI_SDK_ABI_VERSION << ")\n";
  return kExitOk;
}

int commandPlugins(const Args& a) {
  PluginRegistry registry;
  const auto dirs = pluginDirectories(optionalPath(a, "--plugin-dir"), std::nullopt);
  registry.scan(dirs);
  std::cout << "plugin directories:";
  for (const auto& d : dirs) std::cout << " " << d.string();
  std::cout << "\n";
  for (const PluginDescriptor& p : registry.plugins()) {
    std::cout << "\n" << p.key << " " << p.version << " (" << p.kind;
    if (!p.roleNames().empty()) std::cout << ": " << p.roleNames();
    std::cout << ") [" << p.status << "]\n  " << p.description << "\n  file: " << p.path.string() << "\n";
    std::cout << "  keys:\n";
    for (const ConfigKeySpec& k : p.keys) {
      std::cout << "    " << k.key << " (" << k.type;
      if (k.required) std::cout << ", required";
      if (k.hasDefault) std::cout << ", default '" << k.defaultValue << "'";
      if (!k.deprecated.empty()) std::cout << ", deprecated";
      std::cout << ")\n      " << k.description << "\n";
      if (!k.deprecated.empty()) std::cout << "      deprecated: " << k.deprecated << "\n";
    }
    if (!p.verbs.empty()) {
      std::cout << "  commands:\n";
      for (const auto& v : p.verbs)
        std::cout << "    renkei " << p.key << " " << v.action << " " << v.usage << "\n      " << v.help << "\n";
    }
  }
  for (const RefusedLibrary& r : registry.refused()) std::cout << "\nrefused: " << r.reason << "\n";
  if (registry.plugins().empty() && registry.refused().empty()) {
    std::cerr << "renkei plugins: no plugin libraries (renkei_*.so) found\n";
    return kExitRuntime;
  }
  return kExitOk;
}

/// `renkei check --knowledge F [--rules F] [--calendar F]`: the concierge's
/// files on their own, with file:line (a config that uses them checks them
/// again when its modules are configured).
int checkGuidanceFiles(const Args& a) {
  Diagnostics diags;
  std::vector<std::string> checked;
  std::shared_ptr<const guidance::Knowledge> knowledge;
  if (auto k = optionalPath(a, "--knowledge")) {
    knowledge = guidance::loadKnowledge(*k, diags);
    checked.push_back(k->string());
    if (auto r = optionalPath(a, "--rules")) {
      if (knowledge) guidance::loadRules(*r, *knowledge, diags);
      checked.push_back(r->string());
    }
  } else if (optionalPath(a, "--rules")) {
    std::cerr << "renkei check: --rules needs --knowledge (rules name its procedures and life events)\n";
    return kExitUsage;
  }
  if (auto c = optionalPath(a, "--calendar")) {
    loadCalendar(*c, diags);
    checked.push_back(c->string());
  }
  if (!diags.empty()) {
    std::cerr << diags.format() << "renkei check: " << diags.size() << (diags.size() == 1 ? " problem\n" : " problems\n");
    return kExitUsage;
  }
  for (const std::string& f : checked) std::cout << "renkei check: " << f << ": ok\n";
  return kExitOk;
}

int commandCheck(const Args& a) {
  if (!a.values.count("--config") &&
      (a.values.count("--knowledge") || a.values.count("--rules") || a.values.count("--calendar")))
    return checkGuidanceFiles(a);
  auto config = optionalPath(a, "--config");
  if (!config) {
    std::cerr << "renkei check: --config is required\n" << kUsage;
    return kExitUsage;
  }
  PluginRegistry registry;
  std::optional<HostConfig> host;
  Diagnostics diags;
  const bool ok = loadAndCheck(*config, optionalPath(a, "--plugin-dir"), registry, host, diags);
  for (const RefusedLibrary& r : registry.refused()) std::cerr << "warning: refused plugin library: " << r.reason << "\n";
  std::cerr << diags.formatWarnings();
  if (!ok) {
    std::cerr << diags.format();
    std::cerr << "renkei check: " << config->string() << ": " << diags.size()
              << (diags.size() == 1 ? " problem\n" : " problems\n");
    return kExitUsage;
  }
  // A PostgreSQL store must answer now (an SQLite store's folder was checked
  // with the config): what `serve` would find at start.
  if (host->store && host->store->driver == "postgresql") {
    try {
      store::openDatabase(host->effectiveStore());
    } catch (const std::exception& e) {
      std::cerr << config->string() << ":" << host->storeLine << ": store: the PostgreSQL server does not answer: "
                << e.what() << "\n";
      std::cerr << "renkei check: " << config->string() << ": 1 problem\n";
      return kExitUsage;
    }
  }
  std::cout << "renkei check: " << config->string() << ": ok (instance " << host->instance << ", zone "
            << host->zone << ", " << host->connectors.size() << " connectors, " << host->modules.size()
            << " modules, " << host->routes.size() << " routes)\n";
  for (const std::string& k : host->keeping) std::cout << "  " << k << "\n";
  return kExitOk;
}

// Streams a file through a layout: accepted records to --out (stdout by
// default), one line per problem record to stderr, a summary line last.
int commandRead(const Args& a) {
  auto layoutPath = optionalPath(a, "--layout");
  auto input = optionalPath(a, "--in");
  if (!layoutPath || !input) {
    std::cerr << "renkei read: --layout and --in are required\n" << kUsage;
    return kExitUsage;
  }
  Diagnostics diags;
  auto layout = formats::loadLayout(*layoutPath, diags);
  std::cerr << diags.formatWarnings();
  if (!layout) {
    std::cerr << diags.format() << "renkei read: the layout has problems; nothing was read\n";
    return kExitUsage;
  }
  std::unique_ptr<formats::RecordReader> reader;
  try {
    reader = formats::RecordReader::open(*layout, *input);
  } catch (const std::exception& e) {
    std::cerr << "renkei read: " << e.what() << "\n";
    return kExitRuntime;
  }
  OutputFile out;
  if (auto o = optionalPath(a, "--out")) {
    if (!out.open(*o)) {
      std::cerr << "renkei read: cannot write '" << o->string() << "': " << std::strerror(errno) << "\n";
      return kExitRuntime;
    }
  }
  OutputFile warningsOut;
  const auto warningsPath = optionalPath(a, "--warnings");
  if (warningsPath && !warningsOut.open(*warningsPath)) {
    std::cerr << "renkei read: cannot write '" << warningsPath->string() << "': " << std::strerror(errno) << "\n";
    return kExitRuntime;
  }
  std::vector<std::string> names;
  for (const auto& f : layout->fields) names.push_back(f.name);
  const formats::JsonLinesWriter writer(names);
  formats::RawRecord raw;
  formats::ByteArena buffer;
  std::vector<mapping::RecordWarning> warnings;
  std::string warningLines;
  std::uint64_t warningRecords = 0;
  bool warningsWritten = true;
  while (reader->next(raw)) {
    if (!raw.errors.empty()) {
      std::cerr << input->string() << ": " << formats::describeRejected(raw) << "\n";
      continue;
    }
    warnings.clear();
    mapping::appendReaderWarnings(*layout, raw, warnings);
    if (!warnings.empty() && warningsPath && warningRecords++ < mapping::MapRun::kMaxWarningLines) {
      mapping::appendWarningLine(warningLines, raw, warnings);
      if (warningLines.size() >= (1 << 16)) {
        warningsWritten = warningsWritten && warningsOut.write(warningLines);
        warningLines.clear();
      }
    }
    writer.append(buffer, raw);
    if (buffer.size() >= (1 << 20)) {
      if (!out.write({buffer.data(), buffer.size()})) break;
      buffer.clear();
    }
  }
  bool written = out.write({buffer.data(), buffer.size()}) && out.close();
  if (warningsPath) written = warningsWritten && warningsOut.write(warningLines) && warningsOut.close() && written;
  const auto& t = reader->totals();
  if (reader->error())
    std::cerr << input->string() << ": " << reader->error()->format() << "\n";
  std::cerr << "renkei read: " << t.records << " records, " << (t.records - t.rejected) << " read, " << t.rejected
            << " with errors, " << t.substituted << " invalid sequences substituted, 外字 " << t.gaijiMapped
            << " mapped / " << t.gaijiUnmapped << " unmapped, " << warningRecords << " records with warnings"
            << (reader->error() ? "; the file is unusable" : "")
            << "\n";
  if (!written) {
    std::cerr << "renkei read: writing the output failed: " << std::strerror(errno) << "\n";
    return kExitRuntime;
  }
  return reader->error() ? kExitRuntime : kExitOk;
}

// --key ID=FILE, as many as the mapping needs.
bool loadKeys(const std::vector<std::string>& specs, mapping::KeyRing& keys) {
  for (const std::string& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "renkei: --key '" << spec << "': write --key ID=FILE\n";
      return false;
    }
    const std::string id = spec.substr(0, eq), file = spec.substr(eq + 1);
    std::string key;
    if (auto error = mapping::readKeyFile(file, key)) {
      std::cerr << "renkei: --key " << id << ": " << *error << "\n";
      return false;
    }
    keys[id] = key;
  }
  return true;
}

// The dry run IT staff use before deploying a mapping: accepted records as
// JSON Lines, rejected ones with record number, byte offset and reasons.
int commandMap(const Args& a) {
  auto mappingPath = optionalPath(a, "--mapping");
  auto input = optionalPath(a, "--in");
  if (!mappingPath || !input) {
    std::cerr << "renkei map: --mapping and --in are required\n" << kUsage;
    return kExitUsage;
  }
  mapping::KeyRing keys;
  if (!loadKeys(a.keys, keys)) return kExitUsage;
  Diagnostics diags;
  auto compiled = mapping::loadMapping(*mappingPath, keys, diags);
  std::cerr << diags.formatWarnings();
  if (!compiled) {
    std::cerr << diags.format() << "renkei map: the mapping has problems; nothing was mapped\n";
    return kExitUsage;
  }
  const formats::Layout& layout = *compiled->layout;
  std::unique_ptr<formats::RecordReader> reader;
  try {
    reader = formats::RecordReader::open(layout, *input);
  } catch (const std::exception& e) {
    std::cerr << "renkei map: " << e.what() << "\n";
    return kExitRuntime;
  }
  OutputFile out, rejects, warningsOut;
  bool haveRejects = false;
  const auto warningsPath = optionalPath(a, "--warnings");
  if (warningsPath && !warningsOut.open(*warningsPath)) {
    std::cerr << "renkei map: cannot write '" << warningsPath->string() << "': " << std::strerror(errno) << "\n";
    return kExitRuntime;
  }
  if (auto o = optionalPath(a, "--out"); o && !out.open(*o)) {
    std::cerr << "renkei map: cannot write '" << o->string() << "': " << std::strerror(errno) << "\n";
    return kExitRuntime;
  }
  if (auto r = optionalPath(a, "--rejects")) {
    if (!rejects.open(*r)) {
      std::cerr << "renkei map: cannot write '" << r->string() << "': " << std::strerror(errno) << "\n";
      return kExitRuntime;
    }
    haveRejects = true;
  }
  reader->setFieldMask(compiled->sourceFieldsRead());
  const formats::JsonLinesWriter writer(compiled->targetNames());
  mapping::MapRun run(*compiled);
  formats::RawRecord raw;
  formats::ByteArena buffer;
  bool ok = true;
  while (ok && reader->next(raw)) {
    if (run.step(raw) == mapping::Verdict::Accepted) {
      writer.append(buffer, run.record().values);
      if (buffer.size() >= (1 << 20)) {
        ok = out.write({buffer.data(), buffer.size()});
        buffer.clear();
      }
    }
    if (run.rejects().size() >= (1 << 16)) {
      if (haveRejects) ok = ok && rejects.write(run.rejects());
      run.rejects().clear();
    }
    if (run.warningLines().size() >= (1 << 16)) {
      if (warningsPath) ok = ok && warningsOut.write(run.warningLines());
      run.warningLines().clear();
    }
  }
  ok = ok && out.write({buffer.data(), buffer.size()}) && out.close();
  if (haveRejects) ok = rejects.write(run.rejects()) && rejects.close() && ok;
  if (warningsPath) ok = warningsOut.write(run.warningLines()) && warningsOut.close() && ok;
  if (reader->error()) std::cerr << input->string() << ": " << reader->error()->format() << "\n";
  std::cerr << "renkei map: " << run.read << " read, " << run.accepted << " accepted, " << run.rejected
            << " rejected, " << run.skipped << " skipped, " << run.describeWarnings()
            << (run.recordsWithWarnings > mapping::MapRun::kMaxWarningLines
                    ? "; the warnings file lists the first " + std::to_string(mapping::MapRun::kMaxWarningLines) +
                          " records with warnings"
                    : std::string())
            << (reader->error() ? "; the file is unusable" : "") << "\n";
  if (!ok) {
    std::cerr << "renkei map: writing the output failed: " << std::strerror(errno) << "\n";
    return kExitRuntime;
  }
  return reader->error() ? kExitRuntime : kExitOk;
}

int commandServe(const Args& a) {
  ServeOptions options;
  auto config = optionalPath(a, "--config");
  if (!config) {
    std::cerr << "renkei serve: --config is required\n" << kUsage;
    return kExitUsage;
  }
  options.config = *config;
  options.pluginDir = optionalPath(a, "--plugin-dir");
  if (auto it = a.values.find("--log-level"); it != a.values.end()) {
    try {
      Poco::Logger::parseLevel(it->second);
    } catch (const Poco::Exception&) {
      std::cerr << "renkei serve: --log-level '" << it->second
                << "' is not one of: fatal, critical, error, warning, notice, information, debug, trace\n";
      return kExitUsage;
    }
    options.logLevel = it->second;
  }
  options.once = a.once;
  if (auto it = a.values.find("--host-id"); it != a.values.end()) options.hostId = it->second;
  try {
    HostApplication app(options);
    return app.run(std::vector<std::string>{"renkei"});
  } catch (const Poco::Exception& e) {
    std::cerr << "renkei serve: " << e.displayText() << "\n";
    return kExitRuntime;
  } catch (const std::exception& e) {
    std::cerr << "renkei serve: " << e.what() << "\n";
    return kExitRuntime;
  }
}

}  // namespace

int runCli(int argc, char** argv) {
  // What renkei writes (the store, spools, rejects, sink files, reason files,
  // keys) is readable by renkei alone, whatever umask it was started with;
  // files meant for others (public keys) are given their mode explicitly.
  ::umask(077);
  setUpLogging();
  if (argc >= 2) {
    const std::string first = argv[1];
    if (first == "--help" || first == "-h" || first == "help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (first == "--version") return commandVersion();
  }
  Args a = parseArgs(argc, argv);
  if (!a.errors.empty()) {
    for (const auto& e : a.errors) std::cerr << "renkei: " << e << "\n";
    std::cerr << kUsage;
    return kExitUsage;
  }
  if (a.command == "version") return commandVersion();
  if (a.command == "reload") return commandReload(a);
  if (a.command == "plugins") return commandPlugins(a);
  if (a.command == "check") return commandCheck(a);
  if (a.command == "read") return commandRead(a);
  if (a.command == "map") return commandMap(a);
  if (a.command == "token") return runTokenCommand(a.action, a.values);
  if (a.command == "calendar") return runCalendarCommand(a.values);
  // A plugin's own command (Connector::operate), checked against its verbs.
  if (a.plugin) return runPluginCommand(a.command, a.action, a.values, a.builtins);
  if (a.command == "admin") return runAdminCommand(a.action, a.values);
  if (a.command == "migrate") {
    setUpLogging();
    return runMigrateCommand(a.values);
  }
  if (a.command == "backup" || a.command == "restore") {
    setUpLogging();  // their notices timestamped like the host's
    return runBackupCommand(a.command, a.action, a.values);
  }
  if (a.command == "status" || a.command == "deadletters" || a.command == "held" || a.command == "replay" ||
      a.command == "reprocess" || a.command == "audit")
    return runOperatorCommand(a.command, a.action, a.values, a.flags);
  return commandServe(a);
}

}  // namespace renkei
