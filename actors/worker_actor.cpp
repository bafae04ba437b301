#include "actors/worker_actor.hpp"

#include <algorithm>
#include <chrono>

#include "model/sid.hpp"

namespace sb::actors {

namespace {

constexpr std::size_t max_history = 200;

model::time_point now() { return std::chrono::system_clock::now(); }

model::worker_view view_of(const worker_state& st) {
  model::worker_view v;
  v.sid = st.worker.sid;
  v.friendly_name = st.worker.friendly_name;
  v.attributes = st.attributes;
  v.available = st.worker.available;
  v.multi_task = st.multi_task;
  v.last_idle = st.last_idle;
  v.version = st.version;
  v.channels.reserve(st.worker.channels.size());
  for (auto& c : st.worker.channels)
    v.channels.push_back({c.task_channel_unique_name, c.configured_capacity, c.assigned_tasks, c.available});
  return v;
}

model::worker_channel* channel_of(worker_state& st, const std::string& channel_name) {
  for (auto& c : st.worker.channels)
    if (c.task_channel_unique_name == channel_name)
      return &c;
  return nullptr;
}

// Tells every eligible queue and the workspace about the worker's new state.
void publish(worker_actor_type* self) {
  auto& st = self->state;
  ++st.version;
  worker_status msg{view_of(st), caf::actor_cast<caf::actor>(self)};
  for (auto& [sid, q] : st.queues)
    self->send(q, msg);
  // The workspace's read model (and the store) track the activity and the
  // channel configuration; the load stays here.
  if (st.published_activity != st.worker.activity_sid || st.config_changed) {
    st.published_activity = st.worker.activity_sid;
    st.config_changed = false;
    self->send(st.workspace, worker_snapshot{st.worker});
  }
}

void set_activity(worker_state& st, const std::string& sid, const std::string& name,
                  bool available) {
  if (st.worker.activity_sid == sid)
    return;
  bool was = st.worker.available;
  st.worker.activity_sid = sid;
  st.worker.activity_name = name;
  st.worker.available = available;
  st.worker.status_changed = now();
  st.worker.updated = st.worker.status_changed;
  if (available && !was)
    st.last_idle = st.worker.status_changed;
}

bool has_room(const worker_state& st, const std::string& channel_name, bool ignore_capacity) {
  auto v = view_of(st);
  return v.has_room(channel_name, ignore_capacity);
}

// Ends an active reservation with status; frees its capacity unless it moves
// to wrapping (which still holds the slot).
void finish(worker_actor_type* self, const std::string& res_sid,
            model::reservation_status status, bool notify_workspace) {
  auto& st = self->state;
  auto it = st.active.find(res_sid);
  if (it == st.active.end())
    return;
  auto& ar = it->second;
  ar.reservation.status = status;
  ar.reservation.updated = now();
  st.timers.cancel(res_sid);
  if (notify_workspace)
    self->send(st.workspace, reservation_update{ar.reservation, ar.queue_sid});
  if (status == model::reservation_status::wrapping ||
      status == model::reservation_status::accepted)
    return;
  if (auto* c = channel_of(st, ar.reservation.task_channel)) {
    c->assigned_tasks = std::max(0, c->assigned_tasks - 1);
    c->updated = ar.reservation.updated;
  }
  bool idle = true;
  for (auto& c : st.worker.channels)
    if (c.assigned_tasks > 0)
      idle = false;
  if (idle)
    st.last_idle = ar.reservation.updated;
  st.by_task.erase(ar.reservation.task_sid);
  st.history.push_back(ar.reservation);
  if (st.history.size() > max_history)
    st.history.pop_front();
  st.active.erase(it);
}

const model::reservation* find_reservation(const worker_state& st, const std::string& sid) {
  if (auto it = st.active.find(sid); it != st.active.end())
    return &it->second.reservation;
  for (auto it = st.history.rbegin(); it != st.history.rend(); ++it)
    if (it->sid == sid)
      return &*it;
  return nullptr;
}

tr_reply list_reservations(const worker_state& st, const tr_call& call) {
  auto status_filter = call.params.get("ReservationStatus");
  std::optional<model::reservation_status> want;
  if (status_filter) {
    want = model::parse_reservation_status(*status_filter);
    if (!want)
      return fail(model::invalid_parameter("ReservationStatus '" + *status_filter +
                                           "' is not a reservation status"));
  }
  std::vector<const model::reservation*> all;
  for (auto& r : st.history)
    all.push_back(&r);
  for (auto& [sid, ar] : st.active)
    all.push_back(&ar.reservation);
  std::sort(all.begin(), all.end(), [](auto* a, auto* b) {
    return a->created != b->created ? a->created < b->created : a->sid < b->sid;
  });
  page_result page;
  std::size_t skipped = 0;
  for (auto* r : all) {
    if (want && r->status != *want)
      continue;
    if (!call.sub_sid.empty() && r->task_sid != call.sub_sid)
      continue;
    if (skipped++ < call.page.offset)
      continue;
    if (page.items.size() == call.page.size) {
      page.has_more = true;
      break;
    }
    page.items.emplace_back(*r);
  }
  return tr_reply{std::move(page)};
}

// ReservationStatus updates from the API (task or worker view alike).
tr_reply update_reservation(worker_actor_type* self, const tr_call& call) {
  auto& st = self->state;
  auto it = st.active.find(call.sub_sid);
  if (it == st.active.end()) {
    if (find_reservation(st, call.sub_sid))
      return fail(model::invalid_parameter("Reservation " + call.sub_sid +
                                           " is no longer active", 20001));
    return fail(model::not_found("The requested resource was not found"));
  }
  auto requested = call.params.get("ReservationStatus");
  // Activity changes that ride along with accept/reject, resolved by the workspace.
  auto apply_activity = [&] {
    if (auto a = call.params.get("__ActivitySid"))
      set_activity(st, *a, call.params.get("__ActivityName").value_or(""),
                   call.params.get("__ActivityAvailable").value_or("") == "true");
  };
  if (!requested) {
    if (auto instr = call.params.get("Instruction"); instr && *instr == "accept")
      requested = "accepted";
    else if (call.params.has("__ActivitySid")) {
      apply_activity();
      publish(self);
      return one(it->second.reservation);
    } else
      return fail(model::invalid_parameter("ReservationStatus is required"));
  }
  auto status = model::parse_reservation_status(*requested);
  if (!status)
    return fail(model::invalid_parameter("ReservationStatus '" + *requested +
                                         "' is not a reservation status"));
  auto current = it->second.reservation.status;
  using rs = model::reservation_status;
  bool ok = false;
  switch (*status) {
    case rs::accepted:
    case rs::rejected:
      ok = current == rs::pending;
      break;
    case rs::wrapping:
      ok = current == rs::accepted;
      break;
    case rs::completed:
      ok = current == rs::accepted || current == rs::wrapping;
      break;
    default:
      ok = false;
  }
  if (!ok)
    return fail(model::invalid_parameter(std::string("Cannot move a reservation from ") +
                                         model::to_string(current) + " to " +
                                         model::to_string(*status)));
  auto res_sid = call.sub_sid;
  if (*status == rs::accepted) {
    it->second.reservation.status = rs::accepted;
    it->second.reservation.updated = now();
    st.timers.cancel(res_sid);
    if (auto& a = it->second.on_accept; !a.sid.empty())
      set_activity(st, a.sid, a.name, a.available);
    apply_activity();
    self->send(st.workspace, reservation_update{it->second.reservation, it->second.queue_sid});
    publish(self);
    return one(it->second.reservation);
  }
  auto snapshot = it->second.reservation;
  snapshot.status = *status;
  snapshot.updated = now();
  finish(self, res_sid, *status, true);
  apply_activity();
  publish(self);
  return one(snapshot);
}

tr_reply channel_reply(const worker_state& st, const tr_call& call) {
  for (auto& c : st.worker.channels)
    if (c.sid == call.sub_sid || c.task_channel_unique_name == call.sub_sid ||
        c.task_channel_sid == call.sub_sid)
      return one(worker_channel_ref{st.worker.sid, c});
  return fail(model::not_found("The requested resource was not found"));
}

} // namespace

caf::behavior worker_actor(worker_actor_type* self, model::worker initial, json_ptr attributes,
                           caf::actor workspace, workspace_settings settings) {
  auto& st = self->state;
  st.worker = std::move(initial);
  st.attributes = std::move(attributes);
  st.workspace = std::move(workspace);
  st.settings = settings;
  st.multi_task = settings.multi_task;
  st.last_idle = st.worker.status_changed;
  st.published_activity = st.worker.activity_sid;
  return {
    [=](offer_task& o) {
      auto& st = self->state;
      bool taken = !st.by_task.count(o.task_sid) &&
                   has_room(st, o.channel_name, o.ignore_capacity);
      offer_answer answer{o.task_sid, st.worker.sid, taken};
      if (!taken) {
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), answer);
        return;
      }
      model::reservation r;
      r.sid = model::make_sid("WR");
      r.task_sid = o.task_sid;
      r.worker_sid = st.worker.sid;
      r.worker_name = st.worker.friendly_name;
      r.task_channel = o.channel_name;
      r.created = r.updated = now();
      auto queue = caf::actor_cast<caf::actor>(self->current_sender());
      if (auto* c = channel_of(st, o.channel_name)) {
        ++c->assigned_tasks;
        c->updated = r.created;
      }
      st.by_task[o.task_sid] = r.sid;
      st.active[r.sid] = {r, o.queue_sid, queue, o.assignment_activity};
      if (!o.reservation_activity.sid.empty())
        set_activity(st, o.reservation_activity.sid, o.reservation_activity.name,
                     o.reservation_activity.available);
      st.timers.schedule(self, r.sid, std::chrono::seconds(o.reservation_timeout_s));
      self->send(queue, answer);
      self->send(st.workspace, reservation_update{r, o.queue_sid});
      publish(self);
    },
    [=](timers_due) {
      auto& st = self->state;
      for (auto& res_sid : st.timers.due(self)) {
        auto it = st.active.find(res_sid);
        if (it == st.active.end() || it->second.reservation.status != model::reservation_status::pending)
          continue;
        finish(self, res_sid, model::reservation_status::timeout, true);
        if (!st.settings.timeout_activity_sid.empty())
          set_activity(st, st.settings.timeout_activity_sid, st.settings.timeout_activity_name,
                       st.settings.timeout_activity_available);
      }
      publish(self);
    },
    [=](end_reservation& e) {
      auto& st = self->state;
      auto it = st.active.find(e.reservation_sid);
      if (it == st.active.end())
        return;
      if (e.status == model::reservation_status::wrapping) {
        it->second.reservation.status = e.status;
        it->second.reservation.updated = now();
        return;
      }
      finish(self, e.reservation_sid, e.status, false);
      publish(self);
    },
    [=](worker_config& cfg) -> tr_reply {
      auto& st = self->state;
      if (!cfg.activity_sid.empty())
        set_activity(st, cfg.activity_sid, cfg.activity_name, cfg.available);
      if (cfg.attributes) {
        st.attributes = cfg.attributes;
        st.worker.attributes = cfg.attributes_text;
      }
      st.worker.friendly_name = cfg.friendly_name;
      st.multi_task = cfg.multi_task;
      st.worker.updated = now();
      // Queues the worker left stop seeing it.
      for (auto& [sid, q] : st.queues) {
        bool still = false;
        for (auto& n : cfg.queues)
          if (n.first == sid)
            still = true;
        if (!still)
          self->send(q, worker_left{st.worker.sid, false});
      }
      st.queues = std::move(cfg.queues);
      if (cfg.reject_pending) {
        std::vector<std::string> pending;
        for (auto& [sid, ar] : st.active)
          if (ar.reservation.status == model::reservation_status::pending)
            pending.push_back(sid);
        for (auto& sid : pending)
          finish(self, sid, model::reservation_status::rejected, true);
      }
      publish(self);
      return one(st.worker);
    },
    [=](add_worker_channel& a) {
      self->state.worker.channels.push_back(std::move(a.channel));
      self->state.config_changed = true;
      publish(self);
    },
    [=](restore_reservations& r) {
      auto& st = self->state;
      for (auto& [res, queue_sid] : r.held) {
        if (auto* c = channel_of(st, res.task_channel))
          ++c->assigned_tasks;
        st.by_task[res.task_sid] = res.sid;
        st.active[res.sid] = {res, queue_sid, caf::actor{}, {}};
      }
      for (auto& res : r.ended) {
        st.history.push_back(std::move(res));
        if (st.history.size() > max_history)
          st.history.pop_front();
      }
      publish(self);
    },
    [=](workspace_settings& s) {
      self->state.settings = s;
      if (self->state.multi_task != s.multi_task) {
        self->state.multi_task = s.multi_task;
        publish(self);
      }
    },
    [=](tr_call& call) -> tr_reply {
      auto& st = self->state;
      switch (call.op) {
        case tr_op::worker_fetch:
          return one(st.worker);
        case tr_op::worker_reservation_list:
        case tr_op::task_reservation_list:
          return list_reservations(st, call);
        case tr_op::worker_reservation_fetch:
        case tr_op::task_reservation_fetch: {
          auto* r = find_reservation(st, call.sub_sid);
          if (!r)
            return fail(model::not_found("The requested resource was not found"));
          return one(*r);
        }
        case tr_op::worker_reservation_update:
        case tr_op::task_reservation_update:
          return update_reservation(self, call);
        case tr_op::worker_channel_list: {
          page_result page;
          for (std::size_t i = call.page.offset; i < st.worker.channels.size(); ++i) {
            if (page.items.size() == call.page.size) {
              page.has_more = true;
              break;
            }
            page.items.emplace_back(worker_channel_ref{st.worker.sid, st.worker.channels[i]});
          }
          return tr_reply{std::move(page)};
        }
        case tr_op::worker_channel_fetch:
          return channel_reply(st, call);
        case tr_op::worker_channel_update: {
          model::worker_channel* ch = nullptr;
          for (auto& c : st.worker.channels)
            if (c.sid == call.sub_sid || c.task_channel_unique_name == call.sub_sid)
              ch = &c;
          if (!ch)
            return fail(model::not_found("The requested resource was not found"));
          auto cap = call.params.get_int("Capacity", 0, 50);
          if (!cap)
            return fail(cap.err());
          auto avail = call.params.get_bool("Available");
          if (!avail)
            return fail(avail.err());
          if (*cap)
            ch->configured_capacity = static_cast<int>(**cap);
          if (*avail)
            ch->available = **avail;
          ch->updated = now();
          st.worker.updated = ch->updated;
          st.config_changed = true;
          publish(self);
          return one(worker_channel_ref{st.worker.sid, *ch});
        }
        case tr_op::worker_statistics: {
          nlohmann::json cumulative{{"reservations_created", 0}};
          // TaskChannel arrives resolved to the channel's unique name.
          auto channel = call.params.get("TaskChannel");
          std::size_t counts[8] = {};
          for (auto& r : st.history)
            if (!channel || r.task_channel == *channel)
              ++counts[static_cast<int>(r.status)];
          for (auto& [sid, ar] : st.active)
            if (!channel || ar.reservation.task_channel == *channel)
              ++counts[static_cast<int>(ar.reservation.status)];
          std::size_t total = 0;
          for (auto n : counts)
            total += n;
          cumulative["reservations_created"] = total;
          cumulative["reservations_accepted"] =
            counts[1] + counts[6] + counts[7];
          cumulative["reservations_rejected"] = counts[2];
          cumulative["reservations_timed_out"] = counts[3];
          cumulative["reservations_canceled"] = counts[4];
          cumulative["reservations_rescinded"] = counts[5];
          cumulative["tasks_assigned"] = counts[1] + counts[6] + counts[7];
          return one(statistics{nlohmann::json{{"cumulative", cumulative},
                                               {"worker_sid", st.worker.sid}}});
        }
        default:
          return fail(model::error{model::errc::internal, 20500, "unsupported worker operation"});
      }
    },
  };
}

} // namespace sb::actors
