// The family-registry connector (戸籍 and 戸籍附票): the 本籍地's exports of
// its 戸籍 by file drop or ODBC view, on the register kit. An export is a
// run of records of five kinds (種別): the 戸籍 (本籍, 筆頭者), its 戸籍事項
// (編製, 転籍, 改製 …), each person 「戸籍に記録されている者」 (名, 生年月日,
// 父母, 続柄, 除籍, 振り仮名 with its source), each person's 身分事項 (出生,
// 婚姻, 死亡 …, the bracketed items kept in order) and the person's 附票
// entry (住所, 住所を定めた日, 住民票コード, 国外転出). The connector keeps
// two registers (the 戸籍, the persons) and for every export derives
//   koseki.event   one record per 身分事項 or 戸籍事項 the register did not
//                  have: kind, dates (事項日, 届出日, 受附日), the person's
//                  link to the residents, what the resident register is
//                  expected to do (出生: a resident; 死亡, 失踪: a removal;
//                  婚姻, 離婚: a correction of 氏 and 戸籍の表示 — 世帯 and
//                  address unchanged) and the items in order
//   koseki.person  the persons that changed, every name beside its
//                  戸籍統一文字番号 (or MJ + IVS) sequence, `lossy` naming the
//                  values that came as Unicode only
// A person is linked to a resident by the 附票's 住民票コード, else by 4 情報
// less the address + 戸籍の表示 (one resident agreeing in all: linked and
// reported as such; none: not linked, reported — never guessed). What the
// resident register is expected to do is followed (`renkei koseki expected`)
// until the resident feed shows it (its 9条2項 notice) or it is overdue.
#include <fnmatch.h>

#include <Poco/Logger.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "operator_page.h"
#include "person_match.h"
#include "register_kit.h"
#include "renkei/json.h"
#include "renkei/local_time.h"
#include "renkei/registers.h"
#include "renkei/sdk.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors::koseki {
namespace {

const renkei_config_key kOwnKeys[] = {
    {"transport", "enum(file|odbc)", "file", 0,
     "How the 戸籍 exports arrive: 'file' (a drop folder: directory, pattern … as for the file connector) or "
     "'odbc' (a polled view: connection, query … as for the odbc connector)."},
    {"layout", "path", nullptr, 1,
     "Layout of the export (mappings/layouts/koseki-csv.xml): one record per line of the 戸籍 with its kind in "
     "種別; the fields the connector reads are listed in connectors/koseki/README.md."},
    {"kinds", "list", "戸籍;戸籍事項;者;身分事項;附票", 0,
     "The codes of 種別 for the five kinds, in this order: the 戸籍, a 戸籍事項, a person, a 身分事項, a 附票 entry."},
    {"full-pattern", "list", "*FULL*;*full*;*ZENKEN*", 0,
     "Export names that are full extracts: a person (or 戸籍) missing from one is no longer in the register "
     "(its 戸籍 closed: 除籍簿). Other exports are differentials: what they list replaces or adds to the register."},
    {"max-full-removal", "int", "10", 0,
     "Percent of the register's current persons a full extract may leave out (up to 10 always allowed); more is "
     "held in <directory>/held/ until an operator releases it (renkei koseki release --file NAME, or the console)."},
    {"resident-register", "string", "resident", 0,
     "The register of residents to link persons to (offered by the resident connector of this config); '' links "
     "nobody."},
    {"link-by-identity", "bool", "true", 0,
     "A person whose 附票 gives no 住民票コード is linked to the one resident with the same 氏名, 生年月日 and 性別 "
     "and the same 戸籍の表示 (本籍, 筆頭者), and counted as linked so (renkei koseki links); false: such persons "
     "stay unlinked."},
    {"history-days", "int", "60", 0,
     "A person or 戸籍 new to the register (a birth, but also a 戸籍 that arrives by 転籍) brings its whole "
     "history: only its entries received (else dated) within this many days before the latest 受附日 the register "
     "had seen are events; older ones are kept, not raised."},
    {"expect-days", "int", "14", 0,
     "Days after a 戸籍 event within which the resident register is expected to show it (出生: a resident, 死亡: "
     "a removal, 婚姻/離婚: a new 戸籍の表示); later it is overdue (renkei koseki expected, /metrics)."},
    {"made-field", "string", "作成年月日", 0,
     "The header record's field with the date the export was made (any of the date notations). A differential "
     "made before the last full extract applied is held (its news is older than the register) until an operator "
     "releases it; without the field (no header, an ODBC view) nothing is compared."},
    {"fsync", "bool", "true", 0, "Flush held/ reason files and folder entries to disk."},
};

const std::vector<renkei_config_key>& allKeys() {
  static const std::vector<renkei_config_key> keys = kit::withTransportKeys(kOwnKeys, std::size(kOwnKeys));
  return keys;
}

// The fields an export's records are read for.
enum Field : std::size_t {
  fKind, fKoseki, fSeq, fNo, fHonseki, fHonsekiChars, fHittousha, fHittoushaChars, fSurname, fSurnameChars, fGiven,
  fGivenChars, fKana, fKanaSource, fBirth, fSex, fFather, fMother, fRelation, fRemoved, fEvent, fEventDate, fNotified,
  fReceived, fItems, fAddress, fSince, fResidentCode, fAbroad, fFieldCount
};
const std::vector<std::string> kFields{
    "種別", "戸籍番号", "者番号", "事項番号", "本籍", "本籍文字", "筆頭者", "筆頭者文字", "氏", "氏文字", "名",
    "名文字", "振り仮名", "振り仮名出典", "生年月日", "性別", "父", "母", "続柄", "除籍", "事項", "事項日",
    "届出日", "受附日", "事項内容", "住所", "住所を定めた日", "住民票コード", "国外転出"};

// A person as the register keeps it (kit::Snapshot values).
enum PersonColumn : std::size_t {
  pKoseki, pSurname, pSurnameChars, pGiven, pGivenChars, pKana, pKanaSource, pBirth, pSex, pFather, pMother,
  pRelation, pRemoved, pEvents, pFuhyo, pResidentCode, pLink, pLossy, pIdentity, pHousehold
};
const kit::RegisterSpec kPersons{
    "persons", "person",
    {"koseki_id", "surname", "surname_chars", "given", "given_chars", "kana", "kana_source", "birth_date", "sex",
     "father", "mother", "relation", "removed", "events", "fuhyo", "resident_code", "link", "lossy", "identity",
     "household_no"},
    {"koseki_id", "resident_code"}};
// A 戸籍.
enum KosekiColumn : std::size_t { kHonseki, kHonsekiChars, kHittousha, kHittoushaChars, kEvents, kLossy };
const kit::RegisterSpec kRegisters{
    "registers", "koseki_id", {"honseki", "honseki_chars", "hittousha", "hittousha_chars", "events", "lossy"}, {}};

/// An entry (身分事項 or 戸籍事項) as kept: number, kind, 事項日, 届出日,
/// 受附日 (ISO, or as written when unreadable), the bracketed items as written.
struct Entry {
  std::string no, kind, date, notified, received, items;
  bool operator==(const Entry& o) const {
    return kind == o.kind && date == o.date && notified == o.notified && received == o.received && items == o.items;
  }
};

std::string entriesText(const std::map<int, Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& [no, e] : entries) out.push_back(kit::textArray({e.no, e.kind, e.date, e.notified, e.received, e.items}));
  return kit::textArray(out);
}

std::map<int, Entry> entriesOf(const std::string& text) {
  std::map<int, Entry> out;
  if (text.size() < 2) return out;
  // Each element is itself a JSON array (as a string): count them first.
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') ++i;
    else if (text[i] == '"') ++n;
  }
  for (const std::string& one : kit::arrayValues(text, n / 2)) {
    if (one.empty()) continue;
    const auto v = kit::arrayValues(one, 6);
    Entry e{v[0], v[1], v[2], v[3], v[4], v[5]};
    out[std::atoi(e.no.c_str())] = std::move(e);
  }
  return out;
}

/// 【出生日】令和8年12月1日【出生地】… → [["出生日","令和8年12月1日"],["出生地","…"]].
std::string itemsJson(const std::string& text) {
  static const std::string open = "【", close = "】";
  std::string out = "[";
  std::size_t at = text.find(open), n = 0;
  while (at != std::string::npos) {
    const std::size_t end = text.find(close, at);
    if (end == std::string::npos) break;
    const std::string name = text.substr(at + open.size(), end - at - open.size());
    const std::size_t next = text.find(open, end);
    const std::string value = text.substr(end + close.size(), next == std::string::npos ? std::string::npos
                                                                                        : next - end - close.size());
    out += std::string(n++ ? "," : "") + "[" + jsonQuoted(name) + "," + jsonQuoted(value) + "]";
    at = next;
  }
  return out + "]";
}

/// Characters of `text` a 文字番号 sequence counts (spaces and variation
/// selectors are no characters of their own).
std::size_t characters(const std::string& text) {
  const std::string t = kit::matchText(text);
  std::size_t n = 0;
  for (unsigned char c : t)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

/// Whether `chars` is a 戸籍統一文字番号 (6 digits, 000010 up in steps of 10)
/// or MJ + 6 digits sequence with one number a character of `text`.
bool charsAgree(const std::string& text, const std::string& chars) {
  std::istringstream in(chars);
  std::size_t n = 0;
  for (std::string t; in >> t; ++n) {
    const bool mj = t.size() == 8 && t.compare(0, 2, "MJ") == 0;
    const std::string digits = mj ? t.substr(2) : t;
    if (digits.size() != 6 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
    if (!mj && (digits.back() != '0' || digits == "000000")) return false;
  }
  return n == characters(text);
}

/// Events the resident register is expected to follow.
std::string expectationOf(const std::string& kind) {
  if (kind == "出生") return "resident";
  if (kind == "死亡" || kind == "失踪") return "removal";
  if (kind == "婚姻" || kind == "離婚") return "correction";
  return {};
}

struct Refused : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Changed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class KosekiConnector final : public kit::ExportConnector {
 public:
  void configure(const Settings& settings, const HostContext& context) override {
    logger_ = context.logger;
    id_ = context.id;
    services_ = context.services;
    if (!services_) throw ConfigError("the koseki connector needs the host's store (no services offered)");
    layout_ = settings.getPath("layout");
    std::error_code ec;
    if (!fs::is_regular_file(layout_, ec)) throw ConfigError("layout: '" + layout_.string() + "' does not exist");
    const auto kinds = settings.getList("kinds");
    if (kinds.size() != 5 || std::set<std::string>(kinds.begin(), kinds.end()).size() != 5)
      throw ConfigError("kinds: five different codes (戸籍;戸籍事項;者;身分事項;附票), " + std::to_string(kinds.size()) +
                        " given");
    for (std::size_t i = 0; i < 5; ++i) kinds_[kinds[i]] = static_cast<int>(i);
    fullPatterns_ = settings.getList("full-pattern");
    guard_.maxPercent = static_cast<int>(settings.getInt("max-full-removal"));
    if (guard_.maxPercent < 0 || guard_.maxPercent > 100) throw ConfigError("max-full-removal: a percent from 0 to 100");
    residentRegister_ = settings.getString("resident-register");
    linkByIdentity_ = settings.getBool("link-by-identity");
    historyDays_ = settings.getInt("history-days");
    expectDays_ = settings.getInt("expect-days");
    if (historyDays_ < 0 || historyDays_ > 36500) throw ConfigError("history-days: 0 to 36500");
    if (expectDays_ < 1 || expectDays_ > 3650) throw ConfigError("expect-days: 1 to 3650");
    fsync_ = settings.getBool("fsync");
    madeField_ = settings.getString("made-field");
    configureTransport(settings, context, settings.getString("transport"));
    if (context.validating) return;
    openState();
    if (AdminRegistry* admin = services_->admin()) {
      if (held_) held_->addPages(*admin, id_, [this] { return services_->nowMs(); });
      admin->addHandler("expected", "戸籍 events the resident register is still to show: counts by kind, overdue",
                        "view", [this](const AdminRequest&) {
                          AdminResponse r;
                          const Expected e = expected(true);
                          r.body = "{\"connector\":" + jsonQuoted(id_) + ",\"open\":" + std::to_string(e.open) +
                                   ",\"overdue\":" + std::to_string(e.overdue) + ",\"met\":" + std::to_string(e.met) +
                                   ",\"by_kind\":{";
                          std::size_t n = 0;
                          for (const auto& [kind, count] : e.byKind)
                            r.body += (n++ ? "," : "") + jsonQuoted(kind) + ":" + std::to_string(count);
                          r.body += "}}\n";
                          return r;
                        });
    }
  }

  void start() override {
    residents_ = residentRegister_.empty() ? nullptr : services_->registers().find(residentRegister_);
    if (!residentRegister_.empty() && !residents_)
      logger_->warning("resident-register: no instance of this config offers '%s': persons are not linked to "
                       "residents",
                       residentRegister_);
    try {
      expected(true);
    } catch (const StateError& e) {
      logger_->warning("the expected resident changes were not looked at: %s", std::string(e.what()));
    }
  }

  std::optional<fs::path> layout() const override { return layout_; }

  /// On the intake's turn, at most once a minute: the expectations against
  /// the resident register as it is now.
  std::optional<Intake> claim() override {
    const std::int64_t now = services_->nowMs();
    if (residents_ && now - checkedMs_ >= 60000) {
      checkedMs_ = now;
      try {
        expected(true);
      } catch (const StateError& e) {
        logger_->warning("the expected resident changes were not looked at: %s", std::string(e.what()));
      }
    }
    return ExportConnector::claim();
  }

  Outcome prepare(const Intake& item, const std::string& sha256, ItemUnit& unit) override {
    try {
      if (derive(item, held_ ? held_->releasedBy(item.name, sha256) : std::nullopt, sha256, unit)) return Outcome::ok();
    } catch (const StateError& e) {
      return Outcome::retry(std::string("store: ") + e.what());
    } catch (const Changed& e) {
      return Outcome::error(e.what());
    } catch (const Refused& e) {
      logger_->error("'%s' refused whole, nothing of it applied: %s", item.name, std::string(e.what()));
      return Outcome::error(e.what());
    }
    holdExport(item, holdReason_, held_.get(), *logger_);
    unit.withdrawn = true;
    return Outcome::ok();
  }

  /// renkei koseki held | release --file NAME | expected | links. The
  /// command line sees the expectations as the running host last checked
  /// them (it configures this instance alone: no resident register).
  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    openState();
    if (request.action == "expected") {
      const Expected e = expected(residents_ != nullptr);
      OperatorResult r;
      r.output = std::to_string(e.open) + " 戸籍 events not yet shown by the resident register (" +
                 std::to_string(e.overdue) + " overdue after " + std::to_string(expectDays_) + " days), " +
                 std::to_string(e.met) + " shown\n";
      for (const std::string& line : e.lines) r.output += "  " + line + "\n";
      r.status = e.overdue ? 1 : 0;
      return r;
    }
    if (request.action == "links") {
      OperatorResult r;
      std::map<std::string, std::size_t> by;
      std::size_t lossy = 0;
      state_->read([&](StateSession& s) {
        s.query("SELECT link, count(*) FROM " + persons_ + " WHERE current_flag = 1 GROUP BY link", {},
                [&](StateRows& row) { by[row.text(0)] = static_cast<std::size_t>(row.integer(1)); });
        s.query("SELECT count(*) FROM " + persons_ + " WHERE lossy <> ''", {},
                [&](StateRows& row) { lossy = static_cast<std::size_t>(row.integer(0)); });
      });
      r.output = "persons in the register (current), by how they are linked to a resident:\n";
      for (const auto& [link, count] : by)
        r.output += "  " + (link.empty() ? std::string("not linked (no 住民票コード, no single resident agreeing)")
                            : link == "fuhyo" ? std::string("by the 附票's 住民票コード")
                            : link == "elsewhere" ? std::string("附票 elsewhere (住民票コード no resident here)")
                                                  : std::string("by 4 情報 + 戸籍の表示 (check these)")) +
                    ": " + std::to_string(count) + "\n";
      r.output += "persons with a value that came as Unicode only (lossy): " + std::to_string(lossy) + "\n";
      return r;
    }
    if (request.action != "held" && request.action != "release") return std::nullopt;
    if (!held_) {
      OperatorResult r;
      r.status = 2;
      r.error = "connector '" + id_ + "' polls a view over ODBC: nothing is held in a folder";
      return r;
    }
    return held_->operate(request, services_->nowMs());
  }

 private:
  void openState() {
    if (state_) return;
    state_ = &services_->state();
    state_->migrate({kit::Register::createStep(kPersons) + kit::Register::createStep(kRegisters) +
                     kit::ExportLedger::createStep("exports", {"persons", "events"}) +
                     kit::HeldExports::createStep("releases") +
                     // 戸籍 events the resident register is expected to follow.
                     "CREATE TABLE {expected} (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, person TEXT NOT NULL, "
                     "resident_code TEXT NOT NULL, identity TEXT NOT NULL, display_before TEXT NOT NULL, "
                     "event_date TEXT NOT NULL, created_ms BIGINT NOT NULL, met_ms BIGINT NOT NULL);"
                     // The latest 受附日 seen (what a new person's history is measured against).
                     "CREATE TABLE {meta} (name TEXT PRIMARY KEY, value TEXT NOT NULL);" +
                     kit::ExportLedger::madeStep("exports")});
    persons_ = state_->table("persons");
    expected_ = state_->table("expected");
    meta_ = state_->table("meta");
    personReg_ = std::make_unique<kit::Register>(*state_, kPersons);
    kosekiReg_ = std::make_unique<kit::Register>(*state_, kRegisters);
    exports_ =
        std::make_unique<kit::ExportLedger>(*state_, "exports", std::vector<std::string>{"persons", "events"}, true);
    if (!directory_.empty())
      held_ = std::make_unique<kit::HeldExports>(directory_, *state_, "releases", "renkei koseki", fsync_);
  }

  bool isFull(const std::string& name) const {
    if (directory_.empty()) return false;
    for (const auto& p : fullPatterns_)
      if (fnmatch(p.c_str(), name.c_str(), 0) == 0) return true;
    return false;
  }

  // What one export says, by 戸籍 and by person, before it meets the register.
  struct KosekiRows {
    bool head = false;
    std::string honseki, honsekiChars, hittousha, hittoushaChars;
    std::map<int, Entry> entries;
  };
  struct PersonRows {
    bool person = false, fuhyo = false;
    std::vector<std::string> values;  // the person record's fields (by Field; only those kept)
    std::map<int, Entry> entries;
    std::vector<std::string> fuhyoValues;  // kind-less: address, since, resident code, abroad
    std::size_t record = 0;                // the data record that first named the person
  };
  struct ExportRead {
    std::string sha;
    std::size_t records = 0, duplicates = 0, undated = 0;
    std::map<std::string, KosekiRows> registers;
    std::unordered_map<std::string, PersonRows> persons;
  };

  struct Event {
    Entry entry;
    std::string scope, koseki, person, residentCode, household, link, identity, expect;
  };

  /// One export: read, checked whole, then met with the registers.
  bool derive(const Intake& item, const std::optional<std::string>& released, const std::string& hostSha,
              ItemUnit& unit) {
    ExportRead x;
    std::optional<std::string> error;
    ReadTotals totals;
    try {
      error = services_->readRecords(layout_, item.path, kFields, [&](const Record& r) { readRow(r, x); }, totals, &x.sha);
    } catch (const Refused&) {
      throw;
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
    if (error) throw Refused(*error);
    if (x.sha != hostSha)
      throw Changed("the export changed between the host's read and the register's: its content differs");
    if (exports_->applied(x.sha)) return true;
    const std::string made = kit::madeDate(totals, madeField_);
    if (!isFull(item.name) && !released)
      if (auto why = kit::staleDifferential(item.name, made, exports_->lastFullMade(), "renkei koseki")) {
        holdReason_ = *why;
        return false;
      }

    kit::Pass kp(*kosekiReg_, isFull(item.name)), pp(*personReg_, isFull(item.name));
    const std::int64_t now = services_->nowMs();
    std::vector<Event> events;
    std::size_t lossyValues = 0, badChars = 0, byIdentity = 0, unlinked = 0, elsewhere = 0;
    std::map<std::string, kit::Snapshot> kosekiAfter;
    std::string through, latest;  // the latest 受附日 the register had seen, and after this export
    std::size_t future = 0;       // entries received (or dated) after today
    state_->read([&](StateSession& s) {
      s.query("SELECT value FROM " + meta_ + " WHERE name = 'received_through'", {},
              [&](StateRows& r) { through = r.text(0); });
      latest = through;
      const std::string today = localDate(now);
      auto seen = [&](const std::map<int, Entry>& entries) {
        for (const auto& [no, e] : entries) {
          const std::string& d = e.received.size() == 10 ? e.received : e.date;
          if (d.size() != 10 || d[4] != '-') continue;
          if (d > today) ++future;  // bogus: not a measure of what is new
          else if (d > latest) latest = d;
        }
      };
      for (const auto& [k, rows] : x.registers) seen(rows.entries);
      for (const auto& [k, rows] : x.persons) seen(rows.entries);
      // The 戸籍 first: a person's 戸籍の表示 is its 戸籍's.
      for (auto& [kid, rows] : x.registers) {
        const auto prev = kp.previous(s, kid);
        if (!rows.head && !prev)
          throw Refused("戸籍番号 " + printable(kid) + " has lines but no 戸籍 record, here or in the register");
        if (!rows.head && kp.full())
          throw Refused("full extract: 戸籍番号 " + printable(kid) + " has lines but no 戸籍 record (a full extract "
                        "lists every 戸籍 whole)");
        kit::Snapshot next = prev ? *prev : kit::Snapshot{std::vector<std::string>(kRegisters.columns.size()), true};
        if (rows.head) {
          next.values[kHonseki] = rows.honseki;
          next.values[kHonsekiChars] = rows.honsekiChars;
          next.values[kHittousha] = rows.hittousha;
          next.values[kHittoushaChars] = rows.hittoushaChars;
        }
        std::map<int, Entry> entries = prev && !kp.full() ? entriesOf(prev->values[kEvents]) : std::map<int, Entry>{};
        const std::map<int, Entry> before = prev ? entriesOf(prev->values[kEvents]) : std::map<int, Entry>{};
        for (const auto& [no, e] : rows.entries) entries[no] = e;
        next.values[kEvents] = entriesText(entries);
        std::string lossy;
        lossy += lossyField("honseki", next.values[kHonseki], next.values[kHonsekiChars], lossyValues, badChars);
        lossy += lossyField("hittousha", next.values[kHittousha], next.values[kHittoushaChars], lossyValues, badChars);
        next.values[kLossy] = lossy;
        next.current = !std::any_of(entries.begin(), entries.end(), [](const auto& e) { return e.second.kind == "消除"; });
        if (!kp.baseline())
          for (const auto& [no, e] : entries) {
            auto was = before.find(no);
            if (was != before.end() && was->second == e) continue;
            if (!prev && !recent(e, through)) continue;
            Event ev;
            ev.entry = e;
            ev.scope = "koseki";
            ev.koseki = kid;
            events.push_back(std::move(ev));
          }
        kosekiAfter[kid] = next;
        if (!prev || prev->values != next.values || prev->current != next.current) kp.change(kid, std::move(next));
      }
      std::vector<std::string> fuhyoCodes;
      std::map<std::string, std::optional<kit::Snapshot>> previous;
      const std::pair<const std::string, PersonRows>* orphan = nullptr;  // the first in the file is named
      for (auto& entry : x.persons) {
        const auto& [key, rows] = entry;
        const auto prev = pp.previous(s, key);
        if (!rows.person && (!prev || pp.full()) && (!orphan || rows.record < orphan->second.record)) orphan = &entry;
        previous[key] = prev;
      }
      if (orphan) {
        const std::string at = "data record " + std::to_string(orphan->second.record) + ": ";
        if (!previous[orphan->first])
          throw Refused(at + "a line for person " + printable(orphan->first) + " of whom neither this export nor the "
                        "register has a 者 record (a 戸籍 event for a person in no register)");
        throw Refused(at + "full extract: person " + printable(orphan->first) +
                      " has lines but no 者 record (a full extract lists every person whole)");
      }
      // Links: the 附票's 住民票コード, else 4 情報 + 戸籍の表示.
      std::map<std::string, kit::Snapshot> next;
      std::vector<std::string> identities;
      for (auto& [key, rows] : x.persons) {
        const auto& prev = previous[key];
        kit::Snapshot n = prev ? *prev : kit::Snapshot{std::vector<std::string>(kPersons.columns.size()), true};
        const std::string kid = key.substr(0, key.find('/'));
        n.values[pKoseki] = kid;
        if (rows.person) {
          const auto& v = rows.values;
          n.values[pSurname] = v[fSurname];
          n.values[pSurnameChars] = v[fSurnameChars];
          n.values[pGiven] = v[fGiven];
          n.values[pGivenChars] = v[fGivenChars];
          n.values[pKana] = v[fKana];
          n.values[pKanaSource] = v[fKanaSource];
          n.values[pBirth] = kit::isoDate(v[fBirth]).value_or(v[fBirth]);
          n.values[pSex] = v[fSex];
          n.values[pFather] = v[fFather];
          n.values[pMother] = v[fMother];
          n.values[pRelation] = v[fRelation];
          n.values[pRemoved] = v[fRemoved] == "1" ? "1" : "";
        }
        std::map<int, Entry> entries = prev && !pp.full() ? entriesOf(prev->values[pEvents]) : std::map<int, Entry>{};
        for (const auto& [no, e] : rows.entries) entries[no] = e;
        n.values[pEvents] = entriesText(entries);
        if (rows.fuhyo) n.values[pFuhyo] = kit::textArray(rows.fuhyoValues);
        else if (pp.full()) n.values[pFuhyo].clear();
        std::string lossy;
        lossy += lossyField("surname", n.values[pSurname], n.values[pSurnameChars], lossyValues, badChars);
        lossy += lossyField("given", n.values[pGiven], n.values[pGivenChars], lossyValues, badChars);
        n.values[pLossy] = lossy;
        n.values[pIdentity] = kit::identityKey(n.values[pSurname] + n.values[pGiven], n.values[pBirth], n.values[pSex]);
        n.current = n.values[pRemoved].empty() &&
                    !std::any_of(entries.begin(), entries.end(),
                                 [](const auto& e) { return e.second.kind == "死亡" || e.second.kind == "失踪"; });
        const std::string fuhyoCode = kit::arrayValues(n.values[pFuhyo], 4)[2];
        if (!fuhyoCode.empty()) fuhyoCodes.push_back(fuhyoCode);
        else if (!n.values[pIdentity].empty()) identities.push_back(n.values[pIdentity]);
        next.emplace(key, std::move(n));
      }
      std::map<std::string, RegisterEntry> byCode, byIdentityEntries;
      if (residents_) {
        byCode = residents_->findMany("resident_code", fuhyoCodes);
        if (linkByIdentity_ && !identities.empty()) byIdentityEntries = residents_->findMany("identity", identities);
      }
      for (auto& [key, n] : next) {
        const std::string kid = n.values[pKoseki];
        const auto k = kosekiAfter.count(kid) ? std::optional<kit::Snapshot>(kosekiAfter[kid]) : kosekiReg_->find(s, kid);
        const std::string fuhyoCode = kit::arrayValues(n.values[pFuhyo], 4)[2];
        n.values[pResidentCode].clear();
        n.values[pLink].clear();
        n.values[pHousehold].clear();
        if (!fuhyoCode.empty()) {
          n.values[pResidentCode] = fuhyoCode;
          auto it = byCode.find(fuhyoCode);
          n.values[pLink] = it != byCode.end() ? "fuhyo" : "elsewhere";
          if (it != byCode.end()) n.values[pHousehold] = field(it->second, "household_no");
          else ++elsewhere;
        } else if (auto it = byIdentityEntries.find(n.values[pIdentity]); it != byIdentityEntries.end() && k &&
                   field(it->second, "koseki_display") ==
                       kit::displayKey(k->values[kHonseki], k->values[kHittousha])) {
          n.values[pResidentCode] = it->second.key;
          n.values[pLink] = "identity";
          n.values[pHousehold] = field(it->second, "household_no");
          ++byIdentity;
        } else if (n.current) {
          ++unlinked;
        }
        const auto& prev = previous[key];
        const std::map<int, Entry> before = prev ? entriesOf(prev->values[pEvents]) : std::map<int, Entry>{};
        if (!pp.baseline())
          for (const auto& [no, e] : entriesOf(n.values[pEvents])) {
            auto was = before.find(no);
            if (was != before.end() && was->second == e) continue;
            if (!prev && !recent(e, through)) continue;
            Event ev;
            ev.entry = e;
            ev.scope = "person";
            ev.koseki = kid;
            ev.person = key;
            ev.residentCode = n.values[pResidentCode];
            ev.household = n.values[pHousehold];
            ev.link = n.values[pLink];
            ev.identity = n.values[pIdentity];
            ev.expect = expectationOf(e.kind);
            events.push_back(std::move(ev));
          }
        if (!prev || prev->values != n.values || prev->current != n.current) pp.change(key, std::move(n));
      }
    });
    // A birth's household: the parents' (in the same 戸籍), when the child is no resident yet.
    birthHouseholds(events);

    if (pp.full() && !pp.baseline()) {
      const kit::Pass::Missing m = pp.missing();
      if (guard_.tooMany(m) && !released) {
        holdReason_ = "full extract '" + printable(item.name) + "' would leave out " + std::to_string(m.removed) +
                      " of " + std::to_string(m.current) + " current persons (" +
                      std::to_string(m.current ? m.removed * 100 / m.current : 0) + "%), more than max-full-removal (" +
                      std::to_string(guard_.maxPercent) + "%): held, nothing of it was taken in; to take it in "
                      "anyway, renkei koseki release --config <config> --file '" + printable(item.name) + "'";
        return false;
      }
      pp.endMissing([](const std::string&, const kit::Snapshot&) {});
      kp.endMissing([](const std::string&, const kit::Snapshot&) {});
    }
    addSets(item, x.sha, pp, events, unit.emission.sets);
    const std::int64_t personsChanged = static_cast<std::int64_t>(pp.changes().size()),
                       eventCount = static_cast<std::int64_t>(events.size());
    auto personRows = std::make_shared<std::vector<const std::pair<const std::string, kit::Snapshot>*>>();
    auto kosekiRows = std::make_shared<std::vector<const std::pair<const std::string, kit::Snapshot>*>>();
    auto pc = pp.takeChanges(), kc = kp.takeChanges();
    *personRows = kit::sortedRows(*pc);
    *kosekiRows = kit::sortedRows(*kc);
    auto expectations = std::make_shared<std::vector<std::vector<std::string>>>();
    std::size_t n = 0;
    for (const Event& ev : events) {
      ++n;
      if (ev.expect.empty() || ev.entry.date.size() != 10) continue;
      std::string before;
      if (ev.expect == "correction" && !ev.residentCode.empty() && residents_)
        if (auto r = residents_->find("resident_code", ev.residentCode)) before = field(*r, "koseki_display");
      expectations->push_back({eventId(x.sha, n), ev.expect, ev.person, ev.residentCode, ev.identity, before,
                               ev.entry.date});
    }
    unit.emission.state = [this, pc, kc, personRows, kosekiRows, expectations, released = released.has_value(),
                           name = item.name, sha = x.sha, full = pp.full(), now, personsChanged, eventCount,
                           latest, made](StateSession& s) {
      kosekiReg_->write(s, *kosekiRows);
      if (!latest.empty())
        s.run("INSERT INTO " + meta_ + " (name, value) VALUES ('received_through', ?) ON CONFLICT (name) DO UPDATE "
              "SET value = excluded.value",
              {latest});
      personReg_->write(s, *personRows);
      for (const auto& e : *expectations)
        s.run("INSERT INTO " + expected_ +
                  " (event_id, kind, person, resident_code, identity, display_before, event_date, created_ms, met_ms) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (event_id) DO NOTHING",
              {e[0], e[1], e[2], e[3], e[4], e[5], e[6], now});
      if (released && held_) held_->applied(s, name, sha);
      exports_->record(s, sha, name, full ? "full" : "differential", now, {personsChanged, eventCount}, made);
    };
    metrics(lossyValues, byIdentity, unlinked);
    logger_->information("'%s' (%s%s): %z records, %z 戸籍, %z persons changed, %z events; links: %z by 4 情報 + "
                         "戸籍の表示, %z 附票 elsewhere, %z current persons not linked",
                         item.name, std::string(pp.full() ? "full extract" : "differential"),
                         std::string(pp.baseline() ? ", baseline" : ""), x.records, x.registers.size(),
                         static_cast<std::size_t>(personsChanged), events.size(), byIdentity, elsewhere, unlinked);
    if (lossyValues || badChars)
      logger_->warning("'%s': %z names or 本籍 came as Unicode only (lossy: their 統一文字番号 is missing), %z with a "
                       "文字番号 sequence that does not agree with the text (kept, marked lossy)",
                       item.name, lossyValues, badChars);
    if (future)
      logger_->warning("'%s': %z 事項 received or dated after today (kept as written; check the export)", item.name, future);
    if (x.duplicates) logger_->warning("'%s': %z records repeat an earlier one (the last one counts)", item.name, x.duplicates);
    if (x.undated) logger_->warning("'%s': %z 事項 without a readable 事項日 (kept as written, no expectation)", item.name, x.undated);
    return true;
  }

  static std::string field(const RegisterEntry& e, const std::string& name) {
    auto it = e.fields.find(name);
    return it == e.fields.end() ? std::string() : it->second;
  }

  static std::string eventId(const std::string& sha, std::size_t n) { return sha.substr(0, 12) + "-k" + std::to_string(n); }

  std::string localDate(std::int64_t ms) const { return localTimeAt(ms, services_->utcOffsetMinutes(ms)).substr(0, 10); }

  /// An entry of a person (or 戸籍) new to the register counts as an event
  /// when it was received (else dated) no more than history-days before the
  /// latest 受附日 the register has seen — not before today, so an export
  /// read late raises the same events. Else it is history that came with
  /// the person (a 戸籍 arriving by 転籍). Nothing is recent to an empty
  /// register (the baseline raises nothing anyway).
  bool recent(const Entry& e, const std::string& through) const {
    const std::string& d = e.received.size() == 10 ? e.received : e.date;
    return d.size() == 10 && !through.empty() && d >= daysBefore(through, historyDays_);
  }

  static std::string daysBefore(const std::string& iso, std::int64_t days) {
    using namespace std::chrono;
    const year_month_day ymd{year{std::atoi(iso.substr(0, 4).c_str())},
                             month{static_cast<unsigned>(std::atoi(iso.substr(5, 2).c_str()))},
                             day{static_cast<unsigned>(std::atoi(iso.substr(8, 2).c_str()))}};
    if (!ymd.ok()) return iso;
    const year_month_day back{sys_days{ymd} - std::chrono::days{days}};
    char out[16];
    std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(back.year()), static_cast<unsigned>(back.month()),
                  static_cast<unsigned>(back.day()));
    return out;
  }

  /// The field's name when its 文字番号 is missing (lossy) or does not agree.
  static std::string lossyField(const char* name, const std::string& text, const std::string& chars,
                                std::size_t& lossy, std::size_t& bad) {
    if (text.empty()) return {};
    if (chars.empty()) {
      ++lossy;
      return std::string(name) + " ";
    }
    if (!charsAgree(text, chars)) {
      ++bad;
      return std::string(name) + " ";
    }
    return {};
  }

  void birthHouseholds(std::vector<Event>& events) {
    for (Event& ev : events) {
      if (ev.expect != "resident" || !ev.household.empty()) continue;
      state_->read([&](StateSession& s) {
        personReg_->byColumn(s, "koseki_id", ev.koseki, [&](const std::string& key, kit::Snapshot p) {
          if (ev.household.empty() && key != ev.person && p.current && !p.values[pHousehold].empty() &&
              p.values[pBirth] < ev.entry.date)
            ev.household = p.values[pHousehold];
        });
      });
    }
  }

  void readRow(const Record& r, ExportRead& x) {
    if (indexNames_ != r.names().get()) {
      indexNames_ = r.names().get();
      index_.assign(kFields.size(), r.size());
      for (std::size_t k = 0; k < kFields.size(); ++k)
        for (std::size_t j = 0; j < r.size(); ++j)
          if (r.name(j) == kFields[k]) index_[k] = j;
      for (std::size_t k : {fKind, fKoseki, fSeq})
        if (index_[k] == r.size()) throw Refused("the layout '" + layout_.string() + "' has no field " + kFields[k]);
    }
    ++x.records;
    // The record's values by Field, without copying them (1,000,000s of rows).
    static const std::string none;
    struct View {
      const Record& r;
      const std::vector<std::size_t>& index;
      const std::string& operator[](std::size_t k) const { return index[k] < r.size() ? r.value(index[k]) : none; }
    } v{r, index_};
    const std::string at = "data record " + std::to_string(x.records);
    const auto kind = kinds_.find(v[fKind]);
    if (kind == kinds_.end())
      throw Refused(at + ": 種別 '" + printable(v[fKind], 32) + "' is none of the kinds (key kinds)");
    if (v[fKoseki].empty() || v[fKoseki].find('/') != std::string::npos)
      throw Refused(at + ": no 戸籍番号 (or one holding '/')");
    auto number = [&](const std::string& text) {
      const auto n = parseWholeNumber(text, 1, 99999);
      if (!n) throw Refused(at + ": 事項番号 '" + printable(text, 32) + "' is not a number from 1 to 99999");
      return static_cast<int>(*n);
    };
    auto entry = [&]() {
      Entry e;
      e.no = std::to_string(number(v[fNo]));
      e.kind = v[fEvent];
      if (e.kind.empty()) throw Refused(at + ": a 事項 without its kind (事項)");
      auto date = [&](const std::string& text) {
        if (text.empty()) return text;
        if (auto iso = kit::isoDate(text)) return *iso;
        return text;
      };
      e.date = date(v[fEventDate]);
      e.notified = date(v[fNotified]);
      e.received = date(v[fReceived]);
      if (e.date.size() != 10 || e.date[4] != '-') ++x.undated;
      e.items = v[fItems];
      return e;
    };
    const std::string& kid = v[fKoseki];
    if (kind->second <= 1) {
      KosekiRows& k = x.registers[kid];
      if (kind->second == 0) {
        if (k.head) ++x.duplicates;
        k.head = true;
        k.honseki = v[fHonseki];
        k.honsekiChars = v[fHonsekiChars];
        k.hittousha = v[fHittousha];
        k.hittoushaChars = v[fHittoushaChars];
      } else {
        Entry e = entry();
        const int no = std::stoi(e.no);
        if (k.entries.count(no)) ++x.duplicates;
        k.entries[no] = std::move(e);
      }
      return;
    }
    if (v[fSeq].empty()) throw Refused(at + ": a person's line without 者番号");
    x.registers[kid];  // the person's 戸籍 must be known (here or in the register)
    PersonRows& p = x.persons[kid + "/" + v[fSeq]];
    if (!p.record) p.record = x.records;
    if (kind->second == 2) {
      if (p.person) ++x.duplicates;
      p.person = true;
      p.values.assign(fFieldCount, std::string());
      for (std::size_t k : {fSurname, fSurnameChars, fGiven, fGivenChars, fKana, fKanaSource, fBirth, fSex, fFather,
                            fMother, fRelation, fRemoved})
        p.values[k] = v[k];
    } else if (kind->second == 3) {
      Entry e = entry();
      const int no = std::stoi(e.no);
      if (p.entries.count(no)) ++x.duplicates;
      p.entries[no] = std::move(e);
    } else {
      if (p.fuhyo) ++x.duplicates;
      p.fuhyo = true;
      p.fuhyoValues = {v[fAddress], kit::isoDate(v[fSince]).value_or(v[fSince]), v[fResidentCode],
                       v[fAbroad] == "1" ? "1" : ""};
    }
  }

  void addSets(const Intake& item, const std::string& sha, kit::Pass& pp, const std::vector<Event>& events,
               std::vector<RecordSet>& sets) {
    static const auto eventNames = std::make_shared<const FieldNames>(FieldNames{
        "event_id", "event", "scope", "koseki_id", "person", "event_date", "notified_date", "received_date",
        "resident_code", "household_no", "link", "identity", "expect", "items", "export"});
    RecordSet es{"koseki.event", {}};
    std::size_t n = 0;
    for (const Event& ev : events) {
      Record r(eventNames);
      const std::string values[] = {eventId(sha, ++n), ev.entry.kind, ev.scope, ev.koseki, ev.person, ev.entry.date,
                                    ev.entry.notified, ev.entry.received, ev.residentCode, ev.household, ev.link,
                                    ev.identity, ev.expect, itemsJson(ev.entry.items), item.name};
      for (std::size_t i = 0; i < std::size(values); ++i) r.set(i, values[i]);
      es.records.push_back(std::move(r));
    }
    if (!es.records.empty()) sets.push_back(std::move(es));
    static const auto personNames = std::make_shared<const FieldNames>(FieldNames{
        "person", "koseki_id", "surname", "surname_chars", "given", "given_chars", "kana", "kana_source", "birth_date",
        "sex", "father", "mother", "relation", "removed", "current", "resident_code", "household_no", "link", "lossy",
        "export"});
    RecordSet ps{"koseki.person", {}};
    for (const auto* row : kit::sortedRows(pp.changes())) {
      const auto& v = row->second.values;
      Record r(personNames);
      std::string lossy = v[pLossy];
      if (!lossy.empty() && lossy.back() == ' ') lossy.pop_back();
      const std::string values[] = {row->first, v[pKoseki], v[pSurname], v[pSurnameChars], v[pGiven], v[pGivenChars],
                                    v[pKana], v[pKanaSource], v[pBirth], v[pSex], v[pFather], v[pMother],
                                    v[pRelation], v[pRemoved] == "1" ? "true" : "false",
                                    row->second.current ? "true" : "false", v[pResidentCode], v[pHousehold],
                                    v[pLink], lossy, item.name};
      for (std::size_t i = 0; i < std::size(values); ++i) r.set(i, values[i]);
      ps.records.push_back(std::move(r));
    }
    if (!ps.records.empty()) sets.push_back(std::move(ps));
  }

  struct Expected {
    std::size_t open = 0, overdue = 0, met = 0;
    std::map<std::string, std::size_t> byKind;
    std::vector<std::string> lines;
  };

  /// The expectations against the resident register now (`check`; else as
  /// last checked): those it shows are marked met (once); the rest counted,
  /// overdue after expect-days.
  Expected expected(bool check) {
    Expected out;
    struct Row {
      std::string id, kind, person, code, identity, before, date;
      std::int64_t met;
    };
    std::vector<Row> rows;
    state_->read([&](StateSession& s) {
      s.query("SELECT event_id, kind, person, resident_code, identity, display_before, event_date, met_ms FROM " +
                  expected_ + " ORDER BY event_date, event_id",
              {}, [&](StateRows& r) {
                rows.push_back({r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.text(5), r.text(6),
                                r.integer(7)});
              });
    });
    const std::int64_t now = services_->nowMs();
    const std::string overdueBefore = localDate(now - expectDays_ * 86400000LL);
    std::vector<std::string> metNow;
    for (const Row& r : rows) {
      if (r.met) {
        ++out.met;
        continue;
      }
      bool shown = false;
      if (check && residents_) {
        std::optional<RegisterEntry> e;
        if (!r.code.empty()) e = residents_->find("resident_code", r.code);
        if (!e && !r.identity.empty()) e = residents_->find("identity", r.identity);
        if (r.kind == "resident") shown = e && e->current;
        else if (r.kind == "removal") shown = e && !e->current;
        else shown = e && field(*e, "koseki_display") != r.before;
      }
      if (shown) {
        metNow.push_back(r.id);
        ++out.met;
        continue;
      }
      ++out.open;
      ++out.byKind[r.kind];
      const bool late = r.date < overdueBefore;
      if (late) ++out.overdue;
      if (out.lines.size() < 200)
        out.lines.push_back(r.date + " " + r.kind + " expected for person " + r.person + (late ? " (overdue)" : ""));
    }
    if (!metNow.empty())
      state_->write([&](StateSession& s) {
        for (const std::string& id : metNow)
          s.run("UPDATE " + expected_ + " SET met_ms = ? WHERE event_id = ? AND met_ms = 0", {now, id});
      });
    services_->metrics()
        .gauge("renkei_koseki_expected_open", "戸籍 events the resident register does not show yet (renkei koseki expected)")
        .set(static_cast<double>(out.open));
    services_->metrics()
        .gauge("renkei_koseki_expected_overdue", "Of those, older than expect-days")
        .set(static_cast<double>(out.overdue));
    return out;
  }

  void metrics(std::size_t lossy, std::size_t byIdentity, std::size_t unlinked) {
    auto& m = services_->metrics();
    m.counter("renkei_koseki_lossy_values_total", "Names and 本籍 that came as Unicode only (no 統一文字番号)").add(
        static_cast<double>(lossy));
    m.counter("renkei_koseki_linked_by_identity_total",
              "Persons linked to a resident by 4 情報 + 戸籍の表示 (no 住民票コード on the 附票)")
        .add(static_cast<double>(byIdentity));
    m.gauge("renkei_koseki_unlinked_persons", "Current persons of the last export linked to no resident")
        .set(static_cast<double>(unlinked));
  }

  Poco::Logger* logger_ = nullptr;
  std::string id_, holdReason_, residentRegister_, persons_, expected_, meta_, madeField_;
  std::map<std::string, int> kinds_;
  std::vector<std::string> fullPatterns_;
  HostServices* services_ = nullptr;
  StateStore* state_ = nullptr;
  std::shared_ptr<RegisterLookup> residents_;
  fs::path layout_;
  kit::RemovalGuard guard_{10, 10};
  bool fsync_ = true, linkByIdentity_ = true;
  std::int64_t historyDays_ = 60, expectDays_ = 14, checkedMs_ = 0;
  std::unique_ptr<kit::Register> personReg_, kosekiReg_;
  std::unique_ptr<kit::ExportLedger> exports_;
  const FieldNames* indexNames_ = nullptr;
  std::vector<std::size_t> index_;
};

}  // namespace
}  // namespace renkei::connectors::koseki

namespace {
const renkei_operator_verb kVerbs[] = {
    {"held", "--connector", 1, "--config F [--connector C]", "full extracts held for leaving out too many persons"},
    {"release", "--connector --file --by", 1, "--config F [--connector C] --file NAME [--by NAME]",
     "take a held extract in after checking it (recorded with who; taken in as it is)"},
    {"expected", "--connector", 1, "--config F [--connector C]",
     "戸籍 events the resident register does not show yet (出生, 死亡, 婚姻 …); exit 1 when one is overdue"},
    {"links", "--connector", 1, "--config F [--connector C]",
     "how the persons are linked to residents (附票, 4 情報 + 戸籍の表示, not at all) and how many are lossy"},
};
}  // namespace

RENKEI_PLUGIN_VERBS(kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::koseki::KosekiConnector, "koseki", "0.1.0", "experimental",
              "戸籍 and 戸籍附票 by file or ODBC view: persons with their 統一文字番号, 身分事項 events, links to residents",
              RENKEI_ROLE_SOURCE | RENKEI_ROLE_EMITTER, renkei::connectors::koseki::allKeys().data(),
              renkei::connectors::koseki::allKeys().size())
