// Upgrades without loss: a store as every earlier schema left it (0 to the
// newest less one), with rows in every table of that schema — files done,
// failed and leased, an outbox row pending, a dead letter, a delivered
// one, the operators' log, emissions, held records, acknowledgements,
// refusals, operators — and a plugin's own state, brought up by the
// current renkei: `renkei migrate --dry-run` lists the steps and changes
// nothing, `renkei migrate` runs them, every row is still there, and
// `serve --once` delivers the pending batch once and leaves the dead letter
// and the delivered one as they were. Run on SQLite, and on PostgreSQL as
// test_migrations_postgres (RENKEI_TEST_STORE=postgresql, the throwaway
// cluster). An old renkei meeting a newer store is refused with what to do.
#define BOOST_TEST_MODULE migrations
#include <boost/test/unit_test.hpp>

#include "renkei/state.h"
#include "state_store.h"
#include "store/sql_db.h"
#include "store/store.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

using test::onPostgres;

std::map<std::string, std::string> pluginEnv() { return {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}}; }

test::ProcessResult cli(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, pluginEnv());
}

/// Rows for the tables schema `version` has, written as that release wrote
/// them (only the columns the table had when it was made; later columns
/// take their defaults, as they do in a real upgrade).
std::vector<std::string> fixtureRows(int version, std::int64_t now) {
  const std::string t = std::to_string(now), past = std::to_string(now - 3'600'000);
  std::vector<std::string> out;
  if (version >= 1) {
    out.push_back("INSERT INTO intake_files (route, sha256, name, size, state, first_seen, finished_at, note) VALUES "
                  "('r', 'sha-a', 'a.txt', 10, 'done', '2026-11-01T00:00:00Z', '2026-11-01T00:00:01Z', NULL)");
    out.push_back("INSERT INTO intake_files (route, sha256, name, size, state, first_seen, finished_at, note) VALUES "
                  "('r', 'sha-b', 'b.txt', 10, 'failed', '2026-11-02T00:00:00Z', '2099-01-01T00:00:00Z', "
                  "'not the layout''s header')");
    out.push_back("INSERT INTO intake_files (route, sha256, name, size, state, first_seen, finished_at, note) VALUES "
                  "('r', 'sha-c', 'c.txt', 10, 'processing', '2026-11-03T00:00:00Z', NULL, NULL)");
  }
  if (version >= 2) {
    out.push_back("UPDATE intake_files SET lease_owner = 'old-host', lease_until = " + past + " WHERE sha256 = 'sha-c'");
    for (const auto& [id, state, text] :
         std::vector<std::tuple<std::string, std::string, std::string>>{{"r-p-000001", "pending", "pending one"},
                                                                        {"r-d-000001", "dead", "dead one"},
                                                                        {"r-v-000001", "delivered", "delivered one"}}) {
      out.push_back("INSERT INTO batches (id, route, file_sha, source_item, seq, first_record, last_record, records, "
                    "created_ms, fields, payload) VALUES ('" + id + "', 'r', 'sha-a', 'a.txt', 1, 1, 1, 1, " + t +
                    ", '[\"line\"]', '[\"" + text + "\"]\n')");
      out.push_back("INSERT INTO outbox (batch_id, route, target, state, attempts, records, created_ms, updated_ms, "
                    "delivered_ms, next_attempt_ms, last_error) VALUES ('" + id + "', 'r', 'out', '" + state + "', " +
                    (state == "dead" ? "8" : "1") + ", 1, " + t + ", " + t + ", " + (state == "delivered" ? t : "0") +
                    ", " + past + ", '" + (state == "dead" ? "the target refused it" : "") + "')");
    }
    out.push_back("INSERT INTO operator_log (at_ms, who, action, detail) VALUES (" + t +
                  ", 'tester', 'resubmit', 'an earlier release''s entry')");
  }
  if (version >= 3)
    out.push_back("INSERT INTO emissions (emitter, emission_key, at_ms, records) VALUES ('crm', 'visit:1', " + t + ", 1)");
  if (version >= 5)
    out.push_back("INSERT INTO held_records (emitter, emission_key, route, record_type, number, reasons, fields, record, "
                  "state, created_ms, changed_ms) VALUES ('crm', 'visit:1', '', 'crm.status', 1, 'no route takes them', "
                  "'[\"line\"]', '[\"x\"]', 'held', " + t + ", " + t + ")");
  if (version >= 6)
    out.push_back("INSERT INTO acknowledged_files (route, sha256, who, at_ms) VALUES ('r', 'sha-b', '係長', " + t + ")");
  if (version >= 7)
    out.push_back("INSERT INTO refused_items (source, item, reason, at_ms) VALUES ('in', 'huge.csv', "
                  "'larger than max-file-size', " + t + ")");
  if (version >= 8)
    out.push_back("INSERT INTO operators (id, password_hash, groups_list, created_ms) VALUES ('tanaka', 'x', "
                  "'operators', " + t + ")");
  return out;
}

struct Instance {
  test::TempDir dir;
  store::StoreConfig store;
  std::string storeXml;
  Instance() {
    if (onPostgres()) {
      store.driver = "postgresql";
      store.connection = test::freshPostgresDatabase("migrate");
      storeXml = "<store driver=\"postgresql\" connection=\"" + store.connection + "\"/>";
    } else {
      store.driver = "sqlite";
      store.path = dir / "renkei.db";
      storeXml = "<store driver=\"sqlite\" path=\"renkei.db\"/>";
    }
    fs::create_directories(dir / "in/in");
    test::writeFile(dir / "config.xml",
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"city\" zone=\"lgwan\">\n"
                    "  <pipeline poll-interval=\"100ms\"/>\n  " + storeXml + "\n"
                    "  <connector id=\"in\" plugin=\"file\"><directory>in</directory></connector>\n"
                    "  <connector id=\"out\" plugin=\"file\"><directory>delivered</directory></connector>\n"
                    "  <route id=\"r\" from=\"in\" to=\"out\"/>\n"
                    "</renkei>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  std::string deliveredText() const {
    std::string all;
    if (fs::exists(dir / "delivered/out"))
      for (const auto& f : test::listFiles(dir / "delivered/out")) all += test::readFile(dir / "delivered/out" / f);
    return all;
  }
};

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_earlier_schema_with_rows_in_every_table_is_brought_up_without_loss) {
  const int known = store::knownSchemaVersion();
  BOOST_TEST_REQUIRE(known >= 8);
  for (int from = 0; from < known; ++from) {
    BOOST_TEST_CONTEXT("from schema " << from) {
      Instance in;
      store::migrateDatabaseTo(in.store, from);
      const std::int64_t now = store::nowMs();
      {
        auto db = store::openDatabase(in.store);
        BOOST_TEST_REQUIRE(db->schemaVersion() == from);
        for (const std::string& sql : fixtureRows(from, now)) db->exec(sql);
      }
      // A plugin's own state (a module's table), kept beside the host's.
      {
        auto state = openStateStore(in.store, "crm", 2);
        state->migrate({"CREATE TABLE {visits} (visit_id TEXT PRIMARY KEY, state TEXT NOT NULL)"});
        state->write([&](StateSession& s) {
          s.run("INSERT INTO " + state->table("visits") + " (visit_id, state) VALUES (?, ?)",
                {std::string("V-1"), std::string("open")});
        });
      }

      // The dry run says what would change and changes nothing.
      auto dry = cli({"migrate", "--config", in.config(), "--dry-run"});
      BOOST_TEST(dry.exitCode == 0, dry.err);
      BOOST_TEST(dry.out.find("schema " + std::to_string(from) + "; renkei ") != std::string::npos, dry.out);
      for (int step = 1; step <= known; ++step)
        BOOST_TEST((dry.out.find("  step " + std::to_string(step) + ": ") != std::string::npos) == (step > from),
                   "step " << step << ": " << dry.out);
      BOOST_TEST(dry.out.find("dry run: nothing was changed") != std::string::npos, dry.out);
      BOOST_TEST(dry.out.find("crm (tables st_crm_*): step 1") != std::string::npos, dry.out);
      BOOST_TEST(store::openDatabase(in.store)->schemaVersion() == from);

      auto run = cli({"migrate", "--config", in.config(), "--by", "tester"});
      BOOST_TEST(run.exitCode == 0, run.err);
      BOOST_TEST(run.out.find("migrated: schema " + std::to_string(from) + " to " + std::to_string(known)) !=
                     std::string::npos,
                 run.out);
      auto again = cli({"migrate", "--config", in.config()});
      BOOST_TEST(again.out.find("up to date: nothing to change") != std::string::npos, again.out);

      // Every row is there, read through the current store.
      auto s = store::openStore(in.store);
      BOOST_TEST(s->schemaVersion() == known);
      const auto files = s->recentFiles("r", 100);
      BOOST_TEST(files.size() == (from >= 1 ? 3u : 0u));
      if (from >= 2) {
        const auto queues = s->queueStatus();
        BOOST_TEST_REQUIRE(queues.size() == 1u);
        BOOST_TEST(queues[0].pendingBatches == 1);
        BOOST_TEST(queues[0].deadBatches == 1);
        BOOST_TEST(queues[0].deliveredBatches == 1);
        for (const auto& f : files)
          if (f.sha256 == "sha-c") BOOST_TEST(f.leaseOwner == "old-host");
      }
      if (from >= 3) BOOST_TEST(s->emitted("crm", "visit:1"));
      if (from >= 5) BOOST_TEST(s->heldSummary().size() == 1u);
      if (from >= 6) BOOST_TEST(s->acknowledgedFiles().count({"r", "sha-b"}) == 1u);
      if (from >= 7) BOOST_TEST(s->refusals(0, 10).size() == 1u);
      if (from >= 8) {
        auto db = store::openDatabase(in.store);
        auto st = db->prepare("SELECT COUNT(*) FROM operators");
        BOOST_TEST_REQUIRE(st->next());
        BOOST_TEST(st->integer(0) == 1);
      }
      const auto log = s->operatorLog(100);
      BOOST_TEST(std::any_of(log.begin(), log.end(), [](const auto& a) { return a.action == "migrate"; }));
      s.reset();
      {
        auto state = openStateStore(in.store, "crm", 2);
        std::string visit;
        state->read([&](StateSession& ss) {
          ss.query("SELECT state FROM " + state->table("visits") + " WHERE visit_id = ?", {std::string("V-1")},
                   [&](StateRows& r) { visit = r.text(0); });
        });
        BOOST_TEST(visit == "open");
      }

      // The pending batch is delivered once; the dead letter and the
      // delivered batch are left as they were.
      auto serve = cli({"serve", "--config", in.config(), "--once"});
      BOOST_TEST(serve.exitCode == 0, serve.err);
      const std::string out = in.deliveredText();
      BOOST_TEST(occurrences(out, "pending one") == (from >= 2 ? 1u : 0u), out);
      BOOST_TEST(occurrences(out, "dead one") == 0u, out);
      BOOST_TEST(occurrences(out, "delivered one") == 0u, out);
      auto status = cli({"status", "--config", in.config()});
      if (from >= 2)
        BOOST_TEST(status.out.find("1 dead letters (1 records), 2 delivered") != std::string::npos, status.out);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_older_renkei_refuses_a_newer_store_and_says_what_to_do) {
  Instance in;
  store::openStore(in.store).reset();  // the current schema
  {
    auto db = store::openDatabase(in.store);
    db->begin();
    db->setSchemaVersion(store::knownSchemaVersion() + 1);  // as a later release would leave it
    db->commit();
  }
  const std::string newer = std::to_string(store::knownSchemaVersion() + 1);
  auto migrate = cli({"migrate", "--config", in.config(), "--dry-run"});
  BOOST_TEST(migrate.exitCode == 1);
  BOOST_TEST(migrate.err.find("refused: the store has schema " + newer + ", newer than this renkei knows") !=
                 std::string::npos,
             migrate.err);
  auto serve = cli({"serve", "--config", in.config(), "--once"});
  BOOST_TEST(serve.exitCode != 0);
  BOOST_TEST((serve.out + serve.err).find("newer than this renkei knows") != std::string::npos, serve.out + serve.err);
  BOOST_TEST((serve.out + serve.err).find("use a newer renkei") != std::string::npos, serve.out + serve.err);
  // Nothing was changed by either.
  BOOST_TEST(store::openDatabase(in.store)->schemaVersion() == store::knownSchemaVersion() + 1);
}
