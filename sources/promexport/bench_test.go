package promexport

import (
	"io"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources/sim"
)

// BenchmarkScrape is one live scrape of the built-in simulator (24
// workloads, ~1,200 series) one second after the previous one.
func BenchmarkScrape(b *testing.B) {
	s := newSim(b)
	h := NewHandler(s, nil).(*Handler)
	t := epoch.Add(14 * time.Hour)
	h.Write(io.Discard, t)
	b.ResetTimer()
	for b.Loop() {
		t = t.Add(time.Second)
		h.Write(io.Discard, t)
	}
}

// BenchmarkScrape1000 is the same for the simulator's 1,000-workload
// scale mode.
func BenchmarkScrape1000(b *testing.B) {
	s, err := sim.New(sim.Config{Workloads: 1000, Start: epoch, Clock: func() time.Time { return epoch }})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHandler(s, nil).(*Handler)
	t := epoch.Add(14 * time.Hour)
	h.Write(io.Discard, t)
	b.ResetTimer()
	for b.Loop() {
		t = t.Add(time.Second)
		h.Write(io.Discard, t)
	}
}

// BenchmarkWriteHistoryHour writes one hour at 15 s of the built-in
// simulator as OpenMetrics.
func BenchmarkWriteHistoryHour(b *testing.B) {
	s := newSim(b)
	from := epoch.Add(13 * time.Hour)
	var n countingWriter
	for b.Loop() {
		n = 0
		if err := WriteHistory(&n, s, from, from.Add(time.Hour), 15*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/1e6, "MB/op")
}

type countingWriter int

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
