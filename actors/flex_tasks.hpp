#pragma once
// How a Flex interaction (or an invite) becomes a TaskRouter task: the task
// create call with Flex's attributes, and the routing object its answer
// shows. Shared by the interactions root and the channel actors.

#include <string>

#include "actors/messages.hpp"
#include "model/interactions.hpp"

namespace sb::actors {

struct flex_task_context {
  std::string account_sid;
  std::string channel_sid;     // UO
  std::string interaction_sid; // KD
  std::string conversation_sid;
  std::string channel_type;
  std::string initiated_by;
  std::string invite_sid; // KG, for an invite's task
  std::string customer;   // the customer's address or identity
};

// The task_create call: the routing's workflow (or queue; an agent-initiated
// interaction goes to its queue with RoutingTarget = the worker), task
// channel, priority and timeout, and its attributes with the keys Flex
// reads added (conversationSid, flexInteractionSid,
// flexInteractionChannelSid, flexChannelInviteSid, channelType, direction,
// initiatedBy, conversations{...}, customerAddress). An error when the
// routing lacks what the initiator needs.
model::expected<tr_call> flex_task_call(const flex_task_context& ctx, const model::flex::routing_spec& spec);

// A TaskRouter refusal as the interaction's answer: an absent workspace,
// workflow or queue is a bad Routing (400), anything else passes through.
model::error flex_routing_error(const model::error& e);

// The routing object of an answer, as JSON text, for a created task.
std::string flex_routing_answer(const model::task& task, const std::string& account_sid,
                                const std::string& workspace_sid);

} // namespace sb::actors
