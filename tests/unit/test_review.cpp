// The review module's logic (issue 16) on a real store (SQLite, or
// PostgreSQL with RENKEI_TEST_STORE=postgresql): intake with 到達番号 and
// 問合せ番号, formal review with each bad input named, states and history,
// deadlines on the municipal calendar, the write-back through the
// conversion table (held, never substituted), reconciliation, reminders,
// reports. The seam here stands in for the host's emit (same contract: a
// key seen before does nothing, state and records commit together); the
// host's own seam is tested in test_seam and end to end in test_review_e2e.
#define BOOST_TEST_MODULE renkei_review
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>

#include "renkei/support/calendar_file.h"
#include "review.h"
#include "state_store.h"
#include "test_support.h"
#include "renkei/support/codec.h"
#include "renkei/text.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

/// 2026-04-24 (Fri) 10:00 JST as ms UTC, plus whole days.
std::int64_t at(const std::string& isoDay, int hour = 10, int minute = 0) {
  const auto d = calendar::parseIso(isoDay);
  BOOST_REQUIRE(d);
  return calendar::toDays(*d) * 86'400'000LL + (hour - 9) * 3'600'000LL + minute * 60'000LL;
}

struct Seam {
  StateStore* st = nullptr;
  std::set<std::string> keys;
  std::vector<RecordSet> sets;
  int emissions = 0;
  Outcome operator()(const Emission& e) {
    if (keys.count(e.key)) return Outcome::ok();
    try {
      st->write([&](StateSession& s) {
        if (e.state) e.state(s);
      });
    } catch (const std::exception& x) {
      return Outcome::retry(x.what());
    } catch (...) {
      return Outcome::retry("state step threw");
    }
    keys.insert(e.key);
    ++emissions;
    for (const auto& s : e.sets) sets.push_back(s);
    return Outcome::ok();
  }
  std::vector<Record> of(const std::string& type) const {
    std::vector<Record> out;
    for (const auto& s : sets)
      if (s.recordType == type) out.insert(out.end(), s.records.begin(), s.records.end());
    return out;
  }
};

std::string get(const Record& r, const std::string& f) {
  const std::string* v = r.find(f);
  return v ? *v : "<none>";
}

struct Fixture {
  test::TempDir dir;
  store::StoreConfig config;
  std::unique_ptr<StateStore> state;
  Seam seam;
  std::unique_ptr<plugins::review::Review> review;
  std::shared_ptr<const plugins::review::Procedures> shipped, extra;

  explicit Fixture(const fs::path& attachmentsDir = {}, bool corrections = false,
                   const std::string& ocrCharacters = "") {
    if (const char* v = std::getenv("RENKEI_TEST_STORE"); v && std::string(v) == "postgresql") {
      config.driver = "postgresql";
      config.connection = test::freshPostgresDatabase("review");
    } else {
      config.path = dir / "var/renkei.db";
    }
    state = openStateStore(config, "review");
    seam.st = state.get();
    Diagnostics diags;
    shipped = plugins::review::loadProcedures(source("config/review/procedures.xml"), diags);
    extra = plugins::review::loadProcedures(source("tests/fixtures/review/procedures.xml"), diags);
    auto cal = loadCalendar(source("config/calendar/demo-city.xml"), diags);
    BOOST_REQUIRE_MESSAGE(diags.empty(), diags.format());
    auto both = std::make_shared<plugins::review::Procedures>(*shipped);
    for (const auto& p : extra->list) both->list.push_back(p);
    plugins::review::ReviewOptions options;
    options.municipality = "見本市";
    options.statusField = "resident_status";
    options.currentStatus = "1";
    options.eventField = "move_reason";
    options.attachmentsDir = attachmentsDir;
    options.corrections = corrections;
    for (char32_t c : utf8CodePoints(ocrCharacters)) options.ocrCharacters.insert(c);
    plugins::review::loadVariants(test::readFile(source("config/review/kanji-variants.tsv")), options.variants);
    review = std::make_unique<plugins::review::Review>(*state, both, *cal, options,
                                              [this](const Emission& e) { return seam(e); });
    review->migrate();
  }

  void residents(const std::vector<std::vector<std::string>>& rows) {
    auto names = std::make_shared<FieldNames>(
        FieldNames{"resident_code", "name", "birth_date", "sex", "address", "resident_status", "move_reason"});
    std::vector<Record> records;
    for (const auto& row : rows) {
      Record r(names);
      for (std::size_t i = 0; i < row.size(); ++i) r.set(i, row[i]);
      records.push_back(std::move(r));
    }
    review->takeResidents(records, at("2026-04-23"));
  }
};

plugins::review::IntakeInput tennyu(const std::string& id) {
  plugins::review::IntakeInput in;
  in.origin = "route:apps";
  in.externalId = id;
  in.procedure = "tennyu-todoke";
  in.source = "bridge";
  in.fields = {{"name", "見本 太郎"},         {"name_kana", "ミホン タロウ"},      {"birth_date", "1990-05-01"},
               {"sex", "1"},                 {"address", "架空県別市北町1-2-3"}, {"new_address", "架空県見本市中央1-1-1"},
               {"move_date", "2026-04-20"},  {"phone", "090-0000-0000"},
               {"member.1.name", "見本 太郎"}, {"member.1.birth_date", "1990-05-01"}, {"member.1.sex", "1"},
               {"member.1.relationship", "世帯主"}, {"member.1.resident_type", "日本人"}};
  return in;
}

std::string rules(const plugins::review::Application& a) {
  std::string out;
  for (const auto& f : a.findings)
    if (!f.ok) out += f.rule + ":" + f.field + " ";
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(intake_numbers_each_application_once_and_sends_the_receipt) {
  Fixture f;
  const auto a = f.review->intake(tennyu("web-1"), at("2026-04-24"));
  BOOST_TEST(a.arrivalNo == "R20260424-000001");
  BOOST_TEST(a.inquiryNo.size() == 14u);
  BOOST_TEST(a.inquiryNo.find_first_of("01ILO") == std::string::npos);
  BOOST_TEST(a.state == "received");
  BOOST_TEST(rules(a) == "");
  // 標準処理期間 1 open day from Friday 2026-04-24: Monday 04-27.
  BOOST_TEST(a.due == "2026-04-27");
  // The same application again (a bridge delivering it twice): one.
  const auto again = f.review->intake(tennyu("web-1"), at("2026-04-24", 11));
  BOOST_TEST(again.arrivalNo == a.arrivalNo);
  BOOST_TEST(f.review->list("", "", "", at("2026-04-24")).size() == 1u);
  const auto notices = f.seam.of("review.notice");
  BOOST_REQUIRE(notices.size() == 1u);
  BOOST_TEST(get(notices[0], "template") == "received");
  BOOST_TEST(get(notices[0], "arrival_no") == a.arrivalNo);
  // PII-free: the notice holds no field of the application.
  for (std::size_t i = 0; i < notices[0].size(); ++i)
    for (const auto& [k, v] : a.fields) BOOST_TEST(notices[0].value(i) != v);
  const auto mail = f.seam.of("review.mail");
  BOOST_REQUIRE(mail.size() == 1u);
  BOOST_TEST(get(mail[0], "department") == "市民課");
  BOOST_TEST(f.review->intake(tennyu("web-2"), at("2026-04-24")).arrivalNo == "R20260424-000002");
  BOOST_TEST(f.review->intake(tennyu("web-3"), at("2026-04-25")).arrivalNo == "R20260425-000001");
  BOOST_CHECK_THROW(f.review->intake(tennyu("bad id with spaces"), at("2026-04-24")), plugins::review::ReviewError);
}

// The live events' hook: each committed change of state once, with the
// 到達番号, procedure, states and action — the same intake again, a refused
// action and a stale version change nothing and say nothing.
BOOST_AUTO_TEST_CASE(each_committed_change_of_state_is_told_once) {
  Fixture f;
  std::vector<plugins::review::StateChange> told;
  f.review->onStateChange([&](const plugins::review::StateChange& c) { told.push_back(c); });
  auto a = f.review->intake(tennyu("web-1"), at("2026-04-24"));
  f.review->intake(tennyu("web-1"), at("2026-04-24", 11));  // delivered twice
  plugins::review::ActionInput act;
  act.who = "staff-a";
  act.action = plugins::review::Action::Approve;
  BOOST_CHECK_THROW(f.review->act(a.arrivalNo, act, at("2026-04-24")), plugins::review::ReviewError);  // not started
  act.action = plugins::review::Action::Start;
  f.review->act(a.arrivalNo, act, at("2026-04-24", 10));
  act.expectedVersion = 1;  // stale
  act.action = plugins::review::Action::Approve;
  BOOST_CHECK_THROW(f.review->act(a.arrivalNo, act, at("2026-04-24", 11)), plugins::review::ReviewError);
  act.expectedVersion = -1;
  f.review->act(a.arrivalNo, act, at("2026-04-24", 11));
  std::string trail;
  for (const auto& c : told) trail += c.action + ":" + c.from + "→" + c.to + " ";
  BOOST_TEST(trail == "intake:→received start:received→reviewing approve:reviewing→awaiting ");
  BOOST_TEST(told.at(0).arrivalNo == a.arrivalNo);
  BOOST_TEST(told.at(0).procedure == "tennyu-todoke");
  BOOST_TEST(told.at(2).at == at("2026-04-24", 11));
}

BOOST_AUTO_TEST_CASE(formal_review_names_every_bad_item_and_never_a_value) {
  Fixture f;
  f.residents({{"00000000018", "見本 花子", "1985-02-14", "female", "架空県見本市中央一丁目1番1号", "1", ""},
               {"00000000026", "転出 次郎", "1970-01-01", "male", "架空県見本市南町2-2", "2", "転出"}});
  plugins::review::IntakeInput in;
  in.origin = "route:apps";
  in.externalId = "cert-1";
  in.procedure = "test-cert";
  in.fields = {{"name", "見本　花子"}, {"birth_date", "1985-02-14"}, {"sex", "女"},
               {"address", "架空県見本市中央1-1-1"}, {"my_number", "123456789012"}, {"copies", "1"}};
  std::string good(64, 'a');
  in.attachments = {{"identity", good}};
  in.received = {{"identity", good}};
  auto a = f.review->intake(in, at("2026-04-24"));
  // 個人番号 with a wrong check digit; the register matched after normalising.
  BOOST_TEST(rules(a) == "check-digit:my_number ");
  BOOST_TEST(a.residentCode == "00000000018");
  for (const auto& x : a.findings) BOOST_TEST(x.message.find("123456789012") == std::string::npos);
  // Missing required, 2月30日, not in the register, an attachment whose hash is not the manifest's.
  in.externalId = "cert-2";
  in.fields = {{"name", "見本 花子"}, {"birth_date", "1985-02-30"}, {"copies", ""}};
  in.received = {{"identity", std::string(64, 'b')}};
  a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a) == "date:birth_date required:copies attachment:identity register: ");
  // A 4 情報 match on a resident who moved out.
  in.externalId = "cert-3";
  in.fields = {{"name", "転出 次郎"}, {"birth_date", "1970-01-01"}, {"copies", "2"}};
  in.received = {{"identity", good}};
  a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a) == "register: ");
  BOOST_TEST(a.findings.back().message.find("moved out") != std::string::npos);
  // A value outside the list, an attachment required and absent.
  in.externalId = "cert-4";
  in.fields = {{"name", "見本 花子"}, {"birth_date", "1985-02-14"}, {"copies", "9"}};
  in.attachments.clear();
  a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a) == "values:copies attachment:identity ");
  // Foreign members need their residence items; a wrong card number is named.
  auto t = tennyu("web-foreign");
  t.fields.push_back({"member.2.name", "ミホン アンナ"});
  t.fields.push_back({"member.2.birth_date", "1992-03-03"});
  t.fields.push_back({"member.2.sex", "2"});
  t.fields.push_back({"member.2.relationship", "妻"});
  t.fields.push_back({"member.2.resident_type", "外国人"});
  t.fields.push_back({"member.2.residence_card_no", "AB12345678C"});
  a = f.review->intake(t, at("2026-04-24"));
  BOOST_TEST(rules(a) ==
             "required:member.2.nationality required:member.2.residence_status required:member.2.residence_period "
             "required:member.2.residence_expiry check-digit:member.2.residence_card_no required:member.2.article30_45 ");
  // A name holds no line break, and an applicant's text no private-use
  // character (that area is the core system's 外字: only the conversion
  // table maps into it).
  in.externalId = "cert-5";
  in.fields = {{"name", "見本\n花子"}, {"birth_date", "1985-02-14"}, {"copies", "1"}, {"address", "架空県\uE000市"}};
  in.attachments = {{"identity", good}};
  in.received = {{"identity", good}};
  a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a).find("characters:name characters:address") != std::string::npos, rules(a));
  for (const auto& x : a.findings) {
    BOOST_TEST(x.message.find("花子") == std::string::npos);
    if (x.rule == "characters" && x.field == "address")
      BOOST_TEST(x.message.find("a private-use character (U+E000)") != std::string::npos, x.message);
    if (x.rule == "characters" && x.field == "name")
      BOOST_TEST(x.message.find("a control character (U+000A, a line break)") != std::string::npos, x.message);
  }
}

BOOST_AUTO_TEST_CASE(states_move_with_history_and_the_clock_pauses_for_correction) {
  Fixture f;
  auto a = f.review->intake(tennyu("web-1"), at("2026-04-24"));
  plugins::review::ActionInput act;
  act.who = "staff-a";
  act.action = plugins::review::Action::Approve;
  BOOST_CHECK_THROW(f.review->act(a.arrivalNo, act, at("2026-04-24")), plugins::review::ReviewError);  // not started
  act.action = plugins::review::Action::Start;
  a = f.review->act(a.arrivalNo, act, at("2026-04-24", 10, 30));
  BOOST_TEST(a.state == "reviewing");
  BOOST_TEST(a.assigned == "staff-a");
  // 補正依頼 on Saturday 04-25 (a service day? no: counted from the next day,
  // 14 days → 05-09 Sat, rolled to Mon 05-11: frontyard.md §7's vector).
  act.action = plugins::review::Action::RequestCorrection;
  act.why = "新住所の番地を確認してください";
  a = f.review->act(a.arrivalNo, act, at("2026-04-25"));
  BOOST_TEST(a.state == "correction");
  BOOST_TEST(a.correctionDeadline == "2026-05-11");
  auto notices = f.seam.of("review.notice");
  BOOST_TEST(get(notices.back(), "template") == "correction");
  BOOST_TEST(get(notices.back(), "deadline") == "2026-05-11");
  // A stale version is refused.
  act.action = plugins::review::Action::Resubmit;
  act.expectedVersion = 1;
  BOOST_CHECK_THROW(f.review->act(a.arrivalNo, act, at("2026-05-07")), plugins::review::ReviewError);
  // Resubmitted on Thursday 05-07: open days waited (04-27, 04-28, 04-30,
  // 05-01, 05-07; 04-29 and 05-03..06 are holidays) are added to the period.
  act.expectedVersion = a.version;
  act.fields = {{"new_address", "架空県見本市中央1-1-2"}};
  a = f.review->act(a.arrivalNo, act, at("2026-05-07"));
  BOOST_TEST(a.state == "reviewing");
  BOOST_TEST(a.pausedDays == 5);
  BOOST_TEST(a.due == "2026-05-08");  // 04-27 + 5 open days
  act.expectedVersion = -1;
  act.fields.clear();
  act.action = plugins::review::Action::Approve;
  act.why = "";
  a = f.review->act(a.arrivalNo, act, at("2026-05-07", 11));
  BOOST_TEST(a.state == "awaiting");
  // 取下げ after the decision, and 承認 after 取下げ, are refused.
  act.action = plugins::review::Action::Withdraw;
  BOOST_CHECK_THROW(f.review->act(a.arrivalNo, act, at("2026-05-07", 12)), plugins::review::ReviewError);
  auto b = f.review->intake(tennyu("web-2"), at("2026-05-07"));
  b = f.review->act(b.arrivalNo, act, at("2026-05-07", 12));
  BOOST_TEST(b.state == "withdrawn");
  act.action = plugins::review::Action::Approve;
  try {
    f.review->act(b.arrivalNo, act, at("2026-05-07", 13));
    BOOST_FAIL("承認 after 取下げ was taken");
  } catch (const plugins::review::ReviewError& e) {
    BOOST_TEST(e.code == plugins::review::ReviewError::Conflict);
    BOOST_TEST(e.message.find("withdrawn") != std::string::npos);
  }
  // Every change is in the history: who, when, why.
  a = f.review->get(a.arrivalNo);
  std::string trail;
  for (const auto& h : a.history) trail += h.action + ":" + h.to + " ";
  BOOST_TEST(trail == "intake:received start:reviewing request-correction:correction resubmit:reviewing approve:awaiting ");
  BOOST_TEST(a.history[2].why == "新住所の番地を確認してください");
  BOOST_TEST(a.history[2].who == "staff-a");
}

BOOST_AUTO_TEST_CASE(write_back_converts_through_the_table_and_holds_what_it_cannot) {
  Fixture f;
  auto in = tennyu("web-1");
  in.fields[0].second = "𠮷田 太郎";  // 𠮷 is not in CP932: the table maps it to the system's 外字
  in.fields[8].second = "𠮷田 太郎";
  auto t2 = in.fields;
  t2.push_back({"member.2.name", "𠮷田 アンナ"});
  t2.push_back({"member.2.birth_date", "1992-03-03"});
  t2.push_back({"member.2.sex", "2"});
  t2.push_back({"member.2.relationship", "妻"});
  t2.push_back({"member.2.resident_type", "外国人"});
  t2.push_back({"member.2.nationality", "ブラジル"});
  t2.push_back({"member.2.residence_status", "永住者"});
  t2.push_back({"member.2.residence_period", "無期限"});
  t2.push_back({"member.2.residence_expiry", "2030-01-01"});
  t2.push_back({"member.2.residence_card_no", "AB12345678CD"});
  t2.push_back({"member.2.article30_45", "中長期在留者"});
  in.fields = t2;
  auto a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a) == "");
  plugins::review::ActionInput act;
  act.who = "staff-a";
  act.action = plugins::review::Action::Start;
  f.review->act(a.arrivalNo, act, at("2026-04-24"));
  act.action = plugins::review::Action::Approve;
  a = f.review->act(a.arrivalNo, act, at("2026-04-24", 11));
  BOOST_TEST(a.state == "awaiting");
  const auto rows = f.seam.of("writeback.tennyu-todoke");
  BOOST_REQUIRE(rows.size() == 2u);  // a mixed household: one row per member
  BOOST_TEST(get(rows[0], "name") == "\xEE\x80\x80田 太郎");  // U+E000
  BOOST_TEST(get(rows[1], "member_resident_type") == "外国人");
  BOOST_TEST(get(rows[1], "member_nationality") == "ブラジル");
  BOOST_TEST(get(rows[0], "application_id") == a.arrivalNo);
  BOOST_TEST(get(rows[0], "kind") == "転入");
  // …which CP932 writes as the user-defined bytes F040.
  text::CodecStats stats;
  std::string bytes;
  text::findCodec("windows-31j")->encode(get(rows[0], "name"), bytes, stats);
  BOOST_TEST(stats.invalid == 0u);
  BOOST_TEST(bytes.substr(0, 2) == "\xF0\x40");

  // A character neither the table nor CP932 has: held, named, nothing written.
  auto held = tennyu("web-2");
  held.fields[0].second = "\xF0\xAA\x9A\xB2山 一郎";  // U+2A6B2
  auto b = f.review->intake(held, at("2026-04-24"));
  act.action = plugins::review::Action::Start;
  f.review->act(b.arrivalNo, act, at("2026-04-24"));
  act.action = plugins::review::Action::Approve;
  b = f.review->act(b.arrivalNo, act, at("2026-04-24", 11));
  BOOST_TEST(b.state == "approved");
  BOOST_TEST(b.holdReason.find("name") != std::string::npos);
  BOOST_TEST(b.holdReason.find("U+2A6B2") != std::string::npos);
  BOOST_TEST(b.holdReason.find("jumin-demo.tsv") != std::string::npos);
  BOOST_TEST(f.seam.of("writeback.tennyu-todoke").size() == 2u);
  act.action = plugins::review::Action::WriteBack;  // the table still lacks it: still held
  b = f.review->act(b.arrivalNo, act, at("2026-04-24", 12));
  BOOST_TEST(b.state == "approved");
  BOOST_TEST(f.seam.of("writeback.tennyu-todoke").size() == 2u);
}

BOOST_AUTO_TEST_CASE(reflection_comes_from_the_resident_export_or_an_acknowledgement) {
  Fixture f;
  plugins::review::ActionInput act;
  act.who = "staff-a";
  std::vector<std::string> numbers;
  for (const char* id : {"web-1", "web-2"}) {
    auto in = tennyu(id);
    if (std::string(id) == "web-2") in.fields[0].second = "見本 次郎";
    auto a = f.review->intake(in, at("2026-04-24"));
    act.action = plugins::review::Action::Start;
    f.review->act(a.arrivalNo, act, at("2026-04-24"));
    act.action = plugins::review::Action::Approve;
    f.review->act(a.arrivalNo, act, at("2026-04-24"));
    numbers.push_back(a.arrivalNo);
  }
  // The next export: 見本 太郎 now registered by a 転入 (spaces differ: normalised).
  f.residents({{"00000000034", "見本　太郎", "1990-05-01", "male", "架空県見本市中央1-1-1", "1", "転入"},
               {"00000000042", "見本 次郎", "1990-05-01", "male", "架空県見本市中央1-1-1", "1", "転居"}});
  BOOST_TEST(f.review->get(numbers[0]).state == "reflected");
  BOOST_TEST(f.review->get(numbers[1]).state == "awaiting");  // 転居 is not the 転入 it waits for
  auto notices = f.seam.of("review.notice");
  BOOST_TEST(get(notices.back(), "template") == "completed");
  BOOST_TEST(get(notices.back(), "arrival_no") == numbers[0]);
  // Waiting too long is reported (reflect-days 3 open days).
  auto late = f.review->overdue(at("2026-05-01"));  // 4 open days after Friday 04-24
  BOOST_REQUIRE(late.size() == 1u);
  BOOST_TEST(late[0].what == "reflection");
  // An acknowledgement file from the core system.
  auto names = std::make_shared<FieldNames>(FieldNames{"application_id", "result"});
  Record ack(names);
  ack.set(0, numbers[1]);
  ack.set(1, "ok");
  BOOST_TEST(f.review->acknowledge({ack}, at("2026-04-27")) == 1u);
  BOOST_TEST(f.review->get(numbers[1]).state == "reflected");
  BOOST_TEST(f.review->acknowledge({ack}, at("2026-04-27")) == 0u);  // once
}

BOOST_AUTO_TEST_CASE(reminders_go_on_open_mornings_once_per_department) {
  Fixture f;
  f.review->intake(tennyu("web-1"), at("2026-04-24"));  // due 04-27
  BOOST_TEST(f.review->overdue(at("2026-04-27")).empty());
  BOOST_TEST(f.review->remind(at("2026-04-29")) == 0u);  // 昭和の日: closed
  BOOST_TEST(f.review->remind(at("2026-04-28")) == 1u);
  BOOST_TEST(f.review->remind(at("2026-04-28", 14)) == 1u);  // the same day again: the seam takes it once
  const auto mail = f.seam.of("review.mail");
  std::size_t overdue = 0;
  for (const auto& m : mail) overdue += get(m, "template") == "overdue";
  BOOST_TEST(overdue == 1u);
}

BOOST_AUTO_TEST_CASE(reports_count_by_day_hour_form_department_and_municipality) {
  Fixture f;
  plugins::review::ActionInput act;
  act.who = "staff-a";
  act.action = plugins::review::Action::Start;
  auto a = f.review->intake(tennyu("web-1"), at("2026-04-24", 9));
  f.review->act(a.arrivalNo, act, at("2026-04-24", 9, 30));
  auto in = tennyu("web-2");
  in.municipality = "別市";
  a = f.review->intake(in, at("2026-04-24", 13));
  f.review->act(a.arrivalNo, act, at("2026-04-24", 14, 30));
  f.review->intake(tennyu("web-3"), at("2026-04-27", 9));
  auto day = f.review->report("day", "2026-04-24", "2026-04-30");
  BOOST_REQUIRE(day.size() == 2u);
  BOOST_TEST(day[0].key == "2026-04-24");
  BOOST_TEST(day[0].count == 2);
  BOOST_TEST(day[0].averageReceptionMinutes == 60.0);  // 30 and 90 minutes
  auto hour = f.review->report("hour", "2026-04-24", "2026-04-30");
  BOOST_TEST(hour.size() == 2u);
  BOOST_TEST(hour[0].key == "09");
  BOOST_TEST(hour[0].count == 2);
  auto muni = f.review->report("municipality", "2026-04-24", "2026-04-30");
  BOOST_TEST(muni.size() == 2u);
  BOOST_TEST(f.review->report("form", "2026-04-24", "2026-04-30")[0].key == "JR-TENNYU");
  BOOST_TEST(f.review->report("department", "2026-04-24", "2026-04-30")[0].key == "市民課");
  BOOST_TEST(f.review->report("month", "2026-04-01", "2026-04-30")[0].count == 3);
  BOOST_TEST(plugins::review::Review::reportCsv("day", day) ==
             "day,count,average_reception_minutes\r\n2026-04-24,2,60.0\r\n2026-04-27,1,0.0\r\n");
  BOOST_CHECK_THROW(f.review->report("week", "2026-04-24", "2026-04-30"), plugins::review::ReviewError);
}

BOOST_AUTO_TEST_CASE(procedure_files_report_problems_with_file_and_line) {
  test::TempDir dir;
  const fs::path file = dir / "p.xml";
  test::writeFile(file, R"(<?xml version="1.0" encoding="UTF-8"?>
<procedures xmlns="urn:renkei:procedures:1">
  <procedure id="a" name="A" department="d" period-days="1">
    <field name="name" pii="personal" match="name"/>
    <field name="x" pii="none" pattern="([" required-when="y=1"/>
    <write-back kind="k" encoding="ebcdic" conversion-table="missing.tsv"/>
  </procedure>
  <procedure id="a" name="A2" department="d" period-days="1" register="none">
    <field name="n" pii="none"/>
    <write-back kind="k"/>
  </procedure>
</procedures>
)");
  Diagnostics diags;
  BOOST_TEST(!plugins::review::loadProcedures(file, diags));
  const std::string text = diags.format();
  BOOST_TEST(text.find("p.xml:5") != std::string::npos, text);  // pattern; required-when
  BOOST_TEST(text.find("not a regular expression") != std::string::npos, text);
  BOOST_TEST(text.find("required-when names 'y'") != std::string::npos, text);
  BOOST_TEST(text.find("p.xml:6") != std::string::npos, text);  // encoding
  BOOST_TEST(text.find("missing.tsv") != std::string::npos, text);
  BOOST_TEST(text.find("match=\"birth\"") != std::string::npos, text);  // register needs name and birth
  BOOST_TEST(text.find("p.xml:8: procedure 'a' is declared twice") != std::string::npos, text);
  // Numbers past int (once an abort) are named with their line and range.
  test::writeFile(file, R"(<?xml version="1.0" encoding="UTF-8"?>
<procedures xmlns="urn:renkei:procedures:1">
  <procedure id="a" name="A" department="d" period-days="99999999999" register="none">
    <field name="n" pii="none" max-length="2147483648"/>
    <write-back kind="k"/>
  </procedure>
</procedures>
)");
  Diagnostics d3;
  BOOST_TEST(!plugins::review::loadProcedures(file, d3));
  // (the schema names what it bounds; the loader bounds the rest)
  BOOST_TEST(d3.format().find("p.xml:3: ") != std::string::npos, d3.format());
  BOOST_TEST(d3.format().find("'period-days': '99999999999'") != std::string::npos, d3.format());
  BOOST_TEST(d3.format().find("p.xml:4: ") != std::string::npos, d3.format());
  BOOST_TEST(d3.format().find("2147483648") != std::string::npos, d3.format());
  // A conversion table's problems, by line.
  Diagnostics d2;
  plugins::review::ConversionTable::parse("# c\nU+20BB7\tU+E000\nU+20BB7\tX\nnonsense\n", "t.tsv", d2);
  BOOST_TEST(d2.format().find("t.tsv:3") != std::string::npos, d2.format());
  BOOST_TEST(d2.format().find("t.tsv:4") != std::string::npos, d2.format());
}

// Ids are kept per origin (the route, or the window system's certificate):
// a record forged on a route with a window system's id is an application of
// its own, and neither sender is answered with the other's.
BOOST_AUTO_TEST_CASE(the_same_id_from_two_origins_is_two_applications) {
  test::TempDir packages;
  Fixture f(packages.path());
  auto window = tennyu("W-0001");
  window.origin = "window:window-demo";
  window.source = "window";
  const auto own = f.review->intake(window, at("2026-04-24"));
  auto forged = tennyu("W-0001");  // on a route, the same id
  forged.fields[0].second = "偽 太郎";
  const auto other = f.review->intake(forged, at("2026-04-24", 10));
  BOOST_TEST(other.arrivalNo != own.arrivalNo);
  BOOST_TEST(other.source == "bridge");
  BOOST_TEST(other.externalId == "W-0001");  // shown as sent
  // Each origin again: its own, once.
  BOOST_TEST(f.review->intake(window, at("2026-04-24", 11)).arrivalNo == own.arrivalNo);
  BOOST_TEST(f.review->intake(forged, at("2026-04-24", 12)).arrivalNo == other.arrivalNo);
  BOOST_TEST(f.review->list("", "", "", at("2026-04-24", 13)).size() == 2u);
  auto nowhere = tennyu("x");
  nowhere.origin = "";
  BOOST_CHECK_THROW(f.review->intake(nowhere, at("2026-04-24")), plugins::review::ReviewError);
}

BOOST_AUTO_TEST_CASE(hostile_items_are_refused_whole_and_links_are_not_followed) {
  test::TempDir packages;
  Fixture f(packages.path());
  const auto refused = [&](plugins::review::IntakeInput in) {
    try {
      f.review->intake(in, at("2026-04-24"));
    } catch (const plugins::review::ReviewError& e) {
      BOOST_TEST(e.code == plugins::review::ReviewError::BadRequest);
      return e.message;
    }
    return std::string("taken");
  };
  auto in = tennyu("big");
  in.fields.push_back({"phone", std::string(70000, '9')});
  BOOST_TEST(refused(in) == "item 'phone' is longer than 65536 bytes");
  in = tennyu("latin1");
  in.fields[0].second = "\xe9t\xe9";
  BOOST_TEST(refused(in) == "item 'name' is not UTF-8");
  in = tennyu("many");
  for (int i = 0; i < 2001; ++i) in.fields.push_back({"x" + std::to_string(i), "1"});
  BOOST_TEST(refused(in).find("at most 2000 items") != std::string::npos);
  // A window system's submit listing 100,000 attachments (each would be
  // hashed on disk and named in the findings): bounded like a package's.
  in = tennyu("attachments");
  for (int i = 0; i < 100'000; ++i) in.attachments.push_back({"a" + std::to_string(i), std::string(64, 'a')});
  BOOST_TEST(refused(in) == "an application lists at most 100 attachments; this one 100000");
  in.attachments.resize(2);
  in.attachments[1].name = "a0";
  BOOST_TEST(refused(in) == "attachment 'a0' is listed twice");
  BOOST_TEST(f.review->list("", "", "", at("2026-04-24")).empty());  // nothing stored
  // A package folder that is a link to elsewhere: its attachment is not received.
  test::TempDir elsewhere;
  test::writeFile(elsewhere / "identity", "secret file elsewhere\n");
  fs::create_symlink(elsewhere.path(), packages / "cert-link");
  plugins::review::IntakeInput cert;
  cert.origin = "route:apps";
  cert.externalId = "cert-link";
  cert.procedure = "test-cert";
  cert.fields = {{"name", "見本 花子"}, {"birth_date", "1985-02-14"}, {"copies", "1"}};
  cert.attachments = {{"identity", std::string(64, 'a')}};
  auto a = f.review->intake(cert, at("2026-04-24"));
  bool notReceived = false;
  for (const auto& x : a.findings)
    notReceived = notReceived || (x.rule == "attachment" && x.message.find("was not received") != std::string::npos);
  BOOST_TEST(notReceived, rules(a));
  // A real folder whose file is a link to elsewhere: not received either.
  fs::create_directories(packages / "cert-file-link");
  fs::create_symlink(elsewhere / "identity", packages / "cert-file-link" / "identity");
  cert.externalId = "cert-file-link";
  a = f.review->intake(cert, at("2026-04-24"));
  notReceived = false;
  for (const auto& x : a.findings)
    notReceived = notReceived || (x.rule == "attachment" && x.message.find("was not received") != std::string::npos);
  BOOST_TEST(notReceived, rules(a));
  // A value far longer than its pattern is for is not run through the
  // regular expression (std::regex recurses per character), and says so.
  cert.externalId = "cert-pattern";
  cert.attachments.clear();
  cert.fields = {{"name", "見本 花子"}, {"birth_date", "1985-02-14"}, {"copies", "1"}, {"reference", std::string(3000, 'A')}};
  a = f.review->intake(cert, at("2026-04-24"));
  BOOST_TEST(rules(a).find("pattern:reference") != std::string::npos, rules(a));
  BOOST_TEST(a.findings.size() > 0u);
  bool tooLong = false;
  for (const auto& x : a.findings) tooLong = tooLong || x.message.find("too long to check against its pattern") != std::string::npos;
  BOOST_TEST(tooLong);
  cert.externalId = "cert-pattern-ok";
  cert.fields.back().second = "AB-1234";
  a = f.review->intake(cert, at("2026-04-24"));
  BOOST_TEST(rules(a).find("pattern") == std::string::npos, rules(a));
  cert.attachments = {{"identity", std::string(64, 'a')}};
  // A real folder with the right bytes: received and as listed.
  fs::create_directories(packages / "cert-ok");
  test::writeFile(packages / "cert-ok" / "identity", "abc");
  cert.externalId = "cert-ok";
  cert.attachments = {{"identity", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}};  // SHA-256("abc")
  a = f.review->intake(cert, at("2026-04-24"));
  BOOST_TEST(rules(a).find("attachment") == std::string::npos, rules(a));
}

BOOST_AUTO_TEST_CASE(a_second_host_on_the_same_store_reconciles_what_the_first_approved) {
  Fixture f;
  // Host B: the same instance's state opened again (two hosts sharing a store).
  auto stateB = openStateStore(f.config, "review");
  Diagnostics diags;
  auto cal = loadCalendar(source("config/calendar/demo-city.xml"), diags);
  plugins::review::ReviewOptions options;
  options.statusField = "resident_status";
  options.currentStatus = "1";
  options.eventField = "move_reason";
  Seam seamB;
  seamB.st = stateB.get();
  plugins::review::Review b(*stateB, f.shipped, *cal, options, [&](const Emission& e) { return seamB(e); });
  auto names = std::make_shared<FieldNames>(
      FieldNames{"resident_code", "name", "birth_date", "sex", "address", "resident_status", "move_reason"});
  Record r(names);
  for (std::size_t i = 0; i < 7; ++i)
    r.set(i, std::vector<std::string>{"00000000034", "見本 太郎", "1990-05-01", "male", "x", "1", "転入"}[i]);
  BOOST_TEST(b.takeResidents({r}, at("2026-04-24")) == 0u);  // B has seen nothing waiting yet
  auto a = f.review->intake(tennyu("web-1"), at("2026-04-24"));
  plugins::review::ActionInput act;
  act.who = "staff-a";
  act.action = plugins::review::Action::Start;
  f.review->act(a.arrivalNo, act, at("2026-04-24"));
  act.action = plugins::review::Action::Approve;
  f.review->act(a.arrivalNo, act, at("2026-04-24", 11));  // approved on host A
  BOOST_TEST(b.takeResidents({r}, at("2026-04-25")) == 1u);  // reconciled on host B
  BOOST_TEST(f.review->get(a.arrivalNo).state == "reflected");
}

BOOST_AUTO_TEST_CASE(a_signed_application_is_matched_by_its_certificate_serial) {
  Fixture f;
  f.residents({{"00000000018", "見本 花子", "1985-02-14", "female", "架空県見本市中央一丁目1番1号", "1", ""},
               {"00000000026", "転出 次郎", "1970-01-01", "male", "架空県見本市南町2-2", "2", "転出"}});
  auto names = std::make_shared<FieldNames>(FieldNames{"serial", "resident_code"});
  std::vector<Record> map;
  for (auto [serial, code] : {std::pair{"0A1B2C3D", "00000000018"}, std::pair{"0E0E0E0E", "00000000026"}}) {
    Record r(names);
    r.set(0, serial);
    r.set(1, code);
    map.push_back(r);
  }
  BOOST_TEST(f.review->takeCertificates(map) == 2u);
  plugins::review::IntakeInput in;
  in.origin = "route:apps";
  in.procedure = "test-cert";
  in.attachments = {{"identity", std::string(64, 'a')}};
  in.received = {{"identity", std::string(64, 'a')}};
  // Signed: found by the serial although the name is written another way.
  in.externalId = "signed-1";
  in.certificateSerial = "0A1B2C3D";
  in.fields = {{"name", "見本　花子"}, {"birth_date", "1985-02-14"}, {"copies", "1"}};
  auto a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(a.residentCode == "00000000018");
  BOOST_TEST(rules(a) == "");
  BOOST_TEST(a.certificateSerial == "0A1B2C3D");
  // The serial names a resident whose 生年月日 the application gets wrong: that item is named.
  in.externalId = "signed-2";
  in.fields = {{"name", "見本 花子"}, {"birth_date", "1985-02-15"}, {"copies", "1"}};
  a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a) == "match.birth: ");
  // An unknown serial, and one naming a resident who moved out.
  in.externalId = "signed-3";
  in.certificateSerial = "FFFFFFFF";
  a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a) == "register: ");
  in.externalId = "signed-4";
  in.certificateSerial = "0E0E0E0E";
  in.fields = {{"name", "転出 次郎"}, {"birth_date", "1970-01-01"}, {"copies", "1"}};
  a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a) == "register: ");
  BOOST_TEST(a.findings.back().message.find("moved out") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reflection_of_many_commits_once_and_tells_each_resident_once) {
  Fixture f;
  plugins::review::ActionInput act;
  act.who = "staff-a";
  std::vector<std::string> numbers;
  auto names = std::make_shared<FieldNames>(
      FieldNames{"resident_code", "name", "birth_date", "sex", "address", "resident_status", "move_reason"});
  std::vector<Record> export_;
  for (int i = 0; i < 30; ++i) {
    auto in = tennyu("web-" + std::to_string(i));
    const std::string name = "見本 " + std::to_string(100 + i);
    in.fields[0].second = name;
    auto a = f.review->intake(in, at("2026-04-24"));
    act.action = plugins::review::Action::Start;
    f.review->act(a.arrivalNo, act, at("2026-04-24"));
    act.action = plugins::review::Action::Approve;
    f.review->act(a.arrivalNo, act, at("2026-04-24"));
    numbers.push_back(a.arrivalNo);
    Record r(names);
    for (std::size_t k = 0; k < 7; ++k)
      r.set(k, std::vector<std::string>{"000000" + std::to_string(10000 + i), name, "1990-05-01", "male", "x", "1", "転入"}[k]);
    export_.push_back(r);
  }
  // One already acknowledged by the core system.
  auto ackNames = std::make_shared<FieldNames>(FieldNames{"application_id"});
  Record ack(ackNames);
  ack.set(0, numbers[7]);
  BOOST_TEST(f.review->acknowledge({ack}, at("2026-04-25")) == 1u);
  const int before = f.seam.emissions;
  BOOST_TEST(f.review->takeResidents(export_, at("2026-04-27")) == 29u);
  BOOST_TEST(f.seam.emissions - before == 1);  // the 29 in one commit
  std::map<std::string, int> completed;
  for (const auto& n : f.seam.of("review.notice"))
    if (get(n, "template") == "completed") ++completed[get(n, "arrival_no")];
  BOOST_TEST(completed.size() == 30u);
  for (const auto& [no, count] : completed) BOOST_TEST(count == 1, no);
  BOOST_TEST(f.review->takeResidents(export_, at("2026-04-28")) == 0u);  // the same export again: nothing
}

// A name the family registry holds as Unicode only (koseki.person's
// `lossy`) is shown beside the 4 情報 match, without failing it; a later
// person record without it takes the mark away.
BOOST_AUTO_TEST_CASE(a_name_the_koseki_holds_only_as_unicode_is_shown_as_lossy) {
  Fixture f;
  f.residents({{"00000000018", "見本 花子", "1985-02-14", "female", "架空県見本市中央一丁目1番1号", "1", ""}});
  auto names = std::make_shared<FieldNames>(FieldNames{"person", "resident_code", "lossy"});
  auto person = [&](const std::string& lossy) {
    Record r(names);
    r.set(0, "K1/01");
    r.set(1, "00000000018");
    r.set(2, lossy);
    return std::vector<Record>{r};
  };
  auto apply = [&](const std::string& id) {
    plugins::review::IntakeInput in;
    in.origin = "route:apps";
    in.procedure = "test-cert";
    in.externalId = id;
    in.attachments = {{"identity", std::string(64, 'a')}};
    in.received = {{"identity", std::string(64, 'a')}};
    in.fields = {{"name", "見本 花子"}, {"birth_date", "1985-02-14"}, {"copies", "1"}};
    return f.review->intake(in, at("2026-04-24"));
  };
  auto lossyFinding = [](const plugins::review::Application& a) {
    for (const auto& x : a.findings)
      if (x.rule == "lossy.name") return x.message;
    return std::string();
  };
  auto a = apply("plain");
  BOOST_TEST(a.residentCode == "00000000018");
  BOOST_TEST(lossyFinding(a).empty());
  BOOST_TEST(f.review->takeLossy(person("given")) == 1u);
  a = apply("lossy");
  BOOST_TEST(rules(a) == "");  // shown, not failed
  BOOST_TEST(lossyFinding(a) ==
             "the 戸籍 holds this person's given as Unicode only (lossy: no 統一文字番号): compare the name with the "
             "戸籍's glyph");
  BOOST_TEST(lossyFinding(a).find("花子") == std::string::npos);  // fields named, never values
  BOOST_TEST(f.review->takeLossy(person("")) == 1u);
  BOOST_TEST(lossyFinding(apply("fixed")).empty());
}

// 訂正: staff put right what a reading at the window got wrong — only in a
// draft read there (source ocr or ic); a resident's own application is
// changed through 補正 alone. The formal review runs again, the history
// names the items changed (never their values), and with `corrections`
// the names leave as review.corrected for the reading's report.
BOOST_AUTO_TEST_CASE(staff_amend_a_draft_read_at_the_window_and_the_items_changed_leave_by_name) {
  Fixture f({}, true);
  auto in = tennyu("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-1");
  in.source = "ocr";
  in.fields.erase(std::remove_if(in.fields.begin(), in.fields.end(),
                                 [](const auto& kv) { return kv.first == "member.1.sex"; }),
                  in.fields.end());
  in.fields.emplace_back("member.1.sex", "3");  // misread: not a code the procedure takes
  in.fields.emplace_back("ocr_review", "householder member.1.name");
  auto a = f.review->intake(in, at("2026-04-24"));
  BOOST_TEST(rules(a).find(":member.1.sex") != std::string::npos, rules(a));
  plugins::review::ActionInput act;
  act.action = plugins::review::Action::Amend;
  act.who = "窓口A";
  act.fields = {{"member.1.sex", "1"}, {"name", "見本 大郎"}, {"address", "架空県別市北町1-2-3"}};  // the address as it was
  a = f.review->act(a.arrivalNo, act, at("2026-04-24", 11));
  BOOST_TEST(a.state == "received");  // a correction, not a step of the procedure
  BOOST_TEST(rules(a).find(":member.1.sex") == std::string::npos, rules(a));
  const std::string why = a.history.back().why;
  BOOST_TEST(why == "訂正: member.1.sex name", why);  // names, never values; the unchanged address not counted
  const auto corrected = f.seam.of("review.corrected");
  BOOST_REQUIRE(corrected.size() == 1u);
  BOOST_TEST(get(corrected[0], "application_id") == in.externalId);
  BOOST_TEST(get(corrected[0], "fields") == "member.1.sex name");
  BOOST_TEST(get(corrected[0], "source") == "ocr");
  BOOST_TEST(get(corrected[0], "at") == "2026-04-24");
  // Nothing changed: nothing leaves.
  act.fields = {{"member.1.sex", "1"}};
  f.review->act(a.arrivalNo, act, at("2026-04-24", 12));
  BOOST_TEST(f.seam.of("review.corrected").size() == 1u);
  // What a resident sent is not staff's to change.
  const auto web = f.review->intake(tennyu("web-9"), at("2026-04-24"));
  act.fields = {{"name", "見本 次郎"}};
  BOOST_CHECK_THROW(f.review->act(web.arrivalNo, act, at("2026-04-24", 13)), plugins::review::ReviewError);
  // Nor a closed one.
  act.action = plugins::review::Action::Withdraw;
  f.review->act(a.arrivalNo, act, at("2026-04-24", 14));
  act.action = plugins::review::Action::Amend;
  BOOST_CHECK_THROW(f.review->act(a.arrivalNo, act, at("2026-04-24", 15)), plugins::review::ReviewError);
}

// Without `corrections`, an amendment stays in the module (no record type
// a config would have to route).
BOOST_AUTO_TEST_CASE(amendments_leave_only_when_the_module_is_asked_to_report_them) {
  Fixture f;
  auto in = tennyu("ic-read-1");
  in.source = "ic";
  auto a = f.review->intake(in, at("2026-04-24"));
  plugins::review::ActionInput act;
  act.action = plugins::review::Action::Amend;
  act.who = "窓口A";
  act.fields = {{"phone", "090-1111-2222"}};
  a = f.review->act(a.arrivalNo, act, at("2026-04-24", 11));
  BOOST_TEST(a.history.back().why == "訂正: phone");
  BOOST_TEST(f.seam.of("review.corrected").empty());
}

// Where the register spells a scanned draft's applicant with a character
// the scanner's model cannot produce (here 髙: not among the characters
// given), the reading can never match: ocr.lossy says so, by item, without
// the value — and says nothing for a name the model can write, or for a
// draft that was not scanned.
BOOST_AUTO_TEST_CASE(a_scanned_draft_whose_registered_name_the_model_cannot_write_is_marked_lossy) {
  Fixture f({}, false, "見本太郎花子高橋架空県市中央一丁目番号");
  f.residents({{"00000000018", "髙橋 花子", "1985-02-14", "2", "架空県見本市中央一丁目1番1号", "1", ""},
               {"00000000026", "見本 太郎", "1970-01-01", "1", "架空県見本市中央一丁目2番2号", "1", ""}});
  auto draft = [&](const std::string& id, const std::string& name, const std::string& birth, bool scanned) {
    plugins::review::IntakeInput in;
    in.origin = "route:scans";
    in.externalId = id;
    in.procedure = "tenkyo-todoke";
    in.source = scanned ? "ocr" : "bridge";
    in.fields = {{"name", name}, {"birth_date", birth}, {"address", "架空県見本市中央一丁目1番1号"},
                 {"new_address", "架空県見本市中央一丁目9番9号"}, {"move_date", "2026-04-20"}};
    if (scanned) in.fields.emplace_back("ocr_document", id + ".png");
    return f.review->intake(in, at("2026-04-24"));
  };
  auto lossy = [](const plugins::review::Application& a) {
    std::string out;
    for (const auto& x : a.findings)
      if (x.rule == "ocr.lossy") out += x.field + ":" + (x.ok ? "ok" : "failed") + " " + x.message + "\n";
    return out;
  };
  // Read as 高橋 (the model has no 髙): matched after normalising, and said.
  const auto a = draft("scan-1", "高橋 花子", "1985-02-14", true);
  BOOST_TEST(a.residentCode == "00000000018");
  const std::string said = lossy(a);
  BOOST_TEST(said.find("name:ok the register's 氏名 has 1 character(s) the scanner's model cannot produce") == 0u, said);
  BOOST_TEST(said.find("髙") == std::string::npos);  // the item, never the value
  BOOST_TEST(said.find("address") == std::string::npos);
  BOOST_TEST(lossy(draft("scan-2", "見本 太郎", "1970-01-01", true)).empty());
  BOOST_TEST(lossy(draft("web-3", "高橋 花子", "1985-02-14", false)).empty());
}
