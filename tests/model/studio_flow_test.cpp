#include "model/studio_flow.hpp"

#include <catch2/catch.hpp>

#include <string>

using sb::model::condition_type;
using sb::model::errc;
using sb::model::flow_definition;
using sb::model::parse_flow;
using sb::model::validate_flow;
using sb::model::widget_type;
using json = nlohmann::json;

namespace {

// One widget of every type, wired the way Studio's editor writes them.
// States: 0 Trigger, 1 hello, 2 ask, 3 split, 4 vars, 5 http, 6 to_flex.
const char* const every_widget = R"({
  "description": "Every widget",
  "initial_state": "Trigger",
  "flags": {"allow_concurrent_calls": true},
  "states": [
    {"name": "Trigger", "type": "trigger",
     "transitions": [{"event": "incomingMessage", "next": "hello"}, {"event": "incomingCall"},
                     {"event": "incomingConversationMessage", "next": "split"},
                     {"event": "incomingRequest", "next": "http"}, {"event": "incomingParent"}],
     "properties": {"offset": {"x": 0, "y": 0}}},
    {"name": "hello", "type": "send-message",
     "transitions": [{"event": "sent", "next": "ask"}, {"event": "failed"}],
     "properties": {"body": "Hi {{contact.channel.address}}", "from": "{{flow.channel.address}}",
                    "to": "{{contact.channel.address}}", "media_url": "https://example.com/a.png",
                    "offset": {"x": 0, "y": 200}}},
    {"name": "ask", "type": "send-and-wait-for-reply",
     "transitions": [{"event": "incomingMessage", "next": "split"}, {"event": "timeout", "next": ""},
                     {"event": "deliveryFailure", "next": null}],
     "properties": {"body": "Yes or no?", "timeout": "3600"}},
    {"name": "split", "type": "split-based-on",
     "transitions": [
       {"event": "noMatch", "next": "to_flex"},
       {"event": "match", "next": "vars",
        "conditions": [{"friendly_name": "yes", "arguments": ["{{widgets.ask.inbound.Body}}"],
                        "type": "equal_to", "value": "yes"}]},
       {"event": "match", "next": "to_flex",
        "conditions": [{"friendly_name": "digits", "arguments": ["{{widgets.ask.inbound.Body}}"],
                        "type": "regex", "value": "^[0-9]+$"}]}],
     "properties": {"input": "{{widgets.ask.inbound.Body}}"}},
    {"name": "vars", "type": "set-variables",
     "transitions": [{"event": "next", "next": "to_flex"}],
     "properties": {"variables": [{"key": "k", "value": "{{trigger.message.Body | upcase}}"}]}},
    {"name": "http", "type": "make-http-request",
     "transitions": [{"event": "success", "next": "to_flex"}, {"event": "failed"}],
     "properties": {"method": "POST", "content_type": "application/json;charset=utf-8",
                    "url": "https://example.com/hook?from={{contact.channel.address | url_encode}}",
                    "parameters": [{"key": "a", "value": "{{flow.data.a}}"}],
                    "body": "{\"a\": \"{{flow.data.a}}\"}", "timeout": 20}},
    {"name": "to_flex", "type": "send-to-flex",
     "transitions": [{"event": "callComplete"}, {"event": "failedToEnqueue"}, {"event": "callFailure"}],
     "properties": {"workflow": "WW0123456789abcdef0123456789abcdef", "channel": "TC0123456789abcdef0123456789abcdef",
                    "attributes": "{\"name\": \"{{trigger.conversation.Author}}\"}",
                    "priority": "{{flow.variables.p}}", "timeout": "3600"}}
  ]})";

json patched(const char* patch) {
  return json::parse(every_widget).patch(json::parse(patch));
}

struct valid_row {
  const char* name;
  const char* patch;  // JSON patch applied to every_widget
};

const valid_row valid_rows[] = {
  {"every widget", "[]"},
  {"initial_state defaults to Trigger", R"([{"op": "remove", "path": "/initial_state"}])"},
  {"no description or flags",
   R"([{"op": "remove", "path": "/description"}, {"op": "remove", "path": "/flags"}])"},
  {"a widget without transitions",
   R"([{"op": "replace", "path": "/states/1", "value": {"name": "hello", "type": "send-message",
       "properties": {"body": "x"}}}])"},
  {"templated timeouts and priority",
   R"([{"op": "replace", "path": "/states/2/properties/timeout", "value": "{{flow.variables.t}}"},
       {"op": "replace", "path": "/states/5/properties/timeout", "value": "{{flow.variables.t}}"},
       {"op": "replace", "path": "/states/6/properties/timeout", "value": "{{flow.variables.t}}"}])"},
  {"numeric timeouts at the limits",
   R"([{"op": "replace", "path": "/states/2/properties/timeout", "value": 2592000},
       {"op": "replace", "path": "/states/5/properties/timeout", "value": 30},
       {"op": "replace", "path": "/states/6/properties/timeout", "value": 1},
       {"op": "replace", "path": "/states/6/properties/priority", "value": "0"}])"},
  {"empty optional numbers", R"([{"op": "replace", "path": "/states/2/properties/timeout", "value": ""}])"},
  {"attributes as an object", R"([{"op": "replace", "path": "/states/6/properties/attributes", "value": {"a": 1}}])"},
  {"GET with a form content type",
   R"([{"op": "replace", "path": "/states/5/properties/method", "value": "GET"},
       {"op": "replace", "path": "/states/5/properties/content_type",
        "value": "application/x-www-form-urlencoded;charset=utf-8"},
       {"op": "remove", "path": "/states/5/properties/body"}])"},
  {"every condition type",
   R"([{"op": "replace", "path": "/states/3/transitions/1/conditions", "value": [
        {"type": "equal_to", "value": "a"}, {"type": "not_equal_to", "value": "a"},
        {"type": "matches_any_of", "value": "a, b"}, {"type": "does_not_match_any_of", "value": "a,b"},
        {"type": "is_blank"}, {"type": "is_not_blank", "value": "Is Not Blank"},
        {"type": "regex", "value": "^a+$"}, {"type": "contains", "value": "a"},
        {"type": "does_not_contain", "value": "a"}, {"type": "starts_with", "value": "a"},
        {"type": "does_not_start_with", "value": "a"}, {"type": "less_than", "value": "10"},
        {"type": "greater_than", "value": 2.5}, {"type": "is_before_time", "value": "13:30"},
        {"type": "is_after_time", "value": "2024-03-05T14:07:09Z"},
        {"type": "regex", "value": "{{flow.variables.pattern}}"},
        {"type": "less_than", "value": "{{flow.variables.limit}}"}]}])"},
  {"a trigger alone", R"([{"op": "replace", "path": "/states", "value": [{"name": "Trigger", "type": "trigger",
       "transitions": [{"event": "incomingMessage"}]}]}])"},
  {"a renamed trigger named by initial_state",
   R"([{"op": "replace", "path": "/states/0/name", "value": "Start"},
       {"op": "replace", "path": "/initial_state", "value": "Start"}])"},
};

struct invalid_row {
  const char* name;
  const char* patch;
  const char* message;  // contained in parse_flow's error
};

#define SPLIT_COND "/states/3/transitions/1/conditions/0"

const invalid_row invalid_rows[] = {
  // The document.
  {"not an object", R"([{"op": "replace", "path": "", "value": []}])", "Flow definition must be a JSON object"},
  {"states missing", R"([{"op": "remove", "path": "/states"}])", "Flow definition: states must be a non-empty array"},
  {"states empty", R"([{"op": "replace", "path": "/states", "value": []}])",
   "Flow definition: states must be a non-empty array"},
  {"states an object", R"([{"op": "replace", "path": "/states", "value": {}}])",
   "Flow definition: states must be a non-empty array"},
  {"description not text", R"([{"op": "replace", "path": "/description", "value": 5}])",
   "Flow definition: description must be a string"},
  {"flags not an object", R"([{"op": "replace", "path": "/flags", "value": true}])",
   "Flow definition: flags must be an object"},
  {"initial_state not text", R"([{"op": "replace", "path": "/initial_state", "value": 5}])",
   "Flow definition: initial_state must be a widget name"},
  // Names and types.
  {"widget not an object", R"([{"op": "replace", "path": "/states/1", "value": "hello"}])",
   "Widget #1 must be an object"},
  {"name missing", R"([{"op": "remove", "path": "/states/1/name"}])", "Widget #1: name is required"},
  {"name empty", R"([{"op": "replace", "path": "/states/1/name", "value": ""}])", "Widget #1: name is required"},
  {"name duplicated", R"([{"op": "replace", "path": "/states/2/name", "value": "hello"}])",
   "Widget \"hello\": name is used by more than one widget"},
  {"type missing", R"([{"op": "remove", "path": "/states/1/type"}])", "Widget \"hello\": type is required"},
  {"type unknown", R"([{"op": "replace", "path": "/states/1/type", "value": "say-play"}])",
   "Widget \"hello\": type \"say-play\" is not supported"},
  // The trigger.
  {"no trigger", R"([{"op": "remove", "path": "/states/0"}])", "Flow definition: a widget of type trigger is required"},
  {"two triggers", R"([{"op": "add", "path": "/states/-", "value": {"name": "Trigger2", "type": "trigger"}}])",
   "Widget \"Trigger2\" of type trigger: a flow has one trigger and \"Trigger\" is already one"},
  {"initial_state not the trigger", R"([{"op": "replace", "path": "/initial_state", "value": "hello"}])",
   "Flow definition: initial_state \"hello\" must name the trigger widget \"Trigger\""},
  {"default initial_state but a renamed trigger",
   R"([{"op": "remove", "path": "/initial_state"}, {"op": "replace", "path": "/states/0/name", "value": "Start"}])",
   "Flow definition: initial_state \"Trigger\" must name the trigger widget \"Start\""},
  // Transitions.
  {"transitions not an array", R"([{"op": "replace", "path": "/states/1/transitions", "value": {}}])",
   "Widget \"hello\" of type send-message: transitions must be an array"},
  {"transition without an event", R"([{"op": "remove", "path": "/states/1/transitions/0/event"}])",
   "Widget \"hello\" of type send-message: transitions[0] needs an event"},
  {"trigger event not a trigger's", R"([{"op": "replace", "path": "/states/0/transitions/1/event", "value": "sent"}])",
   "Widget \"Trigger\" of type trigger: event \"sent\" is not an event of trigger (incomingMessage, incomingCall, "
   "incomingConversationMessage, incomingRequest, incomingParent)"},
  {"send-message event", R"([{"op": "replace", "path": "/states/1/transitions/1/event", "value": "timeout"}])",
   "Widget \"hello\" of type send-message: event \"timeout\" is not an event of send-message (sent, failed)"},
  {"send-and-wait-for-reply event", R"([{"op": "replace", "path": "/states/2/transitions/2/event", "value": "sent"}])",
   "Widget \"ask\" of type send-and-wait-for-reply: event \"sent\" is not an event of send-and-wait-for-reply "
   "(incomingMessage, timeout, deliveryFailure)"},
  {"split-based-on event", R"([{"op": "replace", "path": "/states/3/transitions/0/event", "value": "next"}])",
   "Widget \"split\" of type split-based-on: event \"next\" is not an event of split-based-on (noMatch, match)"},
  {"set-variables event", R"([{"op": "replace", "path": "/states/4/transitions/0/event", "value": "success"}])",
   "Widget \"vars\" of type set-variables: event \"success\" is not an event of set-variables (next)"},
  {"make-http-request event", R"([{"op": "replace", "path": "/states/5/transitions/1/event", "value": "timeout"}])",
   "Widget \"http\" of type make-http-request: event \"timeout\" is not an event of make-http-request (success, "
   "failed)"},
  {"send-to-flex event", R"([{"op": "replace", "path": "/states/6/transitions/0/event", "value": "sent"}])",
   "Widget \"to_flex\" of type send-to-flex: event \"sent\" is not an event of send-to-flex (callComplete, "
   "failedToEnqueue, callFailure)"},
  {"event twice", R"([{"op": "add", "path": "/states/1/transitions/-", "value": {"event": "sent"}}])",
   "Widget \"hello\" of type send-message: event \"sent\" has more than one transition"},
  {"next unknown", R"([{"op": "replace", "path": "/states/1/transitions/0/next", "value": "nowhere"}])",
   "Widget \"hello\" of type send-message: transition \"sent\" goes to \"nowhere\", which is not a widget of this flow"},
  {"next back to the trigger", R"([{"op": "replace", "path": "/states/2/transitions/0/next", "value": "Trigger"}])",
   "Widget \"ask\" of type send-and-wait-for-reply: transition \"incomingMessage\" goes back to the trigger "
   "\"Trigger\""},
  {"next not text", R"([{"op": "replace", "path": "/states/1/transitions/0/next", "value": 5}])",
   "Widget \"hello\" of type send-message: transition \"sent\": next must be a widget name"},
  // Split conditions.
  {"match without conditions", R"([{"op": "remove", "path": "/states/3/transitions/1/conditions"}])",
   "Widget \"split\" of type split-based-on: a match transition needs a non-empty conditions array"},
  {"match with empty conditions", R"([{"op": "replace", "path": "/states/3/transitions/1/conditions", "value": []}])",
   "Widget \"split\" of type split-based-on: a match transition needs a non-empty conditions array"},
  {"condition not an object", R"([{"op": "replace", "path": ")" SPLIT_COND R"(", "value": "yes"}])",
   "Widget \"split\" of type split-based-on: conditions[0] must be an object"},
  {"condition type unknown", R"([{"op": "replace", "path": ")" SPLIT_COND R"(/type", "value": "fuzzy"}])",
   "Widget \"split\" of type split-based-on: condition type \"fuzzy\" is not supported"},
  {"condition type missing", R"([{"op": "remove", "path": ")" SPLIT_COND R"(/type"}])",
   "Widget \"split\" of type split-based-on: condition \"yes\" needs a type"},
  {"condition without a value", R"([{"op": "remove", "path": ")" SPLIT_COND R"(/value"}])",
   "Widget \"split\" of type split-based-on: condition \"yes\" needs a value"},
  {"unnamed condition without a value",
   R"([{"op": "remove", "path": ")" SPLIT_COND R"(/value"}, {"op": "remove", "path": ")" SPLIT_COND R"(/friendly_name"}])",
   "Widget \"split\" of type split-based-on: conditions[0] needs a value"},
  {"regex that does not compile",
   R"([{"op": "replace", "path": "/states/3/transitions/2/conditions/0/value", "value": "([0-9"}])",
   "Widget \"split\" of type split-based-on: condition \"digits\": regex \"([0-9\" does not compile"},
  {"less_than a word", R"([{"op": "replace", "path": ")" SPLIT_COND R"(/type", "value": "less_than"}])",
   "Widget \"split\" of type split-based-on: condition \"yes\": value \"yes\" is not a number"},
  {"greater_than a word", R"([{"op": "replace", "path": ")" SPLIT_COND R"(/type", "value": "greater_than"}])",
   "condition \"yes\": value \"yes\" is not a number"},
  {"is_before_time a word", R"([{"op": "replace", "path": ")" SPLIT_COND R"(/type", "value": "is_before_time"}])",
   "Widget \"split\" of type split-based-on: condition \"yes\": value \"yes\" is not a time"},
  {"is_after_time out of range",
   R"([{"op": "replace", "path": ")" SPLIT_COND R"(/type", "value": "is_after_time"},
       {"op": "replace", "path": ")" SPLIT_COND R"(/value", "value": "25:00"}])",
   "condition \"yes\": value \"25:00\" is not a time"},
  {"argument with an unknown variable",
   R"([{"op": "replace", "path": ")" SPLIT_COND R"(/arguments/0", "value": "{{ nope.x }}"}])",
   "Widget \"split\" of type split-based-on: condition \"yes\": argument 0: unknown variable \"nope.x\""},
  {"arguments not text", R"([{"op": "replace", "path": ")" SPLIT_COND R"(/arguments", "value": [1]}])",
   "Widget \"split\" of type split-based-on: condition \"yes\": arguments must be an array of strings"},
  {"value with an unknown filter",
   R"([{"op": "replace", "path": ")" SPLIT_COND R"(/value", "value": "{{ flow.data.x | upcse }}"}])",
   "Widget \"split\" of type split-based-on: condition \"yes\": value: unknown filter \"upcse\""},
  // Properties.
  {"properties not an object", R"([{"op": "replace", "path": "/states/1/properties", "value": []}])",
   "Widget \"hello\" of type send-message: properties must be an object"},
  {"send-message without body", R"([{"op": "remove", "path": "/states/1/properties/body"}])",
   "Widget \"hello\" of type send-message: property \"body\" is required"},
  {"send-message with an empty body", R"([{"op": "replace", "path": "/states/1/properties/body", "value": " "}])",
   "Widget \"hello\" of type send-message: property \"body\" is required"},
  {"send-and-wait-for-reply without body", R"([{"op": "remove", "path": "/states/2/properties/body"}])",
   "Widget \"ask\" of type send-and-wait-for-reply: property \"body\" is required"},
  {"split without input", R"([{"op": "remove", "path": "/states/3/properties/input"}])",
   "Widget \"split\" of type split-based-on: property \"input\" is required"},
  {"set-variables without variables", R"([{"op": "remove", "path": "/states/4/properties/variables"}])",
   "Widget \"vars\" of type set-variables: property \"variables\" is required"},
  {"variables not an array", R"([{"op": "replace", "path": "/states/4/properties/variables", "value": {}}])",
   "Widget \"vars\" of type set-variables: property \"variables\" must be an array of {key, value} objects"},
  {"variable without a key", R"([{"op": "remove", "path": "/states/4/properties/variables/0/key"}])",
   "Widget \"vars\" of type set-variables: property \"variables\"[0] needs a non-empty key"},
  {"variable with an object value",
   R"([{"op": "replace", "path": "/states/4/properties/variables/0/value", "value": {"a": 1}}])",
   "Widget \"vars\" of type set-variables: property \"variables\"[0] value must be text"},
  {"http without method", R"([{"op": "remove", "path": "/states/5/properties/method"}])",
   "Widget \"http\" of type make-http-request: property \"method\" is required"},
  {"http with PUT", R"([{"op": "replace", "path": "/states/5/properties/method", "value": "PUT"}])",
   "Widget \"http\" of type make-http-request: property \"method\" must be GET or POST, got \"PUT\""},
  {"http without url", R"([{"op": "remove", "path": "/states/5/properties/url"}])",
   "Widget \"http\" of type make-http-request: property \"url\" is required"},
  {"http without content_type", R"([{"op": "remove", "path": "/states/5/properties/content_type"}])",
   "Widget \"http\" of type make-http-request: property \"content_type\" is required"},
  {"http with text/plain", R"([{"op": "replace", "path": "/states/5/properties/content_type", "value": "text/plain"}])",
   "Widget \"http\" of type make-http-request: property \"content_type\" must be "
   "application/x-www-form-urlencoded;charset=utf-8 or application/json;charset=utf-8"},
  {"http parameter without a key", R"([{"op": "replace", "path": "/states/5/properties/parameters/0/key", "value": ""}])",
   "Widget \"http\" of type make-http-request: property \"parameters\"[0] needs a non-empty key"},
  {"http body not text", R"([{"op": "replace", "path": "/states/5/properties/body", "value": {"a": 1}}])",
   "Widget \"http\" of type make-http-request: property \"body\" must be a string"},
  {"http timeout over 30", R"([{"op": "replace", "path": "/states/5/properties/timeout", "value": 31}])",
   "Widget \"http\" of type make-http-request: property \"timeout\" must be a whole number from 1 to 30, got 31"},
  {"http timeout zero", R"([{"op": "replace", "path": "/states/5/properties/timeout", "value": "0"}])",
   "property \"timeout\" must be a whole number from 1 to 30, got \"0\""},
  {"http timeout a word", R"([{"op": "replace", "path": "/states/5/properties/timeout", "value": "soon"}])",
   "property \"timeout\" must be a whole number from 1 to 30, got \"soon\""},
  {"http timeout fractional", R"([{"op": "replace", "path": "/states/5/properties/timeout", "value": 1.5}])",
   "property \"timeout\" must be a whole number from 1 to 30, got 1.5"},
  {"reply timeout zero", R"([{"op": "replace", "path": "/states/2/properties/timeout", "value": "0"}])",
   "Widget \"ask\" of type send-and-wait-for-reply: property \"timeout\" must be a whole number from 1 to 2592000"},
  {"reply timeout beyond 30 days", R"([{"op": "replace", "path": "/states/2/properties/timeout", "value": 2592001}])",
   "Widget \"ask\" of type send-and-wait-for-reply: property \"timeout\" must be a whole number from 1 to 2592000"},
  {"flex without workflow", R"([{"op": "remove", "path": "/states/6/properties/workflow"}])",
   "Widget \"to_flex\" of type send-to-flex: property \"workflow\" is required"},
  {"flex without channel", R"([{"op": "remove", "path": "/states/6/properties/channel"}])",
   "Widget \"to_flex\" of type send-to-flex: property \"channel\" is required"},
  {"flex timeout negative", R"([{"op": "replace", "path": "/states/6/properties/timeout", "value": "-5"}])",
   "Widget \"to_flex\" of type send-to-flex: property \"timeout\" must be a whole number from 1 to 2592000"},
  {"flex priority negative", R"([{"op": "replace", "path": "/states/6/properties/priority", "value": -1}])",
   "Widget \"to_flex\" of type send-to-flex: property \"priority\" must be a whole number from 0 to 2147483647"},
  {"flex attributes not JSON", R"([{"op": "replace", "path": "/states/6/properties/attributes", "value": "name"}])",
   "Widget \"to_flex\" of type send-to-flex: property \"attributes\" must be a JSON object or its text"},
  {"flex attributes a number", R"([{"op": "replace", "path": "/states/6/properties/attributes", "value": 5}])",
   "Widget \"to_flex\" of type send-to-flex: property \"attributes\" must be a JSON object or its text"},
  // Templates in properties.
  {"body with an unknown variable", R"([{"op": "replace", "path": "/states/1/properties/body", "value": "{{ foo.bar }}"}])",
   "Widget \"hello\" of type send-message: property \"body\": unknown variable \"foo.bar\""},
  {"attributes with an unknown filter",
   R"([{"op": "replace", "path": "/states/6/properties/attributes", "value": "{\"a\": \"{{ flow.data.a | shout }}\"}"}])",
   "Widget \"to_flex\" of type send-to-flex: property \"attributes\": unknown filter \"shout\""},
  {"url with an unclosed tag",
   R"([{"op": "replace", "path": "/states/5/properties/url", "value": "https://x/{{ contact.channel.address"}])",
   "Widget \"http\" of type make-http-request: property \"url\": \"{{\" at offset 10 is not closed by \"}}\""},
  {"variable value with an unknown filter",
   R"([{"op": "replace", "path": "/states/4/properties/variables/0/value", "value": "{{ trigger.a | upcse }}"}])",
   "Widget \"vars\" of type set-variables: property \"variables\": at \"/0/value\": unknown filter \"upcse\""},
  {"input with a for tag",
   R"([{"op": "replace", "path": "/states/3/properties/input", "value": "{% for x in trigger.a %}{% endfor %}"}])",
   "Widget \"split\" of type split-based-on: property \"input\": unsupported tag \"for\""},
  {"trigger property with an unknown root",
   R"([{"op": "add", "path": "/states/0/properties/note", "value": "{{ secret.x }}"}])",
   "Widget \"Trigger\" of type trigger: property \"note\": unknown variable \"secret.x\""},
};

flow_definition parsed(const json& definition) {
  auto f = parse_flow(definition);
  INFO("error: " << (f.ok() ? std::string("none") : f.err().message));
  REQUIRE(f.ok());
  return *f;
}

} // namespace

TEST_CASE("studio flows: definitions Studio writes parse", "[model][studio]") {
  for (const auto& row : valid_rows) DYNAMIC_SECTION(row.name) {
    json d = patched(row.patch);
    auto f = parse_flow(d);
    INFO("error: " << (f.ok() ? std::string("none") : f.err().message));
    REQUIRE(f.ok());
    CHECK(validate_flow(d).empty());
    CHECK(f->definition == d);
  }
}

TEST_CASE("studio flows: every rule rejects with 20001 and names the widget", "[model][studio]") {
  for (const auto& row : invalid_rows) DYNAMIC_SECTION(row.name) {
    json d = patched(row.patch);
    auto f = parse_flow(d);
    REQUIRE_FALSE(f.ok());
    CHECK(f.err().kind == errc::invalid_parameter);
    CHECK(f.err().code == 20001);
    CHECK(sb::model::http_status(f.err().kind) == 400);
    CHECK_THAT(f.err().message, Catch::Matchers::Contains(row.message));
    auto all = validate_flow(d);
    REQUIRE_FALSE(all.empty());
    CHECK(all.front().message == f.err().message);
  }
}

TEST_CASE("studio flows: the parse keeps widgets, transitions, conditions and templates", "[model][studio]") {
  json d = json::parse(every_widget);
  auto f = parsed(d);
  CHECK(f.definition == d);
  CHECK(f.description == "Every widget");
  CHECK(f.initial_state == "Trigger");
  CHECK(f.flags == json{{"allow_concurrent_calls", true}});
  REQUIRE(f.states.size() == 7);
  const widget_type types[] = {widget_type::trigger,        widget_type::send_message,  widget_type::send_and_wait_for_reply,
                               widget_type::split_based_on, widget_type::set_variables, widget_type::make_http_request,
                               widget_type::send_to_flex};
  for (std::size_t i = 0; i < 7; ++i) {
    CHECK(f.states[i].type == types[i]);
    CHECK(f.find(f.states[i].name) == &f.states[i]);
  }
  CHECK(f.find("nope") == nullptr);

  const auto& trigger = f.states[0];
  REQUIRE(trigger.transitions.size() == 5);
  REQUIRE(trigger.on("incomingConversationMessage"));
  CHECK(trigger.on("incomingConversationMessage")->next == "split");
  CHECK(trigger.on("incomingCall")->next.empty());
  CHECK(trigger.on("sent") == nullptr);

  const auto& ask = *f.find("ask");
  CHECK(ask.on("timeout")->next.empty());
  CHECK(ask.on("deliveryFailure")->next.empty());

  const auto& split = *f.find("split");
  REQUIRE(split.transitions.size() == 3);
  REQUIRE(split.transitions[1].conditions.size() == 1);
  const auto& yes = split.transitions[1].conditions[0];
  CHECK(yes.friendly_name == "yes");
  CHECK(yes.type == condition_type::equal_to);
  REQUIRE(yes.arguments.size() == 1);
  CHECK(yes.arguments[0].source() == "{{widgets.ask.inbound.Body}}");
  CHECK(yes.value.source() == "yes");
  CHECK(yes.pattern == nullptr);
  const auto& digits = split.transitions[2].conditions[0];
  CHECK(digits.type == condition_type::regex);
  CHECK(digits.pattern != nullptr);
  CHECK(split.transitions[0].conditions.empty());

  const auto& hello = *f.find("hello");
  REQUIRE(hello.property("body"));
  CHECK(hello.property("body")->source() == "Hi {{contact.channel.address}}");
  REQUIRE(hello.property("body")->templates().size() == 1);
  REQUIRE(hello.property("offset"));
  CHECK(hello.property("offset")->templates().empty());
  CHECK(hello.property("nope") == nullptr);

  const auto& vars = *f.find("vars");
  REQUIRE(vars.property("variables"));
  CHECK(vars.property("variables")->templates().size() == 1);
}

TEST_CASE("studio flows: validate_flow reports every problem in order with its path", "[model][studio]") {
  json d = patched(R"([
    {"op": "remove", "path": "/states/1/properties/body"},
    {"op": "replace", "path": "/states/3/transitions/1/conditions/0/type", "value": "fuzzy"},
    {"op": "replace", "path": "/states/5/transitions/0/next", "value": "nowhere"},
    {"op": "replace", "path": "/initial_state", "value": "hello"}])");
  auto errors = validate_flow(d);
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].message == "Widget \"hello\" of type send-message: property \"body\" is required");
  CHECK(errors[0].property_path == "#/states/1/properties/body");
  CHECK(errors[1].message == "Widget \"split\" of type split-based-on: condition type \"fuzzy\" is not supported");
  CHECK(errors[1].property_path == "#/states/3/transitions/1/conditions/0/type");
  CHECK(errors[2].message ==
        "Widget \"http\" of type make-http-request: transition \"success\" goes to \"nowhere\", which is not a "
        "widget of this flow");
  CHECK(errors[2].property_path == "#/states/5/transitions/0/next");
  CHECK(errors[3].message == "Flow definition: initial_state \"hello\" must name the trigger widget \"Trigger\"");
  CHECK(errors[3].property_path == "#/initial_state");

  auto f = parse_flow(d);
  REQUIRE_FALSE(f.ok());
  CHECK(f.err().message == errors[0].message);
}

TEST_CASE("studio flows: names of types, events and conditions", "[model][studio]") {
  for (auto t : {widget_type::trigger, widget_type::send_to_flex, widget_type::send_message,
                 widget_type::send_and_wait_for_reply, widget_type::split_based_on, widget_type::set_variables,
                 widget_type::make_http_request}) {
    CHECK(sb::model::widget_type_named(sb::model::widget_type_name(t)) == t);
    CHECK_FALSE(sb::model::widget_events(t).empty());
  }
  CHECK_FALSE(sb::model::widget_type_named("say-play"));
  CHECK(sb::model::condition_type_named("is_after_time") == condition_type::is_after_time);
  CHECK(sb::model::condition_type_name(condition_type::does_not_match_any_of) == "does_not_match_any_of");
  CHECK_FALSE(sb::model::condition_type_named("fuzzy"));
  CHECK(sb::model::trigger_key("incomingConversationMessage") == "conversation");
  CHECK(sb::model::trigger_key("incomingRequest") == "request");
  CHECK(sb::model::trigger_key("sent").empty());
}

TEST_CASE("studio flows: property_integer reads numbers and digit strings", "[model][studio]") {
  using sb::model::property_integer;
  CHECK(property_integer(json(30)) == 30);
  CHECK(property_integer(json(30.0)) == 30);
  CHECK(property_integer(json(" 3600 ")) == 3600);
  CHECK(property_integer(json("+5")) == 5);
  CHECK(property_integer(json("-5")) == -5);
  CHECK_FALSE(property_integer(json(1.5)));
  CHECK_FALSE(property_integer(json("1.5")));
  CHECK_FALSE(property_integer(json("")));
  CHECK_FALSE(property_integer(json("12abc")));
  CHECK_FALSE(property_integer(json(nullptr)));
  CHECK_FALSE(property_integer(json(18446744073709551615ULL)));
}

namespace {

struct condition_row {
  const char* name;
  condition_type type;
  const char* subject;
  const char* value;
  bool holds;
};

const condition_row condition_rows[] = {
  {"equal_to ignores case", condition_type::equal_to, "YES", "yes", true},
  {"equal_to differs", condition_type::equal_to, "yes!", "yes", false},
  {"not_equal_to", condition_type::not_equal_to, "no", "yes", true},
  {"not_equal_to ignores case", condition_type::not_equal_to, "Yes", "yes", false},
  {"matches_any_of", condition_type::matches_any_of, "Maybe", "yes, maybe ,no", true},
  {"matches_any_of none", condition_type::matches_any_of, "perhaps", "yes,maybe,no", false},
  {"does_not_match_any_of", condition_type::does_not_match_any_of, "perhaps", "yes,maybe", true},
  {"does_not_match_any_of a member", condition_type::does_not_match_any_of, "YES", "yes,maybe", false},
  {"is_blank", condition_type::is_blank, "  \t", "", true},
  {"is_blank with text", condition_type::is_blank, " a ", "", false},
  {"is_not_blank", condition_type::is_not_blank, "a", "", true},
  {"regex searches", condition_type::regex, "order 1234", "[0-9]{4}", true},
  {"regex anchored", condition_type::regex, "order 1234", "^[0-9]+$", false},
  {"regex that does not compile", condition_type::regex, "(", "(", false},
  {"contains ignores case", condition_type::contains, "I want a REFUND", "refund", true},
  {"contains not", condition_type::contains, "hello", "bye", false},
  {"does_not_contain", condition_type::does_not_contain, "hello", "bye", true},
  {"starts_with ignores case", condition_type::starts_with, "Stop now", "STOP", true},
  {"starts_with not", condition_type::starts_with, "please stop", "stop", false},
  {"does_not_start_with", condition_type::does_not_start_with, "please stop", "stop", true},
  {"less_than", condition_type::less_than, "9", "10", true},
  {"less_than compares numbers, not text", condition_type::less_than, "10", "9", false},
  {"less_than with decimals", condition_type::less_than, "2.5", "2.75", true},
  {"less_than a word", condition_type::less_than, "abc", "10", false},
  {"greater_than", condition_type::greater_than, "-1", "-2", true},
  {"greater_than equal", condition_type::greater_than, "3", "3.0", false},
  {"is_before_time", condition_type::is_before_time, "09:15", "13:00", true},
  {"is_before_time later", condition_type::is_before_time, "14:00", "13:00", false},
  {"is_before_time with pm", condition_type::is_before_time, "1:30 PM", "13:45", true},
  {"is_after_time with seconds", condition_type::is_after_time, "13:00:01", "13:00", true},
  {"is_after_time instants", condition_type::is_after_time, "2024-03-05T14:07:09Z", "2024-03-04T20:00:00Z", true},
  {"is_before_time instant against a time of day", condition_type::is_before_time, "2024-03-05T14:07:09Z", "15:00",
   true},
  {"is_after_time a word", condition_type::is_after_time, "later", "13:00", false},
};

} // namespace

TEST_CASE("studio flows: split conditions compare as Studio does", "[model][studio]") {
  for (const auto& row : condition_rows) DYNAMIC_SECTION(row.name) {
    sb::model::split_condition c;
    c.type = row.type;
    CHECK(sb::model::condition_holds(c, row.subject, row.value) == row.holds);
  }
}
