// switchboard: the server binary. Wires everything in one visible order and
// shuts down in reverse: metrics, actor system, webhooks, TaskRouter
// directory, HTTP adapter, HTTP server; then waits for SIGINT or SIGTERM.

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include <unordered_map>

#include "actors/address_actor.hpp"
#include "actors/conversations_actor.hpp"
#include "actors/directory_actor.hpp"
#include "actors/edge_actor.hpp"
#include "actors/interactions_actor.hpp"
#include "actors/keys_actor.hpp"
#include "actors/media_actor.hpp"
#include "actors/store_actor.hpp"
#include "actors/studio_actor.hpp"
#include "actors/webhook_actor.hpp"
#include "api/app.hpp"
#include "api/carrier.hpp"
#include "api/token_cli.hpp"
#include "api/http_client.hpp"
#include "api/http_server.hpp"
#include "api/media_fetch.hpp"
#include "api/routes.hpp"
#include "metrics/metrics.hpp"
#include "model/sid.hpp"
#include "store/database.hpp"
#include "store/image.hpp"

namespace {

struct options {
  std::string listen = "127.0.0.1";
  int port = 8080;
  std::string data = "./data";
  std::string account_sid;
  std::string auth_token;
  std::vector<sb::api::account> extra_accounts;
  std::string public_base = "https://taskrouter.twilio.com";
  std::size_t io_threads = 1;
  std::size_t actor_threads = 0;
  std::size_t body_limit = 1 << 20;
  std::size_t media_body_limit = 150 * 1024 * 1024;
  std::size_t request_timeout_s = 30;
  std::string ca_file;
  sb::store::durability durability = sb::store::durability::full;
  std::size_t task_retention_s = 15 * 60;
  std::size_t event_retention_s = 30 * 24 * 3600;
  std::string conversations_base = "https://conversations.twilio.com";
  std::string flex_base = "https://flex-api.twilio.com";
  std::string studio_base = "https://studio.twilio.com";
  std::size_t conversation_write_rate = 500;
  std::size_t passivate_after_ms = 120000;
  std::map<std::string, std::string> gateways; // sms/whatsapp -> URL
  std::string edge_base;
};

const char* usage = R"(usage: switchboard [options]
       switchboard backup FILE [--data PATH]   copy the live database to FILE

Options (each also read from the environment variable in brackets):
  --listen ADDR         address to listen on [SWITCHBOARD_LISTEN] (127.0.0.1)
  --port N              TCP port; 0 picks a free one [SWITCHBOARD_PORT] (8080)
  --data PATH           data directory [SWITCHBOARD_DATA] (./data)
  --account-sid AC...   the default account's SID [SWITCHBOARD_ACCOUNT_SID]
  --auth-token TOKEN    the default account's auth token [SWITCHBOARD_AUTH_TOKEN]
  --account AC...:TOKEN an additional account; repeatable
                        [SWITCHBOARD_ACCOUNTS, comma-separated]
  --public-base URL     base of URLs in responses [SWITCHBOARD_PUBLIC_BASE]
                        (https://taskrouter.twilio.com)
  --io-threads N        HTTP I/O threads [SWITCHBOARD_IO_THREADS] (1)
  --actor-threads N     actor scheduler threads [SWITCHBOARD_ACTOR_THREADS] (one per core)
  --body-limit BYTES    largest request body [SWITCHBOARD_BODY_LIMIT] (1048576)
  --request-timeout S   a request the actors have not answered in S seconds
                        gets 503 / 20503 [SWITCHBOARD_REQUEST_TIMEOUT] (30)
  --media-body-limit BYTES
                        largest media upload (POST /v1/Services/{IS}/Media)
                        [SWITCHBOARD_MEDIA_BODY_LIMIT] (157286400, 150 MB)
  --ca-file PEM         extra CAs to trust for https callbacks [SWITCHBOARD_CA_FILE]
  --durability MODE     full: an acknowledged change survives power loss;
                        normal: it survives a crash of the process;
                        memory: nothing is kept (benchmarks)
                        [SWITCHBOARD_DURABILITY] (full)
  --task-retention S    seconds a completed or canceled task is kept
                        [SWITCHBOARD_TASK_RETENTION] (900)
  --event-retention S   seconds events are kept [SWITCHBOARD_EVENT_RETENTION]
                        (2592000, 30 days)
  --conversations-base URL
                        base of Conversations URLs in responses
                        [SWITCHBOARD_CONVERSATIONS_BASE] (https://conversations.twilio.com)
  --flex-base URL       base of Flex (Interactions, WebChats) URLs in responses
                        [SWITCHBOARD_FLEX_BASE] (https://flex-api.twilio.com)
  --studio-base URL     base of Studio URLs in responses
                        [SWITCHBOARD_STUDIO_BASE] (https://studio.twilio.com)
  --conversation-write-rate N
                        writes per second one conversation accepts before
                        answering 429 [SWITCHBOARD_CONVERSATION_WRITE_RATE] (500)
  --passivate-after-ms N
                        a conversation idle this long with nothing in flight
                        stops its actor and waits in the store until its
                        next call or state timer; 0: never
                        [SWITCHBOARD_PASSIVATE_AFTER_MS] (120000)
  --gateway TYPE=URL    where outbound messages to sms or whatsapp
                        participants are POSTed in the form of Twilio's
                        Messages API; {AccountSid} in URL is replaced;
                        repeatable [SWITCHBOARD_GATEWAYS, comma-separated]
                        (none: such sends fail with error 30008)
  --edge-base URL       this server's base URL as gateways reach it, for
                        status callbacks and signature checks on /edge/...
                        [SWITCHBOARD_EDGE_BASE] (http://LISTEN:PORT; checks
                        use the request's Host)
  --help                this text

Without --auth-token, credentials are generated on first start, kept in
DATA/credentials and printed. The database is DATA/switchboard.db (SQLite,
WAL mode); `switchboard backup FILE` copies it safely while the server runs.
)";

std::optional<sb::api::account> parse_account(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos)
    return std::nullopt;
  sb::api::account a{text.substr(0, colon), text.substr(colon + 1)};
  if (!sb::model::is_sid(a.sid, "AC") || a.auth_token.empty())
    return std::nullopt;
  return a;
}

// "sms=http://..." into o.gateways.
bool parse_gateway(const std::string& text, options& o) {
  auto eq = text.find('=');
  if (eq == std::string::npos)
    return false;
  auto type = text.substr(0, eq);
  auto url = text.substr(eq + 1);
  if ((type != "sms" && type != "whatsapp") || (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0))
    return false;
  o.gateways[type] = url;
  return true;
}

bool parse_options(int argc, char** argv, options& o) {
  auto env = [](const char* name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name); v && *v)
      return std::string(v);
    return std::nullopt;
  };
  auto to_size = [](const std::string& s, std::size_t& out) {
    try {
      size_t pos = 0;
      auto v = std::stoull(s, &pos);
      if (pos != s.size())
        return false;
      out = v;
      return true;
    } catch (...) {
      return false;
    }
  };
  if (auto v = env("SWITCHBOARD_LISTEN")) o.listen = *v;
  if (auto v = env("SWITCHBOARD_PORT")) o.port = std::atoi(v->c_str());
  if (auto v = env("SWITCHBOARD_DATA")) o.data = *v;
  if (auto v = env("SWITCHBOARD_ACCOUNT_SID")) o.account_sid = *v;
  if (auto v = env("SWITCHBOARD_AUTH_TOKEN")) o.auth_token = *v;
  if (auto v = env("SWITCHBOARD_PUBLIC_BASE")) o.public_base = *v;
  if (auto v = env("SWITCHBOARD_IO_THREADS")) to_size(*v, o.io_threads);
  if (auto v = env("SWITCHBOARD_ACTOR_THREADS")) to_size(*v, o.actor_threads);
  if (auto v = env("SWITCHBOARD_BODY_LIMIT")) to_size(*v, o.body_limit);
  if (auto v = env("SWITCHBOARD_MEDIA_BODY_LIMIT")) to_size(*v, o.media_body_limit);
  if (auto v = env("SWITCHBOARD_REQUEST_TIMEOUT")) to_size(*v, o.request_timeout_s);
  if (auto v = env("SWITCHBOARD_CA_FILE")) o.ca_file = *v;
  if (auto v = env("SWITCHBOARD_DURABILITY")) {
    auto d = sb::store::parse_durability(*v);
    if (!d) {
      std::cerr << "switchboard: SWITCHBOARD_DURABILITY must be full, normal or memory\n";
      return false;
    }
    o.durability = *d;
  }
  if (auto v = env("SWITCHBOARD_TASK_RETENTION")) to_size(*v, o.task_retention_s);
  if (auto v = env("SWITCHBOARD_EVENT_RETENTION")) to_size(*v, o.event_retention_s);
  if (auto v = env("SWITCHBOARD_CONVERSATIONS_BASE")) o.conversations_base = *v;
  if (auto v = env("SWITCHBOARD_FLEX_BASE")) o.flex_base = *v;
  if (auto v = env("SWITCHBOARD_STUDIO_BASE")) o.studio_base = *v;
  if (auto v = env("SWITCHBOARD_CONVERSATION_WRITE_RATE")) to_size(*v, o.conversation_write_rate);
  if (auto v = env("SWITCHBOARD_PASSIVATE_AFTER_MS")) to_size(*v, o.passivate_after_ms);
  if (auto v = env("SWITCHBOARD_EDGE_BASE")) o.edge_base = *v;
  if (auto v = env("SWITCHBOARD_GATEWAYS")) {
    std::stringstream ss(*v);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!parse_gateway(item, o)) {
        std::cerr << "switchboard: SWITCHBOARD_GATEWAYS entry '" << item << "' is not sms=URL or whatsapp=URL\n";
        return false;
      }
  }
  if (auto v = env("SWITCHBOARD_ACCOUNTS")) {
    std::stringstream ss(*v);
    std::string item;
    while (std::getline(ss, item, ',')) {
      auto a = parse_account(item);
      if (!a) {
        std::cerr << "switchboard: SWITCHBOARD_ACCOUNTS entry '" << item << "' is not AC...:TOKEN\n";
        return false;
      }
      o.extra_accounts.push_back(*a);
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::cerr << "switchboard: " << arg << " needs a value\n";
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      std::exit(0);
    } else if (arg == "--listen") {
      if (!value(o.listen)) return false;
    } else if (arg == "--port") {
      std::size_t p;
      if (!value(v) || !to_size(v, p) || p > 65535) {
        std::cerr << "switchboard: --port needs a number from 0 to 65535\n";
        return false;
      }
      o.port = static_cast<int>(p);
    } else if (arg == "--data") {
      if (!value(o.data)) return false;
    } else if (arg == "--account-sid") {
      if (!value(o.account_sid)) return false;
    } else if (arg == "--auth-token") {
      if (!value(o.auth_token)) return false;
    } else if (arg == "--account") {
      if (!value(v)) return false;
      auto a = parse_account(v);
      if (!a) {
        std::cerr << "switchboard: --account needs AC<32 hex>:TOKEN\n";
        return false;
      }
      o.extra_accounts.push_back(*a);
    } else if (arg == "--public-base") {
      if (!value(o.public_base)) return false;
    } else if (arg == "--io-threads") {
      if (!value(v) || !to_size(v, o.io_threads) || o.io_threads == 0) return false;
    } else if (arg == "--actor-threads") {
      if (!value(v) || !to_size(v, o.actor_threads)) return false;
    } else if (arg == "--ca-file") {
      if (!value(o.ca_file)) return false;
    } else if (arg == "--body-limit") {
      if (!value(v) || !to_size(v, o.body_limit)) return false;
    } else if (arg == "--request-timeout") {
      if (!value(v) || !to_size(v, o.request_timeout_s) || o.request_timeout_s == 0) {
        std::cerr << "switchboard: --request-timeout needs a positive number of seconds\n";
        return false;
      }
    } else if (arg == "--media-body-limit") {
      if (!value(v) || !to_size(v, o.media_body_limit)) {
        std::cerr << "switchboard: --media-body-limit needs a number of bytes\n";
        return false;
      }
    } else if (arg == "--durability") {
      if (!value(v)) return false;
      auto d = sb::store::parse_durability(v);
      if (!d) {
        std::cerr << "switchboard: --durability must be full, normal or memory\n";
        return false;
      }
      o.durability = *d;
    } else if (arg == "--task-retention") {
      if (!value(v) || !to_size(v, o.task_retention_s)) {
        std::cerr << "switchboard: --task-retention needs a number of seconds\n";
        return false;
      }
    } else if (arg == "--event-retention") {
      if (!value(v) || !to_size(v, o.event_retention_s) || o.event_retention_s == 0) {
        std::cerr << "switchboard: --event-retention needs a positive number of seconds\n";
        return false;
      }
    } else if (arg == "--conversations-base") {
      if (!value(o.conversations_base)) return false;
    } else if (arg == "--flex-base") {
      if (!value(o.flex_base)) return false;
    } else if (arg == "--studio-base") {
      if (!value(o.studio_base)) return false;
    } else if (arg == "--conversation-write-rate") {
      if (!value(v) || !to_size(v, o.conversation_write_rate) || o.conversation_write_rate == 0) {
        std::cerr << "switchboard: --conversation-write-rate needs a positive number\n";
        return false;
      }
    } else if (arg == "--passivate-after-ms") {
      if (!value(v) || !to_size(v, o.passivate_after_ms)) {
        std::cerr << "switchboard: --passivate-after-ms needs a number of milliseconds (0: never)\n";
        return false;
      }
    } else if (arg == "--gateway") {
      if (!value(v) || !parse_gateway(v, o)) {
        std::cerr << "switchboard: --gateway needs sms=URL or whatsapp=URL (http or https)\n";
        return false;
      }
    } else if (arg == "--edge-base") {
      if (!value(o.edge_base)) return false;
      while (!o.edge_base.empty() && o.edge_base.back() == '/')
        o.edge_base.pop_back();
    } else {
      std::cerr << "switchboard: unknown option " << arg << "\n" << usage;
      return false;
    }
  }
  if (!o.account_sid.empty() && !sb::model::is_sid(o.account_sid, "AC")) {
    std::cerr << "switchboard: the account SID must be AC followed by 32 hex digits\n";
    return false;
  }
  return true;
}

// Loads or creates DATA/credentials so a restart keeps the same account.
bool resolve_credentials(options& o, bool& generated) {
  generated = false;
  std::error_code ec;
  std::filesystem::create_directories(o.data, ec);
  if (ec) {
    std::cerr << "switchboard: cannot create data directory " << o.data << ": " << ec.message() << "\n";
    return false;
  }
  auto path = std::filesystem::path(o.data) / "credentials";
  std::string saved_sid, saved_token;
  if (std::ifstream in{path}; in)
    in >> saved_sid >> saved_token;
  if (o.account_sid.empty())
    o.account_sid = sb::model::is_sid(saved_sid, "AC") ? saved_sid : sb::model::make_sid("AC");
  if (o.auth_token.empty()) {
    if (saved_sid == o.account_sid && !saved_token.empty()) {
      o.auth_token = saved_token;
    } else {
      o.auth_token = sb::model::random_hex32();
      generated = true;
    }
  }
  if (saved_sid != o.account_sid || saved_token != o.auth_token) {
    std::ofstream out{path, std::ios::trunc};
    out << o.account_sid << ' ' << o.auth_token << '\n';
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace, ec);
  }
  return true;
}

// `switchboard backup FILE [--data PATH]`: an online copy of the database.
int run_backup(int argc, char** argv) {
  std::string file;
  std::string data = "./data";
  if (const char* v = std::getenv("SWITCHBOARD_DATA"); v && *v)
    data = v;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc)
      data = argv[++i];
    else if (file.empty() && !arg.empty() && arg[0] != '-')
      file = arg;
    else {
      std::cerr << "switchboard backup: unexpected argument " << arg << "\n" << usage;
      return 2;
    }
  }
  if (file.empty()) {
    std::cerr << "switchboard backup: name the file to write\n" << usage;
    return 2;
  }
  try {
    sb::store::backup(std::filesystem::path(data) / "switchboard.db", file);
  } catch (const sb::store::store_error& e) {
    std::cerr << "switchboard backup: " << e.what() << "\n";
    return 1;
  }
  std::cout << "switchboard backup: wrote " << file << "\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "carrier") return sb::api::run_carrier(argc, argv);
  if (argc >= 2 && std::string(argv[1]) == "token") return sb::api::run_token(argc, argv);
  if (argc >= 2 && std::string(argv[1]) == "backup")
    return run_backup(argc, argv);
  options opt;
  if (!parse_options(argc, argv, opt))
    return 2;
  bool generated = false;
  if (!resolve_credentials(opt, generated))
    return 1;

  // Signals are taken by sigwait below, so every thread started from here on
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A file-size limit reached while writing the database must be a failed
  // write (EFBIG, answered with 503 until it passes), not a dead process.
  std::signal(SIGXFSZ, SIG_IGN);

  sb::metrics::registry metrics;

  // The store opens (and migrates) before anything listens; what it holds
  // comes back before the first request.
  std::shared_ptr<sb::store::database> db;
  sb::store::recovered recovered;
  auto db_path = std::filesystem::path(opt.data) / "switchboard.db";
  try {
    db = sb::store::open_sqlite(db_path, opt.durability);
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() -
                 static_cast<std::int64_t>(opt.event_retention_s) * 1000;
    recovered = sb::store::recover(*db, since, sb::actors::workspace_options{}.max_events);
  } catch (const sb::store::store_error& e) {
    std::cerr << "switchboard: " << db_path.string() << ": " << e.what() << "\n";
    return 1;
  }

  // Declared before the actor system so it outlives every actor that calls it.
  std::optional<sb::api::http_client> client_holder;
  try {
    sb::api::http_client_config ccfg;
    ccfg.ca_file = opt.ca_file;
    client_holder.emplace(ccfg);
  } catch (const std::exception& e) {
    std::cerr << "switchboard: " << e.what() << "\n";
    return 2;
  }
  auto& client = *client_holder;

  caf::actor_system_config cfg;
  // One scheduler thread per core: CAF's own default (at least four) only adds
  // context switches on a small machine.
  if (opt.actor_threads == 0)
    opt.actor_threads = std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", opt.actor_threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};

  // Webhooks and the messaging edge send through the one HTTP client.
  sb::actors::http_post_fn http_post = [&client](sb::actors::http_out out,
                                                 std::function<void(int, std::string)> done) {
    sb::api::http_client_request req;
    req.method = std::move(out.method);
    req.url = std::move(out.url);
    req.body = std::move(out.body);
    req.headers = std::move(out.headers);
    req.timeout = out.timeout;
    client.send(std::move(req), [done](sb::api::http_client_response r) {
      done(r.error.empty() ? r.status : 0, std::move(r.body));
    });
  };
  auto webhooks = sys.spawn(sb::actors::webhook_actor, http_post);

  sb::actors::store_options stopts;
  stopts.event_retention = std::chrono::seconds(opt.event_retention_s);
  // Old events are purged at least every minute, and more often when they
  // live for less than two.
  stopts.purge_interval = std::clamp(std::chrono::seconds(opt.event_retention_s / 2),
                                     std::chrono::seconds(1), std::chrono::seconds(60));
  stopts.metrics = metrics.store();
  stopts.writable = std::make_shared<std::atomic<bool>>(true);
  auto writable = stopts.writable;
  // Detached: the store writer has a thread of its own, the one place that
  // waits on the disk.
  auto store = sys.spawn<caf::detached>(sb::actors::store_actor, db, stopts);
  if (!recovered.orphan_scopes.empty()) {
    sb::store::write_batch b;
    b.erased_scopes = recovered.orphan_scopes;
    caf::anon_send(store, sb::actors::store_write{std::move(b)});
  }

  sb::actors::conversation_options copts;
  copts.store = store;
  copts.write_rate = static_cast<double>(opt.conversation_write_rate);
  copts.write_burst = 2.0 * static_cast<double>(opt.conversation_write_rate);
  copts.passivate_after = std::chrono::milliseconds(opt.passivate_after_ms);
  copts.webhooks = webhooks;
  {
    auto tokens = std::make_shared<std::unordered_map<std::string, std::string>>();
    (*tokens)[opt.account_sid] = opt.auth_token;
    for (auto& a : opt.extra_accounts)
      (*tokens)[a.sid] = a.auth_token;
    copts.auth_tokens = tokens;
  }
  // Address configurations have an actor of their own.
  std::size_t restored_addresses = recovered.conversations.addresses.size();
  auto addresses = sys.spawn(sb::actors::address_actor, store, std::move(recovered.conversations.addresses));
  recovered.conversations.addresses.clear();
  copts.addresses = addresses;
  // The outbound messaging edge: one actor for every gateway.
  sb::actors::edge_options eopts;
  eopts.gateways = opt.gateways;
  eopts.status_base = opt.edge_base;
  eopts.auth_tokens = copts.auth_tokens;
  auto edge = sys.spawn(sb::actors::edge_actor, eopts, http_post);
  copts.edge = edge;
  // Media: metadata in the store, content in DATA/media. Detached: it does
  // file I/O.
  sb::actors::media_options mopts;
  mopts.dir = std::filesystem::path(opt.data) / "media";
  mopts.store = store;
  mopts.auth_tokens = copts.auth_tokens; // the root comes once it exists
  mopts.fsync = opt.durability == sb::store::durability::full;
  // Inbound media (MediaUrl) are downloaded through the one HTTP client too.
  mopts.fetch = sb::api::http_fetch_through(client);
  auto media = sys.spawn<caf::detached>(sb::actors::media_actor, mopts, std::move(recovered.media));
  recovered.media.clear();
  // API keys (their secrets sign access tokens).
  auto keys = sys.spawn(sb::actors::keys_actor, store, std::move(recovered.api_keys));
  recovered.api_keys.clear();
  copts.media = media;
  auto conversations_image = std::make_shared<const sb::store::conversations_image>(std::move(recovered.conversations));
  std::size_t restored_conversations = conversations_image->conversations.size();
  auto conversations = sys.spawn(sb::actors::conversations_actor, copts, conversations_image,
                                 metrics.conversations());
  conversations_image.reset();
  caf::anon_send(media, sb::actors::media_root_atom::value, conversations);

  // Flex interactions: the TaskRouter root sends it the events of Flex tasks,
  // so it starts first and learns the TaskRouter root afterwards.
  sb::actors::interactions_options iopts;
  iopts.conversations = conversations;
  iopts.addresses = addresses;
  iopts.keys = keys;
  iopts.store = store;
  iopts.metrics = metrics.flex();
  auto interactions = sys.spawn(sb::actors::interactions_actor, iopts, std::move(recovered.interactions),
                                std::move(recovered.interaction_channels));
  recovered.interactions.clear();
  recovered.interaction_channels.clear();

  sb::actors::workspace_options wopts;
  wopts.auth_token = opt.auth_token;
  wopts.metrics = metrics.routing();
  wopts.webhooks = webhooks;
  wopts.store = store;
  wopts.task_retention = std::chrono::seconds(opt.task_retention_s);
  wopts.event_retention = std::chrono::seconds(opt.event_retention_s);
  wopts.event_sink = interactions;
  wopts.event_sink_types = sb::actors::interaction_event_types();
  wopts.event_sink_flex_only = true;
  auto directory = sys.spawn(sb::actors::directory_actor, wopts, recovered.workspaces);
  std::size_t restored_workspaces = recovered.workspaces.size();
  recovered.workspaces.clear();

  caf::anon_send(interactions, sb::actors::ix_wire{directory});

  // Studio sends through Conversations and Flex, and Conversations hands it
  // the messages of studio webhooks.
  sb::actors::studio_options sopts;
  sopts.conversations = conversations;
  sopts.interactions = interactions;
  sopts.directory = directory;
  sopts.store = store;
  sopts.http = http_post;
  sopts.metrics = metrics.flex();
  sb::actors::studio_image studio_img{std::move(recovered.studio_flows), std::move(recovered.studio_revisions),
                                      std::move(recovered.studio_executions), std::move(recovered.studio_steps)};
  auto studio = sys.spawn(sb::actors::studio_actor, sopts, std::move(studio_img));
  caf::anon_send(conversations, sb::actors::studio_root_atom::value, studio);

  sb::api::app_config acfg;
  acfg.accounts.push_back({opt.account_sid, opt.auth_token});
  for (auto& a : opt.extra_accounts)
    acfg.accounts.push_back(a);
  acfg.taskrouter_base = opt.public_base;
  acfg.conversations_base = opt.conversations_base;
  acfg.conversations = conversations;
  acfg.addresses = addresses;
  acfg.media = media;
  acfg.store = store;
  acfg.actor_timeout = std::chrono::seconds(opt.request_timeout_s);
  acfg.writable = writable;
  acfg.edge_base = opt.edge_base;
  acfg.keys = keys;
  acfg.interactions = interactions;
  acfg.flex_base = opt.flex_base;
  acfg.studio = studio;
  acfg.studio_base = opt.studio_base;
  sb::api::app app{sys, directory, metrics, acfg};

  sb::api::http_server_config scfg;
  scfg.address = opt.listen;
  scfg.port = static_cast<std::uint16_t>(opt.port);
  scfg.io_threads = opt.io_threads;
  scfg.body_limit = opt.body_limit;
  scfg.large_body_limit = opt.media_body_limit;
  // Only with valid credentials: nobody reads 150 MB for a stranger.
  scfg.large_body = [&app](boost::beast::http::verb method, std::string_view target, std::string_view authorization) {
    return app.takes_large_body(method, target, authorization);
  };
  sb::api::http_server server{scfg, [&app](sb::api::http_request&& req, sb::api::responder r) {
                                app.handle(std::move(req), std::move(r));
                              }};
  try {
    server.start();
  } catch (const std::exception& e) {
    std::cerr << "switchboard: " << e.what() << "\n";
    caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(conversations, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(addresses, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(media, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(keys, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(interactions, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(studio, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(edge, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(webhooks, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    app.stop();
    return 1;
  }

  if (opt.edge_base.empty())
    caf::anon_send(edge, sb::actors::edge_base_atom::value,
                   "http://" + (opt.listen == "0.0.0.0" || opt.listen == "::" ? std::string("127.0.0.1") : opt.listen) +
                     ":" + std::to_string(server.port()));
  std::cout << "Switchboard " << "0.1.0" << " listening on http://" << opt.listen << ":"
            << server.port() << "\n"
            << "  data directory: " << opt.data << "\n"
            << "  database:       " << db_path.string() << " (durability "
            << sb::store::to_string(opt.durability) << "; restored " << restored_workspaces
            << " workspaces, " << restored_conversations << " conversations, "
            << restored_addresses << " address configurations, " << recovered.entities << " records, " << recovered.events
            << " events)\n"
            << "  account SID:    " << opt.account_sid << "\n"
            << "  auth token:     " << opt.auth_token << (generated ? "  (generated)" : "") << "\n"
            << "ready port=" << server.port() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "switchboard: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down"
            << std::endl;

  server.stop();
  app.stop();
  caf::anon_send_exit(studio, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(interactions, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(directory, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(conversations, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(addresses, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(media, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(keys, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(edge, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(webhooks, caf::exit_reason::user_shutdown);
  {
    // Whatever the actors handed the store is written before the process ends.
    caf::scoped_actor self{sys};
    self->request(store, std::chrono::seconds(30), sb::actors::store_sync{})
      .receive([](bool) {}, [](caf::error&) {});
  }
  caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
  client.stop();
  return 0;
}
