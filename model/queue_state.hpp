#pragma once
// The matching state of one TaskQueue: its waiting tasks in queue order and
// its view of the eligible workers' load. Pure: the queue actor feeds it
// events and sends the offers it returns; the worker actor stays the authority
// on capacity and may refuse an offer made from a stale view.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/clock.hpp"
#include "model/expression.hpp"
#include "model/taskrouter.hpp"
#include "model/workflow_config.hpp"

namespace sb::model {

// A queue's cached view of one eligible worker.
struct worker_view {
  struct channel_load {
    std::string channel_name; // the task channel's unique name
    int capacity = 1;
    int load = 0;
    bool available = true;
  };
  std::string sid;
  std::string friendly_name;
  std::shared_ptr<const nlohmann::json> attributes;
  bool available = false; // the worker's activity is an available one
  bool multi_task = true; // false: one task in all, whatever the channel
  std::vector<channel_load> channels;
  time_point last_idle;   // earlier means idle longer
  std::uint64_t version = 0;

  // True when the worker can take one more task on channel_name.
  bool has_room(const std::string& channel_name, bool ignore_capacity) const;
  // True when the worker has room on any channel.
  bool has_any_room() const;
  int total_load() const;
  void add_load(const std::string& channel_name, int delta);
};

// A task as one queue routes it: its attributes, channel, place in order and
// the workflow target that sent it here.
struct queued_task {
  std::string sid;
  std::shared_ptr<const nlohmann::json> attributes;
  std::string channel_name; // the task channel's unique name ("chat")
  int priority = 0;
  std::uint64_t order = 0;
  bool ignore_capacity = false;
  std::shared_ptr<const expression> worker_filter;
  std::vector<order_clause> order_by;
  std::string known_worker_sid;
  std::string known_worker_name;
  std::vector<std::string> excluded; // workers that rejected it or let it time out
};

// A decision to offer task_sid to worker_sid.
struct offer {
  std::string task_sid;
  std::string worker_sid;
};

class queue_state {
 public:
  explicit queue_state(task_order order = task_order::fifo) : order_(order) {}

  // Changes FIFO/LIFO; waiting tasks are re-sorted.
  void set_order(task_order order);
  task_order order() const { return order_; }

  // How many workers may hold one task at once (MaxReservedWorkers): a task
  // keeps being offered until that many hold it; the first to accept wins.
  void set_max_reserved(int n);
  int max_reserved() const { return max_reserved_; }

  // Adds a waiting task. Replaces an entry with the same SID.
  void enqueue(queued_task t);
  // Forgets the task, whatever its state; false when it was not here.
  bool remove(const std::string& task_sid);
  // The reservation of exclude_worker ended without assignment (rejected or
  // timed out): that worker no longer holds the task and will not be offered
  // it again; the task waits in its old place. An empty exclude_worker
  // releases every holder. False when the task is unknown.
  bool requeue(const std::string& task_sid, const std::string& exclude_worker);
  // The worker (or, when empty, the task's oldest unanswered offer) refused.
  void offer_refused(const std::string& task_sid, const std::string& worker_sid = {});
  // The worker (likewise) took the offer: it now holds a reservation.
  void offer_accepted(const std::string& task_sid, const std::string& worker_sid = {});
  // Workers holding the task (offered or reserved).
  std::size_t holders(const std::string& task_sid) const;

  // Inserts or refreshes a worker's view; a view older than the cached one
  // (by version) is ignored.
  void upsert_worker(worker_view v);
  void remove_worker(const std::string& worker_sid);
  // The worker is gone for good: tasks offered to it that it never answered
  // wait again. (A worker that merely left the queue still answers its
  // offers, so remove_worker alone keeps them.)
  void release_offers(const std::string& worker_sid);
  bool has_worker(const std::string& worker_sid) const { return workers_.count(worker_sid) > 0; }

  // Offers to make now. Each offered task is marked offered and the worker's
  // cached load raised, so one call never offers a task twice or a worker
  // beyond its cached room.
  std::vector<offer> match();

  enum class task_phase { waiting, offered, reserved };
  // The task's phase here, or nullopt when it is not in this queue.
  std::optional<task_phase> phase(const std::string& task_sid) const;
  const queued_task* find(const std::string& task_sid) const;

  std::size_t waiting_count() const { return waiting_.size(); }
  std::size_t task_count() const { return tasks_.size(); }
  std::size_t worker_count() const { return workers_.size(); }
  // Eligible workers whose activity is available (skip_if's workers.available).
  std::size_t available_workers() const;
  // The waiting task that entered first (the oldest by order), if any.
  std::optional<std::string> oldest_waiting() const;
  // Waiting task SIDs in queue order.
  std::vector<std::string> waiting_in_order() const;
  const std::unordered_map<std::string, worker_view>& workers() const { return workers_; }

 private:
  struct key {
    int priority;
    std::uint64_t order;
    std::string sid;
  };
  // Holds the order by value (not a pointer to this) so copies stay valid.
  struct key_less {
    task_order order;
    bool operator()(const key& a, const key& b) const;
  };
  struct holder {
    std::string worker_sid;
    bool reserved = false; // false: the offer is not answered yet
  };
  struct entry {
    queued_task task;
    std::vector<holder> holders;
    bool waiting = true; // its key is in waiting_: it wants (more) workers
  };
  // Puts the entry in or out of waiting_ as its holders allow.
  void sync_waiting(entry& e);
  void waiting_insert(entry& e);
  void waiting_erase(entry& e);

  key key_of(const queued_task& t) const { return {t.priority, t.order, t.sid}; }
  struct entry;
  bool eligible(const worker_view& w, const entry& e) const;
  bool better(const worker_view& a, const worker_view& b, const queued_task& t) const;
  const worker_view* best_worker(const entry& e) const;
  void make_offer(entry& e, worker_view& w, std::vector<offer>& out);

  // Workers with room on a channel, idle longest first: the common case (no
  // order_by) takes the first eligible one instead of scanning every worker.
  struct idle_key {
    time_point last_idle;
    std::string sid;
  };
  // Looks an entry up without copying the SID.
  struct idle_ref {
    time_point last_idle;
    const std::string& sid;
  };
  struct idle_less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return a.last_idle != b.last_idle ? a.last_idle < b.last_idle : a.sid < b.sid;
    }
  };
  void unindex(const worker_view& w);
  void index(const worker_view& w);

  task_order order_;
  int max_reserved_ = 1;
  std::unordered_map<std::string, std::set<idle_key, idle_less>> room_;
  std::unordered_map<std::string, entry> tasks_;
  std::set<key, key_less> waiting_{key_less{order_}};
  std::size_t ignore_capacity_waiting_ = 0; // waiting tasks a full worker may still take
  std::unordered_map<std::string, worker_view> workers_;
  std::unordered_set<std::string> dirty_tasks_;
  std::unordered_set<std::string> dirty_workers_;
  // Offers each worker has not answered yet, by channel. A worker's own view
  // (upsert_worker) cannot count them, since it has not seen them; they are
  // added back on top of it so a fresh view never frees a slot twice.
  std::unordered_map<std::string, std::unordered_map<std::string, int>> unanswered_;
  void count_unanswered(const std::string& worker_sid, const std::string& channel, int delta);
};

} // namespace sb::model
