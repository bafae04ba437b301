#include "model/studio_template.hpp"

#include <catch2/catch.hpp>

#include <string>

using sb::model::errc;
using sb::model::parse_json_template;
using sb::model::parse_template;
using sb::model::render;
using sb::model::render_json;
using sb::model::time_point;
using json = nlohmann::json;

namespace {

const json context = json::parse(R"({
  "trigger": {
    "message": {"Body": "  Hello World  ", "From": "+15550001111"},
    "conversation": {"Author": "alice", "Body": "yes",
                     "ChannelAttributes": {"from": "+1555", "tags": ["a", "b"]}}},
  "flow": {
    "channel": {"address": "+15559990000"},
    "data": {"order": 42},
    "variables": {
      "count": "5", "n": 7, "f": 2.5, "flag": true, "off": false, "nul": null, "empty": "",
      "spaces": "   ", "list": ["x", "y", "z"], "csv": "a,b,,c,,",
      "html": "<a href=\"x\">Tom & 'Jerry'</a>",
      "date": "2024-03-05T14:07:09Z", "offset_date": "2024-03-05T09:07:09-05:00",
      "epoch": 1709647629, "big": 1e300, "nested": {"a b": {"c": 1}}}},
  "widgets": {"ask": {"inbound": {"Body": "Yes"}}},
  "contact": {"channel": {"address": "+15550001111"}}
})");

// 2030-01-02T03:04:05Z, the "now" of every render here.
const time_point fixed_now = *sb::model::parse_iso8601("2030-01-02T03:04:05Z");

struct render_row {
  const char* name;
  const char* text;
  const char* expected;
};

const render_row render_rows[] = {
  // Text, paths and values.
  {"plain text", "Hello there", "Hello there"},
  {"empty template", "", ""},
  {"single braces are text", "a { b } c %}", "a { b } c %}"},
  {"path", "Hi {{trigger.message.From}}!", "Hi +15550001111!"},
  {"spaces inside the tag", "{{   contact.channel.address   }}", "+15550001111"},
  {"integer as JSON text", "{{ flow.variables.n }}", "7"},
  {"float as JSON text", "{{ flow.variables.f }}", "2.5"},
  {"boolean as JSON text", "{{ flow.variables.flag }}", "true"},
  {"null as empty", "[{{ flow.variables.nul }}]", "[]"},
  {"missing key as empty", "[{{ flow.variables.missing }}]", "[]"},
  {"missing widget as empty", "[{{ widgets.nope.inbound.Body }}]", "[]"},
  {"key under a string as empty", "[{{ widgets.ask.inbound.Body.x }}]", "[]"},
  {"array index", "{{ flow.variables.list[1] }}", "y"},
  {"negative array index", "{{ flow.variables.list[-1] }}", "z"},
  {"index past the end", "[{{ flow.variables.list[9] }}]", "[]"},
  {"quoted keys", R"({{ flow.variables["nested"]['a b'].c }})", "1"},
  {"size property", "{{ flow.variables.list.size }}", "3"},
  {"first and last properties", "{{ flow.variables.list.first }}{{ flow.variables.list.last }}", "xz"},
  {"object as compact JSON", "{{ trigger.conversation.ChannelAttributes }}", R"({"from":"+1555","tags":["a","b"]})"},
  {"array as compact JSON", "{{ flow.variables.list }}", R"(["x","y","z"])"},
  {"string literal", "{{ 'single' }} {{ \"double\" }}", "single double"},
  {"integer literal", "{{ 42 }}", "42"},
  {"whitespace control", "a  {{- 'b' -}}  c", "abc"},
  {"whitespace control on tags", "a \n{%- if true -%}\n b \n{%- endif -%}\n c", "abc"},
  // Filters.
  {"upcase", "{{ widgets.ask.inbound.Body | upcase }}", "YES"},
  {"downcase", "{{ widgets.ask.inbound.Body | downcase }}", "yes"},
  {"capitalize", "{{ 'hELLO wORLD' | capitalize }}", "Hello world"},
  {"strip", "[{{ trigger.message.Body | strip }}]", "[Hello World]"},
  {"lstrip", "[{{ trigger.message.Body | lstrip }}]", "[Hello World  ]"},
  {"rstrip", "[{{ trigger.message.Body | rstrip }}]", "[  Hello World]"},
  {"default on missing", "{{ flow.variables.missing | default: 'none' }}", "none"},
  {"default on empty string", "{{ flow.variables.empty | default: 'none' }}", "none"},
  {"default on false", "{{ flow.variables.off | default: 'd' }}", "d"},
  {"default keeps a value", "{{ flow.variables.count | default: 'd' }}", "5"},
  {"default from a path", "{{ flow.variables.missing | default: contact.channel.address }}", "+15550001111"},
  {"size of a string in characters", "{{ 'h\xc3\xa9llo' | size }}", "5"},
  {"size of a list", "{{ flow.variables.list | size }}", "3"},
  {"size of a number", "{{ 12345 | size }}", "0"},
  {"append", "{{ 'a' | append: 'b' }}", "ab"},
  {"append a path", "{{ 'to ' | append: contact.channel.address }}", "to +15550001111"},
  {"prepend", "{{ 'b' | prepend: 'a' }}", "ab"},
  {"replace every occurrence", "{{ 'a-b-c' | replace: '-', '+' }}", "a+b+c"},
  {"replace with nothing", "{{ 'a-b-c' | replace: '-' }}", "abc"},
  {"remove", "{{ 'a-b-c' | remove: '-' }}", "abc"},
  {"truncate", "{{ 'Hello World' | truncate: 8 }}", "Hello..."},
  {"truncate with an ellipsis", "{{ 'Hello World' | truncate: 8, '!' }}", "Hello W!"},
  {"truncate keeps short text", "{{ 'Hello' | truncate: 8 }}", "Hello"},
  {"truncate by characters", "{{ '\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9' | truncate: 3, '' }}", "\xc3\xa9\xc3\xa9\xc3\xa9"},
  {"truncate by a huge length", "{{ 'abc' | truncate: flow.variables.big }}", "abc"},
  {"split then join", "{{ flow.variables.csv | split: ',' | join: '|' }}", "a|b||c"},
  {"split on a space collapses runs", "{{ ' a b  c ' | split: ' ' | size }}", "3"},
  {"split then first", "{{ 'a,b,c' | split: ',' | first }}", "a"},
  {"split then last", "{{ 'a,b,c' | split: ',' | last }}", "c"},
  {"split into characters", "{{ 'abc' | split: '' | join: '-' }}", "a-b-c"},
  {"split renders as JSON", "{{ 'a,b' | split: ',' }}", R"(["a","b"])"},
  {"first of a list", "{{ flow.variables.list | first }}", "x"},
  {"last of a list", "{{ flow.variables.list | last }}", "z"},
  {"first of a string is nil", "[{{ 'abc' | first }}]", "[]"},
  {"join with a space by default", "{{ flow.variables.list | join }}", "x y z"},
  {"url_encode", "{{ 'a b&c=d/\xc3\xa9~' | url_encode }}", "a+b%26c%3Dd%2F%C3%A9~"},
  {"escape", "{{ flow.variables.html | escape }}", "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"},
  {"plus on a numeric string", "{{ flow.variables.count | plus: 2 }}", "7"},
  {"plus on a float", "{{ flow.variables.f | plus: 1 }}", "3.5"},
  {"minus", "{{ 10 | minus: 15 }}", "-5"},
  {"times", "{{ 3 | times: 1.5 }}", "4.5"},
  {"divided_by integers truncates down", "{{ 7 | divided_by: 2 }}", "3"},
  {"divided_by floors negatives", "{{ -7 | divided_by: 2 }}", "-4"},
  {"divided_by a float", "{{ 7 | divided_by: 2.0 }}", "3.5"},
  {"divided_by zero is nil", "[{{ 7 | divided_by: 0 }}]", "[]"},
  {"divided_by zero then default", "{{ 7 | divided_by: 0 | default: 'n/a' }}", "n/a"},
  {"plus on text counts it as 0", "{{ 'abc' | plus: 1 }}", "1"},
  {"date of ISO-8601", "{{ flow.variables.date | date: '%Y-%m-%d %H:%M:%S' }}", "2024-03-05 14:07:09"},
  {"date names and padding", "{{ flow.variables.date | date: '%a %A %b %B %e %I:%M %p %j %y' }}",
   "Tue Tuesday Mar March  5 02:07 PM 065 24"},
  {"date keeps the offset", "{{ flow.variables.offset_date | date: '%H:%M %z' }}", "09:07 -0500"},
  {"date of epoch seconds", "{{ flow.variables.epoch | date: '%F %T %s' }}", "2024-03-05 14:07:09 1709647629"},
  {"date of now", "{{ 'now' | date: '%Y-%m-%dT%H:%M:%SZ' }}", "2030-01-02T03:04:05Z"},
  {"date of a day", "{{ '2024-12-31' | date: '%u %w %m/%d' }}", "2 2 12/31"},
  {"date of text keeps it", "{{ 'soon' | date: '%Y' }}", "soon"},
  {"date with a percent", "{{ flow.variables.date | date: '100%% %Q' }}", "100% %Q"},
  {"to_json of an object", "{{ trigger.conversation.ChannelAttributes | to_json }}",
   R"({"from":"+1555","tags":["a","b"]})"},
  {"to_json of a string", "{{ widgets.ask.inbound.Body | to_json }}", R"("Yes")"},
  {"to_json of nothing", "{{ flow.variables.missing | to_json }}", "null"},
  {"to_json of a number", "{{ flow.data.order | to_json }}", "42"},
  {"filter chain", "{{ trigger.message.Body | strip | downcase | replace: 'world', 'there' | append: '!' }}",
   "hello there!"},
  {"filter name inside a quoted string", "{{ 'a | upcase }}' }}", "a | upcase }}"},
  // if / elsif / else / unless.
  {"if ==", "{% if widgets.ask.inbound.Body == 'Yes' %}Y{% else %}N{% endif %}", "Y"},
  {"if == is case-sensitive", "{% if widgets.ask.inbound.Body == 'yes' %}Y{% else %}N{% endif %}", "N"},
  {"if !=", "{% if widgets.ask.inbound.Body != 'No' %}Y{% endif %}", "Y"},
  {"if <>", "{% if 1 <> 1 %}Y{% else %}N{% endif %}", "N"},
  {"if > first branch", "{% if flow.variables.n > 5 %}big{% elsif flow.variables.n > 2 %}mid{% else %}small{% endif %}",
   "big"},
  {"elsif branch", "{% if flow.variables.n > 9 %}big{% elsif flow.variables.n > 2 %}mid{% else %}small{% endif %}",
   "mid"},
  {"else branch", "{% if flow.variables.n > 9 %}big{% elsif flow.variables.n < 2 %}mid{% else %}small{% endif %}",
   "small"},
  {"<= and >=", "{% if flow.variables.n <= 7 and flow.variables.n >= 7 %}Y{% endif %}", "Y"},
  {"< between strings", "{% if 'abc' < 'abd' %}Y{% endif %}", "Y"},
  {"< between a string and a number is false", "{% if '1' < 2 %}Y{% else %}N{% endif %}", "N"},
  {"contains in a string", "{% if trigger.message.Body contains 'World' %}Y{% endif %}", "Y"},
  {"contains in a list", "{% if flow.variables.list contains 'y' %}Y{% endif %}", "Y"},
  {"contains not in a list", "{% if flow.variables.list contains 'q' %}Y{% else %}N{% endif %}", "N"},
  {"contains a key of an object", "{% if trigger.conversation.ChannelAttributes contains 'from' %}Y{% endif %}", "Y"},
  {"and", "{% if flow.variables.flag and flow.variables.off %}Y{% else %}N{% endif %}", "N"},
  {"or", "{% if flow.variables.off or flow.variables.flag %}Y{% endif %}", "Y"},
  {"and / or from the right: true or (false and false)", "{% if true or false and false %}T{% else %}F{% endif %}",
   "T"},
  {"and / or from the right: false and (false or true)", "{% if false and false or true %}T{% else %}F{% endif %}",
   "F"},
  {"bare true value", "{% if flow.variables.flag %}Y{% endif %}", "Y"},
  {"bare missing value", "{% if flow.variables.missing %}Y{% else %}N{% endif %}", "N"},
  {"bare false value", "{% if flow.variables.off %}Y{% else %}N{% endif %}", "N"},
  {"empty string is true", "{% if flow.variables.empty %}Y{% else %}N{% endif %}", "Y"},
  {"== empty", "{% if flow.variables.empty == empty %}E{% endif %}", "E"},
  {"list != empty", "{% if flow.variables.list != empty %}L{% endif %}", "L"},
  {"== blank", "{% if flow.variables.spaces == blank %}B{% endif %}", "B"},
  {"== nil", "{% if flow.variables.missing == nil %}Y{% endif %}", "Y"},
  {"unless", "{% unless flow.variables.flag %}x{% else %}y{% endunless %}", "y"},
  {"unless false", "{% unless flow.variables.off %}x{% endunless %}", "x"},
  {"nested blocks",
   "{% if flow.variables.flag %}a{% if flow.variables.off %}b{% else %}c{% endif %}d{% endif %}e", "acde"},
  {"output inside a block", "{% if true %}Hi {{ trigger.conversation.Author | capitalize }}{% endif %}", "Hi Alice"},
};

struct error_row {
  const char* name;
  const char* text;
  const char* message;
};

const error_row error_rows[] = {
  {"unclosed output", "{{ x", "\"{{\" at offset 0 is not closed by \"}}\""},
  {"unclosed output later", "hi {{ trigger.a", "\"{{\" at offset 3 is not closed by \"}}\""},
  {"unclosed tag", "{% if trigger.a", "\"{%\" at offset 0 is not closed by \"%}\""},
  {"unclosed quote", "{{ 'abc }}", "is not closed by \"}}\""},
  {"if without a condition", "{% if %}x{% endif %}", "tag \"if\" needs a condition"},
  {"elsif without a condition", "{% if true %}{% elsif %}{% endif %}", "tag \"elsif\" needs a condition"},
  {"if without endif", "{% if trigger.a %}x", "tag \"if\" at offset 0 is not closed by \"endif\""},
  {"unless closed by endif", "{% unless trigger.a %}x{% endif %}", "unexpected \"endif\""},
  {"endif alone", "x{% endif %}", "\"endif\" at offset 1 has no matching block"},
  {"else alone", "{% else %}", "\"else\" at offset 0 has no matching block"},
  {"elsif after else", "{% if trigger.a %}{% else %}{% elsif trigger.b %}{% endif %}", "unexpected \"elsif\""},
  {"else with a condition", "{% if trigger.a %}{% else trigger.b %}{% endif %}", "tag \"else\" takes no condition"},
  {"unsupported tag", "{% for x in trigger.list %}{% endfor %}", "unsupported tag \"for\""},
  {"assign is unsupported", "{% assign x = 1 %}", "unsupported tag \"assign\""},
  {"empty tag", "{% %}", "empty tag at offset 0"},
  {"empty output", "a {{ }}", "empty output tag at offset 2"},
  {"unknown root", "{{ foo.bar }}", "unknown variable \"foo.bar\""},
  {"unknown bare root", "{{ foo }}", "unknown variable \"foo\""},
  {"unknown root with index", "{{ vars[0].x }}", "unknown variable \"vars[0].x\""},
  {"unknown root in a condition", "{% if bar == 1 %}{% endif %}", "unknown variable \"bar\""},
  {"unknown root in a filter argument", "{{ trigger.a | default: foo.b }}", "unknown variable \"foo.b\""},
  {"unknown filter", "{{ trigger.a | upcse }}", "unknown filter \"upcse\""},
  {"missing filter name", "{{ trigger.a | }}", "a filter name is missing"},
  {"too few arguments", "{{ trigger.a | append }}", "filter \"append\" takes 1 argument, got 0"},
  {"too many arguments", "{{ trigger.a | upcase: 1 }}", "filter \"upcase\" takes 0 arguments, got 1"},
  {"argument range", "{{ trigger.a | replace: 'a', 'b', 'c' }}", "filter \"replace\" takes 1 to 2 arguments, got 3"},
  {"two values", "{{ trigger.a b }}", "unexpected \"b\""},
  {"comparison in output", "{{ trigger.a == 1 }}", "unexpected \"==\""},
  {"bad index", "{{ trigger.a[trigger.b] }}", "an index must be a quoted key or an integer"},
  {"dangling dot", "{{ trigger. }}", "unexpected end"},
  {"stray character", "{{ trigger.a ; }}", "unexpected character \";\""},
  {"condition with a trailing operator", "{% if trigger.a == %}{% endif %}", "a value is missing"},
};

} // namespace

TEST_CASE("studio templates render paths, literals, filters and conditions", "[model][studio]") {
  for (const auto& row : render_rows) DYNAMIC_SECTION(row.name) {
    INFO("template: " << row.text);
    auto t = parse_template(row.text);
    INFO("error: " << (t.ok() ? std::string("none") : t.err().message));
    REQUIRE(t.ok());
    CHECK(t->source() == row.text);
    CHECK(render(*t, context, fixed_now) == row.expected);
  }
}

TEST_CASE("studio templates reject malformed tags, unknown variables and filters with 20001", "[model][studio]") {
  for (const auto& row : error_rows) DYNAMIC_SECTION(row.name) {
    INFO("template: " << row.text);
    auto t = parse_template(row.text);
    REQUIRE_FALSE(t.ok());
    CHECK(t.err().kind == errc::invalid_parameter);
    CHECK(t.err().code == 20001);
    CHECK_THAT(t.err().message, Catch::Matchers::Contains(row.message));
  }
}

TEST_CASE("studio templates: every prefix of a valid template parses or fails cleanly", "[model][studio]") {
  std::size_t failures = 0;
  for (const auto& row : render_rows) {
    std::string text = row.text;
    for (std::size_t n = 0; n <= text.size(); ++n) {
      auto t = parse_template(std::string_view(text).substr(0, n));
      if (!t.ok()) {
        ++failures;
        CHECK(t.err().code == 20001);
        CHECK_FALSE(t.err().message.empty());
      } else {
        (void)render(*t, context, fixed_now);
      }
    }
  }
  CHECK(failures > 0);
}

TEST_CASE("studio templates without tags are literal", "[model][studio]") {
  auto plain = parse_template("no tags { here }");
  REQUIRE(plain.ok());
  CHECK(plain->is_literal());
  auto tagged = parse_template("{{ flow.data.order }}");
  REQUIRE(tagged.ok());
  CHECK_FALSE(tagged->is_literal());
  CHECK(sb::model::template_text().is_literal());
  CHECK(render(sb::model::template_text(), context, fixed_now).empty());
}

TEST_CASE("studio templates render many times against different contexts", "[model][studio]") {
  auto t = parse_template("{% if flow.variables.n > 1 %}{{ flow.variables.n }} items{% else %}one item{% endif %}");
  REQUIRE(t.ok());
  CHECK(render(*t, json{{"flow", {{"variables", {{"n", 3}}}}}}, fixed_now) == "3 items");
  CHECK(render(*t, json{{"flow", {{"variables", {{"n", 1}}}}}}, fixed_now) == "one item");
  CHECK(render(*t, json::object(), fixed_now) == "one item");
  CHECK(render(*t, json(nullptr), fixed_now) == "one item");
  auto copy = *t;
  CHECK(render(copy, json{{"flow", {{"variables", {{"n", 2}}}}}}, fixed_now) == "2 items");
}

TEST_CASE("studio json templates render every string and keep the rest", "[model][studio]") {
  json value = json::parse(R"({
    "variables": [{"key": "greeting", "value": "Hi {{ trigger.conversation.Author }}"},
                  {"key": "n", "value": 5}],
    "offset": {"x": 10, "y": -20},
    "flag": true})");
  auto t = parse_json_template(value);
  REQUIRE(t.ok());
  CHECK(t->source() == value);
  REQUIRE(t->templates().size() == 1);
  CHECK(t->templates()[0].first.to_string() == "/variables/0/value");
  json out = render_json(*t, context, fixed_now);
  CHECK(out["variables"][0]["value"] == "Hi alice");
  CHECK(out["variables"][0]["key"] == "greeting");
  CHECK(out["variables"][1]["value"] == 5);
  CHECK(out["offset"] == value["offset"]);
  CHECK(out["flag"] == true);

  auto scalar = parse_json_template("{{ flow.data.order | plus: 1 }}");
  REQUIRE(scalar.ok());
  CHECK(render_json(*scalar, context, fixed_now) == "43");
}

TEST_CASE("studio json templates name the bad string", "[model][studio]") {
  auto bad = parse_json_template(json::parse(R"({"variables": [{"key": "a", "value": "x"},
                                                                  {"key": "b", "value": "{{ nope.x }}"}]})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.err().code == 20001);
  CHECK_THAT(bad.err().message, Catch::Matchers::Contains("at \"/variables/1/value\": unknown variable \"nope.x\""));

  auto top = parse_json_template("{{ trigger.a | nope }}");
  REQUIRE_FALSE(top.ok());
  CHECK(top.err().message == "unknown filter \"nope\"");
}
