#pragma once
// Conversations post-action webhooks: which URLs an event goes to (the
// conversation's scoped webhooks with target "webhook", its service's post
// webhook, the account's post webhook for the default service, each only
// for the events in its filters) and the signed deliveries to hand the
// webhook actor, honouring Twilio's connection-override fragment.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "actors/webhook_actor.hpp"
#include "model/conversations.hpp"
#include "model/form.hpp"

namespace sb::actors {

// Where a conversation's events go besides its own scoped webhooks.
struct cv_hook_settings {
  model::cv::webhook_settings service;
  model::cv::webhook_settings account; // empty unless the conversation is in the default service
};

// One delivery per target whose filters name `event`. params already hold
// the event's fields; EventType is added here. A URL's fragment
// (#ct=..&rt=..&rc=..) is not sent; its rc (retry count) sets the attempts.
// Deliveries of one conversation (conversation_sid) to one URL keep their
// order: each waits for the one before it.
std::vector<webhook_post> cv_hook_posts(const std::string& event, const model::form_pairs& params,
                                        const std::vector<model::cv::conversation_webhook>& scoped,
                                        const cv_hook_settings& settings, const std::string& auth_token,
                                        const std::string& conversation_sid);

// A pre-action webhook to call before an action: the service's pre-event
// URL when its filters name the event, else the account's (default service
// only). The answer decides: 2xx with a JSON object modifies the action
// (see cv_pre_modify), another HTTP status rejects it, and no answer within
// `timeout` (5 s, Twilio's limit, or the URL's #ct + #rt) lets it through.
struct cv_pre_hook {
  webhook_post post;
  std::chrono::milliseconds timeout{5000};
};
std::optional<cv_pre_hook> cv_pre_hook_for(const std::string& event, const model::form_pairs& params,
                                           const cv_hook_settings& settings, const std::string& auth_token);

// Applies a pre-action webhook's 200 answer to the action's form: the
// fields Twilio lets it change for this event (body, author, attributes of
// a message; friendly_name, unique_name, attributes of a conversation;
// attributes and role_sid of a participant), by their snake_case JSON
// names. An empty or non-JSON body changes nothing.
void cv_pre_modify(const std::string& event, const std::string& answer, model::form& params);

// The pre-action event of an operation, or nullptr when it has none.
const char* cv_pre_event(int op); // op: a cv_op

// The event fields of a conversation, a participant and a message, as
// Twilio names them.
model::form_pairs cv_event_fields(const model::cv::conversation& c);
model::form_pairs cv_event_fields(const model::cv::conversation& c, const model::cv::participant& p);
model::form_pairs cv_event_fields(const model::cv::conversation& c, const model::cv::message& m);

} // namespace sb::actors
