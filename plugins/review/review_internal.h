// What the review module's parts share: value checks, the stored JSON forms
// of an application's lists, and one action's planned effect. Not part of
// the module's interface (review.h is).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "review.h"

namespace renkei::plugins::review::detail {

constexpr std::int64_t kDayMs = 86'400'000;

using Fields = std::vector<std::pair<std::string, std::string>>;

/// Thrown inside a store transaction when the application changed since it
/// was read: the transaction rolls back and the caller is told. A
/// std::exception, as the host's seam expects of anything a state step
/// throws (it answers Retry; the caller's flag says why).
struct Changed : std::runtime_error {
  Changed() : std::runtime_error("the application changed meanwhile") {}
};

// The stored JSON forms (review_values.cpp).
std::string fieldsJson(const Fields& fields);
Fields fieldsFrom(const std::string& text);
std::string findingsJson(const std::vector<Finding>& findings);
std::vector<Finding> findingsFrom(const std::string& text);
std::string attachmentsJson(const std::vector<AttachmentIn>& list);
std::vector<AttachmentIn> attachmentsFrom(const std::string& text);

/// What an applicant's value may not hold, named by code point (never the
/// value): a control character (line breaks, tabs, C1, DEL) or a private-use
/// character (U+E000–U+F8FF and the supplementary planes 15 and 16).
std::optional<std::string> badCharacter(const std::string& v);
/// 問合せ番号: 12 characters of an alphabet without look-alikes (0/O, 1/I/L),
/// 60 bits from the system's random source, as XXXX-XXXX-XXXX.
std::string inquiryNumber();
/// `bytes` random bytes as lowercase hex.
std::string randomHex(std::size_t bytes);
/// SHA-256 of <dir>/<package>/<name>, opened through descriptors that never
/// follow a link and only when it is a regular file; nullopt otherwise.
std::optional<std::string> hashAttachment(const std::filesystem::path& dir, const std::string& package,
                                          const std::string& name);

std::size_t utf8Length(std::string_view s);
bool allDigits(std::string_view s);
bool allKatakana(std::string_view s);
/// An attachment's or package's name: [A-Za-z0-9._-], at most 64, not . or ..
bool safeName(std::string_view s);
bool isLowerHex64(std::string_view s);
std::string matchKeyOf(const std::string& name, const std::string& birth,
                       const std::map<std::string, std::string>& variants);
std::string valueOf(const Fields& fields, const std::string& name);
/// Whether member n (1-based) has any non-empty item ("member.<n>.…").
bool memberPresent(const Fields& fields, int n);
/// What any application may hold: at most 2,000 items of at most 64 KiB of
/// UTF-8 each. Throws ReviewError (BadRequest) naming the item, never its value.
void checkValues(const Fields& fields);
/// The stored key of an id: its origin, a unit separator, the id (neither
/// holds a control character).
std::string originKey(const std::string& origin, const std::string& id);

/// The applications table's columns, in the order Review::load reads them.
extern const char* const kColumns;

/// One action's effect, planned before its commit: the new state, the
/// history line's reason, the columns to set and what leaves with it.
struct Step {
  std::string to, why;
  std::vector<std::string> sets;  ///< SQL SET parts
  std::vector<StateValue> values;
  Emission emission;
  bool reviewAgain = false;  ///< a resubmission: the formal review runs on newFields
  Fields newFields;
  void set(std::string part, StateValue value) {
    sets.push_back(std::move(part));
    values.push_back(std::move(value));
  }
};

}  // namespace renkei::plugins::review::detail
