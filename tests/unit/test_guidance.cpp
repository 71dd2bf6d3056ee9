// Guidance as data (issue 15, items 2 and 3): knowledge files and rule
// files checked with file:line and did-you-mean; the judgement's golden
// cases (tests/cases/judgement/<case>/household.json in, expected.txt
// out: one line per procedure, "<id> <deadline or -> <answers | rule id>"),
// including 4/1 birthdays, a 15-day deadline ending on a holiday and a rule
// before and after its valid-from date.
#define BOOST_TEST_MODULE renkei_guidance
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Parser.h>

#include <cstdlib>

#include "renkei/support/calendar_file.h"
#include "golden.h"
#include "renkei/support/guidance.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

struct Shipped {
  std::shared_ptr<const guidance::Knowledge> knowledge;
  std::shared_ptr<const guidance::Rules> rules;
  calendar::Calendar cal;
  Shipped() {
    Diagnostics diags;
    knowledge = guidance::loadKnowledge(source("config/concierge/knowledge.xml"), diags);
    BOOST_REQUIRE_MESSAGE(knowledge, diags.format());
    rules = guidance::loadRules(source("config/concierge/related-procedures.xml"), *knowledge, diags);
    BOOST_REQUIRE_MESSAGE(rules, diags.format());
    auto c = loadCalendar(source("config/calendar/demo-city.xml"), diags);
    BOOST_REQUIRE_MESSAGE(c, diags.format());
    cal = *c;
  }
};

std::string judged(const Shipped& s, const fs::path& householdFile) {
  auto o = Poco::JSON::Parser().parse(test::readFile(householdFile)).extract<Poco::JSON::Object::Ptr>();
  guidance::Household h;
  h.event = o->getValue<std::string>("event");
  h.moveDate = *calendar::parseIso(o->getValue<std::string>("move"));
  auto members = o->getArray("members");
  for (std::size_t i = 0; i < members->size(); ++i) {
    auto m = members->getObject(static_cast<unsigned>(i));
    std::set<std::string> flags;
    if (auto f = m->getArray("flags"))
      for (std::size_t k = 0; k < f->size(); ++k) flags.insert(f->getElement<std::string>(static_cast<unsigned>(k)));
    h.members.push_back(guidance::memberFacts(*calendar::parseIso(m->getValue<std::string>("birth")), h.moveDate, flags));
  }
  if (auto facts = o->getObject("facts"))
    for (const auto& [k, v] : *facts) h.facts[k] = v.toString();
  if (auto chosen = o->getArray("chosen"))
    for (std::size_t k = 0; k < chosen->size(); ++k)
      h.chosenProcedures.push_back(chosen->getElement<std::string>(static_cast<unsigned>(k)));
  std::string out;
  for (const auto& r : guidance::judge(*s.knowledge, s.rules.get(), s.cal, h, {{"child-medical-age", "15"}})) {
    const std::string because = r.because == "the answers" ? "answers" : r.because.substr(5, r.because.find(' ', 5) - 5);
    out += r.procedure->id + " " + (r.deadline ? calendar::iso(*r.deadline) : std::string("-")) + " " + because + "\n";
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(legal_age_and_school_year) {
  using calendar::parseIso;
  // A year older on the day before the birthday.
  BOOST_TEST(guidance::memberFacts(*parseIso("2008-06-01"), *parseIso("2026-05-31")).age == 18);
  BOOST_TEST(guidance::memberFacts(*parseIso("2008-06-01"), *parseIso("2026-05-30")).age == 17);
  // 4/1 birthdays join the year before (早生まれ).
  BOOST_TEST(guidance::memberFacts(*parseIso("2020-04-01"), *parseIso("2026-06-01")).grade == 1);
  BOOST_TEST(guidance::memberFacts(*parseIso("2020-04-02"), *parseIso("2026-06-01")).grade == 0);
  BOOST_TEST(guidance::memberFacts(*parseIso("2008-04-02"), *parseIso("2026-06-01")).grade == 12);  // 高校3年
  BOOST_TEST(guidance::memberFacts(*parseIso("2008-04-01"), *parseIso("2026-06-01")).grade == 13);
}

BOOST_AUTO_TEST_CASE(golden_judgements) {
  const Shipped shipped;
  std::size_t cases = 0;
  for (const auto& e : fs::directory_iterator(source("tests/cases/judgement"))) {
    if (!e.is_directory()) continue;
    ++cases;
    BOOST_TEST_CONTEXT("case " << e.path().filename().string()) {
      const std::string got = judged(shipped, e.path() / "household.json");
      // RENKEI_WRITE_GOLDEN=1 writes what the judgement gives, to review
      // with git diff before committing (never in CI).
      if (std::getenv("RENKEI_WRITE_GOLDEN")) test::writeFile(e.path() / "expected.txt", got);
      BOOST_TEST(got == test::readFile(e.path() / "expected.txt"), "got:\n" << got);
    }
  }
  BOOST_TEST(cases >= 7u);
}

BOOST_AUTO_TEST_CASE(a_required_parameter_not_given_is_named) {
  const Shipped s;
  guidance::Household h;
  h.event = "tennyu";
  h.moveDate = *calendar::parseIso("2026-06-01");
  h.members.push_back(guidance::memberFacts(*calendar::parseIso("2020-01-01"), h.moveDate));
  BOOST_CHECK_EXCEPTION(guidance::judge(*s.knowledge, s.rules.get(), s.cal, h, {}), std::invalid_argument,
                        [](const std::invalid_argument& e) {
                          return std::string(e.what()).find("parameter 'child-medical-age'") != std::string::npos;
                        });
  BOOST_TEST(guidance::missingParameters(*s.rules, {}) == std::vector<std::string>{"child-medical-age"});
}

BOOST_AUTO_TEST_CASE(knowledge_files_name_every_wrong_reference_at_its_line) {
  test::TempDir tmp;
  test::writeFile(tmp / "k.xml", R"(<knowledge xmlns="urn:renkei:knowledge:1" id="t">
  <procedure id="tennyu-todoke" name="転入届" counter="1"/>
  <procedure id="tennyu-todoke" name="again" counter="1"/>
  <event id="tennyu" name="転入">
    <procedures>tenyu-todoke</procedures>
    <question id="q1" text="1">
      <choice label="a" next="q2"/>
      <choice label="b" next="q9"/>
    </question>
    <question id="q2" text="2"><choice label="a" next="q3" fact="novalue"/></question>
    <question id="q3" text="3"><choice label="a" next="q4"/></question>
    <question id="q4" text="4"><choice label="a"/></question>
    <question id="lonely" text="5"><choice label="a"/></question>
  </event>
  <event id="loop" name="loop">
    <question id="a" text="a"><choice label="x" next="b"/></question>
    <question id="b" text="b"><choice label="x" next="a"/></question>
  </event>
</knowledge>
)");
  Diagnostics diags;
  BOOST_TEST(!guidance::loadKnowledge(tmp / "k.xml", diags));
  const std::string text = diags.format();
  for (const std::string expected : {
           "k.xml:3: procedure 'tennyu-todoke' is declared twice (first at line 2)",
           "k.xml:5: event 'tennyu': procedure 'tenyu-todoke' is not declared; did you mean 'tennyu-todoke'?",
           "k.xml:8: event 'tennyu', question 'q1': next 'q9' is no question of this event",
           "k.xml:10: question 'q2', choice 'a': fact 'novalue' is not name=value",
           "k.xml:12: event 'tennyu': question 'q4' is at level 4 (q1 → q2 → q3 → q4); a question tree has at most 3 levels",
           "k.xml:13: event 'tennyu': question 'lonely' is never reached from the first question ('q1')",
           "k.xml:17: event 'loop': the questions go round: a → b → a"})
    BOOST_TEST(text.find(expected) != std::string::npos, "expected '" << expected << "' in:\n" << text);
}

BOOST_AUTO_TEST_CASE(rule_files_name_unknown_procedures_events_and_parameters) {
  const Shipped s;
  test::TempDir tmp;
  test::writeFile(tmp / "r.xml", R"(<rules xmlns="urn:renkei:rules:1" id="t">
  <parameter name="age-limit"/>
  <rule id="a" procedure="jidou-teat" trigger="tennyu" valid-from="2024-10-01" cite="x"/>
  <rule id="b" procedure="jidou-teate" trigger="tenyu" valid-from="2024-10-01" cite="x"/>
  <rule id="c" procedure="jidou-teate" trigger="tennyu" valid-from="2024-02-30" cite="x"/>
  <rule id="d" procedure="jidou-teate" trigger="tennyu" valid-from="2024-10-01" cite="x">
    <when><member through-march-after-age="param:age-limt"/></when>
  </rule>
</rules>
)");
  Diagnostics diags;
  BOOST_TEST(!guidance::loadRules(tmp / "r.xml", *s.knowledge, diags));
  const std::string text = diags.format();
  for (const std::string expected : {
           "r.xml:3: rule 'a': procedure 'jidou-teat' is not in the knowledge file; did you mean 'jidou-teate'?",
           "r.xml:4: rule 'b': trigger 'tenyu' is no life event of the knowledge file; did you mean 'tennyu'?",
           "r.xml:5: rule 'c': valid-from '2024-02-30' is not a day",
           "r.xml:7: rule 'd': through-march-after-age: parameter 'age-limt' is not declared"})
    BOOST_TEST(text.find(expected) != std::string::npos, "expected '" << expected << "' in:\n" << text);
}

// A number past int in a rule file once aborted `renkei check` (rc 134):
// every number read from these files is range-checked and named with its line.
BOOST_AUTO_TEST_CASE(numbers_in_rule_files_are_range_checked_with_their_line) {
  const Shipped s;
  test::TempDir tmp;
  test::writeFile(tmp / "r.xml", R"(<rules xmlns="urn:renkei:rules:1" id="t">
  <rule id="a" procedure="jidou-teate" trigger="tennyu" valid-from="2024-10-01" cite="x" deadline-days="99999999999999999999"/>
  <rule id="b" procedure="jidou-teate" trigger="tennyu" valid-from="2024-10-01" cite="x">
    <when><member min-age="2147483648"/></when>
  </rule>
  <rule id="c" procedure="jidou-teate" trigger="tennyu" valid-from="2024-10-01" cite="x">
    <when><member max-age="-1"/></when>
  </rule>
</rules>
)");
  Diagnostics diags;
  BOOST_TEST(!guidance::loadRules(tmp / "r.xml", *s.knowledge, diags));
  const std::string text = diags.format();
  for (const std::string expected : {
           "r.xml:2: rule 'a': deadline-days: '99999999999999999999' is not a whole number from 0 to 3650",
           "r.xml:4: rule 'b': min-age: '2147483648' is not a whole number from 0 to 3650",
           "r.xml:7: rule 'c': max-age: '-1' is not a whole number from 0 to 3650"})
    BOOST_TEST(text.find(expected) != std::string::npos, "expected '" << expected << "' in:\n" << text);
}
