// Layout files: loading and checking.
#include "renkei/support/layout.h"

#include <algorithm>
#include <map>

#include "schemas.h"
#include "renkei/support/xml_document.h"

namespace fs = std::filesystem;

namespace renkei::formats {
namespace {

constexpr const char* kNamespace = "urn:renkei:layout:1";

using xml::attr;
using xml::hasAttr;
using xml::lineOf;
using xml::name;

std::size_t number(xmlNodePtr node, const char* attribute, std::size_t fallback) {
  if (!hasAttr(node, attribute)) return fallback;
  try {
    return static_cast<std::size_t>(std::stoull(attr(node, attribute)));
  } catch (...) {
    return fallback;  // the schema reports it
  }
}

Newline parseNewline(const std::string& s) {
  if (s == "crlf") return Newline::Crlf;
  if (s == "lf") return Newline::Lf;
  if (s == "none") return Newline::None;
  return Newline::Any;
}

LayoutField readField(xmlNodePtr node) {
  LayoutField f;
  f.name = attr(node, "name");
  f.pii = parsePii(attr(node, "pii")).value_or(Pii::Personal);
  f.offset = number(node, "offset", 0);
  f.bytes = number(node, "bytes", 0);
  f.pad = attr(node, "pad") == "fullwidth-space" ? Pad::FullwidthSpace : Pad::Space;
  f.path = hasAttr(node, "path") ? attr(node, "path") : f.name;
  f.line = lineOf(node);
  return f;
}

std::vector<LayoutField> readFields(xmlNodePtr parent) {
  std::vector<LayoutField> out;
  for (xmlNodePtr c = parent->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && name(c) == "field") out.push_back(readField(c));
  return out;
}

}  // namespace

const char* piiName(Pii p) {
  switch (p) {
    case Pii::None: return "none";
    case Pii::Personal: return "personal";
    case Pii::Identifier: return "identifier";
    case Pii::Special: return "special";
    case Pii::MyNumber: return "mynumber";
  }
  return "personal";
}

std::optional<Pii> parsePii(std::string_view s) {
  if (s == "none") return Pii::None;
  if (s == "personal") return Pii::Personal;
  if (s == "identifier") return Pii::Identifier;
  if (s == "special") return Pii::Special;
  if (s == "mynumber") return Pii::MyNumber;
  return std::nullopt;
}

int Layout::fieldIndex(std::string_view n) const {
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == n) return static_cast<int>(i);
  return -1;
}

std::shared_ptr<const Layout> loadLayout(const fs::path& file, Diagnostics& diags) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kLayoutSchema, kNamespace, "layout", "layout", diags);
  if (!doc) return nullptr;
  const std::string fileName = file.string();
  xmlNodePtr root = xmlDocGetRootElement(doc.get());

  auto layout = std::make_shared<Layout>();
  layout->file = file;
  layout->id = attr(root, "id");
  layout->record = attr(root, "record");

  xmlNodePtr format = nullptr;
  for (xmlNodePtr c = root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    const std::string element = name(c);
    if (element == "csv" || element == "fixed" || element == "xml" || element == "jsonl") {
      format = c;
    } else if (element == "field") {
      layout->fields.push_back(readField(c));
    } else if (element == "header" || element == "trailer") {
      ControlRecord control;
      control.fields = readFields(c);
      auto indexOf = [&](const char* attribute) -> int {
        if (!hasAttr(c, attribute)) return -1;
        const std::string wanted = attr(c, attribute);
        for (std::size_t i = 0; i < control.fields.size(); ++i)
          if (control.fields[i].name == wanted) return static_cast<int>(i);
        std::vector<std::string> names;
        for (const auto& f : control.fields) names.push_back(f.name);
        diags.add(fileName, lineOf(c),
                  "<" + element + "> " + attribute + "='" + wanted + "' names none of its fields" +
                      didYouMean(wanted, names) + " fields: " + joinList(names));
        return -1;
      };
      control.countField = indexOf("count-field");
      control.markerField = indexOf("marker-field");
      control.markerValue = attr(c, "marker-value");
      if (hasAttr(c, "marker-field") != hasAttr(c, "marker-value"))
        diags.add(fileName, lineOf(c), "<" + element + ">: marker-field and marker-value go together");
      if (element == "header" && hasAttr(c, "count-field"))
        diags.add(fileName, lineOf(c), "<header>: count-field belongs on <trailer>");
      if (element == "trailer" && !hasAttr(c, "count-field"))
        diags.add(fileName, lineOf(c), "<trailer>: count-field is required (the field holding the record count)");
      (element == "header" ? layout->headerRecord : layout->trailerRecord) = std::move(control);
    }
  }
  if (!format) return nullptr;  // the schema already said what is missing
  const std::string kind = name(format);
  const int formatLine = lineOf(format);
  layout->kind = kind == "csv" ? LayoutKind::Csv
               : kind == "fixed" ? LayoutKind::Fixed
               : kind == "xml" ? LayoutKind::Xml
                               : LayoutKind::Jsonl;

  const std::string given = kind == "jsonl" ? "utf-8" : (hasAttr(format, "encoding") ? attr(format, "encoding") : "windows-31j");
  // The names people use (cp932, sjis, Shift_JIS, utf8 …) are accepted.
  const std::string encoding = text::canonicalCodecName(given);
  layout->codec = text::findCodec(encoding);
  if (!layout->codec) {
    diags.add(fileName, formatLine,
              "unknown encoding '" + given + "'" + didYouMean(given, text::codecNames()) +
                  " valid: " + joinList(text::codecNames()) +
                  " (also accepted: cp932 and ms932 for windows-31j, sjis for shift_jis, utf8 for utf-8)");
    return nullptr;
  }
  layout->rejectInvalidBytes = attr(format, "invalid-bytes") != "substitute";
  layout->unmappedGaiji = attr(format, "unmapped-gaiji") == "geta" ? text::UnmappedGaiji::Geta : text::UnmappedGaiji::Keep;
  layout->maxFieldBytes = number(format, "max-field-bytes", 65536);
  layout->maxRecordBytes = number(format, "max-record-bytes", 1 << 20);
  if (hasAttr(format, "gaiji")) {
    fs::path g(attr(format, "gaiji"));
    if (g.is_relative()) g = (file.parent_path() / g).lexically_normal();
    if (auto why = unreadableFile(g))
      diags.add(fileName, lineOf(format), "gaiji table '" + g.string() + "' " + *why);
    else
      layout->gaiji = text::GaijiTable::load(g, *layout->codec, diags);
  }

  // Field names are what mappings refer to: each must be unique.
  auto checkNames = [&](const std::vector<LayoutField>& fields, const std::string& where) {
    std::map<std::string, int> seen;
    for (const auto& f : fields) {
      if (f.name.empty()) diags.add(fileName, f.line, where + "field with an empty name");
      auto [it, inserted] = seen.emplace(f.name, f.line);
      if (!inserted)
        diags.add(fileName, f.line,
                  where + "field '" + f.name + "' declared twice (first at line " + std::to_string(it->second) + ")");
    }
  };
  checkNames(layout->fields, "");
  if (layout->headerRecord) checkNames(layout->headerRecord->fields, "<header>: ");
  if (layout->trailerRecord) checkNames(layout->trailerRecord->fields, "<trailer>: ");

  auto forAllFields = [&](auto&& fn) {
    for (const auto& f : layout->fields) fn(f, std::string());
    if (layout->headerRecord)
      for (const auto& f : layout->headerRecord->fields) fn(f, std::string("<header>: "));
    if (layout->trailerRecord)
      for (const auto& f : layout->trailerRecord->fields) fn(f, std::string("<trailer>: "));
  };

  if (layout->kind == LayoutKind::Csv) {
    layout->header = attr(format, "header") == "false" ? HeaderRow::Absent
                   : attr(format, "header") == "skip"  ? HeaderRow::Skip
                                                       : HeaderRow::Check;
    layout->newline = parseNewline(attr(format, "newline"));
    if (layout->newline == Newline::None) diags.add(fileName, formatLine, "<csv>: newline='none' is only for fixed-width files");
    if (hasAttr(format, "delimiter")) layout->delimiter = attr(format, "delimiter")[0];
    if (hasAttr(format, "quote")) layout->quote = attr(format, "quote")[0];
    for (char c : {layout->delimiter, layout->quote}) {
      const auto b = static_cast<unsigned char>(c);
      if (c == '\r' || c == '\n')
        diags.add(fileName, formatLine, "<csv>: delimiter and quote cannot be a line end");
      else if (!layout->codec->byteStandsAlone(b))
        diags.add(fileName, formatLine,
                  std::string("<csv>: '") + c + "' can occur inside " + encoding +
                      " characters, so it cannot be a delimiter or quote; use ',', TAB or another byte below 0x40");
    }
    if (layout->delimiter == layout->quote) diags.add(fileName, formatLine, "<csv>: delimiter and quote are the same");
  } else if (layout->kind == LayoutKind::Fixed) {
    layout->recordBytes = number(format, "record-bytes", 0);
    layout->newline = hasAttr(format, "newline") ? parseNewline(attr(format, "newline")) : Newline::Crlf;
    if (layout->newline == Newline::Any)
      diags.add(fileName, formatLine, "<fixed>: newline must be crlf, lf or none (record boundaries come from the byte count)");
    // Bytes no field covers are read by nobody: usually a field declared a
    // byte short (131016 read as 13101), sometimes filler left out on purpose.
    auto warnUncovered = [&](const std::vector<std::pair<std::size_t, const LayoutField*>>& spans,
                             const std::string& where) {
      std::vector<std::string> gaps;
      std::size_t cursor = 0, uncovered = 0;
      auto gap = [&](std::size_t from, std::size_t to) {  // [from, to)
        uncovered += to - from;
        gaps.push_back(to - from == 1 ? "byte " + std::to_string(from)
                                      : "bytes " + std::to_string(from) + "–" + std::to_string(to - 1));
      };
      for (const auto& [offset, f] : spans) {
        if (offset > cursor) gap(cursor, offset);
        cursor = std::max(cursor, offset + f->bytes);
      }
      // Header and trailer records are usually a few fields padded to the
      // record length: only their inner gaps are suspicious.
      const bool tail = where.empty() && cursor < layout->recordBytes;
      if (tail) gap(cursor, layout->recordBytes);
      if (gaps.empty()) return;
      constexpr std::size_t kShown = 8;
      std::string list;
      for (std::size_t i = 0; i < gaps.size() && i < kShown; ++i) list += (i ? ", " : "") + gaps[i];
      if (gaps.size() > kShown) list += " and " + std::to_string(gaps.size() - kShown) + " more ranges";
      diags.warn(fileName, formatLine,
                 "<fixed>: " + where + std::to_string(uncovered) + " of " + std::to_string(layout->recordBytes) +
                     " record bytes belong to no field (" + list + ", counted from 0)" +
                     (tail ? "; the fields end at byte " + std::to_string(cursor) +
                                                         " but record-bytes is " +
                                                         std::to_string(layout->recordBytes)
                                                   : std::string()) +
                     "; check the neighbouring fields' offset and bytes, or declare filler as a field with "
                     "pii=\"none\"");
    };
    auto checkFixed = [&](const std::vector<LayoutField>& fields, const std::string& where) {
      std::vector<std::pair<std::size_t, const LayoutField*>> spans;
      for (const auto& f : fields) {
        if (f.bytes == 0) {
          diags.add(fileName, f.line, where + "field '" + f.name + "': a fixed-width field needs offset and bytes");
          continue;
        }
        if (f.offset + f.bytes > layout->recordBytes)
          diags.add(fileName, f.line,
                    where + "field '" + f.name + "' (offset " + std::to_string(f.offset) + ", " +
                        std::to_string(f.bytes) + " bytes) ends at byte " + std::to_string(f.offset + f.bytes) +
                        ", past record-bytes (" + std::to_string(layout->recordBytes) + ")");
        spans.emplace_back(f.offset, &f);
      }
      std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      warnUncovered(spans, where);
      for (std::size_t i = 1; i < spans.size(); ++i) {
        const LayoutField& prev = *spans[i - 1].second;
        const LayoutField& cur = *spans[i].second;
        if (prev.offset + prev.bytes > cur.offset)
          diags.add(fileName, cur.line,
                    where + "field '" + cur.name + "' (offset " + std::to_string(cur.offset) + ") overlaps field '" +
                        prev.name + "' (bytes " + std::to_string(prev.offset) + "–" +
                        std::to_string(prev.offset + prev.bytes - 1) + ")");
      }
    };
    checkFixed(layout->fields, "");
    if (layout->headerRecord) checkFixed(layout->headerRecord->fields, "<header>: ");
    if (layout->trailerRecord) checkFixed(layout->trailerRecord->fields, "<trailer>: ");
  } else if (layout->kind == LayoutKind::Xml) {
    layout->recordElement = attr(format, "record-element");
    layout->maxDepth = number(format, "max-depth", 32);
    if (layout->headerRecord || layout->trailerRecord)
      diags.add(fileName, formatLine, "<xml>: header and trailer records are for CSV and fixed-width files");
  } else {
    if (layout->headerRecord || layout->trailerRecord)
      diags.add(fileName, formatLine, "<jsonl>: header and trailer records are for CSV and fixed-width files");
  }
  if (layout->kind != LayoutKind::Fixed) {
    forAllFields([&](const LayoutField& f, const std::string& where) {
      if (f.bytes || f.offset)
        diags.add(fileName, f.line, where + "field '" + f.name + "': offset and bytes are for fixed-width layouts");
    });
  }
  return diags.size() == before ? layout : nullptr;
}

}  // namespace renkei::formats
