package cost

import (
	"math"
	"testing"

	"github.com/perch-dev/perch/sources"
)

func TestNodeOverridesByInstanceTypeAndSpot(t *testing.T) {
	p := Defaults().WithNodes(
		NodePrice{InstanceType: "m5.large", CPUHour: Price(0.048), GiBHour: Price(0.006)},
		NodePrice{InstanceType: "g4dn.xlarge", GPUHour: Price(0.526)},
		NodePrice{Spot: true, CPUHour: Price(0.01)}, // every spot node
		NodePrice{InstanceType: "m5.large", Spot: true, GiBHour: Price(0.002)},
	)
	cases := []struct {
		name       string
		typ        string
		spot       bool
		cpu, gib   float64
		gpu        float64
		basis      string
		unknownTyp bool
	}{
		{"exact on-demand", "m5.large", false, 0.048, 0.006, 0.95, "m5.large", false},
		{"exact spot inherits spot CPU default, sets memory", "m5.large", true, 0.006655, 0.002, 0.95, "m5.large (spot)", false},
		{"GPU only, rest inherited", "g4dn.xlarge", false, 0.031611, 0.004237, 0.526, "g4dn.xlarge", false},
		{"spot wildcard", "c5.xlarge", true, 0.01, 0.000892, 0.95, "spot nodes", false},
		{"unknown on-demand type: defaults, flagged", "c5.xlarge", false, 0.031611, 0.004237, 0.95, "default", true},
		{"no instance type: defaults, not flagged", "", false, 0.031611, 0.004237, 0.95, "default", false},
	}
	for _, c := range cases {
		r := p.Node(c.typ, c.spot)
		if !near(r.CPUHour, c.cpu) || !near(r.GiBHour, c.gib) || !near(r.GPUHour, c.gpu) || r.Basis != c.basis || r.Unknown != c.unknownTyp {
			t.Errorf("%s: got %+v", c.name, r)
		}
	}
	// Without overrides every type is priced by the defaults and none is "unknown".
	if r := Defaults().Node("m9.huge", false); r.Unknown || r.CPUHour != 0.031611 {
		t.Errorf("no overrides: %+v", r)
	}
	if r := Defaults().Node("m9.huge", true); r.CPUHour != 0.006655 || r.GiBHour != 0.000892 || r.Basis != "spot default" {
		t.Errorf("spot without overrides uses OpenCost's spot defaults: %+v", r)
	}
}

func TestBillIdleShareWorkedExample(t *testing.T) {
	r := Defaults().Rates()
	// Requests 2 cores and 4 GiB, using 0.5 cores and 1 GiB.
	// Bill:  2 × 0.031611 + 4 × 0.004237 = 0.063222 + 0.016948 = 0.080170 $/h
	// Idle:  1.5 × 0.031611 + 3 × 0.004237 = 0.0474165 + 0.012711 = 0.0601275 $/h
	// Share: 0.0601275 / 0.080170 = 0.75 (each resource is 3/4 unused)
	b := r.Bill(Usage{CPURequest: 2, CPUUsage: 0.5, MemRequest: 4 * GiB, MemUsage: 1 * GiB})
	if !near(b.Hourly, 0.080170) || !near(b.IdleHourly, 0.0601275) || !near(b.IdleShare(), 0.75) || b.NoRequests {
		t.Fatalf("bill = %+v share %v", b, b.IdleShare())
	}
	// Usage above request: billed on usage, nothing idle for that resource.
	// CPU max(1, 1.5) = 1.5 → 0.0474165; memory 2 GiB requested, 1 used → idle 1 GiB.
	b = r.Bill(Usage{CPURequest: 1, CPUUsage: 1.5, MemRequest: 2 * GiB, MemUsage: 1 * GiB})
	if !near(b.Hourly, 1.5*0.031611+2*0.004237) || !near(b.IdleHourly, 0.004237) {
		t.Fatalf("bill = %+v", b)
	}
	// No requests: "no requests set", billed on usage, nothing idle.
	b = r.Bill(Usage{CPURequest: math.NaN(), CPUUsage: 0.25, MemRequest: 0, MemUsage: 512 * MiB})
	if !b.NoRequests || b.Note() != "no requests set: billed on usage" || !near(b.Hourly, 0.25*0.031611+0.5*0.004237) || b.IdleHourly != 0 {
		t.Fatalf("no requests: %+v", b)
	}
	// Unknown usage: the idle part is unknown, not zero.
	b = r.Bill(Usage{CPURequest: 1, CPUUsage: math.NaN(), MemRequest: GiB, MemUsage: math.NaN()})
	if !math.IsNaN(b.IdleHourly) || !math.IsNaN(b.IdleShare()) {
		t.Fatalf("unknown usage must leave idle unknown: %+v", b)
	}
	// GPUs by request: 2 × $0.95.
	if got := r.Hourly(Usage{GPUs: 2}); !near(got, 1.9) {
		t.Fatalf("2 GPUs = %v", got)
	}
}

func TestPodHourlyIsPerContainer(t *testing.T) {
	r := Defaults().Rates()
	app := Usage{CPURequest: 1, CPUUsage: 0.2}
	side := Usage{CPURequest: 0.1, CPUUsage: 0.5}
	// Per container: max(1, 0.2) + max(0.1, 0.5) = 1.5 cores, not the
	// workload-level max(1.1, 0.7) = 1.1 cores.
	if got := r.PodHourly(app, side); !near(got, 1.5*0.031611) {
		t.Fatalf("PodHourly = %v", got)
	}
	if got := r.Hourly(app.Add(side)); !near(got, 1.1*0.031611) {
		t.Fatalf("workload-level = %v", got)
	}
}

func TestKnativePodsIncludeQueueProxy(t *testing.T) {
	p := Defaults()
	p.QueueProxyMiB = 50
	r := p.Rates()
	user := Usage{CPURequest: 1.5, CPUUsage: 0.6, MemRequest: 3 * 256 * MiB, MemUsage: 3 * 100 * MiB} // 3 pods' user containers
	// User containers: 1.5 × 0.031611 + 0.75 × 0.004237 = 0.0506940
	// Sidecars: 3 × (0.025 × 0.031611 + 50/1024 × 0.004237) = 3 × 0.0009971 = 0.0029914
	want := 1.5*0.031611 + 0.75*0.004237 + 3*(0.025*0.031611+50.0/1024*0.004237)
	kn := p.PodsBill(sources.Knative, user, 3, r)
	if !near(kn.Hourly, want) {
		t.Fatalf("knative = %v, want %v", kn.Hourly, want)
	}
	// The sidecar is not idle capacity: idle is the user containers' alone.
	if !near(kn.IdleHourly, r.Bill(user).IdleHourly) {
		t.Fatalf("idle = %v", kn.IdleHourly)
	}
	// OpenFaaS: the watchdog lives in the function container, nothing added.
	if of := p.PodsBill(sources.OpenFaaS, user, 3, r); !near(of.Hourly, r.Hourly(user)) {
		t.Fatalf("openfaas = %v", of.Hourly)
	}
	// Scaled to zero: no pods, no sidecars, no cost.
	if z := p.PodsBill(sources.Knative, Usage{}, 0, r); z.Hourly != 0 {
		t.Fatalf("scaled to zero costs %v", z.Hourly)
	}
}

func TestIdleShareFromSummary(t *testing.T) {
	var s sources.Summary
	for i := range s.Latest {
		s.Latest[i] = math.NaN()
	}
	s.Latest[sources.CPURequest], s.Latest[sources.CPUUsage] = 4, 1
	s.Latest[sources.MemRequest], s.Latest[sources.MemUsage] = 8*GiB, 2*GiB
	if got := Defaults().IdleShare(&s); !near(got, 0.75) {
		t.Fatalf("idle share = %v, want 0.75", got)
	}
	s.Latest[sources.MemUsage] = math.NaN()
	if got := Defaults().IdleShare(&s); !math.IsNaN(got) {
		t.Fatalf("idle share without memory usage = %v, want NaN", got)
	}
}

// Property: OpenCost's rule never goes negative and never falls when usage
// or requests grow.
func TestKubeBillMonotoneAndNonNegative(t *testing.T) {
	r := Defaults().Node("x", true)
	prev := -1.0
	for cpu := 0.0; cpu <= 8; cpu += 0.37 {
		for _, mem := range []float64{0, 0.5 * GiB, 3 * GiB} {
			u := Usage{CPURequest: 1, CPUUsage: cpu, MemRequest: GiB, MemUsage: mem}
			h := r.Hourly(u)
			if h < 0 {
				t.Fatalf("negative bill %v for %+v", h, u)
			}
			more := u
			more.MemUsage += GiB
			more.CPURequest += 0.5
			if r.Hourly(more) < h {
				t.Fatalf("bill fell when usage grew: %+v", u)
			}
		}
		h := r.Hourly(Usage{CPURequest: 1, CPUUsage: cpu})
		if h < prev {
			t.Fatalf("bill fell from %v to %v at cpu %v", prev, h, cpu)
		}
		prev = h
	}
	// Garbage in, zero out: negatives and NaN never make a negative bill.
	if h := r.Hourly(Usage{CPURequest: -3, CPUUsage: math.NaN(), MemRequest: math.Inf(1), MemUsage: -1, GPUs: math.NaN()}); h != 0 {
		t.Fatalf("garbage usage billed %v", h)
	}
}
