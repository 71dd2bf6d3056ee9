// QR codes through libqrencode, written as PNG (by hand: zlib and CRC-32
// are all a grey PNG needs) or SVG.
#include "renkei/support/qr.h"

#include <qrencode.h>
#include <zlib.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace renkei::qr {
namespace {

constexpr int kQuiet = 4;  // modules of white around the code (the standard's minimum)

struct Code {
  int width = 0;
  int version = 0;
  std::vector<bool> dark;  // width × width
};

Code encode(const std::string& text) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> q(
      QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!q) throw std::runtime_error("the text does not fit a QR code (" + std::to_string(text.size()) + " characters)");
  Code c;
  c.width = q->width;
  c.version = q->version;
  c.dark.resize(static_cast<std::size_t>(c.width) * c.width);
  for (int i = 0; i < c.width * c.width; ++i) c.dark[static_cast<std::size_t>(i)] = q->data[i] & 1;
  return c;
}

void chunk(std::string& out, const char* type, const std::string& data) {
  const std::uint32_t n = static_cast<std::uint32_t>(data.size());
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((n >> s) & 255);
  std::string body = std::string(type, 4) + data;
  out += body;
  const std::uint32_t crc = static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((crc >> s) & 255);
}

std::string be32(std::uint32_t v) {
  std::string s;
  for (int k = 24; k >= 0; k -= 8) s += static_cast<char>((v >> k) & 255);
  return s;
}

}  // namespace

int version(const std::string& text) { return encode(text).version; }

std::string png(const std::string& text, int scale) {
  const Code c = encode(text);
  if (scale < 1 || scale > 32) throw std::runtime_error("scale must be 1 to 32 pixels per module");
  const int side = (c.width + 2 * kQuiet) * scale;
  std::string raw;
  raw.reserve(static_cast<std::size_t>(side) * (side + 1));
  for (int y = 0; y < side; ++y) {
    raw += '\0';  // filter: none
    const int my = y / scale - kQuiet;
    for (int x = 0; x < side; ++x) {
      const int mx = x / scale - kQuiet;
      const bool dark = mx >= 0 && my >= 0 && mx < c.width && my < c.width &&
                        c.dark[static_cast<std::size_t>(my) * c.width + mx];
      raw += dark ? '\0' : '\xff';
    }
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string idat(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(idat.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                static_cast<uLong>(raw.size()), 9) != Z_OK)
    throw std::runtime_error("zlib");
  idat.resize(size);
  std::string out("\x89PNG\r\n\x1a\n", 8);
  chunk(out, "IHDR", be32(static_cast<std::uint32_t>(side)) + be32(static_cast<std::uint32_t>(side)) +
                         std::string("\x08\x00\x00\x00\x00", 5));  // 8-bit grey, no interlace
  chunk(out, "IDAT", idat);
  chunk(out, "IEND", "");
  return out;
}

std::string svg(const std::string& text) {
  const Code c = encode(text);
  const int side = c.width + 2 * kQuiet;
  std::string path;
  for (int y = 0; y < c.width; ++y)
    for (int x = 0; x < c.width; ++x)
      if (c.dark[static_cast<std::size_t>(y) * c.width + x])
        path += "M" + std::to_string(x + kQuiet) + " " + std::to_string(y + kQuiet) + "h1v1h-1z";
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + std::to_string(side) + " " +
         std::to_string(side) + "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">\n"
         "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<path fill=\"#000\" d=\"" + path + "\"/>\n</svg>\n";
}

}  // namespace renkei::qr
