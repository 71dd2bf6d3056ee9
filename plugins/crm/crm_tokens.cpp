// Sealed visit tokens opened in LGWAN: once each, refused with a code.
#include "crm_tokens.h"

#include <Poco/JSON/Parser.h>

#include "renkei/text.h"
#include "renkei/support/token.h"

#include <algorithm>

namespace renkei::plugins::crm {
namespace {

api::TokenRefused refused(api::TokenRefusal::type code, const std::string& message) {
  api::TokenRefused e;
  e.code = code;
  e.message = message;
  return e;
}

api::TokenRefusal::type codeOf(token::Refusal r) {
  switch (r) {
    case token::Refusal::Malformed: return api::TokenRefusal::MALFORMED;
    case token::Refusal::WrongPrefix: return api::TokenRefusal::WRONG_PREFIX;
    case token::Refusal::WrongVersion: return api::TokenRefusal::WRONG_VERSION;
    case token::Refusal::UnknownKey: return api::TokenRefusal::UNKNOWN_KEY;
    case token::Refusal::Expired: return api::TokenRefusal::EXPIRED;
    case token::Refusal::Tampered: return api::TokenRefusal::TAMPERED;
  }
  return api::TokenRefusal::MALFORMED;
}

/// The longest text a payload field may hold (an address is the longest).
constexpr std::size_t kMaxFieldBytes = 400;
constexpr std::size_t kMaxMembers = 20, kMaxProcedures = 100;

std::string text(const Poco::JSON::Object::Ptr& o, const char* key) {
  if (!o || !o->has(key) || o->isNull(key)) return {};
  const Poco::Dynamic::Var v = o->get(key);
  if (!v.isString()) throw refused(api::TokenRefusal::MALFORMED, std::string("the payload's '") + key + "' is not text");
  std::string out = v.extract<std::string>();
  // Bounded and one line of UTF-8: a payload is what a resident typed, sealed
  // by the internet side; what a window system is handed is checked again.
  if (out.size() > kMaxFieldBytes)
    throw refused(api::TokenRefusal::MALFORMED, std::string("the payload's '") + key + "' has " +
                                                    std::to_string(out.size()) + " bytes, more than " +
                                                    std::to_string(kMaxFieldBytes));
  if (firstInvalidUtf8(out) != std::string::npos || printable(out) != out)
    throw refused(api::TokenRefusal::MALFORMED,
                  std::string("the payload's '") + key + "' is not one line of UTF-8 text");
  return out;
}

/// A date field: empty, or YYYY-MM-DD.
std::string date(const Poco::JSON::Object::Ptr& o, const char* key) {
  std::string d = text(o, key);
  const bool shaped = d.size() == 10 && d[4] == '-' && d[7] == '-' &&
                      std::all_of(d.begin(), d.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
  if (!d.empty() && !shaped)
    throw refused(api::TokenRefusal::MALFORMED, std::string("the payload's '") + key + "' is not a date YYYY-MM-DD");
  return d;
}

}  // namespace

api::OpenedToken parsePayload(const std::string& json) {
  Poco::JSON::Object::Ptr o;
  try {
    o = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
  } catch (const api::TokenRefused&) {
    throw;
  } catch (const std::exception&) {
    throw refused(api::TokenRefusal::MALFORMED, "the payload is not a JSON object");
  }
  api::OpenedToken t;
  t.tokenId = text(o, "id");
  if (t.tokenId.empty() || t.tokenId.size() > 64)
    throw refused(api::TokenRefusal::MALFORMED, "the payload has no token id");
  if (o->has("issued")) {
    const Poco::Dynamic::Var issued = o->get("issued");
    // seconds since 1970, at most 10 digits (no overflow when made ms)
    if (!issued.isInteger() || issued.convert<std::int64_t>() < 0 || issued.convert<std::int64_t>() > 9'999'999'999)
      throw refused(api::TokenRefusal::MALFORMED, "the payload's 'issued' is not a time in seconds");
    t.issuedAt = issued.convert<std::int64_t>() * 1000;
  }
  t.lifeEvent = text(o, "event");
  t.lifeEventId = text(o, "event_id");
  t.plannedMoveDate = date(o, "move");
  t.address = text(o, "address");
  t.previousAddress = text(o, "previous_address");
  if (o->has("procedures")) {
    auto procedures = o->getArray("procedures");
    if (!procedures || procedures->size() > kMaxProcedures)
      throw refused(api::TokenRefusal::MALFORMED, "the payload's 'procedures' is not a list of at most 100");
    for (std::size_t i = 0; i < procedures->size(); ++i) {
      const Poco::Dynamic::Var p = procedures->get(static_cast<unsigned>(i));
      if (!p.isString() || p.extract<std::string>().empty() || p.extract<std::string>().size() > 64 ||
          printable(p.extract<std::string>()) != p.extract<std::string>())
        throw refused(api::TokenRefusal::MALFORMED, "the payload's procedure " + std::to_string(i + 1) +
                                                        " is not a procedure id");
      t.procedures.push_back(p.extract<std::string>());
    }
  }
  auto members = o->has("members") ? o->getArray("members") : nullptr;
  if (o->has("members") && (!members || members->size() > kMaxMembers))
    throw refused(api::TokenRefusal::MALFORMED, "the payload's 'members' is not a list of at most 20");
  for (std::size_t i = 0; members && i < members->size(); ++i) {
    auto m = members->getObject(static_cast<unsigned>(i));
    if (!m) throw refused(api::TokenRefusal::MALFORMED, "the payload's member " + std::to_string(i + 1) + " is not an object");
    api::TokenMember member;
    member.name = text(m, "name");
    member.nameKana = text(m, "kana");
    member.birthDate = date(m, "birth");
    member.sex = text(m, "sex");
    member.relationship = text(m, "relationship");
    t.members.push_back(std::move(member));
  }
  return t;
}

TokenOpener::TokenOpener(StateStore& state, std::vector<seal::PrivateKey> keys)
    : state_(state), keys_(std::move(keys)), table_(state.table("tokens_opened")) {}

api::OpenedToken TokenOpener::open(const std::string& scanned, std::int64_t nowMs, const std::string& client) {
  const token::Result r = token::open(scanned, keys_, nowMs / 1000);
  if (!r.ok()) throw refused(codeOf(*r.refusal), r.why);
  api::OpenedToken t = parsePayload(r.payload);
  t.expiresAt = r.header.expiresAt * 1000;
  bool first = false;
  state_.write([&](StateSession& s) {
    first = s.run("INSERT INTO " + table_ + " (token_id, opened_ms, expires_ms, client) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT DO NOTHING",
                  {t.tokenId, nowMs, t.expiresAt, client}) == 1;
  });
  if (!first) throw refused(api::TokenRefusal::USED, "opened before (a token opens once)");
  return t;
}

}  // namespace renkei::plugins::crm
