// The renkei command line as a user runs it: output and exit codes
// (0 done, 1 runtime failure, 2 usage or config error).
#define BOOST_TEST_MODULE renkei_cli
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/stat.h>

#include "renkei/plugin.h"
#include "renkei/support/seal.h"
#include "renkei/support/token.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

test::ProcessResult runRenkei(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv{test::renkeiBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv, env);
}

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

// A copy of the shipped demo (config + samples) in a temp folder, laid out as
// in the repository, so that serve moves files there and not in the checkout.
struct DemoCopy {
  test::TempDir dir;
  DemoCopy() {
    fs::create_directories(dir / "config");
    // The demo's API on a port the system chooses (tests run side by side),
    // with certificates made as scripts/demo makes them.
    std::string xml = test::readFile(source("config/demo.xml"));
    const std::string fixed = "port=\"9443\"";
    BOOST_REQUIRE(xml.find(fixed) != std::string::npos);
    xml.replace(xml.find(fixed), fixed.size(), "port=\"0\"");
    const std::string events = "tcp://127.0.0.1:7420";  // the live floor events too
    BOOST_REQUIRE(xml.find(events) != std::string::npos);
    xml.replace(xml.find(events), events.size(), "tcp://127.0.0.1:0");
    test::writeFile(dir / "config/demo.xml", xml);
    auto certs = test::run({source("scripts/make-certs").string(), (dir / "var/tls").string(), "window-demo"});
    BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
    auto keys = test::run({source("scripts/make-keys").string(), (dir / "var/keys").string()},
                          {{"RENKEI_BIN", test::renkeiBinary()}});
    BOOST_REQUIRE_MESSAGE(keys.exitCode == 0, keys.err);
    fs::copy(source("mappings"), dir / "mappings", fs::copy_options::recursive);
    // the review module's procedures, tables, mail templates; the crm module's related-procedure rules
    for (const char* sub : {"review", "calendar", "concierge", "notify"})
      fs::copy(source("config") / sub, dir / "config" / sub, fs::copy_options::recursive);
    fs::create_directories(dir / "var/exchange/jumin/in");
    for (const auto& f : fs::directory_iterator(source("config/samples/jumin")))
      if (f.path().extension() == ".csv")  // as scripts/demo drops them
        fs::copy_file(f.path(), dir / "var/exchange/jumin/in" / f.path().filename());
  }
  std::string config() const { return (dir / "config/demo.xml").string(); }
};

// A config with one route from the drop folder in/ to the drop folder out/,
// as most tests here need: `route` adds attributes to the route (a mapping),
// `pipeline` a <pipeline> element, `out` settings of the target.
std::string dropConfig(const std::string& route = "", const std::string& pipeline = "", const std::string& out = "") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<renkei xmlns=\"urn:renkei:config:1\" instance=\"t\" zone=\"lgwan\">\n" +
         pipeline +
         "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
         "  <connector id=\"in\" plugin=\"file\"><directory>in</directory><settle>0s</settle></connector>\n"
         "  <connector id=\"out\" plugin=\"file\"><directory>out</directory>" + out + "</connector>\n"
         "  <route id=\"r\" from=\"in\" to=\"out\"" + route + "/>\n"
         "</renkei>\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(version_and_help) {
  auto v = runRenkei({"version"});
  BOOST_TEST(v.exitCode == 0);
  BOOST_TEST(v.out.rfind("renkei ", 0) == 0u);
  BOOST_TEST(v.out.find("plugin SDK ABI " + std::to_string(RENKEI_SDK_ABI_VERSION)) != std::string::npos);
  auto h = runRenkei({"--help"});
  BOOST_TEST(h.exitCode == 0);
  BOOST_TEST(h.out.find("serve --config F [--once]") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  BOOST_TEST(runRenkei({}).exitCode == 2);
  auto unknown = runRenkei({"serv"});
  BOOST_TEST(unknown.exitCode == 2);
  BOOST_TEST(unknown.err.find("unknown command 'serv'; did you mean 'serve'?") != std::string::npos, unknown.err);
  auto option = runRenkei({"check", "--confg", "x.xml"});
  BOOST_TEST(option.exitCode == 2);
  BOOST_TEST(option.err.find("unknown option '--confg'; did you mean '--config'?") != std::string::npos, option.err);
  BOOST_TEST(runRenkei({"check"}).exitCode == 2);
  BOOST_TEST(runRenkei({"serve"}).exitCode == 2);
  // A plugin's commands are checked against what the plugin declares (the
  // host names none of them).
  auto noAction = runRenkei({"bridge"});
  BOOST_TEST(noAction.exitCode == 2);
  BOOST_TEST(noAction.err.find("bridge: say what to do: keygen, pending, approve, reject") != std::string::npos,
             noAction.err);
  auto typo = runRenkei({"bridge", "aprove"});
  BOOST_TEST(typo.exitCode == 2);
  BOOST_TEST(typo.err.find("bridge: unknown action 'aprove'; did you mean 'approve'?") != std::string::npos, typo.err);
  auto badOption = runRenkei({"bridge", "approve", "--config", "x.xml", "--bundel", "b"});
  BOOST_TEST(badOption.exitCode == 2);
  BOOST_TEST(badOption.err.find("unknown option '--bundel'; did you mean '--bundle'?") != std::string::npos,
             badOption.err);
  auto notAPlugin = runRenkei({"brige", "pending"});
  BOOST_TEST(notAPlugin.exitCode == 2);
  BOOST_TEST(notAPlugin.err.find("unknown command 'brige'; did you mean 'bridge'?") != std::string::npos,
             notAPlugin.err);
  BOOST_TEST(runRenkei({"check", "--config"}).exitCode == 2);
  auto level = runRenkei({"serve", "--config", source("config/demo.xml").string(), "--log-level", "loud"});
  BOOST_TEST(level.exitCode == 2);
  BOOST_TEST(level.err.find("--log-level 'loud' is not one of") != std::string::npos, level.err);
}

BOOST_AUTO_TEST_CASE(check_demo_config_is_clean) {
  DemoCopy demo;  // with the certificates scripts/demo makes
  auto r = runRenkei({"check", "--config", demo.config()});
  BOOST_TEST(r.exitCode == 0, r.err);
  BOOST_TEST(r.out.find(": ok (instance demo, zone lgwan, 21 connectors, 2 modules, 25 routes)") != std::string::npos,
             r.out);
}

BOOST_AUTO_TEST_CASE(check_demo_with_a_plugin_typo_exits_2_naming_the_line) {
  DemoCopy tmp;
  std::string text = test::readFile(tmp.config());
  const std::string from = "id=\"crm-out\" plugin=\"file\"";
  const auto at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), "id=\"crm-out\" plugin=\"fiel\"");
  // The line the typo sits on, counted the way an editor does.
  const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  test::writeFile(tmp.config(), text);
  auto r = runRenkei({"check", "--config", tmp.config()});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("demo.xml:" + std::to_string(line) +
                        ": connector 'crm-out': unknown plugin 'fiel'; did you mean 'file'?") != std::string::npos,
             r.err);
  BOOST_TEST(r.err.find("1 problem") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(check_names_missing_api_certificates_and_a_subscription_without_api) {
  DemoCopy demo;
  fs::remove_all(demo.dir / "var/tls");
  auto r = runRenkei({"check", "--config", demo.config()});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("demo.xml:27: api: certificate '") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("var/tls/server.crt' does not exist") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("var/tls/ca.crt' does not exist") != std::string::npos, r.err);
  std::string text = test::readFile(demo.config());
  const auto api = text.find("  <api ");
  text.erase(api, text.find("/>", api) + 2 - api);
  test::writeFile(demo.config(), text);
  auto noApi = runRenkei({"check", "--config", demo.config()});
  BOOST_TEST(noApi.exitCode == 2);
  BOOST_TEST(noApi.err.find("subscription 'window-feed': window systems pull it through the API, but there is no "
                            "<api>") != std::string::npos,
             noApi.err);
}

BOOST_AUTO_TEST_CASE(serve_refuses_a_key_that_does_not_match_the_api_certificate) {
  DemoCopy demo;
  std::string text = test::readFile(demo.config());
  const std::string key = "key=\"../var/tls/server.key\"";
  text.replace(text.find(key), key.size(), "key=\"../var/tls/window-demo.key\"");
  test::writeFile(demo.config(), text);
  auto r = runRenkei({"serve", "--config", demo.config(), "--once"});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("demo.xml:27: api: key '") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("key values mismatch") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("start-up failed (above); nothing was processed") != std::string::npos, r.err);
  BOOST_TEST(test::listFiles(demo.dir / "var/exchange/jumin/in").size() == 2u);  // nothing taken
}

BOOST_AUTO_TEST_CASE(check_missing_or_broken_files_exit_2) {
  auto missing = runRenkei({"check", "--config", "/nonexistent/renkei.xml"});
  BOOST_TEST(missing.exitCode == 2);
  BOOST_TEST(missing.err.find("/nonexistent/renkei.xml: config file not found") != std::string::npos, missing.err);
  auto broken = runRenkei({"check", "--config", source("tests/cases/config/not-well-formed/config.xml").string()});
  BOOST_TEST(broken.exitCode == 2);
  auto several = runRenkei({"check", "--config", source("tests/cases/config/several-errors/config.xml").string()});
  BOOST_TEST(several.exitCode == 2);
  BOOST_TEST(several.err.find("5 problems") != std::string::npos, several.err);
}

BOOST_AUTO_TEST_CASE(plugins_lists_file_with_its_keys) {
  auto r = runRenkei({"plugins"});
  BOOST_TEST(r.exitCode == 0, r.err);
  BOOST_TEST(r.out.find("file 0.1.0 (connector: source, sink) [stable]") != std::string::npos, r.out);
  for (const char* key : {"directory (path, required)", "pattern (list, default '*')", "min-age (duration",
                          "max-file-size (size", "format (enum(jsonl|csv)", "output-layout (path"})
    BOOST_TEST(r.out.find(key) != std::string::npos, "missing " << key);
  // A plugin's own commands are listed from its declaration.
  if (r.out.find("\nbridge ") != std::string::npos) {
    BOOST_TEST(r.out.find("renkei bridge keygen --out DIR --zone lgwan|internet|mynumber") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("renkei bridge approve --config F [--connector ID] --bundle NAME [--by WHO]") !=
                   std::string::npos,
               r.out);
  }
  // A deprecated key is marked, with what replaces it.
  if (r.out.find("\nreview ") != std::string::npos) {
    BOOST_TEST(r.out.find("utc-offset (string, deprecated)") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("deprecated: days, hours and deadlines follow the config's time-zone") != std::string::npos,
               r.out);
  }
}

BOOST_AUTO_TEST_CASE(plugins_shows_refused_libraries_with_reasons) {
  auto r = runRenkei({"plugins", "--plugin-dir", test::env("RENKEI_FIXTURE_PLUGIN_DIR")});
  BOOST_TEST(r.exitCode == 0);
  BOOST_TEST(r.out.find("fixture-good 9.9.9") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("refused: ") != std::string::npos);
  BOOST_TEST(r.out.find("expected " + std::to_string(RENKEI_SDK_ABI_VERSION) + ", found 999") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(serve_once_on_the_demo_exits_0_with_a_summary) {
  DemoCopy demo;
  auto r = runRenkei({"serve", "--config", demo.config(), "--once"});
  BOOST_TEST(r.exitCode == 0, r.err);
  BOOST_TEST(r.out.find("route jumin-to-crm: jumin-in -> crm, crm-out, window-feed") != std::string::npos, r.out);
  // 425 records to the crm module, to crm-out and to the review module (its
  // register cache), 30 move events to the crm module and to events-out
  // and, PII-free, to the bridge, 167 + 12 households (derived records go
  // through the engine seam: two files, no relay files); window-feed waits
  // to be pulled.
  BOOST_TEST(r.out.find("2 files, 2 done, 0 to error/, 0 pending; 1544 records delivered") != std::string::npos,
             r.out);
  BOOST_TEST(test::listFiles(demo.dir / "var/bridge/lgwan-send/out").size() == 1u);
  BOOST_TEST(test::listFiles(demo.dir / "var/exchange/crm/out").size() == 2u);
  // The sample export holds five records the mapping rejects, with reasons.
  BOOST_TEST(r.out.find("5 rejected (in rejects/)") != std::string::npos, r.out);
  const std::string rejects =
      test::readFile(test::rejectsFile(demo.dir / "var/exchange/jumin/rejects", "JUMIN_20261101_FULL.csv"));
  BOOST_TEST(test::countLines(rejects) == 5u);
  BOOST_TEST(rejects.find("\"reasons\":[\"mynumber:個人番号\"]") != std::string::npos, rejects);
  // Mapped records are what the CRM expects, with nothing the mapping drops.
  const std::string out = test::readFile(demo.dir / "var/exchange/crm/out" /
                                         test::listFiles(demo.dir / "var/exchange/crm/out")[0]);
  BOOST_TEST(out.rfind("{\"resident_code\":\"", 0) == 0u, out.substr(0, 200));
  BOOST_TEST(out.find("個人番号") == std::string::npos);
  BOOST_TEST(out.find("\"source\":\"jumin\"") != std::string::npos);
  // A second run finds nothing waiting and still succeeds.
  auto again = runRenkei({"serve", "--config", demo.config(), "--once"});
  BOOST_TEST(again.exitCode == 0);
  BOOST_TEST(again.out.find("0 files") != std::string::npos, again.out);
}

BOOST_AUTO_TEST_CASE(serve_exits_1_when_a_file_was_unreadable) {
  DemoCopy demo;
  test::writeFile(demo.dir / "var/exchange/jumin/in/JUMIN_CP932.csv", "\x8F\x5C\x8E\xA6\r\n");
  auto r = runRenkei({"serve", "--config", demo.config(), "--once"});
  BOOST_TEST(r.exitCode == 1, r.out << r.err);
  BOOST_TEST(r.out.find("1 to error/") != std::string::npos, r.out);
  BOOST_TEST(fs::exists(demo.dir / "var/exchange/jumin/error/JUMIN_CP932.csv.error.txt"));
}

BOOST_AUTO_TEST_CASE(serve_with_a_bad_config_exits_2_and_starts_nothing) {
  auto r = runRenkei({"serve", "--config", source("tests/cases/config/unknown-key-typo/config.xml").string(), "--once"});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("unknown key 'patern'") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("nothing was started") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(serve_reports_a_connector_that_refuses_its_settings) {
  test::TempDir tmp;
  test::writeFile(tmp / "not-a-folder", "x");
  test::writeFile(tmp / "c.xml", R"(<renkei xmlns="urn:renkei:config:1" instance="t" zone="lgwan">
  <connector id="in" plugin="file"><directory>not-a-folder</directory></connector>
  <connector id="out" plugin="file"><directory>out</directory></connector>
  <route id="r" from="in" to="out"/>
</renkei>)");
  auto r = runRenkei({"serve", "--config", (tmp / "c.xml").string(), "--once"});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("c.xml:2: connector 'in' (file): key 'directory': '") != std::string::npos, r.err);
  BOOST_TEST(r.err.find("exists but is not a folder") != std::string::npos, r.err);
}

// The operators' commands: their mistakes are usage errors (exit 2) that say
// what would be valid; on the demo's store they report what serve did.
BOOST_AUTO_TEST_CASE(operator_commands_report_and_refuse_clearly) {
  DemoCopy demo;
  // Issue 13, item 4: before the first serve there is no store, and the
  // operator commands say so (exit 2) instead of making an empty one.
  for (const std::vector<std::string>& cmd : {std::vector<std::string>{"status"}, {"deadletters", "list"},
                                              {"replay", "--route", "jumin-to-crm", "--since", "1h"}}) {
    std::vector<std::string> args = cmd;
    args.insert(args.end(), {"--config", demo.config()});
    auto r = runRenkei(args);
    BOOST_TEST(r.exitCode == 2, cmd[0] << ": " << r.out << r.err);
    BOOST_TEST(r.err.find("var/renkei.db: there is no store here (the file does not exist; renkei serve creates it") !=
                   std::string::npos,
               r.err);
    BOOST_TEST(!fs::exists(demo.dir / "var/renkei.db"), cmd[0] << " created a store");
  }
  BOOST_REQUIRE(runRenkei({"serve", "--config", demo.config(), "--once"}).exitCode == 0);
  auto status = runRenkei({"status", "--config", demo.config()});
  // Issue 13, item 3: exit codes for monitoring. The window-feed batches
  // wait for a window system to pull them: fine for an hour, a problem
  // (exit 5) past --max-age.
  BOOST_TEST(status.exitCode == 0, status.out << status.err);
  auto old = runRenkei({"status", "--max-age", "0m", "--config", demo.config()});
  BOOST_TEST(old.exitCode == 5, old.out << old.err);
  BOOST_TEST(old.out.find("problem: route jumin-to-crm to window-feed: a batch has waited ") != std::string::npos,
             old.out);
  BOOST_TEST(runRenkei({"status", "--max-age", "soon", "--config", demo.config()}).exitCode == 2);
  BOOST_TEST(status.out.find("to crm-out: 0 batches pending (0 records, oldest -, 0 in delivery), 0 dead letters (0 "
                             "records), 2 delivered (425 records)") != std::string::npos,
             status.out);
  BOOST_TEST(status.out.find("JUMIN_20261101_FULL.csv'  done") != std::string::npos, status.out);
  // No personal values: the status names files and counts only.
  BOOST_TEST(status.out.find("山田") == std::string::npos);

  auto none = runRenkei({"deadletters", "list", "--config", demo.config()});
  BOOST_TEST(none.exitCode == 0);
  BOOST_TEST(none.out == "0 dead letters\n");

  auto noAction = runRenkei({"deadletters", "--config", demo.config()});
  BOOST_TEST(noAction.exitCode == 2);
  BOOST_TEST(noAction.err.find("deadletters: say what to do: list, show, resubmit") != std::string::npos,
             noAction.err);
  auto typo = runRenkei({"deadletters", "lst", "--config", demo.config()});
  BOOST_TEST(typo.exitCode == 2);
  BOOST_TEST(typo.err.find("unknown action 'lst'; did you mean 'list'?") != std::string::npos, typo.err);
  auto which = runRenkei({"deadletters", "resubmit", "--config", demo.config()});
  BOOST_TEST(which.exitCode == 2);
  BOOST_TEST(which.err.find("say which: --batch ID, --route R, or --all") != std::string::npos, which.err);
  auto show = runRenkei({"deadletters", "show", "--batch", "nope", "--config", demo.config()});
  BOOST_TEST(show.exitCode == 1);
  BOOST_TEST(show.err.find("no batch 'nope' in the store") != std::string::npos, show.err);

  auto route = runRenkei({"replay", "--route", "jumin-to-cmr", "--since", "1h", "--config", demo.config()});
  BOOST_TEST(route.exitCode == 2);
  BOOST_TEST(route.err.find("no route 'jumin-to-cmr'") != std::string::npos, route.err);
  BOOST_TEST(route.err.find("did you mean 'jumin-to-crm'?") != std::string::npos, route.err);
  auto since = runRenkei({"replay", "--route", "jumin-to-crm", "--since", "yesterday", "--config", demo.config()});
  BOOST_TEST(since.exitCode == 2);
  BOOST_TEST(since.err.find("--since 'yesterday' is not a date") != std::string::npos, since.err);
  auto replay = runRenkei({"replay", "--route", "jumin-to-crm", "--since", "1h", "--by", "cli-test", "--config",
                           demo.config()});
  BOOST_TEST(replay.exitCode == 0, replay.err);
  // Delivered batches to crm, crm-out and review come again; window-feed's
  // are still waiting to be pulled and are not replayed.
  BOOST_TEST(replay.out.find("replay: 6 deliveries of route jumin-to-crm") != std::string::npos, replay.out);
  auto after = runRenkei({"serve", "--config", demo.config(), "--once"});
  BOOST_TEST(after.out.find("records: 1275 delivered in 6 batches") != std::string::npos, after.out);
  auto log = runRenkei({"status", "--config", demo.config()});
  BOOST_TEST(log.out.find("cli-test  replay: route jumin-to-crm since") != std::string::npos, log.out);
}

// Issue 13, item 4: check says why a store could not be made or reached,
// with the path and the system's reason.
BOOST_AUTO_TEST_CASE(check_and_serve_name_the_store_path_and_the_reason) {
  test::TempDir dir;
  test::writeFile(dir / "blocker", "a file where a folder should be\n");
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"t\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"blocker/var/renkei.db\"/>\n"
                  "</renkei>\n");
  auto check = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(check.exitCode == 2, check.out << check.err);
  BOOST_TEST(check.err.find("config.xml:3: store: '" + (dir / "blocker").string() +
                            "' (on the way to the store's file) is not a folder") != std::string::npos,
             check.err);
  // A PostgreSQL store that does not answer fails check, naming the line.
  test::writeFile(dir / "pg.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"t\" zone=\"lgwan\">\n"
                  "  <store driver=\"postgresql\" connection=\"Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;"
                  "Database=renkei;Uid=renkei\"/>\n"
                  "</renkei>\n");
  auto pg = runRenkei({"check", "--config", (dir / "pg.xml").string()});
  BOOST_TEST(pg.exitCode == 2, pg.out << pg.err);
  BOOST_TEST(pg.err.find("pg.xml:3: store: the PostgreSQL server does not answer: ") != std::string::npos, pg.err);
}

// Issue 13, item 2: a file whose every record is rejected is a problem, not
// a success; problem-rejects="N%" sets the share per route.
BOOST_AUTO_TEST_CASE(a_file_whose_records_are_all_rejected_is_a_problem) {
  test::TempDir dir;
  test::writeFile(dir / "layout.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                      "<layout xmlns=\"urn:renkei:layout:1\" id=\"t\" record=\"t\">\n"
                                      "  <csv encoding=\"utf-8\" header=\"false\"/>\n"
                                      "  <field name=\"code\" pii=\"none\"/>\n"
                                      "  <field name=\"name\" pii=\"none\"/>\n"
                                      "</layout>\n");
  test::writeFile(dir / "map.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                   "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"m\" version=\"1\">\n"
                                   "  <source layout=\"layout.xml\"/>\n"
                                   "  <target record=\"t\" zone=\"lgwan\"/>\n"
                                   "  <field to=\"code\" from=\"code\"/>\n"
                                   "  <field to=\"name\" from=\"name\" required=\"true\"/>\n"
                                   "</mapping>\n");
  auto config = [&](const std::string& extra) {
    test::writeFile(dir / "config.xml", dropConfig(" mapping=\"map.xml\"" + extra));
  };
  config("");
  test::writeFile(dir / "in/in/all-bad.csv", "1,\n2,\n3,\n");
  auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(r.exitCode == 1, r.out << r.err);
  BOOST_TEST(r.out.find("problem: 'all-bad.csv': every record was rejected (3 of 3); reasons in rejects/all-bad.csv.") !=
                 std::string::npos,
             r.out);
  BOOST_TEST(r.out.find("; 1 file with too many rejected records") != std::string::npos, r.out);
  // Two of three rejected: fine by default, a problem at 50 %.
  test::writeFile(dir / "in/in/mostly-bad.csv", "4,\n5,\n6,ok\n");
  auto fine = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(fine.exitCode == 0, fine.out << fine.err);
  config(" problem-rejects=\"50%\"");
  test::writeFile(dir / "in/in/mostly-bad-2.csv", "7,\n8,\n9,ok\n");
  auto strict = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(strict.exitCode == 1, strict.out << strict.err);
  BOOST_TEST(strict.out.find("problem: 'mostly-bad-2.csv': rejected records reached 50% (2 of 3)") != std::string::npos,
             strict.out);
}

// Issue 13, item 5: a missing plugin folder is the first problem reported.
BOOST_AUTO_TEST_CASE(a_missing_plugin_folder_is_reported_before_the_unknown_plugins) {
  auto r = runRenkei({"check", "--config", source("tests/cases/config/referenced-files-missing/config.xml").string()});
  BOOST_TEST(r.exitCode == 2);
  const std::size_t folder = r.err.find("plugins: directory '");
  const std::size_t unknown = r.err.find("unknown plugin 'file'");
  BOOST_TEST_REQUIRE(folder != std::string::npos, r.err);
  BOOST_TEST_REQUIRE(unknown != std::string::npos, r.err);
  BOOST_TEST(folder < unknown, r.err);
}

// Issue 13, item 10: serve --once can run beside the service (to drain after
// a resubmit): it opens neither the API port nor the admin listener, so a
// port the running service holds is no obstacle.
BOOST_AUTO_TEST_CASE(serve_once_runs_beside_a_service_that_holds_the_ports) {
  DemoCopy demo;
  // "The running service": a socket listening on the admin port.
  const int held = ::socket(AF_INET, SOCK_STREAM, 0);
  BOOST_TEST_REQUIRE(held >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  BOOST_TEST_REQUIRE(::bind(held, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  BOOST_TEST_REQUIRE(::listen(held, 4) == 0);
  ::getsockname(held, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string port = std::to_string(ntohs(address.sin_port));
  std::string xml = test::readFile(demo.config());
  const std::string admin = "port=\"9464\"";
  BOOST_TEST_REQUIRE(xml.find(admin) != std::string::npos);
  xml.replace(xml.find(admin), admin.size(), "port=\"" + port + "\"");
  test::writeFile(demo.config(), xml);
  auto r = runRenkei({"serve", "--config", demo.config(), "--once"});
  ::close(held);
  BOOST_TEST(r.exitCode == 0, r.out << r.err);
  BOOST_TEST(r.err.find("serve --once: the admin listener not started (a running service may hold its port)") !=
                 std::string::npos,
             r.err);
  BOOST_TEST(r.out.find("2 files, 2 done") != std::string::npos, r.out);
}

// Issue 13, item 7: a fixed-width layout with bytes no field covers still
// works, but `read`, `map` and `check` say which bytes nobody reads.
BOOST_AUTO_TEST_CASE(fixed_width_gaps_are_warned_about_in_read_and_check) {
  const fs::path caseDir = source("tests/cases/formats/layout-fixed-gaps");
  const std::string want = "layout.xml:6: warning: <fixed>: 3 of 15 record bytes belong to no field (byte 10, "
                           "bytes 13–14, counted from 0)";
  auto read = runRenkei({"read", "--layout", (caseDir / "layout.xml").string(), "--in", (caseDir / "input.dat").string()});
  BOOST_TEST(read.exitCode == 0, read.err);
  BOOST_TEST(read.err.find(want) != std::string::npos, read.err);
  BOOST_TEST(read.out.find("\"郵便番号\":\"131016\"") != std::string::npos, read.out);

  test::TempDir dir;
  fs::copy_file(caseDir / "layout.xml", dir / "layout.xml");
  test::writeFile(dir / "map.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                   "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"m\" version=\"1\">\n"
                                   "  <source layout=\"layout.xml\"/>\n"
                                   "  <target record=\"t\" zone=\"lgwan\"/>\n"
                                   "  <field to=\"code\" from=\"郵便番号\"/>\n"
                                   "</mapping>\n");
  test::writeFile(dir / "config.xml", dropConfig(" mapping=\"map.xml\""));
  auto check = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(check.exitCode == 0, check.err);
  BOOST_TEST(check.err.find(want) != std::string::npos, check.err);
  auto map = runRenkei({"map", "--mapping", (dir / "map.xml").string(), "--in", (caseDir / "input.dat").string()});
  BOOST_TEST(map.err.find(want) != std::string::npos, map.err);
}

// Issue 13, item 9: people read times in the municipality's zone (default
// Asia/Tokyo, said in the output); a date given to --since is that zone's
// midnight; an unknown zone is a config error at its line.
BOOST_AUTO_TEST_CASE(operator_times_are_local_and_a_since_date_is_local_midnight) {
  DemoCopy demo;
  BOOST_REQUIRE(runRenkei({"serve", "--config", demo.config(), "--once"}).exitCode == 0);
  auto status = runRenkei({"status", "--config", demo.config()});
  BOOST_TEST(status.out.find("times in Asia/Tokyo (UTC+09:00)") != std::string::npos, status.out);
  BOOST_TEST(status.out.find(" +09:00  jumin-to-crm") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("Z  jumin-to-crm") == std::string::npos, status.out);
  auto replay = runRenkei({"replay", "--route", "jumin-to-crm", "--since", "2026-11-22", "--by", "t", "--config",
                           demo.config()});
  BOOST_TEST(replay.exitCode == 0, replay.err);
  BOOST_TEST(replay.out.find("since 2026-11-22 00:00:00 +09:00 queued again") != std::string::npos, replay.out);

  std::string xml = test::readFile(demo.config());
  const std::string root = "zone=\"lgwan\"";
  BOOST_TEST_REQUIRE(xml.find(root) != std::string::npos);
  xml.replace(xml.find(root), root.size(), "zone=\"lgwan\" time-zone=\"UTC\"");
  test::writeFile(demo.config(), xml);
  auto utc = runRenkei({"replay", "--route", "jumin-to-crm", "--since", "2026-11-22", "--by", "t", "--config",
                        demo.config()});
  BOOST_TEST(utc.out.find("since 2026-11-22 00:00:00 +00:00 queued again") != std::string::npos, utc.out);

  xml.replace(xml.find("time-zone=\"UTC\""), std::string("time-zone=\"UTC\"").size(), "time-zone=\"Asia/Tokio\"");
  test::writeFile(demo.config(), xml);
  auto check = runRenkei({"check", "--config", demo.config()});
  BOOST_TEST(check.exitCode == 2);
  BOOST_TEST(check.err.find("time-zone 'Asia/Tokio': no such zone") != std::string::npos, check.err);
}

// Issue 13, item 1: after a mapping fix, the same vendor file is taken in
// again by `renkei reprocess` (the duplicate message names the command); the
// source puts its kept copy back, the records go out as new batches, and the
// operators' log says who asked.
BOOST_AUTO_TEST_CASE(reprocess_takes_a_file_in_again_after_a_mapping_fix) {
  test::TempDir dir;
  test::writeFile(dir / "layout.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                      "<layout xmlns=\"urn:renkei:layout:1\" id=\"t\" record=\"t\">\n"
                                      "  <csv encoding=\"utf-8\" header=\"false\"/>\n"
                                      "  <field name=\"code\" pii=\"none\"/>\n"
                                      "  <field name=\"kind\" pii=\"none\"/>\n"
                                      "</layout>\n");
  auto mapping = [&](const std::string& from) {
    test::writeFile(dir / "map.xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                     "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"m\" version=\"1\">\n"
                                     "  <source layout=\"layout.xml\"/>\n"
                                     "  <target record=\"t\" zone=\"lgwan\"/>\n"
                                     "  <field to=\"code\" from=\"code\"/>\n"
                                     "  <field to=\"kind\" from=\"" + from + "\"/>\n"
                                     "</mapping>\n");
  };
  test::writeFile(dir / "config.xml", dropConfig(" mapping=\"map.xml\""));
  const std::string config = (dir / "config.xml").string();
  auto outputs = [&] {
    std::string all;
    for (const auto& e : fs::directory_iterator(dir / "out/out"))
      all += e.path().filename().string() + ":" + test::readFile(e.path()) + "\n";
    return all;
  };
  mapping("code");  // the mistake: kind read from the wrong column
  const std::string content = "1,A\n2,B\n";
  test::writeFile(dir / "in/in/export.csv", content);
  BOOST_REQUIRE(runRenkei({"serve", "--config", config, "--once"}).exitCode == 0);
  BOOST_TEST(outputs().find("\"kind\":\"A\"") == std::string::npos, outputs());

  mapping("kind");  // fixed; the vendor file dropped again is a duplicate
  test::writeFile(dir / "in/in/export.csv", content);
  auto again = runRenkei({"serve", "--config", config, "--once"});
  BOOST_TEST(again.exitCode == 0, again.out << again.err);
  BOOST_TEST(again.err.find("not processed again; to take it in again under the current config: renkei reprocess "
                            "--route r --file 'export.csv'") != std::string::npos,
             again.err);
  BOOST_TEST(outputs().find("\"kind\":\"A\"") == std::string::npos, outputs());

  auto unknown = runRenkei({"reprocess", "--config", config, "--route", "r", "--file", "exprt.csv"});
  BOOST_TEST(unknown.exitCode == 1);
  BOOST_TEST(unknown.err.find("has taken in no file named 'exprt.csv'; did you mean 'export.csv'?") !=
                 std::string::npos,
             unknown.err);
  auto asked = runRenkei({"reprocess", "--config", config, "--route", "r", "--file", "export.csv", "--by", "tanaka"});
  BOOST_TEST(asked.exitCode == 0, asked.err);
  BOOST_TEST(asked.out.find("will be taken in again under the current config, as generation 1") != std::string::npos,
             asked.out);
  BOOST_TEST(asked.out.find("in new batches (ids with '-g1-')") != std::string::npos, asked.out);

  auto redo = runRenkei({"serve", "--config", config, "--once"});
  BOOST_TEST(redo.exitCode == 0, redo.out << redo.err);
  BOOST_TEST(redo.err.find("put back from done/ into in/") != std::string::npos, redo.err);
  BOOST_TEST(redo.err.find("taking 'export.csv' in again as an operator asked") != std::string::npos, redo.err);
  BOOST_TEST(redo.out.find("1 files, 1 done") != std::string::npos, redo.out);
  const std::string out = outputs();
  BOOST_TEST(out.find("-g1-000000") != std::string::npos, out);
  BOOST_TEST(out.find("\"kind\":\"A\"") != std::string::npos, out);
  BOOST_TEST(fs::is_empty(dir / "in/in"));

  // Asked once, done once: the next run takes nothing in.
  auto quiet = runRenkei({"serve", "--config", config, "--once"});
  BOOST_TEST(quiet.out.find("0 files") != std::string::npos, quiet.out);
  auto status = runRenkei({"status", "--config", config});
  BOOST_TEST(status.out.find("tanaka  reprocess: route r: 'export.csv'") != std::string::npos, status.out);
}

// Issue 13, item 3: an old error keeps its own time after a resubmit, and a
// dead letter resubmitted and delivered while the service runs is no longer
// a current problem in the shutdown summary (nor in its exit status).
BOOST_AUTO_TEST_CASE(a_resubmitted_and_delivered_dead_letter_is_no_longer_a_problem) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml", dropConfig("", "  <pipeline poll-interval=\"200ms\" max-attempts=\"1\"/>\n", "<create-directories>false</create-directories>"));
  const std::string config = (dir / "config.xml").string();
  fs::create_directories(dir / "out");  // but not out/tmp: every delivery fails at once
  test::writeFile(dir / "in/in/lines.txt", "a\nb\n");
  auto first = runRenkei({"serve", "--config", config, "--once"});
  BOOST_TEST(first.exitCode == 1, first.out << first.err);
  BOOST_TEST(first.out.find("problem: batch r-lines-") != std::string::npos, first.out);
  auto failed = runRenkei({"status", "--config", config});
  const std::size_t at = failed.out.find("    last error ");
  BOOST_TEST_REQUIRE(at != std::string::npos, failed.out);
  const std::string errorTime = failed.out.substr(at + 15, 25);  // "2026-12-01 07:30:12 +09:00"

  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  BOOST_REQUIRE(runRenkei({"deadletters", "resubmit", "--all", "--by", "t", "--config", config}).exitCode == 0);
  auto waiting = runRenkei({"status", "--config", config});
  BOOST_TEST(waiting.exitCode == 0, waiting.out);  // no dead letter now: pending again
  BOOST_TEST(waiting.out.find("    last error " + errorTime) != std::string::npos,
             "the error's own time " << errorTime << " in:\n" << waiting.out);

  // Dead again under a running service; then fixed and resubmitted while it runs.
  auto child = test::spawn({test::renkeiBinary(), "serve", "--config", config}, dir / "serve");
  auto waitUntil = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 150 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return done();
  };
  BOOST_TEST_REQUIRE(waitUntil([&] { return runRenkei({"status", "--config", config}).exitCode == 3; }));
  fs::create_directories(dir / "out/tmp");
  fs::create_directories(dir / "out/out");
  BOOST_REQUIRE(runRenkei({"deadletters", "resubmit", "--all", "--by", "t", "--config", config}).exitCode == 0);
  BOOST_TEST_REQUIRE(waitUntil([&] { return !test::listFiles(dir / "out/out").empty(); }));
  ::kill(child.pid, SIGTERM);
  auto served = child.wait();
  BOOST_TEST(served.exitCode == 0, served.out << served.err);
  BOOST_TEST(served.out.find("    resolved: batch r-lines-") != std::string::npos, served.out);
  BOOST_TEST(served.out.find("resubmitted and delivered since") != std::string::npos, served.out);
  BOOST_TEST(served.out.find("    problem: batch") == std::string::npos, served.out);
  BOOST_TEST(served.out.find("1 dead letters resubmitted and delivered since") != std::string::npos, served.out);
  auto after = runRenkei({"status", "--config", config});
  BOOST_TEST(after.exitCode == 0, after.out);
  BOOST_TEST(after.out.find("last error") == std::string::npos, after.out);
}

// Issue 13, item 8: warnings say what they are: the summaries break them
// down by kind, and a warnings file names record, field and kind (never a
// value) — for serve (beside the rejects), map and read.
BOOST_AUTO_TEST_CASE(warnings_are_broken_down_and_listed_by_record_field_and_kind) {
  const fs::path caseDir = source("tests/cases/mapping/warnings-every-kind");
  test::TempDir dir;
  for (const char* f : {"layout.xml", "mapping.xml"}) fs::copy_file(caseDir / f, dir / f);
  test::writeFile(dir / "config.xml", dropConfig(" mapping=\"mapping.xml\""));
  fs::create_directories(dir / "in/in");
  fs::copy_file(caseDir / "input.csv", dir / "in/in/people.csv");
  auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(r.exitCode == 0, r.out << r.err);
  BOOST_TEST(r.out.find("3 warnings (1 unmapped 外字, 1 failed optional transform, 1 warn check) (by record: "
                        "rejects/<file>.warnings.jsonl)") != std::string::npos,
             r.out);
  std::vector<fs::path> kept;
  for (const auto& e : fs::directory_iterator(dir / "in/rejects")) kept.push_back(e.path());
  BOOST_TEST_REQUIRE(kept.size() == 1u);
  BOOST_TEST(kept[0].filename().string().find("people.csv.") == 0u);
  BOOST_TEST(kept[0].filename().string().find(".warnings.jsonl") != std::string::npos);
  BOOST_TEST(test::readFile(kept[0]) == test::readFile(caseDir / "expected-warnings.jsonl"));
  BOOST_TEST(test::readFile(kept[0]).find("花子") == std::string::npos);

  auto map = runRenkei({"map", "--mapping", (caseDir / "mapping.xml").string(), "--in",
                        (caseDir / "input.csv").string(), "--out", (dir / "m.jsonl").string(), "--warnings",
                        (dir / "m-warnings.jsonl").string()});
  BOOST_TEST(map.exitCode == 0, map.err);
  BOOST_TEST(map.err.find("3 warnings (1 unmapped 外字, 1 failed optional transform, 1 warn check)") !=
                 std::string::npos,
             map.err);
  BOOST_TEST(test::readFile(dir / "m-warnings.jsonl") == test::readFile(caseDir / "expected-warnings.jsonl"));

  auto read = runRenkei({"read", "--layout", (caseDir / "layout.xml").string(), "--in",
                         (caseDir / "input.csv").string(), "--out", (dir / "r.jsonl").string(), "--warnings",
                         (dir / "r-warnings.jsonl").string()});
  BOOST_TEST(read.exitCode == 0, read.err);
  BOOST_TEST(read.err.find("1 records with warnings") != std::string::npos, read.err);
  BOOST_TEST(test::readFile(dir / "r-warnings.jsonl") ==
             "{\"record\":1,\"offset\":0,\"warnings\":[{\"kind\":\"unmapped-gaiji\",\"field\":\"name\"}]}\n");
}

// Issue 13, item 11: a file route swaps CSV for fixed-width with one
// attribute: layout="…" on the route; the mapping and its code tables stay.
BOOST_AUTO_TEST_CASE(a_route_names_the_layout_so_the_mapping_serves_both_formats) {
  test::TempDir dir;
  auto config = [&](const std::string& layout) {
    test::writeFile(dir / "config.xml",
                    dropConfig(" mapping=\"" + source("mappings/resident-to-crm.xml").string() + "\"" + layout));
  };
  auto take = [&](const char* sample) {
    fs::create_directories(dir / "in/in");
    fs::create_directories(dir / "out/out");
    const auto before = test::listFiles(dir / "out/out");
    fs::copy_file(source(std::string("config/samples/jumin/") + sample), dir / "in/in" / sample);
    auto r = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
    BOOST_TEST(r.exitCode == 0, r.out << r.err);
    std::string all;
    for (const auto& f : test::listFiles(dir / "out/out"))
      if (std::find(before.begin(), before.end(), f) == before.end()) all += test::readFile(dir / "out/out" / f);
    return all;
  };
  config("");
  const std::string csv = take("JUMIN_20261101_FULL.csv");
  config(" layout=\"" + source("mappings/layouts/jumin-fixed.xml").string() + "\"");
  BOOST_TEST(runRenkei({"check", "--config", (dir / "config.xml").string()}).exitCode == 0);
  const std::string fixed = take("JUMIN_20261101_FULL.dat");
  BOOST_TEST(test::countLines(csv) == 395u);
  BOOST_TEST((csv == fixed), "the fixed-width export mapped differently from the CSV one");
}

// Issue 14 (the sealed visit token, in part): keygen writes the pair with the
// private half readable by its owner only and prints the key id, never key
// material; inspect reads a token's header without any key.
BOOST_AUTO_TEST_CASE(token_keygen_and_inspect) {
  test::TempDir dir;
  auto gen = runRenkei({"token", "keygen", "--out", (dir / "keys").string()});
  BOOST_TEST_REQUIRE(gen.exitCode == 0, gen.err);
  BOOST_TEST(gen.out.find("BEGIN") == std::string::npos);
  const std::string id = gen.out.substr(7, 8);  // "key id XXXXXXXX"
  const fs::path priv = dir / "keys" / ("token-" + id + ".key"), pub = dir / "keys" / ("token-" + id + ".pub");
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(priv.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 077) == 0u);
  const auto key = seal::PrivateKey::fromFile(priv.string());
  BOOST_TEST(key.publicKey().id() == id);
  BOOST_TEST(seal::PublicKey::fromFile(pub.string()).id() == id);
  // A second keygen into the same folder never overwrites a key.
  BOOST_TEST(runRenkei({"token", "keygen", "--out", (dir / "keys").string()}).exitCode == 0);
  BOOST_TEST(test::listFiles(dir / "keys").size() == 4u);

  const std::string text = token::make(key.publicKey(), "{\"name\":\"佐藤　大輔\"}", 1'900'000'000);
  auto shown = runRenkei({"token", "inspect", "--text", text});
  BOOST_TEST(shown.exitCode == 0, shown.err);
  BOOST_TEST(shown.out.find("version 1, key id " + id + ", expires 2030-03-18 02:47:00 +09:00") != std::string::npos, shown.out);
  BOOST_TEST(shown.out.find("+09:00") != std::string::npos, shown.out);
  auto bad = runRenkei({"token", "inspect", "--text", "RK9:" + text.substr(4)});
  BOOST_TEST(bad.exitCode == 1);
  BOOST_TEST(bad.out.find("refused: wrong-version") != std::string::npos, bad.out);
  auto typo = runRenkei({"token", "inspcet", "--text", text});
  BOOST_TEST(typo.exitCode == 2);
  BOOST_TEST(typo.err.find("did you mean 'inspect'?") != std::string::npos, typo.err);
}

// Issue 14 (in part): a token's QR code, as PNG and as SVG, read back by a
// real decoder (zbarimg), yields exactly the token text.
BOOST_AUTO_TEST_CASE(token_qr_codes_read_back_with_a_real_decoder) {
  test::TempDir dir;
  auto gen = runRenkei({"token", "keygen", "--out", dir.path().string()});
  BOOST_REQUIRE(gen.exitCode == 0);
  const std::string id = gen.out.substr(7, 8);
  test::writeFile(dir / "payload.json",
                  "{\"event\":\"転入\",\"move\":\"2026-12-01\",\"members\":[{\"name\":\"佐藤　大輔\",\"birth\":"
                  "\"1960-05-17\",\"sex\":\"1\"},{\"name\":\"佐藤　恵子\",\"birth\":\"1962-09-21\",\"sex\":\"2\"}]}");
  auto made = runRenkei({"token", "make", "--public-key", (dir / ("token-" + id + ".pub")).string(), "--payload",
                         (dir / "payload.json").string(), "--expires", "1d", "--png", (dir / "t.png").string(),
                         "--svg", (dir / "t.svg").string()});
  BOOST_TEST_REQUIRE(made.exitCode == 0, made.err);
  std::string text = made.out;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  BOOST_TEST(text.rfind("RK1:" + id + ":", 0) == 0u, text);
  BOOST_TEST(made.err.find("QR version ") != std::string::npos, made.err);
  BOOST_TEST(made.out.find("佐藤") == std::string::npos);

  auto decode = [&](const fs::path& image) {
    auto z = test::run({"/usr/bin/zbarimg", "--raw", "-q", image.string()});
    BOOST_TEST(z.exitCode == 0, z.err);
    std::string out = z.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  };
  BOOST_TEST(decode(dir / "t.png") == text);
  // A payload larger than a token carries is refused by name, read no further than the limit.
  test::writeFile(dir / "huge.json", std::string(200000, ' '));
  auto huge = runRenkei({"token", "make", "--public-key", (dir / ("token-" + id + ".pub")).string(), "--payload",
                         (dir / "huge.json").string()});
  BOOST_TEST(huge.exitCode == 1);
  BOOST_TEST(huge.err.find("the payload has 65537 bytes; a token carries at most 65536") != std::string::npos,
             huge.err);
  // The SVG drawn to pixels module by module (no SVG renderer is needed to
  // prove its path is the same code), then decoded.
  const std::string draw =
      "import re, struct, sys, zlib\n"
      "svg = open(sys.argv[1]).read()\n"
      "side = int(re.search(r'viewBox=\"0 0 (\\d+) ', svg).group(1))\n"
      "dark = {(int(x), int(y)) for x, y in re.findall(r'M(\\d+) (\\d+)h1v1h-1z', svg)}\n"
      "s = 4\n"
      "raw = b''.join(b'\\0' + bytes(0 if (x // s, y // s) in dark else 255 for x in range(side * s))"
      " for y in range(side * s))\n"
      "def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))\n"
      "png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', side * s, side * s, 8, 0, 0, 0, 0))"
      " + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')\n"
      "open(sys.argv[2], 'wb').write(png)\n";
  test::writeFile(dir / "draw.py", draw);
  auto drawn = test::run({"/usr/bin/python3", (dir / "draw.py").string(), (dir / "t.svg").string(),
                          (dir / "svg.png").string()});
  BOOST_REQUIRE_MESSAGE(drawn.exitCode == 0, drawn.err);
  BOOST_TEST(decode(dir / "svg.png") == text);
}

// Issue 14 (in part): token keys are checked at their line: a missing or
// world-readable key file, and keys outside the LGWAN zone, are refused.
BOOST_AUTO_TEST_CASE(check_refuses_token_keys_that_cannot_be_used) {
  test::TempDir dir;
  const auto key = seal::PrivateKey::generate();
  test::writeFile(dir / "open.key", key.pem());
  ::chmod((dir / "open.key").c_str(), 0644);
  auto config = [&](const std::string& zone, const std::string& keys) {
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"t\" zone=\"" + zone + "\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <module id=\"crm\" plugin=\"crm\"><token-keys>" + keys + "</token-keys></module>\n"
                    "</renkei>\n");
    return runRenkei({"check", "--config", (dir / "config.xml").string()});
  };
  auto missing = config("lgwan", "missing.key");
  BOOST_TEST(missing.exitCode == 2);
  BOOST_TEST(missing.err.find("config.xml:4: module 'crm' (crm): token-keys: key file '") != std::string::npos,
             missing.err);
  BOOST_TEST(missing.err.find("missing.key' does not exist") != std::string::npos, missing.err);
  auto readable = config("lgwan", "open.key");
  BOOST_TEST(readable.exitCode == 2);
  BOOST_TEST(readable.err.find("may be read by others (mode 644); chmod 600 it") != std::string::npos, readable.err);
  ::chmod((dir / "open.key").c_str(), 0600);
  BOOST_TEST(config("lgwan", "open.key").exitCode == 0);
  auto internet = config("internet", "open.key");
  BOOST_TEST(internet.exitCode == 2);
  BOOST_TEST(internet.err.find("tokens are opened in the LGWAN zone only") != std::string::npos, internet.err);
}

// Review of issue 13: operator output names files as the logs do — a name
// holding a newline or an escape sequence cannot start a line of its own or
// rewrite the terminal in `status` or `reprocess`.
BOOST_AUTO_TEST_CASE(operator_output_escapes_file_names) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml", dropConfig());
  const std::string name = "x\nproblem: forged\x1b[2J.txt";
  test::writeFile(dir / "in/in" / name, "a\n");
  BOOST_REQUIRE(runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"}).exitCode == 0);
  auto status = runRenkei({"status", "--config", (dir / "config.xml").string()});
  BOOST_TEST(status.exitCode == 0, status.out);
  BOOST_TEST(status.out.find("'x\\nproblem: forged\\x1b[2J.txt'  done") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("\nproblem: forged") == std::string::npos, status.out);
  BOOST_TEST(status.out.find('\x1b') == std::string::npos);
  auto again = runRenkei({"reprocess", "--config", (dir / "config.xml").string(), "--route", "r", "--file", name});
  BOOST_TEST(again.exitCode == 0, again.err);
  BOOST_TEST(again.out.find("reprocess: 'x\\nproblem: forged\\x1b[2J.txt'") != std::string::npos, again.out);
}

// Personal data at rest is readable by renkei alone whatever the umask it was
// started with: the store (and its WAL), its folder, sink files; a store
// left open to others is refused by check and made private by serve.
BOOST_AUTO_TEST_CASE(what_renkei_writes_is_readable_by_renkei_alone_whatever_the_umask) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml", std::string(dropConfig()).replace(dropConfig().find("path=\"renkei.db\""),
                                                                         16, "path=\"var/renkei.db\""));
  fs::create_directories(dir / "in/in");
  test::writeFile(dir / "in/in/a.txt", "試験 一郎\n試験 二郎\n");
  // What a sink writer killed mid-write left in tmp/ (records, names) is
  // removed when the sink starts; a fresh temporary of a live writer is not.
  fs::create_directories(dir / "out/tmp");
  test::writeFile(dir / "out/tmp/r-a-000000.jsonl.999999999-42.tmp", "{\"name\":\"試験 一郎\"}\n");
  fs::last_write_time(dir / "out/tmp/r-a-000000.jsonl.999999999-42.tmp",
                      fs::file_time_type::clock::now() - std::chrono::hours(1));
  test::writeFile(dir / ("out/tmp/r-b-000000.jsonl." + std::to_string(::getpid()) + "-7.tmp"), "x");
  const mode_t old = ::umask(0);  // the child inherits it
  auto served = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  ::umask(old);
  BOOST_TEST_REQUIRE(served.exitCode == 0, served.out << served.err);
  auto mode = [](const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? st.st_mode & 07777 : 07777;
  };
  BOOST_TEST(mode(dir / "var/renkei.db") == 0600u);
  BOOST_TEST(mode(dir / "var") == 0700u);
  if (fs::exists(dir / "var/renkei.db-wal")) BOOST_TEST(mode(dir / "var/renkei.db-wal") == 0600u);
  const auto outs = test::listFiles(dir / "out/out");
  BOOST_TEST_REQUIRE(outs.size() == 1u);
  BOOST_TEST(mode(dir / "out/out" / outs.front()) == 0600u);
  BOOST_TEST(!fs::exists(dir / "out/tmp/r-a-000000.jsonl.999999999-42.tmp"));
  BOOST_TEST(fs::exists(dir / ("out/tmp/r-b-000000.jsonl." + std::to_string(::getpid()) + "-7.tmp")));

  ::chmod((dir / "var/renkei.db").c_str(), 0644);
  auto check = runRenkei({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(check.exitCode == 2);
  BOOST_TEST(check.err.find("config.xml:3: store: '" + (dir / "var/renkei.db").string() +
                            "' is open to other users (mode 0644): it must be readable by renkei alone; chmod 600") !=
                 std::string::npos,
             check.err);
  // serve makes a store it owns private before its checks (an older renkei
  // made them 0644), and says so
  auto again = runRenkei({"serve", "--config", (dir / "config.xml").string(), "--once"});
  BOOST_TEST(again.exitCode == 0, again.err);
  BOOST_TEST(again.err.find("was open to other users (mode 0644): made readable by renkei alone") != std::string::npos,
             again.err);
  BOOST_TEST(mode(dir / "var/renkei.db") == 0600u);
}

// The clients: --help answers; a wrong --ca, --cert or --key path is named
// (OpenSSL's own error names none); a port that is not one is a usage error.
BOOST_AUTO_TEST_CASE(the_clients_answer_help_and_name_the_file_they_cannot_use) {
  const fs::path bin = fs::path(test::renkeiBinary()).parent_path();
  test::TempDir dir;
  auto certs = test::run({source("scripts/make-certs").string(), (dir / "tls").string(), "window-demo"});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  const std::string t = (dir / "tls").string();
  for (const char* client : {"renkei-window-client", "renkei-review-client"}) {
    auto help = test::run({(bin / client).string(), "--help"});
    BOOST_TEST(help.exitCode == 0, client);
    BOOST_TEST(help.out.find("usage: ") != std::string::npos, help.out);
    auto ca = test::run({(bin / client).string(), "--ca", t + "/no-such-ca.crt", "--cert", t + "/window-demo.crt",
                         "--key", t + "/window-demo.key", "list"});
    BOOST_TEST(ca.exitCode == 1, client);
    BOOST_TEST(ca.err.find("--ca '" + t + "/no-such-ca.crt': no such file") != std::string::npos, ca.err);
    auto key = test::run({(bin / client).string(), "--ca", t + "/ca.crt", "--cert", t + "/window-demo.crt", "--key",
                          t + "/ca.crt", "list"});
    BOOST_TEST(key.exitCode == 1, client);
    BOOST_TEST(key.err.find("--key '" + t + "/ca.crt': not usable as a private key") != std::string::npos, key.err);
    auto port = test::run({(bin / client).string(), "--port", "99999", "--ca", t + "/ca.crt", "--cert",
                           t + "/window-demo.crt", "--key", t + "/window-demo.key", "list"});
    BOOST_TEST(port.exitCode == 2, client);
  }
}

// A failed file stayed a problem for 24 h after its fix: a corrected file of
// the same name taken in since shows it resolved, and an operator can
// acknowledge one (`status --ack`), recorded with who.
BOOST_AUTO_TEST_CASE(a_failed_file_is_resolved_by_its_fix_or_acknowledged) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"t\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"in\" plugin=\"file\"><directory>in</directory><settle>0s</settle></connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"r\" from=\"in\" to=\"out\" mapping=\"" + source("mappings/resident-to-crm.xml").string() +
                  "\"/>\n"
                  "</renkei>\n");
  const std::string config = (dir / "config.xml").string();
  fs::create_directories(dir / "in/in");
  test::writeFile(dir / "in/in/a.txt", "not,the,header\r\n");  // not the layout's header: error/
  test::writeFile(dir / "in/in/b.txt", "nor,this\r\n");
  runRenkei({"serve", "--config", config, "--once"});
  auto failed = runRenkei({"status", "--config", config});
  BOOST_TEST(failed.exitCode == 4, failed.out);
  // The vendor sends a.txt again, complete.
  fs::copy_file(source("config/samples/jumin/JUMIN_20261101_FULL.csv"), dir / "in/in/a.txt");
  BOOST_TEST(runRenkei({"serve", "--config", config, "--once"}).exitCode == 0);
  auto fixed = runRenkei({"status", "--config", config});
  BOOST_TEST(fixed.exitCode == 4, fixed.out);  // b.txt still
  BOOST_TEST(fixed.out.find("resolved: route r: 'a.txt' went to error/ at ") != std::string::npos, fixed.out);
  BOOST_TEST(fixed.out.find("a corrected file of the same name was taken in at") != std::string::npos, fixed.out);
  BOOST_TEST(fixed.out.find("problem: route r: 'b.txt'") != std::string::npos, fixed.out);
  // b.txt will not come back: acknowledged by name, with who.
  auto ack = runRenkei({"status", "--config", config, "--ack", "b.txt", "--by", "係長"});
  BOOST_TEST(ack.exitCode == 0, ack.out << ack.err);
  BOOST_TEST(ack.out.find("acknowledged now by 係長") != std::string::npos, ack.out);
  auto after = runRenkei({"status", "--config", config});
  BOOST_TEST(after.exitCode == 0, after.out);
  BOOST_TEST(after.out.find("'b.txt' went to error/ at ") != std::string::npos, after.out);
  BOOST_TEST(after.out.find("acknowledged by 係長 at ") != std::string::npos, after.out);
  BOOST_TEST(after.out.find("係長  acknowledged: route r: 'b.txt'") != std::string::npos, after.out);
}

// Who acts (--by) and why (--reason) go line by line into the operators'
// log, the store and the bridge's note files: a line break there once forged
// a note line ("by: 市長"). One line of UTF-8, bounded, or the command stops.
BOOST_AUTO_TEST_CASE(an_operator_name_cannot_add_lines_to_a_log_or_note) {
  DemoCopy demo;
  for (const std::string& bad : {std::string("係長\nby: 市長"), std::string("a\rb"), std::string(101, 'a'),
                                std::string("\xff\xfe"), std::string()}) {
    auto r = runRenkei({"replay", "--route", "jumin-to-crm", "--since", "1h", "--by", bad, "--config", demo.config()});
    BOOST_TEST(r.exitCode == 2, r.err);
    BOOST_TEST(r.err.find("--by: one line of UTF-8 text of 1 to 100 bytes") != std::string::npos, r.err);
  }
  auto reason = runRenkei({"bridge", "reject", "--bundle", "x", "--reason", "ok\nby: 市長", "--config", demo.config()});
  BOOST_TEST(reason.exitCode == 2, reason.err);
  BOOST_TEST(reason.err.find("--reason: one line of UTF-8 text of 1 to 500 bytes") != std::string::npos, reason.err);
  BOOST_REQUIRE(runRenkei({"serve", "--config", demo.config(), "--once"}).exitCode == 0);
  auto fine = runRenkei({"replay", "--route", "jumin-to-crm", "--since", "1h", "--by", "係長 見本", "--config",
                         demo.config()});
  BOOST_TEST(fine.exitCode == 0, fine.err);
}

// Raw exports with 個人番号 on the LGWAN side are kept in done/ for a short
// time (7 days unless keep-done-for says otherwise), long enough to
// reprocess after a fix, then removed with a log line; `check` says what
// each source keeps and for how long. The host is run 8 days ahead of the
// machine's clock (libfaketime) to see the purge.
BOOST_AUTO_TEST_CASE(exports_with_mynumber_leave_done_after_their_retention) {
  DemoCopy demo;
  auto check = runRenkei({"check", "--config", demo.config()});
  BOOST_TEST(check.exitCode == 0, check.err);
  BOOST_TEST(check.out.find("connector 'jumin-in' keeps each file taken in under ") != std::string::npos, check.out);
  BOOST_TEST(check.out.find("done for 7d, then removes it: its files hold mynumber fields, which the lgwan zone "
                            "does not hold (keep-done-for sets how long)") != std::string::npos,
             check.out);
  BOOST_REQUIRE(runRenkei({"serve", "--config", demo.config(), "--once"}).exitCode == 0);
  const fs::path done = demo.dir / "var/exchange/jumin/done";
  const std::size_t kept = test::listFiles(done).size();
  BOOST_TEST_REQUIRE(kept >= 2u);
  // A day later (real time): still there.
  auto dayLater = test::run({"/usr/bin/faketime", "-f", "+1d", test::renkeiBinary(), "serve", "--once", "--config",
                             demo.config()},
                            {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  BOOST_TEST(dayLater.exitCode == 0, dayLater.err);
  BOOST_TEST(test::listFiles(done).size() == kept);
  auto weekLater = test::run({"/usr/bin/faketime", "-f", "+8d", test::renkeiBinary(), "serve", "--once", "--config",
                              demo.config()},
                             {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  BOOST_TEST(weekLater.exitCode == 0, weekLater.err);
  BOOST_TEST(test::listFiles(done).empty());
  BOOST_TEST(weekLater.err.find("connector jumin-in: " + std::to_string(kept) +
                                " file(s) in done/ taken in more than 7d ago removed (keep-done-for)") != std::string::npos,
             weekLater.err);
  // Set by the config: kept as long as it says.
  std::string xml = test::readFile(demo.config());
  xml.replace(xml.find("<directory>../var/exchange/jumin</directory>"),
              std::string("<directory>../var/exchange/jumin</directory>").size(),
              "<directory>../var/exchange/jumin</directory><keep-done-for>30d</keep-done-for>");
  test::writeFile(demo.config(), xml);
  check = runRenkei({"check", "--config", demo.config()});
  BOOST_TEST(check.out.find("done for 30d, then removes it: its files hold mynumber fields, which the lgwan zone "
                            "does not hold (keep-done-for)") != std::string::npos,
             check.out);
}

// A file refused before the host saw it (over max-file-size, a link) went
// to error/ with its reason and was in no status: now it is a problem
// (exit 4) until acknowledged, like a file that failed in intake.
BOOST_AUTO_TEST_CASE(a_file_refused_before_it_is_read_is_a_problem_until_acknowledged) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"t\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"in\" plugin=\"file\"><directory>in</directory><settle>0s</settle>"
                  "<max-file-size>1KiB</max-file-size></connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"r\" from=\"in\" to=\"out\"/>\n"
                  "</renkei>\n");
  const std::string config = (dir / "config.xml").string();
  fs::create_directories(dir / "in/in");
  test::writeFile(dir / "in/in/big.txt", std::string(4096, 'x') + "\n");
  test::writeFile(dir / "in/in/small.txt", "fine\n");
  fs::create_symlink("/etc/hostname", dir / "in/in/link.txt");
  runRenkei({"serve", "--config", config, "--once"});
  BOOST_TEST(fs::exists(dir / "in/error/big.txt"));
  auto status = runRenkei({"status", "--config", config});
  BOOST_TEST(status.exitCode == 4, status.out);
  BOOST_TEST(status.out.find("problem: connector in: 'big.txt' refused at ") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("larger than max-file-size (1024 bytes)") != std::string::npos, status.out);
  BOOST_TEST(status.out.find("problem: connector in: 'link.txt' refused at ") != std::string::npos, status.out);
  auto ack = runRenkei({"status", "--config", config, "--ack", "big.txt", "--by", "係長"});
  BOOST_TEST(ack.out.find("acknowledged now by 係長") != std::string::npos, ack.out);
  BOOST_TEST(ack.exitCode == 4, ack.out);  // link.txt still
  runRenkei({"status", "--config", config, "--ack", "all", "--by", "係長"});
  auto after = runRenkei({"status", "--config", config});
  BOOST_TEST(after.exitCode == 0, after.out);
  BOOST_TEST(after.out.find("resolved: connector in: 'big.txt' refused at ") != std::string::npos, after.out);
}

// A running host reads its config again on `renkei reload` (or SIGHUP): a
// config with problems leaves it running as it was, with the problems in its
// log; a good one is taken up after the item in hand, without a restart.
BOOST_AUTO_TEST_CASE(a_running_host_reads_its_config_again_on_reload) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml", dropConfig("", "<pipeline poll-interval=\"100ms\"/>\n"));
  const std::string config = (dir / "config.xml").string();
  auto noHost = runRenkei({"reload", "--config", config});
  BOOST_TEST(noHost.exitCode == 1);
  BOOST_TEST(noHost.err.find("no running 'renkei serve --config") != std::string::npos, noHost.err);
  fs::create_directories(dir / "in/in");
  test::Child host = test::spawn({test::renkeiBinary(), "serve", "--config", config}, dir / "serve",
                                 {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  test::writeFile(dir / "in/in/a.txt", "a\n");
  BOOST_REQUIRE(test::waitFor([&] { return !test::linesIn(dir / "out/out").empty(); }, 20));
  // A broken config: refused, the host goes on as it was.
  test::writeFile(dir / "config.xml", "<renkei");
  auto bad = runRenkei({"reload", "--config", config});
  BOOST_TEST(bad.exitCode == 0, bad.err);
  BOOST_TEST(test::waitFor([&] { return test::textOf(dir / "serve.err").find("reload: the config has problems; the running "
                                                                          "config stays as it is") != std::string::npos; },
                           10));
  test::writeFile(dir / "in/in/b.txt", "b\n");
  BOOST_TEST(test::waitFor([&] { return test::linesIn(dir / "out/out").size() == 2u; }, 20));
  // The fix: the sink writes elsewhere now.
  std::string fixed = dropConfig("", "<pipeline poll-interval=\"100ms\"/>\n");
  fixed.replace(fixed.find("<directory>out</directory>"), 26, "<directory>out2</directory>");
  test::writeFile(dir / "config.xml", fixed);
  auto good = runRenkei({"reload", "--config", config});
  BOOST_TEST(good.exitCode == 0, good.err);
  BOOST_TEST(good.out.find("asked to read its config again") != std::string::npos, good.out);
  BOOST_TEST(test::waitFor([&] { return test::textOf(dir / "serve.err").find("reload: serving with the new config") !=
                                        std::string::npos; },
                           20));
  test::writeFile(dir / "in/in/c.txt", "c\n");
  BOOST_TEST(test::waitFor([&] { return test::linesIn(dir / "out2/out").size() == 1u; }, 20), test::textOf(dir / "serve.err"));
  BOOST_TEST(test::linesIn(dir / "out/out").size() == 2u);
  ::kill(host.pid, SIGTERM);
  auto r = host.wait();
  BOOST_TEST(r.exitCode == 0, r.err);
}
