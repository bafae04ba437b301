#pragma once
// The Studio interpreter as a pure step machine. It runs the synchronous
// widgets (split-based-on, set-variables) itself and stops at the first
// widget that needs the outside world, returning that need as an effect; the
// caller performs it and reports the outcome through resume(). Nothing here
// sends, waits, reads a clock or throws.
//
// An execution's context, which every template renders against:
//   {"trigger": {"<message|call|conversation|request|parent>": {...}},
//    "flow": {"flow_sid": "FW...", "sid": "FN...", "channel": {"address": ...},
//             "data": {...}, "variables": {...}},
//    "widgets": {"<name>": <the widget's output>, ...},
//    "contact": {"channel": {"address": ...}}}

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/clock.hpp"
#include "model/studio_flow.hpp"

namespace sb::model {

// transitioned_to of the step that ends an execution.
inline constexpr std::string_view ended_state = "Ended";
// Synchronous widgets one start() or resume() may run before the execution
// is ended as a loop.
inline constexpr int max_synchronous_steps = 1000;

// One transition, as Twilio's Execution Step resource shows it.
struct step_record {
  std::string name;               // the event: "incomingMessage", "match", "sent", ...; "error" for a failure
  std::string type;               // transitioned_from's widget type
  std::string transitioned_from;  // the widget left
  std::string transitioned_to;    // the widget entered, or ended_state
  nlohmann::json context;         // the output of transitioned_from (see resume / the synchronous widgets)
};

enum class effect_kind : std::uint8_t {
  none,            // nothing to do: the call did not apply (see start / resume)
  send_to_flex,    // create a task; resume with callComplete, failedToEnqueue or callFailure
  send_message,    // send a message; resume with sent or failed
  wait_for_reply,  // send a message, then wait timeout_s; resume with incomingMessage, timeout or deliveryFailure
  http_request,    // make the request, timeout_s at most; resume with success or failed
  ended,           // the execution has ended
};

// "send_to_flex", "wait_for_reply", ...
std::string_view effect_kind_name(effect_kind kind);

// What the execution waits on. args holds the widget's rendered properties
// (every property, strings rendered), normalised per kind:
//   send_message / wait_for_reply: body, from (default flow.channel.address),
//     to (default contact.channel.address), media_url when given.
//   send_to_flex: workflow, channel, attributes (a JSON object when the
//     rendered text is one, else the text), priority (an integer; dropped when
//     the rendered text is not one), timeout (seconds, default 86400).
//   http_request: method, content_type, parameters ([{key, value}] rendered),
//     timeout; url is the request URL (GET: parameters appended as a query);
//     body is what to send: POST form, the parameters form-encoded; POST
//     JSON, the rendered body template; absent for GET.
//   ended: {"error": "..."} when the execution ended on a failure, else {}.
struct effect {
  effect_kind kind = effect_kind::none;
  std::string widget;  // the widget waiting; for ended, the last widget run
  nlohmann::json args = nlohmann::json::object();
  int timeout_s = 0;   // wait_for_reply, send_to_flex, http_request
};

struct execution {
  std::string current;  // the widget waiting on an effect; once ended, the last widget run
  nlohmann::json context = nlohmann::json::object();
  bool ended = false;
};

// A fresh execution whose context holds the flow and contact parts above,
// with empty widgets and variables. data may be null (then {}).
execution new_execution(std::string_view flow_sid, std::string_view execution_sid, std::string_view flow_address,
                        std::string_view contact_address, nlohmann::json data);

// Enters the trigger with trigger_event, stores trigger under
// context.trigger.<trigger_key(trigger_event)>, and runs until a widget needs
// the outside world or the execution ends, appending each transition to
// steps. A trigger event without a next ends the execution at once. Returns
// none (and changes nothing) when trigger_event is not a trigger event or
// the execution has already started. now is "now" for date filters.
effect start(const flow_definition& flow, execution& x, std::string_view trigger_event, nlohmann::json trigger,
             time_point now, std::vector<step_record>& steps);

// Reports the outcome of the effect x waits on: event is one of the waiting
// widget's events and output its result, stored as context.widgets.<name>
// (e.g. {"inbound": {"Body": "yes"}} for a reply; {"status_code": 200,
// "content_type": ..., "body": "..."} for a request, to which "parsed" is
// added when the body is JSON text). Then continues as start does. Returns
// none (and changes nothing) when x has ended, has not started, or event is
// not an event of the waiting widget.
effect resume(const flow_definition& flow, execution& x, std::string_view event, nlohmann::json output,
              time_point now, std::vector<step_record>& steps);

} // namespace sb::model
