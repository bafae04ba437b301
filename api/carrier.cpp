#include "api/carrier.hpp"

#include <pthread.h>
#include <signal.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "api/http_client.hpp"
#include "api/http_server.hpp"
#include "api/text.hpp"
#include "model/clock.hpp"
#include "model/conversations.hpp"
#include "model/form.hpp"
#include "model/sid.hpp"
#include "model/signature.hpp"

namespace sb::api {

namespace {

namespace net = boost::asio;
using verb = boost::beast::http::verb;
using json = nlohmann::ordered_json;

constexpr std::string_view api_version = "2010-04-01";
// Messages kept for list and fetch; beyond this the oldest are forgotten
// (their pending callbacks still go out).
constexpr std::size_t max_messages = 10000;
// Twilio's limit on an outbound body, in Unicode code points.
constexpr std::size_t max_body_code_points = 1600;
// The largest file PUT /sim/files takes (over WhatsApp's 16 MB, so a
// receiver's size limit can be tried); other requests keep the server's 1 MiB.
constexpr std::size_t max_file_bytes = 64 * 1024 * 1024;

struct carrier_account {
  std::string sid;
  std::string auth_token;
};

struct carrier_options {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 8081;
  std::vector<carrier_account> accounts;
  std::string inbound_url;
  std::set<std::string> undeliverable;  // bare E.164 numbers
  std::chrono::milliseconds status_delay{0};
};

const char* usage = R"(usage: switchboard carrier --account AC...:TOKEN [options]

A loopback carrier simulator: Twilio's Messages API (create, list, fetch) with
signed status callbacks, injection of inbound messages, and files to serve
as their MediaUrl.

Options:
  --listen ADDR           address to listen on (127.0.0.1)
  --port N                TCP port; 0 picks a free one (8081)
  --account AC...:TOKEN   an account the simulator accepts; repeatable, at
                          least one; the first is the default for /sim/inbound
  --inbound-url URL       where POST /sim/inbound delivers incoming messages
  --undeliverable NUMBER  messages to NUMBER end "undelivered" (30003); repeatable
  --status-delay-ms N     delay before each automatic status callback (0)
  --help                  this text

Routes:
  POST /2010-04-01/Accounts/{AC}/Messages.json         send (Basic auth)
  GET  /2010-04-01/Accounts/{AC}/Messages.json         list: To, From, PageSize, Page
  GET  /2010-04-01/Accounts/{AC}/Messages/{SM}.json    fetch
  POST /sim/inbound                                    From, To, Body, MediaUrl,
                                                       MediaContentType, AccountSid, ProfileName
  POST /sim/Messages/{SM}/Status                       MessageStatus, ErrorCode
  PUT  /sim/files/{name}                               keep the body (up to 64 MiB) and
                                                       its Content-Type, in memory; no auth
  GET  /sim/files/{name}                               the file with its Content-Type (404 when absent)
  GET  /sim/redirect/{name}                            302, Location: /sim/files/{name} (relative)
  GET  /healthz
)";

enum class parse_outcome { run, help, bad };

parse_outcome parse_options(int argc, char** argv, carrier_options& o) {
  auto to_number = [](const std::string& s, std::uint64_t max, std::uint64_t& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty() && out <= max;
  };
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    std::string v;
    auto value = [&] {
      if (i + 1 >= argc) {
        std::cerr << "switchboard carrier: " << arg << " needs a value\n";
        return false;
      }
      v = argv[++i];
      return true;
    };
    std::uint64_t n = 0;
    if (arg == "--help" || arg == "-h") {
      return parse_outcome::help;
    } else if (arg == "--listen") {
      if (!value())
        return parse_outcome::bad;
      o.listen = v;
    } else if (arg == "--port") {
      if (!value() || !to_number(v, 65535, n)) {
        std::cerr << "switchboard carrier: --port needs a number from 0 to 65535\n";
        return parse_outcome::bad;
      }
      o.port = static_cast<std::uint16_t>(n);
    } else if (arg == "--account") {
      if (!value())
        return parse_outcome::bad;
      auto colon = v.find(':');
      carrier_account a;
      if (colon != std::string::npos)
        a = {v.substr(0, colon), v.substr(colon + 1)};
      if (!model::is_sid(a.sid, "AC") || a.auth_token.empty()) {
        std::cerr << "switchboard carrier: --account needs AC<32 hex>:TOKEN\n";
        return parse_outcome::bad;
      }
      o.accounts.push_back(std::move(a));
    } else if (arg == "--inbound-url") {
      if (!value())
        return parse_outcome::bad;
      if (!starts_with_nocase(v, "http://") && !starts_with_nocase(v, "https://")) {
        std::cerr << "switchboard carrier: --inbound-url needs an http:// or https:// URL\n";
        return parse_outcome::bad;
      }
      o.inbound_url = v;
    } else if (arg == "--undeliverable") {
      if (!value())
        return parse_outcome::bad;
      o.undeliverable.insert(v.rfind("whatsapp:", 0) == 0 ? v.substr(9) : v);
    } else if (arg == "--status-delay-ms") {
      if (!value() || !to_number(v, 3600 * 1000, n)) {
        std::cerr << "switchboard carrier: --status-delay-ms needs a number of milliseconds\n";
        return parse_outcome::bad;
      }
      o.status_delay = std::chrono::milliseconds(n);
    } else {
      std::cerr << "switchboard carrier: unknown option " << arg << "\n" << usage;
      return parse_outcome::bad;
    }
  }
  if (o.accounts.empty()) {
    std::cerr << "switchboard carrier: at least one --account AC...:TOKEN is required\n" << usage;
    return parse_outcome::bad;
  }
  return parse_outcome::run;
}

// ------------------------------------------------------------ wire text --

enum class channel { sms, whatsapp };

// "+" and 8 to 15 digits is an SMS address; the same after "whatsapp:" a
// WhatsApp one; anything else is no address.
std::optional<channel> address_channel(std::string_view a) {
  channel c = channel::sms;
  if (a.rfind("whatsapp:", 0) == 0) {
    c = channel::whatsapp;
    a.remove_prefix(9);
  }
  if (a.size() < 9 || a.size() > 16 || a[0] != '+')
    return std::nullopt;
  for (char ch : a.substr(1))
    if (ch < '0' || ch > '9')
      return std::nullopt;
  return c;
}

// The E.164 number of an address, without a channel prefix.
std::string bare_number(std::string_view a) {
  if (a.rfind("whatsapp:", 0) == 0)
    a.remove_prefix(9);
  return std::string(a);
}

// Segments as the brief's carrier counts them: one up to 160 characters,
// otherwise 153 per segment (the rest of 160 is the concatenation header).
std::size_t segments(std::size_t chars) {
  return chars <= 160 ? 1 : (chars + 152) / 153;
}

bool is_http_url(std::string_view u) {
  return (starts_with_nocase(u, "http://") && u.size() > 7) ||
         (starts_with_nocase(u, "https://") && u.size() > 8);
}

using model::rfc2822;

// JSON text that never throws: invalid UTF-8 (a receiver's answer, say) is replaced.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

http_response json_response(unsigned status, const json& j) {
  return http_response{status, "application/json", dump(j), {}};
}

http_response not_found(std::string_view path) {
  return error_response(404, 20404, "The requested resource " + std::string(path) + " was not found");
}

http_response not_allowed(const char* allow) {
  auto r = error_response(405, 20004, "Method not allowed");
  r.headers.emplace_back("Allow", allow);
  return r;
}

std::optional<std::string> error_message_for(int code) {
  switch (code) {
    case 30003: return "Unreachable destination handset";
    case 30008: return "Unknown error";
    default: return std::nullopt;
  }
}

// The From/To pair of a message: both present, both addresses, one channel.
// The failure as Twilio answers it, if any.
std::optional<http_response> check_pair(const std::optional<std::string>& from,
                                        const std::optional<std::string>& to) {
  if (!to || to->empty())
    return error_response(400, 21604, "A 'To' phone number is required.");
  if (!from || from->empty())
    return error_response(400, 21603, "A 'From' phone number is required.");
  auto to_channel = address_channel(*to);
  if (!to_channel)
    return error_response(400, 21211, "The 'To' number " + *to + " is not a valid phone number.");
  auto from_channel = address_channel(*from);
  if (!from_channel)
    return error_response(400, 21212, "The 'From' number " + *from + " is not a valid phone number.");
  if (*to_channel != *from_channel)
    return error_response(400, 21910, "Invalid From and To pair. From and To should be of the same channel");
  return std::nullopt;
}

// ------------------------------------------------------------- messages --

// One status callback owed for a message. Automatic steps (the delivery
// sequence) wait --status-delay-ms first; `done` gets the receiver's HTTP
// status, or 0 when there is no callback URL or it could not be reached.
struct status_step {
  std::string status;
  int error_code = 0;
  bool automatic = true;
  std::function<void(int)> done;
};

// An outbound message as the carrier records it. Guarded by carrier::mutex_.
struct message_record {
  std::string sid;
  std::string account_sid;
  std::string from;
  std::string to;
  std::string body;
  std::string messaging_service_sid;
  std::string status_callback;
  std::vector<std::string> media_urls;
  std::string status = "queued";
  std::vector<std::string> statuses;  // callbacks sent so far, in order
  int error_code = 0;
  model::time_point created;
  model::time_point updated;
  std::optional<model::time_point> sent;
  // Callbacks still owed, in order; `busy` while one is on its way, so the
  // next starts only after it answered or failed.
  std::deque<status_step> pending;
  bool busy = false;
};

std::string message_uri(const message_record& m) {
  return "/2010-04-01/Accounts/" + m.account_sid + "/Messages/" + m.sid;
}

// Twilio's Message resource plus media_urls, status_callback and statuses
// (simulator-only fields).
json message_json(const message_record& m) {
  json j;
  auto base = message_uri(m);
  auto error_message = error_message_for(m.error_code);
  j["account_sid"] = m.account_sid;
  j["api_version"] = api_version;
  j["body"] = m.body;
  j["date_created"] = rfc2822(m.created);
  j["date_sent"] = m.sent ? json(rfc2822(*m.sent)) : json(nullptr);
  j["date_updated"] = rfc2822(m.updated);
  j["direction"] = "outbound-api";
  j["error_code"] = m.error_code ? json(m.error_code) : json(nullptr);
  j["error_message"] = m.error_code && error_message ? json(*error_message) : json(nullptr);
  j["from"] = m.from.empty() ? json() : json(m.from);
  j["messaging_service_sid"] = m.messaging_service_sid.empty() ? json(nullptr) : json(m.messaging_service_sid);
  j["num_media"] = std::to_string(m.media_urls.size());
  j["num_segments"] = std::to_string(segments(model::cv::code_points(m.body)));
  j["price"] = nullptr;
  j["price_unit"] = "USD";
  j["sid"] = m.sid;
  j["status"] = m.status;
  j["subresource_uris"] = json{{"media", base + "/Media.json"}};
  j["to"] = m.to;
  j["uri"] = base + ".json";
  j["media_urls"] = m.media_urls;
  j["status_callback"] = m.status_callback.empty() ? json(nullptr) : json(m.status_callback);
  j["statuses"] = m.statuses;
  return j;
}

bool known_status(std::string_view s) {
  for (auto k : {"queued", "sent", "delivered", "read", "failed", "undelivered"})
    if (s == k)
      return true;
  return false;
}

// --------------------------------------------------------------- server --

// The simulator: an HTTP server, a timer thread for paced callbacks and an
// HTTP client for callbacks and inbound posts. Asynchronous work holds a weak
// pointer to it; stop() ends all of it before the last owner lets go.
class carrier : public std::enable_shared_from_this<carrier> {
 public:
  explicit carrier(carrier_options opt) : opt_(std::move(opt)), work_(net::make_work_guard(io_)) {}

  // Starts the timer thread and the server. Throws std::runtime_error when
  // the server cannot listen.
  void start() {
    io_thread_ = std::thread([&io = io_] { io.run(); });
    http_server_config cfg;
    cfg.address = opt_.listen;
    cfg.port = opt_.port;
    cfg.large_body_limit = max_file_bytes;
    cfg.large_body = [](verb method, std::string_view target, std::string_view) {
      return method == verb::put && target.rfind("/sim/files/", 0) == 0;
    };
    std::weak_ptr<carrier> weak = weak_from_this();
    server_ = std::make_unique<http_server>(cfg, [weak](http_request&& req, responder respond) {
      if (auto self = weak.lock())
        self->handle(std::move(req), std::move(respond));
    });
    server_->start();
  }

  std::uint16_t port() const { return server_ ? server_->port() : 0; }

  // Stops taking requests, drops timers still waiting and fails callbacks
  // in flight. Idempotent; call before the last owner lets go.
  void stop() {
    if (server_)
      server_->stop();
    {
      std::lock_guard<std::mutex> guard{mutex_};
      stopping_ = true;
    }
    work_.reset();
    io_.stop();
    if (io_thread_.joinable())
      io_thread_.join();
    client_.stop();
  }

 private:
  void handle(http_request&& req, responder respond) {
    std::string_view target = req.target;
    auto qpos = target.find('?');
    std::string_view path = target.substr(0, qpos);
    std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
    std::vector<std::string_view> segs;
    for (std::size_t start = 1; start <= path.size();) {
      auto slash = path.find('/', start);
      auto end = slash == std::string_view::npos ? path.size() : slash;
      segs.push_back(path.substr(start, end - start));
      start = end + 1;
    }

    if (path == "/healthz") {
      if (req.method != verb::get)
        return respond(not_allowed("GET"));
      return respond(http_response{200, "application/json", R"({"status":"ok"})", {}});
    }
    if (path == "/sim/inbound") {
      if (req.method != verb::post)
        return respond(not_allowed("POST"));
      if (auto f = read_form(req, query, respond))
        sim_inbound(*f, std::move(respond));
      return;
    }
    if (segs.size() == 4 && segs[0] == "sim" && segs[1] == "Messages" && segs[3] == "Status") {
      if (req.method != verb::post)
        return respond(not_allowed("POST"));
      if (auto f = read_form(req, query, respond))
        sim_status(std::string(segs[2]), *f, std::move(respond));
      return;
    }
    if (segs.size() == 3 && segs[0] == "sim" && segs[1] == "files" && !segs[2].empty()) {
      if (req.method == verb::put)
        return respond(put_file(std::string(segs[2]), std::move(req)));
      if (req.method == verb::get)
        return respond(get_file(std::string(segs[2]), path));
      return respond(not_allowed("GET, PUT"));
    }
    if (segs.size() == 3 && segs[0] == "sim" && segs[1] == "redirect" && !segs[2].empty()) {
      if (req.method != verb::get)
        return respond(not_allowed("GET"));
      // Relative, as a CDN's redirect often is: the fetcher resolves it.
      http_response r{302, "", "", {}};
      r.headers.emplace_back("Location", "/sim/files/" + std::string(segs[2]));
      return respond(std::move(r));
    }
    if (segs.size() >= 4 && segs[0] == "2010-04-01" && segs[1] == "Accounts") {
      bool list_path = segs.size() == 4 && segs[3] == "Messages.json";
      bool item_path = segs.size() == 5 && segs[3] == "Messages" && segs[4].size() > 5 &&
                       segs[4].substr(segs[4].size() - 5) == ".json";
      if (list_path || item_path) {
        if (list_path && req.method != verb::get && req.method != verb::post)
          return respond(not_allowed("GET, POST"));
        if (item_path && req.method != verb::get)
          return respond(not_allowed("GET"));
        const carrier_account* acct = authenticate(req.authorization);
        if (!acct || acct->sid != segs[2]) {
          auto r = error_response(401, 20003, "Authentication Error - invalid username or password");
          r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Twilio API\"");
          return respond(std::move(r));
        }
        auto f = read_form(req, query, respond);
        if (!f)
          return;
        if (item_path)
          return respond(fetch(*acct, segs[4].substr(0, segs[4].size() - 5), path));
        if (req.method == verb::get)
          return respond(list(*acct, *f, path));
        return respond(create(*acct, *f));
      }
    }
    respond(not_found(path));
  }

  const carrier_account* authenticate(const std::string& authorization) const {
    constexpr std::string_view scheme = "basic ";
    if (authorization.size() <= scheme.size() || !starts_with_nocase(authorization, scheme))
      return nullptr;
    auto decoded = model::base64_decode(std::string_view(authorization).substr(scheme.size()));
    if (!decoded)
      return nullptr;
    auto colon = decoded->find(':');
    if (colon == std::string::npos)
      return nullptr;
    auto user = std::string_view(*decoded).substr(0, colon);
    auto pass = std::string_view(*decoded).substr(colon + 1);
    for (auto& a : opt_.accounts)
      if (a.sid == user && model::constant_time_equal(a.auth_token, pass))
        return &a;
    return nullptr;
  }

  const carrier_account* find_account(std::string_view sid) const {
    for (auto& a : opt_.accounts)
      if (a.sid == sid)
        return &a;
    return nullptr;
  }

  // The request's parameters: the form body of a POST, the query of a GET.
  // On failure answers 400 itself and returns nullopt.
  static std::optional<model::form> read_form(const http_request& req, std::string_view query,
                                              const responder& respond) {
    std::string_view text = query;
    if (req.method == verb::post) {
      if (!req.body.empty() && !starts_with_nocase(req.content_type, "application/x-www-form-urlencoded")) {
        respond(error_response(400, 20001, "Content-Type must be application/x-www-form-urlencoded"));
        return std::nullopt;
      }
      text = req.body;
    }
    auto f = model::form::parse(text);
    if (!f) {
      respond(error_response(400, 20001, f.err().message));
      return std::nullopt;
    }
    if (auto bad = f->first_not_utf8()) {
      respond(error_response(400, 20001, "Parameter " + *bad + " is not valid UTF-8"));
      return std::nullopt;
    }
    return std::move(*f);
  }

  http_response create(const carrier_account& acct, const model::form& f) {
    auto from = f.get("From");
    auto to = f.get("To");
    // With a messaging service and no From, Twilio picks the sender from the
    // service's pool; here the message simply has none ("from": null).
    bool pooled = (!from || from->empty()) && model::is_sid(f.get("MessagingServiceSid").value_or(""), "MG");
    if (pooled) {
      if (!to || to->empty())
        return error_response(400, 21604, "A 'To' phone number is required.");
      if (!address_channel(*to))
        return error_response(400, 21211, "The 'To' number " + *to + " is not a valid phone number.");
    } else if (auto bad = check_pair(from, to)) {
      return *bad;
    }
    auto body = f.get("Body").value_or("");
    auto media = f.all("MediaUrl");
    if (body.empty() && media.empty())
      return error_response(400, 21602, "Message body is required.");
    if (model::cv::code_points(body) > max_body_code_points)
      return error_response(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
    for (auto& m : media)
      if (!is_http_url(m))
        return error_response(400, 21620, "Invalid media URL(s): " + m);
    auto callback = f.get("StatusCallback").value_or("");
    if (!callback.empty() && !is_http_url(callback))
      return error_response(400, 21609, "Invalid StatusCallback url: " + callback);

    auto m = std::make_shared<message_record>();
    m->sid = model::make_sid(media.empty() ? "SM" : "MM");
    m->account_sid = acct.sid;
    m->from = from.value_or("");
    m->to = *to;
    m->body = std::move(body);
    m->messaging_service_sid = f.get("MessagingServiceSid").value_or("");
    m->status_callback = std::move(callback);
    m->media_urls = std::move(media);
    m->created = m->updated = std::chrono::system_clock::now();

    bool whatsapp = address_channel(m->to) == channel::whatsapp;
    std::vector<status_step> sequence;
    auto step = [](std::string status, int error_code = 0) {
      status_step s;
      s.status = std::move(status);
      s.error_code = error_code;
      return s;
    };
    if (opt_.undeliverable.count(bare_number(m->to)))
      sequence = {step("sent"), step("undelivered", 30003)};
    else if (whatsapp)
      sequence = {step("sent"), step("delivered"), step("read")};
    else
      sequence = {step("sent"), step("delivered")};

    http_response response;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      response = json_response(201, message_json(*m));
      for (auto& s : sequence)
        m->pending.push_back(std::move(s));
      messages_.push_back(m);
      by_sid_[m->sid] = m;
      if (messages_.size() > max_messages) {
        by_sid_.erase(messages_.front()->sid);
        messages_.pop_front();
      }
    }
    pump(m);
    return response;
  }

  http_response list(const carrier_account& acct, const model::form& q, std::string_view path) {
    auto size = q.get_int("PageSize", 1, 1000);
    auto page = q.get_int("Page", 0, 1000000);
    if (!size || !page)
      return error_response(400, 20001, (!size ? size.err() : page.err()).message);
    std::size_t page_size = static_cast<std::size_t>(size->value_or(50));
    std::size_t page_no = static_cast<std::size_t>(page->value_or(0));
    auto to = q.get("To");
    auto from = q.get("From");

    json items = json::array();
    bool more = false;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      std::size_t skip = page_no * page_size;
      for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
        auto& m = **it;
        if (m.account_sid != acct.sid || (to && m.to != *to) || (from && m.from != *from))
          continue;
        if (skip > 0) {
          --skip;
          continue;
        }
        if (items.size() == page_size) {
          more = true;
          break;
        }
        items.push_back(message_json(m));
      }
    }
    auto page_uri = [&](std::size_t n) {
      model::form_pairs p;
      if (to)
        p.emplace_back("To", *to);
      if (from)
        p.emplace_back("From", *from);
      p.emplace_back("PageSize", std::to_string(page_size));
      p.emplace_back("Page", std::to_string(n));
      return std::string(path) + "?" + model::encode_form(p);
    };
    std::size_t start = page_no * page_size;
    json j;
    j["end"] = items.empty() ? start : start + items.size() - 1;
    j["first_page_uri"] = page_uri(0);
    j["messages"] = std::move(items);
    j["next_page_uri"] = more ? json(page_uri(page_no + 1)) : json(nullptr);
    j["page"] = page_no;
    j["page_size"] = page_size;
    j["previous_page_uri"] = page_no > 0 ? json(page_uri(page_no - 1)) : json(nullptr);
    j["start"] = start;
    j["uri"] = page_uri(page_no);
    return json_response(200, j);
  }

  http_response fetch(const carrier_account& acct, std::string_view sid, std::string_view path) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto it = by_sid_.find(std::string(sid));
    if (it == by_sid_.end() || it->second->account_sid != acct.sid)
      return not_found(path);
    return json_response(200, message_json(*it->second));
  }

  // PUT /sim/files/{name}: keeps the body and its Content-Type (as sent,
  // none when absent); 201 for a new name, 200 when it replaced one.
  http_response put_file(std::string name, http_request&& req) {
    json j;
    j["name"] = name;
    j["size"] = req.body.size();
    j["content_type"] = req.content_type.empty() ? json(nullptr) : json(req.content_type);
    j["url"] = "/sim/files/" + name;
    bool added = false;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      added = files_.insert_or_assign(std::move(name), sim_file{std::move(req.content_type), std::move(req.body)})
                .second;
    }
    return json_response(added ? 201 : 200, j);
  }

  // GET /sim/files/{name}: the bytes with the Content-Type they came with.
  http_response get_file(const std::string& name, std::string_view path) {
    std::lock_guard<std::mutex> guard{mutex_};
    auto it = files_.find(name);
    if (it == files_.end())
      return not_found(path);
    return http_response{200, it->second.content_type, it->second.body, {}};
  }

  // POST /sim/Messages/{sid}/Status: one more callback, after those pending.
  void sim_status(const std::string& sid, const model::form& f, responder respond) {
    auto status = f.get("MessageStatus").value_or("");
    if (!known_status(status))
      return respond(error_response(
        400, 20001, "MessageStatus must be queued, sent, delivered, read, failed or undelivered"));
    auto code = f.get_int("ErrorCode", 1, 99999);
    if (!code)
      return respond(error_response(400, 20001, code.err().message));
    int error_code = 0;
    if (status == "failed" || status == "undelivered")
      error_code = static_cast<int>(code->value_or(30008));
    std::shared_ptr<message_record> m;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      auto it = by_sid_.find(sid);
      if (it == by_sid_.end())
        return respond(not_found("/sim/Messages/" + sid));
      m = it->second;
      m->pending.push_back({status, error_code, false, [respond, sid, status](int callback_status) {
                              json j;
                              j["sid"] = sid;
                              j["status"] = status;
                              j["callback_status"] = callback_status;
                              respond(json_response(200, j));
                            }});
    }
    pump(m);
  }

  // Starts the message's next owed callback unless one is on its way. It
  // runs on the timer thread, after the delay when it is automatic.
  void pump(const std::shared_ptr<message_record>& m) {
    status_step step;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      if (stopping_ || m->busy || m->pending.empty())
        return;
      m->busy = true;
      step = std::move(m->pending.front());
      m->pending.pop_front();
    }
    bool wait = step.automatic && opt_.status_delay.count() > 0;
    auto run = [weak = weak_from_this(), m, step = std::move(step)]() mutable {
      if (auto self = weak.lock())
        self->deliver(m, std::move(step));
    };
    if (!wait) {
      net::post(io_, std::move(run));
      return;
    }
    auto timer = std::make_shared<net::steady_timer>(io_, opt_.status_delay);
    timer->async_wait([timer, run = std::move(run)](boost::system::error_code ec) mutable {
      if (!ec)
        run();
    });
  }

  // Records the step's status and posts its signed callback.
  void deliver(const std::shared_ptr<message_record>& m, status_step step) {
    std::string url;
    model::form_pairs params;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      auto now = std::chrono::system_clock::now();
      m->status = step.status;
      m->statuses.push_back(step.status);
      m->updated = now;
      if (step.status == "sent" && !m->sent)
        m->sent = now;
      if (step.error_code)
        m->error_code = step.error_code;
      url = m->status_callback;
      params = {{"MessageSid", m->sid},       {"SmsSid", m->sid},         {"MessageStatus", step.status},
                {"SmsStatus", step.status},   {"AccountSid", m->account_sid}, {"From", m->from},
                {"To", m->to},                {"ApiVersion", std::string(api_version)}};
      if (step.error_code)
        params.emplace_back("ErrorCode", std::to_string(step.error_code));
    }
    auto done = std::move(step.done);
    if (url.empty()) {
      if (done)
        done(0);
      finish(m);
      return;
    }
    const carrier_account* acct = find_account(m->account_sid);
    http_client_request req;
    req.url = url;
    req.body = model::encode_form(params);
    req.headers.emplace_back("X-Twilio-Signature",
                             model::twilio_signature(acct ? acct->auth_token : "", url, params));
    client_.send(std::move(req), [weak = weak_from_this(), m, done](http_client_response r) {
      if (done)
        done(r.error.empty() ? r.status : 0);
      if (auto self = weak.lock())
        self->finish(m);
    });
  }

  void finish(const std::shared_ptr<message_record>& m) {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      m->busy = false;
    }
    pump(m);
  }

  // POST /sim/inbound: an incoming message, posted to --inbound-url as
  // Twilio's incoming-message webhook.
  // A Url parameter sends this one message elsewhere than --inbound-url.
  void sim_inbound(const model::form& f, responder respond) {
    auto target = f.get("Url").value_or(opt_.inbound_url);
    if (target.empty())
      return respond(error_response(400, 20001, "No inbound URL: give Url or start the carrier with --inbound-url"));
    if (target.rfind("http://", 0) != 0 && target.rfind("https://", 0) != 0)
      return respond(error_response(400, 20001, "Url must be an http:// or https:// URL"));
    auto from = f.get("From");
    auto to = f.get("To");
    if (auto bad = check_pair(from, to))
      return respond(std::move(*bad));
    const carrier_account* acct = &opt_.accounts.front();
    if (auto sid = f.get("AccountSid")) {
      acct = find_account(*sid);
      if (!acct)
        return respond(error_response(400, 20001, "AccountSid " + *sid + " is not a configured account"));
    }
    auto media = f.all("MediaUrl");
    auto types = f.all("MediaContentType");
    if (types.size() > media.size())
      return respond(error_response(400, 20001, "More MediaContentType than MediaUrl values"));
    auto body = f.get("Body").value_or("");
    auto sid = model::make_sid(media.empty() ? "SM" : "MM");

    model::form_pairs params{{"MessageSid", sid},
                             {"SmsSid", sid},
                             {"SmsMessageSid", sid},
                             {"AccountSid", acct->sid},
                             {"From", *from},
                             {"To", *to},
                             {"Body", body},
                             {"NumMedia", std::to_string(media.size())},
                             {"NumSegments", std::to_string(segments(model::cv::code_points(body)))}};
    for (std::size_t i = 0; i < media.size(); ++i) {
      params.emplace_back("MediaUrl" + std::to_string(i), media[i]);
      params.emplace_back("MediaContentType" + std::to_string(i),
                          i < types.size() ? types[i] : "application/octet-stream");
    }
    params.emplace_back("ApiVersion", std::string(api_version));
    params.emplace_back("SmsStatus", "received");
    if (address_channel(*from) == channel::whatsapp) {
      params.emplace_back("ProfileName", f.get("ProfileName").value_or("Customer"));
      params.emplace_back("WaId", bare_number(*from).substr(1));
    }

    http_client_request req;
    req.url = target;
    req.body = model::encode_form(params);
    req.headers.emplace_back("X-Twilio-Signature", model::twilio_signature(acct->auth_token, target, params));
    client_.send(std::move(req), [respond, sid](http_client_response r) {
      json j;
      j["message_sid"] = sid;
      j["status"] = r.error.empty() ? r.status : 0;
      j["body"] = r.body;
      if (!r.error.empty())
        j["error"] = r.error;
      bool ok = r.error.empty() && r.status >= 200 && r.status < 300;
      respond(json_response(ok ? 200 : 502, j));
    });
  }

  const carrier_options opt_;
  net::io_context io_;  // paced callbacks
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread io_thread_;
  http_client client_;
  std::unique_ptr<http_server> server_;

  std::mutex mutex_;
  bool stopping_ = false;                                   // guarded by mutex_
  std::deque<std::shared_ptr<message_record>> messages_;    // oldest first; guarded by mutex_
  std::unordered_map<std::string, std::shared_ptr<message_record>> by_sid_;  // guarded by mutex_
  struct sim_file {
    std::string content_type; // empty: served without one
    std::string body;
  };
  std::unordered_map<std::string, sim_file> files_;  // PUT /sim/files; guarded by mutex_
};

} // namespace

int run_carrier(int argc, char** argv) {
  carrier_options opt;
  switch (parse_options(argc, argv, opt)) {
    case parse_outcome::help:
      std::cout << usage;
      return 0;
    case parse_outcome::bad:
      return 2;
    case parse_outcome::run:
      break;
  }

  // Signals are taken by sigwait below; every thread started from here on
  // inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto sim = std::make_shared<carrier>(opt);
  try {
    sim->start();
  } catch (const std::exception& e) {
    std::cerr << "switchboard carrier: " << e.what() << "\n";
    sim->stop();
    return 1;
  }
  std::cout << "Switchboard carrier listening on http://" << opt.listen << ":" << sim->port() << "\n";
  for (auto& a : opt.accounts)
    std::cout << "  account:      " << a.sid << "\n";
  std::cout << "  inbound URL:  " << (opt.inbound_url.empty() ? "(none)" : opt.inbound_url) << "\n"
            << "ready port=" << sim->port() << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "switchboard carrier: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down"
            << std::endl;
  sim->stop();
  return 0;
}

} // namespace sb::api
