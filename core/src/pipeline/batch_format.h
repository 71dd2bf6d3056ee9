// The stored batch format, written and read here only: field names once per
// batch as a JSON array, records as JSON Lines of arrays of string values in
// that order, and deterministic batch ids.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "renkei/record.h"
#include "renkei/support/seal.h"

namespace renkei::pipeline {

/// Bounds on what a record and a batch may become in the store (SQLite
/// refuses a value over 1 GB; PostgreSQL's limit is the same), the same for
/// records of files and emitted records: a record of more bytes is refused;
/// a batch closes at this many bytes of stored form whatever batch-records
/// says.
inline constexpr std::size_t kMaxRecordBytes = 16u << 20;
inline constexpr std::size_t kMaxBatchBytes = 64u << 20;

/// `["name1","name2",…]`: a batch's `fields` column.
std::string fieldsJson(const FieldNames& names);

/// `<route>-<item stem>-<sha's first 12 hex digits>-<sequence, 6 digits>`:
/// the same content yields the same ids, so a unit taken in again after a
/// crash rewrites nothing and targets (idempotent on the id) see it once.
/// A generation above 0 (an operator's `renkei reprocess`, under a config
/// that may map the content differently) adds `g<N>-` before the sequence:
/// new batches, never an overwrite of what was delivered with other content.
std::string batchId(const std::string& route, const std::string& itemName, const std::string& sha,
                    std::size_t sequence, std::int64_t generation = 0);

/// The internet zone keeps nothing personal, not even in its outbox: the
/// batches of a route there whose fields are not all of class none (allowed
/// only to a sink that seals, Sink::sealingKey) are stored sealed to that
/// sink's key: "sealed:<SHA-256 hex of the clear payload>:<Base64 of
/// seal::sealTo(key, payload, sealedAad(id))>". Only the far zone opens it.
std::string sealAtRest(const seal::PublicKey& key, const std::string& batchId, std::string_view payload);
/// The associated data a batch is sealed with at rest.
std::string sealedAad(const std::string& batchId);
/// Whether a stored payload is sealed at rest.
bool sealedAtRest(std::string_view payload);

/// Lowercase hex SHA-256 of `text` (an emission key becomes part of ids).
std::string sha256Hex(const std::string& text);

}  // namespace renkei::pipeline
