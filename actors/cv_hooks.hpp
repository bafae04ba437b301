#pragma once
// Conversations post-action webhooks: which URLs an event goes to (the
// conversation's scoped webhooks with target "webhook", its service's post
// webhook, the account's post webhook for the default service, each only
// for the events in its filters) and the signed deliveries to hand the
// webhook actor, honouring Twilio's connection-override fragment.

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

// The event fields of a conversation, a participant and a message, as
// Twilio names them.
model::form_pairs cv_event_fields(const model::cv::conversation& c);
model::form_pairs cv_event_fields(const model::cv::conversation& c, const model::cv::participant& p);
model::form_pairs cv_event_fields(const model::cv::conversation& c, const model::cv::message& m);

} // namespace sb::actors
