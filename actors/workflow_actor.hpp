#pragma once
// One TaskRouter workflow. Owns its routing configuration; picks a task's
// filter and steps the task through that filter's targets, one queue at a
// time. It holds no task state: the queue a task waits in carries the route.

#include <optional>
#include <string>
#include <utility>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "model/workflow_config.hpp"

namespace sb::actors {

struct workflow_state {
  model::workflow workflow;
  std::shared_ptr<const model::workflow_config> config;
  std::unordered_map<std::string, caf::actor> queues;
  caf::actor workspace;

  static inline const char* name = "workflow";
};

using workflow_actor_type = caf::stateful_actor<workflow_state>;

// Where a task goes next: the queue and enqueue message for the first usable
// target after r.target of its filter (choosing the filter first when
// r.filter is -2), or nullopt when no target is left. `queues` is the
// workflow's view of queue SIDs; `workflow` receives target_left later.
std::optional<std::pair<caf::actor, enqueue_task>>
plan_route(const model::workflow& wf, const model::workflow_config& config,
           const std::unordered_map<std::string, caf::actor>& queues, route_task r,
           const caf::actor& workflow);

// Spawned by the workspace; configured by workflow_setup messages.
caf::behavior workflow_actor(workflow_actor_type* self, workflow_setup setup);

} // namespace sb::actors
