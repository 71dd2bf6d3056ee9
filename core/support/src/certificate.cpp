#include "renkei/support/certificate.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

namespace renkei {

std::optional<double> certificateSecondsLeft(const std::filesystem::path& file) {
  FILE* f = std::fopen(file.c_str(), "rb");
  if (!f) return std::nullopt;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!cert) return std::nullopt;
  int days = 0, seconds = 0;
  const bool ok = ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(cert)) == 1;
  X509_free(cert);
  if (!ok) return std::nullopt;
  return static_cast<double>(days) * 86400 + seconds;
}

}  // namespace renkei
