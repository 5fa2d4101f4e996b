package sources

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

func TestMetricNamesRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for m := Metric(0); m < NumMetrics; m++ {
		name := m.String()
		if name == "" || name == "unknown" || seen[name] {
			t.Fatalf("metric %d has a bad or duplicate name %q", m, name)
		}
		seen[name] = true
		if back, ok := ParseMetric(name); !ok || back != m {
			t.Fatalf("ParseMetric(%q) = %v, %v", name, back, ok)
		}
	}
	if _, ok := ParseMetric("nope"); ok {
		t.Fatal("unknown name parsed")
	}
}

func TestCostPerMillion(t *testing.T) {
	var s Summary
	for i := range s.Latest {
		s.Latest[i] = math.NaN()
	}
	if !math.IsNaN(s.CostPerMillion()) {
		t.Fatal("unknown inputs must give unknown, not zero")
	}
	s.Latest[CostRate], s.Latest[RequestRate] = 0.36, 10 // $0.36/h at 36,000 req/h
	if got := s.CostPerMillion(); math.Abs(got-10) > 1e-9 {
		t.Fatalf("got %v, want $10 per 1M", got)
	}
	s.Latest[RequestRate] = 0
	if !math.IsNaN(s.CostPerMillion()) {
		t.Fatal("no traffic: cost per request is undefined")
	}
}

func TestHealthState(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	cases := []struct {
		h    Health
		want HealthState
	}{
		{Health{}, HealthUnknown},
		{Health{LastOK: now.Add(-10 * time.Second)}, HealthOK},
		{Health{LastOK: now.Add(-time.Minute)}, HealthStale},
		{Health{LastOK: now.Add(-time.Minute), Err: boom}, HealthDegraded},
		{Health{Err: boom}, HealthDown},
	}
	for _, c := range cases {
		if got := c.h.State(now, 15*time.Second); got != c.want {
			t.Errorf("%+v: got %v want %v", c.h, got, c.want)
		}
	}
}

func TestWorkloadIDOrderAndString(t *testing.T) {
	a := WorkloadID{Cluster: "a", Namespace: "z", Name: "z"}
	b := WorkloadID{Cluster: "b", Namespace: "a", Name: "a"}
	if !a.Less(b) || b.Less(a) || a.Less(a) {
		t.Fatal("cluster must order first")
	}
	if (WorkloadID{Namespace: "ns", Name: "n"}).String() != "ns/n" || a.String() != "a/z/z" {
		t.Fatal("String")
	}
	if Kubernetes.IsServerless() || !Lambda.IsServerless() {
		t.Fatal("IsServerless")
	}
}

func TestHealthSettledWaitsForARoundThatIsNotLoading(t *testing.T) {
	loading := fmt.Errorf("context prod: pods %w", ErrLoading)
	for _, c := range []struct {
		h    Health
		want bool
	}{
		{Health{}, false},
		{Health{Rounds: 1, Partial: loading}, false},
		{Health{Rounds: 2, Partial: errors.New("forbidden: cannot list/watch pods")}, true}, // a permanent limit
		{Health{Rounds: 1}, true},
	} {
		if got := c.h.Settled(); got != c.want {
			t.Errorf("Settled(%+v) = %v, want %v", c.h, got, c.want)
		}
	}
}
