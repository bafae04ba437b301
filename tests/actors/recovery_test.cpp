// Recovery on CAF's test coordinator: a workspace writes through a real
// SQLite file, the actor system goes away, and a new one is rebuilt from what
// the file holds. Virtual time shows that timers come back with what was left
// of them, not afresh.

#include <catch2/catch.hpp>

#include <filesystem>

#include "harness.hpp"
#include "store/codec.hpp"
#include "model/sid.hpp"
#include "store/image.hpp"

using namespace sb;
using namespace std::chrono_literals;
using test::harness;

namespace {

struct db_file {
  std::filesystem::path path =
    std::filesystem::temp_directory_path() / ("sb-recovery-" + model::random_hex32() + ".db");
  ~db_file() {
    std::error_code ec;
    for (auto suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path.string() + suffix, ec);
  }
};

actors::workspace_images recover(store::database& db) {
  return store::recover(db, 0, 100000).workspaces;
}

// Rewrites a stored task as if it had been created (and had entered its
// current target) `ago` earlier than it was.
void age_task(store::database& db, const std::string& workspace, const std::string& sid,
              std::chrono::seconds ago) {
  for (auto& row : db.load_entities()) {
    if (row.kind != "task" || row.sid != sid)
      continue;
    auto e = store::decode(row.kind, row.doc);
    REQUIRE(e);
    auto& t = std::get<model::task>(*e);
    t.created -= ago;
    t.queue_entered -= ago;
    store::encoded_batch b;
    b.puts.push_back(store::row{"task", sid, workspace, store::encode(*e)});
    db.write(b);
    return;
  }
  FAIL("task " << sid << " is not in the store");
}

} // namespace

TEST_CASE("recovered tasks keep their queue order, and TTL and target timeouts resume with the time left",
          "[actors][recovery]") {
  db_file file;
  auto db = std::shared_ptr<store::database>(store::open_sqlite(file.path, store::durability::normal));
  std::string ws, first, second, low, high, mid, ttl_task;
  {
    harness h{db};
    ws = h.create_workspace("recovery");
    first = h.create_queue("first", "1==1");
    second = h.create_queue("second", "1==1");
    h.create_workflow("two targets", R"({"task_routing":{"filters":[{"filter_friendly_name":"all",)"
                                     R"("expression":"1==1","targets":[{"queue":")" + first +
                                       R"(","timeout":100},{"queue":")" + second + R"("}]}]}})");
    low = h.create_task(R"({"n":"low"})", 1);
    high = h.create_task(R"({"n":"high"})", 5);
    mid = h.create_task(R"({"n":"mid"})", 3);
    ttl_task = h.create_task(R"({"n":"ttl"})", 0, "default", 200);
    for (auto& sid : {low, high, mid, ttl_task})
      REQUIRE(h.task(sid).queue_sid == first);
  }
  // Everything happened a minute earlier than the clock says.
  for (auto& sid : {low, high, mid, ttl_task})
    age_task(*db, ws, sid, 60s);

  harness h{db, recover(*db)};
  REQUIRE(h.workspace == ws);
  auto t = h.task(low);
  CHECK(t.status == model::task_status::pending);
  CHECK(t.queue_sid == first);
  CHECK(t.priority == 1);
  // Queue order is priority, then age: the recovered queue says the same.
  auto stats = h.queue_stats(first);
  INFO(stats.dump());
  std::vector<std::string> order;
  for (auto& x : stats["waiting_in_order"])
    order.push_back(x.get<std::string>());
  CHECK(order == std::vector<std::string>{high, mid, low, ttl_task});

  // The first target's 100 s timeout had 40 s left.
  h.advance(39s);
  CHECK(h.task(low).queue_sid == first);
  h.advance(2s);
  CHECK(h.task(low).queue_sid == second);
  CHECK(h.task(low).status == model::task_status::pending);
  // The 200 s TTL had 140 s left: 41 s have passed, 99 more stay short of it.
  h.advance(98s);
  CHECK(h.task(ttl_task).status == model::task_status::pending);
  h.advance(2s);
  auto expired = h.task(ttl_task);
  CHECK(expired.status == model::task_status::canceled);
  CHECK(expired.reason == "Task TTL Exceeded");
  // The restart itself recorded no second entry into the first target.
  std::size_t entered = 0;
  for (auto& e : h.events("task-queue.entered"))
    if (e.task_sid == low && e.queue_sid == first)
      ++entered;
  CHECK(entered == 1);
}

TEST_CASE("a task whose TTL ran out while the server was down is canceled on recovery", "[actors][recovery]") {
  db_file file;
  auto db = std::shared_ptr<store::database>(store::open_sqlite(file.path, store::durability::normal));
  std::string ws, task;
  {
    harness h{db};
    ws = h.create_workspace("late");
    auto q = h.create_queue("q", "1==1");
    h.create_workflow("wf", R"({"task_routing":{"filters":[],"default_filter":{"queue":")" + q + R"("}}})");
    task = h.create_task(R"({})", 0, "default", 30);
  }
  age_task(*db, ws, task, 31s);
  harness h{db, recover(*db)};
  auto t = h.task(task);
  CHECK(t.status == model::task_status::canceled);
  CHECK(t.reason == "Task TTL Exceeded");
  // And the cancellation itself is durable.
  auto again = recover(*db);
  REQUIRE(again.size() == 1);
  bool found = false;
  for (auto& x : again.front()->tasks)
    if (x.sid == task) {
      found = true;
      CHECK(x.status == model::task_status::canceled);
    }
  CHECK(found);
}

TEST_CASE("a worker's activity, attributes and channel capacity survive a restart", "[actors][recovery]") {
  db_file file;
  auto db = std::shared_ptr<store::database>(store::open_sqlite(file.path, store::durability::normal));
  std::string worker;
  {
    harness h{db};
    h.create_workspace("workers");
    worker = h.create_worker("alice", R"({"skills":["en"]})", "Break");
    auto r = h.op(actors::tr_op::worker_channel_update, worker, "chat", {{"Capacity", "4"}, {"Available", "false"}});
    REQUIRE(test::error_of(r).code == 0);
  }
  harness h{db, recover(*db)};
  auto w = h.worker(worker);
  CHECK(w.activity_name == "Break");
  CHECK(w.available == false);
  CHECK(w.attributes == R"({"skills":["en"]})");
  auto ch = test::expect_one<actors::worker_channel_ref>(
    h.op(actors::tr_op::worker_channel_fetch, worker, "chat"));
  CHECK(ch.channel.configured_capacity == 4);
  CHECK(ch.channel.available == false);
}
