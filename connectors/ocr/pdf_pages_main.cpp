// renkei-pdf-pages: a scanner's PDF, opened and rendered by poppler in a
// process of its own, so a PDF that crashes or exhausts the renderer takes
// down this process only, never the host reading scans for every route. The
// ocr connector runs it for each PDF (connectors/ocr/README.md):
//
//   renkei-pdf-pages count FILE
//       prints the number of pages
//   renkei-pdf-pages render FILE INDEX DPI MAX_PIXELS OUT
//       FILE "-": the PDF on standard input (how the connector hands over a
//       scan it holds through a folder descriptor)
//       writes page INDEX (0-based) at DPI to OUT as 8-bit grey PGM (red
//       seals dropped to paper), unless its size at DPI passes MAX_PIXELS
//
// Exit status: 0 done; 2 usage; 3 the PDF cannot be opened; 4 it is locked
// with a password; 5 the page is larger than MAX_PIXELS (its size printed:
// "W H"); 6 the page cannot be read or rendered; 7 OUT cannot be written.
// Limits of its own before the PDF is touched: 4 GiB of address space, 120
// CPU seconds. Nothing of the document is printed.
#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ocr_grey.h"
#include "renkei/text.h"

namespace {

void limit(int resource, rlim_t value) {
  rlimit r{value, value};
  ::setrlimit(resource, &r);
}

int render(poppler::document& pdf, int index, int dpi, std::int64_t maxPixels, const char* out) {
  std::unique_ptr<poppler::page> p(pdf.create_page(index));
  if (!p) return 6;
  const poppler::rectf box = p->page_rect();
  const double w = std::ceil(std::fabs(box.width()) / 72.0 * dpi);
  const double h = std::ceil(std::fabs(box.height()) / 72.0 * dpi);
  if (w < 1 || h < 1) return 6;
  if (w * h > static_cast<double>(maxPixels)) {
    std::cout << static_cast<std::int64_t>(w) << " " << static_cast<std::int64_t>(h) << "\n";
    return 5;
  }
  poppler::page_renderer r;
  r.set_image_format(poppler::image::format_argb32);  // colour: red seals dropped below
  r.set_render_hint(poppler::page_renderer::antialiasing, true);
  r.set_render_hint(poppler::page_renderer::text_antialiasing, true);
  const poppler::image img = r.render_page(p.get(), dpi, dpi);
  if (!img.is_valid() || img.width() < 1 || img.height() < 1) return 6;
  std::FILE* f = std::fopen(out, "wb");
  if (!f) return 7;
  std::fprintf(f, "P5\n%d %d\n255\n", img.width(), img.height());
  std::vector<unsigned char> line(static_cast<std::size_t>(img.width()));
  const char* src = img.const_data();
  bool ok = true;
  for (int y = 0; y < img.height() && ok; ++y) {
    const auto* row = reinterpret_cast<const std::uint32_t*>(src + static_cast<std::ptrdiff_t>(y) * img.bytes_per_row());
    for (int x = 0; x < img.width(); ++x) {
      const std::uint32_t px = row[x];  // 0xAARRGGBB, native order
      line[static_cast<std::size_t>(x)] = static_cast<unsigned char>(
          renkei::connectors::ocr::greyOf((px >> 16) & 0xFF, (px >> 8) & 0xFF, px & 0xFF));
    }
    ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  }
  return std::fclose(f) == 0 && ok ? 0 : 7;
}

}  // namespace

int main(int argc, char** argv) {
  ::umask(077);  // the rendered page is a resident's paper: readable by renkei alone
  limit(RLIMIT_AS, rlim_t{4} << 30);
  limit(RLIMIT_CPU, 120);
  limit(RLIMIT_CORE, 0);  // a crash leaves no image of a resident's papers behind
  poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr);
  const std::vector<std::string> a(argv + 1, argv + argc);
  const bool count = a.size() == 2 && a[0] == "count";
  const bool page = a.size() == 6 && a[0] == "render";
  if (!count && !page) {
    std::cerr << "usage: renkei-pdf-pages count FILE | render FILE INDEX DPI MAX_PIXELS OUT\n";
    return 2;
  }
  std::vector<char> bytes;
  std::unique_ptr<poppler::document> pdf;
  if (a[1] == "-") {
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, stdin)) > 0;) {
      if (bytes.size() + n > (std::size_t{1} << 30)) return 3;  // the connector's max-file-size is far below
      bytes.insert(bytes.end(), buf, buf + n);
    }
    pdf.reset(poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  } else {
    pdf.reset(poppler::document::load_from_file(a[1]));
  }
  if (!pdf) return 3;
  if (pdf->is_locked()) return 4;
  if (count) {
    std::cout << pdf->pages() << "\n";
    return 0;
  }
  const auto index = renkei::parseWholeNumber(a[2], 0, 1000000);
  const auto dpi = renkei::parseWholeNumber(a[3], 50, 1200);
  const auto max = renkei::parseWholeNumber(a[4], 1, INT64_MAX);
  if (!index || !dpi || !max) {
    std::cerr << "renkei-pdf-pages: INDEX, DPI and MAX_PIXELS are whole numbers\n";
    return 2;
  }
  if (*index >= pdf->pages()) return 6;
  return render(*pdf, static_cast<int>(*index), static_cast<int>(*dpi), *max, a[5].c_str());
}
