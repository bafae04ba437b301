#pragma once
// What several actor test files share: the test coordinator's configuration
// and a real in-memory database whose writes and reads fail on demand.

#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "store/database.hpp"

namespace sb::test {

// CAF's test coordinator (one thread, virtual time), without log output.
inline caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
}

// The real database behind a wrapper that counts write() calls, keeps what
// each call was given, and fails writes (as a full disk does) or reads (as
// an I/O error does) on demand.
class flaky_database final : public store::database {
 public:
  flaky_database() : real_(store::open_sqlite({}, store::durability::memory)) {}
  void write(const store::encoded_batch& b) override {
    ++calls;
    attempts.push_back(b);
    if (failing)
      throw store::store_error("database or disk is full");
    real_->write(b);
  }
  std::vector<store::row> load_entities() override { return real_->load_entities(); }
  std::vector<store::row> load_scope(const std::string& scope) override {
    if (failing_reads)
      throw store::store_error("disk I/O error");
    return real_->load_scope(scope);
  }
  std::vector<store::event_row> load_events(std::int64_t since_ms, std::size_t limit) override {
    return real_->load_events(since_ms, limit);
  }
  std::size_t purge_events(std::int64_t before_ms) override { return real_->purge_events(before_ms); }

  int calls = 0;
  bool failing = false;
  bool failing_reads = false;
  std::vector<store::encoded_batch> attempts;

 private:
  std::unique_ptr<store::database> real_;
};

} // namespace sb::test
