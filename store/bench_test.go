package store

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/perch-dev/perch/internal/benchcpu"
	"github.com/perch-dev/perch/sources"
)

// scaleMetrics are what a kube or Prometheus source sends per workload.
var scaleMetrics = []sources.Metric{
	sources.CostRate, sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady,
	sources.RequestRate, sources.ErrorRatio, sources.LatencyP50, sources.LatencyP95, sources.LatencyP99,
	sources.CPUUsage, sources.MemUsage, sources.CPURequest, sources.MemRequest,
}

func scaleRound(ids []sources.WorkloadID, at time.Time, buf []sources.Sample) []sources.Sample {
	buf = buf[:0]
	for i, id := range ids {
		for j, m := range scaleMetrics {
			buf = append(buf, sources.Sample{ID: id, Metric: m, T: at, V: float64(i+j) + float64(at.Unix()%7)})
		}
	}
	return buf
}

func scaleStore(n int, rounds int, step time.Duration) (*Store, []sources.WorkloadID, time.Time) {
	s := New()
	s.KeepHistory(charted...)
	ids := make([]sources.WorkloadID, n)
	ws := make([]sources.Workload, n)
	for i := range ids {
		ids[i] = sources.WorkloadID{Cluster: "c", Namespace: fmt.Sprintf("ns-%d", i%20), Name: fmt.Sprintf("w-%d", i)}
		ws[i] = sources.Workload{ID: ids[i], Kind: sources.Deployment, Platform: sources.Kubernetes}
	}
	at := t0
	s.Apply(sources.Update{Source: "bench", At: at, Workloads: ws, Full: true})
	var buf []sources.Sample
	for r := 0; r < rounds; r++ {
		at = at.Add(step)
		buf = scaleRound(ids, at, buf)
		s.Apply(sources.Update{Source: "bench", At: at, Samples: buf, Complete: true})
	}
	return s, ids, at
}

// BenchmarkApplyRound1500 is one refresh of 1,500 workloads × 13 metrics
// into a warm store: the hot path of every source update.
func BenchmarkApplyRound1500(b *testing.B) {
	s, ids, at := scaleStore(1500, 4, 15*time.Second)
	var buf []sources.Sample
	b.ReportAllocs()
	benchcpu.Measure(b, func() {
		at = at.Add(15 * time.Second)
		buf = scaleRound(ids, at, buf)
		s.Apply(sources.Update{Source: "bench", At: at, Samples: buf, Complete: true})
	})
}

// charted are the scale metrics the tui keeps history for (tui.HistoryMetrics).
var charted = []sources.Metric{
	sources.CostRate, sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady,
	sources.RequestRate, sources.LatencyP50, sources.LatencyP95, sources.LatencyP99,
	sources.CPUUsage, sources.MemUsage,
}

// BenchmarkStoreHeap1500 reports the live heap of 1,500 workloads × 13
// metrics (10 with history) after half an hour and after a day of rounds
// (bytes/workload): the store's share of perch's RSS at scale.
func BenchmarkStoreHeap1500(b *testing.B) {
	for _, span := range []time.Duration{30 * time.Minute, 24 * time.Hour} {
		b.Run(span.String(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				s, _, _ := scaleStore(1500, int(span/(4*time.Minute)), 4*time.Minute) // one round per 4 min reaches every bucket tier
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1500, "heap-B/workload")
				runtime.KeepAlive(s)
			}
		})
	}
}
