// The identifier scan's character classes above ASCII, generated at build
// time from Unicode (core/tools/gen_scan_tables.py).
#pragma once

namespace renkei::mapping::scan {

enum Kind : unsigned char { kOther = 0, kDigit = 1, kSeparator = 2, kComma = 3, kIgnorable = 4 };

struct ScanRange {
  char32_t first;
  char32_t last;
  unsigned char kind;
  signed char value;  ///< for kDigit: the value of `first` (the range counts up from it)
};

extern const ScanRange kScanRanges[];
extern const unsigned kScanRangeCount;
extern const char kScanUnicodeVersion[];

}  // namespace renkei::mapping::scan
