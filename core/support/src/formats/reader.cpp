// Record readers: header, trailer and accounting shared by every format.
#include "formats/reader.h"

#include <cstring>

#include "formats/reader_impl.h"
#include "renkei/json.h"
#include "renkei/text.h"

namespace renkei::formats {

JsonLinesWriter::JsonLinesWriter(const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string key = i ? "," : "{";
    appendJsonString(key, names[i]);
    key.push_back(':');
    addKey(key);
  }
}

JsonLinesWriter JsonLinesWriter::arrays(std::size_t fields) {
  JsonLinesWriter w;
  for (std::size_t i = 0; i < fields; ++i) w.addKey(i ? "," : "[");
  w.open_ = '[';
  w.close_ = ']';
  return w;
}

void JsonLinesWriter::addKey(std::string_view key) {
  keyBytes_.resize(keysTotal_);  // drops the spare bytes, put back below
  keys_.emplace_back(static_cast<std::uint32_t>(keyBytes_.size()), static_cast<std::uint32_t>(key.size()));
  keyBytes_ += key;
  keysTotal_ += key.size();
  keyBytes_.append(kKeyCopy, '\0');
}

void JsonLinesWriter::append(std::string& out, const RawRecord& record) const {
  ByteArena buffer;
  append(buffer, record);
  out.append(buffer.data(), buffer.size());
}

void JsonLinesWriter::append(ByteArena& out, const RawRecord& record) const {
  std::vector<std::string_view>& views = views_;
  views.resize(record.size());
  for (std::size_t i = 0; i < record.size(); ++i) views[i] = record.value(i);
  append(out, views);
}

void JsonLinesWriter::append(ByteArena& out, const std::vector<std::string_view>& values) const {
  // Room: the keys, each value's worst case, the brackets and the line
  // end, and kKeyCopy to spare for the fixed-size key moves.
  std::size_t bound = keysTotal_ + 3 + kKeyCopy;
  for (const std::string_view v : values) bound += jsonStringBound(v.size());
  char* o = out.reserveMore(bound);
  if (values.empty()) *o++ = open_;
  const char* keys = keyBytes_.data();
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto [at, size] = keys_[i];
    if (size <= kKeyCopy) std::memcpy(o, keys + at, kKeyCopy);
    else std::memcpy(o, keys + at, size);
    o += size;
    o = writeJsonString(o, values[i]);
  }
  *o++ = close_;
  *o++ = '\n';
  out.commit(o);
}

void appendRecordJson(std::string& out, const Layout& layout, const RawRecord& record) {
  std::vector<std::string> names;
  for (const auto& f : layout.fields) names.push_back(f.name);
  JsonLinesWriter(names).append(out, record);
}

std::string describeRejected(const RawRecord& record) {
  std::string out = "record " + std::to_string(record.number) + " (line " + std::to_string(record.line) +
                    ", byte offset " + std::to_string(record.offset) + "): ";
  for (std::size_t i = 0; i < record.errors.size(); ++i) out += (i ? "; " : "") + record.errors[i];
  return out;
}

std::string FileError::format() const {
  std::string out;
  if (line) out += "line " + std::to_string(line) + ", ";
  out += "byte offset " + std::to_string(offset) + ": " + reason;
  return out;
}

void RecordReader::fail(std::uint64_t offset, std::uint64_t line, std::string reason) {
  // Bounded: a reason goes into logs, error.txt, the store and the summary.
  if (reason.size() > 1024) reason = printable(reason, 1024);
  if (!error_) error_ = FileError{offset, line, std::move(reason)};
}

std::string RecordReader::cp932Hint(std::string_view raw) const {
  // shift_jis is JIS X 0208 only; most vendor files called "Shift_JIS" are
  // CP932 (NEC and IBM extensions, ①, ㈱ …). Say so when CP932 reads the bytes.
  if (layout_.codec->name() != "shift_jis") return {};
  static const text::Codec* cp932 = text::findCodec("windows-31j");
  if (!cp932) return {};
  std::string out(text::Codec::decodeBound(raw.size()), '\0');
  text::CodecStats stats;
  cp932->decodeInto(raw, out.data(), stats, 0);
  if (stats.invalid) return {};
  return "; these bytes are valid windows-31j (CP932): if the file is CP932, write encoding=\"windows-31j\"";
}

void RecordReader::checkDecoded(std::string_view raw, const LayoutField& field, RawRecord& record,
                                std::size_t index, const text::CodecStats& stats) const {
  const std::size_t start = record.spans[index].first;
  // The rule for NUL, the same in every format: a value holding U+0000
  // rejects its record (it would cut the value short in C-string consumers
  // and hide what follows it from people). Named, never shown.
  // One look over the whole raw record when the reader could (one call
  // instead of one per field: a 12 % share of `renkei map` on a CSV).
  if (const void* nul = nulFree_ ? nullptr : std::memchr(record.arena.data() + start, 0, record.arena.size() - start))
    record.errors.push_back("field '" + field.name + "' holds a NUL character (at character byte " +
                            std::to_string(static_cast<const char*>(nul) - (record.arena.data() + start)) +
                            " of the value)");
  if (stats.invalid) {
    if (layout_.rejectInvalidBytes)
      record.errors.push_back("field '" + field.name + "': invalid " + layout_.codec->name() + " bytes " +
                              stats.firstInvalidBytes() + " at byte offset " +
                              std::to_string(stats.firstInvalidOffset) + cp932Hint(raw));
    else {
      record.substituted += stats.invalid;
      record.substitutedFields.push_back(static_cast<std::uint32_t>(index));
    }
  }
  // Only text that decoded to private-use characters needs the 外字 pass.
  if (stats.privateUse) applyGaijiTo(record, index);
}

void RecordReader::applyGaijiTo(RawRecord& record, std::size_t index) const {
  const std::string_view current = record.value(index);
  // Private-use characters start with one of these bytes in UTF-8.
  if (current.find_first_of("\xEE\xEF\xF3\xF4") == std::string_view::npos) return;
  std::string value(current);
  text::GaijiStats gaiji;
  text::applyGaiji(value, layout_.gaiji.get(), layout_.unmappedGaiji, gaiji);
  record.gaijiMapped += gaiji.mapped;
  record.gaijiUnmapped += gaiji.unmapped;
  if (gaiji.unmapped) record.gaijiFields.push_back(static_cast<std::uint32_t>(index));
  if (gaiji.mapped == 0 && layout_.unmappedGaiji == text::UnmappedGaiji::Keep) return;  // unchanged
  // The value moves to the end of the arena; its old bytes are left unused.
  record.setValue(index, value);
}

namespace {

// Reads a record count written as digits, possibly padded with spaces or zeros.
bool parseCount(std::string_view s, std::uint64_t& n) {
  while (!s.empty() && (s.front() == ' ')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ')) s.remove_suffix(1);
  if (s.empty() || s.size() > 18) return false;
  n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

bool RecordReader::next(RawRecord& out) {
  if (ended_ || error_) return false;
  if (!started_) {
    started_ = true;
    if (layout_.headerRecord) {
      RawItem item;
      if (!nextRaw(item)) {
        fail(0, 1, "the file is empty, but the layout expects a header record");
        return false;
      }
      if (!readControl(*layout_.headerRecord, "header", control_, item)) return false;
      const auto& fields = layout_.headerRecord->fields;
      for (std::size_t i = 0; i < fields.size() && i < control_.size(); ++i)
        header_.emplace_back(fields[i].name, std::string(control_.value(i)));
    }
  }

  RawItem* item = &current_;
  if (!layout_.trailerRecord) {
    if (!nextRaw(*item)) {
      ended_ = true;
      return false;
    }
  } else {
    // One item of lookahead: the last item of the file is the trailer.
    if (!havePending_) {
      if (!nextRaw(pending_)) {
        if (!error_) fail(endOffset(), 0, "the file ends without the trailer record the layout expects");
        return false;
      }
      havePending_ = true;
    }
    if (!nextRaw(current_)) {
      if (error_) return false;
      ended_ = true;
      if (!readControl(*layout_.trailerRecord, "trailer", control_, pending_)) return false;
      const ControlRecord& t = *layout_.trailerRecord;
      std::uint64_t declared = 0;
      if (!parseCount(control_.value(static_cast<std::size_t>(t.countField)), declared))
        fail(pending_.offset, pending_.line,
             "trailer record: count field '" + t.fields[static_cast<std::size_t>(t.countField)].name +
                 "' is not a number");
      else if (declared != dataNumber_)
        fail(pending_.offset, pending_.line,
             "trailer record says " + std::to_string(declared) + " records, the file has " +
                 std::to_string(dataNumber_) + "; the file is incomplete or the count is wrong");
      return false;
    }
    std::swap(pending_, current_);  // current_ now holds the record to return
  }

  out.reset(layout_.fields.size());
  out.number = ++dataNumber_;
  out.offset = item->offset;
  out.line = item->line;
  nulFree_ = item->nulFree;
  assign(*item, layout_.fields, out);
  nulFree_ = false;
  ++totals_.records;
  if (!out.errors.empty()) ++totals_.rejected;
  totals_.substituted += out.substituted;
  totals_.gaijiMapped += out.gaijiMapped;
  totals_.gaijiUnmapped += out.gaijiUnmapped;
  return true;
}

bool RecordReader::readControl(const ControlRecord& control, const char* what, RawRecord& scratch,
                               const RawItem& item) {
  scratch.reset(control.fields.size());
  assign(item, control.fields, scratch);
  if (!scratch.errors.empty()) {
    fail(item.offset, item.line, std::string(what) + " record: " + scratch.errors.front());
    return false;
  }
  if (control.markerField >= 0) {
    const auto i = static_cast<std::size_t>(control.markerField);
    if (scratch.value(i) != control.markerValue) {
      const LayoutField& f = control.fields[i];
      // Marker fields are control codes; still, never echo a value the layout
      // marks as personal.
      const std::string shown = f.pii == Pii::None ? " is '" + printable(scratch.value(i), 64) + "'" : " differs";
      fail(item.offset, item.line,
           std::string(what) + " record: field '" + f.name + "'" + shown + ", expected '" + control.markerValue + "'");
      return false;
    }
  }
  return true;
}

std::unique_ptr<RecordReader> RecordReader::open(const Layout& layout, const std::filesystem::path& file) {
  return fromMapping(layout, std::make_shared<MappedFile>(file));
}

std::unique_ptr<RecordReader> RecordReader::fromMapping(const Layout& layout, std::shared_ptr<MappedFile> file) {
  const std::string_view data = file->view();
  return makeItemReader(layout, data, std::move(file));
}

std::unique_ptr<RecordReader> RecordReader::fromMemory(const Layout& layout, std::string_view data) {
  return makeItemReader(layout, data, nullptr);
}

}  // namespace renkei::formats
