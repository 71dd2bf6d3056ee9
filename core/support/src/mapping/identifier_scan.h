// The identifier scan: does a value bound for the internet zone hold a
// 個人番号 or a 住民票コード, however it is written? And the value patterns
// a mapping may declare to show that a field cannot hold one.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace renkei::mapping {

/// True when `text` holds a standalone run of exactly 12 digits with a valid
/// 個人番号 check digit, or of exactly 11 digits (住民票コード-shaped).
///
/// The text is read through one normaliser first: format characters (zero-
/// width space, soft hyphen, joiners, BOM) are removed; a digit is a decimal
/// digit of any script (full-width, mathematical, Arabic-Indic …), what NFKC
/// makes one ASCII digit (①, ²), or a kanji numeral read digit by digit
/// (〇 一 二 … 九); up to three separators in a row (spaces, tabs, every dash,
/// the minus sign, ー, dots, slashes, underscores) join digit groups; a comma
/// joins groups only as a thousands separator (three digits follow). A run
/// is standalone when what precedes and follows it is neither a digit nor a
/// joining separator: the 14 digits of a 到達番号 R20261207-000123 are one
/// run and hold no 12-digit identifier, however its digits fall.
/// A digest (32, 40, 48, 56, 64, 96 or 128 hex characters with a letter
/// among them: a pseudonym, a content hash) is opaque and stepped over; a
/// digit run glued to one is still read. A UUID (8-4-4-4-12 hex digits with
/// a letter) is opaque too, unless its last group is a valid 個人番号.
/// Thread-safe; work is linear in the text's length.
bool looksLikeIdentifier(std::string_view text);

/// What the scan reads a code point as (exposed for tests and the
/// patterns' proof): 0 other, 1 digit, 2 separator, 3 comma, 4 ignorable;
/// `digit` is the value of a digit.
int scanKind(char32_t cp, int* digit = nullptr);

/// A field's declared value pattern (`pattern="R[0-9]{8}-[0-9]{6}"`): a
/// small, linear-time subset of regular expressions — literal characters,
/// `\d`, `\` + a character, classes `[…]` of characters and ranges, each
/// optionally followed by `{n}`, `{n,m}`, `?`, `*` or `+`; the whole value
/// must match. No alternation, groups, `.` or negated classes: a pattern
/// that narrow is one whose values can be reasoned about.
class ValuePattern {
 public:
  /// Null with `error` set (what is wrong, at which character) when the
  /// pattern is outside the subset.
  static std::unique_ptr<ValuePattern> compile(const std::string& pattern, std::string& error);
  ~ValuePattern();

  /// True when the whole value matches (values over 1,024 characters never do).
  bool matches(std::string_view value) const;

  /// Nothing when no value the pattern matches can hold a standalone run of
  /// 11 or 12 digits (so the identifier scan has nothing to find in it);
  /// otherwise why one can ("characters 2–9 and 11–16 can together be 14
  /// digits … can be 12"): the proof `renkei check` reports.
  std::optional<std::string> canHoldIdentifier() const;

  struct Atom;

 private:
  ValuePattern() = default;
  std::vector<Atom> atoms_;
};

}  // namespace renkei::mapping
