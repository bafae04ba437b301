#pragma once
// Delivers outbound webhooks (TaskRouter event callbacks, assignment
// callbacks): form-encoded, signed with X-Twilio-Signature, retried with
// backoff, with a bounded number in flight and a bounded backlog. It never
// blocks its callers; a caller that wants the answer gets a webhook_done.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>

#include "model/form.hpp"

namespace sb::actors {

// One outbound request as the HTTP seam sends it.
struct http_out {
  std::string method = "POST"; // POST (form body) or GET (no body)
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{15000}; // the whole exchange
};

// The HTTP seam: sends one request and calls done(status, body) exactly once,
// from any thread; status 0 means a transport failure (or the timeout).
// Tests inject their own.
using http_post_fn = std::function<void(http_out request, std::function<void(int, std::string)> done)>;

// Ask for one delivery. reply_to (if set) receives webhook_done with `tag`.
struct webhook_post {
  std::string url;
  model::form_pairs params;
  std::string auth_token;
  int max_attempts = 3;
  caf::actor reply_to;
  std::string tag;
  // Deliveries with the same non-empty key leave one at a time, in the
  // order they were handed over (a conversation's events, for example): the
  // next starts once the one before it is delivered or given up.
  std::string order_key;
  // GET sends params in the query string (and signs the URL with it).
  std::string method = "POST";
  std::chrono::milliseconds timeout{15000}; // one attempt
};

// The outcome of a delivery that asked for one: the last status and body.
struct webhook_done {
  std::string tag;
  int status = 0;
  std::string body;
};

struct webhook_stats {
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::uint64_t dropped = 0;
};

struct webhook_state {
  struct pending {
    webhook_post post;
    int attempt = 0;
  };
  http_post_fn transport;
  std::deque<pending> backlog;
  std::unordered_map<std::uint64_t, pending> in_flight;
  std::uint64_t next_id = 0;
  // Order keys with a delivery under way, and what waits behind it.
  std::unordered_map<std::string, std::deque<pending>> ordered;
  std::size_t waiting = 0; // deliveries in `ordered`'s queues
  webhook_stats stats;
  static inline const char* name = "webhooks";
};

using webhook_actor_type = caf::stateful_actor<webhook_state>;

caf::behavior webhook_actor(webhook_actor_type* self, http_post_fn transport);

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::webhook_post)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::webhook_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::webhook_stats)
