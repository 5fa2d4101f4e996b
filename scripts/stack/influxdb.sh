#!/usr/bin/env bash
# Real InfluxDB OSS 1.8.3 (pure-Go Flux 0.65, /api/v2 compatibility endpoints) on loopback
# for perch's tests.
#
#   influxdb.sh install                 build influxd 1.8.3 from the Go module proxy into
#                                       .cache/stack/influxdb-1.8.3/bin (skipped when present)
#   influxdb.sh start DIR [DB]          start on 127.0.0.1:<free port>, data in DIR, create the
#                                       database DB (default "metrics"); prints the URL
#   influxdb.sh stop DIR                stop the server whose pid is in DIR/influxd.pid
#
# AUTH=user:password (env) on start enables HTTP auth and creates that admin user, so a
# token "user:password" works and anything else gets 401.
#
# DIR is a fresh temp dir owned by the caller; everything (meta, data, wal, log, pid,
# url) lives inside it. Only 127.0.0.1 is ever bound.
set -euo pipefail

die() { echo "influxdb.sh: $*" >&2; exit 1; }

VERSION=1.8.3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${INFLUXDB_CACHE:-$ROOT/.cache/stack/influxdb-$VERSION}
BIN=$CACHE/bin/influxd

cmd_install() {
  if [ -x "$BIN" ]; then
    echo "influxd: $BIN (cached)"
    return 0
  fi
  command -v go >/dev/null || die "go not on PATH"
  mkdir -p "$CACHE/bin"
  # Build outside perch's go.mod: `go install pkg@version` in a scratch dir
  # resolves influxdb's own module graph, never touching ours.
  local scratch; scratch=$(mktemp -d)
  echo "building influxd $VERSION (cold caches: 4-6 min)..." >&2
  if ! (cd "$scratch" && env -u GOFLAGS GO111MODULE=on GOBIN="$CACHE/bin" \
      go install -ldflags "-X main.version=$VERSION" \
      "github.com/influxdata/influxdb/cmd/influxd@v$VERSION"); then
    rm -rf "$scratch"
    die "go install github.com/influxdata/influxdb/cmd/influxd@v$VERSION failed"
  fi
  rm -rf "$scratch"
  [ -x "$BIN" ] || die "build finished but $BIN is missing"
  echo "influxd: $BIN"
}

free_port() {
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

ping_ok() { curl -sf -o /dev/null --max-time 2 "$1/ping"; }

cmd_start() {
  local dir=${1:-} db=${2:-metrics}
  [ -n "$dir" ] || die "usage: start DIR [DB]"
  [ -x "$BIN" ] || die "influxd not built: run '$0 install'"
  command -v curl >/dev/null || die "curl not on PATH"
  [[ $db =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "database name must be an identifier: $db"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/influxd.pid" ] && kill -0 "$(cat "$dir/influxd.pid")" 2>/dev/null; then
    die "already running in $dir (pid $(cat "$dir/influxd.pid"))"
  fi
  local auth=false user="" pass=""
  if [ -n "${AUTH:-}" ]; then
    [[ $AUTH == *:* ]] || die "AUTH must be user:password"
    auth=true user=${AUTH%%:*} pass=${AUTH#*:}
  fi

  local port rpc url pid
  for attempt in 1 2 3; do
    port=$(free_port); rpc=$(free_port); url="http://127.0.0.1:$port"
    [ "$port" != "$rpc" ] || continue
    INFLUXDB_REPORTING_DISABLED=true INFLUXDB_MONITOR_STORE_ENABLED=false \
    INFLUXDB_BIND_ADDRESS=127.0.0.1:$rpc INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:$port \
    INFLUXDB_HTTP_FLUX_ENABLED=true INFLUXDB_HTTP_LOG_ENABLED=false \
    INFLUXDB_HTTP_AUTH_ENABLED=$auth INFLUXDB_DATA_QUERY_LOG_ENABLED=false \
    INFLUXDB_META_DIR=$dir/meta INFLUXDB_DATA_DIR=$dir/data INFLUXDB_DATA_WAL_DIR=$dir/wal \
    INFLUXDB_LOGGING_LEVEL=warn \
      "$BIN" run </dev/null >>"$dir/influxd.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/influxd.pid"
    # /ping answers only once ready; Flux start-up costs ~5 s of CPU: allow 60 s.
    for _ in $(seq 600); do
      ping_ok "$url" && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if ping_ok "$url"; then
      if $auth; then
        # With auth on, the first user may be created unauthenticated and must be admin.
        curl -sf -XPOST "$url/query" --data-urlencode \
          "q=CREATE USER \"$user\" WITH PASSWORD '$pass' WITH ALL PRIVILEGES" >/dev/null ||
          { cmd_stop "$dir" >/dev/null; die "CREATE USER failed"; }
        curl -sf -XPOST -u "$user:$pass" "$url/query" --data-urlencode "q=CREATE DATABASE $db" >/dev/null ||
          { cmd_stop "$dir" >/dev/null; die "CREATE DATABASE $db failed"; }
      else
        curl -sf -XPOST "$url/query" --data-urlencode "q=CREATE DATABASE $db" >/dev/null ||
          { cmd_stop "$dir" >/dev/null; die "CREATE DATABASE $db failed"; }
      fi
      echo "$url" >"$dir/influxd.url"
      echo "$url"
      return 0
    fi
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
      rm -f "$dir/influxd.pid"
      tail -n 20 "$dir/influxd.log" >&2
      die "not answering $url/ping after 60 s"
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$dir/influxd.pid"
    # Lost a port race? try other ports; otherwise fail.
    grep -q "address already in use" "$dir/influxd.log" || break
  done
  tail -n 20 "$dir/influxd.log" >&2
  die "influxd exited during start-up (log: $dir/influxd.log)"
}

cmd_stop() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: stop DIR"
  local pidf="$dir/influxd.pid"
  [ -f "$pidf" ] || { echo "not running (no $pidf)"; return 0; }
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidf" "$dir/influxd.url"
  echo "stopped $pid"
}

sub=${1:-}; shift || true
case $sub in
  install|build) cmd_install "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  *) die "usage: $0 install | start DIR [DB] | stop DIR" ;;
esac
