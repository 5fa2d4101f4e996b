package tui

import "github.com/perch-dev/perch/sources"

// HistoryMetrics are the metrics whose history a page charts or the
// what-if statistics read (store.KeepHistory): the rest are shown as
// latest values only, so keeping their rings would be memory for nothing.
func HistoryMetrics() []sources.Metric {
	return []sources.Metric{
		sources.CostRate,
		sources.ReplicasDesired, sources.ReplicasCurrent, sources.ReplicasReady,
		sources.Concurrency, sources.RequestRate, sources.ColdStarts,
		sources.LatencyP50, sources.LatencyP95, sources.LatencyP99,
		sources.CPUUsage, sources.MemUsage,
	}
}
