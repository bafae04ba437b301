#include "actors/queue_actor.hpp"

#include <chrono>

namespace sb::actors {

namespace {

void match(queue_actor_type* self) {
  auto& st = self->state;
  for (auto& o : st.matcher.match()) {
    auto w = st.workers.find(o.worker_sid);
    auto t = st.tasks.find(o.task_sid);
    const auto* qt = st.matcher.find(o.task_sid);
    if (w == st.workers.end() || t == st.tasks.end() || !qt) {
      st.matcher.offer_refused(o.task_sid);
      continue;
    }
    offer_task msg;
    msg.task_sid = o.task_sid;
    msg.channel_name = qt->channel_name;
    msg.queue_sid = st.queue.sid;
    msg.attributes = qt->attributes;
    msg.ignore_capacity = qt->ignore_capacity;
    msg.reservation_timeout_s = t->second.reservation_timeout_s;
    msg.reservation_activity = st.reservation_activity;
    msg.assignment_activity = st.assignment_activity;
    self->send(w->second, std::move(msg));
  }
}

// The task leaves this queue for its workflow's next target.
void leave(queue_actor_type* self, const std::string& task_sid, target_exit why) {
  auto& st = self->state;
  auto it = st.tasks.find(task_sid);
  if (it == st.tasks.end())
    return;
  auto r = std::move(it->second);
  st.tasks.erase(it);
  st.matcher.remove(task_sid);
  st.timers.cancel(task_sid);
  self->send(r.workflow, target_left{std::move(r.route), why});
}

} // namespace

caf::behavior queue_actor(queue_actor_type* self, model::task_queue queue, caf::actor workspace) {
  self->state.queue = std::move(queue);
  self->state.matcher.set_order(self->state.queue.order);
  self->state.matcher.set_max_reserved(self->state.queue.max_reserved_workers);
  self->state.workspace = std::move(workspace);
  return {
    [=](enqueue_task& e) {
      auto& st = self->state;
      route_task route;
      route.task_sid = e.task.sid;
      route.attributes = e.task.attributes;
      route.channel_name = e.task.channel_name;
      route.priority = e.task.priority;
      route.order = e.task.order;
      route.ignore_capacity = e.task.ignore_capacity;
      route.filter = e.filter;
      route.target = e.target;
      if (e.skip_if) {
        nlohmann::json workers{{"available", st.matcher.available_workers()}};
        model::expression_context ctx;
        ctx.task = e.task.attributes.get();
        ctx.workers = &workers;
        ctx.default_scope = "task";
        if (e.skip_if->evaluate(ctx)) {
          self->send(e.workflow, target_left{std::move(route), target_exit::skipped});
          return;
        }
      }
      auto sid = e.task.sid;
      st.tasks[sid] = {route, e.workflow, e.reservation_timeout_s, false};
      if (e.timeout_s >= 0)
        st.timers.schedule(self, sid,
                           std::max(std::chrono::milliseconds(0),
                                    std::chrono::milliseconds(e.timeout_s * 1000LL - e.elapsed_ms)));
      self->send(st.workspace, task_queued{sid, st.queue.sid, st.queue.friendly_name,
                                           e.task.priority, caf::actor_cast<caf::actor>(self),
                                           e.filter, e.target, e.elapsed_ms, e.resumed});
      st.matcher.enqueue(std::move(e.task));
      match(self);
    },
    [=](worker_status& s) {
      auto& st = self->state;
      st.workers[s.view.sid] = s.worker;
      st.matcher.upsert_worker(std::move(s.view));
      match(self);
    },
    [=](worker_left& w) {
      self->state.workers.erase(w.worker_sid);
      if (w.deleted)
        self->state.matcher.release_offers(w.worker_sid);
      self->state.matcher.remove_worker(w.worker_sid);
      match(self);
    },
    [=](offer_answer& a) {
      auto& st = self->state;
      if (a.taken) {
        st.matcher.offer_accepted(a.task_sid, a.worker_sid);
      } else {
        st.matcher.offer_refused(a.task_sid, a.worker_sid);
        auto it = st.tasks.find(a.task_sid);
        if (it != st.tasks.end() && it->second.expired && st.matcher.holders(a.task_sid) == 0) {
          leave(self, a.task_sid, target_exit::timed_out);
          return;
        }
      }
      match(self);
    },
    [=](forget_task& f) {
      auto& st = self->state;
      st.tasks.erase(f.task_sid);
      st.matcher.remove(f.task_sid);
      st.timers.cancel(f.task_sid);
    },
    [=](requeue_task& r) {
      auto& st = self->state;
      auto it = st.tasks.find(r.task_sid);
      if (it == st.tasks.end())
        return;
      st.matcher.requeue(r.task_sid, r.exclude_worker);
      if (it->second.expired && st.matcher.holders(r.task_sid) == 0) {
        leave(self, r.task_sid, target_exit::timed_out);
        return;
      }
      match(self);
    },
    [=](timers_due) {
      auto& st = self->state;
      for (auto& sid : st.timers.due(self)) {
        auto phase = st.matcher.phase(sid);
        if (!phase)
          continue;
        if (*phase == model::queue_state::task_phase::waiting)
          leave(self, sid, target_exit::timed_out);
        else if (auto it = st.tasks.find(sid); it != st.tasks.end())
          it->second.expired = true;
      }
    },
    [=](queue_config& c) {
      auto& st = self->state;
      st.queue = std::move(c.queue);
      st.reservation_activity = {st.queue.reservation_activity_sid, st.queue.reservation_activity_name,
                                 c.reservation_activity_available};
      st.assignment_activity = {st.queue.assignment_activity_sid, st.queue.assignment_activity_name,
                                c.assignment_activity_available};
      st.matcher.set_order(st.queue.order);
      st.matcher.set_max_reserved(st.queue.max_reserved_workers);
      match(self);
    },
    [=](tr_call& call) -> tr_reply {
      auto& st = self->state;
      // The workspace passes TaskChannel resolved to the channel's unique
      // name: only that channel's tasks count. Workers count whole.
      auto channel = call.params.get("TaskChannel");
      auto on_channel = [&](const std::string& task_sid) {
        if (!channel)
          return true;
        auto it = st.tasks.find(task_sid);
        return it != st.tasks.end() && it->second.route.channel_name == *channel;
      };
      nlohmann::json by_status{{"pending", 0}, {"reserved", 0}, {"assigned", 0},
                               {"wrapping", 0}};
      nlohmann::json by_priority = nlohmann::json::object();
      std::size_t pending = 0, reserved = 0;
      for (auto& [sid, r] : st.tasks) {
        if (channel && r.route.channel_name != *channel)
          continue;
        auto ph = st.matcher.phase(sid);
        if (!ph)
          continue;
        if (*ph == model::queue_state::task_phase::waiting) {
          ++pending;
          auto key = std::to_string(r.route.priority);
          by_priority[key] = by_priority.value(key, 0) + 1;
        } else {
          ++reserved;
        }
      }
      by_status["pending"] = pending;
      by_status["reserved"] = reserved;
      nlohmann::json doc;
      doc["task_queue_sid"] = st.queue.sid;
      doc["tasks_by_status"] = by_status;
      doc["tasks_by_priority"] = by_priority;
      doc["total_tasks"] = pending + reserved;
      doc["total_eligible_workers"] = st.matcher.worker_count();
      doc["total_available_workers"] = st.matcher.available_workers();
      std::optional<std::string> oldest;
      if (!channel) {
        oldest = st.matcher.oldest_waiting();
      } else {
        // The waiting task of the channel that entered first.
        std::uint64_t first = 0;
        for (auto& sid : st.matcher.waiting_in_order())
          if (on_channel(sid)) {
            auto order = st.tasks.at(sid).route.order;
            if (!oldest || order < first) {
              oldest = sid;
              first = order;
            }
          }
      }
      doc["longest_task_waiting_sid"] = oldest ? nlohmann::json(*oldest) : nlohmann::json();
      // Tasks no worker holds yet, in queue order (a task held by fewer
      // workers than MaxReservedWorkers still wants more, but is reserved).
      auto waiting = nlohmann::json::array();
      for (auto& sid : st.matcher.waiting_in_order())
        if (st.matcher.holders(sid) == 0 && on_channel(sid))
          waiting.push_back(sid);
      doc["waiting_in_order"] = std::move(waiting);
      return one(statistics{std::move(doc)});
    },
  };
}

} // namespace sb::actors
