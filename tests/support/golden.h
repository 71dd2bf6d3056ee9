// Helpers shared by the golden-case runners (formats, mappings, configs).
// Header-only: it uses Boost.Test assertions, so include it after
// <boost/test/unit_test.hpp>.
#pragma once

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace renkei::test {

/// The lines of an expectation file, without blank lines and '#' comments.
inline std::vector<std::string> expectationLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

/// The case's input file (input.csv, input.dat, …), or empty.
inline std::filesystem::path caseInput(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().stem() == "input") return e.path();
  return {};
}

/// Every line of `expectedFile` must appear somewhere in `reported`.
inline void expectEachLineIn(const std::string& reported, const std::filesystem::path& expectedFile) {
  for (const auto& want : expectationLines(readFile(expectedFile)))
    BOOST_TEST(reported.find(want) != std::string::npos, "expected '" << want << "' in:\n" << reported);
}

}  // namespace renkei::test
