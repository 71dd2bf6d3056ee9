// Plugins in this process, through the harness (tests/support/plugin_harness.h):
// the library the host loads, the host's key rules, a real state store, and
// a recording seam and clock instead of a running host. What only a real
// host can show (SIGKILL, TLS, routes) stays in the integration tests.
#define BOOST_TEST_MODULE renkei_plugin_harness
#include <boost/test/unit_test.hpp>

#include "plugin_harness.h"
#include "renkei/support/calendar_file.h"
#include "renkei/state.h"

#include <sstream>

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

/// 2026-12-06 16:00 UTC: already 2026-12-07 01:00 in Tokyo.
constexpr std::int64_t kLateEveningUtc = 1'796'572'800'000;

std::string field(const Record& r, const std::string& name) {
  const std::string* v = r.find(name);
  return v ? *v : "<none>";
}

void configureReview(test::PluginHarness& h) {
  h.set("procedures", source("config/review/procedures.xml").string())
      .set("calendar", source("config/calendar/demo-city.xml").string());
}

Batch applications(const std::string& id) {
  return test::PluginHarness::batch("application", {"application_id", "procedure", "shimei"},
                                    {{"A-1", "tennyu-todoke", "見本 花子"}, {"A-2", "tennyu-todoke", "見本 太郎"}}, id);
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_review_module_numbers_applications_on_the_hosts_local_day_and_takes_each_once) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_review.so")) return;  // plugin switched off
  test::PluginHarness h("review");
  configureReview(h);
  // A host whose time-zone is UTC: the late evening is still the 6th (a
  // module with a zone of its own, +09:00, would say the 7th).
  h.host().moveTo(kLateEveningUtc);
  h.host().setUtcOffsetMinutes(0);
  h.configure();
  h.start();
  BOOST_TEST(h.module().accept(applications("b1")).isOk());
  const auto notices = h.host().emitted("review.notice");
  BOOST_TEST_REQUIRE(notices.size() == 2u);
  // The 到達番号 is the day in the host's time-zone.
  BOOST_TEST(field(notices[0], "arrival_no") == "R20261206-000001");
  BOOST_TEST(field(notices[1], "arrival_no") == "R20261206-000002");
  BOOST_TEST(h.host().emitted("review.mail").size() == 2u);
  const std::size_t emissions = h.host().emissions();
  // The same batch again (a redelivery after a crash): nothing new.
  BOOST_TEST(h.module().accept(applications("b1")).isOk());
  BOOST_TEST(h.host().emissions() == emissions);
  BOOST_TEST(h.host().emitted("review.notice").size() == 2u);
  // The report as a page for the console (permission review): CSV of
  // counts per day, the same as ReviewService.report.
  BOOST_TEST(h.host().pageInfo("report").second == "review");
  const AdminResponse report = h.host().page("report", {{"by", "day"}, {"from", "2026-12-01"}, {"to", "2026-12-31"}});
  BOOST_TEST(report.status == 200, report.body);
  BOOST_TEST(report.contentType == "text/csv; charset=utf-8");
  BOOST_TEST(report.body == "day,count,average_reception_minutes\r\n2026-12-06,2,0.0\r\n", report.body);
  // and as a chart renkei draws: one bar per day with its number
  const AdminResponse chart =
      h.host().page("report", {{"by", "day"}, {"from", "2026-12-01"}, {"to", "2026-12-31"}, {"format", "svg"}});
  BOOST_TEST(chart.status == 200, chart.body);
  BOOST_TEST(chart.contentType == "image/svg+xml; charset=utf-8");
  BOOST_TEST(chart.body.find("Applications taken in per day") != std::string::npos, chart.body);
  BOOST_TEST(chart.body.find(">2026-12-06<") != std::string::npos, chart.body);
  BOOST_TEST(h.host().page("report", {{"format", "xlsx"}}).status == 400);
  BOOST_TEST(h.host().page("report", {{"by", "week"}}).status == 400);
}

BOOST_AUTO_TEST_CASE(a_deprecated_offset_key_still_wins_over_the_hosts_zone) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_review.so")) return;
  test::PluginHarness h("review");
  configureReview(h);
  h.set("utc-offset", "+09:00");
  h.host().moveTo(kLateEveningUtc);
  h.host().setUtcOffsetMinutes(0);
  h.configure();
  BOOST_TEST(h.module().accept(applications("b1")).isOk());
  const auto notices = h.host().emitted("review.notice");
  BOOST_TEST_REQUIRE(!notices.empty());
  BOOST_TEST(field(notices[0], "arrival_no") == "R20261207-000001");  // the key's Tokyo day, not the host's UTC one
}

BOOST_AUTO_TEST_CASE(keys_are_checked_by_the_hosts_rules_before_the_plugin_sees_them) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_review.so")) return;
  test::PluginHarness h("review");
  configureReview(h);
  h.set("procedurse", "x.xml");
  BOOST_CHECK_EXCEPTION(h.configure(), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("unknown key 'procedurse'") != std::string::npos;
  });
  test::PluginHarness missing("review");
  BOOST_CHECK_EXCEPTION(missing.configure(), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("missing required key 'procedures'") != std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(a_plugin_adds_its_pages_to_the_operator_listener) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_bridge.so")) return;
  test::PluginHarness h("bridge");
  // Keys made by the host's own keygen.
  auto keys = test::run({test::renkeiBinary(), "bridge", "keygen", "--out", (h.dir() / "keys").string(), "--zone", "lgwan"});
  BOOST_TEST_REQUIRE(keys.exitCode == 0, keys.err);
  h.set("send-folder", "send").set("to-zone", "internet").set("send-types", "notice").set("approval", "true");
  h.set("signing-key", (h.dir() / "keys/bridge-signing.key").string());
  h.configure();
  BOOST_TEST(h.host().pageInfo("pending").second == "view");
  BOOST_TEST(h.host().page("pending").body == "{\"connector\":\"under-test\",\"pending\":[],\"total\":0}\n");
  fs::create_directories(h.dir() / "send/pending-approval");
  test::writeFile(h.dir() / "send/pending-approval/x.bundle", "not a bundle\n");
  const std::string body = h.host().page("pending").body;
  BOOST_TEST(body.find("\"bundle\":\"x.bundle\"") != std::string::npos, body);
  BOOST_TEST(body.find("(no readable manifest)") != std::string::npos, body);
  // However many wait, the page reads and lists 200 and says how many there are.
  for (int i = 0; i < 250; ++i)
    test::writeFile(h.dir() / "send/pending-approval" / ("y" + std::to_string(1000 + i) + ".bundle"), "x\n");
  const std::string many = h.host().page("pending").body;
  std::size_t listed = 0;
  for (std::size_t at = many.find("\"bundle\""); at != std::string::npos; at = many.find("\"bundle\"", at + 1)) ++listed;
  BOOST_TEST(listed == 200u);
  BOOST_TEST(many.find("\"total\":251") != std::string::npos, many.substr(many.size() - 40));
}

BOOST_AUTO_TEST_CASE(the_municipal_calendar_is_the_hosts_one_per_instance) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_review.so")) return;
  // Without a calendar of its own or the host's, the module says where it belongs.
  test::PluginHarness none("review");
  none.set("procedures", source("config/review/procedures.xml").string());
  BOOST_CHECK_EXCEPTION(none.configure(), ConfigError, [](const ConfigError& e) {
    return std::string(e.what()).find("<calendar file=") != std::string::npos;
  });
  // With the host's calendar (the config's <calendar file="…"/>) it runs.
  Diagnostics diags;
  auto cal = loadCalendar(source("config/calendar/demo-city.xml"), diags);
  BOOST_TEST_REQUIRE(diags.empty(), diags.format());
  test::PluginHarness h("review");
  h.set("procedures", source("config/review/procedures.xml").string());
  h.host().setCalendar(std::make_shared<const calendar::Calendar>(*cal));
  h.host().moveTo(1'796'778'000'000);  // 2026-12-09 (Wed) 10:00 JST
  h.configure();
  BOOST_TEST(h.module().accept(applications("b1")).isOk());
  BOOST_TEST(h.host().emitted("review.notice").size() == 2u);
}

BOOST_AUTO_TEST_CASE(the_crm_modules_report_is_a_console_page_as_csv_and_as_a_chart) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_crm.so")) return;  // plugin switched off
  test::PluginHarness h("crm");
  h.configure();
  BOOST_TEST(h.host().pageInfo("report").second == "crm");
  const AdminResponse days = h.host().page("report", {{"view", "day"}, {"from", "2026-12-01"}, {"to", "2026-12-07"}});
  BOOST_TEST(days.status == 200, days.body);
  BOOST_TEST(days.contentType == "text/csv; charset=utf-8");
  BOOST_TEST(days.body.rfind("period,visits,procedures\r\n", 0) == 0u, days.body);
  const AdminResponse times = h.host().page("report", {{"view", "counter"}, {"from", "2026-12-01"}, {"to", "2026-12-07"}});
  BOOST_TEST(times.body.rfind("counter,procedures,waited,wait_avg_seconds", 0) == 0u, times.body);
  const AdminResponse chart =
      h.host().page("report", {{"view", "hour"}, {"from", "2026-12-01"}, {"to", "2026-12-07"}, {"format", "svg"}});
  BOOST_TEST(chart.contentType == "image/svg+xml; charset=utf-8");
  BOOST_TEST(chart.body.find("<title id=\"t\">Visits and procedures per hour, 2026-12-01 to 2026-12-07</title>") !=
                 std::string::npos,
             chart.body);
  BOOST_TEST(h.host().page("report", {{"view", "week"}}).status == 400);
  BOOST_TEST(h.host().page("report", {{"from", "2026-12-07"}, {"to", "2026-12-01"}}).status == 400);
  // by= as every report page takes it (view= kept), and a chart of every view.
  const AdminResponse byCounter = h.host().page("report", {{"by", "counter"}, {"from", "2026-12-01"}, {"to", "2026-12-07"}});
  BOOST_TEST(byCounter.body == times.body);
  const AdminResponse procedures =
      h.host().page("report", {{"by", "procedure"}, {"from", "2026-12-01"}, {"to", "2026-12-07"}, {"format", "svg"}});
  BOOST_TEST(procedures.status == 200, procedures.body);
  BOOST_TEST(procedures.body.find("Procedures per procedure, 2026-12-01 to 2026-12-07") != std::string::npos,
             procedures.body);
  BOOST_TEST(h.host().page("report", {{"by", "day"}, {"format", "pdf"}}).status == 400);
}

BOOST_AUTO_TEST_CASE(the_concierges_daily_report_is_a_console_page) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_concierge.so")) return;  // plugin switched off
  test::PluginHarness h("concierge", "internet");
  auto keys = test::run({test::renkeiBinary(), "token", "keygen", "--out", (h.dir() / "keys").string()});
  BOOST_TEST_REQUIRE(keys.exitCode == 0, keys.err);
  std::string pub;
  for (const auto& f : fs::directory_iterator(h.dir() / "keys"))
    if (f.path().extension() == ".pub") pub = f.path().string();
  h.set("knowledge", source("config/concierge/knowledge.xml").string())
      .set("rules", source("config/concierge/related-procedures.xml").string())
      .set("token-key", pub)
      .set("towns", source("config/concierge/towns.txt").string())
      .set("parameters", "child-medical-age=15")
      .set("certificate", (h.dir() / "none.crt").string())
      .set("key", (h.dir() / "none.key").string());
  Diagnostics diags;
  auto cal = loadCalendar(source("config/calendar/demo-city.xml"), diags);
  BOOST_TEST_REQUIRE(diags.empty(), diags.format());
  h.host().setCalendar(std::make_shared<const calendar::Calendar>(*cal));
  h.configure();
  BOOST_TEST(h.host().pageInfo("report").second == "concierge");
  const AdminResponse csv = h.host().page("report", {{"from", "2026-12-01"}, {"to", "2026-12-07"}, {"format", "csv"}});
  BOOST_TEST(csv.status == 200, csv.body);
  BOOST_TEST(csv.contentType == "text/csv; charset=utf-8");
  BOOST_TEST(csv.body.find("day,event,channel,sessions,tokens") == 0u, csv.body);
  const AdminResponse json = h.host().page("report", {{"from", "2026-12-01"}, {"to", "2026-12-07"}});
  BOOST_TEST(json.contentType == "application/json; charset=utf-8");
  const AdminResponse svg = h.host().page("report", {{"from", "2026-12-01"}, {"to", "2026-12-07"}, {"format", "svg"}});
  BOOST_TEST(svg.status == 200, svg.body);
  BOOST_TEST(svg.contentType == "image/svg+xml; charset=utf-8");
  BOOST_TEST(svg.body.find("Concierge sessions and tokens, 2026-12-01 to 2026-12-07") != std::string::npos, svg.body);
  BOOST_TEST(h.host().page("report", {{"format", "pdf"}}).status == 400);
  BOOST_TEST(h.host().page("report", {{"from", "2026-12-01&to=x"}}).status == 400);
}

// Related procedures from the core systems' facts: the welfare connector's
// facts routed to the crm module, then the register's events. A 国保 member
// moving out needs 資格喪失 within 14 days; a 児童手当 recipient's household
// with a birth needs 額改定 within 15; a resident with no such facts needs
// neither. Each with its deadline on the municipal calendar and the rule's
// file:line; a replayed batch lists nothing twice.
BOOST_AUTO_TEST_CASE(the_crm_lists_related_procedures_from_the_facts_at_register_events) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_crm.so")) return;  // plugin switched off
  test::PluginHarness h("crm");
  Diagnostics diags;
  auto cal = loadCalendar(source("config/calendar/demo-city.xml"), diags);
  BOOST_TEST_REQUIRE(diags.empty(), diags.format());
  h.host().setCalendar(std::make_shared<const calendar::Calendar>(*cal));
  h.set("knowledge", source("config/concierge/knowledge.xml").string())
      .set("rules", source("config/concierge/related-procedures.xml").string())
      .set("parameters", "child-medical-age=15");
  h.configure();
  auto& crm = h.module();
  const std::vector<std::string> residentFields{"resident_code", "household_no", "name", "birth_date", "relationship"};
  BOOST_TEST(crm.accept(test::PluginHarness::batch("crm.resident", residentFields,
                                                   {{"R1", "H1", "見本 一郎", "1960-04-01", "世帯主"},
                                                    {"R2", "H2", "見本 花子", "1990-05-05", "世帯主"},
                                                    {"R3", "H2", "見本 太郎", "2020-06-06", "子"},
                                                    {"R4", "H4", "見本 次郎", "1985-07-07", "世帯主"}},
                                                   "residents"))
                 .isOk());
  BOOST_TEST(crm.accept(test::PluginHarness::batch("welfare.kokuho",
                                                   {"program", "person_key", "resident_code", "current",
                                                    "kokuho_member", "kokuho_since", "export"},
                                                   {{"kokuho", "R1", "R1", "true", "true", "2020-04-01", "K"},
                                                    {"kokuho", "R4", "R4", "false", "false", "2020-04-01", "K"}},
                                                   "facts-kokuho"))
                 .isOk());
  BOOST_TEST(crm.accept(test::PluginHarness::batch("welfare.jidou-teate",
                                                   {"program", "person_key", "resident_code", "current",
                                                    "jidou_teate_recipient", "export"},
                                                   {{"jidou-teate", "A2", "R2", "true", "true", "J"}}, "facts-jidou"))
                 .isOk());
  const std::vector<std::string> eventFields{"event_id", "event", "event_code", "resident_code", "household_no",
                                             "move_date"};
  const Batch events = test::PluginHarness::batch("resident.event", eventFields,
                                                  {{"e1", "転出", "06", "R1", "H1", "2026-12-07"},
                                                   {"e2", "出生", "02", "R5", "H2", "2026-12-04"},
                                                   {"e3", "転出", "06", "R4", "H4", "2026-12-07"},
                                                   {"e4", "転居", "04", "R2", "H2", "2026-12-07"},
                                                   // an era date, not mapped to ISO: not judged (a warning)
                                                   {"e5", "転出", "06", "R1", "H1", "5081207"}},
                                                  "events");
  BOOST_TEST(crm.accept(events).isOk());
  BOOST_TEST(crm.accept(events).isOk());  // a replay lists nothing twice
  std::vector<std::string> rows;
  StateStore& st = h.host().state();
  st.read([&](StateSession& s) {
    s.query("SELECT event_id, procedure_id, deadline, rule, household_no FROM " + st.table("related") +
                " ORDER BY event_id, procedure_id",
            {}, [&](StateRows& r) {
              rows.push_back(r.text(0) + " " + r.text(1) + " " + r.text(2) + " " + r.text(3) + " " + r.text(4));
            });
  });
  // The rules' lines, read from the shipped file (it may grow): where the
  // rule's start tag ends, as every file:line of renkei's XML files.
  const std::string text = test::readFile(source("config/concierge/related-procedures.xml"));
  auto lineOf = [&](const std::string& id) {
    const std::size_t at = text.find('>', text.find("<rule id=\"" + id + "\""));
    return std::to_string(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n') + 1);
  };
  // 2026-12-07 + 14 days = 12-21 (a Monday, open); 12-04 + 15 = 12-19, a
  // Saturday: the calendar moves it to the next open day, 12-21.
  const std::vector<std::string> expected{
      "e1 kokuho-dattai 2026-12-21 related-procedures.xml:" + lineOf("kokuho-soshitsu") + " H1",
      "e2 jidou-teate-gakukaitei 2026-12-21 related-procedures.xml:" + lineOf("jidou-teate-gakukaitei") + " H2",
      "e2 kodomo-iryo  related-procedures.xml:" + lineOf("kodomo-iryo-shussei") + " H2"};  // every birth
  BOOST_TEST(rows == expected, boost::test_tools::per_element());
  // Nothing for R4 (its 国保 ended) or for a 転居 (not a related event).
}

// Golden cases (tests/cases/related/<case>/): residents, facts and register
// events in, the related procedures kept out — among them a change of the
// law, judged by the rule in force on each event's day.
BOOST_AUTO_TEST_CASE(related_procedure_golden_cases) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_crm.so")) return;  // plugin switched off
  Diagnostics diags;
  auto cal = loadCalendar(source("config/calendar/demo-city.xml"), diags);
  BOOST_TEST_REQUIRE(diags.empty(), diags.format());
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(source("tests/cases/related"))) {
    if (!entry.is_directory()) continue;
    ++cases;
    const fs::path c = entry.path();
    BOOST_TEST_CONTEXT("case " << c.filename().string()) {
      test::PluginHarness h("crm");
      h.host().setCalendar(std::make_shared<const calendar::Calendar>(*cal));
      h.set("knowledge", source("config/concierge/knowledge.xml").string())
          .set("rules", fs::exists(c / "rules.xml") ? (c / "rules.xml").string()
                                                    : source("config/concierge/related-procedures.xml").string())
          .set("parameters", "child-medical-age=15");
      h.configure();
      std::istringstream in(test::readFile(c / "input.tsv"));
      int n = 0;
      for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f;
        std::istringstream words(line);
        for (std::string w; words >> w;) f.push_back(w);
        if (f.empty()) continue;
        const std::string id = "b" + std::to_string(++n);
        Batch b;
        if (f[0] == "resident") {
          b = test::PluginHarness::batch("crm.resident", {"resident_code", "household_no", "birth_date"},
                                         {{f.at(1), f.at(2), f.at(3)}}, id);
        } else if (f[0] == "fact") {
          std::vector<std::string> names{"program", "resident_code", "current"}, values{f.at(2), f.at(1), "true"};
          for (std::size_t i = 3; i < f.size(); ++i) {
            names.push_back(f[i]);
            values.push_back("true");
          }
          b = test::PluginHarness::batch("welfare." + f.at(2), names, {values}, id);
        } else if (f[0] == "koseki") {  // a 戸籍 event: CODE '-' when the person is no resident yet
          b = test::PluginHarness::batch(
              "koseki.event", {"event_id", "event", "resident_code", "household_no", "event_date", "identity"},
              {{f.at(1), f.at(2), f.at(3) == "-" ? std::string() : f.at(3), f.at(4), f.at(5), f.at(6)}}, id);
        } else {
          b = test::PluginHarness::batch("resident.event",
                                         {"event_id", "event", "resident_code", "household_no", "move_date", "identity"},
                                         {{f.at(1), f.at(2), f.at(3), f.at(4), f.at(5), f.size() > 6 ? f[6] : ""}}, id);
        }
        BOOST_TEST(h.module().accept(b).isOk(), line);
      }
      std::string got;
      StateStore& st = h.host().state();
      st.read([&](StateSession& s) {
        s.query("SELECT event_id, procedure_id, deadline, because, resident_code FROM " + st.table("related") +
                    " ORDER BY event_id, procedure_id",
                {}, [&](StateRows& r) {
                  const std::string because = r.text(3);  // "rule <id> (<cite>)"
                  got += r.text(0) + "\t" + r.text(1) + "\t" + r.text(2) + "\t" +
                         because.substr(5, because.find(" (") - 5) + "\t" + r.text(4) + "\n";
                });
      });
      BOOST_TEST(got == test::readFile(c / "expected.tsv"));
    }
  }
  BOOST_TEST(cases >= 4);
}

// The problem watch's view of a register connector: an export waiting in
// held/ is a problem (the failure mail) until released or removed.
BOOST_AUTO_TEST_CASE(an_export_waiting_in_held_is_a_problem_until_it_goes) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_resident.so")) return;
  test::PluginHarness h("resident");
  h.set("directory", "drop").set("layout", source("mappings/layouts/jumin-csv.xml").string());
  h.configure();
  BOOST_TEST(h.connector().problems().empty());
  fs::create_directories(h.dir() / "drop/held");
  test::writeFile(h.dir() / "drop/held/JUMIN_20261102_FULL.csv", "x\n");
  test::writeFile(h.dir() / "drop/held/JUMIN_20261102_FULL.csv.held.txt", "reason: would remove 200 of 400\n");
  const auto problems = h.connector().problems();
  BOOST_TEST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].kind == "held-exports");
  BOOST_TEST(problems[0].detail.find("1 export waits in ") == 0u, problems[0].detail);
  BOOST_TEST(problems[0].detail.find("renkei resident held lists them") != std::string::npos, problems[0].detail);
  BOOST_TEST(problems[0].detail.find("JUMIN_20261102") == std::string::npos, "no file's name: " << problems[0].detail);
  fs::remove(h.dir() / "drop/held/JUMIN_20261102_FULL.csv");
  BOOST_TEST(h.connector().problems().empty());
}
