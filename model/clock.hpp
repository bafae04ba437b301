#pragma once
// Wall-clock time as the wire shows it. Routing code takes time as an argument
// (never reads a clock itself) so tests can drive it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sb::model {

using time_point = std::chrono::system_clock::time_point;
using millis = std::chrono::milliseconds;

// "YYYY-MM-DDTHH:MM:SSZ", Twilio's ISO-8601 form.
std::string iso8601(time_point t);

// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or with +00:00); nullopt when malformed.
std::optional<time_point> parse_iso8601(std::string_view text);

// "Thu, 30 Jul 2015 20:12:31 +0000": RFC 2822 in UTC, as Twilio's 2010 API
// writes dates; names are fixed English, independent of the locale.
std::string rfc2822(time_point t);

// Milliseconds since the Unix epoch.
std::int64_t epoch_ms(time_point t);

} // namespace sb::model
