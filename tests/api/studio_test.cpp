// Studio and the seed's flows end to end over loopback: the real server, the
// carrier simulator playing the phone network, and a local HTTP receiver.
// Flows are saved and validated; an inbound SMS on a studio address starts
// an execution that greets the customer and hands the conversation to Flex;
// a worker accepts, agent and customer talk (with an attachment), the flow
// hears no more of it, the agent wraps up and completes. A system-initiated
// reminder's reply enters the flow; a REST execution asks and waits for a
// reply; make-http-request calls a local receiver.

#include "receiver.hpp"
#include "checks.hpp"
#include "flex_support.hpp"
#include "server_fixture.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace sbtest;
using nlohmann::json;

const std::string account = "AC" + std::string("0123456789abcdef0123456789abcdef");
const std::string token = "studio-test-token";
const std::string our_number = "+15550001111";
const std::string customer = "+15557770000";

struct carrier {
  ready_process proc;
  api_client api;
  carrier()
      : proc({"carrier", "--port", "0", "--listen", "127.0.0.1", "--account", account + ":" + token}),
        api(proc.port(), account, token) {}
  std::string gateway() const {
    return "http://127.0.0.1:" + std::to_string(proc.port()) + "/2010-04-01/Accounts/{AccountSid}/Messages.json";
  }
  // Messages the server sent to `to`, oldest first.
  std::vector<std::string> bodies_to(const std::string& to) {
    auto page = ok(api.get("/2010-04-01/Accounts/" + account + "/Messages.json", {{"To", to}, {"PageSize", "100"}}));
    std::vector<std::string> out;
    for (auto& m : page["messages"])
      out.push_back(m["body"]);
    std::reverse(out.begin(), out.end()); // the 2010 API lists newest first
    return out;
  }
  http_result inbound(const server_process& s, const std::string& body, form extra = {}) {
    form f{{"Url", "http://127.0.0.1:" + std::to_string(s.port()) + "/edge/inbound"},
           {"From", customer},
           {"To", our_number},
           {"Body", body}};
    f.insert(f.end(), extra.begin(), extra.end());
    return api.post("/sim/inbound", f);
  }
};

std::vector<std::string> server_args(const carrier& c) {
  return {"--account-sid", account, "--auth-token", token, "--gateway", "sms=" + c.gateway()};
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Greets, then hands over to Flex with the customer's number and first words.
json greet_and_hand_over(const flex_setup& s, const std::string& trigger_event = "incomingConversationMessage") {
  return json{
    {"description", "inbound to flex"},
    {"initial_state", "Trigger"},
    {"states",
     {{{"name", "Trigger"}, {"type", "trigger"}, {"transitions", {{{"event", trigger_event}, {"next", "greet"}}}}, {"properties", json::object()}},
      {{"name", "greet"},
       {"type", "send-message"},
       {"transitions", {{{"event", "sent"}, {"next", "to_flex"}}, {{"event", "failed"}}}},
       {"properties", {{"body", "Hi {{trigger.conversation.From}}, an agent will be with you shortly"}}}},
      {{"name", "to_flex"},
       {"type", "send-to-flex"},
       {"transitions", {{{"event", "callComplete"}}, {{"event", "failedToEnqueue"}}, {{"event", "callFailure"}}}},
       {"properties",
        {{"workflow", s.workflow},
         {"channel", "sms"},
         {"attributes", R"({"name": "{{trigger.conversation.From}}", "topic": "{{trigger.conversation.Body | downcase}}"})"}}}}}}};
}

std::string flows_path = "/v2/Flows";

std::string create_flow(api_client& api, const json& def, const std::string& name = "flow") {
  return ok(api.post(flows_path, {{"FriendlyName", name}, {"Status", "published"}, {"Definition", def.dump()}}), 201)["sid"];
}

json executions(api_client& api, const std::string& fw) {
  return ok(api.get(flows_path + "/" + fw + "/Executions"))["executions"];
}

// The one task of the workspace, once there is one.
json only_task(api_client& api, const flex_setup& s) {
  json task;
  REQUIRE(eventually(
    [&] {
      auto page = ok(api.get(s.base() + "/Tasks"));
      if (page["tasks"].size() != 1)
        return false;
      task = page["tasks"][0];
      return true;
    },
    10s));
  return task;
}

std::vector<std::string> identities(api_client& api, const std::string& ch) {
  std::vector<std::string> out;
  auto page = ok(api.get("/v1/Conversations/" + ch + "/Participants"));
  for (auto& p : page["participants"])
    out.push_back(p["identity"].is_string() ? p["identity"].get<std::string>() : std::string());
  return out;
}

std::vector<std::string> message_bodies(api_client& api, const std::string& ch) {
  std::vector<std::string> out;
  auto page = ok(api.get("/v1/Conversations/" + ch + "/Messages"));
  for (auto& m : page["messages"])
    out.push_back(m["body"].is_string() ? m["body"].get<std::string>() : std::string());
  return out;
}

} // namespace

TEST_CASE("studio: flows are saved, revised, validated and deleted", "[api][studio]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto s = make_flex(api, false);
  auto def = greet_and_hand_over(s);
  auto created = ok(api.post(flows_path, {{"FriendlyName", "greeter"}, {"Status", "draft"}, {"Definition", def.dump()},
                                          {"CommitMessage", "first"}}),
                    201);
  std::string fw = created["sid"];
  CHECK(fw.rfind("FW", 0) == 0);
  CHECK(created["revision"] == 1);
  CHECK(created["valid"] == true);
  CHECK(created["definition"]["states"].size() == 3);
  CHECK(created["url"] == "https://studio.twilio.com/v2/Flows/" + fw);
  auto updated = ok(api.post(flows_path + "/" + fw, {{"Status", "published"}, {"CommitMessage", "go live"}}));
  CHECK(updated["revision"] == 2);
  CHECK(updated["status"] == "published");
  auto revisions = ok(api.get(flows_path + "/" + fw + "/Revisions"))["revisions"];
  REQUIRE(revisions.size() == 2);
  CHECK(revisions[0]["revision"] == 2);
  CHECK(ok(api.get(flows_path + "/" + fw + "/Revisions/1"))["status"] == "draft");
  CHECK(ok(api.get(flows_path))["flows"].size() == 1);
  CHECK(ok(api.post(flows_path + "/Validate", {{"FriendlyName", "x"}, {"Status", "draft"}, {"Definition", def.dump()}}))["valid"] == true);

  // A bad definition is refused, naming the widget, and changes nothing.
  auto bad = def;
  bad["states"][2]["transitions"][0]["next"] = "nowhere";
  auto r = api.post(flows_path + "/" + fw, {{"Status", "published"}, {"Definition", bad.dump()}});
  error_is(r, 400, 20001);
  CHECK(r.json()["message"].get<std::string>().find("to_flex") != std::string::npos);
  auto bad_template = def;
  bad_template["states"][1]["properties"]["body"] = "{{ secrets.password }}";
  error_is(api.post(flows_path, {{"FriendlyName", "x"}, {"Status", "draft"}, {"Definition", bad_template.dump()}}), 400,
           20001);
  error_is(api.post(flows_path + "/Validate", {{"Status", "draft"}, {"Definition", "{"}}), 400, 20001);
  error_is(api.post(flows_path, {{"FriendlyName", "x"}, {"Status", "maybe"}, {"Definition", def.dump()}}), 400, 20001);
  error_is(api.post(flows_path, {{"FriendlyName", "x"}, {"Status", "draft"}}), 400, 20001);
  CHECK(ok(api.get(flows_path + "/" + fw))["revision"] == 2);
  CHECK(ok(api.get(flows_path))["flows"].size() == 1);

  // Another account sees nothing.
  error_is(api.get(flows_path + "/FW" + std::string(32, '0')), 404, 20404);
  CHECK(api.del(flows_path + "/" + fw).status == 204);
  error_is(api.get(flows_path + "/" + fw), 404, 20404);
}

TEST_CASE("seed flow 2: an inbound SMS on a studio address reaches an agent through send-to-flex",
          "[api][studio][e2e]") {
  carrier c;
  server_process srv{server_args(c)};
  api_client api(srv.port(), account, token);
  auto s = make_flex(api, false);
  auto fw = create_flow(api, greet_and_hand_over(s));
  ok(api.post("/v1/Configuration/Addresses", {{"Type", "sms"},
                                              {"Address", our_number},
                                              {"AutoCreation.Enabled", "true"},
                                              {"AutoCreation.Type", "studio"},
                                              {"AutoCreation.StudioFlowSid", fw}}),
     201);

  REQUIRE(c.inbound(srv, "Billing QUESTION").status == 200);
  // The flow greets the customer over the carrier, then hands over.
  REQUIRE(eventually([&] { return contains(c.bodies_to(customer), "Hi " + customer + ", an agent will be with you shortly"); },
                     10s));
  auto task = only_task(api, s);
  auto attrs = json::parse(task["attributes"].get<std::string>());
  CHECK(attrs["name"] == customer);
  CHECK(attrs["topic"] == "billing question");
  std::string ch = attrs["conversationSid"];
  std::string kd = attrs["flexInteractionSid"];
  CHECK(attrs["direction"] == "inbound");
  // The execution ran greet then to_flex and ended; its steps say so.
  std::string fn;
  REQUIRE(eventually([&] {
    auto xs = executions(api, fw);
    if (xs.size() != 1 || xs[0]["status"] != "ended")
      return false;
    fn = xs[0]["sid"];
    return true;
  }));
  auto steps = ok(api.get(flows_path + "/" + fw + "/Executions/" + fn + "/Steps"))["steps"];
  std::vector<std::string> path;
  for (auto& st : steps)
    path.push_back(st["transitioned_from"].get<std::string>() + ">" + st["transitioned_to"].get<std::string>());
  CHECK(contains(path, "Trigger>greet"));
  CHECK(contains(path, "greet>to_flex"));
  CHECK(contains(path, "to_flex>Ended"));
  auto ctx = ok(api.get(flows_path + "/" + fw + "/Executions/" + fn + "/Context"));
  CHECK(ctx["context"]["trigger"]["conversation"]["Body"] == "Billing QUESTION");

  // Alice accepts and joins; agent and customer exchange messages, the
  // customer with an attachment.
  ok(api.post(s.base() + "/Tasks/" + task["sid"].get<std::string>() + "/Reservations/" +
                pending_reservation(api, s, task["sid"].get<std::string>()),
              {{"ReservationStatus", "accepted"}}));
  REQUIRE(eventually([&] { return contains(identities(api, ch), "alice"); }, 10s));
  ok(api.post("/v1/Conversations/" + ch + "/Messages", {{"Author", "alice"}, {"Body", "Hello, Alice here"}}), 201);
  REQUIRE(eventually([&] { return contains(c.bodies_to(customer), "Hello, Alice here"); }, 10s));
  REQUIRE(c.api.raw(boost::beast::http::verb::put, "/sim/files/bill.pdf", "%PDF-1.4 bill",
                    {{"Authorization", c.api.authorization()}, {"Content-Type", "application/pdf"}})
            .status < 300);
  form media{{"MediaUrl", "http://127.0.0.1:" + std::to_string(c.proc.port()) + "/sim/files/bill.pdf"},
             {"MediaContentType", "application/pdf"}};
  REQUIRE(c.inbound(srv, "here is my bill", media).status == 200);
  REQUIRE(eventually([&] { return contains(message_bodies(api, ch), "here is my bill"); }));
  auto msgs = ok(api.get("/v1/Conversations/" + ch + "/Messages"))["messages"];
  CHECK(msgs.back()["media"].size() == 1);
  // The flow no longer hears the conversation: still one execution.
  CHECK(executions(api, fw).size() == 1);

  // Wrap-up then complete through the interaction's agent participant.
  auto uo = ok(api.get("/v1/Interactions/" + kd))["channel"]["sid"].get<std::string>();
  std::string ut;
  auto parts = ok(api.get("/v1/Interactions/" + kd + "/Channels/" + uo + "/Participants"))["participants"];
  for (auto& p : parts)
    if (p["type"] == "agent")
      ut = p["sid"];
  REQUIRE(!ut.empty());
  auto p = "/v1/Interactions/" + kd + "/Channels/" + uo + "/Participants/" + ut;
  ok(api.post(p, {{"Status", "wrapup"}}));
  CHECK(ok(api.get(s.base() + "/Tasks/" + task["sid"].get<std::string>()))["assignment_status"] == "wrapping");
  ok(api.post(p, {{"Status", "closed"}}));
  CHECK(ok(api.get(s.base() + "/Tasks/" + task["sid"].get<std::string>()))["assignment_status"] == "completed");
  ok(api.post("/v1/Interactions/" + kd + "/Channels/" + uo, {{"Status", "closed"}}));
  CHECK(ok(api.get("/v1/Conversations/" + ch))["state"] == "closed");

  // Operators see it: one execution from a conversation, one hand-over, one
  // customer-initiated interaction, and no channel actor left once closed.
  auto metric = [&](const std::string& line) { return api.get("/metrics").body.find(line) != std::string::npos; };
  CHECK(metric("switchboard_studio_executions_started_total{trigger=\"conversation\"} 1\n"));
  CHECK(metric("switchboard_studio_executions_ended_total 1\n"));
  CHECK(metric("switchboard_studio_handovers_total{outcome=\"completed\"} 1\n"));
  CHECK(metric("switchboard_interactions_created_total{initiated_by=\"customer\"} 1\n"));
  CHECK(eventually([&] { return metric("switchboard_interaction_channel_actors 0\n"); }));
}

TEST_CASE("seed flow 5: a system-initiated reminder; the reply enters the flow and the agent sees both",
          "[api][studio][e2e]") {
  carrier c;
  server_process srv{server_args(c)};
  api_client api(srv.port(), account, token);
  auto s = make_flex(api, false);
  auto fw = create_flow(api, greet_and_hand_over(s));
  // The application: a conversation with the customer, the flow's webhook
  // and an automated reminder.
  std::string ch = ok(api.post("/v1/Conversations", {{"FriendlyName", "reminder"}}), 201)["sid"];
  ok(api.post("/v1/Conversations/" + ch + "/Participants",
              {{"MessagingBinding.Address", customer}, {"MessagingBinding.ProxyAddress", our_number}}),
     201);
  ok(api.post("/v1/Conversations/" + ch + "/Webhooks", {{"Target", "studio"}, {"Configuration.FlowSid", fw}}), 201);
  ok(api.post("/v1/Conversations/" + ch + "/Messages", {{"Author", "system"}, {"Body", "Your appointment is tomorrow at 10"}}),
     201);
  REQUIRE(eventually([&] { return contains(c.bodies_to(customer), "Your appointment is tomorrow at 10"); }, 10s));
  // The reminder is the system's: no execution yet.
  CHECK(executions(api, fw).empty());
  REQUIRE(c.inbound(srv, "Can I move it?").status == 200);
  auto task = only_task(api, s);
  CHECK(json::parse(task["attributes"].get<std::string>())["conversationSid"] == ch);
  ok(api.post(s.base() + "/Tasks/" + task["sid"].get<std::string>() + "/Reservations/" +
                pending_reservation(api, s, task["sid"].get<std::string>()),
              {{"ReservationStatus", "accepted"}}));
  REQUIRE(eventually([&] { return contains(identities(api, ch), "alice"); }, 10s));
  auto bodies = message_bodies(api, ch);
  CHECK(contains(bodies, "Your appointment is tomorrow at 10"));
  CHECK(contains(bodies, "Can I move it?"));
  CHECK(executions(api, fw).size() == 1);
}

TEST_CASE("studio: a REST execution asks, waits for the reply, and branches on it", "[api][studio][e2e]") {
  carrier c;
  server_process srv{server_args(c)};
  api_client api(srv.port(), account, token);
  auto s = make_flex(api, false);
  receiver hook([](const received&) { return std::pair<unsigned, std::string>{200, R"({"tier":"gold"})"}; });
  json def{
    {"initial_state", "Trigger"},
    {"states",
     {{{"name", "Trigger"}, {"type", "trigger"}, {"transitions", {{{"event", "incomingRequest"}, {"next", "ask"}}}}, {"properties", json::object()}},
      {{"name", "ask"},
       {"type", "send-and-wait-for-reply"},
       {"transitions", {{{"event", "incomingMessage"}, {"next", "lookup"}}, {{"event", "timeout"}}, {{"event", "deliveryFailure"}}}},
       {"properties", {{"body", "Hi {{flow.data.name}}, reply YES to talk to us"}, {"timeout", "3600"}}}},
      {{"name", "lookup"},
       {"type", "make-http-request"},
       {"transitions", {{{"event", "success"}, {"next", "split"}}, {{"event", "failed"}}}},
       {"properties",
        {{"method", "POST"},
         {"content_type", "application/x-www-form-urlencoded;charset=utf-8"},
         {"url", hook.url("/crm")},
         {"parameters", {{{"key", "from"}, {"value", "{{contact.channel.address}}"}}}}}}},
      {{"name", "split"},
       {"type", "split-based-on"},
       {"transitions",
        {{{"event", "noMatch"}, {"next", "bye"}},
         {{"event", "match"},
          {"next", "to_flex"},
          {"conditions",
           {{{"friendly_name", "yes"}, {"arguments", {"{{widgets.ask.inbound.Body}}"}}, {"type", "equal_to"}, {"value", "yes"}}}}}}},
       {"properties", {{"input", "{{widgets.ask.inbound.Body}}"}}}},
      {{"name", "bye"}, {"type", "send-message"}, {"transitions", {{{"event", "sent"}}, {{"event", "failed"}}}}, {"properties", {{"body", "Bye"}}}},
      {{"name", "to_flex"},
       {"type", "send-to-flex"},
       {"transitions", {{{"event", "callComplete"}}, {{"event", "failedToEnqueue"}}, {{"event", "callFailure"}}}},
       {"properties", {{"workflow", s.workflow}, {"channel", "sms"}, {"attributes", R"({"tier": "{{widgets.lookup.parsed.tier}}"})"}}}}}}};
  auto fw = create_flow(api, def);
  auto x = ok(api.post(flows_path + "/" + fw + "/Executions",
                       {{"To", customer}, {"From", our_number}, {"Parameters", R"({"name":"Ann"})"}}),
              201);
  std::string fn = x["sid"];
  CHECK(fn.rfind("FN", 0) == 0);
  CHECK(x["status"] == "active");
  CHECK(x["contact_channel_address"] == customer);
  std::string contact = x["contact_sid"];
  CHECK(contact.rfind("FC", 0) == 0);
  CHECK(contact.size() == 34);
  REQUIRE(eventually([&] { return contains(c.bodies_to(customer), "Hi Ann, reply YES to talk to us"); }, 10s));
  // The reply comes through the carrier into the execution's conversation.
  REQUIRE(c.inbound(srv, "Yes").status == 200);
  auto task = only_task(api, s);
  CHECK(json::parse(task["attributes"].get<std::string>())["tier"] == "gold");
  REQUIRE(hook.wait_for([](auto& seen) { return !seen.empty(); }));
  CHECK(hook.seen()[0].params.get("from").value_or("") == customer);
  REQUIRE(eventually([&] { return ok(api.get(flows_path + "/" + fw + "/Executions/" + fn))["status"] == "ended"; }));

  // Bad input, and ending an execution by hand.
  error_is(api.post(flows_path + "/" + fw + "/Executions", {{"To", customer}}), 400, 20001);
  error_is(api.post(flows_path + "/" + fw + "/Executions", {{"To", "+15550000001"}, {"From", our_number}, {"Parameters", "[1]"}}),
           400, 20001);
  error_is(api.get(flows_path + "/" + fw + "/Executions/FN" + std::string(32, '0')), 404, 20404);
  auto y = ok(api.post(flows_path + "/" + fw + "/Executions", {{"To", "+15550000002"}, {"From", our_number}}), 201);
  CHECK(y["contact_sid"] != contact); // another contact
  CHECK(ok(api.get(flows_path + "/" + fw + "/Executions/" + fn))["contact_sid"] == contact);
  CHECK(ok(api.post(flows_path + "/" + fw + "/Executions/" + y["sid"].get<std::string>(), {{"Status", "ended"}}))["status"] ==
        "ended");
  CHECK(ok(api.get(flows_path + "/" + fw + "/Executions", {{"status", "active"}}))["executions"].empty());
  CHECK(api.del(flows_path + "/" + fw + "/Executions/" + y["sid"].get<std::string>()).status == 204);
  CHECK(executions(api, fw).size() == 1);
}

TEST_CASE("studio: an execution waiting for a reply survives a restart", "[api][studio][durability]") {
  carrier c;
  temp_dir dir;
  json def{
    {"initial_state", "Trigger"},
    {"states",
     {{{"name", "Trigger"}, {"type", "trigger"}, {"transitions", {{{"event", "incomingRequest"}, {"next", "ask"}}}}, {"properties", json::object()}},
      {{"name", "ask"},
       {"type", "send-and-wait-for-reply"},
       {"transitions", {{{"event", "incomingMessage"}, {"next", "thanks"}}, {{"event", "timeout"}}, {{"event", "deliveryFailure"}}}},
       {"properties", {{"body", "How was your visit?"}, {"timeout", "3600"}}}},
      {{"name", "thanks"},
       {"type", "send-message"},
       {"transitions", {{{"event", "sent"}}, {{"event", "failed"}}}},
       {"properties", {{"body", "Thanks: you said {{widgets.ask.inbound.Body}}"}}}}}}};
  std::string fw, fn;
  {
    server_process srv{server_process::existing_dir{dir.path}, server_args(c)};
    api_client api(srv.port(), account, token);
    fw = create_flow(api, def);
    fn = ok(api.post(flows_path + "/" + fw + "/Executions", {{"To", customer}, {"From", our_number}}), 201)["sid"];
    REQUIRE(eventually([&] { return contains(c.bodies_to(customer), "How was your visit?"); }, 10s));
    // The flow heard the send succeed before the carrier got it, and an
    // execution's fetch answers once what the flow wrote is on disk.
    CHECK(ok(api.get(flows_path + "/" + fw + "/Executions/" + fn))["status"] == "active");
    srv.kill_hard();
  }
  server_process srv{server_process::existing_dir{dir.path}, server_args(c)};
  api_client api(srv.port(), account, token);
  CHECK(ok(api.get(flows_path + "/" + fw + "/Executions/" + fn))["status"] == "active");
  REQUIRE(c.inbound(srv, "Great").status == 200);
  REQUIRE(eventually([&] { return contains(c.bodies_to(customer), "Thanks: you said Great"); }, 10s));
  REQUIRE(eventually([&] { return ok(api.get(flows_path + "/" + fw + "/Executions/" + fn))["status"] == "ended"; }));
  CHECK(ok(api.get(flows_path + "/" + fw + "/Executions/" + fn + "/Steps"))["steps"].size() == 3);
}
