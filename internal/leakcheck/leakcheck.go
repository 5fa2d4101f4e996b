// Package leakcheck fails a test that leaves goroutines behind.
//
// It wraps go.uber.org/goleak with a longer grace period than goleak's
// default (~0.5 s): on a loaded two-core CI machine, connection goroutines
// of net/http take a moment to notice a closed socket, and a leak check
// that flakes teaches people to ignore it.
package leakcheck

import (
	"time"

	"go.uber.org/goleak"
)

// TB is the part of testing.TB the check needs.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Cleanup(func())
}

// DefaultGrace is how long Verify waits for goroutines to end.
const DefaultGrace = 5 * time.Second

// Verify remembers the goroutines running now and, when the test and all
// its cleanups are done, fails t if others are still running. Call it
// first in the test, so that its cleanup runs after every later one
// (servers closed with t.Cleanup included).
func Verify(t TB, opts ...goleak.Option) {
	t.Helper()
	base := append([]goleak.Option{goleak.IgnoreCurrent()}, opts...)
	t.Cleanup(func() {
		t.Helper()
		Check(t, DefaultGrace, base...)
	})
}

// Check fails t if goroutines other than those opts ignore are still
// running after grace.
func Check(t TB, grace time.Duration, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		err := goleak.Find(opts...) // retries briefly by itself
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("leakcheck: goroutines still running %s after the test: %v", grace, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
