#!/usr/bin/env bash
# Real Jaeger v2 all-in-one (in-memory storage) on loopback for perch's tests.
#
#   jaeger.sh install          build .cache/stack/jaeger-v1.76.0/bin/jaeger from the Go module
#                              proxy in a separate tools module (skipped when the binary exists)
#   jaeger.sh start DIR        start on 127.0.0.1 with free ports; config, log, pid and urls live
#                              in DIR; prints "query=URL" and "otlp_http=URL" and "otlp_grpc=HOST:PORT"
#   jaeger.sh stop DIR         stop the server whose pid is in DIR/jaeger.pid
#
# The tools module keeps Jaeger out of perch's own go.mod: perch never links it.
# JAEGER_BIN (env) overrides the binary used by `start`.
set -euo pipefail

VERSION=v1.76.0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE="$ROOT/.cache/stack/jaeger-$VERSION"
BIN="${JAEGER_BIN:-$CACHE/bin/jaeger}"

die() { echo "jaeger.sh: $*" >&2; exit 1; }

cmd_install() {
  if [ -x "$CACHE/bin/jaeger" ]; then
    echo "jaeger: $CACHE/bin/jaeger (cached)"
    return 0
  fi
  command -v go >/dev/null || die "go not on PATH"
  mkdir -p "$CACHE/src" "$CACHE/bin"
  cd "$CACHE/src"
  # A module of its own: perch's go.mod never sees Jaeger. The caller's
  # GOFLAGS (-mod=vendor, -modfile) and go.work must not leak in.
  export GOFLAGS=-buildvcs=false GOWORK=off
  if [ ! -f go.mod ]; then
    go mod init perch.local/stack/jaeger >/dev/null 2>&1 || die "go mod init failed in $CACHE/src"
  fi
  echo "jaeger: go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@$VERSION (module download)"
  go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$VERSION" ||
    die "go get of jaeger $VERSION failed (needs the Go module proxy)"
  echo "jaeger: go build (heavy: ~10 min on 2 cores, ~2 GB peak memory)"
  local t0=$SECONDS
  go build -trimpath -o "$CACHE/bin/jaeger.tmp" github.com/jaegertracing/jaeger/cmd/jaeger ||
    { rm -f "$CACHE/bin/jaeger.tmp"; die "go build of jaeger $VERSION failed"; }
  mv "$CACHE/bin/jaeger.tmp" "$CACHE/bin/jaeger"
  echo "jaeger: built $CACHE/bin/jaeger in $((SECONDS - t0)) s"
}

free_ports() { # N: N distinct free loopback ports, one python start (slow on a busy machine)
  if command -v python3 >/dev/null; then
    python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$1"
    return
  fi
  local out=() p
  for _ in $(seq 400); do
    [ "${#out[@]}" -ge "$1" ] && break
    p=$(( 20000 + RANDOM % 30000 ))
    [[ " ${out[*]} " == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then out+=("$p"); fi
  done
  [ "${#out[@]}" -ge "$1" ] || die "no free ports found"
  echo "${out[*]}"
}

http_ok() { # url
  if command -v curl >/dev/null; then
    curl -sf -o /dev/null --max-time 2 "$1"
  else
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

write_config() { # file query grpc health otlp_grpc otlp_http
  cat >"$1" <<YAML
# Written by scripts/stack/jaeger.sh: OTLP in, in-memory store, query API, all on loopback.
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    traces:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:$4
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 100000
  jaeger_query:
    enable_tracing: false   # else it exports its own spans to 127.0.0.1:4317
    storage:
      traces: mem
    http:
      endpoint: 127.0.0.1:$2
    grpc:
      endpoint: 127.0.0.1:$3
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$5
      http:
        endpoint: 127.0.0.1:$6
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
YAML
}

cmd_start() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: start DIR"
  [ -x "$BIN" ] || die "no jaeger binary at $BIN: run '$0 install' (or make deps)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/jaeger.pid" ] && kill -0 "$(cat "$dir/jaeger.pid")" 2>/dev/null; then
    die "already running in $dir (pid $(cat "$dir/jaeger.pid"))"
  fi
  local q g h og oh pid i
  for attempt in 1 2 3; do
    read -r q g h og oh < <(free_ports 5)
    write_config "$dir/jaeger.yaml" "$q" "$g" "$h" "$og" "$oh"
    "$BIN" --config "$dir/jaeger.yaml" </dev/null >>"$dir/jaeger.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/jaeger.pid"
    for i in $(seq 600); do # up to 60 s
      if http_ok "http://127.0.0.1:$h/status" && http_ok "http://127.0.0.1:$q/api/services"; then
        echo "http://127.0.0.1:$q" >"$dir/query.url"
        echo "http://127.0.0.1:$oh" >"$dir/otlp-http.url"
        echo "127.0.0.1:$og" >"$dir/otlp-grpc.addr"
        echo "query=http://127.0.0.1:$q"
        echo "otlp_http=http://127.0.0.1:$oh"
        echo "otlp_grpc=127.0.0.1:$og"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
      rm -f "$dir/jaeger.pid"
      tail -n 20 "$dir/jaeger.log" >&2
      die "not healthy at http://127.0.0.1:$h/status after 60 s"
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$dir/jaeger.pid"
    grep -qi "address already in use" "$dir/jaeger.log" || break
  done
  tail -n 20 "$dir/jaeger.log" >&2
  die "jaeger exited during start-up (log: $dir/jaeger.log)"
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: stop DIR"
  local pidf="$dir/jaeger.pid"
  [ -f "$pidf" ] || { echo "not running (no $pidf)"; return 0; }
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidf" "$dir/query.url" "$dir/otlp-http.url" "$dir/otlp-grpc.addr"
  echo "stopped $pid"
}

sub=${1:-}; shift || true
case $sub in
  install|build) cmd_install "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  *) die "usage: $0 install | start DIR | stop DIR" ;;
esac
