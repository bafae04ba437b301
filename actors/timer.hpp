#pragma once
// Keyed deadlines for one actor with a single armed wake-up (timers_due).
// Uses the actor's clock, so CAF's test coordinator drives it in virtual time.

#include <optional>

#include <caf/all.hpp>

#include "actors/messages.hpp"
#include "model/deadlines.hpp"

namespace sb::actors {

class actor_timers {
 public:
  using time_point = caf::actor_clock::time_point;

  // Sets key's deadline `after` from now and makes sure a wake-up is armed.
  template <class Self, class Duration>
  void schedule(Self* self, const std::string& key, Duration after) {
    set_.schedule(key, self->clock().now() + after);
    arm(self);
  }
  void cancel(const std::string& key) { set_.cancel(key); }
  bool contains(const std::string& key) const { return set_.contains(key); }
  std::optional<time_point> deadline_of(const std::string& key) const {
    return set_.deadline_of(key);
  }

  // Call on timers_due: returns the keys that are due and re-arms.
  template <class Self>
  std::vector<std::string> due(Self* self) {
    armed_.reset();
    auto keys = set_.pop_due(self->clock().now());
    arm(self);
    return keys;
  }

 private:
  template <class Self>
  void arm(Self* self) {
    auto next = set_.next();
    if (!next || (armed_ && *armed_ <= *next))
      return;
    armed_ = *next;
    auto now = self->clock().now();
    auto delay = *next > now ? *next - now : caf::actor_clock::duration_type{0};
    self->delayed_send(self, delay, timers_due{});
  }

  model::deadlines<time_point> set_;
  std::optional<time_point> armed_;
};

} // namespace sb::actors
