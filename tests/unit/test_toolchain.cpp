// The fixed packages are found by the build and work on this machine: one
// small real use of each (not of renkei code). A failure here means the
// toolchain (scripts/setup, cmake/RenkeiDependencies.cmake) is broken, which
// later tests would otherwise report as something more confusing.
#define BOOST_TEST_MODULE renkei_toolchain
#include <boost/test/unit_test.hpp>

#include <sql.h>
#include <sqlext.h>
#include <tesseract/baseapi.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <unicode/ucnv.h>

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <zmq.hpp>

BOOST_AUTO_TEST_CASE(zeromq_with_curve) {
  BOOST_TEST(zmq_has("curve") == 1);
  zmq::context_t ctx;
  zmq::socket_t pull(ctx, zmq::socket_type::pull), push(ctx, zmq::socket_type::push);
  pull.bind("inproc://toolchain");
  push.connect("inproc://toolchain");
  push.send(zmq::buffer(std::string("連携")), zmq::send_flags::none);
  zmq::message_t msg;
  BOOST_TEST(pull.recv(msg).has_value());
  BOOST_TEST(msg.to_string() == "連携");
}

BOOST_AUTO_TEST_CASE(thrift_binary_protocol_round_trip) {
  auto buffer = std::make_shared<apache::thrift::transport::TMemoryBuffer>();
  apache::thrift::protocol::TBinaryProtocol protocol(buffer);
  protocol.writeString(std::string("住民票コード"));
  std::string back;
  protocol.readString(back);
  BOOST_TEST(back == "住民票コード");
}

BOOST_AUTO_TEST_CASE(tesseract_with_japanese_data) {
  tesseract::TessBaseAPI api;
  BOOST_TEST(std::string(tesseract::TessBaseAPI::Version()).rfind("5", 0) == 0u);
  BOOST_TEST(api.Init(nullptr, "jpn", tesseract::OEM_LSTM_ONLY) == 0);
  api.End();
}

BOOST_AUTO_TEST_CASE(icu_has_windows_31j) {
  UErrorCode status = U_ZERO_ERROR;
  UConverter* c = ucnv_open("windows-31j", &status);
  BOOST_TEST(U_SUCCESS(status));
  ucnv_close(c);
}

BOOST_AUTO_TEST_CASE(odbc_drivers_for_sqlite_and_postgresql_are_registered) {
  SQLHENV env = SQL_NULL_HENV;
  BOOST_REQUIRE(SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)));
  SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0);
  std::vector<std::string> drivers;
  SQLCHAR name[256], attrs[1024];
  SQLSMALLINT nameLen = 0, attrsLen = 0;
  SQLUSMALLINT direction = SQL_FETCH_FIRST;
  while (SQL_SUCCEEDED(SQLDrivers(env, direction, name, sizeof name, &nameLen, attrs, sizeof attrs, &attrsLen))) {
    drivers.emplace_back(reinterpret_cast<char*>(name));
    direction = SQL_FETCH_NEXT;
  }
  auto has = [&](const char* d) { return std::find(drivers.begin(), drivers.end(), d) != drivers.end(); };
  BOOST_TEST(has("SQLite3"));
  BOOST_TEST(has("PostgreSQL Unicode"));

  // A real query through the SQLite ODBC driver.
  SQLHDBC dbc = SQL_NULL_HDBC;
  SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc);
  SQLCHAR conn[] = "Driver=SQLite3;Database=:memory:;";
  BOOST_REQUIRE(SQL_SUCCEEDED(SQLDriverConnect(dbc, nullptr, conn, SQL_NTS, nullptr, 0, nullptr, SQL_DRIVER_NOPROMPT)));
  SQLHSTMT stmt = SQL_NULL_HSTMT;
  SQLAllocHandle(SQL_HANDLE_STMT, dbc, &stmt);
  BOOST_REQUIRE(SQL_SUCCEEDED(SQLExecDirect(stmt, (SQLCHAR*)"SELECT 40 + 2", SQL_NTS)));
  BOOST_REQUIRE(SQL_SUCCEEDED(SQLFetch(stmt)));
  SQLINTEGER value = 0;
  SQLGetData(stmt, 1, SQL_C_SLONG, &value, 0, nullptr);
  BOOST_TEST(value == 42);
  SQLFreeHandle(SQL_HANDLE_STMT, stmt);
  SQLDisconnect(dbc);
  SQLFreeHandle(SQL_HANDLE_DBC, dbc);
  SQLFreeHandle(SQL_HANDLE_ENV, env);
}

BOOST_AUTO_TEST_CASE(poco_data_sqlite) {
  using namespace Poco::Data::Keywords;
  Poco::Data::SQLite::Connector::registerConnector();
  Poco::Data::Session session("SQLite", ":memory:");
  session << "CREATE TABLE t (v TEXT)", now;
  std::string in = "山田", out;
  session << "INSERT INTO t VALUES (?)", use(in), now;
  session << "SELECT v FROM t", into(out), now;
  BOOST_TEST(out == in);
}
