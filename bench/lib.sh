# Shared by the HTTP benchmarks (bench/http_bench.sh, bench/cv_http_bench.sh);
# sourced, not run. The caller sets, before sourcing:
#   secs, conns   wrk's duration (seconds) and connection count
#   bin           the switchboard binary
# and gets: work (a temporary directory, removed on exit with every server
# and nginx this file started), start_server / stop_server, api, field,
# run_wrk / report, metric / scrape / store_figures, start_nginx /
# stop_nginx and machine_line.

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

# run_wrk wrk-args...: sets rps, p50, p99, errors (non-2xx/3xx responses,
# empty when none), wall (seconds the run took) and requests (completed).
run_wrk() {
  local out t0 t1
  t0=$(date +%s.%N)
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@")
  t1=$(date +%s.%N)
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
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

# store_figures BEFORE AFTER: sets store to the store writer's figures over
# the last run (wall seconds) from two scrapes: "disk share" is its commit
# time (fsync included) over the run's wall time, "changes/commit" the mean
# batch of a transaction.
store_figures() {
  local m a b
  for m in switchboard_store_commit_seconds_sum switchboard_store_commit_seconds_count \
           switchboard_store_batch_changes_sum switchboard_store_batch_changes_count \
           switchboard_store_write_failures_total; do
    b=$(metric "$m" < "$1"); a=$(metric "$m" < "$2")
    declare -g "d_${m#switchboard_store_}=$( [ -n "$a" ] && awk -v a="$a" -v b="${b:-0}" 'BEGIN {printf "%.9g", a - b}' )"
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
}

# start_nginx: the baseline, nginx with one worker process serving the
# 12-byte file index.html on 127.0.0.1:$nport; sets nginx_pid and nport.
start_nginx() {
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
}
stop_nginx() {
  [ -n "$nginx_pid" ] || return 0
  kill "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=""
}

# The machine and wrk's settings, for the first line of a report.
machine_line() {
  echo "machine: $(nproc) cores, $(awk '/model name/ {$1=$2=$3=""; print; exit}' /proc/cpuinfo | sed 's/^ *//'); wrk -t2 -c$conns -d${secs}s on the same machine"
}
