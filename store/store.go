// Package store keeps what perch knows: the workload inventory, bounded
// history per series (1 h at 15 s, 24 h at 5 min), latest values and the
// health of every source. Sources write through Apply; views read
// snapshots. It is safe for concurrent use, so one store can serve many
// SSH sessions.
package store

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/perch-dev/perch/sources"
)

// Resolutions of the two history tiers.
const (
	FineStep      = 15 * time.Second
	FineBuckets   = 240 // 1 h
	CoarseStep    = 5 * time.Minute
	CoarseBuckets = 288 // 24 h
)

// LatestMaxLag is how far a metric's newest sample may trail the newest
// sample of its workload and still count as current. A metric a source
// stopped reporting (latency of a function with no traffic) reads as
// unknown instead of repeating its last value forever.
const LatestMaxLag = 90 * time.Second

// series is one metric's history. The coarse tier is allocated only once
// the series spans more than the fine tier holds (after an hour, or when a
// source sends older samples): most sessions are shorter than that, and
// at thousands of workloads the day tier is most of the memory.
type series struct {
	fine, coarse *ring
	first        int64 // earliest fine bucket seen
}

func newSeries() *series { return &series{fine: newRing(FineStep, FineBuckets)} }

func (sr *series) add(t time.Time, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	b := sr.fine.bucket(t)
	if !sr.fine.used {
		sr.first = b
	}
	if sr.coarse == nil && max(b, sr.fine.head)-min(b, sr.first) >= FineBuckets {
		sr.coarse = newRing(CoarseStep, CoarseBuckets)
		sr.fine.foldInto(sr.coarse)
	}
	sr.first = min(sr.first, b)
	sr.fine.add(t, v)
	if sr.coarse != nil {
		sr.coarse.add(t, v)
	}
}

// tier is the ring that serves [from, to): the fine one while it holds
// from (or while it is the only one).
func (sr *series) tier(from, to time.Time) *ring {
	if sr.coarse == nil || (to.Sub(from) <= FineStep*FineBuckets && !from.Before(sr.fine.oldest())) {
		return sr.fine
	}
	return sr.coarse
}

type entry struct {
	workload sources.Workload
	source   string
	latest   [sources.NumMetrics]float64
	latestT  [sources.NumMetrics]int64 // unix ns of latest, 0 when never
	updated  time.Time
	series   [sources.NumMetrics]*series // allocated on first sample
}

// Store is the single in-memory state shared by every view.
type Store struct {
	mu      sync.RWMutex
	entries map[sources.WorkloadID]*entry
	order   []sources.WorkloadID // sorted, rebuilt lazily
	orderOK bool
	health  map[string]*sources.Health
	changed chan struct{} // closed and replaced on every change
	version uint64
	// history says which metrics keep a history (KeepHistory).
	history [sources.NumMetrics]bool
	// staleAfter marks rows of a source that has been silent this long
	// as stale; 0 means only failing sources make rows stale.
	staleAfter time.Duration
}

// New returns an empty store.
func New() *Store {
	s := &Store{
		entries: map[sources.WorkloadID]*entry{},
		health:  map[string]*sources.Health{},
		changed: make(chan struct{}),
	}
	for m := range s.history {
		s.history[m] = true
	}
	return s
}

// KeepHistory limits history to these metrics (default: all). The others
// keep only their latest value: at thousands of workloads every series
// nobody charts is memory for nothing.
func (s *Store) KeepHistory(metrics ...sources.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history = [sources.NumMetrics]bool{}
	for _, m := range metrics {
		if m < sources.NumMetrics {
			s.history[m] = true
		}
	}
}

// SetStaleAfter makes rows stale when their source has delivered nothing
// for d (typically a few refresh intervals). A hung source then shows as
// such even before it reports an error.
func (s *Store) SetStaleAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staleAfter = d
}

// Changed returns a channel closed at the next change. Waiters re-read the
// store and call Changed again, so bursts of updates coalesce.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Version increases on every change.
func (s *Store) Version() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Apply merges one source update.
func (s *Store) Apply(u sources.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health[u.Source]
	if h == nil {
		h = &sources.Health{Source: u.Source}
		s.health[u.Source] = h
	}
	if u.Err != nil {
		if h.Err == nil {
			h.ErrSince = u.At
		}
		h.Err = u.Err
	} else if len(u.Workloads) > 0 || len(u.Samples) > 0 || u.Full || u.Complete {
		h.Err, h.ErrSince = nil, time.Time{}
		if u.At.After(h.LastOK) {
			h.LastOK = u.At
		}
		if u.Complete {
			h.Rounds++
		}
	}
	if u.Partial != nil || (u.Complete && u.Err == nil) {
		h.Partial = u.Partial
	}
	if u.Full {
		keep := make(map[sources.WorkloadID]bool, len(u.Workloads))
		for _, w := range u.Workloads {
			keep[w.ID] = true
		}
		for id, e := range s.entries {
			if e.source == u.Source && !keep[id] {
				delete(s.entries, id)
				s.orderOK = false
			}
		}
	}
	for _, w := range u.Workloads {
		e := s.entries[w.ID]
		if e == nil {
			e = &entry{source: u.Source}
			for i := range e.latest {
				e.latest[i] = math.NaN()
			}
			s.entries[w.ID] = e
			s.orderOK = false
		}
		e.workload, e.source = w, u.Source
	}
	for _, smp := range u.Samples {
		e := s.entries[smp.ID]
		if e == nil || smp.Metric >= sources.NumMetrics {
			continue // samples for unknown workloads wait for the inventory
		}
		e.add(smp, &s.history)
	}
	if !s.orderOK {
		s.sortIDs()
	}
	s.version++
	close(s.changed)
	s.changed = make(chan struct{})
}

func (e *entry) add(smp sources.Sample, history *[sources.NumMetrics]bool) {
	m := smp.Metric
	if ts := smp.T.UnixNano(); ts >= e.latestT[m] && !math.IsNaN(smp.V) {
		e.latest[m], e.latestT[m] = smp.V, ts
		if smp.T.After(e.updated) {
			e.updated = smp.T
		}
	}
	if !history[m] {
		return
	}
	sr := e.series[m]
	if sr == nil {
		sr = newSeries()
		e.series[m] = sr
	}
	sr.add(smp.T, smp.V)
}

// Len is the number of workloads.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// Health returns every source's health, sorted by name.
func (s *Store) Health() []sources.Health {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]sources.Health, 0, len(s.health))
	for _, h := range s.health {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// sortIDs rebuilds the sorted id list after the inventory changed. It
// allocates a new slice so snapshots handed out earlier stay valid.
func (s *Store) sortIDs() {
	order := make([]sources.WorkloadID, 0, len(s.entries))
	for id := range s.entries {
		order = append(order, id)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].Less(order[j]) })
	s.order, s.orderOK = order, true
}

// IDs returns the workload ids in order. The slice must not be modified.
func (s *Store) IDs() []sources.WorkloadID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.order
}

// Summaries returns one row per workload at now: latest values, staleness
// (the owning source is failing) and sparkline trends: the last TrendWindow
// in trendPoints cells (peaks of replicas and p99 latency), aligned to
// multiples of the cell length so a sparkline shifts once per cell and
// only its last cell changes in between.
func (s *Store) Summaries(now time.Time, trendPoints int) []sources.Summary {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.order
	out := make([]sources.Summary, 0, len(ids))
	// One allocation for every sparkline of this snapshot.
	trends := make([]float64, 2*trendPoints*len(ids))
	for _, id := range ids {
		e := s.entries[id]
		if e == nil {
			continue
		}
		sum := sources.Summary{Workload: e.workload, Source: e.source, Latest: e.latest, Updated: e.updated, IdleShare: math.NaN()}
		cut := e.updated.UnixNano() - int64(LatestMaxLag)
		for m := range sum.Latest {
			if e.latestT[m] < cut {
				sum.Latest[m] = math.NaN() // the source stopped reporting it
			}
		}
		if h := s.health[e.source]; h != nil {
			silent := s.staleAfter > 0 && !h.LastOK.IsZero() && now.Sub(h.LastOK) > s.staleAfter
			sum.Stale = h.Err != nil || silent
		}
		if trendPoints > 0 {
			sum.ReplicasTrend, trends = trends[:trendPoints:trendPoints], trends[trendPoints:]
			sum.LatencyTrend, trends = trends[:trendPoints:trendPoints], trends[trendPoints:]
			e.trend(sources.ReplicasCurrent, now, sum.ReplicasTrend)
			e.trend(sources.LatencyP99, now, sum.LatencyTrend)
		}
		out = append(out, sum)
	}
	return out
}

func (e *entry) trend(m sources.Metric, now time.Time, out []float64) {
	sr := e.series[m]
	if sr == nil || len(out) == 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return
	}
	from, to := trendSpan(now, len(out))
	sr.fine.resample(from, to, out, Max)
}

// TrendWindow is how far back the overview sparklines reach.
const TrendWindow = FineStep * FineBuckets

// trendSpan is the window of points cells ending with the cell that holds
// now; cells start at multiples of their length (at least one fine bucket).
func trendSpan(now time.Time, points int) (from, to time.Time) {
	cell := max(TrendWindow/time.Duration(points), FineStep).Truncate(FineStep)
	to = now.Truncate(cell).Add(cell)
	return to.Add(-cell * time.Duration(points)), to
}

// Workload returns the workload and whether it is known.
func (s *Store) Workload(id sources.WorkloadID) (sources.Workload, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.entries[id]
	if e == nil {
		return sources.Workload{}, false
	}
	return e.workload, true
}

// Range returns points values of metric m of workload id evenly covering
// [from, to), from the fine tier when it still holds from and the coarse
// tier otherwise. Missing data is NaN.
func (s *Store) Range(id sources.WorkloadID, m sources.Metric, from, to time.Time, points int, agg Agg) []float64 {
	out := make([]float64, max(points, 0))
	for i := range out {
		out[i] = math.NaN()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.entries[id]
	if e == nil || m >= sources.NumMetrics || e.series[m] == nil || points <= 0 || !to.After(from) {
		return out
	}
	e.series[m].tier(from, to).resample(from, to, out, agg)
	return out
}
