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
// per configured override). Queries run with bounded concurrency, the
// previous round's slowest first, under one deadline per round (the
// timeout plus a small margin). Failures are reported as Update.Err
// naming the query and carrying the server's message; Run keeps going
// with capped exponential backoff and jitter. The source only reads.
//
// Answers are decoded as they arrive (answer.go): a query stops reading at
// the first series beyond max_series, and no answer is read past
// max_response_bytes, so memory is bounded by the caps, not by what a
// server sends.
//
// Files: source.go (Source, rounds), detect.go (presets in use),
// queries.go (planning and running a round's queries), answer.go (the
// streaming instant-query decoder), assemble.go (series → workloads,
// samples and cost), range.go (charts), errors.go (error wording),
// client.go (transport: credentials for the configured host only, TLS,
// read-only guard, byte cap), redact.go (secrets out of errors),
// config.go, presets.go.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/perch-dev/perch/sources"
	"github.com/perch-dev/perch/sources/secret"
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
	cfg    Config
	client api.Client   // URLs of the API endpoints
	api    v1.API       // health checks, detection and range queries
	http   *http.Client // instant queries, decoded as a stream (answer.go)
	red    *secret.Redactor

	queries atomic.Int64 // HTTP API calls made, for tests and benchmarks

	mu         sync.Mutex
	active     []*preset // detected or configured presets
	detectedAt time.Time
	platforms  map[sources.WorkloadID]sources.Platform // from the last round
	lastTook   map[string]time.Duration                // each query's last duration (run order)
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
	return &Source{cfg: c, client: cl, api: v1.NewAPI(cl), http: &http.Client{Transport: rt}, red: newRedactor(c),
		lastTook: map[string]time.Duration{}}, nil
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
		return s.red.Error(leadWithCause(describe(s.timedOut(err)), "prometheus %s: health check", s.cfg.Name))
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
		u.Err = s.red.Error(err)
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
		u.Err = s.red.Error(errors.Join(hard...))
		return u
	}
	u.Workloads, u.Samples = s.assemble(plan, results, now)
	switch {
	case len(hard) > 0:
		u.Err = s.red.Error(errors.Join(append(hard, soft...)...))
	case len(soft) > 0:
		u.Err = s.red.Error(&partialError{errs: soft})
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
