// Passivation on CAF's test coordinator (virtual time, one message at a time
// where it matters): the Conversations root with a real store writer over an
// in-memory SQLite database that can be made unreadable. What HTTP tests
// cannot arrange: a call that reaches the root while it is stopping the
// conversation, a store that cannot be read when a conversation must start
// again, a passive conversation deleted.

#include <catch2/catch.hpp>

#include <optional>

#include <caf/all.hpp>

#include "actors/conversations_actor.hpp"
#include "actors/store_actor.hpp"
#include "metrics/metrics.hpp"
#include "test_support.hpp"

using namespace sb;
using actors::cv_call;
using actors::cv_op;
using actors::cv_reply;

namespace {

const std::string account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
constexpr auto idle = std::chrono::milliseconds(100);

using test::testing_config;

struct fixture {
  fixture()
      : sys(testing_config(cfg)),
        sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
        self(sys) {
    actors::store_options sopts;
    sopts.metrics = registry.store();
    sopts.writable = std::make_shared<std::atomic<bool>>(true);
    store = sys.spawn(actors::store_actor, std::shared_ptr<store::database>(db), sopts);
    actors::conversation_options copts;
    copts.store = store;
    copts.passivate_after = idle;
    root = sys.spawn(actors::conversations_actor, copts, std::shared_ptr<const store::conversations_image>{},
                     registry.conversations());
    sched.run();
  }
  ~fixture() {
    caf::anon_send_exit(root, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    sched.run();
  }

  cv_call call(cv_op op, std::string conversation = {}, model::form_pairs p = {}) {
    cv_call c;
    c.op = op;
    c.account_sid = account;
    c.conversation = std::move(conversation);
    c.params = model::form{std::move(p)};
    return c;
  }
  // Sends c to the root without running anything.
  void send(cv_call c) { self->send(root, std::move(c)); }
  // Every answer that has arrived, in order; never waits.
  std::vector<cv_reply> answers() {
    std::vector<cv_reply> out;
    for (bool more = true; more;)
      self->receive([&](cv_reply& r) { out.push_back(std::move(r)); },
                    caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    return out;
  }
  // Sends c, runs until idle and returns its answer, which must have come.
  cv_reply ask(cv_call c) {
    send(std::move(c));
    sched.run();
    auto a = answers();
    REQUIRE(a.size() == 1);
    return a.front();
  }
  // Lets the idle period pass and everything that follows run.
  void pass_idle_period() {
    sched.advance_time(idle);
    sched.run();
  }
  double live() const { return registry.conversations().live->Value(); }
  double passive() const { return registry.conversations().passive->Value(); }
  double activations() const { return registry.conversations().activations->Value(); }
  double passivations() const { return registry.conversations().passivations->Value(); }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  metrics::registry registry;
  std::shared_ptr<test::flaky_database> db = std::make_shared<test::flaky_database>();
  caf::actor store;
  caf::actor root;
};

template <class T>
const T& resource_of(const cv_reply& r) {
  INFO((std::holds_alternative<model::error>(r.value) ? std::get<model::error>(r.value).message : ""));
  REQUIRE(std::holds_alternative<actors::cv_resource>(r.value));
  return std::get<T>(std::get<actors::cv_resource>(r.value));
}

std::string error_of(const cv_reply& r) {
  REQUIRE(std::holds_alternative<model::error>(r.value));
  return std::to_string(std::get<model::error>(r.value).code);
}

} // namespace

TEST_CASE("passivation: an idle conversation stops after its period and its next call starts it again",
          "[actors][passivation]") {
  fixture f;
  auto ch = resource_of<model::cv::conversation>(f.ask(f.call(cv_op::conversation_create))).sid;
  CHECK(resource_of<model::cv::message>(f.ask(f.call(cv_op::message_create, ch, {{"Body", "one"}}))).index == 0);
  CHECK(f.live() == 1);
  // Not idle long enough: nothing happens.
  f.sched.advance_time(idle / 2);
  f.sched.run();
  CHECK(f.live() == 1);
  f.pass_idle_period();
  CHECK(f.live() == 0);
  CHECK(f.passive() == 1);
  CHECK(f.passivations() == 1);
  // Two calls at once: the first starts it, both are answered in order.
  f.send(f.call(cv_op::message_create, ch, {{"Body", "two"}}));
  f.send(f.call(cv_op::message_create, ch, {{"Body", "three"}}));
  f.sched.run();
  auto a = f.answers();
  REQUIRE(a.size() == 2);
  CHECK(resource_of<model::cv::message>(a[0]).index == 1);
  CHECK(resource_of<model::cv::message>(a[1]).index == 2);
  CHECK(f.activations() == 1);
  CHECK(f.live() == 1);
}

TEST_CASE("passivation: a call that reaches the root while it stops the conversation waits for it",
          "[actors][passivation]") {
  fixture f;
  auto ch = resource_of<model::cv::conversation>(f.ask(f.call(cv_op::conversation_create))).sid;
  f.ask(f.call(cv_op::message_create, ch, {{"Body", "one"}}));
  // The idle timer fires; the conversation alone runs and tells the root.
  f.sched.advance_time(idle);
  REQUIRE(f.sched.try_run_once());
  // The root now holds cv_idle; a call arrives behind it, while it asks
  // the conversation to stop.
  f.send(f.call(cv_op::message_create, ch, {{"Body", "two"}}));
  f.sched.run();
  auto a = f.answers();
  REQUIRE(a.size() == 1);
  CHECK(resource_of<model::cv::message>(a[0]).index == 1);
  // It was stopped, then started again for the call that waited.
  CHECK(f.passivations() == 1);
  CHECK(f.activations() == 1);
  CHECK(f.live() == 1);
  auto page = f.ask(f.call(cv_op::message_list, ch));
  REQUIRE(std::holds_alternative<actors::cv_page>(page.value));
  CHECK(std::get<actors::cv_page>(page.value).items.size() == 2);
}

TEST_CASE("passivation: a store that cannot be read refuses the first call with 503 and changes nothing",
          "[actors][passivation]") {
  fixture f;
  auto ch = resource_of<model::cv::conversation>(f.ask(f.call(cv_op::conversation_create))).sid;
  f.ask(f.call(cv_op::message_create, ch, {{"Body", "one"}}));
  f.pass_idle_period();
  REQUIRE(f.passive() == 1);
  f.db->failing_reads = true;
  f.send(f.call(cv_op::message_create, ch, {{"Body", "lost?"}}));
  f.send(f.call(cv_op::conversation_fetch, ch));
  f.sched.run();
  auto refused = f.answers();
  REQUIRE(refused.size() == 2);
  CHECK(error_of(refused[0]) == "20503");
  CHECK(error_of(refused[1]) == "20503");
  CHECK(f.passive() == 1);
  CHECK(f.activations() == 0);
  // Readable again: the next call starts it, and the refused message is not there.
  f.db->failing_reads = false;
  CHECK(resource_of<model::cv::message>(f.ask(f.call(cv_op::message_create, ch, {{"Body", "two"}}))).index == 1);
  auto page = f.ask(f.call(cv_op::message_list, ch));
  REQUIRE(std::holds_alternative<actors::cv_page>(page.value));
  CHECK(std::get<actors::cv_page>(page.value).items.size() == 2);
}

TEST_CASE("passivation: a passive conversation can be deleted, and its calls then find nothing",
          "[actors][passivation]") {
  fixture f;
  auto ch = resource_of<model::cv::conversation>(f.ask(f.call(cv_op::conversation_create))).sid;
  f.pass_idle_period();
  REQUIRE(f.passive() == 1);
  CHECK(std::holds_alternative<std::monostate>(f.ask(f.call(cv_op::conversation_delete, ch)).value));
  CHECK(f.live() == 0);
  CHECK(f.passive() == 0);
  CHECK(error_of(f.ask(f.call(cv_op::conversation_fetch, ch))) == "20404");
  // Nothing of it is left in the store to come back.
  CHECK(f.db->load_scope(ch).empty());
}
