// Backups of the host's store and restoring one: see backup.h.
#include "backup.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <mutex>
#include <condition_variable>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "audit_trail.h"
#include "renkei/local_time.h"
#include "store/sql_db.h"

#include <odbcinst.h>
#include <sys/wait.h>

namespace renkei::backup {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPrefix = "renkei-";
constexpr const char* kSuffix = ".backup";

std::string fileSha256(const fs::path& file, std::uint64_t& bytes) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw BackupError("cannot read '" + file.string() + "'");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  bytes = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n <= 0) break;
    EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(n));
    bytes += static_cast<std::uint64_t>(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += {hex[md[i] >> 4], hex[md[i] & 15]};
  return out;
}

void syncPath(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw BackupError("cannot open '" + p.string() + "' to flush it: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw BackupError("cannot flush '" + p.string() + "' to disk: " + std::strerror(err));
}

/// A folder for backups: a real folder (not a link), created 0700 when missing.
void requireFolder(const fs::path& folder) {
  struct stat st{};
  if (::lstat(folder.c_str(), &st) != 0) {
    if (errno != ENOENT) throw BackupError("backup folder '" + folder.string() + "': " + std::strerror(errno));
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) throw BackupError("backup folder '" + folder.string() + "': cannot create it: " + ec.message());
    ::chmod(folder.c_str(), 0700);
    return;
  }
  if (S_ISLNK(st.st_mode))
    throw BackupError("backup folder '" + folder.string() + "' is a symbolic link: name the real folder (a link "
                      "could send the backups anywhere)");
  if (!S_ISDIR(st.st_mode)) throw BackupError("backup folder '" + folder.string() + "' is not a folder");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw BackupError("backup folder '" + folder.string() + "' is not writable by this user");
}

struct Sqlite {
  sqlite3* db = nullptr;
  ~Sqlite() {
    if (db) sqlite3_close_v2(db);
  }
  void open(const std::string& path, int flags) {
    if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_URI, nullptr) != SQLITE_OK)
      throw BackupError("cannot open '" + path + "': " + (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_busy_timeout(db, 30000);
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string why = err ? err : "unknown";
      sqlite3_free(err);
      throw BackupError(why);
    }
  }
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) throw BackupError(sqlite3_errmsg(db));
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const unsigned char* t = sqlite3_column_text(s, i);
        row.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(row));
    }
    const std::string why = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db);
    sqlite3_finalize(s);
    if (!why.empty()) throw BackupError(why);
    return out;
  }
  std::map<std::string, std::int64_t> counts() {
    std::map<std::string, std::int64_t> out;
    for (const auto& t : rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                              "ORDER BY name")) {
      std::string quoted = "\"";
      for (char c : t[0]) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      out[t[0]] = std::stoll(rows("SELECT count(*) FROM " + quoted + "\"").at(0).at(0));
    }
    return out;
  }
  int userVersion() { return std::stoi(rows("PRAGMA user_version").at(0).at(0)); }
};

std::string stamp(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string toJson(const Manifest& m) {
  Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("instance", m.instance);
  o.set("driver", m.driver);
  o.set("created_ms", m.createdMs);
  o.set("created", localTimeText(m.createdMs));
  o.set("schema", m.schema);
  o.set("bytes", m.bytes);
  o.set("sha256", m.sha256);
  o.set("seconds", m.seconds);
  Poco::JSON::Object counts(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [k, v] : m.counts) counts.set(k, v);
  o.set("counts", counts);
  if (!m.auditSha256.empty()) {
    Poco::JSON::Object audit(Poco::JSON_PRESERVE_KEY_ORDER);
    audit.set("bytes", m.auditBytes);
    audit.set("sha256", m.auditSha256);
    Poco::JSON::Object ac(Poco::JSON_PRESERVE_KEY_ORDER);
    for (const auto& [k, v] : m.auditCounts) ac.set(k, v);
    audit.set("counts", ac);
    o.set("audit", audit);
  }
  std::ostringstream out;
  o.stringify(out, 1);
  return out.str() + "\n";
}

std::optional<Manifest> readManifest(const fs::path& file) {
  std::ifstream in(fs::path(file.string() + ".json"), std::ios::binary);
  if (!in) return std::nullopt;
  try {
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto o = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
    Manifest m;
    m.instance = o->getValue<std::string>("instance");
    m.driver = o->getValue<std::string>("driver");
    m.createdMs = o->getValue<std::int64_t>("created_ms");
    m.schema = o->getValue<int>("schema");
    m.bytes = o->getValue<std::uint64_t>("bytes");
    m.sha256 = o->getValue<std::string>("sha256");
    m.seconds = o->optValue<double>("seconds", 0);
    auto counts = o->getObject("counts");
    for (const auto& k : counts->getNames()) m.counts[k] = counts->getValue<std::int64_t>(k);
    if (auto audit = o->getObject("audit")) {
      m.auditBytes = audit->getValue<std::uint64_t>("bytes");
      m.auditSha256 = audit->getValue<std::string>("sha256");
      auto ac = audit->getObject("counts");
      for (const auto& k : ac->getNames()) m.auditCounts[k] = ac->getValue<std::int64_t>(k);
    }
    m.file = file;
    return m;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void writeManifest(const Manifest& m) {
  const fs::path target(m.file.string() + ".json"), tmp(m.file.string() + ".json.tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << toJson(m);
    if (!out.flush()) throw BackupError("cannot write '" + tmp.string() + "'");
  }
  ::chmod(tmp.c_str(), 0600);
  syncPath(tmp, false);
  fs::rename(tmp, target);
}

/// One backup at a time per folder (hosts sharing a PostgreSQL store may
/// all be scheduled): an exclusive lock on <folder>/.backup-lock.
struct FolderLock {
  int fd = -1;
  explicit FolderLock(const fs::path& folder) {
    const fs::path p = folder / ".backup-lock";
    fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw BackupError("cannot open '" + p.string() + "': " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      throw BackupError("another backup is being written into '" + folder.string() + "'");
    }
  }
  ~FolderLock() {
    if (fd >= 0) ::close(fd);
  }
};

/// One SQLite file copied online into `tmp` (one snapshot, its row counts
/// and schema read in it).
void copySqlite(const fs::path& from, const fs::path& tmp, std::map<std::string, std::int64_t>& counts, int* schema) {
  Sqlite src;
  src.open(from.string(), SQLITE_OPEN_READONLY);
  src.exec("BEGIN");
  counts = src.counts();
  if (schema) *schema = src.userVersion();
  {
    Sqlite dst;
    dst.open(tmp.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ::chmod(tmp.c_str(), 0600);
    sqlite3_backup* b = sqlite3_backup_init(dst.db, "main", src.db, "main");
    if (!b) throw BackupError(std::string("cannot start the copy: ") + sqlite3_errmsg(dst.db));
    const int rc = sqlite3_backup_step(b, -1);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
      throw BackupError(std::string("the copy failed: ") + sqlite3_errstr(rc) + " (" + sqlite3_errmsg(dst.db) +
                        "; the disk may be full)");
    dst.exec("PRAGMA journal_mode=DELETE");  // one file, whatever the store's mode
  }
  src.exec("COMMIT");
}

void writeSqlite(const store::StoreConfig& store, const fs::path& tmp, Manifest& m) {
  if (!fs::exists(store.path)) throw BackupError("no store at '" + store.path.string() + "'");
  copySqlite(store.path, tmp, m.counts, &m.schema);
}

/// The audit trail's file (SQLite stores keep it beside the store), copied
/// as <backup>.audit; nothing when there is none.
void writeSqliteAudit(const store::StoreConfig& store, const fs::path& target, Manifest& m) {
  const fs::path trail = audit::trailFile(store.path);
  if (!fs::exists(trail)) return;
  const fs::path tmp(target.string() + ".tmp");
  copySqlite(trail, tmp, m.auditCounts, nullptr);
  syncPath(tmp, false);
  fs::rename(tmp, target);
  m.auditSha256 = fileSha256(target, m.auditBytes);
}

bool countsMatch(const fs::path& file, const std::map<std::string, std::int64_t>& expected, std::string& why);

void verifySqlite(const Manifest& m) {
  Sqlite db;
  db.open("file:" + m.file.string() + "?immutable=1", SQLITE_OPEN_READONLY);
  std::vector<std::vector<std::string>> check;
  try {
    check = db.rows("PRAGMA integrity_check");
  } catch (const BackupError& e) {
    throw BackupError("'" + m.file.string() + "' is not a sound database: " + e.what());
  }
  if (check.empty() || check[0][0] != "ok")
    throw BackupError("'" + m.file.string() + "' fails its integrity check: " + (check.empty() ? "" : check[0][0]));
  if (db.userVersion() != m.schema)
    throw BackupError("'" + m.file.string() + "' has schema " + std::to_string(db.userVersion()) +
                      ", its manifest says " + std::to_string(m.schema));
  const auto counts = db.counts();
  for (const auto& [table, n] : m.counts) {
    const auto it = counts.find(table);
    if (it == counts.end() || it->second != n)
      throw BackupError("'" + m.file.string() + "': table " + table + " holds " +
                        (it == counts.end() ? std::string("nothing") : std::to_string(it->second)) + " rows, " +
                        std::to_string(n) + " at the snapshot");
  }
  if (m.auditSha256.empty()) return;
  std::string why;
  const fs::path trail(m.file.string() + ".audit");
  std::uint64_t bytes = 0;
  if (!fs::exists(trail) || fileSha256(trail, bytes) != m.auditSha256 || bytes != m.auditBytes)
    throw BackupError("'" + trail.string() + "' (the audit trail's copy) is missing, truncated or changed");
  if (!countsMatch(trail, m.auditCounts, why)) throw BackupError(why);
}

bool countsMatch(const fs::path& file, const std::map<std::string, std::int64_t>& expected, std::string& why) {
  Sqlite db;
  db.open("file:" + file.string() + "?immutable=1", SQLITE_OPEN_READONLY);
  const auto check = db.rows("PRAGMA integrity_check");
  if (check.empty() || check[0][0] != "ok") {
    why = "'" + file.string() + "' fails its integrity check";
    return false;
  }
  const auto counts = db.counts();
  for (const auto& [table, n] : expected) {
    const auto it = counts.find(table);
    if (it == counts.end() || it->second != n) {
      why = "'" + file.string() + "': table " + table + " holds " +
            (it == counts.end() ? std::string("nothing") : std::to_string(it->second)) + " rows, " +
            std::to_string(n) + " at the snapshot";
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// PostgreSQL: pg_dump's custom format from a snapshot the counts are read in.

/// Where the store's database is and who renkei is there: asked of the
/// server itself (no parsing of DSNs), the password as the store has it.
struct PgTarget {
  std::string host, port, database, user, password;
};

PgTarget pgTarget(store::SqlDatabase& db, const store::StoreConfig& config) {
  PgTarget t;
  auto q = db.prepare("SELECT current_database(), current_user, coalesce(host(inet_server_addr()), ''), "
                      "coalesce(inet_server_port(), 5432)");
  if (q->next()) {
    t.database = q->text(0);
    t.user = q->text(1);
    t.host = q->text(2);
    t.port = std::to_string(q->integer(3));
  }
  if (config.passwordFile) {
    std::ifstream in(*config.passwordFile, std::ios::binary);
    std::getline(in, t.password);
    while (!t.password.empty() && (t.password.back() == '\r' || t.password.back() == ' ')) t.password.pop_back();
  } else if (const char* p = std::getenv("RENKEI_STORE_PASSWORD")) {
    t.password = p;
  } else if (const auto at = config.connection.find("DSN="); at != std::string::npos) {
    // The DSN's own password (odbc.ini, as unixODBC reads it).
    const std::string dsn = config.connection.substr(at + 4, config.connection.find(';', at) - at - 4);
    char buf[512] = {};
    SQLGetPrivateProfileString(dsn.c_str(), "Password", "", buf, sizeof buf, "odbc.ini");
    t.password = buf;
  }
  return t;
}

/// pg_dump, pg_restore …: the server's version's own when several are installed.
std::string pgTool(const std::string& name) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(e.path() / "bin" / name)) found.push_back(e.path() / "bin" / name);
  std::sort(found.begin(), found.end());
  return found.empty() ? name : found.back().string();
}

/// Runs a PostgreSQL tool with the password in its environment (never in
/// its arguments); `out` gets each line of its standard output when given.
/// Throws BackupError with the tool's last words when it fails.
void runPg(const std::vector<std::string>& args, const PgTarget& t, const std::function<void(const std::string&)>& out) {
  int outPipe[2], errPipe[2];
  if (::pipe2(outPipe, O_CLOEXEC) != 0 || ::pipe2(errPipe, O_CLOEXEC) != 0) throw BackupError("cannot make a pipe");
  const pid_t pid = ::fork();
  if (pid < 0) throw BackupError("cannot start " + args[0]);
  if (pid == 0) {
    ::dup2(outPipe[1], 1);
    ::dup2(errPipe[1], 2);
    ::setenv("PGPASSWORD", t.password.c_str(), 1);
    ::setenv("PGCONNECT_TIMEOUT", "30", 1);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  // A server that stops answering mid-dump must not hold the schedule (and
  // its alert) forever: the tool is killed after four hours.
  std::mutex doneMutex;
  std::condition_variable doneSignal;
  bool done = false, killed = false;
  std::thread deadline([&] {
    std::unique_lock<std::mutex> lock(doneMutex);
    if (!doneSignal.wait_for(lock, std::chrono::hours(4), [&] { return done; })) {
      killed = true;
      ::kill(pid, SIGKILL);
    }
  });
  std::string err;
  std::thread drainErr([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(errPipe[0], buf, sizeof buf)) > 0)
      if (err.size() < 64 * 1024) err.append(buf, static_cast<std::size_t>(n));
  });
  std::string pending;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(outPipe[0], buf, sizeof buf)) > 0) {
    if (!out) continue;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t from = 0;
    for (std::size_t nl; (nl = pending.find('\n', from)) != std::string::npos; from = nl + 1)
      out(pending.substr(from, nl - from));
    pending.erase(0, from);
  }
  if (out && !pending.empty()) out(pending);
  drainErr.join();
  ::close(outPipe[0]);
  ::close(errPipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  {
    std::lock_guard<std::mutex> lock(doneMutex);
    done = true;
  }
  doneSignal.notify_all();
  deadline.join();
  if (killed) throw BackupError(fs::path(args[0]).filename().string() + " did not finish within 4 hours: stopped");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    const std::size_t last = err.rfind('\n');
    throw BackupError(fs::path(args[0]).filename().string() + " failed: " +
                      (err.empty() ? std::string("exit ") + std::to_string(WEXITSTATUS(status))
                                   : err.substr(last == std::string::npos ? 0 : last + 1)));
  }
}

std::vector<std::string> pgConnect(const PgTarget& t) {
  std::vector<std::string> a{"-h", t.host.empty() ? "127.0.0.1" : t.host, "-p", t.port, "-U", t.user, "-d", t.database,
                             "--no-password"};
  return a;
}

void writePostgres(const store::StoreConfig& config, const fs::path& tmp, Manifest& m) {
  // Without psqlODBC's statement-level rollback: its savepoint before each
  // statement would put pg_export_snapshot() in a subtransaction, where the
  // server refuses it.
  store::StoreConfig own = config;
  if (!own.connection.empty() && own.connection.back() != ';') own.connection += ';';
  own.connection += "Protocol=7.4-1;";
  auto db = store::openDatabase(own);
  const PgTarget t = pgTarget(*db, config);
  // One snapshot: the counts read in it, pg_dump given it.
  // A connection of its own, whose transactions are all repeatable read
  // (psqlODBC runs a savepoint first in each, so SET TRANSACTION inside
  // one comes too late).
  db->exec("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
  db->begin();
  std::string snapshot;
  {
    auto q = db->prepare("SELECT pg_export_snapshot()");
    if (q->next()) snapshot = q->text(0);
  }
  std::vector<std::string> tables;
  {
    auto q = db->prepare("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename");
    while (q->next()) tables.push_back(q->text(0));
  }
  for (const std::string& table : tables) {
    auto q = db->prepare("SELECT count(*) FROM \"" + table + "\"");
    if (q->next()) m.counts[table] = q->integer(0);
  }
  m.schema = db->schemaVersion();
  std::vector<std::string> args{pgTool("pg_dump"), "-Fc", "--snapshot=" + snapshot, "-f", tmp.string()};
  for (const std::string& a : pgConnect(t)) args.push_back(a);
  try {
    runPg(args, t, nullptr);
  } catch (...) {
    db->rollback();
    throw;
  }
  db->rollback();
  ::chmod(tmp.c_str(), 0600);
}

/// Reads the archive back (pg_restore's data as COPY blocks) and counts
/// each table's rows.
void verifyPostgres(const Manifest& m) {
  std::map<std::string, std::int64_t> counts;
  std::string table;
  runPg({pgTool("pg_restore"), "--data-only", "-f", "-", m.file.string()}, PgTarget{}, [&](const std::string& line) {
    if (table.empty()) {
      if (line.rfind("COPY ", 0) == 0 && line.find(" FROM stdin;") != std::string::npos) {
        std::string name = line.substr(5, line.find(' ', 5) - 5);
        if (const auto dot = name.rfind('.'); dot != std::string::npos) name = name.substr(dot + 1);
        if (name.size() > 1 && name.front() == '"') name = name.substr(1, name.size() - 2);
        table = name;
        counts[table];
      }
    } else if (line == "\\.") {
      table.clear();
    } else {
      ++counts[table];
    }
  });
  for (const auto& [t, n] : m.counts) {
    const auto it = counts.find(t);
    const std::int64_t got = it == counts.end() ? 0 : it->second;
    if (got != n)
      throw BackupError("'" + m.file.string() + "': table " + t + " holds " + std::to_string(got) + " rows, " +
                        std::to_string(n) + " at the snapshot");
  }
}

void verifyAny(const Manifest& m) {
  if (m.driver == "postgresql") verifyPostgres(m);
  else verifySqlite(m);
}

void checkFile(const Manifest& m) {
  std::uint64_t bytes = 0;
  const std::string sha = fileSha256(m.file, bytes);
  if (bytes != m.bytes)
    throw BackupError("'" + m.file.string() + "' holds " + std::to_string(bytes) + " bytes, its manifest says " +
                      std::to_string(m.bytes) + " (truncated or changed)");
  if (sha != m.sha256) throw BackupError("'" + m.file.string() + "' does not match its manifest's SHA-256 (changed)");
}

void prune(const fs::path& folder, int keep, Poco::Logger& log) {
  std::vector<Manifest> all = list(folder);
  for (std::size_t i = static_cast<std::size_t>(std::max(keep, 1)); i < all.size(); ++i) {
    std::error_code ec;
    fs::remove(all[i].file, ec);
    fs::remove(fs::path(all[i].file.string() + ".audit"), ec);
    fs::remove(fs::path(all[i].file.string() + ".json"), ec);
    log.information("backup: generation %s removed (keep %s)", all[i].file.filename().string(), std::to_string(keep));
  }
}

}  // namespace

Manifest write(const store::StoreConfig& store, const std::string& instance, const fs::path& folder, int keep,
               Poco::Logger& log) {
  requireFolder(folder);
  FolderLock lock(folder);
  // Leftovers of a run that failed (a crash, a full disk): partial files,
  // and a backup whose manifest was never written (not verified, never a
  // generation). The folder lock says no other run is writing.
  auto endsWith = [](const std::string& name, const std::string& end) {
    return name.size() > end.size() && name.compare(name.size() - end.size(), end.size(), end) == 0;
  };
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    const bool partial = endsWith(name, ".tmp");
    const std::string base = endsWith(name, ".audit") ? name.substr(0, name.size() - 6) : name;
    const bool unverified = endsWith(base, kSuffix) && !fs::exists(folder / (base + ".json"));
    if (partial || unverified) {
      std::error_code ec;
      fs::remove(e.path(), ec);
    }
  }
  const auto began = std::chrono::steady_clock::now();
  Manifest m;
  m.instance = instance;
  m.driver = store.driver;
  m.createdMs = store::nowMs();
  m.file = folder / (kPrefix + instance + "-" + stamp(m.createdMs) + kSuffix);
  for (int n = 2; fs::exists(m.file); ++n)
    m.file = folder / (kPrefix + instance + "-" + stamp(m.createdMs) + "-" + std::to_string(n) + kSuffix);
  const fs::path tmp(m.file.string() + ".tmp");
  try {
    if (store.driver == "sqlite") writeSqlite(store, tmp, m);
    else writePostgres(store, tmp, m);
    syncPath(tmp, false);
    fs::rename(tmp, m.file);
    if (store.driver == "sqlite") writeSqliteAudit(store, fs::path(m.file.string() + ".audit"), m);
    syncPath(folder, true);
    m.sha256 = fileSha256(m.file, m.bytes);
    verifyAny(m);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    writeManifest(m);
    syncPath(folder, true);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::remove(m.file, ec);
    fs::remove(fs::path(m.file.string() + ".audit"), ec);
    fs::remove(fs::path(m.file.string() + ".audit.tmp"), ec);
    fs::remove(fs::path(m.file.string() + ".json.tmp"), ec);
    throw BackupError(std::string("backup into '") + folder.string() + "' failed, the generations before are kept: " +
                      e.what());
  }
  log.notice("backup: %s written and verified (%s bytes, %s tables, %s s)", m.file.string(), std::to_string(m.bytes),
             std::to_string(m.counts.size()), std::to_string(m.seconds));
  prune(folder, keep, log);
  return m;
}

std::vector<Manifest> list(const fs::path& folder) {
  std::vector<Manifest> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0 || name.size() < std::strlen(kSuffix) ||
        name.compare(name.size() - std::strlen(kSuffix), std::strlen(kSuffix), kSuffix) != 0)
      continue;
    if (auto m = readManifest(e.path())) out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const Manifest& a, const Manifest& b) {
    return a.createdMs != b.createdMs ? a.createdMs > b.createdMs : a.file > b.file;
  });
  return out;
}

void verify(const fs::path& file) {
  auto m = readManifest(file);
  if (!m) throw BackupError("'" + file.string() + "' has no readable manifest ('" + file.string() + ".json')");
  checkFile(*m);
  verifyAny(*m);
}

int holdServing(const store::StoreConfig& store) {
  if (store.driver != "sqlite" || store.path.empty() || store.path == ":memory:") return -1;
  const fs::path p(store.path.string() + ".serving");
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;  // a read-only folder: the store's own open says more
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    ::close(fd);
    throw BackupError("the store '" + store.path.string() + "' is being restored; start again when it is done");
  }
  return fd;
}

Manifest restore(const store::StoreConfig& store, const fs::path& file, Poco::Logger& log) {
  auto m = readManifest(file);
  if (!m) throw BackupError("'" + file.string() + "' has no readable manifest ('" + file.string() + ".json')");
  if (m->driver != store.driver)
    throw BackupError("'" + file.string() + "' is a backup of a " + m->driver + " store; this instance's is " +
                      store.driver);
  checkFile(*m);
  const int known = store::knownSchemaVersion();
  if (m->schema > known)
    throw BackupError("'" + file.string() + "' is of store schema " + std::to_string(m->schema) +
                      ", newer than this renkei knows (" + std::to_string(known) + "): restore it with the renkei "
                      "that wrote it, or a newer one");
  verifyAny(*m);
  if (store.driver == "postgresql") {
    auto db = store::openDatabase(store);
    const PgTarget t = pgTarget(*db, store);
    std::int64_t others = 0;
    {
      auto q = db->prepare("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                           "pid <> pg_backend_pid()");
      if (q->next()) others = q->integer(0);
    }
    db.reset();
    if (others > 0)
      throw BackupError("the store's database '" + t.database + "' has " + std::to_string(others) +
                        " other sessions: stop every renkei serve on it first (systemctl stop renkei on each host), "
                        "then restore");
    std::vector<std::string> args{pgTool("pg_restore"), "--clean", "--if-exists", "--single-transaction",
                                  "--no-owner"};
    for (const std::string& a : pgConnect(t)) args.push_back(a);
    args.push_back(m->file.string());
    runPg(args, t, nullptr);
    log.notice("restore: the database %s restored from %s (taken %s)", t.database, m->file.string(),
               localTimeText(m->createdMs));
    return *m;
  }
  // Nobody serves the store while it is replaced, and nobody starts to.
  const fs::path lockPath(store.path.string() + ".serving");
  const int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw BackupError("cannot open '" + lockPath.string() + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw BackupError("a renkei serve holds the store '" + store.path.string() +
                      "': stop the instance first (systemctl stop renkei), then restore");
  }
  try {
    const fs::path tmp(store.path.string() + ".restore-tmp");
    fs::copy_file(m->file, tmp, fs::copy_options::overwrite_existing);
    ::chmod(tmp.c_str(), 0600);
    syncPath(tmp, false);
    const std::string aside = ".before-restore-" + stamp(store::nowMs());
    for (const char* part : {"", "-wal", "-shm"}) {
      const fs::path p(store.path.string() + part);
      if (fs::exists(p)) fs::rename(p, fs::path(store.path.string() + aside + part));
    }
    fs::rename(tmp, store.path);
    // The audit trail is never rolled back (it is the record of what was
    // done, the restore included): put back only where none is left (a
    // lost disk).
    const fs::path trail = audit::trailFile(store.path);
    if (!m->auditSha256.empty() && !fs::exists(trail)) {
      fs::copy_file(fs::path(m->file.string() + ".audit"), trail);
      ::chmod(trail.c_str(), 0600);
      syncPath(trail, false);
      log.notice("restore: the audit trail had gone; its copy from the backup is put back (renkei audit verify "
                 "checks it against the anchors)");
    }
    syncPath(store.path.parent_path().empty() ? fs::path(".") : store.path.parent_path(), true);
    log.notice("restore: %s restored from %s (taken %s); the store before is kept as %s", store.path.string(),
               m->file.string(), localTimeText(m->createdMs), store.path.string() + aside);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return *m;
}

}  // namespace renkei::backup
