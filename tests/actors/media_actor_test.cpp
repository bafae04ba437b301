// The media actor on CAF's test coordinator, with a real store writer over an
// in-memory database and a real media directory: the start-up sweep, the
// lookup and attach messages the conversation actors use, upload, signed
// content and delete.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include <caf/all.hpp>

#include "actors/media_actor.hpp"
#include "actors/store_actor.hpp"
#include "model/sid.hpp"
#include "store/codec.hpp"

using namespace sb;
namespace fs = std::filesystem;

namespace {

const std::string account_a = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string account_b = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string is1 = "IS11111111111111111111111111111111";
const std::string is2 = "IS22222222222222222222222222222222";
const std::string me1 = "ME11111111111111111111111111111111";
const std::string me2 = "ME22222222222222222222222222222222";
const std::string me_unknown = "ME99999999999999999999999999999999";
const std::string token = "token-a";

model::cv::media media(const std::string& sid, const std::string& service) {
  model::cv::media m;
  m.sid = sid;
  m.account_sid = account_a;
  m.service_sid = service;
  m.content_type = "text/plain";
  m.size = 5;
  return m;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct media_fixture {
  media_fixture()
      : sys(config(cfg)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())), self(sys) {
    auto tmpl = (fs::temp_directory_path() / "switchboard-media-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()));
    dir = tmpl;
    fs::create_directories(dir / "media");
    // Two recovered media with their files, and what a crash leaves behind.
    for (auto& sid : {me1, me2})
      std::ofstream(dir / "media" / sid) << "hello";
    std::ofstream(dir / "media" / ("ME" + std::string(32, 'e'))) << "stray";
    std::ofstream(dir / "media" / ".upload-MEx") << "partial";
    store = sys.spawn(actors::store_actor, db, actors::store_options{});
    actors::media_options opts;
    opts.dir = dir / "media";
    opts.store = store;
    opts.auth_tokens = std::make_shared<const std::unordered_map<std::string, std::string>>(
      std::unordered_map<std::string, std::string>{{account_a, token}});
    opts.fsync = false;
    actor = sys.spawn(actors::media_actor, opts, std::vector<model::cv::media>{media(me1, is1), media(me2, is2)});
    sched.run();
  }
  ~media_fixture() {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    sched.run();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  static caf::actor_system_config& config(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  // Sends m as a request, runs every actor until idle and returns the reply.
  template <class Reply, class Msg>
  Reply ask(Msg m) {
    auto h = self->request(actor, caf::infinite, std::move(m));
    sched.run();
    std::optional<Reply> out;
    h.receive([&](Reply& r) { out = std::move(r); }, [&](caf::error& e) { FAIL(sys.render(e)); });
    REQUIRE(out);
    return std::move(*out);
  }

  actors::media_lookup_reply lookup(const std::string& account, const std::string& service,
                                    std::vector<std::string> sids) {
    return ask<actors::media_lookup_reply>(actors::media_lookup{account, service, std::move(sids)});
  }

  // The media rows the database holds, decoded.
  std::map<std::string, model::cv::media> stored() {
    auto h = self->request(store, caf::infinite, actors::store_sync{});
    sched.run();
    h.receive([](bool ok) { CHECK(ok); }, [](caf::error&) { FAIL("no sync"); });
    std::map<std::string, model::cv::media> out;
    for (auto& r : db->load_entities()) {
      if (r.kind != "media")
        continue;
      auto e = store::decode(r.kind, r.doc);
      REQUIRE(e);
      CHECK(r.scope == std::get<model::cv::media>(*e).service_sid);
      out.emplace(r.sid, std::get<model::cv::media>(*e));
    }
    return out;
  }

  fs::path dir;
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  std::shared_ptr<store::database> db = store::open_sqlite({}, store::durability::memory);
  caf::actor store;
  caf::actor actor;
};

std::vector<std::string> sids_of(const std::vector<model::cv::media>& v) {
  std::vector<std::string> out;
  for (auto& m : v)
    out.push_back(m.sid);
  return out;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

TEST_CASE("media actor: start-up sweep, lookup and attach", "[actors][media]") {
  media_fixture f;
  // Only the files of recovered media are left.
  CHECK(files_in(f.dir / "media") == std::vector<std::string>{me1, me2});

  // Found in the order asked (repeats kept); other services, other accounts
  // and unknown SIDs are missing.
  auto r = f.lookup(account_a, is1, {me1, me2, me_unknown, me1});
  CHECK(sids_of(r.found) == std::vector<std::string>{me1, me1});
  CHECK(r.missing == std::vector<std::string>{me2, me_unknown});
  CHECK(r.found[0].message_sid.empty());
  r = f.lookup(account_b, is1, {me1});
  CHECK(r.found.empty());
  CHECK(r.missing == std::vector<std::string>{me1});

  // Attach: another account's attach changes nothing; the first message keeps
  // its media.
  f.self->send(f.actor, actors::media_attach{account_b, {me1}, "IMbbbb", "CHbbbb"});
  f.self->send(f.actor, actors::media_attach{account_a, {me1, me_unknown}, "IM1", "CH1"});
  f.self->send(f.actor, actors::media_attach{account_a, {me1}, "IM2", "CH2"});
  f.sched.run();
  r = f.lookup(account_a, is1, {me1});
  REQUIRE(r.found.size() == 1);
  CHECK(r.found[0].message_sid == "IM1");
  CHECK(r.found[0].conversation_sid == "CH1");
  auto rows = f.stored();
  REQUIRE(rows.count(me1));
  CHECK(rows[me1].message_sid == "IM1");
  CHECK(rows[me1].conversation_sid == "CH1");
  CHECK_FALSE(rows.count(me2)); // untouched: nothing written
}

TEST_CASE("media actor: upload, signed content and delete", "[actors][media]") {
  media_fixture f;
  actors::media_call up;
  up.op = actors::media_op::upload;
  up.account_sid = account_a;
  up.service_sid = is1;
  up.content_type = "application/octet-stream";
  up.filename = "a.bin";
  up.content = std::string("a\0b\0c", 5);
  auto created = f.ask<actors::media_reply>(up);
  REQUIRE(std::holds_alternative<model::cv::media>(created.value));
  CHECK(created.created);
  auto m = std::get<model::cv::media>(created.value);
  CHECK(model::is_sid(m.sid, "ME"));
  CHECK(m.size == 5);
  CHECK(slurp(f.dir / "media" / m.sid) == up.content);
  // Answered after the commit: the row is there.
  CHECK(f.stored().count(m.sid));

  // Refused uploads: a malformed service, an empty body.
  auto bad = up;
  bad.service_sid = "ISx";
  auto e = f.ask<actors::media_reply>(bad);
  REQUIRE(std::holds_alternative<model::error>(e.value));
  CHECK(std::get<model::error>(e.value).code == 20404);
  bad = up;
  bad.content.clear();
  e = f.ask<actors::media_reply>(bad);
  REQUIRE(std::holds_alternative<model::error>(e.value));
  CHECK(std::get<model::error>(e.value).code == 20001);

  // Signed content: the owner's token signs; anything else is forbidden.
  auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count() + 60;
  actors::media_call sc;
  sc.op = actors::media_op::signed_content;
  sc.sid = m.sid;
  sc.expires_unix = expires;
  sc.signature = model::cv::media_url_signature(token, m.sid, expires);
  auto got = f.ask<actors::media_reply>(sc);
  REQUIRE(std::holds_alternative<model::cv::media>(got.value));
  CHECK(got.content == up.content);
  sc.signature = model::cv::media_url_signature("other", m.sid, expires);
  got = f.ask<actors::media_reply>(sc);
  REQUIRE(std::holds_alternative<model::error>(got.value));
  CHECK(std::get<model::error>(got.value).kind == model::errc::forbidden);

  // Delete: another account's is a 404; the owner's erases the row, then the file.
  actors::media_call del;
  del.op = actors::media_op::remove;
  del.account_sid = account_b;
  del.service_sid = is1;
  del.sid = m.sid;
  auto gone = f.ask<actors::media_reply>(del);
  REQUIRE(std::holds_alternative<model::error>(gone.value));
  CHECK(std::get<model::error>(gone.value).code == 20404);
  del.account_sid = account_a;
  gone = f.ask<actors::media_reply>(del);
  CHECK(std::holds_alternative<std::monostate>(gone.value));
  CHECK_FALSE(fs::exists(f.dir / "media" / m.sid));
  CHECK_FALSE(f.stored().count(m.sid));
  CHECK(f.lookup(account_a, is1, {m.sid}).missing == std::vector<std::string>{m.sid});
}
