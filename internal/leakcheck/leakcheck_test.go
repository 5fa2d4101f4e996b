package leakcheck

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

type fakeTB struct {
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }

func TestCheckFindsALeakAndItsEnd(t *testing.T) {
	base := goleak.IgnoreCurrent()
	stop := make(chan struct{})
	go func() { <-stop }()

	var tb fakeTB
	Check(&tb, 100*time.Millisecond, base)
	if len(tb.errs) != 1 {
		t.Fatalf("a blocked goroutine must be reported once, got %q", tb.errs)
	}

	close(stop)
	tb.errs = nil
	Check(&tb, 2*time.Second, base)
	if len(tb.errs) != 0 {
		t.Fatalf("after it ended: %q", tb.errs)
	}
}

func TestVerifyChecksAtCleanup(t *testing.T) {
	var tb fakeTB
	Verify(&tb)
	stop := make(chan struct{})
	go func() { <-stop }()
	if len(tb.cleanups) != 1 {
		t.Fatal("Verify must register one cleanup")
	}
	close(stop)
	tb.cleanups[0]()
	if len(tb.errs) != 0 {
		t.Fatalf("a goroutine that ended before cleanup is no leak: %q", tb.errs)
	}
}
