package cost

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestKubeHourlyTakesMaxOfRequestAndUsage(t *testing.T) {
	p := Defaults()
	cases := []struct {
		name                   string
		cpuReq, cpuUse, mr, mu float64
		want                   float64
	}{
		{"request dominates", 2, 0.5, 4 * GiB, 1 * GiB, 2*0.031611 + 4*0.004237},
		{"usage dominates", 0.5, 1.5, 1 * GiB, 3 * GiB, 1.5*0.031611 + 3*0.004237},
		{"missing usage", 1, math.NaN(), 2 * GiB, math.NaN(), 0.031611 + 2*0.004237},
		{"nothing", 0, 0, 0, 0, 0},
	}
	for _, c := range cases {
		if got := p.KubeHourly(c.cpuReq, c.cpuUse, c.mr, c.mu); !near(got, c.want) {
			t.Errorf("%s: got %v want %v", c.name, got, c.want)
		}
	}
}

func TestLambdaHourly(t *testing.T) {
	p := Defaults()
	// 10 req/s, 120.3 ms billed as 121 ms, 512 MB.
	perHour := 36000.0
	want := perHour/1e6*0.20 + perHour*0.121*0.5*0.0000166667
	if got := p.LambdaHourly(10, 0.1203, 512); !near(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if got := p.LambdaHourly(0, 0.1, 512); got != 0 {
		t.Fatalf("idle function costs %v, want 0", got)
	}
}
