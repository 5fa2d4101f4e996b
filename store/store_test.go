package store

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/perch-dev/perch/sources"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var web = sources.WorkloadID{Cluster: "c", Namespace: "shop", Name: "web"}

func inventory(src string, ids ...sources.WorkloadID) sources.Update {
	u := sources.Update{Source: src, At: t0, Full: true}
	for _, id := range ids {
		u.Workloads = append(u.Workloads, sources.Workload{ID: id, Kind: sources.Deployment, Platform: sources.Kubernetes})
	}
	return u
}

func TestRingAveragesWithinBucketAndClearsSkipped(t *testing.T) {
	r := newRing(15*time.Second, 4)
	r.add(t0, 1)
	r.add(t0.Add(5*time.Second), 3)
	if got := r.at(r.bucket(t0)); got != 2 {
		t.Fatalf("bucket mean = %v, want 2", got)
	}
	// Jump 3 buckets ahead: the two skipped buckets must read empty.
	r.add(t0.Add(45*time.Second), 7)
	for i, want := range []float64{2, math.NaN(), math.NaN(), 7} {
		got := r.at(r.bucket(t0) + int64(i))
		if !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("bucket +%d = %v, want %v", i, got, want)
		}
	}
	// Wrap around: bucket 0 is overwritten by bucket 4 and must not leak.
	r.add(t0.Add(60*time.Second), 9)
	if got := r.at(r.bucket(t0)); !math.IsNaN(got) {
		t.Fatalf("expired bucket still readable: %v", got)
	}
	// Too old: dropped, not written into a live slot.
	r.add(t0, 100)
	if got := r.at(r.bucket(t0.Add(60 * time.Second))); got != 9 {
		t.Fatalf("old sample corrupted a live bucket: %v", got)
	}
}

func TestRingResampleMaxKeepsSpike(t *testing.T) {
	r := newRing(15*time.Second, 240)
	for i := 0; i < 240; i++ {
		v := 1.0
		if i == 101 {
			v = 50
		}
		r.add(t0.Add(time.Duration(i)*15*time.Second), v)
	}
	out := make([]float64, 20)
	r.resample(t0, t0.Add(time.Hour), out, Max)
	peak := 0.0
	for _, v := range out {
		peak = math.Max(peak, v)
	}
	if peak != 50 {
		t.Fatalf("spike lost in resampling: %v", out)
	}
	r.resample(t0, t0.Add(time.Hour), out, Mean)
	if out[0] != 1 {
		t.Fatalf("mean of flat data = %v", out[0])
	}
}

func TestApplyInventoryLatestAndFullRemoval(t *testing.T) {
	s := New()
	other := sources.WorkloadID{Cluster: "c", Namespace: "shop", Name: "api"}
	s.Apply(inventory("demo", web, other))
	s.Apply(sources.Update{Source: "demo", At: t0, Samples: []sources.Sample{
		{ID: web, Metric: sources.LatencyP99, T: t0, V: 0.2},
		{ID: web, Metric: sources.LatencyP99, T: t0.Add(-time.Minute), V: 9}, // older: not latest
		{ID: sources.WorkloadID{Name: "ghost"}, Metric: sources.CostRate, T: t0, V: 1},
	}})
	sum := s.Summaries(t0, 4)
	if len(sum) != 2 || sum[0].ID != other || sum[1].ID != web {
		t.Fatalf("summaries not sorted or wrong: %+v", sum)
	}
	if got := sum[1].Value(sources.LatencyP99); got != 0.2 {
		t.Fatalf("latest p99 = %v, want 0.2", got)
	}
	if sum[1].Has(sources.CostRate) {
		t.Fatal("a metric never seen must be NaN, not zero")
	}
	s.Apply(inventory("demo", web))
	if s.Len() != 1 {
		t.Fatalf("full inventory did not remove the missing workload: %d", s.Len())
	}
	// Another source's full inventory must not remove demo's rows.
	s.Apply(inventory("prom"))
	if s.Len() != 1 {
		t.Fatal("a source removed another source's workloads")
	}
}

func TestHealthAndStaleness(t *testing.T) {
	s := New()
	s.Apply(inventory("demo", web))
	boom := errors.New("connection refused")
	s.Apply(sources.Update{Source: "demo", At: t0.Add(time.Minute), Err: boom})
	s.Apply(sources.Update{Source: "demo", At: t0.Add(2 * time.Minute), Err: boom})
	h := s.Health()[0]
	if h.Err == nil || !h.ErrSince.Equal(t0.Add(time.Minute)) || !h.LastOK.Equal(t0) {
		t.Fatalf("health = %+v", h)
	}
	if st := h.State(t0.Add(2*time.Minute), 15*time.Second); st != sources.HealthDegraded {
		t.Fatalf("state = %v", st)
	}
	if !s.Summaries(t0, 0)[0].Stale {
		t.Fatal("rows of a failing source must be marked stale")
	}
	s.Apply(sources.Update{Source: "demo", At: t0.Add(3 * time.Minute), Samples: []sources.Sample{{ID: web, Metric: sources.CostRate, T: t0.Add(3 * time.Minute), V: 1}}})
	if h := s.Health()[0]; h.Err != nil || !h.ErrSince.IsZero() {
		t.Fatalf("recovery not recorded: %+v", h)
	}
}

func TestRangePicksTierAndAlignsToPoints(t *testing.T) {
	s := New()
	s.Apply(inventory("demo", web))
	var smp []sources.Sample
	for ts := t0.Add(-24 * time.Hour); ts.Before(t0); ts = ts.Add(15 * time.Second) {
		smp = append(smp, sources.Sample{ID: web, Metric: sources.RequestRate, T: ts, V: float64(ts.Hour())})
	}
	s.Apply(sources.Update{Source: "demo", At: t0, Samples: smp})
	hour := s.Range(web, sources.RequestRate, t0.Add(-time.Hour), t0, 120, Mean)
	if len(hour) != 120 || hour[0] != 11 || hour[119] != 11 {
		t.Fatalf("last hour from fine tier: first %v last %v", hour[0], hour[len(hour)-1])
	}
	day := s.Range(web, sources.RequestRate, t0.Add(-24*time.Hour), t0, 48, Mean)
	if day[0] != 12 || day[47] != 11 {
		t.Fatalf("24h from coarse tier: first %v last %v", day[0], day[47])
	}
	// Older than the coarse tier holds: NaN, not zeros.
	old := s.Range(web, sources.RequestRate, t0.Add(-72*time.Hour), t0.Add(-48*time.Hour), 10, Mean)
	for _, v := range old {
		if !math.IsNaN(v) {
			t.Fatalf("data beyond retention: %v", old)
		}
	}
}

func TestMemoryIsBoundedBySeriesNotByTime(t *testing.T) {
	s := New()
	s.Apply(inventory("demo", web))
	measure := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	feed := func(from time.Time, n int) {
		for i := 0; i < n; i++ {
			ts := from.Add(time.Duration(i) * 15 * time.Second)
			s.Apply(sources.Update{Source: "demo", At: ts, Samples: []sources.Sample{{ID: web, Metric: sources.CostRate, T: ts, V: 1}}})
		}
	}
	feed(t0, 1000)
	before := measure()
	feed(t0.Add(1000*15*time.Second), 20000) // three more days
	after := measure()
	if after > before+64<<10 {
		t.Fatalf("heap grew from %d to %d bytes for the same series", before, after)
	}
}

type flakySource struct{ runs atomic.Int32 }

func (f *flakySource) Name() string { return "flaky" }
func (f *flakySource) Run(ctx context.Context, out chan<- sources.Update) error {
	if f.runs.Add(1) == 1 {
		panic("backend exploded")
	}
	out <- sources.Update{Source: "flaky", At: time.Now(), Full: true,
		Workloads: []sources.Workload{{ID: web}}}
	<-ctx.Done()
	return ctx.Err()
}

func TestFeedSurvivesPanicAndRestarts(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	src := &flakySource{}
	go func() { s.Feed(ctx, src); close(done) }()
	deadline := time.After(5 * time.Second)
	for s.Len() == 0 {
		select {
		case <-s.Changed():
		case <-deadline:
			t.Fatalf("source never restarted; health %+v", s.Health())
		}
	}
	if src.runs.Load() != 2 {
		t.Fatalf("runs = %d", src.runs.Load())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Feed did not return after cancel")
	}
}

func TestTrendCellsAreAlignedPeaksOfTheLastHour(t *testing.T) {
	s := New()
	s.Apply(inventory("demo", web))
	for ts := t0; ts.Before(t0.Add(71 * time.Minute)); ts = ts.Add(FineStep) {
		if ts.Sub(t0) >= 40*time.Minute && ts.Sub(t0) < 44*time.Minute {
			continue // a gap: NaN cells, not zeros
		}
		v := float64(ts.Sub(t0) / time.Minute)
		s.Apply(sources.Update{Source: "demo", At: ts, Samples: []sources.Sample{{ID: web, Metric: sources.LatencyP99, T: ts, V: v}}})
	}
	// 30 cells of 2 minutes; now at 70m45s: the last cell is [70m, 72m).
	tr := s.Summaries(t0.Add(70*time.Minute+45*time.Second), 30)[0].LatencyTrend
	if len(tr) != 30 || tr[29] != 70 || tr[28] != 69 || tr[0] != 13 {
		t.Fatalf("trend = %v: want cell peaks 13 (12-14m) … 69, 70", tr)
	}
	if !math.IsNaN(tr[14]) || !math.IsNaN(tr[15]) || tr[16] != 45 {
		t.Fatalf("the 40-44m gap must be NaN cells: %v", tr[13:17])
	}
	// Within a cell only the last value may change; at the next cell
	// boundary the whole trend shifts by one.
	same := s.Summaries(t0.Add(71*time.Minute+50*time.Second), 30)[0].LatencyTrend
	for i := 0; i < 29; i++ {
		if same[i] != tr[i] && !(math.IsNaN(same[i]) && math.IsNaN(tr[i])) {
			t.Fatalf("cell %d changed within a cell: %v vs %v", i, same[i], tr[i])
		}
	}
	next := s.Summaries(t0.Add(72*time.Minute), 30)[0].LatencyTrend
	if next[28] != 70 || next[0] != 15 || !math.IsNaN(next[29]) {
		t.Fatalf("after the boundary the trend shifts by one cell: %v", next)
	}
}

func TestMetricNoLongerReportedBecomesUnknown(t *testing.T) {
	s := New()
	s.Apply(inventory("demo", web))
	s.Apply(sources.Update{Source: "demo", At: t0, Samples: []sources.Sample{
		{ID: web, Metric: sources.LatencyP99, T: t0, V: 0.3},
		{ID: web, Metric: sources.RequestRate, T: t0, V: 5},
	}})
	later := t0.Add(2 * time.Minute)
	s.Apply(sources.Update{Source: "demo", At: later, Samples: []sources.Sample{{ID: web, Metric: sources.RequestRate, T: later, V: 0}}})
	sum := s.Summaries(later, 0)[0]
	if sum.Has(sources.LatencyP99) {
		t.Fatalf("p99 of an idle workload still shows %v", sum.Value(sources.LatencyP99))
	}
	if sum.Value(sources.RequestRate) != 0 {
		t.Fatal("the current rate must stay")
	}
}

func TestSilentSourceMakesRowsStale(t *testing.T) {
	s := New()
	s.SetStaleAfter(45 * time.Second)
	s.Apply(inventory("demo", web))
	if s.Summaries(t0.Add(30*time.Second), 0)[0].Stale {
		t.Fatal("30 s of silence is within the allowance")
	}
	if !s.Summaries(t0.Add(time.Hour), 0)[0].Stale {
		t.Fatal("a source silent for an hour must mark its rows stale")
	}
}

func TestPartialRoundKeepsRowsFreshAndClearsWhenLifted(t *testing.T) {
	s := New()
	s.Apply(inventory("kube", web))
	forbidden := errors.New(`nodes is forbidden: cluster-wide list not allowed`)
	at := t0.Add(time.Minute)
	s.Apply(sources.Update{Source: "kube", At: at, Samples: []sources.Sample{{ID: web, Metric: sources.CostRate, T: at, V: 1}}, Complete: true, Partial: forbidden})
	h := s.Health()[0]
	if h.Err != nil || h.Partial != forbidden || !h.LastOK.Equal(at) {
		t.Fatalf("a partial round is a good round with a note: %+v", h)
	}
	if s.Summaries(at, 0)[0].Stale {
		t.Fatal("a permanent RBAC limit must not mark the rows it can see stale")
	}
	// A round without the limit (RBAC granted) clears it; an error round keeps it.
	s.Apply(sources.Update{Source: "kube", At: at.Add(time.Second), Err: errors.New("connection refused")})
	if h := s.Health()[0]; h.Partial != forbidden {
		t.Fatalf("an error round must not clear the partial note: %+v", h)
	}
	s.Apply(sources.Update{Source: "kube", At: at.Add(2 * time.Second), Complete: true})
	if h := s.Health()[0]; h.Partial != nil || h.Err != nil {
		t.Fatalf("a complete round without Partial must clear it: %+v", h)
	}
}

func TestDayTierIsAllocatedOnlyOnceTheFineTierOverflows(t *testing.T) {
	s := New()
	s.Apply(inventory("demo", web))
	feed := func(from, to time.Time) {
		for ts := from; ts.Before(to); ts = ts.Add(15 * time.Second) {
			// one value per 5-minute bucket, so coarse means are exact
			v := float64(ts.Sub(t0) / (5 * time.Minute))
			s.Apply(sources.Update{Source: "demo", At: ts, Samples: []sources.Sample{{ID: web, Metric: sources.RequestRate, T: ts, V: v}}})
		}
	}
	coarse := func() *ring { return s.entries[web].series[sources.RequestRate].coarse }

	feed(t0, t0.Add(50*time.Minute))
	if coarse() != nil {
		t.Fatal("50 minutes fit the fine tier: no day tier yet")
	}
	// A 6 h chart of a 50-minute series comes from the fine tier.
	six := s.Range(web, sources.RequestRate, t0.Add(50*time.Minute-6*time.Hour), t0.Add(50*time.Minute), 72, Mean)
	if six[71] != 9 || six[62] != 0 || !math.IsNaN(six[61]) || !math.IsNaN(six[0]) {
		t.Fatalf("6h chart before the day tier exists: last buckets %v, first %v", six[68:], six[0])
	}

	feed(t0.Add(50*time.Minute), t0.Add(3*time.Hour))
	if coarse() == nil {
		t.Fatal("3 hours overflow the fine tier: the day tier must exist")
	}
	// The first hour was folded into the day tier when it was allocated:
	// the 5-minute means are the same as if it had been there all along.
	day := s.Range(web, sources.RequestRate, t0, t0.Add(3*time.Hour), 36, Mean)
	for i, v := range day {
		if v != float64(i) {
			t.Fatalf("day tier bucket %d = %v, want %d (folded from the fine tier or added directly)", i, v, i)
		}
	}
}

func TestOldSamplesAllocateTheDayTierAtOnce(t *testing.T) {
	s := New()
	s.Apply(inventory("demo", web))
	s.Apply(sources.Update{Source: "demo", At: t0, Samples: []sources.Sample{
		{ID: web, Metric: sources.CostRate, T: t0, V: 2},
		{ID: web, Metric: sources.CostRate, T: t0.Add(-5 * time.Hour), V: 1}, // a backfill
	}})
	if s.entries[web].series[sources.CostRate].coarse == nil {
		t.Fatal("a sample older than the fine tier needs the day tier")
	}
	got := s.Range(web, sources.CostRate, t0.Add(-6*time.Hour), t0.Add(5*time.Minute), 73, Mean)
	if got[12] != 1 || got[72] != 2 {
		t.Fatalf("backfilled and current values: %v %v", got[12], got[72])
	}
}

func TestKeepHistoryKeepsLatestOfTheRest(t *testing.T) {
	s := New()
	s.KeepHistory(sources.CostRate)
	s.Apply(inventory("demo", web))
	s.Apply(sources.Update{Source: "demo", At: t0, Samples: []sources.Sample{
		{ID: web, Metric: sources.CostRate, T: t0, V: 2},
		{ID: web, Metric: sources.CPURequest, T: t0, V: 0.5},
	}})
	sum := s.Summaries(t0, 0)[0]
	if sum.Latest[sources.CPURequest] != 0.5 || sum.Latest[sources.CostRate] != 2 {
		t.Fatalf("latest values must be kept for every metric: %v", sum.Latest)
	}
	if s.entries[web].series[sources.CPURequest] != nil {
		t.Fatal("a metric without history must not allocate rings")
	}
	if v := s.Range(web, sources.CostRate, t0, t0.Add(15*time.Second), 1, Mean); v[0] != 2 {
		t.Fatalf("kept history: %v", v)
	}
}
