// In-process Conversations benchmark (issue 4), no HTTP. Two modes.
//
// Messages (the default): per durability setting (full, normal, memory, and
// "none": no store at all, the actors alone), a fresh store in a temporary
// directory and a fresh conversations root wired as api/main.cpp wires them;
// 1,000 conversations with the chat participants agent-n and customer-n,
// then message_create calls by customer-n rotating over the conversations,
// a driver actor keeping --window requests in flight. Prints messages per
// second, latency percentiles, the store's commit share and changes per
// commit, the process's CPU; beside them the baseline of the same run: the
// same driver, calls and window against an actor that answers every call at
// once. Target: 30,000 messages/s with durability full.
//
// Idle (--idle N): N conversations created and left idle; resident memory
// (VmRSS, and RssAnon which leaves out mapped files) before, after the first
// N/10 and after all N, and bytes per idle conversation for both steps, so
// linearity shows; N shrinks when the process would pass ~3 GB. Then where
// the bytes go: each part (record, bare CAF actor, state, conversation
// actor) built alone, in tcmalloc's heap bytes. Target: at most 2 KB per
// idle conversation. With --passivate-after-ms M (> 0, needs a store) the
// conversations are created in chunks and each chunk is left to passivate
// (the root's passive count reaching it) before the next starts, so the
// figures are those of passive conversations; the live figures of a run
// without it are the baseline.
//
// usage: conversations_bench [--conversations N] [--messages N] [--window N]
//                            [--modes full,normal,memory,none] [--threads N]
//        conversations_bench --idle N [--idle-store full|normal|memory|none]
//                            [--participants P] [--window N] [--threads N]
//                            [--passivate-after-ms M]

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/conversations_actor.hpp"
#include "actors/store_actor.hpp"
#include "metrics/metrics.hpp"
#include "model/sid.hpp"
#include "store/database.hpp"

#if defined(SB_BENCH_TCMALLOC)
#include <gperftools/malloc_extension_c.h>
#endif

using namespace sb;
using actors::cv_call;
using actors::cv_op;
using actors::cv_reply;
using clock_type = std::chrono::steady_clock;

namespace {

struct params {
  std::size_t conversations = 1000;
  std::size_t messages = 300000;
  std::size_t window = 1000;
  std::vector<std::string> modes{"full", "normal", "memory", "none"};
  std::size_t threads = 0; // 0: one per core, as the server
  std::size_t idle = 0;    // > 0: the idle-memory mode
  std::string idle_store = "full";
  std::size_t participants = 0; // chat participants per idle conversation
  std::size_t passivate_ms = 0; // idle mode: > 0 passivates the conversations
};

const std::string account = "AC" + std::string(32, 'b');

// ------------------------------------------------------------- the driver --

using run_atom = caf::atom_constant<caf::atom("run")>;

// One run: `total` calls made by make(i), at most `window` in flight.
struct batch {
  caf::actor target;
  std::function<cv_call(std::size_t)> make;
  std::function<void(std::size_t, cv_reply&)> on_reply; // may be empty
  std::size_t total = 0;
  std::size_t window = 1;
  bool record_latency = false;
  // Filled by the driver.
  std::size_t issued = 0, answered = 0, failed = 0;
  std::map<int, std::size_t> error_codes; // Twilio code (0: no answer) -> count
  std::string first_error;
  std::vector<double> latency_us;
  clock_type::time_point start;
  double seconds = 0;
  caf::response_promise done;
};
using batch_ptr = std::shared_ptr<batch>;

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(batch_ptr)

namespace {

void issue(caf::event_based_actor* self, const batch_ptr& b);

void answered(caf::event_based_actor* self, const batch_ptr& b) {
  ++b->answered;
  if (b->issued < b->total)
    issue(self, b);
  else if (b->answered == b->total) {
    b->seconds = std::chrono::duration<double>(clock_type::now() - b->start).count();
    b->done.deliver(true);
  }
}

void issue(caf::event_based_actor* self, const batch_ptr& b) {
  auto i = b->issued++;
  auto t0 = b->record_latency ? clock_type::now() : clock_type::time_point{};
  // No timeout: a request with one registers it with CAF's clock thread,
  // which would be the driver's cost, not the server's.
  self->request(b->target, caf::infinite, b->make(i))
    .then(
      [=](cv_reply& r) {
        if (auto* e = std::get_if<model::error>(&r.value)) {
          ++b->failed;
          ++b->error_codes[e->code];
          if (b->first_error.empty())
            b->first_error = std::to_string(e->code) + " " + e->message;
        } else if (b->on_reply) {
          b->on_reply(i, r);
        }
        if (b->record_latency)
          b->latency_us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        answered(self, b);
      },
      [=](caf::error& e) {
        ++b->failed;
        ++b->error_codes[0];
        if (b->first_error.empty())
          b->first_error = self->system().render(e);
        answered(self, b);
      });
}

caf::behavior driver(caf::event_based_actor* self) {
  return {
    [=](run_atom, batch_ptr& b) {
      b->done = self->make_response_promise();
      b->start = clock_type::now();
      if (b->record_latency)
        b->latency_us.reserve(b->total);
      if (b->total == 0) {
        b->done.deliver(true);
        return;
      }
      for (std::size_t k = 0; k < std::min(b->window, b->total); ++k)
        issue(self, b);
    },
  };
}

// Runs b to its end; exits the process when a call failed and must_succeed.
void run(caf::scoped_actor& self, const caf::actor& drv, const batch_ptr& b, const char* what,
         bool must_succeed = true) {
  self->request(drv, caf::infinite, run_atom::value, b)
    .receive([](bool) {},
             [&](caf::error& e) {
               std::fprintf(stderr, "%s: driver failed: %s\n", what, self->system().render(e).c_str());
               std::exit(1);
             });
  if (must_succeed && b->failed > 0) {
    std::fprintf(stderr, "%s: %zu of %zu calls failed, first: %s\n", what, b->failed, b->total,
                 b->first_error.c_str());
    std::exit(1);
  }
}

// The actor every call of the baseline goes to: it answers at once.
caf::behavior echo(caf::event_based_actor*) {
  return {[](cv_call&) { return cv_reply{std::monostate{}}; }};
}

// ------------------------------------------------------------ a server --

cv_call make_call(cv_op op, std::string conversation = {}, model::form_pairs p = {}) {
  cv_call c;
  c.op = op;
  c.account_sid = account;
  c.conversation = std::move(conversation);
  c.params = model::form{std::move(p)};
  return c;
}

// The store figures, from the store writer's histograms.
struct store_figures {
  double commit_seconds = 0, commits = 0, changes = 0;
};
store_figures read_store(const metrics::store_metrics& m) {
  if (!m.commit_seconds)
    return {};
  auto c = m.commit_seconds->Collect().histogram;
  auto b = m.batch_changes->Collect().histogram;
  return {c.sample_sum, static_cast<double>(c.sample_count), b.sample_sum};
}

// A store writer and a conversations root as api/main.cpp wires them
// (without webhooks, address configurations and the messaging edge), on a
// fresh database in its own temporary directory. mode "none": no store.
class server {
 public:
  server(caf::actor_system& sys, const std::string& mode, std::size_t passivate_ms = 0) : sys_(sys) {
    actors::conversation_options copts;
    copts.passivate_after = std::chrono::milliseconds(passivate_ms);
    if (mode != "none") {
      auto d = store::parse_durability(mode);
      if (!d) {
        std::fprintf(stderr, "unknown durability %s\n", mode.c_str());
        std::exit(2);
      }
      dir_ = std::filesystem::temp_directory_path() / ("sb-cv-bench-" + model::random_hex32());
      std::filesystem::create_directories(dir_);
      std::shared_ptr<store::database> db = store::open_sqlite(dir_ / "switchboard.db", *d);
      actors::store_options stopts;
      stopts.metrics = metrics_.store();
      stopts.writable = std::make_shared<std::atomic<bool>>(true);
      store_ = sys.spawn<caf::detached>(actors::store_actor, db, stopts);
      copts.store = store_;
    }
    copts.write_rate = 500;
    copts.write_burst = 1000;
    root_ = sys.spawn(actors::conversations_actor, copts, std::shared_ptr<const store::conversations_image>{},
                      metrics_.conversations());
  }
  ~server() {
    caf::anon_send_exit(root_, caf::exit_reason::user_shutdown);
    if (store_) {
      caf::scoped_actor self{sys_};
      self->request(store_, std::chrono::seconds(60), actors::store_sync{})
        .receive([](bool) {}, [](caf::error&) {});
      self->send_exit(store_, caf::exit_reason::user_shutdown);
      self->wait_for(store_);
    }
    std::error_code ec;
    if (!dir_.empty())
      std::filesystem::remove_all(dir_, ec);
  }
  const caf::actor& root() const { return root_; }
  store_figures store() const { return read_store(metrics_.store()); }
  double passive() const { return metrics_.conversations().passive->Value(); }

 private:
  caf::actor_system& sys_;
  metrics::registry metrics_;
  std::filesystem::path dir_;
  caf::actor store_;
  caf::actor root_;
};

// Creates n conversations (FriendlyName bench-k) through b's driver; their
// SIDs in creation order.
std::vector<std::string> create_conversations(caf::scoped_actor& self, const caf::actor& drv, const server& srv,
                                              std::size_t first, std::size_t n, std::size_t window) {
  std::vector<std::string> sids(n);
  auto b = std::make_shared<batch>();
  b->target = srv.root();
  b->total = n;
  b->window = window;
  b->make = [first](std::size_t i) {
    return make_call(cv_op::conversation_create, {}, {{"FriendlyName", "bench-" + std::to_string(first + i)}});
  };
  b->on_reply = [&sids](std::size_t i, cv_reply& r) {
    sids[i] = std::get<model::cv::conversation>(std::get<actors::cv_resource>(r.value)).sid;
  };
  run(self, drv, b, "conversation create");
  return sids;
}

// Adds the chat participants agent-k and customer-k (k = first + index) to
// each conversation; more than two: agent-k-2, agent-k-3, ...
void add_participants(caf::scoped_actor& self, const caf::actor& drv, const server& srv,
                      const std::vector<std::string>& sids, std::size_t first, std::size_t per,
                      std::size_t window) {
  if (per == 0)
    return;
  auto b = std::make_shared<batch>();
  b->target = srv.root();
  b->total = sids.size() * per;
  b->window = window;
  b->make = [&sids, first, per](std::size_t i) {
    auto k = std::to_string(first + i / per);
    auto which = i % per;
    auto identity = which == 0 ? "agent-" + k : which == 1 ? "customer-" + k : "agent-" + k + "-" + std::to_string(which);
    return make_call(cv_op::participant_create, sids[i / per], {{"Identity", identity}});
  };
  run(self, drv, b, "participant create");
}

// ----------------------------------------------------------- measurement --

struct percentiles {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
};
percentiles summarize(std::vector<double>& us) {
  if (us.empty())
    return {};
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))]; };
  return {at(0.5), at(0.99), at(0.999), us.back()};
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

// A "Name: N kB" field of a /proc file in KiB; -1 when absent.
long proc_field_kb(const char* file, const char* name) {
  std::ifstream in(file);
  std::string line;
  auto len = std::strlen(name);
  while (std::getline(in, line))
    if (line.compare(0, len, name) == 0 && line.size() > len && line[len] == ':')
      return std::atol(line.c_str() + len + 1);
  return -1;
}

// A field of /proc/self/status (VmRSS, RssAnon, ...) or /proc/meminfo.
long status_kb(const char* name) { return proc_field_kb("/proc/self/status", name); }
long meminfo_kb(const char* name) { return proc_field_kb("/proc/meminfo", name); }

// Heap bytes the allocator has handed out (tcmalloc only; -1 otherwise).
long long heap_bytes() {
#if defined(SB_BENCH_TCMALLOC)
  size_t v = 0;
  if (MallocExtension_GetNumericProperty("generic.current_allocated_bytes", &v))
    return static_cast<long long>(v);
#endif
  return -1;
}

struct memory_sample {
  long rss_kb, anon_kb;
  long long heap;
};
memory_sample sample_memory() { return {status_kb("VmRSS"), status_kb("RssAnon"), heap_bytes()}; }

// ---------------------------------------------------------------- modes --

// The message throughput of one durability setting.
struct mode_result {
  std::string mode;
  double rate = 0;
  percentiles latency;
  std::size_t failed = 0;
  std::string first_error;
  double disk_share = 0, changes_per_commit = 0, commits_per_s = 0;
  double cpu_cores = 0, cpu_us_per_message = 0;
  double setup_seconds = 0;
};

mode_result run_messages(caf::actor_system& sys, caf::scoped_actor& self, const caf::actor& drv,
                         const params& p, const std::string& mode) {
  mode_result out;
  out.mode = mode;
  server srv{sys, mode};
  auto t0 = clock_type::now();
  auto sids = create_conversations(self, drv, srv, 1, p.conversations, std::min<std::size_t>(p.window, 256));
  add_participants(self, drv, srv, sids, 1, 2, std::min<std::size_t>(p.window, 256));
  out.setup_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();

  // The calls, made once; the driver copies one per request as the HTTP
  // adapter builds one per request.
  std::vector<cv_call> calls;
  for (std::size_t k = 0; k < sids.size(); ++k)
    calls.push_back(make_call(cv_op::message_create, sids[k],
                              {{"Author", "customer-" + std::to_string(k + 1)},
                               {"Body", "Hi, I need help with my order " + std::to_string(k + 1) +
                                          ", it has not arrived yet."}}));
  auto make_batch = [&](std::size_t total, bool latency) {
    auto b = std::make_shared<batch>();
    b->target = srv.root();
    b->total = total;
    b->window = p.window;
    b->record_latency = latency;
    b->make = [&calls](std::size_t i) { return calls[i % calls.size()]; };
    return b;
  };
  // Warm-up: the first messages also grow SQLite's file and tables.
  run(self, drv, make_batch(std::min<std::size_t>(p.messages / 10, 20000), false), "warm-up", false);

  auto before = srv.store();
  auto cpu0 = cpu_seconds();
  auto b = make_batch(p.messages, true);
  run(self, drv, b, "messages", false);
  auto cpu = cpu_seconds() - cpu0;
  auto after = srv.store();
  out.rate = p.messages / b->seconds;
  out.latency = summarize(b->latency_us);
  out.failed = b->failed;
  out.first_error = b->first_error;
  out.cpu_cores = cpu / b->seconds;
  out.cpu_us_per_message = 1e6 * cpu / p.messages;
  double commits = after.commits - before.commits;
  out.disk_share = (after.commit_seconds - before.commit_seconds) / b->seconds;
  out.changes_per_commit = commits > 0 ? (after.changes - before.changes) / commits : 0;
  out.commits_per_s = commits / b->seconds;
  return out;
}

double run_baseline(caf::actor_system& sys, caf::scoped_actor& self, const caf::actor& drv, const params& p,
                    percentiles& latency) {
  auto target = sys.spawn(echo);
  std::vector<cv_call> calls;
  for (std::size_t k = 0; k < p.conversations; ++k)
    calls.push_back(make_call(cv_op::message_create, model::make_sid("CH"),
                              {{"Author", "customer-" + std::to_string(k + 1)},
                               {"Body", "Hi, I need help with my order " + std::to_string(k + 1) +
                                          ", it has not arrived yet."}}));
  auto make_batch = [&](std::size_t total) {
    auto b = std::make_shared<batch>();
    b->target = target;
    b->total = total;
    b->window = p.window;
    b->record_latency = true;
    b->make = [&calls](std::size_t i) { return calls[i % calls.size()]; };
    return b;
  };
  run(self, drv, make_batch(std::min<std::size_t>(p.messages / 10, 20000)), "baseline warm-up");
  auto b = make_batch(p.messages);
  run(self, drv, b, "baseline");
  latency = summarize(b->latency_us);
  self->send_exit(target, caf::exit_reason::user_shutdown);
  return p.messages / b->seconds;
}

int messages_mode(caf::actor_system& sys, const params& p) {
  caf::scoped_actor self{sys};
  auto drv = sys.spawn(driver);
  std::printf("in-process messages: %zu conversations with 2 chat participants each, %zu messages per mode "
              "(after a warm-up), %zu requests in flight, %zu scheduler threads\n",
              p.conversations, p.messages, p.window, p.threads);
  std::vector<mode_result> results;
  for (auto& mode : p.modes) {
    auto r = run_messages(sys, self, drv, p, mode);
    std::printf("  %-7s %9.0f messages/s   p50 %.0f us  p99 %.0f us  p99.9 %.0f us  max %.0f us   failed %zu%s%s\n",
                mode.c_str(), r.rate, r.latency.p50, r.latency.p99, r.latency.p999, r.latency.max, r.failed,
                r.failed ? ", first: " : "", r.first_error.c_str());
    if (mode != "none")
      std::printf("          disk share %.2f   changes/commit %.1f   commits/s %.0f\n", r.disk_share,
                  r.changes_per_commit, r.commits_per_s);
    std::printf("          process CPU %.2f cores (%.1f us per message)   set-up %.1f s\n", r.cpu_cores,
                r.cpu_us_per_message, r.setup_seconds);
    std::fflush(stdout);
    results.push_back(r);
  }
  percentiles bl;
  double base = run_baseline(sys, self, drv, p, bl);
  std::printf("  baseline %8.0f calls/s      p50 %.0f us  p99 %.0f us   (the same driver, calls and window "
              "against an actor that answers at once)\n",
              base, bl.p50, bl.p99);
  for (auto& r : results) {
    std::printf("  ratio %-7s / baseline: %.3f", r.mode.c_str(), r.rate / base);
    if (r.mode == "full")
      std::printf("   target 30,000 messages/s: %s", r.rate >= 30000 ? "met" : "not met");
    std::printf("\n");
  }
  self->send_exit(drv, caf::exit_reason::user_shutdown);
  return 0;
}

// Heap bytes per object of n objects that make() builds and keeps (in a
// vector, whose own share is counted), after spawned actors have started.
template <class Make>
double heap_each(std::size_t n, Make make) {
  using held = decltype(make(std::size_t{}));
  std::vector<held> keep;
  auto before = heap_bytes();
  keep.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    keep.push_back(make(i));
  // Spawned actors build their behavior when first scheduled.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto after = heap_bytes();
  return static_cast<double>(after - before) / n;
}

caf::behavior bare_actor(caf::event_based_actor*) {
  return {[](int) {}};
}

struct empty_state {
  static inline const char* name = "empty";
};
caf::behavior bare_stateful_actor(caf::stateful_actor<empty_state>*) {
  return {[](int) {}};
}

caf::behavior state_only_actor(actors::conversation_actor_type*) {
  return {[](int) {}};
}

// Where an idle conversation's bytes go, each part built alone n times.
void breakdown(caf::actor_system& sys, std::size_t n) {
  if (heap_bytes() < 0) {
    std::printf("  (breakdown needs the tcmalloc build)\n");
    return;
  }
  model::cv::conversation conv;
  conv.sid = model::make_sid("CH");
  conv.account_sid = account;
  conv.chat_service_sid = model::make_sid("IS");
  conv.friendly_name = "bench-1";
  auto copy_record = [&](std::size_t) {
    auto c = conv;
    c.sid = model::make_sid("CH");
    return c;
  };
  double record = heap_each(n, copy_record);
  double bare = heap_each(n, [&](std::size_t) { return sys.spawn(bare_actor); });
  double bare_stateful = heap_each(n, [&](std::size_t) { return sys.spawn(bare_stateful_actor); });
  double with_state = heap_each(n, [&](std::size_t) { return sys.spawn(state_only_actor); });
  actors::conversation_options copts;
  auto conv_actor = heap_each(n, [&](std::size_t i) {
    actors::conversation_seed seed;
    seed.conv = copy_record(i);
    return sys.spawn(actors::conversation_actor, std::move(seed), caf::actor{}, copts);
  });
  std::printf("  breakdown (heap bytes each, %zu of each built alone, with its handle):\n", n);
  std::printf("    conversation record (model::cv::conversation, %zu B; SIDs are heap strings)  %6.0f\n",
              sizeof(model::cv::conversation), record);
  std::printf("    bare CAF event-based actor, one handler                                      %6.0f\n", bare);
  std::printf("    bare CAF stateful actor, empty state                                         %6.0f\n",
              bare_stateful);
  std::printf("    stateful actor with conversation_state (%zu B), default-constructed         %6.0f\n",
              sizeof(actors::conversation_state), with_state);
  std::printf("    conversation actor as the root spawns it (record, behavior, 5 handlers)      %6.0f\n",
              conv_actor);
}

// Sends a conversation_fetch to each conversation through the root: every
// actor has started and answered once, and its mailbox is empty again.
void touch_all(caf::scoped_actor& self, const caf::actor& drv, const server& srv,
               const std::vector<std::string>& sids, std::size_t window) {
  auto b = std::make_shared<batch>();
  b->target = srv.root();
  b->total = sids.size();
  b->window = window;
  b->make = [&sids](std::size_t i) { return make_call(cv_op::conversation_fetch, sids[i]); };
  run(self, drv, b, "conversation fetch");
}

int idle_mode(caf::actor_system& sys, params p) {
  caf::scoped_actor self{sys};
  auto drv = sys.spawn(driver);
  std::printf("idle conversations: store %s, %zu chat participants each, %zu requests in flight, %s allocator\n",
              p.idle_store.c_str(), p.participants, p.window,
              heap_bytes() >= 0 ? "tcmalloc" : "glibc");
  std::printf("  sizeof: conversation actor %zu (its state %zu), conversation record %zu, participant %zu, "
              "message %zu, root's entry %zu\n",
              sizeof(actors::conversation_actor_type), sizeof(actors::conversation_state),
              sizeof(model::cv::conversation), sizeof(model::cv::participant), sizeof(model::cv::message),
              sizeof(actors::conversations_state::conversation_entry));
  std::printf("  sizeof in conversation_state: record %zu, participants %zu, messages (deque) %zu, webhooks %zu, "
              "options %zu, durable_writes %zu, timers %zu, hook settings %zu\n",
              sizeof(model::cv::conversation), sizeof(std::vector<model::cv::participant>),
              sizeof(std::deque<model::cv::message>), sizeof(std::vector<model::cv::conversation_webhook>),
              sizeof(actors::conversation_options), sizeof(actors::durable_writes<cv_reply>),
              sizeof(actors::actor_timers), sizeof(actors::cv_hook_settings));
  long avail = meminfo_kb("MemAvailable");
  std::printf("  memory available: %ld MiB\n", avail / 1024);
  std::fflush(stdout);

  server srv{sys, p.idle_store, p.passivate_ms};
  if (p.passivate_ms > 0)
    std::printf("  passivation after %zu ms idle: each chunk of conversations is left to passivate before the next\n",
                p.passivate_ms);
  // The account and its default service exist before the first sample.
  auto warm = create_conversations(self, drv, srv, 0, 1, 1);
  touch_all(self, drv, srv, warm, 1);

  auto tenth = std::max<std::size_t>(1, p.idle / 10);
  auto t0 = clock_type::now();
  auto m0 = sample_memory();
  // Creates n conversations from number `from` on, gives them their
  // participants, touches each once; with passivation in chunks, each left
  // to passivate before the next.
  std::size_t made = warm.size();
  auto phase = [&](std::size_t from, std::size_t n) {
    std::size_t chunk = p.passivate_ms > 0 ? 20000 : n;
    for (std::size_t done = 0; done < n;) {
      auto k = std::min(chunk, n - done);
      auto sids = create_conversations(self, drv, srv, from + done, k, p.window);
      add_participants(self, drv, srv, sids, from + done, p.participants, p.window);
      touch_all(self, drv, srv, sids, p.window);
      done += k;
      made += k;
      if (p.passivate_ms == 0)
        continue;
      auto deadline = clock_type::now() + std::chrono::seconds(120);
      while (srv.passive() < static_cast<double>(made) && clock_type::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (srv.passive() < static_cast<double>(made))
        std::printf("  only %.0f of %zu conversations passivated within 120 s\n", srv.passive(), made);
    }
  };
  phase(1, tenth);
  auto m1 = sample_memory();
  double secs1 = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto per = [](long long a, long long b, std::size_t n) { return n ? static_cast<double>(b - a) / n : 0.0; };
  auto line = [&](const char* what, std::size_t n, const memory_sample& a, const memory_sample& b) {
    std::printf("  %-34s %8zu conversations   VmRSS +%7.1f MiB = %6.0f B each   RssAnon %6.0f B each", what, n,
                (b.rss_kb - a.rss_kb) / 1024.0, per(a.rss_kb * 1024LL, b.rss_kb * 1024LL, n),
                per(a.anon_kb * 1024LL, b.anon_kb * 1024LL, n));
    if (a.heap >= 0)
      std::printf("   heap %6.0f B each", per(a.heap, b.heap, n));
    std::printf("\n");
  };
  line("first N/10", tenth, m0, m1);
  std::printf("  (created%s and fetched once, in %.1f s)\n", p.participants ? ", with participants," : "", secs1);
  std::fflush(stdout);

  // The rest, unless it would not fit: at most ~3 GB and 80% of what is available.
  auto bytes_each = std::max(1.0, per(m0.rss_kb * 1024LL, m1.rss_kb * 1024LL, tenth));
  double budget = std::min(3.0e9, 0.8 * avail * 1024.0) - m1.rss_kb * 1024.0;
  std::size_t rest = p.idle - tenth;
  if (rest * bytes_each * 1.2 > budget) {
    rest = static_cast<std::size_t>(std::max(0.0, budget / (bytes_each * 1.2)));
    std::printf("  N reduced from %zu to %zu so the process stays within ~3 GB\n", p.idle, tenth + rest);
  }
  phase(1 + tenth, rest);
  auto m2 = sample_memory();
  double secs2 = std::chrono::duration<double>(clock_type::now() - t0).count();
  line("the other 9N/10 (marginal)", rest, m1, m2);
  line("all N", tenth + rest, m0, m2);
  std::printf("  (all created in %.1f s; process VmRSS %ld MiB; target <= 2048 B per idle conversation: %s)\n",
              secs2, m2.rss_kb / 1024,
              per(m0.rss_kb * 1024LL, m2.rss_kb * 1024LL, tenth + rest) <= 2048 ? "met" : "not met");
  std::fflush(stdout);
  breakdown(sys, std::min<std::size_t>(tenth, 100000));
  self->send_exit(drv, caf::exit_reason::user_shutdown);
  return 0;
}

// "2 cores, AMD EPYC": the machine, for the first line of a report.
std::string machine() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      model = line.substr(colon == std::string::npos ? line.size() : colon + 2);
      break;
    }
  return std::to_string(std::thread::hardware_concurrency()) + " cores, " + model;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  params p;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", k.c_str());
      return 2;
    }
    std::string v = argv[++i];
    auto num = [&] { return static_cast<std::size_t>(std::strtoull(v.c_str(), nullptr, 10)); };
    if (k == "--conversations") p.conversations = num();
    else if (k == "--messages") p.messages = num();
    else if (k == "--window") p.window = num();
    else if (k == "--modes") p.modes = split(v);
    else if (k == "--threads") p.threads = num();
    else if (k == "--idle") p.idle = num();
    else if (k == "--idle-store") p.idle_store = v;
    else if (k == "--participants") p.participants = num();
    else if (k == "--passivate-after-ms") p.passivate_ms = num();
    else {
      std::fprintf(stderr,
                   "usage: conversations_bench [--conversations N] [--messages N] [--window N] "
                   "[--modes full,normal,memory,none] [--threads N]\n"
                   "       conversations_bench --idle N [--idle-store full|normal|memory|none] "
                   "[--participants P] [--window N] [--threads N]\n");
      return 2;
    }
  }
  if (p.conversations == 0 || p.window == 0) {
    std::fprintf(stderr, "--conversations and --window must be positive\n");
    return 2;
  }
  if (p.threads == 0)
    p.threads = std::max(1u, std::thread::hardware_concurrency());
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", p.threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  std::printf("machine: %s\n", machine().c_str());
  return p.idle > 0 ? idle_mode(sys, p) : messages_mode(sys, p);
}
