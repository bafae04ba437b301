#include "actors/address_actor.hpp"

#include <algorithm>
#include <cctype>

#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = address_actor_type*;
namespace cv = model::cv;

model::time_point now() { return std::chrono::system_clock::now(); }


// The post-action events an auto-created conversation's webhook may fire on.
const std::vector<std::string>& known_filters() {
  static const std::vector<std::string> events = {
    "onMessageAdded",       "onMessageUpdated",      "onMessageRemoved",
    "onConversationUpdated", "onConversationStateUpdated", "onConversationRemoved",
    "onParticipantAdded",   "onParticipantUpdated",  "onParticipantRemoved",
    "onDeliveryUpdated"};
  return events;
}

bool http_url(const std::string& v) {
  std::size_t scheme = v.rfind("https://", 0) == 0 ? 8 : v.rfind("http://", 0) == 0 ? 7 : 0;
  if (scheme == 0 || v.size() == scheme || v[scheme] == '/')
    return false;
  return std::none_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) <= ' '; });
}

// The AutoCreation.* parameters applied to a; then the whole object must be
// consistent (webhook needs its URL, studio its flow).
std::optional<model::error> apply_auto_creation(cv::address_auto_creation& a, const model::form& p) {
  auto next = a;
  auto enabled = p.get_bool("AutoCreation.Enabled");
  if (!enabled)
    return enabled.err();
  if (*enabled)
    next.enabled = **enabled;
  if (auto v = p.get("AutoCreation.Type")) {
    if (*v != "webhook" && *v != "studio" && *v != "default")
      return model::invalid_parameter("AutoCreation.Type must be one of webhook, studio, default");
    next.type = *v;
  }
  if (auto v = p.get("AutoCreation.ConversationServiceSid")) {
    if (!v->empty() && !model::is_sid(*v, "IS"))
      return model::invalid_parameter("AutoCreation.ConversationServiceSid must be a Conversations service SID (IS...)");
    next.conversation_service_sid = *v;
  }
  if (auto v = p.get("AutoCreation.WebhookUrl")) {
    if (!v->empty() && !http_url(*v))
      return model::invalid_parameter("AutoCreation.WebhookUrl must be an http or https URL");
    next.webhook_url = *v;
  }
  if (auto v = p.get("AutoCreation.WebhookMethod")) {
    std::string m = *v;
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (m != "GET" && m != "POST")
      return model::invalid_parameter("AutoCreation.WebhookMethod must be GET or POST");
    next.webhook_method = m;
  }
  if (p.has("AutoCreation.WebhookFilters")) {
    next.webhook_filters.clear();
    for (auto& f : p.all("AutoCreation.WebhookFilters")) {
      if (f.empty())
        continue; // an empty value clears the list
      if (std::find(known_filters().begin(), known_filters().end(), f) == known_filters().end())
        return model::invalid_parameter("AutoCreation.WebhookFilters: " + f +
                                        " is not a Conversations post-action event");
      if (std::find(next.webhook_filters.begin(), next.webhook_filters.end(), f) == next.webhook_filters.end())
        next.webhook_filters.push_back(f);
    }
  }
  if (auto v = p.get("AutoCreation.StudioFlowSid")) {
    if (!v->empty() && !model::is_sid(*v, "FW"))
      return model::invalid_parameter("AutoCreation.StudioFlowSid must be a Studio flow SID (FW...)");
    next.studio_flow_sid = *v;
  }
  if (p.has("AutoCreation.StudioRetryCount")) {
    auto n = p.get_int("AutoCreation.StudioRetryCount", 0, 5);
    if (!n)
      return n.err();
    next.studio_retry_count = **n;
  }
  if (next.type == "webhook" && next.webhook_url.empty())
    return model::invalid_parameter("AutoCreation.Type webhook needs AutoCreation.WebhookUrl");
  if (next.type == "studio" && next.studio_flow_sid.empty())
    return model::invalid_parameter("AutoCreation.Type studio needs AutoCreation.StudioFlowSid");
  a = std::move(next);
  return std::nullopt;
}

std::optional<model::error> check_friendly_name(const model::form& p) {
  if (auto v = p.get("FriendlyName"); v && v->size() > cv::limits::name)
    return model::invalid_parameter("FriendlyName is longer than 256 characters");
  return std::nullopt;
}

model::error missing(const std::string& sid) {
  return model::not_found("The requested resource /Configuration/Addresses/" + sid + " was not found");
}

cv::address_configuration* find(self_ptr self, const cv_call& c) {
  auto it = self->state.configs.find(c.sid);
  if (it == self->state.configs.end() || it->second.account_sid != c.account_sid)
    return nullptr;
  return &it->second;
}

void add(self_ptr self, cv::address_configuration x) {
  auto& st = self->state;
  st.index[{x.account_sid, x.type, x.address}] = x.sid;
  st.order[x.account_sid].push_back(x.sid);
  auto sid = x.sid;
  st.configs.emplace(std::move(sid), std::move(x));
}

cv_reply create(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto& p = c.params;
  if (auto u = p.first_unknown({"Type", "Address", "FriendlyName", "AutoCreation.Enabled", "AutoCreation.Type",
                                "AutoCreation.ConversationServiceSid", "AutoCreation.WebhookUrl",
                                "AutoCreation.WebhookMethod", "AutoCreation.WebhookFilters",
                                "AutoCreation.StudioFlowSid", "AutoCreation.StudioRetryCount", "AddressCountry"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  auto type = p.get("Type");
  if (!type || type->empty())
    return cv_fail(model::invalid_parameter("Type is required"));
  if (!cv::is_address_type(*type))
    return cv_fail(model::invalid_parameter("Type must be one of sms, whatsapp, messenger, gbm, email, rcs, apple, chat"));
  auto given = p.get("Address");
  if (!given || given->empty())
    return cv_fail(model::invalid_parameter("Address is required"));
  auto address = cv::canonical_address(*type, *given);
  if (!address)
    return cv_fail(model::invalid_parameter(
      *type == "sms"        ? "Address must be an E.164 phone number such as +15551234567"
      : *type == "whatsapp" ? "Address must be a WhatsApp number such as whatsapp:+15551234567 or +15551234567"
                            : "Address " + *given + " is not a valid " + *type + " address"));
  if (auto e = check_friendly_name(p))
    return cv_fail(*e);
  cv::address_configuration x;
  if (auto v = p.get("AddressCountry"); v && !v->empty()) {
    if (v->size() != 2 || !std::isalpha(static_cast<unsigned char>((*v)[0])) ||
        !std::isalpha(static_cast<unsigned char>((*v)[1])))
      return cv_fail(model::invalid_parameter("AddressCountry must be an ISO 3166-1 alpha-2 country code such as US"));
    for (char ch : *v)
      x.address_country += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  if (auto e = apply_auto_creation(x.auto_creation, p))
    return cv_fail(*e);
  if (auto it = st.index.find({c.account_sid, *type, *address}); it != st.index.end())
    return cv_fail(model::conflict("An address configuration for " + *type + " address " + *address +
                                   " already exists: " + it->second));
  x.sid = model::make_sid("IG");
  x.account_sid = c.account_sid;
  x.type = *type;
  x.address = *address;
  x.friendly_name = p.get("FriendlyName").value_or("");
  x.created = x.updated = now();
  st.durable.put(x.account_sid, x.sid, store::entity{x});
  add(self, x);
  return cv_one(std::move(x), true);
}

cv_reply list(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto type = c.params.get("Type");
  if (type && !type->empty() && !cv::is_address_type(*type))
    return cv_fail(model::invalid_parameter("Type must be one of sms, whatsapp, messenger, gbm, email, rcs, apple, chat"));
  auto it = st.order.find(c.account_sid);
  if (it == st.order.end())
    return cv_reply{cv_page{}};
  return cv_page_of(
    it->second.begin(), it->second.end(), c.page,
    [&](const std::string& sid) { return !type || type->empty() || st.configs.at(sid).type == *type; },
    [&](const std::string& sid) { return cv_resource{st.configs.at(sid)}; });
}

cv_reply update(self_ptr self, cv::address_configuration& x, const cv_call& c) {
  auto& p = c.params;
  if (auto u = p.first_unknown({"FriendlyName", "AutoCreation.Enabled", "AutoCreation.Type",
                                "AutoCreation.ConversationServiceSid", "AutoCreation.WebhookUrl",
                                "AutoCreation.WebhookMethod", "AutoCreation.WebhookFilters",
                                "AutoCreation.StudioFlowSid", "AutoCreation.StudioRetryCount"}))
    return cv_fail(model::invalid_parameter("Unknown parameter " + *u));
  if (auto e = check_friendly_name(p))
    return cv_fail(*e);
  auto auto_creation = x.auto_creation;
  if (auto e = apply_auto_creation(auto_creation, p))
    return cv_fail(*e);
  x.auto_creation = std::move(auto_creation);
  if (auto v = p.get("FriendlyName"))
    x.friendly_name = *v;
  x.updated = now();
  self->state.durable.put(x.account_sid, x.sid, store::entity{x});
  return cv_one(x);
}

void erase(self_ptr self, const cv::address_configuration& x) {
  auto& st = self->state;
  st.durable.erase("cv_address", x.sid, x.account_sid);
  st.index.erase({x.account_sid, x.type, x.address});
  auto& order = st.order[x.account_sid];
  order.erase(std::remove(order.begin(), order.end(), x.sid), order.end());
  if (order.empty())
    st.order.erase(x.account_sid);
  auto sid = x.sid; // x lives in configs
  st.configs.erase(sid);
}

void handle(self_ptr self, const cv_call& c) {
  auto& st = self->state;
  auto rp = self->make_response_promise<cv_reply>();
  auto done = [&](cv_reply r, bool write) {
    bool ok = !std::holds_alternative<model::error>(r.value);
    st.durable.answer(self, rp, std::move(r), write && ok);
    st.durable.settle(self);
  };
  switch (c.op) {
    case cv_op::address_create:
      return done(create(self, c), true);
    case cv_op::address_list:
      return done(list(self, c), false);
    default:
      break;
  }
  auto* x = find(self, c);
  if (!x)
    return done(cv_fail(missing(c.sid)), false);
  switch (c.op) {
    case cv_op::address_fetch:
      return done(cv_one(*x), false);
    case cv_op::address_update:
      return done(update(self, *x, c), true);
    case cv_op::address_delete:
      erase(self, *x);
      return done(cv_reply{std::monostate{}}, true);
    default:
      break;
  }
  done(cv_fail(model::error{model::errc::internal, 20500, "not an address configuration operation"}), false);
}

} // namespace

caf::behavior address_actor(address_actor_type* self, caf::actor store,
                            std::vector<model::cv::address_configuration> recovered) {
  self->state.durable.set_store(std::move(store));
  for (auto& x : recovered)
    add(self, std::move(x));
  return {
    [=](cv_call& c) { handle(self, c); },
    [=](const address_lookup& q) {
      address_lookup_reply out;
      auto& st = self->state;
      if (auto address = cv::canonical_address(q.type, q.address))
        if (auto it = st.index.find({q.account_sid, q.type, *address}); it != st.index.end())
          out.config = st.configs.at(it->second);
      return out;
    },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, cv_unavailable()); },
  };
}

} // namespace sb::actors
