// The messaging edge end to end over loopback: the real server, the carrier
// simulator (`switchboard carrier`) playing the phone network, and a real
// webhook receiver that checks signatures the way the official library's
// validateRequest does. Inbound messages with auto-creation, outbound sends
// with delivery receipts, and the refusals that create nothing.

#include "receiver.hpp"
#include "checks.hpp"
#include "server_fixture.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

#include "model/signature.hpp"

namespace {

using namespace sbtest;
using nlohmann::json;

const std::string account = "AC" + std::string("0123456789abcdef0123456789abcdef");
const std::string token = "edge-test-token";
const std::string C = "/v1/Conversations";
const std::string our_number = "+15550001111";

// The carrier simulator with the server's account.
struct carrier {
  ready_process proc;
  api_client api;
  explicit carrier(std::vector<std::string> extra = {})
      : proc(args(std::move(extra))), api(proc.port(), account, token) {}
  static std::vector<std::string> args(std::vector<std::string> extra) {
    std::vector<std::string> a{"carrier", "--port", "0", "--listen", "127.0.0.1", "--account", account + ":" + token};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::string gateway() const {
    return "http://127.0.0.1:" + std::to_string(proc.port()) + "/2010-04-01/Accounts/{AccountSid}/Messages.json";
  }
  json messages() { return ok(api.get("/2010-04-01/Accounts/" + account + "/Messages.json"))["messages"]; }
};

std::vector<std::string> server_args(const carrier& c) {
  return {"--account-sid", account, "--auth-token", token, "--gateway", "sms=" + c.gateway(),
          "--gateway", "whatsapp=" + c.gateway()};
}

std::string inbound_url(const server_process& s) { return "http://127.0.0.1:" + std::to_string(s.port()) + "/edge/inbound"; }

// The carrier sends an inbound message to the server; its answer.
http_result send_inbound(carrier& c, const server_process& s, const std::string& from, const std::string& to,
                         const std::string& body, form extra = {}) {
  form f{{"Url", inbound_url(s)}, {"From", from}, {"To", to}, {"Body", body}};
  f.insert(f.end(), extra.begin(), extra.end());
  return c.api.post("/sim/inbound", f);
}

// The receiver's requests with this EventType, in arrival order.
std::vector<received> events(receiver& r, const std::string& type) {
  std::vector<received> out;
  for (auto& x : r.seen())
    if (x.params.get("EventType").value_or("") == type)
      out.push_back(x);
  return out;
}

bool signed_by_token(const receiver& r, const received& x, const std::string& path) {
  return x.signature == sb::model::twilio_signature(token, r.url(path), x.params.pairs());
}

std::size_t conversations(api_client& api) { return ok(api.get(C, {{"PageSize", "1000"}}))["conversations"].size(); }

// The receipts of a message, once pred holds for them (or what they were at the deadline).
json receipts_when(api_client& api, const std::string& ch, const std::string& im, std::function<bool(const json&)> pred) {
  json last;
  eventually(
    [&] {
      last = ok(api.get(C + "/" + ch + "/Messages/" + im + "/Receipts"))["delivery_receipts"];
      return pred(last);
    },
    15s);
  return last;
}

json receipt_of(const json& receipts, const std::string& participant) {
  for (auto& r : receipts)
    if (r["participant_sid"] == participant)
      return r;
  return json();
}

} // namespace

TEST_CASE("edge: an inbound SMS auto-creates a conversation; its webhooks arrive signed and in order",
          "[api][edge]") {
  receiver hooks([](const received&) { return std::pair<unsigned, std::string>{200, ""}; });
  carrier sim;
  server_process srv(server_args(sim));
  api_client api(srv.port(), account, token);

  ok(api.post("/v1/Configuration/Addresses",
              {{"Type", "sms"},
               {"Address", our_number},
               {"AutoCreation.Enabled", "true"},
               {"AutoCreation.Type", "webhook"},
               {"AutoCreation.WebhookUrl", hooks.url("/cv")},
               {"AutoCreation.WebhookMethod", "POST"},
               {"AutoCreation.WebhookFilters", "onParticipantAdded"},
               {"AutoCreation.WebhookFilters", "onMessageAdded"}}),
     201);

  auto first = send_inbound(sim, srv, "+15551230001", our_number, "Hi, my order is late");
  INFO(first.body);
  REQUIRE(first.status == 200);
  CHECK(first.json()["status"] == 200);
  CHECK(first.json()["body"].get<std::string>().find("<Response>") != std::string::npos);

  // One conversation, with the sender as SMS participant and the message.
  auto list = ok(api.get(C))["conversations"];
  REQUIRE(list.size() == 1);
  std::string ch = list[0]["sid"];
  auto parts = ok(api.get(C + "/" + ch + "/Participants"))["participants"];
  REQUIRE(parts.size() == 1);
  CHECK(parts[0]["messaging_binding"]["address"] == "+15551230001");
  CHECK(parts[0]["messaging_binding"]["proxy_address"] == our_number);
  CHECK(parts[0]["messaging_binding"]["type"] == "sms");
  auto msgs = ok(api.get(C + "/" + ch + "/Messages"))["messages"];
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0]["index"] == 0);
  CHECK(msgs[0]["author"] == "+15551230001");
  CHECK(msgs[0]["body"] == "Hi, my order is late");
  CHECK(msgs[0]["participant_sid"] == parts[0]["sid"]);
  // The address configuration's webhook is the conversation's scoped webhook.
  auto scoped = ok(api.get(C + "/" + ch + "/Webhooks"))["webhooks"];
  REQUIRE(scoped.size() == 1);
  CHECK(scoped[0]["target"] == "webhook");
  CHECK(scoped[0]["configuration"]["url"] == hooks.url("/cv"));

  // onParticipantAdded, then onMessageAdded: signed, in order, from SMS.
  REQUIRE(hooks.wait_for([](auto& seen) { return seen.size() >= 2; }));
  auto seen = hooks.seen();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].params.get("EventType") == "onParticipantAdded");
  CHECK(seen[1].params.get("EventType") == "onMessageAdded");
  for (auto& x : seen) {
    CHECK(signed_by_token(hooks, x, "/cv"));
    CHECK(x.params.get("ConversationSid") == ch);
    CHECK(x.params.get("Source") == "SMS");
  }
  CHECK(seen[0].params.get("MessagingBinding.Address") == "+15551230001");
  CHECK(seen[1].params.get("Body") == "Hi, my order is late");
  CHECK(seen[1].params.get("Author") == "+15551230001");

  // The next message from that handset goes to the same conversation.
  REQUIRE(send_inbound(sim, srv, "+15551230001", our_number, "Order 1234").status == 200);
  CHECK(conversations(api) == 1);
  msgs = ok(api.get(C + "/" + ch + "/Messages"))["messages"];
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[1]["index"] == 1);
  CHECK(msgs[1]["body"] == "Order 1234");
  REQUIRE(hooks.wait_for([](auto& seen) { return seen.size() >= 3; }));
  CHECK(hooks.seen()[2].params.get("Body") == "Order 1234");
  // Nothing went back out to the customer who wrote it.
  CHECK(sim.messages().empty());

  // Once the conversation is closed, the handset's next message opens a new one.
  ok(api.post(C + "/" + ch, {{"State", "closed"}}));
  REQUIRE(send_inbound(sim, srv, "+15551230001", our_number, "Me again").status == 200);
  CHECK(conversations(api) == 2);

  // Media arrive as references to the carrier's URLs.
  REQUIRE(send_inbound(sim, srv, "+15551239999", our_number, "",
                       {{"MediaUrl", "https://media.example.com/photo.jpg"}, {"MediaContentType", "image/jpeg"}})
            .status == 200);
  CHECK(conversations(api) == 3);
}

TEST_CASE("edge: inbound messages that no address takes create nothing", "[api][edge]") {
  carrier sim;
  server_process srv(server_args(sim));
  api_client api(srv.port(), account, token);
  ok(api.post("/v1/Configuration/Addresses", {{"Type", "sms"}, {"Address", "+15550003333"},
                                              {"AutoCreation.Enabled", "false"}}),
     201);

  // No address configuration: 404 to the gateway, nothing created.
  auto none = send_inbound(sim, srv, "+15551230001", "+15550002222", "hello?");
  CHECK(none.status == 502);
  CHECK(none.json()["status"] == 404);
  // Auto-creation disabled: refused, nothing created.
  auto off = send_inbound(sim, srv, "+15551230001", "+15550003333", "hello?");
  CHECK(off.json()["status"] == 400);
  // From and To of different channels.
  auto mixed = send_inbound(sim, srv, "whatsapp:+15551230001", "+15550003333", "hello?");
  CHECK(mixed.json()["status"] == 400);
  CHECK(conversations(api) == 0);

  // A pre-action webhook that rejects the customer's message: refused, and
  // the conversation auto-created for it is gone again.
  receiver pre([](const received&) { return std::pair<unsigned, std::string>{403, ""}; });
  ok(api.post("/v1/Configuration/Addresses", {{"Type", "sms"}, {"Address", "+15550004444"},
                                              {"AutoCreation.Enabled", "true"}}),
     201);
  ok(api.post("/v1/Configuration/Webhooks", {{"PreWebhookUrl", pre.url("/pre")}, {"Filters", "onMessageAdd"}}));
  auto rejected = send_inbound(sim, srv, "+15551230001", "+15550004444", "spam");
  CHECK(rejected.json()["status"] == 403);
  REQUIRE(pre.seen().size() == 1);
  CHECK(pre.seen()[0].params.get("Source") == "SMS");
  CHECK(conversations(api) == 0);
  // ... and the binding is free again: once the hook is gone, the next message creates one.
  ok(api.post("/v1/Configuration/Webhooks", {{"PreWebhookUrl", ""}}));
  CHECK(send_inbound(sim, srv, "+15551230001", "+15550004444", "hello").json()["status"] == 200);
  CHECK(conversations(api) == 1);

  // The edge is signed: a wrong or missing signature is refused.
  http_connection raw(srv.port());
  form f{{"AccountSid", account}, {"From", "+15551230001"}, {"To", "+15550003333"}, {"Body", "x"}};
  auto bad = raw.send(boost::beast::http::verb::post, "/edge/inbound", encode_form(f),
                      {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", "AAAA"}});
  error_is(bad, 403, 20003);
  auto missing = raw.send(boost::beast::http::verb::post, "/edge/inbound", encode_form(f),
                          {{"Content-Type", "application/x-www-form-urlencoded"}});
  error_is(missing, 401, 20003);
  // Signed for another URL (a replay to a different endpoint) does not pass either.
  sb::model::form_pairs pairs(f.begin(), f.end());
  auto elsewhere = sb::model::twilio_signature(token, "http://127.0.0.1:1/edge/inbound", pairs);
  error_is(raw.send(boost::beast::http::verb::post, "/edge/inbound", encode_form(f),
                    {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Twilio-Signature", elsewhere}}),
           403, 20003);
  CHECK(conversations(api) == 1);
}

TEST_CASE("edge: outbound messages reach the carrier and receipts follow its status callbacks", "[api][edge]") {
  receiver hooks([](const received&) { return std::pair<unsigned, std::string>{200, ""}; });
  carrier sim({"--undeliverable", "+15550009999"});
  server_process srv(server_args(sim));
  api_client api(srv.port(), account, token);
  ok(api.post("/v1/Configuration/Webhooks", {{"PostWebhookUrl", hooks.url("/post")}, {"Filters", "onDeliveryUpdated"}}));

  std::string ch = ok(api.post(C, {{"FriendlyName", "Order 1234"}}), 201)["sid"];
  auto P = C + "/" + ch + "/Participants";
  ok(api.post(P, {{"Identity", "alice"}}), 201);
  std::string sms = ok(api.post(P, {{"MessagingBinding.Address", "+15551230001"},
                                    {"MessagingBinding.ProxyAddress", our_number}}),
                       201)["sid"];
  std::string wa = ok(api.post(P, {{"MessagingBinding.Address", "whatsapp:+15551230002"},
                                   {"MessagingBinding.ProxyAddress", "whatsapp:" + our_number}}),
                      201)["sid"];

  auto m = ok(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "Your order ships today"}}), 201);
  std::string im = m["sid"];

  // The carrier got one send per messaging participant, from our address.
  REQUIRE(eventually([&] { return sim.messages().size() == 2; }, 10s));
  auto sent = sim.messages();
  std::map<std::string, json> by_to;
  for (auto& x : sent)
    by_to[x["to"]] = x;
  REQUIRE(by_to.count("+15551230001"));
  REQUIRE(by_to.count("whatsapp:+15551230002"));
  CHECK(by_to["+15551230001"]["from"] == our_number);
  CHECK(by_to["+15551230001"]["body"] == "Your order ships today");
  CHECK(by_to["whatsapp:+15551230002"]["from"] == "whatsapp:" + our_number);

  // Receipts: SMS ends delivered, WhatsApp read; each names the carrier's SID.
  auto receipts = receipts_when(api, ch, im, [&](const json& rs) {
    return receipt_of(rs, sms)["status"] == "delivered" && receipt_of(rs, wa)["status"] == "read";
  });
  INFO(receipts.dump());
  CHECK(receipt_of(receipts, sms)["status"] == "delivered");
  CHECK(receipt_of(receipts, wa)["status"] == "read");
  CHECK(receipt_of(receipts, sms)["channel_message_sid"] == by_to["+15551230001"]["sid"]);
  CHECK(receipt_of(receipts, wa)["channel_message_sid"] == by_to["whatsapp:+15551230002"]["sid"]);
  std::string dy = receipt_of(receipts, sms)["sid"];
  CHECK(dy.rfind("DY", 0) == 0);
  CHECK(ok(api.get(C + "/" + ch + "/Messages/" + im + "/Receipts/" + dy))["status"] == "delivered");
  auto summary = ok(api.get(C + "/" + ch + "/Messages/" + im))["delivery"];
  CHECK(summary["total"] == 2);
  CHECK(summary["delivered"] == "all");
  CHECK(summary["read"] == "some");

  // onDeliveryUpdated followed each step, signed.
  REQUIRE(hooks.wait_for([&](auto& seen) {
    return std::count_if(seen.begin(), seen.end(), [&](auto& x) {
             return x.params.get("ParticipantSid") == wa && x.params.get("Status") == "read";
           }) == 1;
  }));
  auto updates = events(hooks, "onDeliveryUpdated");
  std::vector<std::string> sms_steps;
  for (auto& x : updates) {
    CHECK(signed_by_token(hooks, x, "/post"));
    CHECK(x.params.get("MessageSid") == im);
    if (x.params.get("ParticipantSid") == sms)
      sms_steps.push_back(x.params.get("Status").value_or(""));
  }
  CHECK(sms_steps == std::vector<std::string>{"sent", "delivered"});

  // A number the carrier cannot reach: undelivered, with the carrier's code.
  std::string gone = ok(api.post(P, {{"MessagingBinding.Address", "+15550009999"},
                                     {"MessagingBinding.ProxyAddress", our_number}}),
                        201)["sid"];
  std::string im2 = ok(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "Still there?"}}), 201)["sid"];
  auto r2 = receipts_when(api, ch, im2, [&](const json& rs) { return receipt_of(rs, gone)["status"] == "undelivered"; });
  CHECK(receipt_of(r2, gone)["status"] == "undelivered");
  CHECK(receipt_of(r2, gone)["error_code"] == 30003);

  // Over 1,600 characters cannot go to SMS or WhatsApp: refused, nothing added.
  auto before = ok(api.get(C + "/" + ch + "/Messages"))["messages"].size();
  error_is(api.post(C + "/" + ch + "/Messages", {{"Author", "alice"}, {"Body", std::string(1601, 'x')}}), 400, 21617);
  CHECK(ok(api.get(C + "/" + ch + "/Messages"))["messages"].size() == before);

  // A customer's reply goes out to the others, not back to its author.
  auto sends_before = sim.messages().size();
  REQUIRE(send_inbound(sim, srv, "+15551230001", our_number, "Thanks!").status == 200);
  REQUIRE(eventually([&] { return sim.messages().size() == sends_before + 2; }, 10s));
  auto after = sim.messages();
  for (auto& x : after)
    if (x["body"] == "Thanks!")
      CHECK(x["to"] != "+15551230001");
}

TEST_CASE("edge: a gateway that cannot be reached fails the receipt after its retries", "[api][edge]") {
  // Nothing listens on port 1.
  server_process srv({"--account-sid", account, "--auth-token", token, "--gateway",
                      "sms=http://127.0.0.1:1/2010-04-01/Accounts/{AccountSid}/Messages.json"});
  api_client api(srv.port(), account, token);
  std::string ch = ok(api.post(C), 201)["sid"];
  std::string mb = ok(api.post(C + "/" + ch + "/Participants", {{"MessagingBinding.Address", "+15551230001"},
                                                                {"MessagingBinding.ProxyAddress", our_number}}),
                      201)["sid"];
  // No gateway at all for WhatsApp: failed at once.
  std::string wa = ok(api.post(C + "/" + ch + "/Participants", {{"MessagingBinding.Address", "whatsapp:+15551230002"},
                                                                {"MessagingBinding.ProxyAddress", "whatsapp:" + our_number}}),
                      201)["sid"];
  std::string im = ok(api.post(C + "/" + ch + "/Messages", {{"Body", "hello"}}), 201)["sid"];
  auto rs = receipts_when(api, ch, im, [&](const json& rs) {
    return receipt_of(rs, mb)["status"] == "failed" && receipt_of(rs, wa)["status"] == "failed";
  });
  INFO(rs.dump());
  CHECK(receipt_of(rs, mb)["status"] == "failed");
  CHECK(receipt_of(rs, mb)["error_code"] == 30008);
  CHECK(receipt_of(rs, wa)["error_code"] == 30008);
}

TEST_CASE("edge: receipts and the bindings inbound messages follow survive a restart", "[api][edge]") {
  temp_dir dir;
  carrier sim;
  std::string ch, im, mb;
  {
    server_process srv(server_process::existing_dir{dir.path}, server_args(sim));
    api_client api(srv.port(), account, token);
    ch = ok(api.post(C), 201)["sid"];
    mb = ok(api.post(C + "/" + ch + "/Participants", {{"MessagingBinding.Address", "+15551230001"},
                                                      {"MessagingBinding.ProxyAddress", our_number}}),
            201)["sid"];
    im = ok(api.post(C + "/" + ch + "/Messages", {{"Body", "Your code is 1234"}}), 201)["sid"];
    auto rs = receipts_when(api, ch, im, [&](const json& rs) { return receipt_of(rs, mb)["status"] == "delivered"; });
    REQUIRE(receipt_of(rs, mb)["status"] == "delivered");
  }
  server_process srv(server_process::existing_dir{dir.path}, server_args(sim));
  api_client api(srv.port(), account, token);
  auto rs = ok(api.get(C + "/" + ch + "/Messages/" + im + "/Receipts"))["delivery_receipts"];
  CHECK(receipt_of(rs, mb)["status"] == "delivered");
  // The customer's reply finds the same conversation (no address configuration needed).
  REQUIRE(send_inbound(sim, srv, "+15551230001", our_number, "Thanks").status == 200);
  CHECK(conversations(api) == 1);
  auto msgs = ok(api.get(C + "/" + ch + "/Messages"))["messages"];
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[1]["author"] == "+15551230001");
}

TEST_CASE("edge: uploaded media go out as signed URLs the gateway can fetch; unknown or over-limit media are refused",
          "[api][edge][media]") {
  carrier sim;
  server_process srv(server_args(sim));
  api_client api(srv.port(), account, token);
  std::string is = ok(api.get("/v1/Configuration"))["default_chat_service_sid"];
  auto upload = [&](const std::string& content, const std::string& type) {
    return ok(api.raw(boost::beast::http::verb::post, "/v1/Services/" + is + "/Media?Filename=pic.png", content,
                      {{"Authorization", api.authorization()}, {"Content-Type", type}}),
              201)["sid"]
      .get<std::string>();
  };
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  auto me = upload(png, "image/png");

  std::string ch = ok(api.post(C), 201)["sid"];
  std::string mb = ok(api.post(C + "/" + ch + "/Participants", {{"MessagingBinding.Address", "+15551230001"},
                                                                {"MessagingBinding.ProxyAddress", our_number}}),
                      201)["sid"];
  auto m = ok(api.post(C + "/" + ch + "/Messages", {{"Body", "Your receipt"}, {"MediaSid", me}}), 201);
  REQUIRE(m["media"].size() == 1);
  CHECK(m["media"][0]["sid"] == me);
  CHECK(m["media"][0]["content_type"] == "image/png");
  CHECK(m["media"][0]["size"] == 16);
  // The media now belongs to the message.
  CHECK(eventually([&] {
    return ok(api.get("/v1/Services/" + is + "/Media/" + me))["message_sid"] == m["sid"];
  }));

  // The carrier got a MediaUrl it can fetch without credentials: the bytes come back.
  REQUIRE(eventually([&] { return sim.messages().size() == 1; }, 10s));
  auto urls = sim.messages()[0]["media_urls"];
  REQUIRE(urls.size() == 1);
  std::string url = urls[0];
  auto prefix = "http://127.0.0.1:" + std::to_string(srv.port());
  REQUIRE(url.rfind(prefix + "/edge/media/" + me + "?", 0) == 0);
  http_connection plain(srv.port());
  auto fetched = plain.send(boost::beast::http::verb::get, url.substr(prefix.size()), {}, {});
  CHECK(fetched.status == 200);
  CHECK(fetched.body == png);

  auto before = ok(api.get(C + "/" + ch + "/Messages"))["messages"].size();
  // Unknown media, media already sent, and WhatsApp's one-file limit: refused, nothing added.
  error_is(api.post(C + "/" + ch + "/Messages", {{"MediaSid", "ME" + std::string(32, '0')}}), 400, 50510);
  error_is(api.post(C + "/" + ch + "/Messages", {{"MediaSid", me}}), 400, 50508);
  ok(api.post(C + "/" + ch + "/Participants", {{"MessagingBinding.Address", "whatsapp:+15551230002"},
                                               {"MessagingBinding.ProxyAddress", "whatsapp:" + our_number}}),
     201);
  auto a = upload("one", "text/plain");
  auto b = upload("two", "text/plain");
  error_is(api.post(C + "/" + ch + "/Messages", {{"MediaSid", a}, {"MediaSid", b}}), 400, 21623);
  CHECK(ok(api.get(C + "/" + ch + "/Messages"))["messages"].size() == before);
  // One file is fine for both channels.
  ok(api.post(C + "/" + ch + "/Messages", {{"MediaSid", a}}), 201);
}

TEST_CASE("edge: inbound media are fetched from MediaUrl and kept as the message's media", "[api][edge][media]") {
  carrier sim;
  server_process srv(server_args(sim));
  api_client api(srv.port(), account, token);
  std::string is = ok(api.get("/v1/Configuration"))["default_chat_service_sid"];
  ok(api.post("/v1/Configuration/Addresses",
              {{"Type", "sms"}, {"Address", our_number}, {"AutoCreation.Enabled", "true"}}),
     201);
  // The carrier hosts the customer's photo behind a CDN-like redirect.
  std::string photo("\xff\xd8\xff\xe0 a photo of a broken parcel", 32);
  auto put = sim.api.raw(boost::beast::http::verb::put, "/sim/files/parcel.jpg", photo, {{"Content-Type", "image/jpeg"}});
  REQUIRE(put.status == 201);
  auto base = "http://127.0.0.1:" + std::to_string(sim.proc.port());
  auto in = send_inbound(sim, srv, "+15551230001", our_number, "see the photo",
                         {{"MediaUrl", base + "/sim/redirect/parcel.jpg"},
                          {"MediaContentType", "image/jpeg"},
                          {"MediaUrl", base + "/sim/files/missing.png"},
                          {"MediaContentType", "image/png"}});
  INFO(in.body);
  REQUIRE(in.json()["status"] == 200);

  auto list = ok(api.get(C))["conversations"];
  REQUIRE(list.size() == 1);
  std::string ch = list[0]["sid"];
  json media;
  // The message is acknowledged at once; its media fill in once downloaded.
  REQUIRE(eventually([&] {
    auto msgs = ok(api.get(C + "/" + ch + "/Messages"))["messages"];
    if (msgs.size() != 1 || msgs[0]["media"].size() != 2)
      return false;
    media = msgs[0]["media"];
    return media[0]["size"] == photo.size();
  }, 10s));
  std::string me = media[0]["sid"];
  CHECK(me.rfind("ME", 0) == 0);
  CHECK(media[0]["content_type"] == "image/jpeg");
  CHECK(media[0]["filename"] == "parcel.jpg");
  // A file the carrier does not have keeps its SID, with nothing stored.
  CHECK(media[1]["size"] == 0);
  CHECK(api.get("/v1/Services/" + is + "/Media/" + media[1]["sid"].get<std::string>()).status == 404);

  // The content is ours now, attached to the message like an upload.
  auto meta = ok(api.get("/v1/Services/" + is + "/Media/" + me));
  CHECK(meta["size"] == photo.size());
  CHECK(meta["channel_sid"] == ch);
  auto content = api.get("/v1/Services/" + is + "/Media/" + me + "/Content");
  CHECK(content.status == 200);
  CHECK(content.body == photo);
  CHECK(content.header("content-type") == "image/jpeg");
}
