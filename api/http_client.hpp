#pragma once
// Outbound HTTP/1.1 for webhooks (event callbacks, assignment callbacks): one
// connection per request, http:// or https:// (TLS with the peer's
// certificate and host name verified), on a thread the client owns.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sb::api {

// One outbound request. User information in the URL (http://user:pass@host/)
// becomes an Authorization: Basic header; `headers` replace fields of the
// same name that the client would set (Host, User-Agent, Content-Type).
struct http_client_request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/x-www-form-urlencoded";  // sent when body is non-empty
  std::string body;
  std::chrono::milliseconds timeout{15000};  // whole exchange: resolve, connect, write, read
  // Largest response body accepted, in bytes; a larger one (announced by
  // Content-Length or read so far) fails the request with body_too_large
  // set. 0: the client's http_client_config::response_body_limit.
  std::size_t body_limit = 0;
};

// The outcome of one request: a status and body when an HTTP answer arrived
// (any status, including 4xx and 5xx), otherwise status 0 and an error.
// content_type and location are the answer's Content-Type and Location
// header values as sent (empty when absent).
struct http_client_response {
  int status = 0;
  std::string body;
  std::string error;  // empty on transport success
  std::string content_type;
  std::string location;
  bool body_too_large = false;  // failed: the body exceeded the request's limit
};

// Limits of one client.
struct http_client_config {
  std::size_t max_in_flight = 256;  // requests on the wire at once
  std::size_t max_queued = 4096;    // requests waiting beyond that; more fail with "queue full"
  std::size_t response_body_limit = 1 << 20;  // bytes; larger answers fail
  // PEM file of certificate authorities to trust for https besides the
  // system's (for receivers with a private CA); empty: the system's only.
  std::string ca_file;
};

struct http_client_state;

// An asynchronous HTTP client with its own I/O thread.
class http_client {
 public:
  // Starts the client's thread. Throws std::runtime_error when cfg.ca_file
  // cannot be loaded.
  explicit http_client(http_client_config cfg = {});
  // Stops the client.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Sends `req` and calls `done` exactly once with the outcome, on the
  // client's thread; after stop() it calls `done` at once on the caller's
  // thread with error "client stopped". Thread-safe. `done` must not throw
  // and must not call stop().
  void send(http_client_request req, std::function<void(http_client_response)> done);
  // Fails queued and in-flight requests with "client stopped" and joins the
  // thread. Idempotent; must not be called from a `done` callback.
  void stop();

 private:
  std::shared_ptr<http_client_state> state_;
  std::thread thread_;
  std::mutex mutex_;
  bool stopped_ = false;  // guarded by mutex_
};

} // namespace sb::api
