// A thin RAII layer over the ODBC C API for the odbc connector: one
// connection, prepared statements with text parameters, rows as text.
#pragma once

#include <sql.h>
#include <sqlext.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace renkei::connectors::odbc {

/// Failures carry the driver's diagnostics and never the connection string
/// (drivers echo PWD= in it).
class OdbcError : public std::runtime_error {
 public:
  OdbcError(const std::string& what, std::string state = {}) : std::runtime_error(what), state_(std::move(state)) {}
  /// The first diagnostic's SQLSTATE ("08001", "23505" …), or empty.
  const std::string& state() const { return state_; }

 private:
  std::string state_;
};

class OdbcConnection {
 public:
  /// Connects with SQLDriverConnect; `password`, when not empty, is added as
  /// PWD={…} and wiped from memory afterwards.
  OdbcConnection(const std::string& connection, std::string password);
  ~OdbcConnection();
  OdbcConnection(const OdbcConnection&) = delete;
  OdbcConnection& operator=(const OdbcConnection&) = delete;

  SQLHDBC handle() const { return dbc_; }
  void setAutocommit(bool on);
  void commit();
  void rollback() noexcept;

 private:
  SQLHENV env_ = SQL_NULL_HENV;
  SQLHDBC dbc_ = SQL_NULL_HDBC;
  bool connected_ = false;
};

/// A prepared statement. Parameters are text (drivers convert), numbered
/// from 1; values are read as text, NULL as nullopt.
class OdbcStatement {
 public:
  OdbcStatement(OdbcConnection& connection, const std::string& sql);
  ~OdbcStatement();
  OdbcStatement(const OdbcStatement&) = delete;
  OdbcStatement& operator=(const OdbcStatement&) = delete;

  /// Number of `?` parameters the driver reports.
  int parameterCount();
  /// Runs with these parameter values (empty optional: NULL).
  void execute(const std::vector<std::optional<std::string>>& parameters);
  /// Result column names (after execute).
  std::vector<std::string> columns();
  /// Next row into `values` (one per column); false at the end.
  bool fetch(std::vector<std::optional<std::string>>& values);
  /// Rows changed by the last execute.
  std::int64_t rowCount();

 private:
  [[noreturn]] void fail(const char* what);
  SQLHSTMT stmt_ = SQL_NULL_HSTMT;
  std::vector<std::optional<std::string>> bound_;
  std::vector<SQLLEN> indicators_;
  SQLSMALLINT columnCount_ = 0;
};

}  // namespace renkei::connectors::odbc
