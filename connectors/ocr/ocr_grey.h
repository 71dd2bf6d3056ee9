// Colour to grey as the ocr connector reads a scan: a strongly red pixel
// (a 受付印 or 公印 stamped over the text) becomes paper (red dropout, as
// forms scanners do), every other pixel its luminance. Shared by the
// connector and the PDF page renderer (renkei-pdf-pages).
#pragma once

#include <algorithm>

namespace renkei::connectors::ocr {

/// A strongly red pixel: a seal over the text.
inline bool red(int r, int g, int b) { return r > 120 && r - std::max(g, b) > 60; }

inline int luminance(int r, int g, int b) { return (r * 299 + g * 587 + b * 114 + 500) / 1000; }

/// The grey a scan's colour pixel is read as.
inline int greyOf(int r, int g, int b) { return red(r, g, b) ? 255 : luminance(r, g, b); }

}  // namespace renkei::connectors::ocr
