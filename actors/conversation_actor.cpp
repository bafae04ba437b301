#include "actors/conversation_actor.hpp"

#include <algorithm>

#include "actors/edge_actor.hpp"
#include "actors/studio_messages.hpp"
#include "actors/media_actor.hpp"
#include "model/media.hpp"
#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = conversation_actor_type*;
namespace cv = model::cv;

model::time_point now() { return std::chrono::system_clock::now(); }

model::error missing(const std::string& what) { return cv_missing(what); }


// ------------------------------------------------------------ persistence --

void save_conversation(self_ptr self) {
  auto& st = self->state;
  st.durable.put(st.conv.account_sid, st.conv.sid, store::entity{st.conv});
}
void save(self_ptr self, const cv::participant& p) {
  self->state.durable.put(self->state.conv.sid, p.sid, store::entity{p});
}
void save(self_ptr self, const cv::message& m) {
  self->state.durable.put(self->state.conv.sid, m.sid, store::entity{m});
}
void save(self_ptr self, const cv::conversation_webhook& w) {
  self->state.durable.put(self->state.conv.sid, w.sid, store::entity{w});
}

// Tells the directory the record changed (its copy serves lists).
void publish(self_ptr self) {
  self->send(self->state.directory, conversation_changed{self->state.conv});
}

// ----------------------------------------------------------------- events --

// Hands the deliveries of a post-action event to the webhook actor once the
// change behind it is committed.
std::string token_of(self_ptr self) {
  auto& st = self->state;
  if (st.options.auth_tokens)
    if (auto it = st.options.auth_tokens->find(st.conv.account_sid); it != st.options.auth_tokens->end())
      return it->second;
  return {};
}

// source: where the action came from (API, SMS, WHATSAPP), as Twilio's
// Source field says.
void fire(self_ptr self, const std::string& event, model::form_pairs fields, const std::string& source = "API") {
  auto& st = self->state;
  if (!st.options.webhooks)
    return;
  for (auto& [name, value] : fields)
    if (name == "Source")
      value = source;
  auto posts = cv_hook_posts(event, fields, st.webhooks, st.hooks, token_of(self), st.conv.sid);
  if (posts.empty())
    return;
  // Post-action: the receiver hears of the change once it is committed.
  st.durable.after_commit(self, [self, posts = std::move(posts)]() mutable {
    for (auto& post : posts)
      self->send(self->state.options.webhooks, std::move(post));
  });
}

// A message from a participant other than an agent goes, once committed, to
// the Studio flow of each of the conversation's studio webhooks: it starts
// an execution there or answers one waiting for a reply. Messages from
// agents, from the flow itself ("system") and from nobody in the
// conversation do not.
void to_studio(self_ptr self, const cv::message& m) {
  auto& st = self->state;
  if (!st.options.studio)
    return;
  const cv::participant* author = nullptr;
  for (auto& p : st.participants)
    if ((!m.participant_sid.empty() && p.sid == m.participant_sid) ||
        (!p.identity.empty() && p.identity == m.author) || (!p.binding.address.empty() && p.binding.address == m.author))
      author = &p;
  if (!author)
    return;
  auto attrs = nlohmann::json::parse(author->attributes, nullptr, false);
  if (attrs.is_object() && attrs.value("member_type", "") == "agent")
    return;
  for (auto& w : st.webhooks) {
    if (w.target != "studio" || w.flow_sid.empty())
      continue;
    studio_message out;
    out.account_sid = st.conv.account_sid;
    out.flow_sid = w.flow_sid;
    out.webhook_sid = w.sid;
    out.conversation = st.conv;
    out.message = m;
    out.participant_sid = author->sid;
    out.author_address = author->binding.address.empty() ? author->identity : author->binding.address;
    out.proxy_address = author->binding.proxy_address;
    out.channel_type = author->binding.address.empty() ? "chat"
                       : author->binding.address.rfind("whatsapp:", 0) == 0 ? "whatsapp"
                                                                             : "sms";
    st.durable.after_commit(self, [self, out = std::move(out)]() mutable {
      self->send(self->state.options.studio, std::move(out));
    });
  }
}

void fire_state(self_ptr self, cv::conversation_state from, const char* reason) {
  auto fields = cv_event_fields(self->state.conv);
  fields.emplace_back("StateFrom", cv::to_string(from));
  fields.emplace_back("StateTo", cv::to_string(self->state.conv.state));
  fields.emplace_back("Reason", reason);
  fire(self, "onConversationStateUpdated", std::move(fields));
}

// The post-action events of a REST call that succeeded. before_* are the
// participant or message a delete removed, and the state before the call.
void fire_for(self_ptr self, const cv_call& c, const cv_reply& r, const std::optional<cv::participant>& gone_p,
              const std::optional<cv::message>& gone_m, cv::conversation_state state_before) {
  auto& st = self->state;
  auto* res = std::get_if<cv_resource>(&r.value);
  switch (c.op) {
    case cv_op::participant_create: case cv_op::participant_update:
      if (auto* p = res ? std::get_if<cv::participant>(res) : nullptr)
        fire(self, c.op == cv_op::participant_create ? "onParticipantAdded" : "onParticipantUpdated",
             cv_event_fields(st.conv, *p));
      break;
    case cv_op::participant_delete:
      if (gone_p)
        fire(self, "onParticipantRemoved", cv_event_fields(st.conv, *gone_p));
      break;
    case cv_op::message_create: case cv_op::message_update:
      if (auto* m = res ? std::get_if<cv::message>(res) : nullptr)
        fire(self, c.op == cv_op::message_create ? "onMessageAdded" : "onMessageUpdated",
             cv_event_fields(st.conv, *m));
      break;
    case cv_op::message_delete:
      if (gone_m)
        fire(self, "onMessageRemoved", cv_event_fields(st.conv, *gone_m));
      break;
    case cv_op::conversation_update:
      fire(self, "onConversationUpdated", cv_event_fields(st.conv));
      if (st.conv.state != state_before)
        fire_state(self, state_before, "API");
      break;
    case cv_op::conversation_delete:
      fire(self, "onConversationRemoved", cv_event_fields(st.conv));
      break;
    default:
      break;
  }
}

// ----------------------------------------------------------------- timers --

// Re-arms the state timers from now (activity) or clears them.
void arm_timers(self_ptr self) {
  auto& st = self->state;
  auto& c = st.conv;
  st.timers.cancel("inactive");
  st.timers.cancel("closed");
  c.date_inactive.reset();
  c.date_closed.reset();
  if (c.state == cv::conversation_state::closed)
    return;
  auto t = now();
  if (!c.timer_inactive.empty() && c.state == cv::conversation_state::active)
    if (auto ms = cv::parse_duration_ms(c.timer_inactive)) {
      c.date_inactive = t + std::chrono::milliseconds(*ms);
      st.timers.schedule(self, "inactive", std::chrono::milliseconds(*ms));
    }
  if (!c.timer_closed.empty())
    if (auto ms = cv::parse_duration_ms(c.timer_closed)) {
      c.date_closed = t + std::chrono::milliseconds(*ms);
      st.timers.schedule(self, "closed", std::chrono::milliseconds(*ms));
    }
}

std::vector<std::pair<std::string, std::string>> bound_pairs(const conversation_state& st) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& p : st.participants)
    if (!p.binding.address.empty())
      out.emplace_back(p.binding.address, p.binding.proxy_address);
  return out;
}

// Moves the conversation to a new state; closing frees its bindings.
void set_state(self_ptr self, cv::conversation_state s) {
  auto& st = self->state;
  if (st.conv.state == s)
    return;
  st.conv.state = s;
  st.conv.updated = now();
  if (s == cv::conversation_state::closed) {
    auto pairs = bound_pairs(st);
    if (!pairs.empty())
      self->send(st.directory, bindings_released{st.conv.sid, std::move(pairs)});
  }
}

// A message or a new participant: an inactive conversation is active again
// and the timers count from now. When that changed the record, it is saved
// and the directory's copy (lists) follows. A message alone leaves the
// record as it was: its next index is not written each time but derived
// from the messages when the conversation is read back (store/image.cpp).
void activity(self_ptr self) {
  auto& st = self->state;
  bool changed = false;
  if (st.conv.state == cv::conversation_state::inactive) {
    set_state(self, cv::conversation_state::active);
    changed = true;
  }
  if (!st.conv.timer_inactive.empty() || !st.conv.timer_closed.empty()) {
    arm_timers(self);
    changed = true;
  }
  if (changed) {
    save_conversation(self);
    publish(self);
  }
}

// An edge send or media download it waited for has answered; false when the
// conversation is deleted (nothing to update).
bool outstanding_answered(self_ptr self) {
  auto& st = self->state;
  st.last_active = self->clock().now();
  if (st.outstanding > 0)
    --st.outstanding;
  return !st.deleted;
}

// Quiet: nothing of its own in flight, so stopping loses nothing.
bool quiet(const conversation_state& st) {
  return !st.hooked && st.stash.empty() && !st.deleted && st.outstanding == 0 && st.durable.quiet();
}

// The idle check: tells the root once the conversation has been idle for
// passivate_after and is quiet; looks again after another period either way.
void check_idle(self_ptr self) {
  auto& st = self->state;
  auto period = st.options.passivate_after;
  auto idle = self->clock().now() - st.last_active;
  if (idle >= period && quiet(st))
    self->send(st.directory, cv_idle{st.conv.sid});
  st.timers.schedule(self, "idle", idle >= period ? period : std::chrono::duration_cast<model::millis>(period - idle));
}

void on_timers(self_ptr self) {
  auto& st = self->state;
  bool changed = false;
  for (auto& key : st.timers.due(self)) {
    if (key == "idle") {
      check_idle(self);
      continue;
    }
    auto before = st.conv.state;
    if (key == "inactive" && st.conv.state == cv::conversation_state::active) {
      set_state(self, cv::conversation_state::inactive);
      st.conv.date_inactive.reset();
      fire_state(self, before, "TIMER");
      changed = true;
    } else if (key == "closed" && st.conv.state != cv::conversation_state::closed) {
      set_state(self, cv::conversation_state::closed);
      fire_state(self, before, "TIMER");
      st.timers.cancel("inactive");
      st.conv.date_inactive.reset();
      st.conv.date_closed.reset();
      changed = true;
    }
  }
  if (changed) {
    save_conversation(self);
    publish(self);
    st.durable.settle(self);
  }
}

// ------------------------------------------------------------- validation --

bool is_write(cv_op op) {
  switch (op) {
    case cv_op::conversation_update: case cv_op::conversation_delete:
    case cv_op::participant_create: case cv_op::participant_update: case cv_op::participant_delete:
    case cv_op::message_create: case cv_op::message_update: case cv_op::message_delete:
    case cv_op::webhook_create: case cv_op::webhook_update: case cv_op::webhook_delete:
    case cv_op::inbound_message: case cv_op::delivery_status:
      return true;
    default:
      return false;
  }
}

// Takes one token for a write; false when the conversation is over its rate.
bool take_token(self_ptr self) {
  auto& st = self->state;
  auto t = self->clock().now();
  if (st.refilled == caf::actor_clock::time_point{}) {
    st.tokens = st.options.write_burst;
  } else {
    double secs = std::chrono::duration<double>(t - st.refilled).count();
    st.tokens = std::min(st.options.write_burst, st.tokens + secs * st.options.write_rate);
  }
  st.refilled = t;
  if (st.tokens < 1)
    return false;
  st.tokens -= 1;
  return true;
}

std::optional<model::error> check_name(const std::optional<std::string>& v, const char* what) {
  if (v && v->size() > cv::limits::name)
    return model::invalid_parameter(std::string(what) + " is longer than 256 characters");
  return std::nullopt;
}

std::optional<model::error> check_attrs(const std::optional<std::string>& v, std::size_t limit,
                                        const char* what) {
  if (!v)
    return std::nullopt;
  auto r = cv::check_attributes(*v, limit, what);
  if (!r)
    return r.err();
  return std::nullopt;
}

// DateCreated / DateUpdated, as Twilio lets imports set them.
std::optional<model::error> apply_dates(const model::form& p, model::time_point& created,
                                        model::time_point& updated) {
  for (auto [name, field] : {std::pair{"DateCreated", &created}, std::pair{"DateUpdated", &updated}})
    if (auto v = p.get(name)) {
      auto t = model::parse_iso8601(*v);
      if (!t)
        return model::invalid_parameter(std::string(name) + " must be an ISO-8601 date");
      *field = *t;
    }
  return std::nullopt;
}

// ---------------------------------------------------------- conversation --

cv_reply conversation_update(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto next = st.conv;
  next.updated = now();
  auto state = cv::apply_conversation_form(c.params, next);
  if (!state)
    return cv_fail(state.err());
  if (*state && st.conv.state == cv::conversation_state::closed && **state != cv::conversation_state::closed)
    return cv_fail(model::invalid_parameter("A closed conversation cannot be reopened", 50438));
  auto old_state = st.conv.state;
  auto timers_changed = next.timer_inactive != st.conv.timer_inactive || next.timer_closed != st.conv.timer_closed;
  st.conv = std::move(next);
  st.conv.state = old_state;
  if (*state)
    set_state(self, **state);
  if (timers_changed || *state)
    arm_timers(self);
  save_conversation(self);
  publish(self);
  return cv_one(st.conv);
}

// ------------------------------------------------------------ participants --

cv::participant* find_participant(conversation_state& st, const std::string& sid) {
  for (auto& p : st.participants)
    if (p.sid == sid)
      return &p;
  return nullptr;
}

cv_reply participant_create(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  if (auto u = p.first_unknown({"Identity", "MessagingBinding.Address", "MessagingBinding.ProxyAddress",
                                "MessagingBinding.ProjectedAddress", "DateCreated", "DateUpdated",
                                "Attributes", "RoleSid"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  if (st.conv.state == cv::conversation_state::closed)
    return cv_fail(model::invalid_parameter("The conversation is closed; participants cannot be added", 50438));
  auto identity = p.get("Identity").value_or("");
  auto address = p.get("MessagingBinding.Address").value_or("");
  auto proxy = p.get("MessagingBinding.ProxyAddress").value_or("");
  auto projected = p.get("MessagingBinding.ProjectedAddress").value_or("");
  if (auto e = check_name(p.get("Identity"), "Identity"))
    return cv_fail(*e);
  if (auto e = check_attrs(p.get("Attributes"), cv::limits::participant_attributes, "Attributes"))
    return cv_fail(*e);
  if (identity.empty() && address.empty())
    return cv_fail(model::invalid_parameter(
      "Either Identity (chat) or MessagingBinding.Address (SMS, WhatsApp) is required", 50436));
  if (!identity.empty() && !address.empty())
    return cv_fail(model::invalid_parameter(
      "A participant has either an Identity or a MessagingBinding.Address, not both", 50436));
  cv::participant np;
  if (!address.empty()) {
    auto type = cv::address_type(address);
    if (!type)
      return cv_fail(model::invalid_parameter(
        "MessagingBinding.Address must be an E.164 number (+15551234567) or whatsapp:+15551234567", 50407));
    if (proxy.empty())
      return cv_fail(model::invalid_parameter("MessagingBinding.ProxyAddress is required with MessagingBinding.Address", 50407));
    auto proxy_type = cv::address_type(proxy);
    if (!proxy_type || *proxy_type != *type)
      return cv_fail(model::invalid_parameter(
        "MessagingBinding.ProxyAddress must be an address of the same channel as MessagingBinding.Address", 50407));
    np.binding.type = *type;
    np.binding.address = address;
    np.binding.proxy_address = proxy;
  } else if (!projected.empty()) {
    np.binding.type = "sms";
    np.binding.projected_address = projected;
  } else if (!proxy.empty()) {
    return cv_fail(model::invalid_parameter("MessagingBinding.ProxyAddress needs MessagingBinding.Address", 50407));
  }
  std::size_t non_chat = 0;
  for (auto& q : st.participants) {
    if (!identity.empty() && q.identity == identity)
      return cv_fail(model::conflict("Participant with identity " + identity + " already exists in this conversation", 50433));
    if (!q.binding.address.empty())
      ++non_chat;
  }
  if (st.participants.size() >= cv::limits::participants)
    return cv_fail(model::invalid_parameter("A conversation has at most 1,000 participants", 50439));
  if (!address.empty() && non_chat >= cv::limits::non_chat_participants)
    return cv_fail(model::invalid_parameter("A conversation has at most 50 non-chat participants", 50439));
  np.sid = model::make_sid("MB");
  np.account_sid = st.conv.account_sid;
  np.conversation_sid = st.conv.sid;
  np.chat_service_sid = st.conv.chat_service_sid;
  np.identity = identity;
  np.attributes = p.get("Attributes").value_or("{}");
  np.role_sid = p.get("RoleSid").value_or("");
  np.created = np.updated = now();
  if (auto e = apply_dates(p, np.created, np.updated))
    return cv_fail(*e);
  st.participants.push_back(np);
  save(self, np);
  activity(self);
  return cv_one(np, true);
}

cv_reply participant_update(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  auto* found = find_participant(st, c.sid);
  if (!found)
    return cv_fail(missing(c.sid));
  if (auto u = p.first_unknown({"DateCreated", "DateUpdated", "Attributes", "RoleSid",
                                "MessagingBinding.ProxyAddress", "MessagingBinding.ProjectedAddress",
                                "Identity", "LastReadMessageIndex", "LastReadTimestamp"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  if (auto e = check_attrs(p.get("Attributes"), cv::limits::participant_attributes, "Attributes"))
    return cv_fail(*e);
  if (auto e = check_name(p.get("Identity"), "Identity"))
    return cv_fail(*e);
  auto next = *found;
  if (auto v = p.get("Identity"); v && *v != next.identity) {
    if (!next.binding.address.empty())
      return cv_fail(model::invalid_parameter("A messaging participant has no Identity", 50436));
    for (auto& q : st.participants)
      if (q.identity == *v)
        return cv_fail(model::conflict("Participant with identity " + *v + " already exists in this conversation", 50433));
    next.identity = *v;
  }
  if (p.has("MessagingBinding.ProxyAddress"))
    return cv_fail(model::invalid_parameter(
      "MessagingBinding.ProxyAddress cannot change; remove the participant and add it again", 50407));
  if (auto v = p.get("MessagingBinding.ProjectedAddress")) {
    if (!next.binding.address.empty())
      return cv_fail(model::invalid_parameter("A messaging participant has no projected address", 50407));
    next.binding.type = v->empty() ? "" : "sms";
    next.binding.projected_address = *v;
  }
  auto idx = p.get_int("LastReadMessageIndex", 0, 1LL << 53);
  if (!idx)
    return cv_fail(idx.err());
  if (*idx)
    next.last_read_message_index = **idx;
  if (auto v = p.get("LastReadTimestamp")) {
    auto t = model::parse_iso8601(*v);
    if (!t)
      return cv_fail(model::invalid_parameter("LastReadTimestamp must be an ISO-8601 date"));
    next.last_read_timestamp = *t;
  } else if (*idx) {
    next.last_read_timestamp = now();
  }
  if (auto v = p.get("Attributes")) next.attributes = *v;
  if (auto v = p.get("RoleSid")) next.role_sid = *v;
  next.updated = now();
  if (auto e = apply_dates(p, next.created, next.updated))
    return cv_fail(*e);
  *found = std::move(next);
  save(self, *found);
  return cv_one(*found);
}

cv_reply participant_delete(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto it = std::find_if(st.participants.begin(), st.participants.end(),
                         [&](auto& p) { return p.sid == c.sid; });
  if (it == st.participants.end())
    return cv_fail(missing(c.sid));
  if (!it->binding.address.empty() && st.conv.state != cv::conversation_state::closed)
    self->send(st.directory, bindings_released{st.conv.sid, {{it->binding.address, it->binding.proxy_address}}});
  st.durable.erase("participant", it->sid, st.conv.sid);
  st.participants.erase(it);
  return cv_reply{std::monostate{}};
}

// ---------------------------------------------------------------- messages --

cv::message* find_message(conversation_state& st, const std::string& sid) {
  for (auto& m : st.messages)
    if (m.sid == sid)
      return &m;
  return nullptr;
}

// The participant a message's author names: a chat identity or an address.
std::string author_participant(const conversation_state& st, const std::string& author) {
  for (auto& p : st.participants)
    if ((!p.identity.empty() && p.identity == author) ||
        (!p.binding.address.empty() && p.binding.address == author))
      return p.sid;
  return {};
}

// ------------------------------------------------------------ outbound --

// The participants a message goes out to over a messaging channel: those
// with an address, except its author.
std::vector<const cv::participant*> recipients(const conversation_state& st, const std::string& author_sid) {
  std::vector<const cv::participant*> out;
  for (auto& p : st.participants)
    if (!p.binding.address.empty() && p.sid != author_sid)
      out.push_back(&p);
  return out;
}

// SMS and WhatsApp carry at most 1,600 characters (Twilio's 21617).
std::optional<model::error> check_outbound_length(const conversation_state& st, const std::string& body,
                                                  const std::string& author) {
  if (cv::code_points(body) <= cv::limits::outbound_sms_chars)
    return std::nullopt;
  std::string author_sid;
  for (auto& p : st.participants)
    if ((!p.identity.empty() && p.identity == author) || (!p.binding.address.empty() && p.binding.address == author))
      author_sid = p.sid;
  if (recipients(st, author_sid).empty())
    return std::nullopt;
  return model::invalid_parameter(
    "The message body exceeds the 1600 character limit of SMS and WhatsApp participants", 21617);
}

// Hands the message to the edge for each messaging recipient once it is
// committed; the edge answers with delivery_report.
void send_out(self_ptr self, const cv::message& m) {
  auto& st = self->state;
  if (!st.options.edge)
    return;
  std::vector<edge_send> sends;
  for (auto* p : recipients(st, m.participant_sid)) {
    edge_send s;
    s.conversation = caf::actor_cast<caf::actor>(self);
    s.account_sid = st.conv.account_sid;
    s.conversation_sid = st.conv.sid;
    s.message_sid = m.sid;
    s.participant_sid = p->sid;
    s.channel = p->binding.type;
    s.from = p->binding.proxy_address;
    s.to = p->binding.address;
    s.body = m.body;
    for (auto& media : m.media)
      if (!media.source_url.empty())
        s.media_urls.push_back(media.source_url);
      else
        s.media_sids.push_back(media.sid);
    s.messaging_service_sid = st.conv.messaging_service_sid;
    sends.push_back(std::move(s));
  }
  if (sends.empty())
    return;
  st.outstanding += static_cast<std::uint32_t>(sends.size()); // each ends with a delivery_report
  st.durable.after_commit(self, [self, sends = std::move(sends)]() mutable {
    for (auto& s : sends)
      self->send(self->state.options.edge, std::move(s));
  });
}

// sent < delivered < read; failed and undelivered end a receipt.
int rank(cv::delivery_status s) {
  switch (s) {
    case cv::delivery_status::sent: return 1;
    case cv::delivery_status::delivered: return 2;
    case cv::delivery_status::read: return 3;
    default: return 4;
  }
}

model::form_pairs delivery_fields(const cv::conversation& c, const cv::message& m, const cv::receipt& r) {
  model::form_pairs f{{"AccountSid", c.account_sid},
                      {"ChatServiceSid", c.chat_service_sid},
                      {"ConversationSid", c.sid},
                      {"MessageSid", m.sid},
                      {"DeliveryReceiptSid", r.sid},
                      {"ChannelMessageSid", r.channel_message_sid},
                      {"ParticipantSid", r.participant_sid},
                      {"Status", cv::to_string(r.status)},
                      {"ErrorCode", std::to_string(r.error_code)},
                      {"DateCreated", model::iso8601(r.created)},
                      {"DateUpdated", model::iso8601(r.updated)}};
  return f;
}

// Applies what is known of one participant's copy of a message to its
// receipt. Statuses only move forward (callbacks may arrive out of order);
// a change is saved and fires onDeliveryUpdated.
std::optional<model::error> apply_delivery(self_ptr self, const delivery_report& d) {
  auto& st = self->state;
  auto* m = find_message(st, d.message_sid);
  if (!m)
    return missing(d.message_sid);
  auto r = std::find_if(m->receipts.begin(), m->receipts.end(),
                        [&](auto& x) { return x.participant_sid == d.participant_sid; });
  bool changed = false;
  if (r == m->receipts.end()) {
    if (!find_participant(st, d.participant_sid))
      return missing(d.participant_sid);
    if (!d.status)
      return std::nullopt;
    cv::receipt n;
    n.sid = model::make_sid("DY");
    n.participant_sid = d.participant_sid;
    n.channel_message_sid = d.channel_message_sid;
    n.status = *d.status;
    n.error_code = d.error_code;
    n.created = n.updated = now();
    m->receipts.push_back(std::move(n));
    r = std::prev(m->receipts.end());
    changed = true;
  } else {
    if (r->channel_message_sid.empty() && !d.channel_message_sid.empty()) {
      r->channel_message_sid = d.channel_message_sid;
      changed = true;
    }
    if (d.status && rank(*d.status) > rank(r->status)) {
      r->status = *d.status;
      r->error_code = d.error_code;
      r->updated = now();
      changed = true;
    }
  }
  if (!changed)
    return std::nullopt;
  save(self, *m);
  fire(self, "onDeliveryUpdated", delivery_fields(st.conv, *m, *r), "API");
  return std::nullopt;
}

// A gateway's status callback (MessageStatus, ErrorCode, MessageSid).
cv_reply delivery_status(self_ptr self, const cv_call& c) {
  auto status_text = c.params.get("MessageStatus").value_or(c.params.get("SmsStatus").value_or(""));
  delivery_report d{c.sid, c.sub_sid, c.params.get("MessageSid").value_or(""), std::nullopt, 0};
  if (auto s = cv::parse_delivery_status(status_text)) {
    d.status = *s;
  } else if (status_text != "queued" && status_text != "accepted" && status_text != "sending" &&
             status_text != "scheduled") {
    return cv_fail(model::invalid_parameter("MessageStatus " + status_text + " is not a message status"));
  }
  auto code = c.params.get_int("ErrorCode", 0, 999999);
  if (!code)
    return cv_fail(code.err());
  d.error_code = static_cast<int>(code->value_or(0));
  if (auto e = apply_delivery(self, d))
    return cv_fail(*e);
  return cv_reply{std::monostate{}};
}

// --------------------------------------------------------------- inbound --

const char* source_of(const std::string& type) { return type == "whatsapp" ? "WHATSAPP" : "SMS"; }

// An inbound message's media: once the message is committed the media actor
// downloads each MediaUrl and keeps it under the SID the message gave it
// (media_imported tells what became of them). The message is acknowledged
// without waiting: a slow or failing media host must not lose the
// customer's message.
void import_media(self_ptr self, const cv::message& m) {
  auto& st = self->state;
  if (m.media.empty() || !st.options.media)
    return;
  media_import imp;
  imp.account_sid = m.account_sid;
  imp.service_sid = m.chat_service_sid;
  imp.conversation_sid = m.conversation_sid;
  imp.message_sid = m.sid;
  for (auto& r : m.media)
    imp.items.push_back(media_import_item{r.sid, r.source_url, r.content_type});
  imp.reply_to = caf::actor_cast<caf::actor>(self);
  ++st.outstanding; // ends with media_imported
  st.durable.after_commit(self, [self, imp = std::move(imp)]() mutable {
    self->send(self->state.options.media, std::move(imp));
  });
}

// The media actor kept (some of) a message's inbound media: the message
// shows their type, name and size from now on. Those it could not fetch
// keep their SID and source URL with size 0.
void media_imported_into(self_ptr self, const media_imported& r) {
  auto& st = self->state;
  auto* m = find_message(st, r.message_sid);
  if (!m)
    return; // deleted meanwhile
  bool changed = false;
  for (auto& got : r.stored)
    for (auto& ref : m->media)
      if (ref.sid == got.sid) {
        ref.content_type = got.content_type;
        ref.filename = got.filename;
        ref.size = got.size;
        changed = true;
      }
  if (changed)
    save(self, *m);
}

// An inbound message the root routed here: into a conversation that holds
// its (From, To) binding, or one the root has just created for it
// (c.created_by), which first gains the sender as participant and the
// address configuration's scoped webhook, all in one commit.
cv_reply inbound_message(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto in = cv::parse_inbound(c.params);
  if (!in)
    return cv_fail(in.err());
  if (st.conv.state == cv::conversation_state::closed)
    return cv_fail(model::invalid_parameter("The conversation is closed; messages cannot be added", 50438));
  auto source = source_of(in->type);
  auto t = now();
  std::optional<cv::participant> added;
  if (c.created_by) {
    cv::participant np;
    np.sid = model::make_sid("MB");
    np.account_sid = st.conv.account_sid;
    np.conversation_sid = st.conv.sid;
    np.chat_service_sid = st.conv.chat_service_sid;
    np.binding.type = in->type;
    np.binding.address = in->from;
    np.binding.proxy_address = in->to;
    np.created = np.updated = t;
    st.participants.push_back(np);
    save(self, np);
    added = np;
    auto& ac = c.created_by->auto_creation;
    if ((ac.type == "webhook" && !ac.webhook_url.empty()) || (ac.type == "studio" && !ac.studio_flow_sid.empty())) {
      cv::conversation_webhook w;
      w.sid = model::make_sid("WH");
      w.account_sid = st.conv.account_sid;
      w.conversation_sid = st.conv.sid;
      w.target = ac.type;
      if (ac.type == "webhook") {
        w.url = ac.webhook_url;
        w.method = ac.webhook_method.empty() ? "POST" : ac.webhook_method;
        w.filters = ac.webhook_filters;
      } else {
        w.flow_sid = ac.studio_flow_sid;
      }
      w.created = w.updated = t;
      st.webhooks.push_back(w);
      save(self, w);
    }
  }
  cv::message m;
  m.sid = model::make_sid("IM");
  m.account_sid = st.conv.account_sid;
  m.conversation_sid = st.conv.sid;
  m.chat_service_sid = st.conv.chat_service_sid;
  m.index = st.conv.next_message_index++;
  m.author = in->from;
  m.body = in->body;
  for (auto& p : st.participants)
    if (p.binding.address == in->from && p.binding.proxy_address == in->to)
      m.participant_sid = p.sid;
  for (auto& media : in->media)
    m.media.push_back(cv::media_ref{model::make_sid("ME"), media.content_type, "", 0, media.url});
  m.created = m.updated = t;
  st.messages.push_back(m);
  save(self, m);
  activity(self);
  // Inbound actions always fire their events (only REST calls need
  // X-Twilio-Webhook-Enabled), in this order.
  if (added) {
    fire(self, "onConversationAdded", cv_event_fields(st.conv), source);
    fire(self, "onParticipantAdded", cv_event_fields(st.conv, *added), source);
  }
  fire(self, "onMessageAdded", cv_event_fields(st.conv, m), source);
  to_studio(self, m);
  send_out(self, m);
  import_media(self, m);
  return cv_one(m, true);
}

cv_reply message_create(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  if (auto u = p.first_unknown({"Author", "Body", "DateCreated", "DateUpdated", "Attributes",
                                "MediaSid", "ContentSid", "ContentVariables", "Subject"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  if (st.conv.state == cv::conversation_state::closed)
    return cv_fail(model::invalid_parameter("The conversation is closed; messages cannot be added", 50438));
  auto body = p.get("Body").value_or("");
  auto media = p.all("MediaSid");
  if (body.empty() && media.empty() && !p.has("ContentSid"))
    return cv_fail(model::invalid_parameter("A message needs a Body or a MediaSid", 50511));
  if (body.size() > cv::limits::body)
    return cv_fail(model::invalid_parameter("Body is longer than 32 KB", 50511));
  if (auto e = check_attrs(p.get("Attributes"), cv::limits::message_attributes, "Attributes"))
    return cv_fail(*e);
  if (auto e = check_name(p.get("Author"), "Author"))
    return cv_fail(*e);
  if (auto e = check_outbound_length(st, body, p.get("Author").value_or("system")))
    return cv_fail(*e);
  for (auto& m : media)
    if (!model::is_sid(m, "ME"))
      return cv_fail(model::invalid_parameter("MediaSid " + m + " is not a media SID", 50510));
  cv::message m;
  m.sid = model::make_sid("IM");
  m.account_sid = st.conv.account_sid;
  m.conversation_sid = st.conv.sid;
  m.chat_service_sid = st.conv.chat_service_sid;
  m.index = st.conv.next_message_index;
  m.author = p.get("Author").value_or("system");
  m.body = body;
  m.attributes = p.get("Attributes").value_or("{}");
  m.participant_sid = author_participant(st, m.author);
  if (!media.empty() && !c.resolved_media)
    return cv_fail(model::invalid_parameter("Media are not available on this server", 50510));
  if (c.resolved_media) {
    // Each messaging recipient's channel must carry them.
    std::vector<model::cv::media> files;
    for (auto& r : *c.resolved_media) {
      model::cv::media f;
      f.sid = r.sid;
      f.content_type = r.content_type;
      f.size = r.size;
      files.push_back(std::move(f));
    }
    for (auto* rcpt : recipients(st, author_participant(st, m.author)))
      if (auto e = cv::check_media_for_channel(rcpt->binding.type, files))
        return cv_fail(*e);
    m.media = *c.resolved_media;
  }
  m.created = m.updated = now();
  if (auto e = apply_dates(p, m.created, m.updated))
    return cv_fail(*e);
  ++st.conv.next_message_index;
  st.messages.push_back(m);
  save(self, m);
  activity(self);
  send_out(self, m);
  if (!m.media.empty() && st.options.media) {
    media_attach attach{m.account_sid, media, m.sid, m.conversation_sid};
    st.durable.after_commit(self, [self, attach]() { self->send(self->state.options.media, attach); });
  }
  return cv_one(m, true);
}

cv_reply message_update(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  auto* found = find_message(st, c.sid);
  if (!found)
    return cv_fail(missing(c.sid));
  if (auto u = p.first_unknown({"Author", "Body", "DateCreated", "DateUpdated", "Attributes", "Subject"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  if (auto v = p.get("Body"); v && v->size() > cv::limits::body)
    return cv_fail(model::invalid_parameter("Body is longer than 32 KB", 50511));
  if (auto e = check_attrs(p.get("Attributes"), cv::limits::message_attributes, "Attributes"))
    return cv_fail(*e);
  if (auto e = check_name(p.get("Author"), "Author"))
    return cv_fail(*e);
  auto next = *found;
  if (auto v = p.get("Author")) {
    next.author = *v;
    next.participant_sid = author_participant(st, *v);
  }
  if (auto v = p.get("Body")) next.body = *v;
  if (auto v = p.get("Attributes")) next.attributes = *v;
  next.updated = now();
  if (auto e = apply_dates(p, next.created, next.updated))
    return cv_fail(*e);
  *found = std::move(next);
  save(self, *found);
  return cv_one(*found);
}

cv_reply message_delete(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto it = std::find_if(st.messages.begin(), st.messages.end(), [&](auto& m) { return m.sid == c.sid; });
  if (it == st.messages.end())
    return cv_fail(missing(c.sid));
  st.durable.erase("message", it->sid, st.conv.sid);
  // The next index is derived from the messages at recovery: with the
  // newest one gone the record must carry it, or the index would be reused.
  if (std::next(it) == st.messages.end())
    save_conversation(self);
  st.messages.erase(it);
  return cv_reply{std::monostate{}};
}

cv_reply message_list(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto order = c.params.get("Order").value_or("asc");
  if (order != "asc" && order != "desc")
    return cv_fail(model::invalid_parameter("Order must be asc or desc"));
  auto all = [](auto&) { return true; };
  auto make = [](const cv::message& m) { return cv_resource{m}; };
  if (order == "desc")
    return cv_page_of(st.messages.rbegin(), st.messages.rend(), c.page, all, make);
  return cv_page_of(st.messages.begin(), st.messages.end(), c.page, all, make);
}

// ---------------------------------------------------------------- webhooks --

cv::conversation_webhook* find_webhook(conversation_state& st, const std::string& sid) {
  for (auto& w : st.webhooks)
    if (w.sid == sid)
      return &w;
  return nullptr;
}

// Applies Configuration.* to a webhook; the target decides what is required.
std::optional<model::error> apply_webhook(cv::conversation_webhook& w, const model::form& p) {
  if (auto v = p.get("Configuration.Url")) w.url = *v;
  if (auto v = p.get("Configuration.Method")) {
    std::string m = *v;
    std::transform(m.begin(), m.end(), m.begin(), ::toupper);
    if (m != "GET" && m != "POST")
      return model::invalid_parameter("Configuration.Method must be GET or POST");
    w.method = m;
  }
  if (p.has("Configuration.Filters")) w.filters = p.all("Configuration.Filters");
  if (p.has("Configuration.Triggers")) w.triggers = p.all("Configuration.Triggers");
  if (auto v = p.get("Configuration.FlowSid")) w.flow_sid = *v;
  auto replay = p.get_int("Configuration.ReplayAfter", 0, 1LL << 53);
  if (!replay)
    return replay.err();
  if (*replay)
    w.replay_after = **replay;
  if (w.target == "webhook" || w.target == "trigger") {
    if (w.url.empty())
      return model::invalid_parameter("Configuration.Url is required for a " + w.target + " webhook");
    if (w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0)
      return model::invalid_parameter("Configuration.Url must be an http or https URL");
  }
  if (w.target == "trigger" && w.triggers.empty())
    return model::invalid_parameter("Configuration.Triggers is required for a trigger webhook");
  if (w.target == "studio" && !model::is_sid(w.flow_sid, "FW"))
    return model::invalid_parameter("Configuration.FlowSid (a Studio flow SID) is required for a studio webhook");
  static const std::vector<std::string> known = {
    "onMessageAdded", "onMessageUpdated", "onMessageRemoved", "onParticipantAdded",
    "onParticipantUpdated", "onParticipantRemoved", "onConversationUpdated",
    "onConversationRemoved", "onConversationStateUpdated", "onDeliveryUpdated"};
  for (auto& f : w.filters)
    if (std::find(known.begin(), known.end(), f) == known.end())
      return model::invalid_parameter("Configuration.Filters: " + f + " is not a post-action event");
  return std::nullopt;
}

cv_reply webhook_create(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  if (auto u = p.first_unknown({"Target", "Configuration.Url", "Configuration.Method", "Configuration.Filters",
                                "Configuration.Triggers", "Configuration.FlowSid", "Configuration.ReplayAfter"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  auto target = p.get("Target").value_or("");
  if (target != "webhook" && target != "trigger" && target != "studio")
    return cv_fail(model::invalid_parameter("Target must be webhook, trigger or studio"));
  if (st.webhooks.size() >= 5)
    return cv_fail(model::invalid_parameter("A conversation has at most 5 scoped webhooks"));
  cv::conversation_webhook w;
  w.sid = model::make_sid("WH");
  w.account_sid = st.conv.account_sid;
  w.conversation_sid = st.conv.sid;
  w.target = target;
  if (auto e = apply_webhook(w, p))
    return cv_fail(*e);
  w.created = w.updated = now();
  st.webhooks.push_back(w);
  save(self, w);
  return cv_one(w, true);
}

cv_reply webhook_update(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto* found = find_webhook(st, c.sid);
  if (!found)
    return cv_fail(missing(c.sid));
  if (auto u = c.params.first_unknown({"Configuration.Url", "Configuration.Method", "Configuration.Filters",
                                       "Configuration.Triggers", "Configuration.FlowSid"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  auto next = *found;
  if (auto e = apply_webhook(next, c.params))
    return cv_fail(*e);
  next.updated = now();
  *found = std::move(next);
  save(self, *found);
  return cv_one(*found);
}

// ---------------------------------------------------------------- dispatch --

cv_reply handle(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  switch (c.op) {
    case cv_op::conversation_fetch:
      return cv_one(st.conv);
    case cv_op::conversation_update:
      return conversation_update(self, c);
    case cv_op::participant_create:
      return participant_create(self, c);
    case cv_op::participant_list:
      return cv_page_of(st.participants, c.page, [](auto& p) { return cv_resource{p}; });
    case cv_op::participant_fetch:
      if (auto* p = find_participant(st, c.sid))
        return cv_one(*p);
      return cv_fail(missing(c.sid));
    case cv_op::participant_update:
      return participant_update(self, c);
    case cv_op::participant_delete:
      return participant_delete(self, c);
    case cv_op::message_create:
      return message_create(self, c);
    case cv_op::message_list:
      return message_list(self, c);
    case cv_op::message_fetch:
      if (auto* m = find_message(st, c.sid))
        return cv_one(*m);
      return cv_fail(missing(c.sid));
    case cv_op::message_update:
      return message_update(self, c);
    case cv_op::message_delete:
      return message_delete(self, c);
    case cv_op::inbound_message:
      return inbound_message(self, c);
    case cv_op::delivery_status:
      return delivery_status(self, c);
    case cv_op::receipt_list: {
      auto* m = find_message(st, c.sid);
      if (!m)
        return cv_fail(missing(c.sid));
      auto bare = *m;
      bare.receipts.clear();
      return cv_page_of(m->receipts, c.page, [&](auto& r) { return cv_resource{receipt_ref{bare, r}}; });
    }
    case cv_op::receipt_fetch: {
      auto* m = find_message(st, c.sid);
      if (!m)
        return cv_fail(missing(c.sid));
      for (auto& r : m->receipts)
        if (r.sid == c.sub_sid) {
          auto bare = *m;
          bare.receipts.clear();
          return cv_one(receipt_ref{bare, r});
        }
      return cv_fail(missing(c.sub_sid));
    }
    case cv_op::webhook_create:
      return webhook_create(self, c);
    case cv_op::webhook_list:
      return cv_page_of(st.webhooks, c.page, [](auto& w) { return cv_resource{w}; });
    case cv_op::webhook_fetch:
      if (auto* w = find_webhook(st, c.sid))
        return cv_one(*w);
      return cv_fail(missing(c.sid));
    case cv_op::webhook_update:
      return webhook_update(self, c);
    case cv_op::webhook_delete: {
      auto it = std::find_if(st.webhooks.begin(), st.webhooks.end(), [&](auto& w) { return w.sid == c.sid; });
      if (it == st.webhooks.end())
        return cv_fail(missing(c.sid));
      st.durable.erase("cv_webhook", it->sid, st.conv.sid);
      st.webhooks.erase(it);
      return cv_reply{std::monostate{}};
    }
    default:
      return cv_fail(model::error{model::errc::internal, 20500, "operation not handled by a conversation"});
  }
}

// ---------------------------------------------------------------- calls --

using pre_timeout_atom = caf::atom_constant<caf::atom("cv_pre_to")>;

// Applies a call whose pre-action webhook (if any) let it through.
void apply_call(self_ptr self, cv_call& c, caf::response_promise rp) {
  auto& st = self->state;
  bool write = is_write(c.op);
  if (c.op == cv_op::conversation_delete) {
    if (c.webhooks_enabled)
      fire(self, "onConversationRemoved", cv_event_fields(st.conv));
    if (st.conv.state != cv::conversation_state::closed) {
      auto pairs = bound_pairs(st);
      if (!pairs.empty())
        self->send(st.directory, bindings_released{st.conv.sid, std::move(pairs)});
    }
    st.durable.erase_scope(st.conv.sid);
    st.deleted = true;
    st.timers = actor_timers{};
    // The directory stops this actor once the answer has reached it.
    st.durable.answer(self, rp, cv_reply{std::monostate{}}, true);
    return;
  }
  if (st.deleted) {
    rp.deliver(cv_fail(missing(st.conv.sid)));
    return;
  }
  std::optional<cv::participant> gone_p;
  std::optional<cv::message> gone_m;
  if (c.webhooks_enabled && c.op == cv_op::participant_delete)
    if (auto* p = find_participant(st, c.sid))
      gone_p = *p;
  if (c.webhooks_enabled && c.op == cv_op::message_delete)
    if (auto* m = find_message(st, c.sid))
      gone_m = *m;
  auto state_before = st.conv.state;
  auto reply = handle(self, c);
  bool ok = !std::holds_alternative<model::error>(reply.value);
  if (ok && write && c.webhooks_enabled)
    fire_for(self, c, reply, gone_p, gone_m, state_before);
  if (ok && c.op == cv_op::message_create)
    if (auto* res = std::get_if<cv_resource>(&reply.value))
      if (auto* m = std::get_if<cv::message>(res))
        to_studio(self, *m);
  st.durable.answer(self, rp, std::move(reply), write && ok);
  st.durable.settle(self);
}

// The pre-action webhook a call must pass first, if any: REST calls only
// with X-Twilio-Webhook-Enabled (as post-action events), inbound messages
// always.
std::optional<cv_pre_hook> pre_hook_of(self_ptr self, const cv_call& c, const char*& event) {
  auto& st = self->state;
  event = cv_pre_event(static_cast<int>(c.op));
  if (!event || !st.options.webhooks || st.deleted || !(c.webhooks_enabled || c.op == cv_op::inbound_message))
    return std::nullopt;
  auto fields = cv_event_fields(st.conv);
  if (c.op == cv_op::inbound_message)
    for (auto& [name, value] : fields)
      if (name == "Source")
        value = source_of(cv::address_type(c.params.get("From").value_or("")).value_or("sms"));
  if (!c.sid.empty())
    fields.emplace_back(c.op >= cv_op::message_create ? "MessageSid" : "ParticipantSid", c.sid);
  for (auto& kv : c.params.pairs())
    fields.push_back(kv);
  return cv_pre_hook_for(event, fields, st.hooks, token_of(self));
}

void start_hooked(self_ptr self, cv_call c, caf::response_promise rp);
void start_call(self_ptr self, cv_call c, caf::response_promise rp);

// Starts the calls that waited behind a held one.
void drain(self_ptr self) {
  auto& st = self->state;
  while (!st.hooked && !st.stash.empty()) {
    auto next = std::move(st.stash.front());
    st.stash.erase(st.stash.begin());
    start_call(self, std::move(next.call), std::move(next.rp));
  }
}

// Starts a call: the write rate, its pre-action webhook, the call.
void start_call(self_ptr self, cv_call c, caf::response_promise rp) {
  // A gateway's status callbacks are not the client's writes: never refused.
  if (is_write(c.op) && c.op != cv_op::delivery_status && !take_token(self)) {
    rp.deliver(cv_fail(model::error{model::errc::rate_limited, 20429,
                                    "Too many writes to this conversation; slow down and retry"}));
    return;
  }
  start_hooked(self, std::move(c), std::move(rp));
}

// The pre-action webhook stage of a call, then the call.
void start_hooked(self_ptr self, cv_call c, caf::response_promise rp) {
  auto& st = self->state;
  const char* event = nullptr;
  auto hook = pre_hook_of(self, c, event);
  if (!hook) {
    apply_call(self, c, std::move(rp));
    return;
  }
  auto id = ++st.hook_id;
  hook->post.reply_to = caf::actor_cast<caf::actor>(self);
  hook->post.tag = "pre " + std::to_string(id);
  st.hooked = std::make_unique<conversation_state::held_call>(conversation_state::held_call{std::move(c), std::move(rp)});
  st.hooked_event = event;
  self->send(st.options.webhooks, std::move(hook->post));
  self->delayed_send(self, hook->timeout, pre_timeout_atom::value, id);
}

// The pre-action webhook answered (status), failed to connect (0) or timed
// out (-1): the held call goes ahead, modified, or is refused; then the
// calls that waited behind it start.
void pre_hook_answered(self_ptr self, int status, const std::string& body) {
  auto& st = self->state;
  auto held = std::move(*st.hooked);
  st.hooked.reset();
  if (status >= 200 && status < 300) {
    cv_pre_modify(st.hooked_event, body, held.call.params);
    apply_call(self, held.call, std::move(held.rp));
  } else if (status > 0) {
    held.rp.deliver(cv_fail(model::error{model::errc::forbidden, 20403,
                                         "The pre-action webhook rejected " + st.hooked_event + " (HTTP " +
                                           std::to_string(status) + "); nothing was changed"}));
  } else {
    apply_call(self, held.call, std::move(held.rp));
  }
  drain(self);
}

} // namespace

caf::behavior conversation_actor(conversation_actor_type* self, conversation_seed seed,
                                 caf::actor directory, conversation_options options) {
  auto& st = self->state;
  st.conv = std::move(seed.conv);
  st.participants = std::move(seed.participants);
  st.messages.assign(seed.messages.begin(), seed.messages.end());
  st.webhooks = std::move(seed.webhooks);
  st.hooks = std::move(seed.hooks);
  st.directory = std::move(directory);
  st.options = std::move(options);
  st.durable.set_store(st.options.store);
  st.last_active = self->clock().now();
  if (st.options.passivate_after.count() > 0 && st.options.store)
    st.timers.schedule(self, "idle", st.options.passivate_after);
  // Timers count on from where they stood: re-armed with what is left.
  auto t = now();
  if (st.conv.state != cv::conversation_state::closed) {
    if (st.conv.date_inactive && st.conv.state == cv::conversation_state::active)
      st.timers.schedule(self, "inactive",
                         std::max(model::millis(0), std::chrono::duration_cast<model::millis>(*st.conv.date_inactive - t)));
    if (st.conv.date_closed)
      st.timers.schedule(self, "closed",
                         std::max(model::millis(0), std::chrono::duration_cast<model::millis>(*st.conv.date_closed - t)));
  }
  return {
    [=](cv_call& c) {
      auto& st = self->state;
      st.last_active = self->clock().now();
      auto rp = self->make_response_promise<cv_reply>();
      if (st.hooked) { // a pre-action webhook is out: wait behind it
        st.stash.push_back({std::move(c), std::move(rp)});
        return;
      }
      start_call(self, std::move(c), std::move(rp));
    },
    [=](webhook_done& d) {
      auto& st = self->state;
      if (st.hooked && d.tag == "pre " + std::to_string(st.hook_id))
        pre_hook_answered(self, d.status, d.body);
    },
    [=](pre_timeout_atom, std::uint64_t id) {
      auto& st = self->state;
      if (st.hooked && id == st.hook_id)
        pre_hook_answered(self, -1, {}); // no answer in time: the action goes ahead
    },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, cv_unavailable()); },
    [=](delivery_report& d) {
      if (!outstanding_answered(self))
        return;
      apply_delivery(self, d); // a message deleted meanwhile has nothing to update
      self->state.durable.settle(self);
    },
    [=](media_imported& r) {
      if (!outstanding_answered(self))
        return;
      media_imported_into(self, r);
      self->state.durable.settle(self);
    },
    [=](cv_hooks_changed& h) { self->state.hooks = cv_hook_settings{std::move(h.service), std::move(h.account)}; },
    [=](timers_due) {
      if (!self->state.deleted)
        on_timers(self);
    },
    [=](cv_passivate_atom) -> cv_passivated {
      auto& st = self->state;
      if (!quiet(st))
        return cv_passivated{false, {}};
      // Everything it wrote is committed: the store holds all of it. The
      // root keeps the record and its deadlines.
      self->unlink_from(st.directory);
      self->quit();
      return cv_passivated{true, st.conv};
    },
  };
}

} // namespace sb::actors
