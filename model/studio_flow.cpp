#include "model/studio_flow.hpp"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <set>

#include "model/clock.hpp"

namespace sb::model {

using json = nlohmann::json;

namespace {

constexpr std::string_view trigger_events[] = {"incomingMessage", "incomingCall", "incomingConversationMessage",
                                               "incomingRequest", "incomingParent"};
constexpr std::string_view flex_events[] = {"callComplete", "failedToEnqueue", "callFailure"};
constexpr std::string_view message_events[] = {"sent", "failed"};
constexpr std::string_view reply_events[] = {"incomingMessage", "timeout", "deliveryFailure"};
constexpr std::string_view split_events[] = {"noMatch", "match"};
constexpr std::string_view variables_events[] = {"next"};
constexpr std::string_view http_events[] = {"success", "failed"};

struct type_row {
  widget_type type;
  std::string_view name;
  std::span<const std::string_view> events;
};

constexpr type_row type_table[] = {
  {widget_type::trigger, "trigger", trigger_events},
  {widget_type::send_to_flex, "send-to-flex", flex_events},
  {widget_type::send_message, "send-message", message_events},
  {widget_type::send_and_wait_for_reply, "send-and-wait-for-reply", reply_events},
  {widget_type::split_based_on, "split-based-on", split_events},
  {widget_type::set_variables, "set-variables", variables_events},
  {widget_type::make_http_request, "make-http-request", http_events},
};

constexpr std::pair<condition_type, std::string_view> condition_table[] = {
  {condition_type::equal_to, "equal_to"},
  {condition_type::not_equal_to, "not_equal_to"},
  {condition_type::matches_any_of, "matches_any_of"},
  {condition_type::does_not_match_any_of, "does_not_match_any_of"},
  {condition_type::is_blank, "is_blank"},
  {condition_type::is_not_blank, "is_not_blank"},
  {condition_type::regex, "regex"},
  {condition_type::contains, "contains"},
  {condition_type::does_not_contain, "does_not_contain"},
  {condition_type::starts_with, "starts_with"},
  {condition_type::does_not_start_with, "does_not_start_with"},
  {condition_type::less_than, "less_than"},
  {condition_type::greater_than, "greater_than"},
  {condition_type::is_before_time, "is_before_time"},
  {condition_type::is_after_time, "is_after_time"},
};

constexpr std::string_view form_content_type = "application/x-www-form-urlencoded;charset=utf-8";
constexpr std::string_view json_content_type = "application/json;charset=utf-8";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<double> number_in(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(d))
    return std::nullopt;
  return d;
}

// A condition's time: an instant (epoch seconds) or a time of day (seconds
// since midnight); instants also carry their UTC time of day.
struct condition_time {
  bool instant = false;
  std::int64_t epoch = 0;
  int of_day = 0;
};

// "HH:MM", "H:MM", "HH:MM:SS", each optionally followed by AM / PM, or an
// ISO-8601 UTC date-time.
std::optional<condition_time> parse_condition_time(std::string_view text) {
  std::string_view s = trim(text);
  if (auto t = parse_iso8601(s)) {
    condition_time out;
    out.instant = true;
    out.epoch = std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
    out.of_day = static_cast<int>(((out.epoch % 86400) + 86400) % 86400);
    return out;
  }
  int part[3] = {0, 0, 0};
  int parts = 0;
  std::size_t i = 0;
  while (parts < 3) {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 2)
      part[parts] = part[parts] * 10 + (s[i++] - '0');
    if (i == start || (parts > 0 && i - start != 2))
      return std::nullopt;
    ++parts;
    if (i < s.size() && s[i] == ':')
      ++i;
    else
      break;
  }
  if (parts < 2)
    return std::nullopt;
  std::string rest = lower(trim(s.substr(i)));
  int h = part[0];
  if (rest == "am" || rest == "pm") {
    if (h < 1 || h > 12)
      return std::nullopt;
    h = h % 12 + (rest == "pm" ? 12 : 0);
  } else if (!rest.empty()) {
    return std::nullopt;
  }
  if (h > 23 || part[1] > 59 || part[2] > 59)
    return std::nullopt;
  condition_time out;
  out.of_day = h * 3600 + part[1] * 60 + part[2];
  return out;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    std::size_t comma = s.find(',', pos);
    out.push_back(lower(trim(s.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos))));
    if (comma == std::string_view::npos)
      break;
    pos = comma + 1;
  }
  return out;
}

// Collects problems while building the flow; each widget check runs even
// after an earlier one failed so that validate_flow reports them all.
class flow_builder {
 public:
  flow_definition flow;
  std::vector<flow_error> errors;

  void build(const json& d) {
    flow.definition = d;
    if (!d.is_object()) {
      fail("Flow definition must be a JSON object", "#");
      return;
    }
    if (auto it = d.find("description"); it != d.end() && !it->is_null()) {
      if (it->is_string())
        flow.description = it->get<std::string>();
      else
        fail("Flow definition: description must be a string", "#/description");
    }
    if (auto it = d.find("initial_state"); it != d.end()) {
      if (it->is_string() && !it->get_ref<const std::string&>().empty())
        flow.initial_state = it->get<std::string>();
      else
        fail("Flow definition: initial_state must be a widget name", "#/initial_state");
    }
    if (auto it = d.find("flags"); it != d.end() && !it->is_null()) {
      if (it->is_object())
        flow.flags = *it;
      else
        fail("Flow definition: flags must be an object", "#/flags");
    }
    auto states = d.find("states");
    if (states == d.end() || !states->is_array() || states->empty()) {
      fail("Flow definition: states must be a non-empty array", "#/states");
      return;
    }
    name_states(*states);
    for (std::size_t i = 0; i < states->size(); ++i)
      build_state((*states)[i], i);
    check_trigger();
  }

 private:
  struct state_head {
    std::string name;  // "" when missing or a duplicate
    std::optional<widget_type> type;
  };

  void fail(std::string message, std::string path) { errors.push_back({std::move(message), std::move(path)}); }

  static std::string at(std::size_t i) { return "#/states/" + std::to_string(i); }

  void name_states(const json& states) {
    for (std::size_t i = 0; i < states.size(); ++i) {
      const json& s = states[i];
      state_head h;
      if (!s.is_object()) {
        fail("Widget #" + std::to_string(i) + " must be an object", at(i));
        heads_.push_back(h);
        continue;
      }
      auto name = s.find("name");
      if (name == s.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
        fail("Widget #" + std::to_string(i) + ": name is required", at(i) + "/name");
      } else if (!names_.insert(name->get<std::string>()).second) {
        fail("Widget \"" + name->get<std::string>() + "\": name is used by more than one widget", at(i) + "/name");
      } else {
        h.name = name->get<std::string>();
      }
      std::string label = h.name.empty() ? "Widget #" + std::to_string(i) : "Widget \"" + h.name + "\"";
      auto type = s.find("type");
      if (type == s.end() || !type->is_string())
        fail(label + ": type is required", at(i) + "/type");
      else if (!(h.type = widget_type_named(type->get<std::string>())))
        fail(label + ": type \"" + type->get<std::string>() + "\" is not supported", at(i) + "/type");
      if (!h.name.empty() && h.type == widget_type::trigger)
        triggers_.push_back(h.name);
      heads_.push_back(h);
    }
  }

  void build_state(const json& s, std::size_t i) {
    const state_head& h = heads_[i];
    if (h.name.empty() || !h.type)
      return;
    widget w;
    w.name = h.name;
    w.type = *h.type;
    label_ = "Widget \"" + w.name + "\" of type " + std::string(widget_type_name(w.type)) + ": ";
    path_ = at(i);
    build_transitions(s, w);
    build_properties(s, w);
    flow.index.emplace(w.name, flow.states.size());
    flow.states.push_back(std::move(w));
  }

  void build_transitions(const json& s, widget& w) {
    auto ts = s.find("transitions");
    if (ts == s.end() || ts->is_null())
      return;
    if (!ts->is_array()) {
      fail(label_ + "transitions must be an array", path_ + "/transitions");
      return;
    }
    auto events = widget_events(w.type);
    std::set<std::string, std::less<>> seen;
    for (std::size_t j = 0; j < ts->size(); ++j) {
      const json& t = (*ts)[j];
      std::string where = path_ + "/transitions/" + std::to_string(j);
      auto event = t.is_object() ? t.find("event") : t.end();
      if (!t.is_object() || event == t.end() || !event->is_string()) {
        fail(label_ + "transitions[" + std::to_string(j) + "] needs an event", where + "/event");
        continue;
      }
      transition tr;
      tr.event = event->get<std::string>();
      if (std::find(events.begin(), events.end(), tr.event) == events.end()) {
        std::string allowed;
        for (auto e : events)
          allowed += (allowed.empty() ? "" : ", ") + std::string(e);
        fail(label_ + "event \"" + tr.event + "\" is not an event of " + std::string(widget_type_name(w.type)) +
               " (" + allowed + ")",
             where + "/event");
        continue;
      }
      if (tr.event != "match" && !seen.insert(tr.event).second)
        fail(label_ + "event \"" + tr.event + "\" has more than one transition", where + "/event");
      auto next = t.find("next");
      if (next != t.end() && !next->is_null()) {
        if (!next->is_string()) {
          fail(label_ + "transition \"" + tr.event + "\": next must be a widget name", where + "/next");
        } else {
          tr.next = next->get<std::string>();
          if (!tr.next.empty() && !names_.count(tr.next))
            fail(label_ + "transition \"" + tr.event + "\" goes to \"" + tr.next +
                   "\", which is not a widget of this flow",
                 where + "/next");
          else if (std::find(triggers_.begin(), triggers_.end(), tr.next) != triggers_.end())
            fail(label_ + "transition \"" + tr.event + "\" goes back to the trigger \"" + tr.next + "\"",
                 where + "/next");
        }
      }
      if (w.type == widget_type::split_based_on && tr.event == "match")
        build_conditions(t, tr, where);
      w.transitions.push_back(std::move(tr));
    }
  }

  void build_conditions(const json& t, transition& tr, const std::string& where) {
    auto cs = t.find("conditions");
    if (cs == t.end() || !cs->is_array() || cs->empty()) {
      fail(label_ + "a match transition needs a non-empty conditions array", where + "/conditions");
      return;
    }
    for (std::size_t k = 0; k < cs->size(); ++k) {
      const json& c = (*cs)[k];
      std::string cwhere = where + "/conditions/" + std::to_string(k);
      std::string clabel = "conditions[" + std::to_string(k) + "]";
      if (!c.is_object()) {
        fail(label_ + clabel + " must be an object", cwhere);
        continue;
      }
      split_condition out;
      auto fn = c.find("friendly_name");
      if (fn != c.end() && fn->is_string() && !fn->get_ref<const std::string&>().empty()) {
        out.friendly_name = fn->get<std::string>();
        clabel = "condition \"" + out.friendly_name + "\"";
      }
      auto type = c.find("type");
      if (type == c.end() || !type->is_string()) {
        fail(label_ + clabel + " needs a type", cwhere + "/type");
        continue;
      }
      auto ct = condition_type_named(type->get<std::string>());
      if (!ct) {
        fail(label_ + "condition type \"" + type->get<std::string>() + "\" is not supported", cwhere + "/type");
        continue;
      }
      out.type = *ct;
      if (auto args = c.find("arguments"); args != c.end() && !args->is_null()) {
        bool ok = args->is_array();
        for (std::size_t a = 0; ok && a < args->size(); ++a) {
          if (!(*args)[a].is_string()) {
            ok = false;
            break;
          }
          auto tpl = parse_template((*args)[a].get<std::string>());
          if (!tpl) {
            fail(label_ + clabel + ": argument " + std::to_string(a) + ": " + tpl.err().message,
                 cwhere + "/arguments/" + std::to_string(a));
            continue;
          }
          out.arguments.push_back(std::move(*tpl));
        }
        if (!ok) {
          fail(label_ + clabel + ": arguments must be an array of strings", cwhere + "/arguments");
          continue;
        }
      }
      bool needs_value = out.type != condition_type::is_blank && out.type != condition_type::is_not_blank;
      auto value = c.find("value");
      std::string text;
      if (value != c.end() && value->is_string())
        text = value->get<std::string>();
      else if (value != c.end() && value->is_number())
        text = value->dump();
      else if (needs_value) {
        fail(label_ + clabel + " needs a value", cwhere + "/value");
        continue;
      }
      auto tpl = parse_template(text);
      if (!tpl) {
        fail(label_ + clabel + ": value: " + tpl.err().message, cwhere + "/value");
        continue;
      }
      out.value = std::move(*tpl);
      if (needs_value && out.value.is_literal() && !check_literal_value(out, text, clabel, cwhere + "/value"))
        continue;
      tr.conditions.push_back(std::move(out));
    }
  }

  bool check_literal_value(split_condition& c, const std::string& text, const std::string& clabel,
                           const std::string& where) {
    switch (c.type) {
      case condition_type::regex:
        try {
          c.pattern = std::make_shared<const std::regex>(text, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          fail(label_ + clabel + ": regex \"" + text + "\" does not compile", where);
          return false;
        }
        return true;
      case condition_type::less_than:
      case condition_type::greater_than:
        if (!number_in(text)) {
          fail(label_ + clabel + ": value \"" + text + "\" is not a number", where);
          return false;
        }
        return true;
      case condition_type::is_before_time:
      case condition_type::is_after_time:
        if (!parse_condition_time(text)) {
          fail(label_ + clabel + ": value \"" + text + "\" is not a time (HH:MM) or an ISO-8601 date-time", where);
          return false;
        }
        return true;
      default: return true;
    }
  }

  void build_properties(const json& s, widget& w) {
    auto props = s.find("properties");
    static const json none = json::object();
    const json* p = &none;
    if (props != s.end() && !props->is_null()) {
      if (!props->is_object()) {
        fail(label_ + "properties must be an object", path_ + "/properties");
        return;
      }
      p = &*props;
    }
    for (auto it = p->begin(); it != p->end(); ++it) {
      auto t = parse_json_template(it.value());
      if (!t) {
        fail(label_ + "property \"" + it.key() + "\": " + t.err().message, prop_path(it.key()));
        continue;
      }
      w.properties.emplace(it.key(), std::move(*t));
    }
    switch (w.type) {
      case widget_type::trigger: break;
      case widget_type::send_to_flex:
        require_text(*p, "workflow");
        require_text(*p, "channel");
        check_integer(*p, w, "timeout", 1, max_execution_seconds);
        check_integer(*p, w, "priority", 0, INT_MAX);
        check_attributes(*p, w);
        break;
      case widget_type::send_message: require_text(*p, "body"); break;
      case widget_type::send_and_wait_for_reply:
        require_text(*p, "body");
        check_integer(*p, w, "timeout", 1, max_execution_seconds);
        break;
      case widget_type::split_based_on: require_text(*p, "input"); break;
      case widget_type::set_variables: check_pairs(*p, "variables", true); break;
      case widget_type::make_http_request: {
        if (require_text(*p, "method")) {
          const auto& m = (*p)["method"].get_ref<const std::string&>();
          if (m != "GET" && m != "POST")
            fail(label_ + "property \"method\" must be GET or POST, got \"" + m + "\"", prop_path("method"));
        }
        require_text(*p, "url");
        if (require_text(*p, "content_type")) {
          std::string ct = lower((*p)["content_type"].get<std::string>());
          ct.erase(std::remove(ct.begin(), ct.end(), ' '), ct.end());
          if (ct != form_content_type && ct != json_content_type)
            fail(label_ + "property \"content_type\" must be " + std::string(form_content_type) + " or " +
                   std::string(json_content_type),
                 prop_path("content_type"));
        }
        check_pairs(*p, "parameters", false);
        if (auto b = p->find("body"); b != p->end() && !b->is_null() && !b->is_string())
          fail(label_ + "property \"body\" must be a string", prop_path("body"));
        check_integer(*p, w, "timeout", 1, max_http_timeout);
        break;
      }
    }
  }

  std::string prop_path(const std::string& key) const { return path_ + "/properties/" + key; }

  bool require_text(const json& p, const char* key) {
    auto it = p.find(key);
    if (it == p.end() || !it->is_string() || trim(it->get_ref<const std::string&>()).empty()) {
      fail(label_ + "property \"" + key + "\" is required", prop_path(key));
      return false;
    }
    return true;
  }

  // A whole number in [lo, hi] unless absent, "" or a template.
  void check_integer(const json& p, const widget& w, const char* key, long long lo, long long hi) {
    auto it = p.find(key);
    if (it == p.end() || it->is_null() || (it->is_string() && trim(it->get_ref<const std::string&>()).empty()))
      return;
    if (const json_template* t = w.property(key); t && !t->templates().empty())
      return;
    auto n = property_integer(*it);
    if (!n || *n < lo || *n > hi)
      fail(label_ + "property \"" + key + "\" must be a whole number from " + std::to_string(lo) + " to " +
             std::to_string(hi) + ", got " + it->dump(),
           prop_path(key));
  }

  // A literal attributes string must hold a JSON object.
  void check_attributes(const json& p, const widget& w) {
    auto it = p.find("attributes");
    if (it == p.end() || it->is_null() || it->is_object())
      return;
    const json_template* t = w.property("attributes");
    if (!it->is_string()) {
      fail(label_ + "property \"attributes\" must be a JSON object or its text", prop_path("attributes"));
      return;
    }
    if (!t || !t->templates().empty() || trim(it->get_ref<const std::string&>()).empty())
      return;
    json parsed = json::parse(it->get<std::string>(), nullptr, false);
    if (!parsed.is_object())
      fail(label_ + "property \"attributes\" must be a JSON object or its text", prop_path("attributes"));
  }

  // An array of {"key": "...", "value": ...} objects.
  void check_pairs(const json& p, const char* key, bool required) {
    auto it = p.find(key);
    if (it == p.end() || it->is_null()) {
      if (required)
        fail(label_ + "property \"" + key + "\" is required", prop_path(key));
      return;
    }
    if (!it->is_array()) {
      fail(label_ + "property \"" + key + "\" must be an array of {key, value} objects", prop_path(key));
      return;
    }
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& kv = (*it)[i];
      auto k = kv.is_object() ? kv.find("key") : kv.end();
      if (!kv.is_object() || k == kv.end() || !k->is_string() || k->get_ref<const std::string&>().empty())
        fail(label_ + "property \"" + key + "\"[" + std::to_string(i) + "] needs a non-empty key",
             prop_path(key) + "/" + std::to_string(i) + "/key");
      else if (auto v = kv.find("value"); v != kv.end() && (v->is_object() || v->is_array()))
        fail(label_ + "property \"" + key + "\"[" + std::to_string(i) + "] value must be text",
             prop_path(key) + "/" + std::to_string(i) + "/value");
    }
  }

  void check_trigger() {
    if (triggers_.empty()) {
      fail("Flow definition: a widget of type trigger is required", "#/states");
      return;
    }
    for (std::size_t i = 1; i < triggers_.size(); ++i)
      fail("Widget \"" + triggers_[i] + "\" of type trigger: a flow has one trigger and \"" + triggers_[0] +
             "\" is already one",
           at(position_in_definition(triggers_[i])) + "/type");
    if (flow.initial_state != triggers_[0])
      fail("Flow definition: initial_state \"" + flow.initial_state + "\" must name the trigger widget \"" +
             triggers_[0] + "\"",
           "#/initial_state");
  }

  std::size_t position_in_definition(const std::string& name) const {
    for (std::size_t i = 0; i < heads_.size(); ++i)
      if (heads_[i].name == name)
        return i;
    return 0;
  }

  std::vector<state_head> heads_;
  std::set<std::string, std::less<>> names_;
  std::vector<std::string> triggers_;
  std::string label_;  // "Widget "x" of type t: " of the widget being built
  std::string path_;   // "#/states/i" of the widget being built
};

} // namespace

std::string_view widget_type_name(widget_type type) {
  for (const auto& row : type_table)
    if (row.type == type)
      return row.name;
  return {};
}

std::optional<widget_type> widget_type_named(std::string_view name) {
  for (const auto& row : type_table)
    if (row.name == name)
      return row.type;
  return std::nullopt;
}

std::span<const std::string_view> widget_events(widget_type type) {
  for (const auto& row : type_table)
    if (row.type == type)
      return row.events;
  return {};
}

std::string_view trigger_key(std::string_view trigger_event) {
  if (trigger_event == "incomingMessage") return "message";
  if (trigger_event == "incomingCall") return "call";
  if (trigger_event == "incomingConversationMessage") return "conversation";
  if (trigger_event == "incomingRequest") return "request";
  if (trigger_event == "incomingParent") return "parent";
  return {};
}

std::string_view condition_type_name(condition_type type) {
  for (const auto& [t, name] : condition_table)
    if (t == type)
      return name;
  return {};
}

std::optional<condition_type> condition_type_named(std::string_view name) {
  for (const auto& [t, n] : condition_table)
    if (n == name)
      return t;
  return std::nullopt;
}

bool condition_holds(const split_condition& c, std::string_view subject, std::string_view value) {
  switch (c.type) {
    case condition_type::equal_to: return lower(subject) == lower(value);
    case condition_type::not_equal_to: return lower(subject) != lower(value);
    case condition_type::matches_any_of:
    case condition_type::does_not_match_any_of: {
      auto items = split_list(value);
      bool any = std::find(items.begin(), items.end(), lower(subject)) != items.end();
      return c.type == condition_type::matches_any_of ? any : !any;
    }
    case condition_type::is_blank: return trim(subject).empty();
    case condition_type::is_not_blank: return !trim(subject).empty();
    case condition_type::regex: {
      std::string s(subject);
      try {
        if (c.pattern)
          return std::regex_search(s, *c.pattern);
        return std::regex_search(s, std::regex(std::string(value), std::regex::ECMAScript));
      } catch (const std::regex_error&) {  // a value that does not compile, or a search too complex
        return false;
      }
    }
    case condition_type::contains: return lower(subject).find(lower(value)) != std::string::npos;
    case condition_type::does_not_contain: return lower(subject).find(lower(value)) == std::string::npos;
    case condition_type::starts_with: return lower(subject).rfind(lower(value), 0) == 0;
    case condition_type::does_not_start_with: return lower(subject).rfind(lower(value), 0) != 0;
    case condition_type::less_than:
    case condition_type::greater_than: {
      auto a = number_in(subject), b = number_in(value);
      if (!a || !b)
        return false;
      return c.type == condition_type::less_than ? *a < *b : *a > *b;
    }
    case condition_type::is_before_time:
    case condition_type::is_after_time: {
      auto a = parse_condition_time(subject), b = parse_condition_time(value);
      if (!a || !b)
        return false;
      std::int64_t x = a->of_day, y = b->of_day;
      if (a->instant && b->instant) {
        x = a->epoch;
        y = b->epoch;
      }
      return c.type == condition_type::is_before_time ? x < y : x > y;
    }
  }
  return false;
}

const transition* widget::on(std::string_view event) const {
  for (const auto& t : transitions)
    if (t.event == event)
      return &t;
  return nullptr;
}

const json_template* widget::property(std::string_view key) const {
  auto it = properties.find(key);
  return it == properties.end() ? nullptr : &it->second;
}

const widget* flow_definition::find(std::string_view name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &states[it->second];
}

std::optional<long long> property_integer(const json& value) {
  if (value.is_number_unsigned())
    return value.get<std::uint64_t>() <= std::uint64_t(LLONG_MAX) ? std::optional<long long>(value.get<long long>())
                                                                  : std::nullopt;
  if (value.is_number_integer())
    return value.get<long long>();
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e15)
      return std::nullopt;
    return static_cast<long long>(d);
  }
  if (!value.is_string())
    return std::nullopt;
  std::string_view s = trim(value.get_ref<const std::string&>());
  if (!s.empty() && s.front() == '+')
    s.remove_prefix(1);
  long long n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size())
    return std::nullopt;
  return n;
}

std::vector<flow_error> validate_flow(const json& definition) {
  flow_builder b;
  b.build(definition);
  return std::move(b.errors);
}

expected<flow_definition> parse_flow(const json& definition) {
  flow_builder b;
  b.build(definition);
  if (!b.errors.empty())
    return invalid_parameter(b.errors.front().message, 20001);
  return std::move(b.flow);
}

} // namespace sb::model
