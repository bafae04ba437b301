#pragma once
// `switchboard carrier`: a loopback stand-in for Twilio's Messages API and the
// phone network behind it, for tests and demos. It accepts outbound messages
// on Twilio's REST paths, plays each one's delivery as signed status
// callbacks, and injects inbound messages into a webhook as Twilio would.
// Everything is held in memory; nothing leaves loopback unless told to.

namespace sb::api {

// Runs the simulator until SIGINT or SIGTERM. argv[1] is "carrier"; the
// options follow it (see `switchboard carrier --help`). Prints
// "ready port=N" once listening. Returns 0 after a signal, 2 for bad
// options, 1 when it cannot listen.
int run_carrier(int argc, char** argv);

} // namespace sb::api
