#pragma once
// The Conversations root: every account's configuration and services, which
// conversations exist (a copy of each record, for lists), their unique names
// and the messaging bindings held by open conversations. Calls addressed to
// one conversation are forwarded to its actor; the root looks at the answer
// only to keep its indexes right. Another account's conversation or service
// answers exactly as an absent one does.

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/conversation_actor.hpp"
#include "actors/cv_messages.hpp"
#include "actors/durable.hpp"
#include "actors/timer.hpp"
#include "metrics/metrics.hpp"
#include "store/image.hpp"

namespace sb::actors {

// Where a conversation lives: a running actor, or only its record here and
// the rest in the store; in between, calls for it wait in `parked`.
enum class residence : std::uint8_t { live, passivating, activating, passive };

struct conversations_state {
  struct account_entry {
    model::cv::account_config config;
    std::vector<model::cv::service> services; // creation order
  };
  struct conversation_entry {
    model::cv::conversation conv;
    caf::actor actor; // invalid while passive
    std::uint64_t seq = 0; // its key in order
    residence where = residence::live;
  };
  // A call for a conversation that is being stopped or started, with what
  // forward() needs to send it on.
  struct parked_call {
    cv_call call;
    caf::response_promise rp;
    std::pair<std::string, std::string> binding;
    std::string name;
  };
  conversation_options options;
  std::unordered_map<std::string, account_entry> accounts;
  std::unordered_map<std::string, conversation_entry> conversations;
  std::map<std::uint64_t, std::string> order; // conversation SIDs in creation order
  std::uint64_t next_seq = 0;
  std::map<std::pair<std::string, std::string>, std::string> unique_names; // (service, name) -> CH
  // (account, address, proxy) -> CH: the binding rule holds per account.
  std::map<std::tuple<std::string, std::string, std::string>, std::string> bindings;
  durable_writes<cv_reply> durable;
  // Conversation creations waiting for their onConversationAdd pre-action
  // webhook, by request number.
  std::unordered_map<std::uint64_t, std::pair<cv_call, caf::response_promise>> pre_pending;
  std::uint64_t next_hook = 0;
  // Passivation: calls waiting for a conversation between residences, the
  // state timers of passive conversations (keyed by CH SID; the due ones
  // are started again), and the counts behind the metrics.
  std::unordered_map<std::string, std::vector<parked_call>> parked;
  actor_timers timers;
  std::size_t live = 0, passive = 0;
  metrics::conversation_metrics metrics;
  static inline const char* name = "conversations";
};

using conversations_actor_type = caf::stateful_actor<conversations_state>;

// image: what a restart recovered (empty on a fresh start). With
// passivation on (options.passivate_after and a store), recovered
// conversations start passive: only their records are kept here.
caf::behavior conversations_actor(conversations_actor_type* self, conversation_options options,
                                  std::shared_ptr<const store::conversations_image> image,
                                  metrics::conversation_metrics metrics);

} // namespace sb::actors
