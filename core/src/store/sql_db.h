// The little a store needs from a SQL database: prepared statements with
// positional parameters, rows, transactions. Implemented over SQLite's C API
// and over ODBC (PostgreSQL through psqlODBC), so one SqlStore serves both.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace renkei::store {

/// A prepared statement. Parameters are numbered from 1, columns from 0.
/// Errors throw StoreError naming the store, never a parameter's value.
class SqlStatement {
 public:
  virtual ~SqlStatement() = default;
  virtual SqlStatement& bind(int index, std::string_view text) = 0;
  /// Binds large text without copying it: the caller keeps `text` alive
  /// until the statement has run.
  virtual SqlStatement& bindLarge(int index, std::string_view text) { return bind(index, text); }
  virtual SqlStatement& bind(int index, std::int64_t value) = 0;
  /// Executes on the first call; true while a row is available.
  virtual bool next() = 0;
  /// Executes a statement that returns no rows; returns the rows changed.
  virtual std::int64_t run() = 0;
  virtual std::string text(int column) = 0;
  virtual std::int64_t integer(int column) = 0;
  /// Makes the statement ready to run again with new parameters.
  virtual void reset() = 0;
};

enum class Dialect { Sqlite, Postgres };

class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  virtual Dialect dialect() const = 0;
  virtual std::string describe() const = 0;
  virtual std::unique_ptr<SqlStatement> prepare(const std::string& sql) = 0;
  /// Runs one or more statements without parameters.
  virtual void exec(const std::string& sql) = 0;
  /// Starts a transaction that will write (SQLite takes the write lock now,
  /// so two processes never deadlock upgrading a read lock).
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  /// The schema version stored in the database (0 when new).
  virtual int schemaVersion() = 0;
  /// Sets it inside the current transaction.
  virtual void setSchemaVersion(int version) = 0;
  /// Inside a transaction: waits until no other process is migrating.
  virtual void lockSchema() {}
  /// Housekeeping a writer left to others (SQLite: a WAL checkpoint).
  virtual void maintain() {}
  /// Throws StoreGone when the path no longer names the opened database.
  virtual void verify() {}
};

/// `autoCheckpoint` false: this connection's commits never copy the WAL into
/// the database; another connection calls maintain() for it.
/// `create` false: a missing file is StoreMissing (operator commands never
/// create a store).
std::unique_ptr<SqlDatabase> openSqlite(const std::string& path, bool fullSync, bool autoCheckpoint,
                                        bool create = true);
/// `connection` is an ODBC connection string; the password may come from
/// `password` (read from a file or the environment by the caller) and is
/// never part of an error message.
std::unique_ptr<SqlDatabase> openOdbcPostgres(const std::string& connection, const std::string& password);

struct StoreConfig;
/// Opens the database a store config names (the password from its file or
/// $RENKEI_STORE_PASSWORD).
std::unique_ptr<SqlDatabase> openDatabase(const StoreConfig& config);

}  // namespace renkei::store
