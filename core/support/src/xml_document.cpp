// Loading XML documents that people edit.
#include "renkei/support/xml_document.h"

#include <cstring>

#include <cstdio>

#include <cctype>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

namespace renkei::xml {
namespace {

struct ErrorSink {
  Diagnostics* diags;
  std::string file;
  std::string ns;
};

// libxml2 reports through callbacks; this turns each into a Diagnostic with
// the file's name as the user gave it, and the line and column.
void structuredError(void* userData, xmlErrorPtr error) {
  auto* sink = static_cast<ErrorSink*>(userData);
  if (!error || error->level == XML_ERR_WARNING) return;
  std::string message = error->message ? error->message : "unknown XML error";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  // Schema messages spell elements as {urn:…}name; people know them as <name>.
  const std::string qualified = "{" + sink->ns + "}";
  for (std::size_t at; (at = message.find(qualified)) != std::string::npos;) message.erase(at, qualified.size());
  int line = error->line;
  int column = error->int2;
  if (error->domain == XML_FROM_SCHEMASV && error->node) {
    line = static_cast<int>(xmlGetLineNo(static_cast<xmlNodePtr>(error->node)));
    column = 0;
  }
  sink->diags->add(sink->file, line, message, column);
}

void validate(xmlDoc* doc, const char* schemaText, ErrorSink& sink) {
  const std::string text(schemaText);
  xmlSchemaParserCtxtPtr parser = xmlSchemaNewMemParserCtxt(text.data(), static_cast<int>(text.size()));
  xmlSchemaPtr schema = parser ? xmlSchemaParse(parser) : nullptr;
  if (!schema) {
    sink.diags->add(sink.file, 0, "internal error: an embedded schema does not load");
    if (parser) xmlSchemaFreeParserCtxt(parser);
    return;
  }
  xmlSchemaValidCtxtPtr valid = xmlSchemaNewValidCtxt(schema);
  xmlSchemaSetValidStructuredErrors(valid, structuredError, &sink);
  xmlSchemaValidateDoc(valid, doc);
  xmlSchemaFreeValidCtxt(valid);
  xmlSchemaFree(schema);
  xmlSchemaFreeParserCtxt(parser);
}

}  // namespace

std::optional<XmlShapeProblem> checkXmlShape(std::string_view text, std::size_t maxAttributes) {
  auto problemAt = [&](std::size_t at, std::string reason) {
    std::size_t line = 1;
    for (std::size_t i = 0; i < at && i < text.size(); ++i) line += text[i] == '\n';
    return XmlShapeProblem{at, line, std::move(reason)};
  };
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const char* lt = static_cast<const char*>(std::memchr(text.data() + i, '<', n - i));
    if (!lt) break;
    const std::size_t start = static_cast<std::size_t>(lt - text.data());
    i = start + 1;
    if (i >= n) break;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (!(std::isalpha(c) || c == '_' || c == ':' || c >= 0x80)) continue;  // </, <!, <? …
    // A start tag: attributes are counted by their '=' outside quotes.
    std::size_t attributes = 0;
    char quote = 0;
    for (; i < n; ++i) {
      const char ch = text[i];
      if (quote) {
        if (ch == quote) quote = 0;
      } else if (ch == '"' || ch == '\'') {
        quote = ch;
      } else if (ch == '=') {
        if (++attributes > maxAttributes)
          return problemAt(start, "an element with more than " + std::to_string(maxAttributes) +
                                      " attributes (refused before parsing)");
      } else if (ch == '>') {
        break;
      }
    }
  }
  return std::nullopt;
}

DocPtr load(const std::filesystem::path& file, const char* schema, const char* ns, const char* rootName,
            const char* kind, Diagnostics& diags) {
  const std::string fileName = file.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    diags.add(fileName, 0,
              std::filesystem::exists(file, ec) ? "not a regular file" : std::string(kind) + " file not found");
    return nullptr;
  }
  // Read whole (a config, layout or mapping is small; larger is refused),
  // its shape checked before libxml2 parses it.
  constexpr std::uintmax_t kMaxBytes = 16u << 20;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxBytes) {
    diags.add(fileName, 0, ec ? "cannot read: " + ec.message()
                              : "the file is " + std::to_string(size) + " bytes; a " + kind + " may be at most 16 MiB");
    return nullptr;
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  {
    std::FILE* f = std::fopen(fileName.c_str(), "rb");
    const std::size_t got = f ? std::fread(bytes.data(), 1, bytes.size(), f) : 0;
    if (f) std::fclose(f);
    if (!f || got != bytes.size()) {
      diags.add(fileName, 0, "cannot read the whole file");
      return nullptr;
    }
  }
  if (auto bad = checkXmlShape(bytes)) {
    diags.add(fileName, static_cast<int>(bad->line), bad->reason);
    return nullptr;
  }
  ErrorSink sink{&diags, fileName, ns};
  xmlSetStructuredErrorFunc(&sink, structuredError);
  // No network, no DTD loading, no entity substitution: these files are data.
  DocPtr doc(xmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), fileName.c_str(), nullptr,
                           XML_PARSE_NONET | XML_PARSE_NOCDATA));
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  if (!doc) {
    if (diags.empty()) diags.add(fileName, 0, "not a well-formed XML document");
    return nullptr;
  }
  if (doc->intSubset || doc->extSubset) {
    // libxml2 keeps no line number for a DTD node; the DOCTYPE is near the top.
    diags.add(fileName, 0, std::string("a DOCTYPE is not allowed in a renkei ") + kind + " (no DTDs, no entities)");
    return nullptr;
  }
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  if (!root || name(root) != rootName || !inNamespace(root, ns)) {
    diags.add(fileName, root ? lineOf(root) : 0,
              std::string("the root element must be <") + rootName + " xmlns=\"" + ns + "\">");
    return nullptr;
  }
  validate(doc.get(), schema, sink);
  return doc;
}

std::string attr(xmlNodePtr node, const char* attribute) {
  xmlChar* v = xmlGetProp(node, reinterpret_cast<const xmlChar*>(attribute));
  if (!v) return {};
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return out;
}

bool hasAttr(xmlNodePtr node, const char* attribute) {
  return xmlHasProp(node, reinterpret_cast<const xmlChar*>(attribute)) != nullptr;
}

std::string text(xmlNodePtr node) {
  xmlChar* v = xmlNodeGetContent(node);
  if (!v) return {};
  std::string out(reinterpret_cast<const char*>(v));
  xmlFree(v);
  const char* ws = " \t\r\n";
  out.erase(0, out.find_first_not_of(ws));
  out.erase(out.find_last_not_of(ws) + 1);
  return out;
}

std::string name(xmlNodePtr node) { return reinterpret_cast<const char*>(node->name); }

int lineOf(xmlNodePtr node) { return static_cast<int>(xmlGetLineNo(node)); }

bool inNamespace(xmlNodePtr node, const char* ns) {
  return node->ns && node->ns->href && std::string(reinterpret_cast<const char*>(node->ns->href)) == ns;
}

}  // namespace renkei::xml
