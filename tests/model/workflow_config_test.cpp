#include "model/workflow_config.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using sb::model::errc;
using sb::model::expression_context;
using sb::model::order_clause;
using sb::model::parse_order_by;
using sb::model::parse_workflow_config;
using sb::model::resolve_known_worker;
using sb::model::workflow_config;
using json = nlohmann::json;

namespace {

// Two TaskQueues exist in the workspace; QX does not.
#define Q1 "WQ11111111111111111111111111111111"
#define Q2 "WQ22222222222222222222222222222222"
#define QX "WQ99999999999999999999999999999999"

bool queue_exists(const std::string& sid) {
  return sid == Q1 || sid == Q2;
}

// A configuration Twilio accepts, and the shape the parse must give it.
struct valid_row {
  const char* name;
  const char* config;
  std::size_t filters;
  std::vector<std::size_t> targets_per_filter;
  bool has_default;
};

const valid_row valid_rows[] = {
    {"default_filter only", R"({"task_routing": {"default_filter": {"queue": ")" Q1 R"("}}})", 0,
     {}, true},
    {"one filter, no default",
     R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": ")" Q1
     R"("}]}]}})",
     1, {1}, false},
    {"default_filter null beside a filter",
     R"({"task_routing": {"filters": [{"expression": "type == 'x'", "targets": [{"queue": ")" Q1
     R"("}]}], "default_filter": null}})",
     1, {1}, false},
    {"two filters, several targets, default",
     R"({"task_routing": {"filters": [
         {"filter_friendly_name": "Sales", "expression": "type == 'sales'",
          "targets": [{"queue": ")" Q1 R"(", "timeout": 30}, {"queue": ")" Q2 R"("}]},
         {"friendly_name": "Support", "expression": "type == 'support'",
          "targets": [{"queue": ")" Q2 R"("}, {"queue": ")" Q1 R"("}, {"queue": ")" Q2 R"("}]}],
       "default_filter": {"queue": ")" Q1 R"("}}})",
     2, {2, 3}, true},
    {"every target key",
     R"({"task_routing": {"filters": [{"filter_friendly_name": "All", "expression": "1==1",
         "targets": [{"queue": ")" Q1 R"(", "expression": "worker.level > task.level",
           "priority": 7, "timeout": 45, "order_by": "worker.level DESC, worker.name",
           "skip_if": "workers.available == 0", "known_worker_sid": "task.agent",
           "known_worker_friendly_name": "task.agent_name"}]}]}})",
     1, {1}, false},
    {"timeout 0", R"({"task_routing": {"default_filter": {"queue": ")" Q1 R"(", "timeout": 0}}})",
     0, {}, true},
    {"timeout one year",
     R"({"task_routing": {"default_filter": {"queue": ")" Q1 R"(", "timeout": 31536000}}})", 0, {},
     true},
    {"negative priority",
     R"({"task_routing": {"default_filter": {"queue": ")" Q1 R"(", "priority": -3}}})", 0, {},
     true},
    {"extra top-level keys are ignored",
     R"({"task_routing": {"default_filter": {"queue": ")" Q1 R"("}}, "comment": "x"})", 0, {},
     true},
    {"empty filters array with default",
     R"({"task_routing": {"filters": [], "default_filter": {"queue": ")" Q2 R"("}}})", 0, {}, true},
};

// A configuration the parse must reject; message names the offending part.
struct invalid_row {
  const char* name;
  const char* config;
  const char* message;
};

#define T_OPEN R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": ")" Q1 R"(", )"
#define T_CLOSE R"(}]}]}})"

const invalid_row invalid_rows[] = {
    {"bad JSON", R"({"task_routing": )", "Configuration is not a valid JSON object"},
    {"empty text", "", "Configuration is not a valid JSON object"},
    {"JSON array", "[]", "Configuration is not a valid JSON object"},
    {"JSON string", R"("task_routing")", "Configuration is not a valid JSON object"},
    {"missing task_routing", R"({"filters": []})", "Configuration.task_routing is required"},
    {"task_routing not an object", R"({"task_routing": []})",
     "Configuration.task_routing is required"},
    {"no filters and no default", R"({"task_routing": {}})",
     "task_routing needs at least one filter or a default_filter"},
    {"empty filters and null default", R"({"task_routing": {"filters": [], "default_filter": null}})",
     "task_routing needs at least one filter or a default_filter"},
    {"filters not an array", R"({"task_routing": {"filters": {}}})",
     "task_routing.filters must be an array"},
    {"filter not an object", R"({"task_routing": {"filters": ["x"]}})",
     "task_routing.filters[0] must be an object"},
    {"filter without expression",
     R"({"task_routing": {"filters": [{"targets": [{"queue": ")" Q1 R"("}]}]}})",
     "task_routing.filters[0].expression is required"},
    {"filter expression not a string",
     R"({"task_routing": {"filters": [{"expression": 5, "targets": [{"queue": ")" Q1 R"("}]}]}})",
     "task_routing.filters[0].expression must be a string expression"},
    {"filter expression invalid",
     R"({"task_routing": {"filters": [{"expression": "type ==", "targets": [{"queue": ")" Q1
     R"("}]}]}})",
     "task_routing.filters[0].expression: Invalid expression"},
    {"targets missing", R"({"task_routing": {"filters": [{"expression": "1==1"}]}})",
     "task_routing.filters[0].targets must be a non-empty array"},
    {"targets empty", R"({"task_routing": {"filters": [{"expression": "1==1", "targets": []}]}})",
     "task_routing.filters[0].targets must be a non-empty array"},
    {"targets not an array",
     R"({"task_routing": {"filters": [{"expression": "1==1", "targets": {"queue": ")" Q1
     R"("}}]}})",
     "task_routing.filters[0].targets must be a non-empty array"},
    {"target not an object",
     R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [")" Q1 R"("]}]}})",
     "task_routing.filters[0].targets[0] must be an object"},
    {"target without queue",
     R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"timeout": 5}]}]}})",
     "task_routing.filters[0].targets[0].queue is required"},
    {"target queue not a string",
     R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": 5}]}]}})",
     "task_routing.filters[0].targets[0].queue is required"},
    {"unknown queue SID",
     R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": ")" QX
     R"("}]}]}})",
     "task_routing.filters[0].targets[0].queue " QX " is not a TaskQueue of this workspace"},
    {"unknown queue in a later target of a later filter",
     R"({"task_routing": {"filters": [
         {"expression": "1==1", "targets": [{"queue": ")" Q1 R"("}]},
         {"expression": "1==1", "targets": [{"queue": ")" Q2 R"("}, {"queue": ")" QX R"("}]}]}})",
     "task_routing.filters[1].targets[1].queue " QX},
    {"target expression invalid", T_OPEN R"("expression": "level >")" T_CLOSE,
     "task_routing.filters[0].targets[0].expression: Invalid expression"},
    {"target expression not a string", T_OPEN R"("expression": true)" T_CLOSE,
     "task_routing.filters[0].targets[0].expression must be a string expression"},
    {"skip_if invalid", T_OPEN R"("skip_if": "workers.available ==")" T_CLOSE,
     "task_routing.filters[0].targets[0].skip_if: Invalid expression"},
    {"priority as string", T_OPEN R"("priority": "5")" T_CLOSE,
     "task_routing.filters[0].targets[0].priority must be an integer"},
    {"priority fractional", T_OPEN R"("priority": 1.5)" T_CLOSE,
     "task_routing.filters[0].targets[0].priority must be an integer"},
    {"priority beyond int", T_OPEN R"("priority": 4294967296)" T_CLOSE,
     "task_routing.filters[0].targets[0].priority must be an integer"},
    {"priority beyond int64", T_OPEN R"("priority": 18446744073709551615)" T_CLOSE,
     "task_routing.filters[0].targets[0].priority must be an integer"},
    {"timeout as string", T_OPEN R"("timeout": "30")" T_CLOSE,
     "task_routing.filters[0].targets[0].timeout must be a non-negative integer of seconds"},
    {"timeout fractional", T_OPEN R"("timeout": 1.5)" T_CLOSE,
     "task_routing.filters[0].targets[0].timeout must be a non-negative integer of seconds"},
    {"timeout negative", T_OPEN R"("timeout": -1)" T_CLOSE,
     "task_routing.filters[0].targets[0].timeout must be a non-negative integer of seconds"},
    {"timeout over a year", T_OPEN R"("timeout": 31536001)" T_CLOSE,
     "task_routing.filters[0].targets[0].timeout must be a non-negative integer of seconds"},
    {"timeout huge unsigned", T_OPEN R"("timeout": 18446744073709551615)" T_CLOSE,
     "task_routing.filters[0].targets[0].timeout must be a non-negative integer of seconds"},
    {"order_by not a string", T_OPEN R"("order_by": 1)" T_CLOSE,
     "task_routing.filters[0].targets[0].order_by must be a string"},
    {"order_by without worker prefix", T_OPEN R"("order_by": "level DESC")" T_CLOSE,
     "task_routing.filters[0].targets[0].order_by: order_by key 'level' must start with worker."},
    {"order_by bad direction", T_OPEN R"("order_by": "worker.level DOWN")" T_CLOSE,
     "task_routing.filters[0].targets[0].order_by: order_by direction 'DOWN' must be ASC or DESC"},
    {"order_by empty", T_OPEN R"("order_by": "")" T_CLOSE,
     "task_routing.filters[0].targets[0].order_by: order_by is empty"},
    {"known_worker_sid not a string", T_OPEN R"("known_worker_sid": 5)" T_CLOSE,
     "task_routing.filters[0].targets[0].known_worker_sid must be a string"},
    {"known_worker_friendly_name not a string", T_OPEN R"("known_worker_friendly_name": [])" T_CLOSE,
     "task_routing.filters[0].targets[0].known_worker_friendly_name must be a string"},
    {"unknown target key", T_OPEN R"("queue_sid": ")" Q1 R"(")" T_CLOSE,
     "task_routing.filters[0].targets[0] has an unknown key 'queue_sid'"},
    {"default_filter not an object", R"({"task_routing": {"default_filter": ")" Q1 R"("}})",
     "task_routing.default_filter must be an object"},
    {"default_filter without queue", R"({"task_routing": {"default_filter": {}}})",
     "task_routing.default_filter.queue is required"},
    {"default_filter unknown queue", R"({"task_routing": {"default_filter": {"queue": ")" QX
     R"("}}})",
     "task_routing.default_filter.queue " QX " is not a TaskQueue"},
    {"default_filter unknown key",
     R"({"task_routing": {"default_filter": {"queue": ")" Q1 R"(", "prio": 1}}})",
     "task_routing.default_filter has an unknown key 'prio'"},
    {"valid filter, then a bad default",
     R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": ")" Q1
     R"("}]}], "default_filter": {"queue": ")" Q1 R"(", "timeout": "x"}}})",
     "task_routing.default_filter.timeout must be a non-negative integer of seconds"},
};

workflow_config parsed(const std::string& text) {
  auto c = parse_workflow_config(text, queue_exists);
  INFO("config: " << text);
  INFO("error: " << (c.ok() ? std::string("none") : c.err().message));
  REQUIRE(c.ok());
  return *c;
}

} // namespace

TEST_CASE("parse_workflow_config accepts Twilio configurations", "[model][workflow]") {
  for (const auto& row : valid_rows) DYNAMIC_SECTION(row.name) {
    auto c = parse_workflow_config(row.config, queue_exists);
    INFO("error: " << (c.ok() ? std::string("none") : c.err().message));
    REQUIRE(c.ok());
    REQUIRE(c->filters.size() == row.filters);
    for (std::size_t i = 0; i < row.filters; ++i) {
      CHECK(c->filters[i].targets.size() == row.targets_per_filter[i]);
      CHECK(c->filters[i].match != nullptr);
    }
    CHECK(c->default_target.has_value() == row.has_default);
  }
}

TEST_CASE("parse_workflow_config rejects invalid configurations with 20001", "[model][workflow]") {
  for (const auto& row : invalid_rows) DYNAMIC_SECTION(row.name) {
    INFO("config: " << row.config);
    auto c = parse_workflow_config(row.config, queue_exists);
    REQUIRE_FALSE(c.ok());
    CHECK(c.err().kind == errc::invalid_parameter);
    CHECK(c.err().code == 20001);
    CHECK_THAT(c.err().message, Catch::Matchers::Contains(row.message));
  }
}

TEST_CASE("parse_workflow_config keeps every target setting", "[model][workflow]") {
  auto c = parsed(R"({"task_routing": {
    "filters": [
      {"filter_friendly_name": "Sales", "expression": "type == 'sales'",
       "targets": [
         {"queue": ")" Q1 R"(", "expression": "worker.level > task.level", "priority": 7,
          "timeout": 45, "order_by": "worker.level DESC, worker.name",
          "skip_if": "workers.available == 0", "known_worker_sid": "task.agent",
          "known_worker_friendly_name": "task.agent_name"},
         {"queue": ")" Q2 R"("}]},
      {"friendly_name": "Legacy", "expression": "1==1", "targets": [{"queue": ")" Q2 R"("}]},
      {"expression": "1==1", "targets": [{"queue": ")" Q2 R"("}]}],
    "default_filter": {"queue": ")" Q2 R"(", "priority": 1}}})");

  REQUIRE(c.filters.size() == 3);
  CHECK(c.filters[0].friendly_name == "Sales");
  CHECK(c.filters[1].friendly_name == "Legacy");
  CHECK(c.filters[2].friendly_name.empty());
  CHECK(c.filters[0].match->text() == "type == 'sales'");

  const auto& t = c.filters[0].targets[0];
  CHECK(t.queue_sid == Q1);
  REQUIRE(t.worker_filter);
  CHECK(t.worker_filter->text() == "worker.level > task.level");
  CHECK(t.priority == 7);
  CHECK(t.timeout == 45);
  REQUIRE(t.order_by.size() == 2);
  CHECK(t.order_by[0].path == std::vector<std::string>{"level"});
  CHECK(t.order_by[0].descending);
  CHECK(t.order_by[1].path == std::vector<std::string>{"name"});
  CHECK_FALSE(t.order_by[1].descending);
  REQUIRE(t.skip_if);
  CHECK(t.skip_if->text() == "workers.available == 0");
  CHECK(t.known_worker_sid == "task.agent");
  CHECK(t.known_worker_friendly_name == "task.agent_name");

  const auto& plain = c.filters[0].targets[1];
  CHECK(plain.queue_sid == Q2);
  CHECK(plain.worker_filter == nullptr);
  CHECK(plain.skip_if == nullptr);
  CHECK_FALSE(plain.priority.has_value());
  CHECK_FALSE(plain.timeout.has_value());
  CHECK(plain.order_by.empty());
  CHECK(plain.known_worker_sid.empty());
  CHECK(plain.known_worker_friendly_name.empty());

  REQUIRE(c.default_target);
  CHECK(c.default_target->queue_sid == Q2);
  CHECK(c.default_target->priority == 1);
}

TEST_CASE("parse_workflow_config parses target expressions in their own scopes", "[model][workflow]") {
  auto c = parsed(R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [
    {"queue": ")" Q1 R"(", "expression": "level > task.level", "skip_if": "workers.available == 0"}
  ]}]}})");
  const auto& t = c.filters[0].targets[0];
  json task = {{"level", 3}};
  json strong = {{"level", 5}};
  json weak = {{"level", 2}};
  expression_context ctx;
  ctx.task = &task;
  ctx.default_scope = "worker";
  ctx.worker = &strong;
  CHECK(t.worker_filter->evaluate(ctx));
  ctx.worker = &weak;
  CHECK_FALSE(t.worker_filter->evaluate(ctx));

  json none = {{"available", 0}};
  json some = {{"available", 2}};
  expression_context skip;
  skip.task = &task;
  skip.default_scope = "task";
  skip.workers = &none;
  CHECK(t.skip_if->evaluate(skip));
  skip.workers = &some;
  CHECK_FALSE(t.skip_if->evaluate(skip));
}

TEST_CASE("parse_workflow_config asks queue_exists about each target queue", "[model][workflow]") {
  std::vector<std::string> asked;
  auto c = parse_workflow_config(
    R"({"task_routing": {"filters": [{"expression": "1==1", "targets": [{"queue": ")" Q1
    R"("}, {"queue": ")" Q2 R"("}]}], "default_filter": {"queue": ")" Q1 R"("}}})",
    [&](const std::string& sid) {
      asked.push_back(sid);
      return true;
    });
  REQUIRE(c.ok());
  CHECK(asked == std::vector<std::string>{Q1, Q2, Q1});
}

namespace {

struct select_row {
  const char* attributes;
  int want;
};

// filters[0] type == 'sales'; [1] priority > 5; [2] vip == true with an
// explicit task scope; [3] skills HAS 'fr'.
const select_row select_rows[] = {
    {R"({"type": "sales"})", 0},
    {R"({"type": "sales", "priority": 10})", 0}, // first match wins over filter 1
    {R"({"type": "sales", "vip": true})", 0},
    {R"({"type": "support", "priority": 10})", 1},
    {R"({"priority": 6, "vip": true})", 1},
    {R"({"priority": 5, "vip": true})", 2},
    {R"({"vip": true, "skills": ["fr"]})", 2},
    {R"({"vip": false, "skills": ["de", "fr"]})", 3},
    {R"({"type": "SALES"})", -1},
    {R"({"priority": 5})", -1},
    {R"({"priority": "10"})", 1}, // numeric strings compare as numbers
    {R"({"priority": "high"})", -1},
    {R"({"vip": "true"})", -1},
    {R"({"skills": ["de"]})", -1},
    {R"({})", -1},
    {R"({"task": {"type": "sales"}})", -1},
};

} // namespace

TEST_CASE("select_filter picks the first matching filter, else -1", "[model][workflow]") {
  auto c = parsed(R"({"task_routing": {"filters": [
      {"expression": "type == 'sales'", "targets": [{"queue": ")" Q1 R"("}]},
      {"expression": "priority > 5", "targets": [{"queue": ")" Q2 R"("}]},
      {"expression": "task.vip == true", "targets": [{"queue": ")" Q1 R"("}]},
      {"expression": "skills HAS 'fr'", "targets": [{"queue": ")" Q2 R"("}]}],
    "default_filter": {"queue": ")" Q1 R"("}}})");
  for (const auto& row : select_rows) {
    INFO("attributes: " << row.attributes);
    CHECK(c.select_filter(json::parse(row.attributes)) == row.want);
  }
}

TEST_CASE("select_filter on a default-only configuration is always -1", "[model][workflow]") {
  auto c = parsed(R"({"task_routing": {"default_filter": {"queue": ")" Q1 R"("}}})");
  CHECK(c.select_filter(json::object()) == -1);
  CHECK(c.select_filter(json{{"type", "sales"}}) == -1);
}

namespace {

struct order_row {
  const char* text;
  std::vector<order_clause> want; // empty: a parse error is expected
  const char* message;            // substring of that error
};

order_clause asc(std::vector<std::string> path) { return {std::move(path), false}; }
order_clause desc(std::vector<std::string> path) { return {std::move(path), true}; }

const order_row order_rows[] = {
    {"worker.level", {asc({"level"})}, ""},
    {"worker.level ASC", {asc({"level"})}, ""},
    {"worker.level DESC", {desc({"level"})}, ""},
    {"worker.level desc", {desc({"level"})}, ""},
    {"worker.level Asc", {asc({"level"})}, ""},
    {"  worker.level\tDESC  ", {desc({"level"})}, ""},
    {"worker.team.size DESC", {desc({"team", "size"})}, ""},
    {"worker.level DESC, worker.name", {desc({"level"}), asc({"name"})}, ""},
    {"worker.a ASC,worker.b DESC ,  worker.c", {asc({"a"}), desc({"b"}), asc({"c"})}, ""},
    {"", {}, "order_by is empty"},
    {"   ", {}, "must be 'worker.<key> [ASC|DESC]'"},
    {"level DESC", {}, "order_by key 'level' must start with worker."},
    {"task.level", {}, "order_by key 'task.level' must start with worker."},
    {"worker", {}, "order_by key 'worker' must start with worker."},
    {"workers.level", {}, "order_by key 'workers.level' must start with worker."},
    {"worker.", {}, "order_by key 'worker.' has an empty segment"},
    {"worker..level", {}, "order_by key 'worker..level' has an empty segment"},
    {"worker.level.", {}, "order_by key 'worker.level.' has an empty segment"},
    {"worker.level DOWN", {}, "order_by direction 'DOWN' must be ASC or DESC"},
    {"worker.level DESC ASC", {}, "must be 'worker.<key> [ASC|DESC]'"},
    {"worker.a,,worker.b", {}, "order_by clause '' must be"},
    {"worker.a DESC, level", {}, "order_by key 'level' must start with worker."},
};

bool same(const std::vector<order_clause>& a, const std::vector<order_clause>& b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].path != b[i].path || a[i].descending != b[i].descending)
      return false;
  return true;
}

std::string describe(const std::vector<order_clause>& v) {
  std::string out;
  for (auto& c : v) {
    for (auto& p : c.path)
      out += "." + p;
    out += c.descending ? " DESC; " : " ASC; ";
  }
  return out;
}

} // namespace

TEST_CASE("parse_order_by reads worker keys and directions", "[model][workflow]") {
  for (const auto& row : order_rows) DYNAMIC_SECTION("order_by: '" << row.text << "'") {
    auto o = parse_order_by(row.text);
    if (row.want.empty()) {
      REQUIRE_FALSE(o.ok());
      CHECK(o.err().code == 20001);
      CHECK_THAT(o.err().message, Catch::Matchers::Contains(row.message));
    } else {
      INFO("error: " << (o.ok() ? std::string("none") : o.err().message));
      REQUIRE(o.ok());
      INFO("got: " << describe(*o));
      CHECK(same(*o, row.want));
    }
  }
}

namespace {

struct known_row {
  const char* spec;
  const char* attributes;
  const char* want;
};

const known_row known_rows[] = {
    {"WK0123456789abcdef0123456789abcdef", R"({"agent": "WKother"})",
     "WK0123456789abcdef0123456789abcdef"},
    {"Alice", R"({})", "Alice"},
    {"", R"({"agent": "x"})", ""},
    {"task.agent", R"({"agent": "WKabc"})", "WKabc"},
    {"task.agent", R"({"agent_sid": "WKabc"})", ""},
    {"task.agent", R"({"agent": 5})", ""},
    {"task.agent", R"({"agent": null})", ""},
    {"task.agent", R"({"agent": ["WKabc"]})", ""},
    {"task.routing.agent", R"({"routing": {"agent": "Bob"}})", "Bob"},
    {"task.routing.agent", R"({"routing": "Bob"})", ""},
    {"task.routing.agent", R"({"routing": {"other": "Bob"}})", ""},
    {"task.", R"({"agent": "x"})", ""},
    {"tasks.agent", R"({"agent": "x"})", "tasks.agent"},
    {"Task.agent", R"({"agent": "x"})", "Task.agent"},
    {"worker.agent", R"({"agent": "x"})", "worker.agent"},
};

} // namespace

TEST_CASE("resolve_known_worker reads task keys and passes literals", "[model][workflow]") {
  for (const auto& row : known_rows) {
    INFO("spec: '" << row.spec << "' attributes: " << row.attributes);
    CHECK(resolve_known_worker(row.spec, json::parse(row.attributes)) == row.want);
  }
}
