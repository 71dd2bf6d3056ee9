// Applicant matching by 4 情報 (氏名, 生年月日, 性別, 住所) against the resident
// record (frontyard.md §5; issue 16): each item compared as written, then
// after the normalisations people's notations need — spaces in 氏名, full-
// and half-width forms, old and new character forms (異体字) through a
// table, 住所 in 丁目/番/号 or hyphens, kanji numerals — with the result per
// item, so staff see what matched how, never a silent fuzzy match.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace renkei::plugins::review {

/// Old and new character forms (髙 → 高 …): one pair per line, "old<TAB>new",
/// '#' comments. Returns the problems with their line numbers.
std::vector<std::string> loadVariants(std::string_view tsv, std::map<std::string, std::string>& out);

struct FourItems {
  std::string name, birth, sex, address;  ///< birth as YYYY-MM-DD; sex 1 / 2 (or 男 / 女)
};

enum class Verdict { Same, SameAfterNormalising, Different, Missing };
const char* verdictName(Verdict v);  ///< same, same-after-normalising, different, missing

struct ItemResult {
  std::string item;          ///< name, birth, sex, address
  Verdict verdict = Verdict::Missing;
  std::string normalisation;  ///< what made them equal: "spaces", "width", "variants", "address notation" …
};

struct MatchResult {
  std::vector<ItemResult> items;  ///< in the order name, birth, sex, address
  bool matched() const;           ///< every item same (as written or after normalising)
};

/// Compares what an application says with the resident record.
MatchResult match(const FourItems& application, const FourItems& record,
                  const std::map<std::string, std::string>& variants);

/// The forms compared (exposed for tests and for showing staff).
std::string normaliseName(std::string_view name, const std::map<std::string, std::string>& variants);
std::string normaliseAddress(std::string_view address, const std::map<std::string, std::string>& variants);

}  // namespace renkei::plugins::review
