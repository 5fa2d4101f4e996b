// Package benchcpu adds a CPU-time-per-op metric to benchmarks. On the
// shared, noisy machines perch is developed on, wall time per op swings
// with the load average; process CPU time (GC included) does not count
// time spent waiting for a core.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Measure runs body b.N times (via b.Loop) and reports cpu-ns/op besides
// the usual ns/op.
func Measure(b *testing.B, body func()) {
	b.Helper()
	start := cpuTime()
	n := 0
	for b.Loop() {
		body()
		n++
	}
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
	}
}
