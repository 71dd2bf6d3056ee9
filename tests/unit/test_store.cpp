// The store's contract, run on SQLite and (as test_store_postgres, with the
// throwaway cluster) on PostgreSQL through psqlODBC: migrations, the intake
// register and its leases, batches and outboxes, retries, dead letters,
// resubmit and replay with the operators' log.
#define BOOST_TEST_MODULE renkei_store
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "state_store.h"
#include "local_time.h"
#include "store/store.h"
#include "test_support.h"

using namespace renkei;
using namespace renkei::store;

namespace {

using test::onPostgres;

// A fresh store per test: a new SQLite file, or a new PostgreSQL database.
struct Fresh {
  test::TempDir dir;
  StoreConfig config;
  Fresh() {
    if (onPostgres()) {
      config.driver = "postgresql";
      config.connection = test::freshPostgresDatabase("store");
    } else {
      config.path = dir / "var/renkei.db";  // the folder is created on open
    }
  }
};

BatchRow batch(const std::string& route, const std::string& sha, int seq, int records) {
  BatchRow b;
  b.id = route + "-" + sha + "-" + std::to_string(seq);
  b.route = route;
  b.fileSha = sha;
  b.sourceItem = "a.csv";
  b.sequence = seq;
  b.firstRecord = seq * 10 + 1;
  b.lastRecord = seq * 10 + records;
  b.records = records;
  for (int i = 0; i < records; ++i) b.payload += "{\"n\":\"髙橋 " + std::to_string(i) + "\"}\n";
  return b;
}

}  // namespace

BOOST_AUTO_TEST_CASE(migrations_apply_once_and_the_register_persists) {
  Fresh f;
  {
    auto s = openStore(f.config);
    BOOST_TEST(s->schemaVersion() == 8);
    FileEntry earlier;
    BOOST_TEST((s->registerFile("r", "aa", "a.csv", 10, "h1", 60000, &earlier) == Claim::New));
    // Same content, other name, while h1 holds the lease: busy for h2, resumable for h1.
    BOOST_TEST((s->registerFile("r", "aa", "b.csv", 10, "h2", 60000, &earlier) == Claim::Busy));
    BOOST_TEST(earlier.name == "a.csv");
    BOOST_TEST(earlier.leaseOwner == "h1");
    BOOST_TEST((s->registerFile("r", "aa", "a.csv", 10, "h1", 60000, &earlier) == Claim::Resume));
    BOOST_TEST((s->registerFile("other-route", "aa", "a.csv", 10, "h1", 60000, &earlier) == Claim::New));
    s->finishFile("r", "aa", FileState::Done, {});
  }
  auto reopened = openStore(f.config);  // migrations do not run twice
  BOOST_TEST(reopened->schemaVersion() == 8);
  FileEntry done;
  BOOST_TEST((reopened->registerFile("r", "aa", "c.csv", 10, "h2", 60000, &done) == Claim::Done));
  BOOST_TEST(!done.finishedAt.empty());
  BOOST_TEST(reopened->recentFiles("", 10).size() == 2u);
  BOOST_TEST(reopened->recentFiles("r", 10).size() == 1u);
  BOOST_REQUIRE(reopened->findFile("r", "aa"));
  BOOST_TEST(!reopened->findFile("r", "zz"));
}

BOOST_AUTO_TEST_CASE(hosts_opening_a_new_store_together_migrate_it_once) {
  Fresh f;
  std::vector<std::thread> hosts;
  std::vector<int> versions(4, -1);
  std::vector<std::string> errors(4);
  for (int i = 0; i < 4; ++i)
    hosts.emplace_back([&, i] {
      try {
        versions[i] = openStore(f.config)->schemaVersion();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : hosts) t.join();
  for (int i = 0; i < 4; ++i) {
    BOOST_TEST(errors[i].empty(), errors[i]);
    BOOST_TEST(versions[i] == 8);
  }
}

BOOST_AUTO_TEST_CASE(a_lease_that_runs_out_hands_the_file_to_another_host) {
  Fresh f;
  auto s = openStore(f.config);
  FileEntry e;
  BOOST_TEST((s->registerFile("r", "bb", "b.csv", 1, "h1", 50, &e) == Claim::New));
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  BOOST_TEST((s->registerFile("r", "bb", "b.csv", 1, "h2", 60000, &e) == Claim::Resume));
  BOOST_TEST((s->registerFile("r", "bb", "b.csv", 1, "h1", 60000, &e) == Claim::Busy));
  // A host restarting drops its leases: the other may take the file at once.
  s->releaseLeases("h2");
  BOOST_TEST((s->registerFile("r", "bb", "b.csv", 1, "h1", 60000, &e) == Claim::Resume));
  // A file that failed is taken in again (a layout may have been fixed).
  s->finishFile("r", "bb", FileState::Failed, "line 3: bad");
  BOOST_TEST((s->registerFile("r", "bb", "b.csv", 1, "h2", 60000, &e) == Claim::Resume));
  BOOST_TEST(e.note == "line 3: bad");
}

BOOST_AUTO_TEST_CASE(batches_are_stored_once_with_one_outbox_row_per_target) {
  Fresh f;
  auto s = openStore(f.config);
  FileEntry e;
  s->registerFile("r", "cc", "a.csv", 1, "h1", 60000, &e);
  std::vector<BatchRow> group{batch("r", "cc", 0, 3), batch("r", "cc", 1, 2)};
  s->appendBatches(group, {"crm", "archive"}, "h1", 60000);
  s->appendBatches(group, {"crm", "archive"}, "h1", 60000);  // a resumed file writes the same batches again
  BOOST_TEST(s->outboxDepth("r") == 10);                    // 5 records × 2 targets
  auto stored = s->batch("r-cc-0");
  BOOST_REQUIRE(stored);
  BOOST_TEST(stored->payload == group[0].payload);  // Japanese text round-trips
  BOOST_TEST(stored->firstRecord == 1);
  BOOST_TEST(stored->lastRecord == 3);
  BOOST_TEST(s->batchOutbox("r-cc-0").size() == 2u);

  // Leases: h1 takes everything; h2 finds nothing while they last.
  auto mine = s->claimDeliveries("h1", 60000, 10, {"r"});
  BOOST_TEST(mine.size() == 4u);
  BOOST_TEST(s->claimDeliveries("h2", 60000, 10, {"r"}).empty());
  BOOST_TEST(s->claimDeliveries("h1", 60000, 10, {"other"}).empty());
  BOOST_TEST(s->payload(mine[0].batchId)->second == group[0].payload);
  BOOST_TEST(!s->payload("no-such-batch"));
  for (const auto& d : mine) s->markDelivered(d.batchId, d.target, "h1");
  BOOST_TEST(s->outboxDepth("r") == 0);
  BOOST_TEST(!s->nextDue({"r"}));
  auto q = s->queueStatus();
  BOOST_REQUIRE(q.size() == 2u);
  BOOST_TEST(q[0].deliveredBatches + q[1].deliveredBatches == 4);
}

BOOST_AUTO_TEST_CASE(each_target_gets_its_batches_in_order) {
  Fresh f;
  auto s = openStore(f.config);
  FileEntry e;
  s->registerFile("r", "oo", "a.csv", 1, "h1", 60000, &e);
  // Outbox rows in creation order: (0 crm) (0 archive) (1 crm) (1 archive) (2 crm) (2 archive).
  s->appendBatches({batch("r", "oo", 0, 1), batch("r", "oo", 1, 1), batch("r", "oo", 2, 1)}, {"crm", "archive"}, "h1",
                   60000);
  auto names = [](const std::vector<Delivery>& ds) {
    std::vector<std::string> out;
    for (const auto& d : ds) out.push_back(d.batchId + ">" + d.target);
    return out;
  };
  // h1 leases the oldest row of each queue; h2 may take nothing behind them.
  BOOST_TEST(names(s->claimDeliveries("h1", 60000, 2, {})) ==
                 (std::vector<std::string>{"r-oo-0>crm", "r-oo-0>archive"}),
             boost::test_tools::per_element());
  BOOST_TEST(s->claimDeliveries("h2", 60000, 10, {}).empty());

  // crm's first batch fails and waits for its retry: the later crm batches
  // wait too. archive's first batch becomes a dead letter: it does not hold
  // the later archive batches back.
  s->markFailed("r-oo-0", "crm", "h1", nowMs() + 60000, false, "busy");
  // A target's error can be any size (a peer's 200 MiB reply once became a
  // dead letter's error): kept to 2,000 bytes, cut at a character and marked.
  s->markFailed("r-oo-0", "archive", "h1", nowMs(), true, "refused: " + std::string(1 << 20, 'x') + "髙");
  const auto dead = s->listOutbox(OutboxState::Dead, "", 10);
  BOOST_TEST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].lastError.size() < 2100u);
  BOOST_TEST(dead[0].lastError.find("(1048588 bytes, cut to 2000)") != std::string::npos, dead[0].lastError.substr(1990));
  BOOST_TEST(names(s->claimDeliveries("h2", 60000, 10, {})) ==
                 (std::vector<std::string>{"r-oo-1>archive", "r-oo-2>archive"}),
             boost::test_tools::per_element());
  // A later row is never handed out while an older one of its queue is
  // leased elsewhere.
  s->releaseLeases({{"r-oo-2", "archive"}}, "h2");
  BOOST_TEST(s->claimDeliveries("h3", 60000, 10, {}).empty());
  s->releaseLeases({{"r-oo-1", "archive"}}, "h2");
  BOOST_TEST(names(s->claimDeliveries("h3", 60000, 10, {})) ==
                 (std::vector<std::string>{"r-oo-1>archive", "r-oo-2>archive"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(retries_dead_letters_resubmit_and_replay_are_logged) {
  Fresh f;
  auto s = openStore(f.config);
  FileEntry e;
  s->registerFile("r", "dd", "a.csv", 1, "h1", 60000, &e);
  s->appendBatches({batch("r", "dd", 0, 2)}, {"crm"}, "h1", 60000);
  auto d = s->claimDeliveries("h1", 60000, 10, {});
  BOOST_REQUIRE(d.size() == 1u);
  BOOST_TEST(d[0].attempts == 0);
  // A retry later: not due yet, so nothing to claim; nextDue says when.
  const std::int64_t later = nowMs() + 60000;
  s->markFailed(d[0].batchId, "crm", "h1", later, false, "connection refused");
  BOOST_TEST(s->claimDeliveries("h1", 60000, 10, {}).empty());
  BOOST_REQUIRE(s->nextDue({"r"}));
  BOOST_TEST(*s->nextDue({"r"}) == later);
  // A retry now: claimed again, attempts counted.
  s->markFailed(d[0].batchId, "crm", "h1", 0, false, "ignored: not our lease");  // lease already dropped
  auto list = s->listOutbox(OutboxState::Pending, "r", 10);
  BOOST_REQUIRE(list.size() == 1u);
  BOOST_TEST(list[0].attempts == 1);
  BOOST_TEST(list[0].lastError == "connection refused");

  // A later batch to the same target waits behind the one in backoff; to
  // another target it goes. Straight to the dead letters there.
  s->appendBatches({batch("r", "dd", 1, 1)}, {"crm"}, "h1", 60000);
  BOOST_TEST(s->claimDeliveries("h1", 60000, 10, {}).empty());
  s->appendBatches({batch("r", "dd", 2, 1)}, {"archive"}, "h1", 60000);
  auto again = s->claimDeliveries("h1", 60000, 10, {});
  BOOST_REQUIRE(again.size() == 1u);
  BOOST_TEST(again[0].target == "archive");
  s->markFailed(again[0].batchId, "archive", "h1", nowMs(), true, "sink refused: HTTP 422");
  auto dead = s->listOutbox(OutboxState::Dead, "", 10);
  BOOST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead[0].batchId == "r-dd-2");
  BOOST_TEST(dead[0].lastError == "sink refused: HTTP 422");
  BOOST_TEST(dead[0].firstRecord == 21);
  auto status = s->queueStatus();
  BOOST_REQUIRE(status.size() == 2u);  // archive, crm
  BOOST_TEST(status[0].target == "archive");
  BOOST_TEST(status[0].deadBatches == 1);
  BOOST_TEST(status[0].lastError == "sink refused: HTTP 422");
  BOOST_TEST(status[1].pendingBatches == 2);
  BOOST_TEST(status[1].lastError == "connection refused");

  BOOST_TEST(s->resubmit("r-dd-2", "", "operator-a") == 1);
  BOOST_TEST(s->resubmit("r-dd-2", "", "operator-a") == 0);  // nothing dead any more
  auto back = s->claimDeliveries("h1", 60000, 10, {});
  BOOST_REQUIRE(back.size() == 1u);
  BOOST_TEST(back[0].attempts == 0);
  s->markDelivered(back[0].batchId, "archive", "h1");

  // Replay: delivered rows since a time come back.
  BOOST_TEST(s->replay("r", nowMs() - 3600000, "operator-b") == 1);
  BOOST_TEST(s->listOutbox(OutboxState::Pending, "r", 10).size() == 3u);
  BOOST_TEST(s->replay("r", nowMs() + 3600000, "operator-b") == 0);
  auto log = s->operatorLog(10);
  BOOST_REQUIRE(log.size() == 4u);
  BOOST_TEST(log.back().who == "operator-a");
  BOOST_TEST(log.back().action == "deadletters resubmit");
  BOOST_TEST(log.back().detail.find("batch r-dd-2: 1 rows") != std::string::npos, log.back().detail);
  BOOST_TEST(log.front().action == "replay");
}

BOOST_AUTO_TEST_CASE(pruning_removes_only_old_batches_delivered_everywhere) {
  Fresh f;
  auto s = openStore(f.config);
  FileEntry e;
  s->registerFile("r", "ee", "a.csv", 1, "h1", 60000, &e);
  s->appendBatches({batch("r", "ee", 0, 1), batch("r", "ee", 1, 1), batch("r", "ee", 2, 1)}, {"crm", "archive"}, "h1",
                   60000);
  auto d = s->claimDeliveries("h1", 60000, 10, {});
  BOOST_REQUIRE(d.size() == 6u);
  // Batch 0 delivered to both targets; batch 1 to one (the other dead);
  // batch 2 to neither.
  s->markDelivered({{"r-ee-0", "crm"}, {"r-ee-0", "archive"}, {"r-ee-1", "crm"}}, "h1");
  s->markFailed("r-ee-1", "archive", "h1", nowMs(), true, "refused");
  BOOST_TEST(s->pruneDelivered(nowMs() - 3600000, 100) == 0);  // nothing that old
  BOOST_TEST(s->pruneDelivered(nowMs() + 1000, 100) == 1);     // only batch 0
  BOOST_TEST(!s->batch("r-ee-0"));
  BOOST_TEST(s->batch("r-ee-1").has_value());
  BOOST_TEST(s->batch("r-ee-2").has_value());
  BOOST_TEST(s->batchOutbox("r-ee-0").empty());
  BOOST_TEST(s->listOutbox(OutboxState::Dead, "", 10).size() == 1u);
  // The register still knows the file: it is not taken in again.
  BOOST_TEST((s->registerFile("r", "ee", "a.csv", 1, "h1", 60000, &e) == Claim::Resume));
}

// Issue 13, item 9: a date is midnight where the municipality is, not in UTC.
BOOST_AUTO_TEST_CASE(since_accepts_dates_times_and_durations) {
  const std::int64_t now = 1'800'000'000'000;
  BOOST_TEST_REQUIRE(!useTimeZone("Asia/Tokyo"));
  // 2026-11-22 00:00 in Tokyo is 2026-11-21 15:00 UTC.
  BOOST_TEST(*parseSince("2026-11-22", now) == 1'795'305'600'000 - 9 * 3'600'000);
  BOOST_TEST(*parseSince("2026-11-22T09:00:00", now) == 1'795'305'600'000);
  BOOST_TEST(*parseSince("2026-11-22 09:00:00", now) == 1'795'305'600'000);
  BOOST_TEST(*parseSince("2026-11-22T09:00:00Z", now) == 1'795'338'000'000);
  BOOST_TEST(localTime(1'795'305'600'000) == "2026-11-22 09:00:00 +09:00");
  BOOST_TEST(localTimeFromIso("2026-11-22T00:00:00Z") == "2026-11-22 09:00:00 +09:00");
  BOOST_TEST(timeZoneDescription() == "Asia/Tokyo (UTC+09:00)");
  BOOST_TEST_REQUIRE(!useTimeZone("UTC"));
  BOOST_TEST(*parseSince("2026-11-22", now) == 1'795'305'600'000);
  BOOST_TEST(localTime(1'795'305'600'000) == "2026-11-22 00:00:00 +00:00");
  BOOST_TEST(useTimeZone("Asia/Tokio").value_or("").find("no such zone") != std::string::npos);
  BOOST_TEST(useTimeZone("../etc/passwd").value_or("").find("not a zone name") != std::string::npos);
  BOOST_TEST(!parseSince("2026-11-22X09:00:00", now));
  BOOST_TEST(!parseSince("2026-11-22T09:00:00+09", now));
  BOOST_TEST(*parseSince("90m", now) == now - 5'400'000);
  BOOST_TEST(*parseSince("3d", now) == now - 259'200'000);
  BOOST_TEST(!parseSince("yesterday", now));
  BOOST_TEST(!parseSince("2026-13-01", now));
  BOOST_TEST(!parseSince("5w", now));
}

BOOST_AUTO_TEST_CASE(a_version_1_store_is_migrated_keeping_its_register, *boost::unit_test::precondition([](auto) {
                       return !onPostgres();
                     })) {
  test::TempDir dir;
  sqlite3* db = nullptr;
  std::filesystem::create_directories(dir / "var");
  sqlite3_open((dir / "var/renkei.db").c_str(), &db);
  sqlite3_exec(db,
               "CREATE TABLE intake_files (route TEXT NOT NULL, sha256 TEXT NOT NULL, name TEXT NOT NULL, size "
               "INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('processing', 'done', 'failed')), first_seen "
               "TEXT NOT NULL, finished_at TEXT, note TEXT, PRIMARY KEY (route, sha256));"
               "INSERT INTO intake_files VALUES ('r', 'aa', 'old.csv', 3, 'done', '2026-01-01T00:00:00Z', "
               "'2026-01-01T00:00:01Z', NULL);"
               "PRAGMA user_version = 1;",
               nullptr, nullptr, nullptr);
  sqlite3_close(db);
  StoreConfig c;
  c.path = dir / "var/renkei.db";
  auto s = openStore(c);
  BOOST_TEST(s->schemaVersion() == 8);
  FileEntry e;
  BOOST_TEST((s->registerFile("r", "aa", "again.csv", 3, "h", 1000, &e) == Claim::Done));
  BOOST_TEST(e.name == "old.csv");
}

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused_naming_both_versions, *boost::unit_test::precondition([](auto) {
                       return !onPostgres();
                     })) {
  test::TempDir dir;
  StoreConfig c;
  c.path = dir / "var/renkei.db";
  openStore(c);
  sqlite3* db = nullptr;
  sqlite3_open((dir / "var/renkei.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 9", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    openStore(c);
    BOOST_FAIL("a newer schema was accepted");
  } catch (const StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("schema version 9, newer than this renkei knows (8)") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_CASE(unusable_stores_are_clear_errors_without_secrets) {
  test::TempDir dir;
  test::writeFile(dir / "file", "x");
  StoreConfig c;
  c.path = dir / "file/renkei.db";  // a folder that is a file
  try {
    openStore(c);
    BOOST_FAIL("opened a store under a file");
  } catch (const StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("cannot open the store") != std::string::npos, e.what());
  }
  // PostgreSQL that is not there: the error names the cause, not the password.
  StoreConfig pg;
  pg.driver = "postgresql";
  pg.connection = "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=renkei;";
  test::writeFile(dir / "pw", "s3cret-Password\n");
  pg.passwordFile = dir / "pw";
  try {
    openStore(pg);
    BOOST_FAIL("connected to nothing");
  } catch (const StoreError& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("cannot connect") != std::string::npos, what);
    BOOST_TEST(what.find("s3cret") == std::string::npos, what);
  }
}

// --- plugins' state (the SDK's StateStore) --------------------------------

BOOST_AUTO_TEST_CASE(plugin_state_migrates_once_writes_in_transactions_and_reads_from_a_pool) {
  Fresh f;
  auto a = renkei::openStateStore(f.config, "crm-1");
  BOOST_TEST(a->table("visits") == "st_crm_1_visits");
  const std::vector<std::string> steps{
      "CREATE TABLE {items} (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
      "ALTER TABLE {items} ADD COLUMN note TEXT NOT NULL DEFAULT ''",
  };
  a->migrate(steps);
  a->migrate(steps);  // nothing left to do
  // A second instance of the same plugin has tables of its own.
  auto b = renkei::openStateStore(f.config, "crm-2");
  b->migrate({steps[0]});
  a->write([&](renkei::StateSession& s) {
    s.run("INSERT INTO " + a->table("items") + " (id, name, note) VALUES (?, ?, ?)",
          {std::int64_t{1}, std::string("髙橋"), std::string("x")});
  });
  // A throw rolls the whole transaction back.
  BOOST_CHECK_THROW(a->write([&](renkei::StateSession& s) {
                      s.run("INSERT INTO " + a->table("items") + " (id, name) VALUES (?, ?)",
                            {std::int64_t{2}, std::string("b")});
                      throw std::runtime_error("no");
                    }),
                    std::runtime_error);
  // A constraint is a StateError naming no value.
  try {
    a->write([&](renkei::StateSession& s) {
      s.run("INSERT INTO " + a->table("items") + " (id, name) VALUES (?, ?)", {std::int64_t{1}, std::string("秘密")});
    });
    BOOST_FAIL("a duplicate key was accepted");
  } catch (const renkei::StateError& e) {
    BOOST_TEST(std::string(e.what()).find("秘密") == std::string::npos, e.what());
  }
  // Readers on several threads see the committed row.
  std::atomic<int> seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i)
        a->read([&](renkei::StateSession& s) {
          s.query("SELECT name FROM " + a->table("items") + " WHERE id = ?", {std::int64_t{1}},
                  [&](renkei::StateRows& r) {
                    if (r.text(0) == "髙橋") ++seen;
                  });
        });
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(seen.load() == 240);
  int rows = 0;
  a->read([&](renkei::StateSession& s) {
    s.query("SELECT COUNT(*) FROM " + a->table("items"), {}, [&](renkei::StateRows& r) { rows = static_cast<int>(r.integer(0)); });
  });
  BOOST_TEST(rows == 1);
  // State of a newer plugin version is refused, not overwritten.
  auto older = renkei::openStateStore(f.config, "crm-1");
  BOOST_CHECK_EXCEPTION(older->migrate({steps[0]}), renkei::StateError, [](const renkei::StateError& e) {
    return std::string(e.what()).find("newer version (2 steps; this plugin knows 1)") != std::string::npos;
  });
}

// Issue 11, item 5: a backward clock step left retries and leases in the
// future for as long as the step (delivery stalled an hour for a 1-hour
// step). A time further ahead than the horizon (the longest backoff, lease
// or ack time-out) was set before the step: it counts as due or run out.
BOOST_AUTO_TEST_CASE(a_backward_clock_step_delays_retries_and_leases_by_no_more_than_the_horizon) {
  Fresh f;
  f.config.horizonMs = 6 * 60 * 1000;  // retry-max 5 min + a minute
  auto s = openStore(f.config);
  FileEntry e;
  s->registerFile("r", "cs", "a.csv", 1, "h1", 60000, &e);
  s->appendBatches({batch("r", "cs", 0, 1), batch("r", "cs", 1, 1)}, {"crm"}, "h1", 60000);
  auto d = s->claimDeliveries("h1", 60000, 1, {});
  BOOST_REQUIRE(d.size() == 1u);
  // A retry due in 1 s, scheduled before the clock went back one hour: it
  // now reads as one hour and a second ahead.
  s->markFailed(d[0].batchId, "crm", "h1", nowMs() + 3600 * 1000 + 1000, false, "busy");
  auto again = s->claimDeliveries("h2", 60000, 10, {});
  BOOST_REQUIRE(again.size() == 2u);  // due now, and the batch behind it with it, in order
  BOOST_TEST(again[0].batchId == d[0].batchId);
  // A lease taken before the step (an hour and a minute "ahead") has run
  // out for everyone else; a lease within the horizon still holds.
  BOOST_TEST(s->claimDeliveries("h3", 60000, 10, {}).empty());  // h2's lease is current
  s->releaseLeases("h2");
  auto held = s->claimDeliveries("h4", 3600 * 1000 + 60000, 1, {});
  BOOST_REQUIRE(held.size() == 1u);
  auto taken = s->claimDeliveries("h5", 60000, 1, {});
  BOOST_REQUIRE(taken.size() == 1u);
  BOOST_TEST(taken[0].batchId == held[0].batchId);
  // The same for a file's lease: another host may resume it.
  FileEntry earlier;
  s->registerFile("r", "step", "b.csv", 1, "h1", 3600 * 1000 + 60000, &earlier);
  BOOST_TEST((s->registerFile("r", "step", "b.csv", 1, "h2", 60000, &earlier) == Claim::Resume));
}

// Issue 11, item 4: PostgreSQL restarted (here: the store's server process
// terminated, as a restart or failover does to it): the next call fails,
// and the connection is opened again instead of failing for ever.
BOOST_AUTO_TEST_CASE(a_lost_postgresql_connection_is_opened_again, *boost::unit_test::precondition([](auto) {
  return onPostgres();
})) {
  Fresh f;
  auto s = openStore(f.config);
  FileEntry e;
  BOOST_TEST((s->registerFile("r", "pg", "a.csv", 1, "h1", 60000, &e) == Claim::New));
  test::OdbcDb admin(f.config.connection);
  admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  bool failed = false;
  try {
    s->outboxDepth("r");
  } catch (const StoreError& error) {
    failed = true;
    BOOST_TEST(std::string(error.what()).find("SQLSTATE") != std::string::npos, error.what());
  }
  BOOST_TEST(failed);
  BOOST_CHECK_NO_THROW(s->verify());  // connects again
  BOOST_TEST(s->outboxDepth("r") == 0);
  BOOST_TEST((s->registerFile("r", "pg", "a.csv", 1, "h1", 60000, &e) == Claim::Resume));
}

// Held records: kept with the unit that emitted them, counted per emitter,
// route and type, asked for again by an operator (logged), and resolved or
// held again in the commit that takes them again. The same on both stores.
BOOST_AUTO_TEST_CASE(held_records_are_kept_counted_asked_for_and_settled) {
  Fresh f;
  auto s = openStore(f.config);
  UnitCommit unit;
  unit.emitter = "review";
  unit.key = "unit-1";
  for (int i = 1; i <= 3; ++i) {
    HeldRecord h;
    h.route = i < 3 ? "write-back" : "";
    h.recordType = "writeback.tennyu";
    h.number = i;
    h.reasons = i < 3 ? "required:氏名" : "unrouted: no route takes record type 'writeback.tennyu' from review";
    h.fields = "[\"申請ID\",\"氏名\"]";
    h.record = "[\"R20261207-000001\",\"髙橋 " + std::to_string(i) + "\"]";
    unit.held.push_back(h);
  }
  BOOST_TEST(s->commitUnit(unit));
  BOOST_TEST(!s->commitUnit(unit));  // the same key: nothing held twice
  auto summary = s->heldSummary();
  BOOST_TEST_REQUIRE(summary.size() == 2u);
  BOOST_TEST(summary[0].route == "");
  BOOST_TEST(summary[0].held == 1);
  BOOST_TEST(summary[1].route == "write-back");
  BOOST_TEST(summary[1].held == 2);
  BOOST_TEST(summary[1].lastReasons == "required:氏名");
  const auto rows = s->listHeld("review", "write-back", 10);
  BOOST_TEST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].key == "unit-1");
  BOOST_TEST(rows[0].record == "[\"R20261207-000001\",\"髙橋 1\"]");
  BOOST_TEST(s->resubmitRequests(10).empty());
  BOOST_TEST(s->requestHeldResubmit(0, "", "write-back", "operator") == 2);
  BOOST_TEST(s->requestHeldResubmit(0, "", "write-back", "operator") == 0);  // asked already
  const auto asked = s->resubmitRequests(10);
  BOOST_TEST_REQUIRE(asked.size() == 2u);
  BOOST_TEST(asked[0].changedBy == "operator");
  UnitCommit again;
  again.emitter = "review";
  again.key = "held-resubmit:1";
  again.heldResolved = {asked[0].id};
  again.heldAgain = {{asked[1].id, "pattern:氏名", ""}};
  BOOST_TEST(s->commitUnit(again));
  summary = s->heldSummary();
  BOOST_TEST_REQUIRE(summary.size() == 2u);
  BOOST_TEST(summary[1].held == 1);
  BOOST_TEST(summary[1].lastReasons == "pattern:氏名");
  BOOST_TEST(s->heldRecord(asked[0].id)->state == "resolved");
  BOOST_TEST(s->operatorLog(1).front().action == "held resubmit");
  // A record no route took, rejected now by a route that appeared, is held
  // for that route from here on (a later resubmit runs that route alone).
  const auto unrouted = s->listHeld("review", "", 10);
  std::int64_t lone = 0;
  for (const auto& h : unrouted)
    if (h.route.empty()) lone = h.id;
  BOOST_TEST_REQUIRE(lone != 0);
  BOOST_TEST(s->requestHeldResubmit(lone, "", "", "operator") == 1);
  UnitCommit retarget;
  retarget.emitter = "review";
  retarget.key = "held-resubmit:2";
  retarget.heldAgain = {{lone, "required:氏名", "write-back-new"}};
  BOOST_TEST(s->commitUnit(retarget));
  BOOST_TEST(s->heldRecord(lone)->route == "write-back-new");
  BOOST_TEST(s->heldRecord(lone)->state == "held");
}

BOOST_AUTO_TEST_CASE(refused_items_are_kept_listed_and_acknowledged) {
  Fresh f;
  auto s = openStore(f.config);
  const std::int64_t start = nowMs();
  s->recordRefusal("bridge", "a.bundle", "the signature does not verify");
  s->recordRefusal("in", "big.csv", std::string(1 << 20, 'r'));  // a reason of 1 MiB is kept bounded
  auto open = s->openRefusals();
  BOOST_TEST(open["bridge"] == 1);
  BOOST_TEST(open["in"] == 1);
  auto list = s->refusals(start, 100);
  BOOST_TEST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0].item == "big.csv");  // newest first
  BOOST_TEST(list[0].reason.size() < 2100u);
  BOOST_TEST(list[1].reason == "the signature does not verify");
  BOOST_TEST(s->acknowledgeRefusal(list[1].id, "係長", "connector bridge: 'a.bundle'") == 1);
  BOOST_TEST(s->acknowledgeRefusal(list[1].id, "係長", "again") == 0);
  BOOST_TEST(s->openRefusals().count("bridge") == 0u);
  // An acknowledged refusal older than the window drops out; an open one stays.
  list = s->refusals(nowMs() + 60'000, 100);
  BOOST_TEST_REQUIRE(list.size() == 1u);
  BOOST_TEST(list[0].item == "big.csv");
}
