package main

import (
	"context"
	"runtime/debug"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

// dashboardGCPercent is the Go GC target perch runs with unless GOGC is
// set: its live heap (inventory, history, informer caches) is small next to
// the garbage of a refresh round (decoded answers), and Go's default of 100
// lets the heap grow to twice the live size before collecting, which is
// most of the resident memory an operator sees.
const dashboardGCPercent = 50

// tuneMemory applies dashboardGCPercent unless the user chose a GOGC.
func tuneMemory(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(dashboardGCPercent)
	}
}

// releaseAfterFirstRounds gives the memory of the start (a cluster's first
// lists, history backfills) back to the OS once every one of the sources
// has completed a settled round (not estimates while its lists load): it
// is garbage by then, and the scavenger would otherwise return it over
// minutes.
func releaseAfterFirstRounds(ctx context.Context, st *store.Store, n int) {
	waitSources(ctx, st, n, sources.Health.Settled, debug.FreeOSMemory)
}

// deferBulkUntilFirstFrame lets the sources that can hold their bulk
// loading (a big cluster's pod lists) do so until every source has shown
// a first round or failed: the first frame is not slowed by work it does
// not need (sources.BulkDeferrer).
func deferBulkUntilFirstFrame(ctx context.Context, st *store.Store, srcs []sources.Source) {
	ready := make(chan struct{})
	for _, s := range srcs {
		if d, ok := s.(sources.BulkDeferrer); ok {
			d.DeferBulkUntil(ready)
		}
	}
	shown := func(h sources.Health) bool { return h.Rounds > 0 || h.Err != nil }
	waitSources(ctx, st, len(srcs), shown, func() { close(ready) })
}

// waitSources calls then once n sources' health satisfies done (or never,
// when ctx ends first).
func waitSources(ctx context.Context, st *store.Store, n int, done func(sources.Health) bool, then func()) {
	go func() {
		if st.WaitFor(ctx, n, done) == nil {
			then()
		}
	}()
}
