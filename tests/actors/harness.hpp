#pragma once
// A deterministic actor system for tests: CAF's test coordinator runs every
// actor on this thread, and virtual time moves only when a test advances it.

#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/directory_actor.hpp"
#include "actors/messages.hpp"
#include "store/database.hpp"

namespace sb::test {

struct harness {
  harness();
  // With a store writer over db (spawned on the test coordinator too) and the
  // workspaces a restart recovered from it.
  explicit harness(std::shared_ptr<store::database> db, actors::workspace_images images = {});
  ~harness();

  // Sends call to the directory, runs every actor until idle, returns the reply.
  actors::tr_reply call(actors::tr_call c);
  // Convenience: op on the test workspace with form params.
  actors::tr_reply op(actors::tr_op o, std::string sid = {}, std::string sub_sid = {},
                      model::form_pairs params = {}, std::size_t page_size = 1000);
  // Advances virtual time and runs every actor until idle.
  void advance(caf::timespan d);
  void run();

  std::string create_workspace(const std::string& name);
  std::string activity_sid(const std::string& name);
  std::string create_queue(const std::string& name, const std::string& target_workers);
  std::string create_worker(const std::string& name, const std::string& attributes,
                            const std::string& activity = "Available");
  std::string create_workflow(const std::string& name, const std::string& configuration,
                              int reservation_timeout = 120);
  std::string create_task(const std::string& attributes, int priority = 0,
                          const std::string& channel = "default", int timeout = 86400);
  model::task task(const std::string& sid);
  model::worker worker(const std::string& sid);
  std::vector<model::reservation> worker_reservations(const std::string& worker_sid);
  std::vector<model::event> events(const std::string& type = {});
  nlohmann::json queue_stats(const std::string& queue_sid);

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  caf::actor directory;
  caf::actor store;
  std::string account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  std::string workspace;
};

// Unwraps one resource of type T or fails the test with the error message.
template <class T>
T expect_one(const actors::tr_reply& r);
// The error of a reply, or a default error with code 0 when it succeeded.
model::error error_of(const actors::tr_reply& r);
// Items of a page reply as T.
template <class T>
std::vector<T> expect_page(const actors::tr_reply& r);

} // namespace sb::test
