#include "actors/cv_hooks.hpp"

#include <algorithm>

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
    if (auto frag = model::form::parse(std::string_view(url).substr(hash + 1)))
      if (auto rc = frag->get_int("rc", 0, 5); rc && *rc)
        p.max_attempts = static_cast<int>(**rc) + 1;
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
    if (w.target == "webhook" && w.method == "POST" && !w.url.empty() && names(w.filters, event))
      out.push_back(delivery(w.url, full, auth_token, conversation_sid));
  for (auto* s : {&settings.service, &settings.account})
    if (!s->post_webhook_url.empty() && s->method == "POST" && names(s->filters, event))
      out.push_back(delivery(s->post_webhook_url, full, auth_token, conversation_sid));
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

} // namespace sb::actors
