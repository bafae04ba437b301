#include "model/workflow_config.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using sb::model::errc;
using sb::model::order_clause;
using sb::model::parse_order_by;
using sb::model::parse_workflow_config;
using sb::model::resolve_known_worker;
using sb::model::workflow_config;
using json = nlohmann::json;

namespace {

// Two TaskQueues exist in the workspace; anything else is unknown.
#define Q1 "WQ11111111111111111111111111111111"
#define Q2 "WQ22222222222222222222222222222222"
#define QX "WQ99999999999999999999999999999999"

bool queue_exists(const std::string& sid) {
  return sid == Q1 || sid == Q2;
}

expected_workflow_dummy_guard_unused();

} // namespace
