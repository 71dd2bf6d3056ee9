// The OCR connector: scans of the papers residents bring (転出証明書 …)
// dropped by a scanner into a folder, read with Tesseract through its C++
// API and handed to the host as one record per document through the engine
// seam (HostServices::emit, keyed by the file's SHA-256: a document read
// twice lands once; a multi-page TIFF or PDF gives a record per page read,
// in one unit). Its own worker threads do the reading, one Tesseract
// engine per language and thread, OMP_THREAD_LIMIT=1, so a slow page never
// stalls another route's intake.
//
// A page is aligned to its template by the registration marks printed on
// it (found as filled squares near where the template puts them; the page
// deskewed by their angle), then each zone is cut out and read with its
// language and page segmentation mode. What the city knows corrects the
// reading: an era date must be a real date (stated as ISO beside it), a
// 住民票コード or 個人番号 failing its check digit is flagged, a code table
// maps what is printed to the code sent. Every field carries its
// confidence, its box and whether it needs review (always for names and
// 本籍: Debian's model cannot write some name kanji at all). Log lines name
// documents and fields, never what was read.
#include <fnmatch.h>
#include <stdlib.h>

#include <leptonica/allheaders.h>
#include <unistd.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <Poco/Logger.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "drop_folder.h"
#include "ocr_pages.h"
#include "ocr_template.h"
#include "renkei/json.h"
#include "renkei/local_time.h"
#include "renkei/sdk.h"
#include "renkei/support/check_digits.h"
#include "renkei/support/era.h"
#include "renkei/support/normalize.h"
#include "renkei/support/seal.h"
#include "renkei/support/worker.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::connectors::ocr {
namespace {

const renkei_config_key kKeys[] = {
    {"directory", "path", nullptr, 1,
     "The scanners' folder: scans arrive in <directory>/in/, are read from processing/, kept in done/, and a scan "
     "that cannot be read goes to error/ with its reason."},
    {"pattern", "list", "*.png;*.PNG;*.tif;*.tiff;*.TIF;*.TIFF;*.jpg;*.jpeg;*.JPG;*.JPEG;*.pdf;*.PDF", 0,
     "The file names taken from in/ (PNG, TIFF with one page or many, JPEG, PDF)."},
    {"templates", "list", nullptr, 1,
     "The OCR template files (urn:renkei:ocr-template:1, e.g. mappings/ocr/tenshutsu-a.xml), separated by ';'."},
    {"template", "string", "", 0,
     "The template every scan is read with; '': the one whose anchor text (in its box) the scan bears — with one "
     "template, that one."},
    {"workers", "int", "2", 0, "Threads reading scans, each with its own Tesseract engines (one core each)."},
    {"review-below", "int", "80", 0,
     "A field read with a mean confidence below this (0-100) is marked for review; names are always marked."},
    {"max-file-size", "size", "50MiB", 0, "A larger scan is refused unread (to error/ with the reason)."},
    {"max-pixels", "int", "60000000", 0,
     "A scan whose header says more pixels than this is refused before it is decoded (a decompression bomb, a "
     "30,000 px wide photo): A4 at 600 dpi is 35 million."},
    {"max-pages", "int", "50", 0,
     "A multi-page TIFF or PDF with more pages is refused before any page is decoded (split it, or raise this)."},
    {"pdf-dpi", "int", "300", 0, "A PDF's pages are rendered at this resolution (150 to 600) before they are read."},
    {"pdf-renderer", "path", nullptr, 0,
     "The program that opens and renders PDF pages in a process of its own (a PDF that crashes it costs that "
     "process, not the host): renkei-pdf-pages, by default the one beside the renkei binary."},
    {"pdf-timeout", "duration", "60s", 0,
     "A PDF page the renderer has not finished in this time is refused (the renderer stopped)."},
    {"min-dpi", "int", "150", 0,
     "A page whose registration marks say it was scanned coarser than this (a photo at 72 dpi) is refused with "
     "the reason: too few pixels to read a kanji."},
    {"address-master", "path", nullptr, 0,
     "The city's 町字 list (one address prefix per line, # comments; the concierge's towns file serves): a zone "
     "with master=\"town\" (the 転出先 of a 転出証明書) is snapped to the nearest, the reading kept beside it."},
    {"address-max-edits", "int", "2", 0,
     "The most characters a reading may differ from a town of the list to be snapped to it (more: not in the "
     "list, for review). A snapped address is shown for review with the edits counted."},
    {"tessdata", "path", nullptr, 0, "Tesseract's language data (default: Debian's /usr/share/tesseract-ocr/5/tessdata)."},
    {"poll", "duration", "2s", 0, "How often in/ is looked at."},
    {"keep-done-for", "duration", "0s", 0,
     "How long scans taken in stay in done/ (0: until removed by hand). Scans hold personal data: set a retention."},
    {"fsync", "bool", "true", 0, "Flush moved files and reason files to disk."},
    {"keep-report-for", "duration", "400d", 0,
     "How long the recognition report's rows are kept (per page and field: the template, the field's name, its "
     "confidence and whether it was marked; never what was read). 0: kept until removed."},
};

/// The registration found on a page: template mm → image px.
struct Alignment {
  double scaleX = 0, scaleY = 0, offsetX = 0, offsetY = 0;
  double dpi = 0;
  int found = 0;
  /// <texts/>: how far the page's texts are from the template's anchors
  /// (each anchor's edits over its length, 1 for one not found; averaged):
  /// of two forms whose texts are alike, the nearer is the page's.
  double cost = 0;
};

/// What the recognition report keeps of one field read: no value, only
/// its name, confidence and whether (and why) it was marked for review.
struct FieldStat {
  std::string field;
  int confidence = 0;
  bool empty = false;   ///< an empty box: not counted as read
  std::string marked;   ///< "", always, confidence, check, town
};

/// One page read: its template, its record and what the report keeps.
struct PageRead {
  const Template* t = nullptr;
  std::optional<Record> record;
  std::vector<FieldStat> stats;
  int page = 1;
  bool turned = false;
};

/// What a whole page says, read once per way up for the templates that
/// are registered by their printed texts (<texts/>).
struct PageText {
  PixPtr page;  ///< the page, deskewed by its text lines
  float down = 0;
  std::u32string text;
  std::vector<std::array<int, 4>> boxes;  ///< per code point: left, top, right, bottom (page px)
};

/// One worker's engines, one per language, made on first use.
class Engines {
 public:
  explicit Engines(std::string tessdata) : tessdata_(std::move(tessdata)) {}
  tesseract::TessBaseAPI* get(const std::string& lang) {
    auto& slot = apis_[lang];
    if (!slot) {
      auto api = std::make_unique<tesseract::TessBaseAPI>();
      if (api->Init(tessdata_.empty() ? nullptr : tessdata_.c_str(), lang.c_str(), tesseract::OEM_LSTM_ONLY) != 0)
        throw std::runtime_error("Tesseract cannot load the language '" + lang + "' (package tesseract-ocr-" +
                                 (lang == "jpn_vert" ? std::string("jpn-vert") : lang) + ")");
      api->SetVariable("debug_file", "/dev/null");
      slot = std::move(api);
    }
    return slot.get();
  }

 private:
  std::string tessdata_;
  std::map<std::string, std::unique_ptr<tesseract::TessBaseAPI>> apis_;
};

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::size_t a = 0;
  while (a < s.size() && (s[a] == ' ' || s[a] == '\n')) ++a;
  s.erase(0, a);
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

std::string withoutSpaces(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == ' ') {
      ++i;
      continue;
    }
    if (s.compare(i, 3, "\u3000") == 0) {
      i += 3;
      continue;
    }
    out += s[i++];
  }
  return out;
}

class OcrConnector final : public Connector, public Sink {
 public:
  Sink* sink() override { return this; }

  /// What staff corrected in the drafts this connector read (the review
  /// module's review.corrected, routed here): kept per scan, page and item
  /// for the report's "fields staff corrected most". Idempotent: a batch
  /// delivered again changes nothing. Corrections of drafts not read here
  /// (a card's chip, another connector's scans) are passed over, counted.
  Outcome deliver(const Batch& batch) override {
    openState();
    std::size_t kept = 0, notOurs = 0;
    try {
      state_->write([&](StateSession& s) {
        for (const Record& r : batch.records) {
          const std::string* id = r.find("application_id");
          const std::string* fields = r.find("fields");
          const std::string* day = r.find("at");
          const std::size_t dash = id ? id->rfind('-') : std::string::npos;
          std::string templ;
          if (dash != std::string::npos && fields && day) {
            const std::string sha = id->substr(0, dash), page = id->substr(dash + 1);
            if (sha.size() == 64 && !page.empty() && page.size() < 6 &&
                page.find_first_not_of("0123456789") == std::string::npos) {
              s.query("SELECT template FROM " + pagesTable_ + " WHERE sha256 = ? AND page = ?",
                      {sha, static_cast<std::int64_t>(std::stoi(page))},
                      [&](StateRows& row) { templ = row.text(0); });
              if (!templ.empty()) {
                std::istringstream names(*fields);
                for (std::string field; names >> field;)
                  s.run("INSERT INTO " + correctionsTable_ +
                            " (sha256, page, field, template, day) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        {sha, static_cast<std::int64_t>(std::stoi(page)), field, templ, day->substr(0, 10)});
              }
            }
          }
          templ.empty() ? ++notOurs : ++kept;
        }
      });
    } catch (const std::exception& e) {
      return Outcome::retry(std::string("the store: ") + e.what());
    }
    if (notOurs)
      log_->information("ocr %s: %zu correction(s) of drafts not read here passed over (batch %s)", id_, notOurs,
                        batch.id);
    return Outcome::ok();
  }

  void configure(const Settings& settings, const HostContext& context) override {
    log_ = context.logger;
    id_ = context.id;
    services_ = context.services;
    once_ = context.once;
    // Debian's libtesseract is built with OpenMP: on two cores its threads
    // made a page 3-4 times slower. One thread per engine; the workers are the parallelism.
    ::setenv("OMP_THREAD_LIMIT", "1", 1);
    Diagnostics diags;
    for (const std::string& file : settings.getList("templates")) {
      fs::path p(file);
      if (p.is_relative()) p = fs::path(context.configDir) / p;
      if (auto t = loadTemplate(p, diags)) templates_.push_back(std::move(*t));
    }
    if (!diags.empty()) throw ConfigError("templates:\n" + diags.format());
    if (templates_.empty()) throw ConfigError("templates: no template");
    const std::string chosen = settings.getString("template");
    for (const Template& t : templates_)
      if (chosen.empty() || t.id == chosen) candidates_.push_back(&t);
    if (candidates_.empty()) throw ConfigError("template: no template has the id '" + chosen + "'");
    if (candidates_.size() > 1)
      for (const Template* t : candidates_)
        if (std::none_of(t->anchors.begin(), t->anchors.end(), [](const Anchor& a) { return a.width > 0; }))
          throw ConfigError(t->file.string() + ": template '" + t->id + "' has no anchor with a box: with several "
                            "templates each scan is matched to one by its anchor text (or set template)");
    workers_ = static_cast<int>(settings.getInt("workers"));
    if (workers_ < 1 || workers_ > 16) throw ConfigError("workers: 1 to 16");
    reviewBelow_ = static_cast<int>(settings.getInt("review-below"));
    if (reviewBelow_ < 0 || reviewBelow_ > 100) throw ConfigError("review-below: 0 to 100");
    maxPixels_ = settings.getInt("max-pixels");
    if (maxPixels_ < 1000000) throw ConfigError("max-pixels: at least 1000000");
    limits_.maxPixels = maxPixels_;
    limits_.maxPages = static_cast<int>(settings.getInt("max-pages"));
    if (limits_.maxPages < 1 || limits_.maxPages > 10000) throw ConfigError("max-pages: 1 to 10000");
    limits_.pdfDpi = static_cast<int>(settings.getInt("pdf-dpi"));
    if (limits_.pdfDpi < 150 || limits_.pdfDpi > 600) throw ConfigError("pdf-dpi: 150 to 600");
    minDpi_ = static_cast<int>(settings.getInt("min-dpi"));
    if (minDpi_ < 50 || minDpi_ > 600) throw ConfigError("min-dpi: 50 to 600");
    limits_.pdfRenderer = settings.has("pdf-renderer") ? settings.getPath("pdf-renderer") : defaultPdfRenderer();
    if (::access(limits_.pdfRenderer.c_str(), X_OK) != 0)
      throw ConfigError("pdf-renderer: '" + limits_.pdfRenderer.string() +
                        "' is not a program renkei may run (renkei-pdf-pages, built and installed with the ocr "
                        "connector)");
    limits_.pdfTimeoutMs = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(settings.getDuration("pdf-timeout")).count());
    if (limits_.pdfTimeoutMs < 1000 || limits_.pdfTimeoutMs > 3600000) throw ConfigError("pdf-timeout: 1s to 1h");
    // Leptonica's own messages ("Error in pixReadStreamPng …") go to the
    // host's log at debug level, timestamped, instead of bare on stderr; the
    // connector says why a scan is refused. They name functions, not data.
    leptonicaLog_.store(log_);
    leptSetStderrHandler([](const char* message) {
      if (Poco::Logger* l = leptonicaLog_.load(); l && l->debug()) l->debug("leptonica: %s", trimmed(message));
    });
    if (settings.has("tessdata")) tessdata_ = settings.getPath("tessdata").string();
    maxEdits_ = static_cast<int>(settings.getInt("address-max-edits"));
    if (maxEdits_ < 0 || maxEdits_ > 10) throw ConfigError("address-max-edits: 0 to 10");
    if (settings.has("address-master")) loadTowns(settings.getPath("address-master"));
    // A 個人番号 is read only where it may be held: the mynumber zone
    // (個人番号利用事務系), never LGWAN or the internet.
    for (const Template* t : candidates_)
      for (const Zone& z : t->zones)
        if (z.pii == "mynumber" && context.zone != "mynumber")
          throw ConfigError(t->file.string() + ":" + std::to_string(z.line) + ": zone '" + z.field +
                            "' holds a 個人番号 (pii mynumber): read it in an instance of the mynumber zone "
                            "(個人番号利用事務系), not " + context.zone);
    for (const Template* t : candidates_)
      for (const Zone& z : t->zones)
        if (z.snapToTown && towns_.empty())
          throw ConfigError(t->file.string() + ":" + std::to_string(z.line) + ": zone '" + z.field +
                            "' is snapped to the town list (master=\"town\"): set address-master");
    poll_ = std::chrono::duration_cast<std::chrono::milliseconds>(settings.getDuration("poll"));
    DropFolderOptions o;
    o.directory = settings.getPath("directory");
    // The rendered PDF page waits here until read (a resident's paper): the
    // connector's own folder, 0700; what a crash left is removed at start.
    limits_.renderDir = o.directory / "render";
    o.noun = "scan";
    o.patterns = settings.getList("pattern");
    o.maxFileSize = settings.getSize("max-file-size");
    o.fsync = settings.getBool("fsync");
    o.keepDoneFor = std::chrono::duration_cast<std::chrono::milliseconds>(settings.getDuration("keep-done-for"));
    o.createDirectories = true;  // made when the host runs (renkei check makes nothing)
    o.stamp = [this] {
      const std::int64_t now = services_->nowMs();
      return localTimeAt(now, services_->utcOffsetMinutes(now));
    };
    o.refused = [this](const std::string& name, const std::string& reason) {
      if (services_) services_->recordRefusal(name, reason);
    };
    drop_ = std::make_unique<DropFolder>(std::move(o), log_, id_);
    drop_->check();
    keepReportMs_ = std::chrono::duration_cast<std::chrono::milliseconds>(settings.getDuration("keep-report-for")).count();
    if (context.validating) return;  // renkei check: no store
    {
      std::error_code ec;
      fs::remove_all(limits_.renderDir, ec);
      fs::create_directories(limits_.renderDir, ec);
      fs::permissions(limits_.renderDir, fs::perms::owner_all, ec);
      if (ec) throw ConfigError("cannot make the render folder " + limits_.renderDir.string() + ": " + ec.message());
    }
    openState();
    if (AdminRegistry* admin = services_->admin())
      admin->addHandler("report",
                        "recognition per template, field or day: pages, fields read, marked for review and why, "
                        "confidence distribution; or the items staff corrected most (?by=template|field|day|correction"
                        "&from=YYYY-MM-DD&to=YYYY-MM-DD; CSV)",
                        "view", [this](const AdminRequest& request) {
                          AdminResponse r;
                          auto get = [&](const char* k, const char* fallback) {
                            auto it = request.query.find(k);
                            return it == request.query.end() ? std::string(fallback) : it->second;
                          };
                          std::string error;
                          if (get("by", "") == "correction") {
                            const auto rows = corrections(get("from", ""), get("to", ""), error);
                            if (error.empty()) {
                              r.contentType = "text/csv; charset=utf-8";
                              r.body = correctionsCsv(rows);
                              return r;
                            }
                          }
                          const auto rows = error.empty() ? report(get("by", "template"), get("from", ""), get("to", ""), error)
                                                          : std::vector<ReportRow>{};
                          if (!error.empty()) {
                            r.status = 400;
                            r.contentType = "text/plain; charset=utf-8";
                            r.body = error + "\n";
                            return r;
                          }
                          r.contentType = "text/csv; charset=utf-8";
                          r.body = reportCsv(get("by", "template"), rows);
                          return r;
                        });
  }

  /// renkei ocr report [--per template|field|day|correction] [--from D] [--to D] [--format text|csv]
  std::optional<OperatorResult> operate(const OperatorRequest& request) override {
    if (request.action != "report") return std::nullopt;
    openState();
    auto opt = [&](const char* k, const char* fallback) {
      auto it = request.options.find(k);
      return it == request.options.end() ? std::string(fallback) : it->second;
    };
    OperatorResult r;
    const std::string by = opt("--per", "template");
    const std::string format = opt("--format", "text");
    if (format != "text" && format != "csv") {
      r.status = 2;
      r.error = "--format: text or csv";
      return r;
    }
    if (by == "correction") {
      const auto rows = corrections(opt("--from", ""), opt("--to", ""), r.error);
      if (!r.error.empty()) {
        r.status = 2;
        return r;
      }
      if (format == "csv") {
        r.output = correctionsCsv(rows);
        return r;
      }
      r.output = "items staff corrected in the drafts read here, most first (from review; names, never values)\n";
      if (rows.empty()) r.output += "  no correction in that period\n";
      for (const CorrectionRow& x : rows)
        r.output += "  " + x.templ + " " + x.field + ": corrected on " + std::to_string(x.corrected) + " of " +
                    std::to_string(x.pages) + (x.pages == 1 ? " page" : " pages") + " read (" +
                    (x.pages ? std::to_string((x.corrected * 1000 / x.pages + 5) / 10) : std::string("-")) + " %)\n";
      return r;
    }
    const auto rows = report(by, opt("--from", ""), opt("--to", ""), r.error);
    if (!r.error.empty()) {
      r.error = "--per " + by + ": " + r.error;
      r.status = 2;
      return r;
    }
    if (format == "csv") {
      r.output = reportCsv(by, rows);
      return r;
    }
    r.output = "recognition by " + by + " (fields read: boxes with ink; marked: for review, and why)\n";
    if (rows.empty()) r.output += "  nothing read in that period\n";
    for (const ReportRow& x : rows) {
      auto pct = [](std::int64_t n, std::int64_t of) {
        return of ? std::to_string((n * 1000 / of + 5) / 10) + " %" : std::string("-");
      };
      r.output += "  " + x.key + ": " + std::to_string(x.pages) + (x.pages == 1 ? " page, " : " pages, ") +
                  std::to_string(x.fields) +
                  " fields read, " + std::to_string(x.marked) + " marked (" + pct(x.marked, x.fields) + ": " +
                  std::to_string(x.always) + " names always, " + std::to_string(x.lowConfidence) +
                  " low confidence, " + std::to_string(x.check) + " a check failed, " + std::to_string(x.town) +
                  " town list), mean confidence " + std::to_string(x.fields ? x.confidenceSum / x.fields : 0) +
                  ", confidence 0-49/50-69/70-79/80-89/90-100: " + std::to_string(x.buckets[0]) + "/" +
                  std::to_string(x.buckets[1]) + "/" + std::to_string(x.buckets[2]) + "/" + std::to_string(x.buckets[3]) +
                  "/" + std::to_string(x.buckets[4]) + "\n";
    }
    return r;
  }

  std::vector<EmittedType> emits() const override {
    std::vector<EmittedType> out;
    for (const Template* t : candidates_)
      out.push_back({t->record, EmittedType::Routes::AtLeastOne, "the fields read from scans of '" + t->name + "'"});
    return out;
  }

  void start() override {
    // What a killed process had claimed comes first: taken back here, before
    // any worker claims (processing/ then holds only what they are reading).
    {
      std::lock_guard lock(recoveredMutex_);
      recovered_ = drop_->recover();
    }
    if (once_) return;  // serve --once: takeWaiting() reads on the host's thread
    for (int i = 0; i < workers_; ++i) {
      auto w = std::make_unique<Worker>();
      auto engines = std::make_shared<Engines>(tessdata_);
      Worker* self = w.get();
      Worker::Options opt;
      opt.interval = poll_;
      w->start("ocr " + id_ + ": reading", opt, [this, engines, self] { pass(*engines, [self] { return self->stopRequested(); }); },
               *log_);
      workers.push_back(std::move(w));
    }
  }

  void stop() override {
    for (auto& w : workers) w->stop();
    workers.clear();
  }

  /// --once: what waits now, read on the caller's thread.
  void takeWaiting() override {
    Engines engines(tessdata_);
    pass(engines, [] { return false; });
  }

 private:
  /// Reads scans until none waits (or stopping).
  void pass(Engines& engines, const std::function<bool()>& stopping) {
    for (;;) {
      std::optional<Intake> item;
      {
        std::lock_guard lock(recoveredMutex_);
        if (recovered_.empty()) break;
        item = recovered_.back();
        recovered_.pop_back();
      }
      if (stopping()) return;
      if (!readOne(*item, engines)) {
        std::lock_guard lock(recoveredMutex_);
        recovered_.push_back(*item);
        return;
      }
    }
    while (!stopping()) {
      auto item = drop_->claimNext();
      if (!item) return;
      if (!readOne(*item, engines)) return;
    }
  }

  /// Reads one scan and hands its record to the host. False: the store
  /// cannot take it now (the scan stays claimed and is read again).
  bool readOne(const Intake& item, Engines& engines) {
    std::string why;
    std::vector<PageRead> pages;
    try {
      why = read(item, engines, pages);
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (why.empty() && pages.empty()) why = "nothing read";
    if (!why.empty()) {
      log_->warning("ocr %s: '%s' refused: %s", id_, printable(item.name), why);
      drop_->fail(item, drop_->reasonText(item.name, why));
      services_->recordRefusal(item.name, why);
      return true;
    }
    Emission e;
    e.key = "ocr:" + sha_;
    // One set per record type (a multi-page scan may hold different forms).
    for (PageRead& p : pages) {
      auto set = std::find_if(e.sets.begin(), e.sets.end(), [&](const auto& x) { return x.recordType == p.t->record; });
      if (set == e.sets.end()) {
        e.sets.push_back({p.t->record, {}});
        set = std::prev(e.sets.end());
      }
      set->records.push_back(std::move(*p.record));
    }
    // The recognition report's rows, in the same commit as the records
    // (once: only when the key is new).
    const std::int64_t now = services_->nowMs();
    const std::string day = localTimeAt(now, services_->utcOffsetMinutes(now)).substr(0, 10);
    e.state = [this, &pages, now, day, sha = sha_](StateSession& s) {
      for (const PageRead& p : pages) {
        std::int64_t marked = 0;
        for (const FieldStat& f : p.stats) {
          if (!f.marked.empty()) ++marked;
          s.run("INSERT INTO " + fieldsTable_ +
                    " (sha256, page, field, template, day, confidence, empty, marked) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                {sha, static_cast<std::int64_t>(p.page), f.field, p.t->id, day, static_cast<std::int64_t>(f.confidence),
                 static_cast<std::int64_t>(f.empty ? 1 : 0), f.marked});
        }
        s.run("INSERT INTO " + pagesTable_ +
                  " (sha256, page, template, day, read_ms, marked, turned) VALUES (?, ?, ?, ?, ?, ?, ?)",
              {sha, static_cast<std::int64_t>(p.page), p.t->id, day, now, marked,
               static_cast<std::int64_t>(p.turned ? 1 : 0)});
      }
      if (keepReportMs_ > 0) {
        // Whole local days: a row goes once its day is wholly older than the retention.
        const std::string cutoff = localTimeAt(now - keepReportMs_, services_->utcOffsetMinutes(now)).substr(0, 10);
        s.run("DELETE FROM " + fieldsTable_ + " WHERE day < ?", {cutoff});
        s.run("DELETE FROM " + pagesTable_ + " WHERE day < ?", {cutoff});
        s.run("DELETE FROM " + correctionsTable_ + " WHERE day < ?", {cutoff});
      }
    };
    const Outcome o = services_->emit(e);
    if (o.status() == Outcome::Status::Retry) return false;
    if (!o.isOk()) {
      drop_->fail(item, drop_->reasonText(item.name, o.message()));
      return true;
    }
    if (const Outcome d = drop_->done(item); !d.isOk())
      log_->error("ocr %s: '%s' is read but %s", id_, printable(item.name), d.message());
    return true;
  }

  std::shared_ptr<const FieldNames> names(const Template& t) {
    std::lock_guard lock(namesMutex_);
    auto& slot = names_[t.id];
    if (!slot) {
      FieldNames n{"document", "template", "sha256", "dpi", "source", "review_count", "turned", "page", "pages", "review_fields",
                    "resident_type"};
      for (const Zone& z : t.zones)
        for (const char* suffix : {"", ".raw", ".confidence", ".review", ".why", ".box"})
          n.push_back(z.field + suffix);
      slot = std::make_shared<const FieldNames>(std::move(n));
    }
    return slot;
  }

  /// Every page of the scan read, one record each; "" or why the scan
  /// cannot be read (naming the page of a multi-page scan). Blank pages (the
  /// back of a sheet scanned on both sides) are passed over; a scan with
  /// nothing else is refused.
  std::string read(const Intake& item, Engines& engines, std::vector<PageRead>& out) {
    ScanPages pages;
    if (std::string why = pages.open(item.path, limits_); !why.empty()) return why;
    sha_ = seal::sha256Hex(readAll(item.path));
    const int n = pages.count();
    auto where = [n](int i) { return n > 1 ? "page " + std::to_string(i + 1) + " of " + std::to_string(n) + ": " : std::string(); };
    for (int i = 0; i < n; ++i) {
      PixPtr scanned;
      if (std::string why = pages.page(i, scanned); !why.empty()) return where(i) + why;
      if (blankPage(scanned.get())) continue;
      std::optional<Record> record;
      PageRead p;
      if (std::string why = readPage(item, engines, std::move(scanned), record, p); !why.empty())
        return where(i) + why;
      record->set(7, std::to_string(i + 1));
      record->set(8, std::to_string(n));
      p.record = std::move(record);
      p.page = i + 1;
      out.push_back(std::move(p));
    }
    if (out.empty()) return n > 1 ? "every page is blank" : "the page is blank";
    return {};
  }

  /// One page read into `out`; "" or why it cannot be read.
  std::string readPage(const Intake& item, Engines& engines, PixPtr scanned, std::optional<Record>& out,
                       PageRead& page) {
    // Uneven light — the shadow of a fold, a curled edge — flattened to
    // even paper before anything is read (Leptonica's background
    // normalisation; text stays dark).
    if (PixPtr even(pixBackgroundNorm(scanned.get(), nullptr, nullptr, 10, 15, 100, 50, 255, 2, 1)); even)
      scanned = std::move(even);
    // Each template in turn, the page as it came and turned round: the
    // registration marks (deskewed by the top ones), then the anchor text
    // in its box says which form it is, and which way up.
    // Why no template fits, by what each kind looks for: marks, a card's
    // edges, printed texts.
    bool marks = false, edges = false;
    std::string texts;
    for (const Template* t : candidates_) {
      if (t->byEdges) edges = true;
      else if (t->byTexts) texts += (texts.empty() ? "'" : ", '") + t->name + "'";
      else marks = true;
    }
    std::string why = std::string(marks ? "no template's registration marks found (at least 3)" : "") +
                      (edges ? std::string(marks ? ", " : "") + "no card found by its edges on a white bed" : "") +
                      (texts.empty() ? "" : std::string(marks || edges ? ", " : "") + "not the printed texts of " + texts) +
                      ": not a form this connector knows, or cut off";
    // Every template on the page as it came first, then turned round: most
    // pages come the right way up.
    PageText wholePage[2];  // as it came, turned round
    for (const bool flip : {false, true}) {
      // Forms without marks found by their texts: all of them are tried on
      // the one whole-page read, and the nearest is taken (a 個人事項証明書's
      // title is two characters from a 全部事項証明書's).
      const Template* byTexts = nullptr;
      Alignment byTextsAt;
      PixPtr byTextsPage;
      for (const Template* t : candidates_) {
        PixPtr gray(flip ? pixRotate180(nullptr, scanned.get()) : pixClone(scanned.get()));
        if (!gray) continue;
        Alignment a = t->byEdges   ? alignByEdges(gray, *t)
                      : t->byTexts ? alignByTexts(gray, *t, engines, wholePage[flip ? 1 : 0])
                                   : align(gray.get(), *t);
        if (a.found < 3) continue;
        if (a.dpi < minDpi_)
          return "the page is scanned at about " + std::to_string(static_cast<int>(std::lround(a.dpi))) +
                 " dpi, coarser than min-dpi (" + std::to_string(minDpi_) + "): too few pixels to read; scan it " +
                 "again at 300 dpi";
        if (t->byTexts) {
          if (!byTexts || a.cost < byTextsAt.cost) {
            byTexts = t;
            byTextsAt = a;
            byTextsPage = std::move(gray);
          }
          continue;
        }
        const double angle = t->byEdges || t->byTexts ? 0.0 : skew(*t);
        if (std::fabs(angle) > 0.0015) {
          PixPtr straight(pixRotate(gray.get(), -angle, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0));
          if (!straight) continue;
          gray = std::move(straight);
          a = align(gray.get(), *t);
          if (a.found < 3) continue;
        }
        const bool boxed = std::any_of(t->anchors.begin(), t->anchors.end(), [](const Anchor& x) { return x.width > 0; });
        // (A template registered by its texts has found them already.)
        if (boxed && !t->byTexts && !anchored(gray.get(), a, *t, engines)) {
          why = "the registration marks of '" + t->name + "' are found but not all its anchor texts, either way up: " +
                "another form";
          continue;
        }
        if (!boxed && flip) continue;  // marks alone cannot tell which way up: taken as it came
        out.emplace(names(*t));
        page.t = t;
        page.turned = flip;
        readZones(item, engines, gray.get(), a, *t, flip, *out, page.stats);
        return {};
      }
      if (byTexts) {
        out.emplace(names(*byTexts));
        page.t = byTexts;
        page.turned = flip;
        readZones(item, engines, byTextsPage.get(), byTextsAt, *byTexts, flip, *out, page.stats);
        return {};
      }
    }
    return why;
  }

  /// Whether every anchor text of `t` with a box is in its box (a few
  /// characters may be misread): the title and the issuer's name together
  /// tell one municipality's 転出証明書 from another's.
  bool anchored(PIX* gray, const Alignment& a, const Template& t, Engines& engines) const {
    bool any = false;
    for (const Anchor& anchor : t.anchors) {
      if (anchor.width <= 0) continue;
      any = true;
      const int x = static_cast<int>(a.offsetX + anchor.x * a.scaleX), y = static_cast<int>(a.offsetY + anchor.y * a.scaleY);
      const int w = static_cast<int>(anchor.width * a.scaleX), h = static_cast<int>(anchor.height * a.scaleY);
      if (x < 0 || y < 0 || w < 8 || h < 8 || x + w > static_cast<int>(pixGetWidth(gray)) ||
          y + h > static_cast<int>(pixGetHeight(gray)))
        return false;
      BOX* box = boxCreate(x, y, w, h);
      PixPtr clip(pixClipRectangle(gray, box, nullptr));
      boxDestroy(&box);
      if (!clip || blank(clip.get())) return false;
      tesseract::TessBaseAPI* api = engines.get("jpn");
      api->SetPageSegMode(tesseract::PSM_SINGLE_LINE);
      api->SetImage(clip.get());
      api->SetSourceResolution(static_cast<int>(std::lround(a.dpi)));
      char* text = api->GetUTF8Text();
      const std::u32string read = utf8CodePoints(withoutSpaces(trimmed(text ? text : "")));
      delete[] text;
      api->Clear();
      const std::u32string want = utf8CodePoints(withoutSpaces(anchor.text));
      if (want.empty() || edits(read, want) * 3 > want.size()) return false;
    }
    return any;
  }

  void readZones(const Intake& item, Engines& engines, PIX* page, const Alignment& a, const Template& t, bool flipped,
                 Record& record, std::vector<FieldStat>& stats) {
    std::size_t reviews = 0;
    record.set(0, item.name);
    record.set(1, t.id);
    record.set(6, flipped ? "180" : "0");
    record.set(2, sha_);
    record.set(3, std::to_string(static_cast<int>(std::lround(a.dpi))));
    record.set(4, "ocr");
    // Whose document: a 戸籍 certificate is a Japanese resident's, a 在留カード
    // a foreign resident's; a 転出証明書 or a licence says nothing by itself.
    record.set(10, t.residents == "japanese" ? "日本人" : t.residents == "foreign" ? "外国人" : "");
    std::size_t at = 11;
    std::string reviewFields;  // the fields marked, by name (never what was read)
    for (const Zone& z : t.zones) {
      const double inset = 0.7;  // mm: the box's own lines stay out
      const int x = static_cast<int>(a.offsetX + (z.x + inset) * a.scaleX);
      const int y = static_cast<int>(a.offsetY + (z.y + inset) * a.scaleY);
      const int zw = static_cast<int>((z.width - 2 * inset) * a.scaleX), zh = static_cast<int>((z.height - 2 * inset) * a.scaleY);
      std::string text, raw, why;
      int confidence = 0;
      if (x >= 0 && y >= 0 && zw > 4 && zh > 4 && x + zw <= static_cast<int>(pixGetWidth(page)) &&
          y + zh <= static_cast<int>(pixGetHeight(page))) {
        BOX* box = boxCreate(x, y, zw, zh);
        PixPtr clip(pixClipRectangle(page, box, nullptr));
        boxDestroy(&box);
        if (blank(clip.get())) {  // an empty box: nothing to read, nothing to review
          record.set(at++, "");
          record.set(at++, "");
          record.set(at++, "100");
          record.set(at++, "false");
          record.set(at++, "");
          record.set(at++, std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(zw) + "," + std::to_string(zh));
          stats.push_back({z.field, 100, true, ""});
          continue;
        }
        // A white margin round the text: the engine reads a box edge to edge badly.
        tesseract::TessBaseAPI* api = engines.get(z.lang);
        auto readAt = [&](float scale, int& conf) {
          PixPtr scaled(scale == 1.0f ? pixClone(clip.get()) : pixScale(clip.get(), scale, scale));
          PixPtr framed(pixAddBorder(scaled ? scaled.get() : clip.get(), static_cast<l_uint32>(a.scaleX * 2 * scale), 255));
          api->SetPageSegMode(static_cast<tesseract::PageSegMode>(z.psm));
          api->SetImage(framed ? framed.get() : clip.get());
          api->SetSourceResolution(static_cast<int>(std::lround(a.dpi * scale)));
          char* t = api->GetUTF8Text();
          std::string out = trimmed(t ? t : "");
          delete[] t;
          conf = out.empty() ? 0 : std::max(0, api->MeanTextConf());
          api->Clear();
          return out;
        };
        if (z.type == "name") {
          // Names are read at three sizes — as if scanned at 200, 150 and
          // 120 dpi, never enlarged — and the most confident reading kept:
          // Debian's model misreads name kanji less on smaller text (held-
          // apart pages at 300 dpi: 9.9 % of characters wrong read as
          // scanned, 1.7 % taking the best of the three; bench/ocr).
          double last = 0;
          for (const double target : {200.0, 150.0, 120.0}) {
            const double scale = std::min(target / a.dpi, 1.0);
            if (scale > 0.95 * last && last > 0) continue;  // a size already read
            int conf = 0;
            std::string reading = readAt(static_cast<float>(scale), conf);
            if (last == 0 || conf > confidence) raw = std::move(reading), confidence = conf;
            last = scale;
          }
        } else {
          raw = readAt(1.0f, confidence);
        }
        // A value from a code table the first reading is not in: read again
        // at other sizes (the model reads a lone 男 at 200 dpi, not at 300).
        if (!z.codes.empty() && !z.codes.count(text::toHalfwidth(withoutSpaces(raw))))
          for (float scale : {0.67f, 1.5f}) {
            int conf = 0;
            const std::string again = readAt(scale, conf);
            if (z.codes.count(text::toHalfwidth(withoutSpaces(again)))) {
              raw = again;
              confidence = conf;
              break;
            }
          }
      } else {
        why = "the zone falls outside the scan";
      }
      bool warnOnly = false;
      text = correct(z, raw, why, warnOnly);
      const int below = z.reviewBelow >= 0 ? z.reviewBelow : reviewBelow_;
      const bool review = z.reviewAlways || confidence < below || (!why.empty() && !warnOnly);
      const std::string marked = !review            ? ""
                                 : z.reviewAlways    ? "always"
                                 : why.empty() || warnOnly ? "confidence"
                                 : why.find("town") != std::string::npos ? "town"
                                                                               : "check";
      stats.push_back({z.field, confidence, false, marked});
      if (review) {
        ++reviews;
        reviewFields += (reviewFields.empty() ? "" : " ") + z.field;
        if (why.empty()) why = z.reviewAlways ? (z.type == "latin" ? "always reviewed (a name)"
                                                                   : "always reviewed (names: the model cannot write some name kanji)")
                                              : "confidence " + std::to_string(confidence) + " below " +
                                                    std::to_string(below);
      }
      record.set(at++, text);
      record.set(at++, raw == text ? std::string() : raw);
      record.set(at++, std::to_string(confidence));
      record.set(at++, review ? "true" : "false");
      record.set(at++, why);
      record.set(at++, std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(zw) + "," + std::to_string(zh));
    }
    record.set(5, std::to_string(reviews));
    record.set(9, reviewFields);
    log_->information("ocr %s: '%s' read with %s%s: %z fields, %z for review", id_, printable(item.name), t.id,
                      std::string(flipped ? " (turned round: it was upside down)" : ""), t.zones.size(), reviews);
  }

  /// What the reading becomes once the city's rules have seen it; `why`
  /// says what looks wrong.
  std::string correct(const Zone& z, const std::string& raw, std::string& why, bool& warnOnly) const {
    std::string v = raw;
    if (z.type == "digits" || z.type == "era-date" || z.type == "date" || z.type == "code")
      v = text::toHalfwidth(withoutSpaces(v));
    if (z.type == "code")
      for (char& c : v)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (z.type == "latin") {
      // Latin names as printed on cards: capitals, one space between parts.
      std::string out;
      for (char c : text::toHalfwidth(v)) {
        if (c == ' ') {
          if (!out.empty() && out.back() != ' ') out += ' ';
          continue;
        }
        out += c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      v = out;
    }
    if (z.type == "digits") {
      std::string d;
      for (char c : v)
        if (c >= '0' && c <= '9') d += c;
      if (d.size() != v.size() && why.empty()) why = "characters other than digits were read (dropped)";
      v = d;
    }
    if (z.type == "address") {
      // Address notation the model gets wrong in known ways: 丁 read as 」
      // or lost between a number and 目, a stray quote inside a word.
      std::string out;
      for (std::size_t i = 0; i < v.size();) {
        const bool afterDigit = !out.empty() && out.back() >= '0' && out.back() <= '9';
        if (afterDigit && v.compare(i, 6, "」目") == 0) {
          out += "丁目";
          i += 6;
        } else if (afterDigit && v.compare(i, 3, "目") == 0) {
          out += "丁目";
          i += 3;
        } else if (v[i] == '\'' || v[i] == '`' || v[i] == '"') {
          ++i;
        } else {
          out += v[i++];
        }
      }
      v = out;
    }
    if (z.type == "name" || z.type == "address" || z.type == "kanji") {
      // One full-width space between 氏 and 名, none in an address.
      std::string out;
      bool space = false;
      for (std::size_t i = 0; i < v.size();) {
        const bool sp = v[i] == ' ' || v.compare(i, 3, "\u3000") == 0;
        if (sp) {
          space = true;
          i += v[i] == ' ' ? 1 : 3;
          continue;
        }
        if (space && !out.empty() && z.type == "name") out += "\u3000";
        space = false;
        out += v[i++];
      }
      v = out;
    }
    if (!z.codes.empty() && !v.empty()) {
      auto it = z.codes.find(v);
      if (it != z.codes.end()) v = it->second;
      else if (why.empty()) why = "not one of the codes printed on this form";
    }
    if (v.empty()) return v;
    if (z.snapToTown) return snap(v, why);
    if (!z.list.empty()) return snapToList(z, v, why);
    if (z.type == "era-date") {
      // A real date of its era (昭和64年1月8日 is none), stated as ISO.
      if (auto iso = text::eraToIso(v, text::EraFormat::Kanji)) return *iso;
      if (why.empty()) why = "not a real date of its era";
      return v;
    }
    if (z.type == "date") {
      // A Western date as cards print it (1991年06月19日, 1991.06.19), real, as ISO.
      if (auto iso = gregorianToIso(v)) return *iso;
      if (why.empty()) why = "not a real date";
      return v;
    }
    if (z.check == "juminhyo-code" && v.size() != 11 && why.empty()) why = "not a 住民票コード (11 digits)";
    if (z.check == "juminhyo-code" && v.size() == 11 && !text::isValidJuminhyoCode(v) && why.empty()) {
      // The formula is not confirmed (the 個人番号 scheme on 10 digits is
      // assumed): said, not a reason for review on its own.
      why = "the check digit does not agree with the assumed 住民票コード formula (unconfirmed: a warning)";
      warnOnly = true;
    }
    if (z.check == "mynumber" && !text::isValidMyNumber(v) && why.empty()) why = "not a 個人番号 (check digit)";
    if (z.check == "residence-card-number") {
      // Two letters, eight digits, two letters: what the model confuses
      // between them (O/0, I/1, S/5, B/8, Z/2, J read as ')') put in its
      // place by position — said, and shown.
      std::string a;
      for (char c : v)
        if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ')' || c == '$') a += c;
      if (a.size() == 12) {
        static const std::map<char, char> toLetter = {{'0', 'O'}, {'1', 'I'}, {'5', 'S'}, {'8', 'B'},
                                                      {'2', 'Z'}, {')', 'J'}, {'$', 'S'}};
        static const std::map<char, char> toDigit = {{'O', '0'}, {'D', '0'}, {'Q', '0'}, {'I', '1'}, {'L', '1'},
                                                     {'S', '5'}, {'$', '5'}, {'B', '8'}, {'Z', '2'}};
        for (std::size_t i = 0; i < 12; ++i) {
          const bool letter = i < 2 || i >= 10;
          const auto& table = letter ? toLetter : toDigit;
          if (auto it = table.find(a[i]); it != table.end()) a[i] = it->second;
        }
        if (a != v && text::isValidResidenceCardNumber(a)) {
          v = a;
          if (why.empty()) why = "letters and digits put in their places by the 在留カード number's pattern";
        }
      }
    }
    if (z.check == "residence-card-number" && !text::isValidResidenceCardNumber(v) && why.empty())
      why = "not a 在留カード number (two letters, eight digits, two letters)";
    return v;
  }

  /// 1991年06月19日, 1991.06.19, 1991/06/19 or 1991-06-19 → 1991-06-19 when
  /// that day exists.
  static std::optional<std::string> gregorianToIso(const std::string& v) {
    int part[3] = {0, 0, 0}, k = 0, digits = 0;
    for (std::size_t i = 0; i < v.size() && k < 3;) {
      const unsigned char c = static_cast<unsigned char>(v[i]);
      if (c >= '0' && c <= '9') {
        part[k] = part[k] * 10 + (c - '0');
        ++digits;
        ++i;
        continue;
      }
      if (digits == 0) return std::nullopt;
      ++k;
      digits = 0;
      if (v.compare(i, 3, "年") == 0 || v.compare(i, 3, "月") == 0 || v.compare(i, 3, "日") == 0) i += 3;
      else if (c == '.' || c == '/' || c == '-') ++i;
      else return std::nullopt;
    }
    if (digits > 0) ++k;
    if (k != 3) return std::nullopt;
    const int y = part[0], m = part[1], d = part[2];
    if (y < 1868 || y > 2200 || !text::isRealDate(y, m, d)) return std::nullopt;
    char out[32];
    std::snprintf(out, sizeof out, "%04d-%02d-%02d", y, m, d);
    return std::string(out);
  }

  void loadTowns(const fs::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw ConfigError("address-master: cannot read '" + file.string() + "'");
    const std::string text = readAll(file);
    for (std::size_t at = 0; at < text.size();) {
      std::size_t nl = text.find('\n', at);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(at, nl - at);
      at = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      towns_.push_back(utf8CodePoints(withoutSpaces(text::toHalfwidth(line))));
    }
    if (towns_.empty()) throw ConfigError("address-master: '" + file.string() + "' lists no town");
  }

  static std::string utf8(const std::u32string& s) {
    std::string out;
    for (char32_t c : s) {
      if (c < 0x80) out += static_cast<char>(c);
      else if (c < 0x800) out += static_cast<char>(0xC0 | (c >> 6)), out += static_cast<char>(0x80 | (c & 0x3F));
      else if (c < 0x10000)
        out += static_cast<char>(0xE0 | (c >> 12)), out += static_cast<char>(0x80 | ((c >> 6) & 0x3F)),
            out += static_cast<char>(0x80 | (c & 0x3F));
      else
        out += static_cast<char>(0xF0 | (c >> 18)), out += static_cast<char>(0x80 | ((c >> 12) & 0x3F)),
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F)), out += static_cast<char>(0x80 | (c & 0x3F));
    }
    return out;
  }

  static std::size_t edits(const std::u32string& a, const std::u32string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  }

  /// The reading's town part snapped to the nearest town of the list (its
  /// first characters against each town, a few more or fewer), when no
  /// more than address-max-edits apart and no other town as near.
  std::string snap(const std::string& reading, std::string& why) const {
    const std::u32string r = utf8CodePoints(withoutSpaces(text::toHalfwidth(reading)));
    std::size_t best = SIZE_MAX, bestLen = 0, ties = 0;
    const std::u32string* town = nullptr;
    for (const std::u32string& t : towns_) {
      const std::size_t lo = t.size() > 2 ? t.size() - 2 : 0;
      for (std::size_t len = lo; len <= t.size() + 2 && len <= r.size(); ++len) {
        const std::size_t e = edits(r.substr(0, len), t);
        if (e < best) best = e, bestLen = len, town = &t, ties = 0;
        else if (e == best && town != &t) ++ties;
      }
    }
    if (!town || best > static_cast<std::size_t>(maxEdits_)) {
      if (why.empty()) why = "not in the town list (address-master) within " + std::to_string(maxEdits_) + " edits";
      return reading;
    }
    if (ties) {
      if (why.empty()) why = "as near to two towns of the list: not snapped";
      return reading;
    }
    const std::string snapped = utf8(*town) + utf8(r.substr(bestLen));
    if (best > 0 && why.empty()) why = "snapped to the town list (" + std::to_string(best) + " edits)";
    return snapped;
  }

  void openState() {
    if (state_) return;
    state_ = &services_->state();
    state_->migrate({
        // The recognition report: per page read and per field, no values.
        "CREATE TABLE {pages} (sha256 TEXT NOT NULL, page BIGINT NOT NULL, template TEXT NOT NULL, day TEXT NOT NULL, "
        "read_ms BIGINT NOT NULL, marked BIGINT NOT NULL, turned BIGINT NOT NULL, PRIMARY KEY (sha256, page));"
        "CREATE INDEX {pages_day} ON {pages} (day);"
        "CREATE TABLE {fields} (sha256 TEXT NOT NULL, page BIGINT NOT NULL, field TEXT NOT NULL, template TEXT NOT NULL, "
        "day TEXT NOT NULL, confidence BIGINT NOT NULL, empty BIGINT NOT NULL, marked TEXT NOT NULL, "
        "PRIMARY KEY (sha256, page, field));"
        "CREATE INDEX {fields_day} ON {fields} (day);",
        // What staff corrected in the drafts read here (review.corrected): item names, no values.
        "CREATE TABLE {corrections} (sha256 TEXT NOT NULL, page BIGINT NOT NULL, field TEXT NOT NULL, "
        "template TEXT NOT NULL, day TEXT NOT NULL, PRIMARY KEY (sha256, page, field));"
        "CREATE INDEX {corrections_day} ON {corrections} (day);",
    });
    pagesTable_ = state_->table("pages");
    fieldsTable_ = state_->table("fields");
    correctionsTable_ = state_->table("corrections");
  }

  struct ReportRow {
    std::string key;
    std::int64_t pages = 0, fields = 0, marked = 0, always = 0, lowConfidence = 0, check = 0, town = 0;
    std::int64_t confidenceSum = 0;
    std::int64_t buckets[5] = {0, 0, 0, 0, 0};  ///< confidence 0-49, 50-69, 70-79, 80-89, 90-100
  };

  /// The recognition report between two local days (inclusive; "" open).
  std::vector<ReportRow> report(const std::string& by, const std::string& from, const std::string& to,
                                std::string& error) {
    std::string key;
    if (by == "template") key = "template";
    else if (by == "field") key = "template || ' ' || field";
    else if (by == "day") key = "day";
    else {
      error = "per: template, field, day or correction";
      return {};
    }
    if (badDay(from) || badDay(to)) {
      error = "from, to: YYYY-MM-DD";
      return {};
    }
    const std::string lo = from.empty() ? "0000-00-00" : from, hi = to.empty() ? "9999-99-99" : to;
    std::map<std::string, ReportRow> rows;
    state_->read([&](StateSession& s) {
      s.query("SELECT " + key + ", count(*), "
                  "sum(CASE WHEN marked <> '' THEN 1 ELSE 0 END), sum(CASE WHEN marked = 'always' THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN marked = 'confidence' THEN 1 ELSE 0 END), sum(CASE WHEN marked = 'check' THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN marked = 'town' THEN 1 ELSE 0 END), sum(confidence), "
                  "sum(CASE WHEN confidence < 50 THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN confidence >= 50 AND confidence < 70 THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN confidence >= 70 AND confidence < 80 THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN confidence >= 80 AND confidence < 90 THEN 1 ELSE 0 END), "
                  "sum(CASE WHEN confidence >= 90 THEN 1 ELSE 0 END), count(DISTINCT sha256 || '#' || CAST(page AS TEXT)) "
                  "FROM " + fieldsTable_ + " WHERE empty = 0 AND day >= ? AND day <= ? GROUP BY " + key,
              {lo, hi}, [&](StateRows& row) {
                ReportRow x;
                x.key = row.text(0);
                x.fields = row.integer(1);
                x.marked = row.integer(2);
                x.always = row.integer(3);
                x.lowConfidence = row.integer(4);
                x.check = row.integer(5);
                x.town = row.integer(6);
                x.confidenceSum = row.integer(7);
                for (int b = 0; b < 5; ++b) x.buckets[b] = row.integer(8 + b);
                x.pages = row.integer(13);
                rows[x.key] = x;
              });
    });
    std::vector<ReportRow> out;
    for (auto& [k, x] : rows) out.push_back(std::move(x));
    return out;
  }

  struct CorrectionRow {
    std::string templ, field;
    std::int64_t corrected = 0, pages = 0;
  };

  static bool badDay(const std::string& d) { return !d.empty() && (d.size() != 10 || d[4] != '-' || d[7] != '-'); }

  /// The items staff corrected, per template, most first, with the pages
  /// read with that template in the same days (inclusive; "" open).
  std::vector<CorrectionRow> corrections(const std::string& from, const std::string& to, std::string& error) {
    if (badDay(from) || badDay(to)) {
      error = "from, to: YYYY-MM-DD";
      return {};
    }
    const std::string lo = from.empty() ? "0000-00-00" : from, hi = to.empty() ? "9999-99-99" : to;
    std::vector<CorrectionRow> out;
    std::map<std::string, std::int64_t> pages;
    state_->read([&](StateSession& s) {
      s.query("SELECT template, count(*) FROM " + pagesTable_ + " WHERE day >= ? AND day <= ? GROUP BY template",
              {lo, hi}, [&](StateRows& row) { pages[row.text(0)] = row.integer(1); });
      s.query("SELECT template, field, count(*) FROM " + correctionsTable_ +
                  " WHERE day >= ? AND day <= ? GROUP BY template, field",
              {lo, hi}, [&](StateRows& row) {
                out.push_back({row.text(0), row.text(1), row.integer(2), 0});
              });
    });
    for (CorrectionRow& x : out) x.pages = std::max(pages[x.templ], x.corrected);
    std::sort(out.begin(), out.end(), [](const CorrectionRow& a, const CorrectionRow& b) {
      return a.corrected != b.corrected ? a.corrected > b.corrected
                                        : std::tie(a.templ, a.field) < std::tie(b.templ, b.field);
    });
    return out;
  }

  static std::string correctionsCsv(const std::vector<CorrectionRow>& rows) {
    std::string out = "template,field,corrected,pages\r\n";
    for (const CorrectionRow& x : rows)
      out += csvCell(x.templ) + "," + csvCell(x.field) + "," + std::to_string(x.corrected) + "," +
             std::to_string(x.pages) + "\r\n";
    return out;
  }

  static std::string reportCsv(const std::string& by, const std::vector<ReportRow>& rows) {
    std::string out = by + ",pages,fields_read,marked,marked_always,marked_low_confidence,marked_check,"
                           "marked_town,mean_confidence,confidence_0_49,confidence_50_69,confidence_70_79,"
                           "confidence_80_89,confidence_90_100\r\n";
    for (const ReportRow& x : rows) {
      out += csvCell(x.key) + "," + std::to_string(x.pages) + "," + std::to_string(x.fields) + "," + std::to_string(x.marked) +
             "," + std::to_string(x.always) + "," + std::to_string(x.lowConfidence) + "," + std::to_string(x.check) +
             "," + std::to_string(x.town) + "," + std::to_string(x.fields ? x.confidenceSum / x.fields : 0);
      for (std::int64_t b : x.buckets) out += "," + std::to_string(b);
      out += "\r\n";
    }
    return out;
  }

  /// The reading snapped to the nearest value of the zone's list, when no
  /// more than a third of its characters apart (at least one) and no other
  /// value as near; else left as read and marked.
  static std::string snapToList(const Zone& z, const std::string& reading, std::string& why) {
    const std::u32string r = utf8CodePoints(withoutSpaces(text::toHalfwidth(reading)));
    std::size_t best = SIZE_MAX, ties = 0;
    const std::string* pick = nullptr;
    for (const std::string& v : z.list) {
      const std::size_t e = edits(r, utf8CodePoints(withoutSpaces(text::toHalfwidth(v))));
      if (e < best) best = e, pick = &v, ties = 0;
      else if (e == best) ++ties;
    }
    const std::size_t bound = std::max<std::size_t>(1, r.size() / 3);
    const std::string list = fs::path(z.listFile).filename().string();
    if (!pick || best > bound) {
      if (why.empty()) why = "not one of the values of " + list;
      return reading;
    }
    if (ties) {
      if (why.empty()) why = "as near to two values of " + list + ": not snapped";
      return reading;
    }
    if (best > 0 && why.empty()) why = "snapped to " + list + " (" + std::to_string(best) + " edits)";
    return *pick;
  }

  /// Hardly any ink (under 0.2 % of the box dark): an empty box.
  static bool blank(PIX* clip) {
    PixPtr bin(pixConvertTo1(clip, 128));
    if (!bin) return false;
    l_int32 ink = 0;
    pixCountPixels(bin.get(), &ink, nullptr);
    return ink < 0.002 * pixGetWidth(clip) * pixGetHeight(clip);
  }

  /// A page with next to no ink (under 0.02 %: a few specks of dust; one
  /// printed line is ten times that): the back of a sheet, nothing to read.
  static bool blankPage(PIX* page) {
    PixPtr bin(pixConvertTo1(page, 128));
    if (!bin) return false;
    l_int32 ink = 0;
    pixCountPixels(bin.get(), &ink, nullptr);
    return ink < 0.0002 * pixGetWidth(page) * pixGetHeight(page);
  }

  static std::string readAll(const fs::path& p) {
    std::FILE* f = std::fopen(p.c_str(), "rb");
    if (!f) return {};
    std::string out;
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    std::fclose(f);
    return out;
  }

  /// Finds the registration marks: filled squares of the template's size
  /// near where it puts them (the page's size in px gives the scale).
  Alignment align(PIX* gray, const Template& t) const {
    Alignment a;
    const int w = static_cast<int>(pixGetWidth(gray)), h = static_cast<int>(pixGetHeight(gray));
    const double sx = w / t.pageWidth, sy = h / t.pageHeight;
    a.dpi = sx * 25.4;
    PixPtr bin(pixConvertTo1(gray, 128));
    if (!bin) return a;
    BOXA* boxes = pixConnComp(bin.get(), nullptr, 8);
    if (!boxes) return a;
    const double size = t.markSize * sx;
    std::vector<std::pair<double, double>> found;  // centres in px, per mark (NaN: not found)
    for (const auto& [mx, my] : t.marks) {
      const double ex = (mx + t.markSize / 2) * sx, ey = (my + t.markSize / 2) * sy;
      double best = 1e18, bx = NAN, by = NAN;
      for (l_int32 i = 0; i < boxaGetCount(boxes); ++i) {
        l_int32 x, y, bw, bh;
        boxaGetBoxGeometry(boxes, i, &x, &y, &bw, &bh);
        if (bw < size * 0.6 || bw > size * 1.5 || bh < size * 0.6 || bh > size * 1.5) continue;
        const double cx = x + bw / 2.0, cy = y + bh / 2.0;
        const double d = std::hypot(cx - ex, cy - ey);
        if (d > 0.08 * w || d >= best) continue;
        // Filled: most of the box is ink.
        BOX* b = boxCreate(x, y, bw, bh);
        PixPtr part(pixClipRectangle(bin.get(), b, nullptr));
        boxDestroy(&b);
        l_int32 ink = 0;
        if (part) pixCountPixels(part.get(), &ink, nullptr);
        if (ink < 0.7 * bw * bh) continue;
        best = d, bx = cx, by = cy;
      }
      found.emplace_back(bx, by);
    }
    boxaDestroy(&boxes);
    // Scale and offset from the marks found (least squares per axis).
    std::vector<std::pair<double, double>> xs, ys;  // (template mm, px)
    for (std::size_t i = 0; i < found.size(); ++i) {
      if (std::isnan(found[i].first)) continue;
      ++a.found;
      xs.emplace_back(t.marks[i].first + t.markSize / 2, found[i].first);
      ys.emplace_back(t.marks[i].second + t.markSize / 2, found[i].second);
    }
    auto fit = [](const std::vector<std::pair<double, double>>& pts, double& scale, double& offset) {
      double n = static_cast<double>(pts.size()), sx = 0, sy = 0, sxx = 0, sxy = 0;
      for (const auto& [t, p] : pts) sx += t, sy += p, sxx += t * t, sxy += t * p;
      const double den = n * sxx - sx * sx;
      if (std::fabs(den) < 1e-9) return;
      scale = (n * sxy - sx * sy) / den;
      offset = (sy - scale * sx) / n;
    };
    if (a.found >= 3) {
      fit(xs, a.scaleX, a.offsetX);
      fit(ys, a.scaleY, a.offsetY);
      a.dpi = a.scaleX * 25.4;
    }
    a.found = std::min(a.found, static_cast<int>(t.marks.size()));
    lastMarks_ = found;
    return a;
  }

  /// A card laid on the scanner's glass, found by its edges: the largest
  /// region darker than the white bed (the card's tint or rim), its top
  /// edge's angle straightened (gray is replaced by the straightened scan),
  /// then its box gives scale and offset. found = 4 when a box of the
  /// template's proportions is there, else 0.
  Alignment alignByEdges(PixPtr& gray, const Template& t) const {
    Alignment a;
    auto card = [&](PIX* g, l_int32& x, l_int32& y, l_int32& w, l_int32& h) -> PixPtr {
      PixPtr bin(pixConvertTo1(g, 245));
      if (!bin) return nullptr;
      PixPtr closed(pixCloseBrick(nullptr, bin.get(), 9, 9));
      BOXA* boxes = closed ? pixConnCompBB(closed.get(), 8) : nullptr;
      x = y = w = h = 0;
      if (!boxes) return nullptr;
      for (l_int32 i = 0; i < boxaGetCount(boxes); ++i) {
        l_int32 bx, by, bw, bh;
        boxaGetBoxGeometry(boxes, i, &bx, &by, &bw, &bh);
        if (static_cast<std::int64_t>(bw) * bh > static_cast<std::int64_t>(w) * h) x = bx, y = by, w = bw, h = bh;
      }
      boxaDestroy(&boxes);
      return bin;
    };
    l_int32 x, y, w, h;
    PixPtr bin = card(gray.get(), x, y, w, h);
    if (!bin || w < 50 || h < 50) return a;
    // The top edge: the first dark pixel from the top in the middle 60 % of
    // the columns (the rounded corners left out), fitted by least squares.
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (l_int32 cx = x + w / 5; cx < x + w * 4 / 5; cx += std::max(1, w / 100)) {
      for (l_int32 cy = y; cy < y + h / 2; ++cy) {
        l_uint32 v = 0;
        pixGetPixel(bin.get(), cx, cy, &v);
        if (v) {
          n += 1, sx += cx, sy += cy, sxx += static_cast<double>(cx) * cx, sxy += static_cast<double>(cx) * cy;
          break;
        }
      }
    }
    const double den = n * sxx - sx * sx;
    const double angle = n > 10 && std::fabs(den) > 1e-9 ? std::atan((n * sxy - sx * sy) / den) : 0.0;
    if (std::fabs(angle) > 0.0015 && std::fabs(angle) < 0.2) {
      PixPtr straight(pixRotate(gray.get(), -angle, L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0));
      if (straight) {
        gray = std::move(straight);
        bin = card(gray.get(), x, y, w, h);
        if (!bin) return a;
      }
    }
    // A box of the card's proportions (within 8 %), not a stray mark.
    const double want = t.pageWidth / t.pageHeight, got = h > 0 ? static_cast<double>(w) / h : 0;
    if (got < want * 0.92 || got > want * 1.08) return a;
    a.scaleX = w / t.pageWidth;
    a.scaleY = h / t.pageHeight;
    a.offsetX = x;
    a.offsetY = y;
    a.dpi = a.scaleX * 25.4;
    a.found = 4;
    return a;
  }

  /// A form printed without marks, registered by its boxed anchor texts:
  /// the page deskewed (Leptonica, by its text lines) and read whole at
  /// about 150 dpi (once per way up: `read` is shared by the templates),
  /// each anchor's text searched for among the symbols read (a third of
  /// its characters may differ) and placed by its first character read
  /// right, then one scale (the same both ways: scanners do not stretch)
  /// and an offset fitted to those points. found = 4 with at least two
  /// anchors at least 50 mm apart, else 0.
  Alignment alignByTexts(PixPtr& gray, const Template& t, Engines& engines, PageText& read) const {
    Alignment a;
    const double estimate = pixGetWidth(gray.get()) / t.pageWidth * 25.4;  // dpi, the page filling the scan
    const float down = static_cast<float>(std::min(1.0, 150.0 / std::max(estimate, 1.0)));
    // The page is read whole once per way up, whatever number of
    // templates look for their texts on it.
    if (!read.page || read.down != down) readWhole(gray, down, estimate, engines, read);
    if (!read.page) return a;
    gray.reset(pixClone(read.page.get()));
    const std::u32string& text = read.text;
    const std::vector<std::array<int, 4>>& boxes = read.boxes;
    std::vector<std::array<double, 4>> pairs;  // template point (mm) x, y; found point (px) x, y
    std::size_t anchorsFound = 0, boxed = 0;
    double cost = 0;
    for (const Anchor& anchor : t.anchors) {
      if (anchor.width <= 0) continue;
      ++boxed;
      cost += 1;  // until found
      const std::u32string want = utf8CodePoints(withoutSpaces(anchor.text));
      if (want.empty() || text.size() < want.size()) continue;
      std::size_t best = SIZE_MAX, at = 0;
      for (std::size_t i = 0; i + want.size() <= text.size(); ++i) {
        const std::size_t e = edits(text.substr(i, want.size()), want);
        if (e < best) best = e, at = i;
      }
      if (best * 3 > want.size()) continue;
      cost += static_cast<double>(best) / static_cast<double>(want.size()) - 1;
      // The line the text sits on: the symbols of the window near their
      // median centre (a misread window may borrow one from the next
      // line). The first symbol read as the character the anchor has in
      // its place gives the point: its left edge against where that
      // character starts in the box (full-width characters share the box's
      // width evenly), so a lost first character moves nothing.
      std::vector<double> centres, heights;
      for (std::size_t i = at; i < at + want.size(); ++i)
        centres.push_back((boxes[i][1] + boxes[i][3]) / 2.0), heights.push_back(boxes[i][3] - boxes[i][1]);
      std::nth_element(centres.begin(), centres.begin() + centres.size() / 2, centres.end());
      std::nth_element(heights.begin(), heights.begin() + heights.size() / 2, heights.end());
      const double cy = centres[centres.size() / 2], height = std::max(1.0, heights[heights.size() / 2]);
      const double cw = anchor.width / static_cast<double>(want.size());
      std::size_t used = want.size();
      for (std::size_t k = 0; k < want.size(); ++k) {
        const auto& bx = boxes[at + k];
        if (text[at + k] != want[k] || std::fabs((bx[1] + bx[3]) / 2.0 - cy) > 0.6 * height) continue;
        pairs.push_back({anchor.x + k * cw, anchor.y + anchor.height / 2, static_cast<double>(bx[0]), cy});
        used = k;
        break;
      }
      if (used == want.size()) continue;
      ++anchorsFound;
      if (log_->debug())
        log_->debug("ocr %s: anchor '%s' of %s found, its line at %.0f px (%z edits; placed by character %z)", id_,
                    anchor.text, t.id, cy, best, used + 1);
    }
    if (anchorsFound < 2 || pairs.size() < 2) return a;
    double far = 0;
    for (const auto& p : pairs)
      for (const auto& q : pairs) far = std::max(far, std::hypot(p[0] - q[0], p[1] - q[1]));
    if (far < 50) return a;
    double mx = 0, my = 0, px = 0, py = 0;
    for (const auto& p : pairs) mx += p[0], my += p[1], px += p[2], py += p[3];
    const double n = static_cast<double>(pairs.size());
    mx /= n, my /= n, px /= n, py /= n;
    double num = 0, den = 0;
    for (const auto& p : pairs)
      num += (p[0] - mx) * (p[2] - px) + (p[1] - my) * (p[3] - py), den += (p[0] - mx) * (p[0] - mx) + (p[1] - my) * (p[1] - my);
    if (den <= 0) return a;
    const double scale = num / den;  // px per mm
    if (scale * 25.4 < estimate * 0.7 || scale * 25.4 > estimate * 1.3) return a;  // not this page's size
    a.scaleX = a.scaleY = scale;
    a.offsetX = px - scale * mx;
    a.offsetY = py - scale * my;
    a.dpi = scale * 25.4;
    a.found = 4;
    a.cost = cost / static_cast<double>(std::max<std::size_t>(boxed, 1));
    return a;
  }

  void readWhole(const PixPtr& gray, float down, double dpi, Engines& engines, PageText& read) const {
    read = PageText{};
    read.down = down;
    PixPtr page(pixDeskew(gray.get(), 0));
    if (!page) page.reset(pixClone(gray.get()));
    PixPtr small(down < 0.99f ? pixScale(page.get(), down, down) : pixClone(page.get()));
    if (!small) return;
    tesseract::TessBaseAPI* api = engines.get("jpn");
    api->SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
    api->SetImage(small.get());
    api->SetSourceResolution(static_cast<int>(std::lround(dpi * down)));
    std::u32string& text = read.text;
    std::vector<std::array<int, 4>>& boxes = read.boxes;
    if (api->Recognize(nullptr) == 0) {
      std::unique_ptr<tesseract::ResultIterator> it(api->GetIterator());
      if (it) do {
          char* s = it->GetUTF8Text(tesseract::RIL_SYMBOL);
          int l, tp, r, b;
          if (s && it->BoundingBox(tesseract::RIL_SYMBOL, &l, &tp, &r, &b))
            for (char32_t c : utf8CodePoints(s)) {
              if (c == U' ' || c == U'\u3000') continue;
              text.push_back(c);
              boxes.push_back({static_cast<int>(l / down), static_cast<int>(tp / down), static_cast<int>(r / down),
                               static_cast<int>(b / down)});
            }
          delete[] s;
        } while (it->Next(tesseract::RIL_SYMBOL));
    }
    api->Clear();
    read.page = std::move(page);
  }

  /// The page's skew (radians) from the first two marks on one line.
  double skew(const Template& t) const {
    if (lastMarks_.size() < 2 || std::isnan(lastMarks_[0].first) || std::isnan(lastMarks_[1].first)) return 0;
    const auto& m = t.marks;
    if (std::fabs(m[0].second - m[1].second) > 0.5) return 0;  // not on one line
    const double dx = lastMarks_[1].first - lastMarks_[0].first, dy = lastMarks_[1].second - lastMarks_[0].second;
    return std::atan2(dy, dx) * (m[1].first > m[0].first ? 1 : -1);
  }

  Poco::Logger* log_ = nullptr;
  std::string id_, tessdata_;
  HostServices* services_ = nullptr;
  std::vector<Template> templates_;
  std::vector<const Template*> candidates_;
  int workers_ = 2, reviewBelow_ = 80, maxEdits_ = 2;
  std::vector<std::u32string> towns_;
  std::int64_t maxPixels_ = 60000000;
  PageLimits limits_;
  int minDpi_ = 150;
  StateStore* state_ = nullptr;
  std::string pagesTable_, fieldsTable_, correctionsTable_;
  std::int64_t keepReportMs_ = 400LL * 86400000;
  std::chrono::milliseconds poll_{2000};
  std::unique_ptr<DropFolder> drop_;
  std::vector<std::unique_ptr<Worker>> workers;
  std::mutex namesMutex_;
  std::map<std::string, std::shared_ptr<const FieldNames>> names_;
  std::mutex recoveredMutex_;
  std::vector<Intake> recovered_;
  bool once_ = false;
  static inline std::atomic<Poco::Logger*> leptonicaLog_{nullptr};
  static thread_local std::string sha_;
  static thread_local std::vector<std::pair<double, double>> lastMarks_;
};

thread_local std::string OcrConnector::sha_;
thread_local std::vector<std::pair<double, double>> OcrConnector::lastMarks_;

}  // namespace
}  // namespace renkei::connectors::ocr

namespace {
const renkei_operator_verb kVerbs[] = {
    {"report", "--connector --per --from --to --format", 1,
     "--config F [--connector C] [--per template|field|day] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format text|csv]",
     "recognition: pages, fields read, marked for review and why, confidence distribution (no values read)"},
};
}  // namespace

RENKEI_PLUGIN_VERBS(kVerbs)

RENKEI_PLUGIN(Connector, renkei::connectors::ocr::OcrConnector, "ocr", "0.1.0", "experimental",
              "Scans of the papers residents bring, read with Tesseract against a template into one record each",
              RENKEI_ROLE_EMITTER | RENKEI_ROLE_SINK, renkei::connectors::ocr::kKeys, std::size(renkei::connectors::ocr::kKeys))
