package sim

import (
	"testing"
	"time"
)

func benchAt(b *testing.B, n int) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s, err := New(Config{Workloads: n, Start: start, Clock: func() time.Time { return start }})
	if err != nil {
		b.Fatal(err)
	}
	t := start.Add(14 * time.Hour)
	samples := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		samples = len(s.At(t.Add(time.Duration(i) * 2 * time.Second)))
	}
	b.ReportMetric(float64(samples), "samples/op")
}

func BenchmarkAtBuiltin(b *testing.B) { benchAt(b, 0) }
func BenchmarkAt1000(b *testing.B)    { benchAt(b, 1000) }
func BenchmarkAt5000(b *testing.B)    { benchAt(b, 5000) }

func BenchmarkPodsAtFrontend(b *testing.B) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s, err := New(Config{Start: start, Clock: func() time.Time { return start }})
	if err != nil {
		b.Fatal(err)
	}
	id := s.Workloads()[1].ID
	t := start.Add(16 * time.Hour)
	for b.Loop() {
		s.PodsAt(id, t)
	}
}
