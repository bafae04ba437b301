#include "api/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <list>
#include <optional>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <stdexcept>

#include "api/text.hpp"
#include "model/signature.hpp"

namespace sb::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

struct parsed_url {
  bool tls = false;         // https
  std::string host;         // without brackets
  std::string port = "80";
  std::string host_header;  // host[:port] as sent in Host
  std::string target = "/";
  std::string userinfo;     // percent-decoded user:password, or empty
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
        hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}


// Parses an absolute http:// URL; returns an error message on failure.
std::optional<std::string> parse_url(std::string_view url, parsed_url& out) {
  std::string_view rest;
  if (starts_with_nocase(url, "https://")) {
    out.tls = true;
    out.port = "443";
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return "invalid url (want http:// or https://): " + std::string(url);
  }
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  if (path_start != std::string_view::npos) {
    out.target.assign(rest.substr(path_start));
    if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.userinfo = percent_decode(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "invalid url (bad IPv6 host): " + std::string(url);
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "invalid url (bad port): " + std::string(url);
      port = after.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "invalid url (no host): " + std::string(url);
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return c >= '0' && c <= '9';
        })) {
      return "invalid url (bad port): " + std::string(url);
    }
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) return "invalid url (bad port): " + std::string(url);
    out.port.assign(port);
  }
  out.host.assign(host);
  out.host_header = authority.front() == '[' ? "[" + out.host + "]" : out.host;
  if (out.port != (out.tls ? "443" : "80")) out.host_header += ":" + out.port;
  return std::nullopt;
}

} // namespace

class http_client_op;

// Everything the client's thread owns; touched only on that thread.
struct http_client_state {
  explicit http_client_state(http_client_config c)
      : cfg(c), ioc(1), work(net::make_work_guard(ioc)), tls(net::ssl::context::tls_client) {
    tls.set_default_verify_paths();
    tls.set_verify_mode(net::ssl::verify_peer);
    if (!cfg.ca_file.empty()) {
      error_code ec;
      tls.load_verify_file(cfg.ca_file, ec);
      if (ec)
        throw std::runtime_error("cannot load CA file " + cfg.ca_file + ": " + ec.message());
    }
  }

  struct pending {
    http_client_request request;
    std::function<void(http_client_response)> done;
  };

  void submit(std::shared_ptr<http_client_state> self, http_client_request request,
              std::function<void(http_client_response)> done);
  void launch(std::shared_ptr<http_client_state> self, http_client_request request,
              std::function<void(http_client_response)> done);
  void finished(std::shared_ptr<http_client_state> self,
                std::list<std::weak_ptr<http_client_op>>::iterator pos);
  void shutdown();

  const http_client_config cfg;
  net::io_context ioc;
  // Keeps run() going while idle; released by shutdown() so that run()
  // returns once the cancelled requests have reported.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  net::ssl::context tls; // for https: verifies peers against the system's CAs and cfg.ca_file
  bool stopping = false;
  std::size_t in_flight = 0;
  std::deque<pending> queue;                    // bounded by cfg.max_queued
  std::list<std::weak_ptr<http_client_op>> ops;  // in flight, for shutdown
};

// One request from resolve to response.
class http_client_op : public std::enable_shared_from_this<http_client_op> {
 public:
  http_client_op(std::shared_ptr<http_client_state> state, http_client_request request,
                 std::function<void(http_client_response)> done)
      : state_(std::move(state)),
        request_(std::move(request)),
        done_(std::move(done)),
        resolver_(state_->ioc),
        stream_(state_->ioc),
        resolve_timer_(state_->ioc) {
    parser_.body_limit(body_limit());
  }

  void start(std::list<std::weak_ptr<http_client_op>>::iterator pos) {
    pos_ = pos;
    parsed_url url;
    if (auto err = parse_url(request_.url, url)) {
      fail(std::move(*err));
      return;
    }
    if (url.tls) {
      tls_.emplace(state_->ioc, state_->tls);
      // SNI for host names, and the certificate must name the host.
      error_code not_an_address;
      net::ip::make_address(url.host, not_an_address);
      if (not_an_address)
        SSL_set_tlsext_host_name(tls_->native_handle(), url.host.c_str());
      tls_->set_verify_callback(net::ssl::host_name_verification(url.host));
    }
    std::string method = request_.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const http::verb verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) {
      fail("unsupported method: " + request_.method);
      return;
    }
    message_.method(verb);
    message_.target(url.target);
    message_.version(11);
    message_.set(http::field::host, url.host_header);
    message_.set(http::field::user_agent, "switchboard");
    message_.keep_alive(false);
    if (!url.userinfo.empty()) {
      message_.set(http::field::authorization, "Basic " + model::base64_encode(url.userinfo));
    }
    if (!request_.body.empty() && !request_.content_type.empty()) {
      message_.set(http::field::content_type, request_.content_type);
    }
    for (const auto& [name, value] : request_.headers) message_.set(name, value);
    message_.body() = std::move(request_.body);
    message_.prepare_payload();

    deadline_ = std::chrono::steady_clock::now() + request_.timeout;
    resolve_timer_.expires_at(deadline_);
    resolve_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
    });
    resolver_.async_resolve(
        url.host, url.port,
        [self = shared_from_this()](error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(ec, std::move(results));
        });
  }

  // Aborts the request; its done callback reports "client stopped".
  void cancel() {
    if (finished_) return;
    stopped_ = true;
    resolver_.cancel();
    resolve_timer_.cancel();
    error_code ignored;
    lowest().socket().close(ignored);
  }

 private:
  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : stream_; }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    resolve_timer_.cancel();
    if (finished_) return;
    if (ec) {
      fail_with("resolve " + std::string(message_[http::field::host]), ec);
      return;
    }
    if (stopped_) {
      fail("client stopped");
      return;
    }
    lowest().expires_at(deadline_);
    lowest().async_connect(results, [self = shared_from_this()](error_code ec,
                                                                const tcp::endpoint&) {
      self->on_connect(ec);
    });
  }

  void on_connect(error_code ec) {
    if (ec) {
      fail_with("connect", ec);
      return;
    }
    if (tls_) {
      tls_->async_handshake(net::ssl::stream_base::client,
                            [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
      return;
    }
    http::async_write(stream_, message_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_handshake(error_code ec) {
    if (ec) {
      fail_with("tls handshake", ec);
      return;
    }
    http::async_write(*tls_, message_, [self = shared_from_this()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(error_code ec) {
    if (ec) {
      fail_with("write", ec);
      return;
    }
    // The header first: Beast (1.74) does not hold a Content-Length body to
    // the parser's body limit, so that is checked here before the body is read.
    auto next = [self = shared_from_this()](error_code ec, std::size_t) { self->on_header(ec); };
    if (tls_)
      http::async_read_header(*tls_, buffer_, parser_, std::move(next));
    else
      http::async_read_header(stream_, buffer_, parser_, std::move(next));
  }

  void on_header(error_code ec) {
    if (ec || parser_.is_done()) {
      on_read(ec);
      return;
    }
    if (auto length = parser_.content_length(); length && *length > body_limit()) {
      on_read(http::error::body_limit);
      return;
    }
    auto next = [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); };
    if (tls_)
      http::async_read(*tls_, buffer_, parser_, std::move(next));
    else
      http::async_read(stream_, buffer_, parser_, std::move(next));
  }

  std::uint64_t body_limit() const {
    return static_cast<std::uint64_t>(request_.body_limit ? request_.body_limit : state_->cfg.response_body_limit);
  }

  void on_read(error_code ec) {
    if (ec == http::error::body_limit && !stopped_ && !timed_out_) {
      http_client_response r;
      r.error = "read: " + ec.message();
      r.body_too_large = true;
      finish(std::move(r));
      return;
    }
    if (ec) {
      fail_with("read", ec);
      return;
    }
    http_client_response r;
    auto& res = parser_.get();
    r.status = static_cast<int>(res.result_int());
    r.content_type = std::string(res[http::field::content_type]);
    r.location = std::string(res[http::field::location]);
    r.body = std::move(res.body());
    finish(std::move(r));
  }

  void fail_with(const std::string& stage, error_code ec) {
    if (stopped_) {
      fail("client stopped");
    } else if (timed_out_ || ec == beast::error::timeout) {
      fail("timeout after " + std::to_string(request_.timeout.count()) + " ms (" + stage + ")");
    } else {
      fail(stage + ": " + ec.message());
    }
  }

  void fail(std::string error) {
    http_client_response r;
    r.error = std::move(error);
    finish(std::move(r));
  }

  void finish(http_client_response response) {
    if (finished_) return;
    finished_ = true;
    resolve_timer_.cancel();
    // One request per connection: the TLS session is not shut down
    // gracefully, the socket is just closed.
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
    auto done = std::move(done_);
    state_->finished(state_, pos_);
    done(std::move(response));
  }

  std::shared_ptr<http_client_state> state_;
  http_client_request request_;
  std::function<void(http_client_response)> done_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;                                // plain http
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_; // https
  net::steady_timer resolve_timer_;  // the resolver has no deadline of its own
  http::request<http::string_body> message_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  std::chrono::steady_clock::time_point deadline_{};
  std::list<std::weak_ptr<http_client_op>>::iterator pos_{};
  bool finished_ = false;
  bool timed_out_ = false;
  bool stopped_ = false;
};

void http_client_state::submit(std::shared_ptr<http_client_state> self,
                               http_client_request request,
                               std::function<void(http_client_response)> done) {
  if (stopping) {
    done(http_client_response{0, {}, "client stopped"});
  } else if (in_flight < std::max<std::size_t>(1, cfg.max_in_flight)) {
    launch(std::move(self), std::move(request), std::move(done));
  } else if (queue.size() < cfg.max_queued) {
    queue.push_back({std::move(request), std::move(done)});
  } else {
    done(http_client_response{0, {}, "queue full"});
  }
}

void http_client_state::launch(std::shared_ptr<http_client_state> self,
                               http_client_request request,
                               std::function<void(http_client_response)> done) {
  ++in_flight;
  auto op = std::make_shared<http_client_op>(std::move(self), std::move(request), std::move(done));
  auto pos = ops.insert(ops.end(), op);
  op->start(pos);
}

void http_client_state::finished(std::shared_ptr<http_client_state> self,
                                 std::list<std::weak_ptr<http_client_op>>::iterator pos) {
  ops.erase(pos);
  --in_flight;
  if (stopping || queue.empty()) return;
  pending next = std::move(queue.front());
  queue.pop_front();
  // Posted so that a chain of failing requests does not recurse.
  net::post(ioc, [self = std::move(self), next = std::move(next)]() mutable {
    self->submit(self, std::move(next.request), std::move(next.done));
  });
}

void http_client_state::shutdown() {
  stopping = true;
  auto waiting = std::move(queue);
  queue.clear();
  for (auto& p : waiting) p.done(http_client_response{0, {}, "client stopped"});
  std::vector<std::shared_ptr<http_client_op>> active;
  for (const auto& weak : ops) {
    if (auto op = weak.lock()) active.push_back(std::move(op));
  }
  for (const auto& op : active) op->cancel();
  work.reset();
}

http_client::http_client(http_client_config cfg)
    : state_(std::make_shared<http_client_state>(cfg)) {
  thread_ = std::thread([state = state_] { state->ioc.run(); });
}

http_client::~http_client() { stop(); }

void http_client::send(http_client_request req, std::function<void(http_client_response)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      net::post(state_->ioc, [state = state_, req = std::move(req), done = std::move(done)]() mutable {
        state->submit(state, std::move(req), std::move(done));
      });
      return;
    }
  }
  done(http_client_response{0, {}, "client stopped"});
}

void http_client::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  net::post(state_->ioc, [state = state_] { state->shutdown(); });
  if (thread_.joinable()) thread_.join();
}

} // namespace sb::api
