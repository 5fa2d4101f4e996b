// Package prometheus is perch's source for Prometheus-compatible servers
// (Prometheus, Thanos Query, Mimir/Cortex, VictoriaMetrics).
//
// Presets map the metric names that real exporters publish
// (kube-state-metrics + cAdvisor, Istio, OpenFaaS gateway, Knative Serving
// of both metric generations, AWS Lambda through the CloudWatch exporters,
// App Engine through the Stackdriver exporter) to perch's columns. They are
// detected from the metric names the server has (one label-values call).
//
// Every refresh runs one instant query per metric family, aggregated by
// workload on the server, so the number of queries does not grow with the
// number of workloads (at most 2 per preset plus 4 for Kubernetes, and one
// per configured override). Queries run with bounded concurrency under one
// deadline per round (the timeout plus a small margin). Failures are reported as Update.Err naming the query and
// carrying the server's message; Run keeps going with capped exponential
// backoff and jitter. The source only reads.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/perch-dev/perch/sources"
)

// Interface checks.
var (
	_ sources.Source        = (*Source)(nil)
	_ sources.HealthChecker = (*Source)(nil)
	_ sources.RangeQuerier  = (*Source)(nil)
)

// ErrPartial marks an Update.Err whose round still delivered data: server
// warnings, or a result capped at MaxSeries. Use errors.Is.
var ErrPartial = errors.New("partial result")

// ErrNoPresets is returned when the server has none of the preset metrics
// and no overrides are configured.
var ErrNoPresets = errors.New("no known metrics on the server")

// redetectEvery is how often auto-detection runs again, so exporters
// installed later are picked up.
const redetectEvery = 10 * time.Minute

// Backoff bounds after failed rounds.
const (
	backoffBase = time.Second
	backoffMax  = time.Minute
)

// Source reads one Prometheus-compatible server.
type Source struct {
	cfg Config
	api v1.API
	red redactor

	queries atomic.Int64 // HTTP API calls made, for tests and benchmarks

	mu         sync.Mutex
	active     []*preset // detected or configured presets
	detectedAt time.Time
	platforms  map[sources.WorkloadID]sources.Platform // from the last round
}

// New validates cfg and builds the client. It makes no network call.
func New(cfg Config) (*Source, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rt, err := newTransport(c)
	if err != nil {
		return nil, err
	}
	cl, err := api.NewClient(api.Config{Address: c.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	return &Source{cfg: c, api: v1.NewAPI(cl), red: newRedactor(c)}, nil
}

// Name is the source's name in perch.
func (s *Source) Name() string { return s.cfg.Name }

// Queries is the number of HTTP API calls made so far.
func (s *Source) Queries() int64 { return s.queries.Load() }

// Presets returns the names of the presets in use (after detection).
func (s *Source) Presets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.active {
		out = append(out, p.name)
	}
	return out
}

// Run polls every Refresh until ctx ends, then returns ctx.Err(). A failed
// round is sent as an Update with Err and retried with capped exponential
// backoff and jitter. Run never closes out.
func (s *Source) Run(ctx context.Context, out chan<- sources.Update) error {
	p := sources.Poller{Interval: s.cfg.Refresh, BackoffBase: backoffBase, BackoffMax: backoffMax,
		Soft: func(err error) bool { return errors.Is(err, ErrPartial) }}
	return p.Run(ctx, out, s.Poll)
}

// CheckHealth runs a trivial query: it works on every compatible server.
func (s *Source) CheckHealth(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.queries.Add(1)
	_, _, _, err := s.api.Query(ctx, "vector(1)", time.Time{}, v1.WithTimeout(serverTimeout(s.cfg.Timeout)))
	if err != nil {
		return s.red.wrap(leadWithCause(describe(s.timedOut(err)), "prometheus %s: health check", s.cfg.Name))
	}
	return nil
}

// Poll runs one round (detection when due, then every family query) and
// returns the Update Run would send.
func (s *Source) Poll(ctx context.Context) sources.Update {
	now := s.cfg.Clock()
	u := sources.Update{Source: s.cfg.Name, At: now}
	active, err := s.presets(ctx, now)
	if err != nil {
		u.Err = s.red.wrap(err)
		return u
	}
	plan := s.plan(active)
	// One deadline for the whole round: queries queued behind
	// max_concurrency must not each wait their own timeout, or a hung
	// server is reported only after ⌈queries/max_concurrency⌉ timeouts.
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout+roundMargin(s.cfg.Timeout))
	defer cancel()
	results := s.runAll(rctx, plan, now)
	if ctx.Err() != nil {
		u.Err = ctx.Err()
		return u
	}

	var hard, soft []error
	truncated := false
	ok := 0
	for _, r := range results {
		switch {
		case r.err != nil:
			hard = append(hard, r.err)
		default:
			ok++
			if r.truncated {
				truncated = true
			}
			if r.warning != nil {
				soft = append(soft, r.warning)
			}
		}
	}
	if ok == 0 && len(plan) > 0 {
		u.Err = s.red.wrap(errors.Join(hard...))
		return u
	}
	u.Workloads, u.Samples = s.assemble(plan, results, now)
	switch {
	case len(hard) > 0:
		u.Err = s.red.wrap(errors.Join(append(hard, soft...)...))
	case len(soft) > 0:
		u.Err = s.red.wrap(&partialError{errs: soft})
	}
	u.Full = len(hard) == 0 && !truncated
	u.Complete = true // every family of this round has been answered (or failed)
	return u
}

type partialError struct{ errs []error }

func (e *partialError) Error() string {
	var parts []string
	for _, err := range e.errs {
		parts = append(parts, err.Error())
	}
	return strings.Join(parts, "; ")
}

func (e *partialError) Is(target error) bool { return target == ErrPartial }

// presets returns the active presets, detecting them when due.
func (s *Source) presets(ctx context.Context, now time.Time) ([]*preset, error) {
	s.mu.Lock()
	active, at := s.active, s.detectedAt
	s.mu.Unlock()
	if !at.IsZero() && now.Sub(at) < redetectEvery && now.Sub(at) >= 0 && (len(active) > 0 || len(s.cfg.Overrides) > 0) {
		return active, nil
	}
	active, err := s.detect(ctx, now)
	if err != nil {
		if !at.IsZero() && (len(active) > 0 || len(s.cfg.Overrides) > 0) {
			// Keep the previous presets; detection is retried next round.
			return active, nil
		}
		return nil, err
	}
	s.mu.Lock()
	s.active, s.detectedAt = active, now
	s.mu.Unlock()
	if len(active) == 0 && len(s.cfg.Overrides) == 0 {
		return nil, fmt.Errorf("prometheus %s: %w (looked for %s); set presets or overrides", s.cfg.Name, ErrNoPresets, strings.Join(detectNames(), ", "))
	}
	return active, nil
}

// detect asks the server which preset metric names it has, with one
// label-values call limited to those names. Presets named in the config
// are used as they are; "knative" picks the generation the server has.
func (s *Source) detect(ctx context.Context, now time.Time) ([]*preset, error) {
	var chosen, candidates []*preset
	knative := false
	for _, name := range s.cfg.Presets {
		if name == PresetKnative {
			knative = true
			continue
		}
		for _, pn := range presetAliases[name] {
			chosen = append(chosen, presetByName(pn))
		}
	}
	switch {
	case len(s.cfg.Presets) == 0:
		candidates = allPresets
	case knative:
		candidates = []*preset{presetByName(PresetKnativeOTel), presetByName(PresetKnativeOpenCensus)}
	default:
		return orderPresets(chosen), nil
	}
	names := map[string]bool{}
	var alts []string
	for _, p := range candidates {
		for _, n := range p.detect {
			if !names[n] {
				names[n] = true
				alts = append(alts, escapeRegex(n))
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.queries.Add(1)
	match := fmt.Sprintf(`{__name__=~%q}`, strings.Join(alts, "|"))
	vals, _, _, err := s.api.LabelValues(cctx, model.MetricNameLabel, []string{match}, now.Add(-time.Hour), now)
	if err != nil {
		err = s.timedOut(err)
		return nil, leadWithCause(describe(err), "prometheus %s: detecting presets (label values of __name__)", s.cfg.Name)
	}
	has := map[string]bool{}
	for _, v := range vals {
		has[string(v)] = true
	}
	found := false
	for _, p := range candidates {
		for _, n := range p.detect {
			if has[n] {
				chosen = append(chosen, p)
				found = found || isKnative(p.name)
				break
			}
		}
	}
	if knative && !found {
		chosen = append(chosen, presetByName(PresetKnativeOTel)) // the current generation
	}
	return orderPresets(chosen), nil
}

func isKnative(name string) bool { return name == PresetKnativeOTel || name == PresetKnativeOpenCensus }

// orderPresets keeps allPresets' order (merge order) and drops duplicates.
func orderPresets(ps []*preset) []*preset {
	var out []*preset
	for _, p := range allPresets {
		for _, q := range ps {
			if p == q {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func escapeRegex(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// query is one planned instant query.
type query struct {
	name     string // family name, or "override <metric>"
	expr     string
	preset   *preset // nil for overrides
	override string  // metric name of an override
}

// plan builds this round's queries: one per family of each active preset
// (minus overridden columns) and one per override.
func (s *Source) plan(active []*preset) []query {
	q := newQctx(s.cfg, filter{})
	var out []query
	for _, p := range active {
		for _, f := range p.families {
			var parts []string
			for _, c := range f.cols {
				if _, ok := s.cfg.Overrides[c.metric]; ok {
					continue
				}
				parts = append(parts, tag(c.expr(q), c.metric))
			}
			if len(parts) == 0 {
				continue
			}
			out = append(out, query{name: f.name, expr: strings.Join(parts, " or "), preset: p})
		}
	}
	for _, m := range sortedKeys(s.cfg.Overrides) {
		out = append(out, query{name: "override " + m, expr: s.cfg.Overrides[m], override: m})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// result is one query's outcome.
type result struct {
	vec       model.Vector
	err       error // the query failed: no data
	warning   error // data came with server warnings or was capped
	truncated bool
}

// runAll runs the plan with at most MaxConcurrency queries in flight.
func (s *Source) runAll(ctx context.Context, plan []query, ts time.Time) []result {
	results := make([]result, len(plan))
	sem := make(chan struct{}, s.cfg.MaxConcurrency)
	var wg sync.WaitGroup
	for i, q := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = result{err: &QueryError{Name: q.name, Query: q.expr, Err: s.timedOut(ctx.Err())}}
				return
			}
			defer func() { <-sem }()
			results[i] = s.instant(ctx, q, ts)
		}()
	}
	wg.Wait()
	return results
}

// roundMargin is how long a round may outlast its timeout, so a query
// started at the round's start reports its own timeout first.
func roundMargin(timeout time.Duration) time.Duration {
	return min(max(timeout/10, 50*time.Millisecond), time.Second)
}

// timedOut words a deadline as the configured timeout; other errors are
// returned as they are.
func (s *Source) timedOut(err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &timeoutError{after: s.cfg.Timeout, err: err}
	}
	return err
}

// QueryError is a failed query: which one, its PromQL, and the server's
// (or transport's) error.
type QueryError struct {
	Name  string // family name or "override <metric>"
	Query string // the PromQL
	Err   error
}

func (e *QueryError) Error() string {
	detail := e.Err.Error()
	if c := cause(e.Err); c != "" {
		// The cause first, so a narrow header still shows it.
		return fmt.Sprintf("%s: query %s: %s [PromQL: %s]", c, e.Name, strings.TrimPrefix(detail, c+": "), abbreviate(e.Query, 400))
	}
	return fmt.Sprintf("query %s: %s [PromQL: %s]", e.Name, detail, abbreviate(e.Query, 400))
}

// cause is a short name for what went wrong ("connection refused", "timed
// out after 2s", "HTTP 503"), or "" when none is known.
func cause(err error) string {
	var to *timeoutError
	var apiErr *v1.Error
	var ne net.Error
	switch {
	case errors.As(err, &to):
		return to.short()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.As(err, &apiErr):
		var code int
		if _, e := fmt.Sscanf(apiErr.Msg, "server error: %d", &code); e == nil {
			return fmt.Sprintf("HTTP %d", code)
		}
		if _, e := fmt.Sscanf(apiErr.Msg, "client error: %d", &code); e == nil {
			return fmt.Sprintf("HTTP %d", code)
		}
		if m := strings.TrimSpace(apiErr.Msg); m != "" && !strings.ContainsAny(m, "\n") {
			return abbreviate(m, 60) // the server's own words ("too many queries in flight")
		}
		return string(apiErr.Type)
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return ""
}

// leadWithCause puts err's short cause before context text.
func leadWithCause(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if c := cause(err); c != "" {
		msg = c + ": " + msg
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// timeoutError says a call ran out of the configured timeout.
type timeoutError struct {
	after time.Duration
	err   error
}

func (e *timeoutError) Error() string { return e.short() + ": " + e.err.Error() }
func (e *timeoutError) short() string { return fmt.Sprintf("timed out after %s", e.after) }
func (e *timeoutError) Unwrap() error { return e.err }

func (e *QueryError) Unwrap() error { return e.Err }

func abbreviate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// serverTimeout is the query timeout sent to the server, rounded so its
// text ("2s", "500ms") parses as a Prometheus duration.
func serverTimeout(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Truncate(time.Second)
	}
	return max(d.Truncate(time.Millisecond), time.Millisecond)
}

// describe turns a client error into text that carries the server's message.
func describe(err error) error {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		msg := string(apiErr.Type) + ": " + apiErr.Msg
		if d := strings.TrimSpace(apiErr.Detail); d != "" && !strings.Contains(msg, d) {
			msg += ": " + abbreviate(strings.Join(strings.Fields(d), " "), 300)
		}
		return &serverError{msg: msg, err: err}
	}
	return err
}

type serverError struct {
	msg string
	err error
}

func (e *serverError) Error() string { return e.msg }
func (e *serverError) Unwrap() error { return e.err }

func (s *Source) instant(ctx context.Context, q query, ts time.Time) result {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.queries.Add(1)
	val, warns, _, err := s.api.Query(ctx, q.expr, ts, v1.WithTimeout(serverTimeout(s.cfg.Timeout)), v1.WithLimit(uint64(s.cfg.MaxSeries)+1))
	if err != nil {
		return result{err: &QueryError{Name: q.name, Query: q.expr, Err: describe(s.timedOut(err))}}
	}
	vec, ok := val.(model.Vector)
	if !ok {
		typ := "nothing"
		if val != nil {
			typ = val.Type().String()
		}
		return result{err: &QueryError{Name: q.name, Query: q.expr, Err: fmt.Errorf("expected an instant vector, got %s", typ)}}
	}
	var r result
	var notes []string
	if len(vec) > s.cfg.MaxSeries {
		notes = append(notes, fmt.Sprintf("returned more than %d series (max_series); kept the first %d", s.cfg.MaxSeries, s.cfg.MaxSeries))
		vec = vec[:s.cfg.MaxSeries]
		r.truncated = true
	}
	for _, w := range warns {
		notes = append(notes, "server warning: "+w)
	}
	if len(notes) > 0 {
		r.warning = fmt.Errorf("query %s: %s", q.name, strings.Join(notes, "; "))
	}
	r.vec = vec
	return r
}

// entry accumulates one workload's values during a round.
type entry struct {
	w        sources.Workload
	prio     int
	vals     [sources.NumMetrics]float64
	has      [sources.NumMetrics]bool
	duration float64 // Lambda average duration, s
	hasDur   bool
	memMB    float64
	hasMem   bool
}

// assemble merges the results (in plan order) into workloads and samples.
func (s *Source) assemble(plan []query, results []result, ts time.Time) ([]sources.Workload, []sources.Sample) {
	entries := map[sources.WorkloadID]*entry{}
	failed := failedColumns(plan, results)
	for i, r := range results {
		if r.err != nil {
			continue
		}
		q := plan[i]
		for _, smp := range r.vec {
			s.merge(entries, q, smp)
		}
	}
	ids := make([]sources.WorkloadID, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].Less(ids[j]) })

	workloads := make([]sources.Workload, 0, len(ids))
	samples := make([]sources.Sample, 0, len(ids)*6)
	platforms := make(map[sources.WorkloadID]sources.Platform, len(ids))
	for _, id := range ids {
		e := entries[id]
		s.cost(e, failed)
		if e.hasMem {
			e.w.MemoryMB = e.memMB
			if e.w.Platform == sources.Lambda && !e.has[sources.MemRequest] {
				// A function's configured memory is what it reserves.
				e.vals[sources.MemRequest], e.has[sources.MemRequest] = e.memMB*(1<<20), true
			}
		}
		workloads = append(workloads, e.w)
		platforms[id] = e.w.Platform
		for m := sources.Metric(0); m < sources.NumMetrics; m++ {
			if e.has[m] {
				samples = append(samples, sources.Sample{ID: id, Metric: m, T: ts, V: e.vals[m]})
			}
		}
	}
	s.mu.Lock()
	s.platforms = platforms
	s.mu.Unlock()
	return workloads, samples
}

func (s *Source) idOf(ls model.Metric) (sources.WorkloadID, bool) {
	id := sources.WorkloadID{
		Cluster:   s.cfg.Cluster,
		Namespace: string(ls[labelNamespace]),
		Name:      string(ls[labelWorkload]),
	}
	if s.cfg.ClusterLabel != "" {
		if c := string(ls[model.LabelName(s.cfg.ClusterLabel)]); c != "" {
			id.Cluster = c
		}
	}
	return id, id.Name != ""
}

func (s *Source) merge(entries map[sources.WorkloadID]*entry, q query, smp *model.Sample) {
	if smp == nil || smp.Histogram != nil {
		return
	}
	v := float64(smp.Value)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return // no traffic (0/0) or no data: unknown, not zero
	}
	id, ok := s.idOf(smp.Metric)
	if !ok {
		return
	}
	metric := q.override
	if metric == "" {
		metric = string(smp.Metric[labelMetric])
	}
	e := entries[id]
	if e == nil {
		e = &entry{w: sources.Workload{ID: id}, prio: -1}
		entries[id] = e
	}
	// Identity: the preset with the highest priority names the platform.
	platform, kind, prio := sources.Platform(""), sources.Kind(""), -1
	if q.preset != nil {
		platform, kind, prio = q.preset.platform, q.preset.kind, q.preset.priority
		if kind == "" {
			kind = parseKind(string(smp.Metric[labelKind]))
		}
	} else {
		// An override may say what it is; otherwise it only adds values.
		if p := string(smp.Metric[labelPlatform]); p != "" {
			platform, prio = sources.Platform(p), 0
		}
		if k := parseKind(string(smp.Metric[labelKind])); k != "" {
			kind = k
		}
	}
	if prio > e.prio || (prio == e.prio && e.w.Kind == "" && kind != "") {
		e.prio = prio
		e.w.Platform = platform
		if kind != "" {
			e.w.Kind = kind
		}
	}
	if e.w.Platform == "" {
		e.w.Platform = sources.Kubernetes
	}
	if e.w.Kind == "" {
		if e.w.Platform.IsServerless() {
			e.w.Kind = sources.Function
		} else if kind != "" {
			e.w.Kind = kind
		} else {
			e.w.Kind = sources.Deployment
		}
	}
	switch metric {
	case colLambdaDuration:
		e.duration, e.hasDur = v, true
	case colLambdaMemory:
		e.memMB, e.hasMem = v, true
	default:
		m, ok := sources.ParseMetric(metric)
		if !ok {
			return
		}
		e.vals[m], e.has[m] = v, true
	}
}

func parseKind(s string) sources.Kind {
	switch strings.ToLower(s) {
	case "deployment":
		return sources.Deployment
	case "statefulset":
		return sources.StatefulSet
	case "daemonset":
		return sources.DaemonSet
	case "function":
		return sources.Function
	}
	return ""
}

// failedColumns names the columns (metric names, as in the queries'
// perch_metric tags or overrides) whose query failed this round.
func failedColumns(plan []query, results []result) map[string]bool {
	failed := map[string]bool{}
	for i, r := range results {
		if r.err == nil {
			continue
		}
		q := plan[i]
		if q.override != "" {
			failed[q.override] = true
			continue
		}
		for _, f := range q.preset.families {
			if f.name != q.name {
				continue
			}
			for _, c := range f.cols {
				failed[c.metric] = true
			}
		}
	}
	return failed
}

// costInputs are the columns cost is derived from.
var costInputs = []string{
	sources.CostRate.String(), // an override, which replaces the estimate
	sources.CPURequest.String(), sources.CPUUsage.String(), sources.MemRequest.String(), sources.MemUsage.String(),
	sources.ReplicasCurrent.String(),
	sources.RequestRate.String(), sources.LatencyP50.String(), colLambdaDuration, colLambdaMemory,
}

// cost fills CostRate from the workload's resources or its Lambda bill,
// unless an override supplied it. When one of its inputs failed this round
// it leaves cost unknown: an estimate from the queries that answered would
// replace the last good value with a wrong one. The check is by column, not
// by platform, so it errs on the side of sending no cost.
func (s *Source) cost(e *entry, failed map[string]bool) {
	if e.has[sources.CostRate] {
		return
	}
	for _, in := range costInputs {
		if failed[in] {
			return
		}
	}
	p := s.cfg.Prices
	if e.w.Platform == sources.Lambda {
		if !e.has[sources.RequestRate] {
			return
		}
		dur := e.duration
		if !e.hasDur && e.has[sources.LatencyP50] {
			dur = e.vals[sources.LatencyP50]
		}
		mem := s.cfg.LambdaMemoryMB
		if e.hasMem && e.memMB > 0 {
			mem = e.memMB
		}
		e.vals[sources.CostRate] = p.LambdaHourly(e.vals[sources.RequestRate], dur, mem)
		e.has[sources.CostRate] = true
		return
	}
	if e.has[sources.ReplicasCurrent] && e.vals[sources.ReplicasCurrent] == 0 && e.w.Platform != sources.AppEngine {
		// No pods now (scaled to zero): nothing requested or in use. CPU
		// usage, a rate over the window, may still show pods that ran.
		for _, m := range []sources.Metric{sources.CPURequest, sources.MemRequest, sources.CPUUsage, sources.MemUsage} {
			if !e.has[m] {
				e.vals[m], e.has[m] = 0, true
			}
		}
	}
	if !(e.has[sources.CPURequest] || e.has[sources.CPUUsage] || e.has[sources.MemRequest] || e.has[sources.MemUsage]) {
		return
	}
	val := func(m sources.Metric) float64 {
		if e.has[m] {
			return e.vals[m]
		}
		return math.NaN()
	}
	e.vals[sources.CostRate] = p.KubeHourly(val(sources.CPURequest), val(sources.CPUUsage), val(sources.MemRequest), val(sources.MemUsage))
	e.has[sources.CostRate] = true
}
