#include "api/http_client.hpp"
#include "api/http_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

using namespace std::chrono_literals;
using sb::api::http_client;
using sb::api::http_client_config;
using sb::api::http_client_request;
using sb::api::http_client_response;
using sb::api::http_request;
using sb::api::http_response;
using sb::api::http_server;
using sb::api::http_server_config;
using sb::api::request_handler;
using sb::api::responder;

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr auto deadline = 5s;

http_server_config test_config() {
  http_server_config cfg;
  cfg.port = 0;
  return cfg;
}

// Answers at once with the request's fields in the body.
request_handler echo_handler() {
  return [](http_request&& r, responder respond) {
    http_response res;
    res.content_type = "text/plain";
    res.body = std::string(http::to_string(r.method)) + " " + r.target + "|" + r.body;
    res.headers.emplace_back("X-Host", r.host);
    res.headers.emplace_back("X-Authorization", r.authorization);
    res.headers.emplace_back("X-Content-Type", r.content_type);
    res.headers.emplace_back("X-Fwd-Host", r.forwarded_host);
    res.headers.emplace_back("X-Fwd-Proto", r.forwarded_proto);
    res.headers.emplace_back("X-If-Match", r.if_match);
    res.headers.emplace_back("X-Webhook-Enabled", r.webhook_enabled);
    res.headers.emplace_back("X-Remote", r.remote_address);
    respond(std::move(res));
  };
}

// Keeps every request and its responder so the test answers when it likes.
class collector {
 public:
  request_handler handler() {
    return [this](http_request&& r, responder respond) {
      std::lock_guard lock(mutex_);
      items_.emplace_back(std::move(r), std::move(respond));
      cv_.notify_all();
    };
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds within = deadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, within, [&] { return items_.size() >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::pair<http_request, responder> at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return items_.at(i);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<http_request, responder>> items_;
};

http_response text(std::string body) {
  http_response r;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

// A blocking-looking client whose every wait runs its own io_context with a
// deadline, so a broken server fails the test instead of hanging it.
class test_client {
 public:
  explicit test_client(std::uint16_t port) { socket_.connect({net::ip::make_address("127.0.0.1"), port}); }

  void write(const std::string& data) { net::write(socket_, net::buffer(data)); }

  http::response<http::string_body> read(std::chrono::milliseconds within = deadline) {
    http::response<http::string_body> res;
    error_code result;
    bool done = false;
    http::async_read(socket_, buffer_, res, [&](error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    run(within, done);
    REQUIRE(done);
    REQUIRE_FALSE(result);
    return res;
  }

  // Reads the answer to a HEAD request: a header whose Content-Length
  // describes a body that is not sent.
  http::response<http::string_body> read_head(std::chrono::milliseconds within = deadline) {
    http::response_parser<http::string_body> parser;
    parser.skip(true);
    error_code result;
    bool done = false;
    http::async_read(socket_, buffer_, parser, [&](error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    run(within, done);
    REQUIRE(done);
    REQUIRE_FALSE(result);
    return parser.release();
  }

  // True when the server closes the connection (EOF or reset) within the
  // deadline; data still arriving is discarded.
  bool wait_closed(std::chrono::milliseconds within = deadline) {
    bool closed = false;
    bool done = false;
    std::function<void()> next;
    char scratch[4096];
    next = [&] {
      socket_.async_read_some(net::buffer(scratch), [&](error_code ec, std::size_t) {
        if (ec) {
          closed = ec != net::error::operation_aborted;
          done = true;
        } else {
          next();
        }
      });
    };
    if (buffer_.size() > 0) buffer_.consume(buffer_.size());
    next();
    run(within, done);
    return closed;
  }

  tcp::socket& socket() { return socket_; }

 private:
  void run(std::chrono::milliseconds within, const bool& done) {
    ioc_.restart();
    const auto until = std::chrono::steady_clock::now() + within;
    while (!done && std::chrono::steady_clock::now() < until) {
      ioc_.run_one_until(until);
    }
    if (!done) {
      error_code ignored;
      socket_.cancel(ignored);
      ioc_.restart();
      ioc_.run();
    }
  }

  net::io_context ioc_;
  tcp::socket socket_{ioc_};
  beast::flat_buffer buffer_;
};

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

std::string post(const std::string& target, const std::string& body,
                 const std::string& extra = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

template <class T>
T get_within(std::future<T>& f, std::chrono::milliseconds within = deadline) {
  REQUIRE(f.wait_for(within) == std::future_status::ready);
  return f.get();
}

} // namespace

TEST_CASE("server answers a request with the handler's response", "[api]") {
  http_server server(test_config(), echo_handler());
  server.start();
  REQUIRE(server.port() != 0);
  test_client c(server.port());
  c.write(post("/v1/Workspaces?PageSize=5", "FriendlyName=x",
               "Authorization: Basic abc\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               "X-Forwarded-Host: example.com\r\nX-Forwarded-Proto: https\r\nIf-Match: \"3\"\r\n"
               "X-Twilio-Webhook-Enabled: true\r\nX-Other: ignored\r\n"));
  const auto res = c.read();
  CHECK(res.result_int() == 200);
  CHECK(res.body() == "POST /v1/Workspaces?PageSize=5|FriendlyName=x");
  CHECK(res[http::field::server] == "switchboard");
  CHECK(res[http::field::content_length] == std::to_string(res.body().size()));
  CHECK(res[http::field::content_type] == "text/plain");
  CHECK_FALSE(res[http::field::date].empty());
  CHECK(res["X-Host"] == "localhost");
  CHECK(res["X-Authorization"] == "Basic abc");
  CHECK(res["X-Content-Type"] == "application/x-www-form-urlencoded");
  CHECK(res["X-Fwd-Host"] == "example.com");
  CHECK(res["X-Fwd-Proto"] == "https");
  CHECK(res["X-If-Match"] == "\"3\"");
  CHECK(res["X-Webhook-Enabled"] == "true");
  CHECK(res["X-Remote"] == "127.0.0.1");
  CHECK(res.keep_alive());
}

TEST_CASE("server keeps a connection alive across requests", "[api]") {
  http_server server(test_config(), echo_handler());
  server.start();
  test_client c(server.port());
  c.write(get("/one"));
  CHECK(c.read().body() == "GET /one|");
  c.write(post("/two", "b=2"));
  CHECK(c.read().body() == "POST /two|b=2");
  CHECK(server.connections() == 1);
}

TEST_CASE("server answers pipelined requests in order when the handler answers out of order",
          "[api]") {
  collector requests;
  http_server server(test_config(), requests.handler());
  server.start();
  test_client c(server.port());
  c.write(get("/1") + post("/2", "two") + get("/3"));
  REQUIRE(requests.wait_for_count(3));
  CHECK(requests.at(1).first.body == "two");
  requests.at(2).second(text("third"));
  requests.at(1).second(text("second"));
  requests.at(0).second(text("first"));
  CHECK(c.read().body() == "first");
  CHECK(c.read().body() == "second");
  CHECK(c.read().body() == "third");
}

TEST_CASE("server stops reading at max_pipelined answers owed", "[api]") {
  collector requests;
  auto cfg = test_config();
  cfg.max_pipelined = 2;
  http_server server(cfg, requests.handler());
  server.start();
  test_client c(server.port());
  c.write(get("/1") + get("/2") + get("/3") + get("/4"));
  REQUIRE(requests.wait_for_count(2));
  // Nothing more may arrive while two answers are owed.
  CHECK_FALSE(requests.wait_for_count(3, 200ms));
  requests.at(1).second(text("2"));
  requests.at(0).second(text("1"));
  REQUIRE(requests.wait_for_count(4));
  requests.at(3).second(text("4"));
  requests.at(2).second(text("3"));
  for (const char* expected : {"1", "2", "3", "4"}) CHECK(c.read().body() == expected);
}

TEST_CASE("server rejects an oversize body with 413 and a Twilio error", "[api]") {
  std::atomic<int> calls{0};
  auto cfg = test_config();
  cfg.body_limit = 1024;
  http_server server(cfg, [&calls](http_request&&, responder respond) {
    ++calls;
    respond(text("ok"));
  });
  server.start();
  const std::string big(4096, 'a');
  const std::vector<std::pair<const char*, std::string>> rows = {
      {"declared length", post("/x", big)},
      {"chunked", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" +
                      big + "\r\n0\r\n\r\n"},
  };
  for (const auto& [name, request] : rows) {
    INFO(name);
    test_client c(server.port());
    c.write(request);
    const auto res = c.read();
    CHECK(res.result_int() == 413);
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(res.body() ==
          "{\"code\":20001,\"message\":\"Request body exceeds 1024 bytes\","
          "\"more_info\":\"https://www.twilio.com/docs/errors/20001\",\"status\":413}");
    CHECK_FALSE(res.keep_alive());
    CHECK(c.wait_closed());
  }
  CHECK(calls == 0);
  test_client ok(server.port());
  ok.write(post("/x", std::string(1024, 'b')));
  CHECK(ok.read().result_int() == 200);
  CHECK(calls == 1);
}

TEST_CASE("server answers malformed requests with 400", "[api]") {
  std::atomic<int> calls{0};
  http_server server(test_config(), [&calls](http_request&&, responder respond) {
    ++calls;
    respond(text("ok"));
  });
  server.start();
  const std::vector<std::pair<const char*, std::string>> rows = {
      {"garbage request line", "GARBAGE\r\n\r\n"},
      {"bad version", "GET / HTTP/9\r\n\r\n"},
      {"field without colon", "GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n"},
      {"bad content length", "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"},
      {"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
  };
  for (const auto& [name, request] : rows) {
    INFO(name);
    test_client c(server.port());
    c.write(request);
    const auto res = c.read();
    CHECK(res.result_int() == 400);
    CHECK(res.body().find("\"code\":20001") != std::string::npos);
    CHECK(res.body().find("\"status\":400") != std::string::npos);
    CHECK(c.wait_closed());
  }
  CHECK(calls == 0);
}

TEST_CASE("server answers requests before a malformed one, then the 400", "[api]") {
  http_server server(test_config(), echo_handler());
  server.start();
  test_client c(server.port());
  c.write(get("/ok") + "NOT HTTP\r\n\r\n");
  CHECK(c.read().body() == "GET /ok|");
  CHECK(c.read().result_int() == 400);
  CHECK(c.wait_closed());
}

TEST_CASE("server closes idle connections after idle_timeout", "[api]") {
  auto cfg = test_config();
  cfg.idle_timeout = 1s;
  http_server server(cfg, echo_handler());
  server.start();
  SECTION("before any request") {
    test_client c(server.port());
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.wait_closed());
    CHECK(std::chrono::steady_clock::now() - t0 >= 900ms);
  }
  SECTION("after a request") {
    test_client c(server.port());
    c.write(get("/"));
    CHECK(c.read().result_int() == 200);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.wait_closed());
    CHECK(std::chrono::steady_clock::now() - t0 >= 900ms);
  }
  SECTION("not while an answer is owed") {
    collector requests;
    http_server slow(cfg, requests.handler());
    slow.start();
    test_client c(slow.port());
    c.write(get("/"));
    REQUIRE(requests.wait_for_count(1));
    CHECK_FALSE(c.wait_closed(1500ms));
    requests.at(0).second(text("late"));
    CHECK(c.read().body() == "late");
  }
}

TEST_CASE("server closes a request whose body stalls past request_timeout", "[api]") {
  auto cfg = test_config();
  cfg.request_timeout = 1s;
  std::atomic<int> calls{0};
  http_server server(cfg, [&calls](http_request&&, responder respond) {
    ++calls;
    respond(text("ok"));
  });
  server.start();
  test_client c(server.port());
  c.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
  CHECK(c.wait_closed());
  CHECK(calls == 0);
}

TEST_CASE("server honours Connection: close and HTTP/1.0", "[api]") {
  http_server server(test_config(), echo_handler());
  server.start();
  SECTION("HTTP/1.1 with Connection: close") {
    test_client c(server.port());
    c.write(get("/", "Connection: close\r\n") + get("/ignored"));
    const auto res = c.read();
    CHECK(res.body() == "GET /|");
    CHECK(res[http::field::connection] == "close");
    CHECK(c.wait_closed());
  }
  SECTION("HTTP/1.0 closes by default") {
    test_client c(server.port());
    c.write("GET /old HTTP/1.0\r\n\r\n");
    const auto res = c.read();
    CHECK(res.result_int() == 200);
    CHECK(res.body() == "GET /old|");
    CHECK(c.wait_closed());
  }
  SECTION("HTTP/1.0 with keep-alive") {
    test_client c(server.port());
    c.write("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const auto first = c.read();
    CHECK(first[http::field::connection] == "keep-alive");
    c.write("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK(c.read().body() == "GET /b|");
  }
}

TEST_CASE("server answers Expect: 100-continue before the body", "[api]") {
  http_server server(test_config(), echo_handler());
  server.start();
  test_client c(server.port());
  c.write("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  CHECK(c.read().result_int() == 100);
  c.write("hello");
  CHECK(c.read().body() == "POST /up|hello");
}

TEST_CASE("server shapes special responses", "[api]") {
  http_server server(test_config(), [](http_request&& r, responder respond) {
    if (r.target == "/throw") throw std::runtime_error("boom");
    http_response res;
    res.status = r.target == "/204" ? 204 : 200;
    res.body = "body";
    res.headers = {{"Content-Length", "999"}, {"X-Bad", "a\r\nInjected: 1"}, {"X-Good", "1"}};
    respond(std::move(res));
  });
  server.start();
  test_client c(server.port());
  c.write(get("/204"));
  auto res = c.read();
  CHECK(res.result_int() == 204);
  CHECK(res.body().empty());
  CHECK(res.count(http::field::content_length) == 0);

  c.write("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n" + get("/after-head"));
  res = c.read_head();
  CHECK(res[http::field::content_length] == "4");
  res = c.read();
  CHECK(res.body() == "body");
  CHECK(res[http::field::content_length] == "4");
  CHECK(res.count("X-Bad") == 0);
  CHECK(res.count("Injected") == 0);
  CHECK(res["X-Good"] == "1");

  c.write(get("/throw"));
  res = c.read();
  CHECK(res.result_int() == 500);
  CHECK(res.body().find("\"code\":20500") != std::string::npos);
}

TEST_CASE("error_response builds Twilio's error body", "[api]") {
  const auto r = sb::api::error_response(404, 20404, "The requested resource \"x\" was not found");
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/json");
  CHECK(r.body ==
        "{\"code\":20404,\"message\":\"The requested resource \\\"x\\\" was not found\","
        "\"more_info\":\"https://www.twilio.com/docs/errors/20404\",\"status\":404}");
}

TEST_CASE("server refuses connections beyond max_connections", "[api]") {
  auto cfg = test_config();
  cfg.max_connections = 2;
  http_server server(cfg, echo_handler());
  server.start();
  test_client a(server.port());
  test_client b(server.port());
  a.write(get("/a"));
  b.write(get("/b"));
  CHECK(a.read().body() == "GET /a|");
  CHECK(b.read().body() == "GET /b|");
  test_client extra(server.port());
  CHECK(extra.wait_closed());
  a.write(get("/a2"));
  CHECK(a.read().body() == "GET /a2|");
}

TEST_CASE("server serves many concurrent connections", "[api]") {
  constexpr int connections = 200;
  auto cfg = test_config();
  cfg.io_threads = 2;
  http_server server(cfg, echo_handler());
  server.start();

  struct conn {
    explicit conn(net::io_context& ioc) : socket(ioc) {}
    tcp::socket socket;
    std::string request;
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
  };
  net::io_context ioc;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), server.port());
  std::vector<std::unique_ptr<conn>> conns;
  int answered = 0;
  int failed = 0;
  for (int i = 0; i < connections; ++i) {
    auto& c = *conns.emplace_back(std::make_unique<conn>(ioc));
    c.request = get("/n/" + std::to_string(i));
    c.socket.async_connect(endpoint, [&c, &answered, &failed](error_code ec) {
      if (ec) {
        ++failed;
        return;
      }
      net::async_write(c.socket, net::buffer(c.request), [&c, &answered, &failed](error_code ec, std::size_t) {
        if (ec) {
          ++failed;
          return;
        }
        http::async_read(c.socket, c.buffer, c.response, [&answered, &failed](error_code ec, std::size_t) {
          ec ? ++failed : ++answered;
        });
      });
    });
  }
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (answered + failed < connections && std::chrono::steady_clock::now() < until) {
    ioc.run_one_until(until);
  }
  CHECK(failed == 0);
  REQUIRE(answered == connections);
  CHECK(server.connections() == connections);
  for (int i = 0; i < connections; ++i) {
    CHECK(conns[i]->response.body() == "GET /n/" + std::to_string(i) + "|");
  }
}

TEST_CASE("stop returns with open connections and late responders are harmless", "[api]") {
  collector requests;
  responder late;
  {
    http_server server(test_config(), requests.handler());
    server.start();
    test_client idle(server.port());
    test_client waiting(server.port());
    waiting.write(get("/never-answered"));
    REQUIRE(requests.wait_for_count(1));
    late = requests.at(0).second;
    auto stopped = std::async(std::launch::async, [&server] { server.stop(); });
    get_within(stopped);
    CHECK(idle.wait_closed());
    CHECK(waiting.wait_closed());
    late(text("after stop"));
    server.stop();
  }
  late(text("after destruction"));
  late = responder{};
  SUCCEED();
}

TEST_CASE("a responder called after the client went away is harmless", "[api]") {
  collector requests;
  http_server server(test_config(), requests.handler());
  server.start();
  {
    test_client gone(server.port());
    gone.write(get("/gone"));
    REQUIRE(requests.wait_for_count(1));
  }
  // Both calls land after the connection closed; the second is a duplicate.
  requests.at(0).second(text("nobody listens"));
  requests.at(0).second(text("twice"));
  test_client next(server.port());
  next.write(get("/next"));
  REQUIRE(requests.wait_for_count(2));
  requests.at(1).second(text("still serving"));
  CHECK(next.read().body() == "still serving");
}

TEST_CASE("start throws when the port is taken", "[api]") {
  http_server first(test_config(), echo_handler());
  first.start();
  auto cfg = test_config();
  cfg.port = first.port();
  http_server second(cfg, echo_handler());
  CHECK_THROWS_WITH(second.start(), Catch::Contains("cannot listen on 127.0.0.1:"));
}

namespace {

std::future<http_client_response> send(http_client& client, http_client_request req) {
  auto promise = std::make_shared<std::promise<http_client_response>>();
  auto future = promise->get_future();
  client.send(std::move(req), [promise](http_client_response r) { promise->set_value(std::move(r)); });
  return future;
}

} // namespace

TEST_CASE("http_client round trip against the server", "[api]") {
  http_server server(test_config(), echo_handler());
  server.start();
  http_client client;
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  http_client_request req;
  req.url = base + "/callback?a=1#fragment";
  req.body = "EventType=task.created";
  req.headers = {{"X-Twilio-Signature", "sig"}};
  auto f = send(client, req);
  auto res = get_within(f);
  CHECK(res.error.empty());
  CHECK(res.status == 200);
  CHECK(res.body == "POST /callback?a=1|EventType=task.created");

  http_client_request get_req;
  get_req.method = "get";
  get_req.url = base;
  f = send(client, get_req);
  res = get_within(f);
  CHECK(res.error.empty());
  CHECK(res.body == "GET /|");
}

TEST_CASE("http_client sends the request's fields", "[api]") {
  collector requests;
  http_server server(test_config(), requests.handler());
  server.start();
  http_client client;
  http_client_request req;
  req.url = "http://user:p%40ss@127.0.0.1:" + std::to_string(server.port()) + "/cb";
  req.body = "a=1";
  auto f = send(client, req);
  REQUIRE(requests.wait_for_count(1));
  const auto& seen = requests.at(0).first;
  CHECK(seen.method == http::verb::post);
  CHECK(seen.target == "/cb");
  CHECK(seen.content_type == "application/x-www-form-urlencoded");
  CHECK(seen.authorization == "Basic dXNlcjpwQHNz");  // user:p@ss
  CHECK(seen.host == "127.0.0.1:" + std::to_string(server.port()));
  requests.at(0).second(sb::api::error_response(503, 20503, "busy"));
  const auto res = get_within(f);
  CHECK(res.error.empty());
  CHECK(res.status == 503);
}

TEST_CASE("http_client times out against a listener that never answers", "[api]") {
  net::io_context ioc;
  tcp::acceptor silent(ioc, {net::ip::make_address("127.0.0.1"), 0});
  http_client client;
  http_client_request req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/";
  req.timeout = 300ms;
  const auto t0 = std::chrono::steady_clock::now();
  auto f = send(client, req);
  const auto res = get_within(f);
  CHECK(res.status == 0);
  CHECK_THAT(res.error, Catch::StartsWith("timeout after 300 ms"));
  CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
}

TEST_CASE("http_client reports failures as errors", "[api]") {
  std::uint16_t closed_port = 0;
  {
    net::io_context ioc;
    tcp::acceptor probe(ioc, {net::ip::make_address("127.0.0.1"), 0});
    closed_port = probe.local_endpoint().port();
  }
  struct row {
    std::string url;
    std::string error_prefix;
  };
  const std::vector<row> rows = {
      {"http://127.0.0.1:" + std::to_string(closed_port) + "/", "connect: Connection refused"},
      {"https://127.0.0.1:" + std::to_string(closed_port) + "/", "connect: Connection refused"},
      {"ftp://example.com/", "invalid url"},
      {"http:///nohost", "invalid url (no host)"},
      {"http://h:99999/", "invalid url (bad port)"},
  };
  http_client client;
  for (const auto& r : rows) {
    INFO(r.url);
    http_client_request req;
    req.url = r.url;
    auto f = send(client, req);
    const auto res = get_within(f);
    CHECK(res.status == 0);
    CHECK_THAT(res.error, Catch::StartsWith(r.error_prefix));
  }
}

TEST_CASE("http_client bounds its queue and fails pending requests on stop", "[api]") {
  net::io_context ioc;
  tcp::acceptor silent(ioc, {net::ip::make_address("127.0.0.1"), 0});
  http_client_config cfg;
  cfg.max_in_flight = 1;
  cfg.max_queued = 1;
  http_client client(cfg);
  http_client_request req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/";
  req.timeout = 30s;
  auto in_flight = send(client, req);
  auto queued = send(client, req);
  auto rejected = send(client, req);
  CHECK(get_within(rejected).error == "queue full");
  client.stop();
  CHECK(get_within(in_flight).error == "client stopped");
  CHECK(get_within(queued).error == "client stopped");
  auto after = send(client, req);
  CHECK(get_within(after).error == "client stopped");
}

TEST_CASE("http_client shows Content-Type and Location and takes a per-request body limit", "[api]") {
  http_server server(test_config(), [](http_request&& r, responder respond) {
    if (r.target == "/moved") {
      http_response res{302, "", "", {}};
      res.headers.emplace_back("Location", "/files/a.png");
      return respond(std::move(res));
    }
    if (r.target == "/bare")
      return respond(http_response{200, "", "no type", {}});
    respond(http_response{200, "image/png; q=1", std::string(2000, 'p'), {}});
  });
  server.start();
  http_client_config cfg;
  cfg.response_body_limit = 1000;
  http_client client(cfg);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  auto get = [&](const std::string& path, std::size_t limit) {
    http_client_request req;
    req.method = "GET";
    req.url = base + path;
    req.body_limit = limit;
    auto f = send(client, req);
    return get_within(f);
  };

  auto moved = get("/moved", 0);
  CHECK(moved.error.empty());
  CHECK(moved.status == 302);
  CHECK(moved.location == "/files/a.png");
  CHECK(moved.content_type.empty());
  CHECK_FALSE(moved.body_too_large);

  auto bare = get("/bare", 0);
  CHECK(bare.status == 200);
  CHECK(bare.content_type.empty());
  CHECK(bare.location.empty());
  CHECK(bare.body == "no type");

  // 2000 bytes: over the client's 1000 (body_limit 0), over a request's 1999,
  // within a request's 2000 (larger than the client's own).
  auto over_default = get("/file", 0);
  CHECK(over_default.status == 0);
  CHECK(over_default.body_too_large);
  CHECK(over_default.error == "read: body limit exceeded");
  auto over_own = get("/file", 1999);
  CHECK(over_own.status == 0);
  CHECK(over_own.body_too_large);
  auto fits = get("/file", 2000);
  CHECK(fits.error.empty());
  CHECK_FALSE(fits.body_too_large);
  CHECK(fits.status == 200);
  CHECK(fits.content_type == "image/png; q=1");
  CHECK(fits.body == std::string(2000, 'p'));
}

TEST_CASE("server gives requests its predicate picks the larger body limit", "[api]") {
  std::atomic<int> calls{0};
  auto cfg = test_config();
  cfg.body_limit = 1024;
  cfg.large_body_limit = 8192;
  // The predicate sees the credentials too (the server turns away large
  // uploads without valid ones).
  cfg.large_body = [](http::verb method, std::string_view target, std::string_view authorization) {
    return method == http::verb::post && target.substr(0, 4) == "/big" && authorization != "Basic wrong";
  };
  http_server server(cfg, [&calls](http_request&& r, responder respond) {
    ++calls;
    respond(text(std::to_string(r.body.size()) + " " + r.content_disposition));
  });
  server.start();
  const std::string body(4096, 'a');
  struct row {
    const char* name;
    std::string request;
    unsigned status;
    std::string answer;
  };
  const std::vector<row> rows = {
      {"large route, declared length", post("/big?x=1", body, "Content-Disposition: attachment; filename=\"a.bin\"\r\n"),
       200, "4096 attachment; filename=\"a.bin\""},
      {"large route, chunked",
       "POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + body + "\r\n0\r\n\r\n", 200,
       "4096 "},
      {"large route, over its own limit", post("/big", std::string(8193, 'a')), 413,
       "{\"code\":20001,\"message\":\"Request body exceeds 8192 bytes\","
       "\"more_info\":\"https://www.twilio.com/docs/errors/20001\",\"status\":413}"},
      {"large route, credentials the predicate refuses", post("/big", body, "Authorization: Basic wrong\r\n"), 413,
       "{\"code\":20001,\"message\":\"Request body exceeds 1024 bytes\","
       "\"more_info\":\"https://www.twilio.com/docs/errors/20001\",\"status\":413}"},
      {"other route keeps body_limit", post("/x", body), 413,
       "{\"code\":20001,\"message\":\"Request body exceeds 1024 bytes\","
       "\"more_info\":\"https://www.twilio.com/docs/errors/20001\",\"status\":413}"},
      {"GET on the large path keeps body_limit", "GET /big HTTP/1.1\r\nHost: h\r\nContent-Length: 4096\r\n\r\n" + body,
       413,
       "{\"code\":20001,\"message\":\"Request body exceeds 1024 bytes\","
       "\"more_info\":\"https://www.twilio.com/docs/errors/20001\",\"status\":413}"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    test_client c(server.port());
    c.write(r.request);
    const auto res = c.read();
    CHECK(res.result_int() == r.status);
    CHECK(res.body() == r.answer);
  }
  CHECK(calls == 2);
  // The limit is per request: after a large upload, the next request on the
  // same connection is held to body_limit again.
  test_client c(server.port());
  c.write(post("/big", body) + post("/x", body));
  CHECK(c.read().result_int() == 200);
  CHECK(c.read().result_int() == 413);
  CHECK(calls == 3);
}
