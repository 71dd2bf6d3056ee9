// The OCR connector through the real binary, on pages drawn by
// tests/tools/render_forms.py with synthetic people (IPA fonts; clean,
// turned, noisy, 200 dpi JPEG, a red seal, fold shadows): three
// municipalities' 転出証明書 told apart by their issuer, a 在留カード and a
// マイナンバーカード back found by their edges, a 戸籍全部事項証明書 without
// marks registered by its printed texts. Every field with its confidence
// and box, compared with the truth the renderer wrote: right, or shown
// with why. And what a scanner folder also gets — PDF and multi-page TIFF,
// a corrupt PNG, a decompression bomb, a 200-page PDF, a 30,000 px image, a
// blank page, a 72 dpi photo, another form — each read or refused with its
// reason; the draft into review; the recognition report; the 個人番号 only
// in the mynumber zone and never logged.
#define BOOST_TEST_MODULE renkei_ocr_connector
#include <boost/test/unit_test.hpp>

#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <map>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

fs::path source(const std::string& rel) { return fs::path(test::env("RENKEI_SOURCE_DIR")) / rel; }

test::ProcessResult runRenkei(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}, {"OMP_THREAD_LIMIT", "1"}});
}

/// The store: SQLite, or a fresh PostgreSQL database with
/// RENKEI_TEST_STORE=postgresql (the report's SQL on both).
std::string storeXml() {
  const char* v = std::getenv("RENKEI_TEST_STORE");
  if (v && std::string(v) == "postgresql")
    return "<store driver=\"postgresql\" connection=\"" + test::freshPostgresDatabase("ocr") + "\"/>";
  return "<store driver=\"sqlite\" path=\"renkei.db\"/>";
}

struct Scanner {
  test::TempDir dir;
  explicit Scanner(const std::string& templates = "") {
    fs::create_directories(dir / "scans/in");
    test::writeFile(dir / "config.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<renkei xmlns=\"urn:renkei:config:1\" instance=\"ocr-test\" zone=\"lgwan\">\n"
                    "  " + storeXml() + "\n"
                    "  <connector id=\"scans\" plugin=\"ocr\"><directory>scans</directory><templates>" +
                        (templates.empty() ? source("mappings/ocr/tenshutsu-a.xml").string() : templates) +
                        "</templates><address-master>" + source("config/concierge/towns.txt").string() +
                        "</address-master></connector>\n"
                    "  <connector id=\"drafts\" plugin=\"file\"><directory>drafts</directory></connector>\n"
                    "  <route id=\"drafts\" from=\"scans\" records=\"ocr.tenshutsu\" to=\"drafts\"/>\n"
                    "</renkei>\n");
  }
  std::string config() const { return (dir / "config.xml").string(); }
  /// serve --once; the drafts delivered, which must be `expected`.
  std::map<std::string, Poco::JSON::Object::Ptr> serve(std::size_t expected) {
    auto r = runRenkei({"serve", "--config", config(), "--once"});
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    auto out = drafts();
    BOOST_REQUIRE_MESSAGE(out.size() == expected, out.size() << " drafts, " << expected << " expected\n" << r.err);
    return out;
  }
  /// Adds config lines (a route, a module) before </renkei>.
  void add(const std::string& lines) {
    std::string c = test::readFile(dir / "config.xml");
    c.replace(c.find("</renkei>"), 9, lines + "</renkei>\n");
    test::writeFile(dir / "config.xml", c);
  }
  /// The review module (the shipped procedures) taking `records` through
  /// `mapping`, its write-backs and notices to a file connector.
  void withReview(const std::string& records, const std::string& mapping) {
    std::string review =
        "  <calendar file=\"" + source("config/calendar/demo-city.xml").string() + "\"/>\n"
        "  <module id=\"review\" plugin=\"review\"><procedures>" + source("config/review/procedures.xml").string() +
        "</procedures><variants>" + source("config/review/kanji-variants.tsv").string() +
        "</variants><municipality>見本市</municipality></module>\n"
        "  <connector id=\"out\" plugin=\"file\"><directory>out</directory></connector>\n"
        "  <route id=\"to-review\" from=\"scans\" records=\"" + records + "\" to=\"review\" mapping=\"" +
        source(mapping).string() + "\"/>\n";
    for (const char* type : {"writeback.tennyu-todoke", "writeback.tenkyo-todoke", "writeback.tenshutsu-todoke",
                             "writeback.tokurei-tennyu", "writeback.tokurei-tenshutsu", "review.notice", "review.mail"})
      review += std::string("  <route id=\"") + type + "\" from=\"review\" records=\"" + type + "\" to=\"out\"/>\n";
    add(review);
  }
  /// A query on the instance's SQLite store, rows tab-separated.
  std::string sql(const std::string& q) const {
    auto x = test::run({"/usr/bin/sqlite3", "-separator", "\t", (dir / "renkei.db").string(), q});
    BOOST_REQUIRE_MESSAGE(x.exitCode == 0, x.err);
    return x.out;
  }
  /// The review module's applications table.
  std::string reviewTable() const {
    std::string table = sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%review%applications'");
    while (!table.empty() && table.back() == '\n') table.pop_back();
    BOOST_TEST_REQUIRE(!table.empty());
    return table;
  }
  /// render_forms.py's pages into scans/in/ (with their truth beside, in truth/).
  void render(const std::vector<std::string>& args, bool intoScans = true) {
    std::vector<std::string> cmd{"/usr/bin/python3", source("tests/tools/render_forms.py").string(), "--resident",
                                 source("config/samples/jumin/JUMIN_20261101_FULL.csv").string(), "--out",
                                 (dir / "truth").string()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    auto r = test::run(cmd);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    for (const std::string& name : test::listFiles(dir / "truth"))
      if (intoScans && name.find(".truth.json") == std::string::npos && !fs::exists(dir / "scans/done" / name))
        fs::copy_file(dir / "truth" / name, dir / "scans/in" / name, fs::copy_options::skip_existing);
  }
  /// render_forms.py's pages packed into one scan in scans/in/ (pack_pages.py).
  void pack(const std::string& name, const std::vector<std::string>& args) {
    std::vector<std::string> cmd{"/usr/bin/python3", source("tests/tools/pack_pages.py").string(),
                                 (dir / "scans/in" / name).string()};
    for (const std::string& a : args)
      cmd.push_back(a.rfind("--", 0) == 0 || std::isdigit(static_cast<unsigned char>(a[0])) ? a
                                                                                            : (dir / "truth" / a).string());
    auto r = test::run(cmd);
    BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
  }
  /// The drafts delivered, by document (and "#page" for a multi-page scan).
  std::map<std::string, Poco::JSON::Object::Ptr> drafts() {
    std::map<std::string, Poco::JSON::Object::Ptr> out;
    const fs::path folder = dir / "drafts/out";
    for (const std::string& name : test::listFiles(folder)) {
      const std::string text = test::readFile(folder / name);
      for (std::size_t at = 0; at < text.size();) {
        const std::size_t nl = text.find('\n', at);
        auto o = Poco::JSON::Parser().parse(text.substr(at, nl - at)).extract<Poco::JSON::Object::Ptr>();
        const std::string pages = o->has("pages") ? o->getValue<std::string>("pages") : "1";
        out[o->getValue<std::string>("document") + (pages == "1" ? "" : "#" + o->getValue<std::string>("page"))] = o;
        at = nl == std::string::npos ? text.size() : nl + 1;
      }
    }
    return out;
  }
  Poco::JSON::Object::Ptr truth(const std::string& document) {
    return Poco::JSON::Parser()
        .parse(test::readFile(dir / "truth" / (document + ".truth.json")))
        .extract<Poco::JSON::Object::Ptr>()
        ->getObject("fields");
  }
};

/// Digits as the connector writes them in an address (half-width; the form
/// prints them full-width).
std::string halfwidthDigits(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s.compare(i, 2, "\xEF\xBC") == 0 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 2]) >= 0x90 &&
        static_cast<unsigned char>(s[i + 2]) <= 0x99) {
      out += static_cast<char>('0' + static_cast<unsigned char>(s[i + 2]) - 0x90);
      i += 3;
    } else {
      out += s[i++];
    }
  }
  return out;
}

std::string text(const Poco::JSON::Object::Ptr& o, const std::string& name) {
  return o->has(name) ? o->getValue<std::string>(name) : std::string();
}

/// Right, or shown with why: a misread is never passed on unmarked.
void rightOrShown(const Poco::JSON::Object::Ptr& d, const std::string& field, const std::string& want) {
  if (text(d, field) != want) {
    BOOST_TEST(text(d, field + ".review") == "true",
               field << " read as '" << text(d, field) << "' (printed '" << want << "'), not shown");
    BOOST_TEST(!text(d, field + ".why").empty(), field);
  }
}

/// rightOrShown for each field against the truth (its ISO form when the
/// truth has one: dates).
void rightOrShown(const Poco::JSON::Object::Ptr& d, const Poco::JSON::Object::Ptr& truth,
                  std::initializer_list<const char*> fields) {
  for (const std::string field : fields)
    rightOrShown(d, field, truth->getValue<std::string>(truth->has(field + ".iso") ? field + ".iso" : field));
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_tenshutsu_certificate_is_read_field_by_field_and_corrected_by_what_the_city_knows) {
  Scanner s;
  s.render({"--count", "2"});                                                    // clean, 300 dpi
  s.render({"--count", "2", "--start", "5", "--rotate", "2.5", "--noise", "20", "--blur", "0.6"});
  s.render({"--count", "1", "--start", "8", "--dpi", "200", "--jpeg", "60", "--format", "jpeg"});
  auto r = runRenkei({"serve", "--config", s.config(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto drafts = s.drafts();
  BOOST_TEST_REQUIRE(drafts.size() == 5u, r.err);
  std::size_t names = 0;
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "template") == "tenshutsu-a");
      BOOST_TEST(text(d, "source") == "ocr");
      BOOST_TEST(text(d, "sha256").size() == 64u);
      // Clean 300 dpi pages are read exactly; turned, noisy or 200 dpi JPEG
      // ones may misread, but a misread date or code is never passed on as
      // if it were right: it is marked for review with why.
      const bool clean = document.rfind("tenshutsu-a-00", 0) == 0 && document.find(".png") != std::string::npos &&
                         document < "tenshutsu-a-005";
      auto rightOrShown = [&](const std::string& field, const std::string& want) {
        if (clean) {
          BOOST_TEST(text(d, field) == want, field << " read as '" << text(d, field) << "' conf " << text(d, field + ".confidence") << " want '" << want << "'");
        } else if (text(d, field) != want) {
          BOOST_TEST(text(d, field + ".review") == "true", field << " read as '" << text(d, field) << "', not shown");
          BOOST_TEST(!text(d, field + ".why").empty(), field);
        }
      };
      // Era dates: real dates, as ISO; the reading kept beside when it differs.
      rightOrShown("move_date", t->getValue<std::string>("move_date.iso"));
      if (clean) BOOST_TEST(text(d, "move_date.raw") == t->getValue<std::string>("move_date"));
      for (int i = 1; i <= 4; ++i) {
        const std::string m = "member." + std::to_string(i) + ".";
        if (!t->has(m + "name")) {
          // An empty row is empty, not read into noise, and not for review.
          BOOST_TEST(text(d, m + "name").empty());
          BOOST_TEST(text(d, m + "name.review") == "false");
          continue;
        }
        rightOrShown(m + "birth", t->getValue<std::string>(m + "birth.iso"));
        // One character alone (性別) and a short code (続柄): read through their
        // code tables, read again at other sizes when the first is not in them.
        rightOrShown(m + "sex", t->getValue<std::string>(m + "sex") == "男" ? "1" : "2");
        rightOrShown(m + "relation", t->getValue<std::string>(m + "relation"));
        if (clean) BOOST_TEST(text(d, m + "code") == t->getValue<std::string>(m + "code"));
        else BOOST_TEST(text(d, m + "code").size() == 11u);
        // Names are always for review, whatever the confidence.
        BOOST_TEST(text(d, m + "name.review") == "true");
        ++names;
        BOOST_TEST(std::stoi(text(d, m + "name.confidence")) > 0);
        const std::string box = text(d, m + "name.box");
        BOOST_TEST(std::count(box.begin(), box.end(), ',') == 3);
      }
      BOOST_TEST(text(d, "householder.review") == "true");
      // The 従前の住所 is another city's: nothing to snap it to, so anything
      // read with less than the template's 90 is shown (丁目 read as 」目 put
      // right first).
      rightOrShown("address", halfwidthDigits(t->getValue<std::string>("address")));
    }
  }
  BOOST_TEST(names >= 5u);
  // Log lines name documents and fields, never what was read.
  for (const auto& [document, d] : drafts)
    BOOST_TEST(r.err.find(text(d, "member.1.code")) == std::string::npos);
  BOOST_TEST(test::listFiles(s.dir / "scans/done").size() == 5u);
  // The recognition report: per template and per field, counts and
  // confidences, never what was read.
  auto report = runRenkei({"ocr", "report", "--config", s.config()});
  BOOST_TEST_REQUIRE(report.exitCode == 0, report.out << report.err);
  BOOST_TEST(report.out.find("tenshutsu-a: 5 pages, ") != std::string::npos, report.out);
  // Every member name and every 世帯主 (one a page) marked, always.
  BOOST_TEST(report.out.find(std::to_string(names + 5) + " names always") != std::string::npos, report.out);
  auto csv = runRenkei({"ocr", "report", "--per", "field", "--format", "csv", "--config", s.config()});
  BOOST_TEST_REQUIRE(csv.exitCode == 0, csv.err);
  BOOST_TEST(csv.out.rfind("field,pages,fields_read,marked,", 0) == 0u, csv.out);
  // Every page has a 世帯主: read on 5 pages, always marked.
  BOOST_TEST(csv.out.find("tenshutsu-a householder,5,5,5,5,0,0,0,") != std::string::npos, csv.out);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST(report.out.find(text(d, "member.1.name")) == std::string::npos);
    BOOST_TEST(csv.out.find(text(d, "member.1.code")) == std::string::npos);
  }
  auto bad = runRenkei({"ocr", "report", "--per", "name", "--config", s.config()});
  BOOST_TEST(bad.exitCode == 2, bad.out << bad.err);
  BOOST_TEST(bad.err.find("--per name: per: template, field, day or correction") != std::string::npos, bad.err);
  // The same scan again under another name lands once (keyed by content).
  const std::string first = drafts.begin()->first;
  fs::copy_file(s.dir / "truth" / first, s.dir / "scans/in" / ("again-" + first));
  BOOST_TEST_REQUIRE(runRenkei({"serve", "--config", s.config(), "--once"}).exitCode == 0);
  BOOST_TEST(s.drafts().size() == 5u);
}

// The 転出先 is an address of this city: the reading is snapped to its town
// list (a slip of one character, 見木市 for 見本市, put right), the reading
// kept beside it and the field shown for review with the edits counted.
BOOST_AUTO_TEST_CASE(the_destination_is_snapped_to_the_citys_towns_with_the_reading_kept) {
  Scanner s;
  s.render({"--count", "2", "--typo"});
  auto drafts = s.serve(2);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "destination") == t->getValue<std::string>("destination"));
      BOOST_TEST(text(d, "destination.raw").find("見木市") != std::string::npos, text(d, "destination.raw"));
      BOOST_TEST(text(d, "destination.review") == "true");
      BOOST_TEST(text(d, "destination.why") == "snapped to the town list (1 edits)");
      // The previous address is another city's: never snapped to this one's towns.
      BOOST_TEST(text(d, "address.why").find("town") == std::string::npos);
    }
  }
}

// A page fed upside down: its marks are symmetric, its title is not — read
// turned round, and said so.
BOOST_AUTO_TEST_CASE(an_upside_down_page_is_turned_by_its_anchor_text_and_read) {
  Scanner s;
  s.render({"--count", "1", "--start", "1", "--rotate", "180"});
  auto r = runRenkei({"serve", "--config", s.config(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto drafts = s.drafts();
  BOOST_TEST_REQUIRE(drafts.size() == 1u, r.err);
  const auto& [document, d] = *drafts.begin();
  auto t = s.truth(document);
  BOOST_TEST(text(d, "turned") == "180");
  BOOST_TEST(text(d, "move_date") == t->getValue<std::string>("move_date.iso"));
  BOOST_TEST(text(d, "member.1.code") == t->getValue<std::string>("member.1.code"));
  BOOST_TEST(r.err.find("turned round: it was upside down") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(a_corrupt_file_a_bomb_and_another_form_go_to_error_with_the_reason) {
  Scanner s;
  s.render({"--count", "1"});
  // A PNG cut in the middle.
  const std::string png = test::readFile(s.dir / "scans/in" / test::listFiles(s.dir / "scans/in").front());
  test::writeFile(s.dir / "scans/in/cut.png", png.substr(0, png.size() / 3));
  // A header that claims 40,000 × 40,000 px over a few bytes of data.
  std::string bomb = png.substr(0, 33);
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bomb[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
  };
  put32(16, 40000);
  put32(20, 40000);
  test::writeFile(s.dir / "scans/in/bomb.png", bomb + png.substr(33, 200));
  // Another form: a page with text and no registration marks.
  auto other = test::run({"/usr/bin/convert", "-size", "2480x3508", "xc:white", "-font",
                          "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", "-pointsize", "60", "-annotate",
                          "+300+400", "住民票の写し等の交付請求書", (s.dir / "scans/in/other.png").string()});
  BOOST_TEST_REQUIRE(other.exitCode == 0, other.err);
  auto r = runRenkei({"serve", "--config", s.config(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  BOOST_TEST(s.drafts().size() == 1u);  // the good page, read
  const fs::path error = s.dir / "scans/error";
  auto reason = [&](const std::string& name) { return test::readFile(error / (name + ".error.txt")); };
  BOOST_TEST(reason("cut.png").find("cannot be decoded") != std::string::npos, reason("cut.png"));
  BOOST_TEST(reason("bomb.png").find("40000 × 40000 px, more than max-pixels") != std::string::npos, reason("bomb.png"));
  BOOST_TEST(reason("other.png").find("no template's registration marks found") != std::string::npos,
             reason("other.png"));
  // Counted where operators look.
  auto status = runRenkei({"status", "--config", s.config()});
  BOOST_TEST(status.out.find("bomb.png") != std::string::npos, status.out);
  BOOST_TEST(r.err.find("Error in") == std::string::npos, r.err);
}

// Another form printed with the same marks (here: a template titled
// 住民異動届) is told apart by its anchor text: refused with the reason; with
// both templates configured, each scan goes to the one whose title it bears.
BOOST_AUTO_TEST_CASE(the_anchor_text_tells_one_form_from_another_with_the_same_marks) {
  test::TempDir dir;
  std::string t = test::readFile(source("mappings/ocr/tenshutsu-a.xml"));
  for (auto [from, to] : {std::pair<std::string, std::string>{"id=\"tenshutsu-a\"", "id=\"idou-todoke\""},
                          {"anchor text=\"転出証明書\"", "anchor text=\"住民異動届\""},
                          {"record=\"ocr.tenshutsu\"", "record=\"ocr.idou\""}})
    t.replace(t.find(from), from.size(), to);
  test::writeFile(dir / "idou.xml", t);
  {
    Scanner s((dir / "idou.xml").string());
    test::writeFile(s.dir / "config.xml",
                    std::string(test::readFile(s.dir / "config.xml"))
                        .replace(test::readFile(s.dir / "config.xml").find("records=\"ocr.tenshutsu\""),
                                 std::string("records=\"ocr.tenshutsu\"").size(), "records=\"ocr.idou\""));
    s.render({"--count", "1"});
    auto r = runRenkei({"serve", "--config", s.config(), "--once"});
    BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
    BOOST_TEST(s.drafts().empty());
    const fs::path error = s.dir / "scans/error";
    BOOST_TEST_REQUIRE(test::listFiles(error).size() == 2u);
    const std::string reason = test::readFile(error / (test::listFiles(error).front() + ".error.txt"));
    BOOST_TEST(reason.find("are found but not all its anchor texts, either way up: another form") != std::string::npos,
               reason);
  }
  // Both templates: the 転出証明書 goes to its own.
  Scanner both(source("mappings/ocr/tenshutsu-a.xml").string() + ";" + (dir / "idou.xml").string());
  test::writeFile(both.dir / "config.xml",
                  std::string(test::readFile(both.dir / "config.xml"))
                      .replace(test::readFile(both.dir / "config.xml").find("</renkei>"), 9,
                               "  <route id=\"idou\" from=\"scans\" records=\"ocr.idou\" to=\"drafts\"/>\n</renkei>"));
  both.render({"--count", "1"});
  auto r = runRenkei({"serve", "--config", both.config(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto drafts = both.drafts();
  BOOST_TEST_REQUIRE(drafts.size() == 1u, r.err);
  BOOST_TEST(text(drafts.begin()->second, "template") == "tenshutsu-a");
}

BOOST_AUTO_TEST_CASE(a_template_zone_outside_the_page_is_a_check_error_with_its_line) {
  test::TempDir dir;
  std::string t = test::readFile(source("mappings/ocr/tenshutsu-a.xml"));
  const std::string zone = "<zone field=\"destination\" x-mm=\"55\"";
  const std::size_t at = t.find(zone);
  BOOST_TEST_REQUIRE(at != std::string::npos);
  t.replace(at, zone.size(), "<zone field=\"destination\" x-mm=\"155\"");
  const int line = static_cast<int>(std::count(t.begin(), t.begin() + static_cast<long>(at), '\n')) + 1;
  test::writeFile(dir / "bad.xml", t);
  Scanner s((dir / "bad.xml").string());
  auto r = runRenkei({"check", "--config", s.config()});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("bad.xml:" + std::to_string(line) + ": zone 'destination': outside the page") !=
                 std::string::npos,
             r.err);
}

// A Japanese resident's document with a foreign resident's item (a 在留資格
// zone on a 戸籍 certificate): a check error naming the zone's line.
BOOST_AUTO_TEST_CASE(a_foreign_residents_item_on_a_japanese_residents_document_is_a_check_error) {
  test::TempDir dir;
  std::string t = test::readFile(source("mappings/ocr/koseki-zenbu.xml"));
  const std::string zone = "<zone field=\"hittousha\"";
  const std::size_t at = t.find(zone);
  BOOST_TEST_REQUIRE(at != std::string::npos);
  t.insert(at, "<zone field=\"status\" x-mm=\"44\" y-mm=\"230\" width-mm=\"60\" height-mm=\"8\" pii=\"personal\" "
               "residents=\"foreign\"/>\n  ");
  const int line = static_cast<int>(std::count(t.begin(), t.begin() + static_cast<long>(at), '\n')) + 1;
  test::writeFile(dir / "bad.xml", t);
  Scanner s((dir / "bad.xml").string());
  auto r = runRenkei({"check", "--config", s.config()});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("bad.xml:" + std::to_string(line) + ": zone 'status': residents=\"foreign\" on a template of "
                        "residents=\"japanese\"") != std::string::npos,
             r.err);
}

// What a document feeder writes: one PDF or multi-page TIFF for several
// forms, with the blank backs of sheets scanned on both sides. Each page is
// read (PDF pages rendered through poppler) into a record of its own with
// its page number; blank pages are passed over. And what may arrive
// instead: a 200-page PDF (refused before any page is rendered), a 30,000
// px wide image (refused before it is decoded), a blank page, a photo at 72
// dpi, a PDF whose second page is another form (named by page) — each to
// error/ with the reason.
BOOST_AUTO_TEST_CASE(a_feeder_scan_is_read_page_by_page_and_what_cannot_be_read_is_refused_by_page) {
  Scanner s;
  s.render({"--count", "3"}, false);
  s.render({"--count", "1", "--start", "9", "--dpi", "72"}, false);
  // Pages 1 and 2 in a PDF, a blank back after the first.
  s.pack("feeder.pdf", {"tenshutsu-a-000.png", "tenshutsu-a-001.png", "--blank-after", "1"});
  // Two A4 pages from a colour scanner, uncompressed: a TIFF of 52 MB.
  s.pack("colour.tif", {"tenshutsu-a-002.png", "tenshutsu-a-000.png", "--rgb", "--raw"});
  s.pack("long.pdf", {"--blank-pages", "200", "--dpi", "20"});
  s.pack("blank.png", {"--blank-pages", "1", "--dpi", "150"});
  fs::copy_file(s.dir / "truth/tenshutsu-a-009.png", s.dir / "scans/in/photo.png");
  auto py = test::run({"/usr/bin/python3", "-c",
                       "import sys; from PIL import Image; Image.new('1', (30000, 3000), 1).save(sys.argv[1])",
                       (s.dir / "scans/in/wide.png").string()});
  BOOST_TEST_REQUIRE(py.exitCode == 0, py.err);
  auto other = test::run({"/usr/bin/convert", "-size", "2480x3508", "xc:white", "-font",
                          "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", "-pointsize", "60", "-annotate",
                          "+300+400", "住民票の写し等の交付請求書", (s.dir / "truth/other.png").string()});
  BOOST_TEST_REQUIRE(other.exitCode == 0, other.err);
  s.pack("mixed.pdf", {"tenshutsu-a-001.png", "other.png"});
  // A phone app's export: white made transparent, black underneath.
  auto alpha = test::run({"/usr/bin/python3", "-c",
                          "import sys; from PIL import Image\n"
                          "g = Image.open(sys.argv[1]).convert('L')\n"
                          "a = g.point(lambda v: 255 - v)\n"
                          "Image.merge('RGBA', (Image.new('L', g.size, 0),) * 3 + (a,)).save(sys.argv[2])",
                          (s.dir / "truth/tenshutsu-a-002.png").string(), (s.dir / "scans/in/alpha.png").string()});
  BOOST_TEST_REQUIRE(alpha.exitCode == 0, alpha.err);
  BOOST_TEST(fs::file_size(s.dir / "scans/in/colour.tif") > 50'000'000u);

  auto r = runRenkei({"serve", "--config", s.config(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto drafts = s.drafts();
  std::vector<std::string> documents;
  for (const auto& [key, d] : drafts) documents.push_back(key);
  BOOST_TEST(documents == (std::vector<std::string>{"alpha.png", "colour.tif#1", "colour.tif#2", "feeder.pdf#1",
                                                     "feeder.pdf#3"}),
             r.err);
  auto same = [&](const std::string& key, const std::string& page) {
    BOOST_TEST_CONTEXT(key) {
      BOOST_TEST_REQUIRE(drafts.count(key) == 1u);
      const auto& d = drafts[key];
      auto t = s.truth(page);
      BOOST_TEST(text(d, "move_date") == t->getValue<std::string>("move_date.iso"));
      BOOST_TEST(text(d, "member.1.code") == t->getValue<std::string>("member.1.code"));
      BOOST_TEST(text(d, "member.1.birth") == t->getValue<std::string>("member.1.birth.iso"));
    }
  };
  same("feeder.pdf#1", "tenshutsu-a-000.png");
  same("feeder.pdf#3", "tenshutsu-a-001.png");
  same("colour.tif#1", "tenshutsu-a-002.png");
  same("colour.tif#2", "tenshutsu-a-000.png");
  same("alpha.png", "tenshutsu-a-002.png");  // laid on white, read
  BOOST_TEST(text(drafts["feeder.pdf#3"], "pages") == "3");
  BOOST_TEST(text(drafts["feeder.pdf#1"], "dpi") == "300");

  const fs::path error = s.dir / "scans/error";
  auto reason = [&](const std::string& name) {
    return fs::exists(error / (name + ".error.txt")) ? test::readFile(error / (name + ".error.txt")) : "(not refused)";
  };
  BOOST_TEST(reason("long.pdf").find("a scan of 200 pages, more than max-pages (50)") != std::string::npos,
             reason("long.pdf"));
  BOOST_TEST(reason("wide.png").find("30000 × 3000 px, more than max-pixels") != std::string::npos, reason("wide.png"));
  BOOST_TEST(reason("blank.png").find("the page is blank") != std::string::npos, reason("blank.png"));
  BOOST_TEST(reason("photo.png").find("scanned at about 72 dpi, coarser than min-dpi (150)") != std::string::npos,
             reason("photo.png"));
  BOOST_TEST(reason("mixed.pdf").find("page 2 of 2: no template's registration marks found") != std::string::npos,
             reason("mixed.pdf"));
  // Refused whole: the first page of mixed.pdf is not sent on its own.
  BOOST_TEST(drafts.count("mixed.pdf#1") == 0u);
  for (const char* name : {"long.pdf", "wide.png", "blank.png", "photo.png", "mixed.pdf"})
    BOOST_TEST(fs::exists(error / name), name);  // the scan kept as it came
}

// A PDF is opened and rendered by renkei-pdf-pages, a process of its own:
// one that crashes it or hangs it costs that process, never the host, which
// refuses the scan with the reason and reads the next. Poppler cannot be
// made to crash on demand, so a script stands in for the renderer here (the
// one stand-in in these tests): it counts pages as the real one does, then
// dies of SIGSEGV, or sleeps past pdf-timeout, when asked to render.
BOOST_AUTO_TEST_CASE(a_pdf_that_crashes_or_hangs_the_renderer_is_refused_and_the_host_reads_on) {
  for (const std::string& how : {std::string("kill -SEGV $$"), std::string("sleep 30")}) {
    BOOST_TEST_CONTEXT(how) {
      Scanner s;
      test::writeFile(s.dir / "renderer.sh", "#!/bin/sh\n"
                                             "[ \"$1\" = count ] && exec " + test::renkeiBinary() + "-pdf-pages \"$@\"\n" +
                                                 how + "\n");
      fs::permissions(s.dir / "renderer.sh", fs::perms::owner_all);
      std::string config = test::readFile(s.dir / "config.xml");
      config.replace(config.find("</address-master>"), 17,
                     "</address-master><pdf-renderer>" + (s.dir / "renderer.sh").string() +
                         "</pdf-renderer><pdf-timeout>2s</pdf-timeout>");
      test::writeFile(s.dir / "config.xml", config);
      s.render({"--count", "2"});
      s.pack("feeder.pdf", {"tenshutsu-a-000.png"});
      const auto started = std::chrono::steady_clock::now();
      auto drafts = s.serve(2);  // the two PNGs read all the same
      const auto took = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      BOOST_TEST(took.count() < 25);  // stopped at pdf-timeout, not after the 30 s sleep
      const std::string reason = test::readFile(s.dir / "scans/error/feeder.pdf.error.txt");
      BOOST_TEST(reason.find(how[0] == 'k' ? "the PDF renderer stopped on it (signal 11)"
                                           : "the PDF renderer took longer than 2 s on it and was stopped") !=
                     std::string::npos,
                 reason);
      BOOST_TEST(fs::exists(s.dir / "scans/error/feeder.pdf"));  // kept as it came
      BOOST_TEST(test::listFiles(s.dir / "scans/render").empty());  // no page of it left behind
    }
  }
}

// A 転出証明書 read at the window becomes a 転入届 draft in the review module
// (mappings/ocr/tenshutsu-to-review.xml, source "ocr"): the household as
// members, the 従前の住所 and the 転出先; what the certificate does not say
// (the 異動日, each member's 住民種別) left for staff and reported as
// required; the fields the reading marked shown by name as ocr.review.
BOOST_AUTO_TEST_CASE(a_read_certificate_becomes_a_tennyu_draft_for_review) {
  Scanner s;
  s.withReview("ocr.tenshutsu", "mappings/ocr/tenshutsu-to-review.xml");
  s.render({"--count", "2"});
  auto drafts = s.serve(2);

  const std::string table = s.reviewTable();
  const std::string rows = s.sql("SELECT source, procedure_id, state, fields, findings FROM " + table + " ORDER BY id");
  BOOST_TEST(std::count(rows.begin(), rows.end(), '\n') == 2, rows);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      // The draft holds what was read (as the connector wrote it) …
      BOOST_TEST(rows.find(text(d, "member.1.name")) != std::string::npos);
      BOOST_TEST(rows.find(text(d, "destination")) != std::string::npos);
      BOOST_TEST(rows.find(t->getValue<std::string>("member.1.birth.iso")) != std::string::npos);
    }
  }
  std::size_t at = 0;
  for (std::string line; at < rows.size();) {
    const std::size_t nl = rows.find('\n', at);
    line = rows.substr(at, nl - at);
    at = nl + 1;
    BOOST_TEST_CONTEXT(line.substr(0, 40)) {
      BOOST_TEST(line.rfind("ocr\ttennyu-todoke\treceived\t", 0) == 0u);
      // … the fields the reading marked, by name …
      BOOST_TEST(line.find("ocr.review") != std::string::npos);
      BOOST_TEST(line.find("householder") != std::string::npos);
      // … and what the certificate does not say, left for staff.
      BOOST_TEST(line.find("move_date") != std::string::npos);
      BOOST_TEST(line.find("resident_type") != std::string::npos);
    }
  }
  // The same scans again: one draft each still (the scan's hash and page).
  for (const auto& [document, d] : drafts)
    fs::copy_file(s.dir / "truth" / document, s.dir / "scans/in" / ("again-" + document));
  BOOST_TEST_REQUIRE(runRenkei({"serve", "--config", s.config(), "--once"}).exitCode == 0);
  const std::string again = s.sql("SELECT count(*) FROM " + table);
  BOOST_TEST(again == "2\n");
}

// A 在留カード read at the window becomes a 転居届 draft
// (mappings/ocr/zairyu-card-to-review.xml): the holder is member 1 with the
// foreign resident's items the card states — 住民種別 外国人 because the
// template is a foreign resident's document, 国籍・地域, 在留資格, 満了日, the
// card's number — and what the card does not say (the 異動日, the 在留期間等,
// the 30条45規定区分) left for staff and reported as required.
BOOST_AUTO_TEST_CASE(a_read_residence_card_becomes_a_tenkyo_draft_with_the_foreign_residents_items) {
  Scanner s(source("mappings/ocr/zairyu-card.xml").string());
  s.withReview("ocr.zairyu-card", "mappings/ocr/zairyu-card-to-review.xml");
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "11"});
  s.serve(0);  // no route to the file connector: the review module has the one record
  const std::string rows =
      s.sql("SELECT source, procedure_id, state, fields, findings FROM " + s.reviewTable() + " ORDER BY id");
  BOOST_TEST_REQUIRE(std::count(rows.begin(), rows.end(), '\n') == 1, rows);
  auto t = s.truth("zairyu-card-011.png");
  BOOST_TEST(rows.rfind("ocr\ttenkyo-todoke\treceived\t", 0) == 0u, rows);
  auto has = [&](const std::string& field, const std::string& value) {
    return rows.find("[\"" + field + "\",\"" + value + "\"]") != std::string::npos;
  };
  BOOST_TEST(has("member.1.resident_type", "外国人"), rows);
  BOOST_TEST(has("member.1.residence_card_no", t->getValue<std::string>("number")));
  BOOST_TEST(has("member.1.residence_expiry", t->getValue<std::string>("expiry.iso")));
  BOOST_TEST(has("member.1.residence_status", t->getValue<std::string>("status")));
  for (const char* left : {"move_date", "new_address", "member.1.residence_period", "member.1.article30_45"})
    BOOST_TEST(rows.find(left) != std::string::npos, left);
  BOOST_TEST(rows.find("ocr.review") != std::string::npos);  // the Latin name, always shown
}

// What staff corrected comes back from review (review.corrected, routed
// to the connector as a sink; here from a file, as the review module
// would emit them): kept per scan, page and item, counted once however
// often delivered, and `renkei ocr report --per correction` lists the
// items staff corrected most against the pages read with the template.
// Corrections of drafts not read here are passed over.
BOOST_AUTO_TEST_CASE(the_items_staff_corrected_come_back_from_review_into_the_report) {
  Scanner s;
  test::writeFile(s.dir / "corrected.xml",
                  "<layout xmlns=\"urn:renkei:layout:1\" id=\"corrected\" record=\"review.corrected\"><jsonl/>"
                  "<field name=\"application_id\" pii=\"none\"/><field name=\"arrival_no\" pii=\"none\"/>"
                  "<field name=\"procedure\" pii=\"none\"/><field name=\"source\" pii=\"none\"/>"
                  "<field name=\"fields\" pii=\"none\"/><field name=\"at\" pii=\"none\"/></layout>\n");
  std::string mapping = "<mapping xmlns=\"urn:renkei:mapping:1\" id=\"corrected\" version=\"1\">"
                        "<source layout=\"corrected.xml\"/><target record=\"review.corrected\" zone=\"lgwan\"/>";
  for (const char* f : {"application_id", "arrival_no", "procedure", "source", "fields", "at"})
    mapping += std::string("<field to=\"") + f + "\" from=\"" + f + "\"/>";
  test::writeFile(s.dir / "corrected-map.xml", mapping + "</mapping>\n");
  s.add("  <connector id=\"fixes\" plugin=\"file\"><directory>fixes</directory></connector>\n"
        "  <route id=\"corrections\" from=\"fixes\" to=\"scans\" mapping=\"" + (s.dir / "corrected-map.xml").string() +
        "\"/>\n");
  s.render({"--count", "2"});
  auto drafts = s.serve(2);
  std::vector<std::string> ids;
  for (const auto& [document, d] : drafts) ids.push_back(text(d, "sha256") + "-1");
  char day[11];  // today, as the review module stamps a correction
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  std::strftime(day, sizeof day, "%Y-%m-%d", localtime_r(&now, &local));
  auto line = [&](const std::string& id, const std::string& fields) {
    return "{\"application_id\":\"" + id + "\",\"arrival_no\":\"R20261207-000001\",\"procedure\":\"tennyu-todoke\","
           "\"source\":\"ocr\",\"fields\":\"" + fields + "\",\"at\":\"" + std::string(day) + "\"}\n";
  };
  fs::create_directories(s.dir / "fixes/in");
  test::writeFile(s.dir / "fixes/in/c1.jsonl",
                  line(ids[0], "name member.1.name") + line(ids[1], "member.1.name") +
                      line(ids[1], "member.1.name") +  // delivered twice: counted once
                      line(std::string(64, 'f') + "-1", "name") +  // not read here
                      line("ic-read-7", "address"));
  auto r = runRenkei({"serve", "--config", s.config(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto report = runRenkei({"ocr", "report", "--per", "correction", "--config", s.config()});
  BOOST_TEST_REQUIRE(report.exitCode == 0, report.err);
  BOOST_TEST(report.out.find("tenshutsu-a member.1.name: corrected on 2 of 2 pages read (100 %)\n"
                             "  tenshutsu-a name: corrected on 1 of 2 pages read (50 %)") != std::string::npos,
             report.out);
  BOOST_TEST(report.out.find("address") == std::string::npos, report.out);  // not ours: passed over
  auto csv = runRenkei({"ocr", "report", "--per", "correction", "--format", "csv", "--config", s.config()});
  BOOST_TEST(csv.out == "template,field,corrected,pages\r\ntenshutsu-a,member.1.name,2,2\r\ntenshutsu-a,name,1,2\r\n",
             csv.out);
}

// The report's rows are kept for keep-report-for, then purged (the host run
// days ahead of the machine's clock through libfaketime).
BOOST_AUTO_TEST_CASE(the_reports_rows_are_kept_for_their_configured_time) {
  Scanner s;
  std::string config = test::readFile(s.dir / "config.xml");
  config.replace(config.find("</address-master>"), 17, "</address-master><keep-report-for>2d</keep-report-for>");
  test::writeFile(s.dir / "config.xml", config);
  s.render({"--count", "1"});
  BOOST_TEST_REQUIRE(runRenkei({"serve", "--config", s.config(), "--once"}).exitCode == 0);
  auto report = runRenkei({"ocr", "report", "--config", s.config()});
  BOOST_TEST(report.out.find("tenshutsu-a: 1 page, ") != std::string::npos, report.out);
  s.render({"--count", "1", "--start", "3"});
  auto later = test::run({"/usr/bin/faketime", "-f", "+3d", test::renkeiBinary(), "serve", "--once", "--config",
                          s.config()},
                         {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}, {"OMP_THREAD_LIMIT", "1"}});
  BOOST_TEST_REQUIRE(later.exitCode == 0, later.err);
  BOOST_TEST(s.drafts().size() == 2u);
  // Three days on: the first page's rows are gone, the second's kept.
  report = runRenkei({"ocr", "report", "--per", "day", "--config", s.config()});
  BOOST_TEST(std::count(report.out.begin(), report.out.end(), '\n') == 2, report.out);
  BOOST_TEST(report.out.find(": 1 page, ") != std::string::npos, report.out);
}

// Three municipalities' 転出証明書: the household across (見本市), the members
// stacked (例示町), the 従前の住所 written vertically (試験村, read with
// jpn_vert) — the same marks and title, told apart by the issuer's name,
// each read with its own template into the same record; with a 受付 seal
// over the 世帯主 and fold shadows across the page.
BOOST_AUTO_TEST_CASE(three_layouts_are_told_apart_by_their_issuer_and_read_into_one_record_type) {
  Scanner s(source("mappings/ocr/tenshutsu-a.xml").string() + ";" + source("mappings/ocr/tenshutsu-b.xml").string() +
            ";" + source("mappings/ocr/tenshutsu-c.xml").string());
  for (const char* form : {"tenshutsu-a", "tenshutsu-b", "tenshutsu-c"})
    s.render({"--form", form, "--count", "2", "--start", "11", "--stamp", "--fold"});
  auto drafts = s.serve(6);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "template") == document.substr(0, 11));  // tenshutsu-a/-b/-c
      rightOrShown(d, t, {"move_date", "destination"});
      rightOrShown(d, "address", halfwidthDigits(t->getValue<std::string>("address")));
      for (int i = 1; i <= 4; ++i) {
        const std::string m = "member." + std::to_string(i) + ".";
        if (!t->has(m + "name")) {
          BOOST_TEST(text(d, m + "name").empty());
          continue;
        }
        rightOrShown(d, m + "birth", t->getValue<std::string>(m + "birth.iso"));
        rightOrShown(d, m + "code", t->getValue<std::string>(m + "code"));
        rightOrShown(d, m + "sex", t->getValue<std::string>(m + "sex") == "男" ? "1" : "2");
        rightOrShown(d, m + "relation", t->getValue<std::string>(m + "relation"));
        BOOST_TEST(text(d, m + "name.review") == "true");
      }
      // Under the red seal the 世帯主 is still read (the seal dropped as
      // paper, not read into the name), and always shown.
      BOOST_TEST(text(d, "householder.review") == "true");
      BOOST_TEST(!text(d, "householder").empty());
      BOOST_TEST(text(d, "householder").find("受") == std::string::npos, text(d, "householder"));
    }
  }
  // The vertical 従前の住所 is read, not left empty.
  for (const auto& [document, d] : drafts)
    if (document.rfind("tenshutsu-c", 0) == 0) BOOST_TEST(text(d, "address").size() > 12u, document);
}

// The face of a 在留カード laid on the scanner's glass — turned, noisy, one
// upside down — found by its edges (no printed marks), read into
// ocr.zairyu-card: the number's pattern checked (one printed wrong is shown
// with why), Western dates as ISO, the Latin name always shown, the 住居地
// snapped to the city's towns. A 転出証明書 in the same folder still goes to
// its own template.
BOOST_AUTO_TEST_CASE(a_residence_card_is_found_by_its_edges_and_its_number_checked) {
  Scanner s(source("mappings/ocr/tenshutsu-a.xml").string() + ";" + source("mappings/ocr/zairyu-card.xml").string());
  s.add("  <route id=\"cards\" from=\"scans\" records=\"ocr.zairyu-card\" to=\"drafts\"/>\n");
  s.render({"--form", "zairyu-card", "--count", "2", "--rotate", "2"});
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "2", "--rotate", "-1.5", "--noise", "20", "--blur", "0.6"});
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "3", "--rotate", "180"});
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "4", "--bad-number"});
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "5", "--typo"});
  s.render({"--count", "1", "--start", "6"});
  auto drafts = s.serve(7);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      if (document.rfind("tenshutsu-a", 0) == 0) {
        BOOST_TEST(text(d, "template") == "tenshutsu-a");
        BOOST_TEST(text(d, "resident_type") == "");  // a 転出証明書 is anyone's
        continue;
      }
      BOOST_TEST(text(d, "template") == "zairyu-card");
      BOOST_TEST(text(d, "resident_type") == "外国人");  // the card is a foreign resident's document
      rightOrShown(d, t, {"birth", "expiry"});
      rightOrShown(d, "sex", t->getValue<std::string>("sex") == "男" ? "1" : "2");
      rightOrShown(d, t, {"address", "nationality", "status"});
      BOOST_TEST(text(d, "name.review") == "true");
      if (document == "zairyu-card-004.png") {
        // Printed with a letter where a digit belongs: shown, with why.
        BOOST_TEST(text(d, "number.review") == "true");
        BOOST_TEST(text(d, "number.why").find("not a 在留カード number") != std::string::npos, text(d, "number.why"));
      } else {
        rightOrShown(d, "number", t->getValue<std::string>("number"));
      }
      if (document == "zairyu-card-003.png") BOOST_TEST(text(d, "turned") == "180");
    }
  }
  // プラジル printed: snapped to ブラジル of the nationality list, the reading
  // kept beside it and the field shown.
  const auto& typo = drafts.at("zairyu-card-005.png");
  BOOST_TEST(text(typo, "nationality") == "ブラジル");
  BOOST_TEST(text(typo, "nationality.raw") == "プラジル");
  BOOST_TEST(text(typo, "nationality.review") == "true");
  BOOST_TEST(text(typo, "nationality.why").find("snapped to nationality.txt (1 edits)") != std::string::npos,
             text(typo, "nationality.why"));
  // Clean cards are read whole.
  const auto& clean = drafts.at("zairyu-card-000.png");
  auto t = s.truth("zairyu-card-000.png");
  BOOST_TEST(text(clean, "number") == t->getValue<std::string>("number"));
  BOOST_TEST(text(clean, "name") == t->getValue<std::string>("name"));
  BOOST_TEST(text(clean, "birth") == t->getValue<std::string>("birth.iso"));
}

// The back of a 在留カード: its 住居地記載欄 (the entries written after each
// move, oldest first) read row by row, the dates as ISO, the addresses
// snapped to the city's towns; told from the face by its printed heading.
BOOST_AUTO_TEST_CASE(a_residence_card_back_is_read_row_by_row_and_told_from_the_face) {
  Scanner s(source("mappings/ocr/zairyu-card.xml").string() + ";" + source("mappings/ocr/zairyu-card-back.xml").string());
  s.add("  <route id=\"cards\" from=\"scans\" records=\"ocr.zairyu-card\" to=\"drafts\"/>\n"
        "  <route id=\"backs\" from=\"scans\" records=\"ocr.zairyu-card-back\" to=\"drafts\"/>\n");
  s.render({"--form", "zairyu-card-back", "--count", "4"});
  s.render({"--form", "zairyu-card-back", "--count", "1", "--start", "4", "--rotate", "180", "--noise", "20"});
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "5"});
  auto drafts = s.serve(6);
  std::size_t rows = 0;
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "template") == document.substr(0, document.rfind('-')));
      BOOST_TEST(text(d, "resident_type") == "外国人");
      if (document.rfind("zairyu-card-back", 0) != 0) continue;
      for (int i = 1; i <= 3; ++i) {
        const std::string row = "row." + std::to_string(i) + ".";
        if (!t->has(row + "date")) {
          BOOST_TEST(text(d, row + "address").empty());
          continue;
        }
        ++rows;
        rightOrShown(d, row + "date", t->getValue<std::string>(row + "date.iso"));
        rightOrShown(d, row + "address", t->getValue<std::string>(row + "address"));
      }
    }
  }
  BOOST_TEST(rows >= 6u);
  BOOST_TEST(text(drafts.at("zairyu-card-back-004.png"), "turned") == "180");
}

// The back of a マイナンバーカード: its 個人番号 is class mynumber. Read only
// by an instance of the mynumber zone (個人番号利用事務系) — an LGWAN instance
// is refused at check with the template's file:line — its check digit
// checked, and the number never in a log line, the status or the report.
BOOST_AUTO_TEST_CASE(a_mynumber_card_back_is_read_only_in_the_mynumber_zone_and_never_logged) {
  const std::string tmpl = source("mappings/ocr/mynumber-card-back.xml").string();
  {
    Scanner lgwan(tmpl);
    auto check = runRenkei({"check", "--config", lgwan.config()});
    BOOST_TEST(check.exitCode != 0);
    BOOST_TEST(check.err.find("mynumber-card-back.xml:11: zone 'number' holds a 個人番号 (pii mynumber): read it in "
                              "an instance of the mynumber zone") != std::string::npos,
               check.err);
  }
  Scanner s(tmpl);
  std::string config = test::readFile(s.dir / "config.xml");
  config.replace(config.find("zone=\"lgwan\""), 12, "zone=\"mynumber\"");
  config.replace(config.find("records=\"ocr.tenshutsu\""), 23, "records=\"ocr.mynumber-card\"");
  test::writeFile(s.dir / "config.xml", config);
  s.render({"--form", "mynumber-card-back", "--count", "2", "--rotate", "1.5"});
  s.render({"--form", "mynumber-card-back", "--count", "1", "--start", "2", "--bad-number"});
  auto r = runRenkei({"serve", "--config", s.config(), "--once"});
  BOOST_TEST_REQUIRE(r.exitCode == 0, r.err);
  auto drafts = s.drafts();
  BOOST_TEST_REQUIRE(drafts.size() == 3u, r.err);
  auto status = runRenkei({"status", "--config", s.config()});
  auto report = runRenkei({"ocr", "report", "--per", "field", "--config", s.config()});
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      const std::string number = t->getValue<std::string>("number");
      BOOST_TEST(text(d, "number") == number);
      if (document == "mynumber-card-back-002.png") {
        BOOST_TEST(text(d, "number.review") == "true");
        BOOST_TEST(text(d, "number.why") == "not a 個人番号 (check digit)");
      } else {
        BOOST_TEST(text(d, "number.review") == "false");
      }
      BOOST_TEST(text(d, "birth") == t->getValue<std::string>("birth.iso"));
      // Never in a log line, the status or the report (nor in parts: the
      // first eight digits).
      for (const std::string& out : {r.err, r.out, status.out, status.err, report.out})
        BOOST_TEST(out.find(number.substr(0, 8)) == std::string::npos);
    }
  }
}

// A 戸籍全部事項証明書 carries no registration marks, like the real ones: it
// is registered by its printed texts (title, certificate sentence, issuer)
// found anywhere on the deskewed page, then read zone by zone: 本籍 and
// every name always shown, dates as ISO, the 続柄 from its table. A
// 転出証明書 in the same folder is not taken for one (its texts are not
// there) and goes to its own template; a 個人事項証明書 (一部事項証明, one
// person) is told from the 全部事項証明書 by its title and sentence.
BOOST_AUTO_TEST_CASE(a_koseki_certificate_without_marks_is_registered_by_its_printed_texts) {
  Scanner s(source("mappings/ocr/tenshutsu-a.xml").string() + ";" + source("mappings/ocr/koseki-zenbu.xml").string() +
            ";" + source("mappings/ocr/koseki-kojin.xml").string());
  s.add("  <route id=\"koseki\" from=\"scans\" records=\"ocr.koseki\" to=\"drafts\"/>\n");
  s.render({"--form", "koseki-zenbu", "--count", "2"});
  s.render({"--form", "koseki-zenbu", "--count", "1", "--start", "2", "--rotate", "1.5", "--noise", "20"});
  s.render({"--form", "koseki-zenbu", "--count", "1", "--start", "3", "--dpi", "200"});
  s.render({"--count", "1", "--start", "7"});
  // The 一部事項証明書 of one person: the same layout, its own title and sentence.
  s.render({"--form", "koseki-kojin", "--count", "1", "--start", "4", "--rotate", "-1", "--noise", "10"});
  auto drafts = s.serve(6);
  std::size_t persons = 0;
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      if (document.rfind("tenshutsu-a", 0) == 0) {
        BOOST_TEST(text(d, "template") == "tenshutsu-a");
        continue;
      }
      BOOST_TEST(text(d, "template") == document.substr(0, document.rfind('-')));
      BOOST_TEST(text(d, "resident_type") == "日本人");  // a 戸籍 is a Japanese resident's
      BOOST_TEST(text(d, "honseki.review") == "true");  // 本籍: always
      BOOST_TEST(text(d, "hittousha.review") == "true");
      rightOrShown(d, "honseki", halfwidthDigits(t->getValue<std::string>("honseki")));
      for (int i = 1; i <= 3; ++i) {
        const std::string p = "person." + std::to_string(i) + ".";
        if (!t->has(p + "name")) {
          BOOST_TEST(text(d, p + "name").empty());
          continue;
        }
        ++persons;
        BOOST_TEST(text(d, p + "name.review") == "true");
        rightOrShown(d, p + "birth", t->getValue<std::string>(p + "birth.iso"));
        rightOrShown(d, p + "relation", t->getValue<std::string>(p + "relation"));
      }
    }
  }
  BOOST_TEST(persons >= 4u);
  // A clean certificate is read whole.
  const auto& clean = drafts.at("koseki-zenbu-000.png");
  auto t = s.truth("koseki-zenbu-000.png");
  BOOST_TEST(!text(clean, "hittousha").empty());  // a name: read, and shown (not asserted exact)
  BOOST_TEST(text(clean, "person.1.birth") == t->getValue<std::string>("person.1.birth.iso"));
  BOOST_TEST(text(clean, "person.1.relation") == t->getValue<std::string>("person.1.relation"));
}

// A 戸籍の附票の写し: like the 戸籍 certificate printed without marks and
// registered by its texts — and told from it by them, both templates
// loaded — read into ocr.fuhyo: each person's 生年月日, 性別, 住所 and the
// day the address was set; 本籍 and names always shown.
BOOST_AUTO_TEST_CASE(a_koseki_fuhyo_is_told_from_the_certificate_by_its_texts_and_read) {
  Scanner s(source("mappings/ocr/koseki-zenbu.xml").string() + ";" + source("mappings/ocr/koseki-fuhyo.xml").string());
  s.add("  <route id=\"koseki\" from=\"scans\" records=\"ocr.koseki\" to=\"drafts\"/>\n"
        "  <route id=\"fuhyo\" from=\"scans\" records=\"ocr.fuhyo\" to=\"drafts\"/>\n");
  s.render({"--form", "koseki-fuhyo", "--count", "2"});
  s.render({"--form", "koseki-fuhyo", "--count", "1", "--start", "2", "--rotate", "-1.5", "--noise", "20"});
  s.render({"--form", "koseki-zenbu", "--count", "1", "--start", "3"});
  auto drafts = s.serve(4);
  std::size_t persons = 0;
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "resident_type") == "日本人");
      if (document.rfind("koseki-zenbu", 0) == 0) {
        BOOST_TEST(text(d, "template") == "koseki-zenbu");
        continue;
      }
      BOOST_TEST(text(d, "template") == "koseki-fuhyo");
      BOOST_TEST(text(d, "honseki.review") == "true");
      rightOrShown(d, "honseki", halfwidthDigits(t->getValue<std::string>("honseki")));
      for (int i = 1; i <= 3; ++i) {
        const std::string p = "person." + std::to_string(i) + ".";
        if (!t->has(p + "name")) {
          BOOST_TEST(text(d, p + "address").empty());
          continue;
        }
        ++persons;
        BOOST_TEST(text(d, p + "name.review") == "true");
        rightOrShown(d, p + "birth", t->getValue<std::string>(p + "birth.iso"));
        rightOrShown(d, p + "since", t->getValue<std::string>(p + "since.iso"));
        rightOrShown(d, p + "sex", t->getValue<std::string>(p + "sex") == "男" ? "1" : "2");
        rightOrShown(d, p + "address", halfwidthDigits(t->getValue<std::string>(p + "address")));
      }
    }
  }
  BOOST_TEST(persons >= 3u);
  const auto& clean = drafts.at("koseki-fuhyo-000.png");
  auto t = s.truth("koseki-fuhyo-000.png");
  BOOST_TEST(text(clean, "person.1.since") == t->getValue<std::string>("person.1.since.iso"));
  BOOST_TEST(text(clean, "person.1.address") == halfwidthDigits(t->getValue<std::string>("person.1.address")));
}

// The 転出証明確認書 the 統合端末 prints for a 特例転入: plain paper, no marks,
// registered by its printed texts, read into the same record as a 転出証明書
// (so the same routes and the 転入 draft take it), `template` saying which.
BOOST_AUTO_TEST_CASE(a_tenshutsu_kakunin_from_the_terminal_is_read_like_a_certificate) {
  Scanner s(source("mappings/ocr/tenshutsu-a.xml").string() + ";" +
            source("mappings/ocr/tenshutsu-kakunin.xml").string());
  s.render({"--form", "tenshutsu-kakunin", "--count", "2"});
  s.render({"--form", "tenshutsu-kakunin", "--count", "1", "--start", "2", "--rotate", "-1.5", "--noise", "20"});
  s.render({"--count", "1", "--start", "9"});
  auto drafts = s.serve(4);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "template") == document.substr(0, document.rfind('-')));
      rightOrShown(d, t, {"move_date", "destination"});
      rightOrShown(d, "address", halfwidthDigits(t->getValue<std::string>("address")));
      for (int i = 1; i <= 4; ++i) {
        const std::string m = "member." + std::to_string(i) + ".";
        if (!t->has(m + "name")) continue;
        rightOrShown(d, m + "birth", t->getValue<std::string>(m + "birth.iso"));
        rightOrShown(d, m + "code", t->getValue<std::string>(m + "code"));
        BOOST_TEST(text(d, m + "name.review") == "true");
      }
    }
  }
  const auto& clean = drafts.at("tenshutsu-kakunin-000.png");
  auto t = s.truth("tenshutsu-kakunin-000.png");
  BOOST_TEST(text(clean, "move_date") == t->getValue<std::string>("move_date.iso"));
  BOOST_TEST(text(clean, "member.1.code") == t->getValue<std::string>("member.1.code"));
}

// The face of a 特別永住者証明書 beside a 在留カード: both found by their edges,
// told apart by their titles, the number's pattern checked the same way.
BOOST_AUTO_TEST_CASE(a_special_permanent_resident_certificate_is_told_from_a_residence_card) {
  Scanner s(source("mappings/ocr/zairyu-card.xml").string() + ";" + source("mappings/ocr/tokubetsu-card.xml").string());
  s.add("  <route id=\"cards\" from=\"scans\" records=\"ocr.zairyu-card\" to=\"drafts\"/>\n"
        "  <route id=\"tokubetsu\" from=\"scans\" records=\"ocr.tokubetsu-card\" to=\"drafts\"/>\n");
  s.render({"--form", "tokubetsu-card", "--count", "2", "--start", "20"});
  s.render({"--form", "tokubetsu-card", "--count", "1", "--start", "22", "--rotate", "2", "--noise", "20"});
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "23"});
  auto drafts = s.serve(4);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "template") == document.substr(0, document.rfind('-')));
      rightOrShown(d, t, {"number", "birth", "expiry", "nationality"});
      BOOST_TEST(text(d, "name.review") == "true");
    }
  }
  const auto& clean = drafts.at("tokubetsu-card-020.png");
  auto t = s.truth("tokubetsu-card-020.png");
  BOOST_TEST(text(clean, "number") == t->getValue<std::string>("number"));
  BOOST_TEST(text(clean, "nationality") == t->getValue<std::string>("nationality"));
  BOOST_TEST(!clean->has("status"));  // no 在留資格 on this card
}

// The face of a 運転免許証 (a resident's 本人確認 at the window): found by its
// edges, told from a 在留カード by its title; era dates as ISO, the 住所
// snapped to the towns, the 12-digit number kept as digits.
BOOST_AUTO_TEST_CASE(a_driving_licence_is_read_by_its_edges) {
  Scanner s(source("mappings/ocr/zairyu-card.xml").string() + ";" + source("mappings/ocr/menkyo-card.xml").string());
  s.add("  <route id=\"cards\" from=\"scans\" records=\"ocr.zairyu-card\" to=\"drafts\"/>\n"
        "  <route id=\"menkyo\" from=\"scans\" records=\"ocr.menkyo-card\" to=\"drafts\"/>\n");
  s.render({"--form", "menkyo-card", "--count", "2"});
  s.render({"--form", "menkyo-card", "--count", "1", "--start", "2", "--rotate", "-2", "--noise", "20"});
  s.render({"--form", "zairyu-card", "--count", "1", "--start", "3"});
  auto drafts = s.serve(4);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "template") == document.substr(0, document.rfind('-')));
      if (document.rfind("menkyo-card", 0) != 0) continue;
      rightOrShown(d, t, {"birth", "expiry", "number", "address"});
      BOOST_TEST(text(d, "name.review") == "true");
    }
  }
  const auto& clean = drafts.at("menkyo-card-000.png");
  auto t = s.truth("menkyo-card-000.png");
  BOOST_TEST(text(clean, "number") == t->getValue<std::string>("number"));
  BOOST_TEST(text(clean, "birth") == t->getValue<std::string>("birth.iso"));
  BOOST_TEST(text(clean, "expiry") == t->getValue<std::string>("expiry.iso"));
}

// The face of a マイナンバーカード on the glass, told from a 運転免許証 by its
// printed title (both found by their edges): the 4 情報 and the 有効期限,
// the address snapped to the city's towns, the name always shown; no
// 個人番号 (that is on the back), no resident type (anyone holds one).
BOOST_AUTO_TEST_CASE(a_mynumber_card_face_is_told_from_a_licence_and_read) {
  Scanner s(source("mappings/ocr/menkyo-card.xml").string() + ";" +
            source("mappings/ocr/mynumber-card-face.xml").string());
  s.add("  <route id=\"menkyo\" from=\"scans\" records=\"ocr.menkyo-card\" to=\"drafts\"/>\n"
        "  <route id=\"faces\" from=\"scans\" records=\"ocr.mynumber-card-face\" to=\"drafts\"/>\n");
  s.render({"--form", "mynumber-card-face", "--count", "2"});
  s.render({"--form", "mynumber-card-face", "--count", "1", "--start", "2", "--rotate", "2", "--noise", "20"});
  s.render({"--form", "mynumber-card-face", "--count", "1", "--start", "3", "--rotate", "180"});
  s.render({"--form", "menkyo-card", "--count", "1", "--start", "4"});
  auto drafts = s.serve(5);
  for (const auto& [document, d] : drafts) {
    BOOST_TEST_CONTEXT(document) {
      auto t = s.truth(document);
      BOOST_TEST(text(d, "template") == document.substr(0, document.rfind('-')));
      if (document.rfind("mynumber-card-face", 0) != 0) continue;
      BOOST_TEST(text(d, "resident_type") == "");
      BOOST_TEST(!d->has("number"));
      rightOrShown(d, t, {"birth", "expiry", "address"});
      rightOrShown(d, "sex", t->getValue<std::string>("sex") == "男" ? "1" : "2");
      BOOST_TEST(text(d, "name.review") == "true");
    }
  }
  BOOST_TEST(text(drafts.at("mynumber-card-face-003.png"), "turned") == "180");
  const auto& clean = drafts.at("mynumber-card-face-000.png");
  auto t = s.truth("mynumber-card-face-000.png");
  BOOST_TEST(text(clean, "birth") == t->getValue<std::string>("birth.iso"));
  BOOST_TEST(text(clean, "expiry") == t->getValue<std::string>("expiry.iso"));
  BOOST_TEST(text(clean, "address") == t->getValue<std::string>("address"));
}
