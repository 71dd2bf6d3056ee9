// What a database driver's error may say in a log, a dead letter or the
// store: the SQLSTATE, what its class means, and the names of the objects
// involved — never the driver's own text, whose DETAIL and "Failing row
// contains (…)" quote the values of the row (written once for the store and
// every ODBC plugin).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace renkei {

namespace sql_errors_detail {

inline bool identifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$';
}

// The name after `word "` (or `word `) in `line`, when it is a plain SQL
// identifier of at most 63 characters; "" otherwise.
inline std::string nameAfter(std::string_view line, std::string_view word) {
  const std::size_t at = line.find(word);
  if (at == std::string_view::npos) return {};
  std::size_t i = at + word.size();
  const bool quoted = i < line.size() && line[i] == '"';
  if (quoted) ++i;
  const std::size_t start = i;
  while (i < line.size() && identifierChar(line[i]) && i - start < 64) ++i;
  if (i == start || i - start > 63) return {};
  if (quoted && (i >= line.size() || line[i] != '"')) return {};
  return std::string(line.substr(start, i - start));
}

inline const char* className(std::string_view state) {
  const std::string_view c = state.substr(0, 2);
  if (c == "01") return "warning";
  if (c == "08") return "connection exception";
  if (c == "0A") return "feature not supported";
  if (c == "21") return "cardinality violation";
  if (c == "22") return "data exception";
  if (c == "23") {
    if (state == "23502") return "not-null violation";
    if (state == "23503") return "foreign-key violation";
    if (state == "23505") return "unique violation";
    if (state == "23514") return "check violation";
    return "integrity constraint violation";
  }
  if (c == "25") return "invalid transaction state";
  if (c == "28") return "invalid authorisation";
  if (c == "40") return state == "40001" ? "serialisation failure" : (state == "40P01" ? "deadlock" : "transaction rollback");
  if (c == "42") return state == "42501" ? "insufficient privilege" : "syntax error or access rule violation";
  if (c == "53") return "insufficient resources";
  if (c == "54") return "program limit exceeded";
  if (c == "57") return "operator intervention";
  if (c == "58") return "system error";
  if (c == "HY") return state == "HYT00" || state == "HYT01" ? "timeout" : "driver error";
  if (c == "IM") return "driver manager error";
  if (c == "XX") return "internal error";
  return "database error";
}

}  // namespace sql_errors_detail

/// Describes one diagnostic record (SQLSTATE `state`, driver text `text`)
/// without any value it may quote: "SQLSTATE 23502 (not-null violation),
/// column \"name\", relation \"residents\"". Connection and authorisation
/// problems (classes 08, 28, IM) keep the driver's first line with quoted
/// and parenthesised text cut out (the server, the reason), since no row
/// is involved and the operator needs them. Thread-safe, never throws
/// except std::bad_alloc.
inline std::string describeSqlError(std::string_view state, std::string_view text) {
  using namespace sql_errors_detail;
  std::string out = "SQLSTATE " + std::string(state) + " (" + className(state) + ")";
  const std::string_view cls = state.substr(0, 2);
  // Only the first line: DETAIL, HINT and CONTEXT follow it.
  std::string_view line = text.substr(0, std::min(text.find('\n'), text.size()));
  if (const std::size_t detail = line.find("DETAIL"); detail != std::string_view::npos) line = line.substr(0, detail);
  if (cls == "08" || cls == "28" || cls == "IM") {
    std::string kept;
    char skipUntil = 0;
    for (char c : line.substr(0, 300)) {
      if (skipUntil) {
        if (c == skipUntil) skipUntil = 0;
        continue;
      }
      if (c == '"' || c == '\'') {
        kept += "…";
        skipUntil = c;
      } else if (c == '(') {
        kept += "(…)";
        skipUntil = ')';
      } else if (static_cast<unsigned char>(c) >= 0x20) {
        kept.push_back(c);
      }
    }
    return out + ": " + kept;
  }
  for (std::string_view word : {std::string_view("constraint "), std::string_view("column "),
                                std::string_view("relation "), std::string_view("table "),
                                std::string_view("for type ")}) {
    const std::string name = nameAfter(line, word);
    if (!name.empty()) out += ", " + std::string(word.substr(0, word.size() - 1)) + " \"" + name + "\"";
  }
  return out;
}

}  // namespace renkei
