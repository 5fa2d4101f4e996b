package cost

import (
	"math"
	"strings"
	"testing"
)

// rpsForMonthly is the steady rate that makes n requests in a 730-hour month.
func rpsForMonthly(n float64) float64 { return n / (3600 * HoursPerMonth) }

// AWS's own pricing-page example: 512 MB, 3 million invocations a month of
// 1 s each, x86, with the free tier.
//
//	compute: 3,000,000 × 1 s × 512/1024 GB = 1,500,000 GB-s
//	         − 400,000 free = 1,100,000 GB-s × $0.0000166667 = $18.33337
//	requests: 3,000,000 − 1,000,000 free = 2,000,000 × $0.20/1M = $0.40
//	total $18.73337 a month
func TestLambdaWorkedExampleWithFreeTier(t *testing.T) {
	p := Defaults()
	p.FreeTier = true
	b := p.Lambda(LambdaUsage{RPS: rpsForMonthly(3e6), DurationSeconds: 1, MemoryMB: 512})
	if !near(b.RequestsPerMonth, 3e6) || !near(b.GBSecondsPerMonth, 1.5e6) || b.BilledMS != 1000 {
		t.Fatalf("usage = %+v", b)
	}
	if !near(b.Monthly, 18.73337) || !near(b.Hourly, 18.73337/730) {
		t.Fatalf("monthly = %v, want 18.73337", b.Monthly)
	}
}

// Same load on arm64 without the free tier:
//
//	1,500,000 GB-s × $0.0000133334 = $20.0001; 3M requests × $0.20/1M = $0.60
func TestLambdaArmWithoutFreeTier(t *testing.T) {
	b := Defaults().Lambda(LambdaUsage{RPS: rpsForMonthly(3e6), DurationSeconds: 1, MemoryMB: 512, Arch: Arm})
	if !near(b.Monthly, 20.6001) {
		t.Fatalf("monthly = %v, want 20.6001", b.Monthly)
	}
	// x86 is LambdaHourly, the function sources and the simulator use.
	x := Defaults().Lambda(LambdaUsage{RPS: 10, DurationSeconds: 0.1203, MemoryMB: 512})
	if h := Defaults().LambdaHourly(10, 0.1203, 512); !near(x.Hourly, h) {
		t.Fatalf("Lambda().Hourly %v != LambdaHourly %v", x.Hourly, h)
	}
	// 120.3 ms is billed as 121 ms.
	if x.BilledMS != 121 {
		t.Fatalf("billed %v ms", x.BilledMS)
	}
}

func TestLambdaFreeTierCoversSmallFunctions(t *testing.T) {
	p := Defaults()
	p.FreeTier = true
	// 500,000 requests of 200 ms at 1024 MB = 100,000 GB-s: all free.
	if b := p.Lambda(LambdaUsage{RPS: rpsForMonthly(5e5), DurationSeconds: 0.2, MemoryMB: 1024}); b.Monthly != 0 {
		t.Fatalf("inside the free tier costs %v", b.Monthly)
	}
}

// Cloud Run, sparse traffic: requests almost never overlap, so each is
// billed alone, its duration rounded up to 100 ms:
//
//	λ = 0.001 req/s, 120 ms → billed 200 ms; busy = 1 − e^(−0.001 × 0.2) ≈ 0.0002
//	per month: 0.0002 × 2,628,000 s × (1 vCPU × $0.000024 + 0.5 GiB × $0.0000025)
//	           + 2,628 requests × $0.40/1M
func TestCloudRunSparseTrafficBillsEachRequest(t *testing.T) {
	p := Defaults()
	b := p.CloudRun(CloudRunUsage{RPS: 0.001, DurationSeconds: 0.12, VCPU: 1, MemoryGiB: 0.5, Concurrency: 80})
	busy := -math.Expm1(-0.001 * 0.2)
	if !near(b.Instances, busy) || math.Abs(b.Instances-0.001*0.2)/0.0002 > 1e-3 || !near(b.BilledSeconds, 0.2) {
		t.Fatalf("busy instances = %v, want ≈ λ·t = 0.0002", b.Instances)
	}
	secs := 3600.0 * 730
	want := busy*secs*(0.000024+0.5*0.0000025) + 0.001*secs/1e6*0.40
	if !near(b.Monthly, want) {
		t.Fatalf("monthly = %v, want %v", b.Monthly, want)
	}
}

// Dense traffic: 1000 req/s × 100 ms = 100 in flight; at concurrency 80
// that is 2 instances, each busy 1 − e^(−1000 × 0.1 / 2) ≈ 100% of the time.
//
//	per month: 2 × 2,628,000 s × ($0.000024 + 0.5 × $0.0000025) = $132.71
//	           + 2,628,000,000 requests × $0.40/1M = $1,051.20
func TestCloudRunDenseTrafficBillsInstances(t *testing.T) {
	b := Defaults().CloudRun(CloudRunUsage{RPS: 1000, DurationSeconds: 0.1, VCPU: 1, MemoryGiB: 0.5, Concurrency: 80})
	if !near(b.Instances, 2*(-math.Expm1(-50))) {
		t.Fatalf("instances = %v, want 2", b.Instances)
	}
	want := 2*2628000*(0.000024+0.5*0.0000025) + 2628*0.40
	if math.Abs(b.Monthly-want) > 1e-6 {
		t.Fatalf("monthly = %v, want %v", b.Monthly, want)
	}
	// Concurrency 0 means Cloud Run's default of 80.
	if d := Defaults().CloudRun(CloudRunUsage{RPS: 1000, DurationSeconds: 0.1, VCPU: 1, MemoryGiB: 0.5}); !near(d.Monthly, b.Monthly) {
		t.Fatalf("default concurrency gives %v", d.Monthly)
	}
}

func TestCloudRunFreeTier(t *testing.T) {
	p := Defaults()
	p.FreeTier = true
	// 1 req/s of 100 ms: 2.628M requests, busy 1 − e^(−0.1) = 0.0951626 instances
	// → 250,087 vCPU-s and GiB-s a month (1 vCPU, 1 GiB).
	// Billable: 70,087 vCPU-s × 0.000024 + 0 GiB-s (under 360,000) + 628,000 requests × 0.40/1M
	b := p.CloudRun(CloudRunUsage{RPS: 1, DurationSeconds: 0.1, VCPU: 1, MemoryGiB: 1, Concurrency: 80})
	vcpu := -math.Expm1(-0.1) * 2628000
	want := (vcpu-180000)*0.000024 + (2628000-2e6)/1e6*0.40
	if !near(b.Monthly, want) {
		t.Fatalf("monthly = %v, want %v", b.Monthly, want)
	}
}

// Property: Cloud Run's bill never falls as traffic or duration grows,
// although the instance count moves in steps.
func TestCloudRunMonotone(t *testing.T) {
	p := Defaults()
	for _, d := range []float64{0.01, 0.1, 0.45, 2} {
		prev := 0.0
		for rps := 0.0; rps < 5000; rps = rps*1.3 + 0.01 {
			b := p.CloudRun(CloudRunUsage{RPS: rps, DurationSeconds: d, VCPU: 1, MemoryGiB: 0.5, Concurrency: 10})
			if b.Monthly < prev-1e-9 || b.Monthly < 0 {
				t.Fatalf("d=%v: cost fell from %v to %v at %v req/s", d, prev, b.Monthly, rps)
			}
			longer := p.CloudRun(CloudRunUsage{RPS: rps, DurationSeconds: d * 1.5, VCPU: 1, MemoryGiB: 0.5, Concurrency: 10})
			if longer.Monthly < b.Monthly-1e-9 {
				t.Fatalf("longer requests cost less at %v req/s", rps)
			}
			prev = b.Monthly
		}
	}
}

// App Engine standard: F4_1G is 6 F1 units.
//
//	2 instances × 6 × 730 h × $0.05 = $438 a month
//	with the free tier: 28 × 730/24 = 851.67 F1-hours free
//	  → (8,760 − 851.67) × $0.05 = $395.42
func TestAppEngineInstanceHours(t *testing.T) {
	p := Defaults()
	b, err := p.AppEngine("F4_1G", 2)
	if err != nil || !near(b.Monthly, 438) || !near(b.Hourly, 0.6) {
		t.Fatalf("F4_1G = %+v, %v", b, err)
	}
	p.FreeTier = true
	b, _ = p.AppEngine("f4_1g", 2) // class names are case-insensitive
	if !near(b.Monthly, (8760-28*730.0/24)*0.05) {
		t.Fatalf("with free tier = %v", b.Monthly)
	}
	// One B1 all month: 730 h, 9 × 730/24 = 273.75 free → 456.25 × $0.05.
	b, _ = p.AppEngine("B1", 1)
	if !near(b.Monthly, (730-273.75)*0.05) {
		t.Fatalf("B1 with free tier = %v", b.Monthly)
	}
	// One F1 all month fits in the free 28 h a day.
	if b, _ = p.AppEngine("F1", 1); b.Monthly != 0 {
		t.Fatalf("F1 with free tier = %v", b.Monthly)
	}
	_, err = p.AppEngine("F3", 1)
	if err == nil || !strings.Contains(err.Error(), `unknown App Engine instance class "F3" (known: B1, B2, B4, B4_1G, B8, F1, F2, F4, F4_1G)`) {
		t.Fatalf("unknown class: %v", err)
	}
}
