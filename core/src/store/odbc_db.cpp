// SqlDatabase over ODBC, for PostgreSQL through psqlODBC. Text goes as
// SQL_C_CHAR UTF-8 (the cluster's encoding is UTF8); errors carry the
// driver's diagnostic, never the connection string (psqlODBC echoes PWD=).
#include <sql.h>
#include <sqlext.h>

#include <vector>

#include "renkei/sql_errors.h"
#include "store/sql_db.h"
#include "store/store.h"

#include <Poco/Logger.h>

#include <chrono>

namespace renkei::store {
namespace {

std::string diagnostics(SQLSMALLINT type, SQLHANDLE handle) {
  std::string out;
  SQLCHAR state[6];
  SQLCHAR text[1024];
  SQLINTEGER native = 0;
  SQLSMALLINT length = 0;
  for (SQLSMALLINT i = 1; SQLGetDiagRec(type, handle, i, state, &native, text, sizeof text, &length) == SQL_SUCCESS;
       ++i) {
    if (!out.empty()) out += "; ";
    // Never the driver's text itself: its DETAIL quotes the row's values.
    out += describeSqlError(reinterpret_cast<char*>(state), reinterpret_cast<char*>(text));
    if (i >= 4) break;
  }
  return out.empty() ? "unknown ODBC error" : out;
}

bool succeeded(SQLRETURN rc) { return rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO; }

// The advisory lock id renkei takes while creating or migrating its schema.
constexpr const char* kSchemaLock = "7367284501";

class OdbcStatement final : public SqlStatement {
 public:
  OdbcStatement(SQLHDBC dbc, const std::string& sql, const std::string& where) : where_(where) {
    if (!succeeded(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &stmt_)))
      throw StoreError(where_ + ": cannot allocate a statement: " + diagnostics(SQL_HANDLE_DBC, dbc));
    if (!succeeded(SQLPrepare(stmt_, reinterpret_cast<SQLCHAR*>(const_cast<char*>(sql.c_str())), SQL_NTS)))
      fail("cannot prepare a statement");
  }
  ~OdbcStatement() override { SQLFreeHandle(SQL_HANDLE_STMT, stmt_); }

  SqlStatement& bind(int i, std::string_view v) override {
    Param& p = param(i);
    p.isInt = false;
    p.text.assign(v);
    return *this;
  }
  SqlStatement& bind(int i, std::int64_t v) override {
    Param& p = param(i);
    p.isInt = true;
    p.integer = v;
    return *this;
  }
  bool next() override {
    if (!executed_) execute();
    if (done_ || !hasResult_) return false;
    const SQLRETURN rc = SQLFetch(stmt_);
    if (rc == SQL_NO_DATA) {
      done_ = true;
      return false;
    }
    if (!succeeded(rc)) fail("cannot fetch a row");
    return true;
  }
  std::int64_t run() override {
    if (!executed_) execute();
    SQLLEN rows = 0;
    SQLRowCount(stmt_, &rows);
    return rows < 0 ? 0 : rows;
  }
  std::string text(int col) override {
    std::string out;
    char buffer[8192];
    for (;;) {
      SQLLEN length = 0;
      const SQLRETURN rc =
          SQLGetData(stmt_, static_cast<SQLUSMALLINT>(col + 1), SQL_C_CHAR, buffer, sizeof buffer, &length);
      if (rc == SQL_NO_DATA) break;
      if (!succeeded(rc)) fail("cannot read a column");
      if (length == SQL_NULL_DATA) break;
      if (rc == SQL_SUCCESS_WITH_INFO && (length == SQL_NO_TOTAL || length >= static_cast<SQLLEN>(sizeof buffer))) {
        out.append(buffer, sizeof buffer - 1);  // truncated: the rest follows
        continue;
      }
      out.append(buffer, static_cast<std::size_t>(length));
      break;
    }
    return out;
  }
  std::int64_t integer(int col) override {
    SQLBIGINT value = 0;
    SQLLEN length = 0;
    if (!succeeded(SQLGetData(stmt_, static_cast<SQLUSMALLINT>(col + 1), SQL_C_SBIGINT, &value, 0, &length)))
      fail("cannot read a column");
    return length == SQL_NULL_DATA ? 0 : static_cast<std::int64_t>(value);
  }
  void reset() override {
    SQLFreeStmt(stmt_, SQL_CLOSE);
    SQLFreeStmt(stmt_, SQL_RESET_PARAMS);
    executed_ = done_ = hasResult_ = false;
  }

 private:
  struct Param {
    bool isInt = false;
    std::string text;
    SQLBIGINT integer = 0;
    SQLLEN indicator = 0;
  };

  Param& param(int i) {
    if (static_cast<std::size_t>(i) > params_.size()) params_.resize(static_cast<std::size_t>(i));
    return params_[static_cast<std::size_t>(i - 1)];
  }

  void execute() {
    executed_ = true;
    for (std::size_t i = 0; i < params_.size(); ++i) {
      Param& p = params_[i];
      SQLRETURN rc;
      if (p.isInt) {
        p.indicator = 0;
        rc = SQLBindParameter(stmt_, static_cast<SQLUSMALLINT>(i + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
                              &p.integer, 0, &p.indicator);
      } else {
        p.indicator = static_cast<SQLLEN>(p.text.size());
        const SQLULEN size = p.text.empty() ? 1 : p.text.size();
        rc = SQLBindParameter(stmt_, static_cast<SQLUSMALLINT>(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR,
                              p.text.size() > 4000 ? SQL_LONGVARCHAR : SQL_VARCHAR, size, 0, p.text.data(),
                              static_cast<SQLLEN>(p.text.size()), &p.indicator);
      }
      if (!succeeded(rc)) fail("cannot bind a parameter");
    }
    const SQLRETURN rc = SQLExecute(stmt_);
    if (rc == SQL_NO_DATA) {  // an UPDATE or DELETE that touched no row
      hasResult_ = false;
      return;
    }
    if (!succeeded(rc)) fail("statement failed");
    SQLSMALLINT columns = 0;
    SQLNumResultCols(stmt_, &columns);
    hasResult_ = columns > 0;
  }

  [[noreturn]] void fail(const char* what) {
    throw StoreError(where_ + ": " + what + ": " + diagnostics(SQL_HANDLE_STMT, stmt_));
  }

  const std::string& where_;
  SQLHSTMT stmt_ = SQL_NULL_HSTMT;
  std::vector<Param> params_;
  bool executed_ = false;
  bool hasResult_ = false;
  bool done_ = false;
};

class OdbcDatabase final : public SqlDatabase {
 public:
  OdbcDatabase(const std::string& connection, const std::string& password)
      : connection_(connection), password_(password) {
    SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env_);
    SQLSetEnvAttr(env_, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
    SQLAllocHandle(SQL_HANDLE_DBC, env_, &dbc_);
    if (const std::string why = connect(); !why.empty()) {
      SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
      SQLFreeHandle(SQL_HANDLE_ENV, env_);
      throw StoreError("postgresql store: cannot connect: " + why);
    }
    // Hosts starting together would race on CREATE TABLE IF NOT EXISTS (a
    // unique violation in pg_type): the first creates it under a lock.
    exec("SELECT pg_advisory_lock(" + std::string(kSchemaLock) + ")");
    try {
      exec("CREATE TABLE IF NOT EXISTS renkei_schema (version INTEGER NOT NULL)");
    } catch (...) {
      exec("SELECT pg_advisory_unlock(" + std::string(kSchemaLock) + ")");
      throw;
    }
    exec("SELECT pg_advisory_unlock(" + std::string(kSchemaLock) + ")");
  }
  ~OdbcDatabase() override {
    if (connected_) SQLDisconnect(dbc_);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
    SQLFreeHandle(SQL_HANDLE_ENV, env_);
    std::fill(password_.begin(), password_.end(), '\0');
  }

  /// A connection the server dropped (a restart, a failover, a terminated
  /// backend) is opened again before the next transaction, with backoff
  /// (1 s doubling to 30 s); each change of state is logged once.
  void ensureConnected() {
    if (connected_) {
      SQLUINTEGER dead = SQL_CD_FALSE;
      if (!succeeded(SQLGetConnectAttr(dbc_, SQL_ATTR_CONNECTION_DEAD, &dead, 0, nullptr)) || dead != SQL_CD_TRUE)
        return;
      SQLDisconnect(dbc_);
      connected_ = false;
      backoff_ = std::chrono::seconds(1);
      nextTry_ = std::chrono::steady_clock::now();
      log().warning("postgresql store: the connection to the server was lost; reconnecting");
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < nextTry_)
      throw StoreError("postgresql store: not connected (the server went away); next attempt in " +
                       std::to_string(std::chrono::duration_cast<std::chrono::seconds>(nextTry_ - now).count() + 1) +
                       " s");
    if (const std::string why = connect(); !why.empty()) {
      nextTry_ = now + backoff_;
      const auto wait = backoff_;
      backoff_ = std::min<std::chrono::seconds>(backoff_ * 2, std::chrono::seconds(30));
      throw StoreError("postgresql store: cannot reconnect: " + why + "; next attempt in " +
                       std::to_string(wait.count()) + " s");
    }
    log().notice("postgresql store: connected to the server again");
  }

  Dialect dialect() const override { return Dialect::Postgres; }
  std::string describe() const override { return "postgresql store"; }
  std::unique_ptr<SqlStatement> prepare(const std::string& sql) override {
    ensureConnected();
    return std::make_unique<OdbcStatement>(dbc_, sql, where_);
  }
  void verify() override {
    // Cheap and bounded: a lost connection is reopened here (with backoff)
    // before intake claims anything it could not register.
    ensureConnected();
    exec("SELECT 1");
  }
  void exec(const std::string& sql) override {
    ensureConnected();
    SQLHSTMT stmt = SQL_NULL_HSTMT;
    SQLAllocHandle(SQL_HANDLE_STMT, dbc_, &stmt);
    const SQLRETURN rc = SQLExecDirect(stmt, reinterpret_cast<SQLCHAR*>(const_cast<char*>(sql.c_str())), SQL_NTS);
    std::string why;
    if (!succeeded(rc) && rc != SQL_NO_DATA) why = diagnostics(SQL_HANDLE_STMT, stmt);
    SQLFreeHandle(SQL_HANDLE_STMT, stmt);
    if (!why.empty()) throw StoreError(where_ + ": " + why);
  }
  void begin() override {
    ensureConnected();
    if (!succeeded(SQLSetConnectAttr(dbc_, SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_OFF), 0)))
      throw StoreError(where_ + ": cannot begin a transaction: " + diagnostics(SQL_HANDLE_DBC, dbc_));
  }
  void commit() override {
    const SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, dbc_, SQL_COMMIT);
    const std::string why = succeeded(rc) ? std::string() : diagnostics(SQL_HANDLE_DBC, dbc_);
    SQLSetConnectAttr(dbc_, SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_ON), 0);
    if (!why.empty()) throw StoreError(where_ + ": commit failed: " + why);
  }
  void rollback() noexcept override {
    SQLEndTran(SQL_HANDLE_DBC, dbc_, SQL_ROLLBACK);
    SQLSetConnectAttr(dbc_, SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(SQL_AUTOCOMMIT_ON), 0);
  }
  int schemaVersion() override {
    auto s = prepare("SELECT COALESCE(MAX(version), 0) FROM renkei_schema");
    return s->next() ? static_cast<int>(s->integer(0)) : 0;
  }
  // Serialises two hosts migrating at once: the second waits here, then sees
  // the new version.
  void lockSchema() override { exec("LOCK TABLE renkei_schema IN EXCLUSIVE MODE"); }
  void setSchemaVersion(int v) override {
    exec("DELETE FROM renkei_schema");
    exec("INSERT INTO renkei_schema (version) VALUES (" + std::to_string(v) + ")");
  }

 private:
  static Poco::Logger& log() {
    static Poco::Logger& l = Poco::Logger::get("renkei.store");
    return l;
  }

  /// Connects; returns "" or why not (never the connection string).
  std::string connect() {
    std::string cs = connection_;
    if (!password_.empty()) {
      if (!cs.empty() && cs.back() != ';') cs += ';';
      cs += "PWD={" + password_ + "};";
    }
    SQLCHAR out[2048];
    SQLSMALLINT outLength = 0;
    const SQLRETURN rc = SQLDriverConnect(dbc_, nullptr, reinterpret_cast<SQLCHAR*>(cs.data()), SQL_NTS, out,
                                          sizeof out, &outLength, SQL_DRIVER_NOPROMPT);
    // The out-connection-string holds the password: wiped, never shown.
    std::fill(std::begin(out), std::end(out), 0);
    std::fill(cs.begin(), cs.end(), '\0');
    if (!succeeded(rc)) return diagnostics(SQL_HANDLE_DBC, dbc_);
    connected_ = true;
    try {
      exec("SET client_min_messages = warning");
    } catch (const StoreError& e) {
      SQLDisconnect(dbc_);
      connected_ = false;
      return e.what();
    }
    return {};
  }

  std::string where_ = "postgresql store";
  std::string connection_;
  std::string password_;  ///< kept for reconnecting; wiped at destruction
  SQLHENV env_ = SQL_NULL_HENV;
  SQLHDBC dbc_ = SQL_NULL_HDBC;
  bool connected_ = false;
  std::chrono::seconds backoff_{1};
  std::chrono::steady_clock::time_point nextTry_{};
};

}  // namespace

std::unique_ptr<SqlDatabase> openOdbcPostgres(const std::string& connection, const std::string& password) {
  return std::make_unique<OdbcDatabase>(connection, password);
}

}  // namespace renkei::store
