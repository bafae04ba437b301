#pragma once
// A set of keyed deadlines, earliest first. An actor keeps one of these and
// one armed wake-up for next(), instead of one delayed message per timer.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace sb::model {

template <class TimePoint>
class deadlines {
 public:
  // Sets (or moves) the deadline of key.
  void schedule(const std::string& key, TimePoint at) {
    cancel(key);
    auto it = by_time_.emplace(at, key);
    by_key_.emplace(key, it);
  }
  // Forgets key's deadline; harmless when there is none.
  void cancel(const std::string& key) {
    auto it = by_key_.find(key);
    if (it == by_key_.end())
      return;
    by_time_.erase(it->second);
    by_key_.erase(it);
  }
  bool contains(const std::string& key) const { return by_key_.count(key) > 0; }
  std::optional<TimePoint> deadline_of(const std::string& key) const {
    auto it = by_key_.find(key);
    if (it == by_key_.end())
      return std::nullopt;
    return it->second->first;
  }
  // The earliest deadline, if any.
  std::optional<TimePoint> next() const {
    if (by_time_.empty())
      return std::nullopt;
    return by_time_.begin()->first;
  }
  // Removes and returns every key whose deadline is at or before now.
  std::vector<std::string> pop_due(TimePoint now) {
    std::vector<std::string> out;
    while (!by_time_.empty() && by_time_.begin()->first <= now) {
      out.push_back(by_time_.begin()->second);
      by_key_.erase(by_time_.begin()->second);
      by_time_.erase(by_time_.begin());
    }
    return out;
  }
  std::size_t size() const { return by_key_.size(); }

 private:
  using time_map = std::multimap<TimePoint, std::string>;
  time_map by_time_;
  std::unordered_map<std::string, typename time_map::iterator> by_key_;
};

} // namespace sb::model
