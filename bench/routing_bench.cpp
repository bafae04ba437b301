// In-process routing benchmark: 10,000 workers over 100 queues (chat capacity
// 3), tasks driven from creation through reservation, accept, wrap-up and
// completion by a driver actor that plays every agent. Prints throughput and
// create-to-reservation latency percentiles, and beside them a baseline: the
// same matching done by a plain single-threaded loop over model::queue_state
// with no actors.
//
// usage: routing_bench [--workers N] [--queues N] [--tasks N] [--rate R] [--seconds S]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/directory_actor.hpp"
#include "model/queue_state.hpp"

using namespace sb;
using clock_type = std::chrono::steady_clock;
using actors::tr_call;
using actors::tr_op;
using actors::tr_reply;

namespace {

struct params {
  int workers = 10000;
  int queues = 100;
  int capacity = 3;
  int tasks = 200000;   // throughput phase
  int window = 4000;    // tasks in flight during the throughput phase
  int rate = 20000;     // offered load of the latency phase, tasks per second
  int seconds = 5;      // length of the latency phase
  int threads = 0;      // actor scheduler threads; 0 = CAF's default
  int sharing = 0;      // 1: CAF's "sharing" scheduler instead of work stealing
};

std::string account = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

template <class T>
T take(const tr_reply& r) {
  if (auto* e = std::get_if<model::error>(&r.value)) {
    std::fprintf(stderr, "setup failed: %d %s\n", e->code, e->message.c_str());
    std::exit(1);
  }
  return std::get<T>(std::get<actors::resource>(r.value));
}

tr_reply ask(caf::scoped_actor& self, const caf::actor& dir, tr_call c) {
  tr_reply out;
  self->request(dir, caf::infinite, std::move(c))
    .receive([&](tr_reply& r) { out = std::move(r); },
             [&](caf::error& e) {
               std::fprintf(stderr, "request failed: %s\n", self->system().render(e).c_str());
               std::exit(1);
             });
  return out;
}

tr_call make_call(tr_op op, const std::string& ws, std::string sid = {}, std::string sub = {},
                  model::form_pairs p = {}) {
  tr_call c;
  c.op = op;
  c.account_sid = account;
  c.workspace_sid = ws;
  c.sid = std::move(sid);
  c.sub_sid = std::move(sub);
  c.params = model::form{std::move(p)};
  return c;
}

struct percentiles {
  double p50, p90, p99, p999, max;
};

percentiles summarize(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us.empty() ? 0.0 : us[std::min(us.size() - 1, size_t(q * us.size()))]; };
  return {at(0.5), at(0.9), at(0.99), at(0.999), us.empty() ? 0.0 : us.back()};
}

// ------------------------------------------------------------- the driver --

using start_atom = caf::atom_constant<caf::atom("start")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

struct driver_state {
  std::string ws;
  caf::actor directory;
  std::vector<std::string> workflows;
  int to_create = 0, created = 0, completed = 0, target = 0;
  int window = 0, rate = 0;
  bool paced = false;
  std::unordered_map<std::string, clock_type::time_point> sent;
  std::vector<double> latency_us;
  caf::actor done_to;
  clock_type::time_point start;
};

void create_one(caf::stateful_actor<driver_state>* self) {
  auto& st = self->state;
  auto n = st.created++;
  auto c = make_call(tr_op::task_create, st.ws, {}, {},
                     {{"WorkflowSid", st.workflows[n % st.workflows.size()]},
                      {"TaskChannel", "chat"},
                      {"Attributes", "{\"n\":" + std::to_string(n) + "}"}});
  auto t0 = clock_type::now();
  self->request(st.directory, caf::infinite, std::move(c))
    .then([=](tr_reply& r) {
            auto* res = std::get_if<actors::resource>(&r.value);
            if (!res) {
              std::fprintf(stderr, "task create failed\n");
              std::exit(1);
            }
            self->state.sent.emplace(std::get<model::task>(*res).sid, t0);
          },
          [](caf::error&) { std::fprintf(stderr, "task create failed\n"); std::exit(1); });
}

caf::behavior driver(caf::stateful_actor<driver_state>* self, std::string ws, caf::actor dir,
                     std::vector<std::string> workflows) {
  self->state.ws = std::move(ws);
  self->state.directory = std::move(dir);
  self->state.workflows = std::move(workflows);
  return {
    // Throughput phase: keep `window` tasks in flight until `total` completed.
    [=](start_atom, int total, int window, int rate, caf::actor done_to) {
      auto& st = self->state;
      st.to_create = total;
      st.target = total;
      st.created = st.completed = 0;
      st.window = window;
      st.rate = rate;
      st.paced = rate > 0;
      st.latency_us.clear();
      st.latency_us.reserve(total);
      st.done_to = done_to;
      st.start = clock_type::now();
      if (st.paced)
        self->send(self, tick_atom::value);
      else
        while (st.created < std::min(total, window))
          create_one(self);
    },
    [=](tick_atom) {
      auto& st = self->state;
      // Create what the rate allows for the time elapsed since start.
      auto elapsed = std::chrono::duration<double>(clock_type::now() - st.start).count();
      int due = std::min(st.target, static_cast<int>(elapsed * st.rate) + 1);
      while (st.created < due)
        create_one(self);
      if (st.created < st.target)
        self->delayed_send(self, std::chrono::microseconds(500), tick_atom::value);
    },
    [=](std::shared_ptr<const model::event>& ep) {
      auto& st = self->state;
      auto& e = *ep;
      if (e.event_type == "reservation.created") {
        auto it = st.sent.find(e.task_sid);
        if (it != st.sent.end()) {
          st.latency_us.push_back(
            std::chrono::duration<double, std::micro>(clock_type::now() - it->second).count());
          st.sent.erase(it);
        }
        self->send(st.directory, make_call(tr_op::task_reservation_update, st.ws, e.task_sid,
                                           e.reservation_sid, {{"ReservationStatus", "accepted"}}));
      } else if (e.event_type == "reservation.accepted") {
        self->send(st.directory, make_call(tr_op::task_update, st.ws, e.task_sid, {},
                                           {{"AssignmentStatus", "wrapping"}}));
        self->send(st.directory, make_call(tr_op::task_update, st.ws, e.task_sid, {},
                                           {{"AssignmentStatus", "completed"}}));
      } else if (e.event_type == "task.completed") {
        ++st.completed;
        if (!st.paced && st.created < st.target)
          create_one(self);
        if (st.completed == st.target) {
          double secs = std::chrono::duration<double>(clock_type::now() - st.start).count();
          self->send(st.done_to, secs, st.latency_us);
        }
      }
    },
    [](tr_reply&) {},
  };
}

// --------------------------------------------------------------- baseline --

// The same matching with no actors: one queue_state per queue, a worker view
// per worker, and the reserve/accept/complete lifecycle applied in place.
double baseline(const params& p, int tasks) {
  std::vector<model::queue_state> queues(p.queues);
  auto attrs = std::make_shared<const nlohmann::json>(nlohmann::json::object());
  auto t0 = std::chrono::system_clock::now();
  std::vector<model::worker_view> views(p.workers);
  for (int i = 0; i < p.workers; ++i) {
    auto& v = views[i];
    v.sid = "WK" + std::to_string(i);
    v.attributes = attrs;
    v.available = true;
    v.channels.push_back({"chat", p.capacity, 0, true});
    v.last_idle = t0 + std::chrono::microseconds(i);
    queues[i % p.queues].upsert_worker(v);
  }
  queues[0].match();
  auto start = clock_type::now();
  std::vector<std::pair<int, std::string>> in_service; // queue, worker sid
  std::unordered_map<std::string, int> worker_index;
  for (int i = 0; i < p.workers; ++i)
    worker_index[views[i].sid] = i;
  std::uint64_t version = 1;
  for (int n = 0; n < tasks; ++n) {
    int q = n % p.queues;
    model::queued_task t;
    t.sid = "WT" + std::to_string(n);
    t.attributes = attrs;
    t.channel_name = "chat";
    t.order = static_cast<std::uint64_t>(n);
    queues[q].enqueue(std::move(t));
    for (auto& o : queues[q].match()) {
      queues[q].offer_accepted(o.task_sid);
      // accept, wrap up and complete: the worker's load returns to where it was
      auto& v = views[worker_index[o.worker_sid]];
      v.version = ++version;
      v.last_idle = t0 + std::chrono::microseconds(version);
      queues[q].remove(o.task_sid);
      queues[q].upsert_worker(v);
    }
  }
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<double>)

int main(int argc, char** argv) {
  params p;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--workers") p.workers = v;
    else if (k == "--queues") p.queues = v;
    else if (k == "--tasks") p.tasks = v;
    else if (k == "--rate") p.rate = v;
    else if (k == "--seconds") p.seconds = v;
    else if (k == "--window") p.window = v;
    else if (k == "--threads") p.threads = v;
    else if (k == "--sharing") p.sharing = v;
  }
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  if (p.threads > 0)
    cfg.set("scheduler.max-threads", p.threads);
  if (p.sharing)
    cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};

  actors::workspace_options opts;
  opts.max_events = 1000;
  opts.task_retention = std::chrono::seconds(1);
  // The driver is spawned lazily below; the directory needs the sink first,
  // so a forwarding actor stands in until the driver exists.
  auto relay = sys.spawn([](caf::event_based_actor* me) -> caf::behavior {
    return {[=](caf::actor& target) {
              me->become([=](std::shared_ptr<const model::event>& e) { me->send(target, e); });
            },
            [](std::shared_ptr<const model::event>&) {}};
  });
  opts.event_sink = relay;
  opts.event_sink_types = {"reservation.created", "reservation.accepted", "task.completed"};
  auto dir = sys.spawn(actors::directory_actor, opts, actors::workspace_images{});

  std::printf("setup: %d workers, %d queues, chat capacity %d\n", p.workers, p.queues, p.capacity);
  auto setup_start = clock_type::now();
  auto ws = take<model::workspace>(ask(self, dir, make_call(tr_op::workspace_create, "", {}, {},
                                                            {{"FriendlyName", "bench"}})))
              .sid;
  std::string available;
  auto activities = ask(self, dir, make_call(tr_op::activity_list, ws));
  for (auto& a : std::get<actors::page_result>(activities.value).items)
    if (std::get<model::activity>(a).friendly_name == "Available")
      available = std::get<model::activity>(a).sid;
  std::vector<std::string> workflows;
  for (int q = 0; q < p.queues; ++q) {
    auto qs = take<model::task_queue>(ask(self, dir, make_call(tr_op::queue_create, ws, {}, {},
                                                               {{"FriendlyName", "q" + std::to_string(q)},
                                                                {"TargetWorkers", "q == " + std::to_string(q)}})))
                .sid;
    auto cfgjson = R"({"task_routing":{"filters":[{"expression":"1==1","targets":[{"queue":")" + qs + R"("}]}]}})";
    workflows.push_back(take<model::workflow>(ask(self, dir, make_call(tr_op::workflow_create, ws, {}, {},
                                                                         {{"FriendlyName", "wf" + std::to_string(q)},
                                                                          {"Configuration", cfgjson}})))
                          .sid);
  }
  for (int i = 0; i < p.workers; ++i) {
    auto w = take<model::worker>(ask(self, dir, make_call(tr_op::worker_create, ws, {}, {},
                                                          {{"FriendlyName", "agent" + std::to_string(i)},
                                                           {"ActivitySid", available},
                                                           {"Attributes", "{\"q\":" + std::to_string(i % p.queues) + "}"}})))
               .sid;
    ask(self, dir, make_call(tr_op::worker_channel_update, ws, w, "chat",
                             {{"Capacity", std::to_string(p.capacity)}}));
  }
  std::printf("setup took %.1f s\n", std::chrono::duration<double>(clock_type::now() - setup_start).count());

  auto drv = sys.spawn(driver, ws, dir, workflows);
  self->send(relay, drv);

  auto run = [&](int total, int window, int rate) {
    double secs = 0;
    std::vector<double> lat;
    self->send(drv, start_atom::value, total, window, rate, caf::actor_cast<caf::actor>(self));
    self->receive([&](double s, std::vector<double>& l) {
      secs = s;
      lat = std::move(l);
    });
    return std::pair{secs, lat};
  };

  // Warm-up, then the throughput phase.
  run(20000, p.window, 0);
  auto [secs, lat] = run(p.tasks, p.window, 0);
  double actor_rate = p.tasks / secs;
  auto pt = summarize(lat);
  double base_secs = baseline(p, p.tasks);
  double base_rate = p.tasks / base_secs;
  std::printf("\nthroughput (%d tasks fully routed: create, reserve, accept, wrap-up, complete; %d in flight)\n",
              p.tasks, p.window);
  std::printf("  actors:   %10.0f tasks/s\n", actor_rate);
  std::printf("  baseline: %10.0f tasks/s  (single-threaded queue_state loop, no actors, matching only)\n", base_rate);
  std::printf("  ratio actors/baseline: %.3f\n", actor_rate / base_rate);
  std::printf("  create-to-reservation under saturation: p50 %.0f us, p99 %.0f us\n", pt.p50, pt.p99);

  // Latency at fixed offered loads: the target rate, and a quarter of it.
  for (int rate : {p.rate, p.rate / 4}) {
    int total = rate * p.seconds;
    auto [lsecs, llat] = run(total, 0, rate);
    auto pl = summarize(llat);
    std::printf("\nlatency at %d tasks/s offered for %d s (%d tasks, achieved %.0f tasks/s)\n", rate,
                p.seconds, total, total / lsecs);
    std::printf("  create-to-reservation: p50 %.0f us  p90 %.0f us  p99 %.0f us  p99.9 %.0f us  max %.0f us\n",
                pl.p50, pl.p90, pl.p99, pl.p999, pl.max);
  }

  self->send_exit(drv, caf::exit_reason::user_shutdown);
  self->send_exit(relay, caf::exit_reason::user_shutdown);
  self->send_exit(dir, caf::exit_reason::user_shutdown);
  return 0;
}
