#include "actors/workspace_actor.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <sstream>

#include "actors/queue_actor.hpp"
#include "actors/store_actor.hpp"
#include "actors/webhook_actor.hpp"
#include "actors/worker_actor.hpp"
#include "actors/workflow_actor.hpp"
#include "model/sid.hpp"

namespace sb::actors {

namespace {

using model::errc;
using self_ptr = workspace_actor_type*;
using ts = model::task_status;
using rs = model::reservation_status;

model::time_point now() { return std::chrono::system_clock::now(); }

model::error missing() { return model::not_found("The requested resource was not found"); }

// routing_filter of a task sent straight to a queue (TaskQueueSid).
constexpr int direct_route = -3;

bool has_changes(const workspace_state& st) {
  return !st.dirty.empty() || !st.dirty_reservations.empty() || !st.unsaved_events.empty();
}

// Hands everything changed since the last call to the durable writer's batch.
void flush(self_ptr self) {
  auto& st = self->state;
  if (!has_changes(st))
    return;
  if (!st.durable.has_store()) {
    st.dirty.clear();
    st.dirty_reservations.clear();
    st.unsaved_events.clear();
    return;
  }
  st.durable.add(take_changes(st));
}

// Makes sure the changes made so far (and the answers waiting on them) are
// flushed once the messages already in the mailbox are handled.
void settle(self_ptr self) { self->state.durable.settle(self, has_changes(self->state)); }

// Answers a successful API change once the store has committed it; anything
// else at once.
void answer(self_ptr self, caf::response_promise rp, tr_reply r, bool change) {
  bool ok = !std::holds_alternative<model::error>(r.value);
  self->state.durable.answer(self, std::move(rp), std::move(r), change && ok);
}

// The flush_tick: one batch to the store, then one sync for every answer
// held since the last tick.
void on_flush_tick(self_ptr self) {
  flush(self);
  self->state.durable.on_flush_tick(
    self, fail(model::error{errc::unavailable, 20503,
                            "The change could not be written to disk; the service refuses "
                            "changes until its store accepts writes again"}));
}

// Asks a worker actor and answers the API with its reply. Going through this
// actor (rather than delegating) matters for durability: the worker's own
// updates to this actor (reservation_update, worker_snapshot) arrive before
// its reply, so they are handed to the store before the client hears back.
template <class Message>
void forward_to_worker(self_ptr self, const caf::actor& worker, Message msg, bool change) {
  auto rp = self->make_response_promise<tr_reply>();
  self->request(worker, std::chrono::seconds(10), std::move(msg))
    .then([=](tr_reply& r) mutable { answer(self, rp, std::move(r), change); },
          [=](caf::error&) mutable {
            rp.deliver(fail(model::error{errc::unavailable, 20503, "Worker did not answer"}));
          });
}

// ----------------------------------------------------------------- helpers --

template <class T>
T* find_by_sid(std::vector<T>& v, const std::string& sid) {
  for (auto& x : v)
    if (x.sid == sid)
      return &x;
  return nullptr;
}

workspace_state::queue_entry* find_queue(workspace_state& st, const std::string& sid) {
  auto it = st.queue_index.find(sid);
  return it == st.queue_index.end() ? nullptr : &st.queues[it->second];
}

workspace_state::workflow_entry* find_workflow(workspace_state& st, const std::string& sid) {
  auto it = st.workflow_index.find(sid);
  return it == st.workflow_index.end() ? nullptr : &st.workflows[it->second];
}

// Rebuilds the SID indexes after a queue or workflow was added or removed.
void reindex(workspace_state& st) {
  st.queue_index.clear();
  for (std::size_t i = 0; i < st.queues.size(); ++i)
    st.queue_index.emplace(st.queues[i].queue.sid, i);
  st.workflow_index.clear();
  for (std::size_t i = 0; i < st.workflows.size(); ++i)
    st.workflow_index.emplace(st.workflows[i].workflow.sid, i);
}

model::task_channel* find_channel(workspace_state& st, const std::string& sid_or_name) {
  for (auto& c : st.channels)
    if (c.sid == sid_or_name || c.unique_name == sid_or_name)
      return &c;
  return nullptr;
}

template <class Range, class Pred, class Make>
tr_reply paginate(const Range& items, const page_request& page, Pred keep, Make make) {
  page_result out;
  std::size_t skipped = 0;
  for (auto& item : items) {
    if (!keep(item))
      continue;
    if (skipped++ < page.offset)
      continue;
    if (out.items.size() == page.size) {
      out.has_more = true;
      break;
    }
    out.items.emplace_back(make(item));
  }
  return tr_reply{std::move(out)};
}

model::expected<json_ptr> parse_attributes(const std::string& text, std::size_t limit = 16384) {
  if (text.size() > limit)
    return model::invalid_parameter("Attributes exceed " + std::to_string(limit) + " bytes");
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return model::invalid_parameter("Attributes must be a JSON object", 20001);
  return std::make_shared<const nlohmann::json>(std::move(doc));
}

bool filter_allows(const model::workspace& ws, const std::string& type) {
  if (ws.events_filter.empty())
    return true;
  std::stringstream ss(ws.events_filter);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item == type)
      return true;
  return false;
}

// Records an event and posts it to the event callback when one is set.
void record(self_ptr self, model::event ev) {
  auto& st = self->state;
  ev.sid = model::make_sid("EV");
  ev.date = now();
  if (ev.actor_sid.empty())
    ev.actor_sid = st.workspace.sid;
  if (st.options.webhooks && !st.workspace.event_callback_url.empty() &&
      filter_allows(st.workspace, ev.event_type)) {
    model::form_pairs p{{"AccountSid", st.workspace.account_sid},
                        {"WorkspaceSid", st.workspace.sid},
                        {"WorkspaceName", st.workspace.friendly_name},
                        {"EventType", ev.event_type},
                        {"ResourceType", ev.resource_type},
                        {"ResourceSid", ev.resource_sid},
                        {"EventDescription", ev.description},
                        {"Sid", ev.sid},
                        {"Timestamp", std::to_string(model::epoch_ms(ev.date) / 1000)},
                        {"TimestampMs", std::to_string(model::epoch_ms(ev.date))}};
    for (auto& kv : ev.data)
      p.push_back(kv);
    self->send(st.options.webhooks,
               webhook_post{st.workspace.event_callback_url, std::move(p), st.options.auth_token,
                            3, caf::actor{}, {}});
  }
  auto shared = std::make_shared<const model::event>(std::move(ev));
  auto flex_task = [&] {
    auto t = st.tasks.find(shared->task_sid);
    return t != st.tasks.end() && t->second.attributes &&
           t->second.attributes->contains("flexInteractionChannelSid");
  };
  if (st.options.event_sink &&
      (st.options.event_sink_types.empty() ||
       std::find(st.options.event_sink_types.begin(), st.options.event_sink_types.end(),
                 shared->event_type) != st.options.event_sink_types.end()) &&
      (!st.options.event_sink_flex_only || flex_task()))
    self->send(st.options.event_sink, shared);
  st.unsaved_events.push_back(shared);
  st.events.push_back(std::move(shared));
  while (st.events.size() > st.options.max_events)
    st.events.pop_front();
  auto cutoff = now() - st.options.event_retention;
  while (!st.events.empty() && st.events.front()->date < cutoff)
    st.events.pop_front();
}

model::event task_event(const workspace_state::task_entry& e, std::string type,
                        std::string description) {
  model::event ev;
  ev.event_type = std::move(type);
  ev.description = std::move(description);
  ev.resource_type = "task";
  ev.resource_sid = e.task.sid;
  ev.task_sid = e.task.sid;
  ev.queue_sid = e.task.queue_sid;
  ev.workflow_sid = e.task.workflow_sid;
  ev.task_channel = e.task.task_channel_unique_name;
  ev.task_created = e.task.created;
  ev.worker_sid = e.task.worker_sid;
  ev.reservation_sid = e.task.reservation_sid;
  ev.data = {{"TaskSid", e.task.sid},
             {"TaskAttributes", e.task.attributes},
             {"TaskAssignmentStatus", model::to_string(e.task.status)},
             {"TaskPriority", std::to_string(e.task.priority)},
             {"TaskChannelUniqueName", e.task.task_channel_unique_name},
             {"TaskAge", std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                          now() - e.task.created).count())}};
  if (!e.task.queue_sid.empty()) {
    ev.data.emplace_back("TaskQueueSid", e.task.queue_sid);
    ev.data.emplace_back("TaskQueueName", e.task.queue_friendly_name);
  }
  if (!e.task.workflow_sid.empty()) {
    ev.data.emplace_back("WorkflowSid", e.task.workflow_sid);
    ev.data.emplace_back("WorkflowName", e.task.workflow_friendly_name);
  }
  if (!e.task.reason.empty())
    ev.data.emplace_back("TaskCanceledReason", e.task.reason);
  return ev;
}

prometheus::Counter* task_counter(workspace_state& st, const std::string& event,
                                  const model::task& t) {
  if (!st.options.metrics.tasks)
    return nullptr;
  auto key = event + '\x1f' + t.queue_sid + '\x1f' + t.task_channel_unique_name;
  auto it = st.counter_cache.find(key);
  if (it == st.counter_cache.end()) {
    auto& c = st.options.metrics.tasks->Add(
      {{"event", event}, {"queue", t.queue_sid}, {"channel", t.task_channel_unique_name}});
    it = st.counter_cache.emplace(key, &c).first;
  }
  return it->second;
}

void count_task(workspace_state& st, const std::string& event, const model::task& t) {
  if (auto* c = task_counter(st, event, t))
    c->Increment();
}

void count_reservation(workspace_state& st, const std::string& outcome) {
  if (!st.options.metrics.reservations)
    return;
  auto key = "res\x1f" + outcome;
  auto it = st.counter_cache.find(key);
  if (it == st.counter_cache.end())
    it = st.counter_cache
           .emplace(key, &st.options.metrics.reservations->Add({{"outcome", outcome}}))
           .first;
  it->second->Increment();
}

void observe_wait(workspace_state& st, const std::string& stage, model::time_point since) {
  if (!st.options.metrics.task_wait)
    return;
  double secs = std::chrono::duration<double>(now() - since).count();
  st.options.metrics.task_wait->Add({{"stage", stage}}, metrics::latency_buckets()).Observe(secs);
}

prometheus::Gauge* pending_gauge(workspace_state& st, const std::string& queue_sid) {
  if (!st.options.metrics.pending || queue_sid.empty())
    return nullptr;
  auto it = st.gauge_cache.find(queue_sid);
  if (it == st.gauge_cache.end())
    it = st.gauge_cache
           .emplace(queue_sid, &st.options.metrics.pending->Add({{"queue", queue_sid}}))
           .first;
  return it->second;
}

void worker_gauge(workspace_state& st, const std::string& activity, double delta) {
  if (!st.options.metrics.workers)
    return;
  auto key = "wk\x1f" + activity;
  auto it = st.gauge_cache.find(key);
  if (it == st.gauge_cache.end())
    it = st.gauge_cache
           .emplace(key, &st.options.metrics.workers->Add(
                           {{"workspace", st.workspace.sid}, {"activity", activity}}))
           .first;
  it->second->Increment(delta);
}

// Keeps the task's copy of a reservation (the task view of reservations).
void note_reservation(workspace_state& st, workspace_state::task_entry& e, const model::reservation& r) {
  mark_reservation(st, r.sid, e.task.sid);
  mark(st, kind::task, e.task.sid);
  for (auto& x : e.reservations)
    if (x.sid == r.sid) {
      x = r;
      return;
    }
  e.reservations.push_back(r);
}

// Ends one of the task's reservations from this side (cancel, wrap-up or
// completion through the task, or another worker accepting first): tells its
// worker, updates the task's copy and records the reservation event.
void end_reservation_of(self_ptr self, workspace_state::task_entry& e, const std::string& res_sid,
                        model::reservation_status status, const std::string& reason);

bool is_active(model::reservation_status s) {
  return s == model::reservation_status::pending || s == model::reservation_status::accepted ||
         s == model::reservation_status::wrapping;
}

// Changes a task's status, keeping the pending gauge in step.
void set_status(workspace_state& st, workspace_state::task_entry& e, ts status) {
  if (e.task.status == status)
    return;
  if (e.task.status == ts::pending)
    if (auto* g = pending_gauge(st, e.task.queue_sid))
      g->Decrement();
  if (status == ts::pending)
    if (auto* g = pending_gauge(st, e.task.queue_sid))
      g->Increment();
  e.task.status = status;
  e.task.updated = now();
  ++e.task.version;
  mark(st, kind::task, e.task.sid);
}

// ------------------------------------------------------------ worker setup --

std::vector<std::pair<std::string, caf::actor>> queues_for(workspace_state& st,
                                                           const nlohmann::json& attrs) {
  std::vector<std::pair<std::string, caf::actor>> out;
  model::expression_context ctx;
  ctx.worker = &attrs;
  ctx.default_scope = "worker";
  for (auto& q : st.queues)
    if (!q.target || q.target->evaluate(ctx))
      out.emplace_back(q.queue.sid, q.actor);
  return out;
}

const model::activity* activity_of(workspace_state& st, const std::string& sid) {
  for (auto& a : st.activities)
    if (a.sid == sid)
      return &a;
  return nullptr;
}

worker_config config_for(workspace_state& st, workspace_state::worker_entry& w) {
  // The activity is left empty ("keep yours"): the worker owns it at run time.
  worker_config cfg;
  cfg.attributes = w.attributes;
  cfg.attributes_text = w.worker.attributes;
  cfg.friendly_name = w.worker.friendly_name;
  cfg.multi_task = st.workspace.multi_task_enabled;
  cfg.queues = queues_for(st, *w.attributes);
  w.queues.clear();
  for (auto& q : cfg.queues)
    w.queues.push_back(q.first);
  return cfg;
}

workspace_settings settings_of(workspace_state& st) {
  workspace_settings s;
  s.timeout_activity_sid = st.workspace.timeout_activity_sid;
  if (auto* a = activity_of(st, s.timeout_activity_sid)) {
    s.timeout_activity_name = a->friendly_name;
    s.timeout_activity_available = a->available;
  }
  s.multi_task = st.workspace.multi_task_enabled;
  return s;
}

// Re-evaluates every worker's queue membership (after a queue change).
void refresh_memberships(self_ptr self) {
  auto& st = self->state;
  for (auto& [sid, w] : st.workers) {
    auto before = w.queues;
    auto cfg = config_for(st, w);
    if (cfg.queues.size() != before.size() ||
        !std::equal(before.begin(), before.end(), w.queues.begin()))
      caf::anon_send(w.actor, std::move(cfg));
  }
}

void refresh_workflows(self_ptr self) {
  auto& st = self->state;
  std::vector<std::pair<std::string, caf::actor>> qs;
  for (auto& q : st.queues)
    qs.emplace_back(q.queue.sid, q.actor);
  for (auto& w : st.workflows)
    self->send(w.actor, workflow_setup{w.workflow, w.config, qs, caf::actor{}});
}

// -------------------------------------------------------------- task flow --

void start_routing(self_ptr self, workspace_state::task_entry& e, const std::string& direct_queue) {
  auto& st = self->state;
  route_task r;
  r.task_sid = e.task.sid;
  r.attributes = e.attributes;
  r.channel_name = e.task.task_channel_unique_name;
  r.priority = e.task.priority;
  r.order = e.task.order;
  r.ignore_capacity = e.task.ignore_capacity;
  if (!direct_queue.empty()) {
    auto* q = find_queue(st, direct_queue);
    if (e.task.queue_sid.empty()) {
      e.task.queue_sid = q->queue.sid;
      e.task.queue_friendly_name = q->queue.friendly_name;
    }
    e.task.routing_filter = direct_route;
    e.task.routing_step = 0;
    mark(st, kind::task, e.task.sid);
    enqueue_task en;
    en.task.sid = r.task_sid;
    en.task.attributes = r.attributes;
    en.task.channel_name = r.channel_name;
    en.task.priority = r.priority;
    en.task.order = r.order;
    en.task.ignore_capacity = r.ignore_capacity;
    // RoutingTarget naming a worker: only that worker is offered the task
    // (Flex's agent-initiated outbound routes this way).
    if (model::is_sid(e.task.routing_target, "WK"))
      en.task.known_worker_sid = e.task.routing_target;
    en.workflow = caf::actor_cast<caf::actor>(self);
    en.filter = -1;
    en.target = 0;
    self->send(q->actor, std::move(en));
    return;
  }
  auto* wf = find_workflow(st, e.task.workflow_sid);
  if (!wf)
    return;
  // Choose the filter here so the create response can name the first target's
  // queue, as Twilio's does; the workflow continues from that filter.
  r.filter = wf->config->select_filter(*e.attributes);
  const model::workflow_target* first = nullptr;
  if (r.filter >= 0 && !wf->config->filters[r.filter].targets.empty())
    first = &wf->config->filters[r.filter].targets.front();
  else if (r.filter < 0 && wf->config->default_target)
    first = &*wf->config->default_target;
  if (first && e.task.queue_sid.empty())
    if (auto* q = find_queue(st, first->queue_sid)) {
      e.task.queue_sid = q->queue.sid;
      e.task.queue_friendly_name = q->queue.friendly_name;
    }
  self->send(wf->actor, std::move(r));
}

// An event about one of the task's reservations, with its filter keys.
model::event reservation_event(const workspace_state::task_entry& e, const model::reservation& r,
                               std::string type, std::string description) {
  model::event ev;
  ev.event_type = std::move(type);
  ev.description = std::move(description);
  ev.resource_type = "reservation";
  ev.resource_sid = ev.reservation_sid = r.sid;
  ev.worker_sid = r.worker_sid;
  ev.task_sid = r.task_sid;
  ev.queue_sid = e.task.queue_sid;
  ev.workflow_sid = e.task.workflow_sid;
  ev.task_channel = e.task.task_channel_unique_name;
  ev.task_created = e.task.created;
  ev.data = {{"ReservationSid", r.sid}, {"WorkerSid", r.worker_sid},
             {"WorkerName", r.worker_name}, {"TaskSid", r.task_sid}};
  return ev;
}

void end_reservation_of(self_ptr self, workspace_state::task_entry& e, const std::string& res_sid,
                        model::reservation_status status, const std::string& reason) {
  auto& st = self->state;
  for (auto& r : e.reservations)
    if (r.sid == res_sid) {
      if (auto w = st.workers.find(r.worker_sid); w != st.workers.end())
        self->send(w->second.actor, end_reservation{res_sid, status, reason});
      r.status = status;
      r.updated = now();
      mark_reservation(st, r.sid, e.task.sid);
      mark(st, kind::task, e.task.sid);
      std::string type = status == rs::canceled    ? "reservation.canceled"
                         : status == rs::wrapping  ? "reservation.wrapup"
                         : status == rs::completed ? "reservation.completed"
                                                   : "reservation.rescinded";
      record(self, reservation_event(e, r, type, type));
    }
}

// Cancels a task with reason; tells its queue and any reservation holder.
void cancel_task(self_ptr self, workspace_state::task_entry& e, const std::string& reason,
                 const std::string& event_description) {
  auto& st = self->state;
  if (e.queue)
    self->send(e.queue, forget_task{e.task.sid});
  std::vector<std::string> held;
  for (auto& r : e.reservations)
    if (is_active(r.status))
      held.push_back(r.sid);
  for (auto& sid : held)
    end_reservation_of(self, e, sid, rs::canceled, reason);
  set_status(st, e, ts::canceled);
  e.task.reason = reason;
  e.task.reservation_sid.clear();
  e.task.worker_sid.clear();
  e.queue = caf::actor{};
  st.ttl.cancel(e.task.sid);
  st.retention.schedule(self, e.task.sid, st.options.task_retention);
  count_task(st, "canceled", e.task);
  record(self, task_event(e, "task.canceled", event_description));
}

void finish_task(self_ptr self, workspace_state::task_entry& e, ts status,
                 const std::string& reason) {
  auto& st = self->state;
  set_status(st, e, status);
  if (!reason.empty())
    e.task.reason = reason;
  if (status == ts::completed) {
    st.ttl.cancel(e.task.sid);
    st.retention.schedule(self, e.task.sid, st.options.task_retention);
    count_task(st, "completed", e.task);
    record(self, task_event(e, "task.completed", "Task completed"));
  } else {
    record(self, task_event(e, "task.wrapup", "Task moved to wrapping"));
  }
}

void delete_task_record(workspace_state& st, const std::string& sid) {
  auto it = st.tasks.find(sid);
  if (it == st.tasks.end())
    return;
  if (it->second.task.status == ts::pending)
    if (auto* g = pending_gauge(st, it->second.task.queue_sid))
      g->Decrement();
  mark(st, kind::task, sid);
  for (auto& r : it->second.reservations)
    mark_reservation(st, r.sid, sid);
  st.task_order.erase(it->second.task.order);
  st.ttl.cancel(sid);
  st.retention.cancel(sid);
  st.tasks.erase(it);
}

void on_reservation(self_ptr self, reservation_update& u) {
  auto& st = self->state;
  auto& r = u.reservation;
  auto it = st.tasks.find(r.task_sid);
  auto w = st.workers.find(r.worker_sid);
  // Only a reservation the task still counts as active moves the task; a late
  // message about an ended one (a timeout racing a cancel, say) is recorded
  // and ignored.
  bool active_here = false;
  if (it != st.tasks.end() && !model::is_final(it->second.task.status))
    for (auto& x : it->second.reservations)
      if (x.sid == r.sid && is_active(x.status))
        active_here = true;
  model::event ev;
  ev.resource_type = "reservation";
  ev.resource_sid = r.sid;
  ev.reservation_sid = r.sid;
  ev.worker_sid = r.worker_sid;
  ev.task_sid = r.task_sid;
  ev.queue_sid = u.queue_sid;
  ev.data = {{"ReservationSid", r.sid}, {"WorkerSid", r.worker_sid},
             {"WorkerName", r.worker_name}, {"TaskSid", r.task_sid}};
  if (it != st.tasks.end()) {
    ev.workflow_sid = it->second.task.workflow_sid;
    ev.task_channel = it->second.task.task_channel_unique_name;
    ev.task_created = it->second.task.created;
    note_reservation(st, it->second, r);
  }
  switch (r.status) {
    case rs::pending: {
      if (w == st.workers.end() && it != st.tasks.end()) {
        // The worker was deleted while its reservation was on the way: the
        // task waits again without it.
        if (it->second.task.status == ts::pending && it->second.queue)
          self->send(it->second.queue, requeue_task{r.task_sid, r.worker_sid});
        auto dropped = r;
        dropped.status = rs::rescinded;
        note_reservation(st, it->second, dropped);
        return;
      }
      bool wanted = it != st.tasks.end() && (it->second.task.status == ts::pending ||
                                             it->second.task.status == ts::reserved);
      if (!wanted) {
        // The task moved on while the offer was in flight: undo the reservation.
        if (w != st.workers.end())
          self->send(w->second.actor, end_reservation{r.sid, rs::rescinded, "task not pending"});
        if (it != st.tasks.end()) {
          auto rescinded = r;
          rescinded.status = rs::rescinded;
          note_reservation(st, it->second, rescinded);
        }
        ev.event_type = "reservation.rescinded";
        ev.description = "Reservation rescinded: the task moved on";
        record(self, std::move(ev));
        return;
      }
      auto& e = it->second;
      // With MaxReservedWorkers > 1 a reserved task gains further reservations;
      // the task names its first one until one is accepted.
      if (e.task.status == ts::pending) {
        e.task.worker_sid = r.worker_sid;
        e.task.reservation_sid = r.sid;
        set_status(st, e, ts::reserved);
      }
      if (!e.task.reserved_once) {
        e.task.reserved_once = true;
        observe_wait(st, "reserved", e.task.created);
      }
      ev.event_type = "reservation.created";
      ev.description = "Reservation created for worker " + r.worker_name;
      ev.task_channel = e.task.task_channel_unique_name;
      ev.workflow_sid = e.task.workflow_sid;
      record(self, std::move(ev));
      // Assignment callback: the workflow's URL decides accept or reject.
      auto* wf = find_workflow(st, e.task.workflow_sid);
      if (wf && st.options.webhooks && !wf->workflow.assignment_callback_url.empty()) {
        model::form_pairs p{{"AccountSid", st.workspace.account_sid},
                            {"WorkspaceSid", st.workspace.sid},
                            {"WorkflowSid", wf->workflow.sid},
                            {"TaskQueueSid", e.task.queue_sid},
                            {"TaskSid", e.task.sid},
                            {"TaskAttributes", e.task.attributes},
                            {"TaskAge", "0"},
                            {"TaskPriority", std::to_string(e.task.priority)},
                            {"WorkerSid", r.worker_sid},
                            {"WorkerAttributes", w != st.workers.end() ? w->second.worker.attributes : "{}"},
                            {"ReservationSid", r.sid}};
        self->send(st.options.webhooks,
                   webhook_post{wf->workflow.assignment_callback_url, std::move(p),
                                st.options.auth_token, 1, caf::actor_cast<caf::actor>(self),
                                r.task_sid + ":" + r.worker_sid + ":" + r.sid});
      }
      return;
    }
    case rs::accepted: {
      if (!active_here)
        return;
      auto& e = it->second;
      e.task.worker_sid = r.worker_sid;
      e.task.reservation_sid = r.sid;
      set_status(st, e, ts::assigned);
      // The first to accept wins: every other pending reservation is rescinded.
      std::vector<std::string> others;
      for (auto& x : e.reservations)
        if (x.sid != r.sid && x.status == rs::pending)
          others.push_back(x.sid);
      for (auto& sid : others)
        end_reservation_of(self, e, sid, rs::rescinded, "accepted by another worker");
      if (e.queue)
        self->send(e.queue, forget_task{e.task.sid});
      st.ttl.cancel(e.task.sid);
      observe_wait(st, "accepted", e.task.created);
      count_task(st, "assigned", e.task);
      count_reservation(st, "accepted");
      ev.event_type = "reservation.accepted";
      ev.description = "Reservation accepted by worker " + r.worker_name;
      record(self, std::move(ev));
      return;
    }
    case rs::rejected:
    case rs::timeout: {
      bool rejected = r.status == rs::rejected;
      count_reservation(st, rejected ? "rejected" : "timeout");
      ev.event_type = rejected ? "reservation.rejected" : "reservation.timeout";
      ev.description = rejected ? "Reservation rejected" : "Reservation timed out";
      record(self, std::move(ev));
      if (!active_here)
        return;
      auto& e = it->second;
      if (e.queue)
        self->send(e.queue, requeue_task{e.task.sid, r.worker_sid});
      // Another pending reservation keeps the task reserved.
      const model::reservation* other = nullptr;
      for (auto& x : e.reservations)
        if (x.sid != r.sid && x.status == rs::pending)
          other = &x;
      if (other) {
        e.task.worker_sid = other->worker_sid;
        e.task.reservation_sid = other->sid;
        return;
      }
      e.task.worker_sid.clear();
      e.task.reservation_sid.clear();
      set_status(st, e, ts::pending);
      return;
    }
    case rs::wrapping:
    case rs::completed: {
      ev.event_type = r.status == rs::wrapping ? "reservation.wrapup" : "reservation.completed";
      ev.description = ev.event_type;
      record(self, std::move(ev));
      if (!active_here)
        return;
      auto& e = it->second;
      if (r.status == rs::completed) {
        count_reservation(st, "completed");
        e.task.worker_sid = r.worker_sid;
      }
      finish_task(self, e, r.status == rs::wrapping ? ts::wrapping : ts::completed, {});
      return;
    }
    case rs::canceled:
    case rs::rescinded:
      return;
  }
}

// ------------------------------------------------------------ API: config --

tr_reply update_workspace(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto& ws = st.workspace;
  if (auto u = c.params.first_unknown({"FriendlyName", "EventCallbackUrl", "EventsFilter",
                                       "MultiTaskEnabled", "DefaultActivitySid",
                                       "TimeoutActivitySid", "PrioritizeQueueOrder"}))
    return fail(model::invalid_parameter("Unknown parameter " + *u));
  auto multi = c.params.get_bool("MultiTaskEnabled");
  if (!multi)
    return fail(multi.err());
  auto def = c.params.get("DefaultActivitySid");
  auto tmo = c.params.get("TimeoutActivitySid");
  if (def && !activity_of(st, *def))
    return fail(model::invalid_parameter("DefaultActivitySid " + *def + " is not an activity of this workspace"));
  if (tmo && !activity_of(st, *tmo))
    return fail(model::invalid_parameter("TimeoutActivitySid " + *tmo + " is not an activity of this workspace"));
  auto order = c.params.get("PrioritizeQueueOrder");
  if (order && *order != "FIFO" && *order != "LIFO")
    return fail(model::invalid_parameter("PrioritizeQueueOrder must be FIFO or LIFO"));
  if (auto v = c.params.get("FriendlyName")) {
    if (v->empty() || v->size() > 64)
      return fail(model::invalid_parameter("FriendlyName must be 1 to 64 characters"));
    ws.friendly_name = *v;
  }
  if (auto v = c.params.get("EventCallbackUrl"))
    ws.event_callback_url = *v;
  if (auto v = c.params.get("EventsFilter"))
    ws.events_filter = *v;
  if (*multi)
    ws.multi_task_enabled = **multi;
  if (def) {
    ws.default_activity_sid = *def;
    ws.default_activity_name = activity_of(st, *def)->friendly_name;
  }
  if (tmo) {
    ws.timeout_activity_sid = *tmo;
    ws.timeout_activity_name = activity_of(st, *tmo)->friendly_name;
  }
  if (order)
    ws.prioritize_queue_order = *order == "LIFO" ? model::task_order::lifo : model::task_order::fifo;
  ws.updated = now();
  auto settings = settings_of(st);
  for (auto& [sid, w] : st.workers)
    self->send(w.actor, settings);
  return one(ws);
}

tr_reply activity_op(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  switch (c.op) {
    case tr_op::activity_create: {
      auto name = c.params.get("FriendlyName");
      if (!name || name->empty())
        return fail(model::invalid_parameter("FriendlyName is required"));
      for (auto& a : st.activities)
        if (a.friendly_name == *name)
          return fail(model::conflict("An activity named '" + *name + "' already exists", 20409));
      auto avail = c.params.get_bool("Available");
      if (!avail)
        return fail(avail.err());
      model::activity a;
      a.sid = model::make_sid("WA");
      a.friendly_name = *name;
      a.available = avail->value_or(false);
      a.created = a.updated = now();
      st.activities.push_back(a);
      return one(a, true);
    }
    case tr_op::activity_list: {
      auto name = c.params.get("FriendlyName");
      auto avail = c.params.get_bool("Available");
      if (!avail)
        return fail(avail.err());
      auto want = *avail;
      return paginate(st.activities, c.page,
                      [&](const model::activity& a) {
                        return (!name || a.friendly_name == *name) &&
                               (!want || a.available == *want);
                      },
                      [](const model::activity& a) { return resource{a}; });
    }
    case tr_op::activity_fetch:
      if (auto* a = find_by_sid(st.activities, c.sid))
        return one(*a);
      return fail(missing());
    case tr_op::activity_update: {
      auto* a = find_by_sid(st.activities, c.sid);
      if (!a)
        return fail(missing());
      if (c.params.has("Available"))
        return fail(model::invalid_parameter("An activity's availability cannot be changed"));
      if (auto v = c.params.get("FriendlyName")) {
        if (v->empty())
          return fail(model::invalid_parameter("FriendlyName must not be empty"));
        a->friendly_name = *v;
      }
      a->updated = now();
      if (st.workspace.default_activity_sid == a->sid)
        st.workspace.default_activity_name = a->friendly_name;
      if (st.workspace.timeout_activity_sid == a->sid)
        st.workspace.timeout_activity_name = a->friendly_name;
      return one(*a);
    }
    case tr_op::activity_delete: {
      auto* a = find_by_sid(st.activities, c.sid);
      if (!a)
        return fail(missing());
      if (st.workspace.default_activity_sid == a->sid || st.workspace.timeout_activity_sid == a->sid)
        return fail(model::invalid_parameter("The workspace's default or timeout activity cannot be deleted", 20001));
      for (auto& [sid, w] : st.workers)
        if (w.worker.activity_sid == a->sid)
          return fail(model::invalid_parameter("Activity " + a->sid + " is in use by worker " + sid, 20001));
      for (auto& q : st.queues)
        if (q.queue.reservation_activity_sid == a->sid || q.queue.assignment_activity_sid == a->sid)
          return fail(model::invalid_parameter("Activity " + a->sid + " is used by TaskQueue " + q.queue.sid, 20001));
      st.activities.erase(st.activities.begin() + (a - st.activities.data()));
      return tr_reply{std::monostate{}};
    }
    default:
      return fail(missing());
  }
}

tr_reply channel_op(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  switch (c.op) {
    case tr_op::channel_create: {
      auto unique = c.params.get("UniqueName");
      if (!unique || unique->empty())
        return fail(model::invalid_parameter("UniqueName is required"));
      if (find_channel(st, *unique))
        return fail(model::conflict("A task channel named '" + *unique + "' already exists"));
      auto opt = c.params.get_bool("ChannelOptimizedRouting");
      if (!opt)
        return fail(opt.err());
      model::task_channel ch;
      ch.sid = model::make_sid("TC");
      ch.unique_name = *unique;
      ch.friendly_name = c.params.get("FriendlyName").value_or(*unique);
      ch.channel_optimized_routing = opt->value_or(false);
      ch.created = ch.updated = now();
      st.channels.push_back(ch);
      // Every worker gets the new channel with capacity 1, as on Twilio.
      for (auto& [sid, w] : st.workers) {
        model::worker_channel wc;
        wc.sid = model::make_sid("WC");
        wc.task_channel_sid = ch.sid;
        wc.task_channel_unique_name = ch.unique_name;
        wc.configured_capacity = 1;
        wc.created = wc.updated = ch.created;
        w.worker.channels.push_back(wc);
        self->send(w.actor, add_worker_channel{wc});
      }
      return one(ch, true);
    }
    case tr_op::channel_list:
      return paginate(st.channels, c.page, [](auto&) { return true; },
                      [](const model::task_channel& x) { return resource{x}; });
    case tr_op::channel_fetch:
      if (auto* ch = find_channel(st, c.sid))
        return one(*ch);
      return fail(missing());
    case tr_op::channel_update: {
      auto* ch = find_channel(st, c.sid);
      if (!ch)
        return fail(missing());
      auto opt = c.params.get_bool("ChannelOptimizedRouting");
      if (!opt)
        return fail(opt.err());
      if (auto v = c.params.get("FriendlyName"))
        ch->friendly_name = *v;
      if (*opt)
        ch->channel_optimized_routing = **opt;
      ch->updated = now();
      return one(*ch);
    }
    case tr_op::channel_delete: {
      auto* ch = find_channel(st, c.sid);
      if (!ch)
        return fail(missing());
      for (auto& [sid, t] : st.tasks)
        if (t.task.task_channel_sid == ch->sid && !model::is_final(t.task.status))
          return fail(model::invalid_parameter("Task channel " + ch->sid + " has active tasks"));
      st.channels.erase(st.channels.begin() + (ch - st.channels.data()));
      return tr_reply{std::monostate{}};
    }
    default:
      return fail(missing());
  }
}

queue_config queue_config_of(workspace_state& st, const model::task_queue& q) {
  queue_config c{q};
  if (auto* a = activity_of(st, q.reservation_activity_sid))
    c.reservation_activity_available = a->available;
  if (auto* a = activity_of(st, q.assignment_activity_sid))
    c.assignment_activity_available = a->available;
  return c;
}

model::expected<model::task_queue> apply_queue_params(workspace_state& st, model::task_queue q,
                                                      const model::form& f, bool create) {
  if (auto u = f.first_unknown({"FriendlyName", "TargetWorkers", "MaxReservedWorkers", "TaskOrder",
                                "ReservationActivitySid", "AssignmentActivitySid"}))
    return model::invalid_parameter("Unknown parameter " + *u);
  auto name = f.get("FriendlyName");
  if (create && (!name || name->empty()))
    return model::invalid_parameter("FriendlyName is required");
  if (name) {
    if (name->empty() || name->size() > 64)
      return model::invalid_parameter("FriendlyName must be 1 to 64 characters");
    for (auto& other : st.queues)
      if (other.queue.friendly_name == *name && other.queue.sid != q.sid)
        return model::conflict("A TaskQueue named '" + *name + "' already exists");
    q.friendly_name = *name;
  }
  if (auto t = f.get("TargetWorkers")) {
    auto e = model::expression::parse(*t);
    if (!e)
      return model::invalid_parameter("TargetWorkers: " + e.err().message, 20001);
    q.target_workers = *t;
  }
  auto max = f.get_int("MaxReservedWorkers", 1, 50);
  if (!max)
    return max.err();
  if (*max)
    q.max_reserved_workers = static_cast<int>(**max);
  if (auto o = f.get("TaskOrder")) {
    if (*o != "FIFO" && *o != "LIFO")
      return model::invalid_parameter("TaskOrder must be FIFO or LIFO");
    q.order = *o == "LIFO" ? model::task_order::lifo : model::task_order::fifo;
  }
  for (auto [param, sid, name_field] :
       {std::tuple{"ReservationActivitySid", &q.reservation_activity_sid, &q.reservation_activity_name},
        std::tuple{"AssignmentActivitySid", &q.assignment_activity_sid, &q.assignment_activity_name}}) {
    if (auto v = f.get(param)) {
      const model::activity* a = nullptr;
      for (auto& x : st.activities)
        if (x.sid == *v)
          a = &x;
      if (!a)
        return model::invalid_parameter(std::string(param) + " " + *v + " is not an activity of this workspace");
      *sid = a->sid;
      *name_field = a->friendly_name;
    }
  }
  q.updated = now();
  return q;
}

tr_reply queue_op(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  switch (c.op) {
    case tr_op::queue_create: {
      model::task_queue q;
      q.sid = model::make_sid("WQ");
      q.created = now();
      q.order = st.workspace.prioritize_queue_order;
      auto r = apply_queue_params(st, q, c.params, true);
      if (!r)
        return fail(r.err());
      workspace_state::queue_entry e;
      e.queue = *r;
      e.target = std::make_shared<const model::expression>(*model::expression::parse(e.queue.target_workers));
      e.actor = self->spawn(queue_actor, e.queue, caf::actor_cast<caf::actor>(self));
      self->link_to(e.actor);
      self->send(e.actor, queue_config_of(st, e.queue));
      st.queues.push_back(std::move(e));
      reindex(st);
      refresh_memberships(self);
      refresh_workflows(self);
      return one(*r, true);
    }
    case tr_op::queue_list: {
      auto name = c.params.get("FriendlyName");
      auto worker = c.params.get("WorkerSid");
      std::shared_ptr<const nlohmann::json> wattrs;
      if (worker) {
        auto w = st.workers.find(*worker);
        if (w == st.workers.end())
          return fail(model::invalid_parameter("WorkerSid " + *worker + " is not a worker of this workspace"));
        wattrs = w->second.attributes;
      }
      std::optional<nlohmann::json> eval_attrs;
      if (auto ewa = c.params.get("EvaluateWorkerAttributes")) {
        auto doc = nlohmann::json::parse(*ewa, nullptr, false);
        if (doc.is_discarded() || !doc.is_object())
          return fail(model::invalid_parameter("EvaluateWorkerAttributes must be a JSON object"));
        eval_attrs = std::move(doc);
      }
      return paginate(st.queues, c.page,
                      [&](const workspace_state::queue_entry& q) {
                        if (name && q.queue.friendly_name != *name)
                          return false;
                        model::expression_context ctx;
                        ctx.default_scope = "worker";
                        if (wattrs) {
                          ctx.worker = wattrs.get();
                          if (q.target && !q.target->evaluate(ctx))
                            return false;
                        }
                        if (eval_attrs) {
                          ctx.worker = &*eval_attrs;
                          if (q.target && !q.target->evaluate(ctx))
                            return false;
                        }
                        return true;
                      },
                      [](const workspace_state::queue_entry& q) { return resource{q.queue}; });
    }
    case tr_op::queue_fetch:
      if (auto* q = find_queue(st, c.sid))
        return one(q->queue);
      return fail(missing());
    case tr_op::queue_update: {
      auto* q = find_queue(st, c.sid);
      if (!q)
        return fail(missing());
      auto r = apply_queue_params(st, q->queue, c.params, false);
      if (!r)
        return fail(r.err());
      bool target_changed = r->target_workers != q->queue.target_workers;
      q->queue = *r;
      if (target_changed)
        q->target = std::make_shared<const model::expression>(*model::expression::parse(q->queue.target_workers));
      self->send(q->actor, queue_config_of(st, q->queue));
      if (target_changed)
        refresh_memberships(self);
      return one(q->queue);
    }
    case tr_op::queue_delete: {
      auto* q = find_queue(st, c.sid);
      if (!q)
        return fail(missing());
      for (auto& w : st.workflows) {
        auto& cfg = *w.config;
        auto uses = [&](const model::workflow_target& t) { return t.queue_sid == q->queue.sid; };
        bool used = cfg.default_target && uses(*cfg.default_target);
        for (auto& f : cfg.filters)
          for (auto& t : f.targets)
            used = used || uses(t);
        if (used)
          return fail(model::invalid_parameter("TaskQueue " + q->queue.sid + " is used by workflow " + w.workflow.sid));
      }
      for (auto& [sid, t] : st.tasks)
        if (t.task.queue_sid == q->queue.sid && !model::is_final(t.task.status))
          return fail(model::invalid_parameter("TaskQueue " + q->queue.sid + " has active tasks"));
      self->unlink_from(q->actor);
      self->send_exit(q->actor, caf::exit_reason::user_shutdown);
      st.queues.erase(st.queues.begin() + (q - st.queues.data()));
      reindex(st);
      refresh_memberships(self);
      refresh_workflows(self);
      return tr_reply{std::monostate{}};
    }
    default:
      return fail(missing());
  }
}

model::expected<std::shared_ptr<const model::workflow_config>>
parse_config(workspace_state& st, const std::string& text) {
  auto cfg = model::parse_workflow_config(
    text, [&](const std::string& sid) { return find_queue(st, sid) != nullptr; });
  if (!cfg)
    return cfg.err();
  return std::make_shared<const model::workflow_config>(std::move(*cfg));
}

tr_reply workflow_op(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto apply = [&](model::workflow wf, bool create,
                   std::shared_ptr<const model::workflow_config>& cfg) -> model::expected<model::workflow> {
    if (auto u = c.params.first_unknown({"FriendlyName", "Configuration", "AssignmentCallbackUrl",
                                         "FallbackAssignmentCallbackUrl", "TaskReservationTimeout",
                                         "ReEvaluateTasks"}))
      return model::invalid_parameter("Unknown parameter " + *u);
    auto name = c.params.get("FriendlyName");
    auto conf = c.params.get("Configuration");
    if (create && (!name || name->empty()))
      return model::invalid_parameter("FriendlyName is required");
    if (create && !conf)
      return model::invalid_parameter("Configuration is required");
    if (name)
      wf.friendly_name = *name;
    if (conf) {
      auto parsed = parse_config(st, *conf);
      if (!parsed)
        return parsed.err();
      cfg = *parsed;
      wf.configuration = *conf;
    }
    auto tmo = c.params.get_int("TaskReservationTimeout", 1, 86400);
    if (!tmo)
      return tmo.err();
    if (*tmo)
      wf.task_reservation_timeout = static_cast<int>(**tmo);
    if (auto v = c.params.get("AssignmentCallbackUrl"))
      wf.assignment_callback_url = *v;
    if (auto v = c.params.get("FallbackAssignmentCallbackUrl"))
      wf.fallback_assignment_callback_url = *v;
    wf.updated = now();
    return wf;
  };
  switch (c.op) {
    case tr_op::workflow_create: {
      model::workflow wf;
      wf.sid = model::make_sid("WW");
      wf.created = now();
      std::shared_ptr<const model::workflow_config> cfg;
      auto r = apply(wf, true, cfg);
      if (!r)
        return fail(r.err());
      workspace_state::workflow_entry e{*r, cfg, {}};
      std::vector<std::pair<std::string, caf::actor>> qs;
      for (auto& q : st.queues)
        qs.emplace_back(q.queue.sid, q.actor);
      e.actor = self->spawn(workflow_actor,
                            workflow_setup{*r, cfg, qs, caf::actor_cast<caf::actor>(self)});
      self->link_to(e.actor);
      st.workflows.push_back(std::move(e));
      reindex(st);
      return one(*r, true);
    }
    case tr_op::workflow_list: {
      auto name = c.params.get("FriendlyName");
      return paginate(st.workflows, c.page,
                      [&](const workspace_state::workflow_entry& w) {
                        return !name || w.workflow.friendly_name == *name;
                      },
                      [](const workspace_state::workflow_entry& w) { return resource{w.workflow}; });
    }
    case tr_op::workflow_fetch:
      if (auto* w = find_workflow(st, c.sid))
        return one(w->workflow);
      return fail(missing());
    case tr_op::workflow_update: {
      auto* w = find_workflow(st, c.sid);
      if (!w)
        return fail(missing());
      auto reevaluate = c.params.get_bool("ReEvaluateTasks");
      if (!reevaluate)
        return fail(reevaluate.err());
      auto cfg = w->config;
      auto r = apply(w->workflow, false, cfg);
      if (!r)
        return fail(r.err());
      w->workflow = *r;
      w->config = cfg;
      refresh_workflows(self);
      if (reevaluate->value_or(false)) {
        // Pending tasks of this workflow start over under the new configuration.
        auto sid = w->workflow.sid;
        for (auto& [o, task_sid] : st.task_order) {
          auto& e = st.tasks.at(task_sid);
          if (e.task.workflow_sid != sid || e.task.status != ts::pending)
            continue;
          if (e.queue)
            self->send(e.queue, forget_task{task_sid});
          e.queue = caf::actor{};
          start_routing(self, e, {});
        }
      }
      return one(find_workflow(st, c.sid)->workflow);
    }
    case tr_op::workflow_delete: {
      auto* w = find_workflow(st, c.sid);
      if (!w)
        return fail(missing());
      for (auto& [sid, t] : st.tasks)
        if (t.task.workflow_sid == w->workflow.sid && !model::is_final(t.task.status))
          return fail(model::invalid_parameter("Workflow " + w->workflow.sid + " has active tasks"));
      self->unlink_from(w->actor);
      self->send_exit(w->actor, caf::exit_reason::user_shutdown);
      st.workflows.erase(st.workflows.begin() + (w - st.workflows.data()));
      reindex(st);
      return tr_reply{std::monostate{}};
    }
    default:
      return fail(missing());
  }
}

// ----------------------------------------------------------- API: workers --

tr_reply worker_create(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"FriendlyName", "ActivitySid", "Attributes"}))
    return fail(model::invalid_parameter("Unknown parameter " + *u));
  auto name = c.params.get("FriendlyName");
  if (!name || name->empty())
    return fail(model::invalid_parameter("FriendlyName is required"));
  if (name->size() > 64)
    return fail(model::invalid_parameter("FriendlyName must be at most 64 characters"));
  if (st.worker_names.count(*name))
    return fail(model::conflict("A worker named '" + *name + "' already exists", 20001));
  auto attrs_text = c.params.get("Attributes").value_or("{}");
  auto attrs = parse_attributes(attrs_text);
  if (!attrs)
    return fail(attrs.err());
  auto act_sid = c.params.get("ActivitySid").value_or(st.workspace.default_activity_sid);
  auto* act = activity_of(st, act_sid);
  if (!act)
    return fail(model::invalid_parameter("ActivitySid " + act_sid + " is not an activity of this workspace"));
  model::worker w;
  w.sid = model::make_sid("WK");
  w.friendly_name = *name;
  w.activity_sid = act->sid;
  w.activity_name = act->friendly_name;
  w.available = act->available;
  w.attributes = attrs_text;
  w.created = w.updated = w.status_changed = now();
  for (auto& ch : st.channels) {
    model::worker_channel wc;
    wc.sid = model::make_sid("WC");
    wc.task_channel_sid = ch.sid;
    wc.task_channel_unique_name = ch.unique_name;
    wc.configured_capacity = 1;
    wc.created = wc.updated = w.created;
    w.channels.push_back(wc);
  }
  workspace_state::worker_entry e{w, *attrs, {}, {}};
  e.actor = self->spawn(worker_actor, w, *attrs, caf::actor_cast<caf::actor>(self), settings_of(st));
  self->link_to(e.actor);
  auto cfg = config_for(st, e);
  caf::anon_send(e.actor, std::move(cfg));
  st.worker_order.push_back(w.sid);
  st.worker_names.emplace(w.friendly_name, w.sid);
  st.workers.emplace(w.sid, std::move(e));
  worker_gauge(st, w.activity_name, 1);
  model::event ev;
  ev.event_type = "worker.created";
  ev.description = "Worker " + w.friendly_name + " created";
  ev.resource_type = "worker";
  ev.resource_sid = ev.worker_sid = w.sid;
  ev.data = {{"WorkerSid", w.sid}, {"WorkerName", w.friendly_name},
             {"WorkerActivitySid", w.activity_sid}, {"WorkerActivityName", w.activity_name},
             {"WorkerAttributes", w.attributes}};
  record(self, std::move(ev));
  return one(w, true);
}

// Validates a worker update here, then hands the resolved configuration to the
// worker actor, which answers the API.
void worker_update(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto respond = [&](tr_reply r) { self->make_response_promise<tr_reply>().deliver(std::move(r)); };
  auto it = st.workers.find(c.sid);
  if (it == st.workers.end())
    return respond(fail(missing()));
  auto& w = it->second;
  if (auto u = c.params.first_unknown({"FriendlyName", "ActivitySid", "Attributes",
                                       "RejectPendingReservations"}))
    return respond(fail(model::invalid_parameter("Unknown parameter " + *u)));
  auto reject = c.params.get_bool("RejectPendingReservations");
  if (!reject)
    return respond(fail(reject.err()));
  json_ptr attrs;
  if (auto a = c.params.get("Attributes")) {
    auto parsed = parse_attributes(*a);
    if (!parsed)
      return respond(fail(parsed.err()));
    attrs = *parsed;
  }
  const model::activity* act = nullptr;
  if (auto a = c.params.get("ActivitySid")) {
    act = activity_of(st, *a);
    if (!act)
      return respond(fail(model::invalid_parameter("ActivitySid " + *a + " is not an activity of this workspace")));
  }
  auto new_name = c.params.get("FriendlyName");
  if (new_name) {
    if (new_name->empty() || new_name->size() > 64)
      return respond(fail(model::invalid_parameter("FriendlyName must be 1 to 64 characters")));
    if (auto other = st.worker_names.find(*new_name);
        other != st.worker_names.end() && other->second != w.worker.sid)
      return respond(fail(model::conflict("A worker named '" + *new_name + "' already exists", 20001)));
  }
  if (new_name) {
    st.worker_names.erase(w.worker.friendly_name);
    st.worker_names.emplace(*new_name, w.worker.sid);
    w.worker.friendly_name = *new_name;
  }
  if (attrs) {
    w.attributes = attrs;
    w.worker.attributes = *c.params.get("Attributes");
  }
  if (act && act->sid != w.worker.activity_sid) {
    worker_gauge(st, w.worker.activity_name, -1);
    worker_gauge(st, act->friendly_name, 1);
    w.worker.activity_sid = act->sid;
    w.worker.activity_name = act->friendly_name;
    w.worker.available = act->available;
    model::event ev;
    ev.event_type = "worker.activity.update";
    ev.description = "Worker " + w.worker.friendly_name + " updated to " + act->friendly_name;
    ev.resource_type = "worker";
    ev.resource_sid = ev.worker_sid = w.worker.sid;
    ev.data = {{"WorkerSid", w.worker.sid}, {"WorkerActivitySid", act->sid},
               {"WorkerActivityName", act->friendly_name}};
    record(self, std::move(ev));
  }
  if (attrs) {
    model::event ev;
    ev.event_type = "worker.attributes.update";
    ev.description = "Worker attributes updated";
    ev.resource_type = "worker";
    ev.resource_sid = ev.worker_sid = w.worker.sid;
    ev.data = {{"WorkerSid", w.worker.sid}, {"WorkerAttributes", w.worker.attributes}};
    record(self, std::move(ev));
  }
  auto cfg = config_for(st, w);
  if (act) {
    cfg.activity_sid = act->sid;
    cfg.activity_name = act->friendly_name;
    cfg.available = act->available;
  }
  cfg.reject_pending = reject->value_or(false);
  mark(st, kind::worker, w.worker.sid);
  forward_to_worker(self, w.actor, std::move(cfg), true);
}

tr_reply worker_list(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto act_name = c.params.get("ActivityName");
  auto act_sid = c.params.get("ActivitySid");
  auto name = c.params.get("FriendlyName");
  auto avail = c.params.get_bool("Available");
  if (!avail)
    return fail(avail.err());
  std::shared_ptr<const model::expression> expr;
  if (auto t = c.params.get("TargetWorkersExpression")) {
    auto e = model::expression::parse(*t);
    if (!e)
      return fail(model::invalid_parameter("TargetWorkersExpression: " + e.err().message));
    expr = std::make_shared<const model::expression>(std::move(*e));
  }
  std::string queue_sid = c.params.get("TaskQueueSid").value_or("");
  if (auto qn = c.params.get("TaskQueueName")) {
    for (auto& q : st.queues)
      if (q.queue.friendly_name == *qn)
        queue_sid = q.queue.sid;
    if (queue_sid.empty())
      return tr_reply{page_result{}};
  }
  if (!queue_sid.empty() && !find_queue(st, queue_sid))
    return fail(model::invalid_parameter("TaskQueueSid " + queue_sid + " is not a TaskQueue of this workspace"));
  auto want_avail = *avail;
  return paginate(st.worker_order, c.page,
                  [&](const std::string& sid) {
                    auto& w = st.workers.at(sid);
                    if (act_name && w.worker.activity_name != *act_name)
                      return false;
                    if (act_sid && w.worker.activity_sid != *act_sid)
                      return false;
                    if (name && w.worker.friendly_name != *name)
                      return false;
                    if (want_avail && w.worker.available != *want_avail)
                      return false;
                    model::expression_context ctx;
                    ctx.worker = w.attributes.get();
                    ctx.default_scope = "worker";
                    if (expr && !expr->evaluate(ctx))
                      return false;
                    if (!queue_sid.empty() &&
                        std::find(w.queues.begin(), w.queues.end(), queue_sid) == w.queues.end())
                      return false;
                    return true;
                  },
                  [&](const std::string& sid) { return resource{st.workers.at(sid).worker}; });
}

tr_reply worker_delete(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto it = st.workers.find(c.sid);
  if (it == st.workers.end())
    return fail(missing());
  for (auto& [sid, t] : st.tasks)
    for (auto& r : t.reservations)
      if (r.worker_sid == c.sid && is_active(r.status))
        return fail(model::invalid_parameter("Worker " + c.sid + " has active reservations or tasks", 20001));
  auto& w = it->second;
  for (auto& q : st.queues)
    self->send(q.actor, worker_left{w.worker.sid, true});
  worker_gauge(st, w.worker.activity_name, -1);
  self->unlink_from(w.actor);
  self->send_exit(w.actor, caf::exit_reason::user_shutdown);
  model::event ev;
  ev.event_type = "worker.deleted";
  ev.description = "Worker " + w.worker.friendly_name + " deleted";
  ev.resource_type = "worker";
  ev.resource_sid = ev.worker_sid = w.worker.sid;
  record(self, std::move(ev));
  st.worker_names.erase(w.worker.friendly_name);
  st.worker_order.erase(std::find(st.worker_order.begin(), st.worker_order.end(), c.sid));
  st.workers.erase(it);
  return tr_reply{std::monostate{}};
}

// ------------------------------------------------------------- API: tasks --

tr_reply task_create(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"Timeout", "Priority", "TaskChannel", "WorkflowSid",
                                       "Attributes", "VirtualStartTime", "RoutingTarget",
                                       "IgnoreCapacity", "TaskQueueSid"}))
    return fail(model::invalid_parameter("Unknown parameter " + *u));
  auto attrs_text = c.params.get("Attributes").value_or("{}");
  auto attrs = parse_attributes(attrs_text, 65536);
  if (!attrs)
    return fail(attrs.err());
  auto prio = c.params.get_int("Priority", 0, 2147483647);
  if (!prio)
    return fail(prio.err());
  auto timeout = c.params.get_int("Timeout", 1, 2592000);
  if (!timeout)
    return fail(timeout.err());
  auto ignore = c.params.get_bool("IgnoreCapacity");
  if (!ignore)
    return fail(ignore.err());
  auto channel_name = c.params.get("TaskChannel").value_or("default");
  auto* ch = find_channel(st, channel_name);
  if (!ch)
    return fail(model::invalid_parameter("TaskChannel " + channel_name + " is not a task channel of this workspace"));
  std::string direct_queue;
  workspace_state::workflow_entry* wf = nullptr;
  if (auto q = c.params.get("TaskQueueSid")) {
    if (!find_queue(st, *q))
      return fail(model::invalid_parameter("TaskQueueSid " + *q + " is not a TaskQueue of this workspace"));
    direct_queue = *q;
  }
  if (auto w = c.params.get("WorkflowSid")) {
    wf = find_workflow(st, *w);
    if (!wf)
      return fail(model::invalid_parameter("WorkflowSid " + *w + " is not a workflow of this workspace"));
  } else if (direct_queue.empty()) {
    if (st.workflows.size() != 1)
      return fail(model::invalid_parameter(
        st.workflows.empty() ? "The workspace has no workflow; WorkflowSid is required"
                             : "WorkflowSid is required when a workspace has several workflows"));
    wf = &st.workflows.front();
  }
  std::optional<model::time_point> vstart;
  if (auto v = c.params.get("VirtualStartTime")) {
    vstart = model::parse_iso8601(*v);
    if (!vstart)
      return fail(model::invalid_parameter("VirtualStartTime must be an ISO-8601 date"));
  }
  workspace_state::task_entry e;
  auto& t = e.task;
  t.sid = model::make_sid("WT");
  t.attributes = attrs_text;
  e.attributes = *attrs;
  t.priority = static_cast<int>(prio->value_or(0));
  t.timeout = static_cast<int>(timeout->value_or(86400));
  t.task_channel_sid = ch->sid;
  t.task_channel_unique_name = ch->unique_name;
  if (wf) {
    t.workflow_sid = wf->workflow.sid;
    t.workflow_friendly_name = wf->workflow.friendly_name;
  }
  t.routing_target = c.params.get("RoutingTarget").value_or("");
  t.ignore_capacity = ignore->value_or(false);
  t.order = st.next_order++;
  t.created = t.updated = t.queue_entered = now();
  t.virtual_start = vstart.value_or(t.created);
  auto sid = t.sid;
  auto [it, inserted] = st.tasks.emplace(sid, std::move(e));
  st.task_order.emplace(it->second.task.order, sid);
  auto& entry = it->second;
  st.ttl.schedule(self, sid, std::chrono::seconds(entry.task.timeout));
  start_routing(self, entry, direct_queue);
  if (auto* g = pending_gauge(st, entry.task.queue_sid))
    g->Increment();
  record(self, task_event(entry, "task.created", "Task created"));
  count_task(st, "created", entry.task);
  return one(entry.task, true);
}

bool match_status(const std::vector<std::string>& wanted, ts s) {
  if (wanted.empty())
    return true;
  for (auto& w : wanted) {
    std::stringstream ss(w);
    std::string item;
    while (std::getline(ss, item, ','))
      if (item == model::to_string(s))
        return true;
  }
  return false;
}

tr_reply task_list(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto statuses = c.params.all("AssignmentStatus");
  for (auto& s : statuses) {
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!model::parse_task_status(item))
        return fail(model::invalid_parameter("AssignmentStatus '" + item + "' is not a task status"));
  }
  auto wf = c.params.get("WorkflowSid");
  auto wfn = c.params.get("WorkflowName");
  auto q = c.params.get("TaskQueueSid");
  auto qn = c.params.get("TaskQueueName");
  auto target = c.params.get("RoutingTarget");
  auto prio = c.params.get_int("Priority", 0, 2147483647);
  if (!prio)
    return fail(prio.err());
  std::shared_ptr<const model::expression> expr;
  if (auto e = c.params.get("EvaluateTaskAttributes")) {
    auto parsed = model::expression::parse(*e);
    if (!parsed)
      return fail(model::invalid_parameter("EvaluateTaskAttributes: " + parsed.err().message));
    expr = std::make_shared<const model::expression>(std::move(*parsed));
  }
  // Ordering: comma-separated Attribute:asc|desc over DateCreated, Priority
  // and VirtualStartTime (DateCreated and VirtualStartTime not together).
  struct order_key {
    int attribute; // 0 DateCreated, 1 Priority, 2 VirtualStartTime
    bool descending;
  };
  std::vector<order_key> ordering;
  if (auto o = c.params.get("Ordering")) {
    std::stringstream ss(*o);
    std::string item;
    bool date = false, vstart = false;
    while (std::getline(ss, item, ',')) {
      auto colon = item.find(':');
      auto attr = item.substr(0, colon);
      auto dir = colon == std::string::npos ? std::string("asc") : item.substr(colon + 1);
      int a = attr == "DateCreated" ? 0 : attr == "Priority" ? 1 : attr == "VirtualStartTime" ? 2 : -1;
      if (a < 0 || (dir != "asc" && dir != "desc"))
        return fail(model::invalid_parameter("Ordering '" + item + "' must be DateCreated, Priority or VirtualStartTime followed by :asc or :desc"));
      date = date || a == 0;
      vstart = vstart || a == 2;
      ordering.push_back({a, dir == "desc"});
    }
    if (date && vstart)
      return fail(model::invalid_parameter("Ordering cannot combine DateCreated and VirtualStartTime"));
  }
  auto keep = [&](const std::string& sid) {
    auto& e = st.tasks.at(sid);
    auto& t = e.task;
    if (!match_status(statuses, t.status))
      return false;
    if ((wf && t.workflow_sid != *wf) || (wfn && t.workflow_friendly_name != *wfn) ||
        (q && t.queue_sid != *q) || (qn && t.queue_friendly_name != *qn) ||
        (target && t.routing_target != *target) || (*prio && t.priority != **prio))
      return false;
    if (expr) {
      model::expression_context ctx;
      ctx.task = e.attributes.get();
      ctx.default_scope = "task";
      if (!expr->evaluate(ctx))
        return false;
    }
    return true;
  };
  auto make = [&](const std::string& sid) { return resource{st.tasks.at(sid).task}; };
  std::vector<std::string> sids;
  sids.reserve(st.task_order.size());
  for (auto& [o, sid] : st.task_order)
    sids.push_back(sid);
  if (!ordering.empty())
    std::stable_sort(sids.begin(), sids.end(), [&](const std::string& a, const std::string& b) {
      auto& x = st.tasks.at(a).task;
      auto& y = st.tasks.at(b).task;
      for (auto& k : ordering) {
        int cmp = 0;
        if (k.attribute == 0)
          cmp = x.order < y.order ? -1 : (x.order > y.order ? 1 : 0);
        else if (k.attribute == 1)
          cmp = x.priority < y.priority ? -1 : (x.priority > y.priority ? 1 : 0);
        else
          cmp = x.virtual_start < y.virtual_start ? -1 : (x.virtual_start > y.virtual_start ? 1 : 0);
        if (cmp != 0)
          return k.descending ? cmp > 0 : cmp < 0;
      }
      return false;
    });
  return paginate(sids, c.page, keep, make);
}

tr_reply task_update(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto it = st.tasks.find(c.sid);
  if (it == st.tasks.end())
    return fail(missing());
  auto& e = it->second;
  if (auto u = c.params.first_unknown({"Attributes", "AssignmentStatus", "Reason", "Priority",
                                       "TaskChannel", "VirtualStartTime"}))
    return fail(model::invalid_parameter("Unknown parameter " + *u));
  if (!c.if_match.empty() && c.if_match != std::to_string(e.task.version))
    return fail(model::error{errc::precondition_failed, 20412, "If-Match does not match the task's current version"});
  if (model::is_final(e.task.status))
    return fail(model::invalid_parameter("Task " + e.task.sid + " is " + model::to_string(e.task.status) + " and cannot be updated", 20001));
  // Validate everything before changing anything.
  json_ptr attrs;
  if (auto a = c.params.get("Attributes")) {
    auto parsed = parse_attributes(*a, 65536);
    if (!parsed)
      return fail(parsed.err());
    attrs = *parsed;
  }
  auto prio = c.params.get_int("Priority", 0, 2147483647);
  if (!prio)
    return fail(prio.err());
  std::optional<ts> target;
  if (auto s = c.params.get("AssignmentStatus")) {
    target = model::parse_task_status(*s);
    if (!target)
      return fail(model::invalid_parameter("AssignmentStatus '" + *s + "' is not a task status"));
    auto cur = e.task.status;
    bool ok = (*target == ts::canceled && (cur == ts::pending || cur == ts::reserved)) ||
              (*target == ts::wrapping && cur == ts::assigned) ||
              (*target == ts::completed && (cur == ts::assigned || cur == ts::wrapping)) ||
              *target == cur;
    if (!ok)
      return fail(model::invalid_parameter(std::string("Cannot change a task from ") +
                                           model::to_string(cur) + " to " + model::to_string(*target)));
  }
  auto reason = c.params.get("Reason").value_or("");
  if (attrs) {
    e.attributes = attrs;
    e.task.attributes = *c.params.get("Attributes");
  }
  if (*prio)
    e.task.priority = static_cast<int>(**prio);
  e.task.updated = now();
  ++e.task.version;
  bool reroute = (attrs || *prio) && e.task.status == ts::pending && !target;
  if (attrs || *prio)
    record(self, task_event(e, "task.updated", "Task updated"));
  if (target && *target != e.task.status) {
    if (*target == ts::canceled) {
      cancel_task(self, e, reason.empty() ? "Task canceled" : reason, "Task canceled");
    } else {
      end_reservation_of(self, e, e.task.reservation_sid,
                         *target == ts::wrapping ? rs::wrapping : rs::completed, reason);
      if (*target == ts::completed)
        count_reservation(st, "completed");
      finish_task(self, e, *target, reason);
    }
  }
  if (reroute) {
    // New attributes or priority re-enter the workflow from its first filter.
    if (e.queue)
      self->send(e.queue, forget_task{e.task.sid});
    e.queue = caf::actor{};
    start_routing(self, e, {});
  }
  return one(e.task);
}

tr_reply task_delete(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto it = st.tasks.find(c.sid);
  if (it == st.tasks.end())
    return fail(missing());
  auto& e = it->second;
  if (!c.if_match.empty() && c.if_match != std::to_string(e.task.version))
    return fail(model::error{errc::precondition_failed, 20412, "If-Match does not match the task's current version"});
  if (e.task.status == ts::assigned || e.task.status == ts::wrapping)
    return fail(model::invalid_parameter("An assigned task cannot be deleted; complete it first", 20001));
  if (!model::is_final(e.task.status))
    cancel_task(self, e, "Task deleted", "Task deleted");
  record(self, task_event(e, "task.deleted", "Task deleted"));
  delete_task_record(st, c.sid);
  return tr_reply{std::monostate{}};
}

// -------------------------------------------------------- API: statistics --

nlohmann::json activity_statistics(workspace_state& st) {
  std::map<std::string, std::size_t> counts;
  for (auto& [sid, w] : st.workers)
    ++counts[w.worker.activity_sid];
  auto out = nlohmann::json::array();
  for (auto& a : st.activities)
    out.push_back({{"sid", a.sid}, {"friendly_name", a.friendly_name}, {"workers", counts[a.sid]}});
  return out;
}

nlohmann::json task_statistics(workspace_state& st, const std::function<bool(const model::task&)>& keep) {
  nlohmann::json by_status{{"pending", 0}, {"reserved", 0}, {"assigned", 0}, {"wrapping", 0},
                           {"completed", 0}, {"canceled", 0}};
  nlohmann::json by_priority = nlohmann::json::object();
  std::size_t total = 0;
  const model::task* oldest = nullptr;
  for (auto& [o, sid] : st.task_order) {
    auto& t = st.tasks.at(sid).task;
    if (!keep(t))
      continue;
    ++total;
    by_status[model::to_string(t.status)] = by_status[model::to_string(t.status)].get<int>() + 1;
    if (t.status == ts::pending) {
      auto k = std::to_string(t.priority);
      by_priority[k] = by_priority.value(k, 0) + 1;
      if (!oldest)
        oldest = &t;
    }
  }
  nlohmann::json out{{"tasks_by_status", by_status}, {"tasks_by_priority", by_priority},
                     {"total_tasks", total}};
  out["longest_task_waiting_sid"] = oldest ? nlohmann::json(oldest->sid) : nlohmann::json();
  out["longest_task_waiting_age"] =
    oldest ? std::chrono::duration_cast<std::chrono::seconds>(now() - oldest->created).count() : 0;
  return out;
}

// The time window of cumulative statistics: Minutes, or StartDate/EndDate;
// Twilio's default is the last 15 minutes.
struct stats_window {
  model::time_point start, end;
};

model::expected<stats_window> window_of(const model::form& p) {
  stats_window w{now() - std::chrono::minutes(15), now()};
  auto minutes = p.get_int("Minutes", 1, 43200);
  if (!minutes)
    return minutes.err();
  if (*minutes)
    w.start = w.end - std::chrono::minutes(**minutes);
  if (auto s = p.get("StartDate")) {
    auto t = model::parse_iso8601(*s);
    if (!t)
      return model::invalid_parameter("StartDate must be an ISO-8601 date");
    w.start = *t;
  }
  if (auto e = p.get("EndDate")) {
    auto t = model::parse_iso8601(*e);
    if (!t)
      return model::invalid_parameter("EndDate must be an ISO-8601 date");
    w.end = *t;
  }
  if (w.end < w.start)
    return model::invalid_parameter("EndDate must not be before StartDate");
  return w;
}

// What a statistics request narrows its figures to: the time window (for the
// cumulative part) and, with TaskChannel, one task channel's tasks and events;
// and the SplitByWaitTime thresholds to split waits at.
struct stats_query {
  stats_window window;
  std::string channel_sid, channel_name; // empty: every channel
  std::vector<long long> split;          // whole seconds, ascending, distinct

  bool keeps(const model::task& t) const {
    return channel_sid.empty() || t.task_channel_sid == channel_sid;
  }
  bool keeps(const model::event& e) const {
    return channel_name.empty() || e.task_channel == channel_name;
  }
};

// SplitByWaitTime: comma-separated whole seconds ("5,30"), each 0 or more.
model::expected<std::vector<long long>> wait_thresholds(const model::form& p) {
  std::vector<long long> out;
  auto text = p.get("SplitByWaitTime");
  if (!text)
    return out;
  std::string_view rest = *text;
  for (;;) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    long long n = -1;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
    if (item.empty() || ec != std::errc{} || end != item.data() + item.size() || n < 0 ||
        n > 2147483647)
      return model::invalid_parameter(
        "SplitByWaitTime must be a comma-separated list of whole seconds (0 to 2147483647), got '" +
        *text + "'");
    out.push_back(n);
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Whether Twilio takes SplitByWaitTime on the operation: the cumulative and
// combined statistics of the workspace, queues and workflows.
bool takes_split(tr_op op) {
  switch (op) {
    case tr_op::workspace_statistics: case tr_op::workspace_cumulative_statistics:
    case tr_op::queue_statistics: case tr_op::queue_cumulative_statistics:
    case tr_op::queues_statistics:
    case tr_op::workflow_statistics: case tr_op::workflow_cumulative_statistics:
      return true;
    default:
      return false;
  }
}

// TaskChannel is a channel's unique name or its TC SID; an unknown one is an
// invalid parameter, as on task creation.
model::expected<stats_query> stats_query_of(workspace_state& st, const tr_call& c) {
  auto& p = c.params;
  auto window = window_of(p);
  if (!window)
    return window.err();
  stats_query q{*window, {}, {}, {}};
  if (auto name = p.get("TaskChannel")) {
    auto* ch = find_channel(st, *name);
    if (!ch)
      return model::invalid_parameter("TaskChannel " + *name + " is not a task channel of this workspace");
    q.channel_sid = ch->sid;
    q.channel_name = ch->unique_name;
  }
  if (takes_split(c.op)) {
    auto split = wait_thresholds(p);
    if (!split)
      return split.err();
    q.split = std::move(*split);
  }
  return q;
}

// The call an entity actor (queue, worker) answers statistics from: the
// channel already resolved to its unique name, nothing else of the client's.
tr_call narrowed_call(const tr_call& c, const stats_query& q) {
  tr_call out = c;
  out.params = model::form{};
  if (!q.channel_name.empty())
    out.params.add("TaskChannel", q.channel_name);
  return out;
}

// Seconds from the creation of the event's task to the event.
double task_wait(const model::event& e) {
  return std::chrono::duration<double>(e.date - e.task_created).count();
}

// split_by_wait_time: for each threshold, how many reservations accepted and
// tasks canceled in the window had waited (from the task's creation) at most
// that many seconds ("below") and longer ("above"). Waits are sorted.
nlohmann::json wait_split(const std::vector<long long>& thresholds,
                          const std::vector<double>& accepted, const std::vector<double>& canceled) {
  auto at_most = [](const std::vector<double>& waits, double limit) {
    return static_cast<std::size_t>(std::upper_bound(waits.begin(), waits.end(), limit) - waits.begin());
  };
  auto out = nlohmann::json::object();
  for (auto t : thresholds) {
    auto a = at_most(accepted, static_cast<double>(t));
    auto c = at_most(canceled, static_cast<double>(t));
    out[std::to_string(t)] = {
      {"below", {{"reservations_accepted", a}, {"tasks_canceled", c}}},
      {"above", {{"reservations_accepted", accepted.size() - a}, {"tasks_canceled", canceled.size() - c}}}};
  }
  return out;
}

// Counts, from the event log, what happened in the window among the events
// of the requested channel that keep accepts. The average acceptance time is
// over the reservations accepted in the window, each from its task's creation.
nlohmann::json cumulative(workspace_state& st, const stats_query& q,
                          const std::function<bool(const model::event&)>& keep) {
  std::map<std::string, std::uint64_t> n;
  std::vector<double> accepted, canceled; // waits in seconds
  for (auto it = st.events.rbegin(); it != st.events.rend(); ++it) {
    auto& e = **it;
    if (e.date < q.window.start)
      break;
    if (e.date > q.window.end || !q.keeps(e) || !keep(e))
      continue;
    ++n[e.event_type];
    if (e.task_created == model::time_point{})
      continue;
    if (e.event_type == "reservation.accepted")
      accepted.push_back(task_wait(e));
    else if (e.event_type == "task.canceled")
      canceled.push_back(task_wait(e));
  }
  double acceptance_total = 0;
  for (auto w : accepted)
    acceptance_total += w;
  std::sort(accepted.begin(), accepted.end());
  std::sort(canceled.begin(), canceled.end());
  nlohmann::json out{{"tasks_created", n["task.created"]},
                     {"tasks_canceled", n["task.canceled"]},
                     {"tasks_completed", n["task.completed"]},
                     {"tasks_deleted", n["task.deleted"]},
                     {"tasks_moved", 0},
                     {"tasks_entered", n["task-queue.entered"]},
                     {"tasks_timed_out_in_workflow", n["workflow.timeout"]},
                     {"reservations_created", n["reservation.created"]},
                     {"reservations_accepted", n["reservation.accepted"]},
                     {"reservations_rejected", n["reservation.rejected"]},
                     {"reservations_timed_out", n["reservation.timeout"]},
                     {"reservations_canceled", n["reservation.canceled"]},
                     {"reservations_rescinded", n["reservation.rescinded"]},
                     {"avg_task_acceptance_time",
                      accepted.empty() ? 0 : static_cast<long long>(acceptance_total / accepted.size())},
                     {"split_by_wait_time", wait_split(q.split, accepted, canceled)},
                     {"wait_duration_until_accepted", nlohmann::json::object()},
                     {"wait_duration_until_canceled", nlohmann::json::object()}};
  out["start_time"] = model::iso8601(q.window.start);
  out["end_time"] = model::iso8601(q.window.end);
  return out;
}

bool any_event(const model::event&) { return true; }

tr_reply statistics_op(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto query = stats_query_of(st, c);
  if (!query)
    return fail(query.err());
  auto& q = *query;
  auto cumulative_all = [&] { return cumulative(st, q, any_event); };
  // Task figures count the requested channel's tasks; every worker has every
  // channel, so worker figures stay whole.
  auto tasks = [&](std::function<bool(const model::task&)> keep) {
    return task_statistics(st, [&](const model::task& t) { return q.keeps(t) && keep(t); });
  };
  auto realtime = [&](std::function<bool(const model::task&)> keep) {
    auto doc = tasks(std::move(keep));
    doc["activity_statistics"] = activity_statistics(st);
    doc["total_workers"] = st.workers.size();
    return doc;
  };
  auto all = [](const model::task&) { return true; };
  switch (c.op) {
    case tr_op::workspace_statistics:
      return one(statistics{{{"realtime", realtime(all)}, {"cumulative", cumulative_all()}}});
    case tr_op::workspace_realtime_statistics:
      return one(statistics{realtime(all)});
    case tr_op::workspace_cumulative_statistics:
      return one(statistics{cumulative_all()});
    case tr_op::workers_statistics: {
      nlohmann::json rt{{"activity_statistics", activity_statistics(st)},
                        {"total_workers", st.workers.size()}};
      return one(statistics{{{"realtime", rt}, {"cumulative", cumulative_all()}}});
    }
    case tr_op::workers_realtime_statistics:
      return one(statistics{{{"activity_statistics", activity_statistics(st)},
                             {"total_workers", st.workers.size()}}});
    case tr_op::workers_cumulative_statistics:
      return one(statistics{cumulative_all()});
    case tr_op::workflow_statistics:
    case tr_op::workflow_realtime_statistics:
    case tr_op::workflow_cumulative_statistics: {
      auto* w = find_workflow(st, c.sid);
      if (!w)
        return fail(missing());
      auto sid = w->workflow.sid;
      auto rt = tasks([&](const model::task& t) { return t.workflow_sid == sid; });
      rt["workflow_sid"] = sid;
      auto cu = cumulative(st, q, [&](const model::event& e) { return e.workflow_sid == sid; });
      cu["workflow_sid"] = sid;
      if (c.op == tr_op::workflow_realtime_statistics)
        return one(statistics{rt});
      if (c.op == tr_op::workflow_cumulative_statistics)
        return one(statistics{cu});
      return one(statistics{{{"realtime", rt}, {"cumulative", cu}, {"workflow_sid", sid}}});
    }
    default:
      return fail(missing());
  }
}

nlohmann::json queue_cumulative(workspace_state& st, const stats_query& q,
                                const workspace_state::queue_entry& entry) {
  auto sid = entry.queue.sid;
  auto cu = cumulative(st, q, [&](const model::event& e) { return e.queue_sid == sid; });
  cu["task_queue_sid"] = sid;
  return cu;
}

// ------------------------------------------------------------ API: events --

tr_reply event_list(self_ptr self, const tr_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  auto type = p.get("EventType");
  auto task = p.get("TaskSid");
  auto worker = p.get("WorkerSid");
  auto res = p.get("ReservationSid");
  auto queue = p.get("TaskQueueSid");
  auto workflow = p.get("WorkflowSid");
  auto channel = p.get("TaskChannel");
  auto sid = p.get("Sid");
  std::optional<model::time_point> start, end;
  if (auto s = p.get("StartDate")) {
    start = model::parse_iso8601(*s);
    if (!start)
      return fail(model::invalid_parameter("StartDate must be an ISO-8601 date"));
  }
  if (auto e = p.get("EndDate")) {
    end = model::parse_iso8601(*e);
    if (!end)
      return fail(model::invalid_parameter("EndDate must be an ISO-8601 date"));
  }
  auto minutes = p.get_int("Minutes", 1, 43200);
  if (!minutes)
    return fail(minutes.err());
  if (*minutes)
    start = now() - std::chrono::minutes(**minutes);
  // Newest first, as Twilio lists events.
  std::vector<const model::event*> rev;
  rev.reserve(st.events.size());
  for (auto it = st.events.rbegin(); it != st.events.rend(); ++it)
    rev.push_back(it->get());
  return paginate(rev, c.page,
                  [&](const model::event* e) {
                    return (!type || e->event_type == *type) && (!task || e->task_sid == *task) &&
                           (!worker || e->worker_sid == *worker) &&
                           (!res || e->reservation_sid == *res) &&
                           (!queue || e->queue_sid == *queue) &&
                           (!workflow || e->workflow_sid == *workflow) &&
                           (!channel || e->task_channel == *channel) && (!sid || e->sid == *sid) &&
                           (!start || e->date >= *start) && (!end || e->date <= *end);
                  },
                  [](const model::event* e) { return resource{*e}; });
}

// Applies a ReservationStatus change's WorkerActivitySid here, where
// activities live, and forwards the call to the worker holding it.
void forward_reservation(self_ptr self, tr_call& c, const std::string& worker_sid) {
  auto& st = self->state;
  auto w = st.workers.find(worker_sid);
  if (w == st.workers.end()) {
    self->make_response_promise<tr_reply>().deliver(fail(missing()));
    return;
  }
  if (auto a = c.params.get("WorkerActivitySid")) {
    auto* act = activity_of(st, *a);
    if (!act) {
      self->make_response_promise<tr_reply>().deliver(
        fail(model::invalid_parameter("WorkerActivitySid " + *a + " is not an activity of this workspace")));
      return;
    }
    c.params.add("__ActivitySid", act->sid);
    c.params.add("__ActivityName", act->friendly_name);
    c.params.add("__ActivityAvailable", act->available ? "true" : "false");
  }
  forward_to_worker(self, w->second.actor, std::move(c), true);
}

// The entity kind an API change of configuration or tasks writes, if any.
std::optional<std::size_t> kind_changed_by(tr_op op) {
  switch (op) {
    case tr_op::workspace_update: return kind::workspace;
    case tr_op::activity_create: case tr_op::activity_update: case tr_op::activity_delete:
      return kind::activity;
    case tr_op::channel_create: case tr_op::channel_update: case tr_op::channel_delete:
      return kind::task_channel;
    case tr_op::queue_create: case tr_op::queue_update: case tr_op::queue_delete:
      return kind::task_queue;
    case tr_op::workflow_create: case tr_op::workflow_update: case tr_op::workflow_delete:
      return kind::workflow;
    case tr_op::worker_create: case tr_op::worker_delete:
      return kind::worker;
    case tr_op::task_create: case tr_op::task_update: case tr_op::task_delete:
      return kind::task;
    default:
      return std::nullopt;
  }
}

void handle_call(self_ptr self, tr_call& c) {
  auto& st = self->state;
  // A successful change marks the entity it touched for the store; a delete
  // names its entity by SID before it goes (channels may be named by unique name).
  auto changed = kind_changed_by(c.op);
  std::string target_sid = c.sid;
  if (c.op == tr_op::workspace_update)
    target_sid = st.workspace.sid;
  else if (c.op == tr_op::channel_delete || c.op == tr_op::channel_update)
    if (auto* ch = find_channel(st, c.sid))
      target_sid = ch->sid;
  auto reply = [&](tr_reply r) {
    if (changed && !std::holds_alternative<model::error>(r.value)) {
      auto sid = target_sid;
      if (auto* res = std::get_if<resource>(&r.value))
        std::visit([&](const auto& x) {
          if constexpr (requires { x.sid; })
            sid = x.sid;
        }, *res);
      mark(st, *changed, sid);
    }
    answer(self, self->make_response_promise<tr_reply>(), std::move(r), changed.has_value());
  };
  switch (c.op) {
    case tr_op::workspace_fetch:
      return reply(one(st.workspace));
    case tr_op::workspace_update:
      return reply(update_workspace(self, c));
    case tr_op::activity_create: case tr_op::activity_list: case tr_op::activity_fetch:
    case tr_op::activity_update: case tr_op::activity_delete:
      return reply(activity_op(self, c));
    case tr_op::channel_create: case tr_op::channel_list: case tr_op::channel_fetch:
    case tr_op::channel_update: case tr_op::channel_delete:
      return reply(channel_op(self, c));
    case tr_op::queue_create: case tr_op::queue_list: case tr_op::queue_fetch:
    case tr_op::queue_update: case tr_op::queue_delete:
      return reply(queue_op(self, c));
    case tr_op::queue_statistics:
    case tr_op::queue_realtime_statistics:
    case tr_op::queue_cumulative_statistics: {
      auto* q = find_queue(st, c.sid);
      if (!q)
        return reply(fail(missing()));
      auto query = stats_query_of(st, c);
      if (!query)
        return reply(fail(query.err()));
      if (c.op == tr_op::queue_cumulative_statistics)
        return reply(one(statistics{queue_cumulative(st, *query, *q)}));
      auto rp = self->make_response_promise<tr_reply>();
      auto cu = queue_cumulative(st, *query, *q);
      auto activities = activity_statistics(st);
      bool realtime_only = c.op == tr_op::queue_realtime_statistics;
      auto sid = q->queue.sid;
      // The queue counts its own waiting tasks, of the requested channel only.
      self->request(q->actor, std::chrono::seconds(10), narrowed_call(c, *query))
        .then(
          [=](tr_reply& r) mutable {
            auto* res = std::get_if<resource>(&r.value);
            auto* stats = res ? std::get_if<statistics>(res) : nullptr;
            if (!stats) {
              rp.deliver(std::move(r));
              return;
            }
            auto rt = std::move(stats->doc);
            // waiting_in_order stays: supervisors read the queue order from it.
            rt["activity_statistics"] = activities;
            if (realtime_only)
              rp.deliver(one(statistics{std::move(rt)}));
            else
              rp.deliver(one(statistics{{{"realtime", rt}, {"cumulative", cu}, {"task_queue_sid", sid}}}));
          },
          [=](caf::error&) mutable {
            rp.deliver(fail(model::error{errc::unavailable, 20503, "TaskQueue did not answer"}));
          });
      return;
    }
    case tr_op::queues_statistics: {
      auto name = c.params.get("FriendlyName");
      auto query = stats_query_of(st, c);
      if (!query)
        return reply(fail(query.err()));
      return reply(paginate(st.queues, c.page,
                            [&](const workspace_state::queue_entry& q) {
                              return !name || q.queue.friendly_name == *name;
                            },
                            [&](const workspace_state::queue_entry& q) {
                              auto rt = task_statistics(st, [&](const model::task& t) {
                                return t.queue_sid == q.queue.sid && query->keeps(t);
                              });
                              return resource{statistics{{{"task_queue_sid", q.queue.sid},
                                                          {"realtime", rt},
                                                          {"cumulative", queue_cumulative(st, *query, q)}}}};
                            }));
    }
    case tr_op::worker_create:
      return reply(worker_create(self, c));
    case tr_op::worker_list:
      return reply(worker_list(self, c));
    case tr_op::worker_fetch: {
      auto it = st.workers.find(c.sid);
      return reply(it == st.workers.end() ? fail(missing()) : one(it->second.worker));
    }
    case tr_op::worker_update:
      return worker_update(self, c);
    case tr_op::worker_delete:
      return reply(worker_delete(self, c));
    case tr_op::worker_statistics: {
      auto it = st.workers.find(c.sid);
      if (it == st.workers.end())
        return reply(fail(missing()));
      auto query = stats_query_of(st, c);
      if (!query)
        return reply(fail(query.err()));
      // The worker counts its own reservations, of the requested channel only.
      self->delegate(it->second.actor, narrowed_call(c, *query));
      return;
    }
    case tr_op::worker_channel_list: case tr_op::worker_channel_fetch:
    case tr_op::worker_channel_update:
    case tr_op::worker_reservation_list: case tr_op::worker_reservation_fetch: {
      auto it = st.workers.find(c.sid);
      if (it == st.workers.end())
        return reply(fail(missing()));
      bool change = c.op == tr_op::worker_channel_update;
      forward_to_worker(self, it->second.actor, std::move(c), change);
      return;
    }
    case tr_op::worker_reservation_update:
      return forward_reservation(self, c, c.sid);
    case tr_op::workers_statistics: case tr_op::workers_realtime_statistics:
    case tr_op::workers_cumulative_statistics:
    case tr_op::workspace_statistics: case tr_op::workspace_realtime_statistics:
    case tr_op::workspace_cumulative_statistics:
    case tr_op::workflow_statistics: case tr_op::workflow_realtime_statistics:
    case tr_op::workflow_cumulative_statistics:
      return reply(statistics_op(self, c));
    case tr_op::workflow_create: case tr_op::workflow_list: case tr_op::workflow_fetch:
    case tr_op::workflow_update: case tr_op::workflow_delete:
      return reply(workflow_op(self, c));
    case tr_op::task_create:
      return reply(task_create(self, c));
    case tr_op::task_list:
      return reply(task_list(self, c));
    case tr_op::task_fetch: {
      auto it = st.tasks.find(c.sid);
      return reply(it == st.tasks.end() ? fail(missing()) : one(it->second.task));
    }
    case tr_op::task_update:
      return reply(task_update(self, c));
    case tr_op::task_delete:
      return reply(task_delete(self, c));
    case tr_op::task_reservation_list:
    case tr_op::task_reservation_fetch:
    case tr_op::task_reservation_update: {
      auto it = st.tasks.find(c.sid);
      if (it == st.tasks.end())
        return reply(fail(missing()));
      auto& e = it->second;
      if (c.op == tr_op::task_reservation_list) {
        std::optional<rs> want;
        if (auto s = c.params.get("ReservationStatus")) {
          want = model::parse_reservation_status(*s);
          if (!want)
            return reply(fail(model::invalid_parameter("ReservationStatus '" + *s + "' is not a reservation status")));
        }
        auto worker = c.params.get("WorkerSid");
        return reply(paginate(e.reservations, c.page,
                              [&](const model::reservation& r) {
                                return (!want || r.status == *want) &&
                                       (!worker || r.worker_sid == *worker);
                              },
                              [](const model::reservation& r) { return resource{r}; }));
      }
      const model::reservation* found = nullptr;
      for (auto& r : e.reservations)
        if (r.sid == c.sub_sid)
          found = &r;
      if (!found)
        return reply(fail(missing()));
      if (c.op == tr_op::task_reservation_fetch)
        return reply(one(*found));
      return forward_reservation(self, c, found->worker_sid);
    }
    case tr_op::event_list:
      return reply(event_list(self, c));
    case tr_op::event_fetch: {
      for (auto& e : st.events)
        if (e->sid == c.sid)
          return reply(one(*e));
      return reply(fail(missing()));
    }
    default:
      return reply(fail(missing()));
  }
}

caf::behavior workspace_behavior(self_ptr self);

// Sends a recovered pending task back into routing where it was: straight to
// its queue, or to the workflow target it waited in, with the time already
// spent there counted against that target's timeout.
void resume_routing(self_ptr self, workspace_state::task_entry& e, model::time_point t,
                    const std::unordered_map<std::string, caf::actor>& queues) {
  auto& st = self->state;
  auto& task = e.task;
  if (task.routing_filter == direct_route) {
    start_routing(self, e, task.queue_sid);
    return;
  }
  auto* wf = find_workflow(st, task.workflow_sid);
  if (!wf) {
    start_routing(self, e, {}); // its workflow is gone: nothing to resume
    return;
  }
  // A task that had not reached a target yet starts at its filter's first.
  bool fresh = task.routing_filter == -2 || task.routing_step < 0;
  route_task r;
  r.task_sid = task.sid;
  r.attributes = e.attributes;
  r.channel_name = task.task_channel_unique_name;
  r.priority = task.priority;
  r.order = task.order;
  r.ignore_capacity = task.ignore_capacity;
  r.filter = fresh ? -2 : task.routing_filter;
  r.target = fresh ? -1 : task.routing_step - 1;
  r.resumed = !fresh;
  if (!fresh)
    r.elapsed_ms = std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(t - task.queue_entered).count());
  // Straight to the queue, not through the workflow actor: every queue then
  // holds all of its recovered tasks before the first worker (spawned after
  // this) tells it it is available, so the highest priority is offered first.
  auto planned = plan_route(wf->workflow, *wf->config, queues, std::move(r), wf->actor);
  if (!planned) {
    self->send(caf::actor_cast<caf::actor>(self), workflow_timed_out{task.sid});
    return;
  }
  self->send(planned->first, std::move(planned->second));
}

// ---------------------------------------------------------------- recovery --

// Rebuilds the workspace from what the store kept. Pending tasks are routed
// again from the workflow target they were waiting in (its timeout counting
// the time already spent); a reservation that was still pending is rescinded
// and its task waits again in its old place; accepted and wrapping
// reservations stay with their workers, holding capacity; TTL and retention
// timers are re-armed with what is left of them.
void restore(self_ptr self, const store::workspace_image& img) {
  auto& st = self->state;
  auto self_actor = caf::actor_cast<caf::actor>(self);
  auto t = now();
  st.activities = img.activities;
  st.channels = img.channels;
  for (auto& q : img.queues) {
    workspace_state::queue_entry e;
    e.queue = q;
    auto expr = model::expression::parse(q.target_workers);
    if (expr)
      e.target = std::make_shared<const model::expression>(*expr);
    e.actor = self->spawn(queue_actor, e.queue, self_actor);
    self->link_to(e.actor);
    self->send(e.actor, queue_config_of(st, e.queue));
    st.queues.push_back(std::move(e));
  }
  reindex(st);
  std::vector<std::pair<std::string, caf::actor>> qs;
  for (auto& q : st.queues)
    qs.emplace_back(q.queue.sid, q.actor);
  for (auto& wf : img.workflows) {
    auto cfg = parse_config(st, wf.configuration);
    if (!cfg) {
      caf::aout(self) << "workspace " << st.workspace.sid << ": workflow " << wf.sid
                      << " has a configuration that no longer parses (" << cfg.err().message
                      << "); it routes nothing until updated" << std::endl;
      continue;
    }
    workspace_state::workflow_entry e{wf, *cfg, {}};
    e.actor = self->spawn(workflow_actor, workflow_setup{wf, *cfg, qs, self_actor});
    self->link_to(e.actor);
    st.workflows.push_back(std::move(e));
  }
  reindex(st);
  // Tasks, with their reservations.
  for (auto& task : img.tasks) {
    workspace_state::task_entry e;
    e.task = task;
    auto attrs = parse_attributes(task.attributes, 65536);
    e.attributes = attrs ? *attrs : std::make_shared<const nlohmann::json>(nlohmann::json::object());
    st.next_order = std::max(st.next_order, task.order + 1);
    st.task_order.emplace(task.order, task.sid);
    st.tasks.emplace(task.sid, std::move(e));
  }
  st.events.assign(img.events.begin(), img.events.end());
  std::unordered_map<std::string, restore_reservations> by_worker;
  for (auto& r : img.reservations) {
    auto it = st.tasks.find(r.task_sid);
    if (it == st.tasks.end()) {
      mark_reservation(st, r.sid, r.task_sid); // its task is gone: drop it
      continue;
    }
    auto& e = it->second;
    auto res = r;
    bool holds = (res.status == rs::accepted && e.task.status == ts::assigned) ||
                 (res.status == rs::wrapping && e.task.status == ts::wrapping);
    if (res.status == rs::pending || (is_active(res.status) && !holds)) {
      res.status = rs::rescinded;
      res.updated = t;
      mark_reservation(st, res.sid, e.task.sid);
      record(self, reservation_event(e, res, "reservation.rescinded",
                                     "Reservation rescinded: the server restarted before it was answered"));
    }
    e.reservations.push_back(res);
    if (holds)
      by_worker[res.worker_sid].held.emplace_back(res, e.task.queue_sid);
    else
      by_worker[res.worker_sid].ended.push_back(res);
  }
  // Tasks back to routing, in their creation order.
  std::unordered_map<std::string, caf::actor> queue_actors;
  for (auto& q : st.queues)
    queue_actors.emplace(q.queue.sid, q.actor);
  for (auto& [order, sid] : st.task_order) {
    auto& e = st.tasks.at(sid);
    auto& task = e.task;
    if (model::is_final(task.status)) {
      auto left = task.updated + st.options.task_retention - t;
      if (left <= decltype(left)::zero())
        st.retention.schedule(self, sid, std::chrono::milliseconds(0));
      else
        st.retention.schedule(self, sid, std::chrono::duration_cast<std::chrono::milliseconds>(left));
      continue;
    }
    if (task.status == ts::reserved) {
      task.worker_sid.clear();
      task.reservation_sid.clear();
      task.status = ts::pending;
      task.updated = t;
      ++task.version;
      mark(st, kind::task, sid);
    }
    if (task.status != ts::pending)
      continue; // assigned or wrapping: its worker holds it
    if (auto* g = pending_gauge(st, task.queue_sid))
      g->Increment();
    auto ttl_left = task.created + std::chrono::seconds(task.timeout) - t;
    if (ttl_left <= decltype(ttl_left)::zero()) {
      cancel_task(self, e, "Task TTL Exceeded", "Task canceled: TTL exceeded");
      continue;
    }
    st.ttl.schedule(self, sid, std::chrono::duration_cast<std::chrono::milliseconds>(ttl_left));
    resume_routing(self, e, t, queue_actors);
  }
  // Workers, holding what they held.
  auto settings = settings_of(st);
  for (auto& w : img.workers) {
    auto worker = w;
    if (auto* a = activity_of(st, worker.activity_sid)) {
      worker.activity_name = a->friendly_name;
      worker.available = a->available;
    }
    for (auto& c : worker.channels)
      c.assigned_tasks = 0;
    auto attrs = parse_attributes(worker.attributes);
    workspace_state::worker_entry e{worker, attrs ? *attrs : std::make_shared<const nlohmann::json>(nlohmann::json::object()), {}, {}};
    e.actor = self->spawn(worker_actor, worker, e.attributes, self_actor, settings);
    self->link_to(e.actor);
    if (auto held = by_worker.find(worker.sid); held != by_worker.end())
      self->send(e.actor, std::move(held->second));
    caf::anon_send(e.actor, config_for(st, e)); // anonymous: its reply is not wanted
    st.worker_order.push_back(worker.sid);
    st.worker_names.emplace(worker.friendly_name, worker.sid);
    worker_gauge(st, worker.activity_name, 1);
    st.workers.emplace(worker.sid, std::move(e));
  }
}

} // namespace

caf::behavior workspace_actor(workspace_actor_type* self, model::workspace ws,
                              workspace_options options, std::string template_name,
                              std::shared_ptr<const store::workspace_image> image) {
  auto& st = self->state;
  st.workspace = std::move(ws);
  st.options = std::move(options);
  st.durable.set_store(st.options.store);
  if (image) {
    st.workspace = image->workspace;
    restore(self, *image);
    flush(self);
    st.durable.send_batch(self);
    return workspace_behavior(self);
  }
  auto t0 = st.workspace.created;
  // Defaults are a microsecond apart so that creation order keeps their order.
  int step = 0;
  for (auto [name, avail] : {std::pair{"Offline", false}, std::pair{"Available", true},
                             std::pair{"Unavailable", false}, std::pair{"Break", false}}) {
    model::activity a;
    a.sid = model::make_sid("WA");
    a.friendly_name = name;
    a.available = avail;
    a.created = a.updated = t0 + std::chrono::microseconds(step++);
    st.activities.push_back(a);
    mark(st, kind::activity, a.sid);
  }
  st.workspace.default_activity_sid = st.activities[0].sid;
  st.workspace.default_activity_name = st.activities[0].friendly_name;
  st.workspace.timeout_activity_sid = st.activities[0].sid;
  st.workspace.timeout_activity_name = st.activities[0].friendly_name;
  for (auto [unique, friendly] :
       {std::pair{"default", "Default"}, std::pair{"voice", "Voice"}, std::pair{"chat", "Chat"},
        std::pair{"sms", "SMS"}, std::pair{"video", "Video"}, std::pair{"email", "Email"}}) {
    model::task_channel ch;
    ch.sid = model::make_sid("TC");
    ch.unique_name = unique;
    ch.friendly_name = friendly;
    ch.created = ch.updated = t0 + std::chrono::microseconds(step++);
    st.channels.push_back(ch);
    mark(st, kind::task_channel, ch.sid);
  }
  mark(st, kind::workspace, st.workspace.sid);
  reindex(st);
  if (template_name == "FIFO") {
    // Twilio's FIFO template: one queue for every worker and a workflow to it.
    tr_call q;
    q.op = tr_op::queue_create;
    q.params.add("FriendlyName", "Sample Queue");
    q.params.add("TargetWorkers", "1==1");
    auto created = queue_op(self, q);
    if (auto* res = std::get_if<resource>(&created.value)) {
      auto queue_sid = std::get<model::task_queue>(*res).sid;
      tr_call w;
      w.op = tr_op::workflow_create;
      w.params.add("FriendlyName", "Default Fifo Workflow");
      w.params.add("Configuration", R"({"task_routing":{"filters":[],"default_filter":{"queue":")" +
                                      queue_sid + R"("}}})");
      auto wf = workflow_op(self, w);
      if (auto* res = std::get_if<resource>(&wf.value))
        mark(st, kind::workflow, std::get<model::workflow>(*res).sid);
      mark(st, kind::task_queue, queue_sid);
    }
  }
  flush(self);
  st.durable.send_batch(self);
  return workspace_behavior(self);
}

namespace {

void on_task_queued(self_ptr self, task_queued& q) {
  auto& st = self->state;
  auto it = st.tasks.find(q.task_sid);
  if (it == st.tasks.end() || it->second.task.status != ts::pending) {
    self->send(q.queue, forget_task{q.task_sid});
    return;
  }
  auto& e = it->second;
  auto* g_old = pending_gauge(st, e.task.queue_sid);
  if (g_old)
    g_old->Decrement();
  e.task.queue_sid = q.queue_sid;
  e.task.queue_friendly_name = q.queue_name;
  e.task.priority = q.priority;
  // A task resumed after a restart keeps the time it entered its target.
  if (!q.resumed)
    e.task.queue_entered = now();
  if (e.task.routing_filter != direct_route) {
    e.task.routing_filter = q.filter;
    e.task.routing_step = q.target;
  }
  if (!q.resumed)
    ++e.task.version; // a restart changes nothing a client could have seen
  mark(st, kind::task, e.task.sid);
  e.queue = q.queue;
  if (auto* g = pending_gauge(st, e.task.queue_sid))
    g->Increment();
  if (q.resumed)
    return; // it entered this target before the restart, and said so then
  auto ev = task_event(e, "workflow.target-matched", "Task matched a workflow target");
  ev.resource_type = "workflow";
  ev.resource_sid = e.task.workflow_sid;
  ev.data.emplace_back("WorkflowFilterTargetIndex", std::to_string(q.target));
  record(self, std::move(ev));
  record(self, task_event(e, "task-queue.entered", "Task entered queue " + q.queue_name));
}

void on_workflow_timed_out(self_ptr self, workflow_timed_out& w) {
  auto& st = self->state;
  auto it = st.tasks.find(w.task_sid);
  if (it == st.tasks.end() || it->second.task.status != ts::pending)
    return;
  auto& e = it->second;
  e.queue = caf::actor{};
  auto ev = task_event(e, "workflow.timeout", "Task timed out in its workflow");
  ev.resource_type = "workflow";
  ev.resource_sid = e.task.workflow_sid;
  record(self, std::move(ev));
  cancel_task(self, e, "Workflow Timeout", "Task canceled: workflow timeout");
}

void on_target_left(self_ptr self, target_left& t) {
  // A task sent straight to a queue (TaskQueueSid) has no further target.
  self->send(caf::actor_cast<caf::actor>(self), workflow_timed_out{t.task.task_sid});
}

void on_worker_snapshot(self_ptr self, worker_snapshot& s) {
  auto& st = self->state;
  auto it = st.workers.find(s.worker.sid);
  if (it == st.workers.end())
    return;
  auto& w = it->second.worker;
  if (w.activity_name != s.worker.activity_name) {
    worker_gauge(st, w.activity_name, -1);
    worker_gauge(st, s.worker.activity_name, 1);
    if (w.activity_sid != s.worker.activity_sid) {
      model::event ev;
      ev.event_type = "worker.activity.update";
      ev.description = "Worker " + s.worker.friendly_name + " updated to " + s.worker.activity_name;
      ev.resource_type = "worker";
      ev.resource_sid = ev.worker_sid = s.worker.sid;
      ev.data = {{"WorkerSid", s.worker.sid}, {"WorkerActivitySid", s.worker.activity_sid},
                 {"WorkerActivityName", s.worker.activity_name}};
      record(self, std::move(ev));
    }
  }
  // Configuration fields stay as this actor set them; runtime fields follow the worker.
  mark(st, kind::worker, s.worker.sid);
  auto attrs = w.attributes;
  auto name = w.friendly_name;
  w = std::move(s.worker);
  w.attributes = attrs;
  w.friendly_name = name;
}

void on_webhook_done(self_ptr self, webhook_done& d) {
  // Assignment callback answer: {"instruction": "accept" | "reject"}.
  auto& st = self->state;
  auto first = d.tag.find(':');
  auto second = d.tag.find(':', first + 1);
  auto task_sid = d.tag.substr(0, first);
  auto worker_sid = d.tag.substr(first + 1, second - first - 1);
  auto res_sid = d.tag.substr(second + 1);
  if (d.status < 200 || d.status >= 300)
    return;
  auto doc = nlohmann::json::parse(d.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return;
  auto instr = doc.value("instruction", std::string{});
  if (instr != "accept" && instr != "reject")
    return;
  auto w = st.workers.find(worker_sid);
  if (w == st.workers.end())
    return;
  tr_call c;
  c.op = tr_op::task_reservation_update;
  c.workspace_sid = st.workspace.sid;
  c.sid = task_sid;
  c.sub_sid = res_sid;
  c.params.add("ReservationStatus", instr == "accept" ? "accepted" : "rejected");
  caf::anon_send(w->second.actor, std::move(c));
}

void on_timers_due(self_ptr self, timers_due) {
  auto& st = self->state;
  for (auto& sid : st.ttl.due(self)) {
    auto it = st.tasks.find(sid);
    if (it == st.tasks.end())
      continue;
    auto& e = it->second;
    if (e.task.status == ts::pending || e.task.status == ts::reserved)
      cancel_task(self, e, "Task TTL Exceeded", "Task canceled: TTL exceeded");
  }
  for (auto& sid : st.retention.due(self))
    delete_task_record(st, sid);
}

caf::behavior workspace_behavior(self_ptr self) {
  return {
    [=](tr_call& c) {
      handle_call(self, c);
      settle(self);
    },
    [=](reservation_update& u) {
      on_reservation(self, u);
      settle(self);
    },
    [=](task_queued& q) {
      on_task_queued(self, q);
      settle(self);
    },
    [=](workflow_timed_out& w) {
      on_workflow_timed_out(self, w);
      settle(self);
    },
    [=](target_left& t) {
      on_target_left(self, t);
      settle(self);
    },
    [=](worker_snapshot& s) {
      on_worker_snapshot(self, s);
      settle(self);
    },
    [=](webhook_done& d) {
      on_webhook_done(self, d);
      settle(self);
    },
    [=](flush_tick) { on_flush_tick(self); },
    [=](timers_due) {
      on_timers_due(self, timers_due{});
      settle(self);
    },
  };
}

} // namespace

} // namespace sb::actors
