#include "actors/conversations_actor.hpp"
#include "actors/studio_messages.hpp"
#include "actors/address_actor.hpp"
#include "actors/media_actor.hpp"

#include <algorithm>
#include <set>

#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = conversations_actor_type*;
namespace cv = model::cv;
using account_entry = conversations_state::account_entry;

model::time_point now() { return std::chrono::system_clock::now(); }

model::error missing(const std::string& what) { return cv_missing(what); }


void save(self_ptr self, const cv::service& s) {
  self->state.durable.put(s.account_sid, s.sid, store::entity{s});
}
void save(self_ptr self, const cv::account_config& c) {
  self->state.durable.put(c.account_sid, c.account_sid, store::entity{c});
}

// The account's entry, created with its default service on first use.
// created tells the caller that the answer must wait for the commit.
account_entry& account_of(self_ptr self, const std::string& account_sid, bool& created) {
  auto& st = self->state;
  auto it = st.accounts.find(account_sid);
  if (it != st.accounts.end())
    return it->second;
  created = true;
  auto& a = st.accounts[account_sid];
  cv::service s;
  s.sid = model::make_sid("IS");
  s.account_sid = account_sid;
  s.friendly_name = "Default Conversations Service";
  s.created = s.updated = now();
  a.services.push_back(s);
  a.config.account_sid = account_sid;
  a.config.default_chat_service_sid = s.sid;
  save(self, s);
  save(self, a.config);
  return a;
}

cv::service* find_service(account_entry& a, const std::string& sid) {
  for (auto& s : a.services)
    if (s.sid == sid)
      return &s;
  return nullptr;
}

// The service a call is addressed to: its path's, or the account's default.
cv::service* service_of(account_entry& a, const cv_call& c) {
  return find_service(a, c.service_sid.empty() ? a.config.default_chat_service_sid : c.service_sid);
}

std::optional<model::error> check_duration(const model::form& p, const char* name) {
  if (auto v = p.get(name); v && !v->empty() && !cv::parse_duration_ms(*v))
    return model::invalid_parameter(std::string(name) + " must be an ISO-8601 duration such as PT10M");
  return std::nullopt;
}

std::optional<model::error> check_url(const std::optional<std::string>& v, const char* name) {
  if (v && !v->empty() && v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0)
    return model::invalid_parameter(std::string(name) + " must be an http or https URL");
  return std::nullopt;
}

const std::vector<std::string>& known_hook_events() {
  static const std::vector<std::string> events = {
    "onMessageAdd", "onMessageUpdate", "onMessageRemove", "onConversationAdd",
    "onConversationUpdate", "onConversationRemove", "onParticipantAdd", "onParticipantUpdate",
    "onParticipantRemove", "onUserUpdate",
    "onMessageAdded", "onMessageUpdated", "onMessageRemoved", "onConversationAdded",
    "onConversationUpdated", "onConversationRemoved", "onConversationStateUpdated",
    "onParticipantAdded", "onParticipantUpdated", "onParticipantRemoved", "onDeliveryUpdated",
    "onUserAdded", "onUserUpdated"};
  return events;
}

// Method, Filters, PreWebhookUrl, PostWebhookUrl (and Target at account level).
std::optional<model::error> apply_hooks(cv::webhook_settings& w, const model::form& p, bool account_level) {
  if (auto e = check_url(p.get("PreWebhookUrl"), "PreWebhookUrl"))
    return e;
  if (auto e = check_url(p.get("PostWebhookUrl"), "PostWebhookUrl"))
    return e;
  auto next = w;
  if (auto v = p.get("Method")) {
    std::string m = *v;
    std::transform(m.begin(), m.end(), m.begin(), ::toupper);
    if (m != "GET" && m != "POST")
      return model::invalid_parameter("Method must be GET or POST");
    next.method = m;
  }
  if (p.has("Filters")) {
    next.filters = p.all("Filters");
    for (auto& f : next.filters)
      if (std::find(known_hook_events().begin(), known_hook_events().end(), f) == known_hook_events().end())
        return model::invalid_parameter("Filters: " + f + " is not a Conversations webhook event");
  }
  if (auto v = p.get("PreWebhookUrl")) next.pre_webhook_url = *v;
  if (auto v = p.get("PostWebhookUrl")) next.post_webhook_url = *v;
  if (auto v = p.get("Target")) {
    if (!account_level || (*v != "webhook" && *v != "flex"))
      return model::invalid_parameter("Target must be webhook or flex");
    next.target = *v;
  }
  w = std::move(next);
  return std::nullopt;
}

// Where a conversation's events go besides its scoped webhooks.
cv_hook_settings hooks_for(self_ptr self, const std::string& account_sid, const std::string& service_sid) {
  cv_hook_settings h;
  auto it = self->state.accounts.find(account_sid);
  if (it == self->state.accounts.end())
    return h;
  if (auto* s = find_service(it->second, service_sid))
    h.service = s->webhooks;
  if (service_sid == it->second.config.default_chat_service_sid)
    h.account = it->second.config.webhooks;
  return h;
}

// Tells every conversation of the account its current hook settings.
void publish_hooks(self_ptr self, const std::string& account_sid) {
  auto& st = self->state;
  for (auto& [sid, e] : st.conversations)
    if (e.conv.account_sid == account_sid && e.actor) {
      auto h = hooks_for(self, account_sid, e.conv.chat_service_sid);
      self->send(e.actor, cv_hooks_changed{std::move(h.service), std::move(h.account)});
    }
}

// --------------------------------------------------------- configuration --

cv_reply config_op(self_ptr self, account_entry& a, const cv_call& c) {
  auto& p = c.params;
  switch (c.op) {
    case cv_op::config_fetch:
      return cv_one(account_config_ref{a.config, cv_view::configuration});
    case cv_op::config_webhooks_fetch:
      return cv_one(account_config_ref{a.config, cv_view::webhooks});
    case cv_op::config_update: {
      if (auto u = p.first_unknown({"DefaultChatServiceSid", "DefaultMessagingServiceSid",
                                    "DefaultInactiveTimer", "DefaultClosedTimer"}))
        return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
      if (auto v = p.get("DefaultChatServiceSid"); v && !find_service(a, *v))
        return cv_fail(model::invalid_parameter("DefaultChatServiceSid " + *v + " is not a service of this account"));
      if (auto v = p.get("DefaultMessagingServiceSid"); v && !v->empty() && !model::is_sid(*v, "MG"))
        return cv_fail(model::invalid_parameter("DefaultMessagingServiceSid must be a messaging service SID (MG...)"));
      for (auto* name : {"DefaultInactiveTimer", "DefaultClosedTimer"})
        if (auto e = check_duration(p, name))
          return cv_fail(*e);
      if (auto v = p.get("DefaultChatServiceSid")) a.config.default_chat_service_sid = *v;
      if (auto v = p.get("DefaultMessagingServiceSid")) a.config.default_messaging_service_sid = *v;
      if (auto v = p.get("DefaultInactiveTimer")) a.config.default_inactive_timer = *v;
      if (auto v = p.get("DefaultClosedTimer")) a.config.default_closed_timer = *v;
      save(self, a.config);
      publish_hooks(self, c.account_sid); // the default service may have changed
      return cv_one(account_config_ref{a.config, cv_view::configuration});
    }
    case cv_op::config_webhooks_update: {
      if (auto u = p.first_unknown({"Method", "Filters", "PreWebhookUrl", "PostWebhookUrl", "Target"}))
        return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
      if (auto e = apply_hooks(a.config.webhooks, p, true))
        return cv_fail(*e);
      save(self, a.config);
      publish_hooks(self, c.account_sid);
      return cv_one(account_config_ref{a.config, cv_view::webhooks});
    }
    default:
      break;
  }
  return cv_fail(model::error{model::errc::internal, 20500, "not a configuration operation"});
}

// -------------------------------------------------------------- services --

// --------------------------------------------------------- passivation --

void count(self_ptr self) {
  auto& st = self->state;
  if (st.metrics.live)
    st.metrics.live->Set(static_cast<double>(st.live));
  if (st.metrics.passive)
    st.metrics.passive->Set(static_cast<double>(st.passive));
}

bool passivation_on(const conversation_options& o) {
  return o.passivate_after.count() > 0 && static_cast<bool>(o.store);
}

// A passive conversation's next state timer, kept here while no actor
// counts it: when it is due the conversation starts again and applies it.
void schedule_deadline(self_ptr self, const cv::conversation& conv) {
  auto& st = self->state;
  std::optional<model::time_point> at;
  if (conv.state == cv::conversation_state::active && conv.date_inactive)
    at = conv.date_inactive;
  if (conv.state != cv::conversation_state::closed && conv.date_closed && (!at || *conv.date_closed < *at))
    at = conv.date_closed;
  if (!at)
    return;
  auto left = std::chrono::duration_cast<model::millis>(*at - now());
  st.timers.schedule(self, conv.sid, std::max(model::millis(0), left));
}

// Takes the calls that waited for sid, in order.
std::vector<conversations_state::parked_call> take_parked(self_ptr self, const std::string& sid) {
  auto& st = self->state;
  auto it = st.parked.find(sid);
  if (it == st.parked.end())
    return {};
  auto calls = std::move(it->second);
  st.parked.erase(it);
  return calls;
}

// The calls that waited for sid, answered with r (it is gone, or could not
// be started).
void fail_parked(self_ptr self, const std::string& sid, const cv_reply& r) {
  for (auto& p : take_parked(self, sid))
    p.rp.deliver(r);
}

void drop_conversation(self_ptr self, const std::string& sid) {
  auto& st = self->state;
  auto it = st.conversations.find(sid);
  if (it == st.conversations.end())
    return;
  auto& conv = it->second.conv;
  st.unique_names.erase({conv.chat_service_sid, conv.unique_name});
  if (it->second.actor) {
    self->unlink_from(it->second.actor);
    self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
  }
  (it->second.where == residence::passive ? st.passive : st.live) -= 1;
  st.timers.cancel(sid);
  st.order.erase(it->second.seq);
  st.conversations.erase(it);
  fail_parked(self, sid, cv_fail(missing(sid)));
  count(self);
}

cv_reply service_op(self_ptr self, account_entry& a, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  if (c.op == cv_op::service_create) {
    if (auto u = p.first_unknown({"FriendlyName"}))
      return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
    auto name = p.get("FriendlyName");
    if (!name || name->empty())
      return cv_fail(model::invalid_parameter("FriendlyName is required"));
    if (name->size() > cv::limits::name)
      return cv_fail(model::invalid_parameter("FriendlyName is longer than 256 characters"));
    cv::service s;
    s.sid = model::make_sid("IS");
    s.account_sid = c.account_sid;
    s.friendly_name = *name;
    s.created = s.updated = now();
    a.services.push_back(s);
    save(self, s);
    return cv_one(service_ref{s, cv_view::plain}, true);
  }
  if (c.op == cv_op::service_list)
    return cv_page_of(a.services, c.page, [](auto& s) { return cv_resource{service_ref{s, cv_view::plain}}; });
  auto* s = find_service(a, c.service_sid);
  if (!s)
    return cv_fail(missing(c.service_sid));
  switch (c.op) {
    case cv_op::service_fetch:
      return cv_one(service_ref{*s, cv_view::plain});
    case cv_op::service_config_fetch:
      return cv_one(service_ref{*s, cv_view::configuration});
    case cv_op::service_webhooks_fetch:
      return cv_one(service_ref{*s, cv_view::webhooks});
    case cv_op::service_delete: {
      if (s->sid == a.config.default_chat_service_sid)
        return cv_fail(model::invalid_parameter(
          "The account's default Conversations service cannot be deleted; make another one the default first"));
      std::vector<std::string> doomed;
      for (auto& [sid, e] : st.conversations)
        if (e.conv.chat_service_sid == s->sid)
          doomed.push_back(sid);
      for (auto& sid : doomed) {
        st.durable.erase_scope(sid);
        drop_conversation(self, sid);
      }
      // Their actors are stopped without a delete: free their bindings here
      // (a deleted conversation frees its own with bindings_released).
      std::set<std::string> gone(doomed.begin(), doomed.end());
      for (auto b = st.bindings.begin(); b != st.bindings.end();)
        b = gone.count(b->second) ? st.bindings.erase(b) : std::next(b);
      st.durable.erase("cv_service", s->sid, c.account_sid);
      if (st.options.media)
        self->send(st.options.media, media_service_deleted{c.account_sid, s->sid});
      auto sid = s->sid;
      a.services.erase(std::remove_if(a.services.begin(), a.services.end(), [&](auto& x) { return x.sid == sid; }),
                       a.services.end());
      return cv_reply{std::monostate{}};
    }
    case cv_op::service_config_update: {
      if (auto u = p.first_unknown({"DefaultConversationCreatorRoleSid", "DefaultConversationRoleSid",
                                    "DefaultChatServiceRoleSid", "ReachabilityEnabled"}))
        return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
      auto reach = p.get_bool("ReachabilityEnabled");
      if (!reach)
        return cv_fail(reach.err());
      for (auto* name : {"DefaultConversationCreatorRoleSid", "DefaultConversationRoleSid", "DefaultChatServiceRoleSid"})
        if (auto v = p.get(name); v && !v->empty() && !model::is_sid(*v, "RL"))
          return cv_fail(model::invalid_parameter(std::string(name) + " must be a role SID (RL...)"));
      if (auto v = p.get("DefaultConversationCreatorRoleSid")) s->default_conversation_creator_role_sid = *v;
      if (auto v = p.get("DefaultConversationRoleSid")) s->default_conversation_role_sid = *v;
      if (auto v = p.get("DefaultChatServiceRoleSid")) s->default_chat_service_role_sid = *v;
      if (*reach) s->reachability_enabled = **reach;
      s->updated = now();
      save(self, *s);
      return cv_one(service_ref{*s, cv_view::configuration});
    }
    case cv_op::service_webhooks_update: {
      if (auto u = p.first_unknown({"PreWebhookUrl", "PostWebhookUrl", "Filters", "Method"}))
        return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
      if (auto e = apply_hooks(s->webhooks, p, false))
        return cv_fail(*e);
      s->updated = now();
      save(self, *s);
      publish_hooks(self, c.account_sid);
      return cv_one(service_ref{*s, cv_view::webhooks});
    }
    default:
      break;
  }
  return cv_fail(model::error{model::errc::internal, 20500, "not a service operation"});
}

// --------------------------------------------------------- conversations --

caf::actor spawn_conversation(self_ptr self, conversation_seed seed) {
  auto actor = self->spawn(conversation_actor, std::move(seed), caf::actor_cast<caf::actor>(self),
                           self->state.options);
  // Linked: when the root stops (shutdown), its conversations stop with it.
  self->link_to(actor);
  return actor;
}

// A new conversation of svc with the account's defaults (not yet indexed).
cv::conversation new_conversation(const account_entry& a, const cv::service& svc) {
  cv::conversation conv;
  conv.sid = model::make_sid("CH");
  conv.account_sid = svc.account_sid;
  conv.chat_service_sid = svc.sid;
  conv.messaging_service_sid = a.config.default_messaging_service_sid;
  conv.timer_inactive = a.config.default_inactive_timer;
  conv.timer_closed = a.config.default_closed_timer;
  conv.created = conv.updated = now();
  return conv;
}

// The moments its state timers fire, counted from now.
void start_timers(cv::conversation& conv) {
  auto t = now();
  if (conv.state == cv::conversation_state::active && !conv.timer_inactive.empty())
    conv.date_inactive = t + std::chrono::milliseconds(*cv::parse_duration_ms(conv.timer_inactive));
  if (conv.state != cv::conversation_state::closed && !conv.timer_closed.empty())
    conv.date_closed = t + std::chrono::milliseconds(*cv::parse_duration_ms(conv.timer_closed));
}

// Enters the conversation in the root's indexes and spawns its actor, or
// (passive) keeps only its record and its next state timer.
void adopt(self_ptr self, conversation_seed seed, bool passive = false) {
  auto& st = self->state;
  auto conv = seed.conv;
  auto seq = st.next_seq++;
  auto& entry = st.conversations[conv.sid];
  entry.conv = conv;
  entry.seq = seq;
  if (passive) {
    entry.where = residence::passive;
    ++st.passive;
    schedule_deadline(self, conv);
  } else {
    entry.actor = spawn_conversation(self, std::move(seed));
    ++st.live;
  }
  st.order.emplace(seq, conv.sid);
  if (!conv.unique_name.empty())
    st.unique_names[{conv.chat_service_sid, conv.unique_name}] = conv.sid;
  count(self);
}

std::string token_of(self_ptr self, const std::string& account_sid) {
  auto& tokens = self->state.options.auth_tokens;
  if (tokens)
    if (auto it = tokens->find(account_sid); it != tokens->end())
      return it->second;
  return {};
}

cv_reply conversation_create(self_ptr self, account_entry& a, cv::service& svc, const cv_call& c) {
  auto& st = self->state;
  auto conv = new_conversation(a, svc);
  auto state = cv::apply_conversation_form(c.params, conv);
  if (!state)
    return cv_fail(state.err());
  if (*state)
    conv.state = **state;
  auto& unique = conv.unique_name;
  if (!unique.empty() && st.unique_names.count({svc.sid, unique}))
    return cv_fail(model::conflict("A conversation with UniqueName " + unique + " already exists", 50353));
  start_timers(conv);
  auto hooks = hooks_for(self, conv.account_sid, conv.chat_service_sid);
  if (c.webhooks_enabled && st.options.webhooks) {
    auto posts = cv_hook_posts("onConversationAdded", cv_event_fields(conv), {}, hooks, token_of(self, conv.account_sid),
                               conv.sid);
    if (!posts.empty())
      st.durable.after_commit(self, [self, posts = std::move(posts)]() mutable {
        for (auto& post : posts)
          self->send(self->state.options.webhooks, std::move(post));
      });
  }
  adopt(self, conversation_seed{conv, {}, {}, {}, std::move(hooks)});
  st.durable.put(conv.account_sid, conv.sid, store::entity{conv});
  return cv_one(conv, true);
}

// "2026-11-24" or a full ISO-8601 date.
std::optional<model::time_point> parse_day(const std::string& v) {
  if (v.size() == 10)
    return model::parse_iso8601(v + "T00:00:00Z");
  return model::parse_iso8601(v);
}

cv_reply conversation_list(self_ptr self, cv::service& svc, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  std::optional<cv::conversation_state> state;
  if (auto s = p.get("State")) {
    state = cv::parse_conversation_state(*s);
    if (!state)
      return cv_fail(model::invalid_parameter("State must be one of initializing, inactive, active, closed"));
  }
  std::optional<model::time_point> from, to;
  if (auto v = p.get("StartDate")) {
    from = parse_day(*v);
    if (!from)
      return cv_fail(model::invalid_parameter("StartDate must be a date (YYYY-MM-DD)"));
  }
  if (auto v = p.get("EndDate")) {
    to = parse_day(*v);
    if (!to)
      return cv_fail(model::invalid_parameter("EndDate must be a date (YYYY-MM-DD)"));
    if (v->size() == 10)
      *to += std::chrono::hours(24); // the whole end day
  }
  auto keep = [&](const auto& entry) {
    auto& conv = st.conversations.at(entry.second).conv;
    return conv.chat_service_sid == svc.sid && (!state || conv.state == *state) &&
           (!from || conv.created >= *from) && (!to || conv.created < *to);
  };
  auto make = [&](const auto& entry) { return cv_resource{st.conversations.at(entry.second).conv}; };
  // With a date filter Twilio lists the newest first.
  if (from || to)
    return cv_page_of(st.order.rbegin(), st.order.rend(), c.page, keep, make);
  return cv_page_of(st.order.begin(), st.order.end(), c.page, keep, make);
}

void activate(self_ptr self, const std::string& sid);

// Forwards a conversation-scoped call and keeps the indexes right from the
// answer. reserved_* are what the root reserved for this call (released
// again when the conversation refuses it).
// fresh: the root created the conversation for this call (an inbound
// message's auto-creation); when the conversation refuses it, it goes again.
void forward(self_ptr self, caf::response_promise rp, const std::string& conv_sid, cv_call c,
             std::pair<std::string, std::string> reserved_binding, std::string reserved_name, bool fresh = false) {
  auto& st = self->state;
  auto entry = st.conversations.find(conv_sid);
  if (entry == st.conversations.end()) {
    rp.deliver(cv_fail(missing(conv_sid)));
    return;
  }
  if (entry->second.where != residence::live) {
    // Being stopped or started: the call waits, in order, for the actor.
    st.parked[conv_sid].push_back({std::move(c), std::move(rp), std::move(reserved_binding), std::move(reserved_name)});
    if (entry->second.where == residence::passive)
      activate(self, conv_sid);
    return;
  }
  auto actor = entry->second.actor;
  auto op = c.op;
  // Most calls need nothing from the answer here: the conversation answers
  // the caller itself, one hop fewer through this (single) actor. The rest
  // keep the root's indexes right from the answer.
  if (reserved_binding.first.empty() && reserved_name.empty() && !fresh && op != cv_op::conversation_delete &&
      op != cv_op::conversation_update) {
    rp.delegate(actor, std::move(c));
    return;
  }
  auto release = [=]() mutable {
    auto& st = self->state;
    if (!reserved_binding.first.empty())
      if (auto it = st.conversations.find(conv_sid); it != st.conversations.end())
        if (auto b = st.bindings.find({it->second.conv.account_sid, reserved_binding.first, reserved_binding.second});
            b != st.bindings.end() && b->second == conv_sid)
          st.bindings.erase(b);
    if (!reserved_name.empty())
      if (auto it = st.conversations.find(conv_sid); it != st.conversations.end())
        if (auto n = st.unique_names.find({it->second.conv.chat_service_sid, reserved_name});
            n != st.unique_names.end() && n->second == conv_sid)
          st.unique_names.erase(n);
  };
  self->request(actor, caf::infinite, std::move(c))
    .then(
      [=](cv_reply& r) mutable {
        auto& st = self->state;
        if (std::holds_alternative<model::error>(r.value)) {
          release();
          if (fresh) {
            st.durable.erase_scope(conv_sid);
            drop_conversation(self, conv_sid);
            st.durable.settle(self);
          }
          rp.deliver(std::move(r));
          return;
        }
        if (op == cv_op::conversation_delete) {
          drop_conversation(self, conv_sid);
        } else if (auto* res = std::get_if<cv_resource>(&r.value)) {
          if (auto* conv = std::get_if<cv::conversation>(res)) {
            auto it = st.conversations.find(conv_sid);
            if (it != st.conversations.end()) {
              auto old_name = it->second.conv.unique_name;
              if (old_name != conv->unique_name && !old_name.empty())
                st.unique_names.erase({conv->chat_service_sid, old_name});
              it->second.conv = *conv;
            }
          }
        }
        rp.deliver(std::move(r));
      },
      [=](caf::error&) mutable {
        release();
        if (fresh) {
          self->state.durable.erase_scope(conv_sid);
          drop_conversation(self, conv_sid);
          self->state.durable.settle(self);
        }
        rp.deliver(cv_fail(model::error{model::errc::unavailable, 20503, "The conversation did not answer"}));
      });
}

// Sends the calls that waited for sid on to its (now live) actor, in order.
void release_parked(self_ptr self, const std::string& sid) {
  for (auto& p : take_parked(self, sid))
    forward(self, std::move(p.rp), sid, std::move(p.call), std::move(p.binding), std::move(p.name));
}

// Starts a passive conversation again from its rows in the store; the calls
// parked for it follow once its actor runs.
void activate(self_ptr self, const std::string& sid) {
  auto& st = self->state;
  auto it = st.conversations.find(sid);
  if (it == st.conversations.end() || it->second.where != residence::passive)
    return;
  it->second.where = residence::activating;
  st.timers.cancel(sid);
  auto failed = [self, sid](const std::string& why) {
    auto& st = self->state;
    auto it = st.conversations.find(sid);
    if (it == st.conversations.end() || it->second.where != residence::activating)
      return;
    it->second.where = residence::passive;
    schedule_deadline(self, it->second.conv);
    fail_parked(self, sid, cv_fail(model::error{model::errc::unavailable, 20503,
                                                "Conversation " + sid + " could not be read from the store (" + why +
                                                  "); nothing was changed"}));
  };
  self->request(st.options.store, caf::infinite, store_load{sid})
    .then(
      [=](store_rows& r) {
        auto& st = self->state;
        auto it = st.conversations.find(sid);
        if (it == st.conversations.end() || it->second.where != residence::activating)
          return; // deleted meanwhile (its parked calls were answered)
        if (!r.error.empty())
          return failed(r.error);
        store::conversation_image img;
        try {
          img = store::conversation_from_rows(it->second.conv, r.rows);
        } catch (const store::store_error& e) {
          return failed(e.what());
        }
        auto& conv = img.conversation;
        auto hooks = hooks_for(self, conv.account_sid, conv.chat_service_sid);
        it->second.actor = spawn_conversation(
          self, conversation_seed{std::move(img.conversation), std::move(img.participants), std::move(img.messages),
                                  std::move(img.webhooks), std::move(hooks)});
        it->second.where = residence::live;
        --st.passive;
        ++st.live;
        if (st.metrics.activations)
          st.metrics.activations->Increment();
        count(self);
        release_parked(self, sid);
      },
      [=](caf::error& e) { failed(caf::to_string(e)); });
}

// A conversation said it is idle and quiet: ask it to stop. Calls for it
// wait until it has answered.
void passivate(self_ptr self, const std::string& sid) {
  auto& st = self->state;
  auto it = st.conversations.find(sid);
  if (it == st.conversations.end() || it->second.where != residence::live || !it->second.actor)
    return;
  it->second.where = residence::passivating;
  auto settled = [self, sid](std::optional<cv::conversation> final_record) {
    auto& st = self->state;
    auto it = st.conversations.find(sid);
    if (it == st.conversations.end() || it->second.where != residence::passivating)
      return;
    if (!final_record) { // busy again: it goes on
      it->second.where = residence::live;
      release_parked(self, sid);
      return;
    }
    it->second.conv = std::move(*final_record);
    it->second.actor = caf::actor{};
    it->second.where = residence::passive;
    --st.live;
    ++st.passive;
    if (st.metrics.passivations)
      st.metrics.passivations->Increment();
    count(self);
    if (st.parked.count(sid))
      activate(self, sid);
    else
      schedule_deadline(self, it->second.conv);
  };
  self->request(it->second.actor, caf::infinite, cv_passivate_atom::value)
    .then(
      [=](cv_passivated& p) mutable {
        if (p.ok)
          settled(std::move(p.conversation));
        else
          settled(std::nullopt);
      },
      [=](caf::error&) mutable {
        // It is gone without answering: its committed state is in the store.
        auto& st = self->state;
        if (auto it = st.conversations.find(sid); it != st.conversations.end())
          settled(it->second.conv);
      });
}

// The conversation a call names (SID or unique name) within the call's service.
std::string resolve(self_ptr self, const cv::service& svc, const std::string& ref) {
  auto& st = self->state;
  if (model::is_sid(ref, "CH")) {
    auto it = st.conversations.find(ref);
    if (it != st.conversations.end() && it->second.conv.chat_service_sid == svc.sid)
      return ref;
    return {};
  }
  auto n = st.unique_names.find({svc.sid, ref});
  return n == st.unique_names.end() ? std::string{} : n->second;
}

// ------------------------------------------------------- messaging edge --

// An inbound message for which no open conversation holds (From, To): the
// address configuration of To decides whether one is created for it.
void inbound_unbound(self_ptr self, caf::response_promise rp, cv_call c, cv::inbound_message in) {
  auto& st = self->state;
  if (!st.options.addresses) {
    rp.deliver(cv_fail(model::not_found("No conversation holds " + in.from + " with " + in.to +
                                        " and address configurations are off")));
    return;
  }
  auto fail_unavailable = [rp]() mutable {
    rp.deliver(cv_fail(model::error{model::errc::unavailable, 20503, "The address configurations did not answer"}));
  };
  self->request(st.options.addresses, caf::infinite, address_lookup{c.account_sid, in.type, in.to})
    .then(
      [=](address_lookup_reply& r) mutable {
        auto& st = self->state;
        // Another message of the same pair may have created one meanwhile.
        if (auto b = st.bindings.find({c.account_sid, in.from, in.to}); b != st.bindings.end()) {
          forward(self, rp, b->second, std::move(c), {}, {});
          return;
        }
        if (!r.config) {
          rp.deliver(cv_fail(model::not_found("No address configuration for " + in.type + " address " + in.to +
                                              "; nothing was created")));
          return;
        }
        auto& cfg = *r.config;
        if (!cfg.auto_creation.enabled) {
          rp.deliver(cv_fail(model::invalid_parameter("Auto-creation is disabled for " + in.type + " address " +
                                                      in.to + "; nothing was created")));
          return;
        }
        bool created = false;
        auto& a = account_of(self, c.account_sid, created);
        auto service_sid = cfg.auto_creation.conversation_service_sid.empty()
                             ? a.config.default_chat_service_sid
                             : cfg.auto_creation.conversation_service_sid;
        auto* svc = find_service(a, service_sid);
        if (!svc) {
          rp.deliver(cv_fail(model::not_found("Address " + in.to + " names Conversations service " + service_sid +
                                              ", which does not exist; nothing was created")));
          return;
        }
        auto conv = new_conversation(a, *svc);
        start_timers(conv);
        adopt(self, conversation_seed{conv, {}, {}, {}, hooks_for(self, conv.account_sid, conv.chat_service_sid)});
        st.bindings[{conv.account_sid, in.from, in.to}] = conv.sid;
        st.durable.put(conv.account_sid, conv.sid, store::entity{conv});
        // The record goes to the store ahead of anything the conversation
        // writes for this message, so its answer implies both are committed.
        st.durable.send_batch(self);
        c.created_by = cfg;
        auto sid = conv.sid;
        forward(self, rp, sid, std::move(c), {in.from, in.to}, {}, true);
      },
      [=](caf::error&) mutable { fail_unavailable(); });
}

void inbound(self_ptr self, caf::response_promise rp, cv_call& c) {
  auto& st = self->state;
  auto in = cv::parse_inbound(c.params);
  if (!in) {
    rp.deliver(cv_fail(in.err()));
    return;
  }
  if (auto b = st.bindings.find({c.account_sid, in->from, in->to}); b != st.bindings.end()) {
    forward(self, rp, b->second, std::move(c), {}, {});
    return;
  }
  inbound_unbound(self, rp, std::move(c), std::move(*in));
}

using pre_timeout_atom = caf::atom_constant<caf::atom("cvr_pre_to")>;

// hooked: the call has passed its pre-action webhook already.
void handle_call(self_ptr self, cv_call& c, caf::response_promise rp, bool hooked = false) {
  auto& st = self->state;
  bool created = false;
  auto& a = account_of(self, c.account_sid, created);
  auto done = [&](cv_reply r, bool write) {
    bool ok = !std::holds_alternative<model::error>(r.value);
    st.durable.answer(self, rp, std::move(r), (write && ok) || created);
    st.durable.settle(self);
  };
  switch (c.op) {
    case cv_op::config_fetch: case cv_op::config_update:
    case cv_op::config_webhooks_fetch: case cv_op::config_webhooks_update:
      return done(config_op(self, a, c), c.op == cv_op::config_update || c.op == cv_op::config_webhooks_update);
    case cv_op::service_create: case cv_op::service_list: case cv_op::service_fetch:
    case cv_op::service_delete: case cv_op::service_config_fetch: case cv_op::service_config_update:
    case cv_op::service_webhooks_fetch: case cv_op::service_webhooks_update:
      return done(service_op(self, a, c),
                  c.op == cv_op::service_create || c.op == cv_op::service_delete ||
                    c.op == cv_op::service_config_update || c.op == cv_op::service_webhooks_update);
    default:
      break;
  }
  if (c.op == cv_op::inbound_message) {
    st.durable.settle(self);
    return inbound(self, rp, c);
  }
  if (c.op == cv_op::delivery_status) {
    // A gateway's callback names the conversation by SID, in any service.
    auto it = st.conversations.find(c.conversation);
    if (it == st.conversations.end() || it->second.conv.account_sid != c.account_sid)
      return done(cv_fail(missing(c.conversation)), false);
    st.durable.settle(self);
    auto sid = c.conversation;
    return forward(self, rp, sid, std::move(c), {}, {});
  }
  auto* svc = service_of(a, c);
  if (!svc)
    return done(cv_fail(missing(c.service_sid)), false);
  if (c.op == cv_op::conversation_create && !hooked && c.webhooks_enabled && st.options.webhooks) {
    auto fields = cv_event_fields(cv::conversation{});
    fields.erase(std::remove_if(fields.begin(), fields.end(),
                                [](auto& kv) { return kv.first != "AccountSid" && kv.first != "Source"; }),
                 fields.end());
    fields.emplace_back("ChatServiceSid", svc->sid);
    fields.front().second = c.account_sid;
    for (auto& kv : c.params.pairs())
      fields.push_back(kv);
    if (auto hook = cv_pre_hook_for("onConversationAdd", fields, hooks_for(self, c.account_sid, svc->sid),
                                    token_of(self, c.account_sid))) {
      auto id = ++st.next_hook;
      hook->post.reply_to = caf::actor_cast<caf::actor>(self);
      hook->post.tag = "pre " + std::to_string(id);
      st.pre_pending.emplace(id, std::make_pair(std::move(c), std::move(rp)));
      self->send(st.options.webhooks, std::move(hook->post));
      self->delayed_send(self, hook->timeout, pre_timeout_atom::value, id);
      if (created)
        st.durable.settle(self);
      return;
    }
  }
  if (c.op == cv_op::conversation_create)
    return done(conversation_create(self, a, *svc, c), true);
  if (c.op == cv_op::conversation_list)
    return done(conversation_list(self, *svc, c), false);
  auto sid = resolve(self, *svc, c.conversation);
  if (sid.empty())
    return done(cv_fail(missing(c.conversation)), false);
  auto& entry = st.conversations[sid];
  // Indexes the root owns: a messaging binding and a unique name are
  // reserved here before the conversation sees the call.
  std::pair<std::string, std::string> binding;
  std::string name;
  if (c.op == cv_op::participant_create) {
    auto address = c.params.get("MessagingBinding.Address").value_or("");
    auto proxy = c.params.get("MessagingBinding.ProxyAddress").value_or("");
    if (!address.empty() && !proxy.empty() && entry.conv.state != cv::conversation_state::closed) {
      auto b = st.bindings.find({c.account_sid, address, proxy});
      if (b != st.bindings.end())
        return done(cv_fail(model::conflict("A binding for this participant and proxy address already exists in Conversation " +
                                            b->second, 50416)),
                    false);
      binding = {address, proxy};
      st.bindings[{c.account_sid, address, proxy}] = sid;
    }
  }
  if (c.op == cv_op::conversation_update) {
    // Its form is the conversation's to check; the root reserves the name.
    if (auto v = c.params.get("UniqueName");
        v && *v != entry.conv.unique_name && !v->empty() && v->size() <= cv::limits::name && !model::is_sid(*v, "CH")) {
      if (st.unique_names.count({svc->sid, *v}))
        return done(cv_fail(model::conflict("A conversation with UniqueName " + *v + " already exists", 50353)), false);
      name = *v;
      st.unique_names[{svc->sid, name}] = sid;
    }
  }
  // A message's media: the media actor says what they are before the
  // conversation sees the message (unknown ones, or ones already sent with
  // another message, refuse it).
  auto sids = c.op == cv_op::message_create ? c.params.all("MediaSid") : std::vector<std::string>{};
  bool well_formed = std::all_of(sids.begin(), sids.end(), [](auto& s) { return model::is_sid(s, "ME"); });
  if (sids.empty() || !well_formed || !st.options.media)
    return forward(self, rp, sid, std::move(c), binding, name);
  self->request(st.options.media, caf::infinite, media_lookup{c.account_sid, svc->sid, sids})
    .then(
      [=](media_lookup_reply& r) mutable {
        if (!r.missing.empty()) {
          rp.deliver(cv_fail(model::invalid_parameter("MediaSid " + r.missing.front() + " was not found in this service", 50510)));
          return;
        }
        for (auto& m : r.found)
          if (!m.message_sid.empty()) {
            rp.deliver(cv_fail(model::invalid_parameter("Media " + m.sid + " was already sent with message " + m.message_sid,
                                                        50508)));
            return;
          }
        std::vector<cv::media_ref> refs;
        for (auto& m : r.found)
          refs.push_back(cv::media_ref{m.sid, m.content_type, m.filename, m.size, ""});
        c.resolved_media = std::move(refs);
        if (self->state.conversations.count(sid))
          forward(self, rp, sid, std::move(c), binding, name);
        else
          rp.deliver(cv_fail(missing(sid)));
      },
      [=](caf::error&) mutable {
        rp.deliver(cv_fail(model::error{model::errc::unavailable, 20503, "The media service did not answer"}));
      });
}

void handle(self_ptr self, cv_call& c) {
  handle_call(self, c, self->make_response_promise<cv_reply>());
}

// A creation's pre-action webhook answered (status), could not be reached
// (0) or did not answer in time (-1).
void pre_hook_answered(self_ptr self, std::uint64_t id, int status, const std::string& body) {
  auto& st = self->state;
  auto it = st.pre_pending.find(id);
  if (it == st.pre_pending.end())
    return;
  auto [call, rp] = std::move(it->second);
  st.pre_pending.erase(it);
  if (status > 0 && (status < 200 || status >= 300)) {
    rp.deliver(cv_fail(model::error{model::errc::forbidden, 20403,
                                    "The pre-action webhook rejected onConversationAdd (HTTP " + std::to_string(status) +
                                      "); nothing was created"}));
    return;
  }
  if (status > 0)
    cv_pre_modify("onConversationAdd", body, call.params);
  handle_call(self, call, std::move(rp), true);
}

} // namespace

caf::behavior conversations_actor(conversations_actor_type* self, conversation_options options,
                                  std::shared_ptr<const store::conversations_image> image,
                                  metrics::conversation_metrics metrics) {
  auto& st = self->state;
  st.options = std::move(options);
  st.metrics = metrics;
  st.durable.set_store(st.options.store);
  if (image) {
    for (auto& cfg : image->configs)
      st.accounts[cfg.account_sid].config = cfg;
    for (auto& s : image->services)
      st.accounts[s.account_sid].services.push_back(s);
    // Accounts recovered without a config row (should not happen) get one.
    for (auto& [acct, a] : st.accounts)
      if (a.config.account_sid.empty()) {
        a.config.account_sid = acct;
        if (!a.services.empty())
          a.config.default_chat_service_sid = a.services.front().sid;
      }
    std::vector<const store::conversation_image*> convs;
    for (auto& ci : image->conversations)
      convs.push_back(&ci);
    std::sort(convs.begin(), convs.end(), [](auto* x, auto* y) {
      return x->conversation.created != y->conversation.created ? x->conversation.created < y->conversation.created
                                                                : x->conversation.sid < y->conversation.sid;
    });
    for (auto* ci : convs) {
      auto& conv = ci->conversation;
      if (passivation_on(st.options))
        adopt(self, conversation_seed{conv, {}, {}, {}, {}}, true); // started on first use
      else
        adopt(self, conversation_seed{conv, ci->participants, ci->messages, ci->webhooks,
                                      hooks_for(self, conv.account_sid, conv.chat_service_sid)});
      if (conv.state != cv::conversation_state::closed)
        for (auto& p : ci->participants)
          if (!p.binding.address.empty())
            st.bindings[{conv.account_sid, p.binding.address, p.binding.proxy_address}] = conv.sid;
    }
  }
  count(self);
  return {
    [=](cv_call& c) { handle(self, c); },
    [=](cv_idle& m) { passivate(self, m.conversation_sid); },
    [=](timers_due) {
      // A passive conversation's state timer: start it so that it applies it.
      for (auto& sid : self->state.timers.due(self))
        activate(self, sid);
    },
    [=](conversation_changed& m) {
      auto& st = self->state;
      auto it = st.conversations.find(m.conversation.sid);
      if (it != st.conversations.end())
        it->second.conv = std::move(m.conversation);
    },
    [=](bindings_released& m) {
      auto& st = self->state;
      auto it = st.conversations.find(m.conversation_sid);
      if (it == st.conversations.end())
        return;
      for (auto& [address, proxy] : m.pairs)
        if (auto b = st.bindings.find({it->second.conv.account_sid, address, proxy});
            b != st.bindings.end() && b->second == m.conversation_sid)
          st.bindings.erase(b);
    },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, cv_unavailable()); },
    [=](webhook_done& d) {
      if (d.tag.rfind("pre ", 0) == 0)
        pre_hook_answered(self, std::stoull(d.tag.substr(4)), d.status, d.body);
    },
    [=](pre_timeout_atom, std::uint64_t id) { pre_hook_answered(self, id, -1, {}); },
    [=](studio_root_atom, caf::actor& studio) { self->state.options.studio = std::move(studio); },
  };
}

} // namespace sb::actors
