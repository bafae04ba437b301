// API keys (/2010-04-01/Accounts/{AC}/Keys) against the real binary: the
// secret is shown once, at creation; list, fetch, update and delete; other
// accounts, bad input and a restart.

#include "checks.hpp"
#include "server_fixture.hpp"

#include <catch2/catch.hpp>

namespace {

using namespace sbtest;

const std::string other_account = "AC" + std::string("fedcba9876543210fedcba9876543210");
const std::string other_token = "token2";

std::string keys_path(const std::string& account) { return "/2010-04-01/Accounts/" + account + "/Keys"; }

} // namespace

TEST_CASE("keys: create shows the secret once; list, fetch, update, delete", "[api][keys]") {
  server_process srv{{"--account", other_account + ":" + other_token}};
  api_client api(srv.port(), srv.account_sid(), srv.auth_token());
  auto base = keys_path(srv.account_sid());
  auto created = ok(api.post(base + ".json", {{"FriendlyName", "web chat"}}), 201);
  std::string sk = created["sid"];
  CHECK(sk.rfind("SK", 0) == 0);
  CHECK(created["friendly_name"] == "web chat");
  CHECK(created["secret"].get<std::string>().size() == 32);
  // RFC 2822, as the 2010 API writes dates.
  CHECK(created["date_created"].get<std::string>().find(" +0000") != std::string::npos);

  auto fetched = ok(api.get(base + "/" + sk + ".json"));
  CHECK(fetched["sid"] == sk);
  CHECK_FALSE(fetched.contains("secret"));
  ok(api.post(base + ".json"), 201);
  auto page = ok(api.get(base + ".json", {{"PageSize", "1"}}));
  REQUIRE(page["keys"].size() == 1);
  CHECK(page["keys"][0]["sid"] == sk);
  CHECK_FALSE(page["keys"][0].contains("secret"));
  CHECK(page["next_page_uri"] == base + ".json?PageSize=1&Page=1");
  CHECK(ok(api.get(base + ".json"))["keys"].size() == 2);

  CHECK(ok(api.post(base + "/" + sk + ".json", {{"FriendlyName", "renamed"}}))["friendly_name"] == "renamed");
  CHECK(api.del(base + "/" + sk + ".json").status == 204);
  error_is(api.get(base + "/" + sk + ".json"), 404, 20404);
  CHECK(ok(api.get(base + ".json"))["keys"].size() == 1);

  // Bad input changes nothing.
  error_is(api.post(base + ".json", {{"FriendlyName", std::string(65, 'x')}}), 400, 20001);
  error_is(api.post(base + ".json", {{"Secret", "mine"}}), 400, 20001);
  error_is(api.get(base + "/SK" + std::string(32, '0') + ".json"), 404, 20404);
  error_is(api.get(base + "/nonsense.json"), 404, 20404);
  CHECK(ok(api.get(base + ".json"))["keys"].size() == 1);

  // Another account neither sees this account's keys nor reaches them
  // through this account's path.
  api_client other(srv.port(), other_account, other_token);
  CHECK(ok(other.get(keys_path(other_account) + ".json"))["keys"].empty());
  auto remaining = ok(api.get(base + ".json"))["keys"][0]["sid"].get<std::string>();
  error_is(other.get(base + "/" + remaining + ".json"), 404, 20404);
  error_is(other.get(keys_path(other_account) + "/" + remaining + ".json"), 404, 20404);
  // No credentials: 401.
  api_client stranger(srv.port(), srv.account_sid(), "wrong");
  error_is(stranger.get(base + ".json"), 401, 20003);
}

TEST_CASE("keys: a restart keeps them", "[api][keys][durability]") {
  temp_dir dir;
  std::string sk;
  {
    server_process srv{server_process::existing_dir{dir.path}, {}};
    api_client api(srv.port(), srv.file_sid(), srv.file_token());
    sk = ok(api.post(keys_path(srv.file_sid()) + ".json", {{"FriendlyName", "kept"}}), 201)["sid"];
    srv.kill_hard();
  }
  server_process srv{server_process::existing_dir{dir.path}, {}};
  api_client api(srv.port(), srv.file_sid(), srv.file_token());
  auto k = ok(api.get(keys_path(srv.file_sid()) + "/" + sk + ".json"));
  CHECK(k["friendly_name"] == "kept");
}
