#include "actors/interaction_channel_actor.hpp"

#include <algorithm>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/cv_messages.hpp"
#include "actors/flex_tasks.hpp"
#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = interaction_channel_actor_type*;
namespace flex = model::flex;
using flex::participant_status;
using flex::participant_type;

ix_reply unavailable() {
  return ix_fail(model::error{model::errc::unavailable, 20503,
                              "The change could not be written to disk; the service refuses changes until its "
                              "store accepts writes again"});
}

flex::interaction_channel header(const flex::interaction_channel& ch) {
  flex::interaction_channel out = ch;
  out.participants.clear();
  out.tasks.clear();
  out.invites.clear();
  return out;
}

using retire_atom = caf::atom_constant<caf::atom("ix_retire")>;

// Closed, no live task, nobody left: nothing more can happen here.
bool finished(const interaction_channel_state& st) {
  if (st.channel.status != flex::channel_status::closed)
    return false;
  for (auto& t : st.channel.tasks)
    if (flex::task_live(t))
      return false;
  for (auto& p : st.channel.participants)
    if (p.status != participant_status::closed)
      return false;
  return true;
}

// Writes the channel and tells the root; a finished channel retires.
void changed(self_ptr self) {
  auto& st = self->state;
  st.channel.updated = std::chrono::system_clock::now();
  st.durable.put(st.channel.account_sid, st.channel.sid, store::entity{st.channel});
  self->send(st.root, ix_channel_changed{st.channel});
  st.durable.settle(self);
  if (finished(st) && !st.retiring) {
    st.retiring = true;
    self->send(self, retire_atom::value);
  }
}

flex::channel_task* find_task(interaction_channel_state& st, const std::string& sid) {
  for (auto& t : st.channel.tasks)
    if (t.task_sid == sid)
      return &t;
  return nullptr;
}

flex::channel_participant* find_participant(interaction_channel_state& st, const std::string& sid) {
  for (auto& p : st.channel.participants)
    if (p.sid == sid)
      return &p;
  return nullptr;
}

cv_call conversation_call(const interaction_channel_state& st, cv_op op) {
  cv_call c;
  c.op = op;
  c.account_sid = st.channel.account_sid;
  c.conversation = st.channel.conversation_sid;
  return c;
}

tr_call task_call(const interaction_channel_state& st, tr_op op, const std::string& workspace, std::string sid) {
  tr_call c;
  c.op = op;
  c.account_sid = st.channel.account_sid;
  c.workspace_sid = workspace;
  c.sid = std::move(sid);
  return c;
}

// A request whose answer (or error) the channel counts down: it retires
// only with none outstanding.
template <class Reply, class Msg, class F, class G>
void ask(self_ptr self, const caf::actor& to, Msg msg, F on_reply, G on_error) {
  ++self->state.calls;
  self->request(to, caf::infinite, std::move(msg))
    .then(
      [self, on_reply](Reply& r) mutable {
        --self->state.calls;
        on_reply(r);
      },
      [self, on_error](caf::error& e) mutable {
        --self->state.calls;
        on_error(e);
      });
}

// Gathers the answers of several side calls and runs done once all came.
struct fan_in {
  int outstanding = 0;
  std::optional<model::error> first_error;
  std::function<void(std::optional<model::error>)> done;
  void one(std::optional<model::error> e) {
    if (e && !first_error)
      first_error = std::move(e);
    if (--outstanding == 0 && done)
      done(first_error);
  }
};

// Removes a participant from the conversation; an absent one is already gone.
void leave_conversation(self_ptr self, const std::string& mb, std::shared_ptr<fan_in> fan = nullptr) {
  auto& st = self->state;
  if (mb.empty()) {
    if (fan)
      fan->one(std::nullopt);
    return;
  }
  auto c = conversation_call(st, cv_op::participant_delete);
  c.sid = mb;
  ask<cv_reply>(self, st.conversations, std::move(c),
      [=](cv_reply& r) {
        auto e = error_of(r);
        if (e && e->kind == model::errc::not_found)
          e.reset();
        if (fan)
          fan->one(e);
      },
      [=](caf::error&) {
        if (fan)
          fan->one(model::error{model::errc::unavailable, 20503, "The conversation did not answer"});
      });
}

// Moves a task to status (wrapping, completed or canceled) when it is not
// there or further already.
void move_task(self_ptr self, flex::channel_task& t, const std::string& status, std::shared_ptr<fan_in> fan) {
  auto& st = self->state;
  bool ok = (status == "wrapping" && t.status == "assigned") ||
            (status == "completed" && (t.status == "assigned" || t.status == "wrapping")) ||
            (status == "canceled" && (t.status == "pending" || t.status == "reserved"));
  if (!ok) {
    fan->one(std::nullopt);
    return;
  }
  auto c = task_call(st, tr_op::task_update, t.workspace_sid, t.task_sid);
  c.params.add("AssignmentStatus", status);
  if (status == "canceled")
    c.params.add("Reason", "Interaction channel closed");
  auto sid = t.task_sid;
  ask<tr_reply>(self, st.directory, std::move(c),
      [=](tr_reply& r) {
        auto e = error_of(r);
        if (!e)
          if (auto* task = find_task(self->state, sid)) {
            task->status = status;
            changed(self);
          }
        fan->one(e);
      },
      [=](caf::error&) { fan->one(model::error{model::errc::unavailable, 20503, "TaskRouter did not answer"}); });
}

// An agent is done: closed (left the conversation) or in wrap-up.
void set_agent_status(self_ptr self, flex::channel_participant& p, participant_status s,
                      std::shared_ptr<fan_in> fan = nullptr) {
  if (p.status == participant_status::closed || p.status == s) {
    if (fan)
      fan->one(std::nullopt);
    return;
  }
  p.status = s;
  p.updated = std::chrono::system_clock::now();
  if (s == participant_status::closed) {
    auto mb = p.conversation_participant_sid;
    leave_conversation(self, mb, fan);
  } else if (fan) {
    fan->one(std::nullopt);
  }
}

// The worker's identity in the conversation: its contact_uri without
// "client:", else its friendly name.
std::string agent_identity(const model::worker& w) {
  auto attrs = nlohmann::json::parse(w.attributes, nullptr, false);
  if (attrs.is_object())
    if (auto it = attrs.find("contact_uri"); it != attrs.end() && it->is_string()) {
      auto uri = it->get<std::string>();
      if (uri.rfind("client:", 0) == 0)
        uri.erase(0, 7);
      if (!uri.empty())
        return uri;
    }
  return w.friendly_name;
}

// Adds identity to the conversation for participant sid (an agent or a
// chat party); on answer records its MB, or removes it again when the
// participant was closed meanwhile.
void join_conversation(self_ptr self, const std::string& ut, const std::string& identity, std::string attributes,
                       std::function<void(std::optional<model::error>)> done) {
  auto& st = self->state;
  auto c = conversation_call(st, cv_op::participant_create);
  c.params.add("Identity", identity);
  c.params.add("Attributes", std::move(attributes));
  ask<cv_reply>(self, st.conversations, std::move(c),
      [=](cv_reply& r) {
        auto e = error_of(r);
        std::string mb;
        if (!e)
          if (auto* res = std::get_if<cv_resource>(&r.value))
            if (auto* part = std::get_if<model::cv::participant>(res))
              mb = part->sid;
        auto* p = find_participant(self->state, ut);
        if (!p || p->status == participant_status::closed) {
          leave_conversation(self, mb);
        } else if (!mb.empty()) {
          p->conversation_participant_sid = mb;
          changed(self);
        }
        done(e);
      },
      [=](caf::error&) { done(model::error{model::errc::unavailable, 20503, "The conversation did not answer"}); });
}

// A reservation of one of the channel's tasks was accepted: the worker
// joins the channel as an agent and the conversation as a chat participant.
void agent_accepted(self_ptr self, const flex::channel_task& t) {
  auto& st = self->state;
  flex::channel_participant p;
  p.sid = model::make_sid("UT");
  p.type = participant_type::agent;
  p.workspace_sid = t.workspace_sid;
  p.worker_sid = t.worker_sid;
  p.task_sid = t.task_sid;
  p.reservation_sid = t.reservation_sid;
  p.created = p.updated = std::chrono::system_clock::now();
  auto ut = p.sid;
  auto worker_sid = t.worker_sid;
  st.channel.participants.push_back(std::move(p));
  changed(self);
  auto c = task_call(st, tr_op::worker_fetch, t.workspace_sid, worker_sid);
  ask<tr_reply>(self, st.directory, std::move(c),
      [=](tr_reply& r) {
        auto* p = find_participant(self->state, ut);
        if (!p)
          return;
        std::string identity = worker_sid;
        if (auto* res = std::get_if<resource>(&r.value))
          if (auto* w = std::get_if<model::worker>(res))
            identity = agent_identity(*w);
        p->identity = identity;
        nlohmann::json attrs{{"member_type", "agent"}, {"worker_sid", worker_sid}};
        join_conversation(self, ut, identity, attrs.dump(), [](std::optional<model::error>) {});
      },
      [](caf::error&) {});
}

// The channel closes itself: its conversation closes and every participant
// is closed. Used when its last task was canceled with no agent on it.
void close_quietly(self_ptr self) {
  auto& st = self->state;
  if (st.channel.status == flex::channel_status::closed)
    return;
  st.channel.status = flex::channel_status::closed;
  for (auto& p : st.channel.participants)
    p.status = participant_status::closed;
  changed(self);
  auto c = conversation_call(st, cv_op::conversation_update);
  c.params.add("State", "closed");
  ask<cv_reply>(self, st.conversations, std::move(c), [](cv_reply&) {}, [](caf::error&) {});
}

void on_event(self_ptr self, const model::event& ev) {
  auto& st = self->state;
  auto* t = find_task(st, ev.task_sid);
  if (!t)
    return;
  const auto& type = ev.event_type;
  if (type == "reservation.created") {
    t->status = "reserved";
    t->reservation_sid = ev.reservation_sid;
    t->worker_sid = ev.worker_sid;
    changed(self);
    if (t->auto_accept) {
      auto c = task_call(st, tr_op::task_reservation_update, t->workspace_sid, t->task_sid);
      c.sub_sid = ev.reservation_sid;
      c.params.add("ReservationStatus", "accepted");
      ask<tr_reply>(self, st.directory, std::move(c), [](tr_reply&) {}, [](caf::error&) {});
    }
  } else if (type == "reservation.accepted") {
    t->status = "assigned";
    t->reservation_sid = ev.reservation_sid;
    t->worker_sid = ev.worker_sid;
    agent_accepted(self, *t);
  } else if (type == "reservation.rejected" || type == "reservation.timeout" ||
             type == "reservation.rescinded") {
    if (t->status == "reserved" && t->reservation_sid == ev.reservation_sid) {
      t->status = "pending";
      t->reservation_sid.clear();
      t->worker_sid.clear();
      changed(self);
    }
  } else if (type == "task.wrapup") {
    t->status = "wrapping";
    for (auto& p : st.channel.participants)
      if (p.task_sid == t->task_sid && p.type == participant_type::agent)
        set_agent_status(self, p, participant_status::wrapup);
    changed(self);
  } else if (type == "task.completed" || type == "task.canceled" || type == "task.deleted") {
    bool was_live = flex::task_live(*t);
    if (type != "task.deleted" || was_live)
      t->status = type == "task.completed" ? "completed" : "canceled";
    for (auto& p : st.channel.participants)
      if (p.task_sid == t->task_sid && p.type == participant_type::agent)
        set_agent_status(self, p, participant_status::closed);
    changed(self);
    if (type != "task.completed") {
      bool any_live = std::any_of(st.channel.tasks.begin(), st.channel.tasks.end(), flex::task_live);
      bool any_agent = std::any_of(st.channel.participants.begin(), st.channel.participants.end(), [](auto& p) {
        return p.type == participant_type::agent && p.status != participant_status::closed;
      });
      if (!any_live && !any_agent)
        close_quietly(self);
    }
  }
}

// ---------------------------------------------------------------- calls --

// Status closed: the conversation closes, live tasks complete (or wrap up,
// Routing.status wrapup; unassigned ones are canceled) and every participant
// is closed. inactive: the conversation goes inactive; tasks move only when
// Routing names a status. wrapup: assigned tasks move to wrapping and their
// agents to wrapup; the channel and the conversation stay as they are.
void channel_update(self_ptr self, const ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"Status", "Routing"}))
    return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto status = c.params.get("Status").value_or("");
  if (status != "closed" && status != "inactive" && status != "wrapup")
    return rp.deliver(ix_fail(model::invalid_parameter("Status must be closed, inactive or wrapup")));
  std::optional<std::string> task_status; // what live assigned tasks become
  if (status == "closed")
    task_status = "completed";
  if (status == "wrapup")
    task_status = "wrapping";
  if (auto r = c.params.get("Routing")) {
    auto doc = nlohmann::json::parse(*r, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return rp.deliver(ix_fail(model::invalid_parameter("Routing must be a JSON object")));
    auto s = doc.value("status", std::string("closed"));
    if (s != "closed" && s != "wrapup")
      return rp.deliver(ix_fail(model::invalid_parameter("Routing.status must be closed or wrapup")));
    if (status != "wrapup")
      task_status = s == "wrapup" ? "wrapping" : "completed";
  }
  if (st.channel.status == flex::channel_status::closed) {
    if (status == "closed")
      return rp.deliver(ix_one(header(st.channel)));
    return rp.deliver(ix_fail(model::invalid_parameter("The channel is closed", 20001)));
  }
  auto fan = std::make_shared<fan_in>();
  fan->done = [=](std::optional<model::error>) {
    // Side effects that failed (a task another client completed meanwhile)
    // do not undo the change; the channel's state is what was asked.
    self->state.durable.answer(self, rp, ix_one(header(self->state.channel)), true);
  };
  std::vector<std::string> tasks;
  if (task_status)
    for (auto& t : st.channel.tasks)
      if (flex::task_live(t))
        tasks.push_back(t.task_sid);
  bool touches_conversation = status != "wrapup";
  fan->outstanding = (touches_conversation ? 1 : 0) + static_cast<int>(tasks.size()) + 1;
  for (auto& sid : tasks) {
    auto* t = find_task(st, sid);
    bool unassigned = t->status == "pending" || t->status == "reserved";
    // Only a close cancels what nobody took; wrap-up leaves it routing.
    move_task(self, *t, unassigned ? (status == "closed" ? "canceled" : "pending") : *task_status, fan);
  }
  if (status == "closed") {
    st.channel.status = flex::channel_status::closed;
    for (auto& p : st.channel.participants)
      if (p.status != participant_status::closed)
        p.status = p.type == participant_type::agent && *task_status == "wrapping" ? participant_status::wrapup
                                                                                    : participant_status::closed;
  } else {
    if (status == "inactive")
      st.channel.status = flex::channel_status::inactive;
    if (task_status == std::optional<std::string>("wrapping"))
      for (auto& p : st.channel.participants)
        if (p.type == participant_type::agent && p.status == participant_status::active)
          p.status = participant_status::wrapup;
  }
  changed(self);
  if (touches_conversation) {
    auto cc = conversation_call(st, cv_op::conversation_update);
    cc.params.add("State", status);
    ask<cv_reply>(self, st.conversations, std::move(cc), [=](cv_reply& r) { fan->one(error_of(r)); },
                  [=](caf::error&) { fan->one(model::error{model::errc::unavailable, 20503, "no answer"}); });
  }
  fan->one(std::nullopt);
}

// The parties a participant create names: MediaProperties (address and
// proxy_address, or identity) and RoutingProperties (workspace_sid and
// worker_sid for an agent).
void participant_create(self_ptr self, const ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"Type", "MediaProperties", "RoutingProperties"}))
    return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto type = flex::parse_participant_type(c.params.get("Type").value_or(""));
  if (!type)
    return rp.deliver(ix_fail(model::invalid_parameter("Type must be supervisor, customer, external, agent or unknown")));
  if (st.channel.status == flex::channel_status::closed)
    return rp.deliver(ix_fail(model::invalid_parameter("The channel is closed; no participant can join it")));
  auto object = [&](const char* name) -> model::expected<nlohmann::json> {
    auto v = c.params.get(name);
    if (!v)
      return nlohmann::json::object();
    auto doc = nlohmann::json::parse(*v, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return model::invalid_parameter(std::string(name) + " must be a JSON object");
    return doc;
  };
  auto media = object("MediaProperties");
  auto routing = object("RoutingProperties");
  if (!media)
    return rp.deliver(ix_fail(media.err()));
  if (!routing)
    return rp.deliver(ix_fail(routing.err()));
  auto str = [](const nlohmann::json& j, const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  flex::channel_participant p;
  p.sid = model::make_sid("UT");
  p.type = *type;
  p.identity = str(*media, "identity");
  p.address = str(*media, "address");
  p.proxy_address = str(*media, "proxy_address");
  p.workspace_sid = str(*routing, "workspace_sid");
  p.worker_sid = str(*routing, "worker_sid");
  p.created = p.updated = std::chrono::system_clock::now();
  if (!p.worker_sid.empty() && (!model::is_sid(p.worker_sid, "WK") || !model::is_sid(p.workspace_sid, "WS")))
    return rp.deliver(ix_fail(model::invalid_parameter(
      "RoutingProperties needs workspace_sid (WS...) with worker_sid (WK...)")));
  bool silent = p.type == participant_type::supervisor;
  if (!silent && p.identity.empty() && p.address.empty() && p.worker_sid.empty())
    return rp.deliver(ix_fail(model::invalid_parameter(
      "MediaProperties needs identity, or address and proxy_address (RoutingProperties.worker_sid for an agent)")));
  auto ut = p.sid;
  std::function<void(std::optional<model::error>)> finish = [=](std::optional<model::error> e) mutable {
    auto& st = self->state;
    auto* q = find_participant(st, ut);
    if (e) {
      if (q)
        st.channel.participants.erase(st.channel.participants.begin() + (q - st.channel.participants.data()));
      return rp.deliver(ix_fail(*e));
    }
    changed(self);
    st.durable.answer(self, rp, ix_one(ix_participant_ref{*find_participant(st, ut), header(st.channel)}, true), true);
  };
  st.channel.participants.push_back(p);
  // A supervisor watches without joining the conversation: the customer and
  // the agents do not see it, and it gets no receipts.
  if (silent)
    return finish(std::nullopt);
  if (!p.address.empty()) {
    auto cc = conversation_call(st, cv_op::participant_create);
    cc.params.add("MessagingBinding.Address", p.address);
    if (!p.proxy_address.empty())
      cc.params.add("MessagingBinding.ProxyAddress", p.proxy_address);
    ask<cv_reply>(self, st.conversations, std::move(cc),
        [=](cv_reply& r) {
          auto e = error_of(r);
          if (!e)
            if (auto* res = std::get_if<cv_resource>(&r.value))
              if (auto* part = std::get_if<model::cv::participant>(res))
                if (auto* q = find_participant(self->state, ut))
                  q->conversation_participant_sid = part->sid;
          finish(e);
        },
        [=](caf::error&) { finish(model::error{model::errc::unavailable, 20503, "The conversation did not answer"}); });
    return;
  }
  auto join = [=](std::string identity) {
    if (auto* q = find_participant(self->state, ut))
      q->identity = identity;
    nlohmann::json attrs{{"member_type", flex::to_string(*type)}};
    join_conversation(self, ut, identity, attrs.dump(), finish);
  };
  if (!p.identity.empty())
    return join(p.identity);
  auto tc = task_call(st, tr_op::worker_fetch, p.workspace_sid, p.worker_sid);
  ask<tr_reply>(self, st.directory, std::move(tc),
      [=](tr_reply& r) {
        if (auto e = error_of(r))
          return finish(model::invalid_parameter("RoutingProperties.worker_sid: " + e->message));
        join(agent_identity(std::get<model::worker>(std::get<resource>(r.value))));
      },
      [=](caf::error&) { finish(model::error{model::errc::unavailable, 20503, "TaskRouter did not answer"}); });
}

void participant_update(self_ptr self, const ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"Status"}))
    return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto status = c.params.get("Status").value_or("");
  if (status != "closed" && status != "wrapup")
    return rp.deliver(ix_fail(model::invalid_parameter("Status must be closed or wrapup")));
  auto* p = find_participant(st, c.sub_sid);
  if (!p)
    return rp.deliver(ix_fail(model::not_found("The requested resource /Participants/" + c.sub_sid + " was not found")));
  if (p->status == participant_status::closed) {
    if (status == "closed")
      return rp.deliver(ix_one(ix_participant_ref{*p, header(st.channel)}));
    return rp.deliver(ix_fail(model::invalid_parameter("The participant has left the channel")));
  }
  auto ut = p->sid;
  auto fan = std::make_shared<fan_in>();
  fan->outstanding = 2;
  fan->done = [=](std::optional<model::error> e) {
    auto& st = self->state;
    auto* q = find_participant(st, ut);
    changed(self);
    if (e && e->kind != model::errc::invalid_parameter)
      return st.durable.answer(self, rp, ix_fail(*e), true);
    st.durable.answer(self, rp, ix_one(ix_participant_ref{*q, header(st.channel)}), true);
  };
  // An agent's task follows its participant: closed completes it, wrapup
  // moves it to wrapping.
  flex::channel_task* t = p->type == participant_type::agent ? find_task(st, p->task_sid) : nullptr;
  if (t)
    move_task(self, *t, status == "closed" ? "completed" : "wrapping", fan);
  else
    fan->one(std::nullopt);
  set_agent_status(self, *p, status == "closed" ? participant_status::closed : participant_status::wrapup, fan);
}

void invite_create(self_ptr self, const ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"Routing"}))
    return rp.deliver(ix_fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto text = c.params.get("Routing");
  if (!text)
    return rp.deliver(ix_fail(model::invalid_parameter("Routing is required")));
  auto spec = flex::parse_routing_spec(*text);
  if (!spec)
    return rp.deliver(ix_fail(spec.err()));
  if (st.channel.status == flex::channel_status::closed)
    return rp.deliver(ix_fail(model::invalid_parameter("The channel is closed; nobody can be invited to it")));
  flex::channel_invite inv;
  inv.sid = model::make_sid("KG");
  inv.created = std::chrono::system_clock::now();
  flex_task_context ctx{st.channel.account_sid, st.channel.sid, st.channel.interaction_sid,
                        st.channel.conversation_sid, st.channel.type, st.channel.initiated_by, inv.sid, {}};
  for (auto& p : st.channel.participants)
    if (p.type == participant_type::customer) {
      ctx.customer = p.address.empty() ? p.identity : p.address;
      break;
    }
  auto call = flex_task_call(ctx, *spec);
  if (!call)
    return rp.deliver(ix_fail(call.err()));
  auto workspace = spec->workspace_sid;
  ask<tr_reply>(self, st.directory, std::move(*call),
      [=](tr_reply& r) mutable {
        auto& st = self->state;
        if (auto e = error_of(r))
          return rp.deliver(ix_fail(flex_routing_error(*e)));
        auto& task = std::get<model::task>(std::get<resource>(r.value));
        flex::channel_task t;
        t.task_sid = task.sid;
        t.workspace_sid = workspace;
        t.invite_sid = inv.sid;
        t.status = model::to_string(task.status);
        st.channel.tasks.push_back(t);
        inv.task_sid = task.sid;
        inv.routing = flex_routing_answer(task, st.channel.account_sid, workspace);
        st.channel.invites.push_back(inv);
        changed(self);
        st.durable.answer(self, rp, ix_one(ix_invite_ref{inv, header(st.channel)}, true), true);
      },
      [=](caf::error&) mutable {
        rp.deliver(ix_fail(model::error{model::errc::unavailable, 20503, "TaskRouter did not answer"}));
      });
}

template <class T, class Make>
ix_reply page_of(const std::vector<T>& items, const page_request& page, Make make) {
  ix_page out;
  for (std::size_t i = page.offset; i < items.size(); ++i) {
    if (out.items.size() == page.size) {
      out.has_more = true;
      break;
    }
    out.items.push_back(make(items[i]));
  }
  return ix_reply{std::move(out)};
}

void handle(self_ptr self, const ix_call& c, caf::response_promise rp) {
  auto& st = self->state;
  switch (c.op) {
    case ix_op::channel_fetch:
      // Read after write: while a change is on its way to disk, the
      // answer waits for it.
      return st.durable.answer(self, rp, ix_one(header(st.channel)), !st.durable.quiet());
    case ix_op::channel_update:
      return channel_update(self, c, rp);
    case ix_op::participant_create:
      return participant_create(self, c, rp);
    case ix_op::participant_list: {
      auto h = header(st.channel);
      return rp.deliver(page_of(st.channel.participants, c.page, [&](auto& p) { return ix_participant_ref{p, h}; }));
    }
    case ix_op::participant_update:
      return participant_update(self, c, rp);
    case ix_op::invite_create:
      return invite_create(self, c, rp);
    case ix_op::invite_list: {
      auto h = header(st.channel);
      return rp.deliver(page_of(st.channel.invites, c.page, [&](auto& i) { return ix_invite_ref{i, h}; }));
    }
    default:
      return rp.deliver(ix_fail(model::error{model::errc::internal, 20500, "not a channel operation"}));
  }
}

} // namespace

caf::behavior interaction_channel_actor(interaction_channel_actor_type* self, model::flex::interaction_channel channel,
                                        bool fresh, caf::actor root, caf::actor directory, caf::actor conversations,
                                        caf::actor store) {
  auto& st = self->state;
  st.channel = std::move(channel);
  st.root = std::move(root);
  st.directory = std::move(directory);
  st.conversations = std::move(conversations);
  st.durable.set_store(std::move(store));
  if (finished(st)) {
    st.retiring = true;
    self->send(self, retire_atom::value);
  }
  if (fresh) {
    st.durable.put(st.channel.account_sid, st.channel.sid, store::entity{st.channel});
    st.durable.settle(self);
  }
  return {
    [=](ix_call& c) {
      auto rp = self->make_response_promise<ix_reply>();
      handle(self, c, rp);
      self->state.durable.settle(self);
    },
    [=](ix_task_event& e) { on_event(self, *e.event); },
    [=](retire_atom) {
      auto& st = self->state;
      if (!finished(st)) {
        st.retiring = false;
        return;
      }
      // Once everything it wrote is committed and its own calls are answered
      // (an API answer may wait on them).
      if (!st.durable.quiet() || st.calls > 0) {
        self->delayed_send(self, std::chrono::milliseconds(100), retire_atom::value);
        return;
      }
      self->send(st.root, ix_channel_retired{st.channel.interaction_sid});
      self->quit();
    },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, unavailable()); },
  };
}

} // namespace sb::actors
