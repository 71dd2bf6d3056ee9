// The register kit: what a connector for a core system's exports needs to
// keep a keyed register in the host's store and tell what each export
// changed. The resident connector is built on it; the family-registry,
// welfare and 中間DB connectors are to be. A plugin keeps its own domain
// (which fields, which events); the kit keeps what every such connector
// does the same way:
//
//   Register      one entity type's snapshots by key (named text columns
//                 and whether the entity is current), in a table of the
//                 plugin's state; look-ups by key or by a column, written
//                 in key order with the export's unit
//   Pass          one export against the register: full or differential,
//                 the baseline (the first export raises no events), the
//                 previous snapshot of a key, what changed, what a full
//                 extract leaves out (removals)
//   RemovalGuard  a full extract that would end too many (a cut-off file)
//                 is not applied
//   ExportLedger  the exports applied, by content (the same export twice,
//                 under any name, changes nothing twice)
//   HeldExports   held/ beside the drop folder: a held export with its
//                 reason, listed and released by an operator (command line
//                 and console), recorded by name and content with who
//
// Header/data/trailer files and their count checks are the layout's
// (<header>, <trailer count-field>): an export whose trailer disagrees is
// refused whole by the host before any of this runs.
//
// In connectors/common, not the SDK: its shape follows the connectors built
// on it for now; a plugin outside this tree links librenkei_connectors as
// the ones here do, and the kit moves into the SDK once its shape is settled
// (the SDK's ABI is a promise; this is not yet).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "renkei/sdk.h"

namespace renkei::kit {

/// A connector whose exports arrive by file drop or ODBC view (the shared
/// transports) and get a domain pass in prepare(): the source side every
/// core-system connector shares. The transport's items, rejects, warnings
/// and requeue are the transport's.
class ExportConnector : public Connector, public Source {
 public:
  Source* source() override { return this; }
  std::vector<Intake> recover() override { return inner_->source()->recover(); }
  std::optional<Intake> claim() override { return inner_->source()->claim(); }
  Outcome finish(const Intake& item, Disposition disposition, const std::string& reason) override {
    return inner_->source()->finish(item, disposition, reason);
  }
  Outcome writeRejects(const Intake& item, const std::string& jsonl) override {
    return inner_->source()->writeRejects(item, jsonl);
  }
  Outcome writeWarnings(const Intake& item, const std::string& jsonl) override {
    return inner_->source()->writeWarnings(item, jsonl);
  }
  bool keepsItems() const override { return inner_->source()->keepsItems(); }
  /// Exports waiting in held/ for an operator: a problem until released or removed.
  std::vector<Problem> problems() override;
  std::string itemsHold(const std::string& sensitive) override { return inner_->source()->itemsHold(sensitive); }
  Outcome requeue(const std::string& name, const std::string& sha256) override {
    return inner_->source()->requeue(name, sha256);
  }

 protected:
  /// Sets up `transport` ("file": a drop folder, `directory` … as for the
  /// file connector; "odbc": a polled view, `connection`, `query`, `spool` …)
  /// from the same settings. Throws ConfigError naming a missing key.
  void configureTransport(const Settings& settings, const HostContext& context, const std::string& transport);
  /// Takes a claimed export back into `held` (with `reason` beside it), or,
  /// without held/ (odbc) or when it cannot be moved there (a name held
  /// already), refuses it through the transport (error/) — never taken in.
  void holdExport(const Intake& item, const std::string& reason, class HeldExports* held, Poco::Logger& log);
  std::unique_ptr<Connector> inner_;
  std::filesystem::path directory_;  ///< the drop folder (file transport): held/ lives beside in/
  std::unique_ptr<class HeldExports> held_;  ///< file transport: held/ and the releases
};

/// A list of short values as one text column (a JSON array of strings), and
/// back (`n` values; missing ones empty).
std::string textArray(const std::vector<std::string>& values);
std::vector<std::string> arrayValues(const std::string& text, std::size_t n);

/// A connector's key table: its own keys, then both transports' (passed
/// through; a key a transport requires is optional here, and
/// configureTransport checks it for the one chosen).
std::vector<renkei_config_key> withTransportKeys(const renkei_config_key* own, std::size_t n);

/// One entity's state as the register keeps it.
struct Snapshot {
  std::vector<std::string> values;  ///< in RegisterSpec::columns order
  bool current = true;              ///< false once ended (moved out, died, left a programme …)
};

/// Where an entity type's register lives: a table of the plugin's state
/// with a text key, named text columns and `current_flag`.
struct RegisterSpec {
  std::string table;                 ///< the state table's name ("register")
  std::string key;                   ///< the key column ("resident_code")
  std::vector<std::string> columns;  ///< the value columns, in order ("household_no", …)
  std::vector<std::string> indexed;  ///< columns looked up by (byColumn), indexed
};

class Register {
 public:
  Register(StateStore& state, RegisterSpec spec);

  /// The migration step that makes the table and its indexes (for the
  /// plugin's own list of steps; a connector whose table exists already
  /// keeps its own step).
  static std::string createStep(const RegisterSpec& spec);

  const RegisterSpec& spec() const { return spec_; }
  /// Column `name`'s position in Snapshot::values; throws std::logic_error.
  std::size_t column(const std::string& name) const;

  bool empty();
  /// Every entity (a full extract compares against all of them).
  std::unordered_map<std::string, Snapshot> all();
  std::optional<Snapshot> find(StateSession& s, const std::string& key);
  /// Many keys in few statements (500 a statement): those found.
  void findMany(StateSession& s, const std::vector<std::string>& keys,
                const std::function<void(const std::string& key, Snapshot)>& each);
  /// The entities whose `column` is one of `values`, likewise.
  void byColumnMany(StateSession& s, const std::string& column, const std::vector<std::string>& values,
                    const std::function<void(const std::string& key, Snapshot)>& each);
  void byColumn(StateSession& s, const std::string& column, const std::string& value,
                const std::function<void(const std::string& key, Snapshot)>& each);
  /// Upserts `rows` (sorted by key: the B-tree then grows at its end).
  void write(StateSession& s, const std::vector<const std::pair<const std::string, Snapshot>*>& rows);

 private:
  void whereIn(StateSession& s, const std::string& column, const std::vector<std::string>& values,
               const std::function<void(const std::string& key, Snapshot)>& each);
  StateStore& state_;
  RegisterSpec spec_;
  std::string table_, select_, upsert_;
};

/// A register offered to the host's other plugins (renkei/registers.h):
/// searched by its key (under `keyName`) or by an indexed column, answering
/// with the columns named in `shared` (identifiers only).
class OfferedRegister final : public RegisterLookup {
 public:
  OfferedRegister(Register& reg, StateStore& state, std::string keyName, std::vector<std::string> byColumns,
                  std::vector<std::string> shared);
  std::vector<std::string> keys() const override;
  std::optional<RegisterEntry> find(const std::string& keyName, const std::string& value) override;
  std::map<std::string, RegisterEntry> findMany(const std::string& keyName,
                                                const std::vector<std::string>& values) override;

 private:
  RegisterEntry entry(const std::string& key, const Snapshot& s) const;
  Register& reg_;
  StateStore& state_;
  std::string keyName_;
  std::vector<std::string> byColumns_, shared_;
};

/// What one export does to a register, gathered while it is read.
class Pass {
 public:
  Pass(Register& reg, bool full);
  bool full() const { return full_; }
  /// The first export into an empty register: it raises no events (with
  /// nothing known before it, everyone would "arrive").
  bool baseline() const { return baseline_; }

  /// What the register (or an earlier row of this export) says of `key`;
  /// for a full extract it also marks `key` as seen.
  std::optional<Snapshot> previous(StateSession& s, const std::string& key);
  /// `key`'s state after this export (the last row of one key wins).
  void change(const std::string& key, Snapshot next) { after_[key] = std::move(next); }

  /// Full extract: the current entities it does not list.
  struct Missing {
    std::size_t current = 0, removed = 0;
  };
  Missing missing() const;
  /// Full extract: ends every current entity it does not list (current =
  /// false in the changes); `each` sees each one's last snapshot.
  void endMissing(const std::function<void(const std::string& key, const Snapshot&)>& each);

  const std::unordered_map<std::string, Snapshot>& changes() const { return after_; }
  /// The changes, sorted by key, for Register::write in the unit's commit;
  /// the pass gives them up (a full extract holds 100,000s).
  std::shared_ptr<std::unordered_map<std::string, Snapshot>> takeChanges();

 private:
  Register& reg_;
  bool full_ = false, baseline_ = false;
  std::unordered_map<std::string, Snapshot> before_;  // full extract: the register before it
  std::unordered_set<std::string> seen_;              // full extract: the keys it lists
  std::unordered_map<std::string, Snapshot> after_;   // the keys it changes
};

/// Register::write's order for `changes`.
std::vector<const std::pair<const std::string, Snapshot>*> sortedRows(
    const std::unordered_map<std::string, Snapshot>& changes);

/// A full extract that would end more than `maxPercent` of the current
/// entities (and more than `alwaysAllowed`) is held.
struct RemovalGuard {
  int maxPercent = 5;
  std::size_t alwaysAllowed = 10;
  bool tooMany(const Pass::Missing& m) const {
    return m.removed > alwaysAllowed && m.removed * 100 > static_cast<std::size_t>(maxPercent) * m.current;
  }
};

/// The exports applied, by content: (sha256, name, kind, applied_ms, and
/// the counts the plugin names; with `made`, the date the export says it
/// was made, from its header record).
class ExportLedger {
 public:
  ExportLedger(StateStore& state, std::string table, std::vector<std::string> counts, bool made = false);
  /// The migration step for a new table.
  static std::string createStep(const std::string& table, const std::vector<std::string>& counts);
  /// The later step that adds `made` (YYYY-MM-DD, '' when unknown).
  static std::string madeStep(const std::string& table);
  bool applied(const std::string& sha256);
  void record(StateSession& s, const std::string& sha256, const std::string& name, const std::string& kind,
              std::int64_t atMs, const std::vector<std::int64_t>& counts, const std::string& made = {});
  /// The latest `made` of a full extract applied ('' when none says).
  std::string lastFullMade();

 private:
  StateStore& state_;
  std::string table_, insert_;
  bool made_ = false;
};

/// The date an export was made, from its header record's `field`
/// (作成年月日, any notation person_match.h's isoDate reads), or ''.
std::string madeDate(const ReadTotals& totals, const std::string& field);

/// Why a differential made on `made` must not be applied after the full
/// extract made on `lastFull` (it is older: what it says is superseded), or
/// nothing. Either date unknown: nothing.
std::optional<std::string> staleDifferential(const std::string& name, const std::string& made,
                                             const std::string& lastFull, const std::string& command);

/// held/ beside a drop folder: exports an operator must look at before they
/// are taken in. Each held file has `<name>.held.txt` with its reason; a
/// release is recorded in the store (name, content, who, when) before the
/// file goes back into in/, so only those bytes skip the check.
class HeldExports {
 public:
  /// `command`: how an operator releases one ("renkei resident release"),
  /// for the messages. `releases`: the state table (name, sha256,
  /// released_by, at_ms).
  HeldExports(std::filesystem::path directory, StateStore& state, std::string releases, std::string command,
              bool fsync);
  /// The migration step for a new releases table.
  static std::string createStep(const std::string& table);

  /// Moves the claimed export into held/ with its reason beside it, or
  /// returns why it could not (then the caller refuses it instead).
  std::optional<std::string> hold(const std::filesystem::path& claimed, const std::string& name,
                                  const std::string& reason);
  /// How an operator releases one ("renkei resident release").
  const std::string& command() const { return command_; }
  /// Held exports by name with the first line of each reason (at most `limit`).
  std::vector<std::pair<std::string, std::string>> list(std::size_t limit = SIZE_MAX) const;
  /// Who released this export (name and content), if anyone did.
  std::optional<std::string> releasedBy(const std::string& name, const std::string& sha256);
  /// The release is used: in the unit that applies the export.
  void applied(StateSession& s, const std::string& name, const std::string& sha256);

  /// `held` and `release --file NAME` as operator commands (the verbs'
  /// results); nothing for another action.
  std::optional<OperatorResult> operate(const OperatorRequest& request, std::int64_t nowMs);
  /// The same as console pages: `held` (view) and `release` (POST, operate).
  void addPages(AdminRegistry& admin, const std::string& instance, const std::function<std::int64_t()>& now);

  const std::filesystem::path& folder() const { return held_; }

 private:
  std::filesystem::path directory_, held_;
  StateStore& state_;
  std::string releases_, command_;
  bool fsync_ = true;
};

}  // namespace renkei::kit
