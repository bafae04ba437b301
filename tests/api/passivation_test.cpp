// Passivation against the real binary on loopback: an idle conversation's
// actor stops (its state stays in the store), and the next call, a state
// timer or a restart brings it back whole. What happened is read from the
// switchboard_conversations gauges and the passivation and activation
// counters on /metrics.

#include "checks.hpp"
#include "server_fixture.hpp"

#include <regex>

#include <catch2/catch.hpp>

namespace {

using namespace sbtest;
using nlohmann::json;

const std::string C = "/v1/Conversations";

// One sample of /metrics: name{labels} -> value, for the lines that match.
double metric(std::uint16_t port, const std::string& series) {
  http_connection conn{port};
  auto r = conn.send(boost::beast::http::verb::get, "/metrics", {}, {});
  REQUIRE(r.status == 200);
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  FAIL("no metric " << series << " in /metrics");
  return -1;
}

double live(std::uint16_t port) { return metric(port, R"(switchboard_conversations{residence="live"})"); }
double passive(std::uint16_t port) { return metric(port, R"(switchboard_conversations{residence="passive"})"); }
double activations(std::uint16_t port) { return metric(port, "switchboard_conversation_activations_total"); }
double passivations(std::uint16_t port) { return metric(port, "switchboard_conversation_passivations_total"); }

// Waits until every one of n conversations is passive.
bool all_passive(std::uint16_t port, double n) {
  return eventually([&] { return passive(port) == n && live(port) == 0; }, 10s);
}

} // namespace

TEST_CASE("passivation: an idle conversation stops and comes back whole on its next call",
          "[api][conversations][passivation]") {
  server_process srv{{"--passivate-after-ms", "100"}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto ch = ok(api.post(C, {{"UniqueName", "idle-one"}, {"Attributes", R"({"tier":"gold"})"}}), 201)["sid"]
              .get<std::string>();
  CHECK(live(srv.port()) == 1);
  ok(api.post(C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 201);
  ok(api.post(C + "/" + ch + "/Participants",
              {{"MessagingBinding.Address", "+15551230001"}, {"MessagingBinding.ProxyAddress", "+15559870001"}}),
     201);
  std::vector<std::string> sids;
  for (int i = 0; i < 3; ++i)
    sids.push_back(ok(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "m" + std::to_string(i)}}),
                      201)["sid"]);
  ok(api.post(C + "/" + ch + "/Webhooks", {{"Target", "webhook"}, {"Configuration.Url", "http://127.0.0.1:9/hook"}}),
     201);
  REQUIRE(all_passive(srv.port(), 1));
  CHECK(passivations(srv.port()) == 1);
  CHECK(activations(srv.port()) == 0);

  // Lists are the root's: they do not wake it.
  CHECK(ok(api.get(C))["conversations"].size() == 1);
  CHECK(activations(srv.port()) == 0);
  // The binding rule is the root's too, passive or not.
  auto other = ok(api.post(C), 201)["sid"].get<std::string>();
  error_is(api.post(C + "/" + other + "/Participants",
                    {{"MessagingBinding.Address", "+15551230001"}, {"MessagingBinding.ProxyAddress", "+15559870001"}}),
           409, 50416);

  // A call wakes it, by unique name too, with everything it had.
  auto conv = ok(api.get(C + "/idle-one"));
  CHECK(conv["sid"] == ch);
  CHECK(conv["attributes"] == R"({"tier":"gold"})");
  CHECK(activations(srv.port()) >= 1);
  auto msgs = ok(api.get(C + "/" + ch + "/Messages"))["messages"];
  REQUIRE(msgs.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(msgs[i]["sid"] == sids[i]);
    CHECK(msgs[i]["index"] == i);
    CHECK(msgs[i]["body"] == "m" + std::to_string(i));
  }
  CHECK(ok(api.get(C + "/" + ch + "/Participants"))["participants"].size() == 2);
  CHECK(ok(api.get(C + "/" + ch + "/Webhooks"))["webhooks"].size() == 1);
  // Indexes go on from where they stood.
  CHECK(ok(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "m3"}}), 201)["index"] == 3);
}

TEST_CASE("passivation: writes across many passivations keep their order and lose nothing",
          "[api][conversations][passivation]") {
  server_process srv{{"--passivate-after-ms", "50"}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto ch = ok(api.post(C), 201)["sid"].get<std::string>();
  ok(api.post(C + "/" + ch + "/Participants", {{"Identity", "bob"}}), 201);
  int next = 0;
  for (int round = 0; round < 5; ++round) {
    REQUIRE(all_passive(srv.port(), 1));
    CHECK(passivations(srv.port()) == round + 1);
    for (int i = 0; i < 4; ++i, ++next)
      CHECK(ok(api.post(C + "/" + ch + "/Messages", {{"Author", "bob"}, {"Body", std::to_string(next)}}), 201)["index"] ==
            next);
  }
  auto msgs = ok(api.get(C + "/" + ch + "/Messages", {{"PageSize", "100"}}))["messages"];
  REQUIRE(msgs.size() == static_cast<std::size_t>(next));
  for (int i = 0; i < next; ++i)
    CHECK(msgs[i]["body"] == std::to_string(i));
  CHECK(activations(srv.port()) == 5);

  // The record does not carry the next index with every message; it is
  // derived when the conversation is read back, and deleting the newest
  // message must not let its index be taken again.
  std::string newest = msgs[next - 1]["sid"];
  CHECK(api.del(C + "/" + ch + "/Messages/" + newest).status == 204);
  REQUIRE(all_passive(srv.port(), 1));
  CHECK(ok(api.post(C + "/" + ch + "/Messages", {{"Author", "bob"}, {"Body", "after"}}), 201)["index"] == next);
}

TEST_CASE("passivation: a passive conversation's state timers still fire", "[api][conversations][passivation]") {
  server_process srv{{"--passivate-after-ms", "50"}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto ch = ok(api.post(C, {{"Timers.Inactive", "PT1S"}, {"Timers.Closed", "PT2S"}}), 201)["sid"].get<std::string>();
  ok(api.post(C + "/" + ch + "/Participants",
              {{"MessagingBinding.Address", "+15551230002"}, {"MessagingBinding.ProxyAddress", "+15559870002"}}),
     201);
  REQUIRE(all_passive(srv.port(), 1));
  // The list (the root's records) shows the state the timers reached; no call wakes it.
  auto state = [&] { return ok(api.get(C))["conversations"][0]["state"].get<std::string>(); };
  CHECK(eventually([&] { return state() == "inactive"; }, 10s));
  CHECK(eventually([&] { return state() == "closed"; }, 10s));
  CHECK(activations(srv.port()) >= 1);
  // Closed, it freed its binding: another conversation may take the pair.
  auto other = ok(api.post(C), 201)["sid"].get<std::string>();
  ok(api.post(C + "/" + other + "/Participants",
              {{"MessagingBinding.Address", "+15551230002"}, {"MessagingBinding.ProxyAddress", "+15559870002"}}),
     201);
}

TEST_CASE("passivation: after a restart conversations start passive and wake on use",
          "[api][conversations][passivation][durability]") {
  temp_dir dir;
  std::string ch;
  {
    server_process srv{server_process::existing_dir{dir.path}, {"--passivate-after-ms", "60000"}};
    api_client api(srv.port(), srv.file_sid(), srv.file_token());
    ch = ok(api.post(C, {{"FriendlyName", "kept"}}), 201)["sid"].get<std::string>();
    for (int i = 0; i < 2; ++i)
      ok(api.post(C + "/" + ch + "/Messages", {{"Body", "m" + std::to_string(i)}}), 201);
    ok(api.post(C), 201);
    CHECK(live(srv.port()) == 2); // not idle long enough
    srv.kill_hard();
  }
  server_process srv{server_process::existing_dir{dir.path}, {"--passivate-after-ms", "60000"}};
  api_client api(srv.port(), srv.file_sid(), srv.file_token());
  CHECK(passive(srv.port()) == 2);
  CHECK(live(srv.port()) == 0);
  CHECK(ok(api.get(C))["conversations"].size() == 2);
  CHECK(ok(api.post(C + "/" + ch + "/Messages", {{"Body", "m2"}}), 201)["index"] == 2);
  CHECK(live(srv.port()) == 1);
  CHECK(passive(srv.port()) == 1);
  // Deleting a passive conversation needs no actor of its own beforehand.
  auto second = ok(api.get(C))["conversations"][1]["sid"].get<std::string>();
  CHECK(api.del(C + "/" + second).status == 204);
  CHECK(api.get(C + "/" + second).status == 404);
  CHECK(passive(srv.port()) == 0);
}
