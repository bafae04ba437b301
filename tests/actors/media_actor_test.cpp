// The media actor on CAF's test coordinator, with a real store writer over an
// in-memory database and a real media directory: the start-up sweep, the
// lookup and attach messages the conversation actors use, upload, signed
// content and delete, and inbound media imported through a fake fetch seam.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <fstream>
#include <functional>
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
  // tweak: changes to the media actor's options before it starts (a fetch seam, limits).
  explicit media_fixture(std::function<void(actors::media_options&)> tweak = {})
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
    if (tweak)
      tweak(opts);
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

// ------------------------------------------------------------ media_import --

namespace {

// The web as the fetch seam sees it: a page per URL (an unknown URL is a 404)
// and every call recorded. Answers at once (the seam's callback goes through
// the actor's mailbox either way), or, when held, when the test releases it.
struct fake_web {
  std::map<std::string, actors::http_fetched> pages;
  bool hold = false;
  struct call {
    std::string url;
    std::chrono::milliseconds timeout;
    std::size_t body_limit;
  };
  std::vector<call> calls;
  std::vector<std::function<void()>> held;

  void page(const std::string& url, int status, std::string body, std::string content_type = {},
            std::string location = {}) {
    actors::http_fetched r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    r.location = std::move(location);
    pages[url] = r;
  }

  actors::http_fetch_fn fn() {
    return [this](std::string url, std::chrono::milliseconds timeout, std::size_t limit,
                  std::function<void(actors::http_fetched)> done) {
      calls.push_back({url, timeout, limit});
      actors::http_fetched r;
      if (auto it = pages.find(url); it != pages.end())
        r = it->second;
      else
        r.status = 404;
      if (r.body.size() > limit) { // as the HTTP client fails it
        r = actors::http_fetched{};
        r.error = "read: body limit exceeded";
        r.too_large = true;
      }
      auto answer = [done, r]() { done(r); };
      if (hold)
        held.push_back(answer);
      else
        answer();
    };
  }

  std::vector<std::string> urls() const {
    std::vector<std::string> out;
    for (auto& c : calls)
      out.push_back(c.url);
    return out;
  }
};

const std::string im1 = "IM11111111111111111111111111111111";
const std::string ch1 = "CH11111111111111111111111111111111";
const std::string me_a = "MEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
const std::string me_b = "MEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2";
const std::string me_c = "MEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3";

actors::media_import import_of(media_fixture& f, std::vector<actors::media_import_item> items) {
  return actors::media_import{account_a, is1, ch1, im1, std::move(items), caf::actor_cast<caf::actor>(f.self)};
}

// The media_imported waiting in the test's mailbox (after sched.run()).
actors::media_imported imported(media_fixture& f) {
  std::optional<actors::media_imported> out;
  f.self->receive([&](actors::media_imported& r) { out = std::move(r); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
  REQUIRE(out);
  return std::move(*out);
}

bool nothing_waiting(media_fixture& f) {
  bool none = true;
  f.self->receive([&](caf::message&) { none = false; }, caf::after(std::chrono::seconds(0)) >> [] {});
  return none;
}

using failures = std::vector<std::pair<std::string, std::string>>;

} // namespace

TEST_CASE("media actor: media_import downloads each item and keeps it as an upload, attached",
          "[actors][media]") {
  fake_web web;
  web.hold = true;
  web.page("https://cdn.example/in/cat.png?sig=1", 200, "PNGDATA", "image/png; charset=binary");
  web.page("https://cdn.example/in/voice", 200, "OGG", "");     // no Content-Type: the item's
  web.page("https://cdn.example/in/blob.bin", 200, "B", "nonsense"); // neither: octet-stream
  media_fixture f([&](actors::media_options& o) { o.fetch = web.fn(); });

  f.self->send(f.actor, import_of(f, {{me_a, "https://cdn.example/in/cat.png?sig=1", "image/jpeg"},
                                      {me_b, "https://cdn.example/in/voice", "audio/ogg"},
                                      {me_c, "https://cdn.example/in/blob.bin", ""}}));
  f.sched.run();
  REQUIRE(web.calls.size() == 3);
  for (auto& c : web.calls) {
    CHECK(c.body_limit == 16u * 1024 * 1024);
    CHECK(c.timeout > std::chrono::milliseconds(0));
    CHECK(c.timeout <= std::chrono::milliseconds(30000));
  }
  // The downloads are out: the actor still answers, nothing is stored yet.
  CHECK(f.lookup(account_a, is1, {me_a}).missing == std::vector<std::string>{me_a});
  CHECK(nothing_waiting(f));

  // They come back in another order than asked.
  for (auto i : {2, 0, 1})
    web.held[static_cast<std::size_t>(i)]();
  f.sched.run();
  auto r = imported(f);
  CHECK(r.message_sid == im1);
  CHECK(r.failed.empty());
  REQUIRE(sids_of(r.stored) == std::vector<std::string>{me_a, me_b, me_c});
  struct want {
    std::string type, filename, content;
  };
  const std::vector<want> wants = {
      {"image/png", "cat.png", "PNGDATA"}, {"audio/ogg", "", "OGG"}, {"application/octet-stream", "blob.bin", "B"}};
  auto rows = f.stored();
  for (std::size_t i = 0; i < wants.size(); ++i) {
    auto& m = r.stored[i];
    INFO(m.sid);
    CHECK(m.account_sid == account_a);
    CHECK(m.service_sid == is1);
    CHECK(m.content_type == wants[i].type);
    CHECK(m.filename == wants[i].filename);
    CHECK(m.size == static_cast<std::int64_t>(wants[i].content.size()));
    CHECK(m.message_sid == im1);
    CHECK(m.conversation_sid == ch1);
    CHECK(slurp(f.dir / "media" / m.sid) == wants[i].content);
    REQUIRE(rows.count(m.sid));
    CHECK(rows[m.sid].content_type == wants[i].type);
    CHECK(rows[m.sid].message_sid == im1);
    CHECK(rows[m.sid].conversation_sid == ch1);
    CHECK(rows[m.sid].size == m.size);
  }
  // Found as any media of the service, already attached to the message.
  auto found = f.lookup(account_a, is1, {me_a, me_b, me_c});
  CHECK(found.missing.empty());
  REQUIRE(found.found.size() == 3);
  CHECK(found.found[1].message_sid == im1);
  // And served like an upload.
  actors::media_call c;
  c.op = actors::media_op::content;
  c.account_sid = account_a;
  c.service_sid = is1;
  c.sid = me_a;
  auto got = f.ask<actors::media_reply>(c);
  CHECK(got.content == "PNGDATA");
}

TEST_CASE("media actor: media_import follows redirects, relative or absolute, up to five", "[actors][media]") {
  fake_web web;
  web.page("http://carrier.example/media/1", 302, "", "text/html", "/sim/redirect/a");
  web.page("http://carrier.example/sim/redirect/a", 301, "moved", "", "https://cdn.example/x/");
  web.page("https://cdn.example/x/", 307, "", "", "../files/photo.jpeg");
  web.page("https://cdn.example/files/photo.jpeg", 200, "JPEG", "image/jpeg");
  // A loop, a redirect without Location and one to another scheme.
  web.page("http://loop.example/0", 302, "", "", "/1");
  for (int i = 1; i < 10; ++i)
    web.page("http://loop.example/" + std::to_string(i), 308, "", "", "/" + std::to_string(i + 1));
  web.page("http://bare.example/", 303, "", "");
  web.page("http://ftp.example/", 302, "", "", "ftp://files.example/x");
  media_fixture f([&](actors::media_options& o) { o.fetch = web.fn(); });

  f.self->send(f.actor, import_of(f, {{me_a, "http://carrier.example/media/1", "image/gif"},
                                      {me_b, "http://loop.example/0", "image/gif"},
                                      {me_c, "http://bare.example/", "image/gif"},
                                      {"ME" + std::string(32, 'd'), "http://ftp.example/", "image/gif"}}));
  f.sched.run();
  auto r = imported(f);
  REQUIRE(sids_of(r.stored) == std::vector<std::string>{me_a});
  CHECK(r.stored[0].content_type == "image/jpeg");
  CHECK(r.stored[0].filename == "photo.jpeg");
  CHECK(slurp(f.dir / "media" / me_a) == "JPEG");
  CHECK(r.failed == failures{{me_b, "more than 5 redirects"},
                             {me_c, "HTTP status 303"},
                             {"ME" + std::string(32, 'd'), "redirected to a location that is not an http(s) URL"}});
  // Five redirects followed from the loop's first URL, the sixth refused.
  auto urls = web.urls();
  CHECK(std::count_if(urls.begin(), urls.end(), [](auto& u) { return u.rfind("http://loop.example/", 0) == 0; }) == 6);
  CHECK(std::find(urls.begin(), urls.end(), "https://cdn.example/files/photo.jpeg") != urls.end());
  CHECK(f.stored().size() == 1);
}

TEST_CASE("media actor: media_import reports items it cannot fetch or keep", "[actors][media]") {
  fake_web web;
  web.page("http://h/big.png", 200, std::string(11, 'x'), "image/png");
  web.page("http://h/fits.png", 200, std::string(10, 'y'), "image/png");
  web.page("http://h/gone", 410, "Gone", "text/plain");
  web.page("http://h/error", 500, "oops", "text/plain");
  web.page("http://h/empty", 200, "", "image/png");
  actors::http_fetched down;
  down.error = "connect: Connection refused";
  web.pages["http://down/"] = down;
  media_fixture f([&](actors::media_options& o) {
    o.fetch = web.fn();
    o.fetch_limit = 10;
  });
  const std::string me_d = "MEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4", me_e = "MEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5",
                    me_f = "MEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6", me_g = "MEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa7";
  f.self->send(f.actor, import_of(f, {{me_a, "http://h/big.png", ""},
                                      {me_b, "http://h/fits.png", ""},
                                      {me_c, "http://h/gone", ""},
                                      {me_d, "http://h/error", ""},
                                      {me_e, "http://down/", ""},
                                      {me1, "http://h/fits.png", ""}, // an existing media's SID
                                      {me_b, "http://h/fits.png", ""}, // twice in one import
                                      {me_f, "http://h/empty", ""},
                                      {"not-a-sid", "http://h/fits.png", ""}}));
  f.sched.run();
  auto r = imported(f);
  REQUIRE(sids_of(r.stored) == std::vector<std::string>{me_b});
  CHECK(r.stored[0].size == 10);
  CHECK(r.failed == failures{{me_a, "larger than 10 bytes"},
                             {me_c, "HTTP status 410"},
                             {me_d, "HTTP status 500"},
                             {me_e, "fetching failed: connect: Connection refused"},
                             {me1, "already exists"},
                             {me_b, "already exists"},
                             {me_f, "the content is empty"},
                             {"not-a-sid", "not a media SID"}});
  // Known SIDs and bad ones are never fetched; the existing media is untouched.
  CHECK(web.calls.size() == 6);
  CHECK(slurp(f.dir / "media" / me1) == "hello");
  auto rows = f.stored();
  CHECK(rows.size() == 1);
  CHECK(rows.count(me_b));
  CHECK(files_in(f.dir / "media") == std::vector<std::string>{me1, me2, me_b});

  // Stored by an earlier import between asking and answering: already exists.
  web.hold = true;
  f.self->send(f.actor, import_of(f, {{me_g, "http://h/fits.png", ""}}));
  f.self->send(f.actor, import_of(f, {{me_g, "http://h/fits.png", ""}}));
  f.sched.run();
  REQUIRE(web.held.size() == 2);
  web.held[0]();
  web.held[1]();
  f.sched.run();
  // The failure is told at once, the stored one after its commit.
  auto failed = imported(f);
  auto kept = imported(f);
  CHECK(failed.stored.empty());
  CHECK(failed.failed == failures{{me_g, "already exists"}});
  CHECK(sids_of(kept.stored) == std::vector<std::string>{me_g});
}

TEST_CASE("media actor: media_import without a fetch seam, with no time, or with no items", "[actors][media]") {
  SECTION("fetching off") {
    media_fixture f;
    f.self->send(f.actor, import_of(f, {{me_a, "http://h/a.png", "image/png"}, {me_b, "http://h/b.png", ""}}));
    f.sched.run();
    auto r = imported(f);
    CHECK(r.message_sid == im1);
    CHECK(r.stored.empty());
    CHECK(r.failed == failures{{me_a, "media fetching is off"}, {me_b, "media fetching is off"}});
    CHECK(f.stored().empty());
  }
  SECTION("no time left") {
    fake_web web;
    web.page("http://h/a.png", 200, "A", "image/png");
    media_fixture f([&](actors::media_options& o) {
      o.fetch = web.fn();
      o.fetch_timeout = std::chrono::milliseconds(0);
    });
    f.self->send(f.actor, import_of(f, {{me_a, "http://h/a.png", ""}}));
    f.sched.run();
    auto r = imported(f);
    CHECK(r.failed == failures{{me_a, "timed out after 0 ms"}});
    CHECK(web.calls.empty());
  }
  SECTION("no items: answered at once") {
    fake_web web;
    media_fixture f([&](actors::media_options& o) { o.fetch = web.fn(); });
    f.self->send(f.actor, import_of(f, {}));
    f.sched.run_once();
    auto r = imported(f);
    CHECK(r.message_sid == im1);
    CHECK(r.stored.empty());
    CHECK(r.failed.empty());
    CHECK(web.calls.empty());
  }
  SECTION("nobody to tell") {
    fake_web web;
    web.page("http://h/a.png", 200, "A", "image/png");
    media_fixture f([&](actors::media_options& o) { o.fetch = web.fn(); });
    auto q = import_of(f, {{me_a, "http://h/a.png", ""}});
    q.reply_to = caf::actor{};
    f.self->send(f.actor, q);
    f.sched.run();
    CHECK(nothing_waiting(f));
    CHECK(f.stored().count(me_a));
  }
}
