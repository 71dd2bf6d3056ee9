// Operators signing in to the console (the admin listener) with a real host:
// operators made by `renkei admin user`, one-time passwords, the change
// forced at the first sign-in, CSRF tokens, permissions per group, lock-out
// after failures with one answer for every failure, TOTP for administer,
// a code good once, sign-out, the idle time-out, the address allow-list,
// and every step in the audit trail.
#define BOOST_TEST_MODULE renkei_console
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <chrono>
#include <csignal>
#include <regex>
#include <thread>

#include "operators.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> pluginEnv() {
  return {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR") + ":" + test::env("RENKEI_TEST_PLUGIN_DIR")}};
}

test::ProcessResult runRenkei(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, pluginEnv());
}

struct Reply {
  int status = 0;
  std::string body, setCookie;
  Poco::JSON::Object::Ptr json() const {
    try {
      return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    } catch (const std::exception&) {
      return new Poco::JSON::Object;
    }
  }
};

struct Client {
  explicit Client(int p, std::string address = "127.0.0.1") : port(p), from(std::move(address)) {}
  int port = 0;
  std::string from;
  std::string cookie, csrf;
  Reply call(const std::string& method, const std::string& path, const std::string& body = {},
             bool withCsrf = true) {
    // From `from` (127.0.0.2 is loopback too): bound before connecting.
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress::IPv4);
    socket.impl()->bind(Poco::Net::SocketAddress(from, 0), true);
    socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    Poco::Net::HTTPClientSession session(socket);
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!cookie.empty()) request.set("Cookie", "renkei_session=" + cookie);
    if (withCsrf && !csrf.empty()) request.set("X-CSRF-Token", csrf);
    if (!body.empty() || method == "POST") {
      request.setContentType("application/json");
      request.setContentLength(static_cast<std::streamsize>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply r;
    r.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, r.body);
    r.setCookie = response.get("Set-Cookie", "");
    return r;
  }
  Reply login(const std::string& user, const std::string& password, const std::string& code = {}) {
    Reply r = call("POST", "/api/v1/login",
                   "{\"user\":\"" + user + "\",\"password\":\"" + password + "\",\"code\":\"" + code + "\"}");
    if (r.status == 200) {
      const std::string c = r.setCookie.substr(r.setCookie.find('=') + 1);
      cookie = c.substr(0, c.find(';'));
      csrf = r.json()->getValue<std::string>("csrf");
    }
    return r;
  }
};

/// The one-time password `renkei admin user add|passwd` printed.
std::string oneTimePassword(const std::string& out) {
  std::smatch m;
  BOOST_REQUIRE(std::regex_search(out, m, std::regex("password[^:]*: ([A-Za-z0-9]{20})")));
  return m[1];
}

struct Host {
  test::TempDir dir;
  test::Child child;
  int port = 0;
  explicit Host(const std::string& adminAttributes = {}) {
    fs::create_directories(dir / "secrets");
    test::writeFile(dir / "secrets/audit.key", std::string(64, 'z') + "\n");
    ::chmod((dir / "secrets/audit.key").c_str(), 0600);
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"city\" zone=\"lgwan\">\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  <audit key-file=\"secrets/audit.key\" anchor-file=\"audit-anchors.txt\"/>\n"
                    "  <calendar file=\"" + (fs::path(test::env("RENKEI_SOURCE_DIR")) / "config/calendar/demo-city.xml").string() + "\"/>\n"
                    "  <admin address=\"127.0.0.1\" port=\"0\" max-failures=\"3\" session-idle=\"10s\"" +
                        adminAttributes +
                        ">\n"
                        "    <group name=\"staff\" permissions=\"view\"/>\n"
                        "    <group name=\"it\" permissions=\"view operate administer\"/>\n"
                        "    <group name=\"ops\" permissions=\"view operate\"/>\n"
                        "  </admin>\n"
                        "  <connector id=\"gen\" plugin=\"fixture-emitter\"><directory>gen</directory><units>1</units>"
                        "<records>1</records></connector>\n"
                        // records no route takes: held, for the console to resubmit
                        "  <connector id=\"stray\" plugin=\"fixture-emitter\"><directory>stray</directory><units>1</units>"
                        "<records>2</records><record-type>test.unrouted</record-type></connector>\n"
                        "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                        "  <connector id=\"drop\" plugin=\"file\"><directory>drop</directory><settle>0s</settle></connector>\n"
                        "  <route id=\"items\" from=\"gen\" records=\"test.item\" to=\"out\"/>\n"
                        "  <route id=\"files\" from=\"drop\" to=\"out\"/>\n"
                        "</renkei>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  void start() {
    child = test::spawn({test::renkeiBinary(), "serve", "--config", config()}, dir / "serve", pluginEnv());
    port = test::adminPort(child, "http");
    BOOST_REQUIRE_MESSAGE(port != 0, test::readFile(child.err));
  }
  ~Host() {
    if (child.pid > 0) {
      ::kill(child.pid, SIGTERM);
      child.wait();
    }
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(no_operator_exists_until_one_is_made_and_the_first_password_is_changed) {
  Host h;
  // Nobody can sign in: there is no default operator.
  h.start();
  Client c(h.port);
  BOOST_TEST(c.login("admin", "admin").status == 401);
  BOOST_TEST(c.call("GET", "/plugins/gen/units").status == 401);
  BOOST_TEST(c.call("GET", "/plugins").status == 401);
  BOOST_TEST(c.call("GET", "/health").status == 200);  // monitoring needs no sign-in

  auto add = runRenkei({"admin", "user", "add", "--config", h.config(), "--user", "tanaka", "--groups", "staff"});
  BOOST_TEST_REQUIRE(add.exitCode == 0, add.err);
  const std::string once = oneTimePassword(add.out);
  BOOST_TEST(runRenkei({"admin", "user", "add", "--config", h.config(), "--user", "tanaka", "--groups", "staff"}).exitCode == 1);
  BOOST_TEST(runRenkei({"admin", "user", "add", "--config", h.config(), "--user", "x", "--groups", "nogroup"}).exitCode == 2);

  Reply in = c.login("tanaka", once);
  BOOST_TEST_REQUIRE(in.status == 200, in.body);
  BOOST_TEST(in.json()->getValue<bool>("must_change_password"));
  BOOST_TEST(in.json()->isNull("last_login"));
  BOOST_TEST(in.setCookie.find("HttpOnly") != std::string::npos, in.setCookie);
  BOOST_TEST(in.setCookie.find("SameSite=Strict") != std::string::npos, in.setCookie);
  // Nothing but the password change until it is changed.
  BOOST_TEST(c.call("GET", "/plugins/gen/units").status == 403);
  BOOST_TEST(c.call("POST", "/plugins/gen/reset").status == 403);  // not a change either, even with the token
  BOOST_TEST(c.call("POST", "/api/v1/password", "{\"old\":\"" + once + "\",\"new\":\"a new long password\"}", false)
                 .status == 403);  // no CSRF token
  const std::string csrf = c.csrf;
  c.csrf = std::string(64, '0');
  BOOST_TEST(c.call("POST", "/api/v1/password", "{\"old\":\"" + once + "\",\"new\":\"a new long password\"}").status ==
             403);  // a wrong one
  c.csrf = csrf;
  BOOST_TEST(c.call("POST", "/api/v1/password", "{\"old\":\"" + once + "\",\"new\":\"short\"}").status == 400);
  BOOST_TEST(c.call("POST", "/api/v1/password", "{\"old\":\"" + once + "\",\"new\":\"a new long password\"}").status == 200);
  // Now the pages its group permits, and not the others.
  BOOST_TEST(c.call("GET", "/plugins/gen/units").status == 200);
  BOOST_TEST(c.call("GET", "/plugins/gen/reset").status == 403);
  // A change to a plugin's page: POST, with the CSRF token and the page's
  // permission (operate); a view page takes GET only.
  BOOST_TEST(c.call("POST", "/plugins/gen/reset").status == 403);
  BOOST_TEST(c.call("POST", "/plugins/gen/reset", {}, false).status == 403);
  BOOST_TEST(c.call("POST", "/plugins/gen/units").status == 405);
  BOOST_TEST(c.call("GET", "/api/v1/me").body.find("\"user\":\"tanaka\"") != std::string::npos);
  // The municipal calendar, for any year (the years a test can reach).
  for (int year : {2026, 2027, 2030}) {
    const std::string days = c.call("GET", "/api/v1/calendar?year=" + std::to_string(year)).body;
    BOOST_TEST(days.find("{\"date\":\"" + std::to_string(year) + "-01-01\",\"kind\":\"holiday\",\"name\":\"元日\"") !=
                   std::string::npos,
               days.substr(0, 300));
    BOOST_TEST(days.find("\"" + std::to_string(year) + "-12-31\",\"kind\":\"year-end\"") != std::string::npos,
               days.substr(days.size() > 300 ? days.size() - 300 : 0));
  }
  BOOST_TEST(c.call("GET", "/api/v1/calendar?year=20x6").status == 400);
  // Signed out: the cookie is worth nothing, even with its token.
  BOOST_TEST(c.call("POST", "/api/v1/logout").status == 200);
  BOOST_TEST(c.call("GET", "/plugins/gen/units").status == 401);
  BOOST_TEST(c.call("POST", "/api/v1/logout").status == 401);
  // The next sign-in shows the last one.
  Client again(h.port);
  Reply next = again.login("tanaka", "a new long password");
  BOOST_TEST_REQUIRE(next.status == 200, next.body);
  BOOST_TEST(!next.json()->isNull("last_login"));
  BOOST_TEST(next.json()->getValue<std::string>("last_login_from") == "127.0.0.1");
  // An idle session ends (session-idle 10s).
  std::this_thread::sleep_for(std::chrono::seconds(11));
  BOOST_TEST(again.call("GET", "/api/v1/me").status == 401);

  ::kill(h.child.pid, SIGTERM);
  h.child.wait();
  h.child.pid = -1;
  // Every step in the audit trail, which verifies.
  BOOST_TEST(runRenkei({"audit", "verify", "--config", h.config()}).exitCode == 0);
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  auto csv = runRenkei({"audit", "export", "--config", h.config(), "--fiscal-year",
                     std::to_string(local.tm_year + 1900 - (local.tm_mon < 3 ? 1 : 0))});
  for (const char* line : {"\"admin user add\"", "\"console sign-in\",\"\",\"\",\"\",\"\",\"refused: failed\"",
                           "\"console password change\",\"\",\"\",\"\",\"\",\"ok\"", "\"console sign-out\"",
                           "\"console session\",\"\",\"\",\"\",\"\",\"ended: idle\""})
    BOOST_TEST(csv.out.find(line) != std::string::npos, line << " in\n" << csv.out);
}

BOOST_AUTO_TEST_CASE(failures_lock_out_with_one_answer_for_every_failure) {
  Host h;
  auto add = runRenkei({"admin", "user", "add", "--config", h.config(), "--user", "suzuki", "--groups", "staff"});
  BOOST_TEST_REQUIRE(add.exitCode == 0, add.err);
  const std::string once = oneTimePassword(add.out);
  h.start();
  Client c(h.port);
  const Reply unknown = c.login("nobody", "whatever");
  const Reply wrong = c.login("suzuki", "wrong");
  BOOST_TEST(unknown.status == 401);
  BOOST_TEST(wrong.status == 401);
  BOOST_TEST(unknown.body == wrong.body);  // nothing tells which ids exist
  // Timing tells nothing either: an unknown id costs the same scrypt.
  auto timed = [&](const std::string& user) {
    const auto t0 = std::chrono::steady_clock::now();
    c.login(user, "wrong-again");
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const double known = timed("suzuki"), none = timed("nobody2");
  BOOST_TEST_MESSAGE("wrong password for a known id " << known * 1000 << " ms, an unknown id " << none * 1000 << " ms");
  BOOST_TEST(none > known / 3);
  // Three failures (max-failures="3"): locked out, the right password too.
  BOOST_TEST(c.login("suzuki", "wrong, the third time").status == 401);
  BOOST_TEST(c.login("suzuki", once).status == 401);
  BOOST_TEST(c.login("suzuki", once).body == wrong.body);
  // Injection in every field is just a failed sign-in.
  for (const char* odd : {"' OR '1'='1", "<script>alert(1)</script>", "../../etc/passwd", "suzuki\\u0000"})
    BOOST_TEST(c.login(odd, odd).status == 401);
  BOOST_TEST(c.call("POST", "/api/v1/login", "not json").status == 400);
  // An operator unlocks it by giving a new one-time password.
  auto reset = runRenkei({"admin", "user", "passwd", "--config", h.config(), "--user", "suzuki"});
  BOOST_TEST_REQUIRE(reset.exitCode == 0, reset.err);
  BOOST_TEST(c.login("suzuki", oneTimePassword(reset.out)).status == 200);
  // Disabled: refused, with the same answer.
  BOOST_TEST(runRenkei({"admin", "user", "disable", "--config", h.config(), "--user", "suzuki"}).exitCode == 0);
  Client d(h.port);
  BOOST_TEST(d.login("suzuki", "anything").body == wrong.body);
  auto list = runRenkei({"admin", "user", "list", "--config", h.config()});
  BOOST_TEST(list.out.find("suzuki  groups staff  DISABLED") != std::string::npos, list.out);
}

BOOST_AUTO_TEST_CASE(administer_needs_a_second_factor_and_a_code_is_good_once) {
  Host h;
  auto add = runRenkei({"admin", "user", "add", "--config", h.config(), "--user", "kacho", "--groups", "it"});
  BOOST_TEST_REQUIRE(add.exitCode == 0, add.err);
  BOOST_TEST(add.out.find("renkei admin user totp") != std::string::npos, add.out);
  const std::string once = oneTimePassword(add.out);
  h.start();
  Client c(h.port);
  // Not enrolled: refused, and told how.
  Reply r = c.login("kacho", once, "000000");
  BOOST_TEST(r.status == 403);
  BOOST_TEST(r.body.find("renkei admin user totp") != std::string::npos, r.body);
  auto totp = runRenkei({"admin", "user", "totp", "--config", h.config(), "--user", "kacho", "--png",
                      (h.dir / "qr.png").string()});
  BOOST_TEST_REQUIRE(totp.exitCode == 0, totp.err);
  BOOST_TEST(test::readFile(h.dir / "qr.png").substr(1, 3) == "PNG");
  auto uri = runRenkei({"admin", "user", "totp", "--config", h.config(), "--user", "kacho"});
  std::smatch m;
  BOOST_TEST_REQUIRE(std::regex_search(uri.out, m, std::regex("secret=([A-Z2-7]+)&")), uri.out);
  const std::string secret = *operators::fromBase32(m[1]);
  const std::int64_t step = std::time(nullptr) / 30;
  BOOST_TEST(c.login("kacho", once, "").status == 401);
  const std::string code = operators::totpCode(secret, step);
  Reply ok = c.login("kacho", once, code);
  BOOST_TEST_REQUIRE(ok.status == 200, ok.body);
  // The same code again (seen over a shoulder): refused.
  Client other(h.port);
  BOOST_TEST(other.login("kacho", once, code).status == 401);
}

BOOST_AUTO_TEST_CASE(an_address_off_the_allow_list_cannot_sign_in) {
  Host h(" allow=\"127.0.0.2/32\"");
  auto add = runRenkei({"admin", "user", "add", "--config", h.config(), "--user", "sato", "--groups", "staff"});
  BOOST_TEST_REQUIRE(add.exitCode == 0, add.err);
  const std::string once = oneTimePassword(add.out);
  h.start();
  Client outside(h.port);  // from 127.0.0.1
  BOOST_TEST(outside.login("sato", once).status == 403);
  Client inside(h.port, "127.0.0.2");
  BOOST_TEST(inside.login("sato", once).status == 200);
  // The cookie does not travel: from the other address it is refused too,
  // for reading and for changing.
  outside.cookie = inside.cookie;
  outside.csrf = inside.csrf;
  BOOST_TEST(outside.call("GET", "/api/v1/me").status == 403);
  BOOST_TEST(outside.call("POST", "/api/v1/logout").status == 403);
  // Still signed in there (its one-time password not changed yet).
  BOOST_TEST(inside.call("GET", "/api/v1/me").body.find("change the one-time password first") != std::string::npos);
}

// Every change the console's API offers, from an operator who may only view:
// refused, and each refusal in the trail. Then, from one who may operate,
// hostile values in every parameter: SQL, markup, traversal, NUL, over-long.
BOOST_AUTO_TEST_CASE(changes_need_operate_and_hostile_parameters_change_nothing) {
  Host h;
  fs::create_directories(h.dir / "drop/in");
  test::writeFile(h.dir / "drop/in/a.txt", "一\n二\n");
  std::map<std::string, std::string> once;
  for (const char* user : {"sato", "suzuki"}) {
    auto add = runRenkei({"admin", "user", "add", "--config", h.config(), "--user", user, "--groups",
                          std::string(user) == "sato" ? "staff" : "ops"});
    BOOST_TEST_REQUIRE(add.exitCode == 0, add.err);
    once[user] = oneTimePassword(add.out);
  }
  h.start();
  auto signIn = [&](const std::string& user) {
    Client c(h.port);
    BOOST_TEST_REQUIRE(c.login(user, once[user]).status == 200);
    BOOST_TEST_REQUIRE(
        c.call("POST", "/api/v1/password", "{\"old\":\"" + once[user] + "\",\"new\":\"a new long password\"}").status ==
        200);
    return c;
  };
  Client viewer = signIn("sato");
  Client op = signIn("suzuki");
  // The file taken in and the stray records held, before anything is asked.
  std::string files, problems;
  for (int i = 0; i < 50; ++i) {
    files = op.call("GET", "/api/v1/files").body;
    problems = op.call("GET", "/api/v1/problems").body;
    if (files.find("\"name\":\"a.txt\",\"state\":\"done\"") != std::string::npos &&
        problems.find("\"record_type\":\"test.unrouted\",\"held\":2") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  BOOST_TEST_REQUIRE(files.find("\"route\":\"files\",\"name\":\"a.txt\",\"state\":\"done\"") != std::string::npos, files);
  BOOST_TEST_REQUIRE(problems.find("\"emitter\":\"stray\",\"route\":\"\",\"record_type\":\"test.unrouted\",\"held\":2") !=
                         std::string::npos,
                     problems);

  // View only: every change refused (403), the pages' and the API's alike.
  const std::vector<std::string> changes{"/api/v1/problems/1/ack",
                                         "/api/v1/routes/items/replay?since=1h",
                                         "/api/v1/deadletters/x/resubmit",
                                         "/api/v1/files/reprocess?route=files&file=a.txt",
                                         "/api/v1/held/resubmit?emitter=stray",
                                         "/plugins/gen/reset"};
  for (const std::string& path : changes) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    BOOST_TEST(viewer.call("POST", path).status == 403, path);
  }
  BOOST_TEST(viewer.call("GET", "/api/v1/deadletters/x?records=5").status == 403);  // records: operate
  // Reading is allowed, with view.
  for (const char* path : {"/api/v1/routes", "/api/v1/files", "/api/v1/problems", "/api/v1/deadletters",
                           "/api/v1/plugins", "/api/v1/routes.csv", "/api/v1/routes.svg", "/plugins"}) {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    BOOST_TEST(viewer.call("GET", path).status == 200, path);
  }

  // Hostile values: answered 4xx with JSON, nothing done, nothing echoed as markup.
  const std::vector<std::pair<std::string, int>> hostile{
      {"/api/v1/files/reprocess?route=files&file=..%2F..%2F..%2Fetc%2Fpasswd", 404},
      {"/api/v1/files/reprocess?route=files&file=a.txt%27%20OR%20%271%27%3D%271", 404},
      {"/api/v1/files/reprocess?route=..%2Ffiles&file=a.txt", 404},
      {"/api/v1/files/reprocess?route=%3Cscript%3Ealert(1)%3C%2Fscript%3E&file=a.txt", 404},
      {"/api/v1/files/reprocess?route=items&file=a.txt", 400},  // a route of records, not files
      {"/api/v1/files/reprocess?route=files&file=" + std::string(2000, 'x'), 400},
      {"/api/v1/files/reprocess?route=files", 400},
      {"/api/v1/files/reprocess?route=files&file=a%", 400},  // not well formed
      {"/api/v1/held/resubmit?emitter=stray%27%20OR%20%271%27%3D%271", 404},
      {"/api/v1/held/resubmit?emitter=", 400},
      {"/api/v1/deadletters/..%2F..%2Fetc%2Fpasswd/resubmit", 400},
      {"/api/v1/deadletters/x%27%3B%20DROP%20TABLE%20batches%3B--/resubmit", 404},
      {"/api/v1/routes/%3Cimg%20src%3Dx%3E/replay?since=1h", 400},
      {"/api/v1/routes/items/replay?since=%27%3B--", 400},
      {"/api/v1/problems/1%20OR%201%3D1/ack", 400},
      {"/api/v1/problems/99999999999999999999/ack", 400},
  };
  // (paced under the listener's 20 new connections a second per address)
  const auto paced = [] { std::this_thread::sleep_for(std::chrono::milliseconds(60)); };
  for (const auto& [path, status] : hostile) {
    paced();
    const Reply r = op.call("POST", path);
    BOOST_TEST(r.status == status, path << " → " << r.status << " " << r.body);
    BOOST_TEST(r.body.find('<') == std::string::npos, path << ": " << r.body);
  }
  for (const auto& [path, status] :
       std::vector<std::pair<std::string, int>>{{"/api/v1/deadletters/..%2F..%2Fetc%2Fpasswd?records=5", 400},
                                                {"/api/v1/deadletters/x?records=%27%20OR%201", 400},
                                                {"/api/v1/calendar?year=..%2F..%2F", 400},
                                                {"/plugins/../api/v1/me", 404},
                                                {"/plugins/gen/..%2F..%2Fapi/v1/me", 404}}) {
    paced();
    const Reply r = op.call("GET", path);
    BOOST_TEST(r.status == status, path << " → " << r.status << " " << r.body);
  }
  // Nothing was done by any of them: the file is taken in once, the held
  // records wait as they were.
  BOOST_TEST(op.call("GET", "/api/v1/files").body.find("\"reprocess_asked\":true") == std::string::npos);
  BOOST_TEST(op.call("GET", "/api/v1/problems").body.find("\"held\":2") != std::string::npos);
  // The same changes done right, by the operator who may.
  Reply reprocess = op.call("POST", "/api/v1/files/reprocess?route=files&file=a.txt");
  BOOST_TEST(reprocess.status == 200, reprocess.body);
  BOOST_TEST(reprocess.body.find("generation 1") != std::string::npos, reprocess.body);
  Reply resubmit = op.call("POST", "/api/v1/held/resubmit?emitter=stray");
  BOOST_TEST(resubmit.status == 200, resubmit.body);
  BOOST_TEST(resubmit.body.find("\"resubmitted\":2") != std::string::npos, resubmit.body);
  // Taken in again: a second generation delivered.
  std::size_t delivered = 0;
  for (int i = 0; i < 100 && delivered < 2; ++i) {
    delivered = 0;
    for (const std::string& f : test::listFiles(h.dir / "out/out")) delivered += f.find("files-") == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(delivered == 2u);

  ::kill(h.child.pid, SIGTERM);
  h.child.wait();
  h.child.pid = -1;
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  auto csv = runRenkei({"audit", "export", "--config", h.config(), "--fiscal-year",
                        std::to_string(local.tm_year + 1900 - (local.tm_mon < 3 ? 1 : 0))});
  for (const char* line : {"\"console reprocess\",\"\",\"\",\"\",\"\",\"refused: needs operate\"",
                           "\"console held resubmit\",\"\",\"\",\"\",\"\",\"refused: needs operate\"",
                           "\"console held resubmit\",\"\",\"\",\"\",\"\",\"emitter stray: 2 records\""})
    BOOST_TEST(csv.out.find(line) != std::string::npos, line << " in\n" << csv.out.substr(0, 3000));
  BOOST_TEST(runRenkei({"audit", "verify", "--config", h.config()}).exitCode == 0);
}
