#pragma once
// TaskRouter expressions: the SQL-like boolean language of queue
// target_workers, workflow filters, target expressions and skip_if, e.g.
// (skills HAS 'support') AND task.priority >= 5. Parsed once, evaluated
// against JSON attributes without allocating.

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/error.hpp"

namespace sb::model {

// Named JSON scopes that keys resolve against. Any pointer may be null (then
// every key in that scope is NULL). default_scope names the scope used for keys
// with no recognised scope prefix: "task" for workflow filters, "worker" for
// queue target_workers, workflow target expressions and worker list filters.
struct expression_context {
  const nlohmann::json* task = nullptr;
  const nlohmann::json* worker = nullptr;
  const nlohmann::json* workers = nullptr;     // e.g. {"available": 3} for skip_if
  const nlohmann::json* taskrouter = nullptr;  // e.g. {"currentTime": 930, "dayOfWeek": "Mon"}
  std::string_view default_scope = "worker";
};

// The first segment of a key path ("task" for "task.a[0].b", "skills" for
// "skills[1]"); a key names a scope when this is "task", "worker", "workers"
// or "taskrouter".
std::string_view scope_of(std::string_view key);

// A parsed expression. Copies share the immutable tree, so copying is cheap.
class expression {
 public:
  // The parsed tree; defined in expression.cpp.
  struct node;

  // An empty expression: text() is "" and evaluate() is always false.
  expression() = default;

  // Parses text; an invalid expression yields error code 20001 naming the
  // problem and its 0-based byte position.
  static expected<expression> parse(std::string_view text);

  // True when the expression holds in ctx. Never throws, never allocates.
  bool evaluate(const expression_context& ctx) const;

  // The source text as given.
  const std::string& text() const { return text_; }

  // True when some key resolves in scope: explicitly ("task.x" names "task")
  // or, for keys with no scope prefix, when default_scope equals scope.
  bool references_scope(std::string_view scope, std::string_view default_scope) const;

 private:
  expression(std::string text, std::shared_ptr<const node> root);

  std::string text_;
  std::shared_ptr<const node> root_;
};

} // namespace sb::model
