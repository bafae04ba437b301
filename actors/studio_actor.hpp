#pragma once
// The Studio root: every account's flows and their revisions (create,
// update, list, fetch, delete, validate), each flow's definition checked by
// studio_flow before it is saved. Execution and step calls, and the
// conversation messages of studio webhooks, go to the flow's own actor.
// Another account's flow answers exactly as an absent one does.

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "actors/flow_actor.hpp"
#include "actors/studio_messages.hpp"

namespace sb::actors {

struct studio_state {
  struct entry {
    model::studio::flow flow;
    std::vector<model::studio::flow_revision> revisions; // oldest first
    caf::actor actor;
  };
  studio_options options;
  std::unordered_map<std::string, entry> flows; // by FW
  std::vector<std::string> order;               // FW by creation
  durable_writes<st_reply> durable;
  static inline const char* name = "studio";
};

using studio_actor_type = caf::stateful_actor<studio_state>;

// What a restart read back for Studio.
struct studio_image {
  std::vector<model::studio::flow> flows;
  std::vector<model::studio::flow_revision> revisions;
  std::vector<model::studio::execution> executions;
  std::vector<model::studio::step> steps;
};

caf::behavior studio_actor(studio_actor_type* self, studio_options options, studio_image recovered);

} // namespace sb::actors
