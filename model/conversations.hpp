#pragma once
// Conversations v1 value types: plain data, each owned by one actor (the
// conversations directory owns services and configuration; a conversation
// actor owns its participants, messages, receipts and scoped webhooks).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/clock.hpp"
#include "model/error.hpp"
#include "model/form.hpp"

namespace sb::model::cv {

// Pre- and post-action webhooks of an account or a service.
struct webhook_settings {
  std::string pre_webhook_url;
  std::string post_webhook_url;
  std::vector<std::string> filters; // onMessageAdd, onMessageAdded, ...
  std::string method = "POST";      // GET or POST
  std::string target = "webhook";   // account level only: webhook or flex
};

// The account's Conversations configuration (GET/POST /v1/Configuration).
struct account_config {
  std::string account_sid;
  std::string default_chat_service_sid;
  std::string default_messaging_service_sid;
  std::string default_inactive_timer; // ISO-8601 duration, empty: none
  std::string default_closed_timer;
  webhook_settings webhooks;
};

struct service {
  std::string sid; // IS
  std::string account_sid;
  std::string friendly_name;
  // Service configuration.
  std::string default_conversation_creator_role_sid;
  std::string default_conversation_role_sid;
  std::string default_chat_service_role_sid;
  bool reachability_enabled = false;
  webhook_settings webhooks;
  time_point created, updated;
};

enum class conversation_state { initializing, inactive, active, closed };
const char* to_string(conversation_state s);
std::optional<conversation_state> parse_conversation_state(std::string_view s);

struct conversation {
  std::string sid; // CH
  std::string account_sid;
  std::string chat_service_sid;
  std::string messaging_service_sid;
  std::string friendly_name;
  std::string unique_name;
  std::string attributes = "{}";
  conversation_state state = conversation_state::active;
  // Timers as given (ISO-8601 durations) and the moments they fire; a timer
  // is re-armed by every message or participant change.
  std::string timer_inactive, timer_closed;
  std::optional<time_point> date_inactive, date_closed;
  std::string bindings_email_address, bindings_email_name;
  time_point created, updated;
  std::uint64_t next_message_index = 0;
};

// How a non-chat participant is reached.
struct messaging_binding {
  std::string type; // sms, whatsapp (empty: chat participant)
  std::string address;
  std::string proxy_address;
  std::string projected_address; // group MMS / group chat: the address others see
};

struct participant {
  std::string sid; // MB
  std::string account_sid;
  std::string conversation_sid;
  std::string chat_service_sid;
  std::string identity; // chat participants
  std::string attributes = "{}";
  messaging_binding binding;
  std::string role_sid;
  std::optional<std::int64_t> last_read_message_index;
  std::optional<time_point> last_read_timestamp;
  time_point created, updated;
};

struct media_ref {
  std::string sid; // ME
  std::string content_type;
  std::string filename;
  std::int64_t size = 0;
  // Where the content was offered from (an inbound message's MediaUrlN);
  // empty for uploaded media.
  std::string source_url;
};

enum class delivery_status { sent, delivered, read, failed, undelivered };
const char* to_string(delivery_status s);
std::optional<delivery_status> parse_delivery_status(std::string_view s);

// One participant's receipt of one message.
struct receipt {
  std::string sid; // DY
  std::string participant_sid;
  std::string channel_message_sid; // the carrier's SM/MM SID
  delivery_status status = delivery_status::sent;
  int error_code = 0;
  time_point created, updated;
};

struct message {
  std::string sid; // IM
  std::string account_sid;
  std::string conversation_sid;
  std::string chat_service_sid;
  std::uint64_t index = 0;
  std::string author;
  std::string body;
  std::string attributes = "{}";
  std::string participant_sid;
  std::vector<media_ref> media;
  std::vector<receipt> receipts;
  time_point created, updated;
};

// A conversation-scoped webhook.
struct conversation_webhook {
  std::string sid; // WH
  std::string account_sid;
  std::string conversation_sid;
  std::string target; // webhook, studio, trigger
  std::string url;
  std::string method = "POST";
  std::vector<std::string> filters;
  std::vector<std::string> triggers;
  std::string flow_sid;
  std::optional<std::int64_t> replay_after;
  time_point created, updated;
};

// Twilio's documented limits.
struct limits {
  static constexpr std::size_t conversation_attributes = 16 * 1024;
  static constexpr std::size_t participant_attributes = 4 * 1024;
  static constexpr std::size_t message_attributes = 4 * 1024;
  static constexpr std::size_t name = 256; // friendly name, unique name, identity
  static constexpr std::size_t body = 32 * 1024;
  static constexpr std::size_t participants = 1000;
  static constexpr std::size_t non_chat_participants = 50;
  static constexpr std::size_t outbound_sms_chars = 1600;
};

// An ISO-8601 duration ("PT5M", "P1DT2H", "PT90S") as milliseconds; nullopt
// when malformed. Years and months are not accepted (they have no fixed length).
std::optional<std::int64_t> parse_duration_ms(std::string_view text);

// "+15551234567" (E.164) or "whatsapp:+15551234567": the binding type it
// implies (sms or whatsapp), or nullopt for anything else.
std::optional<std::string> address_type(std::string_view address);

// Checks a conversation create or update form (known names, name lengths, a
// UniqueName that is not a CH SID, attributes, State, timers, messaging
// service, dates) and, when all is valid, applies every field it names to
// conv except State, which is returned for the caller to move through its
// own rules. Nothing is applied on an error.
expected<std::optional<conversation_state>> apply_conversation_form(const form& p, conversation& conv);

// Checks attributes: valid JSON text no longer than limit.
expected<std::monostate> check_attributes(std::string_view text, std::size_t limit, std::string_view what);

// The delivery summary of a message: per status "all", "some" or "none" over
// its receipts; nullopt when the message has no receipts (chat only).
struct delivery_summary {
  std::size_t total = 0;
  std::string sent, delivered, read, failed, undelivered;
};
std::optional<delivery_summary> summarize(const message& m);


// How an address configuration auto-creates a conversation for an inbound
// message that belongs to none (Twilio's `auto_creation` object).
struct address_auto_creation {
  bool enabled = false;
  std::string type = "default";         // default, webhook, studio
  std::string conversation_service_sid; // IS; empty: the account's default service
  std::string webhook_url;              // type webhook
  std::string webhook_method = "POST";  // GET or POST
  std::vector<std::string> webhook_filters;
  std::string studio_flow_sid;          // type studio: FW
  std::optional<std::int64_t> studio_retry_count;
};

// One address the account receives messages on (/v1/Configuration/Addresses).
// At most one per (type, address) and account; sms and whatsapp addresses
// are kept in their canonical form (see canonical_address).
struct address_configuration {
  std::string sid; // IG
  std::string account_sid;
  std::string type; // sms, whatsapp, messenger, gbm, email, rcs, apple, chat
  std::string address;
  std::string friendly_name;
  address_auto_creation auto_creation;
  std::string address_country; // ISO 3166-1 alpha-2, upper case; empty: none
  time_point created, updated;
};

// The address types Twilio knows.
bool is_address_type(std::string_view type);

// An address as stored for its type: sms is E.164 ("+15551234567");
// whatsapp is "whatsapp:+15551234567" and may be given without the prefix;
// other types keep what was given (non-empty, at most 256 characters, no
// whitespace; email needs an '@'). nullopt when it does not fit the type.
std::optional<std::string> canonical_address(std::string_view type, std::string_view address);

// An inbound message in Twilio's incoming-message webhook form.
struct inbound_message {
  std::string type;   // sms or whatsapp, from the From address
  std::string from;   // the sender (MessagingBinding.Address)
  std::string to;     // our address (MessagingBinding.ProxyAddress)
  std::string body;
  std::string carrier_sid; // MessageSid (SM/MM), as the gateway gave it
  struct media {
    std::string url, content_type;
  };
  std::vector<media> media;
};

// Checks and reads the form: From and To are addresses of one channel
// (+E.164, or both whatsapp:+E.164), Body at most 32 KB, NumMedia (0-10)
// MediaUrlN and MediaContentTypeN, a Body or media. Other fields Twilio
// sends (SmsSid, NumSegments, ProfileName, WaId, geography) are accepted
// and ignored.
expected<inbound_message> parse_inbound(const form& p);

// The length of text in Unicode code points (SMS limits count characters).
std::size_t code_points(std::string_view text);

} // namespace sb::model::cv
