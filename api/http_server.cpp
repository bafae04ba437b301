#include "api/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

namespace sb::api {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using strand_type = net::strand<net::io_context::executor_type>;
using socket_type = net::basic_stream_socket<tcp, strand_type>;
using timer_type =
    net::basic_waitable_timer<clock_type, net::wait_traits<clock_type>, strand_type>;

namespace {

// After the server decides to close a connection that may still be sending
// (an error answer, Connection: close), it shuts down its sending side and
// discards input for at most this long or this many bytes, so that the peer
// reads the answer instead of a reset.
constexpr std::chrono::seconds linger_time{2};
constexpr std::size_t linger_bytes = 1 << 20;
// An out buffer grown past this by a large answer is released afterwards.
constexpr std::size_t out_buffer_keep = 64 * 1024;
// Pause before accepting again after accept() failed (e.g. EMFILE).
constexpr std::chrono::milliseconds accept_retry_delay{50};

void append_number(std::string& out, std::uint64_t n) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(hex[u >> 4]);
          out.push_back(hex[u & 0x0f]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

// The IMF-fixdate of the current second, cached per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[64];
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    cached_second = now;
  }
  return {text, 29};
}

bool iequals(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()),
                        beast::string_view(b.data(), b.size()));
}

bool reserved_header(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "server") ||
         iequals(name, "connection") || iequals(name, "transfer-encoding") ||
         iequals(name, "date") || iequals(name, "content-type");
}

bool has_crlf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

} // namespace

http_response error_response(unsigned status, int code, std::string_view message) {
  http_response r;
  r.status = status;
  r.body.reserve(96 + message.size());
  r.body += "{\"code\":";
  append_number(r.body, static_cast<std::uint64_t>(code));
  r.body += ",\"message\":";
  append_json_string(r.body, message);
  r.body += ",\"more_info\":\"https://www.twilio.com/docs/errors/";
  append_number(r.body, static_cast<std::uint64_t>(code));
  r.body += "\",\"status\":";
  append_number(r.body, status);
  r.body += '}';
  return r;
}

// State shared by the listener, the sessions and the responders. Sessions
// hold it so the io_context outlives every socket, even one kept alive by a
// responder after the server object is gone.
struct server_core {
  server_core(http_server_config c, request_handler h)
      : cfg(std::move(c)),
        handler(std::move(h)),
        ioc(static_cast<int>(cfg.io_threads == 0 ? 1 : cfg.io_threads)) {}

  const http_server_config cfg;
  const request_handler handler;
  net::io_context ioc;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};
  std::mutex sessions_mutex;
  std::list<std::weak_ptr<http_session>> sessions;  // guarded by sessions_mutex
};

namespace {

// Parses one request straight into an http_request, keeping only the fields
// the API reads. A fresh parser is made per request, as Beast requires.
class request_parser final : public http::basic_parser<true> {
 public:
  request_parser(http_session& owner, const http_server_config& cfg)
      : limit(cfg.body_limit), owner_(owner), cfg_(cfg) {
    body_limit(static_cast<std::uint64_t>(cfg.body_limit));
    header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(cfg.header_limit, std::numeric_limits<std::uint32_t>::max())));
  }

  http_request request;
  bool http10 = false;
  bool expect_continue = false;
  std::size_t limit; // the body limit this request got

 private:
  static void keep_first(std::string& slot, beast::string_view value) {
    if (slot.empty()) slot.assign(value.data(), value.size());
  }

  void on_request_impl(http::verb method, beast::string_view, beast::string_view target,
                       int version, error_code&) override {
    request.method = method;
    request.target.assign(target.data(), target.size());
    http10 = version < 11;
    choose_limit(); // without credentials so far
  }

  void choose_limit() {
    if (!cfg_.large_body)
      return;
    limit = cfg_.large_body(request.method, request.target, request.authorization) ? cfg_.large_body_limit
                                                                                   : cfg_.body_limit;
    body_limit(static_cast<std::uint64_t>(limit));
  }
  void on_response_impl(int, beast::string_view, int, error_code&) override {}
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     error_code&) override {
    switch (name) {
      case http::field::host: keep_first(request.host, value); break;
      case http::field::authorization:
        if (request.authorization.empty()) {
          keep_first(request.authorization, value);
          // Beast checks a declared Content-Length against the limit once
          // every field is read (before on_header_impl), so the
          // credentials' field can still grant or withdraw the larger one.
          choose_limit();
        }
        break;
      case http::field::content_type: keep_first(request.content_type, value); break;
      case http::field::if_match: keep_first(request.if_match, value); break;
      case http::field::content_disposition: keep_first(request.content_disposition, value); break;
      case http::field::expect:
        expect_continue = beast::iequals(value, "100-continue");
        break;
      default:
        if (name_string.size() < 16 || (name_string[0] != 'x' && name_string[0] != 'X')) break;
        if (beast::iequals(name_string, "x-forwarded-host")) {
          keep_first(request.forwarded_host, value);
        } else if (beast::iequals(name_string, "x-forwarded-proto")) {
          keep_first(request.forwarded_proto, value);
        } else if (beast::iequals(name_string, "x-twilio-webhook-enabled")) {
          keep_first(request.webhook_enabled, value);
        } else if (beast::iequals(name_string, "x-twilio-signature")) {
          keep_first(request.twilio_signature, value);
        }
    }
  }
  void on_header_impl(error_code&) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // The parser has already checked a declared length against body_limit.
    if (length) request.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(beast::string_view body, error_code&) override {
    request.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    request.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  http_session& owner_;
  const http_server_config& cfg_;
};

} // namespace

// One connection: owns the socket, the read buffer, the parser and the queue
// of answers owed; every member is touched only on the socket's strand.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(std::shared_ptr<server_core> core, socket_type socket)
      : core_(std::move(core)),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        slots_(std::max<std::size_t>(1, core_->cfg.max_pipelined)) {
    error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    const auto peer = socket_.remote_endpoint(ec);
    if (!ec) remote_address_ = peer.address().to_string();
  }

  // Registers with the server (or closes at once when it is stopping) and
  // starts reading on the strand.
  void start() {
    {
      std::lock_guard lock(core_->sessions_mutex);
      if (!core_->stopping.load(std::memory_order_relaxed)) {
        registry_pos_ = core_->sessions.insert(core_->sessions.end(), weak_from_this());
        registered_ = true;
      }
    }
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      if (!self->registered_) {
        self->close_now();
        return;
      }
      self->set_deadline(self->core_->cfg.idle_timeout);
      self->do_read();
    });
  }

  // Posts an answer to the strand; dropped once the server is stopping.
  void post_response(std::shared_ptr<http_session> self, std::uint64_t sequence,
                     http_response response) {
    if (core_->stopping.load(std::memory_order_relaxed)) return;
    net::post(socket_.get_executor(),
              [self = std::move(self), sequence, response = std::move(response)]() mutable {
                self->on_response(sequence, std::move(response));
              });
  }

  strand_type executor() { return socket_.get_executor(); }

  // Closes the socket at once; idempotent.
  void close_now() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    timer_.cancel();
    core_->connections.fetch_sub(1, std::memory_order_relaxed);
    if (registered_) {
      std::lock_guard lock(core_->sessions_mutex);
      core_->sessions.erase(registry_pos_);
      registered_ = false;
    }
  }

  // Called by the parser, inside a read, when a request header is complete.
  // Answers Expect: 100-continue when no earlier answer is owed (otherwise
  // the client sends its body after its own wait).
  void on_request_header(bool expect_continue) {
    set_deadline(core_->cfg.request_timeout);
    if (!expect_continue || writing_ || owed() > 0 || parser_->is_done()) return;
    static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    writing_ = true;
    net::async_write(socket_, net::buffer(continue_line.data(), continue_line.size()),
                     [self = shared_from_this()](error_code ec, std::size_t) {
                       self->writing_ = false;
                       if (self->closed_) return;
                       if (ec) {
                         self->close_now();
                         return;
                       }
                       self->flush();
                     });
  }

 private:
  struct slot {
    http_response response;
    bool ready = false;
    bool close = false;   // close the connection after this answer
    bool http10 = false;  // request was HTTP/1.0
    bool head = false;    // HEAD: headers only
  };

  slot& slot_at(std::uint64_t sequence) { return slots_[sequence % slots_.size()]; }
  std::uint64_t owed() const { return next_sequence_ - head_sequence_; }

  void set_deadline(clock_type::duration timeout) {
    if (closed_) return;
    deadline_ = clock_type::now() + timeout;
    if (timer_armed_ && timer_expiry_ <= deadline_) return;
    timer_armed_ = true;
    timer_expiry_ = deadline_;
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
  }

  // The timer is armed lazily: moving the deadline later only updates
  // deadline_, and the timer re-arms itself when it fires early.
  void on_timer(error_code ec) {
    if (ec == net::error::operation_aborted || closed_) return;
    timer_armed_ = false;
    if (clock_type::now() < deadline_) {
      timer_armed_ = true;
      timer_expiry_ = deadline_;
      timer_.expires_at(deadline_);
      timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
      return;
    }
    close_now();
  }

  void do_read() {
    if (reading_ || closed_ || stop_reading_ || owed() >= slots_.size()) return;
    parser_.emplace(*this, core_->cfg);
    reading_ = true;
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    reading_ = false;
    if (closed_) return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    const std::uint64_t sequence = next_sequence_++;
    slot& s = slot_at(sequence);
    s.ready = false;
    s.close = !parser_->keep_alive();
    s.http10 = parser_->http10;
    s.head = parser_->request.method == http::verb::head;
    if (s.close) stop_reading_ = true;
    http_request request = std::move(parser_->request);
    request.remote_address = remote_address_;
    set_deadline(core_->cfg.request_timeout);
    try {
      core_->handler(std::move(request), responder(shared_from_this(), sequence));
    } catch (...) {
      on_response(sequence, error_response(500, 20500, "Internal server error"));
    }
    do_read();
  }

  void on_read_error(error_code ec) {
    if (ec == http::error::end_of_stream) {
      // The peer finished sending; answers still owed go out first.
      stop_reading_ = true;
      if (owed() == 0 && !writing_) close_now();
      return;
    }
    if (ec.category() != error_code(http::error::end_of_stream).category() ||
        ec == http::error::partial_message) {
      close_now();
      return;
    }
    http_response r;
    if (ec == http::error::body_limit) {
      r = error_response(413, 20001,
                         "Request body exceeds " + std::to_string(parser_->limit) + " bytes");
    } else if (ec == http::error::header_limit) {
      r = error_response(431, 20001, "Request header fields too large");
    } else {
      r = error_response(400, 20001, "Malformed HTTP request: " + ec.message());
    }
    stop_reading_ = true;
    const std::uint64_t sequence = next_sequence_++;
    slot& s = slot_at(sequence);
    s.ready = false;
    s.close = true;
    s.http10 = false;
    s.head = false;
    on_response(sequence, std::move(r));
  }

  void on_response(std::uint64_t sequence, http_response&& response) {
    if (closed_ || sequence < head_sequence_ || sequence >= next_sequence_) return;
    slot& s = slot_at(sequence);
    if (s.ready) return;
    s.response = std::move(response);
    s.ready = true;
    if (sequence == head_sequence_) flush();
  }

  // Serializes every answer that is ready in request order into out_ and
  // writes them with one call.
  void flush() {
    if (writing_ || closed_ || lingering_) return;
    while (head_sequence_ < next_sequence_ && slot_at(head_sequence_).ready) {
      slot& s = slot_at(head_sequence_);
      serialize(s);
      s.ready = false;
      std::string().swap(s.response.body);
      s.response.headers.clear();
      ++head_sequence_;
      if (s.close) {
        close_after_write_ = true;
        break;
      }
    }
    if (out_.empty()) return;
    writing_ = true;
    set_deadline(core_->cfg.request_timeout);
    net::async_write(socket_, net::buffer(out_),
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
    do_read();
  }

  void on_write(error_code ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) {
      close_now();
      return;
    }
    if (out_.capacity() > out_buffer_keep) std::string().swap(out_);
    else out_.clear();
    if (close_after_write_) {
      linger();
      return;
    }
    flush();
    if (writing_) return;
    if (stop_reading_ && !reading_ && owed() == 0) {
      close_now();
      return;
    }
    const bool busy = owed() > 0 || (reading_ && parser_ && parser_->got_some());
    set_deadline(busy ? core_->cfg.request_timeout : core_->cfg.idle_timeout);
  }

  void serialize(const slot& s) {
    const http_response& r = s.response;
    unsigned status = r.status;
    if (status < 200 || status > 999) status = 500;
    const bool no_body = status == 204 || status == 304;
    out_ += "HTTP/1.1 ";
    append_number(out_, status);
    out_ += ' ';
    const auto reason = http::obsolete_reason(static_cast<http::status>(status));
    out_.append(reason.data(), reason.size());
    out_ += "\r\nServer: switchboard\r\nDate: ";
    out_ += http_date();
    out_ += "\r\n";
    if (!r.content_type.empty() && !no_body && !has_crlf(r.content_type)) {
      out_ += "Content-Type: ";
      out_ += r.content_type;
      out_ += "\r\n";
    }
    if (!no_body) {
      out_ += "Content-Length: ";
      append_number(out_, r.body.size());
      out_ += "\r\n";
    }
    if (s.close) out_ += "Connection: close\r\n";
    else if (s.http10) out_ += "Connection: keep-alive\r\n";
    for (const auto& [name, value] : r.headers) {
      if (name.empty() || reserved_header(name) || has_crlf(name) || has_crlf(value)) continue;
      out_ += name;
      out_ += ": ";
      out_ += value;
      out_ += "\r\n";
    }
    out_ += "\r\n";
    if (!no_body && !s.head) out_ += r.body;
  }

  // Half-closes and drains input for a bounded time so the peer can read the
  // last answer before the socket goes away.
  void linger() {
    lingering_ = true;
    stop_reading_ = true;
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close_now();
      return;
    }
    set_deadline(linger_time);
    buffer_.consume(buffer_.size());
    do_linger_read();
  }

  void do_linger_read() {
    if (reading_) return;  // a request read in progress drains for us
    reading_ = true;
    socket_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](error_code ec,
                                                                              std::size_t n) {
      self->reading_ = false;
      if (self->closed_) return;
      self->lingered_ += n;
      if (ec || self->lingered_ > linger_bytes) {
        self->close_now();
        return;
      }
      self->do_linger_read();
    });
  }

  // Declared first: the core (and its io_context) must outlive the socket.
  std::shared_ptr<server_core> core_;
  socket_type socket_;
  timer_type timer_;
  beast::flat_buffer buffer_;
  std::optional<request_parser> parser_;
  std::vector<slot> slots_;  // ring of max_pipelined answers, indexed by sequence
  std::string out_;
  std::string remote_address_;
  std::uint64_t head_sequence_ = 0;  // oldest answer not yet serialized
  std::uint64_t next_sequence_ = 0;  // sequence of the next request read
  clock_type::time_point deadline_{};
  clock_type::time_point timer_expiry_{};
  std::size_t lingered_ = 0;
  std::list<std::weak_ptr<http_session>>::iterator registry_pos_{};
  bool registered_ = false;
  bool timer_armed_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool stop_reading_ = false;
  bool close_after_write_ = false;
  bool lingering_ = false;
  bool closed_ = false;
};

namespace {
void request_parser::on_header_impl(error_code&) { owner_.on_request_header(expect_continue); }
} // namespace

void responder::operator()(http_response response) const {
  if (session_) session_->post_response(session_, sequence_, std::move(response));
}

// Accepts connections and hands each to a new http_session.
class http_listener : public std::enable_shared_from_this<http_listener> {
 public:
  http_listener(std::shared_ptr<server_core> core, const tcp::endpoint& endpoint)
      : core_(std::move(core)),
        acceptor_(net::make_strand(core_->ioc)),
        retry_timer_(acceptor_.get_executor()) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void run() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
  }

  // Stops accepting; safe from any thread.
  void close() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ec;
      self->acceptor_.close(ec);
      self->retry_timer_.cancel();
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(core_->ioc),
                           [self = shared_from_this()](error_code ec, socket_type socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, socket_type socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      retry_timer_.expires_after(accept_retry_delay);
      retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->do_accept();
      });
      return;
    }
    if (core_->connections.load(std::memory_order_relaxed) >= core_->cfg.max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      core_->connections.fetch_add(1, std::memory_order_relaxed);
      std::make_shared<http_session>(core_, std::move(socket))->start();
    }
    do_accept();
  }

  std::shared_ptr<server_core> core_;
  net::basic_socket_acceptor<tcp, strand_type> acceptor_;
  timer_type retry_timer_;
};

http_server::http_server(http_server_config cfg, request_handler handler)
    : core_(std::make_shared<server_core>(std::move(cfg), std::move(handler))) {}

http_server::~http_server() { stop(); }

void http_server::start() {
  if (started_) throw std::logic_error("http_server::start called twice");
  started_ = true;
  const auto& cfg = core_->cfg;
  const std::string where = cfg.address + ":" + std::to_string(cfg.port);
  try {
    const tcp::endpoint endpoint(net::ip::make_address(cfg.address), cfg.port);
    listener_ = std::make_shared<http_listener>(core_, endpoint);
    port_ = listener_->port();
  } catch (const boost::system::system_error& e) {
    stopped_ = true;
    throw std::runtime_error("cannot listen on " + where + ": " + e.code().message());
  }
  listener_->run();
  const std::size_t n = cfg.io_threads == 0 ? 1 : cfg.io_threads;
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    threads_.emplace_back([core = core_] { core->ioc.run(); });
  }
}

void http_server::stop() {
  if (!started_ || stopped_) {
    stopped_ = true;
    return;
  }
  stopped_ = true;
  {
    std::lock_guard lock(core_->sessions_mutex);
    core_->stopping.store(true);
    for (const auto& weak : core_->sessions) {
      if (auto session = weak.lock()) {
        net::post(session->executor(), [session] { session->close_now(); });
      }
    }
  }
  listener_->close();
  for (auto& t : threads_) t.join();
  threads_.clear();
  listener_.reset();
}

std::uint16_t http_server::port() const { return port_; }

std::size_t http_server::connections() const {
  return core_->connections.load(std::memory_order_relaxed);
}

} // namespace sb::api
