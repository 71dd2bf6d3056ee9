// The pages of one scan, decoded one at a time: a PNG or JPEG is one page,
// a TIFF may hold many (Leptonica), a PDF's pages are rendered to grey by
// poppler in a process of its own (renkei-pdf-pages: a PDF that crashes the
// renderer costs that process, not the host). Every page's size is checked against the pixel bound before it
// is decoded or rendered, and the page count against its own bound before
// any page is: a 200-page PDF or a TIFF with a decompression bomb on page
// 3 costs a few reads of their headers, not the memory they claim.
#pragma once

#include <leptonica/allheaders.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace renkei::connectors::ocr {

struct PixDeleter {
  void operator()(PIX* p) const { pixDestroy(&p); }
};
using PixPtr = std::unique_ptr<PIX, PixDeleter>;

struct PageLimits {
  std::int64_t maxPixels = 60000000;  ///< per page, checked before decoding
  int maxPages = 50;                  ///< per file, checked before the first page
  int pdfDpi = 300;                   ///< a PDF page is rendered at this resolution
  std::filesystem::path pdfRenderer;   ///< renkei-pdf-pages
  std::filesystem::path renderDir;     ///< a private folder (0700) for the rendered page, removed once read
  int pdfTimeoutMs = 60000;            ///< a renderer taking longer is stopped, the scan refused
};

class ScanPages {
 public:
  ScanPages();
  ~ScanPages();
  ScanPages(const ScanPages&) = delete;
  ScanPages& operator=(const ScanPages&) = delete;

  /// Opens the scan; "" or why it cannot be read (nothing decoded yet).
  std::string open(const std::filesystem::path& file, const PageLimits& limits);
  int count() const { return count_; }
  /// "pdf", "tiff" or "image".
  const std::string& kind() const { return kind_; }
  /// Page `index` (0-based) as 8-bit grey; "" or why it cannot be.
  std::string page(int index, PixPtr& out) const;

 private:
  std::filesystem::path file_;
  PageLimits limits_;
  std::string kind_;
  int count_ = 0;
};

/// renkei-pdf-pages beside the running host binary (/proc/self/exe).
std::filesystem::path defaultPdfRenderer();

}  // namespace renkei::connectors::ocr
