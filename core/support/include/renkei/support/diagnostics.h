// Diagnostics: problems found while loading config, layouts or mappings, each
// with the file and line it comes from, collected so that all are reported.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace renkei {

struct Diagnostic {
  std::string file;
  int line = 0;    ///< 1-based; 0 when unknown
  int column = 0;  ///< 1-based; 0 when unknown
  std::string message;

  /// "file:line:column: message" (parts that are unknown are left out).
  std::string format() const;
};

class Diagnostics {
 public:
  void add(std::string file, int line, std::string message, int column = 0);
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  /// All messages, one per line.
  std::string format() const;

  /// Something that works but is probably not what was meant (a fixed-width
  /// layout with uncovered bytes): reported, never a reason to refuse.
  void warn(std::string file, int line, std::string message);
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  /// "file:line: warning: message" lines.
  std::string formatWarnings() const;
  /// Errors and warnings of `other`, appended.
  void append(const Diagnostics& other);

 private:
  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
};

/// Damerau-Levenshtein distance (optimal string alignment), on bytes.
std::size_t editDistance(const std::string& a, const std::string& b);

/// The candidate closest to `word`, or "" when none is close enough to be a
/// plausible typo (distance at most max(2, length/3)).
std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates);

/// "; did you mean 'x'?" or "" — for appending to a message.
std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates);

/// Reads a tab-separated table file people edit (外字 tables, code tables):
/// calls fn(lineNumber, line) for each line that is not blank or a '#'
/// comment, with a UTF-8 BOM and CR line ends removed. Returns false when
/// the file cannot be opened.
bool forEachTableLine(const std::string& file, const std::function<void(int, const std::string&)>& fn);

/// Why a file a config, mapping or layout names cannot be read ("does not
/// exist", "is a folder, not a file", "cannot be read: Permission denied"),
/// or nothing when it can: for reporting it at the line that names it.
std::optional<std::string> unreadableFile(const std::filesystem::path& file);

/// Why a file holding a secret or personal data is not private (any access
/// for the group or others: "is readable by other users (mode 0644); chmod
/// 600 'path'"), or nothing (private, or not there: reported elsewhere).
std::optional<std::string> notPrivate(const std::filesystem::path& file);

/// "a, b, c" for messages.
std::string joinList(const std::vector<std::string>& items, const std::string& separator = ", ");

}  // namespace renkei
