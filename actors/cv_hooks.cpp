#include "actors/cv_hooks.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "actors/cv_messages.hpp"

namespace sb::actors {

namespace {

bool names(const std::vector<std::string>& filters, const std::string& event) {
  return std::find(filters.begin(), filters.end(), event) != filters.end();
}

// Splits "url#ct=1000&rt=2000&rc=3" into the URL to call and its attempts.
webhook_post delivery(const std::string& url, const model::form_pairs& params, const std::string& token,
                      const std::string& conversation_sid) {
  webhook_post p;
  p.params = params;
  p.auth_token = token;
  p.max_attempts = 3;
  auto hash = url.find('#');
  p.url = url.substr(0, hash);
  p.order_key = conversation_sid + ' ' + p.url;
  if (hash != std::string::npos)
    if (auto frag = model::form::parse(std::string_view(url).substr(hash + 1))) {
      if (auto rc = frag->get_int("rc", 0, 5); rc && *rc)
        p.max_attempts = static_cast<int>(**rc) + 1;
      // ct (connect) and rt (read) bound one attempt together.
      auto ct = frag->get_int("ct", 1, 60000);
      auto rt = frag->get_int("rt", 1, 60000);
      if (ct && rt && (*ct || *rt))
        p.timeout = std::chrono::milliseconds(ct->value_or(1000) + rt->value_or(4000));
    }
  return p;
}

} // namespace

std::vector<webhook_post> cv_hook_posts(const std::string& event, const model::form_pairs& params,
                                        const std::vector<model::cv::conversation_webhook>& scoped,
                                        const cv_hook_settings& settings, const std::string& auth_token,
                                        const std::string& conversation_sid) {
  model::form_pairs full;
  full.emplace_back("EventType", event);
  full.insert(full.end(), params.begin(), params.end());
  std::vector<webhook_post> out;
  for (auto& w : scoped)
    if (w.target == "webhook" && !w.url.empty() && names(w.filters, event)) {
      out.push_back(delivery(w.url, full, auth_token, conversation_sid));
      out.back().method = w.method;
    }
  for (auto* s : {&settings.service, &settings.account})
    if (!s->post_webhook_url.empty() && names(s->filters, event)) {
      out.push_back(delivery(s->post_webhook_url, full, auth_token, conversation_sid));
      out.back().method = s->method;
    }
  return out;
}

model::form_pairs cv_event_fields(const model::cv::conversation& c) {
  model::form_pairs f{{"AccountSid", c.account_sid},
                      {"ChatServiceSid", c.chat_service_sid},
                      {"ConversationSid", c.sid},
                      {"Source", "API"},
                      {"FriendlyName", c.friendly_name},
                      {"UniqueName", c.unique_name},
                      {"Attributes", c.attributes},
                      {"State", model::cv::to_string(c.state)},
                      {"DateCreated", model::iso8601(c.created)},
                      {"DateUpdated", model::iso8601(c.updated)}};
  if (!c.messaging_service_sid.empty())
    f.emplace_back("MessagingServiceSid", c.messaging_service_sid);
  return f;
}

model::form_pairs cv_event_fields(const model::cv::conversation& c, const model::cv::participant& p) {
  model::form_pairs f{{"AccountSid", c.account_sid},
                      {"ChatServiceSid", c.chat_service_sid},
                      {"ConversationSid", c.sid},
                      {"Source", "API"},
                      {"ParticipantSid", p.sid},
                      {"Attributes", p.attributes},
                      {"DateCreated", model::iso8601(p.created)}};
  if (!p.identity.empty())
    f.emplace_back("Identity", p.identity);
  if (!p.binding.address.empty()) {
    f.emplace_back("MessagingBinding.Address", p.binding.address);
    f.emplace_back("MessagingBinding.ProxyAddress", p.binding.proxy_address);
  }
  if (!p.role_sid.empty())
    f.emplace_back("RoleSid", p.role_sid);
  return f;
}

model::form_pairs cv_event_fields(const model::cv::conversation& c, const model::cv::message& m) {
  model::form_pairs f{{"AccountSid", c.account_sid},
                      {"ChatServiceSid", c.chat_service_sid},
                      {"ConversationSid", c.sid},
                      {"Source", "API"},
                      {"MessageSid", m.sid},
                      {"Index", std::to_string(m.index)},
                      {"Author", m.author},
                      {"Body", m.body},
                      {"Attributes", m.attributes},
                      {"DateCreated", model::iso8601(m.created)}};
  if (!m.participant_sid.empty())
    f.emplace_back("ParticipantSid", m.participant_sid);
  if (!m.media.empty()) {
    std::string media = "[";
    for (std::size_t i = 0; i < m.media.size(); ++i)
      media += (i ? "," : "") + std::string("{\"Sid\":\"") + m.media[i].sid + "\"}";
    f.emplace_back("Media", media + "]");
  }
  return f;
}

std::optional<cv_pre_hook> cv_pre_hook_for(const std::string& event, const model::form_pairs& params,
                                           const cv_hook_settings& settings, const std::string& auth_token) {
  const model::cv::webhook_settings* chosen = nullptr;
  for (auto* s : {&settings.service, &settings.account})
    if (!chosen && !s->pre_webhook_url.empty() && names(s->filters, event))
      chosen = s;
  if (!chosen)
    return std::nullopt;
  model::form_pairs full;
  full.emplace_back("EventType", event);
  full.insert(full.end(), params.begin(), params.end());
  cv_pre_hook h;
  h.post = delivery(chosen->pre_webhook_url, full, auth_token, "");
  h.post.order_key.clear(); // the caller waits for it: nothing queues behind
  h.post.max_attempts = 1;  // a retry would outlast the timeout
  h.post.method = chosen->method;
  if (h.post.timeout != webhook_post{}.timeout) // the URL's #ct + #rt
    h.timeout = h.post.timeout;
  h.post.timeout = h.timeout;
  return h;
}

void cv_pre_modify(const std::string& event, const std::string& answer, model::form& params) {
  auto doc = nlohmann::json::parse(answer, nullptr, false);
  if (!doc.is_object())
    return;
  static const std::vector<std::pair<const char*, const char*>> message = {
    {"body", "Body"}, {"author", "Author"}, {"attributes", "Attributes"}};
  static const std::vector<std::pair<const char*, const char*>> conversation = {
    {"friendly_name", "FriendlyName"}, {"unique_name", "UniqueName"}, {"attributes", "Attributes"}};
  static const std::vector<std::pair<const char*, const char*>> participant = {
    {"attributes", "Attributes"}, {"role_sid", "RoleSid"}};
  const std::vector<std::pair<const char*, const char*>>* fields = nullptr;
  if (event == "onMessageAdd" || event == "onMessageUpdate")
    fields = &message;
  else if (event == "onConversationAdd" || event == "onConversationUpdate")
    fields = &conversation;
  else if (event == "onParticipantAdd" || event == "onParticipantUpdate")
    fields = &participant;
  if (!fields)
    return;
  for (auto [json_name, form_name] : *fields) {
    auto it = doc.find(json_name);
    if (it == doc.end() || it->is_null())
      continue;
    params.set(form_name, it->is_string() ? it->get<std::string>() : it->dump());
  }
}

const char* cv_pre_event(int op) {
  switch (static_cast<cv_op>(op)) {
    case cv_op::conversation_create: return "onConversationAdd";
    case cv_op::conversation_update: return "onConversationUpdate";
    case cv_op::conversation_delete: return "onConversationRemove";
    case cv_op::participant_create: return "onParticipantAdd";
    case cv_op::participant_update: return "onParticipantUpdate";
    case cv_op::participant_delete: return "onParticipantRemove";
    case cv_op::message_create: case cv_op::inbound_message: return "onMessageAdd";
    case cv_op::message_update: return "onMessageUpdate";
    case cv_op::message_delete: return "onMessageRemove";
    default: return nullptr;
  }
}

} // namespace sb::actors
