// Conversations value types: durations, address types, attribute checks,
// delivery summaries, and the Twilio wire JSON of every resource.

#include "model/conversations.hpp"
#include "model/conversations_json.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using namespace sb::model;
using namespace sb::model::cv;
using json = nlohmann::json;

namespace {

const std::string base = "https://conversations.twilio.com";
const std::string k_acct = "AC00000000000000000000000000000001";
const std::string is_default = "IS00000000000000000000000000000001";
const std::string is_other = "IS00000000000000000000000000000002";
const std::string ch = "CH00000000000000000000000000000001";

time_point t(std::int64_t secs) { return time_point(std::chrono::seconds(secs)); }

// The JSON object's keys.
std::set<std::string> keys(const json& j) {
  std::set<std::string> out;
  for (auto& [k, v] : j.items())
    out.insert(k);
  return out;
}

std::set<std::string> with(std::set<std::string> s, std::initializer_list<std::string> more) {
  s.insert(more);
  return s;
}

message sample_message() {
  message m;
  m.sid = "IM00000000000000000000000000000001";
  m.account_sid = k_acct;
  m.conversation_sid = ch;
  m.chat_service_sid = is_default;
  m.index = 7;
  m.author = "alice";
  m.body = "hello";
  m.attributes = R"({"k":1})";
  m.participant_sid = "MB00000000000000000000000000000001";
  m.created = t(1'700'000'000);
  m.updated = t(1'700'000'060);
  return m;
}

receipt rcpt(delivery_status s) {
  receipt r;
  r.sid = "DY0000000000000000000000000000000" + std::to_string(static_cast<int>(s));
  r.status = s;
  return r;
}

} // namespace

TEST_CASE("conversation states and delivery statuses round-trip through their names", "[model][cv]") {
  for (auto s : {conversation_state::initializing, conversation_state::inactive, conversation_state::active,
                 conversation_state::closed}) {
    auto back = parse_conversation_state(to_string(s));
    REQUIRE(back);
    CHECK(*back == s);
  }
  CHECK(std::string(to_string(conversation_state::inactive)) == "inactive");
  CHECK_FALSE(parse_conversation_state("Active"));
  CHECK_FALSE(parse_conversation_state(""));
  for (auto s : {delivery_status::sent, delivery_status::delivered, delivery_status::read,
                 delivery_status::failed, delivery_status::undelivered}) {
    auto back = parse_delivery_status(to_string(s));
    REQUIRE(back);
    CHECK(*back == s);
  }
  CHECK(std::string(to_string(delivery_status::undelivered)) == "undelivered");
  CHECK_FALSE(parse_delivery_status("queued"));
}

TEST_CASE("parse_duration_ms reads ISO-8601 durations of fixed length", "[model][cv]") {
  struct row {
    const char* text;
    std::int64_t ms;
  };
  for (auto [text, ms] : {row{"PT1M", 60'000}, row{"PT90S", 90'000}, row{"PT10M", 600'000},
                          row{"P1D", 86'400'000}, row{"P1DT2H30M", 95'400'000}, row{"PT2H", 7'200'000},
                          row{"P1W", 604'800'000}, row{"P2W", 1'209'600'000}, row{"PT0S", 0},
                          row{"P1DT1S", 86'401'000}, row{"PT1H1M1S", 3'661'000},
                          row{"PT36H", 129'600'000}, row{"P0D", 0}}) {
    INFO(text);
    auto got = parse_duration_ms(text);
    REQUIRE(got);
    CHECK(*got == ms);
  }
  for (const char* bad : {"", "P", "PT", "P1DT", "P1Y", "P1M", "P1Y2D", "P1MT1H", "-PT1M", "P-1D",
                          "PT-5S", "PT1.5S", "PT0.5S", "pt1m", "PT1m", "T1M", "1M", "PT1M ", " PT1M",
                          "PTM", "PT1", "P1", "PT1S1M", "PT1M1M", "P1H", "PT1D", "P1DT1H1D", "PTT1M",
                          "P1D1W", "PT1X", "garbage", "P99999999999999999999D",
                          "PT9223372036854775807S"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(parse_duration_ms(bad));
  }
}

TEST_CASE("address_type recognises E.164 numbers and WhatsApp addresses", "[model][cv]") {
  CHECK(address_type("+15551234567") == std::optional<std::string>("sms"));
  CHECK(address_type("+44") == std::optional<std::string>("sms"));                // 2 digits
  CHECK(address_type("+123456789012345") == std::optional<std::string>("sms"));   // 15 digits
  CHECK(address_type("whatsapp:+15551234567") == std::optional<std::string>("whatsapp"));
  for (const char* bad : {"", "+", "+1", "+1234567890123456", "15551234567", "+1555-123", "+1 555",
                          "whatsapp:", "whatsapp:+", "whatsapp:15551234567", "WhatsApp:+15551234567",
                          "messenger:123", "alice", "+15551234567x", "whatsapp:+1"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(address_type(bad));
  }
}

TEST_CASE("check_attributes accepts JSON within the limit and names what and the limit otherwise",
          "[model][cv]") {
  for (const char* ok : {"{}", R"({"a":[1,2,{"b":null}]})", "[]", "\"text\"", "42", "null", " {} "})
    CHECK(check_attributes(ok, 100, "Attributes").ok());

  auto bad_json = check_attributes("{not json", 100, "Attributes");
  REQUIRE_FALSE(bad_json.ok());
  CHECK(bad_json.err().kind == errc::invalid_parameter);
  CHECK(bad_json.err().code == 20001);
  CHECK(bad_json.err().message.find("Attributes") != std::string::npos);
  CHECK(bad_json.err().message.find("JSON") != std::string::npos);
  CHECK_FALSE(check_attributes("", 100, "Attributes").ok());
  CHECK_FALSE(check_attributes("{} {}", 100, "Attributes").ok());

  std::string big = R"({"k":")" + std::string(4090, 'x') + "\"}"; // 4098 bytes, valid JSON
  CHECK(check_attributes(big, 4098, "Attributes").ok());
  auto too_big = check_attributes(big, limits::participant_attributes, "Participant attributes");
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.err().kind == errc::invalid_parameter);
  CHECK(too_big.err().code == 20001);
  CHECK(too_big.err().message.find("Participant attributes") != std::string::npos);
  CHECK(too_big.err().message.find("4096") != std::string::npos);
}

TEST_CASE("summarize aggregates receipts per status as all, some or none", "[model][cv]") {
  auto m = sample_message();
  CHECK_FALSE(summarize(m)); // chat only: no receipts

  SECTION("every receipt with one status") {
    m.receipts = {rcpt(delivery_status::failed), rcpt(delivery_status::failed)};
    auto s = summarize(m);
    REQUIRE(s);
    CHECK(s->total == 2);
    CHECK(s->failed == "all");
    CHECK(s->sent == "none");
    CHECK(s->delivered == "none");
    CHECK(s->read == "none");
    CHECK(s->undelivered == "none");
  }
  SECTION("mixed: statuses accumulate (read was delivered and sent)") {
    m.receipts = {rcpt(delivery_status::read), rcpt(delivery_status::sent), rcpt(delivery_status::undelivered)};
    auto s = summarize(m);
    REQUIRE(s);
    CHECK(s->total == 3);
    CHECK(s->sent == "all");
    CHECK(s->delivered == "some");
    CHECK(s->read == "some");
    CHECK(s->undelivered == "some");
    CHECK(s->failed == "none");
  }
  SECTION("Twilio's documented example: two recipients, one read") {
    m.receipts = {rcpt(delivery_status::read), rcpt(delivery_status::sent)};
    auto s = summarize(m);
    REQUIRE(s);
    CHECK(s->total == 2);
    CHECK(s->sent == "all");
    CHECK(s->delivered == "some");
    CHECK(s->read == "some");
    CHECK(s->failed == "none");
    CHECK(s->undelivered == "none");
  }
  SECTION("all delivered") {
    m.receipts = {rcpt(delivery_status::delivered), rcpt(delivery_status::read)};
    auto s = summarize(m);
    REQUIRE(s);
    CHECK(s->delivered == "all");
    CHECK(s->read == "some");
    CHECK(s->sent == "all");
  }
}

TEST_CASE("service, its configuration and webhooks in wire form", "[model][cv]") {
  cv_wire ctx{base};
  service s;
  s.sid = is_other;
  s.account_sid = k_acct;
  s.created = t(1'700'000'000);
  s.updated = t(1'700'000'001);

  auto j = to_json(s, ctx);
  CHECK(keys(j) == std::set<std::string>{"account_sid", "sid", "friendly_name", "date_created", "date_updated",
                                         "url", "links"});
  CHECK(j["friendly_name"].is_null());
  CHECK(j["date_created"] == "2023-11-14T22:13:20Z");
  CHECK(j["date_updated"] == "2023-11-14T22:13:21Z");
  CHECK(j["url"] == base + "/v1/Services/" + is_other);
  CHECK(j["links"]["conversations"] == base + "/v1/Services/" + is_other + "/Conversations");
  CHECK(j["links"]["configuration"] == base + "/v1/Services/" + is_other + "/Configuration");
  CHECK(j["links"]["users"] == base + "/v1/Services/" + is_other + "/Users");
  CHECK(j["links"]["roles"] == base + "/v1/Services/" + is_other + "/Roles");
  CHECK(j["links"]["bindings"] == base + "/v1/Services/" + is_other + "/Bindings");
  CHECK(j["links"]["participant_conversations"] ==
        base + "/v1/Services/" + is_other + "/ParticipantConversations");
  s.friendly_name = "Support";
  CHECK(to_json(s, ctx)["friendly_name"] == "Support");

  auto c = service_configuration_json(s, ctx);
  CHECK(keys(c) == std::set<std::string>{"chat_service_sid", "default_conversation_creator_role_sid",
                                         "default_conversation_role_sid", "default_chat_service_role_sid",
                                         "url", "links", "reachability_enabled"});
  CHECK(c["chat_service_sid"] == is_other);
  CHECK(c["default_conversation_role_sid"].is_null());
  CHECK(c["reachability_enabled"] == false);
  CHECK(c["url"] == base + "/v1/Services/" + is_other + "/Configuration");
  CHECK(c["links"]["webhooks"] == base + "/v1/Services/" + is_other + "/Configuration/Webhooks");
  CHECK(c["links"]["notifications"] == base + "/v1/Services/" + is_other + "/Configuration/Notifications");
  s.default_conversation_creator_role_sid = "RL00000000000000000000000000000001";
  s.default_conversation_role_sid = "RL00000000000000000000000000000002";
  s.default_chat_service_role_sid = "RL00000000000000000000000000000003";
  s.reachability_enabled = true;
  c = service_configuration_json(s, ctx);
  CHECK(c["default_conversation_creator_role_sid"] == "RL00000000000000000000000000000001");
  CHECK(c["default_conversation_role_sid"] == "RL00000000000000000000000000000002");
  CHECK(c["default_chat_service_role_sid"] == "RL00000000000000000000000000000003");
  CHECK(c["reachability_enabled"] == true);

  auto w = service_webhooks_json(s, ctx);
  CHECK(keys(w) == std::set<std::string>{"account_sid", "chat_service_sid", "pre_webhook_url", "post_webhook_url",
                                         "filters", "method", "url"});
  CHECK(w["pre_webhook_url"].is_null());
  CHECK(w["post_webhook_url"].is_null());
  CHECK(w["filters"] == json::array());
  CHECK(w["method"] == "POST");
  CHECK(w["url"] == base + "/v1/Services/" + is_other + "/Configuration/Webhooks");
  s.webhooks.pre_webhook_url = "https://example.test/pre";
  s.webhooks.post_webhook_url = "https://example.test/post";
  s.webhooks.filters = {"onMessageAdd", "onMessageAdded"};
  s.webhooks.method = "GET";
  w = service_webhooks_json(s, ctx);
  CHECK(w["pre_webhook_url"] == "https://example.test/pre");
  CHECK(w["post_webhook_url"] == "https://example.test/post");
  CHECK(w["filters"] == json::array({"onMessageAdd", "onMessageAdded"}));
  CHECK(w["method"] == "GET");
}

TEST_CASE("account configuration and its webhooks in wire form", "[model][cv]") {
  cv_wire ctx{base};
  account_config a;
  a.account_sid = k_acct;
  a.default_chat_service_sid = is_default;
  auto j = to_json(a, ctx);
  CHECK(keys(j) == std::set<std::string>{"account_sid", "default_chat_service_sid", "default_messaging_service_sid",
                                         "default_inactive_timer", "default_closed_timer", "url", "links"});
  CHECK(j["account_sid"] == k_acct);
  CHECK(j["default_chat_service_sid"] == is_default);
  CHECK(j["default_messaging_service_sid"].is_null());
  CHECK(j["default_inactive_timer"].is_null());
  CHECK(j["default_closed_timer"].is_null());
  CHECK(j["url"] == base + "/v1/Configuration");
  CHECK(j["links"]["service"] == base + "/v1/Services/" + is_default);
  CHECK(j["links"]["webhooks"] == base + "/v1/Configuration/Webhooks");
  a.default_messaging_service_sid = "MG00000000000000000000000000000001";
  a.default_inactive_timer = "PT1M";
  a.default_closed_timer = "PT10M";
  j = to_json(a, ctx);
  CHECK(j["default_messaging_service_sid"] == "MG00000000000000000000000000000001");
  CHECK(j["default_inactive_timer"] == "PT1M");
  CHECK(j["default_closed_timer"] == "PT10M");

  auto w = account_webhooks_json(a, ctx);
  CHECK(keys(w) == std::set<std::string>{"account_sid", "method", "filters", "pre_webhook_url", "post_webhook_url",
                                         "target", "url"});
  CHECK(w["method"] == "POST");
  CHECK(w["target"] == "webhook");
  CHECK(w["filters"] == json::array());
  CHECK(w["pre_webhook_url"].is_null());
  CHECK(w["url"] == base + "/v1/Configuration/Webhooks");
  a.webhooks.target = "flex";
  a.webhooks.filters = {"onConversationAdded"};
  a.webhooks.post_webhook_url = "https://example.test/post";
  w = account_webhooks_json(a, ctx);
  CHECK(w["target"] == "flex");
  CHECK(w["filters"] == json::array({"onConversationAdded"}));
  CHECK(w["post_webhook_url"] == "https://example.test/post");
}

TEST_CASE("a conversation in wire form, in the default service and in another", "[model][cv]") {
  cv_wire ctx{base};
  conversation c;
  c.sid = ch;
  c.account_sid = k_acct;
  c.chat_service_sid = is_default;
  c.created = t(1'700'000'000);
  c.updated = t(1'700'000'000);
  const std::set<std::string> fields{"account_sid", "chat_service_sid", "messaging_service_sid", "sid",
                                     "friendly_name", "unique_name", "attributes", "state", "date_created",
                                     "date_updated", "timers", "url", "links", "bindings"};

  auto j = to_json(c, ctx, true);
  CHECK(keys(j) == fields);
  CHECK(j["chat_service_sid"] == is_default);
  CHECK(j["messaging_service_sid"].is_null());
  CHECK(j["friendly_name"].is_null());
  CHECK(j["unique_name"].is_null());
  CHECK(j["attributes"] == "{}");
  CHECK(j["state"] == "active");
  CHECK(j["timers"] == json::object());
  CHECK(j["bindings"] == json::object());
  CHECK(j["url"] == base + "/v1/Conversations/" + ch);
  CHECK(j["links"] == json{{"participants", base + "/v1/Conversations/" + ch + "/Participants"},
                           {"messages", base + "/v1/Conversations/" + ch + "/Messages"},
                           {"webhooks", base + "/v1/Conversations/" + ch + "/Webhooks"}});

  c.chat_service_sid = is_other;
  c.messaging_service_sid = "MG00000000000000000000000000000001";
  c.friendly_name = "Order 42";
  c.unique_name = "order-42";
  c.attributes = R"({"order":42})";
  c.state = conversation_state::inactive;
  c.date_inactive = t(1'700'000'060);
  c.date_closed = t(1'700'000'600);
  c.bindings_email_address = "a@example.test";
  c.bindings_email_name = "Alice";
  j = to_json(c, ctx, false);
  CHECK(keys(j) == fields);
  auto url = base + "/v1/Services/" + is_other + "/Conversations/" + ch;
  CHECK(j["url"] == url);
  CHECK(j["links"]["participants"] == url + "/Participants");
  CHECK(j["links"]["messages"] == url + "/Messages");
  CHECK(j["links"]["webhooks"] == url + "/Webhooks");
  CHECK(j["chat_service_sid"] == is_other);
  CHECK(j["messaging_service_sid"] == "MG00000000000000000000000000000001");
  CHECK(j["friendly_name"] == "Order 42");
  CHECK(j["unique_name"] == "order-42");
  CHECK(j["attributes"] == R"({"order":42})"); // a string, not an object
  CHECK(j["state"] == "inactive");
  CHECK(j["timers"] == json{{"date_inactive", "2023-11-14T22:14:20Z"}, {"date_closed", "2023-11-14T22:23:20Z"}});
  CHECK(j["bindings"] == json{{"email", {{"address", "a@example.test"}, {"name", "Alice"}}}});

  CHECK(conversations_url(ctx, is_other, true) == base + "/v1/Conversations");
  CHECK(conversations_url(ctx, is_other, false) == base + "/v1/Services/" + is_other + "/Conversations");
  CHECK(conversation_url(ctx, is_other, ch, false) == url);
}

TEST_CASE("participants in wire form: chat, SMS, projected; default and other service", "[model][cv]") {
  cv_wire ctx{base};
  participant p;
  p.sid = "MB00000000000000000000000000000001";
  p.account_sid = k_acct;
  p.conversation_sid = ch;
  p.chat_service_sid = is_default;
  p.identity = "alice";
  p.role_sid = "RL00000000000000000000000000000001";
  p.created = t(1'700'000'000);
  p.updated = t(1'700'000'001);
  const std::set<std::string> fields{"account_sid", "conversation_sid", "sid", "identity", "attributes",
                                     "messaging_binding", "role_sid", "date_created", "date_updated", "url",
                                     "last_read_message_index", "last_read_timestamp"};

  auto j = to_json(p, ctx, true);
  CHECK(keys(j) == fields);
  CHECK(j["identity"] == "alice");
  CHECK(j["messaging_binding"].is_null());
  CHECK(j["attributes"] == "{}");
  CHECK(j["role_sid"] == "RL00000000000000000000000000000001");
  CHECK(j["last_read_message_index"].is_null());
  CHECK(j["last_read_timestamp"].is_null());
  CHECK(j["url"] == base + "/v1/Conversations/" + ch + "/Participants/" + p.sid);

  p.identity.clear();
  p.binding = {"sms", "+15551230001", "+15551230002", ""};
  p.last_read_message_index = 3;
  p.last_read_timestamp = t(1'700'000'002);
  p.chat_service_sid = is_other;
  j = to_json(p, ctx, false);
  CHECK(keys(j) == with(fields, {"chat_service_sid"}));
  CHECK(j["chat_service_sid"] == is_other);
  CHECK(j["identity"].is_null());
  CHECK(j["messaging_binding"] ==
        json{{"type", "sms"}, {"address", "+15551230001"}, {"proxy_address", "+15551230002"}});
  CHECK(j["last_read_message_index"] == 3);
  CHECK(j["last_read_timestamp"] == "2023-11-14T22:13:22Z");
  CHECK(j["url"] == base + "/v1/Services/" + is_other + "/Conversations/" + ch + "/Participants/" + p.sid);

  p.binding = {"sms", "", "", "+15551230003"};
  j = to_json(p, ctx, false);
  CHECK(j["messaging_binding"] == json{{"type", "sms"}, {"projected_address", "+15551230003"}});
}

TEST_CASE("messages in wire form: media, delivery, links; default and other service", "[model][cv]") {
  cv_wire ctx{base};
  auto m = sample_message();
  const std::set<std::string> fields{"account_sid", "conversation_sid", "sid", "index", "author", "body", "media",
                                     "attributes", "participant_sid", "date_created", "date_updated", "url",
                                     "delivery", "links", "content_sid"};
  auto j = to_json(m, ctx, true);
  CHECK(keys(j) == fields);
  auto url = base + "/v1/Conversations/" + ch + "/Messages/" + m.sid;
  CHECK(j["url"] == url);
  CHECK(j["links"] == json{{"delivery_receipts", url + "/Receipts"}, {"channel_metadata", url + "/ChannelMetadata"}});
  CHECK(j["index"] == 7);
  CHECK(j["author"] == "alice");
  CHECK(j["body"] == "hello");
  CHECK(j["attributes"] == R"({"k":1})");
  CHECK(j["participant_sid"] == "MB00000000000000000000000000000001");
  CHECK(j["media"].is_null());
  CHECK(j["delivery"].is_null());
  CHECK(j["content_sid"].is_null());
  CHECK(j["date_created"] == "2023-11-14T22:13:20Z");
  CHECK(j["date_updated"] == "2023-11-14T22:14:20Z");

  m.body.clear();
  m.participant_sid.clear();
  m.media = {{"ME00000000000000000000000000000001", "image/png", "cat.png", 1234}};
  m.receipts = {rcpt(delivery_status::delivered), rcpt(delivery_status::failed)};
  m.chat_service_sid = is_other;
  j = to_json(m, ctx, false);
  CHECK(keys(j) == with(fields, {"chat_service_sid"}));
  CHECK(j["chat_service_sid"] == is_other);
  url = base + "/v1/Services/" + is_other + "/Conversations/" + ch + "/Messages/" + m.sid;
  CHECK(j["url"] == url);
  CHECK(j["links"]["delivery_receipts"] == url + "/Receipts");
  CHECK(j["body"].is_null());
  CHECK(j["participant_sid"].is_null());
  CHECK(j["media"] == json::array({json{{"sid", "ME00000000000000000000000000000001"},
                                        {"category", "media"},
                                        {"filename", "cat.png"},
                                        {"content_type", "image/png"},
                                        {"size", 1234}}}));
  CHECK(j["delivery"] == json{{"total", 2},          {"sent", "some"},  {"delivered", "some"},
                              {"read", "none"},      {"failed", "some"}, {"undelivered", "none"}});
}

TEST_CASE("delivery receipts in wire form", "[model][cv]") {
  cv_wire ctx{base};
  auto m = sample_message();
  receipt r;
  r.sid = "DY00000000000000000000000000000001";
  r.participant_sid = "MB00000000000000000000000000000002";
  r.channel_message_sid = "SM00000000000000000000000000000001";
  r.status = delivery_status::undelivered;
  r.error_code = 30003;
  r.created = t(1'700'000'000);
  r.updated = t(1'700'000'005);
  const std::set<std::string> fields{"account_sid", "conversation_sid", "sid", "message_sid",
                                     "channel_message_sid", "participant_sid", "status", "error_code",
                                     "date_created", "date_updated", "url"};
  auto j = to_json(r, m, ctx, true);
  CHECK(keys(j) == fields);
  CHECK(j["account_sid"] == k_acct);
  CHECK(j["conversation_sid"] == ch);
  CHECK(j["message_sid"] == m.sid);
  CHECK(j["channel_message_sid"] == "SM00000000000000000000000000000001");
  CHECK(j["participant_sid"] == "MB00000000000000000000000000000002");
  CHECK(j["status"] == "undelivered");
  CHECK(j["error_code"] == 30003);
  CHECK(j["date_updated"] == "2023-11-14T22:13:25Z");
  CHECK(j["url"] == base + "/v1/Conversations/" + ch + "/Messages/" + m.sid + "/Receipts/" + r.sid);

  r.error_code = 0;
  m.chat_service_sid = is_other;
  j = to_json(r, m, ctx, false);
  CHECK(keys(j) == with(fields, {"chat_service_sid"}));
  CHECK(j["chat_service_sid"] == is_other);
  CHECK(j["error_code"].is_null());
  CHECK(j["url"] ==
        base + "/v1/Services/" + is_other + "/Conversations/" + ch + "/Messages/" + m.sid + "/Receipts/" + r.sid);
}

TEST_CASE("conversation-scoped webhooks in wire form, per target", "[model][cv]") {
  cv_wire ctx{base};
  conversation_webhook w;
  w.sid = "WH00000000000000000000000000000001";
  w.account_sid = k_acct;
  w.conversation_sid = ch;
  w.target = "webhook";
  w.url = "https://example.test/hook";
  w.method = "GET";
  w.filters = {"onMessageAdded"};
  w.created = t(1'700'000'000);
  w.updated = t(1'700'000'000);
  const std::set<std::string> fields{"sid", "account_sid", "conversation_sid", "target", "url", "configuration",
                                     "date_created", "date_updated"};
  auto j = to_json(w, ctx, true, is_default);
  CHECK(keys(j) == fields);
  CHECK(j["target"] == "webhook");
  CHECK(j["url"] == base + "/v1/Conversations/" + ch + "/Webhooks/" + w.sid);
  CHECK(j["configuration"] ==
        json{{"url", "https://example.test/hook"}, {"method", "get"}, {"filters", json::array({"onMessageAdded"})}});

  w.target = "trigger";
  w.method = "POST";
  w.triggers = {"help", "stop"};
  j = to_json(w, ctx, false, is_other);
  CHECK(keys(j) == with(fields, {"chat_service_sid"}));
  CHECK(j["chat_service_sid"] == is_other);
  CHECK(j["url"] == base + "/v1/Services/" + is_other + "/Conversations/" + ch + "/Webhooks/" + w.sid);
  CHECK(j["configuration"]["method"] == "post");
  CHECK(j["configuration"]["triggers"] == json::array({"help", "stop"}));

  conversation_webhook s;
  s.sid = "WH00000000000000000000000000000002";
  s.account_sid = k_acct;
  s.conversation_sid = ch;
  s.target = "studio";
  s.flow_sid = "FW00000000000000000000000000000001";
  s.replay_after = 2;
  j = to_json(s, ctx, true, is_default);
  CHECK(j["configuration"] == json{{"flow_sid", "FW00000000000000000000000000000001"}, {"replay_after", 2}});
  s.replay_after.reset();
  CHECK(to_json(s, ctx, true, is_default)["configuration"] == json{{"flow_sid", "FW00000000000000000000000000000001"}});
}

TEST_CASE("apply_conversation_form applies a valid form whole and a bad one not at all", "[model][conversations]") {
  conversation c;
  c.friendly_name = "before";
  c.timer_inactive = "PT5M";
  SECTION("valid: every named field applied, State returned, not applied") {
    auto r = apply_conversation_form(form({{"FriendlyName", "after"}, {"UniqueName", "u1"}, {"Attributes", "{\"a\":1}"},
                                           {"Timers.Closed", "PT1H"}, {"State", "inactive"},
                                           {"DateCreated", "2026-01-02T03:04:05Z"}}),
                                     c);
    REQUIRE(r);
    REQUIRE(*r);
    CHECK(**r == conversation_state::inactive);
    CHECK(c.state == conversation_state::active);
    CHECK(c.friendly_name == "after");
    CHECK(c.unique_name == "u1");
    CHECK(c.attributes == "{\"a\":1}");
    CHECK(c.timer_inactive == "PT5M");
    CHECK(c.timer_closed == "PT1H");
    CHECK(iso8601(c.created) == "2026-01-02T03:04:05Z");
  }
  SECTION("invalid: an error and nothing applied") {
    for (auto bad : std::vector<form_pairs>{
           {{"FriendlyName", "x"}, {"Timers.Closed", "soon"}},
           {{"FriendlyName", "x"}, {"State", "initializing"}},
           {{"FriendlyName", "x"}, {"UniqueName", "CH" + std::string(32, 'a')}},
           {{"FriendlyName", "x"}, {"MessagingServiceSid", "nope"}},
           {{"FriendlyName", "x"}, {"DateUpdated", "yesterday"}},
           {{"FriendlyName", "x"}, {"Attributes", "{"}},
           {{"FriendlyName", "x"}, {"Colour", "red"}},
         }) {
      INFO(bad.back().first);
      auto r = apply_conversation_form(form(bad), c);
      CHECK_FALSE(r);
      CHECK(c.friendly_name == "before");
    }
  }
}
