// Sealed visit tokens opened in LGWAN: once each, refused with a code.
#include "crm_tokens.h"

#include <Poco/JSON/Parser.h>

#include "renkei/token.h"

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

std::string text(const Poco::JSON::Object::Ptr& o, const char* key) {
  if (!o || !o->has(key) || o->isNull(key)) return {};
  const Poco::Dynamic::Var v = o->get(key);
  if (!v.isString()) throw refused(api::TokenRefusal::MALFORMED, std::string("the payload's '") + key + "' is not text");
  return v.extract<std::string>();
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
  if (o->has("issued") && o->get("issued").isNumeric()) t.issuedAt = o->get("issued").convert<std::int64_t>() * 1000;
  t.lifeEvent = text(o, "event");
  t.lifeEventId = text(o, "event_id");
  t.plannedMoveDate = text(o, "move");
  t.address = text(o, "address");
  t.previousAddress = text(o, "previous_address");
  if (auto procedures = o->getArray("procedures"))
    for (std::size_t i = 0; i < procedures->size() && i < 100; ++i) t.procedures.push_back(procedures->getElement<std::string>(static_cast<unsigned>(i)));
  if (auto members = o->getArray("members"))
    for (std::size_t i = 0; i < members->size() && i < 20; ++i) {
      auto m = members->getObject(static_cast<unsigned>(i));
      api::TokenMember member;
      member.name = text(m, "name");
      member.nameKana = text(m, "kana");
      member.birthDate = text(m, "birth");
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
