// Package cost holds perch's pure pricing functions and the what-if model.
// Every price has its unit in its name; the defaults, their sources and the
// dates they were checked are listed in PRICES.md and next to each value in
// Defaults. Everything is overridable from the prices: section of the config.
//
// Nothing here does I/O, reads a clock or imports a UI package: inputs are
// plain numbers (NaN = unknown) and every function is safe on bad input.
package cost

import "math"

// GiB is bytes per gibibyte.
const GiB = 1 << 30

// MiB is bytes per mebibyte.
const MiB = 1 << 20

// HoursPerMonth is the month perch projects to: 365 × 24 / 12 = 730 h, the
// figure AWS, Google and OpenCost use for monthly estimates.
const HoursPerMonth = 730

// Prices is one price table. It stays comparable (==) because sources and
// config compare tables with the zero value and the defaults: the only
// non-scalar field, Nodes, is a pointer (see Equal).
type Prices struct {
	Name string `json:"name" yaml:"name"`

	// Kubernetes nodes, OpenCost's defaults (its configs/default.json, "based
	// on GCP us-central1").
	CPUHour     float64 `json:"cpu_hour" yaml:"cpu_hour"`           // $ per vCPU-hour
	GiBHour     float64 `json:"gib_hour" yaml:"gib_hour"`           // $ per GiB-hour of RAM
	GPUHour     float64 `json:"gpu_hour" yaml:"gpu_hour"`           // $ per GPU-hour
	SpotCPUHour float64 `json:"spot_cpu_hour" yaml:"spot_cpu_hour"` // $ per vCPU-hour on spot nodes
	SpotGiBHour float64 `json:"spot_gib_hour" yaml:"spot_gib_hour"` // $ per GiB-hour on spot nodes
	// Nodes overrides the node prices by instance type and spot flag; nil
	// means none. A pointer so Prices stays comparable.
	Nodes *[]NodePrice `json:"nodes,omitempty" yaml:"nodes"`

	// Knative's queue-proxy sidecar, added to every Knative pod.
	QueueProxyCPU float64 `json:"queue_proxy_cpu" yaml:"queue_proxy_cpu"` // cores requested
	QueueProxyMiB float64 `json:"queue_proxy_mib" yaml:"queue_proxy_mib"` // MiB requested

	// AWS Lambda (us-east-1, first pricing tier).
	LambdaPerMillionRequests float64 `json:"lambda_per_million_requests" yaml:"lambda_per_million_requests"`
	LambdaGBSecond           float64 `json:"lambda_gb_second" yaml:"lambda_gb_second"`         // $ per GB-second, x86_64
	LambdaArmGBSecond        float64 `json:"lambda_arm_gb_second" yaml:"lambda_arm_gb_second"` // $ per GB-second, arm64

	// Google Cloud Run services, request-based billing, Tier 1 regions.
	CloudRunVCPUSecond         float64 `json:"cloud_run_vcpu_second" yaml:"cloud_run_vcpu_second"` // $ per vCPU-second
	CloudRunGiBSecond          float64 `json:"cloud_run_gib_second" yaml:"cloud_run_gib_second"`   // $ per GiB-second
	CloudRunPerMillionRequests float64 `json:"cloud_run_per_million_requests" yaml:"cloud_run_per_million_requests"`

	// Google App Engine standard: $ per instance-hour of an F1 or B1 class
	// instance; bigger classes cost whole multiples (see InstanceClasses).
	AppEngineInstanceHour float64 `json:"app_engine_instance_hour" yaml:"app_engine_instance_hour"`

	// FreeTier subtracts the monthly free allowances of Lambda, Cloud Run
	// and App Engine. They are per account, not per function, so perch
	// applying them to each function on its own overstates the saving when
	// an account runs several; off by default.
	FreeTier bool `json:"free_tier" yaml:"free_tier"`
}

// Defaults returns the list prices perch ships with. Each value's source and
// the date it was checked is next to it and in PRICES.md.
func Defaults() Prices {
	return Prices{
		Name: "defaults (OpenCost, AWS us-east-1, GCP Tier 1)",
		// https://github.com/opencost/opencost/blob/develop/configs/default.json,
		// checked 2026-11-26: CPU 0.031611, spotCPU 0.006655, RAM 0.004237,
		// spotRAM 0.000892, GPU 0.95 ($ per hour; RAM per GiB).
		CPUHour: 0.031611, GiBHour: 0.004237, GPUHour: 0.95,
		SpotCPUHour: 0.006655, SpotGiBHour: 0.000892,
		// https://knative.dev/docs/serving/configuration/deployment/ (the
		// config-deployment ConfigMap), checked 2026-11-26:
		// queue-sidecar-cpu-request defaults to 25m; no memory request is
		// set unless queue-sidecar-memory-request is.
		QueueProxyCPU: 0.025, QueueProxyMiB: 0,
		// https://aws.amazon.com/lambda/pricing/ (us-east-1), checked
		// 2026-11-26: $0.20 per 1M requests; $0.0000166667 per GB-s x86
		// and $0.0000133334 per GB-s Arm for the first 6 (x86) / 7.5 (Arm)
		// billion GB-s a month; duration billed in 1 ms increments.
		LambdaPerMillionRequests: 0.20, LambdaGBSecond: 0.0000166667, LambdaArmGBSecond: 0.0000133334,
		// https://cloud.google.com/run/pricing, Tier 1, "CPU only allocated
		// during request processing", checked 2026-11-26: $0.00002400 per
		// vCPU-s, $0.00000250 per GiB-s, $0.40 per 1M requests, rounded up
		// to the nearest 100 ms.
		CloudRunVCPUSecond: 0.000024, CloudRunGiBSecond: 0.0000025, CloudRunPerMillionRequests: 0.40,
		// https://cloud.google.com/appengine/pricing, standard environment,
		// us-central1, checked 2026-11-26: F1/B1 $0.05 per instance-hour
		// (F2/B2 $0.10, F4/B4 $0.20, F4_1G/B4_1G $0.30, B8 $0.40).
		AppEngineInstanceHour: 0.05,
	}
}

// OrDefaults returns Defaults() for the zero table (nothing configured) and
// p otherwise.
func (p Prices) OrDefaults() Prices {
	if p == (Prices{}) {
		return Defaults()
	}
	return p
}

// Equal compares two tables, node overrides by value.
func (p Prices) Equal(o Prices) bool {
	a, b := p, o
	an, bn := a.NodeList(), b.NodeList()
	a.Nodes, b.Nodes = nil, nil
	if a != b || len(an) != len(bn) {
		return false
	}
	for i := range an {
		if !an[i].equal(bn[i]) {
			return false
		}
	}
	return true
}

// NodeList is the node overrides (nil when there are none).
func (p Prices) NodeList() []NodePrice {
	if p.Nodes == nil {
		return nil
	}
	return *p.Nodes
}

// WithNodes returns a copy of p with these node overrides.
func (p Prices) WithNodes(nodes ...NodePrice) Prices {
	list := append([]NodePrice(nil), nodes...)
	p.Nodes = &list
	return p
}

// KubeHourly is OpenCost's rule for one container or a whole workload at
// the table's default node prices: max(request, usage) of CPU (cores) and
// memory (bytes) times the prices. Rates.Hourly does the same at any
// node's prices and with GPUs.
func (p Prices) KubeHourly(cpuRequest, cpuUsage, memRequestBytes, memUsageBytes float64) float64 {
	cpu := math.Max(nz(cpuRequest), nz(cpuUsage))
	mem := math.Max(nz(memRequestBytes), nz(memUsageBytes)) / GiB
	return cpu*p.CPUHour + mem*p.GiBHour
}

// LambdaHourly is the Lambda (x86) bill per hour at a steady request rate:
// requests plus GB-seconds, the mean duration rounded up to 1 ms, without
// the free tier. Lambda does the same with the architecture and free tier.
func (p Prices) LambdaHourly(requestsPerSecond, avgDurationSeconds, memoryMB float64) float64 {
	rps := nz(requestsPerSecond)
	billedSeconds := BilledSeconds(avgDurationSeconds, 0.001)
	perHour := rps * 3600
	gbSeconds := perHour * billedSeconds * nz(memoryMB) / 1024
	return perHour/1e6*p.LambdaPerMillionRequests + gbSeconds*p.LambdaGBSecond
}

// BilledSeconds rounds a duration in seconds up to a whole number of
// increments (0.001 for Lambda, 0.1 for Cloud Run). A duration that is a
// whole number of increments up to float error (0.121 s) is not rounded up
// again; any positive duration bills at least one increment. Missing or
// negative durations bill nothing.
func BilledSeconds(seconds, increment float64) float64 {
	s := nz(seconds)
	if increment <= 0 || s == 0 {
		return s
	}
	n := math.Max(1, math.Ceil(s/increment-1e-9))
	return n * increment
}

// Daily is a $/h rate projected over a day.
func Daily(hourly float64) float64 { return hourly * 24 }

// Monthly is a $/h rate projected over a 730-hour month.
func Monthly(hourly float64) float64 { return hourly * HoursPerMonth }

// PerMillion is dollars per one million requests at a steady rate: NaN
// when the cost or the rate is unknown or there is no traffic.
func PerMillion(hourly, requestsPerSecond float64) float64 {
	if math.IsNaN(hourly) || math.IsNaN(requestsPerSecond) || requestsPerSecond <= 0 {
		return math.NaN()
	}
	return hourly / (requestsPerSecond * 3600) * 1e6
}

// nz maps NaN, infinities and negatives to zero so a missing input never
// poisons a bill.
func nz(v float64) float64 {
	if math.IsNaN(v) || v < 0 || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// known reports whether v is a usable measurement (finite, not negative).
func known(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }
