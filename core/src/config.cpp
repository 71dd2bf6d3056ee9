// Instance config: libxml2 parse, XSD validation, semantic checks.
#include "config.h"

#include <arpa/inet.h>
#include <sstream>
#include "audit_key.h"
#include "operators.h"
#include "host_sections.h"

#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <sys/stat.h>

#include <libxml/tree.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "renkei/connection_string.h"
#include "schemas.h"
#include "local_time.h"
#include "setting_types.h"
#include "renkei/support/xml_document.h"

namespace fs = std::filesystem;

namespace renkei {
namespace {

constexpr const char* kNamespace = "urn:renkei:config:1";

using xml::attr;
using xml::hasAttr;
using xml::lineOf;
using xml::name;
using xml::text;

bool inNamespace(xmlNodePtr node) { return xml::inNamespace(node, kNamespace); }

InstanceConfig readInstance(xmlNodePtr node) {
  InstanceConfig inst;
  inst.element = name(node);
  inst.id = attr(node, "id");
  inst.plugin = attr(node, "plugin");
  inst.line = lineOf(node);
  for (xmlNodePtr child = node->children; child; child = child->next) {
    if (child->type != XML_ELEMENT_NODE) continue;
    inst.texts.push_back({name(child), text(child), lineOf(child)});
  }
  return inst;
}

std::string describe(const InstanceConfig& inst) {
  return inst.element + " '" + inst.id + "'" + (inst.descriptor ? " (" + inst.plugin + ")" : std::string());
}

}  // namespace

store::StoreConfig HostConfig::effectiveStore() const {
  if (store) return *store;
  store::StoreConfig sc;
  sc.path = directory / ("renkei-" + instance + ".db");
  return sc;
}

std::filesystem::path HostConfig::effectiveSpool() const {
  if (!spool.empty()) return spool;
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? std::filesystem::path(tmp) : std::filesystem::path("/tmp");
}

const InstanceConfig* HostConfig::findConnector(const std::string& id) const {
  for (const auto& c : connectors)
    if (c.id == id) return &c;
  return nullptr;
}

const SubscriptionConfig* HostConfig::findSubscription(const std::string& id) const {
  for (const auto& s : subscriptions)
    if (s.id == id) return &s;
  return nullptr;
}

const InstanceConfig* HostConfig::findModule(const std::string& id) const {
  for (const auto& m : modules)
    if (m.id == id) return &m;
  return nullptr;
}

namespace {

// <pipeline>: read through its key table (host_sections.cpp), defaults
// included when the element is absent.
void applyPipeline(HostConfig& config, xmlNodePtr node, Diagnostics& diags) {
  const std::string file = config.file.string();
  const int line = node ? static_cast<int>(xmlGetLineNo(node)) : 0;
  const Settings p = readSection(node, "pipeline", pipelineKeys(), config.directory, file, diags);
  auto positive = [&](const char* key) -> std::int64_t {
    const std::int64_t v = p.getInt(key);
    if (v > 0) return v;
    diags.add(file, line, std::string("pipeline: ") + key + ": must be at least 1");
    return 1;
  };
  config.pollInterval = p.getDuration("poll-interval");
  config.batchRecords = static_cast<std::size_t>(positive("batch-records"));
  config.maxAttempts = static_cast<int>(positive("max-attempts"));
  config.maxOutboxRecords = positive("max-outbox-records");
  config.intakeThreads = static_cast<std::size_t>(positive("intake-threads"));
  if (config.intakeThreads > 16) {
    diags.add(file, line, "pipeline: intake-threads: at most 16");
    config.intakeThreads = 16;
  }
  config.deliveryThreads = static_cast<std::size_t>(positive("delivery-threads"));
  if (config.deliveryThreads > 32) {
    diags.add(file, line, "pipeline: delivery-threads: at most 32");
    config.deliveryThreads = 32;
  }
  config.retryInitial = p.getDuration("retry-initial");
  config.retryMax = p.getDuration("retry-max");
  config.lease = p.getDuration("lease");
  config.retainDelivered = p.getDuration("retain-delivered");
  if (p.has("spool")) {
    config.spool = p.getPath("spool");
    config.spoolLine = line;
  }
  if (config.lease < std::chrono::seconds(5))
    diags.add(file, line, "pipeline: lease: must be at least 5s (hosts renew it while they work)");
}

std::vector<std::string> splitSpaces(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// "10.0.0.0/8", "192.168.1.7/32", "::1/128": an address and a prefix length.
bool validCidr(const std::string& block) {
  const std::size_t slash = block.find('/');
  if (slash == std::string::npos || slash + 1 >= block.size() || block.size() - slash > 4) return false;
  const std::string address = block.substr(0, slash), bits = block.substr(slash + 1);
  if (bits.find_first_not_of("0123456789") != std::string::npos) return false;
  const int n = std::stoi(bits);
  unsigned char buf[16];
  if (inet_pton(AF_INET, address.c_str(), buf) == 1) return n <= 32;
  if (inet_pton(AF_INET6, address.c_str(), buf) == 1) return n <= 128;
  return false;
}

void applyAdmin(HostConfig& config, xmlNodePtr node, Diagnostics& diags) {
  if (!node) return;
  const std::string file = config.file.string();
  const Settings a = readSection(node, "admin", adminKeys(), config.directory, file, diags);
  AdminConfig admin;
  admin.line = static_cast<int>(xmlGetLineNo(node));
  admin.address = a.getString("address");
  const std::int64_t port = a.getInt("port");
  if (port < 0 || port > 65535) diags.add(file, admin.line, "admin: port: " + std::to_string(port) + " is no port");
  else admin.port = static_cast<int>(port);
  if (a.has("certificate")) admin.certificate = a.getPath("certificate");
  if (a.has("key")) admin.key = a.getPath("key");
  if (admin.certificate.empty() != admin.key.empty())
    diags.add(file, admin.line,
              "admin: HTTPS needs both certificate=\"…\" and key=\"…\" (or neither, for plain HTTP on loopback)");
  for (const fs::path* p : {&admin.certificate, &admin.key}) {
    if (p->empty()) continue;
    if (auto why = unreadableFile(*p))
      diags.add(file, admin.line, std::string("admin: ") + (p == &admin.key ? "key" : "certificate") + " '" +
                                      p->string() + "' " + *why);
  }
  if (!admin.key.empty())
    if (auto why = notPrivate(admin.key)) diags.add(file, admin.line, "admin: key '" + admin.key.string() + "' " + *why);
  if (admin.certificate.empty() && admin.address != "127.0.0.1" && admin.address != "::1" &&
      admin.address != "localhost")
    diags.add(file, admin.line,
              "admin: address '" + admin.address +
                  "' is not loopback; off the machine the admin listener needs HTTPS (certificate=\"…\" key=\"…\")");
  admin.sessionIdle = a.getDuration("session-idle");
  if (admin.sessionIdle < std::chrono::seconds(10) || admin.sessionIdle > std::chrono::hours(12))
    diags.add(file, admin.line, "admin: session-idle: between 10s and 12h");
  const std::int64_t failures = a.getInt("max-failures");
  if (failures < 1 || failures > 100) diags.add(file, admin.line, "admin: max-failures: 1 to 100");
  else admin.maxFailures = static_cast<int>(failures);
  admin.lockout = a.getDuration("lockout");
  if (admin.lockout < std::chrono::minutes(1)) diags.add(file, admin.line, "admin: lockout: at least 1m");
  for (std::string block : splitSpaces(a.getString("allow"))) {
    if (!validCidr(block)) {
      diags.add(file, admin.line, "admin: allow: '" + block + "' is not an address block like 10.0.0.0/8 or ::1/128");
      continue;
    }
    admin.allow.push_back(block);
  }
  // <group name="…" permissions="…"/>: what each group of operators may do.
  for (xmlNodePtr g = node->children; g; g = g->next) {
    if (g->type != XML_ELEMENT_NODE || std::string(reinterpret_cast<const char*>(g->name)) != "group") continue;
    const int line = static_cast<int>(xmlGetLineNo(g));
    const std::string name = attr(g, "name");
    if (admin.groups.count(name)) {
      diags.add(file, line, "admin: group '" + name + "' is given twice (first at line " +
                                std::to_string(admin.groupLines[name]) + ")");
      continue;
    }
    std::set<std::string> permissions;
    for (const std::string& p : splitSpaces(attr(g, "permissions"))) permissions.insert(p);
    if (permissions.empty()) diags.add(file, line, "admin: group '" + name + "' permits nothing (permissions=\"view …\")");
    admin.groups[name] = permissions;
    admin.groupLines[name] = line;
  }
  config.admin = admin;
}


// One reader per element of the config: each fills its part of `config`
// and reports what it cannot read with the element's line.
void readApi(HostConfig& config, xmlNodePtr node, Diagnostics& diags) {
  const std::string file = config.file.string();
  const Settings a = readSection(node, "api", apiKeys(), config.directory, file, diags);
  ApiConfig api;
  api.line = lineOf(node);
  // Numbers out of range: refused with the range, unless the schema or the
  // type already named the attribute at this line.
  auto number = [&](const char* key, std::int64_t min, std::int64_t max, int& out) {
    const std::int64_t v = a.getInt(key);
    if (v >= min && v <= max) out = static_cast<int>(v);
    else if (!reportedAt(diags, api.line, key))
      diags.add(file, api.line, std::string("api: ") + key + ": '" + std::to_string(v) + "' is not a number from " +
                                    std::to_string(min) + " to " + std::to_string(max));
  };
  api.address = a.getString("address");
  number("port", 0, 65535, api.port);
  number("max-connections", 1, 100000, api.maxConnections);
  number("max-handshakes", 1, 10000, api.maxHandshakes);
  number("max-handshakes-per-address", 1, 10000, api.maxHandshakesPerAddress);
  std::istringstream clients(a.getString("clients"));
  for (std::string c; clients >> c;) api.clients.push_back(c);
  api.idleTimeout = a.getDuration("idle-timeout");
  api.handshakeTimeout = a.getDuration("handshake-timeout");
  if (api.handshakeTimeout.count() <= 0) diags.add(file, api.line, "api: handshake-timeout: must be more than 0s");
  for (auto [key, out] : {std::pair<const char*, fs::path*>{"certificate", &api.certificate}, {"key", &api.key},
                          {"client-ca", &api.clientCa}, {"crl", &api.crl}})
    if (a.has(key)) *out = a.getPath(key);
  for (xmlNodePtr c = node->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || std::string(reinterpret_cast<const char*>(c->name)) != "client") continue;
    const std::string name = attr(c, "name");
    std::set<std::string> permissions;
    for (const std::string& p : splitSpaces(attr(c, "permissions"))) permissions.insert(p);
    if (!api.clientPermissions.emplace(name, permissions).second)
      diags.add(file, static_cast<int>(xmlGetLineNo(c)), "api: client '" + name + "' is given twice");
    // A client with permissions is a client allowed in.
    if (!api.clients.empty() && std::find(api.clients.begin(), api.clients.end(), name) == api.clients.end())
      api.clients.push_back(name);
  }
  config.api = api;
}

void readSubscription(HostConfig& config, xmlNodePtr node, Diagnostics& diags) {
  const std::string fileName = config.file.string();
  SubscriptionConfig sub;
  sub.id = attr(node, "id");
  sub.line = lineOf(node);
  std::istringstream clients(attr(node, "clients"));
  for (std::string c; clients >> c;) sub.clients.push_back(c);
  if (hasAttr(node, "ack-timeout")) {
    Settings::Value v;
    if (auto err = parseSettingValue("duration", attr(node, "ack-timeout"), config.directory, v))
      diags.add(fileName, sub.line, "subscription '" + sub.id + "': ack-timeout: " + *err);
    else
      sub.ackTimeout = std::get<std::chrono::milliseconds>(v);
  }
  config.subscriptions.push_back(std::move(sub));
}

void readStore(HostConfig& config, xmlNodePtr node, Diagnostics& diags) {
  const Settings st = readSection(node, "store", storeKeys(), config.directory, config.file.string(), diags);
  store::StoreConfig sc;
  sc.driver = st.has("driver") ? st.getString("driver") : std::string();
  if (st.has("path")) sc.path = st.getPath("path");
  sc.fullSync = st.getString("synchronous") != "normal";
  if (st.has("connection")) sc.connection = st.getString("connection");
  if (st.has("password-file")) sc.passwordFile = st.getPath("password-file");
  config.store = sc;
  config.storeLine = lineOf(node);
}

void readRoute(HostConfig& config, xmlNodePtr node) {
  RouteConfig route;
  route.id = attr(node, "id");
  route.from = attr(node, "from");
  route.records = attr(node, "records");
  if (hasAttr(node, "problem-rejects")) {
    // "N%" (the schema checked the shape).
    const std::string v = attr(node, "problem-rejects");
    route.problemRejects = std::atoi(v.c_str());
  }
  route.line = lineOf(node);
  if (hasAttr(node, "mapping")) {
    fs::path m(attr(node, "mapping"));
    route.mappingFile = m.is_relative() ? (config.directory / m).lexically_normal() : m;
  }
  if (hasAttr(node, "layout")) {
    fs::path l(attr(node, "layout"));
    route.layoutFile = l.is_relative() ? (config.directory / l).lexically_normal() : l;
  }
  std::string to = attr(node, "to");
  std::size_t start = 0;
  while (start < to.size()) {
    std::size_t end = to.find_first_of(" \t\r\n", start);
    if (end == std::string::npos) end = to.size();
    if (end > start) route.to.push_back(to.substr(start, end - start));
    start = end + 1;
  }
  config.routes.push_back(std::move(route));
}

}  // namespace

std::optional<HostConfig> loadConfig(const fs::path& file, Diagnostics& diags) {
  const std::string fileName = file.string();
  xml::DocPtr doc = xml::load(file, kConfigSchema, kNamespace, "renkei", "config", diags);
  if (!doc) return std::nullopt;
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  std::error_code ec;

  HostConfig config;
  config.file = file;
  config.directory = fs::absolute(file, ec).parent_path();
  config.instance = attr(root, "instance");
  config.zone = attr(root, "zone");
  config.rootLine = lineOf(root);
  if (hasAttr(root, "time-zone")) config.timeZone = attr(root, "time-zone");
  xmlNodePtr pipelineNode = nullptr, adminNode = nullptr;
  // Elements come in any order; these at most once.
  static const std::set<std::string> kOnce = {"plugins", "log", "pipeline", "store", "admin", "api", "calendar", "audit",
                                             "backup", "notify"};
  std::map<std::string, int> seenOnce;
  for (xmlNodePtr node = root->children; node; node = node->next) {
    if (node->type != XML_ELEMENT_NODE || !inNamespace(node)) continue;
    const std::string element = name(node);
    if (kOnce.count(element)) {
      auto [it, inserted] = seenOnce.emplace(element, lineOf(node));
      if (!inserted) {
        diags.add(file.string(), lineOf(node),
                  "<" + element + "> is given twice (first at line " + std::to_string(it->second) + "); give it once");
        continue;
      }
    }
    if (element == "plugins") {
      const std::string dir = attr(node, "directory");
      if (!dir.empty()) {
        fs::path p(dir);
        config.pluginDirectory = p.is_absolute() ? p : (config.directory / p).lexically_normal();
        config.pluginDirectoryLine = lineOf(node);
      }
    } else if (element == "log") {
      if (hasAttr(node, "level")) config.logLevel = attr(node, "level");
    } else if (element == "pipeline") {
      pipelineNode = node;
    } else if (element == "admin") {
      adminNode = node;
    } else if (element == "audit") {
      AuditConfig a;
      a.line = lineOf(node);
      const auto path = [&](const char* name) {
        const fs::path p(attr(node, name));
        return p.is_absolute() ? p : (config.directory / p).lexically_normal();
      };
      a.keyFile = path("key-file");
      a.anchorFile = path("anchor-file");
      if (hasAttr(node, "keep-fiscal-years")) {
        try {
          a.keepFiscalYears = std::stoi(attr(node, "keep-fiscal-years"));
        } catch (const std::exception&) {
          a.keepFiscalYears = 0;
        }
      }
      config.audit = a;
    } else if (element == "backup") {
      const Settings k = readSection(node, "backup", backupKeys(), config.directory, file, diags);
      backup::Schedule b;
      b.line = lineOf(node);
      if (k.has("folder")) b.folder = k.getPath("folder");
      else diags.add(file, b.line, "backup: folder: where the generations are kept (required)");
      const std::string at = k.getString("at");
      const bool digits = at.size() == 5 && at[2] == ':' &&
                          std::all_of(at.begin(), at.end(), [](char c) { return c == ':' || (c >= '0' && c <= '9'); });
      if (!digits || std::stoi(at.substr(0, 2)) > 23 || std::stoi(at.substr(3, 2)) > 59)
        diags.add(file, b.line, "backup: at: a time of day, HH:MM (e.g. 02:00)");
      else b.hour = std::stoi(at.substr(0, 2)), b.minute = std::stoi(at.substr(3, 2));
      b.openDaysOnly = k.getString("days") == "open";
      const std::int64_t keep = k.getInt("keep");
      if (keep < 1 || keep > 366) diags.add(file, b.line, "backup: keep: 1 to 366 generations");
      else b.keep = static_cast<int>(keep);
      b.maxAge = k.getDuration("max-age");
      if (b.maxAge < std::chrono::hours(1)) diags.add(file, b.line, "backup: max-age: 1h or more (e.g. 26h)");
      config.backup = b;
    } else if (element == "notify") {
      const Settings k = readSection(node, "notify", notifyKeys(), config.directory, file, diags);
      NotifyConfig n;
      n.line = lineOf(node);
      n.check = k.getDuration("check");
      if (n.check < std::chrono::seconds(1) || n.check > std::chrono::hours(1))
        diags.add(file, n.line, "notify: check: 1s to 1h (e.g. 1m)");
      n.interval = k.getDuration("interval");
      if (n.interval < std::chrono::minutes(1) || n.interval > std::chrono::hours(7 * 24))
        diags.add(file, n.line, "notify: interval: 1m to 7d (e.g. 1h)");
      n.outboxAge = k.getDuration("outbox-age");
      if (n.outboxAge < std::chrono::minutes(1)) diags.add(file, n.line, "notify: outbox-age: 1m or more");
      n.lookBack = k.getDuration("look-back");
      if (n.lookBack < std::chrono::hours(1)) diags.add(file, n.line, "notify: look-back: 1h or more (e.g. 7d)");
      n.recipient = k.getString("recipient");
      if (n.recipient.empty()) diags.add(file, n.line, "notify: recipient: a name the mail connector's recipients lists");
      const std::int64_t disk = k.getInt("disk-free");
      if (disk < 1 || disk > 90) diags.add(file, n.line, "notify: disk-free: a percent, 1 to 90");
      else n.diskFreePercent = static_cast<int>(disk);
      const std::int64_t days = k.getInt("certificate-days");
      if (days < 1 || days > 365) diags.add(file, n.line, "notify: certificate-days: 1 to 365");
      else n.certificateDays = static_cast<int>(days);
      config.notify = n;
    } else if (element == "calendar") {
      fs::path p(attr(node, "file"));
      config.calendarFile = p.is_absolute() ? p : (config.directory / p).lexically_normal();
      config.calendarLine = lineOf(node);
    } else if (element == "api") {
      readApi(config, node, diags);
    } else if (element == "subscription") {
      readSubscription(config, node, diags);
    } else if (element == "connector") {
      config.connectors.push_back(readInstance(node));
    } else if (element == "module") {
      config.modules.push_back(readInstance(node));
    } else if (element == "store") {
      readStore(config, node, diags);
    } else if (element == "key") {
      fs::path keyFile(attr(node, "file"));
      if (keyFile.is_relative()) keyFile = (config.directory / keyFile).lexically_normal();
      config.keys.push_back({attr(node, "id"), keyFile, lineOf(node)});
    } else if (element == "route") {
      readRoute(config, node);

    }
  }
  applyPipeline(config, pipelineNode, diags);
  applyAdmin(config, adminNode, diags);
  return config;
}

namespace {

/// The checks of checkConfig, one method per part of the config. Each
/// reports into `diags` with the config's file and the element's line.
class ConfigChecker {
 public:
  ConfigChecker(HostConfig& config, const PluginRegistry& registry, Diagnostics& diags)
      : config(config), registry(registry), diags(diags), file(config.file.string()), pluginKeys(registry.keys()) {}

  void spool() {
    // Intake copies every file into the spool folder before reading it.
    if (!config.spool.empty()) {
      struct stat st {};
      if (::stat(config.spool.c_str(), &st) != 0)
        diags.add(file, config.spoolLine,
                  "pipeline: spool: folder '" + config.spool.string() + "': " + std::strerror(errno));
      else if (!S_ISDIR(st.st_mode))
        diags.add(file, config.spoolLine, "pipeline: spool: '" + config.spool.string() + "' is not a folder");
      else if (::access(config.spool.c_str(), W_OK | X_OK) != 0)
        diags.add(file, config.spoolLine,
                  "pipeline: spool: folder '" + config.spool.string() + "' is not writable: " + std::strerror(errno));
    }
  }

  /// An instance's plugin: known, of the right kind, its settings typed.
  void instance(InstanceConfig& inst) {
    requireAttribute(inst.line, "<" + inst.element + ">", "id", inst.id);
    requireAttribute(inst.line, inst.element + " '" + inst.id + "'", "plugin", inst.plugin);
    checkId(inst);
    if (inst.plugin.empty()) return;
    const PluginDescriptor* d = registry.find(inst.plugin);
    if (!d) {
      diags.add(file, inst.line,
                inst.element + " '" + inst.id + "': unknown plugin '" + inst.plugin + "'" +
                    didYouMean(inst.plugin, pluginKeys) + " known plugins: " +
                    (pluginKeys.empty() ? std::string("(none found)") : joinList(pluginKeys)));
      return;
    }
    if (d->kind != inst.element) {
      diags.add(file, inst.line,
                inst.element + " '" + inst.id + "': plugin '" + inst.plugin + "' is a " + d->kind +
                    "; declare it as <" + d->kind + ">");
      return;
    }
    inst.descriptor = d;
    settings(inst, *d);
  }

  void subscriptions() {
    for (const SubscriptionConfig& sub : config.subscriptions) {
      auto [it, inserted] = seen.emplace(sub.id, sub.line);
      if (!inserted)
        diags.add(file, sub.line,
                  "duplicate id '" + sub.id + "' (first defined at line " + std::to_string(it->second) + ")");
      if (!config.api)
        diags.add(file, sub.line,
                  "subscription '" + sub.id + "': window systems pull it through the API, but there is no <api>");
      if (sub.clients.empty())
        diags.add(file, sub.line,
                  "subscription '" + sub.id + "': clients=\"…\" must name at least one client certificate (its CN)");
      if (config.api && !config.api->clients.empty())
        for (const std::string& c : sub.clients)
          if (std::find(config.api->clients.begin(), config.api->clients.end(), c) == config.api->clients.end())
            diags.add(file, sub.line,
                      "subscription '" + sub.id + "': client '" + c + "' is not among <api clients=\"…\">, so it "
                      "could never connect");
      if (sub.ackTimeout < std::chrono::seconds(1))
        diags.add(file, sub.line, "subscription '" + sub.id + "': ack-timeout must be at least 1s");
    }
  }

  void api() {
    if (config.api) {
      auto exists = [&](const fs::path& p, const char* what) {
        if (p.empty()) return;
        if (auto why = unreadableFile(p))
          diags.add(file, config.api->line, std::string("api: ") + what + " '" + p.string() + "' " + *why);
      };
      exists(config.api->certificate, "certificate");
      exists(config.api->key, "key");
      if (auto why = config.api->key.empty() ? std::nullopt : notPrivate(config.api->key))
        diags.add(file, config.api->line, "api: key '" + config.api->key.string() + "' " + *why);
      exists(config.api->clientCa, "client-ca");
      exists(config.api->crl, "crl");
    }

  }

  void pluginDirectory() {
    if (config.pluginDirectory) {
      std::error_code ec;
      if (!fs::is_directory(*config.pluginDirectory, ec))
        diags.add(file, config.pluginDirectoryLine,
                  "plugins: directory '" + config.pluginDirectory->string() + "' does not exist");
    }

  }

  void routes() {
    for (const auto& c : config.connectors) {
      connectorIds.push_back(c.id);
      if (c.descriptor && (c.descriptor->roles & RENKEI_ROLE_SOURCE)) sourceIds.push_back(c.id);
      if (c.descriptor && (c.descriptor->roles & RENKEI_ROLE_SINK)) targetIds.push_back(c.id);
      if (c.descriptor && (c.descriptor->roles & RENKEI_ROLE_EMITTER)) emitterIds.push_back(c.id);
    }
    for (const auto& m : config.modules) {
      targetIds.push_back(m.id);
      if (m.descriptor && (m.descriptor->roles & RENKEI_ROLE_EMITTER)) emitterIds.push_back(m.id);
    }
    for (const auto& sub : config.subscriptions) targetIds.push_back(sub.id);

    for (const RouteConfig& r : config.routes) {
      routeSource(r);
      routeTargets(r);
    }
  }

  /// A route's id and where its records come from.
  void routeSource(const RouteConfig& r) {
    // A claimed item feeds exactly one route, and an emitted record type one
    // route per mapping (the same events mapped for LGWAN and, PII-free, for
    // the internet zone); fan-out is several targets in `to`.
    if (!r.from.empty()) {
      const std::string key = r.records.empty() ? std::string() : r.records + "\n" + (r.mappingFile ? r.mappingFile->string() : std::string());
      auto [it, inserted] = sourceOwner.emplace(std::make_pair(r.from, key), &r);
      if (!inserted)
        diags.add(file, r.line,
                  "route '" + r.id + "': " +
                      (r.records.empty() ? "connector '" + r.from + "' is already the source"
                                         : "records '" + r.records + "' of '" + r.from + "' already feed") +
                      " of route '" + it->second->id + "' (line " + std::to_string(it->second->line) +
                      "); list several targets in one route's 'to' instead" +
                      (r.records.empty() ? "" : " (or map them with another mapping)"));
    }
    if (!r.id.empty()) {
      auto [it, inserted] = routeIds.emplace(r.id, r.line);
      if (!inserted)
        diags.add(file, r.line,
                  "duplicate route id '" + r.id + "' (first defined at line " + std::to_string(it->second) + ")");
    }
    const std::string where = "route '" + r.id + "'";
    requireAttribute(r.line, "<route>", "id", r.id);
    requireAttribute(r.line, where, "from", r.from);
    if (r.to.empty()) requireAttribute(r.line, where, "to", "");
    if (r.from == "renkei") {
      // The host's own records: the problems it tells the operators of.
      if (r.records != "renkei.problem")
        diags.add(file, r.line,
                  where + ": from=\"renkei\" is the host itself; it emits records=\"renkei.problem\" only (the "
                          "problems it tells the operators of)");
    } else if (!r.from.empty() && !r.records.empty()) {
      // Records an instance emits (the engine seam): a connector or module
      // that declares the emitter role.
      const InstanceConfig* from = config.findConnector(r.from);
      if (!from) from = config.findModule(r.from);
      if (!from) {
        diags.add(file, r.line,
                  where + ": from='" + r.from + "' names no connector or module" + didYouMean(r.from, emitterIds) +
                      " instances that emit records: " +
                      (emitterIds.empty() ? std::string("(none)") : joinList(emitterIds)));
      } else if (from->descriptor && !(from->descriptor->roles & RENKEI_ROLE_EMITTER)) {
        diags.add(file, r.line,
                  where + ": " + from->element + " '" + r.from + "' (" + from->plugin +
                      ") emits no records, so records=\"" + r.records + "\" never arrives; its roles: " +
                      from->descriptor->roleNames());
      }
    } else if (!r.from.empty()) {
      const InstanceConfig* from = config.findConnector(r.from);
      if (!from) {
        diags.add(file, r.line,
                  where + ": from='" + r.from + "' names no connector" + didYouMean(r.from, connectorIds) +
                      " connectors: " + (connectorIds.empty() ? std::string("(none)") : joinList(connectorIds)) +
                      (config.findModule(r.from) ? " (a module's records are taken with records=\"type\")" : ""));
      } else if (from->descriptor && !(from->descriptor->roles & RENKEI_ROLE_SOURCE)) {
        diags.add(file, r.line,
                  where + ": connector '" + r.from + "' (" + from->plugin + ") cannot be a source; its roles: " +
                      from->descriptor->roleNames() +
                      ((from->descriptor->roles & RENKEI_ROLE_EMITTER) ? " (take what it emits with records=\"type\")"
                                                                      : ""));
      }
    }
  }

  /// An SQLite store's file: its folder exists and is writable, or can be
  /// created (its nearest existing folder is writable); the file, when it
  /// exists, is a regular file renkei can write.
  void storeFolder() {
    const store::StoreConfig sc = config.effectiveStore();
    if (sc.driver != "sqlite" || sc.path.empty() || sc.path == ":memory:") return;
    const int line = config.store ? config.storeLine : 0;
    std::error_code ec;
    if (fs::exists(sc.path, ec)) {
      if (!fs::is_regular_file(sc.path, ec))
        diags.add(file, line, "store: '" + sc.path.string() + "' is not a file");
      else if (::access(sc.path.c_str(), R_OK | W_OK) != 0)
        diags.add(file, line, "store: '" + sc.path.string() + "' cannot be written: " + std::strerror(errno));
      return;
    }
    fs::path folder = sc.path.parent_path();
    while (!folder.empty() && !fs::exists(folder, ec)) folder = folder.parent_path();
    if (folder.empty()) folder = ".";
    if (!fs::is_directory(folder, ec))
      diags.add(file, line, "store: '" + folder.string() + "' (on the way to the store's file) is not a folder");
    else if (::access(folder.c_str(), W_OK | X_OK) != 0)
      diags.add(file, line,
                "store: folder '" + folder.string() + "' is not writable, so the store '" + sc.path.string() +
                    "' cannot be created there: " + std::strerror(errno));
  }

  /// Where a route's records go.
  void routeTargets(const RouteConfig& r) {
    const std::string where = "route '" + r.id + "'";
    std::set<std::string> targets;
    for (const std::string& to : r.to) {
      if (!targets.insert(to).second) {
        diags.add(file, r.line, where + ": to names '" + to + "' twice");
        continue;
      }
      const InstanceConfig* sink = config.findConnector(to);
      const InstanceConfig* module = config.findModule(to);
      if (!sink && !module && !config.findSubscription(to)) {
        diags.add(file, r.line,
                  where + ": to='" + to + "' names no connector, module or subscription" + didYouMean(to, targetIds) +
                      " sinks, modules and subscriptions: " + (targetIds.empty() ? std::string("(none)") : joinList(targetIds)));
      } else if (sink && sink->descriptor && !(sink->descriptor->roles & RENKEI_ROLE_SINK)) {
        diags.add(file, r.line,
                  where + ": connector '" + to + "' (" + sink->plugin + ") cannot be a sink; its roles: " +
                      sink->descriptor->roleNames());
      }
    }
  }

  /// <admin><group permissions="…"/>: each permission is renkei's own
  /// (view, operate, administer, audit) or a plugin's key or instance id.
  void operatorGroups() {
    if (!config.admin) return;
    std::set<std::string> known = operators::kBuiltinPermissions;
    for (const auto& list : {&config.connectors, &config.modules})
      for (const InstanceConfig& i : *list) {
        known.insert(i.id);
        known.insert(i.plugin);
      }
    for (const auto& [name, permissions] : config.admin->groups)
      for (const std::string& p : permissions)
        if (!known.count(p))
          diags.add(file, config.admin->groupLines.at(name),
                    "admin: group '" + name + "': permission '" + p +
                        "' is not view, operate, administer, audit or a plugin or instance of this config");
  }

  /// <audit>: a key only its owner reads, an anchor file in a folder that
  /// exists and is not the store, five fiscal years at least.
  void audit() {
    if (!config.audit) return;
    const AuditConfig& a = *config.audit;
    try {
      audit::readKey(a.keyFile);
    } catch (const std::exception& e) {
      diags.add(file, a.line, std::string("audit: key-file: ") + e.what());
    }
    if (a.keepFiscalYears < 5)
      diags.add(file, a.line,
                 "audit: keep-fiscal-years: at least 5 (an access history for a privacy impact assessment is kept five "
                 "fiscal years)");
    std::error_code ec;
    if (!fs::is_directory(a.anchorFile.parent_path(), ec))
      diags.add(file, a.line, "audit: anchor-file: the folder '" + a.anchorFile.parent_path().string() + "' does not exist");
    const store::StoreConfig sc = config.effectiveStore();
    if (sc.driver == "sqlite" && fs::weakly_canonical(a.anchorFile, ec) == fs::weakly_canonical(sc.path, ec))
      diags.add(file, a.line, "audit: anchor-file: not the store itself");
  }

  void store() {
    storeFolder();
    if (config.store) {
      if (config.store->driver == "postgresql") {
        if (config.store->connection.empty())
          diags.add(file, config.storeLine,
                    "store: driver 'postgresql' needs connection=\"…\" (an ODBC connection string such as "
                    "'DSN=renkei' or 'Driver={PostgreSQL Unicode};Server=…;Database=…;Uid=…'; the password from "
                    "password-file=\"…\" or $RENKEI_STORE_PASSWORD, never in the config)");
        else if (const std::string key = passwordKeyIn(config.store->connection); !key.empty())
          diags.add(file, config.storeLine,
                    "store: the connection string holds a password (attribute '" + key +
                        "'); put it in password-file=\"…\" or $RENKEI_STORE_PASSWORD instead");
        if (config.store->passwordFile && !fs::is_regular_file(*config.store->passwordFile))
          diags.add(file, config.storeLine,
                    "store: password-file '" + config.store->passwordFile->string() + "' does not exist");
        else if (auto why = config.store->passwordFile ? notPrivate(*config.store->passwordFile) : std::nullopt)
          diags.add(file, config.storeLine,
                    "store: password-file '" + config.store->passwordFile->string() + "' " + *why);
      } else if (config.store->path.empty()) {
        diags.add(file, config.storeLine, "store: driver 'sqlite' needs path=\"…\" (the database file)");
      } else if (config.store->path != ":memory:") {
        // The register and the applications are in clear in it.
        if (auto why = notPrivate(config.store->path))
          diags.add(file, config.storeLine, "store: '" + config.store->path.string() + "' " + *why);
      }
    }

  }

  void mappings() {
    // Pseudonym keys: files the config names, never values in it.
    mapping::KeyRing keys;
    for (const KeyConfig& k : config.keys) {
      std::string key;
      if (auto error = mapping::readKeyFile(k.file.string(), key))
        diags.add(file, k.line, "key '" + k.id + "': " + *error);
      else if (!keys.emplace(k.id, key).second)
        diags.add(file, k.line, "key '" + k.id + "' is declared twice");
    }
    // Every mapping a route names is compiled here, so `renkei check` reports
    // its problems too.
    for (RouteConfig& r : config.routes) {
      if (r.layoutFile && !r.mappingFile) {
        diags.add(file, r.line,
                  "route '" + r.id + "': layout=\"…\" replaces the layout of the route's mapping, but the route has "
                  "no mapping=\"…\"");
        continue;
      }
      if (!r.mappingFile) continue;
      if (r.layoutFile) {
        if (auto why = unreadableFile(*r.layoutFile)) {
          diags.add(file, r.line, "route '" + r.id + "': layout file '" + r.layoutFile->string() + "' " + *why);
          continue;
        }
      }
      // A file the config names is reported at the line that names it.
      if (auto why = unreadableFile(*r.mappingFile)) {
        diags.add(file, r.line, "route '" + r.id + "': mapping file '" + r.mappingFile->string() + "' " + *why);
        continue;
      }
      Diagnostics mappingDiags;
      r.mapping = mapping::loadMapping(*r.mappingFile, keys, mappingDiags, r.layoutFile ? &*r.layoutFile : nullptr);
      if (r.layoutFile && !mappingDiags.empty())
        diags.add(file, r.line,
                  "route '" + r.id + "': its mapping does not fit the layout '" + r.layoutFile->string() +
                      "' it names (problems below)");
      diags.append(mappingDiags);
      // The mapping's zone against its targets' zones: validateInstances
      // (a sink may deliver into another zone: the bridge's sending half).
    }
  }

 private:
  /// Every key given checked against the plugin's table; defaults added.
  void settings(InstanceConfig& inst, const PluginDescriptor& descriptor) {
    const PluginDescriptor* d = &descriptor;
    const std::vector<std::string> validKeys = d->keyNames();
    std::map<std::string, int> given;
    for (const SettingText& t : inst.texts) {
      const ConfigKeySpec* spec = d->findKey(t.key);
      if (!spec) {
        diags.add(file, t.line,
                  describe(inst) + ": unknown key '" + t.key + "'" + didYouMean(t.key, validKeys) +
                      " valid keys: " + joinList(validKeys));
        continue;
      }
      auto [it, inserted] = given.emplace(t.key, t.line);
      if (!inserted) {
        diags.add(file, t.line,
                  describe(inst) + ": key '" + t.key + "' given twice (first at line " +
                      std::to_string(it->second) + ")");
        continue;
      }
      if (!spec->deprecated.empty())
        diags.warn(file, t.line, describe(inst) + ": key '" + t.key + "' is deprecated: " + spec->deprecated);
      Settings::Value value;
      if (auto err = parseSettingValue(spec->type, t.value, config.directory, value)) {
        diags.add(file, t.line, describe(inst) + ": key '" + t.key + "': " + *err);
        continue;
      }
      inst.settings.set(t.key, std::move(value));
    }
    for (const ConfigKeySpec& spec : d->keys) {
      if (given.count(spec.key)) continue;
      if (spec.required) {
        diags.add(file, inst.line,
                  describe(inst) + ": missing required key '" + spec.key + "' (" + spec.type + "): " +
                      spec.description);
        continue;
      }
      if (!spec.hasDefault) continue;
      Settings::Value value;
      if (auto err = parseSettingValue(spec.type, spec.defaultValue, config.directory, value)) {
        diags.add(file, inst.line,
                  describe(inst) + ": plugin bug: default of key '" + spec.key + "': " + *err);
        continue;
      }
      inst.settings.set(spec.key, std::move(value));
    }
    }

  // Connector and module ids share one namespace: routes name either.
  void checkId(const InstanceConfig& inst) {
    if (inst.id.empty()) return;
    if (inst.id == "renkei")
      diags.add(file, inst.line,
                "id 'renkei' is the host's own (its renkei.problem records: from=\"renkei\"); choose another id");
    auto [it, inserted] = seen.emplace(inst.id, inst.line);
    if (!inserted)
      diags.add(file, inst.line,
                "duplicate id '" + inst.id + "' (first defined at line " + std::to_string(it->second) + ")");
  }

  // The schema validator stops checking an element's content at the first
  // unexpected child, so required attributes are checked here too; a problem
  // the schema already reported on that line is not repeated.
  void requireAttribute(int line, const std::string& what, const char* attribute, const std::string& value) {
    if (!value.empty()) return;
    const std::string quoted = std::string("attribute '") + attribute + "'";
    for (const auto& d : diags.items())
      if (d.line == line && d.message.find(quoted) != std::string::npos) return;
    diags.add(file, line, what + ": missing " + quoted);
  }

  HostConfig& config;
  const PluginRegistry& registry;
  Diagnostics& diags;
  const std::string file;
  const std::vector<std::string> pluginKeys;
  std::map<std::string, int> seen;  ///< instance and subscription ids, with their lines
  std::vector<std::string> connectorIds, sourceIds, targetIds, emitterIds;  ///< for routes' messages
  std::map<std::string, int> routeIds;
  std::map<std::pair<std::string, std::string>, const RouteConfig*> sourceOwner;  ///< (from, records) → route
};

}  // namespace

mapping::KeyRing routeKeys(const HostConfig& config) {
  mapping::KeyRing keys;
  for (const KeyConfig& k : config.keys) {
    std::string key;
    if (!mapping::readKeyFile(k.file.string(), key)) keys.emplace(k.id, key);
  }
  return keys;
}

void checkConfig(HostConfig& config, const PluginRegistry& registry, Diagnostics& diags) {
  if (auto why = useTimeZone(config.timeZone)) diags.add(config.file.string(), config.rootLine, *why);
  ConfigChecker check(config, registry, diags);
  // A missing plugin folder first: every "unknown plugin" after it follows from it.
  check.pluginDirectory();
  check.spool();
  for (auto& c : config.connectors) check.instance(c);
  for (auto& m : config.modules) check.instance(m);
  check.subscriptions();
  check.api();
  check.routes();
  check.store();
  check.mappings();
  check.audit();
  check.operatorGroups();
}

}  // namespace renkei
