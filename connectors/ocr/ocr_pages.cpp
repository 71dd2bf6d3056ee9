#include "ocr_pages.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>

#include <cmath>
#include <cstdio>
#include <mutex>

namespace renkei::connectors::ocr {
namespace {

std::string tooLarge(std::int64_t w, std::int64_t h, std::int64_t max) {
  return "the image is " + std::to_string(w) + " × " + std::to_string(h) + " px, more than max-pixels (" +
         std::to_string(max) + "): not decoded";
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
    r.set_image_format(poppler::image::format_gray8);
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
      const unsigned char* row = reinterpret_cast<const unsigned char*>(src + static_cast<std::ptrdiff_t>(y) * img.bytes_per_row());
      l_uint32* line = data + static_cast<std::ptrdiff_t>(y) * wpl;
      for (int x = 0; x < img.width(); ++x) SET_DATA_BYTE(line, x, row[x]);
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
  out.reset(pixConvertTo8(raw.get(), 0));
  if (!out) return "the image cannot be turned to grey";
  return {};
}

}  // namespace renkei::connectors::ocr
