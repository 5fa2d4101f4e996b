package prometheus

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRefresh1000 is one refresh round for 1,000 workloads in the
// simulator's scale-mode mix (64 % Kubernetes with Istio, 12 % Knative,
// 8 % OpenFaaS, 16 % Lambda) against a fake server answering over
// loopback HTTP: queries per round and the round's latency (JSON decoding
// and mapping; the fake's answers are cached).
func BenchmarkRefresh1000(b *testing.B) {
	benchRefresh(b, []string{"kubernetes", "istio", "openfaas", "knative-otel", "lambda"},
		map[string]int{"kube": 640, "container": 640, "istio": 640, "kn": 120, "gateway": 80, "aws": 160})
}

// BenchmarkRefreshAllPresets1000 is the worst case: all seven presets at
// once, 1,000 workloads each.
func BenchmarkRefreshAllPresets1000(b *testing.B) {
	n := 1000
	benchRefresh(b, []string{"kubernetes", "istio", "openfaas", "knative-otel", "knative-opencensus", "lambda", "appengine"},
		map[string]int{"kube": n, "container": n, "istio": n, "gateway": n, "kn": n, "autoscaler": n, "revision": n, "aws": n, "stackdriver": n})
}

func benchRefresh(b *testing.B, presets []string, counts map[string]int) {
	f := newFake(b, syntheticMix(counts))
	s := newTestSource(b, f.URL, func(c *Config) {
		c.Presets = presets
		c.Timeout = 10 * time.Second
	})
	ctx := context.Background()
	if u := s.Poll(ctx); u.Err != nil { // warm the fake's cache
		b.Fatal(u.Err)
	}
	workloads := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := f.calls.Load()
	cpu0 := cpuTime()
	for b.Loop() {
		u := s.Poll(ctx)
		if u.Err != nil {
			b.Fatal(u.Err)
		}
		workloads = len(u.Workloads)
	}
	// CPU of the whole process (client and fake server): the wall time
	// (ns/op) depends on how busy the machine is.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(f.calls.Load()-start)/float64(b.N), "queries/op")
	b.ReportMetric(float64(workloads), "workloads")
}

// BenchmarkRefreshRecorded is one round of the simulator's 24 workloads
// replayed from the real server's recorded answers.
func BenchmarkRefreshRecorded(b *testing.B) {
	f := newFake(b, replay(b))
	at, _ := recordedTruth(b)
	s := newTestSource(b, f.URL, func(c *Config) { c.Clock = func() time.Time { return at } })
	ctx := context.Background()
	if u := s.Poll(ctx); u.Err != nil { // detection
		b.Fatal(u.Err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := f.calls.Load()
	for b.Loop() {
		if u := s.Poll(ctx); u.Err != nil {
			b.Fatal(u.Err)
		}
	}
	b.ReportMetric(float64(f.calls.Load()-start)/float64(b.N), "queries/op")
}
