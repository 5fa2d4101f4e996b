package cost_test

import (
	"math"
	"testing"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/sim"
)

var epoch = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)

// summaries runs the simulator at t and folds its samples into overview
// rows, as the store would.
func summaries(t testing.TB, s *sim.Sim, at time.Time) []sources.Summary {
	t.Helper()
	rows := map[sources.WorkloadID]*sources.Summary{}
	var order []sources.WorkloadID
	for _, w := range s.Workloads() {
		r := &sources.Summary{Workload: w, Source: s.Name()}
		for i := range r.Latest {
			r.Latest[i] = math.NaN()
		}
		rows[w.ID] = r
		order = append(order, w.ID)
	}
	for _, x := range s.At(at) {
		if r := rows[x.ID]; r != nil {
			r.Latest[x.Metric] = x.V
		}
	}
	out := make([]sources.Summary, 0, len(order))
	for _, id := range order {
		out = append(out, *rows[id])
	}
	return out
}

func newSim(t testing.TB, cfg sim.Config) *sim.Sim {
	t.Helper()
	cfg.Start = epoch
	now := epoch.Add(30 * time.Hour)
	cfg.Clock = func() time.Time { return now }
	cfg.History = time.Hour
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The simulator prices its workloads with this package: its cost column
// must be what the cost functions say for the same requests and usage, the
// what-if's "now" must be that cost, and totals must add up.
func TestSimulatorCostsFlowThroughThisPackage(t *testing.T) {
	p := cost.Defaults()
	p.CPUHour *= 3 // a custom table must be honoured end to end
	p.Name = "test table"
	s := newSim(t, sim.Config{Prices: p})
	rows := summaries(t, s, epoch.Add(14*time.Hour+10*time.Minute))
	var sum float64
	kinds := map[sources.Platform]int{}
	for i := range rows {
		r := &rows[i]
		got := r.Latest[sources.CostRate]
		if math.IsNaN(got) {
			t.Fatalf("%s: no cost", r.ID)
		}
		sum += got
		kinds[r.Platform]++
		switch r.Platform {
		case sources.Lambda:
			rps := r.Latest[sources.RequestRate]
			dur := cost.MeanDuration(r.Latest[sources.LatencyP50], r.Latest[sources.LatencyP95], r.Latest[sources.LatencyP99])
			if rps > 0 {
				want := p.Lambda(cost.LambdaUsage{RPS: rps, DurationSeconds: dur, MemoryMB: r.MemoryMB}).Hourly
				// the sim's duration may round to the next millisecond
				tol := rps * 3600 * 0.001 * r.MemoryMB / 1024 * p.LambdaGBSecond
				if math.Abs(got-want) > tol+1e-12 {
					t.Errorf("%s: sim cost %v, Lambda formula %v", r.ID, got, want)
				}
			}
		default:
			want := p.Rates().Hourly(cost.UsageOf(r))
			if math.Abs(got-want) > 1e-12*math.Max(1, want) {
				t.Errorf("%s: sim cost %v, OpenCost rule %v", r.ID, got, want)
			}
		}
		c := p.Compare(cost.ObservedFrom(r, cost.Series{}), cost.DefaultAssumptions())
		if c.Options[cost.AsNow].Hourly != got || c.PricesName != "test table" {
			t.Errorf("%s: what-if now %v, sim %v", r.ID, c.Options[cost.AsNow].Hourly, got)
		}
	}
	if len(kinds) < 3 {
		t.Fatalf("the demo should span platforms, got %v", kinds)
	}
	tot := p.Totals(rows, 5)
	if math.Abs(tot.All.Hourly-sum) > 1e-9 || tot.All.Workloads != len(rows) || len(tot.Top) != 5 {
		t.Fatalf("totals %+v, sum %v", tot.All, sum)
	}
}

// BenchmarkWhatIf1000 is the what-if for 1,000 generated workloads (the
// detail view runs it for one at a time): Observed from each row, then
// Compare with both break-even searches.
func BenchmarkWhatIf1000(b *testing.B) {
	s := newSim(b, sim.Config{Workloads: 1000})
	rows := summaries(b, s, epoch.Add(15*time.Hour))
	p, a := cost.Defaults(), cost.DefaultAssumptions()
	b.ResetTimer()
	for b.Loop() {
		for i := range rows {
			c := p.Compare(cost.ObservedFrom(&rows[i], cost.Series{Window: time.Hour}), a)
			if c.Cheapest < -1 {
				b.Fatal("impossible")
			}
		}
	}
}
