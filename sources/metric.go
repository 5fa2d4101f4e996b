package sources

import "time"

// Metric names one per-workload time series. All series share one clock.
type Metric uint8

// The per-workload series. Units are in Metric.Unit.
const (
	CostRate        Metric = iota // $/h
	ReplicasDesired               // pods (or function instances)
	ReplicasCurrent
	ReplicasReady
	ReplicasMin
	ReplicasMax
	Concurrency // in-flight requests (functions)
	RequestRate // req/s
	ErrorRatio  // 0..1
	LatencyP50  // seconds
	LatencyP95
	LatencyP99
	ColdStarts // per minute
	CPUUsage   // cores
	CPURequest // cores
	MemUsage   // bytes
	MemRequest // bytes

	NumMetrics // count of metrics; not a metric
)

var metricNames = [NumMetrics]string{
	"cost", "replicas_desired", "replicas_current", "replicas_ready",
	"replicas_min", "replicas_max", "concurrency", "requests_per_second",
	"error_ratio", "latency_p50", "latency_p95", "latency_p99",
	"cold_starts_per_minute", "cpu_usage", "cpu_request", "memory_usage",
	"memory_request",
}

var metricUnits = [NumMetrics]string{
	"$/h", "", "", "", "", "", "", "req/s", "ratio", "s", "s", "s",
	"/min", "cores", "cores", "bytes", "bytes",
}

// String is the metric's stable snake_case name (used in JSON and config).
func (m Metric) String() string {
	if m < NumMetrics {
		return metricNames[m]
	}
	return "unknown"
}

// Unit is the metric's unit, empty for counts.
func (m Metric) Unit() string {
	if m < NumMetrics {
		return metricUnits[m]
	}
	return ""
}

// ParseMetric is the inverse of String.
func ParseMetric(s string) (Metric, bool) {
	for i, n := range metricNames {
		if n == s {
			return Metric(i), true
		}
	}
	return 0, false
}

// Sample is one value of one series of one workload at one instant.
type Sample struct {
	ID     WorkloadID
	Metric Metric
	T      time.Time
	V      float64
}
