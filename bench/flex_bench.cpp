// End-to-end inbound flow benchmark over HTTP, against a running server:
// customers send an inbound SMS (POST /edge/inbound, signed as a gateway
// signs it) to a studio-backed address; the flow hands the conversation to
// Flex (send-to-flex); TaskRouter offers each task to a simulated agent
// through the workflow's AssignmentCallbackUrl (a small HTTP server in this
// process); the agent accepts, sends three messages into the conversation,
// completes the task and closes the interaction channel (which closes the
// conversation and frees the customer's binding). A conversation counts as
// handled end to end when that close is answered.
//
// Each run keeps C customers (distinct From numbers) in flight: in the
// closed mode every customer starts its next conversation as soon as the
// last one is closed; with --rate R conversations start at R per second
// (open loop, at most C in flight) so latency can be read below
// saturation; unless --rate is given or --latency-fractions is 0, the
// closed runs are followed by such runs at a quarter and at half of the
// best closed throughput. Prints
// conversations per second (all those started in the run, over the time
// from the first inbound to the last close; beside it the rate of closes
// after the first quarter of the run), inbound-to-reservation latency (the inbound
// request put on the wire to the assignment callback's arrival) p50, p90,
// p99 and max, the inbound request's own latency, every non-2xx answer by
// stage and status, conversations that never finished and where they
// stopped, and, with --server-pid, the server's busiest threads and CPU per
// conversation. Baseline, same run and server: the same signed inbound
// messages, each from a new number, to an address with AutoCreation.Type
// default (a conversation and its customer, no Studio, no routing), with
// every client connection busy: the ingest ceiling, and the ratio to it.
// Target: 2,000 conversations/s end to end; p99 inbound-to-reservation
// under 20 ms below saturation.
//
// usage: flex_bench --port N --account AC... --token T
//          [--concurrency 1000,10000] [--seconds 20] [--rate R] [--latency-fractions 0.25,0.5]
//          [--connections 1024] [--threads 2] [--capacity 10]
//          [--accept rest|callback] [--greeting] [--baseline-seconds 10]
//          [--server-pid PID] [--carrier-pid PID] [--drain-seconds 60]
// --accept rest (default): the callback is answered {} and the agent
// accepts with POST .../Reservations/{WR} as Flex's UI does, so the task is
// assigned before the agent goes on; callback: the answer
// {"instruction":"accept"} accepts (one request fewer; the agent's later
// steps then race the server's handling of that answer).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dirent.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "api/http_server.hpp"
#include "model/form.hpp"
#include "model/sid.hpp"
#include "model/signature.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using verb = http::verb;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

struct params {
  std::uint16_t port = 0;
  std::string account, token;
  std::vector<std::size_t> concurrency{1000, 10000};
  double seconds = 20;
  double rate = 0; // > 0: every run open loop at this many conversations per second
  // After the closed runs, one open-loop run at each of these shares of the
  // best closed throughput, with the first concurrency: latency below
  // saturation.
  std::vector<double> latency_fractions{0.25, 0.5};
  std::size_t connections = 1024;
  std::size_t threads = 2;
  std::size_t capacity = 10; // sms capacity per worker
  bool rest_accept = true;
  bool greeting = false;
  double baseline_seconds = 10;
  double drain_seconds = 60;
  int server_pid = 0, carrier_pid = 0;
};

// ------------------------------------------------------------ the client --

// One request and what to do with its answer. done gets status 0 and the
// error's text when no answer came.
struct job {
  verb method = verb::post;
  std::string target;
  std::string body;
  std::string signature; // set: a gateway's request (X-Twilio-Signature, no Basic)
  std::function<void()> on_write;
  std::function<void(unsigned, std::string)> done;
};
using job_ptr = std::shared_ptr<job>;

class pool;

// One keep-alive connection; carries one request at a time.
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(net::io_context& io, pool& p) : socket_(io), pool_(p) {}
  net::any_io_executor executor() { return socket_.get_executor(); }
  void start(job_ptr j);

 private:
  void write();
  void fail(const beast::error_code& ec);
  tcp::socket socket_;
  pool& pool_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  job_ptr job_;
  bool open_ = false;
  clock_type::time_point last_used_;
};

// Keep-alive connections spread over I/O threads; requests wait in one
// queue for a free connection.
class pool {
 public:
  pool(std::uint16_t port, std::string auth, std::size_t connections, std::size_t threads)
      : endpoint_(net::ip::make_address("127.0.0.1"), port), host_("127.0.0.1:" + std::to_string(port)),
        auth_(std::move(auth)) {
    for (std::size_t t = 0; t < threads; ++t)
      ios_.push_back(std::make_unique<net::io_context>(1));
    for (std::size_t c = 0; c < connections; ++c)
      idle_.push_back(std::make_shared<connection>(*ios_[c % threads], *this));
    for (auto& io : ios_) {
      guards_.emplace_back(net::make_work_guard(*io));
      threads_.emplace_back([&io] { io->run(); });
    }
  }
  ~pool() {
    guards_.clear();
    for (auto& io : ios_)
      io->stop();
    for (auto& t : threads_)
      t.join();
  }
  void submit(job_ptr j) {
    std::shared_ptr<connection> c;
    {
      std::lock_guard lock(mu_);
      if (idle_.empty()) {
        queue_.push_back(std::move(j));
        max_queued_ = std::max(max_queued_, queue_.size());
        return;
      }
      c = std::move(idle_.back());
      idle_.pop_back();
    }
    net::post(c->executor(), [c, j = std::move(j)]() mutable { c->start(std::move(j)); });
  }
  // A connection is free again (called on its thread).
  void release(std::shared_ptr<connection> c) {
    job_ptr j;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        idle_.push_back(std::move(c));
        return;
      }
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    c->start(std::move(j));
  }
  std::size_t take_max_queued() {
    std::lock_guard lock(mu_);
    return std::exchange(max_queued_, queue_.size());
  }
  // Blocking form of submit, for set-up.
  std::pair<unsigned, std::string> call(verb method, std::string target, const sb::model::form_pairs& form = {}) {
    auto j = std::make_shared<job>();
    j->method = method;
    j->target = std::move(target);
    j->body = sb::model::encode_form(form);
    std::promise<std::pair<unsigned, std::string>> p;
    auto f = p.get_future();
    j->done = [&p](unsigned s, std::string b) { p.set_value({s, std::move(b)}); };
    submit(j);
    return f.get();
  }

  const tcp::endpoint endpoint_;
  const std::string host_, auth_;

 private:
  std::vector<std::unique_ptr<net::io_context>> ios_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<std::shared_ptr<connection>> idle_;
  std::deque<job_ptr> queue_;
  std::size_t max_queued_ = 0;
};

void connection::start(job_ptr j) {
  job_ = std::move(j);
  // The server closes a connection idle for 30 s (its default); one idle
  // for 20 s is not trusted with a request that could meet that close.
  if (open_ && clock_type::now() - last_used_ > std::chrono::seconds(20)) {
    beast::error_code ignored;
    socket_.close(ignored);
    open_ = false;
    buffer_.clear();
  }
  if (open_)
    return write();
  socket_.async_connect(pool_.endpoint_, [self = shared_from_this()](const beast::error_code& ec) {
    if (ec)
      return self->fail(ec);
    self->socket_.set_option(tcp::no_delay(true));
    self->open_ = true;
    self->write();
  });
}

void connection::write() {
  req_ = {};
  req_.method(job_->method);
  req_.target(job_->target);
  req_.version(11);
  req_.set(http::field::host, pool_.host_);
  if (!job_->signature.empty())
    req_.set("X-Twilio-Signature", job_->signature);
  else
    req_.set(http::field::authorization, pool_.auth_);
  if (!job_->body.empty() || job_->method == verb::post) {
    req_.set(http::field::content_type, "application/x-www-form-urlencoded");
    req_.body() = std::move(job_->body);
  }
  req_.prepare_payload();
  if (job_->on_write)
    job_->on_write();
  http::async_write(socket_, req_, [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
    if (ec)
      return self->fail(ec);
    self->parser_.emplace();
    self->parser_->body_limit(64 << 20);
    http::async_read(self->socket_, self->buffer_, *self->parser_,
                     [self](const beast::error_code& ec, std::size_t) {
                       if (ec)
                         return self->fail(ec);
                       auto res = self->parser_->release();
                       if (!res.keep_alive()) {
                         beast::error_code ignored;
                         self->socket_.close(ignored);
                         self->open_ = false;
                         self->buffer_.clear();
                       }
                       self->last_used_ = clock_type::now();
                       auto j = std::move(self->job_);
                       j->done(res.result_int(), std::move(res.body()));
                       self->pool_.release(self);
                     });
  });
}

void connection::fail(const beast::error_code& ec) {
  beast::error_code ignored;
  socket_.close(ignored);
  open_ = false;
  buffer_.clear();
  auto j = std::move(job_);
  j->done(0, ec.message());
  pool_.release(shared_from_this());
}

// ------------------------------------------------------------- figures --

double pct(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

std::string latency_line(std::vector<double> v) {
  if (v.empty())
    return "no samples";
  char buf[160];
  double mx = *std::max_element(v.begin(), v.end());
  std::snprintf(buf, sizeof buf, "p50 %.1f  p90 %.1f  p99 %.1f  max %.1f ms (%zu)", pct(v, 50), pct(v, 90), pct(v, 99),
                mx, v.size());
  return buf;
}

// Per-thread CPU of a process: tid -> (name, clock ticks).
std::map<int, std::pair<std::string, long>> thread_ticks(int pid) {
  std::map<int, std::pair<std::string, long>> out;
  if (pid <= 0)
    return out;
  auto dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (!d)
    return out;
  while (auto* e = readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    std::ifstream in(dir + "/" + e->d_name + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), {});
    auto l = s.find('('), r = s.rfind(')');
    if (l == std::string::npos || r == std::string::npos)
      continue;
    std::istringstream rest(s.substr(r + 2));
    std::string f;
    long utime = 0, stime = 0;
    for (int k = 3; k <= 15 && rest >> f; ++k) {
      if (k == 14) utime = std::atol(f.c_str());
      if (k == 15) stime = std::atol(f.c_str());
    }
    out[std::atoi(e->d_name)] = {s.substr(l + 1, r - l - 1), utime + stime};
  }
  closedir(d);
  return out;
}

// "name 0.93, name 0.41, ..." (cores) for the busiest threads, and the total.
std::string busiest(const std::map<int, std::pair<std::string, long>>& a,
                    const std::map<int, std::pair<std::string, long>>& b, double secs, double& total_cores) {
  double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::vector<std::pair<double, std::string>> v;
  total_cores = 0;
  for (auto& [tid, x] : b) {
    long before = a.count(tid) ? a.at(tid).second : 0;
    double c = static_cast<double>(x.second - before) / hz / secs;
    total_cores += c;
    v.push_back({c, x.first + "/" + std::to_string(tid)});
  }
  std::sort(v.rbegin(), v.rend());
  std::string out;
  for (std::size_t k = 0; k < v.size() && k < 5; ++k) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s%s %.2f", k ? ", " : "", v[k].second.c_str(), v[k].first);
    out += buf;
  }
  return out;
}

// Busy clock ticks of the whole machine (all cores), from /proc/stat.
long machine_busy_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long v[8] = {};
  in >> cpu;
  for (auto& x : v)
    in >> x;
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; // user nice system irq softirq steal
}

long process_ticks(int pid) {
  long sum = 0;
  for (auto& [tid, x] : thread_ticks(pid))
    sum += x.second;
  return sum;
}

// Sum of a metric over its label sets in a Prometheus exposition.
double metric(const std::string& text, const std::string& name) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) != 0)
      continue;
    auto rest = line.substr(name.size());
    if (!rest.empty() && rest[0] != ' ' && rest[0] != '{')
      continue;
    auto sp = line.rfind(' ');
    sum += std::atof(line.c_str() + sp + 1);
  }
  return sum;
}

// The value of the series of `name` whose labels contain `label`.
double metric_with(const std::string& text, const std::string& name, const std::string& label) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + "{", 0) == 0 && line.find(label) != std::string::npos)
      return std::atof(line.c_str() + line.rfind(' ') + 1);
  return 0;
}

// -------------------------------------------------------------- the bench --

enum stage : int { idle, inbound, accepting, messaging, completing, closing };
const char* stage_names[] = {"idle", "waiting for the reservation", "accepting", "messaging", "completing",
                             "closing"};

struct run_state;

struct customer {
  run_state* run = nullptr;
  std::size_t index = 0;
  std::string from;
  std::atomic<int> stage{idle};
  std::atomic<std::int64_t> sent_ns{0};
  std::int64_t started_ns = 0;
  // The current conversation, from the assignment callback.
  std::string task, reservation, worker, agent, conversation, interaction, channel;
  int messages_sent = 0;
};

struct run_state {
  std::size_t id = 0;
  std::size_t concurrency = 0;
  double rate = 0;
  std::int64_t t0 = 0, steady_from = 0, steady_to = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> in_flight{0}, started{0}, completed{0}, failed{0}, skipped{0}, unexpected{0};
  std::vector<std::unique_ptr<customer>> customers;
  std::mutex mu; // guards everything below
  std::vector<customer*> free_list;
  std::vector<double> to_reservation_ms, to_reservation_steady_ms, inbound_ms, e2e_ms;
  std::vector<std::int64_t> completions;
  std::map<std::string, std::size_t> errors;
  std::map<std::string, std::string> error_samples;
};

class bench {
 public:
  bench(params p)
      : p_(std::move(p)),
        pool_(p_.port, "Basic " + sb::model::base64_encode(p_.account + ":" + p_.token), p_.connections, p_.threads) {}

  int main();

 private:
  std::string must(verb m, const std::string& target, const sb::model::form_pairs& f, const char* what) {
    auto [status, body] = pool_.call(m, target, f);
    if (status < 200 || status >= 300) {
      std::fprintf(stderr, "set-up: %s answered %u: %s\n", what, status, body.substr(0, 400).c_str());
      std::exit(1);
    }
    return body;
  }
  void set_up();
  void set_up_workers(std::size_t n);
  void run(std::size_t concurrency, double rate);
  void run_baseline();

  void start_conversation(customer& c);
  void on_assign(sb::api::http_request&& req, sb::api::responder respond);
  void agent_step(customer& c);
  void finish(customer& c, bool ok);
  void error(customer* c, const char* stage, unsigned status, const std::string& body);
  job_ptr api_post(std::string target, const sb::model::form_pairs& f, std::function<void(unsigned, std::string)> done) {
    auto j = std::make_shared<job>();
    j->target = std::move(target);
    j->body = sb::model::encode_form(f);
    j->done = std::move(done);
    return j;
  }
  job_ptr inbound_job(const std::string& from, const std::string& to, const std::string& body);

  params p_;
  pool pool_;
  std::unique_ptr<sb::api::http_server> callbacks_;
  std::string ws_, available_, queue_, workflow_, flow_;
  const std::string studio_number_ = "+15550000001", default_number_ = "+15550000002";
  std::unordered_map<std::string, std::string> agent_of_; // WK -> identity (read-only once set up)
  std::atomic<run_state*> run_{nullptr};
  std::size_t next_run_id_ = 1;
  double best_conv_per_s_ = 0;
};

job_ptr bench::inbound_job(const std::string& from, const std::string& to, const std::string& body) {
  sb::model::form_pairs f{{"AccountSid", p_.account}, {"Body", body},           {"From", from},
                          {"MessageSid", sb::model::make_sid("SM")}, {"NumMedia", "0"}, {"To", to}};
  auto j = std::make_shared<job>();
  j->target = "/edge/inbound";
  j->signature = sb::model::twilio_signature(p_.token, "http://" + pool_.host_ + j->target, f);
  j->body = sb::model::encode_form(f);
  return j;
}

void bench::set_up() {
  using sb::model::form_pairs;
  sb::api::http_server_config cfg;
  cfg.port = 0;
  cfg.io_threads = 1;
  callbacks_ = std::make_unique<sb::api::http_server>(
    cfg, [this](sb::api::http_request&& r, sb::api::responder respond) { on_assign(std::move(r), std::move(respond)); });
  callbacks_->start();
  auto cb_url = "http://127.0.0.1:" + std::to_string(callbacks_->port()) + "/assign";

  ws_ = json::parse(must(verb::post, "/v1/Workspaces", {{"FriendlyName", "flex-bench"}}, "workspace"))["sid"];
  auto base = "/v1/Workspaces/" + ws_;
  auto activities = json::parse(must(verb::get, base + "/Activities", {}, "activities"));
  for (auto& a : activities["activities"])
    if (a["friendly_name"] == "Available")
      available_ = a["sid"];
  queue_ = json::parse(must(verb::post, base + "/TaskQueues", {{"FriendlyName", "sms"}, {"TargetWorkers", "1==1"}},
                            "queue"))["sid"];
  workflow_ = json::parse(must(verb::post, base + "/Workflows",
                               {{"FriendlyName", "inbound"},
                                {"AssignmentCallbackUrl", cb_url},
                                {"Configuration", R"({"task_routing":{"default_filter":{"queue":")" + queue_ + R"("}}})"}},
                               "workflow"))["sid"];
  auto max_c = *std::max_element(p_.concurrency.begin(), p_.concurrency.end());
  set_up_workers((max_c + p_.capacity - 1) / p_.capacity);

  json to_flex{{"name", "to_flex"},
               {"type", "send-to-flex"},
               {"transitions", {{{"event", "callComplete"}}, {{"event", "failedToEnqueue"}}, {{"event", "callFailure"}}}},
               {"properties",
                {{"workflow", workflow_},
                 {"channel", "sms"},
                 {"attributes", R"({"name": "{{trigger.conversation.From}}", "from": "{{trigger.conversation.From}}"})"}}}};
  json states = json::array();
  states.push_back({{"name", "Trigger"},
                    {"type", "trigger"},
                    {"transitions", {{{"event", "incomingConversationMessage"}, {"next", p_.greeting ? "greet" : "to_flex"}}}},
                    {"properties", json::object()}});
  if (p_.greeting)
    states.push_back({{"name", "greet"},
                      {"type", "send-message"},
                      {"transitions", {{{"event", "sent"}, {"next", "to_flex"}}, {{"event", "failed"}, {"next", "to_flex"}}}},
                      {"properties", {{"body", "Hi, an agent will be with you shortly"}}}});
  states.push_back(to_flex);
  json def{{"description", "flex bench"}, {"initial_state", "Trigger"}, {"states", states}};
  flow_ = json::parse(must(verb::post, "/v2/Flows",
                           {{"FriendlyName", "flex-bench"}, {"Status", "published"}, {"Definition", def.dump()}},
                           "flow"))["sid"];
  must(verb::post, "/v1/Configuration/Addresses",
       {{"Type", "sms"}, {"Address", studio_number_}, {"AutoCreation.Enabled", "true"},
        {"AutoCreation.Type", "studio"}, {"AutoCreation.StudioFlowSid", flow_}},
       "studio address");
  must(verb::post, "/v1/Configuration/Addresses",
       {{"Type", "sms"}, {"Address", default_number_}, {"AutoCreation.Enabled", "true"}, {"AutoCreation.Type", "default"}},
       "default address");
}

// n workers agentK (contact_uri client:agentK), sms capacity p_.capacity,
// available; made with the whole pool in parallel.
void bench::set_up_workers(std::size_t n) {
  auto base = "/v1/Workspaces/" + ws_;
  std::vector<std::thread> ts;
  std::mutex mu;
  std::size_t next = 0;
  for (std::size_t t = 0; t < std::min<std::size_t>(64, p_.connections); ++t)
    ts.emplace_back([&] {
      for (;;) {
        std::size_t k;
        {
          std::lock_guard lock(mu);
          if (next == n)
            return;
          k = next++;
        }
        auto name = "agent" + std::to_string(k);
        std::string wk = json::parse(must(verb::post, base + "/Workers",
                                          {{"FriendlyName", name},
                                           {"Attributes", R"({"contact_uri":"client:)" + name + R"("})"}},
                                          "worker"))["sid"];
        // A worker channel is also addressed by its task channel's unique name.
        must(verb::post, base + "/Workers/" + wk + "/Channels/sms",
             {{"Capacity", std::to_string(p_.capacity)}, {"Available", "true"}}, "worker channel");
        must(verb::post, base + "/Workers/" + wk, {{"ActivitySid", available_}}, "worker activity");
        std::lock_guard lock(mu);
        agent_of_[wk] = name;
      }
    });
  for (auto& t : ts)
    t.join();
}

void bench::error(customer* c, const char* stage, unsigned status, const std::string& body) {
  auto* r = c ? c->run : run_.load();
  if (!r)
    return;
  std::lock_guard lock(r->mu);
  auto key = std::string(stage) + " " + std::to_string(status);
  if (r->errors[key]++ == 0)
    r->error_samples[key] = (c ? c->from + ": " : std::string()) + body.substr(0, 300);
}

void bench::start_conversation(customer& c) {
  auto* r = c.run;
  c.stage = inbound;
  c.task.clear();
  c.conversation.clear();
  c.sent_ns = 0;
  c.started_ns = now_ns();
  c.messages_sent = 0;
  ++r->in_flight;
  ++r->started;
  auto j = inbound_job(c.from, studio_number_, "I need help with my order");
  j->on_write = [&c] { c.sent_ns = now_ns(); };
  j->done = [this, &c, r](unsigned status, std::string body) {
    if (status < 200 || status >= 300) {
      error(&c, "inbound", status, body);
      if (c.stage.load() == inbound)
        finish(c, false);
      return;
    }
    double ms = static_cast<double>(now_ns() - c.sent_ns.load()) / 1e6;
    std::lock_guard lock(r->mu);
    r->inbound_ms.push_back(ms);
  };
  pool_.submit(std::move(j));
}

void bench::on_assign(sb::api::http_request&& req, sb::api::responder respond) {
  auto t = now_ns();
  auto* r = run_.load();
  auto form = sb::model::form::parse(req.body);
  auto attrs = json::parse(form ? form->get("TaskAttributes").value_or("") : "", nullptr, false);
  std::string from = attrs.is_object() ? attrs.value("customerAddress", "") : "";
  // From is "+1" followed by 7,000,000,000 + run id * 1,000,000 + index.
  long long number = from.size() > 2 ? std::atoll(from.c_str() + 2) : 0;
  long long rel = number - 7000000000LL - static_cast<long long>(r ? r->id : 0) * 1000000LL;
  customer* c = r && rel >= 0 && rel < static_cast<long long>(r->customers.size()) ? r->customers[rel].get() : nullptr;
  if (!c || c->stage.load() != inbound) {
    // Not one this run waits for (a late offer for a conversation an earlier
    // run gave up on): no instruction, so it times out instead of being
    // offered again at once.
    if (r)
      ++r->unexpected;
    return respond(sb::api::http_response{200, "application/json", "{}", {}});
  }
  double ms = static_cast<double>(t - c->sent_ns.load()) / 1e6;
  {
    std::lock_guard lock(r->mu);
    r->to_reservation_ms.push_back(ms);
    if (c->started_ns >= r->steady_from && c->started_ns < r->steady_to)
      r->to_reservation_steady_ms.push_back(ms);
  }
  c->task = form->get("TaskSid").value_or("");
  c->reservation = form->get("ReservationSid").value_or("");
  c->worker = form->get("WorkerSid").value_or("");
  auto a = agent_of_.find(c->worker);
  c->agent = a != agent_of_.end() ? a->second : c->worker;
  c->conversation = attrs.value("conversationSid", "");
  c->interaction = attrs.value("flexInteractionSid", "");
  c->channel = attrs.value("flexInteractionChannelSid", "");
  c->stage = p_.rest_accept ? accepting : messaging;
  respond(sb::api::http_response{200, "application/json", p_.rest_accept ? "{}" : R"({"instruction":"accept"})", {}});
  agent_step(*c);
}

// The agent's next request: accept (rest mode), three messages, complete
// the task, close the interaction channel.
void bench::agent_step(customer& c) {
  auto next = [this, &c](const char* what, int following) {
    return [this, &c, what, following](unsigned status, std::string body) {
      if (status < 200 || status >= 300) {
        error(&c, what, status, body);
        return finish(c, false);
      }
      if (following == idle)
        return finish(c, true);
      c.stage = following;
      agent_step(c);
    };
  };
  auto ws = "/v1/Workspaces/" + ws_;
  switch (c.stage.load()) {
  case accepting:
    pool_.submit(api_post(ws + "/Tasks/" + c.task + "/Reservations/" + c.reservation,
                          {{"ReservationStatus", "accepted"}}, next("accept", messaging)));
    break;
  case messaging: {
    int k = ++c.messages_sent;
    pool_.submit(api_post("/v1/Conversations/" + c.conversation + "/Messages",
                          {{"Author", c.agent}, {"Body", "Agent reply " + std::to_string(k) + " about your order"}},
                          next("message", k < 3 ? messaging : completing)));
    break;
  }
  case completing:
    pool_.submit(api_post(ws + "/Tasks/" + c.task, {{"AssignmentStatus", "completed"}, {"Reason", "resolved"}},
                          next("complete", closing)));
    break;
  case closing:
    pool_.submit(api_post("/v1/Interactions/" + c.interaction + "/Channels/" + c.channel, {{"Status", "closed"}},
                          next("close", idle)));
    break;
  default:
    break;
  }
}

void bench::finish(customer& c, bool ok) {
  auto* r = c.run;
  auto t = now_ns();
  c.stage = idle;
  bool stopping = r->stopping;
  {
    std::lock_guard lock(r->mu);
    if (ok) {
      r->completions.push_back(t);
      r->e2e_ms.push_back(static_cast<double>(t - c.started_ns) / 1e6);
    }
    if (stopping || r->rate > 0)
      r->free_list.push_back(&c);
  }
  ++(ok ? r->completed : r->failed);
  if (!stopping && r->rate <= 0)
    start_conversation(c);
  --r->in_flight;
}

void bench::run(std::size_t concurrency, double rate) {
  auto r = std::make_unique<run_state>();
  r->id = next_run_id_++;
  r->concurrency = concurrency;
  r->rate = rate;
  for (std::size_t i = 0; i < concurrency; ++i) {
    auto c = std::make_unique<customer>();
    c->run = r.get();
    c->index = i;
    c->from = "+1" + std::to_string(7000000000LL + static_cast<long long>(r->id) * 1000000LL + static_cast<long long>(i));
    r->free_list.push_back(c.get());
    r->customers.push_back(std::move(c));
  }
  std::reverse(r->free_list.begin(), r->free_list.end());
  auto secs = p_.seconds;
  r->t0 = now_ns();
  r->steady_from = r->t0 + static_cast<std::int64_t>(secs / 4 * 1e9);
  r->steady_to = r->t0 + static_cast<std::int64_t>(secs * 1e9);
  run_ = r.get();
  auto ticks0 = thread_ticks(p_.server_pid);
  auto carrier0 = thread_ticks(p_.carrier_pid);
  auto machine0 = machine_busy_ticks();
  auto self0 = process_ticks(getpid());
  auto metrics0 = pool_.call(verb::get, "/metrics").second;
  pool_.take_max_queued();

  if (rate <= 0) {
    std::vector<customer*> all;
    {
      std::lock_guard lock(r->mu);
      all.swap(r->free_list);
    }
    for (auto* c : all)
      start_conversation(*c);
    std::this_thread::sleep_until(clock_type::time_point(std::chrono::nanoseconds(r->steady_to)));
  } else {
    // Open loop: conversation k starts at t0 + k / rate.
    for (std::size_t k = 0;; ++k) {
      auto at = r->t0 + static_cast<std::int64_t>(static_cast<double>(k) / rate * 1e9);
      if (at >= r->steady_to)
        break;
      std::this_thread::sleep_until(clock_type::time_point(std::chrono::nanoseconds(at)));
      customer* c = nullptr;
      {
        std::lock_guard lock(r->mu);
        if (!r->free_list.empty()) {
          c = r->free_list.back();
          r->free_list.pop_back();
        }
      }
      if (c)
        start_conversation(*c);
      else
        ++r->skipped;
    }
  }
  r->stopping = true;
  auto ticks1 = thread_ticks(p_.server_pid);
  auto carrier1 = thread_ticks(p_.carrier_pid);
  auto machine1 = machine_busy_ticks();
  auto self1 = process_ticks(getpid());
  auto metrics1 = pool_.call(verb::get, "/metrics").second;
  auto max_queued = pool_.take_max_queued();
  auto drain_until = clock_type::now() + std::chrono::duration<double>(p_.drain_seconds);
  while (r->in_flight.load() > 0 && clock_type::now() < drain_until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto drained_s = static_cast<double>(now_ns() - r->steady_to) / 1e9;

  std::lock_guard lock(r->mu);
  std::size_t in_window = 0;
  for (auto t : r->completions)
    if (t >= r->steady_from && t < r->steady_to)
      ++in_window;
  double window_s = static_cast<double>(r->steady_to - r->steady_from) / 1e9;
  double conv_per_s = static_cast<double>(in_window) / window_s;
  std::int64_t last = r->t0;
  for (auto t : r->completions)
    last = std::max(last, t);
  double last_s = static_cast<double>(last - r->t0) / 1e9;
  double overall = last_s > 0 ? static_cast<double>(r->completed.load()) / last_s : 0;
  if (rate <= 0)
    best_conv_per_s_ = std::max(best_conv_per_s_, overall);
  std::printf("\n%zu concurrent conversations, %s, %.0f s (steady window: the last %.0f s)\n", concurrency,
              rate > 0 ? ("open loop at " + std::to_string(static_cast<int>(rate)) + " conversations/s").c_str()
                          : "closed loop (each customer starts again once closed)",
              secs, window_s);
  std::printf("  end to end:             %8.0f conversations/s: %zu closed in %.1f s, from the first inbound to the "
              "last close (%zu failed); %.0f/s in the window\n",
              overall, r->completed.load(), last_s, r->failed.load(), conv_per_s);
  if (last_s > 60) {
    // A long run: how the rate held, per 10 s from the first inbound.
    std::vector<std::size_t> per(static_cast<std::size_t>(last_s / 10) + 1);
    for (auto t : r->completions)
      ++per[static_cast<std::size_t>(static_cast<double>(t - r->t0) / 1e10)];
    std::printf("  closes per 10 s:");
    for (auto n : per)
      std::printf(" %zu", n);
    std::printf("\n");
  }
  std::printf("  inbound to reservation: %s, conversations started in the window\n",
              latency_line(r->to_reservation_steady_ms).c_str());
  std::printf("                          %s, all\n", latency_line(r->to_reservation_ms).c_str());
  std::printf("  inbound request:        %s\n", latency_line(r->inbound_ms).c_str());
  std::printf("  whole conversation:     %s\n", latency_line(r->e2e_ms).c_str());
  std::size_t errs = 0;
  for (auto& [k, n] : r->errors)
    errs += n;
  std::printf("  errors (non-2xx or no answer): %zu", errs);
  for (auto& [k, n] : r->errors)
    std::printf("\n    %s: %zu, first: %s", k.c_str(), n, r->error_samples[k].c_str());
  std::printf("\n");
  if (r->unexpected)
    std::printf("  reservations for no waiting customer (left to time out): %zu\n", r->unexpected.load());
  if (r->skipped)
    std::printf("  arrivals skipped (all %zu customers busy): %zu\n", concurrency, r->skipped.load());
  if (r->in_flight.load() > 0) {
    std::map<int, std::size_t> by_stage;
    std::string sample;
    for (auto& c : r->customers)
      if (c->stage.load() != idle) {
        ++by_stage[c->stage.load()];
        if (sample.empty())
          sample = c->from + " task " + c->task + " conversation " + c->conversation;
      }
    std::printf("  LOST: %zu conversations unfinished %.0f s after the run:", r->in_flight.load(), drained_s);
    for (auto& [s, n] : by_stage)
      std::printf(" %s %zu;", stage_names[s], n);
    std::printf(" e.g. %s\n", sample.c_str());
    // Where the server has them: its tasks by status.
    std::printf("  the server's tasks now:");
    for (const char* status : {"pending", "reserved", "assigned"}) {
      auto [code, body] = pool_.call(verb::get, "/v1/Workspaces/" + ws_ + "/Tasks?AssignmentStatus=" + status +
                                                  "&PageSize=1000");
      auto page = json::parse(body, nullptr, false);
      std::printf(" %s %s;", status,
                  code == 200 && page.is_object() ? std::to_string(page["tasks"].size()).c_str() : std::to_string(code).c_str());
    }
    std::printf(" (at most 1000 counted)\n");
  } else {
    std::printf("  drain: the last conversations finished %.1f s after the window\n", drained_s);
  }
  std::printf("  client: longest queue for a connection %zu requests (%zu connections)\n", max_queued, p_.connections);
  if (p_.server_pid > 0) {
    double cores = 0, ccores = 0;
    auto top = busiest(ticks0, ticks1, secs, cores);
    std::size_t in_run = 0;
    for (auto t : r->completions)
      if (t < r->steady_to)
        ++in_run;
    std::printf("  server CPU %.2f cores (%.0f us per conversation); busiest threads (cores): %s\n", cores,
                in_run ? cores * secs * 1e6 / static_cast<double>(in_run) : 0.0, top.c_str());
    if (p_.carrier_pid > 0)
      busiest(carrier0, carrier1, secs, ccores);
    double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
    double machine = static_cast<double>(machine1 - machine0) / hz / secs;
    double mine = static_cast<double>(self1 - self0) / hz / secs;
    std::printf("  machine busy %.2f of %ld cores: server %.2f, carrier %.2f, this driver %.2f, other processes %.2f\n",
                machine, sysconf(_SC_NPROCESSORS_ONLN), cores, ccores, mine, machine - cores - ccores - mine);
  }
  if (p_.server_pid > 0) {
    std::ifstream st("/proc/" + std::to_string(p_.server_pid) + "/status");
    std::string line;
    while (std::getline(st, line))
      if (line.rfind("VmRSS:", 0) == 0)
        std::printf("  server RSS %.0f MiB after the run; conversations live %.0f, passive %.0f\n",
                    std::atof(line.c_str() + 6) / 1024, metric_with(metrics1, "switchboard_conversations", "live"),
                    metric_with(metrics1, "switchboard_conversations", "passive"));
  }
  double cs = metric(metrics1, "switchboard_store_commit_seconds_sum") - metric(metrics0, "switchboard_store_commit_seconds_sum");
  double cc = metric(metrics1, "switchboard_store_commit_seconds_count") - metric(metrics0, "switchboard_store_commit_seconds_count");
  double bs = metric(metrics1, "switchboard_store_batch_changes_sum") - metric(metrics0, "switchboard_store_batch_changes_sum");
  double bc = metric(metrics1, "switchboard_store_batch_changes_count") - metric(metrics0, "switchboard_store_batch_changes_count");
  if (cc > 0)
    std::printf("  store: committing %.0f%% of the run, %.0f commits/s, %.1f changes per commit\n", 100 * cs / secs,
                cc / secs, bc > 0 ? bs / bc : 0.0);
  std::fflush(stdout);
  run_ = nullptr;
  // Late callbacks of a lost conversation still find the run: it is kept.
  static std::vector<std::unique_ptr<run_state>> kept;
  kept.push_back(std::move(r));
}

// The ingest ceiling: the same signed inbound messages, each from a number
// not seen before, to the default address; every connection kept busy.
void bench::run_baseline() {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> done{0}, next{0}, outstanding{0};
  std::mutex mu;
  std::vector<double> lat;
  std::map<unsigned, std::size_t> bad;
  std::string bad_sample;
  std::function<void()> one = [&] {
    auto k = next++;
    auto j = inbound_job("+1" + std::to_string(8000000000LL + static_cast<long long>(k)), default_number_,
                         "I need help with my order");
    auto t = std::make_shared<std::int64_t>(0);
    j->on_write = [t] { *t = now_ns(); };
    ++outstanding;
    j->done = [&, t](unsigned status, std::string body) {
      {
        std::lock_guard lock(mu);
        if (status >= 200 && status < 300)
          lat.push_back(static_cast<double>(now_ns() - *t) / 1e6);
        else if (bad[status]++ == 0)
          bad_sample = body.substr(0, 300);
      }
      if (status >= 200 && status < 300)
        ++done;
      if (!stop)
        one();
      --outstanding;
    };
    pool_.submit(std::move(j));
  };
  auto ticks0 = thread_ticks(p_.server_pid);
  auto t0 = clock_type::now();
  for (std::size_t k = 0; k < p_.connections; ++k)
    one();
  std::this_thread::sleep_for(std::chrono::duration<double>(p_.baseline_seconds / 4));
  auto d0 = done.load();
  auto w0 = clock_type::now();
  std::this_thread::sleep_until(t0 + std::chrono::duration<double>(p_.baseline_seconds));
  auto d1 = done.load();
  double w = std::chrono::duration<double>(clock_type::now() - w0).count();
  stop = true;
  auto ticks1 = thread_ticks(p_.server_pid);
  while (outstanding.load() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::lock_guard lock(mu);
  double rate = static_cast<double>(d1 - d0) / w;
  std::printf("\nbaseline: signed inbound messages to an AutoCreation.Type=default address (a new conversation each, "
              "no Studio, no routing), %zu in flight, %.0f s\n",
              p_.connections, p_.baseline_seconds);
  std::printf("  %8.0f inbound messages/s in the window; request %s\n", rate, latency_line(lat).c_str());
  std::size_t errs = 0;
  for (auto& [s, n] : bad)
    errs += n;
  std::printf("  errors: %zu%s%s\n", errs, errs ? ", first: " : "", bad_sample.c_str());
  if (p_.server_pid > 0) {
    double cores = 0;
    auto top = busiest(ticks0, ticks1, p_.baseline_seconds, cores);
    std::printf("  server CPU %.2f cores; busiest threads: %s\n", cores, top.c_str());
  }
  if (rate > 0 && best_conv_per_s_ > 0)
    std::printf("ratio: best end-to-end conversations/s %.0f / ingest %.0f messages/s = %.3f; target 2,000 "
                "conversations/s: %s\n",
                best_conv_per_s_, rate, best_conv_per_s_ / rate,
                best_conv_per_s_ >= 2000 ? "met" : ("not met (" + std::to_string(static_cast<int>(100 * best_conv_per_s_ / 2000)) + "%)").c_str());
}

int bench::main() {
  set_up();
  std::printf("set-up: workspace %s, %zu workers (sms capacity %zu), flow %s%s, accept by %s\n", ws_.c_str(),
              agent_of_.size(), p_.capacity, flow_.c_str(), p_.greeting ? " (greeting first)" : "",
              p_.rest_accept ? "POST .../Reservations/{WR}" : "the callback's answer");
  std::fflush(stdout);
  for (auto c : p_.concurrency)
    run(c, p_.rate);
  if (p_.rate <= 0 && best_conv_per_s_ > 0)
    for (auto f : p_.latency_fractions)
      if (f > 0)
        run(p_.concurrency.front(), f * best_conv_per_s_);
  if (p_.baseline_seconds > 0)
    run_baseline();
  std::fflush(stdout);
  callbacks_->stop();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  params p;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto v = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port") p.port = static_cast<std::uint16_t>(std::atoi(v().c_str()));
    else if (a == "--account") p.account = v();
    else if (a == "--token") p.token = v();
    else if (a == "--concurrency") {
      p.concurrency.clear();
      std::stringstream ss(v());
      std::string item;
      while (std::getline(ss, item, ','))
        p.concurrency.push_back(std::strtoul(item.c_str(), nullptr, 10));
    } else if (a == "--seconds") p.seconds = std::atof(v().c_str());
    else if (a == "--rate") p.rate = std::atof(v().c_str());
    else if (a == "--latency-fractions") {
      p.latency_fractions.clear();
      std::stringstream ss(v());
      std::string item;
      while (std::getline(ss, item, ','))
        p.latency_fractions.push_back(std::atof(item.c_str()));
    }
    else if (a == "--connections") p.connections = std::strtoul(v().c_str(), nullptr, 10);
    else if (a == "--threads") p.threads = std::strtoul(v().c_str(), nullptr, 10);
    else if (a == "--capacity") p.capacity = std::strtoul(v().c_str(), nullptr, 10);
    else if (a == "--accept") p.rest_accept = v() != "callback";
    else if (a == "--greeting") p.greeting = true;
    else if (a == "--baseline-seconds") p.baseline_seconds = std::atof(v().c_str());
    else if (a == "--drain-seconds") p.drain_seconds = std::atof(v().c_str());
    else if (a == "--server-pid") p.server_pid = std::atoi(v().c_str());
    else if (a == "--carrier-pid") p.carrier_pid = std::atoi(v().c_str());
    else {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of bench/flex_bench.cpp)\n", a.c_str());
      return 2;
    }
  }
  if (!p.port || p.account.empty() || p.token.empty() || p.concurrency.empty() || p.capacity == 0 ||
      p.connections == 0 || p.threads == 0) {
    std::fprintf(stderr, "usage: flex_bench --port N --account AC... --token T [options]\n");
    return 2;
  }
  bench b{p};
  return b.main();
}
