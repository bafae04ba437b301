#pragma once
// The store's own encoding of entities and events (JSON text in the database).
// It is internal and versioned with the schema, unlike the Twilio wire codec:
// it keeps fields the API never shows (routing position, creation order) and
// times as microseconds since the epoch.

#include <string>

#include "model/error.hpp"
#include "store/records.hpp"

namespace sb::store {

std::string encode(const entity& e);
// Decodes a document of the given kind; an error names what is wrong.
model::expected<entity> decode(std::string_view kind, std::string_view doc);

std::string encode(const model::event& e);
model::expected<model::event> decode_event(std::string_view doc);

} // namespace sb::store
