#include "procedures.h"

#include "renkei/text.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "renkei/support/codec.h"
#include "renkei/support/xml_document.h"

namespace fs = std::filesystem;

namespace renkei::plugins::review {

extern const char* const kProceduresSchema;  // procedures_schema.cpp, generated

namespace {

/// A number attribute: bounded, reported with file:line, `fallback` when
/// absent or wrong (the problem is reported, so the file is refused).
int numberAttr(xmlNodePtr node, const char* name, int fallback, std::int64_t min, std::int64_t max,
               const std::string& file, Diagnostics& diags, const std::string& what) {
  if (!xml::hasAttr(node, name)) return fallback;
  const std::string text = xml::attr(node, name);
  if (const auto v = parseWholeNumber(text, min, max)) return static_cast<int>(*v);
  diags.add(file, xml::lineOf(node),
            what + name + " '" + printable(text) + "' is not " + wholeNumberRange(min, max));
  return fallback;
}


std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return out;
}

/// "U+9AD9 U+E000", or characters as they are, into code points.
std::optional<std::vector<std::uint32_t>> codePoints(const std::string& cell) {
  std::vector<std::uint32_t> out;
  std::istringstream words(cell);
  std::string word;
  bool any = false;
  while (words >> word) {
    any = true;
    if (word.size() > 2 && (word[0] == 'U' || word[0] == 'u') && word[1] == '+') {
      std::uint32_t cp = 0;
      if (word.size() > 8) return std::nullopt;
      for (std::size_t i = 2; i < word.size(); ++i) {
        const char c = word[i];
        if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
        cp = cp * 16 + static_cast<std::uint32_t>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10));
      }
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0) return std::nullopt;
      out.push_back(cp);
      continue;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(word.data());
    std::size_t i = 0;
    while (i < word.size()) {
      std::uint32_t cp = 0;
      const std::size_t n = text::decodeUtf8(p + i, word.size() - i, cp);
      if (n == 0) return std::nullopt;
      out.push_back(cp);
      i += n;
    }
  }
  if (!any) return std::nullopt;
  return out;
}

bool boolAttr(xmlNodePtr n, const char* name, bool dflt) {
  if (!xml::hasAttr(n, name)) return dflt;
  const std::string v = xml::attr(n, name);
  return v == "true" || v == "1";
}

FieldRule readField(xmlNodePtr g, const std::string& f, Diagnostics& diags, std::map<std::string, int>& fieldLines,
                    std::set<std::string>& matched) {
  const int line = xml::lineOf(g);
  FieldRule r;
  r.line = line;
  r.name = xml::attr(g, "name");
  r.label = xml::hasAttr(g, "label") ? xml::attr(g, "label") : r.name;
  r.pii = xml::attr(g, "pii");
  r.required = boolAttr(g, "required", false);
  r.format = xml::attr(g, "format");
  r.checkDigit = xml::attr(g, "check-digit");
  r.match = xml::attr(g, "match");
  r.writeBack = boolAttr(g, "write-back", true);
  if (xml::hasAttr(g, "max-length")) {
    const int m = numberAttr(g, "max-length", 0, 1, 4000, f, diags, "field '" + r.name + "': ");
    if (m > 0) r.maxLength = static_cast<std::size_t>(m);
  }
  if (xml::hasAttr(g, "values")) {
    std::istringstream words(xml::attr(g, "values"));
    std::string w;
    while (words >> w) r.values.push_back(w);
  }
  if (xml::hasAttr(g, "pattern")) {
    r.pattern = xml::attr(g, "pattern");
    try {
      r.regex = std::make_shared<std::regex>(r.pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      diags.add(f, line, "field '" + r.name + "': pattern is not a regular expression: " + e.what());
    }
  }
  if (r.format == "date" && !r.checkDigit.empty())
    diags.add(f, line, "field '" + r.name + "': a date has no check digit");
  if (!r.match.empty() && !matched.insert(r.match).second)
    diags.add(f, line, "field '" + r.name + "': another field already matches the resident's " + r.match);
  if (auto [it, inserted] = fieldLines.emplace(r.name, line); !inserted)
    diags.add(f, line, "field '" + r.name + "' is declared twice (first at line " + std::to_string(it->second) + ")");
  if (xml::hasAttr(g, "required-when")) {
    const std::string w = xml::attr(g, "required-when");
    const std::size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == w.size())
      diags.add(f, line, "field '" + r.name + "': required-when must be field=value");
    else
      r.requiredWhenField = w.substr(0, eq), r.requiredWhenValue = w.substr(eq + 1);
  }
  return r;
}

}  // namespace

std::string codePointName(std::uint32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", cp);
  return buf;
}

std::shared_ptr<ConversionTable> ConversionTable::parse(std::string_view textIn, const std::string& file,
                                                        Diagnostics& diags) {
  auto table = std::make_shared<ConversionTable>();
  std::map<std::uint32_t, int> lines;
  std::istringstream in{std::string(textIn)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.empty() || line[0] == '#') continue;
    const auto cells = splitTabs(line);
    if (cells.size() < 2) {
      diags.add(file, number, "a line needs source<TAB>target (a character or U+XXXX each)");
      continue;
    }
    const auto source = codePoints(cells[0]);
    const auto target = codePoints(cells[1]);
    if (!source || source->size() != 1) {
      diags.add(file, number, "the source must be one character (or one U+XXXX)");
      continue;
    }
    if (!target) {
      diags.add(file, number, "the target must be characters or U+XXXX code points separated by spaces");
      continue;
    }
    auto [it, inserted] = lines.emplace(source->front(), number);
    if (!inserted) {
      diags.add(file, number,
                codePointName(source->front()) + " is listed twice (first at line " + std::to_string(it->second) + ")");
      continue;
    }
    std::string out;
    for (std::uint32_t cp : *target) text::appendUtf8(out, cp);
    table->map_[source->front()] = std::move(out);
  }
  return table;
}

std::shared_ptr<ConversionTable> ConversionTable::load(const fs::path& file, Diagnostics& diags) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    diags.add(file.string(), 0, "cannot read the conversion table");
    return nullptr;
  }
  std::string textIn;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    textIn.append(buf, static_cast<std::size_t>(in.gcount()));
    if (textIn.size() > (16u << 20)) {
      diags.add(file.string(), 0, "the conversion table is larger than 16 MiB");
      return nullptr;
    }
  }
  const std::size_t before = diags.size();
  auto t = parse(textIn, file.string(), diags);
  return diags.size() == before ? t : nullptr;
}

Converted convertForCoreSystem(std::string_view value, const ConversionTable* table, const text::Codec& codec) {
  Converted out;
  out.text.reserve(value.size());
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  std::size_t i = 0;
  std::string probe, encoded;
  while (i < value.size()) {
    std::uint32_t cp = 0;
    std::size_t n = text::decodeUtf8(p + i, value.size() - i, cp);
    if (n == 0) {  // not UTF-8 at all: nothing to convert it from
      out.unmappable = 0xFFFD;
      return out;
    }
    const std::string* mapped = table ? table->find(cp) : nullptr;
    probe.clear();
    if (mapped) probe = *mapped;
    else probe.assign(value.substr(i, n));
    text::CodecStats stats;
    encoded.clear();
    codec.encode(probe, encoded, stats);
    if (stats.invalid) {
      out.unmappable = cp;
      return out;
    }
    out.text += probe;
    i += n;
  }
  return out;
}

const FieldRule* Procedure::field(const std::string& name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  // member.<n>.<field>, 1 ≤ n ≤ max
  if (name.rfind("member.", 0) != 0 || memberFields.empty()) return nullptr;
  const std::size_t dot = name.find('.', 7);
  if (dot == std::string::npos || dot == 7 || dot > 9) return nullptr;
  int n = 0;
  for (std::size_t i = 7; i < dot; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return nullptr;
    n = n * 10 + (name[i] - '0');
  }
  if (n < 1 || n > maxMembers || name[7] == '0') return nullptr;
  const std::string rest = name.substr(dot + 1);
  for (const auto& f : memberFields)
    if (f.name == rest) return &f;
  return nullptr;
}

const Procedure* Procedures::find(const std::string& id) const {
  for (const auto& p : list)
    if (p.id == id) return &p;
  return nullptr;
}

namespace {

using Tables = std::map<std::string, std::shared_ptr<const ConversionTable>>;

/// <members min max>: the household members' fields.
void readMembers(xmlNodePtr g, Procedure& p, const std::string& f, Diagnostics& diags) {
  p.minMembers = numberAttr(g, "min", 1, 0, 99, f, diags, "members: ");
  p.maxMembers = numberAttr(g, "max", 9, 1, 99, f, diags, "members: ");
  if (p.maxMembers < 1 || p.maxMembers > 99 || p.minMembers < 0 || p.minMembers > p.maxMembers)
    diags.add(f, xml::lineOf(g), "members: min and max must be 0 ≤ min ≤ max ≤ 99, max ≥ 1");
  std::map<std::string, int> memberLines;
  std::set<std::string> memberMatched;
  for (xmlNodePtr m = g->children; m; m = m->next) {
    if (m->type != XML_ELEMENT_NODE) continue;
    FieldRule r = readField(m, f, diags, memberLines, memberMatched);
    if (!r.match.empty()) diags.add(f, r.line, "members: field '" + r.name + "': match is for the applicant's fields");
    p.memberFields.push_back(std::move(r));
  }
}

/// <write-back kind encoding reflect-event reflect-days conversion-table>.
void readWriteBack(xmlNodePtr g, WriteBack& w, const fs::path& file, Tables& tables, Diagnostics& diags) {
  const std::string f = file.string();
  w.kind = xml::attr(g, "kind");
  w.encoding = text::canonicalCodecName(xml::hasAttr(g, "encoding") ? xml::attr(g, "encoding") : "windows-31j");
  w.codec = text::findCodec(w.encoding);
  if (!w.codec) {
    std::string names;
    for (const auto& n : text::codecNames()) names += (names.empty() ? "" : ", ") + n;
    diags.add(f, xml::lineOf(g), "write-back: encoding '" + w.encoding + "' is not one of " + names);
  }
  w.reflectEvent = xml::attr(g, "reflect-event");
  w.reflectDays = numberAttr(g, "reflect-days", w.reflectDays, 0, 3650, f, diags, "write-back: ");
  if (xml::hasAttr(g, "conversion-table")) {
    fs::path t = xml::attr(g, "conversion-table");
    if (t.is_relative()) t = file.parent_path() / t;
    w.conversionTablePath = t;
    auto it = tables.find(t.string());
    if (it == tables.end()) it = tables.emplace(t.string(), ConversionTable::load(t, diags)).first;
    w.conversionTable = it->second;
  }
}

/// What holds across a procedure's elements: required-when names a field
/// of the same list; the register match and reflection need 氏名 and 生年月日.
void checkProcedure(const Procedure& p, const std::set<std::string>& matched, const std::string& f, Diagnostics& diags) {
  for (const auto* list : {&p.fields, &p.memberFields})
    for (const FieldRule& r : *list)
      if (!r.requiredWhenField.empty() &&
          std::none_of(list->begin(), list->end(), [&](const FieldRule& o) { return o.name == r.requiredWhenField; }))
        diags.add(f, r.line,
                  "field '" + r.name + "': required-when names '" + r.requiredWhenField + "', which is not a field " +
                      (list == &p.fields ? "of the procedure" : "of its members"));
  const bool hasName = matched.count("name") > 0, hasBirth = matched.count("birth") > 0;
  if (p.registerRequired && !(hasName && hasBirth))
    diags.add(f, p.line,
              "procedure '" + p.id +
                  "': register=\"required\" needs fields with match=\"name\" and match=\"birth\" (how the applicant "
                  "is found in the resident register); say register=\"none\" for a procedure without one");
  if (!p.writeBack.reflectEvent.empty() && !(hasName && hasBirth))
    diags.add(f, p.line,
              "procedure '" + p.id +
                  "': reflect-event needs fields with match=\"name\" and match=\"birth\" (how the 異動 is found "
                  "in the next resident export)");
}

/// One <procedure> and what it holds.
Procedure readProcedure(xmlNodePtr c, const fs::path& file, Tables& tables, Diagnostics& diags) {
  const std::string f = file.string();
  Procedure p;
  p.line = xml::lineOf(c);
  p.id = xml::attr(c, "id");
  p.name = xml::attr(c, "name");
  p.form = xml::hasAttr(c, "form") ? xml::attr(c, "form") : p.id;
  p.department = xml::attr(c, "department");
  p.periodDays = numberAttr(c, "period-days", 0, 0, 3650, f, diags, "procedure '" + p.id + "': ");
  p.correctionDays = numberAttr(c, "correction-days", p.correctionDays, 1, 3650, f, diags, "procedure '" + p.id + "': ");
  p.registerRequired = !xml::hasAttr(c, "register") || xml::attr(c, "register") == "required";
  std::map<std::string, int> fieldLines;
  std::set<std::string> matched;
  for (xmlNodePtr g = c->children; g; g = g->next) {
    if (g->type != XML_ELEMENT_NODE) continue;
    const std::string what = xml::name(g);
    if (what == "field") {
      p.fields.push_back(readField(g, f, diags, fieldLines, matched));
    } else if (what == "members") {
      readMembers(g, p, f, diags);
    } else if (what == "attachment") {
      AttachmentRule a;
      a.name = xml::attr(g, "name");
      a.label = xml::hasAttr(g, "label") ? xml::attr(g, "label") : a.name;
      a.required = boolAttr(g, "required", true);
      p.attachments.push_back(std::move(a));
    } else if (what == "write-back") {
      readWriteBack(g, p.writeBack, file, tables, diags);
    }
  }
  checkProcedure(p, matched, f, diags);
  return p;
}

}  // namespace

std::shared_ptr<const Procedures> loadProcedures(const fs::path& file, Diagnostics& diags) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kProceduresSchema, "urn:renkei:procedures:1", "procedures", "procedures", diags);
  if (!doc) return nullptr;
  if (diags.size() != before) return nullptr;
  const std::string f = file.string();
  auto out = std::make_shared<Procedures>();
  out->file = file;
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  out->municipality = xml::attr(root, "municipality");
  std::map<std::string, int> ids;
  Tables tables;
  for (xmlNodePtr c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    Procedure p = readProcedure(c, file, tables, diags);
    if (auto [it, inserted] = ids.emplace(p.id, p.line); !inserted)
      diags.add(f, p.line, "procedure '" + p.id + "' is declared twice (first at line " + std::to_string(it->second) + ")");
    out->list.push_back(std::move(p));
  }
  if (diags.size() != before) return nullptr;
  return out;
}

}  // namespace renkei::plugins::review
