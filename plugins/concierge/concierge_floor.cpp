// The waiting status for residents: see concierge_floor.h.
#include "concierge_floor.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>

#include "renkei/json.h"
#include "renkei/local_time.h"
#include "renkei/state.h"
#include "renkei/text.h"
#include "zmq_channel.h"

namespace renkei::plugins::concierge {
namespace {

constexpr std::size_t kMaxText = 100;      ///< a site, line or number
constexpr std::size_t kMaxTickets = 1000;  ///< numbers listed per line
const char* const kFields[] = {"site",           "date",           "line",           "waiting", "current",
                               "expected_wait_s", "call_interval_s", "waiting_tickets", "updated"};

bool digits(const std::string& v, std::size_t max) {
  return !v.empty() && v.size() <= max && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
}

bool isoDate(const std::string& v) {
  return v.size() == 10 && v[4] == '-' && v[7] == '-' && digits(v.substr(0, 4), 4) && digits(v.substr(5, 2), 2) &&
         digits(v.substr(8, 2), 2);
}

/// Printable text of at most kMaxText bytes: no control characters.
bool plainText(const std::string& v, bool required) {
  if (v.empty()) return !required;
  if (v.size() > kMaxText || firstInvalidUtf8(v) != std::string_view::npos) return false;
  return std::none_of(v.begin(), v.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string toJson(const FloorLine& l) {
  std::string j = "{";
  auto add = [&](const char* k, const std::string& v) {
    if (j.size() > 1) j += ',';
    appendJsonString(j, k);
    j += ':';
    appendJsonString(j, v);
  };
  std::string tickets;
  for (const std::string& t : l.tickets) tickets += (tickets.empty() ? "" : ";") + t;
  add("site", l.site);
  add("date", l.date);
  add("line", l.line);
  add("waiting", std::to_string(l.waiting));
  add("current", l.current);
  add("expected_wait_s", std::to_string(l.expectedWait));
  add("call_interval_s", std::to_string(l.callInterval));
  add("waiting_tickets", tickets);
  add("updated", l.updated);
  return j + "}";
}

/// One floor.status record as a line; nullopt (with the field) when a value
/// has not the shape the mapping gives it.
std::optional<FloorLine> parse(const std::function<std::string(const char*)>& get, std::string& bad) {
  FloorLine l;
  l.site = get("site");
  l.date = get("date");
  l.line = get("line");
  l.current = get("current");
  l.updated = get("updated");
  const std::string waiting = get("waiting"), expected = get("expected_wait_s"), interval = get("call_interval_s"),
                    tickets = get("waiting_tickets");
  if (!plainText(l.site, true) || l.site.find('|') != std::string::npos) bad = "site";
  else if (!isoDate(l.date)) bad = "date";
  else if (!plainText(l.line, true)) bad = "line";
  else if (!plainText(l.current, false)) bad = "current";
  else if (!plainText(l.updated, true)) bad = "updated";
  else if (!digits(waiting, 6)) bad = "waiting";
  else if (!digits(expected, 6)) bad = "expected_wait_s";
  else if (!digits(interval, 6)) bad = "call_interval_s";
  if (!bad.empty()) return std::nullopt;
  l.waiting = std::stoll(waiting);
  l.expectedWait = std::stoll(expected);
  l.callInterval = std::stoll(interval);
  std::size_t from = 0;
  while (!tickets.empty() && from <= tickets.size()) {
    const std::size_t semi = std::min(tickets.find(';', from), tickets.size());
    const std::string t = tickets.substr(from, semi - from);
    if (!plainText(t, true) || l.tickets.size() >= kMaxTickets) {
      bad = "waiting_tickets";
      return std::nullopt;
    }
    l.tickets.push_back(t);
    from = semi + 1;
  }
  return l;
}

std::string minutesText(std::int64_t seconds) {
  const std::int64_t minutes = (seconds + 59) / 60;
  return minutes <= 1 ? std::string("1 分以内") : "約 " + std::to_string(minutes) + " 分";
}

std::string localDay(std::int64_t now, std::int64_t offsetMinutes) {
  return localTimeAt(now, offsetMinutes).substr(0, 10);
}

bool stale(const FloorLine& l, std::int64_t now, const FloorOptions& o) { return now - l.receivedMs > o.staleMs; }

std::string pageHead(const std::string& title, const std::string& municipality, const FloorOptions& o) {
  return "<!DOCTYPE html>\n<html lang=\"ja\" data-colour=\"" + markupEscaped(o.colour) + "\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" + markupEscaped(title) + " — " + markupEscaped(municipality) +
         "</title><link rel=\"stylesheet\" href=\"/app.css\"></head><body>"
         "<header class=\"bar\"><span class=\"municipality\">" + markupEscaped(municipality) +
         "</span><span class=\"service\">窓口の待ち状況</span></header>"
         "<main id=\"main\" class=\"floor\"><h1>" + markupEscaped(title) + "</h1>";
}

const char* const kPageEnd =
    "<p class=\"floor-note\">待ち時間は目安です。窓口の状況で前後します。"
    "番号が呼ばれたときにいらっしゃらない場合は、窓口でお声かけください。</p>"
    "</main></body></html>\n";

std::string updatedText(const FloorLine& l, std::int64_t now, const FloorOptions& o) {
  std::string out = "<p class=\"floor-updated\">" + markupEscaped(l.updated) + " 時点の情報です。";
  if (stale(l, now, o))
    out += "<strong>この情報はしばらく更新されていません。</strong>最新の状況は窓口または掲示でご確認ください。";
  return out + "</p>";
}

std::string encode(const std::string& v) {
  std::string out;
  Poco::URI::encode(v, "&=?#+/;%", out);
  return out;
}

}  // namespace

const char* Floor::migration() {
  return "CREATE TABLE {floor_status} (line_key TEXT PRIMARY KEY, record TEXT NOT NULL, received_ms BIGINT NOT NULL);"
         "CREATE TABLE {floor_near} (near_key TEXT PRIMARY KEY, day TEXT NOT NULL);";
}

Floor::Floor(HostServices& host, Poco::Logger& log, FloorOptions options,
             renkei::connectors::channel::ZmqPublisher* publisher)
    : host_(host),
      log_(log),
      options_(options),
      publisher_(publisher),
      statusTable_(host.state().table("floor_status")),
      nearTable_(host.state().table("floor_near")) {}

void Floor::loadRows() {
  std::map<std::string, FloorLine> loaded;
  host_.state().read([&](StateSession& s) {
    s.query("SELECT line_key, record, received_ms FROM " + statusTable_, {}, [&](StateRows& row) {
      const std::string key = row.text(0), json = row.text(1);
      const std::int64_t received = row.integer(2);
      try {
        auto o = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
        std::string bad;
        auto l = parse([&](const char* k) { return o->optValue<std::string>(k, ""); }, bad);
        if (!l) return;
        l->receivedMs = received;
        loaded[key] = std::move(*l);
      } catch (const std::exception&) {
      }
    });
  });
  std::lock_guard<std::mutex> lock(mutex_);
  lines_ = std::move(loaded);
}

std::size_t Floor::take(const std::vector<Record>& records, std::int64_t now, std::string& why) {
  std::size_t refused = 0;
  std::vector<FloorLine> taken;
  for (const Record& r : records) {
    std::string bad;
    auto l = parse([&](const char* k) {
      const std::string* v = r.find(k);
      return v ? *v : std::string();
    }, bad);
    if (!l) {
      ++refused;
      if (why.empty()) why = "floor.status records whose " + bad + " has not the shape of the floor's status";
      continue;
    }
    l->receivedMs = now;
    taken.push_back(std::move(*l));
  }
  if (taken.empty()) return refused;
  // A line's status, and who was told their turn is near, commit together.
  std::vector<std::string> events;
  const std::string today = localDay(now, host_.utcOffsetMinutes(now));
  host_.state().write([&](StateSession& s) {
    for (const FloorLine& l : taken) {
      s.run("INSERT INTO " + statusTable_ + " (line_key, record, received_ms) VALUES (?, ?, ?) ON CONFLICT (line_key) "
            "DO UPDATE SET record = excluded.record, received_ms = excluded.received_ms",
            {l.site + "|" + l.line, toJson(l), now});
      if (l.date == today) announceNear(s, l, events);
    }
    s.run("DELETE FROM " + nearTable_ + " WHERE day < ?", {today});
  });
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (FloorLine& l : taken) {
      const std::string key = l.site + "|" + l.line;
      auto it = lines_.find(key);
      if (it != lines_.end() && it->second.date > l.date) continue;  // an older day's status came late
      lines_[key] = std::move(l);
    }
  }
  if (publisher_)
    for (const std::string& e : events) publisher_->publish("ticket.near", e);
  return refused;
}

void Floor::announceNear(StateSession& s, const FloorLine& l, std::vector<std::string>& events) {
  const std::size_t n = std::min(options_.nearPosition, l.tickets.size());
  for (std::size_t i = 0; i < n; ++i) {
    // Once per ticket and line and day: the store says who was told.
    if (s.run("INSERT INTO " + nearTable_ + " (near_key, day) VALUES (?, ?) ON CONFLICT (near_key) DO NOTHING",
              {l.date + "|" + l.site + "|" + l.line + "|" + l.tickets[i], l.date}) == 0)
      continue;
    const std::int64_t estimate = l.callInterval > 0 ? static_cast<std::int64_t>(i + 1) * l.callInterval : l.expectedWait;
    std::string j = "{";
    for (const auto& [k, v] : {std::pair<const char*, std::string>{"site", l.site}, {"date", l.date}, {"line", l.line},
                               {"ticket", l.tickets[i]}, {"current", l.current}}) {
      if (j.size() > 1) j += ',';
      appendJsonString(j, k);
      j += ':';
      appendJsonString(j, v);
    }
    j += ",\"ahead\":" + std::to_string(i) + ",\"estimated_wait_s\":" + std::to_string(estimate) + "}";
    events.push_back(std::move(j));
  }
}

std::vector<FloorLine> Floor::today(std::int64_t now) const {
  const std::string day = localDay(now, host_.utcOffsetMinutes(now));
  std::vector<FloorLine> out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [key, l] : lines_)
    if (l.date == day) out.push_back(l);
  return out;
}

TicketView Floor::ticket(const std::vector<FloorLine>& lines, const std::string& site, const std::string& line,
                         const std::string& number) const {
  TicketView v;
  for (const FloorLine& l : lines)
    if (l.line == line && (site.empty() || l.site == site)) {
      v.line = &l;
      break;
    }
  if (!v.line) return v;
  const auto& t = v.line->tickets;
  const auto it = std::find(t.begin(), t.end(), number);
  if (it == t.end()) return v;
  v.ahead = static_cast<std::size_t>(it - t.begin());
  v.estimateSeconds = v.line->callInterval > 0 ? static_cast<std::int64_t>(*v.ahead + 1) * v.line->callInterval
                                               : v.line->expectedWait;
  return v;
}

std::string ticketPath(const std::string& site, const std::string& line, const std::string& number) {
  return "/floor/ticket?site=" + encode(site) + "&line=" + encode(line) + "&n=" + encode(number);
}

std::string floorPage(const std::vector<FloorLine>& lines, const std::string& municipality, std::int64_t now,
                      const FloorOptions& options, std::int64_t offsetMinutes) {
  std::string h = pageHead("窓口の待ち状況", municipality, options);
  if (lines.empty()) {
    h += "<p>本日の待ち状況はまだありません（受付の開始前、または情報の届く前です）。</p>";
  } else {
    std::string site;
    for (const FloorLine& l : lines) {
      if (l.site != site) {
        if (!site.empty()) h += "</tbody></table>";
        site = l.site;
        h += "<table class=\"floor-lines\"><caption>" + markupEscaped(site) +
             "</caption><thead><tr><th scope=\"col\">受付内容</th><th scope=\"col\">お待ちの人数</th>"
             "<th scope=\"col\">呼び出し中の番号</th><th scope=\"col\">待ち時間の目安</th></tr></thead><tbody>";
      }
      h += "<tr><th scope=\"row\">" + markupEscaped(l.line) + "</th><td>" + std::to_string(l.waiting) + " 人</td><td>" +
           (l.current.empty() ? std::string("—") : markupEscaped(l.current)) + "</td><td>" +
           (l.waiting == 0 ? std::string("待ちなし") : l.expectedWait > 0 ? minutesText(l.expectedWait) : "—") +
           (stale(l, now, options) ? "（更新が止まっています）" : "") + "</td></tr>";
    }
    h += "</tbody></table>";
    std::string newest;
    for (const FloorLine& l : lines) newest = std::max(newest, l.updated);
    h += "<p class=\"floor-updated\">" + markupEscaped(newest) + " 時点の情報です。</p>";
  }
  h += "<p><a href=\"/floor\">最新の情報に更新する</a></p>";
  h += "<p class=\"floor-now\">このページを表示した時刻: " + markupEscaped(localTimeAt(now, offsetMinutes)) + "</p>";
  return h + kPageEnd;
}

std::string ticketPage(const TicketView& v, const std::string& site, const std::string& line,
                       const std::string& number, const std::string& municipality, std::int64_t now,
                       const FloorOptions& options, std::int64_t offsetMinutes) {
  std::string h = pageHead("番号 " + number + " の待ち状況", municipality, options);
  if (!v.line) {
    h += "<p>「" + markupEscaped(line) + "」の本日の待ち状況はありません。番号札の受付内容をお確かめのうえ、"
         "<a href=\"/floor\">窓口の待ち状況</a>をご覧ください。</p>";
  } else {
    h += "<p class=\"floor-line\">受付内容: " + markupEscaped(v.line->line) + "（" + markupEscaped(v.line->site) + "）</p>";
    if (!v.ahead) {
      h += "<p class=\"floor-status\">この番号は、いまお待ちの番号の中にありません。"
           "すでに呼び出されたか、まだ発券されていない番号です。窓口でお声かけください。</p>";
    } else if (*v.ahead < options.nearPosition) {
      h += "<p class=\"floor-status\"><strong>まもなく呼び出されます。</strong>窓口の近くでお待ちください"
           "（前に " + std::to_string(*v.ahead) + " 人）。</p>";
    } else {
      h += "<p class=\"floor-status\">あなたの前に <strong>" + std::to_string(*v.ahead) +
           " 人</strong>お待ちです。呼び出しまで" + minutesText(v.estimateSeconds) + "の見込みです。</p>";
    }
    h += "<p>呼び出し中の番号: " + (v.line->current.empty() ? std::string("—") : markupEscaped(v.line->current)) + "</p>";
    h += updatedText(*v.line, now, options);
  }
  h += "<p><a href=\"" + markupEscaped(ticketPath(site, line, number)) + "\">最新の情報に更新する</a></p>";
  h += "<p><a href=\"/floor\">すべての窓口の待ち状況</a></p>";
  h += "<p class=\"floor-now\">このページを表示した時刻: " + markupEscaped(localTimeAt(now, offsetMinutes)) + "</p>";
  return h + kPageEnd;
}

std::string floorJson(const std::vector<FloorLine>& lines, std::int64_t now, const FloorOptions& options) {
  std::string j = "{\"lines\":[";
  for (const FloorLine& l : lines) {
    if (j.back() != '[') j += ',';
    std::string o = toJson(l);
    o.pop_back();
    j += o + ",\"stale\":" + (stale(l, now, options) ? "true" : "false") + "}";
  }
  return j + "]}";
}

std::string ticketJson(const TicketView& v, const std::string& number, std::int64_t now, const FloorOptions& options) {
  std::string j = "{\"ticket\":" + jsonQuoted(number);
  if (!v.line) return j + ",\"line_known\":false}";
  j += ",\"line_known\":true,\"site\":" + jsonQuoted(v.line->site) + ",\"line\":" + jsonQuoted(v.line->line) +
       ",\"current\":" + jsonQuoted(v.line->current) + ",\"updated\":" + jsonQuoted(v.line->updated) +
       ",\"stale\":" + (stale(*v.line, now, options) ? "true" : "false");
  if (!v.ahead) return j + ",\"waiting\":false}";
  return j + ",\"waiting\":true,\"ahead\":" + std::to_string(*v.ahead) + ",\"near\":" +
         (*v.ahead < options.nearPosition ? "true" : "false") + ",\"estimated_wait_s\":" + std::to_string(v.estimateSeconds) + "}";
}

}  // namespace renkei::plugins::concierge
