#pragma once
// One TaskRouter worker. Owns its activity, attributes, per-channel capacity
// and its reservations; it is the authority on capacity, so an offer made from
// a queue's stale view is refused here rather than over-assigning.

#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "actors/timer.hpp"
#include "model/taskrouter.hpp"

namespace sb::actors {

struct worker_state {
  struct active_reservation {
    model::reservation reservation;
    std::string queue_sid;
    caf::actor queue;
    activity_ref on_accept; // the queue's assignment activity
  };

  model::worker worker;
  json_ptr attributes;
  bool multi_task = true;
  caf::actor workspace;
  workspace_settings settings;
  std::vector<std::pair<std::string, caf::actor>> queues;
  std::unordered_map<std::string, active_reservation> active; // by reservation SID
  std::unordered_map<std::string, std::string> by_task;       // task SID -> reservation SID
  std::deque<model::reservation> history;                     // ended, newest last
  actor_timers timers;                                        // reservation timeouts
  std::uint64_t version = 0;
  std::string published_activity; // the activity the workspace last heard of
  bool config_changed = false;    // channel configuration the workspace has not heard of
  model::time_point last_idle;

  static inline const char* name = "worker";
};

using worker_actor_type = caf::stateful_actor<worker_state>;

// Spawned by the workspace with the worker's initial record and settings.
caf::behavior worker_actor(worker_actor_type* self, model::worker initial, json_ptr attributes,
                           caf::actor workspace, workspace_settings settings);

} // namespace sb::actors
