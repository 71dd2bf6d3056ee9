// Unit tests: setting types, suggestions, UTF-8 checking, JSON output, the
// stored form of batches (JSON arrays) and its expansion.
#define BOOST_TEST_MODULE renkei_basics
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "renkei/support/diagnostics.h"
#include "formats/reader.h"
#include "json_lines.h"
#include "pipeline/record_sets.h"
#include "renkei/json.h"
#include "setting_types.h"
#include "text_lines.h"

using namespace renkei;

namespace {
std::optional<std::string> parse(const std::string& type, const std::string& text, Settings::Value& v) {
  return parseSettingValue(type, text, "/base", v);
}
}  // namespace

BOOST_AUTO_TEST_CASE(durations_sizes_bools_ints) {
  Settings::Value v;
  BOOST_TEST(!parse("duration", "250ms", v));
  BOOST_TEST(std::get<std::chrono::milliseconds>(v).count() == 250);
  BOOST_TEST(!parse("duration", "5", v));
  BOOST_TEST(std::get<std::chrono::milliseconds>(v).count() == 5000);
  BOOST_TEST(!parse("duration", "2h", v));
  BOOST_TEST(std::get<std::chrono::milliseconds>(v).count() == 7'200'000);
  BOOST_TEST(parse("duration", "5 sec", v).value().find("not a duration") != std::string::npos);
  BOOST_TEST(parse("duration", "", v).has_value());

  BOOST_TEST(!parse("size", "16MiB", v));
  BOOST_TEST(std::get<std::uint64_t>(v) == 16ull << 20);
  BOOST_TEST(parse("size", "16MB", v).has_value());

  BOOST_TEST(!parse("bool", "yes", v));
  BOOST_TEST(std::get<bool>(v));
  BOOST_TEST(!parse("bool", "false", v));
  BOOST_TEST(!std::get<bool>(v));
  BOOST_TEST(parse("bool", "maybe", v).has_value());

  BOOST_TEST(!parse("int", "-42", v));
  BOOST_TEST(std::get<std::int64_t>(v) == -42);
  BOOST_TEST(parse("int", "4x", v).has_value());
}

// Issue 12: the list type replaces the connectors' own splitters.
BOOST_AUTO_TEST_CASE(lists_split_on_commas_and_semicolons) {
  Settings::Value v;
  BOOST_TEST(!parse("list", " *.csv; *.CSV ,JUMIN_*.txt;;", v));
  BOOST_TEST((std::get<std::vector<std::string>>(v) == std::vector<std::string>{"*.csv", "*.CSV", "JUMIN_*.txt"}));
  BOOST_TEST(!parse("list", "", v));
  BOOST_TEST(std::get<std::vector<std::string>>(v).empty());
  BOOST_TEST(isValidKeyType("list"));
  BOOST_TEST(isValidKeyType("secret"));
}

// Issue 12: a secret comes from a file or the environment, never from the
// config, and no message quotes it.
BOOST_AUTO_TEST_CASE(secrets_come_from_files_or_the_environment_and_are_never_quoted) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("renkei-secret-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "db.pw") << "s3cret-value\nsecond line\n";
  }
  Settings::Value v;
  // A secret file others can read is refused, naming its mode (not its content).
  ::chmod((dir / "db.pw").c_str(), 0644);
  auto open = parseSettingValue("secret", "file:db.pw", dir, v);
  BOOST_TEST_REQUIRE(open.has_value());
  BOOST_TEST(open->find("is open to other users (mode 0644)") != std::string::npos, *open);
  BOOST_TEST(open->find("s3cret") == std::string::npos);
  ::chmod((dir / "db.pw").c_str(), 0600);
  BOOST_TEST(!parseSettingValue("secret", "file:db.pw", dir, v));
  BOOST_TEST(std::get<SecretValue>(v).value == "s3cret-value");
  BOOST_TEST(std::get<SecretValue>(v).from == "file " + (dir / "db.pw").string());
  ::setenv("RENKEI_TEST_SECRET", "from-env", 1);
  BOOST_TEST(!parse("secret", "env:RENKEI_TEST_SECRET", v));
  BOOST_TEST(std::get<SecretValue>(v).value == "from-env");
  // Written in the config: refused, and the message does not repeat it.
  auto literal = parse("secret", "hunter2", v);
  BOOST_TEST_REQUIRE(literal.has_value());
  BOOST_TEST(literal->find("never written in the config") != std::string::npos);
  BOOST_TEST(literal->find("hunter2") == std::string::npos);
  BOOST_TEST(parse("secret", "env:RENKEI_TEST_NOT_SET_ANYWHERE", v).value().find("is not set") != std::string::npos);
  // A link is not followed; a large file is no secret; neither is quoted.
  fs::create_symlink(dir / "db.pw", dir / "link.pw");
  auto link = parseSettingValue("secret", "file:link.pw", dir, v);
  BOOST_TEST_REQUIRE(link.has_value());
  BOOST_TEST(link->find("s3cret") == std::string::npos);
  {
    std::ofstream(dir / "big.pw") << std::string(5000, 'x');
  }
  BOOST_TEST(parseSettingValue("secret", "file:big.pw", dir, v).value().find("at most 4 KiB") != std::string::npos);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(paths_resolve_against_the_config_folder) {
  Settings::Value v;
  BOOST_TEST(!parse("path", "../var/x", v));
  BOOST_TEST(std::get<std::filesystem::path>(v).string() == "/var/x");
  BOOST_TEST(!parse("path", "/abs/y", v));
  BOOST_TEST(std::get<std::filesystem::path>(v).string() == "/abs/y");
}

BOOST_AUTO_TEST_CASE(enums_suggest_the_closest_choice) {
  Settings::Value v;
  BOOST_TEST(isValidKeyType("enum(jsonl|csv)"));
  BOOST_TEST(!isValidKeyType("enum()"));
  BOOST_TEST(!isValidKeyType("float"));
  auto err = parse("enum(jsonl|csv)", "jsnl", v);
  BOOST_REQUIRE(err);
  BOOST_TEST(*err == "'jsnl' is not one of: jsonl, csv; did you mean 'jsonl'?");
}

BOOST_AUTO_TEST_CASE(did_you_mean) {
  BOOST_TEST(closestMatch("fiel", {"file", "odbc"}) == "file");
  BOOST_TEST(closestMatch("drectory", {"directory", "pattern"}) == "directory");
  BOOST_TEST(closestMatch("zzzzzz", {"file", "odbc"}).empty());
  BOOST_TEST(editDistance("ab", "ba") == 1u);  // a transposition is one edit
}

BOOST_AUTO_TEST_CASE(utf8_checking_names_the_byte_offset_and_line) {
  BOOST_TEST(!checkUtf8Text("a\nb\xE4\xBD\x8F\n"));
  BOOST_TEST(!checkUtf8Text("\xEF\xBB\xBFok"));
  auto p = checkUtf8Text("ok\nline2 \x8F\x5C");  // CP932 bytes
  BOOST_REQUIRE(p);
  BOOST_TEST(p->offset == 9u);
  BOOST_TEST(p->line == 2u);
  BOOST_TEST(checkUtf8Text(std::string("a\0b", 3))->reason == "NUL byte in text");
  BOOST_TEST(checkUtf8Text("\xC0\x80").has_value());          // overlong
  BOOST_TEST(checkUtf8Text("\xED\xA0\x80").has_value());      // surrogate
  BOOST_TEST(checkUtf8Text("\xE4\xBD").has_value());          // truncated
}

BOOST_AUTO_TEST_CASE(lines_split_on_lf_and_crlf) {
  std::vector<std::string> lines;
  forEachLine("\xEF\xBB\xBF" "a\r\nb\n\nc", [&](std::string_view l) { lines.emplace_back(l); });
  BOOST_TEST(lines == (std::vector<std::string>{"a", "b", "", "c"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(json_lines_escape_controls_and_keep_japanese) {
  auto names = std::make_shared<const FieldNames>(FieldNames{"氏名", "note"});
  Record r(names);
  r.set(0, "山田\t太郎");
  r.set(1, "say \"hi\"\\\x01");
  std::string out;
  appendJsonLine(out, r);
  BOOST_TEST(out == "{\"氏名\":\"山田\\t太郎\",\"note\":\"say \\\"hi\\\"\\\\\\u0001\"}\n");
}

// The writer looks at words, not bytes (short values in overlapping words,
// the tail in a word ending at the end): against a byte-at-a-time reference,
// every length up to 24 with each byte that needs an escape at each place.
BOOST_AUTO_TEST_CASE(json_string_writer_matches_a_byte_at_a_time_reference) {
  auto reference = [](std::string_view text) {
    std::string out = "\"";
    for (unsigned char c : text) {
      if (c == '"') out += "\\\"";
      else if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c == '\b') out += "\\b";
      else if (c == '\f') out += "\\f";
      else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else out.push_back(static_cast<char>(c));
    }
    return out + "\"";
  };
  const std::string filler = "ab山田cd1985-03-12xyz太郎q";  // ASCII and UTF-8, nothing to escape
  int mismatches = 0;
  for (std::size_t n = 0; n <= 24; ++n) {
    const std::string clean = filler.substr(0, n);
    if (jsonQuoted(clean) != reference(clean)) ++mismatches;
    for (std::size_t at = 0; at < n; ++at)
      for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\0'}) {
        std::string text = clean;
        text[at] = special;
        if (jsonQuoted(text) != reference(text)) ++mismatches;
      }
  }
  BOOST_TEST(mismatches == 0);
  // Bytes around 0x20, '"' and '\\' that need no escape stay as they are.
  BOOST_TEST(jsonQuoted(" !#[]~\x7f") == "\" !#[]~\x7f\"");
}

// The store keeps batches as arrays of values; targets get objects. The
// expansion must give exactly what the objects writer would have written.
BOOST_AUTO_TEST_CASE(stored_arrays_expand_to_the_objects_writer_output) {
  const std::vector<std::string> names{"code", "名前", "note\"q"};
  const std::vector<std::vector<std::string>> rows{
      {"001", "山田　太郎", ""},
      {"002", "𠮷野 \"quoted\" \\ back", "tab\there\nline"},
      {"", "\x01control", "\\\""},
  };
  formats::ByteArena arrays, objects;
  const auto arrayWriter = formats::JsonLinesWriter::arrays(names.size());
  const formats::JsonLinesWriter objectWriter(names);
  for (const auto& row : rows) {
    std::vector<std::string_view> views(row.begin(), row.end());
    arrayWriter.append(arrays, views);
    objectWriter.append(objects, views);
  }
  const std::string_view stored(arrays.data(), arrays.size());
  BOOST_TEST(stored.substr(0, 2) == "[\"");
  std::string expanded;
  BOOST_TEST(!expandJsonArrays(stored, names, expanded));
  BOOST_TEST(expanded == std::string(objects.data(), objects.size()));

  auto shared = std::make_shared<const FieldNames>(names);
  std::vector<Record> records;
  BOOST_TEST(!parseJsonArrays(stored, shared, records));
  BOOST_REQUIRE(records.size() == rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t i = 0; i < names.size(); ++i) BOOST_TEST(records[r].value(i) == rows[r][i]);

  auto parsedNames = parseNameArray(R"(["code","名前","note\"q"])");
  BOOST_REQUIRE(parsedNames);
  BOOST_TEST(*parsedNames == names, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(malformed_stored_arrays_are_reported_with_their_line) {
  const FieldNames names{"a", "b"};
  std::string out = "kept";
  auto e = expandJsonArrays("[\"1\",\"2\"]\n[\"1\"]\n", names, out);
  BOOST_REQUIRE(e);
  BOOST_TEST(*e == "line 2: not an array of 2 strings");
  BOOST_TEST(out == "kept");  // nothing half-written
  BOOST_TEST(expandJsonArrays("[\"unterminated]\n", names, out).has_value());
  BOOST_TEST(expandJsonArrays("{\"a\":\"1\"}\n", names, out).has_value());
  BOOST_TEST(!parseNameArray("[1,2]"));
}

// Issue 12: what the engine seam refuses before anything is stored (the
// message names fields and sizes, never a value).
BOOST_AUTO_TEST_CASE(the_seam_refuses_malformed_emissions_without_quoting_values) {
  auto names = std::make_shared<const FieldNames>(FieldNames{"code", "note"});
  auto emission = [&](const std::string& key, const std::string& type, const std::string& note) {
    Emission e;
    e.key = key;
    Record r(names);
    r.set(0, "A-1");
    r.set(1, note);
    e.sets.push_back(RecordSet{type, {r}});
    return e;
  };
  BOOST_TEST(pipeline::checkEmission(emission("k1", "ticket.event", "ok")).empty());
  BOOST_TEST(pipeline::checkEmission(emission("", "ticket.event", "ok")) == "the emission has no key");
  BOOST_TEST(pipeline::checkEmission(emission(std::string(201, 'k'), "ticket.event", "ok")).find("at most 200") !=
             std::string::npos);
  BOOST_TEST(pipeline::checkEmission(emission("k1", "Ticket Event", "ok")).find("use a-z, 0-9") != std::string::npos);
  const std::string nul = pipeline::checkEmission(emission("k1", "ticket.event", std::string("se\0cret", 7)));
  BOOST_TEST(nul == "record type 'ticket.event', record 1: field 'note' holds a NUL character");
  const std::string big = pipeline::checkEmission(emission("k1", "ticket.event", std::string((16u << 20) + 1, 'x')));
  BOOST_TEST(big.find("record 1 is 16777220 bytes; a record may be at most 16 MiB") != std::string::npos, big);
}
