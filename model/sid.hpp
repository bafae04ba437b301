#pragma once
// Twilio resource identifiers: a two-letter prefix and 32 lowercase hex digits.

#include <string>
#include <string_view>

namespace sb::model {

// A fresh random SID with the given two-letter prefix ("WT", "WK", ...).
std::string make_sid(std::string_view prefix);

// True when text is prefix + 32 hex digits.
bool is_sid(std::string_view text, std::string_view prefix);

// 32 random hex digits, for auth tokens and page tokens.
std::string random_hex32();

} // namespace sb::model
