#include "model/form.hpp"

#include <algorithm>

#include <charconv>

namespace sb::model {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decode_component(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size())
        return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0)
        return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

} // namespace

expected<form> form::parse(std::string_view encoded) {
  form_pairs pairs;
  while (!encoded.empty()) {
    auto amp = encoded.find('&');
    std::string_view part = encoded.substr(0, amp);
    encoded = amp == std::string_view::npos ? std::string_view{} : encoded.substr(amp + 1);
    if (part.empty())
      continue;
    auto eq = part.find('=');
    std::string name, value;
    if (!decode_component(part.substr(0, eq), name) ||
        (eq != std::string_view::npos && !decode_component(part.substr(eq + 1), value)))
      return invalid_parameter("Malformed form encoding near '" +
                               std::string(part.substr(0, 64)) + "'");
    pairs.emplace_back(std::move(name), std::move(value));
  }
  return form{std::move(pairs)};
}

std::optional<std::string> form::get(std::string_view name) const {
  for (auto& [k, v] : pairs_)
    if (k == name)
      return v;
  return std::nullopt;
}

std::vector<std::string> form::all(std::string_view name) const {
  std::vector<std::string> out;
  for (auto& [k, v] : pairs_)
    if (k == name)
      out.push_back(v);
  return out;
}

bool form::has(std::string_view name) const {
  for (auto& kv : pairs_)
    if (kv.first == name)
      return true;
  return false;
}

std::optional<std::string>
form::first_unknown(std::initializer_list<std::string_view> known) const {
  for (auto& kv : pairs_) {
    bool found = false;
    for (auto k : known)
      if (kv.first == k) {
        found = true;
        break;
      }
    if (!found)
      return kv.first;
  }
  return std::nullopt;
}

expected<std::optional<bool>> form::get_bool(std::string_view name) const {
  auto v = get(name);
  if (!v)
    return std::optional<bool>{};
  if (*v == "true" || *v == "True" || *v == "TRUE" || *v == "1")
    return std::optional<bool>{true};
  if (*v == "false" || *v == "False" || *v == "FALSE" || *v == "0")
    return std::optional<bool>{false};
  return invalid_parameter(std::string(name) + " must be true or false, got '" + *v + "'");
}

expected<std::optional<long long>> form::get_int(std::string_view name, long long min,
                                                 long long max) const {
  auto v = get(name);
  if (!v)
    return std::optional<long long>{};
  long long out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc{} || p != v->data() + v->size() || v->empty())
    return invalid_parameter(std::string(name) + " must be an integer, got '" + *v + "'");
  if (out < min || out > max)
    return invalid_parameter(std::string(name) + " must be between " + std::to_string(min) +
                             " and " + std::to_string(max));
  return std::optional<long long>{out};
}

std::string url_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::string encode_form(const form_pairs& pairs) {
  std::string out;
  for (auto& [k, v] : pairs) {
    if (!out.empty())
      out.push_back('&');
    out += url_encode(k);
    out.push_back('=');
    out += url_encode(v);
  }
  return out;
}

namespace {

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > s.size())
      return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80)
        return false;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
        (c == 0xf4 && c1 >= 0x90))
      return false;
    i += n;
  }
  return true;
}

} // namespace

std::optional<std::string> form::first_not_utf8() const {
  for (auto& [k, v] : pairs())
    if (!valid_utf8(k) || !valid_utf8(v))
      return valid_utf8(k) ? k : std::string("(a name)");
  return std::nullopt;
}

void form::set(std::string name, std::string value) {
  pairs_.erase(std::remove_if(pairs_.begin(), pairs_.end(), [&](auto& kv) { return kv.first == name; }), pairs_.end());
  pairs_.emplace_back(std::move(name), std::move(value));
}

} // namespace sb::model
