#include "model/media.hpp"

#include <algorithm>
#include <cctype>

#include "model/form.hpp"
#include "model/signature.hpp"

namespace sb::model::cv {

namespace {

using json = nlohmann::json;

json nullable(const std::string& s) { return s.empty() ? json() : json(s); }

std::string megabytes(std::int64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MB"; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// The value of an RFC 8187 ext-value ("UTF-8'lang'percent%20encoded"), as
// UTF-8; nullopt when malformed or in another charset.
std::optional<std::string> decode_ext_value(std::string_view v) {
  auto q1 = v.find('\'');
  if (q1 == std::string_view::npos)
    return std::nullopt;
  auto q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos)
    return std::nullopt;
  auto charset = v.substr(0, q1);
  bool latin1 = iequal(charset, "iso-8859-1");
  if (!iequal(charset, "utf-8") && !latin1)
    return std::nullopt;
  std::string out;
  auto text = v.substr(q2 + 1);
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0)
        return std::nullopt;
      c = static_cast<unsigned char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    }
    if (latin1 && c >= 0x80) {
      out += static_cast<char>(0xc0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3f));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// The parameters of a header value "type; a=b; c=\"d\"", names lower-cased.
std::vector<std::pair<std::string, std::string>> header_parameters(std::string_view h) {
  std::vector<std::pair<std::string, std::string>> out;
  auto semi = h.find(';');
  if (semi == std::string_view::npos)
    return out;
  h.remove_prefix(semi + 1);
  while (!h.empty()) {
    h = trim(h);
    auto eq = h.find('=');
    auto sc = h.find(';');
    if (eq == std::string_view::npos || (sc != std::string_view::npos && sc < eq)) {
      if (sc == std::string_view::npos)
        break;
      h.remove_prefix(sc + 1);
      continue;
    }
    std::string name;
    for (char c : trim(h.substr(0, eq)))
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    h.remove_prefix(eq + 1);
    h = trim(h);
    std::string value;
    if (!h.empty() && h.front() == '"') {
      std::size_t i = 1;
      for (; i < h.size() && h[i] != '"'; ++i) {
        if (h[i] == '\\' && i + 1 < h.size())
          ++i;
        value += h[i];
      }
      h.remove_prefix(std::min(h.size(), i + 1));
      auto next = h.find(';');
      h.remove_prefix(next == std::string_view::npos ? h.size() : next + 1);
    } else {
      auto end = h.find(';');
      value = std::string(trim(h.substr(0, end)));
      h.remove_prefix(end == std::string_view::npos ? h.size() : end + 1);
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

} // namespace

std::optional<error> check_media_for_channel(std::string_view channel, const std::vector<media>& files) {
  if (files.empty())
    return std::nullopt;
  auto too_large = [](std::string text) { return invalid_parameter(std::move(text), 50512); };
  if (channel.empty() || channel == "chat") {
    for (auto& f : files)
      if (f.size > media_limits::chat_file)
        return too_large("Media " + f.sid + " is " + std::to_string(f.size) + " bytes; chat media may be up to " +
                         megabytes(media_limits::chat_file) + " per file");
    return std::nullopt;
  }
  if (channel == "sms") {
    if (files.size() > media_limits::mms_files)
      return invalid_parameter("An MMS message carries at most " + std::to_string(media_limits::mms_files) +
                                 " media files, not " + std::to_string(files.size()),
                               21623);
    std::int64_t total = 0;
    for (auto& f : files)
      total += f.size;
    if (total > media_limits::mms_total)
      return too_large("The media of an MMS message may be up to " + megabytes(media_limits::mms_total) +
                       " in all, not " + std::to_string(total) + " bytes");
    return std::nullopt;
  }
  if (channel == "whatsapp") {
    if (files.size() > 1)
      return invalid_parameter("A WhatsApp message carries exactly one media file, not " +
                                 std::to_string(files.size()),
                               21623);
    if (files.front().size > media_limits::whatsapp_file)
      return too_large("Media " + files.front().sid + " is " + std::to_string(files.front().size) +
                       " bytes; WhatsApp media may be up to " + megabytes(media_limits::whatsapp_file));
    return std::nullopt;
  }
  return invalid_parameter("Media cannot be sent on channel '" + std::string(channel) +
                           "' (known: chat, sms, whatsapp)");
}

std::optional<error> check_upload(std::string_view content_type, std::string_view filename, std::int64_t size) {
  if (size <= 0)
    return invalid_parameter("The media content is empty: send the file as the request body");
  if (content_type.empty())
    return invalid_parameter("Content-Type is required: the media type of the file, such as image/jpeg");
  if (content_type.size() > media_limits::content_type)
    return invalid_parameter("Content-Type is longer than " + std::to_string(media_limits::content_type) +
                             " characters");
  auto slash = content_type.find('/');
  bool printable = std::all_of(content_type.begin(), content_type.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (!printable || slash == 0 || slash == std::string_view::npos || slash + 1 == content_type.size() ||
      content_type[slash + 1] == ';' || content_type[slash + 1] == ' ')
    return invalid_parameter("Content-Type '" + std::string(printable ? content_type : "(not printable)") +
                             "' is not a media type such as image/jpeg");
  if (form{form_pairs{{"Filename", std::string(filename)}}}.first_not_utf8())
    return invalid_parameter("The file name is not valid UTF-8");
  if (std::any_of(filename.begin(), filename.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return invalid_parameter("The file name contains control characters");
  auto chars = std::count_if(filename.begin(), filename.end(),
                             [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; });
  if (static_cast<std::size_t>(chars) > media_limits::filename)
    return invalid_parameter("The file name is longer than " + std::to_string(media_limits::filename) +
                             " characters");
  return std::nullopt;
}

std::string media_url_signature(std::string_view auth_token, std::string_view media_sid,
                                std::int64_t expires_unix) {
  std::string data(media_sid);
  data += '.';
  data += std::to_string(expires_unix);
  return base64url_encode(hmac_sha256(auth_token, data));
}

bool check_media_url_signature(std::string_view auth_token, std::string_view media_sid,
                               std::int64_t expires_unix, std::string_view signature,
                               std::int64_t now_unix) {
  if (now_unix > expires_unix)
    return false;
  return constant_time_equal(media_url_signature(auth_token, media_sid, expires_unix), signature);
}

std::string media_content_url(std::string_view base, std::string_view auth_token,
                              std::string_view media_sid, std::int64_t expires_unix) {
  std::string out(base);
  out += "/edge/media/";
  out += media_sid;
  out += "?Expires=";
  out += std::to_string(expires_unix);
  out += "&Signature=";
  out += media_url_signature(auth_token, media_sid, expires_unix); // base64url: nothing to escape
  return out;
}

std::optional<std::string> content_disposition_filename(std::string_view header) {
  std::optional<std::string> plain, extended;
  for (auto& [name, value] : header_parameters(header)) {
    if (name == "filename*" && !extended)
      extended = decode_ext_value(value);
    else if (name == "filename" && !plain)
      plain = value;
  }
  if (extended)
    return extended;
  return plain;
}

std::string media_type_of(std::string_view content_type) {
  auto type = trim(content_type.substr(0, content_type.find(';')));
  if (check_upload(type, "", 1))
    return {};
  return std::string(type);
}

namespace {

// An http(s) URL in parts; the fragment is dropped.
struct url_parts {
  std::string scheme; // "http" or "https", lower case
  std::string authority;
  std::string path;
  std::string query; // with its '?', or empty
};

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequal(s.substr(0, prefix.size()), prefix);
}

std::optional<url_parts> split_http_url(std::string_view url) {
  url_parts out;
  if (starts_with_nocase(url, "https://")) {
    out.scheme = "https";
    url.remove_prefix(8);
  } else if (starts_with_nocase(url, "http://")) {
    out.scheme = "http";
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  url = url.substr(0, url.find('#'));
  auto end = url.find_first_of("/?");
  out.authority = std::string(url.substr(0, end));
  if (out.authority.empty())
    return std::nullopt;
  url.remove_prefix(end == std::string_view::npos ? url.size() : end);
  auto q = url.find('?');
  out.path = std::string(url.substr(0, q));
  if (q != std::string_view::npos)
    out.query = std::string(url.substr(q));
  return out;
}

// RFC 3986 5.2.4: "/a/b/../c/./d" -> "/a/c/d".
std::string remove_dot_segments(std::string in) {
  std::string out;
  auto pop = [&out] {
    auto slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  auto starts = [&in](std::string_view p) { return in.compare(0, p.size(), p) == 0; };
  while (!in.empty()) {
    if (starts("../")) {
      in.erase(0, 3);
    } else if (starts("./")) {
      in.erase(0, 2);
    } else if (starts("/./")) {
      in.replace(0, 3, "/");
    } else if (in == "/.") {
      in = "/";
    } else if (starts("/../")) {
      in.replace(0, 4, "/");
      pop();
    } else if (in == "/..") {
      in = "/";
      pop();
    } else if (in == "." || in == "..") {
      in.clear();
    } else {
      auto next = in.find('/', in.front() == '/' ? 1 : 0);
      out += in.substr(0, next);
      in.erase(0, next == std::string::npos ? in.size() : next);
    }
  }
  return out;
}

// Whether a reference starts with a scheme ("x+y-z.w:").
bool has_scheme(std::string_view ref) {
  auto colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0 || ref.find_first_of("/?#") < colon)
    return false;
  if (!std::isalpha(static_cast<unsigned char>(ref[0])))
    return false;
  return std::all_of(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

} // namespace

std::optional<std::string> resolve_redirect(std::string_view base, std::string_view location) {
  auto b = split_http_url(base);
  location = trim(location);
  if (!b || location.empty())
    return std::nullopt;
  if (has_scheme(location)) {
    auto abs = split_http_url(location);
    if (!abs)
      return std::nullopt;
    return abs->scheme + "://" + abs->authority + abs->path + abs->query;
  }
  if (location.size() >= 2 && location.substr(0, 2) == "//") {
    auto abs = split_http_url(b->scheme + ":" + std::string(location));
    if (!abs)
      return std::nullopt;
    return abs->scheme + "://" + abs->authority + abs->path + abs->query;
  }
  location = location.substr(0, location.find('#'));
  auto q = location.find('?');
  std::string path(location.substr(0, q));
  std::string query = q == std::string_view::npos ? std::string() : std::string(location.substr(q));
  std::string target;
  if (path.empty()) {
    target = b->path + (query.empty() ? b->query : query);
  } else if (path.front() == '/') {
    target = remove_dot_segments(path) + query;
  } else {
    auto dir = b->path.empty() ? std::string("/") : b->path.substr(0, b->path.rfind('/') + 1);
    target = remove_dot_segments(dir + path) + query;
  }
  return b->scheme + "://" + b->authority + target;
}

std::string url_filename(std::string_view url) {
  auto u = split_http_url(url);
  if (!u)
    return {};
  auto segment = std::string_view(u->path).substr(u->path.rfind('/') + 1);
  std::string name;
  for (std::size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size() && hex_value(segment[i + 1]) >= 0 &&
        hex_value(segment[i + 2]) >= 0) {
      name += static_cast<char>(hex_value(segment[i + 1]) * 16 + hex_value(segment[i + 2]));
      i += 2;
    } else {
      name += segment[i];
    }
  }
  auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0 || name.size() - dot - 1 < 1 || name.size() - dot - 1 > 10)
    return {};
  if (!std::all_of(name.begin() + static_cast<std::ptrdiff_t>(dot) + 1, name.end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }))
    return {};
  if (name.find_first_of("/\\") != std::string::npos || check_upload("application/octet-stream", name, 1))
    return {};
  return name;
}

std::string media_url(std::string_view base, std::string_view service_sid, std::string_view sid) {
  std::string out(base);
  out += "/v1/Services/";
  out += service_sid;
  out += "/Media/";
  out += sid;
  return out;
}

json to_json(const media& m, std::string_view base, std::string_view content_direct_temporary) {
  auto url = media_url(base, m.service_sid, m.sid);
  return {{"sid", m.sid},
          {"account_sid", m.account_sid},
          {"service_sid", m.service_sid},
          {"date_created", iso8601(m.created)},
          {"date_upload_updated", iso8601(m.created)},
          {"date_updated", iso8601(m.updated)},
          {"links",
           {{"content", url + "/Content"},
            {"content_direct_temporary",
             content_direct_temporary.empty() ? json() : json(std::string(content_direct_temporary))}}},
          {"size", m.size},
          {"content_type", m.content_type},
          {"filename", nullable(m.filename)},
          {"author", m.author},
          {"category", m.category},
          {"message_sid", nullable(m.message_sid)},
          {"channel_sid", nullable(m.conversation_sid)},
          {"url", url}};
}

} // namespace sb::model::cv
