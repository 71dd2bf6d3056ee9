// Key tables of the host's sections and the reader that applies them.
#include "host_sections.h"

#include "setting_types.h"

namespace renkei {

const std::vector<renkei_config_key>& pipelineKeys() {
  static const std::vector<renkei_config_key> keys{
      {"poll-interval", "duration", "5s", 0, "how often sources are asked for new items"},
      {"batch-records", "int", "10000", 0, "records per stored batch (a batch also closes at 64 MiB)"},
      {"max-attempts", "int", "8", 0, "delivery attempts before a batch becomes a dead letter"},
      {"retry-initial", "duration", "1s", 0, "first retry delay; doubles per attempt, with jitter"},
      {"retry-max", "duration", "5m", 0, "longest retry delay"},
      {"lease", "duration", "60s", 0, "how long a claimed item or leased batch is a host's (at least 5s)"},
      {"max-outbox-records", "int", "500000", 0, "back-pressure: undelivered records a route may hold"},
      {"intake-threads", "int", "2", 0, "intake workers (1-16); a route is taken by one at a time"},
      {"delivery-threads", "int", "8", 0,
       "delivery workers (1-32); each target has one of its own while there are enough, so a stuck target holds "
       "up only itself"},
      {"retain-delivered", "duration", "30d", 0, "how long delivered batches stay in the store"},
      {"spool", "path", nullptr, 0, "where intake copies items before reading them ($TMPDIR or /tmp)"},
  };
  return keys;
}

const std::vector<renkei_config_key>& backupKeys() {
  static const std::vector<renkei_config_key> keys{
      {"folder", "path", nullptr, 1,
       "where the generations are kept: a real folder (not a symbolic link), created 0700 when missing; best on "
       "another disk than the store"},
      {"at", "string", "02:00", 0, "the time of day a backup is made (the municipality's time, HH:MM)"},
      {"days", "enum(every|open)", "every", 0, "every day, or only the municipal calendar's open days"},
      {"keep", "int", "7", 0, "verified generations kept (1-366); the oldest beyond are removed"},
      {"max-age", "duration", "26h", 0,
       "the last good backup older than this is an alert (renkei_backup_stale on /metrics, the log)"},
  };
  return keys;
}

const std::vector<renkei_config_key>& notifyKeys() {
  static const std::vector<renkei_config_key> keys{
      {"check", "duration", "1m", 0, "how often the host looks for problems (1s-1h)"},
      {"interval", "duration", "1h", 0,
       "at most one mail per problem per interval while it stays open (1m-7d); one more when it clears"},
      {"recipient", "string", "operators", 0,
       "the department field of the renkei.problem records: the mail connector's recipients table maps it to "
       "addresses"},
      {"outbox-age", "duration", "1h", 0, "a batch waiting for delivery longer than this is a problem"},
      {"look-back", "duration", "7d", 0,
       "files to error/ and items refused this recent, not seen to, are problems (renkei status --ack)"},
      {"disk-free", "int", "10", 0, "percent: less free on the disk of the store, backups or spool is a problem (1-90)"},
      {"certificate-days", "int", "30", 0,
       "a certificate renkei serves with (api, admin, a plugin's) running out within this many days is a problem"},
  };
  return keys;
}

const std::vector<renkei_config_key>& adminKeys() {
  static const std::vector<renkei_config_key> keys{
      {"address", "string", "127.0.0.1", 0, "where the admin listener listens (loopback unless HTTPS)"},
      {"port", "int", "9464", 0, "its port (0: one the system chooses, logged)"},
      {"certificate", "path", nullptr, 0, "PEM certificate chain: with key, HTTPS"},
      {"key", "path", nullptr, 0, "PEM private key: with certificate, HTTPS"},
      {"session-idle", "duration", "15m", 0, "a console session unused this long ends (sign in again)"},
      {"max-failures", "int", "5", 0, "failed sign-ins in a row before an operator is locked out"},
      {"lockout", "duration", "15m", 0, "how long a locked-out operator cannot sign in"},
      {"allow", "string", "", 0,
       "addresses that may sign in, as CIDR blocks separated by spaces (10.0.0.0/8 192.168.1.0/24 ::1/128); empty: "
       "any address that reaches the listener"},
  };
  return keys;
}

const std::vector<renkei_config_key>& apiKeys() {
  static const std::vector<renkei_config_key> keys{
      {"address", "string", "127.0.0.1", 0, "where the window-system interface listens (TLS)"},
      {"port", "int", "9443", 0, "its port (0: one the system chooses, logged)"},
      {"certificate", "path", nullptr, 1, "the server's certificate chain (PEM)"},
      {"key", "path", nullptr, 1, "its private key (PEM)"},
      {"client-ca", "path", nullptr, 1, "CA certificates that issue the window systems' client certificates (PEM)"},
      {"crl", "path", nullptr, 0, "revoked client certificates (PEM or DER CRL), read again when it changes"},
      {"clients", "string", "", 0, "client certificate names allowed at all, separated by spaces (empty: any)"},
      {"max-connections", "int", "512", 0, "connections served at once (1-100000)"},
      {"idle-timeout", "duration", "10m", 0, "a connection silent this long is closed (0s: never)"},
      {"handshake-timeout", "duration", "10s", 0, "a TLS handshake not done in this time is cut"},
      {"max-handshakes", "int", "64", 0, "connections still in their handshake at once (1-10000)"},
      {"max-handshakes-per-address", "int", "16", 0, "the same, per client address (1-10000)"},
  };
  return keys;
}

const std::vector<renkei_config_key>& storeKeys() {
  static const std::vector<renkei_config_key> keys{
      {"driver", "enum(sqlite|postgresql)", nullptr, 1, "the embedded SQLite file or PostgreSQL through psqlODBC"},
      {"path", "path", nullptr, 0, "sqlite: the database file (created with its folder)"},
      {"synchronous", "enum(full|normal)", "full", 0, "sqlite: full (a commit survives power loss) or normal"},
      {"connection", "string", nullptr, 0, "postgresql: ODBC connection string without the password"},
      {"password-file", "path", nullptr, 0, "postgresql: the password's file (else $RENKEI_STORE_PASSWORD)"},
  };
  return keys;
}

bool reportedAt(const Diagnostics& diags, int line, const char* attribute) {
  const std::string quoted = std::string("'") + attribute + "'";
  for (const auto& d : diags.items())
    if (d.line == line && d.message.find(quoted) != std::string::npos) return true;
  return false;
}

Settings readSection(xmlNodePtr node, const char* section, const std::vector<renkei_config_key>& keys,
                     const std::filesystem::path& directory, const std::string& file, Diagnostics& diags) {
  Settings out;
  const int line = node ? static_cast<int>(xmlGetLineNo(node)) : 0;
  for (const renkei_config_key& k : keys) {
    std::string text;
    bool given = false;
    if (node) {
      if (xmlChar* v = xmlGetProp(node, reinterpret_cast<const xmlChar*>(k.key))) {
        text = reinterpret_cast<const char*>(v);
        xmlFree(v);
        given = true;
      }
    }
    if (!given && !k.default_value) continue;
    Settings::Value value;
    if (auto err = parseSettingValue(k.type, given ? text : k.default_value, directory, value)) {
      if (!reportedAt(diags, line, k.key)) diags.add(file, line, std::string(section) + ": " + k.key + ": " + *err);
      if (!k.default_value) continue;
      parseSettingValue(k.type, k.default_value, directory, value);
    }
    out.set(k.key, std::move(value));
  }
  return out;
}

}  // namespace renkei
