// The worked example of docs/plugins.md (docs/examples/waiting_connector.cpp),
// compiled as a plugin and run in process through the harness: what the page
// teaches is what works.
#define BOOST_TEST_MODULE renkei_worked_example
#include <boost/test/unit_test.hpp>

#include <thread>

#include "plugin_harness.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path exampleDir() { return fs::path(test::env("RENKEI_EXAMPLE_PLUGIN_DIR")); }

std::string field(const Record& r, const std::string& name) {
  const std::string* v = r.find(name);
  return v ? *v : "<none>";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_example_emits_each_content_once_and_shows_it) {
  test::PluginHarness h("example-waiting", "lgwan", "floor", exampleDir());
  h.set("counts-file", "counts.txt").set("interval", "20ms");
  h.configure();
  test::writeFile(h.dir() / "counts.txt", "A,3\nB,5\n");
  h.start();
  BOOST_TEST_REQUIRE(test::waitFor([&] { return h.host().emitted("floor.waiting").size() == 2; }, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ten more passes over the same content
  const auto first = h.host().emitted("floor.waiting");
  BOOST_TEST(first.size() == 2u);
  BOOST_TEST(field(first[0], "line") == "A");
  BOOST_TEST(field(first[0], "waiting") == "3");
  test::writeFile(h.dir() / "counts.txt", "A,4\nB,5\n");
  BOOST_TEST(test::waitFor([&] { return h.host().emitted("floor.waiting").size() == 4; }, 10));
  BOOST_TEST(test::waitFor([&] { return h.host().page("last").body == "{\"last\":\"A,4 B,5\"}\n"; }, 10),
             h.host().page("last").body);
  OperatorRequest last;
  last.action = "last";
  BOOST_TEST(h.connector().operate(last)->output == "A,4 B,5\n");
  h.stop();
}

BOOST_AUTO_TEST_CASE(the_example_refuses_what_does_not_make_sense) {
  test::PluginHarness missing("example-waiting", "lgwan", "floor", exampleDir());
  BOOST_CHECK_EXCEPTION(missing.configure(), std::runtime_error, [](const std::runtime_error& e) {
    return std::string(e.what()).find("missing required key 'counts-file'") != std::string::npos;
  });
  test::PluginHarness fast("example-waiting", "lgwan", "floor", exampleDir());
  fast.set("counts-file", "counts.txt").set("interval", "1ms");
  BOOST_CHECK_EXCEPTION(fast.configure(), ConfigError, [](const ConfigError& e) {
    return std::string(e.what()).find("interval: at least 10ms") != std::string::npos;
  });
  // A file over max-bytes is never read: nothing is emitted, the pass is
  // logged and tried again.
  test::PluginHarness big("example-waiting", "lgwan", "floor", exampleDir());
  big.set("counts-file", "counts.txt").set("interval", "20ms").set("max-bytes", "16");
  big.configure();
  test::writeFile(big.dir() / "counts.txt", std::string(64, '1') + ",2\n");
  big.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  BOOST_TEST(big.host().emissions() == 0u);
  big.stop();
}
