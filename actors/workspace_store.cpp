// The workspace's side of durability: turning what changed during one message
// into one store batch.

#include "actors/workspace_actor.hpp"

namespace sb::actors {

namespace {

template <class T>
const T* by_sid(const std::vector<T>& v, const std::string& sid) {
  for (auto& x : v)
    if (x.sid == sid)
      return &x;
  return nullptr;
}

std::optional<store::entity> current(const workspace_state& st, std::size_t k, const std::string& sid) {
  switch (k) {
    case kind::workspace:
      return store::entity{st.workspace};
    case kind::activity:
      if (auto* a = by_sid(st.activities, sid))
        return store::entity{*a};
      break;
    case kind::task_channel:
      if (auto* c = by_sid(st.channels, sid))
        return store::entity{*c};
      break;
    case kind::task_queue:
      if (auto it = st.queue_index.find(sid); it != st.queue_index.end())
        return store::entity{st.queues[it->second].queue};
      break;
    case kind::workflow:
      if (auto it = st.workflow_index.find(sid); it != st.workflow_index.end())
        return store::entity{st.workflows[it->second].workflow};
      break;
    case kind::worker:
      if (auto it = st.workers.find(sid); it != st.workers.end())
        return store::entity{it->second.worker};
      break;
    case kind::task:
      if (auto it = st.tasks.find(sid); it != st.tasks.end())
        return store::entity{it->second.task};
      break;
  }
  return std::nullopt;
}

} // namespace

store::write_batch take_changes(workspace_state& st) {
  store::write_batch b;
  const auto& scope = st.workspace.sid;
  b.changes.reserve(st.dirty.size() + st.dirty_reservations.size());
  for (auto& [k, sid] : st.dirty) {
    auto value = current(st, k, sid);
    // The workspace itself belongs to its account; everything else to it.
    auto owner = k == kind::workspace ? st.workspace.account_sid : scope;
    if (value)
      b.changes.push_back(store::put(owner, sid, *value));
    else
      b.changes.push_back(store::erase(store::kind_name(k), sid, owner));
  }
  for (auto& [res_sid, task_sid] : st.dirty_reservations) {
    const model::reservation* found = nullptr;
    if (auto it = st.tasks.find(task_sid); it != st.tasks.end())
      for (auto& r : it->second.reservations)
        if (r.sid == res_sid)
          found = &r;
    if (found)
      b.changes.push_back(store::put(scope, res_sid, *found));
    else
      b.changes.push_back(store::erase(store::kind_name(kind::reservation), res_sid, scope));
  }
  b.events.reserve(st.unsaved_events.size());
  for (auto& e : st.unsaved_events)
    b.events.push_back(store::record_event(scope, *e));
  st.dirty.clear();
  st.dirty_reservations.clear();
  st.unsaved_events.clear();
  return b;
}

} // namespace sb::actors
