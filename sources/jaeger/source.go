// Package jaeger is perch's source for the Jaeger query service (Jaeger
// v1 and v2, any storage): it finds the slowest and the failed traces of a
// workload in a time window and fetches traces by id.
//
// It speaks the v1 HTTP API (/api/services, /api/traces,
// /api/traces/{id}) and, where the server has it, the v3 API
// (/api/v3/traces, OTLP JSON). Known server quirks are handled here:
//   - v1 search answers carry total: 0 whatever they hold, so the count is
//     taken from the data, and a search that returns search_depth traces
//     is treated as possibly truncated;
//   - the in-memory store matches nothing for tags={"error":"true"} (it
//     reads the string as the bool false), so failed traces are found on
//     the client from span status and tags, the server-side filter being
//     only a bonus for storages that support it;
//   - v3 search needs start and end times, answers 404 when nothing
//     matches and returns spans of many traces mixed: they are grouped by
//     trace id here.
//
// Services map to workloads by name (WorkloadID.Name == service.name);
// the namespace comes from a k8s.namespace.name or service.namespace
// resource attribute when spans carry one. The source only reads.
package jaeger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/perch-dev/perch/sources"
)

// Interface checks.
var (
	_ sources.Source        = (*Source)(nil)
	_ sources.TraceFinder   = (*Source)(nil)
	_ sources.HealthChecker = (*Source)(nil)
)

// ErrTraceNotFound is returned (wrapped) by Trace for an unknown id.
var ErrTraceNotFound = errors.New("trace not found")

// ErrOtherCluster is returned (wrapped) by Traces for a workload of a
// cluster this Jaeger does not serve (Config.Cluster is set and differs).
var ErrOtherCluster = errors.New("workload of another cluster")

// Backoff bounds after failed rounds.
const (
	backoffBase = time.Second
	backoffMax  = time.Minute
)

// refineRounds bounds the minDuration refinement of the slowest traces.
const refineRounds = 4

// Source reads one Jaeger query service.
type Source struct {
	cfg Config
	cl  *client

	mu         sync.Mutex
	api        string            // v1 or v3 once known
	namespaces map[string]string // service -> namespace, learnt for ListServices
	calls      int               // HTTP calls made, for tests
}

// New validates cfg and builds the client. It makes no network call.
func New(cfg Config) (*Source, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	cl, err := newClient(c)
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: c, cl: cl, namespaces: map[string]string{}}
	if c.API != APIAuto {
		s.api = c.API
	}
	return s, nil
}

// Name is the source's name in perch.
func (s *Source) Name() string { return s.cfg.Name }

// Close releases idle connections (Run does when it returns): a keep-alive
// connection otherwise lingers for the transport's idle timeout.
func (s *Source) Close() { s.cl.http.CloseIdleConnections() }

// Calls is the number of HTTP calls made so far.
func (s *Source) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *Source) get(ctx context.Context, path string, q url.Values, v any) error {
	s.mu.Lock()
	s.calls++
	s.mu.Unlock()
	return s.cl.get(ctx, path, q, v)
}

// errorf prefixes errors with the source ("jaeger: ..." or, for a named
// source, "jaeger prod: ...") and the short cause of the error among args
// ("jaeger: connection refused: listing services: GET ..."), so a narrow
// header still shows what went wrong.
func (s *Source) errorf(format string, args ...any) error {
	prefix := "jaeger: "
	if s.cfg.Name != "jaeger" {
		prefix = "jaeger " + s.cfg.Name + ": "
	}
	for _, a := range args {
		if err, ok := a.(error); ok {
			if c := cause(err); c != "" {
				prefix += c + ": "
			}
			break
		}
	}
	return fmt.Errorf(prefix+format, args...)
}

// cause is a short name for what went wrong, or "".
func cause(err error) string {
	var to *timeoutError
	var se *StatusError
	var big *tooLargeError
	var many *tooManySpansError
	switch {
	case errors.As(err, &to):
		return to.Error()
	case errors.As(err, &se):
		return fmt.Sprintf("HTTP %d", se.Code)
	case errors.As(err, &big):
		return fmt.Sprintf("answer larger than %d MiB", big.max>>20)
	case errors.As(err, &many):
		return fmt.Sprintf("more than %d spans", many.max)
	case errors.Is(err, errCutShort):
		return "answer cut short"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	}
	return ""
}

// API returns the API generation in use ("v1" or "v3"), detecting it on
// first use when configured as auto: v3 when /api/v3/services answers.
func (s *Source) API(ctx context.Context) (string, error) {
	api, err := s.detectAPI(ctx)
	if err != nil {
		return "", s.errorf("%w", err)
	}
	return api, nil
}

func (s *Source) detectAPI(ctx context.Context) (string, error) {
	s.mu.Lock()
	api := s.api
	s.mu.Unlock()
	if api != "" {
		return api, nil
	}
	var v3 v3Services
	err := s.get(ctx, "/api/v3/services", nil, &v3)
	var se *StatusError
	switch {
	case err == nil:
		api = APIV3
	case errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusMethodNotAllowed || se.Code == http.StatusNotImplemented),
		errors.Is(err, errHTMLPage): // older Jaeger UIs answer unknown paths with index.html
		api = APIV1
	default:
		return "", fmt.Errorf("detecting the API version: %w", err)
	}
	s.mu.Lock()
	s.api = api
	s.mu.Unlock()
	return api, nil
}

// Services lists the services the server has traces of, sorted.
func (s *Source) Services(ctx context.Context) ([]string, error) {
	api, err := s.detectAPI(ctx)
	if err != nil {
		return nil, s.errorf("listing services: %w", err)
	}
	var out []string
	if api == APIV3 {
		var r v3Services
		err = s.get(ctx, "/api/v3/services", nil, &r)
		out = r.Services
	} else {
		var r v1Services
		err = s.get(ctx, "/api/services", nil, &r)
		out = r.Data
	}
	if err != nil {
		return nil, s.errorf("listing services: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// CheckHealth lists the services: cheap on every storage.
func (s *Source) CheckHealth(ctx context.Context) error {
	_, err := s.Services(ctx)
	return err
}

// Run checks the server every Refresh until ctx ends and returns
// ctx.Err(). A good round sends a Complete update (with the services as
// workloads when ListServices is set); a failed one sends Err and retries
// with capped exponential backoff and jitter. Run never closes out.
func (s *Source) Run(ctx context.Context, out chan<- sources.Update) error {
	defer s.Close()
	fails := 0
	for {
		u := s.poll(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case out <- u:
		case <-ctx.Done():
			return ctx.Err()
		}
		wait := s.cfg.Refresh
		if u.Err != nil {
			fails++
			wait = backoff(fails, min(backoffBase, s.cfg.Refresh), max(backoffMax, s.cfg.Refresh))
		} else {
			fails = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Source) poll(ctx context.Context) sources.Update {
	u := sources.Update{Source: s.cfg.Name, At: s.cfg.Clock()}
	services, err := s.Services(ctx)
	if err != nil {
		u.Err = err
		return u
	}
	u.Complete = true
	if s.cfg.ListServices {
		u.Full = true
		for _, svc := range services {
			u.Workloads = append(u.Workloads, sources.Workload{ID: sources.WorkloadID{
				Cluster: s.cfg.Cluster, Namespace: s.namespace(ctx, svc), Name: svc,
			}})
		}
	}
	return u
}

// namespace learns a service's namespace from one of its recent traces,
// once per service (a failed lookup is retried next round).
func (s *Source) namespace(ctx context.Context, service string) string {
	s.mu.Lock()
	ns, ok := s.namespaces[service]
	s.mu.Unlock()
	if ok {
		return ns
	}
	end := s.cfg.Clock()
	trs, err := s.search(ctx, searchQuery{service: service, start: end.Add(-time.Hour), end: end, depth: 1})
	if err != nil {
		return ""
	}
	for i := range trs {
		ns = serviceNamespace(&trs[i], service)
	}
	s.mu.Lock()
	s.namespaces[service] = ns
	s.mu.Unlock()
	return ns
}

// backoff is base·2^(n-1) capped at ceiling, with jitter in [d/2, d].
func backoff(n int, base, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// searchQuery is one search call.
type searchQuery struct {
	service    string
	start, end time.Time
	minDur     time.Duration
	depth      int
	errorTag   bool // v1 only: tags={"error":"true"}
}

// micros renders a duration for the server's parsers (both take "us").
func micros(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) + "us" }

func (s *Source) search(ctx context.Context, q searchQuery) ([]sources.Trace, error) {
	api, err := s.detectAPI(ctx)
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	if api == APIV3 {
		v.Set("query.service_name", q.service)
		v.Set("query.start_time_min", q.start.UTC().Format(time.RFC3339Nano))
		v.Set("query.start_time_max", q.end.UTC().Format(time.RFC3339Nano))
		v.Set("query.num_traces", strconv.Itoa(q.depth))
		if q.minDur > 0 {
			v.Set("query.duration_min", micros(q.minDur))
		}
		var r v3Response
		err := s.get(ctx, "/api/v3/traces", v, &r)
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusNotFound {
			return nil, nil // v3 answers 404 "No traces found" to an empty search
		}
		if err != nil {
			return nil, err
		}
		return fromOTLP(r.Result.ResourceSpans)
	}
	v.Set("service", q.service)
	v.Set("start", strconv.FormatInt(q.start.UnixMicro(), 10))
	v.Set("end", strconv.FormatInt(q.end.UnixMicro(), 10))
	v.Set("limit", strconv.Itoa(q.depth))
	if q.minDur > 0 {
		v.Set("minDuration", micros(q.minDur))
	}
	if q.errorTag {
		b, _ := json.Marshal(map[string]string{"error": "true"})
		v.Set("tags", string(b))
	}
	var r v1Response
	if err := s.get(ctx, "/api/traces", v, &r); err != nil {
		return nil, err
	}
	return convertV1(r.Data)
}

func convertV1(data []v1Trace) ([]sources.Trace, error) {
	out := make([]sources.Trace, 0, len(data))
	for _, t := range data {
		tr, err := fromV1(t)
		if err != nil {
			return nil, err
		}
		out = append(out, tr)
	}
	return out, nil
}

// Trace fetches one trace by id; an unknown id gives an error wrapping
// ErrTraceNotFound.
func (s *Source) Trace(ctx context.Context, id string) (sources.Trace, error) {
	if !validTraceID(id) {
		return sources.Trace{}, s.errorf("trace id %q: must be 1-32 hex digits", clip(id))
	}
	id = normTraceID(id)
	api, err := s.detectAPI(ctx)
	if err != nil {
		return sources.Trace{}, s.errorf("trace %s: %w", id, err)
	}
	var trs []sources.Trace
	var se *StatusError
	if api == APIV3 {
		var r v3Response
		err = s.get(ctx, "/api/v3/traces/"+id, nil, &r)
		if err == nil {
			trs, err = fromOTLP(r.Result.ResourceSpans)
		}
	} else {
		var r v1Response
		err = s.get(ctx, "/api/traces/"+id, nil, &r)
		if err == nil {
			trs, err = convertV1(r.Data)
		}
	}
	switch {
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		return sources.Trace{}, s.errorf("trace %s: %w", id, ErrTraceNotFound)
	case err != nil:
		return sources.Trace{}, s.errorf("trace %s: %w", id, err)
	}
	for _, tr := range trs {
		if tr.ID == id {
			return tr, nil
		}
	}
	return sources.Trace{}, s.errorf("trace %s: %w", id, ErrTraceNotFound)
}

// Traces implements sources.TraceFinder: up to Limit (default 20, at most
// 500) slowest traces through the workload's service in [Start, End]
// (default the last 15 minutes), slowest first, followed by up to Limit
// failed traces, newest first, that are not among the slowest. "Slowest"
// ranks by the longest span of the service in the trace (what the server
// can filter on with minDuration); failed means any span has an error.
//
// The slowest are exact: a search that may have been truncated at
// search_depth is repeated with minDuration raised to the Limit-th
// longest duration found. Failed traces are looked for among the newest
// search_depth traces of the window (and by the server's error tag where
// the storage supports it).
func (s *Source) Traces(ctx context.Context, q sources.TraceQuery) ([]sources.Trace, error) {
	if q.ID.Name == "" {
		return nil, s.errorf("traces: the workload has no name")
	}
	if s.cfg.Cluster != "" && q.ID.Cluster != "" && q.ID.Cluster != s.cfg.Cluster {
		return nil, s.errorf("traces of %s: serves cluster %q: %w", q.ID, s.cfg.Cluster, ErrOtherCluster)
	}
	end := q.End
	if end.IsZero() {
		end = s.cfg.Clock()
	}
	start := q.Start
	if start.IsZero() {
		start = end.Add(-DefaultWindow)
	}
	if end.Before(start) {
		return nil, s.errorf("traces of %s: window end %s is before its start %s", q.ID, end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	depth := max(s.cfg.SearchDepth, limit)
	service := q.ID.Name
	fail := func(err error) ([]sources.Trace, error) {
		return nil, s.errorf("searching traces of %s: %w", service, err)
	}

	base := searchQuery{service: service, start: start, end: end, minDur: max(q.MinDuration, 0), depth: depth}
	newest, err := s.search(ctx, base)
	if err != nil {
		return fail(err)
	}
	pool := map[string]sources.Trace{}
	add := func(trs []sources.Trace) {
		for _, tr := range trs {
			if q.ID.Namespace != "" {
				if ns := serviceNamespace(&tr, service); ns != "" && ns != q.ID.Namespace {
					continue // the same service name in another namespace
				}
			}
			if !hasService(&tr, service) {
				continue // defensive: a search by service returns traces with it
			}
			pool[tr.ID] = tr
		}
	}
	add(newest)

	// Refine the slowest while the last search may have been truncated.
	last, minDur := len(newest), base.minDur
	for round := 0; last >= depth && round < refineRounds; round++ {
		d := kthLongest(pool, service, limit)
		if d <= minDur {
			break
		}
		minDur = d
		rq := base
		rq.minDur = d
		more, err := s.search(ctx, rq)
		if err != nil {
			return fail(err)
		}
		add(more)
		last = len(more)
	}
	slowest := make([]sources.Trace, 0, len(pool))
	for _, tr := range pool {
		slowest = append(slowest, tr)
	}
	sort.Slice(slowest, func(i, j int) bool {
		di, dj := serviceDuration(&slowest[i], service), serviceDuration(&slowest[j], service)
		if di != dj {
			return di > dj
		}
		return slowest[i].ID < slowest[j].ID
	})
	slowest = slowest[:min(limit, len(slowest))]

	// Failed: client-side over the newest, plus the server's error tag
	// (v1; the in-memory store answers it with nothing).
	failedPool := map[string]sources.Trace{}
	for _, tr := range newest {
		if _, ok := pool[tr.ID]; ok && tr.HasError() {
			failedPool[tr.ID] = tr
		}
	}
	if api, _ := s.detectAPI(ctx); api == APIV1 {
		eq := base
		eq.errorTag, eq.depth = true, limit
		tagged, err := s.search(ctx, eq)
		if err != nil {
			return fail(err)
		}
		for _, tr := range tagged {
			if tr.HasError() {
				add([]sources.Trace{tr})
				if _, ok := pool[tr.ID]; ok {
					failedPool[tr.ID] = tr
				}
			}
		}
	}
	failed := make([]sources.Trace, 0, len(failedPool))
	for _, tr := range failedPool {
		failed = append(failed, tr)
	}
	sort.Slice(failed, func(i, j int) bool {
		if !failed[i].Start.Equal(failed[j].Start) {
			return failed[i].Start.After(failed[j].Start)
		}
		return failed[i].ID < failed[j].ID
	})
	failed = failed[:min(limit, len(failed))]

	out := slowest
	seen := make(map[string]bool, len(slowest))
	for _, tr := range slowest {
		seen[tr.ID] = true
	}
	for _, tr := range failed {
		if !seen[tr.ID] {
			out = append(out, tr)
		}
	}
	return out, nil
}

func hasService(tr *sources.Trace, service string) bool {
	for i := range tr.Spans {
		if tr.Spans[i].Service == service {
			return true
		}
	}
	return false
}

// kthLongest is the k-th longest service duration in pool (0 when pool
// holds fewer than k traces).
func kthLongest(pool map[string]sources.Trace, service string, k int) time.Duration {
	if len(pool) < k {
		return 0
	}
	ds := make([]time.Duration, 0, len(pool))
	for _, tr := range pool {
		ds = append(ds, serviceDuration(&tr, service))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] > ds[j] })
	return ds[k-1]
}
