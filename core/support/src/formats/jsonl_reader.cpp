// JSON Lines: one flat JSON object per line, UTF-8; fields by key.
#include <unordered_map>

#include "formats/reader_impl.h"

namespace renkei::formats {
namespace {

class JsonlReader final : public BufferReader {
 public:
  JsonlReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m)
      : BufferReader(layout, data, std::move(m)) {
    pos_ = skipBom(data_, *layout_.codec);
    for (std::size_t i = 0; i < layout_.fields.size(); ++i) byKey_.emplace(layout_.fields[i].path, i);
  }

 protected:
  bool nextRaw(RawItem& item) override {
    const std::size_t n = data_.size();
    for (;;) {
      if (pos_ >= n) return false;
      std::size_t end = data_.find('\n', pos_);
      if (end == std::string_view::npos) end = n;
      std::string_view line = data_.substr(pos_, end - pos_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      item.offset = pos_;
      item.line = line_;
      pos_ = end + 1;
      ++line_;
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank line
      item.slices.assign(1, line);
      item.error.clear();
      releaseBefore(item.offset);
      return true;
    }
  }

  void assign(const RawItem& item, const std::vector<LayoutField>& fields, RawRecord& record) override {
    const std::string_view line = item.slices[0];
    if (line.size() > layout_.maxRecordBytes) {
      record.errors.push_back("record is longer than max-record-bytes (" + std::to_string(layout_.maxRecordBytes) + ")");
      return;
    }
    p_ = line.data();
    end_ = line.data() + line.size();
    base_ = item.offset;
    std::string problem;
    if (!parseObject(fields, record, problem)) {
      record.reset(fields.size());
      record.errors.push_back("not a flat JSON object: " + problem + " at byte offset " +
                              std::to_string(base_ + static_cast<std::size_t>(p_ - line.data())));
    }
  }

 private:
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) ++p_;
  }

  bool parseObject(const std::vector<LayoutField>& fields, RawRecord& record, std::string& problem) {
    ws();
    if (p_ >= end_ || *p_ != '{') return problem = "expected '{'", false;
    ++p_;
    ws();
    if (p_ < end_ && *p_ == '}') return ++p_, trailing(problem);
    std::string key, value;
    for (;;) {
      ws();
      if (!parseString(key, problem)) return false;
      ws();
      if (p_ >= end_ || *p_ != ':') return problem = "expected ':'", false;
      ++p_;
      ws();
      if (!parseScalar(value, problem)) return false;
      auto it = byKey_.find(key);
      if (it != byKey_.end() && it->second < fields.size()) {
        const LayoutField& f = fields[it->second];
        if (value.size() > layout_.maxFieldBytes) {
          record.errors.push_back("field '" + f.name + "' is " + std::to_string(value.size()) +
                                  " bytes, more than max-field-bytes (" + std::to_string(layout_.maxFieldBytes) + ")");
        } else if (value.find('\0') != std::string::npos) {
          record.errors.push_back("field '" + f.name + "' holds a NUL character (\\u0000)");
        } else {
          record.setValue(it->second, value);
          applyGaijiTo(record, it->second);
        }
      }
      ws();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return trailing(problem);
      }
      return problem = "expected ',' or '}'", false;
    }
  }

  bool trailing(std::string& problem) {
    ws();
    if (p_ != end_) return problem = "text after the object", false;
    return true;
  }

  bool parseScalar(std::string& out, std::string& problem) {
    out.clear();
    if (p_ >= end_) return problem = "expected a value", false;
    if (*p_ == '"') return parseString(out, problem);
    if (*p_ == '{' || *p_ == '[') return problem = "nested objects and arrays are not supported", false;
    const char* start = p_;
    while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ' ' && *p_ != '\t') ++p_;
    const std::string_view word(start, static_cast<std::size_t>(p_ - start));
    if (word == "null") return true;  // an absent value
    if (word == "true" || word == "false") {
      out.assign(word);
      return true;
    }
    // A number, kept as written.
    std::size_t i = 0;
    if (i < word.size() && word[i] == '-') ++i;
    bool digits = false;
    for (; i < word.size(); ++i) {
      const char c = word[i];
      if (c >= '0' && c <= '9') digits = true;
      else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') return problem = "invalid value", false;
    }
    if (!digits) return problem = "invalid value", false;
    out.assign(word);
    return true;
  }

  static int hexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool hex4(std::uint32_t& v) {
    if (end_ - p_ < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = hexDigit(p_[i]);
      if (h < 0) return false;
      v = (v << 4) | static_cast<std::uint32_t>(h);
    }
    p_ += 4;
    return true;
  }

  bool parseString(std::string& out, std::string& problem) {
    out.clear();
    if (p_ >= end_ || *p_ != '"') return problem = "expected a string", false;
    ++p_;
    for (;;) {
      const char* start = p_;
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
      const std::string_view run(start, static_cast<std::size_t>(p_ - start));
      text::CodecStats stats;
      layout_.codec->decode(run, out, stats, base_);
      if (stats.invalid) return problem = "invalid UTF-8", false;
      if (p_ >= end_) return problem = "unterminated string", false;
      if (*p_ == '"') {
        ++p_;
        return true;
      }
      if (static_cast<unsigned char>(*p_) < 0x20) return problem = "control character in a string", false;
      ++p_;  // backslash
      if (p_ >= end_) return problem = "unterminated escape", false;
      const char e = *p_++;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return problem = "bad \\u escape", false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') return problem = "lone surrogate", false;
            p_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return problem = "lone surrogate", false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return problem = "lone surrogate", false;
          }
          text::appendUtf8(out, cp);
          break;
        }
        default: return problem = "bad escape", false;
      }
    }
  }

  std::unordered_map<std::string, std::size_t> byKey_;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::size_t base_ = 0;
};

}  // namespace

std::unique_ptr<RecordReader> makeJsonlReader(const Layout& layout, std::string_view data, std::shared_ptr<MappedFile> m) {
  return std::make_unique<JsonlReader>(layout, data, std::move(m));
}

}  // namespace renkei::formats
