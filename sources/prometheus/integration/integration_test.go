// Package integration tests perch's Prometheus source against a real
// Prometheus server (Debian's 2.42, started by scripts/stack/prometheus.sh)
// holding the simulator's history (backfilled with promtool from
// promexport.WriteHistory) and scraping the simulator live (promexport's
// handler, every second). perch's numbers must equal the simulator's
// ground truth.
//
// The test never skips: without prometheus and promtool on PATH it fails
// and says how to install them (scripts/stack/prometheus.sh install).
package integration

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/prometheus"
	"github.com/perch-dev/perch/sources/promexport"
	"github.com/perch-dev/perch/sources/sim"
)

const (
	step    = 15 * time.Second // backfill resolution = the simulator's grid
	history = 30 * time.Minute
	window  = 5 * time.Minute // the source's default rate window
	cluster = "demo"
)

// env is the running stack, set up once by TestMain.
var env struct {
	url      string
	sim      *sim.Sim
	from, to time.Time // backfilled range (to is the last sample)
	evalAt   time.Time // evaluation time of the backfill checks
	prices   cost.Prices
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: prometheus integration: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "stack", "prometheus.sh")
}

func pid() int { return os.Getpid() }

func run(args ...string) (string, error) {
	cmd := exec.Command(script(), args...)
	// Backfilled blocks carry no staleness markers, so a pod that ended
	// would stay visible for the default 5 m lookback; 10 s (less than
	// the 15 s backfill step, more than the 1 s scrape interval) gives the
	// same answers a live server would.
	cmd.Env = append(os.Environ(), "PROM_EXTRA_ARGS=--query.lookback-delta=10s",
		"PROM_WATCH_PID="+strconv.Itoa(pid()))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s%s", filepath.Base(script()), strings.Join(args, " "), err, errb.String(), out.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func setup(m *testing.M) (int, error) {
	for _, bin := range []string{"prometheus", "promtool"} {
		if _, err := exec.LookPath(bin); err != nil {
			return 0, fmt.Errorf("%s is not on PATH; install it with `scripts/stack/prometheus.sh install` "+
				"(Debian's prometheus package); this test needs a real server and never skips", bin)
		}
	}
	dir, err := os.MkdirTemp("", "perch-prometheus-*")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)

	now := time.Now().UTC()
	env.prices = cost.Defaults()
	// The simulated time of day at the end of the history is fixed (14:20
	// by default, so the history holds the daily incident's onset and an
	// hourly counter reset); PERCH_SIM_AT=HH:MM explores others.
	simAt := 14*time.Hour + 20*time.Minute
	if v := os.Getenv("PERCH_SIM_AT"); v != "" {
		tt, err := time.Parse("15:04", v)
		if err != nil {
			return 0, fmt.Errorf("PERCH_SIM_AT=%q: want HH:MM", v)
		}
		simAt = time.Duration(tt.Hour())*time.Hour + time.Duration(tt.Minute())*time.Minute
	}
	s, err := sim.New(sim.Config{Start: now.Truncate(step).Add(-simAt), Cluster: cluster, Prices: env.prices,
		Clock: func() time.Time { return now }})
	if err != nil {
		return 0, err
	}
	env.sim = s
	env.to = now.Truncate(step)
	env.from = env.to.Add(-history)
	env.evalAt = env.to.Add(-7 * step) // well inside the history; 5 m windows too

	t0 := time.Now()
	om := filepath.Join(dir, "history.om")
	f, err := os.Create(om)
	if err != nil {
		return 0, err
	}
	if err := promexport.WriteHistory(f, s, env.from, env.to, step); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	t1 := time.Now()
	if _, err := run("backfill", dir, om); err != nil {
		return 0, err
	}
	t2 := time.Now()
	_ = os.Remove(om)

	exporter := httptest.NewServer(promexport.NewHandler(s, time.Now)) // binds 127.0.0.1
	defer exporter.Close()
	url, err := run("start", dir, strings.TrimPrefix(exporter.URL, "http://"))
	if err != nil {
		return 0, err
	}
	defer func() {
		if _, err := run("stop", dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	env.url = url
	fmt.Fprintf(os.Stderr, "prometheus at %s: history %s written in %v, backfilled in %v, ready in %v\n",
		url, history, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond))
	return m.Run(), nil
}

// newSource is a source on the test server evaluating at clock.
func newSource(t *testing.T, clock func() time.Time) *prometheus.Source {
	t.Helper()
	src, err := prometheus.New(prometheus.Config{URL: env.url, Cluster: cluster, Prices: env.prices,
		Timeout: 10 * time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// values indexes an update by workload and metric.
type values map[sources.WorkloadID]map[sources.Metric]float64

func index(samples []sources.Sample) values {
	out := values{}
	for _, s := range samples {
		if out[s.ID] == nil {
			out[s.ID] = map[sources.Metric]float64{}
		}
		out[s.ID][s.Metric] = s.V
	}
	return out
}

func (v values) get(id sources.WorkloadID, m sources.Metric) (float64, bool) {
	x, ok := v[id][m]
	return x, ok
}

func TestDetectsPresets(t *testing.T) {
	src := newSource(t, func() time.Time { return env.evalAt })
	u := src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	got := strings.Join(src.Presets(), ",")
	if want := "kubernetes,istio,openfaas,knative-otel,lambda"; got != want {
		t.Fatalf("presets %s, want %s", got, want)
	}
}

// windowTruth is what a 5 m rate over the backfilled counters means: the
// simulator's rates at the 15 s grid points of [T-5m, T).
type windowTruth struct {
	rps, errRatio, cpu float64
	podsChanged        bool    // the pod count changed inside the window
	p95                float64 // quantile of the window's latency mixture
	hasP95             bool
}

func truthOverWindow(t time.Time) map[sources.WorkloadID]windowTruth {
	type acc struct {
		n, rps, errs, cpu float64
		pods              []float64
		cdfs              []func(float64) float64
		weights           []float64
	}
	accs := map[sources.WorkloadID]*acc{}
	for g := t.Add(-window); g.Before(t); g = g.Add(step) {
		v := index(env.sim.At(g))
		for id, ms := range v {
			a := accs[id]
			if a == nil {
				a = &acc{}
				accs[id] = a
			}
			r := ms[sources.RequestRate]
			a.n++
			a.rps += r
			a.errs += r * ms[sources.ErrorRatio]
			a.cpu += ms[sources.CPUUsage]
			a.pods = append(a.pods, ms[sources.ReplicasCurrent])
			if p50, ok := ms[sources.LatencyP50]; ok && r > 0 {
				a.cdfs = append(a.cdfs, promexport.LatencyCDF(p50, ms[sources.LatencyP95], ms[sources.LatencyP99]))
				a.weights = append(a.weights, r)
			}
		}
	}
	out := map[sources.WorkloadID]windowTruth{}
	for id, a := range accs {
		w := windowTruth{rps: a.rps / a.n, cpu: a.cpu / a.n}
		for _, p := range append(a.pods, index(env.sim.At(t))[id][sources.ReplicasCurrent]) {
			w.podsChanged = w.podsChanged || p != a.pods[0]
		}
		// The exporter restarts every pod on the hour (its counter period).
		if t.Sub(env.sim.Start())%time.Hour <= window {
			w.podsChanged = true
		}
		if a.rps > 0 {
			w.errRatio = a.errs / a.rps
		}
		if len(a.cdfs) > 0 {
			var total float64
			for _, x := range a.weights {
				total += x
			}
			mix := func(x float64) float64 {
				var s float64
				for i, f := range a.cdfs {
					s += a.weights[i] * f(x)
				}
				return s / total
			}
			lo, hi := 0.0, 10000.0
			for range 200 {
				mid := (lo + hi) / 2
				if mix(mid) < 0.95 {
					lo = mid
				} else {
					hi = mid
				}
			}
			w.p95, w.hasP95 = hi, true
		}
		out[id] = w
	}
	return out
}

func bucketIndex(v float64, bounds []float64) int {
	return sort.SearchFloat64s(bounds, v*(1-1e-12))
}

func near(got, want, rel float64) bool {
	if want == 0 {
		return math.Abs(got) < 1e-9
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

// TestBackfilledMatchesSimulator compares every workload at a backfilled
// instant with the simulator: replicas, HPA bounds, requests, memory,
// concurrency and cold starts exactly; rates as the window means a 5 m
// rate() describes; cost within 1 %; p95 within one histogram bucket.
func TestBackfilledMatchesSimulator(t *testing.T) {
	// Several instants of the history, 5 minutes apart.
	for T := env.from.Add(window + step); !T.After(env.to); T = T.Add(5 * time.Minute) {
		t.Run(T.Sub(env.sim.Start()).Truncate(time.Second).String(), func(t *testing.T) { checkBackfilledAt(t, T) })
	}
}

func checkBackfilledAt(t *testing.T, T time.Time) {
	src := newSource(t, func() time.Time { return T })
	start := time.Now()
	u := src.Poll(context.Background())
	elapsed := time.Since(start)
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	if !u.Full {
		t.Fatal("round not Full")
	}
	got := index(u.Samples)
	want := index(env.sim.At(T))
	truth := truthOverWindow(T)
	platforms := map[sources.WorkloadID]sources.Workload{}
	for _, w := range u.Workloads {
		platforms[w.ID] = w
	}
	var checked, costVsSimWithin1 int
	var worstCost, worstCPU, worstCPUChurn float64
	for _, w := range env.sim.Workloads() {
		id := w.ID
		pw, ok := platforms[id]
		if !ok {
			t.Errorf("%s missing from perch's inventory", id)
			continue
		}
		if pw.Platform != w.Platform || pw.Kind != w.Kind {
			t.Errorf("%s: platform/kind %s/%s, want %s/%s", id, pw.Platform, pw.Kind, w.Platform, w.Kind)
		}
		if w.Platform == sources.Lambda && pw.MemoryMB != w.MemoryMB {
			t.Errorf("%s: memory %v MB, want %v", id, pw.MemoryMB, w.MemoryMB)
		}
		exact := []sources.Metric{sources.MemRequest}
		if w.Platform != sources.Lambda {
			exact = append(exact, sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady,
				sources.CPURequest, sources.MemUsage)
		}
		if w.Platform == sources.Kubernetes {
			if _, hpa := want.get(id, sources.ReplicasMin); hpa {
				exact = append(exact, sources.ReplicasMin, sources.ReplicasMax)
			}
		}
		if w.Platform.IsServerless() {
			exact = append(exact, sources.Concurrency)
		}
		if w.Platform == sources.Lambda {
			exact = append(exact, sources.RequestRate, sources.ColdStarts, sources.LatencyP50, sources.LatencyP95, sources.LatencyP99)
		}
		for _, m := range exact {
			wv, wok := want.get(id, m)
			gv, gok := got.get(id, m)
			if !wok {
				continue
			}
			checked++
			if !gok || !near(gv, wv, 1e-9) {
				t.Errorf("%s %s = %v (present %v), simulator %v", id, m, gv, gok, wv)
			}
		}
		tr := truth[id]
		if w.Platform != sources.Lambda {
			checked++
			if gv, ok := got.get(id, sources.RequestRate); !ok || !near(gv, tr.rps, 1e-6) {
				t.Errorf("%s requests_per_second = %v, window mean %v", id, gv, tr.rps)
			}
			if tr.rps > 0 {
				checked++
				if gv, ok := got.get(id, sources.ErrorRatio); !ok || math.Abs(gv-tr.errRatio) > 1e-6 {
					t.Errorf("%s error_ratio = %v, window %v", id, gv, tr.errRatio)
				}
			}
			// CPU usage is a 5 m rate of per-pod counters. With a steady
			// pod set it is the window mean; when pods start and stop in
			// the window, rate() loses each stopped container's last
			// interval and extrapolates the series that start or end
			// inside it (what a real Prometheus does with cAdvisor), so
			// allow 20 % there.
			if tr.cpu > 0 {
				checked++
				tol := 0.02
				if tr.podsChanged {
					tol = 0.20
				}
				gv, ok := got.get(id, sources.CPUUsage)
				if !ok || !near(gv, tr.cpu, tol) {
					t.Errorf("%s cpu_usage = %v, window mean %v (pods changed: %v)", id, gv, tr.cpu, tr.podsChanged)
				}
				if tr.podsChanged {
					worstCPUChurn = math.Max(worstCPUChurn, math.Abs(gv-tr.cpu)/tr.cpu)
				} else {
					worstCPU = math.Max(worstCPU, math.Abs(gv-tr.cpu)/tr.cpu)
				}
			}
		}
		// p95 within one bucket of the window's true p95.
		if bounds := promexport.Buckets(w.Platform); bounds != nil && tr.hasP95 {
			checked++
			gv, ok := got.get(id, sources.LatencyP95)
			if !ok {
				t.Errorf("%s latency_p95 missing, window p95 %v", id, tr.p95)
			} else if d := bucketIndex(gv, bounds) - bucketIndex(tr.p95, bounds); d < -1 || d > 1 {
				t.Errorf("%s latency_p95 = %v s, window p95 %v s: %d buckets apart", id, gv, tr.p95, d)
			}
		}
		// Cost: the OpenCost rule on the requests and memory (exact) and the
		// CPU usage perch read (a 5 m rate), within 1 %; the deviation from
		// the simulator's own figure (instant usage) is reported.
		wantCost, _ := want.get(id, sources.CostRate)
		if w.Platform != sources.Lambda {
			cpuUse := tr.cpu
			if gv, ok := got.get(id, sources.CPUUsage); ok {
				cpuUse = gv
			}
			wantCost = env.prices.KubeHourly(want[id][sources.CPURequest], cpuUse, want[id][sources.MemRequest], want[id][sources.MemUsage])
		}
		checked++
		gc, ok := got.get(id, sources.CostRate)
		if !ok || !near(gc, wantCost, 0.01) {
			t.Errorf("%s cost = %v $/h, want %v (within 1%%)", id, gc, wantCost)
		}
		if simCost := want[id][sources.CostRate]; simCost > 0 {
			rel := math.Abs(gc-simCost) / simCost
			worstCost = math.Max(worstCost, rel)
			if rel <= 0.01 {
				costVsSimWithin1++
			}
		}
	}
	t.Logf("%d workloads, %d values checked in a %v round (%d queries so far); cost within 1%% of the simulator's own (instant-usage) figure for %d, worst %.1f%%; cpu usage vs window mean worst %.2f%% (steady pods), %.1f%% (pods changed)",
		len(env.sim.Workloads()), checked, elapsed.Round(time.Millisecond), src.Queries(), costVsSimWithin1, worstCost*100, worstCPU*100, worstCPUChurn*100)
	if extra := len(u.Workloads) - len(env.sim.Workloads()); extra != 0 {
		var names []string
		for _, w := range u.Workloads {
			if _, ok := want[w.ID]; !ok {
				names = append(names, w.ID.String())
			}
		}
		t.Errorf("%d workloads perch found that the simulator does not have: %v", extra, names)
	}
}

// TestLiveScrapeMatchesSimulator waits for Prometheus to have scraped the
// exporter after the backfill and compares replicas with the simulator
// at the scrape times.
func TestLiveScrapeMatchesSimulator(t *testing.T) {
	src := newSource(t, time.Now)
	deadline := time.Now().Add(20 * time.Second)
	var u sources.Update
	for {
		if time.Now().After(deadline) {
			t.Fatal("no live scrape reached Prometheus within 20 s")
		}
		if scrapedAfter(t, env.to.Add(2*time.Second)) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	now := time.Now()
	u = src.Poll(context.Background())
	if u.Err != nil {
		t.Fatal(u.Err)
	}
	got := index(u.Samples)
	// The last scrape is at most ~1 s old: replicas must equal the
	// simulator's at one of the instants of the last few seconds.
	var candidates []values
	for d := time.Duration(0); d <= 3*time.Second; d += 250 * time.Millisecond {
		candidates = append(candidates, index(env.sim.At(now.Add(-d))))
	}
	checked := 0
	for _, w := range env.sim.Workloads() {
		if w.Platform == sources.Lambda {
			continue
		}
		for _, m := range []sources.Metric{sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady} {
			gv, ok := got.get(w.ID, m)
			if !ok {
				t.Errorf("%s %s missing", w.ID, m)
				continue
			}
			match := false
			for _, c := range candidates {
				if wv, ok := c.get(w.ID, m); ok && wv == gv {
					match = true
				}
			}
			checked++
			if !match {
				t.Errorf("%s %s = %v, not the simulator's value in the last 3 s", w.ID, m, gv)
			}
		}
	}
	t.Logf("live: %d replica values equal the simulator's", checked)
}

// scrapedAfter reports whether the server has a live sample newer than t.
func scrapedAfter(t *testing.T, after time.Time) bool {
	src, err := prometheus.New(prometheus.Config{URL: env.url, Timeout: 5 * time.Second,
		Overrides: map[string]string{"replicas_desired": `label_replace(label_replace(max(timestamp(kube_deployment_spec_replicas)), "namespace", "probe", "", ""), "workload", "probe", "", "")`}})
	if err != nil {
		t.Fatal(err)
	}
	u := src.Poll(context.Background())
	for _, s := range u.Samples {
		if s.ID.Name == "probe" {
			return s.V > float64(after.Unix())
		}
	}
	return false
}

// TestRangeMatchesSimulator reads a chart's worth of history through
// Range and compares it with the simulator's Range.
func TestRangeMatchesSimulator(t *testing.T) {
	src := newSource(t, func() time.Time { return env.evalAt })
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		metric sources.Metric
	}{
		{"frontend", sources.ReplicasCurrent},
		{"postgres", sources.MemRequest},
		{"thumbnailer", sources.ReplicasDesired},
		{"auth-token", sources.CostRate},
		{"geoip", sources.Concurrency},
	} {
		var id sources.WorkloadID
		for _, w := range env.sim.Workloads() {
			if w.ID.Name == c.name {
				id = w.ID
			}
		}
		q := sources.RangeQuery{ID: id, Metric: c.metric, Start: env.from.Add(10 * time.Minute), End: env.to.Add(-time.Minute), Step: time.Minute}
		start := time.Now()
		got, err := src.Range(ctx, q)
		if err != nil {
			t.Fatalf("%s %s: %v", id, c.metric, err)
		}
		want, err := env.sim.Range(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s %s: %d points, simulator %d", id, c.metric, len(got), len(want))
		}
		for i := range got {
			if !got[i].T.Equal(want[i].T) || !near(got[i].V, want[i].V, 0.01) {
				t.Fatalf("%s %s point %d: %v at %v, simulator %v at %v", id, c.metric, i, got[i].V, got[i].T, want[i].V, want[i].T)
			}
		}
		t.Logf("range %s %s: %d points equal the simulator's (%v)", id, c.metric, len(got), time.Since(start).Round(time.Millisecond))
	}
}

// TestRunAgainstRealServer runs the source's loop for a few rounds.
func TestRunAgainstRealServer(t *testing.T) {
	src, err := prometheus.New(prometheus.Config{URL: env.url, Cluster: cluster, Refresh: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan sources.Update)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, out) }()
	before := src.Queries()
	for i := range 3 {
		u := <-out
		if u.Err != nil || !u.Full || len(u.Workloads) != len(env.sim.Workloads()) {
			t.Fatalf("round %d: err %v, full %v, %d workloads", i, u.Err, u.Full, len(u.Workloads))
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	// detection (1) + 3 rounds
	perRound := float64(src.Queries()-before-1) / 3
	t.Logf("%.0f queries per round against the real server", perRound)
	if perRound > 20 {
		t.Fatalf("%.0f queries per round, want <= 20", perRound)
	}
}
