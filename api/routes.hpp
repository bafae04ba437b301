#pragma once
// The TaskRouter route table: method + path -> operation and path SIDs.
// Literal segments are tried before {Sid} segments (Workers/Statistics before
// Workers/{Sid}).

#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/verb.hpp>

#include "actors/cv_messages.hpp"
#include "actors/ix_messages.hpp"
#include "actors/studio_messages.hpp"
#include "actors/media_actor.hpp"
#include "actors/messages.hpp"

namespace sb::api {

struct route_match {
  actors::tr_op op;
  const char* pattern;   // the route's label for metrics, e.g. /v1/Workspaces/{Sid}/Tasks
  const char* list_key;  // the page key for list operations, else nullptr
  std::string workspace_sid;
  std::string sid;
  std::string sub_sid;
};

// The operation for method and path (no query string), if any. When the
// path exists only for other methods, allowed lists them ("GET, POST") for a
// 405 answer; it stays empty for an unknown path.
std::optional<route_match> match_taskrouter(boost::beast::http::verb method, std::string_view path,
                                            std::string& allowed);

struct cv_route_match {
  actors::cv_op op;
  const char* pattern;
  const char* list_key;
  std::string service_sid;
  std::string conversation;
  std::string sid;
  std::string sub_sid;
};

// The Conversations v1 operation for method and path, if any (same contract
// as match_taskrouter).
std::optional<cv_route_match> match_conversations(boost::beast::http::verb method, std::string_view path,
                                                  std::string& allowed);

struct ix_route_match {
  actors::ix_op op;
  const char* pattern;
  const char* list_key;
  std::string sid;         // KD
  std::string channel_sid; // UO
  std::string sub_sid;     // UT
};

// The flex-api operation (Interactions v1, WebChats v2) for method and path,
// with any /flex-api prefix already removed (same contract as
// match_taskrouter).
std::optional<ix_route_match> match_flex(boost::beast::http::verb method, std::string_view path,
                                         std::string& allowed);

struct st_route_match {
  actors::st_op op;
  const char* pattern;
  const char* list_key;
  std::string flow_sid;
  std::string sid;     // FN or a revision
  std::string sub_sid; // FT
};

// The Studio v2 operation for method and path, with any /studio prefix
// already removed (same contract as match_taskrouter).
std::optional<st_route_match> match_studio(boost::beast::http::verb method, std::string_view path,
                                           std::string& allowed);

struct media_route_match {
  actors::media_op op;
  const char* pattern;
  std::string service_sid;
  std::string sid; // ME, except for upload
};

// The Media Content Service operation for method and path (Twilio's MCS
// paths under /v1/Services/{IS}/Media, with any product prefix already
// removed), if any (same contract as match_taskrouter).
std::optional<media_route_match> match_media(boost::beast::http::verb method, std::string_view path,
                                             std::string& allowed);

// True for a media upload (POST .../v1/Services/{IS}/Media, optionally
// under /mcs or /conversations, any query): the requests the HTTP server
// lets carry the larger media body limit. Decided from the request line.
bool is_media_upload(boost::beast::http::verb method, std::string_view target);

} // namespace sb::api
