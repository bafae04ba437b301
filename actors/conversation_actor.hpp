#pragma once
// One conversation: its record, participants, messages (with their sequential
// index and receipts), scoped webhooks, state timers and write rate. The
// conversations directory creates it, forwards it every call addressed to it
// and hears back about changes lists need (conversation_changed) and bindings
// it frees (bindings_released).

#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include <memory>
#include <optional>
#include <unordered_map>

#include "actors/cv_hooks.hpp"
#include "actors/cv_messages.hpp"
#include "actors/durable.hpp"
#include "actors/timer.hpp"
#include "model/conversations.hpp"

namespace sb::actors {

struct conversation_options {
  caf::actor store;
  // Writes (POST and DELETE) accepted per second and conversation; beyond
  // it the API answers 429. Twilio's own limit is 30.
  double write_rate = 500;
  double write_burst = 1000;
  // Post-action webhooks go through this actor, signed with the account's token.
  caf::actor webhooks;
  std::shared_ptr<const std::unordered_map<std::string, std::string>> auth_tokens;
  // The address configurations (auto-creation for inbound messages) and the
  // outbound messaging edge; either may be invalid (no auto-creation; no
  // outbound sends).
  caf::actor addresses;
  caf::actor edge;
  // Uploaded media (MediaSid on a message); invalid: MediaSid is refused.
  caf::actor media;
  // A conversation idle this long (no call, no receipt) with nothing
  // outstanding stops its actor; its state stays in the store and the root
  // starts it again on the next call or state timer. Zero (or no store):
  // never.
  std::chrono::milliseconds passivate_after{120000};
  // Studio: messages of conversations with a studio webhook go there;
  // invalid: studio webhooks do nothing.
  caf::actor studio;
};

struct conversation_state {
  model::cv::conversation conv;
  std::vector<model::cv::participant> participants; // creation order
  std::vector<model::cv::message> messages;         // index order
  std::vector<model::cv::conversation_webhook> webhooks;
  caf::actor directory;
  conversation_options options;
  durable_writes<cv_reply> durable;
  actor_timers timers;
  cv_hook_settings hooks;
  bool deleted = false; // answered a delete; the directory stops it
  // A call waiting for its pre-action webhook (hook_id tags the request),
  // and the calls that arrived meanwhile: they wait so that the
  // conversation applies calls in the order they came.
  struct held_call {
    cv_call call;
    caf::response_promise rp;
  };
  std::unique_ptr<held_call> hooked; // rare: kept out of line
  std::string hooked_event;
  std::uint64_t hook_id = 0;
  std::vector<held_call> stash; // (a deque allocates even when empty)
  // Passivation: when the last call or receipt arrived, and the edge sends
  // (and media downloads) still waiting for their answer.
  caf::actor_clock::time_point last_active{};
  std::uint32_t outstanding = 0;
  // Token bucket for the write rate.
  double tokens = 0;
  caf::actor_clock::time_point refilled{};
  static inline const char* name = "conversation";
};

using conversation_actor_type = caf::stateful_actor<conversation_state>;

// What a conversation starts from: a new one (only conv set) or a recovered one.
struct conversation_seed {
  model::cv::conversation conv;
  std::vector<model::cv::participant> participants;
  std::vector<model::cv::message> messages;
  std::vector<model::cv::conversation_webhook> webhooks;
  cv_hook_settings hooks;
};

caf::behavior conversation_actor(conversation_actor_type* self, conversation_seed seed,
                                 caf::actor directory, conversation_options options);

} // namespace sb::actors
