package faultmatrix

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/internal/leakcheck"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/influxdb"
)

// quickFaults fail fast: the 100-cycle tests flip between them and
// healthy. Hang is in the list only where the source's timeout is short.
var quickFaults = []faultproxy.Mode{faultproxy.Refuse, faultproxy.Reset, faultproxy.Status(503), faultproxy.CutMidBody,
	faultproxy.Garbage, faultproxy.Truncate, faultproxy.Status(502), faultproxy.CutAfter(100)}

// cycle flips the proxy between faults[i%len] and healthy n times. seen
// must return nil once the fault shows, recovered once perch recovered
// by itself. The number of goroutines must not creep up from cycle to
// cycle (the callers run leakcheck.Verify for what is left at the end).
func cycle(t *testing.T, p *pipeline, n int, faults []faultproxy.Mode, seen, recovered func(i int, m faultproxy.Mode) error) {
	t.Helper()
	var goroutines []int
	start := time.Now()
	for i := range n {
		m := faults[i%len(faults)]
		if err := p.proxy.Set(m); err != nil {
			t.Fatal(err)
		}
		if err := seen(i, m); err != nil {
			t.Fatalf("cycle %d: %s was never reported: %v", i, m, err)
		}
		if err := p.proxy.Set(faultproxy.Healthy); err != nil {
			t.Fatal(err)
		}
		if err := recovered(i, m); err != nil {
			t.Fatalf("cycle %d: no recovery from %s: %v", i, m, err)
		}
		goroutines = append(goroutines, runtime.NumGoroutine())
	}
	t.Logf("%d fault/recover cycles in %s; goroutines after recoveries: first %v … last %v; proxy %+v",
		n, time.Since(start).Round(time.Millisecond), goroutines[:5], goroutines[n-5:], p.proxy.Stats())
	// Requests and UI commands in flight make the count jitter; a leak per
	// cycle would add up to 100s.
	early, late := median(goroutines[5:15]), median(goroutines[n-15:n-5])
	if late > early+20 {
		t.Errorf("goroutines grew from %d to %d over the cycles: something leaks per fault", early, late)
	}
}

// healthErr waits up to d for the source under test to report an error.
func (p *pipeline) waitErr(d time.Duration) error {
	if waitFor(d, func() bool { return p.health().Err != nil }) {
		return nil
	}
	return fmt.Errorf("no error within %s", d)
}

// waitRecovered waits up to d for a good round after since with want
// workloads in the store.
func (p *pipeline) waitRecovered(d time.Duration, since time.Time, want int) error {
	if waitFor(d, func() bool {
		h := p.health()
		return h.Err == nil && h.LastOK.After(since) && p.store.Len() == want
	}) {
		return nil
	}
	return fmt.Errorf("err=%v, %d workloads (want %d)", p.health().Err, p.store.Len(), want)
}

// TestPrometheusRecoversFrom100Faults flips the server between a fault and
// healthy 100 times. Every fault must be reported and every recovery must
// happen by itself; the number of goroutines must not creep up from cycle
// to cycle, and nothing may be left running once the pipeline stops.
func TestPrometheusRecoversFrom100Faults(t *testing.T) {
	leakcheck.Verify(t)
	t.Cleanup(prefetching.Wait)
	// One preset (4 queries a round instead of 12) keeps 100 cycles quick.
	p := startPipeline(t, pipelineConfig{Timeout: time.Second, Refresh: 20 * time.Millisecond, MaxSeries: 200,
		Presets: []string{"kubernetes"}, Width: 120, Height: 30})
	defer p.stop()
	if !waitFor(15*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() }) {
		t.Fatalf("never healthy: %v", p.health().Err)
	}
	want := p.store.Len()
	var flipped time.Time
	// Hang takes seconds per cycle: the matrix and faultproxy's own 100
	// cycles cover it.
	cycle(t, p, 100, quickFaults,
		func(int, faultproxy.Mode) error { return p.waitErr(10 * time.Second) },
		func(int, faultproxy.Mode) error {
			flipped = time.Now()
			return p.waitRecovered(15*time.Second, flipped, want)
		})
}

// TestJaegerRecoversFrom100Faults flips the real Jaeger behind the proxy
// between a fault and healthy 100 times (every ninth a hang, with a short
// timeout). Each time a trace search must fail and Run's health check
// must report it; once healthy again a search must find the traces and
// the health recover by itself. No goroutine may be left over.
func TestJaegerRecoversFrom100Faults(t *testing.T) {
	leakcheck.Verify(t)
	t.Cleanup(prefetching.Wait)
	p, env := startJaeger(t, 300*time.Millisecond, 20*time.Millisecond, 120, 30)
	defer p.stop()
	if !waitFor(30*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() }) {
		t.Fatalf("never healthy: %v", p.health().Err)
	}
	finder := p.src.(sources.TraceFinder)
	search := func() ([]sources.Trace, error) {
		// What the traces page does, on the test's goroutine.
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		defer cancel()
		now := time.Now()
		return finder.Traces(ctx, sources.TraceQuery{ID: env.id, Start: now.Add(-time.Hour), End: now, Limit: 50})
	}
	faults := append(slices.Clone(quickFaults[:4]), faultproxy.Hang)
	faults = append(faults, quickFaults[4:]...)
	cycle(t, p, 100, faults,
		func(int, faultproxy.Mode) error {
			if trs, err := search(); err == nil {
				return fmt.Errorf("a search found %d traces", len(trs))
			}
			return p.waitErr(10 * time.Second)
		},
		func(int, faultproxy.Mode) error {
			flipped := time.Now()
			if trs, err := search(); err != nil || len(trs) == 0 {
				return fmt.Errorf("the first search after recovery: %d traces, %v", len(trs), err)
			}
			return p.waitRecovered(15*time.Second, flipped, 1)
		})
}

// TestInfluxDBRecoversFrom100Faults flips the real influxd behind the
// proxy between a fault and healthy 100 times, rounds every 20 ms. One
// preset (one query a round instead of three) keeps it quick; hangs are
// left to the matrix, as the timeout must allow for a loaded influxd.
// Every fault must be reported, every recovery happen by itself, and no
// goroutine may be left over.
func TestInfluxDBRecoversFrom100Faults(t *testing.T) {
	leakcheck.Verify(t)
	t.Cleanup(prefetching.Wait)
	const every = 20 * time.Millisecond
	p := startInflux(t, influxConfig{Timeout: 5 * time.Second, Every: every, BackoffBase: every,
		Presets: []string{influxdb.PresetCloudWatchLambda}, Width: 120, Height: 30})
	defer p.stop()
	if !waitFor(30*time.Second, func() bool { h := p.health(); return h.Err == nil && !h.LastOK.IsZero() }) {
		t.Fatalf("never healthy: %v", p.health().Err)
	}
	want := p.store.Len()
	cycle(t, p, 100, quickFaults,
		func(int, faultproxy.Mode) error { return p.waitErr(15 * time.Second) },
		func(int, faultproxy.Mode) error { return p.waitRecovered(15*time.Second, time.Now(), want) })
}

func median(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
