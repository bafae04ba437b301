#pragma once
// The store writer: the one actor that talks to the database. Owners send it
// their changes (store_write, fire and forget); whoever must not answer a
// client before those changes are on disk asks for a store_sync, answered
// once every change received before it is committed.
//
// Group commit: a write that opens a batch schedules a commit tick behind
// everything already in the mailbox, so one transaction (one fsync) carries
// every change that arrived while the previous one was on the disk.
//
// Faults: a failed transaction is rolled back, its changes are kept (merged
// by entity, so memory stays bounded by the number of entities) and retried
// every second; meanwhile `writable` is false, syncs answer false and the
// HTTP adapter refuses writes with 503. The first successful retry restores
// everything.
//
// Runs detached (its own thread): it is the only place that blocks on disk.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <caf/all.hpp>

#include "metrics/metrics.hpp"
#include "store/database.hpp"

namespace sb::actors {

struct store_write {
  store::write_batch batch;
};
struct store_sync {};
// A store_write and a store_sync in one request: the batch, answered (bool,
// as store_sync) once it and everything received before it is committed.
struct store_commit {
  store::write_batch batch;
};
// Asks for the rows of one scope (a passive conversation's participants,
// messages and webhooks) as the next commit would leave them: the
// database's, with the changes still waiting for a commit applied (a
// failing disk keeps them pending). Answered with store_rows; error is set
// when the database could not be read.
struct store_load {
  std::string scope;
};
struct store_rows {
  std::vector<store::row> rows;
  std::string error;
};

struct store_options {
  std::chrono::seconds event_retention{30 * 24 * 3600};
  std::chrono::milliseconds retry_interval{1000};
  std::chrono::seconds purge_interval{60};
  // While writes fail, new events wait in memory; beyond this many the oldest
  // are dropped (and counted), so a long outage cannot exhaust memory.
  std::size_t max_pending_events = 500000;
  metrics::store_metrics metrics;
  std::shared_ptr<std::atomic<bool>> writable; // read by the HTTP adapter
};

struct store_state {
  std::shared_ptr<store::database> db;
  store_options options;
  std::map<store::key, store::change> changes; // pending, latest per entity
  std::vector<store::event_record> events;     // pending, in order
  std::vector<std::string> erased_scopes;      // pending
  // Every scope erased since start: a change or event for one (the workspace
  // row included, whose scope is its account) is dropped, whether it was
  // pending or arrives late from the workspace's actors on their way out;
  // written after the erase it would bring the workspace back at restart.
  std::set<std::string> gone_scopes;
  std::vector<caf::response_promise> waiters;  // syncs the next commit answers
  bool tick_scheduled = false;
  bool retry_scheduled = false;
  bool healthy = true;
  std::uint64_t events_dropped = 0;
  std::string last_error;
  static inline const char* name = "store";
};

using store_actor_type = caf::stateful_actor<store_state>;

caf::behavior store_actor(store_actor_type* self, std::shared_ptr<store::database> db,
                          store_options options);

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::store_write)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::store_sync)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::store_commit)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::store_load)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::store_rows)
