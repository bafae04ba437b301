#pragma once
// Checks shared by the API tests that drive the real binary: a data
// directory removed at the end, a success with its JSON, a Twilio error.

#include <filesystem>
#include <string>
#include <system_error>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "server_fixture.hpp"

namespace sbtest {

// A data directory removed when the test ends.
struct temp_dir {
  std::string path = make_temp_dir();
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// The answer has this status; its JSON body (null for 204).
inline nlohmann::json ok(const http_result& r, unsigned status = 200) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == status);
  return status == 204 ? nlohmann::json() : r.json();
}

// A Twilio error: this status and code, with a message and more_info.
inline void error_is(const http_result& r, unsigned status, int code) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == status);
  auto doc = r.json();
  CHECK(doc["code"] == code);
  CHECK(doc["status"] == status);
  CHECK(doc["message"].is_string());
  CHECK(doc["more_info"].is_string());
}

} // namespace sbtest
