#!/usr/bin/env bash
# End-to-end inbound flow benchmark (bench/flex_bench.cpp): starts the
# carrier simulator as the SMS gateway and a server on a fresh data
# directory, runs build-bench/bench/flex_bench against them (customers ->
# Studio -> Flex -> TaskRouter -> simulated agents, at 1,000 and 10,000
# concurrent conversations, then open-loop runs at a quarter and half of the
# best throughput for latency below saturation, then the ingest baseline)
# and stops both by PID.
#
# usage: bench/flex_bench.sh [seconds] [concurrencies]     (defaults: 30, 1000,10000)
# SWITCHBOARD_BIN / FLEX_BENCH_BIN pick the binaries (default build-bench/...);
# DURABILITY (default full); SWITCHBOARD_ARGS adds flags to the server;
# GATEWAY=none runs without the carrier (outbound sends then fail at once
# with 30008, no HTTP); FLEX_BENCH_ARGS adds flags to flex_bench (e.g.
# --accept callback, --greeting, --capacity 20); PERF_DATA=FILE records the
# server with perf for the first run's length.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
concurrency=${2:-1000,10000}
bin=${SWITCHBOARD_BIN:-build-bench/api/switchboard}
driver=${FLEX_BENCH_BIN:-build-bench/bench/flex_bench}
# shellcheck source=bench/lib.sh
. bench/lib.sh

carrier_pid=""
stop_carrier() {
  [ -n "$carrier_pid" ] || return 0
  kill "$carrier_pid" 2>/dev/null || true; wait "$carrier_pid" 2>/dev/null || true; carrier_pid=""
}
trap 'stop_carrier; cleanup' EXIT

account="AC$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
secret="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
gateway_args=()
if [ "${GATEWAY:-carrier}" != none ]; then
  "$bin" carrier --port 0 --listen 127.0.0.1 --account "$account:$secret" > "$work/carrier.out" 2>&1 &
  carrier_pid=$!
  for _ in $(seq 1 100); do grep -q '^ready port=' "$work/carrier.out" && break; sleep 0.1; done
  cport=$(sed -n 's/^ready port=//p' "$work/carrier.out")
  [ -n "$cport" ] || { echo "carrier did not start:"; cat "$work/carrier.out"; exit 1; }
  gateway_args=(--gateway "sms=http://127.0.0.1:$cport/2010-04-01/Accounts/{AccountSid}/Messages.json")
fi
if ! start_server flex --durability "${DURABILITY:-full}" --account-sid "$account" --auth-token "$secret" \
     "${gateway_args[@]}"; then
  echo "server did not start:"; cat "$work/flex.out"; exit 1
fi

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'); server, carrier and driver share them"
echo "server: $bin, durability ${DURABILITY:-full}, gateway ${GATEWAY:-carrier simulator}${SWITCHBOARD_ARGS:+, args: $SWITCHBOARD_ARGS}"
perf_pid=""
if [ -n "${PERF_DATA:-}" ]; then
  perf record -q -F 499 -g -p "$server_pid" -o "$PERF_DATA" -- sleep "$secs" 2> /dev/null &
  perf_pid=$!
fi
# shellcheck disable=SC2086
"$driver" --port "$port" --account "$account" --token "$secret" --concurrency "$concurrency" --seconds "$secs" \
  --server-pid "$server_pid" ${carrier_pid:+--carrier-pid "$carrier_pid"} ${FLEX_BENCH_ARGS:-}
[ -z "$perf_pid" ] || wait "$perf_pid" || true
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server died:"; tail -n 20 "$work/flex.out"; server_pid=""
fi
stop_server
stop_carrier
