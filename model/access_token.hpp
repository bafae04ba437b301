#pragma once
// Twilio access tokens: the JWT the official helper library's AccessToken
// makes (HS256 over the API key's secret; header cty "twilio-fpa;v=1";
// claims jti, iss = the key SID, sub = the account SID, iat, exp, optional
// nbf, and grants holding the identity and one object per grant: chat,
// task_router, ...), minted here for guests and agents and checked when a
// client presents one.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/clock.hpp"
#include "model/error.hpp"

namespace sb::model {

// An API key (Twilio's /2010-04-01/Accounts/{AC}/Keys): its secret signs
// access tokens and is shown once, when the key is created. Revoking is
// deleting it.
struct api_key {
  std::string sid; // SK
  std::string account_sid;
  std::string friendly_name;
  std::string secret;
  time_point created, updated;
};

struct access_token {
  std::string account_sid; // sub
  std::string key_sid;     // iss (SK...)
  std::int64_t issued_at = 0;   // iat, Unix seconds
  std::int64_t expires_at = 0;  // exp
  std::optional<std::int64_t> not_before; // nbf
  // grants: "identity" and the grant objects ("chat": {"service_sid": ...},
  // "task_router": {"workspace_sid", "worker_sid", "role"}, ...).
  nlohmann::json grants = nlohmann::json::object();

  std::string identity() const;
};

// The signed JWT (HS256) for token with the API key's secret.
std::string mint_access_token(const access_token& token, std::string_view key_secret);

// Checks a JWT as Twilio does: well-formed, HS256/384/512 signed with the
// secret of the key it names (secret_of(iss); nullopt: unknown key), not
// expired or not yet valid at now_unix, and (when account_sid is not
// empty) for that account. Errors carry Twilio's codes: 20101 malformed,
// 20102 bad header, 20103 unknown issuer or another account, 20104
// expired, 20105 not yet valid, 20106 no identity, 20107 bad signature.
expected<access_token> verify_access_token(std::string_view jwt,
                                           const std::function<std::optional<std::string>(const std::string&)>& secret_of,
                                           std::int64_t now_unix, const std::string& account_sid = {});

} // namespace sb::model
