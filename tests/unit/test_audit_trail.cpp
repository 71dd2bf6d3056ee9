// The audit trail (core/src/audit_trail.h) on a real store (SQLite, or the
// test cluster's PostgreSQL with RENKEI_TEST_STORE=postgresql): appends from
// many threads land once each, in one chain; every way of changing the
// stored trail — an entry edited, deleted, inserted, reordered, the end cut
// off, the whole trail resealed by someone holding the key — is named by
// verify; the fiscal-year export cuts at 1 April local time.
#define BOOST_TEST_MODULE renkei_audit_trail
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "audit_trail.h"
#include "store/sql_db.h"
#include "store/store.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

bool onPostgres() {
  return std::getenv("RENKEI_TEST_STORE") && std::string(std::getenv("RENKEI_TEST_STORE")) == "postgresql";
}

const std::string kKey(40, 'k');
std::int64_t jst(std::int64_t) { return 9 * 60; }

// 2027-03-31 10:00 JST, and days after it.
constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kMarch31 = 1'806'454'800'000;

struct Fresh {
  test::TempDir dir;
  store::StoreConfig config;
  fs::path anchors;
  Fresh() {
    if (onPostgres()) {
      config.driver = "postgresql";
      config.connection = test::freshPostgresDatabase("audit");
    } else {
      config.path = dir / "renkei.db";
    }
    audit::openTrailDatabase(config, true);  // its table, as the host makes it
    anchors = dir / "anchors.txt";
  }
  std::unique_ptr<audit::Trail> trail() { return std::make_unique<audit::Trail>(config, kKey, anchors, jst); }
  audit::Finding verify(const std::string& key = kKey) {
    auto db = audit::openTrailDatabase(config, false);
    return audit::verify(*db, key, anchors);
  }
  void sql(const std::string& statement) {
    auto db = audit::openTrailDatabase(config, false);
    db->exec(statement);
  }
};

audit::Entry entry(std::int64_t atMs, const std::string& who, const std::string& action = "ResidentService.getResident") {
  AuditEntry a;
  a.who = who;
  a.address = "10.0.0.5";
  a.action = action;
  a.recordType = "resident";
  a.keyName = "resident_code";
  a.key = "12345678901";
  a.fields = {"name", "address"};
  a.result = "found=1";
  return audit::fromAudit(a, atMs, "窓口での本人確認");
}

/// 30 entries over three local days (10 a day), anchored as the days turn.
void thirtyOverThreeDays(Fresh& f) {
  auto trail = f.trail();
  for (int day = 0; day < 3; ++day)
    for (int i = 0; i < 10; ++i) trail->append(entry(kMarch31 + day * kDay + i * 60'000, "window-" + std::to_string(i)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(appends_from_many_threads_land_once_each_in_one_chain) {
  Fresh f;
  {
    auto trail = f.trail();
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 250; ++i) trail->append(entry(kMarch31 + i, "client-" + std::to_string(t)));
      });
    for (auto& th : threads) th.join();
    BOOST_TEST(trail->appended() == 2000u);
  }
  const audit::Finding v = f.verify();
  BOOST_TEST(v.ok, v.what);
  BOOST_TEST(v.entries == 2000);
  // The key is kept masked; the values of fields never enter.
  auto db = audit::openTrailDatabase(f.config, false);
  auto s = db->prepare("SELECT key_masked, fields, why FROM audit_trail WHERE seq = 1");
  BOOST_REQUIRE(s->next());
  const std::string key = s->text(0), fields = s->text(1), why = s->text(2);  // each read once (ODBC)
  BOOST_TEST(key.find("12345678") == std::string::npos, key);
  BOOST_TEST(key.size() >= 3u);
  BOOST_TEST(key.substr(key.size() - 3) == "901");
  BOOST_TEST(fields == "name,address");
  BOOST_TEST(why == "窓口での本人確認");
  // With another key nothing verifies.
  BOOST_TEST(!f.verify(std::string(40, 'x')).ok);
}

BOOST_AUTO_TEST_CASE(an_edited_deleted_inserted_or_reordered_entry_is_named) {
  struct Case {
    const char* name;
    std::string sql;
    std::int64_t seq;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"edited", "UPDATE audit_trail SET who = 'someone else' WHERE seq = 12", 12, "entry 12 was changed"},
      {"edited time", "UPDATE audit_trail SET at_ms = at_ms + 1 WHERE seq = 5", 5, "entry 5 was changed"},
      {"deleted", "DELETE FROM audit_trail WHERE seq = 12", 13, "entries 12 were deleted"},
      {"deleted two", "DELETE FROM audit_trail WHERE seq IN (12, 13)", 14, "entries 12–13 were deleted"},
      {"deleted and renumbered",
       "DELETE FROM audit_trail WHERE seq = 12; UPDATE audit_trail SET seq = seq + 1000 WHERE seq > 12; "
       "UPDATE audit_trail SET seq = seq - 1001 WHERE seq > 1000",
       12,
       "entry 12 is out of its place"},
      {"inserted",
       "UPDATE audit_trail SET seq = seq + 1000 WHERE seq >= 12; UPDATE audit_trail SET seq = seq - 999 WHERE seq >= 1012; "
       "INSERT INTO audit_trail SELECT 12, at_ms, 'intruder', address, action, record_type, key_name, key_masked, fields, "
       "result, why, prev, seal FROM audit_trail WHERE seq = 13",
       12, "entry 12 was inserted"},
      {"reordered",
       "UPDATE audit_trail SET seq = -1 WHERE seq = 12; UPDATE audit_trail SET seq = 12 WHERE seq = 13; "
       "UPDATE audit_trail SET seq = 13 WHERE seq = -1",
       12, "entry 12 is out of its place"},
      {"renumbered", "UPDATE audit_trail SET seq = seq + 100 WHERE seq >= 20", 120, "entry 120 was renumbered"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Fresh f;
      thirtyOverThreeDays(f);
      BOOST_TEST_REQUIRE(f.verify().ok);
      f.sql(c.sql);
      const audit::Finding v = f.verify();
      BOOST_TEST(!v.ok);
      BOOST_TEST(v.seq == c.seq, v.what);
      BOOST_TEST(v.what.find(c.says) != std::string::npos, v.what);
    }
  }
}

BOOST_AUTO_TEST_CASE(anchors_catch_a_trail_resealed_whole_or_cut_short) {
  Fresh f;
  thirtyOverThreeDays(f);
  // Two days turned: two anchors, the last entry of each day before.
  const std::string lines = test::readFile(f.anchors);
  BOOST_TEST(test::countLines(lines) == 2u, lines);
  BOOST_TEST(lines.find("2027-03-31 seq=10 seal=") == 0u, lines);
  BOOST_TEST(lines.find("2027-04-01 seq=20 seal=") != std::string::npos, lines);
  struct stat st {};
  BOOST_REQUIRE(::stat(f.anchors.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_TEST(f.verify().anchors == 2);

  // The end cut off (entries 15-30): the chain alone cannot tell, the
  // anchor of 1 April names entry 20.
  {
    Fresh g;
    thirtyOverThreeDays(g);
    g.sql("DELETE FROM audit_trail WHERE seq >= 15");
    const audit::Finding v = g.verify();
    BOOST_TEST(!v.ok);
    BOOST_TEST(v.seq == 20);
    BOOST_TEST(v.what.find("entry 20 is missing: the anchor at") != std::string::npos, v.what);
  }
  // Someone with the key edits entry 5 and reseals everything after it:
  // every seal matches, the anchors do not.
  {
    auto db = audit::openTrailDatabase(f.config, false);
    std::vector<audit::Entry> all;
    auto s = db->prepare("SELECT seq, at_ms, who, address, action, record_type, key_name, key_masked, fields, result, "
                         "why, prev, seal FROM audit_trail ORDER BY seq");
    while (s->next()) {
      audit::Entry e;
      e.seq = s->integer(0);
      e.atMs = s->integer(1);
      e.who = s->text(2);
      e.address = s->text(3);
      e.action = s->text(4);
      e.recordType = s->text(5);
      e.keyName = s->text(6);
      e.key = s->text(7);
      e.fields = s->text(8);
      e.result = s->text(9);
      e.why = s->text(10);
      all.push_back(e);
    }
    all[4].who = "nobody";
    std::string prev;
    db->begin();
    for (audit::Entry& e : all) {
      e.prev = prev;
      e.seal = audit::sealOf(kKey, prev, e);
      prev = e.seal;
      auto u = db->prepare("UPDATE audit_trail SET who = ?, prev = ?, seal = ? WHERE seq = ?");
      u->bind(1, e.who).bind(2, e.prev).bind(3, e.seal).bind(4, e.seq);
      u->run();
    }
    db->commit();
  }
  const audit::Finding v = f.verify();
  BOOST_TEST(!v.ok);
  BOOST_TEST(v.seq == 10);
  BOOST_TEST(v.what.find("differs from the anchor at " + f.anchors.string() + ":1 (2027-03-31)") != std::string::npos,
             v.what);
  BOOST_TEST(v.what.find("rewritten") != std::string::npos, v.what);
}

BOOST_AUTO_TEST_CASE(the_fiscal_year_export_cuts_at_the_first_of_april_local_time) {
  Fresh f;
  {
    auto trail = f.trail();
    trail->append(entry(1'806'505'140'000, "last-of-fy2026"));   // 2027-03-31 23:59 JST
    trail->append(entry(1'806'505'200'000, "first-of-fy2027"));  // 2027-04-01 00:00 JST
    trail->append(entry(1'806'505'200'000, "=cmd|' /c calc'!A1"));
  }
  auto db = audit::openTrailDatabase(f.config, false);
  std::ostringstream fy2026, fy2027;
  BOOST_TEST(audit::exportCsv(*db, 2026, jst, fy2026) == 1);
  BOOST_TEST(audit::exportCsv(*db, 2027, jst, fy2027) == 2);
  BOOST_TEST(fy2026.str().find("\"last-of-fy2026\"") != std::string::npos, fy2026.str());
  BOOST_TEST(fy2026.str().find("\"2027-03-31 23:59:00 +09:00\"") != std::string::npos, fy2026.str());
  BOOST_TEST(fy2027.str().find("first-of-fy2027") != std::string::npos);
  BOOST_TEST(fy2027.str().find("\"'=cmd") != std::string::npos, fy2027.str());  // a formula is text
  BOOST_TEST(fy2026.str().rfind("seq,time,who,address,action,record_type,key_name,key,fields,result,why\r\n", 0) == 0u);
  BOOST_TEST(fy2026.str().find("12345678901") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_key_is_a_secret_of_its_owner_only) {
  test::TempDir dir;
  test::writeFile(dir / "open.key", std::string(64, 'a') + "\n");
  ::chmod((dir / "open.key").c_str(), 0644);
  BOOST_CHECK_EXCEPTION(audit::readKey(dir / "open.key"), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("readable by others than its owner") != std::string::npos;
  });
  test::writeFile(dir / "short.key", "tooshort\n");
  ::chmod((dir / "short.key").c_str(), 0600);
  BOOST_CHECK_EXCEPTION(audit::readKey(dir / "short.key"), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("has 8 bytes; at least 32") != std::string::npos;
  });
  test::writeFile(dir / "good.key", std::string(64, 'b') + "\n");
  ::chmod((dir / "good.key").c_str(), 0600);
  BOOST_TEST(audit::readKey(dir / "good.key") == std::string(64, 'b'));
}

// PostgreSQL restarted under a running host (its connections terminated):
// the trail's next append goes on (the store's ODBC connection reconnects
// by itself); it does not stay broken, every API call failing, until the
// host restarts.
BOOST_AUTO_TEST_CASE(the_trail_goes_on_after_the_store_drops_its_connection,
                     *boost::unit_test::precondition([](auto) { return onPostgres(); })) {
  Fresh f;
  auto trail = f.trail();
  trail->append(entry(kMarch31, "before"));
  {
    auto other = audit::openTrailDatabase(f.config, false);
    auto s = other->prepare(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> "
        "pg_backend_pid()");
    while (s->next()) {
    }
  }
  BOOST_CHECK_NO_THROW(trail->append(entry(kMarch31 + 1000, "after")));
  trail.reset();
  const audit::Finding v = f.verify();
  BOOST_TEST(v.ok, v.what);
  BOOST_TEST(v.entries == 2);
}
