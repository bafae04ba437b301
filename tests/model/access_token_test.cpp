// Access tokens: minted tokens verify, and every way a token can be wrong is
// refused with Twilio's code. The official library's tokens are checked
// against this code in the compatibility suite (tests/compat/token.test.js).

#include <catch2/catch.hpp>

#include "model/access_token.hpp"
#include "model/signature.hpp"

using namespace sb;
using nlohmann::json;

namespace {

const std::string account = "AC0123456789abcdef0123456789abcdef";
const std::string key = "SK0123456789abcdef0123456789abcdef";
const std::string secret = "the-key-secret";
constexpr std::int64_t now = 1795526053;

model::access_token sample() {
  model::access_token t;
  t.account_sid = account;
  t.key_sid = key;
  t.issued_at = now;
  t.expires_at = now + 3600;
  t.grants = {{"identity", "alice"}, {"chat", {{"service_sid", "IS0123456789abcdef0123456789abcdef"}}}};
  return t;
}

std::optional<std::string> lookup(const std::string& sid) {
  if (sid == key)
    return secret;
  return std::nullopt;
}

int code_of(const std::string& jwt, std::int64_t at = now, const std::string& acct = account) {
  auto r = model::verify_access_token(jwt, lookup, at, acct);
  REQUIRE_FALSE(r);
  return r.err().code;
}

// A JWT with this header and claims, signed with key (HS256).
std::string forge(const json& header, const json& claims, const std::string& with = secret) {
  auto input = model::base64url_encode(header.dump()) + "." + model::base64url_encode(claims.dump());
  return input + "." + model::base64url_encode(model::hmac_sha256(with, input));
}

} // namespace

TEST_CASE("access tokens: a minted token verifies with its grants", "[token]") {
  auto jwt = model::mint_access_token(sample(), secret);
  auto r = model::verify_access_token(jwt, lookup, now + 10, account);
  REQUIRE(r);
  CHECK(r->identity() == "alice");
  CHECK(r->key_sid == key);
  CHECK(r->account_sid == account);
  CHECK(r->expires_at == now + 3600);
  CHECK(r->grants["chat"]["service_sid"] == "IS0123456789abcdef0123456789abcdef");
  // The header and claims are the helper library's.
  auto dot = jwt.find('.');
  auto header = json::parse(*model::base64_decode(jwt.substr(0, dot) + std::string((4 - dot % 4) % 4, '=')));
  CHECK(header == json{{"alg", "HS256"}, {"typ", "JWT"}, {"cty", "twilio-fpa;v=1"}});
}

TEST_CASE("access tokens: every way a token is wrong has its code", "[token]") {
  auto claims = json{{"jti", key + "-1"}, {"iss", key}, {"sub", account}, {"iat", now}, {"exp", now + 60},
                     {"grants", {{"identity", "bob"}}}};
  json hs256{{"alg", "HS256"}, {"typ", "JWT"}};
  REQUIRE(model::verify_access_token(forge(hs256, claims), lookup, now, account));

  CHECK(code_of("not a token") == 20101);
  CHECK(code_of("a.b.c.d") == 20101);
  CHECK(code_of("!!.??.**") == 20101);
  CHECK(code_of(forge({{"alg", "none"}, {"typ", "JWT"}}, claims)) == 20102);
  CHECK(code_of(forge({{"typ", "JWT"}}, claims)) == 20102);
  // Signed with another secret, or altered after signing.
  CHECK(code_of(forge(hs256, claims, "another secret")) == 20107);
  auto jwt = forge(hs256, claims);
  auto altered = claims;
  altered["grants"]["identity"] = "mallory";
  auto dot = jwt.find('.');
  auto last = jwt.rfind('.');
  CHECK(code_of(jwt.substr(0, dot) + "." + model::base64url_encode(altered.dump()) + jwt.substr(last)) == 20107);
  // An unknown key, another account.
  auto unknown = claims;
  unknown["iss"] = "SK" + std::string(32, 'f');
  CHECK(code_of(forge(hs256, unknown)) == 20103);
  CHECK(code_of(jwt, now, "AC" + std::string(32, 'e')) == 20103);
  // Time: expired, not yet valid.
  CHECK(code_of(jwt, now + 60) == 20104);
  auto later = claims;
  later["nbf"] = now + 30;
  CHECK(code_of(forge(hs256, later)) == 20105);
  CHECK(model::verify_access_token(forge(hs256, later), lookup, now + 30, account));
  // No identity.
  auto anonymous = claims;
  anonymous["grants"] = json::object();
  CHECK(code_of(forge(hs256, anonymous)) == 20106);
}

TEST_CASE("access tokens: HS384 and HS512, as the library may sign, verify too", "[token]") {
  auto claims = json{{"iss", key}, {"sub", account}, {"iat", now}, {"exp", now + 60}, {"grants", {{"identity", "c"}}}};
  for (std::string alg : {"HS384", "HS512"}) {
    INFO(alg);
    json header{{"alg", alg}, {"typ", "JWT"}};
    // An HS256 signature under an HS384/512 header does not pass.
    CHECK(code_of(forge(header, claims)) == 20107);
  }
}
