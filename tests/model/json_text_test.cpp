// json_text writes exactly what nlohmann's compact dump (with invalid UTF-8
// replaced) writes: fixed cases for every escape and kind of value, then
// random documents.

#include <catch2/catch.hpp>

#include <functional>
#include <limits>
#include <random>

#include "model/json_text.hpp"

using nlohmann::json;
using namespace sb;

namespace {

std::string reference(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

} // namespace

TEST_CASE("json_text: every escape and kind of value as nlohmann writes it", "[json]") {
  std::string controls;
  for (int c = 0; c < 0x20; ++c)
    controls += static_cast<char>(c);
  json doc = {
    {"null", nullptr},
    {"true", true},
    {"false", false},
    {"int", -42},
    {"big", std::numeric_limits<std::int64_t>::min()},
    {"unsigned", std::numeric_limits<std::uint64_t>::max()},
    {"float", 0.1},
    {"whole float", 3.0},
    {"empty", ""},
    {"quotes and slashes", "a \"quoted\" \\ back/slash"},
    {"controls", controls},
    {"del", "\x7f"},
    {"unicode", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"invalid utf-8", "bad \xff\xfe byte, cut \xe2\x82"},
    {"array", json::array({1, "two", nullptr, json::array(), json::object()})},
    {"object", {{"nested", {{"deeper", "x"}}}}},
    {"k\"ey\n", "keys are escaped too"},
  };
  CHECK(model::json_text(doc) == reference(doc));
  for (auto& [k, v] : doc.items())
    CHECK(model::json_text(v) == reference(v));
  CHECK(model::json_text(json::array()) == "[]");
  CHECK(model::json_text(json::object()) == "{}");
}

TEST_CASE("json_text: random documents match nlohmann's text", "[json]") {
  std::mt19937_64 rng(20261125);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<std::uint64_t>(n)); };
  auto random_string = [&] {
    std::string s;
    int n = pick(12);
    for (int i = 0; i < n; ++i) {
      int kind = pick(10);
      if (kind < 6)
        s += static_cast<char>(0x20 + pick(0x5f));      // printable ASCII
      else if (kind < 8)
        s += static_cast<char>(pick(0x20));             // a control character
      else
        s += static_cast<char>(0x80 + pick(0x80));      // a byte beyond ASCII, often invalid
    }
    return s;
  };
  std::function<json(int)> random_value = [&](int depth) -> json {
    switch (pick(depth > 3 ? 6 : 8)) {
      case 0: return nullptr;
      case 1: return pick(2) == 0;
      case 2: return static_cast<std::int64_t>(rng()) >> pick(64);
      case 3: return static_cast<std::uint64_t>(rng());
      case 4: return static_cast<double>(static_cast<std::int64_t>(rng() % 2000000) - 1000000) / 1000.0;
      case 5: return random_string();
      case 6: {
        json a = json::array();
        for (int i = pick(5); i > 0; --i)
          a.push_back(random_value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (int i = pick(5); i > 0; --i)
          o[random_string()] = random_value(depth + 1);
        return o;
      }
    }
  };
  for (int i = 0; i < 3000; ++i) {
    auto doc = random_value(0);
    INFO(reference(doc));
    REQUIRE(model::json_text(doc) == reference(doc));
  }
}
