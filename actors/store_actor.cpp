#include "actors/store_actor.hpp"

#include <algorithm>

#include "store/codec.hpp"

namespace sb::actors {

namespace {

struct commit_tick {};
struct retry_tick {};
struct purge_tick {};

} // namespace
} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::commit_tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::retry_tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::purge_tick)

namespace sb::actors {

namespace {

std::int64_t epoch_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

void set_healthy(store_state& st, bool ok) {
  st.healthy = ok;
  if (st.options.writable)
    st.options.writable->store(ok, std::memory_order_release);
  if (st.options.metrics.writable)
    st.options.metrics.writable->Set(ok ? 1 : 0);
}

void answer_waiters(store_state& st, bool ok) {
  auto waiters = std::move(st.waiters);
  st.waiters.clear();
  for (auto& w : waiters)
    w.deliver(ok);
}

// Whether a change belongs to a scope that was erased: a row in it, or the
// workspace row itself (as the database's scope erase also deletes it).
bool in_scope(const store::change& c, const std::string& scope) {
  return c.scope == scope || (c.what.kind == "workspace" && c.what.sid == scope);
}

bool gone(const store_state& st, const store::change& c) {
  return st.gone_scopes.count(c.scope) ||
         (c.what.kind == "workspace" && st.gone_scopes.count(c.what.sid));
}

// Merges one owner's batch into the pending changes.
void merge(store_state& st, store::write_batch& b) {
  for (auto& scope : b.erased_scopes) {
    // A scope erased now takes its earlier pending changes with it.
    for (auto it = st.changes.begin(); it != st.changes.end();)
      it = in_scope(it->second, scope) ? st.changes.erase(it) : std::next(it);
    std::erase_if(st.events, [&](const store::event_record& e) { return e.scope == scope; });
    st.erased_scopes.push_back(scope);
    st.gone_scopes.insert(scope);
  }
  for (auto& c : b.changes) {
    if (gone(st, c))
      continue;
    auto k = c.what;
    st.changes.insert_or_assign(std::move(k), std::move(c));
  }
  for (auto& e : b.events)
    if (!st.gone_scopes.count(e.scope))
      st.events.push_back(std::move(e));
  if (st.events.size() > st.options.max_pending_events) {
    auto excess = st.events.size() - st.options.max_pending_events;
    st.events.erase(st.events.begin(), st.events.begin() + static_cast<std::ptrdiff_t>(excess));
    st.events_dropped += excess;
  }
}

store::encoded_batch encode_pending(const store_state& st) {
  store::encoded_batch out;
  out.erased_scopes = st.erased_scopes;
  out.puts.reserve(st.changes.size());
  for (auto& [k, c] : st.changes) {
    if (c.doc)
      out.puts.push_back(store::row{k.kind, k.sid, c.scope, *c.doc});
    else
      out.erases.emplace_back(k.kind, k.sid);
  }
  out.events.reserve(st.events.size());
  for (auto& e : st.events)
    out.events.push_back(store::event_row{e.sid, e.scope, e.at_ms, e.doc});
  return out;
}

// Writes everything pending in one transaction. On failure the pending
// changes stay for the retry.
bool commit(store_actor_type* self) {
  auto& st = self->state;
  if (st.changes.empty() && st.events.empty() && st.erased_scopes.empty())
    return true;
  auto start = std::chrono::steady_clock::now();
  auto batch = encode_pending(st);
  try {
    st.db->write(batch);
  } catch (const store::store_error& e) {
    if (st.options.metrics.write_failures)
      st.options.metrics.write_failures->Increment();
    if (st.healthy || st.last_error != e.what())
      caf::aout(self) << "store: write failed, refusing writes until it succeeds again: "
                      << e.what() << std::endl;
    st.last_error = e.what();
    set_healthy(st, false);
    if (!st.retry_scheduled) {
      st.retry_scheduled = true;
      self->delayed_send(self, st.options.retry_interval, retry_tick{});
    }
    return false;
  }
  if (st.options.metrics.commit_seconds)
    st.options.metrics.commit_seconds->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  if (st.options.metrics.batch_changes)
    st.options.metrics.batch_changes->Observe(static_cast<double>(batch.size()));
  st.changes.clear();
  st.events.clear();
  st.erased_scopes.clear();
  if (!st.healthy) {
    caf::aout(self) << "store: writes succeed again";
    if (st.events_dropped > 0)
      caf::aout(self) << "; " << st.events_dropped
                      << " events recorded during the outage were dropped (over the in-memory limit)";
    caf::aout(self) << std::endl;
    st.events_dropped = 0;
    st.last_error.clear();
    set_healthy(st, true);
  }
  return true;
}

// A batch joins the pending changes; the first one schedules the commit
// behind whatever else waits in the mailbox.
void write(store_actor_type* self, store::write_batch& batch) {
  auto& st = self->state;
  if (batch.empty())
    return;
  merge(st, batch);
  if (st.healthy && !st.tick_scheduled) {
    st.tick_scheduled = true;
    self->send(self, commit_tick{});
  }
}

// Answered once everything received so far is committed; false at once
// while writes fail.
caf::result<bool> sync(store_actor_type* self) {
  auto& st = self->state;
  if (!st.healthy)
    return false;
  if (!st.tick_scheduled)
    return true; // everything received before this is committed
  auto rp = self->make_response_promise<bool>();
  st.waiters.push_back(rp);
  return rp;
}

} // namespace

caf::behavior store_actor(store_actor_type* self, std::shared_ptr<store::database> db,
                          store_options options) {
  auto& st = self->state;
  st.db = std::move(db);
  st.options = std::move(options);
  set_healthy(st, true);
  self->delayed_send(self, st.options.purge_interval, purge_tick{});
  return {
    [=](store_write& w) { write(self, w.batch); },
    [=](store_sync) -> caf::result<bool> { return sync(self); },
    [=](store_commit& c) -> caf::result<bool> {
      write(self, c.batch);
      return sync(self);
    },
    [=](store_load& l) -> store_rows {
      auto& st = self->state;
      store_rows out;
      if (st.gone_scopes.count(l.scope))
        return out;
      try {
        out.rows = st.db->load_scope(l.scope);
      } catch (const store::store_error& e) {
        out.error = e.what();
        return out;
      }
      // Pending changes win over what the database holds.
      for (auto& [k, c] : st.changes) {
        if (c.scope != l.scope)
          continue;
        auto same = [&](const store::row& r) { return r.kind == k.kind && r.sid == k.sid; };
        auto it = std::find_if(out.rows.begin(), out.rows.end(), same);
        if (!c.doc) {
          if (it != out.rows.end())
            out.rows.erase(it);
        } else if (it != out.rows.end()) {
          it->doc = *c.doc;
        } else {
          out.rows.push_back(store::row{k.kind, k.sid, c.scope, *c.doc});
        }
      }
      return out;
    },
    [=](commit_tick) {
      auto& st = self->state;
      st.tick_scheduled = false;
      answer_waiters(st, commit(self));
    },
    [=](retry_tick) {
      auto& st = self->state;
      st.retry_scheduled = false;
      commit(self);
    },
    [=](purge_tick) {
      auto& st = self->state;
      if (st.healthy) {
        try {
          auto cutoff = epoch_ms_now() -
                        std::chrono::duration_cast<std::chrono::milliseconds>(st.options.event_retention).count();
          auto n = st.db->purge_events(cutoff);
          if (st.options.metrics.events_purged)
            st.options.metrics.events_purged->Increment(static_cast<double>(n));
        } catch (const store::store_error& e) {
          caf::aout(self) << "store: purging old events failed: " << e.what() << std::endl;
        }
      }
      self->delayed_send(self, st.options.purge_interval, purge_tick{});
    },
  };
}

} // namespace sb::actors
