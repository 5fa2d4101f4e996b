package faultmatrix

import (
	"context"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/faultproxy"
	"github.com/perch-dev/perch/internal/uiloop"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
	"github.com/perch-dev/perch/tui"
)

// pipeline is perch wired as cmd/perch wires it (store.Feed per source,
// stale rows after 3 refreshes, root TUI models on the store), with the
// source under test talking to its server through the fault proxy.
type pipeline struct {
	proxy   *faultproxy.Proxy
	src     sources.Source   // the source under test
	all     []sources.Source // every source fed and given to the UI
	queries func() int64     // requests src made so far
	store   *store.Store
	ui      *uiloop.Loop   // the first UI
	uis     []*uiloop.Loop // all of them
	ctx     context.Context
	cancel  context.CancelFunc
	refresh time.Duration
	wg      sync.WaitGroup
}

// startFeeding feeds src (the source under test, behind px) and others
// into a new store; with width > 0 it runs a first UI on it.
func startFeeding(t testing.TB, ctx context.Context, cancel context.CancelFunc, px *faultproxy.Proxy, src sources.Source,
	queries func() int64, refresh, timeout time.Duration, width, height int, others ...sources.Source) *pipeline {
	t.Helper()
	st := store.New()
	// cmd/perch marks the rows of a source silent for 3 refreshes stale:
	// 45 s by default, well above the 10 s timeout. The matrices' refresh
	// is far shorter than their timeout, so keep that order: one slow
	// round on a loaded machine must not read as silence.
	st.SetStaleAfter(max(3*refresh, 2*timeout))
	p := &pipeline{proxy: px, src: src, all: append([]sources.Source{src}, others...), queries: queries, store: st,
		ctx: ctx, cancel: cancel, refresh: refresh}
	for _, s := range p.all {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); st.Feed(ctx, s) }()
	}
	if width > 0 {
		p.ui = p.addUI(t, width, height)
	}
	return p
}

// addUI runs one more root model (one more terminal) on the store.
func (p *pipeline) addUI(t testing.TB, width, height int) *uiloop.Loop {
	t.Helper()
	m, err := tui.New(tui.Config{Context: p.ctx, Store: p.store, Sources: p.all, ThemeName: "dark",
		Getenv: func(string) string { return "" }, Refresh: p.refresh})
	if err != nil {
		t.Fatal(err)
	}
	u := uiloop.Run(p.ctx, m, width, height, func() { p.store.Summaries(time.Now(), 40) })
	p.uis = append(p.uis, u)
	return u
}

// stop ends everything the pipeline started and waits for it.
func (p *pipeline) stop() {
	p.cancel()
	p.wg.Wait()
	for _, u := range p.uis {
		<-u.Done()
	}
	p.proxy.Close() // also closes the source's pooled connections
}

// health is the store's health of the source under test.
func (p *pipeline) health() sources.Health { return p.healthOf(p.src.Name()) }

func (p *pipeline) healthOf(name string) sources.Health {
	for _, h := range p.store.Health() {
		if h.Source == name {
			return h
		}
	}
	return sources.Health{}
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
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

// rows is the store's overview rows by workload.
func (p *pipeline) rows() map[sources.WorkloadID]sources.Summary {
	out := map[sources.WorkloadID]sources.Summary{}
	for _, s := range p.store.Summaries(time.Now(), 0) {
		out[s.ID] = s
	}
	return out
}

// sameValues compares latest values, NaN equal to NaN.
func sameValues(a, b [sources.NumMetrics]float64) (sources.Metric, bool) {
	for m := range a {
		if a[m] != b[m] && !(math.IsNaN(a[m]) && math.IsNaN(b[m])) {
			return sources.Metric(m), false
		}
	}
	return 0, true
}

// lostValue reports a metric that had a value in a and has none in b.
func lostValue(a, b [sources.NumMetrics]float64) (sources.Metric, bool) {
	for m := range a {
		if !math.IsNaN(a[m]) && math.IsNaN(b[m]) {
			return sources.Metric(m), true
		}
	}
	return 0, false
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// heapPeak samples the heap every 20 ms until stop is closed.
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
