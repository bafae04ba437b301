#include "model/signature.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using sb::model::base64_encode;
using sb::model::base64url_encode;
using sb::model::hmac_sha256;
using sb::model::sha256_hex;
using sb::model::twilio_signature;

namespace {

using params_t = std::vector<std::pair<std::string, std::string>>;

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0f]);
  }
  return out;
}

} // namespace

// Expected values come from Twilio's documentation, the fixtures of Twilio's
// own helper libraries, and twilio-node 6.2.0's getExpectedTwilioSignature.
TEST_CASE("twilio_signature matches Twilio's published and computed vectors", "[model]") {
  const std::string url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  struct row {
    const char* name;
    std::string token;
    std::string url;
    params_t params;
    std::string expected;
  };
  const std::vector<row> rows = {
      {"docs example (www.twilio.com/docs/usage/security)", "12345", url,
       {{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
        {"From", "+12349013030"}, {"To", "+18005551212"}},
       "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
      {"helper-library fixture (+14158675309)", "12345", url,
       {{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+14158675309"}, {"Digits", "1234"},
        {"From", "+14158675309"}, {"To", "+18005551212"}},
       "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
      {"order of the input does not matter", "12345", url,
       {{"To", "+18005551212"}, {"From", "+14158675309"}, {"Digits", "1234"},
        {"Caller", "+14158675309"}, {"CallSid", "CA1234567890ABCDE"}},
       "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
      {"no params", "12345", url, {}, "zYQTYrRWXE7LtzbG4PfP7/bkkGo="},
      {"repeated names, duplicates, byte order of names", "tok", "http://localhost:8080/cb",
       {{"b", "2"}, {"a", "x"}, {"b", "1"}, {"B", "y"}, {"ab", "z"}, {"b", "2"},
        {"EventType", "task.created"}},
       "qaUHbJB4EoXoDanW08rf3OLYP0I="},
      {"UTF-8 in url and value", "secret", "http://h/p?q=\xC3\xBC",
       {{"Attributes", "{\"name\":\"Zo\xC3\xAB\"}"}},
       "qo3dcTaWqYcY1rmo8/itB7hLp8U="},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    CHECK(twilio_signature(r.token, r.url, r.params) == r.expected);
  }
}

TEST_CASE("twilio_signature depends on token, url and every param", "[model]") {
  const params_t params = {{"A", "1"}, {"B", "2"}};
  const auto base = twilio_signature("t", "http://x/y", params);
  CHECK(twilio_signature("u", "http://x/y", params) != base);
  CHECK(twilio_signature("t", "http://x/y?", params) != base);
  CHECK(twilio_signature("t", "http://x/y", {{"A", "1"}, {"B", "3"}}) != base);
  CHECK(twilio_signature("t", "http://x/y", {{"A", "1"}}) != base);
}

TEST_CASE("base64 and base64url encode RFC 4648 test vectors", "[model]") {
  struct row {
    std::string in, std64, url64;
  };
  const std::vector<row> rows = {
      {"", "", ""},
      {"f", "Zg==", "Zg"},
      {"fo", "Zm8=", "Zm8"},
      {"foo", "Zm9v", "Zm9v"},
      {"foob", "Zm9vYg==", "Zm9vYg"},
      {"fooba", "Zm9vYmE=", "Zm9vYmE"},
      {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
      {std::string("\xfb\xff\xfe" "ab"), "+//+YWI=", "-__-YWI"},
      {std::string("\0\0", 2), "AAA=", "AAA"},
  };
  for (const auto& r : rows) {
    INFO(r.in);
    CHECK(base64_encode(r.in) == r.std64);
    CHECK(base64url_encode(r.in) == r.url64);
  }
}

TEST_CASE("hmac_sha256 returns raw bytes matching RFC 4231 and known vectors", "[model]") {
  CHECK(hmac_sha256("key", "The quick brown fox jumps over the lazy dog").size() == 32);
  CHECK(hex(hmac_sha256("key", "The quick brown fox jumps over the lazy dog")) ==
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  // RFC 4231 test case 2.
  CHECK(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hex(hmac_sha256("", "")) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("sha256_hex matches FIPS 180 vectors", "[model]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
