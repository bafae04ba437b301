#pragma once
// One Flex interaction channel: the binding between a conversation and the
// tasks that route it. It owns the channel's participants, invites and task
// records, and turns TaskRouter events into conversation changes:
//   - a reservation accepted: the worker joins the conversation (a chat
//     participant named after its contact_uri) and the channel (an agent);
//   - an agent participant closed: its task completes and the agent leaves
//     the conversation; wrapup: its task moves to wrapping;
//   - the channel closed: its tasks wrap up or complete as asked (pending
//     ones are canceled) and the conversation closes;
//   - its last live task canceled with no agent on the channel (TTL,
//     workflow timeout, a cancel through TaskRouter): the channel and the
//     conversation close, so the customer's next message starts afresh.
// Durable in the store (kind "interaction_channel", scoped by the account).
// A channel that is closed with no live task and nobody left stops its
// actor once its writes are committed; the root answers for it from then on.

#include <string>

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "actors/ix_messages.hpp"

namespace sb::actors {

struct interaction_channel_state {
  model::flex::interaction_channel channel;
  caf::actor root;          // the interactions root: told of every change
  caf::actor directory;     // TaskRouter
  caf::actor conversations; // Conversations root
  durable_writes<ix_reply> durable;
  bool retiring = false; // closed and done: stops once its writes are committed
  int calls = 0;          // its requests not yet answered
  static inline const char* name = "interaction_channel";
};

using interaction_channel_actor_type = caf::stateful_actor<interaction_channel_state>;

// fresh: a new channel, written to the store at once (a fetch answers once
// that is committed); otherwise one a restart read back.
caf::behavior interaction_channel_actor(interaction_channel_actor_type* self, model::flex::interaction_channel channel,
                                        bool fresh, caf::actor root, caf::actor directory, caf::actor conversations,
                                        caf::actor store);

} // namespace sb::actors
