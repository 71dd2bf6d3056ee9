// The ticketing connector's first input, the machine's CSV log tailed: real
// `renkei serve` processes on a folder a test writes as a machine would —
// lines appended, one half written, the log rotated, truncated, a line too
// long, bytes of another encoding, and processes killed with SIGKILL while
// the log grows. Every complete line lands once; nothing is lost.
#define BOOST_TEST_MODULE renkei_ticketing_connector
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
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
