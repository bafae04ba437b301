// The carrier simulator (`switchboard carrier`) as the real binary: Twilio's
// Messages API with signed status callbacks in order, its validation, and
// injected inbound messages posted as Twilio's signed webhook, and the files
// it hosts for MediaUrl. A local receiver plays both the StatusCallback
// target and the inbound endpoint.

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "checks.hpp"
#include "model/sid.hpp"
#include "model/signature.hpp"
#include "receiver.hpp"
#include "server_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using sbtest::param;
using sbtest::received;
using sbtest::receiver;

const std::string account_sid = "AC0123456789abcdef0123456789abcdef";
const std::string auth_token = "carrier-test-token";
const std::string other_sid = "ACfedcba9876543210fedcba9876543210";
const std::string other_token = "other-token";
const std::string unreachable = "+15550009999";

// Answers 500 to an inbound message whose Body is "please fail", 200 to the rest.
std::pair<unsigned, std::string> answer(const received& r) {
  if (param(r, "Body") == "please fail")
    return {500, R"({"error":"refused"})"};
  return {200, "<Response></Response>"};
}

std::vector<std::string> carrier_args(const std::string& inbound_url, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"carrier", "--port", "0", "--account", account_sid + ":" + auth_token,
                                "--account", other_sid + ":" + other_token, "--undeliverable", unreachable};
  if (!inbound_url.empty()) {
    args.push_back("--inbound-url");
    args.push_back(inbound_url);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// A receiver and a carrier posting inbound messages to it.
struct carrier_setup {
  explicit carrier_setup(std::vector<std::string> extra = {})
      : hooks(answer), carrier(carrier_args(hooks.url("/inbound"), std::move(extra))),
        api(carrier.port(), account_sid, auth_token) {}

  const std::string messages = "/2010-04-01/Accounts/" + account_sid + "/Messages.json";
  receiver hooks;
  sbtest::ready_process carrier;
  sbtest::api_client api;

  std::string message_path(const std::string& sid) const {
    return "/2010-04-01/Accounts/" + account_sid + "/Messages/" + sid + ".json";
  }

  std::size_t listed() {
    auto r = api.get(messages);
    REQUIRE(r.status == 200);
    return r.json()["messages"].size();
  }

  // The first `n` callbacks for message `sid`, in arrival order.
  std::vector<received> callbacks(const std::string& sid, std::size_t n) {
    auto mine = [&](const std::vector<received>& seen) {
      std::vector<received> out;
      for (auto& r : seen)
        if (param(r, "MessageSid") == sid && r.target.rfind("/status", 0) == 0)
          out.push_back(r);
      return out;
    };
    bool arrived = hooks.wait_for([&](const std::vector<received>& seen) { return mine(seen).size() >= n; });
    auto out = mine(hooks.seen());
    INFO("callbacks for " << sid << ": " << out.size());
    REQUIRE(arrived);
    out.resize(n);
    return out;
  }
};

std::vector<std::string> statuses_of(const std::vector<received>& callbacks) {
  std::vector<std::string> out;
  for (auto& r : callbacks)
    out.push_back(param(r, "MessageStatus"));
  return out;
}

// The request carries Twilio's signature over `url` and its parameters.
void signed_for(const received& r, const std::string& token, const std::string& url) {
  INFO(r.target);
  CHECK(!r.signature.empty());
  CHECK(r.signature == sb::model::twilio_signature(token, url, r.params.pairs()));
}

bool is_rfc2822(const nlohmann::json& v) {
  // "Thu, 30 Jul 2015 20:12:31 +0000"
  if (!v.is_string())
    return false;
  auto s = v.get<std::string>();
  return s.size() == 31 && s[3] == ',' && s.substr(25) == " +0000";
}

} // namespace

TEST_CASE("carrier: an SMS gets 201, then signed sent and delivered callbacks in order", "[carrier]") {
  carrier_setup c;
  auto callback_url = c.hooks.url("/status?case=sms");
  auto r = c.api.post(c.messages, {{"From", "+15550001111"},
                                   {"To", "+15550002222"},
                                   {"Body", "hello"},
                                   {"StatusCallback", callback_url},
                                   {"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"}});
  auto m = sbtest::ok(r, 201);
  std::string sid = m["sid"];
  CHECK(sb::model::is_sid(sid, "SM"));
  CHECK(m["account_sid"] == account_sid);
  CHECK(m["from"] == "+15550001111");
  CHECK(m["to"] == "+15550002222");
  CHECK(m["body"] == "hello");
  CHECK(m["status"] == "queued");
  CHECK(m["num_media"] == "0");
  CHECK(m["num_segments"] == "1");
  CHECK(m["direction"] == "outbound-api");
  CHECK(m["api_version"] == "2010-04-01");
  CHECK(m["error_code"].is_null());
  CHECK(m["error_message"].is_null());
  CHECK(m["price"].is_null());
  CHECK(m["messaging_service_sid"] == "MG0123456789abcdef0123456789abcdef");
  CHECK(is_rfc2822(m["date_created"]));
  CHECK(is_rfc2822(m["date_updated"]));
  CHECK(m["uri"] == "/2010-04-01/Accounts/" + account_sid + "/Messages/" + sid + ".json");
  CHECK(m["subresource_uris"]["media"] == "/2010-04-01/Accounts/" + account_sid + "/Messages/" + sid + "/Media.json");

  auto cbs = c.callbacks(sid, 2);
  CHECK(statuses_of(cbs) == std::vector<std::string>{"sent", "delivered"});
  for (auto& cb : cbs) {
    signed_for(cb, auth_token, callback_url);
    CHECK(cb.target == "/status?case=sms");
    CHECK(param(cb, "SmsSid") == sid);
    CHECK(param(cb, "SmsStatus") == param(cb, "MessageStatus"));
    CHECK(param(cb, "AccountSid") == account_sid);
    CHECK(param(cb, "From") == "+15550001111");
    CHECK(param(cb, "To") == "+15550002222");
    CHECK(param(cb, "ApiVersion") == "2010-04-01");
    CHECK(!cb.params.has("ErrorCode"));
  }

  // The record follows the callbacks: by the time "delivered" arrived it was recorded.
  auto f = sbtest::ok(c.api.get(c.message_path(sid)));
  CHECK(f["status"] == "delivered");
  CHECK(f["statuses"] == nlohmann::json::array({"sent", "delivered"}));
  CHECK(f["status_callback"] == callback_url);
  CHECK(is_rfc2822(f["date_sent"]));

  auto list = sbtest::ok(c.api.get(c.messages));
  REQUIRE(list["messages"].size() == 1);
  CHECK(list["messages"][0]["sid"] == sid);
  CHECK(list["page"] == 0);
  CHECK(list["page_size"] == 50);
  CHECK(list["start"] == 0);
  CHECK(list["next_page_uri"].is_null());
  CHECK(list["previous_page_uri"].is_null());
  CHECK(list["uri"].get<std::string>().rfind(c.messages + "?", 0) == 0);
  CHECK(list["first_page_uri"].is_string());
}

TEST_CASE("carrier: WhatsApp adds read; an undeliverable number ends undelivered with 30003", "[carrier]") {
  carrier_setup c;
  auto callback_url = c.hooks.url("/status");

  auto wa = sbtest::ok(c.api.post(c.messages, {{"From", "whatsapp:+15550001111"},
                                               {"To", "whatsapp:+15550003333"},
                                               {"Body", "hi on whatsapp"},
                                               {"StatusCallback", callback_url}}),
                       201);
  auto wa_cbs = c.callbacks(wa["sid"], 3);
  CHECK(statuses_of(wa_cbs) == std::vector<std::string>{"sent", "delivered", "read"});
  for (auto& cb : wa_cbs) {
    signed_for(cb, auth_token, callback_url);
    CHECK(param(cb, "To") == "whatsapp:+15550003333");
  }

  auto lost = sbtest::ok(c.api.post(c.messages, {{"From", "+15550001111"},
                                                 {"To", unreachable},
                                                 {"Body", "nobody home"},
                                                 {"StatusCallback", callback_url}}),
                         201);
  auto lost_cbs = c.callbacks(lost["sid"], 2);
  CHECK(statuses_of(lost_cbs) == std::vector<std::string>{"sent", "undelivered"});
  CHECK(!lost_cbs[0].params.has("ErrorCode"));
  CHECK(param(lost_cbs[1], "ErrorCode") == "30003");
  for (auto& cb : lost_cbs)
    signed_for(cb, auth_token, callback_url);
  auto f = sbtest::ok(c.api.get(c.message_path(lost["sid"])));
  CHECK(f["status"] == "undelivered");
  CHECK(f["error_code"] == 30003);
  CHECK(f["statuses"] == nlohmann::json::array({"sent", "undelivered"}));

  // Newest first, and filters by To and From.
  auto list = sbtest::ok(c.api.get(c.messages));
  REQUIRE(list["messages"].size() == 2);
  CHECK(list["messages"][0]["sid"] == lost["sid"]);
  CHECK(list["messages"][1]["sid"] == wa["sid"]);
  auto to = sbtest::ok(c.api.get(c.messages, {{"To", "whatsapp:+15550003333"}}));
  REQUIRE(to["messages"].size() == 1);
  CHECK(to["messages"][0]["sid"] == wa["sid"]);
  CHECK(sbtest::ok(c.api.get(c.messages, {{"From", "+15550001111"}}))["messages"].size() == 1);
  auto paged = sbtest::ok(c.api.get(c.messages, {{"PageSize", "1"}}));
  CHECK(paged["messages"].size() == 1);
  CHECK(paged["page_size"] == 1);
  CHECK(paged["next_page_uri"].is_string());
}

TEST_CASE("carrier: wrong credentials get 401 and record nothing", "[carrier]") {
  carrier_setup c;
  auto before = c.listed();
  sbtest::form msg{{"From", "+15550001111"}, {"To", "+15550002222"}, {"Body", "x"}};

  sbtest::api_client wrong{c.carrier.port(), account_sid, "not-the-token"};
  sbtest::error_is(wrong.post(c.messages, msg), 401, 20003);
  sbtest::error_is(wrong.get(c.messages), 401, 20003);

  // A configured account, but not the one in the path.
  sbtest::api_client other{c.carrier.port(), other_sid, other_token};
  sbtest::error_is(other.post(c.messages, msg), 401, 20003);

  sbtest::error_is(c.api.raw(boost::beast::http::verb::post, c.messages, sbtest::encode_form(msg),
                             {{"Content-Type", "application/x-www-form-urlencoded"}}),
                   401, 20003);
  CHECK(c.listed() == before);
  // The other account sees only its own messages.
  auto own = "/2010-04-01/Accounts/" + other_sid + "/Messages.json";
  auto created = sbtest::ok(other.post(own, msg), 201);
  CHECK(sbtest::ok(other.get(own))["messages"].size() == 1);
  CHECK(c.listed() == before);
  sbtest::error_is(c.api.get(c.message_path(created["sid"])), 404, 20404);
}

TEST_CASE("carrier: invalid messages get Twilio's 400 and record nothing", "[carrier]") {
  carrier_setup c;
  std::string e_acute = "\xc3\xa9";
  std::string at_limit, over_limit;
  for (int i = 0; i < 1600; ++i)
    at_limit += e_acute;
  over_limit = at_limit + e_acute;

  struct bad_case {
    const char* what;
    sbtest::form params;
    int code;
  };
  std::vector<bad_case> cases{
    {"no To", {{"From", "+15550001111"}, {"Body", "x"}}, 21604},
    {"no From", {{"To", "+15550002222"}, {"Body", "x"}}, 21603},
    {"To not E.164", {{"From", "+15550001111"}, {"To", "5550002222"}, {"Body", "x"}}, 21211},
    {"To too short", {{"From", "+15550001111"}, {"To", "+1234567"}, {"Body", "x"}}, 21211},
    {"To too long", {{"From", "+15550001111"}, {"To", "+1234567890123456"}, {"Body", "x"}}, 21211},
    {"From not E.164", {{"From", "+1555abc1111"}, {"To", "+15550002222"}, {"Body", "x"}}, 21212},
    {"mixed channels", {{"From", "whatsapp:+15550001111"}, {"To", "+15550002222"}, {"Body", "x"}}, 21910},
    {"no Body nor MediaUrl", {{"From", "+15550001111"}, {"To", "+15550002222"}}, 21602},
    {"Body over 1600 code points", {{"From", "+15550001111"}, {"To", "+15550002222"}, {"Body", over_limit}}, 21617},
    {"bad MediaUrl", {{"From", "+15550001111"}, {"To", "+15550002222"}, {"MediaUrl", "ftp://x/y.png"}}, 21620},
    {"bad StatusCallback",
     {{"From", "+15550001111"}, {"To", "+15550002222"}, {"Body", "x"}, {"StatusCallback", "nope"}},
     21609},
  };
  for (auto& bc : cases) {
    INFO(bc.what);
    sbtest::error_is(c.api.post(c.messages, bc.params), 400, bc.code);
  }
  CHECK(c.listed() == 0);

  // 1600 code points (3200 bytes) is allowed: 11 segments of 153.
  auto ok = sbtest::ok(
    c.api.post(c.messages, {{"From", "+15550001111"}, {"To", "+15550002222"}, {"Body", at_limit}}), 201);
  CHECK(ok["num_segments"] == "11");
  // Media alone is a message: an MM SID, its URLs kept.
  auto mm = sbtest::ok(c.api.post(c.messages, {{"From", "+15550001111"},
                                               {"To", "+15550002222"},
                                               {"MediaUrl", "https://example.com/a.png"},
                                               {"MediaUrl", "https://example.com/b.jpg"}}),
                       201);
  CHECK(sb::model::is_sid(mm["sid"].get<std::string>(), "MM"));
  CHECK(mm["num_media"] == "2");
  CHECK(mm["media_urls"] == nlohmann::json::array({"https://example.com/a.png", "https://example.com/b.jpg"}));
  CHECK(c.listed() == 2);
}

TEST_CASE("carrier: /sim/inbound posts Twilio's signed incoming-message form and relays the answer",
          "[carrier]") {
  carrier_setup c;
  auto inbound_url = c.hooks.url("/inbound");

  SECTION("SMS with media") {
    auto r = sbtest::ok(c.api.post("/sim/inbound", {{"From", "+15550004444"},
                                                   {"To", "+15550001111"},
                                                   {"Body", "a photo"},
                                                   {"MediaUrl", "https://example.com/1.jpg"},
                                                   {"MediaContentType", "image/jpeg"},
                                                   {"MediaUrl", "https://example.com/2.png"},
                                                   {"MediaContentType", "image/png"}}));
    std::string sid = r["message_sid"];
    CHECK(sb::model::is_sid(sid, "MM"));
    CHECK(r["status"] == 200);
    CHECK(r["body"] == "<Response></Response>");
    auto seen = c.hooks.seen();
    REQUIRE(seen.size() == 1);
    auto& in = seen[0];
    CHECK(in.target == "/inbound");
    signed_for(in, auth_token, inbound_url);
    CHECK(param(in, "MessageSid") == sid);
    CHECK(param(in, "SmsSid") == sid);
    CHECK(param(in, "SmsMessageSid") == sid);
    CHECK(param(in, "AccountSid") == account_sid);
    CHECK(param(in, "From") == "+15550004444");
    CHECK(param(in, "To") == "+15550001111");
    CHECK(param(in, "Body") == "a photo");
    CHECK(param(in, "NumMedia") == "2");
    CHECK(param(in, "NumSegments") == "1");
    CHECK(param(in, "MediaUrl0") == "https://example.com/1.jpg");
    CHECK(param(in, "MediaContentType0") == "image/jpeg");
    CHECK(param(in, "MediaUrl1") == "https://example.com/2.png");
    CHECK(param(in, "MediaContentType1") == "image/png");
    CHECK(param(in, "ApiVersion") == "2010-04-01");
    CHECK(param(in, "SmsStatus") == "received");
    CHECK(!in.params.has("WaId"));
    CHECK(!in.params.has("ProfileName"));
  }

  SECTION("WhatsApp, for another account") {
    auto r = sbtest::ok(c.api.post("/sim/inbound", {{"From", "whatsapp:+15550004444"},
                                                   {"To", "whatsapp:+15550001111"},
                                                   {"Body", "hola"},
                                                   {"AccountSid", other_sid}}));
    CHECK(sb::model::is_sid(r["message_sid"].get<std::string>(), "SM"));
    auto seen = c.hooks.seen();
    REQUIRE(seen.size() == 1);
    auto& in = seen[0];
    signed_for(in, other_token, inbound_url);
    CHECK(param(in, "AccountSid") == other_sid);
    CHECK(param(in, "WaId") == "15550004444");
    CHECK(param(in, "ProfileName") == "Customer");
    CHECK(param(in, "NumMedia") == "0");
    CHECK(!in.params.has("MediaUrl0"));

    sbtest::ok(c.api.post("/sim/inbound", {{"From", "whatsapp:+15550004444"},
                                          {"To", "whatsapp:+15550001111"},
                                          {"Body", "again"},
                                          {"ProfileName", "Ana"}}));
    seen = c.hooks.seen();
    REQUIRE(seen.size() == 2);
    CHECK(param(seen[1], "ProfileName") == "Ana");
    signed_for(seen[1], auth_token, inbound_url);
  }

  SECTION("a failing target gives 502 with its status and body") {
    auto r = c.api.post("/sim/inbound", {{"From", "+15550004444"}, {"To", "+15550001111"}, {"Body", "please fail"}});
    auto j = sbtest::ok(r, 502);
    CHECK(j["status"] == 500);
    CHECK(j["body"] == R"({"error":"refused"})");
    CHECK(sb::model::is_sid(j["message_sid"].get<std::string>(), "SM"));
  }

  SECTION("invalid injections are refused") {
    sbtest::error_is(c.api.post("/sim/inbound", {{"To", "+15550001111"}, {"Body", "x"}}), 400, 21603);
    sbtest::error_is(c.api.post("/sim/inbound", {{"From", "+15550004444"}, {"To", "+1"}, {"Body", "x"}}), 400,
                     21211);
    sbtest::error_is(c.api.post("/sim/inbound", {{"From", "+15550004444"},
                                                {"To", "+15550001111"},
                                                {"AccountSid", "AC00000000000000000000000000000000"}}),
                     400, 20001);
    CHECK(c.hooks.seen().empty());
  }
}

TEST_CASE("carrier: /sim/inbound without a reachable target", "[carrier]") {
  SECTION("no --inbound-url") {
    sbtest::ready_process carrier{carrier_args("")};
    sbtest::api_client api{carrier.port(), account_sid, auth_token};
    sbtest::error_is(api.post("/sim/inbound", {{"From", "+15550004444"}, {"To", "+15550001111"}}), 400, 20001);
  }
  SECTION("a target that refuses connections") {
    std::string dead_url;
    {
      receiver gone{answer};
      dead_url = gone.url("/inbound");
    }
    sbtest::ready_process carrier{carrier_args(dead_url)};
    sbtest::api_client api{carrier.port(), account_sid, auth_token};
    auto j = sbtest::ok(api.post("/sim/inbound", {{"From", "+15550004444"}, {"To", "+15550001111"}, {"Body", "x"}}),
                        502);
    CHECK(j["status"] == 0);
    CHECK(j["error"].is_string());
    CHECK(!j["error"].get<std::string>().empty());
  }
}

TEST_CASE("carrier: /sim/Messages/{Sid}/Status sends one more callback after the pending ones", "[carrier]") {
  carrier_setup c;
  auto callback_url = c.hooks.url("/status");
  auto m = sbtest::ok(c.api.post(c.messages, {{"From", "+15550001111"},
                                              {"To", "+15550002222"},
                                              {"Body", "late failure"},
                                              {"StatusCallback", callback_url}}),
                      201);
  std::string sid = m["sid"];
  // Queued behind sent and delivered, whether or not they went out yet.
  auto r = sbtest::ok(c.api.post("/sim/Messages/" + sid + "/Status", {{"MessageStatus", "failed"}, {"ErrorCode", "30007"}}));
  CHECK(r["sid"] == sid);
  CHECK(r["status"] == "failed");
  CHECK(r["callback_status"] == 200);
  auto cbs = c.callbacks(sid, 3);
  CHECK(statuses_of(cbs) == std::vector<std::string>{"sent", "delivered", "failed"});
  CHECK(param(cbs[2], "ErrorCode") == "30007");
  signed_for(cbs[2], auth_token, callback_url);
  auto f = sbtest::ok(c.api.get(c.message_path(sid)));
  CHECK(f["status"] == "failed");
  CHECK(f["error_code"] == 30007);
  CHECK(f["statuses"] == nlohmann::json::array({"sent", "delivered", "failed"}));

  sbtest::error_is(c.api.post("/sim/Messages/SM00000000000000000000000000000000/Status", {{"MessageStatus", "sent"}}),
                   404, 20404);
  sbtest::error_is(c.api.post("/sim/Messages/" + sid + "/Status", {{"MessageStatus", "lost"}}), 400, 20001);
  sbtest::error_is(c.api.post("/sim/Messages/" + sid + "/Status", {}), 400, 20001);

  // Without a StatusCallback the status is recorded and callback_status is 0.
  auto quiet = sbtest::ok(
    c.api.post(c.messages, {{"From", "+15550001111"}, {"To", "+15550002222"}, {"Body", "no callback"}}), 201);
  auto q = sbtest::ok(c.api.post("/sim/Messages/" + quiet["sid"].get<std::string>() + "/Status",
                                 {{"MessageStatus", "read"}}));
  CHECK(q["callback_status"] == 0);
  auto qf = sbtest::ok(c.api.get(c.message_path(quiet["sid"])));
  CHECK(qf["statuses"] == nlohmann::json::array({"sent", "delivered", "read"}));
}

TEST_CASE("carrier: --status-delay-ms paces the automatic callbacks", "[carrier]") {
  carrier_setup c{{"--status-delay-ms", "250"}};
  auto start = std::chrono::steady_clock::now();
  auto m = sbtest::ok(c.api.post(c.messages, {{"From", "+15550001111"},
                                              {"To", "+15550002222"},
                                              {"Body", "slowly"},
                                              {"StatusCallback", c.hooks.url("/status")}}),
                      201);
  CHECK(m["status"] == "queued");
  auto cbs = c.callbacks(m["sid"], 2);
  // Two timers of 250 ms ran one after the other before "delivered" arrived.
  CHECK(std::chrono::steady_clock::now() - start >= 500ms);
  CHECK(statuses_of(cbs) == std::vector<std::string>{"sent", "delivered"});
}

TEST_CASE("carrier: health, unknown routes, options and a clean exit on SIGTERM", "[carrier]") {
  carrier_setup c;
  auto h = sbtest::ok(c.api.get("/healthz"));
  CHECK(h["status"] == "ok");
  sbtest::error_is(c.api.get("/nowhere"), 404, 20404);
  sbtest::error_is(c.api.get("/2010-04-01/Accounts/" + account_sid + "/Calls.json"), 404, 20404);
  sbtest::error_is(c.api.get("/sim/inbound"), 405, 20004);

  auto no_account = sbtest::run_to_exit({"carrier", "--port", "0"});
  CHECK(no_account.exited);
  CHECK(no_account.code == 2);
  auto bad_account = sbtest::run_to_exit({"carrier", "--account", "AC12:tok"});
  CHECK(bad_account.code == 2);
  auto help = sbtest::run_to_exit({"carrier", "--help"});
  CHECK(help.code == 0);
  CHECK(help.output.find("--inbound-url") != std::string::npos);
  CHECK(help.output.find("/sim/files/{name}") != std::string::npos);
  CHECK(help.output.find("/sim/redirect/{name}") != std::string::npos);

  auto status = c.carrier.terminate(10s);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("carrier: /sim/files keeps and serves files; /sim/redirect points at them", "[carrier]") {
  using boost::beast::http::verb;
  sbtest::ready_process carrier(carrier_args(""));
  sbtest::http_connection conn(carrier.port());
  const std::string png("PNG\0\x01\xffDATA", 10);

  // No credentials needed: PUT keeps the body and its Content-Type.
  auto put = conn.send(verb::put, "/sim/files/cat.png", png, {{"Content-Type", "image/png"}});
  REQUIRE(put.status == 201);
  auto j = put.json();
  CHECK(j["name"] == "cat.png");
  CHECK(j["size"] == 10);
  CHECK(j["content_type"] == "image/png");
  CHECK(j["url"] == "/sim/files/cat.png");
  auto got = conn.send(verb::get, "/sim/files/cat.png", {}, {});
  CHECK(got.status == 200);
  CHECK(got.header("content-type") == "image/png");
  CHECK(got.body == png);

  // A second PUT replaces it (200); one without Content-Type is served without one.
  put = conn.send(verb::put, "/sim/files/cat.png", "GIF89a", {{"Content-Type", "image/gif"}});
  CHECK(put.status == 200);
  got = conn.send(verb::get, "/sim/files/cat.png", {}, {});
  CHECK(got.header("content-type") == "image/gif");
  CHECK(got.body == "GIF89a");
  put = conn.send(verb::put, "/sim/files/raw", "bytes", {});
  CHECK(put.status == 201);
  CHECK(put.json()["content_type"].is_null());
  got = conn.send(verb::get, "/sim/files/raw", {}, {});
  CHECK(got.status == 200);
  CHECK_FALSE(got.has_header("content-type"));
  CHECK(got.body == "bytes");

  // Larger than the carrier's 1 MiB for other requests.
  const std::string big(3 * 1024 * 1024 + 7, 'b');
  put = conn.send(verb::put, "/sim/files/big.bin", big, {{"Content-Type", "application/octet-stream"}});
  CHECK(put.status == 201);
  got = conn.send(verb::get, "/sim/files/big.bin", {}, {});
  CHECK(got.body.size() == big.size());
  CHECK(got.body == big);

  // Absent files, other methods.
  sbtest::error_is(conn.send(verb::get, "/sim/files/absent.png", {}, {}), 404, 20404);
  auto del = conn.send(verb::delete_, "/sim/files/cat.png", {}, {});
  CHECK(del.status == 405);
  CHECK(del.header("allow") == "GET, PUT");

  // The redirect is relative, whether or not the file exists.
  auto moved = conn.send(verb::get, "/sim/redirect/cat.png", {}, {});
  CHECK(moved.status == 302);
  CHECK(moved.header("location") == "/sim/files/cat.png");
  CHECK(moved.body.empty());
  moved = conn.send(verb::get, "/sim/redirect/absent.png", {}, {});
  CHECK(moved.status == 302);
  CHECK(moved.header("location") == "/sim/files/absent.png");
  CHECK(conn.send(verb::post, "/sim/redirect/cat.png", {}, {}).status == 405);
}
