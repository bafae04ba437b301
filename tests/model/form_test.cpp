#include "model/clock.hpp"
#include "model/deadlines.hpp"
#include "model/form.hpp"
#include "model/sid.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <climits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

using sb::model::encode_form;
using sb::model::epoch_ms;
using sb::model::errc;
using sb::model::form;
using sb::model::form_pairs;
using sb::model::is_sid;
using sb::model::iso8601;
using sb::model::make_sid;
using sb::model::parse_iso8601;
using sb::model::random_hex32;
using sb::model::time_point;
using sb::model::url_encode;
using strings = std::vector<std::string>;

namespace {

std::string show(const form_pairs& pairs) {
  std::string out;
  for (auto& [k, v] : pairs)
    out += "[" + k + "]=[" + v + "] ";
  return out;
}

// ---------------------------------------------------------------- form::parse

struct parse_row {
  const char* encoded;
  bool ok;
  form_pairs want;
};

const parse_row parse_rows[] = {
    {"", true, {}},
    {"a=1", true, {{"a", "1"}}},
    {"FriendlyName=Alice&Attributes=%7B%7D", true, {{"FriendlyName", "Alice"}, {"Attributes", "{}"}}},
    {"a=x+y", true, {{"a", "x y"}}},
    {"a=x%20y", true, {{"a", "x y"}}},
    {"a=++", true, {{"a", "  "}}},
    {"a=%2B", true, {{"a", "+"}}},
    {"a=%2b", true, {{"a", "+"}}},
    {"a=%26b%3Dc", true, {{"a", "&b=c"}}},
    {"a=%25", true, {{"a", "%"}}},
    {"a=%E2%82%AC", true, {{"a", "\xE2\x82\xAC"}}},
    {"a=%e2%82%ac", true, {{"a", "\xE2\x82\xAC"}}},
    {"a=%F0%9F%98%80", true, {{"a", "\xF0\x9F\x98\x80"}}},
    {"a=\xC3\xA9", true, {{"a", "\xC3\xA9"}}}, // raw UTF-8 passes through
    {"Friendly+Name=x", true, {{"Friendly Name", "x"}}},
    {"Friendly%20Name=x", true, {{"Friendly Name", "x"}}},
    {"a=1&a=2&b=3&a=4", true, {{"a", "1"}, {"a", "2"}, {"b", "3"}, {"a", "4"}}},
    {"a=", true, {{"a", ""}}},
    {"a=&b=", true, {{"a", ""}, {"b", ""}}},
    {"a", true, {{"a", ""}}},
    {"a&b=2", true, {{"a", ""}, {"b", "2"}}},
    {"&&a=1&&", true, {{"a", "1"}}},
    {"&", true, {}},
    {"a=b=c", true, {{"a", "b=c"}}},
    {"=x", true, {{"", "x"}}},
    {"a=%41%42%43", true, {{"a", "ABC"}}},
    {"a=%", false, {}},
    {"a=%4", false, {}},
    {"a=%zz", false, {}},
    {"a=%4g", false, {}},
    {"a=%g4", false, {}},
    {"a=100%", false, {}},
    {"a=%%41", false, {}},
    {"%=1", false, {}},
    {"a%2=1", false, {}},
    {"a=1&b=%G0", false, {}},
    {"a=%E2%82%A", false, {}},
};

} // namespace

TEST_CASE("form::parse decodes form encoding", "[model][form]") {
  for (const auto& row : parse_rows) DYNAMIC_SECTION("encoded: '" << row.encoded << "'") {
    auto f = form::parse(row.encoded);
    if (!row.ok) {
      REQUIRE_FALSE(f.ok());
      CHECK(f.err().kind == errc::invalid_parameter);
      CHECK(f.err().code == 20001);
      CHECK_THAT(f.err().message, Catch::Matchers::Contains("Malformed form encoding"));
      continue;
    }
    INFO("error: " << (f.ok() ? std::string("none") : f.err().message));
    REQUIRE(f.ok());
    INFO("got: " << show(f->pairs()));
    CHECK(f->pairs() == row.want);
  }
}

TEST_CASE("form lookups keep repeats in order", "[model][form]") {
  auto f = form::parse("a=1&B=2&a=3&c=&a=4");
  REQUIRE(f.ok());
  CHECK(f->get("a") == std::string("1"));
  CHECK(f->get("B") == std::string("2"));
  CHECK_FALSE(f->get("b").has_value()); // names are case-sensitive
  CHECK(f->get("c") == std::string(""));
  CHECK_FALSE(f->get("d").has_value());
  CHECK(f->all("a") == strings{"1", "3", "4"});
  CHECK(f->all("c") == strings{""});
  CHECK(f->all("d").empty());
  CHECK(f->has("c"));
  CHECK_FALSE(f->has("d"));
  CHECK(f->first_unknown({"a", "B", "c"}) == std::nullopt);
  CHECK(f->first_unknown({"a", "c"}) == std::string("B"));
  CHECK(f->first_unknown({}) == std::string("a"));
  form g;
  g.add("x", "1");
  g.add("x", "2");
  CHECK(g.all("x") == strings{"1", "2"});
}

namespace {

struct bool_row {
  const char* encoded;
  bool ok;
  std::optional<bool> want;
};

const bool_row bool_rows[] = {
    {"", true, std::nullopt},     {"Other=true", true, std::nullopt},
    {"V=true", true, true},       {"V=True", true, true},
    {"V=TRUE", true, true},       {"V=1", true, true},
    {"V=false", true, false},     {"V=False", true, false},
    {"V=FALSE", true, false},     {"V=0", true, false},
    {"V=false&V=true", true, false},
    {"V=", false, std::nullopt},  {"V", false, std::nullopt},
    {"V=yes", false, std::nullopt}, {"V=tRue", false, std::nullopt},
    {"V=2", false, std::nullopt}, {"V=+true", false, std::nullopt},
    {"V=true+", false, std::nullopt},
};

} // namespace

TEST_CASE("form get_bool accepts Twilio's boolean spellings", "[model][form]") {
  for (const auto& row : bool_rows) DYNAMIC_SECTION("encoded: '" << row.encoded << "'") {
    auto f = form::parse(row.encoded);
    REQUIRE(f.ok());
    auto b = f->get_bool("V");
    if (!row.ok) {
      REQUIRE_FALSE(b.ok());
      CHECK(b.err().code == 20001);
      CHECK_THAT(b.err().message, Catch::Matchers::Contains("V must be true or false"));
      continue;
    }
    INFO("error: " << (b.ok() ? std::string("none") : b.err().message));
    REQUIRE(b.ok());
    CHECK(*b == row.want);
  }
}

namespace {

struct int_row {
  const char* encoded;
  long long min, max;
  bool ok;
  std::optional<long long> want;
  const char* message;
};

const int_row int_rows[] = {
    {"", 0, 10, true, std::nullopt, ""},
    {"N=5", 0, 10, true, 5, ""},
    {"N=0", 0, 10, true, 0, ""},
    {"N=10", 0, 10, true, 10, ""},
    {"N=007", 0, 10, true, 7, ""},
    {"N=-3", -5, 5, true, -3, ""},
    {"N=-9223372036854775808", LLONG_MIN, LLONG_MAX, true, LLONG_MIN, ""},
    {"N=9223372036854775807", LLONG_MIN, LLONG_MAX, true, LLONG_MAX, ""},
    {"N=11", 0, 10, false, std::nullopt, "N must be between 0 and 10"},
    {"N=-1", 0, 10, false, std::nullopt, "N must be between 0 and 10"},
    {"N=9223372036854775808", LLONG_MIN, LLONG_MAX, false, std::nullopt, "N must be an integer"},
    {"N=99999999999999999999", 0, 10, false, std::nullopt, "N must be an integer"},
    {"N=", 0, 10, false, std::nullopt, "N must be an integer, got ''"},
    {"N=5.0", 0, 10, false, std::nullopt, "N must be an integer, got '5.0'"},
    {"N=abc", 0, 10, false, std::nullopt, "N must be an integer"},
    {"N=+5", 0, 10, false, std::nullopt, "N must be an integer"},
    {"N=+", 0, 10, false, std::nullopt, "N must be an integer"},
    {"N=%205", 0, 10, false, std::nullopt, "N must be an integer"},
    {"N=5%20", 0, 10, false, std::nullopt, "N must be an integer"},
    {"N=0x10", 0, 100, false, std::nullopt, "N must be an integer"},
    {"N=1e3", 0, 10000, false, std::nullopt, "N must be an integer"},
    {"N=--1", -5, 5, false, std::nullopt, "N must be an integer"},
};

} // namespace

TEST_CASE("form get_int parses bounded integers", "[model][form]") {
  for (const auto& row : int_rows)
    DYNAMIC_SECTION("encoded: '" << row.encoded << "' in [" << row.min << ", " << row.max << "]") {
    auto f = form::parse(row.encoded);
    REQUIRE(f.ok());
    auto n = f->get_int("N", row.min, row.max);
    if (!row.ok) {
      REQUIRE_FALSE(n.ok());
      CHECK(n.err().code == 20001);
      CHECK_THAT(n.err().message, Catch::Matchers::Contains(row.message));
      continue;
    }
    INFO("error: " << (n.ok() ? std::string("none") : n.err().message));
    REQUIRE(n.ok());
    CHECK(*n == row.want);
  }
}

namespace {

struct encode_row {
  std::string text;
  const char* want;
};

const encode_row encode_rows[] = {
    {"", ""},
    {"abcXYZ019", "abcXYZ019"},
    {"-_.~", "-_.~"},
    {"a b", "a%20b"},
    {"a+b", "a%2Bb"},
    {"a&b=c", "a%26b%3Dc"},
    {"100%", "100%25"},
    {"/?#[]@!$'()*,;:", "%2F%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B%3A"},
    {"{\"a\":1}", "%7B%22a%22%3A1%7D"},
    {"\xE2\x82\xAC", "%E2%82%AC"},
    {"\xC3\xA9t\xC3\xA9", "%C3%A9t%C3%A9"},
    {std::string("a\0b", 3), "a%00b"},
    {"\n\t\x7F\xFF", "%0A%09%7F%FF"},
};

} // namespace

TEST_CASE("url_encode percent-encodes all but unreserved characters", "[model][form]") {
  for (const auto& row : encode_rows) {
    INFO("text: '" << row.text << "'");
    CHECK(url_encode(row.text) == row.want);
  }
}

TEST_CASE("encode_form joins pairs and round-trips through form::parse", "[model][form]") {
  const form_pairs cases[] = {
      {},
      {{"a", "1"}},
      {{"a", ""}},
      {{"FriendlyName", "Alice Smith"}, {"Attributes", R"({"skills":["en","fr"],"x":"a+b&c=d"})"}},
      {{"To", "+15551234567"}, {"Body", "100% sure? yes/no #1"}},
      {{"a", "1"}, {"a", "2"}, {"a", "1"}},
      {{"Na me", "v=a&l"}, {"", "empty name"}},
      {{"u", "\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9"}},
      {{"ctl", std::string("\0\n\r\t", 4)}},
  };
  const char* encoded[] = {
      "",
      "a=1",
      "a=",
      "FriendlyName=Alice%20Smith&Attributes=%7B%22skills%22%3A%5B%22en%22%2C%22fr%22%5D%2C%22x%22%"
      "3A%22a%2Bb%26c%3Dd%22%7D",
      "To=%2B15551234567&Body=100%25%20sure%3F%20yes%2Fno%20%231",
      "a=1&a=2&a=1",
      "Na%20me=v%3Da%26l&=empty%20name",
      "u=%E2%82%AC%20%F0%9F%98%80%20%C3%A9",
      "ctl=%00%0A%0D%09",
  };
  for (std::size_t i = 0; i < std::size(cases); ++i) DYNAMIC_SECTION("pairs: " << show(cases[i])) {
    auto text = encode_form(cases[i]);
    CHECK(text == encoded[i]);
    auto back = form::parse(text);
    REQUIRE(back.ok());
    CHECK(back->pairs() == cases[i]);
  }
}

// ---------------------------------------------------------------- clock

namespace {

time_point at(long long seconds, long long ms = 0) {
  return time_point{} + std::chrono::seconds(seconds) + std::chrono::milliseconds(ms);
}

struct format_row {
  time_point t;
  const char* want;
};

const format_row format_rows[] = {
    {at(0), "1970-01-01T00:00:00Z"},
    {at(1), "1970-01-01T00:00:01Z"},
    {at(1700000000), "2023-11-14T22:13:20Z"},
    {at(1700000000, 999), "2023-11-14T22:13:20Z"},
    {at(951782400), "2000-02-29T00:00:00Z"},
    {at(1709164800), "2024-02-29T00:00:00Z"},
    {at(4102444799), "2099-12-31T23:59:59Z"},
    {at(4102444800), "2100-01-01T00:00:00Z"},
};

struct parse_time_row {
  const char* text;
  std::optional<long long> want; // epoch seconds; nullopt: rejected
};

const parse_time_row parse_time_rows[] = {
    {"1970-01-01T00:00:00Z", 0},
    {"2023-11-14T22:13:20Z", 1700000000},
    {"2023-11-14T22:13:20z", 1700000000},
    {"2023-11-14T22:13:20+00:00", 1700000000},
    {"2023-11-14T22:13:20.123Z", 1700000000},
    {"2023-11-14T22:13:20.999999+00:00", 1700000000},
    {"2000-02-29T00:00:00Z", 951782400},
    {"2024-02-29T00:00:00Z", 1709164800},
    {"2099-12-31T23:59:59Z", 4102444799},
    {"2023-12-31T23:59:59Z", 1704067199},
    {"", std::nullopt},
    {"2023-11-14", std::nullopt},
    {"2023-11-14T22:13:20", std::nullopt},
    {"2023-11-14 22:13:20Z", std::nullopt},
    {"2023-11-14T22:13Z", std::nullopt},
    {"2023-11-14T22:13:20+01:00", std::nullopt},
    {"2023-11-14T22:13:20-00:00", std::nullopt},
    {"2023-11-14T22:13:20+0000", std::nullopt},
    {"2023-11-14T22:13:20ZZ", std::nullopt},
    {"2023-11-14T22:13:20Z ", std::nullopt},
    {" 2023-11-14T22:13:20Z", std::nullopt},
    {"2023-11-14T22:13:20.Z", std::nullopt},
    {"2023-11-14T22:13:20.12aZ", std::nullopt},
    {"2023-13-01T00:00:00Z", std::nullopt},
    {"2023-00-10T00:00:00Z", std::nullopt},
    {"2023-11-00T00:00:00Z", std::nullopt},
    {"2023-11-31T00:00:00Z", std::nullopt},
    {"2023-02-29T00:00:00Z", std::nullopt},
    {"2100-02-29T00:00:00Z", std::nullopt},
    {"2023-04-31T00:00:00Z", std::nullopt},
    {"2023-11-14T24:00:00Z", std::nullopt},
    {"2023-11-14T22:60:00Z", std::nullopt},
    {"2023-11-14T22:13:61Z", std::nullopt},
    {"2023-11-14T-1:13:20Z", std::nullopt},
    {"2023-11-14T22:-1:20Z", std::nullopt},
    {"2023-1-14T22:13:20Z", std::nullopt},
    {"2023-11-4T22:13:20Z", std::nullopt},
    {"2023-11-14T2:13:20Z", std::nullopt},
    {"23-11-14T22:13:20Z", std::nullopt},
    {"2023/11/14T22:13:20Z", std::nullopt},
    {"2023-11-14t22:13:20Z", std::nullopt},
    {"yesterday", std::nullopt},
};

} // namespace

TEST_CASE("iso8601 formats whole seconds in UTC", "[model][form]") {
  for (const auto& row : format_rows) {
    INFO("epoch ms " << epoch_ms(row.t));
    CHECK(iso8601(row.t) == row.want);
  }
}

TEST_CASE("parse_iso8601 reads Twilio's ISO-8601 and rejects the rest", "[model][form]") {
  for (const auto& row : parse_time_rows) DYNAMIC_SECTION("text: '" << row.text << "'") {
    auto t = parse_iso8601(row.text);
    if (!row.want) {
      INFO("parsed as " << (t ? iso8601(*t) : std::string("-")));
      CHECK_FALSE(t.has_value());
      continue;
    }
    REQUIRE(t.has_value());
    // Fractional seconds are dropped, never rounded up.
    CHECK(std::chrono::floor<std::chrono::seconds>(*t) == at(*row.want));
    CHECK(*t - at(*row.want) < std::chrono::seconds(1));
  }
}

TEST_CASE("iso8601 and parse_iso8601 round-trip whole seconds", "[model][form]") {
  for (long long s : {0LL, 59LL, 86399LL, 951782399LL, 1700000000LL, 2147483647LL, 4102444800LL})
    DYNAMIC_SECTION("epoch " << s) {
    auto t = parse_iso8601(iso8601(at(s)));
    REQUIRE(t.has_value());
    CHECK(*t == at(s));
  }
}

TEST_CASE("epoch_ms counts milliseconds since 1970", "[model][form]") {
  CHECK(epoch_ms(at(0)) == 0);
  CHECK(epoch_ms(at(1, 250)) == 1250);
  CHECK(epoch_ms(at(1700000000, 7)) == 1700000000007LL);
  CHECK(epoch_ms(at(-1)) == -1000);
}

// ---------------------------------------------------------------- SIDs

namespace {

struct sid_row {
  std::string text;
  const char* prefix;
  bool want;
};

const sid_row sid_rows[] = {
    {"WK0123456789abcdef0123456789abcdef", "WK", true},
    {"WQffffffffffffffffffffffffffffffff", "WQ", true},
    {"WK0123456789abcdef0123456789abcdef", "WQ", false},
    {"wk0123456789abcdef0123456789abcdef", "WK", false},
    {"WK0123456789abcdef0123456789abcde", "WK", false},
    {"WK0123456789abcdef0123456789abcdef0", "WK", false},
    {"WK0123456789abcdef0123456789abcdeg", "WK", false},
    {"WK0123456789abcdef 123456789abcdef", "WK", false},
    {"WK", "WK", false},
    {"", "WK", false},
    {"0123456789abcdef0123456789abcdef", "", true},
    {"XX0123456789abcdef0123456789abcdef", "WK", false},
    {std::string("WK0123456789abcdef0123456789abcde\0", 34), "WK", false},
};

} // namespace

TEST_CASE("is_sid checks the prefix and 32 hex digits", "[model][form]") {
  for (const auto& row : sid_rows) {
    INFO("text: '" << row.text << "' prefix " << row.prefix);
    CHECK(is_sid(row.text, row.prefix) == row.want);
  }
}

TEST_CASE("make_sid makes distinct lowercase SIDs with the prefix", "[model][form]") {
  std::set<std::string> seen;
  for (const char* prefix : {"WK", "WT", "WR", "CH", "AC"}) {
    for (int i = 0; i < 200; ++i) {
      auto sid = make_sid(prefix);
      INFO("sid " << sid);
      CHECK(sid.size() == 34);
      CHECK(sid.substr(0, 2) == prefix);
      CHECK(is_sid(sid, prefix));
      CHECK(sid.find_first_not_of("0123456789abcdef", 2) == std::string::npos);
      CHECK(seen.insert(sid).second);
    }
  }
  auto hex = random_hex32();
  CHECK(hex.size() == 32);
  CHECK(hex.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(random_hex32() != hex);
}

// ---------------------------------------------------------------- deadlines

namespace {

using steady = std::chrono::steady_clock::time_point;
using sb::model::deadlines;

steady tick(int s) { return steady{} + std::chrono::seconds(s); }

struct deadline_step {
  enum kind { schedule, cancel, pop } op;
  const char* key;
  int at; // schedule: when; pop: now
  strings due; // pop: keys expected, in order
};

struct deadline_row {
  const char* name;
  std::vector<deadline_step> steps;
  std::optional<int> next;   // next() after the steps
  std::size_t size;
};

const deadline_row deadline_rows[] = {
    {"empty", {}, std::nullopt, 0},
    {"pop_due returns due keys earliest first",
     {{deadline_step::schedule, "c", 30, {}},
      {deadline_step::schedule, "a", 10, {}},
      {deadline_step::schedule, "b", 20, {}},
      {deadline_step::pop, "", 25, {"a", "b"}}},
     30, 1},
    {"a deadline at now is due",
     {{deadline_step::schedule, "a", 10, {}}, {deadline_step::pop, "", 9, {}},
      {deadline_step::pop, "", 10, {"a"}}, {deadline_step::pop, "", 10, {}}},
     std::nullopt, 0},
    {"equal deadlines pop in scheduling order",
     {{deadline_step::schedule, "x", 5, {}},
      {deadline_step::schedule, "b", 5, {}},
      {deadline_step::schedule, "a", 5, {}},
      {deadline_step::pop, "", 5, {"x", "b", "a"}}},
     std::nullopt, 0},
    {"reschedule later moves the key",
     {{deadline_step::schedule, "a", 10, {}},
      {deadline_step::schedule, "b", 20, {}},
      {deadline_step::schedule, "a", 30, {}},
      {deadline_step::pop, "", 25, {"b"}}},
     30, 1},
    {"reschedule earlier moves the key",
     {{deadline_step::schedule, "a", 30, {}},
      {deadline_step::schedule, "b", 20, {}},
      {deadline_step::schedule, "a", 10, {}},
      {deadline_step::pop, "", 100, {"a", "b"}}},
     std::nullopt, 0},
    {"reschedule to the same time keeps one entry",
     {{deadline_step::schedule, "a", 10, {}},
      {deadline_step::schedule, "a", 10, {}},
      {deadline_step::pop, "", 10, {"a"}}},
     std::nullopt, 0},
    {"cancel forgets the key",
     {{deadline_step::schedule, "a", 10, {}},
      {deadline_step::schedule, "b", 20, {}},
      {deadline_step::cancel, "a", 0, {}},
      {deadline_step::cancel, "a", 0, {}},
      {deadline_step::cancel, "nope", 0, {}}},
     20, 1},
    {"cancel then schedule again",
     {{deadline_step::schedule, "a", 10, {}},
      {deadline_step::cancel, "a", 0, {}},
      {deadline_step::schedule, "a", 40, {}},
      {deadline_step::pop, "", 30, {}}},
     40, 1},
    {"popped keys can be scheduled again",
     {{deadline_step::schedule, "a", 10, {}},
      {deadline_step::pop, "", 10, {"a"}},
      {deadline_step::schedule, "a", 15, {}},
      {deadline_step::schedule, "b", 12, {}},
      {deadline_step::pop, "", 20, {"b", "a"}}},
     std::nullopt, 0},
};

} // namespace

TEST_CASE("deadlines keep keyed deadlines earliest first", "[model][form]") {
  for (const auto& row : deadline_rows) DYNAMIC_SECTION(row.name) {
    deadlines<steady> d;
    std::map<std::string, int> live;
    for (std::size_t i = 0; i < row.steps.size(); ++i) {
      const auto& s = row.steps[i];
      INFO("step " << i);
      switch (s.op) {
        case deadline_step::schedule:
          d.schedule(s.key, tick(s.at));
          live[s.key] = s.at;
          break;
        case deadline_step::cancel:
          d.cancel(s.key);
          live.erase(s.key);
          break;
        case deadline_step::pop: {
          auto due = d.pop_due(tick(s.at));
          CHECK(due == s.due);
          for (auto& k : due)
            live.erase(k);
          break;
        }
      }
      for (auto& [k, at] : live) {
        INFO("key " << k);
        CHECK(d.contains(k));
        CHECK(d.deadline_of(k) == tick(at));
      }
    }
    CHECK(d.size() == row.size);
    CHECK(live.size() == row.size);
    if (row.next)
      CHECK(d.next() == tick(*row.next));
    else
      CHECK_FALSE(d.next().has_value());
    CHECK_FALSE(d.contains("nope"));
    CHECK_FALSE(d.deadline_of("nope").has_value());
  }
}
