// Instance config: loading (libxml2 + the embedded XSD) and checking against
// the plugins' declared keys. Every problem is collected, none is fatal early.
#pragma once

#include "backup.h"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "renkei/support/calendar.h"
#include "renkei/support/diagnostics.h"
#include "mapping/mapping.h"
#include "store/store.h"
#include "plugin_registry.h"
#include "renkei/settings.h"

namespace renkei {

struct SettingText {
  std::string key;
  std::string value;
  int line = 0;
};

/// One <connector> or <module> element.
struct InstanceConfig {
  std::string element;  ///< "connector" or "module"
  std::string id;
  std::string plugin;
  int line = 0;
  std::vector<SettingText> texts;               ///< as written
  Settings settings;                            ///< typed, after check
  const PluginDescriptor* descriptor = nullptr;  ///< after check
};

struct RouteConfig {
  std::string id;
  std::string from;
  std::vector<std::string> to;
  std::string records;  ///< records="type": the route takes that record type emitted by `from`; empty: its intake items
  int problemRejects = 100;  ///< problem-rejects="N%": a file whose rejected share reaches N % is a problem
  int line = 0;
  std::optional<std::filesystem::path> mappingFile;     ///< resolved against the config's folder
  /// layout="…": the source's items read through this layout instead of the
  /// mapping's own (a format swap without copying the mapping).
  std::optional<std::filesystem::path> layoutFile;
  std::shared_ptr<const mapping::Mapping> mapping;      ///< compiled by checkConfig
};

struct KeyConfig {
  std::string id;
  std::filesystem::path file;
  int line = 0;
};

/// <admin>: the operators' HTTP listener (/metrics, /health); plain HTTP
/// on loopback unless a certificate and key are given (then HTTPS).
struct AdminConfig {
  std::string address = "127.0.0.1";
  int port = 9464;                    ///< 0: any free port (tests)
  std::filesystem::path certificate;  ///< PEM chain; with `key`: HTTPS
  std::filesystem::path key;
  int line = 0;
  /// The console's operators (operators.h): groups and what each permits
  /// (<group name="…" permissions="…"/>); none: nobody signs in, and only
  /// pages needing `view` are served, to anyone who reaches the listener.
  std::map<std::string, std::set<std::string>> groups;
  std::map<std::string, int> groupLines;
  std::chrono::milliseconds sessionIdle{15 * 60'000};
  int maxFailures = 5;
  std::chrono::milliseconds lockout{15 * 60'000};
  std::vector<std::string> allow;  ///< CIDR blocks that may sign in; empty: any
};

/// <audit>: the audit trail (audit_trail.h): its key, its anchor file, how
/// long it is kept.
struct AuditConfig {
  std::filesystem::path keyFile;     ///< key-file: the HMAC key (a secret, 0600)
  std::filesystem::path anchorFile;  ///< anchor-file: each day's last seal, outside the store
  int keepFiscalYears = 5;           ///< keep-fiscal-years: at least 5 (check refuses less)
  int line = 0;
};

/// <notify>: the problem watch (problems.h): when it looks, how often it
/// tells of a problem that stays, and the limits it holds the host to.
struct NotifyConfig {
  std::chrono::milliseconds check{60'000};        ///< check: how often the watch looks
  std::chrono::milliseconds interval{3'600'000};  ///< interval: at most one mail per problem per this
  std::chrono::milliseconds outboxAge{3'600'000}; ///< outbox-age: a batch waiting longer is a problem
  std::chrono::milliseconds lookBack{7 * 86'400'000LL};  ///< look-back: files to error/ and refusals this recent
  std::string recipient = "operators";            ///< recipient: the records' department field (the mail's recipients table)
  int diskFreePercent = 10;                       ///< disk-free: less free on a disk renkei writes to is a problem
  int certificateDays = 30;                       ///< certificate-days: a certificate running out within
  int line = 0;                                   ///< 0: not given (the defaults)
};

/// <api>: the window-system interface (core/api/renkei.thrift) over TLS.
struct ApiConfig {
  std::string address = "127.0.0.1";
  int port = 9443;
  std::filesystem::path certificate;  ///< the server's certificate chain (PEM)
  std::filesystem::path key;          ///< its private key (PEM)
  std::filesystem::path clientCa;     ///< CA certificates that issue client certificates (PEM)
  std::filesystem::path crl;          ///< revoked client certificates (PEM or DER CRL); empty: none; reloaded when it changes
  std::vector<std::string> clients;   ///< client certificate names allowed at all (empty: any the CA issued)
  /// <client name="…" permissions="…"/>: what each window system may call,
  /// by service (resident, record, crm, token, review …: the service's name
  /// without "Service", in lower case). None given: every client may call
  /// every service.
  std::map<std::string, std::set<std::string>> clientPermissions;
  int maxConnections = 512;           ///< connections served at once; more wait to be accepted
  std::chrono::milliseconds idleTimeout{600000};  ///< a connection silent this long is closed (0: never)
  std::chrono::milliseconds handshakeTimeout{10000};  ///< a TLS handshake not done in this time is closed
  int maxHandshakes = 64;             ///< connections still in their handshake at once; the oldest makes room
  int maxHandshakesPerAddress = 16;   ///< the same, per client address
  int line = 0;
};

/// <subscription>: a route target that window systems pull (RecordService)
/// instead of the host pushing it.
struct SubscriptionConfig {
  std::string id;
  std::vector<std::string> clients;          ///< client certificate names allowed to pull and ack
  std::chrono::milliseconds ackTimeout{60000};  ///< a pulled batch not acknowledged in time is handed out again
  int line = 0;
};

struct HostConfig {
  std::filesystem::path file;       ///< as given
  std::filesystem::path directory;  ///< where relative paths resolve
  std::string instance;
  std::string zone;
  std::optional<std::filesystem::path> pluginDirectory;
  int pluginDirectoryLine = 0;
  std::string logLevel = "information";
  /// time-zone="…": the zone operator output shows times in (IANA name).
  std::string timeZone = "Asia/Tokyo";
  int rootLine = 0;
  std::chrono::milliseconds pollInterval{5000};
  std::size_t batchRecords = 10000;
  int maxAttempts = 8;                          ///< delivery attempts before a batch is a dead letter
  std::size_t intakeThreads = 2;                ///< intake workers; a route is taken by one at a time
  std::size_t deliveryThreads = 8;              ///< delivery workers; a target is served by one (its own, up to this many)
  std::chrono::milliseconds retryInitial{1000};  ///< first backoff; doubles per attempt, with jitter
  std::chrono::milliseconds retryMax{300000};    ///< backoff ceiling
  std::chrono::milliseconds lease{60000};        ///< how long a host's claim on a file or batch lasts unrenewed
  std::int64_t maxOutboxRecords = 500000;       ///< intake of a route pauses while its outbox holds more
  std::chrono::milliseconds retainDelivered{30LL * 86400 * 1000};  ///< delivered batches kept this long (replay)
  /// Where intake copies each file before reading it (an unnamed file that
  /// vanishes when closed); empty: $TMPDIR, else /tmp.
  std::filesystem::path spool;
  int spoolLine = 0;
  /// The spool folder to use: `spool`, else $TMPDIR, else /tmp.
  std::filesystem::path effectiveSpool() const;
  std::vector<InstanceConfig> connectors;
  std::vector<InstanceConfig> modules;
  std::vector<RouteConfig> routes;
  /// What each source keeps of what it took in, and for how long (from
  /// validateInstances; printed by `renkei check`).
  std::vector<std::string> keeping;
  std::vector<KeyConfig> keys;  ///< pseudonym keys, read by checkConfig
  std::optional<ApiConfig> api;              ///< <api>; none: no window-system interface
  std::optional<AdminConfig> admin;          ///< <admin>; none: no admin listener
  std::optional<AuditConfig> audit;          ///< <audit>; none: accesses are log lines only
  std::optional<backup::Schedule> backup;    ///< <backup>; none: no scheduled backups (renkei backup by hand)
  NotifyConfig notify;                       ///< <notify>; not given: its defaults
  /// <calendar file="…"/>: the municipal calendar every plugin of this
  /// instance counts days on (HostServices::calendar); loaded with the
  /// plugins' checks (validateInstances), file:line on problems.
  std::optional<std::filesystem::path> calendarFile;
  int calendarLine = 0;
  std::shared_ptr<const calendar::Calendar> calendar;
  std::vector<SubscriptionConfig> subscriptions;
  std::optional<store::StoreConfig> store;  ///< <store>; none: SQLite file renkei-<instance>.db beside the config
  int storeLine = 0;

  /// <store>, or the default: SQLite file renkei-<instance>.db beside the config.
  store::StoreConfig effectiveStore() const;

  const InstanceConfig* findConnector(const std::string& id) const;
  const InstanceConfig* findModule(const std::string& id) const;
  const SubscriptionConfig* findSubscription(const std::string& id) const;
};

/// Parses `file`, validates it against the config schema and extracts the
/// model. Problems go to `diags`; returns nullopt only when the file could not
/// be parsed at all (then nothing else can be checked).
std::optional<HostConfig> loadConfig(const std::filesystem::path& file, Diagnostics& diags);

/// Checks instances and routes against the registry: plugin keys, declared
/// settings and their types, required keys, route references and roles; reads
/// the pseudonym keys and compiles every route's mapping (zones included).
/// Fills each instance's typed settings and descriptor and each route's mapping.
/// The pseudonym keys the config names (<key id file>), read again; a key
/// that cannot be read is left out (checkConfig reports it).
mapping::KeyRing routeKeys(const HostConfig& config);

void checkConfig(HostConfig& config, const PluginRegistry& registry, Diagnostics& diags);

}  // namespace renkei
