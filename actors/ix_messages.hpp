#pragma once
// The Flex side's message vocabulary: API calls into the interactions root
// and its interaction channel actors, and what they tell each other.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "model/error.hpp"
#include "model/form.hpp"
#include "model/interactions.hpp"

namespace sb::actors {

enum class ix_op : std::uint8_t {
  interaction_create, interaction_fetch, interaction_update,
  // Switchboard's own (the library has no Interactions list): the ongoing
  // interactions with their channel, participants and tasks, for supervisors.
  interaction_list,
  channel_list, channel_fetch, channel_update,
  participant_create, participant_list, participant_update,
  invite_create, invite_list,
  // POST /v2/WebChats: a guest, a conversation on a chat address and a token.
  web_chat_create,
};

struct ix_call {
  ix_op op = ix_op::interaction_fetch;
  std::string account_sid;
  std::string sid;         // KD
  std::string channel_sid; // UO
  std::string sub_sid;     // UT
  model::form params;
  page_request page;
};

// A channel's participant or invite travels with its channel (for URLs).
struct ix_participant_ref {
  model::flex::channel_participant participant;
  model::flex::interaction_channel channel; // without its lists
};
struct ix_invite_ref {
  model::flex::channel_invite invite;
  model::flex::interaction_channel channel; // without its lists
};
// An ongoing interaction as a supervisor sees it: the interaction and its
// channel with every participant and task.
struct ix_overview {
  model::flex::interaction interaction;
  model::flex::interaction_channel channel;
};
struct ix_web_chat {
  std::string conversation_sid;
  std::string identity;
  std::string token;
};

using ix_resource = std::variant<model::flex::interaction, model::flex::interaction_channel, ix_participant_ref,
                                 ix_invite_ref, ix_overview, ix_web_chat>;

struct ix_page {
  std::vector<ix_resource> items;
  bool has_more = false;
};

struct ix_reply {
  std::variant<model::error, ix_resource, ix_page, std::monostate> value;
  bool created = false;
};

inline ix_reply ix_fail(model::error e) { return ix_reply{std::move(e)}; }
inline ix_reply ix_one(ix_resource r, bool created = false) {
  ix_reply out{std::move(r)};
  out.created = created;
  return out;
}

// channel -> root: the channel changed (status, participants, tasks); the
// root's copy serves the supervisors' list and the task index.
struct ix_channel_changed {
  model::flex::interaction_channel channel;
};

// channel -> root: the channel is closed with no live task; its actor stops
// (its last word was an ix_channel_changed) and the root answers for it.
struct ix_channel_retired {
  std::string interaction_sid;
};

// root -> channel: a TaskRouter event about one of the channel's tasks.
struct ix_task_event {
  std::shared_ptr<const model::event> event;
};

// Startup wiring, root -> itself before any call: the TaskRouter root
// (which needs the interactions root as its event sink, so is spawned after).
struct ix_wire {
  caf::actor directory;
};

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ix_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ix_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ix_channel_changed)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ix_task_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ix_channel_retired)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::ix_wire)
