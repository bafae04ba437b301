#pragma once
// The outbound messaging edge: sends a conversation's messages to its SMS
// and WhatsApp participants through a gateway per channel type, an HTTP
// POST in the form of Twilio's Messages API (so the gateway can be the
// carrier simulator, Twilio itself or any service that speaks that form),
// and tells the conversation what became of each send (delivery_report).
// The gateway's later status callbacks reach the conversation through the
// API (/edge/status); the callback URL names the conversation, the message
// and the participant.
//
// Sends to one handset leave in order: one at a time per (from, to) pair,
// retried with backoff when the gateway cannot be reached or answers 5xx
// or 429.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "actors/webhook_actor.hpp"
#include "model/conversations.hpp"

namespace sb::actors {

// conversation -> edge: send one message to one messaging participant.
struct edge_send {
  caf::actor conversation;
  std::string account_sid;
  std::string conversation_sid;
  std::string message_sid;
  std::string participant_sid;
  std::string channel; // sms or whatsapp
  std::string from;    // the participant's proxy address
  std::string to;      // the participant's address
  std::string body;
  std::vector<std::string> media_urls; // offered as they are (an inbound message's)
  std::vector<std::string> media_sids; // uploaded media: offered as signed /edge/media URLs
  std::string messaging_service_sid;
};

// edge -> conversation (and API status callbacks -> conversation): what is
// known of one participant's copy of one message. status empty: nothing
// that changes the receipt (queued, accepted, sending).
struct delivery_report {
  std::string message_sid;
  std::string participant_sid;
  std::string channel_message_sid; // the gateway's SM/MM SID
  std::optional<model::cv::delivery_status> status;
  int error_code = 0;
};

struct edge_options {
  // Gateway URL per channel type ("sms", "whatsapp"); "{AccountSid}" in it
  // becomes the sending account. Without user information in the URL the
  // request carries Basic credentials of the account SID and auth token.
  std::map<std::string, std::string> gateways;
  // Public base of this server as the gateway reaches it, for StatusCallback.
  std::string status_base;
  std::shared_ptr<const std::unordered_map<std::string, std::string>> auth_tokens;
  int max_attempts = 3;
};

struct edge_state {
  struct job {
    edge_send send;
    int attempt = 0;
  };
  edge_options options;
  http_post_fn transport;
  // (from, to) -> sends waiting; the front one is on the wire.
  std::map<std::pair<std::string, std::string>, std::deque<job>> lines;
  static inline const char* name = "messaging_edge";
};

using edge_actor_type = caf::stateful_actor<edge_state>;

// Sets options.status_base once the server knows its port: (atom, base).
using edge_base_atom = caf::atom_constant<caf::atom("edge_base")>;

caf::behavior edge_actor(edge_actor_type* self, edge_options options, http_post_fn transport);

// The Twilio error code a gateway failure is reported with when the gateway
// gave none: 30008, "Unknown error".
constexpr int edge_unknown_error = 30008;

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::edge_send)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::delivery_report)
