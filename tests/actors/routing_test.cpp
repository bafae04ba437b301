// Deterministic routing tests: the test coordinator runs every actor on this
// thread and virtual time moves only through advance().

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sb;
using actors::tr_op;
using model::reservation_status;
using model::task_status;
using test::expect_one;
using test::expect_page;

namespace {

std::string single_queue_workflow(const std::string& queue_sid, const std::string& extra = "") {
  return R"({"task_routing":{"filters":[{"filter_friendly_name":"all","expression":"1==1","targets":[{"queue":")" +
         queue_sid + "\"" + extra + R"(}]}]}})";
}

model::reservation pending_reservation(test::harness& h, const std::string& worker) {
  for (auto& r : h.worker_reservations(worker))
    if (r.status == reservation_status::pending)
      return r;
  FAIL("worker " << worker << " has no pending reservation");
  return {};
}

} // namespace

TEST_CASE("a task goes to the available worker idle longest and completes", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("support", "1==1");
  auto w1 = h.create_worker("alice", R"({"skills":["en"]})");
  auto w2 = h.create_worker("bob", R"({"skills":["en"]})");
  h.create_workflow("wf", single_queue_workflow(q));

  auto t = h.create_task(R"({"type":"support"})");
  auto task = h.task(t);
  REQUIRE(task.status == task_status::reserved);
  // alice became available first, so she has been idle longest.
  REQUIRE(task.worker_sid == w1);
  auto res = pending_reservation(h, w1);
  REQUIRE(res.task_sid == t);
  REQUIRE(h.worker_reservations(w2).empty());

  auto accepted = expect_one<model::reservation>(
    h.op(tr_op::task_reservation_update, t, res.sid, {{"ReservationStatus", "accepted"}}));
  REQUIRE(accepted.status == reservation_status::accepted);
  REQUIRE(h.task(t).status == task_status::assigned);

  expect_one<model::task>(h.op(tr_op::task_update, t, {}, {{"AssignmentStatus", "wrapping"}}));
  REQUIRE(h.task(t).status == task_status::wrapping);
  expect_one<model::task>(h.op(tr_op::task_update, t, {}, {{"AssignmentStatus", "completed"}}));
  REQUIRE(h.task(t).status == task_status::completed);

  auto channels = expect_page<actors::worker_channel_ref>(h.op(tr_op::worker_channel_list, w1));
  for (auto& c : channels)
    REQUIRE(c.channel.assigned_tasks == 0);

  std::vector<std::string> types;
  for (auto& e : h.events())
    types.push_back(e.event_type);
  for (auto expected : {"task.created", "workflow.target-matched", "task-queue.entered",
                        "reservation.created", "reservation.accepted", "task.wrapup",
                        "task.completed", "worker.created"})
    REQUIRE(std::find(types.begin(), types.end(), expected) != types.end());
}

TEST_CASE("queue order is priority first, then age", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("support", "1==1");
  h.create_workflow("wf", single_queue_workflow(q));
  auto low_old = h.create_task("{}", 1);
  auto high = h.create_task("{}", 10);
  auto low_new = h.create_task("{}", 1);
  auto w = h.create_worker("alice", "{}");
  std::vector<std::string> served;
  for (int i = 0; i < 3; ++i) {
    auto r = pending_reservation(h, w);
    served.push_back(r.task_sid);
    h.op(tr_op::task_reservation_update, r.task_sid, r.sid, {{"ReservationStatus", "accepted"}});
    h.op(tr_op::task_update, r.task_sid, {}, {{"AssignmentStatus", "completed"}});
  }
  REQUIRE(served == std::vector<std::string>{high, low_old, low_new});
}

TEST_CASE("a reservation timeout moves the worker to the timeout activity and requeues the task in its old place", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("support", "1==1");
  h.create_workflow("wf", single_queue_workflow(q), 30);
  auto w1 = h.create_worker("alice", "{}");
  auto first = h.create_task("{}");
  auto second = h.create_task("{}");
  REQUIRE(h.task(first).worker_sid == w1);
  REQUIRE(h.task(second).status == task_status::pending);

  h.advance(std::chrono::seconds(29));
  REQUIRE(h.task(first).status == task_status::reserved);
  h.advance(std::chrono::seconds(2));
  REQUIRE(h.task(first).status == task_status::pending);
  auto worker = h.worker(w1);
  REQUIRE(worker.activity_name == "Offline");
  REQUIRE_FALSE(worker.available);
  REQUIRE(h.events("reservation.timeout").size() == 1);

  // The next available worker gets the first task again, not the second.
  auto w2 = h.create_worker("bob", "{}");
  REQUIRE(h.task(first).worker_sid == w2);
  REQUIRE(h.task(second).status == task_status::pending);
}

TEST_CASE("a rejected task is not offered to the same worker again", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("support", "1==1");
  h.create_workflow("wf", single_queue_workflow(q));
  auto w1 = h.create_worker("alice", "{}");
  auto t = h.create_task("{}");
  auto r = pending_reservation(h, w1);
  h.op(tr_op::task_reservation_update, t, r.sid, {{"ReservationStatus", "rejected"}});
  REQUIRE(h.task(t).status == task_status::pending);
  REQUIRE(h.worker_reservations(w1).size() == 1);
  auto w2 = h.create_worker("bob", "{}");
  REQUIRE(h.task(t).worker_sid == w2);
}

TEST_CASE("target timeouts step through the workflow and the last one cancels the task", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q1 = h.create_queue("first", R"(level == 1)");
  auto q2 = h.create_queue("second", R"(level == 2)");
  auto cfg = R"({"task_routing":{"filters":[{"expression":"1==1","targets":[{"queue":")" + q1 +
             R"(","timeout":10},{"queue":")" + q2 + R"(","timeout":20}]}]}})";
  h.create_workflow("wf", cfg);
  auto t = h.create_task("{}");
  REQUIRE(h.task(t).queue_sid == q1);
  h.advance(std::chrono::seconds(11));
  REQUIRE(h.task(t).queue_sid == q2);
  REQUIRE(h.task(t).status == task_status::pending);
  h.advance(std::chrono::seconds(21));
  auto task = h.task(t);
  REQUIRE(task.status == task_status::canceled);
  REQUIRE(task.reason == "Workflow Timeout");
  REQUIRE(h.events("workflow.timeout").size() == 1);
}

TEST_CASE("filters pick the first match, targets use worker expressions and priority", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto sales = h.create_queue("sales", R"(skills HAS "sales")");
  auto support = h.create_queue("support", R"(skills HAS "support")");
  auto cfg = R"({"task_routing":{"filters":[)"
             R"({"filter_friendly_name":"sales","expression":"type == 'sales'","targets":[{"queue":")" + sales +
             R"(","expression":"task.language IN worker.languages","priority":7}]}],)"
             R"("default_filter":{"queue":")" + support + R"("}}})";
  h.create_workflow("wf", cfg);
  auto fr = h.create_worker("fr", R"({"skills":["sales"],"languages":["fr"]})");
  auto en = h.create_worker("en", R"({"skills":["sales"],"languages":["en"]})");
  auto sup = h.create_worker("sup", R"({"skills":["support"]})");
  auto t1 = h.create_task(R"({"type":"sales","language":"en"})");
  auto t2 = h.create_task(R"({"type":"billing"})");
  REQUIRE(h.task(t1).worker_sid == en);
  REQUIRE(h.task(t1).priority == 7);
  REQUIRE(h.task(t1).queue_sid == sales);
  REQUIRE(h.task(t2).worker_sid == sup);
  REQUIRE(h.worker_reservations(fr).empty());
}

TEST_CASE("skip_if moves past a target with no available worker", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q1 = h.create_queue("first", "tier == 1");
  auto q2 = h.create_queue("second", "1==1");
  auto cfg = R"({"task_routing":{"filters":[{"expression":"1==1","targets":[{"queue":")" + q1 +
             R"(","skip_if":"workers.available == 0"},{"queue":")" + q2 + R"("}]}]}})";
  h.create_workflow("wf", cfg);
  auto w = h.create_worker("any", R"({"tier":2})");
  auto t = h.create_task("{}");
  REQUIRE(h.task(t).queue_sid == q2);
  REQUIRE(h.task(t).worker_sid == w);
}

TEST_CASE("TTL expiry cancels a pending task with its reason", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("support", "1==1");
  h.create_workflow("wf", single_queue_workflow(q));
  auto t = h.create_task("{}", 0, "default", 60);
  h.advance(std::chrono::seconds(61));
  auto task = h.task(t);
  REQUIRE(task.status == task_status::canceled);
  REQUIRE(task.reason == "Task TTL Exceeded");
  REQUIRE(h.queue_stats(q)["tasks_by_status"]["pending"] == 0);
}

TEST_CASE("multitasking respects per-channel capacity", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("chat", "1==1");
  h.create_workflow("wf", single_queue_workflow(q));
  auto w = h.create_worker("alice", "{}");
  h.op(tr_op::worker_channel_update, w, "chat", {{"Capacity", "2"}});
  std::vector<std::string> tasks;
  for (int i = 0; i < 3; ++i)
    tasks.push_back(h.create_task("{}", 0, "chat"));
  REQUIRE(h.task(tasks[0]).status == task_status::reserved);
  REQUIRE(h.task(tasks[1]).status == task_status::reserved);
  REQUIRE(h.task(tasks[2]).status == task_status::pending);
  // Voice capacity is separate (1).
  auto v = h.create_task("{}", 0, "voice");
  REQUIRE(h.task(v).status == task_status::reserved);
  auto ch = expect_one<actors::worker_channel_ref>(h.op(tr_op::worker_channel_fetch, w, "chat"));
  REQUIRE(ch.channel.assigned_tasks == 2);
  REQUIRE(ch.channel.available_capacity_percentage() == 0);
}

TEST_CASE("changing a worker's activity or attributes takes effect for routing at once", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("vip", "vip == true");
  h.create_workflow("wf", single_queue_workflow(q));
  auto w = h.create_worker("alice", R"({"vip":false})", "Offline");
  auto t = h.create_task("{}");
  REQUIRE(h.task(t).status == task_status::pending);
  h.op(tr_op::worker_update, w, {}, {{"ActivitySid", h.activity_sid("Available")}});
  REQUIRE(h.task(t).status == task_status::pending);
  h.op(tr_op::worker_update, w, {}, {{"Attributes", R"({"vip":true})"}});
  REQUIRE(h.task(t).status == task_status::reserved);
  REQUIRE(h.task(t).worker_sid == w);
}

TEST_CASE("canceling a reserved task rescinds the reservation and frees capacity", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("support", "1==1");
  h.create_workflow("wf", single_queue_workflow(q));
  auto w = h.create_worker("alice", "{}");
  auto t = h.create_task("{}");
  REQUIRE(h.task(t).status == task_status::reserved);
  expect_one<model::task>(h.op(tr_op::task_update, t, {}, {{"AssignmentStatus", "canceled"}}));
  REQUIRE(h.task(t).status == task_status::canceled);
  auto t2 = h.create_task("{}");
  REQUIRE(h.task(t2).worker_sid == w);
}

TEST_CASE("bad input changes nothing", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("support", "1==1");
  auto bad_expr = h.op(tr_op::queue_create, {}, {}, {{"FriendlyName", "x"}, {"TargetWorkers", "skills HAS"}});
  REQUIRE(test::error_of(bad_expr).code == 20001);
  auto bad_cfg = h.op(tr_op::workflow_create, {}, {},
                      {{"FriendlyName", "wf"}, {"Configuration", R"({"task_routing":{"filters":[{"expression":"a ==","targets":[{"queue":")" + q + R"("}]}]}})"}});
  REQUIRE(test::error_of(bad_cfg).code == 20001);
  REQUIRE(expect_page<model::task_queue>(h.op(tr_op::queue_list)).size() == 1);
  auto unknown = h.op(tr_op::task_fetch, "WT00000000000000000000000000000000");
  REQUIRE(test::error_of(unknown).code == 20404);
  auto bad_attrs = h.op(tr_op::worker_create, {}, {}, {{"FriendlyName", "w"}, {"Attributes", "{not json"}});
  REQUIRE(test::error_of(bad_attrs).code == 20001);
  REQUIRE(expect_page<model::worker>(h.op(tr_op::worker_list)).empty());
  // Another account's workspace answers as an absent one.
  h.account = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  REQUIRE(test::error_of(h.op(tr_op::workspace_fetch)).code == 20404);
}

TEST_CASE("the FIFO template creates a sample queue and a default workflow that route", "[actors]") {
  test::harness h;
  actors::tr_call c;
  c.op = tr_op::workspace_create;
  c.account_sid = h.account;
  c.params.add("FriendlyName", "fifo");
  c.params.add("Template", "FIFO");
  h.workspace = expect_one<model::workspace>(h.call(std::move(c))).sid;
  auto queues = expect_page<model::task_queue>(h.op(tr_op::queue_list));
  REQUIRE(queues.size() == 1);
  REQUIRE(queues[0].friendly_name == "Sample Queue");
  auto w = h.create_worker("alice", "{}");
  auto t = h.create_task("{}");
  REQUIRE(h.task(t).worker_sid == w);
  REQUIRE(h.task(t).workflow_friendly_name == "Default Fifo Workflow");
}

TEST_CASE("ReEvaluateTasks moves pending tasks to the new configuration's targets", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q1 = h.create_queue("old", "team == 'old'");
  auto q2 = h.create_queue("new", "team == 'new'");
  auto wf = h.create_workflow("wf", single_queue_workflow(q1));
  auto t = h.create_task("{}");
  REQUIRE(h.task(t).queue_sid == q1);
  auto w = h.create_worker("nina", R"({"team":"new"})");
  REQUIRE(h.task(t).status == task_status::pending);
  expect_one<model::workflow>(h.op(tr_op::workflow_update, wf, {},
                                   {{"Configuration", single_queue_workflow(q2)},
                                    {"ReEvaluateTasks", "true"}}));
  REQUIRE(h.task(t).queue_sid == q2);
  REQUIRE(h.task(t).worker_sid == w);
  REQUIRE(h.queue_stats(q1)["total_tasks"] == 0);
}

TEST_CASE("a queue's reservation and assignment activities move the worker", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto reserved = expect_one<model::activity>(h.op(tr_op::activity_create, {}, {},
                                                   {{"FriendlyName", "Reserved"}, {"Available", "false"}}));
  auto busy = expect_one<model::activity>(h.op(tr_op::activity_create, {}, {},
                                               {{"FriendlyName", "Busy"}, {"Available", "false"}}));
  auto q = expect_one<model::task_queue>(h.op(tr_op::queue_create, {}, {},
                                              {{"FriendlyName", "q"},
                                               {"TargetWorkers", "1==1"},
                                               {"ReservationActivitySid", reserved.sid},
                                               {"AssignmentActivitySid", busy.sid}}));
  REQUIRE(q.reservation_activity_name == "Reserved");
  h.create_workflow("wf", single_queue_workflow(q.sid));
  auto w = h.create_worker("alice", "{}");
  h.op(tr_op::worker_channel_update, w, "default", {{"Capacity", "2"}});
  auto t1 = h.create_task("{}");
  auto t2 = h.create_task("{}");
  REQUIRE(h.task(t1).worker_sid == w);
  auto worker = h.worker(w);
  REQUIRE(worker.activity_name == "Reserved");
  REQUIRE_FALSE(worker.available);
  // Unavailable now, so the second task waits although capacity remains.
  REQUIRE(h.task(t2).status == task_status::pending);
  auto r = pending_reservation(h, w);
  h.op(tr_op::task_reservation_update, t1, r.sid, {{"ReservationStatus", "accepted"}});
  REQUIRE(h.worker(w).activity_name == "Busy");
  // An activity a queue uses cannot be deleted.
  REQUIRE(test::error_of(h.op(tr_op::activity_delete, busy.sid)).code == 20001);
}

TEST_CASE("MaxReservedWorkers reserves several workers and the first to accept wins", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("broadcast", "1==1");
  h.op(tr_op::queue_update, q, {}, {{"MaxReservedWorkers", "2"}});
  h.create_workflow("wf", single_queue_workflow(q));
  auto a = h.create_worker("alice", "{}");
  auto b = h.create_worker("bob", "{}");
  auto c = h.create_worker("carol", "{}");
  auto t = h.create_task("{}");
  REQUIRE(h.task(t).status == task_status::reserved);
  auto ra = pending_reservation(h, a);
  auto rb = pending_reservation(h, b);
  REQUIRE(h.worker_reservations(c).empty()); // two at most
  REQUIRE(expect_page<model::reservation>(h.op(tr_op::task_reservation_list, t)).size() == 2);
  h.op(tr_op::task_reservation_update, t, rb.sid, {{"ReservationStatus", "accepted"}});
  auto task = h.task(t);
  REQUIRE(task.status == task_status::assigned);
  REQUIRE(task.worker_sid == b);
  // Alice's reservation was rescinded and her capacity freed.
  auto alice = h.worker_reservations(a);
  REQUIRE(alice.size() == 1);
  REQUIRE(alice[0].status == reservation_status::rescinded);
  for (auto& ch : expect_page<actors::worker_channel_ref>(h.op(tr_op::worker_channel_list, a)))
    REQUIRE(ch.channel.assigned_tasks == 0);
  REQUIRE(h.events("reservation.rescinded").size() == 1);
  // A rejection by one of two holders keeps the task reserved by the other.
  auto t2 = h.create_task("{}");
  std::vector<model::reservation> held;
  for (auto& w : {a, c})
    for (auto& r : h.worker_reservations(w))
      if (r.status == reservation_status::pending && r.task_sid == t2)
        held.push_back(r);
  REQUIRE(held.size() == 2);
  h.op(tr_op::task_reservation_update, t2, held[0].sid, {{"ReservationStatus", "rejected"}});
  REQUIRE(h.task(t2).status == task_status::reserved);
  REQUIRE(h.task(t2).reservation_sid == held[1].sid);
}

TEST_CASE("cumulative statistics count what happened in their time window", "[actors]") {
  test::harness h;
  h.create_workspace("ws");
  auto q = h.create_queue("q", "1==1");
  h.create_workflow("wf", single_queue_workflow(q));
  h.create_task("{}");
  h.create_task("{}");
  auto cu = [&](model::form_pairs p) {
    return expect_one<actors::statistics>(h.op(tr_op::workspace_cumulative_statistics, {}, {}, p)).doc;
  };
  REQUIRE(cu({})["tasks_created"] == 2); // the default window: the last 15 minutes
  REQUIRE(cu({{"Minutes", "5"}})["tasks_entered"] == 2);
  auto later = model::iso8601(std::chrono::system_clock::now() + std::chrono::hours(1));
  auto much_later = model::iso8601(std::chrono::system_clock::now() + std::chrono::hours(2));
  REQUIRE(cu({{"StartDate", later}, {"EndDate", much_later}})["tasks_created"] == 0);
  auto queue_cu = expect_one<actors::statistics>(h.op(tr_op::queue_cumulative_statistics, q)).doc;
  REQUIRE(queue_cu["tasks_entered"] == 2);
  REQUIRE(test::error_of(h.op(tr_op::workspace_cumulative_statistics, {}, {}, {{"Minutes", "0"}})).code == 20001);
  REQUIRE(test::error_of(h.op(tr_op::workspace_cumulative_statistics, {}, {},
                              {{"StartDate", much_later}, {"EndDate", later}})).code == 20001);
}
