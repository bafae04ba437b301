#include "model/access_token.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "model/signature.hpp"

namespace sb::model {

namespace {

using json = nlohmann::json;

error token_error(int code, std::string message) { return error{errc::unauthorized, code, std::move(message)}; }

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string s(text);
  for (auto& c : s) {
    if (c == '-')
      c = '+';
    else if (c == '_')
      c = '/';
    else if (c == '+' || c == '/' || c == '=')
      return std::nullopt; // not the URL alphabet
  }
  while (s.size() % 4 != 0)
    s += '=';
  return base64_decode(s);
}

// HMAC with the digest the header names; nullopt for any other algorithm.
std::optional<std::string> hmac(std::string_view alg, std::string_view key, std::string_view data) {
  const EVP_MD* md = alg == "HS256" ? EVP_sha256() : alg == "HS384" ? EVP_sha384() : alg == "HS512" ? EVP_sha512() : nullptr;
  if (!md)
    return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::optional<std::int64_t> integer(const json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number_integer())
    return std::nullopt;
  return it->get<std::int64_t>();
}

} // namespace

std::string access_token::identity() const {
  auto it = grants.find("identity");
  return it != grants.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string mint_access_token(const access_token& token, std::string_view key_secret) {
  json header{{"alg", "HS256"}, {"typ", "JWT"}, {"cty", "twilio-fpa;v=1"}};
  json claims{{"jti", token.key_sid + "-" + std::to_string(token.issued_at)},
              {"iss", token.key_sid},
              {"sub", token.account_sid},
              {"iat", token.issued_at},
              {"exp", token.expires_at},
              {"grants", token.grants}};
  if (token.not_before)
    claims["nbf"] = *token.not_before;
  auto signing_input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  return signing_input + "." + base64url_encode(hmac_sha256(key_secret, signing_input));
}

expected<access_token> verify_access_token(std::string_view jwt,
                                           const std::function<std::optional<std::string>(const std::string&)>& secret_of,
                                           std::int64_t now_unix, const std::string& account_sid) {
  auto first = jwt.find('.');
  auto second = first == std::string_view::npos ? first : jwt.find('.', first + 1);
  if (second == std::string_view::npos || jwt.find('.', second + 1) != std::string_view::npos)
    return token_error(20101, "Invalid Access Token: not three dot-separated parts");
  auto header_text = base64url_decode(jwt.substr(0, first));
  auto claims_text = base64url_decode(jwt.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(jwt.substr(second + 1));
  if (!header_text || !claims_text || !signature)
    return token_error(20101, "Invalid Access Token: a part is not base64url");
  auto header = json::parse(*header_text, nullptr, false);
  auto claims = json::parse(*claims_text, nullptr, false);
  if (!header.is_object() || !claims.is_object())
    return token_error(20101, "Invalid Access Token: a part is not a JSON object");
  if (!header.contains("alg") || !header["alg"].is_string() || header.value("typ", "JWT") != "JWT")
    return token_error(20102, "Invalid Access Token header");
  std::string alg = header["alg"];
  if (alg != "HS256" && alg != "HS384" && alg != "HS512")
    return token_error(20102, "Invalid Access Token header: algorithm " + alg + " is not accepted");
  access_token t;
  if (!claims.contains("iss") || !claims["iss"].is_string() || !claims.contains("sub") || !claims["sub"].is_string())
    return token_error(20103, "Invalid Access Token issuer/subject");
  t.key_sid = claims["iss"];
  t.account_sid = claims["sub"];
  auto secret = secret_of(t.key_sid);
  if (!secret)
    return token_error(20103, "Invalid Access Token issuer/subject: unknown API key " + t.key_sid);
  auto expected_signature = hmac(alg, *secret, jwt.substr(0, second));
  if (!expected_signature || !constant_time_equal(*expected_signature, *signature))
    return token_error(20107, "Invalid Access Token signature");
  if (!account_sid.empty() && t.account_sid != account_sid)
    return token_error(20103, "Invalid Access Token issuer/subject: the token is for another account");
  auto iat = integer(claims, "iat");
  auto exp = integer(claims, "exp");
  if (!exp)
    return token_error(20104, "Access Token expired or expiration date invalid");
  if (*exp <= now_unix)
    return token_error(20104, "Access Token expired or expiration date invalid");
  t.issued_at = iat.value_or(0);
  t.expires_at = *exp;
  if (claims.contains("nbf")) {
    auto nbf = integer(claims, "nbf");
    if (!nbf || *nbf > now_unix)
      return token_error(20105, "Access Token not yet valid");
    t.not_before = nbf;
  }
  if (!claims.contains("grants") || !claims["grants"].is_object())
    return token_error(20106, "Invalid Access Token grants");
  t.grants = claims["grants"];
  if (t.identity().empty())
    return token_error(20106, "Invalid Access Token grants: no identity");
  return t;
}

} // namespace sb::model
