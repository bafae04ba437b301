#pragma once
// `switchboard token`: mints and checks Twilio access tokens (the JWT of the
// helper libraries' AccessToken) from the command line, for operators and
// for tests that check this code against the official library's tokens.

namespace sb::api {

// argv[1] is "token"; see `switchboard token --help`. Returns 0 on success,
// 1 when a token does not verify (its Twilio error is printed), 2 for bad
// options.
int run_token(int argc, char** argv);

} // namespace sb::api
