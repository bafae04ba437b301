// End-to-end API tests: each case starts the real switchboard binary on a free
// loopback port with a fresh data directory and drives it over HTTP the way a
// Twilio TaskRouter client would. Assertions follow Twilio's behaviour, not
// whatever the server happens to do.

#include "server_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

namespace {

using namespace sbtest;
using nlohmann::json;
namespace http = boost::beast::http;

const std::string hex32 = "0123456789abcdef0123456789abcdef";
const std::string other_account = "AC" + std::string("fedcba9876543210fedcba9876543210");
const std::string other_token = "token2";

// A server plus a client for its default account.
struct live_server {
  explicit live_server(std::vector<std::string> args = {})
      : srv(std::move(args)), api(srv.port(), srv.account_sid(), srv.auth_token()) {}
  server_process srv;
  api_client api;
};

// Checks a Twilio error answer: HTTP status, JSON {code, message, more_info, status}.
void check_error(const http_result& r, unsigned status, std::optional<int> code = std::nullopt) {
  INFO("status " << r.status << " body: " << r.body);
  REQUIRE(r.status == status);
  CHECK(r.header("content-type").rfind("application/json", 0) == 0);
  auto doc = json::parse(r.body, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  REQUIRE(doc.is_object());
  REQUIRE(doc.contains("code"));
  CHECK(doc["code"].is_number_integer());
  CHECK(doc["status"] == status);
  CHECK(doc["message"].is_string());
  CHECK(doc["more_info"].is_string());
  if (code)
    CHECK(doc["code"] == *code);
}

json ok_json(const http_result& r, unsigned status = 200) {
  INFO("status " << r.status << " body: " << r.body);
  REQUIRE(r.status == status);
  return r.json();
}

std::string ws_path(const std::string& ws) { return "/v1/Workspaces/" + ws; }

std::string create_workspace(api_client& api, const std::string& name) {
  auto doc = ok_json(api.post("/v1/Workspaces", {{"FriendlyName", name}}), 201);
  std::string sid = doc["sid"];
  REQUIRE(sid.rfind("WS", 0) == 0);
  return sid;
}

std::string activity_sid(api_client& api, const std::string& ws, const std::string& name) {
  auto doc = ok_json(api.get(ws_path(ws) + "/Activities", {{"FriendlyName", name}}));
  REQUIRE(doc["activities"].size() == 1);
  return doc["activities"][0]["sid"];
}

std::string create_queue(api_client& api, const std::string& ws, const std::string& name,
                         const std::string& target = "1==1") {
  auto doc = ok_json(api.post(ws_path(ws) + "/TaskQueues", {{"FriendlyName", name}, {"TargetWorkers", target}}), 201);
  std::string sid = doc["sid"];
  REQUIRE(sid.rfind("WQ", 0) == 0);
  return sid;
}

std::string routing_config(const std::string& queue, const std::string& expression = "type == 'support'") {
  json cfg{{"task_routing",
            {{"filters", json::array({{{"filter_friendly_name", "f"},
                                       {"expression", expression},
                                       {"targets", json::array({{{"queue", queue}}})}}})},
             {"default_filter", {{"queue", queue}}}}}};
  return cfg.dump();
}

std::string create_workflow(api_client& api, const std::string& ws, const std::string& name,
                            const std::string& queue) {
  auto doc = ok_json(api.post(ws_path(ws) + "/Workflows",
                              {{"FriendlyName", name}, {"Configuration", routing_config(queue)}}),
                     201);
  std::string sid = doc["sid"];
  REQUIRE(sid.rfind("WW", 0) == 0);
  return sid;
}

std::string create_worker(api_client& api, const std::string& ws, const std::string& name,
                          const std::string& activity = {}) {
  form f{{"FriendlyName", name}, {"Attributes", R"({"skills":["support"]})"}};
  if (!activity.empty())
    f.emplace_back("ActivitySid", activity);
  auto doc = ok_json(api.post(ws_path(ws) + "/Workers", f), 201);
  std::string sid = doc["sid"];
  REQUIRE(sid.rfind("WK", 0) == 0);
  return sid;
}

std::string create_task(api_client& api, const std::string& ws, const std::string& workflow,
                        const std::string& attributes = R"({"type":"support"})") {
  auto doc = ok_json(api.post(ws_path(ws) + "/Tasks", {{"WorkflowSid", workflow}, {"Attributes", attributes}}), 201);
  std::string sid = doc["sid"];
  REQUIRE(sid.rfind("WT", 0) == 0);
  return sid;
}

// The items of a list (first page, PageSize 1000).
json list(api_client& api, const std::string& path, const std::string& key, form query = {}) {
  query.emplace_back("PageSize", "1000");
  auto doc = ok_json(api.get(path, query));
  REQUIRE(doc["meta"]["key"] == key);
  REQUIRE(doc[key].is_array());
  return doc[key];
}

std::size_t count(api_client& api, const std::string& path, const std::string& key) {
  return list(api, path, key).size();
}

// A resource without the fields that move with the clock.
json stable(json doc) {
  doc.erase("age");
  return doc;
}

} // namespace

// ----------------------------------------------------------------- cases --

TEST_CASE("server: a task goes from creation to completion over HTTP", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "lifecycle");
  auto available = activity_sid(api, ws, "Available");
  auto queue = create_queue(api, ws, "support");
  auto workflow = create_workflow(api, ws, "main", queue);
  auto worker = create_worker(api, ws, "alice", available);

  auto wdoc = ok_json(api.get(ws_path(ws) + "/Workers/" + worker));
  CHECK(wdoc["activity_sid"] == available);
  CHECK(wdoc["available"] == true);

  auto created = ok_json(api.post(ws_path(ws) + "/Tasks", {{"WorkflowSid", workflow},
                                                           {"Attributes", R"({"type":"support"})"}}),
                         201);
  std::string task = created["sid"];
  CHECK(created["workflow_sid"] == workflow);
  CHECK(created["url"] == std::string(api_client::public_base) + ws_path(ws) + "/Tasks/" + task);
  auto task_path = ws_path(ws) + "/Tasks/" + task;

  json tdoc;
  REQUIRE(eventually([&] {
    tdoc = ok_json(api.get(task_path));
    return tdoc["assignment_status"] == "reserved";
  }));
  CHECK(tdoc["task_queue_sid"] == queue);

  // The task's reservation names the worker.
  auto res = list(api, task_path + "/Reservations", "reservations");
  REQUIRE(res.size() == 1);
  CHECK(res[0]["reservation_status"] == "pending");
  CHECK(res[0]["worker_sid"] == worker);
  CHECK(res[0]["task_sid"] == task);
  std::string reservation = res[0]["sid"];
  REQUIRE(reservation.rfind("WR", 0) == 0);

  // The worker sees the same reservation.
  auto wres = list(api, ws_path(ws) + "/Workers/" + worker + "/Reservations", "reservations");
  REQUIRE(wres.size() == 1);
  CHECK(wres[0]["sid"] == reservation);

  auto channel_path = ws_path(ws) + "/Workers/" + worker + "/Channels/default";
  CHECK(ok_json(api.get(channel_path))["assigned_tasks"] == 1);

  auto accepted = ok_json(api.post(task_path + "/Reservations/" + reservation, {{"ReservationStatus", "accepted"}}));
  CHECK(accepted["sid"] == reservation);
  CHECK(accepted["reservation_status"] == "accepted");

  REQUIRE(eventually([&] { return ok_json(api.get(task_path))["assignment_status"] == "assigned"; }));
  CHECK(ok_json(api.get(task_path + "/Reservations/" + reservation))["reservation_status"] == "accepted");

  auto wrapping = ok_json(api.post(task_path, {{"AssignmentStatus", "wrapping"}}));
  CHECK(wrapping["assignment_status"] == "wrapping");
  // Wrap-up still holds the worker's capacity.
  CHECK(ok_json(api.get(channel_path))["assigned_tasks"] == 1);
  auto completed = ok_json(api.post(task_path, {{"AssignmentStatus", "completed"}, {"Reason", "done"}}));
  CHECK(completed["assignment_status"] == "completed");
  CHECK(completed["reason"] == "done");
  CHECK(ok_json(api.get(task_path))["assignment_status"] == "completed");

  REQUIRE(eventually([&] { return ok_json(api.get(channel_path))["assigned_tasks"] == 0; }));
  CHECK(ok_json(api.get(channel_path))["available_capacity_percentage"] == 100);
  CHECK(ok_json(api.get(task_path + "/Reservations/" + reservation))["reservation_status"] == "completed");

  auto cumulative = ok_json(api.get(ws_path(ws) + "/CumulativeStatistics"));
  CHECK(cumulative["tasks_created"] == 1);
  CHECK(cumulative["tasks_completed"] == 1);
  CHECK(cumulative["reservations_created"] == 1);
  CHECK(cumulative["reservations_accepted"] == 1);

  auto events = list(api, ws_path(ws) + "/Events", "events");
  std::set<std::string> types;
  for (auto& e : events) {
    INFO(e.dump());
    types.insert(e["event_type"].get<std::string>());
    CHECK(e["event_data"].is_object());
    CHECK(e["sid"].get<std::string>().rfind("EV", 0) == 0);
  }
  for (auto t : {"task.created", "reservation.created", "reservation.accepted", "task.completed"}) {
    INFO(t);
    CHECK(types.count(t) == 1);
  }
  auto by_type = [&](const std::string& type) {
    for (auto& e : events)
      if (e["event_type"] == type)
        return e;
    return json();
  };
  CHECK(by_type("task.created")["resource_sid"] == task);
  CHECK(by_type("task.completed")["resource_sid"] == task);
  CHECK(by_type("reservation.created")["resource_sid"] == reservation);
  CHECK(by_type("reservation.accepted")["resource_sid"] == reservation);
}

TEST_CASE("server: wrong credentials get 401 with code 20003 and change nothing", "[api]") {
  live_server s;
  auto& api = s.api;
  auto port = s.srv.port();
  auto sid = s.srv.account_sid();
  auto token = s.srv.auth_token();
  REQUIRE(sid.rfind("AC", 0) == 0);
  REQUIRE(sid.size() == 34);
  CHECK(s.srv.file_sid() == sid);
  CHECK(s.srv.file_token() == token);

  auto ws = create_workspace(api, "guarded");
  auto queues_path = ws_path(ws) + "/TaskQueues";

  std::vector<std::pair<std::string, std::optional<std::string>>> cases{
    {"wrong token", basic_auth(sid, token + "x")},
    {"unknown account", basic_auth("AC" + hex32, token)},
    {"missing header", std::nullopt},
    {"not base64", "Basic !!!not-base64!!!"},
    {"no colon", "Basic " + base64(sid + token)},
    {"bearer scheme", "Bearer " + token},
    {"empty basic", "Basic "},
    {"empty password", basic_auth(sid, "")},
  };
  http_connection conn{port};
  for (auto& [what, header] : cases) {
    INFO(what);
    std::vector<std::pair<std::string, std::string>> h{{"Content-Type", "application/x-www-form-urlencoded"}};
    if (header)
      h.emplace_back("Authorization", *header);
    auto r = conn.send(http::verb::post, "/v1/Workspaces", "FriendlyName=intruder", h);
    check_error(r, 401, 20003);
    CHECK(r.header("www-authenticate").rfind("Basic", 0) == 0);

    r = conn.send(http::verb::post, queues_path, "FriendlyName=intruder", h);
    check_error(r, 401, 20003);
    CHECK(r.has_header("www-authenticate"));

    std::vector<std::pair<std::string, std::string>> g;
    if (header)
      g.emplace_back("Authorization", *header);
    r = conn.send(http::verb::get, "/v1/Workspaces", {}, g);
    check_error(r, 401, 20003);
    r = conn.send(http::verb::delete_, ws_path(ws), {}, g);
    check_error(r, 401, 20003);
  }

  // Nothing was created or deleted.
  auto all = list(api, "/v1/Workspaces", "workspaces");
  REQUIRE(all.size() == 1);
  CHECK(all[0]["sid"] == ws);
  CHECK(count(api, queues_path, "task_queues") == 0);
}

TEST_CASE("server: another account's workspace is indistinguishable from an unknown one", "[api]") {
  live_server s{{"--account", other_account + ":" + other_token}};
  auto& one = s.api;
  api_client two{s.srv.port(), other_account, other_token};

  auto ws1 = create_workspace(one, "account one");
  auto queue1 = create_queue(one, ws1, "q1");
  auto unknown = "WS" + hex32;

  // Account two is a real account.
  auto two_list = ok_json(two.get("/v1/Workspaces"));
  CHECK(two_list["workspaces"].empty());
  // Account one's SID with account two's token is not a valid login.
  http_connection conn{s.srv.port()};
  check_error(conn.send(http::verb::get, "/v1/Workspaces", {}, {{"Authorization", basic_auth(s.srv.account_sid(), other_token)}}),
              401, 20003);

  struct probe {
    std::string what;
    http::verb method;
    std::string suffix;
    form params;
  };
  std::vector<probe> probes{
    {"fetch workspace", http::verb::get, "", {}},
    {"update workspace", http::verb::post, "", {{"FriendlyName", "stolen"}}},
    {"delete workspace", http::verb::delete_, "", {}},
    {"list queues", http::verb::get, "/TaskQueues", {}},
    {"fetch queue", http::verb::get, "/TaskQueues/" + queue1, {}},
    {"create queue", http::verb::post, "/TaskQueues", {{"FriendlyName", "q2"}}},
    {"list activities", http::verb::get, "/Activities", {}},
    {"statistics", http::verb::get, "/Statistics", {}},
  };
  auto call = [&](const std::string& ws, const probe& p) {
    auto path = ws_path(ws) + p.suffix;
    if (p.method == http::verb::get)
      return two.get(path, p.params);
    if (p.method == http::verb::post)
      return two.post(path, p.params);
    return two.del(path);
  };
  for (auto& p : probes) {
    INFO(p.what);
    auto foreign = call(ws1, p);
    auto missing = call(unknown, p);
    check_error(foreign, 404, 20404);
    check_error(missing, 404, 20404);
    auto a = foreign.json(), b = missing.json();
    CHECK(a["status"] == b["status"]);
    CHECK(a["code"] == b["code"]);
    CHECK(a["message"] == b["message"]);
  }

  // Account two sees none of account one's workspaces and changed nothing.
  CHECK(ok_json(two.get("/v1/Workspaces"))["workspaces"].empty());
  auto ws_doc = ok_json(one.get(ws_path(ws1)));
  CHECK(ws_doc["friendly_name"] == "account one");
  auto queues = list(one, ws_path(ws1) + "/TaskQueues", "task_queues");
  REQUIRE(queues.size() == 1);
  CHECK(queues[0]["sid"] == queue1);

  // Names are per account: account two can use the same name, and the lists stay apart.
  auto ws2 = create_workspace(two, "account one");
  auto mine = list(two, "/v1/Workspaces", "workspaces");
  REQUIRE(mine.size() == 1);
  CHECK(mine[0]["sid"] == ws2);
  CHECK(mine[0]["account_sid"] == other_account);
  auto theirs = list(one, "/v1/Workspaces", "workspaces");
  REQUIRE(theirs.size() == 1);
  CHECK(theirs[0]["sid"] == ws1);
  check_error(one.get(ws_path(ws2)), 404, 20404);
  // Account one's queue SID is unknown inside account two's workspace too.
  check_error(two.get(ws_path(ws2) + "/TaskQueues/" + queue1), 404, 20404);
  check_error(two.post(ws_path(ws2) + "/TaskQueues/" + queue1, {{"FriendlyName", "stolen"}}), 404, 20404);
  CHECK(ok_json(one.get(ws_path(ws1) + "/TaskQueues/" + queue1))["friendly_name"] == "q1");
}

TEST_CASE("server: unknown SIDs are 404, unknown paths 404, wrong methods 405", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "lookup");
  auto queue = create_queue(api, ws, "q");
  auto workflow = create_workflow(api, ws, "wf", queue);
  auto worker = create_worker(api, ws, "w");  // Offline: the task stays pending
  auto task = create_task(api, ws, workflow);
  auto w = ws_path(ws);

  for (const std::string& path : std::vector<std::string>{"/v1/Workspaces/WS" + hex32, w + "/Tasks/WT" + hex32, w + "/Workers/WK" + hex32,
                    w + "/TaskQueues/WQ" + hex32, w + "/Workflows/WW" + hex32, w + "/Activities/WA" + hex32,
                    w + "/TaskChannels/TC" + hex32, w + "/Events/EV" + hex32,
                    w + "/Tasks/" + task + "/Reservations/WR" + hex32,
                    w + "/Workers/" + worker + "/Reservations/WR" + hex32,
                    w + "/Workers/" + worker + "/Channels/WC" + hex32,
                    w + "/Tasks/WT" + hex32 + "/Reservations", w + "/Workers/WK" + hex32 + "/Reservations",
                    w + "/TaskQueues/WQ" + hex32 + "/Statistics", w + "/Workers/WK" + hex32 + "/Statistics",
                    w + "/Workflows/WW" + hex32 + "/Statistics", "/v1/Workspaces/not-a-sid"}) {
    INFO(path);
    check_error(api.get(path), 404, 20404);
  }
  // Updates and deletes of unknown SIDs are 404 and create nothing.
  check_error(api.post(w + "/Workers/WK" + hex32, {{"FriendlyName", "ghost"}}), 404, 20404);
  check_error(api.del(w + "/Workers/WK" + hex32), 404, 20404);
  check_error(api.post(w + "/Tasks/WT" + hex32, {{"AssignmentStatus", "canceled"}}), 404, 20404);
  check_error(api.del(w + "/TaskQueues/WQ" + hex32), 404, 20404);
  check_error(api.post(w + "/Tasks/" + task + "/Reservations/WR" + hex32, {{"ReservationStatus", "accepted"}}),
              404, 20404);
  check_error(api.post("/v1/Workspaces/WS" + hex32 + "/Tasks", {{"WorkflowSid", workflow}}), 404, 20404);
  CHECK(count(api, w + "/Workers", "workers") == 1);
  CHECK(count(api, w + "/Tasks", "tasks") == 1);
  CHECK(count(api, w + "/TaskQueues", "task_queues") == 1);
  CHECK(ok_json(api.get(w + "/Tasks/" + task))["assignment_status"] == "pending");

  // Unknown paths.
  for (const std::string& path : std::vector<std::string>{"/v1/Nope", "/v2/Workspaces", w + "/Bogus", w + "/Tasks/" + task + "/Bogus", "/",
                           "/taskrouter/v1/Nope"}) {
    INFO(path);
    check_error(api.get(path), 404, 20404);
  }

  // The /taskrouter prefix reaches the same resources.
  CHECK(ok_json(api.get("/taskrouter" + w + "/Tasks/" + task))["sid"] == task);
  check_error(api.get("/taskrouter" + w + "/Tasks/WT" + hex32), 404, 20404);

  // Known paths with the wrong method.
  auto& conn = api.connection();
  std::vector<std::pair<std::string, std::string>> auth{{"Authorization", api.authorization()}};
  check_error(conn.send(http::verb::put, "/v1/Workspaces", {}, auth), 405);
  check_error(conn.send(http::verb::delete_, "/v1/Workspaces", {}, auth), 405);
  check_error(conn.send(http::verb::put, w, {}, auth), 405);
  check_error(conn.send(http::verb::delete_, w + "/Events", {}, auth), 405);
  check_error(conn.send(http::verb::post, w + "/Statistics", {}, auth), 405);
  check_error(conn.send(http::verb::delete_, w + "/Tasks/" + task + "/Reservations", {}, auth), 405);
  check_error(conn.send(http::verb::patch, w + "/Tasks/" + task, {}, auth), 405);
  CHECK(count(api, "/v1/Workspaces", "workspaces") == 1);
}

TEST_CASE("server: malformed input is rejected with 400 and changes nothing", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "strict");
  auto w = ws_path(ws);
  auto queue = create_queue(api, ws, "q");
  auto workflow = create_workflow(api, ws, "wf", queue);
  auto& conn = api.connection();
  auto form_headers = [&](const std::string& type = "application/x-www-form-urlencoded") {
    return std::vector<std::pair<std::string, std::string>>{{"Authorization", api.authorization()},
                                                            {"Content-Type", type}};
  };

  SECTION("bad percent escapes") {
    for (std::string body : {"FriendlyName=%zz", "FriendlyName=abc%4", "FriendlyName=%", "Friendly%G1Name=x"}) {
      INFO(body);
      check_error(conn.send(http::verb::post, w + "/TaskQueues", body, form_headers()), 400, 20001);
    }
    check_error(conn.send(http::verb::get, w + "/TaskQueues?FriendlyName=%zz", {}, form_headers()), 400, 20001);
    CHECK(count(api, w + "/TaskQueues", "task_queues") == 1);
  }

  SECTION("a JSON body is not a form") {
    check_error(conn.send(http::verb::post, w + "/TaskQueues", R"({"FriendlyName":"json"})",
                          form_headers("application/json")),
                400);
    check_error(conn.send(http::verb::post, "/v1/Workspaces", R"({"FriendlyName":"json"})",
                          form_headers("application/json")),
                400);
    CHECK(count(api, w + "/TaskQueues", "task_queues") == 1);
    CHECK(count(api, "/v1/Workspaces", "workspaces") == 1);
  }

  SECTION("an invalid TargetWorkers expression") {
    for (std::string expr : {"skills HAS", "(a == 1", "a ==", "== 1", "a === 'b'"}) {
      INFO(expr);
      check_error(api.post(w + "/TaskQueues", {{"FriendlyName", "bad"}, {"TargetWorkers", expr}}), 400, 20001);
    }
    CHECK(count(api, w + "/TaskQueues", "task_queues") == 1);
    // An update with a bad expression leaves the queue as it was.
    auto before = ok_json(api.get(w + "/TaskQueues/" + queue));
    check_error(api.post(w + "/TaskQueues/" + queue, {{"FriendlyName", "renamed"}, {"TargetWorkers", "a =="}}), 400,
                20001);
    CHECK(ok_json(api.get(w + "/TaskQueues/" + queue)) == before);
  }

  SECTION("an invalid workflow configuration") {
    std::vector<std::pair<std::string, std::string>> configs{
      {"not JSON", "{task_routing"},
      {"JSON array", "[1,2]"},
      {"unknown queue", routing_config("WQ" + hex32)},
      {"bad filter expression", routing_config(queue, "type ==")},
      {"target without queue", R"({"task_routing":{"filters":[{"filter_friendly_name":"f","expression":"1==1","targets":[{}]}]}})"},
    };
    for (auto& [what, cfg] : configs) {
      INFO(what << ": " << cfg);
      check_error(api.post(w + "/Workflows", {{"FriendlyName", "bad"}, {"Configuration", cfg}}), 400, 20001);
    }
    CHECK(count(api, w + "/Workflows", "workflows") == 1);
    auto before = ok_json(api.get(w + "/Workflows/" + workflow));
    check_error(api.post(w + "/Workflows/" + workflow,
                         {{"FriendlyName", "renamed"}, {"Configuration", routing_config("WQ" + hex32)}}),
                400, 20001);
    CHECK(ok_json(api.get(w + "/Workflows/" + workflow)) == before);
  }

  SECTION("Attributes that are not a JSON object") {
    for (std::string attrs : {"not json", "[1,2]", "\"text\"", "{\"a\":"}) {
      INFO(attrs);
      check_error(api.post(w + "/Tasks", {{"WorkflowSid", workflow}, {"Attributes", attrs}}), 400, 20001);
      check_error(api.post(w + "/Workers", {{"FriendlyName", "x"}, {"Attributes", attrs}}), 400, 20001);
    }
    CHECK(count(api, w + "/Tasks", "tasks") == 0);
    CHECK(count(api, w + "/Workers", "workers") == 0);
  }

  SECTION("invalid updates leave tasks and workers as they were") {
    auto task = create_task(api, ws, workflow);
    auto path = w + "/Tasks/" + task;
    auto before = stable(ok_json(api.get(path)));
    check_error(api.post(path, {{"Attributes", "not json"}}), 400, 20001);
    check_error(api.post(path, {{"Priority", "high"}}), 400, 20001);
    check_error(api.post(path, {{"Priority", "5"}, {"Attributes", "[1]"}}), 400, 20001);
    check_error(api.post(path, {{"Priority", "5"}, {"Bogus", "1"}}), 400, 20001);
    CHECK(stable(ok_json(api.get(path))) == before);

    auto worker = create_worker(api, ws, "steady");
    auto wpath = w + "/Workers/" + worker;
    auto wbefore = ok_json(api.get(wpath));
    check_error(api.post(wpath, {{"FriendlyName", "renamed"}, {"ActivitySid", "WA" + hex32}}), 400, 20001);
    check_error(api.post(wpath, {{"FriendlyName", "renamed"}, {"Attributes", "nope"}}), 400, 20001);
    check_error(api.post(wpath, {{"FriendlyName", "renamed"}, {"RejectPendingReservations", "maybe"}}), 400, 20001);
    CHECK(ok_json(api.get(wpath)) == wbefore);
    CHECK(list(api, w + "/Workers", "workers", {{"FriendlyName", "renamed"}}).empty());
  }

  SECTION("Priority that is not a number") {
    for (std::string prio : {"abc", "1.5", "-1", "99999999999"}) {
      INFO("Priority=" << prio);
      check_error(api.post(w + "/Tasks", {{"WorkflowSid", workflow}, {"Priority", prio}}), 400, 20001);
    }
    CHECK(count(api, w + "/Tasks", "tasks") == 0);
  }

  SECTION("unknown parameter names") {
    check_error(api.post(w + "/Tasks", {{"WorkflowSid", workflow}, {"Bogus", "1"}}), 400, 20001);
    check_error(api.post(w + "/TaskQueues", {{"FriendlyName", "q2"}, {"Bogus", "1"}}), 400, 20001);
    check_error(api.post(w + "/Workers", {{"FriendlyName", "w2"}, {"Bogus", "1"}}), 400, 20001);
    check_error(api.post("/v1/Workspaces", {{"FriendlyName", "ws2"}, {"Bogus", "1"}}), 400, 20001);
    check_error(api.post(w + "/Workflows", {{"FriendlyName", "wf2"}, {"Configuration", routing_config(queue)},
                                            {"Bogus", "1"}}),
                400, 20001);
    CHECK(count(api, w + "/Tasks", "tasks") == 0);
    CHECK(count(api, w + "/TaskQueues", "task_queues") == 1);
    CHECK(count(api, w + "/Workers", "workers") == 0);
    CHECK(count(api, w + "/Workflows", "workflows") == 1);
    CHECK(count(api, "/v1/Workspaces", "workspaces") == 1);
  }

  SECTION("PageSize and Page out of range") {
    for (std::string size : {"0", "5000", "-1", "abc"}) {
      INFO("PageSize=" << size);
      check_error(api.get("/v1/Workspaces", {{"PageSize", size}}), 400, 20001);
      check_error(api.get(w + "/Activities", {{"PageSize", size}}), 400, 20001);
    }
    check_error(api.get(w + "/Tasks", {{"Page", "-1"}}), 400, 20001);
    check_error(api.get(w + "/Tasks", {{"Page", "x"}}), 400, 20001);
    CHECK(ok_json(api.get(w + "/Activities", {{"PageSize", "1000"}}))["activities"].size() == 4);
  }

  SECTION("an invalid task status transition") {
    auto task = create_task(api, ws, workflow);  // no workers: stays pending
    auto path = w + "/Tasks/" + task;
    auto before = stable(ok_json(api.get(path)));
    REQUIRE(before["assignment_status"] == "pending");
    check_error(api.post(path, {{"AssignmentStatus", "completed"}}), 400, 20001);
    check_error(api.post(path, {{"AssignmentStatus", "wrapping"}}), 400, 20001);
    check_error(api.post(path, {{"AssignmentStatus", "assigned"}}), 400, 20001);
    check_error(api.post(path, {{"AssignmentStatus", "nonsense"}}), 400, 20001);
    // A valid change riding along with an invalid one is not applied either.
    check_error(api.post(path, {{"Attributes", R"({"type":"changed"})"}, {"AssignmentStatus", "completed"}}), 400,
                20001);
    check_error(api.post(path, {{"Priority", "7"}, {"AssignmentStatus", "wrapping"}}), 400, 20001);
    CHECK(stable(ok_json(api.get(path))) == before);
    for (auto& e : list(api, w + "/Events", "events", {{"TaskSid", task}})) {
      INFO(e.dump());
      CHECK(e["event_type"] != "task.completed");
      CHECK(e["event_type"] != "task.updated");
    }
  }
}

TEST_CASE("server: an oversize body gets 413 and the server keeps serving", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "big");
  auto w = ws_path(ws);
  auto queue = create_queue(api, ws, "q");
  create_workflow(api, ws, "wf", queue);

  std::string body = "Attributes=" + std::string((1 << 20) + 16, 'a');
  http_connection conn{s.srv.port()};
  auto r = conn.send(http::verb::post, w + "/Tasks", body,
                     {{"Authorization", api.authorization()}, {"Content-Type", "application/x-www-form-urlencoded"}});
  check_error(r, 413);

  // A new connection is served as before; nothing was created.
  http_connection fresh{s.srv.port()};
  auto health = fresh.send(http::verb::get, "/healthz", {}, {});
  CHECK(health.status == 200);
  auto tasks = fresh.send(http::verb::get, w + "/Tasks", {}, {{"Authorization", api.authorization()}});
  REQUIRE(tasks.status == 200);
  CHECK(tasks.json()["tasks"].empty());
  CHECK(ok_json(api.get(w))["sid"] == ws);
}

TEST_CASE("server: lists page with absolute URLs", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "paging");
  auto w = ws_path(ws);
  for (int i = 1; i <= 7; ++i)
    ok_json(api.post(w + "/Activities", {{"FriendlyName", "Extra " + std::to_string(i)}}), 201);

  std::string base = api_client::public_base;
  std::set<std::string> sids;
  std::set<std::string> names;
  auto doc = ok_json(api.get(w + "/Activities", {{"PageSize", "5"}}));
  std::vector<std::size_t> sizes;
  for (int page = 0;; ++page) {
    INFO("page " << page << ": " << doc.dump());
    REQUIRE(page < 5);
    auto& meta = doc["meta"];
    CHECK(meta["key"] == "activities");
    CHECK(meta["page"] == page);
    CHECK(meta["page_size"] == 5);
    CHECK(meta["url"].get<std::string>().rfind(base + w + "/Activities?", 0) == 0);
    CHECK(meta["first_page_url"].get<std::string>().rfind(base + w + "/Activities?", 0) == 0);
    if (page == 0)
      CHECK(meta["previous_page_url"].is_null());
    else
      CHECK(meta["previous_page_url"].is_string());
    sizes.push_back(doc["activities"].size());
    for (auto& a : doc["activities"]) {
      sids.insert(a["sid"].get<std::string>());
      names.insert(a["friendly_name"].get<std::string>());
      CHECK(a["url"].get<std::string>().rfind(base + w + "/Activities/WA", 0) == 0);
    }
    if (meta["next_page_url"].is_null())
      break;
    std::string next = meta["next_page_url"];
    REQUIRE(next.rfind(base + w + "/Activities?", 0) == 0);
    doc = ok_json(api.follow(next));
  }
  CHECK(sizes == std::vector<std::size_t>{5, 5, 1});
  CHECK(sids.size() == 11);
  for (auto n : {"Offline", "Available", "Unavailable", "Break", "Extra 1", "Extra 7"}) {
    INFO(n);
    CHECK(names.count(n) == 1);
  }
  // Paging URLs keep the list's filters.
  auto filtered = ok_json(api.get(w + "/Activities", {{"Available", "false"}, {"PageSize", "2"}}));
  CHECK(filtered["activities"].size() == 2);
  for (auto& a : filtered["activities"])
    CHECK(a["available"] == false);
  std::string fnext = filtered["meta"]["next_page_url"];
  CHECK(fnext.find("Available=false") != std::string::npos);
  auto fpage = ok_json(api.follow(fnext));
  for (auto& a : fpage["activities"])
    CHECK(a["available"] == false);
  // A page past the end is empty, with no next page.
  auto past = ok_json(api.get(w + "/Activities", {{"PageSize", "5"}, {"Page", "7"}}));
  CHECK(past["activities"].empty());
  CHECK(past["meta"]["next_page_url"].is_null());
  CHECK(past["meta"]["page"] == 7);

  // The first page URL leads back to the first page.
  auto first = ok_json(api.follow(doc["meta"]["first_page_url"]));
  CHECK(first["activities"].size() == 5);
  CHECK(first["meta"]["page"] == 0);
}

TEST_CASE("server: one keep-alive connection carries many requests", "[api]") {
  live_server s;
  auto& api = s.api;
  auto& conn = api.connection();
  auto ws = create_workspace(api, "keepalive");
  auto w = ws_path(ws);
  auto port = conn.local_port();
  REQUIRE(port != 0);
  for (int i = 0; i < 10; ++i) {
    INFO("round " << i);
    CHECK(api.get(w).status == 200);
    CHECK(api.post(w + "/Activities", {{"FriendlyName", "A" + std::to_string(i)}}).status == 201);
    CHECK(api.get(w + "/Activities/WA" + hex32).status == 404);
    CHECK(api.post(w + "/Tasks", {{"Bogus", "1"}}).status == 400);
    CHECK(conn.send(http::verb::get, "/healthz", {}, {}).status == 200);
  }
  CHECK(conn.connects() == 1);
  CHECK(conn.local_port() == port);
  CHECK(count(api, w + "/Activities", "activities") == 14);

  // Pipelined requests come back in order on the same connection.
  std::string auth = "Authorization: " + api.authorization() + "\r\n";
  std::string host = "Host: 127.0.0.1\r\n";
  std::string bytes = "GET " + w + " HTTP/1.1\r\n" + host + auth + "\r\n" +
                      "GET " + w + "/Activities/WA" + hex32 + " HTTP/1.1\r\n" + host + auth + "\r\n" +
                      "GET /healthz HTTP/1.1\r\n" + host + "\r\n";
  auto answers = conn.send_raw(bytes, 3);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].status == 200);
  CHECK(answers[0].json()["sid"] == ws);
  CHECK(answers[1].status == 404);
  CHECK(answers[2].status == 200);
  CHECK(conn.connects() == 1);
}

TEST_CASE("server: a task's reservations stay listed after they end", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "history");
  auto w = ws_path(ws);
  auto available = activity_sid(api, ws, "Available");
  auto queue = create_queue(api, ws, "q");
  auto workflow = create_workflow(api, ws, "wf", queue);
  auto worker = create_worker(api, ws, "alice", available);

  auto reservation_of = [&](const std::string& task) {
    std::string sid;
    REQUIRE(eventually([&] {
      auto res = list(api, w + "/Tasks/" + task + "/Reservations", "reservations");
      if (res.size() != 1 || res[0]["reservation_status"] != "pending")
        return false;
      sid = res[0]["sid"];
      return true;
    }));
    return sid;
  };

  // A rejected reservation: the task goes back to pending; the reservation stays on the task's list.
  auto rejected_task = create_task(api, ws, workflow);
  auto r1 = reservation_of(rejected_task);
  auto rejected = ok_json(api.post(w + "/Tasks/" + rejected_task + "/Reservations/" + r1,
                                   {{"ReservationStatus", "rejected"}}));
  CHECK(rejected["reservation_status"] == "rejected");
  REQUIRE(eventually([&] { return ok_json(api.get(w + "/Tasks/" + rejected_task))["assignment_status"] == "pending"; }));
  CHECK(ok_json(api.get(w + "/Tasks/" + rejected_task + "/Reservations/" + r1))["reservation_status"] == "rejected");
  {
    auto listed = list(api, w + "/Tasks/" + rejected_task + "/Reservations", "reservations");
    INFO(listed.dump());
    CHECK(listed.size() == 1);
    if (!listed.empty()) {
      CHECK(listed[0]["sid"] == r1);
      CHECK(listed[0]["reservation_status"] == "rejected");
    }
  }

  // A reserved task that is canceled: its reservation is canceled and stays listed.
  auto canceled_task = create_task(api, ws, workflow);
  auto r2 = reservation_of(canceled_task);
  CHECK(ok_json(api.post(w + "/Tasks/" + canceled_task, {{"AssignmentStatus", "canceled"}}))["assignment_status"] ==
        "canceled");
  REQUIRE(eventually([&] {
    auto res = list(api, w + "/Workers/" + worker + "/Reservations", "reservations", {{"ReservationStatus", "canceled"}});
    return res.size() == 1 && res[0]["sid"] == r2;
  }));
  {
    auto listed = list(api, w + "/Tasks/" + canceled_task + "/Reservations", "reservations");
    INFO(listed.dump());
    CHECK(listed.size() == 1);
    if (!listed.empty()) {
      CHECK(listed[0]["sid"] == r2);
      CHECK(listed[0]["reservation_status"] == "canceled");
    }
  }
  CHECK(ok_json(api.get(w + "/Tasks/" + canceled_task + "/Reservations/" + r2))["reservation_status"] == "canceled");
}

TEST_CASE("server: a new TaskChannel gives every existing worker a WorkerChannel", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "channels");
  auto w = ws_path(ws);
  auto worker = create_worker(api, ws, "early");
  auto names = [&](const std::string& wk) {
    std::set<std::string> out;
    for (auto& c : list(api, w + "/Workers/" + wk + "/Channels", "channels"))
      out.insert(c["task_channel_unique_name"].get<std::string>());
    return out;
  };
  CHECK(names(worker) == std::set<std::string>{"default", "voice", "chat", "sms", "video", "email"});

  auto channel = ok_json(api.post(w + "/TaskChannels", {{"UniqueName", "fax"}, {"FriendlyName", "Fax"}}), 201);
  std::string tc = channel["sid"];
  auto late = create_worker(api, ws, "late");
  CHECK(names(late).count("fax") == 1);
  CHECK(names(worker).count("fax") == 1);
  auto wc = api.get(w + "/Workers/" + worker + "/Channels/fax");
  INFO(wc.body);
  REQUIRE(wc.status == 200);
  CHECK(wc.json()["task_channel_sid"] == tc);
}

TEST_CASE("server: case-insensitive HTTP tokens and the Allow header (RFC 9110)", "[api]") {
  live_server s;
  auto& api = s.api;
  auto& conn = api.connection();
  auto ws = create_workspace(api, "rfc");
  auto w = ws_path(ws);

  {
    // Media types are case-insensitive (RFC 9110 8.3.1).
    auto r = conn.send(http::verb::post, w + "/TaskQueues", "FriendlyName=cased",
                       {{"Authorization", api.authorization()}, {"Content-Type", "Application/X-WWW-Form-URLEncoded"}});
    INFO(r.body);
    CHECK(r.status == 201);
  }
  auto sid_token = s.srv.account_sid() + ":" + s.srv.auth_token();
  for (std::string scheme : {"basic ", "BASIC "}) {
    // So is the authentication scheme (RFC 9110 11.1).
    auto r = conn.send(http::verb::get, "/v1/Workspaces", {}, {{"Authorization", scheme + base64(sid_token)}});
    INFO(scheme << "-> " << r.body);
    CHECK(r.status == 200);
  }
  {
    // A 405 names the allowed methods (RFC 9110 15.5.6).
    auto r = conn.send(http::verb::put, "/v1/Workspaces", {}, {{"Authorization", api.authorization()}});
    REQUIRE(r.status == 405);
    auto allow = r.header("allow");
    INFO("Allow: " << allow);
    CHECK(allow.find("GET") != std::string::npos);
    CHECK(allow.find("POST") != std::string::npos);
  }
}

TEST_CASE("server: /metrics reports HTTP and routing metrics", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "metrics");
  auto w = ws_path(ws);
  auto available = activity_sid(api, ws, "Available");
  auto queue = create_queue(api, ws, "q");
  auto workflow = create_workflow(api, ws, "wf", queue);
  auto worker = create_worker(api, ws, "m", available);
  auto task = create_task(api, ws, workflow);
  std::string reservation;
  REQUIRE(eventually([&] {
    auto res = list(api, w + "/Tasks/" + task + "/Reservations", "reservations");
    if (res.empty())
      return false;
    reservation = res[0]["sid"];
    return true;
  }));
  ok_json(api.post(w + "/Workers/" + worker + "/Reservations/" + reservation, {{"ReservationStatus", "accepted"}}));
  api.get(w + "/Tasks/WT" + hex32);

  http_connection conn{s.srv.port()};  // no credentials needed
  std::string text;
  REQUIRE(eventually([&] {
    auto r = conn.send(http::verb::get, "/metrics", {}, {});
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").rfind("text/plain", 0) == 0);
    text = r.body;
    return text.find("switchboard_task_wait_seconds") != std::string::npos;
  }));
  INFO(text);
  auto has_line = [&](const std::string& pattern) {
    std::regex re(pattern);
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (line.empty() || line[0] != '#')
        if (std::regex_search(line, re))
          return true;
    return false;
  };
  CHECK(has_line(R"(^switchboard_http_requests_total\{.*route="/v1/Workspaces".*status="201".*\} [1-9])"));
  CHECK(has_line(R"(^switchboard_http_requests_total\{.*status="404".*\} [1-9])"));
  CHECK(has_line(R"(^switchboard_tasks_total\{.*event="created".*\} [1-9])"));
  CHECK(has_line(R"(^switchboard_task_wait_seconds)"));
  CHECK(has_line(R"(^switchboard_workers\{.*\} [0-9])"));
  CHECK(has_line(R"(^switchboard_workers\{.*activity="Available".*\} 1)"));
  CHECK(has_line(R"(^switchboard_tasks_pending)"));
  CHECK(has_line(R"(^switchboard_http_request_duration_seconds)"));

  auto health = conn.send(http::verb::get, "/healthz", {}, {});
  CHECK(health.status == 200);
}

TEST_CASE("server: SIGTERM shuts down cleanly with status 0", "[api]") {
  live_server s;
  create_workspace(s.api, "shutdown");
  s.api.connection().close();
  auto t0 = steady::now();
  auto status = s.srv.terminate(5s);
  REQUIRE(status.has_value());
  INFO(s.srv.process().output());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(steady::now() - t0 < 5s);
  // Nothing listens on the port any more.
  http_connection conn{s.srv.port()};
  CHECK_THROWS(conn.send(http::verb::get, "/healthz", {}, {}, 2s));
}

TEST_CASE("server: SIGTERM with an idle keep-alive connection open still exits promptly", "[api]") {
  live_server s;
  create_workspace(s.api, "idle");  // the client's connection stays open
  REQUIRE(s.api.connection().is_open());
  auto status = s.srv.terminate(5s);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("server: --help exits 0 and unknown options exit non-zero", "[api]") {
  auto dir = make_temp_dir();
  auto help = run_to_exit({"--help"});
  CHECK(help.exited);
  CHECK(help.code == 0);
  CHECK(help.output.find("usage: switchboard") != std::string::npos);

  for (std::vector<std::string> args : {std::vector<std::string>{"--data", dir, "--bogus"},
                                        std::vector<std::string>{"--data", dir, "--port", "notaport"},
                                        std::vector<std::string>{"--data", dir, "--port", "70000"},
                                        std::vector<std::string>{"--data", dir, "--account", "nope"},
                                        std::vector<std::string>{"--data", dir, "--port"}}) {
    INFO(args.back());
    auto r = run_to_exit(args);
    INFO(r.output);
    CHECK(r.exited);
    CHECK(r.code != 0);
    CHECK(r.output.find("ready port=") == std::string::npos);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_CASE("server: a task's ETag guards updates through If-Match", "[api]") {
  live_server s;
  auto& api = s.api;
  auto ws = create_workspace(api, "etag");
  auto queue = create_queue(api, ws, "q");
  auto workflow = create_workflow(api, ws, "wf", queue);
  auto created = api.post(ws_path(ws) + "/Tasks", {{"WorkflowSid", workflow}, {"Attributes", R"({"v":1})"}});
  REQUIRE(created.status == 201);
  std::string task_path = ws_path(ws) + "/Tasks/" + created.json()["sid"].get<std::string>();
  auto fetched = api.get(task_path);
  auto etag = fetched.header("etag");
  REQUIRE_FALSE(etag.empty());
  auto post_if = [&](const std::string& version, const std::string& attrs) {
    return api.raw(boost::beast::http::verb::post, task_path, encode_form({{"Attributes", attrs}}),
                   {{"Authorization", api.authorization()},
                    {"Content-Type", "application/x-www-form-urlencoded"},
                    {"If-Match", version}});
  };
  // A stale version is refused with 412 and changes nothing.
  auto stale = post_if(etag + "0", R"({"v":2})");
  CHECK(stale.status == 412);
  CHECK(stale.json()["code"] == 20412);
  CHECK(api.get(task_path).json()["attributes"] == R"({"v":1})");
  // The current version is accepted.
  auto fresh = post_if(etag, R"({"v":3})");
  CHECK(fresh.status == 200);
  CHECK(fresh.json()["attributes"] == R"({"v":3})");
}

// ------------------------------------------------------------ statistics --

namespace {

// A workspace where, on two task channels (voice and chat), one task was
// accepted at once and one only after waiting at least two seconds, one was
// canceled at once and one after that wait, and one voice task still waits in
// a queue no worker serves. The statistics tests derive every figure they
// expect from the event log the server lists, not from constants.
struct stats_scenario {
  std::string ws, queue, idle_queue, workflow, worker, chat_sid;
  std::string fast, slow, early_cancel, late_cancel, waiting;
  std::map<std::string, std::string> channel_of; // task SID -> channel unique name
};

std::string pending_reservation(api_client& api, const std::string& ws, const std::string& task) {
  std::string sid;
  REQUIRE(eventually([&] {
    for (auto& r : list(api, ws_path(ws) + "/Tasks/" + task + "/Reservations", "reservations"))
      if (r["reservation_status"] == "pending") {
        sid = r["sid"];
        return true;
      }
    return false;
  }));
  return sid;
}

void accept_task(api_client& api, const std::string& ws, const std::string& task) {
  auto r = pending_reservation(api, ws, task);
  ok_json(api.post(ws_path(ws) + "/Tasks/" + task + "/Reservations/" + r, {{"ReservationStatus", "accepted"}}));
  REQUIRE(eventually([&] {
    return ok_json(api.get(ws_path(ws) + "/Tasks/" + task))["assignment_status"] == "assigned";
  }));
}

void cancel_task(api_client& api, const std::string& ws, const std::string& task) {
  auto doc = ok_json(api.post(ws_path(ws) + "/Tasks/" + task, {{"AssignmentStatus", "canceled"}}));
  REQUIRE(doc["assignment_status"] == "canceled");
}

stats_scenario run_stats_scenario(api_client& api) {
  stats_scenario s;
  s.ws = create_workspace(api, "stats");
  auto w = ws_path(s.ws);
  for (auto& c : list(api, w + "/TaskChannels", "channels"))
    if (c["unique_name"] == "chat")
      s.chat_sid = c["sid"];
  REQUIRE(s.chat_sid.rfind("TC", 0) == 0);
  s.queue = create_queue(api, s.ws, "support");
  s.idle_queue = create_queue(api, s.ws, "nobody", "name == 'nobody'");
  json cfg{{"task_routing",
            {{"filters", json::array({{{"filter_friendly_name", "support"},
                                       {"expression", "type == 'support'"},
                                       {"targets", json::array({{{"queue", s.queue}}})}}})},
             {"default_filter", {{"queue", s.idle_queue}}}}}};
  s.workflow = ok_json(api.post(w + "/Workflows", {{"FriendlyName", "wf"}, {"Configuration", cfg.dump()}}),
                       201)["sid"];
  s.worker = create_worker(api, s.ws, "alice", activity_sid(api, s.ws, "Available"));
  auto task = [&](const std::string& channel, const std::string& type) {
    auto doc = ok_json(api.post(w + "/Tasks", {{"WorkflowSid", s.workflow},
                                               {"TaskChannel", channel},
                                               {"Attributes", json{{"type", type}}.dump()}}),
                       201);
    std::string sid = doc["sid"];
    s.channel_of[sid] = channel;
    return sid;
  };
  s.slow = task("chat", "support");
  s.late_cancel = task("voice", "other");
  s.fast = task("voice", "support");
  accept_task(api, s.ws, s.fast);
  s.early_cancel = task("chat", "other");
  cancel_task(api, s.ws, s.early_cancel);
  // The slow pair waits until the server itself reports the younger one two
  // seconds old (a condition on the server's clock, polled with a deadline).
  REQUIRE(eventually([&] { return ok_json(api.get(w + "/Tasks/" + s.late_cancel))["age"].get<long long>() >= 2; },
                     10s));
  accept_task(api, s.ws, s.slow);
  cancel_task(api, s.ws, s.late_cancel);
  s.waiting = task("voice", "other");
  // Nothing is left in flight once the last task has entered its queue.
  REQUIRE(eventually([&] { return ok_json(api.get(w + "/Tasks/" + s.waiting))["task_queue_sid"] == s.idle_queue; }));
  return s;
}

// When the event log says each task was created, accepted and canceled, in
// milliseconds since the epoch, by task SID; and every task's events in order
// as (event type, task SID).
struct event_times {
  std::map<std::string, long long> created, accepted, canceled;
  std::vector<std::pair<std::string, std::string>> log;
};

event_times times_of(api_client& api, const std::string& ws) {
  event_times t;
  for (auto& e : list(api, ws_path(ws) + "/Events", "events")) {
    auto type = e["event_type"].get<std::string>();
    auto task = e["event_data"].value("TaskSid", std::string{});
    auto ms = e["event_date_ms"].get<long long>();
    if (!task.empty())
      t.log.emplace_back(type, task);
    if (type == "task.created")
      t.created[task] = ms;
    else if (type == "reservation.accepted")
      t.accepted[task] = ms;
    else if (type == "task.canceled")
      t.canceled[task] = ms;
  }
  return t;
}

// The server truncates an average wait to whole seconds from its exact
// clock; the log's millisecond dates put that exact average within 1 ms of
// avg_ms, so either side of a second boundary that close is right.
bool same_whole_seconds(const json& got, double avg_ms) {
  INFO("got " << got << ", average from the event log " << avg_ms << " ms");
  auto v = got.get<long long>();
  return v == static_cast<long long>(std::floor((avg_ms - 1) / 1000)) ||
         v == static_cast<long long>(std::floor((avg_ms + 1) / 1000));
}

std::string iso_of_second(long long epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace

TEST_CASE("server: avg_task_acceptance_time averages the acceptances in the requested window", "[api][statistics]") {
  live_server srv;
  auto& api = srv.api;
  auto s = run_stats_scenario(api);
  auto w = ws_path(s.ws);
  auto t = times_of(api, s.ws);
  REQUIRE(t.accepted.size() == 2);
  // The mean wait (creation to acceptance) of the acceptances logged in [from, to) ms.
  auto mean_wait = [&](long long from, long long to) {
    double total = 0;
    int n = 0;
    for (auto& [task, at] : t.accepted)
      if (at >= from && at < to) {
        total += static_cast<double>(at - t.created.at(task));
        ++n;
      }
    return n ? total / n : 0.0;
  };
  // A whole second between the two acceptances splits the log in two windows.
  long long split = t.accepted.at(s.fast) / 1000 + 1;
  REQUIRE(t.accepted.at(s.slow) >= split * 1000);
  long long first = t.created.begin()->second / 1000 - 60, last = split + 3600;
  const long long far = std::numeric_limits<long long>::max();

  for (auto path : {w + "/CumulativeStatistics", w + "/TaskQueues/" + s.queue + "/CumulativeStatistics",
                    w + "/Workflows/" + s.workflow + "/CumulativeStatistics"}) {
    INFO(path);
    auto all = ok_json(api.get(path));
    CHECK(same_whole_seconds(all["avg_task_acceptance_time"], mean_wait(0, far)));
    auto early = ok_json(api.get(path, {{"StartDate", iso_of_second(first)}, {"EndDate", iso_of_second(split)}}));
    CHECK(early["reservations_accepted"] == 1);
    CHECK(same_whole_seconds(early["avg_task_acceptance_time"], mean_wait(first * 1000, split * 1000)));
    auto late = ok_json(api.get(path, {{"StartDate", iso_of_second(split)}, {"EndDate", iso_of_second(last)}}));
    CHECK(late["reservations_accepted"] == 1);
    CHECK(same_whole_seconds(late["avg_task_acceptance_time"], mean_wait(split * 1000, last * 1000)));
    // The slow acceptance alone averages at least the two seconds it waited.
    CHECK(late["avg_task_acceptance_time"].get<long long>() >= 2);
    auto none = ok_json(api.get(path, {{"StartDate", iso_of_second(last)}, {"EndDate", iso_of_second(last + 60)}}));
    CHECK(none["reservations_accepted"] == 0);
    CHECK(none["avg_task_acceptance_time"] == 0);
  }
  // The whole statistics document carries the same windowed figure.
  auto combined = ok_json(api.get(w + "/Statistics", {{"StartDate", iso_of_second(split)},
                                                      {"EndDate", iso_of_second(last)}}));
  CHECK(same_whole_seconds(combined["cumulative"]["avg_task_acceptance_time"], mean_wait(split * 1000, last * 1000)));
}

TEST_CASE("server: TaskChannel narrows statistics to one channel's tasks and events", "[api][statistics]") {
  live_server srv;
  auto& api = srv.api;
  auto s = run_stats_scenario(api);
  auto w = ws_path(s.ws);
  auto t = times_of(api, s.ws);
  auto tasks = list(api, w + "/Tasks", "tasks");
  REQUIRE(tasks.size() == s.channel_of.size());
  std::map<std::string, std::string> queue_of;
  for (auto& x : tasks)
    queue_of[x["sid"]] = x["task_queue_sid"].is_string() ? x["task_queue_sid"].get<std::string>() : "";

  // How many events of a type the log has about the channel's tasks (in the
  // queue, or of the workflow, when given).
  auto logged = [&](const std::string& type, const std::string& channel, const std::string& queue = {}) {
    long long n = 0;
    for (auto& [ty, task] : t.log)
      if (ty == type && (channel.empty() || s.channel_of.at(task) == channel) &&
          (queue.empty() || queue_of.at(task) == queue))
        ++n;
    return n;
  };
  auto mean_wait_ms = [&](const std::string& channel) {
    double total = 0;
    int n = 0;
    for (auto& [task, at] : t.accepted)
      if (s.channel_of.at(task) == channel) {
        total += static_cast<double>(at - t.created.at(task));
        ++n;
      }
    return n ? total / n : 0.0;
  };
  // The channel's tasks by status, from the task list (in the queue when given).
  auto by_status = [&](const std::string& channel, const std::string& queue = {}) {
    std::map<std::string, long long> out;
    for (auto& x : tasks)
      if (x["task_channel_unique_name"] == channel && (queue.empty() || x["task_queue_sid"] == queue))
        ++out[x["assignment_status"].get<std::string>()];
    return out;
  };
  auto total = [](const std::map<std::string, long long>& counts) {
    long long n = 0;
    for (auto& [status, k] : counts)
      n += k;
    return n;
  };
  auto pending_sid = [&](const std::string& channel, const std::string& queue = {}) {
    json out;
    for (auto& x : tasks)
      if (x["task_channel_unique_name"] == channel && x["assignment_status"] == "pending" &&
          (queue.empty() || x["task_queue_sid"] == queue)) {
        REQUIRE(out.is_null()); // the scenario leaves at most one waiting task per channel
        out = x["sid"];
      }
    return out;
  };
  auto check_cumulative = [&](const json& cu, const std::string& channel, const std::string& queue = {}) {
    INFO(cu.dump());
    if (queue.empty()) {
      CHECK(cu["tasks_created"] == logged("task.created", channel));
      CHECK(same_whole_seconds(cu["avg_task_acceptance_time"], mean_wait_ms(channel)));
    }
    CHECK(cu["tasks_entered"] == logged("task-queue.entered", channel, queue));
    CHECK(cu["tasks_canceled"] == logged("task.canceled", channel, queue));
    CHECK(cu["reservations_created"] == logged("reservation.created", channel, queue));
    CHECK(cu["reservations_accepted"] == logged("reservation.accepted", channel, queue));
  };
  auto check_realtime = [&](const json& rt, const std::string& channel) {
    INFO(rt.dump());
    auto expected = by_status(channel);
    for (auto status : {"pending", "reserved", "assigned", "wrapping", "completed", "canceled"}) {
      INFO(status);
      CHECK(rt["tasks_by_status"][status] == expected[status]);
    }
    CHECK(rt["total_tasks"] == total(expected));
    CHECK(rt["longest_task_waiting_sid"] == pending_sid(channel));
  };

  // The scenario puts tasks of both kinds on both channels.
  for (auto channel : {"voice", "chat"}) {
    INFO(channel);
    REQUIRE(logged("reservation.accepted", channel) == 1);
    REQUIRE(logged("task.canceled", channel) == 1);
  }
  // Either the unique name or the TC SID names a channel.
  std::vector<std::pair<std::string, std::string>> spellings{{"voice", "voice"}, {"chat", "chat"}, {"chat", s.chat_sid}};
  for (auto& [channel, param] : spellings) {
    INFO("TaskChannel=" << param);
    form q{{"TaskChannel", param}};
    check_cumulative(ok_json(api.get(w + "/CumulativeStatistics", q)), channel);
    check_realtime(ok_json(api.get(w + "/RealTimeStatistics", q)), channel);
    auto both = ok_json(api.get(w + "/Statistics", q));
    check_cumulative(both["cumulative"], channel);
    check_realtime(both["realtime"], channel);
    check_cumulative(ok_json(api.get(w + "/Workflows/" + s.workflow + "/CumulativeStatistics", q)), channel);
    auto wf_rt = ok_json(api.get(w + "/Workflows/" + s.workflow + "/RealTimeStatistics", q));
    CHECK(wf_rt["total_tasks"] == total(by_status(channel)));
    CHECK(wf_rt["longest_task_waiting_sid"] == pending_sid(channel));
    CHECK(ok_json(api.get(w + "/Workers/CumulativeStatistics", q))["reservations_accepted"] ==
          logged("reservation.accepted", channel));
    // One worker holds every reservation of the scenario.
    auto worker = ok_json(api.get(w + "/Workers/" + s.worker + "/Statistics", q))["cumulative"];
    CHECK(worker["reservations_created"] == logged("reservation.created", channel));
    CHECK(worker["reservations_accepted"] == logged("reservation.accepted", channel));

    for (auto& queue : {s.queue, s.idle_queue}) {
      INFO("queue " << queue);
      auto qp = w + "/TaskQueues/" + queue;
      check_cumulative(ok_json(api.get(qp + "/CumulativeStatistics", q)), channel, queue);
      // The queue's own view: its waiting and reserved tasks of the channel.
      auto in_queue = by_status(channel, queue);
      auto rt = ok_json(api.get(qp + "/RealTimeStatistics", q));
      INFO(rt.dump());
      CHECK(rt["tasks_by_status"]["pending"] == in_queue["pending"]);
      CHECK(rt["tasks_by_status"]["reserved"] == in_queue["reserved"]);
      CHECK(rt["total_tasks"] == in_queue["pending"] + in_queue["reserved"]);
      CHECK(rt["longest_task_waiting_sid"] == pending_sid(channel, queue));
      auto combined = ok_json(api.get(qp + "/Statistics", q));
      check_cumulative(combined["cumulative"], channel, queue);
      CHECK(combined["realtime"]["total_tasks"] == rt["total_tasks"]);
    }
    for (auto& entry : list(api, w + "/TaskQueues/Statistics", "task_queues_statistics", q)) {
      std::string queue = entry["task_queue_sid"];
      INFO("queue list entry " << queue);
      check_cumulative(entry["cumulative"], channel, queue);
      auto in_queue = by_status(channel, queue);
      CHECK(entry["realtime"]["tasks_by_status"]["pending"] == in_queue["pending"]);
      CHECK(entry["realtime"]["tasks_by_status"]["assigned"] == in_queue["assigned"]);
    }
  }
  // The channels together make up the whole.
  auto whole = ok_json(api.get(w + "/CumulativeStatistics"));
  auto voice = ok_json(api.get(w + "/CumulativeStatistics", {{"TaskChannel", "voice"}}));
  auto chat = ok_json(api.get(w + "/CumulativeStatistics", {{"TaskChannel", "chat"}}));
  for (auto field : {"tasks_created", "tasks_canceled", "reservations_created", "reservations_accepted"}) {
    INFO(field);
    CHECK(whole[field].get<long long>() == voice[field].get<long long>() + chat[field].get<long long>());
  }
}

namespace {

// Every statistics path of a workspace with one queue, workflow and worker,
// each with whether Twilio takes SplitByWaitTime there.
std::vector<std::pair<std::string, bool>> statistics_paths(const std::string& ws, const std::string& queue,
                                                           const std::string& workflow, const std::string& worker) {
  auto w = ws_path(ws);
  return {{w + "/Statistics", true},
          {w + "/RealTimeStatistics", false},
          {w + "/CumulativeStatistics", true},
          {w + "/TaskQueues/" + queue + "/Statistics", true},
          {w + "/TaskQueues/" + queue + "/RealTimeStatistics", false},
          {w + "/TaskQueues/" + queue + "/CumulativeStatistics", true},
          {w + "/TaskQueues/Statistics", true},
          {w + "/Workers/Statistics", false},
          {w + "/Workers/RealTimeStatistics", false},
          {w + "/Workers/CumulativeStatistics", false},
          {w + "/Workers/" + worker + "/Statistics", false},
          {w + "/Workflows/" + workflow + "/Statistics", true},
          {w + "/Workflows/" + workflow + "/RealTimeStatistics", false},
          {w + "/Workflows/" + workflow + "/CumulativeStatistics", true}};
}

// What a refused statistics request must leave as it was.
json workspace_state_of(api_client& api, const std::string& ws) {
  auto w = ws_path(ws);
  json tasks = json::array();
  for (auto& t : list(api, w + "/Tasks", "tasks"))
    tasks.push_back(stable(t));
  return {{"tasks", tasks},
          {"events", list(api, w + "/Events", "events")},
          {"workers", list(api, w + "/Workers", "workers")},
          {"channels", list(api, w + "/TaskChannels", "channels")}};
}

} // namespace

TEST_CASE("server: statistics refuse an unknown TaskChannel with 400 and code 20001", "[api][statistics]") {
  live_server srv;
  auto& api = srv.api;
  auto ws = create_workspace(api, "strict-stats");
  auto w = ws_path(ws);
  auto queue = create_queue(api, ws, "q");
  auto workflow = create_workflow(api, ws, "wf", queue);
  auto worker = create_worker(api, ws, "alice", activity_sid(api, ws, "Available"));
  auto task = create_task(api, ws, workflow);
  accept_task(api, ws, task);
  // A channel that existed once is as unknown as one that never did.
  std::string fax = ok_json(api.post(w + "/TaskChannels", {{"UniqueName", "fax"}}), 201)["sid"];
  REQUIRE(api.del(w + "/TaskChannels/" + fax).status == 204);

  auto before = workspace_state_of(api, ws);
  for (auto& [path, split] : statistics_paths(ws, queue, workflow, worker)) {
    INFO(path);
    CHECK(api.get(path, {{"TaskChannel", "default"}}).status == 200);
    for (const std::string& bad : std::vector<std::string>{"nosuch", "TC" + hex32, "", "fax", fax}) {
      INFO("TaskChannel=" << bad);
      check_error(api.get(path, {{"TaskChannel", bad}}), 400, 20001);
    }
  }
  CHECK(workspace_state_of(api, ws) == before);
}

TEST_CASE("server: SplitByWaitTime splits accepted and canceled waits at each threshold", "[api][statistics]") {
  live_server srv;
  auto& api = srv.api;
  auto s = run_stats_scenario(api);
  auto w = ws_path(s.ws);
  auto t = times_of(api, s.ws);
  std::map<std::string, std::string> queue_of;
  for (auto& x : list(api, w + "/Tasks", "tasks"))
    queue_of[x["sid"]] = x["task_queue_sid"].is_string() ? x["task_queue_sid"].get<std::string>() : "";
  const std::vector<long long> thresholds{1, 60};
  // Waits from the log, in ms: every acceptance and cancellation, with its task.
  std::vector<std::pair<std::string, long long>> accepted, canceled;
  for (auto& [task, at] : t.accepted)
    accepted.emplace_back(task, at - t.created.at(task));
  for (auto& [task, at] : t.canceled)
    canceled.emplace_back(task, at - t.created.at(task));
  // The log's millisecond dates decide a side only when no wait lies within
  // 1 ms of a threshold; the scenario's waits are far from 1 s and 60 s.
  for (auto* waits : {&accepted, &canceled})
    for (auto& [task, ms] : *waits)
      for (auto th : thresholds)
        REQUIRE(std::llabs(ms - th * 1000) > 1);
  // The expected split of the waits that pass keep, at each threshold.
  auto expected = [&](const std::function<bool(const std::string&)>& keep) {
    json out = json::object();
    for (auto th : thresholds) {
      long long a_below = 0, a_above = 0, c_below = 0, c_above = 0;
      for (auto& [task, ms] : accepted)
        if (keep(task))
          ++(ms <= th * 1000 ? a_below : a_above);
      for (auto& [task, ms] : canceled)
        if (keep(task))
          ++(ms <= th * 1000 ? c_below : c_above);
      out[std::to_string(th)] = {{"below", {{"reservations_accepted", a_below}, {"tasks_canceled", c_below}}},
                                 {"above", {{"reservations_accepted", a_above}, {"tasks_canceled", c_above}}}};
    }
    return out;
  };
  auto everything = [](const std::string&) { return true; };
  // At one second the scenario has a wait on each side, of both kinds.
  auto whole = expected(everything);
  INFO("expected " << whole.dump());
  for (auto side : {"below", "above"})
    for (auto kind : {"reservations_accepted", "tasks_canceled"})
      REQUIRE(whole["1"][side][kind] == 1);

  // Unordered, repeated and space-padded thresholds name the same splits.
  form q{{"SplitByWaitTime", "60, 1,1"}};
  CHECK(ok_json(api.get(w + "/CumulativeStatistics", q))["split_by_wait_time"] == whole);
  CHECK(ok_json(api.get(w + "/Statistics", q))["cumulative"]["split_by_wait_time"] == whole);
  CHECK(ok_json(api.get(w + "/Workflows/" + s.workflow + "/CumulativeStatistics", q))["split_by_wait_time"] == whole);
  CHECK(ok_json(api.get(w + "/Workflows/" + s.workflow + "/Statistics", q))["cumulative"]["split_by_wait_time"] ==
        whole);
  for (auto& queue : {s.queue, s.idle_queue}) {
    INFO("queue " << queue);
    auto in_queue = expected([&](const std::string& task) { return queue_of.at(task) == queue; });
    auto qp = w + "/TaskQueues/" + queue;
    CHECK(ok_json(api.get(qp + "/CumulativeStatistics", q))["split_by_wait_time"] == in_queue);
    CHECK(ok_json(api.get(qp + "/Statistics", q))["cumulative"]["split_by_wait_time"] == in_queue);
  }
  for (auto& entry : list(api, w + "/TaskQueues/Statistics", "task_queues_statistics", q)) {
    std::string queue = entry["task_queue_sid"];
    INFO("queue list entry " << queue);
    CHECK(entry["cumulative"]["split_by_wait_time"] ==
          expected([&](const std::string& task) { return queue_of.at(task) == queue; }));
  }
  // With TaskChannel, only that channel's waits are split.
  for (auto channel : {"voice", "chat"}) {
    INFO(channel);
    form cq{{"SplitByWaitTime", "1,60"}, {"TaskChannel", channel}};
    CHECK(ok_json(api.get(w + "/CumulativeStatistics", cq))["split_by_wait_time"] ==
          expected([&](const std::string& task) { return s.channel_of.at(task) == channel; }));
  }
  // Without SplitByWaitTime there is nothing to split.
  CHECK(ok_json(api.get(w + "/CumulativeStatistics"))["split_by_wait_time"] == json::object());
}

TEST_CASE("server: statistics refuse a malformed SplitByWaitTime with 400 and code 20001", "[api][statistics]") {
  live_server srv;
  auto& api = srv.api;
  auto ws = create_workspace(api, "strict-split");
  auto queue = create_queue(api, ws, "q");
  auto workflow = create_workflow(api, ws, "wf", queue);
  auto worker = create_worker(api, ws, "alice", activity_sid(api, ws, "Available"));
  auto task = create_task(api, ws, workflow);
  accept_task(api, ws, task);

  auto before = workspace_state_of(api, ws);
  for (auto& [path, split] : statistics_paths(ws, queue, workflow, worker)) {
    INFO(path);
    CHECK(api.get(path, {{"SplitByWaitTime", "5,30"}}).status == 200);
    CHECK(api.get(path, {{"SplitByWaitTime", "0"}}).status == 200);
    for (std::string bad : {"abc", "-5", "5,-30", "5,,30", "5;30", "1.5", "", "5,", ",5", "0x10", "+5",
                            "99999999999", "5 30"}) {
      INFO("SplitByWaitTime=" << bad);
      auto r = api.get(path, {{"SplitByWaitTime", bad}});
      if (split)
        check_error(r, 400, 20001);
      else
        CHECK(r.status == 200); // Twilio takes no SplitByWaitTime here; it is ignored
    }
  }
  CHECK(workspace_state_of(api, ws) == before);
}

TEST_CASE("internal parameter names cannot be sent by a client", "[api]") {
  live_server s;
  auto ws = create_workspace(s.api, "smuggle");
  auto before = s.api.get(ws_path(ws)).body;
  auto r = s.api.post(ws_path(ws), {{"FriendlyName", "changed"}, {"__ActivitySid", "WA" + hex32}});
  check_error(r, 400, 20001);
  CHECK(s.api.get(ws_path(ws)).body == before);
}

TEST_CASE("parameters that are not UTF-8 are refused and change nothing", "[api]") {
  live_server s;
  auto ws = create_workspace(s.api, "utf8");
  auto before = s.api.get("/v1/Workspaces").body;
  // A raw 0xFF byte in a value, and in a query string.
  check_error(s.api.raw(http::verb::post, "/v1/Workspaces", "FriendlyName=bad%FFname",
                        {{"Authorization", s.api.authorization()},
                         {"Content-Type", "application/x-www-form-urlencoded"}}),
              400, 20001);
  check_error(s.api.raw(http::verb::get, ws_path(ws) + "/Workers?FriendlyName=%C3", "",
                        {{"Authorization", s.api.authorization()}}),
              400, 20001);
  CHECK(s.api.get("/v1/Workspaces").body == before);
  // Well-formed multi-byte text is fine.
  auto doc = ok_json(s.api.post("/v1/Workspaces", {{"FriendlyName", "caf\xc3\xa9 \xe6\xbc\xa2"}}), 201);
  CHECK(doc["friendly_name"] == "caf\xc3\xa9 \xe6\xbc\xa2");
}
