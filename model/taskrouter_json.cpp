#include "model/taskrouter_json.hpp"

#include <chrono>

namespace sb::model {

namespace {

std::string ws_url(const wire_context& ctx) { return ctx.base + "/v1/Workspaces/" + ctx.workspace_sid; }

nlohmann::json base_fields(const std::string& sid, time_point created, time_point updated,
                           const wire_context& ctx) {
  return {{"sid", sid},
          {"account_sid", ctx.account_sid},
          {"workspace_sid", ctx.workspace_sid},
          {"date_created", iso8601(created)},
          {"date_updated", iso8601(updated)}};
}

nlohmann::json data_object(const event& x) {
  auto out = nlohmann::json::object();
  for (auto& [k, v] : x.data)
    out[k] = v;
  return out;
}

const char* order_name(task_order o) { return o == task_order::lifo ? "LIFO" : "FIFO"; }

nlohmann::json nullable(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

} // namespace

nlohmann::json to_json(const workspace& x, const wire_context& ctx) {
  auto url = ctx.base + "/v1/Workspaces/" + x.sid;
  nlohmann::json j{{"sid", x.sid},
                   {"account_sid", x.account_sid},
                   {"friendly_name", x.friendly_name},
                   {"event_callback_url", nullable(x.event_callback_url)},
                   {"events_filter", nullable(x.events_filter)},
                   {"multi_task_enabled", x.multi_task_enabled},
                   {"prioritize_queue_order", order_name(x.prioritize_queue_order)},
                   {"default_activity_sid", x.default_activity_sid},
                   {"default_activity_name", x.default_activity_name},
                   {"timeout_activity_sid", x.timeout_activity_sid},
                   {"timeout_activity_name", x.timeout_activity_name},
                   {"date_created", iso8601(x.created)},
                   {"date_updated", iso8601(x.updated)},
                   {"url", url}};
  nlohmann::json links;
  for (auto [key, path] : {std::pair{"activities", "/Activities"}, std::pair{"events", "/Events"},
                           std::pair{"task_channels", "/TaskChannels"},
                           std::pair{"task_queues", "/TaskQueues"}, std::pair{"tasks", "/Tasks"},
                           std::pair{"workers", "/Workers"}, std::pair{"workflows", "/Workflows"},
                           std::pair{"statistics", "/Statistics"},
                           std::pair{"real_time_statistics", "/RealTimeStatistics"},
                           std::pair{"cumulative_statistics", "/CumulativeStatistics"}})
    links[key] = url + path;
  j["links"] = links;
  return j;
}

nlohmann::json to_json(const activity& x, const wire_context& ctx) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  j["friendly_name"] = x.friendly_name;
  j["available"] = x.available;
  j["url"] = ws_url(ctx) + "/Activities/" + x.sid;
  j["links"] = {{"workspace", ws_url(ctx)}};
  return j;
}

nlohmann::json to_json(const task_channel& x, const wire_context& ctx) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  j["friendly_name"] = x.friendly_name;
  j["unique_name"] = x.unique_name;
  j["channel_optimized_routing"] = x.channel_optimized_routing;
  j["url"] = ws_url(ctx) + "/TaskChannels/" + x.sid;
  j["links"] = {{"workspace", ws_url(ctx)}};
  return j;
}

nlohmann::json to_json(const task_queue& x, const wire_context& ctx) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  auto url = ws_url(ctx) + "/TaskQueues/" + x.sid;
  j["friendly_name"] = x.friendly_name;
  j["target_workers"] = x.target_workers;
  j["max_reserved_workers"] = x.max_reserved_workers;
  j["task_order"] = order_name(x.order);
  j["reservation_activity_sid"] = nullable(x.reservation_activity_sid);
  j["reservation_activity_name"] = nullable(x.reservation_activity_name);
  j["assignment_activity_sid"] = nullable(x.assignment_activity_sid);
  j["assignment_activity_name"] = nullable(x.assignment_activity_name);
  j["url"] = url;
  j["links"] = {{"workspace", ws_url(ctx)},
                {"statistics", url + "/Statistics"},
                {"real_time_statistics", url + "/RealTimeStatistics"},
                {"cumulative_statistics", url + "/CumulativeStatistics"},
                {"list_statistics", ws_url(ctx) + "/TaskQueues/Statistics"}};
  return j;
}

nlohmann::json to_json(const worker& x, const wire_context& ctx) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  auto url = ws_url(ctx) + "/Workers/" + x.sid;
  j["friendly_name"] = x.friendly_name;
  j["activity_sid"] = x.activity_sid;
  j["activity_name"] = x.activity_name;
  j["available"] = x.available;
  j["attributes"] = x.attributes;
  j["date_status_changed"] = iso8601(x.status_changed);
  j["url"] = url;
  j["links"] = {{"workspace", ws_url(ctx)},
                {"activity", ws_url(ctx) + "/Activities/" + x.activity_sid},
                {"channels", url + "/Channels"},
                {"reservations", url + "/Reservations"},
                {"worker_statistics", url + "/Statistics"}};
  return j;
}

nlohmann::json to_json(const worker_channel& x, const std::string& worker_sid,
                       const wire_context& ctx) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  j["worker_sid"] = worker_sid;
  j["task_channel_sid"] = x.task_channel_sid;
  j["task_channel_unique_name"] = x.task_channel_unique_name;
  j["configured_capacity"] = x.configured_capacity;
  j["assigned_tasks"] = x.assigned_tasks;
  j["available"] = x.available;
  j["available_capacity_percentage"] = x.available_capacity_percentage();
  j["url"] = ws_url(ctx) + "/Workers/" + worker_sid + "/Channels/" + x.sid;
  return j;
}

nlohmann::json to_json(const workflow& x, const wire_context& ctx) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  auto url = ws_url(ctx) + "/Workflows/" + x.sid;
  j["friendly_name"] = x.friendly_name;
  j["configuration"] = x.configuration;
  j["assignment_callback_url"] = nullable(x.assignment_callback_url);
  j["fallback_assignment_callback_url"] = nullable(x.fallback_assignment_callback_url);
  j["task_reservation_timeout"] = x.task_reservation_timeout;
  j["document_content_type"] = "application/json";
  j["url"] = url;
  j["links"] = {{"workspace", ws_url(ctx)},
                {"statistics", url + "/Statistics"},
                {"real_time_statistics", url + "/RealTimeStatistics"},
                {"cumulative_statistics", url + "/CumulativeStatistics"}};
  return j;
}

nlohmann::json to_json(const task& x, const wire_context& ctx) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  auto url = ws_url(ctx) + "/Tasks/" + x.sid;
  auto age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                              x.created).count();
  j["age"] = age < 0 ? 0 : age;
  j["assignment_status"] = to_string(x.status);
  j["attributes"] = x.attributes;
  j["addons"] = "{}";
  j["priority"] = x.priority;
  j["reason"] = nullable(x.reason);
  j["timeout"] = x.timeout;
  j["task_queue_sid"] = nullable(x.queue_sid);
  j["task_queue_friendly_name"] = nullable(x.queue_friendly_name);
  j["task_queue_entered_date"] = x.queue_sid.empty() ? nlohmann::json() : nlohmann::json(iso8601(x.queue_entered));
  j["task_channel_sid"] = x.task_channel_sid;
  j["task_channel_unique_name"] = x.task_channel_unique_name;
  j["workflow_sid"] = nullable(x.workflow_sid);
  j["workflow_friendly_name"] = nullable(x.workflow_friendly_name);
  j["virtual_start_time"] = iso8601(x.virtual_start);
  j["ignore_capacity"] = x.ignore_capacity;
  j["routing_target"] = nullable(x.routing_target);
  j["url"] = url;
  nlohmann::json links{{"workspace", ws_url(ctx)}, {"reservations", url + "/Reservations"}};
  if (!x.workflow_sid.empty())
    links["workflow"] = ws_url(ctx) + "/Workflows/" + x.workflow_sid;
  if (!x.queue_sid.empty())
    links["task_queue"] = ws_url(ctx) + "/TaskQueues/" + x.queue_sid;
  j["links"] = links;
  return j;
}

nlohmann::json to_json(const reservation& x, const wire_context& ctx, bool worker_view) {
  auto j = base_fields(x.sid, x.created, x.updated, ctx);
  j["reservation_status"] = to_string(x.status);
  j["task_sid"] = x.task_sid;
  j["worker_sid"] = x.worker_sid;
  j["worker_name"] = x.worker_name;
  auto task_url = ws_url(ctx) + "/Tasks/" + x.task_sid;
  auto worker_url = ws_url(ctx) + "/Workers/" + x.worker_sid;
  j["url"] = (worker_view ? worker_url : task_url) + "/Reservations/" + x.sid;
  j["links"] = {{"task", task_url}, {"worker", worker_url}, {"workspace", ws_url(ctx)}};
  return j;
}

nlohmann::json to_json(const event& x, const wire_context& ctx) {
  nlohmann::json j{{"sid", x.sid},
                   {"account_sid", ctx.account_sid},
                   {"workspace_sid", ctx.workspace_sid},
                   {"event_type", x.event_type},
                   {"description", x.description},
                   {"resource_type", x.resource_type},
                   {"resource_sid", x.resource_sid},
                   {"actor_type", x.actor_type},
                   {"actor_sid", x.actor_sid},
                   {"actor_url", ws_url(ctx)},
                   {"event_data", data_object(x)},
                   {"event_date", iso8601(x.date)},
                   {"event_date_ms", epoch_ms(x.date)},
                   {"source", "switchboard"},
                   {"source_ip_address", nullptr},
                   {"url", ws_url(ctx) + "/Events/" + x.sid}};
  std::string res_url;
  if (x.resource_type == "task")
    res_url = ws_url(ctx) + "/Tasks/" + x.resource_sid;
  else if (x.resource_type == "worker")
    res_url = ws_url(ctx) + "/Workers/" + x.resource_sid;
  else if (x.resource_type == "reservation")
    res_url = ws_url(ctx) + "/Tasks/" + x.task_sid + "/Reservations/" + x.resource_sid;
  else if (x.resource_type == "workflow")
    res_url = ws_url(ctx) + "/Workflows/" + x.resource_sid;
  j["resource_url"] = res_url.empty() ? nlohmann::json() : nlohmann::json(res_url);
  return j;
}

} // namespace sb::model
