#include "api/app.hpp"

#include <chrono>
#include <limits>
#include <unordered_map>

#include "actors/keys_actor.hpp"
#include "api/routes.hpp"
#include "actors/store_actor.hpp"
#include "api/text.hpp"
#include "model/form.hpp"
#include "model/json_text.hpp"
#include "model/sid.hpp"
#include "model/signature.hpp"
#include "model/conversations_json.hpp"
#include "model/interactions.hpp"
#include "model/studio.hpp"
#include "model/media.hpp"
#include "model/taskrouter_json.hpp"

namespace sb::api {

namespace {

using actors::resource;
using actors::tr_reply;
using clock_type = std::chrono::steady_clock;

// What every request carries on its way through a bridge actor besides its call.
struct job_common {
  const char* pattern = "";
  const char* list_key = nullptr;
  std::string method;
  std::string base;      // public base URL of the product
  std::string path;      // request path, for paging URLs
  model::form query;     // list filters, echoed in paging URLs
  responder respond;
  clock_type::time_point start;
};

// A TaskRouter request.
struct bridge_job : job_common {
  actors::tr_call call;
};

// A Conversations request.
struct cv_job : job_common {
  actors::cv_call call;
  caf::actor target; // the Conversations root, or the address actor for its ops
};

// A media request.
struct media_job : job_common {
  actors::media_call call;
  // For links.content_direct_temporary: this server as the caller reached
  // it, and the caller's auth token that signs the URL.
  std::string direct_base;
  std::string auth_token;
};

// A Flex request.
struct ix_job : job_common {
  actors::ix_call call;
};

// A Studio request.
struct st_job : job_common {
  actors::st_call call;
};

// An API key request (2010 API).
struct key_job : job_common {
  actors::key_call call;
  std::string account_sid; // for the 2010 API's URIs
};

} // namespace
} // namespace sb::api

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sb::api::key_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sb::api::ix_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sb::api::st_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sb::api::bridge_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sb::api::cv_job>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sb::api::media_job>)

namespace sb::api {

namespace {

const char* method_name(boost::beast::http::verb v) {
  switch (v) {
    case boost::beast::http::verb::get: return "GET";
    case boost::beast::http::verb::post: return "POST";
    case boost::beast::http::verb::delete_: return "DELETE";
    case boost::beast::http::verb::put: return "PUT";
    default: return "OTHER";
  }
}

nlohmann::json render_resource(const resource& r, const model::wire_context& ctx,
                               actors::tr_op op, const std::string& self_url) {
  using actors::tr_op;
  return std::visit(
    [&](const auto& x) -> nlohmann::json {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, actors::worker_channel_ref>) {
        return model::to_json(x.channel, x.worker_sid, ctx);
      } else if constexpr (std::is_same_v<T, model::reservation>) {
        bool worker_view = op == tr_op::worker_reservation_list ||
                           op == tr_op::worker_reservation_fetch ||
                           op == tr_op::worker_reservation_update;
        return model::to_json(x, ctx, worker_view);
      } else if constexpr (std::is_same_v<T, actors::statistics>) {
        auto doc = x.doc;
        doc["account_sid"] = ctx.account_sid;
        doc["workspace_sid"] = ctx.workspace_sid;
        if (!doc.contains("url") && op != tr_op::queues_statistics)
          doc["url"] = self_url;
        return doc;
      } else {
        return model::to_json(x, ctx);
      }
    },
    r);
}

template <class Job>
std::string page_url(const Job& job, std::size_t page, std::size_t size) {
  model::form_pairs q;
  for (auto& kv : job.query.pairs())
    if (kv.first != "PageSize" && kv.first != "Page" && kv.first != "PageToken")
      q.push_back(kv);
  q.emplace_back("PageSize", std::to_string(size));
  q.emplace_back("Page", std::to_string(page));
  if (page > 0)
    q.emplace_back("PageToken", "PT" + std::to_string(page * size));
  return job.base + job.path + "?" + model::encode_form(q);
}

// The page envelope around rendered items.
template <class Job>
std::string page_body(const Job& job, nlohmann::json items, bool has_more) {
  std::size_t size = job.call.page.size;
  std::size_t page_no = job.call.page.offset / size;
  nlohmann::json meta{{"page", page_no},
                      {"page_size", size},
                      {"first_page_url", page_url(job, 0, size)},
                      {"previous_page_url", page_no > 0 ? nlohmann::json(page_url(job, page_no - 1, size)) : nlohmann::json()},
                      {"url", page_url(job, page_no, size)},
                      {"next_page_url", has_more ? nlohmann::json(page_url(job, page_no + 1, size)) : nlohmann::json()},
                      {"key", job.list_key}};
  nlohmann::json body{{job.list_key, std::move(items)}, {"meta", std::move(meta)}};
  return model::json_text(body);
}

// The answers every reply variant shares: an error as Twilio's error body,
// nothing (a delete) as 204.
template <class Variant>
std::optional<http_response> error_or_no_content(const Variant& value) {
  if (auto* err = std::get_if<model::error>(&value))
    return error_response(model::http_status(err->kind), err->code, err->message);
  if (std::holds_alternative<std::monostate>(value)) {
    http_response out;
    out.status = 204;
    out.content_type.clear();
    return out;
  }
  return std::nullopt;
}

http_response render(const bridge_job& job, tr_reply& reply) {
  model::wire_context ctx{job.base, job.call.account_sid, job.call.workspace_sid};
  http_response out;
  if (auto early = error_or_no_content(reply.value))
    return std::move(*early);
  if (auto* r = std::get_if<resource>(&reply.value)) {
    if (auto* ws = std::get_if<model::workspace>(r))
      ctx.workspace_sid = ws->sid;
    out.status = reply.created ? 201 : 200;
    out.body = model::json_text(render_resource(*r, ctx, job.call.op, job.base + job.path));
    // A task's version for If-Match (optimistic concurrency on update/delete).
    if (auto* t = std::get_if<model::task>(r))
      out.headers.emplace_back("ETag", std::to_string(t->version));
    return out;
  }
  auto& page = std::get<actors::page_result>(reply.value);
  auto items = nlohmann::json::array();
  for (auto& item : page.items) {
    if (auto* ws = std::get_if<model::workspace>(&item))
      ctx.workspace_sid = ws->sid;
    items.push_back(render_resource(item, ctx, job.call.op, {}));
  }
  out.body = page_body(job, std::move(items), page.has_more);
  return out;
}

// The answer to a change the store could not commit.
http_response store_unavailable() {
  return error_response(503, 20503,
                        "The change could not be written to disk; the service refuses changes "
                        "until its store accepts writes again");
}

// The bridges' deadline sweep (a self message once a second while
// requests are in flight).
using sweep_atom = caf::atom_constant<caf::atom("br_sweep")>;

struct bridge_state {
  caf::actor directory;
  caf::actor store;
  std::chrono::seconds timeout{30};
  metrics::http_families families;
  // A route's series, by its pattern (a string literal: compared by address),
  // method and status (0 for the latency histogram): found without building
  // a string per request.
  struct series_key {
    const char* pattern;
    std::string method;
    unsigned status;
    bool operator==(const series_key& o) const {
      return pattern == o.pattern && status == o.status && method == o.method;
    }
  };
  struct series_hash {
    std::size_t operator()(const series_key& k) const {
      return std::hash<const void*>{}(k.pattern) ^ (std::hash<std::string>{}(k.method) << 1) ^ (k.status * 0x9e3779b9u);
    }
  };
  std::unordered_map<series_key, prometheus::Counter*, series_hash> counters;
  std::unordered_map<series_key, prometheus::Histogram*, series_hash> latencies;
  // Requests waiting for their answer, by number. Internal requests carry
  // no CAF timeout (in CAF 0.17 one stays armed in the clock for its whole
  // length, answered or not: at 20,000 requests a second that was 600,000
  // pending entries and as many stray timeout messages 30 s later); one
  // sweep a second answers those past the deadline with 503 instead.
  std::unordered_map<std::uint64_t, std::shared_ptr<job_common>> in_flight;
  std::uint64_t next_request = 0;
  bool sweeping = false;
  static inline const char* name = "http_bridge";
};

template <class Job>
void observe(bridge_state& st, const Job& job, unsigned status) {
  if (!st.families.requests)
    return;
  bridge_state::series_key key{job.pattern, job.method, status};
  auto c = st.counters.find(key);
  if (c == st.counters.end())
    c = st.counters
          .emplace(key, &st.families.requests->Add({{"route", job.pattern},
                                                    {"method", job.method},
                                                    {"status", std::to_string(status)}}))
          .first;
  c->second->Increment();
  key.status = 0;
  auto h = st.latencies.find(key);
  if (h == st.latencies.end())
    h = st.latencies
          .emplace(key, &st.families.latency->Add({{"route", job.pattern}, {"method", job.method}},
                                                  metrics::latency_buckets()))
          .first;
  h->second->Observe(std::chrono::duration<double>(clock_type::now() - job.start).count());
}

using bridge_ptr = caf::stateful_actor<bridge_state>*;

http_response no_answer() { return error_response(503, 20503, "The service did not answer in time"); }

void finish(bridge_ptr self, job_common& job, http_response response) {
  observe(self->state, job, response.status);
  job.respond(std::move(response));
}

// Asks target with call for job; on_reply(reply) runs when the answer comes
// within the job's deadline (its start plus the bridge timeout), else the
// job gets 503 and a late answer is dropped.
template <class Reply, class Call, class OnReply>
void ask(bridge_ptr self, const caf::actor& target, Call call, std::shared_ptr<job_common> job, OnReply on_reply) {
  auto& st = self->state;
  auto id = ++st.next_request;
  st.in_flight.emplace(id, job);
  if (!st.sweeping) {
    st.sweeping = true;
    self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
  }
  self->request(target, caf::infinite, std::move(call))
    .then(
      [=](Reply& reply) mutable {
        if (self->state.in_flight.erase(id) == 0)
          return; // answered with 503 by the sweep already
        on_reply(reply);
      },
      [=](caf::error&) {
        if (self->state.in_flight.erase(id) == 0)
          return;
        finish(self, *job, no_answer());
      });
}

// Answers the requests past their deadline; looks again in a second while
// any are left.
void sweep(bridge_ptr self) {
  auto& st = self->state;
  auto cutoff = clock_type::now() - st.timeout;
  for (auto it = st.in_flight.begin(); it != st.in_flight.end();) {
    if (it->second->start <= cutoff) {
      finish(self, *it->second, no_answer());
      it = st.in_flight.erase(it);
    } else {
      ++it;
    }
  }
  st.sweeping = !st.in_flight.empty();
  if (st.sweeping)
    self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
}

void init_bridge(bridge_ptr self, caf::actor target, std::chrono::seconds timeout, metrics::http_families families) {
  self->state.directory = std::move(target);
  self->state.timeout = timeout;
  self->state.families = families;
}

// Carries jobs into the actor system; each bridge keeps few requests in
// flight (one per open request on its share of connections).
caf::behavior bridge_actor(caf::stateful_actor<bridge_state>* self, caf::actor directory,
                           caf::actor store, std::chrono::seconds timeout,
                           metrics::http_families families) {
  init_bridge(self, std::move(directory), timeout, families);
  self->state.store = std::move(store);
  return {
    [=](std::shared_ptr<bridge_job>& job) {
      auto call = job->call;
      ask<tr_reply>(self, self->state.directory, std::move(call), job, [=](tr_reply& reply) {
        auto response = render(*job, reply);
        // Workspace actors hold their answers until the store has their
        // changes; the directory's own changes (creating or deleting a
        // workspace) are synced here.
        bool change =
          job->call.op == actors::tr_op::workspace_create || job->call.op == actors::tr_op::workspace_delete;
        if (!change || response.status >= 300 || !self->state.store)
          return finish(self, *job, std::move(response));
        // A change is acknowledged only once the store has committed it:
        // everything its owner handed the store is ahead of this sync.
        auto shared = std::make_shared<http_response>(std::move(response));
        ask<bool>(self, self->state.store, actors::store_sync{}, job, [=](bool ok) {
          finish(self, *job, ok ? std::move(*shared) : store_unavailable());
        });
      });
    },
    [=](sweep_atom) { sweep(self); },
  };
}

// A Conversations resource in wire form. URLs follow the request's path:
// under /v1/Services/{IS}/... when it named a service, else /v1/....
nlohmann::json render_cv_resource(const actors::cv_resource& r, const std::string& base,
                                  const std::string& path_service_sid) {
  namespace cv = model::cv;
  cv::cv_wire ctx{base};
  bool in_default = path_service_sid.empty();
  return std::visit(
    [&](const auto& x) -> nlohmann::json {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, actors::account_config_ref>) {
        return x.view == actors::cv_view::webhooks ? cv::account_webhooks_json(x.config, ctx)
                                                   : cv::to_json(x.config, ctx);
      } else if constexpr (std::is_same_v<T, actors::service_ref>) {
        switch (x.view) {
          case actors::cv_view::configuration: return cv::service_configuration_json(x.service, ctx);
          case actors::cv_view::webhooks: return cv::service_webhooks_json(x.service, ctx);
          default: return cv::to_json(x.service, ctx);
        }
      } else if constexpr (std::is_same_v<T, actors::receipt_ref>) {
        return cv::to_json(x.receipt, x.message, ctx, in_default);
      } else if constexpr (std::is_same_v<T, cv::conversation_webhook>) {
        return cv::to_json(x, ctx, in_default, path_service_sid);
      } else if constexpr (std::is_same_v<T, cv::address_configuration>) {
        return cv::to_json(x, ctx);
      } else {
        return cv::to_json(x, ctx, in_default);
      }
    },
    r);
}

http_response render_cv(const cv_job& job, actors::cv_reply& reply) {
  http_response out;
  if (auto* err = std::get_if<model::error>(&reply.value))
    return error_response(model::http_status(err->kind), err->code, err->message);
  // A gateway's callback: an empty TwiML answer (nothing to send back).
  if (job.call.op == actors::cv_op::inbound_message || job.call.op == actors::cv_op::delivery_status) {
    out.content_type = "text/xml";
    out.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";
    return out;
  }
  if (std::holds_alternative<std::monostate>(reply.value)) {
    out.status = 204;
    out.content_type.clear();
    return out;
  }
  if (auto* r = std::get_if<actors::cv_resource>(&reply.value)) {
    out.status = reply.created ? 201 : 200;
    out.body = model::json_text(render_cv_resource(*r, job.base, job.call.service_sid));
    return out;
  }
  auto& page = std::get<actors::cv_page>(reply.value);
  auto items = nlohmann::json::array();
  for (auto& item : page.items)
    items.push_back(render_cv_resource(item, job.base, job.call.service_sid));
  out.body = page_body(job, std::move(items), page.has_more);
  return out;
}

// Counts an answer the adapter gives without an actor.
void count_answer(const metrics::registry& metrics, const char* route, boost::beast::http::verb method,
                  unsigned status) {
  if (auto* fam = metrics.http().requests)
    fam->Add({{"route", route}, {"method", method_name(method)}, {"status", std::to_string(status)}}).Increment();
}

http_response not_allowed(const char* allow) {
  auto r = error_response(405, 20004, "Method not allowed");
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Sends a job's call to target and answers the job with render(job, reply),
// or 503 when no answer comes in time.
template <class Reply, class Call, class Job, class Render>
void carry(bridge_ptr self, const caf::actor& target, Call call, std::shared_ptr<Job> job, Render render) {
  ask<Reply>(self, target, std::move(call), job, [=](Reply& reply) { finish(self, *job, render(*job, reply)); });
}

caf::behavior cv_bridge_actor(caf::stateful_actor<bridge_state>* self, caf::actor root,
                              std::chrono::seconds timeout, metrics::http_families families) {
  init_bridge(self, std::move(root), timeout, families);
  return {
    [=](std::shared_ptr<cv_job>& job) {
      auto target = job->target ? job->target : self->state.directory;
      // The call goes on moved, not copied (its form can be large); the
      // job keeps what rendering reads: the op, the service, the page.
      auto call = std::move(job->call);
      job->call = actors::cv_call{};
      job->call.op = call.op;
      job->call.service_sid = call.service_sid;
      job->call.page = call.page;
      carry<actors::cv_reply>(self, target, std::move(call), job, render_cv);
    },
    [=](sweep_atom) { sweep(self); },
  };
}

http_response render_media(const media_job& job, actors::media_reply& reply) {
  http_response out;
  if (auto early = error_or_no_content(reply.value))
    return std::move(*early);
  auto& m = std::get<model::cv::media>(reply.value);
  if (job.call.op == actors::media_op::content || job.call.op == actors::media_op::signed_content) {
    // The whole file in one string: fine up to the upload limit, not a stream.
    out.content_type = m.content_type;
    out.body = std::move(reply.content);
    return out;
  }
  auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count() +
                 model::cv::media_direct_url_ttl_s;
  auto direct = job.auth_token.empty()
                  ? std::string()
                  : model::cv::media_content_url(job.direct_base, job.auth_token, m.sid, expires);
  out.status = reply.created ? 201 : 200;
  out.body = model::json_text(model::cv::to_json(m, job.base, direct));
  return out;
}

caf::behavior media_bridge_actor(caf::stateful_actor<bridge_state>* self, caf::actor media,
                                 std::chrono::seconds timeout, metrics::http_families families) {
  init_bridge(self, std::move(media), timeout, families);
  return {
    [=](std::shared_ptr<media_job>& job) {
      // The call may hold a whole upload: moved, not copied; render looks
      // only at its op.
      auto call = std::move(job->call);
      job->call = actors::media_call{};
      job->call.op = call.op;
      carry<actors::media_reply>(self, self->state.directory, std::move(call), job, render_media);
    },
    [=](sweep_atom) { sweep(self); },
  };
}

// A key as the 2010 API writes it: RFC 2822 dates; the secret only when
// the key was just created.
nlohmann::json key_json(const model::api_key& k) {
  nlohmann::json j{{"sid", k.sid},
                   {"friendly_name", k.friendly_name},
                   {"date_created", model::rfc2822(k.created)},
                   {"date_updated", model::rfc2822(k.updated)}};
  if (!k.secret.empty())
    j["secret"] = k.secret;
  return j;
}

http_response render_key(const key_job& job, actors::key_reply& reply) {
  http_response out;
  if (auto early = error_or_no_content(reply.value))
    return std::move(*early);
  if (auto* k = std::get_if<model::api_key>(&reply.value)) {
    out.status = reply.created ? 201 : 200;
    out.body = model::json_text(key_json(*k));
    return out;
  }
  // The 2010 API's page: URIs relative to the API's host, start and end.
  auto& page = std::get<actors::key_page>(reply.value);
  auto size = job.call.page.size;
  auto page_no = job.call.page.offset / size;
  auto uri = [&](std::size_t n) {
    return "/2010-04-01/Accounts/" + job.account_sid + "/Keys.json?PageSize=" + std::to_string(size) +
           "&Page=" + std::to_string(n);
  };
  nlohmann::json items = nlohmann::json::array();
  for (auto& k : page.items)
    items.push_back(key_json(k));
  nlohmann::json body{{"keys", std::move(items)},
                      {"first_page_uri", uri(0)},
                      {"uri", uri(page_no)},
                      {"previous_page_uri", page_no > 0 ? nlohmann::json(uri(page_no - 1)) : nlohmann::json()},
                      {"next_page_uri", page.has_more ? nlohmann::json(uri(page_no + 1)) : nlohmann::json()},
                      {"page", page_no},
                      {"page_size", size},
                      {"start", job.call.page.offset},
                      {"end", job.call.page.offset + (page.items.empty() ? 0 : page.items.size() - 1)}};
  out.body = model::json_text(body);
  return out;
}

caf::behavior key_bridge_actor(caf::stateful_actor<bridge_state>* self, caf::actor keys,
                               std::chrono::seconds timeout, metrics::http_families families) {
  init_bridge(self, std::move(keys), timeout, families);
  return {
    [=](std::shared_ptr<key_job>& job) {
      carry<actors::key_reply>(self, self->state.directory, job->call, job, render_key);
    },
    [=](sweep_atom) { sweep(self); },
  };
}

// A Flex resource in wire form; an ongoing interaction (the supervisors'
// list) carries its channel, participants and tasks.
nlohmann::json render_ix_resource(const actors::ix_resource& r, const std::string& base) {
  namespace flex = model::flex;
  return std::visit(
    [&](const auto& x) -> nlohmann::json {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, actors::ix_participant_ref>) {
        return flex::to_json(x.participant, x.channel, base);
      } else if constexpr (std::is_same_v<T, actors::ix_invite_ref>) {
        return flex::to_json(x.invite, x.channel, base);
      } else if constexpr (std::is_same_v<T, actors::ix_web_chat>) {
        return nlohmann::json{{"conversation_sid", x.conversation_sid}, {"identity", x.identity}, {"token", x.token}};
      } else if constexpr (std::is_same_v<T, actors::ix_overview>) {
        auto j = flex::to_json(x.interaction, base);
        auto ch = flex::to_json(x.channel, base);
        ch["conversation_sid"] = x.channel.conversation_sid;
        ch["initiated_by"] = x.channel.initiated_by;
        auto parts = nlohmann::json::array();
        for (auto& p : x.channel.participants)
          parts.push_back(flex::to_json(p, x.channel, base));
        ch["participants"] = std::move(parts);
        auto tasks = nlohmann::json::array();
        for (auto& t : x.channel.tasks)
          tasks.push_back({{"task_sid", t.task_sid},
                           {"workspace_sid", t.workspace_sid},
                           {"assignment_status", t.status},
                           {"worker_sid", t.worker_sid.empty() ? nlohmann::json() : nlohmann::json(t.worker_sid)},
                           {"reservation_sid",
                            t.reservation_sid.empty() ? nlohmann::json() : nlohmann::json(t.reservation_sid)},
                           {"invite_sid", t.invite_sid.empty() ? nlohmann::json() : nlohmann::json(t.invite_sid)}});
        ch["tasks"] = std::move(tasks);
        j["channel_details"] = std::move(ch);
        return j;
      } else {
        return flex::to_json(x, base);
      }
    },
    r);
}

http_response render_ix(const ix_job& job, actors::ix_reply& reply) {
  http_response out;
  if (auto early = error_or_no_content(reply.value))
    return std::move(*early);
  if (auto* r = std::get_if<actors::ix_resource>(&reply.value)) {
    out.status = reply.created ? 201 : 200;
    out.body = model::json_text(render_ix_resource(*r, job.base));
    return out;
  }
  auto& page = std::get<actors::ix_page>(reply.value);
  auto items = nlohmann::json::array();
  for (auto& item : page.items)
    items.push_back(render_ix_resource(item, job.base));
  out.body = page_body(job, std::move(items), page.has_more);
  return out;
}

caf::behavior ix_bridge_actor(caf::stateful_actor<bridge_state>* self, caf::actor root,
                              std::chrono::seconds timeout, metrics::http_families families) {
  init_bridge(self, std::move(root), timeout, families);
  return {
    [=](std::shared_ptr<ix_job>& job) {
      carry<actors::ix_reply>(self, self->state.directory, job->call, job, render_ix);
    },
    [=](sweep_atom) { sweep(self); },
  };
}

nlohmann::json render_st_resource(const actors::st_resource& r, const std::string& base, actors::st_view view) {
  namespace studio = model::studio;
  return std::visit(
    [&](const auto& x) -> nlohmann::json {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, actors::st_valid>) {
        return nlohmann::json{{"valid", true}};
      } else if constexpr (std::is_same_v<T, studio::execution>) {
        return view == actors::st_view::context ? studio::execution_context_json(x, base) : studio::to_json(x, base);
      } else if constexpr (std::is_same_v<T, studio::step>) {
        return view == actors::st_view::context ? studio::step_context_json(x, base) : studio::to_json(x, base);
      } else {
        return studio::to_json(x, base);
      }
    },
    r);
}

http_response render_st(const st_job& job, actors::st_reply& reply) {
  http_response out;
  if (auto early = error_or_no_content(reply.value))
    return std::move(*early);
  if (auto* r = std::get_if<actors::st_resource>(&reply.value)) {
    // Validate answers 200, as Twilio's does.
    out.status = reply.created ? 201 : 200;
    out.body = model::json_text(render_st_resource(*r, job.base, reply.view));
    return out;
  }
  auto& page = std::get<actors::st_page>(reply.value);
  auto items = nlohmann::json::array();
  for (auto& item : page.items)
    items.push_back(render_st_resource(item, job.base, actors::st_view::plain));
  out.body = page_body(job, std::move(items), page.has_more);
  return out;
}

caf::behavior st_bridge_actor(caf::stateful_actor<bridge_state>* self, caf::actor root,
                              std::chrono::seconds timeout, metrics::http_families families) {
  init_bridge(self, std::move(root), timeout, families);
  return {
    [=](std::shared_ptr<st_job>& job) {
      carry<actors::st_reply>(self, self->state.directory, job->call, job, render_st);
    },
    [=](sweep_atom) { sweep(self); },
  };
}

} // namespace

app::app(caf::actor_system& sys, caf::actor directory, const metrics::registry& metrics,
         app_config cfg)
    : sys_(sys), directory_(std::move(directory)), metrics_(metrics), cfg_(std::move(cfg)) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, cfg_.bridges); ++i)
    bridges_.push_back(
      sys_.spawn(bridge_actor, directory_, cfg_.store, cfg_.actor_timeout, metrics_.http()));
  if (cfg_.conversations)
    for (std::size_t i = 0; i < std::max<std::size_t>(1, cfg_.bridges); ++i)
      cv_bridges_.push_back(sys_.spawn(cv_bridge_actor, cfg_.conversations, cfg_.actor_timeout, metrics_.http()));
  if (cfg_.media)
    for (std::size_t i = 0; i < std::max<std::size_t>(1, cfg_.bridges); ++i)
      media_bridges_.push_back(sys_.spawn(media_bridge_actor, cfg_.media, cfg_.actor_timeout, metrics_.http()));
  if (cfg_.keys)
    key_bridges_.push_back(sys_.spawn(key_bridge_actor, cfg_.keys, cfg_.actor_timeout, metrics_.http()));
  if (cfg_.interactions)
    for (std::size_t i = 0; i < std::max<std::size_t>(1, cfg_.bridges / 2); ++i)
      ix_bridges_.push_back(sys_.spawn(ix_bridge_actor, cfg_.interactions, cfg_.actor_timeout, metrics_.http()));
  if (cfg_.studio)
    for (std::size_t i = 0; i < std::max<std::size_t>(1, cfg_.bridges / 2); ++i)
      st_bridges_.push_back(sys_.spawn(st_bridge_actor, cfg_.studio, cfg_.actor_timeout, metrics_.http()));
}

app::~app() { stop(); }

void app::stop() {
  for (auto& b : bridges_)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  bridges_.clear();
  for (auto& b : cv_bridges_)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  cv_bridges_.clear();
  for (auto& b : media_bridges_)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  media_bridges_.clear();
  for (auto& b : ix_bridges_)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  ix_bridges_.clear();
  for (auto& b : st_bridges_)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  st_bridges_.clear();
  for (auto& b : key_bridges_)
    caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  key_bridges_.clear();
}

bool app::takes_large_body(boost::beast::http::verb method, std::string_view target, std::string_view authorization) const {
  return is_media_upload(method, target) && authenticate(std::string(authorization)) != nullptr;
}

const account* app::authenticate(const std::string& authorization) const {
  // The scheme name is case-insensitive (RFC 9110).
  constexpr std::string_view prefix = "basic ";
  if (authorization.size() <= prefix.size() || !starts_with_nocase(authorization, prefix))
    return nullptr;
  auto decoded = model::base64_decode(std::string_view(authorization).substr(prefix.size())).value_or("");
  auto colon = decoded.find(':');
  if (colon == std::string::npos)
    return nullptr;
  auto user = std::string_view(decoded).substr(0, colon);
  auto pass = std::string_view(decoded).substr(colon + 1);
  for (auto& a : cfg_.accounts)
    if (a.sid == user && model::constant_time_equal(a.auth_token, pass))
      return &a;
  return nullptr;
}

void app::handle_edge(http_request&& req, std::string_view path, std::string_view query, responder respond) {
  auto start = clock_type::now();
  const char* pattern = path == "/edge/inbound" ? "/edge/inbound" : "/edge/status";
  auto answer = [&](http_response r) {
    count_answer(metrics_, pattern, req.method, r.status);
    respond(std::move(r));
  };
  if (req.method != boost::beast::http::verb::post)
    return answer(not_allowed("POST"));
  if (!cfg_.conversations)
    return answer(error_response(404, 20404, "The requested resource " + std::string(path) + " was not found"));
  if (!req.body.empty() && !starts_with_nocase(req.content_type, "application/x-www-form-urlencoded"))
    return answer(error_response(400, 20001, "Content-Type must be application/x-www-form-urlencoded"));
  auto form = model::form::parse(req.body);
  auto q = model::form::parse(query);
  if (!form || !q)
    return answer(error_response(400, 20001, (!form ? form.err() : q.err()).message));
  for (auto* f : {&*form, &*q})
    if (auto bad = f->first_not_utf8())
      return answer(error_response(400, 20001, "Parameter " + *bad + " is not valid UTF-8"));
  // Which account: Basic credentials, or the form's AccountSid with a
  // signature made with that account's auth token over the URL called.
  const account* acct = nullptr;
  auto form_account = form->get("AccountSid").value_or("");
  if (!req.authorization.empty()) {
    acct = authenticate(req.authorization);
    if (!acct || (!form_account.empty() && form_account != acct->sid)) {
      auto r = error_response(401, 20003, "Authentication Error - invalid username or password");
      r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Twilio API\"");
      return answer(std::move(r));
    }
  } else {
    for (auto& a : cfg_.accounts)
      if (a.sid == form_account)
        acct = &a;
    if (!acct || req.twilio_signature.empty())
      return answer(error_response(401, 20003,
                                   "A gateway's request needs X-Twilio-Signature and the AccountSid it was signed for"));
    std::string base = cfg_.edge_base;
    if (base.empty())
      base = (req.forwarded_proto.empty() ? std::string("http") : req.forwarded_proto) + "://" +
             (req.forwarded_host.empty() ? req.host : req.forwarded_host);
    auto expected = model::twilio_signature(acct->auth_token, base + req.target, form->pairs());
    if (!model::constant_time_equal(expected, req.twilio_signature))
      return answer(error_response(403, 20003, "X-Twilio-Signature does not match the request"));
  }
  if (cfg_.writable && !cfg_.writable->load(std::memory_order_acquire))
    return answer(store_unavailable());
  auto job = std::make_shared<cv_job>();
  job->pattern = pattern;
  job->method = "POST";
  job->path = std::string(path);
  job->respond = std::move(respond);
  job->start = start;
  job->base = cfg_.conversations_base;
  job->target = cfg_.conversations;
  auto& call = job->call;
  call.account_sid = acct->sid;
  call.params = std::move(*form);
  if (path == "/edge/inbound") {
    call.op = actors::cv_op::inbound_message;
  } else {
    call.op = actors::cv_op::delivery_status;
    call.conversation = q->get("ConversationSid").value_or("");
    call.sid = q->get("MessageSid").value_or("");
    call.sub_sid = q->get("ParticipantSid").value_or("");
    if (!model::is_sid(call.conversation, "CH") || !model::is_sid(call.sid, "IM") ||
        !model::is_sid(call.sub_sid, "MB")) {
      job->respond(error_response(400, 20001,
                                  "A status callback URL names ConversationSid, MessageSid (IM) and ParticipantSid"));
      return;
    }
  }
  auto& bridge = next_of(cv_bridges_);
  caf::anon_send(bridge, std::move(job));
}

std::string app::request_base(const http_request& req) const {
  if (!cfg_.edge_base.empty())
    return cfg_.edge_base;
  return (req.forwarded_proto.empty() ? std::string("http") : req.forwarded_proto) + "://" +
         (req.forwarded_host.empty() ? req.host : req.forwarded_host);
}

void app::handle_media(http_request&& req, media_route_match&& route, std::string_view query, responder respond) {
  auto start = clock_type::now();
  auto answer = [&](http_response r) {
    if (auto* fam = metrics_.http().requests)
      fam->Add({{"route", route.pattern}, {"method", method_name(req.method)}, {"status", std::to_string(r.status)}})
        .Increment();
    respond(std::move(r));
  };
  const account* acct = authenticate(req.authorization);
  if (!acct) {
    auto r = error_response(401, 20003, "Authentication Error - invalid username or password");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Twilio API\"");
    return answer(std::move(r));
  }
  bool change = route.op == actors::media_op::upload || route.op == actors::media_op::remove;
  if (change && cfg_.writable && !cfg_.writable->load(std::memory_order_acquire))
    return answer(store_unavailable());
  auto q = model::form::parse(query);
  if (!q)
    return answer(error_response(400, 20001, q.err().message));
  auto job = std::make_shared<media_job>();
  job->pattern = route.pattern;
  job->method = method_name(req.method);
  job->base = cfg_.conversations_base;
  job->path = std::string(req.target.substr(0, req.target.find('?')));
  job->start = start;
  job->direct_base = request_base(req);
  job->auth_token = acct->auth_token;
  auto& call = job->call;
  call.op = route.op;
  call.account_sid = acct->sid;
  call.service_sid = std::move(route.service_sid);
  call.sid = std::move(route.sid);
  if (call.op == actors::media_op::upload) {
    // The file name: the Filename query parameter, else Content-Disposition's.
    if (auto f = q->get("Filename"))
      call.filename = *f;
    else if (auto d = model::cv::content_disposition_filename(req.content_disposition))
      call.filename = *d;
    call.content_type = std::move(req.content_type);
    call.content = std::move(req.body);
  }
  job->respond = std::move(respond);
  auto& bridge = next_of(media_bridges_);
  caf::anon_send(bridge, std::move(job));
}

// /2010-04-01/Accounts/{AC}/Keys.json (GET list, POST create) and
// /2010-04-01/Accounts/{AC}/Keys/{SK}.json (GET, POST update, DELETE).
void app::handle_keys(http_request&& req, std::string_view path, std::string_view query, responder respond) {
  using boost::beast::http::verb;
  auto start = clock_type::now();
  auto rest = path.substr(21); // after /2010-04-01/Accounts/
  auto slash = rest.find('/');
  std::string_view path_account = rest.substr(0, slash);
  std::string_view tail = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  std::string_view sid;
  const char* pattern = nullptr;
  std::string allowed;
  if (tail == "/Keys.json") {
    pattern = "/2010-04-01/Accounts/{AccountSid}/Keys.json";
    allowed = "GET, POST";
  } else if (tail.substr(0, 6) == "/Keys/" && tail.size() > 11 && tail.substr(tail.size() - 5) == ".json") {
    pattern = "/2010-04-01/Accounts/{AccountSid}/Keys/{Sid}.json";
    allowed = "GET, POST, DELETE";
    sid = tail.substr(6, tail.size() - 11);
  }
  auto answer = [&](http_response r) {
    count_answer(metrics_, pattern ? pattern : "unmatched", req.method, r.status);
    respond(std::move(r));
  };
  if (!pattern)
    return answer(error_response(404, 20404, "The requested resource " + std::string(path) + " was not found"));
  bool list = sid.empty();
  bool ok_method = req.method == verb::get || req.method == verb::post || (!list && req.method == verb::delete_);
  if (!ok_method) {
    auto r = error_response(405, 20004, "Method not allowed");
    r.headers.emplace_back("Allow", allowed);
    return answer(std::move(r));
  }
  const account* acct = authenticate(req.authorization);
  if (!acct) {
    auto r = error_response(401, 20003, "Authentication Error - invalid username or password");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Twilio API\"");
    return answer(std::move(r));
  }
  // Another account's path answers as an absent resource does.
  if (path_account != acct->sid || (!list && !model::is_sid(sid, "SK")))
    return answer(error_response(404, 20404, "The requested resource " + std::string(path) + " was not found"));
  bool change = req.method != verb::get;
  if (change && cfg_.writable && !cfg_.writable->load(std::memory_order_acquire))
    return answer(store_unavailable());
  if (!req.body.empty() && !starts_with_nocase(req.content_type, "application/x-www-form-urlencoded"))
    return answer(error_response(415, 20001, "Content-Type must be application/x-www-form-urlencoded"));
  auto q = model::form::parse(query);
  auto body = model::form::parse(req.body);
  if (!q || !body)
    return answer(error_response(400, 20001, (!q ? q.err() : body.err()).message));
  auto job = std::make_shared<key_job>();
  job->pattern = pattern;
  job->method = method_name(req.method);
  job->start = start;
  job->account_sid = acct->sid;
  auto& call = job->call;
  call.account_sid = acct->sid;
  call.sid = std::string(sid);
  if (list && req.method == verb::get) {
    auto size = q->get_int("PageSize", 1, 1000);
    auto page_no = q->get_int("Page", 0, 1000000);
    if (!size || !page_no)
      return answer(error_response(400, 20001, (!size ? size.err() : page_no.err()).message));
    call.page.size = static_cast<std::size_t>(size->value_or(50));
    call.page.offset = static_cast<std::size_t>(page_no->value_or(0)) * call.page.size;
    call.op = actors::key_op::list;
  } else if (list) {
    call.op = actors::key_op::create;
  } else {
    call.op = req.method == verb::get ? actors::key_op::fetch
              : req.method == verb::post ? actors::key_op::update
                                         : actors::key_op::remove;
  }
  call.params = std::move(*body);
  job->respond = std::move(respond);
  caf::anon_send(next_of(key_bridges_), std::move(job));
}

void app::handle_media_edge(http_request&& req, std::string_view path, std::string_view query, responder respond) {
  constexpr const char* pattern = "/edge/media/{Sid}";
  auto answer = [&](http_response r) {
    count_answer(metrics_, pattern, req.method, r.status);
    respond(std::move(r));
  };
  if (req.method != boost::beast::http::verb::get)
    return answer(not_allowed("GET"));
  auto sid = path.substr(std::string_view("/edge/media/").size());
  if (!cfg_.media || !model::is_sid(sid, "ME"))
    return answer(error_response(404, 20404, "The requested resource " + std::string(path) + " was not found"));
  std::optional<long long> expires;
  std::optional<std::string> signature;
  if (auto q = model::form::parse(query)) {
    if (auto e = q->get_int("Expires", 0, std::numeric_limits<long long>::max()); e && *e)
      expires = **e;
    signature = q->get("Signature");
  }
  if (!expires || !signature)
    return answer(error_response(403, 20003, "The media URL is invalid or has expired"));
  auto job = std::make_shared<media_job>();
  job->pattern = pattern;
  job->method = "GET";
  job->path = std::string(path);
  job->start = clock_type::now();
  job->call.op = actors::media_op::signed_content;
  job->call.sid = std::string(sid);
  job->call.expires_unix = static_cast<std::int64_t>(*expires);
  job->call.signature = *signature;
  job->respond = std::move(respond);
  auto& bridge = next_of(media_bridges_);
  caf::anon_send(bridge, std::move(job));
}

void app::handle(http_request&& req, responder respond) {
  auto start = clock_type::now();
  std::string_view target = req.target;
  auto qpos = target.find('?');
  std::string_view path = target.substr(0, qpos);
  std::string_view query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);

  auto count_direct = [&](const char* route, unsigned status) {
    if (auto* fam = metrics_.http().requests)
      fam->Add({{"route", route}, {"method", method_name(req.method)}, {"status", std::to_string(status)}})
        .Increment();
  };

  if (path == "/healthz" && req.method == boost::beast::http::verb::get) {
    respond(http_response{200, "application/json", R"({"status":"ok"})", {}});
    return;
  }
  if (path == "/metrics" && req.method == boost::beast::http::verb::get) {
    respond(http_response{200, "text/plain; version=0.0.4", metrics_.serialize(), {}});
    return;
  }
  if (path == "/edge/inbound" || path == "/edge/status") {
    handle_edge(std::move(req), path, query, std::move(respond));
    return;
  }
  if (path.substr(0, 12) == "/edge/media/") {
    handle_media_edge(std::move(req), path, query, std::move(respond));
    return;
  }
  if (cfg_.keys && path.substr(0, 21) == "/2010-04-01/Accounts/") {
    handle_keys(std::move(req), path, query, std::move(respond));
    return;
  }
  // Media Content Service paths, as on mcs.twilio.com or under /mcs or
  // /conversations; routed before the form-body check (the body is a file).
  std::string media_allowed;
  if (cfg_.media) {
    auto media_path = path;
    for (std::string_view prefix : {"/mcs", "/conversations"})
      if (media_path.substr(0, prefix.size()) == prefix && media_path.substr(prefix.size(), 4) == "/v1/") {
        media_path.remove_prefix(prefix.size());
        break;
      }
    if (auto m = match_media(req.method, media_path, media_allowed)) {
      handle_media(std::move(req), std::move(*m), query, std::move(respond));
      return;
    }
  }
  // Product prefix: /taskrouter/v1/... is the same as /v1/... on taskrouter's host.
  if (path.substr(0, 11) == "/taskrouter")
    path.remove_prefix(11);

  std::string allowed;
  auto route = match_taskrouter(req.method, path, allowed);
  std::optional<cv_route_match> cv_route;
  if (!route && cfg_.conversations) {
    if (path.substr(0, 14) == "/conversations")
      path.remove_prefix(14);
    std::string cv_allowed;
    cv_route = match_conversations(req.method, path, cv_allowed);
    if (allowed.empty())
      allowed = cv_allowed;
  }
  std::optional<ix_route_match> ix_route;
  if (!route && !cv_route && cfg_.interactions) {
    auto flex_path = path;
    if (flex_path.substr(0, 9) == "/flex-api")
      flex_path.remove_prefix(9);
    std::string ix_allowed;
    ix_route = match_flex(req.method, flex_path, ix_allowed);
    if (ix_route)
      path = flex_path;
    else if (allowed.empty())
      allowed = ix_allowed;
  }
  std::optional<st_route_match> st_route;
  if (!route && !cv_route && !ix_route && cfg_.studio) {
    auto studio_path = path;
    if (studio_path.substr(0, 7) == "/studio")
      studio_path.remove_prefix(7);
    std::string st_allowed;
    st_route = match_studio(req.method, studio_path, st_allowed);
    if (st_route)
      path = studio_path;
    else if (allowed.empty())
      allowed = st_allowed;
  }
  if (!route && !cv_route && !ix_route && !st_route) {
    if (allowed.empty())
      allowed = media_allowed;
    if (!allowed.empty()) {
      count_direct("unmatched", 405);
      auto r = error_response(405, 20004, "Method not allowed");
      r.headers.emplace_back("Allow", allowed);
      respond(std::move(r));
    } else {
      count_direct("unmatched", 404);
      respond(error_response(404, 20404, "The requested resource " + std::string(path) + " was not found"));
    }
    return;
  }
  const char* pattern = route      ? route->pattern
                        : cv_route ? cv_route->pattern
                        : ix_route ? ix_route->pattern
                                   : st_route->pattern;
  const char* list_key = route      ? route->list_key
                         : cv_route ? cv_route->list_key
                         : ix_route ? ix_route->list_key
                                    : st_route->list_key;
  const account* acct = authenticate(req.authorization);
  if (!acct) {
    count_direct(pattern, 401);
    auto r = error_response(401, 20003, "Authentication Error - invalid username or password");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Twilio API\"");
    respond(std::move(r));
    return;
  }
  // While the store refuses writes, changes are refused before they touch
  // anything; reads go on.
  bool change = req.method == boost::beast::http::verb::post ||
                req.method == boost::beast::http::verb::delete_;
  if (change && cfg_.writable && !cfg_.writable->load(std::memory_order_acquire)) {
    count_direct(pattern, 503);
    respond(store_unavailable());
    return;
  }
  auto q = model::form::parse(query);
  if (!q) {
    count_direct(pattern, 400);
    respond(error_response(400, 20001, q.err().message));
    return;
  }
  model::form params;
  if (req.method == boost::beast::http::verb::post) {
    if (!req.body.empty() &&
        !starts_with_nocase(req.content_type, "application/x-www-form-urlencoded")) {
      count_direct(pattern, 400);
      respond(error_response(400, 20001, "Content-Type must be application/x-www-form-urlencoded"));
      return;
    }
    auto body = model::form::parse(req.body);
    if (!body) {
      count_direct(pattern, 400);
      respond(error_response(400, 20001, body.err().message));
      return;
    }
    params = std::move(*body);
  } else {
    params = *q;
  }
  // Text is UTF-8 on Twilio's API; other bytes would end up in JSON that
  // cannot be written.
  for (auto* f : {&params, &*q})
    if (auto bad = f->first_not_utf8()) {
      count_direct(pattern, 400);
      respond(error_response(400, 20001, "Parameter " + *bad + " is not valid UTF-8"));
      return;
    }
  // Names starting with "__" are how the workspace passes resolved values to
  // its actors; a client may not smuggle them in.
  for (auto& kv : params.pairs())
    if (kv.first.rfind("__", 0) == 0) {
      count_direct(pattern, 400);
      respond(error_response(400, 20001, "Unknown parameter " + kv.first));
      return;
    }
  actors::page_request page;
  if (list_key) {
    auto size = q->get_int("PageSize", 1, 1000);
    auto page_no = q->get_int("Page", 0, 1000000);
    if (!size || !page_no) {
      count_direct(pattern, 400);
      respond(error_response(400, 20001, (!size ? size.err() : page_no.err()).message));
      return;
    }
    page.size = static_cast<std::size_t>(size->value_or(50));
    page.offset = static_cast<std::size_t>(page_no->value_or(0)) * page.size;
  }
  if (cv_route && actors::address_scoped(cv_route->op) && !cfg_.addresses) {
    count_direct(pattern, 404);
    respond(error_response(404, 20404, "The requested resource " + std::string(path) + " was not found"));
    return;
  }
  job_common common;
  common.pattern = pattern;
  common.list_key = list_key;
  common.method = method_name(req.method);
  common.path = std::string(path);
  common.query = std::move(*q);
  common.respond = std::move(respond);
  common.start = start;
  if (st_route) {
    auto job = std::make_shared<st_job>();
    static_cast<job_common&>(*job) = std::move(common);
    job->base = cfg_.studio_base;
    auto& call = job->call;
    call.op = st_route->op;
    call.account_sid = acct->sid;
    call.flow_sid = std::move(st_route->flow_sid);
    call.sid = std::move(st_route->sid);
    call.sub_sid = std::move(st_route->sub_sid);
    call.params = std::move(params);
    call.page = page;
    caf::anon_send(next_of(st_bridges_), std::move(job));
    return;
  }
  if (ix_route) {
    auto job = std::make_shared<ix_job>();
    static_cast<job_common&>(*job) = std::move(common);
    job->base = cfg_.flex_base;
    auto& call = job->call;
    call.op = ix_route->op;
    call.account_sid = acct->sid;
    call.sid = std::move(ix_route->sid);
    call.channel_sid = std::move(ix_route->channel_sid);
    call.sub_sid = std::move(ix_route->sub_sid);
    call.params = std::move(params);
    call.page = page;
    caf::anon_send(next_of(ix_bridges_), std::move(job));
    return;
  }
  if (cv_route) {
    auto job = std::make_shared<cv_job>();
    static_cast<job_common&>(*job) = std::move(common);
    job->base = cfg_.conversations_base;
    auto& call = job->call;
    call.op = cv_route->op;
    call.account_sid = acct->sid;
    call.service_sid = std::move(cv_route->service_sid);
    call.conversation = std::move(cv_route->conversation);
    call.sid = std::move(cv_route->sid);
    call.sub_sid = std::move(cv_route->sub_sid);
    call.params = std::move(params);
    call.page = page;
    call.webhooks_enabled = req.webhook_enabled == "true";
    job->target = actors::address_scoped(call.op) ? cfg_.addresses : cfg_.conversations;
    auto& bridge = next_of(cv_bridges_);
    caf::anon_send(bridge, std::move(job));
    return;
  }
  auto job = std::make_shared<bridge_job>();
  static_cast<job_common&>(*job) = std::move(common);
  job->base = cfg_.taskrouter_base;
  auto& call = job->call;
  call.op = route->op;
  call.account_sid = acct->sid;
  call.workspace_sid = std::move(route->workspace_sid);
  call.sid = std::move(route->sid);
  call.sub_sid = std::move(route->sub_sid);
  call.if_match = req.if_match;
  call.params = std::move(params);
  call.page = page;
  auto& bridge = next_of(bridges_);
  caf::anon_send(bridge, std::move(job));
}

} // namespace sb::api
