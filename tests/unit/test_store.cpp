// The embedded store: migrations, the intake register, persistence.
#define BOOST_TEST_MODULE renkei_store
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include "store/store.h"
#include "test_support.h"

using namespace renkei;
using namespace renkei::store;

namespace {
StoreConfig at(const test::TempDir& dir) {
  StoreConfig c;
  c.path = dir / "var/renkei.db";  // the folder is created on open
  return c;
}
}  // namespace

BOOST_AUTO_TEST_CASE(migrations_apply_once_and_the_register_persists) {
  test::TempDir dir;
  {
    auto s = openStore(at(dir));
    BOOST_TEST(s->schemaVersion() == 1);
    BOOST_TEST(!s->registerFile("r", "aa", "a.csv", 10).has_value());  // new
    auto again = s->registerFile("r", "aa", "b.csv", 10);               // same content, other name
    BOOST_REQUIRE(again);
    BOOST_TEST(again->name == "a.csv");
    BOOST_TEST((again->state == FileState::Processing));
    BOOST_TEST(!s->registerFile("other-route", "aa", "a.csv", 10).has_value());  // per route
    s->finishFile("r", "aa", FileState::Done, {});
  }
  auto reopened = openStore(at(dir));  // migrations do not run twice
  BOOST_TEST(reopened->schemaVersion() == 1);
  auto done = reopened->registerFile("r", "aa", "c.csv", 10);
  BOOST_REQUIRE(done);
  BOOST_TEST((done->state == FileState::Done));
  BOOST_TEST(!done->finishedAt.empty());
  const auto recent = reopened->recentFiles("", 10);
  BOOST_TEST(recent.size() == 2u);
  BOOST_TEST(reopened->recentFiles("r", 10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_newer_schema_is_refused_naming_both_versions) {
  test::TempDir dir;
  openStore(at(dir));
  sqlite3* db = nullptr;
  sqlite3_open((dir / "var/renkei.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA user_version = 7", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  try {
    openStore(at(dir));
    BOOST_FAIL("a newer schema was accepted");
  } catch (const StoreError& e) {
    BOOST_TEST(std::string(e.what()).find("schema version 7, newer than this renkei knows (1)") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_CASE(an_unusable_path_is_a_clear_error) {
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
  StoreConfig pg;
  pg.driver = "postgresql";
  BOOST_CHECK_THROW(openStore(pg), StoreError);
}
