#!/usr/bin/env bash
# Real Prometheus (Debian's package, 2.42) on loopback for perch's tests.
#
#   prometheus.sh install                      apt-get install prometheus (+ promtool) if missing
#   prometheus.sh start DIR [HOST:PORT]        start on 127.0.0.1:<free port>, TSDB in DIR/data,
#                                              optionally scraping HOST:PORT every 1 s; prints the URL
#   prometheus.sh backfill DIR FILE.om         promtool tsdb create-blocks-from openmetrics into DIR/data
#                                              (run before start)
#   prometheus.sh stop DIR                     stop the server whose pid is in DIR/prometheus.pid
#
# PROM_EXTRA_ARGS (env) adds flags to `start`, e.g. --query.lookback-delta=10s.
# PROM_SCRAPE_INTERVAL (env) is the scrape interval and timeout of `start` (default 1s;
# the scale benchmark uses 15s for a 6 MB exporter).
# PROM_WATCH_PID (env): `start` also leaves a watcher that stops the server
# when that process (e.g. the test binary) is gone, so a crashed test never
# leaves a server behind.
# With a scrape target, the job/instance labels are dropped from the scraped
# series so they continue series backfilled from the same exporter.
#
# DIR is a fresh temp dir owned by the caller; everything (config, data, log,
# pid, url) lives inside it. Only 127.0.0.1 is ever bound.
set -euo pipefail

die() { echo "prometheus.sh: $*" >&2; exit 1; }

cmd_install() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    echo "prometheus: $(command -v prometheus) ($(prometheus --version 2>&1 | head -n1))"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: install the 'prometheus' package by hand"
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
  command -v prometheus >/dev/null || die "apt-get installed prometheus but it is not on PATH"
  command -v promtool >/dev/null || die "promtool missing after installing prometheus"
  # The package may start a daemon through its maintainer scripts on some
  # systems; perch's tests run their own server, so leave that one alone.
  echo "prometheus: $(command -v prometheus) ($(prometheus --version 2>&1 | head -n1))"
}

free_port() {
  # Ask the kernel for a free loopback port.
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for _ in $(seq 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port found"
}

http_ok() { # url
  if command -v curl >/dev/null; then
    curl -sf -o /dev/null --max-time 2 "$1"
  else
    # bash-only fallback: GET over /dev/tcp, accept a 200 status line.
    local hostport=${1#http://}; hostport=${hostport%%/*}
    local path=/${1#http://*/}
    local host=${hostport%:*} port=${hostport##*:}
    exec 3<>"/dev/tcp/$host/$port" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
    local line; IFS= read -r -t 2 line <&3 || { exec 3>&-; return 1; }
    exec 3>&-
    [[ $line == *" 200 "* ]]
  fi
}

cmd_start() {
  local dir=${1:-}; local target=${2:-}
  [ -n "$dir" ] || die "usage: start DIR [HOST:PORT]"
  command -v prometheus >/dev/null || die "prometheus not on PATH: run '$0 install'"
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/prometheus.pid" ] && kill -0 "$(cat "$dir/prometheus.pid")" 2>/dev/null; then
    die "already running in $dir (pid $(cat "$dir/prometheus.pid"))"
  fi
  if [ -n "$target" ]; then
    case $target in 127.0.0.1:*|localhost:*|\[::1\]:*) ;; *) die "scrape target must be on loopback: $target";; esac
  fi
  local interval=${PROM_SCRAPE_INTERVAL:-1s}
  [[ $interval =~ ^[0-9]+(ms|s|m)$ ]] || die "PROM_SCRAPE_INTERVAL must be a duration like 15s: $interval"
  {
    echo "global:"
    echo "  scrape_interval: $interval"
    echo "  scrape_timeout: $interval"
    echo "  evaluation_interval: 1s"
    echo "storage:"
    echo "  tsdb:"
    echo "    out_of_order_time_window: 48h"
    echo "scrape_configs:"
    if [ -n "$target" ]; then
      echo "  - job_name: perch-demo"
      echo "    honor_labels: true"
      echo "    static_configs:"
      echo "      - targets: ['$target']"
      echo "    metric_relabel_configs:"
      echo "      - action: labeldrop"
      echo "        regex: job|instance"
    else
      echo "  []"
    fi
  } >"$dir/prometheus.yml"

  local port url pid i
  for attempt in 1 2 3; do
    port=$(free_port); url="http://127.0.0.1:$port"
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
      --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=30d \
      --log.level=warn ${PROM_EXTRA_ARGS:-} </dev/null >>"$dir/prometheus.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/prometheus.pid"
    for i in $(seq 300); do # up to 30 s
      if http_ok "$url/-/ready"; then
        echo "$url" >"$dir/prometheus.url"
        if [ -n "${PROM_WATCH_PID:-}" ]; then
          ( while kill -0 "$PROM_WATCH_PID" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
            kill "$pid" 2>/dev/null || true ) </dev/null >/dev/null 2>&1 &
        fi
        echo "$url"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
      rm -f "$dir/prometheus.pid"
      tail -n 20 "$dir/prometheus.log" >&2
      die "not ready at $url/-/ready after 30 s"
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$dir/prometheus.pid"
    # Lost the port race (address in use)? try another port; otherwise fail.
    grep -q "address already in use" "$dir/prometheus.log" || break
  done
  tail -n 20 "$dir/prometheus.log" >&2
  die "prometheus exited during start-up (log: $dir/prometheus.log)"
}

cmd_backfill() {
  local dir=${1:-} file=${2:-}
  [ -n "$dir" ] && [ -n "$file" ] || die "usage: backfill DIR FILE.om"
  [ -f "$file" ] || die "no such file: $file"
  command -v promtool >/dev/null || die "promtool not on PATH: run '$0 install'"
  mkdir -p "$dir/data"
  promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$file" "$dir/data" >"$dir/backfill.log" 2>&1 ||
    { tail -n 20 "$dir/backfill.log" >&2; die "promtool backfill failed"; }
  echo "backfilled $file into $dir/data"
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: stop DIR"
  local pidf="$dir/prometheus.pid"
  [ -f "$pidf" ] || { echo "not running (no $pidf)"; return 0; }
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidf" "$dir/prometheus.url"
  echo "stopped $pid"
}

sub=${1:-}; shift || true
case $sub in
  install) cmd_install "$@" ;;
  start) cmd_start "$@" ;;
  backfill) cmd_backfill "$@" ;;
  stop) cmd_stop "$@" ;;
  *) die "usage: $0 install | start DIR [HOST:PORT] | backfill DIR FILE.om | stop DIR" ;;
esac
