#pragma once
// Request signing and the small crypto helpers built on it (OpenSSL only).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::model {

// Twilio's X-Twilio-Signature for a request to `url` carrying the form
// parameters `params`: base64(HMAC-SHA1(auth_token, url + name1 + value1 + ...))
// with the names in byte order and, for a repeated name, each distinct value
// once in byte order. The url is used exactly as given (scheme, port, query).
std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const std::vector<std::pair<std::string, std::string>>& params);

// Standard base64 (RFC 4648 section 4) with '=' padding.
std::string base64_encode(std::string_view data);

// Standard base64, padding optional; nullopt on any byte outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text);

// Equality of secrets in time that does not depend on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// URL-safe base64 (RFC 4648 section 5) without padding, as JWTs use it.
std::string base64url_encode(std::string_view data);

// HMAC-SHA256 of `data` keyed by `key`: the 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

} // namespace sb::model
