#pragma once
// The HTTP adapter: turns each request into a message to the owning actor and
// the reply into Twilio's JSON. It holds no domain state: only the account
// table (for authentication), the public base URLs and a pool of bridge
// actors that carry requests into the actor system without blocking an I/O
// thread.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "api/http_server.hpp"
#include "metrics/metrics.hpp"

namespace sb::api {

struct account {
  std::string sid;
  std::string auth_token;
};

struct media_route_match;

struct app_config {
  std::vector<account> accounts;
  std::string taskrouter_base = "https://taskrouter.twilio.com";
  std::string conversations_base = "https://conversations.twilio.com";
  // The Conversations root actor; invalid: the Conversations API is off.
  caf::actor conversations;
  // The address configurations actor (/v1/Configuration/Addresses); invalid:
  // those routes answer 404.
  caf::actor addresses;
  // The media actor (Conversations media, /v1/Services/{IS}/Media and
  // /edge/media/{ME}); invalid: those routes answer 404.
  caf::actor media;
  // The public base URL messaging gateways call this server at (/edge/...),
  // for checking their X-Twilio-Signature. Empty: the request's own scheme
  // and Host (or X-Forwarded-Proto and X-Forwarded-Host).
  std::string edge_base;
  // The API keys actor (/2010-04-01/Accounts/{AC}/Keys); invalid: those
  // routes answer 404.
  caf::actor keys;
  // The Flex Interactions root (/v1/Interactions, /v2/WebChats); invalid:
  // those routes answer 404.
  caf::actor interactions;
  std::string flex_base = "https://flex-api.twilio.com";
  // The Studio root (/v2/Flows...); invalid: those routes answer 404.
  caf::actor studio;
  std::string studio_base = "https://studio.twilio.com";
  std::size_t bridges = 4;
  std::chrono::seconds actor_timeout{30};
  // The store writer: a change's response waits for its commit. Invalid: no store.
  caf::actor store;
  // False while the store refuses writes: POST and DELETE get 503 at once.
  std::shared_ptr<std::atomic<bool>> writable;
};

class app {
 public:
  // directory is the TaskRouter root actor; metrics must outlive the app.
  app(caf::actor_system& sys, caf::actor directory, const metrics::registry& metrics,
      app_config cfg);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // The http_server's request handler. Never blocks.
  void handle(http_request&& req, responder respond);

  // Stops the bridge actors.
  void stop();

  // The http_server's large_body predicate: a media upload with valid
  // credentials may carry the larger body. Called on I/O threads.
  bool takes_large_body(boost::beast::http::verb method, std::string_view target,
                        std::string_view authorization) const;

 private:
  const account* authenticate(const std::string& authorization) const;
  // The next bridge of a pool, round robin.
  const caf::actor& next_of(const std::vector<caf::actor>& pool) {
    return pool[next_bridge_.fetch_add(1, std::memory_order_relaxed) % pool.size()];
  }
  // POST /edge/inbound and /edge/status: a messaging gateway's incoming
  // messages and status callbacks, signed with X-Twilio-Signature.
  void handle_edge(http_request&& req, std::string_view path, std::string_view query, responder respond);
  // /v1/Services/{IS}/Media...: the Media Content Service (Basic auth; an
  // upload's body is the file itself, not a form).
  void handle_media(http_request&& req, media_route_match&& route, std::string_view query, responder respond);
  // GET /edge/media/{ME}?Expires=..&Signature=..: a media's content without
  // credentials, for a signed temporary URL (model::cv::media_content_url).
  void handle_media_edge(http_request&& req, std::string_view path, std::string_view query, responder respond);
  void handle_keys(http_request&& req, std::string_view path, std::string_view query, responder respond);
  // This server's base URL as the request's sender reached it: edge_base,
  // else the request's scheme and Host (or X-Forwarded-Proto and -Host).
  std::string request_base(const http_request& req) const;

  caf::actor_system& sys_;
  caf::actor directory_;
  const metrics::registry& metrics_;
  app_config cfg_;
  std::vector<caf::actor> bridges_;
  std::vector<caf::actor> cv_bridges_;
  std::vector<caf::actor> media_bridges_;
  std::vector<caf::actor> key_bridges_;
  std::vector<caf::actor> ix_bridges_;
  std::vector<caf::actor> st_bridges_;
  std::atomic<std::size_t> next_bridge_{0};
};

} // namespace sb::api
