// Conversations address configurations (/v1/Configuration/Addresses) against
// the real binary on loopback: the lifecycle, the one-per-(type, address)
// rule, bad input that changes nothing, other accounts, and a restart.

#include "checks.hpp"
#include "server_fixture.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace sbtest;
using nlohmann::json;

const std::string other_account = "AC" + std::string("0123456789abcdef0123456789abcdef");
const std::string other_token = "token3";
const std::string A = "/v1/Configuration/Addresses";
const std::string flow = "FW" + std::string(32, 'b');

std::vector<std::string> listed(api_client& api, form query = {}) {
  query.emplace_back("PageSize", "1000");
  std::vector<std::string> out;
  auto doc = ok(api.get(A, query));
  for (auto& x : doc["address_configurations"])
    out.push_back(x["sid"]);
  return out;
}

} // namespace

TEST_CASE("addresses: create, list by type, fetch, update and delete", "[api][addresses]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());

  auto sms = ok(api.post(A, {{"Type", "sms"},
                             {"Address", "+15551230001"},
                             {"FriendlyName", "Support line"},
                             {"AutoCreation.Enabled", "true"},
                             {"AutoCreation.Type", "webhook"},
                             {"AutoCreation.WebhookUrl", "https://example.test/auto"},
                             {"AutoCreation.WebhookMethod", "get"},
                             {"AutoCreation.WebhookFilters", "onMessageAdded"},
                             {"AutoCreation.WebhookFilters", "onParticipantAdded"},
                             {"AddressCountry", "us"}}),
                201);
  std::string ig = sms["sid"];
  CHECK(ig.rfind("IG", 0) == 0);
  CHECK(ig.size() == 34);
  CHECK(sms["account_sid"] == srv.account_sid());
  CHECK(sms["type"] == "sms");
  CHECK(sms["address"] == "+15551230001");
  CHECK(sms["friendly_name"] == "Support line");
  CHECK(sms["address_country"] == "US");
  CHECK(sms["url"] == "https://conversations.twilio.com/v1/Configuration/Addresses/" + ig);
  CHECK(sms["date_created"].is_string());
  CHECK(sms["auto_creation"] == json{{"enabled", true},
                                     {"type", "webhook"},
                                     {"conversation_service_sid", nullptr},
                                     {"webhook_url", "https://example.test/auto"},
                                     {"webhook_method", "GET"},
                                     {"webhook_filters", json::array({"onMessageAdded", "onParticipantAdded"})}});

  // WhatsApp numbers may come without their prefix; they are kept with it.
  auto wa = ok(api.post(A, {{"Type", "whatsapp"}, {"Address", "+15551230001"}}), 201);
  std::string wa_sid = wa["sid"];
  CHECK(wa["address"] == "whatsapp:+15551230001");
  CHECK(wa["friendly_name"].is_null());
  CHECK(wa["auto_creation"] == json{{"enabled", false}, {"type", "default"}, {"conversation_service_sid", nullptr}});
  auto chat = ok(api.post(A, {{"Type", "chat"}, {"Address", "support-bot"}, {"AutoCreation.Type", "studio"},
                              {"AutoCreation.StudioFlowSid", flow}, {"AutoCreation.StudioRetryCount", "2"}}),
                 201);
  std::string chat_sid = chat["sid"];
  CHECK(chat["auto_creation"]["studio_flow_sid"] == flow);
  CHECK(chat["auto_creation"]["studio_retry_count"] == 2);

  // Lists: creation order, filtered by Type, with the library's list key.
  CHECK(listed(api) == std::vector<std::string>{ig, wa_sid, chat_sid});
  CHECK(listed(api, {{"Type", "whatsapp"}}) == std::vector<std::string>{wa_sid});
  CHECK(listed(api, {{"Type", "email"}}).empty());
  auto page = ok(api.get(A, {{"PageSize", "2"}}));
  CHECK(page["meta"]["key"] == "address_configurations");
  CHECK(page["address_configurations"].size() == 2);
  CHECK(page["meta"]["next_page_url"].is_string());
  std::string next = page["meta"]["next_page_url"];
  const std::string cv_base = "https://conversations.twilio.com";
  REQUIRE(next.rfind(cv_base + A + "?", 0) == 0);
  auto second = api.raw(boost::beast::http::verb::get, next.substr(cv_base.size()), "",
                        {{"Authorization", api.authorization()}});
  CHECK(ok(second)["address_configurations"] == json::array({chat}));
  error_is(api.get(A, {{"Type", "fax"}}), 400, 20001);

  CHECK(ok(api.get(A + "/" + ig)) == sms);
  // Update: the given fields change, the rest stays.
  auto upd = ok(api.post(A + "/" + ig, {{"FriendlyName", "Renamed"},
                                        {"AutoCreation.Type", "studio"},
                                        {"AutoCreation.StudioFlowSid", flow},
                                        {"AutoCreation.ConversationServiceSid", "IS" + std::string(32, 'c')}}));
  CHECK(upd["friendly_name"] == "Renamed");
  CHECK(upd["address"] == "+15551230001");
  CHECK(upd["address_country"] == "US");
  CHECK(upd["auto_creation"]["enabled"] == true);
  CHECK(upd["auto_creation"]["type"] == "studio");
  CHECK(upd["auto_creation"]["studio_flow_sid"] == flow);
  CHECK(upd["auto_creation"]["conversation_service_sid"] == "IS" + std::string(32, 'c'));
  CHECK(ok(api.get(A + "/" + ig)) == upd);
  // Back to webhook: the URL given at creation is still there.
  upd = ok(api.post(A + "/" + ig, {{"AutoCreation.Type", "webhook"}, {"AutoCreation.Enabled", "false"}}));
  CHECK(upd["auto_creation"]["webhook_url"] == "https://example.test/auto");
  CHECK(upd["auto_creation"]["enabled"] == false);

  ok(api.del(A + "/" + ig), 204);
  error_is(api.get(A + "/" + ig), 404, 20404);
  error_is(api.del(A + "/" + ig), 404, 20404);
  error_is(api.post(A + "/" + ig, {{"FriendlyName", "x"}}), 404, 20404);
  CHECK(listed(api) == std::vector<std::string>{wa_sid, chat_sid});
  // The /conversations product prefix reaches the same resources.
  CHECK(ok(api.get("/conversations" + A + "/" + wa_sid))["sid"] == wa_sid);
}

TEST_CASE("addresses: one configuration per type and address", "[api][addresses]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  std::string first = ok(api.post(A, {{"Type", "whatsapp"}, {"Address", "whatsapp:+15551230002"}}), 201)["sid"];
  // The same number with or without the prefix is the same address.
  auto dup = api.post(A, {{"Type", "whatsapp"}, {"Address", "+15551230002"}});
  error_is(dup, 409, 20409);
  CHECK(dup.json()["message"].get<std::string>().find(first) != std::string::npos);
  error_is(api.post(A, {{"Type", "whatsapp"}, {"Address", "whatsapp:+15551230002"}}), 409, 20409);
  // Another type may configure the same number.
  ok(api.post(A, {{"Type", "sms"}, {"Address", "+15551230002"}}), 201);
  CHECK(listed(api).size() == 2);
  // Deleting frees the address.
  ok(api.del(A + "/" + first), 204);
  ok(api.post(A, {{"Type", "whatsapp"}, {"Address", "+15551230002"}}), 201);
}

TEST_CASE("addresses: bad input is refused and changes nothing", "[api][addresses]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto base = ok(api.post(A, {{"Type", "sms"}, {"Address", "+15551230003"}, {"FriendlyName", "kept"},
                              {"AutoCreation.Type", "webhook"}, {"AutoCreation.WebhookUrl", "https://example.test/a"}}),
                 201);
  std::string ig = base["sid"];
  const std::string long_name(257, 'n');
  const std::vector<form> bad_creates{
    {},
    {{"Address", "+15551230004"}},
    {{"Type", "sms"}},
    {{"Type", "fax"}, {"Address", "+15551230004"}},
    {{"Type", "sms"}, {"Address", "15551230004"}},
    {{"Type", "sms"}, {"Address", "whatsapp:+15551230004"}},
    {{"Type", "sms"}, {"Address", "+1555-123"}},
    {{"Type", "whatsapp"}, {"Address", "whatsapp:15551230004"}},
    {{"Type", "email"}, {"Address", "nobody"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"FriendlyName", long_name}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"Color", "red"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AddressCountry", "USA"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.Enabled", "maybe"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.Type", "flex"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.Type", "webhook"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.Type", "webhook"},
     {"AutoCreation.WebhookUrl", "ftp://example.test"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.WebhookUrl", "example.test/hook"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.WebhookMethod", "PUT"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.WebhookFilters", "onMessageAdd"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.Type", "studio"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.Type", "studio"},
     {"AutoCreation.StudioFlowSid", "FW123"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.StudioRetryCount", "-1"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.StudioRetryCount", "many"}},
    {{"Type", "sms"}, {"Address", "+15551230004"}, {"AutoCreation.ConversationServiceSid", "CH" + std::string(32, 'a')}},
  };
  for (auto& params : bad_creates) {
    INFO(encode_form(params));
    error_is(api.post(A, params), 400, 20001);
  }
  const std::vector<form> bad_updates{
    {{"Address", "+15551230009"}},
    {{"Type", "whatsapp"}},
    {{"AddressCountry", "US"}},
    {{"FriendlyName", long_name}},
    {{"AutoCreation.Type", "studio"}},
    {{"AutoCreation.WebhookUrl", ""}},
    {{"AutoCreation.WebhookFilters", "onConversationAdded"}},
    {{"FriendlyName", "changed"}, {"AutoCreation.WebhookMethod", "DELETE"}},
  };
  for (auto& params : bad_updates) {
    INFO(encode_form(params));
    error_is(api.post(A + "/" + ig, params), 400, 20001);
  }
  CHECK(ok(api.get(A + "/" + ig)) == base);
  CHECK(listed(api) == std::vector<std::string>{ig});
  error_is(api.get(A + "/IG" + std::string(32, '0')), 404, 20404);
  error_is(api.get(A + "/nonsense"), 404, 20404);
}

TEST_CASE("addresses: another account's configuration answers 404 like an unknown one", "[api][addresses]") {
  server_process srv{std::vector<std::string>{"--account", other_account + ":" + other_token}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  api_client other(srv.port(), other_account, other_token);
  std::string ig = ok(api.post(A, {{"Type", "sms"}, {"Address", "+15551230005"}}), 201)["sid"];
  error_is(other.get(A + "/" + ig), 404, 20404);
  error_is(other.post(A + "/" + ig, {{"FriendlyName", "mine"}}), 404, 20404);
  error_is(other.del(A + "/" + ig), 404, 20404);
  CHECK(listed(other).empty());
  // Uniqueness is per account: the other account may configure the same number.
  std::string theirs = ok(other.post(A, {{"Type", "sms"}, {"Address", "+15551230005"}}), 201)["sid"];
  CHECK(listed(other) == std::vector<std::string>{theirs});
  CHECK(listed(api) == std::vector<std::string>{ig});
  CHECK(ok(api.get(A + "/" + ig))["friendly_name"].is_null());
}

TEST_CASE("addresses: a restart brings back configurations and the uniqueness rule",
          "[api][addresses][durability]") {
  temp_dir dir;
  std::string kept, changed, gone;
  {
    server_process srv{server_process::existing_dir{dir.path}, {}};
    api_client api(srv.port(), srv.file_sid(), srv.file_token());
    kept = ok(api.post(A, {{"Type", "whatsapp"}, {"Address", "+15551230006"}, {"AutoCreation.Enabled", "true"},
                           {"AutoCreation.Type", "webhook"}, {"AutoCreation.WebhookUrl", "https://example.test/w"},
                           {"AutoCreation.WebhookFilters", "onMessageAdded"}}),
              201)["sid"];
    changed = ok(api.post(A, {{"Type", "sms"}, {"Address", "+15551230007"}}), 201)["sid"];
    ok(api.post(A + "/" + changed, {{"FriendlyName", "after update"}, {"AutoCreation.Type", "studio"},
                                    {"AutoCreation.StudioFlowSid", flow}, {"AutoCreation.StudioRetryCount", "1"}}));
    gone = ok(api.post(A, {{"Type", "email"}, {"Address", "help@example.test"}}), 201)["sid"];
    ok(api.del(A + "/" + gone), 204);
    srv.kill_hard();
  }
  server_process srv{server_process::existing_dir{dir.path}, {}};
  api_client api(srv.port(), srv.file_sid(), srv.file_token());
  CHECK(listed(api) == std::vector<std::string>{kept, changed});
  auto k = ok(api.get(A + "/" + kept));
  CHECK(k["address"] == "whatsapp:+15551230006");
  CHECK(k["auto_creation"]["enabled"] == true);
  CHECK(k["auto_creation"]["webhook_filters"] == json::array({"onMessageAdded"}));
  auto c = ok(api.get(A + "/" + changed));
  CHECK(c["friendly_name"] == "after update");
  CHECK(c["auto_creation"]["type"] == "studio");
  CHECK(c["auto_creation"]["studio_retry_count"] == 1);
  error_is(api.get(A + "/" + gone), 404, 20404);
  error_is(api.post(A, {{"Type", "whatsapp"}, {"Address", "whatsapp:+15551230006"}}), 409, 20409);
  ok(api.post(A, {{"Type", "email"}, {"Address", "help@example.test"}}), 201);
}
