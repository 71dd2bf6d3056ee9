// Check digits of Japanese identifiers (domain.md "Identifier check digits").
// A valid check digit is not existence: 000000000000 passes.
#pragma once

#include <string_view>

namespace renkei::text {

/// 個人番号 (My Number): 12 digits, the last a check digit (総務省令第85号 第5条).
bool isValidMyNumber(std::string_view s);
/// 法人番号: 13 digits, the FIRST a check digit (財務省令第70号).
bool isValidCorporateNumber(std::string_view s);
/// 地方公共団体コード: 6 digits, the last a check digit.
bool isValidLgCode(std::string_view s);
/// 在留カード番号: two letters, eight digits, two letters (format only).
bool isValidResidenceCardNumber(std::string_view s);
/// 住民票コード: 11 digits. The formula is UNCONFIRMED (assumed: the My Number
/// scheme on 10 digits); callers must treat a failure as a warning only.
bool isValidJuminhyoCode(std::string_view s);

}  // namespace renkei::text
