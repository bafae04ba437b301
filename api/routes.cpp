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

// A table's patterns, split once: one cache per route type (each table
// has its own).
template <class Route>
const std::vector<std::vector<std::string_view>>& patterns_of(const std::vector<Route>& table) {
  static const auto v = [&] {
    std::vector<std::vector<std::string_view>> out;
    for (auto& r : table)
      out.push_back(segments(r.pattern));
    return out;
  }();
  return v;
}

// The i-th SID segment of a match, or "".
std::string nth(const std::vector<std::string_view>& sids, std::size_t i) {
  return i < sids.size() ? std::string(sids[i]) : std::string();
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

// The first route of table whose pattern and method fit: its index, with the
// SID segments in sids. Routes whose pattern fits under another method add
// that method to allowed.
template <class Table>
std::optional<std::size_t> scan(const Table& table, const std::vector<std::vector<std::string_view>>& pats,
                                verb method, std::string_view path, std::vector<std::string_view>& sids,
                                std::string& allowed) {
  allowed.clear();
  auto segs = segments(path);
  for (size_t i = 0; i < table.size(); ++i) {
    auto& r = table[i];
    if (!match(pats[i], segs, sids))
      continue;
    if (r.method != method) {
      auto name = std::string(boost::beast::http::to_string(r.method));
      if (allowed.find(name) == std::string::npos)
        allowed += (allowed.empty() ? "" : ", ") + name;
      continue;
    }
    return i;
  }
  return std::nullopt;
}

} // namespace

std::optional<route_match> match_taskrouter(verb method, std::string_view path,
                                            std::string& allowed) {
  std::vector<std::string_view> sids;
  if (auto i = scan(table(), patterns_of(table()), method, path, sids, allowed)) {
    auto& r = table()[*i];
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

namespace {

struct cv_route {
  verb method;
  const char* pattern;
  actors::cv_op op;
  const char* list_key;
};

// Conversation routes exist twice: under the account's default service
// (/v1/Conversations/...) and under a named one (/v1/Services/{IS}/Conversations/...).
const std::vector<cv_route>& cv_table() {
  using actors::cv_op;
  static const std::vector<cv_route> t = [] {
    std::vector<cv_route> out{
      {verb::get, "/v1/Configuration", cv_op::config_fetch, nullptr},
      {verb::post, "/v1/Configuration", cv_op::config_update, nullptr},
      {verb::get, "/v1/Configuration/Webhooks", cv_op::config_webhooks_fetch, nullptr},
      {verb::post, "/v1/Configuration/Webhooks", cv_op::config_webhooks_update, nullptr},
      {verb::get, "/v1/Configuration/Addresses", cv_op::address_list, "address_configurations"},
      {verb::post, "/v1/Configuration/Addresses", cv_op::address_create, nullptr},
      {verb::get, "/v1/Configuration/Addresses/*", cv_op::address_fetch, nullptr},
      {verb::post, "/v1/Configuration/Addresses/*", cv_op::address_update, nullptr},
      {verb::delete_, "/v1/Configuration/Addresses/*", cv_op::address_delete, nullptr},
      {verb::get, "/v1/Services", cv_op::service_list, "services"},
      {verb::post, "/v1/Services", cv_op::service_create, nullptr},
      {verb::get, "/v1/Services/*", cv_op::service_fetch, nullptr},
      {verb::delete_, "/v1/Services/*", cv_op::service_delete, nullptr},
      {verb::get, "/v1/Services/*/Configuration", cv_op::service_config_fetch, nullptr},
      {verb::post, "/v1/Services/*/Configuration", cv_op::service_config_update, nullptr},
      {verb::get, "/v1/Services/*/Configuration/Webhooks", cv_op::service_webhooks_fetch, nullptr},
      {verb::post, "/v1/Services/*/Configuration/Webhooks", cv_op::service_webhooks_update, nullptr},
    };
    static const std::vector<cv_route> scoped{
      {verb::get, "/Conversations", cv_op::conversation_list, "conversations"},
      {verb::post, "/Conversations", cv_op::conversation_create, nullptr},
      {verb::get, "/Conversations/*", cv_op::conversation_fetch, nullptr},
      {verb::post, "/Conversations/*", cv_op::conversation_update, nullptr},
      {verb::delete_, "/Conversations/*", cv_op::conversation_delete, nullptr},
      {verb::get, "/Conversations/*/Participants", cv_op::participant_list, "participants"},
      {verb::post, "/Conversations/*/Participants", cv_op::participant_create, nullptr},
      {verb::get, "/Conversations/*/Participants/*", cv_op::participant_fetch, nullptr},
      {verb::post, "/Conversations/*/Participants/*", cv_op::participant_update, nullptr},
      {verb::delete_, "/Conversations/*/Participants/*", cv_op::participant_delete, nullptr},
      {verb::get, "/Conversations/*/Messages", cv_op::message_list, "messages"},
      {verb::post, "/Conversations/*/Messages", cv_op::message_create, nullptr},
      {verb::get, "/Conversations/*/Messages/*", cv_op::message_fetch, nullptr},
      {verb::post, "/Conversations/*/Messages/*", cv_op::message_update, nullptr},
      {verb::delete_, "/Conversations/*/Messages/*", cv_op::message_delete, nullptr},
      {verb::get, "/Conversations/*/Messages/*/Receipts", cv_op::receipt_list, "delivery_receipts"},
      {verb::get, "/Conversations/*/Messages/*/Receipts/*", cv_op::receipt_fetch, nullptr},
      {verb::get, "/Conversations/*/Webhooks", cv_op::webhook_list, "webhooks"},
      {verb::post, "/Conversations/*/Webhooks", cv_op::webhook_create, nullptr},
      {verb::get, "/Conversations/*/Webhooks/*", cv_op::webhook_fetch, nullptr},
      {verb::post, "/Conversations/*/Webhooks/*", cv_op::webhook_update, nullptr},
      {verb::delete_, "/Conversations/*/Webhooks/*", cv_op::webhook_delete, nullptr},
    };
    // The patterns must outlive the table: keep their text in static storage.
    static std::vector<std::string> texts;
    texts.reserve(scoped.size() * 2);
    for (auto* prefix : {"/v1", "/v1/Services/*"})
      for (auto& r : scoped) {
        texts.push_back(std::string(prefix) + r.pattern);
        out.push_back({r.method, texts.back().c_str(), r.op, r.list_key});
      }
    return out;
  }();
  return t;
}

} // namespace

std::optional<cv_route_match> match_conversations(verb method, std::string_view path, std::string& allowed) {
  std::vector<std::string_view> sids;
  auto& pats = patterns_of(cv_table());
  if (auto i = scan(cv_table(), pats, method, path, sids, allowed)) {
    auto& r = cv_table()[*i];
    cv_route_match m{r.op, r.pattern, r.list_key, {}, {}, {}, {}};
    // Each SID segment is named by the literal segment before it.
    std::size_t k = 0;
    for (std::size_t j = 0; j < pats[*i].size(); ++j) {
      if (pats[*i][j] != "*")
        continue;
      auto owner = pats[*i][j - 1];
      auto value = std::string(sids[k++]);
      if (owner == "Services")
        m.service_sid = std::move(value);
      else if (owner == "Conversations")
        m.conversation = std::move(value);
      else if (owner == "Receipts")
        m.sub_sid = std::move(value);
      else
        m.sid = std::move(value);
    }
    return m;
  }
  return std::nullopt;
}

namespace {

struct ix_route {
  verb method;
  const char* pattern;
  actors::ix_op op;
  const char* list_key;
};

const std::vector<ix_route>& ix_table() {
  using actors::ix_op;
  static const std::vector<ix_route> t{
    {verb::get, "/v1/Interactions", ix_op::interaction_list, "interactions"},
    {verb::post, "/v1/Interactions", ix_op::interaction_create, nullptr},
    {verb::get, "/v1/Interactions/*", ix_op::interaction_fetch, nullptr},
    {verb::post, "/v1/Interactions/*", ix_op::interaction_update, nullptr},
    {verb::get, "/v1/Interactions/*/Channels", ix_op::channel_list, "channels"},
    {verb::get, "/v1/Interactions/*/Channels/*", ix_op::channel_fetch, nullptr},
    {verb::post, "/v1/Interactions/*/Channels/*", ix_op::channel_update, nullptr},
    {verb::get, "/v1/Interactions/*/Channels/*/Participants", ix_op::participant_list, "participants"},
    {verb::post, "/v1/Interactions/*/Channels/*/Participants", ix_op::participant_create, nullptr},
    {verb::post, "/v1/Interactions/*/Channels/*/Participants/*", ix_op::participant_update, nullptr},
    {verb::get, "/v1/Interactions/*/Channels/*/Invites", ix_op::invite_list, "invites"},
    {verb::post, "/v1/Interactions/*/Channels/*/Invites", ix_op::invite_create, nullptr},
    {verb::post, "/v2/WebChats", ix_op::web_chat_create, nullptr},
  };
  return t;
}

} // namespace

std::optional<ix_route_match> match_flex(verb method, std::string_view path, std::string& allowed) {
  std::vector<std::string_view> sids;
  if (auto i = scan(ix_table(), patterns_of(ix_table()), method, path, sids, allowed)) {
    auto& r = ix_table()[*i];
    return ix_route_match{r.op, r.pattern, r.list_key, nth(sids, 0), nth(sids, 1), nth(sids, 2)};
  }
  return std::nullopt;
}

namespace {

struct st_route {
  verb method;
  const char* pattern;
  actors::st_op op;
  const char* list_key;
};

// Flows/Validate comes before Flows/{Sid}, which it would match.
const std::vector<st_route>& st_table() {
  using actors::st_op;
  static const std::vector<st_route> t{
    {verb::post, "/v2/Flows/Validate", st_op::flow_validate, nullptr},
    {verb::get, "/v2/Flows", st_op::flow_list, "flows"},
    {verb::post, "/v2/Flows", st_op::flow_create, nullptr},
    {verb::get, "/v2/Flows/*", st_op::flow_fetch, nullptr},
    {verb::post, "/v2/Flows/*", st_op::flow_update, nullptr},
    {verb::delete_, "/v2/Flows/*", st_op::flow_delete, nullptr},
    {verb::get, "/v2/Flows/*/Revisions", st_op::revision_list, "revisions"},
    {verb::get, "/v2/Flows/*/Revisions/*", st_op::revision_fetch, nullptr},
    {verb::get, "/v2/Flows/*/Executions", st_op::execution_list, "executions"},
    {verb::post, "/v2/Flows/*/Executions", st_op::execution_create, nullptr},
    {verb::get, "/v2/Flows/*/Executions/*", st_op::execution_fetch, nullptr},
    {verb::post, "/v2/Flows/*/Executions/*", st_op::execution_update, nullptr},
    {verb::delete_, "/v2/Flows/*/Executions/*", st_op::execution_delete, nullptr},
    {verb::get, "/v2/Flows/*/Executions/*/Context", st_op::execution_context, nullptr},
    {verb::get, "/v2/Flows/*/Executions/*/Steps", st_op::step_list, "steps"},
    {verb::get, "/v2/Flows/*/Executions/*/Steps/*", st_op::step_fetch, nullptr},
    {verb::get, "/v2/Flows/*/Executions/*/Steps/*/Context", st_op::step_context, nullptr},
  };
  return t;
}

} // namespace

std::optional<st_route_match> match_studio(verb method, std::string_view path, std::string& allowed) {
  std::vector<std::string_view> sids;
  if (auto i = scan(st_table(), patterns_of(st_table()), method, path, sids, allowed)) {
    auto& r = st_table()[*i];
    return st_route_match{r.op, r.pattern, r.list_key, nth(sids, 0), nth(sids, 1), nth(sids, 2)};
  }
  return std::nullopt;
}

namespace {

struct media_route {
  verb method;
  const char* pattern;
  actors::media_op op;
};

const std::vector<media_route>& media_table() {
  using actors::media_op;
  static const std::vector<media_route> t{
    {verb::post, "/v1/Services/*/Media", media_op::upload},
    {verb::get, "/v1/Services/*/Media/*", media_op::fetch},
    {verb::delete_, "/v1/Services/*/Media/*", media_op::remove},
    {verb::get, "/v1/Services/*/Media/*/Content", media_op::content},
  };
  return t;
}

} // namespace

std::optional<media_route_match> match_media(verb method, std::string_view path, std::string& allowed) {
  std::vector<std::string_view> sids;
  if (auto i = scan(media_table(), patterns_of(media_table()), method, path, sids, allowed)) {
    auto& r = media_table()[*i];
    media_route_match m{r.op, r.pattern, std::string(sids[0]), {}};
    if (sids.size() > 1)
      m.sid = std::string(sids[1]);
    return m;
  }
  return std::nullopt;
}

bool is_media_upload(verb method, std::string_view target) {
  if (method != verb::post)
    return false;
  auto path = target.substr(0, target.find('?'));
  for (std::string_view prefix : {"/mcs", "/conversations"})
    if (path.substr(0, prefix.size()) == prefix && path.substr(prefix.size(), 4) == "/v1/") {
      path.remove_prefix(prefix.size());
      break;
    }
  std::string allowed;
  auto m = match_media(method, path, allowed);
  return m && m->op == actors::media_op::upload;
}

} // namespace sb::api
