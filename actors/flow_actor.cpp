#include "actors/flow_actor.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "actors/cv_messages.hpp"
#include "actors/ix_messages.hpp"
#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = flow_actor_type*;
using nlohmann::json;
using std::chrono::system_clock;
namespace studio = model::studio;

using reply_due_atom = caf::atom_constant<caf::atom("st_rdue")>;
using purge_atom = caf::atom_constant<caf::atom("st_purge")>;

st_reply unavailable() {
  return st_fail(model::error{model::errc::unavailable, 20503,
                              "The change could not be written to disk; the service refuses changes until its "
                              "store accepts writes again"});
}

void save(self_ptr self, flow_state::run& r) {
  auto& st = self->state;
  r.record.context = r.x.context.dump();
  r.record.current = r.x.current;
  r.record.updated = system_clock::now();
  st.durable.put(r.record.flow_sid, r.record.sid, store::entity{r.record});
}

void add_steps(self_ptr self, flow_state::run& r, std::vector<model::step_record>& steps) {
  auto& st = self->state;
  for (auto& s : steps) {
    studio::step out;
    out.sid = model::make_sid("FT");
    out.account_sid = r.record.account_sid;
    out.flow_sid = r.record.flow_sid;
    out.execution_sid = r.record.sid;
    out.name = std::move(s.name);
    out.type = std::move(s.type);
    out.transitioned_from = std::move(s.transitioned_from);
    out.transitioned_to = std::move(s.transitioned_to);
    out.context = s.context.dump();
    out.created = out.updated = system_clock::now();
    st.durable.put(out.flow_sid, out.sid, store::entity{out});
    r.steps.push_back(std::move(out));
  }
  steps.clear();
}

void end_run(self_ptr self, flow_state::run& r) {
  auto& st = self->state;
  if (r.record.status == "active")
    if (auto* c = st.options.metrics.executions_ended)
      c->Increment();
  r.record.status = "ended";
  r.record.waits = studio::waiting::nothing;
  r.record.deadline.reset();
  ++r.seq;
  auto it = st.by_conversation.find(r.record.conversation_sid);
  if (it != st.by_conversation.end() && it->second == r.record.sid)
    st.by_conversation.erase(it);
}

void perform(self_ptr self, const std::string& fn, model::effect e);

// The outcome of the effect run fn waits on (when it still waits on the
// same one): the engine goes on and what it asks next is performed.
void outcome(self_ptr self, const std::string& fn, std::uint64_t seq, std::string event, json output) {
  auto& st = self->state;
  auto it = st.runs.find(fn);
  if (it == st.runs.end() || it->second.seq != seq || it->second.record.status != "active")
    return;
  auto& r = it->second;
  r.record.waits = studio::waiting::nothing;
  r.record.deadline.reset();
  std::vector<model::step_record> steps;
  auto next = model::resume(*r.definition, r.x, event, std::move(output), system_clock::now(), steps);
  add_steps(self, r, steps);
  perform(self, fn, std::move(next));
}

cv_call conversation_call(const flow_state::run& r, cv_op op) {
  cv_call c;
  c.op = op;
  c.account_sid = r.record.account_sid;
  c.service_sid = r.record.chat_service_sid;
  c.conversation = r.record.conversation_sid;
  return c;
}

// The channel an address belongs to.
std::string channel_of(const std::string& address) {
  if (address.rfind("whatsapp:", 0) == 0)
    return "whatsapp";
  if (!address.empty() && address[0] == '+')
    return "sms";
  return "chat";
}

// Runs then() once the run has a conversation: a REST execution opens one
// to its contact, with the contact as participant and the flow's studio
// webhook, so the contact's replies come back to the flow.
void with_conversation(self_ptr self, const std::string& fn, std::uint64_t seq,
                       std::function<void(std::optional<model::error>)> then) {
  auto& st = self->state;
  auto& r = st.runs.at(fn);
  if (!r.record.conversation_sid.empty())
    return then(std::nullopt);
  auto create = conversation_call(r, cv_op::conversation_create);
  create.params.add("FriendlyName", "Studio execution " + fn);
  create.params.add("Attributes", json{{"studio_execution_sid", fn}, {"studio_flow_sid", r.record.flow_sid}}.dump());
  auto alive = [self, fn, seq] {
    auto it = self->state.runs.find(fn);
    return it != self->state.runs.end() && it->second.seq == seq ? &it->second : nullptr;
  };
  self->request(st.options.conversations, caf::infinite, std::move(create))
    .then(
      [=](cv_reply& cr) {
        auto* r = alive();
        if (!r)
          return;
        if (auto e = error_of(cr))
          return then(e);
        r->record.conversation_sid = cv_value<model::cv::conversation>(cr)->sid;
        r->record.channel_type = channel_of(r->record.contact_channel_address);
        self->state.by_conversation[r->record.conversation_sid] = fn;
        auto part = conversation_call(*r, cv_op::participant_create);
        if (r->record.channel_type == "chat") {
          part.params.add("Identity", r->record.contact_channel_address);
        } else {
          part.params.add("MessagingBinding.Address", r->record.contact_channel_address);
          part.params.add("MessagingBinding.ProxyAddress", r->record.flow_channel_address);
        }
        self->request(self->state.options.conversations, caf::infinite, std::move(part))
          .then(
            [=](cv_reply& pr) {
              auto* r = alive();
              if (!r)
                return;
              if (auto e = error_of(pr))
                return then(e);
              auto hook = conversation_call(*r, cv_op::webhook_create);
              hook.params.add("Target", "studio");
              hook.params.add("Configuration.FlowSid", r->record.flow_sid);
              self->request(self->state.options.conversations, caf::infinite, std::move(hook))
                .then(
                  [=](cv_reply& hr) {
                    auto* r = alive();
                    if (!r)
                      return;
                    if (auto* w = cv_value<model::cv::conversation_webhook>(hr))
                      r->record.webhook_sid = w->sid;
                    save(self, *r);
                    then(error_of(hr));
                  },
                  [=](caf::error&) { then(model::error{model::errc::unavailable, 20503, "no answer"}); });
            },
            [=](caf::error&) { then(model::error{model::errc::unavailable, 20503, "no answer"}); });
      },
      [=](caf::error&) { then(model::error{model::errc::unavailable, 20503, "no answer"}); });
}

void send_message(self_ptr self, const std::string& fn, std::uint64_t seq, model::effect e) {
  bool wait = e.kind == model::effect_kind::wait_for_reply;
  auto fail_event = wait ? "deliveryFailure" : "failed";
  with_conversation(self, fn, seq, [=](std::optional<model::error> err) {
    if (err)
      return outcome(self, fn, seq, fail_event, json{{"error", err->message}});
    auto& r = self->state.runs.at(fn);
    auto c = conversation_call(r, cv_op::message_create);
    c.params.add("Author", "system");
    c.params.add("Body", e.args.value("body", ""));
    c.params.add("Attributes", json{{"studio_execution_sid", fn}, {"widget", e.widget}}.dump());
    self->request(self->state.options.conversations, caf::infinite, std::move(c))
      .then(
        [=](cv_reply& mr) {
          if (auto err = error_of(mr))
            return outcome(self, fn, seq, fail_event, json{{"error", err->message}});
          auto* m = cv_value<model::cv::message>(mr);
          json sent{{"outbound", {{"Body", m ? m->body : ""}, {"MessageSid", m ? m->sid : ""}}}};
          if (!wait)
            return outcome(self, fn, seq, "sent", std::move(sent));
          // Sent: now the reply, or the timeout.
          auto it = self->state.runs.find(fn);
          if (it == self->state.runs.end() || it->second.seq != seq)
            return;
          auto& r = it->second;
          r.record.waits = studio::waiting::reply;
          auto timeout = std::chrono::seconds(std::max(1, e.timeout_s));
          r.record.deadline = system_clock::now() + timeout;
          save(self, r);
          self->state.durable.settle(self);
          self->delayed_send(self, timeout, reply_due_atom::value, fn, seq);
        },
        [=](caf::error&) { outcome(self, fn, seq, fail_event, json{{"error", "the conversation did not answer"}}); });
  });
}

void send_to_flex(self_ptr self, const std::string& fn, std::uint64_t seq, model::effect e) {
  auto& st = self->state;
  auto& r = st.runs.at(fn);
  auto workflow = e.args.value("workflow", "");
  auto count = [self](const char* outcome) {
    if (auto* f = self->state.options.metrics.handovers)
      f->Add({{"outcome", outcome}}).Increment();
  };
  auto fail = [=](const std::string& why) {
    count("failed");
    outcome(self, fn, seq, "failedToEnqueue", json{{"error", why}});
  };
  if (r.record.conversation_sid.empty())
    return fail("send-to-flex needs a conversation: this execution has none");
  if (!model::is_sid(workflow, "WW"))
    return fail("workflow " + workflow + " is not a workflow SID");
  self->request(st.options.directory, caf::infinite, locate_workflow{r.record.account_sid, workflow})
    .then(
      [=](std::string& workspace) {
        auto it = self->state.runs.find(fn);
        if (it == self->state.runs.end() || it->second.seq != seq)
          return;
        auto& r = it->second;
        if (workspace.empty())
          return fail("workflow " + workflow + " is not a workflow of this account");
        json props{{"workspace_sid", workspace}, {"workflow_sid", workflow}};
        auto channel = e.args.value("channel", "");
        if (model::is_sid(channel, "TC"))
          props["task_channel_sid"] = channel;
        else if (!channel.empty())
          props["task_channel_unique_name"] = channel;
        auto attrs = e.args.contains("attributes") ? e.args["attributes"] : json::object();
        props["attributes"] = attrs.is_object() ? attrs : json::object();
        if (e.args.contains("priority") && e.args["priority"].is_number_integer())
          props["priority"] = e.args["priority"];
        if (e.timeout_s > 0)
          props["timeout"] = e.timeout_s;
        ix_call c;
        c.op = ix_op::interaction_create;
        c.account_sid = r.record.account_sid;
        c.params.add("Channel", json{{"type", r.record.channel_type.empty() ? "sms" : r.record.channel_type},
                                     {"initiated_by", "customer"},
                                     {"properties", {{"media_channel_sid", r.record.conversation_sid}}}}
                                  .dump());
        c.params.add("Routing", json{{"properties", props}}.dump());
        self->request(self->state.options.interactions, caf::infinite, std::move(c))
          .then(
            [=](ix_reply& ir) {
              if (auto err = error_of(ir))
                return fail(err->message);
              json out = json::object();
              if (auto* res = std::get_if<ix_resource>(&ir.value))
                if (auto* ix = std::get_if<model::flex::interaction>(res)) {
                  out["interaction_sid"] = ix->sid;
                  auto routing = json::parse(ix->routing, nullptr, false);
                  if (routing.is_object() && routing.contains("properties"))
                    out["sid"] = routing["properties"].value("sid", "");
                }
              // Handed over: the flow no longer hears this conversation.
              auto it = self->state.runs.find(fn);
              if (it != self->state.runs.end() && !it->second.record.webhook_sid.empty()) {
                auto d = conversation_call(it->second, cv_op::webhook_delete);
                d.sid = it->second.record.webhook_sid;
                self->request(self->state.options.conversations, caf::infinite, std::move(d))
                  .then([](cv_reply&) {}, [](caf::error&) {});
              }
              count("completed");
              outcome(self, fn, seq, "callComplete", std::move(out));
            },
            [=](caf::error&) { fail("the interactions service did not answer"); });
      },
      [=](caf::error&) { fail("TaskRouter did not answer"); });
}

void http_request(self_ptr self, const std::string& fn, std::uint64_t seq, model::effect e) {
  auto& st = self->state;
  if (!st.options.http)
    return outcome(self, fn, seq, "failed", json{{"error", "no HTTP client"}});
  http_out out;
  out.method = e.args.value("method", "GET");
  out.url = e.args.value("url", "");
  if (e.args.contains("body") && e.args["body"].is_string())
    out.body = e.args["body"].get<std::string>();
  if (out.method == "POST")
    out.headers.emplace_back("Content-Type", e.args.value("content_type", "application/x-www-form-urlencoded"));
  out.timeout = std::chrono::seconds(std::max(1, e.timeout_s > 0 ? e.timeout_s : model::default_http_timeout));
  auto me = caf::actor_cast<caf::actor>(self);
  // The transport answers on its own thread: the answer comes back as a
  // message, handled in the actor's context.
  st.options.http(std::move(out), [me, fn, seq](int status, std::string body) {
    caf::anon_send(me, caf::atom("st_http"), fn, seq, status, std::move(body));
  });
}

void perform(self_ptr self, const std::string& fn, model::effect e) {
  auto& st = self->state;
  auto it = st.runs.find(fn);
  if (it == st.runs.end())
    return;
  auto& r = it->second;
  auto seq = ++r.seq;
  using k = model::effect_kind;
  switch (e.kind) {
    case k::none:
      break;
    case k::ended:
      end_run(self, r);
      break;
    case k::send_message: case k::wait_for_reply: // the reply is waited for once the send is done
      r.record.waits = studio::waiting::send_message;
      break;
    case k::send_to_flex:
      r.record.waits = studio::waiting::send_to_flex;
      break;
    case k::http_request:
      r.record.waits = studio::waiting::http_request;
      break;
  }
  save(self, r);
  st.durable.settle(self);
  switch (e.kind) {
    case k::send_message: case k::wait_for_reply:
      return send_message(self, fn, seq, std::move(e));
    case k::send_to_flex:
      return send_to_flex(self, fn, seq, std::move(e));
    case k::http_request:
      return http_request(self, fn, seq, std::move(e));
    default:
      return;
  }
}

// A new run in the flow's newest definition.
flow_state::run& new_run(self_ptr self, const std::string& contact, const std::string& flow_address, json data) {
  auto& st = self->state;
  flow_state::run r;
  r.record.sid = model::make_sid("FN");
  r.record.account_sid = st.flow.account_sid;
  r.record.flow_sid = st.flow.sid;
  r.record.flow_revision = st.flow.revision;
  r.record.contact_channel_address = contact;
  r.record.flow_channel_address = flow_address;
  r.record.created = r.record.updated = system_clock::now();
  r.definition = st.definitions.at(st.flow.revision);
  r.x = model::new_execution(st.flow.sid, r.record.sid, flow_address, contact, std::move(data));
  auto sid = r.record.sid;
  st.order.push_back(sid);
  return st.runs.emplace(sid, std::move(r)).first->second;
}

// Starts r with the trigger; its first effect is performed.
void start_run(self_ptr self, flow_state::run& r, const std::string& event, json trigger) {
  if (auto* f = self->state.options.metrics.executions)
    f->Add({{"trigger", event == "incomingRequest" ? "rest" : "conversation"}}).Increment();
  std::vector<model::step_record> steps;
  auto e = model::start(*r.definition, r.x, event, std::move(trigger), system_clock::now(), steps);
  add_steps(self, r, steps);
  if (e.kind == model::effect_kind::none)
    e.kind = model::effect_kind::ended;
  perform(self, r.record.sid, std::move(e));
}

// The trigger event a conversation message enters the flow by, or "".
std::string conversation_trigger(const model::flow_definition& def) {
  auto* trigger = def.find(def.initial_state);
  if (!trigger)
    return {};
  for (auto* ev : {"incomingConversationMessage", "incomingMessage"})
    if (auto* t = trigger->on(ev); t && !t->next.empty())
      return ev;
  return {};
}

void on_message(self_ptr self, studio_message& m) {
  auto& st = self->state;
  json fields{{"ConversationSid", m.conversation.sid},
              {"MessageSid", m.message.sid},
              {"ChatServiceSid", m.conversation.chat_service_sid},
              {"Body", m.message.body},
              {"Author", m.message.author},
              {"ParticipantSid", m.participant_sid},
              {"Source", m.channel_type == "chat" ? "SDK" : m.channel_type == "whatsapp" ? "WHATSAPP" : "SMS"},
              {"From", m.author_address},
              {"To", m.proxy_address},
              {"EventType", "onMessageAdded"},
              {"DateCreated", model::iso8601(m.message.created)}};
  auto attrs = json::parse(m.message.attributes, nullptr, false);
  fields["Attributes"] = attrs.is_discarded() ? json(m.message.attributes) : attrs;
  auto channel_attrs = json::parse(m.conversation.attributes, nullptr, false);
  fields["ChannelAttributes"] = channel_attrs.is_discarded() ? json::object() : channel_attrs;
  if (!m.message.media.empty()) {
    json media = json::array();
    for (auto& me : m.message.media)
      media.push_back({{"Sid", me.sid}, {"ContentType", me.content_type}, {"Filename", me.filename}});
    fields["Media"] = std::move(media);
  }
  if (auto it = st.by_conversation.find(m.conversation.sid); it != st.by_conversation.end()) {
    auto& r = st.runs.at(it->second);
    // A reply resumes the execution waiting for it; while the execution
    // is busy otherwise, the message is the conversation's only.
    if (r.record.waits == studio::waiting::reply)
      outcome(self, r.record.sid, r.seq, "incomingMessage", json{{"inbound", fields}});
    return;
  }
  auto event = conversation_trigger(*st.definitions.at(st.flow.revision));
  if (event.empty())
    return;
  auto& r = new_run(self, m.author_address, m.proxy_address, nullptr);
  r.record.initiated_by = m.participant_sid;
  r.record.conversation_sid = m.conversation.sid;
  r.record.chat_service_sid = m.conversation.chat_service_sid;
  r.record.webhook_sid = m.webhook_sid;
  r.record.channel_type = m.channel_type;
  st.by_conversation[m.conversation.sid] = r.record.sid;
  start_run(self, r, event, std::move(fields));
}

// ------------------------------------------------------------ REST calls --

model::error missing(const std::string& what) {
  return model::not_found("The requested resource " + what + " was not found");
}

void execution_create(self_ptr self, const st_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"To", "From", "Parameters"}))
    return rp.deliver(st_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto to = c.params.get("To").value_or("");
  auto from = c.params.get("From").value_or("");
  if (to.empty() || from.empty())
    return rp.deliver(st_fail(model::invalid_parameter("To and From are required", 20001)));
  if (to.size() > 256 || from.size() > 256)
    return rp.deliver(st_fail(model::invalid_parameter("To and From are at most 256 characters")));
  json data = json::object();
  if (auto p = c.params.get("Parameters")) {
    data = json::parse(*p, nullptr, false);
    if (data.is_discarded() || !data.is_object())
      return rp.deliver(st_fail(model::invalid_parameter("Parameters must be a JSON object")));
  }
  auto* trigger = st.definitions.at(st.flow.revision)->find(st.definitions.at(st.flow.revision)->initial_state);
  auto* t = trigger ? trigger->on("incomingRequest") : nullptr;
  if (!t || t->next.empty())
    return rp.deliver(st_fail(model::invalid_parameter(
      "The flow's trigger has no incomingRequest transition: it cannot be started through the REST API", 20001)));
  auto& r = new_run(self, to, from, data);
  r.record.initiated_by = c.account_sid;
  auto sid = r.record.sid;
  start_run(self, r, "incomingRequest", json{{"To", to}, {"From", from}, {"Parameters", data}});
  auto& now = st.runs.at(sid);
  save(self, now);
  st.durable.answer(self, rp, st_one(now.record, true), true);
}

template <class T, class Keep, class Make>
st_reply page_of(const std::vector<T>& items, const page_request& page, Keep keep, Make make) {
  st_page out;
  std::size_t seen = 0;
  for (auto& item : items) {
    if (!keep(item) || seen++ < page.offset)
      continue;
    if (out.items.size() == page.size) {
      out.has_more = true;
      break;
    }
    out.items.push_back(make(item));
  }
  return st_reply{std::move(out)};
}

void handle(self_ptr self, const st_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (c.op == st_op::execution_create)
    return execution_create(self, c, rp);
  if (c.op == st_op::execution_list) {
    auto status = c.params.get("status").value_or("");
    if (!status.empty() && status != "active" && status != "ended")
      return rp.deliver(st_fail(model::invalid_parameter("status must be active or ended")));
    std::optional<model::time_point> from, to;
    for (auto [name, dest] : {std::pair{"DateCreatedFrom", &from}, std::pair{"DateCreatedTo", &to}})
      if (auto v = c.params.get(name)) {
        *dest = model::parse_iso8601(*v);
        if (!*dest)
          return rp.deliver(st_fail(model::invalid_parameter(std::string(name) + " must be an ISO-8601 date")));
      }
    std::vector<std::string> newest_first(st.order.rbegin(), st.order.rend());
    return rp.deliver(page_of(
      newest_first, c.page,
      [&](const std::string& fn) {
        auto& r = st.runs.at(fn).record;
        return (status.empty() || r.status == status) && (!from || r.created >= *from) && (!to || r.created <= *to);
      },
      [&](const std::string& fn) { return st_resource{st.runs.at(fn).record}; }));
  }
  auto it = st.runs.find(c.sid);
  if (it == st.runs.end())
    return rp.deliver(st_fail(missing("/Flows/" + c.flow_sid + "/Executions/" + c.sid)));
  auto& r = it->second;
  // Reads after writes: while a change of the flow's is on its way to disk,
  // an execution's answer waits for it (what a client reads has been kept).
  bool pending = !st.durable.quiet();
  switch (c.op) {
    case st_op::execution_fetch:
      return st.durable.answer(self, rp, st_one(r.record), pending);
    case st_op::execution_context:
      return st.durable.answer(self, rp, st_one(r.record, false, st_view::context), pending);
    case st_op::execution_update: {
      if (auto u = c.params.first_unknown({"Status"}))
        return rp.deliver(st_fail(model::invalid_parameter("Unknown parameter " + *u)));
      if (c.params.get("Status").value_or("") != "ended")
        return rp.deliver(st_fail(model::invalid_parameter("Status must be ended")));
      if (r.record.status == "active") {
        end_run(self, r);
        save(self, r);
      }
      return st.durable.answer(self, rp, st_one(r.record), true);
    }
    case st_op::execution_delete: {
      auto fn = r.record.sid;
      end_run(self, r);
      st.durable.erase("studio_execution", fn, st.flow.sid);
      for (auto& s : r.steps)
        st.durable.erase("studio_step", s.sid, st.flow.sid);
      st.runs.erase(it);
      st.order.erase(std::remove(st.order.begin(), st.order.end(), fn), st.order.end());
      return st.durable.answer(self, rp, st_reply{std::monostate{}}, true);
    }
    case st_op::step_list:
      return rp.deliver(page_of(r.steps, c.page, [](auto&) { return true; }, [](auto& s) { return st_resource{s}; }));
    case st_op::step_fetch: case st_op::step_context: {
      for (auto& s : r.steps)
        if (s.sid == c.sub_sid)
          return rp.deliver(st_one(s, false, c.op == st_op::step_context ? st_view::context : st_view::plain));
      return rp.deliver(st_fail(missing("/Steps/" + c.sub_sid)));
    }
    default:
      return rp.deliver(st_fail(model::error{model::errc::internal, 20500, "not an execution operation"}));
  }
}

// Drops ended executions past their retention (and beyond max_ended).
void purge(self_ptr self) {
  auto& st = self->state;
  auto cutoff = system_clock::now() - st.options.retention;
  std::size_t ended = 0;
  for (auto& fn : st.order)
    ended += st.runs.at(fn).record.status == "ended";
  std::vector<std::string> keep;
  for (auto& fn : st.order) {
    auto& r = st.runs.at(fn);
    bool old = r.record.status == "ended" && (r.record.updated < cutoff || ended > st.options.max_ended);
    if (!old) {
      keep.push_back(fn);
      continue;
    }
    --ended;
    st.durable.erase("studio_execution", fn, st.flow.sid);
    for (auto& s : r.steps)
      st.durable.erase("studio_step", s.sid, st.flow.sid);
    st.runs.erase(fn);
  }
  st.order = std::move(keep);
  st.durable.settle(self);
}

} // namespace

caf::behavior flow_actor(flow_actor_type* self, model::studio::flow flow,
                         std::map<int, std::shared_ptr<const model::flow_definition>> definitions,
                         studio_options options, std::vector<model::studio::execution> executions,
                         std::vector<model::studio::step> steps) {
  auto& st = self->state;
  st.flow = std::move(flow);
  st.definitions = std::move(definitions);
  st.options = std::move(options);
  st.durable.set_store(st.options.store);
  // What a restart read back: waits go on, requests under way fail.
  for (auto& e : executions) {
    flow_state::run r;
    r.record = std::move(e);
    auto def = st.definitions.find(r.record.flow_revision);
    r.definition = def != st.definitions.end() ? def->second : st.definitions.rbegin()->second;
    r.x.current = r.record.current;
    r.x.context = json::parse(r.record.context.empty() ? "{}" : r.record.context, nullptr, false);
    if (r.x.context.is_discarded())
      r.x.context = json::object();
    r.x.ended = r.record.status != "active";
    auto sid = r.record.sid;
    st.order.push_back(sid);
    st.runs.emplace(sid, std::move(r));
  }
  for (auto& s : steps)
    if (auto it = st.runs.find(s.execution_sid); it != st.runs.end())
      it->second.steps.push_back(std::move(s));
  std::vector<std::pair<std::string, const char*>> failed;
  for (auto& fn : st.order) {
    auto& r = st.runs.at(fn);
    if (r.record.status != "active")
      continue;
    if (!r.record.conversation_sid.empty())
      st.by_conversation[r.record.conversation_sid] = fn;
    switch (r.record.waits) {
      case studio::waiting::reply: {
        auto left = r.record.deadline ? *r.record.deadline - system_clock::now() : std::chrono::seconds(0);
        self->delayed_send(self, std::max<decltype(left)>(left, std::chrono::seconds(0)), reply_due_atom::value, fn,
                           r.seq);
        break;
      }
      case studio::waiting::send_message: failed.emplace_back(fn, "failed"); break;
      case studio::waiting::send_to_flex: failed.emplace_back(fn, "failedToEnqueue"); break;
      case studio::waiting::http_request: failed.emplace_back(fn, "failed"); break;
      default: break;
    }
  }
  for (auto& [fn, event] : failed) {
    // A send-and-wait whose send was under way fails as a delivery failure.
    auto* w = st.runs.at(fn).definition->find(st.runs.at(fn).record.current);
    std::string ev = event;
    if (w && w->type == model::widget_type::send_and_wait_for_reply)
      ev = "deliveryFailure";
    self->send(self, caf::atom("st_retry"), fn, ev);
  }
  self->delayed_send(self, std::chrono::minutes(1), purge_atom::value);
  return {
    [=](st_call& c) {
      auto rp = self->make_response_promise<st_reply>();
      handle(self, c, rp);
      self->state.durable.settle(self);
    },
    [=](studio_message& m) {
      on_message(self, m);
      self->state.durable.settle(self);
    },
    [=](flow_setup& f) {
      auto& st = self->state;
      st.flow = std::move(f.flow);
      st.definitions[st.flow.revision] = std::move(f.definition);
    },
    [=](reply_due_atom, const std::string& fn, std::uint64_t seq) {
      auto it = self->state.runs.find(fn);
      if (it != self->state.runs.end() && it->second.record.waits == studio::waiting::reply)
        outcome(self, fn, seq, "timeout", json::object());
      self->state.durable.settle(self);
    },
    [=](caf::atom_value a, const std::string& fn, std::uint64_t seq, int status, std::string& body) {
      if (a != caf::atom("st_http"))
        return;
      json out{{"status_code", status}, {"body", body}};
      auto parsed = json::parse(body, nullptr, false);
      if (!parsed.is_discarded())
        out["parsed"] = parsed;
      outcome(self, fn, seq, status >= 200 && status < 300 ? "success" : "failed", std::move(out));
      self->state.durable.settle(self);
    },
    [=](caf::atom_value a, const std::string& fn, const std::string& event) {
      if (a != caf::atom("st_retry"))
        return;
      auto it = self->state.runs.find(fn);
      if (it != self->state.runs.end())
        outcome(self, fn, it->second.seq, event, json{{"error", "the server restarted while this was under way"}});
      self->state.durable.settle(self);
    },
    [=](purge_atom) {
      purge(self);
      self->delayed_send(self, std::chrono::minutes(1), purge_atom::value);
    },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, unavailable()); },
  };
}

} // namespace sb::actors
