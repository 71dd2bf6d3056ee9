// The file connector: a drop folder (drop_folder.h) as its source, the tmp/ + rename sink.
#include "file_transport.h"

#include <fcntl.h>
#include <signal.h>
#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <ctime>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <thread>

#include <openssl/evp.h>

#include "renkei/files.h"
#include "renkei/json.h"
#include "renkei/text.h"
#include "renkei/support/codec.h"

namespace fs = std::filesystem;

namespace renkei::connectors::file {

// The keys this connector declares (the plugin library and the domain
// connectors built on it list them).
const renkei_config_key kKeys[] = {
    {"directory", "path", nullptr, 1,
     "Exchange folder. A source reads <directory>/in/ and keeps processing/, done/, error/ and "
     "rejects/; a sink writes <directory>/tmp/ and renames into <directory>/out/."},
    {"pattern", "list", "*", 0,
     "File names the source picks up from in/, as shell globs separated by ';' or ',' (e.g. *.csv;*.CSV)."},
    {"ignore", "list", ".*;*.tmp;*.part", 0,
     "File names the source never picks up (files a vendor is still writing), globs separated by ';' or ','."},
    {"min-age", "duration", "0s", 0,
     "A file modified more recently than this is left for the next poll (for vendors that "
     "write in place instead of renaming and pause longer than settle)."},
    {"settle", "duration", "1s", 0,
     "A file is claimed only when its size and modification time have stayed the same for this long "
     "(a file still being written in place is left in in/); 0s claims at once."},
    {"trigger", "string", "", 0,
     "The vendor's completeness signal, as a suffix (.end, .ok): 'JUMIN.csv' is claimed only once 'JUMIN.csv.end' or "
     "'JUMIN.end' is in in/; the trigger file is removed when its file is claimed, and files ending in it are never "
     "taken in. Empty: no trigger (a writer still holding the file open, or one changing it within settle, is "
     "waited for)."},
    {"max-file-size", "size", "4GiB", 0,
     "A larger file is not read: it is moved to error/ with the reason."},
    {"keep-done", "bool", "true", 0,
     "Keep each file taken in under done/ (for `renkei reprocess` and audits). false: delete it once its records "
     "are stored, the way the internet zone must (it keeps nothing personal; `renkei check` requires it there for "
     "routes with personal fields). Files that fail are always kept in error/ for the operator."},
    {"keep-done-for", "duration", nullptr, 0,
     "How long a file stays in done/, counted from when it was taken in; then it is removed, with a log line. Not "
     "set: until removed by hand, except 7d for files whose layout declares a class the zone does not hold "
     "(個人番号 in an LGWAN export): long enough to reprocess after a fix. `renkei check` says what each source keeps "
     "and for how long."},
    {"format", "enum(jsonl|csv)", "jsonl", 0,
     "Sink output format: jsonl (JSON Lines, UTF-8, one record per line) or csv (through output-layout: its "
     "columns in order, encoding, delimiter, newline and header row; for RPA and core-system intake)."},
    {"output-layout", "path", nullptr, 0,
     "format=csv: the CSV layout (urn:renkei:layout:1) the sink writes. Each column takes the record's field of "
     "the same name (empty when missing). A character the encoding cannot hold fails the batch (dead letter, "
     "field and code point named): never a substitute."},
    {"formula-cells", "enum(refuse|quote)", "refuse", 0,
     "format=csv: a value a spreadsheet or an RPA robot would run as a formula (CSV injection: it begins with "
     "=, +, -, @, a tab or a carriage return, or ＝ ＋ － ＠, and is not a plain number). refuse: the batch fails "
     "(dead letter naming the record and field; nothing written), so the core system never receives an altered "
     "value; quote: written as text with a leading apostrophe (for files people open in a spreadsheet)."},
    {"create-directories", "bool", "true", 0,
     "Create the exchange sub-folders when missing; when false a missing folder is a configuration error."},
    {"fsync", "bool", "true", 0,
     "Flush written files and folder entries to disk before a batch counts as delivered."},
};

const std::size_t kKeyCount = sizeof(kKeys) / sizeof(kKeys[0]);

void FileConnector::configure(const Settings& settings, const HostContext& context) {
  DropFolderOptions o;
  o.directory = settings.getPath("directory");
  o.patterns = settings.getList("pattern");
  o.ignore = settings.getList("ignore");
  o.minAge = settings.getDuration("min-age");
  o.settle = settings.getDuration("settle");
  o.trigger = settings.getString("trigger");
  o.checkWriters = true;
  if (!o.trigger.empty() &&
      (o.trigger.front() != '.' || o.trigger.size() > 16 || o.trigger.find('/') != std::string::npos))
    throw ConfigError("trigger: a suffix such as .end or .ok (at most 16 bytes, starting with a dot)");
  o.maxFileSize = settings.getSize("max-file-size");
  o.createDirectories = settings.getBool("create-directories");
  o.fsync = fsync_ = settings.getBool("fsync");
  o.keepDone = keepDone_ = settings.getBool("keep-done");
  if (settings.has("keep-done-for")) {
    keepDoneFor_ = settings.getDuration("keep-done-for");
    keepDoneForSet_ = true;
    if (keepDoneFor_.count() < 60'000) throw ConfigError("keep-done-for: at least 1m (or keep-done=false)");
    if (!keepDone_) throw ConfigError("keep-done-for is set, but keep-done=false keeps nothing");
  }
  o.keepDoneFor = keepDoneFor_;
  zone_ = context.zone;
  services_ = context.services;
  logger_ = context.logger;
  id_ = context.id;
  validating_ = context.validating;
  if (o.patterns.empty()) throw ConfigError("key 'pattern': no file pattern given; use '*' for every file");
  // Refused by the folder itself (a link, too large, changed after it was
  // read): kept in the store as refused, so `renkei status` shows it (exit
  // 4) and /metrics counts it until an operator acknowledges it.
  o.refused = [this](const std::string& name, const std::string& reason) {
    if (services_ && !services_->recordRefusal(name, reason) && logger_)
      logger_->error("%s: '%s' went to error/ (%s); it is not in renkei status", id_, printable(name), reason);
  };
  if (settings.getString("format") == "csv") {
    if (!settings.has("output-layout")) throw ConfigError("format=csv needs output-layout (the CSV layout to write)");
    Diagnostics diags;
    quoteFormulas_ = settings.getString("formula-cells") == "quote";
    csv_ = formats::loadLayout(settings.getPath("output-layout"), diags);
    if (!csv_ || !diags.empty()) throw ConfigError("output-layout: " + diags.format());
    if (csv_->kind != formats::LayoutKind::Csv)
      throw ConfigError("output-layout: '" + settings.getPath("output-layout").string() + "' is not a CSV layout");
  } else if (settings.has("output-layout")) {
    throw ConfigError("output-layout is for format=csv");
  }
  drop_ = std::make_unique<DropFolder>(std::move(o), logger_, id_);
  drop_->check();
}

void FileConnector::start() {
  if (validating_) return;
  // Its content is a batch's records; the batch is written again from the
  // store.
  drop_->sweepTemporaries();
}

std::vector<Intake> FileConnector::recover() { return drop_->recover(); }

std::string FileConnector::itemsHold(const std::string& sensitive) {
  const fs::path& directory = drop_->directory();
  if (!keepDone_) return "deletes each file taken in once its records are stored (keep-done=false)";
  const std::string why = sensitive.empty() ? std::string()
                                            : ": its files hold " + sensitive + " fields, which the " + zone_ +
                                                  " zone does not hold";
  if (!keepDoneForSet_ && !sensitive.empty()) {
    keepDoneFor_ = std::chrono::hours(24 * 7);
    drop_->setKeepDoneFor(keepDoneFor_);
  }
  if (keepDoneFor_.count() == 0)
    return "keeps each file taken in under " + (directory / "done").string() +
           " until it is removed by hand (keep-done-for sets a retention)";
  return "keeps each file taken in under " + (directory / "done").string() + " for " + DropFolder::durationText(keepDoneFor_) +
         ", then removes it" + why + (keepDoneForSet_ ? std::string(" (keep-done-for)") : std::string(" (keep-done-for sets how long)"));
}

std::optional<Intake> FileConnector::claim() {
  if (!validating_) drop_->purge();
  return drop_->claimNext();
}

Outcome FileConnector::finish(const Intake& item, Disposition disposition, const std::string& reason) {
  if (disposition == Disposition::Done) return drop_->done(item);
  if (drop_->fail(item, drop_->reasonText(item.name, reason)).empty())
    return Outcome::retry("cannot move '" + printable(item.name) + "' to error/");
  return Outcome::ok();
}

Outcome FileConnector::requeue(const std::string& name, const std::string& sha256) {
  return drop_->requeue(name, sha256);
}

Outcome FileConnector::writeAtomically(const std::string& sub, const std::string& name, std::string_view content) {
  try {
    drop_->ensureFolder("tmp");
    drop_->ensureFolder(sub);
    // Two hosts writing the same batch (one whose lease ran out while it was
    // slow) write temp files of their own; the rename makes whichever
    // finishes last the copy in place, and both are whole. The same content
    // written again after a crash replaces its own earlier copy: exactly once.
    const std::string error =
        writeFileAtomically(drop_->directory() / "tmp", drop_->directory() / sub / name, content, fsync_);
    return error.empty() ? Outcome::ok() : Outcome::retry(error);
  } catch (const std::exception& e) {
    return Outcome::retry(e.what());
  }
}

Outcome FileConnector::deliver(const Batch& batch) {
  // The host hands over the records as JSON Lines: written as they are.
  if (!csv_) return writeAtomically("out", batch.id + ".jsonl", batch.jsonLines);
  std::string out;
  if (const auto problem = writeCsv(*csv_, batch, out, quoteFormulas_)) return Outcome::error(*problem);
  return writeAtomically("out", batch.id + ".csv", out);
}

std::optional<std::string> writeCsv(const formats::Layout& layout, const Batch& batch, std::string& out,
                                    bool quoteFormulas) {
  const text::Codec& codec = *layout.codec;
  const char* newline = layout.newline == formats::Newline::Lf ? "\n" : "\r\n";
  const char delimiter = layout.delimiter, quote = layout.quote;
  const auto cell = [&](std::string_view value, std::size_t record, const std::string& field) -> std::optional<std::string> {
    const bool formula = looksLikeFormula(value);
    if (formula && !quoteFormulas)
      return "record " + std::to_string(record) + ", field " + field +
             ": the value begins like a formula (=, +, -, @, a tab or a line end): refused so that no spreadsheet or "
             "RPA robot runs it (formula-cells=refuse); nothing was written";
    std::string apostrophed;
    if (formula) value = apostrophed = "'" + std::string(value);
    text::CodecStats stats;
    std::string encoded;
    codec.encode(value, encoded, stats);
    if (stats.invalid) {
      // Name the character by its code point and the field, never the value.
      std::uint32_t cp = 0;
      const auto* p = reinterpret_cast<const unsigned char*>(value.data());
      std::size_t at = stats.firstInvalidOffset < value.size() ? stats.firstInvalidOffset : 0;
      text::decodeUtf8(p + at, value.size() - at, cp);
      char name[16];
      std::snprintf(name, sizeof name, "U+%04X", cp);
      return "record " + std::to_string(record) + ", field " + field + ": " + name + " cannot be written in " +
             codec.name() + " (map it in the sender's conversion table); nothing was written";
    }
    const bool needsQuote = formula || encoded.find(delimiter) != std::string::npos ||
                            encoded.find(quote) != std::string::npos || encoded.find_first_of("\r\n") != std::string::npos;
    if (needsQuote) {
      out += quote;
      for (char c : encoded) {
        if (c == quote) out += quote;
        out += c;
      }
      out += quote;
    } else {
      out += encoded;
    }
    return std::nullopt;
  };
  if (layout.header != formats::HeaderRow::Absent) {
    for (std::size_t i = 0; i < layout.fields.size(); ++i) {
      if (i) out += delimiter;
      if (auto problem = cell(layout.fields[i].name, 0, layout.fields[i].name)) return problem;
    }
    out += newline;
  }
  std::size_t n = 0;
  for (const Record& r : batch.records) {
    ++n;
    for (std::size_t i = 0; i < layout.fields.size(); ++i) {
      if (i) out += delimiter;
      const std::string* v = r.find(layout.fields[i].name);
      if (auto problem = cell(v ? std::string_view(*v) : std::string_view(), n, layout.fields[i].name)) return problem;
    }
    out += newline;
  }
  return std::nullopt;
}

Outcome FileConnector::writeRejects(const Intake& item, const std::string& jsonl) {
  return writeAtomically("rejects", item.name + ".rejects.jsonl", jsonl);
}

Outcome FileConnector::writeWarnings(const Intake& item, const std::string& jsonl) {
  return writeAtomically("rejects", item.name + ".warnings.jsonl", jsonl);
}

}  // namespace renkei::connectors::file
