package cost

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Free allowances per month (applied only when Prices.FreeTier is set).
const (
	// https://aws.amazon.com/lambda/pricing/, checked 2026-11-26.
	LambdaFreeRequests  = 1e6
	LambdaFreeGBSeconds = 400_000
	// https://cloud.google.com/run/pricing (request-based billing),
	// checked 2026-11-26.
	CloudRunFreeVCPUSeconds = 180_000
	CloudRunFreeGiBSeconds  = 360_000
	CloudRunFreeRequests    = 2e6
	// https://cloud.google.com/appengine/quotas (standard environment
	// instances), checked 2026-11-26: per day, in F1/B1 instance-hours.
	AppEngineFreeFrontendHoursPerDay = 28
	AppEngineFreeBackendHoursPerDay  = 9
)

// Lambda limits and the memory that buys one full vCPU.
const (
	LambdaMinMemoryMB = 128
	LambdaMaxMemoryMB = 10240
	// LambdaMBPerVCPU: "at 1,769 MB, a function has the equivalent of one
	// vCPU" (AWS Lambda developer guide, memory configuration), checked
	// 2026-11-26. CPU scales linearly with memory below that.
	LambdaMBPerVCPU = 1769
)

// Arch is a Lambda function's instruction set.
type Arch string

// Lambda architectures.
const (
	X86 Arch = "x86_64"
	Arm Arch = "arm64"
)

// LambdaUsage is a steady load on one Lambda function.
type LambdaUsage struct {
	RPS             float64 // requests per second
	DurationSeconds float64 // mean duration per invocation
	MemoryMB        float64 // configured memory size
	Arch            Arch    // "" = x86_64
}

// LambdaBill is one function's Lambda bill over a 730-hour month.
type LambdaBill struct {
	BilledMS          float64 // per invocation: the mean duration rounded up to 1 ms
	RequestsPerMonth  float64
	GBSecondsPerMonth float64
	Monthly, Hourly   float64 // $ (Hourly = Monthly / 730), after the free tier if on
}

// Lambda is the bill for a steady load: requests × price per request plus
// GB-seconds (memory MB / 1024 × billed seconds) × price per GB-second, the
// GB-second price by architecture; with FreeTier, the first 1M requests
// and 400,000 GB-s a month are free. Duration is rounded up to 1 ms per
// invocation; with only a mean known perch rounds the mean, which
// under-counts by less than 1 ms per request.
func (p Prices) Lambda(u LambdaUsage) LambdaBill {
	billed := BilledSeconds(u.DurationSeconds, 0.001)
	b := LambdaBill{BilledMS: math.Round(billed * 1000)}
	b.RequestsPerMonth = nz(u.RPS) * 3600 * HoursPerMonth
	b.GBSecondsPerMonth = b.RequestsPerMonth * billed * nz(u.MemoryMB) / 1024
	gbPrice := p.LambdaGBSecond
	if u.Arch == Arm {
		gbPrice = p.LambdaArmGBSecond
	}
	req, gbs := b.RequestsPerMonth, b.GBSecondsPerMonth
	if p.FreeTier {
		req, gbs = math.Max(req-LambdaFreeRequests, 0), math.Max(gbs-LambdaFreeGBSeconds, 0)
	}
	b.Monthly = req/1e6*nz(p.LambdaPerMillionRequests) + gbs*nz(gbPrice)
	b.Hourly = b.Monthly / HoursPerMonth
	return b
}

// CloudRunUsage is a steady load on one Cloud Run service with
// request-based billing (CPU only allocated during requests).
type CloudRunUsage struct {
	RPS             float64 // requests per second
	DurationSeconds float64 // mean request duration
	VCPU            float64 // per instance
	MemoryGiB       float64 // per instance
	Concurrency     float64 // max concurrent requests per instance (Cloud Run's default is 80)
}

// CloudRunDefaultConcurrency is Cloud Run's default maximum concurrent
// requests per instance (https://cloud.google.com/run/docs/about-concurrency,
// checked 2026-11-26).
const CloudRunDefaultConcurrency = 80

// CloudRunBill is one service's Cloud Run bill over a 730-hour month.
type CloudRunBill struct {
	// Instances is the mean number of instances busy with at least one
	// request: billable instance-seconds per second.
	Instances           float64
	BilledSeconds       float64 // per request: its duration rounded up to 100 ms
	RequestsPerMonth    float64
	VCPUSecondsPerMonth float64
	GiBSecondsPerMonth  float64
	Monthly, Hourly     float64 // $, after the free tier if on
}

// CloudRun is the bill for a steady load. An instance is billable while it
// serves at least one request, rounded up to 100 ms. With Poisson arrivals
// spread over n = ceil(in-flight / concurrency) instances (at least 1), each
// instance is busy a share 1 − e^(−λ·t/n) of the time (M/G/∞), t being the
// duration rounded up to 100 ms. So sparse traffic pays λ·t per second and
// dense traffic about n instances; the cost never falls as traffic grows.
func (p Prices) CloudRun(u CloudRunUsage) CloudRunBill {
	rps, d := nz(u.RPS), nz(u.DurationSeconds)
	b := CloudRunBill{BilledSeconds: BilledSeconds(d, 0.1)}
	c := u.Concurrency
	if !(c >= 1) {
		c = CloudRunDefaultConcurrency
	}
	if rps > 0 && b.BilledSeconds > 0 {
		n := math.Max(1, math.Ceil(rps*d/c-1e-9))
		b.Instances = n * -math.Expm1(-rps*b.BilledSeconds/n)
	}
	secs := 3600.0 * HoursPerMonth
	b.RequestsPerMonth = rps * secs
	b.VCPUSecondsPerMonth = b.Instances * secs * nz(u.VCPU)
	b.GiBSecondsPerMonth = b.Instances * secs * nz(u.MemoryGiB)
	req, cpu, mem := b.RequestsPerMonth, b.VCPUSecondsPerMonth, b.GiBSecondsPerMonth
	if p.FreeTier {
		req = math.Max(req-CloudRunFreeRequests, 0)
		cpu = math.Max(cpu-CloudRunFreeVCPUSeconds, 0)
		mem = math.Max(mem-CloudRunFreeGiBSeconds, 0)
	}
	b.Monthly = req/1e6*nz(p.CloudRunPerMillionRequests) + cpu*nz(p.CloudRunVCPUSecond) + mem*nz(p.CloudRunGiBSecond)
	b.Hourly = b.Monthly / HoursPerMonth
	return b
}

// InstanceClasses maps App Engine standard instance classes to their cost
// in F1/B1 instance-hours per hour (the ratios of the published prices:
// F2 $0.10 = 2 × F1 $0.05, F4_1G $0.30 = 6 ×, B8 $0.40 = 8 ×).
var InstanceClasses = map[string]float64{
	"F1": 1, "F2": 2, "F4": 4, "F4_1G": 6,
	"B1": 1, "B2": 2, "B4": 4, "B4_1G": 6, "B8": 8,
}

// AppEngineBill is an App Engine standard service's bill over a month.
type AppEngineBill struct {
	InstanceHoursPerMonth float64 // in F1/B1 units, before the free tier
	Monthly, Hourly       float64
}

// AppEngine is the bill for instances (mean running instances of the class)
// of an App Engine standard service: instance-hours × class multiple × the
// F1/B1 price; with FreeTier, 28 frontend (F) or 9 backend (B)
// instance-hours a day are free. Unknown classes are an error naming the
// known ones.
func (p Prices) AppEngine(class string, instances float64) (AppEngineBill, error) {
	units, ok := InstanceClasses[strings.ToUpper(class)]
	if !ok {
		known := make([]string, 0, len(InstanceClasses))
		for k := range InstanceClasses {
			known = append(known, k)
		}
		sort.Strings(known)
		return AppEngineBill{Monthly: math.NaN(), Hourly: math.NaN()},
			fmt.Errorf("unknown App Engine instance class %q (known: %s)", class, strings.Join(known, ", "))
	}
	b := AppEngineBill{InstanceHoursPerMonth: nz(instances) * units * HoursPerMonth}
	hours := b.InstanceHoursPerMonth
	if p.FreeTier {
		perDay := float64(AppEngineFreeFrontendHoursPerDay)
		if strings.HasPrefix(strings.ToUpper(class), "B") {
			perDay = AppEngineFreeBackendHoursPerDay
		}
		hours = math.Max(hours-perDay*HoursPerMonth/24, 0)
	}
	b.Monthly = hours * nz(p.AppEngineInstanceHour)
	b.Hourly = b.Monthly / HoursPerMonth
	return b, nil
}
