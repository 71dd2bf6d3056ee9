// Loading XML documents that people edit.
#include "xml_document.h"

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

DocPtr load(const std::filesystem::path& file, const char* schema, const char* ns, const char* rootName,
            const char* kind, Diagnostics& diags) {
  const std::string fileName = file.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    diags.add(fileName, 0,
              std::filesystem::exists(file, ec) ? "not a regular file" : std::string(kind) + " file not found");
    return nullptr;
  }
  ErrorSink sink{&diags, fileName, ns};
  xmlSetStructuredErrorFunc(&sink, structuredError);
  // No network, no DTD loading, no entity substitution: these files are data.
  DocPtr doc(xmlReadFile(fileName.c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_NOCDATA));
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
