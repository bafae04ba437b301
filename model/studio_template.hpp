#pragma once
// Studio's Liquid templates: the "{{ trigger.message.Body | upcase }}" text of
// widget properties. Parsed once when a flow is saved (so a bad variable or
// filter is a validation error, code 20001), rendered against an execution's
// context every time a widget runs.
//
// Supported: literal text; output tags {{ value | filter: arg, arg | filter }}
// where a value is a dotted path with optional [n] / ["key"] indexing, a
// quoted string, a number, true, false, nil, empty or blank; "{{-" / "-}}"
// and "{%-" / "-%}" trim whitespace beside the tag; the tags if / elsif /
// else / endif and unless / else / endunless with ==, !=, <>, <, >, <=, >=,
// contains, and, or (evaluated right to left, as Liquid does) and bare
// values (only nil and false are false).

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/clock.hpp"
#include "model/error.hpp"

namespace sb::model {

// The roots a template variable may start with.
inline constexpr std::string_view studio_template_roots[] = {"trigger", "flow", "widgets", "contact"};

// A parsed template. Copies share the immutable program, so copying is cheap.
class template_text {
 public:
  // The parsed program; defined in studio_template.cpp.
  struct program;

  // An empty template: renders "".
  template_text() = default;

  // The source text as given.
  const std::string& source() const { return source_; }

  // True when the text holds no tags: rendering gives source() unchanged.
  bool is_literal() const { return program_ == nullptr; }

 private:
  friend expected<template_text> parse_template(std::string_view text);
  friend std::string render(const template_text& t, const nlohmann::json& context, time_point now);

  std::string source_;
  std::shared_ptr<const program> program_;
};

// Parses text. Errors (code 20001) name the problem: an unclosed tag with its
// byte offset, an unsupported tag, a variable outside studio_template_roots,
// an unknown filter or a filter given the wrong number of arguments.
expected<template_text> parse_template(std::string_view text);

// Renders t against context ({"trigger": ..., "flow": ..., "widgets": ...,
// "contact": ...}). A missing key renders as ""; strings render raw; numbers
// and booleans as their JSON text; null as ""; objects and arrays as compact
// JSON. "now" in the date filter is the given time. A filter that cannot
// compute (divided_by: 0) yields nil. Never throws.
std::string render(const template_text& t, const nlohmann::json& context, time_point now);

// As above with now read from the system clock.
std::string render(const template_text& t, const nlohmann::json& context);

// A JSON value whose strings are templates (a property that is an object or
// an array, such as set-variables' variables). Object keys are not templates.
class json_template {
 public:
  json_template() = default;

  // The value as given.
  const nlohmann::json& source() const { return source_; }

  // Every string that holds tags, by its JSON pointer inside source().
  const std::vector<std::pair<nlohmann::json::json_pointer, template_text>>& templates() const {
    return templates_;
  }

 private:
  friend expected<json_template> parse_json_template(const nlohmann::json& value);

  nlohmann::json source_;
  std::vector<std::pair<nlohmann::json::json_pointer, template_text>> templates_;
};

// Parses every string inside value. An error names the JSON pointer of the
// first bad string (when it is not value itself) before the template error.
expected<json_template> parse_json_template(const nlohmann::json& value);

// source() with every template string replaced by its rendering.
nlohmann::json render_json(const json_template& t, const nlohmann::json& context, time_point now);

} // namespace sb::model
