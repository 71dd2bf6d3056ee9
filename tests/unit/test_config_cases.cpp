// Golden cases for config checking: tests/cases/config/<name>/ holds
// config.xml and expected.txt. expected.txt is either "ok", or lines that
// must each appear in the problems reported, plus optionally "problems: N".
// A new case is new files only. The shipped configs in config/ must be ok.
#define BOOST_TEST_MODULE renkei_config_cases
#include <boost/test/unit_test.hpp>

#include <set>

#include "config.h"
#include "instance_check.h"
#include "renkei/support/calendar_file.h"
#include "renkei/support/guidance.h"
#include "renkei/support/layout.h"
#include "renkei/support/xml_document.h"
#include "mapping/mapping.h"
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
    // as `renkei check` goes on: the plugins configured in validation mode
    // (the zones of the sinks, the layouts of the sources)
    if (diags.empty()) validateInstances(*config, registry, diags);
  }
  r.ok = diags.empty();
  r.problems = diags.size();
  r.text = diags.format() + diags.formatWarnings();  // warnings are expected lines too, not problems
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
  // certificates in var/tls/, its keys in var/keys/): check them in a copy of the tree where those
  // exist, as after scripts/demo.
  const fs::path source = test::env("RENKEI_SOURCE_DIR");
  test::TempDir tree;
  fs::copy(source / "config", tree / "config", fs::copy_options::recursive);
  fs::copy(source / "mappings", tree / "mappings", fs::copy_options::recursive);
  auto certs = test::run({(source / "scripts/make-certs").string(), (tree / "var/tls").string(), "window-demo"});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  auto keys = test::run({(source / "scripts/make-keys").string(), (tree / "var/keys").string()},
                        {{"RENKEI_BIN", test::renkeiBinary()}});
  BOOST_REQUIRE_MESSAGE(keys.exitCode == 0, keys.err);
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
                                      {"store", &storeKeys()},
                                      {"backup", &backupKeys()},
                                      {"notify", &notifyKeys()}}) {
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

// Issue 13, item 13: every XML example in the docs and READMEs is checked as
// what it shows. A whole config passes `check` (in a tree laid out like the
// repository, with the files the demo makes); a whole layout or mapping
// loads; a fragment of a config (a <route>, a <connector> …) passes the
// schema and the reading of a config; a fragment of a layout (<header>,
// <trailer>, <field>) loads inside a CSV layout. An example of another kind
// fails this test until it is given a way to be checked.
BOOST_AUTO_TEST_CASE(every_xml_example_in_the_docs_checks) {
  const fs::path source = test::env("RENKEI_SOURCE_DIR");
  test::TempDir tree;
  fs::copy(source / "mappings", tree / "mappings", fs::copy_options::recursive);
  fs::create_directories(tree / "config");
  auto certs = test::run({(source / "scripts/make-certs").string(), (tree / "var/tls").string(), "window-demo"});
  BOOST_REQUIRE_MESSAGE(certs.exitCode == 0, certs.err);
  auto keys = test::run({(source / "scripts/make-keys").string(), (tree / "var/keys").string()},
                        {{"RENKEI_BIN", test::renkeiBinary()}});
  BOOST_REQUIRE_MESSAGE(keys.exitCode == 0, keys.err);

  std::vector<fs::path> documents;
  for (const fs::path& dir : {source / "docs", source / "connectors", source / "plugins"})
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.path().extension() == ".md") documents.push_back(e.path());
  documents.push_back(source / "README.md");
  std::sort(documents.begin(), documents.end());

  static const std::set<std::string> kConfigParts = {"route", "connector", "module", "subscription", "api", "admin",
                                                     "store", "pipeline", "log", "plugins", "key", "audit", "backup", "notify"};
  std::size_t examples = 0;
  for (const fs::path& doc : documents) {
    const std::string text = test::readFile(doc);
    for (std::size_t at = text.find("```xml\n"); at != std::string::npos; at = text.find("```xml\n", at)) {
      const std::size_t begin = at + 7, end = text.find("```", begin);
      BOOST_REQUIRE(end != std::string::npos);
      const std::string xml = text.substr(begin, end - begin);
      const int line = static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n')) + 1;
      at = end + 3;
      ++examples;
      // The first element's name, past an XML declaration and comments.
      std::size_t p = 0;
      while ((p = xml.find('<', p)) != std::string::npos && (xml.compare(p, 2, "<?") == 0 || xml.compare(p, 4, "<!--") == 0))
        p = xml.find(xml.compare(p, 2, "<?") == 0 ? "?>" : "-->", p) + 2;
      BOOST_REQUIRE(p != std::string::npos);
      const std::string element = xml.substr(p + 1, xml.find_first_of(" />\n", p + 1) - p - 1);
      BOOST_TEST_CONTEXT(doc.lexically_relative(source).string() << ":" << line << " (<" << element << ">)") {
        Diagnostics diags;
        if (element == "renkei") {
          test::writeFile(tree / "config/example.xml", xml);
          const CaseResult r = checkFile(tree / "config/example.xml");
          BOOST_TEST(r.ok, r.text);
        } else if (element == "layout") {
          test::writeFile(tree / "mappings/layouts/example.xml", xml);
          BOOST_TEST(formats::loadLayout(tree / "mappings/layouts/example.xml", diags) != nullptr, diags.format());
        } else if (element == "calendar") {
          fs::copy_file(source / "config/calendar/syukujitsu.csv", tree / "config/syukujitsu.csv",
                        fs::copy_options::overwrite_existing);
          test::writeFile(tree / "config/calendar.xml", xml);
          BOOST_TEST(loadCalendar(tree / "config/calendar.xml", diags).has_value(), diags.format());
        } else if (element == "knowledge") {
          test::writeFile(tree / "config/knowledge.xml", xml);
          BOOST_TEST(guidance::loadKnowledge(tree / "config/knowledge.xml", diags) != nullptr, diags.format());
        } else if (element == "rules") {
          // against the shipped knowledge, whose procedures and events it names
          auto knowledge = guidance::loadKnowledge(source / "config/concierge/knowledge.xml", diags);
          test::writeFile(tree / "config/rules.xml", xml);
          BOOST_TEST((knowledge && guidance::loadRules(tree / "config/rules.xml", *knowledge, diags)), diags.format());
        } else if (element == "mapping") {
          test::writeFile(tree / "mappings/example.xml", xml);
          BOOST_TEST(mapping::loadMapping(tree / "mappings/example.xml", {}, diags) != nullptr, diags.format());
        } else if (kConfigParts.count(element)) {
          test::writeFile(tree / "config/fragment.xml",
                          "<renkei xmlns=\"urn:renkei:config:1\" instance=\"docs\" zone=\"lgwan\">\n" + xml + "</renkei>\n");
          BOOST_TEST(loadConfig(tree / "config/fragment.xml", diags).has_value());
          BOOST_TEST(diags.empty(), diags.format());
        } else if (element == "program") {
          // a welfare program file, against its schema (the connector's own
          // checks run in test_welfare_connector)
          const std::string xsd = test::readFile(source / "config/schema/renkei-welfare.xsd");
          test::writeFile(tree / "mappings/welfare-example.xml", xml);
          BOOST_TEST(xml::load(tree / "mappings/welfare-example.xml", xsd.c_str(), "urn:renkei:welfare:1", "program",
                               "welfare program", diags) != nullptr);
          BOOST_TEST(diags.empty(), diags.format());
        } else if (element == "header" || element == "trailer" || element == "field") {
          // In a layout's order: format, header, data fields, trailer.
          std::string body = xml;
          const std::size_t header = body.find("</header>");
          body.insert(header == std::string::npos ? 0 : header + 9, "\n<field name=\"docs\" pii=\"none\"/>\n");
          test::writeFile(tree / "mappings/layouts/fragment.xml",
                          "<layout xmlns=\"urn:renkei:layout:1\" id=\"docs\" record=\"docs\">\n"
                          "<csv encoding=\"windows-31j\"/>\n" + body + "</layout>\n");
          BOOST_TEST(formats::loadLayout(tree / "mappings/layouts/fragment.xml", diags) != nullptr, diags.format());
        } else {
          BOOST_ERROR("an XML example this test cannot check; make it one of the kinds above");
        }
      }
    }
  }
  BOOST_TEST(examples >= 10u);
}
