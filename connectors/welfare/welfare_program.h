// One window data type of the welfare and tax core systems (国保, 児童手当,
// 介護 …) as a program file describes it (urn:renkei:welfare:1): which
// field keys a row to a person, when a row means the person has left the
// program, and the facts rules use, computed from the row. Facts are
// booleans, dates and short codes: PII-free once computed, so they are all
// the connector keeps (never an amount or a 滞納 detail).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "renkei/support/diagnostics.h"

namespace renkei::connectors::welfare {

/// A condition on one field of a row.
struct Condition {
  std::string field;
  enum class Test { NotEmpty, Empty, In } test = Test::NotEmpty;
  std::set<std::string> values;  ///< In
  int line = 0;
  bool holds(const std::string& value) const;
};

struct Fact {
  std::string name;  ///< [a-z][a-z0-9_]*: what rules name ("kokuho_member")
  enum class Kind {
    Current,  ///< true while the person is in the program
    Date,     ///< the field as a date (YYYY-MM-DD from YYYYMMDD, YYYY-MM-DD or YYYY/MM/DD)
    Code,     ///< the field's code as it is (letters, digits, '-', at most 16)
    Is,       ///< whether the field's value is one of `values`
  } kind = Kind::Current;
  std::string field;
  std::set<std::string> values;
  int line = 0;
};

struct Program {
  std::string id;          ///< [a-z][a-z0-9-]*: the record type is welfare.<id>
  std::string name;        ///< 国民健康保険
  std::string recipients;  ///< who it counts, for messages ("被保険者")
  std::string keyField;    ///< the row's person key field (宛名番号)
  std::string residentKey; ///< what that key is in the resident register: atena_no or resident_code
  std::vector<Condition> ended;  ///< any holds: the person has left the program
  std::vector<Fact> facts;
  std::filesystem::path file;

  /// The fields a row is read for: the key, the conditions', the facts'.
  std::vector<std::string> fields() const;
  /// The facts of one row (values in `fields()` order), as field values in
  /// `facts` order; `current` false when an ended condition holds. A date or
  /// code the row does not give properly is "" and counted in `unreadable`.
  std::vector<std::string> compute(const std::vector<const std::string*>& row, bool& current,
                                   std::size_t& unreadable) const;
};

/// Reads and checks a program file: problems in `diags` with file:line.
std::optional<Program> loadProgram(const std::filesystem::path& file, Diagnostics& diags);

}  // namespace renkei::connectors::welfare
