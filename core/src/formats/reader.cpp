// Record readers: header, trailer and accounting shared by every format.
#include "formats/reader.h"

#include "formats/reader_impl.h"
#include "renkei/json.h"

namespace renkei::formats {

void appendRecordJson(std::string& out, const Layout& layout, const RawRecord& record) {
  out.push_back('{');
  for (std::size_t i = 0; i < record.values.size(); ++i) {
    if (i) out.push_back(',');
    appendJsonString(out, layout.fields[i].name);
    out.push_back(':');
    appendJsonString(out, record.values[i]);
  }
  out += "}\n";
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
  if (!error_) error_ = FileError{offset, line, std::move(reason)};
}

void RecordReader::decodeField(std::string_view raw, std::size_t fileOffset, const LayoutField& field,
                               std::string& out, RawRecord& record) const {
  out.clear();
  text::CodecStats stats;
  layout_.codec->decode(raw, out, stats, fileOffset);
  if (stats.invalid) {
    if (layout_.rejectInvalidBytes)
      record.errors.push_back("field '" + field.name + "': invalid " + layout_.codec->name() + " bytes " +
                              stats.firstInvalidBytes + " at byte offset " + std::to_string(stats.firstInvalidOffset));
    else
      record.substituted += stats.invalid;
  }
  text::GaijiStats gaiji;
  text::applyGaiji(out, layout_.gaiji.get(), layout_.unmappedGaiji, gaiji);
  record.gaijiMapped += gaiji.mapped;
  record.gaijiUnmapped += gaiji.unmapped;
}

namespace {

void resetRecord(RawRecord& r, std::size_t fields) {
  r.values.resize(fields);
  for (auto& v : r.values) v.clear();  // absent XML/JSON fields stay empty; capacity is kept
  r.errors.clear();
  r.substituted = r.gaijiMapped = r.gaijiUnmapped = 0;
}

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
      if (!parseCount(control_.values[static_cast<std::size_t>(t.countField)], declared))
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

  resetRecord(out, layout_.fields.size());
  out.number = ++dataNumber_;
  out.offset = item->offset;
  out.line = item->line;
  assign(*item, layout_.fields, out);
  ++totals_.records;
  if (!out.errors.empty()) ++totals_.rejected;
  totals_.substituted += out.substituted;
  totals_.gaijiMapped += out.gaijiMapped;
  totals_.gaijiUnmapped += out.gaijiUnmapped;
  return true;
}

bool RecordReader::readControl(const ControlRecord& control, const char* what, RawRecord& scratch,
                               const RawItem& item) {
  resetRecord(scratch, control.fields.size());
  assign(item, control.fields, scratch);
  if (!scratch.errors.empty()) {
    fail(item.offset, item.line, std::string(what) + " record: " + scratch.errors.front());
    return false;
  }
  if (control.markerField >= 0) {
    const auto i = static_cast<std::size_t>(control.markerField);
    if (scratch.values[i] != control.markerValue) {
      const LayoutField& f = control.fields[i];
      // Marker fields are control codes; still, never echo a value the layout
      // marks as personal.
      const std::string shown = f.pii == Pii::None ? " is '" + scratch.values[i] + "'" : " differs";
      fail(item.offset, item.line,
           std::string(what) + " record: field '" + f.name + "'" + shown + ", expected '" + control.markerValue + "'");
      return false;
    }
  }
  return true;
}

std::unique_ptr<RecordReader> RecordReader::open(const Layout& layout, const std::filesystem::path& file) {
  auto mapped = std::make_shared<MappedFile>(file);
  return makeItemReader(layout, mapped->view(), mapped);
}

std::unique_ptr<RecordReader> RecordReader::fromMemory(const Layout& layout, std::string_view data) {
  return makeItemReader(layout, data, nullptr);
}

}  // namespace renkei::formats
