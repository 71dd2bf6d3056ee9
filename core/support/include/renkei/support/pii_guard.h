// The PII guard for text bound for a generative AI: what in a prompt, the
// context given with it, or an answer is personal, and the same text with
// each such value replaced by a stable placeholder (〔電話番号1〕).
//
// Found, however written (full-width digits, spaces, hyphens or line ends
// inside numbers, kanji numerals):
// - 個人番号: a standalone run of 12 digits with a valid check digit;
// - 住民票コード-shaped: a standalone run of 11 digits (not starting 0);
// - 在留カード番号: two letters, eight digits, two letters;
// - phone numbers: 10 or 11 digits starting 0, or +81 and the rest;
// - e-mail addresses;
// - postal codes (〒 and 7 digits, or 3-4 digits) and addresses (番地 or
//   号, or two number-and-marker groups such as 一丁目2番, or 1-2-3 after a
//   place name, with the place name before them; a town's 丁目 alone is
//   not a house);
// - dates of birth (a full date, Western or era, beside 生年月日, 生まれ,
//   誕生, 出生 or 生);
// - names: the values the caller says came from a record's personal fields.
// Work is linear in the text's length; nothing is kept between calls but
// a Masker's placeholders.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace renkei::pii {

enum class Kind { MyNumber, ResidentCode, ResidenceCard, Phone, Email, PostalCode, Address, BirthDate, Name };

/// "mynumber", "resident-code", "residence-card", "phone", "email",
/// "postal-code", "address", "birth-date", "name": for config, logs, counts.
const char* kindName(Kind kind);
/// 個人番号, 住民票コード, 在留カード番号, 電話番号, メールアドレス, 郵便番号,
/// 住所, 生年月日, 氏名: the placeholders' words.
const char* kindLabel(Kind kind);

/// One value found: its kind and its bytes in the text.
struct Finding {
  Kind kind;
  std::size_t begin = 0, end = 0;
};

/// Everything personal in `text`, in order, not overlapping. `names`: the
/// values of personal fields of the records the text was built from (each
/// also found with its spaces removed).
std::vector<Finding> scan(std::string_view text, const std::vector<std::string>& names = {});

/// Masks texts of one conversation: the same value (by kind and its digits,
/// or its text) gets the same placeholder in every text it masks, so a
/// model can still tell two numbers apart and an answer can be read back.
class Masker {
 public:
  /// `text` with each finding replaced by 〔<label><n>〕.
  std::string mask(std::string_view text, const std::vector<std::string>& names = {});
  /// Values masked so far, by kind.
  const std::map<Kind, int>& counts() const { return counts_; }
  /// The placeholders of `which` in `text` put back to the value they
  /// stand for, as first written. For values the city published itself (a
  /// counter's phone number in its knowledge): a model's answer may name
  /// them, a resident's own never.
  std::string restore(std::string_view text, const std::set<std::string>& which) const;
  /// The placeholders this masker made that appear in `text` (a masked text).
  std::set<std::string> placeholdersIn(std::string_view text) const;

 private:
  std::map<std::string, std::string> placeholders_;  ///< kind + canonical value → placeholder
  std::map<Kind, int> counts_;
  std::map<std::string, std::string> originals_;  ///< placeholder → the value as first written
};

}  // namespace renkei::pii
