#pragma once
// application/x-www-form-urlencoded bodies and query strings, as Twilio's
// clients send them: PascalCase names, repeated names for arrays.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/error.hpp"

namespace sb::model {

using form_pairs = std::vector<std::pair<std::string, std::string>>;

// A decoded form. Lookups are by exact name; order of repeats is kept.
class form {
 public:
  form() = default;
  explicit form(form_pairs pairs) : pairs_(std::move(pairs)) {}

  // Decodes "a=1&b=x%20y"; '+' is a space. Fails on a bad %-escape.
  static expected<form> parse(std::string_view encoded);

  // First value of name, if present.
  std::optional<std::string> get(std::string_view name) const;
  // Every value of name, in order.
  std::vector<std::string> all(std::string_view name) const;
  bool has(std::string_view name) const;

  // Name of the first parameter not in known, if any (for strict validation).
  std::optional<std::string> first_unknown(std::initializer_list<std::string_view> known) const;
  // The first name whose name or value is not valid UTF-8, if any.
  std::optional<std::string> first_not_utf8() const;

  // Typed accessors: nullopt when absent; an error when present but malformed.
  expected<std::optional<bool>> get_bool(std::string_view name) const;
  expected<std::optional<long long>> get_int(std::string_view name, long long min,
                                             long long max) const;

  const form_pairs& pairs() const { return pairs_; }
  void add(std::string name, std::string value) { pairs_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every value of name with this one.
  void set(std::string name, std::string value);

 private:
  form_pairs pairs_;
};

// Percent-encodes for a form or query string (space as %20).
std::string url_encode(std::string_view text);

// Encodes pairs as a form body.
std::string encode_form(const form_pairs& pairs);

} // namespace sb::model
