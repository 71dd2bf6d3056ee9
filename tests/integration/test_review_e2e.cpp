// The review module with the real host (issue 16): application packages
// dropped and read through a layout (one application given twice is taken
// once), staff acting over ReviewService on TLS with certificates made at
// test time, the write-back written by the file sink as CP932 CSV through
// the RPA layout (外字 through the conversion table), 反映済 from the next
// resident export, notices leaving through routes; the core system's folder
// refusing the file; SIGKILL around the write-back, 20 times.
#define BOOST_TEST_MODULE renkei_review_e2e
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TMultiplexedProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/TSSLSocket.h>

#include "api/ReviewService.h"
#include "test_support.h"
#include "renkei/support/codec.h"

using namespace renkei;
namespace fs = std::filesystem;
namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

std::string logOf(const fs::path& file) {
  std::error_code ec;
  return fs::exists(file, ec) ? test::readFile(file) : std::string();
}

struct Certificates {
  test::TempDir dir;
  Certificates() {
    auto r = test::run({source("scripts/make-certs").string(), dir.path().string(), "staff"});
    BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  }
  std::string operator()(const std::string& name) const { return (dir / name).string(); }
};
const Certificates& certificates() {
  static Certificates c;
  return c;
}

struct Host {
  test::TempDir dir;
  test::Child child;
  int port = 0, starts = 0;
  bool running = false;

  /// mailPort > 0: staff mail through the mail connector to an SMTP server
  /// on that port (else into a folder).
  /// odbc not empty: the write-back goes to that ODBC data source's table
  /// rpa_tennyu by upsert instead of to the RPA folder.
  explicit Host(int mailPort = 0, int maxAttempts = 8, const std::string& odbc = "") {
    for (const char* sub : {"apps/in", "jumin/in", "forms/in", "cards/in", "packages"}) fs::create_directories(dir / sub);
    const Certificates& c = certificates();
    test::writeFile(
        dir / "config.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<renkei xmlns=\"urn:renkei:config:1\" instance=\"review-test\" zone=\"lgwan\">\n"
        "  <pipeline poll-interval=\"200ms\" batch-records=\"100\" retry-initial=\"200ms\" retry-max=\"1s\" "
        "max-attempts=\"" + std::to_string(maxAttempts) + "\"/>\n"
        "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
        "  <admin address=\"127.0.0.1\" port=\"0\"/>\n"
        "  <api address=\"127.0.0.1\" port=\"0\" certificate=\"" + c("server.crt") + "\" key=\"" + c("server.key") +
            "\" client-ca=\"" + c("ca.crt") + "\" clients=\"staff\"/>\n"
        "  <connector id=\"apps-in\" plugin=\"file\"><directory>apps</directory><pattern>*.jsonl</pattern>"
        "<settle>0s</settle></connector>\n"
        "  <connector id=\"forms-in\" plugin=\"file\"><directory>forms</directory><pattern>*.xml</pattern>"
        "<settle>0s</settle></connector>\n"
        "  <connector id=\"jumin-in\" plugin=\"file\"><directory>jumin</directory><pattern>*.csv</pattern>"
        "<settle>0s</settle></connector>\n"
        "  <connector id=\"cards-in\" plugin=\"file\"><directory>cards</directory><pattern>*.jsonl</pattern>"
        "<settle>0s</settle></connector>\n" +
        (odbc.empty()
             ? "  <connector id=\"rpa\" plugin=\"file\"><directory>rpa</directory><format>csv</format><output-layout>" +
                   source("mappings/layouts/rpa-tennyu.xml").string() + "</output-layout></connector>\n"
             : "  <connector id=\"rpa\" plugin=\"odbc\"><connection>" + odbc +
                   "</connection><table>rpa_tennyu</table><key>application_id, member_no</key></connector>\n") +
        "  <connector id=\"notices\" plugin=\"file\"><directory>notices</directory></connector>\n" +
        (mailPort > 0
             ? "  <connector id=\"mail\" plugin=\"mail\"><server>127.0.0.1:" + std::to_string(mailPort) +
                   "</server><from>renkei@city.example.lg.jp</from>"
                   "<recipients>市民課=shimin@city.example.lg.jp</recipients><templates>" +
                   source("config/review/mail").string() + "</templates><timeout>5s</timeout></connector>\n"
             : std::string("  <connector id=\"mail\" plugin=\"file\"><directory>mail</directory></connector>\n")) +
        "  <module id=\"review\" plugin=\"review\">"
        "<procedures>" + source("config/review/procedures.xml").string() + "</procedures>"
        "<calendar>" + source("config/calendar/demo-city.xml").string() + "</calendar>"
        "<variants>" + source("config/review/kanji-variants.tsv").string() + "</variants>"
        "<municipality>見本市</municipality><attachments-dir>packages</attachments-dir></module>\n"
        "  <route id=\"forms\" from=\"forms-in\" to=\"review\" mapping=\"" +
            source("mappings/form-tennyu-to-review.xml").string() + "\"/>\n"
        "  <route id=\"apps\" from=\"apps-in\" to=\"review\" mapping=\"" +
            source("tests/fixtures/review/application-to-review.xml").string() + "\"/>\n"
        "  <route id=\"register\" from=\"jumin-in\" to=\"review\" mapping=\"" +
            source("mappings/resident-to-crm.xml").string() + "\"/>\n"
        "  <route id=\"cards\" from=\"cards-in\" to=\"review\" mapping=\"" +
            source("mappings/card-ic-to-review.xml").string() + "\"/>\n"
        "  <route id=\"write-back\" from=\"review\" records=\"writeback.tennyu-todoke\" to=\"rpa\"" +
            (odbc.empty() ? " mapping=\"" + source("mappings/writeback-tennyu-rpa.xml").string() + "\"" : std::string()) +
            "/>\n"
        "  <route id=\"notices\" from=\"review\" records=\"review.notice\" to=\"notices\"/>\n"
        // every procedure has its one write-back path (renkei check refuses none)
        "  <connector id=\"rpa-other\" plugin=\"file\"><directory>rpa-other</directory></connector>\n"
        "  <route id=\"write-back-tenkyo\" from=\"review\" records=\"writeback.tenkyo-todoke\" to=\"rpa-other\"/>\n"
        "  <route id=\"write-back-tenshutsu\" from=\"review\" records=\"writeback.tenshutsu-todoke\" "
        "to=\"rpa-other\"/>\n"
        "  <route id=\"write-back-tokurei-tennyu\" from=\"review\" records=\"writeback.tokurei-tennyu\" "
        "to=\"rpa-other\"/>\n"
        "  <route id=\"write-back-tokurei-tenshutsu\" from=\"review\" records=\"writeback.tokurei-tenshutsu\" "
        "to=\"rpa-other\"/>\n"
        "  <route id=\"mail\" from=\"review\" records=\"review.mail\" to=\"mail\"/>\n"
        "</renkei>\n");
    auto check = test::run({test::renkeiBinary(), "check", "--config", (dir / "config.xml").string()},
                           {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
    BOOST_TEST_REQUIRE(check.exitCode == 0, check.out << check.err);
  }
  ~Host() { stop(); }

  void start(const std::string& fault = "") {
    std::map<std::string, std::string> env{{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}};
    if (!fault.empty()) env["RENKEI_FAULT"] = fault;
    child = test::spawn({test::renkeiBinary(), "serve", "--config", (dir / "config.xml").string()},
                        dir / ("serve-" + std::to_string(++starts)), env);
    running = true;
    port = 0;
    const std::regex serving("api: serving .* on 127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 400 && port == 0; ++i) {
      std::smatch m;
      const std::string log = logOf(child.err);
      if (std::regex_search(log, m, serving)) port = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    BOOST_TEST_REQUIRE(port > 0, "the host did not start its API: " << logOf(child.err));
  }
  void stop() {
    if (!running) return;
    ::kill(child.pid, SIGTERM);
    auto r = child.wait();
    running = false;
    BOOST_TEST(r.exitCode == 0, "exit " << r.exitCode << " signal " << r.signal << ": " << r.err);
  }
  /// Waits for a process that kills itself (RENKEI_FAULT); true when it did.
  bool died(int seconds) {
    test::ProcessResult r;
    for (int i = 0; i < seconds * 20; ++i) {
      if (child.finished(r)) {
        running = false;
        return r.signal == SIGKILL;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string log() const {
    std::string all;
    for (int i = 1; i <= starts; ++i) all += logOf(dir / ("serve-" + std::to_string(i) + ".err"));
    return all;
  }
  void drop(const std::string& folder, const std::string& name, const std::string& content) {
    test::writeFile(dir / folder / ("." + name), content);
    fs::rename(dir / folder / ("." + name), dir / folder / "in" / name);
  }
};

struct Client {
  std::shared_ptr<tt::TSSLSocketFactory> factory = std::make_shared<tt::TSSLSocketFactory>();
  std::shared_ptr<tt::TTransport> transport;
  std::unique_ptr<api::ReviewServiceClient> review;
  explicit Client(int port) {
    const Certificates& c = certificates();
    factory->authenticate(true);
    factory->loadTrustedCertificates(c("ca.crt").c_str());
    factory->loadCertificate(c("staff.crt").c_str());
    factory->loadPrivateKey(c("staff.key").c_str());
    transport = std::make_shared<tt::TBufferedTransport>(factory->createSocket("localhost", port));
    auto protocol = std::make_shared<tp::TBinaryProtocol>(transport);
    review = std::make_unique<api::ReviewServiceClient>(std::make_shared<tp::TMultiplexedProtocol>(protocol, "ReviewService"));
    transport->open();
  }
  ~Client() {
    try {
      transport->close();
    } catch (...) {
    }
  }
  std::vector<api::Summary> list(const std::string& state = "") {
    std::vector<api::Summary> out;
    review->listApplications(out, state, "", "", 1000);
    return out;
  }
  api::Application act(const std::string& no, const std::string& action, const std::string& why = "",
                       std::map<std::string, std::string> fields = {}) {
    api::ActionRequest r;
    r.action = action;
    r.who = "staff-a";
    r.why = why;
    r.fields = std::move(fields);
    api::Application out;
    review->act(out, no, r);
    return out;
  }
  api::Application get(const std::string& no) {
    api::Application out;
    review->getApplication(out, no);
    return out;
  }
};

/// One application line (転入 of one member, or two with a foreign spouse).
std::string application(const std::string& id, const std::string& name, const std::string& birth,
                        bool withSpouse = false) {
  std::string line = "{\"application_id\":\"" + id + "\",\"procedure\":\"tennyu-todoke\",\"name\":\"" + name +
                     "\",\"name_kana\":\"ミホン タロウ\",\"birth_date\":\"" + birth +
                     "\",\"sex\":\"1\",\"address\":\"架空県別市北町1-2-3\",\"new_address\":\"架空県見本市中央1-1-1\","
                     "\"move_date\":\"2026-11-20\",\"phone\":\"090-0000-0000\",\"member.1.name\":\"" + name +
                     "\",\"member.1.birth_date\":\"" + birth +
                     "\",\"member.1.sex\":\"1\",\"member.1.relationship\":\"世帯主\",\"member.1.resident_type\":\"日本人\"";
  if (withSpouse)
    line += ",\"member.2.name\":\"𠮷田 アンナ\",\"member.2.birth_date\":\"1992-03-03\",\"member.2.sex\":\"2\","
            "\"member.2.relationship\":\"妻\",\"member.2.resident_type\":\"外国人\",\"member.2.nationality\":\"ブラジル\","
            "\"member.2.residence_status\":\"永住者\",\"member.2.residence_period\":\"無期限\","
            "\"member.2.residence_expiry\":\"2030-01-01\",\"member.2.residence_card_no\":\"AB12345678CD\","
            "\"member.2.article30_45\":\"中長期在留者\"";
  return line + "}\n";
}

/// The next resident export (CP932, the jumin-csv layout): the sample's
/// first resident, renamed to the applicant, with 異動事由 01 (転入).
std::string exportWith(const std::string& name, const std::string& eraBirth) {
  const std::string sample = test::readFile(source("config/samples/jumin/JUMIN_20261101_FULL.csv"));
  const text::Codec* cp932 = text::findCodec("windows-31j");
  std::string utf8;
  text::CodecStats stats;
  cp932->decode(sample, utf8, stats);
  std::istringstream in(utf8);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  if (!row.empty() && row.back() == '\r') row.pop_back();
  std::vector<std::string> cells;
  for (std::size_t start = 1;;) {
    const std::size_t end = row.find("\",\"", start);
    cells.push_back(row.substr(start, end == std::string::npos ? row.size() - 1 - start : end - start));
    if (end == std::string::npos) break;
    start = end + 3;
  }
  BOOST_REQUIRE(cells.size() == 35u);
  cells[0] = "00099990010";
  cells[3] = name;
  cells[7] = eraBirth;
  cells[8] = "1";
  cells[18] = "01";
  std::string out = header + "\r\n";
  for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? ",\"" : "\"") + cells[i] + "\"";
  out += "\r\n";
  std::string bytes;
  cp932->encode(out, bytes, stats);
  return bytes;
}

std::vector<std::string> csvLines(const fs::path& dir) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return lines;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() != ".csv") continue;
    std::istringstream in(test::readFile(f.path()));
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      if (first) {
        first = false;
        continue;  // the header row
      }
      lines.push_back(line);
    }
  }
  return lines;
}

template <typename F>
bool eventually(F&& f, int seconds = 30) {
  return test::waitFor(std::function<bool()>(std::forward<F>(f)), seconds);
}

/// A client writing to a host killed under it gets EPIPE, not SIGPIPE.
struct IgnoreSigpipe {
  IgnoreSigpipe() { ::signal(SIGPIPE, SIG_IGN); }
};
BOOST_GLOBAL_FIXTURE(IgnoreSigpipe);

}  // namespace

BOOST_AUTO_TEST_CASE(an_application_lives_from_package_to_reflected) {
  Host h;
  h.start();
  // A package file with the same application twice: taken once.
  h.drop("apps", "apps-1.jsonl",
         application("pkg-1", "見本 太郎", "1990-05-01", true) + application("pkg-1", "見本 太郎", "1990-05-01", true));
  Client c(h.port);
  BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 1u; }), h.log());
  auto a = c.get(c.list()[0].arrivalNo);
  BOOST_TEST(std::regex_match(a.arrivalNo, std::regex("R[0-9]{8}-000001")));
  BOOST_TEST(a.source == "package");
  BOOST_TEST(a.state == "received");
  BOOST_TEST(a.stateLabel == "受付");
  for (const auto& f : a.findings) BOOST_TEST(f.ok, f.message);

  c.act(a.arrivalNo, "start");
  a = c.act(a.arrivalNo, "request-correction", "電話番号を確認してください");
  BOOST_TEST(a.state == "correction");
  BOOST_TEST(!a.correctionDeadline.empty());
  a = c.act(a.arrivalNo, "resubmit", "", {{"phone", "090-1111-2222"}});
  BOOST_TEST(a.fields["phone"] == "090-1111-2222");
  a = c.act(a.arrivalNo, "approve");
  BOOST_TEST(a.state == "awaiting");
  // 承認 again, 取下げ now: refused with CONFLICT, the state kept.
  try {
    c.act(a.arrivalNo, "withdraw");
    BOOST_FAIL("取下げ after 承認 was taken");
  } catch (const api::ApiError& e) {
    BOOST_TEST(e.code == api::ErrorCode::CONFLICT);
  }

  // The RPA file: CP932, a header row, one row per member, 𠮷 as the
  // system's 外字 F040, the foreign spouse's residence items.
  BOOST_TEST_REQUIRE(eventually([&] { return csvLines(h.dir / "rpa/out").size() == 2u; }), h.log());
  std::string file;
  for (const auto& f : fs::directory_iterator(h.dir / "rpa/out")) file = test::readFile(f.path());
  const text::Codec* cp932 = text::findCodec("windows-31j");
  std::string header;
  text::CodecStats stats;
  cp932->decode(file.substr(0, file.find("\r\n")), header, stats);
  BOOST_TEST(header.rfind("申請ID,異動区分,世帯員番号,届出日,異動日,前住所,新住所", 0) == 0u, header);
  BOOST_TEST(file.find("\xF0\x40") != std::string::npos);  // 𠮷 → 外字 F040
  std::string text;
  cp932->decode(file, text, stats);
  BOOST_TEST(stats.invalid == 0u);
  BOOST_TEST(text.find(a.arrivalNo + ",転入,1,") != std::string::npos, text);
  BOOST_TEST(text.find(a.arrivalNo + ",転入,2,") != std::string::npos, text);
  BOOST_TEST(text.find("ブラジル,永住者,無期限") != std::string::npos, text);

  // The next resident export shows the 転入: 反映済, and the 完了 notice leaves.
  h.drop("jumin", "JUMIN_NEXT.csv", exportWith("見本　太郎", "4020501"));
  BOOST_TEST_REQUIRE(eventually([&] { return c.get(a.arrivalNo).state == "reflected"; }), h.log());
  BOOST_TEST_REQUIRE(eventually([&] {
    const auto lines = test::linesIn(h.dir / "notices/out");
    return lines.size() == 3u;  // 受付, 補正依頼, 完了
  }), h.log());
  std::string notices;
  for (const auto& l : test::linesIn(h.dir / "notices/out")) notices += l + "\n";
  for (const char* t : {"\"received\"", "\"correction\"", "\"completed\""})
    BOOST_TEST(notices.find(t) != std::string::npos, notices);
  // No personal value in any notice: only 到達番号, procedure, template, dates.
  for (const char* v : {"見本", "1990-05-01", "架空県", "090-"}) BOOST_TEST(notices.find(v) == std::string::npos, v);
  BOOST_TEST(!test::linesIn(h.dir / "mail/out").empty());
  // The log names no value either.
  for (const char* v : {"見本 太郎", "1990-05-01", "架空県"}) BOOST_TEST(h.log().find(v) == std::string::npos, v);

  // Reports over the API, as rows and as CSV.
  std::string csv;
  c.review->reportCsv(csv, "form", "2026-01-01", "2027-12-31");
  BOOST_TEST(csv.find("form,count,average_reception_minutes\r\nJR-TENNYU,1,") == 0u, csv);
}

BOOST_AUTO_TEST_CASE(the_core_systems_folder_refusing_the_file_holds_delivery_not_the_application) {
  Host h;
  test::writeFile(h.dir / "rpa/out", "not a folder");  // what the core system's side left there
  h.start();
  h.drop("apps", "a.jsonl", application("pkg-9", "見本 次郎", "1988-08-08"));
  Client c(h.port);
  BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 1u; }), h.log());
  const std::string no = c.list()[0].arrivalNo;
  c.act(no, "start");
  BOOST_TEST(c.act(no, "approve").state == "awaiting");
  BOOST_TEST_REQUIRE(eventually([&] { return h.log().find("is not a folder") != std::string::npos; }), h.log());
  fs::remove(h.dir / "rpa/out");
  BOOST_TEST_REQUIRE(eventually([&] { return csvLines(h.dir / "rpa/out").size() == 1u; }), h.log());
}

BOOST_AUTO_TEST_CASE(sigkill_around_the_write_back_writes_each_application_once) {
  Host h;
  h.start();
  std::string lines;
  for (int i = 0; i < 10; ++i)
    lines += application("kill-" + std::to_string(i), "見本 " + std::string(1, static_cast<char>('A' + i)), "1990-05-01");
  h.drop("apps", "k.jsonl", lines);
  std::vector<std::string> numbers;
  {
    Client c(h.port);
    BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 10u; }), h.log());
    for (const auto& s : c.list()) {
      c.act(s.arrivalNo, "start");
      numbers.push_back(s.arrivalNo);
    }
  }
  h.stop();
  // 20 kills, two per application: before the write-back's commit (the
  // approval is lost whole and made again) and after the sink wrote the
  // file (the batch is delivered again, over its own file). Between them a
  // normal start finishes what was left.
  int kills = 0;
  const auto attempt = [&](const std::string& no, const char* fault) {
    h.start(fault);
    try {
      Client c(h.port);
      c.act(no, "approve");
    } catch (...) {
      // the host died under the call, or the application was approved before
    }
    if (h.died(20)) ++kills;
    else h.stop();
  };
  const auto settle = [&](const std::string& no) {
    h.start();
    {
      Client c(h.port);
      if (c.get(no).state == "reviewing") c.act(no, "approve");
      BOOST_TEST(c.get(no).state == "awaiting");
    }
    h.stop();
  };
  for (const std::string& no : numbers) {
    attempt(no, "before-emit-commit");
    {
      h.start();
      Client c(h.port);
      BOOST_TEST(c.get(no).state == "reviewing");  // nothing of the approval survived the kill
      h.stop();
    }
    attempt(no, "after-deliver");
    settle(no);
  }
  BOOST_TEST(kills == 20, h.log());
  h.start();
  BOOST_TEST_REQUIRE(eventually([&] { return csvLines(h.dir / "rpa/out").size() >= 10u; }), h.log());
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::map<std::string, int> rows;
  for (const auto& l : csvLines(h.dir / "rpa/out")) ++rows[l.substr(0, l.find(','))];
  BOOST_TEST(rows.size() == 10u);
  for (const auto& [id, n] : rows) BOOST_TEST(n == 1, id << " written " << n << " times");
}

using test::freePort;

BOOST_AUTO_TEST_CASE(staff_mail_waits_out_an_smtp_server_that_is_down_and_then_arrives) {
  const int port = freePort();
  Host h(port, 50);
  h.start();
  h.drop("apps", "a.jsonl", application("mail-1", "見本 三郎", "1977-07-07"));
  // Nothing listens yet: the delivery is retried, the application unharmed.
  BOOST_TEST_REQUIRE(eventually([&] { return h.log().find("SMTP 127.0.0.1:" + std::to_string(port)) != std::string::npos; }),
                     h.log());
  Client c(h.port);
  BOOST_TEST(c.list().size() == 1u);
  const std::string no = c.list()[0].arrivalNo;
  test::SmtpServer smtp(port);
  BOOST_TEST_REQUIRE(eventually([&] { return smtp.mails().size() == 1u; }), h.log());
  const std::string mail = smtp.mails()[0];
  BOOST_TEST(mail.find("X-RcptTo: shimin@city.example.lg.jp") != std::string::npos, mail);
  BOOST_TEST(mail.find("Subject: =?UTF-8?") != std::string::npos, mail);
  BOOST_TEST(mail.find("到達番号: " + no) != std::string::npos, mail);
  BOOST_TEST(mail.find("Message-ID: <") != std::string::npos, mail);
  for (const char* v : {"見本", "1977-07-07", "架空県"}) BOOST_TEST(mail.find(v) == std::string::npos, v);
}

BOOST_AUTO_TEST_CASE(staff_mail_that_can_never_be_sent_becomes_a_dead_letter) {
  const int port = freePort();
  Host h(port, 2);
  h.start();
  h.drop("apps", "a.jsonl", application("mail-2", "見本 四郎", "1977-07-07"));
  BOOST_TEST_REQUIRE(eventually([&] {
    auto r = test::run({test::renkeiBinary(), "status", "--config", (h.dir / "config.xml").string()},
                       {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
    return r.out.find("1 dead letters (1 records)") != std::string::npos;
  }), h.log());
}

// A window system's application id and a package dropped on a route with
// the same id (and "source":"window" written into it) are two
// applications: ids are kept per origin (the caller's certificate, the
// route), and a routed record cannot call itself a window system's.
BOOST_AUTO_TEST_CASE(a_routed_record_cannot_take_over_a_window_systems_application) {
  Host h;
  h.start();
  Client c(h.port);
  api::NewApplication w;
  w.applicationId = "W-20261207-1";
  w.procedure = "tennyu-todoke";
  w.staff = "staff-a";
  for (const auto& [k, v] : std::map<std::string, std::string>{{"name", "見本 太郎"}, {"name_kana", "ミホン タロウ"},
                                                                {"birth_date", "1990-05-01"}, {"sex", "1"},
                                                                {"address", "架空県別市北町1-2-3"},
                                                                {"new_address", "架空県見本市中央1-1-1"},
                                                                {"move_date", "2026-11-20"}, {"phone", "090-0000-0000"}})
    w.fields[k] = v;
  api::Application mine;
  c.review->submit(mine, w);
  BOOST_TEST(mine.source == "window");
  std::string forged = application("W-20261207-1", "偽 一郎", "1970-01-01");
  forged.insert(forged.size() - 2, ",\"source\":\"window\"");
  h.drop("apps", "forged.jsonl", forged);
  BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 2u; }), h.log());
  api::Application again;
  c.review->submit(again, w);  // the window system asks again: its own, unchanged
  BOOST_TEST(again.arrivalNo == mine.arrivalNo);
  BOOST_TEST(again.fields["name"] == "見本 太郎");
  for (const auto& s : c.list())
    if (s.arrivalNo != mine.arrivalNo) BOOST_TEST(c.get(s.arrivalNo).source == "package");
}

// A relay that takes the connection and never says a word: each attempt to
// mail holds its delivery worker for the connector's time-out (5 s here).
// Delivery has a worker per target, so the write-back of an approval is not
// queued behind it (with one delivery thread it waited up to the time-out).
BOOST_AUTO_TEST_CASE(a_dead_mail_relay_does_not_hold_up_the_write_back) {
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_TEST_REQUIRE(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_TEST_REQUIRE(::listen(silent, 128) == 0);  // never accepted: the kernel completes the handshake
  socklen_t n = sizeof a;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &n);
  const int silentPort = ntohs(a.sin_port);

  // From 承認 to the write-back file, with mail to the silent relay and
  // with mail into a folder; five approvals each.
  auto latencies = [](int mailPort) {
    Host h(mailPort, 50);
    h.start();
    std::string lines;
    for (int i = 1; i <= 5; ++i)
      lines += application("slow-" + std::to_string(i), "見本 六郎", "1981-01-0" + std::to_string(i));
    h.drop("apps", "a.jsonl", lines);
    Client c(h.port);
    BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 5u; }), h.log());
    std::vector<double> out;
    for (const auto& s : c.list()) {
      c.act(s.arrivalNo, "start");
      std::this_thread::sleep_for(std::chrono::milliseconds(700));  // mail attempts under way
      const std::size_t before = csvLines(h.dir / "rpa/out").size();
      const auto t0 = std::chrono::steady_clock::now();
      c.act(s.arrivalNo, "approve");
      BOOST_TEST_REQUIRE(eventually([&] { return csvLines(h.dir / "rpa/out").size() > before; }), h.log());
      out.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return out;
  };
  const auto stuck = latencies(silentPort);
  const auto normal = latencies(0);
  ::close(silent);
  auto worst = [](const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); };
  BOOST_TEST_MESSAGE("write-back latency, worst of 5: mail relay silent " << worst(stuck) << " s, mail into a folder "
                                                                          << worst(normal) << " s");
  BOOST_TEST(worst(stuck) < worst(normal) + 1.5);
}

BOOST_AUTO_TEST_CASE(write_back_by_odbc_upsert_writes_each_member_once) {
  // The core system's table: SQLite through the SQLite ODBC driver, or
  // PostgreSQL through psqlODBC (RENKEI_TEST_STORE=postgresql).
  test::TempDir db;
  const char* store = std::getenv("RENKEI_TEST_STORE");
  const bool pg = store && std::string(store) == "postgresql";
  const std::string cs = pg ? test::freshPostgresDatabase("rpa")
                            : "Driver=" + test::sqliteOdbcDriver() + ";Database=" + (db / "core.sqlite3").string() +
                                  ";Timeout=20000;";
  {
    test::OdbcDb core(cs);
    core.exec("CREATE TABLE rpa_tennyu (application_id VARCHAR(32) NOT NULL, member_no VARCHAR(4) NOT NULL, "
              "kind VARCHAR(20), procedure VARCHAR(40), resident_code VARCHAR(16), approved_on VARCHAR(10), "
              "name VARCHAR(80), name_kana VARCHAR(120), birth_date VARCHAR(10), sex VARCHAR(4), phone VARCHAR(20), "
              "move_date VARCHAR(10), address VARCHAR(240), new_address VARCHAR(240), member_name VARCHAR(80), "
              "member_name_kana VARCHAR(120), member_birth_date VARCHAR(10), member_sex VARCHAR(4), "
              "member_relationship VARCHAR(20), member_resident_type VARCHAR(10), member_nationality VARCHAR(80), "
              "member_residence_status VARCHAR(80), member_residence_period VARCHAR(40), "
              "member_residence_expiry VARCHAR(10), member_residence_card_no VARCHAR(12), member_alias VARCHAR(80), "
              "member_article30_45 VARCHAR(40), PRIMARY KEY (application_id, member_no))");
  }
  Host h(0, 8, cs);
  h.start();
  h.drop("apps", "a.jsonl", application("odbc-1", "見本 五郎", "1980-01-01", true));
  std::string no;
  {
    Client c(h.port);
    BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 1u; }), h.log());
    no = c.list()[0].arrivalNo;
    c.act(no, "start");
    BOOST_TEST(c.act(no, "approve").state == "awaiting");
  }
  test::OdbcDb core(cs);
  const std::string q = "SELECT application_id, member_no, member_resident_type FROM rpa_tennyu ORDER BY member_no";
  BOOST_TEST_REQUIRE(eventually([&] { return core.rows(q).size() == 2u; }), h.log());
  // Delivered again (an operator's replay): upserted over itself, still two rows.
  h.stop();
  auto r = test::run({test::renkeiBinary(), "replay", "--config", (h.dir / "config.xml").string(), "--route",
                      "write-back", "--since", "2000-01-01"},
                     {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  h.start();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto rows = core.rows(q);
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0] == no + "|1|日本人");
  BOOST_TEST(rows[1] == no + "|2|外国人");
  BOOST_TEST(r.exitCode == 0, r.out << r.err);
}

BOOST_AUTO_TEST_CASE(a_package_form_is_read_through_its_layout_and_its_attachment_checked) {
  Host h;
  // P-0001: the sample package, its attachment as listed. P-0002: the same
  // form, but the attachment in the folder is not the one the manifest lists.
  fs::create_directories(h.dir / "packages/P-0001");
  fs::create_directories(h.dir / "packages/P-0002");
  fs::copy_file(source("config/samples/packages/P-0001/identity"), h.dir / "packages/P-0001/identity");
  test::writeFile(h.dir / "packages/P-0002/identity", "another document\n");
  const std::string form = test::readFile(source("config/samples/packages/FORM_P-0001.xml"));
  std::string second = form;
  second.replace(second.find("申請ID=\"P-0001\""), std::string("申請ID=\"P-0001\"").size(), "申請ID=\"P-0002\"");
  h.start();
  h.drop("forms", "FORM_P-0001.xml", form);
  h.drop("forms", "FORM_P-0002.xml", second);
  Client c(h.port);
  BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 2u; }), h.log());
  std::multiset<std::string> outcomes;
  for (const auto& s : c.list()) {
    auto a = c.get(s.arrivalNo);
    BOOST_TEST(a.source == "package");
    BOOST_TEST(a.fields["birth_date"] == "1990-05-01");  // 平成2年5月1日 from the date group
    BOOST_TEST(a.fields["move_date"] == "2026-11-28");
    std::string ng;
    for (const auto& f : a.findings)
      if (!f.ok) ng += f.rule + ":" + f.field + " ";
    outcomes.insert(ng);
  }
  // One clean, one whose attachment's SHA-256 is not the manifest's.
  BOOST_TEST(outcomes.count("") == 1u);
  BOOST_TEST(outcomes.count("attachment:identity ") == 1u);
  // A form whose attachment list cannot be read is refused, not taken
  // without its attachments: a dead letter saying why, nothing stored.
  std::string garbled = form;
  garbled.replace(garbled.find("申請ID=\"P-0001\""), std::string("申請ID=\"P-0001\"").size(), "申請ID=\"P-0003\"");
  const std::size_t at = garbled.find("<添付>") + std::string("<添付>").size();
  garbled.replace(at, garbled.find("</添付>") - at, "identity-without-a-hash");
  h.drop("forms", "FORM_P-0003.xml", garbled);
  BOOST_TEST_REQUIRE(eventually([&] {
    auto r = test::run({test::renkeiBinary(), "status", "--config", (h.dir / "config.xml").string()},
                       {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
    return r.out.find("1 dead letters (1 records)") != std::string::npos;
  }), h.log());
  BOOST_TEST(c.list().size() == 2u);
}

BOOST_AUTO_TEST_CASE(staff_changing_one_application_at_once_get_ok_or_conflict_and_the_host_lives) {
  Host h;
  h.start();
  h.drop("apps", "a.jsonl", application("race-1", "見本 六郎", "1981-01-01"));
  std::string no;
  {
    Client c(h.port);
    BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 1u; }), h.log());
    no = c.list()[0].arrivalNo;
    c.act(no, "start");
  }
  std::atomic<int> ok{0}, conflict{0}, other{0};
  std::vector<std::thread> staff;
  for (int t = 0; t < 8; ++t)
    staff.emplace_back([&, t] {
      Client c(h.port);
      for (int i = 0; i < 25; ++i) {
        api::ActionRequest r;
        r.action = "assign";
        r.who = "staff-" + std::to_string(t);
        r.assignee = r.who;
        const api::Application a = c.get(no);
        r.expectedVersion = a.version;
        try {
          api::Application out;
          c.review->act(out, no, r);
          ++ok;
        } catch (const api::ApiError& e) {
          (e.code == api::ErrorCode::CONFLICT ? conflict : other)++;
        }
      }
    });
  for (auto& t : staff) t.join();
  BOOST_TEST(ok + conflict == 200);
  BOOST_TEST(other == 0);
  BOOST_TEST(ok > 0);
  Client c(h.port);
  const auto a = c.get(no);
  BOOST_TEST(a.version == 2 + ok);  // every assignment that was answered ok, and only those, in the history
  BOOST_TEST(static_cast<int>(a.history.size()) == 2 + ok);

  // Eight staff approving at once, without a version: one approval counts,
  // and the other seven hear that it was done already (they once all heard
  // "ok" while one write-back was written).
  std::atomic<int> approved{0}, told{0}, wrong{0};
  std::vector<std::thread> approvers;
  for (int t = 0; t < 8; ++t)
    approvers.emplace_back([&, t] {
      Client c(h.port);
      api::ActionRequest r;
      r.action = "approve";
      r.who = "approver-" + std::to_string(t);
      r.expectedVersion = -1;
      try {
        api::Application out;
        c.review->act(out, no, r);
        ++approved;
      } catch (const api::ApiError& e) {
        (e.code == api::ErrorCode::CONFLICT ? told : wrong)++;
      }
    });
  for (auto& t : approvers) t.join();
  BOOST_TEST(approved == 1);
  BOOST_TEST(told == 7);
  BOOST_TEST(wrong == 0);
  // Who acted is the certificate's name; what the client sent is kept beside
  // it as claimed (escaped: a line break forges nothing).
  {
    api::ActionRequest r;
    r.action = "assign";
    r.who = "市長\nforged line";
    r.assignee = "staff-x";
    api::Application out;
    c.review->act(out, no, r);
    BOOST_TEST(out.history.back().who == "staff (claimed: 市長\\nforged line)", out.history.back().who);
  }
  const auto after = c.get(no);
  int approvals = 0;
  for (const auto& step : after.history) approvals += step.action == "approve";
  BOOST_TEST(approvals == 1);
}

// SMTP smuggling: a value holding "\n.\n" (or "\n.\r\n", bare CRs) once ended
// the DATA early and the rest went to the relay as commands. Every line end
// becomes CRLF, a leading dot is doubled, long lines are folded: one mail
// arrives, holding the text as text.
BOOST_AUTO_TEST_CASE(a_value_cannot_end_a_mail_early_or_break_its_lines) {
  const int port = freePort();
  test::SmtpServer smtp(port);
  test::TempDir dir;
  fs::create_directories(dir / "in/in");
  fs::create_directories(dir / "templates");
  test::writeFile(dir / "templates/note.txt", "Subject: note for {department}\n\n{body}\n-- end\n");
  test::writeFile(dir / "notes.xml", R"(<layout xmlns="urn:renkei:layout:1" id="notes" record="note">
  <jsonl/><field name="department" pii="none"/><field name="template" pii="none"/><field name="body" pii="none"/>
</layout>)");
  test::writeFile(dir / "map.xml", R"(<mapping xmlns="urn:renkei:mapping:1" id="notes" version="1">
  <source layout="notes.xml"/><target record="note" zone="lgwan"/>
  <field to="department" from="department"/><field to="template" from="template"/><field to="body" from="body"/>
</mapping>)");
  test::writeFile(dir / "config.xml",
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"mail-test\" zone=\"lgwan\">\n"
                  "  <pipeline retry-initial=\"200ms\" retry-max=\"1s\" max-attempts=\"20\"/>\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"in\" plugin=\"file\"><directory>in</directory><settle>0s</settle></connector>\n"
                  "  <connector id=\"mail\" plugin=\"mail\"><server>127.0.0.1:" + std::to_string(port) +
                      "</server><from>renkei@city.example.lg.jp</from><recipients>市民課=shimin@city.example.lg.jp"
                      "</recipients><templates>templates</templates><timeout>5s</timeout></connector>\n"
                  "  <route id=\"notes\" from=\"in\" to=\"mail\" mapping=\"map.xml\"/>\n"
                  "</renkei>\n");
  const std::string smuggled =
      "first\n.\nMAIL FROM:<x@evil.example>\nRCPT TO:<y@evil.example>\nDATA\nsmuggled-lf\n.\r\n"
      "QUIT\r.\r.leading dot\n" + std::string(3000, 'w');
  std::string line = "{\"department\":\"市民課\",\"template\":\"note\",\"body\":\"";
  for (char c : smuggled) line += c == '\n' ? std::string("\\n") : c == '\r' ? std::string("\\r") : std::string(1, c);
  line += "\"}\n";
  test::writeFile(dir / "in/in/a.jsonl", line);
  auto served = test::run({test::renkeiBinary(), "serve", "--config", (dir / "config.xml").string(), "--once"},
                          {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}});
  BOOST_TEST_REQUIRE(served.exitCode == 0, served.out << served.err);
  BOOST_TEST_REQUIRE(eventually([&] { return smtp.mails().size() == 1u; }), served.err);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST(smtp.mails().size() == 1u);  // nothing smuggled as a second mail
  const std::string mail = smtp.mails()[0];
  BOOST_TEST(mail.find("MAIL FROM:<x@evil.example>") != std::string::npos, mail);  // text, not a command
  BOOST_TEST(mail.find("smuggled-lf") != std::string::npos);
  BOOST_TEST(mail.find("\n.leading dot\n") != std::string::npos, mail);  // doubled on the wire, undoubled on arrival
  BOOST_TEST(mail.find("\n.\nMAIL FROM") != std::string::npos, mail);    // the lone dot is text
  BOOST_TEST(mail.find("-- end") != std::string::npos);
  std::size_t longest = 0, at = 0;
  while (at < mail.size()) {
    const std::size_t nl = mail.find('\n', at);
    longest = std::max(longest, (nl == std::string::npos ? mail.size() : nl) - at);
    at = nl == std::string::npos ? mail.size() : nl + 1;
  }
  BOOST_TEST(longest <= 1000u);
}

// What a window PC read from a マイナンバーカード's chip (券面事項入力補助AP)
// becomes a 転居届 draft (mappings/card-ic-to-review.xml, source "ic"),
// matched item by item with the register: the card's 4 情報 beside the
// register's, a differing address shown as such, a person the register
// does not hold said so; what the card cannot say left for staff.
BOOST_AUTO_TEST_CASE(a_card_read_at_the_window_becomes_a_draft_matched_with_the_register) {
  Host h;
  h.start();
  h.drop("jumin", "JUMIN_NEXT.csv", exportWith("見本　太郎", "4020501"));
  const std::string db = (h.dir / "renkei.db").string();
  BOOST_TEST_REQUIRE(eventually([&] {
    auto r = test::run({"/usr/bin/sqlite3", db,
                        "SELECT count(*) FROM sqlite_master WHERE name LIKE '%review%residents'"});
    if (r.out != "1\n") return false;
    auto t = test::run({"/usr/bin/sqlite3", db, "SELECT name FROM sqlite_master WHERE name LIKE '%review%residents'"});
    std::string table = t.out.substr(0, t.out.find('\n'));
    auto n = test::run({"/usr/bin/sqlite3", db, "SELECT count(*) FROM " + table});
    return n.out != "0\n" && !n.out.empty();
  }), h.log());
  h.drop("cards", "cards-1.jsonl",
         "{\"読取ID\":\"W1-0001\",\"読取日時\":\"2026-12-07T09:12:03+09:00\",\"端末\":\"窓口1\",\"氏名\":\"見本　太郎\","
         "\"氏名振り仮名\":\"みほん　たろう\",\"住所\":\"架空県見本市どこにもない町99番\",\"生年月日\":\"19900501\",\"性別\":\"1\"}\n"
         "{\"読取ID\":\"W1-0002\",\"読取日時\":\"2026-12-07T09:20:41+09:00\",\"端末\":\"窓口1\",\"氏名\":\"登録　なし\","
         "\"氏名振り仮名\":\"\",\"住所\":\"架空県見本市西町10番1号\",\"生年月日\":\"19600229\",\"性別\":\"2\"}\n");
  Client c(h.port);
  BOOST_TEST_REQUIRE(eventually([&] { return c.list().size() == 2u; }), h.log());
  std::map<std::string, std::map<std::string, std::string>> byName;  // name → rule:field → ok/ng
  for (const auto& s : c.list()) {
    auto a = c.get(s.arrivalNo);
    BOOST_TEST(a.source == "ic");
    BOOST_TEST(s.source == "ic");
    BOOST_TEST(a.procedure == "tenkyo-todoke");
    auto& f = byName[a.fields["name"]];
    for (const auto& x : a.findings) f[x.rule + (x.field.empty() ? "" : ":" + x.field)] = x.ok ? "ok" : "ng";
    if (a.fields["name"] == "見本　太郎") {
      BOOST_TEST(a.fields["name_kana"] == "ミホン　タロウ");  // hiragana on the card, katakana in the draft
      BOOST_TEST(a.fields["birth_date"] == "1990-05-01");
      // The register's 4 情報 beside the card's: proposed, not put in place.
      BOOST_TEST(a.registered["name"] == "見本　太郎");
      BOOST_TEST(a.registered["birth_date"] == "1990-05-01");
      BOOST_TEST(!a.registered["address"].empty());
      BOOST_TEST(a.registered["address"] != a.fields["address"]);
      BOOST_TEST(a.fields["address"] == "架空県見本市どこにもない町99番");
    } else {
      BOOST_TEST(a.registered.empty());  // nobody matched: nothing proposed
    }
  }
  BOOST_TEST_REQUIRE(byName.count("見本　太郎") == 1u);
  auto& found = byName["見本　太郎"];
  BOOST_TEST(found["match.name"] == "ok");
  BOOST_TEST(found["match.birth"] == "ok");
  BOOST_TEST(found["match.sex"] == "ok");
  BOOST_TEST(found["match.address"] == "ng");  // the card's address is not the register's
  BOOST_TEST(found["required:move_date"] == "ng");
  BOOST_TEST(found["required:new_address"] == "ng");
  BOOST_TEST(byName["登録　なし"]["register"] == "ng");
}
