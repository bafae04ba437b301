#!/usr/bin/env bash
# HTTP benchmark: task creation and task fetch against the real switchboard
# binary with wrk, and beside them the baseline from the same run: nginx
# serving a 12-byte static file with the same wrk settings.
#
# usage: bench/http_bench.sh [seconds] [connections]      (defaults: 10, 64)
# Needs: a build (scripts/setup), wrk, nginx-light, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
bin=${SWITCHBOARD_BIN:-build/api/switchboard}
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

# Start the server on a free port and wait for its ready line.
"$bin" --port 0 --data "$work/data" ${SWITCHBOARD_ARGS:-} > "$work/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^ready port=' "$work/server.out" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.out"; exit 1; }
  sleep 0.1
done
port=$(sed -n 's/^ready port=//p' "$work/server.out")
read -r sid token < "$work/data/credentials"
base="http://127.0.0.1:$port/v1"
auth=$(printf '%s:%s' "$sid" "$token" | base64 -w0)
api() { curl -sf -u "$sid:$token" "$@"; }
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }

ws=$(api -X POST "$base/Workspaces" -d FriendlyName=bench | field sid | head -c 34)
queue=$(api -X POST "$base/Workspaces/$ws/TaskQueues" -d FriendlyName=q --data-urlencode 'TargetWorkers=1==1' | field sid | head -c 34)
cfg='{"task_routing":{"filters":[],"default_filter":{"queue":"'$queue'"}}}'
api -X POST "$base/Workspaces/$ws/Workflows" -d FriendlyName=wf --data-urlencode "Configuration=$cfg" > /dev/null
task=$(api -X POST "$base/Workspaces/$ws/Tasks" --data-urlencode 'Attributes={"type":"bench"}' | field sid | head -c 34)

cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "Attributes=%7B%22type%22%3A%22bench%22%7D&Priority=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $auth"
LUA

run_wrk() { # label, wrk args...; prints "label rps p99"
  local label=$1; shift
  local out
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@")
  local rps p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '  %-28s %10.0f req/s   p99 %s%s\n' "$label" "$rps" "$p99" "${errors:+   non-2xx: $errors}"
  echo "$rps" > "$work/last"
}

echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'); wrk -t2 -c$conns -d${secs}s on the same machine"
echo "switchboard (port $port)"
run_wrk "GET task (fetch)" -H "Authorization: Basic $auth" "$base/Workspaces/$ws/Tasks/$task"
fetch=$(cat "$work/last")
run_wrk "POST task (create)" -s "$work/post.lua" "$base/Workspaces/$ws/Tasks"
create=$(cat "$work/last")
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

# Baseline: nginx serving a 12-byte static file.
mkdir -p "$work/nginx/html" "$work/nginx/logs"
printf 'hello world\n' > "$work/nginx/html/index.html"
# nginx's workers run as an unprivileged user: the files must be readable.
chmod 755 "$work" "$work/nginx" "$work/nginx/html"
chmod 644 "$work/nginx/html/index.html"
nport=$((port + 1))
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
run_wrk "GET static file" "http://127.0.0.1:$nport/index.html"
nginx_rps=$(cat "$work/last")
awk -v f="$fetch" -v c="$create" -v n="$nginx_rps" 'BEGIN {
  printf "ratio task fetch / nginx:  %.2f\n", f / n
  printf "ratio task create / nginx: %.2f\n", c / n }'
