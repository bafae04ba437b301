#pragma once
// A Studio (studio/v2) flow definition in Twilio's JSON format: widgets
// ("states") with typed transitions and Liquid-templated properties, checked
// as Twilio checks them when a flow is saved. An invalid definition is error
// 20001 (HTTP 400) whose message names the offending widget.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/error.hpp"
#include "model/studio_template.hpp"

namespace sb::model {

enum class widget_type : std::uint8_t {
  trigger,
  send_to_flex,
  send_message,
  send_and_wait_for_reply,
  split_based_on,
  set_variables,
  make_http_request,
};

// Twilio's name of the type: "send-to-flex", "split-based-on", ...
std::string_view widget_type_name(widget_type type);
std::optional<widget_type> widget_type_named(std::string_view name);

// The events a widget of the type may transition on, in Twilio's order.
std::span<const std::string_view> widget_events(widget_type type);

// Where a trigger event's payload sits under the context's "trigger":
// incomingMessage -> "message", incomingCall -> "call",
// incomingConversationMessage -> "conversation", incomingRequest ->
// "request", incomingParent -> "parent"; "" for any other event.
std::string_view trigger_key(std::string_view trigger_event);

enum class condition_type : std::uint8_t {
  equal_to,
  not_equal_to,
  matches_any_of,
  does_not_match_any_of,
  is_blank,
  is_not_blank,
  regex,
  contains,
  does_not_contain,
  starts_with,
  does_not_start_with,
  less_than,
  greater_than,
  is_before_time,
  is_after_time,
};

std::string_view condition_type_name(condition_type type);
std::optional<condition_type> condition_type_named(std::string_view name);

// One condition of a split-based-on "match" transition.
struct split_condition {
  std::string friendly_name;
  condition_type type = condition_type::equal_to;
  std::vector<template_text> arguments;  // the tested text is arguments[0]; the widget's input when empty
  template_text value;                   // what it is tested against
  std::shared_ptr<const std::regex> pattern;  // type regex with a literal value: compiled at parse
};

// Whether c holds for the rendered subject and value, as Studio compares:
// equal_to, matches_any_of (a comma-separated list, items trimmed),
// contains and starts_with ignore ASCII case; is_blank ignores whitespace;
// regex searches (ECMAScript; a value that does not compile never matches);
// less_than / greater_than compare numbers (false when either is not one);
// is_before_time / is_after_time compare "HH:MM[:SS]" times of day, or
// instants when both are ISO-8601 date-times (a date-time against a time of
// day uses its UTC time of day; false when either is neither).
bool condition_holds(const split_condition& c, std::string_view subject, std::string_view value);

struct transition {
  std::string event;
  std::string next;  // the widget to go to; "" ends the execution
  std::vector<split_condition> conditions;  // split-based-on "match" only; all must hold
};

struct widget {
  std::string name;
  widget_type type = widget_type::trigger;
  std::vector<transition> transitions;
  // Every property; strings anywhere inside are parsed templates.
  std::map<std::string, json_template, std::less<>> properties;

  // The first transition on event, or null.
  const transition* on(std::string_view event) const;
  // The property named key, or null.
  const json_template* property(std::string_view key) const;
};

// Limits and defaults of widget properties, in seconds.
inline constexpr long long max_execution_seconds = 2592000;  // an execution lives at most 30 days
inline constexpr int default_reply_timeout = 3600;            // send-and-wait-for-reply
inline constexpr int default_flex_task_timeout = 86400;       // send-to-flex
inline constexpr int default_http_timeout = 10;               // make-http-request
inline constexpr int max_http_timeout = 30;

// A whole number held by a property value: a JSON integer (or integral
// float) or a string of digits with an optional sign; nullopt otherwise.
std::optional<long long> property_integer(const nlohmann::json& value);

// One problem of a definition.
struct flow_error {
  std::string message;        // names the widget, e.g. Widget "split" of type split-based-on: ...
  std::string property_path;  // JSON pointer into the definition, as "#/states/2/transitions/0/next"
};

struct flow_definition {
  nlohmann::json definition;  // as given, echoed by the REST layer
  std::string description;
  std::string initial_state = "Trigger";
  nlohmann::json flags = nlohmann::json::object();
  std::vector<widget> states;  // in definition order
  std::map<std::string, std::size_t, std::less<>> index;  // widget name -> position in states

  // The widget named name, or null.
  const widget* find(std::string_view name) const;
};

// Every problem of definition, in definition order; empty when it is valid.
// Checks: the document and states array; widget names (present, unique),
// types and properties (required ones present, timeouts and priority in
// range when they are not templates, every string a valid template with
// known variables and filters); each transition's event belongs to the type,
// at most once (except "match"), and its next names a widget other than the
// trigger; match conditions (known type, a value where one is needed, a
// regex that compiles, a number or time where one is compared); exactly one
// trigger, and it is the initial_state (default "Trigger").
std::vector<flow_error> validate_flow(const nlohmann::json& definition);

// The parsed flow, or the first problem validate_flow finds as error 20001.
expected<flow_definition> parse_flow(const nlohmann::json& definition);

} // namespace sb::model
