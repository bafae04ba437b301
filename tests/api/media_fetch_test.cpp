// Inbound media downloads end to end but for the conversation: the media
// actor on a real actor system, its fetch seam over the real HTTP client
// (api/media_fetch), and the carrier simulator's hosted files and relative
// redirect as the media URLs.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <caf/all.hpp>

#include "actors/media_actor.hpp"
#include "api/http_client.hpp"
#include "api/media_fetch.hpp"
#include "server_fixture.hpp"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string account_sid = "AC0123456789abcdef0123456789abcdef";
const std::string service_sid = "IS0123456789abcdef0123456789abcdef";
const std::string me_cat = "ME00000000000000000000000000000001";
const std::string me_big = "ME00000000000000000000000000000002";
const std::string me_gone = "ME00000000000000000000000000000003";
const std::string me_plain = "ME00000000000000000000000000000004";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

} // namespace

TEST_CASE("media import through the HTTP client: the carrier's files, its relative redirect, limits",
          "[media][carrier]") {
  using boost::beast::http::verb;
  sbtest::ready_process carrier({"carrier", "--port", "0", "--account", account_sid + ":token"});
  sbtest::http_connection conn(carrier.port());
  const std::string cat("\x89PNG cat", 8);
  REQUIRE(conn.send(verb::put, "/sim/files/cat.png", cat, {{"Content-Type", "image/png"}}).status == 201);
  REQUIRE(conn.send(verb::put, "/sim/files/big.bin", std::string(3000, 'b'), {}).status == 201);
  REQUIRE(conn.send(verb::put, "/sim/files/voice", "AMR", {}).status == 201);
  const std::string base = "http://127.0.0.1:" + std::to_string(carrier.port());

  auto dir = fs::path(sbtest::make_temp_dir());
  {
    sb::api::http_client client;
    caf::actor_system_config cfg;
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    sb::actors::media_options o;
    o.dir = dir / "media";
    o.fsync = false;
    o.fetch = sb::api::http_fetch_through(client);
    o.fetch_limit = 2048;
    o.fetch_timeout = 10s;
    auto media = sys.spawn<caf::detached>(sb::actors::media_actor, o, std::vector<sb::model::cv::media>{});

    sb::actors::media_import q{account_sid, service_sid, "CH0123456789abcdef0123456789abcdef",
                               "IM0123456789abcdef0123456789abcdef",
                               {{me_cat, base + "/sim/redirect/cat.png", "image/jpeg"},
                                {me_big, base + "/sim/files/big.bin", ""},
                                {me_gone, base + "/sim/files/absent.png", "image/png"},
                                // User information becomes Basic credentials (the carrier ignores them).
                                {me_plain, "http://user:pass@127.0.0.1:" + std::to_string(carrier.port()) +
                                             "/sim/files/voice", "audio/amr"}},
                               caf::actor_cast<caf::actor>(self)};
    self->send(media, q);
    std::optional<sb::actors::media_imported> r;
    self->receive([&](sb::actors::media_imported& x) { r = std::move(x); },
                  caf::after(15s) >> [] {}); // the deadline, not a pause: answered as soon as it comes
    REQUIRE(r);
    REQUIRE(r->stored.size() == 2);
    auto& m = r->stored[0];
    CHECK(m.sid == me_cat);
    CHECK(m.content_type == "image/png");
    CHECK(m.filename == "cat.png"); // from the URL the redirect led to
    CHECK(m.size == 8);
    CHECK(m.message_sid == q.message_sid);
    CHECK(m.conversation_sid == q.conversation_sid);
    CHECK(slurp(o.dir / me_cat) == cat);
    CHECK(r->stored[1].sid == me_plain);
    CHECK(r->stored[1].content_type == "audio/amr");
    CHECK(r->stored[1].filename.empty());
    CHECK(slurp(o.dir / me_plain) == "AMR");
    CHECK(r->failed == std::vector<std::pair<std::string, std::string>>{{me_big, "larger than 2048 bytes"},
                                                                         {me_gone, "HTTP status 404"}});
    CHECK_FALSE(fs::exists(o.dir / me_big));
    caf::anon_send_exit(media, caf::exit_reason::user_shutdown);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}
