// Opening sealed visit tokens (docs/tokens.md) in LGWAN: the seal, the
// single use, and the payload into the window systems' OpenedToken.
#pragma once

#include <string>
#include <vector>

#include "api/crm_types.h"
#include "renkei/support/seal.h"
#include "renkei/state.h"

namespace renkei::plugins::crm {

class TokenOpener {
 public:
  /// `keys`: every private key configured (several after a rotation).
  TokenOpener(StateStore& state, std::vector<seal::PrivateKey> keys);

  /// Opens `text` at `nowMs` for `client`, once: throws api::TokenRefused
  /// (with its code), or StateError when the store does not answer.
  api::OpenedToken open(const std::string& text, std::int64_t nowMs, const std::string& client);

  /// The token id of the last refused or opened text, for the audit line
  /// ("" when the token could not be opened far enough to know it).
  static std::string tokenIdOf(const api::OpenedToken& t) { return t.tokenId; }

 private:
  StateStore& state_;
  std::vector<seal::PrivateKey> keys_;
  std::string table_;
};

/// The payload (JSON, docs/tokens.md) as the window systems receive it;
/// throws api::TokenRefused MALFORMED when it is not a token's payload.
api::OpenedToken parsePayload(const std::string& json);

}  // namespace renkei::plugins::crm
