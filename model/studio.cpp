#include "model/studio.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace sb::model::studio {

namespace {

using json = nlohmann::json;

json object_or_empty(const std::string& text) {
  if (text.empty())
    return json::object();
  auto j = json::parse(text, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

json nullable(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string flow_url(const std::string& base, const std::string& sid) { return base + "/v2/Flows/" + sid; }

// Twilio gives each contact (an address an account's flows talk to) an FC
// SID; here it is derived from the account and the address, so the same
// contact has the same SID in every execution and after a restart.
std::string contact_sid(const std::string& account, const std::string& address) {
  auto fnv = [](std::uint64_t h, const std::string& text) {
    for (unsigned char c : text)
      h = (h ^ c) * 0x100000001b3ULL;
    return h;
  };
  auto key = account + '\x1f' + address;
  char out[35];
  std::snprintf(out, sizeof out, "FC%016llx%016llx",
                static_cast<unsigned long long>(fnv(0xcbf29ce484222325ULL, key)),
                static_cast<unsigned long long>(fnv(0x84222325cbf29ce4ULL, key)));
  return out;
}
std::string execution_url(const std::string& base, const std::string& flow, const std::string& sid) {
  return flow_url(base, flow) + "/Executions/" + sid;
}

} // namespace

std::string revision_key(const std::string& flow_sid, int revision) {
  return flow_sid + "/" + std::to_string(revision);
}

namespace {

// What a flow and each of its revisions show alike.
template <class F>
json flow_fields(const F& x) {
  return json{{"sid", x.sid},
              {"account_sid", x.account_sid},
              {"author_sid", nullable(x.author_sid)},
              {"friendly_name", x.friendly_name},
              {"definition", object_or_empty(x.definition)},
              {"status", x.status},
              {"revision", x.revision},
              {"commit_message", nullable(x.commit_message)},
              {"valid", true},
              {"errors", json::array()},
              {"date_created", iso8601(x.created)},
              {"date_updated", iso8601(x.updated)}};
}

} // namespace

json to_json(const flow& x, const std::string& base) {
  auto url = flow_url(base, x.sid);
  auto j = flow_fields(x);
  j["warnings"] = json::array();
  j["webhook_url"] = "https://webhooks.twilio.com/v1/Accounts/" + x.account_sid + "/Flows/" + x.sid;
  j["url"] = url;
  j["links"] = {{"test_users", url + "/TestUsers"}, {"revisions", url + "/Revisions"}, {"executions", url + "/Executions"}};
  return j;
}

json to_json(const flow_revision& x, const std::string& base) {
  auto j = flow_fields(x);
  j["url"] = flow_url(base, x.sid) + "/Revisions/" + std::to_string(x.revision);
  return j;
}

json to_json(const execution& x, const std::string& base) {
  auto url = execution_url(base, x.flow_sid, x.sid);
  return json{{"sid", x.sid},
              {"account_sid", x.account_sid},
              {"flow_sid", x.flow_sid},
              {"contact_channel_address", x.contact_channel_address},
              {"contact_sid", x.contact_channel_address.empty() ? json(nullptr) : json(contact_sid(x.account_sid, x.contact_channel_address))},
              {"flow_version", x.flow_revision},
              {"context", object_or_empty(x.context)},
              {"status", x.status},
              {"date_created", iso8601(x.created)},
              {"date_updated", iso8601(x.updated)},
              {"initiated_by", nullable(x.initiated_by)},
              {"url", url},
              {"links", {{"steps", url + "/Steps"}, {"execution_context", url + "/Context"}}}};
}

json execution_context_json(const execution& x, const std::string& base) {
  return json{{"account_sid", x.account_sid},
              {"context", object_or_empty(x.context)},
              {"flow_sid", x.flow_sid},
              {"execution_sid", x.sid},
              {"url", execution_url(base, x.flow_sid, x.sid) + "/Context"}};
}

json to_json(const step& x, const std::string& base) {
  auto url = execution_url(base, x.flow_sid, x.execution_sid) + "/Steps/" + x.sid;
  return json{{"sid", x.sid},
              {"account_sid", x.account_sid},
              {"flow_sid", x.flow_sid},
              {"execution_sid", x.execution_sid},
              {"parent_step_sid", nullptr},
              {"name", x.name},
              {"context", object_or_empty(x.context)},
              {"transitioned_from", x.transitioned_from},
              {"transitioned_to", x.transitioned_to},
              {"type", x.type},
              {"date_created", iso8601(x.created)},
              {"date_updated", iso8601(x.updated)},
              {"url", url},
              {"links", {{"step_context", url + "/Context"}}}};
}

json step_context_json(const step& x, const std::string& base) {
  return json{{"account_sid", x.account_sid},
              {"context", object_or_empty(x.context)},
              {"execution_sid", x.execution_sid},
              {"flow_sid", x.flow_sid},
              {"step_sid", x.sid},
              {"url", execution_url(base, x.flow_sid, x.execution_sid) + "/Steps/" + x.sid + "/Context"}};
}

} // namespace sb::model::studio
