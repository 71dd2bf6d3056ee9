// Mapping files: compiling and evaluating.
#include "mapping/mapping.h"

#include <algorithm>
#include <map>

#include "renkei/json.h"
#include "schemas.h"
#include "renkei/support/xml_document.h"

namespace fs = std::filesystem;

namespace renkei::mapping {
namespace {

constexpr const char* kNamespace = "urn:renkei:mapping:1";

using formats::Pii;
using xml::attr;
using xml::hasAttr;
using xml::lineOf;
using xml::name;

const char* zoneName(std::string_view zone) {
  if (zone == "internet") return "the internet zone (インターネット接続系)";
  if (zone == "lgwan") return "the LGWAN zone (LGWAN接続系)";
  return "the My Number zone (個人番号利用事務系)";
}

// A code-table file: "from<TAB>to" per line; "*<TAB>value" sets the default
// for codes the table does not list; '#' starts a comment.
std::unique_ptr<CodeTable> loadCodeFile(const fs::path& file, Diagnostics& diags) {
  auto table = std::make_unique<CodeTable>();
  table->id = file.filename().string();
  std::map<std::string, int> seen;
  const bool found = forEachTableLine(file.string(), [&](int n, const std::string& line) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      diags.add(file.string(), n, "expected 'from<TAB>to'");
      return;
    }
    std::string from = line.substr(0, tab), to = line.substr(tab + 1);
    if (from == "*") {
      table->defaultValue = to;
      return;
    }
    auto [it, inserted] = seen.emplace(from, n);
    if (!inserted) {
      diags.add(file.string(), n, "code '" + from + "' listed twice (first at line " + std::to_string(it->second) + ")");
      return;
    }
    table->add(std::move(from), std::move(to));
  });
  if (!found) {
    diags.add(file.string(), 0, "code table not found");
    return nullptr;
  }
  table->seal();
  return table;
}

std::vector<std::string> sourceNames(const formats::Layout& layout) {
  std::vector<std::string> out;
  for (const auto& f : layout.fields) out.push_back(f.name);
  return out;
}

}  // namespace

bool zoneAllows(std::string_view zone, Pii pii) {
  if (zone == "mynumber") return true;
  if (zone == "lgwan") return pii != Pii::MyNumber;
  return pii == Pii::None;  // internet
}

void CodeTable::seal() { std::sort(entries_.begin(), entries_.end()); }

const std::string* CodeTable::find(std::string_view from) const {
  if (entries_.size() <= 16) {  // most code tables: a scan beats a binary search
    // Codes are a few bytes: compared inline, not through a memcmp call each.
    const std::size_t n = from.size();
    for (const auto& e : entries_) {
      if (e.first.size() != n) continue;
      std::size_t i = 0;
      while (i < n && e.first[i] == from[i]) ++i;
      if (i == n) return &e.second;
    }
    return nullptr;
  }
  auto it = std::lower_bound(entries_.begin(), entries_.end(), from,
                             [](const auto& e, std::string_view k) { return std::string_view(e.first) < k; });
  return it != entries_.end() && it->first == from ? &it->second : nullptr;
}

std::vector<std::uint8_t> Mapping::sourceFieldsRead() const {
  std::vector<std::uint8_t> mask(layout->fields.size(), 0);
  for (std::size_t i = 0; i < mask.size(); ++i)
    if (layout->fields[i].pii == Pii::None) mask[i] = 1;
  for (const auto& s : skips)
    if (s.field >= 0) mask[static_cast<std::size_t>(s.field)] = 1;
  for (const auto& c : checks)
    if (c.field >= 0) mask[static_cast<std::size_t>(c.field)] = 1;
  for (const auto& f : fields) {
    if (f.from >= 0) mask[static_cast<std::size_t>(f.from)] = 1;
    for (int r : f.reads) mask[static_cast<std::size_t>(r)] = 1;
  }
  return mask;
}

std::vector<std::string> Mapping::targetNames() const {
  std::vector<std::string> out;
  for (const auto& f : fields) out.push_back(f.to);
  return out;
}

namespace {

/// Compiles one mapping file: the header (source layout, target, inline
/// code tables) first, then skips, checks and fields, each reported with
/// its line.
class MappingCompiler {
 public:
  MappingCompiler(const fs::path& file, const KeyRing& keys, Diagnostics& diags, const fs::path* layout)
      : fileName(file.string()), dir(file.parent_path()), keys(keys), diags(diags), layoutOverride(layout) {}

  std::shared_ptr<Mapping> compile(xmlNodePtr root, const fs::path& file) {
    mapping = std::make_shared<Mapping>();
    mapping->file = file;
    mapping->id = attr(root, "id");
    mapping->version = attr(root, "version");
    // Source, target and inline code tables first: fields refer to them.
    for (xmlNodePtr c = root->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      const std::string element = name(c);
      if (element == "source") source(c);
      else if (element == "target") {
        mapping->targetRecord = attr(c, "record");
        mapping->zone = attr(c, "zone");
      } else if (element == "codes") codes(c);
    }
    if (!mapping->layout) return nullptr;
    names = sourceNames(*mapping->layout);
    env = CompileEnv{mapping->layout.get(), &keys};
    for (xmlNodePtr c = root->children; c; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      const std::string element = name(c);
      if (element == "skip") skip(c, lineOf(c));
      else if (element == "check") check(c, lineOf(c));
      else if (element == "field") field(c, lineOf(c));
    }
    for (CompiledField& f : mapping->fields) {
      f.zoneAllowed = zoneAllows(mapping->zone, f.pii);
      f.plain = f.from >= 0 && f.steps.empty() && !f.codes && !f.pattern && !f.defaultValue && !f.scanContent &&
                f.zoneAllowed;
    }
    return mapping;
  }

 private:
  void source(xmlNodePtr c) {
    fs::path layoutPath(attr(c, "layout"));
    if (layoutPath.is_relative()) layoutPath = (dir / layoutPath).lexically_normal();
    if (layoutOverride) layoutPath = *layoutOverride;  // the route's layout="…", checked where it is named
    if (auto why = unreadableFile(layoutPath)) {
      diags.add(fileName, lineOf(c), "source layout '" + layoutPath.string() + "' " + *why);
      return;
    }
    Diagnostics layoutDiags;
    mapping->layout = formats::loadLayout(layoutPath, layoutDiags);
    diags.append(layoutDiags);
    if (!mapping->layout && layoutDiags.empty())
      diags.add(fileName, lineOf(c), "source layout '" + layoutPath.string() + "' cannot be used");
  }

  void codes(xmlNodePtr c) {
    auto table = std::make_unique<CodeTable>();
    table->id = attr(c, "id");
    if (hasAttr(c, "default")) table->defaultValue = attr(c, "default");
    std::map<std::string, int> seen;
    for (xmlNodePtr code = c->children; code; code = code->next) {
      if (code->type != XML_ELEMENT_NODE || name(code) != "code") continue;
      auto [it, inserted] = seen.emplace(attr(code, "from"), lineOf(code));
      if (!inserted) {
        diags.add(fileName, lineOf(code),
                  "codes '" + table->id + "': code '" + it->first + "' listed twice (first at line " +
                      std::to_string(it->second) + ")");
        continue;
      }
      table->add(attr(code, "from"), attr(code, "to"));
    }
    table->seal();
    if (inlineTables.count(table->id))
      diags.add(fileName, lineOf(c), "codes '" + table->id + "' is defined twice");
    inlineTables[table->id] = table.get();
    mapping->codeTables.push_back(std::move(table));
  }

  int sourceField(const std::string& wanted, int line, const std::string& what) {
    const int index = mapping->layout->fieldIndex(wanted);
    if (index < 0)
      diags.add(fileName, line,
                what + ": '" + wanted + "' is not a field of layout '" + mapping->layout->id + "'" +
                    didYouMean(wanted, names) + " fields: " + joinList(names));
    return index;
  }

  void skip(xmlNodePtr c, int line) {
    CompiledSkip skip;
    skip.field = sourceField(attr(c, "when"), line, "<skip when>");
    skip.equals = attr(c, "equals");
    mapping->skips.push_back(skip);
  }

  void check(xmlNodePtr c, int line) {
    CompiledCheck check;
    check.fieldName = attr(c, "field");
    check.field = sourceField(check.fieldName, line, "<check field>");
    check.rule = attr(c, "rule");
    const std::string onFail = attr(c, "on-fail");
    check.onFail = onFail == "warn" ? OnFail::Warn : onFail == "null" ? OnFail::Null : OnFail::Reject;
    std::string error;
    check.check = compileCheck(check.rule, error);
    if (!check.check) {
      diags.add(fileName, line, "<check rule>: " + error);
      return;
    }
    if (check.check->warnOnly() && check.onFail != OnFail::Warn)
      diags.add(fileName, line,
                "check '" + check.rule + "' can only warn (on-fail=\"warn\"): its official formula is not confirmed");
    check.evaluateEmpty = check.rule == "required";
    mapping->checks.push_back(std::move(check));
  }

  void field(xmlNodePtr c, int line) {
    const formats::Layout& layout = *mapping->layout;
    CompiledField f;
    f.to = attr(c, "to");
    f.line = line;
    auto [it, inserted] = targets.emplace(f.to, line);
    if (!inserted)
      diags.add(fileName, line,
                "target field '" + f.to + "' is mapped twice (first at line " + std::to_string(it->second) + ")");
    const bool hasFrom = hasAttr(c, "from"), hasValue = hasAttr(c, "value");
    if (hasFrom == hasValue) {
      diags.add(fileName, line, "field '" + f.to + "': give exactly one of from=\"source field\" or value=\"literal\"");
      return;
    }
    Pii pii = Pii::None;
    std::string origin = "a literal";
    if (hasFrom) {
      const std::string from = attr(c, "from");
      f.from = sourceField(from, line, "field '" + f.to + "' from");
      if (f.from < 0) return;
      pii = layout.fields[static_cast<std::size_t>(f.from)].pii;
      origin = "from " + from;
    } else {
      f.literal = attr(c, "value");
    }
    const bool brokenPipeline = !steps(c, f, pii);
    fieldCodes(c, f);
    f.required = attr(c, "required") == "true" || attr(c, "required") == "1";
    if (hasAttr(c, "default")) f.defaultValue = attr(c, "default");
    if (hasAttr(c, "pii")) {
      const Pii declared = formats::parsePii(attr(c, "pii")).value_or(Pii::Personal);
      if (declared < pii)
        diags.add(fileName, line,
                  "field '" + f.to + "': pii=\"" + attr(c, "pii") + "\" would lower its class from " +
                      formats::piiName(pii) + "; only mask(N) with N <= " + std::to_string(kMaskMaxKept) + " and pseudonym(KEY) lower a class");
      else
        pii = declared;
    }
    f.pii = pii;
    // A pipeline that did not compile cannot say what class it yields.
    if (!brokenPipeline && !mapping->zone.empty() && !zoneAllows(mapping->zone, pii))
      diags.add(fileName, line,
                "field '" + f.to + "' (" + formats::piiName(pii) + ", " + origin + ") cannot go to " +
                    zoneName(mapping->zone) + "; drop it, or lower it with mask(N) (N <= " + std::to_string(kMaskMaxKept) +
                    ", which keeps at most N characters) or pseudonym(KEY)");
    // Every field bound for the internet zone is scanned for identifier-
    // shaped numbers, whatever its class says (a class can be wrong); only
    // a keyed hash as the last step (pseudonym) is skipped: it carries no
    // character of its input and its hex digits would give false alarms.
    f.scanContent = mapping->zone == "internet" && (f.steps.empty() || !f.steps.back()->hidesInput());
    if (hasAttr(c, "pattern")) fieldPattern(c, f);
    mapping->fields.push_back(std::move(f));
  }

  /// pattern="…": compiled, and proved (or not) unable to hold an
  /// identifier, which is what lets a field bound for the internet zone
  /// skip the content scan; a pattern that can hold one keeps the scan.
  void fieldPattern(xmlNodePtr c, CompiledField& f) {
    std::string error;
    f.pattern = ValuePattern::compile(attr(c, "pattern"), error);
    if (!f.pattern) {
      diags.add(fileName, f.line, "field '" + f.to + "': " + error);
      return;
    }
    if (!f.scanContent) return;
    if (auto why = f.pattern->canHoldIdentifier())
      diags.warn(fileName, f.line,
                 "field '" + f.to + "': pattern=\"" + attr(c, "pattern") + "\" does not exempt it from the identifier scan: " +
                     *why);
    else
      f.patternExempt = true;
  }

  /// The field's transform steps; the PII class flows through them. False
  /// when a step did not compile (reported).
  bool steps(xmlNodePtr c, CompiledField& f, Pii& pii) {
    const formats::Layout& layout = *mapping->layout;
    const int line = f.line;
    bool brokenPipeline = false;
    if (hasAttr(c, "transform")) {
      for (const std::string& step : splitPipeline(attr(c, "transform"))) {
        std::string error;
        auto t = compileTransform(step, env, error);
        if (!t) {
          diags.add(fileName, line, "field '" + f.to + "': " + error);
          brokenPipeline = true;
          continue;
        }
        // The class flows through the pipeline: mask and pseudonym lower it
        // to none; concat adds the classes of what it reads.
        if (t->lowersPii()) pii = Pii::None;
        for (int read : t->readsFields()) {
          pii = std::max(pii, layout.fields[static_cast<std::size_t>(read)].pii);
          f.reads.push_back(read);
        }
        f.stepNames.push_back(step);
        f.steps.push_back(std::move(t));
      }
    }
    return !brokenPipeline;
  }

  /// The field's code table: inline by id, or a file (cached per mapping).
  void fieldCodes(xmlNodePtr c, CompiledField& f) {
    const int line = f.line;
    if (hasAttr(c, "codes")) {
      const std::string codes = attr(c, "codes");
      const bool isFile =
          codes.find('/') != std::string::npos || (codes.size() > 4 && codes.substr(codes.size() - 4) == ".tsv");
      if (isFile) {
        fs::path p(codes);
        if (p.is_relative()) p = (dir / p).lexically_normal();
        auto cached = fileTables.find(p.string());
        if (cached != fileTables.end()) {
          f.codes = cached->second;
        } else if (auto why = unreadableFile(p)) {
          diags.add(fileName, line, "field '" + f.to + "': code table '" + p.string() + "' " + *why);
        } else if (auto table = loadCodeFile(p, diags)) {
          f.codes = table.get();
          fileTables[p.string()] = table.get();
          mapping->codeTables.push_back(std::move(table));
        }
      } else if (auto found = inlineTables.find(codes); found != inlineTables.end()) {
        f.codes = found->second;
      } else {
        std::vector<std::string> ids;
        for (const auto& [id, _] : inlineTables) ids.push_back(id);
        diags.add(fileName, line,
                  "field '" + f.to + "': no code table '" + codes + "'" + didYouMean(codes, ids) +
                      (ids.empty() ? std::string(" (define <codes id=\"" + codes + "\"> or name a file codes/x.tsv)")
                                   : " tables: " + joinList(ids)));
      }
    }
  }

  const std::string fileName;
  const fs::path dir;
  const KeyRing& keys;
  Diagnostics& diags;
  std::shared_ptr<Mapping> mapping;
  std::vector<std::string> names;  ///< the layout's field names, for did-you-mean
  CompileEnv env{nullptr, nullptr};
  std::map<std::string, const CodeTable*> inlineTables;
  std::map<std::string, const CodeTable*> fileTables;
  std::map<std::string, int> targets;  ///< target field → line
  const fs::path* layoutOverride = nullptr;
};

}  // namespace

std::shared_ptr<const Mapping> loadMapping(const fs::path& file, const KeyRing& keys, Diagnostics& diags,
                                           const fs::path* layout) {
  const std::size_t before = diags.size();
  xml::DocPtr doc = xml::load(file, kMappingSchema, kNamespace, "mapping", "mapping", diags);
  if (!doc) return nullptr;
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  auto mapping = MappingCompiler(file, keys, diags, layout).compile(root, file);
  if (!mapping) return nullptr;
  if (mapping->fields.empty() && diags.size() == before)
    diags.add(file.string(), lineOf(root), "the mapping has no <field>: it would deliver empty records");
  return diags.size() == before ? mapping : nullptr;
}

void appendRejectLine(std::string& out, const formats::Layout& layout, const formats::RawRecord& record,
                      const std::vector<std::string>& reasons) {
  out += "{\"record\":" + std::to_string(record.number) + ",\"offset\":" + std::to_string(record.offset) +
         ",\"reasons\":[";
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (i) out.push_back(',');
    appendJsonString(out, reasons[i]);
  }
  out += "]";
  if (record.size() == layout.fields.size()) {
    bool first = true;
    for (std::size_t i = 0; i < layout.fields.size(); ++i) {
      if (layout.fields[i].pii != Pii::None) continue;
      out += first ? ",\"fields\":{" : ",";
      first = false;
      appendJsonString(out, layout.fields[i].name);
      out.push_back(':');
      appendJsonString(out, record.value(i));
    }
    if (!first) out += "}";
  }
  out += "}\n";
}

const char* warningKindName(WarningKind kind) {
  switch (kind) {
    case WarningKind::Gaiji: return "unmapped-gaiji";
    case WarningKind::Substituted: return "substituted";
    case WarningKind::Transform: return "transform";
    case WarningKind::Check: return "check";
  }
  return "check";
}

void appendReaderWarnings(const formats::Layout& layout, const formats::RawRecord& record,
                          std::vector<RecordWarning>& out) {
  for (std::uint32_t i : record.gaijiFields)
    if (i < layout.fields.size()) out.push_back({WarningKind::Gaiji, layout.fields[i].name, {}});
  for (std::uint32_t i : record.substitutedFields)
    if (i < layout.fields.size()) out.push_back({WarningKind::Substituted, layout.fields[i].name, {}});
}

void appendWarningLine(std::string& out, const formats::RawRecord& record, const std::vector<RecordWarning>& warnings) {
  out += "{\"record\":" + std::to_string(record.number) + ",\"offset\":" + std::to_string(record.offset) +
         ",\"warnings\":[";
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    if (i) out.push_back(',');
    out += "{\"kind\":\"";
    out += warningKindName(warnings[i].kind);
    out += "\",\"field\":";
    appendJsonString(out, warnings[i].field);
    if (!warnings[i].rule.empty()) {
      out += ",\"rule\":";
      appendJsonString(out, warnings[i].rule);
    }
    out.push_back('}');
  }
  out += "]}\n";
}

std::string describeWarnings(std::uint64_t total, const std::uint64_t* byKind) {
  std::string out = std::to_string(total) + (total == 1 ? " warning" : " warnings");
  if (total == 0) return out;
  static const char* const kOne[kWarningKinds] = {"unmapped 外字", "invalid bytes substituted",
                                                  "failed optional transform", "warn check"};
  static const char* const kMany[kWarningKinds] = {"unmapped 外字", "invalid bytes substituted",
                                                   "failed optional transforms", "warn checks"};
  std::string parts;
  for (std::size_t k = 0; k < kWarningKinds; ++k)
    if (byKind[k])
      parts += (parts.empty() ? "" : ", ") + std::to_string(byKind[k]) + " " + (byKind[k] == 1 ? kOne[k] : kMany[k]);
  return out + " (" + parts + ")";
}

std::string MapRun::describeWarnings() const { return mapping::describeWarnings(warnings, warningsOf); }

Mapper::Mapper(const Mapping& mapping) : mapping_(mapping) {}

Verdict MapRun::step(const formats::RawRecord& raw) {
  ++read;
  unmappedGaiji += raw.gaijiUnmapped;
  mapper_.map(raw, mapped_);
  if (!mapped_.warnings.empty() && mapped_.verdict == Verdict::Accepted) {
    warnings += mapped_.warnings.size();
    for (const RecordWarning& w : mapped_.warnings) ++warningsOf[static_cast<std::size_t>(w.kind)];
    if (recordsWithWarnings++ < kMaxWarningLines) appendWarningLine(warningLines_, raw, mapped_.warnings);
  }
  switch (mapped_.verdict) {
    case Verdict::Skipped: ++skipped; break;
    case Verdict::Rejected:
      ++rejected;
      appendRejectLine(rejects_, *mapping_.layout, raw, mapped_.reasons);
      break;
    case Verdict::Accepted: ++accepted; break;
  }
  return mapped_.verdict;
}

void Mapper::map(const formats::RawRecord& in, MappedRecord& out) {
  const Mapping& m = mapping_;
  out.reasons.clear();
  out.warnings.clear();
  out.verdict = Verdict::Accepted;
  out.values.resize(m.fields.size());
  out.buffers.resize(m.fields.size());
  if (!in.errors.empty()) {  // the reader could not make a usable record of it
    out.reasons = in.errors;
    out.verdict = Verdict::Rejected;
    return;
  }
  appendReaderWarnings(*m.layout, in, out.warnings);
  source_.resize(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) source_[i] = in.value(i);

  // 1. skip conditions: counted, nothing else happens.
  for (const CompiledSkip& s : m.skips) {
    if (source_[static_cast<std::size_t>(s.field)] == s.equals) {
      out.verdict = Verdict::Skipped;
      return;
    }
  }
  // 2. checks on source fields; a check on an empty value passes.
  for (const CompiledCheck& c : m.checks) {
    std::string_view& v = source_[static_cast<std::size_t>(c.field)];
    if (v.empty() && !c.evaluateEmpty) continue;
    if (c.check->passes(v)) continue;
    switch (c.onFail) {
      case OnFail::Reject: out.reasons.push_back(c.rule + ":" + c.fieldName); break;
      case OnFail::Warn: out.warnings.push_back({WarningKind::Check, c.fieldName, c.rule}); break;
      case OnFail::Null: v = std::string_view(); break;
    }
  }
  // 3. fields in order: value, transforms, codes; failures per the contract.
  const TransformContext context{&source_};
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    const CompiledField& f = m.fields[i];
    if (f.plain) {  // what the steps below would do with nothing to apply
      const std::string_view v = source_[static_cast<std::size_t>(f.from)];
      out.values[i] = v;
      if (f.required && v.empty()) out.reasons.push_back("required:" + f.to);
      continue;
    }
    std::string_view v = f.from >= 0 ? source_[static_cast<std::size_t>(f.from)] : std::string_view(f.literal);
    // The failed step's name (views into the compiled mapping), or empty.
    std::string_view failed;
    if (!v.empty()) {
      for (std::size_t k = 0; k < f.steps.size(); ++k) {
        // The last step writes the field's own buffer (no copy after); the
        // ones before alternate between two scratch strings.
        std::string& target = k + 1 == f.steps.size() ? out.buffers[i] : (k % 2 == 0) ? a_ : b_;
        target.clear();
        if (!f.steps[k]->apply(v, target, context)) {
          failed = f.stepNames[k];
          break;
        }
        v = target;
      }
      if (failed.empty() && f.codes && !v.empty()) {
        if (const std::string* code = f.codes->find(v)) v = *code;
        else if (f.codes->defaultValue) v = *f.codes->defaultValue;
        else failed = "codes";
      }
    }
    if (!failed.empty()) {
      if (f.required) out.reasons.push_back(std::string(failed) + ":" + f.to);
      else out.warnings.push_back({WarningKind::Transform, f.to, failed});
      v = f.defaultValue ? std::string_view(*f.defaultValue) : std::string_view();
    } else if (v.empty() && f.defaultValue) {
      v = *f.defaultValue;
    }
    bool matched = false;
    if (f.pattern && !v.empty() && failed.empty()) {
      matched = f.pattern->matches(v);
      if (!matched) {
        if (f.required) out.reasons.push_back("pattern:" + f.to);
        else out.warnings.push_back({WarningKind::Transform, f.to, "pattern"});
        v = f.defaultValue ? std::string_view(*f.defaultValue) : std::string_view();
        failed = "pattern";
      }
    }
    if (f.required && v.empty() && failed.empty()) out.reasons.push_back("required:" + f.to);
    // Values that point into scratch space are copied to the field's buffer.
    if (v.data() == a_.data() || v.data() == b_.data()) {
      out.buffers[i].assign(v);
      v = out.buffers[i];
    }
    out.values[i] = v;
    // The zone guard again at run time, and the content scan for the internet zone.
    if (!f.zoneAllowed) out.reasons.push_back("zone:" + f.to);
    if (f.scanContent && !(f.patternExempt && matched) && !v.empty() && looksLikeIdentifier(v))
      out.reasons.push_back("pii-scan:" + f.to);
  }
  if (!out.reasons.empty()) out.verdict = Verdict::Rejected;
}

}  // namespace renkei::mapping
