package integration

// The Kubernetes fault matrix: perch's real pipeline (the kube source,
// store.Feed, the store and the root TUI model) watches the real API
// server of the stack through internal/faultproxy, which terminates TLS
// (with a certificate minted from the stack's CA) so that every fault can
// be injected at the HTTP level, and forwards to the API server over TLS.
// Each fault is checked for what RELIABILITY.md promises; the table is
// logged by `go test -v -run KubeFault`.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/internal/leakcheck"
	"github.com/perch-dev/perch/internal/uiloop"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/kube"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/tui"
)

// The matrix pipeline's settings: short, so a hang is noticed within
// about two seconds and the whole matrix stays well under a minute.
const (
	faultTimeout  = time.Second
	faultRefresh  = 200 * time.Millisecond
	faultMaxBytes = 8 << 20 // max_response_bytes, lowered so the huge answer is capped quickly
)

// UI bounds, as in internal/faultmatrix: a fetch that blocked Update or
// View would stall the loop for at least the timeout.
const (
	kubeMaxOwnGap = 500 * time.Millisecond
	kubeMaxKey    = 250 * time.Millisecond
	kubeMaxUpdate = 500 * time.Millisecond
)

// kubeMaxHeapGrowth bounds the heap while a huge list arrives: the capped
// body and what decoding it costs, with room for the rest of the process.
const kubeMaxHeapGrowth = 16 * faultMaxBytes

// kubeFault is one row of the matrix.
type kubeFault struct {
	name string
	mode faultproxy.Mode
	// cause: the source's health error must contain one of these, and the
	// 200-column header too.
	cause []string
	// breakStreams resets every open connection before the fault, so the
	// informers list again into it (faults limited to some paths).
	breakStreams bool
	// churn changes an object while the fault lasts, so open watch streams
	// carry data (and are cut mid-stream).
	churn bool
	huge  bool
	// restart stops and starts the real API server instead of a proxy mode.
	restart bool
}

// statusJSON is an error answer in the API server's own format.
func statusJSON(code int, reason metav1.StatusReason, msg string) faultproxy.Mode {
	b, _ := json.Marshal(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg})
	return faultproxy.Respond(code, "application/json", string(b))
}

var (
	timedOut = []string{"timed out after 1s"}
	refused  = []string{"connection refused"}
	reset    = []string{"connection reset", "EOF", "broken pipe"}
)

func kubeFaults(t *testing.T) []kubeFault {
	proto := podListProtobuf(t, 200)
	return []kubeFault{
		{name: "refuse", mode: faultproxy.Refuse, cause: refused},
		{name: "reset", mode: faultproxy.Reset, cause: reset},
		{name: "hang", mode: faultproxy.Hang, cause: timedOut},
		{name: "slow 10s", mode: faultproxy.Slow(10 * time.Second), cause: timedOut},
		{name: "500", mode: statusJSON(500, metav1.StatusReasonInternalError, "etcdserver: request timed out"), cause: []string{"HTTP 500"}},
		{name: "502", mode: faultproxy.Status(502), cause: []string{"HTTP 502"}},
		{name: "503", mode: statusJSON(503, metav1.StatusReasonServiceUnavailable, "apiserver is shutting down"), cause: []string{"HTTP 503"}},
		// Expired credentials: every request, /version included, is 401.
		{name: "401 expired credentials", mode: statusJSON(401, metav1.StatusReasonUnauthorized, "Unauthorized"), cause: []string{"HTTP 401"}, breakStreams: true},
		// An auth proxy in front of the API server forbidding everything:
		// informers must keep retrying, not drop the resources as RBAC limits.
		{name: "403 forbidden", mode: statusJSON(403, metav1.StatusReasonForbidden, `forbidden: User "audited" cannot list resource`), cause: []string{"HTTP 403"}, breakStreams: true},
		{name: "watch stream cut", mode: faultproxy.CutMidBody, cause: []string{"unexpected EOF", "EOF"}, churn: true},
		{name: "garbage json", mode: faultproxy.Garbage, cause: []string{"invalid character"}},
		{name: "truncated json", mode: faultproxy.Truncate, cause: []string{"unexpected end of JSON input"}},
		// Lists and watches speak protobuf; /version (JSON) stays healthy, so
		// only the informers can notice.
		{name: "garbage protobuf", mode: faultproxy.Respond(200, "application/vnd.kubernetes.protobuf", string(garbage(4096))).OnPath("/api"),
			cause: []string{"protobuf", "proto:", "k8s"}, breakStreams: true},
		{name: "truncated protobuf", mode: faultproxy.Respond(200, "application/vnd.kubernetes.protobuf", string(proto[:len(proto)/2])).OnPath("/api"),
			cause: []string{"unexpected EOF", "proto:", "protobuf"}, breakStreams: true},
		{name: "huge list 100k pods", mode: faultproxy.Huge(hugePodList(100_000)).OnPath("/api/v1/pods"),
			cause: []string{"max_response_bytes"}, breakStreams: true, huge: true},
	}
}

// kubeResult is one matrix row.
type kubeResult struct {
	name            string
	detect, recover time.Duration
	heapPeak        uint64
	ui              uiloop.Timing
	cause120        bool
	failed, passed  []string
}

func (r *kubeResult) check(t *testing.T, what string, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		r.passed = append(r.passed, what)
		return
	}
	r.failed = append(r.failed, what)
	t.Errorf("%s/%s: %s", r.name, what, fmt.Sprintf(format, args...))
}

// TestKubeFaultMatrix drives the kube source, store.Feed, the store and
// two TUI models (200 and 120 columns) through every fault and back, while
// a second pipeline goes through 100 fault/recover cycles; then the API
// server is restarted under both. The audit log must show only get, list
// and watch from perch's user.
func TestKubeFaultMatrix(t *testing.T) {
	leakcheck.Verify(t)
	began := time.Now()
	admin := newAdmin(t, env.kubeconfig)
	admin2 := newAdmin(t, filepath.Join(env.dir2, "kubeconfig"))
	grantAudited(t, admin)
	grantAudited(t, admin2)
	hpaMax := int32(5)
	p := startKubePipeline(t, kubeSettings{Dir: env.dir, Timeout: faultTimeout, Refresh: faultRefresh, MaxBytes: faultMaxBytes, Width: 200, Height: 50,
		// A change perch must see after each recovery: web's HPA maximum
		// (its scaling policies are disabled, so nothing else changes).
		Change: func(t *testing.T) (sources.WorkloadID, sources.Metric, float64) {
			hpaMax = 11 - hpaMax // 6, 5, 6, …
			setHPAMax(t, admin, hpaMax)
			return id("audited", "team-a", "web"), sources.ReplicasMax, float64(hpaMax)
		}})
	defer p.stop()
	p.admin = admin
	narrow := p.addUI(t, 120, 40)
	baseline := p.waitBaseline(t)

	// Beside the matrix, on their own pipelines and proxies: the API
	// server restart, on the stack's second API server (so that it hits
	// no other pipeline), and the 100 fault/recover cycles.
	restarted := make(chan *kubeResult, 1)
	go func() {
		r := &kubeResult{name: "API server restart"}
		defer func() { restarted <- r }()
		t.Run(r.name, func(t *testing.T) {
			rp := startKubePipeline(t, kubeSettings{Dir: env.dir2, Timeout: faultTimeout, Refresh: faultRefresh, MaxBytes: faultMaxBytes, Width: 200, Height: 50,
				// The second server runs no controllers: shop/api's wanted replicas show as set.
				Change: func(t *testing.T) (sources.WorkloadID, sources.Metric, float64) {
					scaleShopAPI(t, admin2, 3)
					return id("audited", "shop", "api"), sources.ReplicasDesired, 3
				}})
			defer rp.stop()
			rnarrow := rp.addUI(t, 120, 40)
			rbase := rp.waitBaseline(t)
			rp.runFault(t, kubeFault{name: r.name, restart: true, cause: append([]string{"HTTP 502", "HTTP 503", "shutting down"}, refused...)}, r, rbase, rnarrow)
		})
	}()
	cycles := make(chan cycleReport, 1)
	cp := startKubePipeline(t, kubeSettings{Dir: env.dir, Timeout: cycleTimeout, Refresh: cycleRefresh, MaxBytes: faultMaxBytes})
	go func() {
		rep := run100Cycles(cp)
		cp.stop()
		cycles <- rep
	}()

	var results []*kubeResult
	for _, f := range kubeFaults(t) {
		r := &kubeResult{name: f.name}
		results = append(results, r)
		t.Run(f.name, func(t *testing.T) {
			baseline = p.runFault(t, f, r, baseline, narrow)
		})
	}
	rep := <-cycles
	results = append([]*kubeResult{<-restarted}, results...)
	setHPAMax(t, admin, 5)
	scaleShopAPI(t, admin2, 2) // as TestTwoContextsAtOnce expects it
	t.Log("\n" + kubeMatrixTable(results) + "\n" + rep.String())
	if rep.err != nil {
		t.Errorf("100 cycles: %v", rep.err)
	}
	checkAuditVerbs(t, env.dir, "audited")
	if rr := results[0]; len(rr.passed)+len(rr.failed) > 0 { // not when -run left the restart out
		checkAuditVerbs(t, env.dir2, "audited")
	}
	t.Logf("matrix, restart and 100 cycles in %s; proxy %+v; %+v", time.Since(began).Round(time.Millisecond), p.proxy.Stats(), p.src.Requests())
}

// waitBaseline waits for the pipeline's first good round and returns its rows.
func (p *kubePipeline) waitBaseline(t *testing.T) map[sources.WorkloadID]sources.Summary {
	t.Helper()
	if !waitUntil(60*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() && p.store.Len() > 0 }) {
		t.Fatalf("the pipeline never became healthy through the proxy: %+v", p.health())
	}
	baseline := p.rows()
	waitUntil(3*time.Second, func() bool { shown, stale := p.countRows(); return shown == len(baseline) && stale == 0 })
	t.Logf("baseline: %d workloads through %s", len(baseline), p.proxy.URL())
	return baseline
}

// runFault injects one fault, checks what perch shows while it lasts,
// recovers and checks that perch recovers by itself. It returns the
// baseline for the next row.
func (p *kubePipeline) runFault(t *testing.T, f kubeFault, r *kubeResult, baseline map[sources.WorkloadID]sources.Summary,
	narrow *uiloop.Loop) map[sources.WorkloadID]sources.Summary {
	if !waitUntil(30*time.Second, func() bool { return p.health().Err == nil }) {
		t.Fatalf("not healthy before the fault: %v", p.health().Err)
	}
	last := p.health().LastOK
	waitUntil(2*time.Second, func() bool { return p.health().LastOK.After(last) })
	before := p.health()
	p.ui.Reset()
	narrow.Reset()
	runtime.GC()
	heapBase := heapInUse()
	stopHeap := make(chan struct{})
	peak := heapPeak(stopHeap)

	start := time.Now()
	if f.breakStreams {
		// Reset every open connection so the informers list again, into
		// the fault. The probe may report the reset itself first: for these
		// rows the fault counts as detected when its cause is named.
		p.set(t, faultproxy.Reset)
		time.Sleep(100 * time.Millisecond)
	}
	stopped := make(chan error, 1)
	if f.restart {
		// The API server shuts down gracefully (seconds): detection is
		// measured from the stop signal, not from its end.
		go func() { _, err := run("stop-apiserver", p.dir); stopped <- err }()
	} else {
		p.set(t, f.mode)
	}
	stopChurn := make(chan struct{})
	churned := make(chan struct{})
	go func() {
		defer close(churned)
		if f.churn {
			churn(p.admin, stopChurn)
		}
	}()

	const detectBound = 15 * time.Second
	detected := waitUntil(detectBound, func() bool {
		h := p.health()
		return h.Err != nil && (!f.breakStreams || containsAny(h.Err.Error(), f.cause))
	})
	r.detect = time.Since(start)
	r.check(t, "error", detected, "no error within %s", detectBound)
	if detected {
		p.checkFailing(t, f, r, before, start, baseline, narrow)
	}
	close(stopChurn)
	<-churned

	// Recover.
	if f.restart {
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	}
	start = time.Now()
	if f.restart {
		if _, err := run("start-apiserver", p.dir); err != nil {
			t.Fatal(err)
		}
	} else {
		p.set(t, faultproxy.Healthy)
	}
	recovered := waitUntil(60*time.Second, func() bool {
		h := p.health()
		return h.Err == nil && h.LastOK.After(start) && p.store.Len() == len(baseline)
	})
	r.recover = time.Since(start)
	r.check(t, "recover", recovered, "no recovery within 60s: %v, %d rows (want %d)", p.health().Err, p.store.Len(), len(baseline))
	fresh := waitUntil(3*time.Second, func() bool {
		_, stale := p.countRows()
		h := firstLine(p.ui.Frame())
		return stale == 0 && strings.Contains(h, "kubernetes ") && !strings.Contains(h, "degraded") && !strings.Contains(h, "down")
	})
	r.check(t, "fresh again", fresh, "rows still stale or header still degraded after recovery: %.200q", firstLine(p.ui.Frame()))

	// The informers watch again: a change made now reaches the rows.
	wid, metric, want := p.change(t)
	sees := waitUntil(15*time.Second, func() bool { return p.rows()[wid].Latest[metric] == want })
	r.check(t, "watches again", sees, "%s set to %v after recovery; perch shows %v", metric, want, p.rows()[wid].Latest[metric])

	r.ui = p.ui.Reset()
	ownGap := r.ui.GapMax - r.ui.StallMax
	ownKey := r.ui.KeyMax - r.ui.StallMax
	ownCall := max(r.ui.UpdateMax, r.ui.RenderMax) - r.ui.StallMax
	r.check(t, "ui", ownGap <= kubeMaxOwnGap && ownKey <= kubeMaxKey && ownCall <= kubeMaxUpdate && r.ui.Frames > 0,
		"UI loop, beyond a process stall of %s: longest gap %s (max %s), slowest key %s (max %s), slowest Update/Render %s (max %s)",
		r.ui.StallMax, ownGap, kubeMaxOwnGap, ownKey, kubeMaxKey, ownCall, kubeMaxUpdate)
	close(stopHeap)
	if pk := <-peak; pk > heapBase {
		r.heapPeak = pk - heapBase
	}
	if f.huge {
		r.check(t, "memory", r.heapPeak <= kubeMaxHeapGrowth, "heap grew by %d MiB, more than %d MiB", r.heapPeak>>20, kubeMaxHeapGrowth>>20)
	}
	return p.rows()
}

// checkFailing checks what perch shows while the fault lasts.
func (p *kubePipeline) checkFailing(t *testing.T, f kubeFault, r *kubeResult, before sources.Health, start time.Time,
	baseline map[sources.WorkloadID]sources.Summary, narrow *uiloop.Loop) {
	// Other errors may come first (the reset before a path fault): wait
	// for the cause to be named.
	var msg string
	named := waitUntil(10*time.Second, func() bool {
		h := p.health()
		msg = errText(h.Err)
		return containsAny(msg, f.cause)
	})
	r.check(t, "cause", named, "health error does not say %q: %.400s", f.cause, msg)
	h := p.health()
	r.check(t, "since", h.Err != nil && h.ErrSince.After(before.LastOK) && !h.ErrSince.After(start.Add(r.detect)),
		"ErrSince %s must lie after the last good round (%s) and before detection", h.ErrSince.Format(time.StampMilli), before.LastOK.Format(time.StampMilli))

	rows := p.rows()
	var bad []string
	for wid, old := range baseline {
		now, ok := rows[wid]
		switch {
		case !ok:
			bad = append(bad, wid.Name+" gone")
		case !now.Stale:
			bad = append(bad, wid.Name+" not stale")
		default:
			if m, same := sameLatest(old.Latest, now.Latest); !same {
				bad = append(bad, fmt.Sprintf("%s %s %v→%v", wid.Name, m, old.Latest[m], now.Latest[m]))
			}
		}
	}
	r.check(t, "stale+kept", len(bad) == 0, "rows: %v", bad)

	var frame string
	shown := waitUntil(3*time.Second, func() bool {
		frame = p.ui.Frame()
		shown, stale := p.countRows()
		return headerSays(frame, f.cause) && shown > 0 && stale == shown
	})
	r.check(t, "frame", shown, "the 200-column frame must show \"kubernetes degraded since …\" with %q and \"!\" on every row; header: %.200q", f.cause, firstLine(frame))
	r.cause120 = headerSays(narrow.Frame(), f.cause)
	leaks := strings.Contains(msg, p.token) || strings.Contains(frame, p.token) || strings.Contains(narrow.Frame(), p.token)
	r.check(t, "no secret", !leaks, "the bearer token appears in the health error or a frame")
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// churn toggles an annotation of team-b/db until stop is closed: watch
// events that perch's transforms drop, so the rows do not change.
func churn(admin kubernetes.Interface, stop <-chan struct{}) {
	for i := 0; ; i++ {
		patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{"perch.test/churn":"%d"}}}`, i))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = admin.AppsV1().StatefulSets("team-b").Patch(ctx, "db", types.MergePatchType, patch, metav1.PatchOptions{})
		cancel()
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// setHPAMax changes web's HPA maximum (its scaling policies are disabled,
// so nothing else changes).
// scaleShopAPI sets shop/api's replicas on the second API server.
func scaleShopAPI(t *testing.T, admin kubernetes.Interface, n int32) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := admin.AppsV1().Deployments("shop").Patch(ctx, "api", types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("scaling shop/api to %d: %v", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func setHPAMax(t *testing.T, admin kubernetes.Interface, n int32) {
	t.Helper()
	patch := []byte(fmt.Sprintf(`{"spec":{"maxReplicas":%d}}`, n))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := admin.AutoscalingV2().HorizontalPodAutoscalers("team-a").Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{})
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("setting web's HPA max to %d: %v", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The cycles' pipeline probes more often, so that 100 cycles take about as
// long as the matrix beside them.
const (
	cycleTimeout = 500 * time.Millisecond
	cycleRefresh = 25 * time.Millisecond
)

// cycleReport is what the 100 cycles measured.
type cycleReport struct {
	took             time.Duration
	detect, recover  []time.Duration
	goroutines       []int
	early, late      int
	requests         kube.RequestCounts
	recoveriesSeen   int
	err              error
	faultsBySequence []string
}

func (c cycleReport) String() string {
	if len(c.detect) == 0 {
		return fmt.Sprintf("100 cycles: none completed: %v", c.err)
	}
	return fmt.Sprintf("100 fault/recover cycles (%s; timeout %s, refresh %s) in %s: detect median %s max %s, recover median %s max %s; "+
		"goroutines after recovery: median of cycles 5-15 %d, of cycles 85-95 %d; API requests %+v",
		strings.Join(c.faultsBySequence, ", "), cycleTimeout, cycleRefresh, c.took.Round(time.Millisecond),
		medianDur(c.detect).Round(time.Millisecond), slices.Max(c.detect).Round(time.Millisecond),
		medianDur(c.recover).Round(time.Millisecond), slices.Max(c.recover).Round(time.Millisecond),
		c.early, c.late, c.requests)
}

// run100Cycles flips a second pipeline between a fault and healthy 100
// times: every fault reported, every recovery by itself, and the number of
// goroutines must not creep up from cycle to cycle.
func run100Cycles(p *kubePipeline) (rep cycleReport) {
	if !waitUntil(60*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() && p.store.Len() > 0 }) {
		rep.err = fmt.Errorf("never healthy: %v", p.health().Err)
		return rep
	}
	want := p.store.Len()
	// Three in ten break the watches or hang, so the informers are
	// restarted; the others fail the probe only.
	faults := []faultproxy.Mode{faultproxy.Status(503), faultproxy.CutMidBody, faultproxy.Refuse, faultproxy.Garbage, faultproxy.Status(502),
		faultproxy.Truncate, faultproxy.Hang, faultproxy.Status(500), faultproxy.CutMidBody, faultproxy.Reset}
	for _, m := range faults {
		rep.faultsBySequence = append(rep.faultsBySequence, m.String())
	}
	start := time.Now()
	for i := range 100 {
		m := faults[i%len(faults)]
		t0 := time.Now()
		if err := p.proxy.Set(m); err != nil {
			rep.err = err
			return rep
		}
		if !waitUntil(10*time.Second, func() bool { return p.health().Err != nil }) {
			rep.err = fmt.Errorf("cycle %d: %s was never reported", i, m)
			return rep
		}
		rep.detect = append(rep.detect, time.Since(t0))
		t1 := time.Now()
		if err := p.proxy.Set(faultproxy.Healthy); err != nil {
			rep.err = err
			return rep
		}
		if !waitUntil(30*time.Second, func() bool {
			h := p.health()
			return h.Err == nil && h.LastOK.After(t1) && p.store.Len() == want
		}) {
			rep.err = fmt.Errorf("cycle %d: no recovery from %s: %v", i, m, p.health().Err)
			return rep
		}
		rep.recover = append(rep.recover, time.Since(t1))
		rep.goroutines = append(rep.goroutines, runtime.NumGoroutine())
	}
	rep.took = time.Since(start)
	rep.requests = p.src.Requests()
	// The matrix runs beside and makes the count jitter; a leak per cycle
	// would add up to hundreds.
	rep.early, rep.late = medianInt(rep.goroutines[5:15]), medianInt(rep.goroutines[85:95])
	if rep.late > rep.early+60 {
		rep.err = fmt.Errorf("goroutines grew from %d to %d over the cycles: something leaks per fault", rep.early, rep.late)
	}
	return rep
}

func medianInt(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianDur(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// kubeMatrixTable prints the matrix in internal/faultmatrix's format.
func kubeMatrixTable(rs []*kubeResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kubernetes × fault (real kube-apiserver behind a TLS-terminating faultproxy; timeout %s, refresh %s, max_response_bytes %d MiB)\n",
		faultTimeout, faultRefresh, faultMaxBytes>>20)
	fmt.Fprintf(&b, "%-24s %-6s %8s %8s %9s %8s %8s %8s %9s  %s\n", "fault", "result", "detect", "recover", "frame gap", "stall", "key max", "heap +", "cause@120", "failures")
	for _, r := range rs {
		res := "pass"
		if len(r.failed) > 0 {
			res = "FAIL"
		}
		c120 := "no"
		if r.cause120 {
			c120 = "yes"
		}
		fmt.Fprintf(&b, "%-24s %-6s %8s %8s %9s %8s %8s %7dM %9s  %s\n", r.name, res, r.detect.Round(10*time.Millisecond), r.recover.Round(10*time.Millisecond),
			r.ui.GapMax.Round(time.Millisecond), r.ui.StallMax.Round(time.Millisecond), r.ui.KeyMax.Round(10*time.Microsecond), r.heapPeak>>20, c120, strings.Join(r.failed, ", "))
	}
	return b.String()
}

// checkAuditVerbs proves from the API server's audit log that user issued
// nothing but get, list and watch.
func checkAuditVerbs(t *testing.T, dir, user string) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	verbs := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Verb string `json:"verb"`
			User struct {
				Username string `json:"username"`
			} `json:"user"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.User.Username != user {
			continue
		}
		verbs[ev.Verb]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for v, n := range verbs {
		names = append(names, fmt.Sprintf("%s=%d", v, n))
		if v != "get" && v != "list" && v != "watch" {
			t.Errorf("perch issued verb %q (%d times)", v, n)
		}
	}
	sort.Strings(names)
	t.Logf("audit log of %s, user %s: %s", filepath.Base(dir), user, strings.Join(names, " "))
	if verbs["watch"] == 0 || verbs["get"] == 0 {
		t.Errorf("audit log has no watch or no get for %s: %v (is the audit policy still logging perch:audited?)", user, verbs)
	}
}

// ---------------------------------------------------------------------------
// The pipeline.

type kubeSettings struct {
	Dir              string // the stack's cluster directory
	Timeout, Refresh time.Duration
	MaxBytes         int64
	Width, Height    int // of the first UI; 0: none
	// Change makes a change perch must show once it recovered, and says
	// where: workload, metric and value.
	Change func(t *testing.T) (sources.WorkloadID, sources.Metric, float64)
}

// kubePipeline is perch wired as cmd/perch wires it, talking to the real
// API server through the fault proxy as the "audited" user.
type kubePipeline struct {
	dir     string
	admin   kubernetes.Interface // for churn; nil when not needed
	change  func(t *testing.T) (sources.WorkloadID, sources.Metric, float64)
	proxy   *faultproxy.Proxy
	src     *kube.Source
	store   *store.Store
	token   string
	ui      *uiloop.Loop
	uis     []*uiloop.Loop
	ctx     context.Context
	cancel  context.CancelFunc
	refresh time.Duration
	wg      sync.WaitGroup
}

func startKubePipeline(t *testing.T, cfg kubeSettings) *kubePipeline {
	t.Helper()
	serve, upstream := proxyTLS(t, cfg.Dir)
	port, err := os.ReadFile(filepath.Join(cfg.Dir, "api.port"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	px, err := faultproxy.StartTLS(ctx, "127.0.0.1:"+strings.TrimSpace(string(port)), serve, upstream)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	token := auditedToken(t, cfg.Dir)
	kubeconfig := proxyKubeconfig(t, cfg.Dir, px.URL(), token)
	src, err := kube.New(kube.Config{Kubeconfig: kubeconfig, AllNamespaces: true, Metrics: kube.MetricsOff,
		Refresh: cfg.Refresh, Timeout: cfg.Timeout, MaxResponseBytes: cfg.MaxBytes})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	st := store.New()
	st.SetStaleAfter(3 * cfg.Refresh) // as cmd/perch does
	p := &kubePipeline{dir: cfg.Dir, change: cfg.Change, proxy: px, src: src, store: st, token: token, ctx: ctx, cancel: cancel, refresh: cfg.Refresh}
	p.wg.Add(1)
	go func() { defer p.wg.Done(); st.Feed(ctx, src) }()
	if cfg.Width > 0 {
		p.ui = p.addUI(t, cfg.Width, cfg.Height)
	}
	return p
}

func (p *kubePipeline) addUI(t *testing.T, width, height int) *uiloop.Loop {
	t.Helper()
	m, err := tui.New(tui.Config{Context: p.ctx, Store: p.store, Sources: []sources.Source{p.src}, ThemeName: "dark",
		Getenv: func(string) string { return "" }, Refresh: p.refresh})
	if err != nil {
		t.Fatal(err)
	}
	u := uiloop.Run(p.ctx, m, width, height, nil)
	p.uis = append(p.uis, u)
	return u
}

func (p *kubePipeline) set(t *testing.T, m faultproxy.Mode) {
	t.Helper()
	if err := p.proxy.Set(m); err != nil {
		t.Fatal(err)
	}
}

func (p *kubePipeline) stop() {
	p.cancel()
	p.wg.Wait()
	for _, u := range p.uis {
		<-u.Done()
	}
	p.proxy.Close()
}

func (p *kubePipeline) health() sources.Health {
	for _, h := range p.store.Health() {
		if h.Source == p.src.Name() {
			return h
		}
	}
	return sources.Health{}
}

func (p *kubePipeline) rows() map[sources.WorkloadID]sources.Summary {
	out := map[sources.WorkloadID]sources.Summary{}
	for _, s := range p.store.Summaries(time.Now(), 0) {
		out[s.ID] = s
	}
	return out
}

// countRows counts the overview rows of the first UI's frame and those
// marked stale.
func (p *kubePipeline) countRows() (shown, stale int) { return p.ui.OverviewRows() }

func headerSays(frame string, cause []string) bool {
	h := firstLine(frame)
	return strings.Contains(h, "kubernetes degraded since") && containsAny(h, cause)
}

func firstLine(frame string) string {
	line, _, _ := strings.Cut(frame, "\n")
	return line
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func sameLatest(a, b [sources.NumMetrics]float64) (sources.Metric, bool) {
	for m := range a {
		if a[m] != b[m] && !(math.IsNaN(a[m]) && math.IsNaN(b[m])) {
			return sources.Metric(m), false
		}
	}
	return 0, true
}

// waitUntil polls cond every 10 ms until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, heapInUse())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// ---------------------------------------------------------------------------
// Credentials and certificates.

// newAdmin is an admin client of the test's own, on a plain HTTP/1.1
// transport whose connections are closed when the test ends (client-go's
// shared HTTP/2 transports would keep a connection the leak check counts:
// the API server restart makes clients open new ones).
func newAdmin(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: "admin"}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rc.CAData) {
		t.Fatal("the admin kubeconfig has no CA")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	t.Cleanup(tr.CloseIdleConnections)
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: rc.Host, BearerToken: rc.BearerToken, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// grantAudited lets the stack's "audited" user (whose requests the audit
// log records) get, list and watch everything, as a read-only dashboard
// account would be set up.
func grantAudited(t *testing.T, admin kubernetes.Interface) {
	t.Helper()
	var err error
	func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		read := []string{"get", "list", "watch"}
		_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "perch-faults-read"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: read},
				{NonResourceURLs: []string{"*"}, Verbs: []string{"get"}},
			},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return
		}
		_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "perch-faults-read"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "perch-faults-read"},
			Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "audited"}},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}()
	if err != nil {
		t.Fatalf("granting the audited user read access: %v", err)
	}
}

// auditedToken is the second token of the stack's tokens.csv.
func auditedToken(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pki", "tokens.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Split(line, ","); len(f) >= 2 && f[1] == "audited" {
			return f[0]
		}
	}
	t.Fatal("no token for the audited user in tokens.csv")
	return ""
}

// proxyKubeconfig writes a kubeconfig whose only context, "audited",
// reaches the API server through the proxy and trusts the stack's CA.
func proxyKubeconfig(t *testing.T, dir, server, token string) string {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(dir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["faulty"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["audited"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["audited"] = &clientcmdapi.Context{Cluster: "faulty", AuthInfo: "audited"}
	cfg.CurrentContext = "audited"
	path := filepath.Join(t.TempDir(), "faulty.kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// proxyTLS mints a serving certificate for 127.0.0.1 from the stack's test
// CA (so perch trusts the proxy as it trusts the API server) and the
// proxy's client config towards the real API server.
func proxyTLS(t *testing.T, dir string) (serve, upstream *tls.Config) {
	t.Helper()
	pki := filepath.Join(dir, "pki")
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(pki, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	caBlock, _ := pem.Decode(caPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if caBlock == nil || keyBlock == nil {
		t.Fatal("the stack's CA files are not PEM")
	}
	caCert, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		if caKey, err = x509.ParsePKCS1PrivateKey(keyBlock.Bytes); err != nil {
			t.Fatalf("the stack's CA key: %v", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "perch-faultproxy"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	serve = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return serve, &tls.Config{RootCAs: roots}
}

// ---------------------------------------------------------------------------
// Answers.

// garbage is n deterministic pseudo-random bytes.
func garbage(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// podListProtobuf is a real protobuf-encoded PodList of n pods, as the API
// server sends it (the k8s\x00 envelope included).
func podListProtobuf(t *testing.T, n int) []byte {
	t.Helper()
	list := &corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for i := range n {
		list.Items = append(list.Items, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p-" + strconv.Itoa(i), Namespace: "team-a", ResourceVersion: "1"},
			Spec:       corev1.PodSpec{NodeName: "kwok-node-0", Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		})
	}
	var b strings.Builder
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(list, &b); err != nil {
		t.Fatal(err)
	}
	return []byte(b.String())
}

// hugePodList is a valid JSON PodList of n pods (about 400 bytes each),
// generated as it streams.
func hugePodList(n int) faultproxy.Body {
	return faultproxy.Body{
		Name:        fmt.Sprintf("kubernetes PodList %d pods", n),
		ContentType: "application/json",
		Write: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 64<<10)
			if _, err := bw.WriteString(`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[`); err != nil {
				return err
			}
			line := make([]byte, 0, 512)
			for i := range n {
				line = line[:0]
				if i > 0 {
					line = append(line, ',')
				}
				line = append(line, `{"metadata":{"name":"huge-`...)
				line = strconv.AppendInt(line, int64(i), 10)
				line = append(line, `","namespace":"ns-`...)
				line = strconv.AppendInt(line, int64(i%50), 10)
				line = append(line, `","uid":"`...)
				line = strconv.AppendUint(line, uint64(i)*0x9e3779b97f4a7c15, 16)
				line = append(line, `","resourceVersion":"1","ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"w-`...)
				line = strconv.AppendInt(line, int64(i%1000), 10)
				line = append(line, `-5c6d","uid":"x","controller":true}]},"spec":{"nodeName":"kwok-node-0","containers":[{"name":"app","image":"registry.k8s.io/pause:3.10",`...)
				line = append(line, `"resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]},"status":{"phase":"Running"}}`...)
				if _, err := bw.Write(line); err != nil {
					return err
				}
			}
			if _, err := bw.WriteString(`]}`); err != nil {
				return err
			}
			return bw.Flush()
		},
	}
}
