package sim

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
)

var epoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func newSim(t testing.TB, cfg Config) *Sim {
	t.Helper()
	if cfg.Start.IsZero() {
		cfg.Start = epoch
	}
	if cfg.Clock == nil {
		now := epoch.Add(30 * time.Hour)
		cfg.Clock = func() time.Time { return now }
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Sim) mustID(t testing.TB, name string) sources.WorkloadID {
	t.Helper()
	for _, w := range s.Workloads() {
		if w.ID.Name == name {
			return w.ID
		}
	}
	t.Fatalf("no workload %q", name)
	return sources.WorkloadID{}
}

// values indexes samples by workload name.
func values(samples []sources.Sample) map[string]map[sources.Metric]float64 {
	out := map[string]map[sources.Metric]float64{}
	for _, x := range samples {
		m := out[x.ID.Name]
		if m == nil {
			m = map[sources.Metric]float64{}
			out[x.ID.Name] = m
		}
		m[x.Metric] = x.V
	}
	return out
}

// series is one metric of one workload via Range (checked against At in
// TestRangeAndPodsAgreeWithAt).
func series(t testing.TB, s *Sim, name string, m sources.Metric, from, to time.Time, step time.Duration) []sources.Sample {
	t.Helper()
	out, err := s.Range(context.Background(), sources.RangeQuery{ID: s.mustID(t, name), Metric: m, Start: from, End: to, Step: step})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func at(t testing.TB, s *Sim, name string, m sources.Metric, ts time.Time) float64 {
	t.Helper()
	v := series(t, s, name, m, ts, ts, time.Second)
	if len(v) != 1 {
		t.Fatalf("%s %s at %v: no value", name, m, ts)
	}
	return v[0].V
}

func TestDeterminism(t *testing.T) {
	for _, n := range []int{0, 300} {
		a := newSim(t, Config{Seed: 7, Workloads: n})
		b := newSim(t, Config{Seed: 7, Workloads: n})
		c := newSim(t, Config{Seed: 8, Workloads: n})
		if !reflect.DeepEqual(a.Workloads(), b.Workloads()) {
			t.Fatal("same seed, different inventory")
		}
		times := []time.Time{epoch.Add(3 * time.Hour), epoch.Add(14*time.Hour + 11*time.Minute + 7*time.Second), epoch.Add(-5 * time.Hour)}
		for _, ts := range times {
			if !reflect.DeepEqual(a.At(ts), b.At(ts)) {
				t.Fatalf("n=%d: same seed and t, different samples at %v", n, ts)
			}
		}
		// Order of calls does not matter: no hidden state.
		late := a.At(times[1])
		_ = a.At(times[0])
		if !reflect.DeepEqual(late, a.At(times[1])) {
			t.Fatalf("n=%d: At depends on call history", n)
		}
		x, y := a.At(times[1]), c.At(times[1])
		differ := len(x) != len(y)
		for i := 0; !differ && i < len(x); i++ {
			differ = x[i].V != y[i].V
		}
		if !differ {
			t.Fatalf("n=%d: different seeds gave identical samples", n)
		}
	}
}

func TestInventory(t *testing.T) {
	s := newSim(t, Config{})
	ws := s.Workloads()
	ns := map[string]int{}
	platforms := map[sources.Platform]int{}
	for _, w := range ws {
		if w.ID.Cluster != "demo" {
			t.Errorf("%s: cluster %q", w.ID, w.ID.Cluster)
		}
		platforms[w.Platform]++
		if w.Platform == sources.Kubernetes {
			ns[w.ID.Namespace]++
		} else if w.MemoryMB <= 0 || w.Runtime == "" || w.Kind != sources.Function {
			t.Errorf("%s: function without memory/runtime/kind: %+v", w.ID, w)
		}
	}
	if platforms[sources.Kubernetes] < 12 || len(ns) < 3 {
		t.Errorf("want >=12 Kubernetes workloads in >=3 namespaces, got %d in %v", platforms[sources.Kubernetes], ns)
	}
	if fns := len(ws) - platforms[sources.Kubernetes]; fns < 10 || platforms[sources.Knative] == 0 || platforms[sources.OpenFaaS] == 0 || platforms[sources.Lambda] == 0 {
		t.Errorf("want >=10 functions on Knative, OpenFaaS and Lambda, got %v", platforms)
	}
	if got := values(s.At(epoch.Add(10 * time.Hour))); len(got) != len(ws) {
		t.Errorf("At covers %d of %d workloads", len(got), len(ws))
	}
	if s.Name() != "demo" {
		t.Errorf("Name = %q", s.Name())
	}
}

func TestScaleMode(t *testing.T) {
	s := newSim(t, Config{Workloads: MaxWorkloads, Cluster: "big"})
	ws := s.Workloads()
	if len(ws) != MaxWorkloads {
		t.Fatalf("got %d workloads", len(ws))
	}
	ns := map[string]bool{}
	platforms := map[sources.Platform]bool{}
	kinds := map[sources.Kind]bool{}
	seen := map[sources.WorkloadID]bool{}
	for _, w := range ws {
		if seen[w.ID] || w.ID.Cluster != "big" {
			t.Fatalf("bad or duplicate id %v", w.ID)
		}
		seen[w.ID] = true
		ns[w.ID.Namespace], platforms[w.Platform], kinds[w.Kind] = true, true, true
	}
	if len(ns) < 18 || len(platforms) != 4 || len(kinds) != 4 {
		t.Errorf("want ~20 namespaces, 4 platforms and 4 kinds, got %d, %v, %v", len(ns), platforms, kinds)
	}
	// At itself is exercised in scale mode by the invariant and determinism
	// tests and the benchmarks.
}

func TestHPAFollowsLoadWithLag(t *testing.T) {
	s := newSim(t, Config{})
	for _, name := range []string{"frontend", "catalog", "ingress-nginx"} {
		night := at(t, s, name, sources.ReplicasCurrent, epoch.Add(4*time.Hour))
		peak := at(t, s, name, sources.ReplicasCurrent, epoch.Add(16*time.Hour))
		if !(peak > night) {
			t.Errorf("%s: replicas at peak %v not above night %v", name, peak, night)
		}
		if min := at(t, s, name, sources.ReplicasMin, epoch); night < min {
			t.Errorf("%s: %v replicas below min %v", name, night, min)
		}
	}

	inc, _ := s.IncidentWindow(epoch.Add(12 * time.Hour))
	if want := epoch.Add(14*time.Hour + 5*time.Minute); !inc.Equal(want) {
		t.Fatalf("incident at %v, want %v", inc, want)
	}
	for _, name := range []string{"checkout", "frontend"} {
		before := at(t, s, name, sources.ReplicasDesired, inc.Add(-30*time.Second))
		// The metrics pipeline lags: nothing happens in the first 30 s.
		if early := at(t, s, name, sources.ReplicasDesired, inc.Add(30*time.Second)); early > before {
			t.Errorf("%s: desired replicas reacted without lag: %v -> %v", name, before, early)
		}
		var rose time.Duration
		for _, x := range series(t, s, name, sources.ReplicasDesired, inc, inc.Add(3*time.Minute), 15*time.Second) {
			if x.V > before {
				rose = x.T.Sub(inc)
				break
			}
		}
		if rose == 0 {
			t.Errorf("%s: desired replicas did not rise above %v within 3 min of the incident", name, before)
		} else {
			t.Logf("%s: scaled out %v after the incident began (from %v)", name, rose, before)
		}
	}

	// While scaling, desired, current and ready differ; ready never exceeds current.
	d := series(t, s, "checkout", sources.ReplicasDesired, inc, inc.Add(6*time.Minute), 5*time.Second)
	c := series(t, s, "checkout", sources.ReplicasCurrent, inc, inc.Add(6*time.Minute), 5*time.Second)
	r := series(t, s, "checkout", sources.ReplicasReady, inc, inc.Add(6*time.Minute), 5*time.Second)
	var desiredAhead, readyBehind bool
	for i := range d {
		desiredAhead = desiredAhead || d[i].V > c[i].V
		readyBehind = readyBehind || r[i].V < c[i].V
		if r[i].V > c[i].V {
			t.Fatalf("ready %v > current %v at %v", r[i].V, c[i].V, r[i].T)
		}
	}
	if !desiredAhead || !readyBehind {
		t.Errorf("scaling without lag: desired ahead of current %v, ready behind current %v", desiredAhead, readyBehind)
	}
}

func TestIncident(t *testing.T) {
	s := newSim(t, Config{})
	for day := range 2 {
		inc, end := s.IncidentWindow(epoch.Add(time.Duration(day)*24*time.Hour + 13*time.Hour))
		if end.Sub(inc) != 20*time.Minute {
			t.Fatalf("incident lasts %v", end.Sub(inc))
		}
		during, before := inc.Add(10*time.Minute), inc.Add(-30*time.Minute)
		p99 := at(t, s, "payments", sources.LatencyP99, during)
		base := at(t, s, "payments", sources.LatencyP99, before)
		if p99 < 4*base {
			t.Errorf("day %d: payments p99 %.3fs during the incident, %.3fs before: want >= 4x", day, p99, base)
		}
		for _, name := range []string{"checkout", "frontend"} {
			if d, b := at(t, s, name, sources.LatencyP99, during), at(t, s, name, sources.LatencyP99, before); d < 1.5*b {
				t.Errorf("day %d: %s p99 %.3fs during the incident vs %.3fs before: no spike", day, name, d, b)
			}
		}
		if d, b := at(t, s, "checkout", sources.ErrorRatio, during), at(t, s, "checkout", sources.ErrorRatio, before); d < 3*b {
			t.Errorf("day %d: checkout error ratio %.4f during vs %.4f before", day, d, b)
		}
		if after := at(t, s, "payments", sources.LatencyP99, end.Add(5*time.Minute)); after > 2*base {
			t.Errorf("day %d: payments still slow after the incident: %.3fs", day, after)
		}
	}
}

func TestKnativeScaleToZeroAndColdStart(t *testing.T) {
	s := newSim(t, Config{})
	for _, name := range []string{"thumbnailer", "ml-infer"} {
		from, to := epoch, epoch.Add(12*time.Hour)
		step := 15 * time.Second
		cur := series(t, s, name, sources.ReplicasCurrent, from, to, step)
		costs := series(t, s, name, sources.CostRate, from, to, step)
		cold := series(t, s, name, sources.ColdStarts, from, to, step)
		if len(cur) != len(costs) || len(cur) != len(cold) {
			t.Fatal("series of different lengths")
		}
		idle, coldAfterIdle := false, false
		for i := range cur {
			if cur[i].V == 0 {
				if costs[i].V != 0 {
					t.Fatalf("%s: zero replicas but cost %v at %v", name, costs[i].V, cur[i].T)
				}
				idle = true
				continue
			}
			if idle && i > 0 && cur[i-1].V == 0 {
				// scale-up from zero: cold starts reported within the minute
				for j := i; j < min(i+4, len(cold)); j++ {
					if cold[j].V > 0 {
						coldAfterIdle = true
					}
				}
				if !coldAfterIdle {
					t.Fatalf("%s: scaled from zero at %v without cold starts", name, cur[i].T)
				}
			}
		}
		if !idle || !coldAfterIdle {
			t.Errorf("%s: idle period %v, cold start after it %v", name, idle, coldAfterIdle)
		}
	}
	// Kubernetes workloads report no cold starts or concurrency.
	got := values(s.At(epoch.Add(9 * time.Hour)))
	for _, name := range []string{"frontend", "postgres", "node-exporter"} {
		if _, ok := got[name][sources.ColdStarts]; ok {
			t.Errorf("%s reports cold starts", name)
		}
		if _, ok := got[name][sources.Concurrency]; ok {
			t.Errorf("%s reports concurrency", name)
		}
	}
}

func TestFixedReplicas(t *testing.T) {
	s := newSim(t, Config{})
	from, to := epoch.Add(-2*time.Hour), epoch.Add(26*time.Hour)
	for name, want := range map[string]float64{"postgres": 3, "redis": 3, "node-exporter": 6, "prometheus": 2} {
		for _, m := range []sources.Metric{sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady} {
			for _, x := range series(t, s, name, m, from, to, 7*time.Minute) {
				if x.V != want {
					t.Fatalf("%s %s = %v at %v, want %v", name, m, x.V, x.T, want)
				}
			}
		}
	}
	pods := s.PodsAt(s.mustID(t, "node-exporter"), epoch.Add(5*time.Hour))
	nodes := map[string]bool{}
	for _, p := range pods {
		nodes[p.Node] = true
	}
	if len(pods) != 6 || len(nodes) != 6 || !nodes["node-1"] || !nodes["node-6"] {
		t.Errorf("node-exporter pods not one per node: %d pods on %v", len(pods), nodes)
	}
	pg := s.PodsAt(s.mustID(t, "postgres"), epoch.Add(5*time.Hour))
	if len(pg) != 3 || pg[0].Name != "postgres-0" || pg[2].Name != "postgres-2" {
		t.Errorf("postgres pods: %+v", pg)
	}
}

func TestCostMatchesPricing(t *testing.T) {
	prices := cost.Defaults()
	prices.CPUHour *= 2 // a custom price table is honoured
	s := newSim(t, Config{Prices: prices})
	rng := rand.New(rand.NewPCG(3, 4))
	kinds := map[sources.Platform]int{}
	for range 40 {
		ts := epoch.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		got := values(s.At(ts))
		for _, w := range s.Workloads() {
			v := got[w.ID.Name]
			c, ok := v[sources.CostRate]
			if !ok {
				t.Fatalf("%s: no cost", w.ID.Name)
			}
			var want, tol float64
			if w.Platform == sources.Lambda {
				rps, conc := v[sources.RequestRate], v[sources.Concurrency]
				if rps == 0 {
					if c != 0 || conc != 0 {
						t.Fatalf("%s: idle Lambda costs %v", w.ID.Name, c)
					}
					continue
				}
				want = prices.LambdaHourly(rps, conc/rps, w.MemoryMB)
				// the recomputed duration may round to the next millisecond
				tol = rps * 3600 * 0.001 * w.MemoryMB / 1024 * prices.LambdaGBSecond
				if v[sources.MemRequest] != w.MemoryMB*mib {
					t.Fatalf("%s: MemRequest %v, want %v MiB", w.ID.Name, v[sources.MemRequest], w.MemoryMB)
				}
			} else {
				want = prices.KubeHourly(v[sources.CPURequest], v[sources.CPUUsage], v[sources.MemRequest], v[sources.MemUsage])
				if cur := v[sources.ReplicasCurrent]; cur == 0 && c != 0 {
					t.Fatalf("%s: no pods but cost %v", w.ID.Name, c)
				}
			}
			if math.Abs(c-want) > tol+1e-12*math.Max(1, want) {
				t.Fatalf("%s at %v: cost %v, pricing formula gives %v", w.ID.Name, ts, c, want)
			}
			if c > 0 {
				kinds[w.Platform]++
			}
		}
	}
	if len(kinds) != 4 {
		t.Errorf("no non-zero cost seen on some platform: %v", kinds)
	}
	// Knative pods pay for the queue-proxy sidecar too.
	got := values(s.At(epoch.Add(16 * time.Hour)))
	if v := got["thumbnailer"]; v[sources.ReplicasCurrent] > 0 {
		perPod := v[sources.CPURequest] / v[sources.ReplicasCurrent]
		if math.Abs(perPod-(0.5+queueProxyCPU)) > 1e-9 {
			t.Errorf("thumbnailer CPU request per pod %v, want 0.5 + queue-proxy", perPod)
		}
	} else {
		t.Error("thumbnailer idle at 16:00")
	}
}

func TestInvariantsAtRandomInstants(t *testing.T) {
	for _, n := range []int{0, 200} {
		s := newSim(t, Config{Workloads: n, Seed: 11})
		rng := rand.New(rand.NewPCG(1, 2))
		withLatency := 0
		for range 100 {
			ts := epoch.Add(time.Duration(rng.Int64N(int64(72*time.Hour))) - 24*time.Hour)
			for name, v := range values(s.At(ts)) {
				p50, ok50 := v[sources.LatencyP50]
				p95, ok95 := v[sources.LatencyP95]
				p99, ok99 := v[sources.LatencyP99]
				if ok50 != ok95 || ok95 != ok99 {
					t.Fatalf("%s: partial latency", name)
				}
				if rps := v[sources.RequestRate]; rps < 0 || math.IsNaN(rps) || ok50 != (rps > 0) {
					t.Fatalf("%s at %v: rps %v with latency %v", name, ts, rps, ok50)
				}
				if ok50 {
					withLatency++
					if !(p50 > 0 && p50 <= p95 && p95 <= p99) || math.IsInf(p99, 0) {
						t.Fatalf("%s at %v: p50 %v p95 %v p99 %v", name, ts, p50, p95, p99)
					}
					if e := v[sources.ErrorRatio]; !(e >= 0 && e <= 1) {
						t.Fatalf("%s: error ratio %v", name, e)
					}
				}
				d, c, r := v[sources.ReplicasDesired], v[sources.ReplicasCurrent], v[sources.ReplicasReady]
				if r > c || r < 0 || d < 0 {
					t.Fatalf("%s at %v: desired %v current %v ready %v", name, ts, d, c, r)
				}
				if lo, ok := v[sources.ReplicasMin]; ok && (d < lo || d > v[sources.ReplicasMax]) {
					t.Fatalf("%s: desired %v outside [%v, %v]", name, d, lo, v[sources.ReplicasMax])
				}
				for m, x := range v {
					if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
						t.Fatalf("%s: %s = %v", name, m, x)
					}
				}
			}
		}
		if withLatency == 0 {
			t.Fatal("no latency seen")
		}
	}
}

func TestNightlyReport(t *testing.T) {
	s := newSim(t, Config{})
	day := epoch.Add(24 * time.Hour)
	if c := at(t, s, "nightly-report", sources.CostRate, day.Add(12*time.Hour)); c != 0 {
		t.Errorf("nightly-report costs %v at noon", c)
	}
	if c := at(t, s, "nightly-report", sources.CostRate, day.Add(2*time.Hour+10*time.Minute)); c <= 0 {
		t.Errorf("nightly-report idle during its run")
	}
	cold := series(t, s, "nightly-report", sources.ColdStarts, day.Add(2*time.Hour), day.Add(2*time.Hour+2*time.Minute), 15*time.Second)
	var n float64
	for _, x := range cold {
		n = math.Max(n, x.V)
	}
	if n < 10 {
		t.Errorf("nightly-report burst with at most %v cold starts per minute", n)
	}
}

func TestRangeAndPodsAgreeWithAt(t *testing.T) {
	s := newSim(t, Config{})
	inc, _ := s.IncidentWindow(epoch)
	for _, ts := range []time.Time{inc.Add(-time.Minute), inc.Add(2*time.Minute + 3*time.Second), epoch.Add(3*time.Hour + 17*time.Second)} {
		all := s.At(ts)
		byID := map[sources.WorkloadID]map[sources.Metric]float64{}
		for _, x := range all {
			if byID[x.ID] == nil {
				byID[x.ID] = map[sources.Metric]float64{}
			}
			byID[x.ID][x.Metric] = x.V
		}
		for _, w := range s.Workloads() {
			for m := range sources.NumMetrics {
				r, err := s.Range(context.Background(), sources.RangeQuery{ID: w.ID, Metric: m, Start: ts, End: ts, Step: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				want, ok := byID[w.ID][m]
				if ok != (len(r) == 1) || (ok && r[0].V != want) {
					t.Fatalf("%s %s at %v: Range %v, At %v (%v)", w.ID.Name, m, ts, r, want, ok)
				}
			}
			pods := s.PodsAt(w.ID, ts)
			ready := 0
			var cpu float64
			for _, p := range pods {
				if p.Ready {
					ready++
				}
				cpu += p.CPUUsage
			}
			v := byID[w.ID]
			if float64(len(pods)) != v[sources.ReplicasCurrent] || float64(ready) != v[sources.ReplicasReady] {
				t.Fatalf("%s: %d pods, %d ready; At says %v/%v", w.ID.Name, len(pods), ready, v[sources.ReplicasCurrent], v[sources.ReplicasReady])
			}
			if u, ok := v[sources.CPUUsage]; ok && math.Abs(cpu-u) > 1e-9*math.Max(1, u) {
				t.Fatalf("%s: pod CPU sums to %v, workload %v", w.ID.Name, cpu, u)
			}
		}
	}
}

func TestPods(t *testing.T) {
	s := newSim(t, Config{})
	id := s.mustID(t, "checkout")
	inc, _ := s.IncidentWindow(epoch)
	sawPending, sawNotReady := false, false
	for ts := inc; ts.Before(inc.Add(5 * time.Minute)); ts = ts.Add(10 * time.Second) {
		pods := s.PodsAt(id, ts)
		if !reflect.DeepEqual(pods, s.PodsAt(id, ts)) {
			t.Fatal("PodsAt not deterministic")
		}
		names := map[string]bool{}
		for i, p := range pods {
			if names[p.Name] || !strings.HasPrefix(p.Name, "checkout-") || len(strings.Split(p.Name, "-")) != 3 {
				t.Fatalf("bad or duplicate pod name %q", p.Name)
			}
			names[p.Name] = true
			if p.Created.After(ts) || p.Owner != id || !strings.HasPrefix(p.Node, "node-") || p.CPURequest != 0.25 {
				t.Fatalf("bad pod at %v: %+v", ts, p)
			}
			switch {
			case p.Ready && p.Phase != sources.PodRunning:
				t.Fatalf("ready pod in phase %s", p.Phase)
			case p.Phase == sources.PodPending:
				sawPending = true
			case !p.Ready:
				sawNotReady = true
			}
			// The pod appeared when the replica count first covered it.
			if p.Created.After(epoch) {
				if c := at(t, s, "checkout", sources.ReplicasCurrent, p.Created.Add(-time.Second)); c > float64(i) {
					t.Fatalf("pod %d created at %v but %v replicas existed just before", i, p.Created, c)
				}
			}
		}
		// Pods that still exist 15 s later are the same pods.
		later := map[string]time.Time{}
		for _, p := range s.PodsAt(id, ts.Add(15*time.Second)) {
			later[p.Name] = p.Created
		}
		for _, p := range pods {
			if c, ok := later[p.Name]; ok && !c.Equal(p.Created) {
				t.Fatalf("pod %s changed its creation time", p.Name)
			}
		}
	}
	if !sawPending || !sawNotReady {
		t.Errorf("scale-out without pending (%v) or not-ready running (%v) pods", sawPending, sawNotReady)
	}
	if _, err := s.Pods(context.Background(), sources.WorkloadID{Cluster: "demo", Namespace: "x", Name: "y"}); err == nil {
		t.Error("Pods of an unknown workload: no error")
	}
	if p, err := s.Pods(context.Background(), s.mustID(t, "order-events")); err != nil || len(p) == 0 || p[0].MemRequest != 256*mib {
		t.Errorf("Lambda instances: %v %+v", err, p)
	}
}

func TestTraces(t *testing.T) {
	s := newSim(t, Config{})
	inc, _ := s.IncidentWindow(epoch)
	ctx := context.Background()
	slowest := func(trs []sources.Trace, service string) time.Duration {
		var d time.Duration
		for _, tr := range trs {
			for _, sp := range tr.Spans {
				if sp.Service == service {
					d = max(d, sp.Duration)
				}
			}
		}
		return d
	}
	for _, name := range []string{"payments", "checkout"} {
		id := s.mustID(t, name)
		q := sources.TraceQuery{ID: id, Start: inc.Add(2 * time.Minute), End: inc.Add(12 * time.Minute), Limit: 30}
		during, err := s.Traces(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := s.Traces(ctx, q)
		if !reflect.DeepEqual(during, again) {
			t.Fatal("traces not deterministic")
		}
		q.Start, q.End = inc.Add(-40*time.Minute), inc.Add(-30*time.Minute)
		before, err := s.Traces(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(during) != 30 || len(before) != 30 {
			t.Fatalf("%s: got %d and %d traces, want the limit", name, len(during), len(before))
		}
		if d, b := slowest(during, "bank-gateway"), slowest(before, "bank-gateway"); d < 3*b || b == 0 {
			t.Errorf("%s: slowest bank-gateway span %v during the incident, %v before", name, d, b)
		}
		for _, tr := range append(during, before...) {
			if tr.RootService != name || tr.Spans[0].ParentID != "" || tr.Duration != tr.Spans[0].Duration || tr.Start.Before(q.Start.Add(-time.Hour)) {
				t.Fatalf("bad trace %+v", tr)
			}
			spans := map[string]sources.Span{}
			for i, sp := range tr.Spans {
				if i > 0 && sp.Start.Before(tr.Spans[i-1].Start) {
					t.Fatal("spans not in start order")
				}
				if sp.ParentID != "" {
					p, ok := spans[sp.ParentID]
					if !ok || sp.Start.Before(p.Start) || sp.Start.Add(sp.Duration).After(p.Start.Add(p.Duration)) {
						t.Fatalf("span %s/%s outside its parent", sp.Service, sp.Operation)
					}
				}
				spans[sp.ID] = sp
			}
		}
	}
	// MinDuration filters; the root duration matches the latency model.
	id := s.mustID(t, "frontend")
	all, err := s.Traces(ctx, sources.TraceQuery{ID: id, Start: epoch.Add(10 * time.Hour), End: epoch.Add(11 * time.Hour), Limit: 200})
	if err != nil || len(all) < 100 {
		t.Fatalf("frontend traces: %v, %d", err, len(all))
	}
	slow, _ := s.Traces(ctx, sources.TraceQuery{ID: id, Start: epoch.Add(10 * time.Hour), End: epoch.Add(11 * time.Hour), Limit: 200, MinDuration: 200 * time.Millisecond})
	for _, tr := range slow {
		if tr.Duration < 200*time.Millisecond {
			t.Fatal("MinDuration ignored")
		}
	}
	if len(slow) == 0 || len(slow) >= len(all) {
		t.Errorf("MinDuration kept %d of %d traces", len(slow), len(all))
	}
	p99 := at(t, s, "frontend", sources.LatencyP99, epoch.Add(10*time.Hour+30*time.Minute))
	if frac := float64(len(slow)) / float64(len(all)); p99 > 0.2 && frac < 0.01 {
		t.Errorf("p99 %vs but only %.3f of traces over 200ms", p99, frac)
	}
	if _, err := s.Traces(ctx, sources.TraceQuery{ID: sources.WorkloadID{Name: "nope"}}); err == nil {
		t.Error("unknown workload: no error")
	}
}

// fakeClock advances by step on every call.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func TestRun(t *testing.T) {
	clk := &fakeClock{now: epoch.Add(20 * time.Hour), step: 2 * time.Second}
	s := newSim(t, Config{Clock: clk.Now, History: 3 * time.Hour, Interval: time.Millisecond})
	nw := len(s.Workloads())
	now := epoch.Add(20*time.Hour + 2*time.Second) // the first Clock() call
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan sources.Update)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()

	first := <-out
	if !first.Full || len(first.Workloads) != nw || first.Source != "demo" || len(first.Samples) != 0 {
		t.Fatalf("first update: full %v, %d workloads", first.Full, len(first.Workloads))
	}
	var oldest, newestBackfill time.Time
	times := map[time.Time]bool{}
	live := 0
	var lastLive time.Time
	chunks, completes := 0, 0
	for live < 3 {
		u := <-out
		if u.Err != nil || u.Full || len(u.Workloads) != 0 {
			t.Fatalf("unexpected update %+v", u)
		}
		if u.Complete {
			// Marks the end of a live round: it must follow that round's samples.
			if len(u.Samples) != 0 || live == 0 || !u.At.Equal(lastLive) {
				t.Fatalf("complete marker %+v after live round at %v", u, lastLive)
			}
			completes++
			continue
		}
		if len(u.Samples) == 0 || len(u.Samples) > MaxChunk {
			t.Fatalf("update with %d samples", len(u.Samples))
		}
		ts := u.Samples[0].T
		if ts.Before(now) {
			chunks++
			for _, x := range u.Samples {
				if oldest.IsZero() || x.T.Before(oldest) {
					oldest = x.T
				}
				if x.T.After(newestBackfill) {
					newestBackfill = x.T
				}
				times[x.T] = true
			}
			continue
		}
		if !newestBackfill.IsZero() && live == 0 {
			if newestBackfill.Before(now.Add(-FineStep)) || oldest.After(now.Add(-3*time.Hour)) {
				t.Fatalf("backfill covers %v..%v, want %v..%v", oldest, newestBackfill, now.Add(-3*time.Hour), now)
			}
		}
		if !ts.After(lastLive) {
			t.Fatalf("live round at %v after %v", ts, lastLive)
		}
		if !ts.Equal(u.At) {
			t.Fatalf("live samples at %v, update at %v", ts, u.At)
		}
		lastLive = ts
		live++
	}
	if newestBackfill.IsZero() {
		t.Fatal("no backfill")
	}
	if completes != 2 {
		t.Fatalf("%d complete markers before the third live round, want 2", completes)
	}
	if chunks < 2 {
		t.Errorf("backfill of %d instants in %d update(s)", len(times), chunks)
	}
	// 2 h at 5 min plus 1 h at 15 s.
	if n := len(times); n < 24+240 || n > 25+241 {
		t.Errorf("backfill at %d instants", n)
	}
	if !times[now.Add(-2*time.Hour).Truncate(CoarseStep)] || !times[now.Add(-30*time.Minute).Truncate(FineStep)] {
		t.Error("backfill instants not on the 5 min / 15 s grid")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestRunReturnsWhenNobodyReads(t *testing.T) {
	before := runtime.NumGoroutine()
	s := newSim(t, Config{History: time.Hour, Interval: time.Millisecond})
	for _, delay := range []time.Duration{0, 5 * time.Millisecond} {
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan sources.Update) // never read
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, out) }()
		time.Sleep(delay)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Run blocked on an unread channel after cancel")
		}
	}
	// Run reading a few updates, then abandoned mid-backfill.
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan sources.Update)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, out) }()
	<-out
	<-out
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left, %d before", n, before)
	}
}

func TestConfig(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Workloads: -1}, "Workloads"},
		{Config{Workloads: MaxWorkloads + 1}, "Workloads"},
		{Config{Interval: -time.Second}, "Interval"},
		{Config{History: -time.Hour}, "History"},
		{Config{History: MaxHistory + time.Hour}, "History"},
		{Config{Prices: cost.Prices{CPUHour: -1}}, "CPUHour"},
		{Config{Prices: cost.Prices{GiBHour: math.NaN()}}, "GiBHour"},
	}
	for _, c := range bad {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error about %s", c.cfg, err, c.want)
		}
	}
	now := time.Date(2026, 5, 4, 13, 14, 15, 0, time.UTC)
	s, err := New(Config{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Start().Equal(time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("default start %v", s.Start())
	}
	if s.cfg.Interval != 2*time.Second || s.cfg.History != 24*time.Hour || s.cfg.Seed != 1 || s.prices != cost.Defaults() {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
	if s.Workloads()[0].ID.Cluster != "demo" {
		t.Errorf("default cluster %q", s.Workloads()[0].ID.Cluster)
	}
	if err := s.CheckHealth(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := newSim(t, Config{})
	id := s.mustID(t, "frontend")
	ts := epoch.Add(14*time.Hour + 9*time.Minute)
	want := s.At(ts)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 5 {
				if got := s.At(ts); !reflect.DeepEqual(got, want) {
					t.Error("concurrent At differs")
				}
				s.PodsAt(id, ts.Add(time.Duration(i)*time.Second))
				if _, err := s.Traces(context.Background(), sources.TraceQuery{ID: id, End: ts, Limit: 3}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

func TestAllPodsIsEveryWorkloadsPods(t *testing.T) {
	s := newSim(t, Config{})
	at := s.clock()
	all, err := s.AllPods(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, w := range s.Workloads() {
		want += len(s.PodsAt(w.ID, at))
	}
	if len(all) != want || want == 0 {
		t.Fatalf("AllPods = %d pods, the workloads have %d", len(all), want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.AllPods(ctx); err == nil {
		t.Error("a cancelled request must fail")
	}
}

func TestEventsFollowTheIncident(t *testing.T) {
	s := newSim(t, Config{})
	id := s.mustID(t, "payments")
	w := s.index[id]
	start, end := s.IncidentWindow(epoch.Add(30 * time.Hour))
	if ev := s.EventsAt(w, start.Add(-time.Minute)); len(ev) != 0 {
		t.Fatalf("warnings before the incident: %+v", ev)
	}
	during := s.EventsAt(w, start.Add(5*time.Minute))
	if len(during) == 0 || during[0].Reason != "Unhealthy" || !strings.Contains(during[0].Message, "Readiness probe failed") {
		t.Fatalf("no readiness warnings during the incident: %+v", during)
	}
	pods := map[string]bool{}
	for _, p := range s.PodsAt(id, start.Add(5*time.Minute)) {
		pods["Pod/"+p.Name] = true
	}
	for _, e := range during {
		if !pods[e.Object] {
			t.Errorf("warning about %s, which is not a pod of payments then", e.Object)
		}
	}
	later := s.EventsAt(w, end.Add(10*time.Minute))
	if len(later) == 0 || later[0].Count <= during[0].Count || !later[0].Last.Equal(end) {
		t.Fatalf("after the incident the count must have grown and stopped at its end: during %+v, later %+v", during[0], later)
	}
	if ev := s.EventsAt(w, start.Add(eventWindow+time.Minute)); len(ev) != 0 {
		t.Fatalf("warnings listed past the event window: %+v", ev)
	}
	if ev := s.EventsAt(s.index[s.mustID(t, "catalog")], start.Add(5*time.Minute)); len(ev) != 0 {
		t.Fatalf("a workload untouched by the incident has warnings: %+v", ev)
	}
}
