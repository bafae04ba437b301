#include "model/studio_engine.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using sb::model::effect;
using sb::model::effect_kind;
using sb::model::execution;
using sb::model::flow_definition;
using sb::model::new_execution;
using sb::model::parse_flow;
using sb::model::resume;
using sb::model::start;
using sb::model::step_record;
using sb::model::time_point;
using json = nlohmann::json;

namespace {

const time_point fixed_now = *sb::model::parse_iso8601("2030-01-02T03:04:05Z");

#define FLOW_SID "FW0123456789abcdef0123456789abcdef"
#define EXEC_SID "FN0123456789abcdef0123456789abcdef"
#define FLOW_ADDRESS "+15550000000"
#define CONTACT_ADDRESS "+15551112222"

// A conversation routed to Flex after a yes; everything else says bye.
const char* const support_flow = R"({
  "description": "Support", "initial_state": "Trigger",
  "states": [
    {"name": "Trigger", "type": "trigger",
     "transitions": [{"event": "incomingConversationMessage", "next": "route"}, {"event": "incomingMessage"}]},
    {"name": "route", "type": "split-based-on",
     "transitions": [{"event": "noMatch", "next": "bye"},
                     {"event": "match", "next": "hello",
                      "conditions": [{"friendly_name": "help", "arguments": ["{{trigger.conversation.Body}}"],
                                      "type": "matches_any_of", "value": "help, agent"}]}],
     "properties": {"input": "{{trigger.conversation.Body}}"}},
    {"name": "hello", "type": "send-message",
     "transitions": [{"event": "sent", "next": "ask"}, {"event": "failed"}],
     "properties": {"body": "Hi {{trigger.conversation.Author}}"}},
    {"name": "ask", "type": "send-and-wait-for-reply",
     "transitions": [{"event": "incomingMessage", "next": "answer"}, {"event": "timeout", "next": "bye"},
                     {"event": "deliveryFailure"}],
     "properties": {"body": "Talk to an agent, {{trigger.conversation.Author}}?", "timeout": "120"}},
    {"name": "answer", "type": "split-based-on",
     "transitions": [{"event": "noMatch", "next": "bye"},
                     {"event": "match", "next": "vars",
                      "conditions": [{"friendly_name": "yes", "arguments": ["{{widgets.ask.inbound.Body | strip}}"],
                                      "type": "equal_to", "value": "yes"}]}],
     "properties": {"input": "{{widgets.ask.inbound.Body}}"}},
    {"name": "vars", "type": "set-variables",
     "transitions": [{"event": "next", "next": "to_flex"}],
     "properties": {"variables": [{"key": "answer", "value": "{{widgets.ask.inbound.Body | strip | upcase}}"},
                                  {"key": "p", "value": "{{ 5 | plus: 2 }}"},
                                  {"key": "at", "value": "{{ 'now' | date: '%H:%M' }}"}]}},
    {"name": "to_flex", "type": "send-to-flex",
     "transitions": [{"event": "callComplete"}, {"event": "failedToEnqueue", "next": "bye"}, {"event": "callFailure"}],
     "properties": {"workflow": "WW0123456789abcdef0123456789abcdef", "channel": "chat",
                    "attributes": "{\"name\": \"{{trigger.conversation.Author}}\", \"answer\": \"{{flow.variables.answer}}\", \"channel_attributes\": {{trigger.conversation.ChannelAttributes}}}",
                    "priority": "{{flow.variables.p}}", "timeout": "600"}},
    {"name": "bye", "type": "send-message",
     "transitions": [{"event": "sent"}, {"event": "failed"}],
     "properties": {"body": "Bye", "to": "{{trigger.conversation.Author}}"}}
  ]})";

flow_definition parsed(const char* text) {
  auto f = parse_flow(json::parse(text));
  INFO("error: " << (f.ok() ? std::string("none") : f.err().message));
  REQUIRE(f.ok());
  return *f;
}

execution fresh() {
  return new_execution(FLOW_SID, EXEC_SID, FLOW_ADDRESS, CONTACT_ADDRESS, json{{"source", "test"}});
}

json conversation(const char* body) {
  return {{"Body", body}, {"Author", "alice"}, {"ChannelAttributes", {{"from", "+1555"}}}};
}

// The from -> to transitions of steps, with their events.
std::vector<std::string> path_of(const std::vector<step_record>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps)
    out.push_back(s.transitioned_from + " -" + s.name + "-> " + s.transitioned_to);
  return out;
}

} // namespace

TEST_CASE("studio engine: a conversation from the trigger to Flex and the end", "[model][studio]") {
  auto flow = parsed(support_flow);
  execution x = fresh();
  std::vector<step_record> steps;

  CHECK(x.context["flow"]["flow_sid"] == FLOW_SID);
  CHECK(x.context["flow"]["sid"] == EXEC_SID);
  CHECK(x.context["flow"]["data"] == json{{"source", "test"}});

  effect e = start(flow, x, "incomingConversationMessage", conversation("Agent"), fixed_now, steps);
  REQUIRE(e.kind == effect_kind::send_message);
  CHECK(e.widget == "hello");
  CHECK(e.args["body"] == "Hi alice");
  CHECK(e.args["from"] == FLOW_ADDRESS);
  CHECK(e.args["to"] == CONTACT_ADDRESS);
  CHECK_FALSE(e.args.contains("media_url"));
  CHECK(x.current == "hello");
  CHECK_FALSE(x.ended);
  CHECK(x.context["trigger"]["conversation"]["Body"] == "Agent");
  CHECK(path_of(steps) == std::vector<std::string>{"Trigger -incomingConversationMessage-> route",
                                                   "route -match-> hello"});
  CHECK(steps[0].type == "trigger");
  CHECK(steps[0].context["conversation"]["Author"] == "alice");
  CHECK(steps[1].type == "split-based-on");
  CHECK(steps[1].context == json{{"input", "Agent"}, {"matched", "help"}});

  e = resume(flow, x, "sent", json{{"sid", "IM1"}, {"status", "sent"}}, fixed_now, steps);
  REQUIRE(e.kind == effect_kind::wait_for_reply);
  CHECK(e.widget == "ask");
  CHECK(e.args["body"] == "Talk to an agent, alice?");
  CHECK(e.args["to"] == CONTACT_ADDRESS);
  CHECK(e.timeout_s == 120);
  CHECK(e.args["timeout"] == 120);
  CHECK(x.context["widgets"]["hello"]["sid"] == "IM1");
  CHECK(steps.back().transitioned_from == "hello");
  CHECK(steps.back().transitioned_to == "ask");
  CHECK(steps.back().name == "sent");
  CHECK(steps.back().context["sid"] == "IM1");

  // The reply " yes " fails equal_to on the input but matches on the
  // condition's stripped argument.
  e = resume(flow, x, "incomingMessage", json{{"inbound", {{"Body", " yes "}}}}, fixed_now, steps);
  REQUIRE(e.kind == effect_kind::send_to_flex);
  CHECK(e.widget == "to_flex");
  CHECK(e.args["workflow"] == "WW0123456789abcdef0123456789abcdef");
  CHECK(e.args["channel"] == "chat");
  CHECK(e.args["attributes"] ==
        json{{"name", "alice"}, {"answer", "YES"}, {"channel_attributes", {{"from", "+1555"}}}});
  CHECK(e.args["priority"] == 7);
  CHECK(e.args["timeout"] == 600);
  CHECK(e.timeout_s == 600);
  CHECK(x.context["flow"]["variables"] == json{{"answer", "YES"}, {"p", "7"}, {"at", "03:04"}});
  CHECK(x.context["widgets"]["ask"]["inbound"]["Body"] == " yes ");
  CHECK(path_of(steps) == std::vector<std::string>{"Trigger -incomingConversationMessage-> route",
                                                   "route -match-> hello", "hello -sent-> ask",
                                                   "ask -incomingMessage-> answer", "answer -match-> vars",
                                                   "vars -next-> to_flex"});
  CHECK(steps[4].context == json{{"input", " yes "}, {"matched", "yes"}});
  CHECK(steps[5].type == "set-variables");
  CHECK(steps[5].context["variables"]["answer"] == "YES");

  e = resume(flow, x, "callComplete", json{{"task_sid", "WT1"}}, fixed_now, steps);
  CHECK(e.kind == effect_kind::ended);
  CHECK(e.widget == "to_flex");
  CHECK(e.args == json::object());
  CHECK(x.ended);
  CHECK(x.current == "to_flex");
  CHECK(x.context["widgets"]["to_flex"]["task_sid"] == "WT1");
  REQUIRE(steps.size() == 7);
  CHECK(steps.back().name == "callComplete");
  CHECK(steps.back().type == "send-to-flex");
  CHECK(steps.back().transitioned_from == "to_flex");
  CHECK(steps.back().transitioned_to == "Ended");

  // An ended execution takes no more outcomes.
  json before = x.context;
  CHECK(resume(flow, x, "callComplete", json::object(), fixed_now, steps).kind == effect_kind::none);
  CHECK(steps.size() == 7);
  CHECK(x.context == before);
}

TEST_CASE("studio engine: noMatch and timeout paths", "[model][studio]") {
  auto flow = parsed(support_flow);

  SECTION("noMatch at the first split") {
    execution x = fresh();
    std::vector<step_record> steps;
    effect e = start(flow, x, "incomingConversationMessage", conversation("hello there"), fixed_now, steps);
    REQUIRE(e.kind == effect_kind::send_message);
    CHECK(e.widget == "bye");
    CHECK(e.args["body"] == "Bye");
    CHECK(e.args["to"] == "alice");
    CHECK(steps[1].name == "noMatch");
    CHECK(steps[1].context == json{{"input", "hello there"}});
    e = resume(flow, x, "sent", json::object(), fixed_now, steps);
    CHECK(e.kind == effect_kind::ended);
    CHECK(e.widget == "bye");
    CHECK(path_of(steps) == std::vector<std::string>{"Trigger -incomingConversationMessage-> route",
                                                     "route -noMatch-> bye", "bye -sent-> Ended"});
  }

  SECTION("no reply in time") {
    execution x = fresh();
    std::vector<step_record> steps;
    start(flow, x, "incomingConversationMessage", conversation("HELP"), fixed_now, steps);
    resume(flow, x, "sent", json::object(), fixed_now, steps);
    effect e = resume(flow, x, "timeout", json::object(), fixed_now, steps);
    REQUIRE(e.kind == effect_kind::send_message);
    CHECK(e.widget == "bye");
    CHECK(steps.back().name == "timeout");
    CHECK(steps.back().transitioned_from == "ask");
  }

  SECTION("a reply that is not yes") {
    execution x = fresh();
    std::vector<step_record> steps;
    start(flow, x, "incomingConversationMessage", conversation("help"), fixed_now, steps);
    resume(flow, x, "sent", json::object(), fixed_now, steps);
    effect e = resume(flow, x, "incomingMessage", json{{"inbound", {{"Body", "no"}}}}, fixed_now, steps);
    REQUIRE(e.kind == effect_kind::send_message);
    CHECK(e.widget == "bye");
    CHECK(path_of(steps).back() == "answer -noMatch-> bye");
    CHECK(x.context["flow"]["variables"] == json::object());
  }

  SECTION("a failed send ends where the transition has no next") {
    execution x = fresh();
    std::vector<step_record> steps;
    start(flow, x, "incomingConversationMessage", conversation("help"), fixed_now, steps);
    effect e = resume(flow, x, "failed", json{{"error_code", 30003}}, fixed_now, steps);
    CHECK(e.kind == effect_kind::ended);
    CHECK(x.ended);
    CHECK(path_of(steps).back() == "hello -failed-> Ended");
    CHECK(x.context["widgets"]["hello"]["error_code"] == 30003);
  }

  SECTION("a trigger event without a next ends at once") {
    execution x = fresh();
    std::vector<step_record> steps;
    effect e = start(flow, x, "incomingMessage", json{{"Body", "hi"}}, fixed_now, steps);
    CHECK(e.kind == effect_kind::ended);
    CHECK(e.widget == "Trigger");
    CHECK(x.ended);
    CHECK(x.context["trigger"]["message"]["Body"] == "hi");
    CHECK(path_of(steps) == std::vector<std::string>{"Trigger -incomingMessage-> Ended"});
  }
}

TEST_CASE("studio engine: calls that do not apply change nothing", "[model][studio]") {
  auto flow = parsed(support_flow);
  execution x = fresh();
  std::vector<step_record> steps;

  CHECK(resume(flow, x, "sent", json::object(), fixed_now, steps).kind == effect_kind::none);
  CHECK(start(flow, x, "sent", json::object(), fixed_now, steps).kind == effect_kind::none);
  CHECK(start(flow, x, "incomingCall", json::object(), fixed_now, steps).kind == effect_kind::ended);
  CHECK(steps.size() == 1);  // incomingCall has no transition in this flow: it ends

  execution y = fresh();
  steps.clear();
  REQUIRE(start(flow, y, "incomingConversationMessage", conversation("help"), fixed_now, steps).kind ==
          effect_kind::send_message);
  json before = y.context;
  CHECK(start(flow, y, "incomingConversationMessage", conversation("help"), fixed_now, steps).kind ==
        effect_kind::none);
  CHECK(resume(flow, y, "incomingMessage", json::object(), fixed_now, steps).kind == effect_kind::none);
  CHECK(resume(flow, y, "callComplete", json::object(), fixed_now, steps).kind == effect_kind::none);
  CHECK(steps.size() == 2);
  CHECK(y.context == before);
  CHECK(y.current == "hello");
}

TEST_CASE("studio engine: a loop of synchronous widgets ends with an error step", "[model][studio]") {
  auto flow = parsed(R"({"states": [
    {"name": "Trigger", "type": "trigger", "transitions": [{"event": "incomingRequest", "next": "check"}]},
    {"name": "check", "type": "split-based-on", "properties": {"input": "{{flow.variables.n}}"},
     "transitions": [{"event": "noMatch", "next": "count"},
                     {"event": "match", "next": "done",
                      "conditions": [{"type": "equal_to", "value": "never"}]}]},
    {"name": "count", "type": "set-variables", "transitions": [{"event": "next", "next": "check"}],
     "properties": {"variables": [{"key": "n", "value": "{{flow.variables.n | plus: 1}}"}]}},
    {"name": "done", "type": "send-message", "properties": {"body": "done"}}]})");
  execution x = fresh();
  std::vector<step_record> steps;
  effect e = start(flow, x, "incomingRequest", json{{"parameters", json::object()}}, fixed_now, steps);
  REQUIRE(e.kind == effect_kind::ended);
  CHECK(x.ended);
  REQUIRE(e.args.contains("error"));
  CHECK_THAT(e.args["error"].get<std::string>(), Catch::Matchers::Contains("the flow loops"));
  // The trigger's step, one per synchronous widget allowed, the step into the
  // widget over the cap, and the error step.
  CHECK(steps.size() == std::size_t(sb::model::max_synchronous_steps) + 2);
  CHECK(steps.back().name == "error");
  CHECK(steps.back().transitioned_to == "Ended");
  CHECK(steps.back().transitioned_from == e.widget);
  CHECK(steps.back().context["error"] == e.args["error"]);
  CHECK(x.context["flow"]["variables"]["n"] == "500");
}

TEST_CASE("studio engine: HTTP requests by method and content type", "[model][studio]") {
  struct row {
    const char* name;
    const char* method;
    const char* content_type;
    const char* body;  // null: no body property
    const char* url;
    const char* sent_body;  // null: no body sent
    int timeout;
  };
  const row rows[] = {
    {"GET appends parameters", "GET", "application/x-www-form-urlencoded;charset=utf-8", nullptr,
     "https://example.com/lookup?id=7&who=alice%20smith&to=%2B15551112222", nullptr, 10},
    {"POST form encodes parameters", "POST", "application/x-www-form-urlencoded;charset=utf-8", nullptr,
     "https://example.com/lookup?id=7", "who=alice%20smith&to=%2B15551112222", 10},
    {"POST JSON sends the body template", "POST", "application/json;charset=utf-8",
     R"({"who": "{{flow.data.who}}"})", "https://example.com/lookup?id=7", R"({"who": "alice smith"})", 10},
  };
  for (const auto& r : rows) DYNAMIC_SECTION(r.name) {
    json def = json::parse(R"({"states": [
      {"name": "Trigger", "type": "trigger", "transitions": [{"event": "incomingRequest", "next": "http"}]},
      {"name": "http", "type": "make-http-request",
       "transitions": [{"event": "success", "next": "check"}, {"event": "failed"}],
       "properties": {"url": "https://example.com/lookup?id={{flow.data.id}}",
                      "parameters": [{"key": "who", "value": "{{flow.data.who}}"},
                                     {"key": "to", "value": "{{contact.channel.address}}"}]}},
      {"name": "check", "type": "split-based-on", "properties": {"input": "{{widgets.http.parsed.status}}"},
       "transitions": [{"event": "noMatch"},
                       {"event": "match", "next": "vip", "conditions": [{"type": "equal_to", "value": "VIP"}]}]},
      {"name": "vip", "type": "send-message", "properties": {"body": "Welcome, {{widgets.http.parsed.name}}"}}]})");
    auto& props = def["states"][1]["properties"];
    props["method"] = r.method;
    props["content_type"] = r.content_type;
    if (r.body)
      props["body"] = r.body;
    auto f = parse_flow(def);
    INFO("error: " << (f.ok() ? std::string("none") : f.err().message));
    REQUIRE(f.ok());

    execution x = new_execution(FLOW_SID, EXEC_SID, FLOW_ADDRESS, CONTACT_ADDRESS, json{{"id", 7}, {"who", "alice smith"}});
    std::vector<step_record> steps;
    effect e = start(*f, x, "incomingRequest", json{{"parameters", x.context["flow"]["data"]}}, fixed_now, steps);
    REQUIRE(e.kind == effect_kind::http_request);
    CHECK(e.widget == "http");
    CHECK(e.args["method"] == r.method);
    CHECK(e.args["url"] == r.url);
    CHECK(e.args["parameters"] == json::parse(R"([{"key": "who", "value": "alice smith"},
                                                   {"key": "to", "value": "+15551112222"}])"));
    if (r.sent_body)
      CHECK(e.args["body"] == r.sent_body);
    else
      CHECK_FALSE(e.args.contains("body"));
    CHECK(e.timeout_s == r.timeout);

    e = resume(*f, x, "success",
               json{{"status_code", 200}, {"content_type", "application/json"}, {"body", R"({"status": "VIP", "name": "Al"})"}},
               fixed_now, steps);
    REQUIRE(e.kind == effect_kind::send_message);
    CHECK(e.args["body"] == "Welcome, Al");
    CHECK(x.context["widgets"]["http"]["parsed"] == json{{"status", "VIP"}, {"name", "Al"}});
    CHECK(x.context["widgets"]["http"]["status_code"] == 200);
  }
}

TEST_CASE("studio engine: request outcomes, timeouts and attributes that are not JSON", "[model][studio]") {
  auto flow = parsed(R"({"states": [
    {"name": "Trigger", "type": "trigger", "transitions": [{"event": "incomingRequest", "next": "http"}]},
    {"name": "http", "type": "make-http-request",
     "transitions": [{"event": "success", "next": "flex"}, {"event": "failed", "next": "flex"}],
     "properties": {"method": "GET", "url": "https://example.com/x?a=1", "content_type": "application/json;charset=utf-8",
                    "timeout": "{{flow.data.t}}"}},
    {"name": "flex", "type": "send-to-flex", "transitions": [{"event": "callComplete"}],
     "properties": {"workflow": "WW1", "channel": "{{flow.data.channel}}", "attributes": "plain {{flow.data.t}}",
                    "priority": "{{flow.data.p}}"}}]})");

  execution x = new_execution(FLOW_SID, EXEC_SID, FLOW_ADDRESS, CONTACT_ADDRESS,
                              json{{"t", "45"}, {"channel", "voice"}, {"p", "high"}});
  std::vector<step_record> steps;
  effect e = start(flow, x, "incomingRequest", json::object(), fixed_now, steps);
  REQUIRE(e.kind == effect_kind::http_request);
  CHECK(e.args["url"] == "https://example.com/x?a=1");
  CHECK(e.timeout_s == 10);  // 45 is beyond the 30-second limit: the default applies

  e = resume(flow, x, "failed", json{{"status_code", 500}, {"body", "oops"}}, fixed_now, steps);
  REQUIRE(e.kind == effect_kind::send_to_flex);
  CHECK_FALSE(x.context["widgets"]["http"].contains("parsed"));
  CHECK(steps.back().name == "failed");
  CHECK(e.args["channel"] == "voice");
  CHECK(e.args["attributes"] == "plain 45");
  CHECK_FALSE(e.args.contains("priority"));
  CHECK(e.timeout_s == sb::model::default_flex_task_timeout);
}
