#pragma once
// A workflow's task_routing configuration: filters tried in order, each with
// ordered targets; the first matching filter wins, else default_filter.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/error.hpp"
#include "model/expression.hpp"

namespace sb::model {

// One "worker.attr DESC" clause of a target's order_by.
struct order_clause {
  std::vector<std::string> path; // path inside the worker's attributes
  bool descending = false;
};

// Parses "worker.a DESC, worker.b ASC"; the default direction is ASC.
expected<std::vector<order_clause>> parse_order_by(std::string_view text);

struct workflow_target {
  std::string queue_sid;
  std::shared_ptr<const expression> worker_filter; // "expression"; null = every worker
  std::optional<int> priority;                     // rewrites the task's priority
  std::optional<int> timeout;                      // seconds in this target
  std::vector<order_clause> order_by;
  std::shared_ptr<const expression> skip_if;       // against {"workers": {"available": n}}
  std::string known_worker_sid;                    // a SID or a task.* key naming one
  std::string known_worker_friendly_name;          // a name or a task.* key naming one
};

struct workflow_filter {
  std::string friendly_name;
  std::shared_ptr<const expression> match; // against the task's attributes
  std::vector<workflow_target> targets;
};

struct workflow_config {
  std::vector<workflow_filter> filters;
  std::optional<workflow_target> default_target;

  // Index of the first filter matching the task's attributes, or -1 when only
  // the default applies.
  int select_filter(const nlohmann::json& task_attributes) const;
};

// Parses and validates Twilio's workflow JSON. queue_exists says whether a
// TaskQueue SID belongs to the workspace. Errors name the offending part.
expected<workflow_config> parse_workflow_config(
  std::string_view json_text, const std::function<bool(const std::string&)>& queue_exists);

// Resolves a known_worker_* setting: a "task." key is looked up in the task's
// attributes; anything else is taken literally.
std::string resolve_known_worker(const std::string& spec, const nlohmann::json& task_attributes);

} // namespace sb::model
