// The problem watch and the failure mail: a problem (a file to error/, a
// certificate running out) is mailed to the operators through the mail
// connector to a real SMTP server (Debian's python3-aiosmtpd) on loopback,
// once while it stays (also across a SIGKILL and restart: what was told is
// in the store), and once more when it clears; the same problems are on
// /metrics and in the log.
#define BOOST_TEST_MODULE problem_mail
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <thread>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }
std::map<std::string, std::string> pluginEnv() { return {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}}; }

test::ProcessResult cli(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, pluginEnv());
}

std::string problemConfig(const fs::path& dir, int smtpPort, const std::string& notify, bool mailRoute) {
  const std::string t = (dir / "tls").string();
  return "<renkei xmlns=\"urn:renkei:config:1\" instance=\"city\" zone=\"lgwan\" time-zone=\"Asia/Tokyo\">\n"
         "  <pipeline poll-interval=\"200ms\" max-attempts=\"3\"/>\n"
         "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
         "  <admin address=\"127.0.0.1\" port=\"0\"/>\n"
         "  <api address=\"127.0.0.1\" port=\"0\" certificate=\"" + t + "/short.crt\" key=\"" + t +
         "/short.key\" client-ca=\"" + t + "/ca.crt\"/>\n"
         "  " + notify + "\n"
         "  <connector id=\"in\" plugin=\"file\"><directory>in</directory><settle>0s</settle></connector>\n"
         "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
         "  <connector id=\"mail\" plugin=\"mail\">\n"
         "    <server>127.0.0.1:" + std::to_string(smtpPort) + "</server>\n"
         "    <from>renkei@city.example.lg.jp</from>\n"
         "    <recipients>運用担当=ops@city.example.lg.jp</recipients>\n"
         "    <templates>" + source("config/notify/mail").string() + "</templates>\n"
         "    <timeout>5s</timeout>\n"
         "  </connector>\n"
         "  <route id=\"r\" from=\"in\" to=\"out\" mapping=\"" + source("mappings/resident-to-crm.xml").string() + "\"/>\n" +
         (mailRoute ? "  <route id=\"problem-mail\" from=\"renkei\" records=\"renkei.problem\" to=\"mail\"/>\n" : "") +
         "</renkei>\n";
}

/// TLS material: the test CA, and a server certificate that runs out in 10 days.
void makeCertificates(const fs::path& dir) {
  auto certs = test::run({source("scripts/make-certs").string(), (dir / "tls").string()});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  auto shortLived = test::run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                               "-nodes", "-days", "10", "-subj", "/CN=127.0.0.1", "-keyout",
                               (dir / "tls/short.key").string(), "-out", (dir / "tls/short.crt").string()});
  BOOST_REQUIRE_MESSAGE(shortLived.exitCode == 0, shortLived.err);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_problem_is_mailed_once_while_it_stays_and_once_more_when_it_clears) {
  test::TempDir dir;
  makeCertificates(dir.path());
  const int port = test::freePort();
  test::SmtpServer smtp(port);
  test::writeFile(dir / "config.xml",
                  problemConfig(dir.path(), port, "<notify check=\"1s\" interval=\"1h\" recipient=\"運用担当\"/>", true));
  const std::string config = (dir / "config.xml").string();
  BOOST_TEST_REQUIRE(cli({"check", "--config", config}).exitCode == 0);
  fs::create_directories(dir / "in/in");
  test::writeFile(dir / "in/in/JUMIN_BROKEN.csv", "not,the,header\r\n");  // not the layout's header: error/

  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", config}, dir / "serve", pluginEnv());
  const int admin = test::adminPort(host);
  BOOST_TEST_REQUIRE(admin > 0);
  const auto log = [&] { return test::readFile(dir / "serve.err") + test::readFile(dir / "serve.out"); };
  BOOST_TEST_REQUIRE(test::waitFor([&] { return smtp.count("error-files") == 1 && smtp.count("certificate") == 1; }, 30),
                     log());
  const std::string mail = smtp.mails().front();
  BOOST_TEST(mail.find("X-RcptTo: ops@city.example.lg.jp") != std::string::npos, mail);
  BOOST_TEST(mail.find("Subject: =?UTF-8?") != std::string::npos, mail);
  for (const std::string& m : smtp.mails()) {
    BOOST_TEST(m.find("JUMIN_BROKEN") == std::string::npos, "a file's name is not in the mail: " << m);
    if (m.find("certificate") != std::string::npos)
      BOOST_TEST((m.find("runs out in 9 days") != std::string::npos || m.find("runs out in 10 days") != std::string::npos),
                 m);
  }
  // Checked every second, told once: a few more looks send nothing.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  BOOST_TEST(smtp.mails().size() == 2u);
  const std::string metrics = test::httpGet(admin, "/metrics").body;
  BOOST_TEST(metrics.find("renkei_problem{kind=\"error-files\",subject=\"r\"} 1") != std::string::npos, metrics);
  BOOST_TEST(metrics.find("renkei_problem{kind=\"certificate\",subject=\"api\"} 1") != std::string::npos, metrics);
  BOOST_TEST(metrics.find("renkei_problems_open 2") != std::string::npos, metrics);
  BOOST_TEST(log().find("problem error-files r: 1 file moved to error/") != std::string::npos, log());

  // Killed and started again: what was told is in the store, not told again.
  ::kill(host.pid, SIGKILL);
  host.wait();
  host = test::spawn({test::renkeiBinary(), "serve", "--config", config}, dir / "serve2", pluginEnv());
  BOOST_TEST_REQUIRE(test::adminPort(host) > 0);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  BOOST_TEST(smtp.mails().size() == 2u);

  // Seen to: the operator acknowledges the file; one "resolved" mail.
  auto ack = cli({"status", "--config", config, "--ack", "all", "--by", "係長"});
  BOOST_TEST(ack.exitCode != 4, ack.out);
  const auto resolved = [&](const std::string& kind) {
    std::size_t n = 0;
    for (const std::string& m : smtp.mails())
      n += m.find("次の事象は解消しました") != std::string::npos && m.find("kind:     " + kind) != std::string::npos;
    return n;
  };
  BOOST_TEST_REQUIRE(test::waitFor([&] { return resolved("error-files") == 1; }, 20), test::readFile(dir / "serve2.err"));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  BOOST_TEST(smtp.mails().size() == 3u);
  BOOST_TEST(resolved("certificate") == 0u);  // still running out
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
}

BOOST_AUTO_TEST_CASE(without_a_route_for_them_problems_go_to_the_log_and_metrics_only) {
  test::TempDir dir;
  makeCertificates(dir.path());
  const int port = test::freePort();
  test::writeFile(dir / "config.xml", problemConfig(dir.path(), port, "<notify check=\"1s\"/>", false));
  const std::string config = (dir / "config.xml").string();
  fs::create_directories(dir / "in/in");
  test::writeFile(dir / "in/in/JUMIN_BROKEN.csv", "not,the,header\r\n");
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", config}, dir / "serve", pluginEnv());
  const int admin = test::adminPort(host);
  BOOST_TEST_REQUIRE(admin > 0);
  BOOST_TEST_REQUIRE(test::waitFor([&] {
    return test::httpGet(admin, "/metrics").body.find("renkei_problem{kind=\"error-files\",subject=\"r\"} 1") !=
           std::string::npos;
  }, 20));
  // Nothing held: the host emits no renkei.problem records no route takes.
  BOOST_TEST(cli({"held", "list", "--config", config}).out.find("renkei.problem") == std::string::npos);
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
  const std::string err = test::readFile(dir / "serve.err") + test::readFile(dir / "serve.out");
  BOOST_TEST(err.find("problem certificate api: the certificate") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(check_refuses_other_records_from_the_host_and_an_instance_named_renkei) {
  test::TempDir dir;
  test::writeFile(dir / "config.xml",
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"city\" zone=\"lgwan\">\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <notify interval=\"30s\" disk-free=\"95\"/>\n"
                  "  <connector id=\"renkei\" plugin=\"file\"><directory>in</directory></connector>\n"
                  "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
                  "  <route id=\"x\" from=\"renkei\" records=\"resident.event\" to=\"out\"/>\n"
                  "</renkei>\n");
  auto r = cli({"check", "--config", (dir / "config.xml").string()});
  BOOST_TEST(r.exitCode != 0);
  const std::string all = r.out + r.err;
  BOOST_TEST(all.find("config.xml:3: notify: interval: 1m to 7d") != std::string::npos, all);
  BOOST_TEST(all.find("config.xml:3: notify: disk-free: a percent, 1 to 90") != std::string::npos, all);
  BOOST_TEST(all.find("config.xml:4: id 'renkei' is the host's own") != std::string::npos, all);
  BOOST_TEST(all.find("config.xml:6: route 'x': from=\"renkei\" is the host itself") != std::string::npos, all);
}
