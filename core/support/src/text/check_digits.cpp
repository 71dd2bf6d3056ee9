// Check digits of Japanese identifiers.
#include "renkei/support/check_digits.h"

namespace renkei::text {
namespace {

bool allDigits(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Weights from the left, r = Σ mod 11, check = 0 if r ≤ 1 else 11 − r.
int mod11Check(std::string_view body, const int* weights) {
  int sum = 0;
  for (std::size_t i = 0; i < body.size(); ++i) sum += (body[i] - '0') * weights[i];
  const int r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

}  // namespace

bool isValidMyNumber(std::string_view s) {
  if (!allDigits(s, 12)) return false;
  static constexpr int kWeights[] = {6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  return mod11Check(s.substr(0, 11), kWeights) == s[11] - '0';
}

bool isValidCorporateNumber(std::string_view s) {
  if (!allDigits(s, 13)) return false;
  // Pn: n-th digit of the 12-digit body counted from the right; Qn = 1 odd, 2 even.
  int sum = 0;
  for (int n = 1; n <= 12; ++n) sum += (s[13 - n] - '0') * (n % 2 == 1 ? 1 : 2);
  return 9 - sum % 9 == s[0] - '0';
}

bool isValidLgCode(std::string_view s) {
  if (!allDigits(s, 6)) return false;
  static constexpr int kWeights[] = {6, 5, 4, 3, 2};
  int sum = 0;
  for (int i = 0; i < 5; ++i) sum += (s[i] - '0') * kWeights[i];
  return (11 - sum % 11) % 10 == s[5] - '0';
}

bool isValidResidenceCardNumber(std::string_view s) {
  if (s.size() != 12) return false;
  for (std::size_t i = 0; i < 12; ++i) {
    const char c = s[i];
    const bool letter = c >= 'A' && c <= 'Z';
    const bool digit = c >= '0' && c <= '9';
    if ((i < 2 || i >= 10) ? !letter : !digit) return false;
  }
  return true;
}

bool isValidJuminhyoCode(std::string_view s) {
  if (!allDigits(s, 11)) return false;
  static constexpr int kWeights[] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  return mod11Check(s.substr(0, 10), kWeights) == s[10] - '0';
}

}  // namespace renkei::text
