#pragma once
// JSON text for responses: the same characters as nlohmann's
// dump(-1, ' ', false, error_handler_t::replace) (compact, UTF-8 kept,
// invalid UTF-8 replaced), written in runs instead of character by
// character. Rendering response bodies was about 6% of the server's CPU
// under the message benchmark, most of it in nlohmann's per-character
// escaping.

#include <string>

#include <nlohmann/json.hpp>

namespace sb::model {

std::string json_text(const nlohmann::json& value);

// Appends value's text to out.
void append_json_text(std::string& out, const nlohmann::json& value);

} // namespace sb::model
