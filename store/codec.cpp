#include "store/codec.hpp"

#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace sb::store {

namespace {

using json = nlohmann::json;

std::int64_t micros(model::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
model::time_point from_micros(std::int64_t us) {
  return model::time_point(std::chrono::duration_cast<model::time_point::duration>(
    std::chrono::microseconds(us)));
}

// Appends s as a JSON string. Bytes that are not valid UTF-8 become U+FFFD:
// a document must always parse back, whatever a client sent.
void quote(std::string& out, std::string_view s) {
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    // The common case: a run of printable ASCII that needs no escape.
    auto run = i;
    while (run < s.size()) {
      auto b = static_cast<unsigned char>(s[run]);
      if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\')
        break;
      ++run;
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      if (i == s.size())
        break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else {
      // The length of a well-formed sequence starting here, or 0.
      std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
      bool ok = n > 0 && i + n <= s.size();
      for (std::size_t k = 1; ok && k < n; ++k)
        ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      if (ok && n == 3) {
        auto c1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0); // overlong, surrogates
      } else if (ok && n == 4) {
        auto c1 = static_cast<unsigned char>(s[i + 1]);
        ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
      }
      if (ok) {
        out.append(s.data() + i, n);
        i += n;
      } else {
        out += "\\ufffd";
        ++i;
      }
    }
  }
  out += '"';
}

// Dispatches to the field list of a type (defined below, after the lists).
template <class F, class X>
void visit_fields(F&& f, X& x);

// Each document is written field by field through one function per type,
// used in both directions, so encoder and decoder cannot drift apart. The
// writer appends JSON text directly (no document tree: it runs for every
// change on the store writer's thread).
struct writer {
  std::string& out;
  bool first = true;
  void key(const char* k) {
    out += first ? '{' : ',';
    first = false;
    out += '"';
    out += k;
    out += "\":";
  }
  void operator()(const char* k, const std::string& v) {
    key(k);
    quote(out, v);
  }
  void operator()(const char* k, bool v) {
    key(k);
    out += v ? "true" : "false";
  }
  void operator()(const char* k, int v) {
    key(k);
    out += std::to_string(v);
  }
  void operator()(const char* k, std::uint64_t v) {
    key(k);
    out += std::to_string(v);
  }
  void operator()(const char* k, std::int64_t v) {
    key(k);
    out += std::to_string(v);
  }
  void operator()(const char* k, model::time_point v) {
    key(k);
    out += std::to_string(micros(v));
  }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void operator()(const char* k, E v) {
    key(k);
    out += std::to_string(static_cast<int>(v));
  }
  // An absent optional writes nothing (it reads back absent).
  template <class T>
  void operator()(const char* k, const std::optional<T>& v) {
    if (v)
      (*this)(k, *v);
  }
  void operator()(const char* k, const std::vector<std::string>& v) {
    key(k);
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i)
        out += ',';
      quote(out, v[i]);
    }
    out += ']';
  }
  // A list of records, each an object with its own field list.
  template <class T>
  void operator()(const char* k, const std::vector<T>& v) {
    key(k);
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i)
        out += ',';
      writer w{out};
      visit_fields(w, v[i]);
      w.close();
    }
    out += ']';
  }
  // Ends the object (an empty one when no field was written).
  void close() { out += first ? "{}" : "}"; }
};

// The highest value of each stored enum.
constexpr int enum_last(model::task_order) { return static_cast<int>(model::task_order::lifo); }
constexpr int enum_last(model::task_status) { return static_cast<int>(model::task_status::canceled); }
constexpr int enum_last(model::reservation_status) {
  return static_cast<int>(model::reservation_status::completed);
}
constexpr int enum_last(model::cv::conversation_state) {
  return static_cast<int>(model::cv::conversation_state::closed);
}
constexpr int enum_last(model::flex::channel_status) {
  return static_cast<int>(model::flex::channel_status::transfer);
}
constexpr int enum_last(model::flex::participant_type) {
  return static_cast<int>(model::flex::participant_type::unknown);
}
constexpr int enum_last(model::flex::participant_status) {
  return static_cast<int>(model::flex::participant_status::closed);
}
constexpr int enum_last(model::studio::waiting) { return static_cast<int>(model::studio::waiting::http_request); }
constexpr int enum_last(model::cv::delivery_status) {
  return static_cast<int>(model::cv::delivery_status::undelivered);
}

struct reader {
  const json& j;
  // Missing fields keep their defaults: newer binaries may add fields.
  template <class T>
  bool find(const char* k, T& out) const {
    auto it = j.find(k);
    if (it == j.end() || it->is_null())
      return false;
    out = it->template get<T>();
    return true;
  }
  void operator()(const char* k, std::string& v) const { find(k, v); }
  void operator()(const char* k, bool& v) const { find(k, v); }
  void operator()(const char* k, int& v) const { find(k, v); }
  void operator()(const char* k, std::uint64_t& v) const { find(k, v); }
  void operator()(const char* k, std::int64_t& v) const { find(k, v); }
  void operator()(const char* k, model::time_point& v) const {
    std::int64_t us = 0;
    if (find(k, us))
      v = from_micros(us);
  }
  template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
  void operator()(const char* k, E& v) const {
    int n = 0;
    if (!find(k, n))
      return;
    if (n < 0 || n > enum_last(E{}))
      throw std::out_of_range(std::string("field '") + k + "' has no value " + std::to_string(n));
    v = static_cast<E>(n);
  }
  template <class T>
  void operator()(const char* k, std::optional<T>& v) const {
    auto it = j.find(k);
    if (it == j.end() || it->is_null())
      return;
    T x{};
    (*this)(k, x);
    v = std::move(x);
  }
  // The array at k, or nullptr when absent; get_ref throws json::type_error
  // for a value of another shape, as a wrong-typed scalar does.
  const json::array_t* array(const char* k) const {
    auto it = j.find(k);
    if (it == j.end() || it->is_null())
      return nullptr;
    return &it->template get_ref<const json::array_t&>();
  }
  void operator()(const char* k, std::vector<std::string>& v) const {
    if (auto* a = array(k)) {
      v.clear();
      for (auto& e : *a)
        v.push_back(e.template get<std::string>());
    }
  }
  template <class T>
  void operator()(const char* k, std::vector<T>& v) const {
    if (auto* a = array(k)) {
      v.clear();
      for (auto& e : *a) {
        (void)e.template get_ref<const json::object_t&>();
        T x;
        visit_fields(reader{e}, x);
        v.push_back(std::move(x));
      }
    }
  }
};

template <class F>
void times(F&& f, auto& x) {
  f("created", x.created);
  f("updated", x.updated);
}

template <class F, class W>
void fields_workspace(F&& f, W& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("friendly_name", x.friendly_name);
  f("event_callback_url", x.event_callback_url);
  f("events_filter", x.events_filter);
  f("multi_task_enabled", x.multi_task_enabled);
  f("prioritize_queue_order", x.prioritize_queue_order);
  f("default_activity_sid", x.default_activity_sid);
  f("default_activity_name", x.default_activity_name);
  f("timeout_activity_sid", x.timeout_activity_sid);
  f("timeout_activity_name", x.timeout_activity_name);
  times(f, x);
}

template <class F, class A>
void fields_activity(F&& f, A& x) {
  f("sid", x.sid);
  f("friendly_name", x.friendly_name);
  f("available", x.available);
  times(f, x);
}

template <class F, class C>
void fields_channel(F&& f, C& x) {
  f("sid", x.sid);
  f("unique_name", x.unique_name);
  f("friendly_name", x.friendly_name);
  f("channel_optimized_routing", x.channel_optimized_routing);
  times(f, x);
}

template <class F, class Q>
void fields_queue(F&& f, Q& x) {
  f("sid", x.sid);
  f("friendly_name", x.friendly_name);
  f("target_workers", x.target_workers);
  f("max_reserved_workers", x.max_reserved_workers);
  f("order", x.order);
  f("reservation_activity_sid", x.reservation_activity_sid);
  f("reservation_activity_name", x.reservation_activity_name);
  f("assignment_activity_sid", x.assignment_activity_sid);
  f("assignment_activity_name", x.assignment_activity_name);
  times(f, x);
}

template <class F, class C>
void fields_worker_channel(F&& f, C& x) {
  f("sid", x.sid);
  f("task_channel_sid", x.task_channel_sid);
  f("task_channel_unique_name", x.task_channel_unique_name);
  f("configured_capacity", x.configured_capacity);
  f("available", x.available);
  times(f, x);
}

template <class F, class W>
void fields_worker(F&& f, W& x) {
  f("sid", x.sid);
  f("friendly_name", x.friendly_name);
  f("activity_sid", x.activity_sid);
  f("activity_name", x.activity_name);
  f("available", x.available);
  f("attributes", x.attributes);
  times(f, x);
  f("status_changed", x.status_changed);
}

template <class F, class W>
void fields_workflow(F&& f, W& x) {
  f("sid", x.sid);
  f("friendly_name", x.friendly_name);
  f("configuration", x.configuration);
  f("assignment_callback_url", x.assignment_callback_url);
  f("fallback_assignment_callback_url", x.fallback_assignment_callback_url);
  f("task_reservation_timeout", x.task_reservation_timeout);
  times(f, x);
}

template <class F, class T>
void fields_task(F&& f, T& x) {
  f("sid", x.sid);
  f("attributes", x.attributes);
  f("status", x.status);
  f("priority", x.priority);
  f("timeout", x.timeout);
  f("reason", x.reason);
  f("task_channel_sid", x.task_channel_sid);
  f("task_channel_unique_name", x.task_channel_unique_name);
  f("workflow_sid", x.workflow_sid);
  f("workflow_friendly_name", x.workflow_friendly_name);
  f("queue_sid", x.queue_sid);
  f("queue_friendly_name", x.queue_friendly_name);
  f("routing_target", x.routing_target);
  f("ignore_capacity", x.ignore_capacity);
  f("order", x.order);
  f("version", x.version);
  f("routing_filter", x.routing_filter);
  f("routing_step", x.routing_step);
  f("reserved_once", x.reserved_once);
  times(f, x);
  f("queue_entered", x.queue_entered);
  f("virtual_start", x.virtual_start);
  f("worker_sid", x.worker_sid);
  f("reservation_sid", x.reservation_sid);
}

template <class F, class R>
void fields_reservation(F&& f, R& x) {
  f("sid", x.sid);
  f("task_sid", x.task_sid);
  f("worker_sid", x.worker_sid);
  f("worker_name", x.worker_name);
  f("task_channel", x.task_channel);
  f("status", x.status);
  times(f, x);
}

// Conversations. Nested settings are flattened into their owner's fields.
template <class F, class W>
void fields_webhook_settings(F&& f, W& x) {
  f("pre_webhook_url", x.pre_webhook_url);
  f("post_webhook_url", x.post_webhook_url);
  f("webhook_filters", x.filters);
  f("webhook_method", x.method);
  f("webhook_target", x.target);
}

template <class F, class S>
void fields_cv_service(F&& f, S& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("friendly_name", x.friendly_name);
  f("default_conversation_creator_role_sid", x.default_conversation_creator_role_sid);
  f("default_conversation_role_sid", x.default_conversation_role_sid);
  f("default_chat_service_role_sid", x.default_chat_service_role_sid);
  f("reachability_enabled", x.reachability_enabled);
  fields_webhook_settings(f, x.webhooks);
  times(f, x);
}

template <class F, class C>
void fields_cv_config(F&& f, C& x) {
  f("account_sid", x.account_sid);
  f("default_chat_service_sid", x.default_chat_service_sid);
  f("default_messaging_service_sid", x.default_messaging_service_sid);
  f("default_inactive_timer", x.default_inactive_timer);
  f("default_closed_timer", x.default_closed_timer);
  fields_webhook_settings(f, x.webhooks);
}

template <class F, class C>
void fields_conversation(F&& f, C& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("chat_service_sid", x.chat_service_sid);
  f("messaging_service_sid", x.messaging_service_sid);
  f("friendly_name", x.friendly_name);
  f("unique_name", x.unique_name);
  f("attributes", x.attributes);
  f("state", x.state);
  f("timer_inactive", x.timer_inactive);
  f("timer_closed", x.timer_closed);
  f("date_inactive", x.date_inactive);
  f("date_closed", x.date_closed);
  f("bindings_email_address", x.bindings_email_address);
  f("bindings_email_name", x.bindings_email_name);
  times(f, x);
  f("next_message_index", x.next_message_index);
}

template <class F, class P>
void fields_participant(F&& f, P& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("conversation_sid", x.conversation_sid);
  f("chat_service_sid", x.chat_service_sid);
  f("identity", x.identity);
  f("attributes", x.attributes);
  f("binding_type", x.binding.type);
  f("binding_address", x.binding.address);
  f("binding_proxy_address", x.binding.proxy_address);
  f("binding_projected_address", x.binding.projected_address);
  f("role_sid", x.role_sid);
  f("last_read_message_index", x.last_read_message_index);
  f("last_read_timestamp", x.last_read_timestamp);
  times(f, x);
}

template <class F, class M>
void fields_media_ref(F&& f, M& x) {
  f("sid", x.sid);
  f("content_type", x.content_type);
  f("filename", x.filename);
  f("size", x.size);
  f("source_url", x.source_url);
}

template <class F, class R>
void fields_receipt(F&& f, R& x) {
  f("sid", x.sid);
  f("participant_sid", x.participant_sid);
  f("channel_message_sid", x.channel_message_sid);
  f("status", x.status);
  f("error_code", x.error_code);
  times(f, x);
}

template <class F, class M>
void fields_message(F&& f, M& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("conversation_sid", x.conversation_sid);
  f("chat_service_sid", x.chat_service_sid);
  f("index", x.index);
  f("author", x.author);
  f("body", x.body);
  f("attributes", x.attributes);
  f("participant_sid", x.participant_sid);
  f("media", x.media);
  f("receipts", x.receipts);
  times(f, x);
}

template <class F, class W>
void fields_cv_webhook(F&& f, W& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("conversation_sid", x.conversation_sid);
  f("target", x.target);
  f("url", x.url);
  f("method", x.method);
  f("filters", x.filters);
  f("triggers", x.triggers);
  f("flow_sid", x.flow_sid);
  f("replay_after", x.replay_after);
  times(f, x);
}

// The auto_creation object is flattened into the configuration's fields.
template <class F, class A>
void fields_cv_address(F&& f, A& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("type", x.type);
  f("address", x.address);
  f("friendly_name", x.friendly_name);
  f("auto_creation_enabled", x.auto_creation.enabled);
  f("auto_creation_type", x.auto_creation.type);
  f("auto_creation_conversation_service_sid", x.auto_creation.conversation_service_sid);
  f("auto_creation_webhook_url", x.auto_creation.webhook_url);
  f("auto_creation_webhook_method", x.auto_creation.webhook_method);
  f("auto_creation_webhook_filters", x.auto_creation.webhook_filters);
  f("auto_creation_studio_flow_sid", x.auto_creation.studio_flow_sid);
  f("auto_creation_studio_retry_count", x.auto_creation.studio_retry_count);
  f("address_country", x.address_country);
  times(f, x);
}

template <class F, class M>
void fields_media(F&& f, M& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("service_sid", x.service_sid);
  f("content_type", x.content_type);
  f("filename", x.filename);
  f("size", x.size);
  f("author", x.author);
  f("category", x.category);
  f("message_sid", x.message_sid);
  f("conversation_sid", x.conversation_sid);
  times(f, x);
}

template <class F, class K>
void fields_api_key(F&& f, K& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("friendly_name", x.friendly_name);
  f("secret", x.secret);
  times(f, x);
}

template <class F, class X>
void fields_interaction(F&& f, X& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("channel_sid", x.channel_sid);
  f("channel", x.channel);
  f("routing", x.routing);
  f("interaction_context_sid", x.interaction_context_sid);
  f("webhook_ttid", x.webhook_ttid);
  times(f, x);
}

template <class F, class X>
void fields_channel_participant(F&& f, X& x) {
  f("sid", x.sid);
  f("type", x.type);
  f("status", x.status);
  f("conversation_participant_sid", x.conversation_participant_sid);
  f("identity", x.identity);
  f("address", x.address);
  f("proxy_address", x.proxy_address);
  f("workspace_sid", x.workspace_sid);
  f("worker_sid", x.worker_sid);
  f("task_sid", x.task_sid);
  f("reservation_sid", x.reservation_sid);
  times(f, x);
}

template <class F, class X>
void fields_channel_task(F&& f, X& x) {
  f("task_sid", x.task_sid);
  f("workspace_sid", x.workspace_sid);
  f("invite_sid", x.invite_sid);
  f("worker_sid", x.worker_sid);
  f("reservation_sid", x.reservation_sid);
  f("status", x.status);
  f("auto_accept", x.auto_accept);
}

template <class F, class X>
void fields_channel_invite(F&& f, X& x) {
  f("sid", x.sid);
  f("task_sid", x.task_sid);
  f("routing", x.routing);
  f("created", x.created);
}

template <class F, class X>
void fields_interaction_channel(F&& f, X& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("interaction_sid", x.interaction_sid);
  f("type", x.type);
  f("status", x.status);
  f("error_code", x.error_code);
  f("error_message", x.error_message);
  f("conversation_sid", x.conversation_sid);
  f("initiated_by", x.initiated_by);
  f("participants", x.participants);
  f("tasks", x.tasks);
  f("invites", x.invites);
  times(f, x);
}

template <class F, class X>
void fields_studio_flow(F&& f, X& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("friendly_name", x.friendly_name);
  f("status", x.status);
  f("definition", x.definition);
  f("revision", x.revision);
  f("commit_message", x.commit_message);
  f("author_sid", x.author_sid);
  times(f, x);
}

template <class F, class X>
void fields_studio_execution(F&& f, X& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("flow_sid", x.flow_sid);
  f("flow_revision", x.flow_revision);
  f("contact_channel_address", x.contact_channel_address);
  f("flow_channel_address", x.flow_channel_address);
  f("initiated_by", x.initiated_by);
  f("status", x.status);
  f("context", x.context);
  f("current", x.current);
  f("waits", x.waits);
  f("deadline", x.deadline);
  f("conversation_sid", x.conversation_sid);
  f("chat_service_sid", x.chat_service_sid);
  f("webhook_sid", x.webhook_sid);
  f("channel_type", x.channel_type);
  times(f, x);
}

template <class F, class X>
void fields_studio_step(F&& f, X& x) {
  f("sid", x.sid);
  f("account_sid", x.account_sid);
  f("flow_sid", x.flow_sid);
  f("execution_sid", x.execution_sid);
  f("name", x.name);
  f("type", x.type);
  f("transitioned_from", x.transitioned_from);
  f("transitioned_to", x.transitioned_to);
  f("context", x.context);
  times(f, x);
}

template <class F, class E>
void fields_event(F&& f, E& x) {
  f("sid", x.sid);
  f("event_type", x.event_type);
  f("description", x.description);
  f("resource_type", x.resource_type);
  f("resource_sid", x.resource_sid);
  f("actor_type", x.actor_type);
  f("actor_sid", x.actor_sid);
  f("date", x.date);
  f("task_sid", x.task_sid);
  f("worker_sid", x.worker_sid);
  f("reservation_sid", x.reservation_sid);
  f("queue_sid", x.queue_sid);
  f("workflow_sid", x.workflow_sid);
  f("task_channel", x.task_channel);
  f("task_created", x.task_created);
}

// Dispatch by type, in both directions (X may be const for writing).
template <class F, class X>
void visit_fields(F&& f, X& x) {
  namespace cv = model::cv;
  using T = std::remove_const_t<X>;
  if constexpr (std::is_same_v<T, model::workspace>)
    fields_workspace(f, x);
  else if constexpr (std::is_same_v<T, model::activity>)
    fields_activity(f, x);
  else if constexpr (std::is_same_v<T, model::task_channel>)
    fields_channel(f, x);
  else if constexpr (std::is_same_v<T, model::task_queue>)
    fields_queue(f, x);
  else if constexpr (std::is_same_v<T, model::workflow>)
    fields_workflow(f, x);
  else if constexpr (std::is_same_v<T, model::task>)
    fields_task(f, x);
  else if constexpr (std::is_same_v<T, model::reservation>)
    fields_reservation(f, x);
  else if constexpr (std::is_same_v<T, cv::service>)
    fields_cv_service(f, x);
  else if constexpr (std::is_same_v<T, cv::account_config>)
    fields_cv_config(f, x);
  else if constexpr (std::is_same_v<T, cv::conversation>)
    fields_conversation(f, x);
  else if constexpr (std::is_same_v<T, cv::participant>)
    fields_participant(f, x);
  else if constexpr (std::is_same_v<T, cv::media_ref>)
    fields_media_ref(f, x);
  else if constexpr (std::is_same_v<T, cv::receipt>)
    fields_receipt(f, x);
  else if constexpr (std::is_same_v<T, cv::message>)
    fields_message(f, x);
  else if constexpr (std::is_same_v<T, cv::conversation_webhook>)
    fields_cv_webhook(f, x);
  else if constexpr (std::is_same_v<T, cv::address_configuration>)
    fields_cv_address(f, x);
  else if constexpr (std::is_same_v<T, cv::media>)
    fields_media(f, x);
  else if constexpr (std::is_same_v<T, model::api_key>)
    fields_api_key(f, x);
  else if constexpr (std::is_same_v<T, model::flex::interaction>)
    fields_interaction(f, x);
  else if constexpr (std::is_same_v<T, model::flex::interaction_channel>)
    fields_interaction_channel(f, x);
  else if constexpr (std::is_same_v<T, model::flex::channel_participant>)
    fields_channel_participant(f, x);
  else if constexpr (std::is_same_v<T, model::flex::channel_task>)
    fields_channel_task(f, x);
  else if constexpr (std::is_same_v<T, model::flex::channel_invite>)
    fields_channel_invite(f, x);
  else if constexpr (std::is_same_v<T, model::studio::flow> || std::is_same_v<T, model::studio::flow_revision>)
    fields_studio_flow(f, x);
  else if constexpr (std::is_same_v<T, model::studio::execution>)
    fields_studio_execution(f, x);
  else if constexpr (std::is_same_v<T, model::studio::step>)
    fields_studio_step(f, x);
  else
    static_assert(sizeof(T) == 0, "no fields for this type");
}

template <class T>
entity read_as(const json& j) {
  T x;
  visit_fields(reader{j}, x);
  return entity{std::move(x)};
}

std::string encode_worker(const model::worker& w) {
  std::string out;
  writer top{out};
  fields_worker(top, w);
  top.key("channels");
  out += '[';
  for (std::size_t i = 0; i < w.channels.size(); ++i) {
    if (i)
      out += ',';
    writer cw{out};
    fields_worker_channel(cw, w.channels[i]);
    cw.close();
  }
  out += ']';
  top.close();
  return out;
}

model::worker decode_worker(const json& j) {
  model::worker w;
  fields_worker(reader{j}, w);
  // get_ref throws json::type_error for a value of another shape, as a
  // wrong-typed scalar field does, instead of silently dropping channels.
  if (auto it = j.find("channels"); it != j.end() && !it->is_null())
    for (auto& cj : it->get_ref<const json::array_t&>()) {
      (void)cj.get_ref<const json::object_t&>();
      model::worker_channel c;
      fields_worker_channel(reader{cj}, c);
      w.channels.push_back(std::move(c));
    }
  return w;
}

} // namespace

std::string encode(const entity& e) {
  return std::visit(
    [](const auto& x) -> std::string {
      using T = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<T, model::worker>) {
        return encode_worker(x);
      } else {
        std::string out;
        out.reserve(512);
        writer w{out};
        visit_fields(w, x);
        w.close();
        return out;
      }
    },
    e);
}

model::expected<entity> decode(std::string_view kind, std::string_view doc) {
  auto index = kind_index(kind);
  if (!index)
    return model::error{model::errc::internal, 20500, "unknown entity kind '" + std::string(kind) + "'"};
  auto j = json::parse(doc, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return model::error{model::errc::internal, 20500,
                        "stored " + std::string(kind) + " is not a JSON object"};
  try {
    switch (*index) {
      case 0: return read_as<model::workspace>(j);
      case 1: return read_as<model::activity>(j);
      case 2: return read_as<model::task_channel>(j);
      case 3: return read_as<model::task_queue>(j);
      case 4: return entity{decode_worker(j)};
      case 5: return read_as<model::workflow>(j);
      case 6: return read_as<model::task>(j);
      case 7: return read_as<model::reservation>(j);
      case 8: return read_as<model::cv::service>(j);
      case 9: return read_as<model::cv::account_config>(j);
      case 10: return read_as<model::cv::conversation>(j);
      case 11: return read_as<model::cv::participant>(j);
      case 12: return read_as<model::cv::message>(j);
      case 13: return read_as<model::cv::conversation_webhook>(j);
      case 14: return read_as<model::cv::address_configuration>(j);
      case 15: return read_as<model::cv::media>(j);
      case 16: return read_as<model::api_key>(j);
      case 17: return read_as<model::flex::interaction>(j);
      case 18: return read_as<model::flex::interaction_channel>(j);
      case 19: return read_as<model::studio::flow>(j);
      case 20: return read_as<model::studio::flow_revision>(j);
      case 21: return read_as<model::studio::execution>(j);
      case 22: return read_as<model::studio::step>(j);
    }
  } catch (const json::exception& ex) {
    return model::error{model::errc::internal, 20500,
                        "stored " + std::string(kind) + " has a field of the wrong type: " + ex.what()};
  } catch (const std::out_of_range& ex) {
    return model::error{model::errc::internal, 20500,
                        "stored " + std::string(kind) + " is out of range: " + ex.what()};
  }
  return model::error{model::errc::internal, 20500, "unknown entity kind"};
}

std::string encode(const model::event& e) {
  std::string out;
  out.reserve(768);
  writer w{out};
  fields_event(w, e);
  w.key("data");
  out += '[';
  for (std::size_t i = 0; i < e.data.size(); ++i) {
    if (i)
      out += ',';
    out += '[';
    quote(out, e.data[i].first);
    out += ',';
    quote(out, e.data[i].second);
    out += ']';
  }
  out += ']';
  w.close();
  return out;
}

model::expected<model::event> decode_event(std::string_view doc) {
  auto j = json::parse(doc, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return model::error{model::errc::internal, 20500, "stored event is not a JSON object"};
  try {
    model::event e;
    fields_event(reader{j}, e);
    if (auto it = j.find("data"); it != j.end() && !it->is_null())
      for (auto& kv : it->get_ref<const json::array_t&>())
        e.data.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
    return e;
  } catch (const json::exception& ex) {
    return model::error{model::errc::internal, 20500, std::string("stored event is malformed: ") + ex.what()};
  }
}

change put(std::string scope, std::string sid, const entity& value) {
  return change{key{kind_of(value), std::move(sid)}, std::move(scope), encode(value)};
}

event_record record_event(std::string scope, const model::event& e) {
  return event_record{std::move(scope), e.sid, model::epoch_ms(e.date), encode(e)};
}

const char* kind_name(std::size_t index) {
  static const char* names[] = {"workspace",  "activity",  "task_channel", "task_queue",
                                "worker",     "workflow",  "task",         "reservation",
                                "cv_service", "cv_config", "conversation", "participant",
                                "message",    "cv_webhook", "cv_address", "media",
                                "api_key",    "interaction", "interaction_channel",
                                "studio_flow", "studio_revision", "studio_execution", "studio_step"};
  static_assert(std::size(names) == std::variant_size_v<entity>);
  return index < std::size(names) ? names[index] : "unknown";
}

std::optional<std::size_t> kind_index(std::string_view name) {
  for (std::size_t i = 0; i < std::variant_size_v<entity>; ++i)
    if (name == kind_name(i))
      return i;
  return std::nullopt;
}

} // namespace sb::store
