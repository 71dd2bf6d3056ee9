// The audit trail: sealed entries in the store, a batching writer, anchors,
// verification and the fiscal-year export. See audit_trail.h.
#include "audit_trail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Logger.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "host_services.h"
#include "renkei/local_time.h"
#include "renkei/text.h"

namespace fs = std::filesystem;

namespace renkei::audit {
namespace {

std::atomic<Trail*> gInstalled{nullptr};

const char* const kColumns =
    "seq, at_ms, who, address, action, record_type, key_name, key_masked, fields, result, why, prev, seal";

std::string hex(const unsigned char* data, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

/// Each part as "<length>:<bytes>": no separator a value could forge.
void part(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
}

Entry readEntry(store::SqlStatement& s) {
  Entry e;
  e.seq = s.integer(0);
  e.atMs = s.integer(1);
  e.who = s.text(2);
  e.address = s.text(3);
  e.action = s.text(4);
  e.recordType = s.text(5);
  e.keyName = s.text(6);
  e.key = s.text(7);
  e.fields = s.text(8);
  e.result = s.text(9);
  e.why = s.text(10);
  e.prev = s.text(11);
  e.seal = s.text(12);
  return e;
}

/// The local calendar day of `ms` as "YYYY-MM-DD".
std::string localDay(std::int64_t ms, std::int64_t offsetMinutes) { return localTimeAt(ms, offsetMinutes).substr(0, 10); }

bool sameText(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::string csvCell(const std::string& v) {
  std::string text = looksLikeFormula(v) ? "'" + v : v;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::filesystem::path trailFile(const std::filesystem::path& storeFile) {
  return storeFile.parent_path() / (storeFile.stem().string() + "-audit" + storeFile.extension().string());
}

std::unique_ptr<store::SqlDatabase> openTrailDatabase(store::StoreConfig config, bool create) {
  if (config.driver == "sqlite") {
    config.path = trailFile(config.path);
    config.create = create;
    config.autoCheckpoint = true;
  }
  auto db = store::openDatabase(config);
  // Its own schema: one table and an index, the same on both dialects.
  db->exec("CREATE TABLE IF NOT EXISTS audit_trail ("
           "  seq BIGINT PRIMARY KEY,"
           "  at_ms BIGINT NOT NULL,"
           "  who TEXT NOT NULL,"
           "  address TEXT NOT NULL,"
           "  action TEXT NOT NULL,"
           "  record_type TEXT NOT NULL,"
           "  key_name TEXT NOT NULL,"
           "  key_masked TEXT NOT NULL,"
           "  fields TEXT NOT NULL,"
           "  result TEXT NOT NULL,"
           "  why TEXT NOT NULL,"
           "  prev TEXT NOT NULL,"
           "  seal TEXT NOT NULL)");
  db->exec("CREATE INDEX IF NOT EXISTS audit_trail_time ON audit_trail (at_ms)");
  return db;
}

Entry fromAudit(const AuditEntry& a, std::int64_t atMs, const std::string& why) {
  Entry e;
  e.atMs = atMs;
  e.who = a.who;
  e.address = a.address;
  e.action = a.action;
  e.recordType = a.recordType;
  e.keyName = a.keyName;
  e.key = a.keyName.empty() && a.key.empty() ? std::string() : maskKey(a.key);
  for (std::size_t i = 0; i < a.fields.size(); ++i) e.fields += (i ? "," : "") + a.fields[i];
  e.result = a.result;
  e.why = why;
  return e;
}

std::string sealOf(const std::string& key, const std::string& prev, const Entry& e) {
  std::string text;
  part(text, prev);
  part(text, std::to_string(e.atMs));
  for (const std::string* v : {&e.who, &e.address, &e.action, &e.recordType, &e.keyName, &e.key, &e.fields, &e.result,
                               &e.why})
    part(text, *v);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(text.data()),
       text.size(), mac, &length);
  return hex(mac, length);
}

Trail::Trail(const store::StoreConfig& config, std::string key, fs::path anchorFile,
             std::function<std::int64_t(std::int64_t)> offsetMinutes)
    : config_(config), key_(std::move(key)), anchorFile_(std::move(anchorFile)), offset_(std::move(offsetMinutes)) {
  db_ = openTrailDatabase(config_, true);
  thread_ = std::thread([this] { run(); });
}

Trail::~Trail() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Trail::append(Entry e) {
  std::future<void> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw std::runtime_error("the audit trail is closed");
    queue_.push_back(Waiting{std::move(e), {}});
    done = queue_.back().done.get_future();
  }
  wake_.notify_one();
  done.get();  // rethrows the writer's failure
}

std::uint64_t Trail::appended() const { return appended_; }

void Trail::run() {
  for (;;) {
    std::deque<Waiting> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      // Everything waiting goes in one transaction (at most 1,000 entries).
      while (!queue_.empty() && batch.size() < 1000) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(batch);
  }
}

void Trail::commit(std::deque<Waiting>& batch) {
  std::string error;
  struct Anchor {
    std::int64_t seq, atMs;
    std::string seal;
  };
  std::vector<Anchor> anchors;
  for (int attempt = 0; attempt < 5; ++attempt) {
    anchors.clear();
    try {
      db_->begin();
      std::int64_t lastSeq = 0, lastAt = 0;
      std::string lastSeal;
      {
        auto s = db_->prepare("SELECT seq, at_ms, seal FROM audit_trail ORDER BY seq DESC LIMIT 1");
        if (s->next()) {
          lastSeq = s->integer(0);
          lastAt = s->integer(1);
          lastSeal = s->text(2);
        }
      }
      auto insert = db_->prepare("INSERT INTO audit_trail (" + std::string(kColumns) +
                                 ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      for (Waiting& w : batch) {
        Entry& e = w.entry;
        // A new local day: the day before closes with its last entry.
        if (lastSeq && localDay(lastAt, offset_(lastAt)) != localDay(e.atMs, offset_(e.atMs)))
          anchors.push_back({lastSeq, lastAt, lastSeal});
        e.seq = lastSeq + 1;
        e.prev = lastSeal;
        e.seal = sealOf(key_, e.prev, e);
        insert->reset();
        insert->bind(1, e.seq).bind(2, e.atMs).bind(3, e.who).bind(4, e.address).bind(5, e.action);
        insert->bind(6, e.recordType).bind(7, e.keyName).bind(8, e.key).bind(9, e.fields).bind(10, e.result);
        insert->bind(11, e.why).bind(12, e.prev).bind(13, e.seal);
        insert->run();
        lastSeq = e.seq;
        lastAt = e.atMs;
        lastSeal = e.seal;
      }
      db_->commit();
      error.clear();
      break;
    } catch (const std::exception& ex) {
      db_->rollback();
      // Another host appended the same number first (PostgreSQL): again.
      error = ex.what();
    }
  }
  if (!error.empty()) {
    for (Waiting& w : batch)
      w.done.set_exception(std::make_exception_ptr(std::runtime_error("the audit trail cannot be written: " + error)));
    return;
  }
  for (const Anchor& a : anchors) anchor(a.seq, a.atMs, a.seal);
  appended_ += batch.size();
  for (Waiting& w : batch) w.done.set_value();
}

void Trail::anchor(std::int64_t seq, std::int64_t atMs, const std::string& seal) {
  std::lock_guard<std::mutex> lock(anchorMutex_);
  if (anchorFile_.empty() || seq <= anchoredSeq_) return;
  // Anchored before (by this or another process)?
  {
    std::ifstream in(anchorFile_);
    for (std::string line; std::getline(in, line);) {
      const std::size_t at = line.find(" seq=");
      if (at == std::string::npos) continue;
      try {
        if (std::stoll(line.substr(at + 5)) >= seq) {
          anchoredSeq_ = seq;
          return;
        }
      } catch (const std::exception&) {
      }
    }
  }
  const std::string line = localDay(atMs, offset_(atMs)) + " seq=" + std::to_string(seq) + " seal=" + seal +
                           " last=" + localTimeAt(atMs, offset_(atMs)) + "\n";
  const int fd = ::open(anchorFile_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    // The trail itself is committed; the operators are told the day is
    // not anchored (verify still checks every seal).
    Poco::Logger::get("renkei.audit")
        .error("audit: cannot write the anchor to '%s': %s", anchorFile_.string(), std::string(std::strerror(err)));
    return;
  }
  ::close(fd);
  anchoredSeq_ = seq;
}

void Trail::anchorNow() {
  // A connection of its own: the writer's belongs to its thread.
  auto db = openTrailDatabase(config_, true);
  auto s = db->prepare("SELECT seq, at_ms, seal FROM audit_trail ORDER BY seq DESC LIMIT 1");
  if (s->next()) anchor(s->integer(0), s->integer(1), s->text(2));
}

Finding verify(store::SqlDatabase& db, const std::string& key, const fs::path& anchorFile) {
  Finding f;
  auto s = db.prepare("SELECT " + std::string(kColumns) + " FROM audit_trail ORDER BY seq");
  std::optional<Entry> current;
  std::string good;  // the seal of the last entry found in place
  std::int64_t expected = 1;
  auto judge = [&](const Entry& e, const Entry* next) -> bool {
    const bool sealed = sameText(sealOf(key, e.prev, e), e.seal);
    if (sealed && sameText(e.prev, good) && e.seq == expected) {
      good = e.seal;
      ++expected;
      return true;
    }
    f.ok = false;
    f.seq = e.seq;
    const std::string n = std::to_string(e.seq);
    if (!sealed) {
      if (next && sameText(next->prev, good))
        f.what = "entry " + n + " was inserted: its seal does not match, and the entry after it follows the one before it";
      else if (next && sameText(next->prev, e.seal))
        f.what = "entry " + n + " was changed: its content no longer matches its seal";
      else
        f.what = "entry " + n + " was changed or replaced: its seal does not match";
    } else if (!sameText(e.prev, good)) {
      if (e.seq > expected)
        f.what = "entries " + std::to_string(expected) + (e.seq - 1 > expected ? "–" + std::to_string(e.seq - 1) : "") +
                 " were deleted: entry " + n + " follows an entry that is not there";
      else
        f.what = "entry " + n + " is out of its place: it does not follow entry " + std::to_string(e.seq - 1) +
                 " (entries were reordered, or one before it deleted and the rest renumbered)";
    } else {
      f.what = "entry " + n + " was renumbered (it follows entry " + std::to_string(expected - 1) + ")";
    }
    return false;
  };
  while (s->next()) {
    Entry e = readEntry(*s);
    ++f.entries;
    if (current && !judge(*current, &e)) return f;
    current = std::move(e);
  }
  if (current && !judge(*current, nullptr)) return f;
  // The anchors: each names an entry and the seal it had that day.
  std::ifstream in(anchorFile);
  int lineNo = 0;
  for (std::string line; in && std::getline(in, line);) {
    ++lineNo;
    const std::size_t a = line.find(" seq="), b = line.find(" seal=");
    if (a == std::string::npos || b == std::string::npos) continue;
    std::int64_t seq = 0;
    try {
      seq = std::stoll(line.substr(a + 5));
    } catch (const std::exception&) {
      continue;
    }
    const std::string seal = line.substr(b + 6, 64);
    ++f.anchors;
    auto q = db.prepare("SELECT seal FROM audit_trail WHERE seq = ?");
    q->bind(1, seq);
    const std::string where = anchorFile.string() + ":" + std::to_string(lineNo) + " (" + line.substr(0, 10) + ")";
    if (!q->next()) {
      f.ok = false;
      f.seq = seq;
      f.what = "entry " + std::to_string(seq) + " is missing: the anchor at " + where +
               " names it (entries at the end were deleted)";
      return f;
    }
    if (!sameText(q->text(0), seal)) {
      f.ok = false;
      f.seq = seq;
      f.what = "entry " + std::to_string(seq) + " differs from the anchor at " + where +
               ": the trail was rewritten since that day";
      return f;
    }
  }
  return f;
}

std::int64_t exportCsv(store::SqlDatabase& db, int year, const std::function<std::int64_t(std::int64_t)>& offsetMinutes,
                       std::ostream& out) {
  // 1 April `year` 00:00 to 1 April `year`+1 00:00, local time.
  auto localMidnight = [&](int y) {
    const std::int64_t utc = daysFromCivil(y, 4, 1) * 86'400'000;
    return utc - offsetMinutes(utc) * 60'000;
  };
  const std::int64_t from = localMidnight(year), to = localMidnight(year + 1);
  out << "seq,time,who,address,action,record_type,key_name,key,fields,result,why\r\n";
  auto s = db.prepare("SELECT " + std::string(kColumns) + " FROM audit_trail WHERE at_ms >= ? AND at_ms < ? ORDER BY seq");
  s->bind(1, from).bind(2, to);
  std::int64_t n = 0;
  while (s->next()) {
    const Entry e = readEntry(*s);
    out << e.seq << "," << csvCell(localTimeAt(e.atMs, offsetMinutes(e.atMs)));
    for (const std::string* v : {&e.who, &e.address, &e.action, &e.recordType, &e.keyName, &e.key, &e.fields, &e.result,
                                 &e.why})
      out << "," << csvCell(*v);
    out << "\r\n";
    ++n;
  }
  return n;
}

void install(Trail* trail) { gInstalled = trail; }

Trail* installed() { return gInstalled.load(); }

}  // namespace renkei::audit
