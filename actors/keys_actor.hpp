#pragma once
// API keys of every account (Twilio's /2010-04-01/Accounts/{AC}/Keys): the
// SK SID, a friendly name and the secret that signs access tokens, durable
// in the store (kind "api_key", scoped by the account). The secret is
// answered only to the create; revoking a key is deleting it. Another
// account's key answers exactly as an absent one does.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "actors/messages.hpp"
#include "model/access_token.hpp"
#include "model/form.hpp"

namespace sb::actors {

// signing_key is internal (no route): the account's key that signs the
// tokens Switchboard mints itself (web chat guests), made on first use and
// answered with its secret.
enum class key_op : std::uint8_t { create, list, fetch, update, remove, signing_key };

// The friendly name of the key signing_key makes; revoking it (deleting it)
// invalidates the tokens it signed, and the next use makes a new one.
inline constexpr const char* signing_key_name = "Switchboard web chat";

struct key_call {
  key_op op = key_op::fetch;
  std::string account_sid;
  std::string sid; // SK (fetch, update, remove)
  model::form params;
  page_request page;
};

// An error, one key (with its secret only when created), a page of keys,
// or nothing (a delete).
struct key_page {
  std::vector<model::api_key> items;
  bool has_more = false;
};
struct key_reply {
  std::variant<model::error, model::api_key, key_page, std::monostate> value;
  bool created = false;
};

struct keys_state {
  std::vector<model::api_key> keys; // creation order
  durable_writes<key_reply> durable;
  static inline const char* name = "keys";
};

using keys_actor_type = caf::stateful_actor<keys_state>;

// store may be invalid (nothing is written); recovered: what a restart read back.
caf::behavior keys_actor(keys_actor_type* self, caf::actor store, std::vector<model::api_key> recovered);

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::key_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::key_reply)
