// Outbound callbacks from the real binary to a real local receiver: workspace
// event callbacks (signed as Twilio signs them, retried after a failure, never
// blocking routing) and workflow assignment callbacks (an accept or reject
// instruction in the answer is obeyed).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "model/form.hpp"
#include "model/signature.hpp"
#include "receiver.hpp"
#include "server_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using sbtest::received;
using sbtest::receiver;
using sbtest::param;

bool has_event(const std::vector<received>& seen, const std::string& type) {
  for (auto& r : seen)
    if (param(r, "EventType") == type)
      return true;
  return false;
}

// A workspace with one queue, one workflow (optionally with an assignment
// callback) and one available worker.
struct routing_setup {
  std::string ws, queue, workflow, worker, available;
};

routing_setup make_routing(sbtest::api_client& api, const std::string& event_url,
                           const std::string& assignment_url = {}) {
  routing_setup s;
  sbtest::form ws_params{{"FriendlyName", "callbacks"}};
  if (!event_url.empty())
    ws_params.emplace_back("EventCallbackUrl", event_url);
  auto ws = api.post("/v1/Workspaces", ws_params);
  REQUIRE(ws.status == 201);
  s.ws = ws.json()["sid"];
  auto base = "/v1/Workspaces/" + s.ws;
  auto activities = api.get(base + "/Activities").json();
  for (auto& a : activities["activities"])
    if (a["friendly_name"] == "Available")
      s.available = a["sid"];
  auto q = api.post(base + "/TaskQueues", {{"FriendlyName", "q"}, {"TargetWorkers", "1==1"}});
  REQUIRE(q.status == 201);
  s.queue = q.json()["sid"];
  sbtest::form wf{{"FriendlyName", "wf"},
                  {"Configuration", R"({"task_routing":{"default_filter":{"queue":")" + s.queue + R"("}}})"}};
  if (!assignment_url.empty())
    wf.emplace_back("AssignmentCallbackUrl", assignment_url);
  auto w = api.post(base + "/Workflows", wf);
  REQUIRE(w.status == 201);
  s.workflow = w.json()["sid"];
  auto wk = api.post(base + "/Workers", {{"FriendlyName", "alice"}, {"ActivitySid", s.available}});
  REQUIRE(wk.status == 201);
  s.worker = wk.json()["sid"];
  return s;
}

// Polls the task until pred holds or the deadline passes.
nlohmann::json wait_task(sbtest::api_client& api, const std::string& path,
                         const std::function<bool(const nlohmann::json&)>& pred,
                         std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  nlohmann::json t;
  do {
    t = api.get(path).json();
    if (pred(t))
      return t;
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() < deadline);
  return t;
}

} // namespace

TEST_CASE("event callbacks are posted, signed like Twilio's webhooks", "[api][callbacks]") {
  receiver rx{[](const received&) { return std::pair<unsigned, std::string>{200, "{}"}; }};
  sbtest::server_process server;
  sbtest::api_client api{server.port(), server.account_sid(), server.auth_token()};
  auto url = rx.url("/events?tenant=1");
  auto s = make_routing(api, url);
  auto task = api.post("/v1/Workspaces/" + s.ws + "/Tasks", {{"Attributes", R"({"topic":"billing"})"}});
  REQUIRE(task.status == 201);
  REQUIRE(rx.wait_for([](auto& seen) {
    return has_event(seen, "task.created") && has_event(seen, "reservation.created") &&
           has_event(seen, "worker.created");
  }));
  for (auto& r : rx.seen()) {
    INFO(param(r, "EventType"));
    REQUIRE(r.target == "/events?tenant=1");
    // The signature covers the URL exactly as configured plus the sorted parameters.
    REQUIRE(r.signature == sb::model::twilio_signature(server.auth_token(), url, r.params.pairs()));
    REQUIRE(param(r, "AccountSid") == server.account_sid());
    REQUIRE(param(r, "WorkspaceSid") == s.ws);
    REQUIRE_FALSE(param(r, "Sid").empty());
  }
  for (auto& r : rx.seen())
    if (param(r, "EventType") == "task.created")
      REQUIRE(param(r, "TaskAttributes") == R"({"topic":"billing"})");
}

TEST_CASE("a failed event delivery is retried", "[api][callbacks]") {
  std::atomic<int> calls{0};
  // The first two deliveries fail; later ones succeed.
  receiver rx{[&](const received&) {
    return ++calls <= 2 ? std::pair<unsigned, std::string>{500, "{}"}
                        : std::pair<unsigned, std::string>{200, "{}"};
  }};
  sbtest::server_process server;
  sbtest::api_client api{server.port(), server.account_sid(), server.auth_token()};
  auto s = make_routing(api, rx.url("/events"));
  // Some event was delivered more than once: the same event SID arrived again.
  REQUIRE(rx.wait_for([](auto& seen) {
    for (size_t i = 0; i < seen.size(); ++i)
      for (size_t j = i + 1; j < seen.size(); ++j)
        if (param(seen[i], "Sid") == param(seen[j], "Sid"))
          return true;
    return false;
  }, 15s));
  // And every event was eventually delivered at least once with a 2xx.
  REQUIRE(rx.wait_for([](auto& seen) { return has_event(seen, "worker.created"); }, 15s));
}

TEST_CASE("a receiver that never answers does not hold up routing", "[api][callbacks]") {
  receiver rx{[](const received&) { return std::pair<unsigned, std::string>{0, ""}; }};
  sbtest::server_process server;
  sbtest::api_client api{server.port(), server.account_sid(), server.auth_token()};
  auto s = make_routing(api, rx.url("/events"));
  auto task = api.post("/v1/Workspaces/" + s.ws + "/Tasks", {{"Attributes", "{}"}});
  REQUIRE(task.status == 201);
  std::string path = "/v1/Workspaces/" + s.ws + "/Tasks/" + task.json()["sid"].get<std::string>();
  auto t = wait_task(api, path, [](auto& t) { return t["assignment_status"] == "reserved"; }, 5s);
  REQUIRE(t["assignment_status"] == "reserved");
}

TEST_CASE("the assignment callback's accept instruction is obeyed", "[api][callbacks]") {
  receiver rx{[](const received& r) {
    return std::pair<unsigned, std::string>{200, R"({"instruction":"accept"})"};
  }};
  sbtest::server_process server;
  sbtest::api_client api{server.port(), server.account_sid(), server.auth_token()};
  auto s = make_routing(api, {}, rx.url("/assign"));
  auto task = api.post("/v1/Workspaces/" + s.ws + "/Tasks", {{"Attributes", "{}"}});
  REQUIRE(task.status == 201);
  std::string path = "/v1/Workspaces/" + s.ws + "/Tasks/" + task.json()["sid"].get<std::string>();
  auto t = wait_task(api, path, [](auto& t) { return t["assignment_status"] == "assigned"; });
  REQUIRE(t["assignment_status"] == "assigned");
  auto seen = rx.seen();
  REQUIRE(seen.size() == 1);
  REQUIRE(param(seen[0], "TaskSid") == t["sid"]);
  REQUIRE(param(seen[0], "WorkerSid") == s.worker);
  REQUIRE(seen[0].signature ==
          sb::model::twilio_signature(server.auth_token(), rx.url("/assign"), seen[0].params.pairs()));
}

TEST_CASE("the assignment callback's reject instruction is obeyed", "[api][callbacks]") {
  receiver rx{[](const received&) {
    return std::pair<unsigned, std::string>{200, R"({"instruction":"reject"})"};
  }};
  sbtest::server_process server;
  sbtest::api_client api{server.port(), server.account_sid(), server.auth_token()};
  auto s = make_routing(api, {}, rx.url("/assign"));
  auto task = api.post("/v1/Workspaces/" + s.ws + "/Tasks", {{"Attributes", "{}"}});
  std::string sid = task.json()["sid"];
  std::string path = "/v1/Workspaces/" + s.ws + "/Tasks/" + sid;
  REQUIRE(rx.wait_for([](auto& seen) { return seen.size() >= 1; }));
  // The only worker rejected it, so the task waits again with no reservation pending.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  nlohmann::json res;
  do {
    res = api.get(path + "/Reservations").json();
  } while ((res["reservations"].empty() || res["reservations"][0]["reservation_status"] != "rejected") &&
           std::chrono::steady_clock::now() < deadline);
  REQUIRE(res["reservations"].size() == 1);
  REQUIRE(res["reservations"][0]["reservation_status"] == "rejected");
  REQUIRE(res["reservations"][0]["worker_sid"] == s.worker);
  auto t = api.get(path).json();
  REQUIRE(t["assignment_status"] == "pending");
  auto rejected = api.get("/v1/Workspaces/" + s.ws + "/Events", {{"EventType", "reservation.rejected"}}).json();
  REQUIRE(rejected["events"].size() == 1);
}
