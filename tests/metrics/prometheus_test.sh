#!/usr/bin/env bash
# A real Prometheus scrapes a real switchboard: the exposition passes
# `promtool check metrics`, and after some task traffic Prometheus's own
# query API returns the task and HTTP series with the expected values.
# Usage: prometheus_test.sh <switchboard binary>
set -euo pipefail
bin=${1:-${SWITCHBOARD_BIN:-build/api/switchboard}}
work=$(mktemp -d)
chmod 755 "$work"
sb_pid=""
prom_pid=""
cleanup() {
  [ -n "$sb_pid" ] && kill "$sb_pid" 2>/dev/null || true
  [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

"$bin" --port 0 --data "$work/data" > "$work/sb.out" 2>&1 &
sb_pid=$!
wait_for 15 grep -q '^ready port=' "$work/sb.out" || fail "switchboard did not start: $(cat "$work/sb.out")"
port=$(sed -n 's/^ready port=//p' "$work/sb.out")
read -r sid token < "$work/data/credentials"
base="http://127.0.0.1:$port/v1"
api() { curl -sf -u "$sid:$token" "$@"; }
sidof() { sed -n 's/.*"sid": *"\([A-Z][A-Z][0-9a-f]\{32\}\)".*/\1/p' | head -1; }

ws=$(api -X POST "$base/Workspaces" -d FriendlyName=metrics -d Template=FIFO | sidof)
[ -n "$ws" ] || fail "no workspace"
for i in 1 2 3; do
  api -X POST "$base/Workspaces/$ws/Tasks" --data-urlencode 'Attributes={"n":1}' > /dev/null
done

curl -sf "http://127.0.0.1:$port/metrics" > "$work/metrics.txt"
promtool check metrics < "$work/metrics.txt" || fail "promtool rejected the exposition"

cat > "$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: switchboard
    static_configs:
      - targets: ['127.0.0.1:$port']
YML
# Prometheus needs a fixed port: one below the ephemeral range (where client
# sockets could take it), free now; when another process wins it first,
# Prometheus exits and the next port is tried.
prom_ready() { curl -sf "http://127.0.0.1:$prom_port/-/ready" > /dev/null; }
prom_gone() { ! kill -0 "$prom_pid" 2>/dev/null; }
prom_up_or_gone() { prom_ready || prom_gone; }
prom_pid=""
for attempt in 1 2 3 4 5; do
  prom_port=$((20000 + RANDOM % 10000))
  ss -ltn "sport = :$prom_port" | grep -q LISTEN && continue
  prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" > "$work/prom.out" 2>&1 &
  prom_pid=$!
  wait_for 30 prom_up_or_gone || fail "Prometheus neither started nor exited: $(tail -5 "$work/prom.out")"
  prom_ready && break
  grep -q "address already in use" "$work/prom.out" || fail "Prometheus did not start: $(tail -5 "$work/prom.out")"
  prom_pid=""
done
[ -n "$prom_pid" ] || fail "no free port for Prometheus after 5 tries"

query() { # query expression -> first value, or empty
  curl -sf --get "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
    sed -n 's/.*"value":\[[0-9.]*,"\([0-9.]*\)"\].*/\1/p'
}
created_is_3() { [ "$(query 'sum(switchboard_tasks_total{event="created"})')" = "3" ]; }
wait_for 30 created_is_3 || fail "Prometheus never saw 3 created tasks: $(tail -5 "$work/prom.out")"
pending_is_3() { [ "$(query 'sum(switchboard_tasks_pending)')" = "3" ]; }
wait_for 10 pending_is_3 || fail "pending gauge is not 3"
http_seen() { [ -n "$(query 'sum(switchboard_http_requests_total{status="201"})')" ]; }
wait_for 10 http_seen || fail "no HTTP request series"
up_is_1() { [ "$(query 'up{job="switchboard"}')" = "1" ]; }
wait_for 10 up_is_1 || fail "scrape target not up"
echo "1 passed, 0 failed"
