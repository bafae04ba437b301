#include "model/conversations_json.hpp"

#include <cctype>

namespace sb::model::cv {

namespace {

using json = nlohmann::json;

json nullable(const std::string& s) { return s.empty() ? json() : json(s); }

json nullable_date(const std::optional<time_point>& t) { return t ? json(iso8601(*t)) : json(); }

std::string service_url(const cv_wire& ctx, std::string_view sid) {
  return ctx.base + "/v1/Services/" + std::string(sid);
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

std::string conversations_url(const cv_wire& ctx, std::string_view service_sid, bool in_default_service) {
  return in_default_service ? ctx.base + "/v1/Conversations" : service_url(ctx, service_sid) + "/Conversations";
}

std::string conversation_url(const cv_wire& ctx, std::string_view service_sid,
                             std::string_view conversation_sid, bool in_default_service) {
  return conversations_url(ctx, service_sid, in_default_service) + "/" + std::string(conversation_sid);
}

json to_json(const service& x, const cv_wire& ctx) {
  auto url = service_url(ctx, x.sid);
  json links;
  for (auto [key, path] : {std::pair{"conversations", "/Conversations"}, std::pair{"users", "/Users"},
                           std::pair{"roles", "/Roles"}, std::pair{"bindings", "/Bindings"},
                           std::pair{"configuration", "/Configuration"},
                           std::pair{"participant_conversations", "/ParticipantConversations"}})
    links[key] = url + path;
  return {{"account_sid", x.account_sid},
          {"sid", x.sid},
          {"friendly_name", nullable(x.friendly_name)},
          {"date_created", iso8601(x.created)},
          {"date_updated", iso8601(x.updated)},
          {"url", url},
          {"links", links}};
}

json service_configuration_json(const service& x, const cv_wire& ctx) {
  auto url = service_url(ctx, x.sid) + "/Configuration";
  return {{"chat_service_sid", x.sid},
          {"default_conversation_creator_role_sid", nullable(x.default_conversation_creator_role_sid)},
          {"default_conversation_role_sid", nullable(x.default_conversation_role_sid)},
          {"default_chat_service_role_sid", nullable(x.default_chat_service_role_sid)},
          {"url", url},
          {"links", {{"notifications", url + "/Notifications"}, {"webhooks", url + "/Webhooks"}}},
          {"reachability_enabled", x.reachability_enabled}};
}

json service_webhooks_json(const service& x, const cv_wire& ctx) {
  return {{"account_sid", x.account_sid},
          {"chat_service_sid", x.sid},
          {"pre_webhook_url", nullable(x.webhooks.pre_webhook_url)},
          {"post_webhook_url", nullable(x.webhooks.post_webhook_url)},
          {"filters", x.webhooks.filters},
          {"method", x.webhooks.method},
          {"url", service_url(ctx, x.sid) + "/Configuration/Webhooks"}};
}

json to_json(const account_config& x, const cv_wire& ctx) {
  auto url = ctx.base + "/v1/Configuration";
  json links{{"webhooks", url + "/Webhooks"}};
  if (!x.default_chat_service_sid.empty())
    links["service"] = service_url(ctx, x.default_chat_service_sid);
  return {{"account_sid", x.account_sid},
          {"default_chat_service_sid", nullable(x.default_chat_service_sid)},
          {"default_messaging_service_sid", nullable(x.default_messaging_service_sid)},
          {"default_inactive_timer", nullable(x.default_inactive_timer)},
          {"default_closed_timer", nullable(x.default_closed_timer)},
          {"url", url},
          {"links", links}};
}

json account_webhooks_json(const account_config& x, const cv_wire& ctx) {
  return {{"account_sid", x.account_sid},
          {"method", x.webhooks.method},
          {"filters", x.webhooks.filters},
          {"pre_webhook_url", nullable(x.webhooks.pre_webhook_url)},
          {"post_webhook_url", nullable(x.webhooks.post_webhook_url)},
          {"target", x.webhooks.target},
          {"url", ctx.base + "/v1/Configuration/Webhooks"}};
}

json to_json(const conversation& x, const cv_wire& ctx, bool in_default_service) {
  auto url = conversation_url(ctx, x.chat_service_sid, x.sid, in_default_service);
  auto timers = json::object();
  if (x.date_inactive)
    timers["date_inactive"] = iso8601(*x.date_inactive);
  if (x.date_closed)
    timers["date_closed"] = iso8601(*x.date_closed);
  auto bindings = json::object();
  if (!x.bindings_email_address.empty() || !x.bindings_email_name.empty())
    bindings["email"] = {{"address", nullable(x.bindings_email_address)},
                         {"name", nullable(x.bindings_email_name)}};
  return {{"account_sid", x.account_sid},
          {"chat_service_sid", x.chat_service_sid},
          {"messaging_service_sid", nullable(x.messaging_service_sid)},
          {"sid", x.sid},
          {"friendly_name", nullable(x.friendly_name)},
          {"unique_name", nullable(x.unique_name)},
          {"attributes", x.attributes},
          {"state", to_string(x.state)},
          {"date_created", iso8601(x.created)},
          {"date_updated", iso8601(x.updated)},
          {"timers", timers},
          {"url", url},
          {"links",
           {{"participants", url + "/Participants"},
            {"messages", url + "/Messages"},
            {"webhooks", url + "/Webhooks"}}},
          {"bindings", bindings}};
}

json to_json(const participant& x, const cv_wire& ctx, bool in_default_service) {
  json binding;
  if (!x.binding.type.empty()) {
    binding = {{"type", x.binding.type}};
    if (!x.binding.projected_address.empty()) {
      binding["projected_address"] = x.binding.projected_address;
    } else {
      binding["address"] = nullable(x.binding.address);
      binding["proxy_address"] = nullable(x.binding.proxy_address);
    }
  }
  json j{{"account_sid", x.account_sid},
         {"conversation_sid", x.conversation_sid},
         {"sid", x.sid},
         {"identity", nullable(x.identity)},
         {"attributes", x.attributes},
         {"messaging_binding", binding},
         {"role_sid", nullable(x.role_sid)},
         {"date_created", iso8601(x.created)},
         {"date_updated", iso8601(x.updated)},
         {"url", conversation_url(ctx, x.chat_service_sid, x.conversation_sid, in_default_service) +
                   "/Participants/" + x.sid},
         {"last_read_message_index",
          x.last_read_message_index ? json(*x.last_read_message_index) : json()},
         {"last_read_timestamp", nullable_date(x.last_read_timestamp)}};
  if (!in_default_service)
    j["chat_service_sid"] = x.chat_service_sid;
  return j;
}

json to_json(const message& x, const cv_wire& ctx, bool in_default_service) {
  auto url = conversation_url(ctx, x.chat_service_sid, x.conversation_sid, in_default_service) +
             "/Messages/" + x.sid;
  json media;
  if (!x.media.empty()) {
    media = json::array();
    for (auto& m : x.media)
      media.push_back({{"sid", m.sid},
                       {"category", "media"},
                       {"filename", nullable(m.filename)},
                       {"content_type", m.content_type},
                       {"size", m.size}});
  }
  json delivery;
  if (auto s = summarize(x))
    delivery = {{"total", s->total},     {"sent", s->sent},         {"delivered", s->delivered},
                {"read", s->read},       {"failed", s->failed},     {"undelivered", s->undelivered}};
  json j{{"account_sid", x.account_sid},
         {"conversation_sid", x.conversation_sid},
         {"sid", x.sid},
         {"index", x.index},
         {"author", nullable(x.author)},
         {"body", nullable(x.body)},
         {"media", media},
         {"attributes", x.attributes},
         {"participant_sid", nullable(x.participant_sid)},
         {"date_created", iso8601(x.created)},
         {"date_updated", iso8601(x.updated)},
         {"url", url},
         {"delivery", delivery},
         {"links", {{"delivery_receipts", url + "/Receipts"}, {"channel_metadata", url + "/ChannelMetadata"}}},
         {"content_sid", nullptr}};
  if (!in_default_service)
    j["chat_service_sid"] = x.chat_service_sid;
  return j;
}

json to_json(const receipt& x, const message& m, const cv_wire& ctx, bool in_default_service) {
  json j{{"account_sid", m.account_sid},
         {"conversation_sid", m.conversation_sid},
         {"sid", x.sid},
         {"message_sid", m.sid},
         {"channel_message_sid", nullable(x.channel_message_sid)},
         {"participant_sid", nullable(x.participant_sid)},
         {"status", to_string(x.status)},
         {"error_code", x.error_code ? json(x.error_code) : json()},
         {"date_created", iso8601(x.created)},
         {"date_updated", iso8601(x.updated)},
         {"url", conversation_url(ctx, m.chat_service_sid, m.conversation_sid, in_default_service) +
                   "/Messages/" + m.sid + "/Receipts/" + x.sid}};
  if (!in_default_service)
    j["chat_service_sid"] = m.chat_service_sid;
  return j;
}

json to_json(const conversation_webhook& x, const cv_wire& ctx, bool in_default_service,
             const std::string& chat_service_sid) {
  json config = json::object();
  if (x.target == "studio") {
    config["flow_sid"] = nullable(x.flow_sid);
    if (x.replay_after)
      config["replay_after"] = *x.replay_after;
  } else {
    config["url"] = nullable(x.url);
    config["method"] = lower(x.method);
    config["filters"] = x.filters;
    if (x.target == "trigger" || !x.triggers.empty())
      config["triggers"] = x.triggers;
  }
  json j{{"sid", x.sid},
         {"account_sid", x.account_sid},
         {"conversation_sid", x.conversation_sid},
         {"target", x.target},
         {"url", conversation_url(ctx, chat_service_sid, x.conversation_sid, in_default_service) +
                   "/Webhooks/" + x.sid},
         {"configuration", config},
         {"date_created", iso8601(x.created)},
         {"date_updated", iso8601(x.updated)}};
  if (!in_default_service)
    j["chat_service_sid"] = chat_service_sid;
  return j;
}

json to_json(const address_configuration& x, const cv_wire& ctx) {
  auto& a = x.auto_creation;
  json auto_creation{{"enabled", a.enabled},
                     {"type", a.type},
                     {"conversation_service_sid", nullable(a.conversation_service_sid)}};
  if (a.type == "webhook") {
    auto_creation["webhook_url"] = nullable(a.webhook_url);
    auto_creation["webhook_method"] = a.webhook_method;
    auto_creation["webhook_filters"] = a.webhook_filters;
  } else if (a.type == "studio") {
    auto_creation["studio_flow_sid"] = nullable(a.studio_flow_sid);
    auto_creation["studio_retry_count"] = a.studio_retry_count ? json(*a.studio_retry_count) : json();
  }
  return {{"sid", x.sid},
          {"account_sid", x.account_sid},
          {"type", x.type},
          {"address", x.address},
          {"friendly_name", nullable(x.friendly_name)},
          {"auto_creation", auto_creation},
          {"date_created", iso8601(x.created)},
          {"date_updated", iso8601(x.updated)},
          {"url", ctx.base + "/v1/Configuration/Addresses/" + x.sid},
          {"address_country", nullable(x.address_country)}};
}

} // namespace sb::model::cv
