// The store's document codec: every field of every entity kind and of events
// survives encode/decode, and a bad document is an error value, never a throw.

#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>

#include "samples.hpp"
#include "store/codec.hpp"

using namespace sb;
using sb::test::sample_event;
using json = nlohmann::json;

namespace {

using std::chrono::floor;
using std::chrono::microseconds;

// The sample must differ from the default (or the check proves nothing), and
// the decoded value must equal the sample.
template <class V>
void same(const char* field, const V& want, const V& got, const V& dflt) {
  INFO("field " << field);
  CHECK_FALSE(want == dflt);
  CHECK(got == want);
}

void same(const char* field, model::time_point want, model::time_point got, model::time_point dflt) {
  INFO("field " << field);
  CHECK(want != dflt);
  CHECK(want != floor<microseconds>(want)); // the sample has a sub-microsecond part
  auto want_us = std::chrono::time_point_cast<model::time_point::duration>(floor<microseconds>(want));
  CHECK(got.time_since_epoch().count() == want_us.time_since_epoch().count());
}

#define SAME(f) same(#f, want.f, got.f, dflt.f)

void compare(const model::workspace& want, const model::workspace& got) {
  model::workspace dflt;
  SAME(sid); SAME(account_sid); SAME(friendly_name); SAME(event_callback_url); SAME(events_filter);
  SAME(multi_task_enabled); SAME(prioritize_queue_order); SAME(default_activity_sid);
  SAME(default_activity_name); SAME(timeout_activity_sid); SAME(timeout_activity_name);
  SAME(created); SAME(updated);
}

void compare(const model::activity& want, const model::activity& got) {
  model::activity dflt;
  SAME(sid); SAME(friendly_name); SAME(available); SAME(created); SAME(updated);
}

void compare(const model::task_channel& want, const model::task_channel& got) {
  model::task_channel dflt;
  SAME(sid); SAME(unique_name); SAME(friendly_name); SAME(channel_optimized_routing);
  SAME(created); SAME(updated);
}

void compare(const model::task_queue& want, const model::task_queue& got) {
  model::task_queue dflt;
  SAME(sid); SAME(friendly_name); SAME(target_workers); SAME(max_reserved_workers); SAME(order);
  SAME(reservation_activity_sid); SAME(reservation_activity_name);
  SAME(assignment_activity_sid); SAME(assignment_activity_name); SAME(created); SAME(updated);
}

void compare(const model::worker_channel& want, const model::worker_channel& got) {
  model::worker_channel dflt;
  SAME(sid); SAME(task_channel_sid); SAME(task_channel_unique_name); SAME(configured_capacity);
  SAME(available); SAME(created); SAME(updated);
  // The load is deliberately not stored: recovery rebuilds it from the
  // reservations the worker holds (workspace_actor resets it to 0).
  CHECK(want.assigned_tasks != 0);
  CHECK(got.assigned_tasks == 0);
}

void compare(const model::worker& want, const model::worker& got) {
  model::worker dflt;
  SAME(sid); SAME(friendly_name); SAME(activity_sid); SAME(activity_name); SAME(available);
  SAME(attributes); SAME(created); SAME(updated); SAME(status_changed);
  REQUIRE(want.channels.size() == 2);
  REQUIRE(got.channels.size() == want.channels.size());
  for (std::size_t i = 0; i < want.channels.size(); ++i) {
    INFO("channel " << i);
    compare(want.channels[i], got.channels[i]);
  }
}

void compare(const model::workflow& want, const model::workflow& got) {
  model::workflow dflt;
  SAME(sid); SAME(friendly_name); SAME(configuration); SAME(assignment_callback_url);
  SAME(fallback_assignment_callback_url); SAME(task_reservation_timeout); SAME(created); SAME(updated);
}

void compare(const model::task& want, const model::task& got) {
  model::task dflt;
  SAME(sid); SAME(attributes); SAME(status); SAME(priority); SAME(timeout); SAME(reason);
  SAME(task_channel_sid); SAME(task_channel_unique_name); SAME(workflow_sid);
  SAME(workflow_friendly_name); SAME(queue_sid); SAME(queue_friendly_name); SAME(routing_target);
  SAME(ignore_capacity); SAME(order); SAME(version); SAME(routing_filter); SAME(routing_step);
  SAME(reserved_once); SAME(created); SAME(updated); SAME(queue_entered); SAME(virtual_start);
  SAME(worker_sid); SAME(reservation_sid);
}

void compare(const model::reservation& want, const model::reservation& got) {
  model::reservation dflt;
  SAME(sid); SAME(task_sid); SAME(worker_sid); SAME(worker_name); SAME(task_channel); SAME(status);
  SAME(created); SAME(updated);
}

void compare(const model::event& want, const model::event& got) {
  model::event dflt;
  SAME(sid); SAME(event_type); SAME(description); SAME(resource_type); SAME(resource_sid);
  SAME(actor_type); SAME(actor_sid); SAME(data); SAME(date); SAME(task_sid); SAME(worker_sid);
  SAME(reservation_sid); SAME(queue_sid); SAME(workflow_sid); SAME(task_channel); SAME(task_created);
}

void compare(const model::cv::webhook_settings& want, const model::cv::webhook_settings& got) {
  model::cv::webhook_settings dflt;
  SAME(pre_webhook_url); SAME(post_webhook_url); SAME(filters); SAME(method); SAME(target);
}

void compare(const model::cv::service& want, const model::cv::service& got) {
  model::cv::service dflt;
  SAME(sid); SAME(account_sid); SAME(friendly_name); SAME(default_conversation_creator_role_sid);
  SAME(default_conversation_role_sid); SAME(default_chat_service_role_sid); SAME(reachability_enabled);
  SAME(created); SAME(updated);
  compare(want.webhooks, got.webhooks);
}

void compare(const model::cv::account_config& want, const model::cv::account_config& got) {
  model::cv::account_config dflt;
  SAME(account_sid); SAME(default_chat_service_sid); SAME(default_messaging_service_sid);
  SAME(default_inactive_timer); SAME(default_closed_timer);
  compare(want.webhooks, got.webhooks);
}

void same(const char* field, const std::optional<model::time_point>& want,
          const std::optional<model::time_point>& got, const std::optional<model::time_point>& dflt) {
  INFO("field " << field);
  REQUIRE(want != dflt);
  REQUIRE(got.has_value());
  same(field, *want, *got, model::time_point{});
}

void compare(const model::cv::conversation& want, const model::cv::conversation& got) {
  model::cv::conversation dflt;
  SAME(sid); SAME(account_sid); SAME(chat_service_sid); SAME(messaging_service_sid); SAME(friendly_name);
  SAME(unique_name); SAME(attributes); SAME(state); SAME(timer_inactive); SAME(timer_closed);
  SAME(date_inactive); SAME(date_closed); SAME(bindings_email_address); SAME(bindings_email_name);
  SAME(created); SAME(updated); SAME(next_message_index);
}

void compare(const model::cv::participant& want, const model::cv::participant& got) {
  model::cv::participant dflt;
  SAME(sid); SAME(account_sid); SAME(conversation_sid); SAME(chat_service_sid); SAME(identity);
  SAME(attributes); SAME(binding.type); SAME(binding.address); SAME(binding.proxy_address);
  SAME(binding.projected_address); SAME(role_sid); SAME(last_read_message_index);
  SAME(last_read_timestamp); SAME(created); SAME(updated);
}

void compare(const model::cv::media_ref& want, const model::cv::media_ref& got) {
  model::cv::media_ref dflt;
  SAME(sid); SAME(content_type); SAME(filename); SAME(size);
}

void compare(const model::cv::receipt& want, const model::cv::receipt& got) {
  model::cv::receipt dflt;
  SAME(sid); SAME(participant_sid); SAME(channel_message_sid); SAME(status); SAME(error_code);
  SAME(created); SAME(updated);
}

void compare(const model::cv::message& want, const model::cv::message& got) {
  model::cv::message dflt;
  SAME(sid); SAME(account_sid); SAME(conversation_sid); SAME(chat_service_sid); SAME(index); SAME(author);
  SAME(body); SAME(attributes); SAME(participant_sid); SAME(created); SAME(updated);
  REQUIRE(want.media.size() == 2);
  REQUIRE(got.media.size() == want.media.size());
  for (std::size_t i = 0; i < want.media.size(); ++i) {
    INFO("media " << i);
    compare(want.media[i], got.media[i]);
  }
  REQUIRE(want.receipts.size() == 2);
  REQUIRE(got.receipts.size() == want.receipts.size());
  for (std::size_t i = 0; i < want.receipts.size(); ++i) {
    INFO("receipt " << i);
    compare(want.receipts[i], got.receipts[i]);
  }
}

void compare(const model::cv::conversation_webhook& want, const model::cv::conversation_webhook& got) {
  model::cv::conversation_webhook dflt;
  SAME(sid); SAME(account_sid); SAME(conversation_sid); SAME(target); SAME(url); SAME(method); SAME(filters);
  SAME(triggers); SAME(flow_sid); SAME(replay_after); SAME(created); SAME(updated);
}

void compare(const model::cv::address_configuration& want, const model::cv::address_configuration& got) {
  model::cv::address_configuration dflt;
  SAME(sid); SAME(account_sid); SAME(type); SAME(address); SAME(friendly_name); SAME(auto_creation.enabled);
  SAME(auto_creation.type); SAME(auto_creation.conversation_service_sid); SAME(auto_creation.webhook_url);
  SAME(auto_creation.webhook_method); SAME(auto_creation.webhook_filters); SAME(auto_creation.studio_flow_sid);
  SAME(auto_creation.studio_retry_count); SAME(address_country); SAME(created); SAME(updated);
}

void compare(const model::cv::media& want, const model::cv::media& got) {
  model::cv::media dflt;
  SAME(sid); SAME(account_sid); SAME(service_sid); SAME(content_type); SAME(filename); SAME(size); SAME(author);
  SAME(category); SAME(message_sid); SAME(conversation_sid); SAME(created); SAME(updated);
}

void compare(const model::api_key& want, const model::api_key& got) {
  model::api_key dflt;
  SAME(sid); SAME(account_sid); SAME(friendly_name); SAME(secret); SAME(created); SAME(updated);
}

void compare(const model::flex::interaction& want, const model::flex::interaction& got) {
  model::flex::interaction dflt;
  SAME(sid); SAME(account_sid); SAME(channel_sid); SAME(channel); SAME(routing); SAME(interaction_context_sid);
  SAME(webhook_ttid); SAME(created); SAME(updated);
}

void compare(const model::flex::channel_participant& want, const model::flex::channel_participant& got) {
  model::flex::channel_participant dflt;
  SAME(sid); SAME(type); SAME(status); SAME(conversation_participant_sid); SAME(identity); SAME(address);
  SAME(proxy_address); SAME(workspace_sid); SAME(worker_sid); SAME(task_sid); SAME(reservation_sid); SAME(created);
  SAME(updated);
}

void compare(const model::flex::channel_task& want, const model::flex::channel_task& got) {
  model::flex::channel_task dflt;
  SAME(task_sid); SAME(workspace_sid); SAME(invite_sid); SAME(worker_sid); SAME(reservation_sid); SAME(status);
  SAME(auto_accept);
}

void compare(const model::flex::channel_invite& want, const model::flex::channel_invite& got) {
  model::flex::channel_invite dflt;
  SAME(sid); SAME(task_sid); SAME(routing); SAME(created);
}

void compare(const model::flex::interaction_channel& want, const model::flex::interaction_channel& got) {
  model::flex::interaction_channel dflt;
  SAME(sid); SAME(account_sid); SAME(interaction_sid); SAME(type); SAME(status); SAME(error_code); SAME(error_message);
  SAME(conversation_sid); SAME(initiated_by); SAME(created); SAME(updated);
  REQUIRE(got.participants.size() == want.participants.size());
  REQUIRE(got.tasks.size() == want.tasks.size());
  REQUIRE(got.invites.size() == want.invites.size());
  for (std::size_t i = 0; i < want.participants.size(); ++i)
    compare(want.participants[i], got.participants[i]);
  for (std::size_t i = 0; i < want.tasks.size(); ++i)
    compare(want.tasks[i], got.tasks[i]);
  for (std::size_t i = 0; i < want.invites.size(); ++i)
    compare(want.invites[i], got.invites[i]);
}

template <class F>
void compare_flow(const F& want, const F& got) {
  F dflt;
  SAME(sid); SAME(account_sid); SAME(friendly_name); SAME(status); SAME(definition); SAME(revision);
  SAME(commit_message); SAME(author_sid); SAME(created); SAME(updated);
}
void compare(const model::studio::flow& want, const model::studio::flow& got) { compare_flow(want, got); }
void compare(const model::studio::flow_revision& want, const model::studio::flow_revision& got) {
  compare_flow(want, got);
}

void compare(const model::studio::execution& want, const model::studio::execution& got) {
  model::studio::execution dflt;
  SAME(sid); SAME(account_sid); SAME(flow_sid); SAME(flow_revision); SAME(contact_channel_address);
  SAME(flow_channel_address); SAME(initiated_by); SAME(status); SAME(context); SAME(current); SAME(waits);
  SAME(deadline); SAME(conversation_sid); SAME(chat_service_sid); SAME(webhook_sid); SAME(channel_type);
  SAME(created); SAME(updated);
}

void compare(const model::studio::step& want, const model::studio::step& got) {
  model::studio::step dflt;
  SAME(sid); SAME(account_sid); SAME(flow_sid); SAME(execution_sid); SAME(name); SAME(type);
  SAME(transitioned_from); SAME(transitioned_to); SAME(context); SAME(created); SAME(updated);
}

#undef SAME

// One sample of every kind, in the variant's order.
std::vector<store::entity> samples() {
  return {test::sample_workspace(),    test::sample_activity(),   test::sample_channel(),
          test::sample_queue(),        test::sample_worker(),     test::sample_workflow(),
          test::sample_task(),         test::sample_reservation(), test::sample_cv_service(),
          test::sample_cv_config(),    test::sample_conversation(), test::sample_participant(),
          test::sample_message(),      test::sample_cv_webhook(),  test::sample_cv_address(),
          test::sample_cv_media(),     test::sample_api_key(),    test::sample_interaction(),
          test::sample_interaction_channel(), test::sample_studio_flow(), test::sample_studio_revision(),
          test::sample_studio_execution(), test::sample_studio_step()};
}

// decode() that fails the test if it throws.
model::expected<store::entity> safe_decode(std::string_view kind, std::string_view doc) {
  try {
    return store::decode(kind, doc);
  } catch (const std::exception& e) {
    FAIL("decode threw: " << e.what() << " for " << doc);
  } catch (...) {
    FAIL("decode threw a non-exception for " << doc);
  }
  return model::error{};
}

model::expected<model::event> safe_decode_event(std::string_view doc) {
  try {
    return store::decode_event(doc);
  } catch (const std::exception& e) {
    FAIL("decode_event threw: " << e.what() << " for " << doc);
  } catch (...) {
    FAIL("decode_event threw a non-exception for " << doc);
  }
  return model::error{};
}

// A JSON value of another type than v, which the decoder must refuse.
json wrong_type_for(const json& v) {
  if (v.is_string())
    return 42;
  return "42";
}

} // namespace

TEST_CASE("every entity kind has a name and the names map back to the variant", "[store]") {
  auto all = samples();
  REQUIRE(all.size() == std::variant_size_v<store::entity>);
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO("index " << i);
    REQUIRE(all[i].index() == i);
    std::string name = store::kind_name(i);
    CHECK(name != "unknown");
    CHECK(store::kind_of(all[i]) == name);
    REQUIRE(store::kind_index(name));
    CHECK(*store::kind_index(name) == i);
  }
  // The names are the database's keys: they may never change.
  const std::vector<std::string> names{"workspace", "activity",   "task_channel", "task_queue", "worker",
                                       "workflow",  "task",       "reservation",  "cv_service", "cv_config",
                                       "conversation", "participant", "message",  "cv_webhook",
                                       "cv_address", "media", "api_key", "interaction", "interaction_channel",
                                       "studio_flow", "studio_revision", "studio_execution", "studio_step"};
  REQUIRE(names.size() == all.size());
  for (std::size_t i = 0; i < names.size(); ++i)
    CHECK(store::kind_name(i) == names[i]);
  CHECK_FALSE(store::kind_index("gadget"));
  CHECK_FALSE(store::kind_index(""));
  CHECK(std::string(store::kind_name(all.size())) == "unknown");

  auto c = store::put("WSx", "WKy", store::entity{test::sample_worker("WKy")});
  CHECK(c.what == store::key{"worker", "WKy"});
  CHECK(c.scope == "WSx");
  REQUIRE(c.doc);
  CHECK(*c.doc == store::encode(store::entity{test::sample_worker("WKy")}));
  // An account's configuration has no SID of its own: it is stored under
  // its account SID.
  auto cfg = store::entity{test::sample_cv_config("ACcfg")};
  CHECK(store::sid_of(cfg) == "ACcfg");
  CHECK(store::sid_of(store::entity{test::sample_message("IMm")}) == "IMm");
  auto pc = store::put("ACcfg", cfg);
  CHECK(pc.what == store::key{"cv_config", "ACcfg"});
  CHECK(pc.scope == "ACcfg");
  REQUIRE(pc.doc);
  CHECK(*pc.doc == store::encode(cfg));
  auto e = store::erase("task", "WTz", "WSx");
  CHECK(e.what == store::key{"task", "WTz"});
  CHECK_FALSE(e.doc);
}

TEST_CASE("every entity kind survives encode and decode field by field", "[store]") {
  for (auto& original : samples()) {
    std::string kind = store::kind_of(original);
    SECTION(kind) {
      auto doc = store::encode(original);
      auto back = safe_decode(kind, doc);
      if (!back)
        FAIL("decode failed: " << back.err().message);
      REQUIRE(back->index() == original.index());
      std::visit(
        [&](const auto& want) {
          using T = std::decay_t<decltype(want)>;
          compare(want, std::get<T>(*back));
        },
        original);
      // Decoding is stable: the decoded value encodes to the same document.
      CHECK(store::encode(*back) == doc);
    }
  }
}

TEST_CASE("an event survives encode and decode field by field", "[store]") {
  auto original = sample_event();
  auto doc = store::encode(original);
  auto back = safe_decode_event(doc);
  if (!back)
    FAIL("decode failed: " << back.err().message);
  compare(original, *back);
  CHECK(store::encode(*back) == doc);
}

TEST_CASE("a document that is not a JSON object decodes to an error", "[store]") {
  const char* bad[] = {"", "garbage", "{", "{\"sid\":", "[]", "[1,2]", "42", "null", "\"text\"", "true"};
  for (auto& original : samples()) {
    std::string kind = store::kind_of(original);
    for (auto* doc : bad) {
      INFO(kind << " from '" << doc << "'");
      auto r = safe_decode(kind, doc);
      REQUIRE_FALSE(r);
      CHECK(r.err().message.find(kind) != std::string::npos);
    }
  }
  for (auto* doc : bad) {
    INFO("event from '" << doc << "'");
    CHECK_FALSE(safe_decode_event(doc));
  }
}

TEST_CASE("an unknown kind decodes to an error naming the kind", "[store]") {
  auto doc = store::encode(store::entity{test::sample_task()});
  for (std::string kind : {"gadget", "", "Task", "tasks"}) {
    INFO("kind '" << kind << "'");
    auto r = safe_decode(kind, doc);
    REQUIRE_FALSE(r);
    CHECK(r.err().message.find("'" + kind + "'") != std::string::npos);
  }
}

TEST_CASE("a field of the wrong type decodes to an error, for every field", "[store]") {
  std::size_t mutations = 0;
  for (auto& original : samples()) {
    std::string kind = store::kind_of(original);
    auto j = json::parse(store::encode(original));
    for (auto& [field, value] : j.items()) {
      for (json replacement : {wrong_type_for(value), json::object()}) {
        auto mutated = j;
        mutated[field] = replacement;
        INFO(kind << "." << field << " = " << replacement.dump());
        auto r = safe_decode(kind, mutated.dump());
        CHECK_FALSE(r);
        ++mutations;
      }
    }
  }
  CHECK(mutations > 100);
}

TEST_CASE("a worker's channels of the wrong shape decode to an error", "[store]") {
  auto j = json::parse(store::encode(store::entity{test::sample_worker()}));
  REQUIRE(j["channels"].is_array());
  REQUIRE(j["channels"].size() == 2);
  auto channel = j["channels"][0];
  std::vector<json> bad = {"two channels", 7, json::object(), json::array({7}),
                           json::array({"WC1"}), json::array({json::array()})};
  for (auto& [field, value] : channel.items()) {
    auto c = channel;
    c[field] = wrong_type_for(value);
    bad.push_back(json::array({c}));
  }
  for (auto& b : bad) {
    auto mutated = j;
    mutated["channels"] = b;
    INFO("channels = " << b.dump());
    CHECK_FALSE(safe_decode("worker", mutated.dump()));
  }
}

TEST_CASE("an event field of the wrong type decodes to an error", "[store]") {
  auto j = json::parse(store::encode(sample_event()));
  std::size_t mutations = 0;
  for (auto& [field, value] : j.items()) {
    for (json replacement : {wrong_type_for(value), json::object()}) {
      auto mutated = j;
      mutated[field] = replacement;
      INFO(field << " = " << replacement.dump());
      CHECK_FALSE(safe_decode_event(mutated.dump()));
      ++mutations;
    }
  }
  CHECK(mutations == 2 * 16); // sixteen fields, data included
  for (json data : {json::array({json::array({"only a name"})}), json::array({json::array({1, 2})}),
                    json::array({"name=value"}), json::array({json::object({{"k", "v"}})})}) {
    auto mutated = j;
    mutated["data"] = data;
    INFO("data = " << data.dump());
    CHECK_FALSE(safe_decode_event(mutated.dump()));
  }
}

TEST_CASE("missing and null fields keep their defaults, so older documents still load", "[store]") {
  auto r = safe_decode("task", R"({"sid":"WT1","priority":null})");
  REQUIRE(r);
  auto& t = std::get<model::task>(*r);
  model::task dflt;
  CHECK(t.sid == "WT1");
  CHECK(t.priority == dflt.priority);
  CHECK(t.timeout == dflt.timeout);
  CHECK(t.routing_filter == dflt.routing_filter);
  CHECK(t.attributes == dflt.attributes);

  auto m = safe_decode("message", R"({"sid":"IM1","media":null})");
  REQUIRE(m);
  auto& msg = std::get<model::cv::message>(*m);
  CHECK(msg.media.empty());
  CHECK(msg.receipts.empty());
  CHECK(msg.attributes == model::cv::message{}.attributes);
  auto p = safe_decode("participant", R"({"sid":"MB1","last_read_message_index":null})");
  REQUIRE(p);
  CHECK_FALSE(std::get<model::cv::participant>(*p).last_read_message_index);
  CHECK_FALSE(std::get<model::cv::participant>(*p).last_read_timestamp);
  auto c = safe_decode("conversation", R"({"sid":"CH1"})");
  REQUIRE(c);
  CHECK(std::get<model::cv::conversation>(*c).state == model::cv::conversation{}.state);
  CHECK_FALSE(std::get<model::cv::conversation>(*c).date_closed);
  auto h = safe_decode("cv_webhook", R"({"sid":"WH1"})");
  REQUIRE(h);
  CHECK(std::get<model::cv::conversation_webhook>(*h).method == "POST");
  CHECK_FALSE(std::get<model::cv::conversation_webhook>(*h).replay_after);
  auto ig = safe_decode("cv_address", R"({"sid":"IG1","auto_creation_studio_retry_count":null})");
  REQUIRE(ig);
  CHECK(std::get<model::cv::address_configuration>(*ig).auto_creation.type == "default");
  CHECK(std::get<model::cv::address_configuration>(*ig).auto_creation.webhook_method == "POST");
  CHECK_FALSE(std::get<model::cv::address_configuration>(*ig).auto_creation.studio_retry_count);

  auto me = safe_decode("media", R"({"sid":"ME1","filename":null})");
  REQUIRE(me);
  CHECK(std::get<model::cv::media>(*me).author == "system");
  CHECK(std::get<model::cv::media>(*me).category == "media");
  CHECK(std::get<model::cv::media>(*me).filename.empty());
  CHECK(std::get<model::cv::media>(*me).size == 0);

  auto w = safe_decode("worker", R"({"sid":"WK1"})");
  REQUIRE(w);
  CHECK(std::get<model::worker>(*w).channels.empty());

  auto e = safe_decode_event(R"({"sid":"EV1"})");
  REQUIRE(e);
  CHECK(e->sid == "EV1");
  CHECK(e->actor_type == model::event{}.actor_type);
  CHECK(e->data.empty());
}

TEST_CASE("any bytes in a text field encode to a document that decodes", "[store]") {
  // Quotes, backslashes, control characters, multi-byte UTF-8, and bytes
  // that are not UTF-8 at all (a client may send anything in a name).
  const std::string valid = "q\"b\\\\n\n\t\x01 é 漢 😀";
  const std::string invalid = std::string("a\xff") + "b\xc3" + "\xed\xa0\x80" + "\xf0\x82\x82\xac" + "z";
  model::task t;
  t.sid = "WTabc";
  t.attributes = valid;
  t.reason = invalid;
  auto doc = store::encode(store::entity{t});
  auto back = store::decode("task", doc);
  REQUIRE(back);
  auto& u = std::get<model::task>(*back);
  CHECK(u.attributes == valid);
  // Each byte that is not UTF-8 becomes U+FFFD; the rest survives.
  CHECK(u.reason.front() == 'a');
  CHECK(u.reason.back() == 'z');
  CHECK(u.reason.find("\xef\xbf\xbd") != std::string::npos);
  CHECK(u.reason.find('b') != std::string::npos);

  model::event e;
  e.sid = "EVx";
  e.data = {{"k\"", valid}, {invalid, "v"}};
  auto ev = store::decode_event(store::encode(e));
  REQUIRE(ev);
  CHECK(ev->data.size() == 2);
  CHECK(ev->data[0] == std::pair<std::string, std::string>{"k\"", valid});
  CHECK(ev->data[1].second == "v");
}

TEST_CASE("an enum value outside its range decodes to an error", "[store]") {
  for (auto [kind, field, last] : {std::tuple{"task", "status", 5}, std::tuple{"reservation", "status", 7},
                                   std::tuple{"task_queue", "order", 1}, std::tuple{"workspace", "prioritize_queue_order", 1},
                                   std::tuple{"conversation", "state", 3}}) {
    INFO(kind << "." << field);
    for (int bad : {-1, last + 1, 99}) {
      json doc{{"sid", "XX1"}, {field, bad}};
      auto r = store::decode(kind, doc.dump());
      REQUIRE_FALSE(r);
      CHECK(r.err().message.find(field) != std::string::npos);
    }
    json ok_doc{{"sid", "XX1"}, {field, last}};
    CHECK(store::decode(kind, ok_doc.dump()));
  }
}

TEST_CASE("a receipt status outside its range decodes to an error", "[store]") {
  auto j = json::parse(store::encode(store::entity{test::sample_message()}));
  for (int bad : {-1, 5, 99}) {
    auto mutated = j;
    mutated["receipts"][1]["status"] = bad;
    auto r = safe_decode("message", mutated.dump());
    REQUIRE_FALSE(r);
    CHECK(r.err().message.find("status") != std::string::npos);
  }
  auto ok = j;
  ok["receipts"][1]["status"] = 4;
  auto r = safe_decode("message", ok.dump());
  REQUIRE(r);
  CHECK(std::get<model::cv::message>(*r).receipts[1].status == model::cv::delivery_status::undelivered);
}

TEST_CASE("nested lists of the wrong shape decode to an error", "[store]") {
  struct list {
    const char* kind;
    const char* field;
    store::entity sample;
  };
  for (auto& [kind, field, sample] : {list{"message", "media", test::sample_message()},
                                      list{"message", "receipts", test::sample_message()},
                                      list{"cv_webhook", "filters", test::sample_cv_webhook()},
                                      list{"cv_webhook", "triggers", test::sample_cv_webhook()},
                                      list{"cv_service", "webhook_filters", test::sample_cv_service()},
                                      list{"cv_config", "webhook_filters", test::sample_cv_config()},
                                      list{"cv_address", "auto_creation_webhook_filters", test::sample_cv_address()}}) {
    auto j = json::parse(store::encode(sample));
    REQUIRE(j[field].is_array());
    REQUIRE_FALSE(j[field].empty());
    std::vector<json> bad = {"a list", 7, json::object(), json::array({7}), json::array({json::array()})};
    if (j[field][0].is_object()) {
      bad.push_back(json::array({"ME1"}));
      // Each field of an element, of the wrong type.
      auto element = j[field][0];
      for (auto& [k, v] : element.items()) {
        auto e = element;
        e[k] = wrong_type_for(v);
        bad.push_back(json::array({e}));
      }
    } else {
      bad.push_back(json::array({json::object()}));
    }
    for (auto& b : bad) {
      auto mutated = j;
      mutated[field] = b;
      INFO(kind << "." << field << " = " << b.dump());
      CHECK_FALSE(safe_decode(kind, mutated.dump()));
    }
    // An empty list is a list.
    auto empty = j;
    empty[field] = json::array();
    CHECK(safe_decode(kind, empty.dump()));
  }
}
