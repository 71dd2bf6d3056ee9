// Connector and module base classes: what a plugin implements.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <Poco/Logger.h>

#include "renkei/admin.h"
#include "renkei/assistant.h"
#include "renkei/metrics.h"
#include "renkei/outcome.h"
#include "renkei/record.h"
#include "renkei/registers.h"
#include "renkei/settings.h"

namespace renkei {

namespace calendar {
class Calendar;  // renkei/support/calendar.h
}  // namespace calendar

class StateStore;
class StateSession;
class ApiRegistry;

/// Records of one record type a plugin hands to the host. Routes take them
/// with `from="<instance>" records="<recordType>"` and map them through
/// their mapping (the mapping's layout fields are matched by name; a field
/// the records lack reads as empty) or, without a mapping, pass them on as
/// they are.
struct RecordSet {
  std::string recordType;       ///< e.g. "resident.event"; [a-z0-9._-]
  std::vector<Record> records;  ///< share one FieldNames per set where you can
};

/// One unit of work handed to the host: every set, and the emitter's own
/// state changes, commit in one store transaction or not at all.
struct Emission {
  /// The idempotency key: the producer's key and version (a bundle id, a
  /// ticket event key, an application id + state version). A key this
  /// instance emitted before is acknowledged and ignored, so a plugin that
  /// crashes and emits again lands once. At most 200 bytes.
  std::string key;
  std::vector<RecordSet> sets;
  /// Optional: the emitter's changes to its own tables (StateStore::table
  /// names), run inside the same transaction, once, only when the key is
  /// new. Use only the session given; never call StateStore::write from it.
  std::function<void(StateSession&)> state;
};

/// What a source adds to the unit of work of one claimed item (see
/// Source::prepare).
struct ItemUnit {
  /// Sets and state that commit together with the item's own records (the
  /// key is the item's content hash; `emission.key` is ignored).
  Emission emission;
  /// The source has taken the item back (moved it aside, e.g. a held
  /// extract): the host stores nothing of it and does not call finish().
  bool withdrawn = false;
};

/// One line of the audit trail (the `renkei.access` log today; chained with
/// HMAC in a later version). No personal values: `key` is masked by the
/// host, `fields` are names.
struct AuditEntry {
  std::string who;         ///< the caller: a client certificate's name, an operator's id
  std::string address;     ///< where the caller connected from, if any
  std::string action;      ///< e.g. "ResidentService.getResident"
  std::string recordType;  ///< e.g. "resident"; may be empty
  std::string keyName;     ///< e.g. "resident_code"; may be empty
  std::string key;         ///< the key's value: the host keeps only its last three characters
  std::vector<std::string> fields;  ///< fields shown, if the call showed personal data
  std::string result;      ///< e.g. "found=1", "refused: not found"
};

/// Counts of HostServices::readRecords.
struct ReadTotals {
  std::uint64_t records = 0;   ///< data records in the file
  std::uint64_t rejected = 0;  ///< records the layout could not read (wrong field count, bad bytes …), skipped
  /// The header record's fields by name, as read (SDK ABI 17; empty when
  /// the layout has no header record): e.g. 作成年月日, the export's date.
  std::vector<std::pair<std::string, std::string>> header;
};

/// What the host offers a plugin instance beyond its settings. Owned by the
/// host; valid for the instance's whole life.
class HostServices {
 public:
  virtual ~HostServices() = default;
  /// This instance's state in the host's store (opened on first use).
  /// Throws StateError when the store cannot be opened.
  virtual StateStore& state() = 0;
  /// The window-system interface, to add services to; nullptr when the
  /// config has no <api> (a module then serves only routes).
  virtual ApiRegistry* api() = 0;
  /// The operator listener, to add pages to (renkei/admin.h). Never null:
  /// without <admin> in the config, or in `renkei check`, what is added is
  /// kept and not served.
  virtual AdminRegistry* admin() = 0;
  /// Reads `file` with the host's parsers through the layout file `layout`
  /// (encodings, 外字, fixed widths, XML) and calls `each` with every readable
  /// record, named by the layout's source fields; unreadable records are
  /// skipped and counted. With `fields` not empty only those fields are
  /// decoded (the others read as ""). The host reads a private copy of the
  /// file (it may change under the plugin without reaching what is read);
  /// when `sha256` is given it receives the lowercase hex SHA-256 of exactly
  /// the bytes read, so a plugin naming its results by content needs no
  /// hashing pass of its own (and cannot hash another version). Returns why
  /// the file cannot be read at all (with file and byte offset), or nullopt.
  /// Safe from any plugin thread.
  virtual std::optional<std::string> readRecords(const std::filesystem::path& layout,
                                                 const std::filesystem::path& file,
                                                 const std::vector<std::string>& fields,
                                                 const std::function<void(const Record&)>& each,
                                                 ReadTotals& totals, std::string* sha256) = 0;
  /// Hands records to the host (the engine seam). Ok once the whole
  /// emission is committed to the store, or when its key was seen before
  /// (then nothing is done again); Retry when the outboxes of the routes
  /// taking it are full (back-pressure) or the store does not answer: emit
  /// the same emission again later; Error when it can never be taken (the
  /// message says why: no key or one over 200 bytes, a record type outside
  /// [a-z0-9._-], a value holding NUL, a record over 16 MiB; a record type no
  /// route takes is not an error, it is counted in
  /// renkei_emitted_unrouted_total). Needs RENKEI_ROLE_EMITTER.
  /// Safe from any plugin thread; blocks for one store commit.
  virtual Outcome emit(const Emission& emission) = 0;
  /// This instance's metrics (renkei_* series, labelled with the instance).
  virtual MetricsScope& metrics() = 0;
  /// Writes one audit line (who, action, record type, masked key, fields,
  /// result) through the host's audit trail. Thread-safe.
  virtual void audit(const AuditEntry& entry) = 0;
  /// Keeps an item this instance refused whole before the host saw it (a
  /// file over max-file-size, a bundle that does not verify), with the
  /// reason (names, never values): `renkei status` shows it and exits 4
  /// until an operator acknowledges it (`status --ack NAME`), /metrics
  /// counts it (renkei_refused_items). The item itself stays where the
  /// plugin put it (error/, rejected/). True once stored. Thread-safe.
  virtual bool recordRefusal(const std::string& item, const std::string& reason) = 0;
  /// The host's clock: milliseconds since the Unix epoch (UTC). Tests may
  /// step it; use it for anything stored or compared with stored times.
  virtual std::int64_t nowMs() = 0;
  /// The instance's local time: minutes east of UTC at `ms` in the config's
  /// time-zone (one zone per instance; +540 for Asia/Tokyo). Days, hours
  /// and deadlines a plugin shows or counts use this, never a zone of its
  /// own. Thread-safe.
  virtual std::int64_t utcOffsetMinutes(std::int64_t ms) const = 0;
  /// The municipal calendar of this instance (the config's <calendar
  /// file="…"/>: open days, holidays, deadlines; renkei/support/calendar.h),
  /// or nullptr when the config names none. The same for every plugin, also
  /// in `renkei check`. Thread-safe (read-only).
  virtual const calendar::Calendar* calendar() const = 0;
  /// The host's content scan for data bound for the internet zone: true
  /// when `value` holds a 住民票コード-shaped run of 11 digits, or 12 digits
  /// with a valid 個人番号 check digit (half- or full-width, single
  /// separators allowed). What a mapping into the internet zone refuses
  /// (`pii-scan`); a plugin sending there (the bridge) scans with the same.
  /// Thread-safe, no state.
  virtual bool looksLikeIdentifier(std::string_view value) const = 0;
  /// Registers plugins offer one another (SDK ABI 16): a connector that
  /// keeps one offers it, another finds entities there by key. Never null.
  virtual RegisterDirectory& registers() = 0;
  /// Assistants plugins offer one another (SDK ABI 19): the ai connector
  /// offers its guarded question answering, a module serving people finds
  /// it by the connector's id. Never null.
  virtual AssistantDirectory& assistants() = 0;
};

/// A plugin's local time: the offset the deprecated `key` gives (±HH:MM,
/// kept for configs written before the host's time-zone served plugins) or
/// else the host's (HostServices::utcOffsetMinutes) at `nowMs`. Throws
/// ConfigError naming the key when its value is not an offset.
inline std::int64_t localOffsetMinutes(const Settings& settings, const std::string& key, const HostServices& host,
                                       std::int64_t nowMs) {
  if (!settings.has(key)) return host.utcOffsetMinutes(nowMs);
  const std::string& text = settings.getString(key);
  const auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() == 6 && (text[0] == '+' || text[0] == '-') && text[3] == ':' && digit(1) && digit(2) && digit(4) &&
      digit(5)) {
    const int h = (text[1] - '0') * 10 + (text[2] - '0'), m = (text[4] - '0') * 10 + (text[5] - '0');
    if (h <= 14 && m < 60) return (text[0] == '-' ? -1 : 1) * (h * 60 + m);
  }
  throw ConfigError(key + ": '" + text + "' is not an offset like +09:00");
}

/// What the host tells a plugin instance about where it runs. Valid for the
/// instance's whole life; owned by the host.
struct HostContext {
  std::string instance;              ///< the config's instance name
  std::string zone;                  ///< lgwan, internet or mynumber
  std::string id;                    ///< this plugin instance's id in config
  std::filesystem::path configDir;   ///< directory of the config file
  Poco::Logger* logger = nullptr;    ///< the instance's logger; never log personal values
  HostServices* services = nullptr;  ///< the host's services; always set
  /// True in `renkei check`: configure() checks the settings and files and
  /// throws ConfigError for what is wrong, but starts no threads, listens on
  /// nothing and writes nothing (services->state() throws, emit() refuses).
  bool validating = false;
  /// True in `renkei serve --once`: a run beside the service, which may hold
  /// the ports; a plugin that listens on its own (the concierge's API) does
  /// not, and says so in the log.
  bool once = false;
};

/// One unit of intake claimed by a source: a file (path set) the host decodes
/// and parses with the route's layout.
struct Intake {
  std::string name;              ///< the item's own name (file name), for reports
  std::filesystem::path path;    ///< where the host reads it while it is claimed
  std::uintmax_t size = 0;       ///< bytes, when known
  bool recovered = false;        ///< claimed by an earlier process that stopped
};

/// How the host finished with an intake item.
enum class Disposition {
  Done,    ///< read and delivered (rejected records are data, not a failure)
  Failed,  ///< could not be read at all; `reason` says why (file, offset, what)
};

/// The source role. The host calls a source from its route's intake thread
/// only (one thread per source; other routes' intake runs on their own).
class Source {
 public:
  virtual ~Source() = default;

  /// Items claimed by an earlier process that did not finish them (a crash
  /// between claim and completion), and items this process claimed and has
  /// not finished (after a stop or a store failure). Called at the start of
  /// every intake pass and once at the end of a run (to count what is
  /// left), so it must be cheap: list, do not read.
  virtual std::vector<Intake> recover() = 0;

  /// Claims the next waiting item atomically, or returns nullopt when none is
  /// waiting. A claimed item belongs to this process until finish().
  virtual std::optional<Intake> claim() = 0;

  /// Called after the host has read, checked and hashed a claimed item
  /// (`sha256`: lowercase hex of exactly the bytes it read) and before it
  /// maps it. A source that derives more from the item (a register update,
  /// events) fills `unit`: its sets and state then commit in the same
  /// transaction as the item's last records, and the item's records reach
  /// no target before that commit. Ok: go on; Retry: leave the item claimed
  /// for the next pass; Error: the item goes to error/ with the message.
  /// May be called again for the same item after a crash or a Retry.
  virtual Outcome prepare(const Intake& item, const std::string& sha256, ItemUnit& unit) {
    (void)item;
    (void)sha256;
    (void)unit;
    return Outcome::ok();
  }

  /// The layout the source's items are written in, when the source knows
  /// it (a domain connector reading them itself): `renkei check` then
  /// requires the route's mapping to read them through the same layout.
  virtual std::optional<std::filesystem::path> layout() const { return std::nullopt; }

  /// Called once the host has handled a claimed item. Must not lose the item:
  /// a failed one is kept (quarantined) with `reason` beside it.
  virtual Outcome finish(const Intake& item, Disposition disposition, const std::string& reason) = 0;

  /// Keeps the rejected records of a readable item for the operator: JSON
  /// Lines, one {"record","offset","reasons","fields"} object per record,
  /// with no personal values. Called before finish(); may be called again for
  /// the same item after a crash (the result must be the same). Here
  /// `item.name` is the item's name followed by "." and the first 12 hex
  /// digits of its content's SHA-256, so each intake has a name of its own
  /// (use it to name what is kept; `item.path` is the claimed file). Sources
  /// without a place for rejects keep the default.
  virtual Outcome writeRejects(const Intake& item, const std::string& jsonl) {
    (void)item;
    (void)jsonl;
    return Outcome::error("this source keeps no rejects files");
  }

  /// Keeps the warnings of a readable item beside its rejects: JSON Lines,
  /// one {"record","offset","warnings":[{"kind","field","rule"}]} object per
  /// record delivered with warnings (unmapped 外字, substituted bytes, failed
  /// optional transforms, warn checks), names only, never values; at most
  /// the first 100,000 records. Called like writeRejects (same `item.name`).
  virtual Outcome writeWarnings(const Intake& item, const std::string& jsonl) {
    (void)item;
    (void)jsonl;
    return Outcome::error("this source keeps no warnings files");
  }

  /// Whether the source keeps what it took in once it is done (the file
  /// connector's done/, unless keep-done=false). In the internet zone a
  /// route with personal fields may not read from a source that keeps its
  /// items: nothing personal stays there (`renkei check`).
  virtual bool keepsItems() const { return false; }

  /// What the host knows of this source's items before it starts (and in
  /// `renkei check`): `sensitive` is a PII class that a layout reading them
  /// declares and this instance's zone does not hold (e.g. "mynumber" for 個人番号
  /// in an LGWAN export), or "". A source that keeps finished items keeps
  /// such items briefly (the file connector: keep-done-for, 7 days when not
  /// set). Returns one line saying what it keeps and for how long, printed by
  /// `renkei check` and logged at start; "" when it keeps nothing.
  virtual std::string itemsHold(const std::string& sensitive) {
    (void)sensitive;
    return {};
  }

  /// Puts an item this source finished before (Done or Failed) back where
  /// claim() finds it, byte for byte and under its name: the one named
  /// `name` (or as renamed when kept, "name.1" …) whose content has the
  /// lowercase hex SHA-256 `sha256`. Called by the host, from the intake
  /// thread, when an operator ran `renkei reprocess`; the host then takes it
  /// in again as a new generation. Ok: it is waiting; Error: it is not kept
  /// (the message says where it was looked for: the operator drops it
  /// again). Sources that keep nothing keep the default.
  virtual Outcome requeue(const std::string& name, const std::string& sha256) {
    (void)name;
    (void)sha256;
    return Outcome::error("this source keeps no finished items; drop the item again");
  }
};

/// The sink role. deliver() must be idempotent on batch.id: the host may call
/// it again with the same batch after a crash or a Retry.
///
/// Outcomes: Ok — delivered and durable on the far side; Retry — a passing
/// failure (the host retries with backoff until the configured attempts, then
/// keeps the batch as a dead letter); Error — this batch cannot be delivered
/// as it is (straight to the dead letters). Called from the host's delivery
/// thread only.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Outcome deliver(const Batch& batch) = 0;
  /// False when deliver() only reads batch.jsonLines (the host then skips
  /// building Record objects).
  virtual bool needsRecords() const { return true; }
  /// The zone this sink delivers into when it is not the instance's own
  /// (lgwan, internet, mynumber): the bridge's sending half. A route to such
  /// a sink needs a mapping for that zone (`renkei check`), so every field's
  /// class is known and allowed there. Empty: the instance's zone.
  virtual std::string zone() const { return {}; }
  /// The X25519 public key (PEM) of the zone this sink delivers into, when
  /// the sink seals what it carries there (the bridge's sending half). In
  /// the internet zone a route whose fields are not all of class none may
  /// only deliver to such sinks, and the host stores its batches sealed to
  /// this key: deliver() then gets Batch::sealedPayload. Empty: none.
  virtual std::string sealingKey() const { return {}; }
};

/// The lookup role: keyed queries answered from an outside system. Declared
/// by the odbc connector; the host does not call it yet (the review module's
/// look-ups will, through HostServices, in a later version).
class Lookup {
 public:
  virtual ~Lookup() = default;
  /// Fills `out` with the records whose `keyName` equals `key`.
  virtual Outcome lookup(const std::string& keyName, const std::string& key, std::vector<Record>& out) = 0;
};

/// What an operator asked of a connector instance: `renkei <plugin key>
/// <action> --config F [--connector ID] [--bundle NAME] [--reason TEXT]
/// --by WHO` (e.g. `renkei bridge approve`). The instance is configured in
/// validation mode (no store, no threads) before it is asked.
struct OperatorRequest {
  std::string action;
  std::map<std::string, std::string> options;  ///< "--bundle" → "…", as given
  std::string by;                              ///< who asks (--by, else the login name)
};

/// What the connector did: printed for the operator; `logged` (one line, no
/// personal values) goes to the operators' log in the host's store, so
/// `renkei status` shows who did what. Empty: nothing changed.
struct OperatorResult {
  int status = 0;  ///< 0 done, 1 refused (say why in `error`), 2 usage
  std::string output;
  std::string error;
  std::string logged;
};

/// A record type an instance emits through the engine seam, and how many
/// routes must take it (returned by emits()).
struct EmittedType {
  enum class Routes {
    AtLeastOne,  ///< records no route takes would be held at run time: `renkei check` refuses the config
    ExactlyOne,  ///< one final path (a procedure's write-back, 最終反映経路は一系統): zero or two are refused
  };
  std::string recordType;
  Routes routes = Routes::AtLeastOne;
  /// What the records are, for the message ("the write-back of procedure 'tennyu-todoke'").
  std::string what;
};

/// Base of every connector plugin class. The host creates one object per
/// config instance, calls configure() once, then uses the roles it declared in
/// its renkei_plugin_info. Objects are destroyed before their library is
/// unloaded. Constructors should do nothing that can fail; configure() may
/// throw ConfigError.
/// A condition an operator must see to, as an instance reports it to the
/// host's problem watch (the failure mail and `renkei_problem` on /metrics):
/// a bundle missing in a sender's sequence, an export held, a listener that
/// stopped. Names and counts, never a value of a record.
struct Problem {
  std::string kind;     ///< what sort: "bridge-gap", "held-exports", "stopped" … ([a-z0-9-])
  std::string subject;  ///< which one: a sender, a folder, a listener (with the kind, the problem's identity)
  std::string detail;   ///< one sentence for the operator: what is wrong and where to look
  /// About this host alone (its disk, a listener of this process), not the
  /// store hosts share: each host opens and resolves its own.
  bool local = false;
};

/// A certificate file an instance serves or signs with: the host watches
/// its expiry (renkei_certificate_expiry_seconds{use}, a problem 30 days
/// before by default).
struct CertificateFile {
  std::string use;  ///< e.g. "concierge", "webhook"
  std::filesystem::path file;
};

class Connector {
 public:
  virtual ~Connector() = default;

  virtual void configure(const Settings& settings, const HostContext& context) = 0;

  /// For connectors that listen or emit on their own (a bridge receiver, a
  /// ticket machine feed): called once after every instance is configured
  /// and the pipeline runs, and once at shutdown before destruction. Not
  /// called in `renkei check`.
  virtual void start() {}
  virtual void stop() {}

  /// `renkei serve --once`: called once after start(), from the host's
  /// intake, before delivery ends: a connector that emits on its own takes
  /// in what waits now (a bridge's in/ folder) and returns, so a run with
  /// --once leaves nothing waiting for the next. Not called otherwise.
  virtual void takeWaiting() {}

  /// An operator's command (OperatorRequest); nullopt when this connector
  /// takes none or not this action.
  virtual std::optional<OperatorResult> operate(const OperatorRequest& request) {
    (void)request;
    return std::nullopt;
  }

  /// Role accessors: nullptr for a role the connector does not play.
  /// As Module::emits(): the record types this instance emits that routes must take.
  virtual std::vector<EmittedType> emits() const { return {}; }

  /// The conditions wrong with this instance now (see Problem): asked about
  /// every minute by the host's problem watch from its own thread while the
  /// host serves. Quick and thread-safe; an empty list when all is well. A
  /// problem that is no longer listed is resolved (a "resolved" mail).
  virtual std::vector<Problem> problems() { return {}; }
  /// The certificates this instance serves with (see CertificateFile).
  virtual std::vector<CertificateFile> certificates() const { return {}; }
  virtual Source* source() { return nullptr; }
  virtual Sink* sink() { return nullptr; }
  virtual Lookup* lookup() { return nullptr; }
};

/// Base of every module plugin class (crm, review, concierge). A module
/// receives mapped records like a sink and owns front-yard state.
class Module {
 public:
  virtual ~Module() = default;

  virtual void configure(const Settings& settings, const HostContext& context) = 0;
  /// Called once after every instance is configured, before any data flows.
  virtual void start() {}
  /// Called once at shutdown, before destruction.
  virtual void stop() {}
  /// Records routed to the module; must be idempotent on batch.id.
  virtual Outcome accept(const Batch& batch) = 0;
  /// After configure() (in `renkei check` too): the record types this
  /// instance emits that routes must take. The host checks the config's
  /// routes against them; records of a type no route takes are held at run
  /// time. Default: none declared.
  virtual std::vector<EmittedType> emits() const { return {}; }

  /// The conditions wrong with this instance now (see Problem): asked about
  /// every minute by the host's problem watch from its own thread while the
  /// host serves. Quick and thread-safe; an empty list when all is well. A
  /// problem that is no longer listed is resolved (a "resolved" mail).
  virtual std::vector<Problem> problems() { return {}; }
  /// The certificates this instance serves with (see CertificateFile).
  virtual std::vector<CertificateFile> certificates() const { return {}; }
};

}  // namespace renkei
