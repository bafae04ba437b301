#!/usr/bin/env bash
# Conversations HTTP benchmark (issue 4): messages posted with wrk to the real
# switchboard binary, once per durability setting (full, normal, memory),
# each on a fresh server and data directory: 1,000 conversations with two
# chat participants each (agent-n, customer-n), then POST
# /v1/Conversations/{CH}/Messages by customer-n rotating over them
# (bench/cv_messages.lua). Prints messages per second, latency p50/p99,
# responses other than 201 (from wrk, and by status from /metrics), the
# store's share of the run and changes per commit, the server's CPU and
# resident memory; beside them the baseline from the same run: nginx serving
# a 12-byte static file with the same wrk settings, and each mode's ratio to
# it. Target: 30,000 messages/s with --durability full.
#
# wrk and the server share the machine's cores. The per-conversation write
# limit (--conversation-write-rate, default 500/s, bursts of 1,000) does not
# bite: 30,000/s over 1,000 conversations is 30/s each.
#
# usage: bench/cv_http_bench.sh [seconds] [connections]    (defaults: 10, 64)
# Needs: a build, wrk, nginx-light, curl (7.66+, for --parallel).
# SWITCHBOARD_BIN picks the binary (default build/api/switchboard);
# PERF_DATA=FILE records the server with perf during each run (FILE.MODE;
# PERF_CALL_GRAPH sets perf's call-graph flags, default -g);
# SWITCHBOARD_ARGS adds flags to every server; DURABILITY_MODES (default
# "full normal memory") picks the settings; CONVERSATIONS (default 1000) the
# number of conversations.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
bin=${SWITCHBOARD_BIN:-build/api/switchboard}
modes=${DURABILITY_MODES:-full normal memory}
conversations=${CONVERSATIONS:-1000}
# shellcheck source=bench/lib.sh
. bench/lib.sh

# rss_kb PID: the process's resident memory in KiB.
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: user + system time of the process in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# set_up_conversations N: N conversations, each with the chat participants
# agent-n and customer-n, created by one curl process with 32 requests in
# flight; their SIDs go to $work/sids in order (line n: conversation n).
# Sets setup_secs. Exits when anything was refused.
set_up_conversations() {
  local n=$1 t0 t1 got
  t0=$(date +%s.%N)
  awk -v n="$n" -v url="$base/Conversations" -v auth="$auth" 'BEGIN {
    for (i = 1; i <= n; i++) {
      printf "url = \"%s\"\ndata = \"FriendlyName=bench-%d\"\n", url, i
      printf "header = \"Authorization: Basic %s\"\nwrite-out = \"\\n\"\n", auth
      if (i < n) print "next"
    } }' > "$work/create.cfg"
  curl -s --no-progress-meter --parallel --parallel-max 32 -K "$work/create.cfg" 2>> "$work/curl.err" |
    grep -o '"sid": *"CH[0-9a-f]\{32\}"' | grep -o 'CH[0-9a-f]\{32\}' > "$work/sids" || true
  got=$(sort -u "$work/sids" | wc -l)
  if [ "$got" -ne "$n" ]; then
    echo "  set-up: $got of $n conversations created"; exit 1
  fi
  awk -v base="$base" -v auth="$auth" '{
      for (k = 0; k < 2; k++) {
        if (NR > 1 || k > 0) print "next"
        printf "url = \"%s/Conversations/%s/Participants\"\n", base, $1
        printf "data = \"Identity=%s-%d\"\n", (k == 0 ? "agent" : "customer"), NR
        printf "header = \"Authorization: Basic %s\"\noutput = \"/dev/null\"\n", auth
        print "write-out = \"%{http_code}\\n\""
      } }' "$work/sids" > "$work/participants.cfg"
  curl -s --no-progress-meter --parallel --parallel-max 32 -K "$work/participants.cfg" \
    > "$work/participants.codes" 2>> "$work/curl.err" || true
  if [ "$(grep -c '^201$' "$work/participants.codes")" -ne $((2 * n)) ]; then
    echo "  set-up: participant creation answered (count status):" $(sort "$work/participants.codes" | uniq -c)
    exit 1
  fi
  t1=$(date +%s.%N)
  setup_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
}

# statuses BEFORE AFTER: "status:count ..." of the message POSTs between two
# scrapes.
statuses() {
  local f
  for f in "$1" "$2"; do
    awk '/^switchboard_http_requests_total\{/ && /Conversations\/\*\/Messages"/ && /method="POST"/ {
           match($0, /status="[0-9]+"/); print substr($0, RSTART + 8, RLENGTH - 9), $NF }' "$f" > "$f.status"
  done
  awk -v first="$1.status" 'FILENAME == first { before[$1] = $2; next }
    { d = $2 - before[$1]; if (d > 0) printf "%s:%d ", $1, d }' "$1.status" "$2.status"
}

machine_line
echo "workload: $conversations conversations, 2 chat participants each; POST .../Messages rotating over them"
declare -A mode_rps=()
for mode in $modes; do
  if ! start_server "cv-$mode" --durability "$mode"; then
    printf "  %-10s server did not start: %s\n" "$mode" "$(head -n 1 "$work/cv-$mode.out")"
    continue
  fi
  rss0=$(rss_kb "$server_pid")
  set_up_conversations "$conversations"
  rss1=$(rss_kb "$server_pid")
  scrape "$work/before.prom"
  cpu0=$(cpu_ticks "$server_pid")
  perf_pid=
  if [ -n "${PERF_DATA:-}" ]; then
    perf record -q -F 499 ${PERF_CALL_GRAPH:--g} -p "$server_pid" -o "$PERF_DATA.$mode" -- sleep "$secs" 2> /dev/null &
    perf_pid=$!
  fi
  run_wrk -s bench/cv_messages.lua "http://127.0.0.1:$port" -- "$auth" "$work/sids"
  cpu1=$(cpu_ticks "$server_pid")
  [ -z "$perf_pid" ] || wait "$perf_pid" || true
  scrape "$work/after.prom"
  rss2=$(rss_kb "$server_pid")
  mode_rps[$mode]=$rps
  store_figures "$work/before.prom" "$work/after.prom"
  codes=$(statuses "$work/before.prom" "$work/after.prom")
  printf "  %-7s %8.0f messages/s   p50 %s   p99 %s   non-2xx: %s   by status: %s\n" \
    "$mode" "$rps" "$p50" "$p99" "${errors:-0}" "${codes:-none}"
  awk -v c0="$cpu0" -v c1="$cpu1" -v hz="$(getconf CLK_TCK)" -v w="$wall" -v n="$requests" \
      -v r0="$rss0" -v r1="$rss1" -v r2="$rss2" -v s="$setup_secs" -v store="$store" 'BEGIN {
    cpu = (c1 - c0) / hz
    printf "          %s\n", substr(store, 4)
    printf "          server CPU %.2f cores (%.0f us per message)   set-up %s s\n", cpu / w, 1e6 * cpu / n, s
    printf "          server RSS: %.0f MiB at start, %.0f MiB after set-up, %.0f MiB after %d messages\n",
      r0 / 1024, r1 / 1024, r2 / 1024, n }'
  t0=$(date +%s.%N)
  stop_server
  printf "          clean shutdown (SIGTERM to exit) took %.1f s\n" "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')"
done

start_nginx
run_wrk "http://127.0.0.1:$nport/index.html"
stop_nginx
printf "  %-7s %8.0f req/s        p50 %s   p99 %s   (baseline: nginx, one worker process, 12-byte static file)\n" \
  "nginx" "$rps" "$p50" "$p99"
for mode in $modes; do
  [ -n "${mode_rps[$mode]:-}" ] || continue
  awk -v m="$mode" -v r="${mode_rps[$mode]}" -v n="$rps" -v full="${mode_rps[full]:-0}" 'BEGIN {
    printf "  ratio %-7s / nginx: %.2f", m, r / n
    if (m == "full") printf "   target 30,000 messages/s: %s", (r >= 30000 ? "met" : sprintf("not met (%.0f%%)", 100 * r / 30000))
    printf "\n" }'
done
