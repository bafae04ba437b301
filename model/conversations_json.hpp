#pragma once
// Conversations v1 resources in Twilio's JSON wire form: snake_case keys,
// ISO-8601 dates, attributes echoed as strings, absolute `url` and `links`.
// Every key the twilio library reads is present (null when empty).
//
// A conversation in the account's default service lives under
// /v1/Conversations/CH...; one in another service under
// /v1/Services/IS.../Conversations/CH..., and its resources (and their
// participants, messages, receipts and webhooks) also carry chat_service_sid.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/conversations.hpp"

namespace sb::model::cv {

// Where resources live: base is e.g. "https://conversations.twilio.com".
struct cv_wire {
  std::string base;
};

// base + "/v1/Conversations" in the default service, else
// base + "/v1/Services/<service_sid>/Conversations".
std::string conversations_url(const cv_wire& ctx, std::string_view service_sid, bool in_default_service);
// conversations_url(...) + "/" + conversation_sid.
std::string conversation_url(const cv_wire& ctx, std::string_view service_sid,
                             std::string_view conversation_sid, bool in_default_service);

// /v1/Services/IS...
nlohmann::json to_json(const service& x, const cv_wire& ctx);
// /v1/Services/IS.../Configuration
nlohmann::json service_configuration_json(const service& x, const cv_wire& ctx);
// /v1/Services/IS.../Configuration/Webhooks (from x.webhooks)
nlohmann::json service_webhooks_json(const service& x, const cv_wire& ctx);
// /v1/Configuration
nlohmann::json to_json(const account_config& x, const cv_wire& ctx);
// /v1/Configuration/Webhooks (from x.webhooks)
nlohmann::json account_webhooks_json(const account_config& x, const cv_wire& ctx);

nlohmann::json to_json(const conversation& x, const cv_wire& ctx, bool in_default_service);
nlohmann::json to_json(const participant& x, const cv_wire& ctx, bool in_default_service);
nlohmann::json to_json(const message& x, const cv_wire& ctx, bool in_default_service);
// A delivery receipt of message m.
nlohmann::json to_json(const receipt& x, const message& m, const cv_wire& ctx, bool in_default_service);
// A conversation-scoped webhook; chat_service_sid is the conversation's
// service (shown, and used in the url, outside the default service).
nlohmann::json to_json(const conversation_webhook& x, const cv_wire& ctx, bool in_default_service,
                       const std::string& chat_service_sid);

// /v1/Configuration/Addresses/IG...: auto_creation shows enabled, type and
// conversation_service_sid, plus the webhook_* fields for type webhook and
// the studio_* fields for type studio.
nlohmann::json to_json(const address_configuration& x, const cv_wire& ctx);

} // namespace sb::model::cv
