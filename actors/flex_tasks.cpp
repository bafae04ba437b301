#include "actors/flex_tasks.hpp"

#include <nlohmann/json.hpp>

#include "model/taskrouter_json.hpp"

namespace sb::actors {

model::expected<tr_call> flex_task_call(const flex_task_context& ctx, const model::flex::routing_spec& spec) {
  bool agent = ctx.initiated_by == "agent";
  if (agent && (spec.worker_sid.empty() || spec.queue_sid.empty()))
    return model::invalid_parameter(
      "Routing.properties needs worker_sid and queue_sid for an agent-initiated interaction");
  auto attrs = nlohmann::json::parse(spec.attributes, nullptr, false);
  if (!attrs.is_object())
    attrs = nlohmann::json::object();
  bool inbound = ctx.initiated_by == "customer";
  attrs["conversationSid"] = ctx.conversation_sid;
  attrs["flexInteractionSid"] = ctx.interaction_sid;
  attrs["flexInteractionChannelSid"] = ctx.channel_sid;
  if (!ctx.invite_sid.empty())
    attrs["flexChannelInviteSid"] = ctx.invite_sid;
  attrs["channelType"] = ctx.channel_type;
  attrs["direction"] = inbound ? "inbound" : "outbound";
  attrs["initiatedBy"] = ctx.initiated_by;
  attrs["conversations"] = {{"initiated_by", ctx.initiated_by},
                            {"communication_channel", ctx.channel_type},
                            {"direction", inbound ? "inbound" : "outbound"},
                            {"media", {{{"conversation_sid", ctx.conversation_sid}, {"type", "ChatTranscript"}}}}};
  if (!ctx.customer.empty() && !attrs.contains("customerAddress"))
    attrs["customerAddress"] = ctx.customer;
  if (!ctx.customer.empty() && !attrs.contains("from"))
    attrs["from"] = ctx.customer;
  tr_call c;
  c.op = tr_op::task_create;
  c.account_sid = ctx.account_sid;
  c.workspace_sid = spec.workspace_sid;
  c.params.add("Attributes", attrs.dump());
  c.params.add("TaskChannel", spec.task_channel.empty() ? model::flex::default_task_channel(ctx.channel_type)
                                                        : spec.task_channel);
  if (agent) {
    c.params.add("TaskQueueSid", spec.queue_sid);
    c.params.add("RoutingTarget", spec.worker_sid);
  } else if (!spec.workflow_sid.empty()) {
    c.params.add("WorkflowSid", spec.workflow_sid);
  } else if (!spec.queue_sid.empty()) {
    // Neither: the workspace's only workflow routes it (TaskRouter's rule).
    c.params.add("TaskQueueSid", spec.queue_sid);
    if (!spec.worker_sid.empty())
      c.params.add("RoutingTarget", spec.worker_sid);
  }
  if (spec.priority)
    c.params.add("Priority", std::to_string(*spec.priority));
  if (spec.timeout)
    c.params.add("Timeout", std::to_string(*spec.timeout));
  return c;
}

model::error flex_routing_error(const model::error& e) {
  if (e.kind == model::errc::not_found)
    return model::invalid_parameter("Routing: " + e.message);
  if (e.kind == model::errc::invalid_parameter)
    return model::invalid_parameter("Routing: " + e.message, e.code);
  return e;
}

std::string flex_routing_answer(const model::task& task, const std::string& account_sid,
                                const std::string& workspace_sid) {
  model::wire_context ctx{"https://taskrouter.twilio.com", account_sid, workspace_sid};
  return model::flex::routing_answer(model::to_json(task, ctx)).dump();
}

} // namespace sb::actors
