#include "ocr_template.h"

#include <fstream>
#include <set>
#include <sstream>

#include "renkei/support/xml_document.h"

namespace fs = std::filesystem;

namespace renkei::connectors::ocr {

extern const char* const kTemplateSchema;  // ocr_schema.cpp, generated

namespace {

double mm(xmlNodePtr n, const char* name) { return std::stod(xml::attr(n, name)); }

}  // namespace

std::optional<Template> loadTemplate(const fs::path& file, Diagnostics& diags) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kTemplateSchema, "urn:renkei:ocr-template:1", "template", "OCR template", diags);
  if (!doc || diags.size() != before) return std::nullopt;
  const std::string f = file.string();
  Template t;
  t.file = file;
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  t.id = xml::attr(root, "id");
  t.name = xml::attr(root, "name");
  t.record = xml::attr(root, "record");
  if (xml::hasAttr(root, "residents")) t.residents = xml::attr(root, "residents");
  std::set<std::string> fields;
  for (xmlNodePtr c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const std::string element = xml::name(c);
    const int line = xml::lineOf(c);
    if (element == "page") {
      t.pageWidth = mm(c, "width-mm");
      t.pageHeight = mm(c, "height-mm");
      if (t.pageWidth < 50 || t.pageHeight < 50) diags.add(f, line, "page: a page is at least 50 mm each way");
    } else if (element == "marks") {
      t.markSize = mm(c, "size-mm");
      if (t.markSize < 2) diags.add(f, line, "marks: size-mm under 2 mm cannot be found again on a scan");
      for (xmlNodePtr m = c->children; m; m = m->next) {
        if (m->type != XML_ELEMENT_NODE) continue;
        t.marks.emplace_back(mm(m, "x-mm"), mm(m, "y-mm"));
        if (t.marks.back().first + t.markSize > t.pageWidth || t.marks.back().second + t.markSize > t.pageHeight)
          diags.add(f, xml::lineOf(m), "mark: outside the page (" + std::to_string(t.pageWidth) + " × " +
                                           std::to_string(t.pageHeight) + " mm)");
      }
    } else if (element == "edges") {
      t.byEdges = true;
    } else if (element == "texts") {
      t.byTexts = true;
    } else if (element == "anchor") {
      Anchor a;
      a.text = xml::attr(c, "text");
      const int boxAttrs = xml::hasAttr(c, "x-mm") + xml::hasAttr(c, "y-mm") + xml::hasAttr(c, "width-mm") +
                           xml::hasAttr(c, "height-mm");
      if (boxAttrs == 4) {
        a.x = mm(c, "x-mm");
        a.y = mm(c, "y-mm");
        a.width = mm(c, "width-mm");
        a.height = mm(c, "height-mm");
        if (t.pageWidth > 0 && (a.x + a.width > t.pageWidth || a.y + a.height > t.pageHeight))
          diags.add(f, line, "anchor '" + a.text + "': its box is outside the page");
      } else if (boxAttrs != 0) {
        diags.add(f, line, "anchor '" + a.text + "': give its box whole (x-mm, y-mm, width-mm, height-mm) or not at all");
      }
      t.anchors.push_back(std::move(a));
    } else if (element == "zone") {
      Zone z;
      z.line = line;
      z.field = xml::attr(c, "field");
      z.x = mm(c, "x-mm");
      z.y = mm(c, "y-mm");
      z.width = mm(c, "width-mm");
      z.height = mm(c, "height-mm");
      if (xml::hasAttr(c, "lang")) z.lang = xml::attr(c, "lang");
      if (xml::hasAttr(c, "psm")) z.psm = std::stoi(xml::attr(c, "psm"));
      if (xml::hasAttr(c, "type")) z.type = xml::attr(c, "type");
      z.pii = xml::attr(c, "pii");
      if (xml::hasAttr(c, "check")) z.check = xml::attr(c, "check");
      z.reviewAlways = xml::hasAttr(c, "review") && xml::attr(c, "review") == "always";
      // Names and 本籍 are always shown: the model cannot write some name kanji at all.
      if (z.type == "name") z.reviewAlways = true;
      if (xml::hasAttr(c, "residents")) {
        z.residents = xml::attr(c, "residents");
        if (z.residents == "either") z.residents.clear();
        // A 在留資格 zone on a 戸籍 certificate, a 本籍 zone on a 在留カード:
        // the template mixes two kinds of resident's documents.
        if (!z.residents.empty() && t.residents != "either" && z.residents != t.residents)
          diags.add(f, line, "zone '" + z.field + "': residents=\"" + z.residents + "\" on a template of residents=\"" +
                                 t.residents + "\" (a " + (t.residents == "japanese" ? "Japanese" : "foreign") +
                                 " resident's document has no such item)");
      }
      z.snapToTown = xml::hasAttr(c, "master") && xml::attr(c, "master") == "town";
      if (xml::hasAttr(c, "review-below")) z.reviewBelow = std::stoi(xml::attr(c, "review-below"));
      if (xml::hasAttr(c, "codes")) {
        std::istringstream in(xml::attr(c, "codes"));
        for (std::string pair; in >> pair;) {
          const std::size_t eq = pair.find('=');
          if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size())
            diags.add(f, line, "zone '" + z.field + "': codes: '" + pair + "' is not printed=code");
          else
            z.codes[pair.substr(0, eq)] = pair.substr(eq + 1);
        }
      }
      if (xml::hasAttr(c, "list")) {
        // The values the zone can hold, one per line (# comments), relative
        // to the template: a reading is snapped to the nearest.
        fs::path p(xml::attr(c, "list"));
        if (p.is_relative()) p = file.parent_path() / p;
        z.listFile = p.string();
        std::ifstream in(p);
        if (!in) {
          diags.add(f, line, "zone '" + z.field + "': list: cannot read '" + p.string() + "'");
        } else {
          for (std::string v; std::getline(in, v);) {
            if (!v.empty() && v.back() == '\r') v.pop_back();
            if (!v.empty() && v[0] != '#') z.list.push_back(v);
          }
          if (z.list.empty()) diags.add(f, line, "zone '" + z.field + "': list: '" + p.string() + "' holds no value");
        }
      }
      if (!fields.insert(z.field).second) diags.add(f, line, "zone '" + z.field + "': the field has a zone already");
      if (z.width < 2 || z.height < 2) diags.add(f, line, "zone '" + z.field + "': smaller than 2 × 2 mm");
      if (t.pageWidth > 0 && (z.x + z.width > t.pageWidth || z.y + z.height > t.pageHeight))
        diags.add(f, line, "zone '" + z.field + "': outside the page (" + std::to_string(z.x + z.width) + " × " +
                               std::to_string(z.y + z.height) + " mm on a page of " + std::to_string(t.pageWidth) +
                               " × " + std::to_string(t.pageHeight) + " mm)");
      if (z.lang == "jpn_vert" && z.psm != 5)
        diags.add(f, line, "zone '" + z.field + "': lang jpn_vert reads only with psm=\"5\" (vertical block)");
      if (z.type == "digits" && z.pii == "mynumber" && z.check.empty())
        diags.add(f, line, "zone '" + z.field + "': a 個人番号 zone needs check=\"mynumber\"");
      t.zones.push_back(std::move(z));
    }
  }
  if (diags.size() != before) return std::nullopt;
  return t;
}

}  // namespace renkei::connectors::ocr
