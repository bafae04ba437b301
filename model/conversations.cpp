#include "model/conversations.hpp"

#include <limits>

#include "model/sid.hpp"

#include <nlohmann/json.hpp>

namespace sb::model::cv {

const char* to_string(conversation_state s) {
  switch (s) {
    case conversation_state::initializing: return "initializing";
    case conversation_state::inactive: return "inactive";
    case conversation_state::active: return "active";
    case conversation_state::closed: return "closed";
  }
  return "active";
}

std::optional<conversation_state> parse_conversation_state(std::string_view t) {
  for (auto s : {conversation_state::initializing, conversation_state::inactive,
                 conversation_state::active, conversation_state::closed})
    if (t == to_string(s))
      return s;
  return std::nullopt;
}

const char* to_string(delivery_status s) {
  switch (s) {
    case delivery_status::sent: return "sent";
    case delivery_status::delivered: return "delivered";
    case delivery_status::read: return "read";
    case delivery_status::failed: return "failed";
    case delivery_status::undelivered: return "undelivered";
  }
  return "sent";
}

std::optional<delivery_status> parse_delivery_status(std::string_view t) {
  for (auto s : {delivery_status::sent, delivery_status::delivered, delivery_status::read,
                 delivery_status::failed, delivery_status::undelivered})
    if (t == to_string(s))
      return s;
  return std::nullopt;
}

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  // P[nW][nD][T[nH][nM][nS]]: each designator at most once, in this order,
  // each with at least one digit; Y and month-M have no fixed length.
  if (text.size() < 3 || text.front() != 'P')
    return std::nullopt;
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  struct unit {
    char designator;
    bool time_part;
    std::int64_t ms;
  };
  static constexpr unit units[] = {{'W', false, 7 * 86'400'000LL}, {'D', false, 86'400'000LL},
                                   {'H', true, 3'600'000LL},       {'M', true, 60'000LL},
                                   {'S', true, 1'000LL}};
  std::size_t pos = 1, next_unit = 0;
  bool in_time = false, any = false, any_in_time = false;
  std::int64_t total = 0;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time)
        return std::nullopt;
      in_time = true;
      ++pos;
      continue;
    }
    std::int64_t n = 0;
    std::size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n > (max - (text[pos] - '0')) / 10)
        return std::nullopt;
      n = n * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start || pos == text.size())
      return std::nullopt; // a designator without digits, or digits without one
    char d = text[pos++];
    std::size_t u = next_unit;
    while (u < std::size(units) && (units[u].designator != d || units[u].time_part != in_time))
      ++u;
    if (u == std::size(units))
      return std::nullopt; // unknown, out of order, repeated, or on the wrong side of T
    next_unit = u + 1;
    if (n > max / units[u].ms || total > max - n * units[u].ms)
      return std::nullopt;
    total += n * units[u].ms;
    any = true;
    any_in_time = any_in_time || in_time;
  }
  if (!any || (in_time && !any_in_time))
    return std::nullopt; // "P", "PT", "P1DT"
  return total;
}

namespace {

bool e164_digits(std::string_view s) {
  if (s.size() < 3 || s.size() > 16 || s.front() != '+')
    return false;
  for (std::size_t i = 1; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

} // namespace

std::optional<std::string> address_type(std::string_view address) {
  constexpr std::string_view wa = "whatsapp:";
  if (address.substr(0, wa.size()) == wa)
    return e164_digits(address.substr(wa.size())) ? std::optional<std::string>("whatsapp") : std::nullopt;
  if (e164_digits(address))
    return std::string("sms");
  return std::nullopt;
}

expected<std::monostate> check_attributes(std::string_view text, std::size_t limit, std::string_view what) {
  if (text.size() > limit)
    return invalid_parameter(std::string(what) + " must be at most " + std::to_string(limit) +
                             " bytes (got " + std::to_string(text.size()) + ")");
  if (!nlohmann::json::accept(text))
    return invalid_parameter(std::string(what) + " must be valid JSON (at most " +
                             std::to_string(limit) + " bytes)");
  return std::monostate{};
}

std::optional<delivery_summary> summarize(const message& m) {
  if (m.receipts.empty())
    return std::nullopt;
  delivery_summary out;
  out.total = m.receipts.size();
  // Statuses accumulate, as Twilio's summaries do (a message "can have zero
  // or more" statuses per participant): a read message was also delivered,
  // and a delivered or undelivered one was sent. failed is only failed.
  auto reached = [](delivery_status have, delivery_status s) {
    using ds = delivery_status;
    switch (s) {
      case ds::sent: return have != ds::failed;
      case ds::delivered: return have == ds::delivered || have == ds::read;
      default: return have == s;
    }
  };
  auto of = [&](delivery_status s) -> std::string {
    std::size_t n = 0;
    for (auto& r : m.receipts)
      n += reached(r.status, s) ? 1 : 0;
    return n == 0 ? "none" : n == out.total ? "all" : "some";
  };
  out.sent = of(delivery_status::sent);
  out.delivered = of(delivery_status::delivered);
  out.read = of(delivery_status::read);
  out.failed = of(delivery_status::failed);
  out.undelivered = of(delivery_status::undelivered);
  return out;
}


bool is_address_type(std::string_view type) {
  for (std::string_view t : {"sms", "whatsapp", "messenger", "gbm", "email", "rcs", "apple", "chat"})
    if (type == t)
      return true;
  return false;
}

std::optional<std::string> canonical_address(std::string_view type, std::string_view address) {
  if (type == "sms")
    return e164_digits(address) ? std::optional<std::string>(std::string(address)) : std::nullopt;
  if (type == "whatsapp") {
    constexpr std::string_view wa = "whatsapp:";
    auto number = address.substr(0, wa.size()) == wa ? address.substr(wa.size()) : address;
    return e164_digits(number) ? std::optional<std::string>("whatsapp:" + std::string(number)) : std::nullopt;
  }
  if (!is_address_type(type) || address.empty() || address.size() > limits::name)
    return std::nullopt;
  for (char c : address)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return std::nullopt;
  if (type == "email") {
    auto at = address.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 == address.size())
      return std::nullopt;
  }
  return std::string(address);
}

expected<std::optional<conversation_state>> apply_conversation_form(const form& p, conversation& conv) {
  if (auto u = p.first_unknown({"FriendlyName", "UniqueName", "DateCreated", "DateUpdated",
                                "MessagingServiceSid", "Attributes", "State", "Timers.Inactive",
                                "Timers.Closed", "Bindings.Email.Address", "Bindings.Email.Name"}))
    return invalid_parameter("Unknown parameter " + *u);
  for (auto* name : {"FriendlyName", "UniqueName"})
    if (auto v = p.get(name); v && v->size() > limits::name)
      return invalid_parameter(std::string(name) + " is longer than 256 characters");
  if (auto v = p.get("UniqueName"); v && is_sid(*v, "CH"))
    return invalid_parameter("UniqueName cannot have the form of a conversation SID");
  if (auto v = p.get("Attributes"))
    if (auto r = check_attributes(*v, limits::conversation_attributes, "Attributes"); !r)
      return r.err();
  std::optional<conversation_state> state;
  if (auto s = p.get("State")) {
    state = parse_conversation_state(*s);
    if (!state || *state == conversation_state::initializing)
      return invalid_parameter("State must be one of active, inactive, closed");
  }
  for (auto* name : {"Timers.Inactive", "Timers.Closed"})
    if (auto v = p.get(name); v && !v->empty() && !parse_duration_ms(*v))
      return invalid_parameter(std::string(name) + " must be an ISO-8601 duration such as PT10M");
  if (auto v = p.get("MessagingServiceSid"); v && !v->empty() && !is_sid(*v, "MG"))
    return invalid_parameter("MessagingServiceSid must be a messaging service SID (MG...)");
  auto next = conv;
  for (auto [name, field] : {std::pair{"DateCreated", &next.created}, std::pair{"DateUpdated", &next.updated}})
    if (auto v = p.get(name)) {
      auto t = parse_iso8601(*v);
      if (!t)
        return invalid_parameter(std::string(name) + " must be an ISO-8601 date");
      *field = *t;
    }
  if (auto v = p.get("FriendlyName")) next.friendly_name = *v;
  if (auto v = p.get("UniqueName")) next.unique_name = *v;
  if (auto v = p.get("MessagingServiceSid")) next.messaging_service_sid = *v;
  if (auto v = p.get("Attributes")) next.attributes = *v;
  if (auto v = p.get("Timers.Inactive")) next.timer_inactive = *v;
  if (auto v = p.get("Timers.Closed")) next.timer_closed = *v;
  if (auto v = p.get("Bindings.Email.Address")) next.bindings_email_address = *v;
  if (auto v = p.get("Bindings.Email.Name")) next.bindings_email_name = *v;
  conv = std::move(next);
  return state;
}

std::size_t code_points(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80)
      ++n;
  return n;
}

expected<inbound_message> parse_inbound(const form& p) {
  inbound_message m;
  m.from = p.get("From").value_or("");
  m.to = p.get("To").value_or("");
  auto from_type = address_type(m.from);
  auto to_type = address_type(m.to);
  if (!from_type)
    return invalid_parameter("From must be an E.164 number (+15551234567) or whatsapp:+15551234567", 21212);
  if (!to_type || *to_type != *from_type)
    return invalid_parameter("To must be an address of the same channel as From", 21211);
  m.type = *from_type;
  m.body = p.get("Body").value_or("");
  if (m.body.size() > limits::body)
    return invalid_parameter("Body is longer than 32 KB", 50511);
  m.carrier_sid = p.get("MessageSid").value_or("");
  auto count = p.get_int("NumMedia", 0, 10);
  if (!count)
    return invalid_parameter("NumMedia must be a number from 0 to 10");
  for (std::int64_t i = 0; i < count->value_or(0); ++i) {
    auto n = std::to_string(i);
    auto url = p.get("MediaUrl" + n).value_or("");
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
      return invalid_parameter("MediaUrl" + n + " must be an http or https URL");
    m.media.push_back({url, p.get("MediaContentType" + n).value_or("application/octet-stream")});
  }
  if (m.body.empty() && m.media.empty())
    return invalid_parameter("An inbound message needs a Body or media", 50511);
  return m;
}

} // namespace sb::model::cv
