#include "ocr_pages.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace renkei::connectors::ocr {
namespace {

std::string tooLarge(std::int64_t w, std::int64_t h, std::int64_t max) {
  return "the image is " + std::to_string(w) + " × " + std::to_string(h) + " px, more than max-pixels (" +
         std::to_string(max) + "): not decoded";
}

/// A strongly red pixel: a 受付印 or 公印 stamped over the text.
inline bool red(int r, int g, int b) { return r > 120 && r - std::max(g, b) > 60; }

inline int luminance(int r, int g, int b) { return (r * 299 + g * 587 + b * 114 + 500) / 1000; }

/// The scan as 8-bit grey. A colour scan's red seals are dropped to paper
/// first (red dropout, as forms scanners do): a seal over a name would
/// otherwise be read into it.
PixPtr toGrey(PIX* raw) {
  PixPtr full;
  PIX* src = raw;
  if (pixGetColormap(raw)) {
    full.reset(pixRemoveColormap(raw, REMOVE_CMAP_TO_FULL_COLOR));
    if (!full) return nullptr;
    src = full.get();
  }
  if (pixGetDepth(src) != 32) return PixPtr(pixConvertTo8(src, 0));
  if (pixGetSpp(src) == 4) {
    // An image with transparency (a phone app's export): laid on white
    // paper, or its transparent pixels (often black underneath) would read
    // as ink.
    PixPtr onWhite(pixAlphaBlendUniform(src, 0xffffff00));
    if (!onWhite) return nullptr;
    full = std::move(onWhite);
    src = full.get();
  }
  const int w = static_cast<int>(pixGetWidth(src)), h = static_cast<int>(pixGetHeight(src));
  PixPtr grey(pixCreate(w, h, 8));
  if (!grey) return nullptr;
  pixCopyResolution(grey.get(), src);
  const l_uint32* in = pixGetData(src);
  l_uint32* out = pixGetData(grey.get());
  const int wplIn = pixGetWpl(src), wplOut = pixGetWpl(grey.get());
  for (int y = 0; y < h; ++y) {
    const l_uint32* row = in + static_cast<std::ptrdiff_t>(y) * wplIn;
    l_uint32* line = out + static_cast<std::ptrdiff_t>(y) * wplOut;
    for (int x = 0; x < w; ++x) {
      l_int32 r, g, b;
      extractRGBValues(row[x], &r, &g, &b);
      SET_DATA_BYTE(line, x, red(r, g, b) ? 255 : luminance(r, g, b));
    }
  }
  return grey;
}

bool startsWithPdf(const std::filesystem::path& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) return false;
  char head[5] = {};
  const std::size_t n = std::fread(head, 1, sizeof head, f);
  std::fclose(f);
  return n == sizeof head && std::string(head, sizeof head) == "%PDF-";
}

}  // namespace

void quietPoppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

ScanPages::ScanPages() = default;
ScanPages::~ScanPages() = default;

std::string ScanPages::open(const std::filesystem::path& file, const PageLimits& limits) {
  file_ = file;
  limits_ = limits;
  if (startsWithPdf(file)) {
    kind_ = "pdf";
    pdf_.reset(poppler::document::load_from_file(file.string()));
    if (!pdf_) return "a PDF that cannot be opened (corrupt?)";
    if (pdf_->is_locked()) return "a PDF locked with a password: scan it again without one";
    count_ = pdf_->pages();
  } else {
    l_int32 format = IFF_UNKNOWN;
    if (findFileFormat(file.c_str(), &format) != 0 || format == IFF_UNKNOWN)
      return "not an image Leptonica can read (PNG, TIFF, JPEG) nor a PDF, or a corrupt one";
    if (L_FORMAT_IS_TIFF(format)) {
      kind_ = "tiff";
      std::FILE* f = fopenReadStream(file.c_str());
      l_int32 n = 0;
      const bool ok = f && tiffGetCount(f, &n) == 0;
      if (f) std::fclose(f);
      if (!ok) return "a TIFF whose pages cannot be counted (corrupt?)";
      count_ = n;
    } else {
      kind_ = "image";
      count_ = 1;
    }
  }
  if (count_ < 1) return "a scan without pages";
  if (count_ > limits_.maxPages)
    return "a scan of " + std::to_string(count_) + " pages, more than max-pages (" +
           std::to_string(limits_.maxPages) + "): split it, or raise max-pages";
  return {};
}

std::string ScanPages::page(int index, PixPtr& out) const {
  out.reset();
  if (kind_ == "pdf") {
    std::unique_ptr<poppler::page> p(pdf_->create_page(index));
    if (!p) return "the page cannot be read from the PDF (corrupt?)";
    const poppler::rectf box = p->page_rect();
    const double w = std::ceil(std::fabs(box.width()) / 72.0 * limits_.pdfDpi);
    const double h = std::ceil(std::fabs(box.height()) / 72.0 * limits_.pdfDpi);
    if (w < 1 || h < 1) return "a PDF page without a size";
    if (w * h > static_cast<double>(limits_.maxPixels))
      return tooLarge(static_cast<std::int64_t>(w), static_cast<std::int64_t>(h), limits_.maxPixels) +
             " (rendered at pdf-dpi " + std::to_string(limits_.pdfDpi) + ")";
    poppler::page_renderer r;
    r.set_image_format(poppler::image::format_argb32);  // colour: red seals dropped below
    r.set_render_hint(poppler::page_renderer::antialiasing, true);
    r.set_render_hint(poppler::page_renderer::text_antialiasing, true);
    const poppler::image img = r.render_page(p.get(), limits_.pdfDpi, limits_.pdfDpi);
    if (!img.is_valid() || img.width() < 1 || img.height() < 1) return "the PDF page cannot be rendered (corrupt?)";
    PixPtr pix(pixCreate(img.width(), img.height(), 8));
    if (!pix) return "no memory for the rendered page";
    const char* src = img.const_data();
    const int wpl = pixGetWpl(pix.get());
    l_uint32* data = pixGetData(pix.get());
    for (int y = 0; y < img.height(); ++y) {
      const auto* row = reinterpret_cast<const std::uint32_t*>(src + static_cast<std::ptrdiff_t>(y) * img.bytes_per_row());
      l_uint32* line = data + static_cast<std::ptrdiff_t>(y) * wpl;
      for (int x = 0; x < img.width(); ++x) {
        const std::uint32_t p = row[x];  // 0xAARRGGBB, native order
        const int r = (p >> 16) & 0xFF, g = (p >> 8) & 0xFF, b = p & 0xFF;
        SET_DATA_BYTE(line, x, red(r, g, b) ? 255 : luminance(r, g, b));
      }
    }
    pixSetResolution(pix.get(), limits_.pdfDpi, limits_.pdfDpi);
    out = std::move(pix);
    return {};
  }
  l_int32 w = 0, h = 0, bps = 0, spp = 0, res = 0, cmap = 0, format = 0;
  if (kind_ == "tiff") {
    if (readHeaderTiff(file_.c_str(), index, &w, &h, &bps, &spp, &res, &cmap, &format) != 0 || w <= 0 || h <= 0)
      return "the TIFF page's header cannot be read (corrupt?)";
  } else if (pixReadHeader(file_.c_str(), &format, &w, &h, &bps, &spp, &cmap) != 0 || w <= 0 || h <= 0) {
    return "not an image Leptonica can read (PNG, TIFF, JPEG), or a corrupt one";
  }
  if (static_cast<std::int64_t>(w) * h > limits_.maxPixels) return tooLarge(w, h, limits_.maxPixels);
  PixPtr raw(kind_ == "tiff" ? pixReadTiff(file_.c_str(), index) : pixRead(file_.c_str()));
  if (!raw) return "the image cannot be decoded (corrupt?)";
  out = toGrey(raw.get());
  if (!out) return "the image cannot be turned to grey";
  return {};
}

}  // namespace renkei::connectors::ocr
