#pragma once
// Studio v2 records as the API and the store see them: flows and their
// revisions, executions and their steps. The definition's meaning (widgets,
// templates, the interpreter) is in studio_flow and studio_engine.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "model/clock.hpp"

namespace sb::model::studio {

struct flow {
  std::string sid; // FW
  std::string account_sid;
  std::string friendly_name;
  std::string status = "draft"; // draft or published
  std::string definition;       // JSON text, as given
  int revision = 1;
  std::string commit_message;
  std::string author_sid;
  time_point created, updated;
};

// One saved state of a flow (every create and update makes one).
struct flow_revision {
  std::string sid; // FW, the flow's
  std::string account_sid;
  std::string friendly_name;
  std::string status;
  std::string definition;
  int revision = 1;
  std::string commit_message;
  std::string author_sid;
  time_point created, updated;
};
// The key a revision is stored under: "FW.../<revision>".
std::string revision_key(const std::string& flow_sid, int revision);

// What an active execution waits on (studio_engine's effect kinds).
enum class waiting : std::uint8_t { nothing, send_to_flex, send_message, reply, http_request };

struct execution {
  std::string sid; // FN
  std::string account_sid;
  std::string flow_sid;
  int flow_revision = 1;
  std::string contact_channel_address;
  std::string flow_channel_address;
  std::string initiated_by; // a participant or a REST caller (the account)
  std::string status = "active"; // active or ended
  std::string context;           // JSON text of the interpreter's context
  std::string current;           // the widget waiting, or the last one run
  waiting waits = waiting::nothing;
  std::optional<time_point> deadline; // a reply's timeout
  // The conversation the execution talks through (a conversation trigger's,
  // or one it opened to send), and the studio webhook that feeds it.
  std::string conversation_sid;
  std::string chat_service_sid;
  std::string webhook_sid;
  std::string channel_type; // sms, whatsapp, chat
  time_point created, updated;
};

struct step {
  std::string sid; // FT
  std::string account_sid;
  std::string flow_sid;
  std::string execution_sid;
  std::string name;
  std::string type;
  std::string transitioned_from;
  std::string transitioned_to;
  std::string context; // JSON text
  time_point created, updated;
};

// Wire forms; base is the studio public base URL (https://studio.twilio.com).
nlohmann::json to_json(const flow& x, const std::string& base);
nlohmann::json to_json(const flow_revision& x, const std::string& base);
nlohmann::json to_json(const execution& x, const std::string& base);
nlohmann::json execution_context_json(const execution& x, const std::string& base);
nlohmann::json to_json(const step& x, const std::string& base);
nlohmann::json step_context_json(const step& x, const std::string& base);

} // namespace sb::model::studio
