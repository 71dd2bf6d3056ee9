// The throwaway PostgreSQL that scripts/test starts (through the CTest
// fixture pg_start/pg_stop) is reachable through psqlODBC with the private
// ini files, and round-trips Japanese text. The durable store's PostgreSQL
// tests build on this fixture.
#define BOOST_TEST_MODULE renkei_postgres
#include <boost/test/unit_test.hpp>

#include <Poco/Data/ODBC/Connector.h>
#include <Poco/Data/Session.h>

#include "test_support.h"

using namespace Poco::Data::Keywords;

BOOST_AUTO_TEST_CASE(postgresql_through_psqlodbc_round_trips_japanese_text) {
  // The fixture's ini files, never the machine's /etc/odbc.ini.
  BOOST_REQUIRE(!renkei::test::env("ODBCINI").empty());
  Poco::Data::ODBC::Connector::registerConnector();
  Poco::Data::Session session("ODBC", "DSN=renkei_test;");
  std::string version;
  session << "SELECT version()", into(version), now;
  BOOST_TEST(version.rfind("PostgreSQL", 0) == 0u, version);

  session << "CREATE TABLE IF NOT EXISTS smoke (id INTEGER PRIMARY KEY, name TEXT)", now;
  session << "DELETE FROM smoke", now;
  std::string name = "髙橋　①㈱ 〜～ 𠮷野";
  int id = 1;
  session << "INSERT INTO smoke (id, name) VALUES (?, ?)", use(id), use(name), now;
  std::string back;
  session << "SELECT name FROM smoke WHERE id = 1", into(back), now;
  BOOST_TEST(back == name);
  session << "DROP TABLE smoke", now;
}
