#include "actors/interactions_actor.hpp"

#include <algorithm>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/cv_messages.hpp"
#include "actors/flex_tasks.hpp"
#include "actors/interaction_channel_actor.hpp"
#include "actors/keys_actor.hpp"
#include "model/access_token.hpp"
#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = interactions_actor_type*;
namespace flex = model::flex;
using std::chrono::system_clock;

ix_reply unavailable() {
  return ix_fail(model::error{model::errc::unavailable, 20503,
                              "The change could not be written to disk; the service refuses changes until its "
                              "store accepts writes again"});
}

model::error no_answer(const char* who) {
  return model::error{model::errc::unavailable, 20503, std::string(who) + " did not answer"};
}

interactions_state::entry* find(interactions_state& st, const std::string& account, const std::string& kd) {
  auto it = st.interactions.find(kd);
  return it == st.interactions.end() || it->second.interaction.account_sid != account ? nullptr : &it->second;
}

model::error missing(const std::string& what) {
  return model::not_found("The requested resource " + what + " was not found");
}

// The indexes follow the channel's word: its tasks, and its conversation
// while it is open.
void index_channel(self_ptr self, const flex::interaction_channel& ch) {
  auto& st = self->state;
  auto kd = ch.interaction_sid;
  std::vector<std::string> fresh;
  for (auto& t : ch.tasks)
    if (st.by_task.emplace(t.task_sid, kd).second)
      fresh.push_back(t.task_sid);
  if (ch.status == flex::channel_status::closed) {
    auto it = st.by_conversation.find(ch.conversation_sid);
    if (it != st.by_conversation.end() && it->second == kd)
      st.by_conversation.erase(it);
  } else {
    st.by_conversation[ch.conversation_sid] = kd;
  }
  // Events that came before their task was known go on now, in order.
  if (fresh.empty() || st.early.empty())
    return;
  auto e = st.interactions.find(kd);
  if (e == st.interactions.end() || !e->second.actor)
    return;
  std::deque<interactions_state::early_event> keep;
  for (auto& ev : st.early) {
    if (std::find(fresh.begin(), fresh.end(), ev.event->task_sid) != fresh.end())
      self->send(e->second.actor, ix_task_event{ev.event});
    else
      keep.push_back(std::move(ev));
  }
  st.early = std::move(keep);
}

// fresh: a new channel, which writes itself to the store first.
caf::actor spawn_channel(self_ptr self, const flex::interaction_channel& ch, bool fresh) {
  auto& st = self->state;
  if (auto* g = st.options.metrics.channel_actors)
    g->Increment();
  return self->spawn<caf::linked>(interaction_channel_actor, ch, fresh, caf::actor_cast<caf::actor>(self),
                                  st.directory, st.options.conversations, st.options.store);
}

// ------------------------------------------------------------- create --

struct create_job {
  ix_call call;
  flex::channel_spec channel;
  flex::routing_spec routing;
  std::string kd, uo;
  std::string conversation;
  bool created_conversation = false;
  std::vector<flex::channel_participant> parties;
  caf::response_promise rp;
};
using job_ptr = std::shared_ptr<create_job>;

cv_call cv(const create_job& job, cv_op op) {
  cv_call c;
  c.op = op;
  c.account_sid = job.call.account_sid;
  c.conversation = job.conversation;
  return c;
}

// Answers with e, first deleting the conversation the job created.
// The answer comes once the delete is done, so a client that looks next
// finds nothing left.
void abandon(self_ptr self, job_ptr job, model::error e) {
  if (!job->created_conversation)
    return job->rp.deliver(ix_fail(std::move(e)));
  self->request(self->state.options.conversations, caf::infinite, cv(*job, cv_op::conversation_delete))
    .then([=](cv_reply&) { job->rp.deliver(ix_fail(e)); }, [=](caf::error&) { job->rp.deliver(ix_fail(e)); });
}

void create_task(self_ptr self, job_ptr job);

// Adds the job's parties to its new conversation, one after another.
void add_parties(self_ptr self, job_ptr job, std::size_t i) {
  if (i == job->channel.participants.size())
    return create_task(self, job);
  auto& party = job->channel.participants[i];
  auto c = cv(*job, cv_op::participant_create);
  if (!party.identity.empty()) {
    c.params.add("Identity", party.identity);
  } else {
    c.params.add("MessagingBinding.Address", party.address);
    c.params.add("MessagingBinding.ProxyAddress", party.proxy_address);
  }
  nlohmann::json attrs{{"member_type", "customer"}};
  if (!party.name.empty())
    attrs["friendlyName"] = party.name;
  c.params.add("Attributes", attrs.dump());
  self->request(self->state.options.conversations, caf::infinite, std::move(c))
    .then(
      [=](cv_reply& r) {
        if (auto e = error_of(r))
          return abandon(self, job, *e);
        auto* mb = cv_value<model::cv::participant>(r);
        flex::channel_participant p;
        p.sid = model::make_sid("UT");
        p.type = flex::participant_type::customer;
        p.conversation_participant_sid = mb ? mb->sid : std::string();
        p.identity = party.identity;
        p.address = party.address;
        p.proxy_address = party.proxy_address;
        p.created = p.updated = system_clock::now();
        job->parties.push_back(std::move(p));
        add_parties(self, job, i + 1);
      },
      [=](caf::error&) { abandon(self, job, no_answer("The conversation")); });
}

void start_conversation(self_ptr self, job_ptr job) {
  auto& st = self->state;
  if (!job->channel.media_channel_sid.empty()) {
    job->conversation = job->channel.media_channel_sid;
    if (auto it = st.by_conversation.find(job->conversation); it != st.by_conversation.end())
      return job->rp.deliver(ix_fail(model::conflict("Conversation " + job->conversation +
                                                     " is already in interaction " + it->second +
                                                     "; close its channel first")));
    // The conversation's present participants are the customer side.
    auto c = cv(*job, cv_op::participant_list);
    c.page.size = 50;
    self->request(st.options.conversations, caf::infinite, std::move(c))
      .then(
        [=](cv_reply& r) {
          if (auto e = error_of(r))
            return job->rp.deliver(ix_fail(
              e->kind == model::errc::not_found
                ? model::invalid_parameter("Channel.properties.media_channel_sid " + job->conversation +
                                           " is not a conversation of this account")
                : *e));
          for (auto& item : std::get<cv_page>(r.value).items) {
            auto* mb = std::get_if<model::cv::participant>(&item);
            if (!mb)
              continue;
            auto attrs = nlohmann::json::parse(mb->attributes, nullptr, false);
            if (attrs.is_object() && attrs.value("member_type", "") == "agent")
              continue;
            flex::channel_participant p;
            p.sid = model::make_sid("UT");
            p.type = flex::participant_type::customer;
            p.conversation_participant_sid = mb->sid;
            p.identity = mb->identity;
            p.address = mb->binding.address;
            p.proxy_address = mb->binding.proxy_address;
            p.created = p.updated = system_clock::now();
            job->parties.push_back(std::move(p));
          }
          create_task(self, job);
        },
        [=](caf::error&) { job->rp.deliver(ix_fail(no_answer("The conversation"))); });
    return;
  }
  auto c = cv(*job, cv_op::conversation_create);
  nlohmann::json attrs{{"flexInteractionSid", job->kd}, {"flexInteractionChannelSid", job->uo}};
  c.params.add("Attributes", attrs.dump());
  self->request(st.options.conversations, caf::infinite, std::move(c))
    .then(
      [=](cv_reply& r) {
        if (auto e = error_of(r))
          return job->rp.deliver(ix_fail(*e));
        job->conversation = cv_value<model::cv::conversation>(r)->sid;
        job->created_conversation = true;
        add_parties(self, job, 0);
      },
      [=](caf::error&) { job->rp.deliver(ix_fail(no_answer("The conversation"))); });
}

void finish_create(self_ptr self, job_ptr job, const model::task& task) {
  auto& st = self->state;
  auto now = system_clock::now();
  flex::interaction_channel ch;
  ch.sid = job->uo;
  ch.account_sid = job->call.account_sid;
  ch.interaction_sid = job->kd;
  ch.type = job->channel.type;
  ch.status = flex::channel_status::active;
  ch.conversation_sid = job->conversation;
  ch.initiated_by = job->channel.initiated_by;
  ch.participants = job->parties;
  flex::channel_task t;
  t.task_sid = task.sid;
  t.workspace_sid = job->routing.workspace_sid;
  t.status = model::to_string(task.status);
  t.auto_accept = job->channel.initiated_by == "agent";
  ch.tasks.push_back(t);
  ch.created = ch.updated = now;

  flex::interaction ix;
  ix.sid = job->kd;
  ix.account_sid = job->call.account_sid;
  ix.channel_sid = job->uo;
  nlohmann::json channel{{"type", ch.type},
                         {"sid", ch.sid},
                         {"initiated_by", ch.initiated_by},
                         {"properties", {{"media_channel_sid", ch.conversation_sid}}}};
  ix.channel = channel.dump();
  ix.routing = flex_routing_answer(task, ix.account_sid, job->routing.workspace_sid);
  ix.interaction_context_sid = job->call.params.get("InteractionContextSid").value_or("");
  ix.webhook_ttid = job->call.params.get("WebhookTtid").value_or("");
  ix.created = ix.updated = now;

  // The channel writes itself; its answer to a fetch comes once that is
  // committed, and the interaction's answer once the interaction is too.
  auto actor = spawn_channel(self, ch, true);
  st.interactions[ix.sid] = interactions_state::entry{ix, ch, actor};
  st.order.push_back(ix.sid);
  st.by_channel[ch.sid] = ix.sid;
  index_channel(self, ch);
  ix_call probe;
  probe.op = ix_op::channel_fetch;
  self->request(actor, caf::infinite, std::move(probe))
    .then(
      [=](ix_reply& r) {
        auto& st = self->state;
        if (auto e = error_of(r))
          return job->rp.deliver(ix_fail(*e));
        st.durable.put(ix.account_sid, ix.sid, store::entity{ix});
        if (auto* f = st.options.metrics.interactions)
          f->Add({{"initiated_by", job->channel.initiated_by}}).Increment();
        st.durable.answer(self, job->rp, ix_one(ix, true), true);
        st.durable.settle(self);
      },
      [=](caf::error&) { job->rp.deliver(ix_fail(no_answer("The interaction channel"))); });
}

void create_task(self_ptr self, job_ptr job) {
  flex_task_context ctx{job->call.account_sid, job->uo, job->kd, job->conversation,
                        job->channel.type, job->channel.initiated_by, {}, {}};
  if (!job->parties.empty())
    ctx.customer = job->parties.front().address.empty() ? job->parties.front().identity : job->parties.front().address;
  auto call = flex_task_call(ctx, job->routing);
  if (!call)
    return abandon(self, job, call.err());
  self->request(self->state.directory, caf::infinite, std::move(*call))
    .then(
      [=](tr_reply& r) {
        if (auto e = error_of(r))
          return abandon(self, job, flex_routing_error(*e));
        finish_create(self, job, std::get<model::task>(std::get<resource>(r.value)));
      },
      [=](caf::error&) { abandon(self, job, no_answer("TaskRouter")); });
}

void interaction_create(self_ptr self, ix_call& c, caf::response_promise rp) {
  if (auto u = c.params.first_unknown({"Channel", "Routing", "InteractionContextSid", "WebhookTtid"}))
    return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto channel_text = c.params.get("Channel");
  if (!channel_text)
    return rp.deliver(ix_fail(model::invalid_parameter("Channel is required")));
  auto routing_text = c.params.get("Routing");
  if (!routing_text)
    return rp.deliver(ix_fail(model::invalid_parameter("Routing is required: Switchboard routes every interaction")));
  auto channel = flex::parse_channel_spec(*channel_text);
  if (!channel)
    return rp.deliver(ix_fail(channel.err()));
  auto routing = flex::parse_routing_spec(*routing_text);
  if (!routing)
    return rp.deliver(ix_fail(routing.err()));
  if (auto ctx = c.params.get("InteractionContextSid"); ctx && !model::is_sid(*ctx, "HR"))
    return rp.deliver(ix_fail(model::invalid_parameter("InteractionContextSid must be an HR SID")));
  if (channel->initiated_by == "agent" && (routing->worker_sid.empty() || routing->queue_sid.empty()))
    return rp.deliver(ix_fail(model::invalid_parameter(
      "Routing.properties needs worker_sid and queue_sid for an agent-initiated interaction")));
  auto job = std::make_shared<create_job>();
  job->call = std::move(c);
  job->channel = std::move(*channel);
  job->routing = std::move(*routing);
  job->kd = model::make_sid("KD");
  job->uo = model::make_sid("UO");
  job->rp = std::move(rp);
  start_conversation(self, job);
}

// ------------------------------------------------------------ web chat --

struct chat_job {
  ix_call call;
  model::cv::address_configuration address;
  std::string identity;
  std::string conversation;
  caf::response_promise rp;
};
using chat_ptr = std::shared_ptr<chat_job>;

void chat_fail(self_ptr self, chat_ptr job, model::error e) {
  if (job->conversation.empty())
    return job->rp.deliver(ix_fail(std::move(e)));
  cv_call c;
  c.op = cv_op::conversation_delete;
  c.account_sid = job->call.account_sid;
  c.service_sid = job->address.auto_creation.conversation_service_sid;
  c.conversation = job->conversation;
  self->request(self->state.options.conversations, caf::infinite, std::move(c))
    .then([=](cv_reply&) { job->rp.deliver(ix_fail(e)); }, [=](caf::error&) { job->rp.deliver(ix_fail(e)); });
}

void chat_token(self_ptr self, chat_ptr job) {
  key_call k;
  k.op = key_op::signing_key;
  k.account_sid = job->call.account_sid;
  self->request(self->state.options.keys, caf::infinite, std::move(k))
    .then(
      [=](key_reply& r) {
        auto* key = std::get_if<model::api_key>(&r.value);
        if (!key)
          return chat_fail(self, job, error_of(r).value_or(no_answer("The key store")));
        model::access_token t;
        t.account_sid = job->call.account_sid;
        t.key_sid = key->sid;
        t.issued_at = std::chrono::duration_cast<std::chrono::seconds>(system_clock::now().time_since_epoch()).count();
        t.expires_at = t.issued_at + self->state.options.token_ttl.count();
        t.grants["identity"] = job->identity;
        nlohmann::json chat = nlohmann::json::object();
        if (!job->address.auto_creation.conversation_service_sid.empty())
          chat["service_sid"] = job->address.auto_creation.conversation_service_sid;
        t.grants["chat"] = chat;
        job->rp.deliver(
          ix_one(ix_web_chat{job->conversation, job->identity, model::mint_access_token(t, key->secret)}, true));
      },
      [=](caf::error&) { chat_fail(self, job, no_answer("The key store")); });
}

// The address's auto-creation settings become the conversation's scoped
// webhook, as for a conversation an inbound message creates.
void chat_webhook(self_ptr self, chat_ptr job) {
  auto& ac = job->address.auto_creation;
  if (!ac.enabled || (ac.type != "studio" && ac.type != "webhook") ||
      (ac.type == "studio" && ac.studio_flow_sid.empty()) || (ac.type == "webhook" && ac.webhook_url.empty()))
    return chat_token(self, job);
  cv_call c;
  c.op = cv_op::webhook_create;
  c.account_sid = job->call.account_sid;
  c.service_sid = ac.conversation_service_sid;
  c.conversation = job->conversation;
  if (ac.type == "studio") {
    c.params.add("Target", "studio");
    c.params.add("Configuration.FlowSid", ac.studio_flow_sid);
  } else {
    c.params.add("Target", "webhook");
    c.params.add("Configuration.Url", ac.webhook_url);
    c.params.add("Configuration.Method", ac.webhook_method);
    for (auto& f : ac.webhook_filters)
      c.params.add("Configuration.Filters", f);
  }
  self->request(self->state.options.conversations, caf::infinite, std::move(c))
    .then(
      [=](cv_reply& r) {
        if (auto e = error_of(r))
          return chat_fail(self, job, *e);
        chat_token(self, job);
      },
      [=](caf::error&) { chat_fail(self, job, no_answer("The conversation")); });
}

void chat_conversation(self_ptr self, chat_ptr job) {
  auto& p = job->call.params;
  cv_call c;
  c.op = cv_op::conversation_create;
  c.account_sid = job->call.account_sid;
  c.service_sid = job->address.auto_creation.conversation_service_sid;
  auto customer = p.get("CustomerFriendlyName").value_or(job->identity);
  c.params.add("FriendlyName", p.get("ChatFriendlyName").value_or("Chat with " + customer));
  nlohmann::json attrs{{"from", customer}, {"address_sid", job->address.sid}, {"channel_type", "web"}};
  if (auto pre = p.get("PreEngagementData")) {
    auto doc = nlohmann::json::parse(*pre, nullptr, false);
    attrs["pre_engagement_data"] = doc.is_discarded() ? nlohmann::json(*pre) : doc;
  }
  c.params.add("Attributes", attrs.dump());
  self->request(self->state.options.conversations, caf::infinite, std::move(c))
    .then(
      [=](cv_reply& r) {
        if (auto e = error_of(r))
          return chat_fail(self, job, *e);
        job->conversation = cv_value<model::cv::conversation>(r)->sid;
        cv_call pc;
        pc.op = cv_op::participant_create;
        pc.account_sid = job->call.account_sid;
        pc.service_sid = job->address.auto_creation.conversation_service_sid;
        pc.conversation = job->conversation;
        pc.params.add("Identity", job->identity);
        pc.params.add("Attributes", nlohmann::json{{"friendlyName", customer}, {"member_type", "guest"}}.dump());
        self->request(self->state.options.conversations, caf::infinite, std::move(pc))
          .then(
            [=](cv_reply& r2) {
              if (auto e = error_of(r2))
                return chat_fail(self, job, *e);
              chat_webhook(self, job);
            },
            [=](caf::error&) { chat_fail(self, job, no_answer("The conversation")); });
      },
      [=](caf::error&) { chat_fail(self, job, no_answer("The conversation")); });
}

void web_chat_create(self_ptr self, ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown(
        {"AddressSid", "ChatFriendlyName", "CustomerFriendlyName", "PreEngagementData", "Identity"}))
    return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto address = c.params.get("AddressSid").value_or("");
  if (!model::is_sid(address, "IG"))
    return rp.deliver(ix_fail(model::invalid_parameter("AddressSid must be an address configuration SID (IG...)")));
  for (auto* name : {"ChatFriendlyName", "CustomerFriendlyName", "Identity"})
    if (auto v = c.params.get(name); v && v->size() > 256)
      return rp.deliver(ix_fail(model::invalid_parameter(std::string(name) + " is longer than 256 characters")));
  if (auto v = c.params.get("PreEngagementData"); v && v->size() > 16384)
    return rp.deliver(ix_fail(model::invalid_parameter("PreEngagementData exceeds 16384 bytes")));
  if (!st.options.addresses || !st.options.keys)
    return rp.deliver(ix_fail(model::error{model::errc::unavailable, 20503, "Web chat needs addresses and API keys"}));
  auto job = std::make_shared<chat_job>();
  job->call = std::move(c);
  job->rp = std::move(rp);
  job->identity = job->call.params.get("Identity").value_or("");
  if (job->identity.empty())
    job->identity = "guest_" + model::random_hex32();
  cv_call a;
  a.op = cv_op::address_fetch;
  a.account_sid = job->call.account_sid;
  a.sid = address;
  self->request(st.options.addresses, caf::infinite, std::move(a))
    .then(
      [=](cv_reply& r) {
        auto* conf = cv_value<model::cv::address_configuration>(r);
        if (!conf)
          return chat_fail(self, job, model::invalid_parameter("AddressSid " + address +
                                                               " is not an address configuration of this account"));
        if (conf->type != "chat")
          return chat_fail(self, job, model::invalid_parameter("AddressSid " + address + " is a " + conf->type +
                                                               " address; web chat needs a chat address"));
        job->address = *conf;
        chat_conversation(self, job);
      },
      [=](caf::error&) { chat_fail(self, job, no_answer("The address configurations")); });
}

// ----------------------------------------------------------- the rest --

void interaction_list(self_ptr self, const ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"Status", "PageSize", "Page", "PageToken"}))
    return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto want = c.params.get("Status").value_or("open");
  if (want != "open" && want != "all" && want != "active" && want != "inactive" && want != "closed")
    return rp.deliver(ix_fail(model::invalid_parameter("Status must be open, all, active, inactive or closed")));
  ix_page page;
  std::size_t seen = 0;
  for (auto it = st.order.rbegin(); it != st.order.rend(); ++it) { // newest first
    auto& e = st.interactions[*it];
    if (e.interaction.account_sid != c.account_sid)
      continue;
    auto s = flex::to_string(e.channel.status);
    bool keep = want == "all" || (want == "open" ? e.channel.status != flex::channel_status::closed : want == s);
    if (!keep || seen++ < c.page.offset)
      continue;
    if (page.items.size() == c.page.size) {
      page.has_more = true;
      break;
    }
    page.items.push_back(ix_overview{e.interaction, e.channel});
  }
  rp.deliver(ix_reply{std::move(page)});
}

// A retired channel (closed, nothing live) answers from the root's copy:
// reads as before; changes only where they change nothing.
ix_reply retired_answer(const interactions_state::entry& e, const ix_call& c) {
  auto header = e.channel;
  header.participants.clear();
  header.tasks.clear();
  header.invites.clear();
  auto closed = [] { return ix_fail(model::invalid_parameter("The channel is closed")); };
  auto page_of = [&](const auto& items, auto make) {
    ix_page out;
    for (std::size_t i = c.page.offset; i < items.size(); ++i) {
      if (out.items.size() == c.page.size) {
        out.has_more = true;
        break;
      }
      out.items.push_back(make(items[i]));
    }
    return ix_reply{std::move(out)};
  };
  switch (c.op) {
    case ix_op::channel_fetch:
      return ix_one(header);
    case ix_op::channel_update:
      return c.params.get("Status").value_or("") == "closed" ? ix_one(header) : closed();
    case ix_op::participant_list:
      return page_of(e.channel.participants, [&](auto& p) { return ix_resource{ix_participant_ref{p, header}}; });
    case ix_op::invite_list:
      return page_of(e.channel.invites, [&](auto& i) { return ix_resource{ix_invite_ref{i, header}}; });
    case ix_op::participant_update:
      for (auto& p : e.channel.participants)
        if (p.sid == c.sub_sid)
          return c.params.get("Status").value_or("") == "closed" ? ix_one(ix_participant_ref{p, header}) : closed();
      return ix_fail(missing("/Participants/" + c.sub_sid));
    default:
      return closed();
  }
}

void handle(self_ptr self, ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  switch (c.op) {
    case ix_op::interaction_create:
      return interaction_create(self, c, rp);
    case ix_op::web_chat_create:
      return web_chat_create(self, c, rp);
    case ix_op::interaction_list:
      return interaction_list(self, c, rp);
    default:
      break;
  }
  auto* e = find(st, c.account_sid, c.sid);
  if (!e)
    return rp.deliver(ix_fail(missing("/Interactions/" + c.sid)));
  switch (c.op) {
    case ix_op::interaction_fetch:
      return rp.deliver(ix_one(e->interaction));
    case ix_op::interaction_update: {
      if (auto u = c.params.first_unknown({"WebhookTtid"}))
        return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
      if (auto v = c.params.get("WebhookTtid"))
        e->interaction.webhook_ttid = *v;
      e->interaction.updated = system_clock::now();
      st.durable.put(e->interaction.account_sid, e->interaction.sid, store::entity{e->interaction});
      return st.durable.answer(self, rp, ix_one(e->interaction), true);
    }
    case ix_op::channel_list: {
      ix_page page;
      if (c.page.offset == 0)
        page.items.push_back(e->channel);
      return rp.deliver(ix_reply{std::move(page)});
    }
    default:
      break;
  }
  if (c.channel_sid != e->channel.sid)
    return rp.deliver(ix_fail(missing("/Interactions/" + c.sid + "/Channels/" + c.channel_sid)));
  if (!e->actor)
    return rp.deliver(retired_answer(*e, c));
  rp.delegate(e->actor, std::move(c));
}

void on_event(self_ptr self, std::shared_ptr<const model::event> ev) {
  auto& st = self->state;
  auto it = st.by_task.find(ev->task_sid);
  if (it != st.by_task.end()) {
    if (auto e = st.interactions.find(it->second); e != st.interactions.end() && e->second.actor)
      self->send(e->second.actor, ix_task_event{std::move(ev)});
    return;
  }
  auto now = std::chrono::steady_clock::now();
  while (!st.early.empty() && (st.early.front().at < now - std::chrono::minutes(1) || st.early.size() > 100000))
    st.early.pop_front();
  st.early.push_back({now, std::move(ev)});
}

} // namespace

const std::vector<std::string>& interaction_event_types() {
  static const std::vector<std::string> types{
    "reservation.created",  "reservation.accepted", "reservation.rejected", "reservation.timeout",
    "reservation.rescinded", "reservation.canceled", "task.wrapup",         "task.completed",
    "task.canceled",        "task.deleted"};
  return types;
}

caf::behavior interactions_actor(interactions_actor_type* self, interactions_options options,
                                 std::vector<model::flex::interaction> interactions,
                                 std::vector<model::flex::interaction_channel> channels) {
  auto& st = self->state;
  st.options = std::move(options);
  st.durable.set_store(st.options.store);
  for (auto& ix : interactions) {
    st.order.push_back(ix.sid);
    st.interactions[ix.sid].interaction = std::move(ix);
  }
  return {
    [=](ix_wire& w) {
      auto& st = self->state;
      st.directory = std::move(w.directory);
      // Channels start once TaskRouter is known.
      for (auto& ch : channels) {
        auto it = st.interactions.find(ch.interaction_sid);
        if (it == st.interactions.end())
          continue;
        it->second.channel = ch;
        it->second.actor = spawn_channel(self, ch, false);
        st.by_channel[ch.sid] = ch.interaction_sid;
        index_channel(self, ch);
      }
    },
    [=](ix_call& c) {
      auto rp = self->make_response_promise<ix_reply>();
      handle(self, c, rp);
      self->state.durable.settle(self);
    },
    [=](ix_channel_changed& m) {
      auto& st = self->state;
      auto it = st.interactions.find(m.channel.interaction_sid);
      if (it == st.interactions.end())
        return;
      it->second.channel = std::move(m.channel);
      index_channel(self, it->second.channel);
    },
    [=](ix_channel_retired& m) {
      auto& st = self->state;
      auto it = st.interactions.find(m.interaction_sid);
      if (it == st.interactions.end())
        return;
      it->second.actor = caf::actor{};
      if (auto* g = st.options.metrics.channel_actors)
        g->Decrement();
      for (auto& t : it->second.channel.tasks)
        st.by_task.erase(t.task_sid);
    },
    [=](std::shared_ptr<const model::event>& ev) { on_event(self, std::move(ev)); },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, unavailable()); },
  };
}

} // namespace sb::actors
