#pragma once
// Flex Interactions (flex-api v1) value types: an interaction binds one
// conversation (its media channel) to the TaskRouter tasks that route it.
// An interaction has one channel; the channel keeps its participants (the
// customer, agents, supervisors), its invites and the tasks routed for it.
//
// The Channel and Routing request fields are JSON documents inside form
// fields; their parsers here decide which inner keys Switchboard reads
// (README, "Interactions").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/clock.hpp"
#include "model/error.hpp"

namespace sb::model::flex {

// ------------------------------------------------------------ requests --

// One party of a channel that does not exist yet: a messaging address pair
// (sms, whatsapp, ...) or a chat identity (chat, web).
struct party_spec {
  std::string address;
  std::string proxy_address;
  std::string identity;
  std::string name;
};

// The Channel field of an interaction create.
struct channel_spec {
  std::string type;                  // sms whatsapp chat web messenger gbm email
  std::string initiated_by = "api";  // customer api agent
  std::string media_channel_sid;     // CH of an existing conversation, or empty
  std::vector<party_spec> participants;
};
expected<channel_spec> parse_channel_spec(std::string_view text);

// The Routing field of an interaction create or an invite: which workspace
// routes the task and how.
struct routing_spec {
  std::string workspace_sid;
  std::string workflow_sid;
  std::string queue_sid;
  std::string worker_sid;
  std::string task_channel; // a task channel SID or unique name; empty: from the channel type
  std::optional<int> priority;
  std::optional<int> timeout;
  std::string attributes = "{}"; // a JSON object's text
};
// field names the form field in messages ("Routing").
expected<routing_spec> parse_routing_spec(std::string_view text, std::string_view field = "Routing");

// The task channel a channel type routes on when Routing names none.
std::string default_task_channel(std::string_view channel_type);

// ------------------------------------------------------------- records --

enum class channel_status : std::uint8_t { setup, active, failed, closed, inactive, pause, transfer };
const char* to_string(channel_status s);

enum class participant_type : std::uint8_t { supervisor, customer, external, agent, unknown };
const char* to_string(participant_type t);
std::optional<participant_type> parse_participant_type(std::string_view s);

// Switchboard's own: Twilio's participant answer carries no status.
enum class participant_status : std::uint8_t { active, wrapup, closed };
const char* to_string(participant_status s);

// A party of a channel. Customers, externals and agents are also
// participants (MB) of the conversation; supervisors are not: they watch.
struct channel_participant {
  std::string sid; // UT
  participant_type type = participant_type::unknown;
  participant_status status = participant_status::active;
  std::string conversation_participant_sid; // MB
  std::string identity;
  std::string address;
  std::string proxy_address;
  // routing_properties: the task that brought an agent in.
  std::string workspace_sid;
  std::string worker_sid;
  std::string task_sid;
  std::string reservation_sid;
  time_point created, updated;
};

// A task routed for a channel: the interaction's own, or an invite's.
struct channel_task {
  std::string task_sid; // WT
  std::string workspace_sid;
  std::string invite_sid; // KG, empty for the interaction's task
  std::string worker_sid;
  std::string reservation_sid;
  std::string status = "pending"; // the task's assignment status as last seen
  bool auto_accept = false;       // agent-initiated: its reservation is accepted at once
};

struct channel_invite {
  std::string sid; // KG
  std::string task_sid;
  std::string routing; // the answer's routing object, as JSON text
  time_point created;
};

struct interaction_channel {
  std::string sid; // UO
  std::string account_sid;
  std::string interaction_sid;
  std::string type;
  channel_status status = channel_status::active;
  std::optional<int> error_code;
  std::string error_message;
  std::string conversation_sid; // CH: the channel's media
  std::string initiated_by;
  std::vector<channel_participant> participants;
  std::vector<channel_task> tasks;
  std::vector<channel_invite> invites;
  time_point created, updated;
};

struct interaction {
  std::string sid; // KD
  std::string account_sid;
  std::string channel_sid; // UO
  std::string channel;     // the answer's channel object, as JSON text
  std::string routing;     // the answer's routing object, as JSON text
  std::string interaction_context_sid;
  std::string webhook_ttid;
  time_point created, updated;
};

// True while a task may still reach or hold an agent.
bool task_live(const channel_task& t);

// ------------------------------------------------------------ wire form --

// base: the flex-api public base URL (https://flex-api.twilio.com).
nlohmann::json to_json(const interaction& x, const std::string& base);
nlohmann::json to_json(const interaction_channel& x, const std::string& base);
nlohmann::json to_json(const channel_participant& x, const interaction_channel& ch, const std::string& base);
nlohmann::json to_json(const channel_invite& x, const interaction_channel& ch, const std::string& base);

// The routing object of a create or invite answer around a task's JSON:
// {"reservation": null, "properties": task} with the task's dates as epoch
// seconds, as Twilio's examples show them.
nlohmann::json routing_answer(nlohmann::json task);

} // namespace sb::model::flex
