#pragma once
// One TaskRouter workspace. Owns the workspace's configuration (activities,
// task channels, queue and workflow settings), the directory of its worker,
// queue and workflow actors, every task record (the authority on a task's
// assignment status), and the event log. Worker and queue runtime state lives
// in their own actors; this actor keeps read models of workers for lists.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "actors/messages.hpp"
#include "actors/timer.hpp"
#include "metrics/metrics.hpp"
#include "model/expression.hpp"
#include "model/taskrouter.hpp"
#include "model/workflow_config.hpp"
#include "store/image.hpp"
#include "store/records.hpp"

namespace sb::actors {

// Settings every workspace shares, fixed at start.
struct workspace_options {
  std::string auth_token;                           // signs event callbacks
  std::chrono::seconds task_retention{15 * 60};     // completed/canceled tasks
  std::size_t max_events = 100000;                  // in memory, newest kept
  std::chrono::seconds event_retention{30 * 24 * 3600}; // older events are dropped
  metrics::routing_families metrics;
  caf::actor webhooks;                              // may be invalid: no callbacks
  caf::actor store;                                 // may be invalid: nothing is kept
  caf::actor event_sink;                            // may be invalid: receives events
  std::vector<std::string> event_sink_types;        // the types it receives; empty: all
  bool event_sink_flex_only = false;                // only events of Flex tasks (flexInteractionChannelSid set)
};

struct workspace_state {
  struct queue_entry {
    model::task_queue queue;
    std::shared_ptr<const model::expression> target;
    caf::actor actor;
  };
  struct workflow_entry {
    model::workflow workflow;
    std::shared_ptr<const model::workflow_config> config;
    caf::actor actor;
  };
  struct worker_entry {
    model::worker worker;
    json_ptr attributes;
    caf::actor actor;
    std::vector<std::string> queues;
  };
  struct task_entry {
    model::task task;
    json_ptr attributes;
    caf::actor queue;
    std::vector<model::reservation> reservations; // every reservation of the task, oldest first
  };

  model::workspace workspace;
  workspace_options options;
  std::vector<model::activity> activities;
  std::vector<model::task_channel> channels;
  std::vector<queue_entry> queues;
  std::vector<workflow_entry> workflows;
  std::unordered_map<std::string, std::size_t> queue_index;    // SID -> position in queues
  std::unordered_map<std::string, std::size_t> workflow_index; // SID -> position in workflows
  std::unordered_map<std::string, worker_entry> workers;
  std::vector<std::string> worker_order;
  std::unordered_map<std::string, std::string> worker_names; // friendly name -> SID
  std::unordered_map<std::string, task_entry> tasks;
  std::map<std::uint64_t, std::string> task_order; // creation order -> SID
  std::uint64_t next_order = 1;
  std::deque<std::shared_ptr<const model::event>> events; // shared with the event sink
  actor_timers ttl;       // task TTLs, keyed by task SID
  actor_timers retention; // deletion of finished tasks, keyed by task SID
  // Changes not yet handed to the store: entities by (kind index, SID), the
  // task of each changed reservation, and new events. take_changes() turns
  // them into one batch at the end of every message.
  std::set<std::pair<std::size_t, std::string>> dirty;
  std::unordered_map<std::string, std::string> dirty_reservations; // reservation -> task
  std::vector<std::shared_ptr<const model::event>> unsaved_events;
  // Group flush: changes go to the store once per mailbox drain (a flush_tick
  // queued behind the messages already waiting), and the answers to API
  // changes made meanwhile wait for one store_sync after that batch.
  durable_writes<tr_reply> durable; // answers held until the store commits
  std::unordered_map<std::string, prometheus::Counter*> counter_cache;
  std::unordered_map<std::string, prometheus::Gauge*> gauge_cache;

  static inline const char* name = "workspace";
};

using workspace_actor_type = caf::stateful_actor<workspace_state>;

// Entity kinds, as indexes of store::entity.
namespace kind {
constexpr std::size_t workspace = 0, activity = 1, task_channel = 2, task_queue = 3, worker = 4,
                      workflow = 5, task = 6, reservation = 7;
}

// Marks an entity changed (or gone) for the next batch.
inline void mark(workspace_state& st, std::size_t k, const std::string& sid) { st.dirty.emplace(k, sid); }
inline void mark_reservation(workspace_state& st, const std::string& res_sid, const std::string& task_sid) {
  st.dirty_reservations[res_sid] = task_sid;
}

// The batch of everything marked since the last call: entities that still
// exist are put with their current value, the others erased.
store::write_batch take_changes(workspace_state& st);

// Spawned by the workspaces directory: a new workspace gets fresh defaults
// (and the template's queue and workflow); a recovered one is rebuilt from
// its image, its pending tasks routed again from where they were.
caf::behavior workspace_actor(workspace_actor_type* self, model::workspace ws,
                              workspace_options options, std::string template_name,
                              std::shared_ptr<const store::workspace_image> image);

} // namespace sb::actors
