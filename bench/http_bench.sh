#!/usr/bin/env bash
# HTTP benchmark: task creation and task fetch against the real switchboard
# binary with wrk, and beside them the baseline from the same run: nginx
# serving a 12-byte static file with the same wrk settings. Then task creation
# once per durability setting (full, normal, memory), each against a fresh
# server and data directory, with the share of the run the store spent
# committing and the mean number of changes per commit, read from /metrics.
#
# usage: bench/http_bench.sh [seconds] [connections]      (defaults: 10, 64)
# Needs: a build (scripts/setup), wrk, nginx-light, curl.
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
work=$(mktemp -d)
server_pid=""
nginx_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_server NAME [flags...]: a server on a free port with the fresh data
# directory $work/NAME; sets server_pid, port, sid, token, base, auth. Returns
# non-zero (output in $work/NAME.out) when it does not become ready.
start_server() {
  local name=$1; shift
  "$bin" --port 0 --data "$work/$name" ${SWITCHBOARD_ARGS:-} "$@" > "$work/$name.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^ready port=' "$work/$name.out" && break
    kill -0 "$server_pid" 2>/dev/null || { wait "$server_pid" 2>/dev/null || true; server_pid=""; return 1; }
    sleep 0.1
  done
  grep -q '^ready port=' "$work/$name.out" || return 1
  port=$(sed -n 's/^ready port=//p' "$work/$name.out")
  read -r sid token < "$work/$name/credentials"
  base="http://127.0.0.1:$port/v1"
  auth=$(printf '%s:%s' "$sid" "$token" | base64 -w0)
}
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}
api() { curl -sf -u "$sid:$token" "$@"; }
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }

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

# run_wrk wrk-args...: sets rps, p99, errors and wall (seconds the run took).
run_wrk() {
  local out t0 t1
  t0=$(date +%s.%N)
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@")
  t1=$(date +%s.%N)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
}
# report label [more]: one line for the last run.
report() {
  printf '  %-28s %10.0f req/s   p99 %s%s%s\n' "$1" "$rps" "$p99" "${2:-}" "${errors:+   non-2xx: $errors}"
}

# metric NAME < exposition: the sum of NAME over all its label sets, or empty
# when the exposition has no such series.
metric() {
  awk -v name="$1" '
    { line = $0; sub(/\{[^}]*\}/, "", line); split(line, f, " ") }
    f[1] == name { sum += f[2]; seen = 1 }
    END { if (seen) printf "%.9g\n", sum }'
}
scrape() { curl -sf "http://127.0.0.1:$port/metrics" > "$1"; }

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'); wrk -t2 -c$conns -d${secs}s on the same machine"
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
mkdir -p "$work/nginx/html" "$work/nginx/logs"
printf 'hello world\n' > "$work/nginx/html/index.html"
# nginx's workers run as an unprivileged user: the files must be readable.
chmod 755 "$work" "$work/nginx" "$work/nginx/html"
chmod 644 "$work/nginx/html/index.html"
# A port below the ephemeral range (where wrk's own connections land) that
# nothing listens on.
nport=$((20000 + RANDOM % 10000))
while ss -ltn "sport = :$nport" | grep -q LISTEN; do nport=$((20000 + RANDOM % 10000)); done
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
error_log $work/nginx/logs/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:$nport; root $work/nginx/html; }
}
NGINX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$nport/index.html" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$nport/index.html" >/dev/null || { echo "nginx baseline did not serve the file"; cat "$work/nginx/logs/error.log"; exit 1; }
echo "baseline: nginx, one worker process, 12-byte static file"
run_wrk "http://127.0.0.1:$nport/index.html"
report "GET static file"
nginx_rps=$rps
kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
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
  store=""
  for m in switchboard_store_commit_seconds_sum switchboard_store_commit_seconds_count \
           switchboard_store_batch_changes_sum switchboard_store_batch_changes_count \
           switchboard_store_write_failures_total; do
    b=$(metric "$m" < "$work/before.prom"); a=$(metric "$m" < "$work/after.prom")
    declare "d_${m#switchboard_store_}=$( [ -n "$a" ] && awk -v a="$a" -v b="${b:-0}" 'BEGIN {printf "%.9g", a - b}' )"
  done
  if [ -n "$d_commit_seconds_sum" ]; then
    store=$(awk -v cs="$d_commit_seconds_sum" -v cc="$d_commit_seconds_count" -v bs="$d_batch_changes_sum" \
                -v bc="$d_batch_changes_count" -v w="$wall" -v f="${d_write_failures_total:-0}" 'BEGIN {
      printf("   disk share %.2f", cs / w)
      printf("   changes/commit %s", (bc > 0 ? sprintf("%.1f", bs / bc) : "n/a"))
      printf("   commits/s %.0f", cc / w)
      if (f > 0) printf("   write failures %d", f) }')
  else
    store="   (no switchboard_store_* metrics)"
  fi
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
