package main

import (
	"context"
	"errors"
	"fmt"
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

func TestReleaseWaitsForEverySourcesSettledRound(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New()
	released := make(chan struct{})
	waitSources(ctx, st, 2, sources.Health.Settled, func() { close(released) })
	now := time.Now()
	st.Apply(sources.Update{Source: "a", At: now, Complete: true})
	st.Apply(sources.Update{Source: "b", At: now, Err: errors.New("connection refused")})
	// Estimates while b's lists load are not its settled round.
	st.Apply(sources.Update{Source: "b", At: now, Complete: true, Partial: fmt.Errorf("pods %w", sources.ErrLoading)})
	select {
	case <-released:
		t.Fatal("released before the second source completed a settled round")
	case <-time.After(100 * time.Millisecond):
	}
	st.Apply(sources.Update{Source: "b", At: now, Complete: true})
	select {
	case <-released:
	case <-time.After(5 * time.Second):
		t.Fatal("not released after every source completed a round")
	}
}

// bulkSource records the channel DeferBulkUntil hands it.
type bulkSource struct {
	sources.Source
	ready <-chan struct{}
}

func (b *bulkSource) DeferBulkUntil(ready <-chan struct{}) { b.ready = ready }

func TestBulkWaitsForEverySourcesFirstRoundOrFailure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := store.New()
	kube := &bulkSource{}
	deferBulkUntilFirstFrame(ctx, st, []sources.Source{kube, &bulkSource{}, nil})
	if kube.ready == nil {
		t.Fatal("DeferBulkUntil was not called")
	}
	now := time.Now()
	// The deferring source's own estimates count as its first round.
	st.Apply(sources.Update{Source: "kube", At: now, Complete: true, Partial: fmt.Errorf("pods %w", sources.ErrLoading)})
	st.Apply(sources.Update{Source: "other", At: now, Complete: true})
	select {
	case <-kube.ready:
		t.Fatal("bulk started before the third source answered")
	case <-time.After(100 * time.Millisecond):
	}
	st.Apply(sources.Update{Source: "down", At: now, Err: errors.New("connection refused")}) // a failure shows too
	select {
	case <-kube.ready:
	case <-time.After(5 * time.Second):
		t.Fatal("bulk never started after every source was shown")
	}
}
