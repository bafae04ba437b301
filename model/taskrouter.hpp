#pragma once
// TaskRouter value types: plain data owned by exactly one actor each, copied
// into replies as snapshots. No behaviour beyond small derived queries.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/clock.hpp"

namespace sb::model {

struct activity {
  std::string sid;
  std::string friendly_name;
  bool available = false;
  time_point created, updated;
};

struct task_channel {
  std::string sid;
  std::string unique_name;
  std::string friendly_name;
  bool channel_optimized_routing = false;
  time_point created, updated;
};

enum class task_order { fifo, lifo };

struct workspace {
  std::string sid;
  std::string account_sid;
  std::string friendly_name;
  std::string event_callback_url;
  std::string events_filter; // comma-separated event types; empty means all
  bool multi_task_enabled = true;
  task_order prioritize_queue_order = task_order::fifo;
  std::string default_activity_sid, default_activity_name;
  std::string timeout_activity_sid, timeout_activity_name;
  time_point created, updated;
};

struct task_queue {
  std::string sid;
  std::string friendly_name;
  std::string target_workers = "1==1";
  int max_reserved_workers = 1;
  task_order order = task_order::fifo;
  std::string reservation_activity_sid, reservation_activity_name;
  std::string assignment_activity_sid, assignment_activity_name;
  time_point created, updated;
};

struct worker_channel {
  std::string sid; // WC
  std::string task_channel_sid;
  std::string task_channel_unique_name;
  int configured_capacity = 1;
  int assigned_tasks = 0; // reserved or assigned, the load counted against capacity
  bool available = true;
  time_point created, updated;

  // Twilio's percentage of capacity still free (0 when unavailable).
  int available_capacity_percentage() const {
    if (!available || configured_capacity <= 0)
      return 0;
    int free = configured_capacity - assigned_tasks;
    return free <= 0 ? 0 : free * 100 / configured_capacity;
  }
};

struct worker {
  std::string sid;
  std::string friendly_name;
  std::string activity_sid, activity_name;
  bool available = false; // the activity's availability
  std::string attributes = "{}";
  std::vector<worker_channel> channels;
  time_point created, updated, status_changed;
};

enum class task_status { pending, reserved, assigned, wrapping, completed, canceled };

const char* to_string(task_status s);
std::optional<task_status> parse_task_status(std::string_view text);
inline bool is_final(task_status s) {
  return s == task_status::completed || s == task_status::canceled;
}

struct task {
  std::string sid;
  std::string attributes = "{}";
  task_status status = task_status::pending;
  int priority = 0;
  int timeout = 86400; // TTL in seconds
  std::string reason;
  std::string task_channel_sid, task_channel_unique_name;
  std::string workflow_sid, workflow_friendly_name;
  std::string queue_sid, queue_friendly_name;
  std::string routing_target;
  bool ignore_capacity = false;
  std::uint64_t order = 0;   // creation sequence: the task's place in queue order
  std::uint64_t version = 0; // bumped by every change; the ETag that If-Match compares
  // Where routing left the task, so recovery resumes it there: its workflow
  // filter (-1 default filter, -2 not chosen yet, -3 sent straight to a
  // queue) and the index of the target it waits in.
  int routing_filter = -2;
  int routing_step = -1;
  bool reserved_once = false; // a reservation was created at least once (wait metrics)
  time_point created, updated, queue_entered, virtual_start;
  std::string worker_sid;      // while reserved, assigned or wrapping
  std::string reservation_sid; // likewise
};

enum class reservation_status {
  pending, accepted, rejected, timeout, canceled, rescinded, wrapping, completed
};

const char* to_string(reservation_status s);
std::optional<reservation_status> parse_reservation_status(std::string_view text);

struct reservation {
  std::string sid;
  std::string task_sid;
  std::string worker_sid, worker_name;
  std::string task_channel; // the task channel's unique name
  reservation_status status = reservation_status::pending;
  time_point created, updated;
};

struct workflow {
  std::string sid;
  std::string friendly_name;
  std::string configuration;
  std::string assignment_callback_url, fallback_assignment_callback_url;
  int task_reservation_timeout = 120;
  time_point created, updated;
};

struct event {
  std::string sid;
  std::string event_type;
  std::string description;
  std::string resource_type; // task, worker, reservation, workflow, task_queue, activity...
  std::string resource_sid;
  std::string actor_type = "workspace";
  std::string actor_sid;
  // event_data as name/value strings (cheap to record; JSON is built on read).
  std::vector<std::pair<std::string, std::string>> data;
  time_point date;
  // Filter keys kept apart from data for cheap list filtering.
  std::string task_sid, worker_sid, reservation_sid, queue_sid, workflow_sid, task_channel;
  // When the task the event is about was created (the epoch when there is
  // none): where its wait starts, for the cumulative statistics' wait figures.
  time_point task_created{};
};

} // namespace sb::model
