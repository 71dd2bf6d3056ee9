// State a plugin keeps in the host's store (design §3: modules keep their
// state there, so it is backed up, shared by hosts on one PostgreSQL and
// survives restarts with the pipeline it belongs to).
//
// SQL is written for both stores the host supports (SQLite 3.40 and
// PostgreSQL 15): TEXT and BIGINT columns, `?` parameters, INSERT … ON
// CONFLICT … DO UPDATE, no dialect-only functions. Tables are named through
// table(), which prefixes them with the plugin instance so two instances of
// one plugin never share a table.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace renkei {

/// The store failed (down, locked too long, a constraint). The message names
/// the statement's table and the reason, never a parameter's value.
class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A statement parameter: text or integer.
using StateValue = std::variant<std::int64_t, std::string>;

/// The rows of one query, read forward. Columns are numbered from 0.
class StateRows {
 public:
  virtual ~StateRows() = default;
  virtual bool next() = 0;
  virtual std::string text(int column) = 0;
  virtual std::int64_t integer(int column) = 0;
};

/// Statements inside one transaction (write()) or one read (read()).
class StateSession {
 public:
  virtual ~StateSession() = default;
  /// Runs a statement that returns no rows; returns the rows changed.
  virtual std::int64_t run(const std::string& sql, const std::vector<StateValue>& params = {}) = 0;
  /// Runs a query and calls `row` for each row.
  virtual void query(const std::string& sql, const std::vector<StateValue>& params,
                     const std::function<void(StateRows&)>& row) = 0;
  /// The id of the row an INSERT into a table with an `id` BIGINT primary
  /// key made; use instead of dialect-specific RETURNING/last-id calls.
  virtual std::int64_t insertReturningId(const std::string& sql, const std::vector<StateValue>& params) = 0;
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  /// "sqlite" or "postgresql", for the rare statement that must differ.
  virtual std::string dialect() const = 0;
  /// The store's name for this instance's table `name` ([a-z0-9_]).
  virtual std::string table(std::string_view name) const = 0;
  /// Brings this instance's tables to the latest version: step i (from 1)
  /// runs once, in order, each in its own transaction; hosts starting
  /// together run each step once. Write table names as {name} and they are
  /// replaced by table(name). Throws StateError.
  virtual void migrate(const std::vector<std::string>& steps) = 0;
  /// Runs `work` in one write transaction (committed when it returns, rolled
  /// back when it throws). Writers are serialised; keep the work short.
  virtual void write(const std::function<void(StateSession&)>& work) = 0;
  /// Runs `work` on a read connection (SQLite: the calling thread's own;
  /// PostgreSQL: one of a small pool): sees every committed write, never
  /// waits for a writer. Safe from many threads at once.
  virtual void read(const std::function<void(StateSession&)>& work) = 0;
};

}  // namespace renkei
