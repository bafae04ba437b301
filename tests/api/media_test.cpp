// Conversations media (the Media Content Service paths) against the real
// binary on loopback: upload, metadata, content, the signed temporary URL,
// delete, other accounts and services, bad uploads, the media body limit,
// and a restart (with the files a crash may leave behind).

#include "checks.hpp"
#include "server_fixture.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>

#include "model/media.hpp"

namespace {

using namespace sbtest;
using nlohmann::json;
using boost::beast::http::verb;
namespace fs = std::filesystem;

const std::string other_account = "AC" + std::string("00112233445566778899aabbccddeeff");
const std::string other_token = "token2";
const std::string cv_base = "https://conversations.twilio.com";

// Bytes of every value, NULs included.
std::string binary(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((i * 7 + i / 256) & 0xff);
  return out;
}

std::string make_service(api_client& api, const std::string& name = "Media") {
  return ok(api.post("/v1/Services", {{"FriendlyName", name}}), 201)["sid"];
}

std::string media_path(const std::string& is) { return "/v1/Services/" + is + "/Media"; }

http_result upload(api_client& api, const std::string& is, const std::string& content,
                   const std::string& content_type, const std::string& query = "",
                   std::vector<std::pair<std::string, std::string>> extra = {}) {
  extra.emplace_back("Authorization", api.authorization());
  if (!content_type.empty())
    extra.emplace_back("Content-Type", content_type);
  return api.raw(verb::post, media_path(is) + query, content, extra);
}

http_result get_content(api_client& api, const std::string& is, const std::string& me) {
  return api.raw(verb::get, media_path(is) + "/" + me + "/Content", "", {{"Authorization", api.authorization()}});
}

// The regular files in the server's media directory.
std::vector<std::string> media_files(const std::string& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(fs::path(data_dir) / "media", ec))
    if (e.is_regular_file())
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// A metadata document without its temporary link (which changes with time).
json without_direct(json doc) {
  doc["links"].erase("content_direct_temporary");
  return doc;
}

} // namespace

TEST_CASE("media: upload, fetch metadata and content, signed URL, delete", "[api][media]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto is = make_service(api);
  auto content = binary(100000);
  REQUIRE(content.find('\0') != std::string::npos);

  auto doc = ok(upload(api, is, content, "image/png", "?Filename=photo%201.png"), 201);
  std::string me = doc["sid"];
  CHECK(me.rfind("ME", 0) == 0);
  CHECK(me.size() == 34);
  const std::string url = cv_base + "/v1/Services/" + is + "/Media/" + me;
  CHECK(doc["account_sid"] == srv.account_sid());
  CHECK(doc["service_sid"] == is);
  CHECK(doc["size"] == content.size());
  CHECK(doc["content_type"] == "image/png");
  CHECK(doc["filename"] == "photo 1.png");
  CHECK(doc["author"] == "system");
  CHECK(doc["category"] == "media");
  CHECK(doc["message_sid"].is_null());
  CHECK(doc["channel_sid"].is_null());
  CHECK(doc["url"] == url);
  CHECK(doc["links"]["content"] == url + "/Content");
  CHECK(doc["date_created"].is_string());
  CHECK(doc["date_upload_updated"] == doc["date_created"]);
  CHECK(doc["date_updated"] == doc["date_created"]);
  // The content is on disk, byte for byte, before the 201.
  CHECK(media_files(srv.data_dir()) == std::vector<std::string>{me});
  CHECK(read_file(fs::path(srv.data_dir()) / "media" / me) == content);

  // Metadata, with and without the /mcs prefix.
  auto fetched = ok(api.get(media_path(is) + "/" + me));
  CHECK(without_direct(fetched) == without_direct(doc));
  CHECK(without_direct(ok(api.get("/mcs" + media_path(is) + "/" + me))) == without_direct(doc));
  CHECK(without_direct(ok(api.get("/conversations" + media_path(is) + "/" + me))) == without_direct(doc));

  // Content, byte-exact, with its type.
  auto bytes = get_content(api, is, me);
  REQUIRE(bytes.status == 200);
  CHECK(bytes.header("content-type") == "image/png");
  CHECK(bytes.body == content);

  // The temporary direct link works without credentials.
  std::string direct = fetched["links"]["content_direct_temporary"];
  const std::string self_base = "http://127.0.0.1:" + std::to_string(srv.port());
  REQUIRE(direct.rfind(self_base + "/edge/media/" + me + "?", 0) == 0);
  auto via_link = api.raw(verb::get, direct.substr(self_base.size()), "", {});
  REQUIRE(via_link.status == 200);
  CHECK(via_link.body == content);
  CHECK(via_link.header("content-type") == "image/png");

  // A URL signed by the helper the message code uses; tampered, expired,
  // re-dated and unsigned ones are refused.
  auto expires = unix_now() + 600;
  auto signed_url = sb::model::cv::media_content_url("", srv.auth_token(), me, expires);
  CHECK(api.raw(verb::get, signed_url, "", {}).body == content);
  auto sig = sb::model::cv::media_url_signature(srv.auth_token(), me, expires);
  auto tampered = sig;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  auto past = unix_now() - 10;
  for (auto& target : {"/edge/media/" + me + "?Expires=" + std::to_string(expires) + "&Signature=" + tampered,
                       sb::model::cv::media_content_url("", srv.auth_token(), me, past),
                       "/edge/media/" + me + "?Expires=" + std::to_string(expires + 1) + "&Signature=" + sig,
                       sb::model::cv::media_content_url("", "not-the-token", me, expires),
                       "/edge/media/" + me, "/edge/media/" + me + "?Expires=soon&Signature=" + sig}) {
    INFO(target);
    error_is(api.raw(verb::get, target, "", {}), 403, 20003);
  }
  error_is(api.raw(verb::post, signed_url, "", {}), 405, 20004);

  // The file name may come from Content-Disposition.
  auto named = ok(upload(api, is, "hello", "text/plain", "",
                         {{"Content-Disposition", "attachment; filename=\"notes.txt\""}}),
                  201);
  CHECK(named["filename"] == "notes.txt");
  CHECK(named["size"] == 5);
  auto unnamed = ok(upload(api, is, "x", "application/octet-stream"), 201);
  CHECK(unnamed["filename"].is_null());

  // Delete: the metadata and the file are gone when the 204 arrives.
  ok(api.del(media_path(is) + "/" + me), 204);
  CHECK(media_files(srv.data_dir()).size() == 2);
  CHECK(!fs::exists(fs::path(srv.data_dir()) / "media" / me));
  error_is(api.get(media_path(is) + "/" + me), 404, 20404);
  error_is(get_content(api, is, me), 404, 20404);
  error_is(api.del(media_path(is) + "/" + me), 404, 20404);
  error_is(api.raw(verb::get, signed_url, "", {}), 403, 20003);
  // Only the media paths that exist answer.
  error_is(api.get(media_path(is)), 405, 20004);
}

TEST_CASE("media: another account's and another service's media answer 404", "[api][media]") {
  server_process srv{std::vector<std::string>{"--account", other_account + ":" + other_token}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  api_client other(srv.port(), other_account, other_token);
  auto is = make_service(api);
  auto is2 = make_service(api, "Second");
  auto theirs = make_service(other, "Theirs");
  std::string me = ok(upload(api, is, "secret", "text/plain"), 201)["sid"];

  // The other account sees nothing, even knowing both SIDs.
  error_is(other.get(media_path(is) + "/" + me), 404, 20404);
  error_is(get_content(other, is, me), 404, 20404);
  error_is(other.del(media_path(is) + "/" + me), 404, 20404);
  error_is(other.get(media_path(theirs) + "/" + me), 404, 20404);
  // It cannot upload into a service of this account either.
  error_is(upload(other, is, "x", "text/plain"), 404, 20404);
  // Another service of the same account does not hold it.
  error_is(api.get(media_path(is2) + "/" + me), 404, 20404);
  // Unknown and malformed services.
  error_is(upload(api, "IS" + std::string(32, 'f'), "x", "text/plain"), 404, 20404);
  error_is(upload(api, "ISnope", "x", "text/plain"), 404, 20404);
  // Basic auth like every API route.
  error_is(api.raw(verb::get, media_path(is) + "/" + me, "", {}), 401, 20003);
  error_is(api.raw(verb::post, media_path(is), "x", {{"Content-Type", "text/plain"}}), 401, 20003);
  // Still there for its owner; the refused uploads left no file.
  CHECK(ok(api.get(media_path(is) + "/" + me))["size"] == 6);
  CHECK(media_files(srv.data_dir()) == std::vector<std::string>{me});
  // The other account's own uploads work.
  ok(upload(other, theirs, "mine", "text/plain"), 201);
}

TEST_CASE("media: bad uploads are refused and store nothing", "[api][media]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto is = make_service(api);
  error_is(upload(api, is, "", "image/png"), 400, 20001);
  error_is(upload(api, is, "data", ""), 400, 20001);
  error_is(upload(api, is, "data", "png"), 400, 20001);
  error_is(upload(api, is, "data", "image/png", "?Filename=" + std::string(300, 'a')), 400, 20001);
  error_is(upload(api, is, "data", "image/png", "?Filename=a%FF.png"), 400, 20001);
  CHECK(media_files(srv.data_dir()).empty());
}

TEST_CASE("media: uploads have a body limit of their own", "[api][media]") {
  server_process srv{std::vector<std::string>{"--media-body-limit", "3000000", "--body-limit", "1048576"}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto is = make_service(api);
  // 2 MB: over --body-limit, within --media-body-limit.
  auto two_mb = binary(2 * 1024 * 1024);
  std::string me = ok(upload(api, is, two_mb, "video/mp4"), 201)["sid"];
  CHECK(get_content(api, is, me).body == two_mb);
  // Other routes keep --body-limit.
  error_is(api.post("/v1/Services", {{"FriendlyName", std::string(1100000, 'n')}}), 413, 20001);
  // Over the media limit: 413, and nothing stored.
  error_is(upload(api, is, binary(3000001), "video/mp4"), 413, 20001);
  error_is(upload(api, is, binary(3000001), "video/mp4", "", {{"Expect", "100-continue"}}), 413, 20001);
  // Without valid credentials an upload is held to --body-limit: nobody
  // can make the server read 150 MB without an account.
  api_client stranger(srv.port(), srv.account_sid(), "not-the-token");
  error_is(upload(stranger, is, two_mb, "video/mp4"), 413, 20001);
  error_is(upload(stranger, is, binary(1000), "video/mp4"), 401, 20003);
  CHECK(media_files(srv.data_dir()) == std::vector<std::string>{me});
  CHECK(ok(api.get(media_path(is) + "/" + me))["size"] == two_mb.size());
}

TEST_CASE("media: metadata and content survive a restart; files without metadata do not",
          "[api][media][durability]") {
  temp_dir dir;
  std::string is, kept, gone;
  auto content = binary(300000);
  json kept_doc;
  {
    server_process srv{server_process::existing_dir{dir.path}, {}};
    api_client api(srv.port(), srv.file_sid(), srv.file_token());
    is = make_service(api);
    kept_doc = ok(upload(api, is, content, "application/pdf", "?Filename=r%C3%A9sum%C3%A9.pdf"), 201);
    kept = kept_doc["sid"];
    gone = ok(upload(api, is, "short-lived", "text/plain"), 201)["sid"];
    ok(api.del(media_path(is) + "/" + gone), 204);
    srv.kill_hard();
  }
  // What a crash can leave: a content file whose metadata never committed,
  // and a temporary file of an upload in progress.
  auto media_dir = fs::path(dir.path) / "media";
  const std::string stray = "ME" + std::string(32, 'e');
  std::ofstream(media_dir / stray) << "orphan";
  std::ofstream(media_dir / (".upload-ME" + std::string(32, 'd'))) << "partial";

  server_process srv{server_process::existing_dir{dir.path}, {}};
  api_client api(srv.port(), srv.file_sid(), srv.file_token());
  auto doc = ok(api.get(media_path(is) + "/" + kept));
  CHECK(without_direct(doc) == without_direct(kept_doc));
  CHECK(doc["filename"] == "résumé.pdf");
  auto bytes = get_content(api, is, kept);
  CHECK(bytes.body == content);
  CHECK(bytes.header("content-type") == "application/pdf");
  error_is(api.get(media_path(is) + "/" + gone), 404, 20404);
  error_is(api.get(media_path(is) + "/" + stray), 404, 20404);
  // The media actor answered, so its start-up sweep is done.
  CHECK(media_files(srv.data_dir()) == std::vector<std::string>{kept});
  // And it keeps working after the restart.
  std::string again = ok(upload(api, is, "after restart", "text/plain"), 201)["sid"];
  CHECK(get_content(api, is, again).body == "after restart");
}

TEST_CASE("media: deleting a service deletes its media, files included", "[api][media]") {
  server_process srv;
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto doomed = make_service(api);
  auto kept = make_service(api);
  std::string a = ok(upload(api, doomed, binary(100), "image/png"), 201)["sid"];
  std::string b = ok(upload(api, doomed, binary(200), "image/png"), 201)["sid"];
  std::string c = ok(upload(api, kept, binary(300), "image/png"), 201)["sid"];
  REQUIRE(media_files(srv.data_dir()).size() == 3);
  CHECK(api.del("/v1/Services/" + doomed).status == 204);
  // The files go once the metadata's erasure is committed.
  CHECK(eventually([&] { return media_files(srv.data_dir()) == std::vector<std::string>{c}; }));
  CHECK(api.get(media_path(doomed) + "/" + a).status == 404);
  CHECK(ok(api.get(media_path(kept) + "/" + c))["size"] == 300);
}
