// recover(): what a restart reads back, grouped by workspace and ordered as
// the workspace keeps it.

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "samples.hpp"
#include "store/codec.hpp"
#include "store/image.hpp"

using namespace sb;
using test::at;
using test::base_us;
using test::temp_dir;

namespace {

const std::string account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string ws_old = "WSzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1"; // created first, sorts last by SID
const std::string ws_new = "WSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2";
const std::string ws_gone = "WSgggggggggggggggggggggggggggggggg";

store::row row_of(const std::string& scope, const store::entity& e) {
  auto sid = store::sid_of(e);
  return store::row{store::kind_of(e), sid, scope, store::encode(e)};
}

model::workspace workspace(const std::string& sid, std::int64_t created_us) {
  auto w = test::sample_workspace(sid);
  w.created = at(created_us);
  return w;
}

model::activity activity(const std::string& sid, std::int64_t created_us) {
  auto a = test::sample_activity(sid);
  a.created = at(created_us);
  return a;
}

model::task task(const std::string& sid, std::uint64_t order, std::int64_t created_us) {
  auto t = test::sample_task(sid, order);
  t.created = at(created_us);
  return t;
}

store::event_row event(const std::string& scope, const std::string& sid, std::int64_t at_ms) {
  auto e = test::sample_event(sid, model::time_point(std::chrono::milliseconds(at_ms)));
  return store::event_row{sid, scope, at_ms, store::encode(e)};
}

template <class T>
std::vector<std::string> sids(const std::vector<T>& v) {
  std::vector<std::string> out;
  for (auto& x : v)
    out.push_back(x.sid);
  return out;
}

std::vector<std::string> sids(const std::vector<std::shared_ptr<const model::event>>& v) {
  std::vector<std::string> out;
  for (auto& x : v)
    out.push_back(x->sid);
  return out;
}

} // namespace

TEST_CASE("recover groups rows by workspace and restores each kind in its order", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  store::encoded_batch b;
  // Inserted out of order on purpose.
  b.puts.push_back(row_of(account, workspace(ws_new, base_us + 500)));
  b.puts.push_back(row_of(account, workspace(ws_old, base_us + 100)));
  // Activities: by creation time, then SID for equal times (neither the
  // order of insertion nor of SIDs, which is how the table hands them out).
  b.puts.push_back(row_of(ws_old, activity("WAa", base_us + 30)));
  b.puts.push_back(row_of(ws_old, activity("WAd", base_us + 10)));
  b.puts.push_back(row_of(ws_old, activity("WAc", base_us + 10)));
  b.puts.push_back(row_of(ws_old, activity("WAb", base_us + 20)));
  // Tasks: by their order, whatever their creation time (a clock step back)
  // or SID.
  b.puts.push_back(row_of(ws_old, task("WTa", 30, base_us + 1)));
  b.puts.push_back(row_of(ws_old, task("WTc", 10, base_us + 3)));
  b.puts.push_back(row_of(ws_old, task("WTb", 20, base_us + 2)));
  b.puts.push_back(row_of(ws_new, task("WTz", 5, base_us + 9)));
  // One of each other kind, in the right workspace.
  b.puts.push_back(row_of(ws_old, store::entity{test::sample_channel()}));
  b.puts.push_back(row_of(ws_old, store::entity{test::sample_queue()}));
  b.puts.push_back(row_of(ws_old, store::entity{test::sample_workflow()}));
  b.puts.push_back(row_of(ws_new, store::entity{test::sample_worker("WKn")}));
  b.puts.push_back(row_of(ws_new, store::entity{test::sample_reservation("WRn")}));
  // Rows of a workspace that is gone.
  b.puts.push_back(row_of(ws_gone, activity("WAg", base_us)));
  b.puts.push_back(row_of(ws_gone, task("WTg", 1, base_us)));
  // Events: interleaved; the gone workspace's are not restored.
  b.events = {event(ws_old, "EVo1", 1000), event(ws_new, "EVn1", 1001), event(ws_gone, "EVg1", 1002),
              event(ws_old, "EVo2", 1003), event(ws_old, "EVo3", 1004), event(ws_new, "EVn2", 1005)};
  db->write(b);

  auto r = store::recover(*db, 0, 100);
  REQUIRE(r.workspaces.size() == 2);
  auto& old_ws = *r.workspaces[0];
  auto& new_ws = *r.workspaces[1];
  CHECK(old_ws.workspace.sid == ws_old);
  CHECK(new_ws.workspace.sid == ws_new);
  CHECK(old_ws.workspace.friendly_name == test::sample_workspace().friendly_name);

  CHECK(sids(old_ws.activities) == std::vector<std::string>{"WAc", "WAd", "WAb", "WAa"});
  CHECK(sids(old_ws.tasks) == std::vector<std::string>{"WTc", "WTb", "WTa"});
  CHECK(sids(old_ws.channels) == std::vector<std::string>{test::sample_channel().sid});
  CHECK(sids(old_ws.queues) == std::vector<std::string>{test::sample_queue().sid});
  CHECK(sids(old_ws.workflows) == std::vector<std::string>{test::sample_workflow().sid});
  CHECK(old_ws.workers.empty());
  CHECK(old_ws.reservations.empty());
  CHECK(sids(new_ws.tasks) == std::vector<std::string>{"WTz"});
  CHECK(sids(new_ws.workers) == std::vector<std::string>{"WKn"});
  CHECK(sids(new_ws.reservations) == std::vector<std::string>{"WRn"});
  CHECK(new_ws.activities.empty());
  // Decoded, not just sorted: a field deep in a worker came back.
  REQUIRE(new_ws.workers.size() == 1);
  CHECK(new_ws.workers[0].channels.size() == test::sample_worker().channels.size());

  CHECK(sids(old_ws.events) == std::vector<std::string>{"EVo1", "EVo2", "EVo3"});
  CHECK(sids(new_ws.events) == std::vector<std::string>{"EVn1", "EVn2"});
  CHECK(r.events == 5);
  CHECK(r.orphan_scopes == std::vector<std::string>{ws_gone});
  CHECK(r.entities == b.puts.size());

  SECTION("events: since and the per-workspace limit apply") {
    auto limited = store::recover(*db, 1001, 1);
    REQUIRE(limited.workspaces.size() == 2);
    CHECK(sids(limited.workspaces[0]->events) == std::vector<std::string>{"EVo3"});
    CHECK(sids(limited.workspaces[1]->events) == std::vector<std::string>{"EVn2"});
    CHECK(limited.events == 2);
  }
  SECTION("erasing the orphan scopes, as the server does on start, removes their rows") {
    store::encoded_batch cleanup;
    cleanup.erased_scopes = r.orphan_scopes;
    db->write(cleanup);
    auto again = store::recover(*db, 0, 100);
    CHECK(again.orphan_scopes.empty());
    CHECK(again.entities == b.puts.size() - 2);
    CHECK(again.workspaces.size() == 2);
  }
}

TEST_CASE("recover of an empty database restores nothing", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  auto r = store::recover(*db, 0, 100);
  CHECK(r.workspaces.empty());
  CHECK(r.orphan_scopes.empty());
  CHECK(r.entities == 0);
  CHECK(r.events == 0);
}

TEST_CASE("recover stops with a store_error naming a row it cannot decode", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  store::encoded_batch b;
  b.puts.push_back(row_of(account, workspace(ws_old, base_us)));
  b.puts.push_back(row_of(ws_old, task("WTgood", 1, base_us)));
  b.events.push_back(event(ws_old, "EVgood", 1000));

  auto expect_error_naming = [&](const std::string& what) {
    try {
      store::recover(*db, 0, 100);
      FAIL("recover accepted a broken row");
    } catch (const store::store_error& e) {
      std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find(what) != std::string::npos);
    }
  };

  SECTION("an entity that is not JSON") {
    b.puts.push_back(store::row{"task", "WTbroken", ws_old, "{truncated"});
    db->write(b);
    expect_error_naming("task WTbroken");
  }
  SECTION("an entity with a field of the wrong type") {
    b.puts.push_back(store::row{"worker", "WKbroken", ws_old, R"({"sid":"WKbroken","available":"yes"})"});
    db->write(b);
    expect_error_naming("worker WKbroken");
  }
  SECTION("an entity of an unknown kind") {
    b.puts.push_back(store::row{"gizmo", "GZ1", ws_old, "{}"});
    db->write(b);
    expect_error_naming("gizmo GZ1");
  }
  SECTION("an event that cannot be decoded") {
    b.events.push_back(store::event_row{"EVbroken", ws_old, 1001, "[not, an, object"});
    db->write(b);
    expect_error_naming("event EVbroken");
  }
}

namespace {

const std::string account_b = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string ch_old = "CHzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz1"; // created first, sorts last by SID
const std::string ch_new = "CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2";
const std::string ch_gone = "CHgggggggggggggggggggggggggggggggg";

model::cv::conversation conversation(const std::string& sid, std::int64_t created_us) {
  auto c = test::sample_conversation(sid);
  c.created = at(created_us);
  return c;
}

model::cv::participant participant(const std::string& sid, const std::string& ch, std::int64_t created_us) {
  auto p = test::sample_participant(sid, ch);
  p.created = at(created_us);
  return p;
}

model::cv::message message(const std::string& sid, const std::string& ch, std::uint64_t index,
                           std::int64_t created_us) {
  auto m = test::sample_message(sid, ch, index);
  m.created = at(created_us);
  return m;
}

model::cv::conversation_webhook webhook(const std::string& sid, const std::string& ch, std::int64_t created_us) {
  auto w = test::sample_cv_webhook(sid, ch);
  w.created = at(created_us);
  return w;
}

model::cv::service service(const std::string& sid, std::int64_t created_us) {
  auto s = test::sample_cv_service(sid);
  s.created = at(created_us);
  return s;
}

std::vector<std::string> conversation_sids(const std::vector<store::conversation_image>& v) {
  std::vector<std::string> out;
  for (auto& c : v)
    out.push_back(c.conversation.sid);
  return out;
}

} // namespace

TEST_CASE("recover restores conversations with their participants, messages and webhooks", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  store::encoded_batch b;
  // A workspace beside them: the conversation kinds are no orphans of it.
  b.puts.push_back(row_of(account, workspace(ws_old, base_us)));
  b.puts.push_back(row_of(ws_old, activity("WAa", base_us)));
  // Account configurations (keyed by account SID) and services.
  b.puts.push_back(row_of(account_b, test::sample_cv_config(account_b)));
  b.puts.push_back(row_of(account, test::sample_cv_config(account)));
  b.puts.push_back(row_of(account, service("ISb", base_us + 20)));
  b.puts.push_back(row_of(account, service("ISa", base_us + 10)));
  b.puts.push_back(row_of(account_b, service("ISc", base_us + 10)));
  // Conversations, inserted out of order.
  b.puts.push_back(row_of(account, conversation(ch_new, base_us + 500)));
  b.puts.push_back(row_of(account_b, conversation(ch_old, base_us + 100)));
  // Participants and webhooks by creation, then SID; messages by index,
  // whatever their creation time or SID.
  b.puts.push_back(row_of(ch_old, participant("MBb", ch_old, base_us + 20)));
  b.puts.push_back(row_of(ch_old, participant("MBc", ch_old, base_us + 10)));
  b.puts.push_back(row_of(ch_old, participant("MBa", ch_old, base_us + 20)));
  b.puts.push_back(row_of(ch_old, message("IMa", ch_old, 2, base_us + 1)));
  b.puts.push_back(row_of(ch_old, message("IMc", ch_old, 0, base_us + 3)));
  b.puts.push_back(row_of(ch_old, message("IMb", ch_old, 1, base_us + 2)));
  b.puts.push_back(row_of(ch_new, message("IMz", ch_new, 0, base_us + 9)));
  b.puts.push_back(row_of(ch_new, webhook("WHb", ch_new, base_us + 5)));
  b.puts.push_back(row_of(ch_new, webhook("WHa", ch_new, base_us + 6)));
  // Rows of a conversation that is gone.
  b.puts.push_back(row_of(ch_gone, participant("MBg", ch_gone, base_us)));
  b.puts.push_back(row_of(ch_gone, message("IMg", ch_gone, 0, base_us)));
  b.puts.push_back(row_of(ch_gone, webhook("WHg", ch_gone, base_us)));
  db->write(b);

  auto r = store::recover(*db, 0, 100);
  CHECK(r.entities == b.puts.size());
  CHECK(r.orphan_scopes == std::vector<std::string>{ch_gone});
  // The workspace recovered as before.
  REQUIRE(r.workspaces.size() == 1);
  CHECK(r.workspaces[0]->workspace.sid == ws_old);
  CHECK(sids(r.workspaces[0]->activities) == std::vector<std::string>{"WAa"});

  auto& cv = r.conversations;
  REQUIRE(cv.configs.size() == 2);
  CHECK(cv.configs[0].account_sid == account);
  CHECK(cv.configs[1].account_sid == account_b);
  CHECK(cv.configs[0].webhooks.filters == test::sample_cv_config().webhooks.filters);
  CHECK(sids(cv.services) == std::vector<std::string>{"ISa", "ISc", "ISb"});
  REQUIRE(cv.conversations.size() == 2);
  CHECK(conversation_sids(cv.conversations) == std::vector<std::string>{ch_old, ch_new});
  auto& old_ch = cv.conversations[0];
  auto& new_ch = cv.conversations[1];
  CHECK(old_ch.conversation.friendly_name == test::sample_conversation().friendly_name);
  CHECK(sids(old_ch.participants) == std::vector<std::string>{"MBc", "MBa", "MBb"});
  CHECK(sids(old_ch.messages) == std::vector<std::string>{"IMc", "IMb", "IMa"});
  CHECK(old_ch.webhooks.empty());
  CHECK(new_ch.participants.empty());
  CHECK(sids(new_ch.messages) == std::vector<std::string>{"IMz"});
  CHECK(sids(new_ch.webhooks) == std::vector<std::string>{"WHb", "WHa"});
  // Decoded, not just sorted: a message's receipts came back.
  REQUIRE(new_ch.messages.size() == 1);
  CHECK(new_ch.messages[0].receipts.size() == test::sample_message().receipts.size());
  CHECK(new_ch.messages[0].media.size() == test::sample_message().media.size());

  SECTION("erasing the orphan scopes removes the gone conversation's rows") {
    store::encoded_batch cleanup;
    cleanup.erased_scopes = r.orphan_scopes;
    db->write(cleanup);
    auto again = store::recover(*db, 0, 100);
    CHECK(again.orphan_scopes.empty());
    CHECK(again.entities == b.puts.size() - 3);
    CHECK(again.conversations.conversations.size() == 2);
    CHECK(again.workspaces.size() == 1);
  }
  SECTION("erasing a conversation's scope takes it and its rows, nothing else") {
    store::encoded_batch del;
    del.erased_scopes.push_back(ch_old);
    db->write(del);
    auto again = store::recover(*db, 0, 100);
    CHECK(again.entities == b.puts.size() - 7); // the conversation, 3 participants, 3 messages
    CHECK(conversation_sids(again.conversations.conversations) == std::vector<std::string>{ch_new});
    CHECK(again.conversations.services.size() == 3);
    CHECK(again.conversations.configs.size() == 2);
    CHECK(again.orphan_scopes == std::vector<std::string>{ch_gone});
  }
}

TEST_CASE("recover of workspaces alone restores no conversations", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  store::encoded_batch b;
  b.puts.push_back(row_of(account, workspace(ws_old, base_us)));
  db->write(b);
  auto r = store::recover(*db, 0, 100);
  CHECK(r.workspaces.size() == 1);
  CHECK(r.conversations.configs.empty());
  CHECK(r.conversations.services.empty());
  CHECK(r.conversations.conversations.empty());
  CHECK(r.orphan_scopes.empty());
}

TEST_CASE("recover stops with a store_error naming a conversation row it cannot decode", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  store::encoded_batch b;
  b.puts.push_back(row_of(account, conversation(ch_old, base_us)));
  b.puts.push_back(store::row{"message", "IMbroken", ch_old, R"({"sid":"IMbroken","receipts":[{"status":9}]})"});
  db->write(b);
  try {
    store::recover(*db, 0, 100);
    FAIL("recover accepted a broken row");
  } catch (const store::store_error& e) {
    std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("message IMbroken") != std::string::npos);
  }
}

TEST_CASE("recover restores every account's address configurations by creation", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  auto address = [](const std::string& sid, const std::string& acct, std::int64_t created_us) {
    auto a = test::sample_cv_address(sid);
    a.account_sid = acct;
    a.created = at(created_us);
    return a;
  };
  store::encoded_batch b;
  b.puts.push_back(row_of(account, test::sample_cv_config(account)));
  b.puts.push_back(row_of(account, address("IGb", account, base_us + 30)));
  b.puts.push_back(row_of(account_b, address("IGc", account_b, base_us + 10)));
  b.puts.push_back(row_of(account, address("IGa", account, base_us + 30)));
  b.puts.push_back(row_of(account, conversation(ch_new, base_us + 5)));
  db->write(b);

  auto r = store::recover(*db, 0, 100);
  CHECK(r.entities == b.puts.size());
  CHECK(r.orphan_scopes.empty());
  auto& cv = r.conversations;
  CHECK(sids(cv.addresses) == std::vector<std::string>{"IGc", "IGa", "IGb"});
  REQUIRE(cv.addresses.size() == 3);
  CHECK(cv.addresses[0].account_sid == account_b);
  CHECK(cv.addresses[1].auto_creation.webhook_filters == test::sample_cv_address().auto_creation.webhook_filters);
  CHECK(cv.configs.size() == 1);
  CHECK(conversation_sids(cv.conversations) == std::vector<std::string>{ch_new});

  SECTION("an erased configuration stays erased; a conversation's scope erase leaves them") {
    store::encoded_batch del;
    del.erases.emplace_back("cv_address", "IGa");
    del.erased_scopes.push_back(ch_new);
    db->write(del);
    auto again = store::recover(*db, 0, 100);
    CHECK(sids(again.conversations.addresses) == std::vector<std::string>{"IGc", "IGb"});
    CHECK(again.conversations.conversations.empty());
  }
}

TEST_CASE("recover restores media by creation and drops the media of a service that is gone", "[store]") {
  temp_dir dir;
  auto db = store::open_sqlite(dir / "sb.db", store::durability::full);
  const std::string is_gone = "ISgggggggggggggggggggggggggggggggg";
  auto media = [](const std::string& sid, const std::string& service, std::int64_t created_us) {
    auto m = test::sample_cv_media(sid, service);
    m.created = at(created_us);
    return m;
  };
  store::encoded_batch b;
  b.puts.push_back(row_of(account, service("ISa", base_us + 10)));
  b.puts.push_back(row_of(account_b, service("ISc", base_us + 10)));
  b.puts.push_back(row_of("ISa", media("MEb", "ISa", base_us + 30)));
  b.puts.push_back(row_of("ISc", media("MEc", "ISc", base_us + 20)));
  b.puts.push_back(row_of("ISa", media("MEa", "ISa", base_us + 30)));
  b.puts.push_back(row_of(is_gone, media("MEg", is_gone, base_us + 5)));
  db->write(b);

  auto r = store::recover(*db, 0, 100);
  CHECK(r.entities == b.puts.size());
  CHECK(sids(r.media) == std::vector<std::string>{"MEc", "MEa", "MEb"});
  REQUIRE(r.media.size() == 3);
  CHECK(r.media[2].filename == test::sample_cv_media().filename);
  CHECK(r.media[2].size == test::sample_cv_media().size);
  CHECK(r.orphan_scopes == std::vector<std::string>{is_gone});
  CHECK(r.conversations.services.size() == 2);

  SECTION("an erased media stays erased; the orphan scope's erase takes only its rows") {
    store::encoded_batch del;
    del.erases.emplace_back("media", "MEa");
    del.erased_scopes = r.orphan_scopes;
    db->write(del);
    auto again = store::recover(*db, 0, 100);
    CHECK(sids(again.media) == std::vector<std::string>{"MEc", "MEb"});
    CHECK(again.orphan_scopes.empty());
    CHECK(again.conversations.services.size() == 2);
  }
}
