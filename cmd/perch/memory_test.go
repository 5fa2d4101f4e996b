package main

import (
	"context"
	"errors"
	"runtime/debug"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/store"
)

func TestTuneMemoryRespectsGOGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tuneMemory(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != dashboardGCPercent {
		t.Fatalf("GC percent = %d, want %d", got, dashboardGCPercent)
	}
	tuneMemory(func(k string) string {
		if k == "GOGC" {
			return "200"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("a user's GOGC must win: GC percent changed to %d", got)
	}
}

func TestReleaseWaitsForEverySourcesFirstRound(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New()
	released := make(chan struct{})
	waitFirstRounds(ctx, st, 2, func() { close(released) })
	now := time.Now()
	st.Apply(sources.Update{Source: "a", At: now, Complete: true})
	st.Apply(sources.Update{Source: "b", At: now, Err: errors.New("connection refused")})
	select {
	case <-released:
		t.Fatal("released before the second source completed a round")
	case <-time.After(100 * time.Millisecond):
	}
	st.Apply(sources.Update{Source: "b", At: now, Complete: true})
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("not released after every source completed a round")
	}
}
