#pragma once
// TaskRouter resources in Twilio's JSON wire form: snake_case keys, ISO-8601
// dates, absolute `url` and `links` built from a public base URL.

#include <string>

#include <nlohmann/json.hpp>

#include "model/taskrouter.hpp"

namespace sb::model {

// Where a resource lives: base is e.g. "https://taskrouter.twilio.com".
struct wire_context {
  std::string base;
  std::string account_sid;
  std::string workspace_sid;
};

nlohmann::json to_json(const workspace& x, const wire_context& ctx);
nlohmann::json to_json(const activity& x, const wire_context& ctx);
nlohmann::json to_json(const task_channel& x, const wire_context& ctx);
nlohmann::json to_json(const task_queue& x, const wire_context& ctx);
nlohmann::json to_json(const worker& x, const wire_context& ctx);
nlohmann::json to_json(const worker_channel& x, const std::string& worker_sid,
                       const wire_context& ctx);
nlohmann::json to_json(const workflow& x, const wire_context& ctx);
nlohmann::json to_json(const task& x, const wire_context& ctx);
// A reservation seen from its task (task view) or its worker (worker view).
nlohmann::json to_json(const reservation& x, const wire_context& ctx, bool worker_view);
nlohmann::json to_json(const event& x, const wire_context& ctx);

} // namespace sb::model
