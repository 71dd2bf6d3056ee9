#include "knowledge_index.h"

#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>

#include "renkei/support/codec.h"
#include "renkei/support/diagnostics.h"
#include "renkei/support/guidance.h"
#include "renkei/support/seal.h"

namespace fs = std::filesystem;

namespace renkei::connectors::ai {

namespace {

constexpr std::uintmax_t kMaxPageBytes = 4u << 20;

std::vector<char32_t> codePoints(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    i += text::decodeUtf8At(s, i, cp);
    out.push_back(static_cast<char32_t>(cp));
  }
  return out;
}

/// Full-width ASCII folded, Latin letters lower-cased, half-width katakana left.
char32_t fold(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) c = c - 0xFF01 + 0x21;
  if (c == 0x3000) c = U' ';
  if (c >= U'A' && c <= U'Z') c = c - U'A' + U'a';
  return c;
}
bool asciiWord(char32_t c) { return (c >= U'a' && c <= U'z') || (c >= U'0' && c <= U'9'); }
bool hiragana(char32_t c) { return c >= 0x3041 && c <= 0x309F; }
bool japanese(char32_t c) {
  return (c >= 0x3041 && c <= 0x30FF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || c == U'々' ||
         c == U'ー' || c >= 0x20000;
}
std::string utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) text::appendUtf8(out, static_cast<std::uint32_t>(c));
  return out;
}

/// At most `max` + 1 bytes of a file: a page that grew past the limit after
/// it was looked at is read no further (and skipped).
std::string readFile(const fs::path& p, std::size_t max) {
  std::ifstream in(p, std::ios::binary);
  std::string out(max + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : "unknown";
    sqlite3_free(error);
    throw std::runtime_error(std::string("knowledge index: ") + why);
  }
}

class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("knowledge index: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(st_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  bool step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw std::runtime_error(std::string("knowledge index: ") + sqlite3_errmsg(sqlite3_db_handle(st_)));
    return false;
  }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::string text(int i) {
    const auto* p = sqlite3_column_text(st_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, i))) : "";
  }
  std::int64_t integer(int i) { return sqlite3_column_int64(st_, i); }

 private:
  sqlite3_stmt* st_ = nullptr;
};

/// Adds passages to the index with its statements prepared once.
class Adder {
 public:
  Adder(sqlite3* db, Tokens tokens)
      : add_(db, "INSERT INTO passages (path, heading, body, terms) VALUES (?, ?, ?, ?)"),
        row_(db, "INSERT INTO page_passages (path, id) VALUES (?, ?)"),
        db_(db),
        tokens_(tokens) {}
  void operator()(const Passage& p) {
    std::string terms;
    if (tokens_ == Tokens::Bigrams) {
      for (const std::string& t : termsOf(p.heading + "\n" + p.text, false)) terms += t + " ";
    } else {
      terms = p.heading + "\n" + p.text;
    }
    add_.bind(1, p.source).bind(2, p.heading).bind(3, p.text).bind(4, terms).step();
    add_.reset();
    row_.bind(1, p.source).bind(2, static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_))).step();
    row_.reset();
  }

 private:
  Statement add_, row_;
  sqlite3* db_;
  Tokens tokens_;
};

/// HTML to text: tags dropped (a heading's kept as a Markdown heading),
/// script and style skipped, the common entities read.
std::string htmlText(const std::string& html) {
  std::string out;
  std::size_t i = 0;
  while (i < html.size()) {
    if (html[i] != '<') {
      if (html.compare(i, 5, "&amp;") == 0) out += '&', i += 5;
      else if (html.compare(i, 4, "&lt;") == 0) out += '<', i += 4;
      else if (html.compare(i, 4, "&gt;") == 0) out += '>', i += 4;
      else if (html.compare(i, 6, "&nbsp;") == 0) out += ' ', i += 6;
      else out += html[i++];
      continue;
    }
    const std::size_t close = html.find('>', i);
    if (close == std::string::npos) break;
    std::string tag = html.substr(i + 1, close - i - 1);
    std::transform(tag.begin(), tag.end(), tag.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    i = close + 1;
    if (tag.rfind("script", 0) == 0 || tag.rfind("style", 0) == 0) {
      const std::size_t end = html.find("</", i);
      i = end == std::string::npos ? html.size() : end;
    } else if (tag.size() == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6') {
      out += "\n" + std::string(static_cast<std::size_t>(tag[1] - '0'), '#') + " ";
    } else if (tag.size() == 3 && tag[0] == '/' && tag[1] == 'h') {
      out += "\n";
    } else if (tag == "p" || tag == "/p" || tag == "br" || tag == "br/" || tag == "li" || tag == "/li" || tag == "div") {
      out += "\n";
    }
  }
  return out;
}

std::vector<Passage> markdownPassages(const std::string& source, const std::string& text) {
  std::vector<Passage> out;
  std::vector<std::string> path;  // headings by level
  Passage current{source, source, ""};
  bool body = false;  // a heading alone (a page's title over its sections) is no passage
  const auto flush = [&] {
    if (body) out.push_back(current);
    current.text.clear();
    body = false;
  };
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(at, nl - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    at = nl + 1;
    std::size_t level = 0;
    while (level < line.size() && line[level] == '#') ++level;
    if (level >= 1 && level <= 6 && level < line.size() && line[level] == ' ') {
      flush();
      path.resize(level - 1, "");
      path.push_back(line.substr(level + 1));
      std::string heading;
      for (const std::string& h : path)
        if (!h.empty()) heading += (heading.empty() ? "" : " > ") + h;
      current.heading = heading;
      current.text = path.back() + "\n";  // the heading's words are the passage's too
      continue;
    }
    current.text += line + "\n";
    body = body || line.find_first_not_of(" \t") != std::string::npos;
    if (nl == text.size()) break;
  }
  flush();
  return out;
}

}  // namespace

std::vector<Passage> passagesOf(const std::string& source, const std::string& content) {
  const std::string ext = fs::path(source).extension().string();
  if (ext == ".html" || ext == ".htm") return markdownPassages(source, htmlText(content));
  if (ext == ".md" || ext == ".markdown") return markdownPassages(source, content);
  // Text: paragraphs under the file's name.
  std::vector<Passage> out;
  std::size_t at = 0;
  while (at < content.size()) {
    std::size_t end = content.find("\n\n", at);
    if (end == std::string::npos) end = content.size();
    const std::string para = content.substr(at, end - at);
    if (para.find_first_not_of(" \r\n\t") != std::string::npos) out.push_back({source, source, para});
    at = end + 2;
  }
  return out;
}

std::vector<std::string> termsOf(const std::string& text, bool question) {
  std::vector<std::string> out;
  const std::vector<char32_t> cps = codePoints(text);
  std::size_t i = 0;
  while (i < cps.size()) {
    const char32_t c = fold(cps[i]);
    if (asciiWord(c)) {
      std::u32string word;
      while (i < cps.size() && asciiWord(fold(cps[i]))) word.push_back(fold(cps[i++]));
      out.push_back(utf8(word));
      continue;
    }
    if (!japanese(c)) {
      ++i;
      continue;
    }
    std::u32string run;
    while (i < cps.size() && japanese(fold(cps[i]))) run.push_back(fold(cps[i++]));
    if (run.size() == 1) {
      if (!question || !hiragana(run[0])) out.push_back(utf8(run));
      continue;
    }
    for (std::size_t k = 0; k + 1 < run.size(); ++k) {
      // In a question, a pair of hiragana is a particle or an ending (のは, ですか).
      if (question && hiragana(run[k]) && hiragana(run[k + 1])) continue;
      out.push_back(utf8(run.substr(k, 2)));
    }
  }
  return out;
}

KnowledgeIndex::KnowledgeIndex(const fs::path& file, Tokens tokens) : tokens_(tokens) {
  std::error_code ec;
  if (!file.parent_path().empty()) fs::create_directories(file.parent_path(), ec);
  // Made 0600 before SQLite opens it (its journal and WAL files take the
  // database file's mode): never a moment readable by others.
  if (const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600); fd >= 0) ::close(fd);
  if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("knowledge index " + file.string() + ": " + why);
  }
  ::chmod(file.c_str(), 0600);
  const char* tokenizer = tokens_ == Tokens::Bigrams ? "unicode61" : "trigram";
  exec(db_, "PRAGMA journal_mode=WAL");
  exec(db_, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  Statement get(db_, "SELECT value FROM meta WHERE key = 'tokens'");
  const bool made = get.step();
  if (made && get.text(0) != tokenizer) {
    exec(db_, "DROP TABLE IF EXISTS passages; DROP TABLE IF EXISTS pages; DROP TABLE IF EXISTS page_passages;");
  }
  exec(db_, "CREATE TABLE IF NOT EXISTS pages (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime INTEGER NOT NULL, "
            "sha256 TEXT NOT NULL)");
  // Which passages a page has (FTS5's UNINDEXED columns cannot be looked up
  // without reading every row: a page changed must not cost a scan).
  exec(db_, "CREATE TABLE IF NOT EXISTS page_passages (path TEXT NOT NULL, id INTEGER NOT NULL)");
  exec(db_, "CREATE INDEX IF NOT EXISTS page_passages_path ON page_passages (path)");
  exec(db_, (std::string("CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(path UNINDEXED, heading UNINDEXED, "
                         "body UNINDEXED, terms, tokenize='") + tokenizer + "')").c_str());
  Statement set(db_, "INSERT INTO meta (key, value) VALUES ('tokens', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  set.bind(1, std::string(tokenizer)).step();
}

KnowledgeIndex::~KnowledgeIndex() { sqlite3_close(db_); }

void KnowledgeIndex::put(const std::vector<Passage>& pages) {
  std::lock_guard lock(write_);
  exec(db_, "BEGIN");
  try {
    Statement drop(db_, "DELETE FROM passages WHERE rowid IN (SELECT id FROM page_passages WHERE path = ?)");
    Statement dropRows(db_, "DELETE FROM page_passages WHERE path = ?");
    Statement page(db_, "INSERT INTO pages (path, size, mtime, sha256) VALUES (?, ?, 0, ?) ON CONFLICT (path) DO UPDATE "
                        "SET size = excluded.size, sha256 = excluded.sha256");
    Adder add(db_, tokens_);
    for (const Passage& p : pages) {
      drop.bind(1, p.source).step();
      drop.reset();
      dropRows.bind(1, p.source).step();
      dropRows.reset();
      add(p);
      page.bind(1, p.source).bind(2, static_cast<std::int64_t>(p.text.size())).bind(3, seal::sha256Hex(p.text)).step();
      page.reset();
    }
    exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

KnowledgeIndex::Refresh KnowledgeIndex::refresh(const fs::path& folder) {
  std::lock_guard lock(write_);
  const auto t0 = std::chrono::steady_clock::now();
  Refresh r;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> known;  // path → size, mtime
  std::map<std::string, std::string> knownSha;
  {
    Statement q(db_, "SELECT path, size, mtime, sha256 FROM pages");
    while (q.step()) {
      known[q.text(0)] = {q.integer(1), q.integer(2)};
      knownSha[q.text(0)] = q.text(3);
    }
  }
  exec(db_, "BEGIN");
  try {
    Statement drop(db_, "DELETE FROM passages WHERE rowid IN (SELECT id FROM page_passages WHERE path = ?)");
    Statement dropRows(db_, "DELETE FROM page_passages WHERE path = ?");
    Statement forget(db_, "DELETE FROM pages WHERE path = ?");
    const auto dropPage = [&](const std::string& path) {
      drop.bind(1, path).step();
      drop.reset();
      dropRows.bind(1, path).step();
      dropRows.reset();
    };
    Statement page(db_, "INSERT INTO pages (path, size, mtime, sha256) VALUES (?, ?, ?, ?) ON CONFLICT (path) DO UPDATE "
                        "SET size = excluded.size, mtime = excluded.mtime, sha256 = excluded.sha256");
    Adder add(db_, tokens_);
    std::set<std::string> seen;
    std::error_code ec;
    std::error_code walk;  // the folder's walk; `ec` is one file's
    for (fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, walk), end;
         !walk && it != end; it.increment(walk)) {
      if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
      const std::string ext = it->path().extension().string();
      if (ext != ".md" && ext != ".markdown" && ext != ".html" && ext != ".htm" && ext != ".txt" && ext != ".xml") continue;
      const std::uintmax_t size = it->file_size(ec);
      if (ec || size > kMaxPageBytes) continue;
      const std::string rel = it->path().lexically_relative(folder).generic_string();
      seen.insert(rel);
      ++r.files;
      struct stat st{};
      if (::stat(it->path().c_str(), &st) != 0) continue;
      const std::int64_t mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      if (auto k = known.find(rel); k != known.end() && k->second.first == static_cast<std::int64_t>(size) &&
                                    k->second.second == mtime)
        continue;
      const std::string content = readFile(it->path(), kMaxPageBytes);
      if (content.size() > kMaxPageBytes) continue;
      const std::string sha = seal::sha256Hex(content);
      if (knownSha.count(rel) && knownSha[rel] == sha) {  // touched, not changed
        page.bind(1, rel).bind(2, static_cast<std::int64_t>(size)).bind(3, mtime).bind(4, sha).step();
        page.reset();
        continue;
      }
      std::vector<Passage> passages;
      if (ext == ".xml") {
        // A concierge knowledge file: each procedure a passage under its name.
        Diagnostics diags;
        if (auto k = guidance::loadKnowledge(it->path(), diags))
          for (const guidance::Procedure& p : k->procedures) {
            std::string text = p.name + "\n" + p.help + "\n";
            if (!p.counter.empty()) text += "窓口: " + p.counter + "\n";
            if (p.deadlineDays) text += "期限: " + std::to_string(*p.deadlineDays) + "日以内\n";
            for (const std::string& b : p.bring) text += "持ち物: " + b + "\n";
            passages.push_back({rel, p.name, text});
          }
      } else {
        passages = passagesOf(rel, content);
      }
      if (known.count(rel)) dropPage(rel);
      for (Passage& p : passages) {
        p.source = rel;
        add(p);
        ++r.passages;
      }
      page.bind(1, rel).bind(2, static_cast<std::int64_t>(size)).bind(3, mtime).bind(4, sha).step();
      page.reset();
      ++r.changed;
    }
    // Pages are forgotten only after a walk of the whole folder: a folder
    // that could not be read to its end (an unmounted share, a permission)
    // removes nothing from the index.
    if (!walk)
      for (const auto& [path, _] : known)
        if (!seen.count(path) && path.rfind(kRecordPages, 0) != 0) {
          dropPage(path);
          forget.bind(1, path).step();
          forget.reset();
          ++r.removed;
        }
    exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::vector<KnowledgeIndex::Hit> KnowledgeIndex::search(const std::string& question, std::size_t limit) const {
  std::vector<std::string> terms = termsOf(question, true);
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  std::string match;
  std::vector<std::string> wanted;  // what coverage counts
  for (const std::string& t : terms) {
    if (tokens_ == Tokens::Trigrams && codePoints(t).size() < 3) continue;
    wanted.push_back(t);
    std::string quoted = "\"";
    for (char c : t) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    match += (match.empty() ? "" : " OR ") + quoted + "\"";
  }
  if (tokens_ == Tokens::Trigrams) {
    // Trigrams: the question's runs of three or more characters.
    match.clear();
    wanted.clear();
    const std::vector<char32_t> cps = codePoints(question);
    std::u32string run;
    const auto flushRun = [&] {
      for (std::size_t k = 0; k + 3 <= run.size(); ++k) {
        const std::string g = utf8(run.substr(k, 3));
        wanted.push_back(g);
        match += (match.empty() ? "\"" : " OR \"") + g + "\"";
      }
      run.clear();
    };
    for (char32_t c : cps) {
      const char32_t f = fold(c);
      if ((japanese(f) && !hiragana(f)) || asciiWord(f)) run.push_back(f);
      else flushRun();
    }
    flushRun();
  }
  std::vector<Hit> hits;
  if (match.empty()) return hits;
  Statement q(db_, "SELECT path, heading, body, terms FROM passages WHERE passages MATCH ? ORDER BY bm25(passages) "
                   "LIMIT 50");
  q.bind(1, match);
  while (q.step()) {
    Hit h{{q.text(0), q.text(1), q.text(2)}, 0};
    const std::string haystack = tokens_ == Tokens::Bigrams ? " " + q.text(3) : q.text(3);
    std::size_t present = 0;
    for (const std::string& t : wanted)
      present += tokens_ == Tokens::Bigrams ? haystack.find(" " + t + " ") != std::string::npos
                                            : haystack.find(t) != std::string::npos;
    h.coverage = wanted.empty() ? 0 : static_cast<double>(present) / static_cast<double>(wanted.size());
    hits.push_back(std::move(h));
  }
  // bm25 found them; the share of the question they cover orders them.
  std::stable_sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.coverage > b.coverage; });
  if (hits.size() > limit) hits.resize(limit);
  return hits;
}

}  // namespace renkei::connectors::ai
