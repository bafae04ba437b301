// Crash test: the real switchboard binary on loopback under a concurrent load
// of task creations, worker activity changes, reservation accepts and
// completions, killed with SIGKILL at random moments and restarted on the same
// data directory. After each restart every change that got a 2xx must be
// there, nothing that got an error or no answer may be half-applied, and the
// routing invariants must hold (no task held twice, no channel over capacity,
// every live task in exactly one queue or held by one worker). Routing must
// resume after each restart in queue order: once the available workers are
// full, no pending task comes before one that was offered.
//
// The kill moment is a random count of acknowledged requests, and the load
// thread whose answer reaches that count sends the signal, so the crash lands
// while the other threads' requests are in flight. Nothing waits on timing:
// the only waits are for observable conditions, each with a deadline.
//
// Environment: CRASH_SEED (seed; printed on every run), CRASH_KILLS (number of
// kills, default 4), CRASH_DURABILITY (passed as --durability when set),
// CRASH_KEEP=1 (keep the data directory; it is always kept on failure).

#include "server_fixture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

namespace {

using namespace sbtest;
using nlohmann::json;
namespace http = boost::beast::http;

constexpr int worker_count = 20;
constexpr int thread_count = 6;
constexpr int chat_capacity = 2;
constexpr long min_kill_acks = 200;
constexpr long max_kill_acks = 2000;

// ------------------------------------------------------------- transport --

enum class outcome { ok, error, none }; // a 2xx answer, another answer, no answer

const char* label(outcome o) {
  return o == outcome::ok ? "ok" : o == outcome::error ? "error" : "none";
}

struct answer {
  outcome kind = outcome::none;
  unsigned status = 0;
  std::string body;
};

// One keep-alive connection with Basic auth. Never throws: a failed exchange
// (refused, reset, deadline) is an answer of kind none, and the next call
// reconnects.
class client {
 public:
  client(std::uint16_t port, std::string auth) : conn_(port), auth_(std::move(auth)) {}

  answer get(const std::string& target) { return send(http::verb::get, target, {}); }
  answer post(const std::string& target, const form& f) {
    return send(http::verb::post, target, encode_form(f));
  }

 private:
  answer send(http::verb method, const std::string& target, const std::string& body) {
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", auth_}};
    if (method == http::verb::post)
      headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    try {
      auto r = conn_.send(method, target, body, headers, 5s);
      return {r.status / 100 == 2 ? outcome::ok : outcome::error, r.status, std::move(r.body)};
    } catch (const std::exception&) {
      conn_.close();
      return {};
    }
  }

  http_connection conn_;
  std::string auth_;
};

json parse_or_null(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  return doc.is_discarded() ? json() : doc;
}

std::string str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string())
    return {};
  return j[key].get<std::string>();
}

// A GET that must succeed (verification and set-up run on the main thread).
json get_ok(client& c, const std::string& target) {
  auto a = c.get(target);
  INFO("GET " << target << " -> " << label(a.kind) << " " << a.status << " " << a.body.substr(0, 400));
  REQUIRE(a.kind == outcome::ok);
  auto doc = parse_or_null(a.body);
  REQUIRE(doc.is_object());
  return doc;
}

json post_ok(client& c, const std::string& target, const form& f) {
  auto a = c.post(target, f);
  INFO("POST " << target << " -> " << label(a.kind) << " " << a.status << " " << a.body.substr(0, 400));
  REQUIRE(a.kind == outcome::ok);
  auto doc = parse_or_null(a.body);
  REQUIRE(doc.is_object());
  return doc;
}

// Every item of a list, following next_page_url.
json list_all(client& c, std::string target, const std::string& key) {
  target += (target.find('?') == std::string::npos ? "?" : "&");
  target += "PageSize=1000";
  json items = json::array();
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 1000);
    auto doc = get_ok(c, target);
    REQUIRE(doc[key].is_array());
    for (auto& x : doc[key])
      items.push_back(std::move(x));
    auto next = doc["meta"]["next_page_url"];
    if (!next.is_string())
      break;
    std::string url = next;
    std::string base = api_client::public_base;
    REQUIRE(url.rfind(base, 0) == 0);
    target = url.substr(base.size());
  }
  return items;
}

// Seconds since the epoch of a "YYYY-MM-DDTHH:MM:SSZ" date; -1 if malformed.
long long parse_date(const std::string& s) {
  std::tm tm{};
  if (s.size() != 20 || ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr)
    return -1;
  return static_cast<long long>(::timegm(&tm));
}

// --------------------------------------------------------------- server --

// The binary over the test's data directory, which outlives each process.
std::unique_ptr<server_process> start_server(const std::string& dir, const std::vector<std::string>& extra) {
  return std::make_unique<server_process>(server_process::existing_dir{dir}, extra);
}

std::string auth_of(const server_process& s) { return basic_auth(s.file_sid(), s.file_token()); }

// Reads whatever output is waiting, so the server never blocks on a full pipe.
void drain(server_process& s) {
  s.process().read_until([](const std::string&) { return false; }, 1ms);
}

// ---------------------------------------------------------------- facts --

enum class level { no, maybe, sure };

// One task creation request.
struct creation {
  std::string marker, attributes;
  int priority = 0;
  int epoch = 0;
  outcome result = outcome::none;
  unsigned status = 0;
  std::string sid, date_created; // from the 201, or from the task once seen after a restart
  bool confirmed = false;        // acknowledged or seen after a restart: must exist from now on
  bool gone = false;             // unanswered and absent after a restart: must stay absent
};

// What the clients did to a task after its creation.
struct holding {
  std::string worker, reservation; // the accepted (or maybe accepted) reservation
  level accepted = level::no;
  level completed = level::no;
};

struct worker_fact {
  std::string activity;                               // as seen after the last restart (or set up)
  std::vector<std::pair<std::string, outcome>> sent;  // activity updates since, in order
};

struct seen_reservation {
  std::string worker, task;
};

struct world {
  std::string ws, queue, workflow, available, offline;
  std::vector<std::string> workers;
  std::map<std::string, worker_fact> worker_facts;
  std::vector<creation> creations;
  std::map<std::string, std::size_t> by_marker;
  std::map<std::string, holding> holdings;           // by task SID
  std::map<std::string, seen_reservation> seen;      // reservations seen pending since the last restart
  std::string base() const { return "/v1/Workspaces/" + ws; }
};

// ----------------------------------------------------------------- load --

struct accept_op {
  std::string worker, reservation, task;
  answer a;
};
struct complete_op {
  std::string worker, reservation, task;
  bool via_task = false;
  answer a;
};
struct activity_op {
  std::string worker, activity;
  answer a;
};

// What one load thread did in one epoch.
struct thread_log {
  std::vector<creation> creations;
  std::vector<activity_op> activities;
  std::vector<accept_op> accepts;
  std::vector<complete_op> completes;
  std::map<std::string, seen_reservation> seen;
  std::vector<std::string> unexpected; // answers other than 2xx that a healthy server never gives
  std::map<std::string, int> tally;    // "op outcome" -> count
};

struct load_control {
  std::uint16_t port = 0;
  std::string auth;
  pid_t pid = -1;
  long target = 0;
  std::atomic<long> acked{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable cv;
  bool killed = false;

  // Counts an acknowledged change; the one that reaches the target kills the server.
  void ack() {
    if (acked.fetch_add(1) + 1 == target) {
      ::kill(pid, SIGKILL);
      std::lock_guard<std::mutex> lk{mu};
      killed = true;
      cv.notify_all();
    }
  }
};

// worker -> (task, reservation) it holds
using held_map = std::map<std::string, std::vector<std::pair<std::string, std::string>>>;

void run_load(load_control& lc, const world& w, int index, int epoch, std::uint64_t seed,
              std::vector<std::string> mine, held_map held, thread_log& log) {
  std::mt19937_64 rng{seed};
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  client c{lc.port, lc.auth};
  const auto base = w.base();
  auto note = [&](const std::string& op, const answer& a) {
    ++log.tally[op + " " + label(a.kind)];
    if (a.kind == outcome::error)
      log.unexpected.push_back(op + " -> " + std::to_string(a.status) + " " + a.body.substr(0, 300));
  };
  long n = 0;
  while (!lc.stop.load()) {
    auto roll = pick(100);
    std::vector<std::pair<std::size_t, std::size_t>> holds; // (worker index in mine, position)
    if (roll >= 87)
      for (std::size_t i = 0; i < mine.size(); ++i)
        for (std::size_t k = 0; k < held[mine[i]].size(); ++k)
          holds.emplace_back(i, k);
    if (roll < 50 || (roll >= 87 && holds.empty())) {
      // Create a task whose attributes carry a unique marker.
      creation cr;
      cr.epoch = epoch;
      cr.marker = "e" + std::to_string(epoch) + "-t" + std::to_string(index) + "-" + std::to_string(n++);
      cr.priority = static_cast<int>(pick(21));
      json attrs{{"marker", cr.marker},
                 {"type", "crash"},
                 {"note", "caf\xc3\xa9 \"quoted\" & <tag> 100%"},
                 {"tags", json::array({pick(1000), "x"})},
                 {"nested", {{"k", pick(1 << 20)}}}};
      cr.attributes = attrs.dump();
      auto a = c.post(base + "/Tasks", {{"WorkflowSid", w.workflow},
                                         {"TaskChannel", "chat"},
                                         {"Attributes", cr.attributes},
                                         {"Priority", std::to_string(cr.priority)}});
      cr.result = a.kind;
      cr.status = a.status;
      note("create", a);
      if (a.kind == outcome::ok) {
        auto doc = parse_or_null(a.body);
        cr.sid = str(doc, "sid");
        cr.date_created = str(doc, "date_created");
        cr.confirmed = true;
        if (cr.sid.rfind("WT", 0) != 0 || str(doc, "attributes") != cr.attributes ||
            doc.value("priority", -1) != cr.priority)
          log.unexpected.push_back("create answered 2xx with a body that does not echo the task: " +
                                   a.body.substr(0, 300));
        lc.ack();
      }
      log.creations.push_back(std::move(cr));
    } else if (roll < 72) {
      // Accept whatever one of this thread's workers has pending.
      auto worker = mine[pick(mine.size())];
      auto l = c.get(base + "/Workers/" + worker + "/Reservations?ReservationStatus=pending&PageSize=50");
      note("list", l);
      if (l.kind != outcome::ok)
        continue;
      auto doc = parse_or_null(l.body);
      if (!doc.is_object() || !doc["reservations"].is_array())
        continue;
      for (auto& r : doc["reservations"]) {
        if (lc.stop.load())
          break;
        accept_op op{worker, str(r, "sid"), str(r, "task_sid"), {}};
        log.seen[op.reservation] = {worker, op.task};
        op.a = c.post(base + "/Workers/" + worker + "/Reservations/" + op.reservation,
                      {{"ReservationStatus", "accepted"}});
        note("accept", op.a);
        if (op.a.kind == outcome::ok) {
          held[worker].emplace_back(op.task, op.reservation);
          lc.ack();
        }
        log.accepts.push_back(std::move(op));
      }
    } else if (roll < 87) {
      // Move one of this thread's workers between Available and Offline.
      activity_op op{mine[pick(mine.size())], pick(100) < 65 ? w.available : w.offline, {}};
      op.a = c.post(base + "/Workers/" + op.worker, {{"ActivitySid", op.activity}});
      note("activity", op.a);
      if (op.a.kind == outcome::ok)
        lc.ack();
      log.activities.push_back(std::move(op));
    } else {
      // Complete a task one of this thread's workers holds, through the
      // reservation (usually) or the task.
      auto [wi, k] = holds[pick(holds.size())];
      auto worker = mine[wi];
      auto [task, reservation] = held[worker][k];
      complete_op op{worker, reservation, task, pick(4) == 0, {}};
      if (op.via_task)
        op.a = c.post(base + "/Tasks/" + task, {{"AssignmentStatus", "completed"}, {"Reason", "crash test"}});
      else
        op.a = c.post(base + "/Workers/" + worker + "/Reservations/" + reservation,
                      {{"ReservationStatus", "completed"}});
      // The task path may race the workspace's own record of the accept (400):
      // that refusal is legitimate and leaves the task held.
      bool refused = op.via_task && op.a.kind == outcome::error && op.a.status == 400;
      if (refused)
        ++log.tally["complete refused"];
      else
        note("complete", op.a);
      if (!refused)
        held[worker].erase(held[worker].begin() + static_cast<std::ptrdiff_t>(k));
      if (op.a.kind == outcome::ok)
        lc.ack();
      log.completes.push_back(std::move(op));
    }
  }
}

// Folds one epoch's thread logs into the facts.
void merge(world& w, std::vector<thread_log>& logs) {
  for (auto& log : logs) {
    for (auto& cr : log.creations) {
      w.by_marker[cr.marker] = w.creations.size();
      w.creations.push_back(std::move(cr));
    }
    for (auto& op : log.activities)
      w.worker_facts[op.worker].sent.emplace_back(op.activity, op.a.kind);
    for (auto& op : log.accepts) {
      auto& h = w.holdings[op.task];
      if (op.a.kind == outcome::ok) {
        h = holding{op.worker, op.reservation, level::sure, level::no};
      } else if (h.accepted != level::sure && (op.a.kind == outcome::none || op.a.status >= 500)) {
        h.worker = op.worker;
        h.reservation = op.reservation;
        h.accepted = level::maybe;
      }
    }
    for (auto& op : log.completes) {
      auto& h = w.holdings[op.task];
      if (op.a.kind == outcome::ok)
        h.completed = level::sure;
      else if ((op.a.kind == outcome::none || op.a.status >= 500) && h.completed == level::no)
        h.completed = level::maybe;
    }
    for (auto& [sid, s] : log.seen)
      w.seen[sid] = s;
  }
}

// ---------------------------------------------------------- verification --

// Routing resumes after a restart, in queue order. Within a deadline, either
// no task is pending or every available worker's chat channel is full; then,
// on a snapshot in which no offer happened (the reserved set read before and
// after the rest is the same), no pending task comes before a reserved one in
// queue order (higher priority first, then older). That holds after a restart
// because every reservation made before it is rescinded: each reservation now
// held was offered with the whole queue back in place.
void check_routing(world& w, client& c, std::vector<std::string>& bad) {
  const auto base = w.base();
  auto sids = [](const json& items) {
    std::set<std::string> out;
    for (auto& x : items)
      out.insert(str(x, "sid"));
    return out;
  };
  const auto deadline = steady::now() + 10s;
  for (int round = 1;; ++round) {
    auto before = list_all(c, base + "/Tasks?AssignmentStatus=reserved", "tasks");
    auto pending = list_all(c, base + "/Tasks?AssignmentStatus=pending", "tasks");
    std::vector<std::string> free;
    if (!pending.empty())
      for (auto& wk : list_all(c, base + "/Workers?Available=true", "workers")) {
        auto ch = get_ok(c, base + "/Workers/" + str(wk, "sid") + "/Channels/chat");
        if (ch.value("available", false) && ch.value("assigned_tasks", 0) < ch.value("configured_capacity", 0))
          free.push_back(str(wk, "sid") + " (" + std::to_string(ch.value("assigned_tasks", 0)) + "/" +
                         std::to_string(ch.value("configured_capacity", 0)) + ")");
      }
    auto after = list_all(c, base + "/Tasks?AssignmentStatus=reserved", "tasks");
    bool stable = sids(before) == sids(after);
    if (stable && free.empty()) {
      // The reserved task last in queue order; no pending task may precede it.
      const json* last = nullptr;
      auto key = [](const json& t) {
        return std::make_pair(-t.value("priority", 0), parse_date(str(t, "date_created")));
      };
      for (auto& r : after)
        if (!last || key(*last) < key(r))
          last = &r;
      if (last)
        for (auto& p : pending)
          if (key(p) < key(*last))
            bad.push_back("queue order: task " + str(p, "sid") + " (priority " +
                          std::to_string(p.value("priority", 0)) +
                          ", created " + str(p, "date_created") + ") is pending while " + str(*last, "sid") +
                          " (priority " + std::to_string(last->value("priority", 0)) + ", created " +
                          str(*last, "date_created") + ") was offered");
      return;
    }
    if (steady::now() >= deadline) {
      std::string list;
      for (auto& f : free)
        list += " " + f;
      bad.push_back("routing did not resume within 10 s after the restart (" + std::to_string(round) + " reads): " +
                    std::to_string(pending.size()) + " tasks pending, available workers with room:" + list);
      return;
    }
  }
}

struct res_view {
  std::string sid, worker, task, status;
};

// Checks the restarted server against every fact; appends each violation to
// `bad`. Then folds what it saw into the facts: unanswered changes become
// either confirmed or gone, and the observed state is the new baseline.
void verify(world& w, client& c, std::vector<std::string>& bad) {
  const auto base = w.base();
  auto fail = [&](std::string s) { bad.push_back(std::move(s)); };

  // Configuration made in the set-up.
  {
    auto a = c.get(base);
    if (a.kind != outcome::ok) {
      fail("workspace " + w.ws + " is gone after the restart (GET answered " + std::to_string(a.status) + ")");
      return;
    }
  }
  auto queue = get_ok(c, base + "/TaskQueues/" + w.queue);
  if (str(queue, "target_workers") != "1==1")
    fail("queue " + w.queue + " target_workers is '" + str(queue, "target_workers") + "'");
  auto workflow = get_ok(c, base + "/Workflows/" + w.workflow);
  {
    auto cfg = parse_or_null(str(workflow, "configuration"));
    if (!cfg.is_object() || cfg["task_routing"]["default_filter"]["queue"] != w.queue)
      fail("workflow " + w.workflow + " configuration changed: " + str(workflow, "configuration"));
  }
  std::map<std::string, json> workers;
  for (auto& x : list_all(c, base + "/Workers", "workers"))
    workers[str(x, "sid")] = x;
  if (workers.size() != w.workers.size())
    fail("expected " + std::to_string(w.workers.size()) + " workers, found " + std::to_string(workers.size()));

  // Tasks.
  auto tasks = list_all(c, base + "/Tasks", "tasks");
  std::map<std::string, json> task_by_sid;
  std::map<std::string, std::string> sid_by_marker;
  for (auto& t : tasks) {
    auto sid = str(t, "sid");
    auto attrs = parse_or_null(str(t, "attributes"));
    auto marker = str(attrs, "marker");
    auto status = str(t, "assignment_status");
    task_by_sid[sid] = t;
    if (marker.empty())
      fail("task " + sid + " has no marker; attributes: " + str(t, "attributes"));
    else if (sid_by_marker.count(marker))
      fail("two tasks carry marker " + marker + ": " + sid_by_marker[marker] + " and " + sid);
    else
      sid_by_marker[marker] = sid;
    if (!marker.empty() && !w.by_marker.count(marker))
      fail("task " + sid + " carries marker " + marker + ", which no request sent");
    if (status != "pending" && status != "reserved" && status != "assigned" && status != "completed")
      fail("task " + sid + " is " + status + "; the load never moves a task there");
    if ((status == "pending" || status == "reserved") && str(t, "task_queue_sid") != w.queue)
      fail("task " + sid + " is " + status + " but its task_queue_sid is '" + str(t, "task_queue_sid") + "'");
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  auto check_intact = [&](const creation& cr, const json& t) {
    auto sid = str(t, "sid");
    std::string what = "task " + sid + " (" + cr.marker + ", create " + label(cr.result) + ")";
    if (parse_or_null(str(t, "attributes")) != parse_or_null(cr.attributes))
      fail(what + ": attributes " + str(t, "attributes") + " instead of " + cr.attributes);
    if (t.value("priority", -1) != cr.priority)
      fail(what + ": priority " + std::to_string(t.value("priority", -1)) + " instead of " +
           std::to_string(cr.priority));
    if (str(t, "task_channel_unique_name") != "chat")
      fail(what + ": channel '" + str(t, "task_channel_unique_name") + "'");
    if (str(t, "workflow_sid") != w.workflow)
      fail(what + ": workflow_sid '" + str(t, "workflow_sid") + "'");
    if (!cr.date_created.empty() && str(t, "date_created") != cr.date_created)
      fail(what + ": date_created " + str(t, "date_created") + " instead of " + cr.date_created);
    auto created = parse_date(str(t, "date_created"));
    auto age = t.value("age", -1LL);
    if (created < 0 || age < 0 || std::llabs(age - (now - created)) > 3)
      fail(what + ": age " + std::to_string(age) + " does not count from date_created " + str(t, "date_created"));
  };
  for (auto& cr : w.creations) {
    auto it = sid_by_marker.find(cr.marker);
    bool present = it != sid_by_marker.end();
    if (cr.confirmed) {
      if (!present)
        fail("task " + cr.sid + " (" + cr.marker + ", epoch " + std::to_string(cr.epoch) + ", create " +
             label(cr.result) + ") is lost");
      else if (it->second != cr.sid)
        fail("marker " + cr.marker + " is on task " + it->second + ", the 201 named " + cr.sid);
      else
        check_intact(cr, task_by_sid[cr.sid]);
    } else if (cr.gone) {
      if (present)
        fail("task " + it->second + " (" + cr.marker + ") was absent after an earlier restart and is back");
    } else if (present) {
      check_intact(cr, task_by_sid[it->second]);
    }
  }

  // Reservations and channels, per worker (read after the tasks: from here on
  // only new offers can change what was read, never accepts or completions).
  std::map<std::string, res_view> res_by_sid;
  std::map<std::string, std::vector<res_view>> holders, offers, finished; // by task
  for (auto& wk : w.workers) {
    auto wit = workers.find(wk);
    if (wit == workers.end()) {
      fail("worker " + wk + " is gone");
      continue;
    }
    int active = 0, accepted = 0;
    for (auto& r : list_all(c, base + "/Workers/" + wk + "/Reservations", "reservations")) {
      res_view v{str(r, "sid"), str(r, "worker_sid"), str(r, "task_sid"), str(r, "reservation_status")};
      if (v.worker != wk)
        fail("reservation " + v.sid + " listed under worker " + wk + " names worker " + v.worker);
      res_by_sid[v.sid] = v;
      if (v.status == "pending" || v.status == "accepted" || v.status == "wrapping")
        ++active;
      if (v.status == "accepted" || v.status == "wrapping") {
        ++accepted;
        holders[v.task].push_back(v);
      } else if (v.status == "pending") {
        offers[v.task].push_back(v);
      } else if (v.status == "completed") {
        finished[v.task].push_back(v);
      }
    }
    if (active > chat_capacity)
      fail("worker " + wk + " has " + std::to_string(active) + " active reservations; chat capacity is " +
           std::to_string(chat_capacity));
    auto ch = get_ok(c, base + "/Workers/" + wk + "/Channels/chat");
    auto cap = ch.value("configured_capacity", -1), load = ch.value("assigned_tasks", -1);
    if (cap != chat_capacity)
      fail("worker " + wk + " chat capacity is " + std::to_string(cap) + ", set up as " +
           std::to_string(chat_capacity));
    if (load > cap)
      fail("worker " + wk + " chat channel holds " + std::to_string(load) + " tasks over capacity " +
           std::to_string(cap));
    if (load < accepted)
      fail("worker " + wk + " chat channel counts " + std::to_string(load) + " tasks but holds " +
           std::to_string(accepted) + " accepted reservations");
    // Activity: the last acknowledged one, or one sent after it without a 2xx.
    auto& wf = w.worker_facts[wk];
    std::set<std::string> allowed{wf.activity};
    for (auto& [act, o] : wf.sent) {
      if (o == outcome::ok)
        allowed = {act};
      else
        allowed.insert(act);
    }
    auto seen_act = str(wit->second, "activity_sid");
    if (!allowed.count(seen_act)) {
      std::string list;
      for (auto& a : allowed)
        list += " " + a;
      fail("worker " + wk + " activity is " + seen_act + "; allowed:" + list + " (" +
           std::to_string(wf.sent.size()) + " updates sent since the last restart)");
    }
    bool should_be_available = seen_act == w.available;
    if (wit->second.value("available", !should_be_available) != should_be_available)
      fail("worker " + wk + " available flag disagrees with activity " + str(wit->second, "activity_name"));
  }

  // Routing invariants across tasks and reservations.
  for (auto& [task, hs] : holders) {
    if (hs.size() > 1)
      fail("task " + task + " is held by " + std::to_string(hs.size()) + " reservations (" + hs[0].sid + " of " +
           hs[0].worker + ", " + hs[1].sid + " of " + hs[1].worker + ")");
    auto t = task_by_sid.find(task);
    if (t == task_by_sid.end())
      fail("reservation " + hs[0].sid + " is accepted for task " + task + ", which does not exist");
    else if (str(t->second, "assignment_status") != "assigned")
      fail("reservation " + hs[0].sid + " is accepted but its task " + task + " is " +
           str(t->second, "assignment_status"));
  }
  for (auto& [task, os] : offers) {
    if (os.size() > 1)
      fail("task " + task + " has " + std::to_string(os.size()) + " pending reservations");
    auto t = task_by_sid.find(task);
    auto status = t == task_by_sid.end() ? std::string("missing") : str(t->second, "assignment_status");
    if (status != "pending" && status != "reserved")
      fail("reservation " + os[0].sid + " is pending but its task " + task + " is " + status);
  }
  for (auto& [task, fs] : finished) {
    auto t = task_by_sid.find(task);
    auto status = t == task_by_sid.end() ? std::string("missing") : str(t->second, "assignment_status");
    if (status != "completed")
      fail("reservation " + fs[0].sid + " is completed but its task " + task + " is " + status);
  }
  for (auto& [sid, t] : task_by_sid) {
    auto status = str(t, "assignment_status");
    if (status == "assigned" && holders[sid].size() != 1)
      fail("task " + sid + " is assigned but " + std::to_string(holders[sid].size()) + " reservations hold it");
    if (status == "reserved" && offers[sid].size() != 1)
      fail("task " + sid + " is reserved but has " + std::to_string(offers[sid].size()) + " pending reservations");
    if (status == "completed" && finished[sid].size() != 1)
      fail("task " + sid + " is completed but has " + std::to_string(finished[sid].size()) + " completed reservations");
  }

  // What the clients did after creation.
  for (auto& [task, h] : w.holdings) {
    auto t = task_by_sid.find(task);
    bool must_exist = h.accepted == level::sure || h.completed == level::sure;
    if (t == task_by_sid.end()) {
      if (must_exist)
        fail("task " + task + " had an acknowledged accept or completion and is gone");
      continue;
    }
    auto status = str(t->second, "assignment_status");
    auto r = res_by_sid.find(h.reservation);
    auto rstatus = r == res_by_sid.end() ? std::string("missing") : r->second.status;
    bool held_as_accepted = holders[task].size() == 1 && holders[task][0].sid == h.reservation &&
                            holders[task][0].worker == h.worker;
    auto said = [](level l) { return l == level::sure ? "acknowledged" : l == level::maybe ? "unanswered" : "none"; };
    std::string what = "task " + task + " (reservation " + h.reservation + " of " + h.worker + ", accept " +
                       said(h.accepted) + ", complete " + said(h.completed) + ")";
    bool done = status == "completed" && rstatus == "completed";
    bool assigned = status == "assigned" && held_as_accepted && rstatus == "accepted";
    if (h.completed == level::sure) {
      if (!done)
        fail(what + " is " + status + " with reservation " + rstatus + "; expected completed");
    } else if (h.completed == level::maybe) {
      if (!done && !assigned)
        fail(what + " is " + status + " with reservation " + rstatus + "; expected completed or still assigned");
    } else if (h.accepted == level::sure) {
      if (!assigned)
        fail(what + " is " + status + " with reservation " + rstatus + "; expected assigned to " + h.worker);
    } else if (h.accepted == level::maybe) {
      bool back = (status == "pending" || status == "reserved") && rstatus == "rescinded";
      if (!assigned && !back)
        fail(what + " is " + status + " with reservation " + rstatus +
             "; expected assigned, or back in the queue with the reservation rescinded");
    }
  }
  for (auto& [sid, t] : task_by_sid) {
    auto status = str(t, "assignment_status");
    auto h = w.holdings.find(sid);
    if ((status == "assigned" || status == "completed") &&
        (h == w.holdings.end() || h->second.accepted == level::no))
      fail("task " + sid + " is " + status + " though no client ever sent an accept for it");
    if (status == "completed" && (h == w.holdings.end() || h->second.completed == level::no))
      fail("task " + sid + " is completed though no client ever sent a completion for it");
  }

  // Reservations that were pending before the crash come back rescinded
  // (or accepted, when an accept for them was sent).
  for (auto& [sid, s] : w.seen) {
    auto r = res_by_sid.find(sid);
    if (r == res_by_sid.end()) {
      fail("reservation " + sid + " of " + s.worker + " (task " + s.task + "), seen pending before the crash, is gone");
      continue;
    }
    auto& st = r->second.status;
    auto h = w.holdings.find(s.task);
    bool accept_sent = h != w.holdings.end() && h->second.reservation == sid && h->second.accepted != level::no;
    if (st == "pending")
      fail("reservation " + sid + " (task " + s.task +
           ") was pending at the crash and is still pending after the restart");
    else if (st == "accepted" || st == "completed" || st == "wrapping") {
      if (!accept_sent)
        fail("reservation " + sid + " (task " + s.task + ") is " + st + " though no accept was sent for it");
    } else if (st != "rescinded") {
      fail("reservation " + sid + " (task " + s.task + ") came back " + st + "; expected rescinded");
    }
  }

  // Events stay listable: every task has its task.created, every accepted
  // reservation its reservation.accepted.
  std::set<std::string> created_events, accepted_events;
  for (auto& e : list_all(c, base + "/Events?EventType=task.created", "events"))
    created_events.insert(str(e, "resource_sid"));
  for (auto& e : list_all(c, base + "/Events?EventType=reservation.accepted", "events"))
    accepted_events.insert(str(e, "resource_sid"));
  for (auto& [sid, t] : task_by_sid)
    if (!created_events.count(sid))
      fail("task " + sid + " has no task.created event");
  for (auto& [sid, r] : res_by_sid)
    if ((r.status == "accepted" || r.status == "completed" || r.status == "wrapping") && !accepted_events.count(sid))
      fail("reservation " + sid + " is " + r.status + " but has no reservation.accepted event");

  check_routing(w, c, bad);

  // The observed state becomes the baseline.
  for (auto& cr : w.creations) {
    if (cr.confirmed || cr.gone)
      continue;
    auto it = sid_by_marker.find(cr.marker);
    if (it == sid_by_marker.end()) {
      cr.gone = true;
    } else {
      cr.confirmed = true;
      cr.sid = it->second;
      cr.date_created = str(task_by_sid[cr.sid], "date_created");
    }
  }
  std::map<std::string, holding> next;
  for (auto& [sid, t] : task_by_sid) {
    auto status = str(t, "assignment_status");
    if (status == "assigned" && holders[sid].size() == 1)
      next[sid] = holding{holders[sid][0].worker, holders[sid][0].sid, level::sure, level::no};
    else if (status == "completed" && finished[sid].size() == 1)
      next[sid] = holding{finished[sid][0].worker, finished[sid][0].sid, level::sure, level::sure};
  }
  w.holdings = std::move(next);
  for (auto& wk : w.workers) {
    auto& wf = w.worker_facts[wk];
    if (auto it = workers.find(wk); it != workers.end())
      wf.activity = str(it->second, "activity_sid");
    wf.sent.clear();
  }
  w.seen.clear();
}

// ---------------------------------------------------------------- set-up --

void set_up(world& w, client& c) {
  auto ws = post_ok(c, "/v1/Workspaces", {{"FriendlyName", "crash"}, {"MultiTaskEnabled", "true"}});
  w.ws = str(ws, "sid");
  REQUIRE(w.ws.rfind("WS", 0) == 0);
  for (auto& a : list_all(c, w.base() + "/Activities", "activities")) {
    if (str(a, "friendly_name") == "Available")
      w.available = str(a, "sid");
    if (str(a, "friendly_name") == "Offline")
      w.offline = str(a, "sid");
  }
  REQUIRE(!w.available.empty());
  REQUIRE(!w.offline.empty());
  w.queue = str(post_ok(c, w.base() + "/TaskQueues", {{"FriendlyName", "crash-queue"}, {"TargetWorkers", "1==1"}}),
                "sid");
  REQUIRE(w.queue.rfind("WQ", 0) == 0);
  json cfg{{"task_routing", {{"filters", json::array()}, {"default_filter", {{"queue", w.queue}}}}}};
  w.workflow = str(post_ok(c, w.base() + "/Workflows", {{"FriendlyName", "crash-flow"},
                                                         {"Configuration", cfg.dump()},
                                                         {"TaskReservationTimeout", "3600"}}),
                   "sid");
  REQUIRE(w.workflow.rfind("WW", 0) == 0);
  for (int i = 0; i < worker_count; ++i) {
    auto doc = post_ok(c, w.base() + "/Workers", {{"FriendlyName", "crash-worker-" + std::to_string(i)},
                                                  {"ActivitySid", w.available},
                                                  {"Attributes", json{{"n", i}}.dump()}});
    auto sid = str(doc, "sid");
    REQUIRE(sid.rfind("WK", 0) == 0);
    auto ch = post_ok(c, w.base() + "/Workers/" + sid + "/Channels/chat",
                      {{"Capacity", std::to_string(chat_capacity)}});
    REQUIRE(ch.value("configured_capacity", -1) == chat_capacity);
    w.workers.push_back(sid);
    w.worker_facts[sid].activity = w.available;
  }
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoull(v) : fallback;
}

// Removes the data directory unless the test failed (or CRASH_KEEP is set).
struct dir_guard {
  std::string path;
  bool passed = false;
  ~dir_guard() {
    if (passed && !std::getenv("CRASH_KEEP")) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    } else {
      std::cout << "crash: data directory kept at " << path << std::endl;
    }
  }
};

} // namespace

TEST_CASE("crash: acknowledged changes survive kill -9 at random moments, nothing is half-applied",
          "[api][crash]") {
  const auto seed = env_number("CRASH_SEED", std::random_device{}());
  const auto kills = static_cast<int>(env_number("CRASH_KILLS", 4));
  std::cout << "crash: seed " << seed << " (CRASH_SEED=" << seed << " repeats the choices)" << std::endl;
  INFO("seed " << seed);
  std::mt19937_64 rng{seed};
  std::vector<std::string> extra;
  if (const char* d = std::getenv("CRASH_DURABILITY"); d && *d)
    extra = {"--durability", d};

  dir_guard dir{make_temp_dir()};
  const auto started = steady::now();
  auto srv = start_server(dir.path, extra);
  world w;
  {
    client c{srv->port(), auth_of(*srv)};
    set_up(w, c);
  }

  for (int epoch = 1; epoch <= kills; ++epoch) {
    load_control lc;
    lc.port = srv->port();
    lc.auth = auth_of(*srv);
    lc.pid = srv->process().pid();
    lc.target = std::uniform_int_distribution<long>(min_kill_acks, max_kill_acks)(rng);

    // Each thread owns a fixed share of the workers, so a worker's updates are
    // sequential and "the last acknowledged one" is well defined.
    std::vector<std::vector<std::string>> mine(thread_count);
    for (std::size_t i = 0; i < w.workers.size(); ++i)
      mine[i % thread_count].push_back(w.workers[i]);
    std::vector<held_map> held(thread_count);
    for (auto& [task, h] : w.holdings)
      if (h.accepted == level::sure && h.completed == level::no)
        for (int t = 0; t < thread_count; ++t)
          if (std::find(mine[t].begin(), mine[t].end(), h.worker) != mine[t].end())
            held[t][h.worker].emplace_back(task, h.reservation);

    std::vector<thread_log> logs(thread_count);
    std::vector<std::thread> threads;
    const auto load_start = steady::now();
    for (int t = 0; t < thread_count; ++t)
      threads.emplace_back(run_load, std::ref(lc), std::cref(w), t, epoch, rng(), mine[t], held[t], std::ref(logs[t]));

    // Wait for the kill (sent by the load thread whose answer reaches the
    // target), reading the server's output meanwhile.
    bool killed = false;
    const auto deadline = steady::now() + 30s;
    while (steady::now() < deadline) {
      {
        std::unique_lock<std::mutex> lk{lc.mu};
        if (lc.cv.wait_for(lk, 50ms, [&] { return lc.killed; })) {
          killed = true;
          break;
        }
      }
      drain(*srv);
    }
    if (!killed)
      srv->process().signal(SIGKILL);
    const auto load_secs = std::chrono::duration<double>(steady::now() - load_start).count();
    lc.stop = true;
    for (auto& th : threads)
      th.join();
    REQUIRE(srv->process().wait_for_exit(10s));
    const int status = srv->process().status();
    INFO("server output:\n" << srv->process().output());
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    REQUIRE(killed); // else the load stalled: fewer than `target` acknowledgements in 30 s

    std::map<std::string, int> tally;
    std::vector<std::string> unexpected;
    for (auto& log : logs) {
      for (auto& [k, v] : log.tally)
        tally[k] += v;
      unexpected.insert(unexpected.end(), log.unexpected.begin(), log.unexpected.end());
    }
    std::ostringstream line;
    line << "crash: epoch " << epoch << ": killed at " << lc.acked.load() << " acknowledged (target " << lc.target
         << ") after " << std::fixed << std::setprecision(2) << load_secs << " s;";
    for (auto& [k, v] : tally)
      line << " " << k << "=" << v;
    std::cout << line.str() << std::endl;
    {
      INFO("answers other than 2xx under load (first of " << unexpected.size() << "): "
                                                          << (unexpected.empty() ? "" : unexpected.front()));
      CHECK(unexpected.empty());
    }
    merge(w, logs);

    const auto restart_start = steady::now();
    srv.reset();
    srv = start_server(dir.path, extra);
    const auto restart_secs = std::chrono::duration<double>(steady::now() - restart_start).count();
    std::vector<std::string> bad;
    {
      client c{srv->port(), auth_of(*srv)};
      verify(w, c, bad);
    }
    std::size_t confirmed = 0, gone = 0;
    for (auto& cr : w.creations) {
      confirmed += cr.confirmed ? 1 : 0;
      gone += cr.gone ? 1 : 0;
    }
    std::cout << "crash: epoch " << epoch << ": restarted in " << std::fixed << std::setprecision(2) << restart_secs
              << " s; "
              << confirmed << " tasks known, " << gone << " unanswered creations absent, " << w.holdings.size()
              << " held or completed; " << bad.size() << " violations" << std::endl;
    for (std::size_t i = 0; i < bad.size() && i < 40; ++i)
      std::cout << "crash:   " << bad[i] << std::endl;
    INFO(bad.size() << " violations after restart " << epoch << "; first: " << (bad.empty() ? "" : bad.front()));
    REQUIRE(bad.empty());
  }

  // A clean stop keeps everything too.
  {
    auto status = srv->terminate(15s);
    INFO("server output:\n" << srv->process().output());
    REQUIRE(status);
    REQUIRE(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
  }
  srv.reset();
  srv = start_server(dir.path, extra);
  {
    std::vector<std::string> bad;
    client c{srv->port(), auth_of(*srv)};
    verify(w, c, bad);
    for (std::size_t i = 0; i < bad.size() && i < 40; ++i)
      std::cout << "crash:   " << bad[i] << std::endl;
    INFO(bad.size() << " violations after the clean restart; first: " << (bad.empty() ? "" : bad.front()));
    REQUIRE(bad.empty());
  }
  std::cout << "crash: seed " << seed << " passed " << kills << " kills in " << std::fixed << std::setprecision(1)
            << std::chrono::duration<double>(steady::now() - started).count() << " s" << std::endl;
  dir.passed = true;
}
