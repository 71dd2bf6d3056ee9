// Mapping transforms and check rules, compiled once: a name and its
// arguments become an object whose apply() runs per record.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "renkei/support/layout.h"
#include "mapping/identifier_scan.h"

namespace renkei::mapping {

/// Secret keys for pseudonym(KEY-ID), by id. Read from files named in the
/// config or on the command line; never logged.
using KeyRing = std::map<std::string, std::string>;

/// Reads a pseudonym key from `file`: its bytes without a final line end,
/// at least 16 of them. Returns an error message (naming the file, never the
/// key), or nullopt with `key` set.
std::optional<std::string> readKeyFile(const std::string& file, std::string& key);

/// What a transform may read besides its input: the source record's other
/// fields (concat) and nothing else.
struct TransformContext {
  const std::vector<std::string_view>* sourceValues = nullptr;
};

/// One compiled transform step.
class Transform {
 public:
  virtual ~Transform() = default;
  /// Writes the result for non-empty `in` to `out` (cleared by the caller).
  /// Returns false when the transform cannot handle the value (a field failure).
  virtual bool apply(std::string_view in, std::string& out, const TransformContext& context) const = 0;
  /// True for transforms after which the value holds nothing personal:
  /// mask(N) with N <= kMaskMaxKept, and pseudonym(KEY).
  virtual bool lowersPii() const { return false; }
  /// True when the output cannot carry any of the input's characters (a
  /// keyed hash): the internet zone's content scan has nothing to find there.
  virtual bool hidesInput() const { return false; }
  /// Source fields the transform reads besides its input (concat).
  virtual std::vector<int> readsFields() const { return {}; }
};

/// The most characters mask(N) may keep and still lower a field's class to
/// none: a masked value keeps at most this many, and never more than half
/// of itself (mask(4) keeps a phone number's last four digits; a two-
/// character name becomes "**").
constexpr std::size_t kMaskMaxKept = 4;

/// Resolves names of source fields for transforms that take them.
struct CompileEnv {
  const formats::Layout* layout = nullptr;
  const KeyRing* keys = nullptr;
};

/// Compiles one step, written `name` or `name(args)`. Returns null and sets
/// `error` (naming what would be valid) when it cannot.
std::unique_ptr<Transform> compileTransform(const std::string& step, const CompileEnv& env, std::string& error);

/// Splits a pipeline "a|b(x|y)|c" at the top-level bars.
std::vector<std::string> splitPipeline(const std::string& pipeline);

/// The transform names, for "did you mean".
std::vector<std::string> transformNames();

/// A compiled check rule: true when the (non-empty) value passes.
class CheckRule {
 public:
  virtual ~CheckRule() = default;
  virtual bool passes(std::string_view value) const = 0;
  /// Rules whose formula is unconfirmed may only warn (juminhyo-code).
  virtual bool warnOnly() const { return false; }
};

std::unique_ptr<CheckRule> compileCheck(const std::string& rule, std::string& error);
std::vector<std::string> checkNames();

}  // namespace renkei::mapping
