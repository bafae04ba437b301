#include "model/studio_engine.hpp"

#include <algorithm>
#include <cstdint>

#include "model/form.hpp"

namespace sb::model {

using json = nlohmann::json;

namespace {

// The object under parent[key], made one if it is anything else.
json& object_at(json& parent, const char* key) {
  if (!parent.is_object())
    parent = json::object();
  json& v = parent[key];
  if (!v.is_object())
    v = json::object();
  return v;
}

std::string text_of(const json& v) {
  if (v.is_string())
    return v.get<std::string>();
  if (v.is_null())
    return {};
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string text_at(const json& context, std::initializer_list<const char*> path) {
  const json* v = &context;
  for (const char* k : path) {
    if (!v->is_object())
      return {};
    auto it = v->find(k);
    if (it == v->end())
      return {};
    v = &*it;
  }
  return text_of(*v);
}

// An integer property in [lo, hi], else fallback.
long long integer_or(const json& args, const char* key, long long lo, long long hi, long long fallback) {
  auto it = args.find(key);
  if (it == args.end())
    return fallback;
  auto n = property_integer(*it);
  return (n && *n >= lo && *n <= hi) ? *n : fallback;
}

bool is_effect(widget_type t) {
  return t == widget_type::send_to_flex || t == widget_type::send_message ||
         t == widget_type::send_and_wait_for_reply || t == widget_type::make_http_request;
}

class runner {
 public:
  runner(const flow_definition& flow, execution& x, time_point now, std::vector<step_record>& steps)
      : flow_(flow), x_(x), now_(now), steps_(steps) {}

  // Records the transition of from on event (t may be null: no transition)
  // and keeps going through synchronous widgets.
  effect run(const widget* from, const transition* t, std::string event, json out) {
    int budget = max_synchronous_steps;
    while (true) {
      const widget* to = (t && !t->next.empty()) ? flow_.find(t->next) : nullptr;
      steps_.push_back({std::move(event), std::string(widget_type_name(from->type)), from->name,
                        to ? to->name : std::string(ended_state), std::move(out)});
      if (!to) {
        if (t && !t->next.empty())
          return fail(*from, "transition \"" + t->event + "\" goes to \"" + t->next + "\", which does not exist");
        return finish(*from, json::object());
      }
      x_.current = to->name;
      if (is_effect(to->type))
        return enter(*to);
      if (to->type == widget_type::trigger)
        return fail(*to, "the trigger cannot be entered again");
      if (budget-- == 0)
        return fail(*to, "more than " + std::to_string(max_synchronous_steps) +
                           " widgets ran without waiting; the flow loops");
      from = to;
      if (to->type == widget_type::split_based_on)
        t = split(*to, event, out);
      else
        t = set_variables(*to, event, out);
    }
  }

 private:
  json rendered(const widget& w) const {
    json out = json::object();
    for (const auto& [key, tpl] : w.properties)
      if (key != "offset")
        out[key] = render_json(tpl, x_.context, now_);
    return out;
  }

  std::string rendered_text(const template_text& t) const { return render(t, x_.context, now_); }

  // The first match transition whose conditions all hold, else noMatch.
  const transition* split(const widget& w, std::string& event, json& out) {
    std::string input;
    if (const json_template* p = w.property("input"))
      input = text_of(render_json(*p, x_.context, now_));
    out = {{"input", input}};
    for (const auto& t : w.transitions) {
      if (t.event != "match" || t.conditions.empty())
        continue;
      bool all = std::all_of(t.conditions.begin(), t.conditions.end(), [&](const split_condition& c) {
        std::string subject = c.arguments.empty() ? input : rendered_text(c.arguments.front());
        return condition_holds(c, subject, rendered_text(c.value));
      });
      if (all) {
        event = "match";
        out["matched"] = t.conditions.front().friendly_name;
        return &t;
      }
    }
    event = "noMatch";
    return w.on("noMatch");
  }

  // Writes each rendered variable to context.flow.variables.
  const transition* set_variables(const widget& w, std::string& event, json& out) {
    json set = json::object();
    if (const json_template* p = w.property("variables")) {
      json vars = render_json(*p, x_.context, now_);
      json& target = object_at(object_at(x_.context, "flow"), "variables");
      if (vars.is_array()) {
        for (const auto& kv : vars) {
          if (!kv.is_object() || !kv.contains("key"))
            continue;
          std::string key = text_of(kv["key"]);
          if (key.empty())
            continue;
          json value = kv.contains("value") ? kv["value"] : json("");
          if (value.is_null())
            value = "";
          target[key] = value;
          set[key] = std::move(value);
        }
      }
    }
    out = {{"variables", std::move(set)}};
    event = "next";
    return w.on("next");
  }

  effect enter(const widget& w) {
    effect e;
    e.widget = w.name;
    e.args = rendered(w);
    json& a = e.args;
    switch (w.type) {
      case widget_type::send_message:
      case widget_type::send_and_wait_for_reply: {
        e.kind = w.type == widget_type::send_message ? effect_kind::send_message : effect_kind::wait_for_reply;
        a["body"] = text_of(a.value("body", json()));
        if (!a.contains("from") || text_of(a["from"]).empty())
          a["from"] = text_at(x_.context, {"flow", "channel", "address"});
        if (!a.contains("to") || text_of(a["to"]).empty())
          a["to"] = text_at(x_.context, {"contact", "channel", "address"});
        if (a.contains("media_url") && text_of(a["media_url"]).empty())
          a.erase("media_url");
        if (e.kind == effect_kind::wait_for_reply) {
          e.timeout_s = static_cast<int>(integer_or(a, "timeout", 1, max_execution_seconds, default_reply_timeout));
          a["timeout"] = e.timeout_s;
        }
        break;
      }
      case widget_type::send_to_flex: {
        e.kind = effect_kind::send_to_flex;
        if (a.contains("attributes") && a["attributes"].is_string()) {
          json parsed = json::parse(a["attributes"].get<std::string>(), nullptr, false);
          if (parsed.is_object())
            a["attributes"] = std::move(parsed);
        } else if (!a.contains("attributes") || a["attributes"].is_null()) {
          a["attributes"] = json::object();
        }
        auto priority = a.contains("priority") ? property_integer(a["priority"]) : std::nullopt;
        if (priority && *priority >= 0 && *priority <= INT32_MAX)
          a["priority"] = *priority;
        else
          a.erase("priority");
        e.timeout_s = static_cast<int>(integer_or(a, "timeout", 1, max_execution_seconds, default_flex_task_timeout));
        a["timeout"] = e.timeout_s;
        break;
      }
      case widget_type::make_http_request: {
        e.kind = effect_kind::http_request;
        form_pairs pairs;
        json params = json::array();
        if (a.contains("parameters") && a["parameters"].is_array()) {
          for (const auto& kv : a["parameters"]) {
            if (!kv.is_object())
              continue;
            std::string k = text_of(kv.value("key", json())), v = text_of(kv.value("value", json()));
            params.push_back({{"key", k}, {"value", v}});
            pairs.emplace_back(std::move(k), std::move(v));
          }
        }
        a["parameters"] = params;
        std::string method = text_of(a.value("method", json("GET")));
        std::string url = text_of(a.value("url", json()));
        std::string content_type = text_of(a.value("content_type", json()));
        bool is_json = content_type.rfind("application/json", 0) == 0;
        if (method == "GET") {
          if (!pairs.empty())
            url += (url.find('?') == std::string::npos ? "?" : "&") + encode_form(pairs);
          a.erase("body");
        } else if (is_json) {
          a["body"] = text_of(a.value("body", json()));
        } else {
          a["body"] = encode_form(pairs);
        }
        a["url"] = url;
        e.timeout_s = static_cast<int>(integer_or(a, "timeout", 1, max_http_timeout, default_http_timeout));
        a["timeout"] = e.timeout_s;
        break;
      }
      default: break;
    }
    return e;
  }

  effect finish(const widget& last, json args) {
    x_.ended = true;
    x_.current = last.name;
    effect e;
    e.kind = effect_kind::ended;
    e.widget = last.name;
    e.args = std::move(args);
    return e;
  }

  // Ends the execution at w with an "error" step.
  effect fail(const widget& w, const std::string& message) {
    steps_.push_back({"error", std::string(widget_type_name(w.type)), w.name, std::string(ended_state),
                      json{{"error", message}}});
    return finish(w, json{{"error", message}});
  }

  const flow_definition& flow_;
  execution& x_;
  time_point now_;
  std::vector<step_record>& steps_;
};

} // namespace

std::string_view effect_kind_name(effect_kind kind) {
  switch (kind) {
    case effect_kind::none: return "none";
    case effect_kind::send_to_flex: return "send_to_flex";
    case effect_kind::send_message: return "send_message";
    case effect_kind::wait_for_reply: return "wait_for_reply";
    case effect_kind::http_request: return "http_request";
    case effect_kind::ended: return "ended";
  }
  return {};
}

execution new_execution(std::string_view flow_sid, std::string_view execution_sid, std::string_view flow_address,
                        std::string_view contact_address, json data) {
  execution x;
  x.context = {
    {"trigger", json::object()},
    {"flow",
     {{"flow_sid", flow_sid},
      {"sid", execution_sid},
      {"channel", {{"address", flow_address}}},
      {"data", data.is_null() ? json::object() : std::move(data)},
      {"variables", json::object()}}},
    {"widgets", json::object()},
    {"contact", {{"channel", {{"address", contact_address}}}}},
  };
  return x;
}

effect start(const flow_definition& flow, execution& x, std::string_view trigger_event, json trigger,
             time_point now, std::vector<step_record>& steps) {
  std::string_view key = trigger_key(trigger_event);
  const widget* t = flow.find(flow.initial_state);
  if (key.empty() || !t || t->type != widget_type::trigger || x.ended || !x.current.empty())
    return {};
  json& triggers = object_at(x.context, "trigger");
  triggers[std::string(key)] = std::move(trigger);
  x.current = t->name;
  return runner(flow, x, now, steps).run(t, t->on(trigger_event), std::string(trigger_event), triggers);
}

effect resume(const flow_definition& flow, execution& x, std::string_view event, json output, time_point now,
              std::vector<step_record>& steps) {
  if (x.ended || x.current.empty())
    return {};
  const widget* w = flow.find(x.current);
  if (!w || !is_effect(w->type))
    return {};
  auto events = widget_events(w->type);
  if (std::find(events.begin(), events.end(), event) == events.end())
    return {};
  if (w->type == widget_type::make_http_request && output.is_object() && !output.contains("parsed")) {
    auto body = output.find("body");
    if (body != output.end() && body->is_string()) {
      json parsed = json::parse(body->get<std::string>(), nullptr, false);
      if (!parsed.is_discarded())
        output["parsed"] = std::move(parsed);
    }
  }
  object_at(x.context, "widgets")[w->name] = output;
  return runner(flow, x, now, steps).run(w, w->on(event), std::string(event), std::move(output));
}

} // namespace sb::model
