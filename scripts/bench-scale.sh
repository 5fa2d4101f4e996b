#!/usr/bin/env bash
# perch's scale benchmark (issue 10; `make bench-scale`): perch in tmux at 200×60 on the project's
# real stack with 1,000, 5,000 and 10,000 pods behind 500 workloads in 20 namespaces, plus 1,000
# functions in Prometheus; one table (stdout and bench-scale-results.md) next to k9s's figures.
#
#   scripts/bench-scale.sh [--quick] [--repeat N] [--idle 60s] [--pods 1000,5000,10000]
#                          [--out FILE] [--profile-dir DIR] [--keep] ...   (all flags: --help)
#
# Needs what `make deps` installs (Prometheus, the Kubernetes binaries in .cache/stack/), tmux,
# and bin/perch (`make build`; BENCH_PERCH=path measures another binary). Everything runs in a
# fresh temp dir on 127.0.0.1 and is stopped on exit, failure or Ctrl-C (pid files; the servers
# also watch this process). Logs are kept in the temp dir when the run fails or with --keep.
# Full run on a 2-core machine: ~15 min; --quick (one run per row, 20 s idle windows): ~7 min.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PERCH=${BENCH_PERCH:-$REPO/bin/perch}

die() { echo "bench-scale.sh: $*" >&2; exit 1; }

for a in "$@"; do
  case $a in -h | --help | -help) exec go run ./internal/benchscale --help ;; esac
done

command -v tmux >/dev/null || die "tmux is not installed (apt-get install tmux)"
command -v go >/dev/null || die "go is not on PATH"
[ -x "$PERCH" ] || die "$PERCH missing: run make build first"
scripts/stack/prometheus.sh install >/dev/null || die "Prometheus is missing: run make deps"
scripts/stack/kubernetes.sh build || die "the Kubernetes binaries are missing: run make deps"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/perch-bench-scale.XXXXXX")
KEEP=0
for a in "$@"; do
  if [ "$a" = --keep ] || [ "$a" = -keep ]; then KEEP=1; fi
done

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # The driver stops all of this itself; this is the safety net for a driver that crashed or was
  # killed. Only what this run started, by its pid files and sockets in $DIR.
  local sock
  for sock in "$DIR"/tmux-*.sock; do
    [ -S "$sock" ] && tmux -S "$sock" kill-server 2>/dev/null || true
  done
  if [ -f "$DIR/exporter.pid" ]; then kill "$(cat "$DIR/exporter.pid")" 2>/dev/null || true; fi
  [ -d "$DIR/prom" ] && scripts/stack/prometheus.sh stop "$DIR/prom" >/dev/null 2>&1 || true
  [ -d "$DIR/kube" ] && scripts/stack/kubernetes.sh down "$DIR/kube" >/dev/null 2>&1 || true
  if [ "$rc" = 0 ] && [ "$KEEP" = 0 ]; then
    rm -rf "$DIR"
  else
    echo "bench-scale.sh: logs kept in $DIR" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
go build -o "$DIR/benchscale" ./internal/benchscale || die "building the driver failed"
status=0
"$DIR/benchscale" --dir "$DIR" --repo "$REPO" --perch "$PERCH" "$@" || status=$?
echo "bench-scale.sh: finished in $(((SECONDS - t0) / 60)) min $(((SECONDS - t0) % 60)) s (exit $status)" >&2
exit "$status"
