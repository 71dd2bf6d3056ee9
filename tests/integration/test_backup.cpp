// Backups of the store and restoring them, with real processes: `renkei
// backup` written nine times as files come in (seven generations kept),
// each of the seven restored with the store exactly as it was then; a
// truncated backup and one of a newer schema refused; a folder that is a
// link or a file refused; the disk filling during a backup (a file-size
// limit on the process) leaves the generations before intact; a restore
// into a serving instance refused; the schedule in a serving host, on every
// day and only on the municipal calendar's open days (libfaketime moves the
// host to New Year's Day), with its metrics.
#define BOOST_TEST_MODULE renkei_backup
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }
std::map<std::string, std::string> pluginEnv() { return {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}}; }

test::ProcessResult cli(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  for (const auto& [k, v] : pluginEnv()) env[k] = v;
  return test::run(full, env);
}

struct Instance {
  test::TempDir dir;
  int files = 0;
  explicit Instance(const std::string& backupXml = "<backup folder=\"backups\" keep=\"7\"/>",
                    const std::string& extra = "") {
    fs::create_directories(dir / "exchange/in");
    test::writeFile(dir / "config.xml",
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"city\" zone=\"lgwan\" time-zone=\"Asia/Tokyo\">\n"
                    "  <pipeline poll-interval=\"200ms\"/>\n"
                    "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                    "  " + backupXml + "\n" + extra +
                    "  <connector id=\"in\" plugin=\"file\"><directory>exchange</directory><settle>0s</settle></connector>\n"
                    "  <connector id=\"out\" plugin=\"file\"><directory>delivered</directory></connector>\n"
                    "  <route id=\"r\" from=\"in\" to=\"out\"/>\n"
                    "</renkei>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  /// One more file taken in and delivered.
  void takeIn() {
    ++files;
    std::string text;
    for (int i = 0; i < 50 * files; ++i) text += "line " + std::to_string(i) + " of file " + std::to_string(files) + "\n";
    test::writeFile(dir / "exchange/in" / ("F" + std::to_string(files) + ".txt"), text);
    auto r = cli({"serve", "--config", config(), "--once"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  }
  std::string sql(const std::string& q) const {
    auto r = test::run({"/usr/bin/sqlite3", (dir / "renkei.db").string(), q});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    return r.out;
  }
  std::vector<fs::path> generations() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir / "backups"))
      if (e.path().extension() == ".backup") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(seven_generations_each_restore_the_store_as_it_was) {
  Instance in;
  std::map<std::string, std::string> taken;  // backup file name → the files the store had taken in then
  for (int g = 1; g <= 9; ++g) {
    in.takeIn();
    auto b = cli({"backup", "--config", in.config()});
    BOOST_REQUIRE_MESSAGE(b.exitCode == 0, b.err);
    BOOST_TEST(b.out.find("verified") != std::string::npos, b.out);
    const auto all = in.generations();
    taken[all.back().filename().string()] = in.sql("SELECT count(*), sum(records) FROM batches");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // a name per second
  }
  const auto kept = in.generations();
  BOOST_TEST_REQUIRE(kept.size() == 7u);  // the two oldest removed
  auto listed = cli({"backup", "list", "--config", in.config()});
  BOOST_TEST(listed.out.find("7 verified generations") != std::string::npos, listed.out);
  for (const fs::path& file : kept) {
    const bool ownerOnly = (fs::status(file).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none;
    BOOST_TEST(ownerOnly, file);
    auto r = cli({"restore", "--config", in.config(), "--from", file.string(), "--by", "it-staff"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    BOOST_TEST(in.sql("SELECT count(*), sum(records) FROM batches") == taken[file.filename().string()], file);
    BOOST_TEST(in.sql("SELECT action, who FROM operator_log ORDER BY id DESC LIMIT 1") == "restore|it-staff\n");
  }
  // The store before each restore is kept beside it, readable by renkei alone.
  std::size_t aside = 0;
  for (const auto& e : fs::directory_iterator(in.dir.path()))
    if (e.path().filename().string().find("renkei.db.before-restore-") == 0 &&
        e.path().filename().string().find("-wal") == std::string::npos &&
        e.path().filename().string().find("-shm") == std::string::npos)
      ++aside;
  BOOST_TEST(aside >= 1u);
  // What was restored serves on: the next file is taken in on top of it.
  in.takeIn();
  BOOST_TEST(in.sql("SELECT count(*) FROM intake_files") == "10\n");  // the last restored (generation 9's nine), and this one
}

// The audit trail's own SQLite file (renkei-audit.db beside the store) is
// backed up with the store and verified the same; a restore never rolls it
// back (it records what was done, the restore included) and puts the copy
// back only where the trail is gone.
BOOST_AUTO_TEST_CASE(the_audit_trail_is_backed_up_with_the_store_and_never_rolled_back) {
  Instance in("<backup folder=\"backups\"/>",
              "  <audit key-file=\"audit.key\" anchor-file=\"anchors.txt\"/>\n");
  test::writeFile(in.dir / "audit.key", std::string(64, 'z') + "\n");
  ::chmod((in.dir / "audit.key").c_str(), 0600);
  in.takeIn();
  BOOST_REQUIRE(fs::exists(in.dir / "renkei-audit.db"));
  auto b = cli({"backup", "--config", in.config()});
  BOOST_REQUIRE_MESSAGE(b.exitCode == 0, b.err);
  const fs::path gen = in.generations().back();
  BOOST_TEST(fs::exists(fs::path(gen.string() + ".audit")));
  BOOST_TEST(test::readFile(fs::path(gen.string() + ".json")).find("\"audit\"") != std::string::npos);
  // Restored with the trail in place: the trail stays as it is (and records the restore).
  const auto trailBefore = fs::file_size(in.dir / "renkei-audit.db");
  auto r = cli({"restore", "--config", in.config(), "--from", gen.string(), "--by", "it-staff"});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  BOOST_TEST(fs::file_size(in.dir / "renkei-audit.db") >= trailBefore);
  BOOST_TEST(r.err.find("its copy from the backup is put back") == std::string::npos, r.err);
  // The disk lost the trail: the copy comes back.
  fs::remove(in.dir / "renkei-audit.db");
  fs::remove(in.dir / "renkei-audit.db-wal");
  fs::remove(in.dir / "renkei-audit.db-shm");
  r = cli({"restore", "--config", in.config(), "--from", gen.string(), "--by", "it-staff"});
  BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  BOOST_TEST(fs::exists(in.dir / "renkei-audit.db"));
  BOOST_TEST(r.err.find("its copy from the backup is put back") != std::string::npos, r.err);
  // A copy of the trail changed after the backup fails verification.
  {
    std::fstream f(gen.string() + ".audit", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
  }
  auto v = cli({"backup", "verify", "--file", gen.string()});
  BOOST_TEST(v.exitCode == 1);
  BOOST_TEST(v.err.find("audit trail's copy") != std::string::npos, v.err);
}

BOOST_AUTO_TEST_CASE(a_truncated_backup_or_one_of_a_newer_schema_is_refused) {
  Instance in;
  in.takeIn();
  // renkei status says so while there is no verified backup (exit 7), then its age.
  auto none = cli({"status", "--config", in.config()});
  BOOST_TEST(none.exitCode == 7, none.out);
  BOOST_TEST(none.out.find("problem: no verified backup in") != std::string::npos, none.out);
  BOOST_REQUIRE(cli({"backup", "--config", in.config()}).exitCode == 0);
  auto fresh = cli({"status", "--config", in.config()});
  BOOST_TEST(fresh.exitCode == 0, fresh.out);
  BOOST_TEST(fresh.out.find("backup: last verified ") != std::string::npos, fresh.out);
  BOOST_TEST(fresh.out.find("1 generations in") != std::string::npos, fresh.out);
  const fs::path good = in.generations().back();
  BOOST_TEST(cli({"backup", "verify", "--file", good.string()}).exitCode == 0);
  // Truncated (a copy cut short by a full disk, a broken transfer).
  const fs::path cut = in.dir / "backups/renkei-city-cut.backup";
  fs::copy_file(good, cut);
  fs::copy_file(fs::path(good.string() + ".json"), fs::path(cut.string() + ".json"));
  fs::resize_file(cut, fs::file_size(cut) / 2);
  auto v = cli({"backup", "verify", "--file", cut.string()});
  BOOST_TEST(v.exitCode == 1);
  BOOST_TEST(v.err.find("truncated or changed") != std::string::npos, v.err);
  const std::string before = in.sql("SELECT count(*) FROM batches");
  auto r = cli({"restore", "--config", in.config(), "--from", cut.string()});
  BOOST_TEST(r.exitCode == 1);
  BOOST_TEST(in.sql("SELECT count(*) FROM batches") == before);
  // Of a schema newer than this renkei knows.
  std::string manifest = test::readFile(fs::path(good.string() + ".json"));
  manifest = std::regex_replace(manifest, std::regex("\"schema\": [0-9]+"), "\"schema\": 999");
  test::writeFile(fs::path(good.string() + ".json"), manifest);
  auto newer = cli({"restore", "--config", in.config(), "--from", good.string()});
  BOOST_TEST(newer.exitCode == 1);
  BOOST_TEST(newer.err.find("newer than this renkei knows") != std::string::npos, newer.err);
}

BOOST_AUTO_TEST_CASE(a_folder_that_is_a_link_or_a_file_and_a_full_disk_leave_the_generations_before) {
  Instance in;
  in.takeIn();
  BOOST_REQUIRE(cli({"backup", "--config", in.config()}).exitCode == 0);
  // The disk fills while the next one is written: the process may write
  // 16 KiB per file (SIGXFSZ ignored, so the write fails as on a full disk).
  for (int i = 0; i < 3; ++i) in.takeIn();
  auto full = test::run({"/bin/bash", "-c", "trap '' XFSZ; ulimit -f 16; exec \"$0\" backup --config \"$1\"",
                         test::renkeiBinary(), in.config()},
                        pluginEnv());
  BOOST_TEST(full.exitCode == 1, full.out << full.err);
  BOOST_TEST(full.err.find("the generations before are kept") != std::string::npos, full.err);
  BOOST_TEST(in.generations().size() == 1u);
  for (const auto& e : fs::directory_iterator(in.dir / "backups"))
    BOOST_TEST(e.path().extension() != ".tmp", e.path());
  BOOST_TEST(cli({"backup", "verify", "--file", in.generations().front().string()}).exitCode == 0);
  // A backup whose manifest was never written (a crash before it) is not a
  // generation: the next run removes it.
  test::writeFile(in.dir / "backups/renkei-city-20261201-020000.backup", "half");
  BOOST_REQUIRE(cli({"backup", "--config", in.config()}).exitCode == 0);
  BOOST_TEST(!fs::exists(in.dir / "backups/renkei-city-20261201-020000.backup"));
  BOOST_TEST(in.generations().size() == 2u);
  // A folder that is a link, or a file.
  fs::create_directories(in.dir / "elsewhere");
  fs::create_directory_symlink(in.dir / "elsewhere", in.dir / "linked");
  auto link = cli({"backup", "--config", in.config(), "--to", (in.dir / "linked").string()});
  BOOST_TEST(link.exitCode == 1);
  BOOST_TEST(link.err.find("is a symbolic link") != std::string::npos, link.err);
  BOOST_TEST(fs::is_empty(in.dir / "elsewhere"));
  test::writeFile(in.dir / "afile", "x");
  auto file = cli({"backup", "--config", in.config(), "--to", (in.dir / "afile").string()});
  BOOST_TEST(file.exitCode == 1);
  BOOST_TEST(file.err.find("is not a folder") != std::string::npos, file.err);
}

BOOST_AUTO_TEST_CASE(a_restore_into_a_serving_instance_is_refused) {
  Instance in;
  in.takeIn();
  BOOST_REQUIRE(cli({"backup", "--config", in.config()}).exitCode == 0);
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", in.config()}, in.dir / "serve", pluginEnv());
  BOOST_REQUIRE(test::waitFor([&] { return fs::exists(in.dir / "renkei.db.serving"); }, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto r = cli({"restore", "--config", in.config(), "--from", in.generations().back().string()});
  BOOST_TEST(r.exitCode == 1);
  BOOST_TEST(r.err.find("a renkei serve holds the store") != std::string::npos, r.err);
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
  BOOST_TEST(cli({"restore", "--config", in.config(), "--from", in.generations().back().string()}).exitCode == 0);
}

BOOST_AUTO_TEST_CASE(a_serving_host_backs_up_on_schedule_on_the_days_it_is_told) {
  std::map<std::string, std::string> clock;
  for (const auto& arch : fs::directory_iterator("/usr/lib"))
    if (fs::exists(arch.path() / "faketime/libfaketimeMT.so.1"))
      clock = {{"LD_PRELOAD", (arch.path() / "faketime/libfaketimeMT.so.1").string()}};
  BOOST_TEST_REQUIRE(!clock.empty(), "libfaketime is not installed (scripts/setup installs it)");
  test::TempDir tls;
  auto certs = test::run({source("scripts/make-certs").string(), tls.path().string()});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  const std::string t = tls.path().string();
  const std::string cal = "<calendar file=\"" + source("config/calendar/demo-city.xml").string() + "\"/>\n"
                          "<admin address=\"127.0.0.1\" port=\"0\"/>\n"
                          "<api address=\"127.0.0.1\" port=\"0\" certificate=\"" + t + "/server.crt\" key=\"" + t +
                          "/server.key\" client-ca=\"" + t + "/ca.crt\"/>\n";
  // 元日 2027 at 03:00 JST, a closed day: days="open" makes none; every day does.
  for (const std::string days : {"open", "every"}) {
    BOOST_TEST_CONTEXT(days) {
      Instance in("<backup folder=\"backups\" at=\"02:00\" days=\"" + days + "\"/>", cal);
      in.takeIn();
      auto env = pluginEnv();
      for (const auto& [k, v] : clock) env[k] = v;
      env["FAKETIME"] = "@2027-01-01 03:00:00";
      env["TZ"] = "Asia/Tokyo";
      auto host = test::spawn({test::renkeiBinary(), "serve", "--config", in.config()}, in.dir / "serve", env);
      const int admin = test::adminPort(host);
      BOOST_REQUIRE(admin > 0);
      std::string metrics;
      BOOST_REQUIRE(test::waitFor([&] {
        metrics = test::httpGet(admin, "/metrics").body;
        return metrics.find("renkei_backup_age_seconds") != std::string::npos;
      }, 20));
      // The disks it writes to and the certificate it serves with, for the alert rules.
      for (const char* m : {"renkei_disk_free_ratio{folder=\"store\"}", "renkei_disk_free_bytes{folder=\"spool\"}",
                            "renkei_certificate_expiry_seconds{use=\"api\"}"})
        BOOST_TEST(metrics.find(m) != std::string::npos, m);
      const std::string expiry = "renkei_certificate_expiry_seconds{use=\"api\"} ";
      if (const auto at = metrics.find(expiry); at != std::string::npos) {
        // Made now for 825 days; the host's clock is on 2027-01-01, weeks on.
        const double days = std::stod(metrics.substr(at + expiry.size())) / 86400;
        BOOST_TEST((days > 700 && days < 825), days);
      }
      if (days == "every") {
        BOOST_TEST((fs::exists(in.dir / "backups") && in.generations().size() == 1u));
        BOOST_TEST(metrics.find("renkei_backup_stale 0") != std::string::npos, metrics);
        BOOST_TEST(in.generations().front().filename().string().find("renkei-city-20270101-03") == 0u,
                   in.generations().front());
      } else {
        BOOST_TEST((!fs::exists(in.dir / "backups") || in.generations().empty()));
        BOOST_TEST(metrics.find("renkei_backup_age_seconds -1") != std::string::npos, metrics);
      }
      ::kill(host.pid, SIGTERM);
      BOOST_TEST(host.wait().exitCode == 0);
    }
  }
}

// PostgreSQL (test_backup_postgres, on the throwaway cluster): pg_dump's
// custom format from a snapshot the counts are read in, read back and
// counted; restored with every other session gone, the tables as they were.
BOOST_AUTO_TEST_CASE(a_postgresql_store_is_backed_up_from_a_snapshot_and_restored) {
  const char* which = std::getenv("RENKEI_TEST_STORE");
  if (!which || std::string(which) != "postgresql") {
    BOOST_TEST_MESSAGE("PostgreSQL: run as test_backup_postgres");
    return;
  }
  const std::string connection = test::freshPostgresDatabase("backup");
  Instance in;
  std::string config = test::readFile(in.dir / "config.xml");
  config.replace(config.find("<store driver=\"sqlite\" path=\"renkei.db\"/>"), 41,
                 "<store driver=\"postgresql\" connection=\"" + connection + "\"/>");
  test::writeFile(in.dir / "config.xml", config);
  const fs::path pgDir = fs::path(test::env("ODBCINI")).parent_path().parent_path();
  const std::string database = connection.substr(connection.find("Database=") + 9,
                                                 connection.rfind(';') - connection.find("Database=") - 9);
  auto psql = [&](const std::string& sql) {
    std::map<std::string, std::string> env{{"PGPASSWORD", test::readFile(pgDir / "pw").substr(0, test::readFile(pgDir / "pw").find('\n'))}};
    std::string host, port;
    for (const char* line : {"PGHOST", "PGPORT"}) {
      const std::string text = test::readFile(pgDir / "env");
      const auto at = text.find(std::string(line) + "=");
      const std::size_t len = std::strlen(line);
      (std::string(line) == "PGHOST" ? host : port) = text.substr(at + len + 1, text.find('\n', at) - at - len - 1);
    }
    auto r = test::run({"/usr/bin/psql", "-At", "-h", host, "-p", port, "-U", "renkei", "-d", database, "-c", sql}, env);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    return r.out;
  };
  in.takeIn();
  in.takeIn();
  auto first = cli({"backup", "--config", in.config()});
  BOOST_REQUIRE_MESSAGE(first.exitCode == 0, first.err);
  const std::string then = psql("SELECT count(*), sum(records) FROM batches");
  const fs::path gen1 = in.generations().back();
  BOOST_TEST(cli({"backup", "verify", "--file", gen1.string()}).exitCode == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  in.takeIn();
  BOOST_REQUIRE(cli({"backup", "--config", in.config()}).exitCode == 0);
  BOOST_TEST(psql("SELECT count(*), sum(records) FROM batches") != then);
  // Refused while a host serves the database.
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", in.config()}, in.dir / "serve", pluginEnv());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  auto refused = cli({"restore", "--config", in.config(), "--from", gen1.string()});
  BOOST_TEST(refused.exitCode == 1);
  BOOST_TEST(refused.err.find("other sessions") != std::string::npos, refused.err);
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
  auto restored = cli({"restore", "--config", in.config(), "--from", gen1.string(), "--by", "it-staff"});
  BOOST_REQUIRE_MESSAGE(restored.exitCode == 0, restored.err);
  BOOST_TEST(psql("SELECT count(*), sum(records) FROM batches") == then);
  BOOST_TEST(psql("SELECT action FROM operator_log ORDER BY id DESC LIMIT 1") == "restore\n");
}
