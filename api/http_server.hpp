#pragma once
// HTTP/1.1 transport: a Beast listener that accepts connections and one
// http_session per connection that parses requests, hands each to the
// request_handler and writes the answers back in request order. Routing,
// authentication and JSON live elsewhere; nothing here knows about them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace sb::api {

// One parsed request. Header fields the API uses are copied out; every other
// field is dropped. For a repeated field the first occurrence wins.
struct http_request {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string target;  // path + query as received
  std::string host;
  std::string authorization;
  std::string content_type;
  std::string forwarded_host;   // X-Forwarded-Host
  std::string forwarded_proto;  // X-Forwarded-Proto
  std::string if_match;
  std::string webhook_enabled;  // X-Twilio-Webhook-Enabled
  std::string twilio_signature; // X-Twilio-Signature (the messaging edge's callbacks)
  std::string content_disposition; // a media upload's file name
  std::string body;
  std::string remote_address;  // peer IP address, no port
};

// The answer to one request. The server adds Server, Content-Length and,
// when it closes the connection, Connection itself; extra headers with those
// names, or with CR or LF anywhere, are dropped.
struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";  // omitted when empty
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// A Twilio-style error response: status `status` with the JSON body
// {"code", "message", "more_info", "status"}. `message` is JSON-escaped.
http_response error_response(unsigned status, int code, std::string_view message);

class http_session;

// Delivers the answer to one request. Cheap to copy (one shared pointer and a
// sequence number) and callable from any thread; the answer is posted to the
// connection's strand. Only the first call for a request counts; calls after
// the connection closed or the server stopped are dropped. A default-made
// responder drops everything.
class responder {
 public:
  responder() = default;
  void operator()(http_response response) const;

 private:
  friend class http_session;
  responder(std::shared_ptr<http_session> session, std::uint64_t sequence)
      : session_(std::move(session)), sequence_(sequence) {}
  std::shared_ptr<http_session> session_;
  std::uint64_t sequence_ = 0;
};

// Handles a request on an I/O thread. Must not block: it hands the request
// off and calls the responder once, now or later. An exception it throws
// becomes a 500 answer.
using request_handler = std::function<void(http_request&&, responder)>;

// Limits and addresses; every limit applies per server unless named per
// connection.
struct http_server_config {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port
  std::size_t io_threads = 1;
  std::size_t body_limit = 1 << 20;  // bytes per request body; larger gets 413
  // A request for which large_body(method, target, authorization) holds may
  // carry up to large_body_limit bytes instead (media uploads with valid
  // credentials). Asked at the request line (authorization empty) and again
  // when the Authorization field arrives, before any body byte is read;
  // unset: body_limit for every request.
  std::function<bool(boost::beast::http::verb, std::string_view, std::string_view)> large_body;
  std::size_t large_body_limit = 0;
  std::size_t header_limit = 8 * 1024;  // bytes of request line + fields; larger gets 431
  // A connection with no request in progress and no answer owed is closed
  // after idle_timeout.
  std::chrono::seconds idle_timeout{30};
  // Once a request header has arrived, its body must arrive, the handler must
  // answer and the answer must be written, each within request_timeout;
  // otherwise the connection is closed.
  std::chrono::seconds request_timeout{30};
  std::size_t max_connections = 10000;  // further connections are closed at once
  std::size_t max_pipelined = 16;  // answers owed per connection before reading pauses
};

struct server_core;
class http_listener;

// An HTTP/1.1 server: keep-alive, pipelining with in-order answers, HTTP/1.0.
class http_server {
 public:
  // Stores the configuration and the handler; binds nothing yet.
  http_server(http_server_config cfg, request_handler handler);
  // Stops the server.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds, listens and spawns the I/O threads. Throws std::runtime_error
  // naming the address when binding or listening fails. Call once.
  void start();
  // Closes the listener and every connection, then joins the I/O threads.
  // Idempotent. Must not be called from a request handler.
  void stop();
  // The bound port (useful with port 0); 0 before start().
  std::uint16_t port() const;
  // Connections open right now.
  std::size_t connections() const;

 private:
  std::shared_ptr<server_core> core_;
  std::shared_ptr<http_listener> listener_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

} // namespace sb::api
