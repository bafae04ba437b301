#include "actors/workflow_actor.hpp"

namespace sb::actors {

namespace {

void apply(workflow_state& st, workflow_setup& s) {
  st.workflow = std::move(s.workflow);
  st.config = std::move(s.config);
  st.queues.clear();
  for (auto& [sid, q] : s.queues)
    st.queues.emplace(sid, q);
  if (s.workspace)
    st.workspace = std::move(s.workspace);
}

} // namespace

std::optional<std::pair<caf::actor, enqueue_task>>
plan_route(const model::workflow& wf, const model::workflow_config& config,
           const std::unordered_map<std::string, caf::actor>& queues, route_task r,
           const caf::actor& workflow) {
  if (r.filter == -2) {
    r.filter = config.select_filter(*r.attributes);
    r.target = -1;
  }
  const std::vector<model::workflow_target>* targets = nullptr;
  std::vector<model::workflow_target> fallback;
  if (r.filter >= 0 && r.filter < static_cast<int>(config.filters.size())) {
    targets = &config.filters[r.filter].targets;
  } else if (config.default_target) {
    fallback.push_back(*config.default_target);
    targets = &fallback;
    r.filter = -1;
  }
  for (int next = r.target + 1; targets && next < static_cast<int>(targets->size());
       ++next, r.elapsed_ms = 0, r.resumed = false) {
    const auto& target = (*targets)[next];
    auto q = queues.find(target.queue_sid);
    if (q == queues.end())
      continue; // the queue vanished since the configuration was checked: move on
    enqueue_task e;
    e.task.sid = r.task_sid;
    e.task.attributes = r.attributes;
    e.task.channel_name = r.channel_name;
    e.task.priority = target.priority ? *target.priority : r.priority;
    e.task.order = r.order;
    e.task.ignore_capacity = r.ignore_capacity;
    e.task.worker_filter = target.worker_filter;
    e.task.order_by = target.order_by;
    if (!target.known_worker_sid.empty())
      e.task.known_worker_sid = model::resolve_known_worker(target.known_worker_sid, *r.attributes);
    if (!target.known_worker_friendly_name.empty())
      e.task.known_worker_name =
        model::resolve_known_worker(target.known_worker_friendly_name, *r.attributes);
    if ((!target.known_worker_sid.empty() && e.task.known_worker_sid.empty()) ||
        (!target.known_worker_friendly_name.empty() && e.task.known_worker_name.empty()))
      continue; // the task names no worker for this known-worker target: skip it
    e.workflow = workflow;
    e.filter = r.filter;
    e.target = next;
    e.timeout_s = target.timeout ? *target.timeout : -1;
    e.elapsed_ms = r.elapsed_ms;
    e.resumed = r.resumed;
    e.reservation_timeout_s = wf.task_reservation_timeout;
    e.skip_if = target.skip_if;
    return std::pair{q->second, std::move(e)};
  }
  return std::nullopt;
}

namespace {

// Sends the task to its next target, or reports that none is left.
void step(workflow_actor_type* self, route_task r) {
  auto& st = self->state;
  auto task_sid = r.task_sid;
  auto planned = plan_route(st.workflow, *st.config, st.queues, std::move(r),
                            caf::actor_cast<caf::actor>(self));
  if (!planned) {
    self->send(st.workspace, workflow_timed_out{task_sid});
    return;
  }
  self->send(planned->first, std::move(planned->second));
}

} // namespace

caf::behavior workflow_actor(workflow_actor_type* self, workflow_setup setup) {
  apply(self->state, setup);
  return {
    [=](route_task& r) { step(self, std::move(r)); },
    [=](target_left& t) {
      auto r = std::move(t.task);
      step(self, std::move(r));
    },
    [=](workflow_setup& s) { apply(self->state, s); },
  };
}

} // namespace sb::actors
