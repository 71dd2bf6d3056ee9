// Charts renkei draws itself, as SVG (no chart library, nothing fetched):
// horizontal bars, one group per row, every bar labelled with its number so
// the chart reads without colour, a title and a description for screen
// readers. For the console's pages and the reports plugins serve there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace renkei::chart {

struct Row {
  std::string label;                 ///< "jumin-to-crm → crm", "2026-12-07"
  std::vector<std::int64_t> values;  ///< one per series
};

/// `series` names each value ("delivered", "waiting"); the bars of a row
/// are drawn in that order, darkest first. Labels and names are escaped.
std::string bars(const std::string& title, const std::string& description, const std::vector<std::string>& series,
                 const std::vector<Row>& rows, int width = 720);

}  // namespace renkei::chart
