// Package sim is perch's embedded, deterministic simulator (perch --demo).
//
// It models a small shop running on Kubernetes next to Knative, OpenFaaS
// and AWS Lambda functions (or, in scale mode, thousands of generated
// workloads) and serves them through the ordinary sources contract.
//
// The state at any instant is a pure function of (seed, workload, t): there
// is no mutable simulation state. Traffic is a diurnal curve times smooth
// hash noise plus hash-chosen bursts; replicas, readiness, cold starts and
// scale to zero are computed from the traffic of the preceding minutes on a
// 15 s controller grid. History backfill, live rounds, At, PodsAt, Range and
// Traces therefore always agree, whichever order they are called in.
//
// The built-in set (Config.Workloads == 0), cluster "demo":
//
//   - shop: frontend, cart, catalog, search, checkout, payments (Deployments
//     with HPAs); platform: ingress-nginx (HPA), otel-collector (2 pods),
//     postgres and redis (StatefulSets, 3 pods); observability:
//     node-exporter (DaemonSet on node-1..node-6), prometheus (StatefulSet),
//     grafana.
//   - Knative (namespace serverless): thumbnailer, pdf-render, webhook-relay,
//     ml-infer, all scaling to zero; OpenFaaS (openfaas-fn): resize-image
//     (scales to zero), send-email, geoip; Lambda (us-east-1): order-events,
//     invoice-pdf, auth-token, nightly-report (runs 02:00-02:25 only).
//   - Calls: ingress-nginx -> frontend -> cart, catalog, search, checkout,
//     redis, geoip; checkout -> payments -> postgres; grafana -> prometheus;
//     asynchronously checkout -> send-email, order-events -> invoice-pdf and
//     frontend -> auth-token.
//   - Every day at Start+14:05 for 20 minutes payments' bank gateway is slow
//     (p99 x8, timeouts): checkout and frontend see the p99 spike and errors
//     and scale out about 75 s later.
//
// Times of day are relative to Start (by default midnight UTC): traffic is
// lowest at 04:00 and peaks at 16:00.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/perch-dev/perch/cost"
	"github.com/perch-dev/perch/sources"
)

// MaxWorkloads is the largest scale-mode inventory.
const MaxWorkloads = 5000

// MaxHistory is the longest backfill Run accepts.
const MaxHistory = 30 * 24 * time.Hour

// MaxChunk is the most samples Run puts into one Update.
const MaxChunk = 50000

// Backfill resolution: coarse for the part older than RecentHistory, fine after.
const (
	CoarseStep    = 5 * time.Minute
	FineStep      = 15 * time.Second
	RecentHistory = time.Hour
)

// Incident schedule: every day at Start+IncidentOffset for IncidentDuration
// the payments service (in scale mode: the workloads marked as incident
// targets) gets slow.
const (
	IncidentOffset   = 14*time.Hour + 5*time.Minute
	IncidentDuration = 20 * time.Minute
)

// Config configures a simulator. The zero value is the built-in demo.
type Config struct {
	Seed int64 // default 1
	// Workloads is 0 for the built-in realistic set; N>0 generates N
	// workloads (at most MaxWorkloads) deterministically from Seed.
	Workloads int
	// Start is the simulation epoch the incident schedule and the diurnal
	// curve are relative to; zero means Clock() truncated to 24 h.
	Start    time.Time
	Interval time.Duration // live round period; default 2 s
	History  time.Duration // backfill length; default 24 h
	Prices   cost.Prices   // zero value = cost.Defaults()
	Clock    func() time.Time
	Cluster  string // default "demo"
}

// Sim is the simulator. It is safe for concurrent use: it holds no
// mutable simulation state.
type Sim struct {
	cfg      Config
	seed     uint64
	start    time.Time
	prices   cost.Prices
	clock    func() time.Time
	specs    []spec
	topo     []int32 // callers before callees
	index    map[sources.WorkloadID]int32
	nodes    int
	hint     int // samples per At, for preallocation
	pool     sync.Pool
	allOrder []int32
	// gridOrder[j] is the workloads whose load at grid point j is needed:
	// those whose rules (or whose callees' rules) read that far back.
	gridOrder [gridPts][]int32
}

// New validates cfg, fills defaults and builds the workload model.
func New(cfg Config) (*Sim, error) {
	if cfg.Workloads < 0 || cfg.Workloads > MaxWorkloads {
		return nil, fmt.Errorf("sim: Workloads must be between 0 (built-in set) and %d, got %d", MaxWorkloads, cfg.Workloads)
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("sim: Interval must be positive, got %v", cfg.Interval)
	}
	if cfg.Interval == 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.History < 0 {
		return nil, fmt.Errorf("sim: History must not be negative, got %v", cfg.History)
	}
	if cfg.History > MaxHistory {
		return nil, fmt.Errorf("sim: History must be at most %v, got %v", MaxHistory, cfg.History)
	}
	if cfg.History == 0 {
		cfg.History = 24 * time.Hour
	}
	if cfg.Prices == (cost.Prices{}) {
		cfg.Prices = cost.Defaults()
	}
	if err := checkPrices(cfg.Prices); err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Cluster == "" {
		cfg.Cluster = "demo"
	}
	if cfg.Start.IsZero() {
		cfg.Start = cfg.Clock().Truncate(24 * time.Hour)
	}
	s := &Sim{
		cfg:    cfg,
		seed:   mix(uint64(cfg.Seed) ^ 0x5045524348), // "PERCH"
		start:  cfg.Start,
		prices: cfg.Prices,
		clock:  cfg.Clock,
	}
	if cfg.Workloads == 0 {
		s.nodes = 6
		s.specs = builtin(cfg.Cluster)
	} else {
		s.nodes = max(6, cfg.Workloads/25)
		s.specs = generate(cfg.Cluster, cfg.Workloads, s.seed, s.nodes)
	}
	if err := s.prepare(); err != nil {
		return nil, err
	}
	return s, nil
}

func checkPrices(p cost.Prices) error {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"CPUHour", p.CPUHour}, {"GiBHour", p.GiBHour}, {"GPUHour", p.GPUHour},
		{"LambdaPerMillionRequests", p.LambdaPerMillionRequests}, {"LambdaGBSecond", p.LambdaGBSecond},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("sim: price %s must be a finite non-negative number, got %v", f.name, f.v)
		}
	}
	return nil
}

// prepare indexes the specs, orders them topologically and precomputes the
// nominal latencies.
func (s *Sim) prepare() error {
	n := len(s.specs)
	s.index = make(map[sources.WorkloadID]int32, n)
	for i := range s.specs {
		sp := &s.specs[i]
		if _, dup := s.index[sp.w.ID]; dup {
			return fmt.Errorf("sim: duplicate workload %s", sp.w.ID)
		}
		s.index[sp.w.ID] = int32(i)
		sp.key = mix(s.seed ^ mix(uint64(i)+1))
	}
	// Callees (sync edges) from callers.
	for i := range s.specs {
		for _, e := range s.specs[i].callers {
			if e.async {
				continue
			}
			c := &s.specs[e.from]
			c.callees = append(c.callees, callee{to: int32(i), calls: e.calls})
		}
	}
	// Depth-first over callers, in index order: deterministic, callers first.
	mark := make([]uint8, n) // 0 new, 1 in progress, 2 done
	var visit func(w int32) error
	visit = func(w int32) error {
		switch mark[w] {
		case 1:
			return errors.New("sim: the call graph has a cycle")
		case 2:
			return nil
		}
		mark[w] = 1
		for _, e := range s.specs[w].callers {
			if err := visit(e.from); err != nil {
				return err
			}
		}
		mark[w] = 2
		s.topo = append(s.topo, w)
		return nil
	}
	for i := range n {
		if err := visit(int32(i)); err != nil {
			return err
		}
	}
	// Nominal mean latency without and with the incident, callees first.
	for i := n - 1; i >= 0; i-- {
		sp := &s.specs[s.topo[i]]
		sp.nl0 = sp.svc
		if sp.incident {
			sp.nl1 = sp.svc
		}
		for _, c := range sp.callees {
			sp.nl0 += float64(c.calls * s.specs[c.to].nl0)
			sp.nl1 += float64(c.calls * s.specs[c.to].nl1)
		}
	}
	s.allOrder = s.topo
	depth := make([]int, n)
	for i := n - 1; i >= 0; i-- {
		w := s.topo[i]
		depth[w] = max(depth[w], s.specs[w].gridNeed())
		if depth[w] > gridPts {
			return fmt.Errorf("sim: %s needs %d grid points", s.specs[w].w.ID, depth[w])
		}
		for _, e := range s.specs[w].callers {
			depth[e.from] = max(depth[e.from], depth[w])
		}
	}
	for j := range gridPts {
		for _, w := range s.topo {
			if depth[w] > j {
				s.gridOrder[j] = append(s.gridOrder[j], w)
			}
		}
	}
	for i := range s.specs {
		s.hint += len(s.specs[i].metrics())
	}
	s.pool.New = func() any { return newScratch(n) }
	return nil
}

// Name is the source name.
func (s *Sim) Name() string { return "demo" }

// Start is the simulation epoch (the configured or defaulted Config.Start).
func (s *Sim) Start() time.Time { return s.start }

// Workloads is the inventory, in a stable order.
func (s *Sim) Workloads() []sources.Workload {
	out := make([]sources.Workload, len(s.specs))
	for i := range s.specs {
		out[i] = s.specs[i].w
	}
	return out
}

// IncidentWindow returns the incident window of the day containing t
// (relative to the epoch): [start, end).
func (s *Sim) IncidentWindow(t time.Time) (start, end time.Time) {
	day := floorDiv(int64(t.Sub(s.start)), int64(24*time.Hour))
	start = s.start.Add(time.Duration(day)*24*time.Hour + IncidentOffset)
	return start, start.Add(IncidentDuration)
}

// CheckHealth always succeeds: the simulator has no backend.
func (s *Sim) CheckHealth(ctx context.Context) error { return ctx.Err() }

// At returns every metric of every workload at instant t. Latency and
// error ratio are omitted for a workload without traffic at t.
func (s *Sim) At(t time.Time) []sources.Sample {
	sc := s.getScratch()
	defer s.pool.Put(sc)
	return s.at(t, sc, make([]sources.Sample, 0, s.hint))
}

func (s *Sim) at(t time.Time, sc *scratch, out []sources.Sample) []sources.Sample {
	s.eval(t, s.allOrder, sc)
	for i := range s.specs {
		out = s.emit(int32(i), t, &sc.st[i], out)
	}
	return out
}

func (s *Sim) getScratch() *scratch { return s.pool.Get().(*scratch) }

// Run implements sources.Source: the full inventory, then the backfill of
// Config.History, then one round every Config.Interval, until ctx ends.
func (s *Sim) Run(ctx context.Context, out chan<- sources.Update) error {
	send := func(u sources.Update) error {
		select {
		case out <- u:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := s.clock()
	if err := send(sources.Update{Source: s.Name(), At: now, Workloads: s.Workloads(), Full: true}); err != nil {
		return err
	}
	// A private scratch with a grid-load memo: consecutive fine backfill
	// steps and live rounds share most controller-grid points.
	sc := newScratch(len(s.specs))
	sc.memo = map[int64][]float64{}

	var buf []sources.Sample
	flush := func(all bool) error {
		for len(buf) >= MaxChunk || (all && len(buf) > 0) {
			n := min(len(buf), MaxChunk)
			chunk := buf[:n:n]
			buf = append([]sources.Sample(nil), buf[n:]...)
			if err := send(sources.Update{Source: s.Name(), At: now, Samples: chunk}); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range backfillTimes(now, s.cfg.History) {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf = s.at(t, sc, buf)
		if err := flush(false); err != nil {
			return err
		}
	}
	if err := flush(true); err != nil {
		return err
	}

	ticker := time.NewTicker(s.cfg.Interval)
	defer ticker.Stop()
	for {
		now = s.clock()
		buf = s.at(now, sc, make([]sources.Sample, 0, s.hint))
		if err := flush(true); err != nil {
			return err
		}
		// Everything as of now has been sent: snapshots and the first
		// complete frame wait for this.
		if err := send(sources.Update{Source: s.Name(), At: now, Complete: true}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// backfillTimes lists the backfill instants before now: CoarseStep for the
// part older than RecentHistory, FineStep after, aligned to the steps.
func backfillTimes(now time.Time, history time.Duration) []time.Time {
	from := now.Add(-history)
	recent := now.Add(-RecentHistory)
	var ts []time.Time
	if from.Before(recent) {
		for t := from.Truncate(CoarseStep); t.Before(recent); t = t.Add(CoarseStep) {
			ts = append(ts, t)
		}
	} else {
		recent = from
	}
	for t := recent.Truncate(FineStep); t.Before(now); t = t.Add(FineStep) {
		if len(ts) > 0 && !t.After(ts[len(ts)-1]) {
			continue
		}
		ts = append(ts, t)
	}
	return ts
}

// Range implements sources.RangeQuerier: one metric of one workload over
// [Start, End] at Step (default FineStep), at most 20000 points.
func (s *Sim) Range(ctx context.Context, q sources.RangeQuery) ([]sources.Sample, error) {
	w, ok := s.index[q.ID]
	if !ok {
		return nil, fmt.Errorf("sim: unknown workload %s", q.ID)
	}
	if q.Metric >= sources.NumMetrics {
		return nil, fmt.Errorf("sim: unknown metric %d", q.Metric)
	}
	step := q.Step
	if step <= 0 {
		step = FineStep
	}
	if q.End.Before(q.Start) {
		return nil, fmt.Errorf("sim: range end %v before start %v", q.End, q.Start)
	}
	if n := q.End.Sub(q.Start) / step; n > 20000 {
		return nil, fmt.Errorf("sim: range of %d points is too long (max 20000); use a larger step", n)
	}
	order := s.latencyClosure(w)
	sc := s.getScratch()
	defer s.pool.Put(sc)
	var out []sources.Sample
	for t := q.Start; !t.After(q.End); t = t.Add(step) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.eval(t, order, sc)
		st := &sc.st[w]
		if st.has&(1<<q.Metric) != 0 {
			out = append(out, sources.Sample{ID: q.ID, Metric: q.Metric, T: t, V: st.v[q.Metric]})
		}
	}
	return out, nil
}

// compile-time checks of the capabilities.
var (
	_ sources.Source        = (*Sim)(nil)
	_ sources.PodLister     = (*Sim)(nil)
	_ sources.AllPodLister  = (*Sim)(nil)
	_ sources.EventLister   = (*Sim)(nil)
	_ sources.TraceFinder   = (*Sim)(nil)
	_ sources.RangeQuerier  = (*Sim)(nil)
	_ sources.HealthChecker = (*Sim)(nil)
)
