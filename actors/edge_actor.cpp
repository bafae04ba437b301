#include "actors/edge_actor.hpp"

#include <chrono>
#include <iostream>

#include <nlohmann/json.hpp>

#include "model/form.hpp"
#include "model/media.hpp"
#include "model/signature.hpp"

namespace sb::actors {

namespace {

using self_ptr = edge_actor_type*;
using line_key = std::pair<std::string, std::string>;
using answer_atom = caf::atom_constant<caf::atom("edge_ans")>;
using retry_atom = caf::atom_constant<caf::atom("edge_rty")>;

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + with.size()))
    text.replace(pos, what.size(), with);
  return text;
}

bool has_user_info(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return false;
  auto authority_end = url.find_first_of("/?#", scheme + 3);
  return url.substr(scheme + 3, authority_end - scheme - 3).find('@') != std::string::npos;
}

// Reports the outcome of the front send of a line and starts the next one.
void finish(self_ptr self, const line_key& key, delivery_report report) {
  auto& st = self->state;
  auto it = st.lines.find(key);
  if (it == st.lines.end() || it->second.empty())
    return;
  auto conversation = it->second.front().send.conversation;
  it->second.pop_front();
  self->send(conversation, std::move(report));
  if (it->second.empty())
    st.lines.erase(it);
  else
    self->send(self, retry_atom::value, key.first, key.second); // start the next on this line
}

void fail(self_ptr self, const line_key& key, const edge_send& s, int code) {
  finish(self, key, delivery_report{s.message_sid, s.participant_sid, "", model::cv::delivery_status::failed, code});
}

// Puts the front send of a line on the wire.
void start(self_ptr self, const line_key& key) {
  auto& st = self->state;
  auto it = st.lines.find(key);
  if (it == st.lines.end() || it->second.empty())
    return;
  auto& j = it->second.front();
  auto& s = j.send;
  ++j.attempt;
  auto gw = st.options.gateways.find(s.channel);
  if (gw == st.options.gateways.end() || gw->second.empty()) {
    // Nothing can carry it: the receipt says so rather than the message
    // silently going nowhere.
    return fail(self, key, s, edge_unknown_error);
  }
  std::string token;
  if (st.options.auth_tokens)
    if (auto t = st.options.auth_tokens->find(s.account_sid); t != st.options.auth_tokens->end())
      token = t->second;
  auto url = replace_all(gw->second, "{AccountSid}", s.account_sid);
  model::form_pairs form{{"To", s.to}, {"From", s.from}};
  if (!s.body.empty())
    form.emplace_back("Body", s.body);
  for (auto& m : s.media_urls)
    form.emplace_back("MediaUrl", m);
  // Uploaded media: URLs the gateway can fetch without credentials for a day.
  auto expires = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(24))
                   .count();
  for (auto& sid : s.media_sids)
    form.emplace_back("MediaUrl", model::cv::media_content_url(st.options.status_base, token, sid, expires));
  if (!s.messaging_service_sid.empty())
    form.emplace_back("MessagingServiceSid", s.messaging_service_sid);
  if (!st.options.status_base.empty())
    form.emplace_back("StatusCallback", st.options.status_base + "/edge/status?" +
                                          model::encode_form({{"ConversationSid", s.conversation_sid},
                                                              {"MessageSid", s.message_sid},
                                                              {"ParticipantSid", s.participant_sid}}));
  std::vector<std::pair<std::string, std::string>> headers;
  if (!has_user_info(url) && !token.empty())
    headers.emplace_back("Authorization", "Basic " + model::base64_encode(s.account_sid + ":" + token));
  auto me = caf::actor_cast<caf::actor>(self);
  http_out out;
  out.url = url;
  out.body = model::encode_form(form);
  out.headers = std::move(headers);
  st.transport(std::move(out), [me, key](int status, std::string body) {
    caf::anon_send(me, answer_atom::value, key.first, key.second, status, std::move(body));
  });
}

void on_answer(self_ptr self, const line_key& key, int status, const std::string& body) {
  auto& st = self->state;
  auto it = st.lines.find(key);
  if (it == st.lines.end() || it->second.empty())
    return;
  auto& j = it->second.front();
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (status >= 200 && status < 300) {
    std::string sid;
    if (json.is_object() && json.contains("sid") && json["sid"].is_string())
      sid = json["sid"].get<std::string>();
    // Accepted: the receipt starts at sent; the gateway's callbacks move it on.
    return finish(self, key, delivery_report{j.send.message_sid, j.send.participant_sid, sid,
                                             model::cv::delivery_status::sent, 0});
  }
  bool transient = status == 0 || status == 429 || status >= 500;
  if (transient && j.attempt < st.options.max_attempts) {
    // 1 s, 2 s, 4 s, ...; the line waits (later sends must not overtake).
    self->delayed_send(self, std::chrono::seconds(1 << std::min(j.attempt - 1, 6)), retry_atom::value, key.first,
                       key.second);
    return;
  }
  int code = edge_unknown_error;
  if (json.is_object() && json.contains("code") && json["code"].is_number_integer())
    code = json["code"].get<int>();
  fail(self, key, j.send, code);
}

} // namespace

caf::behavior edge_actor(edge_actor_type* self, edge_options options, http_post_fn transport) {
  self->state.options = std::move(options);
  self->state.transport = std::move(transport);
  return {
    [=](edge_send& s) {
      auto& st = self->state;
      line_key key{s.from, s.to};
      auto& line = st.lines[key];
      line.push_back({std::move(s), 0});
      if (line.size() == 1)
        start(self, key);
    },
    [=](answer_atom, std::string& from, std::string& to, int status, std::string& body) {
      on_answer(self, {from, to}, status, body);
    },
    [=](retry_atom, std::string& from, std::string& to) { start(self, {from, to}); },
    [=](edge_base_atom, std::string& base) { self->state.options.status_base = std::move(base); },
  };
}

} // namespace sb::actors
