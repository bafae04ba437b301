#!/usr/bin/env bash
# HTTP benchmark: task creation and task fetch against the real switchboard
# binary with wrk, and beside them the baseline from the same run: nginx
# serving a 12-byte static file with the same wrk settings. Then task creation
# once per durability setting (full, normal, memory), each against a fresh
# server and data directory, with the share of the run the store spent
# committing and the mean number of changes per commit, read from /metrics.
#
# usage: bench/http_bench.sh [seconds] [connections]      (defaults: 10, 64)
# Needs: a build (scripts/setup), wrk, nginx-light, curl. Shared helpers:
# bench/lib.sh.
# SWITCHBOARD_BIN picks the binary; SWITCHBOARD_ARGS adds flags to every
# server; DURABILITY_MODES (default "full normal memory") picks the settings;
# DURABLE_CONNECTIONS (default: the connections argument, then 256) the
# connection counts the durability runs use: group commit gathers more
# changes per fsync when more clients wait.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
bin=${SWITCHBOARD_BIN:-build/api/switchboard}
modes=${DURABILITY_MODES:-full normal memory}
durable_conns=${DURABLE_CONNECTIONS:-$conns 256}
# shellcheck source=bench/lib.sh
. bench/lib.sh

# A workspace with one queue (every worker) and one workflow to it; sets ws.
set_up_workspace() {
  ws=$(api -X POST "$base/Workspaces" -d FriendlyName=bench | field sid | head -c 34)
  local queue cfg
  queue=$(api -X POST "$base/Workspaces/$ws/TaskQueues" -d FriendlyName=q --data-urlencode 'TargetWorkers=1==1' | field sid | head -c 34)
  cfg='{"task_routing":{"filters":[],"default_filter":{"queue":"'$queue'"}}}'
  api -X POST "$base/Workspaces/$ws/Workflows" -d FriendlyName=wf --data-urlencode "Configuration=$cfg" > /dev/null
}

write_post_lua() {
  cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "Attributes=%7B%22type%22%3A%22bench%22%7D&Priority=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
LUA
}

machine_line
start_server data || { cat "$work/data.out"; exit 1; }
set_up_workspace
task=$(api -X POST "$base/Workspaces/$ws/Tasks" --data-urlencode 'Attributes={"type":"bench"}' | field sid | head -c 34)
write_post_lua
echo "switchboard (port $port)"
run_wrk -H "Authorization: Basic $auth" "$base/Workspaces/$ws/Tasks/$task"
report "GET task (fetch)"
fetch=$rps
run_wrk -s "$work/post.lua" "$base/Workspaces/$ws/Tasks"
report "POST task (create)"
create=$rps
stop_server

# Baseline: nginx serving a 12-byte static file.
start_nginx
echo "baseline: nginx, one worker process, 12-byte static file"
run_wrk "http://127.0.0.1:$nport/index.html"
report "GET static file"
nginx_rps=$rps
stop_nginx
awk -v f="$fetch" -v c="$create" -v n="$nginx_rps" 'BEGIN {
  printf "ratio task fetch / nginx:  %.2f\n", f / n
  printf "ratio task create / nginx: %.2f\n", c / n }'

# Durability: task creation per setting, each on a fresh server and data
# directory. "disk share" is the store's commit time (fsync included) over
# the run's wall time; "changes/commit" is the mean batch of a transaction.
echo "durability: task creation, a fresh server and data directory per setting"
declare -A mode_rps=()
all_conns=$conns
for conns in $durable_conns; do
echo " $conns connections"
mode_rps=()
for mode in $modes; do
  if ! start_server "data-$mode-$conns" --durability "$mode"; then
    printf "  %-28s server did not start: %s\n" "POST task, $mode" "$(head -n 1 "$work/data-$mode-$conns.out")"
    continue
  fi
  set_up_workspace
  write_post_lua
  scrape "$work/before.prom"
  run_wrk -s "$work/post.lua" "$base/Workspaces/$ws/Tasks"
  scrape "$work/after.prom"
  mode_rps[$mode]=$rps
  store_figures "$work/before.prom" "$work/after.prom"
  report "POST task, $mode" "$store"
  stop_server
done
if [ -n "${mode_rps[full]:-}" ] && [ -n "${mode_rps[memory]:-}" ]; then
  awk -v f="${mode_rps[full]}" -v n="${mode_rps[normal]:-0}" -v m="${mode_rps[memory]}" -v c="$conns" 'BEGIN {
    printf "  ratio create full / memory at %d connections:   %.2f\n", c, f / m
    if (n > 0) printf "  ratio create normal / memory at %d connections: %.2f\n", c, n / m }'
fi
done
conns=$all_conns
