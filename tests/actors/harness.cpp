#include "harness.hpp"

#include <catch2/catch.hpp>

#include "actors/store_actor.hpp"
#include "test_support.hpp"

namespace sb::test {

harness::harness()
    : sys(testing_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys) {
  actors::workspace_options opts;
  directory = sys.spawn(actors::directory_actor, opts, actors::workspace_images{});
  run();
}

harness::harness(std::shared_ptr<store::database> db, actors::workspace_images images)
    : sys(testing_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys) {
  store = sys.spawn(actors::store_actor, std::move(db), actors::store_options{});
  actors::workspace_options opts;
  opts.store = store;
  if (!images.empty())
    workspace = images.front()->workspace.sid;
  directory = sys.spawn(actors::directory_actor, opts, std::move(images));
  run();
}

harness::~harness() {
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  if (store)
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  run();
}

void harness::run() { sched.run(); }

void harness::advance(caf::timespan d) {
  sched.advance_time(d);
  sched.run();
}

actors::tr_reply harness::call(actors::tr_call c) {
  self->send(directory, std::move(c));
  run();
  actors::tr_reply out;
  bool got = false;
  self->receive([&](actors::tr_reply& r) {
    out = std::move(r);
    got = true;
  }, caf::after(std::chrono::seconds(0)) >> [] {});
  REQUIRE(got);
  return out;
}

actors::tr_reply harness::op(actors::tr_op o, std::string sid, std::string sub_sid,
                             model::form_pairs params, std::size_t page_size) {
  actors::tr_call c;
  c.op = o;
  c.account_sid = account;
  c.workspace_sid = workspace;
  c.sid = std::move(sid);
  c.sub_sid = std::move(sub_sid);
  c.params = model::form{std::move(params)};
  c.page.size = page_size;
  return call(std::move(c));
}

template <class T>
T expect_one(const actors::tr_reply& r) {
  if (auto* e = std::get_if<model::error>(&r.value))
    FAIL("unexpected error " << e->code << ": " << e->message);
  auto* res = std::get_if<actors::resource>(&r.value);
  REQUIRE(res);
  auto* x = std::get_if<T>(res);
  REQUIRE(x);
  return *x;
}

template <class T>
std::vector<T> expect_page(const actors::tr_reply& r) {
  if (auto* e = std::get_if<model::error>(&r.value))
    FAIL("unexpected error " << e->code << ": " << e->message);
  auto* p = std::get_if<actors::page_result>(&r.value);
  REQUIRE(p);
  std::vector<T> out;
  for (auto& item : p->items)
    out.push_back(std::get<T>(item));
  return out;
}

template model::task expect_one<model::task>(const actors::tr_reply&);
template model::worker expect_one<model::worker>(const actors::tr_reply&);
template model::reservation expect_one<model::reservation>(const actors::tr_reply&);
template model::workspace expect_one<model::workspace>(const actors::tr_reply&);
template model::task_queue expect_one<model::task_queue>(const actors::tr_reply&);
template model::workflow expect_one<model::workflow>(const actors::tr_reply&);
template model::activity expect_one<model::activity>(const actors::tr_reply&);
template actors::statistics expect_one<actors::statistics>(const actors::tr_reply&);
template actors::worker_channel_ref expect_one<actors::worker_channel_ref>(const actors::tr_reply&);
template std::vector<model::task> expect_page<model::task>(const actors::tr_reply&);
template std::vector<model::worker> expect_page<model::worker>(const actors::tr_reply&);
template std::vector<model::reservation> expect_page<model::reservation>(const actors::tr_reply&);
template std::vector<model::event> expect_page<model::event>(const actors::tr_reply&);
template std::vector<model::activity> expect_page<model::activity>(const actors::tr_reply&);
template std::vector<model::task_queue> expect_page<model::task_queue>(const actors::tr_reply&);
template std::vector<actors::worker_channel_ref> expect_page<actors::worker_channel_ref>(const actors::tr_reply&);

model::error error_of(const actors::tr_reply& r) {
  if (auto* e = std::get_if<model::error>(&r.value))
    return *e;
  return model::error{model::errc::internal, 0, "no error"};
}

std::string harness::create_workspace(const std::string& name) {
  actors::tr_call c;
  c.op = actors::tr_op::workspace_create;
  c.account_sid = account;
  c.params.add("FriendlyName", name);
  auto ws = expect_one<model::workspace>(call(std::move(c)));
  workspace = ws.sid;
  return ws.sid;
}

std::string harness::activity_sid(const std::string& name) {
  for (auto& a : expect_page<model::activity>(op(actors::tr_op::activity_list)))
    if (a.friendly_name == name)
      return a.sid;
  FAIL("no activity " << name);
  return {};
}

std::string harness::create_queue(const std::string& name, const std::string& target_workers) {
  return expect_one<model::task_queue>(op(actors::tr_op::queue_create, {}, {},
                                          {{"FriendlyName", name}, {"TargetWorkers", target_workers}}))
    .sid;
}

std::string harness::create_worker(const std::string& name, const std::string& attributes,
                                   const std::string& activity) {
  return expect_one<model::worker>(op(actors::tr_op::worker_create, {}, {},
                                      {{"FriendlyName", name},
                                       {"Attributes", attributes},
                                       {"ActivitySid", activity_sid(activity)}}))
    .sid;
}

std::string harness::create_workflow(const std::string& name, const std::string& configuration,
                                     int reservation_timeout) {
  return expect_one<model::workflow>(
           op(actors::tr_op::workflow_create, {}, {},
              {{"FriendlyName", name},
               {"Configuration", configuration},
               {"TaskReservationTimeout", std::to_string(reservation_timeout)}}))
    .sid;
}

std::string harness::create_task(const std::string& attributes, int priority,
                                 const std::string& channel, int timeout) {
  return expect_one<model::task>(op(actors::tr_op::task_create, {}, {},
                                    {{"Attributes", attributes},
                                     {"Priority", std::to_string(priority)},
                                     {"TaskChannel", channel},
                                     {"Timeout", std::to_string(timeout)}}))
    .sid;
}

model::task harness::task(const std::string& sid) {
  return expect_one<model::task>(op(actors::tr_op::task_fetch, sid));
}

model::worker harness::worker(const std::string& sid) {
  return expect_one<model::worker>(op(actors::tr_op::worker_fetch, sid));
}

std::vector<model::reservation> harness::worker_reservations(const std::string& worker_sid) {
  return expect_page<model::reservation>(op(actors::tr_op::worker_reservation_list, worker_sid));
}

std::vector<model::event> harness::events(const std::string& type) {
  model::form_pairs p;
  if (!type.empty())
    p.emplace_back("EventType", type);
  return expect_page<model::event>(op(actors::tr_op::event_list, {}, {}, p, 100000));
}

nlohmann::json harness::queue_stats(const std::string& queue_sid) {
  return expect_one<actors::statistics>(op(actors::tr_op::queue_realtime_statistics, queue_sid)).doc;
}

} // namespace sb::test
