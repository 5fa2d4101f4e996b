package scrape

import (
	"context"
	"math"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/promexport"
	"github.com/perch-dev/perch/sources/sim"
)

var epoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is shared by the exporter and the source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type values map[sources.WorkloadID]map[sources.Metric]float64

func index(ss []sources.Sample) values {
	out := values{}
	for _, s := range ss {
		if out[s.ID] == nil {
			out[s.ID] = map[sources.Metric]float64{}
		}
		out[s.ID][s.Metric] = s.V
	}
	return out
}

func near(got, want, rel float64) bool {
	if want == 0 {
		return math.Abs(got) < 1e-9
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func bucketIndex(v float64, bounds []float64) int {
	return sort.SearchFloat64s(bounds, v*(1-1e-12))
}

// windowTruth is what the window's counters mean: the simulator's rates
// at the exporter's 15 s grid points in [T-window, T).
type windowTruth struct {
	rps, errRatio, cpu float64
	podsChanged        bool
	p95                float64
	hasP95             bool
}

func truthOverWindow(s *sim.Sim, T time.Time, window time.Duration) map[sources.WorkloadID]windowTruth {
	type acc struct {
		n, rps, errs, cpu float64
		pods              []float64
		cdfs              []func(float64) float64
		weights           []float64
	}
	accs := map[sources.WorkloadID]*acc{}
	for g := T.Add(-window); g.Before(T); g = g.Add(15 * time.Second) {
		for id, ms := range index(s.At(g)) {
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
	now := index(s.At(T))
	out := map[sources.WorkloadID]windowTruth{}
	for id, a := range accs {
		w := windowTruth{rps: a.rps / a.n, cpu: a.cpu / a.n}
		for _, p := range append(a.pods, now[id][sources.ReplicasCurrent]) {
			w.podsChanged = w.podsChanged || p != a.pods[0]
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

// TestScrapeMatchesSimulator serves the simulator through the project's
// real exporter, scrapes it across a window with a stepped clock, and
// compares perch's scrape-mode numbers with the simulator's ground truth.
func TestScrapeMatchesSimulator(t *testing.T) {
	// Mid-hour, and across the exporter's hourly restart (every counter
	// resets and every pod is replaced inside the window).
	for _, start := range []time.Duration{20 * time.Minute, 59 * time.Minute} {
		t.Run(start.String(), func(t *testing.T) { checkAgainstSimulator(t, epoch.Add(start)) })
	}
}

func checkAgainstSimulator(t *testing.T, start time.Time) {
	clock := &fakeClock{t: epoch}
	s, err := sim.New(sim.Config{Start: epoch, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(promexport.NewHandler(s, clock.Now))
	defer srv.Close()
	prices := cost.Defaults()
	src, err := New(Config{Targets: []string{srv.URL + "/metrics"}, Cluster: "demo", Clock: clock.Now, Prices: prices})
	if err != nil {
		t.Fatal(err)
	}
	// 9 scrapes fill the 2 m window.
	var u sources.Update
	for T := start; !T.After(start.Add(DefaultWindow)); T = T.Add(15 * time.Second) {
		clock.Set(T)
		u = src.Poll(context.Background())
		if u.Err != nil {
			t.Fatalf("round at %v: %v", T, u.Err)
		}
	}
	T := clock.Now()
	if !u.Full || !u.Complete {
		t.Fatalf("update not full/complete: %+v", u)
	}
	got, want := index(u.Samples), index(s.At(T))
	truth := truthOverWindow(s, T, DefaultWindow)
	kinds := map[sources.WorkloadID]sources.Workload{}
	for _, w := range u.Workloads {
		kinds[w.ID] = w
	}
	checked, worstRPS, worstCost := 0, 0.0, 0.0
	for _, w := range s.Workloads() {
		if w.Platform != sources.Kubernetes && w.Platform != sources.OpenFaaS {
			continue // Knative and Lambda presets are not in scrape mode yet
		}
		id := w.ID
		gw, ok := kinds[id]
		if !ok {
			t.Errorf("%s missing from the inventory", id)
			continue
		}
		if gw.Platform != w.Platform || gw.Kind != w.Kind {
			t.Errorf("%s is %s/%s, want %s/%s", id, gw.Platform, gw.Kind, w.Platform, w.Kind)
		}
		for _, m := range []sources.Metric{sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady, sources.ReplicasMin, sources.ReplicasMax, sources.CPURequest, sources.MemRequest, sources.MemUsage} {
			wv, wok := want[id][m]
			gv, gok := got[id][m]
			if w.Platform == sources.OpenFaaS && (m == sources.ReplicasMin || m == sources.ReplicasMax) {
				continue // OpenFaaS scale bounds are function labels, not metrics the exporter has
			}
			checked++
			if wok != gok || (wok && !near(gv, wv, 1e-9)) {
				t.Errorf("%s %s = %v (%v), want %v (%v)", id, m, gv, gok, wv, wok)
			}
		}
		tr := truth[id]
		if tr.rps > 0 {
			checked++
			gv := got[id][sources.RequestRate]
			worstRPS = math.Max(worstRPS, math.Abs(gv-tr.rps)/tr.rps)
			if !near(gv, tr.rps, 0.02) {
				t.Errorf("%s requests_per_second = %v, window mean %v", id, gv, tr.rps)
			}
			if ge := got[id][sources.ErrorRatio]; math.Abs(ge-tr.errRatio) > 0.002 {
				t.Errorf("%s error_ratio = %v, window %v", id, ge, tr.errRatio)
			}
		}
		if !tr.podsChanged && tr.cpu > 0 {
			checked++
			if gv := got[id][sources.CPUUsage]; !near(gv, tr.cpu, 0.02) {
				t.Errorf("%s cpu_usage = %v, window mean %v", id, gv, tr.cpu)
			}
		}
		if bounds := promexport.Buckets(w.Platform); bounds != nil && tr.hasP95 {
			checked++
			gv, ok := got[id][sources.LatencyP95]
			if !ok {
				t.Errorf("%s latency_p95 missing, window p95 %v", id, tr.p95)
			} else if d := bucketIndex(gv, bounds) - bucketIndex(tr.p95, bounds); d < -1 || d > 1 {
				t.Errorf("%s latency_p95 = %v s, window p95 %v s: %d buckets apart", id, gv, tr.p95, d)
			}
		}
		// Cost: the OpenCost rule on the exact requests and memory and the
		// window's CPU usage, within 2 %.
		cpuUse := tr.cpu
		if tr.podsChanged {
			cpuUse = got[id][sources.CPUUsage]
		}
		wantCost := prices.KubeHourly(want[id][sources.CPURequest], cpuUse, want[id][sources.MemRequest], want[id][sources.MemUsage])
		checked++
		gc, ok := got[id][sources.CostRate]
		if !ok || !near(gc, wantCost, 0.02) {
			t.Errorf("%s cost = %v $/h, want %v (within 2%%)", id, gc, wantCost)
		}
		if sc := want[id][sources.CostRate]; sc > 0 {
			worstCost = math.Max(worstCost, math.Abs(gc-sc)/sc)
		}
	}
	if checked < 50 {
		t.Fatalf("only %d values checked", checked)
	}
	t.Logf("%d values checked; req/s vs window mean worst %.3f%%; cost vs simulator's instant figure worst %.2f%%", checked, worstRPS*100, worstCost*100)
}
