#include "model/workflow_config.hpp"

#include <climits>
#include <cstdint>
#include <sstream>

namespace sb::model {

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> split_path(std::string_view key) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : key) {
    if (c == '.') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

expected<std::shared_ptr<const expression>> parse_expr(const nlohmann::json& node,
                                                       const std::string& where) {
  if (!node.is_string())
    return invalid_parameter(where + " must be a string expression", 20001);
  auto e = expression::parse(node.get<std::string>());
  if (!e)
    return invalid_parameter(where + ": " + e.err().message, 20001);
  return std::make_shared<const expression>(std::move(*e));
}

expected<workflow_target> parse_target(const nlohmann::json& t, const std::string& where,
                                       const std::function<bool(const std::string&)>& queue_exists) {
  if (!t.is_object())
    return invalid_parameter(where + " must be an object");
  workflow_target out;
  auto q = t.find("queue");
  if (q == t.end() || !q->is_string())
    return invalid_parameter(where + ".queue is required");
  out.queue_sid = q->get<std::string>();
  if (!queue_exists(out.queue_sid))
    return invalid_parameter(where + ".queue " + out.queue_sid + " is not a TaskQueue of this workspace");
  for (auto it = t.begin(); it != t.end(); ++it) {
    const auto& k = it.key();
    const auto& v = it.value();
    if (k == "queue") {
      continue;
    } else if (k == "expression") {
      auto e = parse_expr(v, where + ".expression");
      if (!e)
        return e.err();
      out.worker_filter = *e;
    } else if (k == "skip_if") {
      auto e = parse_expr(v, where + ".skip_if");
      if (!e)
        return e.err();
      out.skip_if = *e;
    } else if (k == "priority") {
      bool fits_int = v.is_number_unsigned()
                        ? v.get<std::uint64_t>() <= std::uint64_t(INT_MAX)
                        : v.is_number_integer() && v.get<std::int64_t>() >= INT_MIN &&
                            v.get<std::int64_t>() <= INT_MAX;
      if (!fits_int)
        return invalid_parameter(where + ".priority must be an integer");
      out.priority = v.get<int>();
    } else if (k == "timeout") {
      if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > 31536000)
        return invalid_parameter(where + ".timeout must be a non-negative integer of seconds");
      out.timeout = v.get<int>();
    } else if (k == "order_by") {
      if (!v.is_string())
        return invalid_parameter(where + ".order_by must be a string");
      auto o = parse_order_by(v.get<std::string>());
      if (!o)
        return invalid_parameter(where + ".order_by: " + o.err().message);
      out.order_by = std::move(*o);
    } else if (k == "known_worker_sid") {
      if (!v.is_string())
        return invalid_parameter(where + ".known_worker_sid must be a string");
      out.known_worker_sid = v.get<std::string>();
    } else if (k == "known_worker_friendly_name") {
      if (!v.is_string())
        return invalid_parameter(where + ".known_worker_friendly_name must be a string");
      out.known_worker_friendly_name = v.get<std::string>();
    } else {
      return invalid_parameter(where + " has an unknown key '" + k + "'");
    }
  }
  return out;
}

} // namespace

expected<std::vector<order_clause>> parse_order_by(std::string_view text) {
  std::vector<order_clause> out;
  std::string s(text);
  std::stringstream ss(s);
  std::string clause;
  while (std::getline(ss, clause, ',')) {
    std::stringstream cs(clause);
    std::string key, dir, extra;
    cs >> key >> dir >> extra;
    if (key.empty() || !extra.empty())
      return invalid_parameter("order_by clause '" + clause + "' must be 'worker.<key> [ASC|DESC]'");
    order_clause oc;
    auto path = split_path(key);
    if (path.size() < 2 || path.front() != "worker")
      return invalid_parameter("order_by key '" + key + "' must start with worker.");
    path.erase(path.begin());
    for (auto& p : path)
      if (p.empty())
        return invalid_parameter("order_by key '" + key + "' has an empty segment");
    oc.path = std::move(path);
    auto d = lower(dir);
    if (d.empty() || d == "asc")
      oc.descending = false;
    else if (d == "desc")
      oc.descending = true;
    else
      return invalid_parameter("order_by direction '" + dir + "' must be ASC or DESC");
    out.push_back(std::move(oc));
  }
  if (out.empty())
    return invalid_parameter("order_by is empty");
  return out;
}

int workflow_config::select_filter(const nlohmann::json& attrs) const {
  expression_context ctx;
  ctx.task = &attrs;
  ctx.default_scope = "task";
  for (size_t i = 0; i < filters.size(); ++i)
    if (!filters[i].match || filters[i].match->evaluate(ctx))
      return static_cast<int>(i);
  return -1;
}

expected<workflow_config> parse_workflow_config(
  std::string_view json_text, const std::function<bool(const std::string&)>& queue_exists) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return invalid_parameter("Configuration is not a valid JSON object");
  auto tr = doc.find("task_routing");
  if (tr == doc.end() || !tr->is_object())
    return invalid_parameter("Configuration.task_routing is required");
  workflow_config out;
  if (auto f = tr->find("filters"); f != tr->end()) {
    if (!f->is_array())
      return invalid_parameter("task_routing.filters must be an array");
    for (size_t i = 0; i < f->size(); ++i) {
      const auto& node = (*f)[i];
      std::string where = "task_routing.filters[" + std::to_string(i) + "]";
      if (!node.is_object())
        return invalid_parameter(where + " must be an object");
      workflow_filter wf;
      if (auto n = node.find("filter_friendly_name"); n != node.end() && n->is_string())
        wf.friendly_name = n->get<std::string>();
      else if (auto n2 = node.find("friendly_name"); n2 != node.end() && n2->is_string())
        wf.friendly_name = n2->get<std::string>();
      auto ex = node.find("expression");
      if (ex == node.end())
        return invalid_parameter(where + ".expression is required");
      auto e = parse_expr(*ex, where + ".expression");
      if (!e)
        return e.err();
      wf.match = *e;
      auto ts = node.find("targets");
      if (ts == node.end() || !ts->is_array() || ts->empty())
        return invalid_parameter(where + ".targets must be a non-empty array");
      for (size_t j = 0; j < ts->size(); ++j) {
        auto t = parse_target((*ts)[j], where + ".targets[" + std::to_string(j) + "]", queue_exists);
        if (!t)
          return t.err();
        wf.targets.push_back(std::move(*t));
      }
      out.filters.push_back(std::move(wf));
    }
  }
  if (auto d = tr->find("default_filter"); d != tr->end() && !d->is_null()) {
    auto t = parse_target(*d, "task_routing.default_filter", queue_exists);
    if (!t)
      return t.err();
    out.default_target = std::move(*t);
  }
  if (out.filters.empty() && !out.default_target)
    return invalid_parameter("task_routing needs at least one filter or a default_filter");
  return out;
}

std::string resolve_known_worker(const std::string& spec, const nlohmann::json& attrs) {
  if (spec.rfind("task.", 0) != 0)
    return spec;
  const nlohmann::json* cur = &attrs;
  auto path = split_path(std::string_view(spec).substr(5));
  for (auto& p : path) {
    if (!cur->is_object())
      return {};
    auto it = cur->find(p);
    if (it == cur->end())
      return {};
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : std::string{};
}

} // namespace sb::model
