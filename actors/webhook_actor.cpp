#include "actors/webhook_actor.hpp"

#include <chrono>

#include "model/signature.hpp"

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<sb::actors::webhook_state::pending>)

namespace sb::actors {

namespace {

constexpr std::size_t max_in_flight = 64;
constexpr std::size_t max_backlog = 10000;

using attempt_result_atom = caf::atom_constant<caf::atom("wh_result")>;
using retry_atom = caf::atom_constant<caf::atom("wh_retry")>;
using stats_atom = caf::atom_constant<caf::atom("wh_stats")>;

void start(webhook_actor_type* self, webhook_state::pending p) {
  auto& st = self->state;
  auto id = st.next_id++;
  ++p.attempt;
  http_out out;
  out.method = p.post.method;
  out.timeout = p.post.timeout;
  out.url = p.post.url;
  if (out.method == "GET") {
    if (!p.post.params.empty())
      out.url += (out.url.find('?') == std::string::npos ? "?" : "&") + model::encode_form(p.post.params);
  } else {
    out.body = model::encode_form(p.post.params);
  }
  if (!p.post.auth_token.empty())
    out.headers.emplace_back("X-Twilio-Signature",
                             out.method == "GET"
                               ? model::twilio_signature(p.post.auth_token, out.url, {})
                               : model::twilio_signature(p.post.auth_token, out.url, p.post.params));
  out.headers.emplace_back("I-Twilio-Idempotency-Token", std::to_string(id));
  st.in_flight.emplace(id, std::move(p));
  auto me = caf::actor_cast<caf::actor>(self);
  st.transport(std::move(out), [me, id](int status, std::string body) {
    caf::anon_send(me, attempt_result_atom::value, id, status, std::move(body));
  });
}

void pump(webhook_actor_type* self) {
  auto& st = self->state;
  while (st.in_flight.size() < max_in_flight && !st.backlog.empty()) {
    auto p = std::move(st.backlog.front());
    st.backlog.pop_front();
    start(self, std::move(p));
  }
}

// A delivery is over (delivered or given up): the next one with its order
// key may leave.
void release_key(webhook_actor_type* self, const std::string& key) {
  if (key.empty())
    return;
  auto& st = self->state;
  auto it = st.ordered.find(key);
  if (it == st.ordered.end())
    return;
  if (it->second.empty()) {
    st.ordered.erase(it);
    return;
  }
  st.backlog.push_back(std::move(it->second.front()));
  it->second.pop_front();
  --st.waiting;
}

} // namespace

caf::behavior webhook_actor(webhook_actor_type* self, http_post_fn transport) {
  self->state.transport = std::move(transport);
  return {
    [=](webhook_post& p) {
      auto& st = self->state;
      if (st.backlog.size() + st.waiting >= max_backlog) {
        ++st.stats.dropped;
        if (p.reply_to)
          self->send(p.reply_to, webhook_done{p.tag, 0, "webhook backlog full"});
        return;
      }
      if (!p.order_key.empty()) {
        auto [it, first] = st.ordered.try_emplace(p.order_key);
        if (!first) { // one with this key is under way: wait behind it
          it->second.push_back({std::move(p), 0});
          ++st.waiting;
          return;
        }
      }
      st.backlog.push_back({std::move(p), 0});
      pump(self);
    },
    [=](attempt_result_atom, std::uint64_t id, int status, std::string& body) {
      auto& st = self->state;
      auto it = st.in_flight.find(id);
      if (it == st.in_flight.end())
        return;
      auto p = std::move(it->second);
      st.in_flight.erase(it);
      bool ok = status >= 200 && status < 300;
      if (!ok && p.attempt < p.post.max_attempts) {
        // Exponential backoff: 1 s, 2 s, 4 s, ...
        auto delay = std::chrono::seconds(1 << std::min(p.attempt - 1, 6));
        self->delayed_send(self, delay, retry_atom::value,
                           std::make_shared<webhook_state::pending>(std::move(p)));
      } else {
        ok ? ++st.stats.delivered : ++st.stats.failed;
        release_key(self, p.post.order_key);
        if (p.post.reply_to)
          self->send(p.post.reply_to, webhook_done{p.post.tag, status, std::move(body)});
      }
      pump(self);
    },
    [=](retry_atom, std::shared_ptr<webhook_state::pending>& p) {
      self->state.backlog.push_front(std::move(*p));
      pump(self);
    },
    [=](stats_atom) { return self->state.stats; },
  };
}

} // namespace sb::actors
