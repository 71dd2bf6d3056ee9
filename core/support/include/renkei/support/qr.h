// QR codes for sealed visit tokens: libqrencode (error correction level M,
// the text's QR alphanumeric characters packed as such), drawn as PNG or SVG.
// Link renkei::seal. Thread-safe.
#pragma once

#include <string>

namespace renkei::qr {

/// A PNG (8-bit grey) of `text`'s QR code: `scale` pixels per module and a
/// quiet zone of 4 modules. Throws std::runtime_error when the text does not
/// fit a QR code.
std::string png(const std::string& text, int scale = 4);

/// The same as an SVG document (one path; scales without blur; prints sharp).
std::string svg(const std::string& text);

/// The QR version (1-40) the text needs at level M.
int version(const std::string& text);

}  // namespace renkei::qr
