package main

import (
	"context"
	"runtime/debug"

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
// has completed a round: it is garbage by then, and the scavenger would
// otherwise return it over minutes.
func releaseAfterFirstRounds(ctx context.Context, st *store.Store, sources int) {
	waitFirstRounds(ctx, st, sources, debug.FreeOSMemory)
}

// waitFirstRounds calls release once every one of the sources has
// completed a round (or never, when ctx ends first).
func waitFirstRounds(ctx context.Context, st *store.Store, sources int, release func()) {
	go func() {
		for {
			changed := st.Changed()
			done := 0
			for _, h := range st.Health() {
				if h.Rounds > 0 {
					done++
				}
			}
			if done >= sources {
				release()
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
}
