// Conversations address configurations: address canonical forms per type and
// the wire JSON of a configuration.

#include "model/conversations.hpp"
#include "model/conversations_json.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace sb::model;
using namespace sb::model::cv;
using json = nlohmann::json;

namespace {

std::set<std::string> keys(const json& j) {
  std::set<std::string> out;
  for (auto& [k, v] : j.items())
    out.insert(k);
  return out;
}

} // namespace

TEST_CASE("address types are Twilio's eight", "[model][cv][addresses]") {
  for (auto* t : {"sms", "whatsapp", "messenger", "gbm", "email", "rcs", "apple", "chat"})
    CHECK(is_address_type(t));
  for (auto* t : {"", "SMS", "mms", "voice", "whatsapp:"})
    CHECK_FALSE(is_address_type(t));
}

TEST_CASE("canonical_address: E.164 for sms, whatsapp: prefix for whatsapp, as given otherwise",
          "[model][cv][addresses]") {
  using opt = std::optional<std::string>;
  CHECK(canonical_address("sms", "+15551234567") == opt("+15551234567"));
  CHECK(canonical_address("whatsapp", "+15551234567") == opt("whatsapp:+15551234567"));
  CHECK(canonical_address("whatsapp", "whatsapp:+15551234567") == opt("whatsapp:+15551234567"));
  CHECK(canonical_address("messenger", "messenger:1234") == opt("messenger:1234"));
  CHECK(canonical_address("email", "support@example.test") == opt("support@example.test"));
  CHECK(canonical_address("chat", "alice") == opt("alice"));
  for (auto [type, bad] : {std::pair{"sms", ""}, std::pair{"sms", "15551234567"}, std::pair{"sms", "whatsapp:+15551234567"},
                           std::pair{"sms", "+1555 1234"}, std::pair{"sms", "+1"},
                           std::pair{"whatsapp", "whatsapp:"}, std::pair{"whatsapp", "whatsapp:15551234567"},
                           std::pair{"whatsapp", "messenger:+15551234567"}, std::pair{"email", "nobody"},
                           std::pair{"email", "@example.test"}, std::pair{"email", "a@"}, std::pair{"chat", ""},
                           std::pair{"chat", "two words"}, std::pair{"fax", "+15551234567"}}) {
    INFO(type << " '" << bad << "'");
    CHECK_FALSE(canonical_address(type, bad));
  }
  CHECK(canonical_address("chat", std::string(256, 'a')));
  CHECK_FALSE(canonical_address("chat", std::string(257, 'a')));
}

TEST_CASE("an address configuration in wire form, per auto-creation type", "[model][cv][addresses]") {
  cv_wire ctx{"https://conversations.twilio.com"};
  address_configuration x;
  x.sid = "IG00000000000000000000000000000001";
  x.account_sid = "AC00000000000000000000000000000001";
  x.type = "sms";
  x.address = "+15551234567";
  x.created = time_point(std::chrono::seconds(1'700'000'000));
  x.updated = time_point(std::chrono::seconds(1'700'000'060));
  auto j = to_json(x, ctx);
  CHECK(keys(j) == std::set<std::string>{"sid", "account_sid", "type", "address", "friendly_name", "auto_creation",
                                         "date_created", "date_updated", "url", "address_country"});
  CHECK(j["url"] == "https://conversations.twilio.com/v1/Configuration/Addresses/" + x.sid);
  CHECK(j["friendly_name"].is_null());
  CHECK(j["address_country"].is_null());
  CHECK(j["date_created"] == "2023-11-14T22:13:20Z");
  CHECK(j["auto_creation"] == json{{"enabled", false}, {"type", "default"}, {"conversation_service_sid", nullptr}});

  x.friendly_name = "Support line";
  x.address_country = "US";
  x.auto_creation.enabled = true;
  x.auto_creation.type = "webhook";
  x.auto_creation.conversation_service_sid = "IS00000000000000000000000000000001";
  x.auto_creation.webhook_url = "https://example.test/hook";
  x.auto_creation.webhook_filters = {"onMessageAdded"};
  j = to_json(x, ctx);
  CHECK(j["friendly_name"] == "Support line");
  CHECK(j["address_country"] == "US");
  CHECK(j["auto_creation"] == json{{"enabled", true},
                                   {"type", "webhook"},
                                   {"conversation_service_sid", "IS00000000000000000000000000000001"},
                                   {"webhook_url", "https://example.test/hook"},
                                   {"webhook_method", "POST"},
                                   {"webhook_filters", json::array({"onMessageAdded"})}});

  x.auto_creation.type = "studio";
  x.auto_creation.studio_flow_sid = "FW00000000000000000000000000000001";
  x.auto_creation.studio_retry_count = 2;
  CHECK(to_json(x, ctx)["auto_creation"] == json{{"enabled", true},
                                                 {"type", "studio"},
                                                 {"conversation_service_sid", "IS00000000000000000000000000000001"},
                                                 {"studio_flow_sid", "FW00000000000000000000000000000001"},
                                                 {"studio_retry_count", 2}});
}
