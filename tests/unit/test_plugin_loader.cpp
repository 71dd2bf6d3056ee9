// The plugin loader against fixture libraries: each broken one is refused with
// the exact message an operator sees.
#define BOOST_TEST_MODULE renkei_plugin_loader
#include <boost/test/unit_test.hpp>

#include "plugin_registry.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path fixture(const std::string& name) { return fs::path(test::env("RENKEI_FIXTURE_PLUGIN_DIR")) / ("renkei_fixture_" + name + ".so"); }

std::string refusal(const PluginRegistry& registry, const fs::path& lib) {
  for (const auto& r : registry.refused())
    if (r.path == lib) return r.reason;
  return "(not refused)";
}

std::string createError(PluginRegistry& registry, const std::string& key) {
  try {
    registry.createConnector(key);
  } catch (const PluginLoadError& e) {
    return e.what();
  }
  return "(created)";
}

}  // namespace

BOOST_AUTO_TEST_CASE(good_plugin_loads_and_creates) {
  PluginRegistry registry;
  registry.scan({test::env("RENKEI_FIXTURE_PLUGIN_DIR")});
  const PluginDescriptor* d = registry.find("fixture-good");
  BOOST_REQUIRE(d);
  BOOST_TEST(d->version == "9.9.9");
  BOOST_TEST(d->kind == "connector");
  BOOST_TEST(d->roleNames() == "source");
  BOOST_REQUIRE_EQUAL(d->keys.size(), 1u);
  BOOST_TEST(d->keys[0].key == "greeting");
  auto connector = registry.createConnector("fixture-good");
  BOOST_REQUIRE(connector);
  BOOST_TEST(connector->source() != nullptr);
  BOOST_TEST(connector->sink() == nullptr);
}

BOOST_AUTO_TEST_CASE(wrong_abi_is_refused_before_the_manifest_naming_both_versions) {
  const fs::path lib = fixture("wrong_abi");
  try {
    PluginRegistry::readInfo(lib);
    BOOST_FAIL("a wrong ABI version was accepted");
  } catch (const PluginLoadError& e) {
    BOOST_TEST(std::string(e.what()) == lib.string() +
                                           ": plugin SDK ABI version mismatch: expected " + std::to_string(RENKEI_SDK_ABI_VERSION) + ", found 999; "
                                           "rebuild the plugin against this renkei");
  }
  PluginRegistry registry;
  registry.scan({lib.parent_path()});
  BOOST_TEST(!registry.find("fixture-wrong-abi"));
  BOOST_TEST(refusal(registry, lib).find("expected " + std::to_string(RENKEI_SDK_ABI_VERSION) + ", found 999") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(library_without_info_is_not_a_plugin) {
  const fs::path lib = fixture("no_info");
  PluginRegistry registry;
  registry.scan({lib.parent_path()});
  BOOST_TEST(refusal(registry, lib) == lib.string() + ": not a renkei plugin: no 'renkei_plugin_info' function");
}

BOOST_AUTO_TEST_CASE(missing_manifest_is_refused_on_create) {
  PluginRegistry registry;
  registry.scan({test::env("RENKEI_FIXTURE_PLUGIN_DIR")});
  const std::string lib = fixture("no_manifest").string();
  BOOST_TEST(createError(registry, "fixture-no-manifest") ==
             lib + ": cannot load the POCO manifest of plugin 'fixture-no-manifest': No manifest in " + lib);
}

BOOST_AUTO_TEST_CASE(manifest_for_the_wrong_base_class_is_refused) {
  PluginRegistry registry;
  registry.scan({test::env("RENKEI_FIXTURE_PLUGIN_DIR")});
  const std::string lib = fixture("wrong_base").string();
  BOOST_TEST(createError(registry, "fixture-wrong-base") ==
             lib + ": cannot load the POCO manifest of plugin 'fixture-wrong-base': Manifest class mismatch in " +
                 lib + " (the manifest is not for renkei::Connector)");
}

BOOST_AUTO_TEST_CASE(constructor_that_throws_is_reported_not_fatal) {
  PluginRegistry registry;
  registry.scan({test::env("RENKEI_FIXTURE_PLUGIN_DIR")});
  const std::string lib = fixture("throws").string();
  BOOST_TEST(createError(registry, "fixture-throws") ==
             lib + ": plugin 'fixture-throws': constructor of 'renkei::fixtures::FixtureThrows' failed: "
                   "fixture: refusing to construct");
  // The registry still works after the failure.
  BOOST_TEST(registry.createConnector("fixture-good") != nullptr);
}

BOOST_AUTO_TEST_CASE(unknown_key_and_kind_mismatch) {
  PluginRegistry registry;
  registry.scan({test::env("RENKEI_FIXTURE_PLUGIN_DIR")});
  BOOST_TEST(createError(registry, "nope").find("no plugin 'nope'") != std::string::npos);
  BOOST_TEST_REQUIRE(registry.find("fixture-good"));
  try {
    registry.createModule("fixture-good");
    BOOST_FAIL("a connector was created as a module");
  } catch (const PluginLoadError& e) {
    BOOST_TEST(std::string(e.what()).find("is a connector, not a module") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(the_real_file_plugin_declares_its_keys) {
  PluginRegistry registry;
  registry.scan({test::env("RENKEI_PLUGIN_DIR")});
  const PluginDescriptor* d = registry.find("file");
  BOOST_REQUIRE(d);
  BOOST_TEST(registry.refused().empty());
  BOOST_TEST(d->roleNames() == "source, sink");
  const ConfigKeySpec* dir = d->findKey("directory");
  BOOST_REQUIRE(dir);
  BOOST_TEST(dir->required);
  BOOST_TEST(dir->type == "path");
  for (const auto& k : d->keys) BOOST_TEST(!k.description.empty(), "key " << k.key << " has a description");
}
