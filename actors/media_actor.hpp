#pragma once
// Conversations media (Twilio's Media Content Service) of every account: the
// metadata of each uploaded file, durable in the store (kind "media", scoped
// by its service), and its content, one file per ME SID in a directory of
// its own (DATA/media). The API reaches it with media_call; the conversation
// actors ask it with media_lookup before a message takes MediaSids and tell
// it with media_attach afterwards. Another account's media, or another
// service's, answers exactly as an absent one does.
//
// Durability: an upload's content is written to a temporary file, fsynced,
// renamed to its SID and the directory fsynced before the metadata is handed
// to the store; the answer waits for the metadata's commit. A delete erases
// the metadata, and once that is committed removes the file, then answers.
// At start every file that no recovered metadata names (a crash between the
// file and its commit, or between a delete's commit and the removal) is
// removed.
//
// Inbound media (an SMS or WhatsApp message's MediaUrl) come in with
// media_import: each URL is downloaded through media_options::fetch, which
// answers on a thread of its own and never blocks the actor, and the content
// is then kept exactly as an upload's is, attached to its message.
//
// Runs detached: it reads and writes files, which must not hold up the
// shared scheduler.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <caf/all.hpp>

#include "actors/durable.hpp"
#include "model/error.hpp"
#include "model/media.hpp"

namespace sb::actors {

enum class media_op : std::uint8_t {
  upload,         // POST /v1/Services/{IS}/Media: the body is the file
  fetch,          // GET .../Media/{ME}: the metadata
  content,        // GET .../Media/{ME}/Content: metadata and bytes
  remove,         // DELETE .../Media/{ME}
  signed_content, // GET /edge/media/{ME}?Expires=..&Signature=..: no account, a signature instead
};

// One API request about media.
struct media_call {
  media_op op = media_op::fetch;
  std::string account_sid; // the caller (empty for signed_content)
  std::string service_sid; // IS from the path (empty for signed_content)
  std::string sid;         // ME (empty for upload)
  // upload: the file and what the request said of it.
  std::string content_type;
  std::string filename;
  std::string content;
  // signed_content: the URL's Expires (Unix seconds) and Signature.
  std::int64_t expires_unix = 0;
  std::string signature;
};

// The answer to a media_call: an error, the media's metadata (with its bytes
// in content for content and signed_content), or nothing (a delete).
// created: an upload (201).
struct media_reply {
  std::variant<model::error, model::cv::media, std::monostate> value;
  std::string content;
  bool created = false;
};

// conversation -> media actor: which of these ME SIDs may a message in this
// account and service carry. Answered with media_lookup_reply: each SID in
// found (in the order asked, with its metadata, message_sid included so the
// caller can see one already attached) or in missing (unknown, or another
// account's or another service's).
struct media_lookup {
  std::string account_sid;
  std::string service_sid;
  std::vector<std::string> sids;
};

struct media_lookup_reply {
  std::vector<model::cv::media> found;
  std::vector<std::string> missing;
};

// conversation -> media actor, fire and forget: these media now belong to
// this message (shown as message_sid and channel_sid) and are saved. SIDs of
// other accounts, unknown ones and media already attached to another message
// are left alone.
struct media_attach {
  std::string account_sid;
  std::vector<std::string> sids;
  std::string message_sid;
  std::string conversation_sid;
};

// conversation -> media actor, fire and forget: download these inbound media
// (already given their ME SIDs by the message) and keep them as if uploaded,
// attached to the message. The media actor answers reply_to with
// media_imported once every item has been tried.
struct media_import_item {
  std::string sid;          // ME, chosen by the message
  std::string url;          // the carrier's MediaUrl
  std::string content_type; // its MediaContentType; used when the answer has none
};

struct media_import {
  std::string account_sid, service_sid, conversation_sid, message_sid;
  std::vector<media_import_item> items;
  caf::actor reply_to; // invalid: nobody is told
};

// media actor -> media_import::reply_to, once per media_import, after the
// metadata of everything stored is committed.
struct media_imported {
  std::string message_sid;
  std::vector<model::cv::media> stored; // what was downloaded and committed, in item order
  std::vector<std::pair<std::string, std::string>> failed; // (ME sid, reason) of items not stored, in item order
};

// One GET's outcome through the fetch seam: status 0 and error for a
// transport failure (too_large too when the body exceeded the limit);
// otherwise the status, body and the Content-Type and Location header
// values (empty when absent).
struct http_fetched {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string location;
  std::string error;
  bool too_large = false;
};

// GETs url (redirects are not followed: the media actor follows them),
// giving up after timeout and failing a body over body_limit bytes; calls
// done exactly once, on any thread.
using http_fetch_fn = std::function<void(std::string url, std::chrono::milliseconds timeout, std::size_t body_limit,
                                         std::function<void(http_fetched)> done)>;

// Conversations root -> media actor, fire and forget: this service is
// deleted; its media go too (metadata, then files).
struct media_service_deleted {
  std::string account_sid;
  std::string service_sid;
};

struct media_options {
  std::filesystem::path dir; // created when missing
  // The store writer; invalid: nothing is written and nothing is held.
  caf::actor store;
  // The Conversations root, asked whether an upload's service exists
  // (cv_call service_fetch); invalid: any well-formed IS SID is accepted.
  caf::actor conversations;
  // Account SID -> auth token, for the signatures of signed_content.
  std::shared_ptr<const std::unordered_map<std::string, std::string>> auth_tokens;
  // fsync files and the directory (--durability full); without it a
  // rename still makes each file appear whole or not at all.
  bool fsync = true;
  // How media_import downloads; empty: every item fails with "media
  // fetching is off".
  http_fetch_fn fetch;
  // Per imported item: the time for all its requests (redirects included)
  // and the largest content taken (WhatsApp's largest inbound file).
  std::chrono::milliseconds fetch_timeout{30000};
  std::size_t fetch_limit = 16 * 1024 * 1024;
  // Redirects followed per item.
  int fetch_max_redirects = 5;
};

struct media_import_job; // an import in progress (media_actor.cpp)

struct media_state {
  media_options options;
  std::unordered_map<std::string, model::cv::media> items; // by ME SID
  durable_writes<media_reply> durable;
  // Imports waiting for downloads, by their number.
  std::unordered_map<std::uint64_t, std::shared_ptr<media_import_job>> imports;
  std::uint64_t next_import = 0;
  static inline const char* name = "media";
};

using media_actor_type = caf::stateful_actor<media_state>;

// Gives the media actor the Conversations root, which is spawned after it
// (the root's conversations need the media actor): (atom, root).
using media_root_atom = caf::atom_constant<caf::atom("media_root")>;

// recovered: what a restart read back (store::recovered::media).
caf::behavior media_actor(media_actor_type* self, media_options options,
                          std::vector<model::cv::media> recovered);

} // namespace sb::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_lookup_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_attach)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_service_deleted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_import)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(sb::actors::media_imported)
