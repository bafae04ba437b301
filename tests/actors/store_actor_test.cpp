// The store writer on CAF's test coordinator: group commit, syncs, the fault
// path and its recovery in virtual time, workspace deletion.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>

#include <caf/all.hpp>

#include "actors/store_actor.hpp"
#include "test_support.hpp"
#include "metrics/metrics.hpp"
#include "store/codec.hpp"

using namespace sb;

namespace {

const std::string account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string ws1 = "WS11111111111111111111111111111111";
const std::string ws2 = "WS22222222222222222222222222222222";

using test::flaky_database;
using test::testing_config;

struct store_fixture {
  explicit store_fixture(std::chrono::milliseconds retry = std::chrono::milliseconds(250))
      : sys(testing_config(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        self(sys) {
    actors::store_options opts;
    opts.retry_interval = retry;
    opts.metrics = registry.store();
    opts.writable = writable;
    store = sys.spawn(actors::store_actor, std::shared_ptr<store::database>(db), opts);
    sched.run();
  }
  ~store_fixture() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void write(store::write_batch b) { self->send(store, actors::store_write{std::move(b)}); }
  void sync() { self->send(store, actors::store_sync{}); }
  // The answer to a sync, if one has arrived; never waits.
  std::optional<bool> answer() {
    std::optional<bool> out;
    self->receive([&](bool ok) { out = ok; }, caf::after(std::chrono::seconds(0)) >> [] {});
    return out;
  }
  // Runs until idle and returns the sync's answer, which must have come.
  bool synced() {
    sched.run();
    auto a = answer();
    REQUIRE(a);
    return *a;
  }
  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    sched.run();
  }
  double failures() const { return registry.store().write_failures->Value(); }
  double writable_gauge() const { return registry.store().writable->Value(); }

  // What the database holds, decoded.
  std::map<std::string, store::entity> stored() {
    std::map<std::string, store::entity> out;
    for (auto& r : db->load_entities()) {
      auto e = store::decode(r.kind, r.doc);
      REQUIRE(e);
      out.emplace(r.kind + "/" + r.sid, *e);
    }
    return out;
  }
  std::vector<std::string> stored_events() {
    std::vector<std::string> out;
    for (auto& e : db->load_events(0, 1000))
      out.push_back(e.sid);
    return out;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  metrics::registry registry;
  std::shared_ptr<std::atomic<bool>> writable = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<flaky_database> db = std::make_shared<flaky_database>();
  caf::actor store;
};

model::task task(const std::string& sid, std::uint64_t version) {
  model::task t;
  t.sid = sid;
  t.version = version;
  t.priority = static_cast<int>(version);
  return t;
}

model::worker worker(const std::string& sid) {
  model::worker w;
  w.sid = sid;
  w.friendly_name = "worker " + sid;
  return w;
}

store::event_record event(const std::string& scope, const std::string& sid) {
  auto e = std::make_shared<model::event>();
  e->sid = sid;
  e->event_type = "task.created";
  e->date = model::time_point(std::chrono::milliseconds(1'790'000'000'000));
  return store::record_event(scope, *e);
}

store::write_batch puts(const std::string& scope, std::vector<store::entity> values,
                        std::vector<std::string> event_sids = {}) {
  store::write_batch b;
  for (auto& v : values)
    b.changes.push_back(store::put(scope, v));
  for (auto& sid : event_sids)
    b.events.push_back(event(scope, sid));
  return b;
}

std::uint64_t version_of(const std::map<std::string, store::entity>& m, const std::string& sid) {
  auto it = m.find("task/" + sid);
  REQUIRE(it != m.end());
  return std::get<model::task>(it->second).version;
}

std::vector<std::string> sids(const std::vector<store::row>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows)
    out.push_back(r.kind + "/" + r.sid);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("store writes queued before the commit tick go to the database in one write", "[actors][store]") {
  store_fixture f;
  f.write(puts(ws1, {task("WT1", 1)}, {"EV1"}));
  f.write(puts(ws1, {worker("WK1"), task("WT2", 1)}, {"EV2"}));
  f.write(puts(ws1, {task("WT1", 2)}, {"EV3"}));
  f.sync();

  // One message at a time: the sync must not be answered before the write.
  std::optional<bool> answer;
  int steps = 0;
  while (f.sched.try_run_once()) {
    ++steps;
    auto a = f.answer();
    if (!answer && !a) {
      CHECK(f.db->calls == 0);
    } else if (a) {
      REQUIRE_FALSE(answer);
      answer = a;
      CHECK(f.db->calls == 1);
    }
  }
  INFO("steps " << steps);
  REQUIRE(answer);
  CHECK(*answer);
  CHECK(steps == 5); // three writes, the sync and one commit tick: nothing else
  CHECK(f.db->calls == 1);
  REQUIRE(f.db->attempts.size() == 1);
  auto& b = f.db->attempts[0];
  // The two versions of WT1 merged into the latest.
  CHECK(sids(b.puts) == std::vector<std::string>{"task/WT1", "task/WT2", "worker/WK1"});
  CHECK(b.events.size() == 3);
  auto stored = f.stored();
  CHECK(stored.size() == 3);
  CHECK(version_of(stored, "WT1") == 2);
  CHECK(f.stored_events() == std::vector<std::string>{"EV1", "EV2", "EV3"});
  CHECK(f.writable->load());
}

TEST_CASE("writes that arrive while a commit is queued share the next transaction", "[actors][store]") {
  store_fixture f;
  f.write(puts(ws1, {task("WT1", 1)}));
  // The first write is handled and its tick queued; four more arrive behind it.
  REQUIRE(f.sched.try_run_once());
  CHECK(f.db->calls == 0);
  for (int i = 2; i <= 5; ++i)
    f.write(puts(ws1, {task("WT" + std::to_string(i), 1)}));
  f.sync();
  CHECK(f.synced());
  // The tick takes what it finds (WT1); the next one takes the four that
  // queued behind it together.
  REQUIRE(f.db->calls == 2);
  CHECK(f.db->attempts[0].puts.size() == 1);
  CHECK(f.db->attempts[1].puts.size() == 4);
  CHECK(f.stored().size() == 5);
}

TEST_CASE("a sync with nothing pending is answered at once", "[actors][store]") {
  store_fixture f;
  f.sync();
  REQUIRE(f.sched.try_run_once());
  auto a = f.answer();
  REQUIRE(a);
  CHECK(*a);
  CHECK(f.db->calls == 0);
  CHECK_FALSE(f.sched.has_job()); // no commit was scheduled for it

  // Likewise right after a commit: nothing is written twice.
  f.write(puts(ws1, {task("WT1", 1)}));
  f.sync();
  CHECK(f.synced());
  CHECK(f.db->calls == 1);
  f.sync();
  REQUIRE(f.sched.try_run_once());
  a = f.answer();
  REQUIRE(a);
  CHECK(*a);
  CHECK(f.db->calls == 1);
  CHECK_FALSE(f.sched.has_job());
}

TEST_CASE("a failing database: syncs answer false, writes are kept, the retry restores everything", "[actors][store]") {
  const auto retry = std::chrono::milliseconds(250);
  store_fixture f(retry);
  f.write(puts(ws1, {worker("WK0"), task("WT1", 1)}, {"EV0"}));
  f.sync();
  REQUIRE(f.synced());
  REQUIRE(f.db->calls == 1);
  CHECK(f.writable->load());
  CHECK(f.writable_gauge() == 1);
  CHECK(f.failures() == 0);

  f.db->failing = true;
  f.write(puts(ws1, {task("WT1", 2)}, {"EV1"}));
  f.sync();
  CHECK_FALSE(f.synced());
  CHECK(f.db->calls == 2);
  CHECK_FALSE(f.writable->load());
  CHECK(f.writable_gauge() == 0);
  CHECK(f.failures() == 1);

  // More changes while failing: kept, not attempted on their own, and a
  // sync is refused at once.
  auto more = puts(ws1, {task("WT1", 3), worker("WK1")}, {"EV2"});
  more.changes.push_back(store::erase("worker", "WK0", ws1));
  f.write(std::move(more));
  f.write(puts(ws2, {task("WT9", 1)}, {"EV3"}));
  f.sync();
  CHECK_FALSE(f.synced());
  CHECK(f.db->calls == 2);
  CHECK_FALSE(f.sched.has_job());

  // The retry comes after retry_interval, fails again, and counts.
  f.advance(retry - std::chrono::milliseconds(1));
  CHECK(f.db->calls == 2);
  f.advance(std::chrono::milliseconds(1));
  CHECK(f.db->calls == 3);
  CHECK(f.failures() == 2);
  CHECK_FALSE(f.writable->load());

  // The disk has room again: the next retry writes everything at once.
  f.db->failing = false;
  f.advance(retry - std::chrono::milliseconds(1));
  CHECK(f.db->calls == 3);
  CHECK_FALSE(f.writable->load());
  f.advance(std::chrono::milliseconds(1));
  CHECK(f.db->calls == 4);
  CHECK(f.writable->load());
  CHECK(f.writable_gauge() == 1);
  CHECK(f.failures() == 2);

  auto& last = f.db->attempts.back();
  CHECK(sids(last.puts) == std::vector<std::string>{"task/WT1", "task/WT9", "worker/WK1"});
  REQUIRE(last.erases.size() == 1);
  CHECK(last.erases[0] == std::make_pair(std::string("worker"), std::string("WK0")));
  auto stored = f.stored();
  CHECK(stored.size() == 3);
  CHECK(version_of(stored, "WT1") == 3); // the latest value won
  CHECK(stored.count("worker/WK1") == 1);
  CHECK(stored.count("worker/WK0") == 0);
  CHECK(version_of(stored, "WT9") == 1);
  CHECK(f.stored_events() == std::vector<std::string>{"EV0", "EV1", "EV2", "EV3"});

  // Back to normal: a write and a sync go through; no retry is left over.
  f.write(puts(ws1, {task("WT2", 1)}));
  f.sync();
  CHECK(f.synced());
  CHECK(f.db->calls == 5);
  f.advance(retry * 4);
  CHECK(f.db->calls == 5);
}

TEST_CASE("an erased scope drops the earlier pending changes of that scope", "[actors][store]") {
  store_fixture f;
  model::workspace w;
  w.sid = ws1;
  w.account_sid = account;
  model::activity a;
  a.sid = "WA1";

  SECTION("in one group commit") {
    auto b = puts(ws1, {a, task("WT1", 1)}, {"EV1"});
    b.changes.push_back(store::put(account, ws1, w)); // the workspace row belongs to the account
    f.write(std::move(b));
    f.write(puts(ws2, {task("WT2", 1)}, {"EV2"}));
    store::write_batch del;
    del.erased_scopes.push_back(ws1);
    f.write(std::move(del));
    f.sync();
    CHECK(f.synced());
    REQUIRE(f.db->calls == 1);
    auto& sent = f.db->attempts[0];
    CHECK(sent.erased_scopes == std::vector<std::string>{ws1});
    CHECK(sids(sent.puts) == std::vector<std::string>{"task/WT2"});
    REQUIRE(sent.events.size() == 1);
    CHECK(sent.events[0].sid == "EV2");
    auto stored = f.stored();
    CHECK(stored.size() == 1);
    CHECK(stored.count("task/WT2") == 1);
    CHECK(f.stored_events() == std::vector<std::string>{"EV2"});
  }

  SECTION("after the scope was committed, and while the database fails") {
    auto b = puts(ws1, {a, task("WT1", 1)}, {"EV1"});
    b.changes.push_back(store::put(account, ws1, w));
    f.write(std::move(b));
    f.write(puts(ws2, {task("WT2", 1)}, {"EV2"}));
    f.sync();
    REQUIRE(f.synced());
    REQUIRE(f.stored().size() == 4);

    f.db->failing = true;
    f.write(puts(ws1, {task("WT1", 2), task("WT3", 1)}, {"EV3"}));
    auto renamed = w;
    renamed.friendly_name = "renamed";
    f.write(puts(account, {renamed}));
    f.sync();
    CHECK_FALSE(f.synced());
    store::write_batch del;
    del.erased_scopes.push_back(ws1);
    f.write(std::move(del));
    f.write(puts(ws2, {task("WT2", 2)}));

    f.db->failing = false;
    f.advance(std::chrono::milliseconds(250));
    CHECK(f.writable->load());
    auto& sent = f.db->attempts.back();
    CHECK(sent.erased_scopes == std::vector<std::string>{ws1});
    CHECK(sids(sent.puts) == std::vector<std::string>{"task/WT2"});
    CHECK(sent.events.empty());
    auto stored = f.stored();
    CHECK(stored.size() == 1);
    CHECK(version_of(stored, "WT2") == 2);
    CHECK(f.stored_events() == std::vector<std::string>{"EV2"});
  }

  SECTION("writes for the scope that arrive after its erase are dropped too") {
    auto b = puts(ws1, {a}, {"EV1"});
    b.changes.push_back(store::put(account, ws1, w));
    f.write(std::move(b));
    f.sync();
    REQUIRE(f.synced());
    store::write_batch del;
    del.erased_scopes.push_back(ws1);
    f.write(std::move(del));
    f.sync();
    REQUIRE(f.synced());
    REQUIRE(f.stored().empty());

    // The workspace's actor, on its way out, still hands over what its last
    // message changed: its own row (scope: the account), a task, an event.
    auto late = puts(ws1, {task("WT1", 1)}, {"EV9"});
    late.changes.push_back(store::put(account, ws1, w));
    f.write(std::move(late));
    f.write(puts(ws2, {task("WT2", 1)}, {"EV2"}));
    f.sync();
    CHECK(f.synced());
    auto stored = f.stored();
    CHECK(stored.size() == 1);
    CHECK(stored.count("task/WT2") == 1);
    CHECK(f.stored_events() == std::vector<std::string>{"EV2"});
  }
}

// A passive conversation comes back from store_load: the database's rows of
// one scope with the changes still pending (a failing disk keeps them)
// applied over them, nothing of other scopes, and a clear error when the
// database cannot be read.
TEST_CASE("store writer: store_load answers a scope's rows, pending changes included", "[store]") {
  store_fixture f;
  auto load = [&](const std::string& scope) {
    std::optional<actors::store_rows> out;
    f.self->send(f.store, actors::store_load{scope});
    f.sched.run();
    f.self->receive([&](actors::store_rows& r) { out = std::move(r); }, caf::after(std::chrono::seconds(0)) >> [] {});
    REQUIRE(out);
    return *out;
  };
  auto versions = [](const actors::store_rows& r) {
    std::map<std::string, std::uint64_t> out;
    for (auto& row : r.rows) {
      auto e = store::decode(row.kind, row.doc);
      REQUIRE(e);
      out[row.sid] = std::get<model::task>(*e).version;
    }
    return out;
  };
  f.write(puts(ws1, {task("WT1", 1), task("WT2", 1)}));
  f.write(puts(ws2, {task("WT9", 1)}));
  f.sync();
  REQUIRE(f.synced());
  CHECK(versions(load(ws1)) == std::map<std::string, std::uint64_t>{{"WT1", 1}, {"WT2", 1}});

  // The disk fails: an update, an erase and a new row wait in memory.
  f.db->failing = true;
  auto b = puts(ws1, {task("WT1", 2), task("WT3", 1)});
  b.changes.push_back(store::erase("task", "WT2", ws1));
  f.write(std::move(b));
  f.sync();
  CHECK_FALSE(f.synced());
  auto pending = load(ws1);
  CHECK(pending.error.empty());
  CHECK(versions(pending) == std::map<std::string, std::uint64_t>{{"WT1", 2}, {"WT3", 1}});
  CHECK(versions(load(ws2)) == std::map<std::string, std::uint64_t>{{"WT9", 1}});

  // A database that cannot be read says so.
  f.db->failing_reads = true;
  auto failed = load(ws1);
  CHECK(failed.rows.empty());
  CHECK(failed.error.find("disk I/O error") != std::string::npos);
  f.db->failing_reads = false;

  // The retry commits what waited; then an erased scope has nothing left.
  f.db->failing = false;
  f.advance(std::chrono::milliseconds(250));
  CHECK(versions(load(ws1)) == std::map<std::string, std::uint64_t>{{"WT1", 2}, {"WT3", 1}});
  store::write_batch del;
  del.erased_scopes.push_back(ws1);
  f.write(std::move(del));
  f.sync();
  REQUIRE(f.synced());
  CHECK(load(ws1).rows.empty());
}
