#include "actors/directory_actor.hpp"

#include <chrono>

#include "actors/store_actor.hpp"
#include "model/sid.hpp"

namespace sb::actors {

namespace {

model::error missing() { return model::not_found("The requested resource was not found"); }

tr_reply create(directory_actor_type* self, const tr_call& c) {
  auto& st = self->state;
  if (auto u = c.params.first_unknown({"FriendlyName", "EventCallbackUrl", "EventsFilter",
                                       "MultiTaskEnabled", "Template", "PrioritizeQueueOrder"}))
    return fail(model::invalid_parameter("Unknown parameter " + *u));
  auto name = c.params.get("FriendlyName");
  if (!name || name->empty())
    return fail(model::invalid_parameter("FriendlyName is required"));
  if (name->size() > 64)
    return fail(model::invalid_parameter("FriendlyName must be at most 64 characters"));
  for (auto& [sid, e] : st.workspaces)
    if (e.workspace.account_sid == c.account_sid && e.workspace.friendly_name == *name)
      return fail(model::conflict("A workspace named '" + *name + "' already exists", 20001));
  auto multi = c.params.get_bool("MultiTaskEnabled");
  if (!multi)
    return fail(multi.err());
  auto order = c.params.get("PrioritizeQueueOrder");
  if (order && *order != "FIFO" && *order != "LIFO")
    return fail(model::invalid_parameter("PrioritizeQueueOrder must be FIFO or LIFO"));
  auto tmpl = c.params.get("Template").value_or("");
  if (!tmpl.empty() && tmpl != "FIFO" && tmpl != "NONE")
    return fail(model::invalid_parameter("Template must be FIFO or NONE"));
  model::workspace ws;
  ws.sid = model::make_sid("WS");
  ws.account_sid = c.account_sid;
  ws.friendly_name = *name;
  ws.event_callback_url = c.params.get("EventCallbackUrl").value_or("");
  ws.events_filter = c.params.get("EventsFilter").value_or("");
  ws.multi_task_enabled = multi->value_or(true);
  ws.prioritize_queue_order =
    order && *order == "LIFO" ? model::task_order::lifo : model::task_order::fifo;
  ws.created = ws.updated = std::chrono::system_clock::now();
  auto actor = self->spawn(workspace_actor, ws, st.options, tmpl,
                           std::shared_ptr<const store::workspace_image>{});
  self->link_to(actor);
  // The workspace actor filled in its default activities; fetch the result
  // lazily: the reply carries the workspace as created, defaults included.
  st.workspaces[ws.sid] = {ws, actor};
  st.order.push_back(ws.sid);
  return tr_reply{std::monostate{}};
}

} // namespace

caf::behavior directory_actor(directory_actor_type* self, workspace_options options,
                              workspace_images images) {
  self->state.options = std::move(options);
  for (auto& img : images) {
    auto& ws = img->workspace;
    auto actor = self->spawn(workspace_actor, ws, self->state.options, std::string{},
                             std::shared_ptr<const store::workspace_image>(img));
    self->link_to(actor);
    self->state.workspaces[ws.sid] = {ws, actor};
    self->state.order.push_back(ws.sid);
  }
  return {
    [=](locate_workflow& q) {
      // Each of the account's workspaces is asked; the first that has the
      // workflow answers, or nobody does.
      auto rp = self->make_response_promise<std::string>();
      std::vector<std::pair<std::string, caf::actor>> asked;
      for (auto& sid : self->state.order) {
        auto& e = self->state.workspaces[sid];
        if (e.workspace.account_sid == q.account_sid)
          asked.emplace_back(sid, e.actor);
      }
      if (asked.empty()) {
        rp.deliver(std::string());
        return;
      }
      struct tally {
        std::size_t left;
        bool done = false;
      };
      auto t = std::make_shared<tally>(tally{asked.size()});
      for (auto& [workspace, ws] : asked) {
        tr_call fetch{tr_op::workflow_fetch, q.account_sid, workspace, q.workflow_sid, {}, {}, {}, {}};
        self->request(ws, caf::infinite, std::move(fetch))
          .then(
            [=, workspace = workspace](tr_reply& r) mutable {
              --t->left;
              if (!t->done && std::holds_alternative<resource>(r.value)) {
                t->done = true;
                rp.deliver(workspace);
              } else if (!t->done && t->left == 0) {
                t->done = true;
                rp.deliver(std::string());
              }
            },
            [=](caf::error&) mutable {
              if (--t->left == 0 && !t->done) {
                t->done = true;
                rp.deliver(std::string());
              }
            });
      }
    },
    [=](tr_call& c) {
      auto& st = self->state;
      if (c.op == tr_op::workspace_create) {
        auto r = create(self, c);
        if (std::holds_alternative<model::error>(r.value)) {
          self->make_response_promise<tr_reply>().deliver(std::move(r));
          return;
        }
        // Answer with the workspace as its actor set it up (default activities).
        auto sid = st.order.back();
        auto rp = self->make_response_promise<tr_reply>();
        tr_call fetch{tr_op::workspace_fetch, c.account_sid, sid, {}, {}, {}, {}, {}};
        self->request(st.workspaces[sid].actor, std::chrono::seconds(10), fetch)
          .then(
            [=](tr_reply& r) mutable {
              if (auto* res = std::get_if<resource>(&r.value))
                if (auto* ws = std::get_if<model::workspace>(res))
                  self->state.workspaces[sid].workspace = *ws;
              r.created = true;
              rp.deliver(std::move(r));
            },
            [=](caf::error&) mutable {
              rp.deliver(fail(model::error{model::errc::unavailable, 20503, "workspace did not start"}));
            });
        return;
      }
      if (c.op == tr_op::workspace_list) {
        auto name = c.params.get("FriendlyName");
        page_result page;
        std::size_t skipped = 0;
        for (auto& sid : st.order) {
          auto& e = st.workspaces[sid];
          if (e.workspace.account_sid != c.account_sid || (name && e.workspace.friendly_name != *name))
            continue;
          if (skipped++ < c.page.offset)
            continue;
          if (page.items.size() == c.page.size) {
            page.has_more = true;
            break;
          }
          page.items.emplace_back(e.workspace);
        }
        self->make_response_promise<tr_reply>().deliver(tr_reply{std::move(page)});
        return;
      }
      auto it = st.workspaces.find(c.workspace_sid);
      if (it == st.workspaces.end() || it->second.workspace.account_sid != c.account_sid) {
        self->make_response_promise<tr_reply>().deliver(fail(missing()));
        return;
      }
      if (c.op == tr_op::workspace_delete) {
        // Everything the workspace owned goes from the store in one change;
        // rows it may still write on its way out are dropped at the next start.
        if (st.options.store) {
          store::write_batch b;
          b.erased_scopes.push_back(c.workspace_sid);
          self->send(st.options.store, store_write{std::move(b)});
        }
        self->unlink_from(it->second.actor);
        self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
        st.order.erase(std::find(st.order.begin(), st.order.end(), c.workspace_sid));
        st.workspaces.erase(it);
        self->make_response_promise<tr_reply>().deliver(tr_reply{std::monostate{}});
        return;
      }
      if (c.op == tr_op::workspace_update) {
        auto sid = c.workspace_sid;
        auto rp = self->make_response_promise<tr_reply>();
        self->request(it->second.actor, std::chrono::seconds(10), std::move(c))
          .then(
            [=](tr_reply& r) mutable {
              if (auto* res = std::get_if<resource>(&r.value))
                if (auto* ws = std::get_if<model::workspace>(res))
                  if (auto e = self->state.workspaces.find(sid); e != self->state.workspaces.end())
                    e->second.workspace = *ws;
              rp.deliver(std::move(r));
            },
            [=](caf::error&) mutable {
              rp.deliver(fail(model::error{model::errc::unavailable, 20503, "workspace did not answer"}));
            });
        return;
      }
      self->delegate(it->second.actor, std::move(c));
    },
  };
}

} // namespace sb::actors
