#include "actors/studio_actor.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "model/sid.hpp"

namespace sb::actors {

namespace {

using self_ptr = studio_actor_type*;
using std::chrono::system_clock;
namespace studio = model::studio;

st_reply unavailable() {
  return st_fail(model::error{model::errc::unavailable, 20503,
                              "The change could not be written to disk; the service refuses changes until its "
                              "store accepts writes again"});
}

model::error missing(const std::string& what) {
  return model::not_found("The requested resource " + what + " was not found");
}

studio_state::entry* find(studio_state& st, const std::string& account, const std::string& sid) {
  auto it = st.flows.find(sid);
  return it == st.flows.end() || it->second.flow.account_sid != account ? nullptr : &it->second;
}

// The definition of a create, update or validate: JSON, and a valid flow.
model::expected<std::shared_ptr<const model::flow_definition>> checked_definition(const std::string& text) {
  if (text.size() > 1024 * 1024)
    return model::invalid_parameter("Definition exceeds 1 MB");
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return model::invalid_parameter("Definition must be a JSON object");
  auto flow = model::parse_flow(doc);
  if (!flow)
    return flow.err();
  return std::make_shared<const model::flow_definition>(std::move(*flow));
}

std::optional<model::error> check_fields(const model::form& p, bool create) {
  if (auto u = p.first_unknown({"FriendlyName", "Status", "Definition", "CommitMessage", "AuthorSid"}))
    return model::invalid_parameter("Unknown parameter " + *u);
  auto status = p.get("Status");
  if (!status)
    return model::invalid_parameter("Status is required");
  if (*status != "draft" && *status != "published")
    return model::invalid_parameter("Status must be draft or published");
  if (create && !p.get("Definition"))
    return model::invalid_parameter("Definition is required");
  if (create && p.get("FriendlyName").value_or("").empty())
    return model::invalid_parameter("FriendlyName is required");
  if (auto v = p.get("FriendlyName"); v && v->size() > 255)
    return model::invalid_parameter("FriendlyName is longer than 255 characters");
  if (auto v = p.get("CommitMessage"); v && v->size() > 1024)
    return model::invalid_parameter("CommitMessage is longer than 1024 characters");
  return std::nullopt;
}

studio::flow_revision revision_of(const studio::flow& f) {
  studio::flow_revision r;
  r.sid = f.sid;
  r.account_sid = f.account_sid;
  r.friendly_name = f.friendly_name;
  r.status = f.status;
  r.definition = f.definition;
  r.revision = f.revision;
  r.commit_message = f.commit_message;
  r.author_sid = f.author_sid;
  r.created = r.updated = f.updated;
  return r;
}

caf::actor spawn_flow(self_ptr self, const studio_state::entry& e, std::vector<studio::execution> executions,
                      std::vector<studio::step> steps) {
  std::map<int, std::shared_ptr<const model::flow_definition>> defs;
  for (auto& r : e.revisions) {
    auto doc = nlohmann::json::parse(r.definition, nullptr, false);
    if (doc.is_discarded())
      continue;
    if (auto f = model::parse_flow(doc))
      defs[r.revision] = std::make_shared<const model::flow_definition>(std::move(*f));
  }
  return self->spawn<caf::linked>(flow_actor, e.flow, std::move(defs), self->state.options, std::move(executions),
                                  std::move(steps));
}

void put_revision(studio_state& st, const studio::flow_revision& r) {
  st.durable.put(r.sid, studio::revision_key(r.sid, r.revision), store::entity{r});
}

void handle(self_ptr self, st_call& c, caf::response_promise rp) {
  auto& st = self->state;
  auto now = system_clock::now();
  switch (c.op) {
    case st_op::flow_validate: {
      if (auto e = check_fields(c.params, true))
        return rp.deliver(st_fail(*e));
      auto def = checked_definition(*c.params.get("Definition"));
      return rp.deliver(def ? st_one(st_valid{}) : st_fail(def.err()));
    }
    case st_op::flow_create: {
      if (auto e = check_fields(c.params, true))
        return rp.deliver(st_fail(*e));
      auto def = checked_definition(*c.params.get("Definition"));
      if (!def)
        return rp.deliver(st_fail(def.err()));
      studio_state::entry e;
      auto& f = e.flow;
      f.sid = model::make_sid("FW");
      f.account_sid = c.account_sid;
      f.friendly_name = *c.params.get("FriendlyName");
      f.status = *c.params.get("Status");
      f.definition = (*def)->definition.dump();
      f.commit_message = c.params.get("CommitMessage").value_or("");
      f.author_sid = c.params.get("AuthorSid").value_or("");
      f.created = f.updated = now;
      e.revisions.push_back(revision_of(f));
      e.actor = spawn_flow(self, e, {}, {});
      st.durable.put(f.account_sid, f.sid, store::entity{f});
      put_revision(st, e.revisions.back());
      auto sid = f.sid;
      st.order.push_back(sid);
      auto& stored = st.flows.emplace(sid, std::move(e)).first->second;
      return st.durable.answer(self, rp, st_one(stored.flow, true), true);
    }
    case st_op::flow_list: {
      st_page page;
      std::size_t seen = 0;
      for (auto& sid : st.order) {
        auto& e = st.flows.at(sid);
        if (e.flow.account_sid != c.account_sid || seen++ < c.page.offset)
          continue;
        if (page.items.size() == c.page.size) {
          page.has_more = true;
          break;
        }
        page.items.push_back(e.flow);
      }
      return rp.deliver(st_reply{std::move(page)});
    }
    default:
      break;
  }
  auto* e = find(st, c.account_sid, c.flow_sid);
  if (!e)
    return rp.deliver(st_fail(missing("/Flows/" + c.flow_sid)));
  switch (c.op) {
    case st_op::flow_fetch:
      return rp.deliver(st_one(e->flow));
    case st_op::flow_update: {
      if (auto err = check_fields(c.params, false))
        return rp.deliver(st_fail(*err));
      std::shared_ptr<const model::flow_definition> def;
      if (auto text = c.params.get("Definition")) {
        auto d = checked_definition(*text);
        if (!d)
          return rp.deliver(st_fail(d.err()));
        def = *d;
      } else {
        auto doc = nlohmann::json::parse(e->flow.definition);
        def = std::make_shared<const model::flow_definition>(std::move(*model::parse_flow(doc)));
      }
      auto& f = e->flow;
      f.status = *c.params.get("Status");
      if (auto v = c.params.get("FriendlyName"); v && !v->empty())
        f.friendly_name = *v;
      f.definition = def->definition.dump();
      f.commit_message = c.params.get("CommitMessage").value_or("");
      if (auto v = c.params.get("AuthorSid"))
        f.author_sid = *v;
      f.revision += 1;
      f.updated = now;
      e->revisions.push_back(revision_of(f));
      st.durable.put(f.account_sid, f.sid, store::entity{f});
      put_revision(st, e->revisions.back());
      self->send(e->actor, flow_setup{f, def});
      return st.durable.answer(self, rp, st_one(f), true);
    }
    case st_op::flow_delete: {
      auto sid = e->flow.sid;
      st.durable.erase("studio_flow", sid, e->flow.account_sid);
      // Its revisions, executions and steps are scoped by the flow.
      st.durable.erase_scope(sid);
      self->unlink_from(e->actor);
      caf::anon_send_exit(e->actor, caf::exit_reason::user_shutdown);
      st.flows.erase(sid);
      st.order.erase(std::remove(st.order.begin(), st.order.end(), sid), st.order.end());
      return st.durable.answer(self, rp, st_reply{std::monostate{}}, true);
    }
    case st_op::revision_list: {
      st_page page;
      // Newest first, as Twilio lists them.
      std::size_t seen = 0;
      for (auto it = e->revisions.rbegin(); it != e->revisions.rend(); ++it) {
        if (seen++ < c.page.offset)
          continue;
        if (page.items.size() == c.page.size) {
          page.has_more = true;
          break;
        }
        page.items.push_back(*it);
      }
      return rp.deliver(st_reply{std::move(page)});
    }
    case st_op::revision_fetch: {
      const studio::flow_revision* found = nullptr;
      for (auto& r : e->revisions)
        if (c.sid == "LatestPublished" ? r.status == "published" : std::to_string(r.revision) == c.sid)
          found = &r; // the last match: LatestPublished is the newest published one
      if (found)
        return rp.deliver(st_one(*found));
      return rp.deliver(st_fail(missing("/Flows/" + c.flow_sid + "/Revisions/" + c.sid)));
    }
    default:
      rp.delegate(e->actor, std::move(c));
  }
}

} // namespace

caf::behavior studio_actor(studio_actor_type* self, studio_options options, studio_image recovered) {
  auto& st = self->state;
  st.options = std::move(options);
  st.durable.set_store(st.options.store);
  for (auto& f : recovered.flows) {
    auto sid = f.sid;
    st.order.push_back(sid);
    st.flows[sid].flow = std::move(f);
  }
  for (auto& r : recovered.revisions)
    if (auto it = st.flows.find(r.sid); it != st.flows.end())
      it->second.revisions.push_back(std::move(r));
  for (auto& [sid, e] : st.flows) {
    std::sort(e.revisions.begin(), e.revisions.end(), [](auto& a, auto& b) { return a.revision < b.revision; });
    std::vector<studio::execution> executions;
    std::vector<studio::step> steps;
    for (auto& x : recovered.executions)
      if (x.flow_sid == sid)
        executions.push_back(x);
    for (auto& s : recovered.steps)
      if (s.flow_sid == sid)
        steps.push_back(s);
    e.actor = spawn_flow(self, e, std::move(executions), std::move(steps));
  }
  return {
    [=](st_call& c) {
      auto rp = self->make_response_promise<st_reply>();
      handle(self, c, rp);
      self->state.durable.settle(self);
    },
    [=](studio_message& m) {
      auto* e = find(self->state, m.account_sid, m.flow_sid);
      if (e)
        self->send(e->actor, std::move(m));
    },
    [=](flush_tick) { self->state.durable.on_flush_tick(self, unavailable()); },
  };
}

} // namespace sb::actors
