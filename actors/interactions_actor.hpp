#pragma once
// The Flex Interactions root: which interactions exist, which account owns
// each, and an index from channels, tasks and conversations to them. It
// creates interactions (the conversation and its customer when the channel
// names parties, then the task) and web chats, answers interaction fetches
// and the supervisors' list, and hands every channel call to the channel's
// own actor. It is the TaskRouter directory's event sink for Flex tasks and
// passes each event on to the channel that owns the task.

#include <chrono>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "actors/ix_messages.hpp"
#include "metrics/metrics.hpp"

namespace sb::actors {

struct interactions_options {
  caf::actor conversations; // Conversations root
  caf::actor addresses;     // address configurations (web chats)
  caf::actor keys;          // API keys: the web chat token's signing key
  caf::actor store;         // may be invalid: nothing is written
  std::chrono::seconds token_ttl{3600};
  metrics::flex_metrics metrics; // families may be null: nothing is counted
};

struct interactions_state {
  struct entry {
    model::flex::interaction interaction;
    model::flex::interaction_channel channel; // the channel actor's last word
    caf::actor actor;
  };
  interactions_options options;
  caf::actor directory;
  std::unordered_map<std::string, entry> interactions; // by KD
  std::vector<std::string> order;                      // KD by creation
  std::unordered_map<std::string, std::string> by_channel;      // UO -> KD
  std::unordered_map<std::string, std::string> by_task;         // WT -> KD
  std::unordered_map<std::string, std::string> by_conversation; // CH -> KD, while its channel is open
  // Events of tasks not (yet) indexed: a task's first events can come
  // before the answer to its create. Kept a minute.
  struct early_event {
    std::chrono::steady_clock::time_point at;
    std::shared_ptr<const model::event> event;
  };
  std::deque<early_event> early;
  durable_writes<ix_reply> durable;
  static inline const char* name = "interactions";
};

using interactions_actor_type = caf::stateful_actor<interactions_state>;

// The TaskRouter event types the root needs from the directory's sink.
const std::vector<std::string>& interaction_event_types();

// recovered: interactions and their channels a restart read back. The
// TaskRouter root comes later, in an ix_wire message.
caf::behavior interactions_actor(interactions_actor_type* self, interactions_options options,
                                 std::vector<model::flex::interaction> interactions,
                                 std::vector<model::flex::interaction_channel> channels);

} // namespace sb::actors
