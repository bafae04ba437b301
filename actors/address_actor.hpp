#pragma once
// Conversations address configurations of every account
// (/v1/Configuration/Addresses): which addresses auto-create a conversation
// for an inbound message, and how. At most one configuration per (type,
// address) and account. The API reaches it with cv_call (the address_* ops);
// the inbound messaging edge asks it with address_lookup. Another account's
// configuration answers exactly as an absent one does.

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/cv_messages.hpp"
#include "actors/durable.hpp"
#include "model/conversations.hpp"

namespace sb::actors {

// edge -> address actor: the configuration of this address, if any. type is
// an address type (sms, whatsapp, ...); a whatsapp address may come with or
// without its "whatsapp:" prefix. Answered with address_lookup_reply.
struct address_lookup {
  std::string account_sid;
  std::string type;
  std::string address;
};

struct address_lookup_reply {
  std::optional<model::cv::address_configuration> config;
};

struct address_state {
  std::unordered_map<std::string, model::cv::address_configuration> configs; // by IG SID
  std::unordered_map<std::string, std::vector<std::string>> order; // account -> IG SIDs by creation
  // (account, type, canonical address) -> IG SID
  std::map<std::tuple<std::string, std::string, std::string>, std::string> index;
  durable_writes<cv_reply> durable;
  static inline const char* name = "addresses";
};

using address_actor_type = caf::stateful_actor<address_state>;

// store may be invalid (nothing is written); recovered: what a restart read
// back, in creation order.
caf::behavior address_actor(address_actor_type* self, caf::actor store,
                            std::vector<model::cv::address_configuration> recovered);

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::address_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::address_lookup_reply)
