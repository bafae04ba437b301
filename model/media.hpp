#pragma once
// Conversations media (Twilio's Media Content Service): a file uploaded to a
// Conversations service, named by an ME SID, that messages then carry. Plain
// data and pure functions: the per-channel limits a message's media must
// keep, the wire JSON, and the signed temporary URLs of the content.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/clock.hpp"
#include "model/error.hpp"

namespace sb::model::cv {

// One uploaded file's metadata; its bytes are kept apart from it.
struct media {
  std::string sid; // ME
  std::string account_sid;
  std::string service_sid; // IS
  std::string content_type;
  std::string filename; // empty: none given
  std::int64_t size = 0; // bytes
  std::string author = "system";
  std::string category = "media";
  // The message that carries it, once one does (Twilio: message_sid and
  // channel_sid).
  std::string message_sid;
  std::string conversation_sid;
  time_point created, updated;
};

// Twilio's documented media limits.
struct media_limits {
  static constexpr std::int64_t chat_file = 150LL * 1024 * 1024;     // each file
  static constexpr std::int64_t mms_total = 5LL * 1024 * 1024;       // all files of a message
  static constexpr std::size_t mms_files = 10;
  static constexpr std::int64_t whatsapp_file = 16LL * 1024 * 1024;  // its one file
  static constexpr std::size_t content_type = 255; // characters of a Content-Type
  static constexpr std::size_t filename = 256;     // characters of a file name
};

// Whether the media of one message may go out on a channel: "chat" (or
// empty: a chat participant) allows any number of files of up to 150 MB
// each; "sms" (MMS) at most 10 files and 5 MB in all; "whatsapp" one file of
// up to 16 MB. No media is always fine. Errors (400): 21623 too many files,
// 50512 too large (Twilio's "Message media size is too large"), 20001 a
// channel with no known media rules.
std::optional<error> check_media_for_channel(std::string_view channel, const std::vector<media>& files);

// Checks what an upload says of its file: a Content-Type that looks like
// type/subtype (printable ASCII, at most 255 characters), a file name that
// is UTF-8 without control characters and at most 256 characters (empty:
// none), and at least one byte. Errors are 400 / 20001.
std::optional<error> check_upload(std::string_view content_type, std::string_view filename, std::int64_t size);

// The signature of a temporary content URL: base64url (no padding) of
// HMAC-SHA256(auth_token, media_sid + "." + expires_unix).
std::string media_url_signature(std::string_view auth_token, std::string_view media_sid,
                                std::int64_t expires_unix);

// True when signature is media_url_signature(auth_token, media_sid,
// expires_unix) (compared in constant time) and now_unix is not past
// expires_unix.
bool check_media_url_signature(std::string_view auth_token, std::string_view media_sid,
                               std::int64_t expires_unix, std::string_view signature,
                               std::int64_t now_unix);

// The temporary URL of a media's content, served without credentials until
// expires_unix: base + "/edge/media/" + sid + "?Expires=" + expires_unix +
// "&Signature=" + media_url_signature(...). base is this server as the
// fetcher reaches it (no trailing slash), e.g. "http://127.0.0.1:8080".
std::string media_content_url(std::string_view base, std::string_view auth_token,
                              std::string_view media_sid, std::int64_t expires_unix);

// How long the temporary URL in a media's links.content_direct_temporary
// stays valid.
inline constexpr std::int64_t media_direct_url_ttl_s = 300;

// The file name in a Content-Disposition header value: the filename*
// parameter (RFC 5987/8187, UTF-8 or ISO-8859-1, percent-encoded) when
// present and well formed, else the filename parameter (quoted or a bare
// token). nullopt when there is none.
std::optional<std::string> content_disposition_filename(std::string_view header);

// ------------------------------------------- inbound media fetched by URL --

// The media type of a response's Content-Type value: the part before any
// parameters, without surrounding blanks ("image/png; q=1" -> "image/png");
// empty when that is not a type/subtype check_upload accepts.
std::string media_type_of(std::string_view content_type);

// Where a redirect leads: location (a Location header value) resolved
// against base, the http(s) URL that answered with it, as RFC 3986 (5.2)
// resolves a reference: an absolute http:// or https:// URL as it is,
// "//host/..." with base's scheme, "/path", "?query" and relative paths
// against base, with dot segments removed; fragments are dropped. nullopt
// when base is not an http(s) URL, location is empty or names another
// scheme.
std::optional<std::string> resolve_redirect(std::string_view base, std::string_view location);

// The file name a URL's last path segment gives, percent-decoded, when it
// looks like one: a name, a dot and an extension of 1 to 10 letters or
// digits ("photo.jpg"), without slashes, and a file name check_upload
// accepts; otherwise empty (".../Media/ME0123..." gives none).
std::string url_filename(std::string_view url);

// base + "/v1/Services/" + service_sid + "/Media/" + sid.
std::string media_url(std::string_view base, std::string_view service_sid, std::string_view sid);

// The wire form, as the Media Content Service returns it: sid, account_sid,
// service_sid, date_created, date_upload_updated, date_updated, links
// {content, content_direct_temporary}, size, content_type, filename, author,
// category, message_sid, channel_sid, url. url and links.content are under
// base; content_direct_temporary is shown as given (null when empty).
nlohmann::json to_json(const media& m, std::string_view base, std::string_view content_direct_temporary);

} // namespace sb::model::cv
