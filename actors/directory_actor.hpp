#pragma once
// The TaskRouter root: which workspaces exist and which account owns each.
// Creates and lists workspaces and forwards every other call to the owning
// workspace actor, so a request touches the root once and never waits on it.
// Another account's workspace answers exactly as an absent one does.

#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/workspace_actor.hpp"

namespace sb::actors {

struct directory_state {
  struct entry {
    model::workspace workspace;
    caf::actor actor;
  };
  workspace_options options;
  std::unordered_map<std::string, entry> workspaces;
  std::vector<std::string> order;
  static inline const char* name = "taskrouter";
};

using directory_actor_type = caf::stateful_actor<directory_state>;

using workspace_images = std::vector<std::shared_ptr<store::workspace_image>>;

// images: the workspaces a restart recovered (empty on a fresh start).
caf::behavior directory_actor(directory_actor_type* self, workspace_options options,
                              workspace_images images);

} // namespace sb::actors
