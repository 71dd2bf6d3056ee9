// The CRM follows the floor: the ticket machine's normalised events
// (ticket.event, from the ticketing connector through a vendor's mapping)
// open a visit per ticket and move its procedure — the line (目的) — on:
// issued → 受付, called → the wait ends (called_ms), service started →
// 対応中, service ended → 完了, no-show and cancelled → 取下げ, a transfer
// finishes the line and adds the next one to the same visit. Each event is
// taken once by site, business date, line, ticket and sequence; an event
// whose ticket was not issued yet waits for it (held), and is reported once
// it has waited longer than the hold time.
#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <map>

#include "crm.h"
#include "renkei/json.h"
#include "renkei/text.h"

namespace renkei::plugins::crm {
namespace {

constexpr std::int64_t kMinuteMs = 60'000;

/// The machine's time: "YYYY-MM-DD HH:MM[:SS]" in local time (the host's
/// zone) or with an offset ("…T…+09:00"); nullopt when it is neither.
std::optional<std::int64_t> machineTime(const std::string& text, std::int64_t offsetMinutes) {
  if (text.size() < 16) return std::nullopt;
  const auto day = parseDay(text.substr(0, 10));
  if (!day || (text[10] != ' ' && text[10] != 'T') || text[13] != ':') return std::nullopt;
  auto num = [&](std::size_t at, int max) -> int {
    if (at + 2 > text.size() || !std::isdigit(static_cast<unsigned char>(text[at])) ||
        !std::isdigit(static_cast<unsigned char>(text[at + 1])))
      return -1;
    const int v = (text[at] - '0') * 10 + (text[at + 1] - '0');
    return v > max ? -1 : v;
  };
  const int h = num(11, 23), mi = num(14, 59);
  int sec = 0;
  std::size_t rest = 16;
  if (text.size() >= 19 && text[16] == ':') {
    sec = num(17, 60);
    rest = 19;
  }
  if (h < 0 || mi < 0 || sec < 0) return std::nullopt;
  while (rest < text.size() && (text[rest] == '.' || std::isdigit(static_cast<unsigned char>(text[rest])))) ++rest;
  std::int64_t offset = offsetMinutes;
  if (rest < text.size()) {
    const std::string zone = text.substr(rest);
    if (zone == "Z") {
      offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
      const int oh = num(rest + 1, 14), om = num(rest + 4, 59);
      if (oh < 0 || om < 0) return std::nullopt;
      offset = (zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  return (*day * 86'400 + h * 3600 + mi * 60 + sec) * 1000 - offset * kMinuteMs;
}

const char* const kEvents[] = {"issued",          "called",        "recalled", "requeued", "transferred",
                               "service_started", "service_ended", "no_show",  "cancelled"};

std::string field(const Record& r, const char* name) {
  const std::string* v = r.find(name);
  return v ? *v : std::string();
}

}  // namespace

std::string jsonObject(std::initializer_list<std::pair<const char*, std::string>> fields) {
  std::string json = "{";
  for (const auto& [k, v] : fields) {
    if (json.size() > 1) json += ',';
    appendJsonString(json, k);
    json += ':';
    appendJsonString(json, v);
  }
  return json + "}";
}

TicketTotals Crm::applyTicketEvents(const std::vector<Record>& records, std::int64_t now) {
  TicketTotals totals;
  state_.write([&](StateSession& s) {
    for (const Record& r : records) {
      TicketEvent e;
      e.site = field(r, "site");
      e.date = field(r, "business_date");
      e.line = field(r, "line");
      e.ticket = field(r, "ticket");
      e.event = field(r, "event");
      e.counter = field(r, "counter");
      e.staff = field(r, "staff");
      e.seq = field(r, "seq");
      e.toLine = field(r, "to_line");
      const auto at = machineTime(field(r, "at"), options_.reportOffsetMinutes);
      const bool known = std::find(std::begin(kEvents), std::end(kEvents), e.event) != std::end(kEvents);
      if (e.site.empty() || e.site.find('|') != std::string::npos || !parseDay(e.date) || e.line.empty() ||
          e.ticket.empty() || !known || !at ||
          e.site.size() + e.line.size() + e.ticket.size() + e.seq.size() > 400) {
        ++totals.invalid;
        continue;
      }
      e.at = *at;
      e.ticketKey = e.site + "|" + e.date + "|" + e.line + "|" + e.ticket;
      const std::string eventKey = e.ticketKey + "|" + (e.seq.empty() ? field(r, "at") : e.seq) + "|" + e.event;
      const std::string json = jsonObject({{"site", e.site}, {"business_date", e.date}, {"line", e.line},
                                           {"ticket", e.ticket}, {"event", e.event}, {"counter", e.counter},
                                           {"staff", e.staff}, {"seq", e.seq}, {"to_line", e.toLine},
                                           {"at_ms", std::to_string(e.at)}});
      if (s.run("INSERT INTO " + ticketEvents_ +
                    " (event_key, ticket_key, at_ms, event, held, record, received_ms, reported) "
                    "VALUES (?, ?, ?, ?, 0, ?, ?, 0) ON CONFLICT (event_key) DO NOTHING",
                {eventKey, e.ticketKey, e.at, e.event, json, now}) == 0) {
        ++totals.duplicates;  // taken before (a replayed log, a webhook sent twice)
        continue;
      }
      if (e.event != "issued" && !ticketKnown(s, e.ticketKey)) {
        s.run("UPDATE " + ticketEvents_ + " SET held = 1 WHERE event_key = ?", {eventKey});
        ++totals.held;
        continue;
      }
      applyTicketEvent(s, e);
      ++totals.applied;
      totals.events.push_back(e);
      if (e.event == "issued") totals.released += releaseHeld(s, e.ticketKey, totals.events);
    }
    totals.expired = expireHeld(s, now);
  });
  return totals;
}

std::vector<std::pair<std::string, std::string>> Crm::expireHeld(std::int64_t now) {
  std::vector<std::pair<std::string, std::string>> out;
  state_.write([&](StateSession& s) { out = expireHeld(s, now); });
  return out;
}

std::vector<std::pair<std::string, std::string>> Crm::expireHeld(StateSession& s, std::int64_t now) {
  // Held past their time: reported once (the ticket's issue never came).
  std::vector<std::pair<std::string, std::string>> out;
  s.query("SELECT event_key, event FROM " + ticketEvents_ + " WHERE held = 1 AND reported = 0 AND received_ms < ?",
          {now - options_.ticketHoldMs}, [&](StateRows& row) { out.emplace_back(row.text(0), row.text(1)); });
  for (const auto& [key, event] : out)
    s.run("UPDATE " + ticketEvents_ + " SET reported = 1 WHERE event_key = ?", {key});
  return out;
}

bool Crm::ticketKnown(StateSession& s, const std::string& ticketKey) {
  bool found = false;
  s.query("SELECT visit_id FROM " + tickets_ + " WHERE ticket_key = ?", {ticketKey},
          [&](StateRows&) { found = true; });
  return found;
}

std::size_t Crm::releaseHeld(StateSession& s, const std::string& ticketKey, std::vector<TicketEvent>& applied) {
  std::vector<std::string> records;
  s.query("SELECT record FROM " + ticketEvents_ + " WHERE ticket_key = ? AND held = 1 ORDER BY at_ms, event_key",
          {ticketKey}, [&](StateRows& row) { records.push_back(row.text(0)); });
  for (const std::string& json : records) {
    std::map<std::string, std::string> f;
    if (!parseFlatObject(json, f)) continue;
    TicketEvent e{f["site"], f["business_date"], f["line"], f["ticket"], f["event"], f["counter"], f["staff"],
                  f["seq"],  f["to_line"],       0,          ticketKey};
    e.at = std::stoll(f["at_ms"]);
    applyTicketEvent(s, e);
    applied.push_back(e);
  }
  s.run("UPDATE " + ticketEvents_ + " SET held = 0 WHERE ticket_key = ? AND held = 1", {ticketKey});
  return records.size();
}

void Crm::applyTicketEvent(StateSession& s, const TicketEvent& e) {
  const Actor by{e.staff, "ticket machine (" + e.site + ")"};
  if (e.event == "issued") {
    if (ticketKnown(s, e.ticketKey)) return;  // issued again under another sequence: one ticket
    // A window opened a visit with this number today (a token shown at
    // reception before the machine's event came): the ticket joins it.
    std::int64_t visit = 0;
    const std::int64_t dayStart = *parseDay(e.date) * 86'400'000 - options_.reportOffsetMinutes * kMinuteMs;
    s.query("SELECT v.id FROM " + visits_ + " v WHERE v.ticket = ? AND v.closed_ms = 0 AND v.opened_ms >= ? AND "
                "v.opened_ms < ? AND NOT EXISTS (SELECT 1 FROM " + tickets_ + " t WHERE t.visit_id = v.id) ORDER BY v.id DESC",
            {e.ticket, dayStart, dayStart + 86'400'000}, [&](StateRows& row) {
              if (!visit) visit = row.integer(0);
            });
    if (visit) {
      event(s, visit, e.at, "joined", "ticket " + e.ticket + " (" + e.line + ", " + e.site + ")", by);
    } else {
      visit = s.insertReturningId(
          "INSERT INTO " + visits_ + " (ticket, opened_ms, closed_ms, resident_code) VALUES (?, ?, 0, '')",
          {e.ticket, e.at});
      event(s, visit, e.at, "opened", "ticket " + e.ticket + " (" + e.line + ", " + e.site + ")", by);
    }
    const std::int64_t procedure = insertProcedure(s, visit, e.line, e.counter, by, e.at);
    s.run("INSERT INTO " + tickets_ + " (ticket_key, visit_id, procedure_id, issued_ms) VALUES (?, ?, ?, ?)",
          {e.ticketKey, visit, procedure, e.at});
    return;
  }
  std::int64_t visit = 0, procedure = 0;
  s.query("SELECT visit_id, procedure_id FROM " + tickets_ + " WHERE ticket_key = ?", {e.ticketKey},
          [&](StateRows& row) {
            visit = row.integer(0);
            procedure = row.integer(1);
          });
  std::int64_t progress = 0, called = 0, started = 0;
  s.query("SELECT progress, called_ms, started_ms FROM " + procedures_ + " WHERE id = ?", {procedure},
          [&](StateRows& row) {
            progress = row.integer(0);
            called = row.integer(1);
            started = row.integer(2);
          });
  using P = api::Progress;
  const bool open = progress == P::RECEIVED || progress == P::IN_PROGRESS;
  const std::string which = "procedure " + std::to_string(procedure);
  if (!e.counter.empty() && open)
    s.run("UPDATE " + procedures_ + " SET counter = ? WHERE id = ?", {e.counter, procedure});
  auto finish = [&](std::int64_t to, bool noShow) {
    if (!open) return;
    s.run("UPDATE " + procedures_ + " SET progress = ?, started_ms = ?, finished_ms = ?, no_show = ? WHERE id = ?",
          {std::int64_t{to}, started ? started : (to == P::DONE ? e.at : std::int64_t{0}), e.at,
           std::int64_t{noShow ? 1 : 0}, procedure});
    event(s, visit, e.at, "progress",
          which + " " + progressName(static_cast<P::type>(progress)) + " → " + progressName(static_cast<P::type>(to)) +
              (noShow ? " (no-show)" : ""),
          by);
  };
  if (e.event == "called" || e.event == "recalled" || e.event == "requeued") {
    if (e.event == "called" && !called && open)
      s.run("UPDATE " + procedures_ + " SET called_ms = ? WHERE id = ?", {e.at, procedure});
    event(s, visit, e.at, e.event, which + (e.counter.empty() ? "" : " at " + e.counter), by);
    return;
  }
  if (e.event == "service_started") {
    if (progress == P::RECEIVED) {
      s.run("UPDATE " + procedures_ + " SET progress = ?, started_ms = ?, called_ms = ? WHERE id = ?",
            {std::int64_t{P::IN_PROGRESS}, e.at, called ? called : e.at, procedure});
      event(s, visit, e.at, "progress", which + " 受付 → 対応中", by);
    }
  } else if (e.event == "service_ended") {
    finish(P::DONE, false);
  } else if (e.event == "no_show") {
    finish(P::WITHDRAWN, true);
  } else if (e.event == "cancelled") {
    finish(P::WITHDRAWN, false);
  } else if (e.event == "transferred") {
    // One visit: this line is finished, the next one waits (受付 now).
    finish(P::DONE, false);
    const std::string next = e.toLine.empty() ? e.line : e.toLine;
    const std::int64_t added = insertProcedure(s, visit, next, "", by, e.at);
    s.run("INSERT INTO " + tickets_ + " (ticket_key, visit_id, procedure_id, issued_ms) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (ticket_key) DO UPDATE SET procedure_id = excluded.procedure_id",
          {e.site + "|" + e.date + "|" + next + "|" + e.ticket, visit, added, e.at});
    if (next == e.line)  // back to the same line: the ticket's key is the same
      s.run("UPDATE " + tickets_ + " SET procedure_id = ? WHERE ticket_key = ?", {added, e.ticketKey});
    return;
  }
  // A visit whose procedures are all finished is closed.
  std::int64_t stillOpen = 0;
  s.query("SELECT count(*) FROM " + procedures_ + " WHERE visit_id = ? AND progress IN (?, ?)",
          {visit, std::int64_t{P::RECEIVED}, std::int64_t{P::IN_PROGRESS}},
          [&](StateRows& row) { stillOpen = row.integer(0); });
  if (!stillOpen && s.run("UPDATE " + visits_ + " SET closed_ms = ? WHERE id = ? AND closed_ms = 0", {e.at, visit}) > 0)
    event(s, visit, e.at, "closed", "ticket " + e.ticket + " done", by);
}

namespace {

/// One ticket on a line, as the floor's status reads it.
struct QueueRow {
  std::string ticket;
  std::int64_t progress = 0, called = 0, received = 0;
};

LineStatus summarise(std::string site, std::string date, std::string line, std::vector<QueueRow>& rows) {
  LineStatus out;
  out.site = std::move(site);
  out.date = std::move(date);
  out.line = std::move(line);
  std::stable_sort(rows.begin(), rows.end(), [](const QueueRow& a, const QueueRow& b) { return a.received < b.received; });
  std::vector<std::pair<std::int64_t, std::int64_t>> calls;  // (called, waited)
  for (const QueueRow& r : rows) {
    if (r.progress == api::Progress::RECEIVED && r.called == 0) {
      ++out.waiting;
      if (out.waitingTickets.size() < kMaxWaitingListed) out.waitingTickets.push_back(r.ticket);
    }
    if (r.called) calls.emplace_back(r.called, r.called - r.received);
  }
  std::stable_sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  if (calls.empty()) return out;
  for (const QueueRow& r : rows)
    if (r.called == calls.back().first) out.current = r.ticket;  // the last call's number
  if (calls.size() > 10) calls.erase(calls.begin(), calls.end() - 10);
  std::vector<std::int64_t> waits, gaps;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    waits.push_back(calls[i].second);
    if (i) gaps.push_back(calls[i].first - calls[i - 1].first);
  }
  std::sort(waits.begin(), waits.end());
  out.expectedWaitSeconds = std::max<std::int64_t>(0, waits[waits.size() / 2] / 1000);
  if (!gaps.empty()) {
    std::sort(gaps.begin(), gaps.end());
    out.callIntervalSeconds = gaps[gaps.size() / 2] / 1000;
  }
  return out;
}

}  // namespace

LineStatus Crm::lineStatus(const std::string& site, const std::string& date, const std::string& line) {
  const std::string prefix = site + "|" + date + "|" + line + "|";
  std::vector<QueueRow> rows;
  state_.read([&](StateSession& s) {
    s.query("SELECT v.ticket, p.progress, p.called_ms, p.received_ms FROM " + tickets_ + " t JOIN " + procedures_ +
                " p ON p.id = t.procedure_id JOIN " + visits_ + " v ON v.id = t.visit_id WHERE substr(t.ticket_key, 1, ?) = ?",
            {static_cast<std::int64_t>(utf8CodePoints(prefix).size()), prefix}, [&](StateRows& row) {
              QueueRow r;
              r.ticket = row.text(0);  // each column once, in order
              r.progress = row.integer(1);
              r.called = row.integer(2);
              r.received = row.integer(3);
              rows.push_back(std::move(r));
            });
  });
  return summarise(site, date, line, rows);
}

std::vector<LineStatus> Crm::floorStatus(std::int64_t sinceMs) {
  // Keyed site|date|line|ticket; a site holds no '|' (refused on the way in).
  std::map<std::string, std::vector<QueueRow>> lines;
  state_.read([&](StateSession& s) {
    s.query("SELECT t.ticket_key, v.ticket, p.progress, p.called_ms, p.received_ms FROM " + tickets_ + " t JOIN " +
                procedures_ + " p ON p.id = t.procedure_id JOIN " + visits_ + " v ON v.id = t.visit_id "
                "WHERE t.issued_ms >= ?",
            {sinceMs}, [&](StateRows& row) {
              const std::string key = row.text(0);
              QueueRow r;
              r.ticket = row.text(1);
              r.progress = row.integer(2);
              r.called = row.integer(3);
              r.received = row.integer(4);
              if (key.size() <= r.ticket.size() + 1) return;
              lines[key.substr(0, key.size() - r.ticket.size() - 1)].push_back(std::move(r));
            });
  });
  std::vector<LineStatus> out;
  for (auto& [prefix, rows] : lines) {
    const std::size_t bar = prefix.find('|');
    if (bar == std::string::npos || prefix.size() < bar + 13 || prefix[bar + 11] != '|') continue;
    out.push_back(summarise(prefix.substr(0, bar), prefix.substr(bar + 1, 10), prefix.substr(bar + 12), rows));
  }
  return out;
}

}  // namespace renkei::plugins::crm
