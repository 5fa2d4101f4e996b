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

type series struct {
	fine, coarse *ring
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
	// staleAfter marks rows of a source that has been silent this long
	// as stale; 0 means only failing sources make rows stale.
	staleAfter time.Duration
}

// New returns an empty store.
func New() *Store {
	return &Store{
		entries: map[sources.WorkloadID]*entry{},
		health:  map[string]*sources.Health{},
		changed: make(chan struct{}),
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
		e.add(smp)
	}
	if !s.orderOK {
		s.sortIDs()
	}
	s.version++
	close(s.changed)
	s.changed = make(chan struct{})
}

func (e *entry) add(smp sources.Sample) {
	m := smp.Metric
	if ts := smp.T.UnixNano(); ts >= e.latestT[m] && !math.IsNaN(smp.V) {
		e.latest[m], e.latestT[m] = smp.V, ts
		if smp.T.After(e.updated) {
			e.updated = smp.T
		}
	}
	sr := e.series[m]
	if sr == nil {
		sr = &series{fine: newRing(FineStep, FineBuckets), coarse: newRing(CoarseStep, CoarseBuckets)}
		e.series[m] = sr
	}
	sr.fine.add(smp.T, smp.V)
	sr.coarse.add(smp.T, smp.V)
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
// (the owning source is failing) and sparkline trends of the trendPoints
// fine buckets (15 s each) ending with the one holding now.
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

func (e *entry) trend(m sources.Metric, end time.Time, out []float64) {
	sr := e.series[m]
	if sr == nil {
		for i := range out {
			out[i] = math.NaN()
		}
		return
	}
	sr.fine.tail(end, out)
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
	sr := e.series[m]
	r := sr.coarse
	if to.Sub(from) <= FineStep*FineBuckets && !from.Before(sr.fine.oldest()) {
		r = sr.fine
	}
	r.resample(from, to, out, agg)
	return out
}
