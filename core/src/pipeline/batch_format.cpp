// The stored batch format: names, ids.
#include "pipeline/batch_format.h"

#include <cctype>
#include <cstdio>

#include "renkei/json.h"
#include "renkei/support/seal.h"

namespace renkei::pipeline {
namespace {

// File names become part of batch ids (and so of output file names): keep
// them portable and free of path separators.
std::string safeStem(const std::string& name) {
  std::string stem = name;
  const std::size_t dot = stem.rfind('.');
  if (dot != std::string::npos && dot > 0) stem.resize(dot);
  for (char& c : stem) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) && u < 0x80) && c != '-' && c != '_' && c != '.') c = '_';
  }
  if (stem.size() > 64) stem.resize(64);
  return stem;
}

}  // namespace

std::string fieldsJson(const FieldNames& names) {
  std::string out = "[";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, names[i]);
  }
  return out + "]";
}

std::string batchId(const std::string& route, const std::string& itemName, const std::string& sha,
                    std::size_t sequence, std::int64_t generation) {
  char seq[16];
  std::snprintf(seq, sizeof seq, "%06zu", sequence);
  return route + "-" + safeStem(itemName) + "-" + sha.substr(0, 12) + "-" +
         (generation > 0 ? "g" + std::to_string(generation) + "-" : std::string()) + seq;
}

std::string sha256Hex(const std::string& text) { return seal::sha256Hex(text); }

std::string sealedAad(const std::string& batchId) { return "renkei-batch:" + batchId; }

std::string sealAtRest(const seal::PublicKey& key, const std::string& batchId, std::string_view payload) {
  return "sealed:" + seal::sha256Hex(payload) + ":" + seal::base64Encode(seal::sealTo(key, payload, sealedAad(batchId)));
}

bool sealedAtRest(std::string_view payload) { return payload.substr(0, 7) == "sealed:"; }

}  // namespace renkei::pipeline
