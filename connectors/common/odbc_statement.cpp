// The ODBC C API behind RAII, for the odbc connector.
#include "odbc_statement.h"

#include <algorithm>

#include "renkei/sql_errors.h"

namespace renkei::connectors::odbc {
namespace {

bool succeeded(SQLRETURN rc) { return rc == SQL_SUCCESS || rc == SQL_SUCCESS_WITH_INFO; }

std::string firstState(SQLSMALLINT type, SQLHANDLE handle) {
  SQLCHAR state[6] = {};
  SQLCHAR text[8];
  SQLINTEGER native = 0;
  SQLSMALLINT length = 0;
  if (!SQL_SUCCEEDED(SQLGetDiagRec(type, handle, 1, state, &native, text, sizeof text, &length))) return {};
  return reinterpret_cast<char*>(state);
}

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

}  // namespace

OdbcConnection::OdbcConnection(const std::string& connection, std::string password) {
  SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env_);
  SQLSetEnvAttr(env_, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  SQLAllocHandle(SQL_HANDLE_DBC, env_, &dbc_);
  std::string cs = connection;
  if (!password.empty()) {
    if (!cs.empty() && cs.back() != ';') cs += ';';
    cs += "PWD={" + password + "};";
  }
  SQLCHAR out[2048];
  SQLSMALLINT outLength = 0;
  const SQLRETURN rc = SQLDriverConnect(dbc_, nullptr, reinterpret_cast<SQLCHAR*>(cs.data()), SQL_NTS, out,
                                        sizeof out, &outLength, SQL_DRIVER_NOPROMPT);
  std::fill(std::begin(out), std::end(out), 0);
  std::fill(cs.begin(), cs.end(), '\0');
  std::fill(password.begin(), password.end(), '\0');
  if (!succeeded(rc)) {
    const std::string why = diagnostics(SQL_HANDLE_DBC, dbc_);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
    SQLFreeHandle(SQL_HANDLE_ENV, env_);
    throw OdbcError("cannot connect: " + why, "08001");
  }
  connected_ = true;
}

OdbcConnection::~OdbcConnection() {
  if (connected_) SQLDisconnect(dbc_);
  SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
  SQLFreeHandle(SQL_HANDLE_ENV, env_);
}

void OdbcConnection::setAutocommit(bool on) {
  const auto value = on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF;
  if (!succeeded(SQLSetConnectAttr(dbc_, SQL_ATTR_AUTOCOMMIT, reinterpret_cast<SQLPOINTER>(value), 0)))
    throw OdbcError("cannot set autocommit: " + diagnostics(SQL_HANDLE_DBC, dbc_));
}

void OdbcConnection::commit() {
  if (!succeeded(SQLEndTran(SQL_HANDLE_DBC, dbc_, SQL_COMMIT)))
    throw OdbcError("commit failed: " + diagnostics(SQL_HANDLE_DBC, dbc_), firstState(SQL_HANDLE_DBC, dbc_));
}

void OdbcConnection::rollback() noexcept { SQLEndTran(SQL_HANDLE_DBC, dbc_, SQL_ROLLBACK); }

OdbcStatement::OdbcStatement(OdbcConnection& connection, const std::string& sql) {
  if (!succeeded(SQLAllocHandle(SQL_HANDLE_STMT, connection.handle(), &stmt_)))
    throw OdbcError("cannot allocate a statement: " + diagnostics(SQL_HANDLE_DBC, connection.handle()));
  if (!succeeded(SQLPrepare(stmt_, reinterpret_cast<SQLCHAR*>(const_cast<char*>(sql.c_str())), SQL_NTS)))
    fail("cannot prepare the statement");
}

OdbcStatement::~OdbcStatement() { SQLFreeHandle(SQL_HANDLE_STMT, stmt_); }

void OdbcStatement::fail(const char* what) {
  throw OdbcError(std::string(what) + ": " + diagnostics(SQL_HANDLE_STMT, stmt_), firstState(SQL_HANDLE_STMT, stmt_));
}

int OdbcStatement::parameterCount() {
  SQLSMALLINT n = 0;
  if (!succeeded(SQLNumParams(stmt_, &n))) fail("cannot count parameters");
  return n;
}

void OdbcStatement::execute(const std::vector<std::optional<std::string>>& parameters) {
  SQLFreeStmt(stmt_, SQL_CLOSE);
  bound_ = parameters;
  indicators_.assign(bound_.size(), 0);
  for (std::size_t i = 0; i < bound_.size(); ++i) {
    auto& p = bound_[i];
    indicators_[i] = p ? static_cast<SQLLEN>(p->size()) : SQL_NULL_DATA;
    const SQLULEN size = p && !p->empty() ? p->size() : 1;
    char* data = p ? p->data() : nullptr;
    if (!succeeded(SQLBindParameter(stmt_, static_cast<SQLUSMALLINT>(i + 1), SQL_PARAM_INPUT, SQL_C_CHAR,
                                    size > 4000 ? SQL_LONGVARCHAR : SQL_VARCHAR, size, 0, data,
                                    p ? static_cast<SQLLEN>(p->size()) : 0, &indicators_[i])))
      fail("cannot bind a parameter");
  }
  const SQLRETURN rc = SQLExecute(stmt_);
  if (rc != SQL_NO_DATA && !succeeded(rc)) fail("the statement failed");
  columnCount_ = 0;
  SQLNumResultCols(stmt_, &columnCount_);
}

std::vector<std::string> OdbcStatement::columns() {
  std::vector<std::string> names;
  for (SQLSMALLINT i = 1; i <= columnCount_; ++i) {
    SQLCHAR name[256];
    SQLSMALLINT length = 0, type = 0, digits = 0, nullable = 0;
    SQLULEN size = 0;
    if (!succeeded(SQLDescribeCol(stmt_, static_cast<SQLUSMALLINT>(i), name, sizeof name, &length, &type, &size,
                                  &digits, &nullable)))
      fail("cannot describe a column");
    names.emplace_back(reinterpret_cast<char*>(name), static_cast<std::size_t>(std::min<SQLSMALLINT>(length, 255)));
  }
  return names;
}

bool OdbcStatement::fetch(std::vector<std::optional<std::string>>& values) {
  if (columnCount_ == 0) return false;
  const SQLRETURN rc = SQLFetch(stmt_);
  if (rc == SQL_NO_DATA) return false;
  if (!succeeded(rc)) fail("cannot fetch a row");
  values.assign(static_cast<std::size_t>(columnCount_), std::nullopt);
  char buffer[4096];
  for (SQLSMALLINT c = 1; c <= columnCount_; ++c) {
    std::string text;
    bool isNull = false;
    for (;;) {
      SQLLEN length = 0;
      const SQLRETURN r = SQLGetData(stmt_, static_cast<SQLUSMALLINT>(c), SQL_C_CHAR, buffer, sizeof buffer, &length);
      if (r == SQL_NO_DATA) break;
      if (!succeeded(r)) fail("cannot read a column");
      if (length == SQL_NULL_DATA) {
        isNull = true;
        break;
      }
      if (r == SQL_SUCCESS_WITH_INFO && (length == SQL_NO_TOTAL || length >= static_cast<SQLLEN>(sizeof buffer))) {
        text.append(buffer, sizeof buffer - 1);
        continue;
      }
      text.append(buffer, static_cast<std::size_t>(length));
      break;
    }
    if (!isNull) values[static_cast<std::size_t>(c - 1)] = std::move(text);
  }
  return true;
}

std::int64_t OdbcStatement::rowCount() {
  SQLLEN rows = 0;
  SQLRowCount(stmt_, &rows);
  return rows < 0 ? 0 : rows;
}

}  // namespace renkei::connectors::odbc
