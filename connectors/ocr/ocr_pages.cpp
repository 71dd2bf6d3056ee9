#include "ocr_pages.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <random>
#include <system_error>
#include <vector>

#include "ocr_grey.h"
#include "renkei/text.h"

extern char** environ;

namespace renkei::connectors::ocr {
namespace {

std::string tooLarge(std::int64_t w, std::int64_t h, std::int64_t max) {
  return "the image is " + std::to_string(w) + " × " + std::to_string(h) + " px, more than max-pixels (" +
         std::to_string(max) + "): not decoded";
}

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
      SET_DATA_BYTE(line, x, greyOf(r, g, b));
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

struct Rendered {
  int exitCode = -1;  ///< -1: did not exit by itself
  int signal = 0;
  bool timedOut = false;
  std::string out;      ///< its stdout (a count, a size), bounded
  std::string failed;   ///< it could not be started
};

/// Runs renkei-pdf-pages with `args` and the scan `file` on its standard
/// input (the connector reaches scans through a folder descriptor the child
/// does not have), its stdout read, its stderr dropped, no descriptor of the
/// host but those; stopped (SIGKILL) after timeoutMs.
Rendered runRenderer(const PageLimits& limits, const std::filesystem::path& file, const std::vector<std::string>& args) {
  Rendered r;
  const int input = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (input < 0) {
    r.failed = "cannot open the scan: " + std::error_code(errno, std::generic_category()).message();
    return r;
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    r.failed = std::error_code(errno, std::generic_category()).message();
    ::close(input);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<std::string> all{limits.pdfRenderer.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  // A process group of its own: stopped, it is stopped whole (a renderer
  // that started a helper of its own leaves nothing holding the pipe).
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, all[0].c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  ::close(input);
  if (spawned != 0) {
    ::close(pipefd[0]);
    r.failed = "cannot start " + all[0] + ": " + std::error_code(spawned, std::generic_category()).message();
    return r;
  }
  ::fcntl(pipefd[0], F_SETFL, ::fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.pdfTimeoutMs);
  int status = 0;
  for (;;) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      char buf[512];
      const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
      if (n > 0 && r.out.size() < 4096) r.out.append(buf, static_cast<std::size_t>(n));
    }
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timedOut = true;
      break;
    }
  }
  for (char buf[512];;) {  // what it wrote just before it ended
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0 || r.out.size() >= 4096) break;
    r.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  if (WIFEXITED(status)) r.exitCode = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

/// Why the renderer did not do its work, or "" when it exited by itself.
std::string rendererStopped(const Rendered& r, const PageLimits& limits) {
  if (!r.failed.empty()) return "the PDF renderer: " + r.failed;
  if (r.timedOut)
    return "the PDF renderer took longer than " + std::to_string(limits.pdfTimeoutMs / 1000) +
           " s on it and was stopped: a PDF it cannot render";
  if (r.signal)
    return "the PDF renderer stopped on it (signal " + std::to_string(r.signal) +
           "): a PDF it cannot read, refused; the host reads on";
  return {};
}

}  // namespace

std::filesystem::path defaultPdfRenderer() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("renkei-pdf-pages") : self.parent_path() / "renkei-pdf-pages";
}

ScanPages::ScanPages() = default;
ScanPages::~ScanPages() = default;

std::string ScanPages::open(const std::filesystem::path& file, const PageLimits& limits) {
  file_ = file;
  limits_ = limits;
  if (startsWithPdf(file)) {
    kind_ = "pdf";
    const Rendered r = runRenderer(limits_, file, {"count", "-"});
    if (std::string why = rendererStopped(r, limits_); !why.empty()) return why;
    if (r.exitCode == 4) return "a PDF locked with a password: scan it again without one";
    std::string count = r.out;
    while (!count.empty() && (count.back() == '\n' || count.back() == '\r')) count.pop_back();
    const auto n = parseWholeNumber(count, 0, 1000000000);
    if (r.exitCode != 0 || !n) return "a PDF that cannot be opened (corrupt?)";
    count_ = static_cast<int>(std::min<std::int64_t>(*n, 1000000));
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
    // Rendered by renkei-pdf-pages into the private render folder, read
    // back and removed at once (the page is a resident's paper).
    std::mt19937_64 rnd(std::random_device{}());
    const std::filesystem::path pgm = limits_.renderDir / ("page-" + std::to_string(rnd()) + ".pgm");
    const Rendered r = runRenderer(limits_, file_, {"render", "-", std::to_string(index),
                                             std::to_string(limits_.pdfDpi), std::to_string(limits_.maxPixels),
                                             pgm.string()});
    std::error_code ec;
    if (std::string why = rendererStopped(r, limits_); !why.empty()) {
      std::filesystem::remove(pgm, ec);
      return why;
    }
    if (r.exitCode == 5) {
      std::int64_t w = 0, h = 0;
      std::sscanf(r.out.c_str(), "%ld %ld", &w, &h);
      return tooLarge(w, h, limits_.maxPixels) + " (rendered at pdf-dpi " + std::to_string(limits_.pdfDpi) + ")";
    }
    if (r.exitCode != 0) {
      std::filesystem::remove(pgm, ec);
      return r.exitCode == 7 ? "the rendered page cannot be written to " + limits_.renderDir.string()
                             : "the PDF page cannot be rendered (corrupt?)";
    }
    PixPtr pix(pixRead(pgm.c_str()));
    std::filesystem::remove(pgm, ec);
    if (!pix || pixGetDepth(pix.get()) != 8) return "the rendered page cannot be read back";
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
