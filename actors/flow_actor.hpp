#pragma once
// The executions of one Studio flow. It starts an execution for a REST
// call (incomingRequest) or for a conversation message (from a studio
// webhook: incomingConversationMessage, else incomingMessage), runs it with
// studio_engine, and performs what the engine asks for:
//   - send-message / send-and-wait-for-reply: a message in the execution's
//     conversation (a REST execution opens one to its To address, with the
//     flow's studio webhook); the conversation's next customer message
//     resumes a waiting execution, or its timeout does;
//   - send-to-flex: a Flex interaction on the conversation (the workflow's
//     workspace is looked up); once it exists the conversation's studio
//     webhook is removed, so the flow no longer sees that conversation;
//   - make-http-request: through the HTTP client, within its timeout.
// Executions and their steps are durable (scoped by the flow). After a
// restart, an execution that waited for a reply waits on with the time it
// had left; one whose request was under way resumes with that widget's
// failure event (nothing is sent twice).

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "actors/studio_messages.hpp"
#include "actors/webhook_actor.hpp"
#include "metrics/metrics.hpp"
#include "model/studio_engine.hpp"

namespace sb::actors {

struct studio_options {
  caf::actor conversations; // Conversations root
  caf::actor interactions;  // Flex interactions root (send-to-flex)
  caf::actor directory;     // TaskRouter root (which workspace has a workflow)
  caf::actor store;         // may be invalid
  http_post_fn http;        // make-http-request; may be empty (the widget fails)
  // Ended executions are kept this long (and at most max_ended per flow).
  std::chrono::seconds retention{24 * 3600};
  std::size_t max_ended = 10000;
  metrics::flex_metrics metrics; // families may be null: nothing is counted
};

struct flow_state {
  struct run {
    model::studio::execution record;
    model::execution x; // the interpreter's state
    std::shared_ptr<const model::flow_definition> definition;
    std::vector<model::studio::step> steps;
    std::uint64_t seq = 0; // bumps with every effect: a late outcome of an older one is dropped
  };
  model::studio::flow flow;
  std::map<int, std::shared_ptr<const model::flow_definition>> definitions; // by revision
  studio_options options;
  std::unordered_map<std::string, run> runs; // by FN
  std::vector<std::string> order;            // FN by creation
  std::unordered_map<std::string, std::string> by_conversation; // CH -> active FN
  durable_writes<st_reply> durable;
  static inline const char* name = "studio_flow";
};

using flow_actor_type = caf::stateful_actor<flow_state>;

// definitions: every revision's parsed definition (the newest is the
// flow's); executions and steps: what a restart read back for this flow.
caf::behavior flow_actor(flow_actor_type* self, model::studio::flow flow,
                         std::map<int, std::shared_ptr<const model::flow_definition>> definitions,
                         studio_options options, std::vector<model::studio::execution> executions,
                         std::vector<model::studio::step> steps);

} // namespace sb::actors
