// SVG bar charts (chart.h).
#include "renkei/support/chart.h"

#include <algorithm>

namespace renkei::chart {
namespace {

std::string xml(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out;
}

// Contrast on white of 7:1 or more for the darkest, 3:1 for the bars (WCAG
// non-text contrast); each bar carries its number in text anyway.
const char* const kFills[] = {"#0b3d2e", "#3f7d63", "#7fb79f", "#b35900"};

}  // namespace

std::string bars(const std::string& title, const std::string& description, const std::vector<std::string>& series,
                 const std::vector<Row>& rows, int width) {
  std::int64_t most = 1;
  for (const Row& r : rows)
    for (std::int64_t v : r.values) most = std::max(most, v);
  const int left = 220, barHeight = 16, gap = 4;
  const int perRow = static_cast<int>(std::max<std::size_t>(1, series.size())) * (barHeight + gap) + 8;
  const int height = 50 + perRow * static_cast<int>(std::max<std::size_t>(1, rows.size()));
  const int room = std::max(50, width - left - 160);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(height) + "\" aria-labelledby=\"t d\">\n<title id=\"t\">" + xml(title) +
                    "</title>\n<desc id=\"d\">" + xml(description) +
                    "</desc>\n<style>text{font:14px sans-serif;fill:#111}</style>\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  int y = 40;
  for (const Row& r : rows) {
    svg += "<text x=\"8\" y=\"" + std::to_string(y + 13) + "\">" + xml(r.label) + "</text>\n";
    for (std::size_t i = 0; i < r.values.size() && i < series.size(); ++i) {
      const int w = static_cast<int>(room * r.values[i] / most);
      const int by = y + static_cast<int>(i) * (barHeight + gap);
      svg += "<rect x=\"" + std::to_string(left) + "\" y=\"" + std::to_string(by) + "\" width=\"" + std::to_string(w) +
             "\" height=\"" + std::to_string(barHeight) + "\" fill=\"" + kFills[i % 4] + "\"/><text x=\"" +
             std::to_string(left + w + 6) + "\" y=\"" + std::to_string(by + 13) + "\">" + std::to_string(r.values[i]) +
             " " + xml(series[i]) + "</text>\n";
    }
    y += perRow;
  }
  return svg + "</svg>\n";
}

}  // namespace renkei::chart
