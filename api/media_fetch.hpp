#pragma once
// The media actor's fetch seam (media_options::fetch) over the outbound HTTP
// client: one GET per call, redirects left to the media actor.

#include "actors/media_actor.hpp"
#include "api/http_client.hpp"

namespace sb::api {

// GETs through client, which must outlive every call's answer (done runs on
// the client's thread; after the client stops, done reports "client
// stopped" at once). User information in a URL becomes Basic credentials.
actors::http_fetch_fn http_fetch_through(http_client& client);

} // namespace sb::api
