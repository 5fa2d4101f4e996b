// Package cost holds perch's pure pricing functions. Every price has a unit
// in its name; defaults are OpenCost's (Kubernetes) and AWS's public list
// prices (Lambda, x86, us-east-1), all overridable from config.
package cost

import "math"

// GiB is bytes per gibibyte.
const GiB = 1 << 30

// Prices is one price table.
type Prices struct {
	Name string `json:"name" yaml:"name"`
	// Kubernetes (OpenCost defaults).
	CPUHour float64 `json:"cpu_hour" yaml:"cpu_hour"` // $ per vCPU-hour
	GiBHour float64 `json:"gib_hour" yaml:"gib_hour"` // $ per GiB-hour of RAM
	GPUHour float64 `json:"gpu_hour" yaml:"gpu_hour"` // $ per GPU-hour
	// AWS Lambda.
	LambdaPerMillionRequests float64 `json:"lambda_per_million_requests" yaml:"lambda_per_million_requests"`
	LambdaGBSecond           float64 `json:"lambda_gb_second" yaml:"lambda_gb_second"` // $ per GB-second
}

// Defaults returns OpenCost's default node prices and Lambda x86 list prices.
func Defaults() Prices {
	return Prices{
		Name:    "defaults (OpenCost, AWS Lambda x86 us-east-1)",
		CPUHour: 0.031611, GiBHour: 0.004237, GPUHour: 0.95,
		LambdaPerMillionRequests: 0.20, LambdaGBSecond: 0.0000166667,
	}
}

// KubeHourly is OpenCost's rule for one container or a whole workload:
// max(request, usage) of CPU (cores) and memory (bytes) times the prices.
func (p Prices) KubeHourly(cpuRequest, cpuUsage, memRequestBytes, memUsageBytes float64) float64 {
	cpu := math.Max(nz(cpuRequest), nz(cpuUsage))
	mem := math.Max(nz(memRequestBytes), nz(memUsageBytes)) / GiB
	return cpu*p.CPUHour + mem*p.GiBHour
}

// LambdaHourly is the Lambda bill per hour at a steady request rate:
// requests plus GB-seconds, each invocation's duration rounded up to 1 ms.
func (p Prices) LambdaHourly(requestsPerSecond, avgDurationSeconds, memoryMB float64) float64 {
	rps := nz(requestsPerSecond)
	billedSeconds := math.Ceil(nz(avgDurationSeconds)*1000) / 1000
	perHour := rps * 3600
	gbSeconds := perHour * billedSeconds * nz(memoryMB) / 1024
	return perHour/1e6*p.LambdaPerMillionRequests + gbSeconds*p.LambdaGBSecond
}

// nz maps NaN and negatives to zero so a missing input never poisons a bill.
func nz(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return v
}
