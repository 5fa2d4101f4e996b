package overview

import (
	"fmt"
	"math"
	"time"

	"github.com/perch-dev/perch/sources"
)

var fixedNow = time.Date(2026, 11, 26, 14, 10, 0, 0, time.UTC)

func summary(ns, name string, p sources.Platform, vals map[sources.Metric]float64) sources.Summary {
	s := sources.Summary{Workload: sources.Workload{ID: sources.WorkloadID{Cluster: "demo", Namespace: ns, Name: name}, Platform: p, Kind: sources.Deployment}, Source: "demo", Updated: fixedNow}
	if p.IsServerless() {
		s.Kind = sources.Function
	}
	for i := range s.Latest {
		s.Latest[i] = math.NaN()
	}
	for m, v := range vals {
		s.Latest[m] = v
	}
	s.ReplicasTrend = make([]float64, 40)
	s.LatencyTrend = make([]float64, 40)
	for i := range s.ReplicasTrend {
		s.ReplicasTrend[i] = vals[sources.ReplicasCurrent] * (1 + 0.3*math.Sin(float64(i)/6))
		s.LatencyTrend[i] = vals[sources.LatencyP99] * (1 + 0.5*math.Cos(float64(i)/5))
	}
	return s
}

// fixtureRows is a small, varied set: pods and functions, thresholds hit,
// a stale row and unknown values.
func fixtureRows() []sources.Summary {
	k := sources.Kubernetes
	rows := []sources.Summary{
		summary("shop", "checkout", k, map[sources.Metric]float64{sources.CostRate: 0.42, sources.ReplicasCurrent: 6, sources.ReplicasDesired: 9, sources.ReplicasMin: 2, sources.ReplicasMax: 20, sources.LatencyP50: 0.045, sources.LatencyP95: 0.4, sources.LatencyP99: 1.8, sources.RequestRate: 120, sources.ErrorRatio: 0.07}),
		summary("shop", "frontend", k, map[sources.Metric]float64{sources.CostRate: 0.31, sources.ReplicasCurrent: 4, sources.ReplicasDesired: 4, sources.ReplicasMin: 3, sources.ReplicasMax: 12, sources.LatencyP50: 0.012, sources.LatencyP95: 0.08, sources.LatencyP99: 0.21, sources.RequestRate: 850, sources.ErrorRatio: 0.002}),
		summary("platform", "postgres", k, map[sources.Metric]float64{sources.CostRate: 0.9, sources.ReplicasCurrent: 3, sources.ReplicasDesired: 3, sources.LatencyP50: 0.002, sources.LatencyP95: 0.009, sources.LatencyP99: 0.03, sources.RequestRate: 400, sources.ErrorRatio: 0}),
		summary("serverless", "thumbnailer", sources.Knative, map[sources.Metric]float64{sources.CostRate: 0, sources.ReplicasCurrent: 0, sources.ReplicasDesired: 0, sources.ReplicasMin: 0, sources.ReplicasMax: 10, sources.RequestRate: 0}),
		summary("us-east-1", "order-events", sources.Lambda, map[sources.Metric]float64{sources.CostRate: 0.064, sources.Concurrency: 4, sources.ReplicasCurrent: 4, sources.LatencyP50: 0.08, sources.LatencyP95: 0.35, sources.LatencyP99: 0.6, sources.RequestRate: 45, sources.ErrorRatio: 0.011}),
	}
	rows[2].Stale = true
	return rows
}

// manyRows makes n rows for benchmarks and scrolling tests.
func manyRows(n int) []sources.Summary {
	rows := make([]sources.Summary, n)
	for i := range rows {
		rows[i] = summary(fmt.Sprintf("ns-%02d", i%20), fmt.Sprintf("workload-%04d", i), sources.Kubernetes, map[sources.Metric]float64{
			sources.CostRate: float64(i%97) / 10, sources.ReplicasCurrent: float64(i % 9), sources.ReplicasDesired: float64(i%9 + i%2),
			sources.ReplicasMin: 1, sources.ReplicasMax: 10, sources.LatencyP50: 0.01 * float64(i%13+1), sources.LatencyP95: 0.03 * float64(i%13+1),
			sources.LatencyP99: 0.09 * float64(i%13+1), sources.RequestRate: float64(i % 500), sources.ErrorRatio: float64(i%50) / 1000,
		})
	}
	return rows
}
