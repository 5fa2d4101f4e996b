#!/usr/bin/env bash
# A real, docker-free Kubernetes control plane on loopback for perch's tests, built from the Go
# module proxy: embedded etcd 3.7 + kube-apiserver + kube-controller-manager + kube-scheduler (one
# multi-call binary from k8s.io/kubernetes) + kwok fake nodes (+ metrics-server for metrics.k8s.io).
#
#   kubernetes.sh build                   build the binaries into .cache/stack/kubernetes-<ver>/bin
#                                         (skipped when they exist; the wrapper Go module lives in
#                                         .cache/stack/kubernetes-<ver>/src, never in perch's go.mod)
#   kubernetes.sh up DIR [NODES]          start everything on free 127.0.0.1 ports, state in DIR
#                                         (fresh temp dir owned by the caller), NODES kwok nodes (2);
#                                         writes DIR/kubeconfig (context "admin", system:masters)
#   kubernetes.sh up-minimal DIR          etcd + kube-apiserver only (a second cheap "cluster")
#   kubernetes.sh nodes DIR N             make sure N kwok nodes exist and are Ready
#   kubernetes.sh metrics DIR             start metrics-server and register v1beta1.metrics.k8s.io
#   kubernetes.sh stop-apiserver DIR      stop only kube-apiserver (tests: informers must recover)
#   kubernetes.sh start-apiserver DIR     start kube-apiserver again with the same flags and port
#   kubernetes.sh status DIR              pids and RSS
#   kubernetes.sh down DIR                stop every process this script started in DIR (pid files)
#
# The API server writes an audit log (DIR/audit.log, metadata level) of every request made by
# service accounts and by the static user "audited" (group perch:audited), so tests can prove which
# verbs a client issued. DIR/pki/tokens.csv also holds a token for "audited" (context "audited").
#
# KUBE_WATCH_PID=PID (env, for up/up-minimal): stop everything in DIR once that process is gone,
# so a crashed test run never leaves a control plane behind.
# KUBE_CONTROLLER_FLAGS (env, for up): extra kube-controller-manager flags, split on spaces (the
# scale benchmark turns the HPA controller off: with no metrics it only writes failures).
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.2}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
MS_VERSION=${MS_VERSION:-v0.8.0}
SV="v0.${K8S_VERSION#1.}" # staging modules: k8s.io/X v0.37.2
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${KUBE_STACK_CACHE:-$REPO/.cache/stack/kubernetes-$K8S_VERSION}
SRC=$CACHE/src BIN=$CACHE/bin STAGES=$CACHE/kwok-stages
export GOFLAGS=-buildvcs=false GOWORK=off

die() { echo "kubernetes.sh: $*" >&2; exit 1; }
log() { echo "kubernetes.sh: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# build

have_binaries() { [ -x "$BIN/k8s" ] && [ -x "$BIN/kwok" ] && [ -x "$BIN/metrics-server" ] && [ -d "$STAGES" ]; }

cmd_build() {
  if have_binaries; then
    log "binaries present in $BIN (delete the folder to rebuild)"
    return 0
  fi
  command -v go >/dev/null || die "go not on PATH"
  mkdir -p "$SRC/cmd/k8s" "$BIN"
  local t0=$SECONDS
  write_wrapper_module
  (
    cd "$SRC"
    # GOFLAGS=-mod=mod: the wrapper's go.sum is generated here, never the project's.
    go mod tidy
    local V=v$K8S_VERSION X=k8s.io/component-base/version C=k8s.io/client-go/pkg/version
    local minor=${K8S_VERSION#1.}; minor=${minor%%.*}
    # The version stamps matter: clients (kubectl, client-go discovery) parse the server version.
    go build -o "$BIN/k8s.tmp" -ldflags "-s -w -X $X.gitVersion=$V -X $X.gitMajor=1 -X $X.gitMinor=$minor \
      -X $X.gitCommit=0000000000000000000000000000000000000000 -X $X.gitTreeState=clean \
      -X $X.buildDate=1970-01-01T00:00:00Z -X $C.gitVersion=$V -X $C.gitMajor=1 -X $C.gitMinor=$minor" ./cmd/k8s
    mv "$BIN/k8s.tmp" "$BIN/k8s"
    GOBIN=$BIN go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    GOBIN=$BIN go install -ldflags "-s -w" "sigs.k8s.io/metrics-server/cmd/metrics-server@$MS_VERSION"
    # kwok ships no default stages: keep the ones we use next to the binaries, so a warm run
    # does not need the module cache.
    local kz; kz="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize"
    [ -d "$kz" ] || go mod download -x "sigs.k8s.io/kwok@$KWOK_VERSION" >/dev/null 2>&1 || true
    [ -d "$kz" ] || die "kwok stages not found in $kz"
    rm -rf "$STAGES.tmp"; mkdir -p "$STAGES.tmp"
    cp "$kz/stage/node/fast/node-initialize.yaml" "$kz/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
      "$kz/stage/pod/fast/pod-ready.yaml" "$kz/stage/pod/fast/pod-complete.yaml" "$kz/stage/pod/fast/pod-delete.yaml" \
      "$kz/metrics/resource/metrics-resource.yaml" "$kz/metrics/usage/usage-from-annotation.yaml" "$STAGES.tmp/"
    chmod -R u+w "$STAGES.tmp"; rm -rf "$STAGES"; mv "$STAGES.tmp" "$STAGES"
  )
  log "built in $((SECONDS - t0)) s:"; ls -l "$BIN" >&2
}

write_wrapper_module() {
  { printf 'module example.local/perchkube\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S_VERSION"
    local m
    for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api \
      cri-client cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt \
      kms kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics \
      mount-utils pod-security-admission sample-apiserver streaming; do
      printf '\tk8s.io/%s => k8s.io/%s %s\n' "$m" "$m" "$SV"
    done
    printf ')\n'; } >"$SRC/go.mod"
  cat >"$SRC/cmd/k8s/main.go" <<'EOF'
// k8s: multi-call binary.
//
//	k8s etcd DIR CLIENT_URL PEER_URL                 embedded etcd 3.x
//	k8s kube-apiserver|kube-controller-manager|kube-scheduler FLAGS...
package main

import (
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func die(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

func runEtcd(dir, client, peer string) error {
	cu, err := url.Parse(client)
	if err != nil {
		return err
	}
	pu, err := url.Parse(peer)
	if err != nil {
		return err
	}
	cfg := embed.NewConfig()
	cfg.Dir, cfg.LogLevel, cfg.QuotaBackendBytes = dir, "warn", 8<<30
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.UnsafeNoFsync = os.Getenv("ETCD_UNSAFE_NO_FSYNC") == "1"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	<-e.Server.ReadyNotify()
	fmt.Fprintln(os.Stderr, "etcd ready on", client)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-sig:
		return nil
	case err := <-e.Err():
		return err
	}
}

func main() {
	if len(os.Args) < 2 {
		die(fmt.Errorf("usage: k8s etcd|kube-apiserver|kube-controller-manager|kube-scheduler ARGS..."))
	}
	var cmd *cobra.Command
	switch os.Args[1] {
	case "etcd":
		if len(os.Args) != 5 {
			die(fmt.Errorf("usage: k8s etcd DIR CLIENT_URL PEER_URL"))
		}
		if err := runEtcd(os.Args[2], os.Args[3], os.Args[4]); err != nil {
			die(err)
		}
		return
	case "kube-apiserver":
		cmd = apiserver.NewAPIServerCommand()
	case "kube-controller-manager":
		cmd = kcm.NewControllerManagerCommand()
	case "kube-scheduler":
		cmd = scheduler.NewSchedulerCommand()
	default:
		die(fmt.Errorf("unknown component %q", os.Args[1]))
	}
	cmd.SetArgs(os.Args[2:])
	os.Exit(cli.Run(cmd))
}
EOF
}

# ---------------------------------------------------------------------------------------------
# run

need_binaries() { have_binaries || die "binaries missing in $BIN: run '$0 build' first"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null && return
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port found"
}

abs_dir() { mkdir -p "$1" && (cd "$1" && pwd); }

start_proc() { # dir name cmd...   (pid in DIR/name.pid, log in DIR/logs/name.log)
  local dir=$1 n=$2; shift 2
  mkdir -p "$dir/logs"
  nohup "$@" </dev/null >>"$dir/logs/$n.log" 2>&1 &
  echo $! >"$dir/$n.pid"
}

alive() { [ -f "$1/$2.pid" ] && kill -0 "$(cat "$1/$2.pid")" 2>/dev/null; }

stop_proc() { # dir name
  local f=$1/$2.pid p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}

certs() {
  local pki=$DIR/pki
  [ -f "$pki/ca.crt" ] && return 0
  command -v openssl >/dev/null || die "openssl not on PATH"
  mkdir -p "$pki"
  (
    cd "$pki"
    ossl() { openssl "$@" 2>/dev/null; }
    sign() { # name cn ext [ca]
      ossl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
      printf '%b' "$3" >"$1.ext"
      ossl x509 -req -in "$1.csr" -CA "${4:-ca}.crt" -CAkey "${4:-ca}.key" -CAcreateserial -days 3650 -out "$1.crt" -extfile "$1.ext"
    }
    ossl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=perch-test-ca"
    ossl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -out front-proxy-ca.crt -days 3650 -subj "/CN=front-proxy-ca"
    sign apiserver kube-apiserver 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n'
    sign front-proxy-client front-proxy-client 'extendedKeyUsage=clientAuth\n' front-proxy-ca
    ossl genrsa -out sa.key 2048
    ossl rsa -in sa.key -pubout -out sa.pub
    [ -f ca.crt ] && [ -f apiserver.crt ] && [ -f sa.pub ] || exit 1
  ) || die "certificate generation failed in $pki"
  local admin audited
  admin=$(openssl rand -hex 24) audited=$(openssl rand -hex 24)
  printf '%s,admin,admin,system:masters\n%s,audited,audited,perch:audited\n' "$admin" "$audited" >"$pki/tokens.csv"
  cat >"$pki/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts", "perch:audited"]
  - level: None
EOF
  write_kubeconfig "$admin" "$audited"
}

write_kubeconfig() { # admin-token audited-token
  local ca; ca=$(base64 -w0 <"$DIR/pki/ca.crt")
  cat >"$DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster: {server: "https://127.0.0.1:$(cat "$DIR/api.port")", certificate-authority-data: "$ca"}
users:
  - name: admin
    user: {token: "$1"}
  - name: audited
    user: {token: "$2"}
contexts:
  - name: admin
    context: {cluster: local, user: admin}
  - name: audited
    context: {cluster: local, user: audited}
current-context: admin
EOF
  chmod 600 "$DIR/kubeconfig"
}

apiserver_args() {
  local pki=$DIR/pki
  echo --etcd-servers="http://127.0.0.1:$(cat "$DIR/etcd.port")" --bind-address=127.0.0.1 \
    --secure-port="$(cat "$DIR/api.port")" --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --service-cluster-ip-range=10.96.0.0/12 --tls-cert-file="$pki/apiserver.crt" \
    --tls-private-key-file="$pki/apiserver.key" --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" \
    --authorization-mode=RBAC --allow-privileged=true --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --requestheader-client-ca-file="$pki/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- --proxy-client-cert-file="$pki/front-proxy-client.crt" \
    --proxy-client-key-file="$pki/front-proxy-client.key" --audit-policy-file="$pki/audit-policy.yaml" \
    --audit-log-path="$DIR/audit.log" --audit-log-format=json --audit-log-mode=blocking
}

wait_ready() { # the API server's /readyz with the admin token (no kubectl needed)
  local port token i
  port=$(cat "$DIR/api.port"); token=$(head -n1 "$DIR/pki/tokens.csv" | cut -d, -f1)
  for i in $(seq 600); do # up to 60 s
    if curl -sf --max-time 2 --cacert "$DIR/pki/ca.crt" -H "Authorization: Bearer $token" \
      "https://127.0.0.1:$port/readyz" >/dev/null 2>&1; then return 0; fi
    alive "$DIR" kube-apiserver || { tail -n 30 "$DIR/logs/kube-apiserver.log" >&2; die "kube-apiserver exited (log: $DIR/logs/kube-apiserver.log)"; }
    sleep 0.1
  done
  tail -n 30 "$DIR/logs/kube-apiserver.log" >&2
  die "kube-apiserver not ready after 60 s"
}

cmd_start_apiserver() {
  alive "$DIR" kube-apiserver && die "kube-apiserver already running (pid $(cat "$DIR/kube-apiserver.pid"))"
  # shellcheck disable=SC2046
  start_proc "$DIR" kube-apiserver "$BIN/k8s" kube-apiserver $(apiserver_args)
  wait_ready
}

cmd_stop_apiserver() { stop_proc "$DIR" kube-apiserver; }

start_plane() {
  need_binaries
  command -v curl >/dev/null || die "curl not on PATH"
  [ -f "$DIR/etcd.pid" ] && alive "$DIR" etcd && die "already running in $DIR"
  [ -f "$DIR/etcd.port" ] || free_port >"$DIR/etcd.port"
  [ -f "$DIR/etcd-peer.port" ] || free_port >"$DIR/etcd-peer.port"
  [ -f "$DIR/api.port" ] || free_port >"$DIR/api.port"
  certs
  local t0; t0=$(date +%s.%N)
  ETCD_UNSAFE_NO_FSYNC=1 start_proc "$DIR" etcd "$BIN/k8s" etcd "$DIR/etcd-data" \
    "http://127.0.0.1:$(cat "$DIR/etcd.port")" "http://127.0.0.1:$(cat "$DIR/etcd-peer.port")"
  cmd_start_apiserver
  awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "kubernetes.sh: apiserver ready %.1f s after start\n", b-a}' >&2
  watch_owner
}

# watch_owner stops the plane when $KUBE_WATCH_PID exits (its own pid file, so down stops it too).
watch_owner() {
  [ -n "${KUBE_WATCH_PID:-}" ] || return 0
  local self; self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
  nohup bash -c 'while kill -0 "$1" 2>/dev/null && [ -f "$2/etcd.pid" ]; do sleep 1; done; [ -f "$2/etcd.pid" ] && "$3" down "$2"' \
    _ "$KUBE_WATCH_PID" "$DIR" "$self" </dev/null >/dev/null 2>&1 &
  echo $! >"$DIR/watcher.pid"
}

cmd_up_minimal() {
  start_plane
  echo "$DIR/kubeconfig"
}

cmd_up() {
  local nodes=${1:-2}
  start_plane
  local kcf=$DIR/kubeconfig extra=()
  read -ra extra <<<"${KUBE_CONTROLLER_FLAGS:-}" # no globbing: the flags may hold a *
  local common=(--kubeconfig="$kcf" --authentication-kubeconfig="$kcf" --authorization-kubeconfig="$kcf"
    --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false --kube-api-qps=500 --kube-api-burst=1000)
  start_proc "$DIR" kube-controller-manager "$BIN/k8s" kube-controller-manager "${common[@]}" \
    --use-service-account-credentials=false --service-account-private-key-file="$DIR/pki/sa.key" \
    --root-ca-file="$DIR/pki/ca.crt" --concurrent-replicaset-syncs=10 --horizontal-pod-autoscaler-sync-period=5s \
    "${extra[@]}"
  start_proc "$DIR" kube-scheduler "$BIN/k8s" kube-scheduler "${common[@]}"
  local S=$STAGES kp; kp=$(free_port)
  start_proc "$DIR" kwok "$BIN/kwok" --kubeconfig="$kcf" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --node-ip=127.0.0.1 --node-port="$kp" \
    --server-address="127.0.0.1:$kp" --cidr=10.244.0.1/16 --node-lease-duration-seconds=40 \
    -c "$S/node-initialize.yaml" -c "$S/node-heartbeat-with-lease.yaml" -c "$S/pod-ready.yaml" \
    -c "$S/pod-complete.yaml" -c "$S/pod-delete.yaml" -c "$S/metrics-resource.yaml" -c "$S/usage-from-annotation.yaml"
  echo "$kp" >"$DIR/kwok.port"
  cmd_nodes "$nodes"
  wait_default_sa
  echo "$kcf"
}

# Pods cannot be created in a namespace before the controller-manager made its "default" SA.
wait_default_sa() {
  for _ in $(seq 300); do
    api GET /api/v1/namespaces/default/serviceaccounts/default >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  tail -n 30 "$DIR/logs/kube-controller-manager.log" >&2
  die "the controller-manager did not create the default service account within 60 s"
}

api() { # METHOD PATH [BODY-FILE] [CONTENT-TYPE]   as admin
  local token; token=$(head -n1 "$DIR/pki/tokens.csv" | cut -d, -f1)
  local args=(-sf --max-time 10 --cacert "$DIR/pki/ca.crt" -H "Authorization: Bearer $token" -X "$1")
  [ -n "${3:-}" ] && args+=(--data-binary "@$3" -H "Content-Type: ${4:-application/json}")
  curl "${args[@]}" "https://127.0.0.1:$(cat "$DIR/api.port")$2"
}

cmd_nodes() {
  local n=${1:-2} i body=$DIR/node.json
  for i in $(seq 0 $((n - 1))); do
    cat >"$body" <<EOF
{"apiVersion":"v1","kind":"Node","metadata":{"name":"kwok-node-$i",
 "annotations":{"kwok.x-k8s.io/node":"fake","metrics.k8s.io/resource-metrics-path":"/metrics/nodes/kwok-node-$i/metrics/resource"},
 "labels":{"type":"kwok","kubernetes.io/hostname":"kwok-node-$i","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64",
  "node.kubernetes.io/instance-type":"kwok.large"}},
 "status":{"allocatable":{"cpu":"64","memory":"512Gi","pods":"1000"},"capacity":{"cpu":"64","memory":"512Gi","pods":"1000"}}}
EOF
    api GET "/api/v1/nodes/kwok-node-$i" >/dev/null 2>&1 || api POST /api/v1/nodes "$body" >/dev/null ||
      die "creating node kwok-node-$i failed"
  done
  local ready
  for _ in $(seq 600); do # up to 60 s
    ready=$(api GET '/api/v1/nodes?labelSelector=type%3Dkwok' | tr -d ' \n' | grep -o '"type":"Ready","status":"True"' | wc -l || true)
    [ "$ready" -ge "$n" ] && { log "$ready kwok nodes Ready"; return 0; }
    alive "$DIR" kwok || { tail -n 30 "$DIR/logs/kwok.log" >&2; die "kwok exited"; }
    sleep 0.1
  done
  die "only $ready of $n kwok nodes Ready after 60 s (log: $DIR/logs/kwok.log)"
}

cmd_metrics() {
  need_binaries
  local mp; mp=$(free_port)
  local kcf=$DIR/kubeconfig
  start_proc "$DIR" metrics-server "$BIN/metrics-server" --kubeconfig="$kcf" --authentication-kubeconfig="$kcf" \
    --authorization-kubeconfig="$kcf" --bind-address=127.0.0.1 --secure-port="$mp" --cert-dir="$DIR/ms-certs" \
    --kubelet-preferred-address-types=InternalIP --kubelet-use-node-status-port --kubelet-insecure-tls \
    --metric-resolution=10s --kubelet-request-timeout=5s
  cat >"$DIR/ms-svc.json" <<EOF
{"apiVersion":"v1","kind":"Service","metadata":{"name":"metrics-server","namespace":"kube-system"},
 "spec":{"type":"ExternalName","externalName":"127.0.0.1","ports":[{"port":$mp,"name":"https"}]}}
EOF
  cat >"$DIR/ms-apisvc.json" <<EOF
{"apiVersion":"apiregistration.k8s.io/v1","kind":"APIService","metadata":{"name":"v1beta1.metrics.k8s.io"},
 "spec":{"group":"metrics.k8s.io","version":"v1beta1","service":{"name":"metrics-server","namespace":"kube-system","port":$mp},
 "insecureSkipTLSVerify":true,"groupPriorityMinimum":100,"versionPriority":100}}
EOF
  api DELETE /api/v1/namespaces/kube-system/services/metrics-server >/dev/null 2>&1 || true
  api POST /api/v1/namespaces/kube-system/services "$DIR/ms-svc.json" >/dev/null || die "creating the metrics-server Service failed"
  api DELETE /apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io >/dev/null 2>&1 || true
  api POST /apis/apiregistration.k8s.io/v1/apiservices "$DIR/ms-apisvc.json" >/dev/null || die "registering the APIService failed"
  for _ in $(seq 1200); do # up to 120 s
    api GET /apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io 2>/dev/null |
      tr -d ' \n' | grep -q '"type":"Available","status":"True"' && { log "metrics.k8s.io available"; return 0; }
    alive "$DIR" metrics-server || { tail -n 30 "$DIR/logs/metrics-server.log" >&2; die "metrics-server exited"; }
    sleep 0.1
  done
  die "metrics.k8s.io not Available after 120 s (log: $DIR/logs/metrics-server.log)"
}

cmd_status() {
  local f p
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    p=$(cat "$f")
    printf '%-26s pid %-8s rss %s KiB\n' "$(basename "$f" .pid)" "$p" "$(ps -o rss= -p "$p" 2>/dev/null || echo dead)"
  done
}

cmd_down() { # only the processes this script started in DIR, in reverse order
  # Everything but etcd at once (the API server's graceful shutdown takes seconds), then etcd.
  local n
  for n in metrics-server kwok kube-scheduler kube-controller-manager kube-apiserver; do stop_proc "$DIR" "$n" & done
  wait
  stop_proc "$DIR" etcd
  # the owner watcher exits by itself once etcd.pid is gone; don't kill the caller if it is the watcher
  local w; w=$(cat "$DIR/watcher.pid" 2>/dev/null || true); rm -f "$DIR/watcher.pid"
  [ -n "$w" ] && [ "$w" != "$$" ] && [ "$w" != "$PPID" ] && kill "$w" 2>/dev/null || true
  log "stopped everything in $DIR"
}

main() {
  local sub=${1:-}; shift || true
  case $sub in
    build) cmd_build ;;
    up | up-minimal | nodes | metrics | stop-apiserver | start-apiserver | status | down)
      [ -n "${1:-}" ] || die "usage: $0 $sub DIR"
      DIR=$(abs_dir "$1"); shift
      case $sub in
        up) cmd_up "$@" ;;
        up-minimal) cmd_up_minimal ;;
        nodes) cmd_nodes "$@" ;;
        metrics) cmd_metrics ;;
        stop-apiserver) cmd_stop_apiserver ;;
        start-apiserver) need_binaries; cmd_start_apiserver ;;
        status) cmd_status ;;
        down) cmd_down ;;
      esac ;;
    *) die "usage: $0 build | up DIR [NODES] | up-minimal DIR | nodes DIR N | metrics DIR | stop-apiserver DIR | start-apiserver DIR | status DIR | down DIR" ;;
  esac
}

main "$@"; exit
