// Helpers shared by the test executables.
#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sql.h>
#include <sqlext.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>

#include "renkei/support/codec.h"
#include "test_support.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <iterator>
#include <regex>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fs = std::filesystem;

namespace renkei::test {

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "renkei-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string cp932(const std::string& utf8) {
  std::string out;
  text::CodecStats stats;
  text::findCodec("windows-31j")->encode(utf8, out, stats);
  return out;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::string> listFiles(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t countLines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string("environment variable ") + name + " is not set (run through ctest)");
  return v;
}

std::string renkeiBinary() { return env("RENKEI_BIN"); }

std::string freshPostgresDatabase(const std::string& prefix) {
  env("ODBCINI");  // only with the fixture's ini files
  static int counter = 0;
  const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  SQLHENV henv = SQL_NULL_HENV;
  SQLHDBC hdbc = SQL_NULL_HDBC;
  SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &henv);
  SQLSetEnvAttr(henv, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  SQLAllocHandle(SQL_HANDLE_DBC, henv, &hdbc);
  std::string cs = "DSN=renkei_test;";
  SQLRETURN rc = SQLDriverConnect(hdbc, nullptr, reinterpret_cast<SQLCHAR*>(cs.data()), SQL_NTS, nullptr, 0, nullptr,
                                  SQL_DRIVER_NOPROMPT);
  if (rc != SQL_SUCCESS && rc != SQL_SUCCESS_WITH_INFO) throw std::runtime_error("cannot connect to DSN renkei_test");
  SQLHSTMT stmt = SQL_NULL_HSTMT;
  SQLAllocHandle(SQL_HANDLE_STMT, hdbc, &stmt);
  std::string sql = "CREATE DATABASE " + name;
  rc = SQLExecDirect(stmt, reinterpret_cast<SQLCHAR*>(sql.data()), SQL_NTS);
  SQLFreeHandle(SQL_HANDLE_STMT, stmt);
  SQLDisconnect(hdbc);
  SQLFreeHandle(SQL_HANDLE_DBC, hdbc);
  SQLFreeHandle(SQL_HANDLE_ENV, henv);
  if (rc != SQL_SUCCESS && rc != SQL_SUCCESS_WITH_INFO) throw std::runtime_error("cannot create database " + name);
  return "DSN=renkei_test;Database=" + name + ";";
}

namespace {
ProcessResult collect(const Child& child, int status) {
  ProcessResult r;
  if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  std::error_code ec;
  if (fs::exists(child.out, ec)) r.out = readFile(child.out);
  if (fs::exists(child.err, ec)) r.err = readFile(child.err);
  return r;
}
}  // namespace

Child spawn(const std::vector<std::string>& args, const fs::path& outputStem,
            const std::map<std::string, std::string>& extraEnv) {
  Child c;
  c.out = outputStem.string() + ".out";
  c.err = outputStem.string() + ".err";
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (!std::freopen(c.out.c_str(), "w", stdout) || !std::freopen(c.err.c_str(), "w", stderr)) ::_exit(126);
    for (const auto& [k, v] : extraEnv) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  c.pid = pid;
  return c;
}

ProcessResult Child::wait() {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return collect(*this, status);
}

bool Child::finished(ProcessResult& result) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return false;
  result = collect(*this, status);
  return true;
}

namespace {
std::string drain(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}
}  // namespace

ProcessResult run(const std::vector<std::string>& args, const std::map<std::string, std::string>& extraEnv,
                  const fs::path& cwd) {
  int outPipe[2], errPipe[2];
  if (::pipe(outPipe) != 0 || ::pipe(errPipe) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(outPipe[1], 1);
    ::dup2(errPipe[1], 2);
    ::close(outPipe[0]);
    ::close(errPipe[0]);
    ::close(outPipe[1]);
    ::close(errPipe[1]);
    for (const auto& [k, v] : extraEnv) ::setenv(k.c_str(), v.c_str(), 1);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  ProcessResult r;
  std::thread errReader([&] { r.err = drain(errPipe[0]); });
  r.out = drain(outPipe[0]);
  errReader.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

std::string sqliteOdbcDriver() {
  glob_t g{};
  std::string found;
  if (::glob("/usr/lib/*/odbc/libsqlite3odbc.so", 0, nullptr, &g) == 0 && g.gl_pathc > 0) found = g.gl_pathv[0];
  globfree(&g);
  if (found.empty()) throw std::runtime_error("the SQLite ODBC driver (libsqliteodbc) is not installed");
  return found;
}

OdbcDb::OdbcDb(const std::string& connection) {
  SQLHENV env = SQL_NULL_HENV;
  SQLHDBC dbc = SQL_NULL_HDBC;
  SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env);
  SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc);
  env_ = env;
  dbc_ = dbc;
  std::string cs = connection;
  const SQLRETURN rc = SQLDriverConnect(dbc, nullptr, reinterpret_cast<SQLCHAR*>(cs.data()), SQL_NTS, nullptr, 0,
                                        nullptr, SQL_DRIVER_NOPROMPT);
  if (!SQL_SUCCEEDED(rc)) {
    SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    SQLFreeHandle(SQL_HANDLE_ENV, env);
    throw std::runtime_error("cannot connect to the test database");
  }
}

OdbcDb::~OdbcDb() {
  SQLDisconnect(static_cast<SQLHDBC>(dbc_));
  SQLFreeHandle(SQL_HANDLE_DBC, static_cast<SQLHDBC>(dbc_));
  SQLFreeHandle(SQL_HANDLE_ENV, static_cast<SQLHENV>(env_));
}

void OdbcDb::exec(const std::string& sql) {
  SQLHSTMT s = SQL_NULL_HSTMT;
  SQLAllocHandle(SQL_HANDLE_STMT, static_cast<SQLHDBC>(dbc_), &s);
  const SQLRETURN rc = SQLExecDirect(s, reinterpret_cast<SQLCHAR*>(const_cast<char*>(sql.c_str())), SQL_NTS);
  SQLFreeHandle(SQL_HANDLE_STMT, s);
  if (!SQL_SUCCEEDED(rc) && rc != SQL_NO_DATA) throw std::runtime_error("failed: " + sql);
}

std::vector<std::string> OdbcDb::rows(const std::string& sql) {
  SQLHSTMT s = SQL_NULL_HSTMT;
  SQLAllocHandle(SQL_HANDLE_STMT, static_cast<SQLHDBC>(dbc_), &s);
  std::vector<std::string> out;
  if (SQL_SUCCEEDED(SQLExecDirect(s, reinterpret_cast<SQLCHAR*>(const_cast<char*>(sql.c_str())), SQL_NTS))) {
    SQLSMALLINT cols = 0;
    SQLNumResultCols(s, &cols);
    while (SQL_SUCCEEDED(SQLFetch(s))) {
      std::string line;
      for (SQLSMALLINT c = 1; c <= cols; ++c) {
        char buf[1024];
        SQLLEN len = 0;
        SQLGetData(s, static_cast<SQLUSMALLINT>(c), SQL_C_CHAR, buf, sizeof buf, &len);
        line += (c > 1 ? "|" : "") +
                (len == SQL_NULL_DATA ? std::string("NULL") : std::string(buf, static_cast<std::size_t>(len)));
      }
      out.push_back(line);
    }
  }
  SQLFreeHandle(SQL_HANDLE_STMT, s);
  return out;
}

std::filesystem::path rejectsFile(const std::filesystem::path& rejectsDir, const std::string& name) {
  std::vector<std::filesystem::path> found;
  for (const std::string& f : listFiles(rejectsDir))
    if (f.size() == name.size() + 1 + 12 + 14 && f.rfind(name + ".", 0) == 0 &&
        f.compare(f.size() - 14, 14, ".rejects.jsonl") == 0)
      found.push_back(rejectsDir / f);
  if (found.size() != 1)
    throw std::runtime_error(std::to_string(found.size()) + " rejects files for '" + name + "' in " +
                             rejectsDir.string());
  return found.front();
}

std::string textOf(const std::filesystem::path& path) {
  return std::filesystem::exists(path) ? readFile(path) : std::string();
}

std::vector<std::string> linesIn(const std::filesystem::path& dir) {
  std::vector<std::string> lines;
  for (const std::string& f : listFiles(dir)) {
    std::istringstream in(readFile(dir / f));
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) lines.push_back(l);
  }
  return lines;
}

bool waitFor(const std::function<bool()>& ready, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ready();
}

int connectFrom(int port, const char* from) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), -1;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) return ::close(fd), -1;
  return fd;
}

bool closedWithin(int fd, int ms) {
  // What the server sent first (a greeting) is read past: only the end counts.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n <= 0) return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
}

int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  const int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

HttpReply httpGet(int port, const std::string& path) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  return {static_cast<int>(response.getStatus()), std::string(std::istreambuf_iterator<char>(in), {})};
}

int adminPort(const Child& child, const std::string& scheme) {
  int port = 0;
  const std::regex line("admin: " + scheme + "://127\\.0\\.0\\.1:([0-9]+)/metrics");
  waitFor(
      [&] {
        std::smatch m;
        if (!fs::exists(child.err)) return false;
        const std::string err = readFile(child.err);
        if (std::regex_search(err, m, line)) port = std::stoi(m[1]);
        return port != 0;
      },
      20);
  return port;
}

bool onPostgres() {
  const char* s = std::getenv("RENKEI_TEST_STORE");
  return s && std::string(s) == "postgresql";
}

SmtpServer::SmtpServer(int port) {
  child = spawn({"/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:" + std::to_string(port), "-c",
                 "aiosmtpd.handlers.Mailbox", (dir / "maildir").string()},
                dir / "smtp");
}

SmtpServer::~SmtpServer() {
  ::kill(child.pid, SIGTERM);
  child.wait();
}

std::vector<std::string> SmtpServer::mails() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir / "maildir/new", ec)) return out;
  for (const auto& f : fs::directory_iterator(dir / "maildir/new")) out.push_back(readFile(f.path()));
  return out;
}

std::size_t SmtpServer::count(const std::string& what) const {
  std::size_t n = 0;
  for (const std::string& m : mails()) n += m.find(what) != std::string::npos;
  return n;
}

}  // namespace renkei::test
