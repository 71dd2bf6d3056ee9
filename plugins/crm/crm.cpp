// The CRM's state and operations. See crm.h.
#include "crm.h"
#include "crm_congestion.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "api/crm_constants.h"
#include "renkei/json.h"

namespace renkei::plugins::crm {
const char* progressName(api::Progress::type p) {
  const auto& names = api::g_crm_constants.PROGRESS_NAMES;
  auto it = names.find(p);
  return it == names.end() ? "?" : it->second.c_str();
}

namespace {

constexpr std::int64_t kDayMs = 86'400'000;

bool allowed(api::Progress::type from, api::Progress::type to) {
  using P = api::Progress;
  switch (from) {
    case P::RECEIVED: return to == P::IN_PROGRESS || to == P::DONE || to == P::RETURNED || to == P::WITHDRAWN;
    case P::IN_PROGRESS: return to == P::DONE || to == P::RETURNED || to == P::WITHDRAWN;
    case P::RETURNED: return to == P::RECEIVED || to == P::WITHDRAWN;
    default: return false;  // 完了 and 取下げ are final
  }
}

/// "YYYY-MM-DD" and "YYYY-MM-DDTHH" of a time in ms at `offsetMinutes`.
std::string period(std::int64_t ms, std::int64_t offsetMinutes, bool hour) {
  const std::int64_t local = ms + offsetMinutes * 60'000;
  std::int64_t days = local >= 0 ? local / kDayMs : (local - kDayMs + 1) / kDayMs;
  const std::int64_t h = (local - days * kDayMs) / 3'600'000;
  // Civil date from days since the epoch (Howard Hinnant's algorithm).
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[96];
  if (hour)
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld", static_cast<long long>(y),
                  static_cast<long long>(m), static_cast<long long>(d), static_cast<long long>(h));
  else
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y), static_cast<long long>(m),
                  static_cast<long long>(d));
  return buf;
}

api::TimeRow timeRow(const std::string& key, int procedures, const std::vector<double>& waits,
                     const std::vector<double>& handles) {
  auto avg = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += x;
    return v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  };
  api::TimeRow row;
  row.key = key;
  row.procedures = procedures;
  row.waited = static_cast<int>(waits.size());
  row.waitAvgSeconds = avg(waits);
  row.waitP90Seconds = nearestRank(waits, 90);
  row.handled = static_cast<int>(handles.size());
  row.handleAvgSeconds = avg(handles);
  row.handleP90Seconds = nearestRank(handles, 90);
  return row;
}

/// Appends code point `c` as UTF-8.
void appendUtf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

/// Reads a JSON string literal at `p` (on its opening quote) into `out`;
/// returns the position after the closing quote, or npos when malformed.
std::size_t readJsonString(std::string_view j, std::size_t p, std::string& out) {
  out.clear();
  if (p >= j.size() || j[p] != '"') return std::string_view::npos;
  ++p;
  while (p < j.size()) {
    const std::size_t plain = j.find_first_of("\"\\", p);
    if (plain == std::string_view::npos) return plain;
    out.append(j.substr(p, plain - p));
    p = plain;
    if (j[p] == '"') return p + 1;
    if (++p >= j.size()) return std::string_view::npos;
    const char e = j[p++];
    switch (e) {
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        auto hex = [&](std::size_t at) -> std::optional<std::uint32_t> {
          if (at + 4 > j.size()) return std::nullopt;
          std::uint32_t v = 0;
          for (std::size_t k = at; k < at + 4; ++k) {
            const char h = j[k];
            v = v * 16 + static_cast<std::uint32_t>(h >= '0' && h <= '9'   ? h - '0'
                                                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                                           : 99);
            if (v > 0xFFFF) return std::nullopt;
          }
          return v;
        };
        auto c = hex(p);
        if (!c) return std::string_view::npos;
        p += 4;
        if (*c >= 0xD800 && *c < 0xDC00 && p + 6 <= j.size() && j[p] == '\\' && j[p + 1] == 'u') {
          if (auto low = hex(p + 2); low && *low >= 0xDC00 && *low < 0xE000) {
            *c = 0x10000 + ((*c - 0xD800) << 10) + (*low - 0xDC00);
            p += 6;
          }
        }
        appendUtf8(out, *c);
        break;
      }
      default: out += e;  // \" \\ \/
    }
  }
  return std::string_view::npos;
}

}  // namespace

bool parseFlatObject(std::string_view j, std::map<std::string, std::string>& out) {
  std::size_t p = j.find('{');
  if (p == std::string_view::npos) return false;
  ++p;
  std::string key, value;
  for (;;) {
    while (p < j.size() && (j[p] == ' ' || j[p] == ',')) ++p;
    if (p < j.size() && j[p] == '}') return true;
    p = readJsonString(j, p, key);
    if (p == std::string_view::npos) return false;
    while (p < j.size() && (j[p] == ' ' || j[p] == ':')) ++p;
    p = readJsonString(j, p, value);
    if (p == std::string_view::npos) return false;
    out.emplace_hint(out.end(), key, value);
  }
}

std::optional<std::int64_t> parseDay(const std::string& t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (t[static_cast<std::size_t>(i)] < '0' || t[static_cast<std::size_t>(i)] > '9') return std::nullopt;
  const int y = std::stoi(t.substr(0, 4)), m = std::stoi(t.substr(5, 2)), d = std::stoi(t.substr(8, 2));
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return std::nullopt;
  // Days from civil (Howard Hinnant's algorithm).
  const int yy = m <= 2 ? y - 1 : y;
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

double nearestRank(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

Crm::Crm(StateStore& state, CrmOptions options)
    : state_(state),
      options_(std::move(options)),
      residents_(state.table("residents")),
      visits_(state.table("visits")),
      procedures_(state.table("procedures")),
      events_(state.table("visit_events")),
      facts_(state.table("facts")),
      related_(state.table("related")),
      drafts_(state.table("drafts")),
      tickets_(state.table("tickets")),
      ticketEvents_(state.table("ticket_events")) {}

void Crm::migrate() {
  const std::string id = state_.dialect() == "postgresql" ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                                                          : "INTEGER PRIMARY KEY";
  state_.migrate({
      // 1: the resident cache (one row per 住民票コード, the mapped record as
      // a JSON object) and the visits with their procedures and history.
      "CREATE TABLE {residents} (resident_code TEXT PRIMARY KEY, household_no TEXT NOT NULL, "
      "householder BIGINT NOT NULL, fields TEXT NOT NULL, batch_id TEXT NOT NULL, updated_ms BIGINT NOT NULL);"
      "CREATE INDEX {residents_household} ON {residents} (household_no);"
      "CREATE TABLE {visits} (id " + id + ", ticket TEXT NOT NULL, opened_ms BIGINT NOT NULL, "
      "closed_ms BIGINT NOT NULL DEFAULT 0, resident_code TEXT NOT NULL DEFAULT '');"
      "CREATE INDEX {visits_opened} ON {visits} (opened_ms);"
      "CREATE TABLE {procedures} (id " + id + ", visit_id BIGINT NOT NULL, code TEXT NOT NULL, "
      "counter TEXT NOT NULL, progress BIGINT NOT NULL, received_ms BIGINT NOT NULL, "
      "started_ms BIGINT NOT NULL DEFAULT 0, finished_ms BIGINT NOT NULL DEFAULT 0);"
      "CREATE INDEX {procedures_visit} ON {procedures} (visit_id);"
      "CREATE INDEX {procedures_received} ON {procedures} (received_ms);"
      "CREATE TABLE {visit_events} (id " + id + ", visit_id BIGINT NOT NULL, at_ms BIGINT NOT NULL, "
      "what TEXT NOT NULL, detail TEXT NOT NULL, staff TEXT NOT NULL, client TEXT NOT NULL);"
      "CREATE INDEX {visit_events_visit} ON {visit_events} (visit_id);",
      // 2: each cached resident's status in the register, from the move
      // events (住民 until an event says otherwise).
      "ALTER TABLE {residents} ADD COLUMN status TEXT NOT NULL DEFAULT '住民';"
      "ALTER TABLE {residents} ADD COLUMN status_date TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE {residents} ADD COLUMN status_event TEXT NOT NULL DEFAULT '';"
      "ALTER TABLE {residents} ADD COLUMN status_ms BIGINT NOT NULL DEFAULT 0;",
      // 3: sealed visit tokens opened (single use): by token id, never the content.
      "CREATE TABLE {tokens_opened} (token_id TEXT PRIMARY KEY, opened_ms BIGINT NOT NULL, "
      "expires_ms BIGINT NOT NULL, client TEXT NOT NULL);",
      // 4: name and birth date, to find an opened token's members (filled
      // below for rows cached before).
      "ALTER TABLE {residents} ADD COLUMN match_key TEXT NOT NULL DEFAULT '';"
      "CREATE INDEX {residents_match} ON {residents} (match_key);",
      // 5: the core systems' facts per resident and program (the welfare
      // connector's: the names of the facts that are true), and the related
      // procedures judged at the register's events, with their rule.
      "CREATE TABLE {facts} (resident_code TEXT NOT NULL, program TEXT NOT NULL, flags TEXT NOT NULL, "
      "updated_ms BIGINT NOT NULL, PRIMARY KEY (resident_code, program));"
      "CREATE TABLE {related} (event_id TEXT NOT NULL, procedure_id TEXT NOT NULL, resident_code TEXT NOT NULL, "
      "household_no TEXT NOT NULL, event TEXT NOT NULL, event_date TEXT NOT NULL, name TEXT NOT NULL, "
      "deadline TEXT NOT NULL, because TEXT NOT NULL, rule TEXT NOT NULL, created_ms BIGINT NOT NULL, "
      "PRIMARY KEY (event_id, procedure_id));"
      "CREATE INDEX {related_household} ON {related} (household_no);"
      "CREATE INDEX {related_resident} ON {related} (resident_code);",
      // 6: the person's matching digest beside each judged event, so a
      // 戸籍 event (koseki) and the resident feed's notice of the same
      // change (住基法 9条2項) are one fact, whichever comes first.
      "ALTER TABLE {related} ADD COLUMN identity TEXT NOT NULL DEFAULT '';"
      "CREATE INDEX {related_fact} ON {related} (event, event_date);",
      // 7: drafts read at the window (a scan, a card's chip) for the window
      // system to fill its forms from, until attached to a visit; purged
      // keep-drafts-for after they came.
      "CREATE TABLE {drafts} (draft_id TEXT PRIMARY KEY, procedure TEXT NOT NULL, source TEXT NOT NULL, "
      "fields TEXT NOT NULL, review TEXT NOT NULL, received_ms BIGINT NOT NULL, "
      "visit_id BIGINT NOT NULL DEFAULT 0, attached_ms BIGINT NOT NULL DEFAULT 0);"
      "CREATE INDEX {drafts_received} ON {drafts} (received_ms);"
      "CREATE INDEX {drafts_visit} ON {drafts} (visit_id);",
      // 8: the floor — the ticket machine's events, each taken once (held
      // until its ticket's issue arrives), each ticket's visit and current
      // procedure; a procedure's call (the wait ends) and no-show.
      "ALTER TABLE {procedures} ADD COLUMN called_ms BIGINT NOT NULL DEFAULT 0;"
      "ALTER TABLE {procedures} ADD COLUMN no_show BIGINT NOT NULL DEFAULT 0;"
      "CREATE TABLE {tickets} (ticket_key TEXT PRIMARY KEY, visit_id BIGINT NOT NULL, procedure_id BIGINT NOT NULL, "
      "issued_ms BIGINT NOT NULL);"
      "CREATE TABLE {ticket_events} (event_key TEXT PRIMARY KEY, ticket_key TEXT NOT NULL, at_ms BIGINT NOT NULL, "
      "event TEXT NOT NULL, held BIGINT NOT NULL, record TEXT NOT NULL, received_ms BIGINT NOT NULL, "
      "reported BIGINT NOT NULL);"
      "CREATE INDEX {ticket_events_ticket} ON {ticket_events} (ticket_key);"
      "CREATE INDEX {ticket_events_held} ON {ticket_events} (held, reported);",
      // 9: the floor's status (every line with tickets of the day) and a
      // ticket joining the visit a window opened with its number.
      "CREATE INDEX {tickets_issued} ON {tickets} (issued_ms);"
      "CREATE INDEX {visits_ticket} ON {visits} (ticket, closed_ms);",
  });
  // Rows cached before step 4, in chunks (a register of a million rows too).
  for (;;) {
    std::vector<std::pair<std::string, std::string>> keys;
    state_.read([&](StateSession& s) {
      s.query("SELECT resident_code, fields FROM " + residents_ + " WHERE match_key = '' LIMIT 1000", {},
              [&](StateRows& row) {
                std::map<std::string, std::string> f;
                parseFlatObject(row.text(1), f);
                std::string key = matchKey(f[options_.nameField], f[options_.birthField]);
                keys.emplace_back(row.text(0), key == "|" ? std::string("-") : key);
              });
    });
    if (keys.empty()) break;
    state_.write([&](StateSession& s) {
      for (const auto& [code, key] : keys)
        s.run("UPDATE " + residents_ + " SET match_key = ? WHERE resident_code = ?", {key, code});
    });
  }
}

std::string Crm::matchKey(const std::string& name, const std::string& birth) {
  std::string n;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == ' ') continue;
    if (name.compare(i, 3, "\xE3\x80\x80") == 0) {  // U+3000
      i += 2;
      continue;
    }
    n += name[i];
  }
  return n + "|" + birth;
}

std::vector<api::Household> Crm::householdsOf(const std::vector<std::pair<std::string, std::string>>& nameBirth) {
  std::set<std::string> numbers;
  state_.read([&](StateSession& s) {
    for (const auto& [name, birth] : nameBirth)
      s.query("SELECT household_no FROM " + residents_ + " WHERE match_key = ? AND status = ?",
              {matchKey(name, birth), std::string(kCurrent)}, [&](StateRows& row) {
                if (numbers.size() < 8) numbers.insert(row.text(0));
              });
  });
  std::vector<api::Household> out;
  for (const std::string& no : numbers) out.push_back(household(no));
  return out;
}

std::size_t Crm::upsertResidents(const std::vector<Record>& records, const std::string& batchId, std::int64_t now) {
  std::size_t skipped = 0;
  const std::string sql = "INSERT INTO " + residents_ +
                          " (resident_code, household_no, householder, fields, batch_id, updated_ms, match_key) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (resident_code) DO UPDATE SET "
                          "household_no = excluded.household_no, householder = excluded.householder, "
                          "fields = excluded.fields, batch_id = excluded.batch_id, updated_ms = excluded.updated_ms, "
                          "match_key = excluded.match_key";
  state_.write([&](StateSession& s) {
    std::string json;
    for (const Record& r : records) {
      const std::string* code = r.find(options_.residentKey);
      if (!code || code->empty()) {
        ++skipped;
        continue;
      }
      const std::string* household = r.find(options_.householdKey);
      const std::string* relation = r.find(options_.relationshipField);
      json.clear();
      json.push_back('{');
      for (std::size_t i = 0; i < r.size(); ++i) {
        if (i) json.push_back(',');
        appendJsonString(json, r.name(i));
        json.push_back(':');
        appendJsonString(json, r.value(i));
      }
      json.push_back('}');
      const std::string* name = r.find(options_.nameField);
      const std::string* birth = r.find(options_.birthField);
      s.run(sql, {*code, household ? *household : std::string(),
                  std::int64_t{relation && *relation == options_.householderValue}, json, batchId, now,
                  matchKey(name ? *name : std::string(), birth ? *birth : std::string())});
    }
  });
  return skipped;
}

namespace {
/// The status an event leaves a resident in.
std::string statusAfter(const std::string& event) {
  static const std::map<std::string, std::string> removed{
      {"転出", "転出"}, {"国外転出", "国外転出"}, {"死亡", "死亡"}, {"職権消除", "消除"}, {"消除", "消除"}};
  auto it = removed.find(event);
  return it == removed.end() ? std::string(kCurrent) : it->second;
}
}  // namespace

std::size_t Crm::applyEvents(const std::vector<Record>& records, const std::string& batchId, std::int64_t now) {
  std::size_t skipped = 0;
  // A resident not cached yet gets a row of its own (its record may arrive
  // after the event, by another route): the record's upsert keeps the status.
  const std::string sql =
      "INSERT INTO " + residents_ +
      " (resident_code, household_no, householder, fields, batch_id, updated_ms, status, status_date, status_event, "
      "status_ms) VALUES (?, ?, 0, '{}', ?, ?, ?, ?, ?, ?) ON CONFLICT (resident_code) DO UPDATE SET "
      "status = excluded.status, status_date = excluded.status_date, status_event = excluded.status_event, "
      "status_ms = excluded.status_ms, household_no = CASE WHEN excluded.status = '" + std::string(kCurrent) +
      "' AND excluded.household_no <> '' THEN excluded.household_no ELSE " + residents_ + ".household_no END "
      "WHERE excluded.status_date >= " + residents_ + ".status_date";
  state_.write([&](StateSession& s) {
    for (const Record& r : records) {
      const std::string* code = r.find(options_.residentKey);
      const std::string* event = r.find("event");
      if (!code || code->empty() || !event || event->empty()) {
        ++skipped;
        continue;
      }
      const std::string* date = r.find("move_date");
      const std::string* household = r.find(options_.householdKey);
      s.run(sql, {*code, household ? *household : std::string(), batchId, now, statusAfter(*event),
                  date ? *date : std::string(), *event, now});
    }
  });
  return skipped;
}

std::size_t Crm::upsertFacts(const std::vector<Record>& records, std::int64_t now) {
  std::size_t skipped = 0;
  static const std::set<std::string> kNotFacts{"program", "person_key", "resident_code", "current", "export"};
  state_.write([&](StateSession& s) {
    for (const Record& r : records) {
      const std::string* code = r.find("resident_code");
      const std::string* program = r.find("program");
      if (!code || code->empty() || !program || program->empty()) {
        ++skipped;
        continue;
      }
      std::string flags;
      for (std::size_t i = 0; i < r.size(); ++i)
        if (!kNotFacts.count(r.name(i)) && r.value(i) == "true") flags += (flags.empty() ? "" : " ") + r.name(i);
      s.run("INSERT INTO " + facts_ + " (resident_code, program, flags, updated_ms) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (resident_code, program) DO UPDATE SET flags = excluded.flags, updated_ms = excluded.updated_ms",
            {*code, *program, flags, now});
    }
  });
  return skipped;
}

std::size_t Crm::judgeEvents(const std::vector<Record>& records, const std::map<std::string, std::string>& eventIds,
                             const RelatedJudge& judge, std::int64_t now, std::size_t& undated) {
  std::size_t listed = 0;
  auto birthOf = [&](const std::string& fields) {
    std::map<std::string, std::string> f;
    parseFlatObject(fields, f);
    auto it = f.find(options_.birthField);
    return it == f.end() ? std::string() : it->second;
  };
  for (const Record& r : records) {
    auto field = [&](const std::string& name) {
      const std::string* v = r.find(name);
      return v ? *v : std::string();
    };
    const auto id = eventIds.find(field("event"));
    const std::string code = field(options_.residentKey), eventKey = field("event_id"), identity = field("identity");
    const std::string household = field(options_.householdKey);
    // A 戸籍 birth may come before the child is a resident: its household
    // (the parents') and its digest are enough.
    if (id == eventIds.end() || eventKey.empty() || (code.empty() && (identity.empty() || household.empty())))
      continue;
    const std::string date = r.find("move_date") ? field("move_date") : field("event_date");
    if (!parseDay(date)) {
      ++undated;
      continue;
    }
    JudgedEvent e;
    e.eventId = id->second;
    e.date = date;
    bool judgedBefore = false, adopt = false;
    state_.read([&](StateSession& s) {
      // Judged before: this event, or the same change of the same person
      // from the other feed (by 住民票コード or by the person's digest).
      s.query("SELECT resident_code FROM " + related_ +
                  " WHERE event_id = ? OR (event = ? AND event_date = ? AND ((? <> '' AND resident_code = ?) OR "
                  "(? <> '' AND identity = ?))) LIMIT 1",
              {eventKey, field("event"), date, code, code, identity, identity}, [&](StateRows& row) {
                judgedBefore = true;
                adopt = row.text(0).empty() && !code.empty();
              });
      if (judgedBefore) return;
      // The person; at a birth, the household the child is born into.
      std::set<std::string> seen{code};
      if (!code.empty())
        s.query("SELECT fields FROM " + residents_ + " WHERE resident_code = ?", {code},
                [&](StateRows& row) { e.members.push_back({birthOf(row.text(0)), {}}); });
      if (e.members.empty()) e.members.push_back({e.eventId == "shussei" ? date : std::string(), {}});
      if (!code.empty()) e.members.back().flags = factsIn(s, code);
      if (e.eventId == "shussei" && !household.empty()) {
        std::vector<std::pair<std::string, std::string>> others;
        s.query("SELECT resident_code, fields FROM " + residents_ + " WHERE household_no = ? AND status = '" +
                    std::string(kCurrent) + "'",
                {household}, [&](StateRows& row) {
                  if (seen.insert(row.text(0)).second) others.emplace_back(row.text(0), row.text(1));
                });
        for (const auto& [other, fields] : others) e.members.push_back({birthOf(fields), factsIn(s, other)});
      }
    });
    if (adopt)  // the 戸籍 event came first: the procedures now name the resident
      state_.write([&](StateSession& s) {
        s.run("UPDATE " + related_ + " SET resident_code = ? WHERE event = ? AND event_date = ? AND identity = ? AND "
              "resident_code = ''",
              {code, field("event"), date, identity});
      });
    if (judgedBefore) continue;
    const std::vector<Judged> found = judge(e);
    if (found.empty()) continue;
    state_.write([&](StateSession& s) {
      for (const Judged& j : found) {
        s.run("INSERT INTO " + related_ +
                  " (event_id, procedure_id, resident_code, household_no, event, event_date, name, deadline, because, "
                  "rule, created_ms, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (event_id, procedure_id) DO NOTHING",
              {eventKey, j.procedure, code, household, field("event"), e.date, j.name, j.deadline, j.because, j.rule, now,
               identity});
        ++listed;
      }
    });
  }
  return listed;
}

std::set<std::string> Crm::factsIn(StateSession& s, const std::string& residentCode) {
  std::set<std::string> out;
  s.query("SELECT flags FROM " + facts_ + " WHERE resident_code = ?", {residentCode}, [&](StateRows& row) {
    std::istringstream in(row.text(0));
    for (std::string f; in >> f;) out.insert(f);
  });
  return out;
}

std::set<std::string> Crm::facts(const std::string& residentCode) {
  std::set<std::string> out;
  state_.read([&](StateSession& s) { out = factsIn(s, residentCode); });
  return out;
}

std::vector<api::RelatedProcedure> Crm::related(const std::string& householdNo) {
  std::vector<api::RelatedProcedure> out;
  state_.read([&](StateSession& s) {
    s.query("SELECT procedure_id, name, deadline, because, rule, event, event_date, resident_code FROM " + related_ +
                " WHERE household_no = ? ORDER BY event_date DESC, created_ms DESC, deadline, procedure_id",
            {householdNo}, [&](StateRows& row) {
              api::RelatedProcedure p;
              p.procedure = row.text(0);
              p.name = row.text(1);
              p.deadline = row.text(2);
              p.because = row.text(3);
              p.rule = row.text(4);
              p.event = row.text(5);
              p.eventDate = row.text(6);
              p.residentCode = row.text(7);
              out.push_back(std::move(p));
            });
  });
  return out;
}

api::Resident Crm::residentFrom(StateRows& row) {
  api::Resident r;
  r.residentCode = row.text(0);
  r.householdNo = row.text(1);
  r.updatedAt = row.integer(3);
  r.status = row.text(4);
  r.statusDate = row.text(5);
  r.statusEvent = row.text(6);
  r.current = r.status == kCurrent;
  if (!parseFlatObject(row.text(2), r.fields))
    throw StateError("the cached record of a resident is not a JSON object (the store was changed by hand?)");
  return r;
}

std::optional<api::Resident> Crm::resident(const std::string& code) {
  std::optional<api::Resident> out;
  const std::string sql =
      "SELECT resident_code, household_no, fields, updated_ms, status, status_date, status_event FROM " + residents_ +
      " WHERE resident_code = ?";
  state_.read([&](StateSession& s) { s.query(sql, {code}, [&](StateRows& row) { out = residentFrom(row); }); });
  return out;
}

api::Household Crm::household(const std::string& householdNo, bool includeFormer) {
  api::Household h;
  h.householdNo = householdNo;
  const std::string sql = "SELECT resident_code, household_no, fields, updated_ms, status, status_date, status_event FROM " +
                          residents_ + " WHERE household_no = ?" +
                          (includeFormer ? std::string() : " AND status = '" + std::string(kCurrent) + "'") +
                          " ORDER BY householder DESC, resident_code";
  state_.read([&](StateSession& s) {
    s.query(sql, {householdNo}, [&](StateRows& row) { h.members.push_back(residentFrom(row)); });
  });
  return h;
}

void Crm::event(StateSession& s, std::int64_t visitId, std::int64_t at, const std::string& what,
                const std::string& detail, const Actor& by) {
  s.run("INSERT INTO " + events_ + " (visit_id, at_ms, what, detail, staff, client) VALUES (?, ?, ?, ?, ?, ?)",
        {visitId, at, what, detail, by.staff, by.client});
}

void Crm::requireOpen(StateSession& s, std::int64_t id) {
  bool found = false;
  std::int64_t closed = 0;
  s.query("SELECT closed_ms FROM " + visits_ + " WHERE id = ?", {id}, [&](StateRows& row) {
    found = true;
    closed = row.integer(0);
  });
  if (!found) throw CrmError{api::ErrorCode::NOT_FOUND, "no visit " + std::to_string(id)};
  if (closed) throw CrmError{api::ErrorCode::CONFLICT, "visit " + std::to_string(id) + " is closed"};
}

api::Visit Crm::load(StateSession& s, std::int64_t id) {
  api::Visit v;
  bool found = false;
  s.query("SELECT id, ticket, opened_ms, closed_ms, resident_code FROM " + visits_ + " WHERE id = ?", {id},
          [&](StateRows& row) {
            found = true;
            v.id = row.integer(0);
            v.ticket = row.text(1);
            v.openedAt = row.integer(2);
            v.closedAt = row.integer(3);
            v.residentCode = row.text(4);
          });
  if (!found) throw CrmError{api::ErrorCode::NOT_FOUND, "no visit " + std::to_string(id)};
  s.query("SELECT id, code, counter, progress, received_ms, started_ms, finished_ms FROM " + procedures_ +
              " WHERE visit_id = ? ORDER BY id",
          {id}, [&](StateRows& row) {
            api::Procedure p;
            p.id = row.integer(0);
            p.code = row.text(1);
            p.counter = row.text(2);
            p.progress = static_cast<api::Progress::type>(row.integer(3));
            p.receivedAt = row.integer(4);
            p.startedAt = row.integer(5);
            p.finishedAt = row.integer(6);
            v.procedures.push_back(std::move(p));
          });
  s.query("SELECT at_ms, what, detail, staff, client FROM " + events_ + " WHERE visit_id = ? ORDER BY id", {id},
          [&](StateRows& row) {
            api::VisitEvent e;
            e.at = row.integer(0);
            e.what = row.text(1);
            e.detail = row.text(2);
            e.staff = row.text(3);
            e.client = row.text(4);
            v.history.push_back(std::move(e));
          });
  s.query("SELECT draft_id FROM " + drafts_ + " WHERE visit_id = ? ORDER BY attached_ms, draft_id", {id},
          [&](StateRows& row) { v.drafts.push_back(row.text(0)); });
  return v;
}

void Crm::purgeDrafts(StateSession& s, std::int64_t now) {
  s.run("DELETE FROM " + drafts_ + " WHERE received_ms < ?", {now - options_.keepDraftsMs});
}

std::size_t Crm::takeDrafts(const std::vector<Record>& records, std::int64_t now) {
  std::size_t skipped = 0;
  state_.write([&](StateSession& s) {
    purgeDrafts(s, now);
    std::string json;
    for (const Record& r : records) {
      const std::string* id = r.find("draft_id");
      const std::string* procedure = r.find("procedure");
      if (!id || id->empty() || id->size() > 200 || !procedure || procedure->empty()) {
        ++skipped;
        continue;
      }
      const std::string* source = r.find("source");
      const std::string* review = r.find("review_fields");
      // What was read, by the mapping's names; the draft's own keys aside.
      json.assign("{");
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string& name = r.name(i);
        if (name == "draft_id" || name == "procedure" || name == "source" || name == "review_fields") continue;
        if (r.value(i).empty()) continue;  // a member row the form left blank
        if (json.size() > 1) json.push_back(',');
        appendJsonString(json, name);
        json.push_back(':');
        appendJsonString(json, r.value(i));
      }
      json.push_back('}');
      s.run("INSERT INTO " + drafts_ +
                " (draft_id, procedure, source, fields, review, received_ms) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (draft_id) DO NOTHING",
            {*id, *procedure, source ? *source : std::string(), json, review ? *review : std::string(), now});
    }
  });
  return skipped;
}

std::vector<api::Draft> Crm::drafts(const std::string& procedure, std::int64_t now) {
  std::vector<api::Draft> out;
  state_.write([&](StateSession& s) {
    purgeDrafts(s, now);
    std::vector<StateValue> params;
    if (!procedure.empty()) params.push_back(procedure);
    s.query("SELECT draft_id, procedure, source, fields, review, received_ms FROM " + drafts_ + " WHERE visit_id = 0" +
                (procedure.empty() ? "" : " AND procedure = ?") + " ORDER BY received_ms DESC, draft_id LIMIT 100",
            params, [&](StateRows& row) {
              api::Draft d;
              d.id = row.text(0);
              d.procedure = row.text(1);
              d.source = row.text(2);
              parseFlatObject(row.text(3), d.fields);
              std::istringstream review(row.text(4));
              for (std::string field; review >> field;) d.review.push_back(field);
              d.receivedAt = row.integer(5);
              out.push_back(std::move(d));
            });
  });
  return out;
}

api::Visit Crm::attachDraft(std::int64_t visitId, const std::string& draftId, const std::string& counter,
                            const Actor& by, std::int64_t at) {
  api::Visit v;
  state_.write([&](StateSession& s) {
    requireOpen(s, visitId);
    purgeDrafts(s, at);
    bool found = false;
    std::int64_t attachedTo = 0;
    std::string procedure, source;
    s.query("SELECT visit_id, procedure, source FROM " + drafts_ + " WHERE draft_id = ?", {draftId},
            [&](StateRows& row) {
              found = true;
              attachedTo = row.integer(0);
              procedure = row.text(1);
              source = row.text(2);
            });
    if (!found) throw CrmError{api::ErrorCode::NOT_FOUND, "no draft " + draftId + " (never came, or purged)"};
    if (attachedTo == visitId) {  // asked twice: as it is
      v = load(s, visitId);
      return;
    }
    if (attachedTo)
      throw CrmError{api::ErrorCode::CONFLICT,
                     "draft " + draftId + " is attached to visit " + std::to_string(attachedTo)};
    s.run("UPDATE " + drafts_ + " SET visit_id = ?, attached_ms = ? WHERE draft_id = ?", {visitId, at, draftId});
    event(s, visitId, at, "draft-attached", "draft " + draftId + " (" + source + ") " + procedure, by);
    bool open = false;
    s.query("SELECT id FROM " + procedures_ + " WHERE visit_id = ? AND code = ? AND progress IN (?, ?)",
            {visitId, procedure, std::int64_t{api::Progress::RECEIVED}, std::int64_t{api::Progress::IN_PROGRESS}},
            [&](StateRows&) { open = true; });
    if (!open) insertProcedure(s, visitId, procedure, counter, by, at);
    v = load(s, visitId);
  });
  return v;
}

api::Visit Crm::openVisit(const std::string& ticket, const Actor& by, std::int64_t at) {
  api::Visit v;
  state_.write([&](StateSession& s) {
    // The ticket machine opened this number's visit today already (the
    // resident took a ticket, then showed a token at the counter): one visit.
    if (!ticket.empty()) {
      const std::int64_t offset = options_.reportOffsetMinutes * 60'000;
      const std::int64_t dayStart = (at + offset) / 86'400'000 * 86'400'000 - offset;
      std::int64_t joined = 0;
      s.query("SELECT v.id FROM " + visits_ + " v WHERE v.ticket = ? AND v.closed_ms = 0 AND v.opened_ms >= ? AND "
                  "v.opened_ms < ? AND EXISTS (SELECT 1 FROM " + tickets_ + " t WHERE t.visit_id = v.id) ORDER BY v.id DESC",
              {ticket, dayStart, dayStart + 86'400'000}, [&](StateRows& row) {
                if (!joined) joined = row.integer(0);
              });
      if (joined) {
        event(s, joined, at, "joined", "ticket " + ticket + " at the counter", by);
        v = load(s, joined);
        return;
      }
    }
    const std::int64_t id = s.insertReturningId(
        "INSERT INTO " + visits_ + " (ticket, opened_ms, closed_ms, resident_code) VALUES (?, ?, 0, '')", {ticket, at});
    event(s, id, at, "opened", ticket.empty() ? "at the counter" : "ticket " + ticket, by);
    v = load(s, id);
  });
  return v;
}

api::Visit Crm::visit(std::int64_t id) {
  api::Visit v;
  state_.read([&](StateSession& s) { v = load(s, id); });
  return v;
}

api::Visit Crm::linkResident(std::int64_t visitId, const std::string& residentCode, const Actor& by,
                             std::int64_t at) {
  api::Visit v;
  state_.write([&](StateSession& s) {
    requireOpen(s, visitId);
    bool known = false;
    s.query("SELECT 1 FROM " + residents_ + " WHERE resident_code = ?", {residentCode},
            [&](StateRows&) { known = true; });
    if (!known) throw CrmError{api::ErrorCode::NOT_FOUND, "no resident with that code in the cache"};
    s.run("UPDATE " + visits_ + " SET resident_code = ? WHERE id = ?", {residentCode, visitId});
    event(s, visitId, at, "resident-linked", "", by);  // the code itself is in the visit, not in its history
    v = load(s, visitId);
  });
  return v;
}

api::Visit Crm::addProcedure(std::int64_t visitId, const std::string& code, const std::string& counter,
                             const Actor& by, std::int64_t at) {
  api::Visit v;
  state_.write([&](StateSession& s) {
    requireOpen(s, visitId);
    insertProcedure(s, visitId, code, counter, by, at);
    v = load(s, visitId);
  });
  return v;
}

std::int64_t Crm::insertProcedure(StateSession& s, std::int64_t visitId, const std::string& code,
                                  const std::string& counter, const Actor& by, std::int64_t at) {
  const std::int64_t id = s.insertReturningId(
      "INSERT INTO " + procedures_ +
          " (visit_id, code, counter, progress, received_ms, started_ms, finished_ms) VALUES (?, ?, ?, ?, ?, 0, 0)",
      {visitId, code, counter, std::int64_t{api::Progress::RECEIVED}, at});
  event(s, visitId, at, "procedure-added", "procedure " + std::to_string(id) + " " + code + " at " + counter, by);
  return id;
}

api::Visit Crm::setProgress(std::int64_t visitId, std::int64_t procedureId, api::Progress::type progress,
                            const Actor& by, std::int64_t at) {
  api::Visit v;
  state_.write([&](StateSession& s) {
    requireOpen(s, visitId);
    bool found = false;
    api::Progress::type current = api::Progress::RECEIVED;
    std::int64_t started = 0;
    s.query("SELECT progress, started_ms FROM " + procedures_ + " WHERE id = ? AND visit_id = ?",
            {procedureId, visitId}, [&](StateRows& row) {
              found = true;
              current = static_cast<api::Progress::type>(row.integer(0));
              started = row.integer(1);
            });
    if (!found)
      throw CrmError{api::ErrorCode::NOT_FOUND,
                     "visit " + std::to_string(visitId) + " has no procedure " + std::to_string(procedureId)};
    if (!allowed(current, progress))
      throw CrmError{api::ErrorCode::CONFLICT, std::string("a procedure cannot go from ") + progressName(current) +
                                                   " to " + progressName(progress)};
    using P = api::Progress;
    const bool final = progress == P::DONE || progress == P::RETURNED || progress == P::WITHDRAWN;
    if (progress == P::IN_PROGRESS && !started) started = at;
    if ((progress == P::DONE || progress == P::RETURNED) && !started) started = at;  // handled at once
    s.run("UPDATE " + procedures_ + " SET progress = ?, started_ms = ?, finished_ms = ? WHERE id = ?",
          {std::int64_t{progress}, started, final ? at : std::int64_t{0}, procedureId});
    event(s, visitId, at, "progress",
          "procedure " + std::to_string(procedureId) + " " + progressName(current) + " → " + progressName(progress),
          by);
    v = load(s, visitId);
  });
  return v;
}

api::Visit Crm::closeVisit(std::int64_t visitId, const Actor& by, std::int64_t at) {
  api::Visit v;
  state_.write([&](StateSession& s) {
    requireOpen(s, visitId);
    s.run("UPDATE " + visits_ + " SET closed_ms = ? WHERE id = ?", {at, visitId});
    event(s, visitId, at, "closed", "", by);
    v = load(s, visitId);
  });
  return v;
}

api::Congestion Crm::congestion(const std::string& fromText, const std::string& toText, const std::string& month,
                                const calendar::Calendar& cal) {
  const auto from = parseDay(fromText), to = parseDay(toText);
  if (!from || !to) throw CrmError{api::ErrorCode::BAD_REQUEST, "fromDate and toDate must be dates (YYYY-MM-DD)"};
  if (*to < *from) throw CrmError{api::ErrorCode::BAD_REQUEST, "toDate is before fromDate"};
  if (*to - *from > 3 * 366) throw CrmError{api::ErrorCode::BAD_REQUEST, "the history covers at most three years"};
  const auto first = month.size() == 7 ? parseDay(month + "-01") : std::nullopt;
  if (!first) throw CrmError{api::ErrorCode::BAD_REQUEST, "month must be YYYY-MM"};
  const std::int64_t offset = options_.reportOffsetMinutes * 60'000;
  const std::int64_t begin = *from * kDayMs - offset, end = (*to + 1) * kDayMs - offset;
  std::map<calendar::Date, congestion::DayCounts> history;
  auto slot = [&](std::int64_t at) -> std::pair<congestion::DayCounts&, int> {
    const std::int64_t local = at + offset;
    return {history[calendar::fromDays(local / kDayMs)], static_cast<int>(local % kDayMs / 3'600'000)};
  };
  state_.read([&](StateSession& s) {
    s.query("SELECT opened_ms FROM " + visits_ + " WHERE opened_ms >= ? AND opened_ms < ?", {begin, end},
            [&](StateRows& row) {
              auto [day, hour] = slot(row.integer(0));
              ++day.arrivals[hour];
            });
    s.query("SELECT received_ms, called_ms FROM " + procedures_ +
                " WHERE received_ms >= ? AND received_ms < ? AND called_ms > 0",
            {begin, end}, [&](StateRows& row) {
              const std::int64_t received = row.integer(0), called = row.integer(1);
              auto [day, hour] = slot(received);
              day.waitSumSeconds[hour] += std::max<std::int64_t>(0, called - received) / 1000;
              ++day.waited[hour];
            });
  });
  const calendar::Date m = calendar::fromDays(*first);
  const congestion::Result r = congestion::forecast(history, cal, m.year, m.month);
  api::Congestion out;
  out.fromDate = fromText;
  out.toDate = toText;
  out.month = month;
  out.ordinaryMean = r.ordinaryMean;
  for (int w = 0; w < 7; ++w) {
    out.observedDays.push_back(r.days[w]);
    for (int h = 0; h < 24; ++h) {
      if (r.arrivals[w][h] == 0 && r.waitSeconds[w][h] == 0) continue;
      api::CongestionHour c;
      c.weekday = w;
      c.hour = h;
      c.arrivals = r.arrivals[w][h];
      c.waitSeconds = r.waitSeconds[w][h];
      out.profile.push_back(c);
    }
  }
  for (const congestion::Factor& f : r.factors) {
    api::CongestionFactor c;
    c.kind = congestion::kindNames(f.kind);
    c.factor = f.factor;
    c.days = f.days;
    c.measured = f.measured;
    out.factors.push_back(c);
  }
  for (const congestion::DayForecast& f : r.month) {
    api::CongestionDay d;
    d.date = calendar::iso(f.date);
    d.open = f.open;
    d.kinds = congestion::kindNames(f.kinds);
    d.expected = f.expected;
    d.ratio = f.ratio;
    d.busiestHour = f.busiestHour;
    d.level = f.level;
    out.days.push_back(d);
  }
  return out;
}

api::Report Crm::report(const std::string& fromText, const std::string& toText) {
  const auto from = parseDay(fromText), to = parseDay(toText);
  if (!from || !to) throw CrmError{api::ErrorCode::BAD_REQUEST, "fromDate and toDate must be dates (YYYY-MM-DD)"};
  if (*to < *from) throw CrmError{api::ErrorCode::BAD_REQUEST, "toDate is before fromDate"};
  if (*to - *from > 366) throw CrmError{api::ErrorCode::BAD_REQUEST, "a report covers at most 367 days"};
  const std::int64_t offset = options_.reportOffsetMinutes * 60'000;
  const std::int64_t begin = *from * kDayMs - offset, end = (*to + 1) * kDayMs - offset;

  std::map<std::string, api::CountRow> days, hours;
  auto count = [&](std::int64_t at, bool visit) {
    for (auto* m : {&days, &hours}) {
      const std::string key = period(at, options_.reportOffsetMinutes, m == &hours);
      api::CountRow& row = (*m)[key];
      row.period = key;
      (visit ? row.visits : row.procedures) += 1;
    }
  };
  struct Times {
    int procedures = 0, noShows = 0;
    std::vector<double> waits, handles;
  };
  std::map<std::string, Times> byProcedure, byCounter;
  state_.read([&](StateSession& s) {
    s.query("SELECT opened_ms FROM " + visits_ + " WHERE opened_ms >= ? AND opened_ms < ?", {begin, end},
            [&](StateRows& row) { count(row.integer(0), true); });
    s.query("SELECT code, counter, progress, received_ms, started_ms, finished_ms, called_ms, no_show FROM " +
                procedures_ + " WHERE received_ms >= ? AND received_ms < ?",
            {begin, end}, [&](StateRows& row) {
              // Each column once, in order (an ODBC driver may read them no other way).
              const std::string code = row.text(0), counter = row.text(1);
              const auto progress = static_cast<api::Progress::type>(row.integer(2));
              const std::int64_t received = row.integer(3), started = row.integer(4), finished = row.integer(5);
              const std::int64_t called = row.integer(6);
              const bool noShow = row.integer(7) != 0;
              count(received, false);
              for (auto [m, key] : {std::pair{&byProcedure, code}, std::pair{&byCounter, counter}}) {
                Times& t = (*m)[key];
                ++t.procedures;
                t.noShows += noShow;
                // The wait ends when the resident is called (a ticket's call),
                // else when staff start.
                if (called) t.waits.push_back(static_cast<double>(called - received) / 1000.0);
                else if (started) t.waits.push_back(static_cast<double>(started - received) / 1000.0);
                if (started && finished &&
                    (progress == api::Progress::DONE || progress == api::Progress::RETURNED))
                  t.handles.push_back(static_cast<double>(finished - started) / 1000.0);
              }
            });
  });
  api::Report r;
  r.fromDate = fromText;
  r.toDate = toText;
  for (auto& [k, row] : days) r.perDay.push_back(row);
  for (auto& [k, row] : hours) r.perHour.push_back(row);
  for (auto& [k, t] : byProcedure) {
    r.perProcedure.push_back(timeRow(k, t.procedures, t.waits, t.handles));
    r.perProcedure.back().noShows = t.noShows;
  }
  for (auto& [k, t] : byCounter) {
    r.perCounter.push_back(timeRow(k, t.procedures, t.waits, t.handles));
    r.perCounter.back().noShows = t.noShows;
  }
  return r;
}

}  // namespace renkei::plugins::crm
