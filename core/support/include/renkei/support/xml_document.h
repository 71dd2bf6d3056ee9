// Loading XML documents that people edit (configs, layouts, mappings): libxml2
// with no network, no DTDs and no entities, validated against an embedded
// schema, every problem reported with file:line.
#pragma once

#include <libxml/tree.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <string>

#include "renkei/support/diagnostics.h"

namespace renkei::xml {

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

/// Where an XML text has a shape whose parsing cost grows faster than its
/// size: an element with more than `maxAttributes` attributes (libxml2's
/// check for duplicates is quadratic: 200,000 attributes took minutes).
struct XmlShapeProblem {
  std::size_t offset = 0;
  std::size_t line = 0;
  std::string reason;
};
constexpr std::size_t kMaxXmlAttributes = 256;
/// One linear pass over `text` before libxml2 sees it; nullopt when fine.
std::optional<XmlShapeProblem> checkXmlShape(std::string_view text, std::size_t maxAttributes = kMaxXmlAttributes);

/// Parses `file` and validates it against `schema` (XSD text). Returns the
/// document if it could be parsed at all (schema problems are in `diags`),
/// null otherwise. The root must be `rootName` in namespace `ns`.
/// `kind` names the document in messages ("config", "layout").
DocPtr load(const std::filesystem::path& file, const char* schema, const char* ns, const char* rootName,
            const char* kind, Diagnostics& diags);

std::string attr(xmlNodePtr node, const char* name);
bool hasAttr(xmlNodePtr node, const char* name);
/// Text content, trimmed.
std::string text(xmlNodePtr node);
std::string name(xmlNodePtr node);
int lineOf(xmlNodePtr node);
bool inNamespace(xmlNodePtr node, const char* ns);

}  // namespace renkei::xml
