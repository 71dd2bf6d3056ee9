// Plain text lines: the reader routes use until they name a layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace renkei {

/// Where and why a text file is unreadable.
struct TextProblem {
  std::uint64_t offset = 0;  ///< byte offset of the first bad byte
  std::uint64_t line = 0;    ///< 1-based line of that byte
  std::string reason;        ///< what is wrong (never the content itself)
};

/// Checks that `data` is UTF-8 text (a leading BOM allowed, no NUL bytes, no
/// overlong forms, no surrogates, nothing above U+10FFFF).
std::optional<TextProblem> checkUtf8Text(std::string_view data);

/// Calls `fn(line)` for each line of `data`, without the BOM and without the
/// line end (LF or CRLF). A final line without a line end counts; an empty
/// trailing piece after the last line end does not.
template <typename Fn>
void forEachLine(std::string_view data, Fn&& fn) {
  if (data.substr(0, 3) == "\xEF\xBB\xBF") data.remove_prefix(3);
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = data.find('\n', start);
    std::size_t next = end == std::string_view::npos ? data.size() : end + 1;
    if (end == std::string_view::npos) end = data.size();
    std::size_t stop = end;
    if (stop > start && data[stop - 1] == '\r') --stop;
    fn(data.substr(start, stop - start));
    start = next;
  }
}

}  // namespace renkei
