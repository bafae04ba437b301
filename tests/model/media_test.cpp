// Conversations media: the per-channel limits, the signed temporary content
// URLs, the upload checks, Content-Disposition file names and the wire JSON.

#include "model/media.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace cv = sb::model::cv;

namespace {

constexpr std::int64_t MB = 1024 * 1024;

std::vector<cv::media> files(std::vector<std::int64_t> sizes) {
  std::vector<cv::media> out;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    cv::media m;
    m.sid = "ME" + std::string(31, '0') + std::to_string(i % 10);
    m.size = sizes[i];
    out.push_back(m);
  }
  return out;
}

} // namespace

TEST_CASE("check_media_for_channel keeps Twilio's per-channel limits", "[model]") {
  struct row {
    const char* name;
    std::string channel;
    std::vector<std::int64_t> sizes;
    int code; // 0: allowed
  };
  const std::vector<row> rows = {
      {"no media anywhere", "whatsapp", {}, 0},
      {"chat: many files at the limit", "chat", {150 * MB, 150 * MB, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0},
      {"chat participant (no binding type)", "", {150 * MB}, 0},
      {"chat: one byte over 150 MB", "chat", {1, 150 * MB + 1}, 50512},
      {"sms: ten files in 5 MB", "sms", {MB / 2, MB / 2, MB / 2, MB / 2, MB / 2, MB / 2, MB / 2, MB / 2, MB / 2, MB / 2}, 0},
      {"sms: exactly 5 MB", "sms", {5 * MB}, 0},
      {"sms: eleven files", "sms", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 21623},
      {"sms: over 5 MB in all", "sms", {3 * MB, 2 * MB + 1}, 50512},
      {"whatsapp: one file of 16 MB", "whatsapp", {16 * MB}, 0},
      {"whatsapp: two files", "whatsapp", {1, 1}, 21623},
      {"whatsapp: over 16 MB", "whatsapp", {16 * MB + 1}, 50512},
      {"unknown channel", "fax", {1}, 20001},
  };
  for (auto& r : rows) {
    INFO(r.name);
    auto e = cv::check_media_for_channel(r.channel, files(r.sizes));
    if (r.code == 0) {
      CHECK_FALSE(e);
      continue;
    }
    REQUIRE(e);
    CHECK(e->code == r.code);
    CHECK(e->kind == sb::model::errc::invalid_parameter);
    CHECK_FALSE(e->message.empty());
  }
}

TEST_CASE("media URL signatures are HMAC-SHA256 of sid.expires, base64url, and expire", "[model]") {
  const std::string sid = "ME0123456789abcdef0123456789abcdef";
  const std::string token = "secret-token";
  // openssl dgst -sha256 -hmac secret-token -binary | base64url, over
  // "ME0123456789abcdef0123456789abcdef.1700000000".
  const std::string expected = "wCxQnEGBJVjlVX_CKL7hlAPLN_B5lXZPO2OYowfY1Rk";
  CHECK(cv::media_url_signature(token, sid, 1700000000) == expected);

  struct row {
    const char* name;
    std::string token, sid;
    std::int64_t expires;
    std::string signature;
    std::int64_t now;
    bool valid;
  };
  const std::vector<row> rows = {
      {"valid before expiry", token, sid, 1700000000, expected, 1699999000, true},
      {"valid at the expiry second", token, sid, 1700000000, expected, 1700000000, true},
      {"expired", token, sid, 1700000000, expected, 1700000001, false},
      {"another expiry (extended URL)", token, sid, 1800000000, expected, 1699999000, false},
      {"another media", token, "ME0123456789abcdef0123456789abcdee", 1700000000, expected, 1699999000, false},
      {"another account's token", "other-token", sid, 1700000000, expected, 1699999000, false},
      {"tampered signature", token, sid, 1700000000, "x" + expected.substr(1), 1699999000, false},
      {"truncated signature", token, sid, 1700000000, expected.substr(0, 20), 1699999000, false},
      {"empty signature", token, sid, 1700000000, "", 1699999000, false},
  };
  for (auto& r : rows) {
    INFO(r.name);
    CHECK(cv::check_media_url_signature(r.token, r.sid, r.expires, r.signature, r.now) == r.valid);
  }

  CHECK(cv::media_content_url("http://127.0.0.1:8080", token, sid, 1700000000) ==
        "http://127.0.0.1:8080/edge/media/" + sid + "?Expires=1700000000&Signature=" + expected);
}

TEST_CASE("check_upload needs a media type, a sane file name and some bytes", "[model]") {
  struct row {
    const char* name;
    std::string content_type, filename;
    std::int64_t size;
    bool ok;
  };
  const std::vector<row> rows = {
      {"image", "image/jpeg", "photo.jpg", 10, true},
      {"with parameters, no file name", "text/plain; charset=utf-8", "", 1, true},
      {"UTF-8 file name", "application/pdf", "Résumé 漢字.pdf", 1, true},
      {"file name of 256 characters", "image/png", std::string(256, 'a'), 1, true},
      {"empty content", "image/jpeg", "a.jpg", 0, false},
      {"no content type", "", "a.jpg", 1, false},
      {"content type without subtype", "image", "a.jpg", 1, false},
      {"content type without type", "/jpeg", "a.jpg", 1, false},
      {"content type with a line break", "image/jpeg\r\nX-Evil: 1", "a.jpg", 1, false},
      {"content type too long", "image/" + std::string(250, 'x'), "a.jpg", 1, false},
      {"file name of 257 characters", "image/png", std::string(257, 'a'), 1, false},
      {"file name not UTF-8", "image/png", "a\xff.png", 1, false},
      {"file name with a control character", "image/png", "a\n.png", 1, false},
  };
  for (auto& r : rows) {
    INFO(r.name);
    auto e = cv::check_upload(r.content_type, r.filename, r.size);
    CHECK(!e == r.ok);
    if (e) {
      CHECK(e->code == 20001);
      CHECK(e->kind == sb::model::errc::invalid_parameter);
    }
  }
}

TEST_CASE("content_disposition_filename reads filename and filename*", "[model]") {
  struct row {
    const char* header;
    std::optional<std::string> name;
  };
  const std::vector<row> rows = {
      {"attachment; filename=\"x.jpg\"", "x.jpg"},
      {"attachment; filename=x.jpg", "x.jpg"},
      {"form-data; name=\"file\"; filename=\"a b.png\"", "a b.png"},
      {"attachment; FILENAME=\"upper.txt\"", "upper.txt"},
      {"attachment; filename=\"quo\\\"te.txt\"", "quo\"te.txt"},
      {"attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt", "\xe2\x82\xac rates.txt"},
      {"attachment; filename*=iso-8859-1'en'%A3%20rates.txt", "\xc2\xa3 rates.txt"},
      {"attachment; filename*=UTF-8''bad%zz; filename=\"fallback.txt\"", "fallback.txt"},
      {"attachment; filename*=KOI8-R''x; filename=fallback2.txt", "fallback2.txt"},
      {"attachment", std::nullopt},
      {"", std::nullopt},
      {"inline; name=\"file\"", std::nullopt},
  };
  for (auto& r : rows) {
    INFO(r.header);
    CHECK(cv::content_disposition_filename(r.header) == r.name);
  }
}

TEST_CASE("media wire JSON has the Media Content Service's fields", "[model]") {
  cv::media m;
  m.sid = "ME0123456789abcdef0123456789abcdef";
  m.account_sid = "AC0123456789abcdef0123456789abcdef";
  m.service_sid = "IS0123456789abcdef0123456789abcdef";
  m.content_type = "image/png";
  m.size = 42;
  m.created = sb::model::time_point(std::chrono::seconds(1700000000));
  m.updated = sb::model::time_point(std::chrono::seconds(1700000060));
  const std::string base = "https://conversations.twilio.com";
  const std::string url = base + "/v1/Services/" + m.service_sid + "/Media/" + m.sid;
  auto j = cv::to_json(m, base, "http://h/edge/media/x");
  CHECK(j == nlohmann::json{{"sid", m.sid},
                            {"account_sid", m.account_sid},
                            {"service_sid", m.service_sid},
                            {"date_created", "2023-11-14T22:13:20Z"},
                            {"date_upload_updated", "2023-11-14T22:13:20Z"},
                            {"date_updated", "2023-11-14T22:14:20Z"},
                            {"links", {{"content", url + "/Content"}, {"content_direct_temporary", "http://h/edge/media/x"}}},
                            {"size", 42},
                            {"content_type", "image/png"},
                            {"filename", nullptr},
                            {"author", "system"},
                            {"category", "media"},
                            {"message_sid", nullptr},
                            {"channel_sid", nullptr},
                            {"url", url}});
  m.filename = "a.png";
  m.message_sid = "IM0123456789abcdef0123456789abcdef";
  m.conversation_sid = "CH0123456789abcdef0123456789abcdef";
  j = cv::to_json(m, base, "");
  CHECK(j["filename"] == "a.png");
  CHECK(j["message_sid"] == m.message_sid);
  CHECK(j["channel_sid"] == m.conversation_sid);
  CHECK(j["links"]["content_direct_temporary"].is_null());
}

TEST_CASE("media_type_of drops parameters and refuses what is no media type", "[model]") {
  CHECK(cv::media_type_of("image/png") == "image/png");
  CHECK(cv::media_type_of(" image/jpeg ; charset=binary") == "image/jpeg");
  CHECK(cv::media_type_of("text/plain;charset=utf-8") == "text/plain");
  CHECK(cv::media_type_of("").empty());
  CHECK(cv::media_type_of("png").empty());
  CHECK(cv::media_type_of("/png").empty());
  CHECK(cv::media_type_of("image/").empty());
  CHECK(cv::media_type_of(std::string("image/p\x01g")).empty());
}

TEST_CASE("resolve_redirect resolves a Location against the URL that answered", "[model]") {
  const std::string base = "https://cdn.example.com/a/b/file.jpg?x=1#frag";
  struct row {
    std::string location;
    std::optional<std::string> want;
  };
  const std::vector<row> rows = {
      {"http://other.example/p?q=2", "http://other.example/p?q=2"},
      {"HTTPS://Other.example/p#f", "https://Other.example/p"},
      {"//img.example/z.png", "https://img.example/z.png"},
      {"/sim/files/cat.png", "https://cdn.example.com/sim/files/cat.png"},
      {"/x/../y/./z", "https://cdn.example.com/y/z"},
      {"other.png", "https://cdn.example.com/a/b/other.png"},
      {"../up.png?s=1", "https://cdn.example.com/a/up.png?s=1"},
      {"../../../../top", "https://cdn.example.com/top"},
      {"?page=2", "https://cdn.example.com/a/b/file.jpg?page=2"},
      {" /spaced ", "https://cdn.example.com/spaced"},
      {"", std::nullopt},
      {"ftp://files.example/x", std::nullopt},
      {"javascript:alert(1)", std::nullopt},
      {"http://", std::nullopt},
  };
  for (auto& r : rows) {
    INFO(r.location);
    CHECK(cv::resolve_redirect(base, r.location) == r.want);
  }
  CHECK(cv::resolve_redirect("http://h:8080", "rel.png") == "http://h:8080/rel.png");
  CHECK(cv::resolve_redirect("http://u:p@h/dir/", "f.png") == "http://u:p@h/dir/f.png");
  CHECK_FALSE(cv::resolve_redirect("ftp://h/x", "/y"));
}

TEST_CASE("url_filename takes a last path segment that looks like a file name", "[model]") {
  CHECK(cv::url_filename("https://cdn.example.com/a/photo.jpg?sig=abc#x") == "photo.jpg");
  CHECK(cv::url_filename("http://h/files/My%20Cat.PNG") == "My Cat.PNG");
  CHECK(cv::url_filename("http://h/archive.tar.gz") == "archive.tar.gz");
  CHECK(cv::url_filename("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1").empty());
  CHECK(cv::url_filename("http://h/").empty());
  CHECK(cv::url_filename("http://h").empty());
  CHECK(cv::url_filename("http://h/.hidden").empty());
  CHECK(cv::url_filename("http://h/name.").empty());
  CHECK(cv::url_filename("http://h/name.waytoolongext").empty());
  CHECK(cv::url_filename("http://h/a%2Fb.png").empty());
  CHECK(cv::url_filename("http://h/bad%01.png").empty());
  CHECK(cv::url_filename("http://h/bad%FF.png").empty());
  CHECK(cv::url_filename("ftp://h/x.png").empty());
}
