#pragma once
// What the store keeps: every durable entity as a typed value, and the batch
// of changes one owner hands the store writer at a time. A batch is applied
// all or nothing, so the changes of one actor message never land half-way.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/conversations.hpp"
#include "model/access_token.hpp"
#include "model/interactions.hpp"
#include "model/media.hpp"
#include "model/studio.hpp"
#include "model/taskrouter.hpp"

namespace sb::store {

// New kinds are appended: a kind's index is part of the stored format.
using entity = std::variant<model::workspace, model::activity, model::task_channel,
                            model::task_queue, model::worker, model::workflow, model::task,
                            model::reservation,
                            // Conversations (from index 8).
                            model::cv::service, model::cv::account_config,
                            model::cv::conversation, model::cv::participant,
                            model::cv::message, model::cv::conversation_webhook,
                            // Conversations address configurations (index 14).
                            model::cv::address_configuration,
                            // Conversations media metadata (index 15; the content is a file).
                            model::cv::media,
                            // API keys (index 16), scoped by their account.
                            model::api_key,
                            // Flex interactions and their channels (17, 18), scoped by their account.
                            model::flex::interaction, model::flex::interaction_channel,
                            // Studio (19-22): flows scoped by their account; revisions
                            // (under "FW/<n>"), executions and steps by their flow.
                            model::studio::flow, model::studio::flow_revision,
                            model::studio::execution, model::studio::step>;

// The kind names used as keys in the database, in the variant's order:
// workspace, activity, task_channel, task_queue, worker, workflow, task,
// reservation, cv_service, cv_config, conversation, participant, message,
// cv_webhook, cv_address, media, api_key, interaction, interaction_channel,
// studio_flow, studio_revision, studio_execution, studio_step.
const char* kind_name(std::size_t index);
std::optional<std::size_t> kind_index(std::string_view name);
inline const char* kind_of(const entity& e) { return kind_name(e.index()); }

// The SID an entity is stored under: its sid, or for an account's
// Conversations configuration (which has none) its account SID.
inline const std::string& sid_of(const entity& e) {
  return std::visit(
    [](const auto& x) -> const std::string& {
      if constexpr (std::is_same_v<std::decay_t<decltype(x)>, model::cv::account_config>)
        return x.account_sid;
      else
        return x.sid;
    },
    e);
}

// Which entity a change is about. scope is the owner: the account for a
// workspace, the workspace for everything in it; the account for a
// Conversations service, configuration, conversation or address
// configuration, the conversation for its participants, messages and webhooks,
// the Conversations service for its media.
struct key {
  std::string kind;
  std::string sid;
  bool operator<(const key& o) const { return kind != o.kind ? kind < o.kind : sid < o.sid; }
  bool operator==(const key& o) const { return kind == o.kind && sid == o.sid; }
};

// Put (doc set) or erase (doc empty) one entity. The document is encoded by
// the owner when it hands the change over, so the store writer, the one
// thread every change passes through, only writes.
struct change {
  key what;
  std::string scope;
  std::optional<std::string> doc;
};

// One new event, encoded the same way.
struct event_record {
  std::string scope; // workspace SID
  std::string sid;
  std::int64_t at_ms = 0;
  std::string doc;
};

// One owner's changes from one message: applied in one transaction.
struct write_batch {
  std::vector<std::string> erased_scopes; // everything in these scopes goes (workspace delete)
  std::vector<change> changes;
  std::vector<event_record> events;
  bool empty() const { return erased_scopes.empty() && changes.empty() && events.empty(); }
};

// Constructors that encode (defined with the codec).
change put(std::string scope, std::string sid, const entity& value);
// The same, under sid_of(value).
inline change put(std::string scope, const entity& value) { return put(std::move(scope), sid_of(value), value); }
event_record record_event(std::string scope, const model::event& e);
inline change erase(std::string kind, std::string sid, std::string scope) {
  return change{key{std::move(kind), std::move(sid)}, std::move(scope), std::nullopt};
}

} // namespace sb::store
