#pragma once
// One TaskQueue. Owns its pending tasks in queue order, its view of the
// eligible workers' load, and each task's target timeout while it waits here;
// it matches tasks to workers and sends the offers.

#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/timer.hpp"
#include "model/queue_state.hpp"

namespace sb::actors {

struct queue_state_holder {
  struct routing {
    route_task route;        // how to continue in the workflow
    caf::actor workflow;
    int reservation_timeout_s = 120;
    bool expired = false;    // target timeout passed while offered/reserved
  };
  model::task_queue queue;
  activity_ref reservation_activity, assignment_activity;
  model::queue_state matcher;
  caf::actor workspace;
  std::unordered_map<std::string, routing> tasks;        // by task SID
  std::unordered_map<std::string, caf::actor> workers;   // eligible workers' actors
  actor_timers timers;                                   // target timeouts

  static inline const char* name = "task_queue";
};

using queue_actor_type = caf::stateful_actor<queue_state_holder>;

// Spawned by the workspace with the queue's configuration.
caf::behavior queue_actor(queue_actor_type* self, model::task_queue queue, caf::actor workspace);

} // namespace sb::actors
