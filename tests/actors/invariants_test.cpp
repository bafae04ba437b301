// Randomized interleavings of accept, reject, timeouts, activity and attribute
// changes, wrap-up, completion and cancellation across many workers and
// tasks. After every step, with all actors idle, the invariants of
// DESIGN.md must hold:
//   - no task is held by two workers (at most one active reservation per task);
//   - no worker exceeds its capacity on a channel;
//   - no task is lost: a task is final, or pending and waiting in exactly the
//     queue it names, or reserved/assigned/wrapping with exactly one active
//     reservation at the worker it names;
//   - an unavailable worker holds no pending reservation created after it
//     became unavailable (it is never offered a task).

#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace sb;
using actors::tr_op;
using model::reservation_status;
using model::task_status;
using test::expect_one;
using test::expect_page;

namespace {

bool active(reservation_status s) {
  return s == reservation_status::pending || s == reservation_status::accepted ||
         s == reservation_status::wrapping;
}

struct world {
  test::harness h;
  std::vector<std::string> queues;
  std::vector<std::string> workers;
  std::map<std::string, int> chat_capacity;
  std::vector<std::string> tasks;
  std::set<std::string> last_final;
  int hired = 0;
  int multi_held = 0; // checks that saw a task held by two workers at once
  std::string available, offline;
  std::mt19937 rng;

  explicit world(unsigned seed) : rng(seed) {
    h.create_workspace("random");
    available = h.activity_sid("Available");
    offline = h.activity_sid("Offline");
    queues.push_back(h.create_queue("low", "level >= 1"));
    queues.push_back(h.create_queue("high", "level >= 2"));
    // Up to two workers hold a high task at once; the first to accept wins.
    h.op(tr_op::queue_update, queues.back(), {}, {{"MaxReservedWorkers", "2"}});
    queues.push_back(h.create_queue("spanish", "languages HAS 'es'"));
    auto cfg = R"({"task_routing":{"filters":[)"
               R"({"expression":"lang == 'es'","targets":[{"queue":")" + queues[2] + R"(","timeout":40},{"queue":")" + queues[0] + R"("}]},)"
               R"({"expression":"vip == true","targets":[{"queue":")" + queues[1] + R"(","timeout":30,"priority":5},{"queue":")" + queues[0] + R"(","timeout":60}]}],)"
               R"("default_filter":{"queue":")" + queues[0] + R"("}}})";
    h.create_workflow("wf", cfg, 25);
    for (int i = 0; i < 12; ++i) {
      auto sid = h.create_worker("w" + std::to_string(i), attrs(), i % 3 ? "Available" : "Offline");
      int cap = 1 + static_cast<int>(rng() % 3);
      h.op(tr_op::worker_channel_update, sid, "chat", {{"Capacity", std::to_string(cap)}});
      chat_capacity[sid] = cap;
      workers.push_back(sid);
    }
  }

  std::string attrs() {
    int level = 1 + static_cast<int>(rng() % 2);
    bool es = rng() % 3 == 0;
    return R"({"level":)" + std::to_string(level) + R"(,"languages":)" +
           (es ? R"(["en","es"])" : R"(["en"])") + "}";
  }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[rng() % v.size()];
  }

  void step() {
    switch (rng() % 12) {
      case 0:
      case 1: {
        std::string a = rng() % 4 == 0 ? R"({"lang":"es"})"
                        : rng() % 3 == 0 ? R"({"vip":true})" : R"({"topic":"x"})";
        tasks.push_back(h.create_task(a, static_cast<int>(rng() % 3), rng() % 2 ? "chat" : "voice",
                                      100 + static_cast<int>(rng() % 400)));
        break;
      }
      case 2:
      case 3: { // accept or reject a pending reservation, most often accept
        std::vector<std::string> order = workers;
        std::shuffle(order.begin(), order.end(), rng);
        for (auto& w : order)
        for (auto& r : h.worker_reservations(w))
          if (r.status == reservation_status::pending) {
            h.op(tr_op::worker_reservation_update, w, r.sid,
                 {{"ReservationStatus", rng() % 4 ? "accepted" : "rejected"}});
            return;
          }
        break;
      }
      case 4: // let timers run: reservation, target and TTL timeouts
        h.advance(std::chrono::seconds(1 + rng() % (rng() % 4 ? 8 : 40)));
        break;
      case 5:
        h.op(tr_op::worker_update, pick(workers), {},
             {{"ActivitySid", rng() % 3 ? available : offline}});
        break;
      case 6:
        h.op(tr_op::worker_update, pick(workers), {}, {{"Attributes", attrs()}});
        break;
      case 7:
      case 8: { // wrap up or complete an assigned task
        if (tasks.empty())
          break;
        auto t = pick(tasks);
        auto task = h.task(t);
        if (task.status == task_status::assigned)
          h.op(tr_op::task_update, t, {}, {{"AssignmentStatus", rng() % 2 ? "wrapping" : "completed"}});
        else if (task.status == task_status::wrapping)
          h.op(tr_op::task_update, t, {}, {{"AssignmentStatus", "completed"}});
        break;
      }
      case 9: { // cancel a pending or reserved task
        if (tasks.empty())
          break;
        auto t = pick(tasks);
        auto s = h.task(t).status;
        if (s == task_status::pending || s == task_status::reserved)
          h.op(tr_op::task_update, t, {}, {{"AssignmentStatus", "canceled"}});
        break;
      }
      case 11: { // delete a worker (refused while it holds tasks) and hire another
        auto i = rng() % workers.size();
        auto r = h.op(tr_op::worker_delete, workers[i]);
        if (std::holds_alternative<std::monostate>(r.value)) {
          chat_capacity.erase(workers[i]);
          auto sid = h.create_worker("hire" + std::to_string(hired++), attrs());
          h.op(tr_op::worker_channel_update, sid, "chat", {{"Capacity", "2"}});
          chat_capacity[sid] = 2;
          workers[i] = sid;
        }
        break;
      }
      case 10: { // reservation status changes through the worker view
        auto w = pick(workers);
        for (auto& r : h.worker_reservations(w))
          if (r.status == reservation_status::accepted) {
            h.op(tr_op::worker_reservation_update, w, r.sid, {{"ReservationStatus", "completed"}});
            break;
          }
        break;
      }
    }
  }

  void check() {
    std::map<std::string, std::vector<model::reservation>> active_by_task;
    for (auto& w : workers) {
      std::map<std::string, int> load;
      for (auto& r : h.worker_reservations(w))
        if (active(r.status)) {
          active_by_task[r.task_sid].push_back(r);
          ++load[r.task_channel];
        }
      auto worker = h.worker(w);
      auto channels = expect_page<actors::worker_channel_ref>(h.op(tr_op::worker_channel_list, w));
      for (auto& c : channels) {
        INFO("worker " << w << " channel " << c.channel.task_channel_unique_name);
        REQUIRE(load[c.channel.task_channel_unique_name] <= c.channel.configured_capacity);
        REQUIRE(load[c.channel.task_channel_unique_name] == c.channel.assigned_tasks);
      }
    }
    std::map<std::string, int> pending_per_queue;
    std::map<std::string, std::set<std::string>> pending_sids;
    auto all = expect_page<model::task>(h.op(tr_op::task_list, {}, {}, {}, 100000));
    // A task may leave the list only by retention, after it ended.
    std::set<std::string> listed;
    for (auto& t : all)
      listed.insert(t.sid);
    std::vector<std::string> kept;
    for (auto& sid : tasks) {
      if (!listed.count(sid)) {
        INFO("task " << sid << " vanished");
        REQUIRE(last_final.count(sid));
      } else
        kept.push_back(sid);
    }
    tasks = kept;
    REQUIRE(all.size() == tasks.size());
    for (auto& t : all) {
      if (model::is_final(t.status))
        last_final.insert(t.sid);
      INFO("task " << t.sid << " " << model::to_string(t.status));
      auto& holders = active_by_task[t.sid];
      REQUIRE(holders.size() <= 2); // MaxReservedWorkers is at most 2 here
      switch (t.status) {
        case task_status::pending:
          REQUIRE(holders.empty());
          REQUIRE_FALSE(t.queue_sid.empty());
          ++pending_per_queue[t.queue_sid];
          pending_sids[t.queue_sid].insert(t.sid);
          break;
        case task_status::reserved: {
          // One or more pending reservations, the task naming one of them.
          REQUIRE_FALSE(holders.empty());
          bool named = false;
          for (auto& r : holders) {
            REQUIRE(r.status == reservation_status::pending);
            named = named || (r.sid == t.reservation_sid && r.worker_sid == t.worker_sid);
          }
          if (!named) {
            UNSCOPED_INFO("task names " << t.reservation_sid << " at " << t.worker_sid);
            for (auto& r : holders)
              UNSCOPED_INFO("  held " << r.sid << " by " << r.worker_sid << " " << model::to_string(r.status));
            for (auto& r : expect_page<model::reservation>(h.op(tr_op::task_reservation_list, t.sid)))
              UNSCOPED_INFO("  task copy " << r.sid << " by " << r.worker_sid << " " << model::to_string(r.status));
            for (auto& e : h.events())
              if (e.task_sid == t.sid)
                UNSCOPED_INFO("  event " << e.event_type << " " << e.reservation_sid << " " << e.worker_sid);
          }
          REQUIRE(named);
          if (holders.size() > 1)
            ++multi_held;
          break;
        }
        case task_status::assigned:
        case task_status::wrapping:
          // Exactly one worker holds an assigned task: the others were rescinded.
          REQUIRE(holders.size() == 1);
          REQUIRE(holders[0].worker_sid == t.worker_sid);
          REQUIRE(holders[0].sid == t.reservation_sid);
          break;
        case task_status::completed:
        case task_status::canceled:
          REQUIRE(holders.empty());
          break;
      }
    }
    // Every pending task waits in exactly the queue it names, and nowhere else.
    for (auto& q : queues) {
      INFO("queue " << q);
      auto stats = h.queue_stats(q);
      std::set<std::string> waiting;
      for (auto& s : stats["waiting_in_order"])
        waiting.insert(s.get<std::string>());
      for (auto& s : pending_sids[q])
        if (!waiting.count(s)) {
          UNSCOPED_INFO("pending task " << s << " is not waiting in its queue");
          for (auto& e : h.events())
            if (e.task_sid == s)
              UNSCOPED_INFO("  " << e.event_type << " " << e.queue_sid << " " << e.worker_sid);
        }
      REQUIRE(stats["tasks_by_status"]["pending"].get<int>() == pending_per_queue[q]);
      REQUIRE(waiting == pending_sids[q]);
    }
  }
};

} // namespace

TEST_CASE("random interleavings keep the routing invariants", "[actors][invariants]") {
  for (unsigned seed : {1u, 2u, 3u, 4u}) {
    INFO("seed " << seed);
    world w{seed};
    for (int i = 0; i < 800; ++i) {
      INFO("step " << i);
      w.step();
      w.check();
    }
    // The run really exercised the protocol.
    REQUIRE(w.h.events("reservation.accepted").size() > 5);
    REQUIRE(w.hired > 0);
    REQUIRE(w.multi_held > 0);
    REQUIRE(w.h.events("reservation.timeout").size() + w.h.events("reservation.rejected").size() > 0);
  }
}
