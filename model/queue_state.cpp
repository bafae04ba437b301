#include "model/queue_state.hpp"

#include <algorithm>

namespace sb::model {

namespace {

const nlohmann::json* lookup(const nlohmann::json* doc, const std::vector<std::string>& path) {
  for (auto& p : path) {
    if (!doc || !doc->is_object())
      return nullptr;
    auto it = doc->find(p);
    if (it == doc->end())
      return nullptr;
    doc = &*it;
  }
  return doc;
}

// An attribute order_by can sort on: a number, string or boolean. Anything
// else (absent, null, array, object) counts as missing.
bool sortable(const nlohmann::json* v) {
  return v && (v->is_number() || v->is_string() || v->is_boolean());
}

// -1, 0, 1 comparing two sortable values; values of different kinds order
// numbers < strings < booleans so that the order stays total.
int compare_values(const nlohmann::json& a, const nlohmann::json& b) {
  auto kind = [](const nlohmann::json& v) { return v.is_number() ? 0 : v.is_string() ? 1 : 2; };
  if (kind(a) != kind(b))
    return kind(a) < kind(b) ? -1 : 1;
  if (a.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string()) {
    auto& x = a.get_ref<const std::string&>();
    auto& y = b.get_ref<const std::string&>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  return int(a.get<bool>()) - int(b.get<bool>());
}

} // namespace

bool worker_view::has_room(const std::string& channel_name, bool ignore_capacity) const {
  if (!available)
    return false;
  for (auto& c : channels) {
    if (c.channel_name != channel_name)
      continue;
    if (!c.available || c.capacity <= 0)
      return false;
    if (ignore_capacity)
      return true;
    if (!multi_task && total_load() > 0)
      return false;
    return c.load < c.capacity;
  }
  return false;
}

bool worker_view::has_any_room() const {
  if (!available)
    return false;
  if (!multi_task && total_load() > 0)
    return false;
  for (auto& c : channels)
    if (c.available && c.load < c.capacity)
      return true;
  return false;
}

int worker_view::total_load() const {
  int n = 0;
  for (auto& c : channels)
    n += c.load;
  return n;
}

void worker_view::add_load(const std::string& channel_name, int delta) {
  for (auto& c : channels)
    if (c.channel_name == channel_name) {
      c.load += delta;
      return;
    }
}

bool queue_state::key_less::operator()(const key& a, const key& b) const {
  if (a.priority != b.priority)
    return a.priority > b.priority;
  if (a.order != b.order)
    return order == task_order::fifo ? a.order < b.order : a.order > b.order;
  return a.sid < b.sid;
}

void queue_state::set_order(task_order order) {
  if (order == order_)
    return;
  order_ = order;
  std::set<key, key_less> resorted{key_less{order}};
  for (auto& k : waiting_)
    resorted.insert(k);
  waiting_.swap(resorted);
}

void queue_state::set_max_reserved(int n) {
  max_reserved_ = n < 1 ? 1 : n;
  for (auto& [sid, e] : tasks_)
    sync_waiting(e);
}

void queue_state::waiting_insert(entry& e) {
  waiting_.insert(key_of(e.task));
  e.waiting = true;
  if (e.task.ignore_capacity)
    ++ignore_capacity_waiting_;
}

void queue_state::waiting_erase(entry& e) {
  waiting_.erase(key_of(e.task));
  e.waiting = false;
  if (e.task.ignore_capacity)
    --ignore_capacity_waiting_;
}

void queue_state::sync_waiting(entry& e) {
  bool want = e.holders.size() < static_cast<std::size_t>(max_reserved_);
  if (want && !e.waiting) {
    waiting_insert(e);
    dirty_tasks_.insert(e.task.sid);
  } else if (!want && e.waiting) {
    waiting_erase(e);
  }
}

void queue_state::enqueue(queued_task t) {
  remove(t.sid);
  auto sid = t.sid;
  auto& e = tasks_[sid] = entry{std::move(t), {}, false};
  waiting_insert(e);
  dirty_tasks_.insert(sid);
}

void queue_state::count_unanswered(const std::string& worker_sid, const std::string& channel,
                                   int delta) {
  auto w = unanswered_.find(worker_sid);
  if (w == unanswered_.end()) {
    if (delta <= 0)
      return;
    w = unanswered_.emplace(worker_sid, std::unordered_map<std::string, int>{}).first;
  }
  auto& n = w->second[channel];
  n = std::max(0, n + delta);
  if (n == 0) {
    w->second.erase(channel);
    if (w->second.empty())
      unanswered_.erase(w);
  }
}

bool queue_state::remove(const std::string& task_sid) {
  auto it = tasks_.find(task_sid);
  if (it == tasks_.end())
    return false;
  for (auto& h : it->second.holders)
    if (!h.reserved)
      count_unanswered(h.worker_sid, it->second.task.channel_name, -1);
  if (it->second.waiting)
    waiting_erase(it->second);
  tasks_.erase(it);
  dirty_tasks_.erase(task_sid);
  return true;
}

bool queue_state::requeue(const std::string& task_sid, const std::string& exclude_worker) {
  auto it = tasks_.find(task_sid);
  if (it == tasks_.end())
    return false;
  auto& e = it->second;
  for (auto& h : e.holders)
    if (!h.reserved && (exclude_worker.empty() || h.worker_sid == exclude_worker))
      count_unanswered(h.worker_sid, e.task.channel_name, -1);
  if (exclude_worker.empty()) {
    e.holders.clear();
  } else {
    e.task.excluded.push_back(exclude_worker);
    e.holders.erase(std::remove_if(e.holders.begin(), e.holders.end(),
                                   [&](const holder& h) { return h.worker_sid == exclude_worker; }),
                    e.holders.end());
  }
  sync_waiting(e);
  dirty_tasks_.insert(task_sid);
  return true;
}

namespace {

template <class Holders>
auto find_offer(Holders& hs, const std::string& worker_sid) {
  return std::find_if(hs.begin(), hs.end(), [&](const auto& h) {
    return !h.reserved && (worker_sid.empty() || h.worker_sid == worker_sid);
  });
}

} // namespace

void queue_state::offer_refused(const std::string& task_sid, const std::string& worker_sid) {
  auto it = tasks_.find(task_sid);
  if (it == tasks_.end())
    return;
  auto& e = it->second;
  auto h = find_offer(e.holders, worker_sid);
  if (h == e.holders.end())
    return;
  count_unanswered(h->worker_sid, e.task.channel_name, -1);
  e.holders.erase(h);
  sync_waiting(e);
  dirty_tasks_.insert(task_sid);
}

void queue_state::offer_accepted(const std::string& task_sid, const std::string& worker_sid) {
  auto it = tasks_.find(task_sid);
  if (it == tasks_.end())
    return;
  auto h = find_offer(it->second.holders, worker_sid);
  if (h != it->second.holders.end()) {
    h->reserved = true;
    count_unanswered(h->worker_sid, it->second.task.channel_name, -1);
  }
}

std::size_t queue_state::holders(const std::string& task_sid) const {
  auto it = tasks_.find(task_sid);
  return it == tasks_.end() ? 0 : it->second.holders.size();
}

void queue_state::unindex(const worker_view& w) {
  for (auto& c : w.channels)
    if (auto it = room_.find(c.channel_name); it != room_.end())
      if (auto k = it->second.find(idle_ref{w.last_idle, w.sid}); k != it->second.end())
        it->second.erase(k);
}

void queue_state::index(const worker_view& w) {
  for (auto& c : w.channels)
    if (w.has_room(c.channel_name, false))
      room_[c.channel_name].insert(idle_key{w.last_idle, w.sid});
}

void queue_state::upsert_worker(worker_view v) {
  auto it = workers_.find(v.sid);
  if (it != workers_.end()) {
    if (v.version < it->second.version)
      return;
    unindex(it->second);
    it->second = std::move(v);
  } else {
    it = workers_.emplace(v.sid, std::move(v)).first;
  }
  if (auto u = unanswered_.find(it->first); u != unanswered_.end())
    for (auto& [channel, n] : u->second)
      it->second.add_load(channel, n);
  index(it->second);
  dirty_workers_.insert(it->first);
}

void queue_state::remove_worker(const std::string& worker_sid) {
  auto it = workers_.find(worker_sid);
  if (it == workers_.end())
    return;
  unindex(it->second);
  workers_.erase(it);
  dirty_workers_.erase(worker_sid);
}

void queue_state::release_offers(const std::string& worker_sid) {
  for (auto& [sid, e] : tasks_) {
    auto h = find_offer(e.holders, worker_sid);
    if (h == e.holders.end())
      continue;
    count_unanswered(h->worker_sid, e.task.channel_name, -1);
    e.holders.erase(h);
    sync_waiting(e);
    dirty_tasks_.insert(sid);
  }
}

std::size_t queue_state::available_workers() const {
  std::size_t n = 0;
  for (auto& [sid, w] : workers_)
    if (w.available)
      ++n;
  return n;
}

std::optional<queue_state::task_phase> queue_state::phase(const std::string& task_sid) const {
  auto it = tasks_.find(task_sid);
  if (it == tasks_.end())
    return std::nullopt;
  auto& hs = it->second.holders;
  if (hs.empty())
    return task_phase::waiting;
  for (auto& h : hs)
    if (!h.reserved)
      return task_phase::offered;
  return task_phase::reserved;
}

const queued_task* queue_state::find(const std::string& task_sid) const {
  auto it = tasks_.find(task_sid);
  return it == tasks_.end() ? nullptr : &it->second.task;
}

std::optional<std::string> queue_state::oldest_waiting() const {
  const key* best = nullptr;
  for (auto& k : waiting_)
    if (!best || k.order < best->order)
      best = &k;
  if (!best)
    return std::nullopt;
  return best->sid;
}

std::vector<std::string> queue_state::waiting_in_order() const {
  std::vector<std::string> out;
  out.reserve(waiting_.size());
  for (auto& k : waiting_)
    out.push_back(k.sid);
  return out;
}

bool queue_state::eligible(const worker_view& w, const entry& e) const {
  const auto& t = e.task;
  if (!w.has_room(t.channel_name, t.ignore_capacity))
    return false;
  for (auto& h : e.holders)
    if (h.worker_sid == w.sid)
      return false;
  if (!t.known_worker_sid.empty() && w.sid != t.known_worker_sid)
    return false;
  if (!t.known_worker_name.empty() && w.friendly_name != t.known_worker_name)
    return false;
  if (std::find(t.excluded.begin(), t.excluded.end(), w.sid) != t.excluded.end())
    return false;
  if (t.worker_filter) {
    expression_context ctx;
    ctx.task = t.attributes.get();
    ctx.worker = w.attributes.get();
    ctx.default_scope = "worker";
    if (!t.worker_filter->evaluate(ctx))
      return false;
  }
  return true;
}

bool queue_state::better(const worker_view& a, const worker_view& b, const queued_task& t) const {
  for (auto& clause : t.order_by) {
    auto* x = lookup(a.attributes.get(), clause.path);
    auto* y = lookup(b.attributes.get(), clause.path);
    bool has_x = sortable(x), has_y = sortable(y);
    if (has_x != has_y)
      return has_x; // a missing value sorts last in either direction
    if (!has_x)
      continue;
    int c = compare_values(*x, *y);
    if (c != 0)
      return clause.descending ? c > 0 : c < 0;
  }
  if (a.last_idle != b.last_idle)
    return a.last_idle < b.last_idle;
  return a.sid < b.sid;
}

const worker_view* queue_state::best_worker(const entry& e) const {
  const auto& t = e.task;
  if (!t.known_worker_sid.empty()) {
    auto it = workers_.find(t.known_worker_sid);
    return it != workers_.end() && eligible(it->second, e) ? &it->second : nullptr;
  }
  if (t.order_by.empty() && !t.ignore_capacity) {
    auto it = room_.find(t.channel_name);
    if (it == room_.end())
      return nullptr;
    for (auto& k : it->second) {
      auto& w = workers_.at(k.sid);
      if (eligible(w, e))
        return &w;
    }
    return nullptr;
  }
  const worker_view* best = nullptr;
  for (auto& [sid, w] : workers_)
    if (eligible(w, e) && (!best || better(w, *best, t)))
      best = &w;
  return best;
}

void queue_state::make_offer(entry& e, worker_view& w, std::vector<offer>& out) {
  e.holders.push_back({w.sid, false});
  count_unanswered(w.sid, e.task.channel_name, 1);
  sync_waiting(e);
  unindex(w);
  w.add_load(e.task.channel_name, 1);
  index(w);
  out.push_back({e.task.sid, w.sid});
}

std::vector<offer> queue_state::match() {
  std::vector<offer> out;
  // A full worker counts only while some waiting task ignores capacity.
  auto usable = [&](const worker_view* w) {
    return w->has_any_room() || (ignore_capacity_waiting_ > 0 && w->available);
  };
  std::vector<worker_view*> ws;
  for (auto& sid : dirty_workers_) {
    auto it = workers_.find(sid);
    if (it != workers_.end() && usable(&it->second))
      ws.push_back(&it->second);
  }
  dirty_workers_.clear();
  if (ws.empty()) {
    // Only tasks changed: each, in queue order, goes to the best worker of all.
    std::vector<key> keys;
    keys.reserve(dirty_tasks_.size());
    for (auto& sid : dirty_tasks_) {
      auto it = tasks_.find(sid);
      if (it != tasks_.end() && it->second.waiting)
        keys.push_back(key_of(it->second.task));
    }
    dirty_tasks_.clear();
    std::sort(keys.begin(), keys.end(), key_less{order_});
    for (auto& k : keys) {
      auto& e = tasks_.at(k.sid);
      while (e.waiting) {
        auto* w = best_worker(e);
        if (!w)
          break;
        make_offer(e, workers_.at(w->sid), out);
      }
    }
    return out;
  }
  // Workers changed too: one pass over the waiting tasks in queue order, so
  // no changed task takes a changed worker's slot ahead of a task that comes
  // first. A changed task may go to any worker (the best of all, by its own
  // rules); an unchanged one has already seen the unchanged workers, so only
  // the changed workers are new to it.
  std::unordered_set<std::string> changed;
  for (auto& sid : dirty_tasks_)
    if (auto it = tasks_.find(sid); it != tasks_.end() && it->second.waiting)
      changed.insert(sid);
  dirty_tasks_.clear();
  for (auto it = waiting_.begin(); it != waiting_.end() && (!ws.empty() || !changed.empty());) {
    auto& e = tasks_.at(it->sid);
    ++it; // make_offer may erase the current key
    bool is_changed = changed.erase(e.task.sid) > 0;
    while (e.waiting) {
      worker_view* best = nullptr;
      if (is_changed) {
        if (auto* w = best_worker(e))
          best = &workers_.at(w->sid);
      } else {
        for (auto* w : ws)
          if (eligible(*w, e) && (!best || better(*w, *best, e.task)))
            best = w;
      }
      if (!best)
        break;
      make_offer(e, *best, out);
    }
    ws.erase(std::remove_if(ws.begin(), ws.end(), [&](worker_view* w) { return !usable(w); }),
             ws.end());
  }
  return out;
}

} // namespace sb::model
