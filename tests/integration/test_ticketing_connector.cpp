// The ticketing connector's first input, the machine's CSV log tailed: real
// `renkei serve` processes on a folder a test writes as a machine would —
// lines appended, one half written, the log rotated, truncated, a line too
// long, bytes of another encoding, and processes killed with SIGKILL while
// the log grows. Every complete line lands once; nothing is lost. Then the
// CRM following the floor from that log, through the shipped mapping.
#define BOOST_TEST_MODULE renkei_ticketing_connector
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include <signal.h>

#include <array>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

test::ProcessResult runRenkei(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
}

const std::string kHeader = "日時,番号,受付内容,イベント,窓口,連番\n";

/// A line of the machine's log: ticket `n`'s event at second `n`.
std::string line(int n, const std::string& event = "VISIT_CREATE") {
  char at[32];
  std::snprintf(at, sizeof at, "2026-12-07 09:%02d:%02d", (n / 60) % 60, n % 60);
  return std::string(at) + "," + std::to_string(1000 + n) + ",転入・転出," + event + ",1番窓口," + std::to_string(n) + "\n";
}

struct Machine {
  test::TempDir dir;
  explicit Machine(const std::string& extra = "") {
    fs::create_directories(dir / "log");
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"ticketing-test\" zone=\"lgwan\">\n"
                    "  <pipeline poll-interval=\"200ms\"/>\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <connector id=\"tickets\" plugin=\"ticketing\"><site>本庁舎</site><log-directory>log</log-directory>"
                    "<poll>100ms</poll>" + extra + "</connector>\n"
                    "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                    "  <route id=\"lines\" from=\"tickets\" records=\"ticket.log\" to=\"out\"/>\n"
                    "</renkei>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  void append(const std::string& file, const std::string& text) {
    std::ofstream out(dir / "log" / file, std::ios::binary | std::ios::app);
    out << text;
  }
  test::ProcessResult once() {
    auto r = runRenkei({"serve", "--config", config(), "--once"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    return r;
  }
  /// Every record delivered, by "file:line" (the 連番 kept to compare).
  std::multimap<std::string, std::string> delivered() const {
    std::multimap<std::string, std::string> out;
    const fs::path folder = dir / "out/out";
    if (!fs::exists(folder)) return out;
    for (const std::string& name : test::listFiles(folder)) {
      const std::string text = test::readFile(folder / name);
      for (std::size_t at = 0; at < text.size();) {
        const std::size_t nl = text.find('\n', at);
        const std::string rec = text.substr(at, nl - at);
        at = nl == std::string::npos ? text.size() : nl + 1;
        auto field = [&](const std::string& k) {
          const std::size_t p = rec.find("\"" + k + "\":\"");
          if (p == std::string::npos) return std::string();
          const std::size_t from = p + k.size() + 4;
          return rec.substr(from, rec.find('"', from) - from);
        };
        out.emplace(field("file") + ":" + field("line"), field("連番"));
      }
    }
    return out;
  }
  std::set<std::string> sequences() const {
    std::set<std::string> out;
    for (const auto& [where, seq] : delivered()) out.insert(seq);
    return out;
  }
};

}  // namespace

// Lines appended run by run: each complete line once, named by file:line,
// with the site and the machine's columns by the header's names; a line the
// machine is still writing waits until its end is written.
BOOST_AUTO_TEST_CASE(the_log_is_read_line_by_line_once_and_a_half_written_line_waits) {
  Machine m;
  m.append("tickets.csv", kHeader + line(1) + line(2) + line(3));
  const std::string fourth = line(4);
  m.append("tickets.csv", fourth.substr(0, 20));  // the machine is writing it
  m.once();
  auto got = m.delivered();
  BOOST_TEST(got.size() == 3u);
  BOOST_TEST(got.count("tickets.csv:2") == 1u);  // line 1 is the header
  BOOST_TEST(got.count("tickets.csv:5") == 0u);
  const std::string first = test::readFile(m.dir / "out/out" / test::listFiles(m.dir / "out/out").at(0));
  BOOST_TEST(first.find("\"site\":\"本庁舎\",\"source\":\"log\",\"file\":\"tickets.csv\",\"line\":\"2\","
                        "\"日時\":\"2026-12-07 09:00:01\",\"番号\":\"1001\",\"受付内容\":\"転入・転出\"") !=
                 std::string::npos,
             first);
  m.append("tickets.csv", fourth.substr(20) + line(5));
  m.once();
  m.once();  // nothing new: nothing again
  got = m.delivered();
  BOOST_TEST(got.size() == 5u);
  BOOST_TEST((m.sequences() == std::set<std::string>{"1", "2", "3", "4", "5"}));
  for (const auto& [where, seq] : got) BOOST_TEST(got.count(where) == 1u, where);
}

// Rotation (the log renamed away and a new one begun) is followed by the
// file's identity: the renamed log's late lines are read, the new one from
// its start. A truncated log is read again from its start.
BOOST_AUTO_TEST_CASE(a_rotated_log_is_followed_and_a_truncated_one_read_again) {
  Machine m;
  m.append("tickets.csv", kHeader + line(1) + line(2));
  m.once();
  m.append("tickets.csv", line(3));  // written just before the machine rotated
  fs::rename(m.dir / "log/tickets.csv", m.dir / "log/tickets-1.csv");
  m.append("tickets.csv", kHeader + line(4) + line(5));
  m.once();
  auto got = m.delivered();
  BOOST_TEST(got.size() == 5u);
  BOOST_TEST(got.count("tickets-1.csv:4") == 1u);  // the rotated log's late line, under its new name
  BOOST_TEST(got.count("tickets.csv:2") == 2u);    // the old and the new log's first lines
  // Truncated and begun again: its lines are new lines.
  fs::resize_file(m.dir / "log/tickets.csv", 0);
  m.append("tickets.csv", kHeader + line(6));
  m.once();
  BOOST_TEST((m.sequences() == std::set<std::string>{"1", "2", "3", "4", "5", "6"}));
  BOOST_TEST(m.delivered().size() == 6u);
}

// Hostile lines are refused with file:line and why — too long, not the
// encoding, a quote left open, a field count other than the header's — and
// the lines around them are read; the log itself is left as it was.
BOOST_AUTO_TEST_CASE(hostile_lines_are_refused_with_file_and_line_and_the_rest_is_read) {
  Machine m("<encoding>cp932</encoding><max-line>1KiB</max-line>");
  std::string log = "\x93\xfa\x8e\x9e,\x94\xd4\x8d\x86,\x8e\xf3\x95\x74\x93\xe0\x97\x65,\x83\x43\x83\x78\x83\x93\x83\x67,"
                    "\x91\x8b\x8c\xfb,\x98\x41\x94\xd4\n";  // 日時,番号,受付内容,イベント,窓口,連番 in CP932
  log += "2026-12-07 09:00:01,1001,x,VISIT_CREATE,1,1\n";
  log += std::string(5000, 'a') + "\n";                       // line 3: too long
  log += "2026-12-07 09:00:03,1003,\x82,VISIT_CREATE,1,3\n";  // line 4: a lead byte alone
  log += "2026-12-07 09:00:04,\"1004,x,VISIT_CREATE,1,4\n";   // line 5: a quote left open
  log += "2026-12-07 09:00:05,1005,x,VISIT_CREATE\n";         // line 6: four fields of six
  log += "2026-12-07 09:00:06,1006,x,VISIT_CREATE,1,6\n";
  m.append("tickets.csv", log);
  m.once();
  BOOST_TEST((m.sequences() == std::set<std::string>{"1", "6"}));
  const std::string before = test::readFile(m.dir / "log/tickets.csv");
  auto status = runRenkei({"status", "--config", m.config()});
  BOOST_TEST(status.exitCode == 4, status.out);  // refused items
  for (const char* expected : {"tickets.csv:3", "longer than max-line", "tickets.csv:4", "are not windows-31j",
                               "tickets.csv:5", "a quote is left open", "tickets.csv:6",
                               "4 fields where the header names 6"})
    BOOST_TEST(status.out.find(expected) != std::string::npos, expected << "\n" << status.out);
  BOOST_TEST(test::readFile(m.dir / "log/tickets.csv") == before);  // never changed
  // A line longer than max-line still being written: nothing taken past it until it ends.
  m.append("tickets.csv", std::string(3000, 'b'));
  m.once();
  m.append("tickets.csv", "\n" + std::string("2026-12-07 09:00:08,1008,x,VISIT_CREATE,1,8\n"));
  m.once();
  BOOST_TEST((m.sequences() == std::set<std::string>{"1", "6", "8"}));
}

// The machine keeps writing while renkei is killed with SIGKILL again and
// again: every line lands once, none is lost (the position is committed
// with the lines).
BOOST_AUTO_TEST_CASE(sigkill_while_the_log_grows_loses_and_repeats_nothing) {
  Machine m("<batch-lines>50</batch-lines>");
  m.append("tickets.csv", kHeader);
  std::mt19937 random(20261207);
  int written = 0, kills = 0;
  for (int run = 0; kills < 20 && run < 100; ++run) {
    auto child = test::spawn({test::renkeiBinary(), "serve", "--config", m.config()}, m.dir.path() / ("run" + std::to_string(run)),
                             {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
    for (int k = 0; k < 8; ++k) {
      std::string burst;
      for (int i = 0; i < 60; ++i) burst += line(++written);
      m.append("tickets.csv", burst);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, 40)(random)));
    }
    ::kill(child.pid, SIGKILL);
    if (child.wait().signal == SIGKILL) ++kills;
  }
  BOOST_TEST(kills >= 20);
  // The killed hosts had taken part of the log (so each took up where the
  // last was killed); the rest is taken now.
  const std::size_t before = m.delivered().size();
  BOOST_TEST_MESSAGE(before << " of " << written << " lines taken by the hosts killed");
  BOOST_TEST(before > static_cast<std::size_t>(written) / 4);
  m.once();
  m.once();
  const auto got = m.delivered();
  BOOST_TEST(got.size() == static_cast<std::size_t>(written), got.size() << " of " << written);
  BOOST_TEST(m.sequences().size() == static_cast<std::size_t>(written));
  for (const auto& [where, seq] : got)
    if (got.count(where) != 1u) BOOST_FAIL("delivered twice: " << where);
}

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

const std::string kFloorHeader = "日時,番号,受付内容,イベント,窓口,担当,連番,転送先\n";

/// A city hall's machine log through the shipped mapping into the crm module.
struct Floor {
  test::TempDir dir;
  int seq = 0;
  explicit Floor(const std::string& crmExtra = "") {
    fs::create_directories(dir / "log");
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"floor-test\" zone=\"lgwan\" time-zone=\"Asia/Tokyo\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <connector id=\"tickets\" plugin=\"ticketing\"><site>本庁舎</site><log-directory>log</log-directory>"
                    "</connector>\n"
                    "  <module id=\"crm\" plugin=\"crm\">" + crmExtra + "</module>\n"
                    "  <route id=\"floor\" from=\"tickets\" records=\"ticket.log\" to=\"crm\" mapping=\"" +
                        source("mappings/ticketing/log-to-events.xml").string() + "\"/>\n"
                    "</renkei>\n");
    append(kFloorHeader);
  }
  std::string config() const { return (dir / "config.xml").string(); }
  /// One event of the machine at 2026-12-07 `hhmmss`.
  void event(const std::string& hhmmss, int ticket, const std::string& line, const std::string& what,
             const std::string& counter = "", const std::string& to = "") {
    append("2026-12-07 " + hhmmss + "," + std::to_string(ticket) + "," + line + "," + what + "," + counter + ",," +
           std::to_string(++seq) + "," + to + "\n");
  }
  void append(const std::string& text, const std::string& file = "tickets.csv") {
    std::ofstream out(dir / "log" / file, std::ios::binary | std::ios::app);
    out << text;
  }
  void once() {
    auto r = runRenkei({"serve", "--config", config(), "--once"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  }
  std::string sql(const std::string& q) const {
    auto r = test::run({"/usr/bin/sqlite3", "-separator", " ", (dir / "renkei.db").string(), q});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    return r.out;
  }
};

}  // namespace

// A morning on the floor: each ticket opens a visit whose procedure is its
// line; the call ends the wait (called), the counter's service is timed
// (started → ended), a no-show and a cancellation are withdrawn, a transfer
// keeps the one visit and adds the next line; a visit whose procedures are
// all finished is closed. The same log taken again (another file) changes
// nothing: each event once by site, day, line, ticket and sequence.
BOOST_AUTO_TEST_CASE(the_crm_follows_the_floor_from_the_machines_log) {
  Floor f;
  f.event("09:00:00", 101, "転入・転出", "発券");
  f.event("09:01:00", 102, "国民健康保険", "発券");
  f.event("09:02:00", 103, "転入・転出", "発券");
  f.event("09:04:00", 104, "転入・転出", "発券");
  f.event("09:05:00", 101, "転入・転出", "呼出", "1番窓口");
  f.event("09:05:30", 101, "転入・転出", "受付開始", "1番窓口");
  f.event("09:15:30", 101, "転入・転出", "転送", "1番窓口", "国民健康保険");
  f.event("09:06:00", 102, "国民健康保険", "呼出", "5番窓口");
  f.event("09:06:20", 102, "国民健康保険", "受付開始", "5番窓口");
  f.event("09:12:20", 102, "国民健康保険", "受付終了", "5番窓口");
  f.event("09:10:00", 103, "転入・転出", "呼出", "2番窓口");
  f.event("09:12:00", 103, "転入・転出", "再呼出", "2番窓口");
  f.event("09:14:00", 103, "転入・転出", "不在", "2番窓口");
  f.event("09:08:00", 104, "転入・転出", "取消");
  f.event("09:20:00", 101, "国民健康保険", "呼出", "5番窓口");
  f.event("09:20:30", 101, "国民健康保険", "受付開始", "5番窓口");
  f.event("09:30:30", 101, "国民健康保険", "受付終了", "5番窓口");
  f.once();
  const std::string day0 = f.sql("SELECT min(received_ms) FROM st_crm_procedures");
  const std::int64_t nine = std::stoll(day0);  // 09:00:00 JST as the machine wrote it
  BOOST_TEST(nine == 1796601600000LL);         // 2026-12-07 00:00:00 UTC
  // One visit per ticket; 101 has two procedures (transferred), the rest one.
  BOOST_TEST(f.sql("SELECT ticket, count(*) FROM st_crm_visits v JOIN st_crm_procedures p ON p.visit_id = v.id "
                   "GROUP BY v.id ORDER BY v.id") == "101 2\n102 1\n103 1\n104 1\n");
  auto times = [&](const std::string& where) {
    return f.sql("SELECT code, counter, progress, called_ms - received_ms, started_ms - received_ms, "
                 "finished_ms - started_ms, no_show FROM st_crm_procedures p JOIN st_crm_visits v ON p.visit_id = v.id "
                 "WHERE " + where + " ORDER BY p.id");
  };
  // 101: called after 5 min, served 10 min, transferred; then 国保 (received
  // at the transfer) called 4.5 min later, served 10 min.
  BOOST_TEST(times("v.ticket = '101'") == "転入・転出 1番窓口 3 300000 330000 600000 0\n"
                                          "国民健康保険 5番窓口 3 270000 300000 600000 0\n");
  BOOST_TEST(times("v.ticket = '102'") == "国民健康保険 5番窓口 3 300000 320000 360000 0\n");
  // 103: called after 8 min, recalled, a no-show: withdrawn, never served.
  BOOST_TEST(f.sql("SELECT progress, called_ms - received_ms, started_ms, no_show FROM st_crm_procedures p JOIN "
                   "st_crm_visits v ON p.visit_id = v.id WHERE v.ticket = '103'") == "5 480000 0 1\n");
  // 104: cancelled before any call.
  BOOST_TEST(f.sql("SELECT progress, called_ms, no_show FROM st_crm_procedures p JOIN st_crm_visits v ON "
                   "p.visit_id = v.id WHERE v.ticket = '104'") == "5 0 0\n");
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits WHERE closed_ms > 0") == "4\n");
  const std::string history = f.sql("SELECT count(*) FROM st_crm_visit_events");
  // The same log again under another name: nothing changes.
  f.append(test::readFile(f.dir / "log/tickets.csv"), "tickets-copy.csv");
  f.once();
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits") == "4\n");
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visit_events") == history);
}

// Events out of order: a call before its ticket's issue is held, then taken
// when the issue arrives (the wait right); one whose issue never comes is
// reported after ticket-hold, by its key, in renkei status.
BOOST_AUTO_TEST_CASE(a_call_before_its_issue_waits_for_it_or_is_reported) {
  Floor f("<ticket-hold>1s</ticket-hold>");
  f.event("09:05:00", 201, "転入・転出", "呼出", "1番窓口");
  f.event("09:06:00", 202, "転入・転出", "呼出", "2番窓口");
  f.once();
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits") == "0\n");
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_ticket_events WHERE held = 1") == "2\n");
  f.event("09:00:00", 201, "転入・転出", "発券");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  f.once();
  BOOST_TEST(f.sql("SELECT v.ticket, called_ms - received_ms FROM st_crm_visits v JOIN st_crm_procedures p ON "
                   "p.visit_id = v.id") == "201 300000\n");
  auto status = runRenkei({"status", "--config", f.config()});
  BOOST_TEST(status.exitCode == 4, status.out);
  BOOST_TEST(status.out.find("'ticket 本庁舎|2026-12-07|転入・転出|202|2|called' refused") != std::string::npos,
             status.out);
  BOOST_TEST(status.out.find("waited longer than ticket-hold for its ticket's issue") != std::string::npos);
  BOOST_TEST(status.out.find("|201|") == std::string::npos);  // taken, not reported
  // An event the mapping lets through but the floor cannot place (a time of
  // day that is none): shown in status with its batch, not only logged.
  f.append("2026-12-07 25:61:00,203,転入・転出,発券,,,99,\n");
  f.once();
  status = runRenkei({"status", "--config", f.config()});
  BOOST_TEST(status.out.find("1 ticket events without site, business_date, line, ticket, a known event or a "
                             "machine time were not taken") != std::string::npos,
             status.out);
}

// A whole simulated day (tests/tools/ticket_day.py: the morning peak, 17
// lines, lunch breaks, transfers, recalls, no-shows, residents giving up)
// written as the machine's CP932 log and followed by the CRM: a visit per
// ticket, every line's procedures, calls and waits, the no-shows, as the
// simulator counted them; every visit closed at the end of the day.
BOOST_AUTO_TEST_CASE(a_simulated_day_is_followed_ticket_by_ticket) {
  Floor f;
  fs::remove(f.dir / "log/tickets.csv");
  std::string config = test::readFile(f.dir / "config.xml");
  config.replace(config.find("</log-directory>"), 16, "</log-directory><encoding>cp932</encoding>");
  test::writeFile(f.dir / "config.xml", config);
  auto sim = test::run({"/usr/bin/python3", source("tests/tools/ticket_day.py").string(), "--out",
                        (f.dir / "log").string(), "--tickets", "600", "--seed", "7", "--encoding", "cp932",
                        "--summary", (f.dir / "summary.json").string()});
  BOOST_REQUIRE_MESSAGE(sim.exitCode == 0, sim.err);
  f.once();
  Poco::JSON::Parser parser;
  const auto summary = parser.parse(test::readFile(f.dir / "summary.json")).extract<Poco::JSON::Object::Ptr>();
  const int issued = summary->getValue<int>("issued");
  BOOST_TEST(issued > 500);
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits") == std::to_string(issued) + "\n");
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits WHERE closed_ms = 0") == "0\n");
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_procedures WHERE no_show = 1") ==
             std::to_string(summary->getValue<int>("no_show")) + "\n");
  const auto lines = summary->getObject("per_line");
  for (const std::string& line : lines->getNames()) {
    BOOST_TEST_CONTEXT(line) {
      const auto l = lines->getObject(line);
      BOOST_TEST(f.sql("SELECT count(*), sum(called_ms > 0), coalesce(sum(CASE WHEN called_ms > 0 THEN called_ms - "
                       "received_ms END), 0) / 1000 FROM st_crm_procedures WHERE code = '" + line + "'") ==
                 std::to_string(l->getValue<int>("procedures")) + " " + std::to_string(l->getValue<int>("called")) +
                     " " + std::to_string(l->getValue<long>("wait_sum_s")) + "\n");
    }
  }
}

// The simulator drives the other two inputs as well: a day as Qmatic-shaped
// JSON lines over TCP (each answered ok), the next day in signed webhook
// bodies of 40 events; the CRM follows both as it follows the log — every
// ticket a visit, every wait to its call as the simulator timed it.
BOOST_AUTO_TEST_CASE(the_simulator_drives_the_tcp_listener_and_the_webhook_alike) {
  Floor f;
  auto certs = test::run({source("scripts/make-certs").string(), (f.dir / "tls").string()});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  test::writeFile(f.dir / "webhook.secret", "a-shared-secret-of-the-vendor-0123\n");
  fs::permissions(f.dir / "webhook.secret", fs::perms::owner_read | fs::perms::owner_write);
  const int tcp = test::freePort(), hook = test::freePort();
  std::string config = test::readFile(f.dir / "config.xml");
  config.replace(config.find("</log-directory>"), 16,
                 "</log-directory><listen>127.0.0.1:" + std::to_string(tcp) + "</listen><tcp-record>ticket.webhook"
                 "</tcp-record><webhook-listen>127.0.0.1:" + std::to_string(hook) + "</webhook-listen>"
                 "<webhook-certificate>" + (f.dir / "tls/server.crt").string() + "</webhook-certificate><webhook-key>" +
                     (f.dir / "tls/server.key").string() + "</webhook-key><webhook-secret>" +
                     (f.dir / "webhook.secret").string() + "</webhook-secret>");
  config.replace(config.find("</renkei>"), 9,
                 "  <route id=\"vendor\" from=\"tickets\" records=\"ticket.webhook\" to=\"crm\" mapping=\"" +
                     source("mappings/ticketing/qmatic-to-events.xml").string() + "\"/>\n</renkei>\n");
  test::writeFile(f.dir / "config.xml", config);
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", f.config()}, f.dir.path() / "host",
                          {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  BOOST_REQUIRE(test::waitFor([&] { return test::textOf(host.err).find("webhook on https://") != std::string::npos; }, 20));
  const std::string sim = source("tests/tools/ticket_day.py").string();
  auto byTcp = test::run({"/usr/bin/python3", sim, "--tcp", "127.0.0.1:" + std::to_string(tcp), "--date", "2026-12-07",
                          "--tickets", "150", "--seed", "9", "--summary", (f.dir / "tcp.json").string()});
  BOOST_REQUIRE_MESSAGE(byTcp.exitCode == 0, byTcp.err);
  auto byHook = test::run({"/usr/bin/python3", sim, "--webhook",
                           "https://localhost:" + std::to_string(hook) + "/ticketing/events", "--secret",
                           (f.dir / "webhook.secret").string(), "--ca", (f.dir / "tls/ca.crt").string(), "--batch", "40",
                           "--date", "2026-12-08", "--tickets", "150", "--seed", "10", "--summary",
                           (f.dir / "hook.json").string()});
  BOOST_REQUIRE_MESSAGE(byHook.exitCode == 0, byHook.err);
  std::map<std::string, std::array<long, 3>> expected;  // per line: procedures, called, wait_sum_s
  long issued = 0;
  for (const char* file : {"tcp.json", "hook.json"}) {
    const auto summary = Poco::JSON::Parser().parse(test::readFile(f.dir / file)).extract<Poco::JSON::Object::Ptr>();
    issued += summary->getValue<long>("issued");
    const auto lines = summary->getObject("per_line");
    for (const std::string& line : lines->getNames()) {
      const auto l = lines->getObject(line);
      auto& e = expected[line];
      e[0] += l->getValue<long>("procedures");
      e[1] += l->getValue<long>("called");
      e[2] += l->getValue<long>("wait_sum_s");
    }
  }
  BOOST_REQUIRE(test::waitFor([&] {
    return f.sql("SELECT count(*) FROM st_crm_visits WHERE closed_ms > 0") == std::to_string(issued) + "\n";
  }, 30));
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
  BOOST_TEST(issued > 200);
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits") == std::to_string(issued) + "\n");
  for (const auto& [line, e] : expected)
    BOOST_TEST(f.sql("SELECT count(*), sum(called_ms > 0), coalesce(sum(CASE WHEN called_ms > 0 THEN called_ms - "
                     "received_ms END), 0) / 1000 FROM st_crm_procedures WHERE code = '" + line + "'") ==
                   std::to_string(e[0]) + " " + std::to_string(e[1]) + " " + std::to_string(e[2]) + "\n",
               line);
}

// Live floor events over ZeroMQ (PUB, CURVE) reach a display: the Python
// subscriber of docs/examples — the one a display vendor copies — gets each
// ticket event and each line's queue (waiting, the number called, the wait
// to expect), PII-free, in sequence; a subscriber whose key is not listed
// gets nothing.
BOOST_AUTO_TEST_CASE(live_floor_events_reach_a_displays_subscriber) {
  test::TempDir keys;
  for (const char* who : {"crm", "display", "stranger"}) {
    auto k = runRenkei({"bridge", "keygen", "--out", (keys / who).string(), "--zone", "lgwan"});
    BOOST_REQUIRE_MESSAGE(k.exitCode == 0, k.err);
  }
  Floor f("<events-endpoint>tcp://127.0.0.1:0</events-endpoint><events-key>" +
          (keys / "crm/bridge-curve.key").string() + "</events-key><events-clients>" +
          (keys / "display/bridge-curve.pub").string() + "</events-clients>");
  std::string config = test::readFile(f.dir / "config.xml");
  config.replace(config.find("</log-directory>"), 16, "</log-directory><poll>100ms</poll>");
  test::writeFile(f.dir / "config.xml", config);
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", f.config()}, f.dir.path() / "host",
                          {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  std::string endpoint;
  const std::regex bound("live floor events on (tcp://127\\.0\\.0\\.1:[0-9]+)");
  for (int i = 0; i < 200 && endpoint.empty(); ++i) {
    std::smatch m;
    const std::string log = fs::exists(host.err) ? test::readFile(host.err) : "";
    if (std::regex_search(log, m, bound)) endpoint = m[1];
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_REQUIRE_MESSAGE(!endpoint.empty(), "the publisher did not start");
  auto subscriber = [&](const char* who, int count, const char* timeout) {
    return test::spawn({"/usr/bin/python3", source("docs/examples/floor_subscriber.py").string(), "--endpoint",
                        endpoint, "--server-key", (keys / "crm/bridge-curve.pub").string(), "--key",
                        (keys / who / "bridge-curve.key").string(), "--public",
                        (keys / who / "bridge-curve.pub").string(), "--count", std::to_string(count), "--timeout",
                        timeout},
                       f.dir.path() / who);
  };
  auto display = subscriber("display", 4, "20");
  // The same in C++ (docs/examples/floor_subscriber.cpp): the payload as sent.
  auto inCpp = test::spawn({RENKEI_FLOOR_SUBSCRIBER, "--endpoint", endpoint, "--server-key",
                            (keys / "crm/bridge-curve.pub").string(), "--key", (keys / "display/bridge-curve.key").string(),
                            "--public", (keys / "display/bridge-curve.pub").string(), "--topic", "ticket.", "--count", "3",
                            "--timeout", "20"},
                           f.dir.path() / "display-cpp");
  auto stranger = subscriber("stranger", 1, "6");
  for (int i = 0; i < 100 && (!fs::exists(display.out) || test::readFile(display.out).empty()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));  // the CURVE handshake and the subscription
  f.event("09:00:00", 301, "転入・転出", "発券");
  f.event("09:00:30", 302, "転入・転出", "発券");
  f.event("09:04:00", 301, "転入・転出", "呼出", "1番窓口");
  auto got = display.wait();
  BOOST_TEST(got.exitCode == 0, got.err);
  const std::string out = got.out;
  BOOST_TEST(out.find("ticket.issued 1 {\"at\":\"2026-12-07 09:00:00 +09:00\",\"counter\":\"\",\"date\":\"2026-12-07\","
                      "\"event\":\"issued\",\"line\":\"転入・転出\",\"site\":\"本庁舎\",\"ticket\":\"301\",\"to_line\":\"\"}") !=
                 std::string::npos,
             out);
  BOOST_TEST(out.find("ticket.called 3 ") != std::string::npos, out);
  // After the call: one still waits, 301 is the number called, the wait to expect is 301's (4 min).
  BOOST_TEST(out.find("line.status 4 {\"current\":\"301\",\"date\":\"2026-12-07\",\"expected_wait_s\":240,"
                      "\"line\":\"転入・転出\",\"site\":\"本庁舎\",\"waiting\":1}") != std::string::npos,
             out);
  BOOST_TEST(out.find("missed") == std::string::npos);
  auto cpp = inCpp.wait();
  BOOST_TEST(cpp.exitCode == 0, cpp.err);
  BOOST_TEST(cpp.out.find("ticket.issued 1 {\"site\":\"本庁舎\",\"date\":\"2026-12-07\",\"line\":\"転入・転出\","
                          "\"ticket\":\"301\",\"event\":\"issued\",\"counter\":\"\",\"to_line\":\"\","
                          "\"at\":\"2026-12-07 09:00:00 +09:00\"}") != std::string::npos,
             cpp.out);
  BOOST_TEST(cpp.out.find("ticket.called 3 ") != std::string::npos, cpp.out);
  BOOST_TEST(cpp.out.find("line.status") == std::string::npos, cpp.out);  // not its topic
  auto refused = stranger.wait();
  BOOST_TEST(refused.exitCode == 1);  // no event: its key is not listed
  BOOST_TEST(refused.out.find("ticket.") == std::string::npos);
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
}

// The TCP listener for JSON lines: each line answered once committed (ok),
// the same line sent again lands once, a nested object's leaves become
// dotted fields; garbage is answered with why and refused by its
// connection and line; a line past max-line closes the connection; a
// silent one is closed after idle-timeout.
BOOST_AUTO_TEST_CASE(json_lines_on_tcp_are_answered_once_committed_and_bounded) {
  const int port = test::freePort();
  Machine m("<listen>127.0.0.1:" + std::to_string(port) + "</listen><max-line>1KiB</max-line>"
            "<idle-timeout>2s</idle-timeout>");
  std::string config = test::readFile(m.dir / "config.xml");
  config.replace(config.find("</renkei>"), 9,
                 "  <route id=\"json\" from=\"tickets\" records=\"ticket.json\" to=\"out\"/>\n</renkei>\n");
  test::writeFile(m.dir / "config.xml", config);
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", m.config()}, m.dir.path() / "host",
                          {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  for (int i = 0; i < 200; ++i) {
    if (fs::exists(host.err) && test::readFile(host.err).find("JSON lines on") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  s.setReceiveTimeout(Poco::Timespan(10, 0));
  auto answers = [&](std::size_t count) {
    std::string got;
    char buf[4096];
    while (static_cast<std::size_t>(std::count(got.begin(), got.end(), '\n')) < count) {
      const int n = s.receiveBytes(buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  };
  const std::string one = R"({"event":"called","ticket":"101","seq":1})";
  const std::string lines = one + "\n" + R"({"event":"issued","ticket":"102","seq":2})" + "\n" + one + "\n" +
                            "this is not json\n" + R"({"data":{"ticket":{"number":"103"},"counter":[1,2]}})" + "\n";
  s.sendBytes(lines.data(), static_cast<int>(lines.size()));
  BOOST_TEST(answers(5) == "ok\nok\nok\nerror not JSON\nok\n");
  const std::string huge(5000, 'x');
  s.sendBytes(huge.data(), static_cast<int>(huge.size()));
  BOOST_TEST(answers(1) == "error a line longer than max-line\n");
  char byte;
  BOOST_TEST(s.receiveBytes(&byte, 1) == 0);  // closed
  Poco::Net::StreamSocket idle(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  idle.setReceiveTimeout(Poco::Timespan(10, 0));
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(idle.receiveBytes(&byte, 1) == 0);  // closed by the listener, not our time-out
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  BOOST_TEST(waited.count() >= 1500);
  BOOST_TEST(waited.count() < 8000);
  // Nothing but garbage: closed after 100 refused lines, not kept listening.
  Poco::Net::StreamSocket junk(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
  junk.setReceiveTimeout(Poco::Timespan(10, 0));
  std::string garbage;
  for (int i = 0; i < 150; ++i) garbage += "garbage " + std::to_string(i) + "\n";
  junk.sendBytes(garbage.data(), static_cast<int>(garbage.size()));
  std::string heard;
  char buf[8192];
  for (int n; (n = junk.receiveBytes(buf, sizeof buf)) > 0;) heard.append(buf, static_cast<std::size_t>(n));
  BOOST_TEST(std::count(heard.begin(), heard.end(), '\n') == 100);
  BOOST_TEST(heard.find("too many refused lines: the connection is closed") != std::string::npos);
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
  // Three events, once each; the nested one by dotted names.
  std::string out;
  for (const std::string& name : test::listFiles(m.dir / "out/out")) out += test::readFile(m.dir / "out/out" / name);
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 3, out);
  BOOST_TEST(out.find("\"data.counter.0\":\"1\",\"data.counter.1\":\"2\",\"data.ticket.number\":\"103\"") !=
                 std::string::npos,
             out);
  auto status = runRenkei({"status", "--config", m.config()});
  BOOST_TEST(status.out.find("not JSON") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("a line longer than max-line: the connection is closed") != std::string::npos);
  BOOST_TEST(status.out.find("100 lines refused: closed") != std::string::npos);
}

// The HTTPS webhook a vendor's service posts to: each body signed with
// HMAC-SHA256 under a secret read from a file. A signed body (here two
// Qmatic-shaped events) is taken and followed by the CRM through the
// shipped mapping; the same body again lands once; a wrong or missing
// signature (401), a body over the limit (413, not read) and one that is
// not JSON (400) are refused and counted, nothing of them stored.
BOOST_AUTO_TEST_CASE(a_signed_webhook_is_taken_once_and_an_unsigned_one_refused) {
  Floor f;
  auto certs = test::run({source("scripts/make-certs").string(), (f.dir / "tls").string()});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  test::writeFile(f.dir / "webhook.secret", "a-shared-secret-of-the-vendor-0123\n");
  fs::permissions(f.dir / "webhook.secret", fs::perms::owner_read | fs::perms::owner_write);
  const int port = test::freePort();
  std::string config = test::readFile(f.dir / "config.xml");
  config.replace(config.find("</log-directory>"), 16,
                 "</log-directory><webhook-listen>127.0.0.1:" + std::to_string(port) +
                     "</webhook-listen><webhook-certificate>" + (f.dir / "tls/server.crt").string() +
                     "</webhook-certificate><webhook-key>" + (f.dir / "tls/server.key").string() +
                     "</webhook-key><webhook-secret>" + (f.dir / "webhook.secret").string() +
                     "</webhook-secret><webhook-max-body>64KiB</webhook-max-body>");
  config.replace(config.find("</renkei>"), 9,
                 "  <route id=\"hooks\" from=\"tickets\" records=\"ticket.webhook\" to=\"crm\" mapping=\"" +
                     source("mappings/ticketing/qmatic-to-events.xml").string() + "\"/>\n</renkei>\n");
  test::writeFile(f.dir / "config.xml", config);
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", f.config()}, f.dir.path() / "host",
                          {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  for (int i = 0; i < 200; ++i) {
    if (fs::exists(host.err) && test::readFile(host.err).find("webhook on https://") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string poster = R"PY(
import hashlib, hmac, json, ssl, sys, urllib.request
url, ca, secret = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read().strip()
context = ssl.create_default_context(cafile=ca)
def post(body, signature):
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    if signature is not None:
        request.add_header("X-Signature", signature)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError):
        return "closed"  # refused before the body was read: the client may see the close first
def sign(body):
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
events = [{"event": "VISIT_CREATE", "eventId": 1, "timeStamp": "2026-12-07T09:00:00+09:00",
           "parameters": {"queueName": "転入・転出", "ticket": "A012"}},
          {"event": "VISIT_CALL", "eventId": 2, "timeStamp": "2026-12-07T09:04:00+09:00",
           "parameters": {"queueName": "転入・転出", "ticket": "A012", "servicePointName": "1番窓口"}}]
body = json.dumps(events, ensure_ascii=False).encode("utf-8")
twice = '[{"event": "VISIT_CREATE"}, {"a.b": 1, "a": {"b": 2}}]'.encode()
latin = b'{"event": "\xff"}'
import http.client, socket, threading, time
# A slow client: headers, then a byte a second; the webhook answers others meanwhile and cuts it.
host, port = url.split("/")[2].split(":")
slow = context.wrap_socket(socket.create_connection((host, int(port))), server_hostname=host)
slow.sendall(b"POST /ticketing/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n")
cut = {}
def drip():
    began = time.monotonic()
    try:
        for _ in range(60):
            slow.sendall(b"[")
            time.sleep(1)
        cut["after"] = "never"
    except OSError:
        cut["after"] = time.monotonic() - began
dripper = threading.Thread(target=drip)
dripper.start()
first = post(body, sign(body))
# 10 MB, declared and chunked (no length): refused unread, or the connection closed while it sends.
def chunked(size):
    c = http.client.HTTPSConnection(host, int(port), context=context, timeout=20)
    try:
        c.putrequest("POST", "/ticketing/events")
        c.putheader("Transfer-Encoding", "chunked")
        c.putheader("X-Signature", "sha256=" + "0" * 64)
        c.endheaders()
        block = b"x" * 65536
        for _ in range(size // len(block)):
            c.send(b"%x\r\n" % len(block) + block + b"\r\n")
        c.send(b"0\r\n\r\n")
        return c.getresponse().status
    except (OSError, http.client.HTTPException):
        return "closed"
big = post(b"x" * 10_000_000, sign(b"x" * 10_000_000))
big_chunked = chunked(10_000_000)
print(first, post(body, sign(body)), post(body, "sha256=" + "0" * 64), post(body, None),
      post(b"x" * 200000, sign(b"x" * 200000)), post(b"not json", sign(b"not json")), post(twice, sign(twice)),
      post(latin, sign(latin)))
dripper.join()
print(big, big_chunked, "slow client cut" if cut["after"] != "never" and cut["after"] < 20 else "slow client kept: %s" % cut)
)PY";
  test::writeFile(f.dir / "post.py", poster);
  auto posted = test::run({"/usr/bin/python3", (f.dir / "post.py").string(),
                           "https://localhost:" + std::to_string(port) + "/ticketing/events",
                           (f.dir / "tls/ca.crt").string(), (f.dir / "webhook.secret").string()});
  // The body over the limit is refused on its declared length, unread: the
  // client hears 413, or the connection closing while it still sends.
  const std::string firstLine = posted.out.substr(0, posted.out.find('\n') + 1);
  BOOST_TEST((firstLine == "200 200 401 401 413 400 400 400\n" || firstLine == "200 200 401 401 closed 400 400 400\n"),
             posted.out << posted.err);
  const std::string second = posted.out.substr(firstLine.size());
  BOOST_TEST((second == "413 413 slow client cut\n" || second == "closed 413 slow client cut\n" ||
              second == "413 closed slow client cut\n" || second == "closed closed slow client cut\n"),
             second << posted.err);
  for (int i = 0; i < 100 && f.sql("SELECT count(*) FROM st_crm_procedures WHERE called_ms > 0") != "1\n"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
  BOOST_TEST(f.sql("SELECT v.ticket, p.code, p.counter, p.called_ms - p.received_ms FROM st_crm_visits v JOIN "
                   "st_crm_procedures p ON p.visit_id = v.id") == "A012 転入・転出 1番窓口 240000\n");
  // The repeat taken once; of the body with a bad event, nothing (checked whole before any is taken).
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_ticket_events") == "2\n");
  const std::string log = test::readFile(host.err);
  for (const char* why : {"refused (401): a wrong signature", "refused (401): no signature",
                          "refused (413): a body over webhook-max-body", "refused (400): a body that is not JSON",
                          "refused (400): an event with a field named twice", "refused (400): a body that is not UTF-8"})
    BOOST_TEST(log.find(why) != std::string::npos, why);
  BOOST_TEST(log.find("VISIT_CREATE") == std::string::npos);  // bodies never in the log
}

// A busy morning while renkei is killed with SIGKILL 20 times: the machine
// (the simulator, in scaled real time) keeps writing its log; every event
// lands once in the CRM and every line's waits are right, as the simulator
// counted them. A ticket number used again the next day is a new ticket.
BOOST_AUTO_TEST_CASE(sigkill_through_a_busy_morning_leaves_every_wait_right) {
  Floor f;
  fs::remove(f.dir / "log/tickets.csv");
  auto sim = test::spawn({"/usr/bin/python3", source("tests/tools/ticket_day.py").string(), "--out",
                          (f.dir / "log").string(), "--tickets", "400", "--seed", "11", "--speed", "2500",
                          "--summary", (f.dir / "summary.json").string()},
                         f.dir.path() / "simulator");
  std::mt19937 random(20261208);
  int kills = 0;
  test::ProcessResult simulated;
  for (int run = 0; kills < 20 && run < 60; ++run) {
    auto host = test::spawn({test::renkeiBinary(), "serve", "--config", f.config()},
                            f.dir.path() / ("run" + std::to_string(run)),
                            {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(150, 450)(random)));
    ::kill(host.pid, SIGKILL);
    if (host.wait().signal == SIGKILL) ++kills;
  }
  BOOST_TEST(kills >= 20);
  const std::string visitsWhileKilled = f.sql("SELECT count(*) FROM st_crm_visits");
  simulated = sim.wait();
  BOOST_REQUIRE_MESSAGE(simulated.exitCode == 0, simulated.err);
  f.once();
  f.once();
  BOOST_TEST_MESSAGE(std::stoi(visitsWhileKilled) << " visits opened by the hosts killed");
  BOOST_TEST(std::stoi(visitsWhileKilled) > 0);
  Poco::JSON::Parser parser;
  const auto summary = parser.parse(test::readFile(f.dir / "summary.json")).extract<Poco::JSON::Object::Ptr>();
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits") == std::to_string(summary->getValue<int>("issued")) + "\n");
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_ticket_events") ==
             std::to_string(summary->getValue<int>("events")) + "\n");
  const auto lines = summary->getObject("per_line");
  for (const std::string& line : lines->getNames()) {
    const auto l = lines->getObject(line);
    BOOST_TEST(f.sql("SELECT count(*), sum(called_ms > 0), coalesce(sum(CASE WHEN called_ms > 0 THEN called_ms - "
                     "received_ms END), 0) / 1000 FROM st_crm_procedures WHERE code = '" + line + "'") ==
                   std::to_string(l->getValue<int>("procedures")) + " " + std::to_string(l->getValue<int>("called")) +
                       " " + std::to_string(l->getValue<long>("wait_sum_s")) + "\n",
               line);
  }
  // The next day the machine starts its numbers again: 100 is a new ticket.
  f.append("日時,番号,受付内容,イベント,窓口,担当,連番,転送先\n2026-12-08 08:31:00,100,転居,発券,,,1,\n",
           "tickets-20261208.csv");
  f.once();
  BOOST_TEST(f.sql("SELECT count(*) FROM st_crm_visits WHERE ticket = '100'") == "2\n");
}

// An event whose ticket's issue never comes is reported once its
// ticket-hold is up, by the running host, without waiting for another
// batch of the floor.
BOOST_AUTO_TEST_CASE(a_held_event_is_reported_when_its_time_is_up_without_a_later_batch) {
  Floor f("<ticket-hold>1s</ticket-hold>");
  std::string config = test::readFile(f.dir / "config.xml");
  config.replace(config.find("</log-directory>"), 16, "</log-directory><poll>100ms</poll>");
  test::writeFile(f.dir / "config.xml", config);
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", f.config()}, f.dir.path() / "host",
                          {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  f.event("09:05:00", 401, "転入・転出", "呼出", "1番窓口");
  std::string out;
  for (int i = 0; i < 100 && out.find("waited longer than ticket-hold") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    out = runRenkei({"status", "--config", f.config()}).out;
  }
  BOOST_TEST(out.find("'ticket 本庁舎|2026-12-07|転入・転出|401|1|called' refused") != std::string::npos, out);
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
}
