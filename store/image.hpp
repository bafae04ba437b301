#pragma once
// What a restart reads back: each workspace's entities and recent events,
// and each conversation with its participants, messages and webhooks,
// decoded and in the order their owners keep them.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace sb::store {

struct workspace_image {
  model::workspace workspace;
  std::vector<model::activity> activities;        // by creation
  std::vector<model::task_channel> channels;      // by creation
  std::vector<model::task_queue> queues;          // by creation
  std::vector<model::workflow> workflows;         // by creation
  std::vector<model::worker> workers;             // by creation
  std::vector<model::task> tasks;                 // by creation order
  std::vector<model::reservation> reservations;   // by creation
  std::vector<std::shared_ptr<const model::event>> events; // oldest first
};

// One conversation and everything in its scope (rows scoped by its SID).
struct conversation_image {
  model::cv::conversation conversation;
  std::vector<model::cv::participant> participants;      // by creation
  std::vector<model::cv::message> messages;              // by index
  std::vector<model::cv::conversation_webhook> webhooks; // by creation
};

// Conversations of every account: configurations, services,
// conversations and address configurations are scoped by their account SID.
struct conversations_image {
  std::vector<model::cv::account_config> configs; // by account SID
  std::vector<model::cv::service> services;       // by creation
  std::vector<conversation_image> conversations;  // by creation
  std::vector<model::cv::address_configuration> addresses; // by creation
};

struct recovered {
  std::vector<std::shared_ptr<workspace_image>> workspaces; // by creation
  conversations_image conversations;
  // Every account's Conversations media metadata (rows scoped by their
  // service SID), by creation; media of a service that is gone is left out
  // and its scope listed in orphan_scopes.
  std::vector<model::cv::media> media;
  // API keys of every account, by creation.
  std::vector<model::api_key> api_keys;
  // Flex interactions and their channels, by creation.
  std::vector<model::flex::interaction> interactions;
  std::vector<model::flex::interaction_channel> interaction_channels;
  // Studio: flows, revisions, executions and steps, by creation (rows of a
  // flow that is gone are left out and their scope listed in orphan_scopes).
  std::vector<model::studio::flow> studio_flows;
  std::vector<model::studio::flow_revision> studio_revisions;
  std::vector<model::studio::execution> studio_executions;
  std::vector<model::studio::step> studio_steps;
  // Scopes whose owner (a workspace, a conversation, a service) is gone (a delete
  // raced a last write): their rows are not restored and should be erased.
  std::vector<std::string> orphan_scopes;
  std::size_t entities = 0;
  std::size_t events = 0;
};

// Reads everything back. Events older than events_since_ms are left out and
// at most max_events (the newest) per workspace are kept. A row that cannot be
// decoded stops the recovery with store_error naming it: starting with part of
// the data would silently lose the rest.
recovered recover(database& db, std::int64_t events_since_ms, std::size_t max_events);

// One conversation brought back from its scope's rows (a passive
// conversation started again), in the order recover() gives. Rows of other
// kinds are ignored; one that cannot be decoded throws store_error naming it.
conversation_image conversation_from_rows(model::cv::conversation conv, const std::vector<row>& rows);

} // namespace sb::store
