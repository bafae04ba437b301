#include "model/expression.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

using sb::model::expression;
using sb::model::expression_context;
using json = nlohmann::json;

namespace {

constexpr const char* W = R"({
  "skills": ["support", "sales"], "languages": ["en", "es"], "level": 5,
  "rating": 4.5, "name": "Alice Smith", "surname": "O'Brien", "active": true,
  "team": {"name": "blue", "lead": {"name": "Bob"}}, "scores": [10, 20, 30],
  "matrix": [[1, 2], [3, 4]], "zip": "02134", "code": "42", "empty": [],
  "nothing": null, "big": 18446744073709551615, "neg": -3
})";

constexpr const char* T = R"({
  "type": "ticket", "priority": 3, "customer": {"tier": "gold", "value": 1500.5},
  "required": "support", "langs": ["es", "fr"], "skill": "sales", "level": 5,
  "vip": false, "tags": ["a", "b"]
})";

std::optional<json> doc(const char* text) {
  if (text == nullptr) return std::nullopt;
  return json::parse(text);
}

// Each row runs with default scope "worker", as for queue target_workers.
struct eval_row {
  const char* expr;
  const char* task;
  const char* worker;
  bool want;
};

const eval_row eval_rows[] = {
    // constants
    {"1==1", T, W, true},
    {"1 == 2", T, W, false},
    {"0 != 1", T, W, true},
    {"\"apple\" != \"orange\"", T, W, true},
    {"'apple' == \"apple\"", T, W, true},
    {"1 = 1", T, W, true},
    {"1.0 == 1", T, W, true},
    {"1.00 == 1.0", T, W, true},
    {"-1 < 0", T, W, true},
    {"-2.5 < -2", T, W, true},
    {"0800 == 800", T, W, true},
    {"true == TRUE", T, W, true},
    {"false == False", T, W, true},
    {"true != false", T, W, true},
    {"true == 1", T, W, false},
    {"'true' == true", T, W, false},
    // scalar keys and every comparison operator
    {"level == 5", T, W, true},
    {"level = 5", T, W, true},
    {"level != 5", T, W, false},
    {"level > 4", T, W, true},
    {"level > 5", T, W, false},
    {"level >= 5", T, W, true},
    {"level < 5", T, W, false},
    {"level <= 5", T, W, true},
    {"level == 5", T, R"({"level": 5.0})", true},
    {"rating > 4", T, W, true},
    {"rating == 4.5", T, W, true},
    {"rating < 4.4", T, W, false},
    {"big > 9223372036854775807", T, W, true},
    {"neg < big", T, W, true},
    {"neg > -4", T, W, true},
    {"name == 'Alice Smith'", T, W, true},
    {"name == 'alice smith'", T, W, false},
    {"name < 'Bob'", T, W, true},
    {"name > 'Bob'", T, W, false},
    {"'B' < 'a'", T, W, true},
    {"surname == 'O\\'Brien'", T, W, true},
    {"surname == \"O'Brien\"", T, W, true},
    {"active == true", T, W, true},
    {"active != true", T, W, false},
    {"active > false", T, W, false},
    // nested keys and indexes
    {"team.name == 'blue'", T, W, true},
    {"team.lead.name == 'Bob'", T, W, true},
    {"skills[0] == 'support'", T, W, true},
    {"skills[1] == 'sales'", T, W, true},
    {"skills[2] == 'sales'", T, W, false},
    {"scores[2] > 25", T, W, true},
    {"matrix[1][0] == 3", T, W, true},
    {"team[0] == 'blue'", T, W, false},
    {"name.first == 'Alice'", T, W, false},
    {"skills.first == 'support'", T, W, false},
    // NULL: missing keys and JSON null
    {"missing == 1", T, W, false},
    {"missing != 1", T, W, true},
    {"'x' != missing", T, W, true},
    {"missing != other_missing", T, W, false},
    {"missing == other_missing", T, W, false},
    {"missing > 1", T, W, false},
    {"missing <= 1", T, W, false},
    {"missing IN ['a']", T, W, false},
    {"missing NOT IN ['a']", T, W, false},
    {"missing HAS 'a'", T, W, false},
    {"missing CONTAINS 'a'", T, W, false},
    {"skills HAS missing", T, W, false},
    {"nothing == 1", T, W, false},
    {"nothing != 1", T, W, true},
    {"team.missing.deeper == 'x'", T, W, false},
    {"level == 5", T, nullptr, false},
    {"level != 5", T, nullptr, true},
    // CONTAINS
    {"name CONTAINS 'Smith'", T, W, true},
    {"name CONTAINS 'smith'", T, W, false},
    {"name contains 'Alice'", T, W, true},
    {"skills CONTAINS 'support'", T, W, true},
    {"skills CONTAINS 'supp'", T, W, false},
    {"scores CONTAINS 20", T, W, true},
    {"level CONTAINS 5", T, W, false},
    // HAS
    {"skills HAS 'support'", T, W, true},
    {"skills HAS 'billing'", T, W, false},
    {"skills has 'sales'", T, W, true},
    {"skills Has 'sales'", T, W, true},
    {"name HAS 'Alice Smith'", T, W, true},
    {"name HAS 'Alice'", T, W, false},
    {"scores HAS '20'", T, W, true},
    {"empty HAS 'x'", T, W, false},
    // IN and NOT IN
    {"name IN ['Alice Smith', 'Bob']", T, W, true},
    {"name IN ['Bob']", T, W, false},
    {"level IN [1, 5, 9]", T, W, true},
    {"level IN ['5']", T, W, true},
    {"skills IN ['sales', 'billing']", T, W, true},
    {"skills IN ['billing']", T, W, false},
    {"level IN []", T, W, false},
    {"name in [\"Alice Smith\"]", T, W, true},
    {"name IN['Alice Smith']", T, W, true},
    {"active IN [true]", T, W, true},
    {"name NOT IN ['Bob']", T, W, true},
    {"name NOT IN ['Alice Smith']", T, W, false},
    {"skills NOT IN ['billing']", T, W, true},
    {"skills NOT IN ['sales']", T, W, false},
    {"level not in [1, 2]", T, W, true},
    {"level Not In [5]", T, W, false},
    {"level NOT IN []", T, W, true},
    // numbers against strings
    {"zip == 2134", T, W, true},
    {"zip == '2134'", T, W, false},
    {"code > 41", T, W, true},
    {"code < 41.5", T, W, false},
    {"code == '42'", T, W, true},
    {"name == 0", T, W, false},
    {"name > 0", T, W, false},
    {"name < 0", T, W, false},
    {"'10' < '9'", T, W, true},
    {"10 < 9", T, W, false},
    // AND, OR, precedence, parentheses
    {"level == 5 AND rating > 4", T, W, true},
    {"level == 5 AND rating > 5", T, W, false},
    {"level == 4 OR rating > 4", T, W, true},
    {"level == 4 OR rating > 5", T, W, false},
    {"level == 5 and name CONTAINS 'Al'", T, W, true},
    {"level == 4 Or level == 5", T, W, true},
    {"level>=5 AND rating<=4.5", T, W, true},
    {"1 == 1 OR 1 == 2 AND 1 == 2", T, W, true},
    {"(1 == 1 OR 1 == 2) AND 1 == 2", T, W, false},
    {"1 == 2 AND 1 == 2 OR 1 == 1", T, W, true},
    {"1 == 2 AND (1 == 2 OR 1 == 1)", T, W, false},
    {"((level == 5))", T, W, true},
    {"(skills HAS 'support') AND (languages HAS 'en')", T, W, true},
    {"(skills HAS 'support') AND (languages HAS 'de')", T, W, false},
    // task and worker keys side by side
    {"skills HAS task.skill", T, W, true},
    {"task.required IN worker.skills", T, W, true},
    {"task.level == worker.level", T, W, true},
    {"task.level == level", T, W, true},
    {"task.priority < level", T, W, true},
    {"task.langs HAS worker.languages[1]", T, W, true},
    {"worker.languages IN task.langs", T, W, true},
    {"task.customer.tier == 'gold'", T, W, true},
    {"task.customer.value > 1500", T, W, true},
    {"task.vip == false", T, W, true},
    {"task.tags[1] == 'b'", T, W, true},
    {"task.type == 'lead'", T, W, false},
    {"task.missing != 'x'", T, W, true},
    {"task.type == 'ticket'", nullptr, W, false},
    {"task.x == 1", T, R"({"task": {"x": 1}})", false},
};

struct scope_row {
  const char* expr;
  const char* default_scope;
  const char* task;
  const char* worker;
  const char* workers;
  bool want;
};

const scope_row scope_rows[] = {
    {"type == 'ticket'", "task", T, W, nullptr, true},
    {"type == 'ticket'", "worker", T, W, nullptr, false},
    {"priority == 3", "task", T, W, nullptr, true},
    {"customer.tier == 'gold' AND langs HAS 'fr'", "task", T, W, nullptr, true},
    {"task.type == 'ticket'", "worker", T, W, nullptr, true},
    {"worker.level == 5", "task", T, W, nullptr, true},
    {"name == 'Alice Smith'", "task", T, W, nullptr, false},
    {"level == 5", "queue", T, W, nullptr, false},
    {"workers.available == 0", "task", T, W, R"({"available": 0})", true},
    {"workers.available > 0", "task", T, W, R"({"available": 0})", false},
    {"workers.available == 0", "task", T, W, nullptr, false},
    {"workers.WA0123 < 2 OR workers.WA4567 < 2", "task", T, W, R"({"WA0123": 4, "WA4567": 1})", true},
    {"workers.available == 0", "worker", T, R"({"workers": {"available": 0}})", R"({"available": 3})", false},
};

struct invalid_row {
  const char* expr;
  const char* message;
};

const invalid_row invalid_rows[] = {
    {"", "unexpected end of expression at position 0"},
    {"   ", "unexpected end of expression at position 3"},
    {"skills", "missing operator after 'skills' at position 6"},
    {"'support'", "missing operator after ''support'' at position 9"},
    {"42", "missing operator after '42' at position 2"},
    {"true", "missing operator after 'true' at position 4"},
    {"[1, 2]", "missing operator after '[1, 2]' at position 6"},
    {"(skills)", "missing operator after 'skills' at position 7"},
    {"a LIKE 'x'", "missing operator after 'a' at position 2"},
    {"(skills HAS 'a'", "unclosed '(' at position 0"},
    {"((a == 1)", "unclosed '(' at position 0"},
    {"a == 1 AND (b == 2", "unclosed '(' at position 11"},
    {"skills HAS 'a')", "unexpected token ')' at position 14"},
    {"skills HAS )", "unexpected token ')' at position 11"},
    {"()", "unexpected token ')' at position 1"},
    {"a == 1 b == 2", "unexpected token 'b' at position 7"},
    {"a == 1 AND", "unexpected end of expression at position 10"},
    {"AND a == 1", "unexpected token 'AND' at position 0"},
    {"a == 1 OR OR b == 2", "unexpected token 'OR' at position 10"},
    {"NOT a == 1", "unexpected token 'NOT' at position 0"},
    {"a NOT 'x'", "unexpected token ''x'' at position 6"},
    {"a NOT", "unexpected end of expression at position 5"},
    {"a IN", "unexpected end of expression at position 4"},
    {"a == ", "unexpected end of expression at position 5"},
    {"== 1", "unexpected token '==' at position 0"},
    {"a == 1 == 2", "unexpected token '==' at position 7"},
    {"a <> 1", "unexpected token '>' at position 3"},
    {"a === 1", "unexpected token '=' at position 4"},
    {"a => 1", "unexpected token '>' at position 3"},
    {"a ! 1", "unexpected character '!' at position 2"},
    {"a == 1 && b == 2", "unexpected character '&' at position 7"},
    {"a == 1 || b == 2", "unexpected character '|' at position 7"},
    {"a == #", "unexpected character '#' at position 5"},
    {"a-b == 1", "unexpected character '-' at position 1"},
    {"a == 'abc", "unterminated string at position 5"},
    {"a == \"abc'", "unterminated string at position 5"},
    {"a == 'it\\'", "unterminated string at position 5"},
    {"a IN [1, 2", "unclosed '[' at position 5"},
    {"a IN [1,, 2]", "unexpected token ',' at position 8"},
    {"a IN [1, 2,]", "unexpected token ']' at position 11"},
    {"a IN [1 2]", "unexpected token '2' at position 8"},
    {"a IN [b]", "unexpected token 'b' at position 6"},
    {"a IN [[1]]", "unexpected token '[' at position 6"},
    {"a == 1.", "invalid number '1.' at position 5"},
    {"a. == 1", "invalid key 'a.' at position 2"},
    {"a..b == 1", "invalid key 'a.' at position 2"},
    {"a[x] == 1", "invalid index in key 'a[x' at position 2"},
    {"a[-1] == 1", "invalid index in key 'a[-' at position 2"},
    {"a[1 == 1", "invalid index in key 'a[1 ' at position 3"},
};

expression parsed(const std::string& text) {
  auto e = expression::parse(text);
  INFO(text);
  REQUIRE(e.ok());
  return *e;
}

} // namespace

TEST_CASE("expression evaluates operators, keys and NULL like TaskRouter", "[model][expression]") {
  for (const auto& row : eval_rows) {
    INFO("expression: " << row.expr);
    auto e = expression::parse(row.expr);
    INFO("parse error: " << (e.ok() ? std::string("none") : e.err().message));
    REQUIRE(e.ok());
    auto task = doc(row.task);
    auto worker = doc(row.worker);
    expression_context ctx;
    ctx.task = task ? &*task : nullptr;
    ctx.worker = worker ? &*worker : nullptr;
    CHECK(e->evaluate(ctx) == row.want);
  }
}

TEST_CASE("expression resolves keys against explicit and default scopes", "[model][expression]") {
  for (const auto& row : scope_rows) {
    INFO("expression: " << row.expr << " (default scope " << row.default_scope << ")");
    auto e = expression::parse(row.expr);
    REQUIRE(e.ok());
    auto task = doc(row.task);
    auto worker = doc(row.worker);
    auto workers = doc(row.workers);
    expression_context ctx;
    ctx.task = task ? &*task : nullptr;
    ctx.worker = worker ? &*worker : nullptr;
    ctx.workers = workers ? &*workers : nullptr;
    ctx.default_scope = row.default_scope;
    CHECK(e->evaluate(ctx) == row.want);
  }
}

TEST_CASE("expression rejects malformed text with error 20001", "[model][expression]") {
  for (const auto& row : invalid_rows) {
    INFO("expression: " << row.expr);
    auto e = expression::parse(row.expr);
    REQUIRE_FALSE(e.ok());
    CHECK(e.err().kind == sb::model::errc::invalid_parameter);
    CHECK(e.err().code == 20001);
    CHECK(e.err().message == std::string("Invalid expression: ") + row.message);
  }
}

TEST_CASE("expression limits parenthesis nesting", "[model][expression]") {
  auto nested = [](int depth) {
    return std::string(depth, '(') + "1 == 1" + std::string(depth, ')');
  };
  auto ok = expression::parse(nested(64));
  REQUIRE(ok.ok());
  CHECK(ok->evaluate({}));
  auto deep = expression::parse(nested(65));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.err().code == 20001);
  CHECK(deep.err().message == "Invalid expression: parentheses nested deeper than 64 at position 64");
}

TEST_CASE("expression reads taskrouter time-of-day values", "[model][expression]") {
  json clock = {{"currentTime", 930}, {"currentHour", "09"}, {"dayOfWeek", "Tue"}};
  expression_context ctx;
  ctx.taskrouter = &clock;
  CHECK(parsed("taskrouter.currentTime > 0800 AND taskrouter.currentTime < 1830").evaluate(ctx));
  CHECK(parsed("taskrouter.currentHour > 8 AND taskrouter.dayOfWeek IN ['Mon', 'Tue']").evaluate(ctx));
  CHECK_FALSE(parsed("taskrouter.dayOfWeek == 'Sat'").evaluate(ctx));
  ctx.taskrouter = nullptr;
  CHECK_FALSE(parsed("taskrouter.currentTime > 0800").evaluate(ctx));
}

TEST_CASE("expression copies share the tree and keep the source text", "[model][expression]") {
  json worker = {{"skills", {"support"}}};
  expression_context ctx;
  ctx.worker = &worker;
  const std::string text = "  skills  HAS 'support'  ";
  expression original = parsed(text);
  expression copy = original;
  CHECK(copy.text() == text);
  CHECK(copy.evaluate(ctx));
  original = parsed("skills HAS 'billing'");
  CHECK(copy.evaluate(ctx));
  CHECK_FALSE(original.evaluate(ctx));

  expression empty;
  CHECK(empty.text().empty());
  CHECK_FALSE(empty.evaluate(ctx));
}

TEST_CASE("expression reports which scopes its keys use", "[model][expression]") {
  expression e = parsed("task.priority > 1 AND skills HAS 'support'");
  CHECK(e.references_scope("task", "worker"));
  CHECK(e.references_scope("worker", "worker"));
  CHECK_FALSE(e.references_scope("worker", "task"));
  CHECK_FALSE(e.references_scope("workers", "worker"));
  CHECK(parsed("workers.available == 0").references_scope("workers", "task"));
  CHECK_FALSE(parsed("1 == 1").references_scope("task", "task"));
  CHECK_FALSE(expression{}.references_scope("task", "task"));
}

TEST_CASE("scope_of names the first segment of a key", "[model][expression]") {
  CHECK(sb::model::scope_of("task.customer.tier") == "task");
  CHECK(sb::model::scope_of("workers.available") == "workers");
  CHECK(sb::model::scope_of("skills[0]") == "skills");
  CHECK(sb::model::scope_of("skills") == "skills");
}
