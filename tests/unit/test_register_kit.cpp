// The register kit (connectors/common/register_kit.h) on its own, over the
// host's real store (the plugin harness's host): the register's snapshots
// by key and by column, a pass's baseline, previous states and removals,
// the removal guard's threshold both ways, the ledger of applied exports,
// and held/ with its release (by name and content, with who), from the
// command line and from the console's pages.
#define BOOST_TEST_MODULE renkei_register_kit
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include "person_match.h"
#include "plugin_harness.h"
#include "register_kit.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace renkei;

namespace {

const kit::RegisterSpec kSpec{"people", "person_id", {"household", "status"}, {"household"}};

struct Store {
  test::TempDir dir;
  test::RecordingHost host{dir.path(), "kit"};
  StateStore& state = host.state();
  Store() {
    state.migrate({kit::Register::createStep(kSpec), kit::ExportLedger::createStep("exports", {"events"}),
                   kit::HeldExports::createStep("releases")});
  }
  void put(kit::Register& reg, std::unordered_map<std::string, kit::Snapshot> rows) {
    state.write([&](StateSession& s) { reg.write(s, kit::sortedRows(rows)); });
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_register_keeps_snapshots_by_key_and_finds_them_by_column) {
  Store st;
  kit::Register reg(st.state, kSpec);
  BOOST_TEST(reg.empty());
  BOOST_TEST(reg.column("status") == 1u);
  BOOST_CHECK_THROW(reg.column("nothing"), std::logic_error);
  st.put(reg, {{"p1", {{"h1", "active"}, true}}, {"p2", {{"h1", "active"}, true}}, {"p3", {{"h2", "ended"}, false}}});
  BOOST_TEST(!reg.empty());
  st.state.read([&](StateSession& s) {
    const auto p3 = reg.find(s, "p3");
    BOOST_TEST_REQUIRE(p3.has_value());
    BOOST_TEST(p3->values == (std::vector<std::string>{"h2", "ended"}), boost::test_tools::per_element());
    BOOST_TEST(!p3->current);
    BOOST_TEST(!reg.find(s, "p9").has_value());
    std::vector<std::string> members;
    reg.byColumn(s, "household", "h1", [&](const std::string& key, kit::Snapshot) { members.push_back(key); });
    std::sort(members.begin(), members.end());
    BOOST_TEST(members == (std::vector<std::string>{"p1", "p2"}), boost::test_tools::per_element());
  });
  // An upsert replaces the values and the flag, nothing else.
  st.put(reg, {{"p1", {{"h3", "moved"}, true}}});
  BOOST_TEST(reg.all().size() == 3u);
  BOOST_TEST(reg.all().at("p1").values[0] == "h3");
}

BOOST_AUTO_TEST_CASE(a_pass_knows_the_baseline_what_changed_and_what_a_full_extract_leaves_out) {
  Store st;
  kit::Register reg(st.state, kSpec);
  {
    kit::Pass first(reg, true);
    BOOST_TEST(first.baseline());  // an empty register: the first export raises nothing
  }
  std::unordered_map<std::string, kit::Snapshot> rows;
  for (int i = 0; i < 100; ++i) rows["p" + std::to_string(i)] = {{"h" + std::to_string(i / 4), "active"}, true};
  rows["gone"] = {{"h99", "ended"}, false};
  st.put(reg, rows);

  // A full extract listing 97 of the 100 current people (and a changed one).
  kit::Pass full(reg, true);
  BOOST_TEST(!full.baseline());
  st.state.read([&](StateSession& s) {
    for (int i = 0; i < 97; ++i) {
      const auto prev = full.previous(s, "p" + std::to_string(i));
      BOOST_TEST_REQUIRE(prev.has_value());
      if (i == 5) full.change("p5", {{"h1", "active"}, true});
    }
    BOOST_TEST(full.previous(s, "p5")->values[0] == "h1");  // this export's earlier row wins
    BOOST_TEST(!full.previous(s, "new").has_value());
  });
  const kit::Pass::Missing m = full.missing();
  BOOST_TEST(m.current == 100u);  // the ended one does not count
  BOOST_TEST(m.removed == 3u);
  std::vector<std::string> ended;
  full.endMissing([&](const std::string& key, const kit::Snapshot& last) {
    ended.push_back(key);
    BOOST_TEST(last.current);
  });
  std::sort(ended.begin(), ended.end());
  BOOST_TEST(ended == (std::vector<std::string>{"p97", "p98", "p99"}), boost::test_tools::per_element());
  BOOST_TEST(!full.changes().at("p98").current);
  BOOST_TEST(full.changes().size() == 4u);  // p5 and the three ended

  // A differential looks up only what it names, and ends nobody.
  kit::Pass diff(reg, false);
  st.state.read([&](StateSession& s) { BOOST_TEST(diff.previous(s, "p98")->current); });
  BOOST_TEST(diff.missing().removed == 0u);
}

BOOST_AUTO_TEST_CASE(the_removal_guard_holds_above_its_share_and_never_a_few) {
  const kit::RemovalGuard guard{5, 10}, never{100, 10}, always{0, 0};
  auto missing = [](std::size_t current, std::size_t removed) { return kit::Pass::Missing{current, removed}; };
  BOOST_TEST(!guard.tooMany(missing(1000, 50)));  // exactly 5 %: allowed
  BOOST_TEST(guard.tooMany(missing(1000, 51)));   // above: held
  BOOST_TEST(!guard.tooMany(missing(20, 10)));    // 50 %, but only ten: a small register's ordinary day
  BOOST_TEST(guard.tooMany(missing(20, 11)));
  BOOST_TEST(!never.tooMany(missing(100, 100)));  // 100: never held
  BOOST_TEST(always.tooMany(missing(100, 1)));    // 0: every removal held
}

BOOST_AUTO_TEST_CASE(the_ledger_knows_an_export_by_its_content) {
  Store st;
  kit::ExportLedger ledger(st.state, "exports", {"events"});
  BOOST_TEST(!ledger.applied("abc"));
  st.state.write([&](StateSession& s) { ledger.record(s, "abc", "A_FULL.csv", "full", 1, {7}); });
  st.state.write([&](StateSession& s) { ledger.record(s, "abc", "B_FULL.csv", "full", 2, {7}); });  // once
  BOOST_TEST(ledger.applied("abc"));
}

BOOST_AUTO_TEST_CASE(a_held_export_is_listed_with_its_reason_and_released_by_name_and_content) {
  Store st;
  const fs::path drop = st.dir / "drop";
  fs::create_directories(drop / "in");
  fs::create_directories(drop / "processing");
  kit::HeldExports held(drop, st.state, "releases", "renkei welfare", false);
  test::writeFile(drop / "processing/K_FULL.csv", "H,1\nD,a\nT,1\n");
  BOOST_TEST(!held.hold(drop / "processing/K_FULL.csv", "K_FULL.csv", "would end 80 of 100").has_value());
  // A second of the same name cannot be held over it: said, the caller refuses it.
  test::writeFile(drop / "processing/K_FULL.csv", "other");
  const auto again = held.hold(drop / "processing/K_FULL.csv", "K_FULL.csv", "again");
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->find("cannot move it to held/") == 0u, *again);
  // A link in held/ is not an export to release.
  BOOST_TEST(::symlink("/etc/passwd", (drop / "held/passwd").c_str()) == 0);
  const auto list = held.list();
  BOOST_TEST_REQUIRE(list.size() == 1u);
  BOOST_TEST(list[0].first == "K_FULL.csv");
  BOOST_TEST(list[0].second == "reason: would end 80 of 100");

  OperatorRequest ls;
  ls.action = "held";
  BOOST_TEST(held.operate(ls, 1)->output.find("1 export is held") != std::string::npos);
  for (const char* bad : {"", "../in/x", "..", "passwd", "none.csv"}) {
    OperatorRequest r;
    r.action = "release";
    r.options["--file"] = bad;
    const auto result = held.operate(r, 1);
    BOOST_TEST(result->status != 0, bad);
    BOOST_TEST(result->error.find("renkei welfare held") != std::string::npos, result->error);
  }
  BOOST_TEST(!held.releasedBy("K_FULL.csv", "x").has_value());

  // Released from the console's page: POST only, as the signed-in operator.
  held.addPages(*st.host.admin(), "kit", [] { return std::int64_t{5}; });
  BOOST_TEST(st.host.pageInfo("held").second == "view");
  BOOST_TEST(st.host.pageInfo("release").second == "operate");
  BOOST_TEST(st.host.page("held").body.find("\"file\":\"K_FULL.csv\"") != std::string::npos);
  BOOST_TEST(st.host.page("release", {{"file", "K_FULL.csv"}}).status == 405);  // the harness's page() is a GET
  OperatorRequest release;
  release.action = "release";
  release.options["--file"] = "K_FULL.csv";
  release.by = "kacho";
  const auto done = held.operate(release, 7);
  BOOST_TEST_REQUIRE(done->status == 0, done->error);
  BOOST_TEST(done->logged.find("released held export 'K_FULL.csv'") == 0u, done->logged);
  BOOST_TEST(fs::exists(drop / "in/K_FULL.csv"));
  BOOST_TEST(fs::exists(drop / "held/K_FULL.csv.held.txt"));  // the record of why it was held stays
  // Known by name and content: the bytes released, not any file of that name.
  std::string released;
  st.state.read([&](StateSession& s) {
    s.query("SELECT sha256, released_by FROM " + st.state.table("releases"), {},
            [&](StateRows& r) { released = r.text(0) + " " + r.text(1); });
  });
  BOOST_TEST(released.size() == 64u + 1 + 5, released);
  const std::string content = released.substr(0, 64);
  BOOST_TEST(held.releasedBy("K_FULL.csv", content).value_or("") == "kacho");
  BOOST_TEST(!held.releasedBy("K_FULL.csv", std::string(64, '0')).has_value());
  st.state.write([&](StateSession& s) { held.applied(s, "K_FULL.csv", content); });
  BOOST_TEST(!held.releasedBy("K_FULL.csv", content).has_value());
}

BOOST_AUTO_TEST_CASE(a_register_offered_to_other_plugins_is_found_by_its_key_or_an_indexed_column) {
  Store st;
  kit::Register reg(st.state, kSpec);
  st.put(reg, {{"p1", {{"h1", "active"}, false}}, {"p2", {{"h1", "active"}, true}}, {"p3", {{"h2", "x"}, true}}});
  st.host.registers().offer("person", std::make_shared<kit::OfferedRegister>(reg, st.state, "person_id",
                                                                             std::vector<std::string>{"household"},
                                                                             std::vector<std::string>{"household"}));
  BOOST_CHECK_THROW(st.host.registers().offer("person", st.host.registers().find("person")), std::invalid_argument);
  const auto lookup = st.host.registers().find("person");
  BOOST_TEST_REQUIRE(lookup != nullptr);
  BOOST_TEST(!st.host.registers().find("koseki"));
  BOOST_TEST(lookup->keys() == (std::vector<std::string>{"person_id", "household"}), boost::test_tools::per_element());
  const auto p3 = lookup->find("person_id", "p3");
  BOOST_TEST_REQUIRE(p3.has_value());
  BOOST_TEST(p3->fields.at("household") == "h2");
  BOOST_TEST(p3->fields.count("status") == 0u);  // only what it shares
  // By a column that two share: the current one.
  const auto h1 = lookup->find("household", "h1");
  BOOST_TEST_REQUIRE(h1.has_value());
  BOOST_TEST(h1->key == "p2");
  BOOST_TEST(!lookup->find("person_id", "p9").has_value());
  BOOST_TEST(!lookup->find("status", "active").has_value());  // not a key it is searched by
  BOOST_TEST(!lookup->find("person_id", "").has_value());
}

// The digests that find a person across core systems: the same person
// however the date and spacing are written; another person, or the same
// name in another kanji (髙 and 高), is another digest — never folded.
BOOST_AUTO_TEST_CASE(person_digests_agree_across_notations_and_never_fold_kanji) {
  for (const char* d : {"2026-12-01", "20261201", "2026/12/01", "5081201", "05081201", "R08.12.01", "令和8年12月1日",
                        "令和８年１２月１日"})
    BOOST_TEST(kit::isoDate(d).value_or("?") == "2026-12-01", d);
  BOOST_TEST(kit::isoDate("令和元年5月1日").value_or("?") == "2019-05-01");
  for (const char* bad : {"", "2026-02-30", "平成31年5月1日", "昭和64年1月8日", "見本", "20261301"})
    BOOST_TEST(!kit::isoDate(bad).has_value(), bad);
  const std::string a = kit::identityKey("小林　茂", "3350818", "1");
  BOOST_TEST(a.size() == 32u);
  BOOST_TEST(kit::identityKey("小林茂", "1960-08-18", "1") == a);
  BOOST_TEST(kit::identityKey("小林 茂", "昭和35年8月18日", "１") == a);
  BOOST_TEST(kit::identityKey("小林\U000E0100茂", "1960-08-18", "1") == a);  // an IVS is no other person
  BOOST_TEST(kit::identityKey("小林茂", "1960-08-19", "1") != a);
  BOOST_TEST(kit::identityKey("小林茂", "1960-08-18", "2") != a);
  BOOST_TEST(kit::identityKey("髙橋茂", "1960-08-18", "1") != kit::identityKey("高橋茂", "1960-08-18", "1"));
  BOOST_TEST(kit::identityKey("", "1960-08-18", "1").empty());
  BOOST_TEST(kit::identityKey("小林茂", "見本", "1").empty());
  BOOST_TEST(kit::displayKey("北海道札幌市中央区表町７３５番地", "小林　茂") ==
             kit::displayKey("北海道札幌市中央区表町735番地", "小林茂"));
  BOOST_TEST(kit::displayKey("北海道札幌市中央区表町735番地", "").empty());
}

// A differential made before the last full extract is stale; an unknown
// date on either side compares nothing.
BOOST_AUTO_TEST_CASE(a_differential_older_than_the_last_full_is_stale) {
  ReadTotals t;
  t.header = {{"区分", "1"}, {"市町村コード", "999999"}, {"作成年月日", "20261130"}};
  BOOST_TEST(kit::madeDate(t, "作成年月日") == "2026-11-30");
  BOOST_TEST(kit::madeDate(t, "作成日").empty());
  BOOST_TEST(kit::madeDate(ReadTotals{}, "作成年月日").empty());
  auto why = kit::staleDifferential("D.csv", "2026-11-30", "2026-12-01", "renkei welfare");
  BOOST_TEST_REQUIRE(why.has_value());
  BOOST_TEST(why->find("renkei welfare release --config <config> --file 'D.csv'") != std::string::npos, *why);
  BOOST_TEST(!kit::staleDifferential("D.csv", "2026-12-01", "2026-12-01", "x").has_value());
  BOOST_TEST(!kit::staleDifferential("D.csv", "", "2026-12-01", "x").has_value());
  BOOST_TEST(!kit::staleDifferential("D.csv", "2026-11-30", "", "x").has_value());
}
