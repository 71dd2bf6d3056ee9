// Golden cases for config checking: tests/cases/config/<name>/ holds
// config.xml and expected.txt. expected.txt is either "ok", or lines that
// must each appear in the problems reported, plus optionally "problems: N".
// A new case is new files only. The shipped configs in config/ must be ok.
#define BOOST_TEST_MODULE renkei_config_cases
#include <boost/test/unit_test.hpp>

#include "config.h"
#include "host_sections.h"
#include "plugin_registry.h"
#include "golden.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

struct CaseResult {
  bool ok = false;
  std::size_t problems = 0;
  std::string text;
};

CaseResult checkFile(const fs::path& file) {
  CaseResult r;
  Diagnostics diags;
  auto config = loadConfig(file, diags);
  if (config) {
    PluginRegistry registry;
    registry.scan({config->pluginDirectory.value_or(fs::path(test::env("RENKEI_PLUGIN_DIR")))});
    checkConfig(*config, registry, diags);
  }
  r.ok = diags.empty();
  r.problems = diags.size();
  r.text = diags.format();
  return r;
}

std::vector<fs::path> caseDirs() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(fs::path(test::env("RENKEI_SOURCE_DIR")) / "tests/cases/config"))
    if (e.is_directory()) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(golden_cases) {
  const auto dirs = caseDirs();
  BOOST_TEST(dirs.size() >= 10u);
  std::size_t failing = 0;
  for (const fs::path& dir : dirs) {
    BOOST_TEST_CONTEXT("case " << dir.filename().string()) {
      const CaseResult result = checkFile(dir / "config.xml");
      bool expectOk = false;
      for (const std::string& line : test::expectationLines(test::readFile(dir / "expected.txt"))) {
        if (line == "ok") {
          expectOk = true;
        } else if (line.rfind("problems: ", 0) == 0) {
          BOOST_TEST(result.problems == std::stoul(line.substr(10)), "reported:\n" << result.text);
        } else {
          BOOST_TEST(result.text.find(line) != std::string::npos,
                     "expected '" << line << "' in:\n" << result.text);
        }
      }
      if (expectOk) BOOST_TEST(result.ok, "expected no problems, got:\n" << result.text);
      else BOOST_TEST(!result.ok, "expected problems, got none");
      if (expectOk != result.ok) ++failing;
    }
  }
  BOOST_TEST_MESSAGE(dirs.size() << " config cases, " << failing << " failing");
}

BOOST_AUTO_TEST_CASE(shipped_configs_are_clean) {
  // The shipped configs name files that scripts make at run time (the demo's
  // certificates in var/tls/): check them in a copy of the tree where those
  // exist, as after scripts/demo.
  const fs::path source = test::env("RENKEI_SOURCE_DIR");
  test::TempDir tree;
  fs::copy(source / "config", tree / "config", fs::copy_options::recursive);
  fs::copy(source / "mappings", tree / "mappings", fs::copy_options::recursive);
  auto certs = test::run({(source / "scripts/make-certs").string(), (tree / "var/tls").string(), "window-demo"});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  const fs::path configDir = tree / "config";
  std::size_t checked = 0;
  for (const auto& e : fs::directory_iterator(configDir)) {
    if (e.path().extension() != ".xml") continue;
    BOOST_TEST_CONTEXT("config " << e.path().filename().string()) {
      const CaseResult r = checkFile(e.path());
      BOOST_TEST(r.ok, r.text);
      ++checked;
    }
  }
  BOOST_TEST(checked >= 1u);
}

BOOST_AUTO_TEST_CASE(checked_settings_are_typed_and_defaulted) {
  test::TempDir tmp;
  test::writeFile(tmp / "c.xml", R"(<renkei xmlns="urn:renkei:config:1" instance="t" zone="lgwan">
  <connector id="in" plugin="file"><directory>x/y</directory><min-age>2s</min-age></connector>
  <connector id="out" plugin="file"><directory>/abs/out</directory></connector>
  <route id="r" from="in" to="out"/>
</renkei>)");
  Diagnostics diags;
  auto config = loadConfig(tmp / "c.xml", diags);
  BOOST_REQUIRE(config);
  PluginRegistry registry;
  registry.scan({test::env("RENKEI_PLUGIN_DIR")});
  checkConfig(*config, registry, diags);
  BOOST_REQUIRE_MESSAGE(diags.empty(), diags.format());
  const Settings& s = config->connectors[0].settings;
  BOOST_TEST(s.getPath("directory") == fs::absolute(tmp / "x/y").lexically_normal());
  BOOST_TEST(s.getDuration("min-age").count() == 2000);
  BOOST_TEST((s.getList("pattern") == std::vector<std::string>{"*"}));  // default
  BOOST_TEST(s.getSize("max-file-size") == 4ull << 30);       // default
  BOOST_TEST(config->routes[0].to == std::vector<std::string>{"out"});
}

// Issue 12: the host's sections are declared as key tables; the operators'
// table in docs/configuration.md must list every key with the declared
// default (the declaration is the documentation).
BOOST_AUTO_TEST_CASE(configuration_md_lists_every_host_section_key_with_its_default) {
  const std::string doc = test::readFile(std::filesystem::path(test::env("RENKEI_SOURCE_DIR")) / "docs/configuration.md");
  for (const auto& [section, keys] : {std::pair<const char*, const std::vector<renkei_config_key>*>{"pipeline", &pipelineKeys()},
                                      {"admin", &adminKeys()},
                                      {"api", &apiKeys()},
                                      {"store", &storeKeys()}}) {
    for (const renkei_config_key& k : *keys) {
      BOOST_TEST_CONTEXT(section << " " << k.key) {
        // "| `<pipeline>` | `lease` | no | `60s` |", or several keys in one row.
        const std::string head = std::string("| `<") + section + ">` | ";
        std::size_t at = std::string::npos;
        for (std::size_t p = doc.find(head); p != std::string::npos; p = doc.find(head, p + 1)) {
          const std::string row = doc.substr(p, doc.find('\n', p) - p);
          if (row.find(std::string("`") + k.key + "`") != std::string::npos) at = p;
        }
        BOOST_TEST_REQUIRE(at != std::string::npos, "no row for the key");
        const std::string row = doc.substr(at, doc.find('\n', at) - at);
        if (k.default_value && *k.default_value)
          BOOST_TEST(row.find(std::string("`") + k.default_value + "`") != std::string::npos, row);
      }
    }
  }
}
