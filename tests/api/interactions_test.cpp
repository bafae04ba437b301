// Flex Interactions against the real binary: an interaction makes (or
// takes) a conversation and routes a task; an accepted reservation brings
// the agent into the conversation and the channel; wrap-up, close, invites,
// agent-initiated outbound, supervisors, a TTL cancel, bad input, other
// accounts and a restart.

#include "checks.hpp"
#include "flex_support.hpp"
#include "server_fixture.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace sbtest;
using nlohmann::json;

const std::string other_account = "AC" + std::string("fedcba9876543210fedcba9876543210");
const std::string other_token = "token2";

std::string sms_channel(const std::string& customer = "+15550001111") {
  return json{{"type", "sms"},
              {"initiated_by", "api"},
              {"participants", {{{"address", customer}, {"proxy_address", "+15559990000"}}}}}
    .dump();
}

std::string routing(const flex_setup& s, json extra = json::object()) {
  json props{{"workspace_sid", s.ws}, {"workflow_sid", s.workflow}, {"task_channel_unique_name", "sms"},
             {"attributes", {{"customerName", "Ann"}}}};
  for (auto& [k, v] : extra.items())
    props[k] = v;
  return json{{"properties", props}}.dump();
}

json channel_participants(api_client& api, const std::string& kd, const std::string& uo) {
  return ok(api.get("/v1/Interactions/" + kd + "/Channels/" + uo + "/Participants"))["participants"];
}

json conversation_identities(api_client& api, const std::string& ch) {
  json out = json::array();
  auto page = ok(api.get("/v1/Conversations/" + ch + "/Participants"));
  for (auto& p : page["participants"])
    out.push_back(p["identity"]);
  return out;
}

// The claims of a JWT (its middle part, base64url).
json jwt_claims(const std::string& jwt) {
  auto a = jwt.find('.');
  auto b = jwt.find('.', a + 1);
  REQUIRE(b != std::string::npos);
  std::string in = jwt.substr(a + 1, b - a - 1), out;
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    auto v = alphabet.find(c);
    REQUIRE(v != std::string::npos);
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return json::parse(out);
}

bool has(const json& arr, const std::string& v) {
  for (auto& x : arr)
    if (x == v)
      return true;
  return false;
}


// The agent channel participant of a worker, once it is there.
json agent_of(api_client& api, const std::string& kd, const std::string& uo, const std::string& worker) {
  json found;
  REQUIRE(eventually(
    [&] {
      for (auto& p : channel_participants(api, kd, uo))
        if (p["type"] == "agent" && p["routing_properties"].is_object() &&
            p["routing_properties"].value("worker_sid", "") == worker && p["status"] != "closed" &&
            p["media_properties"].contains("participant_sid")) {
          found = p;
          return true;
        }
      return false;
    },
    10s));
  return found;
}

} // namespace

TEST_CASE("interactions: an API-initiated SMS interaction routes, the agent joins, wraps up and leaves",
          "[api][interactions]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);

  auto ix = ok(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", routing(s)}}), 201);
  std::string kd = ix["sid"];
  CHECK(kd.rfind("KD", 0) == 0);
  std::string uo = ix["channel"]["sid"];
  CHECK(uo.rfind("UO", 0) == 0);
  CHECK(ix["channel"]["type"] == "sms");
  CHECK(ix["url"] == "https://flex-api.twilio.com/v1/Interactions/" + kd);
  CHECK(ix["links"]["channels"] == "https://flex-api.twilio.com/v1/Interactions/" + kd + "/Channels");
  auto props = ix["routing"]["properties"];
  std::string task = props["sid"];
  CHECK(task.rfind("WT", 0) == 0);
  CHECK(props["date_created"].is_number());
  auto attrs = json::parse(props["attributes"].get<std::string>());
  std::string ch = attrs["conversationSid"];
  CHECK(ch.rfind("CH", 0) == 0);
  CHECK(attrs["flexInteractionSid"] == kd);
  CHECK(attrs["flexInteractionChannelSid"] == uo);
  CHECK(attrs["customerName"] == "Ann");
  CHECK(attrs["channelType"] == "sms");
  CHECK(attrs["direction"] == "outbound");
  CHECK(attrs["customerAddress"] == "+15550001111");
  CHECK(attrs["conversations"]["media"][0]["conversation_sid"] == ch);

  // The conversation has the customer's binding; the channel has the customer.
  auto cps = ok(api.get("/v1/Conversations/" + ch + "/Participants"))["participants"];
  REQUIRE(cps.size() == 1);
  CHECK(cps[0]["messaging_binding"]["address"] == "+15550001111");
  auto parts = channel_participants(api, kd, uo);
  REQUIRE(parts.size() == 1);
  CHECK(parts[0]["type"] == "customer");
  CHECK(parts[0]["sid"].get<std::string>().rfind("UT", 0) == 0);
  CHECK(ok(api.get("/v1/Interactions/" + kd))["sid"] == kd);
  auto chan = ok(api.get("/v1/Interactions/" + kd + "/Channels/" + uo));
  CHECK(chan["status"] == "active");
  CHECK(ok(api.get("/v1/Interactions/" + kd + "/Channels"))["channels"].size() == 1);

  // Alice accepts: she joins the conversation (as "alice") and the channel.
  auto res = pending_reservation(api, s, task, s.alice);
  accept(api, s, task, res);
  auto agent = agent_of(api, kd, uo, s.alice);
  CHECK(agent["routing_properties"]["task_sid"] == task);
  CHECK(agent["routing_properties"]["reservation_sid"] == res);
  CHECK(has(conversation_identities(api, ch), "alice"));

  // The agent and the customer talk.
  ok(api.post("/v1/Conversations/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "Hello Ann"}}), 201);
  CHECK(ok(api.get("/v1/Conversations/" + ch + "/Messages"))["messages"].size() == 1);

  // Wrap-up moves the task to wrapping; closing completes it and Alice leaves.
  std::string ut = agent["sid"];
  auto path = "/v1/Interactions/" + kd + "/Channels/" + uo + "/Participants/" + ut;
  CHECK(ok(api.post(path, {{"Status", "wrapup"}}))["status"] == "wrapup");
  CHECK(task_status(api, s, task) == "wrapping");
  CHECK(ok(api.post(path, {{"Status", "closed"}}))["status"] == "closed");
  CHECK(task_status(api, s, task) == "completed");
  REQUIRE(eventually([&] { return !has(conversation_identities(api, ch), "alice"); }));
  // The channel stays open (parked) until it is closed.
  CHECK(ok(api.get("/v1/Interactions/" + kd + "/Channels/" + uo))["status"] == "active");
  auto closed = ok(api.post("/v1/Interactions/" + kd + "/Channels/" + uo, {{"Status", "closed"}}));
  CHECK(closed["status"] == "closed");
  CHECK(ok(api.get("/v1/Conversations/" + ch))["state"] == "closed");
}

TEST_CASE("interactions: closing the channel wraps up or completes its tasks", "[api][interactions]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);
  for (std::string how : {"wrapup", "closed"}) {
    auto customer = how == "wrapup" ? "+15550002222" : "+15550003333";
    auto ix = ok(api.post("/v1/Interactions", {{"Channel", sms_channel(customer)}, {"Routing", routing(s)}}), 201);
    std::string kd = ix["sid"], uo = ix["channel"]["sid"], task = ix["routing"]["properties"]["sid"];
    accept(api, s, task, pending_reservation(api, s, task, s.alice));
    agent_of(api, kd, uo, s.alice);
    ok(api.post("/v1/Interactions/" + kd + "/Channels/" + uo,
                {{"Status", "closed"}, {"Routing", json{{"status", how}}.dump()}}));
    CHECK(task_status(api, s, task) == (how == "wrapup" ? "wrapping" : "completed"));
    if (how == "wrapup")
      ok(api.post(s.base() + "/Tasks/" + task, {{"AssignmentStatus", "completed"}}));
    // No participant of a closed channel is left active.
    REQUIRE(eventually([&] {
      for (auto& p : channel_participants(api, kd, uo))
        if (p["status"] != "closed")
          return false;
      return true;
    }));
  }
  // Status wrapup: the agent's task wraps up, the channel and conversation stay.
  auto ix = ok(api.post("/v1/Interactions", {{"Channel", sms_channel("+15550004444")}, {"Routing", routing(s)}}), 201);
  std::string kd = ix["sid"], uo = ix["channel"]["sid"], task = ix["routing"]["properties"]["sid"];
  auto ch = json::parse(ix["routing"]["properties"]["attributes"].get<std::string>())["conversationSid"].get<std::string>();
  accept(api, s, task, pending_reservation(api, s, task, s.alice));
  auto agent = agent_of(api, kd, uo, s.alice);
  auto chan = "/v1/Interactions/" + kd + "/Channels/" + uo;
  CHECK(ok(api.post(chan, {{"Status", "wrapup"}}))["status"] == "active");
  CHECK(task_status(api, s, task) == "wrapping");
  CHECK(ok(api.get("/v1/Conversations/" + ch))["state"] == "active");
  // inactive with Routing closed: the task completes, the conversation rests.
  CHECK(ok(api.post(chan, {{"Status", "inactive"}, {"Routing", R"({"status":"closed"})"}}))["status"] == "inactive");
  CHECK(task_status(api, s, task) == "completed");
  CHECK(ok(api.get("/v1/Conversations/" + ch))["state"] == "inactive");
}

TEST_CASE("interactions: agent-initiated outbound is accepted at once", "[api][interactions]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api);
  auto channel = json{{"type", "whatsapp"},
                      {"initiated_by", "agent"},
                      {"participants", {{{"address", "whatsapp:+15550004444"}, {"proxy_address", "whatsapp:+15559990000"}}}}};
  // Bob, not Alice (both are available): only the named worker gets it.
  auto ix = ok(api.post("/v1/Interactions",
                        {{"Channel", channel.dump()},
                         {"Routing", routing(s, {{"queue_sid", s.queue}, {"worker_sid", s.bob}, {"workflow_sid", nullptr}})}}),
               201);
  std::string kd = ix["sid"], uo = ix["channel"]["sid"], task = ix["routing"]["properties"]["sid"];
  auto agent = agent_of(api, kd, uo, s.bob);
  CHECK(task_status(api, s, task) == "assigned");
  auto ch = json::parse(ix["routing"]["properties"]["attributes"].get<std::string>())["conversationSid"].get<std::string>();
  CHECK(has(conversation_identities(api, ch), "bob"));
  CHECK_FALSE(has(conversation_identities(api, ch), "alice"));
  // Without a worker, agent-initiated is refused and nothing is created.
  auto before = ok(api.get("/v1/Conversations"))["conversations"].size();
  error_is(api.post("/v1/Interactions", {{"Channel", channel.dump()}, {"Routing", routing(s, {{"queue_sid", s.queue}})}}),
           400, 20001);
  CHECK(ok(api.get("/v1/Conversations"))["conversations"].size() == before);
}

TEST_CASE("interactions: an invite brings a second agent into the same conversation", "[api][interactions]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);
  auto ix = ok(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", routing(s)}}), 201);
  std::string kd = ix["sid"], uo = ix["channel"]["sid"], task = ix["routing"]["properties"]["sid"];
  auto ch = json::parse(ix["routing"]["properties"]["attributes"].get<std::string>())["conversationSid"].get<std::string>();
  accept(api, s, task, pending_reservation(api, s, task, s.alice));
  auto first = agent_of(api, kd, uo, s.alice);

  ok(api.post(s.base() + "/Workers/" + s.bob, {{"ActivitySid", s.available}}));
  auto invite = ok(api.post("/v1/Interactions/" + kd + "/Channels/" + uo + "/Invites",
                            {{"Routing", routing(s, {{"queue_sid", s.queue}, {"worker_sid", s.bob},
                                                     {"workflow_sid", nullptr}})}}),
                   201);
  std::string kg = invite["sid"];
  CHECK(kg.rfind("KG", 0) == 0);
  CHECK(invite["channel_sid"] == uo);
  std::string task2 = invite["routing"]["properties"]["sid"];
  CHECK(task2 != task);
  auto attrs2 = json::parse(invite["routing"]["properties"]["attributes"].get<std::string>());
  CHECK(attrs2["flexChannelInviteSid"] == kg);
  CHECK(attrs2["conversationSid"] == ch);
  CHECK(ok(api.get("/v1/Interactions/" + kd + "/Channels/" + uo + "/Invites"))["invites"].size() == 1);

  accept(api, s, task2, pending_reservation(api, s, task2, s.bob));
  agent_of(api, kd, uo, s.bob);
  auto ids = conversation_identities(api, ch);
  CHECK(has(ids, "alice"));
  CHECK(has(ids, "bob"));
  // Transfer: the first agent leaves, the second stays.
  ok(api.post("/v1/Interactions/" + kd + "/Channels/" + uo + "/Participants/" + first["sid"].get<std::string>(),
              {{"Status", "closed"}}));
  REQUIRE(eventually([&] { return !has(conversation_identities(api, ch), "alice"); }));
  CHECK(has(conversation_identities(api, ch), "bob"));
  CHECK(task_status(api, s, task) == "completed");
  CHECK(task_status(api, s, task2) == "assigned");
}

TEST_CASE("interactions: an existing conversation, supervisors and the ongoing list", "[api][interactions]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);
  std::string ch = ok(api.post("/v1/Conversations", {{"FriendlyName", "inbound"}}), 201)["sid"];
  ok(api.post("/v1/Conversations/" + ch + "/Participants",
              {{"MessagingBinding.Address", "+15550005555"}, {"MessagingBinding.ProxyAddress", "+15559990000"}}),
     201);
  auto channel = json{{"type", "sms"}, {"initiated_by", "customer"}, {"properties", {{"media_channel_sid", ch}}}};
  auto ix = ok(api.post("/v1/Interactions", {{"Channel", channel.dump()}, {"Routing", routing(s)}}), 201);
  std::string kd = ix["sid"], uo = ix["channel"]["sid"];
  auto attrs = json::parse(ix["routing"]["properties"]["attributes"].get<std::string>());
  CHECK(attrs["conversationSid"] == ch);
  CHECK(attrs["direction"] == "inbound");
  auto parts = channel_participants(api, kd, uo);
  REQUIRE(parts.size() == 1);
  CHECK(parts[0]["type"] == "customer");
  CHECK(parts[0]["media_properties"]["address"] == "+15550005555");
  // A second interaction for the same open conversation is refused.
  error_is(api.post("/v1/Interactions", {{"Channel", channel.dump()}, {"Routing", routing(s)}}), 409, 20409);

  // A supervisor watches without joining the conversation.
  auto sup = ok(api.post("/v1/Interactions/" + kd + "/Channels/" + uo + "/Participants",
                         {{"Type", "supervisor"},
                          {"RoutingProperties", json{{"workspace_sid", s.ws}, {"worker_sid", s.bob}}.dump()}}),
                201);
  CHECK(sup["type"] == "supervisor");
  CHECK(ok(api.get("/v1/Conversations/" + ch + "/Participants"))["participants"].size() == 1);
  CHECK(channel_participants(api, kd, uo).size() == 2);

  // The supervisors' list: open interactions with channel, participants, tasks.
  auto list = ok(api.get("/v1/Interactions"));
  REQUIRE(list["interactions"].size() == 1);
  auto d = list["interactions"][0]["channel_details"];
  CHECK(d["conversation_sid"] == ch);
  CHECK(d["participants"].size() == 2);
  REQUIRE(d["tasks"].size() == 1);
  CHECK(d["tasks"][0]["task_sid"] == ix["routing"]["properties"]["sid"]);
  CHECK(list["meta"]["key"] == "interactions");
  ok(api.post("/v1/Interactions/" + kd + "/Channels/" + uo, {{"Status", "closed"}}));
  CHECK(ok(api.get("/v1/Interactions"))["interactions"].empty());
  CHECK(ok(api.get("/v1/Interactions", {{"Status", "closed"}}))["interactions"].size() == 1);
  // The pending task of a closed channel is canceled, not left behind.
  CHECK(task_status(api, s, ix["routing"]["properties"]["sid"]) == "canceled");
}

TEST_CASE("interactions: a task canceled by its TTL closes the channel and the conversation", "[api][interactions]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);
  ok(api.post(s.base() + "/Workers/" + s.alice, {{"ActivitySid", s.offline}}));
  auto ix = ok(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", routing(s, {{"timeout", 1}})}}), 201);
  std::string kd = ix["sid"], uo = ix["channel"]["sid"], task = ix["routing"]["properties"]["sid"];
  auto ch = json::parse(ix["routing"]["properties"]["attributes"].get<std::string>())["conversationSid"].get<std::string>();
  REQUIRE(eventually([&] { return ok(api.get("/v1/Interactions/" + kd + "/Channels/" + uo))["status"] == "closed"; },
                     10s));
  CHECK(task_status(api, s, task) == "canceled");
  CHECK(ok(api.get("/v1/Conversations/" + ch))["state"] == "closed");
  // Its binding is free: a new interaction for the same customer works.
  ok(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", routing(s)}}), 201);
}

TEST_CASE("interactions: bad input and other accounts change nothing", "[api][interactions]") {
  server_process srv{{"--account", other_account + ":" + other_token}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);
  auto count = [&] { return ok(api.get("/v1/Conversations"))["conversations"].size(); };
  auto tasks = [&] { return ok(api.get(s.base() + "/Tasks"))["tasks"].size(); };
  struct bad {
    std::string channel, routing;
    int code;
  };
  auto good_routing = routing(s);
  std::vector<bad> cases{
    {"not json", good_routing, 20001},
    {R"({"type":"pigeon","participants":[{"address":"+1","proxy_address":"+2"}]})", good_routing, 20001},
    {R"({"type":"sms"})", good_routing, 20001},
    {R"({"type":"sms","participants":[{"address":"+15550001111"}]})", good_routing, 20001},
    {R"({"type":"sms","properties":{"media_channel_sid":"CHnope"}})", good_routing, 20001},
    {sms_channel(), "[]", 20001},
    {sms_channel(), R"({"properties":{}})", 20001},
    {sms_channel(), R"({"properties":{"workspace_sid":"WSnot"}})", 20001},
    {sms_channel(), json{{"properties", {{"workspace_sid", "WS" + std::string(32, '0')}}}}.dump(), 20001},
    {sms_channel(), routing(s, {{"workflow_sid", "WW" + std::string(32, '0')}}), 20001},
    {sms_channel(), routing(s, {{"priority", -1}}), 20001},
    {sms_channel(), routing(s, {{"task_channel_unique_name", "pigeon"}}), 20001},
  };
  for (auto& c : cases) {
    INFO(c.channel << " / " << c.routing);
    error_is(api.post("/v1/Interactions", {{"Channel", c.channel}, {"Routing", c.routing}}), 400, c.code);
  }
  error_is(api.post("/v1/Interactions", {{"Routing", good_routing}}), 400, 20001);
  error_is(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", good_routing}, {"Extra", "1"}}), 400,
           20001);
  // An address pair already bound elsewhere: the conversation's own error.
  ok(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", good_routing}}), 201);
  auto conversations = count();
  auto task_count = tasks();
  error_is(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", good_routing}}), 409, 50416);
  CHECK(count() == conversations);
  CHECK(tasks() == task_count);
  // Routing that fails after the conversation was made leaves no conversation.
  error_is(api.post("/v1/Interactions",
                    {{"Channel", sms_channel("+15550009999")}, {"Routing", routing(s, {{"queue_sid", "WQ" + std::string(32, '0')}, {"workflow_sid", nullptr}})}}),
           400, 20001);
  CHECK(count() == conversations);

  auto ix = ok(api.post("/v1/Interactions", {{"Channel", sms_channel("+15550008888")}, {"Routing", good_routing}}), 201);
  std::string kd = ix["sid"], uo = ix["channel"]["sid"];
  auto chan = "/v1/Interactions/" + kd + "/Channels/" + uo;
  error_is(api.get("/v1/Interactions/KD" + std::string(32, '0')), 404, 20404);
  error_is(api.get("/v1/Interactions/" + kd + "/Channels/UO" + std::string(32, '0')), 404, 20404);
  error_is(api.post(chan, {{"Status", "paused"}}), 400, 20001);
  error_is(api.post(chan, {{"Status", "closed"}, {"Routing", "{"}}), 400, 20001);
  error_is(api.post(chan + "/Participants", {{"Type", "alien"}}), 400, 20001);
  error_is(api.post(chan + "/Participants", {{"Type", "customer"}, {"MediaProperties", "[]"}}), 400, 20001);
  error_is(api.post(chan + "/Participants/UT" + std::string(32, '0'), {{"Status", "closed"}}), 404, 20404);
  error_is(api.post(chan + "/Invites", {{"Routing", "{}"}}), 400, 20001);
  CHECK(ok(api.get(chan))["status"] == "active");
  CHECK(channel_participants(api, kd, uo).size() == 1);

  // Another account sees none of it.
  api_client other(srv.port(), other_account, other_token);
  error_is(other.get("/v1/Interactions/" + kd), 404, 20404);
  error_is(other.get(chan), 404, 20404);
  error_is(other.post(chan, {{"Status", "closed"}}), 404, 20404);
  CHECK(ok(other.get("/v1/Interactions"))["interactions"].empty());
  // Nor can it route through this account's workspace.
  error_is(other.post("/v1/Interactions", {{"Channel", sms_channel("+15550007777")}, {"Routing", good_routing}}), 400,
           20001);
  CHECK(ok(api.get(chan))["status"] == "active");
  api_client stranger(srv.port(), srv.account_sid(), "wrong");
  error_is(stranger.get("/v1/Interactions/" + kd), 401, 20003);
}

TEST_CASE("interactions: a restart keeps interactions, and routing goes on", "[api][interactions][durability]") {
  temp_dir dir;
  std::string kd, uo, task, ws, alice;
  {
    server_process srv{server_process::existing_dir{dir.path}, {}};
    api_client api(srv.port(), srv.file_sid(), srv.file_token());
    auto s = make_flex(api, false);
    ws = s.ws;
    alice = s.alice;
    auto ix = ok(api.post("/v1/Interactions", {{"Channel", sms_channel()}, {"Routing", routing(s)}}), 201);
    kd = ix["sid"];
    uo = ix["channel"]["sid"];
    task = ix["routing"]["properties"]["sid"];
    pending_reservation(api, s, task, s.alice);
    srv.kill_hard();
  }
  server_process srv{server_process::existing_dir{dir.path}, {}};
  api_client api(srv.port(), srv.file_sid(), srv.file_token());
  flex_setup s;
  s.ws = ws;
  s.alice = alice;
  CHECK(ok(api.get("/v1/Interactions/" + kd))["channel"]["sid"] == uo);
  CHECK(channel_participants(api, kd, uo).size() == 1);
  accept(api, s, task, pending_reservation(api, s, task, alice));
  auto agent = agent_of(api, kd, uo, alice);
  // A closed channel with nothing live stops its actor; it still answers,
  // before and after a restart, and refuses what would change it.
  auto chan = "/v1/Interactions/" + kd + "/Channels/" + uo;
  ok(api.post(chan, {{"Status", "closed"}}));
  REQUIRE(eventually([&] { return task_status(api, s, task) == "completed"; }));
  auto check_closed = [&](api_client& a) {
    CHECK(ok(a.get(chan))["status"] == "closed");
    CHECK(channel_participants(a, kd, uo).size() == 2);
    CHECK(ok(a.post(chan, {{"Status", "closed"}}))["status"] == "closed");
    CHECK(ok(a.post(chan + "/Participants/" + agent["sid"].get<std::string>(), {{"Status", "closed"}}))["sid"] ==
          agent["sid"]);
    error_is(a.post(chan + "/Participants", {{"Type", "customer"}, {"MediaProperties", R"({"identity":"x"})"}}), 400,
             20001);
    error_is(a.post(chan + "/Invites", {{"Routing", routing(s)}}), 400, 20001);
    error_is(a.post(chan, {{"Status", "inactive"}}), 400, 20001);
  };
  check_closed(api);
  srv.kill_hard();
  server_process again{server_process::existing_dir{dir.path}, {}};
  api_client api2(again.port(), again.file_sid(), again.file_token());
  check_closed(api2);
}

TEST_CASE("web chats: a guest, a conversation on a chat address and a token", "[api][interactions][webchat]") {
  server_process srv{{"--account", other_account + ":" + other_token}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  std::string ig = ok(api.post("/v1/Configuration/Addresses",
                               {{"Type", "chat"}, {"Address", "website"}, {"FriendlyName", "site chat"}}),
                      201)["sid"];
  auto chat = ok(api.post("/v2/WebChats", {{"AddressSid", ig},
                                           {"CustomerFriendlyName", "Ann"},
                                           {"PreEngagementData", R"({"topic":"billing"})"}}),
                 201);
  std::string ch = chat["conversation_sid"];
  std::string identity = chat["identity"];
  CHECK(identity.rfind("guest_", 0) == 0);
  auto conv = ok(api.get("/v1/Conversations/" + ch));
  auto attrs = json::parse(conv["attributes"].get<std::string>());
  CHECK(attrs["pre_engagement_data"]["topic"] == "billing");
  CHECK(attrs["from"] == "Ann");
  CHECK(has(conversation_identities(api, ch), identity));
  // The token is an access token for that identity with a chat grant,
  // signed with the account's web chat key, which `token verify` accepts.
  std::string token = chat["token"];
  auto keys = ok(api.get("/2010-04-01/Accounts/" + srv.account_sid() + "/Keys.json"))["keys"];
  REQUIRE(keys.size() == 1);
  CHECK(keys[0]["friendly_name"] == "Switchboard web chat");
  // A second chat reuses the key and honours a given identity.
  auto again = ok(api.post("/v2/WebChats", {{"AddressSid", ig}, {"Identity", "ann@example.com"}}), 201);
  CHECK(again["identity"] == "ann@example.com");
  CHECK(ok(api.get("/2010-04-01/Accounts/" + srv.account_sid() + "/Keys.json"))["keys"].size() == 1);
  auto claims = jwt_claims(token);
  CHECK(claims["iss"] == keys[0]["sid"]);
  CHECK(claims["sub"] == srv.account_sid());
  CHECK(claims["grants"]["identity"] == identity);
  CHECK(claims["grants"].contains("chat"));
  CHECK(claims["exp"].get<long>() - claims["iat"].get<long>() == 3600);

  // Bad input and other accounts' addresses change nothing.
  auto before = ok(api.get("/v1/Conversations"))["conversations"].size();
  error_is(api.post("/v2/WebChats", {}), 400, 20001);
  error_is(api.post("/v2/WebChats", {{"AddressSid", "IG" + std::string(32, '0')}}), 400, 20001);
  std::string sms = ok(api.post("/v1/Configuration/Addresses", {{"Type", "sms"}, {"Address", "+15559990000"}}), 201)["sid"];
  error_is(api.post("/v2/WebChats", {{"AddressSid", sms}}), 400, 20001);
  api_client other(srv.port(), other_account, other_token);
  error_is(other.post("/v2/WebChats", {{"AddressSid", ig}}), 400, 20001);
  CHECK(ok(api.get("/v1/Conversations"))["conversations"].size() == before);
}

TEST_CASE("seed flow 3: an application creates an interaction from a web form", "[api][interactions][e2e]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);
  // The form posted a name and an email; the application routes a web chat.
  auto channel = json{{"type", "web"},
                      {"initiated_by", "api"},
                      {"participants", {{{"identity", "ann@example.com"}, {"name", "Ann"}}}}};
  auto ix = ok(api.post("/v1/Interactions",
                        {{"Channel", channel.dump()},
                         {"Routing", json{{"properties",
                                           {{"workspace_sid", s.ws},
                                            {"workflow_sid", s.workflow},
                                            {"attributes", {{"form", {{"email", "ann@example.com"}, {"topic", "refund"}}}}}}}}
                                       .dump()}}),
               201);
  std::string kd = ix["sid"], uo = ix["channel"]["sid"], task = ix["routing"]["properties"]["sid"];
  auto t = ok(api.get(s.base() + "/Tasks/" + task));
  CHECK(t["task_channel_unique_name"] == "chat"); // a web channel routes on chat by default
  auto attrs = json::parse(t["attributes"].get<std::string>());
  CHECK(attrs["form"]["topic"] == "refund");
  CHECK(attrs["channelType"] == "web");
  std::string ch = attrs["conversationSid"];
  auto cps = ok(api.get("/v1/Conversations/" + ch + "/Participants"))["participants"];
  REQUIRE(cps.size() == 1);
  CHECK(cps[0]["identity"] == "ann@example.com");
  CHECK(json::parse(cps[0]["attributes"].get<std::string>())["friendlyName"] == "Ann");
  accept(api, s, task, pending_reservation(api, s, task, s.alice));
  agent_of(api, kd, uo, s.alice);
  CHECK(has(conversation_identities(api, ch), "alice"));
}
