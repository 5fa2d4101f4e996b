// Package influxdb is perch's source for serverless function metrics kept
// in InfluxDB, read with Flux through influxdb-client-go/v2. It works
// against InfluxDB 2.x (org, bucket, API token) and 1.8+ in compatibility
// mode (empty org, bucket "db/rp", token "user:password" or empty), and
// keeps its Flux inside version 0.65, the one 1.8 ships.
//
// Presets are detected from the measurements in the bucket (one query):
// the generic per-invocation schema (measurement function_invocations,
// see presets.go) and Telegraf's CloudWatch input for AWS Lambda
// (cloudwatch_aws_lambda, plus Lambda Insights when present). Any column
// can be replaced by a Flux query from the config.
//
// Every refresh runs one query per column family, grouped by function on
// the server: two for the per-invocation schema (latency; traffic and
// inventory), one for CloudWatch, and one per override, however many
// functions there are. Failures are reported as Update.Err naming the
// query, carrying the server's message and the Flux; Run keeps going with
// capped exponential backoff and jitter. The source never writes: its
// HTTP transport refuses anything but queries and health probes.
package influxdb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxlog "github.com/influxdata/influxdb-client-go/v2/log"

	"github.com/perch-dev/perch/sources"
)

// Interface checks.
var (
	_ sources.Source        = (*Source)(nil)
	_ sources.HealthChecker = (*Source)(nil)
	_ sources.RangeQuerier  = (*Source)(nil)
)

// redetectEvery is how often detection runs again, so data written later
// (a new collector) is picked up.
const redetectEvery = 10 * time.Minute

// Backoff bounds after failed rounds.
const (
	backoffBase = time.Second
	backoffMax  = time.Minute
)

// maxConcurrency bounds the queries of one round in flight.
const maxConcurrency = 4

// Source reads one InfluxDB bucket.
type Source struct {
	cfg    Config
	client influxdb2.Client
	hc     *http.Client
	red    redactor

	queries atomic.Int64 // HTTP queries made, for tests and benchmarks

	mu         sync.Mutex
	active     []string // detected or configured presets
	detectedAt time.Time
	known      map[sources.WorkloadID]known // from the last round, for Range
}

// known is what a round learned about a function that Range needs.
type known struct {
	platform sources.Platform
	invNsTag string // tag the namespace came from: "namespace", "region" or ""
	cwNsTag  string // "region" or ""
	memMB    float64
	presets  uint8 // bit set: 1 invocations, 2 cloudwatch
	// hasStatus and hasCold: the per-invocation data has those fields.
	hasStatus, hasCold bool
}

const (
	fromInvocations uint8 = 1 << iota
	fromCloudWatch
)

// New validates cfg and builds the client. It makes no network call.
func New(cfg Config) (*Source, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	hc, err := newHTTPClient(c)
	if err != nil {
		return nil, err
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(hc).
		SetApplicationName("perch").
		SetLogLevel(influxlog.ErrorLevel)
	// The token is set by the transport (so token_file can rotate).
	client := influxdb2.NewClientWithOptions(strings.TrimRight(c.URL, "/"), "", opts)
	return &Source{
		cfg:    c,
		client: client,
		hc:     hc,
		red:    newRedactor(c),
		known:  map[sources.WorkloadID]known{},
	}, nil
}

// Name is the source's name in perch.
func (s *Source) Name() string { return s.cfg.Name }

// label names the source in errors: "influxdb", or "influxdb NAME".
func (s *Source) label() string {
	if s.cfg.Name == "influxdb" {
		return "influxdb"
	}
	return "influxdb " + s.cfg.Name
}

// Queries is the number of HTTP queries made so far.
func (s *Source) Queries() int64 { return s.queries.Load() }

// Presets returns the presets in use (after detection).
func (s *Source) Presets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.active...)
}

// Close releases idle connections.
func (s *Source) Close() { s.hc.CloseIdleConnections() }

// Run polls every Refresh until ctx ends, then returns ctx.Err(). A failed
// round is sent as an Update with Err and retried with capped exponential
// backoff and jitter. Run never closes out.
func (s *Source) Run(ctx context.Context, out chan<- sources.Update) error {
	defer s.Close()
	p := sources.Poller{Interval: s.cfg.Refresh, BackoffBase: backoffBase, BackoffMax: backoffMax,
		Soft: func(err error) bool { return errors.Is(err, ErrPartial) }}
	return p.Run(ctx, out, s.Poll)
}

// CheckHealth runs a trivial query against the bucket: it proves the URL,
// the token, the bucket and Flux in one call on 2.x and 1.8 alike.
func (s *Source) CheckHealth(ctx context.Context) error {
	now := s.cfg.Clock()
	q := fromRange(s.cfg.Bucket, now.Add(-time.Minute), now) + "\n  |> limit(n: 1)\n  |> count()\n"
	_, _, err := s.query(ctx, query{name: "health check", flux: q})
	if err != nil {
		return s.red.wrap(fmt.Errorf("%s: %w", s.label(), err))
	}
	return nil
}

// query runs one Flux query and reads its rows.
func (s *Source) query(ctx context.Context, q query) ([]row, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.queries.Add(1)
	// A QueryAPI per query: the library's lazily built query URL is not
	// safe for concurrent use (a data race under -race), and one is cheap.
	res, err := s.client.QueryAPI(s.cfg.Org).Query(ctx, q.flux)
	if err != nil {
		if res != nil {
			_ = res.Close()
		}
		return nil, false, &QueryError{Name: q.name, Query: q.flux, Err: describe(ctx, err, s.cfg.Bucket, s.cfg.Timeout)}
	}
	rows, truncated, err := collect(res, s.cfg.MaxSeries)
	if err != nil {
		if ctx.Err() != nil {
			err = describe(ctx, err, s.cfg.Bucket, s.cfg.Timeout)
		} else {
			err = describeInBand(err, s.cfg.Bucket)
		}
		return nil, false, &QueryError{Name: q.name, Query: q.flux, Err: err}
	}
	return rows, truncated, nil
}

// Poll runs one round (detection when due, then every family query) and
// returns the Update Run would send.
func (s *Source) Poll(ctx context.Context) sources.Update {
	now := s.cfg.Clock()
	u := sources.Update{Source: s.cfg.Name, At: now}
	w := window{start: now.Add(-s.cfg.Window), stop: now, inventory: now.Add(-s.cfg.Inventory)}
	active, err := s.presets(ctx, w, now)
	if err != nil {
		u.Err = s.red.wrap(err)
		return u
	}
	plan := s.plan(active, w)
	results := s.runAll(ctx, plan)
	if ctx.Err() != nil {
		u.Err = ctx.Err()
		return u
	}
	var hard, soft []error
	ok := 0
	truncated := false
	for i, r := range results {
		switch {
		case r.err != nil:
			hard = append(hard, r.err)
		default:
			ok++
			if r.truncated {
				truncated = true
				soft = append(soft, fmt.Errorf("query %s: more than %d rows (max_series); kept the first %d", plan[i].name, s.cfg.MaxSeries, s.cfg.MaxSeries))
			}
		}
	}
	if ok == 0 {
		u.Err = s.red.wrap(&failedError{label: s.label(), errs: hard})
		return u
	}
	a := s.newAssembly(now)
	for i, r := range results {
		if r.err == nil {
			a.add(plan[i], r.rows)
		}
		if r.err != nil || r.truncated {
			a.incomplete[plan[i].name] = true
		}
	}
	u.Workloads, u.Samples = a.finish()
	s.mu.Lock()
	s.known = a.known
	s.mu.Unlock()
	if len(u.Workloads) == 0 && len(hard) == 0 {
		u.Err = fmt.Errorf("%s: %w in bucket %q since %s (presets: %s)", s.label(), ErrNoData,
			s.cfg.Bucket, w.inventory.UTC().Format(time.RFC3339), strings.Join(active, ", "))
		return u
	}
	switch {
	case len(hard) > 0:
		u.Err = s.red.wrap(&partialError{label: s.label(), errs: append(hard, soft...)})
	case len(soft) > 0:
		u.Err = s.red.wrap(&partialError{label: s.label(), errs: soft})
	}
	u.Full = len(hard) == 0 && !truncated
	u.Complete = true
	return u
}

// failedError is a round whose every query failed; one line, as the
// header shows it.
type failedError struct {
	label string
	errs  []error
}

func (e *failedError) Error() string {
	parts := make([]string, len(e.errs))
	for i, err := range e.errs {
		parts[i] = err.Error()
	}
	return e.label + ": " + strings.Join(parts, "; ")
}

func (e *failedError) Unwrap() []error { return e.errs }

// partialError is a round that delivered data despite failures.
type partialError struct {
	label string
	errs  []error
}

func (e *partialError) Error() string {
	parts := make([]string, len(e.errs))
	for i, err := range e.errs {
		parts[i] = err.Error()
	}
	return e.label + ": partial result: " + strings.Join(parts, "; ")
}

func (e *partialError) Is(target error) bool { return target == ErrPartial }
func (e *partialError) Unwrap() []error      { return e.errs }

// presets returns the active presets, detecting them when due. A failed
// detection keeps the previous presets when there are any.
func (s *Source) presets(ctx context.Context, w window, now time.Time) ([]string, error) {
	if len(s.cfg.Presets) > 0 {
		seen := map[string]bool{}
		for _, p := range s.cfg.Presets {
			seen[presetAliases[p]] = true
		}
		var out []string
		for _, p := range allPresets {
			if seen[p] {
				out = append(out, p)
			}
		}
		return out, nil
	}
	s.mu.Lock()
	active, at := s.active, s.detectedAt
	s.mu.Unlock()
	if !at.IsZero() && now.Sub(at) >= 0 && now.Sub(at) < redetectEvery && len(active) > 0 {
		return active, nil
	}
	found, err := s.detect(ctx, w)
	if err != nil {
		if len(active) > 0 {
			return active, nil // retried next round
		}
		return nil, fmt.Errorf("%s: detecting presets: %w", s.label(), err)
	}
	s.mu.Lock()
	s.active, s.detectedAt = found, now
	s.mu.Unlock()
	if len(found) == 0 && len(s.cfg.Overrides) == 0 {
		return nil, fmt.Errorf("%s: %w: no %s or %s data in bucket %q since %s; write some, or set presets or overrides",
			s.label(), ErrNoPresets, InvocationsMeasurement, CloudWatchLambdaMeasurement, s.cfg.Bucket,
			w.inventory.UTC().Format(time.RFC3339))
	}
	return found, nil
}

// detect asks which preset measurements the bucket has (one query).
func (s *Source) detect(ctx context.Context, w window) ([]string, error) {
	rows, _, err := s.query(ctx, query{name: "detect presets", flux: detection(s.cfg.Bucket, w)})
	if err != nil {
		return nil, err
	}
	has := map[string]bool{}
	for _, r := range rows {
		if m, ok := r.value.(string); ok {
			has[presetOfMeasurement(m)] = true
		}
	}
	var out []string
	for _, p := range allPresets {
		if has[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

// plan builds this round's queries: one per family of each active preset
// and one per override.
func (s *Source) plan(active []string, w window) []query {
	skip := map[sources.Metric]bool{}
	for k := range s.cfg.Overrides {
		m, _ := sources.ParseMetric(k)
		skip[m] = true
	}
	var out []query
	for _, p := range active {
		switch p {
		case PresetInvocations:
			out = append(out,
				query{name: famLatency, flux: invocationsLatency(s.cfg.Bucket, w, skip), preset: p},
				query{name: famTraffic, flux: invocationsTraffic(s.cfg.Bucket, w), preset: p})
		case PresetCloudWatchLambda:
			out = append(out, query{name: famCloudWatch, flux: cloudWatchLambda(s.cfg.Bucket, w), preset: p})
		}
	}
	keys := make([]string, 0, len(s.cfg.Overrides))
	for k := range s.cfg.Overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m, _ := sources.ParseMetric(k)
		out = append(out, query{name: "override " + k, flux: s.overrideFlux(k, w.start, w.stop, s.cfg.Window), override: m})
	}
	return out
}

// overrideFlux fills an override's placeholders.
func (s *Source) overrideFlux(metric string, start, stop time.Time, every time.Duration) string {
	return substitute(s.cfg.Overrides[metric], map[string]string{
		"bucket": fluxString(s.cfg.Bucket),
		"start":  fluxTime(start),
		"stop":   fluxTime(stop),
		"window": fluxDuration(s.cfg.Window),
		"every":  fluxDuration(every),
	})
}

// result is one query's outcome.
type result struct {
	rows      []row
	truncated bool
	err       error
}

// runAll runs the plan with at most maxConcurrency queries in flight.
func (s *Source) runAll(ctx context.Context, plan []query) []result {
	results := make([]result, len(plan))
	sem := make(chan struct{}, maxConcurrency)
	var wg sync.WaitGroup
	for i, q := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = result{err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			rows, truncated, err := s.query(ctx, q)
			results[i] = result{rows: rows, truncated: truncated, err: err}
		}()
	}
	wg.Wait()
	return results
}

// ---- assembling a round ----

// invStats is one function's per-invocation statistics.
type invStats struct {
	platform       sources.Platform
	nsTag, runtime string
	seen           time.Time // newest point in the inventory window
	q              [3]float64
	hasQ           [3]bool
	mean           float64
	hasMean        bool
	count          float64
	hasCount       bool
	failed, cold   float64
	// hasStatus and hasCold: the function writes those fields at all
	// (zero failures is then 0, not unknown).
	hasStatus, hasCold bool
	mem                float64
	memAt              time.Time
	hasMem             bool
}

// cwEntry is one function's CloudWatch fields.
type cwEntry struct {
	nsTag  string
	fields map[string]cwPoint
}

// cwPoint is the newest value of one CloudWatch field.
type cwPoint struct {
	v float64
	t time.Time
}

// acc is one workload's merged values.
type acc struct {
	w      sources.Workload
	vals   [sources.NumMetrics]float64
	prio   [sources.NumMetrics]int // 0 = unset
	avgDur float64                 // mean duration, s
	durP   int
	memMB  float64
	memP   int
	known  known
}

func (a *acc) set(m sources.Metric, v float64, prio int) {
	if math.IsNaN(v) || math.IsInf(v, 0) || prio < a.prio[m] {
		return
	}
	a.vals[m], a.prio[m] = v, prio
}

type assembly struct {
	s   *Source
	now time.Time
	// incomplete holds the families that failed or were cut at
	// max_series this round. A value whose absence would read as zero
	// (no count row: no traffic) or that combines families (cost) is
	// not derived from an incomplete family: the store keeps the last
	// good one, marked stale, instead of showing a made-up zero.
	incomplete map[string]bool
	inv        map[sources.WorkloadID]*invStats
	cw         map[sources.WorkloadID]*cwEntry
	over       map[sources.WorkloadID]map[sources.Metric]cwPoint
	ovW        map[sources.WorkloadID]sources.Workload
	known      map[sources.WorkloadID]known
}

func (s *Source) newAssembly(now time.Time) *assembly {
	return &assembly{
		s: s, now: now,
		incomplete: map[string]bool{},
		inv:        map[sources.WorkloadID]*invStats{},
		cw:         map[sources.WorkloadID]*cwEntry{},
		over:       map[sources.WorkloadID]map[sources.Metric]cwPoint{},
		ovW:        map[sources.WorkloadID]sources.Workload{},
		known:      map[sources.WorkloadID]known{},
	}
}

// invocationID names a function of the per-invocation schema.
func (s *Source) invocationID(tags map[string]string) (sources.WorkloadID, sources.Platform, string, bool) {
	name := tags[tagFunction]
	platform := platformOf(tags[tagPlatform])
	ns, nsTag := tags[tagNamespace], tagNamespace
	if ns == "" {
		ns, nsTag = tags[tagRegion], tagRegion
	}
	if ns == "" {
		ns, nsTag = string(platform), ""
	}
	return sources.WorkloadID{Cluster: s.cfg.Cluster, Namespace: ns, Name: name}, platform, nsTag, name != ""
}

// cloudWatchID names a Lambda function of the CloudWatch data.
func (s *Source) cloudWatchID(tags map[string]string) (sources.WorkloadID, string, bool) {
	name := tags[tagFunctionName]
	ns, nsTag := tags[tagRegion], tagRegion
	if ns == "" {
		ns, nsTag = string(sources.Lambda), ""
	}
	return sources.WorkloadID{Cluster: s.cfg.Cluster, Namespace: ns, Name: name}, nsTag, name != ""
}

func (a *assembly) stats(tags map[string]string) *invStats {
	id, platform, nsTag, ok := a.s.invocationID(tags)
	if !ok {
		return nil
	}
	st := a.inv[id]
	if st == nil {
		st = &invStats{platform: platform, nsTag: nsTag}
		a.inv[id] = st
	}
	return st
}

// add files one query's rows.
func (a *assembly) add(q query, rows []row) {
	switch {
	case q.preset == PresetInvocations:
		for _, r := range rows {
			a.addInvocation(r)
		}
	case q.preset == PresetCloudWatchLambda:
		for _, r := range rows {
			id, nsTag, ok := a.s.cloudWatchID(r.tags)
			v, isNum := number(r.value)
			if !ok || !isNum {
				continue
			}
			e := a.cw[id]
			if e == nil {
				e = &cwEntry{nsTag: nsTag, fields: map[string]cwPoint{}}
				a.cw[id] = e
			}
			if old, dup := e.fields[r.field]; !dup || r.t.After(old.t) {
				e.fields[r.field] = cwPoint{v: v, t: r.t}
			}
		}
	default:
		for _, r := range rows {
			a.addOverride(q.override, r)
		}
	}
}

func (a *assembly) addInvocation(r row) {
	st := a.stats(r.tags)
	if st == nil {
		return
	}
	v, isNum := number(r.value)
	switch r.result {
	case yP50, yP95, yP99:
		i := map[string]int{yP50: 0, yP95: 1, yP99: 2}[r.result]
		if isNum {
			st.q[i], st.hasQ[i] = v, true
		}
	case yMean:
		if isNum {
			st.mean, st.hasMean = v, true
		}
	case yCount:
		if isNum {
			st.count += v
			st.hasCount = true
		}
	case yFailed:
		if isNum {
			st.failed += v
		}
	case yCold:
		if isNum {
			st.cold += v
		}
	case yIdentity:
		switch r.field {
		case fieldDuration:
			if r.t.After(st.seen) || st.seen.IsZero() {
				st.seen = r.t
				if rt := r.tags[tagRuntime]; rt != "" {
					st.runtime = rt
				}
			}
		case fieldMemory:
			if isNum && v > 0 && (!st.hasMem || r.t.After(st.memAt)) {
				st.mem, st.memAt, st.hasMem = v, r.t, true
			}
		case fieldStatus:
			st.hasStatus = true
		case fieldColdStart:
			st.hasCold = true
		}
	}
}

// addOverride keeps the newest row per function of an override.
func (a *assembly) addOverride(m sources.Metric, r row) {
	v, ok := number(r.value)
	if !ok {
		return
	}
	var id sources.WorkloadID
	var w sources.Workload
	if r.tags[tagFunction] != "" {
		iid, platform, _, _ := a.s.invocationID(r.tags)
		id, w = iid, sources.Workload{ID: iid, Kind: sources.Function, Platform: platform, Runtime: r.tags[tagRuntime]}
	} else if r.tags[tagFunctionName] != "" {
		cid, _, _ := a.s.cloudWatchID(r.tags)
		id, w = cid, sources.Workload{ID: cid, Kind: sources.Function, Platform: sources.Lambda}
	} else {
		return
	}
	mm := a.over[id]
	if mm == nil {
		mm = map[sources.Metric]cwPoint{}
		a.over[id] = mm
		a.ovW[id] = w
	}
	if old, dup := mm[m]; !dup || !r.t.Before(old.t) {
		mm[m] = cwPoint{v: v, t: r.t}
	}
}

// finish merges the presets and overrides into workloads and samples.
func (a *assembly) finish() ([]sources.Workload, []sources.Sample) {
	accs := map[sources.WorkloadID]*acc{}
	get := func(id sources.WorkloadID, w sources.Workload) *acc {
		x := accs[id]
		if x == nil {
			x = &acc{w: w}
			accs[id] = x
		}
		return x
	}
	cfg := a.s.cfg
	// CloudWatch first: the per-invocation data wins where both have a column.
	period := cfg.CloudWatchPeriod.Seconds()
	cwComplete := !a.incomplete[famCloudWatch]
	for id, e := range a.cw {
		fields := e.fields
		x := get(id, sources.Workload{ID: id, Kind: sources.Function, Platform: sources.Lambda})
		x.known.presets |= fromCloudWatch
		x.known.platform = sources.Lambda
		x.known.cwNsTag = e.nsTag
		fresh := func(f string) (float64, bool) {
			p, ok := fields[f]
			if !ok || a.now.Sub(p.t) > cfg.CloudWatchLookback {
				return 0, false
			}
			return p.v, true
		}
		inv, hasInv := fresh(cwInvocations)
		errs, _ := fresh(cwErrors)
		thr, _ := fresh(cwThrottles)
		// No recent invocations_sum means an idle function, unless the
		// answer was incomplete.
		idle := (!hasInv || inv == 0) && (hasInv || cwComplete)
		if hasInv || cwComplete {
			x.set(sources.RequestRate, inv/period, prioCloudWatch)
		}
		if inv+thr > 0 {
			// Throttled requests were refused: they count as failed ones.
			x.set(sources.ErrorRatio, (errs+thr)/(inv+thr), prioCloudWatch)
		}
		if v, ok := fresh(cwConcurrent); ok {
			x.set(sources.Concurrency, v, prioCloudWatch)
		} else if idle {
			x.set(sources.Concurrency, 0, prioCloudWatch)
		}
		for i, f := range []string{cwDurationP50, cwDurationP95, cwDurationP99} {
			if v, ok := fresh(f); ok {
				x.set(sources.LatencyP50+sources.Metric(i), v/1000, prioCloudWatch)
			}
		}
		if v, ok := fresh(cwDurationAvg); ok && prioCloudWatch >= x.durP {
			x.avgDur, x.durP = v/1000, prioCloudWatch
		}
		if v, ok := fresh(cwInitCount); ok {
			x.set(sources.ColdStarts, v/period*60, prioCloudWatch)
		} else if idle {
			x.set(sources.ColdStarts, 0, prioCloudWatch)
		}
		if p, ok := fields[cwMemory]; ok && p.v > 0 && prioCloudWatch >= x.memP {
			x.memMB, x.memP = p.v, prioCloudWatch
		}
	}
	winSec := cfg.Window.Seconds()
	latComplete, trafComplete := !a.incomplete[famLatency], !a.incomplete[famTraffic]
	for id, st := range a.inv {
		x := accs[id]
		if x == nil {
			x = get(id, sources.Workload{ID: id, Kind: sources.Function, Platform: st.platform})
		}
		// The per-invocation schema names the platform and runtime.
		x.w.Platform = st.platform
		if st.runtime != "" {
			x.w.Runtime = st.runtime
		}
		x.known.presets |= fromInvocations
		x.known.platform = st.platform
		x.known.invNsTag = st.nsTag
		x.known.hasStatus, x.known.hasCold = st.hasStatus, st.hasCold
		for i := range 3 {
			if st.hasQ[i] && st.count > 0 {
				x.set(sources.LatencyP50+sources.Metric(i), st.q[i]/1000, prioInvocations)
			}
		}
		// No count row means no invocations in the window, unless the
		// latency family failed or was cut: then the traffic is unknown.
		knownCount := st.hasCount || latComplete
		rps := st.count / winSec
		if knownCount {
			x.set(sources.RequestRate, rps, prioInvocations)
			if st.count == 0 {
				x.set(sources.Concurrency, 0, prioInvocations)
			}
		}
		if st.count > 0 && st.hasMean {
			x.avgDur, x.durP = st.mean/1000, prioInvocations
			// Little's law: requests in flight = arrival rate × time in system.
			x.set(sources.Concurrency, rps*st.mean/1000, prioInvocations)
		}
		if st.hasStatus && st.count > 0 && trafComplete {
			// Every point is one invocation with all its fields; no failed
			// row means none failed, so the traffic family must be whole.
			x.set(sources.ErrorRatio, min(st.failed/st.count, 1), prioInvocations)
		}
		if trafComplete && (st.hasCold || (st.count == 0 && knownCount)) {
			x.set(sources.ColdStarts, st.cold/(winSec/60), prioInvocations)
		}
		if st.hasMem && prioInvocations >= x.memP {
			x.memMB, x.memP = st.mem, prioInvocations
		}
	}
	for id, mm := range a.over {
		x := accs[id]
		if x == nil {
			x = get(id, a.ovW[id])
		}
		for m, p := range mm {
			x.set(m, p.v, prioOverride)
		}
	}
	// A function the per-invocation data covers (this round or the last)
	// keeps its last values for the columns of a failed invocations
	// family: CloudWatch's lower-priority ones would replace them with
	// another measure, or with the zero of an idle function.
	if !latComplete || !trafComplete {
		a.s.mu.Lock()
		prev := a.s.known
		a.s.mu.Unlock()
		var drop []sources.Metric
		if !latComplete {
			drop = append(drop, sources.RequestRate, sources.LatencyP50, sources.LatencyP95, sources.LatencyP99, sources.Concurrency, sources.ErrorRatio)
		}
		if !trafComplete {
			drop = append(drop, sources.ErrorRatio, sources.ColdStarts)
		}
		for id, x := range accs {
			if x.known.presets&fromInvocations == 0 && prev[id].presets&fromInvocations == 0 {
				continue
			}
			for _, m := range drop {
				if x.prio[m] < prioInvocations {
					x.prio[m] = 0
				}
			}
		}
	}

	ids := make([]sources.WorkloadID, 0, len(accs))
	for id := range accs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })
	workloads := make([]sources.Workload, 0, len(ids))
	samples := make([]sources.Sample, 0, len(ids)*8)
	for _, id := range ids {
		x := accs[id]
		if x.memMB > 0 {
			x.w.MemoryMB = x.memMB
			x.known.memMB = x.memMB
			x.set(sources.MemRequest, x.memMB*(1<<20), max(x.memP, 1))
		}
		a.cost(x)
		a.known[id] = x.known
		workloads = append(workloads, x.w)
		for m := sources.Metric(0); m < sources.NumMetrics; m++ {
			if x.prio[m] > 0 {
				samples = append(samples, sources.Sample{ID: id, Metric: m, T: a.now, V: x.vals[m]})
			}
		}
	}
	return workloads, samples
}

// cost fills CostRate for Lambda functions (billed per request and
// GB-second) unless an override supplied it. Other platforms bill by
// instance, which per-invocation data does not show. A round with an
// incomplete family computes no cost: its rate, duration and memory may
// come from different families than the last good round's, and a cost
// made of some of them would jump (to the request fee alone when the
// duration is missing); the last good cost stays, marked stale.
func (a *assembly) cost(x *acc) {
	if x.prio[sources.CostRate] > 0 || x.w.Platform != sources.Lambda || x.prio[sources.RequestRate] == 0 || len(a.incomplete) > 0 {
		return
	}
	dur := x.avgDur
	if x.durP == 0 && x.prio[sources.LatencyP50] > 0 {
		dur = x.vals[sources.LatencyP50]
	}
	mem := a.s.cfg.LambdaMemoryMB
	if x.memMB > 0 {
		mem = x.memMB
	}
	x.set(sources.CostRate, a.s.cfg.Prices.LambdaHourly(x.vals[sources.RequestRate], dur, mem), max(x.prio[sources.RequestRate], 1))
}
