#pragma once
// What the Flex and Studio API tests share: a TaskRouter workspace set up
// for Flex (one queue for everyone, a workflow to it, workers Alice and Bob
// with contact URIs) and the reservation steps an agent takes.

#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "checks.hpp"
#include "server_fixture.hpp"

namespace sbtest {

// A workspace with one queue for everyone, a workflow to it, and two
// available workers (alice, bob) with contact URIs.
struct flex_setup {
  std::string ws, queue, workflow, alice, bob, available, offline;
  std::string base() const { return "/v1/Workspaces/" + ws; }
};

inline flex_setup make_flex(api_client& api, bool bob_available = true) {
  flex_setup s;
  s.ws = ok(api.post("/v1/Workspaces", {{"FriendlyName", "flex"}}), 201)["sid"];
  auto activities = ok(api.get(s.base() + "/Activities"));
  for (auto& a : activities["activities"]) {
    if (a["friendly_name"] == "Available")
      s.available = a["sid"];
    if (a["friendly_name"] == "Offline")
      s.offline = a["sid"];
  }
  s.queue = ok(api.post(s.base() + "/TaskQueues", {{"FriendlyName", "everyone"}, {"TargetWorkers", "1==1"}}), 201)["sid"];
  s.workflow = ok(api.post(s.base() + "/Workflows",
                           {{"FriendlyName", "to everyone"},
                            {"Configuration", R"({"task_routing":{"default_filter":{"queue":")" + s.queue + R"("}}})"}}),
                  201)["sid"];
  s.alice = ok(api.post(s.base() + "/Workers", {{"FriendlyName", "Alice"},
                                                 {"Attributes", R"({"contact_uri":"client:alice"})"},
                                                 {"ActivitySid", s.available}}),
               201)["sid"];
  s.bob = ok(api.post(s.base() + "/Workers", {{"FriendlyName", "Bob"},
                                               {"Attributes", R"({"contact_uri":"client:bob"})"},
                                               {"ActivitySid", bob_available ? s.available : s.offline}}),
             201)["sid"];
  return s;
}

// The task's pending reservation, once it has one.
inline std::string pending_reservation(api_client& api, const flex_setup& s, const std::string& task,
                                const std::string& worker = {}) {
  std::string sid;
  REQUIRE(eventually(
    [&] {
      auto page = api.get(s.base() + "/Tasks/" + task + "/Reservations").json();
      for (auto& r : page["reservations"])
        if (r["reservation_status"] == "pending" && (worker.empty() || r["worker_sid"] == worker)) {
          sid = r["sid"];
          return true;
        }
      return false;
    },
    10s));
  return sid;
}

inline void accept(api_client& api, const flex_setup& s, const std::string& task, const std::string& reservation) {
  ok(api.post(s.base() + "/Tasks/" + task + "/Reservations/" + reservation, {{"ReservationStatus", "accepted"}}));
}

inline std::string task_status(api_client& api, const flex_setup& s, const std::string& task) {
  return ok(api.get(s.base() + "/Tasks/" + task))["assignment_status"];
}

} // namespace sbtest
