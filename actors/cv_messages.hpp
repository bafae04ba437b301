#pragma once
// The Conversations side's message vocabulary: API calls into the
// conversations directory and conversation actors, and what they tell each
// other. Plain structs, whitelisted like the TaskRouter ones.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "model/conversations.hpp"
#include "model/error.hpp"
#include "model/form.hpp"

namespace sb::actors {

enum class cv_op : std::uint8_t {
  config_fetch, config_update, config_webhooks_fetch, config_webhooks_update,
  service_create, service_list, service_fetch, service_delete,
  service_config_fetch, service_config_update, service_webhooks_fetch, service_webhooks_update,
  conversation_create, conversation_list, conversation_fetch, conversation_update, conversation_delete,
  participant_create, participant_list, participant_fetch, participant_update, participant_delete,
  message_create, message_list, message_fetch, message_update, message_delete,
  receipt_list, receipt_fetch,
  webhook_create, webhook_list, webhook_fetch, webhook_update, webhook_delete,
  // The messaging edge: an inbound message in Twilio's incoming-message
  // form (params), and a gateway's status callback for one participant's
  // copy of a message (conversation, sid: IM, sub_sid: MB; params).
  inbound_message, delivery_status,
  // Address configurations: answered by the address actor, not the root.
  address_create, address_list, address_fetch, address_update, address_delete,
};

// True for the address configuration operations (the address actor's).
inline bool address_scoped(cv_op op) {
  return op >= cv_op::address_create && op <= cv_op::address_delete;
}

// One API request to the Conversations side.
struct cv_call {
  cv_op op;
  std::string account_sid;
  std::string service_sid;   // from /v1/Services/{IS}/...; empty: the account's default service
  std::string conversation;  // CH SID or unique name
  std::string sid;           // participant, message or webhook
  std::string sub_sid;       // receipt
  model::form params;
  page_request page;
  bool webhooks_enabled = false; // X-Twilio-Webhook-Enabled: true
  // inbound_message into a conversation the root has just created for it:
  // the address configuration that asked for it (the conversation adds the
  // sender as participant and the configuration's scoped webhook).
  std::optional<model::cv::address_configuration> created_by;
  // message_create with MediaSid: the media as the media actor knows them,
  // filled in by the root before the conversation sees the call.
  std::optional<std::vector<model::cv::media_ref>> resolved_media;
};

// A delivery receipt travels with the message it belongs to.
struct receipt_ref {
  model::cv::message message; // without its receipts
  model::cv::receipt receipt;
};

// Which configuration document an account-config or service reply renders as.
enum class cv_view : std::uint8_t { plain, configuration, webhooks };
struct account_config_ref {
  model::cv::account_config config;
  cv_view view = cv_view::configuration;
};
struct service_ref {
  model::cv::service service;
  cv_view view = cv_view::plain;
};

using cv_resource = std::variant<account_config_ref, service_ref, model::cv::conversation,
                                 model::cv::participant, model::cv::message, receipt_ref,
                                 model::cv::conversation_webhook, model::cv::address_configuration>;

struct cv_page {
  std::vector<cv_resource> items;
  bool has_more = false;
};

struct cv_reply {
  std::variant<model::error, cv_resource, cv_page, std::monostate> value;
  bool created = false;
};

inline cv_reply cv_fail(model::error e) { return cv_reply{std::move(e)}; }
inline cv_reply cv_one(cv_resource r, bool created = false) {
  cv_reply out{std::move(r)};
  out.created = created;
  return out;
}

// One page of [first, last): the items keep() accepts, from page.offset on,
// at most page.size of them, each made into a resource by make().
template <class It, class Keep, class Make>
cv_reply cv_page_of(It first, It last, const page_request& page, Keep keep, Make make) {
  cv_page out;
  std::size_t skipped = 0;
  for (; first != last; ++first) {
    if (!keep(*first) || skipped++ < page.offset)
      continue;
    if (out.items.size() == page.size) {
      out.has_more = true;
      break;
    }
    out.items.push_back(make(*first));
  }
  return cv_reply{std::move(out)};
}
template <class Range, class Make>
cv_reply cv_page_of(const Range& items, const page_request& page, Make make) {
  return cv_page_of(std::begin(items), std::end(items), page, [](auto&) { return true; }, make);
}

// The resource of type T a reply holds, or null.
template <class T>
const T* cv_value(const cv_reply& r) {
  if (auto* res = std::get_if<cv_resource>(&r.value))
    return std::get_if<T>(res);
  return nullptr;
}

// Answers every Conversations actor gives alike.
inline model::error cv_missing(const std::string& what) {
  return model::not_found("The requested resource " + what + " was not found");
}
inline cv_reply cv_unavailable() {
  return cv_fail(model::error{model::errc::unavailable, 20503,
                              "The change could not be written to disk; the service refuses changes "
                              "until its store accepts writes again"});
}

// conversation -> directory: the conversation's record changed (state timers,
// a message, ...): the directory's copy serves lists.
struct conversation_changed {
  model::cv::conversation conversation;
};

// conversation -> directory: these messaging bindings are free again
// (participant removed, conversation closed).
struct bindings_released {
  std::string conversation_sid;
  std::vector<std::pair<std::string, std::string>> pairs; // address, proxy address
};

// root -> conversation: where its post-action events go besides its own
// scoped webhooks (the service's settings; the account's for the default
// service), sent at start and whenever they change.
struct cv_hooks_changed {
  model::cv::webhook_settings service;
  model::cv::webhook_settings account;
};

// Passivation. conversation -> root: idle for its passivate_after with
// nothing outstanding (no held call, no write waiting for its commit, no
// send or media download waiting for its answer). The root may then ask it
// to stop (cv_passivate_atom, a request) and holds the calls for it
// meanwhile; the conversation answers cv_passivated: ok and its final record
// when it was still quiet and stops, otherwise not ok and goes on.
struct cv_idle {
  std::string conversation_sid;
};
using cv_passivate_atom = caf::atom_constant<caf::atom("cv_passiv")>;
struct cv_passivated {
  bool ok = false;
  model::cv::conversation conversation;
};

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::cv_idle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::cv_passivated)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::cv_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::cv_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::conversation_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::bindings_released)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::cv_hooks_changed)
