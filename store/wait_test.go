package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

func TestWaitForAnsweredSkipsEstimatesAndCountsFailures(t *testing.T) {
	st := New()
	now := time.Now()
	done := make(chan error, 1)
	go func() { done <- st.WaitFor(context.Background(), 2, Answered) }()
	st.Apply(sources.Update{Source: "kube", At: now, Complete: true, Partial: fmt.Errorf("pods %w", sources.ErrLoading)})
	st.Apply(sources.Update{Source: "prom", At: now, Err: errors.New("connection refused")})
	select {
	case err := <-done:
		t.Fatalf("returned (%v) while kube still sent estimates", err)
	case <-time.After(100 * time.Millisecond):
	}
	st.Apply(sources.Update{Source: "kube", At: now, Complete: true})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not done after a settled round and a failure")
	}
	if err := st.Failures(); err == nil || err.Error() != "connection refused" {
		t.Errorf("failures = %v, want prom's", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.WaitFor(ctx, 3, Answered); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor after ctx ended = %v, want context.Canceled", err)
	}
}
