#include "model/interactions.hpp"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "model/sid.hpp"

namespace sb::model::flex {

namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 8> channel_types{"sms",  "whatsapp", "chat", "web",
                                                        "messenger", "gbm", "email", "voice"};

bool one_of(std::string_view v, std::initializer_list<std::string_view> set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

expected<json> parse_object(std::string_view text, std::string_view field) {
  auto doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return invalid_parameter(std::string(field) + " must be a JSON object");
  return doc;
}

// A string member, if present; an error when it is there but not a string.
expected<std::string> string_member(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return std::string();
  if (!it->is_string())
    return invalid_parameter(where + "." + key + " must be a string");
  return it->get<std::string>();
}

expected<std::optional<int>> int_member(const json& obj, const char* key, const std::string& where, long lo,
                                        long hi) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return std::optional<int>();
  long v = 0;
  if (it->is_number_integer()) {
    v = it->get<long>();
  } else if (it->is_string()) {
    auto& s = it->get_ref<const std::string&>();
    std::size_t used = 0;
    try {
      v = std::stol(s, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != s.size())
      return invalid_parameter(where + "." + key + " must be an integer");
  } else {
    return invalid_parameter(where + "." + key + " must be an integer");
  }
  if (v < lo || v > hi)
    return invalid_parameter(where + "." + key + " must be between " + std::to_string(lo) + " and " +
                             std::to_string(hi));
  return std::optional<int>(static_cast<int>(v));
}

bool messaging_type(std::string_view type) { return !one_of(type, {"chat", "web"}); }

} // namespace

expected<channel_spec> parse_channel_spec(std::string_view text) {
  auto doc = parse_object(text, "Channel");
  if (!doc)
    return doc.err();
  channel_spec out;
  auto type = string_member(*doc, "type", "Channel");
  if (!type)
    return type.err();
  if (type->empty())
    return invalid_parameter("Channel.type is required");
  if (std::find(channel_types.begin(), channel_types.end(), *type) == channel_types.end())
    return invalid_parameter("Channel.type " + *type +
                             " is not one of sms, whatsapp, chat, web, messenger, gbm, email, voice");
  if (*type == "voice")
    return invalid_parameter("Channel.type voice is not supported: Switchboard routes messaging channels only");
  out.type = *type;
  auto by = string_member(*doc, "initiated_by", "Channel");
  if (!by)
    return by.err();
  if (!by->empty()) {
    if (!one_of(*by, {"customer", "api", "agent"}))
      return invalid_parameter("Channel.initiated_by must be customer, api or agent");
    out.initiated_by = *by;
  }
  if (auto p = doc->find("properties"); p != doc->end() && !p->is_null()) {
    if (!p->is_object())
      return invalid_parameter("Channel.properties must be an object");
    auto media = string_member(*p, "media_channel_sid", "Channel.properties");
    if (!media)
      return media.err();
    if (!media->empty() && !is_sid(*media, "CH"))
      return invalid_parameter("Channel.properties.media_channel_sid must be a conversation SID (CH...)");
    out.media_channel_sid = *media;
  }
  if (auto ps = doc->find("participants"); ps != doc->end() && !ps->is_null()) {
    if (!ps->is_array())
      return invalid_parameter("Channel.participants must be an array");
    if (ps->size() > 10)
      return invalid_parameter("Channel.participants may hold at most 10 participants");
    for (std::size_t i = 0; i < ps->size(); ++i) {
      auto where = "Channel.participants[" + std::to_string(i) + "]";
      auto& pj = (*ps)[i];
      if (!pj.is_object())
        return invalid_parameter(where + " must be an object");
      party_spec party;
      for (auto [key, dest] : {std::pair{"address", &party.address}, std::pair{"proxy_address", &party.proxy_address},
                               std::pair{"identity", &party.identity}, std::pair{"name", &party.name}}) {
        auto v = string_member(pj, key, where);
        if (!v)
          return v.err();
        *dest = *v;
      }
      if (messaging_type(out.type)) {
        if (party.address.empty() || party.proxy_address.empty())
          return invalid_parameter(where + " needs address and proxy_address on a " + out.type + " channel");
      } else if (party.identity.empty()) {
        if (party.address.empty())
          return invalid_parameter(where + " needs an identity on a " + out.type + " channel");
        party.identity = party.address; // a chat address is the identity
        party.address.clear();
      }
      out.participants.push_back(std::move(party));
    }
  }
  if (out.media_channel_sid.empty() && out.participants.empty())
    return invalid_parameter("Channel needs properties.media_channel_sid or participants");
  if (!out.media_channel_sid.empty() && !out.participants.empty())
    return invalid_parameter("Channel takes properties.media_channel_sid or participants, not both");
  return out;
}

expected<routing_spec> parse_routing_spec(std::string_view text, std::string_view field_name) {
  std::string field(field_name);
  auto doc = parse_object(text, field);
  if (!doc)
    return doc.err();
  auto p = doc->find("properties");
  if (p == doc->end() || !p->is_object())
    return invalid_parameter(field + ".properties must be an object");
  auto where = field + ".properties";
  routing_spec out;
  struct sid_key {
    const char* key;
    const char* prefix;
    std::string* dest;
  };
  std::string task_channel_sid, task_channel_name;
  for (auto& k : {sid_key{"workspace_sid", "WS", &out.workspace_sid}, sid_key{"workflow_sid", "WW", &out.workflow_sid},
                  sid_key{"queue_sid", "WQ", &out.queue_sid}, sid_key{"worker_sid", "WK", &out.worker_sid},
                  sid_key{"task_channel_sid", "TC", &task_channel_sid}}) {
    auto v = string_member(*p, k.key, where);
    if (!v)
      return v.err();
    if (!v->empty() && !is_sid(*v, k.prefix))
      return invalid_parameter(where + "." + k.key + " must be a " + k.prefix + " SID");
    *k.dest = *v;
  }
  auto name = string_member(*p, "task_channel_unique_name", where);
  if (!name)
    return name.err();
  out.task_channel = !task_channel_sid.empty() ? task_channel_sid : *name;
  if (out.workspace_sid.empty())
    return invalid_parameter(where + ".workspace_sid is required");
  auto prio = int_member(*p, "priority", where, 0, 2147483647);
  if (!prio)
    return prio.err();
  out.priority = *prio;
  auto timeout = int_member(*p, "timeout", where, 1, 2592000);
  if (!timeout)
    return timeout.err();
  out.timeout = *timeout;
  if (auto a = p->find("attributes"); a != p->end() && !a->is_null()) {
    if (a->is_object()) {
      out.attributes = a->dump();
    } else if (a->is_string()) {
      auto inner = json::parse(a->get<std::string>(), nullptr, false);
      if (inner.is_discarded() || !inner.is_object())
        return invalid_parameter(where + ".attributes must be a JSON object");
      out.attributes = inner.dump();
    } else {
      return invalid_parameter(where + ".attributes must be a JSON object");
    }
  }
  return out;
}

std::string default_task_channel(std::string_view channel_type) {
  if (channel_type == "sms" || channel_type == "whatsapp")
    return "sms";
  if (channel_type == "email")
    return "email";
  return "chat";
}

const char* to_string(channel_status s) {
  switch (s) {
    case channel_status::setup: return "setup";
    case channel_status::active: return "active";
    case channel_status::failed: return "failed";
    case channel_status::closed: return "closed";
    case channel_status::inactive: return "inactive";
    case channel_status::pause: return "pause";
    case channel_status::transfer: return "transfer";
  }
  return "active";
}

const char* to_string(participant_type t) {
  switch (t) {
    case participant_type::supervisor: return "supervisor";
    case participant_type::customer: return "customer";
    case participant_type::external: return "external";
    case participant_type::agent: return "agent";
    case participant_type::unknown: return "unknown";
  }
  return "unknown";
}

std::optional<participant_type> parse_participant_type(std::string_view s) {
  for (auto t : {participant_type::supervisor, participant_type::customer, participant_type::external,
                 participant_type::agent, participant_type::unknown})
    if (s == to_string(t))
      return t;
  return std::nullopt;
}

const char* to_string(participant_status s) {
  switch (s) {
    case participant_status::active: return "active";
    case participant_status::wrapup: return "wrapup";
    case participant_status::closed: return "closed";
  }
  return "active";
}

bool task_live(const channel_task& t) { return t.status != "completed" && t.status != "canceled"; }

namespace {

std::string interaction_url(const std::string& base, const std::string& sid) {
  return base + "/v1/Interactions/" + sid;
}
std::string channel_url(const std::string& base, const interaction_channel& ch) {
  return interaction_url(base, ch.interaction_sid) + "/Channels/" + ch.sid;
}

json parsed_or_null(const std::string& text) {
  if (text.empty())
    return nullptr;
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

} // namespace

json to_json(const interaction& x, const std::string& base) {
  auto url = interaction_url(base, x.sid);
  return json{{"sid", x.sid},
              {"channel", parsed_or_null(x.channel)},
              {"routing", parsed_or_null(x.routing)},
              {"url", url},
              {"links", {{"channels", url + "/Channels"}}},
              {"interaction_context_sid", x.interaction_context_sid.empty() ? json(nullptr) : json(x.interaction_context_sid)},
              {"webhook_ttid", x.webhook_ttid.empty() ? json(nullptr) : json(x.webhook_ttid)}};
}

json to_json(const interaction_channel& x, const std::string& base) {
  auto url = channel_url(base, x);
  return json{{"sid", x.sid},
              {"interaction_sid", x.interaction_sid},
              {"type", x.type},
              {"status", to_string(x.status)},
              {"error_code", x.error_code ? json(*x.error_code) : json(nullptr)},
              {"error_message", x.error_message.empty() ? json(nullptr) : json(x.error_message)},
              {"url", url},
              {"links", {{"participants", url + "/Participants"}, {"invites", url + "/Invites"}}}};
}

json to_json(const channel_participant& x, const interaction_channel& ch, const std::string& base) {
  json routing = nullptr;
  if (!x.task_sid.empty() || !x.worker_sid.empty()) {
    routing = json::object();
    if (!x.workspace_sid.empty())
      routing["workspace_sid"] = x.workspace_sid;
    if (!x.worker_sid.empty())
      routing["worker_sid"] = x.worker_sid;
    if (!x.task_sid.empty())
      routing["task_sid"] = x.task_sid;
    if (!x.reservation_sid.empty())
      routing["reservation_sid"] = x.reservation_sid;
  }
  json media = json::object();
  if (!x.conversation_participant_sid.empty())
    media["participant_sid"] = x.conversation_participant_sid;
  if (!x.identity.empty())
    media["identity"] = x.identity;
  if (!x.address.empty())
    media["address"] = x.address;
  if (!x.proxy_address.empty())
    media["proxy_address"] = x.proxy_address;
  if (!ch.conversation_sid.empty())
    media["conversation_sid"] = ch.conversation_sid;
  return json{{"sid", x.sid},
              {"type", to_string(x.type)},
              {"status", to_string(x.status)},
              {"interaction_sid", ch.interaction_sid},
              {"channel_sid", ch.sid},
              {"url", channel_url(base, ch) + "/Participants/" + x.sid},
              {"routing_properties", routing},
              {"media_properties", media}};
}

json to_json(const channel_invite& x, const interaction_channel& ch, const std::string& base) {
  return json{{"sid", x.sid},
              {"interaction_sid", ch.interaction_sid},
              {"channel_sid", ch.sid},
              {"routing", parsed_or_null(x.routing)},
              {"url", channel_url(base, ch) + "/Invites/" + x.sid}};
}

json routing_answer(json task) {
  for (auto* key : {"date_created", "date_updated"})
    if (auto it = task.find(key); it != task.end() && it->is_string())
      if (auto t = parse_iso8601(it->get<std::string>()))
        *it = epoch_ms(*t) / 1000;
  return json{{"reservation", nullptr}, {"properties", std::move(task)}};
}

} // namespace sb::model::flex
