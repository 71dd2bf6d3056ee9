// The bundle: the unit that crosses between zones (frontyard.md §2). One
// UTF-8 text file a sanitiser passes unchanged:
//   line 1      the manifest (JSON): format, bundle id, sender, zones,
//               sequence, record type, fields with PII classes, record
//               count, created time, SHA-256 of the payload, sealed or not
//   lines 2..   the payload: one JSON array of strings per record; or, when
//               any field's class is not `none`, one line "sealed:<Base64>"
//               holding the payload sealed to the receiver (renkei::seal,
//               the manifest line as associated data)
//   last line   "signature:<Base64>": the sender's Ed25519 signature of every
//               byte above it
// Canonical form: a UTF-8 BOM at the start is dropped and CRLF read as LF
// before anything is checked, so a sanitiser that rewrites line ends or adds
// a BOM does not break the signature; any other change does.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "renkei/support/seal.h"

namespace renkei::connectors::bridge {

/// The largest per-sender sequence number a bundle may carry (a sender
/// sending a bundle a second for 30,000 years stays below it).
constexpr std::int64_t kMaxSequence = 1'000'000'000'000'000;
/// The manifest line, its fields, and its names: bounded before and after
/// parsing, so a hostile (signed) manifest cannot make the receiver allocate
/// without limit, and every name it carries is short and plain enough for a
/// log line, a reason file or a metric label.
constexpr std::size_t kMaxManifestBytes = 256u << 10;
constexpr std::size_t kMaxFields = 1000;
constexpr std::size_t kMaxNameBytes = 100;

struct Field {
  std::string name;
  std::string pii;  ///< none, personal, identifier, special, mynumber
};

struct Manifest {
  std::string bundleId;
  std::string sender;      ///< the sending instance
  std::string fromZone, toZone;
  std::int64_t sequence = 0;  ///< per sender, from 1
  std::string recordType;
  std::vector<Field> fields;
  std::int64_t records = 0;      ///< filled by writeBundle
  std::string created;           ///< ISO 8601 UTC
  std::string payloadSha256;     ///< filled by writeBundle
  bool sealed = false;           ///< filled by writeBundle
  /// The associated data the payload was sealed with, when it is not the
  /// manifest line: a payload the sending host sealed at rest (the internet
  /// zone keeps nothing personal in the clear; Batch::sealedPayload). Bound
  /// to the manifest by the signature.
  std::string sealedAad;
};

using Rows = std::vector<std::vector<std::string>>;

/// Writes a bundle of `rows` (each with one value per manifest field),
/// signed with `signer`; sealed to `receiver` when any field is not `none`
/// (then `receiver` is required: std::invalid_argument otherwise).
std::string writeBundle(Manifest manifest, const Rows& rows, const seal::SigningKey& signer,
                        const seal::PublicKey* receiver);

/// Writes a bundle of a payload sealed before (Batch::sealedPayload:
/// "<SHA-256 hex of the clear payload>:<Base64 of the sealed bytes>", sealed
/// to the receiver with `aad`); `manifest.records` must be set.
/// std::invalid_argument when `sealedPayload` is not of that form.
std::string writeSealedBundle(Manifest manifest, std::string_view sealedPayload, const std::string& aad,
                              const seal::SigningKey& signer);

struct Limits {
  std::size_t maxBytes = 64u << 20;       ///< the whole bundle
  std::size_t maxRecords = 100000;
  std::size_t maxFieldBytes = 64u << 10;  ///< one value
};

/// What the receiving side allows.
struct Policy {
  std::string zone;                      ///< the receiving zone: the manifest's `to` must be it
  std::set<std::string> recordTypes;     ///< allow-list for this direction
  std::optional<seal::VerifyKey> sender; ///< the only key whose signature counts (parsed once)
  /// Open sealed bundles (each tried: several during a key rotation); none:
  /// nothing may be sealed to this side.
  std::vector<const seal::PrivateKey*> keys;
  /// Into the internet zone: every value is scanned with this (the host's
  /// HostServices::looksLikeIdentifier); a hit refuses the bundle, even when
  /// its manifest says every field is `none`.
  std::function<bool(std::string_view)> identifierScan;
  Limits limits;
};

struct Verified {
  std::optional<std::string> refusal;  ///< why the whole bundle is refused (no values quoted)
  Manifest manifest;
  Rows rows;
  bool ok() const { return !refusal; }
};

/// Checks and reads a bundle whole: size, canonical form, UTF-8 and control
/// characters (with the byte offset), the signature, the manifest, the
/// direction's allow-list, the receiving zone's PII rule (into the internet
/// zone: `none` only, never sealed), the payload hash, the seal, every
/// record's shape and size. Any failure refuses the whole bundle.
Verified readBundle(std::string_view bytes, const Policy& policy);

}  // namespace renkei::connectors::bridge
