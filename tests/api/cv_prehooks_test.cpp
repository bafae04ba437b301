// Conversations pre-action webhooks against the real binary and a real local
// receiver: a hook may reject an action (nothing changes), modify it (the
// changed fields are applied), or not answer in time (the action goes
// ahead); calls that arrive meanwhile wait behind the hooked one.

#include "receiver.hpp"
#include "checks.hpp"
#include "server_fixture.hpp"

#include <future>

#include <catch2/catch.hpp>

#include "model/signature.hpp"

namespace {

using namespace sbtest;
using nlohmann::json;

const std::string C = "/v1/Conversations";

// A REST call that asks for webhooks (X-Twilio-Webhook-Enabled: true).
http_result post_hooked(api_client& api, const std::string& path, const form& params) {
  return api.raw(boost::beast::http::verb::post, path, encode_form(params),
                 {{"Authorization", api.authorization()},
                  {"Content-Type", "application/x-www-form-urlencoded"},
                  {"X-Twilio-Webhook-Enabled", "true"}});
}

std::size_t messages(api_client& api, const std::string& ch) {
  return ok(api.get(C + "/" + ch + "/Messages", {{"PageSize", "1000"}}))["messages"].size();
}

} // namespace

TEST_CASE("conversations: a pre-action webhook rejects or modifies a message", "[api][conversations][prehooks]") {
  receiver hook([](const received& r) -> std::pair<unsigned, std::string> {
    auto body = r.params.get("Body").value_or("");
    if (body.find("spam") != std::string::npos)
      return {403, "{}"};
    if (body.find("card 4111") != std::string::npos)
      return {200, R"({"body":"card [redacted]","attributes":{"redacted":true}})"};
    return {200, ""};
  });
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  ok(api.post("/v1/Configuration/Webhooks", {{"PreWebhookUrl", hook.url("/pre")}, {"Filters", "onMessageAdd"}}));
  std::string ch = ok(api.post(C), 201)["sid"];
  ok(api.post(C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 201);

  // Rejected: 403, nothing added; the hook saw the proposed message, signed.
  error_is(post_hooked(api, C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "buy spam now"}}), 403, 20403);
  CHECK(messages(api, ch) == 0);
  auto seen = hook.seen();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].params.get("EventType") == "onMessageAdd");
  CHECK(seen[0].params.get("ConversationSid") == ch);
  CHECK(seen[0].params.get("Author") == "alice");
  CHECK(seen[0].signature == sb::model::twilio_signature(srv.auth_token(), hook.url("/pre"), seen[0].params.pairs()));

  // Modified: the hook's fields replace the client's.
  auto m = ok(post_hooked(api, C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "my card 4111 1111"}}), 201);
  CHECK(m["body"] == "card [redacted]");
  CHECK(json::parse(m["attributes"].get<std::string>()) == json{{"redacted", true}});
  CHECK(m["index"] == 0);

  // An empty 200 lets the message through as it was.
  CHECK(ok(post_hooked(api, C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "hello"}}), 201)["body"] == "hello");

  // A REST call without X-Twilio-Webhook-Enabled does not call the hook.
  auto calls = hook.seen().size();
  CHECK(ok(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "spam, unhooked"}}), 201)["index"] == 2);
  CHECK(hook.seen().size() == calls);
}

TEST_CASE("conversations: a pre-action webhook that does not answer in time lets the action through, in order",
          "[api][conversations][prehooks]") {
  // The hook hangs for the message "first" and answers the rest at once.
  receiver hook([](const received& r) -> std::pair<unsigned, std::string> {
    if (r.params.get("Body") == "first")
      return {0, ""};
    return {200, ""};
  });
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  // #ct and #rt bound the wait (here 0.1 s + 0.4 s instead of Twilio's 5 s).
  ok(api.post("/v1/Configuration/Webhooks",
              {{"PreWebhookUrl", hook.url("/pre#ct=100&rt=400")}, {"Filters", "onMessageAdd"}}));
  std::string ch = ok(api.post(C), 201)["sid"];

  auto first = std::async(std::launch::async, [&] {
    api_client other(srv.port(), srv.account_sid(), srv.auth_token());
    return post_hooked(other, C + "/" + ch + "/Messages", {{"Body", "first"}});
  });
  // Once the hook holds "first", a second message is posted: it waits behind it.
  REQUIRE(hook.wait_for([](auto& seen) { return !seen.empty(); }));
  auto second = post_hooked(api, C + "/" + ch + "/Messages", {{"Body", "second"}});
  auto one = first.get();
  CHECK(ok(one, 201)["index"] == 0);
  CHECK(ok(second, 201)["index"] == 1);
  // The hook's URL was called without its fragment.
  CHECK(hook.seen()[0].target == "/pre");
}

TEST_CASE("conversations: onConversationAdd and onParticipantAdd pre-action webhooks", "[api][conversations][prehooks]") {
  receiver hook([](const received& r) -> std::pair<unsigned, std::string> {
    if (r.params.get("EventType") == "onConversationAdd")
      return r.params.get("FriendlyName") == "blocked" ? std::pair<unsigned, std::string>{500, ""}
                                                         : std::pair<unsigned, std::string>{200, R"({"friendly_name":"Renamed"})"};
    if (r.params.get("EventType") == "onParticipantAdd")
      return r.params.get("Identity") == "mallory" ? std::pair<unsigned, std::string>{401, ""}
                                                    : std::pair<unsigned, std::string>{200, R"({"attributes":"{\"vip\":true}"})"};
    return {200, ""};
  });
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  std::string is = ok(api.get("/v1/Configuration"))["default_chat_service_sid"];
  // Service-level settings this time.
  ok(api.post("/v1/Services/" + is + "/Configuration/Webhooks",
              {{"PreWebhookUrl", hook.url("/svc")}, {"Filters", "onConversationAdd"}, {"Filters", "onParticipantAdd"}}));

  error_is(post_hooked(api, C, {{"FriendlyName", "blocked"}}), 403, 20403);
  CHECK(ok(api.get(C))["conversations"].empty());
  auto conv = ok(post_hooked(api, C, {{"FriendlyName", "Support"}}), 201);
  CHECK(conv["friendly_name"] == "Renamed");
  std::string ch = conv["sid"];

  error_is(post_hooked(api, C + "/" + ch + "/Participants", {{"Identity", "mallory"}}), 403, 20403);
  auto p = ok(post_hooked(api, C + "/" + ch + "/Participants", {{"Identity", "alice"}}), 201);
  CHECK(p["attributes"] == R"({"vip":true})");
  auto parts = ok(api.get(C + "/" + ch + "/Participants"))["participants"];
  REQUIRE(parts.size() == 1);
  CHECK(parts[0]["identity"] == "alice");
}

TEST_CASE("conversations: GET webhooks carry the event in the query; #ct and #rt bound an attempt",
          "[api][conversations][webhooks]") {
  receiver hook([](const received& r) -> std::pair<unsigned, std::string> {
    if (r.target.rfind("/slow", 0) == 0)
      return {0, ""}; // never answers
    return {200, ""};
  });
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  std::string is = ok(api.get("/v1/Configuration"))["default_chat_service_sid"];
  ok(api.post("/v1/Services/" + is + "/Configuration/Webhooks",
              {{"Method", "GET"}, {"PostWebhookUrl", hook.url("/get")}, {"Filters", "onMessageAdded"}}));
  std::string ch = ok(api.post(C), 201)["sid"];
  // A scoped webhook that never answers: 2 attempts (rc=1), each given 0.3 s.
  ok(api.post(C + "/" + ch + "/Webhooks", {{"Target", "webhook"},
                                           {"Configuration.Url", hook.url("/slow#ct=100&rt=200&rc=1")},
                                           {"Configuration.Filters", "onMessageAdded"}}),
     201);
  std::string im = ok(post_hooked(api, C + "/" + ch + "/Messages", {{"Body", "hello there"}}), 201)["sid"];

  REQUIRE(hook.wait_for([](auto& seen) {
    return std::any_of(seen.begin(), seen.end(), [](auto& r) { return r.target.rfind("/get?", 0) == 0; });
  }));
  for (auto& r : hook.seen()) {
    if (r.target.rfind("/get?", 0) != 0)
      continue;
    auto query = sb::model::form::parse(r.target.substr(5));
    REQUIRE(query);
    CHECK(query->get("EventType") == "onMessageAdded");
    CHECK(query->get("MessageSid") == im);
    CHECK(query->get("Body") == "hello there");
    // A GET is signed over the URL with its query and no form parameters.
    CHECK(r.signature == sb::model::twilio_signature(srv.auth_token(), hook.url(r.target), {}));
  }
  // Both attempts to the silent receiver arrive well before the 15 s default
  // timeout would have allowed a second one.
  CHECK(hook.wait_for(
    [](auto& seen) { return std::count_if(seen.begin(), seen.end(), [](auto& r) { return r.target == "/slow"; }) == 2; },
    8s));
}

TEST_CASE("server: a request not answered within --request-timeout gets 503 / 20503; the next one is served",
          "[api][conversations][prehooks]") {
  // The hook holds "slow" for longer than the server waits on its actors.
  receiver hook([](const received& r) -> std::pair<unsigned, std::string> {
    if (r.params.get("Body") == "slow")
      return {0, ""};
    return {200, ""};
  });
  server_process srv{{"--request-timeout", "1"}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  ok(api.post("/v1/Configuration/Webhooks",
              {{"PreWebhookUrl", hook.url("/pre#ct=100&rt=8000")}, {"Filters", "onMessageAdd"}}));
  std::string ch = ok(api.post(C), 201)["sid"];
  auto slow = post_hooked(api, C + "/" + ch + "/Messages", {{"Body", "slow"}});
  INFO(slow.body);
  CHECK(slow.status == 503);
  CHECK(slow.json()["code"] == 20503);
  // The connection and the server carry on (calls to that conversation
  // still wait behind the held message; others do not).
  std::string other = ok(api.post(C), 201)["sid"];
  CHECK(ok(api.get(C + "/" + other))["sid"] == other);
}
