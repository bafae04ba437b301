#include "api/token_cli.hpp"

#include <chrono>
#include <charconv>
#include <iostream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "model/access_token.hpp"

namespace sb::api {

namespace {

const char* usage = R"(usage:
  switchboard token mint --account AC... --key SK... --secret SECRET --identity ID
                         [--ttl SECONDS] [--chat-service IS...]
                         [--workspace WS... --worker WK... [--role ROLE]]
  switchboard token verify --secret SECRET [--key SK...] [--account AC...] JWT

mint prints a signed access token (HS256, as the helper libraries'
AccessToken makes it) with an identity and a chat grant and/or a TaskRouter
grant; --ttl defaults to 3600. verify checks a token's signature, issuer,
account and times and prints its claims as JSON; a token that does not
verify prints Twilio's error (code 20101-20107) and exits with 1.
)";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

int run_token(int argc, char** argv) {
  if (argc < 3 || std::string(argv[2]) == "--help") {
    std::cout << usage;
    return argc < 3 ? 2 : 0;
  }
  std::string mode = argv[2];
  std::map<std::string, std::string> opt;
  std::string jwt;
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) {
      if (i + 1 >= argc) {
        std::cerr << "switchboard token: " << arg << " needs a value\n";
        return 2;
      }
      opt[arg.substr(2)] = argv[++i];
    } else if (jwt.empty()) {
      jwt = arg;
    } else {
      std::cerr << "switchboard token: one token at a time\n" << usage;
      return 2;
    }
  }
  auto need = [&](const char* name) {
    if (opt.count(name) && !opt[name].empty())
      return true;
    std::cerr << "switchboard token " << mode << ": --" << name << " is required\n";
    return false;
  };
  if (mode == "mint") {
    if (!need("account") || !need("key") || !need("secret") || !need("identity"))
      return 2;
    std::int64_t ttl = 3600;
    if (opt.count("ttl")) {
      auto& v = opt["ttl"];
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ttl);
      if (ec != std::errc{} || p != v.data() + v.size() || ttl <= 0) {
        std::cerr << "switchboard token mint: --ttl needs a positive number of seconds\n";
        return 2;
      }
    }
    model::access_token t;
    t.account_sid = opt["account"];
    t.key_sid = opt["key"];
    t.issued_at = unix_now();
    t.expires_at = t.issued_at + ttl;
    t.grants["identity"] = opt["identity"];
    if (opt.count("chat-service"))
      t.grants["chat"] = {{"service_sid", opt["chat-service"]}};
    if (opt.count("workspace") || opt.count("worker")) {
      if (!need("workspace") || !need("worker"))
        return 2;
      nlohmann::json tr{{"workspace_sid", opt["workspace"]}, {"worker_sid", opt["worker"]}};
      if (opt.count("role"))
        tr["role"] = opt["role"];
      t.grants["task_router"] = tr;
    }
    std::cout << model::mint_access_token(t, opt["secret"]) << "\n";
    return 0;
  }
  if (mode == "verify") {
    if (!need("secret"))
      return 2;
    if (jwt.empty()) {
      std::cerr << "switchboard token verify: the token is missing\n";
      return 2;
    }
    auto secret = opt["secret"];
    auto key = opt.count("key") ? opt["key"] : std::string();
    auto r = model::verify_access_token(
      jwt,
      [&](const std::string& sid) -> std::optional<std::string> {
        if (!key.empty() && sid != key)
          return std::nullopt;
        return secret;
      },
      unix_now(), opt.count("account") ? opt["account"] : std::string());
    if (!r) {
      std::cout << nlohmann::json{{"code", r.err().code}, {"message", r.err().message}, {"status", 401}}.dump() << "\n";
      return 1;
    }
    nlohmann::json out{{"account_sid", r->account_sid}, {"key_sid", r->key_sid}, {"identity", r->identity()},
                       {"issued_at", r->issued_at}, {"expires_at", r->expires_at}, {"grants", r->grants}};
    if (r->not_before)
      out["not_before"] = *r->not_before;
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cerr << "switchboard token: unknown mode " << mode << "\n" << usage;
  return 2;
}

} // namespace sb::api
