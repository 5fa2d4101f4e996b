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
