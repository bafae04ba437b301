#include "api/routes.hpp"

#include <vector>

namespace sb::api {

namespace {

using boost::beast::http::verb;
using actors::tr_op;

struct route {
  verb method;
  const char* pattern; // "*" matches one SID segment
  tr_op op;
  const char* list_key;
};

// Order matters: literal routes come before the {Sid} routes they shadow.
const std::vector<route>& table() {
  static const std::vector<route> t{
    {verb::get, "/v1/Workspaces", tr_op::workspace_list, "workspaces"},
    {verb::post, "/v1/Workspaces", tr_op::workspace_create, nullptr},
    {verb::get, "/v1/Workspaces/*", tr_op::workspace_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*", tr_op::workspace_update, nullptr},
    {verb::delete_, "/v1/Workspaces/*", tr_op::workspace_delete, nullptr},
    {verb::get, "/v1/Workspaces/*/Statistics", tr_op::workspace_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/RealTimeStatistics", tr_op::workspace_realtime_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/CumulativeStatistics", tr_op::workspace_cumulative_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Activities", tr_op::activity_list, "activities"},
    {verb::post, "/v1/Workspaces/*/Activities", tr_op::activity_create, nullptr},
    {verb::get, "/v1/Workspaces/*/Activities/*", tr_op::activity_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/Activities/*", tr_op::activity_update, nullptr},
    {verb::delete_, "/v1/Workspaces/*/Activities/*", tr_op::activity_delete, nullptr},
    {verb::get, "/v1/Workspaces/*/TaskChannels", tr_op::channel_list, "channels"},
    {verb::post, "/v1/Workspaces/*/TaskChannels", tr_op::channel_create, nullptr},
    {verb::get, "/v1/Workspaces/*/TaskChannels/*", tr_op::channel_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/TaskChannels/*", tr_op::channel_update, nullptr},
    {verb::delete_, "/v1/Workspaces/*/TaskChannels/*", tr_op::channel_delete, nullptr},
    {verb::get, "/v1/Workspaces/*/TaskQueues/Statistics", tr_op::queues_statistics, "task_queues_statistics"},
    {verb::get, "/v1/Workspaces/*/TaskQueues", tr_op::queue_list, "task_queues"},
    {verb::post, "/v1/Workspaces/*/TaskQueues", tr_op::queue_create, nullptr},
    {verb::get, "/v1/Workspaces/*/TaskQueues/*", tr_op::queue_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/TaskQueues/*", tr_op::queue_update, nullptr},
    {verb::delete_, "/v1/Workspaces/*/TaskQueues/*", tr_op::queue_delete, nullptr},
    {verb::get, "/v1/Workspaces/*/TaskQueues/*/Statistics", tr_op::queue_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/TaskQueues/*/RealTimeStatistics", tr_op::queue_realtime_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/TaskQueues/*/CumulativeStatistics", tr_op::queue_cumulative_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers/Statistics", tr_op::workers_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers/RealTimeStatistics", tr_op::workers_realtime_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers/CumulativeStatistics", tr_op::workers_cumulative_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers", tr_op::worker_list, "workers"},
    {verb::post, "/v1/Workspaces/*/Workers", tr_op::worker_create, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers/*", tr_op::worker_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/Workers/*", tr_op::worker_update, nullptr},
    {verb::delete_, "/v1/Workspaces/*/Workers/*", tr_op::worker_delete, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers/*/Statistics", tr_op::worker_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers/*/Channels", tr_op::worker_channel_list, "channels"},
    {verb::get, "/v1/Workspaces/*/Workers/*/Channels/*", tr_op::worker_channel_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/Workers/*/Channels/*", tr_op::worker_channel_update, nullptr},
    {verb::get, "/v1/Workspaces/*/Workers/*/Reservations", tr_op::worker_reservation_list, "reservations"},
    {verb::get, "/v1/Workspaces/*/Workers/*/Reservations/*", tr_op::worker_reservation_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/Workers/*/Reservations/*", tr_op::worker_reservation_update, nullptr},
    {verb::get, "/v1/Workspaces/*/Workflows", tr_op::workflow_list, "workflows"},
    {verb::post, "/v1/Workspaces/*/Workflows", tr_op::workflow_create, nullptr},
    {verb::get, "/v1/Workspaces/*/Workflows/*", tr_op::workflow_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/Workflows/*", tr_op::workflow_update, nullptr},
    {verb::delete_, "/v1/Workspaces/*/Workflows/*", tr_op::workflow_delete, nullptr},
    {verb::get, "/v1/Workspaces/*/Workflows/*/Statistics", tr_op::workflow_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Workflows/*/RealTimeStatistics", tr_op::workflow_realtime_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Workflows/*/CumulativeStatistics", tr_op::workflow_cumulative_statistics, nullptr},
    {verb::get, "/v1/Workspaces/*/Tasks", tr_op::task_list, "tasks"},
    {verb::post, "/v1/Workspaces/*/Tasks", tr_op::task_create, nullptr},
    {verb::get, "/v1/Workspaces/*/Tasks/*", tr_op::task_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/Tasks/*", tr_op::task_update, nullptr},
    {verb::delete_, "/v1/Workspaces/*/Tasks/*", tr_op::task_delete, nullptr},
    {verb::get, "/v1/Workspaces/*/Tasks/*/Reservations", tr_op::task_reservation_list, "reservations"},
    {verb::get, "/v1/Workspaces/*/Tasks/*/Reservations/*", tr_op::task_reservation_fetch, nullptr},
    {verb::post, "/v1/Workspaces/*/Tasks/*/Reservations/*", tr_op::task_reservation_update, nullptr},
    {verb::get, "/v1/Workspaces/*/Events", tr_op::event_list, "events"},
    {verb::get, "/v1/Workspaces/*/Events/*", tr_op::event_fetch, nullptr},
  };
  return t;
}

// Splits "/a/b/c" into {"a","b","c"}; a trailing slash is ignored.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash);
  }
  return out;
}

// Each route's pattern, split once.
const std::vector<std::vector<std::string_view>>& split_patterns() {
  static const auto v = [] {
    std::vector<std::vector<std::string_view>> out;
    for (auto& r : table())
      out.push_back(segments(r.pattern));
    return out;
  }();
  return v;
}

bool match(const std::vector<std::string_view>& pat, const std::vector<std::string_view>& segs,
           std::vector<std::string_view>& sids) {
  if (pat.size() != segs.size())
    return false;
  sids.clear();
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == "*") {
      if (segs[i].empty())
        return false;
      sids.push_back(segs[i]);
    } else if (pat[i] != segs[i]) {
      return false;
    }
  }
  return true;
}

} // namespace

std::optional<route_match> match_taskrouter(verb method, std::string_view path,
                                            std::string& allowed) {
  allowed.clear();
  auto segs = segments(path);
  std::vector<std::string_view> sids;
  auto& pats = split_patterns();
  for (size_t i = 0; i < table().size(); ++i) {
    auto& r = table()[i];
    if (!match(pats[i], segs, sids))
      continue;
    if (r.method != method) {
      auto name = std::string(boost::beast::http::to_string(r.method));
      if (allowed.find(name) == std::string::npos)
        allowed += (allowed.empty() ? "" : ", ") + name;
      continue;
    }
    route_match m{r.op, r.pattern, r.list_key, {}, {}, {}};
    if (sids.size() > 0)
      m.workspace_sid = std::string(sids[0]);
    if (sids.size() > 1)
      m.sid = std::string(sids[1]);
    if (sids.size() > 2)
      m.sub_sid = std::string(sids[2]);
    return m;
  }
  return std::nullopt;
}

} // namespace sb::api
