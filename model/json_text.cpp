#include "model/json_text.hpp"

#include <charconv>

namespace sb::model {

namespace {

using json = nlohmann::json;

// nlohmann's own text for what this writer does not handle itself.
void append_as_nlohmann(std::string& out, const json& value) {
  out += value.dump(-1, ' ', false, json::error_handler_t::replace);
}

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void append_string(std::string& out, const std::string& s) {
  // Anything beyond ASCII goes to nlohmann, whose handling of invalid UTF-8
  // (which bytes become one U+FFFD) is the reference.
  for (unsigned char c : s)
    if (c >= 0x80) {
      append_as_nlohmann(out, json(s));
      return;
    }
  static const char* hex = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  std::size_t run = 0; // start of the characters not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(s, run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        out.append(esc, sizeof esc);
      }
    }
  }
  out.append(s, run, s.size() - run);
  out += '"';
}

} // namespace

void append_json_text(std::string& out, const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case json::value_t::number_integer:
      append_integer(out, value.get<json::number_integer_t>());
      return;
    case json::value_t::number_unsigned:
      append_integer(out, value.get<json::number_unsigned_t>());
      return;
    case json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (auto& item : value) {
        if (!first)
          out += ',';
        first = false;
        append_json_text(out, item);
      }
      out += ']';
      return;
    }
    case json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first)
          out += ',';
        first = false;
        append_string(out, it.key());
        out += ':';
        append_json_text(out, it.value());
      }
      out += '}';
      return;
    }
    default: // floating point (its shortest round-trip form), binary, discarded
      append_as_nlohmann(out, value);
      return;
  }
}

std::string json_text(const json& value) {
  std::string out;
  out.reserve(1024);
  append_json_text(out, value);
  return out;
}

} // namespace sb::model
