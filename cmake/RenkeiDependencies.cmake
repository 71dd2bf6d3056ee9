# Discovery of the fixed packages. The core needs POCO and libxml2; every other
# package is found by the plugin or test that needs it, through the functions
# below, so a plugin switched off never makes its dependencies mandatory.

# POCO, libxml2, OpenSSL: the host itself.
macro(renkei_find_core_dependencies)
  # Debian's POCO 1.11 config files link ODBC::ODBC and PostgreSQL::client but
  # never find_dependency() them: define both before asking for POCO.
  find_package(ODBC REQUIRED)
  find_package(PostgreSQL REQUIRED)
  if(NOT TARGET PostgreSQL::client)
    add_library(PostgreSQL::client INTERFACE IMPORTED)
    target_link_libraries(PostgreSQL::client INTERFACE PostgreSQL::PostgreSQL)
  endif()
  find_package(Poco 1.11 REQUIRED COMPONENTS
    Foundation Util Net NetSSL Crypto XML JSON Encodings Data DataSQLite DataODBC DataPostgreSQL)
  find_package(LibXml2 REQUIRED)
  find_package(OpenSSL 3 REQUIRED)
  find_package(SQLite3 REQUIRED)  # the embedded store (libsqlite3-dev comes with libpoco-dev)
endmacro()

macro(renkei_find_boost_test)
  find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
endmacro()

macro(renkei_find_thrift)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(THRIFT REQUIRED IMPORTED_TARGET thrift>=0.17)
  find_program(THRIFT_EXECUTABLE thrift REQUIRED)
endmacro()

macro(renkei_find_tesseract)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(TESSERACT REQUIRED IMPORTED_TARGET tesseract>=5 lept)
endmacro()

macro(renkei_find_zeromq)
  find_package(cppzmq REQUIRED)
endmacro()

macro(renkei_find_icu)
  find_package(ICU REQUIRED COMPONENTS uc i18n)
endmacro()
