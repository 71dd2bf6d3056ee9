// XML records, streamed with libxml2's reader. The file is decoded by renkei's
// own codec (so 外字, invalid bytes and the CP932/JIS differences are handled
// exactly as for CSV) and handed to libxml2 as UTF-8. No DTD is loaded, no
// entity is expanded, and a DOCTYPE is refused outright.
#include <libxml/xmlreader.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <set>
#include <unordered_map>

#include "formats/reader_impl.h"
#include "renkei/support/xml_document.h"

namespace renkei::formats {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

class XmlReader final : public BufferReader {
 public:
  XmlReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m)
      : BufferReader(layout, data, std::move(m)) {
    pos_ = skipBom(data_, *layout_.codec);
    for (std::size_t i = 0; i < layout_.fields.size(); ++i) {
      byPath_.emplace(layout_.fields[i].path, i);
      const std::size_t slash = layout_.fields[i].path.find('/');
      if (slash != std::string::npos) groups_.insert(layout_.fields[i].path.substr(0, slash));
    }
    lineStarts_.push_back({1, pos_});
    // Shapes libxml2 parses in more than linear time are refused before it
    // reads anything (it reads the first chunk as soon as it is created).
    if (auto bad = xml::checkXmlShape(data_.substr(pos_))) {
      bad->offset += pos_;
      shapeProblem_ = std::move(bad);
      return;
    }
    reader_ = xmlReaderForIO(&XmlReader::readCallback, nullptr, this, layout_.file.string().c_str(), "UTF-8",
                             // The bytes handed over are UTF-8 whatever the declaration says.
                             XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_IGNORE_ENC);
    if (reader_) xmlTextReaderSetStructuredErrorHandler(reader_, &XmlReader::errorCallback, this);
    // Encoding and I/O complaints would otherwise go straight to stderr;
    // every problem is reported through the structured handler instead.
    xmlSetGenericErrorFunc(nullptr, &XmlReader::quiet);
  }

  ~XmlReader() override {
    if (reader_) xmlFreeTextReader(reader_);
  }

 protected:
  bool nextRaw(RawItem& item) override {
    if (shapeProblem_) {
      fail(shapeProblem_->offset, shapeProblem_->line, shapeProblem_->reason);
      return false;
    }
    if (!reader_) {
      fail(0, 0, "cannot start the XML reader");
      return false;
    }
    for (;;) {
      const int r = xmlTextReaderRead(reader_);
      if (r <= 0) {
        // libxml2 parses ahead: an error it found further on is reported only
        // when the reader gets there, so records before it still come out.
        if (r < 0) failFromXml();
        else if (!sawRecord_ && !error_) rootCheck();
        return false;
      }
      const int type = xmlTextReaderNodeType(reader_);
      if (type == XML_READER_TYPE_DOCUMENT_TYPE) {
        fail(lineOffset(line()), line(), "a DOCTYPE is not allowed in XML input (no DTDs, no entities)");
        return false;
      }
      if (type != XML_READER_TYPE_ELEMENT) continue;
      if (static_cast<std::size_t>(xmlTextReaderDepth(reader_)) > layout_.maxDepth) {
        fail(lineOffset(line()), line(), "elements nested deeper than max-depth (" + std::to_string(layout_.maxDepth) + ")");
        return false;
      }
      if (localName() != layout_.recordElement) continue;
      sawRecord_ = true;
      return readRecord(item);
    }
  }

  void assign(const RawItem& item, const std::vector<LayoutField>& fields, RawRecord& record) override {
    if (!item.error.empty()) record.errors.push_back(item.error);
    for (std::size_t i = 0; i < fields.size() && i < item.decoded.size(); ++i) {
      record.setValue(i, item.decoded[i]);
      if (sawPrivateUse_) applyGaijiTo(record, i);  // only once the file has shown 外字
    }
    // Invalid bytes found while decoding the lines of this record.
    while (!invalid_.empty() && invalid_.front().line <= item.line + recordLines_) {
      const Invalid& bad = invalid_.front();
      if (bad.line >= item.line) {
        if (layout_.rejectInvalidBytes)
          record.errors.push_back("invalid " + layout_.codec->name() + " bytes " + bad.bytes + " at byte offset " +
                                  std::to_string(bad.offset));
        else
          ++record.substituted;
      }
      invalid_.pop_front();
    }
  }

 private:
  struct Invalid {
    std::uint64_t line;
    std::uint64_t offset;
    std::string bytes;
  };

  std::string localName() const {
    const xmlChar* n = xmlTextReaderConstLocalName(reader_);
    return n ? reinterpret_cast<const char*>(n) : std::string();
  }
  // The parser reads ahead, so its own line number is not the node's.
  std::uint64_t line() const { return nodeLine(); }
  std::uint64_t nodeLine() const {
    xmlNodePtr node = xmlTextReaderCurrentNode(reader_);
    return node ? static_cast<std::uint64_t>(std::max(0L, xmlGetLineNo(node))) : 0;
  }

  bool readRecord(RawItem& item) {
    item.error.clear();
    item.line = line();
    lastLine_ = item.line;
    item.offset = lineOffset(item.line);
    item.decoded.assign(layout_.fields.size(), std::string());
    item.present.assign(layout_.fields.size(), 0);
    // Attributes of the record element, for paths written "@name".
    while (xmlTextReaderMoveToNextAttribute(reader_) == 1) {
      auto it = byPath_.find("@" + localName());
      if (it != byPath_.end()) setValue(item, it->second, xmlTextReaderConstValue(reader_));
    }
    xmlTextReaderMoveToElement(reader_);
    if (xmlTextReaderIsEmptyElement(reader_)) {
      recordLines_ = 0;
      return true;
    }
    const int depth = xmlTextReaderDepth(reader_);
    int r = xmlTextReaderRead(reader_);
    for (;;) {
      if (r <= 0) {
        if (r < 0) failFromXml();
        else fail(item.offset, item.line, "the file ends inside a <" + layout_.recordElement + "> record");
        return false;
      }
      lastLine_ = std::max(lastLine_, nodeLine());
      const int type = xmlTextReaderNodeType(reader_);
      const int d = xmlTextReaderDepth(reader_);
      if (type == XML_READER_TYPE_END_ELEMENT && d == depth) break;
      if (type == XML_READER_TYPE_ELEMENT && d == depth + 1) {
        // A group of the layout's ("生年月日/年号"): its named children are
        // read, the rest skipped (one level: forms' date groups 年号/年/月/日).
        const std::string name = localName();
        if (groups_.count(name) && !xmlTextReaderIsEmptyElement(reader_)) {
          r = xmlTextReaderRead(reader_);
          while (r > 0) {
            lastLine_ = std::max(lastLine_, nodeLine());
            const int t = xmlTextReaderNodeType(reader_);
            const int dd = xmlTextReaderDepth(reader_);
            if (t == XML_READER_TYPE_END_ELEMENT && dd == depth + 1) break;
            if (t == XML_READER_TYPE_ELEMENT && dd == depth + 2) {
              auto child = byPath_.find(name + "/" + localName());
              if (child != byPath_.end()) {
                xmlChar* value = xmlTextReaderReadString(reader_);
                setValue(item, child->second, value);
                xmlFree(value);
              }
              r = xmlTextReaderNext(reader_);
              continue;
            }
            r = xmlTextReaderRead(reader_);
          }
          if (r <= 0) continue;  // reported at the top of the loop
          r = xmlTextReaderRead(reader_);
          continue;
        }
        // Elements the layout does not name are skipped, as are their children.
        auto it = byPath_.find(name);
        if (it != byPath_.end()) {
          xmlChar* value = xmlTextReaderReadString(reader_);
          setValue(item, it->second, value);
          xmlFree(value);
        }
        r = xmlTextReaderNext(reader_);
        continue;
      }
      r = xmlTextReaderRead(reader_);
    }
    recordLines_ = lastLine_ - item.line;
    return true;
  }

  void setValue(RawItem& item, std::size_t index, const xmlChar* value) {
    const std::string v = value ? reinterpret_cast<const char*>(value) : "";
    if (v.size() > layout_.maxFieldBytes && item.error.empty())
      item.error = "field '" + layout_.fields[index].name + "' is " + std::to_string(v.size()) +
                   " bytes, more than max-field-bytes (" + std::to_string(layout_.maxFieldBytes) + ")";
    item.decoded[index] = v.size() > layout_.maxFieldBytes ? std::string() : v;
    item.present[index] = 1;
  }

  void rootCheck() {
    fail(0, 0, "no <" + layout_.recordElement + "> element in the file (record-element)");
  }

  void failFromXml() {
    if (doctype_) {
      fail(doctypeOffset_, 0, "a DOCTYPE is not allowed in XML input (no DTDs, no entities)");
      return;
    }
    const std::uint64_t l = xmlErrorLine_ ? xmlErrorLine_ : line();
    fail(lineOffset(l), l, "not well-formed XML: " + (xmlErrorMessage_.empty() ? "parse error" : xmlErrorMessage_));
  }

  // Source byte offset of the start of line `l`, from the window of line
  // starts kept while decoding; older entries are dropped as records pass.
  std::uint64_t lineOffset(std::uint64_t l) {
    while (lineStarts_.size() > 1 && lineStarts_[1].first <= l) lineStarts_.pop_front();
    return lineStarts_.front().second;
  }

  static int readCallback(void* context, char* buffer, int len) {
    auto* self = static_cast<XmlReader*>(context);
    return self->fill(buffer, static_cast<std::size_t>(len));
  }

  // Hands libxml2 the next piece of UTF-8, decoding the source a chunk at a
  // time and ending each chunk on a character boundary.
  int fill(char* buffer, std::size_t len) {
    while (outPos_ >= out_.size()) {
      if (pos_ >= data_.size()) return 0;
      out_.clear();
      outPos_ = 0;
      std::size_t end = std::min(data_.size(), pos_ + kChunk);
      if (end < data_.size()) end = safeEnd(pos_, end);
      const std::string_view chunk = data_.substr(pos_, end - pos_);
      if (!prologDone_ && hasDoctype(chunk)) return -1;  // stop before libxml2 reads any declaration
      for (std::size_t i = chunk.find('\n'); i != std::string_view::npos; i = chunk.find('\n', i + 1))
        lineStarts_.push_back({++sourceLine_ + 1, pos_ + i + 1});
      decodeTracked(chunk, pos_);
      releaseBefore(lineStarts_.front().second);
      pos_ = end;
    }
    const std::size_t n = std::min(len, out_.size() - outPos_);
    std::memcpy(buffer, out_.data() + outPos_, n);
    outPos_ += n;
    return static_cast<int>(n);
  }

  // Looks for <!DOCTYPE in the prolog (before the first element), skipping
  // the XML declaration, processing instructions and comments. ASCII markup is
  // the same bytes in every supported encoding.
  bool hasDoctype(std::string_view chunk) {
    std::size_t i = 0;
    while (i < chunk.size()) {
      i = chunk.find('<', i);
      if (i == std::string_view::npos || i + 1 >= chunk.size()) return false;
      const std::string_view rest = chunk.substr(i);
      if (rest.rfind("<!DOCTYPE", 0) == 0 || rest.rfind("<!doctype", 0) == 0) {
        doctype_ = true;
        doctypeOffset_ = pos_ + i;
        return true;
      }
      if (rest.rfind("<!--", 0) == 0) {
        const std::size_t close = chunk.find("-->", i);
        if (close == std::string_view::npos) return false;
        i = close + 3;
      } else if (rest[1] == '?') {
        const std::size_t close = chunk.find("?>", i);
        if (close == std::string_view::npos) return false;
        i = close + 2;
      } else {
        prologDone_ = true;
        return false;
      }
    }
    return false;
  }

  // Decodes a chunk, remembering where invalid sequences were (by line) so the
  // record that holds them can be rejected.
  void decodeTracked(std::string_view chunk, std::size_t base) {
    text::CodecStats stats;
    layout_.codec->decode(chunk, out_, stats, base);
    if (stats.privateUse) sawPrivateUse_ = true;
    if (!stats.invalid) return;
    // Find every invalid sequence again (rare path) with its line.
    std::uint64_t l = firstLineOf(base);
    const auto* p = reinterpret_cast<const unsigned char*>(chunk.data());
    std::size_t i = 0;
    while (i < chunk.size()) {
      if (p[i] == '\n') ++l;
      const std::size_t len = layout_.codec->charLength(p + i, chunk.size() - i);
      if (!len) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string hex{kHex[p[i] >> 4], kHex[p[i] & 0xF]};
        invalid_.push_back({l, base + i, hex});
        ++i;
      } else {
        i += len;
      }
    }
  }

  std::uint64_t firstLineOf(std::size_t offset) const {
    std::uint64_t l = 1;
    for (const auto& [line, start] : lineStarts_)
      if (start <= offset) l = line;
    return l;
  }

  std::size_t safeEnd(std::size_t start, std::size_t end) const {
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data());
    std::size_t i = start;
    while (i < end) {
      const std::size_t len = layout_.codec->charLength(p + i, data_.size() - i);
      const std::size_t step = len ? len : 1;
      if (i + step > end) break;
      i += step;
    }
    return i > start ? i : end;
  }

  static void quiet(void*, const char*, ...) {}

  static std::string describeXmlError(int code) {
    switch (code) {
      case XML_ERR_UNDECLARED_ENTITY:
      case XML_WAR_UNDECLARED_ENTITY: return "a reference to an undefined entity (&name;)";
      case XML_ERR_ENTITY_LOOP: return "an entity that refers to itself";
      case XML_ERR_TAG_NAME_MISMATCH: return "an end tag does not match its start tag";
      case XML_ERR_TAG_NOT_FINISHED: return "an element is not closed";
      case XML_ERR_DOCUMENT_END: return "extra content after the document element";
      case XML_ERR_DOCUMENT_EMPTY: return "the document is empty";
      case XML_ERR_INVALID_CHAR:
      case XML_ERR_INVALID_CHARREF: return "a character not allowed in XML";
      case XML_ERR_INVALID_ENCODING: return "bytes that are not valid in the document's encoding";
      case XML_ERR_UNSUPPORTED_ENCODING: return "an encoding libxml2 does not support";
      case XML_ERR_ATTRIBUTE_REDEFINED: return "an attribute given twice on one element";
      case XML_ERR_LT_IN_ATTRIBUTE: return "'<' inside an attribute value";
      case XML_ERR_ATTRIBUTE_WITHOUT_VALUE: return "an attribute without a value";
      case XML_ERR_GT_REQUIRED: return "'>' expected";
      case XML_ERR_LTSLASH_REQUIRED: return "'</' expected";
      case XML_ERR_NAME_REQUIRED: return "a name expected";
      case XML_ERR_STRING_NOT_CLOSED:
      case XML_ERR_LITERAL_NOT_FINISHED: return "a quoted value is not closed";
      case XML_ERR_ENTITYREF_SEMICOL_MISSING: return "an entity reference without ';'";
      case XML_ERR_DOCTYPE_NOT_FINISHED: return "a DOCTYPE is not finished";
      case XML_ERR_RESERVED_XML_NAME: return "an XML declaration where none may be";
      case XML_ERR_NS_DECL_ERROR: return "a namespace declaration error";
      case XML_ERR_NO_MEMORY: return "out of memory";
      case XML_ERR_INTERNAL_ERROR: return "libxml2 internal error (a limit was reached)";
      default: return "parse error (libxml2 code " + std::to_string(code) + ")";
    }
  }

  static void errorCallback(void* context, xmlErrorPtr error) {
    auto* self = static_cast<XmlReader*>(context);
    if (!error || error->level == XML_ERR_WARNING || self->xmlError_) return;
    self->xmlError_ = true;
    self->xmlErrorLine_ = static_cast<std::uint64_t>(std::max(0, error->line));
    // libxml2's own text quotes the input (an entity's name from inside a
    // value, tag names, attribute values): described by its code instead.
    self->xmlErrorMessage_ = describeXmlError(error->code);
  }

  xmlTextReaderPtr reader_ = nullptr;
  std::optional<xml::XmlShapeProblem> shapeProblem_;
  std::unordered_map<std::string, std::size_t> byPath_;
  std::set<std::string> groups_;  ///< first parts of "group/child" paths
  std::string out_;
  std::size_t outPos_ = 0;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> lineStarts_;  // (line, source offset)
  std::uint64_t sourceLine_ = 0;
  std::deque<Invalid> invalid_;
  std::uint64_t recordLines_ = 0;
  std::uint64_t lastLine_ = 0;
  bool prologDone_ = false;
  bool sawPrivateUse_ = false;
  bool doctype_ = false;
  bool sawRecord_ = false;
  bool xmlError_ = false;
  std::uint64_t doctypeOffset_ = 0;
  std::uint64_t xmlErrorLine_ = 0;
  std::string xmlErrorMessage_;
};

}  // namespace

std::unique_ptr<RecordReader> makeXmlReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m) {
  return std::make_unique<XmlReader>(layout, data, std::move(m));
}

}  // namespace renkei::formats
