#include "welfare_program.h"

#include <algorithm>
#include <sstream>

#include "renkei/support/xml_document.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors::welfare {

extern const char* const kProgramSchema;  // welfare_schema.cpp, generated

bool Condition::holds(const std::string& value) const {
  switch (test) {
    case Test::NotEmpty: return !value.empty();
    case Test::Empty: return value.empty();
    case Test::In: return values.count(value) > 0;
  }
  return false;
}

std::vector<std::string> Program::fields() const {
  std::vector<std::string> out{keyField};
  auto add = [&](const std::string& f) {
    if (!f.empty() && std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  };
  for (const Condition& c : ended) add(c.field);
  for (const Fact& f : facts) add(f.field);
  return out;
}

namespace {

/// YYYY-MM-DD from YYYYMMDD, YYYY-MM-DD or YYYY/MM/DD with a real month and
/// day; nothing otherwise.
std::optional<std::string> isoDate(const std::string& v) {
  std::string digits;
  if (v.size() == 8 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    digits = v;
  } else if (v.size() == 10 && (v[4] == '-' || v[4] == '/') && v[7] == v[4]) {
    digits = v.substr(0, 4) + v.substr(5, 2) + v.substr(8, 2);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  } else {
    return std::nullopt;
  }
  const int y = std::stoi(digits.substr(0, 4)), m = std::stoi(digits.substr(4, 2)), d = std::stoi(digits.substr(6, 2));
  static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1868 || m < 1 || m > 12 || d < 1 || d > days[m - 1]) return std::nullopt;
  if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return std::nullopt;
  return digits.substr(0, 4) + "-" + digits.substr(4, 2) + "-" + digits.substr(6, 2);
}

/// A code as a fact may carry it: letters, digits and '-', at most 16 (a
/// name or an address is no code, and never becomes a fact).
bool isCode(const std::string& v) {
  return v.size() <= 16 && std::all_of(v.begin(), v.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
         });
}

std::set<std::string> words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

}  // namespace

std::vector<std::string> Program::compute(const std::vector<const std::string*>& row, bool& current,
                                          std::size_t& unreadable) const {
  const std::vector<std::string> names = fields();
  auto value = [&](const std::string& field) -> const std::string& {
    static const std::string none;
    const auto at = std::find(names.begin(), names.end(), field) - names.begin();
    return static_cast<std::size_t>(at) < row.size() && row[at] ? *row[at] : none;
  };
  current = std::none_of(ended.begin(), ended.end(), [&](const Condition& c) { return c.holds(value(c.field)); });
  std::vector<std::string> out;
  out.reserve(facts.size());
  for (const Fact& f : facts) {
    const std::string& v = value(f.field);
    switch (f.kind) {
      case Fact::Kind::Current: out.push_back(current ? "true" : "false"); break;
      case Fact::Kind::Is: out.push_back(f.values.count(v) ? "true" : "false"); break;
      case Fact::Kind::Date:
        if (auto iso = isoDate(v)) {
          out.push_back(*iso);
        } else {
          if (!v.empty()) ++unreadable;
          out.emplace_back();
        }
        break;
      case Fact::Kind::Code:
        if (isCode(v)) {
          out.push_back(v);
        } else {
          ++unreadable;
          out.emplace_back();
        }
        break;
    }
  }
  return out;
}

std::optional<Program> loadProgram(const fs::path& file, Diagnostics& diags) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kProgramSchema, "urn:renkei:welfare:1", "program", "welfare program", diags);
  if (!doc || diags.size() != before) return std::nullopt;
  const std::string f = file.string();
  Program p;
  p.file = file;
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  p.id = xml::attr(root, "id");
  p.name = xml::attr(root, "name");
  p.recipients = xml::hasAttr(root, "recipients") ? xml::attr(root, "recipients") : std::string("recipients");
  std::set<std::string> factNames;
  for (xmlNodePtr c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const std::string element = xml::name(c);
    const int line = xml::lineOf(c);
    if (element == "key") {
      p.keyField = xml::attr(c, "field");
      p.residentKey = xml::attr(c, "resident-key");
    } else if (element == "ended") {
      Condition cond;
      cond.field = xml::attr(c, "field");
      cond.line = line;
      const int tests = xml::hasAttr(c, "not-empty") + xml::hasAttr(c, "empty") + xml::hasAttr(c, "in");
      if (tests != 1) {
        diags.add(f, line, "ended: give exactly one of not-empty=\"true\", empty=\"true\" or in=\"codes\"");
        continue;
      }
      if (xml::hasAttr(c, "in")) {
        cond.test = Condition::Test::In;
        cond.values = words(xml::attr(c, "in"));
        if (cond.values.empty()) diags.add(f, line, "ended: in=\"…\" names no code");
      } else if (xml::hasAttr(c, "empty")) {
        cond.test = Condition::Test::Empty;
        if (xml::attr(c, "empty") != "true") diags.add(f, line, "ended: empty=\"true\" or leave it out");
      } else if (xml::attr(c, "not-empty") != "true") {
        diags.add(f, line, "ended: not-empty=\"true\" or leave it out");
      }
      p.ended.push_back(std::move(cond));
    } else if (element == "fact") {
      Fact fact;
      fact.name = xml::attr(c, "name");
      fact.line = line;
      fact.field = xml::attr(c, "field");
      if (!factNames.insert(fact.name).second) diags.add(f, line, "fact '" + fact.name + "' is declared twice");
      if (xml::hasAttr(c, "current")) {
        fact.kind = Fact::Kind::Current;
        if (xml::attr(c, "current") != "true" || xml::hasAttr(c, "field") || xml::hasAttr(c, "type") ||
            xml::hasAttr(c, "in"))
          diags.add(f, line, "fact '" + fact.name + "': current=\"true\" stands alone (no field, type or in)");
      } else if (!xml::hasAttr(c, "field")) {
        diags.add(f, line, "fact '" + fact.name + "': give current=\"true\", or a field with type=\"date\", "
                           "type=\"code\" or in=\"codes\"");
      } else if (xml::hasAttr(c, "in")) {
        fact.kind = Fact::Kind::Is;
        fact.values = words(xml::attr(c, "in"));
        if (xml::hasAttr(c, "type")) diags.add(f, line, "fact '" + fact.name + "': in=\"…\" is a yes/no; no type");
      } else if (xml::attr(c, "type") == "date") {
        fact.kind = Fact::Kind::Date;
      } else if (xml::attr(c, "type") == "code") {
        fact.kind = Fact::Kind::Code;
      } else {
        diags.add(f, line, "fact '" + fact.name + "': a field needs type=\"date\", type=\"code\" or in=\"codes\"");
      }
      p.facts.push_back(std::move(fact));
    }
  }
  if (diags.size() != before) return std::nullopt;
  return p;
}

}  // namespace renkei::connectors::welfare
