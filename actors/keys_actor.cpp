#include "actors/keys_actor.hpp"

#include <algorithm>

#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = keys_actor_type*;

// Twilio's limit on a key's friendly name.
constexpr std::size_t max_name = 64;

key_reply fail(model::error e) { return key_reply{std::move(e), false}; }

key_reply missing(const std::string& sid) {
  return fail(model::not_found("The requested resource /Keys/" + sid + " was not found"));
}

std::optional<model::error> check_name(const model::form& p) {
  if (auto u = p.first_unknown({"FriendlyName"}))
    return model::invalid_parameter("Unknown parameter " + *u);
  if (auto v = p.get("FriendlyName"); v && v->size() > max_name)
    return model::invalid_parameter("FriendlyName is longer than 64 characters");
  return std::nullopt;
}

model::api_key* find(keys_state& st, const std::string& account, const std::string& sid) {
  for (auto& k : st.keys)
    if (k.sid == sid && k.account_sid == account)
      return &k;
  return nullptr;
}

// The key as every answer but the create's shows it: without its secret.
model::api_key shown(model::api_key k) {
  k.secret.clear();
  return k;
}

// The reply, and whether it is a change that must be committed first.
std::pair<key_reply, bool> handle(self_ptr self, const key_call& c) {
  auto& st = self->state;
  auto now = std::chrono::system_clock::now();
  switch (c.op) {
    case key_op::create: {
      if (auto e = check_name(c.params))
        return {fail(*e), false};
      model::api_key k;
      k.sid = model::make_sid("SK");
      k.account_sid = c.account_sid;
      k.friendly_name = c.params.get("FriendlyName").value_or("");
      k.secret = model::random_hex32();
      k.created = k.updated = now;
      st.keys.push_back(k);
      st.durable.put(k.account_sid, k.sid, store::entity{k});
      return {key_reply{k, true}, true};
    }
    case key_op::signing_key: {
      for (auto& k : st.keys)
        if (k.account_sid == c.account_sid && k.friendly_name == signing_key_name)
          return {key_reply{k, false}, false};
      model::api_key k;
      k.sid = model::make_sid("SK");
      k.account_sid = c.account_sid;
      k.friendly_name = signing_key_name;
      k.secret = model::random_hex32();
      k.created = k.updated = now;
      st.keys.push_back(k);
      st.durable.put(k.account_sid, k.sid, store::entity{k});
      return {key_reply{k, true}, true};
    }
    case key_op::list: {
      key_page page;
      std::size_t seen = 0;
      for (auto& k : st.keys) {
        if (k.account_sid != c.account_sid)
          continue;
        if (seen >= c.page.offset && page.items.size() < c.page.size)
          page.items.push_back(shown(k));
        else if (seen >= c.page.offset + c.page.size)
          page.has_more = true;
        ++seen;
      }
      return {key_reply{std::move(page), false}, false};
    }
    case key_op::fetch: {
      auto* k = find(st, c.account_sid, c.sid);
      return {k ? key_reply{shown(*k), false} : missing(c.sid), false};
    }
    case key_op::update: {
      auto* k = find(st, c.account_sid, c.sid);
      if (!k)
        return {missing(c.sid), false};
      if (auto e = check_name(c.params))
        return {fail(*e), false};
      if (auto v = c.params.get("FriendlyName"))
        k->friendly_name = *v;
      k->updated = now;
      st.durable.put(k->account_sid, k->sid, store::entity{*k});
      return {key_reply{shown(*k), false}, true};
    }
    case key_op::remove: {
      auto* k = find(st, c.account_sid, c.sid);
      if (!k)
        return {missing(c.sid), false};
      st.durable.erase("api_key", k->sid, k->account_sid);
      auto sid = k->sid;
      st.keys.erase(std::remove_if(st.keys.begin(), st.keys.end(), [&](auto& x) { return x.sid == sid; }),
                    st.keys.end());
      return {key_reply{std::monostate{}, false}, true};
    }
  }
  return {fail(model::error{model::errc::internal, 20500, "not a key operation"}), false};
}

key_reply unavailable() {
  return fail(model::error{model::errc::unavailable, 20503,
                           "The change could not be written to disk; the service refuses changes until its store "
                           "accepts writes again"});
}

} // namespace

caf::behavior keys_actor(keys_actor_type* self, caf::actor store, std::vector<model::api_key> recovered) {
  auto& st = self->state;
  st.keys = std::move(recovered);
  st.durable.set_store(std::move(store));
  return {
    [=](key_call& c) {
      auto rp = self->make_response_promise<key_reply>();
      auto [reply, change] = handle(self, c);
      self->state.durable.answer(self, rp, std::move(reply), change);
      self->state.durable.settle(self);
    },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, unavailable()); },
  };
}

} // namespace sb::actors
