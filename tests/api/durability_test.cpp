// Durability against the real binary: what a restart brings back, how the
// server behaves while the disk refuses writes, the backup command, schema
// versions and retention. Each case owns a data directory and starts servers
// on it one after another.

#include "checks.hpp"
#include "server_fixture.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/resource.h>

#include <set>

namespace {

using namespace sbtest;
using nlohmann::json;

struct node {
  node(const std::string& dir, std::vector<std::string> args = {})
      : srv(server_process::existing_dir{dir}, std::move(args)),
        api(srv.port(), srv.file_sid(), srv.file_token()) {}
  server_process srv;
  api_client api;
};

std::string ws_path(const std::string& ws) { return "/v1/Workspaces/" + ws; }

// A workspace with one queue for everyone and a workflow to it; returns
// {workspace, queue, workflow, available activity}.
struct setup {
  std::string ws, queue, workflow, available, offline;
};

setup make_workspace(api_client& api, const std::string& name, const std::string& routing = {}) {
  setup s;
  s.ws = ok(api.post("/v1/Workspaces", {{"FriendlyName", name}}), 201)["sid"];
  s.queue = ok(api.post(ws_path(s.ws) + "/TaskQueues", {{"FriendlyName", "everyone"}, {"TargetWorkers", "1==1"}}),
               201)["sid"];
  auto cfg = routing.empty() ? R"({"task_routing":{"filters":[],"default_filter":{"queue":")" + s.queue + R"("}}})"
                             : routing;
  s.workflow = ok(api.post(ws_path(s.ws) + "/Workflows", {{"FriendlyName", "main"}, {"Configuration", cfg}}),
                  201)["sid"];
  auto activities = ok(api.get(ws_path(s.ws) + "/Activities"));
  for (auto& a : activities["activities"]) {
    if (a["friendly_name"] == "Available")
      s.available = a["sid"];
    if (a["friendly_name"] == "Offline")
      s.offline = a["sid"];
  }
  return s;
}

std::string make_worker(api_client& api, const setup& s, const std::string& name, int chat_capacity,
                        bool available) {
  std::string wk = ok(api.post(ws_path(s.ws) + "/Workers", {{"FriendlyName", name}}), 201)["sid"];
  ok(api.post(ws_path(s.ws) + "/Workers/" + wk + "/Channels/chat", {{"Capacity", std::to_string(chat_capacity)}}));
  if (available)
    ok(api.post(ws_path(s.ws) + "/Workers/" + wk, {{"ActivitySid", s.available}}));
  return wk;
}

std::string make_task(api_client& api, const setup& s, int priority, const std::string& marker,
                      form extra = {}) {
  form f{{"Priority", std::to_string(priority)},
         {"TaskChannel", "chat"},
         {"Attributes", json{{"marker", marker}}.dump()}};
  for (auto& kv : extra)
    f.push_back(kv);
  return ok(api.post(ws_path(s.ws) + "/Tasks", f), 201)["sid"];
}

json reservations(api_client& api, const setup& s, const std::string& worker, const std::string& status = {}) {
  form q;
  if (!status.empty())
    q.emplace_back("ReservationStatus", status);
  return ok(api.get(ws_path(s.ws) + "/Workers/" + worker + "/Reservations", q))["reservations"];
}

// Waits for the worker's one pending reservation and returns it.
json next_pending(api_client& api, const setup& s, const std::string& worker) {
  json found;
  REQUIRE(eventually([&] {
    auto rs = reservations(api, s, worker, "pending");
    if (rs.size() != 1)
      return false;
    found = rs[0];
    return true;
  }));
  return found;
}

std::string task_status(api_client& api, const setup& s, const std::string& task) {
  return ok(api.get(ws_path(s.ws) + "/Tasks/" + task))["assignment_status"];
}

std::set<std::string> event_sids(api_client& api, const setup& s) {
  std::set<std::string> out;
  auto page = ok(api.get(ws_path(s.ws) + "/Events", {{"PageSize", "1000"}}));
  for (auto& e : page["events"])
    out.insert(e["sid"].get<std::string>());
  return out;
}

std::int64_t count_rows(const std::string& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// Sets the process's soft file-size limit (the hard one stays: raising it
// back would need a privilege the test may not have); RLIM_INFINITY restores
// the soft limit to the hard one.
void set_file_size_limit(pid_t pid, rlim_t limit) {
  rlimit old{};
  REQUIRE(::prlimit(pid, RLIMIT_FSIZE, nullptr, &old) == 0);
  rlimit lim{limit == RLIM_INFINITY ? old.rlim_max : limit, old.rlim_max};
  int rc = ::prlimit(pid, RLIMIT_FSIZE, &lim, nullptr);
  INFO("prlimit: " << std::strerror(errno));
  REQUIRE(rc == 0);
}

} // namespace

TEST_CASE("a crash and restart bring back every entity, and the queue offers in its old order",
          "[api][durability]") {
  temp_dir dir;
  setup s;
  std::string worker, canceled;
  std::vector<std::string> tasks;
  json before_tasks, before_worker, before_workflow;
  std::set<std::string> before_events;
  {
    node a{dir.path};
    s = make_workspace(a.api, "restart");
    worker = make_worker(a.api, s, "alice", 1, false);
    for (auto [prio, marker] : {std::pair{1, "low"}, std::pair{5, "high"}, std::pair{3, "mid"}})
      tasks.push_back(make_task(a.api, s, prio, marker));
    canceled = make_task(a.api, s, 9, "gone");
    ok(a.api.post(ws_path(s.ws) + "/Tasks/" + canceled, {{"AssignmentStatus", "canceled"}, {"Reason", "test"}}));
    before_tasks = ok(a.api.get(ws_path(s.ws) + "/Tasks", {{"PageSize", "50"}}))["tasks"];
    before_worker = ok(a.api.get(ws_path(s.ws) + "/Workers/" + worker));
    before_workflow = ok(a.api.get(ws_path(s.ws) + "/Workflows/" + s.workflow));
    before_events = event_sids(a.api, s);
    a.srv.kill_hard();
  }
  node b{dir.path};
  auto after_tasks = ok(b.api.get(ws_path(s.ws) + "/Tasks", {{"PageSize", "50"}}))["tasks"];
  REQUIRE(after_tasks.size() == before_tasks.size());
  for (std::size_t i = 0; i < after_tasks.size(); ++i) {
    auto& x = before_tasks[i];
    auto& y = after_tasks[i];
    INFO(x.dump() << "\n" << y.dump());
    for (auto field : {"sid", "attributes", "priority", "assignment_status", "date_created", "task_queue_sid",
                       "workflow_sid", "task_channel_unique_name", "reason", "timeout"})
      CHECK(x[field] == y[field]);
    // Age counts from the original creation.
    CHECK(y["age"].get<long>() >= x["age"].get<long>());
  }
  auto after_worker = ok(b.api.get(ws_path(s.ws) + "/Workers/" + worker));
  for (auto field : {"activity_sid", "activity_name", "attributes", "date_created", "friendly_name"})
    CHECK(after_worker[field] == before_worker[field]);
  auto chat = ok(b.api.get(ws_path(s.ws) + "/Workers/" + worker + "/Channels/chat"));
  CHECK(chat["configured_capacity"] == 1);
  CHECK(ok(b.api.get(ws_path(s.ws) + "/Workflows/" + s.workflow))["configuration"] ==
        before_workflow["configuration"]);
  // Every event recorded before the crash is still listed.
  auto after_events = event_sids(b.api, s);
  for (auto& sid : before_events)
    CHECK(after_events.count(sid) == 1);

  // The worker comes online: the queue offers by priority, as before the crash.
  ok(b.api.post(ws_path(s.ws) + "/Workers/" + worker, {{"ActivitySid", s.available}}));
  std::vector<std::string> offered;
  for (int i = 0; i < 3; ++i) {
    auto r = next_pending(b.api, s, worker);
    offered.push_back(r["task_sid"]);
    ok(b.api.post(ws_path(s.ws) + "/Workers/" + worker + "/Reservations/" + r["sid"].get<std::string>(),
                  {{"ReservationStatus", "accepted"}}));
    ok(b.api.post(ws_path(s.ws) + "/Tasks/" + offered.back(), {{"AssignmentStatus", "completed"}}));
  }
  CHECK(offered == std::vector<std::string>{tasks[1], tasks[2], tasks[0]});
  CHECK(task_status(b.api, s, canceled) == "canceled");
}

TEST_CASE("after a crash accepted reservations hold their workers and pending ones are rescinded",
          "[api][durability]") {
  temp_dir dir;
  setup s;
  std::string w1, w2, t1, t2, r1, r2;
  {
    node a{dir.path};
    s = make_workspace(a.api, "reservations");
    w1 = make_worker(a.api, s, "w1", 1, true);
    t1 = make_task(a.api, s, 0, "one");
    r1 = next_pending(a.api, s, w1)["sid"];
    ok(a.api.post(ws_path(s.ws) + "/Tasks/" + t1 + "/Reservations/" + r1, {{"ReservationStatus", "accepted"}}));
    w2 = make_worker(a.api, s, "w2", 1, true);
    t2 = make_task(a.api, s, 0, "two");
    r2 = next_pending(a.api, s, w2)["sid"];
    CHECK(task_status(a.api, s, t2) == "reserved");
    a.srv.kill_hard();
  }
  node b{dir.path};
  // The accepted reservation and its task are as they were, the worker still full.
  auto task1 = ok(b.api.get(ws_path(s.ws) + "/Tasks/" + t1));
  CHECK(task1["assignment_status"] == "assigned");
  CHECK(ok(b.api.get(ws_path(s.ws) + "/Tasks/" + t1 + "/Reservations/" + r1))["reservation_status"] == "accepted");
  auto chat = ok(b.api.get(ws_path(s.ws) + "/Workers/" + w1 + "/Channels/chat"));
  CHECK(chat["assigned_tasks"] == 1);
  CHECK(chat["available_capacity_percentage"] == 0);
  // The unanswered reservation was rescinded; the task waits again and is
  // offered anew (to w2: w1 is full).
  CHECK(ok(b.api.get(ws_path(s.ws) + "/Tasks/" + t2 + "/Reservations/" + r2))["reservation_status"] == "rescinded");
  auto again = next_pending(b.api, s, w2);
  CHECK(again["task_sid"] == t2);
  CHECK(again["sid"] != r2);
  // The held task completes normally and frees the worker.
  ok(b.api.post(ws_path(s.ws) + "/Tasks/" + t1, {{"AssignmentStatus", "completed"}}));
  REQUIRE(eventually([&] {
    return ok(b.api.get(ws_path(s.ws) + "/Workers/" + w1 + "/Channels/chat"))["assigned_tasks"] == 0;
  }));
}

TEST_CASE("while the disk refuses writes, changes get 503, reads go on, and writes recover by themselves",
          "[api][durability]") {
  temp_dir dir;
  node a{dir.path};
  auto s = make_workspace(a.api, "faults");
  auto kept = make_task(a.api, s, 1, "before");
  auto tasks_before = ok(a.api.get(ws_path(s.ws) + "/Tasks"))["tasks"].size();
  // No file of the server may grow by a byte: every write to the database fails.
  set_file_size_limit(a.srv.process().pid(), 1);
  auto first = a.api.post(ws_path(s.ws) + "/Tasks", {{"Attributes", R"({"marker":"during"})"}});
  CHECK(first.status == 503);
  auto err = first.json();
  CHECK(err["code"] == 20503);
  CHECK(err["status"] == 503);
  // While the store is down, changes are refused before they touch anything.
  REQUIRE(eventually([&] {
    return a.api.post(ws_path(s.ws) + "/Tasks", {{"Attributes", R"({"marker":"refused"})"}}).status == 503;
  }));
  for (int i = 0; i < 5; ++i)
    CHECK(a.api.post(ws_path(s.ws) + "/Tasks", {{"Attributes", R"({"marker":"refused"})"}}).status == 503);
  CHECK(a.api.del(ws_path(s.ws) + "/Tasks/" + kept).status == 503);
  // Reads are served throughout.
  CHECK(ok(a.api.get(ws_path(s.ws) + "/Tasks/" + kept))["sid"] == kept);
  auto listed = ok(a.api.get(ws_path(s.ws) + "/Tasks"))["tasks"];
  for (auto& t : listed)
    CHECK(t["attributes"].get<std::string>().find("refused") == std::string::npos);
  CHECK(a.api.get("/metrics").body.find("switchboard_store_writable 0") != std::string::npos);
  // The disk comes back: writes succeed again without a restart.
  set_file_size_limit(a.srv.process().pid(), RLIM_INFINITY);
  std::string after;
  REQUIRE(eventually(
    [&] {
      auto r = a.api.post(ws_path(s.ws) + "/Tasks", {{"Attributes", R"({"marker":"after"})"}});
      if (r.status != 201)
        return false;
      after = r.json()["sid"];
      return true;
    },
    10s));
  CHECK(a.api.get("/metrics").body.find("switchboard_store_writable 1") != std::string::npos);
  // Nothing refused was applied; the write caught in the failing commit
  // (answered 503) is either fully there or absent, never half.
  a.srv.kill_hard();
  node b{dir.path};
  auto tasks = ok(b.api.get(ws_path(s.ws) + "/Tasks", {{"PageSize", "100"}}))["tasks"];
  std::set<std::string> markers;
  for (auto& t : tasks)
    markers.insert(json::parse(t["attributes"].get<std::string>())["marker"].get<std::string>());
  CHECK(markers.count("refused") == 0);
  CHECK(markers.count("before") == 1);
  CHECK(markers.count("after") == 1);
  CHECK(tasks.size() >= tasks_before + 1);
  CHECK(tasks.size() <= tasks_before + 2);
  CHECK(count_rows(dir.path + "/switchboard.db", "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") == 0);
}

TEST_CASE("switchboard backup copies the live database while the server writes", "[api][durability]") {
  temp_dir dir;
  temp_dir restore_dir;
  node a{dir.path};
  auto s = make_workspace(a.api, "backup");
  std::vector<std::string> tasks;
  for (int i = 0; i < 20; ++i)
    tasks.push_back(make_task(a.api, s, i % 3, "t" + std::to_string(i)));
  // Writes keep coming while the backup runs.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    api_client c(a.srv.port(), a.srv.file_sid(), a.srv.file_token());
    while (!stop)
      c.post(ws_path(s.ws) + "/Tasks", {{"Attributes", R"({"marker":"concurrent"})"}});
  });
  auto file = restore_dir.path + "/switchboard.db";
  auto r = run_to_exit({"backup", file, "--data", dir.path}, 30s);
  stop = true;
  writer.join();
  INFO(r.output);
  REQUIRE(r.exited);
  REQUIRE(r.code == 0);
  CHECK(count_rows(file, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") == 0);
  // Refuses to overwrite.
  auto again = run_to_exit({"backup", file, "--data", dir.path}, 30s);
  CHECK(again.code != 0);
  CHECK(again.output.find("already exists") != std::string::npos);
  // A server started on the copy has everything acknowledged before the backup began.
  std::filesystem::copy_file(dir.path + "/credentials", restore_dir.path + "/credentials");
  node b{restore_dir.path};
  for (auto& t : tasks)
    CHECK(ok(b.api.get(ws_path(s.ws) + "/Tasks/" + t))["sid"] == t);
}

TEST_CASE("a database from a newer schema is refused with a clear message", "[api][durability]") {
  temp_dir dir;
  {
    node a{dir.path};
    make_workspace(a.api, "schema");
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir.path + "/switchboard.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA user_version=999", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto r = run_to_exit({"--port", "0", "--data", dir.path}, 15s);
  REQUIRE(r.exited);
  CHECK(r.code == 1);
  CHECK(r.output.find("schema version 999") != std::string::npos);
  CHECK(r.output.find("newer") != std::string::npos);
}

TEST_CASE("an unknown durability setting is refused", "[api][durability]") {
  auto r = run_to_exit({"--port", "0", "--durability", "sometimes"}, 10s);
  REQUIRE(r.exited);
  CHECK(r.code == 2);
  CHECK(r.output.find("full, normal or memory") != std::string::npos);
}

TEST_CASE("finished tasks and old events leave the database after their retention", "[api][durability]") {
  temp_dir dir;
  node a{dir.path, {"--task-retention", "1", "--event-retention", "2"}};
  auto s = make_workspace(a.api, "retention");
  auto db_file = dir.path + "/switchboard.db";
  // A steady stream of tasks created and canceled.
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 20; ++i) {
      auto t = make_task(a.api, s, 0, "r" + std::to_string(round));
      ok(a.api.post(ws_path(s.ws) + "/Tasks/" + t, {{"AssignmentStatus", "canceled"}}));
    }
  CHECK(count_rows(db_file, "SELECT count(*) FROM event_packs") > 0);
  // Tasks go after a second, events after two: the tables empty out.
  REQUIRE(eventually([&] { return count_rows(db_file, "SELECT count(*) FROM entities WHERE kind='task'") == 0; },
                     15s));
  REQUIRE(eventually([&] { return count_rows(db_file, "SELECT count(*) FROM event_packs") == 0; }, 15s));
  CHECK(ok(a.api.get(ws_path(s.ws) + "/Tasks"))["tasks"].empty());
  // And a restart does not bring them back.
  a.srv.kill_hard();
  node b{dir.path, {"--task-retention", "1", "--event-retention", "2"}};
  CHECK(ok(b.api.get(ws_path(s.ws) + "/Tasks"))["tasks"].empty());
}
