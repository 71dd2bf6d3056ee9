// Helpers shared by the test executables: temporary folders, files, running
// the real renkei binary as a child process.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace renkei::test {

/// A fresh folder under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

std::string readFile(const std::filesystem::path& path);
/// `utf8` in CP932 (windows-31j), as the core systems write their exports.
std::string cp932(const std::string& utf8);
void writeFile(const std::filesystem::path& path, const std::string& content);
/// Regular files directly in `dir`, by name, sorted; empty if no such folder.
std::vector<std::string> listFiles(const std::filesystem::path& dir);
/// The rejects file a route kept for the intake of `name` in `rejectsDir`
/// (`<name>.<12 hex digits of its hash>.rejects.jsonl`); throws unless there
/// is exactly one.
std::filesystem::path rejectsFile(const std::filesystem::path& rejectsDir, const std::string& name);
std::size_t countLines(const std::string& text);
/// A file's text, or "" while it does not exist (a child's log not yet made).
std::string textOf(const std::filesystem::path& path);
/// Every non-empty line of every file directly in `dir` (what a file sink wrote).
std::vector<std::string> linesIn(const std::filesystem::path& dir);
/// Polls `ready` every 50 ms for at most `seconds`; its last answer.
bool waitFor(const std::function<bool()>& ready, int seconds);

/// A required environment variable set by CTest (fails the test when missing).
std::string env(const char* name);

struct ProcessResult {
  int exitCode = -1;  ///< exit status, or -1 when killed by a signal
  int signal = 0;     ///< the killing signal, or 0
  std::string out;
  std::string err;
};

/// Runs `args` (args[0] is the program path) with extra environment
/// variables; waits for it; captures stdout and stderr.
ProcessResult run(const std::vector<std::string>& args, const std::map<std::string, std::string>& extraEnv = {},
                  const std::filesystem::path& cwd = {});

/// Creates an empty PostgreSQL database on the throwaway cluster (the
/// pg_start fixture; $ODBCINI names its DSN renkei_test) and returns an ODBC
/// connection string for it. The name starts with `prefix`.
std::string freshPostgresDatabase(const std::string& prefix);

/// A child process started without waiting; stdout and stderr go to files.
struct Child {
  int pid = -1;
  std::filesystem::path out, err;
  /// Waits for it; the result has the files' contents.
  ProcessResult wait();
  /// True (and the result filled) when it has ended already.
  bool finished(ProcessResult& result);
};
Child spawn(const std::vector<std::string>& args, const std::filesystem::path& outputStem,
            const std::map<std::string, std::string>& extraEnv = {});

/// A TCP port free on loopback now (bound and closed): for what must be
/// given a port before it starts (a ZeroMQ endpoint in a config). A
/// listener that can bind port 0 and say which it got is better.
int freePort();

/// An HTTP answer: its status and body.
struct HttpReply {
  int status = 0;
  std::string body;
};
/// GET http://127.0.0.1:<port><path> (throws when nothing answers).
HttpReply httpGet(int port, const std::string& path);
/// The admin listener's port from a host's log ("admin: <scheme>://127.0.0.1:PORT/metrics"),
/// waiting up to 20 s for the line; 0 when it never came.
int adminPort(const Child& child, const std::string& scheme = "http");

/// Path of the SQLite ODBC driver (Debian's libsqliteodbc); throws when it
/// is not installed.
std::string sqliteOdbcDriver();

/// Direct SQL through ODBC, for setting up and checking test databases (not
/// the code under test). Throws std::runtime_error naming the statement.
class OdbcDb {
 public:
  explicit OdbcDb(const std::string& connection);
  ~OdbcDb();
  OdbcDb(const OdbcDb&) = delete;
  OdbcDb& operator=(const OdbcDb&) = delete;
  void exec(const std::string& sql);
  /// Rows as "v1|v2|…" lines (NULL as "NULL").
  std::vector<std::string> rows(const std::string& sql);

 private:
  void* env_ = nullptr;
  void* dbc_ = nullptr;
};

/// A TCP connection to 127.0.0.1:`port` from the loopback address `from`
/// (127.0.0.2 …: another client address than the test's own), or -1.
int connectFrom(int port, const char* from);
/// Whether the server has closed `fd` (EOF or reset) within `ms`.
bool closedWithin(int fd, int ms);

/// Whether the test runs against PostgreSQL ($RENKEI_TEST_STORE=postgresql,
/// the *_postgres variants on the throwaway cluster) rather than SQLite.
bool onPostgres();

/// Path of the renkei binary under test ($RENKEI_BIN).
std::string renkeiBinary();

/// A real SMTP server (aiosmtpd, Debian's python3-aiosmtpd) on loopback
/// `port`, keeping what it receives as a Maildir; stopped with the object.
struct SmtpServer {
  TempDir dir;
  Child child;
  explicit SmtpServer(int port);
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;
  /// Every mail received so far, as its file's text.
  std::vector<std::string> mails() const;
  /// How many of them hold `what` (the bodies are UTF-8, 8bit).
  std::size_t count(const std::string& what) const;
};

}  // namespace renkei::test
