// The SQLite database on real temporary files: what goes in comes out,
// scopes and events, all-or-nothing batches, schema versions, durability.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include "helpers.hpp"
#include "samples.hpp"
#include "sqlite_probes.hpp"
#include "store/codec.hpp"
#include "store/database.hpp"

using namespace sb;
using test::raw_db;
using test::sorted;
using test::temp_dir;
using test::tuples;

namespace {

const std::string account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string ws_a = "WSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string ws_b = "WSbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

store::row row_of(const std::string& scope, const store::entity& e) {
  auto sid = store::sid_of(e);
  return store::row{store::kind_of(e), sid, scope, store::encode(e)};
}

store::event_row event_of(const std::string& scope, const std::string& sid, std::int64_t at_ms) {
  auto ev = test::sample_event(sid, model::time_point(std::chrono::milliseconds(at_ms)));
  return store::event_row{sid, scope, at_ms, store::encode(ev)};
}

// Two workspaces, each with a few entities.
store::encoded_batch two_workspaces() {
  store::encoded_batch b;
  b.puts.push_back(row_of(account, test::sample_workspace(ws_a)));
  b.puts.push_back(row_of(account, test::sample_workspace(ws_b)));
  b.puts.push_back(row_of(ws_a, test::sample_activity("WAa1")));
  b.puts.push_back(row_of(ws_a, test::sample_worker("WKa1")));
  b.puts.push_back(row_of(ws_a, test::sample_task("WTa1", 1)));
  b.puts.push_back(row_of(ws_b, test::sample_activity("WAb1")));
  b.puts.push_back(row_of(ws_b, test::sample_task("WTb1", 1)));
  b.puts.push_back(row_of(ws_b, test::sample_reservation("WRb1")));
  return b;
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir))
    ++n;
  return n;
}

} // namespace

TEST_CASE("write then load_entities returns exactly what was put", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  CHECK(db->load_entities().empty());
  auto b = two_workspaces();
  db->write(b);
  CHECK(sorted(db->load_entities()) == sorted(b.puts));

  SECTION("a put of an existing key replaces its document and scope") {
    store::encoded_batch u;
    auto moved = row_of(ws_b, test::sample_task("WTa1", 99));
    u.puts.push_back(moved);
    db->write(u);
    auto want = b.puts;
    for (auto& r : want)
      if (r.kind == "task" && r.sid == "WTa1")
        r = moved;
    CHECK(sorted(db->load_entities()) == sorted(want));
  }

  SECTION("erase removes exactly the named entity; erasing an absent one is no error") {
    store::encoded_batch e;
    e.erases.emplace_back("task", "WTa1");
    e.erases.emplace_back("task", "WTnever");
    e.erases.emplace_back("worker", "WTb1"); // right SID, wrong kind: nothing goes
    db->write(e);
    auto want = b.puts;
    std::erase_if(want, [](auto& r) { return r.kind == "task" && r.sid == "WTa1"; });
    CHECK(sorted(db->load_entities()) == sorted(want));
  }

  SECTION("the data survives closing and reopening the file") {
    db.reset();
    auto again = store::open_sqlite(dir / "sb.db", store::durability::normal);
    CHECK(sorted(again->load_entities()) == sorted(b.puts));
  }
}

TEST_CASE("an erased scope takes its rows, its events and its workspace row", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  auto b = two_workspaces();
  b.events = {event_of(ws_a, "EVa1", 1000), event_of(ws_b, "EVb1", 1001), event_of(ws_a, "EVa2", 1002)};
  db->write(b);
  REQUIRE(db->load_events(0, 100).size() == 3);

  store::encoded_batch del;
  del.erased_scopes.push_back(ws_a);
  db->write(del);

  auto want = b.puts;
  std::erase_if(want, [](auto& r) { return r.scope == ws_a || r.sid == ws_a; });
  REQUIRE(want.size() == 4); // workspace b and its three rows
  CHECK(sorted(db->load_entities()) == sorted(want));
  CHECK(tuples(db->load_events(0, 100)) == tuples({b.events[1]}));

  SECTION("within one batch the scope goes first, then puts, erases and events apply") {
    store::encoded_batch mixed;
    mixed.erased_scopes.push_back(ws_b);
    mixed.puts.push_back(row_of(ws_b, test::sample_activity("WAb2")));
    mixed.erases.emplace_back("activity", "WAb2");
    mixed.events.push_back(event_of(ws_b, "EVb2", 2000));
    db->write(mixed);
    CHECK(db->load_entities().empty());
    CHECK(tuples(db->load_events(0, 100)) == tuples({mixed.events[0]}));
  }
}

TEST_CASE("an erased conversation scope takes the conversation row and its children", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  const std::string ch_a = "CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string ch_b = "CHbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  auto b = two_workspaces();
  b.puts.push_back(row_of(account, test::sample_conversation(ch_a)));
  b.puts.push_back(row_of(account, test::sample_conversation(ch_b)));
  b.puts.push_back(row_of(account, test::sample_cv_service()));
  b.puts.push_back(row_of(account, test::sample_cv_config(account)));
  b.puts.push_back(row_of(ch_a, test::sample_participant("MBa1", ch_a)));
  b.puts.push_back(row_of(ch_a, test::sample_message("IMa1", ch_a, 0)));
  b.puts.push_back(row_of(ch_a, test::sample_cv_webhook("WHa1", ch_a)));
  b.puts.push_back(row_of(ch_b, test::sample_message("IMb1", ch_b, 0)));
  db->write(b);

  store::encoded_batch del;
  del.erased_scopes.push_back(ch_a);
  db->write(del);
  auto want = b.puts;
  std::erase_if(want, [&](auto& r) { return r.scope == ch_a || r.sid == ch_a; });
  REQUIRE(want.size() == b.puts.size() - 4);
  CHECK(sorted(db->load_entities()) == sorted(want));

  // A SID that owns no scope takes nothing else with it: erasing the scope
  // of a message's SID leaves the message (erase it by kind and SID).
  store::encoded_batch other;
  other.erased_scopes.push_back("IMb1");
  db->write(other);
  CHECK(sorted(db->load_entities()) == sorted(want));
}

TEST_CASE("load_events keeps the newest N of each scope, oldest first, from since_ms", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::normal);
  // Interleaved writes of two scopes, in several batches.
  std::vector<store::event_row> a, b;
  for (int i = 0; i < 6; ++i) {
    store::encoded_batch batch;
    a.push_back(event_of(ws_a, "EVa" + std::to_string(i), 10'000 + 100 * i));
    batch.events.push_back(a.back());
    if (i % 2 == 0) {
      b.push_back(event_of(ws_b, "EVb" + std::to_string(i), 10'000 + 100 * i + 50));
      batch.events.push_back(b.back());
    }
    db->write(batch);
  }
  REQUIRE(b.size() == 3);

  auto only = [](const std::vector<store::event_row>& rows, const std::string& scope) {
    std::vector<store::event_row> out;
    for (auto& r : rows)
      if (r.scope == scope)
        out.push_back(r);
    return out;
  };

  SECTION("everything when the limit is large") {
    auto all = db->load_events(0, 1000);
    CHECK(all.size() == 9);
    CHECK(tuples(only(all, ws_a)) == tuples(a));
    CHECK(tuples(only(all, ws_b)) == tuples(b));
    // Oldest first across scopes too: the order they were written in.
    for (std::size_t i = 1; i < all.size(); ++i)
      CHECK(all[i - 1].at_ms < all[i].at_ms);
  }
  SECTION("the newest N per scope") {
    auto some = db->load_events(0, 2);
    CHECK(some.size() == 4);
    CHECK(tuples(only(some, ws_a)) == tuples({a[4], a[5]}));
    CHECK(tuples(only(some, ws_b)) == tuples({b[1], b[2]}));
  }
  SECTION("since_ms is inclusive and leaves older events out") {
    auto recent = db->load_events(10'300, 1000); // a[3] is exactly at 10,300
    CHECK(tuples(only(recent, ws_a)) == tuples({a[3], a[4], a[5]}));
    CHECK(tuples(only(recent, ws_b)) == tuples({b[2]}));
    CHECK(db->load_events(20'000, 1000).empty());
  }
  SECTION("a limit of zero loads nothing") {
    CHECK(db->load_events(0, 0).empty());
  }
}

TEST_CASE("purge_events deletes by age and counts what went", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::normal);
  store::encoded_batch b;
  for (int i = 0; i < 10; ++i)
    b.events.push_back(event_of(i % 2 ? ws_a : ws_b, "EV" + std::to_string(i), 5'000 + i));
  db->write(b);
  CHECK(db->purge_events(5'000) == 0); // strictly older only
  CHECK(db->purge_events(5'004) == 4);
  CHECK(db->purge_events(5'004) == 0);
  // The survivors, oldest first within each scope.
  auto left = db->load_events(0, 100);
  auto of_scope = [](const std::vector<store::event_row>& rows, const std::string& scope) {
    std::vector<store::event_row> out;
    std::copy_if(rows.begin(), rows.end(), std::back_inserter(out), [&](auto& r) { return r.scope == scope; });
    return out;
  };
  std::vector<store::event_row> want(b.events.begin() + 4, b.events.end());
  CHECK(left.size() == want.size());
  CHECK(tuples(of_scope(left, ws_a)) == tuples(of_scope(want, ws_a)));
  CHECK(tuples(of_scope(left, ws_b)) == tuples(of_scope(want, ws_b)));
  CHECK(db->purge_events(1'000'000) == 6);
  CHECK(db->load_events(0, 100).empty());
}

TEST_CASE("a batch SQLite rejects half-way leaves nothing of itself behind", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  auto db = store::open_sqlite(file, store::durability::full);
  auto first = two_workspaces();
  first.events = {event_of(ws_a, "EVa1", 1000), event_of(ws_b, "EVb1", 1001)};
  db->write(first);
  auto entities_before = sorted(db->load_entities());
  auto events_before = tuples(db->load_events(0, 100));

  // Another connection makes the database refuse one particular event: the
  // last statement of the batch, so every other part has already run.
  raw_db other(file);
  other.exec("CREATE TRIGGER refuse_poison BEFORE INSERT ON event_packs WHEN instr(NEW.body, 'EVpoison') > 0 "
             "BEGIN SELECT RAISE(ABORT, 'poisoned event refused'); END");

  store::encoded_batch bad;
  bad.erased_scopes.push_back(ws_b);
  bad.puts.push_back(row_of(ws_a, test::sample_activity("WAa2")));
  bad.puts.push_back(row_of(ws_a, test::sample_task("WTa1", 777))); // replaces an existing row
  bad.erases.emplace_back("worker", "WKa1");
  bad.events.push_back(event_of(ws_a, "EVa2", 2000));
  bad.events.push_back(event_of(ws_a, "EVpoison", 2001));
  try {
    db->write(bad);
    FAIL("the poisoned batch was accepted");
  } catch (const store::store_error& e) {
    CHECK(std::string(e.what()).find("poisoned event refused") != std::string::npos);
  }
  CHECK(sorted(db->load_entities()) == entities_before);
  CHECK(tuples(db->load_events(0, 100)) == events_before);
  // And from outside: no transaction was left open holding the changes.
  CHECK(other.integer("SELECT count(*) FROM entities") == static_cast<std::int64_t>(entities_before.size()));
  CHECK(other.integer("SELECT sum(count) FROM event_packs") == static_cast<std::int64_t>(events_before.size()));

  // The connection is usable afterwards: the same batch without the poison goes in whole.
  bad.events.pop_back();
  db->write(bad);
  auto now = db->load_entities();
  CHECK(std::none_of(now.begin(), now.end(), [](auto& r) { return r.scope == ws_b || r.sid == ws_b; }));
  CHECK(std::any_of(now.begin(), now.end(), [](auto& r) { return r.sid == "WAa2"; }));
  CHECK(std::none_of(now.begin(), now.end(), [](auto& r) { return r.sid == "WKa1"; }));
  CHECK(tuples(db->load_events(0, 100)) == tuples({first.events[0], bad.events[0]}));
}

TEST_CASE("a new file gets the current schema version and reopening keeps the data", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  {
    auto db = store::open_sqlite(file, store::durability::full);
    db->write(two_workspaces());
  }
  {
    raw_db raw(file, SQLITE_OPEN_READONLY);
    CHECK(raw.integer("PRAGMA user_version") == store::schema_version);
    CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name IN ('entities', 'event_packs')") == 2);
  }
  auto db = store::open_sqlite(file, store::durability::full);
  CHECK(sorted(db->load_entities()) == sorted(two_workspaces().puts));
  raw_db raw(file, SQLITE_OPEN_READONLY);
  CHECK(raw.integer("PRAGMA user_version") == store::schema_version);
}

TEST_CASE("an empty SQLite file at version 0 is migrated", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  {
    raw_db raw(file);
    raw.exec("CREATE TABLE unrelated (x)"); // a real database file, version 0
  }
  auto db = store::open_sqlite(file, store::durability::full);
  db->write(two_workspaces());
  raw_db raw(file, SQLITE_OPEN_READONLY);
  CHECK(raw.integer("PRAGMA user_version") == store::schema_version);
  CHECK(raw.integer("SELECT count(*) FROM entities") == 8);
}

TEST_CASE("a version 1 file (an event per row) is migrated to event packs with nothing lost", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  // The version 1 schema as it shipped, with a document that holds bytes a
  // separator-based packing would trip on.
  std::vector<store::event_row> old_events = {
    event_of(ws_a, "EVa1", 1000), event_of(ws_b, "EVb1", 1001),
    store::event_row{"EVa2", ws_a, 1002, "{\"text\":\"two\nlines 12 34 \u00e9\"}"},
  };
  {
    raw_db raw(file);
    raw.exec("CREATE TABLE entities (kind TEXT NOT NULL, sid TEXT NOT NULL, scope TEXT NOT NULL,"
             " doc TEXT NOT NULL, UNIQUE (kind, sid));"
             "CREATE INDEX entities_scope ON entities (scope);"
             "CREATE TABLE events (seq INTEGER PRIMARY KEY, sid TEXT NOT NULL, scope TEXT NOT NULL,"
             " at_ms INTEGER NOT NULL, doc TEXT NOT NULL);"
             "CREATE INDEX events_at ON events (at_ms);");
    for (auto& e : old_events)
      raw.exec("INSERT INTO events (sid, scope, at_ms, doc) VALUES ('" + e.sid + "', '" + e.scope + "', " +
               std::to_string(e.at_ms) + ", '" + e.doc + "')");
    raw.exec("INSERT INTO entities VALUES ('activity', 'WAold', '" + ws_a + "', '{}'); PRAGMA user_version = 1");
  }
  auto db = store::open_sqlite(file, store::durability::full);
  CHECK(tuples(db->load_events(0, 100)) == tuples(old_events));
  CHECK(db->load_entities().size() == 1);
  // New events land after the old ones, and purging works across both.
  store::encoded_batch b;
  b.events = {event_of(ws_a, "EVa3", 2000)};
  db->write(b);
  CHECK(db->purge_events(1002) == 2);
  CHECK(tuples(db->load_events(0, 100)) == tuples({old_events[2], b.events[0]}));
  raw_db raw(file, SQLITE_OPEN_READONLY);
  CHECK(raw.integer("PRAGMA user_version") == store::schema_version);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'events'") == 0);
}

TEST_CASE("a damaged event pack stops the load with a message naming its scope", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  auto db = store::open_sqlite(file, store::durability::full);
  store::encoded_batch b;
  b.events = {event_of(ws_a, "EVa1", 1000)};
  db->write(b);
  raw_db(file).exec("UPDATE event_packs SET body = CAST('1000 4 999 EVa1{}' AS BLOB)");
  try {
    db->load_events(0, 100);
    FAIL("a damaged pack was loaded");
  } catch (const store::store_error& e) {
    CHECK(std::string(e.what()).find(ws_a) != std::string::npos);
  }
}

TEST_CASE("a database newer than this binary is refused and left untouched", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  int newer = store::schema_version + 1;
  {
    raw_db raw(file);
    raw.exec("CREATE TABLE future (x); PRAGMA user_version = " + std::to_string(newer));
  }
  try {
    store::open_sqlite(file, store::durability::full);
    FAIL("a newer database was opened");
  } catch (const store::store_error& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("newer") != std::string::npos);
    CHECK(msg.find(std::to_string(newer)) != std::string::npos);
    CHECK(msg.find(std::to_string(store::schema_version)) != std::string::npos);
  }
  raw_db raw(file, SQLITE_OPEN_READONLY);
  CHECK(raw.integer("PRAGMA user_version") == newer);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_schema WHERE name = 'entities'") == 0);
}

TEST_CASE("a file that is not a database is refused with a store_error", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  {
    std::ofstream out(file);
    out << "this is not an SQLite database, just text long enough to have a header of sorts\n";
  }
  CHECK_THROWS_AS(store::open_sqlite(file, store::durability::full), store::store_error);
  CHECK_THROWS_AS(store::open_sqlite(dir / "missing-dir" / "sb.db", store::durability::full),
                  store::store_error);
}

TEST_CASE("durability full and normal: WAL, and synchronous FULL or NORMAL on the store's connection", "[store]") {
  temp_dir dir;
  struct mode {
    store::durability d;
    int synchronous;
  };
  for (auto [d, synchronous] : {mode{store::durability::full, 2}, mode{store::durability::normal, 1}}) {
    std::string name = store::to_string(d);
    SECTION(name) {
      CHECK(store::parse_durability(name) == d);
      auto file = dir / (name + ".db");
      test::sync_counter syncs;
      std::unique_ptr<store::database> db;
      sqlite3* conn = nullptr;
      {
        test::connection_catcher catcher;
        db = store::open_sqlite(file, d);
        conn = catcher.caught();
      }
      REQUIRE(conn);
      auto own = raw_db::borrow(conn);
      CHECK(own.integer("PRAGMA synchronous") == synchronous);
      CHECK(own.text("PRAGMA journal_mode") == "wal");
      // journal_mode is a property of the file: a second connection sees it.
      raw_db other(file, SQLITE_OPEN_READONLY);
      CHECK(other.text("PRAGMA journal_mode") == "wal");

      // What the setting means: full syncs the WAL at every commit, normal
      // at checkpoints only (none in a few small commits).
      syncs.reset();
      const int commits = 10;
      for (int i = 0; i < commits; ++i) {
        store::encoded_batch b;
        b.puts.push_back(row_of(ws_a, test::sample_task("WT" + std::to_string(i), i)));
        db->write(b);
      }
      if (d == store::durability::full)
        CHECK(syncs.wal() >= commits);
      else
        CHECK(syncs.wal() == 0);
      CHECK(db->load_entities().size() == commits);
    }
  }
  CHECK(store::parse_durability("memory") == store::durability::memory);
  CHECK_FALSE(store::parse_durability("FULL"));
  CHECK_FALSE(store::parse_durability(""));
}

TEST_CASE("durability memory keeps nothing on disk", "[store]") {
  temp_dir dir;
  auto file = dir / "sb.db";
  {
    auto db = store::open_sqlite(file, store::durability::memory);
    auto b = two_workspaces();
    b.events = {event_of(ws_a, "EVa1", 1000)};
    db->write(b);
    CHECK(sorted(db->load_entities()) == sorted(b.puts));
    CHECK(db->load_events(0, 10).size() == 1);
    CHECK(files_in(dir.path()) == 0);
  }
  CHECK(files_in(dir.path()) == 0);
  auto again = store::open_sqlite(file, store::durability::memory);
  CHECK(again->load_entities().empty());
  CHECK(again->load_events(0, 10).empty());
}

// Checkpoints run on the store's own thread, not in the writer's commits
// (which this test does not tell apart): the database file fills and the
// WAL starts over instead of growing, round after round.
TEST_CASE("checkpoints: the database file fills and the WAL starts over instead of growing", "[store]") {
  // Polls f until it holds or 10 s pass.
  auto eventually = [](auto f) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!f()) {
      if (std::chrono::steady_clock::now() >= deadline)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10)); // poll interval of a deadline-bounded wait
    }
    return true;
  };
  temp_dir dir;
  auto file = dir / "ckpt.db";
  auto wal = std::filesystem::path(file.string() + "-wal");
  auto db = store::open_sqlite(file, store::durability::normal);
  // Rows in many scopes, as many conversations write: about 2,500 WAL pages a round.
  std::string pad(900, 'x');
  int next = 0;
  auto round = [&] {
    for (int batch = 0; batch < 50; ++batch) {
      store::encoded_batch b;
      for (int i = 0; i < 100; ++i, ++next) {
        auto sid = "WT" + std::to_string(100000000 + next);
        b.puts.push_back(store::row{"task", sid, "WS" + std::to_string(next % 997), pad + sid});
      }
      db->write(b);
    }
  };
  auto db_size = [&] { return std::filesystem::file_size(file); };
  std::uintmax_t first_wal = 0;
  const int rounds = 6;
  for (int r = 0; r < rounds; ++r) {
    auto before = db_size();
    round();
    // The writer's commits leave the database file alone; the checkpointer fills it.
    REQUIRE(eventually([&] { return db_size() > before + 4 * 1024 * 1024; }));
    if (r == 0)
      first_wal = std::filesystem::file_size(wal);
  }
  // Appended to, the WAL would hold all six rounds; started over, it holds
  // what came between two checkpoints.
  INFO("WAL after the first round " << first_wal << " B, after all " << std::filesystem::file_size(wal) << " B");
  CHECK(std::filesystem::file_size(wal) < 3 * first_wal);
  CHECK(db->load_entities().size() == static_cast<std::size_t>(next));
}
