#include "api/media_fetch.hpp"

#include <utility>

namespace sb::api {

actors::http_fetch_fn http_fetch_through(http_client& client) {
  return [&client](std::string url, std::chrono::milliseconds timeout, std::size_t body_limit,
                   std::function<void(actors::http_fetched)> done) {
    http_client_request req;
    req.method = "GET";
    req.url = std::move(url);
    req.timeout = timeout;
    req.body_limit = body_limit; // 0: the client's own limit
    client.send(std::move(req), [done = std::move(done)](http_client_response r) {
      actors::http_fetched f;
      f.error = std::move(r.error);
      f.status = f.error.empty() ? r.status : 0;
      f.too_large = r.body_too_large;
      if (f.error.empty()) {
        f.body = std::move(r.body);
        f.content_type = std::move(r.content_type);
        f.location = std::move(r.location);
      }
      done(std::move(f));
    });
  };
}

} // namespace sb::api
