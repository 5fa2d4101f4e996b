package faultmatrix

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/internal/leakcheck"
)

// TestPrometheusRecoversFrom100Faults flips the server between a fault and
// healthy 100 times. Every fault must be reported and every recovery must
// happen by itself; the number of goroutines must not creep up from cycle
// to cycle, and nothing may be left running once the pipeline stops.
func TestPrometheusRecoversFrom100Faults(t *testing.T) {
	leakcheck.Verify(t)
	// One preset (4 queries a round instead of 12) keeps 100 cycles quick.
	p := startPipeline(t, pipelineConfig{Timeout: time.Second, Refresh: 20 * time.Millisecond, MaxSeries: 200,
		Presets: []string{"kubernetes"}, Width: 120, Height: 30})
	defer p.stop()
	if !waitFor(15*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() }) {
		t.Fatalf("never healthy: %v", p.health().Err)
	}
	want := p.store.Len()

	faults := []faultproxy.Mode{faultproxy.Refuse, faultproxy.Reset, faultproxy.Status(503), faultproxy.CutMidBody,
		faultproxy.Garbage, faultproxy.Truncate, faultproxy.Status(502), faultproxy.CutAfter(100)}
	var goroutines []int
	start := time.Now()
	for i := range 100 {
		m := faults[i%len(faults)] // Hang takes seconds per cycle: the matrix and faultproxy's own 100 cycles cover it
		if err := p.proxy.Set(m); err != nil {
			t.Fatal(err)
		}
		if !waitFor(10*time.Second, func() bool { return p.health().Err != nil }) {
			t.Fatalf("cycle %d: %s was never reported", i, m)
		}
		recoverAt := time.Now()
		if err := p.proxy.Set(faultproxy.Healthy); err != nil {
			t.Fatal(err)
		}
		if !waitFor(15*time.Second, func() bool {
			h := p.health()
			return h.Err == nil && h.LastOK.After(recoverAt) && p.store.Len() == want
		}) {
			t.Fatalf("cycle %d: no recovery from %s: %v", i, m, p.health().Err)
		}
		goroutines = append(goroutines, runtime.NumGoroutine())
	}
	t.Logf("100 fault/recover cycles in %s; goroutines after recoveries: first %v … last %v; proxy %+v",
		time.Since(start).Round(time.Millisecond), goroutines[:5], goroutines[95:], p.proxy.Stats())
	// Queries and UI commands in flight make the count jitter; a leak per
	// cycle would add up to 100s.
	early, late := median(goroutines[5:15]), median(goroutines[85:95])
	if late > early+20 {
		t.Errorf("goroutines grew from %d to %d over the cycles: something leaks per fault", early, late)
	}
}

func median(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
