// Bundles: written signed (and sealed when they carry anything personal),
// read back whole or refused whole.
#include "bridge_bundle.h"

#include <Poco/JSON/Parser.h>

#include <cctype>
#include <stdexcept>

#include "renkei/json.h"

namespace renkei::connectors::bridge {
namespace {

constexpr std::string_view kFormat = "renkei-bundle/1";
constexpr std::string_view kSealed = "sealed:";
constexpr std::string_view kSignature = "signature:";
const std::set<std::string> kClasses = {"none", "personal", "identifier", "special", "mynumber"};
const std::set<std::string> kZones = {"lgwan", "internet", "mynumber"};

/// A name from a manifest: [A-Za-z0-9._-], 1 to kMaxNameBytes bytes.
bool plainName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

/// The values a record's line holds, counted without parsing it (a comma
/// outside a string separates two): so a line of a million values is
/// refused before a parser allocates for each.
std::size_t countValues(std::string_view line) {
  std::size_t commas = 0;
  bool inString = false, escaped = false, any = false;
  for (char c : line) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') inString = any = true;
    else if (c == ',') ++commas;
    else if (c != '[' && c != ']' && c != ' ') any = true;
  }
  return any || commas ? commas + 1 : 0;
}

std::string manifestLine(const Manifest& m) {
  std::string j = "{\"format\":";
  appendJsonString(j, kFormat);
  auto field = [&](const char* key, std::string_view value) {
    j += ",\"";
    j += key;
    j += "\":";
    appendJsonString(j, value);
  };
  field("bundle", m.bundleId);
  field("sender", m.sender);
  field("from", m.fromZone);
  field("to", m.toZone);
  j += ",\"sequence\":" + std::to_string(m.sequence);
  field("record_type", m.recordType);
  j += ",\"fields\":[";
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    j += i ? ",{\"name\":" : "{\"name\":";
    appendJsonString(j, m.fields[i].name);
    j += ",\"pii\":";
    appendJsonString(j, m.fields[i].pii);
    j += "}";
  }
  j += "],\"records\":" + std::to_string(m.records);
  field("created", m.created);
  field("payload_sha256", m.payloadSha256);
  j += std::string(",\"sealed\":") + (m.sealed ? "true" : "false");
  if (!m.sealedAad.empty()) field("sealed_aad", m.sealedAad);
  j += "}";
  return j;
}

Verified refuse(std::string why) {
  Verified v;
  v.refusal = std::move(why);
  return v;
}

/// The first byte that is not valid UTF-8 or is a control character other
/// than TAB and LF, or npos.
std::size_t firstBadByte(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7F) return i;
      ++i;
      continue;
    }
    const std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (std::size_t k = 1; k < n; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return i;
    std::uint32_t cp = n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (std::size_t k = 1; k < n; ++k) cp = cp << 6 | (p[i + k] & 0x3F);
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string text(const Poco::JSON::Object::Ptr& o, const char* key) {
  if (!o->has(key) || !o->get(key).isString()) throw std::runtime_error(std::string("no '") + key + "'");
  return o->get(key).extract<std::string>();
}

}  // namespace

std::string writeBundle(Manifest m, const Rows& rows, const seal::SigningKey& signer, const seal::PublicKey* receiver) {
  std::string payload;
  for (const auto& row : rows) {
    if (row.size() != m.fields.size()) throw std::invalid_argument("a row does not have one value per field");
    payload += '[';
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) payload += ',';
      appendJsonString(payload, row[i]);
    }
    payload += "]\n";
  }
  m.records = static_cast<std::int64_t>(rows.size());
  m.payloadSha256 = seal::sha256Hex(payload);
  m.sealed = false;
  for (const Field& f : m.fields) m.sealed = m.sealed || f.pii != "none";
  if (m.sealed && !receiver) throw std::invalid_argument("a bundle with personal fields is sealed: no receiver key");
  const std::string manifest = manifestLine(m);
  std::string out = manifest + "\n";
  out += m.sealed ? std::string(kSealed) + seal::base64Encode(seal::sealTo(*receiver, payload, manifest)) + "\n" : payload;
  return out + std::string(kSignature) + seal::base64Encode(signer.sign(out)) + "\n";
}

std::string writeSealedBundle(Manifest m, std::string_view sealedPayload, const std::string& aad,
                              const seal::SigningKey& signer) {
  const std::size_t colon = sealedPayload.find(':');
  if (colon != 64 || aad.empty() || !seal::base64Decode(sealedPayload.substr(colon + 1)))
    throw std::invalid_argument("not a payload sealed at rest");
  m.payloadSha256 = std::string(sealedPayload.substr(0, colon));
  m.sealed = true;
  m.sealedAad = aad;
  bool personal = false;
  for (const Field& f : m.fields) personal = personal || f.pii != "none";
  if (!personal) throw std::invalid_argument("a payload sealed at rest without personal fields");
  std::string out = manifestLine(m) + "\n";
  out += std::string(kSealed);
  out += sealedPayload.substr(colon + 1);
  out += "\n";
  return out + std::string(kSignature) + seal::base64Encode(signer.sign(out)) + "\n";
}

Verified readBundle(std::string_view bytes, const Policy& policy) {
  if (bytes.size() > policy.limits.maxBytes)
    return refuse("the bundle has " + std::to_string(bytes.size()) + " bytes, more than the limit " +
                  std::to_string(policy.limits.maxBytes));
  // Canonical form: no BOM, LF line ends.
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
  std::string canonical;
  canonical.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i)
    if (!(bytes[i] == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n')) canonical += bytes[i];
  if (const std::size_t bad = firstBadByte(canonical); bad != std::string::npos)
    return refuse("invalid UTF-8 or a control character at byte " + std::to_string(bad) + " (of the canonical form)");
  // The signature: the last line, over everything before it.
  if (canonical.empty() || canonical.back() != '\n') return refuse("the bundle does not end with a line end (cut short?)");
  const std::size_t lastStart = canonical.rfind('\n', canonical.size() - 2) + 1;
  const std::string_view last = std::string_view(canonical).substr(lastStart, canonical.size() - 1 - lastStart);
  if (lastStart == 0 || last.substr(0, kSignature.size()) != kSignature)
    return refuse("no signature line at the end");
  const auto signature = seal::base64Decode(last.substr(kSignature.size()));
  const std::string_view signedPart = std::string_view(canonical).substr(0, lastStart);
  if (!policy.sender) return refuse("no sender key is configured for this direction");
  if (!signature || !policy.sender->verify(signedPart, *signature))
    return refuse("the signature does not verify (changed, or signed with another key)");
  // The manifest.
  const std::size_t manifestEnd = signedPart.find('\n');
  if (manifestEnd > kMaxManifestBytes)
    return refuse("the manifest has " + std::to_string(manifestEnd) + " bytes, more than the limit " +
                  std::to_string(kMaxManifestBytes));
  const std::string manifestText(signedPart.substr(0, manifestEnd));
  Verified v;
  Manifest& m = v.manifest;
  try {
    auto o = Poco::JSON::Parser().parse(manifestText).extract<Poco::JSON::Object::Ptr>();
    if (text(o, "format") != kFormat) return refuse("not a bundle of format " + std::string(kFormat));
    m.bundleId = text(o, "bundle");
    m.sender = text(o, "sender");
    m.fromZone = text(o, "from");
    m.toZone = text(o, "to");
    m.sequence = o->getValue<std::int64_t>("sequence");
    m.recordType = text(o, "record_type");
    m.records = o->getValue<std::int64_t>("records");
    m.created = text(o, "created");
    m.payloadSha256 = text(o, "payload_sha256");
    m.sealed = o->getValue<bool>("sealed");
    if (o->has("sealed_aad")) m.sealedAad = text(o, "sealed_aad");
    auto fields = o->getArray("fields");
    if (!fields) throw std::runtime_error("no 'fields'");
    if (fields->size() > kMaxFields)
      return refuse("the manifest names " + std::to_string(fields->size()) + " fields, more than the limit " +
                    std::to_string(kMaxFields));
    for (std::size_t i = 0; i < fields->size(); ++i) {
      auto f = fields->getObject(static_cast<unsigned>(i));
      if (!f) throw std::runtime_error("a field is not an object");
      m.fields.push_back({text(f, "name"), text(f, "pii")});
    }
  } catch (const std::exception& e) {
    return refuse(std::string("the manifest is not readable: ") + e.what());
  }
  // Names go into log lines, reason files and metric labels: short, plain,
  // and the zones one of the three.
  for (const auto& [what, name] : {std::pair<const char*, const std::string*>{"bundle", &m.bundleId},
                                   {"sender", &m.sender},
                                   {"record_type", &m.recordType}})
    if (!plainName(*name)) return refuse(std::string("its ") + what + " is not a plain name (letters, digits, . _ -; at most " +
                                         std::to_string(kMaxNameBytes) + " bytes)");
  for (const Field& f : m.fields)
    if (!plainName(f.name)) return refuse("a field name is not a plain name");
  if (!kZones.count(m.fromZone) || !kZones.count(m.toZone) || m.fromZone == m.toZone)
    return refuse("its zones are not two of lgwan, internet and mynumber");
  // A sequence is positive and below a stated bound before anything is
  // stored: it is counted on, compared and kept per sender.
  if (m.sequence < 1 || m.sequence > kMaxSequence)
    return refuse("sequence " + std::to_string(m.sequence) + " is not between 1 and " + std::to_string(kMaxSequence));
  // The direction's rules.
  if (m.toZone != policy.zone) return refuse("the bundle is for the " + m.toZone + " zone, this is " + policy.zone);
  if (!policy.recordTypes.count(m.recordType))
    return refuse("record type '" + m.recordType + "' is not allowed in this direction");
  bool personal = false;
  for (const Field& f : m.fields) {
    if (!kClasses.count(f.pii)) return refuse("field '" + f.name + "' has an unknown PII class");
    personal = personal || f.pii != "none";
    if (policy.zone == "internet" && f.pii != "none")
      return refuse("field '" + f.name + "' is of class " + f.pii + ": the internet zone holds class none only");
  }
  if (!m.sealed && !m.sealedAad.empty()) return refuse("sealed_aad without a sealed payload");
  if (personal != m.sealed) return refuse(personal ? "personal fields, but not sealed" : "sealed without personal fields");
  if (m.records < 0 || static_cast<std::size_t>(m.records) > policy.limits.maxRecords)
    return refuse("the manifest says " + std::to_string(m.records) + " records, more than the limit " +
                  std::to_string(policy.limits.maxRecords));
  // The payload.
  std::string payload(signedPart.substr(manifestEnd + 1));
  if (m.sealed) {
    if (payload.substr(0, kSealed.size()) != kSealed || payload.find('\n') != payload.size() - 1)
      return refuse("a sealed bundle holds one sealed line");
    if (policy.keys.empty()) return refuse("sealed, but this side holds no key to open it");
    const auto sealedBytes = seal::base64Decode(std::string_view(payload).substr(kSealed.size(), payload.size() - kSealed.size() - 1));
    std::optional<std::string> opened;
    for (const seal::PrivateKey* key : policy.keys)
      if (sealedBytes && !opened) opened = seal::open(*key, *sealedBytes, m.sealedAad.empty() ? manifestText : m.sealedAad);
    if (!opened) return refuse("the sealed payload does not open (changed, or sealed to another key)");
    payload = std::move(*opened);
  }
  if (seal::sha256Hex(payload) != m.payloadSha256) return refuse("the payload does not match its SHA-256 in the manifest");
  std::size_t at = 0;
  for (std::int64_t n = 1; at < payload.size(); ++n) {
    const std::size_t end = payload.find('\n', at);
    if (end == std::string::npos) return refuse("record " + std::to_string(n) + " has no line end");
    if (v.rows.size() >= static_cast<std::size_t>(m.records))
      return refuse("more records than the manifest's " + std::to_string(m.records));
    if (const std::size_t count = countValues(std::string_view(payload).substr(at, end - at)); count > m.fields.size())
      return refuse("record " + std::to_string(n) + " has " + std::to_string(count) + " values for " +
                    std::to_string(m.fields.size()) + " fields");
    std::vector<std::string> row;
    row.reserve(m.fields.size());
    try {
      auto values = Poco::JSON::Parser().parse(payload.substr(at, end - at)).extract<Poco::JSON::Array::Ptr>();
      for (std::size_t i = 0; i < values->size(); ++i) {
        if (!values->get(static_cast<unsigned>(i)).isString()) throw std::runtime_error("a value is not text");
        row.push_back(values->getElement<std::string>(static_cast<unsigned>(i)));
        for (unsigned char c : row.back())
          if ((c < 0x20 && c != '\t') || c == 0x7F)
            return refuse("record " + std::to_string(n) + ", field '" +
                          (i < m.fields.size() ? m.fields[i].name : std::string("?")) +
                          "' holds a control character (NUL, line end …)");
        if (row.back().size() > policy.limits.maxFieldBytes)
          return refuse("record " + std::to_string(n) + ", field '" +
                        (i < m.fields.size() ? m.fields[i].name : std::string("?")) + "': " +
                        std::to_string(row.back().size()) + " bytes, more than the limit " +
                        std::to_string(policy.limits.maxFieldBytes));
      }
    } catch (const std::exception&) {
      return refuse("record " + std::to_string(n) + " is not a JSON array of text");
    }
    if (policy.zone == "internet" && policy.identifierScan)
      for (std::size_t i = 0; i < row.size(); ++i)
        if (policy.identifierScan(row[i]))
          return refuse("record " + std::to_string(n) + ", field '" +
                        (i < m.fields.size() ? m.fields[i].name : std::string("?")) +
                        "' holds what looks like a 住民票コード or 個人番号; nothing of the kind may reach the "
                        "internet zone");
    if (row.size() != m.fields.size())
      return refuse("record " + std::to_string(n) + " has " + std::to_string(row.size()) + " values for " +
                    std::to_string(m.fields.size()) + " fields");
    v.rows.push_back(std::move(row));
    at = end + 1;
  }
  if (v.rows.size() != static_cast<std::size_t>(m.records))
    return refuse("the manifest says " + std::to_string(m.records) + " records, the bundle holds " +
                  std::to_string(v.rows.size()));
  return v;
}

}  // namespace renkei::connectors::bridge
