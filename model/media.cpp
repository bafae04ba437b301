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
