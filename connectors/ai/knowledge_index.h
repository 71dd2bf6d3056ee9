// The city's knowledge as passages in a full-text index that reads
// Japanese: Markdown, HTML and text pages in a folder, and the concierge's
// knowledge files, split at their headings, indexed in SQLite FTS5 and
// searched for the passages a question is about. An answer is built from
// these passages and cites their file and heading; a question none of them
// covers enough is handed to a person, never guessed at.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3;

namespace renkei::connectors::ai {

/// One passage: where it is (the file, relative to the folder, and the
/// heading it stands under) and its text.
struct Passage {
  std::string source;
  std::string heading;
  std::string text;
};

/// How the index cuts Japanese into terms.
enum class Tokens {
  Bigrams,   ///< overlapping pairs of characters (and ASCII words): finds two-character words (転入, 児童)
  Trigrams,  ///< FTS5's trigram tokenizer: substrings of three characters or more only
};

/// The passages of one page, by its kind (from the file name: .md, .html,
/// .htm, .txt, or a knowledge file .xml).
std::vector<Passage> passagesOf(const std::string& source, const std::string& content);

/// The terms a text is indexed and searched by (normalised: full-width
/// ASCII folded, Latin letters lower-cased; runs of hiragana in a question
/// are particles and endings, not searched for).
std::vector<std::string> termsOf(const std::string& text, bool question);

class KnowledgeIndex {
 public:
  /// Opens the index database at `file` (created 0600), `tokens` as it was
  /// made with (a different choice makes it again). Throws std::runtime_error.
  KnowledgeIndex(const std::filesystem::path& file, Tokens tokens = Tokens::Bigrams);
  ~KnowledgeIndex();
  KnowledgeIndex(const KnowledgeIndex&) = delete;
  KnowledgeIndex& operator=(const KnowledgeIndex&) = delete;

  struct Refresh {
    std::size_t files = 0, changed = 0, removed = 0, passages = 0;
    double seconds = 0;
  };
  /// Brings the index in step with `folder` (and its sub-folders): pages
  /// added or changed (size, time, content) are indexed again, pages gone
  /// are removed; links and files over 4 MiB are skipped. One transaction.
  Refresh refresh(const std::filesystem::path& folder);

  struct Hit {
    Passage passage;
    double coverage = 0;  ///< the share of the question's terms the passage holds (0-1)
  };
  /// The passages most about `question`, best first, at most `limit`.
  std::vector<Hit> search(const std::string& question, std::size_t limit) const;

  /// Passages that are not files: records routed to the connector (a
  /// procedure guide, opening hours), one page per record under
  /// "records:<type>/<key>", replacing what that page held. A refresh of
  /// the folder leaves them. One transaction.
  void put(const std::vector<Passage>& pages);
  /// The prefix of such pages' paths.
  static constexpr const char* kRecordPages = "records:";

 private:
  sqlite3* db_ = nullptr;
  std::mutex write_;  ///< one writer (the folder's refresh, records put) at a time
  Tokens tokens_;
};

}  // namespace renkei::connectors::ai
