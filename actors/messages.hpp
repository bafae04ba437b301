#pragma once
// The whole message vocabulary between Switchboard's actors, in one place.
//
// Messages are plain structs. They never leave the process (no remote actors),
// so they are whitelisted with CAF_ALLOW_UNSAFE_MESSAGE_TYPE instead of being
// given serializers; several carry immutable shared JSON documents
// (std::shared_ptr<const nlohmann::json>) to avoid copying attributes.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "model/error.hpp"
#include "model/form.hpp"
#include "model/queue_state.hpp"
#include "model/taskrouter.hpp"

namespace sb::actors {

using json_ptr = std::shared_ptr<const nlohmann::json>;

// ---------------------------------------------------------------- API edge --

// Every TaskRouter operation the HTTP adapter can ask for.
enum class tr_op : std::uint8_t {
  workspace_create, workspace_list, workspace_fetch, workspace_update, workspace_delete,
  activity_create, activity_list, activity_fetch, activity_update, activity_delete,
  channel_create, channel_list, channel_fetch, channel_update, channel_delete,
  queue_create, queue_list, queue_fetch, queue_update, queue_delete,
  queue_statistics, queue_realtime_statistics, queue_cumulative_statistics,
  queues_statistics,
  worker_create, worker_list, worker_fetch, worker_update, worker_delete,
  worker_statistics, workers_statistics, workers_realtime_statistics,
  workers_cumulative_statistics,
  worker_channel_list, worker_channel_fetch, worker_channel_update,
  worker_reservation_list, worker_reservation_fetch, worker_reservation_update,
  workflow_create, workflow_list, workflow_fetch, workflow_update, workflow_delete,
  workflow_statistics, workflow_realtime_statistics, workflow_cumulative_statistics,
  task_create, task_list, task_fetch, task_update, task_delete,
  task_reservation_list, task_reservation_fetch, task_reservation_update,
  event_list, event_fetch,
  workspace_statistics, workspace_realtime_statistics, workspace_cumulative_statistics,
};

// Which page of a list: PageSize and the offset Page/PageToken point at.
struct page_request {
  std::size_t size = 50;
  std::size_t offset = 0;
};

// One API request addressed to the TaskRouter side. params is the decoded
// Twilio form (or query string): the owning actor validates it against its own
// state, which is why it travels undecoded to the owner.
struct tr_call {
  tr_op op;
  std::string account_sid;
  std::string workspace_sid;
  std::string sid;     // the entity under the workspace (task, worker, ...)
  std::string sub_sid; // reservation or worker channel
  std::string if_match;
  model::form params;
  page_request page;
};

// Statistics documents are read-only reports; they are built by their owner.
struct statistics {
  nlohmann::json doc;
};

// A worker channel travels with its worker's SID for its URL.
struct worker_channel_ref {
  std::string worker_sid;
  model::worker_channel channel;
};

using resource = std::variant<model::workspace, model::activity, model::task_channel,
                              model::task_queue, model::worker, worker_channel_ref,
                              model::workflow, model::task, model::reservation, model::event,
                              statistics>;

struct page_result {
  std::vector<resource> items;
  bool has_more = false;
};

// Reply to a tr_call: one resource, a page, nothing (delete), or an error.
struct tr_reply {
  std::variant<model::error, resource, page_result, std::monostate> value;
  bool created = false; // 201 rather than 200
};

inline tr_reply fail(model::error e) { return tr_reply{std::move(e)}; }

// The error a reply (tr_reply, cv_reply, ix_reply, ...: any with a variant
// `value` holding model::error) carries, if any.
template <class Reply>
std::optional<model::error> error_of(const Reply& r) {
  if (auto* e = std::get_if<model::error>(&r.value))
    return *e;
  return std::nullopt;
}
inline tr_reply one(resource r, bool created = false) {
  tr_reply out{std::move(r)};
  out.created = created;
  return out;
}

// -------------------------------------------------------- routing protocol --

// workspace -> workflow: route a task from its first target (target < 0) or
// the target after `target` of `filter`.
struct route_task {
  std::string task_sid;
  json_ptr attributes;
  std::string channel_name;
  int priority = 0;
  std::uint64_t order = 0;
  bool ignore_capacity = false;
  int filter = -2; // -2: not yet chosen; -1: default filter
  int target = -1;
  // Time already spent in the next target (a task resumed after a restart):
  // its timeout counts from then.
  std::int64_t elapsed_ms = 0;
  bool resumed = false; // back in its target after a restart: no entry events again
};

// workflow -> queue: wait in this queue for the given target.
struct enqueue_task {
  model::queued_task task;
  caf::actor workflow;
  int filter = -1;
  int target = 0;
  int timeout_s = -1; // target timeout; <0 none
  std::int64_t elapsed_ms = 0; // of the target timeout, already spent (resumed task)
  bool resumed = false;
  int reservation_timeout_s = 120;
  std::shared_ptr<const model::expression> skip_if;
};

// queue -> workflow: the task left this target without a worker.
enum class target_exit : std::uint8_t { skipped, timed_out };
struct target_left {
  route_task task;
  target_exit why;
};

// queue -> workspace: the task now waits in this queue.
struct task_queued {
  std::string task_sid;
  std::string queue_sid;
  std::string queue_name;
  int priority = 0;
  caf::actor queue;
  int filter = -1;
  int target = 0;
  std::int64_t elapsed_ms = 0;
  bool resumed = false;
};

// workflow -> workspace: no target took the task; cancel it.
struct workflow_timed_out {
  std::string task_sid;
};

// An activity a worker moves to, with what the worker needs to know of it.
struct activity_ref {
  std::string sid; // empty: stay in the current activity
  std::string name;
  bool available = false;
};

// queue -> worker: take this task?
struct offer_task {
  std::string task_sid;
  std::string channel_name;
  std::string queue_sid;
  json_ptr attributes;
  bool ignore_capacity = false;
  int reservation_timeout_s = 120;
  activity_ref reservation_activity; // the queue's: the worker moves there when reserved
  activity_ref assignment_activity;  // and there when it accepts
};

// worker -> queue: the answer to an offer.
struct offer_answer {
  std::string task_sid;
  std::string worker_sid;
  bool taken = false;
};

// worker -> queues: the worker's current view for matching.
struct worker_status {
  model::worker_view view;
  caf::actor worker;
};

// worker -> queue: the worker is no longer eligible for this queue.
struct worker_left {
  std::string worker_sid;
  bool deleted = false; // the worker actor is gone: its unanswered offers are void
};

// worker -> workspace: a reservation was created or changed state.
struct reservation_update {
  model::reservation reservation;
  std::string queue_sid;
};

// workspace -> worker: the task was canceled, moved or completed elsewhere;
// end the reservation with `status` (rescinded, canceled, wrapping, completed).
struct end_reservation {
  std::string reservation_sid;
  model::reservation_status status;
  std::string reason;
};

// workspace -> queue: the task is no longer this queue's concern.
struct forget_task {
  std::string task_sid;
};

// workspace -> queue: a reservation ended without assignment; wait again.
struct requeue_task {
  std::string task_sid;
  std::string exclude_worker;
};

// workspace -> worker: its configuration changed (activity, attributes) or
// its queue membership did.
struct worker_config {
  std::string activity_sid;
  std::string activity_name;
  bool available = false;
  json_ptr attributes;
  std::string attributes_text;
  std::string friendly_name;
  bool multi_task = true;
  std::vector<std::pair<std::string, caf::actor>> queues; // eligible queues
  bool reject_pending = false;
};

// worker -> workspace: the worker's snapshot changed (for lists and stats).
struct worker_snapshot {
  model::worker worker;
};

// workspace -> queue: the queue's configuration changed.
struct queue_config {
  model::task_queue queue;
  bool reservation_activity_available = false;
  bool assignment_activity_available = false;
};

// workspace -> workflow: its configuration changed.
struct workflow_setup {
  model::workflow workflow;
  std::shared_ptr<const model::workflow_config> config;
  std::vector<std::pair<std::string, caf::actor>> queues;
  caf::actor workspace;
};

// workspace -> worker: a task channel was created; the worker gets a channel
// for it.
struct add_worker_channel {
  model::worker_channel channel;
};

// workspace -> worker, right after a restart spawned it: the reservations it
// holds (accepted or wrapping, counted against capacity) and its ended ones.
struct restore_reservations {
  std::vector<std::pair<model::reservation, std::string>> held; // with queue SID
  std::vector<model::reservation> ended;                        // oldest first
};

// workspace settings workers need.
struct workspace_settings {
  std::string timeout_activity_sid;
  std::string timeout_activity_name;
  bool timeout_activity_available = false;
  bool multi_task = true;
};

// Asked of the TaskRouter root: which of the account's workspaces has this
// workflow (Studio's send-to-flex names a workflow only). Answers the
// workspace SID, or an empty string.
struct locate_workflow {
  std::string account_sid;
  std::string workflow_sid;
};

// Timer wake-ups (self messages).
struct timers_due {};
// A workspace's own reminder to hand its changes to the store.
struct flush_tick {};

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::tr_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::tr_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::route_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::enqueue_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::target_left)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::task_queued)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::workflow_timed_out)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::offer_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::offer_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::worker_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::reservation_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::worker_left)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::end_reservation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::forget_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::requeue_task)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::worker_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::worker_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::queue_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::workflow_setup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::workspace_settings)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::restore_reservations)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::add_worker_channel)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::locate_workflow)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::timers_due)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::flush_tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::model::event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const sb::model::event>)
