#pragma once
// Studio's message vocabulary: API calls into the studio root and its flow
// actors, the conversation messages that trigger or resume executions, and
// the root's word to a flow actor about its flow.

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "model/conversations.hpp"
#include "model/error.hpp"
#include "model/form.hpp"
#include "model/studio.hpp"
#include "model/studio_flow.hpp"

namespace sb::actors {

enum class st_op : std::uint8_t {
  flow_create, flow_list, flow_fetch, flow_update, flow_delete, flow_validate,
  revision_list, revision_fetch,
  execution_create, execution_list, execution_fetch, execution_update, execution_delete, execution_context,
  step_list, step_fetch, step_context,
};

struct st_call {
  st_op op = st_op::flow_fetch;
  std::string account_sid;
  std::string flow_sid; // FW
  std::string sid;      // FN, or a revision number
  std::string sub_sid;  // FT
  model::form params;
  page_request page;
};

// How a reply renders: the resource, or its Context document.
enum class st_view : std::uint8_t { plain, context };
// POST /v2/Flows/Validate's answer.
struct st_valid {};

using st_resource = std::variant<model::studio::flow, model::studio::flow_revision, model::studio::execution,
                                 model::studio::step, st_valid>;

struct st_page {
  std::vector<st_resource> items;
  bool has_more = false;
};

struct st_reply {
  std::variant<model::error, st_resource, st_page, std::monostate> value;
  bool created = false;
  st_view view = st_view::plain;
};

inline st_reply st_fail(model::error e) { return st_reply{std::move(e)}; }
inline st_reply st_one(st_resource r, bool created = false, st_view view = st_view::plain) {
  st_reply out{std::move(r)};
  out.created = created;
  out.view = view;
  return out;
}

// conversation -> studio root: a message was added to a conversation that
// has a studio webhook (flow_sid); it starts an execution, or resumes the
// one waiting for a reply there. Sent once the message is committed, for
// messages whose author is a participant other than an agent.
struct studio_message {
  std::string account_sid;
  std::string flow_sid;
  std::string webhook_sid;
  model::cv::conversation conversation;
  model::cv::message message;
  std::string participant_sid;
  std::string author_address; // the author's address (or identity for chat)
  std::string proxy_address;  // the address the customer wrote to
  std::string channel_type;   // sms, whatsapp or chat
};

// main -> Conversations root, at start: where studio webhooks' messages go
// (Studio starts after Conversations, which it sends messages through).
using studio_root_atom = caf::atom_constant<caf::atom("st_root")>;

// root -> flow actor: its flow (created, changed); executions that start
// from now on use this definition.
struct flow_setup {
  model::studio::flow flow;
  std::shared_ptr<const model::flow_definition> definition;
};

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::st_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::st_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::studio_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::flow_setup)
