#pragma once
// Entities with every field set to something other than its default, so a
// field the codec forgets cannot pass unnoticed.

#include <chrono>
#include <cstdint>
#include <string>

#include "model/conversations.hpp"
#include "model/access_token.hpp"
#include "model/interactions.hpp"
#include "model/media.hpp"
#include "model/studio.hpp"
#include "model/taskrouter.hpp"

namespace sb::test {

// A time with a sub-microsecond part (the store keeps microseconds).
inline model::time_point at(std::int64_t micros_since_epoch, int extra_ns = 789) {
  return model::time_point(std::chrono::duration_cast<model::time_point::duration>(
    std::chrono::microseconds(micros_since_epoch) + std::chrono::nanoseconds(extra_ns)));
}

constexpr std::int64_t base_us = 1'790'000'000'123'456; // 2026-09, with a fraction

inline model::workspace sample_workspace(const std::string& sid = "WS00000000000000000000000000000001") {
  model::workspace x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.friendly_name = "Support \"EU\" – nuit\nline two";
  x.event_callback_url = "https://example.test/events?a=1&b=2";
  x.events_filter = "task.created,worker.activity.update";
  x.multi_task_enabled = false;
  x.prioritize_queue_order = model::task_order::lifo;
  x.default_activity_sid = "WA00000000000000000000000000000001";
  x.default_activity_name = "Offline";
  x.timeout_activity_sid = "WA00000000000000000000000000000002";
  x.timeout_activity_name = "Timed out";
  x.created = at(base_us + 1);
  x.updated = at(base_us + 2);
  return x;
}

inline model::activity sample_activity(const std::string& sid = "WA00000000000000000000000000000003") {
  model::activity x;
  x.sid = sid;
  x.friendly_name = "Lunch";
  x.available = true;
  x.created = at(base_us + 3);
  x.updated = at(base_us + 4);
  return x;
}

inline model::task_channel sample_channel() {
  model::task_channel x;
  x.sid = "TC00000000000000000000000000000001";
  x.unique_name = "whatsapp";
  x.friendly_name = "WhatsApp";
  x.channel_optimized_routing = true;
  x.created = at(base_us + 5);
  x.updated = at(base_us + 6);
  return x;
}

inline model::task_queue sample_queue() {
  model::task_queue x;
  x.sid = "WQ00000000000000000000000000000001";
  x.friendly_name = "Billing";
  x.target_workers = "skills HAS 'billing' AND level >= 2";
  x.max_reserved_workers = 5;
  x.order = model::task_order::lifo;
  x.reservation_activity_sid = "WA00000000000000000000000000000004";
  x.reservation_activity_name = "Reserved";
  x.assignment_activity_sid = "WA00000000000000000000000000000005";
  x.assignment_activity_name = "Busy";
  x.created = at(base_us + 7);
  x.updated = at(base_us + 8);
  return x;
}

inline model::worker_channel sample_worker_channel(int n) {
  model::worker_channel c;
  c.sid = "WC0000000000000000000000000000000" + std::to_string(n);
  c.task_channel_sid = "TC0000000000000000000000000000000" + std::to_string(n);
  c.task_channel_unique_name = "chan" + std::to_string(n);
  c.configured_capacity = 3 + n;
  c.assigned_tasks = 2; // not stored: recovery counts the load from held reservations
  c.available = false;
  c.created = at(base_us + 100 + n);
  c.updated = at(base_us + 200 + n);
  return c;
}

inline model::worker sample_worker(const std::string& sid = "WK00000000000000000000000000000001") {
  model::worker x;
  x.sid = sid;
  x.friendly_name = "Ada";
  x.activity_sid = "WA00000000000000000000000000000006";
  x.activity_name = "Available";
  x.available = true;
  x.attributes = R"({"skills":["billing"],"level":3})";
  x.channels = {sample_worker_channel(1), sample_worker_channel(2)};
  x.created = at(base_us + 9);
  x.updated = at(base_us + 10);
  x.status_changed = at(base_us + 11);
  return x;
}

inline model::workflow sample_workflow() {
  model::workflow x;
  x.sid = "WW00000000000000000000000000000001";
  x.friendly_name = "Main";
  x.configuration = R"({"task_routing":{"filters":[],"default_filter":{"queue":"WQ1"}}})";
  x.assignment_callback_url = "https://example.test/assign";
  x.fallback_assignment_callback_url = "https://example.test/fallback";
  x.task_reservation_timeout = 45;
  x.created = at(base_us + 12);
  x.updated = at(base_us + 13);
  return x;
}

inline model::task sample_task(const std::string& sid = "WT00000000000000000000000000000001",
                               std::uint64_t order = 18'000'000'000'000'000'001ULL) {
  model::task x;
  x.sid = sid;
  x.attributes = R"({"type":"support","nested":{"x":[1,2]}})";
  x.status = model::task_status::wrapping;
  x.priority = -7;
  x.timeout = 3600;
  x.reason = "customer hung up";
  x.task_channel_sid = "TC00000000000000000000000000000002";
  x.task_channel_unique_name = "voice";
  x.workflow_sid = "WW00000000000000000000000000000002";
  x.workflow_friendly_name = "Escalations";
  x.queue_sid = "WQ00000000000000000000000000000002";
  x.queue_friendly_name = "Tier 2";
  x.routing_target = "WK00000000000000000000000000000009";
  x.ignore_capacity = true;
  x.order = order; // above 2^63: the unsigned range must survive
  x.version = 42;
  x.routing_filter = 3;
  x.routing_step = 2;
  x.reserved_once = true;
  x.created = at(base_us + 14);
  x.updated = at(base_us + 15);
  x.queue_entered = at(base_us + 16);
  x.virtual_start = at(base_us - 1'000'000'000);
  x.worker_sid = "WK00000000000000000000000000000002";
  x.reservation_sid = "WR00000000000000000000000000000001";
  return x;
}

inline model::reservation sample_reservation(const std::string& sid = "WR00000000000000000000000000000002") {
  model::reservation x;
  x.sid = sid;
  x.task_sid = "WT00000000000000000000000000000003";
  x.worker_sid = "WK00000000000000000000000000000003";
  x.worker_name = "Grace";
  x.task_channel = "chat";
  x.status = model::reservation_status::rescinded;
  x.created = at(base_us + 17);
  x.updated = at(base_us + 18);
  return x;
}

inline model::event sample_event(const std::string& sid = "EV00000000000000000000000000000001",
                                 model::time_point date = at(base_us + 19)) {
  model::event x;
  x.sid = sid;
  x.event_type = "reservation.accepted";
  x.description = "Reservation accepted by \"Ada\"";
  x.resource_type = "reservation";
  x.resource_sid = "WR00000000000000000000000000000004";
  x.actor_type = "worker";
  x.actor_sid = "WK00000000000000000000000000000004";
  x.data = {{"task_priority", "5"}, {"task_attributes", R"({"a":"b"})"}, {"empty", ""}};
  x.date = date;
  x.task_sid = "WT00000000000000000000000000000004";
  x.worker_sid = "WK00000000000000000000000000000005";
  x.reservation_sid = "WR00000000000000000000000000000005";
  x.queue_sid = "WQ00000000000000000000000000000004";
  x.workflow_sid = "WW00000000000000000000000000000004";
  x.task_channel = "sms";
  x.task_created = at(base_us - 5'000'000);
  return x;
}

// Conversations.

inline model::cv::webhook_settings sample_webhook_settings(const std::string& tag) {
  model::cv::webhook_settings w;
  w.pre_webhook_url = "https://example.test/pre/" + tag;
  w.post_webhook_url = "https://example.test/post/" + tag;
  w.filters = {"onMessageAdd", "onConversationRemoved", "with \"quote\""};
  w.method = "GET";
  w.target = "flex";
  return w;
}

inline model::cv::service sample_cv_service(const std::string& sid = "IS00000000000000000000000000000001") {
  model::cv::service x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.friendly_name = "Support «chat»";
  x.default_conversation_creator_role_sid = "RL00000000000000000000000000000001";
  x.default_conversation_role_sid = "RL00000000000000000000000000000002";
  x.default_chat_service_role_sid = "RL00000000000000000000000000000003";
  x.reachability_enabled = true;
  x.webhooks = sample_webhook_settings("service");
  x.created = at(base_us + 20);
  x.updated = at(base_us + 21);
  return x;
}

inline model::cv::account_config sample_cv_config(const std::string& account = "ACffffffffffffffffffffffffffffffff") {
  model::cv::account_config x;
  x.account_sid = account;
  x.default_chat_service_sid = "IS00000000000000000000000000000002";
  x.default_messaging_service_sid = "MG00000000000000000000000000000001";
  x.default_inactive_timer = "PT5M";
  x.default_closed_timer = "P1D";
  x.webhooks = sample_webhook_settings("account");
  return x;
}

inline model::cv::conversation sample_conversation(const std::string& sid = "CH00000000000000000000000000000001") {
  model::cv::conversation x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.chat_service_sid = "IS00000000000000000000000000000003";
  x.messaging_service_sid = "MG00000000000000000000000000000002";
  x.friendly_name = "Order #42";
  x.unique_name = "order-42";
  x.attributes = R"({"order":42,"tags":["vip"]})";
  x.state = model::cv::conversation_state::inactive;
  x.timer_inactive = "PT1M";
  x.timer_closed = "PT10M";
  x.date_inactive = at(base_us + 22);
  x.date_closed = at(base_us + 23);
  x.bindings_email_address = "customer@example.test";
  x.bindings_email_name = "Customer";
  x.created = at(base_us + 24);
  x.updated = at(base_us + 25);
  x.next_message_index = 18'000'000'000'000'000'002ULL;
  return x;
}

inline model::cv::participant sample_participant(const std::string& sid = "MB00000000000000000000000000000001",
                                                 const std::string& conversation = "CH00000000000000000000000000000001") {
  model::cv::participant x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.conversation_sid = conversation;
  x.chat_service_sid = "IS00000000000000000000000000000003";
  x.identity = "alice";
  x.attributes = R"({"role":"customer"})";
  x.binding = {"whatsapp", "whatsapp:+15551230001", "whatsapp:+15551230002", "+15551230003"};
  x.role_sid = "RL00000000000000000000000000000004";
  x.last_read_message_index = 9'000'000'000LL;
  x.last_read_timestamp = at(base_us + 26);
  x.created = at(base_us + 27);
  x.updated = at(base_us + 28);
  return x;
}

inline model::cv::media_ref sample_media(int n) {
  model::cv::media_ref m;
  m.sid = "ME0000000000000000000000000000000" + std::to_string(n);
  m.content_type = "image/png";
  m.filename = "photo " + std::to_string(n) + ".png";
  m.size = 5'000'000'000LL + n; // above 2^32
  return m;
}

inline model::cv::receipt sample_receipt(int n) {
  model::cv::receipt r;
  r.sid = "DY0000000000000000000000000000000" + std::to_string(n);
  r.participant_sid = "MB0000000000000000000000000000000" + std::to_string(n);
  r.channel_message_sid = "SM0000000000000000000000000000000" + std::to_string(n);
  r.status = n == 1 ? model::cv::delivery_status::undelivered : model::cv::delivery_status::read;
  r.error_code = 30000 + n;
  r.created = at(base_us + 300 + n);
  r.updated = at(base_us + 400 + n);
  return r;
}

inline model::cv::message sample_message(const std::string& sid = "IM00000000000000000000000000000001",
                                         const std::string& conversation = "CH00000000000000000000000000000001",
                                         std::uint64_t index = 18'000'000'000'000'000'003ULL) {
  model::cv::message x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.conversation_sid = conversation;
  x.chat_service_sid = "IS00000000000000000000000000000003";
  x.index = index;
  x.author = "alice";
  x.body = "Hello \"there\"\nsecond line";
  x.attributes = R"({"importance":"high"})";
  x.participant_sid = "MB00000000000000000000000000000001";
  x.media = {sample_media(1), sample_media(2)};
  x.receipts = {sample_receipt(1), sample_receipt(2)};
  x.created = at(base_us + 29);
  x.updated = at(base_us + 30);
  return x;
}

inline model::cv::conversation_webhook sample_cv_webhook(const std::string& sid = "WH00000000000000000000000000000001",
                                                        const std::string& conversation = "CH00000000000000000000000000000001") {
  model::cv::conversation_webhook x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.conversation_sid = conversation;
  x.target = "trigger";
  x.url = "https://example.test/trigger";
  x.method = "GET";
  x.filters = {"onMessageAdded"};
  x.triggers = {"help", "stop"};
  x.flow_sid = "FW00000000000000000000000000000001";
  x.replay_after = 12;
  x.created = at(base_us + 31);
  x.updated = at(base_us + 32);
  return x;
}

inline model::cv::address_configuration sample_cv_address(const std::string& sid = "IG00000000000000000000000000000001") {
  model::cv::address_configuration x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.type = "whatsapp";
  x.address = "whatsapp:+15551230009";
  x.friendly_name = "Support «WhatsApp»";
  x.auto_creation.enabled = true;
  x.auto_creation.type = "webhook";
  x.auto_creation.conversation_service_sid = "IS00000000000000000000000000000004";
  x.auto_creation.webhook_url = "https://example.test/auto";
  x.auto_creation.webhook_method = "GET";
  x.auto_creation.webhook_filters = {"onMessageAdded", "onParticipantAdded"};
  x.auto_creation.studio_flow_sid = "FW00000000000000000000000000000002";
  x.auto_creation.studio_retry_count = 3;
  x.address_country = "US";
  x.created = at(base_us + 33);
  x.updated = at(base_us + 34);
  return x;
}

inline model::cv::media sample_cv_media(const std::string& sid = "ME00000000000000000000000000000001",
                                        const std::string& service = "IS00000000000000000000000000000001") {
  model::cv::media x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.service_sid = service;
  x.content_type = "image/png";
  x.filename = "photo «1».png";
  x.size = 5'000'000'123;
  x.author = "alice";
  x.category = "media-other";
  x.message_sid = "IM00000000000000000000000000000009";
  x.conversation_sid = "CH00000000000000000000000000000009";
  x.created = at(base_us + 35);
  x.updated = at(base_us + 36);
  return x;
}

inline model::api_key sample_api_key(const std::string& sid = "SK00000000000000000000000000000001") {
  model::api_key x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.friendly_name = "web chat «tokens»";
  x.secret = "s3cr3t with \"quotes\" and \\ slashes";
  x.created = at(base_us + 37);
  x.updated = at(base_us + 38);
  return x;
}

inline model::flex::interaction sample_interaction(const std::string& sid = "KD00000000000000000000000000000001") {
  model::flex::interaction x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.channel_sid = "UO00000000000000000000000000000001";
  x.channel = R"({"type":"sms","sid":"UO00000000000000000000000000000001"})";
  x.routing = R"({"reservation":null,"properties":{"sid":"WT00000000000000000000000000000001"}})";
  x.interaction_context_sid = "HR00000000000000000000000000000001";
  x.webhook_ttid = "flex_interactionwebhook_0000";
  x.created = at(base_us + 39);
  x.updated = at(base_us + 40);
  return x;
}

inline model::flex::interaction_channel sample_interaction_channel(
  const std::string& sid = "UO00000000000000000000000000000001") {
  model::flex::interaction_channel x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.interaction_sid = "KD00000000000000000000000000000001";
  x.type = "whatsapp";
  x.status = model::flex::channel_status::inactive;
  x.error_code = 30003;
  x.error_message = "unreachable «handset»";
  x.conversation_sid = "CH00000000000000000000000000000001";
  x.initiated_by = "agent";
  model::flex::channel_participant p;
  p.sid = "UT00000000000000000000000000000001";
  p.type = model::flex::participant_type::agent;
  p.status = model::flex::participant_status::wrapup;
  p.conversation_participant_sid = "MB00000000000000000000000000000001";
  p.identity = "alice";
  p.address = "whatsapp:+15550001111";
  p.proxy_address = "whatsapp:+15559990000";
  p.workspace_sid = "WS00000000000000000000000000000001";
  p.worker_sid = "WK00000000000000000000000000000001";
  p.task_sid = "WT00000000000000000000000000000001";
  p.reservation_sid = "WR00000000000000000000000000000001";
  p.created = at(base_us + 41);
  p.updated = at(base_us + 42);
  x.participants = {p};
  model::flex::channel_task t;
  t.task_sid = "WT00000000000000000000000000000001";
  t.workspace_sid = "WS00000000000000000000000000000001";
  t.invite_sid = "KG00000000000000000000000000000001";
  t.worker_sid = "WK00000000000000000000000000000001";
  t.reservation_sid = "WR00000000000000000000000000000001";
  t.status = "wrapping";
  t.auto_accept = true;
  x.tasks = {t};
  model::flex::channel_invite i;
  i.sid = "KG00000000000000000000000000000001";
  i.task_sid = "WT00000000000000000000000000000002";
  i.routing = R"({"properties":{"sid":"WT00000000000000000000000000000002"}})";
  i.created = at(base_us + 43);
  x.invites = {i};
  x.created = at(base_us + 44);
  x.updated = at(base_us + 45);
  return x;
}

inline model::studio::flow sample_studio_flow(const std::string& sid = "FW00000000000000000000000000000001") {
  model::studio::flow x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.friendly_name = "greeter «1»";
  x.status = "published";
  x.definition = R"({"states":[{"name":"Trigger","type":"trigger","transitions":[]}]})";
  x.revision = 7;
  x.commit_message = "go \"live\"";
  x.author_sid = "US00000000000000000000000000000001";
  x.created = at(base_us + 46);
  x.updated = at(base_us + 47);
  return x;
}

inline model::studio::flow_revision sample_studio_revision(const std::string& sid = "FW00000000000000000000000000000001") {
  model::studio::flow_revision x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.friendly_name = "greeter";
  x.status = "draft";
  x.definition = R"({"states":[]})";
  x.revision = 3;
  x.commit_message = "third";
  x.author_sid = "US00000000000000000000000000000002";
  x.created = at(base_us + 48);
  x.updated = at(base_us + 49);
  return x;
}

inline model::studio::execution sample_studio_execution(const std::string& sid = "FN00000000000000000000000000000001") {
  model::studio::execution x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.flow_sid = "FW00000000000000000000000000000001";
  x.flow_revision = 4;
  x.contact_channel_address = "+15557770000";
  x.flow_channel_address = "+15550001111";
  x.initiated_by = "MB00000000000000000000000000000001";
  x.status = "ended";
  x.context = R"({"flow":{"data":{"name":"Ann"}}})";
  x.current = "ask";
  x.waits = model::studio::waiting::reply;
  x.deadline = at(base_us + 50);
  x.conversation_sid = "CH00000000000000000000000000000001";
  x.chat_service_sid = "IS00000000000000000000000000000001";
  x.webhook_sid = "WH00000000000000000000000000000001";
  x.channel_type = "whatsapp";
  x.created = at(base_us + 51);
  x.updated = at(base_us + 52);
  return x;
}

inline model::studio::step sample_studio_step(const std::string& sid = "FT00000000000000000000000000000001") {
  model::studio::step x;
  x.sid = sid;
  x.account_sid = "ACffffffffffffffffffffffffffffffff";
  x.flow_sid = "FW00000000000000000000000000000001";
  x.execution_sid = "FN00000000000000000000000000000001";
  x.name = "incomingMessage";
  x.type = "send-and-wait-for-reply";
  x.transitioned_from = "ask";
  x.transitioned_to = "split";
  x.context = R"({"inbound":{"Body":"yes"}})";
  x.created = at(base_us + 53);
  x.updated = at(base_us + 54);
  return x;
}

} // namespace sb::test
