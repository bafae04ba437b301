// Conversations v1 against the real binary on loopback: services and
// configuration, conversations (by SID and unique name), participants with the
// binding rule, messages with their index, scoped webhooks, state timers, the
// write rate, bad input that changes nothing, other accounts, and a restart.

#include "receiver.hpp"
#include "checks.hpp"
#include "server_fixture.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "model/signature.hpp"

namespace {

using namespace sbtest;
using nlohmann::json;

const std::string other_account = "AC" + std::string("fedcba9876543210fedcba9876543210");
const std::string other_token = "token2";

std::size_t count(api_client& api, const std::string& path, const std::string& key) {
  return ok(api.get(path, {{"PageSize", "1000"}}))[key].size();
}

const std::string C = "/v1/Conversations";

std::string make_conversation(api_client& api, form params = {}) {
  return ok(api.post(C, params), 201)["sid"];
}

} // namespace

TEST_CASE("conversations: the lifecycle of a conversation, its participants and messages", "[api][conversations]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());

  auto cfg = ok(api.get("/v1/Configuration"));
  CHECK(cfg["account_sid"] == srv.account_sid());
  std::string default_service = cfg["default_chat_service_sid"];
  CHECK(default_service.rfind("IS", 0) == 0);

  auto conv = ok(api.post(C, {{"FriendlyName", "Support"}, {"UniqueName", "case-42"}, {"Attributes", R"({"tier":"gold"})"}}),
                 201);
  std::string ch = conv["sid"];
  CHECK(ch.rfind("CH", 0) == 0);
  CHECK(conv["chat_service_sid"] == default_service);
  CHECK(conv["state"] == "active");
  CHECK(conv["attributes"] == R"({"tier":"gold"})");
  CHECK(conv["url"] == "https://conversations.twilio.com/v1/Conversations/" + ch);
  CHECK(conv["links"]["participants"] == "https://conversations.twilio.com/v1/Conversations/" + ch + "/Participants");

  // The unique name addresses it like its SID.
  CHECK(ok(api.get(C + "/case-42"))["sid"] == ch);
  auto upd = ok(api.post(C + "/case-42", {{"FriendlyName", "Support (VIP)"}}));
  CHECK(upd["friendly_name"] == "Support (VIP)");
  CHECK(ok(api.get(C + "/" + ch))["friendly_name"] == "Support (VIP)");

  auto agent = ok(api.post(C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 201);
  CHECK(agent["identity"] == "alice");
  CHECK(agent["messaging_binding"].is_null());
  auto customer = ok(api.post(C + "/" + ch + "/Participants",
                              {{"MessagingBinding.Address", "+15551230001"}, {"MessagingBinding.ProxyAddress", "+15559870000"}}),
                     201);
  CHECK(customer["messaging_binding"]["address"] == "+15551230001");
  CHECK(customer["messaging_binding"]["proxy_address"] == "+15559870000");
  CHECK(customer["messaging_binding"]["type"] == "sms");
  CHECK(count(api, C + "/" + ch + "/Participants", "participants") == 2);

  // Messages get sequential indexes; the author's participant is found.
  std::vector<std::string> ims;
  for (int i = 0; i < 3; ++i) {
    auto m = ok(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "hello " + std::to_string(i)}}), 201);
    CHECK(m["index"] == i);
    CHECK(m["participant_sid"] == agent["sid"]);
    ims.push_back(m["sid"]);
  }
  auto desc = ok(api.get(C + "/" + ch + "/Messages", {{"Order", "desc"}, {"PageSize", "2"}}));
  REQUIRE(desc["messages"].size() == 2);
  CHECK(desc["messages"][0]["index"] == 2);
  CHECK(desc["messages"][1]["index"] == 1);
  CHECK(desc["meta"]["key"] == "messages");
  CHECK(desc["meta"]["next_page_url"].is_string());
  auto edited = ok(api.post(C + "/" + ch + "/Messages/" + ims[1], {{"Body", "edited"}}));
  CHECK(edited["body"] == "edited");
  CHECK(edited["index"] == 1);
  ok(api.del(C + "/" + ch + "/Messages/" + ims[0]), 204);
  error_is(api.get(C + "/" + ch + "/Messages/" + ims[0]), 404, 20404);
  // An index is never reused.
  CHECK(ok(api.post(C + "/" + ch + "/Messages", {{"Author", "+15551230001"}, {"Body", "hi"}}), 201)["index"] == 3);

  // The read horizon.
  auto read = ok(api.post(C + "/" + ch + "/Participants/" + agent["sid"].get<std::string>(),
                          {{"LastReadMessageIndex", "3"}}));
  CHECK(read["last_read_message_index"] == 3);
  CHECK(read["last_read_timestamp"].is_string());

  // Scoped webhooks.
  auto wh = ok(api.post(C + "/" + ch + "/Webhooks",
                        {{"Target", "webhook"}, {"Configuration.Url", "https://example.com/hook"},
                         {"Configuration.Filters", "onMessageAdded"}, {"Configuration.Filters", "onParticipantAdded"}}),
               201);
  CHECK(wh["target"] == "webhook");
  CHECK(wh["configuration"]["url"] == "https://example.com/hook");
  CHECK(wh["configuration"]["filters"] == json::array({"onMessageAdded", "onParticipantAdded"}));
  CHECK(count(api, C + "/" + ch + "/Webhooks", "webhooks") == 1);
  ok(api.del(C + "/" + ch + "/Webhooks/" + wh["sid"].get<std::string>()), 204);
  CHECK(count(api, C + "/" + ch + "/Webhooks", "webhooks") == 0);

  // Listing and filtering by state.
  auto second = make_conversation(api, {{"State", "inactive"}});
  CHECK(count(api, C, "conversations") == 2);
  auto inactive = ok(api.get(C, {{"State", "inactive"}}))["conversations"];
  REQUIRE(inactive.size() == 1);
  CHECK(inactive[0]["sid"] == second);

  // Delete cascades: the conversation, its participants and its unique name go.
  ok(api.del(C + "/" + ch), 204);
  error_is(api.get(C + "/" + ch), 404, 20404);
  error_is(api.get(C + "/" + ch + "/Messages"), 404, 20404);
  error_is(api.get(C + "/case-42"), 404, 20404);
  CHECK(ok(api.post(C, {{"UniqueName", "case-42"}}), 201)["unique_name"] == "case-42");
  // Its binding is free again.
  auto third = make_conversation(api);
  ok(api.post(C + "/" + third + "/Participants",
              {{"MessagingBinding.Address", "+15551230001"}, {"MessagingBinding.ProxyAddress", "+15559870000"}}),
     201);
}

TEST_CASE("conversations: one (address, proxy address) pair per open conversation", "[api][conversations]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  form binding{{"MessagingBinding.Address", "whatsapp:+15551230002"}, {"MessagingBinding.ProxyAddress", "whatsapp:+15559870000"}};
  auto a = make_conversation(api);
  auto b = make_conversation(api);
  auto first = ok(api.post(C + "/" + a + "/Participants", binding), 201);
  CHECK(first["messaging_binding"]["type"] == "whatsapp");
  auto refused = api.post(C + "/" + b + "/Participants", binding);
  error_is(refused, 409, 50416);
  CHECK(refused.json()["message"].get<std::string>().find(a) != std::string::npos);
  CHECK(count(api, C + "/" + b + "/Participants", "participants") == 0);
  // The same pair twice in one conversation is refused too.
  error_is(api.post(C + "/" + a + "/Participants", binding), 409, 50416);
  // A different proxy address is another pair.
  ok(api.post(C + "/" + b + "/Participants",
              {{"MessagingBinding.Address", "whatsapp:+15551230002"}, {"MessagingBinding.ProxyAddress", "whatsapp:+15559870001"}}),
     201);
  // Closing the conversation frees the pair.
  CHECK(ok(api.post(C + "/" + a, {{"State", "closed"}}))["state"] == "closed");
  ok(api.post(C + "/" + b + "/Participants", binding), 201);
  // A closed conversation takes no more messages and cannot be reopened.
  error_is(api.post(C + "/" + a + "/Messages", {{"Body", "late"}}), 400, 50438);
  error_is(api.post(C + "/" + a, {{"State", "active"}}), 400, 50438);
  // Removing the participant frees the pair as well.
  auto c = make_conversation(api);
  auto parts = ok(api.get(C + "/" + b + "/Participants"))["participants"];
  for (auto& p : parts)
    if (p["messaging_binding"]["proxy_address"] == "whatsapp:+15559870000")
      ok(api.del(C + "/" + b + "/Participants/" + p["sid"].get<std::string>()), 204);
  ok(api.post(C + "/" + c + "/Participants", binding), 201);
}

TEST_CASE("conversations: bad input gets a Twilio error and changes nothing", "[api][conversations]") {
  server_process srv{std::vector<std::string>{"--account", other_account + ":" + other_token}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  api_client other(srv.port(), other_account, other_token);
  auto ch = make_conversation(api, {{"UniqueName", "taken"}});
  ok(api.post(C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 201);
  ok(api.post(C + "/" + ch + "/Messages", {{"Body", "one"}}), 201);

  error_is(api.post(C, {{"UniqueName", "taken"}}), 409, 50353);
  error_is(api.post(C, {{"Attributes", "{not json"}}), 400, 20001);
  error_is(api.post(C, {{"FriendlyName", std::string(257, 'x')}}), 400, 20001);
  error_is(api.post(C, {{"Attributes", "{\"a\":\"" + std::string(16 * 1024, 'x') + "\"}"}}), 400, 20001);
  error_is(api.post(C, {{"State", "sleeping"}}), 400, 20001);
  error_is(api.post(C, {{"Timers.Inactive", "ten minutes"}}), 400, 20001);
  error_is(api.post(C, {{"Bogus", "1"}}), 400, 20001);
  CHECK(count(api, C, "conversations") == 1);

  error_is(api.post(C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 409, 50433);
  error_is(api.post(C + "/" + ch + "/Participants", {}), 400, 50436);
  error_is(api.post(C + "/" + ch + "/Participants", {{"Identity", "bob"}, {"MessagingBinding.Address", "+15550001111"}}),
           400, 50436);
  error_is(api.post(C + "/" + ch + "/Participants",
                    {{"MessagingBinding.Address", "555-CALL-NOW"}, {"MessagingBinding.ProxyAddress", "+15559870000"}}),
           400, 50407);
  error_is(api.post(C + "/" + ch + "/Participants", {{"MessagingBinding.Address", "+15550001111"}}), 400, 50407);
  error_is(api.post(C + "/" + ch + "/Participants", {{"Identity", "carol"}, {"Attributes", "[1,"}}), 400, 20001);
  CHECK(count(api, C + "/" + ch + "/Participants", "participants") == 1);

  error_is(api.post(C + "/" + ch + "/Messages", {}), 400, 50511);
  error_is(api.post(C + "/" + ch + "/Messages", {{"Body", std::string(32 * 1024 + 1, 'x')}}), 400, 50511);
  error_is(api.post(C + "/" + ch + "/Messages", {{"Body", "x"}, {"Attributes", "{\"a\":\"" + std::string(4096, 'x') + "\"}"}}),
           400, 20001);
  error_is(api.post(C + "/" + ch + "/Messages", {{"Body", "x"}, {"MediaSid", "not-a-sid"}}), 400, 50510);
  error_is(api.get(C + "/" + ch + "/Messages", {{"Order", "sideways"}}), 400, 20001);
  CHECK(count(api, C + "/" + ch + "/Messages", "messages") == 1);

  error_is(api.post(C + "/" + ch + "/Webhooks", {{"Target", "webhook"}}), 400, 20001);
  error_is(api.post(C + "/" + ch + "/Webhooks", {{"Target", "studio"}}), 400, 20001);
  error_is(api.post(C + "/" + ch + "/Webhooks",
                    {{"Target", "webhook"}, {"Configuration.Url", "https://x.example"}, {"Configuration.Filters", "onNothing"}}),
           400, 20001);
  CHECK(count(api, C + "/" + ch + "/Webhooks", "webhooks") == 0);

  error_is(api.get(C + "/CH" + std::string(32, '0')), 404, 20404);
  error_is(api.get(C + "/no-such-name"), 404, 20404);
  error_is(api.get(C + "/" + ch + "/Participants/MB" + std::string(32, '0')), 404, 20404);
  // Another account sees nothing of it, by SID or by unique name, and its
  // own default service is its own.
  error_is(other.get(C + "/" + ch), 404, 20404);
  error_is(other.get(C + "/taken"), 404, 20404);
  error_is(other.post(C + "/" + ch + "/Messages", {{"Body", "intrusion"}}), 404, 20404);
  error_is(other.del(C + "/" + ch), 404, 20404);
  CHECK(count(other, C, "conversations") == 0);
  CHECK(ok(other.get("/v1/Configuration"))["default_chat_service_sid"] !=
        ok(api.get("/v1/Configuration"))["default_chat_service_sid"]);
  CHECK(count(api, C + "/" + ch + "/Messages", "messages") == 1);
  // Wrong credentials.
  api_client stranger(srv.port(), srv.account_sid(), "wrong");
  error_is(stranger.get(C), 401, 20003);
}

TEST_CASE("conversations: services own their conversations; configuration and webhooks", "[api][conversations]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto svc = ok(api.post("/v1/Services", {{"FriendlyName", "Sales"}}), 201);
  std::string is = svc["sid"];
  CHECK(svc["links"]["conversations"] == "https://conversations.twilio.com/v1/Services/" + is + "/Conversations");
  CHECK(count(api, "/v1/Services", "services") == 2); // the default one and Sales
  auto S = "/v1/Services/" + is + "/Conversations";
  auto conv = ok(api.post(S, {{"UniqueName", "lead-7"}}), 201);
  std::string ch = conv["sid"];
  CHECK(conv["chat_service_sid"] == is);
  CHECK(conv["url"] == "https://conversations.twilio.com" + S + "/" + ch);
  CHECK(ok(api.get(S + "/lead-7"))["sid"] == ch);
  // Not visible through the default service.
  error_is(api.get(C + "/" + ch), 404, 20404);
  CHECK(count(api, C, "conversations") == 0);
  // The same unique name may exist once per service.
  ok(api.post(C, {{"UniqueName", "lead-7"}}), 201);

  auto sc = ok(api.post("/v1/Services/" + is + "/Configuration", {{"ReachabilityEnabled", "true"}}));
  CHECK(sc["reachability_enabled"] == true);
  auto sw = ok(api.post("/v1/Services/" + is + "/Configuration/Webhooks",
                        {{"PostWebhookUrl", "https://example.com/post"}, {"Filters", "onMessageAdded"}, {"Method", "POST"}}));
  CHECK(sw["post_webhook_url"] == "https://example.com/post");
  CHECK(sw["filters"] == json::array({"onMessageAdded"}));
  error_is(api.post("/v1/Services/" + is + "/Configuration/Webhooks", {{"Filters", "onWhatever"}}), 400, 20001);
  error_is(api.post("/v1/Services/" + is + "/Configuration/Webhooks", {{"PreWebhookUrl", "ftp://x"}}), 400, 20001);
  auto aw = ok(api.post("/v1/Configuration/Webhooks", {{"PreWebhookUrl", "https://example.com/pre"}, {"Target", "webhook"}}));
  CHECK(aw["pre_webhook_url"] == "https://example.com/pre");
  auto cfg = ok(api.post("/v1/Configuration", {{"DefaultInactiveTimer", "PT10M"}}));
  CHECK(cfg["default_inactive_timer"] == "PT10M");
  error_is(api.post("/v1/Configuration", {{"DefaultChatServiceSid", "IS" + std::string(32, '1')}}), 400, 20001);
  // The account default applies to new conversations.
  auto timed = ok(api.post(C, {}), 201);
  CHECK(timed["timers"]["date_inactive"].is_string());

  // The default service cannot go; another one goes with its conversations.
  error_is(api.del("/v1/Services/" + cfg["default_chat_service_sid"].get<std::string>()), 400, 20001);
  form pair{{"MessagingBinding.Address", "+15551230077"}, {"MessagingBinding.ProxyAddress", "+15559870000"}};
  ok(api.post(S + "/" + ch + "/Participants", pair), 201);
  auto elsewhere = make_conversation(api);
  error_is(api.post(C + "/" + elsewhere + "/Participants", pair), 409, 50416);
  ok(api.del("/v1/Services/" + is), 204);
  error_is(api.get("/v1/Services/" + is), 404, 20404);
  error_is(api.get(S + "/" + ch), 404, 20404);
  // Its conversations' bindings went with them.
  ok(api.post(C + "/" + elsewhere + "/Participants", pair), 201);
}

TEST_CASE("conversations: state timers make a conversation inactive, then closed", "[api][conversations]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto ch = make_conversation(api, {{"Timers.Inactive", "PT1S"}, {"Timers.Closed", "PT3S"}});
  ok(api.post(C + "/" + ch + "/Participants",
              {{"MessagingBinding.Address", "+15551230009"}, {"MessagingBinding.ProxyAddress", "+15559870000"}}),
     201);
  auto state = [&] { return ok(api.get(C + "/" + ch))["state"].get<std::string>(); };
  REQUIRE(eventually([&] { return state() == "inactive"; }, 10s));
  // A message wakes it up.
  ok(api.post(C + "/" + ch + "/Messages", {{"Body", "still there?"}}), 201);
  CHECK(state() == "active");
  REQUIRE(eventually([&] { return state() == "closed"; }, 15s));
  // Closed by its timer, it frees its binding.
  auto other = make_conversation(api);
  ok(api.post(C + "/" + other + "/Participants",
              {{"MessagingBinding.Address", "+15551230009"}, {"MessagingBinding.ProxyAddress", "+15559870000"}}),
     201);
}

TEST_CASE("conversations: a conversation over its write rate answers 429 and applies nothing", "[api][conversations]") {
  server_process srv{std::vector<std::string>{"--conversation-write-rate", "5"}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto ch = make_conversation(api);
  int accepted = 0, limited = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = api.post(C + "/" + ch + "/Messages", {{"Body", "flood " + std::to_string(i)}});
    if (r.status == 201) {
      ++accepted;
    } else {
      error_is(r, 429, 20429);
      ++limited;
    }
  }
  CHECK(limited > 0);
  CHECK(accepted >= 10); // the burst
  CHECK(count(api, C + "/" + ch + "/Messages", "messages") == static_cast<std::size_t>(accepted));
  // Reads are not limited; another conversation has its own budget.
  CHECK(ok(api.get(C + "/" + ch))["sid"] == ch);
  auto calm = make_conversation(api);
  ok(api.post(C + "/" + calm + "/Messages", {{"Body", "fine"}}), 201);
}

TEST_CASE("conversations: a restart brings back conversations, participants, messages and the binding rule",
          "[api][conversations][durability]") {
  temp_dir dir;
  std::string ch, named, is, im;
  {
    server_process srv{server_process::existing_dir{dir.path}, {}};
    api_client api(srv.port(), srv.file_sid(), srv.file_token());
    ch = make_conversation(api, {{"UniqueName", "kept"}, {"Attributes", R"({"k":1})"}, {"Timers.Closed", "PT1H"}});
    ok(api.post(C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 201);
    ok(api.post(C + "/" + ch + "/Participants",
                {{"MessagingBinding.Address", "+15551230003"}, {"MessagingBinding.ProxyAddress", "+15559870000"}}),
       201);
    for (int i = 0; i < 3; ++i)
      im = ok(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "m" + std::to_string(i)}}), 201)["sid"];
    ok(api.post(C + "/" + ch + "/Webhooks", {{"Target", "studio"}, {"Configuration.FlowSid", "FW" + std::string(32, 'a')}}),
       201);
    is = ok(api.post("/v1/Services", {{"FriendlyName", "Kept"}}), 201)["sid"];
    named = ok(api.post("/v1/Services/" + is + "/Conversations", {{"FriendlyName", "in a service"}}), 201)["sid"];
    srv.kill_hard();
  }
  server_process srv{server_process::existing_dir{dir.path}, {}};
  api_client api(srv.port(), srv.file_sid(), srv.file_token());
  auto conv = ok(api.get(C + "/kept"));
  CHECK(conv["sid"] == ch);
  CHECK(conv["attributes"] == R"({"k":1})");
  CHECK(conv["timers"]["date_closed"].is_string());
  CHECK(count(api, C + "/" + ch + "/Participants", "participants") == 2);
  auto msgs = ok(api.get(C + "/" + ch + "/Messages"))["messages"];
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[2]["sid"] == im);
  CHECK(msgs[2]["body"] == "m2");
  CHECK(count(api, C + "/" + ch + "/Webhooks", "webhooks") == 1);
  // Indexes continue; the binding is still held; the service and its conversation are back.
  CHECK(ok(api.post(C + "/" + ch + "/Messages", {{"Body", "after"}}), 201)["index"] == 3);
  auto other = make_conversation(api);
  error_is(api.post(C + "/" + other + "/Participants",
                    {{"MessagingBinding.Address", "+15551230003"}, {"MessagingBinding.ProxyAddress", "+15559870000"}}),
           409, 50416);
  CHECK(ok(api.get("/v1/Services/" + is + "/Conversations/" + named))["friendly_name"] == "in a service");
  // The default service survived too (not a new one).
  CHECK(count(api, "/v1/Services", "services") == 2);
}

TEST_CASE("conversations: post-action webhooks are signed, filtered, sent only when asked, and retried",
          "[api][conversations][webhooks]") {
  std::atomic<int> calls{0};
  // The receiver fails the very first delivery; the retry must bring it.
  receiver rx{[&](const received&) {
    return ++calls == 1 ? std::pair<unsigned, std::string>{503, "{}"} : std::pair<unsigned, std::string>{200, "{}"};
  }};
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto service_url = rx.url("/service-hooks?x=1");
  ok(api.post("/v1/Services/" + ok(api.get("/v1/Configuration"))["default_chat_service_sid"].get<std::string>() +
                "/Configuration/Webhooks",
              {{"PostWebhookUrl", service_url + "#rc=2"},
               {"Filters", "onConversationAdded"},
               {"Filters", "onParticipantAdded"},
               {"Filters", "onMessageAdded"},
               {"Method", "POST"}}));
  auto with_hooks = [&](const std::string& path, const form& params) {
    return api.raw(boost::beast::http::verb::post, path, encode_form(params),
                   {{"Authorization", api.authorization()},
                    {"Content-Type", "application/x-www-form-urlencoded"},
                    {"X-Twilio-Webhook-Enabled", "true"}});
  };
  // Without the header nothing is sent (a REST action, as on Twilio).
  auto quiet = make_conversation(api);
  ok(api.post(C + "/" + quiet + "/Messages", {{"Body", "unannounced"}}), 201);

  auto ch = ok(with_hooks(C, {{"FriendlyName", "hooked"}}), 201)["sid"].get<std::string>();
  auto scoped = rx.url("/scoped");
  ok(api.post(C + "/" + ch + "/Webhooks",
              {{"Target", "webhook"}, {"Configuration.Url", scoped}, {"Configuration.Filters", "onMessageAdded"}}),
     201);
  ok(with_hooks(C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 201);
  auto im = ok(with_hooks(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "hello"}}), 201)["sid"].get<std::string>();
  // Not in any filter: onParticipantUpdated is not sent.
  ok(with_hooks(C + "/" + ch + "/Participants/" +
                  ok(api.get(C + "/" + ch + "/Participants"))["participants"][0]["sid"].get<std::string>(),
                {{"Attributes", "{}"}}));

  auto events_at = [](const std::vector<received>& seen, const std::string& path) {
    std::vector<std::string> out;
    for (auto& r : seen)
      if (r.target.rfind(path, 0) == 0)
        out.push_back(param(r, "EventType"));
    return out;
  };
  auto count_of = [](const std::vector<std::string>& v, const std::string& e) {
    return std::count(v.begin(), v.end(), e);
  };
  REQUIRE(rx.wait_for([&](auto& seen) {
    auto svc = events_at(seen, "/service-hooks");
    // Three events, one of them twice (its first delivery got a 503).
    return count_of(svc, "onConversationAdded") >= 1 && count_of(svc, "onParticipantAdded") >= 1 &&
           count_of(svc, "onMessageAdded") >= 1 && svc.size() >= 4 &&
           count_of(events_at(seen, "/scoped"), "onMessageAdded") >= 1;
  }, 20s));
  auto seen = rx.seen();
  for (auto& r : seen) {
    INFO(r.target << " " << param(r, "EventType"));
    // The fragment is not sent, and the signature covers the URL as called.
    auto called = r.target.rfind("/service-hooks", 0) == 0 ? service_url : scoped;
    CHECK(r.target.find('#') == std::string::npos);
    CHECK(r.signature == sb::model::twilio_signature(srv.auth_token(), called, r.params.pairs()));
    CHECK(param(r, "AccountSid") == srv.account_sid());
    CHECK(param(r, "ConversationSid") == ch); // never the quiet conversation
    CHECK(param(r, "EventType") != "onParticipantUpdated");
  }
  for (auto& r : seen)
    if (param(r, "EventType") == "onMessageAdded") {
      CHECK(param(r, "MessageSid") == im);
      CHECK(param(r, "Body") == "hello");
      CHECK(param(r, "Author") == "alice");
      CHECK(param(r, "Index") == "0");
    }
  // The first delivery failed and was retried: the first event arrived twice.
  auto svc = events_at(seen, "/service-hooks");
  REQUIRE(svc.size() >= 2);
  CHECK(svc[0] == "onConversationAdded");
  CHECK(count_of(svc, "onConversationAdded") == 2);
}

TEST_CASE("conversations: the binding rule holds per account", "[api][conversations]") {
  server_process srv({"--account", other_account + ":" + other_token});
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  api_client other(srv.port(), other_account, other_token);
  form binding{{"MessagingBinding.Address", "+15551230001"}, {"MessagingBinding.ProxyAddress", "+15559870000"}};
  std::string mine = make_conversation(api);
  ok(api.post(C + "/" + mine + "/Participants", binding), 201);
  // Another account may hold the same pair; its refusal would have named our CH SID.
  std::string theirs = make_conversation(other);
  ok(other.post(C + "/" + theirs + "/Participants", binding), 201);
  // Within one account the rule still holds.
  auto again = api.post(C + "/" + make_conversation(api) + "/Participants", binding);
  error_is(again, 409, 50416);
  CHECK(again.json()["message"].get<std::string>().find(mine) != std::string::npos);
}

TEST_CASE("conversations: at most 50 non-chat participants and 1,000 in all", "[api][conversations]") {
  server_process srv{{"--conversation-write-rate", "100000"}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  std::string ch = make_conversation(api);
  auto p = C + "/" + ch + "/Participants";
  auto sms = [&](int i) {
    return api.post(p, {{"MessagingBinding.Address", "+1555" + std::to_string(1000000 + i)},
                        {"MessagingBinding.ProxyAddress", "+15559990000"}});
  };
  for (int i = 0; i < 50; ++i)
    REQUIRE(sms(i).status == 201);
  error_is(sms(50), 400, 50439);
  // Chat participants fill the rest up to 1,000.
  for (int i = 0; i < 950; ++i)
    REQUIRE(api.post(p, {{"Identity", "agent-" + std::to_string(i)}}).status == 201);
  error_is(api.post(p, {{"Identity", "one-too-many"}}), 400, 50439);
  CHECK(count(api, p, "participants") == 1000);
}
