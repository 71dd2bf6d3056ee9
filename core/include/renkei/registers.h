// Look-ups across plugins (SDK ABI 16). A connector that keeps a register
// (the resident connector its residents; the family registry its persons)
// offers it to the host under an entity name, and another plugin of the
// same config finds an entity there by one of its keys: a welfare row's
// 宛名番号 checked against the residents, a 附票 entry linked by its
// 住民票コード. Neither reads the other's tables; the host keeps the
// directory, the offering plugin answers from its own state.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace renkei {

/// One entity as a look-up answers it: identifiers and status, the fields
/// the offering plugin chose to share (no more than a caller needs to link
/// records: never values beyond identifiers without a reason).
struct RegisterEntry {
  std::string key;                            ///< the register's own key
  std::map<std::string, std::string> fields;  ///< e.g. household_no, atena_no
  bool current = true;                        ///< false: known, but ended (moved out, died)
};

class RegisterLookup {
 public:
  virtual ~RegisterLookup() = default;
  /// The key names it can be searched by ("resident_code", "atena_no").
  virtual std::vector<std::string> keys() const = 0;
  /// The entity whose `keyName` is `value`, or nothing. Runs on the
  /// caller's thread, several at once; reads the offering plugin's state
  /// (throws StateError when the store fails).
  virtual std::optional<RegisterEntry> find(const std::string& keyName, const std::string& value) = 0;
  /// The entities of many `values` at once (one read of the offering
  /// plugin's state, not one per value): those found, by value. For a
  /// connector checking every row of a large export.
  virtual std::map<std::string, RegisterEntry> findMany(const std::string& keyName,
                                                        const std::vector<std::string>& values) = 0;
};

class RegisterDirectory {
 public:
  virtual ~RegisterDirectory() = default;
  /// Offers `entity` ("resident"), from configure(). Throws
  /// std::invalid_argument when another instance offers it already.
  virtual void offer(const std::string& entity, std::shared_ptr<RegisterLookup> lookup) = 0;
  /// The look-up for `entity`, or nullptr when no instance of this config
  /// offers it. Complete once every instance is configured (from start(),
  /// and in prepare()/accept()).
  virtual std::shared_ptr<RegisterLookup> find(const std::string& entity) const = 0;
};

}  // namespace renkei
