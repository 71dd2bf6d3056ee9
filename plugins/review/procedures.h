// Procedures as config (urn:renkei:procedures:1): what the review module
// takes applications for — each procedure's fields with PII classes and
// formal rules, its attachments, standard processing period and its one
// write-back (frontyard.md §5). And the 文字変換テーブル that turns an
// application's characters into what the core system can store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "renkei/support/diagnostics.h"

namespace renkei::text {
class Codec;
}

namespace renkei::plugins::review {

struct FieldRule {
  std::string name;
  std::string label;           ///< for staff; the name when not given
  std::string pii = "personal";
  bool required = false;
  std::string format;          ///< "", text, date, digits, katakana, postal-code, phone
  std::string pattern;         ///< ECMAScript, whole value
  std::shared_ptr<const std::regex> regex;
  std::string checkDigit;      ///< "", mynumber, juminhyo-code, corporate-number, residence-card
  std::vector<std::string> values;  ///< allowed values, when listed
  std::size_t maxLength = 200;  ///< characters
  std::string match;           ///< "", name, birth, sex, address: compared with the resident record
  bool writeBack = true;       ///< written back to the core system
  /// required-when="field=value": required only when that field (of the same
  /// member) has that value (在留資格 when 住民種別 is 外国人).
  std::string requiredWhenField, requiredWhenValue;
  int line = 0;
};

struct AttachmentRule {
  std::string name;
  std::string label;
  bool required = true;
};

/// The 文字変換テーブル of one core system: characters the core system
/// stores differently (a 外字 code in its private-use area, an older form).
/// One line per character, tab-separated: `source<TAB>target[<TAB>comment]`,
/// each a character or U+XXXX (several for a sequence); '#' comment lines.
class ConversionTable {
 public:
  static std::shared_ptr<ConversionTable> load(const std::filesystem::path& file, Diagnostics& diags);
  /// Parses the text of a table (file named in diagnostics).
  static std::shared_ptr<ConversionTable> parse(std::string_view text, const std::string& file, Diagnostics& diags);
  const std::string* find(std::uint32_t cp) const {
    auto it = map_.find(cp);
    return it == map_.end() ? nullptr : &it->second;
  }
  std::size_t size() const { return map_.size(); }

 private:
  std::map<std::uint32_t, std::string> map_;
};

/// A value made ready for a core system, or the character that cannot be.
struct Converted {
  std::string text;                 ///< UTF-8, every character encodable by the target
  std::optional<std::uint32_t> unmappable;  ///< the first character neither the table nor the encoding holds
};
/// Converts `value` through `table` (may be null) and checks that `codec`
/// can hold every character; never substitutes.
Converted convertForCoreSystem(std::string_view value, const ConversionTable* table, const text::Codec& codec);
/// "U+9AD9"
std::string codePointName(std::uint32_t cp);

struct WriteBack {
  std::string kind;            ///< 異動 kind (転入, 転居, 転出, 特例転入, 特例転出 …)
  std::string encoding = "windows-31j";
  const text::Codec* codec = nullptr;
  std::filesystem::path conversionTablePath;
  std::shared_ptr<const ConversionTable> conversionTable;
  std::string reflectEvent;    ///< the 異動 the resident export shows once written (empty: acknowledgement only)
  int reflectDays = 5;         ///< open days to wait for 反映済 before it is reported
};

struct Procedure {
  std::string id, name, form, department;
  int periodDays = 0;        ///< 標準処理期間, open days
  int correctionDays = 14;   ///< 補正 deadline, days (rolled past closed days)
  bool registerRequired = true;  ///< the applicant must be found in the resident register
  std::vector<FieldRule> fields;
  /// Fields repeated per member (member.<n>.<field>, n from 1): the people
  /// an application covers; each member is one write-back row.
  std::vector<FieldRule> memberFields;
  int minMembers = 0, maxMembers = 0;
  std::vector<AttachmentRule> attachments;
  WriteBack writeBack;
  int line = 0;
  std::string recordType() const { return "writeback." + id; }  ///< what the write-back emits
  /// The rule for a field name as sent: "name" or "member.<n>.name".
  const FieldRule* field(const std::string& name) const;
};

struct Procedures {
  std::filesystem::path file;
  std::string municipality;
  std::vector<Procedure> list;
  const Procedure* find(const std::string& id) const;
};

/// Loads a procedures file; every problem goes to `diags` with file:line.
std::shared_ptr<const Procedures> loadProcedures(const std::filesystem::path& file, Diagnostics& diags);

}  // namespace renkei::plugins::review
